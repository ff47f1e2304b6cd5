//! Durable storage of the log — entries, stored tree hashes, signed checkpoints, id
//! index and tokens — on SQLite (the embedded default) or PostgreSQL, behind one type.
//!
//! Both backends run the same SQL (SQLite accepts PostgreSQL's `$n` placeholders), so each
//! query is written once and [`dispatch!`] expands it for whichever backend is open.
//! Only what truly differs lives apart: the DDL in `migrations/<dialect>`, connection
//! setup, and how an append transaction takes the write lock (`BEGIN IMMEDIATE` on
//! SQLite, `SELECT … FOR UPDATE` on the head row in PostgreSQL).

mod append;
mod batch;
mod ledger;
mod open;
mod queries;
mod recent_ids;
mod tree_file;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock, RwLock};

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, PgPool, QueryBuilder, Row, SqliteConnection, SqlitePool};

use crate::log::entry::ChainHead;
use crate::log::hash::Hash;
use crate::log::merkle::{inclusion_proof, inclusion_proof_indexes};
use crate::log::time::UnixMillis;

pub use crate::ledger::records::RecordKey;
pub use append::{AppendTx, HeadMoved, POSTGRES_ID_LOOKUP};
pub use batch::BatchRows;
pub use ledger::{AckRow, CorrectionRow, DisbursementRow, DonationRow};
pub use open::{StoreConfig, open};
pub use queries::{
    BeneficiaryRow, CampaignRow, DisbursementView, DonationView, SpreadBar, StatedRow,
};
pub use recent_ids::{MAX_RECENT_IDS, RecentIds, waits as id_waits};
pub use tree_file::{
    Appended, MAX_PENDING_APPENDS, TREE_FILE, TreeFile, follow as follow_tree_file,
};

/// Most rows bound in one multi-row statement: 1,000 rows × at most 4 parameters stays
/// far below SQLite's 32,766 and PostgreSQL's 65,535 bound-parameter limits.
pub const MAX_ROWS_PER_STATEMENT: usize = 1000;

/// What a client is told when the store fails (the error itself is logged, never sent).
pub const OUTAGE_DETAIL: &str =
    "the log is temporarily unavailable; retry later (writes are safe to retry with the same id)";

/// Errors from the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The store could not be reached or is misconfigured; the message says which and how.
    #[error("{0}")]
    Unavailable(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// An open store. Cloning is cheap (pools are shared).
#[derive(Clone, Debug)]
pub enum Store {
    /// SQLite: one writer connection (appends are serialised by the sequencer anyway),
    /// a separate pool of readers, which WAL lets run beside the writer, and one
    /// connection that checkpoints the WAL into the database file beside the writer.
    Sqlite {
        writer: SqlitePool,
        readers: SqlitePool,
        checkpointer: SqlitePool,
        local: Arc<SqliteLocal>,
    },
    Postgres {
        pool: PgPool,
    },
}

/// What the serving process keeps beside its SQLite store, set up by its sequencer (a
/// process that only reads the store, such as `pennytrail check`, leaves both alone).
#[derive(Debug)]
pub struct SqliteLocal {
    /// The database file; the tree file lives beside it.
    path: PathBuf,
    tree_file: OnceLock<Arc<TreeFile>>,
    /// The newest checkpoint this process committed and recorded beside the key.
    latest: RwLock<Option<StoredCheckpoint>>,
    /// The sequencer's writer connection, kept from one batch to the next
    /// ([`Store::begin_batch`]): a pooled connection is pinged (a round trip to SQLite's
    /// thread) each time it goes back to its pool, and the next batch waited for that.
    /// `None` until the first batch and after a failed batch closed it.
    batch_writer: Arc<tokio::sync::Mutex<Option<SqliteConnection>>>,
    /// How `batch_writer` is opened (as the writer pool's connection).
    writer_options: SqliteConnectOptions,
}

impl SqliteLocal {
    pub(crate) fn new(path: PathBuf, writer_options: SqliteConnectOptions) -> SqliteLocal {
        SqliteLocal {
            path,
            tree_file: OnceLock::new(),
            latest: RwLock::new(None),
            batch_writer: Arc::new(tokio::sync::Mutex::new(None)),
            writer_options,
        }
    }
}

/// Runs `$body` with `$pool` bound to the reader pool of whichever backend is open.
macro_rules! dispatch {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite { readers: $pool, .. } => $body,
            Store::Postgres { pool: $pool } => $body,
        }
    };
}

mod cosignatures;
mod person_payouts;
pub use cosignatures::CosignedCheckpoint;
pub(crate) use dispatch;

/// The identity of the log a store holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogMeta {
    pub origin: String,
    pub verifier_key: String,
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub root: Hash,
    pub note: String,
}

pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).expect("log sizes stay below 2^63")
}

pub(crate) fn to_u64(n: i64, what: &str) -> StoreResult<u64> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative {what}: {n}")))
}

pub(crate) fn to_hash(bytes: &[u8], what: &str) -> StoreResult<Hash> {
    Hash::from_slice(bytes).map_err(|_| StoreError::Corrupt(format!("{what} is not 32 bytes")))
}

fn checkpoint_from_row(size: i64, root: Vec<u8>, note: String) -> StoreResult<StoredCheckpoint> {
    Ok(StoredCheckpoint {
        size: to_u64(size, "checkpoint size")?,
        root: to_hash(&root, "checkpoint root")?,
        note,
    })
}

impl Store {
    pub fn backend_name(&self) -> &'static str {
        match self {
            Store::Sqlite { .. } => "sqlite",
            Store::Postgres { .. } => "postgres",
        }
    }

    /// Opens the tree file of a SQLite store for the serving process ([`TreeFile`]), which
    /// holds `stored` hashes now; `None` on PostgreSQL, whose processes share the log.
    pub fn open_tree_file(&self, stored: u64) -> StoreResult<Option<Arc<TreeFile>>> {
        let Store::Sqlite { local, .. } = self else {
            return Ok(None);
        };
        let path = local.path.with_file_name(TREE_FILE);
        let file = TreeFile::open(path.clone(), stored).map_err(|e| {
            StoreError::Unavailable(format!("opening the tree file {}: {e}", path.display()))
        })?;
        Ok(Some(local.tree_file.get_or_init(|| Arc::new(file)).clone()))
    }

    /// Whether other processes may append to this log: on PostgreSQL they may, so every
    /// batch reads and locks the head. A SQLite file is written by the one process serving
    /// it, whose sequencer trusts its cached head ([`AppendTx::commit_batch`] still commits
    /// nothing if the head moved).
    pub fn may_share_writers(&self) -> bool {
        matches!(self, Store::Postgres { .. })
    }

    /// A read-only transaction over committed data (a reader connection on SQLite), for
    /// sequencing a batch while the one before it is still being committed.
    pub async fn begin_snapshot(&self) -> StoreResult<AppendTx> {
        Ok(match self {
            Store::Sqlite { readers, .. } => AppendTx::Sqlite(readers.begin().await?),
            Store::Postgres { pool } => AppendTx::Postgres(pool.begin().await?),
        })
    }

    /// The serving process's tree file, if it has one.
    pub fn tree_file(&self) -> Option<&Arc<TreeFile>> {
        match self {
            Store::Sqlite { local, .. } => local.tree_file.get(),
            Store::Postgres { .. } => None,
        }
    }

    /// Makes `checkpoint` what [`Store::latest_checkpoint`] answers without a query
    /// (SQLite, whose one writer is this process; PostgreSQL always asks the database,
    /// since other processes may append).
    pub fn publish_checkpoint(&self, checkpoint: &StoredCheckpoint) {
        if let Store::Sqlite { local, .. } = self {
            let mut latest = local.latest.write().unwrap_or_else(|e| e.into_inner());
            if latest.as_ref().is_none_or(|l| l.size < checkpoint.size) {
                *latest = Some(checkpoint.clone());
            }
        }
    }

    /// The inclusion proof of entry `seq` in `checkpoint`: from the tree file when it
    /// can answer (verified there), otherwise from the stored hashes.
    pub async fn inclusion_proof(
        &self,
        seq: u64,
        checkpoint: &StoredCheckpoint,
    ) -> StoreResult<Vec<Hash>> {
        if let Some(file) = self.tree_file()
            && let Some(proof) = file.verified_proof(seq, checkpoint)
        {
            return Ok(proof);
        }
        let indexes = inclusion_proof_indexes(checkpoint.size, seq)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let hashes = self.tree_hashes(&indexes).await?;
        inclusion_proof(checkpoint.size, seq, &hashes)
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// Copies committed WAL pages into the SQLite database file (as far as readers allow)
    /// so the WAL is reused instead of growing; nothing to do on PostgreSQL.
    ///
    /// SQLite starts the WAL over only when a write begins with every frame copied. A
    /// checkpoint beside the writer never gets there under steady appends (commits add
    /// frames while it copies), and the WAL grew without bound under single donations. So the
    /// bulk is copied beside the writer, then the few frames committed meanwhile while
    /// the sequencer's batches wait.
    pub async fn checkpoint_wal(&self) -> StoreResult<()> {
        if let Store::Sqlite {
            checkpointer,
            local,
            ..
        } = self
        {
            let checkpoint = || sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(checkpointer);
            checkpoint().await?;
            let _batches_wait = local.batch_writer.lock().await;
            checkpoint().await?;
        }
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Store::Sqlite {
                writer,
                readers,
                checkpointer,
                local,
            } => {
                readers.close().await;
                checkpointer.close().await;
                if let Some(batch_writer) = local.batch_writer.lock().await.take()
                    && let Err(e) = batch_writer.close().await
                {
                    tracing::warn!(error = %e, "closing the sequencer's writer connection");
                }
                writer.close().await;
            }
            Store::Postgres { pool } => pool.close().await,
        }
    }

    pub async fn log_meta(&self) -> StoreResult<Option<LogMeta>> {
        let row = dispatch!(self, pool => sqlx::query(
            "SELECT origin, verifier_key FROM log_meta WHERE id = 1"
        ).fetch_optional(pool).await?.map(|r| (r.get::<String, _>(0), r.get::<String, _>(1))));
        Ok(row.map(|(origin, verifier_key)| LogMeta {
            origin,
            verifier_key,
        }))
    }

    /// Records the log's identity, its empty head and the signed size-0 checkpoint, unless
    /// some process already did (then nothing changes and the caller re-reads the meta).
    pub async fn create_log(
        &self,
        meta: &LogMeta,
        genesis: &StoredCheckpoint,
        now: UnixMillis,
    ) -> StoreResult<()> {
        let mut tx = self.begin_append().await?;
        tx.create_log(meta, genesis, now).await?;
        tx.commit().await
    }

    pub async fn head(&self) -> StoreResult<ChainHead> {
        dispatch!(self, pool => {
            let row = sqlx::query(append::HEAD_SQL)
                .fetch_optional(pool)
                .await?
                .ok_or_else(|| StoreError::Corrupt("log head row is missing".into()))?;
            append::head_from_row(&row)
        })
    }

    /// Hashes at the given stored-hash indexes, in the order asked.
    pub async fn tree_hashes(&self, indexes: &[u64]) -> StoreResult<Vec<Hash>> {
        if indexes.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(i64, Vec<u8>)> = dispatch!(self, pool => {
            let mut q = QueryBuilder::new("SELECT idx, hash FROM tree_hashes WHERE idx IN (");
            let mut list = q.separated(", ");
            for &i in indexes {
                list.push_bind(to_i64(i));
            }
            q.push(")");
            q.build().fetch_all(pool).await?.into_iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()?
        });
        order_hashes(indexes, rows)
    }

    /// Stored hashes with index in `[from, to)`, in index order (for full re-verification).
    pub async fn tree_hash_range(&self, from: u64, to: u64) -> StoreResult<Vec<(u64, Hash)>> {
        let rows: Vec<(i64, Vec<u8>)> = dispatch!(self, pool => sqlx::query(
            "SELECT idx, hash FROM tree_hashes WHERE idx >= $1 AND idx < $2 ORDER BY idx"
        ).bind(to_i64(from)).bind(to_i64(to)).fetch_all(pool).await?
            .into_iter().map(|r| (r.get(0), r.get(1))).collect());
        rows.into_iter()
            .map(|(i, h)| Ok((to_u64(i, "tree hash index")?, to_hash(&h, "tree hash")?)))
            .collect()
    }

    pub async fn entry(&self, seq: u64) -> StoreResult<Option<Vec<u8>>> {
        Ok(
            dispatch!(self, pool => sqlx::query("SELECT body FROM entries WHERE seq = $1")
            .bind(to_i64(seq))
            .fetch_optional(pool)
            .await?
            .map(|r| r.get::<Vec<u8>, _>(0))),
        )
    }

    /// Up to `limit` entries from `from` on, in order.
    pub async fn entries(&self, from: u64, limit: u64) -> StoreResult<Vec<(u64, Vec<u8>)>> {
        dispatch!(self, pool => sqlx::query(
            "SELECT seq, body FROM entries WHERE seq >= $1 ORDER BY seq LIMIT $2"
        )
        .bind(to_i64(from))
        .bind(to_i64(limit))
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| Ok((to_u64(r.try_get(0)?, "seq")?, r.try_get(1)?)))
        .collect())
    }

    pub async fn latest_checkpoint(&self) -> StoreResult<StoredCheckpoint> {
        if let Store::Sqlite { local, .. } = self
            && let Some(latest) = local
                .latest
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .as_ref()
        {
            return Ok(latest.clone());
        }
        let row: Option<(i64, Vec<u8>, String)> = dispatch!(self, pool => sqlx::query(
            "SELECT size, root, note FROM checkpoints ORDER BY size DESC LIMIT 1"
        ).fetch_optional(pool).await?.map(|r| (r.get(0), r.get(1), r.get(2))));
        let (size, root, note) =
            row.ok_or_else(|| StoreError::Corrupt("no signed checkpoint is stored".into()))?;
        checkpoint_from_row(size, root, note)
    }

    pub async fn checkpoint_at(&self, size: u64) -> StoreResult<Option<StoredCheckpoint>> {
        let row: Option<(i64, Vec<u8>, String)> = dispatch!(self, pool => sqlx::query(
            "SELECT size, root, note FROM checkpoints WHERE size = $1"
        ).bind(to_i64(size)).fetch_optional(pool).await?.map(|r| (r.get(0), r.get(1), r.get(2))));
        row.map(|(s, r, n)| checkpoint_from_row(s, r, n))
            .transpose()
    }

    /// The checkpoint signed for the batch that appended entry `seq`: the smallest stored
    /// checkpoint whose size exceeds `seq`.
    pub async fn checkpoint_covering(&self, seq: u64) -> StoreResult<Option<StoredCheckpoint>> {
        let row: Option<(i64, Vec<u8>, String)> = dispatch!(self, pool => sqlx::query(
            "SELECT size, root, note FROM checkpoints WHERE size > $1 ORDER BY size LIMIT 1"
        ).bind(to_i64(seq)).fetch_optional(pool).await?.map(|r| (r.get(0), r.get(1), r.get(2))));
        row.map(|(s, r, n)| checkpoint_from_row(s, r, n))
            .transpose()
    }

    /// Every stored checkpoint with size in `[from, to]`, ascending, at most `limit`.
    pub async fn checkpoints(&self, from: u64, limit: u64) -> StoreResult<Vec<StoredCheckpoint>> {
        let rows: Vec<(i64, Vec<u8>, String)> = dispatch!(self, pool => sqlx::query(
            "SELECT size, root, note FROM checkpoints WHERE size >= $1 ORDER BY size LIMIT $2"
        ).bind(to_i64(from)).bind(to_i64(limit)).fetch_all(pool).await?
            .into_iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect());
        rows.into_iter()
            .map(|(s, r, n)| checkpoint_from_row(s, r, n))
            .collect()
    }

    pub async fn record_seq(&self, key: &RecordKey) -> StoreResult<Option<u64>> {
        // An id that may wait in recent_ids is looked for there too.
        let sql = if recent_ids::waits(key) {
            format!("SELECT {}", recent_ids::SEQ_BY_ID)
        } else {
            "SELECT seq FROM record_ids WHERE org = $1 AND scope = $2 AND id = $3".to_string()
        };
        let seq: Option<i64> = dispatch!(self, pool => sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&key.org).bind(key.scope.as_str()).bind(&key.id)
            .fetch_optional(pool).await?.and_then(|r| r.get::<Option<i64>, _>(0)));
        seq.map(|s| to_u64(s, "record seq")).transpose()
    }

    pub async fn operator_token_hash(&self) -> StoreResult<Option<Hash>> {
        let row: Option<Vec<u8>> = dispatch!(self, pool => sqlx::query(
            "SELECT token_hash FROM operator_token WHERE id = 1"
        ).fetch_optional(pool).await?.map(|r| r.get(0)));
        row.map(|b| to_hash(&b, "operator token hash")).transpose()
    }

    /// Stores the operator token's hash unless one exists; true if this call stored it.
    pub async fn create_operator_token(
        &self,
        token_hash: &Hash,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_append().await?;
        let inserted = tx.insert_operator_token(token_hash, now).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    /// Stores `value` under `name` unless a value is there; returns the stored value.
    pub async fn setting_or_insert(&self, name: &str, value: &str) -> StoreResult<String> {
        let mut tx = self.begin_append().await?;
        let stored = tx.setting_or_insert(name, value).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Issues a registered org a new token (hash), revoking the old one; false if the
    /// org is not registered.
    pub async fn reissue_org_token(
        &self,
        org: &str,
        token_hash: &Hash,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        let mut tx = self.begin_append().await?;
        let done = tx.replace_org_token(org, token_hash, now).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Revokes an org's token; true if it had one.
    pub async fn revoke_org_token(&self, org: &str) -> StoreResult<bool> {
        let mut tx = self.begin_append().await?;
        let done = tx.delete_org_token(org).await?;
        tx.commit().await?;
        Ok(done)
    }
}

/// Puts rows read by index back into the order the indexes were asked in.
pub(crate) fn order_hashes(indexes: &[u64], rows: Vec<(i64, Vec<u8>)>) -> StoreResult<Vec<Hash>> {
    let found: std::collections::HashMap<i64, Vec<u8>> = rows.into_iter().collect();
    indexes
        .iter()
        .map(|&i| {
            let bytes = found
                .get(&to_i64(i))
                .ok_or_else(|| StoreError::Corrupt(format!("tree hash {i} is missing")))?;
            to_hash(bytes, "tree hash")
        })
        .collect()
}
