//! The real binary under load, killed with SIGKILL at random moments: every acknowledged
//! write survives exactly once, `pennytrail check` passes, and every new checkpoint is
//! consistent with the ones before. Also: two processes on one PostgreSQL database.
//!
//! `PENNYTRAIL_CRASH_ROUNDS` sets the number of kills per backend (default 6).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{ORIGIN, PgDatabase, ServiceProcess, run_check};
use pennytrail::log::checkpoint::Checkpoint;
use pennytrail::log::hash::Hash;
use pennytrail::log::merkle::verify_consistency;
use pennytrail::log::note::NoteVerifier;
use serde_json::{Value, json};
use tokio::sync::Mutex;

/// Concurrent clients during each round: each keeps one request in flight, so at least
/// 16 requests are in flight when the process is killed.
const CLIENTS: usize = 24;

type Acked = Arc<Mutex<BTreeMap<String, (u64, Vec<u8>)>>>;

fn rounds() -> usize {
    std::env::var("PENNYTRAIL_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6)
}

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
    let mut ids: HashMap<String, usize> = HashMap::new();
    for bytes in &entries {
        let v: Value = serde_json::from_slice(bytes).unwrap();
        *ids.entry(v["org"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    if let Some((id, n)) = ids.iter().find(|(_, n)| **n > 1) {
        panic!("org {id} is logged {n} times");
    }
    for (id, (seq, bytes)) in acked {
        let stored = entries.get(*seq as usize).unwrap_or_else(|| {
            panic!(
                "acknowledged {id} at seq {seq} is missing (log size {})",
                checkpoint.size
            )
        });
        assert_eq!(stored, bytes, "acknowledged entry {seq} ({id}) changed");
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

/// Clients that register orgs until their server goes away; returns how many they sent.
fn spawn_load(
    base: &str,
    token: &str,
    tag: &str,
    acked: &Acked,
    stop: &Arc<AtomicBool>,
    in_flight_max: &Arc<AtomicUsize>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let in_flight = Arc::new(AtomicUsize::new(0));
    (0..CLIENTS)
        .map(|c| {
            let (base, token, tag) = (base.to_string(), token.to_string(), tag.to_string());
            let (acked, stop, in_flight, in_flight_max) = (
                acked.clone(),
                stop.clone(),
                in_flight.clone(),
                in_flight_max.clone(),
            );
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let id = format!("{tag}-c{c}-{n}");
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    in_flight_max.fetch_max(now, Ordering::SeqCst);
                    let sent = client
                        .post(format!("{base}/v1/admin/orgs"))
                        .bearer_auth(&token)
                        .json(&json!({"id": id, "name": format!("Charity {id}"), "country": "KE"}))
                        .send()
                        .await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    let Ok(response) = sent else { break };
                    let status = response.status();
                    let Ok(body) = response.json::<Value>().await else {
                        break;
                    };
                    assert!(
                        status == 201 || status == 200,
                        "unexpected {status}: {body}"
                    );
                    let entry = serde_json::to_vec(&body["entry"]).unwrap();
                    acked
                        .lock()
                        .await
                        .insert(id, (body["seq"].as_u64().unwrap(), entry));
                }
            })
        })
        .collect()
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
    let mut previous: Option<Verified> = None;
    let mut verifier: Option<NoteVerifier> = None;
    let mut max_in_flight_at_kill = usize::MAX;

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
                previous.as_ref(),
            )
            .await,
        );
        let token = std::fs::read_to_string(dir.path().join("operator.token"))
            .unwrap()
            .trim()
            .to_string();

        let acked_before = acked.lock().await.len();
        let stop = Arc::new(AtomicBool::new(false));
        let in_flight_max = Arc::new(AtomicUsize::new(0));
        let clients = spawn_load(
            &service.base,
            &token,
            &format!("r{round}"),
            &acked,
            &stop,
            &in_flight_max,
        );
        // Wait for the load to be under way (a busy machine starts slowly), then kill at
        // a pseudo-random moment.
        let waiting = std::time::Instant::now();
        while acked.lock().await.len() == acked_before
            && waiting.elapsed() < Duration::from_secs(20)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(delay_ms(round))).await;
        max_in_flight_at_kill = max_in_flight_at_kill.min(in_flight_max.load(Ordering::SeqCst));
        service.kill9().await;
        stop.store(true, Ordering::Relaxed);
        for c in clients {
            c.await.expect("client task");
        }
        let acked_now = acked.lock().await.len();
        assert!(
            acked_now > acked_before,
            "round {round}: no write was acknowledged before the kill"
        );
        eprintln!(
            "round {round}: killed after {} ms; {} writes acknowledged so far",
            delay_ms(round),
            acked_now
        );
    }

    let service = ServiceProcess::start(&args).await.expect("final restart");
    verify_log(
        &client,
        &service.base,
        verifier.as_ref().unwrap(),
        &*acked.lock().await,
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
    eprintln!(
        "{} kills survived; {} acknowledged writes all present; {output}",
        rounds(),
        acked.lock().await.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_nothing_sqlite() {
    crash_rounds(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_nothing_postgres() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    crash_rounds(Some(&db)).await;
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_database_never_fork() {
    let Some(db) = PgDatabase::create().await else {
        return;
    };
    let key_dir = tempfile::tempdir().unwrap();
    let key = key_dir.path().join("log.key");
    pennytrail::keys::generate_signer(ORIGIN, &key).unwrap();
    // Processes sharing a database share its secrets too (the donor secret is checked).
    let secret = key_dir.path().join("donor.secret");
    pennytrail::keys::load_or_create_donor_secret(&secret, true).unwrap();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let args = |dir: &tempfile::TempDir| -> Vec<String> {
        [
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
        ]
        .map(String::from)
        .to_vec()
    };
    let args_a = args(&dir_a);
    let a = ServiceProcess::start(&args_a.iter().map(String::as_str).collect::<Vec<_>>())
        .await
        .unwrap();
    let args_b = args(&dir_b);
    let b = ServiceProcess::start(&args_b.iter().map(String::as_str).collect::<Vec<_>>())
        .await
        .unwrap();
    // The first process created the operator token; both accept it.
    let token = std::fs::read_to_string(dir_a.path().join("operator.token"))
        .unwrap()
        .trim()
        .to_string();
    assert!(!dir_b.path().join("operator.token").exists());

    let acked: Acked = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let in_flight_max = Arc::new(AtomicUsize::new(0));
    let mut clients = spawn_load(&a.base, &token, "a", &acked, &stop, &in_flight_max);
    clients.extend(spawn_load(
        &b.base,
        &token,
        "b",
        &acked,
        &stop,
        &in_flight_max,
    ));
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let acked = acked.lock().await.clone();
    let from_a = acked.keys().filter(|k| k.starts_with("a-")).count();
    let from_b = acked.len() - from_a;
    assert!(
        from_a > 20 && from_b > 20,
        "both processes appended ({from_a}, {from_b})"
    );
    let client = reqwest::Client::new();
    let info: Value = client
        .get(format!("{}/v1/log", b.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let verifier = NoteVerifier::from_text(info["verifier_key"].as_str().unwrap()).unwrap();
    let seen_a = verify_log(&client, &a.base, &verifier, &acked, None).await;
    let seen_b = verify_log(&client, &b.base, &verifier, &acked, None).await;
    assert_eq!(
        seen_a.size,
        acked.len() as u64,
        "no lost and no extra entries"
    );
    assert_eq!(
        (seen_a.size, seen_a.root),
        (seen_b.size, seen_b.root),
        "both serve one log"
    );
    let mut seqs: Vec<u64> = acked.values().map(|(s, _)| *s).collect();
    seqs.sort();
    assert_eq!(
        seqs,
        (0..acked.len() as u64).collect::<Vec<_>>(),
        "seq is gap-free and unique"
    );
    assert!(a.terminate().await.success());
    assert!(b.terminate().await.success());
    let (ok, output) = run_check(dir_a.path(), Some(&db.url));
    assert!(ok, "{output}");
    eprintln!("two processes: {from_a} + {from_b} appends, one log; {output}");
    db.drop_database().await;
}
