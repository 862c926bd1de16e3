//! What the recorder reads from a pass: the activation inputs, weight-gradient norms and the IP
//! layers' gains and biases.

use super::{Mlp, Norm, Workspace};
use ipbn_math::Real;
use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, Zip};

impl<T: Real> Mlp<T> {
    /// Fills the activation inputs `u` of the IP layers in `ws` from the last forward pass
    /// (plain and BN layers already hold theirs), so [`Mlp::activation_input`] can read them.
    pub fn fill_activation_inputs(&self, ws: &mut Workspace<T>) {
        let n = ws.rows;
        for (l, h) in self.hidden.iter().enumerate() {
            if let Norm::Ip { ip, .. } = &h.norm {
                let z = ws.z[l].slice(s![..n, ..]);
                let mut u = ws.u[l].slice_mut(s![..n, ..]);
                let one = Array1::ones(ip.alpha.len());
                let zero = Array1::zeros(ip.alpha.len());
                let g = ip.gamma.as_ref().unwrap_or(&one);
                let b = ip.beta.as_ref().unwrap_or(&zero);
                Zip::from(u.rows_mut())
                    .and(z.rows())
                    .for_each(|mut ur, zr| {
                        Zip::from(&mut ur)
                            .and(&zr)
                            .and(&ip.alpha)
                            .and(&ip.k)
                            .and(g)
                            .and(b)
                            .for_each(|u, &z, &a, &k, &g, &b| *u = g * (a * z + k) + b);
                    });
            }
        }
    }

    /// The activation input `u` (what θ is applied to) of hidden layer `l` from the last
    /// forward pass; for IP layers call [`Mlp::fill_activation_inputs`] first.
    pub fn activation_input<'a>(&self, l: usize, ws: &'a Workspace<T>) -> ArrayView2<'a, T> {
        let n = ws.rows;
        match self.hidden[l].norm {
            Norm::Plain => ws.z[l].slice(s![..n, ..]),
            _ => ws.u[l].slice(s![..n, ..]),
        }
    }

    /// Frobenius norm of each layer's weight gradient from the last backward, hidden layers
    /// first, output last.
    pub fn weight_grad_norms(&self) -> Vec<f64> {
        let norm = |a: &Array2<T>| {
            a.iter()
                .map(|v| v.to_f64_exact().powi(2))
                .sum::<f64>()
                .sqrt()
        };
        self.hidden
            .iter()
            .map(|h| norm(&h.dense.dw))
            .chain(std::iter::once(norm(&self.out.dw)))
            .collect()
    }

    /// The gain α and bias k of hidden layer `l` if it is an IP layer.
    pub fn ip_gain_bias(&self, l: usize) -> Option<(ArrayView1<'_, T>, ArrayView1<'_, T>)> {
        match &self.hidden[l].norm {
            Norm::Ip { ip, .. } => Some((ip.alpha.view(), ip.k.view())),
            _ => None,
        }
    }
}
