//! The folder loader on up to four arbitrary files (the parts of the input between `#--#`
//! separators become the four MNIST files, in `MNIST_FILES` order; an empty part leaves its
//! file out, a part starting with the gzip magic gets a `.gz` name): never panics, every
//! error is one line naming the folder, and an accepted split is consistent.
#![no_main]

use ipbn_fuzz::{check_message, split_parts};
use ipbn_train::data::{load_dir, MNIST_CLASSES, MNIST_FILES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        tempfile::tempdir_in("/dev/shm")
    } else {
        tempfile::tempdir()
    };
    let dir = base.expect("temporary folder");
    for (part, name) in split_parts(data, b"#--#", 4).into_iter().zip(MNIST_FILES) {
        if part.is_empty() {
            continue;
        }
        let file = if part.starts_with(&[0x1f, 0x8b]) {
            format!("{name}.gz")
        } else {
            name.to_string()
        };
        std::fs::write(dir.path().join(file), part).expect("write a part");
    }
    match load_dir(dir.path()) {
        Ok(split) => {
            assert!(!split.train.is_empty() && !split.test.is_empty());
            assert_eq!(split.train.features(), split.test.features());
            for d in [&split.train, &split.test] {
                assert_eq!(d.inputs.nrows(), d.labels.len());
                assert!(d.labels.iter().all(|&l| usize::from(l) < MNIST_CLASSES));
                assert!(d.inputs.iter().all(|v| (0.0..=1.0).contains(v)));
            }
        }
        Err(e) => check_message(&e.to_string(), &dir.path().display().to_string()),
    }
});
