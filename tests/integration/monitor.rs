//! The live-instance monitor (`pennytrail verify --url … --state …`): a first run verifies
//! every entry and remembers the checkpoint; later runs continue from it through a
//! consistency proof. A second log under the same key and origin (a fork), a log behind the
//! remembered checkpoint (a rollback), a wrong key, a corrupt state file, and a server whose
//! entries, proofs or answers lie are refused, naming what is wrong — and a failed run
//! never touches the state file.

use crate::support::{Backend, ORIGIN, TestApp, bodies, pennytrail_test};
use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pennytrail::log::checkpoint::Checkpoint;
use pennytrail::log::hash::{Hash, sha256};
use pennytrail::log::note::{NoteSigner, NoteVerifier};
use pennytrail_bundle::monitor::{
    Continuity, MonitorError, MonitorReport, PAGE_ENTRIES, STATE_FORMAT, StateFile,
};
use serde_json::{Value, json};

const ORG: &str = "helping-hands";

/// Registers an org, a beneficiary and a campaign, and `donations` donations: 3 +
/// `donations` entries. Returns the org's token.
async fn seed(app: &TestApp, donations: usize) -> String {
    let org = app.register(ORG).await;
    app.post_beneficiary(&org, "school", "organization").await;
    app.post_campaign(&org, "meals", "EUR", &["school"]).await;
    donate(app, &org.token, "d", 0..donations).await;
    org.token
}

/// One donation per id `{prefix}{i}` (of 100 + i, fee 3), each its own write.
async fn donate(app: &TestApp, token: &str, prefix: &str, ids: std::ops::Range<usize>) {
    for i in ids {
        let body = bodies::donation(&format!("{prefix}{i}"), "meals", 100 + i as i64, 3);
        app.org_create(token, ORG, "/donations", &body).await;
    }
}

/// Donations `{prefix}0..count` in batches of at most 1,000 (one write each).
async fn donate_in_batches(app: &TestApp, token: &str, prefix: &str, count: usize) {
    let ids: Vec<usize> = (0..count).collect();
    for chunk in ids.chunks(1000) {
        let items: Vec<Value> = chunk
            .iter()
            .map(|i| {
                json!({"id": format!("{prefix}{i}"), "campaign": "meals", "amount": 50,
                            "fee": 1, "channel": "sms"})
            })
            .collect();
        app.org_create(token, ORG, "/donations/batch", &json!({"donations": items}))
            .await;
    }
}

/// The monitor over HTTP, as `pennytrail-verify url` runs it; its blocking client runs on
/// a thread of its own, beside the service under test.
async fn monitor(
    url: &str,
    verifier: &NoteVerifier,
    state: &Path,
    min_size: Option<u64>,
    progress: impl FnMut(u64, u64) + Send + 'static,
) -> Result<MonitorReport, MonitorError> {
    let (url, verifier, state) = (url.to_string(), verifier.clone(), state.to_path_buf());
    tokio::task::spawn_blocking(move || {
        pennytrail_verify::commands::monitor_url(
            pennytrail_verify::commands::Live::Service(&url),
            &verifier,
            None,
            &state,
            min_size,
            progress,
        )
        .map(|(report, _)| report)
    })
    .await
    .expect("the monitor's thread")
}

async fn run(app: &TestApp, state: &Path) -> Result<MonitorReport, MonitorError> {
    monitor(&app.base, &app.verifier, state, None, |_, _| {}).await
}

/// The log's private key, to sign checkpoints a forger (or a restored backup) would show.
fn log_signer(app: &TestApp) -> NoteSigner {
    let text = fs::read_to_string(app.data_dir.path().join("log.key")).unwrap();
    NoteSigner::from_text(text.trim()).unwrap()
}

/// A state file remembering a checkpoint of (`size`, `root`) signed with the log's key.
fn forged_state(signer: &NoteSigner, size: u64, root: Hash) -> StateFile {
    let checkpoint = Checkpoint {
        origin: ORIGIN.to_string(),
        size,
        root,
    };
    StateFile::new(
        signer.verifier(),
        &checkpoint,
        &checkpoint.sign(signer).unwrap(),
    )
}

