//! Datasets: the IDX reader, the shipped MNIST subset and synthetic data.
//!
//! * [`load_shipped`]: the 10,000 MNIST training images shipped in `datasets/mnist-10k/`
//!   (embedded in the library, so it works from any working directory), split fixed:
//!   the first 8,000 images train, the last 2,000 test.
//! * [`load_dir`]: the standard MNIST IDX files from a folder (`--data DIR`).
//! * [`load_named`]: a catalogued dataset (MNIST, Fashion-MNIST, KMNIST) from its cache
//!   folder (`--data NAME`), verified against its published checksums; [`catalog`] lists
//!   the datasets and [`fetch`] downloads them (`ipbn data fetch NAME`).
//! * [`synthetic`]: small seeded Gaussian-cluster problems for fast tests.
//! * [`idx`]: the IDX reader and writer underneath.
//!
//! Every dataset is a [`Dataset`]: one row of `f32` features per sample (MNIST pixels
//! scaled to `[0, 1]` by `/255`) and a `u8` class label per row.

pub mod catalog;
pub mod error;
pub mod fetch;
pub mod idx;
pub mod synthetic;

use std::ops::Range;
use std::path::{Path, PathBuf};

use ndarray::{Array2, Axis};

pub use error::DataError;
pub use idx::IdxImages;

/// Number of classes of MNIST (digits 0–9).
pub const MNIST_CLASSES: usize = 10;

/// Training images of the shipped subset: the first 8,000 of the file.
pub const SHIPPED_TRAIN: usize = 8_000;

/// Test images of the shipped subset: the last 2,000 of the file.
pub const SHIPPED_TEST: usize = 2_000;

/// Standard MNIST file names, in the order training images, training labels, test images,
/// test labels.  Each may also be present with a `.gz` suffix.
pub const MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Path of the shipped images file, relative to the workspace root.
pub const SHIPPED_IMAGES_PATH: &str = "datasets/mnist-10k/train-images-idx3-ubyte.gz";

/// Path of the shipped labels file, relative to the workspace root.
pub const SHIPPED_LABELS_PATH: &str = "datasets/mnist-10k/train-labels-idx1-ubyte.gz";

static SHIPPED_IMAGES: &[u8] =
    include_bytes!("../../../../datasets/mnist-10k/train-images-idx3-ubyte.gz");
static SHIPPED_LABELS: &[u8] =
    include_bytes!("../../../../datasets/mnist-10k/train-labels-idx1-ubyte.gz");
static SHIPPED_SUMS: &str = include_str!("../../../../datasets/mnist-10k/SHA256SUMS");

/// A labelled classification dataset.
///
/// Build it with [`Dataset::new`], which checks the parts fit and the inputs are finite;
/// the fields are public for reading (a value built by hand skips those checks).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Inputs, one row per sample: shape `(len, features)`.  MNIST pixels are in `[0, 1]`.
    pub inputs: Array2<f32>,
    /// Class of each row, each `< classes`.
    pub labels: Vec<u8>,
    /// Number of classes.
    pub classes: usize,
    /// A short name for messages and reports, e.g. `mnist-10k:train`.
    pub name: String,
}

impl Dataset {
    /// Builds a dataset, checking that there is one label per row, at least one feature,
    /// `classes` in `1..=256`, every label below `classes` and every input finite.
    ///
    /// # Errors
    /// [`DataError::Invalid`] for mismatched parts, [`DataError::LabelOutOfRange`] and
    /// [`DataError::NonFinite`] naming the first offending entry.
    pub fn new(
        name: impl Into<String>,
        inputs: Array2<f32>,
        labels: Vec<u8>,
        classes: usize,
    ) -> Result<Self, DataError> {
        let name = name.into();
        idx::check_classes(&name, classes)?;
        if inputs.nrows() != labels.len() {
            return Err(DataError::invalid(
                &name,
                format!(
                    "{} input rows but {} labels; give one label per row",
                    inputs.nrows(),
                    labels.len()
                ),
            ));
        }
        if inputs.ncols() == 0 {
            return Err(DataError::invalid(
                &name,
                "inputs have no features (0 columns)",
            ));
        }
        idx::check_labels(&name, &labels, classes)?;
        if let Some(((row, col), &value)) = inputs.indexed_iter().find(|(_, v)| !v.is_finite()) {
            return Err(DataError::NonFinite {
                name,
                row,
                col,
                value,
            });
        }
        Ok(Dataset {
            inputs,
            labels,
            classes,
            name,
        })
    }

