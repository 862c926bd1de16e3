//! Small seeded synthetic classification problems for fast tests.
//!
//! [`blobs`] draws Gaussian clusters: class `c` has a centre `separation · u_c`, where `u_c`
//! is a random unit vector, and each sample of that class is the centre plus standard
//! normal noise in every feature.  So `separation` is each centre's distance from the
//! origin in units of the within-class standard deviation; two centres are on average
//! about `separation · √2` apart once `features` is more than a few, and the classes are
//! easy to tell apart from `separation ≈ 3` up.
//!
//! Labels cycle `0, 1, …, classes − 1, 0, 1, …`, so every prefix is balanced to within one
//! sample per class.  Everything is drawn from one `ChaCha8Rng` seeded with `seed`, in a
//! fixed order (centres, then samples row by row), so equal arguments give equal data on
//! every platform.

use ndarray::Array2;
use ndarray_rand::rand::{Rng, SeedableRng};
use ndarray_rand::rand_distr::StandardNormal;
use rand_chacha::ChaCha8Rng;

use super::error::DataError;
use super::{idx, Dataset, Split};

/// Checks the arguments shared by [`blobs`] and [`blobs_split`].
fn check_args(features: usize, classes: usize, separation: f32) -> Result<(), DataError> {
    let name = "synthetic::blobs";
    idx::check_classes(name, classes)?;
    if features == 0 {
        return Err(DataError::invalid(name, "features must be at least 1"));
    }
    if !separation.is_finite() || separation < 0.0 {
        return Err(DataError::invalid(
            name,
            format!("separation must be a finite number >= 0, got {separation}"),
        ));
    }
    Ok(())
}

/// Draws `n` samples of `features` inputs in `classes` Gaussian clusters (see the module
/// documentation).  The dataset is named `blobs`.
///
/// # Errors
/// [`DataError::Invalid`] if `features` is 0, `classes` is not in `1..=256`, or
/// `separation` is negative or not finite.
///
/// # Example
/// ```
/// use ipbn_train::data::synthetic::blobs;
/// let d = blobs(100, 4, 3, 5.0, 7).unwrap();
/// assert_eq!((d.len(), d.features(), d.classes), (100, 4, 3));
/// assert_eq!(&d.labels[..4], &[0, 1, 2, 0]);
/// ```
pub fn blobs(
    n: usize,
    features: usize,
    classes: usize,
    separation: f32,
    seed: u64,
) -> Result<Dataset, DataError> {
    check_args(features, classes, separation)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut centres = Array2::<f32>::zeros((classes, features));
    for mut centre in centres.rows_mut() {
        // A random direction: a standard normal vector, normalised.  Redraw in the
        // (practically impossible) case of a zero vector.
        loop {
            for v in centre.iter_mut() {
                *v = rng.sample(StandardNormal);
            }
            let norm = centre.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 1e-12 {
                centre.mapv_inplace(|v| v * separation / norm);
                break;
            }
        }
    }
    let mut inputs = Array2::<f32>::zeros((n, features));
    let mut labels = Vec::with_capacity(n);
    for (i, mut row) in inputs.rows_mut().into_iter().enumerate() {
        let class = i % classes;
        for (v, &c) in row.iter_mut().zip(centres.row(class).iter()) {
            let noise: f32 = rng.sample(StandardNormal);
            *v = c + noise;
        }
        // classes <= 256, so the class index fits a u8.
        labels.push(class as u8);
    }
    Dataset::new("blobs", inputs, labels, classes)
}

/// Draws one [`blobs`] problem of `n_train + n_test` samples and splits it: the first
/// `n_train` train (`blobs:train`), the rest test (`blobs:test`); both share the cluster
/// centres.  `files` holds one line describing the generator and its arguments.
///
/// # Errors
/// As [`blobs`], plus [`DataError::Invalid`] if either part would be empty.
pub fn blobs_split(
    n_train: usize,
    n_test: usize,
    features: usize,
    classes: usize,
    separation: f32,
    seed: u64,
) -> Result<Split, DataError> {
    check_args(features, classes, separation)?;
    let total = n_train.checked_add(n_test).ok_or_else(|| {
        DataError::invalid("synthetic::blobs", "n_train + n_test overflows usize")
    })?;
    let all = blobs(total, features, classes, separation, seed)?;
    let (train, test) = all.split_at(n_train)?;
    Ok(Split {
        train,
        test,
        files: vec![format!(
            "synthetic:blobs(n_train={n_train}, n_test={n_test}, features={features}, \
             classes={classes}, separation={separation}, seed={seed})"
        )],
    })
}
