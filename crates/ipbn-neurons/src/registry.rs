//! The registry of IP rules: [`Registry`] values, the process's active registry, spec strings
//! and their JSON form.
//!
//! The built-in rules are listed once, one line each, in [`rules::BUILTIN`]; a rule from
//! another crate joins with [`register`]. Everything else (the spec parser, JSON, listings,
//! [`default_rules`], the claims, configs, sweeps and figures) reads the active registry.
//!
//! # Spec strings
//!
//! `NAME[:key=value,...]`, for example `triesch:mu=0.1`, `schrauwen:mu=0,sigma=0.5` or
//! `infomax-logistic:opt=adam`. Keys other than the common ones below are the rule's own
//! parameters (see `ipbn rules`); omitted keys take their defaults. Common keys:
//!
//! | key | meaning | valid | default |
//! |---|---|---|---|
//! | `opt` | how the direction is stepped: `sgd` or `adam` | `sgd`, `adam` | `sgd` |
//! | `beta1` | Adam's first-moment decay (with `opt=adam`) | [0, 1) | 0.9 |
//! | `beta2` | Adam's second-moment decay (with `opt=adam`) | [0, 1) | 0.999 |
//! | `adam_eps` | Adam's denominator guard (with `opt=adam`) | (0, ∞) | 1e-8 |
//!
//! [`RuleSpec`]'s `Display` prints the canonical, fully resolved form (every parameter and the
//! step written out), which parses back to the same spec.
//!
//! # JSON
//!
//! A spec serialises as an object, `{"rule":"triesch","mu":0.1,"opt":"adam","beta1":0.9,
//! "beta2":0.999,"adam_eps":1e-8}`, and deserialises from such an object (missing keys take
//! their defaults) or from a spec string.

use crate::rules::{self, fmt_num, Bound, ParamDef};
use crate::{IpRule, NeuronError, ParamInfo, Result, Rule, RuleKind, StepKind};
use ipbn_math::Activation;
use serde::de::{Error as _, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, OnceLock, RwLock};

/// One row of a registry: how to build a rule from parameter values.
#[derive(Clone, Copy)]
pub struct RuleDef {
    /// Registry id.
    pub id: &'static str,
    /// The rule's parameters, in the order `build` takes them.
    pub params: &'static [ParamDef],
    /// Builds the rule from one value per parameter (validated).
    pub build: fn(&[f64]) -> Result<Arc<dyn IpRule>>,
}

impl RuleDef {
    /// The row for a [`Rule`].
    pub const fn of<R: Rule>() -> RuleDef {
        RuleDef {
            id: R::ID,
            params: R::PARAMS,
            build: build_arc::<R>,
        }
    }

    /// The parameters' default values, in order.
    pub fn defaults(&self) -> Vec<f64> {
        self.params.iter().map(|p| p.default).collect()
    }

    /// The rule with default parameters.
    pub fn build_default(&self) -> Result<Arc<dyn IpRule>> {
        (self.build)(&self.defaults())
    }

