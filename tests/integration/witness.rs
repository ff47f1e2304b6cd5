//! `pennytrail witness` (C2SP tlog-witness): it cosigns a log's checkpoints only while
//! they stay consistent with what it cosigned, answers every status the spec names,
//! keeps refused but validly signed checkpoints as evidence, remembers across restarts,
//! and lets exactly one of many concurrent submitters win per size — with its state on
//! SQLite and on PostgreSQL.

use std::path::Path;

use pennytrail::log::cosignature::CosignerKey;
use pennytrail::log::hash::sha256;
use pennytrail::witness::state::WitnessState;
use pennytrail::witness::{RunningWitness, WitnessConfig, start};
use serde_json::Value;

use super::witnessed_log::{WitnessProcess, spawn_witness};
use crate::support::{Backend, PgDatabase, TestApp, pennytrail_test};

/// A witness for `app`'s log, its state in `dir` (or in a PostgreSQL database).
async fn start_witness(app: &TestApp, dir: &Path, db: Option<&PgDatabase>) -> RunningWitness {
    let policy = dir.join("policy");
    std::fs::write(
        &policy,
        format!(
            "# the logs this witness cosigns\nlog {}\nquorum none\n",
            app.verifier.to_text()
        ),
    )
    .unwrap();
    start(WitnessConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        database_url: db.map(|d| d.url.clone()),
        name: "witness.test/w1".into(),
        policy,
    })
    .await
    .expect("the witness starts")
}

/// `POST /add-checkpoint`; returns (status, content type, body).
async fn submit(witness: &RunningWitness, body: &[u8]) -> (u16, String, String) {
    submit_to(
        &reqwest::Client::new(),
        &format!("http://{}", witness.addr),
        body,
    )
    .await
}

