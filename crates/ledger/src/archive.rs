//! Sealed segments: a full (no longer written) segment compressed with zstd, its offset index,
//! and a manifest signed by the log key, so cold storage holds something that can be checked
//! without the hot ledger: the manifest names the entry range, the entry count, the SHA-256
//! of the compressed and uncompressed bytes and the first/last received-at, and
//! [`open_archive`] rehydrates the entries after checking all of it.
//! [`crate::Ledger::check_rehydrated`] then ties the entries to the tree's leaves.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::entry::Entry;
use crate::hash::Hash;
use crate::note::{NoteError, NoteSigner, NoteVerifier};
use crate::store::{FRAME_LEN, HEADER_LEN, INDEX_MAGIC, SEGMENT_MAGIC, split_frame};

/// First line of every manifest; the version changes if the layout does.
const MANIFEST_HEADER: &str = "evident segment archive v1";

/// zstd level for archives: the library default, ~4x on JSON logs at a few hundred MB/s.
const ZSTD_LEVEL: i32 = 3;

/// What is wrong with a sealed segment read back from cold storage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// The manifest is not signed by the log key (or the signature does not verify).
    #[error("archive manifest for entries {first}..: {source}")]
    Signature {
        /// First entry the manifest claims, if it could be read.
        first: u64,
        /// Why the signature check failed.
        source: NoteError,
    },
    /// The manifest text does not follow the format.
    #[error("malformed archive manifest: {0}")]
    Manifest(String),
    /// Bytes whose SHA-256 is not the one the manifest signed.
    #[error(
        "archive of entries {first}..={last}: {what} SHA-256 is {got}, the manifest says {expected}"
    )]
    Checksum {
        /// First entry of the archive.
        first: u64,
        /// Last entry of the archive.
        last: u64,
        /// Which bytes: `compressed segment`, `segment`, `offset index`.
        what: &'static str,
        /// Digest in the manifest (hex).
        expected: String,
        /// Digest of the bytes (hex).
        got: String,
    },
    /// zstd could not decompress the archive.
    #[error("archive of entries {first}..: zstd: {reason}")]
    Decompress {
        /// First entry of the archive.
        first: u64,
        /// The decoder's message.
        reason: String,
    },
    /// The segment inside is not what the manifest describes (header, count, framing).
    #[error("archive of entries {first}..: entry {index}: {reason}")]
    Corrupted {
        /// First entry of the archive.
        first: u64,
        /// Entry with the problem.
        index: u64,
        /// What is wrong.
        reason: String,
    },
}

/// The signed description of one sealed segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The log's origin (the key name).
    pub origin: String,
    /// First entry index.
    pub first: u64,
    /// Last entry index (inclusive).
    pub last: u64,
    /// Number of entries (`last - first + 1`).
    pub count: u64,
    /// Size of the zstd archive.
    pub archive_bytes: u64,
    /// SHA-256 of the zstd archive (what object storage checksums).
    pub archive_sha256: Hash,
    /// Size of the segment file the archive decompresses to.
    pub segment_bytes: u64,
    /// SHA-256 of the decompressed segment file.
    pub segment_sha256: Hash,
    /// SHA-256 of the offset index stored beside the archive.
    pub index_sha256: Hash,
    /// Received-at of the first entry, ns since the epoch.
    pub first_received_ns: u64,
    /// Received-at of the last entry, ns since the epoch.
    pub last_received_ns: u64,
}

impl Manifest {
    /// The text that is signed (ends in one newline, as signed notes require).
    pub fn body(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{MANIFEST_HEADER}");
        let _ = writeln!(s, "origin {}", self.origin);
        let _ = writeln!(s, "first {}", self.first);
        let _ = writeln!(s, "last {}", self.last);
        let _ = writeln!(s, "count {}", self.count);
        let _ = writeln!(s, "archive-bytes {}", self.archive_bytes);
        let _ = writeln!(s, "archive-sha256 {}", hex(&self.archive_sha256.0));
        let _ = writeln!(s, "segment-bytes {}", self.segment_bytes);
        let _ = writeln!(s, "segment-sha256 {}", hex(&self.segment_sha256.0));
        let _ = writeln!(s, "index-sha256 {}", hex(&self.index_sha256.0));
        let _ = writeln!(s, "first-received-ns {}", self.first_received_ns);
        let _ = writeln!(s, "last-received-ns {}", self.last_received_ns);
        s
    }

