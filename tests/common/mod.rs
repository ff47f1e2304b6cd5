//! `TestApp`: the service as a user meets it — started exactly like `pennytrail serve`
//! (in-process, port 0) on SQLite or on a fresh PostgreSQL database — plus helpers that
//! read like a user's session.
//!
//! PostgreSQL: each app gets its own database on the server named by
//! `PENNYTRAIL_TEST_DATABASE_URL` (default: postgres://postgres@127.0.0.1:5432/test) and
//! drops it when stopped. When the server is unreachable the PostgreSQL tests fail if
//! `CI=true` and are skipped with a loud warning otherwise.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use pennytrail::app::{RunningApp, ServeConfig, start};
use pennytrail::log::note::NoteVerifier;
use pennytrail::store::StoreConfig;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Connection as _;

pub const ORIGIN: &str = "test.pennytrail.example/log";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn admin_database_url() -> String {
    std::env::var("PENNYTRAIL_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A PostgreSQL database of our own, created for one test and dropped after it.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

static DB_COUNTER: AtomicU64 = AtomicU64::new(0);

impl PgDatabase {
    /// Creates a fresh database, or returns None (outside CI) when PostgreSQL is down.
    pub async fn create() -> Option<PgDatabase> {
        let admin = admin_database_url();
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) if !in_ci() => {
                eprintln!(
                    "WARNING: PostgreSQL at {admin} is unreachable ({e}); SKIPPING this PostgreSQL test"
                );
                return None;
            }
            Err(e) => panic!("CI=true and PostgreSQL at {admin} is unreachable: {e}"),
        };
        drop_databases_of_dead_test_processes(&mut conn).await;
        let name = format!(
            "pt_test_{}_{}_{}",
            std::process::id(),
            DB_COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_micros()
                % 1_000_000
        );
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("creating a test database");
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .unwrap_or(admin.clone());
        Some(PgDatabase {
            url: format!("{base}/{name}"),
            name,
        })
    }

    pub async fn drop_database(&self) {
        drop_named(&self.name).await;
    }
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
/// test on this machine; drop them so the shared server does not fill up.
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

pub struct TestApp {
    pub backend: Backend,
    pub base: String,
    pub client: reqwest::Client,
    pub data_dir: tempfile::TempDir,
    pub db: Option<PgDatabase>,
    pub operator_token: String,
    pub verifier: NoteVerifier,
    running: Option<RunningApp>,
}

/// An HTTP answer: status, content type and body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    /// The answer carried `Connection: close`: the server will not read another request
    /// on this connection.
    pub closes_connection: bool,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }

    /// Asserts an RFC 9457 problem with this status (and field, if given).
    pub fn assert_problem(&self, status: u16, field: Option<&str>) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.content_type, "application/problem+json");
        let problem = self.json();
        assert_eq!(problem["status"], status);
        assert!(
            problem["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:pennytrail:problem:")
        );
        assert!(!problem["detail"].as_str().unwrap().is_empty());
        if let Some(field) = field {
            assert_eq!(problem["field"], field, "problem: {problem}");
        }
        problem
    }
}

impl TestApp {
    /// Starts a fresh service; None if the backend is unavailable outside CI.
    pub async fn start(backend: Backend) -> Option<TestApp> {
        TestApp::start_with_key(backend, None).await
    }

    /// Starts a fresh service whose log is signed with the key file `log_key` (e.g. a copy
    /// of another app's `log.key`, to make a second log under the same key and origin: a fork).
    pub async fn start_with_key(backend: Backend, log_key: Option<PathBuf>) -> Option<TestApp> {
        TestApp::start_configured(backend, |config| config.log_key = log_key).await
    }

