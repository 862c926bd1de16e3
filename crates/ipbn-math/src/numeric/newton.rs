//! A damped Newton solver for two equations in two unknowns, `F(x) = 0`, `x ∈ ℝ²`.
//!
//! Each iteration takes the Jacobian (supplied, or by forward differences with step
//! `fd_rel · max(|xᵢ|, fd_floor[i])` per coordinate), the Newton step `−J⁻¹F`, and halves it
//! (up to `max_halvings` times) until the residual norm decreases; with
//! [`Newton2::positive_first`] a trial point must also keep `x₀ > 0` (a gain, say). The
//! iteration ends when the residual is below `stop_residual`, when no halving decreases it
//! (the root to rounding, or a stall), when the accepted step is below `step_tol` of the
//! point in both coordinates, or after `max_iter` iterations; the result is then accepted if
//! the residual is below `tol · (1 + tol_inv_x0 / x₀)`.
//!
//! ```
//! use ipbn_math::numeric::Newton2;
//! // x² + y² = 2, x = y: the root (1, 1).
//! let f = |x: [f64; 2]| [x[0] * x[0] + x[1] * x[1] - 2.0, x[0] - x[1]];
//! let root = Newton2::default().solve(f, [2.0, 0.5]).unwrap();
//! assert!((root.x[0] - 1.0).abs() < 1e-12 && (root.x[1] - 1.0).abs() < 1e-12);
//! ```

use thiserror::Error;

/// The norm a [`Newton2`] measures residuals with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewtonNorm {
    /// `max(|F₀|, |F₁|)`.
    Max,
    /// `hypot(F₀, F₁)`.
    Euclidean,
}

impl NewtonNorm {
    /// The norm of `v`.
    pub fn of(self, v: [f64; 2]) -> f64 {
        match self {
            NewtonNorm::Max => v[0].abs().max(v[1].abs()),
            NewtonNorm::Euclidean => v[0].hypot(v[1]),
        }
    }
}

/// Why [`Newton2::solve`] found no root.
#[derive(Clone, Debug, PartialEq, Error)]
#[non_exhaustive]
pub enum NewtonError {
    /// The start is not finite (or its first coordinate is not > 0 under
    /// [`Newton2::positive_first`]).
    #[error("Newton: the start ({0}, {1}) is not a valid point; pass finite values (x0 > 0 where required)")]
    BadStart(f64, f64),
    /// The residual at an accepted point is NaN or infinite.
    #[error("Newton: the residual is not finite at ({0}, {1})")]
    NonFinite(f64, f64),
    /// The Jacobian is singular or not finite.
    #[error("Newton: the Jacobian at ({0}, {1}) is singular or not finite")]
    Singular(f64, f64),
    /// The iteration ended with a residual above the tolerance.
    #[error("Newton: stopped at ({x0}, {x1}) with residual {residual:e} above the tolerance")]
    NotConverged {
        /// First coordinate of the last point.
        x0: f64,
        /// Second coordinate of the last point.
        x1: f64,
        /// Residual norm there.
        residual: f64,
    },
}

/// A root found by [`Newton2::solve`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Root2 {
    /// The root.
    pub x: [f64; 2],
    /// The residual norm there.
    pub residual: f64,
    /// Newton iterations taken.
    pub iterations: usize,
}

/// Settings of the damped 2-D Newton solver (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Newton2 {
    /// Iterations at most.
    pub max_iter: usize,
    /// Step halvings at most per iteration.
    pub max_halvings: usize,
    /// The residual norm.
    pub norm: NewtonNorm,
    /// Relative forward-difference step of the Jacobian.
    pub fd_rel: f64,
    /// Per-coordinate floor of the scale the forward-difference step is relative to.
    pub fd_floor: [f64; 2],
    /// Smallest |det J| that counts as non-singular (0: any non-zero determinant).
    pub min_det: f64,
    /// Stop before an iteration whose residual is below this (0: never).
    pub stop_residual: f64,
    /// Stop when the accepted step is at most `step_tol · max(|xᵢ|, step_floor[i])` in both
    /// coordinates (0: only an exactly zero step).
    pub step_tol: f64,
    /// Per-coordinate floor of the scale `step_tol` is relative to.
    pub step_floor: [f64; 2],
    /// Accept a final residual below `tol · (1 + tol_inv_x0 / x₀)`.
    pub tol: f64,
    /// See `tol` (0: an absolute tolerance).
    pub tol_inv_x0: f64,
    /// Keep the first coordinate > 0.
    pub positive_first: bool,
}

