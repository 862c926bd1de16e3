//! The IDX reader and writer: round trips and every kind of hostile input.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use ipbn_train::data::idx::{
    encode_idx_images, encode_idx_labels, parse_idx_images, parse_idx_labels, read_idx_images,
    read_idx_labels, write_idx_images, write_idx_labels, MAX_PAYLOAD_BYTES,
};
use ipbn_train::data::DataError;
use proptest::prelude::*;

/// A deterministic pattern of `n` images of `rows` x `cols`.
fn pattern(n: usize, rows: usize, cols: usize) -> Vec<u8> {
    (0..n * rows * cols)
        .map(|i| ((i * 37 + i / 7) % 256) as u8)
        .collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A raw IDX images header.
fn images_header(n: u32, rows: u32, cols: u32) -> Vec<u8> {
    let mut h = 2051u32.to_be_bytes().to_vec();
    for d in [n, rows, cols] {
        h.extend_from_slice(&d.to_be_bytes());
    }
    h
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Asserts that the message names `file` and contains each of `parts`.
fn assert_message(err: &DataError, file: &str, parts: &[&str]) {
    let msg = err.to_string();
    assert!(msg.contains(file), "message does not name {file}: {msg}");
    for p in parts {
        assert!(msg.contains(p), "message lacks {p:?}: {msg}");
    }
}

#[test]
fn round_trip_plain_and_gzip_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let pixels = pattern(5, 3, 4);
    let labels = vec![0u8, 9, 3, 3, 7];
    for gz in [false, true] {
        let ip = dir.path().join(format!("imgs{gz}"));
        let lp = dir.path().join(format!("labs{gz}"));
        write_idx_images(&ip, 3, 4, &pixels, gz).unwrap();
        write_idx_labels(&lp, &labels, gz).unwrap();
        let raw = std::fs::read(&ip).unwrap();
        assert_eq!(raw.starts_with(&[0x1f, 0x8b]), gz);
        let imgs = read_idx_images(&ip).unwrap();
        assert_eq!((imgs.count, imgs.rows, imgs.cols), (5, 3, 4));
        assert_eq!(imgs.pixels, pixels);
        assert_eq!(imgs.image(4).unwrap(), &pixels[48..60]);
        assert!(imgs.image(5).is_none());
        assert_eq!(read_idx_labels(&lp, 10).unwrap(), labels);
    }
}

#[test]
fn plain_encoding_is_the_standard_layout() {
    let bytes = encode_idx_images(2, 2, &[1, 2, 3, 4, 5, 6, 7, 8], false).unwrap();
    assert_eq!(
        bytes,
        [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8]
    );
    let labels = encode_idx_labels(&[4, 1], false).unwrap();
    assert_eq!(labels, [0, 0, 8, 1, 0, 0, 0, 2, 4, 1]);
}

#[test]
fn gzip_output_is_reproducible() {
    let a = encode_idx_images(28, 28, &pattern(3, 28, 28), true).unwrap();
    let b = encode_idx_images(28, 28, &pattern(3, 28, 28), true).unwrap();
    assert_eq!(a, b);
    // mtime field (bytes 4..8 of the gzip header) is zero.
    assert_eq!(&a[4..8], &[0, 0, 0, 0]);
}

#[test]
fn gzip_is_detected_by_content_not_name() {
    let dir = tempfile::tempdir().unwrap();
    // gzipped content under a plain name, plain content under a .gz name.
    let gz = write(
        dir.path(),
        "plain-name-idx3-ubyte",
        &encode_idx_images(2, 2, &[9; 8], true).unwrap(),
    );
    let plain = write(
        dir.path(),
        "labels.gz",
        &encode_idx_labels(&[1, 2, 3], false).unwrap(),
    );
    assert_eq!(read_idx_images(&gz).unwrap().pixels, vec![9; 8]);
    assert_eq!(read_idx_labels(&plain, 10).unwrap(), vec![1, 2, 3]);
}

#[test]
fn non_square_images_are_read_and_reported() {
    let imgs = parse_idx_images(
        "x",
        &encode_idx_images(3, 5, &pattern(2, 3, 5), false).unwrap(),
    )
    .unwrap();
    assert_eq!((imgs.count, imgs.rows, imgs.cols), (2, 3, 5));
    assert_eq!(imgs.pixels_per_image(), 15);
}

#[test]
fn zero_images_is_a_valid_empty_file() {
    let imgs = parse_idx_images("x", &images_header(0, 28, 28)).unwrap();
    assert_eq!(imgs.count, 0);
    assert!(imgs.pixels.is_empty());
}

#[test]
fn truncated_file_is_reported_with_sizes_and_fix() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = images_header(10_000, 28, 28);
    bytes.extend_from_slice(&[0u8; 512]);
    let path = write(dir.path(), "short-images", &bytes);
    let err = read_idx_images(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Truncated {
                declared: 7_840_000,
                found: 512,
                ..
            }
        ),
        "{err:?}"
    );
    assert_message(
        &err,
        &path.display().to_string(),
        &[
            "10000 images of 28x28",
            "7840000 bytes",
            "only 512 bytes",
            "re-download",
        ],
    );
}

