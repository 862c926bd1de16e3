//! `ipbn train`: train one network and write its `result.json`.

use crate::error::{CliError, CliResult};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ipbn_train::config::{DataSource, TrainConfig};
use ipbn_train::{trainer, write_json_atomic, TrainError};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

/// Train one network and write DIR/result.json.
///
/// Defaults: Ioffe & Szegedy's 784-100-100-100-10 sigmoid network, batch 60, gauss:0.1 weights,
/// SGD with lr 0.5, 3000 steps, on the shipped MNIST subset. Flags override the JSON config.
#[derive(Args, Debug, Clone, Default)]
#[command(allow_negative_numbers = true)]
pub struct TrainArgs {
    /// JSON training config (every key optional; unknown keys are errors).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data instead of the shipped subset: a dataset fetched with `ipbn data fetch`
    /// (mnist, fashion-mnist, kmnist) or a folder with the standard MNIST IDX files.
    #[arg(long, value_name = "NAME|DIR")]
    pub data: Option<PathBuf>,
    /// Hidden-layer condition: plain, bn, ip:RULE or ip+affine:RULE (e.g. ip:triesch:mu=0.1).
    #[arg(long, value_name = "C")]
    pub condition: Option<String>,
    /// Hidden activation: sigmoid, tanh, relu or softplus.
    #[arg(long, value_name = "A")]
    pub activation: Option<String>,
    /// Hidden widths, comma-separated (e.g. 100,100,100).
    #[arg(long, value_name = "LIST")]
    pub hidden: Option<String>,
    /// Weight initialisation: gauss:STD, glorot or he.
    #[arg(long, value_name = "SPEC")]
    pub init: Option<String>,
    /// Mini-batch size.
    #[arg(long, value_name = "N")]
    pub batch: Option<usize>,
    /// Training steps.
    #[arg(long, value_name = "N")]
    pub steps: Option<usize>,
    /// Synaptic learning rate.
    #[arg(long, value_name = "X")]
    pub lr: Option<f64>,
    /// SGD momentum in [0, 1).
    #[arg(long, value_name = "X")]
    pub momentum: Option<f64>,
    /// Intrinsic learning rate of the IP rule.
    #[arg(long, value_name = "X")]
    pub ip_lr: Option<f64>,
    /// Record metrics every N steps.
    #[arg(long, value_name = "N")]
    pub eval_every: Option<usize>,
    /// Seed of the run.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Output folder (default: runs/train-<condition>-seed<seed>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

fn usage(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(e.to_string())
}

fn train_error(e: TrainError) -> CliError {
    if e.is_usage() {
        CliError::Usage(e.to_string())
    } else {
        CliError::Run(e.to_string())
    }
}

/// The configuration the flags describe: the config file (or the defaults) with every given
/// flag applied, validated.
pub fn resolve_config(args: &TrainArgs) -> CliResult<TrainConfig> {
    let mut cfg = match &args.config {
        Some(path) => TrainConfig::from_file(path).map_err(train_error)?,
        None => TrainConfig::default(),
    };
    if let Some(d) = &args.data {
        cfg.data = DataSource::from_arg(d);
    }
    if let Some(c) = &args.condition {
        cfg.condition = c.parse().map_err(usage)?;
    }
    if let Some(a) = &args.activation {
        cfg.activation = a.parse().map_err(usage)?;
    }
    if let Some(h) = &args.hidden {
        cfg.hidden = parse_widths(h)?;
        let last = cfg.hidden.last().copied().unwrap_or(0);
        cfg.probe_units.retain(|&u| u < last);
    }
    if let Some(i) = &args.init {
        cfg.init = i.parse().map_err(usage)?;
    }
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = args.$f { cfg.$f = v; } )* };
    }
    set!(batch, steps, lr, momentum, ip_lr, eval_every, seed);
    cfg.validate().map_err(usage)?;
    Ok(cfg)
}

/// Parses `100,100,100` (an empty string or `none` means no hidden layer).
fn parse_widths(s: &str) -> CliResult<Vec<usize>> {
    let t = s.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("none") {
        return Ok(Vec::new());
    }
    t.split(',')
        .map(|w| {
            w.trim().parse::<usize>().map_err(|_| {
                usage(format!(
                    "--hidden: `{w}` is not a width; write comma-separated positive integers, e.g. 100,100,100"
                ))
            })
        })
        .collect()
}

/// Runs `ipbn train`.
pub fn run(args: &TrainArgs) -> CliResult {
    let cfg = resolve_config(args)?;
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("runs").join(format!("train-{}-seed{}", cfg.condition.slug(), cfg.seed))
    });
    let data = cfg.data.load().map_err(train_error)?;
    cfg.validate_for(&data).map_err(usage)?;
    eprintln!(
        "data: {}, {} training and {} test samples from {}",
        data.dataset(),
        data.train.len(),
        data.test.len(),
        data.files.join(", ")
    );
    let bar = if std::io::stderr().is_terminal() {
        let b = ProgressBar::new(cfg.steps as u64);
        b.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} steps  {msg}  [{elapsed} < {eta}]")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let start = Instant::now();
    let result = trainer::run(&cfg, &data, &mut |p| {
        bar.set_position(p.step as u64);
        let loss = p.train_loss.map_or("-".into(), |l| format!("{l:.4}"));
        let acc = p.test_accuracy.map_or("-".into(), |a| format!("{a:.4}"));
        bar.set_message(format!("loss {loss}  test acc {acc}"));
    })
    .map_err(train_error)?;
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    let path = out.join("result.json");
    write_json_atomic(&path, &result).map_err(|e| CliError::Run(e.to_string()))?;
    let samples = result.steps_completed as f64 * cfg.batch as f64;
    let outcome = match (
        result.diverged,
        result.diverged_at_step,
        result.final_test_accuracy,
    ) {
        (true, Some(s), _) => format!("diverged at step {s}"),
        (_, _, Some(a)) => format!(
            "test accuracy {a:.4} after {} steps",
            result.steps_completed
        ),
        _ => "no accuracy".to_string(),
    };
    println!(
        "{}: {outcome} ({secs:.1} s, {:.0} samples/s) -> {}",
        cfg.condition,
        samples / secs.max(1e-9),
        path.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_defaults_and_bad_values_are_usage_errors() {
        let args = TrainArgs {
            condition: Some("bn".into()),
            hidden: Some("30,20".into()),
            lr: Some(0.25),
            seed: Some(4),
            ..TrainArgs::default()
        };
        let cfg = resolve_config(&args).unwrap();
        assert_eq!(cfg.condition.to_string(), "bn");
        assert_eq!(cfg.hidden, vec![30, 20]);
        assert_eq!((cfg.lr, cfg.seed, cfg.batch), (0.25, 4, 60));
        assert_eq!(cfg.probe_units, vec![0, 1, 2]);
        let bad = |a: TrainArgs| match resolve_config(&a) {
            Err(CliError::Usage(m)) => m,
            other => panic!("expected a usage error, got {other:?}"),
        };
        let m = bad(TrainArgs {
            lr: Some(-1.0),
            ..TrainArgs::default()
        });
        assert!(m.contains("`lr`"), "{m}");
        let m = bad(TrainArgs {
            hidden: Some("10,x".into()),
            ..TrainArgs::default()
        });
        assert!(m.contains("--hidden"), "{m}");
        let m = bad(TrainArgs {
            condition: Some("ip:infomax-tanh".into()),
            ..TrainArgs::default()
        });
        assert!(m.contains("`condition`") && m.contains("tanh"), "{m}");
    }
}