    /// The rule with the parameters drawn from their typical ranges at positions `t`
    /// (each in [0, 1], one per parameter; missing positions take the default).
    pub fn build_typical(&self, t: &[f64]) -> Result<Arc<dyn IpRule>> {
        let values: Vec<f64> = self
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| t.get(i).map_or(p.default, |&ti| p.typical_at(ti)))
            .collect();
        (self.build)(&values)
    }

    /// Checks what a registry requires of a row: an id of lower-case letters, digits and
    /// single `-` (not at either end); parameter keys that are unique, not reserved by the
    /// spec syntax and made of lower-case letters, digits and `_`; defaults and typical
    /// ranges inside the valid intervals; and a rule that builds at its defaults, reports
    /// this id and lists the declared parameters.
    ///
    /// # Errors
    /// [`NeuronError::BadRule`] naming the rule and what is wrong.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| NeuronError::BadRule {
            rule: shown(self.id),
            reason,
        };
        if !is_valid_id(self.id) {
            return Err(bad(String::from(
                "the id must be lower-case letters and digits, words joined by single `-`",
            )));
        }
        for (i, p) in self.params.iter().enumerate() {
            let key_ok = !p.name.is_empty()
                && p.name.starts_with(|c: char| c.is_ascii_lowercase())
                && p.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !key_ok || p.name == "rule" || COMMON_KEYS.contains(&p.name) {
                return Err(bad(format!(
                    "parameter key `{}` is reserved or malformed; use lower-case letters, digits and `_`, not rule, {}",
                    shown(p.name),
                    COMMON_KEYS.join(", ")
                )));
            }
            if self.params[..i].iter().any(|q| q.name == p.name) {
                return Err(bad(format!("parameter `{}` is declared twice", p.name)));
            }
            for (what, v) in [
                ("default", p.default),
                ("typical lower end", p.typical.0),
                ("typical upper end", p.typical.1),
            ] {
                if !p.contains(v) {
                    return Err(bad(format!(
                        "the {what} of `{}` ({}) is outside its valid range {}",
                        p.name,
                        fmt_num(v),
                        p.range_text()
                    )));
                }
            }
        }
        let rule = self
            .build_default()
            .map_err(|e| bad(format!("it does not build at its defaults: {e}")))?;
        if rule.id() != self.id {
            return Err(bad(format!("the built rule reports id `{}`", rule.id())));
        }
        let names: Vec<String> = rule.params().into_iter().map(|p| p.name).collect();
        if names
            .iter()
            .map(String::as_str)
            .ne(self.params.iter().map(|p| p.name))
        {
            return Err(bad(String::from(
                "the built rule's params() do not list the declared PARAMS in order",
            )));
        }
        Ok(())
    }
}

/// Whether `id` can name a rule: lower-case words of letters and digits joined by single `-`,
/// starting with a letter.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.split('-').all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && id.starts_with(|c: char| c.is_ascii_lowercase())
}

impl fmt::Debug for RuleDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleDef").field("id", &self.id).finish()
    }
}

fn build_arc<R: Rule>(values: &[f64]) -> Result<Arc<dyn IpRule>> {
    Ok(Arc::new(R::from_values(values)?))
}

/// A set of rules that spec strings can name: the built-in rules plus any a caller adds.
///
/// The process has one *active* registry ([`active`]), which spec parsing, JSON configs, the
/// trainer, sweeps, figures, the claims and the `ipbn` commands read; it starts as
/// [`Registry::builtin`], and [`register`] adds a rule from another crate to it. A
/// `Registry` value can also be used on its own ([`Registry::parse_spec`]).
///
/// ```
/// use ipbn_neurons::registry::Registry;
/// use ipbn_neurons::rules::Triesch;
///
/// let mut reg = Registry::new();
/// reg.add::<Triesch>()?;
/// assert_eq!(reg.ids(), ["triesch"]);
/// assert!(reg.add::<Triesch>().is_err()); // ids are unique
/// assert!(reg.parse_spec("moment").is_err());
/// # Ok::<(), ipbn_neurons::NeuronError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Registry {
    defs: Vec<RuleDef>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// The built-in rules ([`rules::BUILTIN`]), in listing order.
    pub fn builtin() -> Registry {
        Registry {
            defs: rules::BUILTIN.to_vec(),
        }
    }

    /// Adds rule `R` after the rules already listed.
    ///
    /// # Errors
    /// [`NeuronError::BadRule`] when the id is taken or the rule fails
    /// [`RuleDef::validate`].
    pub fn add<R: Rule>(&mut self) -> Result<&mut Registry> {
        self.add_def(RuleDef::of::<R>())
    }

    /// Adds a table row (see [`Registry::add`]).
    ///
    /// # Errors
    /// As [`Registry::add`].
    pub fn add_def(&mut self, def: RuleDef) -> Result<&mut Registry> {
        if self.find(def.id).is_some() {
            return Err(NeuronError::BadRule {
                rule: shown(def.id),
                reason: String::from("a rule with this id is already registered"),
            });
        }
        def.validate()?;
        self.defs.push(def);
        Ok(self)
    }

    /// The rows, in listing order.
    pub fn defs(&self) -> &[RuleDef] {
        &self.defs
    }

    /// The row for `id`, if registered.
    pub fn find(&self, id: &str) -> Option<&RuleDef> {
        self.defs.iter().find(|d| d.id == id)
    }

    /// Every id, in listing order.
    pub fn ids(&self) -> Vec<&'static str> {
        self.defs.iter().map(|d| d.id).collect()
    }

    /// Every rule with default parameters, in listing order.
    pub fn default_rules(&self) -> Vec<Arc<dyn IpRule>> {
        self.defs
            .iter()
            .filter_map(|d| d.build_default().ok())
            .collect()
    }

    /// Every rule with its metadata, in listing order.
    pub fn entries(&self) -> Vec<RuleEntry> {
        self.defs
            .iter()
            .filter_map(|d| {
                let r = d.build_default().ok()?;
                Some(RuleEntry {
                    id: d.id,
                    activation: r.activation(),
                    kind: r.kind(),
                    target: r.target_description(),
                    params: r.params(),
                    source: r.source(),
                    def: *d,
                })
            })
            .collect()
    }
}

