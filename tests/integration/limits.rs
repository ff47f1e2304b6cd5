//! Every limit of the service, exercised at its boundary: at the limit accepted, one over
//! refused with the documented status (a problem+json naming the field where one is at
//! fault) and nothing appended. Where a limit is already tested elsewhere, this file does
//! not repeat it; the table says where each one is covered.
//!
//! | limit (constant) | value | over it | covered by |
//! | --- | --- | --- | --- |
//! | `api::MAX_REQUEST_BODY_BYTES` | 64 KiB | 413 | `request_bodies_are_limited_at_the_boundary` |
//! | `api::write::MAX_BATCH_BODY_BYTES` | 2 MiB | 413 | `request_bodies_are_limited_at_the_boundary` |
//! | `api::write::MAX_BATCH_ITEMS` | 1,000 items | 422, `field` = the list | `batches_and_pages_are_limited_at_the_boundary` (every batch route); tests/integration/money.rs `batches_are_atomic` (donations) |
//! | `api::log_routes::MAX_PAGE` | 1,000 entries | 400, `field` = `limit` | `batches_and_pages_are_limited_at_the_boundary`; tests/integration/api.rs (`limit=0`, `limit=1001`) |
//! | `read::MAX_LIST_PAGE` | 500 | 400, `field` = `limit` | `batches_and_pages_are_limited_at_the_boundary` (every list route) |
//! | `read::MAX_TRACE_PAGE` | 100 | 400, `field` = `limit` | `batches_and_pages_are_limited_at_the_boundary` (trace, sources) |
//! | `log::canonical::MAX_ENTRY_BYTES` | 16 KiB | 422 `invalid-entry` | `entries_are_limited_to_16_kib` |
//! | `ledger::attestations::MAX_REPORT_CAMPAIGNS`, `MAX_REPORT_KIND_LINES` | 50 lines each | 422, `field` = the list | `report_lines_are_limited_at_the_boundary` |
//! | field lengths: `log::entry::MAX_ID_LEN` (64), `ledger::fields::MAX_NAME_CHARS` (200), `ledger::org::MAX_CHARITY_NUMBER_CHARS` (64), `ledger::records::MAX_PURPOSE_CHARS` (1,000), `MAX_CHANNEL_CHARS` (32), `MAX_STATED_PER_ENTRY` (100 ids), `ledger::donor::MAX_DONOR_REF_CHARS` (320) | characters, not bytes | 422, `field` named | `field_lengths_are_limited_at_the_boundary` |
//! | `limits::DEFAULT_ORG_WRITES_PER_SECOND` | 50,000 per org token and second, `--org-writes-per-second` | 429 + `Retry-After` | tests/integration/tokens.rs `org_writes_are_rate_limited_per_token` (through the flag, at 2/s); `limit_flags_refuse_zero`; the 429 documented on every org write: `the_spec_documents_every_limit` |
//! | `limits::ACKNOWLEDGEMENTS_PER_MINUTE` | 60 per client IP | 429 + `Retry-After` | `acknowledgements_are_rate_limited_per_client` |
//! | `limits::DONOR_LOOKUPS_PER_MINUTE` | 30 per client IP | 429 + `Retry-After` | tests/integration/money.rs `donor_lookups_are_rate_limited` |
//! | `api::DEFAULT_REQUEST_TIMEOUT` | 30 s, `--request-timeout-seconds` | 408, listed in `/openapi.json` on every operation but the export downloads | `requests_time_out` (at 2 s, through the flag); `limit_flags_refuse_zero` |
//! | `api::exports::MAX_CONCURRENT_EXPORTS` | 4 | 503 + `Retry-After` | `exports_are_limited_in_number` here; tests/integration/exports.rs (slots come back after clients hang up) |
//! | `limits` `MAX_TRACKED_CLIENTS` (private) | 100,000 buckets per limiter: idle ones are dropped first; if all are active, the limiter starts over | — | unit tests in src/limits.rs |
//!
//! Limits inside the process that no request can observe directly (the sequencer's
//! `MAX_BATCH_ENTRIES` and `MAX_QUEUED_JOBS`, checkpoint notes' `MAX_NOTE_BYTES` and
//! `MAX_SIGNATURES`, receipts' `MAX_PROOF_HASHES`, the monitor's response caps, and
//! `store::MAX_RECENT_IDS`, past which waiting donation ids move to `record_ids`) are
//! covered by their modules' own tests (the last also by tests/integration/reliability.rs
//! `waiting_donation_ids_answer_like_indexed_ones`) and are not repeated here.

use crate::support::bodies::{beneficiary, campaign, disbursement, donation};
use crate::support::{self, Backend, ORIGIN, ServiceProcess, TestApp, pennytrail_test};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use pennytrail::api::exports::MAX_CONCURRENT_EXPORTS;
use pennytrail::api::log_routes::MAX_PAGE;
use pennytrail::api::openapi::UNTIMED_PATH;
use pennytrail::api::write::{MAX_BATCH_BODY_BYTES, MAX_BATCH_ITEMS};
use pennytrail::api::{DEFAULT_REQUEST_TIMEOUT, MAX_REQUEST_BODY_BYTES};
use pennytrail::ledger::attestations::{
    AckStatus, Acknowledgement, MAX_REPORT_CAMPAIGNS, MAX_REPORT_KIND_LINES, Report, sign,
};
use pennytrail::ledger::donor::MAX_DONOR_REF_CHARS;
use pennytrail::ledger::fields::MAX_NAME_CHARS;
use pennytrail::ledger::org::MAX_CHARITY_NUMBER_CHARS;
use pennytrail::ledger::records::{MAX_CHANNEL_CHARS, MAX_PURPOSE_CHARS, MAX_STATED_PER_ENTRY};
use pennytrail::limits::{ACKNOWLEDGEMENTS_PER_MINUTE, DONOR_LOOKUPS_PER_MINUTE};
use pennytrail::log::canonical::{self, CanonicalError, MAX_ENTRY_BYTES};
use pennytrail::log::entry::MAX_ID_LEN;
use pennytrail::log::hash::Hash;
use pennytrail::log::note::NoteSigner;
use pennytrail::read::{MAX_LIST_PAGE, MAX_TRACE_PAGE};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const ORG: &str = "alpha";

