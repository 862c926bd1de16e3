//! `determinism`: a sweep run in a rayon pool of one thread and in one of two threads writes
//! byte-identical files.

use super::scope::{params_strategy, Scope, Shape};
use super::{Claim, ClaimReport};
use crate::condition::Condition;
use crate::config::{DataSource, SyntheticData, TrainConfig};
use crate::data::Split;
use crate::error::Result;
use crate::init::Init;
use crate::sweep::{self, Grid, SweepConfig, SweepOptions};
use ipbn_neurons::claims::run_property;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

/// The `determinism` claim.
pub(super) const CLAIM: Claim = Claim {
    id: "determinism",
    statement: "The same seed gives bit-identical results whatever the thread count: a \
        random small sweep on synthetic Gaussian clusters (two conditions drawn from \
        plain, bn, and ip/ip+affine with every registered rule matching the \
        activation, sigmoid or tanh, 1-2 hidden layers of 3-6 units, replicates 0 and \
        1, batch 2-6, 4-12 steps) run by run_sweep_with_data in a rayon pool of 1 \
        thread and in one of 2 threads, each into a fresh folder under the system's \
        temporary folder, writes the same files, byte for byte. Error: 0 \
        if identical, 1 if a file differs or is missing or either sweep fails; \
        tolerance 0. Each case trains and writes two sweeps, so at most 64 cases are \
        run whatever the number asked for; the cases column reports the number run.",
    run,
};

/// The most cases `determinism` runs, whatever the number asked for.
pub const DETERMINISM_MAX_CASES: u32 = 64;

/// One random case of `determinism`: a small sweep.
#[derive(Clone)]
struct SweepCase {
    sweep: SweepConfig,
}

impl fmt::Debug for SweepCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The sweep's JSON is what `ipbn sweep` reads, so a failing case can be re-run as is.
        match serde_json::to_string(&self.sweep) {
            Ok(json) => write!(f, "{json}"),
            Err(e) => write!(f, "<sweep that does not serialise: {e}>"),
        }
    }
}

type CondPick = (usize, Option<Vec<f64>>, bool);

fn sweep_cases(scope: &Scope) -> impl Strategy<Value = SweepCase> {
    let acts = scope.activations();
    let per_act: Vec<Vec<Shape>> = acts.iter().map(|&a| scope.shapes(a)).collect();
    let cond = || (0usize..1024, params_strategy(), any::<bool>());
    (
        (0..acts.len(), cond(), cond()),
        proptest::collection::vec(3usize..=6, 1..=2),
        2usize..=6,
        4usize..=12,
        1usize..=6,
        (
            0.05f64..1.0,
            0.001f64..0.1,
            prop_oneof![Just(0.0), 0.0f64..0.9],
        ),
        (
            24usize..=48,
            6usize..=12,
            2usize..=5,
            2usize..=3,
            0.5f32..4.0,
            any::<u64>(),
        ),
        any::<u64>(),
    )
        .prop_map(
            move |((a, c1, c2), hidden, batch, steps, eval_every, rates, data, sweep_seed)| {
                let shapes = &per_act[a];
                let pick = |(i, t, adam): CondPick| {
                    let s = shapes[i % shapes.len()];
                    s.condition(t.as_deref(), adam)
                        .or_else(|| s.condition(None, adam))
                        .unwrap_or(Condition::Plain)
                };
                let (lr, ip_lr, momentum) = rates;
                let (train, test, features, classes, separation, data_seed) = data;
                let base = TrainConfig {
                    hidden,
                    activation: acts[a],
                    condition: Condition::Plain,
                    init: Init::Gauss { std: 0.5 },
                    batch,
                    steps,
                    lr,
                    momentum,
                    ip_lr,
                    eval_every,
                    seed: 0,
                    data: DataSource::Synthetic(SyntheticData {
                        train,
                        test,
                        features,
                        classes,
                        separation,
                        seed: data_seed,
                    }),
                    probe_size: test,
                    probe_units: vec![0, 1, 2],
                    percentiles: vec![15.0, 50.0, 85.0],
                };
                SweepCase {
                    sweep: SweepConfig {
                        name: "determinism".into(),
                        seed: sweep_seed,
                        base,
                        grid: Grid {
                            conditions: vec![pick(c1), pick(c2)],
                            seeds: vec![0, 1],
                            ..Grid::default()
                        },
                    },
                }
            },
        )
}

/// Runs a sweep on the current rayon pool into a folder; `Ok(true)` when every run of it
/// finished and was written.
type Execute = fn(&SweepConfig, &Split, &Path) -> Result<bool>;

