//! The real binary under load, killed with SIGKILL at random moments: every acknowledged
//! write survives exactly once, `pennytrail check` passes, and every new checkpoint is
//! consistent with the ones before; donation batches are never partly logged. Also:
//! several processes on one PostgreSQL database never fork the log.
//!
//! `PENNYTRAIL_CRASH_ROUNDS` sets the number of kills per backend (default 50; the
//! longer mode is just a bigger number).

use crate::support::{ORIGIN, PgDatabase, ServiceProcess, pennytrail_test, run_check};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use pennytrail::log::checkpoint::Checkpoint;
use pennytrail::log::hash::Hash;
use pennytrail::log::merkle::verify_consistency;
use pennytrail::log::note::NoteVerifier;
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// Concurrent clients during each round: each keeps one request in flight, so at least
/// 16 requests are in flight when the process is killed. Half register orgs (one entry
/// per request), half send donation batches (several entries per request).
const CLIENTS: usize = 24;

/// Acknowledged writes: id → (seq, the entry's bytes as answered). Batch answers carry
/// no entry bytes; for those the id is checked at the seq.
type Acked = Arc<Mutex<BTreeMap<String, (u64, Vec<u8>)>>>;

/// Donation batches sent (acknowledged or not): batch id → its donation ids. Each must be
/// in the log whole or not at all.
type SentBatches = Arc<Mutex<BTreeMap<String, Vec<String>>>>;

/// Items per donation batch in the crash load.
const BATCH_ITEMS: usize = 4;
/// Items in the batches of the client whose batches are pipelined (at least 256).
const PIPELINED_BATCH_ITEMS: usize = 300;

/// The org receiving the crash load's donation batches.
const CRASH_ORG: &str = "crash-org";

