//! The append transaction: everything one sequencer batch writes, committed at once.
//!
//! On PostgreSQL a batch first locks the head ([`AppendTx::lock_head`]), so every later
//! write in the transaction is serialised against every other process sharing the
//! database. On SQLite, whose one writer is the serving process, a batch reads through
//! the writer connection without a lock and its script takes the write lock (`BEGIN
//! IMMEDIATE`), writes and commits at once ([`Store::begin_batch`]). Either way
//! [`AppendTx::commit_batch`] commits only if the stored head is still the one the batch
//! was built on (a batch's first `prev` is the stored head, or nothing is written).

use std::collections::HashMap;

use sqlx::{Connection, PgConnection, SqliteConnection};
use sqlx::{Postgres, QueryBuilder, Row, Sqlite, Transaction};
use tokio::sync::OwnedMutexGuard;

use super::{
    LogMeta, Store, StoreError, StoreResult, StoredCheckpoint, order_hashes, to_hash, to_i64,
    to_u64,
};
use crate::ledger::records::{RecordKey, Scope};
use crate::log::entry::ChainHead;
use crate::log::hash::Hash;
use crate::log::time::UnixMillis;

/// The SQLite id lookup ([`AppendTx::record_seqs`]): the keys come as one JSON array of
/// `[org, scope, id]`, walked in order (`CROSS JOIN` keeps SQLite from reordering) and
/// each probed in `record_ids`' primary key.
const SQLITE_ID_LOOKUP: &str = "SELECT r.org, r.scope, r.id, r.seq FROM json_each($1) AS w \
     CROSS JOIN record_ids AS r \
     ON r.org = w.value ->> 0 AND r.scope = w.value ->> 1 AND r.id = w.value ->> 2";

/// A stored id: org, scope, id and its seq.
type IdRow = (String, String, String, i64);

/// Looks `keys` up with [`SQLITE_ID_LOOKUP`]: all of them as one JSON parameter, so the
/// statement's text never changes (it is prepared once) and each key is probed once.
async fn sqlite_record_seqs(
    conn: &mut SqliteConnection,
    keys: &[&RecordKey],
) -> StoreResult<Vec<IdRow>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let wanted: Vec<(&str, &str, &str)> = keys
        .iter()
        .map(|k| (k.org.as_str(), k.scope.as_str(), k.id.as_str()))
        .collect();
    let wanted = serde_json::to_string(&wanted)
        .map_err(|e| StoreError::Corrupt(format!("id lookup: {e}")))?;
    let mut rows = Vec::new();
    for r in sqlx::query(SQLITE_ID_LOOKUP)
        .bind(wanted)
        .fetch_all(conn)
        .await?
    {
        rows.push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?));
    }
    Ok(rows)
}

/// The PostgreSQL id lookup ([`AppendTx::record_seqs`]): the keys come as three text
/// arrays, unnested in order, and each is probed in `record_ids`' primary key by a
/// `LATERAL` subquery. Its `LIMIT 1` (the key is unique) keeps PostgreSQL from pulling the
/// subquery up into a plain join, so the subquery stays what it says, one index probe per
/// key, whatever the table's size and whatever plan PostgreSQL would like: a plain join
/// (a joined `VALUES` list, or this lateral form without the limit) was planned as a hash
/// join over a sequential scan of the whole table once it held some tens of thousands of
/// ids, and the `IN` form as an index range over every id of the org. The statement's
/// text never changes, so it is prepared once.
pub const POSTGRES_ID_LOOKUP: &str = "SELECT r.org, r.scope, r.id, r.seq \
     FROM unnest($1::text[], $2::text[], $3::text[]) AS w(org, scope, id) \
     CROSS JOIN LATERAL (SELECT org, scope, id, seq FROM record_ids \
         WHERE org = w.org AND scope = w.scope AND id = w.id LIMIT 1) AS r";

