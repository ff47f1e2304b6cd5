//! Reliability under retries and donor privacy.
//!
//! - Idempotency under concurrent retries, on SQLite and PostgreSQL: many identical writes
//!   at once append one entry; identical batches append once; the same id with different
//!   (or equivalent) content gets answers that agree with what was logged. Each scenario
//!   runs against an idle sequencer (the racers' duplicates meet the stored entry)
//!   and behind a large "ballast" batch (the racers queue up and are sequenced together,
//!   so their duplicates meet the entry inside one sequencer batch).
//! - Donor privacy, on the real binary with verbose logs: planted donor references never
//!   reach the database files, the log, the application's logs or an answer, and the
//!   commitment that is logged is the documented HMAC, recomputed here independently.

use crate::support::{self, Answer, Backend, TestApp, bodies, pennytrail_test};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use pennytrail::log::receipt::Receipt;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::sync::Barrier;

const ORG: &str = "steady-hands";

/// Racers per single-write scenario, and (batch) requests × items per batch scenario.
const RACERS: usize = 50;
const BATCH_RACERS: usize = 20;
const BATCH_ITEMS: usize = 20;
/// Items in the batch that keeps the sequencer busy while the racers queue up.
const BALLAST_ITEMS: usize = 1000;

// ---------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------

/// A card donation to `meals` with no fee.
fn donation(id: &str, amount: i64) -> Value {
    bodies::donation(id, "meals", amount, 0)
}

/// POSTs every body to `path` (under the org) from its own task, all released by one
/// barrier so they hit the service together. Answers come back in `bodies` order.
async fn fire_at_once(app: &TestApp, token: &str, path: &str, bodies: Vec<Value>) -> Vec<Answer> {
    let barrier = Arc::new(Barrier::new(bodies.len()));
    let url = format!("{}/v1/orgs/{ORG}{path}", app.base);
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let (client, url, token, barrier) = (
                app.client.clone(),
                url.clone(),
                token.to_string(),
                barrier.clone(),
            );
            tokio::spawn(async move {
                let request = client.post(url).bearer_auth(token).json(&body);
                barrier.wait().await;
                support::answer(request.send().await.expect("POST")).await
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(tasks.len());
    for t in tasks {
        answers.push(t.await.expect("racer task"));
    }
    answers
}

/// Whether a large batch is sent just before the racers, so that they queue up behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sequencer {
    Idle,
    Busy,
}

/// Starts a batch of `BALLAST_ITEMS` fresh donations (ids `ballast-{tag}-{i}`) and waits a
/// moment so that it is being sequenced when the racers arrive. Await the handle for its
/// answer (it must be 201 and add exactly `BALLAST_ITEMS` entries).
async fn start_ballast(app: &TestApp, token: &str, tag: &str) -> tokio::task::JoinHandle<Answer> {
    let items: Vec<Value> = (0..BALLAST_ITEMS)
        .map(|i| donation(&format!("ballast-{tag}-{i}"), 1 + i as i64))
        .collect();
    let request = app
        .client
        .post(format!("{}/v1/orgs/{ORG}/donations/batch", app.base))
        .bearer_auth(token)
        .json(&json!({ "donations": items }));
    let handle =
        tokio::spawn(async move { support::answer(request.send().await.expect("POST")).await });
    // Long enough for the ~100 KB request to be parsed and queued; shorter than its
    // sequencing and commit (hundreds of ms on either backend in a debug build).
    tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    handle
}

async fn finish_ballast(ballast: Option<tokio::task::JoinHandle<Answer>>) -> u64 {
    match ballast {
        None => 0,
        Some(handle) => {
            let answer = handle.await.expect("ballast task");
            assert_eq!(answer.status, 201, "ballast: {}", answer.text());
            let items = answer.json()["items"].as_array().unwrap().len();
            assert_eq!(items, BALLAST_ITEMS);
            BALLAST_ITEMS as u64
        }
    }
}

/// Every entry from `from` to the end of the log, page by page.
async fn entries_from(app: &TestApp, mut from: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let page = app
            .get(&format!("/v1/entries?from={from}&limit=1000"))
            .await;
        assert_eq!(page.status, 200);
        let before = out.len();
        out.extend(
            page.body
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec),
        );
        if out.len() == before {
            return out;
        }
        from += (out.len() - before) as u64;
    }
}

/// The parts of a single write's answer, with the entry's exact bytes.
#[derive(Deserialize)]
struct WriteAnswer {
    seq: u64,
    leaf_hash: String,
    entry: Box<RawValue>,
    receipt: String,
}

fn status_counts(answers: &[Answer]) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for a in answers {
        *counts.entry(a.status.as_u16()).or_insert(0) += 1;
    }
    counts
}

/// Checks a single write's answer against the log: its entry is the stored entry `seq`,
/// and its receipt proves it against a checkpoint signed by the log.
async fn check_write_answer(app: &TestApp, answer: &Answer) -> WriteAnswer {
    let parsed: WriteAnswer = serde_json::from_slice(&answer.body).expect("a write answer");
    let stored = app.get(&format!("/v1/entries/{}", parsed.seq)).await;
    assert_eq!(stored.status, 200);
    assert_eq!(
        stored.body,
        parsed.entry.get().as_bytes(),
        "the answer's entry is the logged entry, byte for byte"
    );
    let receipt = Receipt::parse(&parsed.receipt).expect("receipt parses");
    assert_eq!(receipt.index, parsed.seq);
    receipt
        .verify(&stored.body, &app.verifier)
        .expect("the receipt verifies");
    assert_eq!(
        parsed.leaf_hash,
        pennytrail::log::hash::leaf_hash(&stored.body).to_hex()
    );
    parsed
}

// ---------------------------------------------------------------------------------------
// 1. Idempotency under concurrent retries
// ---------------------------------------------------------------------------------------

/// 50 identical donations at once: one entry, one 201, 49 × 200, identical bodies.
#[pennytrail_test(both_backends)]
async fn concurrent_identical_donations_append_once(app: TestApp) {
    let token = app.seeded_org(ORG).await.token;
    for (round, mode) in [Sequencer::Idle, Sequencer::Busy].into_iter().enumerate() {
        let id = format!("retried-{round}");
        let body = json!({"id": id, "campaign": "meals", "amount": 1234, "fee": 34,
                          "channel": "card", "occurred_at": "2026-01-02T03:04:05.678Z"});
        let size = app.log_size().await;
        let ballast = match mode {
            Sequencer::Idle => None,
            Sequencer::Busy => Some(start_ballast(&app, &token, &round.to_string()).await),
        };
        let answers = fire_at_once(&app, &token, "/donations", vec![body; RACERS]).await;
        let ballast_entries = finish_ballast(ballast).await;

        let counts = status_counts(&answers);
        assert_eq!(
            counts,
            BTreeMap::from([(200, RACERS - 1), (201, 1)]),
            "{mode:?}: exactly one 201 and {} × 200; bodies: {:?}",
            RACERS - 1,
            answers.iter().map(Answer::text).collect::<Vec<_>>()
        );
        assert_eq!(
            app.log_size().await,
            size + 1 + ballast_entries,
            "{mode:?}: the donation is logged exactly once"
        );
        let first = &answers[0];
        for (i, a) in answers.iter().enumerate() {
            assert_eq!(a.content_type, "application/json", "{mode:?} answer {i}");
            assert_eq!(
                a.body,
                first.body,
                "{mode:?}: answer {i} ({}) differs from answer 0 ({}):\n{}\n{}",
                a.status,
                first.status,
                a.text(),
                first.text()
            );
        }
        let parsed = check_write_answer(&app, first).await;
        let logged = app
            .get_json(&format!("/v1/orgs/{ORG}/donations/{id}"))
            .await;
        assert_eq!(logged["seq"], parsed.seq);
        assert_eq!(logged["amount"], 1234);
        // The donation has its own single place in the log: no other new entry carries it.
        let with_id = entries_from(&app, size)
            .await
            .iter()
            .filter(|l| serde_json::from_slice::<Value>(l).unwrap()["donation"] == id.as_str())
            .count();
        assert_eq!(with_id, 1, "{mode:?}: one entry for donation {id}");
    }
    app.finish().await;
}