impl Default for Newton2 {
    /// 100 iterations, 40 halvings, Euclidean norm, forward-difference step `1e-7` relative
    /// (floors 1), stop at residual 1e-13 or a step of 1e-14, accept below 1e-9, unbounded.
    fn default() -> Self {
        Newton2 {
            max_iter: 100,
            max_halvings: 40,
            norm: NewtonNorm::Euclidean,
            fd_rel: 1e-7,
            fd_floor: [1.0, 1.0],
            min_det: 0.0,
            stop_residual: 1e-13,
            step_tol: 1e-14,
            step_floor: [1.0, 1.0],
            tol: 1e-9,
            tol_inv_x0: 0.0,
            positive_first: false,
        }
    }
}

impl Newton2 {
    /// Solves `f(x) = 0` from `x0` with a forward-difference Jacobian.
    ///
    /// # Errors
    /// A [`NewtonError`] when the start is invalid, the residual or Jacobian is not finite,
    /// the Jacobian is singular, or the final residual is above the tolerance.
    pub fn solve(
        &self,
        f: impl Fn([f64; 2]) -> [f64; 2],
        x0: [f64; 2],
    ) -> Result<Root2, NewtonError> {
        self.run(&f, None::<fn([f64; 2]) -> [[f64; 2]; 2]>, x0)
    }

    /// Solves `f(x) = 0` from `x0` with the Jacobian `jac(x)` (`jac(x)[i][j] = ∂fᵢ/∂xⱼ`).
    ///
    /// # Errors
    /// As [`Newton2::solve`].
    pub fn solve_with_jacobian(
        &self,
        f: impl Fn([f64; 2]) -> [f64; 2],
        jac: impl Fn([f64; 2]) -> [[f64; 2]; 2],
        x0: [f64; 2],
    ) -> Result<Root2, NewtonError> {
        self.run(&f, Some(jac), x0)
    }

