//! Writing figures: one drawing routine rendered to both SVG and PNG, every file atomically.

use super::PlotError;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingErrorKind,
};
use std::path::{Path, PathBuf};

/// The error type of [`Canvas`]: the message of the wrapped backend's error.
#[derive(Debug)]
pub struct CanvasError(String);

impl std::fmt::Display for CanvasError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CanvasError {}

/// A drawing backend that is either an SVG document or a bitmap, so that one drawing
/// function (taking an [`Area`]) produces both files of a figure.
pub enum Canvas<'a> {
    /// Vector output (text kept as text).
    Svg(SVGBackend<'a>),
    /// Raster output (text rasterised with the bundled font).
    Bitmap(BitMapBackend<'a>),
}

/// The drawing area every figure draws on.
pub type Area<'a> = DrawingArea<Canvas<'a>, Shift>;

fn map_err<E: std::error::Error + Send + Sync>(
    e: DrawingErrorKind<E>,
) -> DrawingErrorKind<CanvasError> {
    match e {
        DrawingErrorKind::DrawingError(e) => {
            DrawingErrorKind::DrawingError(CanvasError(e.to_string()))
        }
        DrawingErrorKind::FontError(e) => DrawingErrorKind::FontError(e),
    }
}

macro_rules! delegate {
    ($self:ident, $b:ident => $e:expr) => {
        match $self {
            Canvas::Svg($b) => $e.map_err(map_err),
            Canvas::Bitmap($b) => $e.map_err(map_err),
        }
    };
}

impl DrawingBackend for Canvas<'_> {
    type ErrorType = CanvasError;

    fn get_size(&self) -> (u32, u32) {
        match self {
            Canvas::Svg(b) => b.get_size(),
            Canvas::Bitmap(b) => b.get_size(),
        }
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<CanvasError>> {
        delegate!(self, b => b.ensure_prepared())
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<CanvasError>> {
        delegate!(self, b => b.present())
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        delegate!(self, b => b.draw_pixel(point, color))
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        delegate!(self, b => b.draw_line(from, to, style))
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        delegate!(self, b => b.draw_rect(upper_left, bottom_right, style, fill))
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        delegate!(self, b => b.draw_path(path, style))
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        delegate!(self, b => b.draw_circle(center, radius, style, fill))
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        delegate!(self, b => b.fill_polygon(vert, style))
    }

    fn draw_text<T: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &T,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        delegate!(self, b => b.draw_text(text, style, pos))
    }

    fn estimate_text_size<T: BackendTextStyle>(
        &self,
        text: &str,
        style: &T,
    ) -> Result<(u32, u32), DrawingErrorKind<CanvasError>> {
        delegate!(self, b => b.estimate_text_size(text, style))
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<CanvasError>> {
        delegate!(self, b => b.blit_bitmap(pos, size, src))
    }
}

fn io_err(path: &Path, source: std::io::Error) -> PlotError {
    PlotError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` atomically with [`ipbn_train::io::write_atomic`], the
/// workspace's one atomic write: a reader sees the old file or the new one, never half of
/// it, and no temporary file is left behind on failure. Creates the folder if missing.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), PlotError> {
    if path.file_name().is_none() {
        return Err(PlotError::Invalid(format!(
            "`{}` has no file name",
            path.display()
        )));
    }
    Ok(ipbn_train::io::write_atomic(path, bytes)?)
}

/// Writes `text` to `path` atomically (see [`write_bytes_atomic`]).
pub fn write_text_atomic(path: impl AsRef<Path>, text: &str) -> Result<(), PlotError> {
    write_bytes_atomic(path.as_ref(), text.as_bytes())
}

/// Writes `value` as pretty-printed JSON (with a final newline) to `path` atomically.
///
/// Non-finite floats cannot occur in a `serde_json::Value` (serde_json stores them as
/// `null`), so what is written always parses.
pub fn write_json_atomic(
    path: impl AsRef<Path>,
    value: &serde_json::Value,
) -> Result<(), PlotError> {
    let path = path.as_ref();
    let mut text = serde_json::to_string_pretty(value).map_err(|source| PlotError::Json {
        what: path.display().to_string(),
        source,
    })?;
    text.push('\n');
    write_bytes_atomic(path, text.as_bytes())
}

/// Renders `draw` twice, to `out_dir/ID.svg` and `out_dir/ID.png`, both `width`×`height`
/// pixels on a white background, and returns the two paths (svg first).
///
/// The same function draws both files, so they show the same picture. Each file is rendered
/// to a temporary file in `out_dir` and renamed into place only when complete; on any error
/// the temporary file is removed and the previous `ID.svg`/`ID.png` (if any) is left as it
/// was. The bundled font is registered first. Sizes: use about 1200×800 for one panel and
/// 1600×1000 or more for a grid of panels, so that text is readable at 100 % zoom.
pub fn save_figure(
    out_dir: impl AsRef<Path>,
    id: &str,
    width: u32,
    height: u32,
    draw: impl Fn(&Area<'_>) -> Result<(), PlotError>,
) -> Result<Vec<PathBuf>, PlotError> {
    super::ensure_fonts()?;
    if width < 100 || height < 100 {
        return Err(PlotError::Invalid(format!(
            "figure `{id}` is {width}x{height} pixels; use at least 100x100"
        )));
    }
    if id.is_empty() || id.contains(['/', '\\']) {
        return Err(PlotError::Invalid(format!(
            "figure id `{id}` must be a non-empty file stem without slashes"
        )));
    }
    let out_dir = out_dir.as_ref();
    std::fs::create_dir_all(out_dir).map_err(|e| io_err(out_dir, e))?;

    // SVG: render into a string, then write it atomically.
    let svg_path = out_dir.join(format!("{id}.svg"));
    let mut svg = String::new();
    {
        let area =
            Canvas::Svg(SVGBackend::with_string(&mut svg, (width, height))).into_drawing_area();
        area.fill(&WHITE)?;
        draw(&area)?;
        area.present()?;
    }
    write_bytes_atomic(&svg_path, svg.as_bytes())?;

    // PNG: the encoder picks the format from the extension, so the temporary name ends in .png.
    let png_path = out_dir.join(format!("{id}.png"));
    ipbn_train::io::write_atomic_with(&png_path, ".png", |tmp, _| -> Result<(), PlotError> {
        let area = Canvas::Bitmap(BitMapBackend::new(tmp, (width, height))).into_drawing_area();
        area.fill(&WHITE)?;
        draw(&area)?;
        area.present()?;
        Ok(())
    })?;
    Ok(vec![svg_path, png_path])
}