#[test]
fn truncated_payload_inside_valid_gzip_is_truncated() {
    let mut bytes = images_header(10, 28, 28);
    bytes.extend_from_slice(&[1u8; 100]);
    let err = parse_idx_images("short.gz", &gzip(&bytes)).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Truncated {
                declared: 7840,
                found: 100,
                ..
            }
        ),
        "{err:?}"
    );
    assert_message(&err, "short.gz", &["truncated"]);
}

#[test]
fn trailing_bytes_are_rejected_plain_and_gzip() {
    let mut bytes = encode_idx_labels(&[1, 2, 3], false).unwrap();
    bytes.push(0);
    for (name, data) in [("t-plain", bytes.clone()), ("t-gz", gzip(&bytes))] {
        let err = parse_idx_labels(name, &data, 10).unwrap_err();
        assert!(
            matches!(err, DataError::TrailingBytes { declared: 3, .. }),
            "{err:?}"
        );
        assert_message(&err, name, &["3 labels", "trailing"]);
    }
}

#[test]
fn empty_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "empty-labels", &[]);
    let err = read_idx_labels(&path, 10).unwrap_err();
    assert!(matches!(err, DataError::Empty { .. }), "{err:?}");
    assert_message(&err, &path.display().to_string(), &["empty"]);
    // A gzip stream of nothing is empty too.
    let err = parse_idx_labels("nothing.gz", &gzip(&[]), 10).unwrap_err();
    assert!(matches!(err, DataError::Empty { .. }), "{err:?}");
}

#[test]
fn short_header_is_reported() {
    let err = parse_idx_labels("tiny", &[0, 0], 10).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::TruncatedHeader {
                needed: 4,
                found: 2,
                ..
            }
        ),
        "{err:?}"
    );
    let err = parse_idx_images("half", &images_header(1, 2, 2)[..10]).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::TruncatedHeader {
                needed: 16,
                found: 10,
                ..
            }
        ),
        "{err:?}"
    );
    assert_message(&err, "half", &["truncated header"]);
}

#[test]
fn wrong_magic_is_reported() {
    // A PNG signature, and an IDX header of 32-bit floats (type 0x0D).
    let png = [
        0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0,
    ];
    let err = parse_idx_images("picture.png", &png).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::BadMagic {
                found: 0x8950_4e47,
                expected: 2051,
                ..
            }
        ),
        "{err:?}"
    );
    assert_message(&err, "picture.png", &["bad magic", "2051"]);
    let mut floats = images_header(1, 1, 1);
    floats[2] = 0x0d;
    floats.extend_from_slice(&[0; 4]);
    let err = parse_idx_images("floats", &floats).unwrap_err();
    assert!(matches!(err, DataError::BadMagic { .. }), "{err:?}");
}

#[test]
fn wrong_dimension_count_is_reported() {
    let labels = encode_idx_labels(&[1, 2, 3], false).unwrap();
    let err = parse_idx_images("labels-as-images", &labels).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::WrongDimensionCount {
                found: 1,
                expected: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert_message(&err, "labels-as-images", &["swapped"]);
    let images = encode_idx_images(1, 1, &[0], false).unwrap();
    let err = parse_idx_labels("images-as-labels", &images, 10).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::WrongDimensionCount {
                found: 3,
                expected: 1,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn zero_rows_or_columns_is_rejected() {
    let err = parse_idx_images("flat", &images_header(5, 0, 28)).unwrap_err();
    assert!(matches!(err, DataError::ZeroDimension { .. }), "{err:?}");
    assert_message(&err, "flat", &["5x0x28"]);
}

#[test]
fn label_out_of_range_is_reported_and_range_is_configurable() {
    let bytes = encode_idx_labels(&[0, 9, 10, 3], false).unwrap();
    let err = parse_idx_labels("labels", &bytes, 10).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                index: 2,
                label: 10,
                max: 9,
                ..
            }
        ),
        "{err:?}"
    );
    assert_message(&err, "labels", &["label 10 at index 2", "0..=9"]);
    assert_eq!(
        parse_idx_labels("labels", &bytes, 11).unwrap(),
        vec![0, 9, 10, 3]
    );
    let err = parse_idx_labels("labels", &bytes, 4).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                index: 1,
                label: 9,
                ..
            }
        ),
        "{err:?}"
    );
    let err = parse_idx_labels("labels", &bytes, 0).unwrap_err();
    assert!(matches!(err, DataError::Invalid { .. }), "{err:?}");
}

