//! The on-disk ledger: segments of framed entries, an offset index per segment, full hash
//! tiles in the tlog-tiles layout, and the signed checkpoint history. Layout, commit
//! protocol and recovery are described in `docs/design/ledger.md`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::entry::{Entry, EntryError};
use crate::fsutil::{atomic_write, sync_dir, write_immutable};
use crate::hash::{Hash, leaf_hash, merkle_root};
use crate::note::{Checkpoint, NoteError, NoteSigner, NoteVerifier};
use crate::proof::{self, SubtreeHashes};
use crate::prune::{self, PrunedRange};
use crate::tiles::{FullTile, TILE_WIDTH, TileId, TreeEdge, full_tiles, level_count, tile_hashes};

/// Magic and version at the start of every segment file.
pub(crate) const SEGMENT_MAGIC: &[u8; 8] = b"EVSEG\0\0\x01";
/// Magic and version at the start of every offset-index file.
pub(crate) const INDEX_MAGIC: &[u8; 8] = b"EVIDX\0\0\x01";
/// Segment and index headers: magic + first entry index (u64 LE).
pub(crate) const HEADER_LEN: u64 = 16;
/// Per-record framing in a segment: length (u32 LE) + CRC-32 of the entry bytes (u32 LE).
pub(crate) const FRAME_LEN: u64 = 8;
/// Bytes per checkpoint history record, see [`HistoryRecord`].
pub(crate) const HISTORY_RECORD_LEN: u64 = 120;

/// Largest entry the ledger stores (framing uses a u32 length).
pub const MAX_ENTRY_BYTES: usize = 64 << 20;

/// Everything that can go wrong opening, appending to or reading the ledger.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The filesystem refused an operation.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which file.
        path: PathBuf,
        /// Why it failed.
        source: io::Error,
    },
    /// Stored data is not what the ledger wrote: tampering or media damage. `evident
    /// verify` says more.
    #[error("ledger data corrupted in {path} at offset {offset}: {reason}")]
    Corrupted {
        /// File with the damage.
        path: PathBuf,
        /// Byte offset of the damage.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// An entry that cannot be encoded (a field too long).
    #[error("cannot store entry: {0}")]
    Entry(#[from] EntryError),
    /// An entry larger than [`MAX_ENTRY_BYTES`].
    #[error("entry of {0} bytes exceeds the ledger's limit of {MAX_ENTRY_BYTES} bytes")]
    EntryTooLarge(usize),
    /// Asked for an entry the tree does not have.
    #[error("entry {index} does not exist: the tree has {size} entries")]
    NoSuchEntry {
        /// Requested index.
        index: u64,
        /// Current tree size.
        size: u64,
    },
    /// No checkpoint was ever signed for this tree size.
    #[error("no checkpoint of size {size}; checkpoints exist for sizes {nearby}")]
    NoCheckpoint {
        /// Requested size.
        size: u64,
        /// Neighbouring sizes that do exist, for the message.
        nearby: String,
    },
    /// A proof request that makes no sense for the tree (e.g. from > to).
    #[error("{0}")]
    BadProofRequest(String),
    /// Signing or parsing a note failed.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// A write on a ledger opened with [`Ledger::open_read_only`].
    #[error("the ledger is open read-only (another process is writing to it)")]
    ReadOnly,
    /// Another process has the ledger open for writing.
    #[error(
        "{path} is locked by another process (is `evident serve` running on this data directory?)"
    )]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// An earlier commit failed after writing (fsync error); the on-disk state is unknown
    /// until the ledger is reopened, so further appends are refused.
    #[error("ledger refused writes after a failed commit; restart to recover: {0}")]
    Poisoned(String),
    /// The entry's segment was deleted by retention; its leaf hash remains in the tiles.
    #[error("entry {index} was pruned by retention (audit entry {audit_entry})")]
    Pruned {
        /// Requested index.
        index: u64,
        /// The audit entry that recorded the deletion.
        audit_entry: u64,
    },
    /// A prune the ledger cannot do safely (active segment, not yet checkpointed, …).
    #[error("cannot prune entries {first}..{last}: {reason}")]
    PruneRefused {
        /// First entry of the segment.
        first: u64,
        /// Last entry of the segment.
        last: u64,
        /// Why.
        reason: String,
    },
    /// Sealing a segment for cold storage failed.
    #[error(transparent)]
    Archive(#[from] crate::archive::ArchiveError),
}

fn io_err<'p>(op: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> LedgerError + 'p {
    move |source| LedgerError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

/// Result of one append: where the entries went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendReceipt {
    /// Index of the first appended entry.
    pub first_index: u64,
    /// Number of entries appended.
    pub count: u64,
    /// Tree size after the commit that included them (may include other callers' entries).
    pub tree_size: u64,
}

/// A checkpoint with its signed note and when it was made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// Parsed content.
    pub checkpoint: Checkpoint,
    /// The complete signed note, as served at `/log/checkpoint`.
    pub note: String,
    /// Creation time, nanoseconds since the epoch (not signed; informational).
    pub created_at_ns: u64,
}

/// Tuning for [`Ledger::open`].
#[derive(Clone, Debug)]
pub struct LedgerOptions {
    /// Start a new segment once the current one exceeds this many bytes.
    pub segment_max_bytes: u64,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        LedgerOptions {
            segment_max_bytes: 256 << 20,
        }
    }
}

/// The ledger: append entries durably, sign checkpoints, serve tiles, entries and proofs.
///
/// `append` may be called from many threads at once: callers queue their batches and one
/// of them (the leader) writes every queued batch and fsyncs once (group commit); each caller
/// returns only after the fsync that covers its entries.
pub struct Ledger {
    dir: PathBuf,
    /// Held (flock, exclusive) for the ledger's lifetime: one writer per directory.
    /// `None` for a read-only view.
    _lock: Option<File>,
    read_only: bool,
    pub(crate) signer: NoteSigner,
    options: LedgerOptions,
    pub(crate) writer: Mutex<Writer>,
    queue: Mutex<Queue>,
    committed: Condvar,
    /// Callers currently preparing entries (decides whether hashing may spawn a thread).
    appending: AtomicUsize,
    pub(crate) edge: RwLock<TreeEdge>,
    /// First indices of every segment, pruned ones included, ascending.
    pub(crate) segments: RwLock<Vec<u64>>,
    /// Ranges removed by retention, ascending.
    pub(crate) pruned: RwLock<Vec<PrunedRange>>,
    latest: RwLock<Option<SignedCheckpoint>>,
}

pub(crate) struct Writer {
    segment: File,
    segment_path: PathBuf,
    segment_len: u64,
    index: File,
    index_path: PathBuf,
    index_len: u64,
    size: u64,
    /// Full tiles computed but not yet written (a write failed); retried on every commit.
    unwritten_tiles: Vec<FullTile>,
    /// Tiles written since the last filesystem sync.
    tiles_dirty: bool,
    poisoned: Option<String>,
    history: File,
    history_len: u64,
}

