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

/// Writes every file under `dir` (created; must be absent or empty).
pub(crate) fn write_dir(dir: &Path, files: &Files) -> Result<(), EvidenceError> {
    check_empty(dir)?;
    for (rel, bytes) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        std::fs::write(&path, bytes).map_err(io_err(&path))?;
    }
    Ok(())
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

/// Writes `files` as a deflated zip with fixed timestamps (same files → same bytes).
pub(crate) fn write_zip(path: &Path, top: &str, files: &Files) -> Result<(), EvidenceError> {
    let zerr = |e: zip::result::ZipError| EvidenceError::Zip {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let file = std::fs::File::create(path).map_err(io_err(path))?;
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
    zw.finish().map_err(zerr)?;
    Ok(())
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
