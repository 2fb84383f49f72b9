//! Evident's tamper-evident ledger: every received record is appended as an [`Entry`] to
//! segment files, hashed into an RFC 9162 Merkle tree stored as C2SP hash tiles, and sealed
//! by Ed25519-signed C2SP checkpoints. [`Ledger`] appends (group commit, one fsync for many
//! callers), recovers after a crash, and produces inclusion and consistency proofs;
//! [`verify()`] re-reads everything and names the first damage; [`TlogProof`] is the
//! offline proof file. Synchronous, no networking: the server crate wraps it.
//!
//! ```
//! use evident_ledger::{Entry, Ledger, LedgerOptions, NoteSigner, TlogProof, verify_inclusion, leaf_hash};
//!
//! let dir = tempfile::tempdir()?;
//! let ledger = Ledger::open(dir.path(), NoteSigner::generate("example.test/log")?, LedgerOptions::default())?;
//! let receipt = ledger.append(vec![Entry::log("app", 1, b"hello".to_vec())])?;
//! let cp = ledger.checkpoint()?;
//! let proof = ledger.inclusion_proof(receipt.first_index, cp.checkpoint.size)?;
//! let leaf = leaf_hash(&ledger.entry_bytes(receipt.first_index)?);
//! verify_inclusion(receipt.first_index, cp.checkpoint.size, &leaf, &proof, &cp.checkpoint.root)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod archive;
mod entry;
mod fsutil;
mod hash;
mod note;
mod proof;
mod prune;
mod store;
mod tiles;
mod tlog_proof;
mod verify;

pub use archive::{ArchiveError, Manifest, Rehydrated, SealedSegment, open_archive};
pub use entry::{ENTRY_VERSION, Entry, EntryError, EntryKind};
pub use hash::{Hash, empty_root, leaf_hash, merkle_root, node_hash};
pub use note::{Checkpoint, NoteError, NoteSigner, NoteVerifier};
pub use proof::{
    ConsistencyVerified, InclusionVerified, ProofError, verify_consistency, verify_inclusion,
};
pub use prune::{
    PRUNE_FIRST_KEY, PRUNE_LAST_KEY, PrunedRange, SegmentInfo, authorizes, prune_authorization,
};
pub use store::{
    AppendReceipt, Ledger, LedgerError, LedgerOptions, MAX_ENTRY_BYTES, SignedCheckpoint, now_ns,
};
pub use tiles::{FULL_TILE_BYTES, TILE_WIDTH, TileId};
pub use tlog_proof::{TlogProof, TlogProofError};
pub use verify::{Damage, DamageKind, VerifyReport, verify};