fn read_state_file(path: &Path) -> StateFile {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

#[pennytrail_test(both_backends)]
async fn first_run_then_consistency_proofs(app: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("monitor.json");

    // A brand-new log: zero entries, nothing remembered yet.
    let report = run(&app, &state).await.unwrap();
    assert_eq!(report.continuity, Continuity::FirstRun);
    assert_eq!(report.checkpoint.size, 0);
    assert_eq!(read_state_file(&state).size, 0);

    let token = seed(&app, 4).await;
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let progress = calls.clone();
    let report = monitor(&app.base, &app.verifier, &state, Some(7), move |d, t| {
        progress.lock().unwrap().push((d, t))
    })
    .await
    .unwrap();
    assert_eq!(report.checkpoint.size, 7);
    assert_eq!(calls.lock().unwrap().last(), Some(&(7, 7)));
    assert_eq!(
        report.continuity,
        Continuity::Extended {
            from_size: 0,
            from_root: sha256(b"")
        }
    );
    assert_eq!(
        (
            report.summary.entries,
            report.summary.orgs,
            report.summary.donations
        ),
        (7, 1, 4)
    );
    assert_eq!(
        report.summary.by_currency["EUR"].received,
        100 + 101 + 102 + 103
    );
    assert_eq!(report.summary.root, report.checkpoint.root);

    // The state file is the documented JSON, holding the served signed note verbatim.
    let remembered = read_state_file(&state);
    assert_eq!(remembered.format, STATE_FORMAT);
    assert_eq!(remembered.origin, ORIGIN);
    assert_eq!(remembered.verifier_key, app.verifier.to_text());
    assert_eq!(remembered.size, 7);
    assert_eq!(remembered.root, report.checkpoint.root.to_base64());
    assert_eq!(remembered.checkpoint, app.checkpoint_note().await);
    let first_root = report.checkpoint.root;

    // More writes, across a page boundary of /v1/entries: the next run continues from
    // size 7 with a consistency proof and re-derives the old root on the way.
    donate_in_batches(&app, &token, "b", PAGE_ENTRIES as usize + 200).await;
    donate(&app, &token, "e", 0..2).await;
    let size = app.log_size().await;
    assert_eq!(size, 7 + PAGE_ENTRIES + 200 + 2);
    let report = run(&app, &state).await.unwrap();
    assert_eq!(
        report.continuity,
        Continuity::Extended {
            from_size: 7,
            from_root: first_root
        }
    );
    assert_eq!(report.checkpoint.size, size);
    assert_eq!(report.summary.donations, 4 + PAGE_ENTRIES + 200 + 2);
    let remembered = read_state_file(&state);
    assert_eq!(remembered.size, size);
    assert_eq!(remembered.checkpoint, app.checkpoint_note().await);

    // Nothing new: the same checkpoint, no proof needed.
    let report = run(&app, &state).await.unwrap();
    assert_eq!(report.continuity, Continuity::Unchanged);
    assert_eq!(read_state_file(&state).size, size);

    // --min-size above the log's size is refused (and the state kept).
    let before = fs::read(&state).unwrap();
    let err = monitor(&app.base, &app.verifier, &state, Some(size + 1), |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, MonitorError::TooSmall { .. }), "{err}");
    assert_eq!(fs::read(&state).unwrap(), before);
    app.finish().await;
}

