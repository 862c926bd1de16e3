//! A table panel: a header and rows of text, shrunk to fit its area.

use super::{bold, font, PlotError, TABLE_SIZE};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Horizontal alignment of a table column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Align {
    /// Left-aligned (text).
    #[default]
    Left,
    /// Right-aligned (numbers).
    Right,
}

/// Rows of text with a bold header; each row may have its own text colour (e.g. a verdict).
#[derive(Clone, Debug, Default)]
pub struct TablePanel {
    /// Column headings.
    pub header: Vec<String>,
    /// Cells, row by row; each row as long as the header.
    pub rows: Vec<Vec<String>>,
    /// Alignment per column (missing entries: left).
    pub align: Vec<Align>,
    /// Text colour per cell (`None`: black); outer index row, inner index column.
    pub colors: Vec<Vec<Option<RGBColor>>>,
}

impl TablePanel {
    /// A table with these column headings and no rows.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        TablePanel {
            header: header.into_iter().map(Into::into).collect(),
            ..Default::default()
        }
    }

    /// Sets the alignment of each column.
    pub fn align(mut self, align: Vec<Align>) -> Self {
        self.align = align;
        self
    }

    /// Appends a row in black.
    pub fn row<S: Into<String>>(mut self, cells: impl IntoIterator<Item = S>) -> Self {
        let cells: Vec<String> = cells.into_iter().map(Into::into).collect();
        self.colors.push(vec![None; cells.len()]);
        self.rows.push(cells);
        self
    }

    /// Appends a row whose cells have the given colours (`None`: black).
    pub fn row_colored<S: Into<String>>(
        mut self,
        cells: impl IntoIterator<Item = S>,
        colors: Vec<Option<RGBColor>>,
    ) -> Self {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self.colors.push(colors);
        self
    }

    /// Draws the table at the top-left of `area`. The font starts at [`TABLE_SIZE`] and
    /// shrinks (down to 9 px) until every column and row fits; errors if it still does not
    /// fit, or if a row is longer than the header.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
        let ncol = self.header.len();
        if ncol == 0 {
            return Err(PlotError::Invalid(
                "a table needs at least one column".into(),
            ));
        }
        if let Some((i, r)) = self.rows.iter().enumerate().find(|(_, r)| r.len() > ncol) {
            return Err(PlotError::Invalid(format!(
                "table row {i} has {} cells but the header has {ncol}",
                r.len()
            )));
        }
        let (aw, ah) = area.dim_in_pixel();
        let mut size = TABLE_SIZE;
        loop {
            let (widths, line_h) = self.measure(area, size)?;
            let gap = (size * 1.6) as i32;
            let total_w: i32 = widths.iter().sum::<i32>() + gap * (ncol as i32 - 1) + 16;
            let total_h = line_h * (self.rows.len() as i32 + 1) + 12;
            if total_w <= aw as i32 && total_h <= ah as i32 {
                return self.render(area, size, &widths, line_h, gap);
            }
            if size <= 9.0 {
                return Err(PlotError::Invalid(format!(
                    "table of {} rows x {ncol} columns does not fit in {aw}x{ah} pixels",
                    self.rows.len()
                )));
            }
            size -= 1.0;
        }
    }

    fn measure<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        size: f64,
    ) -> Result<(Vec<i32>, i32), PlotError> {
        let mut widths = vec![0i32; self.header.len()];
        let mut h = size as i32;
        let hstyle = bold(size);
        for (c, t) in self.header.iter().enumerate() {
            let (w, th) = area.estimate_text_size(t, &hstyle)?;
            widths[c] = widths[c].max(w as i32);
            h = h.max(th as i32);
        }
        let style = font(size);
        for r in &self.rows {
            for (c, t) in r.iter().enumerate() {
                let (w, th) = area.estimate_text_size(t, &style)?;
                widths[c] = widths[c].max(w as i32);
                h = h.max(th as i32);
            }
        }
        Ok((widths, (f64::from(h) * 1.55) as i32))
    }

    fn render<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        size: f64,
        widths: &[i32],
        line_h: i32,
        gap: i32,
    ) -> Result<(), PlotError> {
        let x0 = 8;
        let total_w: i32 = widths.iter().sum::<i32>() + gap * (widths.len() as i32 - 1);
        let mut xs = Vec::with_capacity(widths.len());
        let mut x = x0;
        for w in widths {
            xs.push(x);
            x += w + gap;
        }
        let cell = |text: &str, style: TextStyle<'_>, c: usize, yc: i32| -> Result<(), PlotError> {
            let (pos, px) = match self.align.get(c).copied().unwrap_or_default() {
                Align::Left => (Pos::new(HPos::Left, VPos::Center), xs[c]),
                Align::Right => (Pos::new(HPos::Right, VPos::Center), xs[c] + widths[c]),
            };
            area.draw_text(text, &style.pos(pos), (px, yc))?;
            Ok(())
        };
        for (c, t) in self.header.iter().enumerate() {
            cell(t, bold(size), c, line_h / 2 + 2)?;
        }
        area.draw(&PathElement::new(
            vec![(x0 - 4, line_h + 2), (x0 + total_w + 4, line_h + 2)],
            BLACK.stroke_width(2),
        ))?;
        for (r, row) in self.rows.iter().enumerate() {
            let top = line_h * (r as i32 + 1) + 4;
            if r % 2 == 1 {
                area.draw(&Rectangle::new(
                    [(x0 - 4, top), (x0 + total_w + 4, top + line_h)],
                    RGBColor(240, 240, 240).filled(),
                ))?;
            }
            for (c, t) in row.iter().enumerate() {
                let color = self
                    .colors
                    .get(r)
                    .and_then(|cs| cs.get(c).copied().flatten())
                    .unwrap_or(BLACK);
                cell(t, font(size).color(&color), c, top + line_h / 2)?;
            }
        }
        Ok(())
    }
}