/// One caller's entries, encoded and framed, with their leaf hashes.
struct Prepared {
    /// Framed records, ready to append to a segment.
    framed: Vec<u8>,
    /// Offset of each record within `framed`.
    offsets: Vec<u64>,
    /// Leaf hash of each record.
    leaves: Vec<Hash>,
}

impl Prepared {
    /// Encodes straight into the framed buffer, then hashes. A caller that is `alone` (no
    /// other append in flight) with a batch large enough to pay for a thread hashes on two;
    /// concurrent callers already keep the cores busy.
    fn new(entries: &[Entry], alone: bool) -> Result<Prepared, LedgerError> {
        let approx: usize = entries
            .iter()
            .map(|e| e.body.len() + e.source.len() + 64)
            .sum();
        let mut framed = Vec::with_capacity(approx);
        let mut offsets = Vec::with_capacity(entries.len());
        for e in entries {
            let at = framed.len();
            framed.extend_from_slice(&[0u8; FRAME_LEN as usize]);
            e.encode_into(&mut framed)?;
            let len = framed.len() - at - FRAME_LEN as usize;
            if len > MAX_ENTRY_BYTES {
                return Err(LedgerError::EntryTooLarge(len));
            }
            let body = at + FRAME_LEN as usize;
            let crc = crc32fast::hash(&framed[body..]);
            framed[at..at + 4].copy_from_slice(&(len as u32).to_le_bytes());
            framed[at + 4..body].copy_from_slice(&crc.to_le_bytes());
            offsets.push(at as u64);
        }
        let leaf = |i: usize| {
            let start = offsets[i] as usize + FRAME_LEN as usize;
            let end = offsets.get(i + 1).map_or(framed.len(), |&o| o as usize);
            leaf_hash(&framed[start..end])
        };
        let n = offsets.len();
        let leaves = if alone && n >= PARALLEL_HASH_MIN {
            let mid = n / 2;
            std::thread::scope(|s| {
                let back = s.spawn(|| (mid..n).map(leaf).collect::<Vec<_>>());
                let mut front: Vec<Hash> = (0..mid).map(leaf).collect();
                // If the helper thread panicked (it cannot: it only hashes), hash here.
                front.extend(back.join().unwrap_or_else(|_| (mid..n).map(leaf).collect()));
                front
            })
        } else {
            (0..n).map(leaf).collect()
        };
        Ok(Prepared {
            framed,
            offsets,
            leaves,
        })
    }
}

/// Entries in one append above which leaf hashing is split across two threads.
const PARALLEL_HASH_MIN: usize = 512;

#[derive(Default)]
struct Queue {
    next_ticket: u64,
    batches: Vec<(u64, Prepared)>,
    leader_active: bool,
    results: Vec<(u64, Result<AppendReceipt, String>)>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; the ledger's own invariants
    // are re-established on the next commit, so continuing is safe.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Ledger {
    /// Opens the ledger in `dir` (creating it when empty), recovers from a crash (truncates
    /// a torn tail, rewrites tiles past the last checkpoint) and checks the tree against
    /// the latest checkpoint.
    pub fn open(
        dir: &Path,
        signer: NoteSigner,
        options: LedgerOptions,
    ) -> Result<Ledger, LedgerError> {
        let seg_dir = dir.join("segments");
        fs::create_dir_all(&seg_dir).map_err(io_err("create", &seg_dir))?;
        fs::create_dir_all(dir.join("tile")).map_err(io_err("create", dir))?;
        let lock_path = dir.join("LOCK");
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err("open", &lock_path))?;
        rustix::fs::flock(
            &lock_file,
            rustix::fs::FlockOperation::NonBlockingLockExclusive,
        )
        .map_err(|_| LedgerError::Locked {
            path: lock_path.clone(),
        })?;
        let pruned = prune::load(dir, &signer)?;
        let mut firsts = list_segments(&seg_dir)?;
        // A prune interrupted after its note was written: finish deleting the files.
        for r in &pruned {
            if firsts.contains(&r.first) {
                prune::delete_segment_files(&seg_dir, r.first)?;
                firsts.retain(|&f| f != r.first);
            }
        }
        if firsts.is_empty() {
            create_segment(&seg_dir, 0)?;
            firsts.push(0);
        }
        let last_first = *firsts.last().unwrap_or(&0);
        let firsts = with_pruned(firsts, &pruned);
        let (seg_path, idx_path) = segment_paths(&seg_dir, last_first);

        let history_path = dir.join("checkpoints.log");
        let (history, history_len, latest_record) = open_history(&history_path)?;
        let verifier = signer.verifier();
        let latest = match latest_record {
            Some(rec) => Some(rec.to_signed(&verifier, signer.name(), &history_path)?),
            None => None,
        };
        let checkpointed = latest.as_ref().map_or(0, |c| c.checkpoint.size);
        let recovered = recover_segment(&seg_path, &idx_path, last_first, checkpointed)?;
        let size = last_first + recovered.count;
        if size < checkpointed {
            return Err(LedgerError::Corrupted {
                path: seg_path,
                offset: recovered.segment_len,
                reason: format!(
                    "the ledger holds {size} entries but checkpoint {checkpointed} was signed: entries are missing"
                ),
            });
        }