    /// Starts a fresh service with its configuration changed by `configure` first.
    pub async fn start_configured(
        backend: Backend,
        configure: impl FnOnce(&mut ServeConfig),
    ) -> Option<TestApp> {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let db = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(PgDatabase::create().await?),
        };
        let mut config = config(data_dir.path(), db.as_ref(), None);
        configure(&mut config);
        let running = start(config).await.expect("service starts");
        let operator_token = std::fs::read_to_string(data_dir.path().join("operator.token"))
            .expect("operator token written")
            .trim()
            .to_string();
        let verifier = NoteVerifier::from_text(&running.verifier_key).unwrap();
        Some(TestApp {
            backend,
            base: format!("http://{}", running.addr),
            client: reqwest::Client::new(),
            data_dir,
            db,
            operator_token,
            verifier,
            running: Some(running),
        })
    }

    pub fn store_config(&self) -> StoreConfig {
        config(self.data_dir.path(), self.db.as_ref(), None).store
    }

    /// Waits until the service stops on its own, as `pennytrail serve` does; its result is
    /// what the command exits with (an error: status 1).
    pub async fn until_stopped(&mut self) -> anyhow::Result<()> {
        self.running.take().expect("running").wait().await
    }

    /// Stops the service (gracefully), keeping its data.
    pub async fn stop_service(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("clean shutdown");
        }
    }

    /// Starts the service again on the same data; returns the startup error, if any.
    pub async fn restart_with(
        &mut self,
        log_key: Option<PathBuf>,
        origin: Option<&str>,
    ) -> anyhow::Result<()> {
        self.stop_service().await;
        let mut cfg = config(self.data_dir.path(), self.db.as_ref(), log_key);
        if let Some(o) = origin {
            cfg.origin = Some(o.to_string());
        }
        let running = start(cfg).await?;
        self.base = format!("http://{}", running.addr);
        self.running = Some(running);
        Ok(())
    }

    pub async fn restart(&mut self) {
        self.restart_with(None, None).await.expect("restart");
    }

    /// Stops the service and removes its database.
    pub async fn finish(mut self) {
        self.stop_service().await;
        if let Some(db) = &self.db {
            db.drop_database().await;
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET");
        answer(response).await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        answer(request.send().await.expect("POST")).await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        self.post_raw(
            path,
            token,
            "application/json",
            serde_json::to_vec(body).unwrap(),
        )
        .await
    }

    pub async fn register_org(&self, body: &Value) -> Answer {
        self.post_json("/v1/admin/orgs", Some(&self.operator_token), body)
            .await
    }

    pub async fn log_size(&self) -> u64 {
        self.get("/v1/log").await.json()["size"].as_u64().unwrap()
    }

    pub async fn checkpoint_note(&self) -> String {
        self.get("/v1/checkpoint").await.text()
    }
}

fn config(data_dir: &Path, db: Option<&PgDatabase>, log_key: Option<PathBuf>) -> ServeConfig {
    ServeConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        store: StoreConfig {
            data_dir: data_dir.to_path_buf(),
            database_url: db.map(|d| d.url.clone()),
        },
        origin: Some(ORIGIN.to_string()),
        log_key,
        donor_secret: None,
        org_writes_per_second: pennytrail::limits::DEFAULT_ORG_WRITES_PER_SECOND,
        request_timeout: pennytrail::api::DEFAULT_REQUEST_TIMEOUT,
        writer_loss_drain: pennytrail::app::WRITER_LOSS_DRAIN,
        faults: Default::default(),
        trusted_proxies: Vec::new(),
    }
}

/// What a test needs of an HTTP answer.
pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let closes_connection = response
        .headers()
        .get("connection")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    let body = response.bytes().await.expect("body").to_vec();
    Answer {
        status,
        content_type,
        closes_connection,
        body,
    }
}

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

/// Runs a scenario on both backends as two tests: `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = TestApp::start(Backend::Sqlite).await {
                    super::$name(app).await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = TestApp::start(Backend::Postgres).await {
                    super::$name(app).await;
                }
            }
        }
    };
}

/// The real `pennytrail` binary as a child process, for crash and multi-process tests.
pub struct ServiceProcess {
    pub child: tokio::process::Child,
    pub base: String,
    /// Every line the process wrote to stderr (JSON log lines) since it started.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServiceProcess {
    /// Starts `pennytrail serve` with `args` (plus `--listen 127.0.0.1:0`) and waits until
    /// it serves; returns its startup error output if it exits first.
    pub async fn start(args: &[&str]) -> Result<ServiceProcess, String> {
        Self::start_logging(args, "info").await
    }