    /// Builds a dataset from IDX images and labels: each image becomes one row of
    /// `rows * cols` features, pixel / 255.
    ///
    /// # Errors
    /// [`DataError::CountMismatch`] if the counts differ (naming the two files), and the
    /// errors of [`Dataset::new`].
    pub fn from_idx(
        name: impl Into<String>,
        images: &IdxImages,
        images_file: &str,
        labels: Vec<u8>,
        labels_file: &str,
        classes: usize,
    ) -> Result<Self, DataError> {
        if images.count != labels.len() {
            return Err(DataError::CountMismatch {
                images_file: images_file.to_string(),
                images: images.count,
                labels_file: labels_file.to_string(),
                labels: labels.len(),
            });
        }
        let features = images.pixels_per_image();
        let values: Vec<f32> = images
            .pixels
            .iter()
            .map(|&p| f32::from(p) / 255.0)
            .collect();
        let inputs = Array2::from_shape_vec((images.count, features), values).map_err(|e| {
            DataError::invalid(
                images_file,
                format!("pixel buffer does not fit its header: {e}"),
            )
        })?;
        Dataset::new(name, inputs, labels, classes)
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True if there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of input features per sample (784 for MNIST).
    pub fn features(&self) -> usize {
        self.inputs.ncols()
    }

    /// The samples in `range`, as a new dataset named `NAME[start..end]`.
    ///
    /// # Errors
    /// [`DataError::Invalid`] if the range is reversed or reaches past the end.
    pub fn subset(&self, range: Range<usize>) -> Result<Dataset, DataError> {
        if range.start > range.end || range.end > self.len() {
            return Err(DataError::invalid(
                &self.name,
                format!(
                    "range {}..{} is not within the {} samples",
                    range.start,
                    range.end,
                    self.len()
                ),
            ));
        }
        Ok(Dataset {
            inputs: self
                .inputs
                .slice(ndarray::s![range.start..range.end, ..])
                .to_owned(),
            labels: self.labels[range.clone()].to_vec(),
            classes: self.classes,
            name: format!("{}[{}..{}]", self.name, range.start, range.end),
        })
    }

    /// The samples at `indices` (in that order, repeats allowed), e.g. a shuffled
    /// mini-batch.  The name is kept.
    ///
    /// # Errors
    /// [`DataError::Invalid`] naming the first index past the end.
    pub fn select(&self, indices: &[usize]) -> Result<Dataset, DataError> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.len()) {
            return Err(DataError::invalid(
                &self.name,
                format!("index {bad} is past the end of the {} samples", self.len()),
            ));
        }
        Ok(Dataset {
            inputs: self.inputs.select(Axis(0), indices),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            classes: self.classes,
            name: self.name.clone(),
        })
    }

    /// Splits into the first `n_train` samples and the rest, named `NAME:train` and
    /// `NAME:test`.
    ///
    /// # Errors
    /// [`DataError::Invalid`] if either part would be empty.
    pub fn split_at(&self, n_train: usize) -> Result<(Dataset, Dataset), DataError> {
        if n_train == 0 || n_train >= self.len() {
            return Err(DataError::invalid(
                &self.name,
                format!(
                    "cannot split {} samples into {n_train} for training and the rest for \
                     testing: both parts need at least one sample",
                    self.len()
                ),
            ));
        }
        let mut train = self.subset(0..n_train)?;
        let mut test = self.subset(n_train..self.len())?;
        train.name = format!("{}:train", self.name);
        test.name = format!("{}:test", self.name);
        Ok((train, test))
    }

    /// The same data under another name.
    pub fn with_name(mut self, name: impl Into<String>) -> Dataset {
        self.name = name.into();
        self
    }

    /// How many samples each class has (length `classes`).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(usize::from(l)) {
                *c += 1;
            }
        }
        counts
    }

    /// One-hot targets, shape `(len, classes)`: row `i` is 1 at `labels[i]` and 0 elsewhere.
    pub fn one_hot(&self) -> Array2<f32> {
        let mut out = Array2::zeros((self.len(), self.classes));
        for (i, &l) in self.labels.iter().enumerate() {
            if let Some(v) = out.get_mut((i, usize::from(l))) {
                *v = 1.0;
            }
        }
        out
    }
}

