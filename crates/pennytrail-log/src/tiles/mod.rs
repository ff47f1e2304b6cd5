//! C2SP tlog-tiles: the log as immutable files (`../shared/standards/c2sp/tlog-tiles.md`).
//!
//! A tile at level `L`, index `N` and width `W` holds the `W` hashes of the complete
//! subtrees of height `8·L` at positions `N·256 … N·256+W-1`; level 0 holds leaf hashes.
//! Every one of them is a stored hash ([`stored_hash_index`]`(8·L, N·256+i)`), so a tile
//! is read from the stored tree, never computed. An entry bundle holds the same range of
//! entries as the level-0 tile with the same index and width.
//!
//! This module has the path grammar, which tiles a tree size needs, the bundle encoding
//! and [`TreeCheck`], which verifies a whole tiled log against a signed root one tile at
//! a time, in memory proportional to the tree size / 256.

mod check;

pub use check::{TileCheckError, TreeCheck, full_tile_root};

use crate::hash::{HASH_LEN, Hash};
use crate::merkle::stored_hash_index;

/// Hashes in a full tile (tiles have height 8).
pub const TILE_WIDTH: u64 = 256;
/// Bytes of a full hash tile.
pub const FULL_TILE_BYTES: usize = TILE_WIDTH as usize * HASH_LEN;
/// Highest tile level the grammar allows.
pub const MAX_LEVEL: u8 = 63;
/// Largest entry an entry bundle can carry (its length prefix is a u16).
pub const MAX_BUNDLED_ENTRY: usize = u16::MAX as usize;

/// What a tile path names: hashes at a level, or the entries themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    Hashes { level: u8 },
    Entries,
}

/// One tile or entry bundle: kind, index within its level and width (1 to 256; 256 is a
/// full tile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    pub kind: TileKind,
    pub index: u64,
    pub width: u16,
}

/// Why a tile path is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TilePathError {
    #[error("a tile path starts with tile/")]
    NotATile,
    #[error("the level must be a number from 0 to 63 without leading zeros, not {0:?}")]
    Level(String),
    #[error(
        "the index must be 3-digit groups, all but the last starting with x (like x001/x234/067), with no leading zero group"
    )]
    Index,
    #[error("the width after .p/ must be a number from 1 to 255 without leading zeros, not {0:?}")]
    Width(String),
}

impl TileId {
    /// A full tile.
    pub fn full(kind: TileKind, index: u64) -> TileId {
        TileId {
            kind,
            index,
            width: TILE_WIDTH as u16,
        }
    }

    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The tile's level; entry bundles cover the same ranges as level 0.
    pub fn level(&self) -> u8 {
        match self.kind {
            TileKind::Hashes { level } => level,
            TileKind::Entries => 0,
        }
    }

    /// The smallest tree size that holds everything this tile names: `(N·256+W)·256^L`;
    /// `None` beyond u64 (such a tile can never exist).
    pub fn needs_size(&self) -> Option<u64> {
        let units = self
            .index
            .checked_mul(TILE_WIDTH)?
            .checked_add(u64::from(self.width))?;
        let span = TILE_WIDTH.checked_pow(u32::from(self.level()))?;
        units.checked_mul(span)
    }

    /// Whether a log whose latest checkpoint has `size` entries serves this tile.
    pub fn exists_in(&self, size: u64) -> bool {
        self.needs_size().is_some_and(|needed| needed <= size)
    }

    /// First entry this tile covers.
    pub fn first_entry(&self) -> u64 {
        self.index * TILE_WIDTH.pow(u32::from(self.level()) + 1)
    }

    /// The stored-hash indexes of a hash tile's hashes, in order (empty for a bundle).
    pub fn stored_indexes(&self) -> Vec<u64> {
        let TileKind::Hashes { level } = self.kind else {
            return Vec::new();
        };
        (0..u64::from(self.width))
            .map(|i| stored_hash_index(8 * u32::from(level), self.index * TILE_WIDTH + i))
            .collect()
    }

    /// The path below the log's prefix, without a leading slash: `tile/0/x001/234` or
    /// `tile/entries/005.p/17`.
    pub fn path(&self) -> String {
        let mut path = String::from("tile/");
        match self.kind {
            TileKind::Hashes { level } => path.push_str(&level.to_string()),
            TileKind::Entries => path.push_str("entries"),
        }
        path.push('/');
        path.push_str(&index_path(self.index));
        if !self.is_full() {
            path.push_str(".p/");
            path.push_str(&self.width.to_string());
        }
        path
    }

