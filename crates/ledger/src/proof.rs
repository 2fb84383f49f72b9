//! RFC 9162 §2.1.3–2.1.4: building inclusion and consistency proofs from any source of
//! subtree hashes, and checking them with nothing but the hashes.

use crate::hash::{Hash, largest_power_of_two_below, node_hash};

/// Why a proof did not check out. The variants carry the claimed numbers so a message can
/// say which proof, for which tree, failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// Claimed leaf index.
        index: u64,
        /// Claimed tree size.
        size: u64,
    },
    /// Sizes that no consistency proof can connect (0 or decreasing).
    #[error("no consistency proof exists from size {from} to size {to}")]
    BadSizes {
        /// Older size.
        from: u64,
        /// Newer size.
        to: u64,
    },
    /// A non-empty proof between equal sizes.
    #[error("proof has {got} hashes, expected {want}")]
    WrongLength {
        /// Hashes given.
        got: usize,
        /// Hashes the sizes call for.
        want: usize,
    },
    /// Different sizes, but no hashes to connect them.
    #[error("empty proof cannot connect size {from} to size {to}")]
    EmptyProof {
        /// Older size.
        from: u64,
        /// Newer size.
        to: u64,
    },
    /// Recomputing the root from the proof gave a different hash.
    #[error("proof does not lead to the expected root")]
    RootMismatch,
}

/// Proof that [`verify_inclusion`] passed. Code that publishes evidence takes one, so a
/// skipped check does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InclusionVerified(());

/// Proof that [`verify_consistency`] passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsistencyVerified(());

/// Anything that can produce the hash of a complete subtree: `height` levels tall, the
/// `index`-th such subtree from the left (leaves `index·2^height .. (index+1)·2^height`).
/// The ledger's tiles implement it; tests implement it over a `Vec` of leaf hashes.
pub trait SubtreeHashes {
    /// Error when a hash cannot be read (I/O, missing tile).
    type Error;
    /// Hash of the complete subtree; callers only ask for subtrees inside the tree.
    fn subtree(&self, height: u8, index: u64) -> Result<Hash, Self::Error>;
}

/// MTH(D[start..end]) for a range whose left part is aligned, as every range in RFC 9162's
/// recursions is.
pub fn range_hash<S: SubtreeHashes>(src: &S, start: u64, end: u64) -> Result<Hash, S::Error> {
    let n = end - start;
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return src.subtree(n.trailing_zeros() as u8, start >> n.trailing_zeros());
    }
    let k = largest_power_of_two_below(n);
    Ok(node_hash(
        &range_hash(src, start, start + k)?,
        &range_hash(src, start + k, end)?,
    ))
}

/// Root of the tree of `size` leaves (the empty root for size 0).
pub fn tree_root<S: SubtreeHashes>(src: &S, size: u64) -> Result<Hash, S::Error> {
    if size == 0 {
        return Ok(crate::hash::empty_root());
    }
    range_hash(src, 0, size)
}

/// PATH(index, D[0..size]): the inclusion proof, leaf's sibling first. Callers check
/// `index < size`.
pub fn inclusion_proof<S: SubtreeHashes>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, S::Error> {
    let mut out = Vec::new();
    path(src, index, 0, size, &mut out)?;
    Ok(out)
}

fn path<S: SubtreeHashes>(
    src: &S,
    m: u64,
    start: u64,
    end: u64,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = largest_power_of_two_below(n);
    if m < k {
        path(src, m, start, start + k, out)?;
        out.push(range_hash(src, start + k, end)?);
    } else {
        path(src, m - k, start + k, end, out)?;
        out.push(range_hash(src, start, start + k)?);
    }
    Ok(())
}

/// PROOF(from, D[0..to]): the consistency proof. Empty when `from` is 0 or equals `to`;
/// callers check `from <= to`.
pub fn consistency_proof<S: SubtreeHashes>(
    src: &S,
    from: u64,
    to: u64,
) -> Result<Vec<Hash>, S::Error> {
    let mut out = Vec::new();
    if from > 0 && from < to {
        subproof(src, from, 0, to, true, &mut out)?;
    }
    Ok(out)
}

