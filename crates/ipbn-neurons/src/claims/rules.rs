//! Claims about IP rules; every one iterates over the registry.
//!
//! KL-type claims run on every registered rule of kind [`RuleKind::Kl`], the moment-matching
//! claim on every rule of kind [`RuleKind::Other`], with default parameters or parameters drawn
//! from each [`ParamDef::typical`](crate::rules::ParamDef) range, so a newly registered rule is
//! covered without new code. Each claim's core takes the rules as an argument, which lets the
//! tests below show that it fails on deliberately wrong rules.

use super::{run_property, Claim, ClaimReport};
use crate::registry::{self, RuleDef};
use crate::{Delta, IpRule, Objective, RuleKind, TargetDensity};
use ipbn_math::numeric;
use ipbn_math::Activation;
use ndarray::{Array1, ArrayView1};
use ndarray_rand::rand::SeedableRng;
use ndarray_rand::rand_distr::{Distribution, StandardNormal};
use proptest::prelude::*;
use rand_chacha::ChaCha8Rng;
use std::sync::{Arc, OnceLock};

/// The rule claims, in claims.md order.
pub(super) fn claims() -> Vec<Claim> {
    vec![
        Claim {
            id: "rule-is-gradient",
            statement: "Every KL-type rule's (Δα, Δk) equals the gradient of the batch mean of \
                G(α, k) = log α + log θ′(αx + k) + log p*(θ(αx + k)), the gradient taken by a \
                five-point central difference (steps 1e-4·α and 1e-4); random batches \
                (1–64 samples of N(m, s²)), α, k and parameters. A case whose stencil moves an \
                output across a kink of log p* (TargetDensity::kinks, e.g. a Laplace peak), \
                where G has no derivative, counts as error 0. Error: max over both components \
                of |rule − FD| / (1 + max |FD|); tolerance 1e-6.",
            run: run_rule_is_gradient,
        },
        Claim {
            id: "target-fixed-point",
            statement: "For every KL-type rule and valid parameters, ∫ p*(y) Δk(y) dy = 0 over \
                the part of the target's support that θ can reach (composite 16-point \
                Gauss–Legendre, 64 panels). Error: |∫ p* Δk| / ∫ p* |Δk|; tolerance 1e-9.",
            run: run_target_fixed_point,
        },
        Claim {
            id: "equilibria",
            statement: "Fixed points of the averaged rules (expectation by Gauss–Legendre \
                quadrature, root by damped Newton from a ±10 % start) on x = m + s·x₀: \
                infomax-tanh on N(m, s²) at α s = 0.87440, k = −α m; infomax-logistic at \
                α s = 1.74880; triesch (μ = 0.1) at (α s, k + α m) = (1.2383, −2.7024) for \
                N(0,1), (4.2363, −4.8666) for U[0,1], (12.2595, −3.7365) for Exp(mean 0.1). \
                Error: max(|α s/α₀ − 1|, |k + α m − k₀| / max(|k₀|, 1)); tolerance 1e-4 (the \
                published values have 5 significant digits).",
            run: run_equilibria,
        },
        Claim {
            id: "affine-covariance",
            statement: "With input x = s x′ + c (s > 0) the state (α, k) on x and \
                (s α, k + c α) on x′ give the same outputs, and the fixed point moves \
                accordingly. KL rules, for any α, k and batch: Δk′ = Δk and \
                Δα′ = (Δα − c Δk)/s (error: largest deviation relative to 1 + the terms' size). \
                Other rules (built with eps = 0 when they have it): the zero of the batch \
                direction (Newton) moves from (α*, k*) to (s α*, k* + c α*) (relative error). \
                Tolerance 1e-9.",
            run: run_affine_covariance,
        },
        Claim {
            id: "moment-matching-is-bn",
            statement: "For every rule of kind Other (moment matching): (a) one step with η·ρ = 1 \
                sets α, k to BN's α_B = g*/√(v_B + ε), k_B = b* − m_B α_B for the batch (biased \
                variance; error relative to the larger of the old and new values); (b) on a \
                stationary stream, a fixed cycle of 1–6 batches with η·ρ in [0.1, 1], α and k \
                converge to a cycle whose average equals the average of BN's per-batch α_B, \
                k_B (relative error). Tolerance 1e-12.",
            run: run_moment_is_bn,
        },
        Claim {
            id: "rule-limits",
            statement: "triesch(μ) → infomax-logistic as μ → ∞ and schrauwen(0, σ) → \
                infomax-tanh as σ → ∞, at rate 1/μ and 1/σ²: for μ in {1e2, 1e4, 1e6} and σ in \
                {1e1, 1e3, 1e5} on random batches, μ·|Δ_triesch − Δ_logistic|∞ ≤ (1 + max|x|)/4 \
                and σ²·|Δ_schrauwen − Δ_tanh|∞ ≤ 0.3849 (1 + max|x|) (the bounds of \
                |y(1 − y)| and |y(1 − y²)|). Error: the ratio to the bound; tolerance 1.",
            run: run_rule_limits,
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// The claim families, by the objective a rule declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Family {
    /// KL rules ([`Objective::Kl`]).
    Kl,
    /// Moment matching ([`Objective::BatchMoments`]).
    Moments,
    /// KL and moment-matching rules: the ones with a stated fixed point to move.
    Covariant,
}

/// The rows of `defs` whose rule (at its defaults) belongs to `family`.
pub(super) fn defs_in(defs: &[RuleDef], family: Family) -> Vec<RuleDef> {
    defs.iter()
        .filter(|d| {
            d.build_default().is_ok_and(|r| {
                matches!(
                    (family, r.objective()),
                    (Family::Kl | Family::Covariant, Objective::Kl(_))
                        | (Family::Moments | Family::Covariant, Objective::BatchMoments)
                )
            })
        })
        .copied()
        .collect()
}

/// The active registry's rows in `family`.
fn registered(family: Family) -> Vec<RuleDef> {
    defs_in(registry::active().defs(), family)
}

/// The rule of `def` with default parameters (`None`) or parameters at typical positions.
fn build(def: &RuleDef, t: &Option<Vec<f64>>) -> Option<Arc<dyn IpRule>> {
    match t {
        None => def.build_default().ok(),
        Some(t) => def.build_typical(t).ok(),
    }
}

/// `n` samples of N(m, s²) from a ChaCha generator seeded with `seed`.
fn normal_batch(seed: u64, n: usize, m: f64, s: f64) -> Array1<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array1::from_shape_fn(n, |_| {
        let z: f64 = StandardNormal.sample(&mut rng);
        m + s * z
    })
}

/// The outputs θ(α x + k).
fn outputs(act: Activation, x: ArrayView1<'_, f64>, alpha: f64, k: f64) -> Array1<f64> {
    x.mapv(|v| act.f(alpha * v + k))
}

/// The direction for a single sample, allocation-free.
fn direction1(rule: &dyn IpRule, x: f64, y: f64, alpha: f64, k: f64) -> Delta {
    rule.direction(
        ArrayView1::from(std::slice::from_ref(&x)),
        ArrayView1::from(std::slice::from_ref(&y)),
        alpha,
        k,
    )
}

/// Random valid parameter positions, or `None` for the defaults.
fn params_strategy() -> impl Strategy<Value = Option<Vec<f64>>> {
    proptest::option::of(proptest::collection::vec(0.0f64..=1.0, 4))
}

// ---------------------------------------------------------------------------------------------
// rule-is-gradient

/// Batch mean of G(α, k) = log α + log θ′(u) + log p*(θ(u)).
fn objective(act: Activation, target: &dyn TargetDensity, x: &[f64], alpha: f64, k: f64) -> f64 {
    let mut s = 0.0;
    for &xi in x {
        let u = alpha * xi + k;
        s += act.ln_df(u) + target.ln_pdf(act.f(u));
    }
    alpha.ln() + s / x.len() as f64
}

/// Five-point central difference of `f` at `v` with step `h` ([`numeric::Stencil::FivePoint`]).
fn five_point(f: impl Fn(f64) -> f64, v: f64, h: f64) -> f64 {
    numeric::derivative(f, v, h, numeric::Stencil::FivePoint)
}

/// Whether a five-point stencil of `gradient_error` (in α or in k) moves some sample's output
/// across a kink of log p*, where G has no derivative to compare with.
fn crosses_kink(
    act: Activation,
    target: &dyn TargetDensity,
    x: &[f64],
    alpha: f64,
    k: f64,
) -> bool {
    let kinks = target.kinks();
    !kinks.is_empty()
        && x.iter().any(|&xi| {
            let u = alpha * xi + k;
            let reach = 2.0 * 1e-4 * (1.0 + alpha * xi.abs());
            let (lo, hi) = (act.f(u - reach), act.f(u + reach));
            kinks.iter().any(|&c| lo <= c && c <= hi)
        })
}

/// The `rule-is-gradient` error of one rule at one case.
fn gradient_error(rule: &dyn IpRule, x: &Array1<f64>, alpha: f64, k: f64) -> f64 {
    let Some(target) = rule.target() else {
        return f64::INFINITY;
    };
    let act = rule.activation();
    let xs = x.as_slice().unwrap_or(&[]);
    if crosses_kink(act, target, xs, alpha, k) {
        return 0.0;
    }
    let y = outputs(act, x.view(), alpha, k);
    let d = rule.direction(x.view(), y.view(), alpha, k);
    let fd_a = five_point(|a| objective(act, target, xs, a, k), alpha, 1e-4 * alpha);
    let fd_k = five_point(|kk| objective(act, target, xs, alpha, kk), k, 1e-4);
    let scale = 1.0 + fd_a.abs().max(fd_k.abs());
    ((d.alpha - fd_a).abs().max((d.k - fd_k).abs())) / scale
}

type GradCase = (Option<Vec<f64>>, usize, f64, f64, f64, f64, u64);

pub(super) fn rule_is_gradient_with(defs: &[RuleDef], cases: u32, seed: u64) -> ClaimReport {
    let strategy = (
        params_strategy(),
        1usize..=64,
        -2.0f64..2.0,
        0.1f64..3.0,
        0.1f64..5.0,
        -3.0f64..3.0,
        any::<u64>(),
    );
    run_property(
        "rule-is-gradient",
        1e-6,
        cases,
        seed,
        strategy,
        |(t, n, m, s, alpha, k, data_seed): &GradCase| {
            let x = normal_batch(*data_seed, *n, *m, *s);
            defs.iter()
                .map(|d| match build(d, t) {
                    Some(r) => gradient_error(r.as_ref(), &x, *alpha, *k),
                    None => f64::INFINITY,
                })
                .fold(0.0, f64::max)
        },
    )
}

fn run_rule_is_gradient(cases: u32, seed: u64) -> ClaimReport {
    rule_is_gradient_with(&registered(Family::Kl), cases, seed)
}

// ---------------------------------------------------------------------------------------------
// target-fixed-point

/// |∫ p* Δk| / ∫ p* |Δk| over the reachable part of the target's support.
fn target_error(rule: &dyn IpRule) -> f64 {
    let Some(target) = rule.target() else {
        return f64::INFINITY;
    };
    let act = rule.activation();
    let (ra, rb) = act.range();
    let (qa, qb) = target.quadrature_bounds();
    let (a, b) = (ra.max(qa), rb.min(qb));
    if !(a < b && a.is_finite() && b.is_finite()) {
        return f64::INFINITY;
    }
    let (mut num, mut den) = (0.0, 0.0);
    numeric::gauss_legendre(a, b, 64, |y, w| {
        // Feed the rule a consistent sample: x = θ⁻¹(y) with α = 1, k = 0.
        let dk = direction1(rule, act.inverse(y), y, 1.0, 0.0).k;
        let p = target.ln_pdf(y).exp();
        num += w * p * dk;
        den += w * p * dk.abs();
    });
    if den > 0.0 {
        num.abs() / den
    } else {
        num.abs()
    }
}

pub(super) fn target_fixed_point_with(defs: &[RuleDef], cases: u32, seed: u64) -> ClaimReport {
    run_property(
        "target-fixed-point",
        1e-9,
        cases,
        seed,
        params_strategy(),
        |t: &Option<Vec<f64>>| {
            defs.iter()
                .map(|d| build(d, t).map_or(f64::INFINITY, |r| target_error(r.as_ref())))
                .fold(0.0, f64::max)
        },
    )
}

fn run_target_fixed_point(cases: u32, seed: u64) -> ClaimReport {
    target_fixed_point_with(&registered(Family::Kl), cases, seed)
}

// ---------------------------------------------------------------------------------------------
// equilibria

/// A base input distribution, as quadrature nodes and weights (weights sum to 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Base {
    /// N(0, 1).
    Normal,
    /// U[0, 1].
    Uniform,
    /// Exponential with mean 0.1.
    Exp01,
}

