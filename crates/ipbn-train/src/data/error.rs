//! The error type of the `data` module.
//!
//! Every message starts with the file (or folder, or dataset) it concerns, then says what is
//! wrong and, where there is one, what to do about it.

use std::path::Path;

/// Everything that can go wrong while reading, checking or building a dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file could not be opened, read or written.
    #[error("{file}: {action} failed: {source}; check that the path exists and is accessible")]
    Io {
        /// The file concerned.
        file: String,
        /// What was being done ("read", "write", ...).
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// The `--data` folder does not exist or is not a folder.
    #[error(
        "{dir}: no such folder; pass a folder holding the MNIST IDX files ({expected}), \
         or leave --data out to use the shipped subset"
    )]
    MissingDir {
        /// The folder given.
        dir: String,
        /// The file names looked for.
        expected: String,
    },

    /// The folder exists but holds no usable pair of MNIST files.
    #[error("{dir}: no MNIST files found; expected {expected} (each optionally ending in .gz)")]
    NoMnistFiles {
        /// The folder searched.
        dir: String,
        /// The file names looked for.
        expected: String,
    },

    /// One file of an images/labels pair is there, its partner is not.
    #[error("{present}: found, but its partner {missing} is missing; add it (optionally .gz)")]
    MissingPartner {
        /// The file that exists.
        present: String,
        /// The partner that was expected next to it.
        missing: String,
    },

    /// The file holds no bytes at all.
    #[error("{file}: file is empty (0 bytes); re-download the file")]
    Empty {
        /// The file concerned.
        file: String,
    },

    /// The gzip stream is corrupt or cut short.
    #[error("{file}: corrupt gzip stream ({reason}); re-download the file")]
    CorruptGzip {
        /// The file concerned.
        file: String,
        /// What the decompressor reported.
        reason: String,
    },

    /// The first four bytes are not the IDX magic number expected.
    #[error(
        "{file}: bad magic number 0x{found:08x} (expected 0x{expected:08x} = {expected} for an \
         IDX {what} file of unsigned bytes); is this the right file?"
    )]
    BadMagic {
        /// The file concerned.
        file: String,
        /// The magic number read.
        found: u32,
        /// The magic number expected.
        expected: u32,
        /// "images" or "labels".
        what: &'static str,
    },

    /// The magic number is of the IDX form but declares the wrong number of dimensions.
    #[error(
        "{file}: header declares {found} dimension(s) but an IDX {what} file has {expected}; \
         images and labels files may have been swapped"
    )]
    WrongDimensionCount {
        /// The file concerned.
        file: String,
        /// The dimension count declared.
        found: u8,
        /// The dimension count expected.
        expected: u8,
        /// "images" or "labels".
        what: &'static str,
    },

    /// The file ends inside the header.
    #[error("{file}: truncated header: {needed} bytes needed but the file holds {found}; re-download the file")]
    TruncatedHeader {
        /// The file concerned.
        file: String,
        /// Header length required.
        needed: usize,
        /// Bytes available.
        found: usize,
    },

    /// A dimension is zero (rows or columns of images).
    #[error(
        "{file}: header declares a zero dimension ({dims}); the file is not a valid image set"
    )]
    ZeroDimension {
        /// The file concerned.
        file: String,
        /// The dimensions declared, e.g. "10000x0x28".
        dims: String,
    },

    /// The header declares more data than the sane limit or the file can hold.
    #[error(
        "{file}: header declares {dims} = {declared} bytes, more than the limit of {limit} bytes; \
         the header is corrupt or the file is not IDX"
    )]
    Oversized {
        /// The file concerned.
        file: String,
        /// The dimensions declared, e.g. "4294967295x28x28".
        dims: String,
        /// The number of payload bytes declared.
        declared: u128,
        /// The limit.
        limit: u64,
    },

    /// Fewer payload bytes follow the header than it declares.
    #[error(
        "{file}: truncated: header declares {what} ({declared} bytes) but only {found} bytes \
         follow; re-download the file"
    )]
    Truncated {
        /// The file concerned.
        file: String,
        /// A description of the declared content, e.g. "10000 images of 28x28".
        what: String,
        /// The number of payload bytes declared.
        declared: u64,
        /// The number of payload bytes present.
        found: u64,
    },

    /// More bytes follow the declared payload.
    #[error(
        "{file}: trailing bytes: header declares {what} ({declared} bytes) but more bytes \
         follow; the file is corrupt or was concatenated with another"
    )]
    TrailingBytes {
        /// The file concerned.
        file: String,
        /// A description of the declared content.
        what: String,
        /// The number of payload bytes declared.
        declared: u64,
    },

    /// A label is not below the number of classes.
    #[error(
        "{file}: label {label} at index {index} is out of range 0..={max}; the file is corrupt \
         or not a {classes}-class label file"
    )]
    LabelOutOfRange {
        /// The file (or dataset) concerned.
        file: String,
        /// Position of the label.
        index: usize,
        /// The label found.
        label: u8,
        /// Largest allowed label (`classes - 1`).
        max: usize,
        /// The number of classes expected.
        classes: usize,
    },

    /// The images and labels files hold different numbers of items.
    #[error(
        "{images_file} holds {images} images but {labels_file} holds {labels} labels; \
         use files from the same release"
    )]
    CountMismatch {
        /// The images file.
        images_file: String,
        /// The number of images.
        images: usize,
        /// The labels file.
        labels_file: String,
        /// The number of labels.
        labels: usize,
    },

    /// Training and test images have different sizes.
    #[error(
        "{test_file}: images are {test_rows}x{test_cols} but {train_file} has \
         {train_rows}x{train_cols}; use training and test files of the same dataset"
    )]
    ShapeMismatch {
        /// The training images file.
        train_file: String,
        /// Rows of a training image.
        train_rows: usize,
        /// Columns of a training image.
        train_cols: usize,
        /// The test images file.
        test_file: String,
        /// Rows of a test image.
        test_rows: usize,
        /// Columns of a test image.
        test_cols: usize,
    },

    /// A value in a dataset's inputs is NaN or infinite.
    #[error("{name}: input at row {row}, feature {col} is {value}; inputs must be finite numbers")]
    NonFinite {
        /// The dataset concerned.
        name: String,
        /// Sample index.
        row: usize,
        /// Feature index.
        col: usize,
        /// The offending value.
        value: f32,
    },

    /// A dataset name that is not in the catalogue ([`crate::data::catalog`]).
    #[error("{name}: no such dataset; known datasets: {known} (or pass a folder of IDX files)")]
    UnknownDataset {
        /// The name given.
        name: String,
        /// The catalogue's names.
        known: String,
    },

    /// Neither `IPBN_DATA` nor a platform cache folder is known.
    #[error(
        "no cache folder for datasets: set IPBN_DATA to a folder (datasets go in \
         $IPBN_DATA/NAME) or pass --dir"
    )]
    NoCacheDir,

    /// A catalogued dataset is not (completely, or not verifiably) in its cache folder.
    #[error("{name}: not fetched: {problem}; run `ipbn data fetch {name}`")]
    NotFetched {
        /// The dataset.
        name: String,
        /// What is missing or wrong, naming the file.
        problem: String,
    },

    /// The parts given for a dataset do not fit together, or an argument is invalid.
    #[error("{name}: {reason}")]
    Invalid {
        /// The dataset (or function) concerned.
        name: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
}

impl DataError {
    /// Wraps an I/O error for `path`.
    pub(crate) fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        DataError::Io {
            file: path.display().to_string(),
            action,
            source,
        }
    }

    /// Builds an [`DataError::Invalid`].
    pub(crate) fn invalid(name: impl Into<String>, reason: impl Into<String>) -> Self {
        DataError::Invalid {
            name: name.into(),
            reason: reason.into(),
        }
    }
}