fn key(name: &str, seed: u8) -> NoteSigner {
    NoteSigner::from_seed(name, [seed; 32]).unwrap()
}

/// `value` serialised and padded with trailing spaces (insignificant JSON whitespace) to
/// exactly `size` bytes.
fn padded(value: &Value, size: usize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(value).unwrap();
    assert!(bytes.len() <= size, "{} bytes before padding", bytes.len());
    bytes.resize(size, b' ');
    bytes
}

/// An HTTP/1.1 answer read off a raw socket.
struct RawAnswer {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl RawAnswer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Reads a whole answer from a connection the server closes after it (`Connection: close`).
async fn read_answer(stream: &mut TcpStream) -> RawAnswer {
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut bytes))
        .await
        .expect("the server answers within a minute")
        .ok();
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(&bytes)));
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    RawAnswer {
        status,
        head,
        body: bytes[end + 4..].to_vec(),
    }
}

fn authority(base: &str) -> &str {
    base.trim_start_matches("http://")
}

/// The head of a POST of `length` bytes of JSON (or chunked, if None).
fn post_head(base: &str, path: &str, token: &str, length: Option<usize>) -> Vec<u8> {
    let framing = match length {
        Some(n) => format!("Content-Length: {n}"),
        None => "Transfer-Encoding: chunked".to_string(),
    };
    format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\n{framing}\r\nConnection: close\r\n\r\n",
        authority(base)
    )
    .into_bytes()
}

/// Registers `ORG` (with an org key) and returns its token.
async fn org_with_key(app: &TestApp, signer: &NoteSigner) -> String {
    let answer = app
        .register_org(&json!({"id": ORG, "name": "Alpha", "country": "DE",
                              "public_key": signer.verifier().to_text()}))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    answer.json()["api_token"].as_str().unwrap().to_string()
}

// ---------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------

/// A body of exactly the limit is read and logged; one byte more is 413 on every write
/// route (single writes 64 KiB, batches 2 MiB), whether it announces its length or is
/// streamed in chunks, and the spec documents the same limit for each route.
#[pennytrail_test]
async fn request_bodies_are_limited_at_the_boundary() {
    let app = TestApp::start(Backend::Sqlite).await;
    let token = app.new_org(ORG).await;
    app.org_create(
        &token,
        ORG,
        "/beneficiaries",
        &beneficiary("school", "organization"),
    )
    .await;
    app.org_create(
        &token,
        ORG,
        "/campaigns",
        &campaign("meals", "EUR", &["school"]),
    )
    .await;

    // At the limit: accepted.
    let at_limit = app
        .post_raw(
            "/v1/admin/orgs",
            Some(&app.operator_token),
            "application/json",
            padded(
                &json!({"id": "at-limit", "name": "At", "country": "DE"}),
                MAX_REQUEST_BODY_BYTES,
            ),
        )
        .await;
    assert_eq!(at_limit.status, 201, "{}", at_limit.text());
    let batch = app
        .post_raw(
            &format!("/v1/orgs/{ORG}/donations/batch"),
            Some(&token),
            "application/json",
            padded(
                &json!({"donations": [donation("d-at-limit", "meals", 5, 0)]}),
                MAX_BATCH_BODY_BYTES,
            ),
        )
        .await;
    assert_eq!(batch.status, 201, "{}", batch.text());

    // One byte over, on every write route that takes a body (the credential each needs,
    // so the refusal is the body's).
    let spec = app.get_json("/openapi.json").await;
    let size = app.log_size().await;
    let mut routes = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation.get("requestBody").is_none() {
                continue;
            }
            let name = format!("{method} {path}");
            let batch = path.ends_with("/batch");
            let limit = if batch {
                MAX_BATCH_BODY_BYTES
            } else {
                MAX_REQUEST_BODY_BYTES
            };
            let token = match operation["security"][0]
                .as_object()
                .map(|s| s.keys().next())
            {
                Some(Some(scheme)) if scheme == "operator_token" => {
                    Some(app.operator_token.as_str())
                }
                Some(Some(_)) => Some(token.as_str()),
                _ => None,
            };
            let concrete = path
                .replace("{org}", ORG)
                .replace("{campaign}", "meals")
                .replace("{id}", "x1");
            assert!(
                !concrete.contains('{'),
                "{name}: a path parameter without a value"
            );
            let answer = app
                .post_raw(
                    &concrete,
                    token,
                    "application/json",
                    padded(&json!({}), limit + 1),
                )
                .await;
            answer.assert_problem(413, None);

            // The spec documents this route's limit, and the limit's value.
            let response = &operation["responses"]["413"]["$ref"];
            let (component, value) = if batch {
                (
                    "BatchTooLarge",
                    format!("{} MiB", MAX_BATCH_BODY_BYTES >> 20),
                )
            } else {
                (
                    "BodyTooLarge",
                    format!("{} KiB", MAX_REQUEST_BODY_BYTES >> 10),
                )
            };
            assert_eq!(
                response,
                &format!("#/components/responses/{component}"),
                "{name}"
            );
            let description = spec["components"]["responses"][component]["description"]
                .as_str()
                .unwrap();
            assert!(description.contains(&value), "{component}: {description}");
            routes += 1;
        }
    }
    assert!(routes >= 14, "only {routes} write routes with a body");
    assert_eq!(
        app.log_size().await,
        size,
        "an oversized body appended something"
    );

    // A chunked body has no length to check up front: the limit counts the bytes read.
    let body =
        |id: &str, size: usize| padded(&json!({"id": id, "name": "C", "country": "DE"}), size);
    for (id, size, status) in [
        ("chunked-over", MAX_REQUEST_BODY_BYTES + 1, 413),
        ("chunked-at", MAX_REQUEST_BODY_BYTES, 201),
    ] {
        let mut stream = TcpStream::connect(authority(&app.base)).await.unwrap();
        stream
            .write_all(&post_head(
                &app.base,
                "/v1/admin/orgs",
                &app.operator_token,
                None,
            ))
            .await
            .unwrap();
        let bytes = body(id, size);
        for chunk in bytes.chunks(8 * 1024) {
            let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
            if stream.write_all(&framed).await.is_err() {
                break; // The server answered early and closed.
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
        let answer = read_answer(&mut stream).await;
        assert_eq!(
            answer.status,
            status,
            "{id}: {}",
            String::from_utf8_lossy(&answer.body)
        );
    }
    assert_eq!(
        app.log_size().await,
        size + 1,
        "only the chunked body at the limit"
    );
    note!("{routes} write routes refuse a body one byte over their limit");
    app.finish().await;
}

// ---------------------------------------------------------------------------------------
// Batches and pages
// ---------------------------------------------------------------------------------------

/// Items of the list of a batch route, `count` of them with ids from `prefix`.
fn batch_items(list: &str, prefix: &str, count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| {
            let id = format!("{prefix}{i}");
            match list {
                "beneficiaries" => beneficiary(&id, "person"),
                "donations" => donation(&id, "meals", 1, 0),
                "disbursements" => disbursement(&id, "meals", "school", 1),
                other => panic!("no items for the batch list {other:?}: add them here"),
            }
        })
        .collect()
}

