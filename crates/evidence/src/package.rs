//! A package as a map of relative path → bytes: built in memory, written to a directory and
//! a zip, read back from either for verification. The manifest lists every file but itself
//! and its signature, sorted by path.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{EvidenceError, MANIFEST, MANIFEST_NOTE_HEADER, MANIFEST_SIG, io_err};

/// Relative path (with `/`) → contents.
pub(crate) type Files = BTreeMap<String, Vec<u8>>;

/// Lowercase hex SHA-256.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `MANIFEST.json` for `files` (which must not hold the manifest yet).
pub(crate) fn manifest(files: &Files, header: serde_json::Value) -> Vec<u8> {
    let list: Vec<serde_json::Value> = files
        .iter()
        .map(|(path, bytes)| {
            serde_json::json!({"path": path, "sha256": sha256_hex(bytes), "bytes": bytes.len()})
        })
        .collect();
    let mut doc = header;
    doc["files"] = serde_json::Value::Array(list);
    let mut text = serde_json::to_vec_pretty(&doc).unwrap_or_default();
    text.push(b'\n');
    text
}

/// The text the log key signs for a manifest.
pub(crate) fn manifest_note_text(manifest: &[u8]) -> String {
    format!("{MANIFEST_NOTE_HEADER}\nsha256 {}\n", sha256_hex(manifest))
}

/// Writes every file under `dir` (must be absent or empty). The files go to a hidden
/// sibling directory first (`.NAME.partial-PID`), are synced, and the directory is renamed
/// into place at the end: a crash leaves `dir` absent or empty, never half-written, so a
/// re-run starts over.
pub(crate) fn write_dir(dir: &Path, files: &Files) -> Result<(), EvidenceError> {
    check_empty(dir)?;
    remove_stale_partials(dir)?;
    let partial = partial_path(dir);
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io_err(&partial))?;
    }
    for (rel, bytes) in files {
        let path = partial.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        write_synced(&path, bytes)?;
    }
    sync_dirs(&partial, files)?;
    if dir.exists() {
        // Empty (checked above): rename cannot replace a directory that holds entries.
        std::fs::remove_dir(dir).map_err(io_err(dir))?;
    }
    std::fs::rename(&partial, dir).map_err(io_err(dir))?;
    sync_parent(dir)
}

/// Where [`write_dir`] and [`write_zip`] build `path` before renaming it into place.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".partial-{}", std::process::id()));
    path.with_file_name(name)
}

/// Removes what killed exports to `path` left behind: `.NAME.partial-PID` siblings whose
/// process is gone (no `/proc/PID`). A partial of a running export is left alone; without
/// `/proc` nothing is removed.
fn remove_stale_partials(path: &Path) -> Result<(), EvidenceError> {
    let proc_root = Path::new("/proc");
    if !proc_root.join("self").exists() {
        return Ok(());
    }
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(path.file_name().unwrap_or_default());
    prefix.push(".partial-");
    let prefix = prefix.to_string_lossy().into_owned();
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(&prefix) else {
            continue;
        };
        if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if proc_root.join(pid).exists() {
            continue;
        }
        let stale = entry.path();
        let removed = if stale.is_dir() {
            std::fs::remove_dir_all(&stale)
        } else {
            std::fs::remove_file(&stale)
        };
        removed.map_err(io_err(&stale))?;
    }
    Ok(())
}

/// Writes `bytes` to `path` and syncs it to disk.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), EvidenceError> {
    let mut f = std::fs::File::create(path).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// Syncs `root` and every directory under it that `files` created, so their entries are
/// durable before the rename publishes them.
fn sync_dirs(root: &Path, files: &Files) -> Result<(), EvidenceError> {
    let mut dirs: std::collections::BTreeSet<PathBuf> = files
        .keys()
        .filter_map(|rel| root.join(rel).parent().map(Path::to_path_buf))
        .collect();
    dirs.insert(root.to_path_buf());
    for d in dirs {
        std::fs::File::open(&d)
            .and_then(|f| f.sync_all())
            .map_err(io_err(&d))?;
    }
    Ok(())
}

/// Syncs the directory holding `path` (after a rename into it).
fn sync_parent(path: &Path) -> Result<(), EvidenceError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(parent)
        .and_then(|f| f.sync_all())
        .map_err(io_err(parent))
}

/// Fails early when `dir` holds files, before any work is done.
pub(crate) fn check_empty(dir: &Path) -> Result<(), EvidenceError> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io_err(dir))?;
        if entries.next().is_some() {
            return Err(EvidenceError::OutputNotEmpty(dir.to_path_buf()));
        }
    }
    Ok(())
}

