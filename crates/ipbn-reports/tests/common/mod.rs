//! Checks shared by the integration tests of `ipbn-reports`: the JSON, SVG and PNG files a
//! figure or a chart writes, and the folder it writes them into.

// Each test crate includes this module and uses only some of its checks.
#![allow(dead_code)]

use serde_json::Value;
use std::path::Path;

/// Every figure id, in the order of figures.md.
pub const FIGURE_IDS: [&str; 8] = [
    "bn-mnist",
    "vanishing-gradient",
    "lr-stability",
    "single-neuron",
    "information",
    "equivalence",
    "batch-size",
    "homogenisation",
];

/// Walks a JSON value and fails on `null` (serde_json writes a NaN as `null`), on a
/// non-finite number and on a string spelling one (`NaN`, `inf`, `-infinity`, …: the figures
/// write a non-finite value as text only where a run diverged, which the tested runs must
/// not); returns how many numbers it saw. `path` names the value in messages.
pub fn check_json(v: &Value, path: &str) -> usize {
    match v {
        Value::Null => panic!("null at {path} (a non-finite number written by serde_json?)"),
        Value::Number(n) => {
            let f = n.as_f64().expect("a JSON number converts to f64");
            assert!(f.is_finite(), "non-finite number at {path}");
            1
        }
        Value::String(s) => {
            let t = s.trim().to_ascii_lowercase();
            assert!(
                !["nan", "inf", "-inf", "infinity", "-infinity"].contains(&t.as_str()),
                "non-finite value `{s}` at {path}"
            );
            0
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| check_json(x, &format!("{path}[{i}]")))
            .sum(),
        Value::Object(o) => o
            .iter()
            .map(|(k, x)| check_json(x, &format!("{path}.{k}")))
            .sum(),
        Value::Bool(_) => 0,
    }
}

/// Fails unless `p` is a PNG of more than `min_bytes` bytes; returns its width and height.
pub fn check_png(p: &Path, min_bytes: usize) -> (u32, u32) {
    let bytes = std::fs::read(p).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        p.display()
    );
    assert!(
        bytes.len() > min_bytes,
        "{} is only {} bytes",
        p.display(),
        bytes.len()
    );
    // IHDR: width and height, big-endian, at bytes 16..24.
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    (w, h)
}

/// Fails unless `p` is a complete SVG that draws text and spells no non-finite number.
pub fn check_svg(p: &Path) {
    let text = std::fs::read_to_string(p).unwrap();
    assert!(
        text.contains("<svg"),
        "{} has no <svg> element",
        p.display()
    );
    assert!(
        text.trim_end().ends_with("</svg>"),
        "{} is cut off",
        p.display()
    );
    assert!(text.contains("<text"), "{} draws no text", p.display());
    for bad in ["NaN", "\"inf", "\"-inf"] {
        assert!(!text.contains(bad), "{} contains {bad}", p.display());
    }
}

/// Fails if `dir` holds a temporary file (a name starting with `.` or containing `.tmp`).
pub fn no_temp_files(dir: &Path) {
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.contains(".tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left behind: {leftovers:?}"
    );
}
