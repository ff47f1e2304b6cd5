//! The log as C2SP tiles (`pennytrail_log::tiles`), read from the store, and the cache that
//! serves them again. A tile or bundle never changes once the log holds its range, so
//! the cache never invalidates: it only forgets the least recently served tiles when it
//! holds more than its byte bound (`--tile-cache-mb`).
//!
//! `pennytrail tiles sync` writes a static copy with [`read_tile`] too, so the files of a
//! copy and the answers of `/log/…` come from one function.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;

use crate::log::tiles::{TileId, TileKind, encode_bundle, tile_bytes};
use crate::store::{Store, StoreError, StoreResult};

/// Default byte bound of the tile cache: 256 MiB holds ~28,000 full level-0 tiles with
/// their bundles at ~1 KB per entry, the last ~7 million entries' worth of hash tiles.
pub const DEFAULT_TILE_CACHE_MB: u64 = 256;

/// Bookkeeping counted against the bound per cached tile, beside its bytes.
const OVERHEAD_PER_TILE: u64 = 128;

/// The bytes of `tile`, read from the store: a hash tile's stored hashes, or the entries
/// of a bundle, each with its big-endian u16 length. The caller has checked that the
/// log holds the tile ([`TileId::exists_in`]).
///
/// # Errors
/// A store failure, or [`StoreError::Corrupt`] when the store lacks what the checkpoint
/// says it holds.
pub async fn read_tile(store: &Store, tile: TileId) -> StoreResult<Vec<u8>> {
    match tile.kind {
        TileKind::Hashes { .. } => {
            let hashes = store.tree_hashes(&tile.stored_indexes()).await?;
            Ok(tile_bytes(&hashes))
        }
        TileKind::Entries => {
            let first = tile.first_entry();
            let entries = store.entries(first, u64::from(tile.width)).await?;
            let in_order = entries.len() == usize::from(tile.width)
                && entries
                    .iter()
                    .zip(first..)
                    .all(|((seq, _), expected)| *seq == expected);
            if !in_order {
                return Err(StoreError::Corrupt(format!(
                    "entries {first}..{} are not all stored",
                    first + u64::from(tile.width)
                )));
            }
            encode_bundle(entries.iter().map(|(_, body)| body.as_slice()))
                .map_err(|e| StoreError::Corrupt(format!("bundle {}: {e}", tile.path())))
        }
    }
}

/// A tile as served: its bytes, and for entry bundles the same bytes gzip-compressed.
#[derive(Debug, Clone)]
pub struct ServedTile {
    pub bytes: Bytes,
    pub gzip: Option<Bytes>,
}

impl ServedTile {
    /// Entry bundles are JSON text and compress ~5:1; hash tiles are random bytes and are
    /// served as they are.
    pub fn new(tile: TileId, bytes: Vec<u8>) -> ServedTile {
        let gzip = (tile.kind == TileKind::Entries).then(|| {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            // Writing into a Vec cannot fail.
            let _ = encoder.write_all(&bytes);
            Bytes::from(encoder.finish().unwrap_or_default())
        });
        ServedTile {
            bytes: Bytes::from(bytes),
            gzip,
        }
    }

    fn cost(&self) -> u64 {
        self.bytes.len() as u64
            + self.gzip.as_ref().map_or(0, |g| g.len() as u64)
            + OVERHEAD_PER_TILE
    }
}

/// Tiles already served, least recently used forgotten first, within a byte bound.
pub struct TileCache {
    bound: u64,
    inner: Mutex<Lru>,
    hits: AtomicU64,
    misses: AtomicU64,
}

#[derive(Default)]
struct Lru {
    tiles: HashMap<TileId, (ServedTile, u64)>,
    /// Last use → tile; the first is the least recently used.
    by_use: BTreeMap<u64, TileId>,
    clock: u64,
    bytes: u64,
}

/// The cache's figures for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileCacheStats {
    pub bound: u64,
    pub bytes: u64,
    pub tiles: u64,
    pub hits: u64,
    pub misses: u64,
}

