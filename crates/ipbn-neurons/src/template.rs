//! The rule template behind `ipbn rules new`: a new rule's file and its registration line.
//!
//! [`NewRule::source`] is a complete, valid rule on which every claim of its kind holds as
//! generated (a test compiles the generated files and runs the claims on them), with the doc
//! sections every rule file carries. The author then edits the equations, the target, the
//! parameters and the reference.
//!
//! * `--kind kl` (the default): a unit with the chosen activation whose output density is
//!   driven towards a Gaussian N(μ, σ²), with the per-sample term derived from the activation
//!   and the target ([`crate::Rule::h`]'s default).
//! * `--kind other`: firing-rate homeostasis of the bias alone, `Δk = m* − E[y]`, `Δα = 0`,
//!   a rule that is not a KL gradient and writes its own [`crate::Rule::direction`].

use crate::registry::is_valid_id;
use crate::{NeuronError, Result};
use ipbn_math::Activation;

/// Which template to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemplateKind {
    /// A KL rule (gradient ascent towards a target density).
    Kl,
    /// A rule with its own direction.
    Other,
}

/// A rule to be written from the template: its id, module, type and choices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRule {
    /// Registry id, e.g. `my-rule`.
    pub id: String,
    /// Module (and file stem) name, e.g. `my_rule`.
    pub module: String,
    /// Type name, e.g. `MyRule`.
    pub type_name: String,
    /// Template.
    pub kind: TemplateKind,
    /// Activation the rule is written for.
    pub activation: Activation,
}

/// Rust keywords, which cannot name a module.
const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut",
    "pub", "ref", "return", "self", "static", "struct", "super", "trait", "true", "try", "type",
    "unsafe", "use", "where", "while", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield",
];

/// The opening of the built-in list in `rules/mod.rs`.
const LIST_OPEN: &str = "builtin_rules! {";