/// A training set and a test set, with the files they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// The training set.
    pub train: Dataset,
    /// The test set.
    pub test: Dataset,
    /// The files used (paths, or for the shipped data `PATH sha256:HEX`), for recording in
    /// results; for synthetic data a description of the generator and its seed.
    pub files: Vec<String>,
}

impl Split {
    /// The dataset's name as results record it: the training set's name up to its first
    /// `:` or `[`, e.g. `mnist-10k` (shipped), `mnist`, `fashion-mnist`.
    pub fn dataset(&self) -> &str {
        let name = self.train.name.as_str();
        name.split([':', '[']).next().unwrap_or(name)
    }

    /// The dataset with its training and test sizes, e.g. `mnist-10k (8,000/2,000)` or
    /// `fashion-mnist (60,000/10,000)`, for figures and messages.
    pub fn describe(&self) -> String {
        format!(
            "{} ({}/{})",
            self.dataset(),
            thousands(self.train.len()),
            thousands(self.test.len())
        )
    }
}

/// `60000` as `60,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The shipped sum of `file` (a name in `datasets/mnist-10k/`), if listed.
fn shipped_sum(file: &str) -> Option<&'static str> {
    SHIPPED_SUMS.lines().find_map(|line| {
        let mut parts = line.split_whitespace();
        let sum = parts.next()?;
        let name = parts.next()?.trim_start_matches('*');
        (name == file).then_some(sum)
    })
}

fn describe_shipped(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    match shipped_sum(file) {
        Some(sum) => format!("{path} sha256:{sum}"),
        None => path.to_string(),
    }
}

/// Loads the shipped MNIST subset: the first 10,000 MNIST training images, stored in the
/// order described in `datasets/README.md`, split fixed into the first
/// [`SHIPPED_TRAIN`] = 8,000 for training and the last [`SHIPPED_TEST`] = 2,000 for
/// testing.  Names: `mnist-10k:train` and `mnist-10k:test`.
///
/// The files are embedded in the library, so this works from any working directory; it
/// decompresses and converts about 8 MB, a few tens of milliseconds.
///
/// # Errors
/// Only if the embedded files are corrupt (a build from a damaged checkout).
pub fn load_shipped() -> Result<Split, DataError> {
    let images = idx::parse_idx_images(SHIPPED_IMAGES_PATH, SHIPPED_IMAGES)?;
    let labels = idx::parse_idx_labels(SHIPPED_LABELS_PATH, SHIPPED_LABELS, MNIST_CLASSES)?;
    let all = Dataset::from_idx(
        "mnist-10k",
        &images,
        SHIPPED_IMAGES_PATH,
        labels,
        SHIPPED_LABELS_PATH,
        MNIST_CLASSES,
    )?;
    if all.len() != SHIPPED_TRAIN + SHIPPED_TEST {
        return Err(DataError::invalid(
            SHIPPED_IMAGES_PATH,
            format!(
                "holds {} images, expected {}; regenerate it with scripts/prepare_mnist.py",
                all.len(),
                SHIPPED_TRAIN + SHIPPED_TEST
            ),
        ));
    }
    let (train, test) = all.split_at(SHIPPED_TRAIN)?;
    Ok(Split {
        train,
        test,
        files: vec![
            describe_shipped(SHIPPED_IMAGES_PATH),
            describe_shipped(SHIPPED_LABELS_PATH),
        ],
    })
}

/// Finds `dir/base`, or failing that `dir/base.gz`.
fn find_file(dir: &Path, base: &str) -> Option<PathBuf> {
    let plain = dir.join(base);
    if plain.is_file() {
        return Some(plain);
    }
    let gz = dir.join(format!("{base}.gz"));
    gz.is_file().then_some(gz)
}

/// Finds an images/labels pair; `Ok(None)` if neither is there.
fn find_pair(
    dir: &Path,
    images: &str,
    labels: &str,
) -> Result<Option<(PathBuf, PathBuf)>, DataError> {
    match (find_file(dir, images), find_file(dir, labels)) {
        (Some(i), Some(l)) => Ok(Some((i, l))),
        (None, None) => Ok(None),
        (Some(present), None) => Err(DataError::MissingPartner {
            present: present.display().to_string(),
            missing: dir.join(labels).display().to_string(),
        }),
        (None, Some(present)) => Err(DataError::MissingPartner {
            present: present.display().to_string(),
            missing: dir.join(images).display().to_string(),
        }),
    }
}