impl TileCache {
    /// A cache holding at most `bound_bytes` (0 keeps nothing).
    pub fn new(bound_bytes: u64) -> TileCache {
        TileCache {
            bound: bound_bytes,
            inner: Mutex::new(Lru::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The cached tile, counted as a hit or a miss.
    pub fn get(&self, tile: &TileId) -> Option<ServedTile> {
        let mut lru = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let lru = &mut *lru;
        lru.clock += 1;
        let now = lru.clock;
        let found = lru.tiles.get_mut(tile).map(|(served, used)| {
            let before = std::mem::replace(used, now);
            (served.clone(), before)
        });
        match found {
            Some((served, before)) => {
                lru.by_use.remove(&before);
                lru.by_use.insert(now, *tile);
                self.hits.fetch_add(1, Ordering::Relaxed);
                Some(served)
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Keeps `served`, forgetting the least recently used tiles to stay within the bound.
    pub fn insert(&self, tile: TileId, served: ServedTile) {
        let cost = served.cost();
        if cost > self.bound {
            return;
        }
        let mut lru = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let lru = &mut *lru;
        lru.clock += 1;
        let now = lru.clock;
        if let Some((old, used)) = lru.tiles.insert(tile, (served, now)) {
            lru.by_use.remove(&used);
            lru.bytes -= old.cost();
        }
        lru.by_use.insert(now, tile);
        lru.bytes += cost;
        while lru.bytes > self.bound {
            let Some((_, oldest)) = lru.by_use.pop_first() else {
                break;
            };
            if let Some((old, _)) = lru.tiles.remove(&oldest) {
                lru.bytes -= old.cost();
            }
        }
    }

    pub fn stats(&self) -> TileCacheStats {
        let lru = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        TileCacheStats {
            bound: self.bound,
            bytes: lru.bytes,
            tiles: lru.tiles.len() as u64,
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(index: u64) -> TileId {
        TileId::full(TileKind::Hashes { level: 0 }, index)
    }

    #[test]
    fn the_cache_keeps_within_its_bound_and_forgets_the_least_recently_used() {
        let one = ServedTile::new(tile(0), vec![7; 1000]).cost();
        let cache = TileCache::new(3 * one);
        for i in 0..3 {
            cache.insert(tile(i), ServedTile::new(tile(i), vec![7; 1000]));
        }
        assert!(cache.get(&tile(0)).is_some()); // 0 is now the most recent
        cache.insert(tile(3), ServedTile::new(tile(3), vec![7; 1000]));
        assert!(
            cache.get(&tile(1)).is_none(),
            "1 was the least recently used"
        );
        for i in [0, 2, 3] {
            assert!(cache.get(&tile(i)).is_some(), "{i}");
        }
        let stats = cache.stats();
        assert_eq!((stats.tiles, stats.bytes), (3, 3 * one));
        assert_eq!((stats.hits, stats.misses), (4, 1));
        // Re-inserting does not count twice; a tile over the bound is not kept.
        cache.insert(tile(3), ServedTile::new(tile(3), vec![7; 1000]));
        assert_eq!(cache.stats().bytes, 3 * one);
        cache.insert(tile(9), ServedTile::new(tile(9), vec![7; 10 * 1000]));
        assert!(cache.get(&tile(9)).is_none());
        assert_eq!(TileCache::new(0).stats().bytes, 0);
    }

    #[test]
    fn bundles_are_also_kept_gzipped() {
        let bundle = TileId::full(TileKind::Entries, 0);
        let served = ServedTile::new(bundle, b"{\"a\":1}".repeat(500));
        let gzip = served.gzip.clone().unwrap();
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gzip[..]), &mut plain)
            .unwrap();
        assert_eq!(plain, served.bytes.to_vec());
        assert!(gzip.len() * 5 < served.bytes.len());
        assert!(ServedTile::new(tile(0), vec![1; 64]).gzip.is_none());
    }
}
