//! Full verification: re-read every stored entry, rebuild the tree, compare every tile and
//! every checkpoint, and name the first damage precisely (index, file, offset, kind).
//!
//! Works on a damaged ledger: it reads the files directly and never opens a [`crate::Ledger`].

use std::collections::BTreeMap;
use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::entry::Entry;
use crate::hash::{Hash, leaf_hash};
use crate::note::{Checkpoint, NoteVerifier};
use crate::prune::{self, PrunedRange};
use crate::store::{
    FRAME_LEN, HEADER_LEN, HISTORY_RECORD_LEN, HistoryRecord, INDEX_MAGIC, LedgerError,
    SEGMENT_MAGIC, list_segments, segment_paths, split_frame,
};
use crate::tiles::{FullTile, TILE_WIDTH, TileId, TreeEdge, full_tiles, tile_hashes};

/// What kind of damage was found. Ordered roughly by how directly it implicates entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DamageKind {
    /// An entry's bytes differ from what was sealed.
    Changed,
    /// An entry that was sealed is gone (later entries moved up).
    Missing,
    /// Two entries swapped places.
    Reordered,
    /// Stored entries end before what tiles or checkpoints cover, or a record is cut off.
    Truncated,
    /// A stored hash tile differs from the tile the entries produce.
    TileMismatch,
    /// A checkpoint does not verify with the log key.
    BadSignature,
    /// A validly signed checkpoint whose root the stored entries do not reproduce.
    CheckpointMismatch,
    /// A file header or index that does not match the data.
    Structure,
}

impl DamageKind {
    /// Lowercase name for messages and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DamageKind::Changed => "changed",
            DamageKind::Missing => "missing",
            DamageKind::Reordered => "reordered",
            DamageKind::Truncated => "truncated",
            DamageKind::TileMismatch => "tile-mismatch",
            DamageKind::BadSignature => "bad-signature",
            DamageKind::CheckpointMismatch => "checkpoint-mismatch",
            DamageKind::Structure => "structure",
        }
    }
}

