//! Shared checks of the fuzz targets: what every error message of ipbn must look like.

/// Panics unless `msg` is one non-empty line that contains `names` (the file or key at fault).
pub fn check_message(msg: &str, names: &str) {
    assert!(!msg.trim().is_empty(), "empty error message");
    assert!(
        !msg.contains(['\n', '\r']),
        "error message spans several lines: {msg:?}"
    );
    assert!(
        msg.contains(names),
        "error message does not name {names:?}: {msg:?}"
    );
}

/// Splits `data` into at most `n` parts at each occurrence of `sep` (the last part keeps the
/// rest); fewer parts if `sep` occurs less often.
pub fn split_parts<'a>(data: &'a [u8], sep: &[u8], n: usize) -> Vec<&'a [u8]> {
    let mut parts = Vec::with_capacity(n);
    let mut rest = data;
    while parts.len() + 1 < n {
        match rest.windows(sep.len()).position(|w| w == sep) {
            Some(at) => {
                parts.push(&rest[..at]);
                rest = &rest[at + sep.len()..];
            }
            None => break,
        }
    }
    parts.push(rest);
    parts
}
