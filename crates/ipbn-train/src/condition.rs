//! The normalisation condition of a network's hidden layers, as written in configs and on
//! the command line: `plain`, `bn`, `ip:RULESPEC` or `ip+affine:RULESPEC`, where RULESPEC is a
//! rule spec of the IP rule registry (e.g. `triesch`, `triesch:mu=0.2`).

use crate::error::ConfigError;
use crate::mlp::LayerKind;
use ipbn_math::Activation;
use ipbn_neurons::registry::{parse_spec, RuleSpec};
use std::fmt;
use std::str::FromStr;

/// What every hidden layer does between its weights and its activation.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Condition {
    /// `θ(W x + b)`.
    #[default]
    Plain,
    /// `θ(γ BN(W x) + β)`.
    Bn,
    /// `θ(α (W x + b) + k)`, α and k changed only by the rule.
    Ip(RuleSpec),
    /// `θ(γ (α (W x + b) + k) + β)`: IP followed by a learned affine step (the talk's unified
    /// form).
    IpAffine(RuleSpec),
}

impl Condition {
    /// The rule spec of an IP condition.
    pub fn rule_spec(&self) -> Option<&RuleSpec> {
        match self {
            Condition::Ip(s) | Condition::IpAffine(s) => Some(s),
            _ => None,
        }
    }

    /// Whether the condition uses batch statistics (and so needs batches of 2 or more).
    pub fn is_bn(&self) -> bool {
        matches!(self, Condition::Bn)
    }

    /// Checks that the rule (if any) was derived for `activation`.
    pub fn check_activation(&self, activation: Activation) -> Result<(), ConfigError> {
        if let Some(spec) = self.rule_spec() {
            if !ipbn_neurons::rules::accepts_activation(spec.rule.as_ref(), activation) {
                return Err(ConfigError::new(
                    "condition",
                    format!(
                        "rule `{}` is derived for activation `{}`, but the network uses `{activation}`; \
                         choose a rule for `{activation}` (see `ipbn rules`) or change `activation`",
                        spec.rule.id(),
                        spec.rule.activation()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The layer kind for the network builder, with intrinsic learning rate `ip_lr`.
    pub fn layer_kind(&self, ip_lr: f64) -> LayerKind {
        match self {
            Condition::Plain => LayerKind::Plain,
            Condition::Bn => LayerKind::Bn,
            Condition::Ip(s) | Condition::IpAffine(s) => LayerKind::Ip {
                rule: s.rule.clone(),
                step: s.step,
                eta: ip_lr,
                affine: matches!(self, Condition::IpAffine(_)),
            },
        }
    }

    /// A short file-name-safe form, e.g. `ip+affine:triesch:mu=0.1` → `ip-affine-triesch-mu0.1`.
    pub fn slug(&self) -> String {
        let mut out = String::new();
        for c in self.to_string().chars() {
            match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '.' => out.push(c),
                '=' => {}
                _ => {
                    if !out.ends_with('-') {
                        out.push('-');
                    }
                }
            }
        }
        out.trim_matches('-').to_string()
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Plain => f.write_str("plain"),
            Condition::Bn => f.write_str("bn"),
            Condition::Ip(s) => write!(f, "ip:{s}"),
            Condition::IpAffine(s) => write!(f, "ip+affine:{s}"),
        }
    }
}

impl FromStr for Condition {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let rule = |spec: &str| {
            parse_spec(spec).map_err(|e| ConfigError::new("condition", format!("`{t}`: {e}")))
        };
        if t.eq_ignore_ascii_case("plain") {
            Ok(Condition::Plain)
        } else if t.eq_ignore_ascii_case("bn") {
            Ok(Condition::Bn)
        } else if let Some(spec) = t.strip_prefix("ip+affine:") {
            Ok(Condition::IpAffine(rule(spec)?))
        } else if let Some(spec) = t.strip_prefix("ip:") {
            Ok(Condition::Ip(rule(spec)?))
        } else {
            Err(ConfigError::new(
                "condition",
                format!(
                    "unknown condition `{t}`; expected `plain`, `bn`, `ip:RULE` or \
                     `ip+affine:RULE` (e.g. `ip:triesch`, `ip+affine:infomax-logistic`)"
                ),
            ))
        }
    }
}

impl TryFrom<String> for Condition {
    type Error = ConfigError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Condition> for String {
    fn from(c: Condition) -> String {
        c.to_string()
    }
}
