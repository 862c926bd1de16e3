//! `ipbn data fetch NAME` and `ipbn data list`: the standard datasets on demand, in a cache.

use crate::error::{CliError, CliResult};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use ipbn_train::data::catalog::{self, DatasetSpec};
use ipbn_train::data::fetch::{self, FetchError, FetchEvent, FetchOptions, FileState};
use ipbn_train::data::DataError;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Download the standard datasets (MNIST, Fashion-MNIST, KMNIST) into a cache, or list it.
///
/// Datasets are cached in --dir, else $IPBN_DATA/NAME, else the platform cache folder
/// (e.g. ~/.cache/ipbn/NAME); `--data NAME` on train, sweep and reproduce reads them from
/// there. IPBN_DATA_MIRRORS (comma-separated base URLs) replaces the built-in mirrors;
/// IPBN_DATA_TIMEOUT (seconds) sets the network timeout; the standard proxy variables are
/// honoured.
#[derive(Args, Debug, Clone)]
pub struct DataArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: DataCommand,
}

/// The `ipbn data` subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum DataCommand {
    /// Download a dataset's four IDX files, each verified against its published checksum
    /// (files already there and verified are skipped).
    Fetch(FetchArgs),
    /// Show each dataset, where it is cached and whether its files verify.
    List,
}

/// Arguments of `ipbn data fetch`.
#[derive(Args, Debug, Clone)]
pub struct FetchArgs {
    /// Dataset: mnist, fashion-mnist or kmnist.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Folder to put the files in (default: $IPBN_DATA/NAME, else the platform cache).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

fn usage(e: DataError) -> CliError {
    CliError::Usage(e.to_string())
}

fn fetch_error(e: FetchError) -> CliError {
    if e.is_usage() {
        CliError::Usage(e.to_string())
    } else {
        CliError::Run(e.to_string())
    }
}

/// The spec of `name` with the mirrors of `IPBN_DATA_MIRRORS`, if set.
fn resolve_spec(name: &str) -> CliResult<DatasetSpec> {
    let spec = catalog::spec(name).map_err(usage)?;
    Ok(match catalog::mirrors_from_env().map_err(usage)? {
        Some(mirrors) => spec.with_mirrors(mirrors),
        None => spec,
    })
}

fn bytes_bar(total: Option<u64>, file: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(t) => ProgressBar::new(t),
        None => ProgressBar::no_length(),
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>28} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(file.to_string());
    bar
}

/// Runs `ipbn data fetch`: downloads into the folder and prints where the data is.
pub fn run_fetch(args: &FetchArgs) -> CliResult {
    let spec = resolve_spec(&args.name)?;
    let options = FetchOptions::from_env().map_err(usage)?;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => catalog::cache_dir(&spec.name).map_err(usage)?,
    };
    eprintln!(
        "{}: fetching into {} (licence: {})",
        spec.title,
        dir.display(),
        spec.licence
    );
    let mut bar = ProgressBar::hidden();
    let report = fetch::fetch(&spec, &dir, &options, &mut |event| match event {
        FetchEvent::Skipped { file } => eprintln!("{file}: already there and verified"),
        FetchEvent::Started { file, url, total } => {
            bar = bytes_bar(total, file);
            bar.suspend(|| eprintln!("{file}: downloading {url}"));
        }
        FetchEvent::Progress { received } => bar.set_position(received),
        FetchEvent::MirrorFailed { attempt } => {
            bar.finish_and_clear();
            eprintln!("{}: {}", attempt.url, attempt.problem);
        }
        FetchEvent::Saved { file, bytes, .. } => {
            bar.finish_and_clear();
            eprintln!("{file}: {bytes} bytes, checksum verified");
        }
        _ => {}
    })
    .map_err(|e| {
        bar.finish_and_clear();
        fetch_error(e)
    })?;
    println!(
        "{}: {} file(s) downloaded, {} already there; ready in {} (use --data {}{})",
        spec.name,
        report.downloaded.len(),
        report.skipped.len(),
        report.dir.display(),
        spec.name,
        dir_hint(&args.dir, &report.dir)
    );
    Ok(())
}

/// For a fetch into a folder other than the cache, how to use it: by its path.
fn dir_hint(given: &Option<PathBuf>, dir: &Path) -> String {
    match given {
        Some(_) => format!(", or --data {} for this folder", dir.display()),
        None => String::new(),
    }
}

/// One dataset's state in its folder, in a few words.
pub fn describe_state(spec: &DatasetSpec, dir: &Path) -> String {
    let states = fetch::check_dataset(spec, dir);
    let verified = states
        .iter()
        .filter(|(_, s)| *s == FileState::Verified)
        .count();
    if verified == states.len() {
        return format!("all {verified} files verified");
    }
    if states.iter().all(|(_, s)| *s == FileState::Missing) {
        return format!("not fetched (run `ipbn data fetch {}`)", spec.name);
    }
    let problems: Vec<String> = states
        .iter()
        .filter(|(_, s)| *s != FileState::Verified)
        .map(|(f, s)| format!("{} {s}", f.name))
        .collect();
    format!(
        "{verified} of {} files verified; {} (run `ipbn data fetch {}`)",
        states.len(),
        problems.join(", "),
        spec.name
    )
}

/// Runs `ipbn data list`.
pub fn run_list() -> CliResult {
    println!("{:<14} {:<16} {:<40} status", "name", "dataset", "folder");
    println!(
        "{:<14} {:<16} {:<40} built in (8,000/2,000; the default data)",
        "shipped", "MNIST 10k subset", "(embedded)"
    );
    for spec in catalog::catalog() {
        let (folder, status) = match catalog::cache_dir(&spec.name) {
            Ok(dir) => (dir.display().to_string(), describe_state(&spec, &dir)),
            Err(e) => ("-".to_string(), e.to_string()),
        };
        println!("{:<14} {:<16} {folder:<40} {status}", spec.name, spec.title);
    }
    Ok(())
}

/// Runs `ipbn data`.
pub fn run(args: &DataArgs) -> CliResult {
    match &args.command {
        DataCommand::Fetch(a) => run_fetch(a),
        DataCommand::List => run_list(),
    }
}
