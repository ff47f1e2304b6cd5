//! Fuzzing of every parser that reads bytes from outside, as property-based tests
//! (cargo-fuzz needs a nightly compiler; these are proptest targets run by `cargo test`).
//!
//! What it proves, parser by parser — entries (`entry::parse`, `Record::from_entry`, the
//! replay of a whole log), checkpoint bodies and signed notes, C2SP tlog-proof receipts,
//! Merkle proofs, verifier and private key texts, key/state/secret files, the bundle
//! verifier, API JSON bodies and query parameters, drafts, and every field validator:
//! - arbitrary bytes never panic, and a failure is an error (an API error is a 400 or a
//!   422 naming the field, never a 5xx);
//! - mutations (bit flips, byte edits, insertions of tokens, truncations, line
//!   duplications, deletions and swaps) of valid inputs made by the real code — a real
//!   service's entries, signed checkpoint and receipts, and its bundle exported with the
//!   real exporter — never panic and are either refused or accepted with the same
//!   meaning: an accepted entry is canonical and never verifies against the original's
//!   receipt; a mutated signed checkpoint or receipt never verifies as another statement;
//!   a mutated bundle verifies only as the same signed log (a cosignature is the one
//!   neutral change); a mutated key text is the same key or refused;
//! - field-wise edits of real entries, re-chained so the log stays well-formed, never
//!   panic the replay, and a log that still verifies keeps its totals consistent;
//! - every formatter round-trips: checkpoint bodies and notes, receipts, key texts,
//!   hashes, times, sizes, CSV formula neutralisation, and records to entries and back;
//! - the findings of this fuzzing stay fixed (`regression_*` tests, ordinary inputs).
//!
//! Case counts: `PENNYTRAIL_FUZZ_CASES` (default 1,000) per target, scaled down for the
//! costly targets (see `weight` at each); every target prints the executions it ran
//! (`--nocapture`) and how often it reached the outcomes it counts (entries accepted,
//! logs that verify, …). The choices are deterministic — each target's seed is derived
//! from its name and `PENNYTRAIL_FUZZ_SEED` (default `pennytrail`); the real log is made
//! afresh each run, so its times and tokens differ — and no failure files are written: a
//! failure prints the minimal input, which then becomes a `regression_*` test.

use crate::support::{
    Backend, Bundle, ORIGIN, TestApp, pennytrail_test, read_bundle, rehashed_datapackage,
    write_bundle,
};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use pennytrail::api::error::ApiError;
use pennytrail::api::extract::{ApiQuery, parse_json, parse_u64};
use pennytrail::api::inputs as body;
use pennytrail::drafts::{DRAFT_FORMAT, Draft};
use pennytrail::export::export_store;
use pennytrail::keys::{SignedState, SignedTree, load_or_create_donor_secret, read_signer};
use pennytrail::ledger::attestations::{
    AckStatus, Acknowledgement, KeyRotation, KeyRotationInput, Report, ReportFigures, ReportInput,
    sign, signature_bytes,
};
use pennytrail::ledger::donor::{commitment, normalise_reference};
use pennytrail::ledger::fields::{self, FieldError};
use pennytrail::ledger::money::{Amount, Currency};
use pennytrail::ledger::org::OrgRegistration;
use pennytrail::ledger::records::{
    Beneficiary, BeneficiaryKind, Campaign, Correction, Derived, Disbursement, Donation, Record,
    Statement,
};
use pennytrail::ledger::replay::Replayer;
use pennytrail::log::canonical::{self, MAX_SAFE_INTEGER};
use pennytrail::log::checkpoint::{Checkpoint, is_valid_origin, parse_canonical_u64};
use pennytrail::log::entry::{self, EntryHeader, is_valid_id};
use pennytrail::log::hash::{Hash, leaf_hash, sha256};
use pennytrail::log::merkle::{verify_consistency, verify_inclusion};
use pennytrail::log::note::{NoteSigner, NoteVerifier};
use pennytrail::log::receipt::Receipt;
use pennytrail::log::time::UnixMillis;
use pennytrail_bundle::csv_out::{neutralise, restore};
use pennytrail_bundle::derive::{Deriver, Summary};
use pennytrail_bundle::monitor::{StateFile, read_state};
use pennytrail_bundle::verify::{VerifyReport, verify_bundle};
use pennytrail_bundle::{CHECKPOINT_FILE, DATAPACKAGE_FILE};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Value, json};

const ORG: &str = "helping-hands";

/// The last instant a timestamp can spell (9999-12-31T23:59:59.999Z).
const MILLIS_MAX: i64 = 253_402_300_799_999;

// ---------------------------------------------------------------------------------------
// The runner: case counts, a fixed seed per target, executions printed.
// ---------------------------------------------------------------------------------------

/// Cases per target before weighting: `PENNYTRAIL_FUZZ_CASES`, default 1,000.
fn base_cases() -> u64 {
    std::env::var("PENNYTRAIL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}

/// Runs `test` on `cases(weight)` values of `strategy`; panics (failing the test) with
/// the minimal failing input. Panics inside `test` are failures too: proptest catches
/// them and shrinks the input that caused them.
fn fuzz<S>(
    name: &str,
    weight: f64,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let cases = ((base_cases() as f64 * weight).ceil() as u32).max(1);
    let seed_text = std::env::var("PENNYTRAIL_FUZZ_SEED").unwrap_or_else(|_| "pennytrail".into());
    let seed = sha256(format!("{seed_text}:{name}").as_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed.0));
    let executed = AtomicU64::new(0);
    let started = Instant::now();
    quiet_panics();
    QUIET.set(true);
    let result = runner.run(&strategy, |value| {
        executed.fetch_add(1, Ordering::Relaxed);
        test(value)
    });
    QUIET.set(false);
    let outcomes: Vec<String> = OUTCOMES
        .take()
        .into_iter()
        .map(|(what, n)| format!("{what} {n}"))
        .collect();
    note!(
        "fuzz {name}: {} executions ({cases} cases) in {:.1?}; {}",
        executed.load(Ordering::Relaxed),
        started.elapsed(),
        outcomes.join(", ")
    );
    if let Err(e) = result {
        let place = LAST_PANIC.take().unwrap_or_default();
        panic!("fuzz {name}: {e}{place}");
    }
}

thread_local! {
    /// Set while a fuzz target runs on this thread: its panics are failing cases that
    /// proptest catches and shrinks, so they are not printed one by one.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Where the last caught panic happened, for the failure message.
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
    /// How often each outcome a target counts happened (shows how deep inputs got).
    static OUTCOMES: std::cell::RefCell<BTreeMap<&'static str, u64>> =
        const { std::cell::RefCell::new(BTreeMap::new()) };
}

/// Counts one `what` for the running target's summary line.
fn outcome(what: &'static str) {
    OUTCOMES.with_borrow_mut(|o| *o.entry(what).or_default() += 1);
}

/// Installs (once) a panic hook that records instead of prints while [`QUIET`] is set.
fn quiet_panics() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.get() {
                let place = info.location().map(|l| l.to_string()).unwrap_or_default();
                LAST_PANIC.set(Some(format!(" (the code panicked at {place})")));
            } else {
                default(info);
            }
        }));
    });
}

/// Bytes, shown as an escaped byte string in failure reports.
#[derive(Clone)]
struct Bytes(Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..max).prop_map(Bytes)
}

// ---------------------------------------------------------------------------------------
// Valid inputs made by the real code: a service's log, receipts and exported bundle.
// ---------------------------------------------------------------------------------------

struct Fixture {
    verifier: NoteVerifier,
    /// The log's private key file, as the service wrote it.
    log_key_text: String,
    /// The latest signed checkpoint and what it says.
    note: String,
    checkpoint: Checkpoint,
    /// Every entry's bytes, and its receipt against `note`.
    entries: Vec<Vec<u8>>,
    receipts: Vec<String>,
    /// The bundle `export_store` wrote, and what verifying it reported.
    bundle: Bundle,
    report: VerifyReport,
    /// Verifier key texts of the org's and a beneficiary's keys.
    key_texts: Vec<String>,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(build_fixture())
    })
}

async fn create(app: &TestApp, token: &str, path: &str, body: Value) -> Value {
    app.org_create(token, ORG, path, &body).await
}