/// The one array of a page (`donations`, `flows`, …) or the lines of NDJSON.
fn page_length(answer: &support::Answer) -> usize {
    if answer.content_type == "application/x-ndjson" {
        return answer
            .body
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count();
    }
    let body = answer.json();
    let arrays: Vec<usize> = body
        .as_object()
        .unwrap()
        .values()
        .filter_map(|v| v.as_array().map(Vec::len))
        .collect();
    assert_eq!(arrays.len(), 1, "a page has one list: {body}");
    arrays[0]
}

/// Every batch route takes exactly `MAX_BATCH_ITEMS` items and refuses one more, naming
/// its list; every route with a `limit` parameter serves a full page at its maximum
/// (which the spec states) and refuses one more and zero, naming `limit`.
#[pennytrail_test]
async fn batches_and_pages_are_limited_at_the_boundary() {
    let app = TestApp::start(Backend::Sqlite).await;
    let token = app.new_org(ORG).await;
    app.org_create(
        &token,
        ORG,
        "/beneficiaries",
        &beneficiary("school", "organization"),
    )
    .await;
    app.org_create(
        &token,
        ORG,
        "/campaigns",
        &campaign("meals", "EUR", &["school"]),
    )
    .await;
    let spec = app.get_json("/openapi.json").await;
    let batch_routes: Vec<String> = spec["paths"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|p| p.ends_with("/batch"))
        .cloned()
        .collect();
    assert_eq!(batch_routes.len(), 3, "{batch_routes:?}");

    // One over: refused, naming the list; nothing appended.
    let size = app.log_size().await;
    for route in &batch_routes {
        let list = route.trim_end_matches("/batch").rsplit('/').next().unwrap();
        let items = batch_items(list, "over", MAX_BATCH_ITEMS + 1);
        app.post_json(
            &route.replace("{org}", ORG),
            Some(&token),
            &json!({list: items}),
        )
        .await
        .assert_problem(422, Some(list));
    }
    assert_eq!(app.log_size().await, size);

    // At the limit: accepted. The donations fund the disbursements one unit each, so the
    // trace of `big` and the sources of `x-all` are longer than a page.
    let full_batch = |list: &str, prefix: &str| {
        let route = format!("/v1/orgs/{ORG}/{list}/batch");
        let body = json!({list: batch_items(list, prefix, MAX_BATCH_ITEMS)});
        (route, body)
    };
    let (route, body) = full_batch("beneficiaries", "b");
    let answer = app.post_json(&route, Some(&token), &body).await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let (route, body) = full_batch("donations", "d");
    let answer = app.post_json(&route, Some(&token), &body).await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    app.org_create(
        &token,
        ORG,
        "/disbursements",
        &disbursement("x-all", "meals", "school", MAX_BATCH_ITEMS as i64),
    )
    .await;
    app.org_create(
        &token,
        ORG,
        "/donations",
        &donation("big", "meals", MAX_BATCH_ITEMS as i64, 0),
    )
    .await;
    let (route, body) = full_batch("disbursements", "x");
    let answer = app.post_json(&route, Some(&token), &body).await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    assert_eq!(
        answer.json()["items"].as_array().unwrap().len(),
        MAX_BATCH_ITEMS
    );

    // Pages: every GET with a `limit`.
    let mut routes = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        let Some(operation) = item.get("get") else {
            continue;
        };
        let Some(limit) = operation["parameters"].as_array().and_then(|ps| {
            ps.iter()
                .find(|p| p["name"] == "limit" && p["in"] == "query")
        }) else {
            continue;
        };
        let max = if path == "/v1/entries" {
            MAX_PAGE
        } else if path.ends_with("/trace") || path.ends_with("/sources") {
            MAX_TRACE_PAGE
        } else {
            MAX_LIST_PAGE
        };
        assert_eq!(
            limit["schema"]["maximum"], max,
            "GET {path}: the documented maximum"
        );
        let concrete = path
            .replace("{org}", ORG)
            .replace("/donations/{id}", "/donations/big")
            .replace("/disbursements/{id}", "/disbursements/x-all");
        assert!(
            !concrete.contains('{'),
            "GET {path}: a path parameter without a value"
        );
        let page = app.get(&format!("{concrete}?limit={max}")).await;
        assert_eq!(
            page.status,
            200,
            "GET {concrete}?limit={max}: {}",
            page.text()
        );
        // The fixture has fewer orgs, campaigns and reports than a page; every other
        // list is longer than one, so its page is full.
        let fills_a_page = !["/v1/orgs", "/campaigns", "/reports"]
            .iter()
            .any(|end| path.ends_with(end));
        let length = page_length(&page);
        if fills_a_page {
            assert_eq!(length as u64, max, "GET {concrete}?limit={max}");
        } else {
            assert!(length as u64 <= max, "GET {concrete}?limit={max}");
        }
        for bad in [max + 1, 0] {
            app.get(&format!("{concrete}?limit={bad}"))
                .await
                .assert_problem(400, Some("limit"));
        }
        routes += 1;
    }
    assert!(routes >= 9, "only {routes} routes with a limit parameter");
    note!(
        "{} batch routes and {routes} paged routes checked at their limits",
        batch_routes.len()
    );
    app.finish().await;
}

