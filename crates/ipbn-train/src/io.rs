//! Atomic JSON output: a file is either absent, its previous version, or complete.

use crate::error::{Result, TrainError};
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

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

/// Writes `bytes` to `path` atomically (see [`write_json_atomic`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| TrainError::io(&dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    // The temporary name holds the pid and a counter mixed with the clock, and the file is
    // opened with `create_new`, retrying on a clash: shards in separate PID namespaces (e.g.
    // containerised Slurm tasks writing to one shared folder) never share a temporary file.
    let (tmp, file) = create_temporary(&dir, &name).map_err(|e| TrainError::io(&dir, e))?;
    let result = (|| -> std::io::Result<()> {
        let mut f = file;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable where the platform allows opening a folder.
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(TrainError::io(path, e));
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

/// Creates a fresh temporary file `.{name}.{pid}.{unique}.tmp` in `dir` that no other
/// writer can be using: `create_new` fails on an existing name, and then another is tried.
fn create_temporary(
    dir: &Path,
    name: &str,
) -> std::io::Result<(std::path::PathBuf, std::fs::File)> {
    let pid = std::process::id();
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut last = None;
    for _ in 0..64 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let unique = ipbn_math::seed::derive_seed(clock ^ u64::from(pid), n);
        let tmp = dir.join(format!(".{name}.{pid}.{unique}.tmp"));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary file name")))
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
}
