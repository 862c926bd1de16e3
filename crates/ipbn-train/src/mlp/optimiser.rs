//! SGD with momentum on the parameters learned by backprop, the intrinsic (IP) updates, the
//! finiteness checks that tell a diverged run, and one training step.

use super::{
    all_finite, sl, sl2, sl2_mut, sl_mut, AffineState, Dense, Mlp, Norm, StepOutcome, Workspace,
};
use crate::error::Result;
use ipbn_math::Real;
use ipbn_neurons::Mode;
use ndarray::{Array1, ArrayView2};

ipbn_math::multiversion! {
    /// `p ← p − lr·v` with `v ← m·v + g` (PyTorch's SGD momentum, no dampening; with `m = 0` the
    /// velocity is not touched and `p ← p − lr·g`). Returns whether every updated `p` is finite,
    /// checked in the same pass as each value is written: a value is finite exactly when
    /// `|p| ≤ MAX` (false for ±∞ and NaN), and the checks are AND-ed together, which vectorises.
    fn sgd_update<T: Real>(p: &mut [T], g: &[T], v: &mut [T], lr: T, m: T) -> bool {
        debug_assert_eq!(p.len(), g.len());
        debug_assert!(m == T::zero() || p.len() == v.len());
        let max = T::max_value();
        let mut finite = true;
        if m == T::zero() {
            for (p, &g) in p.iter_mut().zip(g) {
                *p -= lr * g;
                finite &= p.abs() <= max;
            }
        } else {
            for ((p, &g), v) in p.iter_mut().zip(g).zip(v.iter_mut()) {
                *v = m * *v + g;
                *p -= lr * *v;
                finite &= p.abs() <= max;
            }
        }
        finite
    }
}

impl<T: Real> Mlp<T> {
    /// One SGD step (learning rate `lr`, momentum `momentum` in [0, 1)) on every parameter
    /// learned by backprop, from the gradients of the last [`Mlp::backward`]. Returns whether
    /// all of them are finite afterwards.
    pub fn sgd_step(&mut self, lr: T, momentum: T) -> bool {
        let mut ok = true;
        let dense_step = |d: &mut Dense<T>| -> bool {
            let mut ok = sgd_update(
                sl2_mut(&mut d.w),
                sl2(&d.dw),
                sl2_mut(&mut d.vw),
                lr,
                momentum,
            );
            if let (Some(b), Some(db), Some(vb)) = (d.b.as_mut(), d.db.as_ref(), d.vb.as_mut()) {
                ok &= sgd_update(sl_mut(b), sl(db), sl_mut(vb), lr, momentum);
            }
            ok
        };
        // γ and β with their gradients and velocities: γ first, then β.
        let affine_step = |g: &mut Array1<T>, b: &mut Array1<T>, st: &mut AffineState<T>| {
            let ok = sgd_update(sl_mut(g), sl(&st.dg), sl_mut(&mut st.vg), lr, momentum);
            ok & sgd_update(sl_mut(b), sl(&st.db), sl_mut(&mut st.vb), lr, momentum)
        };
        for h in &mut self.hidden {
            ok &= dense_step(&mut h.dense);
            match &mut h.norm {
                Norm::Plain => {}
                Norm::Bn { bn, st } => ok &= affine_step(&mut bn.gamma, &mut bn.beta, st),
                Norm::Ip { ip, st } => {
                    if let (Some(st), Some(g), Some(b)) = (st, ip.gamma.as_mut(), ip.beta.as_mut())
                    {
                        ok &= affine_step(g, b, st);
                    }
                }
            }
        }
        ok &= dense_step(&mut self.out);
        ok
    }

    /// Applies every IP layer's intrinsic update (from its last training forward pass).
    /// Returns whether every α and k is finite afterwards.
    pub fn adapt(&mut self) -> bool {
        let mut ok = true;
        for h in &mut self.hidden {
            if let Norm::Ip { ip, .. } = &mut h.norm {
                ip.adapt();
                ok &= all_finite(sl(&ip.alpha)) && all_finite(sl(&ip.k));
            }
        }
        ok
    }

    /// Whether every BN running estimate is finite. The training forward pass updates them,
    /// so the step checks them too: a run then diverges at the same step whatever the
    /// recording interval.
    pub fn running_estimates_finite(&self) -> bool {
        self.hidden.iter().all(|h| match &h.norm {
            Norm::Bn { bn, .. } => {
                all_finite(sl(&bn.running_mean)) && all_finite(sl(&bn.running_var))
            }
            _ => true,
        })
    }

    /// Whether every parameter, every IP gain and bias and every BN running estimate is finite.
    pub fn is_finite(&self) -> bool {
        let dense_ok =
            |d: &Dense<T>| all_finite(sl2(&d.w)) && d.b.iter().all(|b| all_finite(sl(b)));
        dense_ok(&self.out)
            && self.hidden.iter().all(|h| {
                dense_ok(&h.dense)
                    && match &h.norm {
                        Norm::Plain => true,
                        Norm::Bn { bn, .. } => {
                            all_finite(sl(&bn.gamma))
                                && all_finite(sl(&bn.beta))
                                && all_finite(sl(&bn.running_mean))
                                && all_finite(sl(&bn.running_var))
                        }
                        Norm::Ip { ip, .. } => {
                            all_finite(sl(&ip.alpha))
                                && all_finite(sl(&ip.k))
                                && ip.gamma.iter().all(|g| all_finite(sl(g)))
                                && ip.beta.iter().all(|b| all_finite(sl(b)))
                        }
                    }
            })
    }

    /// One training step on a batch: forward in training mode, loss, backward, SGD update and
    /// the intrinsic updates. Nothing is updated when the loss is not finite.
    pub fn train_step(
        &mut self,
        x: ArrayView2<'_, T>,
        labels: &[u8],
        ws: &mut Workspace<T>,
        lr: T,
        momentum: T,
    ) -> Result<StepOutcome> {
        self.forward(x.view(), Mode::Train, ws)?;
        let loss = self.loss(labels, ws)?;
        if !loss.is_finite() {
            return Ok(StepOutcome {
                loss,
                finite: false,
            });
        }
        self.backward(x, ws)?;
        let mut finite = self.sgd_step(lr, momentum);
        finite &= self.adapt();
        finite &= self.running_estimates_finite();
        Ok(StepOutcome { loss, finite })
    }
}
