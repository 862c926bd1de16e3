//! One IP unit `y = θ(α x + k)` on its own: the SGD simulator and the fixed point of the
//! averaged rule.
//!
//! * [`simulate_unit`] adapts (α, k) by plain SGD on a rule's direction over mini-batches
//!   drawn from an [`InputDist`], recording the trajectory.
//! * [`expected_direction`] is the rule's direction averaged over the input density by
//!   quadrature, and [`fixed_point`] its root (`E[Δα] = E[Δk] = 0`) by the damped Newton
//!   solver of [`ipbn_math::numeric::newton`].
//! * [`published_fixed_point`] holds the fixed points models.md §3 quotes.
//!
//! The figures draw what these compute; the science lives here.

mod input;

pub use input::InputDist;

use crate::IpRule;
use ipbn_math::numeric::{Newton2, NewtonError, NewtonNorm};
use ipbn_math::Activation;
use ndarray::Array1;
use thiserror::Error;

/// What went wrong in a single-unit computation.
#[derive(Clone, Debug, PartialEq, Error)]
#[non_exhaustive]
pub enum SingleUnitError {
    /// An input distribution with invalid parameters.
    #[error(
        "input distribution {0:?} is invalid: need finite parameters, sd > 0, hi > lo, mean > 0 for exponential"
    )]
    InvalidInput(InputDist),
}

/// α and k of one unit at recorded steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Trajectory {
    /// Steps after which the state was recorded (0: the start).
    pub steps: Vec<usize>,
    /// α at those steps.
    pub alpha: Vec<f64>,
    /// k at those steps.
    pub k: Vec<f64>,
    /// The first step at which α or k stopped being finite, if any (the run stops there).
    pub diverged_at: Option<usize>,
}

impl Trajectory {
    /// The last recorded (α, k).
    pub fn last(&self) -> (f64, f64) {
        (
            self.alpha.last().copied().unwrap_or(f64::NAN),
            self.k.last().copied().unwrap_or(f64::NAN),
        )
    }
}

/// How a single unit adapts: plain SGD `α ← α + η Δα`, `k ← k + η Δk` on mini-batches,
/// optionally with a decaying learning rate.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UnitSgd {
    /// Learning rate η.
    pub eta: f64,
    /// Samples per step (≥ 2 so that batch-statistics rules apply).
    pub batch: usize,
    /// Start (α, k).
    pub start: (f64, f64),
    /// Annealing time τ in steps: step t uses η/(1 + t/τ) (Robbins–Monro); 0 keeps η fixed.
    pub anneal: f64,
}

impl UnitSgd {
    /// Plain SGD with a fixed learning rate.
    pub fn fixed(eta: f64, batch: usize, start: (f64, f64)) -> Self {
        UnitSgd {
            eta,
            batch,
            start,
            anneal: 0.0,
        }
    }

    /// The learning rate at step `t` (1-based).
    pub fn eta_at(&self, t: usize) -> f64 {
        if self.anneal > 0.0 {
            self.eta / (1.0 + t as f64 / self.anneal)
        } else {
            self.eta
        }
    }
}

/// Runs one unit with `rule` and activation `act` on `steps` mini-batches drawn from
/// `input` with a ChaCha generator seeded by `seed`, recording (α, k) after each step listed
/// in `record_at` (sorted; 0 records the start). Stops early, recording `diverged_at`, if α
/// or k becomes non-finite; later records are then absent.
pub fn simulate_unit(
    rule: &dyn IpRule,
    act: Activation,
    input: &InputDist,
    sgd: &UnitSgd,
    steps: usize,
    record_at: &[usize],
    seed: u64,
) -> Trajectory {
    let mut rng = ipbn_math::seed::rng(seed);
    let (mut alpha, mut k) = sgd.start;
    let mut out = Trajectory {
        steps: Vec::new(),
        alpha: Vec::new(),
        k: Vec::new(),
        diverged_at: None,
    };
    let mut next = 0;
    let record = |t: usize, a: f64, kk: f64, out: &mut Trajectory, next: &mut usize| {
        while *next < record_at.len() && record_at[*next] == t {
            out.steps.push(t);
            out.alpha.push(a);
            out.k.push(kk);
            *next += 1;
        }
    };
    record(0, alpha, k, &mut out, &mut next);
    let b = sgd.batch.max(1);
    let mut x = Array1::<f64>::zeros(b);
    let mut y = Array1::<f64>::zeros(b);
    for t in 1..=steps {
        for i in 0..b {
            let xi = input.sample(&mut rng);
            x[i] = xi;
            y[i] = act.f(alpha * xi + k);
        }
        let d = rule.direction(x.view(), y.view(), alpha, k);
        let eta = sgd.eta_at(t);
        alpha += eta * d.alpha;
        k += eta * d.k;
        if !(alpha.is_finite() && k.is_finite()) {
            out.diverged_at = Some(t);
            break;
        }
        record(t, alpha, k, &mut out, &mut next);
    }
    out
}

