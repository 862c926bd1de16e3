//! The forward pass, the loss and backprop, written out layer by layer, and inference accuracy.

use super::{rows, rows_mut, sl, sl_mut, Mlp, Norm, Workspace};
use crate::error::Result;
use ipbn_math::kernels;
use ipbn_math::{Activation, Real};
use ipbn_neurons::{Layer, Mode, NeuronError};
use ndarray::{s, ArrayView2};

ipbn_math::multiversion! {
    /// Per row of the row-major `z` (`b.len()` columns): `z ← z + b`, then `y = θ(z)`, while
    /// the row is in cache.
    fn bias_activate<T: Real>(act: Activation, z: &mut [T], y: &mut [T], b: &[T]) {
        if b.is_empty() {
            return;
        }
        for (zr, yr) in z.chunks_exact_mut(b.len()).zip(y.chunks_exact_mut(b.len())) {
            for (z, &b) in zr.iter_mut().zip(b) {
                *z += b;
            }
            kernels::activate(act, zr, yr);
        }
    }
}

ipbn_math::multiversion! {
    /// Mean cross-entropy of the row-major `logits` (one row per label) against `labels`;
    /// writes ∂(mean loss)/∂logits into `grad` (same shape). Each row is shifted by its
    /// maximum before the exponentials (log-sum-exp), which are then summed in class order.
    fn softmax_xent<T: Real>(logits: &[T], labels: &[u8], grad: &mut [T]) -> f64 {
        let n = labels.len();
        if n == 0 || logits.len() < n {
            return f64::NAN;
        }
        let c = logits.len() / n;
        let inv_n = T::c(1.0 / n as f64);
        let mut total = 0.0f64;
        for ((lrow, grow), &label) in logits
            .chunks_exact(c)
            .zip(grad.chunks_exact_mut(c))
            .zip(labels)
        {
            let m = lrow.iter().fold(T::neg_infinity(), |a, &b| a.max(b));
            for (g, &l) in grow.iter_mut().zip(lrow) {
                *g = l - m;
            }
            kernels::exp_in_place(grow);
            let mut s = T::zero();
            for &e in grow.iter() {
                s += e;
            }
            let label = label as usize;
            // −log p_label = log Σ exp(l − m) − (l_label − m)
            total += (s.ln() - (lrow[label] - m)).to_f64_exact();
            let scale = inv_n / s;
            for g in grow.iter_mut() {
                *g *= scale;
            }
            grow[label] -= inv_n;
        }
        total / n as f64
    }
}

impl<T: Real> Mlp<T> {
    fn check_input(&self, x: &ArrayView2<'_, T>, ws: &Workspace<T>) -> Result<()> {
        if x.ncols() != self.inputs {
            return Err(NeuronError::Shape(format!(
                "network input has {} features, the network expects {}",
                x.ncols(),
                self.inputs
            ))
            .into());
        }
        if x.nrows() == 0 || x.nrows() > ws.capacity {
            return Err(NeuronError::Shape(format!(
                "batch of {} rows for a workspace of capacity {}",
                x.nrows(),
                ws.capacity
            ))
            .into());
        }
        Ok(())
    }

    /// Runs the network on `x` (`rows × inputs`, rows ≤ the workspace capacity), leaving every
    /// layer's values and the logits in `ws`. In `Mode::Train` BN uses batch statistics (and
    /// updates its running estimates) and IP layers cache what `adapt` needs.
    pub fn forward(
        &mut self,
        x: ArrayView2<'_, T>,
        mode: Mode,
        ws: &mut Workspace<T>,
    ) -> Result<()> {
        self.check_input(&x, ws)?;
        let n = x.nrows();
        ws.rows = n;
        let act = self.activation;
        for l in 0..self.hidden.len() {
            let (done, rest) = ws.y.split_at_mut(l);
            let input = if l == 0 {
                x.view()
            } else {
                done[l - 1].slice(s![..n, ..])
            };
            let layer = &mut self.hidden[l];
            let mut z = ws.z[l].slice_mut(s![..n, ..]);
            let mut y = rest[0].slice_mut(s![..n, ..]);
            ipbn_math::gemm(T::one(), &input, &layer.dense.w, T::zero(), &mut z);
            let zs = rows_mut(&mut z);
            match &mut layer.norm {
                Norm::Plain => {
                    let b = layer.dense.b.as_ref().expect("plain layers have a bias");
                    bias_activate(act, zs, rows_mut(&mut y), sl(b));
                }
                Norm::Bn { bn, .. } => {
                    let mut u = ws.u[l].slice_mut(s![..n, ..]);
                    bn.forward_into(z.view(), mode, u.view_mut())?;
                    kernels::activate(act, rows(&u.view()), rows_mut(&mut y));
                }
                Norm::Ip { ip, .. } => {
                    let b = layer.dense.b.as_ref().expect("IP layers have a bias");
                    kernels::add_rows(zs, sl(b));
                    ip.forward_into(z.view(), mode, y.view_mut())?;
                }
            }
        }
        let input = match ws.y.last() {
            Some(y) => y.slice(s![..n, ..]),
            None => x.view(),
        };
        let mut logits = ws.logits.slice_mut(s![..n, ..]);
        ipbn_math::gemm(T::one(), &input, &self.out.w, T::zero(), &mut logits);
        let b = self.out.b.as_ref().expect("the output layer has a bias");
        kernels::add_rows(rows_mut(&mut logits), sl(b));
        Ok(())
    }

