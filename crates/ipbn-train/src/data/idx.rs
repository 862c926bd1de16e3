//! Reading and writing IDX files, the format of the MNIST distribution.
//!
//! An IDX file is a big-endian header followed by the raw values:
//!
//! | bytes | content |
//! |---|---|
//! | 0–1 | zero |
//! | 2 | value type; only `0x08` (unsigned byte) is supported here |
//! | 3 | number of dimensions *d* |
//! | 4 … 4 + 4*d* | each dimension as a `u32` |
//! | then | the values, row-major, one byte each |
//!
//! Images use magic number 2051 (`0x00000803`: bytes, 3 dimensions: count, rows, columns);
//! labels use 2049 (`0x00000801`: bytes, 1 dimension: count).
//!
//! Files may be plain or gzipped; gzip is recognised by its magic bytes `1f 8b`, never by
//! the file name.  Every header is checked against the data actually present before any
//! buffer is sized from it: a header can declare at most [`MAX_PAYLOAD_BYTES`], a plain
//! file must hold exactly the bytes it declares, and a gzip stream is decompressed only up
//! to one byte past the declared length (so a corrupt header or a gzip bomb cannot make the
//! reader allocate more than the data holds).  No input makes these functions panic.
//!
//! The writers ([`write_idx_images`], [`write_idx_labels`] and their in-memory forms
//! [`encode_idx_images`], [`encode_idx_labels`]) produce files the readers accept; tests and
//! tools use them to build MNIST-shaped folders.

use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use flate2::{Compression, GzBuilder};

use super::error::DataError;

/// Magic number of an IDX file of unsigned-byte images (count × rows × columns).
pub const IMAGES_MAGIC: u32 = 2051;

/// Magic number of an IDX file of unsigned-byte labels (count).
pub const LABELS_MAGIC: u32 = 2049;

/// The largest payload (in bytes) a header may declare: 2 GiB.  The full MNIST training set
/// is 47 MB, so anything near this is a corrupt header.
pub const MAX_PAYLOAD_BYTES: u64 = 1 << 31;

/// How much of a gzip stream is still decompressed (and discarded) past the declared
/// payload to tell trailing data from corruption.
const TRAILING_DRAIN_LIMIT: u64 = 64 << 20;

/// The gzip magic bytes.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A set of greyscale images read from an IDX file: `count` images of `rows` × `cols`
/// bytes each, stored row-major and image after image in `pixels`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows of each image.
    pub rows: usize,
    /// Columns of each image.
    pub cols: usize,
    /// All pixels, `count * rows * cols` bytes.
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// Pixels per image (`rows * cols`).
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// The pixels of image `i`, or `None` past the end.
    pub fn image(&self, i: usize) -> Option<&[u8]> {
        let size = self.pixels_per_image();
        let start = i.checked_mul(size)?;
        self.pixels.get(start..start.checked_add(size)?)
    }
}

/// Which of the two supported IDX kinds is being read.
#[derive(Clone, Copy)]
enum Kind {
    Images,
    Labels,
}

impl Kind {
    fn magic(self) -> u32 {
        match self {
            Kind::Images => IMAGES_MAGIC,
            Kind::Labels => LABELS_MAGIC,
        }
    }

    fn dims(self) -> u8 {
        match self {
            Kind::Images => 3,
            Kind::Labels => 1,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::Images => "images",
            Kind::Labels => "labels",
        }
    }
}

/// Reads an images file (plain or gzipped) from disk.
///
/// # Errors
/// [`DataError::Io`] if the file cannot be read, and every format error listed for
/// [`parse_idx_images`].
pub fn read_idx_images(path: &Path) -> Result<IdxImages, DataError> {
    let bytes = fs::read(path).map_err(|e| DataError::io(path, "read", e))?;
    parse_idx_images(&path.display().to_string(), &bytes)
}