fn rounds() -> usize {
    std::env::var("PENNYTRAIL_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ROUNDS)
}

/// Kills per backend in the default run (CI); `PENNYTRAIL_CRASH_ROUNDS` sets more.
const DEFAULT_ROUNDS: usize = 50;

/// A small deterministic generator for kill delays (no extra dependency, reproducible).
fn delay_ms(round: usize) -> u64 {
    let x = (round as u64 + 1)
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    150 + (x >> 33) % 450
}

struct Verified {
    size: u64,
    root: Hash,
}

/// Reads the whole log back and checks it against everything acknowledged so far.
async fn verify_log(
    client: &reqwest::Client,
    base: &str,
    verifier: &NoteVerifier,
    acked: &BTreeMap<String, (u64, Vec<u8>)>,
    sent: &BTreeMap<String, Vec<String>>,
    previous: Option<&Verified>,
) -> Verified {
    let note = client
        .get(format!("{base}/v1/checkpoint"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let checkpoint = Checkpoint::open(&note, verifier).expect("latest checkpoint verifies");
    let mut entries: Vec<Vec<u8>> = Vec::new();
    while (entries.len() as u64) < checkpoint.size {
        let page = client
            .get(format!(
                "{base}/v1/entries?from={}&limit=1000",
                entries.len()
            ))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let before = entries.len();
        entries.extend(
            page.split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec),
        );
        assert!(entries.len() > before, "entries listing made no progress");
    }
    // The id a write is known by: the org for a registration, else the donation id.
    let write_id = |v: &Value| -> String {
        v["donation"]
            .as_str()
            .or(v["org"].as_str())
            .unwrap()
            .to_string()
    };
    let parsed: Vec<Value> = entries
        .iter()
        .map(|bytes| serde_json::from_slice(bytes).unwrap())
        .collect();
    let mut ids: HashMap<String, usize> = HashMap::new();
    for v in &parsed {
        if v["kind"] == "org.registered" || v["kind"] == "donation.received" {
            *ids.entry(write_id(v)).or_default() += 1;
        }
    }
    if let Some((id, n)) = ids.iter().find(|(_, n)| **n > 1) {
        panic!("{id} is logged {n} times");
    }
    for (id, (seq, bytes)) in acked {
        let stored = entries.get(*seq as usize).unwrap_or_else(|| {
            panic!(
                "acknowledged {id} at seq {seq} is missing (log size {})",
                checkpoint.size
            )
        });
        if bytes.is_empty() {
            assert_eq!(&write_id(&parsed[*seq as usize]), id, "entry {seq}");
        } else {
            assert_eq!(stored, bytes, "acknowledged entry {seq} ({id}) changed");
        }
    }
    // Unacknowledged batches are absent or whole, never partly there.
    for (batch, items) in sent {
        let present = items.iter().filter(|id| ids.contains_key(*id)).count();
        assert!(
            present == 0 || present == items.len(),
            "batch {batch}: {present} of {} items logged",
            items.len()
        );
    }
    if let Some(prev) = previous {
        assert!(
            checkpoint.size >= prev.size,
            "the log shrank from {} to {}",
            prev.size,
            checkpoint.size
        );
        let proof: Value = client
            .get(format!(
                "{base}/v1/proofs/consistency?from={}&to={}",
                prev.size, checkpoint.size
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let hashes: Vec<Hash> = proof["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
            .collect();
        verify_consistency(
            &hashes,
            prev.size,
            &prev.root,
            checkpoint.size,
            &checkpoint.root,
        )
        .expect("new checkpoint is consistent with the previous one");
    }
    Verified {
        size: checkpoint.size,
        root: checkpoint.root,
    }
}

/// What the load's clients share: their acknowledgements, the stop flag and the count
/// of requests in flight (and its maximum).
#[derive(Clone, Default)]
struct Load {
    acked: Acked,
    stop: Arc<AtomicBool>,
    in_flight: Arc<AtomicUsize>,
    in_flight_max: Arc<AtomicUsize>,
}

impl Load {
    /// Sends one request and reads its JSON answer, counting it as in flight meanwhile;
    /// `None` once the server is gone (killed or stopped).
    async fn send(&self, request: reqwest::RequestBuilder) -> Option<(u16, Value)> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.in_flight_max.fetch_max(now, Ordering::SeqCst);
        let sent = request.send().await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let response = sent.ok()?;
        let status = response.status().as_u16();
        Some((status, response.json::<Value>().await.ok()?))
    }

    /// `clients` tasks, each running `client(its index, a copy of the load)` until the
    /// load stops or its server goes away.
    fn spawn<F, Fut>(&self, clients: usize, client: F) -> Vec<tokio::task::JoinHandle<()>>
    where
        F: Fn(usize, Load) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        (0..clients)
            .map(|c| tokio::spawn(client(c, self.clone())))
            .collect()
    }
}

/// Clients that register orgs until their server goes away or the load stops.
fn spawn_load(
    base: &str,
    token: &str,
    tag: &str,
    clients: usize,
    load: &Load,
) -> Vec<tokio::task::JoinHandle<()>> {
    load.spawn(clients, |c, load| {
        let (base, token, tag) = (base.to_string(), token.to_string(), tag.to_string());
        async move {
            let client = reqwest::Client::new();
            for n in 0.. {
                if load.stop.load(Ordering::Relaxed) {
                    break;
                }
                let id = format!("{tag}-c{c}-{n}");
                let request = client
                    .post(format!("{base}/v1/admin/orgs"))
                    .bearer_auth(&token)
                    .json(&json!({"id": id, "name": format!("Charity {id}"), "country": "KE"}));
                let Some((status, body)) = load.send(request).await else {
                    break;
                };
                assert!(
                    status == 201 || status == 200,
                    "unexpected {status}: {body}"
                );
                let entry = serde_json::to_vec(&body["entry"]).unwrap();
                load.acked
                    .lock()
                    .await
                    .insert(id, (body["seq"].as_u64().unwrap(), entry));
            }
        }
    })
}

/// Clients that send donation batches to [`CRASH_ORG`] until their server goes away.
fn spawn_batches(
    base: &str,
    org_token: &str,
    tag: &str,
    sent: &SentBatches,
    load: &Load,
) -> Vec<tokio::task::JoinHandle<()>> {
    load.spawn(CLIENTS / 2, |c, load| {
        let (base, token, tag) = (base.to_string(), org_token.to_string(), tag.to_string());
        let sent = sent.clone();
        async move {
            let client = reqwest::Client::new();
            for n in 0.. {
                if load.stop.load(Ordering::Relaxed) {
                    break;
                }
                let batch = format!("{tag}-b{c}-{n}");
                // One client's batches are large enough to be pipelined (sequenced while the
                // batch before commits), so kills land in that path too.
                let items = if c == 0 { PIPELINED_BATCH_ITEMS } else { BATCH_ITEMS };
                let ids: Vec<String> = (0..items).map(|i| format!("{batch}-{i}")).collect();
                let donations: Vec<Value> = ids
                    .iter()
                    .map(|id| json!({"id": id, "campaign": "relief", "amount": 10 + n % 90, "fee": 0, "channel": "card"}))
                    .collect();
                sent.lock().await.insert(batch, ids.clone());
                let request = client
                    .post(format!("{base}/v1/orgs/{CRASH_ORG}/donations/batch"))
                    .bearer_auth(&token)
                    .json(&json!({ "donations": donations }));
                let Some((status, body)) = load.send(request).await else {
                    break;
                };
                assert!(status == 201, "unexpected {status}: {body}");
                let mut acked = load.acked.lock().await;
                for (id, item) in ids.into_iter().zip(body["items"].as_array().unwrap()) {
                    acked.insert(id, (item["seq"].as_u64().unwrap(), Vec::new()));
                }
            }
        }
    })
}

/// The service's count of pipelined batches so far (0 if it does not answer).
async fn pipelined_batches(base: &str) -> u64 {
    let Ok(response) = reqwest::get(format!("{base}/metrics")).await else {
        return 0;
    };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .find_map(|l| {
            l.strip_prefix("pennytrail_append_pipelined_batches_total ")?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn token_of(data_dir: &tempfile::TempDir) -> String {
    std::fs::read_to_string(data_dir.path().join("operator.token"))
        .unwrap()
        .trim()
        .to_string()
}

/// Registers [`CRASH_ORG`] with a campaign `relief`; returns its token.
async fn set_up_crash_org(client: &reqwest::Client, base: &str, operator: &str) -> String {
    let org: Value = client
        .post(format!("{base}/v1/admin/orgs"))
        .bearer_auth(operator)
        .json(&json!({"id": CRASH_ORG, "name": "Crash test charity", "country": "KE"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = org["api_token"].as_str().expect("org token").to_string();
    for (path, body) in [
        (
            "beneficiaries",
            json!({"id": "clinic", "label": "A clinic", "kind": "organization", "country": "KE"}),
        ),
        (
            "campaigns",
            json!({"id": "relief", "title": "Relief", "purpose": "Medicine",
                   "currency": "KES", "beneficiaries": ["clinic"]}),
        ),
    ] {
        let status = client
            .post(format!("{base}/v1/orgs/{CRASH_ORG}/{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 201, "setting up {path}");
    }
    token
}

async fn crash_rounds(database: Option<&PgDatabase>) {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap().to_string();
    let mut args = vec!["--data-dir", data_dir.as_str(), "--origin", ORIGIN];
    if let Some(db) = database {
        args.extend(["--database-url", db.url.as_str()]);
    }
    let client = reqwest::Client::new();
    let acked: Acked = Arc::default();
    let sent: SentBatches = Arc::default();
    let mut previous: Option<Verified> = None;
    let mut verifier: Option<NoteVerifier> = None;
    let mut org_token: Option<String> = None;
    let mut max_in_flight_at_kill = usize::MAX;
    // Batches sequenced while the one before committed, over the rounds (SQLite).
    let mut pipelined = 0;

    for round in 0..rounds() {
        let service = ServiceProcess::start(&args)
            .await
            .unwrap_or_else(|e| panic!("restart {round} failed:\n{e}"));
        let info: Value = client
            .get(format!("{}/v1/log", service.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let v = verifier.get_or_insert_with(|| {
            NoteVerifier::from_text(info["verifier_key"].as_str().unwrap()).unwrap()
        });
        previous = Some(
            verify_log(
                &client,
                &service.base,
                v,
                &*acked.lock().await,
                &*sent.lock().await,
                previous.as_ref(),
            )
            .await,
        );
        let token = token_of(&dir);
        if org_token.is_none() {
            org_token = Some(set_up_crash_org(&client, &service.base, &token).await);
        }

        let acked_before = acked.lock().await.len();
        let load = Load {
            acked: acked.clone(),
            ..Load::default()
        };
        let mut clients = spawn_load(
            &service.base,
            &token,
            &format!("r{round}"),
            CLIENTS / 2,
            &load,
        );
        clients.extend(spawn_batches(
            &service.base,
            org_token.as_deref().unwrap(),
            &format!("r{round}"),
            &sent,
            &load,
        ));
        // Wait for the load to be under way (a busy machine starts slowly), then kill at
        // a pseudo-random moment.
        let waiting = std::time::Instant::now();
        while acked.lock().await.len() == acked_before
            && waiting.elapsed() < Duration::from_secs(20)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(delay_ms(round))).await;
        max_in_flight_at_kill =
            max_in_flight_at_kill.min(load.in_flight_max.load(Ordering::SeqCst));
        pipelined += pipelined_batches(&service.base).await;
        service.kill9().await;
        load.stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.await.expect("client task");
        }
        let acked_now = acked.lock().await.len();
        assert!(
            acked_now > acked_before,
            "round {round}: no write was acknowledged before the kill"
        );
        note!(
            "round {round}: killed after {} ms; {} writes acknowledged so far",
            delay_ms(round),
            acked_now
        );
    }

    if database.is_none() {
        assert!(
            pipelined > 0,
            "no round pipelined a batch; the kills missed that path"
        );
    }
    note!("{pipelined} pipelined batches before the kills");

    // Last, a graceful stop (SIGTERM) under the same load: it exits cleanly and loses
    // nothing either.
    let service = ServiceProcess::start(&args).await.expect("restart");
    let acked_before = acked.lock().await.len();
    let load = Load {
        acked: acked.clone(),
        ..Load::default()
    };
    let mut clients = spawn_load(&service.base, &token_of(&dir), "term", CLIENTS / 2, &load);
    clients.extend(spawn_batches(
        &service.base,
        org_token.as_deref().unwrap(),
        "term",
        &sent,
        &load,
    ));
    while acked.lock().await.len() < acked_before + 50 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let status = service.terminate().await;
    assert!(status.success(), "graceful shutdown exit status {status}");
    load.stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.expect("client task");
    }
    let service = ServiceProcess::start(&args).await.expect("final restart");
    verify_log(
        &client,
        &service.base,
        verifier.as_ref().unwrap(),
        &*acked.lock().await,
        &*sent.lock().await,
        previous.as_ref(),
    )
    .await;
    let status = service.terminate().await;
    assert!(status.success(), "graceful shutdown exit status {status}");
    let (ok, output) = run_check(dir.path(), database.map(|d| d.url.as_str()));
    assert!(ok, "pennytrail check failed:\n{output}");
    assert!(output.contains("ok: "), "{output}");
    assert!(
        max_in_flight_at_kill >= 16,
        "only {max_in_flight_at_kill} requests were in flight"
    );
    note!(
        "{} kills survived; {} acknowledged writes all present; {} batches sent, none partial; {output}",
        rounds(),
        acked.lock().await.len(),
        sent.lock().await.len()
    );
}

#[pennytrail_test]
async fn sigkill_under_load_loses_nothing_sqlite() {
    crash_rounds(None).await;
}

#[pennytrail_test(postgres)]
async fn sigkill_under_load_loses_nothing_postgres() {
    let db = PgDatabase::create().await;
    crash_rounds(Some(&db)).await;
    db.drop_database().await;
}

/// Processes appending to one PostgreSQL database in the no-fork test.
const PROCESSES: usize = 3;

#[pennytrail_test(postgres)]
async fn several_processes_on_one_postgres_database_never_fork() {
    let db = PgDatabase::create().await;
    let key_dir = tempfile::tempdir().unwrap();
    let key = key_dir.path().join("log.key");
    pennytrail::keys::generate_signer(ORIGIN, &key).unwrap();
    // Processes sharing a database share its secrets too (the donor secret is checked).
    let secret = key_dir.path().join("donor.secret");
    pennytrail::keys::load_or_create_donor_secret(&secret, true).unwrap();
    let dirs: Vec<tempfile::TempDir> = (0..PROCESSES)
        .map(|_| tempfile::tempdir().unwrap())
        .collect();
    let mut services = Vec::new();
    for dir in &dirs {
        let args = [
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--database-url",
            &db.url,
            "--log-key",
            key.to_str().unwrap(),
            "--origin",
            ORIGIN,
            "--donor-secret",
            secret.to_str().unwrap(),
        ];
        services.push(ServiceProcess::start(&args).await.unwrap());
    }
    // The first process created the operator token; all accept it.
    let token = std::fs::read_to_string(dirs[0].path().join("operator.token"))
        .unwrap()
        .trim()
        .to_string();
    assert!(!dirs[1].path().join("operator.token").exists());

    let load = Load::default();
    let mut clients = Vec::new();
    for (p, service) in services.iter().enumerate() {
        clients.extend(spawn_load(
            &service.base,
            &token,
            &format!("p{p}"),
            CLIENTS,
            &load,
        ));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    load.stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let acked = load.acked.lock().await.clone();
    let per_process: Vec<usize> = (0..PROCESSES)
        .map(|p| {
            acked
                .keys()
                .filter(|k| k.starts_with(&format!("p{p}-")))
                .count()
        })
        .collect();
    assert!(
        per_process.iter().all(|n| *n > 20),
        "every process appended: {per_process:?}"
    );
    let client = reqwest::Client::new();
    let info: Value = client
        .get(format!("{}/v1/log", services[0].base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verifier = NoteVerifier::from_text(info["verifier_key"].as_str().unwrap()).unwrap();
    let no_batches = BTreeMap::new();
    let mut seen = Vec::new();
    for service in &services {
        seen.push(verify_log(&client, &service.base, &verifier, &acked, &no_batches, None).await);
    }
    assert_eq!(
        seen[0].size,
        acked.len() as u64,
        "no lost and no extra entries"
    );
    for other in &seen[1..] {
        assert_eq!(
            (other.size, other.root),
            (seen[0].size, seen[0].root),
            "every process serves one log"
        );
    }
    let mut seqs: Vec<u64> = acked.values().map(|(s, _)| *s).collect();
    seqs.sort();
    assert_eq!(
        seqs,
        (0..acked.len() as u64).collect::<Vec<_>>(),
        "seq is gap-free and unique"
    );
    for service in services {
        assert!(service.terminate().await.success());
    }
    let (ok, output) = run_check(dirs[0].path(), Some(&db.url));
    assert!(ok, "{output}");
    note!(
        "{PROCESSES} processes x {CLIENTS} clients: {per_process:?} appends, one log, max {} in flight; {output}",
        load.in_flight_max.load(Ordering::SeqCst)
    );
    db.drop_database().await;
}
