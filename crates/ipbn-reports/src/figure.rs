//! The figure framework: every figure is a [`Figure`] with a stable id that runs its
//! experiment, draws `ID.svg` and `ID.png`, and writes `ID.json` with the numbers drawn.

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
    /// Seeds per condition for network figures (`None`: the figure's own default).
    pub seeds: Option<usize>,
    /// Training data.
    pub data: DataSource,
    /// Output folder (created if missing).
    pub out_dir: PathBuf,
    /// Progress reporting.
    pub progress: Progress,
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
}