/// Looks `keys` up on PostgreSQL with [`POSTGRES_ID_LOOKUP`], all in one statement.
async fn postgres_record_seqs(
    conn: &mut PgConnection,
    keys: &[&RecordKey],
) -> StoreResult<Vec<IdRow>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let orgs: Vec<&str> = keys.iter().map(|k| k.org.as_str()).collect();
    let scopes: Vec<&str> = keys.iter().map(|k| k.scope.as_str()).collect();
    let ids: Vec<&str> = keys.iter().map(|k| k.id.as_str()).collect();
    let mut rows = Vec::new();
    for r in sqlx::query(POSTGRES_ID_LOOKUP)
        .bind(orgs)
        .bind(scopes)
        .bind(ids)
        .fetch_all(conn)
        .await?
    {
        rows.push((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?));
    }
    Ok(rows)
}

/// One open append transaction, or what a sequencer batch reads and writes through.
pub enum AppendTx {
    Sqlite(Transaction<'static, Sqlite>),
    /// SQLite's writer connection outside any transaction (see [`Store::begin_batch`]),
    /// with its store, which [`AppendTx::commit_batch`] reads the head through after a
    /// failed script.
    SqliteBatch(BatchWriter, Store),
    Postgres(Transaction<'static, Postgres>),
}

/// The sequencer's SQLite writer connection, held for one batch ([`Store::begin_batch`]).
pub struct BatchWriter(OwnedMutexGuard<Option<SqliteConnection>>);

impl BatchWriter {
    pub(super) fn connection(&mut self) -> StoreResult<&mut SqliteConnection> {
        self.0
            .as_mut()
            .ok_or_else(|| StoreError::Unavailable("the writer connection is closed".into()))
    }

    /// Closes the connection, which rolls back whatever transaction it holds; the next
    /// batch opens a new one.
    pub(super) async fn close(&mut self) {
        if let Some(connection) = self.0.take()
            && let Err(e) = connection.close().await
        {
            tracing::warn!(error = %e, "closing the writer connection after a failed batch");
        }
    }
}

/// Runs `$body` with `$conn` bound to the transaction's connection.
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            AppendTx::Sqlite(t) => {
                let $conn = &mut **t;
                $body
            }
            AppendTx::SqliteBatch(c, _) => {
                let $conn = c.connection()?;
                $body
            }
            AppendTx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}
pub(super) use on_tx;

/// The statement that reads the head, as a literal for `concat!`.
macro_rules! head_sql {
    () => {
        "SELECT size, leaf_hash, time_ms FROM log_head WHERE id = 1"
    };
}

/// Reads the head (SQLite, and PostgreSQL without `FOR UPDATE`).
pub(super) const HEAD_SQL: &str = head_sql!();

/// The head from a row of [`HEAD_SQL`] (size, leaf hash, time).
pub(super) fn head_from_row<R: Row>(row: &R) -> StoreResult<ChainHead>
where
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    usize: sqlx::ColumnIndex<R>,
{
    Ok(ChainHead {
        size: to_u64(row.try_get(0)?, "log size")?,
        leaf_hash: to_hash(&row.try_get::<Vec<u8>, _>(1)?, "head leaf hash")?,
        time: UnixMillis(row.try_get(2)?),
    })
}

/// The stored head is not the one the batch was built on: another writer appended first.
#[derive(Debug, thiserror::Error)]
#[error("the log head moved: expected size {expected}, found {found}")]
pub struct HeadMoved {
    pub expected: u64,
    pub found: u64,
}

impl Store {
    /// Opens an append transaction holding the database's write lock.
    pub async fn begin_append(&self) -> StoreResult<AppendTx> {
        Ok(match self {
            // IMMEDIATE takes SQLite's write lock now, so the head read next cannot go stale.
            Store::Sqlite { writer, .. } => {
                AppendTx::Sqlite(writer.begin_with("BEGIN IMMEDIATE").await?)
            }
            Store::Postgres { pool } => AppendTx::Postgres(pool.begin().await?),
        })
    }

