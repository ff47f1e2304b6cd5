//! PostgreSQL databases of the tests' own, on the server named by
//! `PENNYTRAIL_TEST_DATABASE_URL` (default: postgres://postgres@127.0.0.1:5432/test).
//!
//! The server is shared, so every database is named `pt_test_<pid>_…` and dropped when its
//! test finishes; ones left by a test process that died are dropped by the next run. A
//! test's database is cloned (`CREATE DATABASE … TEMPLATE`) from one database migrated
//! once per run, instead of running the migrations again for every test.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::Connection as _;
use tokio::sync::OnceCell;

pub fn admin_database_url() -> String {
    std::env::var("PENNYTRAIL_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A PostgreSQL database of our own, created for one test and dropped after it.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The migrated database this run's test databases are cloned from.
static TEMPLATE: OnceCell<String> = OnceCell::const_new();

impl PgDatabase {
    /// A fresh database with pennytrail's schema and nothing in it.
    pub async fn create() -> PgDatabase {
        let template = TEMPLATE.get_or_init(migrated_template).await;
        PgDatabase::copy_of(template).await
    }

    /// A new database holding a copy of `source` (which nobody may be connected to).
    pub async fn copy_of(source: &str) -> PgDatabase {
        let name = unique_name(&COUNTER.fetch_add(1, Ordering::Relaxed).to_string());
        let mut admin = admin().await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE {source}"
        )))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("cloning {source} into a test database: {e}"));
        PgDatabase {
            url: url_of(&name),
            name,
        }
    }

    pub async fn drop_database(&self) {
        drop_named(&self.name).await;
    }
}

/// Whether the server answers (the harness asks once, before any test runs).
pub fn probe() -> Result<(), String> {
    let url = admin_database_url();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        match tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect(&url)).await
        {
            Ok(Ok(connection)) => {
                let _ = connection.close().await;
                Ok(())
            }
            Ok(Err(e)) => Err(format!("PostgreSQL at {url} is unreachable ({e})")),
            Err(_) => Err(format!("PostgreSQL at {url} did not answer within 5 s")),
        }
    })
}

/// Drops this run's template database (called once, after every test has run).
pub fn drop_template() {
    let Some(name) = TEMPLATE.get() else {
        return;
    };
    if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        runtime.block_on(drop_named(name));
    }
}

async fn migrated_template() -> String {
    let mut admin = admin().await;
    drop_databases_of_dead_test_processes(&mut admin).await;
    let name = unique_name("template");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("creating the template test database: {e}"));
    // The service's own migrations, run the way it runs them when it starts.
    let store = pennytrail::store::open(&pennytrail::store::StoreConfig {
        data_dir: std::env::temp_dir(),
        database_url: Some(url_of(&name)),
    })
    .await
    .unwrap_or_else(|e| panic!("migrating the template test database: {e}"));
    store.close().await;
    name
}

async fn admin() -> sqlx::PgConnection {
    let url = admin_database_url();
    sqlx::PgConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url} is unreachable: {e}"))
}

fn unique_name(suffix: &str) -> String {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() % 1_000_000);
    format!("pt_test_{}_{micros}_{suffix}", std::process::id())
}

fn url_of(name: &str) -> String {
    let admin = admin_database_url();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    format!("{base}/{name}")
}

async fn drop_named(name: &str) {
    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_database_url()).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
    }
}

/// Databases named `pt_test_<pid>_…` whose test process is gone were left by a failed
/// run on this machine; drop them so the shared server does not fill up.
async fn drop_databases_of_dead_test_processes(conn: &mut sqlx::PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'pt_test_%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for name in names {
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut *conn)
            .await;
        }
    }
}