/// A second log under the same key and origin, with other entries: whatever its size, a
/// state remembered from the first log refuses it, and the state stays as it was.
#[pennytrail_test]
async fn a_fork_under_the_same_key_is_refused() {
    let a = TestApp::start(Backend::Sqlite).await;
    let token_a = seed(&a, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    run(&a, &state).await.unwrap();
    let remembered = fs::read(&state).unwrap();
    assert_eq!(read_state_file(&state).size, 5);

    // The service refuses to sign with a key whose record of signed checkpoints is ahead
    // of its store; an operator who copies only the key file gets past that, as here.
    let keys = tempfile::tempdir().unwrap();
    let key_copy = keys.path().join("log.key");
    fs::copy(a.data_dir.path().join("log.key"), &key_copy).unwrap();
    let b = TestApp::start_with_key(Backend::Sqlite, Some(key_copy)).await;
    assert_eq!(b.verifier, a.verifier, "the same key and origin");
    let token_b = b.new_org(ORG).await;
    // Smaller than remembered: a rollback.
    let err = run(&b, &state).await.unwrap_err();
    assert!(
        matches!(
            err,
            MonitorError::Rollback {
                old_size: 5,
                new_size: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().starts_with("ROLLBACK"), "{err}");
    assert_eq!(fs::read(&state).unwrap(), remembered);

    // The same size with another root: a fork.
    b.org_create(
        &token_b,
        ORG,
        "/beneficiaries",
        &json!({"id": "school", "label": "Another school", "kind": "organization",
                "country": "KE"}),
    )
    .await;
    b.org_create(
        &token_b,
        ORG,
        "/campaigns",
        &json!({"id": "meals", "title": "Meals", "purpose": "Lunch", "currency": "EUR",
                "beneficiaries": ["school"]}),
    )
    .await;
    donate(&b, &token_b, "d", 0..2).await;
    assert_eq!(b.log_size().await, 5);
    let err = run(&b, &state).await.unwrap_err();
    assert!(
        matches!(&err, MonitorError::Fork(f) if (f.old_size, f.new_size) == (5, 5)),
        "{err}"
    );
    assert!(err.to_string().starts_with("FORK"), "{err}");
    assert_eq!(fs::read(&state).unwrap(), remembered);

    // Larger: read through the tiles, its first 5 entries do not give the remembered root.
    donate(&b, &token_b, "x", 0..3).await;
    let err = run(&b, &state).await.unwrap_err();
    assert!(
        matches!(&err, MonitorError::Fork(f) if (f.old_size, f.new_size) == (5, 8)),
        "{err}"
    );
    assert!(
        err.to_string().contains("first 5 entries re-derive"),
        "{err}"
    );
    assert_eq!(fs::read(&state).unwrap(), remembered);

    // The second log is sound on its own (a fresh state accepts it), and the first log
    // still continues from the state the fork never touched.
    let fresh = dir.path().join("fresh.json");
    run(&b, &fresh).await.unwrap();
    donate(&a, &token_a, "more", 0..1).await;
    let report = run(&a, &state).await.unwrap();
    assert!(matches!(
        report.continuity,
        Continuity::Extended { from_size: 5, .. }
    ));
    b.finish().await;
    a.finish().await;
}

/// States signed with the log's real key that the live log contradicts: one ahead of it
/// (the log was rolled back, e.g. restored from a backup), one of the same size with
/// another root, and one behind it that the log does not extend.
#[pennytrail_test]
async fn remembered_checkpoints_the_log_contradicts() {
    let app = TestApp::start(Backend::Sqlite).await;
    seed(&app, 3).await;
    let size = app.log_size().await;
    let signer = log_signer(&app);
    assert_eq!(signer.verifier(), &app.verifier);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");

    let cases = [
        (size + 10, sha256(b"the future"), "ROLLBACK"),
        (size, sha256(b"another root"), "FORK"),
        (size - 2, sha256(b"another prefix"), "FORK"),
    ];
    for (old_size, old_root, expected) in cases {
        let forged = forged_state(&signer, old_size, old_root).to_bytes();
        fs::write(&state, &forged).unwrap();
        let err = run(&app, &state).await.unwrap_err();
        assert!(
            err.to_string().starts_with(expected),
            "state of size {old_size}: {err}"
        );
        assert!(
            err.to_string().contains(&state.display().to_string()),
            "names the state file: {err}"
        );
        assert_eq!(
            fs::read(&state).unwrap(),
            forged,
            "a failed run keeps the state"
        );
    }

    // The genuine prefix passes: the real root at size - 2, from the log's own tree.
    let earlier = prefix_root(&app, size - 2).await;
    fs::write(&state, forged_state(&signer, size - 2, earlier).to_bytes()).unwrap();
    let report = run(&app, &state).await.unwrap();
    assert_eq!(
        report.continuity,
        Continuity::Extended {
            from_size: size - 2,
            from_root: earlier
        }
    );
    app.finish().await;
}

/// The Merkle root of the first `size` entries, computed from the served entries.
async fn prefix_root(app: &TestApp, size: u64) -> Hash {
    let body = app.get(&format!("/v1/entries?from=0&limit={size}")).await;
    let mut frontier = pennytrail::log::merkle::Frontier::empty();
    for line in body.body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        frontier.append(pennytrail::log::hash::leaf_hash(line));
    }
    assert_eq!(frontier.size(), size);
    frontier.root()
}

#[pennytrail_test]
async fn a_wrong_key_is_refused() {
    let app = TestApp::start(Backend::Sqlite).await;
    seed(&app, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let impostors = [
        // The right name, another key.
        NoteSigner::from_seed(ORIGIN, [9; 32]).unwrap(),
        // Another name.
        NoteSigner::from_seed("other.example/log", [9; 32]).unwrap(),
    ];
    for impostor in &impostors {
        let err = monitor(&app.base, impostor.verifier(), &state, None, |_, _| {})
            .await
            .unwrap_err();
        assert!(matches!(err, MonitorError::Checkpoint { .. }), "{err}");
        assert!(err.to_string().contains("pinned key"), "{err}");
        assert!(!state.exists(), "a failed first run writes no state");
    }

    // A state written under the real key, used with another --key: it remembers another log.
    run(&app, &state).await.unwrap();
    let remembered = fs::read(&state).unwrap();
    let err = monitor(&app.base, impostors[0].verifier(), &state, None, |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, MonitorError::StateMismatch { .. }), "{err}");
    assert!(err.to_string().contains(&state.display().to_string()));
    assert_eq!(fs::read(&state).unwrap(), remembered);
    app.finish().await;
}

#[pennytrail_test]
async fn a_corrupt_state_file_is_an_error_naming_it() {
    let app = TestApp::start(Backend::Sqlite).await;
    seed(&app, 1).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    run(&app, &state).await.unwrap();
    let good = fs::read(&state).unwrap();
    let mut edited_size: StateFile = serde_json::from_slice(&good).unwrap();
    edited_size.size += 1;
    let mut edited_note: StateFile = serde_json::from_slice(&good).unwrap();
    edited_note.checkpoint = edited_note.checkpoint.replacen('\n', "\n1", 1);
    let corruptions: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"not json at all".to_vec()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("empty", Vec::new()),
        ("size edited", edited_size.to_bytes()),
        ("note edited", edited_note.to_bytes()),
        (
            "unknown member",
            String::from_utf8(good.clone())
                .unwrap()
                .replacen('{', "{\"extra\": 1,", 1)
                .into_bytes(),
        ),
    ];
    for (what, bytes) in corruptions {
        fs::write(&state, &bytes).unwrap();
        let err = run(&app, &state).await.unwrap_err();
        assert!(
            matches!(err, MonitorError::StateCorrupt { .. }),
            "{what}: {err}"
        );
        assert!(
            err.to_string()
                .contains(&format!("state file {} is corrupt", state.display())),
            "{what}: {err}"
        );
        assert_eq!(fs::read(&state).unwrap(), bytes, "{what}: never reset");
    }
    // A folder where the state file should be: named too.
    let folder_state = dir.path().join("a-folder");
    fs::create_dir(&folder_state).unwrap();
    let err = run(&app, &folder_state).await.unwrap_err();
    assert!(matches!(err, MonitorError::StateRead { .. }), "{err}");
    assert!(err.to_string().contains("a-folder"), "{err}");
    app.finish().await;
}

/// A server that answers what a test tells it to, for lies a real instance never tells.
#[derive(Clone, Default)]
struct Fake {
    note: String,
    entries: Vec<Vec<u8>>,
    /// The consistency proof's JSON body, or None for a 404.
    proof: Option<String>,
    /// Extra bytes appended to every entries page.
    page_suffix: Vec<u8>,
}

async fn fake_checkpoint(State(fake): State<Arc<Fake>>) -> impl IntoResponse {
    fake.note.clone()
}

async fn fake_entries(
    State(fake): State<Arc<Fake>>,
    Query(q): Query<HashMap<String, String>>,
) -> impl IntoResponse {
    let from: usize = q["from"].parse().unwrap();
    let limit: usize = q["limit"].parse().unwrap();
    let mut body = Vec::new();
    for entry in fake.entries.iter().skip(from).take(limit) {
        body.extend_from_slice(entry);
        body.push(b'\n');
    }
    body.extend_from_slice(&fake.page_suffix);
    body
}

async fn fake_proof(State(fake): State<Arc<Fake>>) -> axum::response::Response {
    match &fake.proof {
        Some(body) => body.clone().into_response(),
        None => (StatusCode::NOT_FOUND, "{\"detail\":\"no such checkpoint\"}").into_response(),
    }
}

/// Serves `fake` on a free port; returns its base URL.
async fn serve_fake(fake: Fake) -> String {
    let router = axum::Router::new()
        .route("/v1/checkpoint", axum::routing::get(fake_checkpoint))
        .route("/v1/entries", axum::routing::get(fake_entries))
        .route("/v1/proofs/consistency", axum::routing::get(fake_proof))
        .with_state(Arc::new(fake));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

#[pennytrail_test]
async fn a_server_that_lies_is_refused() {
    let app = TestApp::start(Backend::Sqlite).await;
    seed(&app, 3).await;
    let size = app.log_size().await;
    let signer = log_signer(&app);
    let verifier: &NoteVerifier = &app.verifier;
    let page = app.get(&format!("/v1/entries?from=0&limit={size}")).await;
    let entries: Vec<Vec<u8>> = page
        .body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let honest = Fake {
        note: app.checkpoint_note().await,
        entries: entries.clone(),
        proof: None,
        page_suffix: Vec::new(),
    };
    let dir = tempfile::tempdir().unwrap();
    let state = |name: &str| dir.path().join(name);

    // The honest copy verifies: the fake itself is sound.
    let url = serve_fake(honest.clone()).await;
    monitor(&url, verifier, &state("honest.json"), None, |_, _| {})
        .await
        .unwrap();

    // A checkpoint signed with the real key over another root: the entries disagree.
    let lie = Checkpoint {
        origin: ORIGIN.into(),
        size,
        root: sha256(b"lie"),
    };
    let url = serve_fake(Fake {
        note: lie.sign(&signer).unwrap(),
        ..honest.clone()
    })
    .await;
    let err = monitor(&url, verifier, &state("lie.json"), None, |_, _| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, MonitorError::Mismatch { entries, .. } if entries == size),
        "{err}"
    );
    assert!(
        err.to_string().contains(&format!(
            "says {size} entries with root {}",
            lie.root.to_base64()
        )),
        "{err}"
    );
    assert!(!state("lie.json").exists());

    // Entries missing behind the checkpoint.
    let url = serve_fake(Fake {
        entries: entries[..entries.len() - 1].to_vec(),
        ..honest.clone()
    })
    .await;
    let err = monitor(&url, verifier, &state("short.json"), None, |_, _| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, MonitorError::MissingEntries { served, .. } if served == size - 1),
        "{err}"
    );

    // One entry re-encoded with a space: not canonical, named by its seq.
    let mut spaced = entries.clone();
    spaced[2] = String::from_utf8(spaced[2].clone())
        .unwrap()
        .replacen(':', ": ", 1)
        .into_bytes();
    let url = serve_fake(Fake {
        entries: spaced,
        ..honest.clone()
    })
    .await;
    let err = monitor(&url, verifier, &state("spaced.json"), None, |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, MonitorError::Entry { seq: 2, .. }), "{err}");

    // Two entries swapped: the chain breaks at the first.
    let mut swapped = entries.clone();
    swapped.swap(3, 4);
    let url = serve_fake(Fake {
        entries: swapped,
        ..honest.clone()
    })
    .await;
    let err = monitor(&url, verifier, &state("swapped.json"), None, |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, MonitorError::Entry { seq: 3, .. }), "{err}");

    // A page with a trailing partial line.
    let url = serve_fake(Fake {
        page_suffix: b"{".to_vec(),
        ..honest.clone()
    })
    .await;
    let err = monitor(&url, verifier, &state("partial.json"), None, |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, MonitorError::Body { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("{url}/v1/entries?from=0")),
        "{err}"
    );

    // Continuing from an earlier genuine checkpoint: a refused proof, a wrong proof and an
    // unreadable proof.
    let old = Checkpoint {
        origin: ORIGIN.into(),
        size: size - 2,
        root: prefix_root(&app, size - 2).await,
    };
    let remembered = StateFile::new(verifier, &old, &old.sign(&signer).unwrap()).to_bytes();
    let wrong_proof = json!({"from": size - 2, "to": size,
                             "hashes": [sha256(b"a").to_base64(), sha256(b"b").to_base64()]});
    for (proof, expected) in [
        (None, "FORK"),
        (Some(wrong_proof.to_string()), "FORK"),
        (Some("{\"from\":1".to_string()), "bad answer"),
        (
            Some(json!({"from": 0, "to": size, "hashes": []}).to_string()),
            "bad answer",
        ),
    ] {
        let url = serve_fake(Fake {
            proof: proof.clone(),
            ..honest.clone()
        })
        .await;
        let path = state("continued.json");
        fs::write(&path, &remembered).unwrap();
        let err = monitor(&url, verifier, &path, None, |_, _| {})
            .await
            .unwrap_err();
        assert!(err.to_string().contains(expected), "{proof:?}: {err}");
        assert!(
            err.to_string().contains("/v1/proofs/consistency?from="),
            "{proof:?}: names the URL: {err}"
        );
        assert_eq!(fs::read(&path).unwrap(), remembered);
    }
    app.finish().await;
}

