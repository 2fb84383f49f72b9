//! Retention on the ledger: sealing full segments for cold storage and pruning segments whose
//! retention has ended. A pruned segment's files are deleted, but its leaf hashes stay in the
//! hash tiles and every checkpoint stays, so proofs and `verify` keep working; the range and
//! the audit entry that authorised the deletion are recorded in `pruned/<first>.note`, a note
//! signed by the log key (so a deleted segment cannot be passed off as pruned without the
//! key), written before any file is deleted.
//!
//! Protocol of [`Ledger::prune_segment`]: (1) the caller appends an audit entry made by
//! [`prune_authorization`] and signs a checkpoint covering it; (2) the pruned-range note is
//! written atomically; (3) the segment and index files are deleted and the directory synced.
//! A crash after (2) is finished by the next [`Ledger::open`], which deletes the files of
//! every segment a note names.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::PoisonError;

use crate::archive::{self, Rehydrated, SealedSegment};
use crate::entry::{Entry, EntryKind};
use crate::fsutil::{atomic_write, sync_dir};
use crate::hash::{Hash, leaf_hash};
use crate::note::{NoteSigner, NoteVerifier};
use crate::store::{Ledger, LedgerError, lock, segment_paths};
use crate::tiles::{TILE_WIDTH, TileId, full_tiles};

/// First line of every pruned-range note.
const PRUNED_HEADER: &str = "evident pruned range v1";

/// Metadata key of a prune-authorising audit entry: the first pruned index.
pub const PRUNE_FIRST_KEY: &str = "prune_first";
/// Metadata key of a prune-authorising audit entry: the last pruned index (inclusive).
pub const PRUNE_LAST_KEY: &str = "prune_last";

/// Entries removed by retention: `first..=last`, authorised by the audit entry at
/// `audit_entry`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrunedRange {
    /// First pruned entry.
    pub first: u64,
    /// Last pruned entry (inclusive).
    pub last: u64,
    /// Index of the audit entry that recorded the deletion.
    pub audit_entry: u64,
}

impl PrunedRange {
    /// True when `index` is in the range.
    pub fn contains(&self, index: u64) -> bool {
        (self.first..=self.last).contains(&index)
    }

    fn body(&self, origin: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{PRUNED_HEADER}");
        let _ = writeln!(s, "origin {origin}");
        let _ = writeln!(s, "first {}", self.first);
        let _ = writeln!(s, "last {}", self.last);
        let _ = writeln!(s, "audit-entry {}", self.audit_entry);
        s
    }

    fn parse(text: &str) -> Option<PrunedRange> {
        let mut lines = text.lines();
        (lines.next()? == PRUNED_HEADER).then_some(())?;
        lines.next()?.strip_prefix("origin ")?;
        let mut num = |name: &str| lines.next()?.strip_prefix(name)?.parse::<u64>().ok();
        let r = PrunedRange {
            first: num("first ")?,
            last: num("last ")?,
            audit_entry: num("audit-entry ")?,
        };
        (r.first <= r.last).then_some(r)
    }
}

impl std::fmt::Display for PrunedRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "entries {}..{} pruned by retention (audit entry {})",
            self.first, self.last, self.audit_entry
        )
    }
}

/// The audit entry that authorises pruning `first..=last`: kind audit, the given source
/// (Evident's own), metadata `audit=retention.delete`, [`PRUNE_FIRST_KEY`] and
/// [`PRUNE_LAST_KEY`], and the caller's JSON `body` (policy, reason, who).
pub fn prune_authorization(
    source: &str,
    first: u64,
    last: u64,
    received_at_ns: u64,
    body: Vec<u8>,
) -> Entry {
    Entry {
        kind: EntryKind::Audit,
        received_at_ns,
        source: source.to_owned(),
        metadata: vec![
            ("audit".to_owned(), "retention.delete".to_owned()),
            (PRUNE_FIRST_KEY.to_owned(), first.to_string()),
            (PRUNE_LAST_KEY.to_owned(), last.to_string()),
        ],
        body,
    }
}

/// Whether `entry` authorises pruning exactly `first..=last`.
pub fn authorizes(entry: &Entry, first: u64, last: u64) -> bool {
    entry.kind == EntryKind::Audit
        && entry.meta(PRUNE_FIRST_KEY) == Some(first.to_string().as_str())
        && entry.meta(PRUNE_LAST_KEY) == Some(last.to_string().as_str())
}

/// One segment as retention sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentInfo {
    /// First entry index.
    pub first: u64,
    /// Entries in it (for the active segment: so far).
    pub count: u64,
    /// Bytes of segment file on disk (0 once pruned).
    pub bytes: u64,
    /// Still being appended to: cannot be sealed or pruned.
    pub active: bool,
    /// Its files were deleted by retention.
    pub pruned: bool,
}