pub(super) async fn submit_to(
    client: &reqwest::Client,
    base: &str,
    body: &[u8],
) -> (u16, String, String) {
    let response = client
        .post(format!("{base}/add-checkpoint"))
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

pub(super) fn request(old: u64, proof: &[String], note: &str) -> Vec<u8> {
    let mut body = format!("old {old}\n");
    for hash in proof {
        body.push_str(hash);
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    body.into_bytes()
}

async fn proof(app: &TestApp, from: u64, to: u64) -> Vec<String> {
    let answer: Value = app
        .get_json(&format!("/v1/proofs/consistency?from={from}&to={to}"))
        .await;
    answer["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_string())
        .collect()
}

async fn grow(app: &TestApp, org: &str) {
    app.new_org(org).await;
}

#[pennytrail_test(both_backends)]
async fn a_witness_cosigns_only_what_stays_consistent(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let db = match app.backend {
        Backend::Postgres => Some(PgDatabase::create().await),
        Backend::Sqlite => None,
    };
    let witness = start_witness(&app, dir.path(), db.as_ref()).await;
    let key = CosignerKey::from_text(&witness.vkey).unwrap();
    let vkey = reqwest::get(format!("http://{}/vkey", witness.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(vkey.trim(), witness.vkey);

    grow(&app, "a1").await;
    let (size1, note1) = (app.log_size().await, app.checkpoint_note().await);
    // First contact: old 0, no proof; the cosignature verifies with the witness's key.
    let (status, _, cosignature) = submit(&witness, &request(0, &[], &note1)).await;
    assert_eq!(status, 200, "{cosignature}");
    assert!(cosignature.starts_with("\u{2014} witness.test/w1 ") && cosignature.ends_with('\n'));
    assert!(
        key.cosigned_at(&format!("{note1}{cosignature}"))
            .unwrap()
            .is_some()
    );
    // Again from 0: a conflict that names the size it cosigned.
    let (status, content_type, body) = submit(&witness, &request(0, &[], &note1)).await;
    assert_eq!(
        (status, content_type.as_str(), body.as_str()),
        (409, "text/x.tlog.size", &*format!("{size1}\n"))
    );

    // The log grows: cosigned with a consistency proof; the same size again is fine.
    grow(&app, "a2").await;
    grow(&app, "a3").await;
    let (size2, note2) = (app.log_size().await, app.checkpoint_note().await);
    let good = proof(&app, size1, size2).await;
    assert_eq!(
        submit(&witness, &request(size1, &good, &note2)).await.0,
        200
    );
    assert_eq!(submit(&witness, &request(size2, &[], &note2)).await.0, 200);

    // The monitoring API serves it with the log's signature and the cosignature.
    let origin_hash = sha256(b"test.pennytrail.example/log").to_hex();
    let served = reqwest::get(format!("http://{}/{origin_hash}/checkpoint", witness.addr))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(app.verifier.open(&served).is_ok(), "{served}");
    assert!(key.cosigned_at(&served).unwrap().is_some(), "{served}");
    assert!(served.starts_with(app.verifier.open(&note2).unwrap()));
    for (path, status) in [
        (format!("/{}/checkpoint", sha256(b"other").to_hex()), 404),
        ("/ABC/checkpoint".to_string(), 400),
    ] {
        let response = reqwest::get(format!("http://{}{path}", witness.addr))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
    }

    // Every refusal the spec names.
    grow(&app, "a4").await;
    let (size3, note3) = (app.log_size().await, app.checkpoint_note().await);
    let wrong_proof = proof(&app, size1, size3).await;
    // Another log: another origin (unknown here, 404) and another key under the same
    // origin (403).
    let other = TestApp::start_configured(Backend::Sqlite, |config| {
        config.origin = Some("other.example/log".into())
    })
    .await;
    other.new_org("x").await;
    let impostor = TestApp::start(Backend::Sqlite).await;
    impostor.new_org("x").await;
    let tampered = note3.replacen(&format!("\n{size3}\n"), &format!("\n{}\n", size3 + 1), 1);
    for (body, status) in [
        (request(size2, &wrong_proof, &note3), 422),
        (request(size3 + 1, &[], &note3), 400),
        (
            request(size2, &proof(&app, size2, size3).await[1..], &note3),
            422,
        ),
        (request(0, &[], &other.checkpoint_note().await), 404),
        (request(0, &[], &impostor.checkpoint_note().await), 403),
        (request(size2, &[], &tampered), 403),
        (b"old 1\n".to_vec(), 400),
        (b"old 01\n\n".to_vec(), 400),
        (vec![0xff, 0xfe], 400),
        (request(size2, &vec![good[0].clone(); 64], &note3), 400),
    ] {
        let (got, _, text) = submit(&witness, &body).await;
        assert_eq!(got, status, "{}: {text}", String::from_utf8_lossy(&body));
    }
    // Nothing refused moved the witness: the real next checkpoint is still cosigned.
    let (status, _, text) = submit(
        &witness,
        &request(size2, &proof(&app, size2, size3).await, &note3),
    )
    .await;
    assert_eq!(status, 200, "{text}");

    // A fork under the same key: a second log with the real log's key file.
    let keys = tempfile::tempdir().unwrap();
    let key_copy = keys.path().join("log.key");
    std::fs::copy(app.data_dir.path().join("log.key"), &key_copy).unwrap();
    let fork = TestApp::start_with_key(Backend::Sqlite, Some(key_copy)).await;
    for org in ["f1", "f2", "f3", "f4", "f5"] {
        grow(&fork, org).await;
    }
    let fork_size = fork.log_size().await;
    assert!(fork_size > size3);
    let fork_note = fork.checkpoint_note().await;
    let fork_proof = proof(&fork, size3, fork_size).await;
    let (status, _, _) = submit(&witness, &request(size3, &fork_proof, &fork_note)).await;
    assert_eq!(status, 422, "a forked checkpoint was cosigned");

    // The witness remembers across a restart, and kept the fork as evidence.
    witness.stop().await.unwrap();
    let witness = start_witness(&app, dir.path(), db.as_ref()).await;
    let (status, _, body) = submit(&witness, &request(0, &[], &note1)).await;
    assert_eq!((status, body), (409, format!("{size3}\n")));
    witness.stop().await.unwrap();
    let state = WitnessState::open(dir.path(), db.as_ref().map(|d| d.url.as_str()))
        .await
        .unwrap();
    let evidence = state.evidence().await.unwrap();
    state.close().await;
    assert!(
        evidence
            .iter()
            .any(|e| e.status == 422 && e.request.contains(&fork_note)),
        "{evidence:?}"
    );
    for app in [fork, other, impostor, app] {
        app.finish().await;
    }
    if let Some(db) = db {
        db.drop_database().await;
    }
}

#[pennytrail_test(both_backends)]
async fn of_many_concurrent_submitters_exactly_one_wins(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let db = match app.backend {
        Backend::Postgres => Some(PgDatabase::create().await),
        Backend::Sqlite => None,
    };
    let witness = std::sync::Arc::new(start_witness(&app, dir.path(), db.as_ref()).await);
    let mut cosigned = 0;
    for round in 0..5 {
        grow(&app, &format!("c{round}")).await;
        let size = app.log_size().await;
        let note = app.checkpoint_note().await;
        let old = if round == 0 { 0 } else { cosigned };
        let proof = if old == 0 {
            Vec::new()
        } else {
            proof(&app, old, size).await
        };
        let body = request(old, &proof, &note);
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (witness, body) = (witness.clone(), body.clone());
                tokio::spawn(async move { submit(&witness, &body).await.0 })
            })
            .collect();
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.push(task.await.unwrap());
        }
        statuses.sort_unstable();
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "round {round}: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 409),
            "{statuses:?}"
        );
        cosigned = size;
    }
    if let Ok(witness) = std::sync::Arc::try_unwrap(witness) {
        witness.stop().await.unwrap();
    }
    app.finish().await;
    if let Some(db) = db {
        db.drop_database().await;
    }
}

/// Consistency proofs already fetched from the log, by (from, to).
type ProofCache =
    std::sync::Arc<tokio::sync::Mutex<std::collections::HashMap<(u64, u64), Vec<String>>>>;

/// A free port on this machine (released before the witness binds it).
pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The size the witness at `base` last cosigned for the test log (0 if none).
pub(super) async fn cosigned_size(client: &reqwest::Client, base: &str) -> Option<u64> {
    let hash = sha256(crate::support::ORIGIN.as_bytes()).to_hex();
    let response = client
        .get(format!("{base}/{hash}/checkpoint"))
        .send()
        .await
        .ok()?;
    if response.status() == 404 {
        return Some(0);
    }
    let note = response.text().await.ok()?;
    note.lines().nth(1)?.parse().ok()
}

/// The real binary, killed with SIGKILL at a random moment of each of 20 rounds while
/// four clients push the log's checkpoints and a fork's at it: after every restart it
/// still holds at least the largest size it answered 200 for, and it never cosigns a
/// checkpoint of the fork (whose first entries differ) once it cosigned the log's.
#[pennytrail_test]
async fn a_witness_killed_at_any_moment_never_cosigns_a_fork() {
    let app = TestApp::start(Backend::Sqlite).await;
    let keys = tempfile::tempdir().unwrap();
    let key_copy = keys.path().join("log.key");
    std::fs::copy(app.data_dir.path().join("log.key"), &key_copy).unwrap();
    let fork = TestApp::start_with_key(Backend::Sqlite, Some(key_copy)).await;
    // Checkpoints of the log and of the fork, sizes 1 to 40.
    let mut real = Vec::new();
    let mut forged = Vec::new();
    for i in 0..40 {
        app.new_org(&format!("o{i}")).await;
        real.push((app.log_size().await, app.checkpoint_note().await));
        fork.new_org(&format!("f{i}")).await;
        forged.push(fork.checkpoint_note().await);
    }
    let real = std::sync::Arc::new(real);
    let forged = std::sync::Arc::new(forged);
    let proofs: ProofCache = Default::default();

    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let mut largest_acknowledged = 0u64;
    let mut rounds_with_answers = 0;
    for round in 0..20u64 {
        let WitnessProcess { mut child, base } = spawn_witness(
            dir.path(),
            free_port(),
            "witness.test/crash",
            &app.verifier.to_text(),
        )
        .await;
        if round == 0 {
            // The log's first checkpoint first, so the fork has nothing to win.
            let (size, note) = &real[0];
            let (status, _, text) = submit_to(&client, &base, &request(0, &[], note)).await;
            assert_eq!(status, 200, "{text}");
            largest_acknowledged = *size;
        }
        // Durable: nothing it acknowledged before the kill is forgotten.
        let held = cosigned_size(&client, &base).await.unwrap();
        assert!(
            held >= largest_acknowledged,
            "round {round}: after a kill the witness holds size {held}, but it cosigned {largest_acknowledged}"
        );

        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut clients = Vec::new();
        for worker in 0..4u64 {
            let (client, base, real, forged, stop, proofs, app_base) = (
                client.clone(),
                base.clone(),
                real.clone(),
                forged.clone(),
                stop.clone(),
                proofs.clone(),
                app.base.clone(),
            );
            clients.push(tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                let mut n = worker + round * 7;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let Some(held) = cosigned_size(&client, &base).await else {
                        break; // killed
                    };
                    let body = if n % 3 == 0 {
                        // The fork, from scratch: refused once the log was cosigned.
                        let note = &forged[(n as usize) % forged.len()];
                        (None, request(0, &[], note))
                    } else {
                        // The next checkpoints (skipping some), or at the end the one it
                        // holds again, which it cosigns again.
                        let Some((size, note)) = real
                            .iter()
                            .find(|(s, _)| *s > held + n % 3)
                            .or_else(|| real.iter().find(|(s, _)| *s == held))
                        else {
                            break;
                        };
                        let proof = if held == 0 || held == *size {
                            Vec::new()
                        } else {
                            let mut cache = proofs.lock().await;
                            if let Some(p) = cache.get(&(held, *size)) {
                                p.clone()
                            } else {
                                let answer: Value = client
                                    .get(format!(
                                        "{app_base}/v1/proofs/consistency?from={held}&to={size}"
                                    ))
                                    .send()
                                    .await
                                    .unwrap()
                                    .json()
                                    .await
                                    .unwrap();
                                let p: Vec<String> = answer["hashes"]
                                    .as_array()
                                    .unwrap()
                                    .iter()
                                    .map(|h| h.as_str().unwrap().to_string())
                                    .collect();
                                cache.insert((held, *size), p.clone());
                                p
                            }
                        };
                        (Some(*size), request(held, &proof, note))
                    };
                    let Ok(response) = client
                        .post(format!("{base}/add-checkpoint"))
                        .body(body.1)
                        .send()
                        .await
                    else {
                        break;
                    };
                    if response.status() == 200 {
                        acknowledged.push(body.0);
                    }
                }
                acknowledged
            }));
        }
        // Let it work, then kill it mid-flight.
        tokio::time::sleep(std::time::Duration::from_millis(30 + (round * 37) % 170)).await;
        child.start_kill().unwrap();
        let _ = child.wait().await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut answered = false;
        for task in clients {
            for acknowledged in task.await.unwrap() {
                let size = acknowledged.expect("the witness cosigned a checkpoint of the fork");
                largest_acknowledged = largest_acknowledged.max(size);
                answered = true;
            }
        }
        rounds_with_answers += u32::from(answered);
    }
    note!(
        "20 kills; {rounds_with_answers} rounds cosigned something; the witness ended at size {largest_acknowledged}"
    );
    assert!(
        rounds_with_answers >= 10,
        "too few rounds did any work: {rounds_with_answers}"
    );
    for app in [fork, app] {
        app.finish().await;
    }
}
