//! `TestApp`: the service as a user meets it, started exactly like `pennytrail serve`
//! (in-process, port 0) on SQLite or on a fresh PostgreSQL database, and helpers that read
//! like a charity's session with it.

use std::path::{Path, PathBuf};

use pennytrail::app::{RunningApp, ServeConfig, start};
use pennytrail::log::note::NoteVerifier;
use pennytrail::store::StoreConfig;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::ORIGIN;
use super::bodies;
use super::postgres::PgDatabase;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
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
    /// Starts a fresh service on an empty store.
    pub async fn start(backend: Backend) -> TestApp {
        TestApp::start_with_key(backend, None).await
    }

    /// Starts a fresh service whose log is signed with the key file `log_key` (e.g. a copy
    /// of another app's `log.key`, to make a second log under the same key and origin: a fork).
    pub async fn start_with_key(backend: Backend, log_key: Option<PathBuf>) -> TestApp {
        TestApp::start_configured(backend, |config| config.log_key = log_key).await
    }

    /// Starts a fresh service with its configuration changed by `configure` first.
    pub async fn start_configured(
        backend: Backend,
        configure: impl FnOnce(&mut ServeConfig),
    ) -> TestApp {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let db = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(PgDatabase::create().await),
        };
        let mut config = config(data_dir.path(), db.as_ref(), None);
        configure(&mut config);
        let running = start(config).await.expect("service starts");
        let operator_token = std::fs::read_to_string(data_dir.path().join("operator.token"))
            .expect("operator token written")
            .trim()
            .to_string();
        let verifier = NoteVerifier::from_text(&running.verifier_key).unwrap();
        TestApp {
            backend,
            base: format!("http://{}", running.addr),
            client: reqwest::Client::new(),
            data_dir,
            db,
            operator_token,
            verifier,
            running: Some(running),
        }
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
        tile_cache_bytes: pennytrail::read::tiles::DEFAULT_TILE_CACHE_MB * 1024 * 1024,
        witness_policy: None,
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

/// A registered charity: its id and API token.
#[derive(Debug, Clone)]
pub struct Org {
    pub id: String,
    pub token: String,
}

/// Entries `seeded_org` writes: the org, three beneficiaries and the campaign.
pub const SEEDED_ORG_ENTRIES: u64 = 5;

impl TestApp {
    /// Registers a charity (named "Charity {id}", in DE).
    pub async fn register(&self, id: &str) -> Org {
        Org {
            id: id.to_string(),
            token: self.new_org(id).await,
        }
    }

    /// Registers an org and returns its API token.
    pub async fn new_org(&self, id: &str) -> String {
        let answer = self
            .register_org(&json!({"id": id, "name": format!("Charity {id}"), "country": "DE"}))
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text());
        answer.json()["api_token"].as_str().unwrap().to_string()
    }

    /// A charity ready to take donations: beneficiaries `school` (organization) and `ops`
    /// (overhead) stated on its EUR campaign `meals` ("School meals"), and `late` (person)
    /// registered but not stated. [`SEEDED_ORG_ENTRIES`] entries.
    pub async fn seeded_org(&self, id: &str) -> Org {
        let org = self.register(id).await;
        for (beneficiary, kind) in [
            ("school", "organization"),
            ("ops", "overhead"),
            ("late", "person"),
        ] {
            self.post_beneficiary(&org, beneficiary, kind).await;
        }
        self.org_create(
            &org.token,
            &org.id,
            "/campaigns",
            &json!({"id": "meals", "title": "School meals", "purpose": "Lunch for pupils",
                    "currency": "EUR", "beneficiaries": ["school", "ops"]}),
        )
        .await;
        org
    }

    /// Registers beneficiary `id` of `kind` ([`bodies::beneficiary`]); returns the 201 body.
    pub async fn post_beneficiary(&self, org: &Org, id: &str, kind: &str) -> Value {
        self.org_create(
            &org.token,
            &org.id,
            "/beneficiaries",
            &bodies::beneficiary(id, kind),
        )
        .await
    }

    /// Opens campaign `id` ([`bodies::campaign`]); returns the 201 body.
    pub async fn post_campaign(
        &self,
        org: &Org,
        id: &str,
        currency: &str,
        beneficiaries: &[&str],
    ) -> Value {
        let body = bodies::campaign(id, currency, beneficiaries);
        self.org_create(&org.token, &org.id, "/campaigns", &body)
            .await
    }

    /// Records a card donation ([`bodies::donation`]); returns the 201 body.
    pub async fn post_donation(
        &self,
        org: &Org,
        id: &str,
        campaign: &str,
        amount: i64,
        fee: i64,
    ) -> Value {
        let body = bodies::donation(id, campaign, amount, fee);
        self.org_create(&org.token, &org.id, "/donations", &body)
            .await
    }

    /// Records a disbursement ([`bodies::disbursement`]); returns the 201 body.
    pub async fn post_disbursement(
        &self,
        org: &Org,
        id: &str,
        campaign: &str,
        beneficiary: &str,
        amount: i64,
    ) -> Value {
        let body = bodies::disbursement(id, campaign, beneficiary, amount);
        self.org_create(&org.token, &org.id, "/disbursements", &body)
            .await
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