#[pennytrail_test]
async fn a_live_log_that_breaks_a_published_cap_is_refused() {
    let app = TestApp::start(Backend::Sqlite).await;
    let signer = log_signer(&app);
    let dir = tempfile::tempdir().unwrap();
    // A validly signed log whose last payout passes the day's EUR 0.50 for one person.
    let mut log = crate::bundle::capped_log();
    let lawful = log.entries.len() as u64;
    log.push(
        "disbursement.made",
        crate::bundle::capped_payout("x3", 11, 40, None),
    );
    let checkpoint = Checkpoint {
        origin: ORIGIN.into(),
        size: log.entries.len() as u64,
        root: log.frontier.root(),
    };
    let url = serve_fake(Fake {
        note: checkpoint.sign(&signer).unwrap(),
        entries: log.entries.clone(),
        proof: None,
        page_suffix: Vec::new(),
    })
    .await;
    let state = dir.path().join("capped.json");
    let err = monitor(&url, &app.verifier, &state, None, |_, _| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, MonitorError::Entry { seq, .. } if seq == lawful),
        "{err}"
    );
    let said = err.to_string();
    assert!(
        said.contains("cap-exceeded") && said.contains("max_per_person_per_day"),
        "{said}"
    );
    assert!(!state.exists(), "a refused log is never remembered");
    app.finish().await;
}

