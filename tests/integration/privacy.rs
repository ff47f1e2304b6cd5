//! Donor privacy, end to end: donor references planted through every route that takes
//! one (single and batch donations, donor lookups, a refused request) never reach the
//! log, the exports, the application's own logs (at debug level) or the database files
//! (SQLite's main file, WAL and shared memory, left as a SIGKILL leaves them; on
//! PostgreSQL, a `pg_dump` of the test's database). A control marker sent in a field that
//! is stored shows the scan finds what is there.

use crate::support::{PgDatabase, pennytrail_test};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

/// Donor references as a donor types them, and as the service normalises them.
const PLANTED: [&str; 4] = [
    "Planted.Donor.7f3a@Example.org",
    "planted-batch-donor-91c2@example.org",
    "planted-lookup-donor-4b8e@example.org",
    "planted-refused-donor-2d6a@example.org",
];

/// Stored on purpose (a campaign title): the scan must find it.
const CONTROL: &str = "control-marker-5e1b-stored-title";

struct Service {
    child: std::process::Child,
    base: String,
    log: PathBuf,
}

fn start(data_dir: &Path, log: &Path, database_url: Option<&str>) -> Service {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "debug")
        .env("PENNYTRAIL_LOG_FORMAT", "json")
        .stdout(std::fs::File::create(log.with_extension("out")).unwrap())
        .stderr(std::fs::File::create(log).unwrap());
    if let Some(url) = database_url {
        command.args(["--database-url", url]);
    }
    // Owned by `Service` from the start: dropping it (a failed assertion) kills and
    // reaps the child.
    let mut service = Service {
        child: command.spawn().expect("spawn pennytrail"),
        base: String::new(),
        log: log.to_path_buf(),
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(addr) = text.lines().find_map(|line| {
            serde_json::from_str::<Value>(line)
                .ok()
                .and_then(|v| v["fields"]["addr"].as_str().map(str::to_string))
        }) {
            service.base = format!("http://{addr}");
            return service;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the service did not start: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn post(base: &str, path: &str, token: Option<&str>, body: &Value) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Where each needle occurs (case-insensitively, as text or as the hex a database dump
/// writes binary columns in) in the haystacks.
fn find(haystacks: &[(String, Vec<u8>)], needles: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    for (name, bytes) in haystacks {
        let lower = bytes.to_ascii_lowercase();
        for needle in needles {
            let needle = needle.to_ascii_lowercase();
            for form in [needle.clone(), hex::encode(needle.as_bytes())] {
                if lower.windows(form.len()).any(|w| w == form.as_bytes()) {
                    found.push(format!("{needle} in {name}"));
                }
            }
        }
    }
    found
}

async fn scenario(database: Option<&PgDatabase>) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let log = tmp.path().join("serve.log");
    let mut service = start(&data, &log, database.map(|d| d.url.as_str()));
    let base = service.base.clone();
    let operator = std::fs::read_to_string(data.join("operator.token"))
        .unwrap()
        .trim()
        .to_string();
    let (status, body) = post(
        &base,
        "/v1/admin/orgs",
        Some(&operator),
        &json!({"id": "hh", "name": "Helping Hands", "country": "DE"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let token = serde_json::from_str::<Value>(&body).unwrap()["api_token"]
        .as_str()
        .unwrap()
        .to_string();
    let write = |path: &'static str, body: Value| {
        let (base, token) = (base.clone(), token.clone());
        async move { post(&base, &format!("/v1/orgs/hh{path}"), Some(&token), &body).await }
    };
    let (status, body) = write(
        "/beneficiaries",
        json!({"id": "kitchen", "label": "Kitchen", "kind": "supplier", "country": "DE"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = write(
        "/campaigns",
        json!({"id": "meals", "title": CONTROL, "purpose": "Lunch", "currency": "EUR",
               "beneficiaries": ["kitchen"]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = write(
        "/donations",
        json!({"id": "d1", "campaign": "meals", "amount": 50, "fee": 1, "channel": "card",
               "donor_ref": PLANTED[0]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = write(
        "/donations/batch",
        json!({"donations": [
            {"id": "d2", "campaign": "meals", "amount": 20, "fee": 0, "channel": "sms",
             "donor_ref": PLANTED[1]},
            {"id": "d3", "campaign": "meals", "amount": 30, "fee": 0, "channel": "sms",
             "donor_ref": PLANTED[2]}]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = post(
        &base,
        "/v1/donors/lookup",
        None,
        &json!({"org": "hh", "donor_ref": PLANTED[2]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // A refused request carrying a reference (a negative amount).
    let (status, body) = write(
        "/donations",
        json!({"id": "d4", "campaign": "meals", "amount": -5, "fee": 0, "channel": "card",
               "donor_ref": PLANTED[3]}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    for reference in PLANTED {
        assert!(
            !body
                .to_ascii_lowercase()
                .contains(&reference.to_ascii_lowercase())
        );
    }
    let (status, body) = write(
        "/disbursements",
        json!({"id": "x1", "campaign": "meals", "beneficiary": "kitchen", "amount": 60,
               "purpose": "Food"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    // Everything a reader can download.
    let mut haystacks: Vec<(String, Vec<u8>)> = Vec::new();
    let client = reqwest::Client::new();
    for file in ["entries.csv", "donations.csv", "flows.csv", "campaigns.csv"] {
        let bytes = client
            .get(format!("{base}/v1/exports/{file}"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        haystacks.push((format!("GET /v1/exports/{file}"), bytes.to_vec()));
    }
    let entries = client
        .get(format!("{base}/v1/entries?limit=1000"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    haystacks.push(("GET /v1/entries".into(), entries.to_vec()));
    let tar = client
        .get(format!("{base}/v1/exports/bundle.tar"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    haystacks.push(("bundle.tar".into(), tar.to_vec()));

    // SIGKILL: the SQLite WAL stays as it was, not checkpointed into the main file.
    service.child.kill().unwrap();
    service.child.wait().unwrap();
    for path in files(&data) {
        haystacks.push((path.display().to_string(), std::fs::read(&path).unwrap()));
    }
    haystacks.push((
        "the application log".into(),
        std::fs::read(&service.log).unwrap(),
    ));
    haystacks.push((
        "the application's stdout".into(),
        std::fs::read(service.log.with_extension("out")).unwrap(),
    ));
    if let Some(db) = database {
        let dump = std::process::Command::new("pg_dump")
            .arg(&db.url)
            .output()
            .expect("pg_dump");
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        haystacks.push(("pg_dump of the database".into(), dump.stdout));
    } else {
        assert!(
            files(&data)
                .iter()
                .any(|p| p.to_string_lossy().ends_with("-wal")),
            "the SQLite WAL is among the scanned files"
        );
    }

    let planted: Vec<String> = PLANTED.iter().map(|s| s.to_string()).collect();
    let leaks = find(&haystacks, &planted);
    assert!(leaks.is_empty(), "donor references leaked: {leaks:#?}");
    // The control: a stored title is found in the log, the exports and the database.
    let control = find(&haystacks, &[CONTROL.to_string()]);
    for place in [
        "GET /v1/entries",
        "bundle.tar",
        "GET /v1/exports/entries.csv",
    ] {
        assert!(
            control.iter().any(|c| c.ends_with(place)),
            "the scan missed the control in {place}: {control:?}"
        );
    }
    let database_hit = if database.is_some() {
        control
            .iter()
            .any(|c| c.ends_with("pg_dump of the database"))
    } else {
        control.iter().any(|c| c.contains("pennytrail.db"))
    };
    assert!(
        database_hit,
        "the scan missed the control in the database: {control:?}"
    );
}

#[pennytrail_test]
async fn donor_references_reach_no_log_export_or_database_file_sqlite() {
    scenario(None).await;
}

#[pennytrail_test(postgres)]
async fn donor_references_reach_no_log_export_or_database_file_postgres() {
    let db = PgDatabase::create().await;
    scenario(Some(&db)).await;
    db.drop_database().await;
}