/// Reads one MNIST images/labels pair into a dataset named `name` (10 classes).
///
/// # Errors
/// Any error of [`idx::read_idx_images`], [`idx::read_idx_labels`] or
/// [`Dataset::from_idx`].
pub fn load_pair(
    images: &Path,
    labels: &Path,
    name: &str,
) -> Result<(Dataset, IdxImages), DataError> {
    let imgs = idx::read_idx_images(images)?;
    let labs = idx::read_idx_labels(labels, MNIST_CLASSES)?;
    let data = Dataset::from_idx(
        name,
        &imgs,
        &images.display().to_string(),
        labs,
        &labels.display().to_string(),
        MNIST_CLASSES,
    )?;
    Ok((data, imgs))
}

/// The first 80 % (rounded down) of `n`, the training share of a folder split.
fn eighty_percent(n: usize) -> usize {
    n / 5 * 4 + (n % 5) * 4 / 5
}

/// Loads MNIST from a folder holding the standard IDX files ([`MNIST_FILES`], each
/// optionally gzipped; a plain file is preferred when both forms exist).
///
/// * Training and test pairs present: they are the training and test sets; their images
///   must have the same size.
/// * Only the `t10k` pair present: its first 80 % (rounded down) train and the rest test.
/// * Only the `train` pair present: split the same way, 80 / 20.
///
/// Names: `mnist:train` / `mnist:test`, or `mnist-t10k:train` / `mnist-t10k:test`,
/// `mnist-train:train` / `mnist-train:test` for a split pair.  `files` lists the paths read.
///
/// # Errors
/// [`DataError::MissingDir`] if `dir` is not a folder, [`DataError::NoMnistFiles`] if it
/// holds neither pair, [`DataError::MissingPartner`] if a pair is incomplete,
/// [`DataError::ShapeMismatch`] if training and test images differ in size,
/// [`DataError::Invalid`] (naming the images file) if the training or test set is empty or a
/// lone pair holds fewer than 2 images to split, and any error of reading the files.
pub fn load_dir(dir: &Path) -> Result<Split, DataError> {
    let expected = MNIST_FILES.join(", ");
    if !dir.is_dir() {
        return Err(DataError::MissingDir {
            dir: dir.display().to_string(),
            expected,
        });
    }
    let train = find_pair(dir, MNIST_FILES[0], MNIST_FILES[1])?;
    let test = find_pair(dir, MNIST_FILES[2], MNIST_FILES[3])?;
    let files_of = |pairs: &[&(PathBuf, PathBuf)]| -> Vec<String> {
        pairs
            .iter()
            .flat_map(|(i, l)| [i.display().to_string(), l.display().to_string()])
            .collect()
    };
    match (train, test) {
        (Some(tr), Some(te)) => {
            let (train, train_imgs) = load_pair(&tr.0, &tr.1, "mnist:train")?;
            let (test, test_imgs) = load_pair(&te.0, &te.1, "mnist:test")?;
            if (train_imgs.rows, train_imgs.cols) != (test_imgs.rows, test_imgs.cols) {
                return Err(DataError::ShapeMismatch {
                    train_file: tr.0.display().to_string(),
                    train_rows: train_imgs.rows,
                    train_cols: train_imgs.cols,
                    test_file: te.0.display().to_string(),
                    test_rows: test_imgs.rows,
                    test_cols: test_imgs.cols,
                });
            }
            for (d, file, role) in [(&train, &tr.0, "training"), (&test, &te.0, "test")] {
                if d.is_empty() {
                    return Err(DataError::invalid(
                        file.display().to_string(),
                        format!(
                            "holds no images, but the {role} set needs at least one; check \
                             the files in the --data folder"
                        ),
                    ));
                }
            }
            Ok(Split {
                train,
                test,
                files: files_of(&[&tr, &te]),
            })
        }
        (None, Some(pair)) | (Some(pair), None) => {
            let name = if is_t10k(&pair.0) {
                "mnist-t10k"
            } else {
                "mnist-train"
            };
            let (all, _) = load_pair(&pair.0, &pair.1, name)?;
            if all.len() < 2 {
                return Err(DataError::invalid(
                    pair.0.display().to_string(),
                    format!(
                        "holds {} image(s), but a lone pair of files is split 80/20 into \
                         training and test sets, which needs at least 2; add the other pair \
                         of MNIST files or more images",
                        all.len()
                    ),
                ));
            }
            let (train, test) = all.split_at(eighty_percent(all.len()))?;
            Ok(Split {
                train,
                test,
                files: files_of(&[&pair]),
            })
        }
        (None, None) => Err(DataError::NoMnistFiles {
            dir: dir.display().to_string(),
            expected,
        }),
    }
}

