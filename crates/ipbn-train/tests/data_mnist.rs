//! The shipped MNIST subset, MNIST folders (`--data DIR`) and `Dataset` itself.

use std::path::Path;

use ipbn_train::data::idx::{write_idx_images, write_idx_labels};
use ipbn_train::data::{
    load_dir, load_shipped, DataError, Dataset, MNIST_FILES, SHIPPED_TEST, SHIPPED_TRAIN,
};
use ndarray::{array, Array2};

/// Writes an MNIST-named pair `PREFIX-images-idx3-ubyte[.gz]` / `PREFIX-labels-idx1-ubyte[.gz]`
/// with `n` images of `rows` x `cols`; image `i` is filled with `i % 256` and labelled `i % 10`.
fn write_pair(dir: &Path, prefix: &str, n: usize, rows: usize, cols: usize, gz: bool) {
    let ext = if gz { ".gz" } else { "" };
    let pixels: Vec<u8> = (0..n * rows * cols)
        .map(|p| ((p / (rows * cols)) % 256) as u8)
        .collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    write_idx_images(
        &dir.join(format!("{prefix}-images-idx3-ubyte{ext}")),
        rows,
        cols,
        &pixels,
        gz,
    )
    .unwrap();
    write_idx_labels(
        &dir.join(format!("{prefix}-labels-idx1-ubyte{ext}")),
        &labels,
        gz,
    )
    .unwrap();
}

#[test]
fn shipped_subset_splits_8000_2000_with_plausible_pixels() {
    let split = load_shipped().unwrap();
    assert_eq!((split.train.len(), split.test.len()), (8_000, 2_000));
    assert_eq!((SHIPPED_TRAIN, SHIPPED_TEST), (8_000, 2_000));
    for d in [&split.train, &split.test] {
        assert_eq!(d.features(), 784);
        assert_eq!(d.classes, 10);
        assert!(d.labels.iter().all(|&l| l <= 9));
        assert!(d.inputs.iter().all(|&v| (0.0..=1.0).contains(&v)));
    }
    assert_eq!(split.train.name, "mnist-10k:train");
    assert_eq!(split.test.name, "mnist-10k:test");
    // Mean pixel of MNIST is about 0.13; the script measured 0.131126 over all 10,000.
    let sum: f64 = split
        .train
        .inputs
        .iter()
        .chain(split.test.inputs.iter())
        .map(|&v| f64::from(v))
        .sum();
    let mean = sum / (10_000.0 * 784.0);
    assert!((mean - 0.131_126).abs() < 1e-5, "mean pixel {mean}");
    // Pixels are multiples of 1/255.
    let v = split.train.inputs[[0, 300]];
    assert!(((v * 255.0).round() - v * 255.0).abs() < 1e-4);
}

#[test]
fn shipped_order_is_pinned() {
    let split = load_shipped().unwrap();
    // The package does not keep the interleaving of digits, so this is the order written
    // by scripts/prepare_mnist.py (stratified seeded interleave), not MNIST's 5,0,4,1,9,...
    assert_eq!(&split.train.labels[..10], &[3, 4, 2, 0, 4, 3, 2, 0, 9, 0]);
    // Per-digit shares: 80 % of each digit, rounded to total exactly 8,000.
    assert_eq!(
        split.train.class_counts(),
        vec![801, 902, 793, 826, 784, 690, 811, 856, 755, 782]
    );
    assert_eq!(
        split.test.class_counts(),
        vec![200, 225, 198, 206, 196, 173, 203, 214, 189, 196]
    );
    // Each digit keeps its original order: the first 5 is MNIST training image 0, whose
    // sixth row is the well-known 3 18 18 18 126 136 175 26 166 255 247 127.
    let first_five = split.train.labels.iter().position(|&l| l == 5).unwrap();
    let row5: Vec<u8> = (12..24)
        .map(|c| (split.train.inputs[[first_five, 5 * 28 + c]] * 255.0).round() as u8)
        .collect();
    assert_eq!(row5, [3, 18, 18, 18, 126, 136, 175, 26, 166, 255, 247, 127]);
}