/// Nodes `(x₀, w)` of the expectation over `base`.
pub(crate) fn base_nodes(base: Base) -> &'static [(f64, f64)] {
    static NODES: OnceLock<[Vec<(f64, f64)>; 3]> = OnceLock::new();
    let all = NODES.get_or_init(|| {
        let collect = |a: f64, b: f64, panels: usize, pdf: &dyn Fn(f64) -> f64| {
            let mut v = Vec::new();
            numeric::gauss_legendre(a, b, panels, |x, w| v.push((x, w * pdf(x))));
            v
        };
        let inv_sqrt_2pi = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
        [
            collect(-9.0, 9.0, 12, &|z| inv_sqrt_2pi * (-0.5 * z * z).exp()),
            collect(0.0, 1.0, 2, &|_| 1.0),
            collect(0.0, 3.6, 8, &|x| 10.0 * (-10.0 * x).exp()),
        ]
    });
    match base {
        Base::Normal => &all[0],
        Base::Uniform => &all[1],
        Base::Exp01 => &all[2],
    }
}

/// The averaged direction over x = m + s·x₀, x₀ ~ `base`.
pub(crate) fn averaged_field(
    rule: &dyn IpRule,
    base: Base,
    m: f64,
    s: f64,
    alpha: f64,
    k: f64,
) -> (f64, f64) {
    let act = rule.activation();
    let (mut fa, mut fk) = (0.0, 0.0);
    for &(x0, w) in base_nodes(base) {
        let x = m + s * x0;
        let d = direction1(rule, x, act.f(alpha * x + k), alpha, k);
        fa += w * d.alpha;
        fk += w * d.k;
    }
    (fa, fk)
}