#[test]
fn oversized_header_is_rejected_before_allocating() {
    // 2^32-1 images of 2^16 x 2^16: about 2^64 bytes declared, 16 bytes present.
    let huge = images_header(u32::MAX, 65_536, 65_536);
    for (name, data) in [("huge", huge.clone()), ("huge.gz", gzip(&huge))] {
        let err = parse_idx_images(name, &data).unwrap_err();
        match &err {
            DataError::Oversized {
                declared, limit, ..
            } => {
                assert_eq!(*declared, u128::from(u32::MAX) << 32);
                assert_eq!(*limit, MAX_PAYLOAD_BYTES);
            }
            other => panic!("expected Oversized, got {other:?}"),
        }
        assert_message(&err, name, &["4294967295x65536x65536", "limit"]);
    }
    // Just under the limit but far more than the file holds: truncated, reported at once.
    let big = images_header(2_000_000, 32, 32);
    let err = parse_idx_images("big", &big).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Truncated {
                declared: 2_048_000_000,
                found: 0,
                ..
            }
        ),
        "{err:?}"
    );
    // The same header gzipped: decompression stops at the real end of data.
    let err = parse_idx_images("big.gz", &gzip(&big)).unwrap_err();
    assert!(
        matches!(err, DataError::Truncated { found: 0, .. }),
        "{err:?}"
    );
}

#[test]
fn corrupt_gzip_is_reported() {
    let good = encode_idx_images(28, 28, &pattern(20, 28, 28), true).unwrap();
    // Flip bits in the middle of the deflate data.
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    for b in &mut flipped[mid..mid + 8] {
        *b ^= 0x5a;
    }
    let err = parse_idx_images("flipped.gz", &flipped).unwrap_err();
    assert!(matches!(err, DataError::CorruptGzip { .. }), "{err:?}");
    assert_message(&err, "flipped.gz", &["corrupt gzip", "re-download"]);
    // Cut the stream short.
    let err = parse_idx_images("cut.gz", &good[..good.len() / 3]).unwrap_err();
    assert!(matches!(err, DataError::CorruptGzip { .. }), "{err:?}");
    assert_message(&err, "cut.gz", &["cut short"]);
    // A wrong CRC (last 8 bytes are CRC32 and length).
    let mut crc = good.clone();
    let n = crc.len();
    crc[n - 8] ^= 0xff;
    let err = parse_idx_images("crc.gz", &crc).unwrap_err();
    assert!(matches!(err, DataError::CorruptGzip { .. }), "{err:?}");
    // Just the gzip magic.
    let err = parse_idx_images("magic-only.gz", &[0x1f, 0x8b]).unwrap_err();
    assert!(matches!(err, DataError::CorruptGzip { .. }), "{err:?}");
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope-idx3-ubyte");
    let err = read_idx_images(&path).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err:?}");
    assert_message(&err, &path.display().to_string(), &["read failed"]);
}

#[test]
fn writer_rejects_inconsistent_input() {
    assert!(matches!(
        encode_idx_images(0, 28, &[], false),
        Err(DataError::Invalid { .. })
    ));
    assert!(matches!(
        encode_idx_images(2, 2, &[0; 7], false),
        Err(DataError::Invalid { .. })
    ));
    let dir = tempfile::tempdir().unwrap();
    let err = write_idx_labels(&dir.path().join("no/such/dir/labels"), &[1], false).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// No byte string makes the readers panic, plain or gzipped.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = parse_idx_images("fuzz", &bytes);
        let _ = parse_idx_labels("fuzz", &bytes, 10);
        let gz = gzip(&bytes);
        let _ = parse_idx_images("fuzz.gz", &gz);
        let _ = parse_idx_labels("fuzz.gz", &gz, 10);
    }

    /// Headers of the right kind with arbitrary dimensions and a short body never panic
    /// and are never accepted unless the body matches exactly.
    #[test]
    fn arbitrary_headers_are_checked(n in any::<u32>(), r in any::<u32>(), c in any::<u32>(),
                                     body in 0usize..40) {
        let mut bytes = images_header(n, r, c);
        bytes.resize(bytes.len() + body, 7);
        let declared = u128::from(n) * u128::from(r) * u128::from(c);
        let result = parse_idx_images("hdr", &bytes);
        prop_assert_eq!(result.is_ok(), r > 0 && c > 0 && declared == body as u128);
    }

    /// Round trip of arbitrary small image sets through both encodings.
    #[test]
    fn round_trip(rows in 1usize..6, cols in 1usize..6, n in 0usize..5, gz in any::<bool>(),
                  seed in any::<u8>()) {
        let pixels: Vec<u8> = (0..rows * cols * n).map(|i| (i as u8).wrapping_mul(seed)).collect();
        let back = parse_idx_images("rt", &encode_idx_images(rows, cols, &pixels, gz).unwrap()).unwrap();
        prop_assert_eq!((back.count, back.rows, back.cols), (n, rows, cols));
        prop_assert_eq!(back.pixels, pixels);
    }
}
