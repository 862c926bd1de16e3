//! A rule written outside the workspace's crates, with the public API only: declared, added to
//! the process's registry, checked by every claim of its kind, then trained as `ip:NAME`.
//!
//! ```text
//! cargo run --release -p ipbn-neurons --example external_rule
//! ```
//!
//! Exits with status 1 if a claim fails or training does not run.

use ipbn_math::Activation;
use ipbn_neurons::registry::{self, RuleDef};
use ipbn_neurons::rules::{targets::Gaussian, Bound, ParamDef, Params};
use ipbn_neurons::{Objective, Result, Rule};
use ipbn_train::config::SyntheticData;
use ipbn_train::{DataSource, TrainConfig};

/// A logistic unit whose output density is driven towards the Gaussian N(μ, σ²) on (0, 1):
/// Schrauwen et al.'s target with Triesch's activation.
///
/// Per sample, with `y = σ(αx + k)`: `h(y) = 1 − 2y − (y − μ) y (1 − y) / σ²`,
/// `Δk = E[h]`, `Δα = 1/α + E[x h]` (models.md §2).
#[derive(Clone, Debug)]
struct SigmoidGauss {
    params: Params,
    target: Gaussian,
    inv_var: f64,
}

impl Rule for SigmoidGauss {
    const ID: &'static str = "sigmoid-gauss";
    const SOURCE: &'static str =
        "example: Schrauwen et al. 2008's Gaussian target for a logistic unit";
    const PARAMS: &'static [ParamDef] = &[
        ParamDef::new("mu", 0.3, "target mean output").typical(0.1, 0.9, false),
        ParamDef::new("sigma", 0.2, "target standard deviation")
            .range(Bound::Open(0.0), Bound::Unbounded)
            .typical(0.05, 1.0, true),
    ];

    fn build(params: Params) -> Result<Self> {
        let sigma = params.get("sigma");
        let target = Gaussian::new(params.get("mu"), sigma)?;
        Ok(SigmoidGauss {
            params,
            target,
            inv_var: 1.0 / (sigma * sigma),
        })
    }
    fn params(&self) -> &Params {
        &self.params
    }
    fn activation(&self) -> Activation {
        Activation::Sigmoid
    }
    fn objective(&self) -> Objective<'_> {
        Objective::Kl(&self.target)
    }
    fn h(&self, y: f64) -> f64 {
        1.0 - 2.0 * y - (y - self.target.mean()) * y * (1.0 - y) * self.inv_var
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("external_rule: {e}");
        std::process::exit(1);
    }
}

fn run() -> std::result::Result<(), Box<dyn std::error::Error>> {
    // 1. Register: from now on `sigmoid-gauss` is a rule spec like any built-in one.
    registry::register::<SigmoidGauss>()?;

    // 2. Every claim that applies to a KL rule, on this rule alone.
    let rows = ipbn_train::claims::check_rule(&RuleDef::of::<SigmoidGauss>(), 500, 2015)?;
    println!(
        "{:<22} {:>6} {:>12} {:>10}  verdict",
        "claim", "cases", "worst error", "tolerance"
    );
    for r in &rows {
        println!(
            "{:<22} {:>6} {:>12.3e} {:>10.1e}  {}",
            r.id,
            r.cases,
            r.worst_error,
            r.tolerance,
            if r.holds { "holds" } else { "fails" }
        );
    }

    // 3. Train a small network with the rule, named by its spec string.
    let cfg = TrainConfig {
        hidden: vec![16, 16],
        condition: "ip:sigmoid-gauss:mu=0.3,sigma=0.2".parse()?,
        steps: 300,
        batch: 16,
        lr: 0.5,
        eval_every: 100,
        data: DataSource::Synthetic(SyntheticData {
            train: 512,
            test: 256,
            features: 8,
            classes: 3,
            separation: 3.0,
            seed: 1,
        }),
        ..TrainConfig::default()
    };
    let data = cfg.data.load()?;
    let result = ipbn_train::run(&cfg, &data, &mut |_| {})?;
    let acc = result.final_test_accuracy.unwrap_or(f64::NAN);
    println!(
        "trained {} for {} steps: test accuracy {acc:.3}{}",
        cfg.condition,
        result.steps_completed,
        if result.diverged { " (diverged)" } else { "" }
    );

    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| !r.holds)
        .map(|r| r.id.as_str())
        .collect();
    if !failed.is_empty() {
        return Err(format!("claims that fail: {}", failed.join(", ")).into());
    }
    if result.diverged || result.steps_completed != cfg.steps {
        return Err("training did not complete".into());
    }
    Ok(())
}
