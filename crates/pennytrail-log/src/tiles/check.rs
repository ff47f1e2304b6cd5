//! [`TreeCheck`]: a whole tiled log verified against its signed root one tile at a time,
//! and the Merkle arithmetic inside a tile.

use super::{MAX_LEVEL, TILE_WIDTH, TileId, TileKind, decode_bundle, tile_hashes, tiles_for_size};
use crate::hash::{Hash, leaf_hash, node_hash};

/// Hash of the subtree of height `r` (0 to 8) whose leaves are `hashes[start..start+2^r]`.
fn subtree(hashes: &[Hash], start: usize, height: u32) -> Hash {
    if height == 0 {
        return hashes[start];
    }
    let half = 1usize << (height - 1);
    node_hash(
        &subtree(hashes, start, height - 1),
        &subtree(hashes, start + half, height - 1),
    )
}

/// The hash a full tile contributes to the level above: the root of its 256 hashes.
pub fn full_tile_root(hashes: &[Hash]) -> Hash {
    debug_assert_eq!(hashes.len(), TILE_WIDTH as usize);
    subtree(hashes, 0, 8)
}

/// The complete subtrees of a tree of `size` (largest first) as (height, position).
fn decomposition(size: u64) -> Vec<(u32, u64)> {
    let mut parts = Vec::new();
    let mut offset = 0u64;
    for height in (0..64u32).rev() {
        if size & (1u64 << height) != 0 {
            parts.push((height, offset >> height));
            offset += 1u64 << height;
        }
    }
    parts
}

/// Why a tiled log does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileCheckError {
    #[error("{tile}: {reason}")]
    Tile { tile: String, reason: String },
    #[error(
        "the tiles give the root {computed} for {size} entries, but the checkpoint says {signed}"
    )]
    Root {
        size: u64,
        computed: String,
        signed: String,
    },
    #[error(
        "the tiles give the root {computed} for the first {size} entries, but the earlier checkpoint says {signed}: the log was rewritten"
    )]
    Inconsistent {
        size: u64,
        computed: String,
        signed: String,
    },
    #[error("tiles were checked out of order: expected {expected}, got {got}")]
    Order { expected: String, got: String },
}

/// Verifies the tiles and bundles of a tree of `size` against its root, fed in the order
/// of [`tiles_for_size`]: every level-0 hash is the leaf hash of its bundled entry, every
/// hash above is the root of the full tile below it, and the partial tiles give the
/// signed root. With an earlier (size, root), the same tiles must also give that root —
/// one checkpoint extends the other.
///
/// A copy that already holds the earlier tree's full tiles (verified when they were
/// written) need not check them again: [`TreeCheck::is_old`] names those tiles,
/// [`TreeCheck::needs_old`] says whether one's bytes are still needed (its root checks a
/// new tile above it), and [`TreeCheck::skip`] passes over one that is not.
///
/// Memory: the roots of one level's full tiles (32 bytes per 256 entries at level 0).
pub struct TreeCheck {
    size: u64,
    order: std::iter::Peekable<Box<dyn Iterator<Item = TileId> + Send>>,
    /// Roots of the previous level's full tiles by index, which this level's hashes
    /// must equal (`None` for a skipped old tile).
    below: Vec<Option<Hash>>,
    /// Roots of this level's full tiles, so far.
    current: Vec<Option<Hash>>,
    current_level: u8,
    /// Level-0 hashes kept until their bundles arrive.
    level0: std::collections::HashMap<u64, Vec<Hash>>,
    /// Subtree hashes of the decomposition of `size` and of the earlier size.
    parts: std::collections::HashMap<(u32, u64), Hash>,
    earlier: Option<(u64, Hash)>,
}

impl TreeCheck {
    pub fn new(size: u64, earlier: Option<(u64, Hash)>) -> TreeCheck {
        let order: Box<dyn Iterator<Item = TileId> + Send> = Box::new(tiles_for_size(size));
        TreeCheck {
            size,
            order: order.peekable(),
            below: Vec::new(),
            current: Vec::new(),
            current_level: 0,
            level0: std::collections::HashMap::new(),
            parts: std::collections::HashMap::new(),
            earlier,
        }
    }

    /// The next tile to feed, or `None` when every one was.
    pub fn next_tile(&mut self) -> Option<TileId> {
        self.order.peek().copied()
    }

    /// Whether `tile` is a full tile of the earlier tree (a copy made at the earlier
    /// checkpoint holds it).
    pub fn is_old(&self, tile: &TileId) -> bool {
        let old_size = self.earlier.map_or(0, |(size, _)| size);
        tile.is_full() && tile.exists_in(old_size)
    }

    /// Whether an old tile's bytes are needed: its root checks a hash above it that is
    /// new. Old entry bundles never are.
    pub fn needs_old(&self, tile: &TileId) -> bool {
        match tile.kind {
            TileKind::Entries => false,
            TileKind::Hashes { level } => {
                level < MAX_LEVEL
                    && !self.is_old(&TileId::full(
                        TileKind::Hashes { level: level + 1 },
                        tile.index / TILE_WIDTH,
                    ))
            }
        }
    }