impl NewRule {
    /// Checks the name and the choices.
    ///
    /// # Errors
    /// [`NeuronError::BadRule`] for an id that is not lower-case words joined by `-`, that
    /// maps to a Rust keyword or to a module the rules folder reserves, or for an activation
    /// the template cannot serve (KL: sigmoid, tanh or softplus; other: those or identity).
    pub fn new(id: &str, kind: TemplateKind, activation: Activation) -> Result<NewRule> {
        let bad = |reason: String| NeuronError::BadRule {
            rule: id.chars().filter(|c| !c.is_control()).collect(),
            reason,
        };
        if !is_valid_id(id) {
            return Err(bad(String::from(
                "a rule name is lower-case letters and digits, words joined by single `-`, starting with a letter, e.g. `my-rule`",
            )));
        }
        let module = id.replace('-', "_");
        if KEYWORDS.contains(&module.as_str())
            || ["mod", "params", "targets"].contains(&module.as_str())
        {
            return Err(bad(format!(
                "`{module}` cannot name a rule module; choose another name"
            )));
        }
        let allowed = match kind {
            TemplateKind::Kl => matches!(
                activation,
                Activation::Sigmoid | Activation::Tanh | Activation::Softplus
            ),
            TemplateKind::Other => activation != Activation::Relu,
        };
        if !allowed {
            return Err(bad(format!(
                "the {} template has no {} form; use --activation sigmoid, tanh or softplus{}",
                match kind {
                    TemplateKind::Kl => "kl",
                    TemplateKind::Other => "other",
                },
                activation.name(),
                match kind {
                    TemplateKind::Kl => "",
                    TemplateKind::Other => " (or identity for any activation)",
                }
            )));
        }
        let type_name = id
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                match c.next() {
                    Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                    None => String::new(),
                }
            })
            .collect();
        Ok(NewRule {
            id: id.to_string(),
            module,
            type_name,
            kind,
            activation,
        })
    }

    /// The rule file's name inside `crates/ipbn-neurons/src/rules/`.
    pub fn file_name(&self) -> String {
        format!("{}.rs", self.module)
    }

    /// The line that registers the rule in the built-in list.
    pub fn registration_line(&self) -> String {
        format!("    {}::{},", self.module, self.type_name)
    }

    /// `mod_rs` (the text of `rules/mod.rs`) with the registration line added as the last
    /// entry of the built-in list.
    ///
    /// # Errors
    /// [`NeuronError::BadRule`] when the list is not found or already names the module or
    /// the type.
    pub fn register_in(&self, mod_rs: &str) -> Result<String> {
        let bad = |reason: String| NeuronError::BadRule {
            rule: self.id.clone(),
            reason,
        };
        let open = mod_rs.find(LIST_OPEN).ok_or_else(|| {
            bad(format!(
                "`{LIST_OPEN}` was not found in rules/mod.rs; is this an ipbn checkout?"
            ))
        })?;
        let body_start = open + LIST_OPEN.len();
        let close = mod_rs[body_start..]
            .find("\n}")
            .map(|i| body_start + i + 1)
            .ok_or_else(|| {
                bad(String::from(
                    "the built-in list in rules/mod.rs is not closed",
                ))
            })?;
        let body = &mod_rs[body_start..close];
        for line in body.lines() {
            let entry = line.trim().trim_end_matches(',');
            if let Some((m, t)) = entry.split_once("::") {
                if m == self.module || t == self.type_name {
                    return Err(bad(format!(
                        "the built-in list already has `{entry}`; choose another name"
                    )));
                }
            }
        }
        Ok(format!(
            "{}{}\n{}",
            &mod_rs[..close],
            self.registration_line(),
            &mod_rs[close..]
        ))
    }

    /// What the author edits next, as printed by `ipbn rules new`.
    pub fn next_steps(&self, path: &str) -> String {
        let what = match self.kind {
            TemplateKind::Kl => {
                "the target density in `build` and `objective` (any `TargetDensity`; write your own in the file), optionally a closed-form `h`"
            }
            TemplateKind::Other => "the equations in `direction`",
        };
        format!(
            "wrote {path} and registered `{id}` in crates/ipbn-neurons/src/rules/mod.rs\n\
             next:\n  1. edit {path}: the summary, {what}, the parameters (PARAMS), SOURCE and the doc sections\n  \
             2. cargo build --release && ipbn rules --show {id}\n  \
             3. ipbn claims --only {id} --cases 1000   (every claim of the rule's kind)\n  \
             4. ipbn train --condition ip:{id} --steps 50",
            id = self.id
        )
    }

    /// The rule file.
    pub fn source(&self) -> String {
        let act = self.activation;
        let variant = format!("{act:?}");
        let text = match self.kind {
            TemplateKind::Kl => {
                let (mu, mu_lo, mu_hi, sigma) = match act {
                    Activation::Sigmoid => ("0.3", "0.1", "0.9", "0.2"),
                    Activation::Tanh => ("0.0", "-0.8", "0.8", "0.4"),
                    _ => ("1.0", "0.2", "3.0", "0.5"),
                };
                KL_TEMPLATE
                    .replace("{MU_LO}", mu_lo)
                    .replace("{MU_HI}", mu_hi)
                    .replace("{MU}", mu)
                    .replace("{SIGMA}", sigma)
            }
            TemplateKind::Other => {
                let (mean, lo, hi, lo_doc, hi_doc, t_lo, t_hi) = match act {
                    Activation::Sigmoid => (
                        "0.2",
                        "Bound::Open(0.0)",
                        "Bound::Open(1.0)",
                        "(0",
                        "1)",
                        "0.05",
                        "0.9",
                    ),
                    Activation::Tanh => (
                        "0.0",
                        "Bound::Open(-1.0)",
                        "Bound::Open(1.0)",
                        "(-1",
                        "1)",
                        "-0.8",
                        "0.8",
                    ),
                    Activation::Softplus => (
                        "0.5",
                        "Bound::Open(0.0)",
                        "Bound::Unbounded",
                        "(0",
                        "inf)",
                        "0.1",
                        "3.0",
                    ),
                    _ => (
                        "0.0",
                        "Bound::Unbounded",
                        "Bound::Unbounded",
                        "(-inf",
                        "inf)",
                        "-1.0",
                        "1.0",
                    ),
                };
                OTHER_TEMPLATE
                    .replace("{MEAN}", mean)
                    .replace("{LO}", lo)
                    .replace("{HI}", hi)
                    .replace("{LO_DOC}", lo_doc)
                    .replace("{HI_DOC}", hi_doc)
                    .replace("{T_LO}", t_lo)
                    .replace("{T_HI}", t_hi)
            }
        };
        text.replace("{ID}", &self.id)
            .replace("{TYPE}", &self.type_name)
            .replace("{VARIANT}", &variant)
            .replace("{ACT}", act.name())
    }
}

const KL_TEMPLATE: &str = r#"//! `{ID}`: a {ACT} unit whose output density is driven towards a Gaussian (edit this line).

use super::{targets::Gaussian, Bound, ParamDef, Params};
use crate::{Objective, Result, Rule};
use ipbn_math::Activation;

