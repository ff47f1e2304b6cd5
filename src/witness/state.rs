//! What a witness remembers, durably: per log origin, the latest checkpoint it cosigned
//! (with the log's signature and its own cosignature, for the monitoring API), and every
//! validly signed checkpoint it refused as inconsistent (evidence of a split view).
//!
//! Checking a submission against the remembered checkpoint and recording the new one is
//! one transaction, serialised per origin (SQLite: one connection; PostgreSQL: an
//! advisory lock on the origin), committed with a synchronous disk write before the
//! cosignature leaves the process: after a crash at any moment the witness remembers
//! every checkpoint it cosigned, so it never cosigns two inconsistent ones.

use std::path::Path;
use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::Row as _;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::log::hash::{Hash, sha256};
use crate::log::witness::Refusal;

/// File name of a witness's SQLite database in its data directory.
pub const WITNESS_DB_FILE: &str = "witness.db";

const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The tables, in SQLite's and PostgreSQL's spelling (BLOB / BYTEA).
macro_rules! schema {
    ($bytes:literal) => {
        [
            concat!(
                "CREATE TABLE IF NOT EXISTS witness_logs (
                    origin TEXT PRIMARY KEY,
                    origin_hash TEXT NOT NULL UNIQUE,
                    size BIGINT NOT NULL,
                    root ",
                $bytes,
                " NOT NULL,
                    note TEXT NOT NULL,
                    cosigned_ms BIGINT NOT NULL)"
            ),
            "CREATE TABLE IF NOT EXISTS witness_evidence (
                origin TEXT NOT NULL,
                received_ms BIGINT NOT NULL,
                status INTEGER NOT NULL,
                reason TEXT NOT NULL,
                request TEXT NOT NULL)",
        ]
    };
}
const SQLITE_SCHEMA: [&str; 2] = schema!("BLOB");
const POSTGRES_SCHEMA: [&str; 2] = schema!("BYTEA");

/// The witness's database.
#[derive(Clone, Debug)]
pub enum WitnessState {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A refused, validly signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    pub origin: String,
    pub received_ms: i64,
    pub status: u16,
    pub reason: String,
    /// The whole add-checkpoint request, the signed checkpoint in it.
    pub request: String,
}

/// What the witness cosigned last for a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosigned {
    pub size: u64,
    pub root: Hash,
}

