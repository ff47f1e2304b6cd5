//! The tree file: a flat copy of the `tree_hashes` table beside the SQLite database
//! (stored hash `i` at byte `32·i`), so an inclusion proof is a few reads from the page
//! cache instead of a query. It holds 64 bytes per entry (640 MB for 10M entries) in
//! the page cache, not in the process's memory.
//!
//! The database stays the record. The file is only ever a copy that may lag behind:
//! - it is appended after a batch commits, by one task ([`follow`]), which first copies
//!   from the database whatever it missed;
//! - at start it is trusted only if the last run closed it cleanly (a marker file holds
//!   its length); otherwise it is emptied and rebuilt from the database in the background;
//! - every proof read from it is verified against the signed checkpoint before it is
//!   served; one that does not verify turns the file off until the next start, which
//!   rebuilds it. A damaged file can cost speed, never a wrong proof.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::mpsc;

use super::{Store, StoreError, StoreResult, StoredCheckpoint};
use crate::log::hash::Hash;
use crate::log::merkle::{
    inclusion_proof, inclusion_proof_indexes, stored_hash_index, verify_inclusion,
};

/// Most hashes one read of the file covers (8 KiB): a proof's hashes this close together
/// are read at once.
const MAX_HASHES_PER_READ: u64 = 256;

/// File name of the tree file inside the data directory.
pub const TREE_FILE: &str = "pennytrail.tree";

/// Stored hashes copied from the database per read while catching up: 100,000 hashes
/// are 3.2 MB, read in well under a second, so appends never wait long behind a rebuild.
const CATCH_UP_CHUNK: u64 = 100_000;

/// New hashes of committed batches waiting to be appended. When the follower falls
/// further behind, batches are dropped and it copies what they held from the database.
pub const MAX_PENDING_APPENDS: usize = 64;

/// Hashes of one committed batch: consecutive stored hashes from `first`.
pub struct Appended {
    pub first: u64,
    pub hashes: Vec<Hash>,
}

#[derive(Debug)]
pub struct TreeFile {
    file: File,
    path: PathBuf,
    /// Hashes in the file that readers may use (published after they are written).
    len: AtomicU64,
    /// Cleared when a proof read from the file did not verify.
    usable: AtomicBool,
}

fn marker_path(path: &Path) -> PathBuf {
    path.with_extension("tree.closed")
}

impl TreeFile {
    /// Opens (or creates) the tree file. Its contents are kept only if the last run
    /// closed it cleanly and it is not longer than the database's `stored` hashes.
    pub fn open(path: PathBuf, stored: u64) -> std::io::Result<TreeFile> {
        let closed_len = fs::read_to_string(marker_path(&path))
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok());
        // Until closed again, a crash must not leave a marker that vouches for it.
        match fs::remove_file(marker_path(&path)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        let on_disk = file.metadata()?.len() / 32;
        let len = match closed_len {
            Some(n) if n == on_disk => n.min(stored),
            _ => 0,
        };
        file.set_len(len * 32)?;
        Ok(TreeFile {
            file,
            path,
            len: AtomicU64::new(len),
            usable: AtomicBool::new(true),
        })
    }

