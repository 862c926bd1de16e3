//! [`HeatMap`]: a grid of coloured cells, one per pair of grid values (e.g. a rule parameter
//! against an intrinsic learning rate), each cell annotated with its value, and a colour bar.
//!
//! Cells without a value (NaN, e.g. every run of the cell diverged) are drawn light grey and
//! keep their annotation, so an outcome that is not a number stays visible.

use super::{font, PlotError, AXIS_LABEL_SIZE, TICK_SIZE};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Colour of a cell without a value.
pub const NO_VALUE: RGBColor = RGBColor(215, 215, 215);

/// Anchor colours of the sequential scale (viridis at 0, ¼, ½, ¾ and 1), interpolated
/// linearly in RGB.
const VIRIDIS: [(u8, u8, u8); 5] = [
    (68, 1, 84),
    (59, 82, 139),
    (33, 145, 140),
    (94, 201, 98),
    (253, 231, 37),
];

/// The colour of position `t` ∈ [0, 1] on the sequential scale (clamped).
pub fn scale_color(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + f * (f64::from(b) - f64::from(a))).round() as u8;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A colour-bar end value: 3 significant digits, scientific outside [0.001, 10⁴).
fn end_text(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 || !v.is_finite() {
        format!("{v}")
    } else if (1e-3..1e4).contains(&a) {
        let digits = (2 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.digits$}")
    } else {
        format!("{v:.1e}")
    }
}

/// A heat map: `values[row][col]`, row 0 drawn at the bottom (like a y axis).
#[derive(Clone, Debug)]
pub struct HeatMap {
    /// Description of the columns (x).
    pub x_label: String,
    /// Description of the rows (y).
    pub y_label: String,
    /// Tick text of each column.
    pub x_ticks: Vec<String>,
    /// Tick text of each row.
    pub y_ticks: Vec<String>,
    /// Cell values (NaN: no value).
    pub values: Vec<Vec<f64>>,
    /// Text written in each cell (same shape as `values`).
    pub text: Vec<Vec<String>>,
    /// Values mapped to the two ends of the colour scale.
    pub range: (f64, f64),
    /// Whether the colour scale is logarithmic (values and range > 0).
    pub log: bool,
    /// Caption of the colour bar.
    pub scale_label: String,
}

impl HeatMap {
    /// The position of `v` on the colour scale, in [0, 1] (NaN for no value).
    fn position(&self, v: f64) -> f64 {
        let (lo, hi) = self.range;
        let (v, lo, hi) = if self.log {
            (v.log10(), lo.log10(), hi.log10())
        } else {
            (v, lo, hi)
        };
        if !v.is_finite() {
            return f64::NAN;
        }
        if hi > lo {
            ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
        } else {
            0.5
        }
    }

    fn check(&self) -> Result<(), PlotError> {
        let rows = self.y_ticks.len();
        let cols = self.x_ticks.len();
        let values_ok = self.values.len() == rows && self.values.iter().all(|r| r.len() == cols);
        let text_ok = self.text.len() == rows && self.text.iter().all(|r| r.len() == cols);
        if rows == 0 || cols == 0 || !values_ok || !text_ok {
            return Err(PlotError::Invalid(format!(
                "a heat map needs {rows}×{cols} values and texts matching its ticks (at least 1×1)"
            )));
        }
        Ok(())
    }

