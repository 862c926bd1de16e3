//! The parameters learned by backprop (W, b, γ, β), their names and their gradients, enumerated
//! in one order, which the gradient checks walk entry by entry.

use super::{Mlp, Norm};
use ipbn_math::Real;
use ndarray::{ArrayViewD, ArrayViewMutD};

impl<T: Real> Mlp<T> {
    /// Names of the parameters learned by backprop, in the order of [`Mlp::params_mut`] and
    /// [`Mlp::grads`]: `hidden1.w`, `hidden1.b`, `hidden1.gamma`, `hidden1.beta`, ...,
    /// `output.w`, `output.b`.
    pub fn param_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for (l, h) in self.hidden.iter().enumerate() {
            let p = format!("hidden{}", l + 1);
            names.push(format!("{p}.w"));
            if h.dense.b.is_some() {
                names.push(format!("{p}.b"));
            }
            let affine = match &h.norm {
                Norm::Plain => false,
                Norm::Bn { .. } => true,
                Norm::Ip { st, .. } => st.is_some(),
            };
            if affine {
                names.push(format!("{p}.gamma"));
                names.push(format!("{p}.beta"));
            }
        }
        names.push("output.w".into());
        names.push("output.b".into());
        names
    }

    /// Mutable views of every parameter learned by backprop (see [`Mlp::param_names`]).
    pub fn params_mut(&mut self) -> Vec<ArrayViewMutD<'_, T>> {
        let mut v = Vec::new();
        for h in &mut self.hidden {
            v.push(h.dense.w.view_mut().into_dyn());
            if let Some(b) = h.dense.b.as_mut() {
                v.push(b.view_mut().into_dyn());
            }
            match &mut h.norm {
                Norm::Plain => {}
                Norm::Bn { bn, .. } => {
                    v.push(bn.gamma.view_mut().into_dyn());
                    v.push(bn.beta.view_mut().into_dyn());
                }
                Norm::Ip { ip, .. } => {
                    if let (Some(g), Some(b)) = (ip.gamma.as_mut(), ip.beta.as_mut()) {
                        v.push(g.view_mut().into_dyn());
                        v.push(b.view_mut().into_dyn());
                    }
                }
            }
        }
        v.push(self.out.w.view_mut().into_dyn());
        v.push(
            self.out
                .b
                .as_mut()
                .expect("output bias")
                .view_mut()
                .into_dyn(),
        );
        v
    }

    /// The gradients of the last backward, in the order of [`Mlp::param_names`].
    pub fn grads(&self) -> Vec<ArrayViewD<'_, T>> {
        let mut v = Vec::new();
        for h in &self.hidden {
            v.push(h.dense.dw.view().into_dyn());
            if let Some(db) = h.dense.db.as_ref() {
                v.push(db.view().into_dyn());
            }
            match &h.norm {
                Norm::Plain => {}
                Norm::Bn { st, .. } => {
                    v.push(st.dg.view().into_dyn());
                    v.push(st.db.view().into_dyn());
                }
                Norm::Ip { st, .. } => {
                    if let Some(st) = st {
                        v.push(st.dg.view().into_dyn());
                        v.push(st.db.view().into_dyn());
                    }
                }
            }
        }
        v.push(self.out.dw.view().into_dyn());
        v.push(self.out.db.as_ref().expect("output bias").view().into_dyn());
        v
    }
}