fn active_lock() -> &'static RwLock<Registry> {
    static ACTIVE: OnceLock<RwLock<Registry>> = OnceLock::new();
    ACTIVE.get_or_init(|| RwLock::new(Registry::builtin()))
}

/// A copy of the process's active registry: the built-in rules plus any added with
/// [`register`] or set with [`install`].
pub fn active() -> Registry {
    match active_lock().read() {
        Ok(r) => r.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

/// Adds rule `R` to the process's active registry, so that spec strings, configs, sweeps,
/// figures and the claims can name it. Call it before parsing any spec that names the rule.
///
/// # Errors
/// As [`Registry::add`].
pub fn register<R: Rule>() -> Result<()> {
    let mut guard = match active_lock().write() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    guard.add::<R>().map(|_| ())
}

/// Replaces the process's active registry with `registry`.
pub fn install(registry: Registry) {
    let mut guard = match active_lock().write() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    *guard = registry;
}

/// Keys every spec accepts, whatever the rule.
const COMMON_KEYS: [&str; 4] = ["opt", "beta1", "beta2", "adam_eps"];

const BETA1: ParamDef = ParamDef {
    name: "beta1",
    default: 0.9,
    lower: Bound::Closed(0.0),
    upper: Bound::Open(1.0),
    doc: "Adam first-moment decay",
    typical: (0.0, 0.99),
    log_scale: false,
};
const BETA2: ParamDef = ParamDef {
    name: "beta2",
    default: 0.999,
    lower: Bound::Closed(0.0),
    upper: Bound::Open(1.0),
    doc: "Adam second-moment decay",
    typical: (0.9, 0.9999),
    log_scale: false,
};
const ADAM_EPS: ParamDef = ParamDef {
    name: "adam_eps",
    default: 1e-8,
    lower: Bound::Open(0.0),
    upper: Bound::Unbounded,
    doc: "Adam denominator guard",
    typical: (1e-10, 1e-6),
    log_scale: true,
};

/// A rule and metadata about it, as listed by `ipbn rules`.
#[derive(Clone, Debug)]
pub struct RuleEntry {
    /// Registry id.
    pub id: &'static str,
    /// Activation the rule is derived for ([`Activation::Identity`] with kind
    /// [`RuleKind::Other`] means any activation; see [`rules::accepts_activation`]).
    pub activation: Activation,
    /// KL gradient rule or not.
    pub kind: RuleKind,
    /// Target distribution or fixed point, at the default parameters.
    pub target: String,
    /// Parameters at their defaults, with ranges.
    pub params: Vec<ParamInfo>,
    /// The publication.
    pub source: &'static str,
    /// The table row (to build the rule with other parameters).
    pub def: RuleDef,
}

/// Every rule of the active registry with its metadata, in listing order.
pub fn entries() -> Vec<RuleEntry> {
    active().entries()
}

/// Every rule of the active registry with default parameters, in listing order.
pub fn default_rules() -> Vec<Arc<dyn IpRule>> {
    active().default_rules()
}

/// Every id of the active registry, in listing order.
pub fn ids() -> Vec<&'static str> {
    active().ids()
}

/// The row for `id` in the active registry, if registered.
pub fn find(id: &str) -> Option<RuleDef> {
    active().find(id).copied()
}

/// A fully resolved rule choice: the rule with its parameters, and how its direction is
/// stepped. Parse one from a spec string (`"triesch:mu=0.1,opt=adam"`) with [`parse_spec`] or
/// `str::parse`; `Display` gives the canonical spec string back.
#[derive(Clone, Debug)]
pub struct RuleSpec {
    /// The rule, with its parameters.
    pub rule: Arc<dyn IpRule>,
    /// SGD or Adam.
    pub step: StepKind,
}

impl RuleSpec {
    /// A spec from a rule and a step.
    pub fn new(rule: Arc<dyn IpRule>, step: StepKind) -> Self {
        RuleSpec { rule, step }
    }

    /// The rule's registry id.
    pub fn id(&self) -> &'static str {
        self.rule.id()
    }
}