/// The damped Newton solver the rule claims use ([`numeric::Newton2`]): max norm, forward
/// differences with step 1e-7·max(|α|, 1e-3) and 1e-7·max(|k|, 1), 60 iterations of up to 30
/// halvings keeping α > 0, accepted when the residual is below 1e-9·(1 + 1/α).
const CLAIM_NEWTON: numeric::Newton2 = numeric::Newton2 {
    max_iter: 60,
    max_halvings: 30,
    norm: numeric::NewtonNorm::Max,
    fd_rel: 1e-7,
    fd_floor: [1e-3, 1.0],
    min_det: 0.0,
    stop_residual: 0.0,
    step_tol: 1e-13,
    step_floor: [0.0, 1.0],
    tol: 1e-9,
    tol_inv_x0: 1.0,
    positive_first: true,
};

/// A root of the 2-D field `f(α, k)` near `(a0, k0)` with [`CLAIM_NEWTON`], or `None`.
pub(crate) fn newton2(f: impl Fn(f64, f64) -> (f64, f64), a0: f64, k0: f64) -> Option<(f64, f64)> {
    CLAIM_NEWTON
        .solve(
            |x| {
                let (fa, fk) = f(x[0], x[1]);
                [fa, fk]
            },
            [a0, k0],
        )
        .ok()
        .map(|r| (r.x[0], r.x[1]))
}

