//! Authentication of every write route, on SQLite and PostgreSQL.
//!
//! The write routes are read from the served `/openapi.json` (every operation that is not
//! a GET), so a route added later cannot escape: each must have a probe in [`probe`] or be
//! listed in [`UNAUTHENTICATED`] with the reason it takes no token, or this test fails.
//! For every protected route, each with a request that is valid apart from its credential:
//! - no `Authorization` header, malformed ones (another scheme, no token, a bare token,
//!   non-UTF-8 bytes), a wrong token, the org's revoked token (while the org has none, and
//!   after the operator reissued one) and its superseded token answer 401 with
//!   `WWW-Authenticate: Bearer`;
//! - another org's valid token answers 403 on an org's route; a token of the wrong kind
//!   (the operator's on an org route, any org's on an operator route) answers 401, since
//!   it is no credential for that route at all;
//! - not one of these refusals appends anything (the log size is unchanged);
//! - the same request with the right token then succeeds, which proves the refusals were
//!   about the credential and not the body;
//! - the route's OpenAPI entry names its security scheme and documents every refusal seen.
//!
//! The unauthenticated routes must work without a token and claim no security scheme.
//! The `Bearer` scheme name is matched case-insensitively (RFC 9110 §11.1).
//!
//! Tokens are stored only hashed: after tokens were issued, reissued and revoked, neither
//! a token's text nor its decoded bytes (raw or hex) are in the database files (SQLite's
//! main file, WAL and shared memory, read while the service runs; a `pg_dump` on
//! PostgreSQL), while the hash of a live token is found there, so the scan reads where the
//! tokens live. The comparison of a presented token with the stored hash is constant-time
//! (`subtle::ConstantTimeEq` over the SHA-256 digests, `matches` in src/api/auth.rs).

use crate::support::{ORIGIN, TestApp, pennytrail_test};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use pennytrail::api::auth::{ORG_TOKEN_PREFIX, token_hash};
use pennytrail::ledger::attestations::{AckStatus, Acknowledgement, KeyRotation, Report, sign};
use pennytrail::log::hash::Hash;
use pennytrail::log::note::NoteSigner;
use reqwest::header::{AUTHORIZATION, HeaderValue, WWW_AUTHENTICATE};
use serde_json::{Value, json};

/// Write operations that take no token, and why.
const UNAUTHENTICATED: [(&str, &str, &str); 2] = [
    (
        "POST",
        "/v1/orgs/{org}/disbursements/{id}/acknowledgement",
        "the beneficiary writes it, not the org: its Ed25519 signature by the key its org \
         stated for it is the authentication (and requests are rate-limited per client IP)",
    ),
    (
        "POST",
        "/v1/donors/lookup",
        "a read that writes nothing: POST only keeps the donor reference out of URLs and \
         access logs (and lookups are rate-limited per client IP)",
    ),
];

/// The org whose routes are probed.
const ORG: &str = "alpha";
/// Another org, whose valid token must not write `ORG`'s records.
const OTHER: &str = "beta";
/// The org whose token the operator routes reissue and revoke.
const SPARE: &str = "spare";

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    Operator,
    Org,
}

impl Guard {
    /// The OpenAPI security scheme that names this credential.
    fn scheme(self) -> &'static str {
        match self {
            Guard::Operator => pennytrail::api::openapi::OPERATOR_TOKEN,
            Guard::Org => pennytrail::api::openapi::ORG_TOKEN,
        }
    }
}

/// One write request, valid apart from its credential.
struct Probe {
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
    guard: Guard,
    /// The status of the request with the right token.
    success: u16,
    /// The key rotation replaces the key the report is signed with, so it goes last.
    last: bool,
}