        let segment = OpenOptions::new()
            .append(true)
            .open(&seg_path)
            .map_err(io_err("open", &seg_path))?;
        let index = OpenOptions::new()
            .append(true)
            .open(&idx_path)
            .map_err(io_err("open", &idx_path))?;
        let writer = Writer {
            segment,
            segment_path: seg_path,
            segment_len: recovered.segment_len,
            index,
            index_path: idx_path,
            index_len: HEADER_LEN + 8 * recovered.count,
            size,
            unwritten_tiles: Vec::new(),
            tiles_dirty: false,
            poisoned: None,
            history,
            history_len,
        };
        let ledger = Ledger::assemble(
            dir,
            Some(lock_file),
            signer,
            options,
            writer,
            (firsts, pruned),
            latest,
        );
        ledger.rebuild_edge(checkpointed, size)?;
        Ok(ledger)
    }

    /// Opens a read-only view of a ledger another process may be writing to: no lock, no
    /// recovery, and the tree as of the latest checkpoint (entries after it are not yet
    /// sealed and are left out). Appends fail with [`LedgerError::ReadOnly`]; `checkpoint`
    /// returns the latest one without signing.
    pub fn open_read_only(dir: &Path, signer: NoteSigner) -> Result<Ledger, LedgerError> {
        let seg_dir = dir.join("segments");
        let pruned = prune::load(dir, &signer)?;
        let firsts = list_segments(&seg_dir)?;
        let last_first = *firsts.last().ok_or_else(|| LedgerError::Corrupted {
            path: seg_dir.clone(),
            offset: 0,
            reason: "no segment files".into(),
        })?;
        let firsts = with_pruned(firsts, &pruned);
        let (seg_path, idx_path) = segment_paths(&seg_dir, last_first);
        let history_path = dir.join("checkpoints.log");
        let history = File::open(&history_path).map_err(io_err("open", &history_path))?;
        let len = history
            .metadata()
            .map_err(io_err("stat", &history_path))?
            .len();
        let mut history_len = len - len % HISTORY_RECORD_LEN;
        let mut latest = None;
        while history_len > 0 && latest.is_none() {
            let rec = HistoryRecord::read_at(
                &history,
                &history_path,
                history_len / HISTORY_RECORD_LEN - 1,
            )?;
            if rec.crc_ok {
                latest = Some(rec.to_signed(&signer.verifier(), signer.name(), &history_path)?);
            } else {
                history_len -= HISTORY_RECORD_LEN;
            }
        }
        let checkpointed = latest.as_ref().map_or(0, |c| c.checkpoint.size);
        let segment = File::open(&seg_path).map_err(io_err("open", &seg_path))?;
        let index = File::open(&idx_path).map_err(io_err("open", &idx_path))?;
        let writer = Writer {
            segment,
            segment_path: seg_path,
            segment_len: 0,
            index,
            index_path: idx_path,
            index_len: 0,
            size: checkpointed,
            unwritten_tiles: Vec::new(),
            tiles_dirty: false,
            poisoned: None,
            history,
            history_len,
        };
        let ledger = Ledger::assemble(
            dir,
            None,
            signer,
            LedgerOptions::default(),
            writer,
            (firsts, pruned),
            latest,
        );
        ledger.rebuild_edge(checkpointed, checkpointed)?;
        Ok(ledger)
    }

    /// The shared tail of `open` and `open_read_only`: a ledger without a lock is read-only.
    fn assemble(
        dir: &Path,
        lock: Option<File>,
        signer: NoteSigner,
        options: LedgerOptions,
        writer: Writer,
        (firsts, pruned): (Vec<u64>, Vec<PrunedRange>),
        latest: Option<SignedCheckpoint>,
    ) -> Ledger {
        Ledger {
            dir: dir.to_owned(),
            read_only: lock.is_none(),
            _lock: lock,
            signer,
            options,
            writer: Mutex::new(writer),
            queue: Mutex::new(Queue::default()),
            committed: Condvar::new(),
            appending: AtomicUsize::new(0),
            edge: RwLock::new(TreeEdge::new()),
            segments: RwLock::new(firsts),
            pruned: RwLock::new(pruned),
            latest: RwLock::new(latest),
        }
    }

    /// Rebuilds the right edge at the checkpointed size from durable tiles, checks its root
    /// against the checkpoint, then replays the entries after it (rewriting their tiles).
    fn rebuild_edge(&self, checkpointed: u64, size: u64) -> Result<(), LedgerError> {
        let mut levels = Vec::new();
        for level in 0..level_count(checkpointed) as u8 {
            let count = checkpointed >> (8 * level as u32);
            let start = count - count % TILE_WIDTH;
            let mut hashes = Vec::with_capacity((count - start) as usize);
            if level == 0 {
                for i in start..count {
                    hashes.push(leaf_hash(&self.entry_bytes_unchecked(i)?));
                }
            } else {
                for t in start..count {
                    let id = TileId {
                        level: level - 1,
                        index: t,
                    };
                    let tile = self.read_full_tile(id)?;
                    hashes.push(merkle_root(&tile));
                }
            }
            levels.push(hashes);
        }
        let mut edge =
            TreeEdge::from_levels(checkpointed, levels).ok_or_else(|| LedgerError::Corrupted {
                path: self.dir.join("tile"),
                offset: 0,
                reason: "tiles do not describe the checkpointed tree".into(),
            })?;
        if let Some(latest) = &*self.latest.read().unwrap_or_else(PoisonError::into_inner)
            && edge.root() != latest.checkpoint.root
        {
            return Err(LedgerError::Corrupted {
                path: self.dir.join("checkpoints.log"),
                offset: 0,
                reason: format!(
                    "stored entries and tiles give root {} at size {}, but the latest checkpoint says {}",
                    edge.root(),
                    checkpointed,
                    latest.checkpoint.root
                ),
            });
        }
        let mut tiles = Vec::new();
        for i in checkpointed..size {
            edge.push(leaf_hash(&self.entry_bytes_unchecked(i)?), &mut tiles);
        }
        let mut w = lock(&self.writer);
        w.unwritten_tiles = tiles;
        self.write_tiles(&mut w);
        *self.edge.write().unwrap_or_else(PoisonError::into_inner) = edge;
        Ok(())
    }

    /// True for a view opened with [`Ledger::open_read_only`].
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The directory holding segments, tiles and checkpoints.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key that verifies this ledger's checkpoints.
    pub fn verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    /// Number of committed entries.
    pub fn size(&self) -> u64 {
        self.edge
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .size()
    }

    /// Root hash of the committed tree.
    pub fn root(&self) -> Hash {
        self.edge
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .root()
    }

    /// Appends `entries` durably. Returns after the fsync that covers them; concurrent
    /// callers share that fsync. The entries get consecutive indices.
    ///
    /// Encoding, checksums and leaf hashes are computed here, on the caller's thread, so
    /// concurrent callers hash in parallel; the commit leader only writes and syncs.
    pub fn append(&self, entries: Vec<Entry>) -> Result<AppendReceipt, LedgerError> {
        if entries.is_empty() {
            let size = self.size();
            return Ok(AppendReceipt {
                first_index: size,
                count: 0,
                tree_size: size,
            });
        }
        if self.read_only {
            return Err(LedgerError::ReadOnly);
        }
        let alone = self.appending.fetch_add(1, Ordering::Relaxed) == 0;
        let prepared = Prepared::new(&entries, alone);
        self.appending.fetch_sub(1, Ordering::Relaxed);
        let prepared = prepared?;
        drop(entries);
        let mut q = lock(&self.queue);
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        q.batches.push((ticket, prepared));
        loop {
            if let Some(pos) = q.results.iter().position(|(t, _)| *t == ticket) {
                let (_, result) = q.results.swap_remove(pos);
                return result.map_err(LedgerError::Poisoned);
            }
            if !q.leader_active {
                q.leader_active = true;
                let batches = std::mem::take(&mut q.batches);
                drop(q);
                let results = self.commit(batches);
                q = lock(&self.queue);
                q.leader_active = false;
                q.results.extend(results);
                self.committed.notify_all();
                continue;
            }
            q = self
                .committed
                .wait(q)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Writes every queued batch, fsyncs once, then publishes the new leaves to the tree.
    fn commit(&self, batches: Vec<(u64, Prepared)>) -> Vec<(u64, Result<AppendReceipt, String>)> {
        let mut w = lock(&self.writer);
        let fail = |batches: Vec<(u64, Prepared)>, msg: String| {
            batches
                .into_iter()
                .map(|(t, _)| (t, Err(msg.clone())))
                .collect()
        };
        if let Some(reason) = &w.poisoned {
            let reason = reason.clone();
            return fail(batches, reason);
        }
        if w.segment_len > self.options.segment_max_bytes
            && let Err(e) = self.roll_segment(&mut w)
        {
            return fail(batches, e.to_string());
        }
        let total: usize = batches.iter().map(|(_, p)| p.framed.len()).sum();
        let mut seg_buf = Vec::with_capacity(total);
        let mut idx_buf = Vec::new();
        let mut receipts = Vec::with_capacity(batches.len());
        let mut next = w.size;
        for (ticket, p) in &batches {
            let base = w.segment_len + seg_buf.len() as u64;
            for rel in &p.offsets {
                idx_buf.extend_from_slice(&(base + rel).to_le_bytes());
            }
            seg_buf.extend_from_slice(&p.framed);
            let count = p.leaves.len() as u64;
            receipts.push((*ticket, next, count));
            next += count;
        }
        if let Err(e) = self.write_and_sync(&mut w, &seg_buf, &idx_buf) {
            return fail(batches, e.to_string());
        }
        w.size = next;
        // Grow a copy of the edge and write the tiles it completes before publishing it, so
        // a reader never finds a tile the tree claims but the disk does not have yet.
        let mut edge = self
            .edge
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut tiles = Vec::new();
        for (_, p) in &batches {
            for h in &p.leaves {
                edge.push(*h, &mut tiles);
            }
        }
        w.unwritten_tiles.extend(tiles);
        self.write_tiles(&mut w);
        *self.edge.write().unwrap_or_else(PoisonError::into_inner) = edge;
        receipts
            .into_iter()
            .map(|(t, first, count)| {
                (
                    t,
                    Ok(AppendReceipt {
                        first_index: first,
                        count,
                        tree_size: next,
                    }),
                )
            })
            .collect()
    }

    fn write_and_sync(&self, w: &mut Writer, seg: &[u8], idx: &[u8]) -> Result<(), LedgerError> {
        let write = |w: &mut Writer| -> Result<(), LedgerError> {
            w.segment
                .write_all(seg)
                .map_err(io_err("write", &w.segment_path))?;
            w.index
                .write_all(idx)
                .map_err(io_err("write", &w.index_path))?;
            Ok(())
        };
        if let Err(e) = write(w) {
            // Nothing was acknowledged: cut the files back to their committed length.
            let rollback = w
                .segment
                .set_len(w.segment_len)
                .and_then(|_| w.index.set_len(w.index_len));
            if let Err(r) = rollback {
                w.poisoned = Some(format!("{e}; rollback failed: {r}"));
            }
            return Err(e);
        }
        // Only the segment is synced per commit: the offset index is derived data that
        // recovery rebuilds from the segment, and it is synced before every checkpoint.
        let sync = w
            .segment
            .sync_data()
            .map_err(io_err("fsync", &w.segment_path));
        if let Err(e) = sync {
            // After a failed fsync the page cache may have dropped our data: stop writing.
            w.poisoned = Some(e.to_string());
            return Err(e);
        }
        w.segment_len += seg.len() as u64;
        w.index_len += idx.len() as u64;
        Ok(())
    }

    /// Writes pending full tiles; a failure leaves them queued for the next commit, and
    /// checkpoints wait until they are written.
    fn write_tiles(&self, w: &mut Writer) {
        let pending = std::mem::take(&mut w.unwritten_tiles);
        let mut iter = pending.into_iter();
        while let Some(tile) = iter.next() {
            let path = self.dir.join(tile.id.path(None));
            if let Err(e) = write_immutable(&path, &tile.to_bytes()) {
                tracing::warn!(path = %path.display(), error = %e, "tile write failed; will retry");
                w.unwritten_tiles.push(tile);
                w.unwritten_tiles.extend(iter);
                return;
            }
            w.tiles_dirty = true;
        }
    }

    fn roll_segment(&self, w: &mut Writer) -> Result<(), LedgerError> {
        w.index
            .sync_data()
            .map_err(io_err("fsync", &w.index_path))?;
        let seg_dir = self.dir.join("segments");
        let (seg_path, idx_path) = create_segment(&seg_dir, w.size)?;
        w.segment = OpenOptions::new()
            .append(true)
            .open(&seg_path)
            .map_err(io_err("open", &seg_path))?;
        w.index = OpenOptions::new()
            .append(true)
            .open(&idx_path)
            .map_err(io_err("open", &idx_path))?;
        w.segment_path = seg_path;
        w.index_path = idx_path;
        w.segment_len = HEADER_LEN;
        w.index_len = HEADER_LEN;
        self.segments
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(w.size);
        Ok(())
    }

    /// Signs a checkpoint for the current tree if it grew since the last one (or if none
    /// exists yet, even for the empty tree) and returns the latest checkpoint. Tiles covering
    /// the checkpoint are made durable before it is published.
    pub fn checkpoint(&self) -> Result<SignedCheckpoint, LedgerError> {
        if self.read_only {
            return self.latest_checkpoint().ok_or(LedgerError::ReadOnly);
        }
        let mut w = lock(&self.writer);
        let (size, root) = {
            let edge = self.edge.read().unwrap_or_else(PoisonError::into_inner);
            (edge.size(), edge.root())
        };
        if let Some(current) = self.latest_checkpoint()
            && current.checkpoint.size >= size
        {
            return Ok(current);
        }
        self.write_tiles(&mut w);
        if !w.unwritten_tiles.is_empty() {
            return Err(LedgerError::Io {
                op: "write tiles for checkpoint",
                path: self.dir.join("tile"),
                source: io::Error::other("tiles could not be written"),
            });
        }
        let index_path = w.index_path.clone();
        w.index.sync_data().map_err(io_err("fsync", &index_path))?;
        if w.tiles_dirty {
            let tile_dir = self.dir.join("tile");
            let f = File::open(&tile_dir).map_err(io_err("open", &tile_dir))?;
            rustix::fs::syncfs(&f).map_err(|e| LedgerError::Io {
                op: "syncfs",
                path: tile_dir.clone(),
                source: e.into(),
            })?;
            w.tiles_dirty = false;
        }
        let checkpoint = Checkpoint {
            origin: self.signer.name().to_owned(),
            size,
            root,
        };
        let note = self.signer.sign(&checkpoint.body())?;
        let created_at_ns = now_ns();
        let record = HistoryRecord::from_note(&note, created_at_ns, size, root)?;
        let history_path = self.dir.join("checkpoints.log");
        let bytes = record.to_bytes();
        let history_len = w.history_len;
        w.history
            .write_all_at(&bytes, history_len)
            .and_then(|_| w.history.sync_data())
            .map_err(io_err("append", &history_path))?;
        w.history_len += HISTORY_RECORD_LEN;
        let latest_path = self.dir.join("checkpoint");
        atomic_write(&latest_path, note.as_bytes()).map_err(io_err("write", &latest_path))?;
        let signed = SignedCheckpoint {
            checkpoint,
            note,
            created_at_ns,
        };
        *self.latest.write().unwrap_or_else(PoisonError::into_inner) = Some(signed.clone());
        Ok(signed)
    }

    /// The most recent signed checkpoint.
    pub fn latest_checkpoint(&self) -> Option<SignedCheckpoint> {
        self.latest
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The signed checkpoint of exactly `size` entries, from the history.
    pub fn checkpoint_at(&self, size: u64) -> Result<SignedCheckpoint, LedgerError> {
        let path = self.dir.join("checkpoints.log");
        let file = File::open(&path).map_err(io_err("open", &path))?;
        let len = lock(&self.writer).history_len;
        let count = len / HISTORY_RECORD_LEN;
        let read = |i: u64| HistoryRecord::read_at(&file, &path, i);
        // History sizes strictly increase: binary search.
        let (mut lo, mut hi) = (0u64, count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let rec = read(mid)?;
            if rec.size < size {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if lo < count {
            let rec = read(lo)?;
            if rec.size == size {
                return rec.to_signed(&self.verifier(), self.signer.name(), &path);
            }
        }
        let mut nearby = Vec::new();
        for i in [lo.checked_sub(1), Some(lo)].into_iter().flatten() {
            if i < count {
                nearby.push(read(i)?.size.to_string());
            }
        }
        Err(LedgerError::NoCheckpoint {
            size,
            nearby: if nearby.is_empty() {
                "(none)".into()
            } else {
                nearby.join(", ")
            },
        })
    }

    /// Sizes and creation times of every checkpoint, oldest first (the evidence package
    /// picks the checkpoints that bracket an audit period from these).
    pub fn checkpoint_history(&self) -> Result<Vec<(u64, u64)>, LedgerError> {
        let path = self.dir.join("checkpoints.log");
        let len = lock(&self.writer).history_len;
        let mut bytes = vec![0u8; len as usize];
        File::open(&path)
            .and_then(|f| f.read_exact_at(&mut bytes, 0))
            .map_err(io_err("read", &path))?;
        Ok(bytes
            .chunks_exact(HISTORY_RECORD_LEN as usize)
            .map(|c| {
                let rec = HistoryRecord::parse(c);
                (rec.size, rec.created_at_ns)
            })
            .collect())
    }

    /// The exact bytes of entry `index` (its leaf is SHA-256(0x00 ‖ bytes)).
    pub fn entry_bytes(&self, index: u64) -> Result<Vec<u8>, LedgerError> {
        let size = self.size();
        if index >= size {
            return Err(LedgerError::NoSuchEntry { index, size });
        }
        self.entry_bytes_unchecked(index)
    }

    /// Calls `f(index, entry bytes)` for every entry in `start..end` (clamped to the tree),
    /// in order, streaming each segment instead of seeking per entry: the pipeline's and
    /// reindex's read path.
    pub fn for_each_entry(
        &self,
        start: u64,
        end: u64,
        mut f: impl FnMut(u64, &[u8]),
    ) -> Result<(), LedgerError> {
        self.stream_entries(start, end, &mut f, None)
    }

    /// [`Ledger::for_each_entry`] that steps over a damaged record (checksum mismatch,
    /// impossible length) instead of stopping there: `damaged(index, error)` is called for
    /// it and the stream goes on from the next record's indexed offset. For readers that
    /// must not stall behind one bad record — the pipeline, reindex — while `verify`
    /// reports the damage. Errors only when a file cannot be read at all.
    pub fn for_each_readable_entry(
        &self,
        start: u64,
        end: u64,
        mut f: impl FnMut(u64, &[u8]),
        mut damaged: impl FnMut(u64, LedgerError),
    ) -> Result<(), LedgerError> {
        self.stream_entries(start, end, &mut f, Some(&mut damaged))
    }

    fn stream_entries(
        &self,
        start: u64,
        end: u64,
        f: &mut dyn FnMut(u64, &[u8]),
        mut damaged: Option<&mut dyn FnMut(u64, LedgerError)>,
    ) -> Result<(), LedgerError> {
        let end = end.min(self.size());
        if start >= end {
            return Ok(());
        }
        let segs = self
            .segments
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let seg_dir = self.dir.join("segments");
        let mut i = start;
        let mut pos = segs.partition_point(|&f| f <= i).saturating_sub(1);
        while i < end {
            let first = segs[pos];
            let next_first = segs.get(pos + 1).copied().unwrap_or(u64::MAX);
            if self.pruned_range(first).is_some() {
                // Removed by retention: nothing to stream.
                i = next_first;
                pos += 1;
                continue;
            }
            let (seg_path, idx_path) = segment_paths(&seg_dir, first);
            let idx = File::open(&idx_path).map_err(io_err("open", &idx_path))?;
            let mut off = [0u8; 8];
            idx.read_exact_at(&mut off, HEADER_LEN + 8 * (i - first))
                .map_err(io_err("read", &idx_path))?;
            let mut offset = u64::from_le_bytes(off);
            let seg = File::open(&seg_path).map_err(io_err("open", &seg_path))?;
            let mut r = std::io::BufReader::with_capacity(1 << 20, &seg);
            std::io::Seek::seek(&mut r, std::io::SeekFrom::Start(offset))
                .map_err(io_err("seek", &seg_path))?;
            let mut body = Vec::new();
            while i < end && i < next_first {
                let mut frame = [0u8; FRAME_LEN as usize];
                std::io::Read::read_exact(&mut r, &mut frame).map_err(io_err("read", &seg_path))?;
                let (len, crc) = split_frame(&frame);
                if len as usize > MAX_ENTRY_BYTES {
                    let e = LedgerError::Corrupted {
                        path: seg_path.clone(),
                        offset,
                        reason: format!("entry {i}: record length {len} exceeds the limit"),
                    };
                    let Some(report) = damaged.as_mut() else {
                        return Err(e);
                    };
                    report(i, e);
                    i += 1;
                    if i < end && i < next_first {
                        // The length cannot be trusted: resume at the next indexed offset.
                        idx.read_exact_at(&mut off, HEADER_LEN + 8 * (i - first))
                            .map_err(io_err("read", &idx_path))?;
                        offset = u64::from_le_bytes(off);
                        std::io::Seek::seek(&mut r, std::io::SeekFrom::Start(offset))
                            .map_err(io_err("seek", &seg_path))?;
                    }
                    continue;
                }
                body.resize(len as usize, 0);
                std::io::Read::read_exact(&mut r, &mut body).map_err(io_err("read", &seg_path))?;
                if crc32fast::hash(&body) == crc {
                    f(i, &body);
                } else {
                    let e = LedgerError::Corrupted {
                        path: seg_path.clone(),
                        offset,
                        reason: format!("entry {i}: record checksum mismatch"),
                    };
                    match damaged.as_mut() {
                        Some(report) => report(i, e),
                        None => return Err(e),
                    }
                }
                offset += FRAME_LEN + len as u64;
                i += 1;
            }
            pos += 1;
        }
        Ok(())
    }

    /// Entry `index`, decoded.
    pub fn entry(&self, index: u64) -> Result<Entry, LedgerError> {
        let bytes = self.entry_bytes(index)?;
        Entry::decode(&bytes).map_err(|e| LedgerError::Corrupted {
            path: self.dir.join("segments"),
            offset: 0,
            reason: format!("entry {index}: {e}"),
        })
    }

    fn entry_bytes_unchecked(&self, index: u64) -> Result<Vec<u8>, LedgerError> {
        if let Some(r) = self.pruned_range(index) {
            return Err(LedgerError::Pruned {
                index,
                audit_entry: r.audit_entry,
            });
        }
        let first = {
            let segs = self.segments.read().unwrap_or_else(PoisonError::into_inner);
            let pos = segs.partition_point(|&f| f <= index);
            segs[pos.saturating_sub(1)]
        };
        if first > index {
            return Err(LedgerError::Corrupted {
                path: self.dir.join("segments"),
                offset: 0,
                reason: format!("no segment holds entry {index} (the first starts at {first})"),
            });
        }
        let (seg_path, idx_path) = segment_paths(&self.dir.join("segments"), first);
        let idx = File::open(&idx_path).map_err(io_err("open", &idx_path))?;
        let mut off = [0u8; 8];
        idx.read_exact_at(&mut off, HEADER_LEN + 8 * (index - first))
            .map_err(io_err("read", &idx_path))?;
        let offset = u64::from_le_bytes(off);
        let seg = File::open(&seg_path).map_err(io_err("open", &seg_path))?;
        read_record(&seg, &seg_path, offset)
    }

    /// Inclusion proof for entry `index` in the checkpointed tree of `size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LedgerError> {
        if index >= size || size > self.size() {
            return Err(LedgerError::BadProofRequest(format!(
                "no inclusion proof for entry {index} in a tree of size {size} (the ledger has {} entries)",
                self.size()
            )));
        }
        let edge = self.edge.read().unwrap_or_else(PoisonError::into_inner);
        proof::inclusion_proof(
            &TileReader {
                ledger: self,
                edge: &edge,
            },
            index,
            size,
        )
    }

    /// Consistency proof from the tree of `from` entries to the tree of `to` entries.
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, LedgerError> {
        if from > to || to > self.size() {
            return Err(LedgerError::BadProofRequest(format!(
                "no consistency proof from size {from} to size {to} (the ledger has {} entries)",
                self.size()
            )));
        }
        let edge = self.edge.read().unwrap_or_else(PoisonError::into_inner);
        proof::consistency_proof(
            &TileReader {
                ledger: self,
                edge: &edge,
            },
            from,
            to,
        )
    }

    /// Tile bytes for the tlog-tiles API: full tiles from disk, partial tiles (width W) cut
    /// from the current edge or from the full tile that has since replaced them.
    pub fn tile(&self, id: TileId, width: Option<u64>) -> Result<Option<Vec<u8>>, LedgerError> {
        let edge = self.edge.read().unwrap_or_else(PoisonError::into_inner);
        let full = full_tiles(edge.size(), id.level);
        let hashes = if id.index < full {
            self.read_full_tile(id)?
        } else if id.index == full {
            edge.partial(id.level).to_vec()
        } else {
            return Ok(None);
        };
        let want = width.unwrap_or(TILE_WIDTH) as usize;
        if hashes.len() < want {
            return Ok(None);
        }
        Ok(Some(crate::tiles::tile_bytes(&hashes[..want])))
    }

    pub(crate) fn read_full_tile(&self, id: TileId) -> Result<Vec<Hash>, LedgerError> {
        let path = self.dir.join(id.path(None));
        let bytes = fs::read(&path).map_err(io_err("read tile", &path))?;
        match tile_hashes(&bytes) {
            Some(h) if h.len() == TILE_WIDTH as usize => Ok(h),
            _ => Err(LedgerError::Corrupted {
                path,
                offset: 0,
                reason: format!("full tile has {} bytes, expected 8192", bytes.len()),
            }),
        }
    }
}

/// Subtree hashes from full tiles on disk, or the in-memory right edge.
struct TileReader<'a> {
    ledger: &'a Ledger,
    edge: &'a TreeEdge,
}

impl SubtreeHashes for TileReader<'_> {
    type Error = LedgerError;
    fn subtree(&self, height: u8, index: u64) -> Result<Hash, LedgerError> {
        if let Some(h) = self.edge.edge_subtree(height, index) {
            return Ok(h);
        }
        let level = height / 8;
        let r = height % 8;
        let first = index << r;
        let tile = self.ledger.read_full_tile(TileId {
            level,
            index: first / TILE_WIDTH,
        })?;
        let s = (first % TILE_WIDTH) as usize;
        Ok(merkle_root(&tile[s..s + (1usize << r)]))
    }
}

/// One checkpoint in `checkpoints.log`, fixed size so the history can be binary-searched:
/// created_at_ns u64 LE, size u64 LE, root (32), key id (4), Ed25519 signature (64),
/// CRC-32 of the preceding 116 bytes (u32 LE). The note is rebuilt from origin + these.
#[derive(Clone, Debug)]
pub(crate) struct HistoryRecord {
    pub(crate) created_at_ns: u64,
    pub(crate) size: u64,
    pub(crate) root: Hash,
    pub(crate) key_id: [u8; 4],
    pub(crate) signature: [u8; 64],
    pub(crate) crc_ok: bool,
}

impl HistoryRecord {
    fn from_note(
        note: &str,
        created_at_ns: u64,
        size: u64,
        root: Hash,
    ) -> Result<HistoryRecord, LedgerError> {
        let sig_line = note.lines().last().unwrap_or_default();
        let b64 = sig_line.rsplit(' ').next().unwrap_or_default();
        let blob = STANDARD
            .decode(b64)
            .map_err(|_| NoteError::MalformedNote("own signature".into()))?;
        let (key_id, signature) = match (blob.get(..4), blob.get(4..)) {
            (Some(k), Some(s)) if s.len() == 64 => (k, s),
            _ => return Err(NoteError::MalformedNote("own signature length".into()).into()),
        };
        let mut rec = HistoryRecord {
            created_at_ns,
            size,
            root,
            key_id: [0; 4],
            signature: [0; 64],
            crc_ok: true,
        };
        rec.key_id.copy_from_slice(key_id);
        rec.signature.copy_from_slice(signature);
        Ok(rec)
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(HISTORY_RECORD_LEN as usize);
        b.extend_from_slice(&self.created_at_ns.to_le_bytes());
        b.extend_from_slice(&self.size.to_le_bytes());
        b.extend_from_slice(&self.root.0);
        b.extend_from_slice(&self.key_id);
        b.extend_from_slice(&self.signature);
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b
    }

    /// Parses one record (exactly [`HISTORY_RECORD_LEN`] bytes); `crc_ok` says whether the
    /// checksum matched.
    pub(crate) fn parse(b: &[u8]) -> HistoryRecord {
        let mut u = [0u8; 8];
        u.copy_from_slice(&b[0..8]);
        let created_at_ns = u64::from_le_bytes(u);
        u.copy_from_slice(&b[8..16]);
        let size = u64::from_le_bytes(u);
        let mut root = [0u8; 32];
        root.copy_from_slice(&b[16..48]);
        let mut key_id = [0u8; 4];
        key_id.copy_from_slice(&b[48..52]);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&b[52..116]);
        let mut c = [0u8; 4];
        c.copy_from_slice(&b[116..120]);
        HistoryRecord {
            created_at_ns,
            size,
            root: Hash(root),
            key_id,
            signature,
            crc_ok: crc32fast::hash(&b[..116]) == u32::from_le_bytes(c),
        }
    }

    fn read_at(file: &File, path: &Path, i: u64) -> Result<HistoryRecord, LedgerError> {
        let mut b = [0u8; HISTORY_RECORD_LEN as usize];
        file.read_exact_at(&mut b, i * HISTORY_RECORD_LEN)
            .map_err(io_err("read", path))?;
        Ok(HistoryRecord::parse(&b))
    }

    /// The signed note this record stands for.
    pub(crate) fn note(&self, origin: &str) -> String {
        let body = Checkpoint {
            origin: origin.to_owned(),
            size: self.size,
            root: self.root,
        }
        .body();
        let mut blob = self.key_id.to_vec();
        blob.extend_from_slice(&self.signature);
        format!("{body}\n\u{2014} {origin} {}\n", STANDARD.encode(blob))
    }

    fn to_signed(
        &self,
        verifier: &NoteVerifier,
        origin: &str,
        path: &Path,
    ) -> Result<SignedCheckpoint, LedgerError> {
        let note = self.note(origin);
        let checkpoint = Checkpoint::open(&note, verifier).map_err(|e| LedgerError::Corrupted {
            path: path.to_owned(),
            offset: 0,
            reason: format!("checkpoint of size {}: {e}", self.size),
        })?;
        Ok(SignedCheckpoint {
            checkpoint,
            note,
            created_at_ns: self.created_at_ns,
        })
    }
}