/// The known fixed points: rule index into the rule list, base input, (α₀, k₀) on the base.
pub(crate) const EQUILIBRIA: [(usize, Base, f64, f64); 5] = [
    (0, Base::Normal, 0.87440, 0.0),
    (1, Base::Normal, 1.74880, 0.0),
    (2, Base::Normal, 1.2383, -2.7024),
    (2, Base::Uniform, 4.2363, -4.8666),
    (2, Base::Exp01, 12.2595, -3.7365),
];

/// infomax-tanh, infomax-logistic and triesch (μ = 0.1), from the registry.
fn equilibrium_rules() -> Option<[Arc<dyn IpRule>; 3]> {
    Some([
        registry::parse_spec("infomax-tanh").ok()?.rule,
        registry::parse_spec("infomax-logistic").ok()?.rule,
        registry::parse_spec("triesch:mu=0.1").ok()?.rule,
    ])
}

/// The error of the averaged rule's fixed point for one known case.
fn equilibrium_error(rule: &dyn IpRule, case: usize, m: f64, s: f64, pa: f64, pk: f64) -> f64 {
    let (_, base, a0, k0) = EQUILIBRIA[case];
    // Known answer on x = m + s x₀: α = α₀/s, k = k₀ − α m. Start Newton nearby.
    let a_start = a0 / s * (1.0 + pa);
    let k_start = (k0 + pk * k0.abs().max(1.0)) - a_start * m;
    let Some((a, k)) = newton2(
        |a, k| averaged_field(rule, base, m, s, a, k),
        a_start,
        k_start,
    ) else {
        return f64::INFINITY;
    };
    let ea = (a * s / a0 - 1.0).abs();
    let ek = (k + a * m - k0).abs() / k0.abs().max(1.0);
    ea.max(ek)
}

type EqCase = (usize, f64, f64, f64, f64);

fn equilibria_with(rules: &[Arc<dyn IpRule>; 3], cases: u32, seed: u64) -> ClaimReport {
    let strategy = (
        0..EQUILIBRIA.len(),
        -3.0f64..3.0,
        -1.6f64..1.6, // ln s: s in [0.2, 5]
        -0.1f64..0.1,
        -0.1f64..0.1,
    );
    run_property(
        "equilibria",
        1e-4,
        cases,
        seed,
        strategy,
        |&(case, m, ln_s, pa, pk): &EqCase| {
            let rule = &rules[EQUILIBRIA[case].0];
            equilibrium_error(rule.as_ref(), case, m, ln_s.exp(), pa, pk)
        },
    )
}

fn run_equilibria(cases: u32, seed: u64) -> ClaimReport {
    match equilibrium_rules() {
        Some(rules) => equilibria_with(&rules, cases, seed),
        None => missing("equilibria", "infomax-tanh, infomax-logistic or triesch"),
    }
}

