//! Sweeps: a grid of training runs around a base configuration, run in parallel (rayon, one
//! run per task, each run single-threaded), resumable, shardable and merged into one summary.
//!
//! ## Layout of an output folder
//!
//! ```text
//! OUT/sweep.json          the sweep configuration
//! OUT/runs/<id>.json      one RunResult per finished run, written atomically
//! OUT/summary.json        every run present, sorted by id, and how many are missing
//! ```
//!
//! ## Identity and seeds
//!
//! The grid expands in a fixed order (conditions, activations, hidden, batches, lrs,
//! ip_lrs, seeds; the last varies fastest). A run's `seed` is
//! `derive_seed(sweep seed, replicate)`, where the replicate is the grid's `seeds` entry, so
//! runs that differ only in condition or learning rate share their initial weights and batch
//! order (paired comparisons). Its id is a readable prefix plus a hash of its full resolved
//! configuration, so ids survive a grid that grows. Nothing depends on the thread that runs
//! a run, so results are byte-identical whatever the thread count.
//!
//! ## Resuming, sharding, cancelling
//!
//! A run whose file exists, parses and holds the same configuration is not run again; a
//! corrupt or partial file is redone. `Shard { index: i, count: n }` runs the runs whose
//! position `p` in the expansion has `p % n == i − 1`. When the cancellation flag is set no
//! new run starts; runs in progress finish and are written. Files are written atomically, so
//! a process killed at any moment leaves only complete result files, and at worst a
//! temporary file of the write it was in, which the next unsharded sweep or merge removes
//! ([`remove_stale_temporaries`]).
//!
//! ## The executor
//!
//! [`execute`] does the work for any list of runs (read what is stored, train the rest in
//! parallel, store each as it finishes, honour the shard and the cancellation flag); sweeps
//! use it, and so do the figures of `ipbn reproduce`, whose runs are named by [`run_id_on`]
//! (the configuration and the data they are trained on).

use crate::condition::Condition;
use crate::config::{parse_json_naming_key, TrainConfig};
use crate::data::Split;
use crate::error::{ConfigError, Result, TrainError};
use crate::io::{self, write_json_atomic};
use crate::result::RunResult;
use crate::trainer;
use ipbn_math::seed::derive_seed;
use ipbn_math::Activation;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The values a sweep varies. An empty list means "the base configuration's value".
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Grid {
    /// Conditions (`plain`, `bn`, `ip:RULE`, `ip+affine:RULE`). Default: `[]`.
    pub conditions: Vec<Condition>,
    /// Hidden activations. Default: `[]`.
    pub activations: Vec<Activation>,
    /// Hidden-layer lists (depth and widths), e.g. `[[100], [100, 100, 100]]`. Default: `[]`.
    pub hidden: Vec<Vec<usize>>,
    /// Mini-batch sizes. Default: `[]`.
    pub batches: Vec<usize>,
    /// Synaptic learning rates. Default: `[]`.
    pub lrs: Vec<f64>,
    /// Intrinsic learning rates (only varied for IP conditions; other conditions run once
    /// with the base value). Default: `[]`.
    pub ip_lrs: Vec<f64>,
    /// Replicates: each value `r` gives the run seed `derive_seed(sweep seed, r)`.
    /// Default: `[]`, meaning the single replicate 0.
    pub seeds: Vec<u64>,
    /// If set, each run's step count is `ceil(examples / batch)`, so runs with different
    /// batch sizes see the same number of examples. Default: unset (the base `steps`).
    pub examples: Option<usize>,
}

/// A sweep: a base configuration and a grid around it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SweepConfig {
    /// A name for the summary. Default: `sweep`.
    pub name: String,
    /// The sweep seed, from which every run's seed is derived. Default: 0.
    pub seed: u64,
    /// Settings shared by every run (a [`TrainConfig`]; its `seed` is replaced per run).
    /// Default: the `TrainConfig` defaults.
    pub base: TrainConfig,
    /// The values varied.
    pub grid: Grid,
}

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig {
            name: "sweep".into(),
            seed: 0,
            base: TrainConfig::default(),
            grid: Grid::default(),
        }
    }
}