/// The expected direction `(E[Δα], E[Δk])` of a rule at (α, k) over quadrature `nodes`
/// (one-sample directions weighted by the input density; see [`InputDist::quadrature`]).
pub fn expected_direction(
    rule: &dyn IpRule,
    act: Activation,
    nodes: &(Vec<f64>, Vec<f64>),
    alpha: f64,
    k: f64,
) -> (f64, f64) {
    let mut da = 0.0;
    let mut dk = 0.0;
    let mut xa = Array1::<f64>::zeros(1);
    let mut ya = Array1::<f64>::zeros(1);
    for (&x, &w) in nodes.0.iter().zip(&nodes.1) {
        if w == 0.0 {
            continue;
        }
        xa[0] = x;
        ya[0] = act.f(alpha * x + k);
        let d = rule.direction(xa.view(), ya.view(), alpha, k);
        da += w * d.alpha;
        dk += w * d.k;
    }
    (da, dk)
}

/// Simpson intervals of the expectation [`fixed_point`] solves.
pub const FIXED_POINT_NODES: usize = 6000;

/// The Newton settings of [`fixed_point`]: Euclidean residual, forward-difference Jacobian
/// with step `1e-6 · max(|·|, 1e-3)`, up to 100 iterations of up to 40 halvings, stop below
/// a residual of 1e-11, accept below 1e-9, α kept > 0.
pub const FIXED_POINT_NEWTON: Newton2 = Newton2 {
    max_iter: 100,
    max_halvings: 40,
    norm: NewtonNorm::Euclidean,
    fd_rel: 1e-6,
    fd_floor: [1e-3, 1e-3],
    min_det: 1e-300,
    stop_residual: 1e-11,
    step_tol: 0.0,
    step_floor: [0.0, 0.0],
    tol: 1e-9,
    tol_inv_x0: 0.0,
    positive_first: true,
};

/// The fixed point of the averaged rule (`E[Δα] = E[Δk] = 0`) near `guess`, by
/// [`FIXED_POINT_NEWTON`] on the quadrature expectation over `input`
/// ([`FIXED_POINT_NODES`] Simpson intervals).
///
/// # Errors
/// The solver's [`NewtonError`]: an invalid guess (α ≤ 0 or not finite), a singular or
/// non-finite Jacobian, or no convergence to a residual below 1e-9.
pub fn fixed_point(
    rule: &dyn IpRule,
    act: Activation,
    input: &InputDist,
    guess: (f64, f64),
) -> Result<(f64, f64), NewtonError> {
    let q = input.quadrature(FIXED_POINT_NODES);
    // A target density with kinks (a Laplace peak) makes the integrand kinked at the inputs
    // whose output is a kink, x = (θ⁻¹(c) − k)/α; the expectation is then split there, or the
    // fixed nodes would make the field jagged at the 1e-6 level and Newton could not settle.
    let kinks: Vec<f64> = rule.target().map_or_else(Vec::new, |t| t.kinks().to_vec());
    let f = |v: [f64; 2]| {
        let (a, k) = if kinks.is_empty() {
            expected_direction(rule, act, &q, v[0], v[1])
        } else {
            let cuts: Vec<f64> = kinks
                .iter()
                .map(|&c| (act.inverse(c) - v[1]) / v[0])
                .collect();
            let split = input.quadrature_split(FIXED_POINT_NODES, &cuts);
            expected_direction(rule, act, &split, v[0], v[1])
        };
        [a, k]
    };
    let root = FIXED_POINT_NEWTON.solve(f, [guess.0, guess.1])?;
    Ok((root.x[0], root.x[1]))
}

