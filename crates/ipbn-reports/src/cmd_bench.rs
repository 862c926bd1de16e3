//! `ipbn bench`: training throughput per condition on one thread, the GEMM-only bound and the
//! FMA-peak bound measured in the same process, the kernel set the products ran on, and the
//! speed-up of a sweep on two threads over one.

use crate::error::{CliError, CliResult};
use clap::Args;
use ipbn_train::bench::{run_bench, BenchOptions, SweepBenchOptions, DEFAULT_CONDITIONS};
use ipbn_train::Condition;

/// Measure training speed per condition against the GEMM-only bound, and the 2-thread sweep speed-up.
///
/// Samples per second of the Ioffe & Szegedy network (784-100-100-100-10 sigmoid, batch 60,
/// f32, SGD) on the shipped MNIST subset, one thread per condition; the GEMM-only bound (the
/// step's matrix products alone, same shapes and library, measured in the same process) and
/// the ratio of the two; and how much faster a sweep of independent runs goes on a 2-thread
/// pool than on a 1-thread pool. Also the register-only FMA peak of one core at the CPU's
/// widest vector width and each condition's share of the FMA-peak bound (the step's product
/// FLOPs at that peak), and the kernel set the products ran on (`IPBN_KERNELS=portable` pins
/// them to AVX2+FMA; then nothing else changes). Medians of interleaved repetitions; a loaded
/// machine lowers every figure (the load average is printed).
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Timed training steps per repetition.
    #[arg(long, value_name = "N", default_value_t = 300)]
    pub steps: usize,
    /// Repetitions per measurement; the median is reported.
    #[arg(long, value_name = "N", default_value_t = 7)]
    pub reps: usize,
    /// Conditions to measure, separated by spaces
    /// [default: plain bn ip:triesch ip+affine:infomax-logistic].
    #[arg(long, value_name = "C", num_args = 1..)]
    pub conditions: Vec<String>,
    /// Skip the 1-thread versus 2-thread sweep measurement.
    #[arg(long)]
    pub no_sweep: bool,
    /// Independent runs in the sweep measurement.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub sweep_runs: usize,
    /// Training steps per run in the sweep measurement.
    #[arg(long, value_name = "N", default_value_t = 400)]
    pub sweep_steps: usize,
}

impl Default for BenchArgs {
    fn default() -> Self {
        BenchArgs {
            json: false,
            steps: 300,
            reps: 7,
            conditions: Vec::new(),
            no_sweep: false,
            sweep_runs: 4,
            sweep_steps: 400,
        }
    }
}

/// The measurement the flags describe.
pub fn options(args: &BenchArgs) -> CliResult<BenchOptions> {
    for (flag, value) in [
        ("--steps", args.steps),
        ("--reps", args.reps),
        ("--sweep-runs", args.sweep_runs),
        ("--sweep-steps", args.sweep_steps),
    ] {
        if value == 0 {
            return Err(CliError::Usage(format!("{flag} must be ≥ 1")));
        }
    }
    let names: Vec<&str> = if args.conditions.is_empty() {
        DEFAULT_CONDITIONS.to_vec()
    } else {
        args.conditions.iter().map(String::as_str).collect()
    };
    let conditions = names
        .iter()
        .map(|c| {
            c.parse::<Condition>()
                .map_err(|e| CliError::Usage(format!("--conditions: {e}")))
        })
        .collect::<CliResult<Vec<_>>>()?;
    Ok(BenchOptions {
        conditions,
        steps: args.steps,
        reps: args.reps,
        sweep: (!args.no_sweep).then_some(SweepBenchOptions {
            runs: args.sweep_runs,
            steps: args.sweep_steps,
            ..SweepBenchOptions::default()
        }),
        ..BenchOptions::default()
    })
}

/// Runs `ipbn bench`.
pub fn run(args: &BenchArgs) -> CliResult {
    let opts = options(args)?;
    eprintln!(
        "ipbn bench: {} condition(s), {} × {} steps{} ...",
        opts.conditions.len(),
        opts.reps,
        opts.steps,
        if opts.sweep.is_some() {
            ", then the sweep"
        } else {
            ""
        }
    );
    let report = run_bench(&opts).map_err(|e| {
        if e.is_usage() {
            CliError::Usage(e.to_string())
        } else {
            CliError::Run(e.to_string())
        }
    })?;
    if args.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| CliError::Run(format!("cannot encode the report as JSON: {e}")))?;
        println!("{text}");
    } else {
        print!("{}", report.table());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_options() {
        let o = options(&BenchArgs::default()).unwrap();
        assert_eq!(o.conditions.len(), 4);
        assert_eq!((o.steps, o.reps), (300, 7));
        assert_eq!(o.sweep.as_ref().map(|s| (s.runs, s.steps)), Some((4, 400)));
        let args = BenchArgs {
            conditions: vec!["bn".into(), "ip:triesch:mu=0.2,opt=adam".into()],
            no_sweep: true,
            ..BenchArgs::default()
        };
        let o = options(&args).unwrap();
        assert_eq!(o.conditions.len(), 2);
        assert!(o.sweep.is_none());
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        let bad = BenchArgs {
            conditions: vec!["layernorm".into()],
            ..BenchArgs::default()
        };
        assert!(matches!(options(&bad), Err(CliError::Usage(m)) if m.contains("--conditions")));
        let zero = BenchArgs {
            steps: 0,
            ..BenchArgs::default()
        };
        assert!(matches!(options(&zero), Err(CliError::Usage(m)) if m.contains("--steps")));
    }
}