/// The report of a claim that cannot run because a rule it names is not registered.
fn missing(id: &str, what: &str) -> ClaimReport {
    ClaimReport {
        id: id.to_string(),
        cases: 0,
        worst_error: f64::INFINITY,
        tolerance: 0.0,
        holds: false,
        detail: format!("the registry has no {what}"),
    }
}

// ---------------------------------------------------------------------------------------------
// affine-covariance

/// The root of the batch direction of `rule` on `x` (Newton from (1, 0)).
fn batch_root(rule: &dyn IpRule, x: &Array1<f64>) -> Option<(f64, f64)> {
    let act = rule.activation();
    newton2(
        |a, k| {
            let y = outputs(act, x.view(), a, k);
            let d = rule.direction(x.view(), y.view(), a, k);
            (d.alpha, d.k)
        },
        1.0,
        0.0,
    )
}

/// The `affine-covariance` error of one rule at one case.
fn affine_error(rule: &dyn IpRule, x: &Array1<f64>, alpha: f64, k: f64, s: f64, c: f64) -> f64 {
    let act = rule.activation();
    let x2 = x.mapv(|v| (v - c) / s);
    match rule.kind() {
        RuleKind::Kl => {
            let (a2, k2) = (s * alpha, k + c * alpha);
            let d = rule.direction(x.view(), outputs(act, x.view(), alpha, k).view(), alpha, k);
            let d2 = rule.direction(x2.view(), outputs(act, x2.view(), a2, k2).view(), a2, k2);
            let ek = (d2.k - d.k).abs() / (1.0 + d.k.abs());
            let ea = (s * d2.alpha + c * d.k - d.alpha).abs()
                / (1.0 + d.alpha.abs() + (c * d.k).abs() + 1.0 / alpha);
            ek.max(ea)
        }
        RuleKind::Other => {
            let (Some((a1, k1)), Some((a2, k2))) = (batch_root(rule, x), batch_root(rule, &x2))
            else {
                return f64::INFINITY;
            };
            let (ea_want, ek_want) = (s * a1, k1 + c * a1);
            let ea = (a2 - ea_want).abs() / ea_want.abs();
            let ek = (k2 - ek_want).abs() / (1.0 + k1.abs() + (c * a1).abs());
            ea.max(ek)
        }
    }
}

/// A rule of `def` for the affine claim: Other rules get `eps = 0` (the ε guard breaks exact
/// covariance by design, as it does for BN).
fn affine_rule(def: &RuleDef, t: &Option<Vec<f64>>) -> Option<Arc<dyn IpRule>> {
    let r = build(def, t)?;
    if r.kind() == RuleKind::Kl {
        return Some(r);
    }
    let mut values: Vec<f64> = r.params().iter().map(|p| p.value).collect();
    if let Some(i) = def.params.iter().position(|p| p.name == "eps") {
        values[i] = 0.0;
    }
    (def.build)(&values).ok()
}

type AffineCase = (Option<Vec<f64>>, usize, f64, f64, f64, f64, f64, f64, u64);

pub(super) fn affine_covariance_with(defs: &[RuleDef], cases: u32, seed: u64) -> ClaimReport {
    let strategy = (
        params_strategy(),
        2usize..=64,
        -2.0f64..2.0,
        0.2f64..3.0,
        0.1f64..3.0,
        -2.0f64..2.0,
        -2.3f64..2.3, // ln s: s in [0.1, 10]
        -5.0f64..5.0,
        any::<u64>(),
    );
    run_property(
        "affine-covariance",
        1e-9,
        cases,
        seed,
        strategy,
        |(t, n, m, sd, alpha, k, ln_s, c, data_seed): &AffineCase| {
            let x = normal_batch(*data_seed, *n, *m, *sd);
            defs.iter()
                .map(|d| match affine_rule(d, t) {
                    Some(r) => affine_error(r.as_ref(), &x, *alpha, *k, ln_s.exp(), *c),
                    None => f64::INFINITY,
                })
                .fold(0.0, f64::max)
        },
    )
}

fn run_affine_covariance(cases: u32, seed: u64) -> ClaimReport {
    affine_covariance_with(&registered(Family::Covariant), cases, seed)
}

// ---------------------------------------------------------------------------------------------
// moment-matching-is-bn

/// A parameter value of `rule` by key, or `default`.
fn param(rule: &dyn IpRule, key: &str, default: f64) -> f64 {
    rule.param(key).unwrap_or(default)
}

/// BN's gain and bias for `x` (two-pass mean and biased variance), scaled by g* and shifted
/// by b*: the reference the moment rule is held to.
fn bn_gain_bias(x: &[f64], eps: f64, scale: f64, offset: f64) -> (f64, f64) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let a = 1.0 / (var + eps).sqrt();
    (scale * a, offset - scale * mean * a)
}