/// Reads a labels file (plain or gzipped) from disk and checks every label is below
/// `classes`.
///
/// # Errors
/// [`DataError::Io`] if the file cannot be read, and every format error listed for
/// [`parse_idx_labels`].
pub fn read_idx_labels(path: &Path, classes: usize) -> Result<Vec<u8>, DataError> {
    let bytes = fs::read(path).map_err(|e| DataError::io(path, "read", e))?;
    parse_idx_labels(&path.display().to_string(), &bytes, classes)
}

/// Parses the bytes of an images file (plain or gzipped); `name` is used in error messages.
///
/// # Errors
/// [`DataError::Empty`], [`DataError::CorruptGzip`], [`DataError::BadMagic`],
/// [`DataError::WrongDimensionCount`], [`DataError::TruncatedHeader`],
/// [`DataError::ZeroDimension`] (zero rows or columns), [`DataError::Oversized`],
/// [`DataError::Truncated`] or [`DataError::TrailingBytes`].
pub fn parse_idx_images(name: &str, bytes: &[u8]) -> Result<IdxImages, DataError> {
    let (dims, pixels) = parse(name, bytes, Kind::Images)?;
    Ok(IdxImages {
        count: dims[0],
        rows: dims[1],
        cols: dims[2],
        pixels,
    })
}

/// Parses the bytes of a labels file (plain or gzipped) and checks every label is below
/// `classes`; `name` is used in error messages.
///
/// # Errors
/// [`DataError::Invalid`] if `classes` is not in `1..=256`,
/// [`DataError::LabelOutOfRange`] for the first label `>= classes`, and the format errors
/// listed for [`parse_idx_images`].
pub fn parse_idx_labels(name: &str, bytes: &[u8], classes: usize) -> Result<Vec<u8>, DataError> {
    check_classes(name, classes)?;
    let (_, labels) = parse(name, bytes, Kind::Labels)?;
    check_labels(name, &labels, classes)?;
    Ok(labels)
}

/// Checks that `classes` can be represented by `u8` labels.
pub(crate) fn check_classes(name: &str, classes: usize) -> Result<(), DataError> {
    if (1..=256).contains(&classes) {
        Ok(())
    } else {
        Err(DataError::invalid(
            name,
            format!("the number of classes must be between 1 and 256, got {classes}"),
        ))
    }
}

/// Returns an error for the first label that is not below `classes`.
pub(crate) fn check_labels(name: &str, labels: &[u8], classes: usize) -> Result<(), DataError> {
    match labels
        .iter()
        .enumerate()
        .find(|(_, &l)| usize::from(l) >= classes)
    {
        None => Ok(()),
        Some((index, &label)) => Err(DataError::LabelOutOfRange {
            file: name.to_string(),
            index,
            label,
            max: classes.saturating_sub(1),
            classes,
        }),
    }
}

/// Reads as many bytes as fit in `buf` (fewer only at end of stream).
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn gzip_error(name: &str, e: &io::Error) -> DataError {
    let reason = if e.kind() == io::ErrorKind::UnexpectedEof {
        "the stream ends early, the file is probably cut short".to_string()
    } else {
        e.to_string()
    };
    DataError::CorruptGzip {
        file: name.to_string(),
        reason,
    }
}

/// Parses a plain or gzipped IDX file of the given kind into its dimensions and payload.
fn parse(name: &str, bytes: &[u8], kind: Kind) -> Result<(Vec<usize>, Vec<u8>), DataError> {
    if bytes.is_empty() {
        return Err(DataError::Empty {
            file: name.to_string(),
        });
    }
    if bytes.starts_with(&GZIP_MAGIC) {
        let mut decoder = MultiGzDecoder::new(bytes);
        parse_stream(name, &mut decoder, None, kind, |e| gzip_error(name, &e))
    } else {
        let mut reader = bytes;
        let len = bytes.len() as u64;
        parse_stream(name, &mut reader, Some(len), kind, |e| DataError::Io {
            file: name.to_string(),
            action: "read",
            source: e,
        })
    }
}