    fn run(
        &self,
        f: &dyn Fn([f64; 2]) -> [f64; 2],
        jac: Option<impl Fn([f64; 2]) -> [[f64; 2]; 2]>,
        start: [f64; 2],
    ) -> Result<Root2, NewtonError> {
        let [mut a, mut k] = start;
        let valid =
            |a: f64, k: f64| a.is_finite() && k.is_finite() && (!self.positive_first || a > 0.0);
        if !valid(a, k) {
            return Err(NewtonError::BadStart(a, k));
        }
        let norm = |v: [f64; 2]| self.norm.of(v);
        let mut r = f([a, k]);
        let mut iterations = 0;
        while iterations < self.max_iter {
            if !(r[0].is_finite() && r[1].is_finite()) {
                return Err(NewtonError::NonFinite(a, k));
            }
            if norm(r) < self.stop_residual {
                break;
            }
            iterations += 1;
            let j = match &jac {
                Some(jac) => jac([a, k]),
                None => {
                    let ha = self.fd_rel * a.abs().max(self.fd_floor[0]);
                    let hk = self.fd_rel * k.abs().max(self.fd_floor[1]);
                    let ra = f([a + ha, k]);
                    let rk = f([a, k + hk]);
                    [
                        [(ra[0] - r[0]) / ha, (rk[0] - r[0]) / hk],
                        [(ra[1] - r[1]) / ha, (rk[1] - r[1]) / hk],
                    ]
                }
            };
            let det = j[0][0] * j[1][1] - j[0][1] * j[1][0];
            if !(det.is_finite() && det.abs() > self.min_det) {
                return Err(NewtonError::Singular(a, k));
            }
            let da = -(j[1][1] * r[0] - j[0][1] * r[1]) / det;
            let dk = -(-j[1][0] * r[0] + j[0][0] * r[1]) / det;
            let mut t = 1.0;
            let mut accepted = false;
            for _ in 0..self.max_halvings {
                let (na, nk) = (a + t * da, k + t * dk);
                if valid(na, nk) {
                    let nr = f([na, nk]);
                    if norm(nr) < norm(r) || norm(nr) == 0.0 {
                        a = na;
                        k = nk;
                        r = nr;
                        accepted = true;
                        break;
                    }
                }
                t *= 0.5;
            }
            let small = (t * da).abs() <= self.step_tol * a.abs().max(self.step_floor[0])
                && (t * dk).abs() <= self.step_tol * k.abs().max(self.step_floor[1]);
            if !accepted || small {
                break;
            }
        }
        let residual = norm(r);
        if !residual.is_finite() {
            return Err(NewtonError::NonFinite(a, k));
        }
        if residual < self.tol * (1.0 + self.tol_inv_x0 / a) {
            Ok(Root2 {
                x: [a, k],
                residual,
                iterations,
            })
        } else {
            Err(NewtonError::NotConverged {
                x0: a,
                x1: k,
                residual,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field with the root (2, −1) whose first coordinate must stay positive.
    fn field(x: [f64; 2]) -> [f64; 2] {
        [
            x[0].ln() - 2f64.ln() + 0.1 * (x[1] + 1.0),
            (x[1] + 1.0) * (1.0 + x[0] * x[0]),
        ]
    }

    #[test]
    fn finds_the_root_with_either_jacobian() {
        let s = Newton2 {
            positive_first: true,
            ..Newton2::default()
        };
        let fd = s.solve(field, [0.3, 4.0]).unwrap();
        let jac = |x: [f64; 2]| {
            [
                [1.0 / x[0], 0.1],
                [2.0 * x[0] * (x[1] + 1.0), 1.0 + x[0] * x[0]],
            ]
        };
        let exact = s.solve_with_jacobian(field, jac, [0.3, 4.0]).unwrap();
        for r in [fd, exact] {
            assert!(
                (r.x[0] - 2.0).abs() < 1e-10 && (r.x[1] + 1.0).abs() < 1e-10,
                "{r:?}"
            );
            assert!(r.residual < 1e-9 && r.iterations >= 3);
        }
    }

    #[test]
    fn damping_keeps_the_first_coordinate_positive() {
        // ln x has its root at 1; a full Newton step from 5 lands at 5 (1 − ln 5) < 0.
        let f = |x: [f64; 2]| [x[0].ln(), x[1]];
        let s = Newton2 {
            positive_first: true,
            ..Newton2::default()
        };
        let r = s.solve(f, [5.0, 0.0]).unwrap();
        assert!((r.x[0] - 1.0).abs() < 1e-12);
        assert_eq!(
            s.solve(f, [-1.0, 0.0]),
            Err(NewtonError::BadStart(-1.0, 0.0))
        );
    }

    #[test]
    fn failures_are_typed() {
        let s = Newton2::default();
        // Singular: F does not depend on the second coordinate.
        let e = s
            .solve(|x| [x[0] - 1.0, 2.0 * (x[0] - 1.0)], [3.0, 0.0])
            .unwrap_err();
        assert!(matches!(e, NewtonError::Singular(..)), "{e:?}");
        // No root: x² + 1 = 0 stalls at its minimum with residual 1.
        let e = s
            .solve(|x| [x[0] * x[0] + 1.0, x[1]], [0.5, 0.0])
            .unwrap_err();
        match e {
            NewtonError::NotConverged { residual, .. } => assert!(residual >= 1.0 - 1e-12),
            other => panic!("{other:?}"),
        }
        let e = s.solve(|_| [f64::NAN, 0.0], [1.0, 1.0]).unwrap_err();
        assert_eq!(e, NewtonError::NonFinite(1.0, 1.0));
        assert!(e.to_string().contains("not finite"));
    }

    #[test]
    fn relative_tolerance_scales_with_the_first_coordinate() {
        // Residual fixed at 1e-9 · 0.5: accepted only with the 1/x₀ term at x₀ = 1.
        let f = |x: [f64; 2]| [x[0] - 1.0 + 5e-10, x[1]];
        let strict = Newton2 {
            max_iter: 0,
            ..Newton2::default()
        };
        let r = strict.solve(f, [1.0, 0.0]).unwrap();
        assert_eq!(r.iterations, 0);
        let loose = Newton2 {
            max_iter: 0,
            tol: 4e-10,
            tol_inv_x0: 1.0,
            ..Newton2::default()
        };
        assert!(loose.solve(f, [1.0, 0.0]).is_ok());
        let strict = Newton2 {
            tol: 4e-10,
            ..strict
        };
        assert!(strict.solve(f, [1.0, 0.0]).is_err());
    }
}