/// 20 identical batches of 20 donations at once: appended once, every answer lists the
/// same seqs and leaf hashes.
#[pennytrail_test(both_backends)]
async fn concurrent_identical_batches_append_once(app: TestApp) {
    let token = app.seeded_org(ORG).await.token;
    for (round, mode) in [Sequencer::Idle, Sequencer::Busy].into_iter().enumerate() {
        let items: Vec<Value> = (0..BATCH_ITEMS)
            .map(|i| donation(&format!("batch-{round}-{i}"), 100 + i as i64))
            .collect();
        let body = json!({ "donations": items });
        let size = app.log_size().await;
        let ballast = match mode {
            Sequencer::Idle => None,
            Sequencer::Busy => Some(start_ballast(&app, &token, &format!("b{round}")).await),
        };
        let answers =
            fire_at_once(&app, &token, "/donations/batch", vec![body; BATCH_RACERS]).await;
        let ballast_entries = finish_ballast(ballast).await;

        let counts = status_counts(&answers);
        assert_eq!(
            counts,
            BTreeMap::from([(200, BATCH_RACERS - 1), (201, 1)]),
            "{mode:?}: one batch creates, the others replay; bodies: {:?}",
            answers.iter().map(Answer::text).collect::<Vec<_>>()
        );
        let after = app.log_size().await;
        assert_eq!(
            after,
            size + BATCH_ITEMS as u64 + ballast_entries,
            "{mode:?}: the batch is logged exactly once"
        );

        let mut seqs_of_first: Option<Vec<(u64, String)>> = None;
        let mut replay_body: Option<&Vec<u8>> = None;
        for (i, a) in answers.iter().enumerate() {
            let v = a.json();
            let items = v["items"].as_array().expect("items");
            assert_eq!(items.len(), BATCH_ITEMS, "{mode:?} answer {i}");
            let expected_status = if a.status == 201 {
                "created"
            } else {
                "replayed"
            };
            let mut seqs = Vec::new();
            for (index, item) in items.iter().enumerate() {
                assert_eq!(item["index"], index);
                assert_eq!(
                    item["status"], expected_status,
                    "{mode:?} answer {i} ({}): {item}",
                    a.status
                );
                seqs.push((
                    item["seq"].as_u64().unwrap(),
                    item["leaf_hash"].as_str().unwrap().to_string(),
                ));
            }
            // The checkpoint covers every item and is signed by the log.
            let checkpoint = v["checkpoint"].as_str().unwrap();
            app.verifier.open(checkpoint).expect("checkpoint verifies");
            let cp_size: u64 = checkpoint.lines().nth(1).unwrap().parse().unwrap();
            assert!(cp_size > seqs.last().unwrap().0, "{mode:?}: {checkpoint}");
            match &seqs_of_first {
                None => seqs_of_first = Some(seqs),
                Some(first) => assert_eq!(&seqs, first, "{mode:?}: answer {i} lists other seqs"),
            }
            if a.status == 200 {
                match replay_body {
                    None => replay_body = Some(&a.body),
                    Some(b) => assert_eq!(&a.body, b, "{mode:?}: replays answer the same bytes"),
                }
            }
        }
        // Contiguous seqs at the end of the racers' part of the log, pointing at the items.
        let seqs = seqs_of_first.unwrap();
        let first_seq = seqs[0].0;
        for (i, (seq, leaf)) in seqs.iter().enumerate() {
            assert_eq!(*seq, first_seq + i as u64, "{mode:?}: contiguous seqs");
            let entry = app.get(&format!("/v1/entries/{seq}")).await;
            assert_eq!(
                &pennytrail::log::hash::leaf_hash(&entry.body).to_hex(),
                leaf
            );
            let e = entry.json();
            assert_eq!(e["donation"], format!("batch-{round}-{i}"));
        }
        assert!(first_seq >= size && first_seq + (BATCH_ITEMS as u64) <= after);
    }
    app.finish().await;
}

/// Large batches are sequenced while the batch before them commits (SQLite). Retries of a
/// batch that is still committing must replay it, never append it twice, and a changed
/// item must conflict; a batch after it builds on its totals. Several rounds, so that
/// the racers meet the first batch both in flight and committed.
#[pennytrail_test(both_backends)]
async fn retries_of_a_committing_batch_replay_it(app: TestApp) {
    let token = app.seeded_org(ORG).await.token;
    const ITEMS: usize = 600;
    for round in 0..4 {
        let items: Vec<Value> = (0..ITEMS)
            .map(|i| donation(&format!("big-{round}-{i}"), 10 + i as i64))
            .collect();
        let size = app.log_size().await;
        let first = app
            .client
            .post(format!("{}/v1/orgs/{ORG}/donations/batch", app.base))
            .bearer_auth(&token)
            .json(&json!({ "donations": items }));
        let first =
            tokio::spawn(async move { support::answer(first.send().await.expect("POST")).await });
        // Queued first, then the retries arrive while it is being sequenced (and so are
        // sequenced while it commits), or later as the rounds wait longer.
        tokio::time::sleep(std::time::Duration::from_millis(10 << round)).await;
        // Retries of the second half, a changed item, and fresh donations after them.
        let retry = json!({ "donations": items[ITEMS / 2..] });
        let mut changed_items = items[ITEMS / 2..].to_vec();
        changed_items[0]["amount"] = json!(1);
        let fresh: Vec<Value> = (0..ITEMS / 2)
            .map(|i| donation(&format!("after-{round}-{i}"), 1))
            .collect();
        let answers = fire_at_once(
            &app,
            &token,
            "/donations/batch",
            vec![
                retry.clone(),
                retry,
                json!({ "donations": changed_items }),
                json!({ "donations": fresh }),
            ],
        )
        .await;
        let first = first.await.expect("first batch");
        assert_eq!(first.status, 201, "{}", first.text());
        let first_items = first.json()["items"].as_array().unwrap().clone();
        let texts: Vec<String> = answers.iter().map(Answer::text).collect();
        for retry in &answers[..2] {
            // 200 if the first batch came first; 201 if the retry did (the first batch
            // then replays the retried half).
            assert!(retry.status == 200 || retry.status == 201, "{texts:?}");
            for (item, original) in retry.json()["items"]
                .as_array()
                .unwrap()
                .iter()
                .zip(&first_items[ITEMS / 2..])
            {
                assert_eq!(
                    item["seq"], original["seq"],
                    "round {round}: one seq per id"
                );
            }
        }
        answers[2].assert_problem(409, None);
        assert_eq!(answers[3].status, 201, "{}", answers[3].text());
        assert_eq!(
            app.log_size().await,
            size + (ITEMS + ITEMS / 2) as u64,
            "round {round}: each donation logged once"
        );
    }
    let (ok, output) =
        support::run_check(app.data_dir.path(), app.db.as_ref().map(|d| d.url.as_str()));
    assert!(ok, "pennytrail check: {output}");
    let metrics = app.get("/metrics").await.text();
    let metric = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} missing: {metrics}"))
    };
    let pipelined = metric("pennytrail_append_pipelined_batches_total");
    if app.backend == Backend::Sqlite {
        // The retries met the first batch in flight, and nothing had to be redone.
        assert!(pipelined >= 8, "{metrics}");
    } else {
        // Other processes may append to a PostgreSQL log: one batch at a time.
        assert_eq!(pipelined, 0);
    }
    assert_eq!(metric("pennytrail_append_pipeline_fallbacks_total"), 0);
    app.finish().await;
}