/// An HTTP answer with its headers.
struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What the probes need: the org's tokens in each state, other credentials, and the
/// signed bodies of the statement routes.
struct Fixture {
    /// `ORG`'s first token, revoked by the operator.
    revoked: String,
    /// The token the operator issued after revoking, replaced by a later reissue.
    superseded: String,
    /// `ORG`'s current token.
    current: String,
    /// `OTHER`'s current token.
    other: String,
    operator: String,
    disbursement_seq: u64,
    report: Value,
    rotation: Value,
    acknowledgement: Value,
    /// Every token issued so far (for the storage scan).
    issued: Vec<String>,
}

fn key(name: &str, seed: u8) -> NoteSigner {
    NoteSigner::from_seed(name, [seed; 32]).unwrap()
}

/// The request for a write operation of the spec, or None if this file has no probe.
fn probe(method: &str, template: &str, fx: &Fixture) -> Option<Probe> {
    let org_path = |rest: &str| format!("/v1/orgs/{ORG}{rest}");
    let (guard, path, body, success) = match (method, template) {
        ("POST", "/v1/admin/orgs") => (
            Guard::Operator,
            template.to_string(),
            Some(json!({"id": "newcomer", "name": "Newcomer", "country": "DE"})),
            201,
        ),
        ("POST", "/v1/admin/orgs/{org}/key") => (
            Guard::Operator,
            format!("/v1/admin/orgs/{SPARE}/key"),
            Some(json!({"public_key": key("spare-reports", 9).verifier().to_text()})),
            201,
        ),
        ("POST", "/v1/admin/orgs/{org}/token") => (
            Guard::Operator,
            format!("/v1/admin/orgs/{SPARE}/token"),
            None,
            201,
        ),
        ("DELETE", "/v1/admin/orgs/{org}/token") => (
            Guard::Operator,
            format!("/v1/admin/orgs/{SPARE}/token"),
            None,
            204,
        ),
        ("POST", "/v1/orgs/{org}/beneficiaries") => (
            Guard::Org,
            org_path("/beneficiaries"),
            Some(beneficiary("kitchen")),
            201,
        ),
        ("POST", "/v1/orgs/{org}/beneficiaries/batch") => (
            Guard::Org,
            org_path("/beneficiaries/batch"),
            Some(json!({"beneficiaries": [beneficiary("bakery")]})),
            201,
        ),
        ("POST", "/v1/orgs/{org}/campaigns") => (
            Guard::Org,
            org_path("/campaigns"),
            Some(
                json!({"id": "books", "title": "Books", "purpose": "School books",
                        "currency": "EUR", "beneficiaries": ["school"]}),
            ),
            201,
        ),
        ("POST", "/v1/orgs/{org}/campaigns/{campaign}/beneficiaries") => (
            Guard::Org,
            org_path("/campaigns/meals/beneficiaries"),
            Some(json!({"beneficiaries": ["late"]})),
            201,
        ),
        ("POST", "/v1/orgs/{org}/donations") => (
            Guard::Org,
            org_path("/donations"),
            Some(donation("d-single")),
            201,
        ),
        ("POST", "/v1/orgs/{org}/donations/batch") => (
            Guard::Org,
            org_path("/donations/batch"),
            Some(json!({"donations": [donation("d-batch")]})),
            201,
        ),
        ("POST", "/v1/orgs/{org}/disbursements") => (
            Guard::Org,
            org_path("/disbursements"),
            Some(disbursement("x-single")),
            201,
        ),
        ("POST", "/v1/orgs/{org}/disbursements/batch") => (
            Guard::Org,
            org_path("/disbursements/batch"),
            Some(json!({"disbursements": [disbursement("x-batch")]})),
            201,
        ),
        ("POST", "/v1/orgs/{org}/corrections") => (
            Guard::Org,
            org_path("/corrections"),
            Some(json!({"id": "fix-1", "corrects": fx.disbursement_seq,
                        "fields": {"purpose": "School lunches"}})),
            201,
        ),
        ("POST", "/v1/orgs/{org}/reports") => (
            Guard::Org,
            org_path("/reports"),
            Some(fx.report.clone()),
            201,
        ),
        ("POST", "/v1/orgs/{org}/key") => {
            (Guard::Org, org_path("/key"), Some(fx.rotation.clone()), 201)
        }
        _ => return None,
    };
    Some(Probe {
        method: reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        last: template.ends_with("/key"),
        path,
        body,
        guard,
        success,
    })
}

