//! `ipbn rules`: list the registered IP rules, or resolve one rule spec.

use crate::error::{CliError, CliResult};
use ipbn_math::Activation;
use ipbn_neurons::registry::{self, RuleSpec};
use ipbn_neurons::template::{NewRule, TemplateKind};
use ipbn_neurons::{IpRule, ParamInfo, RuleKind, StepKind};
use ipbn_train::io::write_atomic;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Arguments of `ipbn rules`.
#[derive(clap::Args, Debug, Default, Clone)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RulesArgs {
    /// `new`: write a rule file from the template and register it.
    #[command(subcommand)]
    pub action: Option<RulesAction>,
    /// Print JSON (an array of rule objects) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Parse one rule spec `NAME[:key=value,...]` and print it with every parameter resolved.
    #[arg(long, value_name = "SPEC")]
    pub show: Option<String>,
}

/// Subcommands of `ipbn rules`.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum RulesAction {
    /// Write `crates/ipbn-neurons/src/rules/NAME.rs` from the documented template (a valid
    /// rule on which every claim of its kind holds) and add its one registration line.
    New(NewArgs),
}

/// Arguments of `ipbn rules new`.
#[derive(clap::Args, Debug, Clone)]
pub struct NewArgs {
    /// The rule's id: lower-case words joined by `-`, e.g. `my-rule`.
    pub name: String,
    /// `kl` (gradient ascent towards a target density) or `other` (own direction).
    #[arg(long, default_value = "kl", value_parser = ["kl", "other"])]
    pub kind: String,
    /// Activation the rule is written for: sigmoid, tanh or softplus (`other` also: identity,
    /// meaning any activation).
    #[arg(long, default_value = "sigmoid")]
    pub activation: String,
    /// The ipbn checkout to write into (default: the nearest folder above the current one
    /// that holds `crates/ipbn-neurons/src/rules/mod.rs`).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

/// Where the rules live inside a checkout.
const RULES_DIR: &str = "crates/ipbn-neurons/src/rules";

/// The checkout: `root`, or the nearest ancestor of the current folder holding the rules.
fn checkout(root: Option<&Path>) -> CliResult<PathBuf> {
    let has_rules = |d: &Path| d.join(RULES_DIR).join("mod.rs").is_file();
    if let Some(r) = root {
        return if has_rules(r) {
            Ok(r.to_path_buf())
        } else {
            Err(CliError::Usage(format!(
                "`{}` holds no {RULES_DIR}/mod.rs; give --root the top folder of an ipbn checkout",
                r.display()
            )))
        };
    }
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::Run(format!("cannot read the current folder: {e}")))?;
    cwd.ancestors()
        .find(|d| has_rules(d))
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            CliError::Usage(format!(
                "no ipbn checkout above `{}`; run `ipbn rules new` inside one, or give --root",
                cwd.display()
            ))
        })
}

/// Runs `ipbn rules new`: checks everything, then writes the file and the line.
pub fn run_new(args: &NewArgs) -> CliResult {
    let kind = match args.kind.as_str() {
        "other" => TemplateKind::Other,
        _ => TemplateKind::Kl,
    };
    let activation: Activation = args
        .activation
        .parse()
        .map_err(|e: ipbn_math::activation::UnknownActivation| CliError::Usage(e.to_string()))?;
    let rule =
        NewRule::new(&args.name, kind, activation).map_err(|e| CliError::Usage(e.to_string()))?;
    if registry::find(&rule.id).is_some() {
        return Err(CliError::Usage(format!(
            "a rule `{}` is already registered; choose another name",
            rule.id
        )));
    }
    let root = checkout(args.root.as_deref())?;
    let dir = root.join(RULES_DIR);
    let file = dir.join(rule.file_name());
    if file.exists() {
        return Err(CliError::Usage(format!(
            "`{}` already exists; choose another name",
            file.display()
        )));
    }
    let mod_path = dir.join("mod.rs");
    let mod_rs = std::fs::read_to_string(&mod_path)
        .map_err(|e| CliError::Run(format!("cannot read `{}`: {e}", mod_path.display())))?;
    let registered = rule
        .register_in(&mod_rs)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let io = |p: &Path, e: ipbn_train::TrainError| {
        CliError::Run(format!("cannot write `{}`: {e}", p.display()))
    };
    write_atomic(&file, rule.source().as_bytes()).map_err(|e| io(&file, e))?;
    if let Err(e) = write_atomic(&mod_path, registered.as_bytes()) {
        let _ = std::fs::remove_file(&file);
        return Err(io(&mod_path, e));
    }
    let shown = file
        .strip_prefix(&root)
        .unwrap_or(&file)
        .display()
        .to_string();
    println!("{}", rule.next_steps(&shown));
    Ok(())
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
    let any = rule.kind() == RuleKind::Other && rule.activation() == Activation::Identity;
    let activation = if any {
        "any".to_string()
    } else {
        rule.activation().name().to_string()
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
    if let Some(RulesAction::New(new)) = &args.action {
        return run_new(new);
    }
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
