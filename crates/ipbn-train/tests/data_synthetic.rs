//! Synthetic Gaussian blobs: determinism, shape, balance and separability.

use ipbn_train::data::synthetic::{blobs, blobs_split};
use ipbn_train::data::{DataError, Dataset};
use ndarray::Array2;

/// Accuracy of the nearest class mean (means estimated on `train`) on `test`.
fn nearest_mean_accuracy(train: &Dataset, test: &Dataset) -> f64 {
    let mut means = Array2::<f64>::zeros((train.classes, train.features()));
    let counts = train.class_counts();
    for (row, &l) in train.inputs.rows().into_iter().zip(&train.labels) {
        for (m, &v) in means.row_mut(usize::from(l)).iter_mut().zip(row) {
            *m += f64::from(v) / counts[usize::from(l)] as f64;
        }
    }
    let correct = test
        .inputs
        .rows()
        .into_iter()
        .zip(&test.labels)
        .filter(|(row, &l)| {
            let dist = |c: usize| -> f64 {
                means
                    .row(c)
                    .iter()
                    .zip(row.iter())
                    .map(|(m, &v)| (m - f64::from(v)).powi(2))
                    .sum()
            };
            let best = (0..train.classes)
                .min_by(|&a, &b| dist(a).total_cmp(&dist(b)))
                .unwrap();
            best == usize::from(l)
        })
        .count();
    correct as f64 / test.len() as f64
}

#[test]
fn same_seed_same_data_other_seed_other_data() {
    let a = blobs(200, 5, 4, 3.0, 11).unwrap();
    let b = blobs(200, 5, 4, 3.0, 11).unwrap();
    let c = blobs(200, 5, 4, 3.0, 12).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.labels, c.labels);
    assert_ne!(a.inputs, c.inputs);
}

#[test]
fn first_values_are_pinned() {
    // Value stability: a change here changes every test and figure built on blobs.
    let d = blobs(3, 2, 2, 4.0, 42).unwrap();
    let got: Vec<f32> = d.inputs.iter().copied().collect();
    let want = [
        0.837_078_03,
        2.831_621_6,
        -2.621_524_3,
        4.574_308_4,
        3.470_745,
        3.047_052_6,
    ];
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "got {got:?}");
    }
}

#[test]
fn shape_and_balanced_labels() {
    let d = blobs(103, 7, 5, 2.0, 1).unwrap();
    assert_eq!((d.len(), d.features(), d.classes), (103, 7, 5));
    assert_eq!(d.class_counts(), vec![21, 21, 21, 20, 20]);
    assert_eq!(&d.labels[..6], &[0, 1, 2, 3, 4, 0]);
    assert!(d.inputs.iter().all(|v| v.is_finite()));
}

#[test]
fn separation_controls_difficulty() {
    let easy = blobs_split(400, 400, 10, 3, 6.0, 5).unwrap();
    let hard = blobs_split(400, 400, 10, 3, 0.0, 5).unwrap();
    let acc_easy = nearest_mean_accuracy(&easy.train, &easy.test);
    let acc_hard = nearest_mean_accuracy(&hard.train, &hard.test);
    assert!(acc_easy > 0.99, "easy accuracy {acc_easy}");
    // Separation 0: all classes share one centre, so accuracy is near chance (1/3).
    assert!(
        (acc_hard - 1.0 / 3.0).abs() < 0.1,
        "hard accuracy {acc_hard}"
    );
}

#[test]
fn centre_distance_matches_separation() {
    // With a single class, the sample mean estimates the centre, at distance `separation`.
    let d = blobs(20_000, 8, 1, 5.0, 3).unwrap();
    let mean = d.inputs.mean_axis(ndarray::Axis(0)).unwrap();
    let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!((norm - 5.0).abs() < 0.05, "centre norm {norm}");
}

#[test]
fn split_shares_centres_and_describes_itself() {
    let s = blobs_split(30, 10, 4, 2, 3.0, 9).unwrap();
    let whole = blobs(40, 4, 2, 3.0, 9).unwrap();
    assert_eq!(s.train.inputs, whole.subset(0..30).unwrap().inputs);
    assert_eq!(s.test.inputs, whole.subset(30..40).unwrap().inputs);
    assert_eq!(
        (s.train.name.as_str(), s.test.name.as_str()),
        ("blobs:train", "blobs:test")
    );
    assert_eq!(s.files.len(), 1);
    assert!(s.files[0].contains("seed=9"), "{}", s.files[0]);
}

#[test]
fn invalid_arguments_are_errors() {
    for result in [
        blobs(10, 0, 2, 1.0, 0),
        blobs(10, 2, 0, 1.0, 0),
        blobs(10, 2, 257, 1.0, 0),
        blobs(10, 2, 2, -1.0, 0),
        blobs(10, 2, 2, f32::NAN, 0),
    ] {
        assert!(
            matches!(result, Err(DataError::Invalid { .. })),
            "{result:?}"
        );
    }
    assert!(blobs_split(0, 10, 2, 2, 1.0, 0).is_err());
    assert!(blobs_split(10, 0, 2, 2, 1.0, 0).is_err());
    assert!(blobs(0, 2, 2, 1.0, 0).unwrap().is_empty());
}