impl PartialEq for RuleSpec {
    /// Two specs are equal when their canonical strings are.
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

/// Parses a spec string `NAME[:key=value,...]` with the active registry ([`active`]).
///
/// # Errors
/// As [`Registry::parse_spec`].
pub fn parse_spec(s: &str) -> Result<RuleSpec> {
    active_lock()
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .parse_spec(s)
}

impl Registry {
    /// Parses a spec string `NAME[:key=value,...]` into a validated [`RuleSpec`] naming one
    /// of this registry's rules.
    ///
    /// # Errors
    /// [`NeuronError::UnknownRule`] for a name not in the registry (listing the known ids),
    /// [`NeuronError::UnknownKey`] for a key the rule does not take (listing the accepted keys),
    /// [`NeuronError::BadSpec`] for a malformed item, a value that is not a number, a repeated key
    /// or an Adam key without `opt=adam`, and [`NeuronError::ParamOutOfRange`] for a value outside
    /// its range. Never panics.
    pub fn parse_spec(&self, s: &str) -> Result<RuleSpec> {
        let bad = |reason: String| NeuronError::BadSpec {
            spec: shown(s),
            reason,
        };
        let (name, rest) = match s.split_once(':') {
            Some((n, r)) => (n.trim(), Some(r)),
            None => (s.trim(), None),
        };
        if name.is_empty() {
            return Err(bad(String::from(
                "the rule name is missing; write NAME[:key=value,...], e.g. `triesch:mu=0.1`",
            )));
        }
        let name_lc = name.to_ascii_lowercase();
        let def = self
            .find(&name_lc)
            .ok_or_else(|| NeuronError::UnknownRule {
                name: shown(name),
                known: self.ids().join(", "),
            })?;

        let mut values: Vec<Option<f64>> = vec![None; def.params.len()];
        let mut opt: Option<String> = None;
        let mut adam: [Option<f64>; 3] = [None; 3];
        for item in rest.into_iter().flat_map(|r| r.split(',')) {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            let Some((key, value)) = item.split_once('=') else {
                return Err(bad(format!(
                    "`{}` has no value; write each parameter as key=value, e.g. `{}:{}`",
                    shown(item),
                    def.id,
                    example_item(def)
                )));
            };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim();
            let twice = || {
                bad(format!(
                    "key `{}` is given twice; give each key once",
                    shown(&key)
                ))
            };
            if key == "opt" {
                if opt.is_some() {
                    return Err(twice());
                }
                opt = Some(value.to_ascii_lowercase());
                continue;
            }
            let slot: &mut Option<f64> =
                if let Some(i) = COMMON_KEYS[1..].iter().position(|k| *k == key) {
                    &mut adam[i]
                } else if let Some(i) = def.params.iter().position(|p| p.name == key) {
                    &mut values[i]
                } else {
                    return Err(NeuronError::UnknownKey {
                        rule: def.id.to_string(),
                        key: shown(&key),
                        accepted: accepted_keys(def),
                    });
                };
            if slot.is_some() {
                return Err(twice());
            }
            let v: f64 = value.parse().map_err(|_| {
            bad(format!(
                "the value `{}` of `{key}` is not a number; write a decimal number such as 0.1 or 1e-5",
                shown(value)
            ))
        })?;
            *slot = Some(v);
        }

        let step = match opt.as_deref() {
            None | Some("sgd") => {
                if let Some(i) = adam.iter().position(Option::is_some) {
                    return Err(bad(format!(
                        "`{}` applies only to the Adam step; add `opt=adam` or remove it",
                        COMMON_KEYS[i + 1]
                    )));
                }
                StepKind::Sgd
            }
            Some("adam") => {
                let pick = |d: &ParamDef, v: Option<f64>| d.check(def.id, v.unwrap_or(d.default));
                StepKind::Adam {
                    beta1: pick(&BETA1, adam[0])?,
                    beta2: pick(&BETA2, adam[1])?,
                    eps: pick(&ADAM_EPS, adam[2])?,
                }
            }
            Some(other) => {
                return Err(bad(format!(
                    "`opt` must be `sgd` or `adam`, got `{}`",
                    shown(other)
                )))
            }
        };

        let resolved: Vec<f64> = def
            .params
            .iter()
            .zip(&values)
            .map(|(p, v)| v.unwrap_or(p.default))
            .collect();
        for (p, &v) in def.params.iter().zip(&resolved) {
            p.check(def.id, v)?;
        }
        let rule = (def.build)(&resolved)?;
        Ok(RuleSpec { rule, step })
    }
}

/// `text` as it is quoted in an error message: control characters (a line break, a tab, ...)
/// are written as escapes, so every message stays on one line.
fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

fn accepted_keys(def: &RuleDef) -> String {
    def.params
        .iter()
        .map(|p| p.name)
        .chain(COMMON_KEYS)
        .collect::<Vec<_>>()
        .join(", ")
}

fn example_item(def: &RuleDef) -> String {
    match def.params.first() {
        Some(p) => format!("{}={}", p.name, fmt_num(p.default)),
        None => String::from("opt=adam"),
    }
}

impl FromStr for RuleSpec {
    type Err = NeuronError;
    fn from_str(s: &str) -> Result<Self> {
        parse_spec(s)
    }
}

impl fmt::Display for RuleSpec {
    /// The canonical spec: id, every parameter in table order, then the step.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.rule.id())?;
        for p in self.rule.params() {
            write!(f, "{}={},", p.name, fmt_num(p.value))?;
        }
        match self.step {
            StepKind::Sgd => f.write_str("opt=sgd"),
            StepKind::Adam { beta1, beta2, eps } => write!(
                f,
                "opt=adam,beta1={},beta2={},adam_eps={}",
                fmt_num(beta1),
                fmt_num(beta2),
                fmt_num(eps)
            ),
        }
    }
}