/// One run of an expanded sweep.
#[derive(Clone, Debug)]
pub struct SweepRun {
    /// Position in the expansion (0-based), which decides its shard.
    pub index: usize,
    /// Stable id, also its file name (`runs/<id>.json`).
    pub id: String,
    /// The replicate (the grid's `seeds` entry) it belongs to.
    pub replicate: u64,
    /// Its full configuration.
    pub config: TrainConfig,
    /// Why the combination cannot run (e.g. `bn` with batch 1), if it cannot.
    pub invalid: Option<String>,
}

/// A fixed part of a sweep: `index` of `count` (1-based, `I/N` on the command line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, 1..=count.
    pub index: usize,
    /// How many shards.
    pub count: usize,
}

impl Shard {
    /// Whether the run at expansion position `position` belongs to this shard.
    pub fn contains(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

impl FromStr for Shard {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        let bad = || {
            ConfigError::new(
                "shard",
                format!("`{s}` is not I/N with 1 ≤ I ≤ N (e.g. 1/4 for the first of four shards)"),
            )
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// FNV-1a, 64 bits: a stable hash for run ids (not for security).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The id of a run: `<condition>-lr<lr>-b<batch>-r<replicate>-<hash>`, the hash (12 hex
/// digits) taken over the canonical JSON of the full configuration.
pub fn run_id(config: &TrainConfig, replicate: u64) -> String {
    let canonical = serde_json::to_string(config).expect("a TrainConfig always serialises");
    let h = fnv1a(canonical.as_bytes()) >> 16;
    format!(
        "{}-lr{}-b{}-r{}-{:012x}",
        config.condition.slug(),
        config.lr,
        config.batch,
        replicate,
        h
    )
}

fn or_base<T: Clone>(values: &[T], base: T) -> Vec<T> {
    if values.is_empty() {
        vec![base]
    } else {
        values.to_vec()
    }
}

impl SweepConfig {
    /// Parses and checks a JSON sweep configuration.
    pub fn from_json(text: &str) -> Result<Self, ConfigError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| ConfigError::new("<file>", format!("not valid JSON: {e}")))?;
        if !value.is_object() {
            return Err(ConfigError::new(
                "<file>",
                "expected a JSON object {\"name\", \"seed\", \"base\", \"grid\"}",
            ));
        }
        // An explicitly empty list in the grid is almost certainly a mistake (it would mean
        // "no values"): say so rather than silently running the base value.
        if let Some(grid) = value.get("grid").and_then(|g| g.as_object()) {
            if let Some((k, _)) = grid
                .iter()
                .find(|(_, v)| v.as_array().is_some_and(|a| a.is_empty()))
            {
                return Err(ConfigError::new(
                    format!("grid.{k}"),
                    "is an empty list, which gives no values to sweep; list at least one \
                     value, or leave the key out to use the base setting",
                ));
            }
        }
        // One decoding of the text names a bad key inside `base` or `grid` precisely
        // (`base.steps`) and rejects duplicate keys.
        let sweep: SweepConfig = parse_json_naming_key(text, "", |first| match first {
            "base" | "grid" => 2,
            _ => 1,
        })?;
        sweep.validate()?;
        Ok(sweep)
    }

    /// Reads, parses and checks a JSON sweep file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| TrainError::io(path, e))?;
        Ok(Self::from_json(&text)
            .map_err(|e| ConfigError::new(e.key, format!("{}: {}", path.display(), e.message)))?)
    }

    /// Checks the base configuration and every grid value on its own (combinations that
    /// cannot run, such as `bn` with batch 1, are marked invalid by [`SweepConfig::expand`]
    /// instead of failing the sweep).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let prefixed =
            |p: &str, e: ConfigError| ConfigError::new(format!("{p}{}", e.key), e.message);
        // The base alone, with a condition-neutral batch check left to the combinations.
        let mut base = self.base.clone();
        base.condition = Condition::Plain;
        base.validate().map_err(|e| prefixed("base.", e))?;
        let g = &self.grid;
        let check = |key: &str, f: &dyn Fn(&mut TrainConfig)| -> Result<(), ConfigError> {
            let mut c = base.clone();
            f(&mut c);
            c.validate()
                .map_err(|e| ConfigError::new(format!("grid.{key}"), e.message))
        };
        for &lr in &g.lrs {
            check("lrs", &|c| c.lr = lr)?;
        }
        for &ip_lr in &g.ip_lrs {
            check("ip_lrs", &|c| c.ip_lr = ip_lr)?;
        }
        for &b in &g.batches {
            if b == 0 {
                return Err(ConfigError::new(
                    "grid.batches",
                    "every batch size must be ≥ 1, got 0",
                ));
            }
            check("batches", &|c| c.batch = b)?;
        }
        for h in &g.hidden {
            check("hidden", &|c| {
                c.hidden = h.clone();
                c.probe_units.retain(|&u| h.last().is_some_and(|&w| u < w));
            })?;
        }
        for &a in &g.activations {
            crate::config::check_hidden_activation("grid.activations", a)?;
        }
        if g.examples == Some(0) {
            return Err(ConfigError::new("grid.examples", "must be ≥ 1 when given"));
        }
        let mut seen = HashSet::new();
        if let Some(r) = g.seeds.iter().find(|r| !seen.insert(**r)) {
            return Err(ConfigError::new(
                "grid.seeds",
                format!("replicate {r} is listed twice"),
            ));
        }
        Ok(())
    }