/// The core parser.  `total_len` is the full length of the (decompressed) stream when it
/// is known in advance, which lets length errors be reported before reading the payload.
fn parse_stream(
    name: &str,
    reader: &mut impl Read,
    total_len: Option<u64>,
    kind: Kind,
    on_err: impl Fn(io::Error) -> DataError,
) -> Result<(Vec<usize>, Vec<u8>), DataError> {
    let file = || name.to_string();
    let mut magic = [0u8; 4];
    let got = read_up_to(reader, &mut magic).map_err(&on_err)?;
    if got == 0 {
        return Err(DataError::Empty { file: file() });
    }
    // A wrong magic number is the more useful diagnosis even if the header is also short.
    let magic_ok = magic[0] == 0 && magic[1] == 0 && magic[2] == 0x08;
    if got >= 3 && !magic_ok {
        return Err(DataError::BadMagic {
            file: file(),
            found: u32::from_be_bytes(magic),
            expected: kind.magic(),
            what: kind.what(),
        });
    }
    if got < 4 {
        return Err(DataError::TruncatedHeader {
            file: file(),
            needed: 4,
            found: got,
        });
    }
    if magic[3] != kind.dims() {
        return Err(DataError::WrongDimensionCount {
            file: file(),
            found: magic[3],
            expected: kind.dims(),
            what: kind.what(),
        });
    }
    let ndims = usize::from(kind.dims());
    let header_len = 4 + 4 * ndims;
    let mut raw_dims = [0u8; 12];
    let got = read_up_to(reader, &mut raw_dims[..4 * ndims]).map_err(&on_err)?;
    if got < 4 * ndims {
        return Err(DataError::TruncatedHeader {
            file: file(),
            needed: header_len,
            found: 4 + got,
        });
    }
    let dims: Vec<u32> = raw_dims[..4 * ndims]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let dims_text = dims
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join("x");
    if dims[1..].contains(&0) {
        return Err(DataError::ZeroDimension {
            file: file(),
            dims: dims_text,
        });
    }
    let declared: u128 = dims.iter().map(|&d| u128::from(d)).product();
    if declared > u128::from(MAX_PAYLOAD_BYTES) {
        return Err(DataError::Oversized {
            file: file(),
            dims: dims_text,
            declared,
            limit: MAX_PAYLOAD_BYTES,
        });
    }
    // Fits: declared <= 2^31.
    let declared = declared as u64;
    let what = match kind {
        Kind::Images => format!("{} images of {}x{}", dims[0], dims[1], dims[2]),
        Kind::Labels => format!("{} labels", dims[0]),
    };
    if let Some(total) = total_len {
        let follow = total.saturating_sub(header_len as u64);
        if follow < declared {
            return Err(DataError::Truncated {
                file: file(),
                what,
                declared,
                found: follow,
            });
        }
        if follow > declared {
            return Err(DataError::TrailingBytes {
                file: file(),
                what,
                declared,
            });
        }
    }
    // Read at most one byte past the declared payload; the buffer grows with the data
    // actually read, never with the header's claim alone.
    let mut payload = Vec::new();
    reader
        .take(declared + 1)
        .read_to_end(&mut payload)
        .map_err(&on_err)?;
    let found = payload.len() as u64;
    if found < declared {
        return Err(DataError::Truncated {
            file: file(),
            what,
            declared,
            found,
        });
    }
    if found > declared {
        // In a gzip stream, extra data may be the product of corruption: decompress the
        // rest (without keeping it, up to a bound) so a bad CRC or deflate error is
        // reported as what it is.
        if total_len.is_none() {
            io::copy(&mut reader.take(TRAILING_DRAIN_LIMIT), &mut io::sink()).map_err(&on_err)?;
        }
        return Err(DataError::TrailingBytes {
            file: file(),
            what,
            declared,
        });
    }
    // Each dimension is a u32 and their product fits in 2^31, so each fits in usize.
    Ok((dims.iter().map(|&d| d as usize).collect(), payload))
}

