//! The intrinsic-plasticity rules, one per file, and the machinery they share.
//!
//! | id | activation | target | file |
//! |---|---|---|---|
//! | `infomax-tanh` | tanh | uniform on (−1, 1) | [`infomax_tanh`] |
//! | `infomax-logistic` | sigmoid | uniform on (0, 1) | [`infomax_logistic`] |
//! | `triesch` | sigmoid | exponential, mean μ | [`triesch`] |
//! | `schrauwen` | tanh | Gaussian N(μ, σ²) | [`schrauwen`] |
//! | `moment` | any | BN's gain and bias (moment matching) | [`moment`] |
//!
//! Every KL-type rule (models.md §2) is gradient ascent on
//! `G(α, k) = log α + log θ′(u) + log p*(θ(u))` with `u = α x + k`, so its direction is
//!
//! ```text
//! Δk = E[h(y)],        h(y) = θ″/θ′(u) + ψ(y) θ′(u),   ψ = d log p*/dy
//! Δα = 1/α + E[x h(y)]
//! ```
//!
//! A KL rule file therefore only writes its per-sample term `h(y)` and hands it to
//! [`kl_direction`], which does the single pass over the batch. Parameters are declared once
//! per rule as a table of [`ParamDef`]s; validation, listings and the spec-string parser in
//! [`crate::registry`] all read that table.
//!
//! # Activation convention for rules that are not KL gradients
//!
//! A rule of kind [`RuleKind::Other`] that reports [`Activation::Identity`] depends on the net
//! input `x` alone and accepts every activation (the moment-matching rule is one). Use
//! [`accepts_activation`] (or [`check_activation`]) rather than comparing activations by hand.

pub mod infomax_logistic;
pub mod infomax_tanh;
pub mod moment;
pub(crate) mod quadrature;
pub mod schrauwen;
pub mod targets;
pub mod triesch;

pub use infomax_logistic::InfomaxLogistic;
pub use infomax_tanh::InfomaxTanh;
pub use moment::MomentMatching;
pub use schrauwen::Schrauwen;
pub use targets::{Exponential, Gaussian, Uniform};
pub use triesch::Triesch;

use crate::{Delta, IpRule, NeuronError, ParamInfo, Result, RuleKind};
use ipbn_math::Activation;
use ndarray::ArrayView1;

/// One end of a parameter's valid interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    /// No bound on this side (the value must still be finite).
    Unbounded,
    /// The end itself is excluded.
    Open(f64),
    /// The end itself is allowed.
    Closed(f64),
}

/// The declaration of one rule parameter: key, default, valid interval and meaning.
///
/// Every rule lists its parameters once as a `&'static [ParamDef]`
/// ([`RegisteredRule::PARAMS`]); constructors validate with [`ParamDef::check`], listings use
/// [`ParamDef::info`], and the claims draw random valid values from [`ParamDef::typical`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParamDef {
    /// Key as written in a spec string (`mu`, `sigma`, ...).
    pub name: &'static str,
    /// Default value.
    pub default: f64,
    /// Lower end of the valid interval.
    pub lower: Bound,
    /// Upper end of the valid interval.
    pub upper: Bound,
    /// What the parameter means.
    pub doc: &'static str,
    /// A well-conditioned part of the valid interval that property tests draw from.
    pub typical: (f64, f64),
    /// Whether property tests should draw log-uniformly from `typical` (both ends > 0).
    pub log_scale: bool,
}

impl ParamDef {
    /// The valid interval as text, e.g. `(0, inf)`, `(0, 1]`, `(-inf, inf)`.
    pub fn range_text(&self) -> String {
        let lo = match self.lower {
            Bound::Unbounded => String::from("(-inf"),
            Bound::Open(v) => format!("({}", fmt_num(v)),
            Bound::Closed(v) => format!("[{}", fmt_num(v)),
        };
        let hi = match self.upper {
            Bound::Unbounded => String::from("inf)"),
            Bound::Open(v) => format!("{})", fmt_num(v)),
            Bound::Closed(v) => format!("{}]", fmt_num(v)),
        };
        format!("{lo}, {hi}")
    }

    /// Whether `value` is finite and inside the valid interval.
    pub fn contains(&self, value: f64) -> bool {
        if !value.is_finite() {
            return false;
        }
        let lo_ok = match self.lower {
            Bound::Unbounded => true,
            Bound::Open(v) => value > v,
            Bound::Closed(v) => value >= v,
        };
        let hi_ok = match self.upper {
            Bound::Unbounded => true,
            Bound::Open(v) => value < v,
            Bound::Closed(v) => value <= v,
        };
        lo_ok && hi_ok
    }

    /// Returns `value` if it is valid, else [`NeuronError::ParamOutOfRange`] naming the rule,
    /// the key and the accepted interval.
    pub fn check(&self, rule: &str, value: f64) -> Result<f64> {
        if self.contains(value) {
            Ok(value)
        } else {
            Err(self.out_of_range(rule, value))
        }
    }

    /// The error for an invalid `value` of this parameter.
    pub fn out_of_range(&self, rule: &str, value: f64) -> NeuronError {
        NeuronError::ParamOutOfRange {
            rule: rule.to_string(),
            param: self.name.to_string(),
            value,
            range: self.range_text(),
        }
    }