/// `DIR.zip` beside the directory: the same files under a top folder named like the directory.
pub(crate) fn zip_path(dir: &Path) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".zip");
    dir.with_file_name(name)
}

/// Writes `files` as a deflated zip with fixed timestamps (same files → same bytes), to a
/// hidden sibling file first, synced and renamed into place: a crash never leaves a
/// half-written zip at `path`.
pub(crate) fn write_zip(path: &Path, top: &str, files: &Files) -> Result<(), EvidenceError> {
    let zerr = |e: zip::result::ZipError| EvidenceError::Zip {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    remove_stale_partials(path)?;
    let partial = partial_path(path);
    let file = std::fs::File::create(&partial).map_err(io_err(&partial))?;
    let mut zw = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    for (rel, bytes) in files {
        zw.start_file(format!("{top}/{rel}"), options)
            .map_err(zerr)?;
        zw.write_all(bytes).map_err(io_err(path))?;
    }
    let file = zw.finish().map_err(zerr)?;
    file.sync_all().map_err(io_err(&partial))?;
    std::fs::rename(&partial, path).map_err(io_err(path))?;
    sync_parent(path)
}

/// Reads a package directory (every regular file, recursively) or zip into a map.
pub(crate) fn read_package(path: &Path) -> Result<Files, EvidenceError> {
    if path.is_dir() {
        let mut files = Files::new();
        read_dir_into(path, path, &mut files)?;
        return Ok(files);
    }
    let zerr = |reason: String| EvidenceError::Zip {
        path: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| zerr(e.to_string()))?;
    let mut raw = Files::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).map_err(|e| zerr(e.to_string()))?;
        if f.is_dir() {
            continue;
        }
        let name = f
            .name()
            .map(|n| n.to_string())
            .map_err(|e| zerr(e.to_string()))?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)
            .map_err(|e| zerr(format!("{name}: {e}")))?;
        raw.insert(name, bytes);
    }
    // Strip the one top-level folder every path shares (the package directory's name).
    let top = raw
        .keys()
        .find(|k| k.ends_with(MANIFEST) && k.matches('/').count() <= 1)
        .and_then(|k| k.strip_suffix(MANIFEST))
        .unwrap_or("")
        .to_string();
    Ok(raw
        .into_iter()
        .map(|(k, v)| (k.strip_prefix(&top).unwrap_or(&k).to_string(), v))
        .collect())
}

fn read_dir_into(root: &Path, dir: &Path, files: &mut Files) -> Result<(), EvidenceError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io_err(dir))?
        .collect::<Result<_, _>>()
        .map_err(io_err(dir))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        if path.is_dir() {
            read_dir_into(root, &path, files)?;
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let bytes = std::fs::read(&path).map_err(io_err(&path))?;
            files.insert(rel, bytes);
        }
    }
    Ok(())
}

/// Files the manifest does not list: itself and its signature.
pub(crate) fn is_manifest_file(rel: &str) -> bool {
    rel == MANIFEST || rel == MANIFEST_SIG
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leftovers_of_dead_exports_are_removed_and_live_ones_kept() {
        let tmp = tempfile::tempdir().unwrap();
        // Above any Linux pid_max: never a live process.
        let dead = tmp.path().join(".pkg.partial-999999999");
        std::fs::create_dir_all(dead.join("logs")).unwrap();
        std::fs::write(dead.join("logs/a.csv"), "half").unwrap();
        let live = tmp.path().join(format!(
            ".pkg.partial-{}",
            std::os::unix::process::parent_id()
        ));
        std::fs::create_dir(&live).unwrap();
        let dead_zip = tmp.path().join(".pkg.zip.partial-999999999");
        std::fs::write(&dead_zip, "half a zip").unwrap();
        let other = tmp.path().join(".other.partial-999999999");
        std::fs::create_dir(&other).unwrap();

        let mut files = Files::new();
        files.insert("MANIFEST.json".into(), b"{}".to_vec());
        write_dir(&tmp.path().join("pkg"), &files).unwrap();
        assert!(!dead.exists());
        assert!(live.exists());
        assert!(
            dead_zip.exists(),
            "only the zip's own export removes its leftovers"
        );
        assert!(other.exists());
        assert_eq!(
            std::fs::read(tmp.path().join("pkg/MANIFEST.json")).unwrap(),
            b"{}"
        );

        write_zip(&tmp.path().join("pkg.zip"), "pkg", &files).unwrap();
        assert!(!dead_zip.exists());
        assert!(live.exists());
        let mut left: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let live_name = live.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            left,
            vec![
                ".other.partial-999999999".to_owned(),
                live_name,
                "pkg".to_owned(),
                "pkg.zip".to_owned()
            ]
        );
    }
}