// ---------------------------------------------------------------------------------------
// Entry size
// ---------------------------------------------------------------------------------------

/// A beneficiary's key is a C2SP verifier key whose name has no length of its own, so
/// its length sets the entry's: an entry of exactly `MAX_ENTRY_BYTES` is logged, one byte
/// more is refused (422 `invalid-entry`) and nothing is appended. The canonical codec,
/// which every reader uses, draws the same line.
#[pennytrail_test]
async fn entries_are_limited_to_16_kib() {
    let app = TestApp::start(Backend::Sqlite).await;
    let token = app.new_org(ORG).await;
    let with_key = |id: &str, name_len: usize| {
        let mut body = beneficiary(id, "person");
        body["public_key"] = key(&"k".repeat(name_len), 7).verifier().to_text().into();
        body
    };
    // Calibration: the entry's length without the key name.
    let calibration = app
        .org_create(&token, ORG, "/beneficiaries", &with_key("cal", 1))
        .await;
    let seq = calibration["seq"].as_u64().unwrap();
    let bytes = app.get(&format!("/v1/entries/{seq}")).await.body;
    let without_name = bytes.len() - 1;
    // The next entry has the same id length and as many seq digits.
    assert_eq!((seq + 1).to_string().len(), seq.to_string().len());

    let size = app.log_size().await;
    let over = app
        .org_post(
            &token,
            ORG,
            "/beneficiaries",
            &with_key("big", MAX_ENTRY_BYTES + 1 - without_name),
        )
        .await;
    let problem = over.assert_problem(422, None);
    assert_eq!(problem["type"], "urn:pennytrail:problem:invalid-entry");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(&MAX_ENTRY_BYTES.to_string()),
        "{problem}"
    );
    assert_eq!(
        app.log_size().await,
        size,
        "the oversized entry was appended"
    );

    let at_limit = app
        .org_create(
            &token,
            ORG,
            "/beneficiaries",
            &with_key("big", MAX_ENTRY_BYTES - without_name),
        )
        .await;
    let stored = app
        .get(&format!("/v1/entries/{}", at_limit["seq"]))
        .await
        .body;
    assert_eq!(stored.len(), MAX_ENTRY_BYTES, "the entry at the limit");
    assert!(canonical::parse_canonical(&stored).is_ok());

    // The codec itself: an object of exactly the limit encodes and parses; one byte more
    // does neither.
    let object = |len: usize| {
        let overhead = br#"{"a":""}"#.len();
        let value = json!({"a": "x".repeat(len - overhead)});
        value.as_object().unwrap().clone()
    };
    let encoded = canonical::encode(&object(MAX_ENTRY_BYTES)).unwrap();
    assert_eq!(encoded.len(), MAX_ENTRY_BYTES);
    assert!(canonical::parse_canonical(&encoded).is_ok());
    assert_eq!(
        canonical::encode(&object(MAX_ENTRY_BYTES + 1)),
        Err(CanonicalError::TooLarge {
            size: MAX_ENTRY_BYTES + 1
        })
    );
    let mut longer = encoded.clone();
    longer.insert(6, b'x');
    assert_eq!(
        canonical::parse_canonical(&longer),
        Err(CanonicalError::TooLarge {
            size: MAX_ENTRY_BYTES + 1
        })
    );
    app.finish().await;
}

// ---------------------------------------------------------------------------------------
// Report lines
// ---------------------------------------------------------------------------------------