/// When the signed size cannot be recorded beside the key, a committed write is not
/// acknowledged: it is answered 503 (retry with the same id), its checkpoint is not
/// published, and the retry, once the record can be written again, replays it.
#[pennytrail_test(both_backends)]
async fn a_write_whose_signed_size_cannot_be_recorded_is_not_acknowledged(app: TestApp) {
    app.new_org("first").await;
    let size = app.log_size().await;
    let checkpoint = app.checkpoint_note().await;

    // A directory where the record goes: the record's slot write finds the file gone,
    // and replacing it fails.
    let record = app.data_dir.path().join("log.key.signed");
    let saved = std::fs::read(&record).unwrap();
    std::fs::remove_file(&record).unwrap();
    std::fs::create_dir(&record).unwrap();
    std::fs::write(record.join("in-the-way"), b"x").unwrap();
    let body = json!({"id": "second", "name": "Charity second", "country": "DE"});
    let refused = app.register_org(&body).await;
    refused.assert_problem(503, None);
    assert!(
        refused.text().contains("retry with the same id"),
        "{}",
        refused.text()
    );
    if app.backend == Backend::Sqlite {
        assert_eq!(app.log_size().await, size, "nothing new was published");
        assert_eq!(app.checkpoint_note().await, checkpoint);
    } else {
        // On PostgreSQL, where other processes append too, reads take the latest
        // checkpoint from the database, where the commit put it (README: "When the
        // 'last signed' record is written").
        assert_eq!(app.log_size().await, size + 1);
    }

    std::fs::remove_dir_all(&record).unwrap();
    std::fs::write(&record, saved).unwrap();
    // The entry was committed: the retry replays it (200) and the log now shows it.
    let replayed = app.register_org(&body).await;
    assert_eq!(replayed.status, 200, "{}", replayed.text());
    assert_eq!(replayed.json()["seq"].as_u64(), Some(size));
    app.new_org("third").await;
    assert_eq!(app.log_size().await, size + 2);
    let (ok, output) =
        support::run_check(app.data_dir.path(), app.db.as_ref().map(|d| d.url.as_str()));
    assert!(ok, "pennytrail check: {output}");
    app.finish().await;
}

/// Runs one statement on the service's database behind its back, as a second writer
/// sharing the database could; returns the first column of the first row, if any.
async fn behind_the_back(app: &TestApp, sql: &'static str) -> Option<i64> {
    with_store_connection!(app, conn => sqlx::query_scalar(sql)
        .fetch_optional(&mut conn)
        .await
        .unwrap())
}

/// A batch commits only on the head it was built on. Here the stored head moves under
/// the sequencer, which trusts its cached head on SQLite: the batch's own check of the
/// head must refuse it (answered 503, nothing written), and once the head is back the
/// same write goes through and the log checks out.
#[pennytrail_test(both_backends)]
async fn a_batch_never_commits_over_a_moved_head(app: TestApp) {
    let token = app.seeded_org(ORG).await.token;
    let size = app.log_size().await;
    behind_the_back(&app, "UPDATE log_head SET size = size + 1000 WHERE id = 1").await;
    app.org_post(&token, ORG, "/donations", &donation("moved", 100))
        .await
        .assert_problem(503, None);
    let count = "SELECT COUNT(*) FROM entries";
    assert_eq!(behind_the_back(&app, count).await, Some(size as i64));
    let ids = "SELECT (SELECT COUNT(*) FROM record_ids) + (SELECT COUNT(*) FROM recent_ids)";
    let ids_before = behind_the_back(&app, ids).await;

    behind_the_back(&app, "UPDATE log_head SET size = size - 1000 WHERE id = 1").await;
    assert_eq!(behind_the_back(&app, ids).await, ids_before);
    let answer = app
        .org_post(&token, ORG, "/donations", &donation("moved", 100))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    assert_eq!(app.log_size().await, size + 1);
    assert_eq!(behind_the_back(&app, count).await, Some(size as i64 + 1));
    if app.backend == Backend::Sqlite {
        // The failed script was recognised as a moved head (and retried, failing on
        // the missing tree of the bogus size), not as some other error.
        let metrics = app.get("/metrics").await.text();
        assert!(
            metrics
                .lines()
                .any(|l| l == "pennytrail_append_head_retries_total 1"),
            "{metrics}"
        );
    }
    let (ok, output) =
        support::run_check(app.data_dir.path(), app.db.as_ref().map(|d| d.url.as_str()));
    assert!(ok, "pennytrail check: {output}");
    app.finish().await;
}

/// Rows in `record_ids` and `recent_ids` that name the donation `id` of [`ORG`].
async fn donation_id_rows(app: &TestApp, id: &str) -> (i64, i64) {
    with_store_connection!(app, conn => {
        let mut counts = Vec::new();
        for table in ["record_ids", "recent_ids"] {
            let sql = format!(
                "SELECT COUNT(*) FROM {table} WHERE org = $1 AND scope = 'donation' AND id = $2"
            );
            let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(ORG)
                .bind(id.to_string())
                .fetch_one(&mut conn)
                .await
                .unwrap();
            counts.push(count);
        }
        (counts[0], counts[1])
    })
}