fn is_t10k(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("t10k"))
}

/// Loads catalogued dataset `name` (see [`catalog`]) from its cache folder
/// ([`catalog::cache_dir`]); see [`load_cached`].
///
/// # Errors
/// [`DataError::UnknownDataset`], [`DataError::NoCacheDir`], and those of [`load_cached`].
pub fn load_named(name: &str) -> Result<Split, DataError> {
    let spec = catalog::spec(name)?;
    load_cached(&spec, &catalog::cache_dir(name)?)
}

/// Checks that catalogued dataset `name` is in its cache folder with every file verified,
/// without loading it; returns the folder.
///
/// # Errors
/// As [`load_named`], except the errors of reading the IDX contents.
pub fn verify_named(name: &str) -> Result<PathBuf, DataError> {
    let spec = catalog::spec(name)?;
    let dir = catalog::cache_dir(name)?;
    verify_cached(&spec, &dir)?;
    Ok(dir)
}

/// Checks every file of `spec` in `dir` against its published checksum.
///
/// # Errors
/// [`DataError::NotFetched`] naming the first file missing, unreadable or failing its
/// checksum, and telling to run `ipbn data fetch NAME`.
pub fn verify_cached(spec: &catalog::DatasetSpec, dir: &Path) -> Result<(), DataError> {
    for (file, state) in fetch::check_dataset(spec, dir) {
        if state != fetch::FileState::Verified {
            return Err(DataError::NotFetched {
                name: spec.name.clone(),
                problem: format!("{}: {state}", dir.join(&file.name).display()),
            });
        }
    }
    Ok(())
}

/// Loads dataset `spec` from folder `dir`, after checking every one of its files against
/// its published checksum: the training files train and the test files test. Names:
/// `NAME:train` and `NAME:test`; `files` lists each path with its checksum, e.g.
/// `DIR/train-images-idx3-ubyte.gz md5:f68b…`.
///
/// # Errors
/// [`DataError::NotFetched`] (naming the file and telling to run `ipbn data fetch NAME`) if
/// a file is missing, unreadable or fails its checksum; [`DataError::Invalid`] if the spec
/// does not list four files; [`DataError::ShapeMismatch`] and the errors of reading them.
pub fn load_cached(spec: &catalog::DatasetSpec, dir: &Path) -> Result<Split, DataError> {
    if spec.files.len() != 4 {
        return Err(DataError::invalid(
            &spec.name,
            format!(
                "lists {} files; a dataset needs training images, training labels, test \
                 images and test labels",
                spec.files.len()
            ),
        ));
    }
    verify_cached(spec, dir)?;
    let path = |i: usize| dir.join(&spec.files[i].name);
    let (train, train_imgs) = load_pair(&path(0), &path(1), &format!("{}:train", spec.name))?;
    let (test, test_imgs) = load_pair(&path(2), &path(3), &format!("{}:test", spec.name))?;
    if (train_imgs.rows, train_imgs.cols) != (test_imgs.rows, test_imgs.cols) {
        return Err(DataError::ShapeMismatch {
            train_file: path(0).display().to_string(),
            train_rows: train_imgs.rows,
            train_cols: train_imgs.cols,
            test_file: path(2).display().to_string(),
            test_rows: test_imgs.rows,
            test_cols: test_imgs.cols,
        });
    }
    for (d, i) in [(&train, 0), (&test, 2)] {
        if d.is_empty() {
            return Err(DataError::invalid(
                path(i).display().to_string(),
                format!("holds no images; run `ipbn data fetch {}` again", spec.name),
            ));
        }
    }
    let files = spec
        .files
        .iter()
        .map(|f| {
            format!(
                "{} {}:{}",
                dir.join(&f.name).display(),
                f.checksum.algorithm().to_ascii_lowercase(),
                f.checksum.hex()
            )
        })
        .collect();
    Ok(Split { train, test, files })
}
