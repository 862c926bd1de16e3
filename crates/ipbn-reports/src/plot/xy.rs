//! [`XyChart`]: the one chart type behind every panel with axes.
//!
//! A chart holds layers, drawn in this order: histogram [`Bars`], shaded spread bands of
//! [`Series`], reference lines ([`RefLine`]: identity, horizontal, vertical), series lines
//! (solid or dashed, optionally with markers), [`Scatter`] sets, reference points
//! ([`RefPoint`]), diverged-run markers, notes, legend.
//!
//! Rules that hold for every chart:
//! * only finite values are drawn; a series value that is not finite (or not positive on a
//!   log axis) is never silently dropped: where its x is known it is marked with an × at the
//!   top edge of the plot in the series' colour and counted in the legend label
//!   (`bn (× 3 diverged)`), otherwise counted as `not drawn`;
//! * the axis ranges cover every finite value unless set explicitly, in which case lines are
//!   clipped at the frame and points outside are counted in the legend label;
//! * the legend is drawn outside the plot area (right or below) by default, or in a corner
//!   on a white box when asked, and names every layer that has a label.

use super::legend::{
    draw_legend, draw_marker, legend_size, LegendEntry, LegendSwatch, MarkerShape,
};
use super::palette::color_for;
use super::stats::{summarise_runs, Spread};
use super::{font, PlotError, AXIS_LABEL_SIZE, LEGEND_SIZE, TICK_SIZE};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// An axis scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Scale {
    /// Linear axis.
    #[default]
    Linear,
    /// Base-10 logarithmic axis; values ≤ 0 cannot be shown and are counted as not drawn.
    Log,
}

impl Scale {
    fn fwd(self, v: f64) -> f64 {
        match self {
            Scale::Linear => v,
            Scale::Log if v > 0.0 => v.log10(),
            Scale::Log => f64::NAN,
        }
    }

    fn inv(self, t: f64) -> f64 {
        match self {
            Scale::Linear => t,
            Scale::Log => 10f64.powf(t),
        }
    }
}

/// Where a chart's legend goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LegendPos {
    /// Outside the plot area, to its right (falls back to [`LegendPos::Below`] when it would
    /// take more than 45 % of the width).
    #[default]
    Right,
    /// Outside the plot area, below it, in as many columns as fit.
    Below,
    /// Inside the plot area, upper-left corner, on a white box.
    UpperLeft,
    /// Inside, upper-right corner.
    UpperRight,
    /// Inside, lower-left corner.
    LowerLeft,
    /// Inside, lower-right corner.
    LowerRight,
    /// No legend (e.g. when the figure draws one shared legend with
    /// [`super::legend::draw_legend`] and [`XyChart::legend_entries`]).
    Hidden,
}

/// Runs that diverged at one x position: drawn as an × at the top edge of the plot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Diverged {
    /// Where (data units).
    pub x: f64,
    /// How many runs.
    pub count: usize,
}

/// One line: a mean with an optional shaded spread band `[lo, hi]`.
///
/// The colour is [`color_for`]`(label)` unless `color` is set.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend label, usually a condition (`bn`, `ip:triesch`) so that its colour is fixed.
    pub label: String,
    /// x values (need not be increasing: a trajectory in a plane is a series too).
    pub x: Vec<f64>,
    /// The line's y values (the mean over seeds for a summary).
    pub mean: Vec<f64>,
    /// Lower edge of the band, same length as `x`.
    pub lo: Option<Vec<f64>>,
    /// Upper edge of the band, same length as `x`.
    pub hi: Option<Vec<f64>>,
    /// Draw the line dashed.
    pub dashed: bool,
    /// Draw a marker at every point.
    pub markers: bool,
    /// Colour override (default: [`color_for`] of the label).
    pub color: Option<RGBColor>,
    /// Diverged runs to mark (× at the top edge) and count in the legend.
    pub diverged: Vec<Diverged>,
}

impl Series {
    /// A solid line without band.
    pub fn new(label: impl Into<String>, x: Vec<f64>, mean: Vec<f64>) -> Self {
        Series {
            label: label.into(),
            x,
            mean,
            lo: None,
            hi: None,
            dashed: false,
            markers: false,
            color: None,
            diverged: Vec::new(),
        }
    }

    /// The mean over `runs` (one value per x each) with a band chosen by `spread`; at each x
    /// the runs whose value is not finite (or that are too short) are left out of the mean
    /// and band and recorded as diverged there.
    pub fn from_runs(
        label: impl Into<String>,
        x: &[f64],
        runs: &[Vec<f64>],
        spread: Spread,
    ) -> Self {
        let s = summarise_runs(x.len(), runs, spread);
        let diverged = x
            .iter()
            .zip(&s.diverged)
            .filter(|(_, &c)| c > 0)
            .map(|(&x, &count)| Diverged { x, count })
            .collect();
        Series {
            lo: Some(s.lo),
            hi: Some(s.hi),
            diverged,
            ..Series::new(label, x.to_vec(), s.mean)
        }
    }

    /// A histogram outline as a step line: `heights[i]` over `[edges[i], edges[i + 1]]`
    /// (use it to overlay several histograms; [`Bars`] fills them). Mismatched lengths give
    /// a series that [`XyChart::draw`] rejects with a clear error.
    pub fn step(label: impl Into<String>, edges: &[f64], heights: &[f64]) -> Self {
        let mut x = Vec::with_capacity(2 * heights.len());
        let mut y = Vec::with_capacity(2 * heights.len());
        if edges.len() == heights.len() + 1 {
            for (i, &h) in heights.iter().enumerate() {
                x.push(edges[i]);
                y.push(h);
                x.push(edges[i + 1]);
                y.push(h);
            }
        } else {
            x = edges.to_vec();
            y = heights.to_vec();
        }
        Series::new(label, x, y)
    }