    /// Expands the grid into its runs, in the fixed order of the module documentation,
    /// dropping duplicates (e.g. non-IP conditions across `ip_lrs`).
    pub fn expand(&self) -> Vec<SweepRun> {
        let b = &self.base;
        let g = &self.grid;
        let conditions = or_base(&g.conditions, b.condition.clone());
        let activations = or_base(&g.activations, b.activation);
        let hiddens = or_base(&g.hidden, b.hidden.clone());
        let batches = or_base(&g.batches, b.batch);
        let lrs = or_base(&g.lrs, b.lr);
        let ip_lrs = or_base(&g.ip_lrs, b.ip_lr);
        let seeds = or_base(&g.seeds, 0);
        let mut runs = Vec::new();
        let mut ids = HashSet::new();
        for cond in &conditions {
            for &act in &activations {
                for hidden in &hiddens {
                    for &batch in &batches {
                        for &lr in &lrs {
                            for &ip_lr in &ip_lrs {
                                for &rep in &seeds {
                                    let mut c = b.clone();
                                    c.condition = cond.clone();
                                    c.activation = act;
                                    c.hidden = hidden.clone();
                                    c.probe_units
                                        .retain(|&u| hidden.last().is_some_and(|&w| u < w));
                                    c.batch = batch;
                                    c.lr = lr;
                                    c.ip_lr = if cond.rule_spec().is_some() {
                                        ip_lr
                                    } else {
                                        b.ip_lr
                                    };
                                    c.seed = derive_seed(self.seed, rep);
                                    if let Some(ex) = g.examples {
                                        c.steps = ex.div_ceil(batch).max(1);
                                    }
                                    let id = run_id(&c, rep);
                                    if !ids.insert(id.clone()) {
                                        continue;
                                    }
                                    let invalid = c.validate().err().map(|e| e.to_string());
                                    runs.push(SweepRun {
                                        index: runs.len(),
                                        id,
                                        replicate: rep,
                                        config: c,
                                        invalid,
                                    });
                                }
                            }
                        }
                    }
                }
            }
        }
        runs
    }
}

/// One run's line in the summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Run id.
    pub id: String,
    /// Position in the expansion.
    pub index: usize,
    /// Replicate.
    pub replicate: u64,
    /// Condition.
    pub condition: String,
    /// Hidden activation.
    pub activation: Activation,
    /// Hidden widths.
    pub hidden: Vec<usize>,
    /// Mini-batch size.
    pub batch: usize,
    /// Synaptic learning rate.
    pub lr: f64,
    /// Intrinsic learning rate.
    pub ip_lr: f64,
    /// Run seed.
    pub seed: u64,
    /// Steps configured.
    pub steps: usize,
    /// Final test accuracy (`null` if diverged).
    pub final_test_accuracy: Option<f64>,
    /// Final training loss (`null` if diverged).
    pub final_train_loss: Option<f64>,
    /// Whether the run diverged.
    pub diverged: bool,
    /// Step at which it diverged.
    pub diverged_at_step: Option<usize>,
    /// Steps completed.
    pub steps_completed: usize,
}