impl Ledger {
    /// Every segment, oldest first, with its entry range and state.
    pub fn segments(&self) -> Vec<SegmentInfo> {
        let firsts = self
            .segments
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let size = self.size();
        let seg_dir = self.dir().join("segments");
        firsts
            .iter()
            .enumerate()
            .map(|(i, &first)| {
                let next = firsts.get(i + 1).copied();
                let pruned = self.pruned_range(first).is_some();
                SegmentInfo {
                    first,
                    count: next.unwrap_or(size.max(first)) - first,
                    bytes: fs::metadata(segment_paths(&seg_dir, first).0).map_or(0, |m| m.len()),
                    active: next.is_none(),
                    pruned,
                }
            })
            .collect()
    }

    /// The pruned ranges, oldest first.
    pub fn pruned(&self) -> Vec<PrunedRange> {
        self.pruned
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The pruned range holding `index`, if any.
    pub fn pruned_range(&self, index: u64) -> Option<PrunedRange> {
        self.pruned
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .find(|r| r.contains(index))
            .copied()
    }

    /// Seals the full segment starting at `first` for cold storage (the active segment and
    /// pruned ones cannot be sealed).
    pub fn seal_segment(&self, first: u64) -> Result<SealedSegment, LedgerError> {
        let info = self.closed_segment(first)?;
        let (seg_path, idx_path) = segment_paths(&self.dir().join("segments"), first);
        let segment = fs::read(&seg_path).map_err(|source| LedgerError::Io {
            op: "read",
            path: seg_path.clone(),
            source,
        })?;
        let index = fs::read(&idx_path).map_err(|source| LedgerError::Io {
            op: "read",
            path: idx_path.clone(),
            source,
        })?;
        Ok(archive::seal(
            &self.signer,
            first,
            info.count,
            &segment,
            &index,
        )?)
    }

    /// Checks that rehydrated entries hash to the leaves the tree holds for them (from the
    /// hash tiles, or the tree's right edge for the newest ones).
    pub fn check_rehydrated(&self, r: &Rehydrated) -> Result<(), LedgerError> {
        let m = &r.manifest;
        let leaves = self.stored_leaves(m.first, m.last + 1)?;
        for ((index, bytes), want) in r.iter().zip(leaves) {
            if leaf_hash(bytes) != want {
                return Err(LedgerError::Corrupted {
                    path: PathBuf::from(SealedSegment::object_names(m.first)[0].clone()),
                    offset: 0,
                    reason: format!(
                        "archived entry {index} hashes to {}, the tree's leaf is {want}",
                        leaf_hash(bytes)
                    ),
                });
            }
        }
        Ok(())
    }

    /// Leaf hashes of `start..end` as the tree stores them: level-0 tiles, then the edge.
    pub fn stored_leaves(&self, start: u64, end: u64) -> Result<Vec<Hash>, LedgerError> {
        let edge = self.edge.read().unwrap_or_else(PoisonError::into_inner);
        if end > edge.size() || start > end {
            return Err(LedgerError::BadProofRequest(format!(
                "no leaves {start}..{end} in a tree of {} entries",
                edge.size()
            )));
        }
        let full = full_tiles(edge.size(), 0) * TILE_WIDTH;
        let mut out = Vec::with_capacity((end - start) as usize);
        let mut i = start;
        while i < end.min(full) {
            let t = i / TILE_WIDTH;
            let tile = self.read_full_tile(TileId { level: 0, index: t })?;
            let stop = end.min((t + 1) * TILE_WIDTH);
            out.extend_from_slice(
                &tile[(i % TILE_WIDTH) as usize..(stop - t * TILE_WIDTH) as usize],
            );
            i = stop;
        }
        if i < end {
            let partial = edge.partial(0);
            out.extend_from_slice(&partial[(i - full) as usize..(end - full) as usize]);
        }
        Ok(out)
    }

    /// Whether the segment at `first` could be pruned once a checkpoint covers the current
    /// tree (closed, not pruned, its leaf hashes all in full tiles); returns its last index.
    /// Retention asks this before writing an audit entry that would authorise a prune the
    /// ledger must refuse.
    pub fn prunable(&self, first: u64) -> Result<u64, LedgerError> {
        let info = self.closed_segment(first)?;
        let last = first + info.count - 1;
        let tiled = full_tiles(self.size(), 0) * TILE_WIDTH;
        if last >= tiled {
            return Err(LedgerError::PruneRefused {
                first,
                last,
                reason: format!(
                    "its leaf hashes are not all in full hash tiles yet; prune after the tree passes entry {}",
                    (last / TILE_WIDTH + 1) * TILE_WIDTH
                ),
            });
        }
        Ok(last)
    }

    /// Deletes the segment starting at `first` under the authority of the audit entry at
    /// `audit_entry` (made by [`prune_authorization`] for exactly this range and covered by
    /// a signed checkpoint). Refused for the active segment, a segment a checkpoint or the
    /// full hash tiles do not yet cover, or an audit entry that does not name this range.
    pub fn prune_segment(&self, first: u64, audit_entry: u64) -> Result<PrunedRange, LedgerError> {
        if self.is_read_only() {
            return Err(LedgerError::ReadOnly);
        }
        let info = self.closed_segment(first)?;
        let last = first + info.count - 1;
        let refuse = |why: String| {
            Err(LedgerError::PruneRefused {
                first,
                last,
                reason: why,
            })
        };
        let sealed = self.latest_checkpoint().map_or(0, |c| c.checkpoint.size);
        let tiled = full_tiles(sealed, 0) * TILE_WIDTH;
        if last >= tiled {
            return refuse(format!(
                "its leaf hashes are not all in full hash tiles under the latest checkpoint (size {sealed}); prune after the tree passes entry {}",
                (last / TILE_WIDTH + 1) * TILE_WIDTH
            ));
        }
        if audit_entry >= sealed || (first..=last).contains(&audit_entry) {
            return refuse(format!(
                "audit entry {audit_entry} is not covered by the latest checkpoint (size {sealed}) or lies in the range"
            ));
        }
        let entry = self.entry(audit_entry)?;
        if !authorizes(&entry, first, last) {
            return refuse(format!(
                "entry {audit_entry} is not an audit entry authorising the deletion of {first}..{last}"
            ));
        }
        let range = PrunedRange {
            first,
            last,
            audit_entry,
        };
        let _w = lock(&self.writer);
        let pruned_dir = self.dir().join("pruned");
        fs::create_dir_all(&pruned_dir).map_err(|source| LedgerError::Io {
            op: "create",
            path: pruned_dir.clone(),
            source,
        })?;
        let note = self.signer.sign(&range.body(self.signer.name()))?;
        let note_path = pruned_dir.join(format!("{first:020}.note"));
        atomic_write(&note_path, note.as_bytes()).map_err(|source| LedgerError::Io {
            op: "write",
            path: note_path.clone(),
            source,
        })?;
        {
            let mut p = self.pruned.write().unwrap_or_else(PoisonError::into_inner);
            p.push(range);
            p.sort_by_key(|r| r.first);
        }
        delete_segment_files(&self.dir().join("segments"), first)?;
        tracing::info!(first, last, audit_entry, "segment pruned by retention");
        Ok(range)
    }

    /// The segment at `first` if it exists, is closed and is not pruned.
    fn closed_segment(&self, first: u64) -> Result<SegmentInfo, LedgerError> {
        let info = self.segments().into_iter().find(|s| s.first == first);
        match info {
            None => Err(LedgerError::PruneRefused {
                first,
                last: first,
                reason: "no segment starts at this entry".into(),
            }),
            Some(s) if s.active => Err(LedgerError::PruneRefused {
                first,
                last: first + s.count.saturating_sub(1),
                reason: "it is the active segment, still being appended to".into(),
            }),
            Some(s) if s.pruned => Err(LedgerError::Pruned {
                index: first,
                audit_entry: self.pruned_range(first).map_or(0, |r| r.audit_entry),
            }),
            Some(s) => Ok(s),
        }
    }
}

/// Deletes a pruned segment's files (if still there) and syncs the directory.
pub(crate) fn delete_segment_files(seg_dir: &Path, first: u64) -> Result<(), LedgerError> {
    let (seg, idx) = segment_paths(seg_dir, first);
    for path in [&seg, &idx] {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(LedgerError::Io {
                    op: "delete",
                    path: path.clone(),
                    source,
                });
            }
        }
    }
    sync_dir(seg_dir).map_err(|source| LedgerError::Io {
        op: "fsync",
        path: seg_dir.to_owned(),
        source,
    })
}