    /// Adds a band.
    pub fn band(mut self, lo: Vec<f64>, hi: Vec<f64>) -> Self {
        self.lo = Some(lo);
        self.hi = Some(hi);
        self
    }

    /// Makes the line dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    /// Adds markers at the points.
    pub fn markers(mut self) -> Self {
        self.markers = true;
        self
    }

    /// Overrides the colour.
    pub fn color(mut self, c: RGBColor) -> Self {
        self.color = Some(c);
        self
    }

    /// Records `count` diverged runs at `x`.
    pub fn diverged(mut self, x: f64, count: usize) -> Self {
        self.diverged.push(Diverged { x, count });
        self
    }

    fn rgb(&self) -> RGBColor {
        self.color.unwrap_or_else(|| color_for(&self.label))
    }

    fn check(&self) -> Result<(), PlotError> {
        let n = self.x.len();
        let bad = |what: &str, len: usize| {
            PlotError::Invalid(format!(
                "series `{}`: {what} has {len} values but x has {n}",
                self.label
            ))
        };
        if self.mean.len() != n {
            return Err(bad("mean", self.mean.len()));
        }
        if let Some(lo) = &self.lo {
            if lo.len() != n {
                return Err(bad("lo", lo.len()));
            }
        }
        if let Some(hi) = &self.hi {
            if hi.len() != n {
                return Err(bad("hi", hi.len()));
            }
        }
        if self.lo.is_some() != self.hi.is_some() {
            return Err(PlotError::Invalid(format!(
                "series `{}`: give both lo and hi for a band, or neither",
                self.label
            )));
        }
        Ok(())
    }
}

/// A set of points drawn as markers.
#[derive(Clone, Debug, PartialEq)]
pub struct Scatter {
    /// Legend label.
    pub label: String,
    /// x values.
    pub x: Vec<f64>,
    /// y values.
    pub y: Vec<f64>,
    /// Colour override (default: [`color_for`] of the label).
    pub color: Option<RGBColor>,
    /// Marker shape.
    pub shape: MarkerShape,
    /// Marker radius in pixels.
    pub radius: i32,
}

impl Scatter {
    /// Filled circles of radius 3.
    pub fn new(label: impl Into<String>, x: Vec<f64>, y: Vec<f64>) -> Self {
        Scatter {
            label: label.into(),
            x,
            y,
            color: None,
            shape: MarkerShape::Circle,
            radius: 3,
        }
    }

    /// Overrides the colour.
    pub fn color(mut self, c: RGBColor) -> Self {
        self.color = Some(c);
        self
    }

    /// Sets shape and radius.
    pub fn shape(mut self, shape: MarkerShape, radius: i32) -> Self {
        self.shape = shape;
        self.radius = radius;
        self
    }
}

/// A single labelled reference point (a known fixed point, a target value).
#[derive(Clone, Debug, PartialEq)]
pub struct RefPoint {
    /// Legend label.
    pub label: String,
    /// x (data units).
    pub x: f64,
    /// y (data units).
    pub y: f64,
    /// Colour.
    pub color: RGBColor,
    /// Shape (drawn with radius 9, hollow shapes 3 px thick).
    pub shape: MarkerShape,
}

impl RefPoint {
    /// The point `(x, y)` labelled `label`, drawn as `shape` in `color`.
    pub fn new(
        label: impl Into<String>,
        (x, y): (f64, f64),
        color: RGBColor,
        shape: MarkerShape,
    ) -> Self {
        RefPoint {
            label: label.into(),
            x,
            y,
            color,
            shape,
        }
    }
}

/// A reference line, drawn dashed in dark grey, with an optional legend label.
#[derive(Clone, Debug, PartialEq)]
pub enum RefLine {
    /// y = x.
    Identity(Option<String>),
    /// y = value.
    Horizontal(f64, Option<String>),
    /// x = value.
    Vertical(f64, Option<String>),
}

/// Histogram bars: `heights[i]` over `[edges[i], edges[i + 1]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Bars {
    /// Legend label.
    pub label: String,
    /// `heights.len() + 1` increasing edges.
    pub edges: Vec<f64>,
    /// Bar heights (e.g. a density).
    pub heights: Vec<f64>,
    /// Colour override (default: [`color_for`] of the label).
    pub color: Option<RGBColor>,
}

impl Bars {
    /// Bars in the label's colour.
    pub fn new(label: impl Into<String>, edges: Vec<f64>, heights: Vec<f64>) -> Self {
        Bars {
            label: label.into(),
            edges,
            heights,
            color: None,
        }
    }

    /// Overrides the colour.
    pub fn color(mut self, c: RGBColor) -> Self {
        self.color = Some(c);
        self
    }
}

/// A chart with two axes and any number of layers (see the module docs).
///
/// Build it with [`XyChart::new`] and the builder methods, then [`XyChart::draw`] it into a
/// panel area.
#[derive(Clone, Debug, Default)]
pub struct XyChart {
    /// x-axis description, with units.
    pub x_label: String,
    /// y-axis description, with units.
    pub y_label: String,
    /// x scale.
    pub x_scale: Scale,
    /// y scale.
    pub y_scale: Scale,
    /// Explicit x range in data units (default: all finite data, padded).
    pub x_range: Option<(f64, f64)>,
    /// Explicit y range in data units.
    pub y_range: Option<(f64, f64)>,
    /// Lines with bands.
    pub series: Vec<Series>,
    /// Point sets.
    pub scatter: Vec<Scatter>,
    /// Histogram bars.
    pub bars: Vec<Bars>,
    /// Reference points.
    pub refs: Vec<RefPoint>,
    /// Reference lines.
    pub lines: Vec<RefLine>,
    /// Legend placement.
    pub legend: LegendPos,
    /// Lines of text shown in a corner of the plot area (e.g. a measured error).
    pub notes: Vec<String>,
    /// Where the notes go: `Right` (a column right of the plot, under a right-hand legend),
    /// or an inside corner (default upper-left). `Below` and `Hidden` mean upper-left.
    pub note_pos: LegendPos,
}