fn subproof<S: SubtreeHashes>(
    src: &S,
    m: u64,
    start: u64,
    end: u64,
    whole: bool,
    out: &mut Vec<Hash>,
) -> Result<(), S::Error> {
    let n = end - start;
    if m == n {
        if !whole {
            out.push(range_hash(src, start, end)?);
        }
        return Ok(());
    }
    let k = largest_power_of_two_below(n);
    if m <= k {
        subproof(src, m, start, start + k, whole, out)?;
        out.push(range_hash(src, start + k, end)?);
    } else {
        subproof(src, m - k, start + k, end, false, out)?;
        out.push(range_hash(src, start, start + k)?);
    }
    Ok(())
}

/// RFC 9162 §2.1.3.2: checks that `leaf` sits at `index` in the tree of `size` with `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<InclusionVerified, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::RootMismatch);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn == 0 && r == *root {
        Ok(InclusionVerified(()))
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// RFC 9162 §2.1.4.2: checks that the tree (`to`, `to_root`) extends (`from`, `from_root`).
pub fn verify_consistency(
    from: u64,
    to: u64,
    proof: &[Hash],
    from_root: &Hash,
    to_root: &Hash,
) -> Result<ConsistencyVerified, ProofError> {
    if from > to {
        return Err(ProofError::BadSizes { from, to });
    }
    if from == to {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength {
                got: proof.len(),
                want: 0,
            });
        }
        return if from_root == to_root {
            Ok(ConsistencyVerified(()))
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if from == 0 {
        // Every tree extends the empty tree; a proof from 0 carries nothing.
        return if proof.is_empty() && *from_root == crate::hash::empty_root() {
            Ok(ConsistencyVerified(()))
        } else {
            Err(ProofError::BadSizes { from, to })
        };
    }
    if proof.is_empty() {
        return Err(ProofError::EmptyProof { from, to });
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if from.is_power_of_two() {
        path.push(*from_root);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (from - 1, to - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return Err(ProofError::RootMismatch);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn == 0 && fr == *from_root && sr == *to_root {
        Ok(ConsistencyVerified(()))
    } else {
        Err(ProofError::RootMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{leaf_hash, merkle_root};

    /// A toy tree: all leaf hashes in memory.
    struct Leaves(Vec<Hash>);

    impl SubtreeHashes for Leaves {
        type Error = std::convert::Infallible;
        fn subtree(&self, height: u8, index: u64) -> Result<Hash, Self::Error> {
            let w = 1usize << height;
            let s = index as usize * w;
            Ok(merkle_root(&self.0[s..s + w]))
        }
    }

    fn leaves(n: u64) -> Leaves {
        Leaves((0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect())
    }

    fn ok<T>(r: Result<T, std::convert::Infallible>) -> T {
        match r {
            Ok(v) => v,
            Err(e) => match e {},
        }
    }

    #[test]
    fn every_inclusion_proof_up_to_70_leaves_verifies_and_tampering_fails() {
        for size in 1..70u64 {
            let t = leaves(size);
            let root = ok(tree_root(&t, size));
            assert_eq!(root, merkle_root(&t.0));
            for i in 0..size {
                let p = ok(inclusion_proof(&t, i, size));
                assert!(verify_inclusion(i, size, &t.0[i as usize], &p, &root).is_ok());
                let other = leaf_hash(b"not in the tree");
                assert_eq!(
                    verify_inclusion(i, size, &other, &p, &root),
                    Err(ProofError::RootMismatch)
                );
            }
        }
    }

    #[test]
    fn every_consistency_proof_up_to_70_leaves_verifies_and_tampering_fails() {
        for to in 1..70u64 {
            let t = leaves(to);
            let to_root = ok(tree_root(&t, to));
            for from in 1..=to {
                let from_root = ok(tree_root(&t, from));
                let p = ok(consistency_proof(&t, from, to));
                assert!(
                    verify_consistency(from, to, &p, &from_root, &to_root).is_ok(),
                    "{from}->{to}"
                );
                if let Some(first) = p.first() {
                    let mut bad = p.clone();
                    bad[0] = node_hash(first, first);
                    assert!(verify_consistency(from, to, &bad, &from_root, &to_root).is_err());
                }
            }
        }
    }
}