/// A combination of the grid that cannot run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvalidRun {
    /// Run id.
    pub id: String,
    /// Condition.
    pub condition: String,
    /// Mini-batch size.
    pub batch: usize,
    /// Why it cannot run.
    pub reason: String,
}

/// `summary.json`: every run present in the output folder, sorted by id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    /// Sweep name.
    pub name: String,
    /// Sweep seed.
    pub seed: u64,
    /// Runs in the sweep (valid combinations).
    pub total: usize,
    /// Runs with a result on disk.
    pub present: usize,
    /// Runs without one.
    pub missing: usize,
    /// Ids of the missing runs, sorted.
    pub missing_ids: Vec<String>,
    /// Combinations that cannot run, sorted by id.
    pub invalid: Vec<InvalidRun>,
    /// The runs present, sorted by id.
    pub runs: Vec<RunSummary>,
}

/// Path of a run's result file.
pub fn run_path(out: &Path, id: &str) -> PathBuf {
    out.join("runs").join(format!("{id}.json"))
}

/// Reads a run's result if its file exists, parses, and holds exactly `run`'s configuration.
pub fn load_run(out: &Path, run: &SweepRun) -> Option<RunResult> {
    let text = std::fs::read_to_string(run_path(out, &run.id)).ok()?;
    let result: RunResult = serde_json::from_str(&text).ok()?;
    let stored = serde_json::to_value(&result.config).ok()?;
    let wanted = serde_json::to_value(&run.config).ok()?;
    (stored == wanted).then_some(result)
}

/// Every run of the sweep with its result if present (in expansion order).
pub fn collect_results(sweep: &SweepConfig, out: &Path) -> Vec<(SweepRun, Option<RunResult>)> {
    sweep
        .expand()
        .into_iter()
        .map(|r| {
            let res = if r.invalid.is_none() {
                load_run(out, &r)
            } else {
                None
            };
            (r, res)
        })
        .collect()
}

/// Builds the summary of the results found in `out/runs` (from any number of shards that
/// wrote there). Writes nothing; see [`merge`].
pub fn summarise(sweep: &SweepConfig, out: &Path) -> SweepSummary {
    let mut runs = Vec::new();
    let mut missing_ids = Vec::new();
    let mut invalid = Vec::new();
    let mut total = 0;
    for (run, res) in collect_results(sweep, out) {
        if let Some(reason) = &run.invalid {
            invalid.push(InvalidRun {
                id: run.id.clone(),
                condition: run.config.condition.to_string(),
                batch: run.config.batch,
                reason: reason.clone(),
            });
            continue;
        }
        total += 1;
        match res {
            None => missing_ids.push(run.id.clone()),
            Some(r) => runs.push(RunSummary {
                id: run.id.clone(),
                index: run.index,
                replicate: run.replicate,
                condition: run.config.condition.to_string(),
                activation: run.config.activation,
                hidden: run.config.hidden.clone(),
                batch: run.config.batch,
                lr: run.config.lr,
                ip_lr: run.config.ip_lr,
                seed: run.config.seed,
                steps: run.config.steps,
                final_test_accuracy: r.final_test_accuracy,
                final_train_loss: r.final_train_loss,
                diverged: r.diverged,
                diverged_at_step: r.diverged_at_step,
                steps_completed: r.steps_completed,
            }),
        }
    }
    runs.sort_by(|a, b| a.id.cmp(&b.id));
    missing_ids.sort();
    invalid.sort_by(|a, b| a.id.cmp(&b.id));
    SweepSummary {
        name: sweep.name.clone(),
        seed: sweep.seed,
        total,
        present: runs.len(),
        missing: missing_ids.len(),
        missing_ids,
        invalid,
        runs,
    }
}

/// Builds the summary from `out/runs` and writes it to `out/summary.json` (atomically).
pub fn merge(sweep: &SweepConfig, out: &Path) -> Result<SweepSummary> {
    let summary = summarise(sweep, out);
    write_json_atomic(&out.join("summary.json"), &summary)?;
    Ok(summary)
}