    /// The listing entry for this parameter at `value`.
    pub fn info(&self, value: f64) -> ParamInfo {
        ParamInfo {
            name: self.name.to_string(),
            value,
            default: self.default,
            range: self.range_text(),
            doc: self.doc.to_string(),
        }
    }

    /// Maps `t` in [0, 1] to a value in [`ParamDef::typical`] (log-uniformly when
    /// [`ParamDef::log_scale`]); used by property tests to draw valid parameters.
    pub fn typical_at(&self, t: f64) -> f64 {
        let (a, b) = self.typical;
        let t = t.clamp(0.0, 1.0);
        if self.log_scale && a > 0.0 && b > 0.0 {
            (a.ln() + t * (b.ln() - a.ln())).exp()
        } else {
            a + t * (b - a)
        }
    }
}

/// Formats a number for spec strings and range texts: the shortest text that parses back to
/// the same `f64`, without a trailing `.0` (`1`, `0.1`, `1e-5`).
pub fn fmt_num(v: f64) -> String {
    if v.is_infinite() {
        return String::from(if v > 0.0 { "inf" } else { "-inf" });
    }
    let s = format!("{v:?}");
    match s.strip_suffix(".0") {
        Some(t) => t.to_string(),
        None => s,
    }
}

/// The parameter listing of a rule: `defs` paired with the values in force (same order).
pub fn param_infos(defs: &[ParamDef], values: &[f64]) -> Vec<ParamInfo> {
    defs.iter().zip(values).map(|(d, &v)| d.info(v)).collect()
}

/// A rule the registry can build from a list of parameter values.
///
/// Implementing this (plus [`IpRule`]) and adding one line to the registry's table is all a
/// new rule needs; the spec parser, the JSON form, the listings and every applicable claim
/// then cover it.
pub trait RegisteredRule: IpRule + Sized + 'static {
    /// Registry id, e.g. `triesch`; must equal [`IpRule::id`].
    const ID: &'static str;
    /// The rule's parameters in a fixed order (empty for a rule without parameters). The keys
    /// must not be `rule`, `opt`, `beta1`, `beta2` or `adam_eps`, which the spec reserves.
    const PARAMS: &'static [ParamDef];
    /// Builds the rule from one value per entry of [`RegisteredRule::PARAMS`], in that order,
    /// validating each.
    fn from_values(values: &[f64]) -> Result<Self>;
}

/// Reads the `i`-th value for a [`RegisteredRule::from_values`] implementation, falling back
/// to the parameter's default when fewer values are given.
pub(crate) fn value_or_default(defs: &[ParamDef], values: &[f64], i: usize) -> f64 {
    values.get(i).copied().unwrap_or(defs[i].default)
}

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

/// Generates the in-file tests every rule shares: `Send + Sync + Clone`, the parameter table
/// agrees with `params()`, reserved keys are not used, and `from_values` with the defaults
/// gives the `Default` rule.
#[cfg(test)]
macro_rules! rule_common_tests {
    ($ty:ty) => {
        #[test]
        fn is_send_sync_clone() {
            fn check<T: Send + Sync + Clone + 'static>() {}
            check::<$ty>();
        }

        #[test]
        fn table_matches_params() {
            use $crate::rules::RegisteredRule;
            use $crate::IpRule;
            let r = <$ty>::default();
            assert_eq!(r.id(), <$ty as RegisteredRule>::ID);
            let infos = r.params();
            let defs = <$ty as RegisteredRule>::PARAMS;
            assert_eq!(infos.len(), defs.len());
            for (i, d) in infos.iter().zip(defs) {
                assert_eq!(i.name, d.name);
                assert_eq!(i.value, d.default);
                assert!(d.contains(d.default), "default of {} is invalid", d.name);
                assert!(d.contains(d.typical.0) && d.contains(d.typical.1));
                assert!(!["rule", "opt", "beta1", "beta2", "adam_eps"].contains(&d.name));
            }
            let defaults: Vec<f64> = defs.iter().map(|d| d.default).collect();
            let built = <$ty as RegisteredRule>::from_values(&defaults).unwrap();
            assert_eq!(format!("{built:?}"), format!("{r:?}"));
        }
    };
}
#[cfg(test)]
pub(crate) use rule_common_tests;

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
    fn range_texts_and_checks() {
        let d = ParamDef {
            name: "rho",
            default: 1.0,
            lower: Bound::Open(0.0),
            upper: Bound::Closed(1.0),
            doc: "",
            typical: (0.1, 1.0),
            log_scale: false,
        };
        assert_eq!(d.range_text(), "(0, 1]");
        assert!(d.contains(1.0) && !d.contains(0.0) && !d.contains(f64::NAN));
        assert_eq!(
            d.check("moment", 0.0).unwrap_err().to_string(),
            "rule `moment`: parameter `rho` = 0 is out of range; accepted: (0, 1]"
        );
        assert_eq!(fmt_num(1e-5), "1e-5");
        assert_eq!(fmt_num(0.1), "0.1");
        assert_eq!(fmt_num(3.0), "3");
        assert_eq!(fmt_num(f64::INFINITY), "inf");
        assert_eq!(d.typical_at(0.5), 0.55);
    }

    #[test]
    fn activation_convention() {
        let m = MomentMatching::default();
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
}