/// A log with an entry of every kind, posted over HTTP to a real service (SQLite).
async fn build_fixture() -> Fixture {
    let started = Instant::now();
    let mut app = TestApp::start(Backend::Sqlite).await;
    let org_key = NoteSigner::from_seed(ORG, [1; 32]).unwrap();
    let school_key = NoteSigner::from_seed("school", [2; 32]).unwrap();
    let next_org_key = NoteSigner::from_seed(ORG, [3; 32]).unwrap();
    let registered = app
        .register_org(
            &json!({"id": ORG, "name": "Helping Hands e.V.", "country": "DE",
                              "charity_number": "VR 1234",
                              "public_key": org_key.verifier().to_text()}),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.text());
    let registered = registered.json();
    let token = registered["api_token"].as_str().unwrap().to_string();
    let org_seq = registered["seq"].as_u64().unwrap();
    for (id, kind, key) in [
        (
            "school",
            "organization",
            Some(school_key.verifier().to_text()),
        ),
        ("ops", "overhead", None),
        ("late", "person", None),
    ] {
        let mut body = json!({"id": id, "label": format!("Beneficiary {id}"), "kind": kind,
                              "country": "KE"});
        if let Some(k) = key {
            body["public_key"] = k.into();
        }
        create(&app, &token, "/beneficiaries", body).await;
    }
    create(
        &app,
        &token,
        "/campaigns",
        json!({"id": "meals", "title": "School meals", "purpose": "Lunch for pupils",
               "currency": "EUR", "beneficiaries": ["school", "ops"]}),
    )
    .await;
    create(
        &app,
        &token,
        "/campaigns/meals/beneficiaries",
        json!({"beneficiaries": ["late"]}),
    )
    .await;
    for body in [
        json!({"id": "d1", "campaign": "meals", "amount": 500, "fee": 25, "channel": "card"}),
        json!({"id": "d2", "campaign": "meals", "amount": 300, "fee": 0, "currency": "EUR",
               "channel": "sms", "donor_ref": "Ann@Example.org"}),
        json!({"id": "d3", "campaign": "meals", "amount": 200, "fee": 200, "channel": "card"}),
        json!({"id": "d4", "campaign": "meals", "amount": 1000, "fee": 30,
               "channel": "mobile-money", "donor_commitment": sha256(b"donor").to_hex(),
               "occurred_at": "2026-03-01T12:00:00.000Z"}),
    ] {
        create(&app, &token, "/donations", body).await;
    }
    let x1 = create(
        &app,
        &token,
        "/disbursements",
        json!({"id": "x1", "campaign": "meals", "beneficiary": "school", "amount": 600,
               "purpose": "School meals", "evidence_sha256": sha256(b"invoice").to_hex()}),
    )
    .await;
    for (id, to, amount) in [("x2", "ops", 100), ("x3", "late", 50)] {
        create(
            &app,
            &token,
            "/disbursements",
            json!({"id": id, "campaign": "meals", "beneficiary": to, "amount": amount,
                   "purpose": "Running costs"}),
        )
        .await;
    }
    let x1_seq = x1["seq"].as_u64().unwrap();
    let x1_leaf = Hash::from_hex(x1["leaf_hash"].as_str().unwrap()).unwrap();
    let message = Acknowledgement::message(ORIGIN, x1_seq, &x1_leaf, AckStatus::Received, 600);
    let ack = app
        .post_json(
            &format!("/v1/orgs/{ORG}/disbursements/x1/acknowledgement"),
            None,
            &json!({"status": "received", "amount_received": 600,
                    "signature": sign(&school_key, message.as_bytes())}),
        )
        .await;
    assert_eq!(ack.status, 201, "{}", ack.text());
    create(
        &app,
        &token,
        "/corrections",
        json!({"id": "c1", "corrects": x1_seq, "fields": {"purpose": "=SUM(A1:A9)"}}),
    )
    .await;
    let view = app
        .get_json(&format!("/v1/orgs/{ORG}/report-figures"))
        .await;
    let figures: ReportFigures = serde_json::from_value(
        json!({"campaigns": view["campaigns"], "beneficiary_kinds": view["beneficiary_kinds"]}),
    )
    .unwrap();
    let to = view["to_size"].as_u64().unwrap();
    let document = sha256(b"annual report").to_hex();
    let unsigned = Report::unsigned_body("r1", 0, to, &figures, Some(&document));
    let signature = sign(&org_key, &Report::message(ORIGIN, ORG, &unsigned).unwrap());
    create(
        &app,
        &token,
        "/reports",
        json!({"id": "r1", "from_size": 0, "to_size": to, "campaigns": view["campaigns"],
               "beneficiary_kinds": view["beneficiary_kinds"], "document_sha256": document,
               "signature": signature}),
    )
    .await;
    let new_key = next_org_key.verifier().to_text();
    let message = KeyRotation::message(ORIGIN, ORG, org_seq, &new_key);
    create(
        &app,
        &token,
        "/key",
        json!({"public_key": new_key, "signature": sign(&org_key, message.as_bytes())}),
    )
    .await;

    let size = app.log_size().await;
    let note = app.checkpoint_note().await;
    let mut entries = Vec::new();
    let mut receipts = Vec::new();
    for seq in 0..size {
        let entry = app.get(&format!("/v1/entries/{seq}")).await;
        assert_eq!(entry.status, 200);
        entries.push(entry.body);
        let receipt = app.get(&format!("/v1/entries/{seq}/proof")).await;
        assert_eq!(receipt.status, 200);
        receipts.push(receipt.text());
    }
    let log_key_text = fs::read_to_string(app.data_dir.path().join("log.key")).unwrap();
    app.stop_service().await;
    let store = pennytrail::store::open(&app.store_config()).await.unwrap();
    let out = tempfile::tempdir().unwrap();
    let (dir, _) = export_store(&store, None, Some(out.path().join("bundle")), |_, _| {})
        .await
        .unwrap();
    let bundle = read_bundle(&dir);
    let report = verify_bundle(&dir, &app.verifier, None, |_, _| {}).expect("the bundle verifies");
    let checkpoint = Checkpoint::open(&note, &app.verifier).unwrap();
    assert_eq!((checkpoint.size, report.checkpoint.size), (size, size));
    let fixture = Fixture {
        verifier: app.verifier.clone(),
        log_key_text,
        note,
        checkpoint,
        entries,
        receipts,
        bundle,
        report,
        key_texts: vec![
            org_key.verifier().to_text(),
            school_key.verifier().to_text(),
        ],
    };
    app.finish().await;
    note!(
        "fixture: {size} entries of {} kinds, a {}-file bundle, in {:.1?}",
        fixture
            .entries
            .iter()
            .map(|e| entry::parse(e).unwrap().kind)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        fixture.bundle.len(),
        started.elapsed()
    );
    fixture
}

// ---------------------------------------------------------------------------------------
// Mutations of bytes.
// ---------------------------------------------------------------------------------------

/// Byte strings worth inserting: JSON, note and CSV syntax, escapes, odd UTF-8, limits.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\\",
    b",",
    b":",
    b"{",
    b"}",
    b"[",
    b"]",
    b"0",
    b"-",
    b"1.0",
    b"1e3",
    b"null",
    b"true",
    b"\\u0041",
    b"\\/",
    b"9007199254740992",
    b"-9007199254740991",
    b"18446744073709551616",
    b"\n",
    b"\n\n",
    b"\r\n",
    b" ",
    b"\t",
    b"\x00",
    b"\xe2\x80\x94 ",
    b"\xc3\xa9",
    b"\xff",
    b"+",
    b"=",
    b"'",
    b"AAAA",
    b"==",
    b"index ",
    b"extra AAAA\n",
    b"c2sp.org/tlog-proof@v1\n",
    b"\"\"",
    b",,",
];

#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(Index, u8),
    SetByte(Index, u8),
    Insert(Index, Vec<u8>),
    InsertToken(Index, &'static [u8]),
    Delete(Index, usize),
    Truncate(Index),
    DuplicateLine(Index),
    DeleteLine(Index),
    SwapLines(Index, Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        1 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::SetByte(i, b)),
        1 => (any::<Index>(), vec(any::<u8>(), 1..4)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => (any::<Index>(), select(TOKENS)).prop_map(|(i, t)| Mutation::InsertToken(i, t)),
        1 => (any::<Index>(), 1usize..16).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => any::<Index>().prop_map(Mutation::DuplicateLine),
        1 => any::<Index>().prop_map(Mutation::DeleteLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ]
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    vec(mutation(), 1..4)
}

fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

impl Mutation {
    fn apply(&self, bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        let len = out.len();
        // A position in 0..len (an existing byte) or 0..=len (a place between bytes).
        let at = |i: &Index| i.index(len.max(1)).min(len.saturating_sub(1));
        let gap = |i: &Index| i.index(len + 1);
        let mut lines = lines_of(bytes);
        match self {
            Mutation::FlipBit(i, bit) if len > 0 => out[at(i)] ^= 1 << bit,
            Mutation::SetByte(i, byte) if len > 0 => out[at(i)] = *byte,
            Mutation::Insert(i, new) => {
                out.splice(gap(i)..gap(i), new.iter().copied());
            }
            Mutation::InsertToken(i, token) => {
                out.splice(gap(i)..gap(i), token.iter().copied());
            }
            Mutation::Delete(i, n) => {
                let start = gap(i);
                out.drain(start..(start + n).min(len));
            }
            Mutation::Truncate(i) => out.truncate(gap(i)),
            Mutation::DuplicateLine(i) if !lines.is_empty() => {
                let n = i.index(lines.len());
                lines.insert(n, lines[n].clone());
                out = lines.concat();
            }
            Mutation::DeleteLine(i) if !lines.is_empty() => {
                lines.remove(i.index(lines.len()));
                out = lines.concat();
            }
            Mutation::SwapLines(a, b) if !lines.is_empty() => {
                let (a, b) = (a.index(lines.len()), b.index(lines.len()));
                lines.swap(a, b);
                out = lines.concat();
            }
            _ => {}
        }
        out
    }
}

fn mutate(original: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    mutations
        .iter()
        .fold(original.to_vec(), |bytes, m| m.apply(&bytes))
}

// ---------------------------------------------------------------------------------------
// Generators of text and JSON.
// ---------------------------------------------------------------------------------------

/// Strings a validator or parser should see: field values of every kind, near misses
/// and odd characters.
fn interesting_strings() -> Vec<String> {
    let key = NoteSigner::from_seed("k", [5; 32])
        .unwrap()
        .verifier()
        .to_text();
    let mut upper_id = key.clone();
    upper_id.replace_range(2..10, &key[2..10].to_uppercase());
    let mut out: Vec<String> = [
        "",
        " ",
        "a",
        "0",
        "-1",
        "01",
        "=SUM(A1)",
        "+1",
        "@x",
        "'",
        "''=",
        "\t",
        "\r",
        "\n",
        "a b",
        "é",
        "\u{2014}",
        "\u{0}",
        "EUR",
        "eur",
        "JPY",
        "KWD",
        "XAU",
        "XXX",
        "DE",
        "KE",
        "UK",
        "de",
        "person",
        "organization",
        "supplier",
        "overhead",
        "refunds",
        "received",
        "disputed",
        "card",
        "mobile-money",
        "donation.received",
        "disbursement.made",
        "1970-01-01T00:00:00.000Z",
        "2024-02-29T12:34:56.789Z",
        "2023-02-29T00:00:00.000Z",
        "9999-12-31T23:59:59.999Z",
        "2024-01-01T24:00:00.000Z",
        "9007199254740991",
        "9007199254740992",
        "18446744073709551615",
        "18446744073709551616",
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU",
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=",
    ]
    .map(String::from)
    .to_vec();
    out.extend([
        key.clone(),
        upper_id,
        format!("{key}\n"),
        format!("PRIVATE+KEY+{key}"),
        sha256(b"x").to_hex(),
        sha256(b"x").to_hex().to_uppercase(),
        BASE64.encode([7u8; 64]),
        BASE64.encode([7u8; 63]),
        "a".repeat(64),
        "a".repeat(65),
        "x".repeat(201),
        "é".repeat(200),
        "é".repeat(201),
        "y".repeat(1001),
    ]);
    out
}

/// Text: arbitrary Unicode, printable ASCII, id-like, or an interesting string.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => ".{0,40}",
        1 => "[ -~]{0,40}",
        1 => "[A-Za-z0-9._:-]{1,70}",
        3 => select(interesting_strings()),
    ]
}

/// An integer: anything, or near a limit of the money model.
fn integer() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        -3i64..1100,
        select(vec![
            0,
            -1,
            MAX_SAFE_INTEGER,
            MAX_SAFE_INTEGER + 1,
            -MAX_SAFE_INTEGER,
            i64::MAX,
            i64::MIN
        ]),
    ]
}

/// A JSON value of any type, nested up to three levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        3 => integer().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::from),
        1 => Just(Value::Null),
        4 => text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Field names of every entry kind, and a few that no kind has.
const FIELD_NAMES: &[&str] = &[
    "v",
    "seq",
    "prev",
    "time",
    "kind",
    "org",
    "name",
    "country",
    "charity_number",
    "public_key",
    "beneficiary",
    "label",
    "beneficiary_kind",
    "campaign",
    "title",
    "purpose",
    "currency",
    "beneficiaries",
    "donation",
    "amount",
    "fee",
    "net",
    "received_before",
    "channel",
    "donor_commitment",
    "occurred_at",
    "disbursement",
    "disbursed_before",
    "evidence_sha256",
    "status",
    "amount_received",
    "signature",
    "report",
    "from_size",
    "to_size",
    "campaigns",
    "beneficiary_kinds",
    "document_sha256",
    "correction",
    "corrects",
    "fields",
    "id",
    "donor_ref",
    "extra",
];

