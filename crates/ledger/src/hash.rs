//! RFC 9162 §2.1.1 hashing: the only place leaf and interior hashes are computed.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// A SHA-256 Merkle tree hash. Leaves and interior nodes are domain-separated (0x00 / 0x01
/// prefixes), so a `Hash` never says which it is; the position in the tree does.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Standard base64 (RFC 4648 §4), the encoding of checkpoints and proofs.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// Parses a base64 hash as it appears in checkpoints, proofs and test vectors.
    pub fn from_base64(text: &str) -> Option<Hash> {
        let bytes = STANDARD.decode(text.trim()).ok()?;
        Hash::from_slice(&bytes)
    }

    /// Takes exactly 32 bytes; anything else is not a SHA-256 hash.
    pub fn from_slice(bytes: &[u8]) -> Option<Hash> {
        <[u8; 32]>::try_from(bytes).ok().map(Hash)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_base64())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

/// Leaf hash of an entry: SHA-256(0x00 ‖ entry bytes).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    Hash(h.finalize().into())
}

/// Interior node hash: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = 1;
    buf[1..33].copy_from_slice(&left.0);
    buf[33..].copy_from_slice(&right.0);
    Hash(Sha256::digest(buf).into())
}

/// Root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// Root of a run of hashes that form a complete subtree (length a power of two), or of any
/// run (RFC 9162 MTH over already-hashed leaves); empty input gives the empty root.
pub fn merkle_root(hashes: &[Hash]) -> Hash {
    match hashes.len() {
        0 => empty_root(),
        1 => hashes[0],
        n => {
            let k = largest_power_of_two_below(n as u64) as usize;
            node_hash(&merkle_root(&hashes[..k]), &merkle_root(&hashes[k..]))
        }
    }
}

/// The largest power of two strictly smaller than `n` (n ≥ 2): RFC 9162's split point.
pub(crate) fn largest_power_of_two_below(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            empty_root().to_base64(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn split_point_is_largest_power_below() {
        assert_eq!(largest_power_of_two_below(2), 1);
        assert_eq!(largest_power_of_two_below(3), 2);
        assert_eq!(largest_power_of_two_below(4), 2);
        assert_eq!(largest_power_of_two_below(5), 4);
        assert_eq!(largest_power_of_two_below(257), 256);
    }

    #[test]
    fn leaf_of_empty_entry_matches_rfc_vectors() {
        // transparency-dev/merkle's first leaf hash is SHA-256(0x00).
        assert_eq!(
            leaf_hash(b"").to_base64(),
            "bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0="
        );
    }
}