fn beneficiary(id: &str) -> Value {
    json!({"id": id, "label": format!("Beneficiary {id}"), "kind": "supplier", "country": "KE"})
}

fn donation(id: &str) -> Value {
    json!({"id": id, "campaign": "meals", "amount": 500, "fee": 10, "channel": "card"})
}

fn disbursement(id: &str) -> Value {
    json!({"id": id, "campaign": "meals", "beneficiary": "school", "amount": 20,
           "purpose": "School meals"})
}

/// Sends `probe` with the `Authorization` header `authorization` (none if None).
async fn send(app: &TestApp, probe: &Probe, authorization: Option<HeaderValue>) -> Reply {
    let mut request = app
        .client
        .request(probe.method.clone(), format!("{}{}", app.base, probe.path));
    if let Some(body) = &probe.body {
        request = request
            .header("content-type", "application/json")
            .body(serde_json::to_vec(body).unwrap());
    }
    if let Some(value) = authorization {
        request = request.header(AUTHORIZATION, value);
    }
    let response = request.send().await.expect("request");
    Reply {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.bytes().await.expect("body").to_vec(),
    }
}

fn bearer(token: &str) -> Option<HeaderValue> {
    Some(HeaderValue::from_str(&format!("Bearer {token}")).unwrap())
}

fn raw(value: &[u8]) -> Option<HeaderValue> {
    Some(HeaderValue::from_bytes(value).unwrap())
}

/// The credentials every protected route must refuse, with the status each must get.
fn refused_credentials(
    fx: &Fixture,
    guard: Guard,
) -> Vec<(&'static str, Option<HeaderValue>, u16)> {
    let right = match guard {
        Guard::Operator => fx.operator.clone(),
        Guard::Org => fx.current.clone(),
    };
    let mut altered = right.clone().into_bytes();
    let last = altered.last_mut().unwrap();
    *last = if *last == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    let mut wrong = [0u8; 32];
    getrandom::fill(&mut wrong).unwrap();
    let wrong = format!("{ORG_TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(wrong));
    let basic = format!("Basic {}", STANDARD.encode(format!("{ORG}:{right}")));
    let mut list = vec![
        ("no Authorization header", None, 401),
        ("an empty Authorization header", raw(b""), 401),
        ("the Basic scheme", raw(basic.as_bytes()), 401),
        ("Bearer without a token", raw(b"Bearer"), 401),
        ("Bearer and spaces", raw(b"Bearer    "), 401),
        (
            "the right token under another scheme",
            raw(format!("Token {right}").as_bytes()),
            401,
        ),
        (
            "the right token without a scheme",
            raw(right.as_bytes()),
            401,
        ),
        ("non-UTF-8 bytes", raw(b"Bearer \xff\xfe\xfd"), 401),
        ("a random token", bearer(&wrong), 401),
        (
            "the right token with its last character changed",
            bearer(&altered),
            401,
        ),
        ("the org's revoked token", bearer(&fx.revoked), 401),
        ("the org's superseded token", bearer(&fx.superseded), 401),
    ];
    match guard {
        Guard::Org => {
            list.push(("another org's valid token", bearer(&fx.other), 403));
            list.push(("the operator token", bearer(&fx.operator), 401));
        }
        Guard::Operator => {
            list.push(("another org's valid token", bearer(&fx.other), 401));
            list.push(("the org's own valid token", bearer(&fx.current), 401));
        }
    }
    list
}

/// Asserts a refusal: its status, the problem shape, the 401 challenge.
fn assert_refused(reply: &Reply, status: u16, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.text());
    assert_eq!(
        reply.headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/problem+json"[..]),
        "{what}"
    );
    assert_eq!(reply.json()["status"], status, "{what}");
    if status == 401 {
        assert_eq!(
            reply.headers.get(WWW_AUTHENTICATE).map(|v| v.as_bytes()),
            Some(&b"Bearer"[..]),
            "{what}: a 401 names the scheme"
        );
    }
}

