//! C2SP tlog-tiles: tile paths and the tree's right edge (the partial tile of every level),
//! from which full tiles fall out as the tree grows and the root is computed.

use crate::hash::{Hash, merkle_root};
use crate::proof::SubtreeHashes;

/// Hashes per full tile (tile height 8).
pub const TILE_WIDTH: u64 = 256;
/// Bytes of a full tile on disk and on the wire.
pub const FULL_TILE_BYTES: usize = TILE_WIDTH as usize * 32;

/// A tile's place in the tree: `level` L holds hashes of height 8·L.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Tile level.
    pub level: u8,
    /// Tile index within the level.
    pub index: u64,
}

impl TileId {
    /// Path below the log prefix, `tile/<L>/<N>` with N in `x001/x234/067` form, plus
    /// `.p/<W>` for a partial tile of width W (1..=255).
    pub fn path(&self, width: Option<u64>) -> String {
        let mut groups = Vec::new();
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        let mut out = format!("tile/{}", self.level);
        for (i, g) in groups.iter().enumerate().rev() {
            if i == 0 {
                out.push_str(&format!("/{g:03}"));
            } else {
                out.push_str(&format!("/x{g:03}"));
            }
        }
        if let Some(w) = width {
            out.push_str(&format!(".p/{w}"));
        }
        out
    }

    /// Parses a path as produced by [`TileId::path`] (without the prefix), rejecting
    /// non-canonical forms so one tile has exactly one name. Returns the width for partials.
    pub fn parse_path(path: &str) -> Option<(TileId, Option<u64>)> {
        let rest = path.strip_prefix("tile/")?;
        let (level, rest) = rest.split_once('/')?;
        if level.is_empty() || level.len() > 2 || (level.len() > 1 && level.starts_with('0')) {
            return None;
        }
        let level: u8 = level.parse().ok()?;
        if level > 63 {
            return None;
        }
        let (index_part, width) = match rest.split_once(".p/") {
            Some((i, w)) => {
                let wv: u64 = w.parse().ok()?;
                if wv == 0 || wv >= TILE_WIDTH || wv.to_string() != w {
                    return None;
                }
                (i, Some(wv))
            }
            None => (rest, None),
        };
        let parts: Vec<&str> = index_part.split('/').collect();
        let mut index: u64 = 0;
        for (i, p) in parts.iter().enumerate() {
            let digits = if i + 1 < parts.len() {
                p.strip_prefix('x')?
            } else {
                p
            };
            if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            index = index
                .checked_mul(1000)?
                .checked_add(digits.parse::<u64>().ok()?)?;
        }
        let id = TileId { level, index };
        (id.path(width) == path).then_some((id, width))
    }
}

/// A tile completed by the last append, ready to be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullTile {
    /// Which tile.
    pub id: TileId,
    /// Its 256 hashes.
    pub hashes: Vec<Hash>,
}

impl FullTile {
    /// Tile bytes: the hashes concatenated.
    pub fn to_bytes(&self) -> Vec<u8> {
        tile_bytes(&self.hashes)
    }
}

/// Concatenates hashes into tile bytes.
pub fn tile_bytes(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.0).collect()
}

/// Splits tile bytes into hashes; `None` if the length is not a multiple of 32.
pub fn tile_hashes(bytes: &[u8]) -> Option<Vec<Hash>> {
    if !bytes.len().is_multiple_of(32) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(32)
            .filter_map(Hash::from_slice)
            .collect(),
    )
}

/// The tree's right edge. Invariant: `levels[L]` holds the hashes of the partial tile at
/// level L for a tree of `size` leaves, i.e. exactly `(size >> 8L) % 256` hashes.
#[derive(Clone, Debug, Default)]
pub struct TreeEdge {
    size: u64,
    levels: Vec<Vec<Hash>>,
}

impl TreeEdge {
    /// The edge of the empty tree.
    pub fn new() -> TreeEdge {
        TreeEdge::default()
    }

