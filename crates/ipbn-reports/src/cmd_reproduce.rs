//! `ipbn reproduce`: run figures, write their files and regenerate the index `README.md`.

use crate::error::{CliError, CliResult};
use crate::figure::{DataSource, Figure, FigureContext, FigureOutput, Progress};
use crate::plot::output::{write_json_atomic, write_text_atomic};
use crate::protocol::{Overrides, Setting};
use crate::runs::{Planned, RunMode, RunStore};
use crate::stats::Verdict;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ipbn_train::sweep::Shard;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Run figures (default: all, full size, into `reports/`) and regenerate the index.
///
/// Every network run is stored as OUT/runs/<id>.json as it finishes, and a run already
/// stored is read back instead of trained: a reproduce killed or interrupted (Ctrl-C lets the
/// runs in progress finish) and started again trains no finished run, and figures that share
/// runs train them once. `--shard I/N` trains only its share of the runs of the selected
/// figures and draws nothing; `--merge-only` then draws every selected figure from the stored
/// runs (scripts/slurm-reproduce.sh does both on Slurm).
///
/// Protocols are data: `--config FILE` and `--set KEY=VALUE` change a figure's settings (its
/// full protocol, or the quick one with --quick) before it runs, and ID.json records the
/// result under `config`. A --set value is read as JSON, else as a string; dotted keys reach
/// nested settings (--set base.lr=0.1). `--set ID.KEY=VALUE` changes figure ID only; a plain
/// KEY changes every selected figure that has it and is an error only if none has it. An
/// unknown key or a bad value exits with 2, naming the figure, the key and the accepted keys.
#[derive(clap::Args, Debug, Clone)]
pub struct ReproduceArgs {
    /// Figure ids to run (default: every figure). See `ipbn reproduce --list`.
    #[arg(value_name = "ID")]
    pub ids: Vec<String>,
    /// Small, fast settings instead of the full protocol.
    #[arg(long)]
    pub quick: bool,
    /// Data of the network figures (default: the shipped 10k subset): a dataset fetched with
    /// `ipbn data fetch` (mnist, fashion-mnist, kmnist) or a folder of MNIST IDX files.
    #[arg(long, value_name = "NAME|DIR")]
    pub data: Option<PathBuf>,
    /// Output folder (runs are stored in its `runs` folder).
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
    /// Seeds per condition: shorthand for `--set seeds=N` (every figure that has `seeds`).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub seeds: Option<u32>,
    /// Worker threads for parallel runs (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// A JSON file of settings: one figure's (with one ID), or {"ID": {settings}, ...}.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Change one setting, e.g. `--set base.steps=20000`, `--set bn-mnist.seeds=10`
    /// (repeatable; applied after --config, in order).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Train only shard I of N of the selected figures' runs (run p of the list of every
    /// distinct run, in figure order, goes to shard p mod N + 1) and draw nothing; every
    /// shard must be given the same IDs and flags. Then draw with --merge-only.
    #[arg(long, value_name = "I/N", conflicts_with = "merge_only")]
    pub shard: Option<String>,
    /// Train nothing: draw every selected figure from the runs stored in OUT/runs (exits 1
    /// naming the missing runs and the shards to rerun if any is not stored).
    #[arg(long)]
    pub merge_only: bool,
    /// List the figure ids with their questions and exit.
    #[arg(long)]
    pub list: bool,
}

impl Default for ReproduceArgs {
    fn default() -> Self {
        ReproduceArgs {
            ids: Vec::new(),
            quick: false,
            data: None,
            out: PathBuf::from("reports"),
            seeds: None,
            jobs: None,
            config: None,
            set: Vec::new(),
            shard: None,
            merge_only: false,
            list: false,
        }
    }
}

/// One figure's entry in the index (`index.json`), kept across partial runs.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct IndexEntry {
    /// Figure id.
    pub id: String,
    /// The question the figure answers.
    pub question: String,
    /// Its source.
    pub source: String,
    /// Finding with numbers from the run.
    pub finding: String,
    /// Whether it was produced with `--quick`.
    pub quick: bool,
}