    /// Mean cross-entropy of the last forward pass against `labels` (one per row, each
    /// < classes); also writes ∂loss/∂logits into the workspace for [`Mlp::backward`].
    pub fn loss(&self, labels: &[u8], ws: &mut Workspace<T>) -> Result<f64> {
        let n = ws.rows;
        if labels.len() != n {
            return Err(NeuronError::Shape(format!("{} labels for {n} rows", labels.len())).into());
        }
        if let Some(&bad) = labels.iter().find(|&&c| c as usize >= self.classes) {
            return Err(NeuronError::Shape(format!(
                "label {bad} out of range for {} classes",
                self.classes
            ))
            .into());
        }
        Ok(softmax_xent(
            rows(&ws.logits.slice(s![..n, ..])),
            labels,
            rows_mut(&mut ws.glogits.slice_mut(s![..n, ..])),
        ))
    }

    /// Back-propagates the gradient left by [`Mlp::loss`] through the network after a
    /// training-mode forward pass on `x`, storing every parameter gradient in the network.
    pub fn backward(&mut self, x: ArrayView2<'_, T>, ws: &mut Workspace<T>) -> Result<()> {
        let n = ws.rows;
        let depth = self.hidden.len();
        if ws.gy.len() != depth || ws.gz.len() != depth {
            return Err(NeuronError::Shape(
                "backward needs a workspace built with gradients (Mlp::workspace(cap, true))"
                    .into(),
            )
            .into());
        }
        if x.nrows() != n || x.ncols() != self.inputs {
            return Err(NeuronError::Shape(format!(
                "backward input is {}×{}, the forward pass had {n}×{}",
                x.nrows(),
                x.ncols(),
                self.inputs
            ))
            .into());
        }
        let act = self.activation;
        // Output layer.
        {
            let g = ws.glogits.slice(s![..n, ..]);
            let input = match ws.y.last() {
                Some(y) => y.slice(s![..n, ..]),
                None => x.view(),
            };
            ipbn_math::gemm(T::one(), &input.t(), &g, T::zero(), &mut self.out.dw);
            kernels::column_sums(rows(&g), sl_mut(self.out.db.as_mut().expect("output bias")));
            if depth > 0 {
                let mut gy = ws.gy[depth - 1].slice_mut(s![..n, ..]);
                ipbn_math::gemm(T::one(), &g, &self.out.w.t(), T::zero(), &mut gy);
            }
        }
        for l in (0..depth).rev() {
            let layer = &mut self.hidden[l];
            let y = ws.y[l].slice(s![..n, ..]);
            let mut gy = ws.gy[l].slice_mut(s![..n, ..]);
            let mut gz = ws.gz[l].slice_mut(s![..n, ..]);
            match &mut layer.norm {
                Norm::Plain => {
                    kernels::slope_times(act, rows(&y), rows(&gy.view()), rows_mut(&mut gz));
                }
                Norm::Bn { bn, st } => {
                    kernels::scale_by_slope(act, rows(&y), rows_mut(&mut gy));
                    bn.backward_into(gy.view(), gz.view_mut())?;
                    st.dg.assign(&bn.grad_gamma());
                    st.db.assign(&bn.grad_beta());
                }
                Norm::Ip { ip, st } => {
                    ip.backward_into(gy.view(), gz.view_mut())?;
                    if let Some(st) = st {
                        let (dg, db) = ip
                            .affine_grads()
                            .expect("an affine IP layer has affine gradients");
                        st.dg.assign(&dg);
                        st.db.assign(&db);
                    }
                }
            }
            let input = if l == 0 {
                x.view()
            } else {
                ws.y[l - 1].slice(s![..n, ..])
            };
            ipbn_math::gemm(T::one(), &input.t(), &gz, T::zero(), &mut layer.dense.dw);
            if let Some(db) = layer.dense.db.as_mut() {
                kernels::column_sums(rows(&gz.view()), sl_mut(db));
            }
            if l > 0 {
                let mut gprev = ws.gy[l - 1].slice_mut(s![..n, ..]);
                ipbn_math::gemm(T::one(), &gz, &layer.dense.w.t(), T::zero(), &mut gprev);
            }
        }
        Ok(())
    }

    /// Number of rows of `x` whose largest logit (the first one on ties) is the label,
    /// computed in inference mode in chunks of the workspace's capacity.
    pub fn count_correct(
        &mut self,
        x: ArrayView2<'_, T>,
        labels: &[u8],
        ws: &mut Workspace<T>,
    ) -> Result<usize> {
        let mut correct = 0;
        let cap = ws.capacity;
        let mut start = 0;
        while start < x.nrows() {
            let end = (start + cap).min(x.nrows());
            self.forward(x.slice(s![start..end, ..]), Mode::Eval, ws)?;
            for (row, &label) in ws
                .logits
                .slice(s![..end - start, ..])
                .rows()
                .into_iter()
                .zip(&labels[start..end])
            {
                let mut best = 0;
                for (j, &v) in row.iter().enumerate() {
                    if v > row[best] {
                        best = j;
                    }
                }
                correct += usize::from(best == label as usize);
            }
            start = end;
        }
        Ok(correct)
    }
}
