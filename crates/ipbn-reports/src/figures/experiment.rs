//! What every figure shares, network or single-unit: the [`Experiment`] trait, through which
//! a figure module supplies only its settings and its experiment while one implementation of
//! [`Figure`] does the rest, plus the JSON and progress helpers the figures use.
//!
//! [`Figure::run`] of an [`Experiment`]:
//!
//! 1. picks the settings: those given explicitly, else [`Experiment::QUICK`] or
//!    [`Experiment::FULL`] as the context asks, changed by the context's `--config` and
//!    `--set` ([`crate::protocol`]);
//! 2. runs [`Experiment::produce`], which validates them, runs the experiment, draws `ID.svg`
//!    and `ID.png`, and returns the finding with the figure's own JSON fields;
//! 3. writes `ID.json`: the fields every figure starts with (id, question, source, version,
//!    quick, config, finding) and the figure's own;
//! 4. returns the [`FigureOutput`] listing the three files.

use crate::error::ReportError;
use crate::figure::{Figure, FigureContext, FigureOutput};
use crate::plot;
use crate::protocol::Overrides;
use crate::runs::RunCounts;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One figure's experiment; every `Experiment` is a [`Figure`] (see the module docs).
pub(crate) trait Experiment: Send + Sync {
    /// Stable id, e.g. `bn-mnist`: the file stem of everything the figure writes.
    const ID: &'static str;
    /// The question the figure answers (figures.md).
    const QUESTION: &'static str;
    /// Its source (paper and figure).
    const SOURCE: &'static str;
    /// The figure's settings (written to its JSON as `config`; read back from JSON by
    /// `--config` and `--set`, so it derives `Deserialize` with `deny_unknown_fields`).
    type Config: Clone + serde::Serialize + serde::de::DeserializeOwned;
    /// The full protocol.
    const FULL: fn() -> Self::Config;
    /// Small settings for tests and a first look (`--quick`).
    const QUICK: fn() -> Self::Config;
    /// Whether [`Experiment::produce`] trains networks through `common::run_all` (default);
    /// single-unit figures set it to `false`, so that `ipbn reproduce --shard` does not run
    /// them to find their runs.
    const TRAINS_NETWORKS: bool = true;

    /// Settings given explicitly; `None` picks [`Experiment::QUICK`] or
    /// [`Experiment::FULL`] from the context.
    fn given(&self) -> Option<&Self::Config>;

    /// Validates `cfg`, runs the experiment and draws `ID.svg` and `ID.png` into
    /// `ctx.out_dir`.
    fn produce(&self, ctx: &FigureContext, cfg: &Self::Config) -> Result<Produced, ReportError>;
}

/// What [`Experiment::produce`] hands back.
pub(crate) struct Produced {
    /// One or two sentences of findings, with numbers computed from this run.
    pub finding: String,
    /// The drawings written (svg, png).
    pub files: Vec<PathBuf>,
    /// The figure's own JSON fields, added to the ones every figure writes.
    pub fields: Fields,
    /// Verdicts on claims of the sources, computed from this run (written into the
    /// figure's JSON as `verdicts` and gathered by `ipbn reproduce` into `verdicts.json`).
    pub verdicts: Vec<crate::stats::Verdict>,
    /// The figure's measurements in long format, written to `ID.csv` (see
    /// [`crate::tidy`]); network figures add [`crate::tidy::run_rows`] of every run.
    pub tidy: Vec<crate::tidy::TidyRow>,
}

