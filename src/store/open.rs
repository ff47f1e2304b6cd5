//! Opening a store: connection settings per backend, and migrations applied on start.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions as _, Connection as _};

use super::{SqliteLocal, Store, StoreError, StoreResult};

/// File name of the embedded SQLite database inside the data directory.
pub const SQLITE_FILE: &str = "pennytrail.db";

/// SQLite reader connections. Reads never block the writer in WAL mode; four readers
/// keep both cores busy serving proofs while one connection appends.
const SQLITE_READERS: u32 = 4;

/// PostgreSQL connections per process: one for the sequencer plus readers. The server's
/// default `max_connections` is 100, so several processes can share one database.
const POSTGRES_CONNECTIONS: u32 = 16;

/// How long a connection waits for a lock before failing the statement (SQLite) or for
/// a pooled connection (both). Five seconds covers a slow fsync on a busy disk.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// Where the log is stored.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Data directory; holds the SQLite file when no database URL is given.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of the embedded SQLite file.
    pub database_url: Option<String>,
}

/// Connects to the configured backend and applies its migrations.
pub async fn open(config: &StoreConfig) -> StoreResult<Store> {
    match &config.database_url {
        None => open_sqlite(config.data_dir.join(SQLITE_FILE)).await,
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            open_postgres(url).await
        }
        Some(url) => Err(StoreError::Unavailable(format!(
            "--database-url must start with postgres:// (got {:?}); leave it out to use the embedded SQLite store",
            url.split(':').next().unwrap_or("")
        ))),
    }
}

async fn open_sqlite(path: PathBuf) -> StoreResult<Store> {
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit is on disk before it is acknowledged (DESIGN.md "Storage").
        .synchronous(SqliteSynchronous::Full)
        // Statement journals (a multi-row insert's undo if it fails halfway) in memory,
        // not temporary files: they only ever undo the current statement.
        .pragma("temp_store", "memory")
        .busy_timeout(LOCK_WAIT);
    // Copying the WAL back into the database is the checkpointer's job, beside the
    // writer, so no commit waits for it.
    let writer_options = options.clone().pragma("wal_autocheckpoint", "0");
    let writer = sqlite_pool(1).connect_with(writer_options.clone()).await?;
    sqlx::migrate!("migrations/sqlite").run(&writer).await?;
    let readers = sqlite_pool(SQLITE_READERS)
        .connect_with(options.clone().read_only(true))
        .await?;
    let checkpointer = sqlite_pool(1).connect_with(options).await?;
    Ok(Store::Sqlite {
        writer,
        readers,
        checkpointer,
        local: Arc::new(SqliteLocal::new(path, writer_options)),
    })
}

/// A pool of `connections` SQLite connections. They are not pinged when taken from the
/// pool: a SQLite connection is a thread in this process, not a socket that can go dead
/// unnoticed (a failed connection fails the statement, and a failed batch is retried).
fn sqlite_pool(connections: u32) -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(LOCK_WAIT)
        .test_before_acquire(false)
}

/// The part of a connection error worth showing: the server's message, or the OS error,
/// without the wrappers that repeat it.
fn connect_failure(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(e) => e.message().to_string(),
        sqlx::Error::Io(e) => e.to_string(),
        other => other.to_string(),
    }
}

async fn open_postgres(url: &str) -> StoreResult<Store> {
    let options = PgConnectOptions::from_str(url).map_err(|e| {
        StoreError::Unavailable(format!(
            "--database-url is not a usable PostgreSQL URL: {e}"
        ))
    })?;
    // The password never appears in messages: only where we tried to connect.
    let place = format!(
        "{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("(default database)")
    );
    // One direct connection first: a pool that cannot connect only reports a timeout.
    let probe = tokio::time::timeout(LOCK_WAIT, options.connect())
        .await
        .map_err(|_| {
            StoreError::Unavailable(format!(
                "cannot connect to PostgreSQL at {place}: no answer within {} s",
                LOCK_WAIT.as_secs()
            ))
        })?
        .map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot connect to PostgreSQL at {place}: {}",
                connect_failure(&e)
            ))
        })?;
    let _ = probe.close().await;
    let pool = PgPoolOptions::new()
        .max_connections(POSTGRES_CONNECTIONS)
        .acquire_timeout(LOCK_WAIT)
        .connect_with(options)
        .await?;
    sqlx::migrate!("migrations/postgres").run(&pool).await?;
    Ok(Store::Postgres { pool })
}