/// The write operations of the spec: every operation that is not a GET.
fn write_operations(spec: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, _) in item.as_object().expect("path item") {
            if ["put", "post", "delete", "patch"].contains(&method.as_str()) {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

/// Registers the orgs, the records the probes refer to, and the org's tokens in each
/// state; signs the report, rotation and acknowledgement bodies.
async fn fixture(app: &TestApp) -> Fixture {
    let org_key = key("alpha-reports", 1);
    let school_key = key("school-ack", 3);
    let registered = app
        .register_org(&json!({"id": ORG, "name": "Alpha", "country": "DE",
                              "public_key": org_key.verifier().to_text()}))
        .await;
    assert_eq!(registered.status, 201, "{}", registered.text());
    let key_seq = registered.json()["seq"].as_u64().unwrap();
    let first = registered.json()["api_token"].as_str().unwrap().to_string();
    let other = app.new_org(OTHER).await;
    let spare = app.new_org(SPARE).await;

    let mut school = beneficiary("school");
    school["kind"] = "organization".into();
    school["public_key"] = school_key.verifier().to_text().into();
    app.org_create(&first, ORG, "/beneficiaries", &school).await;
    app.org_create(&first, ORG, "/beneficiaries", &beneficiary("late"))
        .await;
    app.org_create(
        &first,
        ORG,
        "/campaigns",
        &json!({"id": "meals", "title": "Meals", "purpose": "School meals",
                "currency": "EUR", "beneficiaries": ["school"]}),
    )
    .await;
    app.org_create(&first, ORG, "/donations", &donation("d0"))
        .await;
    let paid = app
        .org_create(&first, ORG, "/disbursements", &disbursement("x0"))
        .await;
    let disbursement_seq = paid["seq"].as_u64().unwrap();
    let leaf = Hash::from_hex(paid["leaf_hash"].as_str().unwrap()).unwrap();
    let acknowledgement = json!({
        "status": "received",
        "amount_received": 20,
        "signature": sign(&school_key, Acknowledgement::message(
            ORIGIN, disbursement_seq, &leaf, AckStatus::Received, 20).as_bytes()),
    });

    // A report over everything so far, signed by the org's key.
    let to = app.log_size().await;
    let figures = app
        .get_json(&format!("/v1/orgs/{ORG}/report-figures?from=0&to={to}"))
        .await;
    let report_figures = serde_json::from_value(json!({
        "campaigns": figures["campaigns"],
        "beneficiary_kinds": figures["beneficiary_kinds"],
    }))
    .unwrap();
    let unsigned = Report::unsigned_body("r1", 0, to, &report_figures, None);
    let report = json!({
        "id": "r1", "from_size": 0, "to_size": to,
        "campaigns": figures["campaigns"], "beneficiary_kinds": figures["beneficiary_kinds"],
        "signature": sign(&org_key, &Report::message(ORIGIN, ORG, &unsigned).unwrap()),
    });
    let new_key = key("alpha-reports-2", 2).verifier().to_text();
    let rotation = json!({
        "public_key": new_key,
        "signature": sign(&org_key, KeyRotation::message(ORIGIN, ORG, key_seq, &new_key).as_bytes()),
    });

    Fixture {
        revoked: first.clone(),
        superseded: String::new(),
        current: String::new(),
        other: other.clone(),
        operator: app.operator_token.clone(),
        disbursement_seq,
        report,
        rotation,
        acknowledgement,
        issued: vec![first, other, spare, app.operator_token.clone()],
    }
}

async fn operator_token_call(app: &TestApp, method: reqwest::Method, org: &str) -> Reply {
    let probe = Probe {
        method,
        path: format!("/v1/admin/orgs/{org}/token"),
        body: None,
        guard: Guard::Operator,
        success: 0,
        last: false,
    };
    send(app, &probe, bearer(&app.operator_token)).await
}

/// Issues a new token to `org` and returns it.
async fn reissue(app: &TestApp, org: &str) -> String {
    let reply = operator_token_call(app, reqwest::Method::POST, org).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()["api_token"].as_str().unwrap().to_string()
}

#[pennytrail_test(both_backends)]
async fn every_write_route_refuses_bad_credentials(app: TestApp) {
    let mut fx = fixture(&app).await;
    let spec = app.get_json("/openapi.json").await;
    let operations = write_operations(&spec);

    // Every write operation is probed here or exempt with a reason, and both lists are
    // current.
    let exempt: BTreeSet<(String, String)> = UNAUTHENTICATED
        .iter()
        .map(|(m, p, reason)| {
            assert!(!reason.is_empty());
            (m.to_string(), p.to_string())
        })
        .collect();
    let mut probes = Vec::new();
    let mut unprobed = Vec::new();
    for (method, path) in &operations {
        if exempt.contains(&(method.clone(), path.clone())) {
            continue;
        }
        match probe(method, path, &fx) {
            Some(p) => probes.push(((method.clone(), path.clone()), p)),
            None => unprobed.push(format!("{method} {path}")),
        }
    }
    assert!(
        unprobed.is_empty(),
        "write routes with neither an auth probe in tests/integration/auth.rs nor an entry in \
         UNAUTHENTICATED: {unprobed:?}"
    );
    let stale: Vec<_> = exempt.difference(&operations).collect();
    assert!(
        stale.is_empty(),
        "UNAUTHENTICATED names routes the spec lacks: {stale:?}"
    );
    assert!(probes.len() >= 14, "only {} routes probed", probes.len());

    // While the org has no token at all, its revoked one writes nothing.
    let revoked = operator_token_call(&app, reqwest::Method::DELETE, ORG).await;
    assert_eq!(revoked.status, 204, "{}", revoked.text());
    let size = app.log_size().await;
    for ((method, path), p) in &probes {
        let reply = send(&app, p, bearer(&fx.revoked)).await;
        assert_refused(
            &reply,
            401,
            &format!("{method} {path}, org without a token"),
        );
    }
    assert_eq!(app.log_size().await, size);
    fx.superseded = reissue(&app, ORG).await;
    fx.current = reissue(&app, ORG).await;
    fx.issued
        .extend([fx.superseded.clone(), fx.current.clone()]);

    let mut documented_refusals: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    let mut refusals = 0;
    for ((method, path), p) in &probes {
        let name = format!("{method} {path}");
        for (what, credential, status) in refused_credentials(&fx, p.guard) {
            let size = app.log_size().await;
            let reply = send(&app, p, credential).await;
            assert_refused(&reply, status, &format!("{name}, {what}"));
            assert_eq!(app.log_size().await, size, "{name}, {what}: appended");
            documented_refusals
                .entry(name.clone())
                .or_default()
                .insert(status);
            refusals += 1;
        }

        // The spec says who may call, and documents every refusal seen.
        let operation = &spec["paths"][path][method.to_lowercase()];
        assert_eq!(
            operation["security"],
            json!([{p.guard.scheme(): []}]),
            "{name}: security requirement"
        );
        for status in &documented_refusals[&name] {
            assert!(
                operation["responses"].get(status.to_string()).is_some(),
                "{name}: {status} is answered but not documented"
            );
        }
    }

    note!(
        "{:?}: {} write routes probed, {refusals} bad credentials refused ({} more while \
         the org had no token); {} routes exempt",
        app.backend,
        probes.len(),
        probes.len(),
        UNAUTHENTICATED.len()
    );

    // The same requests with the right token succeed: the refusals were about the
    // credential alone.
    probes.sort_by_key(|(_, p)| p.last);
    for ((method, path), p) in &probes {
        let right = match p.guard {
            Guard::Operator => &fx.operator,
            Guard::Org => &fx.current,
        };
        let reply = send(&app, p, bearer(right)).await;
        assert_eq!(
            reply.status,
            p.success,
            "{method} {path} with the right token: {}",
            reply.text()
        );
        if let Some(token) = reply.json()["api_token"].as_str() {
            fx.issued.push(token.to_string());
        }
    }

    // The scheme name is case-insensitive.
    for scheme in ["bearer", "BEARER"] {
        let p = probe("POST", "/v1/orgs/{org}/beneficiaries", &fx).unwrap();
        let p = Probe {
            body: Some(beneficiary(&format!("case-{scheme}"))),
            ..p
        };
        let reply = send(&app, &p, raw(format!("{scheme} {}", fx.current).as_bytes())).await;
        assert_eq!(reply.status, 201, "scheme {scheme:?}: {}", reply.text());
    }

    // The unauthenticated routes claim no security and work without a token.
    for (method, path, _) in UNAUTHENTICATED {
        let operation = &spec["paths"][path][method.to_lowercase()];
        assert!(
            operation.get("security").is_none(),
            "{method} {path} is unauthenticated but its spec names a security scheme"
        );
    }
    let acknowledged = app
        .post_json(
            &format!("/v1/orgs/{ORG}/disbursements/x0/acknowledgement"),
            None,
            &fx.acknowledgement,
        )
        .await;
    assert_eq!(acknowledged.status, 201, "{}", acknowledged.text());
    let looked_up = app
        .post_json(
            "/v1/donors/lookup",
            None,
            &json!({"org": ORG, "donor_ref": "nobody@example.org"}),
        )
        .await;
    assert_eq!(looked_up.status, 200, "{}", looked_up.text());

    tokens_are_stored_only_hashed(&app, &fx.issued, &fx.current).await;
    app.finish().await;
}

/// Where `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn files_in(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_in(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Scans the database for the plaintext of every token in `issued`, and for the stored
/// hash of `live` (the control).
async fn tokens_are_stored_only_hashed(app: &TestApp, issued: &[String], live: &str) {
    let mut haystacks: Vec<(String, Vec<u8>)> = Vec::new();
    match &app.db {
        None => {
            // The service is running: recent writes are still in the WAL.
            for path in files_in(app.data_dir.path()) {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if name == "operator.token" {
                    // The operator's own copy, by design (mode 0600).
                    continue;
                }
                haystacks.push((name, std::fs::read(&path).unwrap()));
            }
            assert!(
                haystacks.iter().any(|(name, _)| name.ends_with("-wal")),
                "the SQLite WAL is among the scanned files: {:?}",
                haystacks.iter().map(|(n, _)| n).collect::<Vec<_>>()
            );
        }
        Some(db) => {
            let dump = std::process::Command::new("pg_dump")
                .arg(&db.url)
                .output()
                .expect("pg_dump");
            assert!(
                dump.status.success(),
                "{}",
                String::from_utf8_lossy(&dump.stderr)
            );
            haystacks.push(("pg_dump".into(), dump.stdout));
        }
    }
    let control = token_hash(live).0;
    let found = haystacks.iter().any(|(_, bytes)| {
        contains(bytes, &control) || contains(bytes, hex::encode(control).as_bytes())
    });
    assert!(
        found,
        "the scan does not find the stored hash of a live token"
    );

    assert!(issued.len() >= 8, "{} tokens issued", issued.len());
    for token in issued {
        let secret = token
            .split_once('_')
            .map(|(_, s)| s)
            .expect("tokens have a prefix");
        let decoded = URL_SAFE_NO_PAD.decode(secret).unwrap();
        for (form, needle) in [
            ("text", secret.as_bytes().to_vec()),
            ("decoded bytes", decoded.clone()),
            ("decoded bytes in hex", hex::encode(&decoded).into_bytes()),
        ] {
            for (name, bytes) in &haystacks {
                assert!(
                    !contains(bytes, &needle),
                    "a token's {form} is stored in {name}"
                );
            }
        }
    }
}
