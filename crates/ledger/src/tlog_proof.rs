//! C2SP `tlog-proof@v1` files: an entry's index, its inclusion proof and the checkpoint it
//! is proven against, verifiable offline with the log's public key.

use crate::hash::{Hash, leaf_hash};
use crate::note::{Checkpoint, NoteError, NoteVerifier};
use crate::proof::{InclusionVerified, ProofError, verify_inclusion};

const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A parsed tlog-proof file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque, unauthenticated extra data (`extra` line), if any.
    pub extra: Option<String>,
    /// Entry index.
    pub index: u64,
    /// Inclusion proof hashes, leaf sibling first.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint_note: String,
}

/// Why a tlog-proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlogProofError {
    /// The text is not a tlog-proof file.
    #[error("malformed tlog-proof (line {line}): {reason}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The embedded checkpoint does not verify.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] NoteError),
    /// The inclusion proof does not connect the entry to the checkpoint.
    #[error("inclusion proof: {0}")]
    Proof(#[from] ProofError),
}

impl TlogProof {
    /// Serializes to the file format.
    pub fn to_text(&self) -> String {
        let mut out = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {extra}\n"));
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            out.push_str(&h.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint_note);
        out
    }

    /// Parses the file format strictly.
    pub fn parse(text: &str) -> Result<TlogProof, TlogProofError> {
        let bad = |line: usize, reason: &str| TlogProofError::Malformed {
            line,
            reason: reason.to_owned(),
        };
        let mut lines = text.split('\n').enumerate().map(|(i, l)| (i + 1, l));
        match lines.next() {
            Some((_, HEADER)) => {}
            _ => return Err(bad(1, "first line must be c2sp.org/tlog-proof@v1")),
        }
        let (mut n, mut line) = lines.next().ok_or_else(|| bad(2, "missing index line"))?;
        let mut extra = None;
        if let Some(e) = line.strip_prefix("extra ") {
            extra = Some(e.to_owned());
            (n, line) = lines.next().ok_or_else(|| bad(3, "missing index line"))?;
        }
        let idx_text = line
            .strip_prefix("index ")
            .ok_or_else(|| bad(n, "expected \"index N\""))?;
        let index: u64 = idx_text
            .parse()
            .ok()
            .filter(|i: &u64| i.to_string() == idx_text)
            .ok_or_else(|| bad(n, "index is not a canonical decimal"))?;
        let mut proof = Vec::new();
        let mut consumed = None;
        for (n, line) in lines.by_ref() {
            if line.is_empty() {
                consumed = Some(n);
                break;
            }
            proof.push(
                Hash::from_base64(line)
                    .ok_or_else(|| bad(n, "proof line is not a base64 SHA-256 hash"))?,
            );
        }
        let blank =
            consumed.ok_or_else(|| bad(n + 1, "missing blank line before the checkpoint"))?;
        let checkpoint_note = text.split('\n').skip(blank).collect::<Vec<_>>().join("\n");
        if checkpoint_note.is_empty() {
            return Err(bad(blank + 1, "missing checkpoint"));
        }
        Ok(TlogProof {
            extra,
            index,
            proof,
            checkpoint_note,
        })
    }

    /// Verifies the proof for the entry whose exact bytes are `entry`: the checkpoint must be
    /// signed by `verifier` and the inclusion proof must lead to its root.
    pub fn verify(
        &self,
        verifier: &NoteVerifier,
        entry: &[u8],
    ) -> Result<(Checkpoint, InclusionVerified), TlogProofError> {
        let cp = Checkpoint::open(&self.checkpoint_note, verifier)?;
        let ok = verify_inclusion(
            self.index,
            cp.size,
            &leaf_hash(entry),
            &self.proof,
            &cp.root,
        )?;
        Ok((cp, ok))
    }
}