/// Named JSON fields of a figure's file.
pub(crate) type Fields = Vec<(&'static str, Value)>;

impl<E: Experiment> Figure for E {
    fn id(&self) -> &'static str {
        E::ID
    }

    fn question(&self) -> &'static str {
        E::QUESTION
    }

    fn source(&self) -> &'static str {
        E::SOURCE
    }

    fn trains_networks(&self) -> bool {
        E::TRAINS_NETWORKS
    }

    fn config_json(&self, quick: bool) -> Result<Value, ReportError> {
        Ok(serde_json::to_value(base_config(self, quick))?)
    }

    fn resolve_config(&self, quick: bool, overrides: &Overrides) -> Result<Value, ReportError> {
        Ok(serde_json::to_value(resolve(self, quick, overrides)?)?)
    }

    fn declare_runs(&self, ctx: &FigureContext) -> Result<(), ReportError> {
        if !E::TRAINS_NETWORKS {
            return Ok(());
        }
        let cfg = resolve(self, ctx.quick, &ctx.overrides)?;
        match self.produce(ctx, &cfg) {
            Ok(_) | Err(ReportError::Planned) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn run(&self, ctx: &FigureContext) -> Result<FigureOutput, ReportError> {
        let cfg = resolve(self, ctx.quick, &ctx.overrides)?;
        let before = ctx.runs.counts();
        let Produced {
            finding,
            mut files,
            fields,
            verdicts,
            tidy,
        } = self.produce(ctx, &cfg)?;
        let mut json = serde_json::Map::new();
        json.insert("id".into(), json!(E::ID));
        json.insert("question".into(), json!(E::QUESTION));
        json.insert("source".into(), json!(E::SOURCE));
        json.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
        json.insert("quick".into(), json!(ctx.quick));
        json.insert("config".into(), serde_json::to_value(&cfg)?);
        json.insert("finding".into(), json!(finding));
        json.extend(fields.into_iter().map(|(k, v)| (k.to_string(), v)));
        if !verdicts.is_empty() {
            json.insert("verdicts".into(), serde_json::to_value(&verdicts)?);
        }
        let path = ctx.out_dir.join(format!("{}.json", E::ID));
        plot::write_json_atomic(&path, &Value::Object(json))?;
        files.push(path);
        if !tidy.is_empty() {
            let csv = ctx.out_dir.join(format!("{}.csv", E::ID));
            crate::tidy::write_csv(&csv, E::ID, &tidy)?;
            files.push(csv);
        }
        let after = ctx.runs.counts();
        Ok(FigureOutput {
            id: E::ID.to_string(),
            question: E::QUESTION.to_string(),
            finding,
            files,
            verdicts,
            runs: RunCounts {
                computed: after.computed - before.computed,
                loaded: after.loaded - before.loaded,
            },
        })
    }
}

/// The settings before any change: those given explicitly, else the quick or full protocol.
fn base_config<E: Experiment>(e: &E, quick: bool) -> E::Config {
    match e.given() {
        Some(c) => c.clone(),
        None if quick => (E::QUICK)(),
        None => (E::FULL)(),
    }
}

/// The settings after `overrides` (see [`crate::protocol::apply`]).
fn resolve<E: Experiment>(
    e: &E,
    quick: bool,
    overrides: &Overrides,
) -> Result<E::Config, ReportError> {
    let base = base_config(e, quick);
    if overrides.is_empty() {
        return Ok(base);
    }
    crate::protocol::apply(E::ID, &serde_json::to_value(&base)?, overrides)
}

/// Counts finished units of a figure's work and reports `(done, total)` through the
/// context's progress callback; safe to share between worker threads.
pub(crate) struct Progress<'a> {
    ctx: &'a FigureContext,
    total: usize,
    done: AtomicUsize,
}

impl<'a> Progress<'a> {
    /// Starts counting `total` units: reports `(0, total)`.
    pub(crate) fn start(ctx: &'a FigureContext, total: usize) -> Self {
        (ctx.progress)(0, total);
        Progress {
            ctx,
            total,
            done: AtomicUsize::new(0),
        }
    }

    /// One more unit is done: reports the new count.
    pub(crate) fn tick(&self) {
        let n = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        (self.ctx.progress)(n, self.total);
    }
}

/// A number for JSON: finite values as numbers, anything else as its text (`NaN`, `inf`,
/// `-inf`), so that a file never holds `null`.
pub(crate) fn num_text(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        json!(v.to_string())
    }
}

/// A list of numbers for JSON, each as [`num_text`] writes it.
pub(crate) fn nums_text(v: &[f64]) -> Value {
    Value::Array(v.iter().map(|&x| num_text(x)).collect())
}