/// Opens the history for appending, drops a torn last record, returns the latest record.
fn open_history(path: &Path) -> Result<(File, u64, Option<HistoryRecord>), LedgerError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io_err("open", path))?;
    let mut len = file.metadata().map_err(io_err("stat", path))?.len();
    len -= len % HISTORY_RECORD_LEN;
    let mut latest = None;
    if len > 0 {
        let rec = HistoryRecord::read_at(&file, path, len / HISTORY_RECORD_LEN - 1)?;
        if rec.crc_ok {
            latest = Some(rec);
        } else {
            // A torn last write: the checkpoint was never published (the latest-checkpoint
            // file is written after the history fsync), so drop it.
            len -= HISTORY_RECORD_LEN;
            if len > 0 {
                latest = Some(HistoryRecord::read_at(
                    &file,
                    path,
                    len / HISTORY_RECORD_LEN - 1,
                )?);
            }
        }
    }
    file.set_len(len).map_err(io_err("truncate", path))?;
    Ok((file, len, latest))
}

/// Segment firsts from the files plus those of pruned segments, ascending.
fn with_pruned(mut firsts: Vec<u64>, pruned: &[PrunedRange]) -> Vec<u64> {
    firsts.extend(pruned.iter().map(|r| r.first));
    firsts.sort_unstable();
    firsts.dedup();
    firsts
}

