//! The service through its HTTP API, on SQLite and PostgreSQL alike.

use crate::support::{self, Answer, Backend, TestApp, pennytrail_test};
use pennytrail::log::checkpoint::Checkpoint;
use pennytrail::log::hash::{Hash, leaf_hash};
use pennytrail::log::merkle::verify_consistency;
use pennytrail::log::receipt::Receipt;
use serde_json::{Value, json};

fn org(id: &str) -> Value {
    json!({"id": id, "name": format!("Charity {id}"), "country": "DE"})
}

/// Checks a write answer: entry fields, leaf hash, and a receipt that verifies.
fn assert_write(app: &TestApp, answer: &Answer, status: u16) -> Value {
    assert_eq!(answer.status.as_u16(), status, "{}", answer.text());
    let body = answer.json();
    let seq = body["seq"].as_u64().unwrap();
    let entry = &body["entry"];
    assert_eq!(entry["seq"], seq);
    assert_eq!(entry["v"], 1);
    let entry_bytes = serde_json::to_vec(entry).unwrap();
    // serde_json re-serialises sorted and compact, like the canonical form.
    assert_eq!(body["leaf_hash"], leaf_hash(&entry_bytes).to_hex());
    let receipt = Receipt::parse(body["receipt"].as_str().unwrap()).unwrap();
    assert_eq!(receipt.index, seq);
    let checkpoint = receipt
        .verify(&entry_bytes, &app.verifier)
        .expect("receipt verifies");
    assert!(checkpoint.size > seq);
    body
}

#[pennytrail_test(both_backends)]
async fn writes_replays_and_conflicts(app: TestApp) {
    assert_eq!(app.log_size().await, 0);
    let genesis = Checkpoint::open(&app.checkpoint_note().await, &app.verifier).unwrap();
    assert_eq!(
        (genesis.size, genesis.origin.as_str()),
        (0, support::ORIGIN)
    );

    let first = app.register_org(&org("alpha")).await;
    let body = assert_write(&app, &first, 201);
    assert_eq!(body["seq"], 0);
    assert_eq!(body["entry"]["prev"], "0".repeat(64));
    assert_eq!(body["entry"]["kind"], "org.registered");
    let token = body["api_token"].as_str().unwrap();
    assert!(token.starts_with("pt_") && token.len() > 40);

    // Same id, same content: 200 and the original answer byte for byte, minus the token.
    let replay = app.register_org(&org("alpha")).await;
    assert_write(&app, &replay, 200);
    let mut original = body.clone();
    original.as_object_mut().unwrap().remove("api_token");
    assert_eq!(replay.json(), original);
    let second_replay = app.register_org(&org("alpha")).await;
    assert_eq!(second_replay.body, replay.body);

    // Same id, different content: 409, and nothing appended.
    let conflict = app
        .register_org(&json!({"id": "alpha", "name": "Other", "country": "DE"}))
        .await;
    conflict.assert_problem(409, Some("id"));
    assert_eq!(app.log_size().await, 1);

    let second = assert_write(&app, &app.register_org(&org("beta")).await, 201);
    assert_eq!(second["seq"], 1);
    assert_eq!(second["entry"]["prev"], body["leaf_hash"]);
    assert!(second["entry"]["time"].as_str().unwrap() >= body["entry"]["time"].as_str().unwrap());

    // The stored bytes are served verbatim, alone and as NDJSON.
    let stored = app.get("/v1/entries/1").await;
    assert_eq!(stored.status, 200);
    assert_eq!(stored.content_type, "application/json");
    assert_eq!(leaf_hash(&stored.body).to_hex(), second["leaf_hash"]);
    let listing = app.get("/v1/entries?from=0&limit=10").await;
    assert_eq!(listing.content_type, "application/x-ndjson");
    let lines: Vec<&[u8]> = listing
        .body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1], &stored.body[..]);
    assert_eq!(
        app.get("/v1/entries?from=1&limit=1").await.body,
        [&stored.body[..], b"\n"].concat()
    );
    app.finish().await;
}

