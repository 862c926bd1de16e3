//! The IDX labels reader on arbitrary bytes (plain or gzip) and class counts 1..=256 (the
//! first input byte): never panics, every error is one line naming the file, and whatever it
//! accepts is in range and reproduced by the writer.
#![no_main]

use ipbn_fuzz::check_message;
use ipbn_train::data::idx::{encode_idx_labels, parse_idx_labels};
use libfuzzer_sys::fuzz_target;

const NAME: &str = "fuzz-labels.idx1";

fuzz_target!(|data: &[u8]| {
    let (classes, bytes) = match data.split_first() {
        Some((&c, rest)) => (usize::from(c) + 1, rest),
        None => (10, data),
    };
    match parse_idx_labels(NAME, bytes, classes) {
        Ok(labels) => {
            assert!(labels.iter().all(|&l| usize::from(l) < classes));
            let plain = encode_idx_labels(&labels, false).expect("accepted labels re-encode");
            if !bytes.starts_with(&[0x1f, 0x8b]) {
                assert_eq!(plain, bytes, "a plain file re-encodes to itself");
            }
        }
        Err(e) => check_message(&e.to_string(), NAME),
    }
});
