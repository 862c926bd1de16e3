//! `ipbn sweep`: run a grid of trainings in parallel, resumably, optionally one shard of it.

use crate::error::{CliError, CliResult};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ipbn_train::sweep::{self, Shard, SweepConfig, SweepEvent, SweepOptions};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Run a grid of trainings in parallel, resumably (or one shard of it).
///
/// A sweep is a base training config and a grid over conditions, learning rates, seeds,
/// batch sizes, depths and intrinsic learning rates. Each run is written to
/// OUT/runs/<id>.json as it finishes; a rerun skips the runs already there; OUT/summary.json
/// gathers every run present. Ctrl-C starts no new run and lets the runs in progress finish
/// and be written; a second Ctrl-C quits at once (result files are written atomically, so
/// nothing partial is left).
#[derive(Args, Debug, Clone)]
pub struct SweepArgs {
    /// JSON sweep config: {"name", "seed", "base": {training config}, "grid": {...}}
    /// (see crates/ipbn-train/examples/sweep-example.json).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Output folder (default: runs/sweep-<name>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run only shard I of N (runs whose position p in the grid has p % N == I-1), e.g. for
    /// a Slurm job array; merge afterwards with --merge-only.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Run nothing: rebuild OUT/summary.json from the runs on disk (e.g. after all shards).
    #[arg(long)]
    pub merge_only: bool,
    /// Worker threads (default: RAYON_NUM_THREADS or the number of cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Data of every run, replacing the base config's: a dataset fetched with
    /// `ipbn data fetch` (mnist, fashion-mnist, kmnist) or a folder of MNIST IDX files.
    #[arg(long, value_name = "NAME|DIR")]
    pub data: Option<PathBuf>,
}

/// Ctrl-C and SIGTERM (what Slurm's `scancel` and time limits send) through `signal-hook`:
/// the first sets a cancellation flag, so no new run starts and the runs in progress finish
/// and are written; a second one while the flag is set takes the signal's default action
/// (the process ends at once).
///
/// # Errors
/// A message if a handler cannot be installed.
pub(crate) fn install_cancel_handlers() -> CliResult<&'static AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    let flag = FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // Registered first, so it sees the flag as it was before this signal's own handler.
        signal_hook::flag::register_conditional_default(sig, Arc::clone(flag))
            .and_then(|_| signal_hook::flag::register(sig, Arc::clone(flag)))
            .map_err(|e| CliError::Run(format!("cannot install the Ctrl-C handler: {e}")))?;
    }
    Ok(flag)
}

/// Prints a line above the progress bar, or to stderr when the bar is hidden.
fn say(bar: &ProgressBar, line: &str) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// Runs `ipbn sweep`.
pub fn run(args: &SweepArgs) -> CliResult {
    let mut sweep = SweepConfig::from_file(&args.config).map_err(|e| {
        if e.is_usage() {
            CliError::Usage(e.to_string())
        } else {
            CliError::Run(e.to_string())
        }
    })?;
    if let Some(d) = &args.data {
        sweep.base.data = ipbn_train::DataSource::from_arg(d);
    }
    let shard = args
        .shard
        .as_deref()
        .map(|s| s.parse::<Shard>())
        .transpose()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(format!("sweep-{}", sweep.name)));
    if args.merge_only {
        // Every shard has ended: temporary files of a killed write are stale.
        sweep::remove_stale_temporaries(&out).map_err(|e| CliError::Run(e.to_string()))?;
        let s = sweep::merge(&sweep, &out).map_err(|e| CliError::Run(e.to_string()))?;
        println!(
            "sweep {}: {} of {} runs present ({} missing) -> {}",
            s.name,
            s.present,
            s.total,
            s.missing,
            out.join("summary.json").display()
        );
        return Ok(());
    }
    if args.threads == Some(0) {
        return Err(CliError::Usage("--threads must be ≥ 1".into()));
    }
    let pool = match args.threads {
        Some(n) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| CliError::Run(format!("cannot start {n} threads: {e}")))?,
        ),
        None => None,
    };
    // Ctrl-C sets the cancellation flag: no new run starts; runs in progress finish and are
    // written (a second Ctrl-C ends the process at once).
    let cancel: &AtomicBool = install_cancel_handlers()?;
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {msg}  [{elapsed} < {eta}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // Say at once that Ctrl-C was seen (the handler itself cannot print).
    let finished = AtomicBool::new(false);
    let progress = |ev: &SweepEvent<'_>| match ev {
        SweepEvent::Planned { to_run, .. } => bar.set_length(*to_run as u64),
        SweepEvent::Finished { run, result } => {
            bar.inc(1);
            let what = if result.diverged {
                "diverged".to_string()
            } else {
                result
                    .final_test_accuracy
                    .map_or("-".into(), |a| format!("acc {a:.4}"))
            };
            bar.set_message(format!("last: {} {what}", run.id));
        }
        SweepEvent::Failed { run, error } => {
            bar.inc(1);
            say(&bar, &format!("ipbn: run {} failed: {error}", run.id));
        }
    };
    let start = Instant::now();
    let options = SweepOptions {
        shard,
        cancel: Some(cancel),
    };
    let outcome = std::thread::scope(|scope| {
        scope.spawn(|| {
            while !finished.load(Ordering::SeqCst) {
                if cancel.load(Ordering::SeqCst) {
                    say(
                        &bar,
                        "ipbn: interrupted: no new run starts; waiting for the runs in progress \
                         (Ctrl-C again to quit at once)",
                    );
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        });
        let outcome = match &pool {
            Some(p) => p.install(|| sweep::run_sweep(&sweep, &out, options, &progress)),
            None => sweep::run_sweep(&sweep, &out, options, &progress),
        };
        finished.store(true, Ordering::SeqCst);
        outcome
    });
    bar.finish_and_clear();
    let outcome = outcome.map_err(|e| {
        if e.is_usage() {
            CliError::Usage(e.to_string())
        } else {
            CliError::Run(e.to_string())
        }
    })?;
    let s = &outcome.summary;
    println!(
        "sweep {}{}: ran {}, already done {}, failed {} in {:.1} s; {} of {} runs present ({} missing) -> {}",
        s.name,
        shard.map_or(String::new(), |sh| format!(" shard {sh}")),
        outcome.ran,
        outcome.already_done,
        outcome.failed.len(),
        start.elapsed().as_secs_f64(),
        s.present,
        s.total,
        s.missing,
        out.join("summary.json").display()
    );
    if outcome.cancelled {
        return Err(CliError::Run(
            "interrupted: finished runs are kept; run the same command again to finish the sweep"
                .into(),
        ));
    }
    if let Some((id, err)) = outcome.failed.first() {
        return Err(CliError::Run(format!(
            "{} run(s) failed; first: {id}: {err}",
            outcome.failed.len()
        )));
    }
    Ok(())
}