#[pennytrail_test(both_backends)]
async fn proofs_and_their_edge_cases(app: TestApp) {
    let mut sizes = vec![0u64];
    for i in 0..5 {
        let answer = app.register_org(&org(&format!("org-{i}"))).await;
        let body = assert_write(&app, &answer, 201);
        sizes.push(body["seq"].as_u64().unwrap() + 1);
    }
    // Sequential writes each commit their own batch, so each size has a checkpoint.
    assert_eq!(sizes, vec![0, 1, 2, 3, 4, 5]);
    let latest = Checkpoint::open(&app.checkpoint_note().await, &app.verifier).unwrap();
    assert_eq!(latest.size, 5);

    // Inclusion proof against the latest and against an older stored checkpoint.
    for (seq, size) in [(0u64, None), (4, None), (1, Some(3u64)), (2, Some(3))] {
        let path = match size {
            Some(s) => format!("/v1/entries/{seq}/proof?size={s}"),
            None => format!("/v1/entries/{seq}/proof"),
        };
        let answer = app.get(&path).await;
        assert_eq!(answer.status, 200, "{path}");
        let entry = app.get(&format!("/v1/entries/{seq}")).await.body;
        let checkpoint = Receipt::parse(&answer.text())
            .unwrap()
            .verify(&entry, &app.verifier)
            .unwrap();
        assert_eq!(checkpoint.size, size.unwrap_or(5));
    }
    app.get("/v1/entries/5/proof")
        .await
        .assert_problem(404, Some("seq"));
    app.get("/v1/entries/3/proof?size=3")
        .await
        .assert_problem(404, Some("seq"));
    app.get("/v1/entries/0/proof?size=99")
        .await
        .assert_problem(404, Some("size"));
    app.get("/v1/entries/0/proof?size=-1")
        .await
        .assert_problem(400, Some("size"));
    app.get("/v1/entries/x/proof")
        .await
        .assert_problem(400, Some("seq"));
    app.get("/v1/entries/0/proof?sise=1")
        .await
        .assert_problem(400, Some("sise"));

    // Consistency proofs: every pair of stored sizes verifies.
    let mut roots = Vec::new();
    for &size in &sizes {
        let proof = app.get(&format!("/v1/entries/0/proof?size={size}")).await;
        let root = if size == 0 {
            pennytrail::log::hash::empty_root()
        } else {
            Checkpoint::open(
                &Receipt::parse(&proof.text()).unwrap().checkpoint_note,
                &app.verifier,
            )
            .unwrap()
            .root
        };
        roots.push(root);
    }
    for (i, &from) in sizes.iter().enumerate() {
        for (j, &to) in sizes.iter().enumerate().skip(i) {
            let answer = app
                .get(&format!("/v1/proofs/consistency?from={from}&to={to}"))
                .await;
            assert_eq!(answer.status, 200);
            let body = answer.json();
            assert_eq!(
                (body["from"].as_u64(), body["to"].as_u64()),
                (Some(from), Some(to))
            );
            let hashes: Vec<Hash> = body["hashes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
                .collect();
            if from == 0 || from == to {
                assert!(hashes.is_empty(), "from={from} to={to}");
            }
            verify_consistency(&hashes, from, &roots[i], to, &roots[j]).unwrap();
        }
    }
    app.get("/v1/proofs/consistency?from=3&to=2")
        .await
        .assert_problem(400, Some("from"));
    app.get("/v1/proofs/consistency?from=1&to=6")
        .await
        .assert_problem(400, Some("to"));
    app.get("/v1/proofs/consistency?from=1")
        .await
        .assert_problem(400, Some("to"));
    app.get("/v1/proofs/consistency?from=01&to=2")
        .await
        .assert_problem(400, Some("from"));
    app.finish().await;
}

#[pennytrail_test(both_backends)]
async fn bad_input_never_changes_the_log(app: TestApp) {
    app.register_org(&org("keep")).await;
    let size = app.log_size().await;
    let checkpoint = app.checkpoint_note().await;
    let token = app.operator_token.clone();
    let path = "/v1/admin/orgs";

    app.post_raw(path, Some(&token), "application/json", b"{\"id\":".to_vec())
        .await
        .assert_problem(400, None);
    app.post_raw(path, Some(&token), "text/plain", b"{}".to_vec())
        .await
        .assert_problem(415, None);
    app.post_json(
        path,
        Some(&token),
        &json!({"id": "x1", "name": "X", "country": "DE", "extra": 1}),
    )
    .await
    .assert_problem(422, Some("extra"));
    app.post_json(path, Some(&token), &json!({"id": "x1", "country": "DE"}))
        .await
        .assert_problem(422, None);
    app.post_json(
        path,
        Some(&token),
        &json!({"id": 5, "name": "X", "country": "DE"}),
    )
    .await
    .assert_problem(422, Some("id"));
    for bad_id in ["", "-leading", "=SUM(A1)", "has space", &"a".repeat(65)] {
        app.post_json(
            path,
            Some(&token),
            &json!({"id": bad_id, "name": "X", "country": "DE"}),
        )
        .await
        .assert_problem(422, Some("id"));
    }
    for bad_country in ["de", "XX", "DEU", ""] {
        app.post_json(
            path,
            Some(&token),
            &json!({"id": "x1", "name": "X", "country": bad_country}),
        )
        .await
        .assert_problem(422, Some("country"));
    }
    app.post_json(
        path,
        Some(&token),
        &json!({"id": "x1", "name": "a\nb", "country": "DE"}),
    )
    .await
    .assert_problem(422, Some("name"));
    app.post_json(
        path,
        Some(&token),
        &json!({"id": "x1", "name": "X", "country": "DE", "public_key": "nope"}),
    )
    .await
    .assert_problem(422, Some("public_key"));
    // A body over the limit is not read to its end, so the answer closes the connection
    // and says so: a client that kept it would see its next request fail (CI saw exactly
    // that once, as an incomplete message on the request after this one).
    let huge = json!({"id": "x1", "name": "x".repeat(200_000), "country": "DE"});
    let too_large = app.post_json(path, Some(&token), &huge).await;
    too_large.assert_problem(413, None);
    assert!(
        too_large.closes_connection,
        "a 413 must carry Connection: close"
    );
    // A refused body that was read in full keeps the connection.
    let refused = app
        .post_json(
            path,
            Some(&token),
            &json!({"id": "x1", "name": "X", "country": "ZZ"}),
        )
        .await;
    refused.assert_problem(422, Some("country"));
    assert!(
        !refused.closes_connection,
        "a body read in full keeps the connection"
    );

    // Authentication comes before the body is read: no token and a broken body is 401,
    // and the unread body closes the connection.
    let unauthenticated = app
        .post_raw(path, None, "application/json", b"{oops".to_vec())
        .await;
    unauthenticated.assert_problem(401, None);
    assert!(unauthenticated.closes_connection);
    // The requests after those go through on the same client.
    assert_eq!(app.log_size().await, size);
    // Errors from outside our handlers (the docs' static files) have the same shape.
    app.get("/docs/no-such-asset.js")
        .await
        .assert_problem(404, None);
    // Authentication: missing, malformed and wrong tokens.
    app.post_json(path, None, &org("x2"))
        .await
        .assert_problem(401, None);
    app.post_json(path, Some("pto_wrong"), &org("x2"))
        .await
        .assert_problem(401, None);
    let answer = app
        .client
        .post(format!("{}{path}", app.base))
        .header("authorization", "Basic abc")
        .json(&org("x2"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    // An org's own API token is not the operator's.
    let org_token = app.register_org(&org("other")).await.json()["api_token"]
        .as_str()
        .unwrap()
        .to_string();
    app.post_json(path, Some(&org_token), &org("x3"))
        .await
        .assert_problem(401, None);

    // Unknown routes and methods answer in the same shape.
    app.get("/v1/nope").await.assert_problem(404, None);
    app.get(path).await.assert_problem(405, None);
    app.get("/v1/entries/999").await.assert_problem(404, None);
    app.get("/v1/entries?limit=0")
        .await
        .assert_problem(400, Some("limit"));
    app.get("/v1/entries?limit=1001")
        .await
        .assert_problem(400, Some("limit"));

    assert_eq!(
        app.log_size().await,
        size + 1,
        "only the one valid registration was appended"
    );
    assert_ne!(app.checkpoint_note().await, checkpoint);
    app.finish().await;
}

#[pennytrail_test(both_backends)]
async fn concurrent_writes_share_batches_and_check_passes(app: TestApp) {
    const WRITERS: usize = 64;
    const EACH: usize = 4;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for i in 0..EACH {
                let answer = app.register_org(&org(&format!("w{w}-{i}"))).await;
                seqs.push(assert_write(&app, &answer, 201)["seq"].as_u64().unwrap());
            }
            seqs
        }));
    }
    let mut seqs: Vec<u64> = Vec::new();
    for t in tasks {
        seqs.extend(t.await.unwrap());
    }
    seqs.sort();
    let expected: Vec<u64> = (0..(WRITERS * EACH) as u64).collect();
    assert_eq!(seqs, expected, "every write got its own seq, gap-free");
    let app = std::sync::Arc::into_inner(app).unwrap();
    let store = pennytrail::store::open(&app.store_config()).await.unwrap();
    let report = pennytrail::check::check_store(&store, |_, _| {})
        .await
        .unwrap();
    assert_eq!(report.entries, (WRITERS * EACH) as u64);
    // Group commit: concurrent writes shared batches, so fewer checkpoints than entries.
    assert!(report.checkpoints < report.entries, "{report:?}");
    app.finish().await;
}

