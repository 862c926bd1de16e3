//! `ipbn reproduce`: run figures, write their files and regenerate the index `README.md`.

use crate::error::{CliError, CliResult};
use crate::figure::{DataSource, Figure, FigureContext, FigureOutput, Progress};
use crate::plot::output::{write_json_atomic, write_text_atomic};
use crate::stats::Verdict;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Arguments of `ipbn reproduce`.
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
    /// Output folder.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
    /// Seeds per condition in network figures (default: each figure's own).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub seeds: Option<u32>,
    /// Worker threads for parallel runs (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
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

/// Runs the selected figures and regenerates the index. Returns the outputs in order.
pub fn reproduce(args: &ReproduceArgs) -> CliResult<Vec<FigureOutput>> {
    let figures = select(&args.ids)?;
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
    let mut outputs = Vec::new();
    for fig in &figures {
        pb.set_prefix(fig.id());
        pb.set_position(0);
        pb.set_length(0);
        let bar = Arc::clone(&pb);
        let progress: Progress = Arc::new(move |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        });
        let ctx = FigureContext {
            quick: args.quick,
            seeds: args.seeds.map(|s| s as usize),
            data: data.clone(),
            out_dir: args.out.clone(),
            progress,
        };
        let started = std::time::Instant::now();
        let out = pool.install(|| fig.run(&ctx))?;
        pb.suspend(|| {
            eprintln!(
                "{:>20}  {:.1} s  {}",
                fig.id(),
                started.elapsed().as_secs_f64(),
                out.finding
            )
        });
        outputs.push(out);
        update_index(&args.out, &figures, &outputs, args.quick)?;
    }
    pb.finish_and_clear();
    Ok(outputs)
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
    let outputs = reproduce(args)?;
    println!(
        "wrote {} figure(s) and the index to {}",
        outputs.len(),
        args.out.join("README.md").display()
    );
    Ok(())
}
