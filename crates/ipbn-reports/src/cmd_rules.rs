//! `ipbn rules`: list the registered IP rules, or resolve one rule spec.

use crate::error::{CliError, CliResult};
use ipbn_neurons::registry::{self, RuleSpec};
use ipbn_neurons::{IpRule, ParamInfo, RuleKind, StepKind};
use serde::Serialize;

/// Arguments of `ipbn rules`.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct RulesArgs {
    /// Print JSON (an array of rule objects) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Parse one rule spec `NAME[:key=value,...]` and print it with every parameter resolved.
    #[arg(long, value_name = "SPEC")]
    pub show: Option<String>,
}

/// One rule as printed by `ipbn rules --json`.
#[derive(Serialize, Debug)]
pub struct RuleListing {
    /// Registry id.
    pub id: String,
    /// Activation the rule is derived for (`any` for activation-agnostic rules).
    pub activation: String,
    /// `kl` for KL-gradient rules, `other` otherwise.
    pub kind: String,
    /// Target distribution or fixed point.
    pub target: String,
    /// Parameters with default, value and range.
    pub params: Vec<ParamInfo>,
    /// The step applied to the rule's direction: `sgd` (default) or `adam` (key `opt`).
    pub step: StepListing,
    /// The publication.
    pub source: String,
    /// The canonical, fully resolved spec string.
    pub spec: String,
}

/// The step options every rule accepts.
#[derive(Serialize, Debug)]
pub struct StepListing {
    /// Step in force.
    pub opt: String,
    /// Accepted values of `opt`.
    pub accepted: Vec<String>,
}

fn listing(rule: &dyn IpRule, step: StepKind, spec: String) -> RuleListing {
    let activation = match rule.kind() {
        RuleKind::Kl => rule.activation().name().to_string(),
        RuleKind::Other => "any".to_string(),
    };
    RuleListing {
        id: rule.id().to_string(),
        activation,
        kind: match rule.kind() {
            RuleKind::Kl => "kl".into(),
            RuleKind::Other => "other".into(),
        },
        target: rule.target_description(),
        params: rule.params(),
        step: StepListing {
            opt: match step {
                StepKind::Sgd => "sgd".into(),
                StepKind::Adam { .. } => "adam".into(),
            },
            accepted: vec!["sgd".into(), "adam".into()],
        },
        source: rule.source().to_string(),
        spec,
    }
}

fn print_table(rows: &[RuleListing]) {
    for r in rows {
        println!("{}  [{}; activation {}]", r.id, r.kind, r.activation);
        println!("    target: {}", r.target);
        for p in &r.params {
            println!(
                "    {} = {} (default {}, range {}): {}",
                p.name, p.value, p.default, p.range, p.doc
            );
        }
        println!("    opt = {} (accepted: sgd, adam)", r.step.opt);
        println!("    source: {}", r.source);
        println!("    spec: {}", r.spec);
    }
}

/// Runs `ipbn rules`.
pub fn run(args: &RulesArgs) -> CliResult {
    let rows: Vec<RuleListing> = match &args.show {
        Some(spec) => {
            let parsed: RuleSpec =
                registry::parse_spec(spec).map_err(|e| CliError::Usage(e.to_string()))?;
            vec![listing(
                parsed.rule.as_ref(),
                parsed.step,
                parsed.to_string(),
            )]
        }
        None => registry::default_rules()
            .iter()
            .map(|r| {
                let spec = registry::parse_spec(r.id())
                    .map(|s| s.to_string())
                    .unwrap_or_else(|_| r.id().to_string());
                listing(r.as_ref(), StepKind::Sgd, spec)
            })
            .collect(),
    };
    if args.json {
        let text = serde_json::to_string_pretty(&rows).map_err(|e| CliError::Run(e.to_string()))?;
        println!("{text}");
    } else {
        print_table(&rows);
    }
    Ok(())
}
