//! The stored runs of the figures: every network run of `ipbn reproduce` goes through the
//! executor of `ipbn sweep` ([`ipbn_train::sweep::execute`]) and is stored as
//! `OUT/runs/<id>.json` (the id names the condition, learning rate and batch, and hashes the
//! full configuration and the data), so
//!
//! * a run shared by two figures (`bn-mnist` and `homogenisation`) is trained once;
//! * a killed `ipbn reproduce` started again trains no finished run ([`RunMode::Compute`]);
//! * the runs of a figure set can be declared without training or drawing
//!   ([`RunMode::Plan`]), split into shards and trained by several processes, and the figures
//!   drawn from the stored runs afterwards ([`RunMode::MergeOnly`]).
//!
//! A stored run read back is the same `RunResult` bit for bit (serde_json's `float_roundtrip`),
//! so a figure drawn from stored runs is byte-identical to one drawn from fresh runs.
//!
//! A figure declares its runs by passing them all to one `run_all` call (in the shared module
//! of the network figures) before it draws anything: in plan mode that call records the runs
//! and stops the figure with [`ReportError::Planned`].
//!
//! A figure whose later runs depend on the results of earlier ones (`vanishing-gradient`
//! confirms the best cells of its grid with longer runs on fresh seeds) declares them in
//! stages (`run_stage`): in plan mode an earlier stage whose runs are all stored is read
//! back and the figure goes on to declare the next stage; otherwise planning stops there.
//! The runs of a later stage come after every run of the earlier stages in the plan, so the
//! shard assignment of the earlier runs does not change when a later stage appears.

use crate::error::ReportError;
use ipbn_train::data::Split;
use ipbn_train::sweep::SweepRun;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What the network runs of a figure do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RunMode {
    /// Read the runs stored in `OUT/runs`, train and store the others, draw the figure.
    #[default]
    Compute,
    /// Record the runs a figure needs and stop it before it trains or draws anything.
    Plan,
    /// Read the stored runs and draw; a run not stored is an error (nothing is trained).
    MergeOnly,
}

/// How many runs were trained and how many read from `OUT/runs`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunCounts {
    /// Runs trained (and stored) by this process.
    pub computed: usize,
    /// Runs read back from `OUT/runs` instead of being trained.
    pub loaded: usize,
}

/// The runs declared in plan mode, each id once, in order of first declaration; `data[k]`
/// is the data of the runs whose `split` is `k`.
#[derive(Default)]
pub struct Planned {
    /// The runs, in order of first declaration; [`SweepRun::index`] is the position here.
    pub runs: Vec<SweepRun>,
    /// For each run, which entry of `data` it trains on.
    pub split: Vec<usize>,
    /// The distinct data sets of the runs.
    pub data: Vec<Split>,
    /// For each run, the stage that declared it (0 unless the figure runs in stages).
    pub stage: Vec<usize>,
}

/// The run policy shared by the figures of one `ipbn reproduce`: the mode, the counts, the
/// cancellation flag and (in plan mode) the runs declared.
#[derive(Default)]
pub struct RunStore {
    mode: RunMode,
    cancel: Option<&'static AtomicBool>,
    computed: AtomicUsize,
    loaded: AtomicUsize,
    planned: Mutex<Planned>,
    ids: Mutex<HashSet<String>>,
}

impl RunStore {
    /// A store in `mode`; when `cancel` is set (e.g. by Ctrl-C) no new run starts.
    pub fn new(mode: RunMode, cancel: Option<&'static AtomicBool>) -> Arc<RunStore> {
        Arc::new(RunStore {
            mode,
            cancel,
            ..RunStore::default()
        })
    }

    /// The mode.
    pub fn mode(&self) -> RunMode {
        self.mode
    }

    /// The cancellation flag, if any.
    pub fn cancel_flag(&self) -> Option<&AtomicBool> {
        self.cancel
    }

    /// Whether cancellation was asked for.
    pub fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// Runs trained and read so far.
    pub fn counts(&self) -> RunCounts {
        RunCounts {
            computed: self.computed.load(Ordering::SeqCst),
            loaded: self.loaded.load(Ordering::SeqCst),
        }
    }

    /// Adds to the counts.
    pub(crate) fn count(&self, computed: usize, loaded: usize) {
        self.computed.fetch_add(computed, Ordering::SeqCst);
        self.loaded.fetch_add(loaded, Ordering::SeqCst);
    }

    /// Records `runs` (on `data`) as declared; ids declared before are kept once, at their
    /// first position.
    pub(crate) fn declare(
        &self,
        runs: &[SweepRun],
        data: &Split,
        stage: usize,
    ) -> Result<(), ReportError> {
        let mut ids = self.ids.lock().map_err(|_| poisoned())?;
        let mut p = self.planned.lock().map_err(|_| poisoned())?;
        let k = match p.data.iter().position(|d| same_data(d, data)) {
            Some(k) => k,
            None => {
                p.data.push(data.clone());
                p.data.len() - 1
            }
        };
        for r in runs {
            if ids.insert(r.id.clone()) {
                let index = p.runs.len();
                p.runs.push(SweepRun { index, ..r.clone() });
                p.split.push(k);
                p.stage.push(stage);
            }
        }
        Ok(())
    }

    /// Takes the runs declared so far.
    pub fn take_planned(&self) -> Planned {
        if let Ok(mut ids) = self.ids.lock() {
            ids.clear();
        }
        let p = self
            .planned
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        // Earlier stages first, each in order of first declaration.
        let mut order: Vec<usize> = (0..p.runs.len()).collect();
        order.sort_by_key(|&i| (p.stage[i], i));
        Planned {
            runs: order
                .iter()
                .enumerate()
                .map(|(index, &i)| SweepRun {
                    index,
                    ..p.runs[i].clone()
                })
                .collect(),
            split: order.iter().map(|&i| p.split[i]).collect(),
            stage: order.iter().map(|&i| p.stage[i]).collect(),
            data: p.data,
        }
    }
}

/// Whether two splits are the same data (same files and sizes).
fn same_data(a: &Split, b: &Split) -> bool {
    a.files == b.files && a.train.len() == b.train.len() && a.test.len() == b.test.len()
}

fn poisoned() -> ReportError {
    ReportError::Run("a worker thread panicked while planning runs; see the message above".into())
}