/// The lowercase hex SHA-256 of an origin: its path in the monitoring API.
pub fn origin_hash(origin: &str) -> String {
    sha256(origin.as_bytes()).to_hex()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl WitnessState {
    /// Opens (and creates) the witness's tables: `<data_dir>/witness.db`, or the
    /// PostgreSQL database at `database_url`.
    ///
    /// # Errors
    /// When the database cannot be opened or its tables created.
    pub async fn open(data_dir: &Path, database_url: Option<&str>) -> anyhow::Result<WitnessState> {
        let state = match database_url {
            None => {
                let options = SqliteConnectOptions::new()
                    .filename(data_dir.join(WITNESS_DB_FILE))
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(LOCK_WAIT);
                // One connection: every check-and-record runs after the one before.
                let pool = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(LOCK_WAIT)
                    .connect_with(options)
                    .await
                    .context("opening the witness's SQLite database")?;
                WitnessState::Sqlite(pool)
            }
            Some(url) => {
                let options = PgConnectOptions::from_str(url)
                    .context("--database-url is not a usable PostgreSQL URL")?;
                let pool = PgPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(LOCK_WAIT)
                    .connect_with(options)
                    .await
                    .context("connecting to the witness's PostgreSQL database")?;
                WitnessState::Postgres(pool)
            }
        };
        match &state {
            WitnessState::Sqlite(pool) => {
                for statement in SQLITE_SCHEMA {
                    sqlx::query(statement).execute(pool).await?;
                }
            }
            WitnessState::Postgres(pool) => {
                for statement in POSTGRES_SCHEMA {
                    sqlx::query(statement).execute(pool).await?;
                }
            }
        }
        Ok(state)
    }

    /// Checks a submission for `origin` against what was cosigned last and, if `decide`
    /// accepts, records `note` (already carrying the cosignature) as the latest for
    /// `(size, root)` — all in one transaction, committed before this returns.
    ///
    /// # Errors
    /// The outer error is the database's; the inner one is `decide`'s refusal.
    pub async fn check_and_record(
        &self,
        origin: &str,
        size: u64,
        root: &Hash,
        decide: impl FnOnce(Option<Cosigned>) -> Result<String, Refusal>,
    ) -> anyhow::Result<Result<String, Refusal>> {
        let size_i = i64::try_from(size).context("size beyond i64")?;
        macro_rules! run {
            ($tx:ident) => {{
                let row = sqlx::query("SELECT size, root FROM witness_logs WHERE origin = $1")
                    .bind(origin)
                    .fetch_optional(&mut *$tx)
                    .await?;
                let cosigned = match row {
                    Some(row) => Some(Cosigned {
                        size: u64::try_from(row.try_get::<i64, _>(0)?)
                            .context("a negative stored size")?,
                        root: Hash::from_slice(&row.try_get::<Vec<u8>, _>(1)?)
                            .context("a stored root is not 32 bytes")?,
                    }),
                    None => None,
                };
                let unchanged = cosigned.as_ref().is_some_and(|c| c.size == size);
                match decide(cosigned) {
                    Err(refusal) => {
                        $tx.rollback().await?;
                        Ok(Err(refusal))
                    }
                    Ok(note) => {
                        if !unchanged {
                            sqlx::query(
                                "INSERT INTO witness_logs (origin, origin_hash, size, root, note, cosigned_ms)
                                 VALUES ($1, $2, $3, $4, $5, $6)
                                 ON CONFLICT (origin) DO UPDATE SET size = excluded.size,
                                   root = excluded.root, note = excluded.note,
                                   cosigned_ms = excluded.cosigned_ms",
                            )
                            .bind(origin)
                            .bind(origin_hash(origin))
                            .bind(size_i)
                            .bind(root.0.to_vec())
                            .bind(&note)
                            .bind(now_ms())
                            .execute(&mut *$tx)
                            .await?;
                        }
                        $tx.commit().await?;
                        Ok(Ok(note))
                    }
                }
            }};
        }
        match self {
            WitnessState::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                run!(tx)
            }
            WitnessState::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                // Submissions for one origin wait for each other; other origins do not.
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
                    .bind(origin)
                    .execute(&mut *tx)
                    .await?;
                run!(tx)
            }
        }
    }

    /// The latest cosigned checkpoint of the log whose origin hashes to `hash`.
    ///
    /// # Errors
    /// A database failure.
    pub async fn latest(&self, hash: &str) -> anyhow::Result<Option<String>> {
        let query = "SELECT note FROM witness_logs WHERE origin_hash = $1";
        Ok(match self {
            WitnessState::Sqlite(pool) => sqlx::query(query)
                .bind(hash)
                .fetch_optional(pool)
                .await?
                .map(|row| row.try_get::<String, _>(0))
                .transpose()?,
            WitnessState::Postgres(pool) => sqlx::query(query)
                .bind(hash)
                .fetch_optional(pool)
                .await?
                .map(|row| row.try_get::<String, _>(0))
                .transpose()?,
        })
    }

    /// Keeps a refused, validly signed checkpoint.
    ///
    /// # Errors
    /// A database failure.
    pub async fn record_evidence(&self, evidence: &Evidence) -> anyhow::Result<()> {
        let query = "INSERT INTO witness_evidence (origin, received_ms, status, reason, request)
                     VALUES ($1, $2, $3, $4, $5)";
        macro_rules! insert {
            ($pool:expr) => {{
                sqlx::query(query)
                    .bind(&evidence.origin)
                    .bind(evidence.received_ms)
                    .bind(i32::from(evidence.status))
                    .bind(&evidence.reason)
                    .bind(&evidence.request)
                    .execute($pool)
                    .await?;
            }};
        }
        match self {
            WitnessState::Sqlite(pool) => insert!(pool),
            WitnessState::Postgres(pool) => insert!(pool),
        }
        Ok(())
    }

    /// Every piece of evidence, oldest first.
    ///
    /// # Errors
    /// A database failure.
    pub async fn evidence(&self) -> anyhow::Result<Vec<Evidence>> {
        let query = "SELECT origin, received_ms, status, reason, request FROM witness_evidence
                     ORDER BY received_ms";
        macro_rules! read {
            ($pool:expr) => {
                sqlx::query(query)
                    .fetch_all($pool)
                    .await?
                    .into_iter()
                    .map(|row| {
                        Ok(Evidence {
                            origin: row.try_get(0)?,
                            received_ms: row.try_get(1)?,
                            status: u16::try_from(row.try_get::<i32, _>(2)?).unwrap_or(0),
                            reason: row.try_get(3)?,
                            request: row.try_get(4)?,
                        })
                    })
                    .collect::<Result<Vec<_>, sqlx::Error>>()?
            };
        }
        Ok(match self {
            WitnessState::Sqlite(pool) => read!(pool),
            WitnessState::Postgres(pool) => read!(pool),
        })
    }

    pub async fn close(&self) {
        match self {
            WitnessState::Sqlite(pool) => pool.close().await,
            WitnessState::Postgres(pool) => pool.close().await,
        }
    }
}