/// Fixed points quoted in models.md §3 (with their stated precision): triesch (μ = 0.1) on
/// the three standard inputs, and infomax-tanh and infomax-logistic on any Gaussian input
/// (by affine covariance, α = α₀/sd and k = −α·mean).
pub fn published_fixed_point(rule: &dyn IpRule, input: &InputDist) -> Option<(f64, f64)> {
    let param = |name: &str| rule.param(name);
    match (rule.id(), *input) {
        ("triesch", inp) if param("mu") == Some(0.1) => match inp {
            InputDist::Gaussian { mean: 0.0, sd: 1.0 } => Some((1.2383, -2.7024)),
            InputDist::Uniform { lo: 0.0, hi: 1.0 } => Some((4.2363, -4.8666)),
            InputDist::Exponential { mean: 0.1 } => Some((12.2595, -3.7365)),
            _ => None,
        },
        ("infomax-tanh", InputDist::Gaussian { mean, sd }) => {
            let a = 0.87440 / sd;
            Some((a, -a * mean))
        }
        ("infomax-logistic", InputDist::Gaussian { mean, sd }) => {
            let a = 1.74880 / sd;
            Some((a, -a * mean))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry;

    #[test]
    fn a_kinked_target_has_its_fixed_point_found() {
        // tanh-laplace on N(0, 1): by symmetry k* = 0, and α* solves
        // 1/α = 2 E[x tanh(αx)] + E[|x| sech²(αx)]/b, which lies between the two limits
        // 1/α → (1/b) E|x| (α → 0) and 2 E|x| (α → ∞), so a root exists.
        let rule = registry::parse_spec("tanh-laplace:b=0.25").unwrap().rule;
        let input = InputDist::Gaussian { mean: 0.0, sd: 1.0 };
        let (a, k) = fixed_point(rule.as_ref(), Activation::Tanh, &input, (1.0, 0.1)).unwrap();
        assert!(k.abs() < 1e-9, "{k}");
        // The defining equation, by an independent midpoint sum over x.
        let n = 400_000;
        let (mut t1, mut t2) = (0.0, 0.0);
        for i in 0..n {
            let x = -12.0 + (i as f64 + 0.5) * 24.0 / n as f64;
            let w = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt() * 24.0 / n as f64;
            let t = (a * x).tanh();
            t1 += w * x * t;
            t2 += w * x.abs() * (1.0 - t * t);
        }
        let rhs = 2.0 * t1 + t2 / 0.25;
        assert!(
            (1.0 / a - rhs).abs() < 1e-8 * rhs,
            "α* = {a}: 1/α = {} vs {rhs}",
            1.0 / a
        );
    }

    #[test]
    fn quadrature_fixed_points_match_models_md() {
        let triesch = registry::parse_spec("triesch:mu=0.1").unwrap().rule;
        for input in InputDist::standard() {
            let p = published_fixed_point(triesch.as_ref(), &input).unwrap();
            let f = fixed_point(triesch.as_ref(), Activation::Sigmoid, &input, (1.0, 0.0))
                .or_else(|_| fixed_point(triesch.as_ref(), Activation::Sigmoid, &input, p))
                .unwrap();
            assert!(
                (f.0 - p.0).abs() < 1e-3 && (f.1 - p.1).abs() < 1e-3,
                "{input:?}: {f:?} vs {p:?}"
            );
        }
        let tanh = registry::parse_spec("infomax-tanh").unwrap().rule;
        let g = InputDist::Gaussian { mean: 2.0, sd: 3.0 };
        let f = fixed_point(tanh.as_ref(), Activation::Tanh, &g, (1.0, 0.0)).unwrap();
        assert!(
            (f.0 * 3.0 - 0.8744).abs() < 1e-4 && (f.1 + f.0 * 2.0).abs() < 1e-4,
            "{f:?}"
        );
    }

    #[test]
    fn fixed_point_rejects_a_bad_guess() {
        let tanh = registry::parse_spec("infomax-tanh").unwrap().rule;
        let g = InputDist::Gaussian { mean: 0.0, sd: 1.0 };
        let e = fixed_point(tanh.as_ref(), Activation::Tanh, &g, (-1.0, 0.0)).unwrap_err();
        assert!(matches!(e, NewtonError::BadStart(..)), "{e:?}");
    }

    #[test]
    fn expected_direction_vanishes_at_the_fixed_point_only() {
        let tanh = registry::parse_spec("infomax-tanh").unwrap().rule;
        let g = InputDist::Gaussian { mean: 0.0, sd: 1.0 };
        let q = g.quadrature(FIXED_POINT_NODES);
        let at = expected_direction(tanh.as_ref(), Activation::Tanh, &q, 0.87440, 0.0);
        assert!(at.0.abs() < 1e-4 && at.1.abs() < 1e-12, "{at:?}");
        let off = expected_direction(tanh.as_ref(), Activation::Tanh, &q, 1.5, 0.0);
        assert!(off.0 < -1e-2, "{off:?}");
    }

    #[test]
    fn sgd_run_is_seeded_and_records_requested_steps() {
        let rule = registry::parse_spec("infomax-tanh").unwrap().rule;
        let sgd = UnitSgd::fixed(0.02, 8, (1.0, 0.0));
        let g = InputDist::Gaussian { mean: 0.0, sd: 1.0 };
        let run = |seed| {
            simulate_unit(
                rule.as_ref(),
                Activation::Tanh,
                &g,
                &sgd,
                3000,
                &[0, 10, 3000],
                seed,
            )
        };
        let a = run(7);
        assert_eq!(a, run(7));
        assert_ne!(a, run(8));
        assert_eq!(a.steps, vec![0, 10, 3000]);
        assert!((a.last().0 - 0.8744).abs() < 0.05, "{:?}", a.last());
        let annealed = UnitSgd {
            anneal: 10.0,
            ..sgd
        };
        assert_eq!(annealed.eta_at(10), 0.01);
    }
}