fn select(ids: &[String]) -> CliResult<Vec<Box<dyn Figure>>> {
    let all = crate::figures::all();
    if ids.is_empty() {
        return Ok(all);
    }
    let known: Vec<&str> = all.iter().map(|f| f.id()).collect();
    for id in ids {
        if !known.contains(&id.as_str()) {
            return Err(CliError::Usage(format!(
                "unknown figure `{id}`; known figures: {}",
                known.join(", ")
            )));
        }
    }
    Ok(all
        .into_iter()
        .filter(|f| ids.iter().any(|i| i == f.id()))
        .collect())
}

fn progress_bar(quiet: bool) -> ProgressBar {
    let pb = ProgressBar::new(0);
    if quiet || !std::io::stderr().is_terminal() {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_style(
        ProgressStyle::with_template("{prefix:>20} [{bar:30}] {pos}/{len} runs {elapsed_precise}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb
}

/// A `--data` folder, which must exist.
fn data_dir(d: &Path) -> CliResult<DataSource> {
    if !d.is_dir() {
        return Err(CliError::Usage(format!(
            "--data {}: no such folder or dataset; point it at a folder with the MNIST IDX \
             files (train-images-idx3-ubyte[.gz], ...) or name a dataset fetched with \
             `ipbn data fetch` ({})",
            d.display(),
            ipbn_train::data::catalog::DATASET_NAMES.join(", ")
        )));
    }
    Ok(DataSource::Dir(d.to_path_buf()))
}

/// Each selected figure's changes from `--config`, `--seeds` and `--set` (see
/// [`crate::protocol`]), every one checked before anything runs.
fn overrides(args: &ReproduceArgs, figures: &[Box<dyn Figure>]) -> CliResult<Vec<Overrides>> {
    let all = crate::figures::all();
    let all_ids: Vec<&str> = all.iter().map(|f| f.id()).collect();
    let selected: Vec<&str> = figures.iter().map(|f| f.id()).collect();
    let bases: Vec<Value> = figures
        .iter()
        .map(|f| f.config_json(args.quick))
        .collect::<Result<_, _>>()?;
    let mut out = vec![Overrides::default(); figures.len()];
    let not_selected = |what: &str, id: &str| {
        CliError::Usage(format!(
            "{what}: figure `{id}` is not selected (selected: {}); add it to the IDs",
            selected.join(", ")
        ))
    };
    if let Some(path) = &args.config {
        let what = format!("--config {}", path.display());
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::Usage(format!("{what}: cannot read the file: {e}")))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| CliError::Usage(format!("{what}: not valid JSON: {e}")))?;
        match crate::protocol::split_config_file(&value, &all_ids) {
            Some(map) => {
                for (id, v) in map {
                    let i = selected
                        .iter()
                        .position(|s| *s == id)
                        .ok_or_else(|| not_selected(&what, &id))?;
                    out[i].patch = Some(v);
                }
            }
            None if figures.len() == 1 => out[0].patch = Some(value),
            None => {
                return Err(CliError::Usage(format!(
                    "{what}: with several figures selected the file must map figure ids to \
                     their settings, e.g. {{\"bn-mnist\": {{\"seeds\": 10}}}}"
                )))
            }
        }
    }
    let mut sets: Vec<String> = args
        .seeds
        .map(|n| format!("seeds={n}"))
        .into_iter()
        .collect();
    sets.extend(args.set.iter().cloned());
    for text in &sets {
        let setting = Setting::parse(text, &all_ids).map_err(CliError::Usage)?;
        if let Some(f) = &setting.figure {
            let i = selected
                .iter()
                .position(|s| s == f)
                .ok_or_else(|| not_selected(&setting.display(), f))?;
            out[i].sets.push(setting);
            continue;
        }
        let targets: Vec<usize> = (0..figures.len())
            .filter(|&i| crate::protocol::has_key(&bases[i], &setting.key))
            .collect();
        if targets.is_empty() {
            let key = &setting.key;
            return Err(CliError::Usage(if figures.len() == 1 {
                format!(
                    "{}: {}: unknown key `{key}`; {}",
                    selected[0],
                    setting.display(),
                    crate::protocol::accepted(&bases[0], key)
                )
            } else {
                let each: Vec<String> = selected
                    .iter()
                    .zip(&bases)
                    .map(|(id, b)| format!("{id}: {}", crate::protocol::accepted(b, key)))
                    .collect();
                format!(
                    "{}: no selected figure has the key `{key}`; {}",
                    setting.display(),
                    each.join("; ")
                )
            }));
        }
        for i in targets {
            out[i].sets.push(setting.clone());
        }
    }
    for (f, o) in figures.iter().zip(&out) {
        if !o.is_empty() {
            f.resolve_config(args.quick, o)?;
        }
    }
    Ok(out)
}

/// Where the record of a shard is written.
fn shard_record_path(out: &Path, shard: Shard) -> PathBuf {
    out.join("shards")
        .join(format!("shard-{}-of-{}.json", shard.index, shard.count))
}

/// The record a shard leaves in `OUT/shards/`: which runs it owns, so that a merge can say
/// which shard to rerun.
#[derive(Serialize, Deserialize, Debug, Clone)]
struct ShardRecord {
    shard: String,
    figures: Vec<String>,
    quick: bool,
    total_runs: usize,
    runs: Vec<String>,
    /// Whether the shard had trained every run it owned of a plan of `total_runs` runs (a
    /// later stage appearing after that is trained by the shard that completes the earlier
    /// one).
    #[serde(default)]
    finished: bool,
}

/// Runs the selected figures and regenerates the index. Returns the outputs in order.
pub fn reproduce(args: &ReproduceArgs) -> CliResult<Vec<FigureOutput>> {
    reproduce_with(args, None)
}

/// [`reproduce`], with a cancellation flag (set by Ctrl-C): no new run starts, the runs in
/// progress finish and are stored, and it returns an error saying to run again to resume.
/// With `--shard` it trains its share of the runs and returns no output.
pub fn reproduce_with(
    args: &ReproduceArgs,
    cancel: Option<&'static AtomicBool>,
) -> CliResult<Vec<FigureOutput>> {
    let figures = select(&args.ids)?;
    let shard = args
        .shard
        .as_deref()
        .map(|s| s.parse::<Shard>())
        .transpose()
        .map_err(|e| CliError::Usage(format!("--shard {}", e.message)))?;
    let overrides = overrides(args, &figures)?;
    let data = match &args.data {
        None => DataSource::Shipped,
        Some(d) => match ipbn_train::DataSource::from_arg(d) {
            ipbn_train::DataSource::Shipped => DataSource::Shipped,
            ipbn_train::DataSource::Dataset(name) => {
                // Checked before any figure runs: a missing dataset is a usage error telling
                // to fetch it.
                let dir = ipbn_train::data::verify_named(&name)
                    .map_err(|e| CliError::Usage(format!("--data {name}: {e}")))?;
                eprintln!("data: {name}, verified in {}", dir.display());
                DataSource::Dataset(name)
            }
            _ => data_dir(d)?,
        },
    };
    std::fs::create_dir_all(&args.out)
        .map_err(|e| CliError::Run(format!("cannot create {}: {e}", args.out.display())))?;
    let pool = {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(j) = args.jobs {
            b = b.num_threads(j as usize);
        }
        b.build()
            .map_err(|e| CliError::Run(format!("cannot start worker threads: {e}")))?
    };
    let pb = Arc::new(progress_bar(false));
    let context = |fig: &dyn Figure, i: usize, runs: &Arc<RunStore>| {
        pb.set_prefix(fig.id());
        pb.set_position(0);
        pb.set_length(0);
        let bar = Arc::clone(&pb);
        let progress: Progress = Arc::new(move |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        });
        FigureContext {
            quick: args.quick,
            data: data.clone(),
            out_dir: args.out.clone(),
            progress,
            runs: Arc::clone(runs),
            overrides: overrides[i].clone(),
        }
    };
    if shard.is_some() || args.merge_only {
        // Every run of the selected network figures, declared without training or drawing
        // (a later stage only once the stage it depends on is stored).
        let plan_all = || -> CliResult<Planned> {
            let plan = RunStore::new(RunMode::Plan, None);
            for (i, fig) in figures.iter().enumerate() {
                if fig.trains_networks() {
                    let ctx = context(fig.as_ref(), i, &plan);
                    pool.install(|| fig.declare_runs(&ctx))?;
                }
            }
            Ok(plan.take_planned())
        };
        let planned = plan_all()?;
        if let Some(shard) = shard {
            pb.finish_and_clear();
            run_shard(args, &figures, shard, planned, &plan_all, cancel, &pool)?;
            return Ok(Vec::new());
        }
        check_stored(args, &planned)?;
    } else {
        // This process owns the folder: clear what a killed earlier one left half-written.
        ipbn_train::sweep::remove_stale_temporaries(&args.out)
            .map_err(|e| CliError::Run(e.to_string()))?;
    }
    let mode = if args.merge_only {
        RunMode::MergeOnly
    } else {
        RunMode::Compute
    };
    let store = RunStore::new(mode, cancel);
    let mut outputs = Vec::new();
    for (i, fig) in figures.iter().enumerate() {
        let ctx = context(fig.as_ref(), i, &store);
        let started = std::time::Instant::now();
        let out = pool.install(|| fig.run(&ctx))?;
        pb.suspend(|| {
            eprintln!(
                "{:>20}  {:.1} s  runs: {} trained, {} stored  {}",
                fig.id(),
                started.elapsed().as_secs_f64(),
                out.runs.computed,
                out.runs.loaded,
                out.finding
            )
        });
        outputs.push(out);
        update_index(&args.out, &figures, &outputs, args.quick)?;
    }
    pb.finish_and_clear();
    Ok(outputs)
}