/// A report over 50 campaigns and 50 (currency, beneficiary kind) lines is logged; a
/// report with 51 of either is refused naming the list, before anything else is checked.
#[pennytrail_test]
async fn report_lines_are_limited_at_the_boundary() {
    const CURRENCIES: [&str; 10] = [
        "EUR", "USD", "GBP", "JPY", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK",
    ];
    const KINDS: [&str; 5] = ["person", "organization", "supplier", "overhead", "refunds"];
    assert_eq!(CURRENCIES.len() * KINDS.len(), MAX_REPORT_KIND_LINES);
    let app = TestApp::start(Backend::Sqlite).await;
    let signer = key("alpha-reports", 1);
    let token = org_with_key(&app, &signer).await;
    let beneficiaries: Vec<Value> = KINDS.iter().map(|k| beneficiary(k, k)).collect();
    app.org_create(
        &token,
        ORG,
        "/beneficiaries/batch",
        &json!({"beneficiaries": beneficiaries}),
    )
    .await;
    let mut donations = Vec::new();
    let mut disbursements = Vec::new();
    for i in 0..MAX_REPORT_CAMPAIGNS {
        let currency = CURRENCIES[i % CURRENCIES.len()];
        let id = format!("c{i}");
        app.org_create(&token, ORG, "/campaigns", &campaign(&id, currency, &KINDS))
            .await;
        donations.push(donation(&format!("d{i}"), &id, 1000, 0));
        if i < CURRENCIES.len() {
            for kind in KINDS {
                disbursements.push(disbursement(&format!("x{i}-{kind}"), &id, kind, 1));
            }
        }
    }
    app.org_create(
        &token,
        ORG,
        "/donations/batch",
        &json!({"donations": donations}),
    )
    .await;
    app.org_create(
        &token,
        ORG,
        "/disbursements/batch",
        &json!({"disbursements": disbursements}),
    )
    .await;

    let to = app.log_size().await;
    let figures = app
        .get_json(&format!("/v1/orgs/{ORG}/report-figures?from=0&to={to}"))
        .await;
    let campaigns = figures["campaigns"].as_array().unwrap().clone();
    let kinds = figures["beneficiary_kinds"].as_array().unwrap().clone();
    assert_eq!(campaigns.len(), MAX_REPORT_CAMPAIGNS);
    assert_eq!(kinds.len(), MAX_REPORT_KIND_LINES);
    let report = |campaigns: &[Value], kinds: &[Value]| {
        let figures = serde_json::from_value(json!({
            "campaigns": campaigns, "beneficiary_kinds": kinds}))
        .unwrap();
        let unsigned = Report::unsigned_body("r1", 0, to, &figures, None);
        json!({"id": "r1", "from_size": 0, "to_size": to, "campaigns": campaigns,
               "beneficiary_kinds": kinds,
               "signature": sign(&signer, &Report::message(ORIGIN, ORG, &unsigned).unwrap())})
    };

    let size = app.log_size().await;
    let one_more = |lines: &[Value]| [lines, &lines[..1]].concat();
    app.org_post(
        &token,
        ORG,
        "/reports",
        &report(&one_more(&campaigns), &kinds),
    )
    .await
    .assert_problem(422, Some("campaigns"));
    app.org_post(
        &token,
        ORG,
        "/reports",
        &report(&campaigns, &one_more(&kinds)),
    )
    .await
    .assert_problem(422, Some("beneficiary_kinds"));
    assert_eq!(app.log_size().await, size);
    app.org_create(&token, ORG, "/reports", &report(&campaigns, &kinds))
        .await;
    app.finish().await;
}

// ---------------------------------------------------------------------------------------
// Field lengths
// ---------------------------------------------------------------------------------------

/// One length-limited field of one route.
struct FieldLimit {
    path: &'static str,
    /// The field as the problem names it.
    field: &'static str,
    max: usize,
    /// A valid body with `value` in the field; `unique` keeps ids apart.
    body: fn(unique: &str, value: Value) -> Value,
    /// The field's value of length `n`.
    value: fn(n: usize) -> Value,
    /// The status of the request at the limit.
    accepted: u16,
}

/// Text of `n` characters, each four bytes in UTF-8: the limits count characters.
fn wide_text(n: usize) -> Value {
    "\u{1D11E}".repeat(n).into()
}

fn ascii(n: usize) -> Value {
    "a".repeat(n).into()
}

fn stated_ids(n: usize) -> Value {
    (0..n).map(|i| format!("p{i}")).collect::<Vec<_>>().into()
}

/// Each text and list field is accepted at its limit and refused one over, naming the
/// field; the limits count characters, not bytes.
#[pennytrail_test]
async fn field_lengths_are_limited_at_the_boundary() {
    let limits = [
        FieldLimit {
            path: "/v1/admin/orgs",
            field: "id",
            max: MAX_ID_LEN,
            body: |_, v| json!({"id": v, "name": "Org", "country": "DE"}),
            value: ascii,
            accepted: 201,
        },
        FieldLimit {
            path: "/v1/admin/orgs",
            field: "name",
            max: MAX_NAME_CHARS,
            body: |u, v| json!({"id": u, "name": v, "country": "DE"}),
            value: wide_text,
            accepted: 201,
        },
        FieldLimit {
            path: "/v1/admin/orgs",
            field: "charity_number",
            max: MAX_CHARITY_NUMBER_CHARS,
            body: |u, v| json!({"id": u, "name": "Org", "country": "DE", "charity_number": v}),
            value: wide_text,
            accepted: 201,
        },
        FieldLimit {
            path: "/v1/orgs/alpha/beneficiaries",
            field: "label",
            max: MAX_NAME_CHARS,
            body: |u, v| json!({"id": u, "label": v, "kind": "person", "country": "KE"}),
            value: wide_text,
            accepted: 201,
        },
        FieldLimit {
            path: "/v1/orgs/alpha/campaigns",
            field: "title",
            max: MAX_NAME_CHARS,
            body: |u, v| {
                json!({"id": u, "title": v, "purpose": "P", "currency": "EUR",
                                "beneficiaries": ["p0"]})
            },
            value: wide_text,
            accepted: 201,
        },
        FieldLimit {
            path: "/v1/orgs/alpha/campaigns",
            field: "purpose",
            max: MAX_PURPOSE_CHARS,
            body: |u, v| {
                json!({"id": u, "title": "T", "purpose": v, "currency": "EUR",
                                "beneficiaries": ["p0"]})
            },
            value: wide_text,
            accepted: 201,
        },
        FieldLimit {
            path: "/v1/orgs/alpha/campaigns",
            field: "beneficiaries",
            max: MAX_STATED_PER_ENTRY,
            body: |u, v| {
                json!({"id": u, "title": "T", "purpose": "P", "currency": "EUR",
                                "beneficiaries": v})
            },
            value: stated_ids,
            accepted: 201,
        },
        FieldLimit {
            path: "/v1/orgs/alpha/donations",
            field: "channel",
            max: MAX_CHANNEL_CHARS,
            body: |u, v| {
                json!({"id": u, "campaign": "meals", "amount": 10, "fee": 0,
                                "channel": v})
            },
            value: ascii,
            accepted: 201,
        },
        FieldLimit {
            path: "/v1/orgs/alpha/donations",
            field: "donor_ref",
            max: MAX_DONOR_REF_CHARS,
            body: |u, v| {
                json!({"id": u, "campaign": "meals", "amount": 10, "fee": 0,
                                "channel": "card", "donor_ref": v})
            },
            value: wide_text,
            accepted: 201,
        },
        FieldLimit {
            path: "/v1/donors/lookup",
            field: "donor_ref",
            max: MAX_DONOR_REF_CHARS,
            body: |_, v| json!({"org": "alpha", "donor_ref": v}),
            value: wide_text,
            accepted: 200,
        },
        FieldLimit {
            path: "/v1/orgs/alpha/disbursements",
            field: "purpose",
            max: MAX_PURPOSE_CHARS,
            body: |u, v| {
                json!({"id": u, "campaign": "meals", "beneficiary": "p0",
                                "amount": 1, "purpose": v})
            },
            value: wide_text,
            accepted: 201,
        },
        FieldLimit {
            path: "/v1/orgs/alpha/corrections",
            field: "fields.purpose",
            max: MAX_PURPOSE_CHARS,
            // Entry 2 is the campaign `meals` (see below).
            body: |u, v| json!({"id": u, "corrects": 2, "fields": {"purpose": v}}),
            value: wide_text,
            accepted: 201,
        },
    ];
    let app = TestApp::start(Backend::Sqlite).await;
    let token = app.new_org(ORG).await;
    app.org_create(&token, ORG, "/beneficiaries", &beneficiary("p0", "person"))
        .await;
    let meals = app
        .org_create(
            &token,
            ORG,
            "/campaigns",
            &campaign("meals", "EUR", &["p0"]),
        )
        .await;
    assert_eq!(meals["seq"], 2, "the corrections above correct `meals`");
    // One more beneficiary than a campaign may state at once.
    let people: Vec<Value> = (1..=MAX_STATED_PER_ENTRY)
        .map(|i| beneficiary(&format!("p{i}"), "person"))
        .collect();
    app.org_create(
        &token,
        ORG,
        "/beneficiaries/batch",
        &json!({"beneficiaries": people}),
    )
    .await;
    app.org_create(&token, ORG, "/donations", &donation("d0", "meals", 1000, 0))
        .await;

    for (i, limit) in limits.iter().enumerate() {
        let name = format!("{} {}", limit.path, limit.field);
        let credential = if limit.path.starts_with("/v1/admin/") {
            Some(app.operator_token.as_str())
        } else if limit.path.starts_with("/v1/orgs/") {
            Some(token.as_str())
        } else {
            None
        };
        let size = app.log_size().await;
        let over = (limit.body)(&format!("over{i}"), (limit.value)(limit.max + 1));
        app.post_json(limit.path, credential, &over)
            .await
            .assert_problem(422, Some(limit.field));
        assert_eq!(app.log_size().await, size, "{name}: refused but appended");
        let at = (limit.body)(&format!("at{i}"), (limit.value)(limit.max));
        let answer = app.post_json(limit.path, credential, &at).await;
        assert_eq!(
            answer.status,
            limit.accepted,
            "{name} at its limit: {}",
            answer.text()
        );
    }
    note!("{} field limits checked", limits.len());
    app.finish().await;
}