/// The value of a metric in `GET /metrics` (a line `name value`).
async fn metric(app: &TestApp, name: &str) -> Option<u64> {
    let text = app.get("/metrics").await.text();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Waits until the tree file holds the log's every stored hash.
async fn tree_file_caught_up(app: &TestApp) -> u64 {
    let wanted = pennytrail::log::merkle::stored_hash_count(app.log_size().await);
    for _ in 0..200 {
        if metric(app, "pennytrail_tree_file_hashes").await == Some(wanted) {
            return wanted;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the tree file never reached {wanted} hashes");
}

/// Every inclusion proof verifies against its checkpoint and the entry's bytes.
async fn assert_all_proofs_verify(app: &TestApp, size: u64) {
    for seq in 0..size {
        let proof = app.get(&format!("/v1/entries/{seq}/proof")).await;
        assert_eq!(proof.status, 200, "{}", proof.text());
        let entry = app.get(&format!("/v1/entries/{seq}")).await.body;
        Receipt::parse(&proof.text())
            .unwrap()
            .verify(&entry, &app.verifier)
            .unwrap_or_else(|e| panic!("proof of {seq}: {e}"));
    }
}

/// Proofs come from the tree file beside the SQLite database (no query), and a tree file
/// that lies, or that a crash may have left half-written, never yields a wrong proof.
#[pennytrail_test]
async fn the_tree_file_never_serves_a_wrong_proof() {
    let mut app = TestApp::start(Backend::Sqlite).await;
    for i in 0..21 {
        assert_write(&app, &app.register_org(&org(&format!("t-{i}"))).await, 201);
    }
    let hashes = tree_file_caught_up(&app).await;
    assert_all_proofs_verify(&app, 21).await;
    assert_eq!(metric(&app, "pennytrail_tree_file_usable").await, Some(1));

    // A clean stop leaves the file trusted; damage it behind the service's back: the
    // leaf hash of entry 0 (stored hash 0) is read by the proof of entry 0.
    app.stop_service().await;
    let path = app.data_dir.path().join(pennytrail::store::TREE_FILE);
    let original = std::fs::read(&path).unwrap();
    assert_eq!(original.len() as u64, hashes * 32);
    let mut damaged = original.clone();
    damaged[5] ^= 0x40;
    std::fs::write(&path, &damaged).unwrap();
    app.restart().await;
    assert_eq!(
        metric(&app, "pennytrail_tree_file_hashes").await,
        Some(hashes)
    );
    assert_all_proofs_verify(&app, 21).await;
    assert_eq!(
        metric(&app, "pennytrail_tree_file_usable").await,
        Some(0),
        "the damaged hash was read, failed to verify, and turned the file off"
    );

    // A file turned off is not vouched for at the stop, so the next start rebuilds it
    // from the database; so does a start after a crash (no clean-stop marker).
    let marker = path.with_extension("tree.closed");
    for crash in [false, true] {
        app.stop_service().await;
        if crash {
            assert!(marker.exists(), "a clean stop leaves the marker");
            std::fs::write(&path, &damaged).unwrap();
            std::fs::remove_file(&marker).unwrap();
        } else {
            assert!(
                !marker.exists(),
                "a file that was turned off is not vouched for"
            );
        }
        app.restart().await;
        assert_eq!(tree_file_caught_up(&app).await, hashes);
        assert_eq!(metric(&app, "pennytrail_tree_file_usable").await, Some(1));
        assert_all_proofs_verify(&app, 21).await;
        assert_eq!(
            std::fs::read(&path).unwrap(),
            original,
            "rebuilt byte for byte"
        );
    }

    // New entries reach the file after their commit.
    for i in 21..25 {
        assert_write(&app, &app.register_org(&org(&format!("t-{i}"))).await, 201);
    }
    tree_file_caught_up(&app).await;
    assert_all_proofs_verify(&app, 25).await;

    // A tree file that cannot be opened (here a folder in its place) costs speed only.
    app.stop_service().await;
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    app.restart().await;
    assert_eq!(metric(&app, "pennytrail_tree_file_hashes").await, None);
    assert_all_proofs_verify(&app, 25).await;
    app.finish().await;
}