/// Whether `name` is a temporary file of [`write_json_atomic`]:
/// `.<file>.json.<pid>.<random>.tmp`, `<random>` being [`io::TEMP_RAND_LEN`] ASCII letters
/// and digits (see [`io::write_atomic_with`]).
fn is_temporary(name: &str) -> bool {
    let Some(inner) = name
        .strip_prefix('.')
        .and_then(|n| n.strip_suffix(io::TEMP_SUFFIX))
    else {
        return false;
    };
    let mut parts = inner.rsplitn(3, '.');
    let (Some(random), Some(pid), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let digits = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    let random_ok =
        random.len() == io::TEMP_RAND_LEN && random.bytes().all(|b| b.is_ascii_alphanumeric());
    digits && random_ok && file.ends_with(".json")
}

/// Removes the temporary files that a process killed in the middle of an atomic write left
/// in `out` and `out/runs`, and returns how many it removed (a missing folder counts as
/// empty). Call it only while no other process writes to `out`: [`run_sweep_with_data`]
/// does so before an unsharded sweep, and `ipbn sweep --merge-only` before merging; a shard
/// does not, since the file may belong to another shard's write in progress.
pub fn remove_stale_temporaries(out: &Path) -> Result<usize> {
    let mut removed = 0;
    for dir in [out.to_path_buf(), out.join("runs")] {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(TrainError::io(&dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| TrainError::io(&dir, e))?;
            let name = entry.file_name();
            if !name.to_str().is_some_and(is_temporary) {
                continue;
            }
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(TrainError::io(entry.path(), e)),
            }
        }
    }
    Ok(removed)
}

/// Options of [`run_sweep`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SweepOptions<'a> {
    /// Run only this shard.
    pub shard: Option<Shard>,
    /// When set (e.g. by a Ctrl-C handler), no new run starts; runs in progress finish and
    /// are written.
    pub cancel: Option<&'a AtomicBool>,
}

/// What a sweep reports to its progress callback.
#[derive(Debug)]
pub enum SweepEvent<'a> {
    /// Before any run starts.
    Planned {
        /// Runs in this shard.
        in_shard: usize,
        /// Of those, already on disk (not run again).
        already_done: usize,
        /// Of those, to run now.
        to_run: usize,
    },
    /// A run finished and its file is written.
    Finished {
        /// The run.
        run: &'a SweepRun,
        /// Its result.
        result: &'a RunResult,
    },
    /// A run failed (its error is also in [`SweepOutcome::failed`]).
    Failed {
        /// The run.
        run: &'a SweepRun,
        /// The error.
        error: String,
    },
}

/// What [`run_sweep`] did.
#[derive(Clone, Debug)]
pub struct SweepOutcome {
    /// The summary written to `summary.json`.
    pub summary: SweepSummary,
    /// Runs trained and written now.
    pub ran: usize,
    /// Runs of the shard found on disk and skipped.
    pub already_done: usize,
    /// Runs that failed, `(id, error)`, sorted by id.
    pub failed: Vec<(String, String)>,
    /// Whether the sweep was cancelled before every run of the shard was done.
    pub cancelled: bool,
}

