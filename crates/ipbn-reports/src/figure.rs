//! The figure framework: every figure is a [`Figure`] with a stable id that runs its
//! experiment, draws `ID.svg` and `ID.png`, and writes `ID.json` with the numbers drawn.
//! Its settings are data ([`Figure::config_json`], changed by [`crate::protocol`]) and its
//! network runs are stored in `OUT/runs` and can be declared without drawing
//! ([`Figure::declare_runs`], see [`crate::runs`]).

use std::path::PathBuf;
use std::sync::Arc;

/// Where network figures take their data from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataSource {
    /// The MNIST subset shipped in `datasets/mnist-10k`.
    Shipped,
    /// A folder with the standard MNIST IDX files.
    Dir(PathBuf),
    /// A dataset fetched with `ipbn data fetch` (mnist, fashion-mnist, kmnist), from its
    /// cache folder.
    Dataset(String),
}

/// Progress callback: `(runs_done, runs_total)` for the current figure.
pub type Progress = Arc<dyn Fn(usize, usize) + Send + Sync>;

/// Everything a figure needs to run.
#[derive(Clone)]
pub struct FigureContext {
    /// Small, fast settings (for tests and a first look) instead of the full protocol.
    pub quick: bool,
    /// Training data.
    pub data: DataSource,
    /// Output folder (created if missing); network runs are stored in its `runs` folder.
    pub out_dir: PathBuf,
    /// Progress reporting.
    pub progress: Progress,
    /// What network runs do (train and store, declare only, or read only) and how many were
    /// trained or read; shared by the figures of one `ipbn reproduce`.
    pub runs: Arc<crate::runs::RunStore>,
    /// Changes to the figure's settings (`--config`, `--set`).
    pub overrides: crate::protocol::Overrides,
}

/// What a figure produced.
#[derive(Clone, Debug)]
pub struct FigureOutput {
    /// Figure id (file stem).
    pub id: String,
    /// The question the figure answers.
    pub question: String,
    /// One or two sentences of findings, with numbers computed from this run.
    pub finding: String,
    /// Paths written (svg, png, json).
    pub files: Vec<PathBuf>,
    /// The verdicts this figure's runs give on claims of the sources (may be empty).
    pub verdicts: Vec<crate::stats::Verdict>,
    /// Network runs trained for this figure and read from `OUT/runs`.
    pub runs: crate::runs::RunCounts,
}

/// One experiment and its drawing.
pub trait Figure: Send + Sync {
    /// Stable id, e.g. `bn-mnist`.
    fn id(&self) -> &'static str;
    /// The question it answers (figures.md).
    fn question(&self) -> &'static str;
    /// Its source (paper and figure).
    fn source(&self) -> &'static str;
    /// Runs the experiment and writes `ID.svg`, `ID.png` and `ID.json` into `ctx.out_dir`.
    fn run(&self, ctx: &FigureContext) -> Result<FigureOutput, crate::error::ReportError>;
    /// Whether the figure trains networks (through the stored runs); single-unit figures do
    /// not, and are drawn by the merge step of a sharded `ipbn reproduce`.
    fn trains_networks(&self) -> bool;
    /// The figure's settings before any change: its full protocol, or its quick one, as JSON.
    fn config_json(&self, quick: bool) -> Result<serde_json::Value, crate::error::ReportError>;
    /// The settings after `overrides`, decoded and checked for unknown keys and bad values,
    /// as JSON.
    ///
    /// # Errors
    /// A usage error naming the figure, the key and the accepted keys.
    fn resolve_config(
        &self,
        quick: bool,
        overrides: &crate::protocol::Overrides,
    ) -> Result<serde_json::Value, crate::error::ReportError>;
    /// Declares the figure's network runs to `ctx.runs` (which must be in
    /// [`crate::runs::RunMode::Plan`]) without training or drawing.
    fn declare_runs(&self, ctx: &FigureContext) -> Result<(), crate::error::ReportError>;
}