// ---------------------------------------------------------------------------------------
// Rates, time, concurrency
// ---------------------------------------------------------------------------------------

/// Unauthenticated acknowledgements are limited per client IP: the first
/// `ACKNOWLEDGEMENTS_PER_MINUTE` (plus any refilled while they ran) are logged, then 429
/// with a `Retry-After` that is truthful, and the refused one appended nothing.
#[pennytrail_test]
async fn acknowledgements_are_rate_limited_per_client() {
    let app = TestApp::start(Backend::Sqlite).await;
    let token = app.new_org(ORG).await;
    let school_key = key("school", 3);
    let mut school = beneficiary("school", "organization");
    school["public_key"] = school_key.verifier().to_text().into();
    app.org_create(&token, ORG, "/beneficiaries", &school).await;
    app.org_create(
        &token,
        ORG,
        "/campaigns",
        &campaign("meals", "EUR", &["school"]),
    )
    .await;
    app.org_create(&token, ORG, "/donations", &donation("d0", "meals", 1000, 0))
        .await;
    let count = ACKNOWLEDGEMENTS_PER_MINUTE as usize + 20;
    let paid = app
        .org_create(
            &token,
            ORG,
            "/disbursements/batch",
            &json!({"disbursements": batch_items("disbursements", "x", count)}),
        )
        .await;
    let items = paid["items"].as_array().unwrap();
    let ack = |i: usize| {
        let seq = items[i]["seq"].as_u64().unwrap();
        let leaf = Hash::from_hex(items[i]["leaf_hash"].as_str().unwrap()).unwrap();
        let message = Acknowledgement::message(ORIGIN, seq, &leaf, AckStatus::Received, 1);
        (
            format!("/v1/orgs/{ORG}/disbursements/x{i}/acknowledgement"),
            json!({"status": "received", "amount_received": 1,
                   "signature": sign(&school_key, message.as_bytes())}),
        )
    };

    let started = Instant::now();
    let mut accepted = 0;
    let refused = loop {
        assert!(accepted < count, "never refused");
        let (path, body) = ack(accepted);
        let size = app.log_size().await;
        let response = app
            .client
            .post(format!("{}{path}", app.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            assert_eq!(
                app.log_size().await,
                size,
                "a refused acknowledgement was appended"
            );
            break response;
        }
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        accepted += 1;
    };
    let elapsed = started.elapsed();
    // The bucket refills one acknowledgement a second while the loop runs.
    let limit = ACKNOWLEDGEMENTS_PER_MINUTE as usize;
    assert!(
        (limit..=limit + elapsed.as_secs() as usize + 1).contains(&accepted),
        "{accepted} accepted in {elapsed:?}"
    );
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        retry_after, 1,
        "60 a minute: the next one comes within a second"
    );
    let problem: Value = refused.json().await.unwrap();
    assert_eq!(problem["status"], 429);
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let (path, body) = ack(accepted);
    let again = app.post_json(&path, None, &body).await;
    assert_eq!(again.status, 201, "after Retry-After: {}", again.text());
    note!("{accepted} acknowledgements accepted in {elapsed:?}, then 429");
    app.finish().await;
}