/// One finding: what, where, and a sentence of why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// Kind of damage.
    pub kind: DamageKind,
    /// First affected entry index, when the damage is about entries.
    pub index: Option<u64>,
    /// File holding the damage.
    pub file: PathBuf,
    /// Byte offset in that file.
    pub offset: Option<u64>,
    /// Human-readable detail.
    pub detail: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind.as_str())?;
        if let Some(i) = self.index {
            write!(f, " at entry {i}")?;
        }
        write!(f, " in {}", self.file.display())?;
        if let Some(o) = self.offset {
            write!(f, " offset {o}")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// Outcome of [`verify`]: what was checked and what was wrong.
#[derive(Clone, Debug, Default)]
pub struct VerifyReport {
    /// Entries read.
    pub entries: u64,
    /// Bytes of segment data read.
    pub bytes: u64,
    /// Full tiles compared.
    pub tiles: u64,
    /// Checkpoints whose signature and root were checked.
    pub checkpoints: u64,
    /// Root of the tree the stored entries produce.
    pub root: Hash,
    /// Damage found, first (by entry order) first; empty when clean.
    pub damage: Vec<Damage>,
    /// Crash residue after the last checkpoint (a torn last record, tiles not yet
    /// written): not damage, since nothing signed covers it; repaired on the next start.
    pub unsealed: Vec<String>,
    /// Ranges removed by retention, each with the audit entry that recorded the deletion:
    /// not damage (their leaf hashes were checked from the tiles). Display gives
    /// "entries A..B pruned by retention (audit entry N)".
    pub pruned: Vec<PrunedRange>,
}

impl VerifyReport {
    /// True when no damage was found.
    pub fn is_clean(&self) -> bool {
        self.damage.is_empty()
    }
}

/// Keep reports readable on badly damaged ledgers.
const MAX_DAMAGE: usize = 100;

/// Segment bytes read before hashing them in parallel.
const CHUNK_BYTES: usize = 8 << 20;

/// Whole records read from a segment, hashed together.
#[derive(Default)]
struct Chunk {
    data: Vec<u8>,
    /// (start in `data`, length, stored CRC) per record.
    records: Vec<(usize, usize, u32)>,
}

impl Chunk {
    fn clear(&mut self) {
        self.data.clear();
        self.records.clear();
    }

    /// Bytes of segment the chunk covers, framing included.
    fn span(&self) -> u64 {
        self.data.len() as u64 + FRAME_LEN * self.records.len() as u64
    }

    /// Leaf hash and CRC check of every record, in order, on two threads.
    fn hash(&self) -> Vec<(Hash, bool)> {
        let one = |&(start, len, crc): &(usize, usize, u32)| {
            let body = &self.data[start..start + len];
            (leaf_hash(body), crc32fast::hash(body) == crc)
        };
        let mid = self.records.len() / 2;
        let (left, right) = self.records.split_at(mid);
        std::thread::scope(|s| {
            let back = s.spawn(|| right.iter().map(one).collect::<Vec<_>>());
            let mut out: Vec<(Hash, bool)> = left.iter().map(one).collect();
            // A panic in the helper thread would be a bug in hashing; fall back to
            // hashing its half here rather than propagating it.
            out.extend(
                back.join()
                    .unwrap_or_else(|_| right.iter().map(one).collect()),
            );
            out
        })
    }
}

/// Verifies the ledger in `dir` against `verifier`; `progress(done, total)` is called with
/// segment bytes read. Errors only when the ledger cannot be read at all.
pub fn verify(
    dir: &Path,
    verifier: &NoteVerifier,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VerifyReport, LedgerError> {
    let seg_dir = dir.join("segments");
    let firsts = list_segments(&seg_dir)?;
    let total: u64 = firsts
        .iter()
        .map(|&f| {
            fs::metadata(segment_paths(&seg_dir, f).0)
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum();
    let mut v = Verifier {
        dir: dir.to_owned(),
        report: VerifyReport::default(),
        edge: TreeEdge::new(),
        checkpoints: Vec::new(),
        next_checkpoint: 0,
        entries_damaged: false,
        verified_size: 0,
        unexplained_root: None,
        pending: Vec::new(),
        segment_files: Vec::new(),
        prune_audits: BTreeMap::new(),
    };
    v.load_checkpoints(verifier)?;
    v.check_checkpoints_at_current_size();
    let pruned = v.load_pruned(verifier)?;
    let mut all_firsts = firsts.clone();
    all_firsts.extend(pruned.iter().map(|(r, _)| r.first));
    all_firsts.sort_unstable();
    all_firsts.dedup();

    let mut expected_first = 0u64;
    for &first in &all_firsts {
        let (seg_path, idx_path) = segment_paths(&seg_dir, first);
        if let Some((r, note_path)) = pruned.iter().find(|(r, _)| r.first == first)
            && !firsts.contains(&first)
        {
            if first != expected_first {
                v.damage(Damage {
                    kind: DamageKind::Missing,
                    index: Some(expected_first),
                    file: note_path.clone(),
                    offset: None,
                    detail: format!(
                        "pruned range starts at entry {first}, but the previous segments end at {expected_first}"
                    ),
                });
            }
            v.pruned_from_tiles(r, note_path)?;
            expected_first = r.last + 1;
            continue;
        }
        if first != expected_first {
            v.damage(Damage {
                kind: if first > expected_first {
                    DamageKind::Missing
                } else {
                    DamageKind::Reordered
                },
                index: Some(expected_first),
                file: seg_path.clone(),
                offset: Some(0),
                detail: format!(
                    "segment starts at entry {first}, but the previous segments end at {expected_first}"
                ),
            });
        }
        let count = v.segment(&seg_path, &idx_path, first, total, progress)?;
        expected_first = first + count;
        if count == 0 && first == expected_first && all_firsts.last() != Some(&first) {
            break;
        }
    }
    v.report.pruned = pruned.into_iter().map(|(r, _)| r).collect();
    v.check_prune_audits();
    v.finish();
    Ok(v.report)
}

struct Verifier {
    dir: PathBuf,
    report: VerifyReport,
    edge: TreeEdge,
    /// Valid checkpoints (size, root), ascending.
    checkpoints: Vec<(u64, Hash)>,
    next_checkpoint: usize,
    entries_damaged: bool,
    /// Largest checkpoint size whose root the entries reproduced.
    verified_size: u64,
    /// A checkpoint root mismatch not yet explained by a tile comparison.
    unexplained_root: Option<Damage>,
    /// Leaves and locations (segment number, offset) of the level-0 tile being filled,
    /// for classifying damage.
    pending: Vec<(Hash, usize, u64)>,
    /// Segment files read so far, indexed by segment number.
    segment_files: Vec<PathBuf>,
    /// Audit entry index → (pruned range it must authorise, seen and checked yet).
    prune_audits: BTreeMap<u64, (PrunedRange, PathBuf, bool)>,
}

impl Verifier {
    fn damage(&mut self, d: Damage) {
        if self.report.damage.len() < MAX_DAMAGE {
            self.report.damage.push(d);
        }
    }

    fn load_checkpoints(&mut self, verifier: &NoteVerifier) -> Result<(), LedgerError> {
        // The latest checkpoint is read before the history: a running server appends to the
        // history first and replaces `checkpoint` second, so what we read here is always in
        // the history we read next (perhaps no longer last), while a checkpoint missing from
        // the history (records cut from it) is damage.
        let latest_path = self.dir.join("checkpoint");
        let latest = fs::read_to_string(&latest_path).ok();
        let path = self.dir.join("checkpoints.log");
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(source) => {
                return Err(LedgerError::Io {
                    op: "read",
                    path,
                    source,
                });
            }
        };
        let mut last_size = None;
        for (i, chunk) in bytes.chunks(HISTORY_RECORD_LEN as usize).enumerate() {
            let offset = i as u64 * HISTORY_RECORD_LEN;
            if chunk.len() < HISTORY_RECORD_LEN as usize {
                self.damage(Damage {
                    kind: DamageKind::Truncated,
                    index: None,
                    file: path.clone(),
                    offset: Some(offset),
                    detail: format!("checkpoint record cut off after {} bytes", chunk.len()),
                });
                break;
            }
            let rec = HistoryRecord::parse(chunk);
            let note = rec.note(verifier.name());
            match Checkpoint::open(&note, verifier) {
                Ok(cp) => {
                    if last_size.is_some_and(|s| cp.size <= s) {
                        self.damage(Damage {
                            kind: DamageKind::Reordered,
                            index: None,
                            file: path.clone(),
                            offset: Some(offset),
                            detail: format!(
                                "checkpoint of size {} follows one of size {}",
                                cp.size,
                                last_size.unwrap_or(0)
                            ),
                        });
                        continue;
                    }
                    last_size = Some(cp.size);
                    self.checkpoints.push((cp.size, cp.root));
                }
                Err(e) => self.damage(Damage {
                    kind: DamageKind::BadSignature,
                    index: None,
                    file: path.clone(),
                    offset: Some(offset),
                    detail: format!("checkpoint #{i} (size {}): {e}", rec.size),
                }),
            }
        }
        if let Some(note) = latest {
            match Checkpoint::open(&note, verifier) {
                Ok(cp) if self.checkpoints.contains(&(cp.size, cp.root)) => {}
                Ok(cp) => self.damage(Damage {
                    kind: DamageKind::CheckpointMismatch,
                    index: None,
                    file: latest_path,
                    offset: None,
                    detail: format!(
                        "latest checkpoint (size {}) is not in the checkpoint history",
                        cp.size
                    ),
                }),
                Err(e) => self.damage(Damage {
                    kind: DamageKind::BadSignature,
                    index: None,
                    file: latest_path,
                    offset: None,
                    detail: e.to_string(),
                }),
            }
        }
        self.report.checkpoints = self.checkpoints.len() as u64;
        Ok(())
    }

    /// Pruned-range notes with valid signatures (others are damage), ascending.
    fn load_pruned(
        &mut self,
        verifier: &NoteVerifier,
    ) -> Result<Vec<(PrunedRange, PathBuf)>, LedgerError> {
        let mut out = Vec::new();
        for (path, note) in prune::read_notes(&self.dir)? {
            match prune::open_note(&note, verifier) {
                Ok(r) => {
                    self.prune_audits
                        .insert(r.audit_entry, (r, path.clone(), false));
                    out.push((r, path));
                }
                Err(e) => self.damage(Damage {
                    kind: DamageKind::BadSignature,
                    index: None,
                    file: path,
                    offset: None,
                    detail: format!("pruned-range note: {e}"),
                }),
            }
        }
        out.sort_by_key(|(r, _)| r.first);
        Ok(out)
    }

    /// Feeds a pruned range's leaf hashes from the stored level-0 tiles into the rebuilt
    /// tree: the tiles above them and the signed checkpoints still check them.
    fn pruned_from_tiles(&mut self, r: &PrunedRange, note: &Path) -> Result<(), LedgerError> {
        self.segment_files.push(note.to_owned());
        let segment_no = self.segment_files.len() - 1;
        let mut tile: Option<(u64, Vec<Hash>)> = None;
        for i in r.first..=r.last {
            let t = i / TILE_WIDTH;
            if tile.as_ref().is_none_or(|(n, _)| *n != t) {
                let id = TileId { level: 0, index: t };
                let path = self.dir.join(id.path(None));
                let hashes = fs::read(&path)
                    .ok()
                    .and_then(|b| tile_hashes(&b))
                    .filter(|h| h.len() == TILE_WIDTH as usize);
                match hashes {
                    Some(h) => tile = Some((t, h)),
                    None => {
                        self.entries_damaged = true;
                        self.damage(Damage {
                            kind: DamageKind::Missing,
                            index: Some(i),
                            file: path,
                            offset: None,
                            detail: format!(
                                "entries {}..{} were pruned, but the tile holding entry {i}'s leaf hash is missing or not 8192 bytes",
                                r.first, r.last
                            ),
                        });
                        tile = Some((t, vec![Hash::default(); TILE_WIDTH as usize]));
                    }
                }
            }
            let leaf = tile
                .as_ref()
                .map_or(Hash::default(), |(_, h)| h[(i % TILE_WIDTH) as usize]);
            self.push(leaf, segment_no, 0)?;
        }
        Ok(())
    }

    /// An entry read from a segment that a pruned-range note names as its authority.
    fn check_prune_audit(&mut self, index: u64, body: &[u8]) {
        let Some((r, path, seen)) = self.prune_audits.get_mut(&index) else {
            return;
        };
        *seen = true;
        let (r, path) = (*r, path.clone());
        let ok = Entry::decode(body).is_ok_and(|e| prune::authorizes(&e, r.first, r.last));
        if !ok {
            self.damage(Damage {
                kind: DamageKind::Structure,
                index: Some(r.first),
                file: path,
                offset: None,
                detail: format!(
                    "entries {}..{} are recorded as pruned by audit entry {index}, which does not authorise that deletion",
                    r.first, r.last
                ),
            });
        }
    }

    /// Pruned ranges whose audit entry was never read: fine when retention pruned it too.
    fn check_prune_audits(&mut self) {
        let pruned: Vec<PrunedRange> = self.report.pruned.clone();
        let unseen: Vec<(u64, PrunedRange, PathBuf)> = self
            .prune_audits
            .iter()
            .filter(|(_, (_, _, seen))| !seen)
            .map(|(i, (r, p, _))| (*i, *r, p.clone()))
            .collect();
        for (index, r, path) in unseen {
            if pruned.iter().any(|p| p.contains(index)) {
                continue;
            }
            self.damage(Damage {
                kind: DamageKind::Missing,
                index: Some(r.first),
                file: path,
                offset: None,
                detail: format!(
                    "entries {}..{} are recorded as pruned by audit entry {index}, which the ledger does not hold",
                    r.first, r.last
                ),
            });
        }
    }

    /// Reads one segment; returns how many whole entries it held.
    fn segment(
        &mut self,
        seg_path: &Path,
        idx_path: &Path,
        first: u64,
        total: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, LedgerError> {
        let io = |op, p: &Path| {
            let p = p.to_owned();
            move |source| LedgerError::Io {
                op,
                path: p,
                source,
            }
        };
        let offsets = read_index(idx_path, first);
        if let Err(detail) = &offsets {
            self.damage(Damage {
                kind: DamageKind::Structure,
                index: Some(first),
                file: idx_path.to_owned(),
                offset: Some(0),
                detail: detail.clone(),
            });
        }
        let offsets = offsets.unwrap_or_default();
        let file = File::open(seg_path).map_err(io("open", seg_path))?;
        let mut r = BufReader::with_capacity(4 << 20, file);
        let mut header = [0u8; HEADER_LEN as usize];
        if r.read_exact(&mut header).is_err()
            || &header[..8] != SEGMENT_MAGIC
            || header[8..] != first.to_le_bytes()
        {
            self.damage(Damage {
                kind: DamageKind::Structure,
                index: Some(first),
                file: seg_path.to_owned(),
                offset: Some(0),
                detail: "bad segment header (magic, version or first index)".into(),
            });
            return Ok(0);
        }
        self.segment_files.push(seg_path.to_owned());
        let segment_no = self.segment_files.len() - 1;
        let mut offset = HEADER_LEN;
        let mut count = 0u64;
        let mut index_reported = false;
        let mut chunk = Chunk::default();
        let mut done = false;
        while !done {
            // Read up to CHUNK_BYTES of whole records, then hash them on two threads.
            chunk.clear();
            while chunk.data.len() < CHUNK_BYTES {
                let index = first + count + chunk.records.len() as u64;
                let at = offset + chunk.span();
                let mut frame = [0u8; FRAME_LEN as usize];
                match read_full(&mut r, &mut frame).map_err(io("read", seg_path))? {
                    0 => {
                        done = true;
                        break;
                    }
                    n if n < frame.len() => {
                        self.truncated(index, seg_path, at, "record frame cut off");
                        done = true;
                        break;
                    }
                    _ => {}
                }
                let (len, crc) = split_frame(&frame);
                let start = chunk.data.len();
                chunk.data.resize(start + len as usize, 0);
                if read_full(&mut r, &mut chunk.data[start..]).map_err(io("read", seg_path))?
                    < len as usize
                {
                    chunk.data.truncate(start);
                    self.truncated(index, seg_path, at, "record body cut off");
                    done = true;
                    break;
                }
                chunk.records.push((start, len as usize, crc));
            }
            let hashed = chunk.hash();
            for (k, (leaf, crc_ok)) in hashed.into_iter().enumerate() {
                let index = first + count;
                let len = chunk.records[k].1 as u64;
                if !index_reported && offsets.get(count as usize).is_some_and(|&o| o != offset) {
                    index_reported = true;
                    self.damage(Damage {
                        kind: DamageKind::Structure,
                        index: Some(index),
                        file: idx_path.to_owned(),
                        offset: Some(HEADER_LEN + 8 * count),
                        detail: format!(
                            "offset index says {}, the record is at {offset}",
                            offsets[count as usize]
                        ),
                    });
                }
                if !crc_ok && !self.entries_damaged {
                    self.entries_damaged = true;
                    self.damage(Damage {
                        kind: DamageKind::Changed,
                        index: Some(index),
                        file: seg_path.to_owned(),
                        offset: Some(offset),
                        detail: format!("entry {index} does not match its record checksum"),
                    });
                }
                if self.prune_audits.contains_key(&index) {
                    let start = chunk.records[k].0;
                    let body = chunk.data[start..start + len as usize].to_vec();
                    self.check_prune_audit(index, &body);
                }
                self.push(leaf, segment_no, offset)?;
                offset += FRAME_LEN + len;
                count += 1;
                self.report.entries += 1;
                self.report.bytes += FRAME_LEN + len;
            }
            progress(self.report.bytes, total);
        }
        Ok(count)
    }

    fn truncated(&mut self, index: u64, file: &Path, offset: u64, what: &str) {
        if index >= self.sealed_size() {
            // A record cut off after the last checkpoint is what a crash leaves behind;
            // the next open truncates it. Nothing signed is affected.
            self.report.unsealed.push(format!(
                "{what} at entry {index} in {} offset {offset}, after the last checkpoint; the next start truncates it",
                file.display()
            ));
            return;
        }
        self.entries_damaged = true;
        self.damage(Damage {
            kind: DamageKind::Truncated,
            index: Some(index),
            file: file.to_owned(),
            offset: Some(offset),
            detail: what.into(),
        });
    }

    fn push(&mut self, leaf: Hash, segment_no: usize, offset: u64) -> Result<(), LedgerError> {
        self.pending.push((leaf, segment_no, offset));
        let mut tiles = Vec::new();
        self.edge.push(leaf, &mut tiles);
        for tile in tiles {
            self.compare_tile(&tile)?;
        }
        self.check_checkpoints_at_current_size();
        Ok(())
    }

    /// Size of the latest validly signed checkpoint: entries below it are sealed.
    fn sealed_size(&self) -> u64 {
        self.checkpoints.last().map_or(0, |c| c.0)
    }

    /// Compares every checkpoint signed for the current size with the rebuilt root.
    fn check_checkpoints_at_current_size(&mut self) {
        let size = self.edge.size();
        while let Some(&(cp_size, cp_root)) = self.checkpoints.get(self.next_checkpoint) {
            if cp_size > size {
                break;
            }
            self.next_checkpoint += 1;
            let root = self.edge.root();
            if root == cp_root {
                self.verified_size = cp_size;
            } else if !self.entries_damaged && self.unexplained_root.is_none() {
                // Held back until the level-0 tile completes: if the tile comparison names
                // the bad entry, that is the better report and this one is dropped.
                let first = self.verified_size;
                self.unexplained_root = Some(Damage {
                    kind: DamageKind::CheckpointMismatch,
                    index: Some(first),
                    file: self.dir.join("checkpoints.log"),
                    offset: None,
                    detail: format!(
                        "signed checkpoint of size {cp_size} has root {cp_root}, the stored entries give {root}: an entry in {first}..{} differs from what was sealed",
                        cp_size.saturating_sub(1)
                    ),
                });
            }
        }
    }

    /// Compares a tile the entries produced with the stored one.
    fn compare_tile(&mut self, tile: &FullTile) -> Result<(), LedgerError> {
        let path = self.dir.join(tile.id.path(None));
        self.report.tiles += 1;
        let stored = match fs::read(&path) {
            Ok(b) => tile_hashes(&b).filter(|h| h.len() == TILE_WIDTH as usize),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(LedgerError::Io {
                    op: "read tile",
                    path,
                    source,
                });
            }
        };
        let pending = if tile.id.level == 0 {
            std::mem::take(&mut self.pending)
        } else {
            Vec::new()
        };
        let Some(stored) = stored else {
            let covers_to = (tile.id.index + 1) << (8 * (tile.id.level as u32 + 1));
            if covers_to > self.sealed_size() {
                // Tiles past the last checkpoint are written lazily and rebuilt on open.
                self.report.unsealed.push(format!(
                    "{} is not written yet (past the last checkpoint); the next start rebuilds it",
                    path.display()
                ));
                return Ok(());
            }
            if !self.entries_damaged {
                self.damage(Damage {
                    kind: DamageKind::TileMismatch,
                    index: None,
                    file: path,
                    offset: None,
                    detail: "tile is missing or not 8192 bytes".into(),
                });
            }
            return Ok(());
        };
        if stored == tile.hashes || self.entries_damaged {
            if tile.id.level == 0 {
                self.publish_unexplained_root();
            }
            return Ok(());
        }
        let j = first_difference(&stored, &tile.hashes);
        let index = tile.id.index * TILE_WIDTH + j as u64;
        let altered = |why: String| Damage {
            kind: DamageKind::TileMismatch,
            index: None,
            file: path.clone(),
            offset: Some(32 * j as u64),
            detail: format!(
                "hash {j} of level-{} tile {} differs from {why} (tile altered)",
                tile.id.level, tile.id.index
            ),
        };
        if tile.id.level > 0 {
            self.entries_damaged = true;
            self.damage(altered("the tile below it".into()));
            return Ok(());
        }
        if index < self.verified_size {
            // A signed root already matched these entries: the tile is what changed.
            self.entries_damaged = true;
            self.damage(altered(format!(
                "entry {index}, which a signed checkpoint covers"
            )));
            self.unexplained_root = None;
            return Ok(());
        }
        self.unexplained_root = None;
        let got = &tile.hashes;
        let kind = if j + 1 < got.len() && got[j] == stored[j + 1] && got[j + 1] == stored[j] {
            DamageKind::Reordered
        } else if j + 1 < got.len() && got[j] == stored[j + 1] {
            DamageKind::Missing
        } else if stored[j..].iter().any(|h| *h == got[j]) || got[j..].contains(&stored[j]) {
            DamageKind::Reordered
        } else {
            DamageKind::Changed
        };
        let detail = match kind {
            DamageKind::Reordered => format!("entry {index} is out of place"),
            DamageKind::Missing => format!("entry {index} was removed; later entries moved up"),
            _ => format!(
                "entry {index} hashes to {} but was sealed as {}",
                got[j], stored[j]
            ),
        };
        self.entries_damaged = true;
        let (file, offset) = pending
            .get(j)
            .and_then(|(_, seg, o)| Some((self.segment_files.get(*seg)?.clone(), Some(*o))))
            .unwrap_or((path, None));
        self.damage(Damage {
            kind,
            index: Some(index),
            file,
            offset,
            detail,
        });
        Ok(())
    }

    /// Reports a held-back root mismatch that no tile comparison explained.
    fn publish_unexplained_root(&mut self) {
        if let Some(d) = self.unexplained_root.take() {
            self.entries_damaged = true;
            self.damage(d);
        }
    }

    fn finish(&mut self) {
        self.publish_unexplained_root();
        let size = self.edge.size();
        self.report.root = self.edge.root();
        if let Some(&(cp_size, _)) = self.checkpoints.last()
            && cp_size > size
            && !self.entries_damaged
        {
            self.damage(Damage {
                kind: DamageKind::Truncated,
                index: Some(size),
                file: self.dir.join("segments"),
                offset: None,
                detail: format!(
                    "the ledger holds {size} entries but a checkpoint of size {cp_size} was signed"
                ),
            });
            self.entries_damaged = true;
        }
        let next_tile = TileId {
            level: 0,
            index: full_tiles(size, 0),
        };
        // Entries past `size` that a full tile covers: a server appending beside this run
        // wrote the tile after the segments were read (or a crash left it). Nothing signed
        // covers them (a checkpoint past `size` is damage, checked above), so it is a note.
        if !self.entries_damaged && self.dir.join(next_tile.path(None)).exists() {
            self.report.unsealed.push(format!(
                "tile {} covers entries past the {size} read, after the last checkpoint (appended while verifying)",
                next_tile.path(None)
            ));
        }
        // Report in entry order so the first damage is the first bad entry.
        self.report
            .damage
            .sort_by_key(|d| (d.index.is_none(), d.index.unwrap_or(u64::MAX)));
    }
}

fn first_difference(a: &[Hash], b: &[Hash]) -> usize {
    a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(0)
}

fn read_index(path: &Path, first: u64) -> Result<Vec<u64>, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read offset index: {e}"))?;
    if bytes.len() < HEADER_LEN as usize
        || &bytes[..8] != INDEX_MAGIC
        || bytes[8..16] != first.to_le_bytes()
    {
        return Err("bad offset-index header".into());
    }
    Ok(bytes[HEADER_LEN as usize..]
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            u64::from_le_bytes(b)
        })
        .collect())
}

/// Reads until `buf` is full or EOF; returns bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