    /// Parses [`Manifest::body`] text.
    pub fn parse(text: &str) -> Result<Manifest, ArchiveError> {
        let bad = |m: String| ArchiveError::Manifest(m);
        let mut lines = text.lines();
        if lines.next() != Some(MANIFEST_HEADER) {
            return Err(bad(format!("first line is not {MANIFEST_HEADER:?}")));
        }
        let mut field = |name: &str| -> Result<String, ArchiveError> {
            let line = lines
                .next()
                .ok_or_else(|| bad(format!("missing line {name:?}")))?;
            line.strip_prefix(name)
                .and_then(|r| r.strip_prefix(' '))
                .map(str::to_owned)
                .ok_or_else(|| bad(format!("expected {name:?}, found {line:?}")))
        };
        let num = |name: &str, v: String| {
            v.parse::<u64>()
                .map_err(|_| bad(format!("{name} {v:?} is not a number")))
        };
        let digest = |name: &str, v: String| {
            unhex(&v)
                .and_then(|b| Hash::from_slice(&b))
                .ok_or_else(|| bad(format!("{name} {v:?} is not a hex SHA-256")))
        };
        let origin = field("origin")?;
        let m = Manifest {
            origin,
            first: num("first", field("first")?)?,
            last: num("last", field("last")?)?,
            count: num("count", field("count")?)?,
            archive_bytes: num("archive-bytes", field("archive-bytes")?)?,
            archive_sha256: digest("archive-sha256", field("archive-sha256")?)?,
            segment_bytes: num("segment-bytes", field("segment-bytes")?)?,
            segment_sha256: digest("segment-sha256", field("segment-sha256")?)?,
            index_sha256: digest("index-sha256", field("index-sha256")?)?,
            first_received_ns: num("first-received-ns", field("first-received-ns")?)?,
            last_received_ns: num("last-received-ns", field("last-received-ns")?)?,
        };
        if m.count == 0 || m.last.checked_sub(m.first) != Some(m.count - 1) {
            return Err(bad(format!(
                "count {} does not match entries {}..={}",
                m.count, m.first, m.last
            )));
        }
        Ok(m)
    }
}

/// One segment sealed for cold storage: three objects that travel together.
#[derive(Clone, Debug)]
pub struct SealedSegment {
    /// What the other two are, signed by the log key.
    pub manifest: Manifest,
    /// The signed manifest note (stored as `<first>.manifest`).
    pub manifest_note: String,
    /// The segment file, zstd-compressed (stored as `<first>.seg.zst`).
    pub archive: Vec<u8>,
    /// The segment's offset index, as on disk (stored as `<first>.idx`).
    pub index: Vec<u8>,
}

impl SealedSegment {
    /// Object names for this segment under a prefix: deterministic, so a retried upload
    /// overwrites (or finds) the same objects and never archives a segment twice.
    pub fn object_names(first: u64) -> [String; 3] {
        [
            format!("{first:020}.seg.zst"),
            format!("{first:020}.idx"),
            format!("{first:020}.manifest"),
        ]
    }
}

/// Entries read back from a sealed segment whose manifest signature and checksums passed.
#[derive(Clone, Debug)]
pub struct Rehydrated {
    /// The manifest the archive matched.
    pub manifest: Manifest,
    /// Entry bytes (leaf preimages) from `manifest.first`, in order.
    pub entries: Vec<Vec<u8>>,
}

impl Rehydrated {
    /// `(index, entry bytes)` in order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &[u8])> {
        let first = self.manifest.first;
        self.entries
            .iter()
            .enumerate()
            .map(move |(i, e)| (first + i as u64, e.as_slice()))
    }
}

/// Seals the bytes of one segment file and its index (both as on disk) holding `count`
/// entries from `first`.
pub(crate) fn seal(
    signer: &NoteSigner,
    first: u64,
    count: u64,
    segment: &[u8],
    index: &[u8],
) -> Result<SealedSegment, ArchiveError> {
    let offsets = parse_index(index, first, count)?;
    let received = |i: usize| -> Result<u64, ArchiveError> {
        let body = record(segment, first, first + i as u64, offsets[i])?;
        Entry::decode(body)
            .map(|e| e.received_at_ns)
            .map_err(|e| ArchiveError::Corrupted {
                first,
                index: first + i as u64,
                reason: e.to_string(),
            })
    };
    let first_received_ns = received(0)?;
    let last_received_ns = received(offsets.len() - 1)?;
    let archive =
        zstd::bulk::compress(segment, ZSTD_LEVEL).map_err(|e| ArchiveError::Decompress {
            first,
            reason: e.to_string(),
        })?;
    let manifest = Manifest {
        origin: signer.name().to_owned(),
        first,
        last: first + count - 1,
        count,
        archive_bytes: archive.len() as u64,
        archive_sha256: sha256(&archive),
        segment_bytes: segment.len() as u64,
        segment_sha256: sha256(segment),
        index_sha256: sha256(index),
        first_received_ns,
        last_received_ns,
    };
    let manifest_note = signer
        .sign(&manifest.body())
        .map_err(|source| ArchiveError::Signature { first, source })?;
    Ok(SealedSegment {
        manifest,
        manifest_note,
        archive,
        index: index.to_vec(),
    })
}