pub(crate) fn segment_paths(seg_dir: &Path, first: u64) -> (PathBuf, PathBuf) {
    (
        seg_dir.join(format!("{first:020}.seg")),
        seg_dir.join(format!("{first:020}.idx")),
    )
}

/// First indices of all segments, ascending.
pub(crate) fn list_segments(seg_dir: &Path) -> Result<Vec<u64>, LedgerError> {
    let mut firsts = Vec::new();
    for e in fs::read_dir(seg_dir).map_err(io_err("list", seg_dir))? {
        let e = e.map_err(io_err("list", seg_dir))?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        if let Some(stem) = name.strip_suffix(".seg")
            && let Ok(n) = stem.parse::<u64>()
        {
            firsts.push(n);
        }
    }
    firsts.sort_unstable();
    Ok(firsts)
}

fn create_segment(seg_dir: &Path, first: u64) -> Result<(PathBuf, PathBuf), LedgerError> {
    let (seg, idx) = segment_paths(seg_dir, first);
    for (path, magic) in [(&seg, SEGMENT_MAGIC), (&idx, INDEX_MAGIC)] {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(io_err("create", path))?;
        f.write_all(magic)
            .and_then(|_| f.write_all(&first.to_le_bytes()))
            .and_then(|_| f.sync_all())
            .map_err(io_err("write", path))?;
    }
    sync_dir(seg_dir).map_err(io_err("fsync", seg_dir))?;
    Ok((seg, idx))
}