    /// Draws the map into `area`: tick texts left and below, the axis descriptions, and a
    /// colour bar with its end values on the right.
    ///
    /// # Errors
    /// [`PlotError::Invalid`] if the shapes of values, texts and ticks disagree; drawing
    /// errors of the backend.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        self.check()?;
        let (w, h) = area.dim_in_pixel();
        let tick = font(TICK_SIZE);
        let label = font(AXIS_LABEL_SIZE);
        let y_tick_w = self
            .y_ticks
            .iter()
            .map(|t| area.estimate_text_size(t, &tick).map(|s| s.0))
            .collect::<Result<Vec<u32>, _>>()?
            .into_iter()
            .max()
            .unwrap_or(0) as i32;
        let left = AXIS_LABEL_SIZE as i32 + 12 + y_tick_w + 8;
        let bottom = TICK_SIZE as i32 + AXIS_LABEL_SIZE as i32 + 22;
        let bar_w = 18;
        let right = bar_w + 70;
        let top = 4;
        let gw = w as i32 - left - right - 10;
        let gh = h as i32 - top - bottom;
        if gw < 20 || gh < 20 {
            return Err(PlotError::Invalid("a heat map's area is too small".into()));
        }
        let (rows, cols) = (self.y_ticks.len() as i32, self.x_ticks.len() as i32);
        let cell_w = gw as f64 / cols as f64;
        let cell_h = gh as f64 / rows as f64;
        let cell_font = (cell_h / 3.2).clamp(11.0, TICK_SIZE);
        for (r, (vals, texts)) in self.values.iter().zip(&self.text).enumerate() {
            for (c, (&v, t)) in vals.iter().zip(texts).enumerate() {
                let x0 = left + (c as f64 * cell_w).round() as i32;
                let x1 = left + ((c + 1) as f64 * cell_w).round() as i32;
                let y1 = top + gh - (r as f64 * cell_h).round() as i32;
                let y0 = top + gh - ((r + 1) as f64 * cell_h).round() as i32;
                let p = self.position(v);
                let fill = if p.is_finite() {
                    scale_color(p)
                } else {
                    NO_VALUE
                };
                area.draw(&Rectangle::new([(x0, y0), (x1, y1)], fill.filled()))?;
                area.draw(&Rectangle::new([(x0, y0), (x1, y1)], WHITE.stroke_width(1)))?;
                // Dark text on the light end of the scale, white on the dark end.
                let ink = if !p.is_finite() || p > 0.6 {
                    BLACK
                } else {
                    WHITE
                };
                let style = font(cell_font).color(&ink);
                for (i, line) in t.lines().enumerate() {
                    let n = t.lines().count() as f64;
                    let y =
                        (y0 + y1) as f64 / 2.0 + (i as f64 - (n - 1.0) / 2.0) * cell_font * 1.15;
                    area.draw_text(
                        line,
                        &style.pos(Pos::new(HPos::Center, VPos::Center)),
                        ((x0 + x1) / 2, y.round() as i32),
                    )?;
                }
            }
        }
        for (c, t) in self.x_ticks.iter().enumerate() {
            let x = left + ((c as f64 + 0.5) * cell_w).round() as i32;
            area.draw_text(
                t,
                &tick.pos(Pos::new(HPos::Center, VPos::Top)),
                (x, top + gh + 6),
            )?;
        }
        for (r, t) in self.y_ticks.iter().enumerate() {
            let y = top + gh - ((r as f64 + 0.5) * cell_h).round() as i32;
            area.draw_text(
                t,
                &tick.pos(Pos::new(HPos::Right, VPos::Center)),
                (left - 8, y),
            )?;
        }
        area.draw_text(
            &self.x_label,
            &label.pos(Pos::new(HPos::Center, VPos::Bottom)),
            (left + gw / 2, h as i32 - 2),
        )?;
        area.draw_text(
            &self.y_label,
            &label
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Center, VPos::Top)),
            (2, top + gh / 2),
        )?;
        // Colour bar: 32 steps from the low end (bottom) to the high end (top).
        let bx = left + gw + 12;
        let steps = 32;
        for i in 0..steps {
            let y1 = top + gh - (i * gh) / steps;
            let y0 = top + gh - ((i + 1) * gh) / steps;
            let c = scale_color((i as f64 + 0.5) / steps as f64);
            area.draw(&Rectangle::new([(bx, y0), (bx + bar_w, y1)], c.filled()))?;
        }
        let end = end_text;
        area.draw_text(
            &end(self.range.1),
            &tick.pos(Pos::new(HPos::Left, VPos::Top)),
            (bx + bar_w + 4, top),
        )?;
        area.draw_text(
            &end(self.range.0),
            &tick.pos(Pos::new(HPos::Left, VPos::Bottom)),
            (bx + bar_w + 4, top + gh),
        )?;
        area.draw_text(
            &self.scale_label,
            &tick
                .transform(FontTransform::Rotate90)
                .pos(Pos::new(HPos::Center, VPos::Top)),
            (bx + bar_w + 30 + TICK_SIZE as i32, top + gh / 2),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_ends_and_positions() {
        assert_eq!(scale_color(0.0), RGBColor(68, 1, 84));
        assert_eq!(scale_color(1.0), RGBColor(253, 231, 37));
        assert_eq!(scale_color(0.5), RGBColor(33, 145, 140));
        let m = HeatMap {
            x_label: "x".into(),
            y_label: "y".into(),
            x_ticks: vec!["a".into(), "b".into()],
            y_ticks: vec!["r".into()],
            values: vec![vec![1e-3, 1e-1]],
            text: vec![vec![String::new(), String::new()]],
            range: (1e-4, 1.0),
            log: true,
            scale_label: "s".into(),
        };
        assert!((m.position(1e-2) - 0.5).abs() < 1e-12);
        assert!((m.position(1e-3) - 0.25).abs() < 1e-12);
        assert!(m.position(f64::NAN).is_nan());
        assert!(m.check().is_ok());
        let bad = HeatMap {
            values: vec![vec![1.0]],
            ..m
        };
        assert!(bad.check().is_err());
    }
}