    /// Opens what one sequencer batch reads and writes through. On PostgreSQL that is a
    /// transaction, in which the batch locks the head first. On SQLite it is the writer
    /// connection outside any transaction: this process is the file's only writer, so
    /// what the batch reads cannot change before it commits, and the batch's one script
    /// takes the write lock, checks the head, writes and commits
    /// ([`AppendTx::commit_batch`]). A batch is then two round trips to SQLite's
    /// thread, its reads and its script, instead of four (`BEGIN`, reads, writes,
    /// `COMMIT`); under load each round trip waited for a wake-up of a busy thread.
    pub async fn begin_batch(&self) -> StoreResult<AppendTx> {
        Ok(match self {
            Store::Sqlite { local, .. } => {
                let mut writer = local.batch_writer.clone().lock_owned().await;
                if writer.is_none() {
                    *writer = Some(SqliteConnection::connect_with(&local.writer_options).await?);
                }
                AppendTx::SqliteBatch(BatchWriter(writer), self.clone())
            }
            Store::Postgres { pool } => AppendTx::Postgres(pool.begin().await?),
        })
    }
}

impl AppendTx {
    /// Commits (a batch's SQLite connection holds no transaction here: its script
    /// committed, and the connection only goes back to the sequencer).
    pub async fn commit(self) -> StoreResult<()> {
        match self {
            AppendTx::Sqlite(t) => t.commit().await?,
            AppendTx::SqliteBatch(..) => {}
            AppendTx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Reads the head, locking it against other writers until commit (on SQLite a
    /// batch's script checks it instead, see [`AppendTx::commit_batch`]).
    pub async fn lock_head(&mut self) -> StoreResult<Option<ChainHead>> {
        let sql = match self {
            AppendTx::Sqlite(_) | AppendTx::SqliteBatch(..) => HEAD_SQL,
            AppendTx::Postgres(_) => concat!(head_sql!(), " FOR UPDATE"),
        };
        on_tx!(self, conn => sqlx::query(sql).fetch_optional(conn).await?
            .map(|row| head_from_row(&row)).transpose())
    }

    pub(super) async fn create_log(
        &mut self,
        meta: &LogMeta,
        genesis: &StoredCheckpoint,
        now: UnixMillis,
    ) -> StoreResult<()> {
        if self.lock_head().await?.is_some() {
            return Ok(());
        }
        let head = ChainHead::GENESIS;
        on_tx!(self, conn => {
            sqlx::query("INSERT INTO log_meta (id, origin, verifier_key, created_at_ms) VALUES (1, $1, $2, $3)")
                .bind(&meta.origin).bind(&meta.verifier_key).bind(now.0)
                .execute(&mut *conn).await?;
            sqlx::query("INSERT INTO log_head (id, size, leaf_hash, time_ms) VALUES (1, $1, $2, $3)")
                .bind(to_i64(head.size)).bind(&head.leaf_hash.0[..]).bind(head.time.0)
                .execute(&mut *conn).await?;
        });
        self.insert_checkpoint(genesis).await
    }

    /// Hashes at the given stored-hash indexes, read inside the transaction.
    pub async fn tree_hashes(&mut self, indexes: &[u64]) -> StoreResult<Vec<Hash>> {
        if indexes.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(i64, Vec<u8>)> = on_tx!(self, conn => {
            let mut q = QueryBuilder::new("SELECT idx, hash FROM tree_hashes WHERE idx IN (");
            let mut list = q.separated(", ");
            for &i in indexes {
                list.push_bind(to_i64(i));
            }
            q.push(")");
            q.build().fetch_all(conn).await?.into_iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, sqlx::Error>>()?
        });
        order_hashes(indexes, rows)
    }

    pub async fn entry(&mut self, seq: u64) -> StoreResult<Option<Vec<u8>>> {
        Ok(
            on_tx!(self, conn => sqlx::query("SELECT body FROM entries WHERE seq = $1")
            .bind(to_i64(seq)).fetch_optional(conn).await?.map(|r| r.get::<Vec<u8>, _>(0))),
        )
    }

    /// The seq of every key already logged (keys not logged are absent from the map).
    /// One statement of fixed text on either backend ([`SQLITE_ID_LOOKUP`],
    /// [`POSTGRES_ID_LOOKUP`]), prepared once.
    pub async fn record_seqs(
        &mut self,
        keys: &[&RecordKey],
    ) -> StoreResult<HashMap<RecordKey, u64>> {
        let rows = match self {
            AppendTx::Postgres(t) => postgres_record_seqs(t, keys).await?,
            AppendTx::Sqlite(t) => sqlite_record_seqs(t, keys).await?,
            AppendTx::SqliteBatch(c, _) => sqlite_record_seqs(c.connection()?, keys).await?,
        };
        let wanted: HashMap<(&str, &str, &str), &RecordKey> = keys
            .iter()
            .map(|k| ((k.org.as_str(), k.scope.as_str(), k.id.as_str()), *k))
            .collect();
        let mut found = HashMap::with_capacity(rows.len());
        for (org, scope, id, seq) in &rows {
            if let Some(key) = wanted.get(&(org.as_str(), scope.as_str(), id.as_str())) {
                found.insert((*key).clone(), to_u64(*seq, "record seq")?);
            }
        }
        Ok(found)
    }

    /// Sets (or replaces) a registered org's token hash; false if the org is not
    /// registered. The old token stops working when this commits.
    pub(super) async fn replace_org_token(
        &mut self,
        org: &str,
        token_hash: &Hash,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        let registered = on_tx!(self, conn => sqlx::query(
            "SELECT 1 FROM record_ids WHERE org = $1 AND scope = $2 AND id = $1"
        ).bind(org).bind(Scope::Org.as_str()).fetch_optional(conn).await?.is_some());
        if !registered {
            return Ok(false);
        }
        on_tx!(self, conn => sqlx::query(
            "INSERT INTO org_tokens (org, token_hash, issued_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (org) DO UPDATE SET token_hash = excluded.token_hash, issued_at_ms = excluded.issued_at_ms"
        ).bind(org).bind(&token_hash.0[..]).bind(now.0).execute(conn).await?.rows_affected());
        Ok(true)
    }

    /// Removes an org's token; true if it had one.
    pub(super) async fn delete_org_token(&mut self, org: &str) -> StoreResult<bool> {
        let deleted = on_tx!(self, conn => sqlx::query("DELETE FROM org_tokens WHERE org = $1")
            .bind(org).execute(conn).await?.rows_affected());
        Ok(deleted > 0)
    }

    pub(super) async fn insert_operator_token(
        &mut self,
        token_hash: &Hash,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        let result = on_tx!(self, conn => sqlx::query(
            "INSERT INTO operator_token (id, token_hash, created_at_ms) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING"
        ).bind(&token_hash.0[..]).bind(now.0).execute(conn).await?.rows_affected());
        Ok(result == 1)
    }

    pub(super) async fn setting_or_insert(
        &mut self,
        name: &str,
        value: &str,
    ) -> StoreResult<String> {
        on_tx!(self, conn => {
            sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name).bind(value).execute(&mut *conn).await?;
            Ok(sqlx::query("SELECT value FROM settings WHERE name = $1").bind(name)
                .fetch_one(&mut *conn).await?.get::<String, _>(0))
        })
    }

    pub async fn insert_checkpoint(&mut self, checkpoint: &StoredCheckpoint) -> StoreResult<()> {
        on_tx!(self, conn => sqlx::query("INSERT INTO checkpoints (size, root, note) VALUES ($1, $2, $3)")
            .bind(to_i64(checkpoint.size)).bind(&checkpoint.root.0[..]).bind(&checkpoint.note)
            .execute(conn).await?.rows_affected());
        Ok(())
    }
}
