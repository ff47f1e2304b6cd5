//! A witnessed log end to end: the service with `--witness-policy` asks two real
//! `pennytrail witness` processes for cosignatures; a receipt carrying both verifies
//! offline with the policy (`pennytrail verify-receipt --policy`) and fails with either
//! missing; with one witness down writes go on, the witnessed checkpoint waits, then
//! catches up; a fork signed with the log's own key is refused by the witnesses and by a
//! verifier holding the policy.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::witness::{cosigned_size, free_port, request, submit_to};
use crate::support::{Backend, ORIGIN, TestApp, pennytrail_test};

const W1: &str = "w1.test/witness";
const W2: &str = "w2.test/witness";

/// A `pennytrail witness` child process.
pub(super) struct WitnessProcess {
    pub(super) child: tokio::process::Child,
    pub(super) base: String,
}

/// Starts `pennytrail witness --name NAME` on `port` with its state in `dir`, cosigning
/// the log whose key is `log_vkey`; waits until it answers.
pub(super) async fn spawn_witness(
    dir: &Path,
    port: u16,
    name: &str,
    log_vkey: &str,
) -> WitnessProcess {
    let policy = dir.join("policy");
    std::fs::write(&policy, format!("log {log_vkey}\nquorum none\n")).unwrap();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"))
        .args(["witness", "--name", name, "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir)
        .arg("--policy")
        .arg(&policy)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..500 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            return WitnessProcess { child, base };
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the witness {name} did not start");
}

impl WitnessProcess {
    async fn vkey(&self) -> String {
        reqwest::get(format!("{}/vkey", self.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .trim()
            .to_string()
    }

    async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }
}

/// The size of the latest witnessed checkpoint, or `None` while there is none (503).
async fn witnessed_size(app: &TestApp) -> Option<u64> {
    let answer = app.get("/v1/checkpoint?witnessed=true").await;
    match answer.status.as_u16() {
        200 => answer.text().lines().nth(1).and_then(|l| l.parse().ok()),
        503 => None,
        other => panic!(
            "/v1/checkpoint?witnessed=true answered {other}: {}",
            answer.text()
        ),
    }
}

/// Waits until a checkpoint of at least `size` entries is witnessed; returns how long.
async fn until_witnessed(app: &TestApp, size: u64, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if witnessed_size(app).await.is_some_and(|s| s >= size) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "no witnessed checkpoint of {size} entries after {limit:?} (witnessed: {:?})",
            witnessed_size(app).await
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `pennytrail verify-receipt RECEIPT --entry ENTRY --key KEY [--policy FILE]`: (passed,
/// stdout and stderr).
fn verify_receipt(
    dir: &Path,
    receipt: &str,
    entry: &[u8],
    key: &str,
    policy: Option<&Path>,
) -> (bool, String) {
    let receipt_file = dir.join("receipt.txt");
    let entry_file = dir.join("entry.json");
    std::fs::write(&receipt_file, receipt).unwrap();
    std::fs::write(&entry_file, entry).unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"));
    command
        .arg("verify-receipt")
        .arg(&receipt_file)
        .arg("--entry")
        .arg(&entry_file)
        .args(["--key", key]);
    if let Some(policy) = policy {
        command.arg("--policy").arg(policy);
    }
    let output = command.output().unwrap();
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// `pennytrail ARGS…`: (passed, stdout and stderr).
fn pennytrail(args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// The receipt without the cosignature line of the witness `name`.
fn without_cosignature(receipt: &str, name: &str) -> String {
    let prefix = format!("\u{2014} {name} ");
    let kept: Vec<&str> = receipt
        .split_inclusive('\n')
        .filter(|l| !l.starts_with(&prefix))
        .collect();
    assert!(
        kept.len() < receipt.split_inclusive('\n').count(),
        "no line of {name} in\n{receipt}"
    );
    kept.concat()
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

#[pennytrail_test]
async fn a_log_witnessed_by_two_witnesses_on_sqlite() {
    witnessed_by_two(Backend::Sqlite).await;
}

#[pennytrail_test(postgres)]
async fn a_log_witnessed_by_two_witnesses_on_postgres() {
    witnessed_by_two(Backend::Postgres).await;
}

async fn witnessed_by_two(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let log_key = dir.path().join("log.key");
    let signer = pennytrail::keys::generate_signer(ORIGIN, &log_key).unwrap();
    let log_vkey = signer.verifier().to_text();
    let (w1_dir, w2_dir) = (dir.path().join("w1"), dir.path().join("w2"));
    std::fs::create_dir_all(&w1_dir).unwrap();
    std::fs::create_dir_all(&w2_dir).unwrap();
    let (p1, p2) = (free_port(), free_port());
    let w1 = spawn_witness(&w1_dir, p1, W1, &log_vkey).await;
    let mut w2 = spawn_witness(&w2_dir, p2, W2, &log_vkey).await;
    let policy: PathBuf = dir.path().join("log.policy");
    std::fs::write(
        &policy,
        format!(
            "log {log_vkey}\nwitness W1 {} {}\nwitness W2 {} {}\ngroup both 2 W1 W2\nquorum both\n",
            w1.vkey().await,
            w1.base,
            w2.vkey().await,
            w2.base
        ),
    )
    .unwrap();
    let app = TestApp::start_configured(backend, |config| {
        config.log_key = Some(log_key.clone());
        config.witness_policy = Some(policy.clone());
    })
    .await;

    // Both witnesses up: a donation's witnessed receipt carries both cosignatures.
    let org = app.seeded_org("witnessed").await;
    let seq = app.post_donation(&org, "d1", "meals", 500, 20).await["seq"]
        .as_u64()
        .unwrap();
    until_witnessed(&app, seq + 1, Duration::from_secs(20)).await;
    let receipt = app
        .get(&format!("/v1/entries/{seq}/proof?witnessed=true"))
        .await;
    assert_eq!(receipt.status, 200, "{}", receipt.text());
    let receipt = receipt.text();
    // An entry that does not exist is not waited for.
    app.get("/v1/entries/999999/proof?witnessed=true")
        .await
        .assert_problem(404, Some("seq"));
    let entry = app.get(&format!("/v1/entries/{seq}")).await.body;
    let (ok, said) = verify_receipt(dir.path(), &receipt, &entry, &log_vkey, Some(&policy));
    assert!(ok, "{said}");
    assert!(said.contains("cosigned by W1, W2"), "{said}");
    for (gone, missing) in [(W1, "missing: W1"), (W2, "missing: W2")] {
        let (ok, said) = verify_receipt(
            dir.path(),
            &without_cosignature(&receipt, gone),
            &entry,
            &log_vkey,
            Some(&policy),
        );
        assert!(
            !ok && said.contains("NOT WITNESSED") && said.contains(missing),
            "{said}"
        );
    }
    // The donor's one-file receipt is proved against a witnessed checkpoint too, and
    // checks alone with the policy.
    let file = app
        .get(&format!("/v1/orgs/{}/donations/d1/receipt", org.id))
        .await;
    assert_eq!(file.status, 200, "{}", file.text());
    let file_path = dir.path().join("donation-receipt.txt");
    std::fs::write(&file_path, &file.body).unwrap();
    let (ok, said) = pennytrail(&[
        "verify-receipt",
        file_path.to_str().unwrap(),
        "--key",
        &log_vkey,
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert!(ok && said.contains("cosigned by W1, W2"), "{said}");
    // A policy that does not list the log is refused, naming the flag.
    let other = dir.path().join("other.policy");
    std::fs::write(&other, "quorum none\n").unwrap();
    let (ok, said) = verify_receipt(dir.path(), &receipt, &entry, &log_vkey, Some(&other));
    assert!(!ok && said.contains("--policy"), "{said}");
    // The bundle a witnessed service exports, and a static tile copy made with the policy,
    // are cut at a witnessed checkpoint; the verifier and the monitor check the quorum.
    let policy_arg = policy.to_str().unwrap();
    let bundle = dir.path().join("bundle");
    let (ok, said) = pennytrail(&[
        "export",
        "--url",
        &app.base,
        "--out",
        bundle.to_str().unwrap(),
    ]);
    assert!(ok, "{said}");
    let (ok, said) = pennytrail(&[
        "verify",
        bundle.to_str().unwrap(),
        "--key",
        &log_vkey,
        "--policy",
        policy_arg,
    ]);
    assert!(ok && said.contains("cosigned by W1, W2"), "{said}");
    let copy = dir.path().join("copy");
    let store = app.store_config();
    let mut sync = vec![
        "tiles",
        "sync",
        "--out",
        copy.to_str().unwrap(),
        "--witness-policy",
        policy_arg,
    ];
    let data_dir = store.data_dir.to_str().unwrap().to_string();
    match &store.database_url {
        Some(url) => sync.extend(["--database-url", url.as_str()]),
        None => sync.extend(["--data-dir", data_dir.as_str()]),
    }
    let (ok, said) = pennytrail(&sync);
    assert!(ok, "{said}");
    let copied = std::fs::read_to_string(copy.join("checkpoint")).unwrap();
    assert!(
        copied.contains(&format!("\u{2014} {W1} ")) && copied.contains(&format!("\u{2014} {W2} ")),
        "{copied}"
    );
    let state = dir.path().join("monitor.state");
    let (ok, said) = pennytrail(&[
        "verify",
        "--url",
        &app.base,
        "--key",
        &log_vkey,
        "--state",
        state.to_str().unwrap(),
        "--policy",
        policy_arg,
    ]);
    assert!(ok && said.contains("cosigned by W1, W2"), "{said}");
    for name in ["W1", "W2"] {
        assert!(
            said.contains(&format!("witness {name} (http://127.0.0.1:"))
                && !said.contains("could not be asked"),
            "{said}"
        );
    }
    // The tiles' checkpoint is the witnessed one, and so is the trace's.
    let tiles_note = app.get("/log/checkpoint").await.text();
    assert!(
        tiles_note.contains(&format!("\u{2014} {W1} "))
            && tiles_note.contains(&format!("\u{2014} {W2} "))
    );
    let trace = app
        .get_json(&format!("/v1/orgs/{}/donations/d1/trace", org.id))
        .await;
    assert_eq!(trace["receipts_checkpoint"]["witnessed"], true, "{trace}");
    let page = app
        .get(&format!("/lookup?org={}&donation=d1", org.id))
        .await
        .text();
    assert!(
        page.contains(&format!("cosigned by the witnesses W1 ({W1}), W2 ({W2})")),
        "{page}"
    );

    // W2 down: writes go on, the witnessed checkpoint waits.
    let before = witnessed_size(&app).await.unwrap();
    w2.kill().await;
    let mut last = 0;
    for i in 0..3 {
        last = app
            .post_donation(&org, &format!("down{i}"), "meals", 300, 10)
            .await["seq"]
            .as_u64()
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(witnessed_size(&app).await.unwrap() < last + 1);
    assert!(witnessed_size(&app).await.unwrap() >= before);
    let waiting = app
        .get(&format!("/v1/entries/{last}/proof?witnessed=true"))
        .await;
    assert_eq!(waiting.status, 503, "{}", waiting.text());
    assert!(waiting.content_type.starts_with("application/problem+json"));
    // A donation no witnessed checkpoint includes has no receipt yet: 503, retry shortly.
    let waiting = app
        .client
        .get(format!(
            "{}/v1/orgs/{}/donations/down2/receipt",
            app.base, org.id
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(waiting.headers()["retry-after"], "2");
    let problem = crate::support::answer(waiting)
        .await
        .assert_problem(503, None);
    assert_eq!(problem["type"], "urn:pennytrail:problem:not-witnessed-yet");
    // The checkpoint of that size exists, but is not witnessed; the earlier one is.
    let size = last + 1;
    app.get(&format!(
        "/v1/entries/{last}/proof?size={size}&witnessed=true"
    ))
    .await
    .assert_problem(404, Some("size"));
    let earlier = app
        .get(&format!(
            "/v1/entries/{seq}/proof?size={before}&witnessed=true"
        ))
        .await;
    assert_eq!(earlier.status, 200, "{}", earlier.text());
    assert!(earlier.text().contains(&format!("\u{2014} {W2} ")));
    let trace = app
        .get_json(&format!("/v1/orgs/{}/donations/down2/trace", org.id))
        .await;
    assert_eq!(trace["receipts_checkpoint"]["witnessed"], false, "{trace}");
    assert_eq!(trace["receipts_checkpoint"]["size"], last + 1, "{trace}");
    let metrics = app.get("/metrics").await.text();
    assert!(
        metrics
            .contains("pennytrail_witness_failures_total{witness=\"W2\",status=\"unreachable\"}"),
        "{metrics}"
    );
    // W2 back on its port and state: the witnessed checkpoint catches up.
    w2 = spawn_witness(&w2_dir, p2, W2, &log_vkey).await;
    let caught_up = until_witnessed(&app, last + 1, Duration::from_secs(45)).await;
    note!("with W2 back, the witnessed checkpoint caught up in {caught_up:?}");
    let receipt = app
        .get(&format!("/v1/entries/{last}/proof?witnessed=true"))
        .await
        .text();
    let entry = app.get(&format!("/v1/entries/{last}")).await.body;
    let (ok, said) = verify_receipt(dir.path(), &receipt, &entry, &log_vkey, Some(&policy));
    assert!(ok, "{said}");
    let metrics = app.get("/metrics").await.text();
    for name in ["W1", "W2"] {
        let line = format!("pennytrail_witness_cosigned_size{{witness=\"{name}\"}} ");
        let size: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .unwrap_or_else(|| panic!("no {line} in {metrics}"))
            .parse()
            .unwrap();
        assert!(size > last, "{name} cosigned only {size}");
    }

    // From append to witnessed checkpoint.
    let mut delays = Vec::new();
    for i in 0..20 {
        let seq = app
            .post_donation(&org, &format!("t{i}"), "meals", 100, 0)
            .await["seq"]
            .as_u64()
            .unwrap();
        delays.push(until_witnessed(&app, seq + 1, Duration::from_secs(20)).await);
    }
    delays.sort();
    note!(
        "append to witnessed checkpoint, two witnesses, {} appends: p50 {:?}, p99 {:?}, max {:?}",
        delays.len(),
        percentile(&delays, 50),
        percentile(&delays, 99),
        delays.last().unwrap()
    );

    // A split view: a second history under the log's key. The witnesses refuse its
    // checkpoint, and a verifier with the policy refuses its receipt, which a verifier
    // with the key alone accepts.
    let fork_key = dir.path().join("fork").join("log.key");
    std::fs::create_dir_all(fork_key.parent().unwrap()).unwrap();
    std::fs::copy(&log_key, &fork_key).unwrap();
    let fork = TestApp::start_with_key(backend, Some(fork_key)).await;
    let fork_org = fork.seeded_org("forked").await;
    // Longer than the witnessed log, so that it could pass for its next checkpoint.
    let witnessed = witnessed_size(&app).await.unwrap();
    while fork.log_size().await <= witnessed + 5 {
        let n = fork.log_size().await;
        fork.post_donation(&fork_org, &format!("f{n}"), "meals", 100, 0)
            .await;
    }
    let fork_seq = fork.post_donation(&fork_org, "d1", "meals", 500, 20).await["seq"]
        .as_u64()
        .unwrap();
    let fork_note = fork.checkpoint_note().await;
    let client = reqwest::Client::new();
    for base in [&w1.base, &w2.base] {
        let held = cosigned_size(&client, base).await.unwrap();
        for old in [0, held] {
            let (status, _, body) = submit_to(&client, base, &request(old, &[], &fork_note)).await;
            assert!(
                status == 409 || status == 422,
                "{base} answered {status} to the fork: {body}"
            );
        }
    }
    // A monitor of the fork whose policy requires no quorum still asks the witnesses,
    // and they show it another history under the same key.
    let lenient = dir.path().join("lenient.policy");
    let text = std::fs::read_to_string(&policy).unwrap();
    std::fs::write(&lenient, text.replace("quorum both", "quorum none")).unwrap();
    let fork_state = dir.path().join("fork.state");
    let (ok, said) = pennytrail(&[
        "verify",
        "--url",
        &fork.base,
        "--key",
        &log_vkey,
        "--state",
        fork_state.to_str().unwrap(),
        "--policy",
        lenient.to_str().unwrap(),
    ]);
    assert!(!ok && said.contains("SPLIT VIEW: witness W1"), "{said}");
    let fork_receipt = fork
        .get(&format!("/v1/entries/{fork_seq}/proof"))
        .await
        .text();
    let fork_entry = fork.get(&format!("/v1/entries/{fork_seq}")).await.body;
    let (ok, said) = verify_receipt(dir.path(), &fork_receipt, &fork_entry, &log_vkey, None);
    assert!(ok, "without a policy the fork's receipt verifies: {said}");
    let (ok, said) = verify_receipt(
        dir.path(),
        &fork_receipt,
        &fork_entry,
        &log_vkey,
        Some(&policy),
    );
    assert!(!ok && said.contains("missing: W1, W2"), "{said}");

    fork.finish().await;
    app.finish().await;
    w1.kill().await;
    w2.kill().await;
}

/// The size of the latest witnessed checkpoint served at `base`, if any.
async fn witnessed_size_at(client: &reqwest::Client, base: &str) -> Option<u64> {
    let response = client
        .get(format!("{base}/v1/checkpoint?witnessed=true"))
        .send()
        .await
        .ok()?;
    if response.status() != 200 {
        return None;
    }
    response.text().await.ok()?.lines().nth(1)?.parse().ok()
}

/// Registers org `id` through the service at `base`; returns the log's size after it.
async fn register_at(client: &reqwest::Client, base: &str, token: &str, id: &str) -> u64 {
    let response = client
        .post(format!("{base}/v1/admin/orgs"))
        .bearer_auth(token)
        .json(&serde_json::json!({"id": id, "name": format!("Charity {id}"), "country": "DE"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let answer: serde_json::Value = response.json().await.unwrap();
    answer["seq"].as_u64().unwrap() + 1
}

/// Whether the service at `base` has submitted to a witness (its metric exists).
async fn submits(client: &reqwest::Client, base: &str) -> bool {
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    metrics.contains("pennytrail_witness_cosigned_size{witness=\"W1\"}")
}

/// A log key and one witness `W1` in `dir`, and the log's policy needing W1's
/// cosignature. The witness cosigns this log, or (`cosigns_this_log` false) only another.
struct OneWitness {
    key: PathBuf,
    policy: PathBuf,
    witness: WitnessProcess,
}

async fn one_witness(dir: &Path, cosigns_this_log: bool) -> OneWitness {
    let key = dir.join("log.key");
    let log_vkey = pennytrail::keys::generate_signer(ORIGIN, &key)
        .unwrap()
        .verifier()
        .to_text();
    let witnessed = if cosigns_this_log {
        log_vkey.clone()
    } else {
        pennytrail::keys::generate_signer("other.example/log", &dir.join("other.key"))
            .unwrap()
            .verifier()
            .to_text()
    };
    let w_dir = dir.join("w1");
    std::fs::create_dir_all(&w_dir).unwrap();
    let witness = spawn_witness(&w_dir, free_port(), W1, &witnessed).await;
    let policy = dir.join("log.policy");
    std::fs::write(
        &policy,
        format!(
            "log {log_vkey}\nwitness W1 {} {}\nquorum W1\n",
            witness.vkey().await,
            witness.base
        ),
    )
    .unwrap();
    OneWitness {
        key,
        policy,
        witness,
    }
}

/// Two `pennytrail serve` processes on one PostgreSQL database, both with the policy: one
/// of them (the holder of the advisory lock) submits; killed, the other takes over.
#[pennytrail_test(postgres)]
async fn one_process_of_several_on_postgres_asks_the_witnesses() {
    use crate::support::{PgDatabase, ServiceProcess};
    let db = PgDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let OneWitness {
        key,
        policy,
        witness: w1,
        ..
    } = one_witness(dir.path(), true).await;
    let secret = dir.path().join("donor.secret");
    pennytrail::keys::load_or_create_donor_secret(&secret, true).unwrap();
    let data: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut services = Vec::new();
    for data_dir in &data {
        let args = [
            "--data-dir",
            data_dir.path().to_str().unwrap(),
            "--database-url",
            &db.url,
            "--log-key",
            key.to_str().unwrap(),
            "--origin",
            ORIGIN,
            "--donor-secret",
            secret.to_str().unwrap(),
            "--witness-policy",
            policy.to_str().unwrap(),
        ];
        services.push(ServiceProcess::start(&args).await.unwrap());
    }
    let token = std::fs::read_to_string(data[0].path().join("operator.token"))
        .unwrap()
        .trim()
        .to_string();
    let client = reqwest::Client::new();
    let wait_for = |base: String, size: u64| {
        let client = client.clone();
        async move {
            let started = Instant::now();
            while witnessed_size_at(&client, &base)
                .await
                .is_none_or(|s| s < size)
            {
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "{base}: no witnessed checkpoint of {size} entries"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let size = register_at(&client, &services[0].base, &token, "first").await;
    wait_for(services[1].base.clone(), size).await;
    // Ten rounds more: a second submitter would have shown by then.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut submitting = Vec::new();
    for service in &services {
        submitting.push(submits(&client, &service.base).await);
    }
    assert_eq!(
        submitting.iter().filter(|s| **s).count(),
        1,
        "exactly one process submits: {submitting:?}"
    );
    // The submitter dies; the other takes the lock over.
    let holder = submitting.iter().position(|s| *s).unwrap();
    let survivor = services.remove(1 - holder);
    services.pop().unwrap().kill9().await;
    let size = register_at(&client, &survivor.base, &token, "second").await;
    wait_for(survivor.base.clone(), size).await;
    assert!(submits(&client, &survivor.base).await);
    survivor.kill9().await;
    w1.kill().await;
    db.drop_database().await;
}

/// A witness that answers 404 (it does not witness this log) is an alarm: an ERROR line
/// naming it and `pennytrail_witness_failures_total{status="404"}`, then no resubmission
/// for the alarm back-off, while the log goes on taking writes.
#[pennytrail_test]
async fn a_witness_refusing_the_log_raises_an_alarm_not_a_retry() {
    use crate::support::ServiceProcess;
    let dir = tempfile::tempdir().unwrap();
    // The witness's own policy names another log.
    let OneWitness {
        key,
        policy,
        witness,
        ..
    } = one_witness(dir.path(), false).await;
    let data = tempfile::tempdir().unwrap();
    let service = ServiceProcess::start(&[
        "--data-dir",
        data.path().to_str().unwrap(),
        "--log-key",
        key.to_str().unwrap(),
        "--origin",
        ORIGIN,
        "--witness-policy",
        policy.to_str().unwrap(),
    ])
    .await
    .unwrap();
    let token = std::fs::read_to_string(data.path().join("operator.token"))
        .unwrap()
        .trim()
        .to_string();
    let client = reqwest::Client::new();
    for i in 0..5 {
        register_at(&client, &service.base, &token, &format!("org{i}")).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let metrics = client
        .get(format!("{}/metrics", service.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l == "pennytrail_witness_failures_total{witness=\"W1\",status=\"404\"} 1"),
        "one 404, not retried as the log grew: {metrics}"
    );
    let log = service.log.lock().unwrap().join("\n");
    assert!(
        log.lines().any(|l| l.contains("\"level\":\"ERROR\"")
            && l.contains("refused this log's checkpoint")
            && l.contains("W1")),
        "{log}"
    );
    let answer = client
        .get(format!("{}/v1/checkpoint?witnessed=true", service.base))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 503);
    assert!(answer.headers().contains_key("retry-after"));
    service.kill9().await;
    witness.kill().await;
}