    /// Stored hashes in the file.
    pub fn len(&self) -> u64 {
        self.len.load(Ordering::Acquire)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// False once a proof read from the file failed to verify.
    pub fn is_usable(&self) -> bool {
        self.usable.load(Ordering::Relaxed)
    }

    /// Appends hashes starting at stored index `first`, which must be the file's length.
    fn append(&self, first: u64, hashes: &[Hash]) -> std::io::Result<()> {
        debug_assert_eq!(first, self.len());
        let bytes: Vec<u8> = hashes.iter().flat_map(|h| h.0).collect();
        self.file.write_all_at(&bytes, first * 32)?;
        self.len
            .store(first + hashes.len() as u64, Ordering::Release);
        Ok(())
    }

    /// The hashes at `indexes` (in that order), read one run of nearby hashes at a time:
    /// a proof's lower levels lie within a few KiB of its leaf, and one read per hash
    /// (some 25 on a 10M-entry log) was a third of the server's time serving proofs.
    fn read_many(&self, indexes: &[u64]) -> Option<Vec<Hash>> {
        let mut order: Vec<usize> = (0..indexes.len()).collect();
        order.sort_by_key(|&k| indexes[k]);
        let mut hashes = vec![Hash([0; 32]); indexes.len()];
        let mut buffer = Vec::new();
        let mut rest = &order[..];
        while let Some(&first) = rest.first() {
            let start = indexes[first];
            // The run: every next index within reach of the run's start.
            let run = rest
                .iter()
                .take_while(|&&k| indexes[k] - start < MAX_HASHES_PER_READ)
                .count();
            let end = indexes[rest[run - 1]] + 1;
            buffer.resize(usize::try_from(end - start).ok()? * 32, 0);
            self.file.read_exact_at(&mut buffer, start * 32).ok()?;
            for &k in &rest[..run] {
                let at = usize::try_from(indexes[k] - start).ok()? * 32;
                hashes[k] = Hash(buffer[at..at + 32].try_into().ok()?);
            }
            rest = &rest[run..];
        }
        Some(hashes)
    }

    /// The inclusion proof of `seq` in `checkpoint`, read from the file and verified
    /// against the checkpoint's root; `None` if the file cannot answer (then the caller
    /// reads the database).
    pub fn verified_proof(&self, seq: u64, checkpoint: &StoredCheckpoint) -> Option<Vec<Hash>> {
        if !self.usable.load(Ordering::Relaxed) {
            return None;
        }
        let len = self.len();
        // The proof's hashes, then the leaf's.
        let mut wanted = inclusion_proof_indexes(checkpoint.size, seq).ok()?;
        wanted.push(stored_hash_index(0, seq));
        if wanted.iter().any(|&i| i >= len) {
            return None;
        }
        let mut hashes = self.read_many(&wanted)?;
        let leaf = hashes.pop()?;
        let proof = inclusion_proof(checkpoint.size, seq, &hashes).ok()?;
        if verify_inclusion(&proof, checkpoint.size, &checkpoint.root, seq, &leaf).is_err() {
            self.usable.store(false, Ordering::Relaxed);
            tracing::error!(
                file = %self.path.display(), seq, size = checkpoint.size,
                "the tree file gave a proof that does not verify; proofs are read from the \
                 database until the next start, which rebuilds the file"
            );
            return None;
        }
        Some(proof)
    }

    /// Syncs the file and leaves the marker that lets the next start trust it.
    fn close(&self) -> std::io::Result<()> {
        if !self.usable.load(Ordering::Relaxed) {
            return Ok(());
        }
        self.file.sync_all()?;
        fs::write(marker_path(&self.path), format!("{}\n", self.len()))
    }
}

/// Keeps the tree file level with the database: copies what it lacks of the `stored`
/// hashes at start, then appends each committed batch (copying from the database first
/// if batches were dropped), until `batches` closes; then closes the file cleanly.
pub async fn follow(
    store: Store,
    file: Arc<TreeFile>,
    stored: u64,
    mut batches: mpsc::Receiver<Appended>,
) {
    if let Err(e) = catch_up(&store, &file, stored).await {
        tracing::warn!(error = %e, "copying tree hashes into the tree file failed; proofs read the database meanwhile");
    }
    while let Some(batch) = batches.recv().await {
        let result = async {
            catch_up(&store, &file, batch.first).await?;
            let skip = file.len().saturating_sub(batch.first);
            match batch.hashes.get(skip as usize..) {
                Some(rest) if !rest.is_empty() => {
                    append(&file, batch.first + skip, rest.to_vec()).await
                }
                _ => Ok(()),
            }
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "appending to the tree file failed; proofs read the database meanwhile");
        }
    }
    if let Err(e) = file.close() {
        tracing::warn!(error = %e, "closing the tree file failed; the next start rebuilds it");
    }
}

/// Copies stored hashes from the database into the file up to index `until`.
async fn catch_up(store: &Store, file: &Arc<TreeFile>, until: u64) -> StoreResult<()> {
    while file.len() < until {
        let from = file.len();
        let to = until.min(from + CATCH_UP_CHUNK);
        let rows = store.tree_hash_range(from, to).await?;
        if rows.len() as u64 != to - from || rows.first().map(|r| r.0) != Some(from) {
            return Err(StoreError::Corrupt(format!(
                "tree hashes {from}..{to} are not all stored"
            )));
        }
        append(file, from, rows.into_iter().map(|(_, h)| h).collect()).await?;
    }
    Ok(())
}

/// Appends on a blocking thread (a write to the page cache, but still a system call).
async fn append(file: &Arc<TreeFile>, first: u64, hashes: Vec<Hash>) -> StoreResult<()> {
    let file = file.clone();
    tokio::task::spawn_blocking(move || file.append(first, &hashes))
        .await
        .map_err(std::io::Error::other)
        .and_then(|written| written)
        .map_err(|e| StoreError::Unavailable(format!("writing the tree file: {e}")))
}