impl Serialize for RuleSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let params = self.rule.params();
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("rule", self.rule.id())?;
        for p in &params {
            map.serialize_entry(&p.name, &p.value)?;
        }
        match self.step {
            StepKind::Sgd => map.serialize_entry("opt", "sgd")?,
            StepKind::Adam { beta1, beta2, eps } => {
                map.serialize_entry("opt", "adam")?;
                map.serialize_entry("beta1", &beta1)?;
                map.serialize_entry("beta2", &beta2)?;
                map.serialize_entry("adam_eps", &eps)?;
            }
        }
        map.end()
    }
}

/// Reads a spec from either of its JSON shapes: a spec string or an object. A visitor (rather
/// than an untagged enum) lets the deserializer's own errors through, so a syntax error keeps
/// its position and a wrong type says which type was found.
struct SpecVisitor;

impl<'de> Visitor<'de> for SpecVisitor {
    type Value = RuleSpec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "an IP rule spec: a string like \"triesch:mu=0.1\" or an object like {\"rule\": \"triesch\", \"mu\": 0.1}",
        )
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> std::result::Result<RuleSpec, E> {
        parse_spec(text).map_err(E::custom)
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut access: A,
    ) -> std::result::Result<RuleSpec, A::Error> {
        let mut map = serde_json::Map::new();
        while let Some((key, value)) = access.next_entry::<String, serde_json::Value>()? {
            map.insert(key, value);
        }
        let text = object_to_spec(&map).map_err(A::Error::custom)?;
        parse_spec(&text).map_err(A::Error::custom)
    }
}

impl<'de> Deserialize<'de> for RuleSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_any(SpecVisitor)
    }
}