/// `--shard I/N`: trains the runs `p` of `planned` with `p mod N = I − 1` that are not stored
/// yet, stores each as it finishes, and records the shard in `OUT/shards/`.
///
/// Figures that run in stages declare a later stage only once the earlier one is stored, so
/// after its share the shard plans again and goes on while new runs appear. A later stage's
/// runs owned by a shard that had already finished (its record says so, for a smaller plan)
/// are trained by the shard that sees the stage appear: shards run one after another, or at
/// once, leave every run stored. Two shards finishing at the same moment may both train such
/// a run; the stored result is the same either way.
fn run_shard(
    args: &ReproduceArgs,
    figures: &[Box<dyn Figure>],
    shard: Shard,
    mut planned: Planned,
    replan: &dyn Fn() -> CliResult<Planned>,
    cancel: Option<&'static AtomicBool>,
    pool: &rayon::ThreadPool,
) -> CliResult {
    let path = shard_record_path(&args.out, shard);
    std::fs::create_dir_all(args.out.join("shards"))
        .map_err(|e| CliError::Run(format!("cannot create {}: {e}", args.out.display())))?;
    let figure_ids: Vec<String> = figures.iter().map(|f| f.id().to_string()).collect();
    let write_record = |planned: &Planned, finished: bool| -> CliResult {
        let record = ShardRecord {
            shard: shard.to_string(),
            figures: figure_ids.clone(),
            quick: args.quick,
            total_runs: planned.runs.len(),
            runs: (0..planned.runs.len())
                .filter(|&p| shard.contains(p))
                .map(|p| planned.runs[p].id.clone())
                .collect(),
            finished,
        };
        write_json_atomic(
            &path,
            &serde_json::to_value(&record).map_err(|e| CliError::Run(e.to_string()))?,
        )
        .map_err(|e| CliError::Run(e.to_string()))
    };
    let started = std::time::Instant::now();
    let (mut ran, mut loaded, mut adopted) = (0, 0, 0);
    loop {
        // Shards that finished before this plan's later runs could be declared.
        let done_early: Vec<Shard> = shard_records(&args.out, &figure_ids, args.quick)
            .into_iter()
            .filter(|r| r.finished && r.total_runs < planned.runs.len())
            .filter_map(|r| r.shard.parse::<Shard>().ok())
            .filter(|s| s.count == shard.count && *s != shard)
            .collect();
        let mine: Vec<usize> = (0..planned.runs.len())
            .filter(|&p| {
                shard.contains(p)
                    || done_early.iter().any(|s| {
                        s.contains(p)
                            && ipbn_train::sweep::load_run_on(
                                &args.out,
                                &planned.runs[p],
                                &planned.data[planned.split[p]],
                            )
                            .is_none()
                    })
            })
            .collect();
        adopted += mine.iter().filter(|&&p| !shard.contains(p)).count();
        write_record(&planned, false)?;
        for (k, data) in planned.data.iter().enumerate() {
            // This data set's runs of the shard, longest first.
            let mut runs: Vec<ipbn_train::sweep::SweepRun> = mine
                .iter()
                .filter(|&&p| planned.split[p] == k)
                .map(|&p| planned.runs[p].clone())
                .collect();
            runs.sort_by(|a, b| {
                let (ca, cb) = (
                    ipbn_train::sweep::run_cost(&a.config, data),
                    ipbn_train::sweep::run_cost(&b.config, data),
                );
                cb.total_cmp(&ca).then(a.index.cmp(&b.index))
            });
            let done = pool
                .install(|| {
                    ipbn_train::sweep::execute(
                        &runs,
                        data,
                        &args.out,
                        ipbn_train::sweep::ExecOptions {
                            shard: None,
                            cancel,
                            compute: true,
                            keep_results: false,
                        },
                        &|_| {},
                    )
                })
                .map_err(|e| CliError::Run(e.to_string()))?;
            ran += done.ran;
            loaded += done.loaded;
            if let Some((id, e)) = done.failed.first() {
                return Err(CliError::Run(format!("training run {id} failed: {e}")));
            }
            if done.cancelled || !done.missing.is_empty() {
                return Err(CliError::Run(format!(
                    "interrupted: the runs in progress finished and every finished run is \
                     stored in {}; run the same command again to resume",
                    args.out.join("runs").display()
                )));
            }
        }
        // Say this plan is done before planning again, so that a shard completing an earlier
        // stage after this look trains this shard's share of the later one.
        write_record(&planned, true)?;
        let next = replan()?;
        if next.runs.len() == planned.runs.len() {
            break;
        }
        planned = next;
    }
    let stages = planned.stage.iter().max().map_or(1, |s| s + 1);
    eprintln!(
        "shard {shard}: {} of {} runs ({stages} stage(s){}); runs: {ran} trained, {loaded} stored; {:.1} s",
        (0..planned.runs.len()).filter(|&p| shard.contains(p)).count(),
        planned.runs.len(),
        if adopted > 0 {
            format!(", and {adopted} of shards that had finished")
        } else {
            String::new()
        },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The records left in `OUT/shards/` by the shards of the figure set `figure_ids`.
fn shard_records(out: &Path, figure_ids: &[String], quick: bool) -> Vec<ShardRecord> {
    std::fs::read_dir(out.join("shards"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|t| serde_json::from_str::<ShardRecord>(&t).ok())
        .filter(|r| r.figures == figure_ids && r.quick == quick)
        .collect()
}

/// `--merge-only`: every declared run must be stored; otherwise an error naming how many are
/// missing and which shards (from their records in `OUT/shards/`) to rerun.
fn check_stored(args: &ReproduceArgs, planned: &Planned) -> CliResult {
    let missing: Vec<&str> = planned
        .runs
        .iter()
        .zip(&planned.split)
        .filter(|(r, &k)| ipbn_train::sweep::load_run_on(&args.out, r, &planned.data[k]).is_none())
        .map(|(r, _)| r.id.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    // Which shard owns each missing run: from the records the shards of this selection left
    // in OUT/shards/ (a shard not run yet is found from the shard count the others used).
    let figure_ids: Vec<String> = select(&args.ids)?
        .iter()
        .map(|f| f.id().to_string())
        .collect();
    let records = shard_records(&args.out, &figure_ids, args.quick);
    let mut counts: Vec<usize> = records
        .iter()
        .filter_map(|r| r.shard.parse::<Shard>().ok().map(|s| s.count))
        .collect();
    counts.sort_unstable();
    counts.dedup();
    let mut owners: Vec<(usize, usize, usize)> = Vec::new(); // (shard, of, missing)
    let mut unowned = 0;
    for (p, run) in planned.runs.iter().enumerate() {
        if !missing.contains(&run.id.as_str()) {
            continue;
        }
        let owner = records
            .iter()
            .find(|r| r.runs.contains(&run.id))
            .and_then(|r| r.shard.parse::<Shard>().ok())
            .or_else(|| match counts[..] {
                [n] => Some(Shard {
                    index: p % n + 1,
                    count: n,
                }),
                _ => None,
            });
        match owner {
            Some(s) => match owners
                .iter_mut()
                .find(|(i, n, _)| (*i, *n) == (s.index, s.count))
            {
                Some(o) => o.2 += 1,
                None => owners.push((s.index, s.count, 1)),
            },
            None => unowned += 1,
        }
    }
    owners.sort_unstable();
    let mut advice: Vec<String> = owners
        .iter()
        .map(|(i, n, m)| format!("--shard {i}/{n} ({m} missing)"))
        .collect();
    if unowned > 0 {
        advice.push(format!(
            "every shard --shard I/N with the same IDs and flags ({unowned} missing runs belong \
             to no recorded shard), or reproduce without --merge-only"
        ));
    }
    Err(CliError::Run(format!(
        "--merge-only: {} of {} runs are not stored in {}; rerun {}",
        missing.len(),
        planned.runs.len(),
        args.out.join("runs").display(),
        advice.join(", ")
    )))
}

/// Merges the new outputs into `OUT/index.json` and rewrites `OUT/README.md` from it.
fn update_index(
    out: &Path,
    figures: &[Box<dyn Figure>],
    outputs: &[FigureOutput],
    quick: bool,
) -> CliResult {
    let index_path = out.join("index.json");
    let mut entries: Vec<IndexEntry> = std::fs::read_to_string(&index_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    for o in outputs {
        let source = figures
            .iter()
            .find(|f| f.id() == o.id)
            .map(|f| f.source().to_string())
            .unwrap_or_default();
        let entry = IndexEntry {
            id: o.id.clone(),
            question: o.question.clone(),
            source,
            finding: o.finding.clone(),
            quick,
        };
        match entries.iter_mut().find(|e| e.id == o.id) {
            Some(e) => *e = entry,
            None => entries.push(entry),
        }
    }
    // Keep the figures.md order.
    let order: Vec<&str> = crate::figures::all()
        .iter()
        .map(|f| f.id())
        .collect::<Vec<_>>();
    entries.sort_by_key(|e| order.iter().position(|o| *o == e.id).unwrap_or(usize::MAX));
    let value = serde_json::to_value(&entries).map_err(|e| CliError::Run(e.to_string()))?;
    write_json_atomic(&index_path, &value).map_err(|e| CliError::Run(e.to_string()))?;
    let verdicts = update_verdicts(out, outputs, &order)?;
    write_text_atomic(out.join("README.md"), &render_index(&entries, &verdicts))
        .map_err(|e| CliError::Run(e.to_string()))
}

/// Merges the verdicts of the figures in `outputs` into `OUT/verdicts.json` (the verdicts of
/// figures not run this time are kept; those of a figure that was run are replaced by what
/// it gave now), in figure order, and returns them.
fn update_verdicts(
    out: &Path,
    outputs: &[FigureOutput],
    order: &[&str],
) -> CliResult<Vec<Verdict>> {
    let path = out.join("verdicts.json");
    let mut all: Vec<Verdict> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    all.retain(|v| !outputs.iter().any(|o| o.id == v.figure));
    all.extend(outputs.iter().flat_map(|o| o.verdicts.iter().cloned()));
    // Stable: figure order, then the order each figure gave.
    all.sort_by_key(|v| {
        order
            .iter()
            .position(|o| *o == v.figure)
            .unwrap_or(usize::MAX)
    });
    let value = serde_json::to_value(&all).map_err(|e| CliError::Run(e.to_string()))?;
    write_json_atomic(&path, &value).map_err(|e| CliError::Run(e.to_string()))?;
    Ok(all)
}

/// A table cell: no line breaks or pipes.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The Markdown index: the verdict table, then every figure embedded with its question,
/// source and finding.
pub fn render_index(entries: &[IndexEntry], verdicts: &[Verdict]) -> String {
    let mut s = String::new();
    s.push_str("# Figures\n\n");
    if !verdicts.is_empty() {
        s.push_str(
            "## Verdicts on the sources' claims\n\n\
             Computed from the runs below (also in [`verdicts.json`](verdicts.json)); what each \
             verdict requires is in the workspace README. *reproduced*: every test of the claim \
             supports it with a 95 % CI excluding no effect; *partly*: some tests do; \
             *not-reproduced*: none does.\n\n\
             | source | claim | verdict | evidence | figure |\n|---|---|---|---|---|\n",
        );
        for v in verdicts {
            s.push_str(&format!(
                "| {} | {} | **{}** | {} | [`{}`](#{}) |\n",
                cell(&v.source),
                cell(&v.claim),
                v.verdict.as_str(),
                cell(&v.evidence),
                v.figure,
                v.figure
            ));
        }
        s.push('\n');
    }
    s.push_str(
        "Generated by `ipbn reproduce` (`cargo run --release` runs every figure at full size). \
         Do not edit by hand: every number below is computed by the run that drew the figure. \
         Each figure has an SVG, a PNG and a JSON file with the numbers drawn, the full \
         configuration and the seeds.\n\n",
    );
    for e in entries {
        s.push_str(&format!("- [`{}`](#{}) {}\n", e.id, e.id, e.question));
    }
    s.push('\n');
    for e in entries {
        s.push_str(&format!("## {}\n\n", e.id));
        s.push_str(&format!("**Question.** {}\n\n", e.question));
        s.push_str(&format!("![{}]({}.png)\n\n", e.id, e.id));
        s.push_str(&format!("**Finding.** {}\n\n", e.finding));
        s.push_str(&format!(
            "Source: {}. Files: [`{id}.svg`]({id}.svg), [`{id}.json`]({id}.json){}.\n\n",
            e.source,
            if e.quick { " (quick settings)" } else { "" },
            id = e.id
        ));
    }
    s
}

/// Runs `ipbn reproduce`.
pub fn run(args: &ReproduceArgs) -> CliResult {
    if args.list {
        for f in crate::figures::all() {
            println!("{:<20} {}", f.id(), f.question());
        }
        return Ok(());
    }
    // Ctrl-C (or SIGTERM) starts no new run; the runs in progress finish and are stored.
    let cancel = crate::cmd_sweep::install_cancel_handlers()?;
    let outputs = reproduce_with(args, Some(cancel))?;
    if args.shard.is_some() {
        return Ok(());
    }
    let computed: usize = outputs.iter().map(|o| o.runs.computed).sum();
    let loaded: usize = outputs.iter().map(|o| o.runs.loaded).sum();
    println!(
        "wrote {} figure(s) and the index to {}; runs: {computed} trained, {loaded} stored \
         (read from {})",
        outputs.len(),
        args.out.join("README.md").display(),
        args.out.join("runs").display()
    );
    Ok(())
}
