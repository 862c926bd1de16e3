//! The intrinsic-plasticity rules, one per file, and the machinery they share.
//!
//! `ipbn rules` lists every registered rule with its activation, target, parameters and
//! source. Each rule implements [`crate::Rule`]: an id, a reference, a parameter table
//! ([`ParamDef`]s, declared once) and what it drives the unit towards ([`crate::Objective`]).
//!
//! Every KL-type rule (models.md §2) is gradient ascent on
//! `G(α, k) = log α + log θ′(u) + log p*(θ(u))` with `u = α x + k`, so its direction is
//!
//! ```text
//! Δk = E[h(y)],        h(y) = θ″/θ′(u) + ψ(y) θ′(u),   ψ = d log p*/dy
//! Δα = 1/α + E[x h(y)]
//! ```
//!
//! A KL rule file therefore at most writes its per-sample term `h(y)` ([`crate::Rule::h`]);
//! [`kl_direction`] does the single pass over the batch.
//!
//! # Registering a rule
//!
//! The list below is the built-in registry: one line, `module::Type,`, per rule, in listing
//! order. It declares the module, re-exports the type and adds it to [`BUILTIN`].
//! `ipbn rules new NAME` writes a rule file and adds its line here.
//!
//! # Activation convention for rules that are not KL gradients
//!
//! A rule of kind [`RuleKind::Other`] that reports [`Activation::Identity`] depends on the net
//! input `x` alone and accepts every activation (the moment-matching rule is one). Use
//! [`accepts_activation`] (or [`check_activation`]) rather than comparing activations by hand.

pub mod params;
pub mod targets;

pub use params::{fmt_num, Bound, ParamDef, Params};
pub use targets::{Exponential, Gaussian, Uniform};

/// Declares each rule module, re-exports its type and lists it in [`BUILTIN`].
macro_rules! builtin_rules {
    ($($module:ident :: $rule:ident),* $(,)?) => {
        $(
            pub mod $module;
            pub use $module::$rule;
        )*
        /// The built-in rules, in listing order: the rows of
        /// [`Registry::builtin`](crate::registry::Registry::builtin).
        pub const BUILTIN: &[crate::registry::RuleDef] =
            &[$(crate::registry::RuleDef::of::<$module::$rule>()),*];
    };
}

builtin_rules! {
    infomax_tanh::InfomaxTanh,
    infomax_logistic::InfomaxLogistic,
    triesch::Triesch,
    schrauwen::Schrauwen,
    moment::MomentMatching,
    softplus_exponential::SoftplusExponential,
    tanh_laplace::TanhLaplace,
}

use crate::{Delta, IpRule, NeuronError, Result, RuleKind};
use ipbn_math::Activation;
use ndarray::{ArrayView1, ArrayView2};

// What `ipbn rules new` writes, compiled here so that the tests below can check that the
// template is a valid rule on which every claim of its kind holds.
#[cfg(test)]
#[path = "template_golden/template_kl_sigmoid.rs"]
mod template_kl_sigmoid;
#[cfg(test)]
#[path = "template_golden/template_kl_softplus.rs"]
mod template_kl_softplus;
#[cfg(test)]
#[path = "template_golden/template_kl_tanh.rs"]
mod template_kl_tanh;
#[cfg(test)]
#[path = "template_golden/template_other_sigmoid.rs"]
mod template_other_sigmoid;

/// Whether `rule` can drive units with activation `activation`.
///
/// True when the rule was derived for that activation, and for every activation when the rule
/// is of kind [`RuleKind::Other`] and reports [`Activation::Identity`] (it then depends on the
/// net input alone, as the moment-matching rule does).
pub fn accepts_activation(rule: &dyn IpRule, activation: Activation) -> bool {
    rule.activation() == activation
        || (rule.kind() == RuleKind::Other && rule.activation() == Activation::Identity)
}

/// [`accepts_activation`] as a `Result`, with [`NeuronError::WrongActivation`] naming both
/// activations.
pub fn check_activation(rule: &dyn IpRule, activation: Activation) -> Result<()> {
    if accepts_activation(rule, activation) {
        Ok(())
    } else {
        Err(NeuronError::WrongActivation {
            rule: rule.id().to_string(),
            needs: rule.activation().name().to_string(),
            got: activation.name().to_string(),
        })
    }
}