/// Every pruned-range note in `dir/pruned`, as (file, note text), by first index.
pub(crate) fn read_notes(dir: &Path) -> Result<Vec<(PathBuf, String)>, LedgerError> {
    let pruned_dir = dir.join("pruned");
    let rd = match fs::read_dir(&pruned_dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(LedgerError::Io {
                op: "list",
                path: pruned_dir,
                source,
            });
        }
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(|source| LedgerError::Io {
            op: "list",
            path: pruned_dir.clone(),
            source,
        })?;
        let path = e.path();
        if path.extension().is_some_and(|x| x == "note") {
            let text = fs::read_to_string(&path).map_err(|source| LedgerError::Io {
                op: "read",
                path: path.clone(),
                source,
            })?;
            out.push((path, text));
        }
    }
    out.sort();
    Ok(out)
}

/// Parses a pruned-range note after checking its signature.
pub(crate) fn open_note(note: &str, verifier: &NoteVerifier) -> Result<PrunedRange, String> {
    let text = verifier.verify(note).map_err(|e| e.to_string())?;
    PrunedRange::parse(text).ok_or_else(|| "not a pruned-range note".to_owned())
}

/// The pruned ranges of the ledger in `dir`, signatures checked: the open path.
pub(crate) fn load(dir: &Path, signer: &NoteSigner) -> Result<Vec<PrunedRange>, LedgerError> {
    let verifier = signer.verifier();
    let mut out = Vec::new();
    for (path, note) in read_notes(dir)? {
        let r = open_note(&note, &verifier).map_err(|reason| LedgerError::Corrupted {
            path: path.clone(),
            offset: 0,
            reason,
        })?;
        out.push(r);
    }
    out.sort_by_key(|r| r.first);
    Ok(out)
}