/// The `moment-matching-is-bn` error of one rule at one case.
fn moment_error(rule: &dyn IpRule, batches: &[Array1<f64>], a0: f64, k0: f64, lambda: f64) -> f64 {
    let (rho, scale, offset, eps) = (
        param(rule, "rho", 1.0),
        param(rule, "scale", 1.0),
        param(rule, "offset", 0.0),
        param(rule, "eps", 0.0),
    );
    let refs: Vec<(f64, f64)> = batches
        .iter()
        .map(|b| bn_gain_bias(b.as_slice().unwrap_or(&[]), eps, scale, offset))
        .collect();
    let act = rule.activation();
    let step = |a: f64, k: f64, x: &Array1<f64>, eta: f64| {
        let y = outputs(act, x.view(), a, k);
        let d = rule.direction(x.view(), y.view(), a, k);
        (a + eta * d.alpha, k + eta * d.k)
    };
    // (a) η ρ = 1: one step lands on BN's values.
    let (a1, k1) = step(a0, k0, &batches[0], 1.0 / rho);
    let (ab, kb) = refs[0];
    let err_a = (a1 - ab).abs() / ab.abs().max(a0.abs());
    let err_k = (k1 - kb).abs() / kb.abs().max(k0.abs()).max(ab.abs());
    // (b) a stationary stream: cycle the batches until the start is forgotten, i.e. until
    // (1 − λ)^steps times the initial gap is below 1e-16 of the values.
    let eta = lambda / rho;
    let p = batches.len();
    let gap = refs
        .iter()
        .map(|&(ra, rk)| ((a0 - ra).abs() / ra).max((k0 - rk).abs() / rk.abs().max(ra)))
        .fold(1.0, f64::max);
    let steps = if lambda >= 1.0 {
        p
    } else {
        let forget = (1e-16 / gap).ln() / (1.0 - lambda).ln();
        (forget.ceil() as usize).div_ceil(p) * p
    };
    let (mut a, mut k) = (a0, k0);
    for t in 0..steps {
        (a, k) = step(a, k, &batches[t % p], eta);
    }
    let (mut sa, mut sk) = (0.0, 0.0);
    for b in batches {
        sa += a;
        sk += k;
        (a, k) = step(a, k, b, eta);
    }
    let pf = p as f64;
    let (ma, mk) = (sa / pf, sk / pf);
    let ra = refs.iter().map(|r| r.0).sum::<f64>() / pf;
    let rk = refs.iter().map(|r| r.1).sum::<f64>() / pf;
    let scale_k = refs.iter().map(|r| r.1.abs().max(r.0)).fold(0.0, f64::max);
    let err_b = ((ma - ra).abs() / ra.abs()).max((mk - rk).abs() / scale_k);
    err_a.max(err_k).max(err_b)
}

type MomentCase = (Option<Vec<f64>>, usize, usize, f64, f64, f64, f64, f64, u64);

pub(super) fn moment_is_bn_with(defs: &[RuleDef], cases: u32, seed: u64) -> ClaimReport {
    let strategy = (
        params_strategy(),
        1usize..=6,
        2usize..=64,
        -3.0f64..3.0,
        0.1f64..10.0,
        0.05f64..20.0,
        -5.0f64..5.0,
        0.1f64..=1.0,
        any::<u64>(),
    );
    run_property(
        "moment-matching-is-bn",
        1e-12,
        cases,
        seed,
        strategy,
        |(t, p, n, m, sd, a0, k0, lambda, data_seed): &MomentCase| {
            let batches: Vec<Array1<f64>> = (0..*p)
                .map(|i| normal_batch(data_seed.wrapping_add(i as u64), *n, *m, *sd))
                .collect();
            defs.iter()
                .map(|d| match build(d, t) {
                    Some(r) => moment_error(r.as_ref(), &batches, *a0, *k0, *lambda),
                    None => f64::INFINITY,
                })
                .fold(0.0, f64::max)
        },
    )
}

fn run_moment_is_bn(cases: u32, seed: u64) -> ClaimReport {
    moment_is_bn_with(&registered(Family::Moments), cases, seed)
}

// ---------------------------------------------------------------------------------------------
// rule-limits

/// The rules a limit compares: a family member at a parameter value, and the limit rule.
#[derive(Clone, Copy)]
struct Limit {
    family: fn(f64) -> Option<Arc<dyn IpRule>>,
    limit: fn() -> Option<Arc<dyn IpRule>>,
    /// Parameter values approaching the limit.
    params: [f64; 3],
    /// The rate: the difference is bounded by `bound (1 + max|x|) / rate(p)`.
    rate: fn(f64) -> f64,
    bound: f64,
}