/// θ″/θ′ written through the output `y = θ(u)` instead of `u`, the form a rule that is handed
/// `y` can use without recomputing θ. Agrees with [`Activation::d2_over_d1`] at `y = θ(u)`.
///
/// Sigmoid: 1 − 2y. Tanh: −2y. Softplus: e^(−y) (= σ(−u)). ReLU and identity: 0.
#[inline(always)]
pub fn d2_over_d1_from_output(activation: Activation, y: f64) -> f64 {
    match activation {
        Activation::Sigmoid => 1.0 - 2.0 * y,
        Activation::Tanh => -2.0 * y,
        Activation::Softplus => (-y).exp(),
        Activation::Relu | Activation::Identity => 0.0,
    }
}

/// The direction of a KL-type rule over a batch, from its per-sample term `h(y)`:
/// `Δk = mean h(yᵢ)`, `Δα = 1/α + mean xᵢ h(yᵢ)` (models.md §2).
///
/// One pass over the batch in index order, no allocation. If `x` and `y` differ in length only
/// their common prefix is used; an empty batch gives the zero direction (no update).
#[inline]
pub fn kl_direction(
    x: ArrayView1<'_, f64>,
    y: ArrayView1<'_, f64>,
    alpha: f64,
    h: impl Fn(f64) -> f64,
) -> Delta {
    let mut n = 0usize;
    let mut sum_h = 0.0;
    let mut sum_xh = 0.0;
    for (&xi, &yi) in x.iter().zip(y.iter()) {
        let hi = h(yi);
        sum_h += hi;
        sum_xh += xi * hi;
        n += 1;
    }
    if n == 0 {
        return Delta { alpha: 0.0, k: 0.0 };
    }
    let inv_n = 1.0 / n as f64;
    Delta {
        alpha: 1.0 / alpha + sum_xh * inv_n,
        k: sum_h * inv_n,
    }
}