const KINDS: &[&str] = &[
    "org.registered",
    "org.key_rotated",
    "org.key_stated",
    "beneficiary.registered",
    "campaign.opened",
    "campaign.beneficiaries_stated",
    "donation.received",
    "disbursement.made",
    "disbursement.acknowledged",
    "report.published",
    "entry.corrected",
    "unknown.kind",
];

fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(FIELD_NAMES).prop_map(String::from),
        1 => "[a-z0-9_]{1,12}",
        1 => "[A-Za-z0-9 ._-]{0,6}",
    ]
}

/// One edit of a JSON object's fields.
#[derive(Debug, Clone)]
enum FieldEdit {
    Remove(Index),
    Set(String, Value),
    /// A field set to what another field holds (a type-correct but wrong value).
    Copy(Index, String),
    /// A field changed within its type, as someone editing a real entry would.
    Tweak(Index, Tweak),
}

#[derive(Debug, Clone)]
enum Tweak {
    /// An integer moved by this much.
    Add(i64),
    /// A string replaced.
    Text(String),
    /// A list with one item dropped, or one repeated.
    DropItem(Index),
    RepeatItem(Index),
    /// A string spelled otherwise: the same text to a lenient reader.
    Respell(Respelling),
}

#[derive(Debug, Clone, Copy)]
enum Respelling {
    Uppercase,
    Lowercase,
    LineEnd,
    CrLf,
    LeadingSpace,
    TrailingSpace,
}

impl Respelling {
    fn apply(self, text: &str) -> String {
        match self {
            Respelling::Uppercase => text.to_uppercase(),
            Respelling::Lowercase => text.to_lowercase(),
            Respelling::LineEnd => format!("{text}\n"),
            Respelling::CrLf => format!("{text}\r\n"),
            Respelling::LeadingSpace => format!(" {text}"),
            Respelling::TrailingSpace => format!("{text} "),
        }
    }
}

fn tweak() -> impl Strategy<Value = Tweak> {
    prop_oneof![
        2 => (-2i64..=2).prop_map(Tweak::Add),
        1 => integer().prop_map(Tweak::Add),
        3 => text().prop_map(Tweak::Text),
        2 => "[A-Za-z][A-Za-z ]{0,19}".prop_map(Tweak::Text),
        1 => any::<Index>().prop_map(Tweak::DropItem),
        1 => any::<Index>().prop_map(Tweak::RepeatItem),
        2 => select(vec![
            Respelling::Uppercase,
            Respelling::Lowercase,
            Respelling::LineEnd,
            Respelling::CrLf,
            Respelling::LeadingSpace,
            Respelling::TrailingSpace,
        ])
        .prop_map(Tweak::Respell),
    ]
}

fn field_edit() -> impl Strategy<Value = FieldEdit> {
    prop_oneof![
        1 => any::<Index>().prop_map(FieldEdit::Remove),
        4 => (field_name(), json_value()).prop_map(|(k, v)| FieldEdit::Set(k, v)),
        1 => (field_name(), select(KINDS)).prop_map(|(k, kind)| FieldEdit::Set(k, kind.into())),
        2 => (any::<Index>(), field_name()).prop_map(|(i, k)| FieldEdit::Copy(i, k)),
        6 => (any::<Index>(), tweak()).prop_map(|(i, t)| FieldEdit::Tweak(i, t)),
    ]
}