struct Recovered {
    count: u64,
    segment_len: u64,
}

/// Crash recovery for the last segment: keep the longest prefix of complete, checksummed
/// records; re-derive index entries the crash lost; cut both files to match.
///
/// Records below `sealed` (the latest checkpoint's size) were acknowledged and signed: if one
/// of them is bad, that is damage for `verify` to name, so the files are left untouched and
/// the open fails.
fn recover_segment(
    seg_path: &Path,
    idx_path: &Path,
    first: u64,
    sealed: u64,
) -> Result<Recovered, LedgerError> {
    let seg = OpenOptions::new()
        .read(true)
        .write(true)
        .open(seg_path)
        .map_err(io_err("open", seg_path))?;
    let idx = OpenOptions::new()
        .read(true)
        .write(true)
        .open(idx_path)
        .map_err(io_err("open", idx_path))?;
    check_header(&seg, seg_path, SEGMENT_MAGIC, first)?;
    check_header(&idx, idx_path, INDEX_MAGIC, first)?;
    let seg_len = seg.metadata().map_err(io_err("stat", seg_path))?.len();
    let idx_len = idx.metadata().map_err(io_err("stat", idx_path))?.len();
    let mut offsets_bytes = vec![0u8; (idx_len - HEADER_LEN) as usize / 8 * 8];
    idx.read_exact_at(&mut offsets_bytes, HEADER_LEN)
        .map_err(io_err("read", idx_path))?;
    let offsets: Vec<u64> = offsets_bytes
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            u64::from_le_bytes(b)
        })
        .collect();
    // Trust indexed records while each is complete and checksummed, scanning from the back
    // for speed: only the tail can be torn by a crash.
    let mut count = offsets.len();
    let mut end = HEADER_LEN;
    while count > 0 {
        let off = offsets[count - 1];
        match record_end(&seg, off, seg_len) {
            Some(e) => {
                end = e;
                break;
            }
            None => count -= 1,
        }
    }
    if count == 0 {
        end = HEADER_LEN;
    }
    if first + (count as u64) < sealed && (count as u64) < offsets.len() as u64 {
        let bad = offsets[count];
        return Err(LedgerError::Corrupted {
            path: seg_path.to_owned(),
            offset: bad,
            reason: format!(
                "entry {} is damaged but checkpoint {sealed} covers it; not truncating (run `evident verify`)",
                first + count as u64
            ),
        });
    }
    // Records the segment has but the index lost.
    let mut extra = Vec::new();
    while let Some(e) = record_end(&seg, end, seg_len) {
        extra.extend_from_slice(&end.to_le_bytes());
        end = e;
        count += 1;
    }
    if end < seg_len {
        tracing::warn!(path = %seg_path.display(), bytes = seg_len - end, "truncating torn segment tail");
    }
    seg.set_len(end).map_err(io_err("truncate", seg_path))?;
    let idx_keep = HEADER_LEN + 8 * (count as u64 - (extra.len() / 8) as u64);
    idx.set_len(idx_keep)
        .map_err(io_err("truncate", idx_path))?;
    if !extra.is_empty() {
        idx.write_all_at(&extra, idx_keep)
            .map_err(io_err("write", idx_path))?;
    }
    seg.sync_all().map_err(io_err("fsync", seg_path))?;
    idx.sync_all().map_err(io_err("fsync", idx_path))?;
    Ok(Recovered {
        count: count as u64,
        segment_len: end,
    })
}