#[test]
fn shipped_files_are_named_with_their_sums() {
    let split = load_shipped().unwrap();
    assert_eq!(
        split.files,
        vec![
            "datasets/mnist-10k/train-images-idx3-ubyte.gz \
             sha256:1c9180c788bbee1cd2746892a21f6c24330dfbee78cba4b4a07d2dcc2b3fd601"
                .to_string(),
            "datasets/mnist-10k/train-labels-idx1-ubyte.gz \
             sha256:b51b59f941f28f2b2728eb53fed75941ff91bed41c96b7553e75adc4b17cca81"
                .to_string(),
        ]
    );
}

#[test]
fn t10k_only_gzip_folder_splits_80_20() {
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), "t10k", 50, 28, 28, true);
    let split = load_dir(dir.path()).unwrap();
    assert_eq!((split.train.len(), split.test.len()), (40, 10));
    assert_eq!(split.train.name, "mnist-t10k:train");
    // The first 80 % in file order: test starts at image 40 (label 0, pixels 40/255).
    assert_eq!(split.test.labels[0], 0);
    assert!((split.test.inputs[[0, 0]] - 40.0 / 255.0).abs() < 1e-7);
    assert_eq!(split.files.len(), 2);
    assert!(split.files[0].ends_with("t10k-images-idx3-ubyte.gz"));
    assert!(split.files[1].ends_with("t10k-labels-idx1-ubyte.gz"));
}

#[test]
fn train_and_test_pairs_are_used_as_given() {
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), "train", 30, 28, 28, false);
    write_pair(dir.path(), "t10k", 12, 28, 28, true);
    let split = load_dir(dir.path()).unwrap();
    assert_eq!((split.train.len(), split.test.len()), (30, 12));
    assert_eq!(split.files.len(), 4);
    for (file, base) in split.files.iter().zip(MNIST_FILES) {
        assert!(file.contains(base), "{file} vs {base}");
    }
    assert!(split.files[2].ends_with(".gz"));
}

#[test]
fn train_only_folder_splits_80_20() {
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), "train", 21, 4, 4, false);
    let split = load_dir(dir.path()).unwrap();
    // floor(0.8 * 21) = 16.
    assert_eq!((split.train.len(), split.test.len()), (16, 5));
    assert_eq!(split.train.features(), 16);
}

#[test]
fn plain_file_is_preferred_over_gz() {
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), "t10k", 10, 2, 2, false);
    // A corrupt .gz next to the good plain file is ignored.
    std::fs::write(
        dir.path().join("t10k-images-idx3-ubyte.gz"),
        [0x1f, 0x8b, 0],
    )
    .unwrap();
    let split = load_dir(dir.path()).unwrap();
    assert_eq!(split.train.len() + split.test.len(), 10);
    assert!(split.files[0].ends_with("t10k-images-idx3-ubyte"));
}

#[test]
fn missing_folder_is_reported_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("not-here");
    let err = load_dir(&missing).unwrap_err();
    assert!(matches!(err, DataError::MissingDir { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&missing.display().to_string()), "{msg}");
    assert!(msg.contains("t10k-images-idx3-ubyte"), "{msg}");
}

#[test]
fn folder_without_mnist_files_names_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("readme.txt"), "hello").unwrap();
    let err = load_dir(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::NoMnistFiles { .. }), "{err:?}");
    let msg = err.to_string();
    for name in MNIST_FILES {
        assert!(msg.contains(name), "{msg}");
    }
    assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
}

#[test]
fn incomplete_pair_names_the_missing_partner() {
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), "t10k", 10, 2, 2, true);
    std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let err = load_dir(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::MissingPartner { .. }), "{err:?}");
    assert!(err.to_string().contains("t10k-labels-idx1-ubyte"), "{err}");
}