/// One clipped piece of a line, in transformed (axis) coordinates.
type Path2 = Vec<(f64, f64)>;

impl XyChart {
    /// A chart with these axis descriptions (include units, e.g. `training step`,
    /// `test accuracy (fraction)`).
    pub fn new(x_label: impl Into<String>, y_label: impl Into<String>) -> Self {
        XyChart {
            x_label: x_label.into(),
            y_label: y_label.into(),
            note_pos: LegendPos::UpperLeft,
            ..Default::default()
        }
    }

    /// Logarithmic x axis.
    pub fn log_x(mut self) -> Self {
        self.x_scale = Scale::Log;
        self
    }

    /// Logarithmic y axis.
    pub fn log_y(mut self) -> Self {
        self.y_scale = Scale::Log;
        self
    }

    /// Fixes the x range (data units).
    pub fn x_range(mut self, lo: f64, hi: f64) -> Self {
        self.x_range = Some((lo, hi));
        self
    }

    /// Fixes the y range (data units).
    pub fn y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = Some((lo, hi));
        self
    }

    /// Adds a line.
    pub fn series(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }

    /// Adds lines.
    pub fn series_all(mut self, s: impl IntoIterator<Item = Series>) -> Self {
        self.series.extend(s);
        self
    }

    /// Adds a point set.
    pub fn scatter(mut self, s: Scatter) -> Self {
        self.scatter.push(s);
        self
    }

    /// Adds histogram bars.
    pub fn bars(mut self, b: Bars) -> Self {
        self.bars.push(b);
        self
    }

    /// Adds a reference point.
    pub fn reference(mut self, r: RefPoint) -> Self {
        self.refs.push(r);
        self
    }

    /// Adds a reference line.
    pub fn line(mut self, l: RefLine) -> Self {
        self.lines.push(l);
        self
    }

    /// Sets the legend placement.
    pub fn legend(mut self, pos: LegendPos) -> Self {
        self.legend = pos;
        self
    }

    /// Adds a line of note text (shown in the note corner, upper-left by default).
    pub fn note(mut self, text: impl Into<String>) -> Self {
        self.notes.push(text.into());
        self
    }

    /// Sets the corner of the notes.
    pub fn note_pos(mut self, pos: LegendPos) -> Self {
        self.note_pos = pos;
        self
    }

    fn tx(&self, v: f64) -> f64 {
        self.x_scale.fwd(v)
    }

    fn ty(&self, v: f64) -> f64 {
        self.y_scale.fwd(v)
    }

    /// Counts of a series' values that are marked as diverged (× at the top) and that cannot
    /// be drawn at all, given the final ranges.
    fn series_marks(&self, s: &Series) -> (Vec<Diverged>, usize) {
        let mut marks: Vec<Diverged> = s
            .diverged
            .iter()
            .filter(|d| d.count > 0 && self.tx(d.x).is_finite())
            .copied()
            .collect();
        let mut lost = s
            .diverged
            .iter()
            .filter(|d| d.count > 0 && !self.tx(d.x).is_finite())
            .map(|d| d.count)
            .sum::<usize>();
        for (&x, &y) in s.x.iter().zip(&s.mean) {
            let (px, py) = (self.tx(x), self.ty(y));
            if py.is_finite() && px.is_finite() {
                continue;
            }
            if px.is_finite() {
                if !marks.iter().any(|d| d.x == x) {
                    marks.push(Diverged { x, count: 1 });
                }
            } else {
                lost += 1;
            }
        }
        (marks, lost)
    }

    /// The legend rows this chart draws (use them to build one shared legend for several
    /// panels that use [`LegendPos::Hidden`]).
    pub fn legend_entries(&self) -> Vec<LegendEntry> {
        let mut out = Vec::new();
        for b in &self.bars {
            if !b.label.is_empty() {
                out.push(LegendEntry {
                    label: b.label.clone(),
                    color: b.color.unwrap_or_else(|| color_for(&b.label)),
                    swatch: LegendSwatch::Bar,
                });
            }
        }
        for s in &self.series {
            if s.label.is_empty() {
                continue;
            }
            let (marks, lost) = self.series_marks(s);
            let div: usize = marks.iter().map(|d| d.count).sum();
            let mut label = s.label.clone();
            if div > 0 {
                label.push_str(&format!(" (× {div} diverged)"));
            }
            if lost > 0 {
                label.push_str(&format!(" ({lost} not drawn)"));
            }
            out.push(LegendEntry {
                label,
                color: s.rgb(),
                swatch: LegendSwatch::Line {
                    dashed: s.dashed,
                    marker: s.markers,
                    band: s.lo.is_some(),
                },
            });
        }
        for s in &self.scatter {
            if s.label.is_empty() {
                continue;
            }
            let hidden = self.hidden_points(s);
            let mut label = s.label.clone();
            if hidden > 0 {
                label.push_str(&format!(" ({hidden} not drawn)"));
            }
            out.push(LegendEntry {
                label,
                color: s.color.unwrap_or_else(|| color_for(&s.label)),
                swatch: LegendSwatch::Marker(s.shape),
            });
        }
        for r in &self.refs {
            if !r.label.is_empty() {
                out.push(LegendEntry {
                    label: r.label.clone(),
                    color: r.color,
                    swatch: LegendSwatch::Marker(r.shape),
                });
            }
        }
        for l in &self.lines {
            let label = match l {
                RefLine::Identity(s) | RefLine::Horizontal(_, s) | RefLine::Vertical(_, s) => s,
            };
            if let Some(label) = label {
                out.push(LegendEntry {
                    label: label.clone(),
                    color: REF_GREY,
                    swatch: LegendSwatch::Line {
                        dashed: true,
                        marker: false,
                        band: false,
                    },
                });
            }
        }
        out
    }

    /// Scatter points that are not finite, or outside an explicit range.
    fn hidden_points(&self, s: &Scatter) -> usize {
        let xr = self.x_range.map(|(a, b)| (self.tx(a), self.tx(b)));
        let yr = self.y_range.map(|(a, b)| (self.ty(a), self.ty(b)));
        s.x.iter()
            .zip(&s.y)
            .filter(|(&x, &y)| {
                let (px, py) = (self.tx(x), self.ty(y));
                !(px.is_finite() && py.is_finite())
                    || xr.is_some_and(|(a, b)| px < a.min(b) || px > a.max(b))
                    || yr.is_some_and(|(a, b)| py < a.min(b) || py > a.max(b))
            })
            .count()
    }

    /// Every finite (transformed) value on each axis, for the automatic ranges.
    fn extents(&self) -> (Vec<f64>, Vec<f64>) {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        let mut push = |x: f64, y: f64| {
            let (a, b) = (self.tx(x), self.ty(y));
            if a.is_finite() && b.is_finite() {
                xs.push(a);
                ys.push(b);
            }
        };
        for s in &self.series {
            for i in 0..s.x.len() {
                push(s.x[i], s.mean[i]);
                if let (Some(lo), Some(hi)) = (&s.lo, &s.hi) {
                    push(s.x[i], lo[i]);
                    push(s.x[i], hi[i]);
                }
            }
        }
        for s in &self.scatter {
            for (&x, &y) in s.x.iter().zip(&s.y) {
                push(x, y);
            }
        }
        for b in &self.bars {
            for (i, &h) in b.heights.iter().enumerate() {
                if h.is_finite() && h > 0.0 {
                    push(b.edges[i], h);
                    push(b.edges[i + 1], h);
                }
            }
        }
        for r in &self.refs {
            push(r.x, r.y);
        }
        let mut xs_only = Vec::new();
        let mut ys_only = Vec::new();
        for l in &self.lines {
            match l {
                RefLine::Horizontal(y, _) if self.ty(*y).is_finite() => ys_only.push(self.ty(*y)),
                RefLine::Vertical(x, _) if self.tx(*x).is_finite() => xs_only.push(self.tx(*x)),
                _ => {}
            }
        }
        // Bars stand on zero on a linear y axis.
        if !self.bars.is_empty() && self.y_scale == Scale::Linear {
            ys_only.push(0.0);
        }
        xs.extend(xs_only);
        ys.extend(ys_only);
        (xs, ys)
    }

    /// Checks every layer's lengths.
    fn check(&self) -> Result<(), PlotError> {
        for s in &self.series {
            s.check()?;
        }
        for s in &self.scatter {
            if s.x.len() != s.y.len() {
                return Err(PlotError::Invalid(format!(
                    "scatter `{}`: {} x values but {} y values",
                    s.label,
                    s.x.len(),
                    s.y.len()
                )));
            }
        }
        for b in &self.bars {
            if b.edges.len() != b.heights.len() + 1 {
                return Err(PlotError::Invalid(format!(
                    "bars `{}`: {} edges for {} bars (need one more edge than bars)",
                    b.label,
                    b.edges.len(),
                    b.heights.len()
                )));
            }
        }
        Ok(())
    }

    /// Draws the chart (axes, layers, legend) into `area`.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        self.check()?;
        let entries = self.legend_entries();
        let (aw, ah) = area.dim_in_pixel();

        // 1. Reserve room for an outside legend.
        let mut pos = self.legend;
        if entries.is_empty() {
            pos = LegendPos::Hidden;
        }
        let mut plot_area = area.clone();
        let mut legend_area: Option<(DrawingArea<DB, Shift>, usize)> = None;
        // A column on the right holds a right-hand legend and, under it, the notes when the
        // legend or the notes are placed `Right`; otherwise notes go into a corner.
        let mut notes_side = !self.notes.is_empty()
            && (pos == LegendPos::Right || self.note_pos == LegendPos::Right);
        let mut side: Option<DrawingArea<DB, Shift>> = None;
        if pos == LegendPos::Right || notes_side {
            let mut sw = 0;
            if pos == LegendPos::Right {
                sw = legend_size(area, &entries, 1, LEGEND_SIZE)?.0;
            }
            if notes_side {
                sw = sw.max(self.notes_size(area)?.0);
            }
            if f64::from(sw) <= 0.45 * f64::from(aw) {
                let (p, l) = area.split_horizontally(aw as i32 - sw as i32 - 12);
                plot_area = p;
                side = Some(l.margin(14, 0, 6, 0));
            } else {
                notes_side = false;
                if pos == LegendPos::Right {
                    pos = LegendPos::Below;
                }
            }
        }
        if pos == LegendPos::Below {
            let mut cols = entries.len();
            let mut size = legend_size(area, &entries, cols, LEGEND_SIZE)?;
            while cols > 1 && size.0 > aw.saturating_sub(16) {
                cols -= 1;
                size = legend_size(area, &entries, cols, LEGEND_SIZE)?;
            }
            let (p, l) = area.split_vertically(ah as i32 - size.1 as i32 - 8);
            plot_area = p;
            legend_area = Some((l.margin(4, 0, 8, 0), cols));
        }

        // 2. Ranges in axis (transformed) coordinates.
        let (xs, ys) = self.extents();
        let xr = self.range(&xs, self.x_range, self.x_scale);
        let yr = self.range(&ys, self.y_range, self.y_scale);

        // 3. Axes.
        let (pw, ph) = plot_area.dim_in_pixel();
        let x_ticks = match self.x_scale {
            Scale::Log if xr.1 - xr.0 >= 2.5 => ((xr.1 - xr.0).floor() as usize + 1).min(12),
            _ => ((pw / 120) as usize).clamp(3, 10),
        };
        let y_ticks = match self.y_scale {
            Scale::Log if yr.1 - yr.0 >= 2.5 => ((yr.1 - yr.0).floor() as usize + 1).min(12),
            _ => ((ph / 70) as usize).clamp(3, 10),
        };
        let (xs_, ys_) = (self.x_scale, self.y_scale);
        let fx = move |v: &f64| fmt_tick(*v, xs_);
        let fy = move |v: &f64| fmt_tick(*v, ys_);
        let tick_style = font(TICK_SIZE);
        let mut y_label_w = 0u32;
        for v in [yr.0, yr.1, 0.5 * (yr.0 + yr.1), yr.0 + 0.1 * (yr.1 - yr.0)] {
            y_label_w = y_label_w.max(area.estimate_text_size(&fy(&v), &tick_style)?.0);
        }
        let y_area = y_label_w as i32 + AXIS_LABEL_SIZE as i32 + 20;
        let x_area = TICK_SIZE as i32 + AXIS_LABEL_SIZE as i32 + 22;
        let mut chart = ChartBuilder::on(&plot_area)
            .margin_top(12)
            .margin_right(28)
            .margin_left(4)
            .margin_bottom(4)
            .x_label_area_size(x_area)
            .y_label_area_size(y_area)
            .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .x_labels(x_ticks)
            .y_labels(y_ticks)
            .x_label_formatter(&fx)
            .y_label_formatter(&fy)
            .label_style(tick_style.clone())
            .axis_desc_style(font(AXIS_LABEL_SIZE))
            .bold_line_style(RGBColor(222, 222, 222).stroke_width(1))
            .max_light_lines(0)
            .axis_style(BLACK.stroke_width(1))
            .draw()?;

        // 4. Layers, in pixel coordinates of the plotting area.
        let pa = chart.plotting_area().strip_coord_spec();
        let base = chart.plotting_area().get_base_pixel();
        let px = |x: f64, y: f64| -> (i32, i32) {
            let p = chart.backend_coord(&(x, y));
            (p.0 - base.0, p.1 - base.1)
        };
        let (paw, pah) = pa.dim_in_pixel();
        let rect = Rect {
            x0: xr.0,
            x1: xr.1,
            y0: yr.0,
            y1: yr.1,
        };

        for b in &self.bars {
            let c = b.color.unwrap_or_else(|| color_for(&b.label));
            let base_y = if self.y_scale == Scale::Linear {
                0.0f64.max(yr.0)
            } else {
                yr.0
            };
            let mut outline: Vec<(i32, i32)> = Vec::new();
            for (i, &h) in b.heights.iter().enumerate() {
                let (e0, e1) = (self.tx(b.edges[i]), self.tx(b.edges[i + 1]));
                let hy = self.ty(h);
                if !(e0.is_finite() && e1.is_finite()) {
                    continue;
                }
                let top = if hy.is_finite() {
                    hy.clamp(yr.0, yr.1)
                } else {
                    base_y
                };
                let (l, r) = (e0.clamp(xr.0, xr.1), e1.clamp(xr.0, xr.1));
                let p0 = px(l, base_y);
                let p1 = px(r, top);
                if top > base_y {
                    pa.draw(&Rectangle::new([p0, p1], c.mix(0.30).filled()))?;
                }
                outline.push(px(l, top));
                outline.push(px(r, top));
            }
            if !outline.is_empty() {
                pa.draw(&PathElement::new(outline, c.stroke_width(2)))?;
            }
        }

        for s in &self.series {
            if let (Some(lo), Some(hi)) = (&s.lo, &s.hi) {
                let c = s.rgb();
                for poly in self.band_polygons(s, lo, hi, rect) {
                    let pts: Vec<(i32, i32)> = poly.iter().map(|&(x, y)| px(x, y)).collect();
                    pa.draw(&Polygon::new(pts, c.mix(0.20).filled()))?;
                }
            }
        }

        for l in &self.lines {
            let pieces: Vec<Path2> = match l {
                RefLine::Identity(_) => {
                    let pts: Vec<(f64, f64)> = (0..=240)
                        .map(|i| {
                            let t = xr.0 + (xr.1 - xr.0) * f64::from(i) / 240.0;
                            (t, self.ty(self.x_scale.inv(t)))
                        })
                        .collect();
                    clip_polyline(&pts, rect)
                }
                RefLine::Horizontal(y, _) => {
                    clip_polyline(&[(xr.0, self.ty(*y)), (xr.1, self.ty(*y))], rect)
                }
                RefLine::Vertical(x, _) => {
                    clip_polyline(&[(self.tx(*x), yr.0), (self.tx(*x), yr.1)], rect)
                }
            };
            for p in pieces {
                let pts: Vec<(i32, i32)> = p.iter().map(|&(x, y)| px(x, y)).collect();
                draw_dashed(&pa, &pts, REF_GREY.stroke_width(2), 10.0, 7.0)?;
            }
        }

        for s in &self.series {
            let c = s.rgb();
            let pts: Vec<(f64, f64)> =
                s.x.iter()
                    .zip(&s.mean)
                    .map(|(&x, &y)| (self.tx(x), self.ty(y)))
                    .collect();
            for piece in clip_polyline(&pts, rect) {
                let p: Vec<(i32, i32)> = piece.iter().map(|&(x, y)| px(x, y)).collect();
                if s.dashed {
                    draw_dashed(&pa, &p, c.stroke_width(3), 12.0, 7.0)?;
                } else {
                    draw_polyline(&pa, &p, c.stroke_width(3))?;
                }
            }
            // Isolated finite points (no finite neighbour) would be invisible as a line.
            for i in 0..pts.len() {
                let ok = |j: usize| pts[j].0.is_finite() && pts[j].1.is_finite();
                let isolated =
                    ok(i) && (i == 0 || !ok(i - 1)) && (i + 1 == pts.len() || !ok(i + 1));
                if (s.markers || isolated) && ok(i) && rect.contains(pts[i]) {
                    pa.draw(&Circle::new(px(pts[i].0, pts[i].1), 5, c.filled()))?;
                }
            }
        }

        for s in &self.scatter {
            let c = s.color.unwrap_or_else(|| color_for(&s.label));
            for (&x, &y) in s.x.iter().zip(&s.y) {
                let p = (self.tx(x), self.ty(y));
                if p.0.is_finite() && p.1.is_finite() && rect.contains(p) {
                    draw_marker(&pa, s.shape, px(p.0, p.1), s.radius, c)?;
                }
            }
        }

        for r in &self.refs {
            let p = (self.tx(r.x), self.ty(r.y));
            if p.0.is_finite() && p.1.is_finite() && rect.contains(p) {
                let q = px(p.0, p.1);
                // A white halo and centre keep the marker visible on top of data of the same
                // colour.
                draw_marker(&pa, r.shape, q, 11, WHITE)?;
                pa.draw(&Circle::new(q, 7, WHITE.filled()))?;
                draw_marker(&pa, r.shape, q, 9, r.color)?;
            }
        }

        let mut row = 0;
        for s in &self.series {
            let (marks, _) = self.series_marks(s);
            if marks.is_empty() {
                continue;
            }
            for d in &marks {
                let x = self.tx(d.x);
                if x >= xr.0 && x <= xr.1 {
                    let (qx, _) = px(x, yr.1);
                    draw_marker(&pa, MarkerShape::Cross, (qx, 10 + 16 * row), 7, s.rgb())?;
                }
            }
            row += 1;
        }

        let mut legend_h = 0;
        if let (LegendPos::Right, Some(sa)) = (pos, &side) {
            draw_legend(sa, &entries, 1, LEGEND_SIZE)?;
            legend_h = legend_size(sa, &entries, 1, LEGEND_SIZE)?.1 as i32 + 14;
        }
        if !self.notes.is_empty() {
            let (bw, bh) = self.notes_size(&pa)?;
            match (&side, notes_side) {
                (Some(sa), true) => self.draw_notes(&sa.clone().shrink((0, legend_h), (bw, bh)))?,
                _ => {
                    let corner = match self.note_pos {
                        LegendPos::Right | LegendPos::Below | LegendPos::Hidden => {
                            LegendPos::UpperLeft
                        }
                        c => c,
                    };
                    let (x, y) = corner_origin(corner, (paw, pah), (bw, bh), 10);
                    self.draw_notes(&pa.clone().shrink((x, y), (bw, bh)))?;
                }
            }
        }
        match (pos, legend_area) {
            (LegendPos::Below, Some((la, cols))) => draw_legend(&la, &entries, cols, LEGEND_SIZE)?,
            (LegendPos::Right | LegendPos::Below | LegendPos::Hidden, _) => {}
            (corner, _) => {
                let (lw, lh) = legend_size(&pa, &entries, 1, LEGEND_SIZE)?;
                let (x, y) = corner_origin(corner, (paw, pah), (lw, lh), 10);
                let la = pa.clone().shrink((x, y), (lw, lh));
                draw_legend(&la, &entries, 1, LEGEND_SIZE)?;
            }
        }

        if xs.is_empty() {
            pa.draw_text(
                "no finite data",
                &font(AXIS_LABEL_SIZE).pos(Pos::new(HPos::Center, VPos::Center)),
                (paw as i32 / 2, pah as i32 / 2),
            )?;
        }
        Ok(())
    }

    /// Pixel size of the notes box.
    fn notes_size<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(u32, u32), PlotError> {
        let style = font(LEGEND_SIZE);
        let mut w = 0u32;
        let mut h = 0u32;
        for n in &self.notes {
            let (tw, th) = area.estimate_text_size(n, &style)?;
            w = w.max(tw);
            h = h.max(th);
        }
        let line_h = (f64::from(h.max(LEGEND_SIZE as u32)) * 1.4) as u32;
        Ok((w + 16, line_h * self.notes.len() as u32 + 10))
    }

    /// Draws the notes on a white box filling `area` (sized with `notes_size`).
    fn draw_notes<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), PlotError> {
        let (bw, bh) = self.notes_size(area)?;
        let line_h = (bh - 10) / self.notes.len().max(1) as u32;
        area.draw(&Rectangle::new(
            [(0, 0), (bw as i32, bh as i32)],
            WHITE.mix(0.92).filled(),
        ))?;
        area.draw(&Rectangle::new(
            [(0, 0), (bw as i32, bh as i32)],
            RGBColor(170, 170, 170).stroke_width(1),
        ))?;
        let s = font(LEGEND_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
        for (i, n) in self.notes.iter().enumerate() {
            let yc = 5 + (line_h as i32) * i as i32 + line_h as i32 / 2;
            area.draw_text(n, &s, (8, yc))?;
        }
        Ok(())
    }

    /// The axis range (transformed units) over `vals`, or the explicit range.
    fn range(&self, vals: &[f64], explicit: Option<(f64, f64)>, scale: Scale) -> (f64, f64) {
        if let Some((a, b)) = explicit {
            let (a, b) = (scale.fwd(a), scale.fwd(b));
            if a.is_finite() && b.is_finite() && a != b {
                return (a.min(b), a.max(b));
            }
        }
        if vals.is_empty() {
            return (0.0, 1.0);
        }
        let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let span = hi - lo;
        if span <= f64::EPSILON * hi.abs().max(1.0) {
            let pad = match scale {
                Scale::Log => 0.5,
                Scale::Linear => (0.1 * hi.abs()).max(0.5),
            };
            return (lo - pad, hi + pad);
        }
        // Reference markers are large: leave them more room from the frame.
        let pad = if self.refs.is_empty() { 0.04 } else { 0.07 };
        let (plo, phi) = (lo - pad * span, hi + pad * span);
        if scale == Scale::Log && span >= 0.9 {
            // Extend an end to the next whole decade when that adds little empty space.
            let near = 0.3f64.max(0.05 * span);
            let dlo = plo.floor();
            let dhi = phi.ceil();
            // Or pull it in to a whole decade that still leaves 1 % of the span free.
            let a = if plo - dlo <= near {
                dlo
            } else if plo.ceil() <= lo - 0.01 * span {
                plo.ceil()
            } else {
                plo
            };
            let b = if dhi - phi <= near {
                dhi
            } else if phi.floor() >= hi + 0.01 * span {
                phi.floor()
            } else {
                phi
            };
            return (a, b);
        }
        (plo, phi)
    }

    /// Closed polygons (transformed units) for the band of `s`, one per run of finite points.
    fn band_polygons(&self, s: &Series, lo: &[f64], hi: &[f64], r: Rect) -> Vec<Path2> {
        let mut out = Vec::new();
        let mut upper: Path2 = Vec::new();
        let mut lower: Path2 = Vec::new();
        let flush = |upper: &mut Path2, lower: &mut Path2, out: &mut Vec<Path2>| {
            if upper.len() >= 2 {
                let mut poly = std::mem::take(upper);
                poly.extend(lower.iter().rev());
                out.push(poly);
            }
            upper.clear();
            lower.clear();
        };
        for i in 0..s.x.len() {
            let x = self.tx(s.x[i]);
            let mut l = self.ty(lo[i]);
            let h = self.ty(hi[i]);
            // On a log axis a band reaching zero or below runs to the bottom edge.
            if self.y_scale == Scale::Log && lo[i].is_finite() && lo[i] <= 0.0 {
                l = r.y0;
            }
            if x.is_finite() && l.is_finite() && h.is_finite() {
                let x = x.clamp(r.x0, r.x1);
                upper.push((x, h.clamp(r.y0, r.y1)));
                lower.push((x, l.clamp(r.y0, r.y1)));
            } else {
                flush(&mut upper, &mut lower, &mut out);
            }
        }
        flush(&mut upper, &mut lower, &mut out);
        out
    }
}