/// A {ACT} unit whose output density is driven towards the Gaussian N(μ, σ²), written by
/// `ipbn rules new`: edit the target, the parameters and these sections to describe your rule.
///
/// # Equations
///
/// Per sample, with `y = θ(α x + k)` and the target's score ψ(y) = −(y − μ)/σ²:
///
/// ```text
/// h(y) = θ″/θ′(u) + ψ(y) θ′(u)      (models.md §2; `Rule::h`'s default evaluates it)
/// Δk   = E[h(y)]
/// Δα   = 1/α + E[x h(y)]
/// ```
///
/// averaged over the batch, before the learning rate.
///
/// # Target
///
/// Gaussian N(μ, σ²), restricted to the outputs θ can reach.
///
/// # Activation
///
/// {ACT}.
///
/// # Parameters
///
/// | key | meaning | valid | default |
/// |---|---|---|---|
/// | `mu` | target mean output μ | (-inf, inf) | {MU} |
/// | `sigma` | target standard deviation σ | (0, inf) | {SIGMA} |
///
/// # Reference
///
/// Not yet given: name the publication here and in `SOURCE`.
#[derive(Clone, Debug, PartialEq)]
pub struct {TYPE} {
    params: Params,
    target: Gaussian,
}

impl Rule for {TYPE} {
    const ID: &'static str = "{ID}";
    const SOURCE: &'static str = "not yet given (ipbn rules new template)";
    const PARAMS: &'static [ParamDef] = &[
        ParamDef::new("mu", {MU}, "target mean output").typical({MU_LO}, {MU_HI}, false),
        ParamDef::new("sigma", {SIGMA}, "target standard deviation")
            .range(Bound::Open(0.0), Bound::Unbounded)
            .typical(0.1, 1.0, true),
    ];

    fn build(params: Params) -> Result<Self> {
        let target = Gaussian::new(params.get("mu"), params.get("sigma"))?;
        Ok({TYPE} { params, target })
    }
    fn params(&self) -> &Params {
        &self.params
    }
    fn activation(&self) -> Activation {
        Activation::{VARIANT}
    }
    fn objective(&self) -> Objective<'_> {
        Objective::Kl(&self.target)
    }
}
"#;

const OTHER_TEMPLATE: &str = r#"//! `{ID}`: firing-rate homeostasis of a {ACT} unit's bias (edit this line).

use super::{Bound, ParamDef, Params};
use crate::{Delta, Objective, Result, Rule};
use ipbn_math::Activation;
use ndarray::ArrayView1;

/// Firing-rate homeostasis of the bias, written by `ipbn rules new`: the bias moves until the
/// mean output equals m*, and the gain stays where it is. Edit `direction`, the parameters
/// and these sections to describe your rule.
///
/// # Equations
///
/// ```text
/// Δk = m* − E[y]
/// Δα = 0
/// ```
///
/// averaged over the batch, before the learning rate.
///
/// # Target
///
/// Not a density: the fixed point is any (α, k) with E[θ(α x + k)] = m*.
///
/// # Activation
///
/// {ACT}.
///
/// # Parameters
///
/// | key | meaning | valid | default |
/// |---|---|---|---|
/// | `mean` | target mean output m* | {LO_DOC}, {HI_DOC} | {MEAN} |
///
/// # Reference
///
/// Not yet given: name the publication here and in `SOURCE`.
#[derive(Clone, Debug, PartialEq)]
pub struct {TYPE} {
    params: Params,
}

impl Rule for {TYPE} {
    const ID: &'static str = "{ID}";
    const SOURCE: &'static str = "not yet given (ipbn rules new template)";
    const PARAMS: &'static [ParamDef] = &[ParamDef::new("mean", {MEAN}, "target mean output")
        .range({LO}, {HI})
        .typical({T_LO}, {T_HI}, false)];

    fn build(params: Params) -> Result<Self> {
        Ok({TYPE} { params })
    }
    fn params(&self) -> &Params {
        &self.params
    }
    fn activation(&self) -> Activation {
        Activation::{VARIANT}
    }
    fn objective(&self) -> Objective<'_> {
        Objective::Other
    }
    fn direction(
        &self,
        _x: ArrayView1<'_, f64>,
        y: ArrayView1<'_, f64>,
        _alpha: f64,
        _k: f64,
    ) -> Delta {
        let n = y.len();
        if n == 0 {
            return Delta { alpha: 0.0, k: 0.0 };
        }
        let mean = y.iter().sum::<f64>() / n as f64;
        Delta {
            alpha: 0.0,
            k: self.params.get("mean") - mean,
        }
    }
}
"#;