fn spec_rule(s: &str) -> Option<Arc<dyn IpRule>> {
    registry::parse_spec(s).ok().map(|r| r.rule)
}

fn registry_limits() -> [Limit; 2] {
    [
        Limit {
            family: |mu| spec_rule(&format!("triesch:mu={mu}")),
            limit: || spec_rule("infomax-logistic"),
            params: [1e2, 1e4, 1e6],
            rate: |mu| mu,
            bound: 0.25,
        },
        Limit {
            family: |sigma| spec_rule(&format!("schrauwen:mu=0,sigma={sigma}")),
            limit: || spec_rule("infomax-tanh"),
            params: [1e1, 1e3, 1e5],
            rate: |sigma| sigma * sigma,
            bound: 0.384_900_179_459_750_5, // max |y(1 − y²)| on [−1, 1] = 2/(3√3)
        },
    ]
}

fn limit_error(l: &Limit, x: &Array1<f64>, alpha: f64, k: f64) -> f64 {
    let Some(lim) = (l.limit)() else {
        return f64::INFINITY;
    };
    let y = outputs(lim.activation(), x.view(), alpha, k);
    let d0 = lim.direction(x.view(), y.view(), alpha, k);
    let xmax = x.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    l.params
        .iter()
        .map(|&p| match (l.family)(p) {
            Some(r) if r.activation() == lim.activation() => {
                let d = r.direction(x.view(), y.view(), alpha, k);
                let diff = (d.alpha - d0.alpha).abs().max((d.k - d0.k).abs());
                diff * (l.rate)(p) / (l.bound * (1.0 + xmax))
            }
            _ => f64::INFINITY,
        })
        .fold(0.0, f64::max)
}

type LimitCase = (usize, f64, f64, f64, f64, u64);

fn rule_limits_with(limits: &[Limit], cases: u32, seed: u64) -> ClaimReport {
    let strategy = (
        1usize..=64,
        -2.0f64..2.0,
        0.1f64..3.0,
        0.1f64..5.0,
        -3.0f64..3.0,
        any::<u64>(),
    );
    run_property(
        "rule-limits",
        1.0,
        cases,
        seed,
        strategy,
        |&(n, m, sd, alpha, k, data_seed): &LimitCase| {
            let x = normal_batch(data_seed, n, m, sd);
            limits
                .iter()
                .map(|l| limit_error(l, &x, alpha, k))
                .fold(0.0, f64::max)
        },
    )
}