/// Everything a client can ask of a donation by its id answers the same while its id
/// waits in `recent_ids` (SQLite; `store::recent_ids`), after a restart, and once the
/// ids moved to `record_ids`: the donation, its trace, the org's streamed export, a
/// byte-identical replay (nothing appended) and a 409 for other content. On PostgreSQL
/// no id waits and the same answers hold.
#[pennytrail_test(both_backends)]
async fn waiting_donation_ids_answer_like_indexed_ones(mut app: TestApp) {
    let token = app.seeded_org(ORG).await.token;
    let waits = app.backend == Backend::Sqlite;
    let mut firsts = BTreeMap::new();
    for n in 0..5 {
        let id = format!("single-{n}");
        let answer = app
            .org_post(&token, ORG, "/donations", &donation(&id, 100))
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text());
        firsts.insert(id, answer.body);
    }
    let expect = |waiting: bool| if waiting && waits { (0, 1) } else { (1, 0) };
    assert_eq!(donation_id_rows(&app, "single-0").await, expect(true));

    async fn answers_by_id(app: &TestApp, token: &str, firsts: &BTreeMap<String, Vec<u8>>) {
        let size = app.log_size().await;
        for (id, first) in firsts {
            let stored = app
                .get_json(&format!("/v1/orgs/{ORG}/donations/{id}"))
                .await;
            assert_eq!(stored["id"], id.as_str(), "{stored}");
            app.get_json(&format!("/v1/orgs/{ORG}/donations/{id}/trace"))
                .await;
            let replay = app
                .org_post(token, ORG, "/donations", &donation(id, 100))
                .await;
            assert_eq!(replay.status, 200, "{}", replay.text());
            assert_eq!(&replay.body, first, "a replay answers the original bytes");
            app.org_post(token, ORG, "/donations", &donation(id, 101))
                .await
                .assert_problem(409, Some("id"));
        }
        assert_eq!(
            app.log_size().await,
            size,
            "replays and conflicts append nothing"
        );
        let export = app
            .get(&format!("/v1/exports/donations.csv?org={ORG}"))
            .await;
        assert_eq!(export.status, 200, "{}", export.text());
        let csv = export.text();
        for id in firsts.keys() {
            assert!(csv.contains(&format!(",{id},")), "{id} missing from {csv}");
        }
    }
    answers_by_id(&app, &token, &firsts).await;
    // The sequencer reads the waiting ids again when it starts.
    app.restart().await;
    assert_eq!(donation_id_rows(&app, "single-0").await, expect(true));
    answers_by_id(&app, &token, &firsts).await;

    // Batches of 100 (below the pipelined size, so their ids wait too) until the ids move.
    let per_batch = 100;
    let batches = pennytrail::store::MAX_RECENT_IDS.div_ceil(per_batch);
    for b in 0..batches {
        let items: Vec<Value> = (0..per_batch)
            .map(|i| donation(&format!("batched-{b}-{i}"), 100))
            .collect();
        app.org_create(
            &token,
            ORG,
            "/donations/batch",
            &json!({ "donations": items }),
        )
        .await;
    }
    assert_eq!(donation_id_rows(&app, "single-0").await, expect(false));
    assert_eq!(
        donation_id_rows(&app, &format!("batched-{}-0", batches - 1)).await,
        expect(false)
    );
    let waiting = "SELECT COUNT(*) FROM recent_ids";
    assert_eq!(behind_the_back(&app, waiting).await, Some(0));
    answers_by_id(&app, &token, &firsts).await;
    // The next donation waits again.
    let answer = app
        .org_post(&token, ORG, "/donations", &donation("after-move", 100))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    assert_eq!(donation_id_rows(&app, "after-move").await, expect(true));
    let (ok, output) =
        support::run_check(app.data_dir.path(), app.db.as_ref().map(|d| d.url.as_str()));
    assert!(ok, "pennytrail check: {output}");
    app.finish().await;
}