#[test]
fn count_mismatch_names_both_files() {
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), "t10k", 10, 2, 2, false);
    let labels = dir.path().join("t10k-labels-idx1-ubyte");
    write_idx_labels(&labels, &[1, 2, 3], false).unwrap();
    let err = load_dir(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                images: 10,
                labels: 3,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("t10k-images-idx3-ubyte") && msg.contains("t10k-labels-idx1-ubyte"),
        "{msg}"
    );
}

#[test]
fn train_and_test_image_sizes_must_match() {
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), "train", 10, 28, 28, false);
    write_pair(dir.path(), "t10k", 10, 20, 20, false);
    let err = load_dir(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::ShapeMismatch {
                train_rows: 28,
                test_rows: 20,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("20x20"), "{err}");
}

#[test]
fn bad_label_in_folder_is_reported_with_file() {
    let dir = tempfile::tempdir().unwrap();
    write_pair(dir.path(), "t10k", 5, 2, 2, false);
    let labels = dir.path().join("t10k-labels-idx1-ubyte");
    write_idx_labels(&labels, &[1, 2, 12, 3, 4], false).unwrap();
    let err = load_dir(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                label: 12,
                index: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&labels.display().to_string()),
        "{err}"
    );
}

#[test]
fn dataset_rejects_non_finite_inputs() {
    let inputs = array![[0.0f32, 1.0], [0.5, f32::NAN]];
    let err = Dataset::new("toy", inputs, vec![0, 1], 2).unwrap_err();
    assert!(
        matches!(err, DataError::NonFinite { row: 1, col: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().starts_with("toy:"), "{err}");
    let inputs = array![[f32::INFINITY, 1.0]];
    assert!(matches!(
        Dataset::new("toy", inputs, vec![0], 2),
        Err(DataError::NonFinite { row: 0, col: 0, .. })
    ));
}

#[test]
fn dataset_rejects_mismatched_parts() {
    let inputs = Array2::<f32>::zeros((3, 2));
    assert!(matches!(
        Dataset::new("toy", inputs.clone(), vec![0, 1], 2),
        Err(DataError::Invalid { .. })
    ));
    assert!(matches!(
        Dataset::new("toy", inputs.clone(), vec![0, 1, 2], 2),
        Err(DataError::LabelOutOfRange { label: 2, .. })
    ));
    assert!(matches!(
        Dataset::new("toy", Array2::zeros((3, 0)), vec![0, 1, 1], 2),
        Err(DataError::Invalid { .. })
    ));
}

#[test]
fn subset_select_split_and_one_hot() {
    let inputs = Array2::from_shape_fn((6, 2), |(i, j)| (i * 10 + j) as f32);
    let d = Dataset::new("toy", inputs, vec![0, 1, 2, 0, 1, 2], 3).unwrap();
    let s = d.subset(2..5).unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(s.labels, vec![2, 0, 1]);
    assert_eq!(s.inputs[[0, 1]], 21.0);
    assert_eq!(s.name, "toy[2..5]");
    assert!(d.subset(4..7).is_err());
    #[allow(clippy::reversed_empty_ranges)]
    let reversed = d.subset(4..2);
    assert!(reversed.is_err());
    assert!(d.subset(6..6).unwrap().is_empty());

    let sel = d.select(&[5, 0, 5]).unwrap();
    assert_eq!(sel.labels, vec![2, 0, 2]);
    assert_eq!(sel.inputs[[1, 1]], 1.0);
    assert!(d.select(&[6]).is_err());

    let (train, test) = d.split_at(4).unwrap();
    assert_eq!((train.len(), test.len()), (4, 2));
    assert_eq!(
        (train.name.as_str(), test.name.as_str()),
        ("toy:train", "toy:test")
    );
    assert!(d.split_at(0).is_err() && d.split_at(6).is_err());

    assert_eq!(d.class_counts(), vec![2, 2, 2]);
    let oh = d.one_hot();
    assert_eq!(oh.shape(), &[6, 3]);
    assert_eq!(oh.row(4).to_vec(), vec![0.0, 1.0, 0.0]);
    assert_eq!(oh.sum(), 6.0);
    assert_eq!(d.with_name("renamed").name, "renamed");
}