fn check_header(f: &File, path: &Path, magic: &[u8; 8], first: u64) -> Result<(), LedgerError> {
    let mut h = [0u8; 16];
    f.read_exact_at(&mut h, 0)
        .map_err(|_| LedgerError::Corrupted {
            path: path.to_owned(),
            offset: 0,
            reason: "file shorter than its 16-byte header".into(),
        })?;
    let mut n = [0u8; 8];
    n.copy_from_slice(&h[8..]);
    if &h[..8] != magic || u64::from_le_bytes(n) != first {
        return Err(LedgerError::Corrupted {
            path: path.to_owned(),
            offset: 0,
            reason: "bad header (wrong magic, version or first index)".into(),
        });
    }
    Ok(())
}

/// End offset of the record at `off` if it is complete and its checksum matches.
fn record_end(seg: &File, off: u64, seg_len: u64) -> Option<u64> {
    if off < HEADER_LEN || off + FRAME_LEN > seg_len {
        return None;
    }
    let mut frame = [0u8; 8];
    seg.read_exact_at(&mut frame, off).ok()?;
    let (len, crc) = split_frame(&frame);
    let end = off + FRAME_LEN + len as u64;
    if end > seg_len {
        return None;
    }
    let mut body = vec![0u8; len as usize];
    seg.read_exact_at(&mut body, off + FRAME_LEN).ok()?;
    (crc32fast::hash(&body) == crc).then_some(end)
}