    /// Passes over the next tile, an old one whose bytes are not needed.
    ///
    /// # Errors
    /// [`TileCheckError::Order`] when `tile` is not the next one, is not old, or is needed.
    pub fn skip(&mut self, tile: TileId) -> Result<(), TileCheckError> {
        if !self.is_old(&tile) || self.needs_old(&tile) {
            return Err(TileCheckError::Order {
                expected: tile.path(),
                got: format!("{} skipped", tile.path()),
            });
        }
        self.take_next(tile)?;
        if let TileKind::Hashes { level } = tile.kind {
            self.enter_level(level);
            self.current.push(None);
        }
        Ok(())
    }

    fn take_next(&mut self, tile: TileId) -> Result<(), TileCheckError> {
        let expected = self.order.next();
        if expected != Some(tile) {
            return Err(TileCheckError::Order {
                expected: expected.map_or("nothing".into(), |t| t.path()),
                got: tile.path(),
            });
        }
        Ok(())
    }

    fn enter_level(&mut self, level: u8) {
        if level != self.current_level {
            self.below = std::mem::take(&mut self.current);
            self.current_level = level;
        }
    }

    /// Feeds the next tile's bytes; keeps none of them.
    ///
    /// # Errors
    /// [`TileCheckError`] naming the tile that is wrong.
    pub fn feed(&mut self, tile: TileId, bytes: &[u8]) -> Result<(), TileCheckError> {
        self.take_next(tile)?;
        let old = self.is_old(&tile);
        let bad = |reason: String| TileCheckError::Tile {
            tile: tile.path(),
            reason,
        };
        match tile.kind {
            TileKind::Hashes { level } => {
                self.enter_level(level);
                let hashes = tile_hashes(bytes, tile.width).map_err(|len| {
                    bad(format!(
                        "{len} bytes, not {} hashes of 32 bytes",
                        tile.width
                    ))
                })?;
                // An old tile was checked when the copy got it; the tiles below it
                // may have been skipped.
                if level > 0 && !old {
                    for (i, hash) in hashes.iter().enumerate() {
                        let position = (tile.index * TILE_WIDTH) as usize + i;
                        if self.below.get(position).copied().flatten() != Some(*hash) {
                            return Err(bad(format!(
                                "hash {i} is not the root of the full tile {} below it",
                                TileId::full(
                                    TileKind::Hashes { level: level - 1 },
                                    position as u64
                                )
                                .path()
                            )));
                        }
                    }
                }
                if tile.is_full() {
                    self.current.push(Some(full_tile_root(&hashes)));
                }
                self.collect_parts(level, &tile, &hashes);
                if level == 0 && !old {
                    self.level0.insert(tile.index, hashes);
                }
            }
            TileKind::Entries if old => {}
            TileKind::Entries => {
                let hashes = self
                    .level0
                    .remove(&tile.index)
                    .ok_or_else(|| bad("its level-0 tile was not checked".into()))?;
                let entries = decode_bundle(bytes, usize::from(tile.width))
                    .map_err(|e| bad(e.to_string()))?;
                for (i, (entry, hash)) in entries.iter().zip(&hashes).enumerate() {
                    if leaf_hash(entry) != *hash {
                        return Err(bad(format!(
                            "entry {} does not hash to its level-0 tile hash",
                            tile.first_entry() + i as u64
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// Computes, from a hash tile, every subtree of the two decompositions it holds.
    fn collect_parts(&mut self, level: u8, tile: &TileId, hashes: &[Hash]) {
        let sizes = std::iter::once(self.size).chain(self.earlier.map(|(s, _)| s));
        let low = 8 * u32::from(level);
        let wanted: Vec<(u32, u64)> = sizes
            .flat_map(decomposition)
            .filter(|(height, _)| (low..low + 8).contains(height))
            .collect();
        for (height, position) in wanted {
            let r = height - low;
            // Position of its first hash at this level, and of that hash in the tile.
            let first = position << r;
            if first / TILE_WIDTH != tile.index {
                continue;
            }
            let start = (first % TILE_WIDTH) as usize;
            if start + (1usize << r) <= hashes.len() {
                self.parts
                    .insert((height, position), subtree(hashes, start, r));
            }
        }
    }

    fn root_of(&self, size: u64) -> Option<Hash> {
        let mut parts = decomposition(size)
            .into_iter()
            .map(|part| self.parts.get(&part).copied())
            .collect::<Option<Vec<Hash>>>()?;
        let mut root = parts.pop()?;
        while let Some(left) = parts.pop() {
            root = node_hash(&left, &root);
        }
        Some(root)
    }

    /// After every tile was fed: the tiles give `root` (and the earlier root).
    ///
    /// # Errors
    /// [`TileCheckError::Root`], [`TileCheckError::Inconsistent`], or `Order` when tiles
    /// are missing.
    pub fn finish(mut self, root: &Hash) -> Result<(), TileCheckError> {
        if let Some(next) = self.order.next() {
            return Err(TileCheckError::Order {
                expected: next.path(),
                got: "the end".into(),
            });
        }
        let computed = if self.size == 0 {
            crate::hash::empty_root()
        } else {
            self.root_of(self.size).unwrap_or(Hash::ZERO)
        };
        if computed != *root {
            return Err(TileCheckError::Root {
                size: self.size,
                computed: computed.to_base64(),
                signed: root.to_base64(),
            });
        }
        if let Some((size, signed)) = self.earlier {
            let computed = if size == 0 {
                crate::hash::empty_root()
            } else {
                self.root_of(size).unwrap_or(Hash::ZERO)
            };
            if computed != signed || size > self.size {
                return Err(TileCheckError::Inconsistent {
                    size,
                    computed: computed.to_base64(),
                    signed: signed.to_base64(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::tests::{MemoryTree, reference_root};
    use crate::tiles::{encode_bundle, tile_bytes};

    /// Serves a tree's tiles the way a log does: from stored hashes.
    fn serve(tree: &MemoryTree, entries: &[Vec<u8>], tile: &TileId) -> Vec<u8> {
        match tile.kind {
            TileKind::Hashes { .. } => tile_bytes(&tree.read(&tile.stored_indexes())),
            TileKind::Entries => {
                let first = tile.first_entry() as usize;
                let slice = &entries[first..first + usize::from(tile.width)];
                encode_bundle(slice.iter().map(Vec::as_slice)).unwrap()
            }
        }
    }

    fn check(
        tree: &MemoryTree,
        entries: &[Vec<u8>],
        size: u64,
        root: Hash,
        earlier: Option<(u64, Hash)>,
        tamper: Option<&str>,
    ) -> Result<(), TileCheckError> {
        let mut check = TreeCheck::new(size, earlier);
        while let Some(tile) = check.next_tile() {
            let mut bytes = serve(tree, entries, &tile);
            if tamper == Some(tile.path().as_str()) {
                let last = bytes.len() - 1;
                bytes[last] ^= 1;
            }
            check.feed(tile, &bytes)?;
        }
        check.finish(&root)
    }

    #[test]
    fn tree_check_accepts_the_log_and_finds_every_change() {
        let entries: Vec<Vec<u8>> = (0..70_000u32)
            .map(|i| format!("entry {i}").into_bytes())
            .collect();
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        let mut tree = MemoryTree::new();
        let mut roots = vec![crate::hash::empty_root()];
        for (i, leaf) in leaves.iter().enumerate() {
            tree.push(*leaf);
            if [1, 255, 256, 257, 511, 512, 65_536, 70_000].contains(&(i + 1)) {
                roots.push(reference_root(&leaves[..=i]));
            } else {
                roots.push(Hash::ZERO);
            }
        }
        for size in [1u64, 255, 256, 257, 512, 65_536, 70_000] {
            let root = roots[size as usize];
            check(&tree, &entries, size, root, None, None).unwrap();
            // Consistent with every smaller interesting size, not with a wrong root.
            for old in [1u64, 255, 256, 257, 512, 65_536] {
                if old <= size {
                    check(
                        &tree,
                        &entries,
                        size,
                        root,
                        Some((old, roots[old as usize])),
                        None,
                    )
                    .unwrap();
                }
            }
            let forged = Some((1, leaf_hash(b"another first entry")));
            assert!(matches!(
                check(&tree, &entries, size, root, forged, None),
                Err(TileCheckError::Inconsistent { .. })
            ));
            assert!(matches!(
                check(&tree, &entries, size, Hash::ZERO, None, None),
                Err(TileCheckError::Root { .. })
            ));
        }
        // A copy made at 65,536 entries: its full tiles are skipped unless needed.
        let mut incremental = TreeCheck::new(70_000, Some((65_536, roots[65_536])));
        let (mut skipped, mut fed) = (0, 0);
        while let Some(tile) = incremental.next_tile() {
            if incremental.is_old(&tile) && !incremental.needs_old(&tile) {
                incremental.skip(tile).unwrap();
                skipped += 1;
            } else {
                incremental
                    .feed(tile, &serve(&tree, &entries, &tile))
                    .unwrap();
                fed += 1;
            }
        }
        incremental.finish(&roots[70_000]).unwrap();
        // Old: 256 level-0 tiles, 256 bundles, level-1 tile 0; needed: none of them
        // (level-1 tile 0 is old, level-2's tile is new: level-1 tile 0 is fed).
        assert_eq!((skipped, fed), (512, tiles_for_size(70_000).count() - 512));
        let mut wrong = TreeCheck::new(70_000, Some((65_536, roots[65_536])));
        assert!(
            wrong
                .skip(TileId::full(TileKind::Hashes { level: 1 }, 0))
                .is_err()
        );

        let root = roots[70_000];
        for tampered in [
            "tile/0/000",
            "tile/0/273.p/112",
            "tile/1/000",
            "tile/1/001.p/17",
            "tile/2/000.p/1",
            "tile/entries/005",
            "tile/entries/273.p/112",
        ] {
            let error = check(&tree, &entries, 70_000, root, None, Some(tampered)).unwrap_err();
            assert!(
                matches!(
                    error,
                    TileCheckError::Tile { .. } | TileCheckError::Root { .. }
                ),
                "{tampered}: {error}"
            );
        }
    }
}
