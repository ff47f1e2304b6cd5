//! `pennytrail check`: re-verifies a whole store from the entries up — canonical bytes,
//! the hash chain, the money rules and every derived running total, every stored tree
//! hash, every stored checkpoint's root and signature, and the head — and stops at the
//! first fault, naming it precisely.
//!
//! Work is streamed in pages, so memory stays flat however long the log is.

use anyhow::{Context as _, bail};

use crate::ledger::replay::Replayer;
use crate::log::checkpoint::Checkpoint;
use crate::log::entry::{self, ChainHead};
use crate::log::merkle::{Frontier, stored_hash_count, stored_hash_index};
use crate::log::note::NoteVerifier;
use crate::store::{Store, StoredCheckpoint};

/// Entries read per page: ~300 KB of typical entries, a few MB at most.
const CHECK_PAGE: u64 = 1000;

/// What a successful check covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub entries: u64,
    pub tree_hashes: u64,
    pub checkpoints: u64,
}

/// Walks the stored checkpoints in size order, a page at a time.
struct CheckpointCursor<'a> {
    store: &'a Store,
    verifier: NoteVerifier,
    page: std::vec::IntoIter<StoredCheckpoint>,
    next: Option<StoredCheckpoint>,
    checked: u64,
}

impl<'a> CheckpointCursor<'a> {
    async fn new(store: &'a Store, verifier: NoteVerifier) -> anyhow::Result<CheckpointCursor<'a>> {
        let mut cursor = CheckpointCursor {
            store,
            verifier,
            page: Vec::new().into_iter(),
            next: None,
            checked: 0,
        };
        cursor.advance(0).await?;
        Ok(cursor)
    }

    async fn advance(&mut self, from: u64) -> anyhow::Result<()> {
        self.next = match self.page.next() {
            Some(cp) => Some(cp),
            None => {
                self.page = self.store.checkpoints(from, CHECK_PAGE).await?.into_iter();
                self.page.next()
            }
        };
        Ok(())
    }

    /// Checks every stored checkpoint of exactly the current tree size.
    async fn check_at(&mut self, frontier: &Frontier) -> anyhow::Result<()> {
        let size = frontier.size();
        while let Some(cp) = self.next.take_if(|cp| cp.size == size) {
            let opened = Checkpoint::open(&cp.note, &self.verifier)
                .with_context(|| format!("checkpoint of size {size}: signature or format"))?;
            if opened.size != cp.size || opened.root != cp.root {
                bail!(
                    "checkpoint of size {size}: the signed note says size {} root {}, the stored row says root {}",
                    opened.size,
                    opened.root.to_base64(),
                    cp.root.to_base64()
                );
            }
            let root = frontier.root();
            if root != cp.root {
                bail!(
                    "checkpoint of size {size}: signed root {} but the entries give {}",
                    cp.root.to_base64(),
                    root.to_base64()
                );
            }
            self.checked += 1;
            self.advance(size + 1).await?;
        }
        Ok(())
    }
}

/// Checks the whole store. `progress` is called after every page with (entries done,
/// total); the caller throttles what it shows.
pub async fn check_store(
    store: &Store,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<CheckReport> {
    let meta = store
        .log_meta()
        .await?
        .context("the store holds no log (no log_meta row)")?;
    let verifier =
        NoteVerifier::from_text(&meta.verifier_key).context("the stored verifier key")?;
    if verifier.name() != meta.origin {
        bail!(
            "the stored verifier key is named {:?}, not the origin {:?}",
            verifier.name(),
            meta.origin
        );
    }
    let head = store.head().await?;
    let mut chain = ChainHead::GENESIS;
    let mut ledger = Replayer::new(&meta.origin);
    let mut frontier = Frontier::empty();
    let mut checkpoints = CheckpointCursor::new(store, verifier).await?;
    checkpoints.check_at(&frontier).await?;

    while chain.size < head.size {
        let page = store.entries(chain.size, CHECK_PAGE).await?;
        let Some(&(last_seq, _)) = page.last() else {
            bail!(
                "entry {} is missing (the head says the log has {} entries)",
                chain.size,
                head.size
            );
        };
        let mut stored = store
            .tree_hash_range(
                stored_hash_index(0, chain.size),
                stored_hash_count(last_seq + 1),
            )
            .await?
            .into_iter();
        for (seq, bytes) in page {
            if seq != chain.size {
                bail!(
                    "entry {} is missing (the next stored entry is {seq})",
                    chain.size
                );
            }
            let parsed = entry::parse(&bytes).with_context(|| format!("entry {seq}"))?;
            chain
                .advance(&parsed, &bytes)
                .with_context(|| format!("entry {seq}"))?;
            ledger.replay(&parsed, chain.leaf_hash)?;
            let (first_index, created) = frontier.append(chain.leaf_hash);
            for (index, expected) in (first_index..).zip(created) {
                match stored.next() {
                    Some((i, hash)) if i == index && hash == expected => {}
                    Some((i, _)) if i == index => {
                        bail!(
                            "tree hash {index} (added with entry {seq}) does not match the entries"
                        )
                    }
                    _ => bail!("tree hash {index} (added with entry {seq}) is missing"),
                }
            }
            checkpoints.check_at(&frontier).await?;
        }
        progress(chain.size, head.size);
    }
    if let Some(cp) = &checkpoints.next {
        bail!(
            "checkpoint of size {} is beyond the log's {} entries",
            cp.size,
            head.size
        );
    }
    if chain != head {
        bail!(
            "the stored head (size {}, leaf {}) does not match the entries (size {}, leaf {})",
            head.size,
            head.leaf_hash,
            chain.size,
            chain.leaf_hash
        );
    }
    progress(chain.size, head.size);
    Ok(CheckReport {
        entries: chain.size,
        tree_hashes: stored_hash_count(chain.size),
        checkpoints: checkpoints.checked,
    })
}
