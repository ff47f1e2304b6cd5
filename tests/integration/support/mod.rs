//! What the integration tests share: the service as a user meets it (`TestApp`), requests
//! as a charity writes them (`bodies`, and `TestApp`'s domain helpers such as
//! `seeded_org` and `post_donation`), the real binary as a child process, PostgreSQL
//! databases of the tests' own, and export bundles on disk.

#![allow(dead_code)]

mod app;
pub mod bodies;
mod bundles;
pub mod postgres;
mod process;

pub use app::{Answer, Backend, Org, SEEDED_ORG_ENTRIES, TestApp, answer};
pub use bundles::{Bundle, read_bundle, rehashed_datapackage, write_bundle};
pub use pennytrail_test_macros::pennytrail_test;
pub use postgres::{PgDatabase, admin_database_url};
pub use process::{DemoService, ServiceProcess, run_check};

/// The origin line every test log is started with.
pub const ORIGIN: &str = "test.pennytrail.example/log";

/// Where the browser tests expect Chromium (Debian's package puts it there).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Where Debian's golang-golang-x-mod-dev puts the Go sumdb note and tlog packages.
pub const XMOD_DIR: &str = "/usr/share/gocode/src/golang.org/x/mod";

/// Runs `$body` with `$conn` bound to a new connection of its own to `$app`'s store
/// (the SQLite file or the PostgreSQL database), outside the service: the same code
/// for both backends.
#[macro_export]
macro_rules! with_store_connection {
    ($app:expr, $conn:ident => $body:expr) => {{
        use sqlx::Connection as _;
        match &$app.db {
            None => {
                let path = $app.data_dir.path().join("pennytrail.db");
                let mut $conn =
                    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
                        .await
                        .unwrap();
                $body
            }
            Some(db) => {
                let mut $conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
                $body
            }
        }
    }};
}
