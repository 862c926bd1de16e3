//! Atomic JSON output: a file is either absent, its previous version, or complete.

use crate::error::{Result, TrainError};
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// Serialises `value` as pretty JSON (with a final newline) and writes it to `path`
/// atomically: into a temporary file in the same folder, flushed to disk, then renamed over
/// `path`. Creates the folder if needed. A reader never sees a partial file, and a crash
/// leaves at worst a stray `.*.tmp` file, never a truncated `path`.
///
/// JSON has no NaN or infinity (serde_json writes them as `null`); the result types of this
/// crate hold `Option<f64>` wherever a value can be undefined, so nothing is lost that way.
pub fn write_json_atomic<V: Serialize + ?Sized>(path: &Path, value: &V) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|source| TrainError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Writes `bytes` to `path` atomically (see [`write_json_atomic`] and [`write_atomic_with`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, TEMP_SUFFIX, |_, file| {
        file.write_all(bytes).map_err(|e| TrainError::io(path, e))
    })
}

/// Random characters in a temporary file's name (see [`write_atomic_with`]).
pub const TEMP_RAND_LEN: usize = 8;

/// The suffix of the temporary files of [`write_atomic`].
pub const TEMP_SUFFIX: &str = ".tmp";

/// The one atomic write of the workspace: `fill` writes the content into a fresh temporary
/// file `.{name}.{pid}.{random}{suffix}` beside `path` (given its path and an open handle;
/// `random` is [`TEMP_RAND_LEN`] ASCII letters and digits), which is then flushed to disk
/// and renamed over `path`. Creates the folder if needed. A reader sees the old file or the
/// new one, never half of it; on any error the temporary file is removed and `path` is left
/// as it was, and a crash leaves at worst a stray temporary file.
///
/// The temporary file is created by [`tempfile`] with `create_new` (retrying on a clash), so
/// writers in separate PID namespaces sharing one folder never share a temporary file. A
/// `suffix` such as `.png` lets encoders that pick the format from the extension write to
/// the temporary path.
///
/// # Errors
/// [`TrainError::Io`] if the folder or the temporary file cannot be created, flushed or
/// renamed, and whatever `fill` returns.
pub fn write_atomic_with<E: From<TrainError>>(
    path: &Path,
    suffix: &str,
    fill: impl FnOnce(&Path, &mut std::fs::File) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let prefix = format!(".{name}.{}.", std::process::id());
    let mut builder = tempfile::Builder::new();
    builder
        .prefix(&prefix)
        .suffix(suffix)
        .rand_bytes(TEMP_RAND_LEN);
    // A temporary file is private (0600); a result is not: create it readable as an
    // ordinary file would be (0644 less the umask), so a figure or dataset written here can
    // be served or shared like any other file.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut tmp = builder
        .tempfile_in(&dir)
        .map_err(|e| TrainError::io(&dir, e))?;
    let tmp_path = tmp.path().to_path_buf();
    fill(&tmp_path, tmp.as_file_mut())?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| TrainError::io(&tmp_path, e))?;
    tmp.persist(path)
        .map_err(|e| TrainError::io(path, e.error))?;
    // Make the rename itself durable where the platform allows opening a folder.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Every file under `dir` (hidden ones included), keyed by its path relative to `dir`, with
/// its bytes: a snapshot of an output folder, for comparing two sweeps byte for byte.
pub fn read_tree(dir: &Path) -> std::io::Result<std::collections::BTreeMap<String, Vec<u8>>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap_or(&p)
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&p)?);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_complete_files_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/a.json");
        write_json_atomic(&p, &serde_json::json!({"x": 1.5})).unwrap();
        let back: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(back["x"], 1.5);
        write_json_atomic(&p, &[2.0f64]).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "[\n  2.0\n]\n");
        let leftovers: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(leftovers, vec!["a.json".to_string()]);
    }

    #[test]
    fn a_failed_fill_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.png");
        write_atomic(&p, b"old").unwrap();
        let mut seen = None;
        let r: Result<()> = write_atomic_with(&p, ".png", |tmp, f| {
            seen = Some(tmp.file_name().unwrap().to_string_lossy().into_owned());
            f.write_all(b"partial").unwrap();
            Err(TrainError::io(tmp, std::io::Error::other("encoder failed")))
        });
        assert!(r.is_err());
        let name = seen.unwrap();
        let pid = std::process::id().to_string();
        assert!(
            name.starts_with(&format!(".b.png.{pid}.")) && name.ends_with(".png"),
            "{name}"
        );
        assert_eq!(
            name.len(),
            ".b.png.".len() + pid.len() + 1 + TEMP_RAND_LEN + 4
        );
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}

#[cfg(all(test, unix))]
mod permission_tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn results_are_as_readable_as_an_ordinary_file() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.txt");
        std::fs::write(&plain, b"x").unwrap();
        let ours = dir.path().join("ours.txt");
        write_atomic_with::<TrainError>(&ours, ".tmp", |_, f| {
            use std::io::Write;
            f.write_all(b"y").map_err(|e| TrainError::io(&ours, e))
        })
        .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // Same as an ordinary file under this umask, without write for group and others.
        assert_eq!(mode(&ours), mode(&plain) & 0o644);
        assert_ne!(mode(&ours) & 0o400, 0);
    }
}
