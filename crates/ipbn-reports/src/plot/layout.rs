//! Multi-panel layouts: grids of titled panels `(a)`, `(b)`, ... and uneven splits.

use super::{bold, PlotError, PANEL_TITLE_SIZE, TITLE_SIZE};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The letter of panel `i` in parentheses: `(a)`, `(b)`, ..., `(z)`, `(aa)`, ...
pub fn panel_letter(i: usize) -> String {
    let mut n = i;
    let mut s = Vec::new();
    loop {
        s.push(b'a' + (n % 26) as u8);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    s.reverse();
    format!("({})", String::from_utf8_lossy(&s))
}

/// Draws `text` as a bold, centred figure title at the top of `area` (wrapped at spaces into
/// several centred lines when wider than the area) and returns the area below it.
pub fn titled<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
) -> Result<DrawingArea<DB, Shift>, PlotError> {
    let style = bold(TITLE_SIZE);
    let (w, _) = area.dim_in_pixel();
    // Greedy word wrap: a title wider than the figure is broken into centred lines.
    let room = (w as i32 - 32).max(100) as u32;
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        let joined = match lines.last() {
            Some(l) => format!("{l} {word}"),
            None => word.to_string(),
        };
        let (tw, _) = area.estimate_text_size(&joined, &style)?;
        match lines.last_mut() {
            Some(l) if tw <= room => *l = joined,
            Some(_) => lines.push(word.to_string()),
            None => lines.push(joined),
        }
    }
    let (_, h) = area.estimate_text_size(text, &style)?;
    let step = h as i32 + 6;
    for (i, line) in lines.iter().enumerate() {
        area.draw_text(
            line,
            &style.pos(Pos::new(HPos::Center, VPos::Top)),
            (w as i32 / 2, 8 + step * i as i32),
        )?;
    }
    Ok(area.margin(step * lines.len().max(1) as i32 + 12, 0, 0, 0))
}

/// Draws the panel title `"(letter) title"` in bold at the top-left of `area` (leaving a
/// small margin around the panel) and returns the area below it. An empty title draws only
/// the letter. A title too wide for the panel is drawn in a smaller font (down to 12 px);
/// keep titles short enough that this is rarely needed.
pub fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    index: usize,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, PlotError> {
    let inner = area.margin(6, 6, 8, 8);
    let text = if title.is_empty() {
        panel_letter(index)
    } else {
        format!("{} {}", panel_letter(index), title)
    };
    // Shrink the font (down to 12 px) until the title fits the panel's width.
    let (w, _) = inner.dim_in_pixel();
    let mut size = PANEL_TITLE_SIZE;
    let mut style = bold(size);
    let (mut tw, mut h) = inner.estimate_text_size(&text, &style)?;
    while tw + 8 > w && size > 12.0 {
        size -= 1.0;
        style = bold(size);
        (tw, h) = inner.estimate_text_size(&text, &style)?;
    }
    inner.draw_text(&text, &style.pos(Pos::new(HPos::Left, VPos::Top)), (4, 2))?;
    Ok(inner.margin(h.max(PANEL_TITLE_SIZE as u32) as i32 + 10, 0, 0, 0))
}

/// Splits `area` into a `rows`×`cols` grid (row by row) and gives panel `i` the title
/// `"(letter) titles[i]"`; returns the areas below the titles. Panels beyond `titles` are
/// returned untitled (and unlettered), e.g. to hold a shared legend.
pub fn grid<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    rows: usize,
    cols: usize,
    titles: &[&str],
) -> Result<Vec<DrawingArea<DB, Shift>>, PlotError> {
    if rows == 0 || cols == 0 {
        return Err(PlotError::Invalid(format!(
            "a panel grid needs at least one row and one column, got {rows}x{cols}"
        )));
    }
    if titles.len() > rows * cols {
        return Err(PlotError::Invalid(format!(
            "{} panel titles for a {rows}x{cols} grid; add rows or columns",
            titles.len()
        )));
    }
    area.split_evenly((rows, cols))
        .iter()
        .enumerate()
        .map(|(i, a)| match titles.get(i) {
            Some(t) => panel(a, i, t),
            None => Ok(a.margin(6, 6, 8, 8)),
        })
        .collect()
}

fn split<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    weights: &[f64],
    vertical: bool,
) -> Result<Vec<DrawingArea<DB, Shift>>, PlotError> {
    if weights.is_empty() || weights.iter().any(|w| !(w.is_finite() && *w > 0.0)) {
        return Err(PlotError::Invalid(format!(
            "split weights must be positive and finite, got {weights:?}"
        )));
    }
    let (w, h) = area.dim_in_pixel();
    let total: f64 = weights.iter().sum();
    let length = if vertical { h } else { w } as f64;
    let mut acc = 0.0;
    let mut breaks = Vec::with_capacity(weights.len() - 1);
    for wt in &weights[..weights.len() - 1] {
        acc += wt;
        breaks.push((length * acc / total).round() as i32);
    }
    let parts = if vertical {
        area.split_by_breakpoints(Vec::<i32>::new(), breaks)
    } else {
        area.split_by_breakpoints(breaks, Vec::<i32>::new())
    };
    Ok(parts)
}

/// Splits `area` into horizontal bands (top to bottom) with heights proportional to
/// `weights`.
pub fn split_rows<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    weights: &[f64],
) -> Result<Vec<DrawingArea<DB, Shift>>, PlotError> {
    split(area, weights, true)
}

/// Splits `area` into vertical bands (left to right) with widths proportional to `weights`.
pub fn split_cols<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    weights: &[f64],
) -> Result<Vec<DrawingArea<DB, Shift>>, PlotError> {
    split(area, weights, false)
}

#[cfg(test)]
mod tests {
    use super::panel_letter;

    #[test]
    fn letters() {
        assert_eq!(panel_letter(0), "(a)");
        assert_eq!(panel_letter(25), "(z)");
        assert_eq!(panel_letter(26), "(aa)");
    }
}