    /// Rebuilds the edge of a tree of `size` from the partial-tile hashes of each level
    /// (level 0 first); used when reopening a ledger.
    pub fn from_levels(size: u64, levels: Vec<Vec<Hash>>) -> Option<TreeEdge> {
        for (l, hashes) in levels.iter().enumerate() {
            if hashes.len() as u64 != partial_width(size, l as u8) {
                return None;
            }
        }
        if levels.len() < level_count(size) {
            return None;
        }
        Some(TreeEdge { size, levels })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The partial tile at `level` (possibly empty).
    pub fn partial(&self, level: u8) -> &[Hash] {
        self.levels
            .get(level as usize)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Adds a leaf; pushes every tile it completes onto `completed`.
    pub fn push(&mut self, leaf: Hash, completed: &mut Vec<FullTile>) {
        self.size += 1;
        let mut hash = leaf;
        let mut level = 0usize;
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::with_capacity(TILE_WIDTH as usize));
            }
            self.levels[level].push(hash);
            if self.levels[level].len() < TILE_WIDTH as usize {
                return;
            }
            let hashes = std::mem::replace(
                &mut self.levels[level],
                Vec::with_capacity(TILE_WIDTH as usize),
            );
            hash = merkle_root(&hashes);
            let count = self.size >> (8 * level as u32);
            completed.push(FullTile {
                id: TileId {
                    level: level as u8,
                    index: count / TILE_WIDTH - 1,
                },
                hashes,
            });
            level += 1;
        }
    }

    /// The root hash of the current tree.
    pub fn root(&self) -> Hash {
        match crate::proof::tree_root(self, self.size) {
            Ok(h) => h,
            // Every subtree of the tree's own decomposition lies in the right edge.
            Err(NotOnEdge) => unreachable_root(),
        }
    }

    /// The subtree hash if it lies inside a partial tile of the edge.
    pub fn edge_subtree(&self, height: u8, index: u64) -> Option<Hash> {
        let level = height / 8;
        let r = height % 8;
        let first = index << r;
        let count = 1u64 << r;
        let level_len = self.size.checked_shr(8 * level as u32).unwrap_or(0);
        let start = level_len - level_len % TILE_WIDTH;
        if first < start || first + count > level_len {
            return None;
        }
        let hashes = self.levels.get(level as usize)?;
        let s = (first - start) as usize;
        Some(merkle_root(&hashes[s..s + count as usize]))
    }
}

/// Marker error: the subtree is not on the right edge and must be read from full tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotOnEdge;

impl SubtreeHashes for TreeEdge {
    type Error = NotOnEdge;
    fn subtree(&self, height: u8, index: u64) -> Result<Hash, NotOnEdge> {
        self.edge_subtree(height, index).ok_or(NotOnEdge)
    }
}

#[cold]
fn unreachable_root() -> Hash {
    // Kept as a function so `root` stays infallible; reaching it would be a bug in TreeEdge.
    debug_assert!(false, "tree decomposition left the right edge");
    crate::hash::empty_root()
}

/// Width of the partial tile at `level` for a tree of `size`.
pub fn partial_width(size: u64, level: u8) -> u64 {
    size.checked_shr(8 * level as u32).unwrap_or(0) % TILE_WIDTH
}

/// Number of full tiles at `level` for a tree of `size`.
pub fn full_tiles(size: u64, level: u8) -> u64 {
    size.checked_shr(8 * level as u32).unwrap_or(0) / TILE_WIDTH
}

/// Levels that hold at least one hash for a tree of `size`.
pub fn level_count(size: u64) -> usize {
    let mut n = 0;
    let mut s = size;
    while s > 0 {
        n += 1;
        s >>= 8;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn paths_follow_the_spec_examples() {
        let p = |level, index, w| TileId { level, index }.path(w);
        assert_eq!(p(0, 0, None), "tile/0/000");
        assert_eq!(p(1, 1234067, None), "tile/1/x001/x234/067");
        assert_eq!(p(0, 1234067, Some(8)), "tile/0/x001/x234/067.p/8");
        assert_eq!(
            TileId::parse_path("tile/1/x001/x234/067"),
            Some((
                TileId {
                    level: 1,
                    index: 1234067
                },
                None
            ))
        );
        assert_eq!(
            TileId::parse_path("tile/0/005.p/17"),
            Some((TileId { level: 0, index: 5 }, Some(17)))
        );
        for bad in [
            "tile/0/5",
            "tile/0/x000/005",
            "tile/0/005.p/0",
            "tile/0/005.p/256",
            "tile/00/005",
            "tile/0/005/",
            "tile/entries/000",
        ] {
            assert_eq!(TileId::parse_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn edge_emits_tiles_and_matches_the_plain_root() {
        let mut edge = TreeEdge::new();
        let mut leaves = Vec::new();
        let mut done = Vec::new();
        for i in 0..(256u64 * 256 + 300) {
            let h = leaf_hash(&i.to_le_bytes());
            leaves.push(h);
            edge.push(h, &mut done);
            if [1, 2, 255, 256, 257, 511, 65536, 65537].contains(&(i + 1)) {
                assert_eq!(edge.root(), merkle_root(&leaves), "size {}", i + 1);
            }
        }
        assert_eq!(edge.root(), merkle_root(&leaves));
        let level0: Vec<_> = done.iter().filter(|t| t.id.level == 0).collect();
        assert_eq!(level0.len(), 257);
        assert_eq!(level0[3].hashes, leaves[768..1024].to_vec());
        let level1: Vec<_> = done.iter().filter(|t| t.id.level == 1).collect();
        assert_eq!(level1.len(), 1);
        assert_eq!(level1[0].hashes[0], merkle_root(&leaves[..256]));
        assert_eq!(edge.partial(0).len(), 300 % 256);
    }
}
