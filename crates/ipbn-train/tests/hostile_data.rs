//! The hostile-input corpus of the data layer (`tests/corpus/idx`, `dirs`, `data`): every case
//! gives a typed error, never a panic, with a one-line message naming the file and the
//! problem (the substrings listed in each folder's `expected.txt`).

#[path = "corpus/harness.rs"]
mod harness;

use harness::{cases, check_error, corpus_dir, report};
use ipbn_train::data::idx::{parse_idx_images, parse_idx_labels, read_idx_images, read_idx_labels};
use ipbn_train::data::{load_dir, DataError, Dataset, MNIST_CLASSES};
use ndarray::Array2;

#[test]
fn every_idx_case_is_a_one_line_error_naming_the_file() {
    let dir = corpus_dir("idx");
    let results = cases(&dir)
        .iter()
        .map(|case| {
            let names = case.path.display().to_string();
            match case.kind.as_str() {
                "images" => check_error(case, &names, || read_idx_images(&case.path)),
                "labels" => {
                    check_error(case, &names, || read_idx_labels(&case.path, MNIST_CLASSES))
                }
                other => Err(format!("{}: unknown kind `{other}`", case.name)),
            }
        })
        .collect();
    report(results, 20);
}

#[test]
fn idx_cases_fail_the_same_from_memory_under_any_name() {
    // The in-memory parsers give the same diagnosis, naming whatever name they are given.
    let dir = corpus_dir("idx");
    let results = cases(&dir)
        .iter()
        .map(|case| {
            let bytes = std::fs::read(&case.path).unwrap();
            let name = format!("<memory:{}>", case.name);
            match case.kind.as_str() {
                "images" => check_error(case, &name, || parse_idx_images(&name, &bytes)),
                _ => check_error(case, &name, || {
                    parse_idx_labels(&name, &bytes, MNIST_CLASSES)
                }),
            }
        })
        .collect();
    report(results, 20);
}

#[test]
fn every_folder_case_is_a_one_line_error_naming_the_folder() {
    let dir = corpus_dir("dirs");
    let mut results: Vec<_> = cases(&dir)
        .iter()
        .map(|case| {
            let names = case.path.display().to_string();
            check_error(case, &names, || load_dir(&case.path))
        })
        .collect();
    // A folder that does not exist (it cannot be kept in the corpus).
    let missing = harness::Case {
        name: "<missing folder>".into(),
        kind: "dir".into(),
        expect: vec!["no such folder".into(), "--data".into()],
        path: dir.join("does-not-exist"),
    };
    results.push(check_error(&missing, "does-not-exist", || {
        load_dir(&missing.path)
    }));
    report(results, 10);
}

/// A CSV case: a header line, then `label,feature,...` per row (Rust's float syntax, so `NaN`,
/// `inf` and `-inf` are accepted; `1e39` overflows `f32` to infinity).
fn read_csv(path: &std::path::Path) -> (Array2<f32>, Vec<u8>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut labels = Vec::new();
    let mut values = Vec::new();
    let mut width = 0;
    for line in text.lines().skip(1) {
        let mut fields = line.split(',');
        labels.push(fields.next().unwrap().trim().parse::<u8>().unwrap());
        let row: Vec<f32> = fields.map(|f| f.trim().parse::<f32>().unwrap()).collect();
        width = row.len();
        values.extend(row);
    }
    let inputs = Array2::from_shape_vec((labels.len(), width), values).unwrap();
    (inputs, labels)
}

#[test]
fn every_dataset_case_is_a_one_line_error_naming_the_dataset() {
    let dir = corpus_dir("data");
    let results = cases(&dir)
        .iter()
        .map(|case| {
            let classes: usize = case.kind.parse().unwrap();
            let (inputs, labels) = read_csv(&case.path);
            check_error(case, &case.name, || {
                Dataset::new(case.name.clone(), inputs, labels, classes)
            })
        })
        .collect();
    report(results, 6);
}

#[test]
fn non_finite_inputs_are_reported_at_their_first_position() {
    let (inputs, labels) = read_csv(&corpus_dir("data").join("nan-input.csv"));
    match Dataset::new("nan", inputs, labels, 10) {
        Err(DataError::NonFinite {
            row, col, value, ..
        }) => {
            assert_eq!((row, col), (1, 1));
            assert!(value.is_nan());
        }
        other => panic!("expected NonFinite, got {other:?}"),
    }
}