fn run_rule_limits(cases: u32, seed: u64) -> ClaimReport {
    rule_limits_with(&registry_limits(), cases, seed)
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{kl_direction, targets::Uniform, ParamDef, Params};
    use crate::{Result, Rule};

    const CASES: u32 = 96;
    const SEED: u64 = 7;

    fn assert_holds(r: &ClaimReport) {
        assert!(r.holds, "{} fails: {}", r.id, r.detail);
        assert!(r.cases > 0 && r.worst_error <= r.tolerance, "{r:?}");
    }

    #[test]
    fn every_rule_claim_holds() {
        let all = claims();
        let ids: Vec<&str> = all.iter().map(|c| c.id).collect();
        assert_eq!(
            ids,
            [
                "rule-is-gradient",
                "target-fixed-point",
                "equilibria",
                "affine-covariance",
                "moment-matching-is-bn",
                "rule-limits"
            ]
        );
        for c in all {
            assert_holds(&(c.run)(CASES, SEED));
        }
    }

    /// A KL rule for tanh with a configurable mistake: h = sign·(−2y) + bias, and Δα using
    /// x + shift in place of x.
    #[derive(Clone, Copy, Debug)]
    struct Wrong<const V: u8>;

    impl<const V: u8> Wrong<V> {
        fn h(y: f64) -> f64 {
            match V {
                0 => 2.0 * y,         // wrong sign
                1 => -2.0 * y + 0.05, // spurious bias
                _ => -2.0 * y,
            }
        }
    }

    impl<const V: u8> Rule for Wrong<V> {
        const ID: &'static str = "wrong";
        const SOURCE: &'static str = "test";
        const PARAMS: &'static [ParamDef] = &[];
        fn build(_: Params) -> Result<Self> {
            Ok(Wrong)
        }
        fn params(&self) -> &Params {
            Params::none()
        }
        fn activation(&self) -> Activation {
            Activation::Tanh
        }
        fn objective(&self) -> Objective<'_> {
            Objective::Kl(&Uniform::SYMMETRIC_UNIT)
        }
        fn direction(
            &self,
            x: ArrayView1<'_, f64>,
            y: ArrayView1<'_, f64>,
            a: f64,
            _k: f64,
        ) -> Delta {
            let d = kl_direction(x, y, a, Self::h);
            if V == 2 {
                // Δα = 1/α + E[(x + 1) h]: not covariant.
                Delta {
                    alpha: d.alpha + d.k,
                    k: d.k,
                }
            } else {
                d
            }
        }
    }

    /// Moment matching with the unbiased variance (÷(n − 1)), or forgetting α in k_B.
    #[derive(Clone, Copy, Debug)]
    struct WrongMoment<const V: u8>;

    impl<const V: u8> Rule for WrongMoment<V> {
        const ID: &'static str = "wrong-moment";
        const SOURCE: &'static str = "test";
        const PARAMS: &'static [ParamDef] = &[];
        fn build(_: Params) -> Result<Self> {
            Ok(WrongMoment)
        }
        fn params(&self) -> &Params {
            Params::none()
        }
        fn activation(&self) -> Activation {
            Activation::Identity
        }
        fn objective(&self) -> Objective<'_> {
            Objective::BatchMoments
        }
        fn direction(
            &self,
            x: ArrayView1<'_, f64>,
            _y: ArrayView1<'_, f64>,
            a: f64,
            k: f64,
        ) -> Delta {
            let n = x.len() as f64;
            let mean = x.sum() / n;
            let ss = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>();
            let (ab, kb) = if V == 0 {
                let ab = 1.0 / (ss / (n - 1.0) + 1e-5).sqrt();
                (ab, -mean * ab)
            } else {
                (1.0 / (ss / n).sqrt(), -mean)
            };
            Delta {
                alpha: ab - a,
                k: kb - k,
            }
        }
    }

    fn assert_fails(r: &ClaimReport) {
        assert!(!r.holds, "{} should fail: {r:?}", r.id);
        assert!(r.worst_error > r.tolerance);
        assert!(!r.detail.is_empty());
    }

    #[test]
    fn rule_is_gradient_fails_on_a_wrong_sign() {
        let defs = [RuleDef::of::<Wrong<0>>()];
        assert_fails(&rule_is_gradient_with(&defs, CASES, SEED));
        let good = [RuleDef::of::<Wrong<3>>()];
        assert_holds(&rule_is_gradient_with(&good, CASES, SEED));
    }

    #[test]
    fn target_fixed_point_fails_on_a_biased_rule() {
        assert_fails(&target_fixed_point_with(
            &[RuleDef::of::<Wrong<1>>()],
            CASES,
            SEED,
        ));
    }

    #[test]
    fn equilibria_fail_on_a_wrong_rule() {
        let mut rules = equilibrium_rules().unwrap();
        rules[0] = Arc::new(Wrong::<1>);
        assert_fails(&equilibria_with(&rules, CASES, SEED));
        // Triesch with another μ misses the μ = 0.1 fixed points.
        let mut rules = equilibrium_rules().unwrap();
        rules[2] = spec_rule("triesch:mu=0.11").unwrap();
        assert_fails(&equilibria_with(&rules, CASES, SEED));
    }

    #[test]
    fn affine_covariance_fails_on_wrong_rules() {
        assert_fails(&affine_covariance_with(
            &[RuleDef::of::<Wrong<2>>()],
            CASES,
            SEED,
        ));
        assert_fails(&affine_covariance_with(
            &[RuleDef::of::<WrongMoment<1>>()],
            CASES,
            SEED,
        ));
    }

    #[test]
    fn moment_claim_fails_on_unbiased_variance() {
        assert_fails(&moment_is_bn_with(
            &[RuleDef::of::<WrongMoment<0>>()],
            CASES,
            SEED,
        ));
    }

    #[test]
    fn rule_limits_fail_on_a_slow_limit() {
        let mut limits = registry_limits();
        // Triesch at √μ only approaches the limit like 1/√μ.
        limits[0].family = |mu| spec_rule(&format!("triesch:mu={}", mu.sqrt()));
        assert_fails(&rule_limits_with(&limits, CASES, SEED));
    }

    /// Prints the fixed points of the averaged rules to more digits than models.md gives.
    #[test]
    fn equilibria_to_more_digits() {
        let rules = equilibrium_rules().unwrap();
        for (i, &(r, base, a0, k0)) in EQUILIBRIA.iter().enumerate() {
            let (a, k) = newton2(
                |a, k| averaged_field(rules[r].as_ref(), base, 0.0, 1.0, a, k),
                a0,
                k0,
            )
            .unwrap();
            println!(
                "case {i}: {} on {base:?}: alpha {a:.6}, k {k:.6}",
                rules[r].id()
            );
            assert!(equilibrium_error(rules[r].as_ref(), i, 0.0, 1.0, 0.0, 0.0) < 1e-4);
        }
    }
}