thread_local! {
    /// Per-unit running sums of [`kl_directions`] (Σ h, Σ x h), kept per thread so that
    /// steady-state training allocates nothing.
    static KL_SCRATCH: std::cell::RefCell<(Vec<f64>, Vec<f64>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

ipbn_math::multiversion! {
    /// `hs[j] += h(y[r, j])` and `xhs[j] += x[r, j] · h(y[r, j])` for every row `r` of the
    /// row-major `xs`, `ys` (`hs.len()` units per row), rows in order.
    fn kl_rows<H: Fn(f64) -> f64>(
        xs: &[f64],
        ys: &[f64],
        h: &H,
        hs: &mut [f64],
        xhs: &mut [f64]
    ) {
        let n = hs.len();
        for (xr, yr) in xs.chunks_exact(n).zip(ys.chunks_exact(n)) {
            for (((s, t), &xi), &yi) in hs.iter_mut().zip(xhs.iter_mut()).zip(xr).zip(yr) {
                let hi = h(yi);
                *s += hi;
                *t += xi * hi;
            }
        }
    }
}

/// [`kl_direction`] for every unit of a batch at once: `x` and `y` are `(rows, units)` and
/// `out` receives one [`Delta`] per unit (as many as `alpha` has values, at most the
/// columns). The sums run row by row, so each unit's sum takes its terms in the same order as
/// [`kl_direction`] on that unit's column: the result is the same bit for bit, while the
/// units' independent sums vectorise.
pub fn kl_directions(
    x: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    alpha: &[f64],
    h: impl Fn(f64) -> f64,
    out: &mut Vec<Delta>,
) {
    let n = x.ncols().min(y.ncols()).min(alpha.len());
    let rows = x.nrows().min(y.nrows());
    out.clear();
    if n == 0 {
        return;
    }
    // The sums (Σ h, Σ x h) go in two separate arrays (this thread's scratch), so that each
    // row is one loop over units that vectorises, h included.
    KL_SCRATCH.with_borrow_mut(|(hs, xhs)| {
        hs.clear();
        hs.resize(n, 0.0);
        xhs.clear();
        xhs.resize(n, 0.0);
        match (x.as_slice(), y.as_slice()) {
            // Row-major and contiguous: what the IP layer passes.
            (Some(xs), Some(ys)) if x.ncols() == n && y.ncols() == n => {
                kl_rows(&xs[..rows * n], &ys[..rows * n], &h, hs, xhs);
            }
            _ => {
                let (mut xr, mut yr) = (vec![0.0; n], vec![0.0; n]);
                for r in 0..rows {
                    for j in 0..n {
                        xr[j] = x[[r, j]];
                        yr[j] = y[[r, j]];
                    }
                    kl_rows(&xr, &yr, &h, hs, xhs);
                }
            }
        }
        if rows == 0 {
            out.resize(n, Delta { alpha: 0.0, k: 0.0 });
            return;
        }
        let inv_n = 1.0 / rows as f64;
        out.extend(
            alpha
                .iter()
                .zip(hs.iter())
                .zip(xhs.iter())
                .map(|((&a, &s), &t)| Delta {
                    alpha: 1.0 / a + t * inv_n,
                    k: s * inv_n,
                }),
        );
    });
}

/// Value-stability check shared by the rule files: the direction of `rule` on the batch
/// x = (0.5, −1, 2) at (α, k) = (1.5, 0.2), with y = θ(αx + k) for the rule's activation,
/// must equal `expected` (computed independently) to 1e-15 relative.
#[cfg(test)]
pub(crate) fn assert_pinned_direction(rule: &dyn IpRule, expected: (f64, f64)) {
    let (alpha, k) = (1.5, 0.2);
    let x = ndarray::array![0.5, -1.0, 2.0];
    let y = x.mapv(|v| rule.activation().f(alpha * v + k));
    let d = rule.direction(x.view(), y.view(), alpha, k);
    assert!(
        (d.alpha - expected.0).abs() <= 1e-15 * expected.0.abs(),
        "{}: Δα = {} (pinned {})",
        rule.id(),
        d.alpha,
        expected.0
    );
    assert!(
        (d.k - expected.1).abs() <= 1e-15 * expected.1.abs(),
        "{}: Δk = {} (pinned {})",
        rule.id(),
        d.k,
        expected.1
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rule;
    use ndarray::array;

    #[test]
    fn d2_over_d1_from_output_matches_activation() {
        for a in ipbn_math::ALL_ACTIVATIONS {
            if a == Activation::Relu {
                continue;
            }
            for i in -30..=30 {
                let u = i as f64 * 0.37 + 0.011;
                let y = a.f(u);
                let want = a.d2_over_d1(u);
                assert!(
                    (d2_over_d1_from_output(a, y) - want).abs() <= 1e-12 * (1.0 + want.abs()),
                    "{a} at {u}"
                );
            }
        }
    }

    #[test]
    fn kl_direction_averages() {
        let d = kl_direction(
            array![1.0, 2.0].view(),
            array![0.5, -0.5].view(),
            2.0,
            |y| y,
        );
        assert_eq!(d.k, 0.0);
        assert_eq!(d.alpha, 0.5 + (0.5 - 1.0) / 2.0);
        let e = kl_direction(
            ndarray::Array1::<f64>::zeros(0).view(),
            ndarray::Array1::<f64>::zeros(0).view(),
            1.0,
            |y| y,
        );
        assert_eq!((e.alpha, e.k), (0.0, 0.0));
    }

    #[test]
    fn activation_convention() {
        let m = MomentMatching::with_defaults().unwrap();
        for a in ipbn_math::ALL_ACTIVATIONS {
            assert!(accepts_activation(&m, a));
        }
        let t = InfomaxTanh;
        assert!(check_activation(&t, Activation::Tanh).is_ok());
        assert_eq!(
            check_activation(&t, Activation::Sigmoid)
                .unwrap_err()
                .to_string(),
            "rule `infomax-tanh` needs activation `tanh`, but the layer uses `sigmoid`"
        );
    }

    /// The template's four forms, each beside the file it must render to.
    fn golden() -> Vec<(crate::template::NewRule, &'static str, &'static str)> {
        use crate::template::{NewRule, TemplateKind};
        let forms = [
            ("template-kl-sigmoid", TemplateKind::Kl, Activation::Sigmoid),
            (
                "template-kl-softplus",
                TemplateKind::Kl,
                Activation::Softplus,
            ),
            ("template-kl-tanh", TemplateKind::Kl, Activation::Tanh),
            (
                "template-other-sigmoid",
                TemplateKind::Other,
                Activation::Sigmoid,
            ),
        ];
        let files = [
            include_str!("template_golden/template_kl_sigmoid.rs"),
            include_str!("template_golden/template_kl_softplus.rs"),
            include_str!("template_golden/template_kl_tanh.rs"),
            include_str!("template_golden/template_other_sigmoid.rs"),
        ];
        forms
            .into_iter()
            .zip(files)
            .map(|((id, kind, act), text)| {
                let r = NewRule::new(id, kind, act).unwrap();
                let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/rules/template_golden/");
                (r, path, text)
            })
            .collect()
    }

    #[test]
    fn the_template_renders_the_compiled_files() {
        for (rule, dir, text) in golden() {
            let source = rule.source();
            if std::env::var_os("IPBN_BLESS").is_some() {
                std::fs::write(format!("{dir}{}", rule.file_name()), &source).unwrap();
                continue;
            }
            assert_eq!(
                source, text,
                "{}: run with IPBN_BLESS=1 to rewrite",
                rule.id
            );
        }
    }

    #[test]
    fn every_claim_of_its_kind_holds_on_the_template_as_generated() {
        use crate::registry::RuleDef;
        let defs = [
            RuleDef::of::<template_kl_sigmoid::TemplateKlSigmoid>(),
            RuleDef::of::<template_kl_softplus::TemplateKlSoftplus>(),
            RuleDef::of::<template_kl_tanh::TemplateKlTanh>(),
            RuleDef::of::<template_other_sigmoid::TemplateOtherSigmoid>(),
        ];
        for def in defs {
            let rows = crate::claims::check_rule(&def, 64, 3).unwrap();
            let want = if def.id.contains("-kl-") { 3 } else { 0 };
            assert_eq!(rows.len(), want, "{}", def.id);
            for r in rows {
                assert!(r.holds, "{} on {}: {}", r.id, def.id, r.detail);
            }
        }
        // The homeostatic template drives the mean output to m*.
        let r = template_other_sigmoid::TemplateOtherSigmoid::with_defaults().unwrap();
        let x = ndarray::array![0.5, -1.0, 2.0];
        let (mut alpha, mut k) = (1.0, 0.0);
        for _ in 0..2000 {
            let y = x.mapv(|v| Activation::Sigmoid.f(alpha * v + k));
            let d = crate::Rule::direction(&r, x.view(), y.view(), alpha, k);
            alpha += 0.5 * d.alpha;
            k += 0.5 * d.k;
        }
        let mean = x
            .mapv(|v| Activation::Sigmoid.f(alpha * v + k))
            .mean()
            .unwrap();
        assert!((mean - 0.2).abs() < 1e-9, "{mean}");
    }

    #[test]
    fn registering_adds_one_line_and_refuses_taken_names() {
        use crate::template::{NewRule, TemplateKind};
        let mod_rs = include_str!("mod.rs");
        let r = NewRule::new("my-rule", TemplateKind::Kl, Activation::Sigmoid).unwrap();
        assert_eq!(
            (r.module.as_str(), r.type_name.as_str()),
            ("my_rule", "MyRule")
        );
        let after = r.register_in(mod_rs).unwrap();
        assert_eq!(after.lines().count(), mod_rs.lines().count() + 1);
        let before: std::collections::HashSet<&str> = mod_rs.lines().collect();
        let added: Vec<&str> = after.lines().filter(|l| !before.contains(l)).collect();
        assert_eq!(added, ["    my_rule::MyRule,"]);
        assert!(r.register_in(&after).is_err());
        let taken = NewRule::new("triesch", TemplateKind::Kl, Activation::Sigmoid).unwrap();
        assert!(taken.register_in(mod_rs).is_err());
        for bad in [
            "My-Rule", "my_rule", "-x", "x-", "9lives", "", "type", "targets",
        ] {
            assert!(
                NewRule::new(bad, TemplateKind::Kl, Activation::Sigmoid).is_err(),
                "{bad:?}"
            );
        }
        assert!(NewRule::new("ok", TemplateKind::Kl, Activation::Relu).is_err());
        assert!(NewRule::new("ok", TemplateKind::Other, Activation::Identity).is_ok());
    }
}