/// Loads the base configuration's data and runs the sweep; see [`run_sweep_with_data`].
pub fn run_sweep(
    sweep: &SweepConfig,
    out: &Path,
    options: SweepOptions<'_>,
    progress: &(dyn Fn(&SweepEvent<'_>) + Sync),
) -> Result<SweepOutcome> {
    let data = sweep.base.data.load()?;
    run_sweep_with_data(sweep, &data, out, options, progress)
}

/// Runs every run of the sweep (or of its shard) that is not yet on disk, in parallel on the
/// current rayon pool, writing `out/runs/<id>.json` as each finishes, then writes
/// `out/sweep.json` and `out/summary.json`. A failing run does not stop the others. The runs
/// go through [`execute`], the executor `ipbn reproduce` uses for the runs of its figures.
pub fn run_sweep_with_data(
    sweep: &SweepConfig,
    data: &Split,
    out: &Path,
    options: SweepOptions<'_>,
    progress: &(dyn Fn(&SweepEvent<'_>) + Sync),
) -> Result<SweepOutcome> {
    sweep.validate()?;
    let runs = sweep.expand();
    for r in runs.iter().filter(|r| r.invalid.is_none()) {
        r.config.validate_for(data)?;
    }
    std::fs::create_dir_all(out.join("runs")).map_err(|e| TrainError::io(out.join("runs"), e))?;
    if options.shard.is_none() {
        // The whole sweep owns the folder: clear what a killed earlier process left.
        remove_stale_temporaries(out)?;
    }
    write_json_atomic(&out.join("sweep.json"), sweep)?;
    let done = execute(
        &runs,
        data,
        out,
        ExecOptions {
            shard: options.shard,
            cancel: options.cancel,
            compute: true,
            keep_results: false,
        },
        progress,
    )?;
    let summary = merge(sweep, out)?;
    Ok(SweepOutcome {
        summary,
        ran: done.ran,
        already_done: done.loaded,
        failed: done.failed,
        cancelled: done.cancelled,
    })
}

/// The id of a run trained on `data` whatever its configuration's `data` field says (as the
/// runs of `ipbn reproduce`'s figures are): `<condition>-lr<lr>-b<batch>-<hash>`, the hash
/// (16 hex digits) taken over the canonical JSON of the full configuration and the data's
/// files and sizes, so that runs on other data never share a file.
pub fn run_id_on(config: &TrainConfig, data: &Split) -> String {
    let canonical = serde_json::to_string(config).expect("a TrainConfig always serialises");
    let key = format!(
        "{canonical}|{}|{}x{}",
        data.files.join(";"),
        data.train.len(),
        data.test.len()
    );
    format!(
        "{}-lr{}-b{}-{:016x}",
        config.condition.slug(),
        config.lr,
        config.batch,
        fnv1a(key.as_bytes())
    )
}

/// Reads a run's result if its file exists, parses, holds exactly `run`'s configuration and
/// was trained on `data` (same files and sizes).
pub fn load_run_on(out: &Path, run: &SweepRun, data: &Split) -> Option<RunResult> {
    load_run(out, run).filter(|r| {
        r.data_files == data.files
            && r.train_samples == data.train.len()
            && r.test_samples == data.test.len()
    })
}

/// A rough cost of a run in multiply-adds, for starting the longest runs first.
pub fn run_cost(cfg: &TrainConfig, data: &Split) -> f64 {
    let mut widths = vec![data.train.features()];
    widths.extend(&cfg.hidden);
    widths.push(data.train.classes.max(2));
    let macs: f64 = widths.windows(2).map(|w| (w[0] * w[1]) as f64).sum();
    // A step costs about 3 passes over its batch (forward, backward, update), plus a fixed
    // overhead per step that dominates at batch 1; a record one pass over the test set and
    // the probe.
    let per_step = 3.0 * cfg.batch as f64 + 8.0;
    let records = (cfg.steps / cfg.eval_every.max(1) + 2) as f64;
    macs * (cfg.steps as f64 * per_step + records * (data.test.len() + cfg.probe_size) as f64)
}

/// Options of [`execute`].
#[derive(Clone, Copy, Debug)]
pub struct ExecOptions<'a> {
    /// Only the runs whose [`SweepRun::index`] belongs to this shard (the others are left
    /// alone and come back as `None`).
    pub shard: Option<Shard>,
    /// When set, no new run starts; runs in progress finish and are written.
    pub cancel: Option<&'a AtomicBool>,
    /// Train the runs not on disk (`false`: only read what is there, e.g. to merge shards).
    pub compute: bool,
    /// Return every result read or trained in [`Executed::results`] (`false`: keep none in
    /// memory, as a sweep of thousands of runs should).
    pub keep_results: bool,
}

/// What [`execute`] did.
#[derive(Clone, Debug, Default)]
pub struct Executed {
    /// Per run of the list, in list order, its result if `keep_results` was set and the run
    /// was read or trained (`None` for invalid runs, runs of other shards, runs not on disk
    /// when not computing, failed and cancelled runs).
    pub results: Vec<Option<RunResult>>,
    /// Runs trained and written now.
    pub ran: usize,
    /// Runs found on disk and not trained again.
    pub loaded: usize,
    /// Ids of the runs of the shard that are neither on disk nor trained now (not computing,
    /// failed or cancelled), sorted.
    pub missing: Vec<String>,
    /// Runs that failed, `(id, error)`, sorted by id.
    pub failed: Vec<(String, String)>,
    /// Whether the cancellation flag stopped runs from starting.
    pub cancelled: bool,
}

/// The executor of `ipbn sweep` and `ipbn reproduce`: every valid run of `runs` in the shard
/// whose file `out/runs/<id>.json` holds its configuration trained on `data` is read, not
/// trained again; the others (if `compute`) are trained in parallel on the current rayon pool,
/// one run per task, in list order (put the longest first to finish sooner, e.g. by
/// [`run_cost`]), and each is written atomically as it finishes, so a process killed at any
/// moment loses only the runs in progress. A failing run does not stop the others. Each run is
/// single-threaded and depends only on its configuration and the data, so results are
/// byte-identical whatever the thread count and the order. Runs with the same id must have
/// the same configuration; the caller lists each id once.
pub fn execute(
    runs: &[SweepRun],
    data: &Split,
    out: &Path,
    options: ExecOptions<'_>,
    progress: &(dyn Fn(&SweepEvent<'_>) + Sync),
) -> Result<Executed> {
    std::fs::create_dir_all(out.join("runs")).map_err(|e| TrainError::io(out.join("runs"), e))?;
    let mut results: Vec<Option<RunResult>> = runs.iter().map(|_| None).collect();
    let mut pending: Vec<usize> = Vec::new();
    let mut in_shard = 0;
    let mut loaded = 0;
    for (i, r) in runs.iter().enumerate() {
        if r.invalid.is_some() || !options.shard.iter().all(|s| s.contains(r.index)) {
            continue;
        }
        in_shard += 1;
        match load_run_on(out, r, data) {
            Some(res) => {
                loaded += 1;
                if options.keep_results {
                    results[i] = Some(res);
                }
            }
            None => pending.push(i),
        }
    }
    let to_run = if options.compute { pending.len() } else { 0 };
    progress(&SweepEvent::Planned {
        in_shard,
        already_done: loaded,
        to_run,
    });
    let never = AtomicBool::new(false);
    let cancel = options.cancel.unwrap_or(&never);
    let failed = Mutex::new(Vec::new());
    let mut trained: Vec<(usize, RunResult)> = Vec::new();
    if options.compute {
        trained = pending
            .par_iter()
            .with_max_len(1)
            .filter_map(|&i| {
                let run = &runs[i];
                if cancel.load(Ordering::Relaxed) {
                    return None;
                }
                let outcome = trainer::run(&run.config, data, &mut |_| {}).and_then(|result| {
                    write_json_atomic(&run_path(out, &run.id), &result).map(|_| result)
                });
                match outcome {
                    Ok(result) => {
                        progress(&SweepEvent::Finished {
                            run,
                            result: &result,
                        });
                        Some((i, result))
                    }
                    Err(TrainError::Cancelled) => None,
                    Err(e) => {
                        let error = e.to_string();
                        progress(&SweepEvent::Failed {
                            run,
                            error: error.clone(),
                        });
                        failed
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((run.id.clone(), error));
                        None
                    }
                }
            })
            .collect();
    }
    let mut failed = failed.into_inner().unwrap_or_else(|p| p.into_inner());
    failed.sort();
    let ran = trained.len();
    let mut done: HashSet<usize> = HashSet::new();
    for (i, r) in trained {
        done.insert(i);
        if options.keep_results {
            results[i] = Some(r);
        }
    }
    let mut missing: Vec<String> = pending
        .iter()
        .filter(|i| !done.contains(i))
        .map(|&i| runs[i].id.clone())
        .collect();
    missing.sort();
    let cancelled = options.compute && ran + failed.len() < pending.len();
    Ok(Executed {
        results,
        ran,
        loaded,
        missing,
        failed,
        cancelled,
    })
}