/// `n` and `noun`, the noun in the plural unless `n` is 1: `1 seed`, `3 seeds`.
pub(crate) fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// The items of `items` as text, joined by `sep`.
pub(crate) fn join<T: ToString>(items: &[T], sep: &str) -> String {
    items.iter().map(T::to_string).collect::<Vec<_>>().join(sep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::figure::DataSource;
    use std::sync::{Arc, Mutex};

    /// A figure whose experiment writes nothing but its JSON.
    struct Probe {
        config: Option<u32>,
    }

    impl Experiment for Probe {
        const ID: &'static str = "probe";
        const QUESTION: &'static str = "Does the shared scaffolding work?";
        const SOURCE: &'static str = "this test";
        type Config = u32;
        const FULL: fn() -> u32 = || 100;
        const QUICK: fn() -> u32 = || 1;

        fn given(&self) -> Option<&u32> {
            self.config.as_ref()
        }

        fn produce(&self, ctx: &FigureContext, cfg: &u32) -> Result<Produced, ReportError> {
            let p = Progress::start(ctx, 2);
            p.tick();
            p.tick();
            Ok(Produced {
                finding: format!("ran with {cfg}"),
                files: Vec::new(),
                fields: vec![("extra", json!([num_text(f64::NAN), num_text(0.5)]))],
                verdicts: Vec::new(),
                tidy: Vec::new(),
            })
        }
    }

    fn context(dir: &std::path::Path, quick: bool) -> (FigureContext, Arc<Mutex<Vec<usize>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        let ctx = FigureContext {
            quick,
            data: DataSource::Shipped,
            out_dir: dir.to_path_buf(),
            progress: Arc::new(move |d, t| {
                assert_eq!(t, 2);
                s.lock().unwrap().push(d);
            }),
            runs: Default::default(),
            overrides: Default::default(),
        };
        (ctx, seen)
    }

    #[test]
    fn settings_are_picked_and_the_json_carries_the_shared_header() {
        let dir = tempfile::tempdir().unwrap();
        let (ctx, seen) = context(dir.path(), true);
        let out = Probe { config: None }.run(&ctx).unwrap();
        assert_eq!(out.finding, "ran with 1");
        assert_eq!(*seen.lock().unwrap(), vec![0, 1, 2]);
        let path = dir.path().join("probe.json");
        assert_eq!(out.files, vec![path.clone()]);
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(v["id"], "probe");
        assert_eq!(v["question"], Probe::QUESTION);
        assert_eq!(v["source"], "this test");
        assert_eq!(v["quick"], true);
        assert_eq!(v["config"], 1);
        assert_eq!(v["finding"], "ran with 1");
        assert_eq!(v["extra"], json!(["NaN", 0.5]));

        let (full, _) = context(dir.path(), false);
        assert_eq!(
            Probe { config: None }.run(&full).unwrap().finding,
            "ran with 100"
        );
        let given = Probe { config: Some(7) };
        assert_eq!(given.run(&full).unwrap().finding, "ran with 7");
    }

    #[test]
    fn overrides_change_the_settings_written_to_the_json() {
        let dir = tempfile::tempdir().unwrap();
        let (mut ctx, _) = context(dir.path(), true);
        ctx.overrides = Overrides {
            patch: Some(json!(5)),
            sets: Vec::new(),
        };
        // A bare number is not an object of settings.
        assert!(Probe { config: None }.run(&ctx).is_err());
        assert_eq!(
            Probe { config: None }.config_json(false).unwrap(),
            json!(100)
        );
        assert!(Probe { config: None }.trains_networks());
    }

    #[test]
    fn counts_and_lists_read_as_text() {
        assert_eq!(count(1, "seed"), "1 seed");
        assert_eq!(count(3, "seed"), "3 seeds");
        assert_eq!(join(&[1, 2, 4], ", "), "1, 2, 4");
        assert_eq!(join::<usize>(&[], " / "), "");
        assert_eq!(nums_text(&[f64::INFINITY, 2.0]), json!(["inf", 2.0]));
    }
}
