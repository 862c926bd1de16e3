//! The IDX images reader on arbitrary bytes (plain or gzip): never panics, every error is one
//! line naming the file, and whatever it accepts the writer reproduces.
#![no_main]

use ipbn_fuzz::check_message;
use ipbn_train::data::idx::{encode_idx_images, parse_idx_images};
use libfuzzer_sys::fuzz_target;

const NAME: &str = "fuzz-images.idx3";

fuzz_target!(|data: &[u8]| {
    match parse_idx_images(NAME, data) {
        Ok(images) => {
            assert_eq!(
                images.pixels.len(),
                images.count * images.rows * images.cols
            );
            let plain = encode_idx_images(images.rows, images.cols, &images.pixels, false)
                .expect("accepted images re-encode");
            if !data.starts_with(&[0x1f, 0x8b]) {
                assert_eq!(plain, data, "a plain file re-encodes to itself");
            }
            let again = parse_idx_images("again", &plain).expect("re-encoded images parse");
            assert_eq!(again, images);
        }
        Err(e) => check_message(&e.to_string(), NAME),
    }
});