pub(crate) fn split_frame(frame: &[u8; 8]) -> (u32, u32) {
    let mut a = [0u8; 4];
    let mut b = [0u8; 4];
    a.copy_from_slice(&frame[..4]);
    b.copy_from_slice(&frame[4..]);
    (u32::from_le_bytes(a), u32::from_le_bytes(b))
}

fn read_record(seg: &File, path: &Path, offset: u64) -> Result<Vec<u8>, LedgerError> {
    let mut frame = [0u8; 8];
    seg.read_exact_at(&mut frame, offset)
        .map_err(io_err("read", path))?;
    let (len, crc) = split_frame(&frame);
    if len as usize > MAX_ENTRY_BYTES {
        return Err(LedgerError::Corrupted {
            path: path.to_owned(),
            offset,
            reason: format!("record length {len} exceeds the limit"),
        });
    }
    let mut body = vec![0u8; len as usize];
    seg.read_exact_at(&mut body, offset + FRAME_LEN)
        .map_err(io_err("read", path))?;
    if crc32fast::hash(&body) != crc {
        return Err(LedgerError::Corrupted {
            path: path.to_owned(),
            offset,
            reason: "record checksum mismatch".into(),
        });
    }
    Ok(body)
}

/// Wall-clock time in nanoseconds since the Unix epoch.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_until_the_first_closes() {
        let dir = tempfile::tempdir().unwrap();
        let signer = || {
            NoteSigner::parse(&NoteSigner::generate("t.test/l").unwrap().to_key_string()).unwrap()
        };
        let first = Ledger::open(dir.path(), signer(), LedgerOptions::default()).unwrap();
        let err = Ledger::open(dir.path(), signer(), LedgerOptions::default())
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            format!(
                "{} is locked by another process (is `evident serve` running on this data directory?)",
                dir.path().join("LOCK").display()
            )
        );
        drop(first);
        assert!(Ledger::open(dir.path(), signer(), LedgerOptions::default()).is_ok());
    }

    #[test]
    fn for_each_entry_streams_ranges_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let options = LedgerOptions {
            segment_max_bytes: 2000,
        };
        let ledger = Ledger::open(
            dir.path(),
            NoteSigner::generate("t.test/it").unwrap(),
            options,
        )
        .unwrap();
        for batch in 0..10u64 {
            let entries = (0..20)
                .map(|i| Entry::log("s", batch * 20 + i, vec![b'x'; 40]))
                .collect();
            ledger.append(entries).unwrap();
        }
        assert!(fs::read_dir(dir.path().join("segments")).unwrap().count() > 4);
        let mut seen = Vec::new();
        ledger
            .for_each_entry(15, 150, |i, bytes| {
                assert_eq!(bytes, ledger.entry_bytes(i).unwrap());
                seen.push(i);
            })
            .unwrap();
        assert_eq!(seen, (15..150).collect::<Vec<_>>());
        let mut tail = Vec::new();
        ledger
            .for_each_entry(195, 10_000, |i, _| tail.push(i))
            .unwrap();
        assert_eq!(tail, vec![195, 196, 197, 198, 199]);
    }

    #[test]
    fn read_only_view_sees_the_checkpointed_tree_while_a_writer_runs() {
        let dir = tempfile::tempdir().unwrap();
        let key = NoteSigner::generate("t.test/ro").unwrap().to_key_string();
        let writer = Ledger::open(
            dir.path(),
            NoteSigner::parse(&key).unwrap(),
            LedgerOptions::default(),
        )
        .unwrap();
        let entries = |n: u64| {
            (0..n)
                .map(|i| Entry::log("s", i, vec![b'x'; i as usize]))
                .collect()
        };
        writer.append(entries(300)).unwrap();
        let cp = writer.checkpoint().unwrap();
        writer.append(entries(5)).unwrap();
        let view = Ledger::open_read_only(dir.path(), NoteSigner::parse(&key).unwrap()).unwrap();
        assert_eq!((view.size(), view.root()), (300, cp.checkpoint.root));
        assert_eq!(
            view.entry_bytes(299).unwrap(),
            writer.entry_bytes(299).unwrap()
        );
        assert_eq!(
            view.inclusion_proof(7, 300).unwrap(),
            writer.inclusion_proof(7, 300).unwrap()
        );
        assert_eq!(view.checkpoint().unwrap(), cp);
        assert!(matches!(
            view.append(entries(1)),
            Err(LedgerError::ReadOnly)
        ));
        assert!(matches!(
            view.entry_bytes(300),
            Err(LedgerError::NoSuchEntry {
                index: 300,
                size: 300
            })
        ));
    }
}