/// Turns a JSON object `{"rule": NAME, key: value, ...}` into a spec string.
fn object_to_spec(
    map: &serde_json::Map<String, serde_json::Value>,
) -> std::result::Result<String, String> {
    let name = match map.get("rule") {
        Some(serde_json::Value::String(s)) => s.clone(),
        _ => {
            return Err(String::from(
                "an IP rule object needs a string field \"rule\", e.g. {\"rule\": \"triesch\", \"mu\": 0.1}",
            ))
        }
    };
    if name.contains([':', ',', '=']) {
        return Err(format!(
            "the \"rule\" field `{}` must be a bare rule name; put parameters in their own fields",
            shown(&name)
        ));
    }
    let mut items = Vec::new();
    for (key, value) in map {
        if key == "rule" {
            continue;
        }
        let text = match value {
            serde_json::Value::Number(n) => match n.as_f64() {
                Some(v) => fmt_num(v),
                None => {
                    return Err(format!(
                        "field \"{}\" is not a representable number",
                        shown(key)
                    ))
                }
            },
            serde_json::Value::String(s) if !s.contains([',', '=', ':']) => s.clone(),
            _ => {
                return Err(format!(
                    "field \"{}\" must be a number (or, for \"opt\", \"sgd\" or \"adam\")",
                    shown(key)
                ))
            }
        };
        if key.contains([',', '=', ':']) {
            return Err(format!(
                "field name \"{}\" is not a parameter key",
                shown(key)
            ));
        }
        items.push(format!("{key}={text}"));
    }
    Ok(if items.is_empty() {
        name
    } else {
        format!("{name}:{}", items.join(","))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_builtin_rule_is_valid_and_listed_once() {
        let mut reg = Registry::new();
        for def in rules::BUILTIN {
            reg.add_def(*def).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(reg.ids(), Registry::builtin().ids());
        let rules = reg.default_rules();
        let entries = reg.entries();
        assert_eq!(
            (rules.len(), entries.len()),
            (reg.defs().len(), reg.defs().len())
        );
        for ((r, d), e) in rules.iter().zip(reg.defs()).zip(&entries) {
            assert_eq!((r.id(), e.id), (d.id, d.id));
            assert_eq!(e.kind == RuleKind::Kl, r.target().is_some(), "{}", d.id);
            assert_eq!(e.params.len(), d.params.len());
            // The canonical spec parses back to the same rule.
            let canon = reg.parse_spec(d.id).unwrap().to_string();
            assert_eq!(reg.parse_spec(&canon).unwrap().to_string(), canon);
        }
    }

    #[test]
    fn registry_rejects_bad_rows() {
        let mut reg = Registry::builtin();
        let first = reg.defs()[0];
        let e = reg.add_def(first).unwrap_err().to_string();
        assert!(e.contains("already registered"), "{e}");
        for (id, want) in [
            ("Bad_Id", "id must be"),
            ("-x", "id must be"),
            ("a--b", "id must be"),
        ] {
            let row = RuleDef { id, ..first };
            let e = Registry::new().add_def(row).unwrap_err().to_string();
            assert!(e.contains(want), "{id}: {e}");
        }
        static RESERVED: [ParamDef; 1] = [ParamDef::new("opt", 0.0, "")];
        let row = RuleDef {
            id: "x",
            params: &RESERVED,
            ..first
        };
        let e = Registry::new().add_def(row).unwrap_err().to_string();
        assert!(e.contains("reserved or malformed"), "{e}");
        static OUTSIDE: [ParamDef; 1] =
            [ParamDef::new("mu", 0.0, "").range(Bound::Open(0.0), Bound::Unbounded)];
        let row = RuleDef {
            id: "x",
            params: &OUTSIDE,
            ..first
        };
        let e = Registry::new().add_def(row).unwrap_err().to_string();
        assert!(e.contains("default of `mu` (0) is outside"), "{e}");
        // A row whose builder makes another rule is caught.
        let row = RuleDef {
            id: "not-it",
            ..first
        };
        let e = Registry::new().add_def(row).unwrap_err().to_string();
        assert!(e.contains("reports id"), "{e}");
    }

    #[test]
    fn a_registry_value_parses_only_its_rules() {
        let mut reg = Registry::new();
        reg.add::<rules::Triesch>().unwrap();
        assert!(reg.parse_spec("triesch:mu=0.2").is_ok());
        assert_eq!(
            reg.parse_spec("moment").unwrap_err().to_string(),
            "unknown IP rule `moment`; known rules: triesch"
        );
    }

    #[test]
    fn parses_examples() {
        let t = parse_spec("triesch:mu=0.1").unwrap();
        assert_eq!(t.to_string(), "triesch:mu=0.1,opt=sgd");
        let s: RuleSpec = "schrauwen:mu=0,sigma=0.5".parse().unwrap();
        assert_eq!(s.to_string(), "schrauwen:mu=0,sigma=0.5,opt=sgd");
        let a = parse_spec("infomax-logistic:opt=adam").unwrap();
        assert_eq!(a.step, StepKind::adam());
        assert_eq!(
            a.to_string(),
            "infomax-logistic:opt=adam,beta1=0.9,beta2=0.999,adam_eps=1e-8"
        );
        let m = parse_spec(" Moment : rho = 0.5 , eps=0 ,").unwrap();
        assert_eq!(
            m.to_string(),
            "moment:rho=0.5,scale=1,offset=0,eps=0,opt=sgd"
        );
        let b = parse_spec("infomax-tanh:beta1=0.8,opt=adam").unwrap();
        assert_eq!(
            b.step,
            StepKind::Adam {
                beta1: 0.8,
                beta2: 0.999,
                eps: 1e-8
            }
        );
        assert_eq!(
            parse_spec("triesch").unwrap().to_string(),
            "triesch:mu=0.1,opt=sgd"
        );
    }

    #[test]
    fn error_messages() {
        let msg = |s: &str| parse_spec(s).unwrap_err().to_string();
        assert_eq!(
            msg("oja"),
            format!("unknown IP rule `oja`; known rules: {}", ids().join(", "))
        );
        assert_eq!(
            msg("triesch:sigma=1"),
            "rule `triesch` has no parameter `sigma`; accepted keys: mu, opt, beta1, beta2, adam_eps"
        );
        assert_eq!(
            msg("triesch:mu"),
            "bad rule spec `triesch:mu`: `mu` has no value; write each parameter as key=value, e.g. `triesch:mu=0.1`"
        );
        assert_eq!(
            msg("triesch:mu=abc"),
            "bad rule spec `triesch:mu=abc`: the value `abc` of `mu` is not a number; write a decimal number such as 0.1 or 1e-5"
        );
        assert_eq!(
            msg("triesch:mu=0"),
            "rule `triesch`: parameter `mu` = 0 is out of range; accepted: (0, inf)"
        );
        assert_eq!(
            msg("triesch:mu=0.1,mu=0.2"),
            "bad rule spec `triesch:mu=0.1,mu=0.2`: key `mu` is given twice; give each key once"
        );
        assert_eq!(
            msg("triesch:beta1=0.5"),
            "bad rule spec `triesch:beta1=0.5`: `beta1` applies only to the Adam step; add `opt=adam` or remove it"
        );
        assert_eq!(
            msg("triesch:opt=rmsprop"),
            "bad rule spec `triesch:opt=rmsprop`: `opt` must be `sgd` or `adam`, got `rmsprop`"
        );
        assert_eq!(
            msg("triesch:opt=adam,beta2=1"),
            "rule `triesch`: parameter `beta2` = 1 is out of range; accepted: [0, 1)"
        );
        assert_eq!(
            msg(":mu=1"),
            "bad rule spec `:mu=1`: the rule name is missing; write NAME[:key=value,...], e.g. `triesch:mu=0.1`"
        );
        assert_eq!(
            msg("infomax-tanh:x"),
            "bad rule spec `infomax-tanh:x`: `x` has no value; write each parameter as key=value, e.g. `infomax-tanh:opt=adam`"
        );
        assert!(matches!(
            parse_spec("schrauwen:mu=nan"),
            Err(NeuronError::ParamOutOfRange { .. })
        ));
        assert!(matches!(
            parse_spec("schrauwen:sigma=inf"),
            Err(NeuronError::ParamOutOfRange { .. })
        ));
    }

    #[test]
    fn json_round_trip_and_forms() {
        let s = parse_spec("triesch:mu=0.25,opt=adam").unwrap();
        let j = serde_json::to_string(&s).unwrap();
        assert_eq!(
            j,
            r#"{"rule":"triesch","mu":0.25,"opt":"adam","beta1":0.9,"beta2":0.999,"adam_eps":1e-8}"#
        );
        let back: RuleSpec = serde_json::from_str(&j).unwrap();
        assert_eq!(back, s);
        let from_obj: RuleSpec =
            serde_json::from_str(r#"{"rule":"triesch","mu":0.1,"opt":"adam"}"#).unwrap();
        assert_eq!(
            from_obj.to_string(),
            "triesch:mu=0.1,opt=adam,beta1=0.9,beta2=0.999,adam_eps=1e-8"
        );
        let from_text: RuleSpec = serde_json::from_str(r#""schrauwen:sigma=0.5""#).unwrap();
        assert_eq!(from_text.to_string(), "schrauwen:mu=0,sigma=0.5,opt=sgd");
        let minimal: RuleSpec = serde_json::from_str(r#"{"rule":"moment"}"#).unwrap();
        assert_eq!(minimal.id(), "moment");
        for bad in [
            r#"{"mu":0.1}"#,
            r#"{"rule":"triesch","mu":"x=1"}"#,
            r#"{"rule":"triesch","mu":[1]}"#,
            r#"{"rule":"triesch:mu=0.1"}"#,
            r#"{"rule":"triesch","mu":0}"#,
            r#"12"#,
        ] {
            assert!(serde_json::from_str::<RuleSpec>(bad).is_err(), "{bad}");
        }
        let e = serde_json::from_str::<RuleSpec>(r#"{"rule":"triesch","mu":-1}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("parameter `mu` = -1 is out of range"), "{e}");
    }

    fn spec_strategy() -> impl Strategy<Value = String> {
        let table = active().defs().to_vec();
        let n = table.len();
        (
            0..n,
            proptest::collection::vec(0.0f64..=1.0, 4),
            any::<bool>(),
            0.0f64..0.99,
        )
            .prop_map(move |(i, t, adam, b1)| {
                let d = &table[i];
                let mut items: Vec<String> = d
                    .params
                    .iter()
                    .zip(&t)
                    .map(|(p, &ti)| format!("{}={}", p.name, p.typical_at(ti)))
                    .collect();
                if adam {
                    items.push(format!("opt=adam,beta1={b1}"));
                }
                format!("{}:{}", d.id, items.join(","))
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn random_strings_never_panic(s in "\\PC{0,40}") {
            let _ = parse_spec(&s);
        }

        #[test]
        fn spec_like_strings_never_panic(s in "[a-z\\-]{0,18}(:([a-z_0-9]{0,6}(=[-+.e0-9a-z]{0,8})?,?){0,5})?") {
            let _ = parse_spec(&s);
            let _ = serde_json::from_str::<RuleSpec>(&format!("{s:?}"));
        }

        #[test]
        fn display_round_trips(spec in spec_strategy()) {
            let parsed = parse_spec(&spec).unwrap();
            let canon = parsed.to_string();
            let again = parse_spec(&canon).unwrap();
            prop_assert_eq!(again.to_string(), canon.clone());
            let params_a: Vec<f64> = parsed.rule.params().iter().map(|p| p.value).collect();
            let params_b: Vec<f64> = again.rule.params().iter().map(|p| p.value).collect();
            prop_assert_eq!(params_a, params_b);
            // serde_json without its `float_roundtrip` feature may parse a float 1 ulp off.
            let json = serde_json::to_string(&parsed).unwrap();
            let from_json: RuleSpec = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(from_json.id(), parsed.id());
            let close = |a: f64, b: f64| (a - b).abs() <= 2.5e-16 * b.abs();
            match (from_json.step, parsed.step) {
                (StepKind::Sgd, StepKind::Sgd) => {}
                (StepKind::Adam { beta1: a1, beta2: a2, eps: ae }, StepKind::Adam { beta1: b1, beta2: b2, eps: be }) => {
                    prop_assert!(close(a1, b1) && close(a2, b2) && close(ae, be));
                }
                (a, b) => prop_assert!(false, "step {:?} became {:?}", b, a),
            }
            for (a, b) in from_json.rule.params().iter().zip(parsed.rule.params()) {
                prop_assert!(close(a.value, b.value), "{} vs {}", a.value, b.value);
            }
        }
    }
}