/// Rehydrates a sealed segment read back from cold storage: checks the manifest signature,
/// every checksum, the segment header and each record's CRC, and returns the entries.
pub fn open_archive(
    manifest_note: &str,
    archive: &[u8],
    index: &[u8],
    verifier: &NoteVerifier,
) -> Result<Rehydrated, ArchiveError> {
    let text = verifier
        .verify(manifest_note)
        .map_err(|source| ArchiveError::Signature {
            first: manifest_first(manifest_note),
            source,
        })?;
    let manifest = Manifest::parse(text)?;
    let (first, last) = (manifest.first, manifest.last);
    let check = |what: &'static str, bytes: &[u8], expected: &Hash| {
        let got = sha256(bytes);
        if &got == expected {
            Ok(())
        } else {
            Err(ArchiveError::Checksum {
                first,
                last,
                what,
                expected: hex(&expected.0),
                got: hex(&got.0),
            })
        }
    };
    check("compressed segment", archive, &manifest.archive_sha256)?;
    check("offset index", index, &manifest.index_sha256)?;
    let segment =
        zstd::bulk::decompress(archive, manifest.segment_bytes as usize).map_err(|e| {
            ArchiveError::Decompress {
                first,
                reason: e.to_string(),
            }
        })?;
    check("segment", &segment, &manifest.segment_sha256)?;
    if segment.len() < HEADER_LEN as usize
        || &segment[..8] != SEGMENT_MAGIC
        || segment[8..16] != first.to_le_bytes()
    {
        return Err(ArchiveError::Corrupted {
            first,
            index: first,
            reason: "bad segment header".into(),
        });
    }
    let offsets = parse_index(index, first, manifest.count)?;
    let entries = offsets
        .iter()
        .enumerate()
        .map(|(i, &off)| record(&segment, first, first + i as u64, off).map(<[u8]>::to_vec))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Rehydrated { manifest, entries })
}

fn manifest_first(note: &str) -> u64 {
    note.lines()
        .find_map(|l| l.strip_prefix("first "))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The offsets in an index file that must hold exactly `count` entries from `first`.
fn parse_index(index: &[u8], first: u64, count: u64) -> Result<Vec<u64>, ArchiveError> {
    let bad = |reason: String| ArchiveError::Corrupted {
        first,
        index: first,
        reason,
    };
    if index.len() < HEADER_LEN as usize
        || &index[..8] != INDEX_MAGIC
        || index[8..16] != first.to_le_bytes()
    {
        return Err(bad("bad offset-index header".into()));
    }
    let body = &index[HEADER_LEN as usize..];
    if body.len() as u64 != 8 * count || count == 0 {
        return Err(bad(format!(
            "offset index holds {} offsets, expected {count}",
            body.len() / 8
        )));
    }
    Ok(body
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            u64::from_le_bytes(b)
        })
        .collect())
}

/// The entry bytes of the record at `off`, CRC-checked.
fn record(segment: &[u8], first: u64, index: u64, off: u64) -> Result<&[u8], ArchiveError> {
    let bad = |reason: &str| ArchiveError::Corrupted {
        first,
        index,
        reason: format!("{reason} at offset {off}"),
    };
    let off = usize::try_from(off).map_err(|_| bad("offset out of range"))?;
    let frame: [u8; 8] = segment
        .get(off..off + FRAME_LEN as usize)
        .and_then(|f| f.try_into().ok())
        .ok_or_else(|| bad("record frame cut off"))?;
    let (len, crc) = split_frame(&frame);
    let start = off + FRAME_LEN as usize;
    let body = segment
        .get(start..start + len as usize)
        .ok_or_else(|| bad("record body cut off"))?;
    if crc32fast::hash(body) != crc {
        return Err(bad("record checksum mismatch"));
    }
    Ok(body)
}

pub(crate) fn sha256(bytes: &[u8]) -> Hash {
    Hash(Sha256::digest(bytes).into())
}

/// Lowercase hex, for manifests and messages.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
