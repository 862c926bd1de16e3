//! Legends drawn into an area of their own (beside or below a chart, or a shared legend
//! panel), so they never cover data.

use super::{font, PlotError};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// What is drawn in front of a legend label.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LegendSwatch {
    /// A line sample, optionally dashed, with a marker and/or a shaded band behind it.
    Line {
        /// Dashed line.
        dashed: bool,
        /// A dot on the line.
        marker: bool,
        /// A shaded band behind the line (the series has a spread).
        band: bool,
    },
    /// A single marker (scatter sets, reference points).
    Marker(MarkerShape),
    /// A filled box (histogram bars).
    Bar,
}

/// Marker shapes for scatter sets and reference points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum MarkerShape {
    /// Filled circle.
    #[default]
    Circle,
    /// Hollow square.
    Square,
    /// Hollow triangle.
    Triangle,
    /// An upright cross (+).
    Plus,
    /// A diagonal cross (×), used for diverged runs.
    Cross,
    /// A hollow diamond.
    Diamond,
}

/// One legend row.
#[derive(Clone, Debug, PartialEq)]
pub struct LegendEntry {
    /// The text shown.
    pub label: String,
    /// The colour of the swatch.
    pub color: RGBColor,
    /// The swatch kind.
    pub swatch: LegendSwatch,
}

/// Width of the swatch column in pixels.
const SWATCH_W: i32 = 42;
/// Gap between swatch and text, and padding around the legend.
const PAD: i32 = 8;

/// The size in pixels that [`draw_legend`] needs for `entries` in `columns` columns.
pub fn legend_size<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    columns: usize,
    size: f64,
) -> Result<(u32, u32), PlotError> {
    if entries.is_empty() {
        return Ok((0, 0));
    }
    let columns = columns.max(1);
    let style = font(size);
    let mut col_w = vec![0i32; columns];
    let mut row_h = 0i32;
    for (i, e) in entries.iter().enumerate() {
        let (w, h) = area.estimate_text_size(&e.label, &style)?;
        let c = i % columns;
        col_w[c] = col_w[c].max(SWATCH_W + PAD + w as i32);
        row_h = row_h.max(h as i32);
    }
    let rows = entries.len().div_ceil(columns) as i32;
    let line_h = (row_h.max(size as i32) as f64 * 1.45) as i32;
    let w = col_w.iter().sum::<i32>() + PAD * 2 * columns as i32 + PAD;
    let h = rows * line_h + PAD * 2;
    Ok((w as u32, h as u32))
}

/// Draws a marker of `shape` centred at pixel `(x, y)` of `area`.
pub fn draw_marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    shape: MarkerShape,
    (x, y): (i32, i32),
    radius: i32,
    color: RGBColor,
) -> Result<(), PlotError> {
    let r = radius;
    let stroke = color.stroke_width(3);
    match shape {
        MarkerShape::Circle => area.draw(&Circle::new((x, y), r, color.filled()))?,
        MarkerShape::Square => {
            area.draw(&Rectangle::new([(x - r, y - r), (x + r, y + r)], stroke))?
        }
        MarkerShape::Triangle => {
            let h = (f64::from(r) * 1.2) as i32;
            area.draw(&PathElement::new(
                vec![(x, y - h), (x + h, y + r), (x - h, y + r), (x, y - h)],
                stroke,
            ))?
        }
        MarkerShape::Diamond => {
            let h = (f64::from(r) * 1.3) as i32;
            area.draw(&PathElement::new(
                vec![(x, y - h), (x + h, y), (x, y + h), (x - h, y), (x, y - h)],
                stroke,
            ))?
        }
        MarkerShape::Plus => {
            area.draw(&PathElement::new(vec![(x - r, y), (x + r, y)], stroke))?;
            area.draw(&PathElement::new(vec![(x, y - r), (x, y + r)], stroke))?
        }
        MarkerShape::Cross => {
            area.draw(&PathElement::new(
                vec![(x - r, y - r), (x + r, y + r)],
                stroke,
            ))?;
            area.draw(&PathElement::new(
                vec![(x - r, y + r), (x + r, y - r)],
                stroke,
            ))?
        }
    }
    Ok(())
}

/// Draws `entries` in `columns` columns into `area`, starting at its top-left corner, on a
/// white box with a thin grey border. Use [`legend_size`] to reserve the space first.
pub fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    columns: usize,
    size: f64,
) -> Result<(), PlotError> {
    if entries.is_empty() {
        return Ok(());
    }
    let columns = columns.max(1);
    let (w, h) = legend_size(area, entries, columns, size)?;
    area.draw(&Rectangle::new(
        [(0, 0), (w as i32, h as i32)],
        WHITE.mix(0.92).filled(),
    ))?;
    area.draw(&Rectangle::new(
        [(0, 0), (w as i32, h as i32)],
        RGBColor(170, 170, 170).stroke_width(1),
    ))?;
    let style = font(size).pos(Pos::new(HPos::Left, VPos::Center));
    let mut col_w = vec![0i32; columns];
    let mut row_h = 0i32;
    for (i, e) in entries.iter().enumerate() {
        let (tw, th) = area.estimate_text_size(&e.label, &style)?;
        col_w[i % columns] = col_w[i % columns].max(SWATCH_W + PAD + tw as i32);
        row_h = row_h.max(th as i32);
    }
    let line_h = (row_h.max(size as i32) as f64 * 1.45) as i32;
    for (i, e) in entries.iter().enumerate() {
        let c = i % columns;
        let r = (i / columns) as i32;
        let x0 = PAD * 2 + col_w[..c].iter().sum::<i32>() + PAD * 2 * c as i32;
        let yc = PAD + r * line_h + line_h / 2;
        draw_swatch(area, e, (x0, yc))?;
        area.draw_text(&e.label, &style, (x0 + SWATCH_W + PAD, yc))?;
    }
    Ok(())
}

fn draw_swatch<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    e: &LegendEntry,
    (x0, yc): (i32, i32),
) -> Result<(), PlotError> {
    let x1 = x0 + SWATCH_W;
    match e.swatch {
        LegendSwatch::Line {
            dashed,
            marker,
            band,
        } => {
            if band {
                area.draw(&Rectangle::new(
                    [(x0, yc - 8), (x1, yc + 8)],
                    e.color.mix(0.22).filled(),
                ))?;
            }
            let style = e.color.stroke_width(3);
            if dashed {
                let mut x = x0;
                while x < x1 {
                    let xe = (x + 10).min(x1);
                    area.draw(&PathElement::new(vec![(x, yc), (xe, yc)], style))?;
                    x += 16;
                }
            } else {
                area.draw(&PathElement::new(vec![(x0, yc), (x1, yc)], style))?;
            }
            if marker {
                area.draw(&Circle::new(((x0 + x1) / 2, yc), 5, e.color.filled()))?;
            }
        }
        LegendSwatch::Marker(shape) => draw_marker(area, shape, ((x0 + x1) / 2, yc), 6, e.color)?,
        LegendSwatch::Bar => {
            area.draw(&Rectangle::new(
                [(x0 + 6, yc - 8), (x1 - 6, yc + 8)],
                e.color.mix(0.35).filled(),
            ))?;
            area.draw(&Rectangle::new(
                [(x0 + 6, yc - 8), (x1 - 6, yc + 8)],
                e.color.stroke_width(2),
            ))?;
        }
    }
    Ok(())
}