fn dim_u32(what: &str, value: usize) -> Result<u32, DataError> {
    u32::try_from(value).map_err(|_| {
        DataError::invalid(
            "IDX writer",
            format!("{what} = {value} does not fit the IDX header's 32 bits"),
        )
    })
}

fn finish(payload: Vec<u8>, gzip: bool) -> Result<Vec<u8>, DataError> {
    if !gzip {
        return Ok(payload);
    }
    // mtime 0 and no file name: equal input gives equal bytes.
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::default());
    let wrap = |e| DataError::Io {
        file: "<gzip buffer>".to_string(),
        action: "compress",
        source: e,
    };
    encoder.write_all(&payload).map_err(wrap)?;
    encoder.finish().map_err(wrap)
}

/// Encodes images as an IDX file (magic 2051) in memory, gzipped if `gzip`.
///
/// `pixels` holds the images one after another, each `rows * cols` bytes row-major; the
/// count is `pixels.len() / (rows * cols)`.
///
/// # Errors
/// [`DataError::Invalid`] if `rows` or `cols` is zero, `pixels.len()` is not a multiple of
/// `rows * cols`, or a dimension does not fit in 32 bits.
pub fn encode_idx_images(
    rows: usize,
    cols: usize,
    pixels: &[u8],
    gzip: bool,
) -> Result<Vec<u8>, DataError> {
    let size = rows.checked_mul(cols).filter(|&s| s > 0).ok_or_else(|| {
        DataError::invalid(
            "IDX writer",
            format!("images must have at least one row and column, got {rows}x{cols}"),
        )
    })?;
    if pixels.len().checked_rem(size) != Some(0) {
        return Err(DataError::invalid(
            "IDX writer",
            format!(
                "{} pixels is not a whole number of {rows}x{cols} images",
                pixels.len()
            ),
        ));
    }
    let count = dim_u32("image count", pixels.len() / size)?;
    let mut out = Vec::with_capacity(16 + pixels.len());
    out.extend_from_slice(&IMAGES_MAGIC.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&dim_u32("rows", rows)?.to_be_bytes());
    out.extend_from_slice(&dim_u32("cols", cols)?.to_be_bytes());
    out.extend_from_slice(pixels);
    finish(out, gzip)
}

/// Encodes labels as an IDX file (magic 2049) in memory, gzipped if `gzip`.
///
/// # Errors
/// [`DataError::Invalid`] if there are 2^32 labels or more.
pub fn encode_idx_labels(labels: &[u8], gzip: bool) -> Result<Vec<u8>, DataError> {
    let count = dim_u32("label count", labels.len())?;
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(labels);
    finish(out, gzip)
}

/// Writes images to `path` as an IDX file (gzipped if `gzip`); see [`encode_idx_images`].
///
/// Use it to build MNIST-shaped test folders, e.g. `t10k-images-idx3-ubyte.gz`.
///
/// # Errors
/// As [`encode_idx_images`], plus [`DataError::Io`] if the file cannot be written.
pub fn write_idx_images(
    path: &Path,
    rows: usize,
    cols: usize,
    pixels: &[u8],
    gzip: bool,
) -> Result<(), DataError> {
    let bytes = encode_idx_images(rows, cols, pixels, gzip)?;
    fs::write(path, bytes).map_err(|e| DataError::io(path, "write", e))
}

/// Writes labels to `path` as an IDX file (gzipped if `gzip`); see [`encode_idx_labels`].
///
/// # Errors
/// As [`encode_idx_labels`], plus [`DataError::Io`] if the file cannot be written.
pub fn write_idx_labels(path: &Path, labels: &[u8], gzip: bool) -> Result<(), DataError> {
    let bytes = encode_idx_labels(labels, gzip)?;
    fs::write(path, bytes).map_err(|e| DataError::io(path, "write", e))
}