/// The sweep as `ipbn sweep` runs it.
pub(super) fn execute_sweep(sweep: &SweepConfig, data: &Split, out: &Path) -> Result<bool> {
    let o = sweep::run_sweep_with_data(sweep, data, out, SweepOptions::default(), &|_| {})?;
    Ok(o.failed.is_empty() && !o.cancelled && o.summary.missing == 0)
}

/// Runs `sweep` with `execute` inside `pool` into a fresh folder and returns its files, or
/// `None` if the sweep fails, a run fails or is not run.
fn sweep_files(
    pool: &rayon::ThreadPool,
    execute: Execute,
    sweep: &SweepConfig,
    data: &Split,
) -> Option<BTreeMap<String, Vec<u8>>> {
    // A fresh folder under the system's temporary folder, removed with everything in it when
    // dropped.
    let dir = tempfile::Builder::new()
        .prefix("ipbn-claim-determinism-")
        .tempdir()
        .ok()?;
    if !pool.install(|| execute(sweep, data, dir.path())).ok()? {
        return None;
    }
    crate::io::read_tree(dir.path()).ok()
}

pub(super) fn determinism_with(
    scope: &Scope,
    cases: u32,
    seed: u64,
    execute: Execute,
) -> ClaimReport {
    let pools = [1, 2].map(|n| rayon::ThreadPoolBuilder::new().num_threads(n).build());
    let [Ok(one), Ok(two)] = pools else {
        return ClaimReport {
            id: "determinism".into(),
            cases: 0,
            worst_error: f64::INFINITY,
            tolerance: 0.0,
            holds: false,
            detail: "could not start rayon thread pools of 1 and 2 threads".into(),
        };
    };
    run_property(
        "determinism",
        0.0,
        cases.min(DETERMINISM_MAX_CASES),
        seed,
        sweep_cases(scope),
        |c: &SweepCase| {
            let Ok(data) = c.sweep.base.data.load() else {
                return 1.0;
            };
            let a = sweep_files(&one, execute, &c.sweep, &data);
            let b = sweep_files(&two, execute, &c.sweep, &data);
            match (a, b) {
                (Some(a), Some(b)) if a == b => 0.0,
                _ => 1.0,
            }
        },
    )
}

fn run(cases: u32, seed: u64) -> ClaimReport {
    determinism_with(&Scope::registry(), cases, seed, execute_sweep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ConfigError;

    #[test]
    fn determinism_holds() {
        let r = run(3, 11);
        assert!(r.holds, "{r:?}");
        assert_eq!((r.cases, r.worst_error, r.tolerance), (3, 0.0, 0.0));
    }

    #[test]
    fn determinism_caps_the_cases_run() {
        // A cheap stand-in for the sweep (one fixed file) shows the cap: the report counts
        // the cases actually run.
        fn fixed(_: &SweepConfig, _: &Split, out: &Path) -> Result<bool> {
            std::fs::write(out.join("result.txt"), b"same")
                .map_err(|e| crate::error::TrainError::io(out, e))?;
            Ok(true)
        }
        let r = determinism_with(&Scope::registry(), 1_000_000, 1, fixed);
        assert!(r.holds, "{r:?}");
        assert_eq!(r.cases, u64::from(DETERMINISM_MAX_CASES));
        let r = determinism_with(&Scope::registry(), 5, 1, fixed);
        assert_eq!(r.cases, 5);
        // A sweep that fails counts as a difference.
        let r = determinism_with(&Scope::registry(), 3, 1, |_, _, _| {
            Err(ConfigError::new("sweep", "always fails").into())
        });
        assert!(!r.holds);
        assert_eq!(r.worst_error, 1.0);
    }

    #[test]
    fn determinism_fails_when_the_output_depends_on_the_thread_count() {
        // A stand-in for a sweep whose output records the thread count (as a result summed
        // with a parallel reduction would, in effect): every case differs between the pools.
        fn stamped(_: &SweepConfig, _: &Split, out: &Path) -> Result<bool> {
            let threads = rayon::current_num_threads().to_string();
            std::fs::write(out.join("result.txt"), threads)
                .map_err(|e| crate::error::TrainError::io(out, e))?;
            Ok(true)
        }
        let r = determinism_with(&Scope::registry(), 2, 11, stamped);
        assert!(!r.holds, "{r:?}");
        assert_eq!(r.worst_error, 1.0);
        assert!(r.detail.contains("minimal case"), "{}", r.detail);
    }
}
