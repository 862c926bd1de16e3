//! Rule parameters, declared once: [`ParamDef`] (key, default, valid interval, meaning) and the
//! validated values a rule keeps, [`Params`].

use crate::{NeuronError, ParamInfo, Result};

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

impl ParamDef {
    /// A parameter `name` with default `default` and meaning `doc`, valid on the whole real
    /// line until [`ParamDef::range`] narrows it; property tests draw from a neighbourhood of
    /// the default until [`ParamDef::typical`] says otherwise.
    pub const fn new(name: &'static str, default: f64, doc: &'static str) -> ParamDef {
        ParamDef {
            name,
            default,
            lower: Bound::Unbounded,
            upper: Bound::Unbounded,
            doc,
            typical: (default, default),
            log_scale: false,
        }
    }

    /// The valid interval.
    pub const fn range(mut self, lower: Bound, upper: Bound) -> ParamDef {
        self.lower = lower;
        self.upper = upper;
        self
    }

    /// The well-conditioned interval `[lo, hi]` property tests draw from, log-uniformly when
    /// `log_scale` (both ends > 0).
    pub const fn typical(mut self, lo: f64, hi: f64, log_scale: bool) -> ParamDef {
        self.typical = (lo, hi);
        self.log_scale = log_scale;
        self
    }
}

/// A rule's parameter values, each checked against its [`ParamDef`]: a rule built from a
/// `Params` can only hold valid values.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    defs: &'static [ParamDef],
    values: Vec<f64>,
}

impl Params {
    /// No parameters, for a rule that takes none (`fn params(&self) -> &Params { Params::none() }`).
    pub fn none() -> &'static Params {
        static NONE: Params = Params {
            defs: &[],
            values: Vec::new(),
        };
        &NONE
    }

    /// Validates `values` (one per entry of `defs`, in order; missing trailing values take
    /// their defaults) for rule `rule`.
    ///
    /// # Errors
    /// [`NeuronError::ParamOutOfRange`] for a value outside its interval (or not finite), and
    /// [`NeuronError::BadSpec`] for more values than parameters.
    pub fn new(rule: &str, defs: &'static [ParamDef], values: &[f64]) -> Result<Params> {
        if values.len() > defs.len() {
            return Err(NeuronError::BadSpec {
                spec: rule.to_string(),
                reason: format!(
                    "{} values given for {} parameters",
                    values.len(),
                    defs.len()
                ),
            });
        }
        let values = defs
            .iter()
            .enumerate()
            .map(|(i, d)| d.check(rule, values.get(i).copied().unwrap_or(d.default)))
            .collect::<Result<Vec<f64>>>()?;
        Ok(Params { defs, values })
    }

    /// Every parameter at its default (not validated: [`Params::new`] with no values is).
    pub fn defaults(defs: &'static [ParamDef]) -> Params {
        Params {
            defs,
            values: defs.iter().map(|d| d.default).collect(),
        }
    }

    /// The value of the declared parameter `name`.
    ///
    /// # Panics
    /// If `name` is not declared in the rule's table: a programming error in the rule file,
    /// which the rule's first test (any claim, or building it) reveals.
    pub fn get(&self, name: &str) -> f64 {
        match self.try_get(name) {
            Some(v) => v,
            None => panic!("parameter `{name}` is not declared in the rule's PARAMS"),
        }
    }

    /// The value of parameter `name`, if declared.
    pub fn try_get(&self, name: &str) -> Option<f64> {
        self.defs
            .iter()
            .position(|d| d.name == name)
            .map(|i| self.values[i])
    }

    /// The values, in declaration order.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The declarations.
    pub fn defs(&self) -> &'static [ParamDef] {
        self.defs
    }

    /// The listing entries (value, default, range, meaning), in declaration order.
    pub fn infos(&self) -> Vec<ParamInfo> {
        self.defs
            .iter()
            .zip(&self.values)
            .map(|(d, &v)| d.info(v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFS: &[ParamDef] = &[
        ParamDef::new("rho", 1.0, "weight")
            .range(Bound::Open(0.0), Bound::Closed(1.0))
            .typical(0.1, 1.0, false),
        ParamDef::new("c", 0.0, "offset"),
    ];

    #[test]
    fn range_texts_and_checks() {
        let d = DEFS[0];
        assert_eq!(d.range_text(), "(0, 1]");
        assert!(d.contains(1.0) && !d.contains(0.0) && !d.contains(f64::NAN));
        assert_eq!(
            d.check("moment", 0.0).unwrap_err().to_string(),
            "rule `moment`: parameter `rho` = 0 is out of range; accepted: (0, 1]"
        );
        assert_eq!(DEFS[1].range_text(), "(-inf, inf)");
        assert_eq!(fmt_num(1e-5), "1e-5");
        assert_eq!(fmt_num(0.1), "0.1");
        assert_eq!(fmt_num(3.0), "3");
        assert_eq!(fmt_num(f64::INFINITY), "inf");
        assert_eq!(d.typical_at(0.5), 0.55);
    }

    #[test]
    fn params_validate_and_fill_defaults() {
        let p = Params::new("r", DEFS, &[0.5]).unwrap();
        assert_eq!(p.values(), &[0.5, 0.0]);
        assert_eq!(
            (p.get("rho"), p.try_get("c"), p.try_get("x")),
            (0.5, Some(0.0), None)
        );
        assert_eq!(p.infos()[0].range, "(0, 1]");
        assert_eq!(Params::new("r", DEFS, &[]).unwrap(), Params::defaults(DEFS));
        assert!(matches!(
            Params::new("r", DEFS, &[2.0]),
            Err(NeuronError::ParamOutOfRange { .. })
        ));
        assert!(matches!(
            Params::new("r", DEFS, &[1.0, 0.0, 3.0]),
            Err(NeuronError::BadSpec { .. })
        ));
    }
}