/// `--request-timeout-seconds`: a request whose body arrives slowly but in time is
/// logged; one whose body stalls is answered 408 (problem+json) once the timeout has
/// passed, and appends nothing. (A timeout has no byte-exact boundary: the slow request
/// takes half the timeout, the stalled one is cut off after it.)
#[pennytrail_test]
async fn requests_time_out() {
    const TIMEOUT: Duration = Duration::from_secs(2);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let service = ServiceProcess::start(&[
        "--data-dir",
        data.to_str().unwrap(),
        "--request-timeout-seconds",
        &TIMEOUT.as_secs().to_string(),
    ])
    .await
    .expect("starts");
    let operator = std::fs::read_to_string(data.join("operator.token"))
        .unwrap()
        .trim()
        .to_string();
    let log_size = || async {
        reqwest::get(format!("{}/v1/log", service.base))
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["size"]
            .as_u64()
            .unwrap()
    };
    let body =
        |id: &str| serde_json::to_vec(&json!({"id": id, "name": "Slow", "country": "DE"})).unwrap();

    // Slow but in time: half the body, a pause of half the timeout, the rest.
    let bytes = body("slow");
    let (first, rest) = bytes.split_at(bytes.len() / 2);
    let started = Instant::now();
    let mut stream = TcpStream::connect(authority(&service.base)).await.unwrap();
    stream
        .write_all(&post_head(
            &service.base,
            "/v1/admin/orgs",
            &operator,
            Some(bytes.len()),
        ))
        .await
        .unwrap();
    stream.write_all(first).await.unwrap();
    tokio::time::sleep(TIMEOUT / 2).await;
    stream.write_all(rest).await.unwrap();
    let answer = read_answer(&mut stream).await;
    assert_eq!(
        answer.status,
        201,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert!(started.elapsed() >= TIMEOUT / 2);
    let size = log_size().await;

    // Stalled: the rest of the body never comes.
    let bytes = body("stalled");
    let started = Instant::now();
    let mut stream = TcpStream::connect(authority(&service.base)).await.unwrap();
    stream
        .write_all(&post_head(
            &service.base,
            "/v1/admin/orgs",
            &operator,
            Some(bytes.len()),
        ))
        .await
        .unwrap();
    stream.write_all(&bytes[..bytes.len() / 2]).await.unwrap();
    let answer = read_answer(&mut stream).await;
    let elapsed = started.elapsed();
    assert_eq!(
        answer.status,
        408,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json")
    );
    let problem: Value = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(problem["type"], "urn:pennytrail:problem:timeout");
    assert!(
        elapsed >= TIMEOUT && elapsed < TIMEOUT * 2,
        "answered after {elapsed:?}"
    );
    assert_eq!(log_size().await, size, "the timed-out request appended");
    assert_eq!(DEFAULT_REQUEST_TIMEOUT, Duration::from_secs(30));

    // The API description lists the 408 on every operation the timeout covers, and only
    // there.
    let spec: Value = reqwest::get(format!("{}/openapi.json", service.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut timed = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let listed = &operation["responses"]["408"];
            if path == UNTIMED_PATH {
                assert!(listed.is_null(), "{method} {path} lists a 408");
            } else {
                assert_eq!(
                    listed["$ref"], "#/components/responses/RequestTimedOut",
                    "{method} {path}"
                );
                timed += 1;
            }
        }
    }
    assert!(timed >= 40, "only {timed} operations list the 408");
    assert!(
        spec["components"]["responses"]["RequestTimedOut"]["content"]["application/problem+json"]
            .is_object()
    );
    note!("stalled request answered 408 after {elapsed:?} (timeout {TIMEOUT:?})");
    service.terminate().await;
}

/// The limit flags refuse zero (a limit of nothing would refuse every write, or time out
/// every request) with a message naming the flag, instead of quietly using something else.
#[pennytrail_test]
fn limit_flags_refuse_zero() {
    for flag in ["--org-writes-per-second", "--request-timeout-seconds"] {
        let tmp = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(tmp.path())
            .args([flag, "0"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag} 0 was accepted");
        assert!(stderr.contains(flag), "{flag}: {stderr}");
    }
}

/// Opens an export stream that the client does not read: its small receive window fills
/// and the server's stream waits, holding its export slot.
async fn held_export(base: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket
        .connect(authority(base).parse().unwrap())
        .await
        .unwrap();
    stream
        .write_all(
            format!(
                "GET /v1/exports/entries.csv HTTP/1.1\r\nHost: {}\r\n\r\n",
                authority(base)
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    stream
}

/// `MAX_CONCURRENT_EXPORTS` streams run at once; one more is answered 503 with
/// `Retry-After`, and a slot freed by a client hanging up is taken again.
#[pennytrail_test]
async fn exports_are_limited_in_number() {
    let app = TestApp::start(Backend::Sqlite).await;
    let token = app.new_org(ORG).await;
    // About 1.4 KB per entries.csv row: far more than the socket buffers and the
    // stream's channel hold, so an unread stream cannot finish.
    for batch in 0..6 {
        let people: Vec<Value> = (0..MAX_BATCH_ITEMS)
            .map(|i| {
                let mut b = beneficiary(&format!("p{batch}-{i}"), "person");
                b["label"] = wide_text(MAX_NAME_CHARS);
                b
            })
            .collect();
        app.org_create(
            &token,
            ORG,
            "/beneficiaries/batch",
            &json!({"beneficiaries": people}),
        )
        .await;
    }

    let mut held = Vec::new();
    for _ in 0..MAX_CONCURRENT_EXPORTS {
        held.push(held_export(&app.base).await);
    }
    let busy = app
        .client
        .get(format!("{}/v1/exports/entries.csv", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(busy.status(), 503);
    let retry_after: u64 = busy.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let problem: Value = busy.json().await.unwrap();
    assert_eq!(problem["status"], 503);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains(&MAX_CONCURRENT_EXPORTS.to_string()),
        "{problem}"
    );

    // A client hangs up: its slot comes back (for any file; this slice is small).
    drop(held.pop());
    let started = Instant::now();
    let mut busy_answers = 0;
    let answer = loop {
        let answer = app.get("/v1/exports/orgs.csv?to=1").await;
        if answer.status != 503 || started.elapsed() > Duration::from_secs(10) {
            break answer;
        }
        busy_answers += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body[..200.min(answer.body.len())])
    );
    note!(
        "{MAX_CONCURRENT_EXPORTS} unread entries.csv streams held; a freed slot was taken \
         after {busy_answers} busy answers, {:?}",
        started.elapsed()
    );
    drop(held);
    app.finish().await;
}

/// The spec documents the limits' answers: 429 with `Retry-After` on every org write
/// (the token's rate) and on the per-IP routes, 503 with `Retry-After` on exports.
#[pennytrail_test]
async fn the_spec_documents_every_limit() {
    let app = TestApp::start(Backend::Sqlite).await;
    let spec = app.get_json("/openapi.json").await;
    let resolve = |response: &Value| -> Value {
        match response["$ref"].as_str() {
            Some(r) => {
                let name = r.rsplit('/').next().unwrap();
                spec["components"]["responses"][name].clone()
            }
            None => response.clone(),
        }
    };
    let mut rate_limited = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let name = format!("{method} {path}");
            let org_write = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("org_token").is_some()));
            let per_ip = path == "/v1/donors/lookup" || path.ends_with("/acknowledgement");
            let responses = &operation["responses"];
            if org_write || per_ip {
                let response = resolve(&responses["429"]);
                assert!(
                    response["headers"]["Retry-After"].is_object(),
                    "{name}: no documented 429 with Retry-After"
                );
                rate_limited += 1;
            } else {
                assert!(
                    responses.get("429").is_none(),
                    "{name}: 429 without a limit"
                );
            }
            if path == "/v1/exports/{file}" {
                assert!(resolve(&responses["503"])["headers"]["Retry-After"].is_object());
            }
        }
    }
    assert_eq!(rate_limited, 13, "11 org writes and 2 per-IP routes");
    app.finish().await;
}