impl FieldEdit {
    fn apply(&self, object: &mut Map<String, Value>) {
        let keys: Vec<String> = object.keys().cloned().collect();
        match self {
            FieldEdit::Remove(i) if !keys.is_empty() => {
                object.remove(&keys[i.index(keys.len())]);
            }
            FieldEdit::Set(k, v) => {
                object.insert(k.clone(), v.clone());
            }
            FieldEdit::Copy(i, k) if !keys.is_empty() => {
                let value = object[&keys[i.index(keys.len())]].clone();
                object.insert(k.clone(), value);
            }
            FieldEdit::Tweak(i, tweak) if !keys.is_empty() => {
                let value = object.get_mut(&keys[i.index(keys.len())]).unwrap();
                match (value, tweak) {
                    (Value::Number(n), Tweak::Add(d)) => {
                        if let Some(sum) = n.as_i64().and_then(|n| n.checked_add(*d)) {
                            *n = sum.into();
                        }
                    }
                    (Value::String(s), Tweak::Text(t)) => *s = t.clone(),
                    (Value::String(s), Tweak::Respell(r)) => *s = r.apply(s),
                    (Value::Array(items), Tweak::DropItem(i)) if !items.is_empty() => {
                        items.remove(i.index(items.len()));
                    }
                    (Value::Array(items), Tweak::RepeatItem(i)) if !items.is_empty() => {
                        let item = items[i.index(items.len())].clone();
                        items.push(item);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------
// Shared checks.
// ---------------------------------------------------------------------------------------

/// Every entry through a fresh deriver (chain, tree, rules, derived rows), as the bundle
/// verifier and the monitor run it. Err at the first refused entry.
fn derive(entries: &[Vec<u8>]) -> Result<Summary, String> {
    let mut deriver = Deriver::new(ORIGIN, |_| Ok(std::io::sink())).map_err(|e| e.to_string())?;
    for bytes in entries {
        deriver.push(bytes).map_err(|e| e.to_string())?;
    }
    deriver.finish().map(|(_, s)| s).map_err(|e| e.to_string())
}

/// What every log that verifies must show: per currency, net = received − fees, no more
/// disbursed than net, and the per-kind amounts adding up to what was disbursed.
fn check_totals(summary: &Summary) -> Result<(), TestCaseError> {
    for (currency, t) in &summary.by_currency {
        prop_assert_eq!(t.net, t.received - t.fees, "{}", currency);
        prop_assert!(t.disbursed <= t.net, "{currency}: {t:?}");
        prop_assert_eq!(
            t.by_kind.values().sum::<i128>(),
            t.disbursed,
            "{}",
            currency
        );
    }
    Ok(())
}

/// An entry read back as a record must re-encode to exactly its bytes: one record, one
/// entry. Returns the record when the entry is a valid one.
fn record_round_trip(bytes: &[u8]) -> Result<Option<Record>, TestCaseError> {
    let Ok(e) = entry::parse(bytes) else {
        return Ok(None);
    };
    let Ok((record, derived)) = Record::from_entry(&e) else {
        return Ok(None);
    };
    let header = EntryHeader {
        seq: e.seq,
        prev: e.prev,
        time: e.time,
    };
    let again = entry::seal(
        &header,
        record.kind(),
        e.org.as_deref(),
        &record.entry_body(&derived),
    );
    let again = again.map(|b| String::from_utf8_lossy(&b).into_owned());
    prop_assert_eq!(
        again.map_err(|e| e.to_string()),
        Ok(String::from_utf8_lossy(bytes).into_owned()),
        "a valid entry re-encodes to other bytes"
    );
    outcome("valid records");
    Ok(Some(record))
}

/// A 400 or a 422 naming the field; never a server error. A body at fault as a whole
/// (broken JSON, or valid JSON but not an object) is a 400 without a field; a field may
/// be named `""` (a member with an empty name is then the one at fault).
fn check_api_error(e: &ApiError) -> Result<(), TestCaseError> {
    prop_assert!(
        e.status == 400 || e.status == 422,
        "status {} for a bad request: {}",
        e.status,
        e.detail
    );
    if e.status == 422 {
        prop_assert!(e.field.is_some(), "a 422 without a field: {}", e.detail);
    }
    Ok(())
}

fn write_private_file(path: &Path, bytes: &[u8]) {
    let _ = fs::remove_file(path);
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .unwrap();
}

// ---------------------------------------------------------------------------------------
// Entries.
// ---------------------------------------------------------------------------------------

/// JSON-shaped bytes: pieces of entries strung together in any order.
fn json_like_bytes() -> impl Strategy<Value = Bytes> {
    const PIECES: &[&str] = &[
        "{",
        "}",
        ",",
        ":",
        "[",
        "]",
        "\"",
        "\"v\":1",
        "\"seq\":0",
        "\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\"",
        "\"time\":\"2026-01-01T00:00:00.000Z\"",
        "\"kind\":\"org.registered\"",
        "\"kind\":\"donation.received\"",
        "\"org\":\"o\"",
        "\"name\":\"A\"",
        "\"country\":\"DE\"",
        "\"amount\":5",
        "\"a\"",
        "1",
        "-0",
        "1.5",
        "null",
        "\\u0000",
        "\"\\ud800\"",
    ];
    vec(select(PIECES), 0..24).prop_map(|p| Bytes(p.concat().into_bytes()))
}

#[pennytrail_test]
fn fuzz_entries_from_arbitrary_bytes() {
    fuzz(
        "entries_from_arbitrary_bytes",
        1.0,
        prop_oneof![bytes(200), json_like_bytes()],
        |Bytes(bytes)| {
            if let Ok(e) = entry::parse(&bytes) {
                outcome("entries");
                // Accepted bytes are the one canonical encoding of what they say.
                prop_assert_eq!(canonical::encode(&e.fields).unwrap(), bytes.clone());
                record_round_trip(&bytes)?;
                let _ = Replayer::new(ORIGIN).replay(&e, leaf_hash(&bytes));
            }
            Ok(())
        },
    );
}

/// Entries generated field by field (any names, any JSON values, the common fields
/// mostly right), so that most pass the canonical check and reach the record readers.
#[pennytrail_test]
fn fuzz_entries_from_arbitrary_fields() {
    let strategy = (
        select(KINDS),
        vec(field_edit(), 0..8),
        prop::option::of("[A-Za-z0-9._:-]{1,8}"),
    );
    fuzz(
        "entries_from_arbitrary_fields",
        1.0,
        strategy,
        |(kind, edits, org)| {
            let mut object = Map::new();
            object.insert("v".into(), 1.into());
            object.insert("seq".into(), 0.into());
            object.insert("prev".into(), Hash::ZERO.to_hex().into());
            object.insert("time".into(), "2026-01-01T00:00:00.000Z".into());
            object.insert("kind".into(), kind.into());
            if let Some(org) = org {
                object.insert("org".into(), org.into());
            }
            for edit in &edits {
                edit.apply(&mut object);
            }
            let Ok(bytes) = canonical::encode(&object) else {
                return Ok(());
            };
            if let Ok(e) = entry::parse(&bytes) {
                outcome("entries");
                record_round_trip(&bytes)?;
                let mut replayer = Replayer::new(ORIGIN);
                if replayer.replay(&e, leaf_hash(&bytes)).is_ok() {
                    outcome("replayed");
                }
            }
            let _ = derive(&[bytes]);
            Ok(())
        },
    );
}

#[pennytrail_test]
fn every_real_entry_round_trips_through_its_record() {
    let f = fixture();
    for bytes in &f.entries {
        let record = record_round_trip(bytes).unwrap();
        assert!(record.is_some(), "{}", String::from_utf8_lossy(bytes));
    }
    let summary = derive(&f.entries).unwrap();
    assert_eq!(
        (summary.entries, summary.root),
        (f.checkpoint.size, f.checkpoint.root)
    );
}

/// Re-links the real entries from `from` on after an edit before them (each `prev` the
/// leaf hash of the entry before) and re-signs acknowledgements of disbursements whose
/// leaf hash changed with the beneficiary's key (the test holds it), so that the chain
/// and the signatures hold and the edit alone decides whether the log verifies.
fn relink(log: &mut [Vec<u8>], from: usize) {
    let school = NoteSigner::from_seed("school", [2; 32]).unwrap();
    for j in from.max(1)..log.len() {
        let mut fields = entry::parse(&log[j]).unwrap().fields;
        fields.insert("prev".into(), leaf_hash(&log[j - 1]).to_hex().into());
        if fields["kind"] == "disbursement.acknowledged" {
            let paid = log[..j].iter().enumerate().find(|(_, bytes)| {
                entry::parse(bytes).is_ok_and(|e| {
                    e.kind == "disbursement.made"
                        && e.fields.get("disbursement") == fields.get("disbursement")
                })
            });
            if let Some((seq, bytes)) = paid {
                let status = AckStatus::parse("status", fields["status"].as_str().unwrap());
                let message = Acknowledgement::message(
                    ORIGIN,
                    seq as u64,
                    &leaf_hash(bytes),
                    status.unwrap(),
                    fields["amount_received"].as_i64().unwrap(),
                );
                fields.insert("signature".into(), sign(&school, message.as_bytes()).into());
            }
        }
        log[j] = canonical::encode(&fields).unwrap();
    }
}

#[pennytrail_test]
fn every_real_entry_relinked_after_itself_is_the_same_log() {
    let f = fixture();
    let mut log = f.entries.clone();
    relink(&mut log, 0);
    assert_eq!(log, f.entries, "relinking an unchanged log changes nothing");
}

#[pennytrail_test]
fn fuzz_real_entries_mutated() {
    let f = fixture();
    fuzz(
        "real_entries_mutated",
        0.5,
        (any::<Index>(), mutations()),
        |(which, muts)| {
            let i = which.index(f.entries.len());
            let original = &f.entries[i];
            let mutated = mutate(original, &muts);
            if mutated == *original {
                return Ok(());
            }
            if let Ok(e) = entry::parse(&mutated) {
                outcome("entries");
                prop_assert_eq!(canonical::encode(&e.fields).unwrap(), mutated.clone());
                prop_assert_ne!(&e.fields, &entry::parse(original).unwrap().fields);
                record_round_trip(&mutated)?;
            }
            // Soundness: the mutated entry never verifies as entry i of the signed log.
            let receipt = Receipt::parse(&f.receipts[i]).unwrap();
            prop_assert!(receipt.verify(&mutated, &f.verifier).is_err());
            // The whole log with the mutated entry: refused, or a log of another root.
            let mut log = f.entries.clone();
            log[i] = mutated;
            relink(&mut log, i + 1);
            if let Ok(summary) = derive(&log) {
                outcome("logs that verify");
                prop_assert_ne!(summary.root, f.checkpoint.root);
                check_totals(&summary)?;
            }
            Ok(())
        },
    );
}

/// Field-wise edits of one real entry, the entries after it re-linked.
#[pennytrail_test]
fn fuzz_real_entries_edited_field_by_field() {
    let f = fixture();
    fuzz(
        "real_entries_edited_field_by_field",
        0.5,
        (any::<Index>(), vec(field_edit(), 1..4)),
        |(which, edits)| {
            let i = which.index(f.entries.len());
            let mut object = entry::parse(&f.entries[i]).unwrap().fields;
            for edit in &edits {
                edit.apply(&mut object);
            }
            let Ok(edited) = canonical::encode(&object) else {
                return Ok(());
            };
            if edited == f.entries[i] {
                return Ok(());
            }
            record_round_trip(&edited)?;
            let mut log = f.entries.clone();
            log[i] = edited;
            relink(&mut log, i + 1);
            if let Ok(summary) = derive(&log) {
                outcome("logs that verify");
                prop_assert_ne!(summary.root, f.checkpoint.root);
                check_totals(&summary)?;
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------
// Checkpoints and signed notes.
// ---------------------------------------------------------------------------------------

fn note_like_text() -> impl Strategy<Value = String> {
    const PIECES: &[&str] = &[
        "\n",
        "\n\n",
        "\u{2014} ",
        "example.org/log",
        "test.pennytrail.example/log",
        " ",
        "0",
        "12",
        "01",
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
        "AAAA",
        "+",
        "\r",
        "é",
    ];
    vec(select(PIECES), 0..16).prop_map(|p| p.concat())
}

#[pennytrail_test]
fn fuzz_checkpoints_from_arbitrary_text() {
    let f = fixture();
    fuzz(
        "checkpoints_from_arbitrary_text",
        1.0,
        prop_oneof![".{0,200}", note_like_text()],
        |text| {
            if let Ok(cp) = Checkpoint::parse_body(&text) {
                outcome("bodies");
                prop_assert_eq!(cp.body(), text.clone(), "one body, one spelling");
            }
            prop_assert!(f.verifier.open(&text).is_err(), "a forged signature");
            prop_assert!(Checkpoint::open(&text, &f.verifier).is_err());
            Ok(())
        },
    );
}

#[pennytrail_test]
fn fuzz_checkpoint_round_trips() {
    let strategy = (
        "[A-Za-z0-9._/:-]{1,128}",
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
    );
    fuzz(
        "checkpoint_round_trips",
        1.0,
        strategy,
        |(origin, size, root, seed)| {
            let cp = Checkpoint {
                origin: origin.clone(),
                size,
                root: Hash(root),
            };
            prop_assert_eq!(Checkpoint::parse_body(&cp.body()), Ok(cp.clone()));
            let signer = NoteSigner::from_seed(&origin, seed).unwrap();
            let note = cp.sign(&signer).unwrap();
            prop_assert_eq!(Checkpoint::open(&note, signer.verifier()), Ok(cp));
            Ok(())
        },
    );
}

/// A cosignature line by another key over the same note text: the one change to a
/// signed checkpoint that keeps its meaning (C2SP signed notes allow cosigners).
fn cosigned(note: &str, seed: u8) -> String {
    let split = note.rfind("\n\n").unwrap();
    let cosigner = NoteSigner::from_seed("witness.example/w1", [seed; 32]).unwrap();
    let extra = cosigner.sign_note(&note[..split + 1]).unwrap();
    format!("{note}{}", &extra[split + 2..])
}

#[pennytrail_test]
fn fuzz_signed_checkpoint_mutated() {
    let f = fixture();
    fuzz(
        "signed_checkpoint_mutated",
        1.0,
        (any::<bool>(), mutations()),
        |(cosign, muts)| {
            let original = if cosign {
                cosigned(&f.note, 9)
            } else {
                f.note.clone()
            };
            let mutated = mutate(original.as_bytes(), &muts);
            let Ok(text) = String::from_utf8(mutated) else {
                return Ok(());
            };
            // Soundness: whatever verifies says exactly what the log signed.
            if let Ok(cp) = Checkpoint::open(&text, &f.verifier) {
                outcome("verified");
                prop_assert_eq!(&cp, &f.checkpoint);
            }
            if let Ok(body) = f.verifier.open(&text) {
                prop_assert_eq!(body, f.checkpoint.body());
            }
            Ok(())
        },
    );
    // The neutral change alone is accepted with the same meaning.
    assert_eq!(
        Checkpoint::open(&cosigned(&f.note, 9), &f.verifier).as_ref(),
        Ok(&f.checkpoint)
    );
}

// ---------------------------------------------------------------------------------------
// Receipts and Merkle proofs.
// ---------------------------------------------------------------------------------------

#[pennytrail_test]
fn fuzz_receipts_from_arbitrary_text() {
    let f = fixture();
    let receipt_like = vec(
        select(vec![
            "c2sp.org/tlog-proof@v1\n".to_string(),
            "index 0\n".into(),
            "index 3\n".into(),
            "index 03\n".into(),
            "extra AAAA\n".into(),
            format!("{}\n", Hash::ZERO.to_base64()),
            "AAAA\n".into(),
            "\n".into(),
            "\r\n".into(),
            f.note.clone(),
        ]),
        0..8,
    )
    .prop_map(|p| p.concat());
    fuzz(
        "receipts_from_arbitrary_text",
        1.0,
        prop_oneof![".{0,200}", receipt_like],
        |text| {
            if let Ok(r) = Receipt::parse(&text) {
                outcome("receipts");
                prop_assert_eq!(Receipt::parse(&r.format()), Ok(r.clone()));
                if let Ok(cp) = r.verify(&f.entries[0], &f.verifier) {
                    prop_assert_eq!(&cp, &f.checkpoint);
                    prop_assert_eq!(r.index, 0);
                }
            }
            Ok(())
        },
    );
}

#[pennytrail_test]
fn fuzz_receipt_round_trips() {
    let strategy = (
        any::<u64>(),
        vec(any::<[u8; 32]>(), 0..=64),
        prop_oneof![".{0,100}", Just(fixture().note.clone())],
    );
    fuzz(
        "receipt_round_trips",
        1.0,
        strategy,
        |(index, proof, checkpoint_note)| {
            let receipt = Receipt {
                index,
                proof: proof.into_iter().map(Hash).collect(),
                checkpoint_note,
            };
            prop_assert_eq!(Receipt::parse(&receipt.format()), Ok(receipt));
            Ok(())
        },
    );
}

#[pennytrail_test]
fn fuzz_real_receipts_mutated() {
    let f = fixture();
    fuzz(
        "real_receipts_mutated",
        1.0,
        (any::<Index>(), mutations()),
        |(which, muts)| {
            let i = which.index(f.entries.len());
            let mutated = mutate(f.receipts[i].as_bytes(), &muts);
            let Ok(text) = String::from_utf8(mutated) else {
                return Ok(());
            };
            let Ok(receipt) = Receipt::parse(&text) else {
                return Ok(());
            };
            outcome("receipts");
            // Soundness: it proves entry i of the signed checkpoint, or nothing.
            if let Ok(cp) = receipt.verify(&f.entries[i], &f.verifier) {
                outcome("verified");
                prop_assert_eq!(&cp, &f.checkpoint);
                prop_assert_eq!(receipt.index, i as u64);
            }
            let other = (i + 1) % f.entries.len();
            prop_assert!(receipt.verify(&f.entries[other], &f.verifier).is_err());
            Ok(())
        },
    );
}

/// Sizes anywhere in u64, the top half included: a checkpoint the pinned key signed is
/// still outside input (the verifier does not trust the operator).
fn tree_size() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..40,
        any::<u64>(),
        (1u64 << 63)..=u64::MAX,
        (u64::MAX - 40)..=u64::MAX,
    ]
}

#[pennytrail_test]
fn fuzz_proofs_under_checkpoints_of_any_size() {
    let signer = NoteSigner::from_seed("example.org/log", [4; 32]).unwrap();
    let strategy = (
        tree_size(),
        tree_size(),
        vec(any::<[u8; 32]>(), 0..=66),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
    );
    fuzz(
        "proofs_under_checkpoints_of_any_size",
        1.0,
        strategy,
        |(size, index, proof, root, entry)| {
            let proof: Vec<Hash> = proof.into_iter().map(Hash).collect();
            let (root, leaf) = (Hash(root), Hash(entry));
            let _ = verify_inclusion(&proof, size, &root, index, &leaf);
            let _ = verify_consistency(&proof, index, &leaf, size, &root);
            let _ = verify_consistency(&proof, size, &root, index, &leaf);
            // The same through a receipt whose checkpoint the pinned key did sign.
            let cp = Checkpoint {
                origin: "example.org/log".into(),
                size,
                root,
            };
            let receipt = Receipt {
                index,
                proof: proof.into_iter().take(64).collect(),
                checkpoint_note: cp.sign(&signer).unwrap(),
            };
            let receipt = Receipt::parse(&receipt.format()).unwrap();
            let _ = receipt.verify(&entry, signer.verifier());
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------
// Keys and key files.
// ---------------------------------------------------------------------------------------

/// A verifier key text in its one canonical spelling: trailing line ends dropped, the
/// key id in lowercase hex (the parser also accepts uppercase, as Go's does).
fn canonical_key_text(text: &str) -> String {
    let text = text.trim_end_matches(['\n', '\r']);
    let mut parts: Vec<String> = text.splitn(3, '+').map(str::to_string).collect();
    if parts.len() == 3 {
        parts[1] = parts[1].to_lowercase();
    }
    parts.join("+")
}

#[pennytrail_test]
fn fuzz_key_texts_from_arbitrary_text() {
    let f = fixture();
    let key_like = vec(
        select(vec![
            "+".to_string(),
            "PRIVATE+KEY+".into(),
            "name".into(),
            "é".into(),
            " ".into(),
            "0123abcd".into(),
            "AQ==".into(),
            "\n".into(),
            f.key_texts[0].clone(),
            f.log_key_text.clone(),
        ]),
        0..6,
    )
    .prop_map(|p| p.concat());
    fuzz(
        "key_texts_from_arbitrary_text",
        1.0,
        prop_oneof![".{0,120}", key_like],
        |text| {
            if let Ok(v) = NoteVerifier::from_text(&text) {
                outcome("verifier keys");
                prop_assert_eq!(NoteVerifier::from_text(&v.to_text()), Ok(v.clone()));
                prop_assert_eq!(v.to_text(), canonical_key_text(&text));
            }
            match fields::verifier_key("public_key", &text) {
                Ok(k) => prop_assert_eq!(k, canonical_key_text(&text)),
                Err(e) => prop_assert_eq!(e.field, "public_key"),
            }
            if let Ok(s) = NoteSigner::from_text(&text) {
                outcome("private keys");
                let again = NoteSigner::from_text(&s.to_text()).unwrap();
                prop_assert_eq!(again.verifier(), s.verifier());
            }
            Ok(())
        },
    );
}

#[pennytrail_test]
fn fuzz_key_round_trips() {
    fuzz(
        "key_round_trips",
        1.0,
        ("[^+\\s]{1,70}", any::<[u8; 32]>()),
        |(name, seed)| {
            let signer = NoteSigner::from_seed(&name, seed).unwrap();
            let again = NoteSigner::from_text(&signer.to_text()).unwrap();
            prop_assert_eq!(again.verifier(), signer.verifier());
            let text = signer.verifier().to_text();
            prop_assert_eq!(&NoteVerifier::from_text(&text).unwrap(), signer.verifier());
            // The key as an org's new key: its rotation's idempotency id is an id.
            let rotation = KeyRotation::parse(KeyRotationInput {
                public_key: text,
                signature: BASE64.encode([1u8; 64]),
            })
            .unwrap();
            let key = Record::KeyRotation(rotation).key(ORG);
            prop_assert!(key.id.len() <= 64, "{:?}", key.id);
            Ok(())
        },
    );
}

#[pennytrail_test]
fn fuzz_key_texts_mutated() {
    let f = fixture();
    let mut originals: Vec<String> = f.key_texts.clone();
    originals.push(f.verifier.to_text());
    let private = NoteSigner::from_text(&f.log_key_text).unwrap();
    fuzz(
        "key_texts_mutated",
        1.0,
        (any::<Index>(), any::<bool>(), mutations()),
        |(which, private_key, muts)| {
            if private_key {
                let mutated = mutate(f.log_key_text.as_bytes(), &muts);
                if let Ok(s) = NoteSigner::from_text(&String::from_utf8_lossy(&mutated)) {
                    outcome("private keys");
                    prop_assert_eq!(s.verifier(), private.verifier(), "another key");
                }
                return Ok(());
            }
            let original = &originals[which.index(originals.len())];
            let mutated = mutate(original.as_bytes(), &muts);
            if let Ok(v) = NoteVerifier::from_text(&String::from_utf8_lossy(&mutated)) {
                outcome("verifier keys");
                prop_assert_eq!(&v, &NoteVerifier::from_text(original).unwrap());
            }
            Ok(())
        },
    );
}

#[pennytrail_test]
fn fuzz_key_and_state_files() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("file");
    let state = StateFile::new(&f.verifier, &f.checkpoint, &f.note).to_bytes();
    let signed_state = format!(
        "pennytrail-signed-state v1\n{ORIGIN}\n{}\n{}\n",
        f.checkpoint.size,
        f.checkpoint.root.to_base64()
    );
    // The slotted version-2 file, as the service writes it now.
    let recorded = SignedState::beside(&dir.path().join("recorded"));
    recorded
        .record(
            ORIGIN,
            SignedTree {
                size: f.checkpoint.size,
                root: f.checkpoint.root,
            },
        )
        .unwrap();
    let signed_state_v2 = fs::read(recorded.path()).unwrap();
    let state_too = state.clone();
    let originals = [
        f.log_key_text.clone().into_bytes(),
        state.clone(),
        signed_state.into_bytes(),
        format!("{}\n", sha256(b"secret").to_hex()).into_bytes(),
        signed_state_v2,
    ];
    fuzz(
        "key_and_state_files",
        0.5,
        prop_oneof![
            bytes(200).prop_map(|b| (None, b)),
            (any::<Index>(), vec(mutation(), 0..4)).prop_map(move |(i, m)| {
                let i = i.index(originals.len());
                (Some(i), Bytes(mutate(&originals[i], &m)))
            }),
            vec(field_edit(), 1..3).prop_map(move |edits| {
                let mut object: Map<String, Value> = serde_json::from_slice(&state_too).unwrap();
                for edit in &edits {
                    edit.apply(&mut object);
                }
                (Some(1), Bytes(serde_json::to_vec_pretty(&object).unwrap()))
            }),
        ],
        |(from, Bytes(bytes))| {
            write_private_file(&path, &bytes);
            if let Ok(signer) = read_signer(&path) {
                outcome("key files");
                prop_assert_eq!(signer.verifier(), &f.verifier);
            }
            let _ = SignedState::beside(&dir.path().join("nothing")).read(ORIGIN);
            fs::copy(&path, dir.path().join("key.signed")).unwrap();
            let _ = SignedState::beside(&dir.path().join("key")).read(ORIGIN);
            let _ = load_or_create_donor_secret(&path, false);
            match read_state(&path, &f.verifier) {
                Ok(Some((read, cp))) => {
                    outcome("state files");
                    // Whatever is read back is what the pinned key signed, stated alike.
                    prop_assert_eq!(&cp, &f.checkpoint);
                    prop_assert_eq!(read.size, cp.size);
                    prop_assert_eq!(read.root, cp.root.to_base64());
                    prop_assert_eq!(read.verifier_key, f.verifier.to_text());
                    prop_assert!(from == Some(1) || bytes == state);
                }
                Ok(None) => prop_assert!(false, "the state file exists"),
                Err(_) => {}
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------
// The bundle verifier.
// ---------------------------------------------------------------------------------------

#[pennytrail_test]
fn fuzz_bundle_mutated() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    write_bundle(dir.path(), &f.bundle);
    let names: Vec<String> = f.bundle.keys().cloned().collect();
    fuzz(
        "bundle_mutated",
        0.1,
        (any::<Index>(), any::<bool>(), any::<bool>(), mutations()),
        |(which, forger, cosign, muts)| {
            let name = &names[which.index(names.len())];
            let mut forged = f.bundle.clone();
            let original = if cosign && name == CHECKPOINT_FILE {
                cosigned(&f.note, 7).into_bytes()
            } else {
                f.bundle[name].clone()
            };
            let mutated = mutate(&original, &muts);
            forged.insert(name.clone(), mutated.clone());
            fs::write(dir.path().join(name), &mutated).unwrap();
            if forger && name != DATAPACKAGE_FILE {
                fs::write(
                    dir.path().join(DATAPACKAGE_FILE),
                    rehashed_datapackage(&forged),
                )
                .unwrap();
            }
            let result = verify_bundle(dir.path(), &f.verifier, None, |_, _| {});
            fs::write(dir.path().join(name), &f.bundle[name]).unwrap();
            fs::write(
                dir.path().join(DATAPACKAGE_FILE),
                &f.bundle[DATAPACKAGE_FILE],
            )
            .unwrap();
            if let Ok(report) = result {
                outcome("bundles that verify");
                // Only a checkpoint with more signatures is the same bundle.
                prop_assert!(
                    mutated == f.bundle[name] || name == CHECKPOINT_FILE,
                    "{name} changed and the bundle still verifies"
                );
                prop_assert_eq!(&report.checkpoint, &f.report.checkpoint);
                prop_assert_eq!(report.summary.root, f.report.summary.root);
                prop_assert_eq!(&report.summary.by_currency, &f.report.summary.by_currency);
            }
            Ok(())
        },
    );
    // The one neutral change, alone: a cosigned checkpoint (its hash updated in
    // datapackage.json) verifies as the same log.
    let mut bundle = f.bundle.clone();
    bundle.insert(CHECKPOINT_FILE.into(), cosigned(&f.note, 7).into_bytes());
    let package = rehashed_datapackage(&bundle);
    bundle.insert(DATAPACKAGE_FILE.into(), package);
    write_bundle(dir.path(), &bundle);
    let report = verify_bundle(dir.path(), &f.verifier, None, |_, _| {}).expect("cosigned");
    assert_eq!(report.checkpoint, f.report.checkpoint);
}

// ---------------------------------------------------------------------------------------
// API bodies, query parameters and drafts.
// ---------------------------------------------------------------------------------------

/// Each request body type, with a valid example.
fn valid_bodies() -> Vec<(&'static str, Value)> {
    let key = NoteSigner::from_seed("school", [2; 32]).unwrap();
    let signature = BASE64.encode([3u8; 64]);
    vec![
        (
            "org",
            json!({"id": ORG, "name": "Helping Hands", "country": "DE",
                   "charity_number": "VR 1", "public_key": key.verifier().to_text()}),
        ),
        (
            "beneficiary",
            json!({"id": "school", "label": "A school", "kind": "organization",
                   "country": "KE", "public_key": key.verifier().to_text()}),
        ),
        (
            "campaign",
            json!({"id": "meals", "title": "Meals", "purpose": "Lunch", "currency": "EUR",
                   "beneficiaries": ["school", "ops"]}),
        ),
        ("statement", json!({"beneficiaries": ["late"]})),
        (
            "donation",
            json!({"id": "d1", "campaign": "meals", "amount": 500, "fee": 25,
                   "currency": "EUR", "channel": "card", "donor_ref": "ann@example.org",
                   "occurred_at": "2026-03-01T12:00:00.000Z"}),
        ),
        (
            "disbursement",
            json!({"id": "x1", "campaign": "meals", "beneficiary": "school", "amount": 600,
                   "purpose": "Meals", "evidence_sha256": sha256(b"invoice").to_hex()}),
        ),
        (
            "correction",
            json!({"id": "c1", "corrects": 9, "fields": {"purpose": "Meals", "label": "B"}}),
        ),
        (
            "acknowledgement",
            json!({"status": "disputed", "amount_received": 250, "signature": signature}),
        ),
        (
            "report",
            json!({"id": "r1", "from_size": 0, "to_size": 17,
                   "campaigns": [{"campaign": "meals", "currency": "EUR", "received": 2000,
                                  "fees": 255, "net": 1745, "disbursed": 750, "held": 995}],
                   "beneficiary_kinds": [{"currency": "EUR", "beneficiary_kind": "person",
                                          "disbursed": 50}],
                   "document_sha256": sha256(b"doc").to_hex(), "signature": signature}),
        ),
        (
            "key",
            json!({"public_key": key.verifier().to_text(), "signature": signature}),
        ),
    ]
}

fn invalid(e: FieldError) -> ApiError {
    ApiError::invalid_field(e)
}

/// Parses a body as the handler of `kind` does: JSON into its input type, then the
/// record's own validation.
fn parse_body(kind: &str, bytes: &[u8]) -> Result<Record, ApiError> {
    let secret = [7u8; 32];
    Ok(match kind {
        "org" => Record::Org(
            OrgRegistration::parse(parse_json::<body::OrgRegistrationInput>(bytes)?.into())
                .map_err(invalid)?,
        ),
        "beneficiary" => Record::Beneficiary(
            Beneficiary::parse(parse_json::<body::BeneficiaryInput>(bytes)?.into())
                .map_err(invalid)?,
        ),
        "campaign" => Record::Campaign(
            Campaign::parse(parse_json::<body::CampaignInput>(bytes)?.into()).map_err(invalid)?,
        ),
        "statement" => Record::Statement(
            Statement::parse("meals", parse_json::<body::StatementInput>(bytes)?.into())
                .map_err(invalid)?,
        ),
        "donation" => Record::Donation(
            Donation::parse(parse_json::<body::DonationInput>(bytes)?.into(), |r| {
                commitment(&secret, ORG, r).to_hex()
            })
            .map_err(invalid)?,
        ),
        "disbursement" => Record::Disbursement(
            Disbursement::parse(parse_json::<body::DisbursementInput>(bytes)?.into())
                .map_err(invalid)?,
        ),
        "correction" => Record::Correction(
            Correction::parse(parse_json::<body::CorrectionInput>(bytes)?.into())
                .map_err(invalid)?,
        ),
        "acknowledgement" => Record::Acknowledgement(
            Acknowledgement::parse(
                "x1",
                "school",
                parse_json::<body::AcknowledgementInput>(bytes)?.into(),
            )
            .map_err(invalid)?,
        ),
        "report" => Record::Report(
            Report::parse(parse_json::<body::ReportInput>(bytes)?.into()).map_err(invalid)?,
        ),
        "key" => Record::KeyRotation(
            KeyRotation::parse(parse_json::<body::KeyRotationInput>(bytes)?.into())
                .map_err(invalid)?,
        ),
        other => unreachable!("no body kind {other}"),
    })
}

/// The fields the log derives, as the rules would for a record in an EUR campaign.
fn derived_for(record: &Record) -> Derived {
    let eur = Currency::parse("currency", "EUR").unwrap();
    match record {
        Record::Donation(d) => Derived::Donation {
            currency: d.currency.unwrap_or(eur),
            net: d.net().unwrap(),
            received_before: Amount::ZERO,
        },
        Record::Disbursement(_) => Derived::Disbursement {
            currency: eur,
            disbursed_before: Amount::ZERO,
        },
        _ => Derived::Nothing,
    }
}

/// A report as large as `Report::parse` lets one be: many campaign lines, long ids,
/// figures at the 2^53 − 1 limit.
fn large_report() -> impl Strategy<Value = Value> {
    let amount = prop_oneof![Just(MAX_SAFE_INTEGER), 0i64..1000];
    let campaign = (
        any::<u64>().prop_map(|n| format!("c{n:063}")),
        vec(amount.clone(), 5),
        select(vec!["EUR", "KWD", "JPY"]),
    )
        .prop_map(|(id, a, currency)| {
            json!({"campaign": id, "currency": currency, "received": a[0], "fees": a[1],
               "net": a[2], "disbursed": a[3], "held": a[4]})
        });
    let kind = (
        select(vec!["organization", "supplier", "overhead"]),
        amount,
        select(vec!["EUR", "USD", "GBP", "KES", "JPY"]),
    )
        .prop_map(|(kind, disbursed, currency)| {
            json!({"currency": currency, "beneficiary_kind": kind, "disbursed": disbursed})
        });
    (
        vec(campaign, 40..=50),
        vec(kind, 0..=50),
        any::<u64>().prop_map(|n| format!("r{n:063}")),
        prop_oneof![0u64..100, Just(MAX_SAFE_INTEGER as u64)],
    )
        .prop_map(|(campaigns, kinds, id, to)| {
            json!({"id": id, "from_size": 0, "to_size": to, "campaigns": campaigns,
               "beneficiary_kinds": kinds, "document_sha256": sha256(b"d").to_hex(),
               "signature": BASE64.encode([3u8; 64])})
        })
}

/// A small report whose sizes and figures are any integers, the limits included.
fn report_numbers() -> impl Strategy<Value = Value> {
    (tree_size(), tree_size(), vec(integer(), 6)).prop_map(|(from, to, n)| {
        json!({"id": "r1", "from_size": from, "to_size": to,
               "campaigns": [{"campaign": "meals", "currency": "EUR", "received": n[0],
                              "fees": n[1], "net": n[2], "disbursed": n[3], "held": n[4]}],
               "beneficiary_kinds": [{"currency": "EUR", "beneficiary_kind": "person",
                                      "disbursed": n[5]}],
               "signature": BASE64.encode([3u8; 64])})
    })
}

#[pennytrail_test]
fn fuzz_api_bodies() {
    let bodies = valid_bodies();
    let body_kinds: Vec<&'static str> = bodies.iter().map(|(k, _)| *k).collect();
    let examples: Vec<Value> = bodies.iter().map(|(_, v)| v.clone()).collect();
    let examples_too = examples.clone();
    let request = prop_oneof![
        // Arbitrary bytes.
        1 => (any::<Index>(), bytes(120)).prop_map(|(i, b)| (i, None, b)),
        // A valid body's bytes, mutated.
        1 => (any::<Index>(), mutations()).prop_map(move |(i, m)| {
            let k = i.index(examples.len());
            (i, None, Bytes(mutate(&serde_json::to_vec(&examples[k]).unwrap(), &m)))
        }),
        // A valid body with fields removed, added or given values of any type.
        3 => (any::<Index>(), vec(field_edit(), 1..4)).prop_map(move |(i, edits)| {
            let k = i.index(examples_too.len());
            let mut body = examples_too[k].as_object().unwrap().clone();
            for edit in &edits {
                edit.apply(&mut body);
            }
            (i, None, Bytes(serde_json::to_vec(&body).unwrap()))
        }),
        // A report at the limits.
        1 => (any::<Index>(), prop_oneof![large_report(), report_numbers()])
            .prop_map(|(i, r)| (i, Some("report"), Bytes(serde_json::to_vec(&r).unwrap()))),
    ];
    fuzz("api_bodies", 1.0, request, |(which, kind, Bytes(bytes))| {
        let kind = kind.unwrap_or(body_kinds[which.index(body_kinds.len())]);
        let record = match parse_body(kind, &bytes) {
            Ok(record) => record,
            Err(e) => {
                outcome(if e.status == 400 { "400" } else { "422" });
                return check_api_error(&e);
            }
        };
        outcome("accepted");
        let _ = record.key(ORG);
        // A report the rules can check (its range inside a log of 2^53 − 1 entries)
        // has a message to sign and fits in an entry.
        if let Record::Report(r) = &record
            && r.to_size <= MAX_SAFE_INTEGER as u64
        {
            let _ = r.signed_message(ORIGIN, ORG);
        }
        // Records ↔ entries: what a client may send seals into an entry that reads
        // back as the same record. Corrections are the exception: the names of the
        // fields they correct are checked by the rules, against the corrected entry.
        let derived = derived_for(&record);
        let org = match &record {
            Record::Org(o) => o.id.clone(),
            _ => ORG.to_string(),
        };
        let header = EntryHeader {
            seq: 5,
            prev: Hash([9; 32]),
            time: UnixMillis(1_767_225_600_000),
        };
        let sealed = entry::seal(
            &header,
            record.kind(),
            Some(&org),
            &record.entry_body(&derived),
        );
        let bytes = match sealed {
            Ok(bytes) => bytes,
            Err(_) if matches!(record, Record::Correction(_)) => return Ok(()),
            Err(e) => {
                // The rules refuse a report range beyond the log before it is sealed.
                if let Record::Report(r) = &record {
                    prop_assert!(r.to_size > MAX_SAFE_INTEGER as u64, "{e}");
                    return Ok(());
                }
                return Err(TestCaseError::fail(format!(
                    "a valid {kind} does not seal: {e}"
                )));
            }
        };
        let e = entry::parse(&bytes).unwrap();
        let (again, logged) = Record::from_entry(&e)
            .map_err(|e| TestCaseError::fail(format!("a valid {kind} does not read back: {e}")))?;
        prop_assert_eq!(again, record.as_logged(&derived));
        outcome("sealed and read back");
        prop_assert!(logged == derived || logged == Derived::Nothing);
        Ok(())
    });
}

#[pennytrail_test]
fn fuzz_query_parameters() {
    let names = prop_oneof![
        select(vec!["after", "limit", "from", "to", "size", "org"]).prop_map(String::from),
        "[a-z]{0,6}",
    ];
    let values = prop_oneof![
        "[0-9]{0,22}",
        text(),
        any::<u64>().prop_map(|n| n.to_string())
    ];
    fuzz(
        "query_parameters",
        1.0,
        btree_map(names, values, 0..4),
        |pairs| {
            let query = ApiQuery::from(pairs.clone().into_iter().collect::<HashMap<_, _>>());
            for result in [
                pennytrail::api::page::Page::from_query(&query, &[]).map(|p| p.limit),
                pennytrail::api::page::Page::from_query(&query, &["org"]).map(|p| p.limit),
                pennytrail::api::donations::trace_page(&query).map(|(_, limit)| limit),
            ] {
                match result {
                    Ok(limit) => {
                        outcome("pages");
                        prop_assert!(limit >= 1);
                    }
                    Err(e) => {
                        check_api_error(&e)?;
                        prop_assert!(e.field.is_some(), "{}", e.detail);
                    }
                }
            }
            for (name, value) in &pairs {
                match parse_u64(name, value) {
                    Ok(n) => prop_assert_eq!(&n.to_string(), value),
                    Err(e) => prop_assert_eq!(e.field.as_deref(), Some(name.as_str())),
                }
            }
            Ok(())
        },
    );
}

#[pennytrail_test]
fn fuzz_drafts() {
    let key = NoteSigner::from_seed("signer", [6; 32]).unwrap();
    let report = valid_bodies()
        .into_iter()
        .find(|(k, _)| *k == "report")
        .unwrap()
        .1;
    let report_draft = json!({"format": DRAFT_FORMAT, "statement": "report", "origin": ORIGIN,
                              "org": ORG, "body": report});
    let ack_draft = json!({"format": DRAFT_FORMAT, "statement": "acknowledgement",
                           "origin": ORIGIN, "org": ORG, "disbursement": "x1", "seq": 9,
                           "leaf_hash": sha256(b"x").to_hex(),
                           "body": {"status": "received", "amount_received": 600}});
    let drafts = vec![report_draft, ack_draft];
    let drafts_too = drafts.clone();
    let input = prop_oneof![
        1 => (any::<Index>(), mutations()).prop_map(move |(i, m)| {
            Bytes(mutate(&serde_json::to_vec(&drafts[i.index(drafts.len())]).unwrap(), &m))
        }),
        3 => (any::<Index>(), any::<bool>(), vec(field_edit(), 1..4)).prop_map(
            move |(i, in_body, edits)| {
                let mut draft = drafts_too[i.index(drafts_too.len())].clone();
                let target = if in_body { &mut draft["body"] } else { &mut draft };
                let object = target.as_object_mut().unwrap();
                for edit in &edits {
                    edit.apply(object);
                }
                Bytes(serde_json::to_vec(&draft).unwrap())
            }
        ),
        1 => prop_oneof![large_report(), report_numbers()].prop_map(|body| {
            Bytes(serde_json::to_vec(&json!({"format": DRAFT_FORMAT, "statement": "report",
                                             "origin": ORIGIN, "org": ORG, "body": body}))
                .unwrap())
        }),
    ];
    fuzz("drafts", 1.0, input, |Bytes(bytes)| {
        let Ok(mut draft) = serde_json::from_slice::<Draft>(&bytes) else {
            return Ok(());
        };
        outcome("drafts");
        let _ = draft.path();
        if draft.message().is_ok() {
            outcome("messages");
        }
        if draft.sign(&key).is_ok() {
            outcome("signed");
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Field validators, hashes, times, sizes, money and CSV cells.
// ---------------------------------------------------------------------------------------

#[pennytrail_test]
fn fuzz_field_validators() {
    fuzz("field_validators", 2.0, text(), |s| {
        let s = s.as_str();
        match fields::id("id", s) {
            Ok(id) => prop_assert!(id == s && is_valid_id(s)),
            Err(e) => prop_assert!(e.field == "id" && !is_valid_id(s)),
        }
        match fields::text("label", s, 200) {
            Ok(t) => prop_assert!(t == s && s.chars().count() <= 200),
            Err(e) => prop_assert_eq!(e.field, "label"),
        }
        match fields::country("country", s) {
            Ok(c) => prop_assert!(c == s && s.len() == 2),
            Err(e) => prop_assert_eq!(e.field, "country"),
        }
        match Currency::parse("currency", s) {
            Ok(c) => prop_assert_eq!(c.code(), s),
            Err(e) => prop_assert_eq!(e.field, "currency"),
        }
        match BeneficiaryKind::parse("kind", s) {
            Ok(k) => prop_assert_eq!(k.as_str(), s),
            Err(e) => prop_assert_eq!(e.field, "kind"),
        }
        match AckStatus::parse("status", s) {
            Ok(k) => prop_assert_eq!(k.as_str(), s),
            Err(e) => prop_assert_eq!(e.field, "status"),
        }
        match signature_bytes("signature", s) {
            Ok(b) => prop_assert_eq!(BASE64.encode(b), s),
            Err(e) => prop_assert_eq!(e.field, "signature"),
        }
        if let Ok(h) = Hash::from_hex(s) {
            prop_assert_eq!(h.to_hex(), s, "one hash, one hex spelling");
        }
        if let Ok(h) = Hash::from_base64(s) {
            prop_assert_eq!(h.to_base64(), s, "one hash, one base64 spelling");
        }
        if let Ok(t) = UnixMillis::parse(s) {
            prop_assert_eq!(t.format(), s, "one time, one spelling");
        }
        if let Some(n) = parse_canonical_u64(s) {
            prop_assert_eq!(n.to_string(), s, "one size, one spelling");
        }
        if is_valid_origin(s) {
            let body = format!("{s}\n0\n{}\n", Hash::ZERO.to_base64());
            prop_assert!(Checkpoint::parse_body(&body).is_ok());
        }
        // CSV cells: neutralised text never starts a formula, and restores exactly.
        let cell = neutralise(s);
        prop_assert_eq!(restore(&cell), s);
        prop_assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']));
        // Donor references: normalising is idempotent and does not change the commitment.
        let normal = normalise_reference(s);
        prop_assert_eq!(normalise_reference(&normal), normal.clone());
        prop_assert_eq!(
            commitment(&[1; 32], ORG, s),
            commitment(&[1; 32], ORG, &normal)
        );
        Ok(())
    });
}

#[pennytrail_test]
fn fuzz_number_round_trips() {
    let strategy = (any::<u64>(), 0..=MILLIS_MAX, integer(), integer());
    fuzz("number_round_trips", 2.0, strategy, |(n, millis, a, b)| {
        prop_assert_eq!(parse_canonical_u64(&n.to_string()), Some(n));
        let t = UnixMillis(millis);
        prop_assert_eq!(UnixMillis::parse(&t.format()), Ok(t));
        prop_assert_eq!(
            Amount::non_negative("fee", a).is_ok(),
            (0..=MAX_SAFE_INTEGER).contains(&a)
        );
        prop_assert_eq!(
            Amount::positive("amount", a).is_ok(),
            (1..=MAX_SAFE_INTEGER).contains(&a)
        );
        if let (Ok(x), Ok(y)) = (Amount::non_negative("a", a), Amount::non_negative("b", b)) {
            let sum = x.checked_add(y).map(Amount::minor_units);
            prop_assert_eq!(sum, Some(a + b).filter(|s| *s <= MAX_SAFE_INTEGER));
            let difference = x.checked_sub(y).map(Amount::minor_units);
            prop_assert_eq!(difference, Some(a - b).filter(|d| *d >= 0));
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------
// Regressions: what this fuzzing found, as ordinary tests.
// ---------------------------------------------------------------------------------------

/// Found by `key_round_trips`: an org key rotation's idempotency id is the new key's id
/// and name cut to 64 bytes, and the cut could fall inside a UTF-8 character (key names
/// may be any non-space text), which panicked in the sequencer task while it looked up
/// the batch's ids — one org's request stopped every later write of the service.
#[pennytrail_test]
async fn regression_rotating_to_a_key_whose_name_is_multibyte() {
    let name = "é".repeat(30);
    let new_key = NoteSigner::from_seed(&name, [8; 32]).unwrap();
    let rotation = KeyRotation::parse(KeyRotationInput {
        public_key: new_key.verifier().to_text(),
        signature: BASE64.encode([1u8; 64]),
    })
    .unwrap();
    let id = rotation.id();
    assert!(id.len() <= 64, "{id}");
    assert!(format!("{:08x}.{name}", new_key.verifier().key_id()).starts_with(&id));

    let app = TestApp::start(Backend::Sqlite).await;
    let org_key = NoteSigner::from_seed(ORG, [1; 32]).unwrap();
    let registered = app
        .register_org(&json!({"id": ORG, "name": "Helping Hands", "country": "DE",
                              "public_key": org_key.verifier().to_text()}))
        .await
        .json();
    let token = registered["api_token"].as_str().unwrap();
    let org_seq = registered["seq"].as_u64().unwrap();
    let new_text = new_key.verifier().to_text();
    let message = KeyRotation::message(ORIGIN, ORG, org_seq, &new_text);
    let answer = app
        .org_post(
            token,
            ORG,
            "/key",
            &json!({"public_key": new_text, "signature": sign(&org_key, message.as_bytes())}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    // The service still appends.
    let answer = app
        .org_post(
            token,
            ORG,
            "/beneficiaries",
            &json!({"id": "school", "label": "A school", "kind": "organization",
                    "country": "KE"}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    assert_eq!(app.log_size().await, org_seq + 3);
    app.finish().await;
}

/// Found by `proofs_under_checkpoints_of_any_size`: a proof under a signed checkpoint of
/// more than 2^63 entries overflowed a shift while splitting the tree (a panic in debug
/// builds, an endless loop in release ones), in `verify-receipt` and the monitor. Such a
/// checkpoint can only come from a misbehaving log, which is what they check for.
#[pennytrail_test]
fn regression_proofs_under_a_checkpoint_of_more_than_2_63_entries() {
    let signer = NoteSigner::from_seed("example.org/log", [4; 32]).unwrap();
    let size = (1u64 << 63) + 1;
    let (left, leaf) = (Hash([1; 32]), leaf_hash(b"the last entry"));
    let root = pennytrail::log::hash::node_hash(&left, &leaf);
    let cp = Checkpoint {
        origin: "example.org/log".into(),
        size,
        root,
    };
    let note = cp.sign(&signer).unwrap();
    // A wrong proof is refused…
    let wrong = Receipt {
        index: 0,
        proof: vec![Hash::ZERO],
        checkpoint_note: note.clone(),
    };
    assert!(wrong.verify(b"the last entry", signer.verifier()).is_err());
    assert!(verify_consistency(&[Hash::ZERO], 1, &leaf, size, &root).is_err());
    assert!(verify_consistency(&[Hash::ZERO], 1, &leaf, u64::MAX, &root).is_err());
    // …and a right one accepted: the last leaf, beside the complete left half of 2^63.
    let right = Receipt {
        index: size - 1,
        proof: vec![left],
        checkpoint_note: note,
    };
    assert_eq!(right.verify(b"the last entry", signer.verifier()), Ok(cp));
    assert_eq!(
        verify_inclusion(&[left], size, &root, size - 1, &leaf),
        Ok(())
    );
    assert_eq!(
        verify_consistency(&[leaf], size - 1, &left, size, &root),
        Ok(())
    );
}

/// Found by `api_bodies`: a body without a required field was a 422 whose problem named
/// no `field` (only its text did), unlike every other field error.
#[pennytrail_test]
fn regression_a_missing_field_is_named() {
    let e = parse_json::<body::OrgRegistrationInput>(br#"{"id":"a","name":"b"}"#).unwrap_err();
    assert_eq!(
        (e.status.as_u16(), e.field.as_deref()),
        (422, Some("country"))
    );
    let e = parse_json::<body::ReportInput>(
        br#"{"id":"r","from_size":0,"to_size":1,"beneficiary_kinds":[],
             "campaigns":[{"campaign":"c","currency":"EUR","received":0,"fees":0,"net":0,
                           "disbursed":0}]}"#,
    )
    .unwrap_err();
    assert_eq!(
        (e.status.as_u16(), e.field.as_deref()),
        (422, Some("campaigns[0].held"))
    );
}

/// Found by `drafts`: `pennytrail sign` panicked on a report draft whose numbers no entry
/// can hold (a figure or a size above 2^53 − 1) or whose org is not an id; it now says
/// which field is wrong, as the service would. Sizes above 2^53 − 1 are refused by
/// `Report::parse` too: such a report could never be logged.
#[pennytrail_test]
fn regression_signing_a_report_draft_that_no_entry_can_hold() {
    let key = NoteSigner::from_seed("signer", [6; 32]).unwrap();
    let body = json!({"id": "r1", "from_size": 0, "to_size": 3,
                      "campaigns": [{"campaign": "meals", "currency": "EUR", "received": 5,
                                     "fees": 0, "net": 5, "disbursed": 0, "held": 5}],
                      "beneficiary_kinds": []});
    let draft = |org: &str, body: &Value| Draft {
        format: DRAFT_FORMAT.into(),
        statement: "report".into(),
        origin: ORIGIN.into(),
        org: org.into(),
        disbursement: None,
        seq: None,
        leaf_hash: None,
        body: body.clone(),
    };
    let mut good = draft(ORG, &body);
    let figures: ReportFigures = serde_json::from_value(
        json!({"campaigns": body["campaigns"], "beneficiary_kinds": body["beneficiary_kinds"]}),
    )
    .unwrap();
    assert_eq!(
        good.message().unwrap(),
        Report::message(
            ORIGIN,
            ORG,
            &Report::unsigned_body("r1", 0, 3, &figures, None)
        )
        .unwrap()
    );
    good.sign(&key).unwrap();
    for (field, value, org) in [
        ("campaigns[0].held", json!(MAX_SAFE_INTEGER + 1), ORG),
        ("to_size", json!(1u64 << 60), ORG),
        ("from_size", json!(u64::MAX), ORG),
        ("org", json!(3), "not an id"),
    ] {
        let mut body = body.clone();
        match field {
            "campaigns[0].held" => body["campaigns"][0]["held"] = value,
            "org" => {}
            _ => body[field] = value,
        }
        let mut bad = draft(org, &body);
        let error = format!("{:#}", bad.message().unwrap_err());
        assert!(error.contains(field), "{field}: {error}");
        assert!(bad.sign(&key).is_err());
    }
    let mut input: ReportInput = serde_json::from_value(body).unwrap();
    input.signature = Some(BASE64.encode([3u8; 64]));
    input.to_size = MAX_SAFE_INTEGER as u64 + 1;
    assert_eq!(Report::parse(input).unwrap_err().field, "to_size");
}

/// Found while fuzzing the bundle verifier (by reading the code its inputs reach): a
/// currency's totals in the verifier's summary add up over campaigns, each of which may
/// hold 2^53 − 1 minor units. In i64 they overflowed past 1,024 full campaigns (a panic in
/// debug builds, wrapped totals in release ones), the report book's running sum per
/// beneficiary kind too, and `pennytrail verify` printed shares (`part * 1000 / net`)
/// that overflowed from about 9.2 × 10^15 minor units, two full campaigns.
#[pennytrail_test]
fn regression_totals_over_campaigns_beyond_i64() {
    const CAMPAIGNS: i128 = 1025;
    let signer = NoteSigner::from_seed(ORIGIN, [11; 32]).unwrap();
    let org_key = NoteSigner::from_seed("o", [12; 32]).unwrap();
    let mut head = pennytrail::log::entry::ChainHead::GENESIS;
    let mut entries = Vec::new();
    let mut push = |kind: &str, body: Value| {
        let header = head.next_header(UnixMillis(1_767_225_600_000));
        let body = body.as_object().unwrap().clone();
        let bytes = entry::seal(&header, kind, Some("o"), &body).unwrap();
        head.advance(&entry::parse(&bytes).unwrap(), &bytes)
            .unwrap();
        entries.push(bytes);
    };
    // An org with a key (so the report book follows it), a supplier, and full campaigns
    // that each pay out everything to it.
    push(
        "org.registered",
        json!({"name": "O", "country": "DE", "public_key": org_key.verifier().to_text()}),
    );
    push(
        "beneficiary.registered",
        json!({"beneficiary": "b", "label": "B", "beneficiary_kind": "supplier",
               "country": "DE"}),
    );
    for c in 0..CAMPAIGNS {
        let campaign = format!("c{c}");
        push(
            "campaign.opened",
            json!({"campaign": campaign, "title": "T", "purpose": "P", "currency": "EUR",
                   "beneficiaries": ["b"]}),
        );
        push(
            "donation.received",
            json!({"donation": format!("d{c}"), "campaign": campaign, "currency": "EUR",
                   "amount": MAX_SAFE_INTEGER, "fee": 0, "net": MAX_SAFE_INTEGER,
                   "received_before": 0, "channel": "card"}),
        );
        push(
            "disbursement.made",
            json!({"disbursement": format!("x{c}"), "campaign": campaign, "currency": "EUR",
                   "beneficiary": "b", "amount": MAX_SAFE_INTEGER, "disbursed_before": 0,
                   "purpose": "P"}),
        );
    }

    // The bundle, written as `export_store` writes it.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bundle");
    fs::create_dir(&dir).unwrap();
    let mut deriver = Deriver::new(ORIGIN, |name| {
        fs::File::create(dir.join(name)).map(std::io::BufWriter::new)
    })
    .unwrap();
    for bytes in &entries {
        deriver.push(bytes).unwrap();
    }
    let (sinks, summary) = deriver.finish().unwrap();
    for (_, mut sink) in sinks {
        sink.flush().unwrap();
    }
    let checkpoint = Checkpoint {
        origin: ORIGIN.into(),
        size: summary.entries,
        root: summary.root,
    };
    let key = signer.verifier().to_text();
    fs::write(dir.join(CHECKPOINT_FILE), checkpoint.sign(&signer).unwrap()).unwrap();
    fs::write(
        dir.join(pennytrail_bundle::README_FILE),
        pennytrail_bundle::package::readme(
            pennytrail_bundle::BundleFormat::CURRENT,
            ORIGIN,
            &key,
            checkpoint.size,
        ),
    )
    .unwrap();
    pennytrail_bundle::package::write_datapackage(
        &dir,
        pennytrail_bundle::BundleFormat::CURRENT,
        ORIGIN,
        &key,
        &checkpoint,
    )
    .unwrap();

    // The library's totals (the deriver is the verifier's), then the CLI's output.
    let eur = &summary.by_currency["EUR"];
    let full = CAMPAIGNS * i128::from(MAX_SAFE_INTEGER);
    assert_eq!(
        (
            eur.received,
            eur.net,
            eur.disbursed,
            eur.by_kind["supplier"]
        ),
        (full, full, full, full)
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"))
        .args(["verify", dir.to_str().unwrap(), "--key", &key])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Amounts people read are in major units, even past i64.
    let full = pennytrail::ledger::money::Currency::parse("currency", "EUR")
        .unwrap()
        .format(full);
    assert!(
        stdout.contains(&format!(
            "EUR: received {full} (fees EUR 0.00, net {full}), disbursed {full} = 100.0% of net"
        )),
        "{stdout}"
    );
}

/// Found by `real_entries_edited_field_by_field`: an entry whose key text was spelled
/// otherwise than the log writes it — the key id in uppercase, a line end after it — was
/// read as the same key, so one record had several entries, and the raw entry carried a
/// key text other readers (Go's note package) refuse. Requests stay lenient; entries not.
#[pennytrail_test]
fn regression_an_entry_with_a_respelled_key_is_refused() {
    let key = NoteSigner::from_seed("school", [2; 32])
        .unwrap()
        .verifier()
        .to_text();
    let mut uppercase = key.clone();
    uppercase.replace_range(7..15, &key[7..15].to_uppercase());
    assert_ne!(uppercase, key);
    let header = pennytrail::log::entry::ChainHead::GENESIS.next_header(UnixMillis(5));
    for (spelling, valid) in [
        (key.clone(), true),
        (uppercase, false),
        (format!("{key}\n"), false),
        (format!("{key}\r\n"), false),
    ] {
        let body = json!({"beneficiary": "b", "label": "B", "beneficiary_kind": "supplier",
                          "country": "DE", "public_key": spelling});
        let kind = "beneficiary.registered";
        let bytes = entry::seal(&header, kind, Some("o"), body.as_object().unwrap()).unwrap();
        let read = Record::from_entry(&entry::parse(&bytes).unwrap());
        match read {
            Ok(_) => assert!(valid, "{spelling:?} accepted"),
            Err(e) => assert!(!valid && e.field == "public_key", "{spelling:?}: {e}"),
        }
        // A client may still send it so; the service stores the canonical spelling.
        let input: body::BeneficiaryInput = serde_json::from_value(json!({"id": "b", "label": "B",
            "kind": "supplier", "country": "DE", "public_key": spelling}))
        .unwrap();
        assert_eq!(
            Beneficiary::parse(input.into())
                .unwrap()
                .public_key
                .as_deref(),
            Some(key.as_str())
        );
    }
}