/// Dark grey of reference lines.
const REF_GREY: RGBColor = RGBColor(80, 80, 80);

#[derive(Clone, Copy, Debug)]
struct Rect {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Rect {
    fn contains(&self, (x, y): (f64, f64)) -> bool {
        x >= self.x0 && x <= self.x1 && y >= self.y0 && y <= self.y1
    }
}

/// Top-left pixel of a `size` box in `corner` of an area of `dim` pixels.
fn corner_origin(corner: LegendPos, dim: (u32, u32), size: (u32, u32), pad: i32) -> (i32, i32) {
    let right = dim.0 as i32 - size.0 as i32 - pad;
    let bottom = dim.1 as i32 - size.1 as i32 - pad;
    match corner {
        LegendPos::UpperRight => (right, pad),
        LegendPos::LowerLeft => (pad, bottom),
        LegendPos::LowerRight => (right, bottom),
        _ => (pad, pad),
    }
    .max((0, 0))
}

/// A tick label. `v` is in axis units (log10 of the value on a log axis).
fn fmt_tick(v: f64, scale: Scale) -> String {
    match scale {
        Scale::Linear => fmt_number(v),
        Scale::Log => {
            let r = v.round();
            if (v - r).abs() < 1e-9 {
                let e = r as i32;
                if (-3..=4).contains(&e) {
                    fmt_number(10f64.powi(e))
                } else {
                    format!("1e{e}")
                }
            } else {
                let x = 10f64.powf(v);
                let digits = (1 - x.log10().floor() as i32).max(0) as usize;
                if !(1e-3..1e5).contains(&x) {
                    format!("{x:.1e}")
                } else {
                    format!("{x:.digits$}")
                }
            }
        }
    }
}

/// The shortest decimal form of `v` with at most 6 decimals, or scientific when very large
/// or very small.
pub(crate) fn fmt_number(v: f64) -> String {
    if !v.is_finite() {
        return String::from("–");
    }
    let a = v.abs();
    if a < 1e-12 {
        return String::from("0");
    }
    if !(1e-3..1e6).contains(&a) {
        return format!("{v:.1e}");
    }
    for d in 0..=6usize {
        let s = format!("{v:.d$}");
        if let Ok(back) = s.parse::<f64>() {
            if (back - v).abs() <= 1e-9 * a.max(1.0) {
                return s;
            }
        }
    }
    format!("{v:.6}")
}

/// Splits a polyline at non-finite points and clips each segment to `r` (Liang–Barsky);
/// returns the visible pieces.
fn clip_polyline(pts: &[(f64, f64)], r: Rect) -> Vec<Path2> {
    let finite = |p: &(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let mut out: Vec<Path2> = Vec::new();
    let mut cur: Path2 = Vec::new();
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        if !(finite(&a) && finite(&b)) {
            if cur.len() >= 2 {
                out.push(std::mem::take(&mut cur));
            }
            cur.clear();
            continue;
        }
        match clip_segment(a, b, r) {
            Some((p, q)) => {
                if cur.last() != Some(&p) {
                    if cur.len() >= 2 {
                        out.push(std::mem::take(&mut cur));
                    }
                    cur.clear();
                    cur.push(p);
                }
                cur.push(q);
                if q != b {
                    out.push(std::mem::take(&mut cur));
                }
            }
            None => {
                if cur.len() >= 2 {
                    out.push(std::mem::take(&mut cur));
                }
                cur.clear();
            }
        }
    }
    if cur.len() >= 2 {
        out.push(cur);
    }
    out
}

fn clip_segment(a: (f64, f64), b: (f64, f64), r: Rect) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let mut t0: f64 = 0.0;
    let mut t1: f64 = 1.0;
    for (p, q) in [
        (-dx, a.0 - r.x0),
        (dx, r.x1 - a.0),
        (-dy, a.1 - r.y0),
        (dy, r.y1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let p = if t0 == 0.0 {
        a
    } else {
        (a.0 + t0 * dx, a.1 + t0 * dy)
    };
    let q = if t1 == 1.0 {
        b
    } else {
        (a.0 + t1 * dx, a.1 + t1 * dy)
    };
    Some((p, q))
}

/// Draws a dashed polyline in pixel coordinates (dash and gap lengths in pixels), keeping
/// the dash pattern continuous across vertices.
fn draw_dashed<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    pts: &[(i32, i32)],
    style: ShapeStyle,
    dash: f64,
    gap: f64,
) -> Result<(), PlotError> {
    let mut on = true;
    let mut left = dash;
    let mut current: Vec<(i32, i32)> = Vec::new();
    for w in pts.windows(2) {
        let (a, b) = (
            (f64::from(w[0].0), f64::from(w[0].1)),
            (f64::from(w[1].0), f64::from(w[1].1)),
        );
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        if len == 0.0 {
            continue;
        }
        let mut t = 0.0;
        if on && current.is_empty() {
            current.push(w[0]);
        }
        while t < len {
            let step = left.min(len - t);
            t += step;
            left -= step;
            let p = (
                (a.0 + (b.0 - a.0) * t / len).round() as i32,
                (a.1 + (b.1 - a.1) * t / len).round() as i32,
            );
            if on {
                current.push(p);
            }
            if left <= 0.0 {
                if on {
                    draw_polyline(area, &std::mem::take(&mut current), style)?;
                }
                on = !on;
                left = if on { dash } else { gap };
                if on {
                    current.push(p);
                }
            }
        }
    }
    if on && current.len() >= 2 {
        draw_polyline(area, &current, style)?;
    }
    Ok(())
}

/// Draws a polyline in pixel coordinates. Wide strokes are drawn in pieces split at sharp
/// turns (more than about 60°): a mitred join of a nearly reversing, noisy line would
/// otherwise grow a long spike far outside the data.
pub(crate) fn draw_polyline<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    pts: &[(i32, i32)],
    style: ShapeStyle,
) -> Result<(), PlotError> {
    let mut p: Vec<(i32, i32)> = Vec::with_capacity(pts.len());
    for &q in pts {
        if p.last() != Some(&q) {
            p.push(q);
        }
    }
    if p.len() < 2 {
        return Ok(());
    }
    if style.stroke_width <= 1 {
        area.draw(&PathElement::new(p, style))?;
        return Ok(());
    }
    let dir = |a: (i32, i32), b: (i32, i32)| {
        let (dx, dy) = (f64::from(b.0 - a.0), f64::from(b.1 - a.1));
        let n = dx.hypot(dy);
        (dx / n, dy / n)
    };
    let mut start = 0;
    for i in 1..p.len() - 1 {
        let (a, b) = (dir(p[i - 1], p[i]), dir(p[i], p[i + 1]));
        if a.0 * b.0 + a.1 * b.1 < 0.5 {
            area.draw(&PathElement::new(p[start..=i].to_vec(), style))?;
            start = i;
        }
    }
    area.draw(&PathElement::new(p[start..].to_vec(), style))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r() -> Rect {
        Rect {
            x0: 0.0,
            x1: 1.0,
            y0: 0.0,
            y1: 1.0,
        }
    }

    #[test]
    fn clipping_cuts_at_the_frame_and_splits_at_nan() {
        let pieces = clip_polyline(
            &[
                (0.5, 0.5),
                (1.5, 0.5),
                (f64::NAN, 0.0),
                (0.1, 0.1),
                (0.2, 0.2),
            ],
            r(),
        );
        assert_eq!(pieces.len(), 2);
        assert_eq!(pieces[0], vec![(0.5, 0.5), (1.0, 0.5)]);
        assert_eq!(pieces[1], vec![(0.1, 0.1), (0.2, 0.2)]);
        assert!(clip_segment((2.0, 2.0), (3.0, 3.0), r()).is_none());
    }

    #[test]
    fn tick_labels() {
        assert_eq!(fmt_tick(-2.0, Scale::Log), "0.01");
        assert_eq!(fmt_tick(-6.0, Scale::Log), "1e-6");
        assert_eq!(fmt_tick(0.25, Scale::Linear), "0.25");
        assert_eq!(fmt_tick(3.0, Scale::Linear), "3");
        assert_eq!(fmt_number(1.0e-7), "1.0e-7");
    }

    #[test]
    fn non_finite_values_are_marked_not_dropped() {
        let s = Series::new(
            "bn",
            vec![1.0, 2.0, 3.0, f64::NAN],
            vec![0.5, f64::NAN, 0.7, 0.1],
        )
        .diverged(3.0, 2);
        let c = XyChart::new("x", "y").series(s);
        let e = c.legend_entries();
        assert_eq!(e[0].label, "bn (× 3 diverged) (1 not drawn)");
        let log =
            XyChart::new("x", "y")
                .log_y()
                .series(Series::new("p", vec![1.0, 2.0], vec![0.0, 1.0]));
        assert_eq!(log.legend_entries()[0].label, "p (× 1 diverged)");
    }

    #[test]
    fn ranges_cover_data_and_snap_to_decades() {
        let c = XyChart::new("x", "y").log_x();
        let (a, b) = c.range(&[-3.0, -0.1], None, Scale::Log);
        assert!(a < -3.0 && a > -3.2 && b > -0.1 && b < 0.1, "{a} {b}");
        assert_eq!(c.range(&[-2.9, -0.1], None, Scale::Log).0, -3.0);
        let (a, b) = c.range(&[0.0, 4.48], None, Scale::Log);
        assert!(a > -0.5 && a < 0.0 && b > 4.48 && b <= 5.0, "{a} {b}");
        let (a, b) = c.range(&[1.0, 2.0], None, Scale::Linear);
        assert!(a < 1.0 && b > 2.0);
        assert_eq!(c.range(&[], None, Scale::Linear), (0.0, 1.0));
    }
}