/// Under steady appends SQLite's WAL starts over again and again instead of growing with
/// everything committed: 16 clients write 3,200 donations back to back (some 30 MB of
/// WAL frames if it never started over) and the WAL file stays a few megabytes.
#[pennytrail_test]
async fn the_wal_starts_over_under_steady_appends() {
    let app = TestApp::start(Backend::Sqlite).await;
    let token = app.seeded_org(ORG).await.token;
    let size = app.log_size().await;
    let app = Arc::new(app);
    let clients: Vec<_> = (0..16)
        .map(|client| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move {
                for n in 0..200 {
                    let body = donation(&format!("steady-{client}-{n}"), 100);
                    let answer = app.org_post(&token, ORG, "/donations", &body).await;
                    assert_eq!(answer.status, 201, "{}", answer.text());
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    assert_eq!(app.log_size().await, size + 3_200);
    let wal = app.data_dir.path().join("pennytrail.db-wal");
    let wal_bytes = std::fs::metadata(&wal).unwrap().len();
    assert!(
        wal_bytes < 8 << 20,
        "the WAL grew to {wal_bytes} bytes under steady appends"
    );
    let app = Arc::into_inner(app).expect("every client has finished");
    app.finish().await;
}

/// The same id with two different contents, 25 requests each, interleaved, at once: one
/// 201; every request with the logged content 200 (or the 201), every other one 409.
#[pennytrail_test(both_backends)]
async fn concurrent_conflicting_donations_agree_with_the_log(app: TestApp) {
    let token = app.seeded_org(ORG).await.token;
    for (round, mode) in [Sequencer::Idle, Sequencer::Busy, Sequencer::Busy]
        .into_iter()
        .enumerate()
    {
        let id = format!("contested-{round}");
        let (a, b) = (donation(&id, 500), donation(&id, 700));
        let bodies: Vec<Value> = (0..RACERS)
            .map(|i| if i % 2 == 0 { a.clone() } else { b.clone() })
            .collect();
        let size = app.log_size().await;
        let ballast = match mode {
            Sequencer::Idle => None,
            Sequencer::Busy => Some(start_ballast(&app, &token, &format!("c{round}")).await),
        };
        let answers = fire_at_once(&app, &token, "/donations", bodies.clone()).await;
        let ballast_entries = finish_ballast(ballast).await;
        assert_eq!(app.log_size().await, size + 1 + ballast_entries, "{mode:?}");

        let logged = app
            .get_json(&format!("/v1/orgs/{ORG}/donations/{id}"))
            .await;
        let logged_amount = logged["amount"].as_i64().unwrap();
        assert!(logged_amount == 500 || logged_amount == 700, "{logged}");
        let created: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
        assert_eq!(created.len(), 1, "{mode:?}: {:?}", status_counts(&answers));
        let winner = check_write_answer(&app, created[0]).await;
        assert_eq!(winner.seq, logged["seq"].as_u64().unwrap());

        for (i, (answer, sent)) in answers.iter().zip(&bodies).enumerate() {
            let sent_amount = sent["amount"].as_i64().unwrap();
            if sent_amount == logged_amount {
                assert!(
                    answer.status == 200 || answer.status == 201,
                    "{mode:?}: request {i} sent the logged content but got {}: {}",
                    answer.status,
                    answer.text()
                );
                assert_eq!(answer.body, created[0].body, "{mode:?}: request {i}");
            } else {
                let problem = answer.assert_problem(409, Some("id"));
                assert_eq!(problem["type"], "urn:pennytrail:problem:conflict");
            }
        }
        let counts = status_counts(&answers);
        assert_eq!(
            (counts.get(&200), counts.get(&409)),
            (Some(&(RACERS / 2 - 1)), Some(&(RACERS / 2))),
            "{mode:?}"
        );
    }
    app.finish().await;
}

/// Naming the campaign's currency explicitly is the same donation (a sequential retry
/// answers 200 with the original bytes, see tests/integration/money.rs). That must not depend on
/// whether the retry is sequenced together with the original: the original without
/// `currency` first, then 49 retries that name it, all queued behind a busy sequencer.
#[pennytrail_test(both_backends)]
async fn concurrent_equivalent_donations_are_replays(app: TestApp) {
    let token = app.seeded_org(ORG).await.token;
    let implicit = |id: &str| donation(id, 250);
    let explicit = |id: &str| {
        let mut d = donation(id, 250);
        d["currency"] = json!("EUR");
        d
    };
    // Sequentially: the documented behaviour.
    let first = app
        .org_post(&token, ORG, "/donations", &implicit("equivalent-seq"))
        .await;
    assert_eq!(first.status, 201, "{}", first.text());
    let retry = app
        .org_post(&token, ORG, "/donations", &explicit("equivalent-seq"))
        .await;
    assert_eq!((retry.status.as_u16(), &retry.body), (200, &first.body));

    // Whether a retry meets the original in storage or inside the same sequencer batch is
    // a matter of timing, so the busy case is tried several times; every round must agree.
    let modes = [
        Sequencer::Idle,
        Sequencer::Busy,
        Sequencer::Busy,
        Sequencer::Busy,
        Sequencer::Busy,
    ];
    let mut failures = Vec::new();
    for (round, mode) in modes.into_iter().enumerate() {
        let id = format!("equivalent-{round}");
        let size = app.log_size().await;
        let ballast = match mode {
            Sequencer::Idle => None,
            Sequencer::Busy => Some(start_ballast(&app, &token, &format!("e{round}")).await),
        };
        // The original goes first, so it is queued ahead of its retries.
        let original = {
            let request = app
                .client
                .post(format!("{}/v1/orgs/{ORG}/donations", app.base))
                .bearer_auth(&token)
                .json(&implicit(&id));
            tokio::spawn(async move { support::answer(request.send().await.expect("POST")).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let retries = fire_at_once(&app, &token, "/donations", vec![explicit(&id); RACERS - 1]);
        let (original, retries) = tokio::join!(original, retries);
        let original = original.expect("original task");
        let ballast_entries = finish_ballast(ballast).await;
        assert_eq!(app.log_size().await, size + 1 + ballast_entries, "{mode:?}");

        let mut all = vec![original];
        all.extend(retries);
        let counts = status_counts(&all);
        note!("equivalent retries, round {round} ({mode:?}): {counts:?}");
        if counts != BTreeMap::from([(200, RACERS - 1), (201, 1)]) {
            let example = all.iter().find(|a| a.status != 200 && a.status != 201);
            failures.push(format!(
                "round {round} ({mode:?}): {counts:?}, e.g. {}",
                example.map(Answer::text).unwrap_or_default()
            ));
            continue;
        }
        for a in &all {
            assert_eq!(a.body, all[0].body, "{mode:?}");
        }
    }
    assert!(
        failures.is_empty(),
        "retries naming the campaign's currency must all be replays of the original \
         (they are when sent one by one), but:\n{}",
        failures.join("\n")
    );
    app.finish().await;
}

// ---------------------------------------------------------------------------------------
// 2. Donor privacy: the real binary, verbose logs, every byte it leaves behind
// ---------------------------------------------------------------------------------------

/// The filter that makes the service log as much as it can about requests.
const VERBOSE_LOGS: &str = "trace,hyper=debug,hyper_util=debug,h2=debug,mio=debug,tokio=debug";

/// `pennytrail serve` as a child process whose stdout and stderr are kept whole.
struct LoggedService {
    child: tokio::process::Child,
    base: String,
    output: Arc<Mutex<Vec<u8>>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl LoggedService {
    async fn start(data_dir: &Path, database_url: Option<&str>) -> LoggedService {
        use tokio::io::AsyncBufReadExt as _;
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"));
        command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--origin", support::ORIGIN])
            .arg("--data-dir")
            .arg(data_dir);
        if let Some(url) = database_url {
            command.args(["--database-url", url]);
        }
        let mut child = command
            .env("PENNYTRAIL_LOG_FORMAT", "json")
            .env("RUST_LOG", VERBOSE_LOGS)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn pennytrail");
        let output = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel::<String>();
        let mut readers = Vec::new();
        let mut stderr = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let out = output.clone();
        readers.push(tokio::spawn(async move {
            let mut addr_tx = Some(addr_tx);
            while let Ok(Some(line)) = stderr.next_line().await {
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && let Some(addr) = v["fields"]["addr"].as_str()
                    && let Some(tx) = addr_tx.take()
                {
                    let _ = tx.send(addr.to_string());
                }
                let mut out = out.lock().unwrap();
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
        }));
        let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let out = output.clone();
        readers.push(tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                let mut out = out.lock().unwrap();
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
            }
        }));
        let addr = tokio::time::timeout(std::time::Duration::from_secs(60), addr_rx)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_else(|| {
                panic!(
                    "pennytrail did not start:\n{}",
                    String::from_utf8_lossy(&output.lock().unwrap())
                )
            });
        LoggedService {
            child,
            base: format!("http://{addr}"),
            output,
            readers,
        }
    }

    /// SIGTERM, a graceful exit, and everything it wrote.
    async fn stop(mut self) -> Vec<u8> {
        let pid = self.child.id().expect("running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let exit = tokio::time::timeout(std::time::Duration::from_secs(30), self.child.wait())
            .await
            .expect("stops within 30 s")
            .expect("wait");
        assert!(exit.success(), "graceful exit, got {exit}");
        for r in self.readers {
            r.await.unwrap();
        }
        self.output.lock().unwrap().clone()
    }
}

/// An HTTP session that keeps every answer body, for scanning.
struct Session {
    client: reqwest::Client,
    base: String,
    transcript: Vec<Vec<u8>>,
}

impl Session {
    async fn post(&mut self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        let mut request = self.client.post(format!("{}{path}", self.base)).json(body);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let answer = support::answer(request.send().await.expect("POST")).await;
        self.transcript.push(answer.body.clone());
        answer
    }

    async fn get(&mut self, path: &str) -> Answer {
        let answer = support::answer(
            self.client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .expect("GET"),
        )
        .await;
        assert_eq!(answer.status, 200, "GET {path}: {}", answer.text());
        self.transcript.push(answer.body.clone());
        answer
    }

    async fn created(&mut self, path: &str, token: &str, body: &Value) -> Value {
        let answer = self.post(path, Some(token), body).await;
        assert_eq!(answer.status, 201, "POST {path} {body}: {}", answer.text());
        answer.json()
    }

    async fn log_size(&mut self) -> u64 {
        self.get("/v1/log").await.json()["size"].as_u64().unwrap()
    }

    /// Every entry of the log as NDJSON bytes, fetched page by page.
    async fn all_entries(&mut self) -> Vec<u8> {
        let mut all = Vec::new();
        let mut from = 0;
        loop {
            let page = self
                .get(&format!("/v1/entries?from={from}&limit=1000"))
                .await
                .body;
            let lines = page.iter().filter(|b| **b == b'\n').count();
            all.extend_from_slice(&page);
            if lines == 0 {
                return all;
            }
            from += lines;
        }
    }

    async fn lookup(&mut self, org: &str, donor_ref: &str) -> Vec<String> {
        let answer = self
            .post(
                "/v1/donors/lookup",
                None,
                &json!({"org": org, "donor_ref": donor_ref}),
            )
            .await;
        assert_eq!(answer.status, 200, "lookup: {}", answer.text());
        answer.json()["donations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_string())
            .collect()
    }
}

/// The normal form of a donor reference, written from the README's definition: trimmed,
/// inner whitespace runs folded to one space, lowercase.
fn normalised(reference: &str) -> String {
    reference
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// HMAC-SHA256(secret, org ‖ 0x00 ‖ normalised ref), lowercase hex.
fn expected_commitment(secret: &[u8], org: &str, reference: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret).unwrap();
    mac.update(org.as_bytes());
    mac.update(&[0]);
    mac.update(normalised(reference).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// What must never appear anywhere, for one planted reference: its normal form, each of
/// its distinctive words (so a re-cased, re-spaced or URL-encoded copy is caught too),
/// and its hex and unkeyed SHA-256 encodings. All lowercase; haystacks are lowercased.
fn needles(reference: &str) -> Vec<String> {
    let norm = normalised(reference);
    let mut out = vec![norm.clone(), hex::encode(norm.as_bytes())];
    for s in [norm.as_str(), reference] {
        out.push(pennytrail::log::hash::sha256(s.as_bytes()).to_hex());
    }
    for word in norm.split(|c: char| c.is_whitespace() || c == '@') {
        if word.len() >= 6 {
            out.push(word.to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The donor references planted by the scenario, as sent (mixed case, stray spaces).
const PLANTED_EMAIL: &str = "  Planted-Donor-7F3A@Example.ORG ";
const PLANTED_NAME: &str = "\tZEBULON   Quibbleworth  ";
const BATCH_EMAIL: &str = " Batch-Donor-9C1E@Example.org";
const BATCH_NAME: &str = "Ottoline  Fenwhistle-BRACK";
const LOOKUP_ONLY: &str = "  Lookup-Only-Donor-41D2@Example.NET  ";
const REFUSED_EMAIL: &str = "Refused-Batch-Donor-5B7E@Example.com ";
const REFUSED_NAME: &str = " Hortensia   Vexley-Plum";
const RULE_REFUSED: &str = "Rule-Refused-Donor-2E6B@Example.com";
const BOTH_FIELDS: &str = "Both-Fields-Donor-8D0C@Example.com";
const SINGLE_REFUSED: &str = "Single-Refused-Donor-C4F1@Example.com";

fn overlong_reference() -> String {
    // 321 characters: refused as too long, and planted all the same.
    let mut r = "Overlong-Donor-3A9F@Example.com ".to_string();
    while r.chars().count() < 321 {
        r.push('x');
    }
    r
}

fn all_planted() -> Vec<String> {
    let mut v: Vec<String> = [
        PLANTED_EMAIL,
        PLANTED_NAME,
        BATCH_EMAIL,
        BATCH_NAME,
        LOOKUP_ONLY,
        REFUSED_EMAIL,
        REFUSED_NAME,
        RULE_REFUSED,
        BOTH_FIELDS,
        SINGLE_REFUSED,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(overlong_reference());
    v
}

/// Every planted needle found in `haystack`, as "needle" strings.
fn leaks_in(haystack: &[u8], planted: &[String]) -> Vec<String> {
    let lower = haystack.to_ascii_lowercase();
    let mut found = Vec::new();
    for reference in planted {
        for needle in needles(reference) {
            if lower.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(needle);
            }
        }
    }
    found
}

/// Every regular file under `dir`, recursively, with its bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read dir") {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.is_file() {
                let bytes = std::fs::read(&path).expect("read file");
                out.push((path, bytes));
            }
        }
    }
    out.sort();
    out
}

/// Tallies what was scanned, and fails with every leak at once.
#[derive(Default)]
struct Scan {
    files: usize,
    bytes: usize,
    leaks: Vec<String>,
}

impl Scan {
    fn check(&mut self, what: &str, bytes: &[u8], planted: &[String]) {
        self.files += 1;
        self.bytes += bytes.len();
        for needle in leaks_in(bytes, planted) {
            self.leaks.push(format!("{what}: contains {needle:?}"));
        }
    }
}

/// The privacy scenario on one backend. Returns after asserting that nothing leaked.
async fn donor_refs_never_leave_the_request(backend: Backend) {
    let db = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(support::PgDatabase::create().await),
    };
    let pg_dump = which_pg_dump();
    if backend == Backend::Postgres && pg_dump.is_none() {
        eprintln!("WARNING: pg_dump is not installed; the PostgreSQL database is not scanned");
    }
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().join("data");
    let service = LoggedService::start(&data_dir, db.as_ref().map(|d| d.url.as_str())).await;
    let mut s = Session {
        client: reqwest::Client::new(),
        base: service.base.clone(),
        transcript: Vec::new(),
    };
    let operator = std::fs::read_to_string(data_dir.join("operator.token"))
        .unwrap()
        .trim()
        .to_string();
    let secret = hex::decode(
        std::fs::read_to_string(data_dir.join("donor.secret"))
            .unwrap()
            .trim(),
    )
    .expect("donor.secret holds hex");
    assert_eq!(secret.len(), 32, "donor.secret holds 64 hex digits");

    // Two orgs, each with a EUR campaign.
    let mut tokens = BTreeMap::new();
    for org in [ORG, "other-hands"] {
        let answer = s
            .post(
                "/v1/admin/orgs",
                Some(&operator),
                &json!({"id": org, "name": format!("Charity {org}"), "country": "DE"}),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text());
        let token = answer.json()["api_token"].as_str().unwrap().to_string();
        s.created(
            &format!("/v1/orgs/{org}/beneficiaries"),
            &token,
            &json!({"id": "school", "label": "A school", "kind": "organization", "country": "KE"}),
        )
        .await;
        s.created(
            &format!("/v1/orgs/{org}/campaigns"),
            &token,
            &json!({"id": "meals", "title": "Meals", "purpose": "Lunch", "currency": "EUR",
                    "beneficiaries": ["school"]}),
        )
        .await;
        tokens.insert(org, token);
    }
    let token = tokens[ORG].clone();
    let with_ref = |id: &str, reference: &str| {
        let mut d = donation(id, 1000);
        d["donor_ref"] = json!(reference);
        d
    };
    // (id, org, reference) of every donation logged with a donor_ref.
    let mut logged: Vec<(String, &str, String)> = Vec::new();

    // Single donations.
    for (id, reference) in [("single-1", PLANTED_EMAIL), ("single-2", PLANTED_NAME)] {
        s.created(
            &format!("/v1/orgs/{ORG}/donations"),
            &token,
            &with_ref(id, reference),
        )
        .await;
        logged.push((id.into(), ORG, reference.into()));
    }
    // A retry naming the same donor differently is the same donation.
    let retry = s
        .post(
            &format!("/v1/orgs/{ORG}/donations"),
            Some(&token),
            &with_ref("single-1", &normalised(PLANTED_EMAIL).to_uppercase()),
        )
        .await;
    assert_eq!(retry.status, 200, "{}", retry.text());
    // The same donor at another org.
    s.created(
        "/v1/orgs/other-hands/donations",
        &tokens["other-hands"],
        &with_ref("elsewhere-1", PLANTED_NAME),
    )
    .await;
    logged.push(("elsewhere-1".into(), "other-hands", PLANTED_NAME.into()));

    // A batch.
    let batch: Vec<Value> = [
        ("batch-1", BATCH_EMAIL),
        ("batch-2", BATCH_NAME),
        ("batch-3", "zebulon quibbleworth"),
    ]
    .iter()
    .map(|(id, r)| {
        logged.push((id.to_string(), ORG, r.to_string()));
        with_ref(id, r)
    })
    .collect();
    s.created(
        &format!("/v1/orgs/{ORG}/donations/batch"),
        &token,
        &json!({"donations": batch}),
    )
    .await;

    // Refused writes carrying references: none of them may leave a trace.
    let size = s.log_size().await;
    let batch_path = format!("/v1/orgs/{ORG}/donations/batch");
    let mut bad_amount = donation("refused-3", 0);
    bad_amount["donor_ref"] = json!(REFUSED_EMAIL);
    let refusals: Vec<(String, Value, u16, &str)> = vec![
        (
            batch_path.clone(),
            json!({"donations": [with_ref("refused-1", REFUSED_EMAIL),
                with_ref("refused-2", REFUSED_NAME), bad_amount]}),
            422,
            "donations[2].amount",
        ),
        (
            batch_path.clone(),
            json!({"donations": [with_ref("refused-4", RULE_REFUSED),
                {"id": "refused-5", "campaign": "no-such-campaign", "amount": 5, "fee": 0,
                 "channel": "card", "donor_ref": REFUSED_NAME}]}),
            422,
            "donations[1].campaign",
        ),
        (
            batch_path.clone(),
            json!({"donations": [with_ref("refused-6", REFUSED_NAME),
                with_ref("refused-7", &overlong_reference())]}),
            422,
            "donations[1].donor_ref",
        ),
        (
            batch_path.clone(),
            json!({"donations": [{"id": "refused-8", "campaign": "meals", "amount": 5,
                "fee": 0, "channel": "card", "donor_ref": BOTH_FIELDS,
                "donor_commitment": "00".repeat(32)}]}),
            422,
            "donations[0].donor_commitment",
        ),
        (
            format!("/v1/orgs/{ORG}/donations"),
            json!({"id": "refused-9", "campaign": "meals", "amount": 5, "fee": 6,
                   "channel": "card", "donor_ref": SINGLE_REFUSED}),
            422,
            "fee",
        ),
        (
            // An existing id with other content: refused by the sequencer.
            format!("/v1/orgs/{ORG}/donations"),
            with_ref("single-2", SINGLE_REFUSED),
            409,
            "id",
        ),
    ];
    for (path, body, status, field) in &refusals {
        let answer = s.post(path, Some(&token), body).await;
        answer.assert_problem(*status, Some(field));
    }
    assert_eq!(s.log_size().await, size, "refused writes append nothing");
    for id in [
        "refused-1",
        "refused-2",
        "refused-4",
        "refused-6",
        "refused-8",
        "refused-9",
    ] {
        let a = support::answer(
            s.client
                .get(format!("{}/v1/orgs/{ORG}/donations/{id}", s.base))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(a.status, 404, "{id} was refused");
    }

    // Lookups (15 of the 30 a client may make per minute).
    let zebulon_here = ["batch-3", "single-2"];
    for (reference, org, expected) in [
        (PLANTED_EMAIL, ORG, vec!["single-1"]),
        ("planted-donor-7f3a@example.org", ORG, vec!["single-1"]),
        ("PLANTED-DONOR-7F3A@EXAMPLE.ORG", ORG, vec!["single-1"]),
        (PLANTED_NAME, ORG, zebulon_here.to_vec()),
        ("zebulon quibbleworth", ORG, zebulon_here.to_vec()),
        ("Zebulon\n Quibbleworth ", ORG, zebulon_here.to_vec()),
        (PLANTED_NAME, "other-hands", vec!["elsewhere-1"]),
        (PLANTED_EMAIL, "other-hands", vec![]),
        (BATCH_EMAIL, ORG, vec!["batch-1"]),
        (BATCH_NAME, ORG, vec!["batch-2"]),
        (LOOKUP_ONLY, ORG, vec![]),
        (REFUSED_EMAIL, ORG, vec![]),
        (REFUSED_NAME, ORG, vec![]),
    ] {
        let mut ids = s.lookup(org, reference).await;
        ids.sort();
        assert_eq!(ids, expected, "lookup of {reference:?} at {org}");
    }
    // A lookup refused for its org, and one for an unknown org.
    let bad = s
        .post(
            "/v1/donors/lookup",
            None,
            &json!({"org": "not an id!", "donor_ref": LOOKUP_ONLY}),
        )
        .await;
    bad.assert_problem(422, Some("org"));
    assert!(s.lookup("no-such-org", LOOKUP_ONLY).await.is_empty());

    // The logged commitments are the documented HMAC, recomputed here.
    let mut committed = 0;
    for (id, org, reference) in &logged {
        let view = s
            .get(&format!("/v1/orgs/{org}/donations/{id}"))
            .await
            .json();
        let seq = view["seq"].as_u64().unwrap();
        let entry = s.get(&format!("/v1/entries/{seq}")).await.json();
        assert_eq!(entry["donation"], id.as_str());
        let expected = expected_commitment(&secret, org, reference);
        assert_eq!(
            entry["donor_commitment"],
            expected,
            "{org}/{id}: HMAC-SHA256(secret, org ‖ 0x00 ‖ {:?})",
            normalised(reference)
        );
        committed += 1;
    }
    assert_eq!(
        expected_commitment(&secret, ORG, PLANTED_NAME),
        expected_commitment(&secret, ORG, "zebulon quibbleworth")
    );
    assert_ne!(
        expected_commitment(&secret, ORG, PLANTED_NAME),
        expected_commitment(&secret, "other-hands", PLANTED_NAME),
        "keyed by org"
    );

    // Scan everything. First the log and the answers, and the files while running.
    let planted = all_planted();
    let mut scan = Scan::default();
    let entries = s.all_entries().await;
    let entry_count = entries.iter().filter(|b| **b == b'\n').count();
    scan.check("GET /v1/entries", &entries, &planted);
    for (i, body) in s.transcript.iter().enumerate() {
        scan.check(&format!("answer #{i}"), body, &planted);
    }
    let snapshot = tempfile::tempdir().unwrap();
    let running_files = files_under(&data_dir);
    for (path, bytes) in &running_files {
        let name = path.strip_prefix(&data_dir).unwrap();
        std::fs::write(
            snapshot
                .path()
                .join(name.to_string_lossy().replace('/', "_")),
            bytes,
        )
        .unwrap();
        scan.check(
            &format!("while running: {}", name.display()),
            bytes,
            &planted,
        );
    }
    let running_names: Vec<String> = running_files
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();

    let logs = service.stop().await;
    let log_lines = logs.iter().filter(|b| **b == b'\n').count();
    scan.check("application logs (stdout+stderr)", &logs, &planted);
    let logs_text = String::from_utf8_lossy(&logs);
    // The logs really were verbose: a scan of near-empty logs would prove nothing.
    for expected in ["batch committed", "request finished", "/v1/donors/lookup"] {
        assert!(
            logs_text.contains(expected),
            "the captured logs lack {expected:?}; were they verbose?"
        );
    }
    let stopped_files = files_under(&data_dir);
    for (path, bytes) in &stopped_files {
        let name = path.strip_prefix(&data_dir).unwrap();
        scan.check(&format!("after stop: {}", name.display()), bytes, &planted);
    }
    let mut dumped = 0;
    let mut dump_bytes = Vec::new();
    if let (Some(db), Some(pg_dump)) = (&db, &pg_dump) {
        let out = std::process::Command::new(pg_dump)
            .arg("--dbname")
            .arg(&db.url)
            .output()
            .expect("run pg_dump");
        assert!(
            out.status.success(),
            "pg_dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dump = String::from_utf8_lossy(&out.stdout);
        // The dump really holds the log: each org's donations by id.
        assert!(dump.contains("single-1") && dump.contains("elsewhere-1"));
        dumped = out.stdout.len();
        scan.check("pg_dump", &out.stdout, &planted);
        dump_bytes = out.stdout;
    }
    // Positive controls: the scanned stores really hold the donations (their commitments),
    // so a reference stored next to them would have been found.
    let a_commitment = expected_commitment(&secret, "other-hands", PLANTED_NAME);
    let holds = |bytes: &[u8]| {
        bytes
            .windows(a_commitment.len())
            .any(|w| w == a_commitment.as_bytes())
    };
    match backend {
        Backend::Sqlite => {
            assert!(running_files.iter().any(|(_, b)| holds(b)));
            assert!(stopped_files.iter().any(|(_, b)| holds(b)));
        }
        Backend::Postgres => assert!(pg_dump.is_none() || holds(&dump_bytes)),
    }
    if backend == Backend::Sqlite {
        assert!(
            running_names.iter().any(|n| n == "pennytrail.db")
                && running_names.iter().any(|n| n.ends_with("-wal")),
            "expected the database and its WAL in the data dir: {running_names:?}"
        );
    }
    note!(
        "privacy ({backend:?}): {} planted references ({} needles); {} donations with \
         commitments checked; {} refused writes; scanned {} blobs, {} bytes: {} entries, {} \
         answers, {} files while running ({running_names:?}), {} after stop, {log_lines} log \
         lines ({} bytes), pg_dump {dumped} bytes",
        planted.len(),
        planted.iter().map(|p| needles(p).len()).sum::<usize>(),
        committed,
        refusals.len(),
        scan.files,
        scan.bytes,
        entry_count,
        s.transcript.len(),
        running_files.len(),
        stopped_files.len(),
        logs.len(),
    );
    if let Some(db) = &db {
        db.drop_database().await;
    }
    assert!(
        scan.leaks.is_empty(),
        "donor references leaked:\n{}",
        scan.leaks.join("\n")
    );
}

fn which_pg_dump() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("pg_dump"))
            .find(|p| p.is_file())
    })
}

mod donor_privacy {
    use super::*;

    #[pennytrail_test]
    async fn sqlite() {
        donor_refs_never_leave_the_request(Backend::Sqlite).await;
    }

    #[pennytrail_test(postgres)]
    async fn postgres() {
        donor_refs_never_leave_the_request(Backend::Postgres).await;
    }
}

/// The scanner itself finds what it looks for, in every form it claims to catch.
#[pennytrail_test]
fn the_scanner_finds_planted_references() {
    let planted = vec![PLANTED_NAME.to_string(), PLANTED_EMAIL.to_string()];
    for haystack in [
        "…\"donor_ref\":\"\\tZEBULON   Quibbleworth  \"…",
        "name=zebulon quibbleworth",
        "Quibbleworth, Z.",
        "to=planted-donor-7f3a%40example.org",
    ] {
        let hits = leaks_in(haystack.as_bytes(), &planted);
        assert!(!hits.is_empty(), "{haystack} not caught");
    }
    let hex_copy = hex::encode("zebulon quibbleworth");
    assert!(!leaks_in(hex_copy.as_bytes(), &planted).is_empty());
    let hashed = pennytrail::log::hash::sha256(b"planted-donor-7f3a@example.org").to_hex();
    assert!(!leaks_in(hashed.to_uppercase().as_bytes(), &planted).is_empty());
    assert!(leaks_in(b"nothing to see", &planted).is_empty());
}

/// A writer that dies (here a fault injected into its fourth batch) is noticed: the write
/// in that batch is refused 503, `/readyz` answers 503 at once while reads go on being
/// served for the drain period, and the service then stops with an error, which
/// `pennytrail serve` turns into a non-zero exit so a supervisor restarts it.
async fn a_writer_that_dies_fails_readiness_then_stops_the_service(backend: Backend) {
    let drain = std::time::Duration::from_secs(2);
    let mut app = TestApp::start_configured(backend, |config| {
        config.faults.panic_at_batch = Some(4);
        config.writer_loss_drain = drain;
    })
    .await;
    assert_eq!(app.get("/readyz").await.status, 200);
    // Batches 1-3: the org, a beneficiary and a campaign.
    let token = app.new_org("helping-hands").await;
    app.org_create(
        &token,
        "helping-hands",
        "/beneficiaries",
        &json!({"id": "kitchen", "label": "Kitchen", "kind": "organization", "country": "DE"}),
    )
    .await;
    app.org_create(
        &token,
        "helping-hands",
        "/campaigns",
        &json!({"id": "meals", "title": "Meals", "purpose": "Meals", "currency": "EUR",
                "beneficiaries": ["kitchen"]}),
    )
    .await;
    let size = app.log_size().await;
    assert_eq!(app.get("/readyz").await.status, 200);

    // Batch 4: the writer panics; the write is refused, never acknowledged.
    let refused = app
        .org_post(&token, "helping-hands", "/donations", &donation("d-1", 500))
        .await;
    refused.assert_problem(503, None);
    let stopped_at = std::time::Instant::now();
    // Readiness fails at once (as soon as the writer's queue has closed) and says why;
    // reads are still served during the drain.
    let mut ready = app.get("/readyz").await;
    for _ in 0..100 {
        if ready.status != 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        ready = app.get("/readyz").await;
    }
    let problem = ready.assert_problem(503, None);
    assert!(
        problem["detail"].as_str().unwrap().contains("writer"),
        "{problem}"
    );
    assert_eq!(app.log_size().await, size);
    // Every later write is refused too.
    app.org_post(&token, "helping-hands", "/donations", &donation("d-2", 500))
        .await
        .assert_problem(503, None);

    // Then the service stops on its own, with an error naming the writer.
    let stopped = tokio::time::timeout(drain * 10, app.until_stopped())
        .await
        .expect("the service stops after the drain period");
    let error = format!(
        "{:#}",
        stopped.expect_err("a writer's death is an error exit")
    );
    assert!(error.contains("writer"), "{error}");
    assert!(
        stopped_at.elapsed() >= drain,
        "stopped before the drain period"
    );
}

#[pennytrail_test]
async fn a_writer_that_dies_stops_the_service_sqlite() {
    a_writer_that_dies_fails_readiness_then_stops_the_service(Backend::Sqlite).await;
}

#[pennytrail_test(postgres)]
async fn a_writer_that_dies_stops_the_service_postgres() {
    a_writer_that_dies_fails_readiness_then_stops_the_service(Backend::Postgres).await;
}