#[pennytrail_test]
async fn unreachable_and_unhealthy_instances_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let verifier = NoteSigner::from_seed(ORIGIN, [1; 32])
        .unwrap()
        .verifier()
        .clone();
    // A port nobody listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    let err = monitor(&url, &verifier, &state, None, |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, MonitorError::Http { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("{url}/log/checkpoint: ")),
        "{err}"
    );

    // A server without the log's routes: 404, named with the URL.
    let router = axum::Router::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let url = format!("http://{addr}/");
    let err = monitor(&url, &verifier, &state, None, |_, _| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, MonitorError::Status { status: 404, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains(&format!("http://{addr}/v1/checkpoint answered HTTP 404")),
        "{err}"
    );

    let err = monitor("127.0.0.1:8080", &verifier, &state, None, |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, MonitorError::BadUrl { .. }), "{err}");
    // The state's folder must exist before any network work.
    let err = monitor(
        &url,
        &verifier,
        &dir.path().join("missing/state.json"),
        None,
        |_, _| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, MonitorError::StateWrite { .. }), "{err}");
    assert!(!state.exists());
}

/// Runs the real binary with `args`; returns (success, stdout, stderr).
async fn pennytrail(args: &[&str]) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"))
        .args(args)
        .output()
        .await
        .expect("run pennytrail");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[pennytrail_test]