    /// Parses a path as [`TileId::path`] writes it (only that spelling).
    ///
    /// # Errors
    /// [`TilePathError`] naming the part that is wrong.
    pub fn parse(path: &str) -> Result<TileId, TilePathError> {
        let rest = path.strip_prefix("tile/").ok_or(TilePathError::NotATile)?;
        let (head, rest) = rest.split_once('/').ok_or(TilePathError::NotATile)?;
        let kind = if head == "entries" {
            TileKind::Entries
        } else {
            let level = canonical_number(head)
                .filter(|l| *l <= u64::from(MAX_LEVEL))
                .ok_or_else(|| TilePathError::Level(head.to_string()))?;
            TileKind::Hashes { level: level as u8 }
        };
        let (index, width) = match rest.split_once(".p/") {
            Some((index, width)) => {
                let w = canonical_number(width)
                    .filter(|w| (1..TILE_WIDTH).contains(w))
                    .ok_or_else(|| TilePathError::Width(width.to_string()))?;
                (index, w as u16)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let index = parse_index_path(index).ok_or(TilePathError::Index)?;
        Ok(TileId { kind, index, width })
    }
}

/// `1234067` → `x001/x234/067`.
fn index_path(mut index: u64) -> String {
    let mut groups = vec![format!("{:03}", index % 1000)];
    index /= 1000;
    while index > 0 {
        groups.push(format!("x{:03}", index % 1000));
        index /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

fn parse_index_path(text: &str) -> Option<u64> {
    let groups: Vec<&str> = text.split('/').collect();
    let (last, leading) = groups.split_last()?;
    let mut index: u64 = 0;
    for (position, group) in leading.iter().enumerate() {
        let digits = group.strip_prefix('x')?;
        if position == 0 && digits == "000" {
            return None; // the shortest spelling only
        }
        index = index
            .checked_mul(1000)?
            .checked_add(three_digits(digits)?)?;
    }
    index.checked_mul(1000)?.checked_add(three_digits(last)?)
}

fn three_digits(text: &str) -> Option<u64> {
    (text.len() == 3 && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok())?
}

/// A decimal number with no sign, no leading zero and at most 19 digits.
fn canonical_number(text: &str) -> Option<u64> {
    let ok = !text.is_empty()
        && text.len() < 20
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    ok.then(|| text.parse().ok())?
}

/// The width of the tile at `level` that is partial in a tree of `size`: `⌊size/256^L⌋ mod
/// 256` (0: there is none).
pub fn partial_width(size: u64, level: u8) -> u64 {
    TILE_WIDTH
        .checked_pow(u32::from(level))
        .map_or(0, |span| (size / span) % TILE_WIDTH)
}

/// Number of full tiles at `level` in a tree of `size`.
pub fn full_tiles(size: u64, level: u8) -> u64 {
    TILE_WIDTH
        .checked_pow(u32::from(level) + 1)
        .map_or(0, |span| size / span)
}

/// Levels a tree of `size` has tiles on (0 for an empty tree).
pub fn levels(size: u64) -> u8 {
    let mut levels = 0u8;
    while levels <= MAX_LEVEL
        && TILE_WIDTH
            .checked_pow(u32::from(levels))
            .is_some_and(|span| size >= span)
    {
        levels += 1;
    }
    levels
}

/// Every tile a tree of `size` is served as: each level-0 tile followed by the entry
/// bundle of the same range, then the levels above, each level in index order with its
/// partial tile last. [`TreeCheck`] takes them in this order.
pub fn tiles_for_size(size: u64) -> impl Iterator<Item = TileId> {
    let level0 = level_tiles(TileKind::Hashes { level: 0 }, size, 0).flat_map(|tile| {
        [
            tile,
            TileId {
                kind: TileKind::Entries,
                ..tile
            },
        ]
    });
    let above = (1..levels(size))
        .flat_map(move |level| level_tiles(TileKind::Hashes { level }, size, level));
    level0.chain(above)
}

fn level_tiles(kind: TileKind, size: u64, level: u8) -> impl Iterator<Item = TileId> {
    let full = full_tiles(size, level);
    let partial = partial_width(size, level);
    (0..full)
        .map(move |index| TileId::full(kind, index))
        .chain((partial > 0).then_some(TileId {
            kind,
            index: full,
            width: partial as u16,
        }))
}

/// Why bytes are not the entry bundle they should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("entry {position} of the bundle is cut short")]
    Truncated { position: usize },
    #[error("the bundle holds {found} entries, not {expected}")]
    WrongCount { expected: usize, found: usize },
    #[error("entry {position} is {len} bytes, more than a bundle can carry")]
    TooLong { position: usize, len: usize },
}

/// Encodes entries as a bundle: each a big-endian u16 length, then its bytes.
///
/// # Errors
/// [`BundleError::TooLong`] for an entry over 65,535 bytes (log entries are at most 16 KiB).
pub fn encode_bundle<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, BundleError> {
    let mut bundle = Vec::new();
    for (position, entry) in entries.into_iter().enumerate() {
        let len = u16::try_from(entry.len()).map_err(|_| BundleError::TooLong {
            position,
            len: entry.len(),
        })?;
        bundle.extend_from_slice(&len.to_be_bytes());
        bundle.extend_from_slice(entry);
    }
    Ok(bundle)
}

/// Splits a bundle that must hold exactly `expected` entries.
///
/// # Errors
/// [`BundleError`] for a cut-short entry or a different number of entries.
pub fn decode_bundle(bytes: &[u8], expected: usize) -> Result<Vec<&[u8]>, BundleError> {
    let mut entries = Vec::with_capacity(expected);
    let mut rest = bytes;
    while !rest.is_empty() {
        let position = entries.len();
        let (len, tail) = rest
            .split_at_checked(2)
            .ok_or(BundleError::Truncated { position })?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let (entry, tail) = tail
            .split_at_checked(len)
            .ok_or(BundleError::Truncated { position })?;
        entries.push(entry);
        rest = tail;
    }
    if entries.len() != expected {
        return Err(BundleError::WrongCount {
            expected,
            found: entries.len(),
        });
    }
    Ok(entries)
}

/// Splits tile bytes into hashes.
///
/// # Errors
/// The length found when it is not `width` hashes.
pub fn tile_hashes(bytes: &[u8], width: u16) -> Result<Vec<Hash>, usize> {
    if bytes.len() != usize::from(width) * HASH_LEN {
        return Err(bytes.len());
    }
    Ok(bytes
        .chunks_exact(HASH_LEN)
        .map(|c| Hash::from_slice(c).expect("chunks are hash-sized"))
        .collect())
}

/// The tile's bytes: its hashes concatenated.
pub fn tile_bytes(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_and_refuse_other_spellings() {
        for (id, path) in [
            (
                TileId::full(TileKind::Hashes { level: 0 }, 1_234_067),
                "tile/0/x001/x234/067",
            ),
            (TileId::full(TileKind::Hashes { level: 2 }, 5), "tile/2/005"),
            (
                TileId::full(TileKind::Entries, 1000),
                "tile/entries/x001/000",
            ),
            (
                TileId {
                    kind: TileKind::Hashes { level: 1 },
                    index: 0,
                    width: 17,
                },
                "tile/1/000.p/17",
            ),
            (
                TileId {
                    kind: TileKind::Entries,
                    index: 273,
                    width: 112,
                },
                "tile/entries/273.p/112",
            ),
        ] {
            assert_eq!(id.path(), path);
            assert_eq!(TileId::parse(path), Ok(id), "{path}");
        }
        for bad in [
            "tile/00/000",
            "tile/64/000",
            "tile/-1/000",
            "tile/0/5",
            "tile/0/0005",
            "tile/0/x000/005",
            "tile/0/001/002",
            "tile/0/x1/002",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/017",
            "tile/0/000.p/",
            "tile/0/000/",
            "tile/0/",
            "tile/0",
            "tiles/0/000",
            "tile/entries/000.p/1x",
            "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
            "tile/0/+01",
            "tile//000",
        ] {
            assert!(TileId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tiles_of_a_70000_entry_tree_are_the_specs_example() {
        let tiles: Vec<TileId> = tiles_for_size(70_000).collect();
        let level = |l| {
            tiles
                .iter()
                .filter(move |t| t.kind == TileKind::Hashes { level: l })
        };
        assert_eq!(level(0).filter(|t| t.is_full()).count(), 273);
        assert_eq!(level(0).find(|t| !t.is_full()).map(|t| t.width), Some(112));
        assert_eq!(level(1).filter(|t| t.is_full()).count(), 1);
        assert_eq!(level(1).find(|t| !t.is_full()).map(|t| t.width), Some(17));
        assert_eq!(level(2).map(|t| t.width).collect::<Vec<_>>(), vec![1]);
        assert_eq!(level(3).count(), 0);
        let tiles256: Vec<String> = tiles_for_size(256).map(|t| t.path()).collect();
        assert_eq!(
            tiles256,
            ["tile/0/000", "tile/entries/000", "tile/1/000.p/1"]
        );
        assert_eq!(tiles_for_size(0).count(), 0);
        for size in [1u64, 255, 256, 257, 65_536, 70_000] {
            for tile in tiles_for_size(size) {
                assert!(tile.exists_in(size), "{} in {size}", tile.path());
            }
        }
        assert!(!TileId::full(TileKind::Entries, 1).exists_in(511));
        assert!(TileId::full(TileKind::Entries, 1).exists_in(512));
        assert!(!TileId::full(TileKind::Hashes { level: 63 }, u64::MAX).exists_in(u64::MAX));
    }

    #[test]
    fn bundles_round_trip_and_refuse_bad_lengths() {
        let entries: Vec<&[u8]> = vec![b"a", b"", b"{\"x\":1}"];
        let bundle = encode_bundle(entries.iter().copied()).unwrap();
        assert_eq!(&bundle[..3], &[0, 1, b'a']);
        assert_eq!(decode_bundle(&bundle, 3).unwrap(), entries);
        assert_eq!(
            decode_bundle(&bundle, 2),
            Err(BundleError::WrongCount {
                expected: 2,
                found: 3
            })
        );
        assert_eq!(
            decode_bundle(&bundle, 4),
            Err(BundleError::WrongCount {
                expected: 4,
                found: 3
            })
        );
        assert_eq!(
            decode_bundle(&bundle[..bundle.len() - 1], 3),
            Err(BundleError::Truncated { position: 2 })
        );
        assert!(encode_bundle([vec![0u8; 70_000].as_slice()]).is_err());
    }
}