    /// [`ServiceProcess::start`] with `RUST_LOG` set to `filter`.
    pub async fn start_logging(args: &[&str], filter: &str) -> Result<ServiceProcess, String> {
        use tokio::io::AsyncBufReadExt as _;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("PENNYTRAIL_LOG_FORMAT", "json")
            .env("RUST_LOG", filter)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn pennytrail");
        let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = String::new();
        let deadline = std::time::Duration::from_secs(30);
        let addr = tokio::time::timeout(deadline, async {
            while let Ok(Some(line)) = lines.next_line().await {
                seen.push_str(&line);
                seen.push('\n');
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && let Some(addr) = v["fields"]["addr"].as_str()
                {
                    return Some(addr.to_string());
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        let Some(addr) = addr else {
            let _ = child.kill().await;
            return Err(seen);
        };
        // Keep draining stderr so the child never blocks on a full pipe.
        let log = std::sync::Arc::new(std::sync::Mutex::new(
            seen.lines().map(String::from).collect::<Vec<_>>(),
        ));
        let collected = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                collected.lock().unwrap().push(line);
            }
        });
        Ok(ServiceProcess {
            child,
            base: format!("http://{addr}"),
            log,
        })
    }

    /// SIGKILL: no shutdown, no flush, nothing graceful.
    pub async fn kill9(mut self) {
        self.child.kill().await.expect("kill -9");
    }

    /// SIGTERM, then waits for a graceful exit.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("running") as i32;
        // SAFETY-free: plain kill(2) through the shell's `kill` to avoid a libc dependency.
        std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .unwrap();
        self.child.wait().await.expect("wait")
    }
}

/// Runs `pennytrail check` on a store and returns (success, output).
pub fn run_check(data_dir: &Path, database_url: Option<&str>) -> (bool, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"));
    cmd.arg("check").arg("--data-dir").arg(data_dir);
    if let Some(url) = database_url {
        cmd.arg("--database-url").arg(url);
    }
    let out = cmd.output().expect("run pennytrail check");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

impl TestApp {
    /// Registers an org and returns its API token.
    pub async fn new_org(&self, id: &str) -> String {
        let answer = self
            .register_org(
                &serde_json::json!({"id": id, "name": format!("Charity {id}"), "country": "DE"}),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text());
        answer.json()["api_token"].as_str().unwrap().to_string()
    }

    /// POSTs as an org (its token), to a path under /v1/orgs/{org}.
    pub async fn org_post(&self, token: &str, org: &str, path: &str, body: &Value) -> Answer {
        self.post_json(&format!("/v1/orgs/{org}{path}"), Some(token), body)
            .await
    }

    /// POSTs and asserts 201; returns the body.
    pub async fn org_create(&self, token: &str, org: &str, path: &str, body: &Value) -> Value {
        let answer = self.org_post(token, org, path, body).await;
        assert_eq!(answer.status, 201, "POST {path} {body}: {}", answer.text());
        answer.json()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let answer = self.get(path).await;
        assert_eq!(answer.status, 200, "GET {path}: {}", answer.text());
        answer.json()
    }
}

// ---------------------------------------------------------------------------------------
// Export bundles on disk, as the offline verifier reads them
// ---------------------------------------------------------------------------------------

/// A bundle in memory: file name → bytes.
pub type Bundle = std::collections::BTreeMap<String, Vec<u8>>;

pub fn read_bundle(dir: &Path) -> Bundle {
    let mut bundle = Bundle::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        bundle.insert(
            entry.file_name().into_string().unwrap(),
            std::fs::read(entry.path()).unwrap(),
        );
    }
    bundle
}

pub fn write_bundle(dir: &Path, bundle: &Bundle) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in bundle {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// `datapackage.json` with `bytes` and `hash` of every listed file recomputed from the
/// bundle's current files, formatted as the exporter formats it (as a forger who edits
/// files would write it).
pub fn rehashed_datapackage(bundle: &Bundle) -> Vec<u8> {
    use pennytrail_bundle::DATAPACKAGE_FILE;
    let mut package: Value = serde_json::from_slice(&bundle[DATAPACKAGE_FILE]).unwrap();
    for resource in package["resources"].as_array_mut().unwrap() {
        let path = resource["path"].as_str().unwrap().to_string();
        let bytes = &bundle[&path];
        resource["bytes"] = serde_json::json!(bytes.len());
        resource["hash"] = serde_json::json!(format!(
            "sha256:{}",
            pennytrail::log::hash::sha256(bytes).to_hex()
        ));
    }
    let mut text = serde_json::to_string_pretty(&package).unwrap();
    text.push('\n');
    text.into_bytes()
}
