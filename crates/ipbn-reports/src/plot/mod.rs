//! The shared plotting style of every figure: one palette, one font, one way to write files.
//!
//! Every figure draws through this module so that a condition has the same colour in every
//! picture, every axis is labelled the same way and every file is written the same way.
//!
//! * [`palette`]: [`color_for`] gives the fixed, colour-blind-friendly colour of a condition
//!   label (`plain`, `bn`, `ip:<rule>`, `ip+affine:<rule>`, `none`), and [`categorical`] an
//!   indexed colour for anything that is not a condition (input distributions, panels).
//! * [`xy`]: [`XyChart`], one chart type for lines with shaded spread bands ([`Series`]),
//!   scatter sets ([`Scatter`]), histogram bars ([`Bars`]), reference points
//!   ([`RefPoint`]) and reference lines ([`RefLine`]), with linear or log axes. Non-finite
//!   values are never drawn; a series' diverged runs are marked with an × at the top edge and
//!   counted in its legend label.
//! * [`table`]: [`TablePanel`], rows of text (the claims table).
//! * [`layout`]: grids of titled panels `(a)`, `(b)`, ... and uneven row/column splits.
//! * [`legend`]: a legend drawn into its own area, so it can never cover a line.
//! * [`output`]: [`save_figure`] renders the same drawing code to `ID.svg` and `ID.png`,
//!   each written atomically; [`write_json_atomic`] writes `ID.json` the same way.
//! * [`stats`]: small helpers that turn runs into what is drawn (mean and spread over seeds,
//!   histogram densities).
//!
//! # Example
//!
//! ```no_run
//! use ipbn_reports::plot::{self, Series, XyChart};
//! # fn main() -> Result<(), plot::PlotError> {
//! let x: Vec<f64> = (0..50).map(f64::from).collect();
//! let runs = vec![
//!     x.iter().map(|v| 1.0 - (-v / 10.0).exp()).collect::<Vec<_>>(),
//!     x.iter().map(|v| 0.9 - (-v / 12.0).exp()).collect::<Vec<_>>(),
//! ];
//! let bn = Series::from_runs("bn", &x, &runs, plot::Spread::MinMax);
//! let files = plot::save_figure("/tmp/out", "demo", 1200, 800, |area| {
//!     let panels = plot::layout::grid(area, 1, 1, &["accuracy"])?;
//!     XyChart::new("training step", "test accuracy (fraction)")
//!         .series(bn.clone())
//!         .draw(&panels[0])
//! })?;
//! assert_eq!(files.len(), 2);
//! # Ok(())
//! # }
//! ```

pub mod heatmap;
pub mod layout;
pub mod legend;
pub mod output;
pub mod palette;
pub mod stats;
pub mod table;
pub mod xy;

pub use heatmap::HeatMap;
pub use layout::{grid, panel_letter, split_cols, split_rows, titled};
pub use legend::{draw_legend, legend_size, LegendEntry, LegendSwatch, MarkerShape};
pub use output::{save_figure, write_json_atomic, write_text_atomic, Area, Canvas};
pub use palette::{categorical, color_for, darken, lighten};
pub use stats::{finite_or_none, histogram_density, summarise_runs, Histogram, RunSummary, Spread};
pub use table::{Align, TablePanel};
pub use xy::{Bars, Diverged, LegendPos, RefLine, RefPoint, Scale, Scatter, Series, XyChart};

use plotters::prelude::*;
use std::sync::Once;

/// The font family every figure uses (the bundled DejaVu Sans, registered on first use).
pub const FONT: &str = "sans-serif";
/// Font size (pixels) of a figure's overall title.
pub const TITLE_SIZE: f64 = 28.0;
/// Font size (pixels) of a panel title such as `(a) accuracy`.
pub const PANEL_TITLE_SIZE: f64 = 24.0;
/// Font size (pixels) of axis descriptions.
pub const AXIS_LABEL_SIZE: f64 = 20.0;
/// Font size (pixels) of tick labels.
pub const TICK_SIZE: f64 = 17.0;
/// Font size (pixels) of legend entries.
pub const LEGEND_SIZE: f64 = 17.0;
/// Font size (pixels) of table cells.
pub const TABLE_SIZE: f64 = 18.0;

static FONTS: Once = Once::new();
static FONT_OK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Registers the bundled DejaVu Sans (regular and bold) under [`FONT`], once per process, so
/// rendering never depends on the fonts installed on the host. Called by [`save_figure`];
/// call it yourself only when drawing on a backend of your own.
pub fn ensure_fonts() -> Result<(), PlotError> {
    FONTS.call_once(|| {
        let regular: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
        let bold: &'static [u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");
        let ok = plotters::style::register_font(FONT, FontStyle::Normal, regular).is_ok()
            && plotters::style::register_font(FONT, FontStyle::Bold, bold).is_ok();
        FONT_OK.store(ok, std::sync::atomic::Ordering::SeqCst);
    });
    if FONT_OK.load(std::sync::atomic::Ordering::SeqCst) {
        Ok(())
    } else {
        Err(PlotError::Font(
            "the bundled DejaVu Sans could not be parsed; restore crates/ipbn-reports/assets/fonts"
                .into(),
        ))
    }
}

/// A text style in the figure font at `size` pixels.
pub fn font(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(&BLACK)
}

/// A bold text style in the figure font at `size` pixels.
pub fn bold(size: f64) -> TextStyle<'static> {
    TextStyle::from((FONT, size, FontStyle::Bold).into_font()).color(&BLACK)
}

/// Failures while drawing or writing a figure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// A file could not be written or renamed.
    #[error("cannot write {path}: {source}; check that the output folder exists and is writable")]
    Io {
        /// The file concerned.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The workspace's atomic write failed (other than by I/O, which is [`PlotError::Io`]).
    #[error(transparent)]
    Write(ipbn_train::TrainError),
    /// The drawing backend failed.
    #[error("drawing failed: {0}")]
    Draw(String),
    /// The bundled font could not be loaded.
    #[error("font: {0}")]
    Font(String),
    /// The caller asked for something that cannot be drawn (mismatched lengths, empty grid).
    #[error("invalid plot input: {0}")]
    Invalid(String),
    /// Data could not be serialised.
    #[error("cannot serialise {what}: {source}")]
    Json {
        /// What was being serialised.
        what: String,
        /// The underlying error.
        source: serde_json::Error,
    },
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for PlotError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        PlotError::Draw(e.to_string())
    }
}

impl From<ipbn_train::TrainError> for PlotError {
    fn from(e: ipbn_train::TrainError) -> Self {
        match e {
            ipbn_train::TrainError::Io { path, source } => PlotError::Io { path, source },
            other => PlotError::Write(other),
        }
    }
}

impl From<PlotError> for crate::error::CliError {
    fn from(e: PlotError) -> Self {
        match e {
            PlotError::Invalid(m) => {
                crate::error::CliError::Run(format!("invalid plot input: {m}"))
            }
            other => crate::error::CliError::Run(other.to_string()),
        }
    }
}