async fn the_binary_monitors_and_fails_loudly() {
    let app = TestApp::start(Backend::Sqlite).await;
    let token = seed(&app, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let state_arg = state.to_str().unwrap();
    let key = app.verifier.to_text();
    let args = [
        "verify", "--url", &app.base, "--key", &key, "--state", state_arg,
    ];

    let (ok, stdout, stderr) = pennytrail(&args).await;
    assert!(ok, "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.starts_with(&format!("ok: 5 entries of {ORIGIN} verified")),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 charities, 1 campaigns, 2 donations"),
        "{stdout}"
    );
    assert!(stdout.contains("first run"), "{stdout}");
    // stderr is not a terminal here: plain progress lines, no carriage returns.
    assert!(stderr.contains("verify: 5/5 entries (100.0%)"), "{stderr}");
    assert!(!stderr.contains('\r'), "{stderr:?}");
    assert_eq!(read_state_file(&state).size, 5);

    donate(&app, &token, "n", 0..3).await;
    let (ok, stdout, stderr) = pennytrail(&args).await;
    assert!(ok, "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("consistent with the last run: the log grew from 5 entries"),
        "{stdout}"
    );
    assert_eq!(read_state_file(&state).size, 8);

    // A state ahead of the log: a loud failure, a non-zero exit, the state untouched.
    let ahead = forged_state(&log_signer(&app), 20, sha256(b"ahead")).to_bytes();
    fs::write(&state, &ahead).unwrap();
    let (ok, stdout, stderr) = pennytrail(&args).await;
    assert!(!ok, "stdout: {stdout}");
    assert!(stderr.contains("error: FAILED: ROLLBACK"), "{stderr}");
    assert!(!stdout.contains("ok:"), "{stdout}");
    assert_eq!(fs::read(&state).unwrap(), ahead);

    // A corrupt state file is named.
    fs::write(&state, b"{}").unwrap();
    let (ok, _, stderr) = pennytrail(&args).await;
    assert!(!ok);
    assert!(
        stderr.contains(&format!("state file {state_arg} is corrupt")),
        "{stderr}"
    );

    // Exactly one of a bundle or --url; --state only with --url, and required with it.
    let bundle = dir.path().join("bundle");
    let bundle_arg = bundle.to_str().unwrap();
    for (bad, says) in [
        (
            vec!["verify", "--key", &key],
            "required arguments were not provided:\n  <BUNDLE|--url <URL>|--tiles <PREFIX>>",
        ),
        (
            vec![
                "verify", bundle_arg, "--url", &app.base, "--key", &key, "--state", state_arg,
            ],
            "'[BUNDLE]' cannot be used with:\n  --url <URL>",
        ),
        (
            vec!["verify", bundle_arg, "--url", &app.base, "--key", &key],
            "'[BUNDLE]' cannot be used with '--url <URL>'",
        ),
        (
            vec!["verify", "--url", &app.base, "--key", &key],
            "required arguments were not provided:\n  --state <STATE>",
        ),
        (
            vec!["verify", "--state", state_arg, "--key", &key],
            "required arguments were not provided:\n  <BUNDLE|--url <URL>|--tiles <PREFIX>>",
        ),
        (
            vec!["verify", bundle_arg, "--state", state_arg, "--key", &key],
            "'[BUNDLE]' cannot be used with '--state <STATE>'",
        ),
    ] {
        let (ok, _, stderr) = pennytrail(&bad).await;
        assert!(!ok, "{bad:?} must fail");
        assert!(stderr.contains(says), "{bad:?}: {stderr}");
    }
    app.finish().await;
}