/// One request of `path` with `body`, forwarded for `forwarded_for` (an
/// `X-Forwarded-For` value); returns the status.
async fn from_client(app: &TestApp, path: &str, body: &Value, forwarded_for: &str) -> u16 {
    app.client
        .post(format!("{}{path}", app.base))
        .header("X-Forwarded-For", forwarded_for)
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Spends `count` requests of `path` (each from the next of `clients`), all accepted
/// (not 429), then says what one more from `last` gets.
async fn spend(
    app: &TestApp,
    path: &str,
    body: &Value,
    count: usize,
    clients: impl Fn(usize) -> String,
    last: &str,
) -> u16 {
    for i in 0..count {
        let status = from_client(app, path, body, &clients(i)).await;
        assert_ne!(status, 429, "request {i} from {} was limited", clients(i));
    }
    from_client(app, path, body, last).await
}

/// The limits an attacker most wants around — donor lookups (guessing donors' emails)
/// and unauthenticated acknowledgements — hold: `X-Forwarded-For` is ignored unless the
/// peer is a `--trusted-proxy`; behind one, the client is the rightmost address the
/// proxies did not write themselves, an IPv6 client is one client per /64, and an
/// IPv4-mapped address is its IPv4 address.
#[pennytrail_test]
async fn per_client_limits_cannot_be_got_around() {
    let lookup = "/v1/donors/lookup";
    let body = json!({"org": ORG, "donor_ref": "guess@example.org"});
    let n = DONOR_LOOKUPS_PER_MINUTE as usize;

    // Without a trusted proxy, a forged header is ignored: every request is the peer's.
    let app = TestApp::start(Backend::Sqlite).await;
    let status = spend(
        &app,
        lookup,
        &body,
        n,
        |i| format!("198.51.100.{i}"),
        "203.0.113.1",
    )
    .await;
    assert_eq!(
        status, 429,
        "a rotated X-Forwarded-For got a fresh allowance"
    );
    let ack = json!({"status": "received", "amount_received": 1,
                     "signature": BASE64.encode([0u8; 64])});
    let ack_path = format!("/v1/orgs/{ORG}/disbursements/x0/acknowledgement");
    let status = spend(
        &app,
        &ack_path,
        &ack,
        ACKNOWLEDGEMENTS_PER_MINUTE as usize,
        |i| format!("2001:db8:{i:x}::1"),
        "2001:db8:ffff::1",
    )
    .await;
    assert_eq!(
        status, 429,
        "acknowledgements: a rotated X-Forwarded-For got through"
    );
    app.finish().await;

    // Behind a trusted proxy (here the test itself, on loopback).
    let app = TestApp::start_configured(Backend::Sqlite, |config| {
        config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    // One IPv6 host rotating through its /64 is one client; the next /64 is another.
    let status = spend(
        &app,
        lookup,
        &body,
        n,
        |i| format!("2001:db8::{:x}", i + 1),
        "2001:db8::ffff",
    )
    .await;
    assert_eq!(status, 429, "addresses of one /64 got separate allowances");
    assert_eq!(
        from_client(&app, lookup, &body, "2001:db8:0:1::1").await,
        200
    );
    // What the client writes left of the proxy's own entry does not count.
    assert_eq!(
        from_client(&app, lookup, &body, "192.0.2.1, 2001:db8::5").await,
        429
    );
    // An IPv4-mapped address is its IPv4 address.
    let status = spend(
        &app,
        lookup,
        &body,
        n,
        |_| "::ffff:203.0.113.9".into(),
        "203.0.113.9",
    )
    .await;
    assert_eq!(status, 429, "an IPv4-mapped address got its own allowance");
    // A client the proxies forwarded for is its own: another address is not limited.
    assert_eq!(from_client(&app, lookup, &body, "203.0.113.10").await, 200);
    app.finish().await;
}
