//! Signed statements end to end (issue 5): beneficiaries' acknowledgements and disputes,
//! charities' signed reports and key rotations.
//!
//! - Over HTTP, on both backends: the happy path (acks, disputes, the campaign and
//!   disbursement views, reports over the whole log and over a middle range whose figures
//!   this file computes itself from what it posted), and every refusal (422 with `rule`
//!   and `field`, the log unchanged).
//! - The CLI through the real binary: `keygen`, `ack draft`, `report draft`, `sign`,
//!   `publish`.
//! - The verifier: a bundle of a real store verifies and counts the statements; edits to
//!   the statements' rows or entries are refused and located; and logs signed with the
//!   real log key whose statements break a rule (a wrong figure, a bad signature, a
//!   rotated-away key, …) are refused naming the rule.
//!
//! The signed messages are built here by hand from the spec (README "Signed statements"),
//! not with the library's helpers, so a change to the format fails these tests.

use crate::support::{
    self, Answer, Backend, Bundle, ORIGIN, TestApp, pennytrail_test, read_bundle,
    rehashed_datapackage, write_bundle,
};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;

use base64::Engine as _;
use pennytrail::export::export_store;
use pennytrail::ledger::attestations::{
    AckStatus, Acknowledgement, KeyRotation, Report, ReportFigures, sign, signature_valid,
};
use pennytrail::log::checkpoint::Checkpoint;
use pennytrail::log::entry::{COMMON_FIELDS, ChainHead, EntryHeader, parse, seal};
use pennytrail::log::hash::{Hash, leaf_hash, sha256};
use pennytrail::log::merkle::Frontier;
use pennytrail::log::note::{NoteSigner, NoteVerifier};
use pennytrail::log::time::UnixMillis;
use pennytrail_bundle::csv_out::{Cell, CsvOut};
use pennytrail_bundle::derive::Deriver;
use pennytrail_bundle::tables::TABLES;
use pennytrail_bundle::verify::{VerifyError, VerifyReport, verify_bundle};
use pennytrail_bundle::{CHECKPOINT_FILE, DATAPACKAGE_FILE, README_FILE, package};
use serde_json::{Map, Value, json};

const ORG: &str = "helping-hands";

// ---------------------------------------------------------------------------------------
// Keys and the exact signed messages, written from the spec.
// ---------------------------------------------------------------------------------------

fn key(name: &str, seed: u8) -> NoteSigner {
    NoteSigner::from_seed(name, [seed; 32]).unwrap()
}

fn public(signer: &NoteSigner) -> String {
    signer.verifier().to_text()
}

/// RFC 8785 for the values these tests sign: ASCII keys sorted, no whitespace, integers.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let members: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}

fn ack_message(seq: u64, leaf_hex: &str, status: &str, amount_received: i64) -> String {
    format!("pennytrail/ack/v1\n{ORIGIN}\n{seq}\n{leaf_hex}\n{status}\n{amount_received}\n")
}

fn rotation_message(org: &str, current_key_seq: u64, new_key: &str) -> String {
    format!("pennytrail/org-key/v1\n{ORIGIN}\n{org}\n{current_key_seq}\n{new_key}\n")
}

/// The report's fields as logged and signed, without `signature` and `org`.
fn unsigned_report(id: &str, from: u64, to: u64, figures: &Value, document: Option<&str>) -> Value {
    let mut body = json!({
        "report": id,
        "from_size": from,
        "to_size": to,
        "campaigns": figures["campaigns"],
        "beneficiary_kinds": figures["beneficiary_kinds"],
    });
    if let Some(d) = document {
        body["document_sha256"] = d.into();
    }
    body
}

fn report_message(org: &str, unsigned: &Value) -> Vec<u8> {
    let mut body = unsigned.clone();
    body["org"] = org.into();
    format!("pennytrail/report/v1\n{ORIGIN}\n{}\n", canonical(&body)).into_bytes()
}

/// The request body of `POST …/reports`, signed by `signer`.
fn report_request(
    org: &str,
    signer: &NoteSigner,
    id: &str,
    from: u64,
    to: u64,
    figures: &Value,
    document: Option<&str>,
) -> Value {
    let unsigned = unsigned_report(id, from, to, figures, document);
    let signature = sign(signer, &report_message(org, &unsigned));
    let mut body = json!({
        "id": id,
        "from_size": from,
        "to_size": to,
        "campaigns": figures["campaigns"],
        "beneficiary_kinds": figures["beneficiary_kinds"],
        "signature": signature,
    });
    if let Some(d) = document {
        body["document_sha256"] = d.into();
    }
    body
}

/// 64 bytes from the OS, standard base64: a well-formed signature nobody made.
fn random_signature() -> String {
    let mut bytes = [0u8; 64];
    getrandom::fill(&mut bytes).unwrap();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[pennytrail_test]
fn the_messages_written_here_are_the_ones_the_library_signs() {
    // If these differ, either the spec (README) or the code moved; both are public.
    let leaf = Hash([0x5a; 32]);
    assert_eq!(
        ack_message(17, &leaf.to_hex(), "disputed", 250),
        Acknowledgement::message(ORIGIN, 17, &leaf, AckStatus::Disputed, 250)
    );
    assert_eq!(
        rotation_message(ORG, 3, "k+01020304+AAAA"),
        KeyRotation::message(ORIGIN, ORG, 3, "k+01020304+AAAA")
    );
    let figures = json!({
        "campaigns": [{"campaign": "meals", "currency": "EUR", "received": 10, "fees": 1,
                       "net": 9, "disbursed": 5, "held": 4}],
        "beneficiary_kinds": [{"currency": "EUR", "beneficiary_kind": "supplier", "disbursed": 5}],
    });
    let typed: ReportFigures = serde_json::from_value(figures.clone()).unwrap();
    let document = "ab".repeat(32);
    assert_eq!(
        report_message(
            ORG,
            &unsigned_report("q4", 2, 12, &figures, Some(&document))
        ),
        Report::message(
            ORIGIN,
            ORG,
            &Report::unsigned_body("q4", 2, 12, &typed, Some(&document))
        )
        .unwrap()
    );
}

// ---------------------------------------------------------------------------------------
// A world posted over HTTP, with an independent model of its money.
// ---------------------------------------------------------------------------------------

/// What the test posted, to compute report figures without the service.
#[derive(Default, Clone)]
struct Model {
    /// (campaign, currency, seq it was opened at), in opening order.
    campaigns: Vec<(String, String, u64)>,
    kinds: HashMap<String, String>,
    /// (seq, campaign, amount, fee)
    donations: Vec<(u64, String, i64, i64)>,
    /// (seq, campaign, beneficiary, amount)
    disbursements: Vec<(u64, String, String, i64)>,
}

impl Model {
    /// The figures of a report over `[from, to)`, as the spec defines them.
    fn figures(&self, from: u64, to: u64) -> Value {
        let within = |seq: u64| from <= seq && seq < to;
        let mut campaigns = Vec::new();
        for (id, currency, opened) in &self.campaigns {
            if *opened >= to {
                continue;
            }
            let mut line = [0i64; 5]; // received, fees, disbursed, net at `to`, paid at `to`
            for (seq, _, amount, fee) in self.donations.iter().filter(|d| &d.1 == id) {
                if within(*seq) {
                    line[0] += amount;
                    line[1] += fee;
                }
                if *seq < to {
                    line[3] += amount - fee;
                }
            }
            for (seq, _, _, amount) in self.disbursements.iter().filter(|d| &d.1 == id) {
                if within(*seq) {
                    line[2] += amount;
                }
                if *seq < to {
                    line[4] += amount;
                }
            }
            campaigns.push(json!({
                "campaign": id, "currency": currency, "received": line[0], "fees": line[1],
                "net": line[0] - line[1], "disbursed": line[2], "held": line[3] - line[4],
            }));
        }
        let mut kinds: BTreeMap<(String, String), i64> = BTreeMap::new();
        for (seq, campaign, beneficiary, amount) in &self.disbursements {
            if within(*seq) {
                let currency = &self.campaigns.iter().find(|c| &c.0 == campaign).unwrap().1;
                *kinds
                    .entry((currency.clone(), self.kinds[beneficiary].clone()))
                    .or_default() += amount;
            }
        }
        let kinds: Vec<Value> = kinds
            .into_iter()
            .map(|((currency, kind), disbursed)| {
                json!({"currency": currency, "beneficiary_kind": kind, "disbursed": disbursed})
            })
            .collect();
        json!({"campaigns": campaigns, "beneficiary_kinds": kinds})
    }
}

/// A posted disbursement: what an acknowledgement signs.
#[derive(Clone)]
struct Payout {
    seq: u64,
    leaf: String,
    amount: i64,
}

struct World {
    token: String,
    /// Seq of the org's registration (which set its first key).
    org_seq: u64,
    org_key: NoteSigner,
    school: NoteSigner,
    farm: NoteSigner,
    model: Model,
    /// Seq of every record posted, by id.
    seqs: HashMap<String, u64>,
    payouts: HashMap<String, Payout>,
}

impl World {
    async fn campaign(&mut self, app: &TestApp, id: &str, currency: &str, stated: &[&str]) {
        let body = json!({"id": id, "title": format!("Campaign {id}"), "purpose": "Help",
                          "currency": currency, "beneficiaries": stated});
        let answer = app.org_create(&self.token, ORG, "/campaigns", &body).await;
        let seq = answer["seq"].as_u64().unwrap();
        self.model
            .campaigns
            .push((id.to_string(), currency.to_string(), seq));
        self.seqs.insert(id.to_string(), seq);
    }

    async fn donate(&mut self, app: &TestApp, id: &str, campaign: &str, amount: i64, fee: i64) {
        let body = json!({"id": id, "campaign": campaign, "amount": amount, "fee": fee,
                          "channel": "card"});
        let answer = app.org_create(&self.token, ORG, "/donations", &body).await;
        let seq = answer["seq"].as_u64().unwrap();
        self.model
            .donations
            .push((seq, campaign.to_string(), amount, fee));
        self.seqs.insert(id.to_string(), seq);
    }

    async fn pay(&mut self, app: &TestApp, id: &str, campaign: &str, to: &str, amount: i64) {
        let body = json!({"id": id, "campaign": campaign, "beneficiary": to, "amount": amount,
                          "purpose": "Supplies"});
        let answer = app
            .org_create(&self.token, ORG, "/disbursements", &body)
            .await;
        let seq = answer["seq"].as_u64().unwrap();
        let leaf = answer["leaf_hash"].as_str().unwrap().to_string();
        self.model
            .disbursements
            .push((seq, campaign.to_string(), to.to_string(), amount));
        self.seqs.insert(id.to_string(), seq);
        self.payouts
            .insert(id.to_string(), Payout { seq, leaf, amount });
    }

    fn figures(&self, from: u64, to: u64) -> Value {
        self.model.figures(from, to)
    }

    /// A signed acknowledgement request body for disbursement `id`.
    fn ack(&self, id: &str, signer: &NoteSigner, status: &str, amount_received: i64) -> Value {
        let p = &self.payouts[id];
        let message = ack_message(p.seq, &p.leaf, status, amount_received);
        json!({"status": status, "amount_received": amount_received,
               "signature": sign(signer, message.as_bytes())})
    }
}

fn ack_path(org: &str, disbursement: &str) -> String {
    format!("/v1/orgs/{org}/disbursements/{disbursement}/acknowledgement")
}

/// Posts a world for `ORG`: an org with a key; beneficiaries `school` (organization) and
/// `farm` (supplier) with keys and `ops` (overhead) without; campaign `meals` (EUR), later
/// `wells` (USD); donations and disbursements on both. No statements yet.
async fn seed(app: &TestApp) -> World {
    let org_key = key(ORG, 1);
    let school = key("school", 2);
    let farm = key("farm", 3);
    let registered = app
        .register_org(
            &json!({"id": ORG, "name": "Helping Hands e.V.", "country": "DE",
                              "public_key": public(&org_key)}),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.text());
    let registered = registered.json();
    let mut world = World {
        token: registered["api_token"].as_str().unwrap().to_string(),
        org_seq: registered["seq"].as_u64().unwrap(),
        org_key,
        school,
        farm,
        model: Model::default(),
        seqs: HashMap::new(),
        payouts: HashMap::new(),
    };
    for (id, kind, key) in [
        ("school", "organization", Some(public(&world.school))),
        ("farm", "supplier", Some(public(&world.farm))),
        ("ops", "overhead", None),
    ] {
        let mut body = json!({"id": id, "label": format!("Beneficiary {id}"), "kind": kind,
                              "country": "KE"});
        if let Some(k) = key {
            body["public_key"] = k.into();
        }
        app.org_create(&world.token, ORG, "/beneficiaries", &body)
            .await;
        world.model.kinds.insert(id.into(), kind.into());
    }
    world
        .campaign(app, "meals", "EUR", &["school", "farm", "ops"])
        .await;
    world.donate(app, "d1", "meals", 1000, 30).await;
    world.donate(app, "d2", "meals", 500, 0).await;
    world.pay(app, "x1", "meals", "school", 400).await;
    world.campaign(app, "wells", "USD", &["school"]).await;
    world.donate(app, "w1", "wells", 2000, 50).await;
    world.donate(app, "d3", "meals", 300, 10).await;
    world.pay(app, "x2", "meals", "farm", 300).await;
    world.pay(app, "x3", "meals", "ops", 100).await;
    world.pay(app, "y1", "wells", "school", 1500).await;
    world.donate(app, "d4", "meals", 200, 0).await;
    world
}

/// The figures part of a `report-figures` answer.
fn figures_of(view: &Value) -> Value {
    json!({"campaigns": view["campaigns"], "beneficiary_kinds": view["beneficiary_kinds"]})
}

/// The whole happy path; returns the world for the verifier tests.
async fn signed_statements_session(app: &TestApp) -> World {
    let world = seed(app).await;
    let org_path = format!("/v1/orgs/{ORG}");

    // The model and the service agree on figures before any statement is made.
    let size = app.log_size().await;
    let view = app.get_json(&format!("{org_path}/report-figures")).await;
    assert_eq!(
        (
            view["origin"].as_str(),
            view["org"].as_str(),
            view["from_size"].as_u64(),
            view["to_size"].as_u64()
        ),
        (Some(ORIGIN), Some(ORG), Some(0), Some(size)),
        "{view}"
    );
    let whole = world.figures(0, size);
    assert_eq!(figures_of(&view), whole);
    // The hand-checked numbers of the model itself: meals 2000 in, 40 fees, 800 paid.
    assert_eq!(
        whole["campaigns"][0],
        json!({"campaign": "meals", "currency": "EUR", "received": 2000, "fees": 40,
               "net": 1960, "disbursed": 800, "held": 1160})
    );
    assert_eq!(whole["beneficiary_kinds"].as_array().unwrap().len(), 4);

    // A beneficiary confirms x1; the identical request again is a replay.
    let ack = world.ack("x1", &world.school, "received", 400);
    let first = app.post_json(&ack_path(ORG, "x1"), None, &ack).await;
    assert_eq!(first.status, 201, "{}", first.text());
    let ack_seq = first.json()["seq"].as_u64().unwrap();
    assert_eq!(ack_seq, size);
    let entry = first.json()["entry"].clone();
    assert_eq!(
        (
            entry["kind"].as_str(),
            entry["disbursement"].as_str(),
            entry["beneficiary"].as_str(),
            entry["status"].as_str(),
            entry["amount_received"].as_i64(),
            entry["signature"].as_str()
        ),
        (
            Some("disbursement.acknowledged"),
            Some("x1"),
            Some("school"),
            Some("received"),
            Some(400),
            ack["signature"].as_str()
        )
    );
    let again = app.post_json(&ack_path(ORG, "x1"), None, &ack).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["seq"], ack_seq);
    assert_eq!(again.json()["receipt"], first.json()["receipt"]);

    // Another disputes x2: 300 sent, 250 arrived.
    let dispute = world.ack("x2", &world.farm, "disputed", 250);
    let answer = app.post_json(&ack_path(ORG, "x2"), None, &dispute).await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let dispute_seq = answer.json()["seq"].as_u64().unwrap();
    assert_eq!(app.log_size().await, size + 2);

    // The campaign shows both, with shares of the 800 disbursed, in tenths of a percent.
    let meals = app.get_json(&format!("{org_path}/campaigns/meals")).await;
    assert_eq!(meals["totals"]["disbursed"], 800);
    assert_eq!(
        meals["acknowledgements"],
        json!({
            "acknowledged": {"disbursements": 1, "amount": 400, "amount_received": 400,
                             "share_permille": 500},
            "disputed": {"disbursements": 1, "amount": 300, "amount_received": 250,
                         "share_permille": 375},
            "unconfirmed": 100,
        })
    );
    let wells = app.get_json(&format!("{org_path}/campaigns/wells")).await;
    assert_eq!(wells["acknowledgements"]["unconfirmed"], 1500);
    assert_eq!(
        wells["acknowledgements"]["acknowledged"]["disbursements"],
        0
    );
    let x1 = app.get_json(&format!("{org_path}/disbursements/x1")).await;
    assert_eq!(
        x1["acknowledgement"],
        json!({"status": "received", "amount_received": 400, "seq": ack_seq})
    );
    let x2 = app.get_json(&format!("{org_path}/disbursements/x2")).await;
    assert_eq!(
        x2["acknowledgement"],
        json!({"status": "disputed", "amount_received": 250, "seq": dispute_seq})
    );
    let x3 = app.get_json(&format!("{org_path}/disbursements/x3")).await;
    assert!(x3.get("acknowledgement").is_none(), "{x3}");

    // A report over the whole log, drafted from the service's figures (which still equal
    // the model's: acknowledgements move no money).
    let size = app.log_size().await;
    let view = app.get_json(&format!("{org_path}/report-figures")).await;
    assert_eq!(view["to_size"], size);
    assert_eq!(figures_of(&view), world.figures(0, size));
    let document = sha256(b"Annual report 2026, with per-beneficiary detail").to_hex();
    let annual = report_request(
        ORG,
        &world.org_key,
        "annual",
        0,
        size,
        &figures_of(&view),
        Some(&document),
    );
    let answer = app
        .post_json(&format!("{org_path}/reports"), Some(&world.token), &annual)
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let annual_seq = answer.json()["seq"].as_u64().unwrap();
    let again = app
        .post_json(&format!("{org_path}/reports"), Some(&world.token), &annual)
        .await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["seq"], annual_seq);

    // The logged entry alone lets anyone check the signature: its fields without
    // `signature` and the other common ones, with `org`, are what was signed.
    let bytes = app.get(&format!("/v1/entries/{annual_seq}")).await.body;
    let logged = parse(&bytes).unwrap();
    assert_eq!(logged.kind, "report.published");
    let mut signed = logged.fields.clone();
    let signature = signed.remove("signature").unwrap();
    for common in ["v", "seq", "prev", "time", "kind"] {
        signed.remove(common);
    }
    let mut message = format!("pennytrail/report/v1\n{ORIGIN}\n").into_bytes();
    message.extend(canonical(&Value::Object(signed)).into_bytes());
    message.push(b'\n');
    assert!(signature_valid(
        &public(&world.org_key),
        &message,
        signature.as_str().unwrap()
    ));

    let got = app.get_json(&format!("{org_path}/reports/annual")).await;
    assert_eq!(
        got["verification"],
        json!({"status": "verified", "signature_valid": true, "figures_match": true}),
        "{got}"
    );
    assert_eq!(
        (
            got["seq"].as_u64(),
            got["from_size"].as_u64(),
            got["to_size"].as_u64(),
            got["document_sha256"].as_str(),
            got["signed_by"].as_str(),
            got["signed_by_seq"].as_u64()
        ),
        (
            Some(annual_seq),
            Some(0),
            Some(size),
            Some(document.as_str()),
            Some(public(&world.org_key).as_str()),
            Some(world.org_seq)
        )
    );
    assert_eq!(figures_of(&got), world.figures(0, size));

    // A report over a middle range, built from the model alone: from x1 (the first
    // payout) to x3 (excluded), so d1, d2, x3, y1 and d4 fall outside.
    let (from, to) = (world.seqs["x1"], world.seqs["x3"]);
    let middle = world.figures(from, to);
    assert_eq!(
        middle,
        json!({
            "campaigns": [
                {"campaign": "meals", "currency": "EUR", "received": 300, "fees": 10,
                 "net": 290, "disbursed": 700, "held": 1060},
                {"campaign": "wells", "currency": "USD", "received": 2000, "fees": 50,
                 "net": 1950, "disbursed": 0, "held": 1950},
            ],
            "beneficiary_kinds": [
                {"currency": "EUR", "beneficiary_kind": "organization", "disbursed": 400},
                {"currency": "EUR", "beneficiary_kind": "supplier", "disbursed": 300},
            ],
        }),
        "the model's own arithmetic, checked by hand"
    );
    let view = app
        .get_json(&format!("{org_path}/report-figures?from={from}&to={to}"))
        .await;
    assert_eq!(figures_of(&view), middle);
    // Before `wells` was opened, it is not in a report at all.
    let early = world.seqs["wells"];
    let view = app
        .get_json(&format!("{org_path}/report-figures?from=0&to={early}"))
        .await;
    assert_eq!(view["campaigns"].as_array().unwrap().len(), 1, "{view}");
    assert_eq!(figures_of(&view), world.figures(0, early));
    let mid = report_request(ORG, &world.org_key, "mid", from, to, &middle, None);
    let answer = app
        .post_json(&format!("{org_path}/reports"), Some(&world.token), &mid)
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let mid_seq = answer.json()["seq"].as_u64().unwrap();
    let got = app.get_json(&format!("{org_path}/reports/mid")).await;
    assert_eq!(got["verification"]["status"], "verified", "{got}");
    assert_eq!(figures_of(&got), middle);

    let list = app.get_json(&format!("{org_path}/reports")).await;
    let listed: Vec<(Option<&str>, Option<u64>, Option<&str>)> = list["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["report"].as_str(),
                r["seq"].as_u64(),
                r["verification"]["status"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            (Some("annual"), Some(annual_seq), Some("verified")),
            (Some("mid"), Some(mid_seq), Some("verified")),
        ]
    );
    assert_eq!(list["next"], Value::Null);
    world
}

#[pennytrail_test(both_backends)]
async fn statements_happy_path(app: TestApp) {
    signed_statements_session(&app).await;
    app.finish().await;
}

// ---------------------------------------------------------------------------------------
// Refusals over HTTP.
// ---------------------------------------------------------------------------------------

/// POSTs `body` and expects a problem with `status`, `field` (and `rule`), and the log
/// not grown. Returns the problem.
async fn refused(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: &Value,
    status: u16,
    rule: Option<&str>,
    field: Option<&str>,
) -> Value {
    let before = app.log_size().await;
    let answer: Answer = app.post_json(path, token, body).await;
    let problem = answer.assert_problem(status, field);
    if let Some(rule) = rule {
        assert_eq!(problem["rule"], rule, "{problem}");
    }
    assert_eq!(
        app.log_size().await,
        before,
        "a refused write appended something: {problem}"
    );
    problem
}

#[pennytrail_test(both_backends)]
async fn statements_are_refused(app: TestApp) {
    let world = seed(&app).await;
    let reports = format!("/v1/orgs/{ORG}/reports");
    let token = Some(world.token.as_str());
    let size = app.log_size().await;
    let whole = world.figures(0, size);
    let report = |signer: &NoteSigner, id: &str, figures: &Value| {
        report_request(ORG, signer, id, 0, size, figures, None)
    };

    // A range the signed log does not cover yet, or a reversed one, is refused and the
    // error names the field as the request spelled it: the query's `to`/`from` (a
    // report body's `to_size`/`from_size`: below).
    let figures = format!("/v1/orgs/{ORG}/report-figures");
    let past = size + 1;
    let problem = app
        .get(&format!("{figures}?to={past}"))
        .await
        .assert_problem(422, Some("to"));
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .starts_with(&format!("to {past} ")),
        "{problem}"
    );
    let problem = app
        .get(&format!("{figures}?from=2&to=1"))
        .await
        .assert_problem(422, Some("from"));
    assert_eq!(problem["detail"], "from 2 is after to 1", "{problem}");

    // One wrong figure, signed correctly: named, with both values.
    let mut wrong = whole.clone();
    wrong["campaigns"][0]["net"] = json!(1961);
    let problem = refused(
        &app,
        &reports,
        token,
        &report(&world.org_key, "r-wrong", &wrong),
        422,
        Some("report-figure"),
        Some("campaigns[0].net"),
    )
    .await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("1961") && detail.contains("1960"),
        "both values: {detail}"
    );
    let mut wrong = whole.clone();
    wrong["beneficiary_kinds"][3]["disbursed"] = json!(1499);
    let problem = refused(
        &app,
        &reports,
        token,
        &report(&world.org_key, "r-wrong", &wrong),
        422,
        Some("report-figure"),
        Some("beneficiary_kinds[3].disbursed"),
    )
    .await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("1499") && detail.contains("1500"),
        "{detail}"
    );
    // A campaign left out: the line is named.
    let mut wrong = whole.clone();
    wrong["campaigns"].as_array_mut().unwrap().pop();
    refused(
        &app,
        &reports,
        token,
        &report(&world.org_key, "r-wrong", &wrong),
        422,
        Some("report-figure"),
        Some("campaigns[1]"),
    )
    .await;

    // Right figures, wrong signatures.
    let stranger = key(ORG, 66);
    refused(
        &app,
        &reports,
        token,
        &report(&stranger, "r1", &whole),
        422,
        Some("bad-signature"),
        Some("signature"),
    )
    .await;
    let mut body = report(&world.org_key, "r1", &whole);
    body["signature"] = random_signature().into();
    refused(
        &app,
        &reports,
        token,
        &body,
        422,
        Some("bad-signature"),
        Some("signature"),
    )
    .await;
    // The org's own signature over another report (another id) does not carry over.
    let mut body = report(&world.org_key, "r1", &whole);
    body["id"] = "r2".into();
    refused(
        &app,
        &reports,
        token,
        &body,
        422,
        Some("bad-signature"),
        Some("signature"),
    )
    .await;
    let mut body = report(&world.org_key, "r1", &whole);
    body["signature"] = "bm90IGEgc2lnbmF0dXJl".into();
    refused(&app, &reports, token, &body, 422, None, Some("signature")).await;
    // Past the latest checkpoint, or reversed.
    refused(
        &app,
        &reports,
        token,
        &report_request(ORG, &world.org_key, "r1", 0, size + 1, &whole, None),
        422,
        None,
        Some("to_size"),
    )
    .await;
    refused(
        &app,
        &reports,
        token,
        &report_request(ORG, &world.org_key, "r1", 3, 2, &whole, None),
        422,
        None,
        Some("from_size"),
    )
    .await;
    // Reports need the org's token.
    refused(
        &app,
        &reports,
        None,
        &report(&world.org_key, "r1", &whole),
        401,
        None,
        None,
    )
    .await;
    let other_token = app.new_org("other-org").await;
    let size = app.log_size().await;
    let whole = world.figures(0, size);
    refused(
        &app,
        &reports,
        Some(&other_token),
        &report_request(ORG, &world.org_key, "r1", 0, size, &whole, None),
        403,
        None,
        None,
    )
    .await;

    // A report before the rotation, signed by the first key, is accepted.
    let before = report_request(ORG, &world.org_key, "before", 0, size, &whole, None);
    let answer = app.post_json(&reports, token, &before).await;
    assert_eq!(answer.status, 201, "{}", answer.text());

    // Key rotation: only the current key may sign it, over the right current seq.
    let key_path = format!("/v1/orgs/{ORG}/key");
    let new_key = key(ORG, 9);
    let rotation = |signer: &NoteSigner, current_seq: u64, new: &NoteSigner| {
        let message = rotation_message(ORG, current_seq, &public(new));
        json!({"public_key": public(new), "signature": sign(signer, message.as_bytes())})
    };
    refused(
        &app,
        &key_path,
        token,
        &rotation(&stranger, world.org_seq, &new_key),
        422,
        Some("bad-signature"),
        Some("signature"),
    )
    .await;
    refused(
        &app,
        &key_path,
        token,
        &rotation(&world.org_key, world.org_seq + 1, &new_key),
        422,
        Some("bad-signature"),
        Some("signature"),
    )
    .await;
    refused(
        &app,
        &key_path,
        token,
        &rotation(&world.org_key, world.org_seq, &world.org_key),
        422,
        Some("same-key"),
        Some("public_key"),
    )
    .await;
    refused(
        &app,
        &key_path,
        None,
        &rotation(&world.org_key, world.org_seq, &new_key),
        401,
        None,
        None,
    )
    .await;
    let answer = app
        .post_json(
            &key_path,
            token,
            &rotation(&world.org_key, world.org_seq, &new_key),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let rotation_seq = answer.json()["seq"].as_u64().unwrap();
    assert_eq!(answer.json()["entry"]["kind"], "org.key_rotated");
    // A client retrying either write after the rotation gets the original answer, even
    // though the key that signed them is no longer current.
    let retried = app
        .post_json(
            &key_path,
            token,
            &rotation(&world.org_key, world.org_seq, &new_key),
        )
        .await;
    assert_eq!(retried.status, 200, "{}", retried.text());
    assert_eq!(retried.json()["seq"], rotation_seq);
    let retried = app.post_json(&reports, token, &before).await;
    assert_eq!(retried.status, 200, "{}", retried.text());
    // The same id with other content is a conflict, not a replay.
    let mut other = before.clone();
    other["document_sha256"] = sha256(b"another document").to_hex().into();
    refused(&app, &reports, token, &other, 409, None, None).await;

    // After it: the rotated-away key is refused, the new one accepted.
    let size = app.log_size().await;
    let whole = world.figures(0, size);
    refused(
        &app,
        &reports,
        token,
        &report_request(ORG, &world.org_key, "after", 0, size, &whole, None),
        422,
        Some("bad-signature"),
        Some("signature"),
    )
    .await;
    let after = report_request(ORG, &new_key, "after", 0, size, &whole, None);
    let answer = app.post_json(&reports, token, &after).await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    // The old key cannot rotate again either.
    let third = key(ORG, 10);
    refused(
        &app,
        &key_path,
        token,
        &rotation(&world.org_key, world.org_seq, &third),
        422,
        Some("bad-signature"),
        Some("signature"),
    )
    .await;
    // Each report stays verified under the key valid when it was logged.
    for (id, signer, key_seq) in [
        ("before", &world.org_key, world.org_seq),
        ("after", &new_key, rotation_seq),
    ] {
        let got = app.get_json(&format!("{reports}/{id}")).await;
        assert_eq!(got["verification"]["status"], "verified", "{id}: {got}");
        assert_eq!(got["signed_by"], public(signer), "{id}");
        assert_eq!(got["signed_by_seq"], key_seq, "{id}");
    }

    // Acknowledgements.
    // x1 went to school: farm signing for it is checked against school's key.
    refused(
        &app,
        &ack_path(ORG, "x1"),
        None,
        &world.ack("x1", &world.farm, "received", 400),
        422,
        Some("bad-signature"),
        Some("signature"),
    )
    .await;
    // The org itself cannot speak for its beneficiary.
    refused(
        &app,
        &ack_path(ORG, "x1"),
        None,
        &world.ack("x1", &world.org_key, "received", 400),
        422,
        Some("bad-signature"),
        Some("signature"),
    )
    .await;
    let mut forged = world.ack("x1", &world.school, "received", 400);
    forged["signature"] = random_signature().into();
    refused(
        &app,
        &ack_path(ORG, "x1"),
        None,
        &forged,
        422,
        Some("bad-signature"),
        Some("signature"),
    )
    .await;
    // school's genuine word on x1 cannot be moved to y1 (also school's).
    refused(
        &app,
        &ack_path(ORG, "y1"),
        None,
        &world.ack("x1", &world.school, "disputed", 0),
        422,
        Some("bad-signature"),
        Some("signature"),
    )
    .await;
    // Signed as a dispute of 250, sent as a dispute of 300.
    let mut body = world.ack("x2", &world.farm, "disputed", 250);
    body["amount_received"] = 300.into();
    refused(
        &app,
        &ack_path(ORG, "x2"),
        None,
        &body,
        422,
        Some("bad-signature"),
        Some("signature"),
    )
    .await;
    // "received" confirms the whole amount, validly signed or not; said in major units.
    let problem = refused(
        &app,
        &ack_path(ORG, "x1"),
        None,
        &world.ack(
            "x1",
            &world.school,
            "received",
            world.payouts["x1"].amount - 1,
        ),
        422,
        Some("ack-amount"),
        Some("amount_received"),
    )
    .await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("the whole amount EUR 4.00; to say EUR 3.99 arrived"),
        "{detail}"
    );
    // ops has no key.
    refused(
        &app,
        &ack_path(ORG, "x3"),
        None,
        &world.ack("x3", &world.school, "received", 100),
        422,
        Some("no-beneficiary-key"),
        Some("beneficiary"),
    )
    .await;
    refused(
        &app,
        &ack_path(ORG, "nope"),
        None,
        &world.ack("x1", &world.school, "received", 400),
        404,
        None,
        None,
    )
    .await;
    refused(
        &app,
        &ack_path("no-such-org", "x1"),
        None,
        &world.ack("x1", &world.school, "received", 400),
        404,
        None,
        None,
    )
    .await;
    for (field, value) in [
        ("status", json!("arrived")),
        ("amount_received", json!(-1)),
        ("signature", json!("AAAA")),
    ] {
        let mut body = world.ack("x1", &world.school, "received", 400);
        body[field] = value;
        refused(
            &app,
            &ack_path(ORG, "x1"),
            None,
            &body,
            422,
            None,
            Some(field),
        )
        .await;
    }
    // One statement per disbursement: a later, different one conflicts.
    let answer = app
        .post_json(
            &ack_path(ORG, "x1"),
            None,
            &world.ack("x1", &world.school, "received", 400),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    refused(
        &app,
        &ack_path(ORG, "x1"),
        None,
        &world.ack("x1", &world.school, "disputed", 10),
        409,
        None,
        None,
    )
    .await;

    // An org without a key cannot report, whatever it signs with.
    let quiet = app.new_org("quiet").await;
    let quiet_reports = "/v1/orgs/quiet/reports";
    let size = app.log_size().await;
    let view = app
        .get_json(&format!("/v1/orgs/quiet/report-figures?to={size}"))
        .await;
    refused(
        &app,
        quiet_reports,
        Some(&quiet),
        &report_request("quiet", &stranger, "r1", 0, size, &figures_of(&view), None),
        422,
        Some("no-org-key"),
        Some("signature"),
    )
    .await;
    // Nor can it rotate to a key.
    let message = rotation_message("quiet", 0, &public(&new_key));
    refused(
        &app,
        "/v1/orgs/quiet/key",
        Some(&quiet),
        &json!({"public_key": public(&new_key),
                "signature": sign(&stranger, message.as_bytes())}),
        422,
        Some("no-org-key"),
        Some("signature"),
    )
    .await;
    app.finish().await;
}

// ---------------------------------------------------------------------------------------
// Key reuse and keyless orgs.
// ---------------------------------------------------------------------------------------

/// README: "a key once rotated away cannot come back".
#[pennytrail_test(both_backends)]
async fn a_rotated_away_key_cannot_come_back(app: TestApp) {
    let world = seed(&app).await;
    let key_path = format!("/v1/orgs/{ORG}/key");
    let token = Some(world.token.as_str());
    let second = key(ORG, 9);
    let message = rotation_message(ORG, world.org_seq, &public(&second));
    let answer = app
        .post_json(
            &key_path,
            token,
            &json!({"public_key": public(&second),
                    "signature": sign(&world.org_key, message.as_bytes())}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let second_seq = answer.json()["seq"].as_u64().unwrap();
    // The current key signs a rotation back to the first key.
    let message = rotation_message(ORG, second_seq, &public(&world.org_key));
    let before = app.log_size().await;
    let answer = app
        .post_json(
            &key_path,
            token,
            &json!({"public_key": public(&world.org_key),
                    "signature": sign(&second, message.as_bytes())}),
        )
        .await;
    assert!(
        answer.status.is_client_error(),
        "the rotated-away key came back: {} {}",
        answer.status,
        answer.text()
    );
    assert_eq!(app.log_size().await, before);
    app.finish().await;
}

/// An org without a key that reports its true figures is told it has no key (rule
/// `no-org-key`), and `report-figures` shows it the figures the log implies rather than
/// none.
#[pennytrail_test(both_backends)]
async fn a_keyless_org_is_told_it_has_no_key(app: TestApp) {
    let token = app.new_org("quiet").await;
    app.org_create(
        &token,
        "quiet",
        "/beneficiaries",
        &json!({"id": "b", "label": "B", "kind": "supplier", "country": "KE"}),
    )
    .await;
    let opened = app
        .org_create(
            &token,
            "quiet",
            "/campaigns",
            &json!({"id": "c", "title": "C", "purpose": "P", "currency": "EUR",
                    "beneficiaries": ["b"]}),
        )
        .await["seq"]
        .as_u64()
        .unwrap();
    let donated = app
        .org_create(
            &token,
            "quiet",
            "/donations",
            &json!({"id": "d", "campaign": "c", "amount": 100, "fee": 10, "channel": "card"}),
        )
        .await["seq"]
        .as_u64()
        .unwrap();
    let model = Model {
        campaigns: vec![("c".into(), "EUR".into(), opened)],
        kinds: HashMap::from([("b".into(), "supplier".into())]),
        donations: vec![(donated, "c".into(), 100, 10)],
        disbursements: vec![],
    };
    let size = app.log_size().await;
    let truth = model.figures(0, size);
    let problem = refused(
        &app,
        "/v1/orgs/quiet/reports",
        Some(&token),
        &report_request("quiet", &key("quiet", 5), "r1", 0, size, &truth, None),
        422,
        None,
        None,
    )
    .await;
    let view = app.get_json("/v1/orgs/quiet/report-figures").await;
    assert_eq!(
        (problem["rule"].as_str(), figures_of(&view)),
        (Some("no-org-key"), truth),
        "problem: {problem}"
    );
    app.finish().await;
}

// ---------------------------------------------------------------------------------------
// The CLI, through the real binary.
// ---------------------------------------------------------------------------------------

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

async fn pennytrail(args: &[&str]) -> Run {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"))
        .args(args)
        .output()
        .await
        .expect("run pennytrail");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[pennytrail_test]
async fn the_cli_drafts_signs_and_publishes_statements() {
    let app = TestApp::start(Backend::Sqlite).await;
    let tmp = tempfile::tempdir().unwrap();
    let file = |name: &str| tmp.path().join(name);
    let url = app.base.as_str();

    // Keys, made where their owners are.
    let org_keygen =
        pennytrail(&["keygen", "--name", ORG, "--out", path_str(&file("org.key"))]).await;
    assert!(org_keygen.ok, "{}", org_keygen.stderr);
    let org_public = org_keygen.stdout.trim().to_string();
    assert!(org_public.starts_with(&format!("{ORG}+")), "{org_public}");
    let ben_keygen = pennytrail(&[
        "keygen",
        "--name",
        "school",
        "--out",
        path_str(&file("school.key")),
    ])
    .await;
    assert!(ben_keygen.ok, "{}", ben_keygen.stderr);
    let ben_public = ben_keygen.stdout.trim().to_string();
    let again = pennytrail(&[
        "keygen",
        "--name",
        "x",
        "--out",
        path_str(&file("school.key")),
    ])
    .await;
    assert!(!again.ok, "keygen must never overwrite a key file");

    let registered = app
        .register_org(&json!({"id": ORG, "name": "HH", "country": "DE", "public_key": org_public}))
        .await;
    assert_eq!(registered.status, 201, "{}", registered.text());
    let token = registered.json()["api_token"].as_str().unwrap().to_string();
    fs::write(file("org.token"), format!("{token}\n")).unwrap();
    app.org_create(
        &token,
        ORG,
        "/beneficiaries",
        &json!({"id": "school", "label": "School", "kind": "organization", "country": "KE",
                "public_key": ben_public}),
    )
    .await;
    app.org_create(
        &token,
        ORG,
        "/campaigns",
        &json!({"id": "meals", "title": "Meals", "purpose": "Lunch", "currency": "EUR",
                "beneficiaries": ["school"]}),
    )
    .await;
    app.org_create(
        &token,
        ORG,
        "/donations",
        &json!({"id": "d1", "campaign": "meals", "amount": 1000, "fee": 20, "channel": "card"}),
    )
    .await;
    let mut payouts = HashMap::new();
    for (id, amount) in [("x1", 300), ("x2", 200)] {
        let answer = app
            .org_create(
                &token,
                ORG,
                "/disbursements",
                &json!({"id": id, "campaign": "meals", "beneficiary": "school",
                        "amount": amount, "purpose": "Meals"}),
            )
            .await;
        payouts.insert(id, answer);
    }

    // The beneficiary acknowledges x1.
    let ack = file("ack.json");
    let run = pennytrail(&[
        "ack",
        "draft",
        "--url",
        url,
        "--org",
        ORG,
        "--disbursement",
        "x1",
        "--status",
        "received",
        "--out",
        path_str(&ack),
    ])
    .await;
    assert!(run.ok, "{}", run.stderr);
    let draft: Value = serde_json::from_slice(&fs::read(&ack).unwrap()).unwrap();
    assert_eq!(
        (
            draft["seq"].clone(),
            draft["leaf_hash"].clone(),
            draft["body"]["amount_received"].clone()
        ),
        (
            payouts["x1"]["seq"].clone(),
            payouts["x1"]["leaf_hash"].clone(),
            json!(300)
        ),
        "{draft}"
    );
    let unsigned = pennytrail(&["publish", path_str(&ack), "--url", url]).await;
    assert!(!unsigned.ok, "an unsigned draft must not be published");
    let size = app.log_size().await;
    let run = pennytrail(&[
        "sign",
        "--key",
        path_str(&file("school.key")),
        path_str(&ack),
    ])
    .await;
    assert!(run.ok, "{}", run.stderr);
    // The signer sees the exact message it signs.
    let expected = ack_message(
        payouts["x1"]["seq"].as_u64().unwrap(),
        payouts["x1"]["leaf_hash"].as_str().unwrap(),
        "received",
        300,
    );
    assert!(run.stderr.contains(&expected), "{}", run.stderr);
    let run = pennytrail(&["publish", path_str(&ack), "--url", url]).await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    let published: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(published["seq"], size);
    assert_eq!(published["entry"]["kind"], "disbursement.acknowledged");
    let x1 = app
        .get_json(&format!("/v1/orgs/{ORG}/disbursements/x1"))
        .await;
    assert_eq!(x1["acknowledgement"]["status"], "received");
    assert_eq!(x1["acknowledgement"]["seq"], size);

    // A dispute of x2 signed with the org's key is refused; with the beneficiary's, logged.
    let dispute = file("dispute.json");
    let bad = pennytrail(&[
        "ack",
        "draft",
        "--url",
        url,
        "--org",
        ORG,
        "--disbursement",
        "x2",
        "--status",
        "received",
        "--amount-received",
        "150",
        "--out",
        path_str(&dispute),
    ])
    .await;
    assert!(
        !bad.ok,
        "\"received\" with a partial amount must be refused locally"
    );
    let dispute_draft = pennytrail(&[
        "ack",
        "draft",
        "--url",
        url,
        "--org",
        ORG,
        "--disbursement",
        "x2",
        "--status",
        "disputed",
        "--amount-received",
        "150",
        "--out",
        path_str(&dispute),
    ])
    .await;
    assert!(dispute_draft.ok, "{}", dispute_draft.stderr);
    let run = pennytrail(&[
        "sign",
        "--key",
        path_str(&file("org.key")),
        path_str(&dispute),
    ])
    .await;
    assert!(run.ok, "{}", run.stderr);
    let size = app.log_size().await;
    let run = pennytrail(&["publish", path_str(&dispute), "--url", url]).await;
    assert!(!run.ok, "signed by the wrong key: {}", run.stdout);
    assert!(run.stdout.contains("bad-signature"), "{}", run.stdout);
    assert_eq!(app.log_size().await, size);
    let run = pennytrail(&[
        "sign",
        "--key",
        path_str(&file("school.key")),
        path_str(&dispute),
    ])
    .await;
    assert!(run.ok, "{}", run.stderr);
    let run = pennytrail(&["publish", path_str(&dispute), "--url", url]).await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    let x2 = app
        .get_json(&format!("/v1/orgs/{ORG}/disbursements/x2"))
        .await;
    assert_eq!(
        (
            x2["acknowledgement"]["status"].as_str(),
            x2["acknowledgement"]["amount_received"].as_i64()
        ),
        (Some("disputed"), Some(150))
    );

    // The org reports over the whole log, with a document.
    fs::write(file("report.pdf"), b"per-beneficiary detail").unwrap();
    let report = file("report.json");
    let run = pennytrail(&[
        "report",
        "draft",
        "--url",
        url,
        "--org",
        ORG,
        "--id",
        "2026",
        "--document",
        path_str(&file("report.pdf")),
        "--out",
        path_str(&report),
    ])
    .await;
    assert!(run.ok, "{}", run.stderr);
    let draft: Value = serde_json::from_slice(&fs::read(&report).unwrap()).unwrap();
    let size = app.log_size().await;
    assert_eq!(draft["body"]["to_size"], size);
    assert_eq!(
        draft["body"]["campaigns"],
        json!([{"campaign": "meals", "currency": "EUR", "received": 1000, "fees": 20,
                "net": 980, "disbursed": 500, "held": 480}])
    );
    assert_eq!(
        draft["body"]["document_sha256"],
        sha256(b"per-beneficiary detail").to_hex()
    );
    let run = pennytrail(&[
        "sign",
        "--key",
        path_str(&file("org.key")),
        path_str(&report),
    ])
    .await;
    assert!(run.ok, "{}", run.stderr);
    // Without the token, or edited after signing: refused, nothing logged.
    let run = pennytrail(&["publish", path_str(&report), "--url", url]).await;
    assert!(!run.ok, "a report needs the org's token: {}", run.stdout);
    let mut edited: Value = serde_json::from_slice(&fs::read(&report).unwrap()).unwrap();
    edited["body"]["campaigns"][0]["held"] = json!(479);
    edited["body"]["campaigns"][0]["disbursed"] = json!(501);
    fs::write(file("edited.json"), serde_json::to_vec(&edited).unwrap()).unwrap();
    let run = pennytrail(&[
        "publish",
        path_str(&file("edited.json")),
        "--url",
        url,
        "--token-file",
        path_str(&file("org.token")),
    ])
    .await;
    assert!(!run.ok, "an edited report must be refused: {}", run.stdout);
    assert!(run.stdout.contains("report-figure"), "{}", run.stdout);
    assert_eq!(app.log_size().await, size);
    let run = pennytrail(&[
        "publish",
        path_str(&report),
        "--url",
        url,
        "--token-file",
        path_str(&file("org.token")),
    ])
    .await;
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    let got = app.get_json(&format!("/v1/orgs/{ORG}/reports/2026")).await;
    assert_eq!(got["verification"]["status"], "verified", "{got}");
    assert_eq!(got["seq"], size);
    assert_eq!(got["signed_by"], org_public);
    assert_eq!(app.log_size().await, size + 1);
    app.finish().await;
}

// ---------------------------------------------------------------------------------------
// Bundles: a genuine one verifies; edited statements are refused and located.
// ---------------------------------------------------------------------------------------

fn verify(dir: &Path, verifier: &NoteVerifier) -> Result<VerifyReport, VerifyError> {
    verify_bundle(dir, verifier, None, |_, _| {})
}

/// What a forger does after editing files: recomputes datapackage.json's sizes and hashes.
fn rehash(bundle: &mut Bundle) {
    let package = rehashed_datapackage(bundle);
    bundle.insert(DATAPACKAGE_FILE.into(), package);
}

fn forge(
    bundle: &Bundle,
    verifier: &NoteVerifier,
    edit: impl FnOnce(&mut Bundle),
) -> Result<VerifyReport, VerifyError> {
    let mut forged = bundle.clone();
    edit(&mut forged);
    rehash(&mut forged);
    let tmp = tempfile::tempdir().unwrap();
    write_bundle(tmp.path(), &forged);
    verify(tmp.path(), verifier)
}

fn records(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// Writes records back exactly as the exporter writes CSVs.
fn unrecords(records: &[Vec<String>]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    for record in records {
        writer.write_record(record).unwrap();
    }
    writer.into_inner().unwrap()
}

/// Replaces one cell (data row `row`, 1-based after the header) of a bundle CSV; `edit`
/// gets the old value.
fn edit_cell(
    bundle: &mut Bundle,
    file: &str,
    row: usize,
    column: &str,
    edit: impl FnOnce(&str) -> String,
) {
    let bytes = &bundle[file];
    let mut recs = records(bytes);
    assert_eq!(&unrecords(&recs), bytes, "CSV round trip must be exact");
    let index = recs[0].iter().position(|c| c == column).expect("column");
    recs[row][index] = edit(&recs[row][index]);
    bundle.insert(file.into(), unrecords(&recs));
}

/// entries.csv with entry `seq`'s own fields edited, the entry re-sealed with its new
/// leaf hash, and (with `reseal_later`) every later entry re-sealed onto the new chain:
/// everything a forger without the keys can make consistent.
fn rewrite_entry(
    bundle: &mut Bundle,
    seq: u64,
    reseal_later: bool,
    edit: impl FnOnce(&mut Map<String, Value>),
) {
    let mut recs = records(&bundle["entries.csv"]);
    let mut head = ChainHead::GENESIS;
    let mut edit = Some(edit);
    for rec in recs.iter_mut().skip(1) {
        let bytes = rec[6].clone().into_bytes();
        let entry = parse(&bytes).unwrap();
        let touched = entry.seq == seq || (entry.seq > seq && reseal_later);
        let bytes = if touched {
            let mut body = entry.fields.clone();
            for common in COMMON_FIELDS {
                body.remove(common);
            }
            if entry.seq == seq {
                (edit.take().unwrap())(&mut body);
            }
            let header = EntryHeader {
                seq: head.size,
                prev: head.leaf_hash,
                time: entry.time,
            };
            let sealed = seal(&header, &entry.kind, entry.org.as_deref(), &body).unwrap();
            rec[4] = leaf_hash(&sealed).to_hex();
            rec[5] = head.leaf_hash.to_hex();
            rec[6] = String::from_utf8(sealed.clone()).unwrap();
            sealed
        } else {
            bytes
        };
        // An untouched later entry keeps its old prev: the chain check would break there.
        let _ = head.advance(&parse(&bytes).unwrap(), &bytes);
    }
    assert!(edit.is_none(), "entry {seq} is in the bundle");
    bundle.insert("entries.csv".into(), unrecords(&recs));
}

/// An edit of an entry's own fields.
type EntryEdit = dyn Fn(&mut Map<String, Value>);

/// The refusals a test expects, checked one by one: a forgery that verifies or an error
/// naming the wrong place is recorded, and the test fails at the end listing them all.
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    fn located(
        &mut self,
        what: &str,
        result: Result<VerifyReport, VerifyError>,
        file: &str,
        row: Option<u64>,
        field: Option<&str>,
        says: &str,
    ) {
        match result {
            Ok(_) => self
                .0
                .push(format!("{what}: VERIFIED, but must be refused")),
            Err(err) => {
                note!("{what}: refused: {err}");
                if err.file != file
                    || err.row != row
                    || err.field.as_deref() != field
                    || !err.message.contains(says)
                {
                    self.0.push(format!(
                        "{what}: expected {file}, row {row:?}, field {field:?}, message with {says:?}; got {err}"
                    ));
                }
            }
        }
    }

    fn check(&mut self, what: &str, ok: bool, detail: impl std::fmt::Display) {
        if !ok {
            self.0.push(format!("{what}: {detail}"));
        }
    }

    fn assert_none(self) {
        assert!(
            self.0.is_empty(),
            "{} problem(s):\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

#[pennytrail_test]
async fn bundles_carry_statements_and_refuse_edited_ones() {
    let mut app = TestApp::start(Backend::Sqlite).await;
    let world = signed_statements_session(&app).await;
    // A rotation and a report under the new key, so the verifier must follow the keys.
    let new_key = key(ORG, 9);
    let message = rotation_message(ORG, world.org_seq, &public(&new_key));
    let rotated = app
        .org_create(
            &world.token,
            ORG,
            "/key",
            &json!({"public_key": public(&new_key),
                    "signature": sign(&world.org_key, message.as_bytes())}),
        )
        .await;
    let rotation_seq = rotated["seq"].as_u64().unwrap();
    let size = app.log_size().await;
    let last = report_request(
        ORG,
        &new_key,
        "last",
        world.seqs["x1"],
        size,
        &world.figures(world.seqs["x1"], size),
        None,
    );
    app.org_create(&world.token, ORG, "/reports", &last).await;
    let size = app.log_size().await;
    app.stop_service().await;
    // `pennytrail check` replays the store through the same rules.
    let (ok, output) = support::run_check(app.data_dir.path(), None);
    assert!(ok, "pennytrail check: {output}");

    let store = pennytrail::store::open(&app.store_config()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = export_store(&store, None, Some(tmp.path().join("bundle")), |_, _| {})
        .await
        .unwrap();
    let report = verify(&dir, &app.verifier).expect("the genuine bundle verifies");
    let s = &report.summary;
    assert_eq!(
        (s.entries, s.reports, s.acknowledged, s.disputed),
        (size, 3, 1, 1)
    );
    let bundle = read_bundle(&dir);
    let rows = |file: &str| records(&bundle[file]);
    let acks = rows("acknowledgements.csv");
    assert_eq!(
        acks[1..]
            .iter()
            .map(|r| (r[1].as_str(), r[2].as_str(), r[3].as_str(), r[4].as_str()))
            .collect::<Vec<_>>(),
        [
            ("x1", "school", "received", "400"),
            ("x2", "farm", "disputed", "250")
        ]
    );
    let reports = rows("reports.csv");
    assert_eq!(
        reports[1..]
            .iter()
            .map(|r| r[1].as_str())
            .collect::<Vec<_>>(),
        ["annual", "mid", "last"]
    );
    let keys = rows("org_keys.csv");
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert_eq!(
        (
            keys[2][1].as_str(),
            keys[2][3].as_str(),
            keys[2][4].as_str()
        ),
        (
            public(&new_key).as_str(),
            "rotated",
            rotation_seq.to_string().as_str()
        )
    );
    let figures = rows("report_figures.csv");
    // annual: 2 campaigns + 4 kind lines; mid: 2 + 2; last: 2 + kinds.
    assert_eq!(
        figures[1][..9],
        [
            "helping-hands",
            "annual",
            "1",
            "meals",
            "",
            "EUR",
            "2000",
            "40",
            "1960"
        ]
        .map(String::from)
    );
    assert_eq!(
        (figures[4][4].as_str(), figures[4][9].as_str()),
        ("overhead", "100")
    );
    let v = &app.verifier;
    let mut f = Findings::default();

    // Derived rows of statements, edited (hashes recomputed).
    let mid_to = world.seqs["x3"].to_string();
    let cases: [(&str, &str, usize, &str, &str, &str); 6] = [
        (
            "a report's net figure",
            "report_figures.csv",
            1,
            "net",
            "1960",
            "1961",
        ),
        (
            "a report's kind line",
            "report_figures.csv",
            4,
            "disbursed",
            "100",
            "99",
        ),
        (
            "an acknowledged amount",
            "acknowledgements.csv",
            1,
            "amount_received",
            "400",
            "40",
        ),
        (
            "a dispute's amount",
            "acknowledgements.csv",
            2,
            "amount_received",
            "250",
            "300",
        ),
        (
            "a dispute turned acknowledgement",
            "acknowledgements.csv",
            2,
            "status",
            "disputed",
            "received",
        ),
        (
            "a report's range",
            "reports.csv",
            2,
            "to_size",
            &mid_to,
            "0",
        ),
    ];
    for (what, file, row, column, old, new) in cases {
        let result = forge(&bundle, v, |b| {
            edit_cell(b, file, row, column, |was| {
                assert_eq!(was, old, "{what}");
                new.to_string()
            })
        });
        f.located(
            what,
            result,
            file,
            Some(row as u64),
            Some(column),
            "differs from what the entries imply",
        );
    }
    // A rotated key's row pointing at another key.
    f.located(
        "org_keys.csv key swapped",
        forge(&bundle, v, |b| {
            edit_cell(b, "org_keys.csv", 2, "public_key", |_| {
                public(&key(ORG, 66))
            })
        }),
        "org_keys.csv",
        Some(2),
        Some("public_key"),
        "differs from what the entries imply",
    );

    // The entries themselves, edited and re-sealed: the signatures no longer hold, which
    // the verifier says before it gets to the checkpoint's root.
    let entry_seq = |kind: &str, field: &str, id: &str| -> u64 {
        rows("entries.csv")[1..]
            .iter()
            .map(|r| parse(r[6].as_bytes()).unwrap())
            .find(|e| e.kind == kind && e.str_field(field) == Some(id))
            .unwrap()
            .seq
    };
    let x1_ack = entry_seq("disbursement.acknowledged", "disbursement", "x1");
    let x2_ack = entry_seq("disbursement.acknowledged", "disbursement", "x2");
    let annual = entry_seq("report.published", "report", "annual");
    let last = entry_seq("report.published", "report", "last");
    // Each with the field the verifier names: the one the edit changed, as the derived
    // files still show it (acknowledgements.csv, reports.csv), else the signature.
    let entry_cases: Vec<(&str, u64, &str, Box<EntryEdit>)> = vec![
        (
            "ack entry: received 400 -> disputed 40",
            x1_ack,
            "entry.status",
            Box::new(|b| {
                b.insert("status".into(), json!("disputed"));
                b.insert("amount_received".into(), json!(40));
            }),
        ),
        (
            "ack entry: disputed -> received 300",
            x2_ack,
            "entry.status",
            Box::new(|b| {
                b.insert("status".into(), json!("received"));
                b.insert("amount_received".into(), json!(300));
            }),
        ),
        (
            "ack entry: moved to y1 (same beneficiary, its amount)",
            x1_ack,
            "entry.disbursement",
            Box::new(|b| {
                b.insert("disbursement".into(), json!("y1"));
                b.insert("amount_received".into(), json!(1500));
            }),
        ),
        (
            "report entry: net 1960 -> 1961 and held with it",
            annual,
            // A figure inside a list: no derived row copies it under its name.
            "entry.signature",
            Box::new(|b| {
                let c = &mut b.get_mut("campaigns").unwrap()[0];
                c["net"] = json!(1961);
                c["held"] = json!(c["held"].as_i64().unwrap() + 1);
            }),
        ),
        (
            "report entry under the new key: range moved",
            last,
            "entry.from_size",
            Box::new(|b| {
                b.insert("from_size".into(), json!(0));
            }),
        ),
    ];
    for (what, seq, field, edit) in entry_cases {
        for reseal_later in [false, true] {
            let what = format!("{what} (later entries re-sealed: {reseal_later})");
            f.located(
                &what,
                forge(&bundle, v, |b| {
                    rewrite_entry(b, seq, reseal_later, edit.as_ref())
                }),
                "entries.csv",
                Some(seq + 1),
                Some(field),
                "rule bad-signature",
            );
        }
    }
    f.assert_none();
    app.finish().await;
}

// ---------------------------------------------------------------------------------------
// Logs signed with the real log key whose statements break a rule.
// ---------------------------------------------------------------------------------------

/// A log built entry by entry, as the sequencer would, but without its rules.
struct SynthLog {
    head: ChainHead,
    frontier: Frontier,
    entries: Vec<Vec<u8>>,
    clock: i64,
}

impl SynthLog {
    fn new() -> SynthLog {
        SynthLog {
            head: ChainHead::GENESIS,
            frontier: Frontier::empty(),
            entries: Vec::new(),
            clock: 1_767_225_600_000, // 2026-01-01
        }
    }

    /// Seals the next entry; returns its seq and leaf hash.
    fn push(&mut self, kind: &str, body: Value) -> (u64, Hash) {
        self.clock += 1000;
        let header = self.head.next_header(UnixMillis(self.clock));
        let mut body = body.as_object().unwrap().clone();
        let org = body.remove("org");
        let bytes = seal(&header, kind, org.as_ref().and_then(Value::as_str), &body).unwrap();
        let leaf = self.head.advance(&parse(&bytes).unwrap(), &bytes).unwrap();
        self.frontier.append(leaf);
        self.entries.push(bytes);
        (header.seq, leaf)
    }

    /// Writes a complete bundle signed with `signer`: entries.csv with every entry, the
    /// derived files from the first `good` entries (verification stops at the next one).
    fn write_bundle(&self, dir: &Path, good: usize, signer: &NoteSigner) {
        fs::create_dir_all(dir).unwrap();
        let verifier_key = signer.verifier().to_text();
        let origin = signer.verifier().name();
        let mut out = CsvOut::new(Vec::new(), &TABLES[0]).unwrap();
        let mut prev = Hash::ZERO;
        for bytes in &self.entries {
            let e = parse(bytes).unwrap();
            let (time, leaf) = (e.time.format(), leaf_hash(bytes));
            out.row(&[
                Cell::Int(e.seq as i64),
                Cell::Plain(&time),
                Cell::Plain(&e.kind),
                Cell::Plain(e.org.as_deref().unwrap_or_default()),
                Cell::Plain(&leaf.to_hex()),
                Cell::Plain(&prev.to_hex()),
                Cell::Plain(std::str::from_utf8(bytes).unwrap()),
            ])
            .unwrap();
            prev = leaf;
        }
        let entries_csv = out.finish().unwrap();
        let mut deriver = Deriver::new(origin, |_| Ok(Vec::new())).unwrap();
        for bytes in &self.entries[..good] {
            deriver.push(bytes).expect("the good prefix derives");
        }
        let (sinks, _) = deriver.finish().unwrap();
        for (name, bytes) in sinks {
            if name == "entries.csv" {
                assert!(entries_csv.starts_with(&bytes), "rows match the deriver's");
                fs::write(dir.join(name), &entries_csv).unwrap();
            } else {
                fs::write(dir.join(name), bytes).unwrap();
            }
        }
        let checkpoint = Checkpoint {
            origin: origin.to_string(),
            size: self.entries.len() as u64,
            root: self.frontier.root(),
        };
        fs::write(dir.join(CHECKPOINT_FILE), checkpoint.sign(signer).unwrap()).unwrap();
        fs::write(
            dir.join(README_FILE),
            package::readme(
                pennytrail_bundle::BundleFormat::CURRENT,
                origin,
                &verifier_key,
                checkpoint.size,
            ),
        )
        .unwrap();
        package::write_datapackage(
            dir,
            pennytrail_bundle::BundleFormat::CURRENT,
            origin,
            &verifier_key,
            &checkpoint,
        )
        .unwrap();
    }
}

/// The keys of the synthetic org `o`: its first and second key, beneficiaries `b` and
/// `u`, and a stranger.
struct SynthKeys {
    first: NoteSigner,
    second: NoteSigner,
    b: NoteSigner,
    u: NoteSigner,
    stranger: NoteSigner,
}

/// A synthetic log and what statements about it need.
struct Synth {
    log: SynthLog,
    keys: SynthKeys,
    /// (seq, leaf) of disbursements x1 (40 to b) and x2 (20 to u).
    x1: (u64, Hash),
    x2: (u64, Hash),
}

impl Synth {
    /// org o (key `first`); beneficiaries b (supplier) and u (person), both with keys;
    /// EUR campaign c stating both; donation d1 100 (fee 10); x1 40 to b; x2 20 to u.
    /// 7 entries.
    fn base() -> Synth {
        let keys = SynthKeys {
            first: key("o", 11),
            second: key("o", 12),
            b: key("b", 13),
            u: key("u", 14),
            stranger: key("o", 15),
        };
        let mut log = SynthLog::new();
        log.push(
            "org.registered",
            json!({"org": "o", "name": "O", "country": "DE", "public_key": public(&keys.first)}),
        );
        for (id, kind, signer) in [("b", "supplier", &keys.b), ("u", "person", &keys.u)] {
            log.push(
                "beneficiary.registered",
                json!({"org": "o", "beneficiary": id, "label": id.to_uppercase(),
                       "beneficiary_kind": kind, "country": "DE", "public_key": public(signer)}),
            );
        }
        log.push(
            "campaign.opened",
            json!({"org": "o", "campaign": "c", "title": "T", "purpose": "P",
                   "currency": "EUR", "beneficiaries": ["b", "u"]}),
        );
        log.push(
            "donation.received",
            json!({"org": "o", "donation": "d1", "campaign": "c", "currency": "EUR",
                   "amount": 100, "fee": 10, "net": 90, "received_before": 0, "channel": "card"}),
        );
        let x1 = log.push(
            "disbursement.made",
            json!({"org": "o", "disbursement": "x1", "campaign": "c", "currency": "EUR",
                   "beneficiary": "b", "amount": 40, "disbursed_before": 0, "purpose": "Seeds"}),
        );
        let x2 = log.push(
            "disbursement.made",
            json!({"org": "o", "disbursement": "x2", "campaign": "c", "currency": "EUR",
                   "beneficiary": "u", "amount": 20, "disbursed_before": 40, "purpose": "Food"}),
        );
        Synth { log, keys, x1, x2 }
    }

    /// The figures of [0, 7) and of [6, to) (x2 only), by hand.
    fn whole() -> Value {
        json!({
            "campaigns": [{"campaign": "c", "currency": "EUR", "received": 100, "fees": 10,
                           "net": 90, "disbursed": 60, "held": 30}],
            "beneficiary_kinds": [
                {"currency": "EUR", "beneficiary_kind": "person", "disbursed": 20},
                {"currency": "EUR", "beneficiary_kind": "supplier", "disbursed": 40},
            ],
        })
    }

    fn tail() -> Value {
        json!({
            "campaigns": [{"campaign": "c", "currency": "EUR", "received": 0, "fees": 0,
                           "net": 0, "disbursed": 20, "held": 30}],
            "beneficiary_kinds": [
                {"currency": "EUR", "beneficiary_kind": "person", "disbursed": 20},
            ],
        })
    }

    /// A `disbursement.acknowledged` entry body: the message says what `signed` says,
    /// the entry what `said` says.
    fn ack(
        disbursement: &str,
        beneficiary: &str,
        said: (&str, i64),
        of: (u64, Hash),
        signed: (&str, i64),
        signer: &NoteSigner,
    ) -> Value {
        let message = ack_message(of.0, &of.1.to_hex(), signed.0, signed.1);
        json!({"org": "o", "disbursement": disbursement, "beneficiary": beneficiary,
               "status": said.0, "amount_received": said.1,
               "signature": sign(signer, message.as_bytes())})
    }

    fn report(
        org: &str,
        id: &str,
        from: u64,
        to: u64,
        figures: &Value,
        signer: &NoteSigner,
    ) -> Value {
        let unsigned = unsigned_report(id, from, to, figures, None);
        let mut body = unsigned.clone();
        body["org"] = org.into();
        body["signature"] = sign(signer, &report_message(org, &unsigned)).into();
        body
    }

    fn rotation(current_seq: u64, new: &NoteSigner, signer: &NoteSigner) -> Value {
        let message = rotation_message("o", current_seq, &public(new));
        json!({"org": "o", "public_key": public(new),
               "signature": sign(signer, message.as_bytes())})
    }
}

#[pennytrail_test]
async fn logs_signed_with_the_real_key_whose_statements_break_a_rule_are_refused() {
    let mut app = TestApp::start(Backend::Sqlite).await;
    app.stop_service().await;
    let signer = pennytrail::keys::read_signer(&app.data_dir.path().join("log.key")).unwrap();
    assert_eq!(signer.verifier().to_text(), app.verifier.to_text());
    let tmp = tempfile::tempdir().unwrap();
    let v = &app.verifier;

    // The control: every kind of statement, lawful, verifies; so each failure below is
    // the bad entry's doing.
    let mut s = Synth::base();
    let k = &s.keys;
    let (x1, x2) = (s.x1, s.x2);
    s.log.push(
        "disbursement.acknowledged",
        Synth::ack("x1", "b", ("received", 40), x1, ("received", 40), &k.b),
    );
    s.log.push(
        "disbursement.acknowledged",
        Synth::ack("x2", "u", ("disputed", 15), x2, ("disputed", 15), &k.u),
    );
    s.log.push(
        "report.published",
        Synth::report("o", "r1", 0, 7, &Synth::whole(), &k.first),
    );
    s.log
        .push("org.key_rotated", Synth::rotation(0, &k.second, &k.first));
    let size = s.log.entries.len() as u64;
    s.log.push(
        "report.published",
        Synth::report("o", "r2", 6, size, &Synth::tail(), &k.second),
    );
    let n = s.log.entries.len();
    s.log.write_bundle(&tmp.path().join("control"), n, &signer);
    let report = verify(&tmp.path().join("control"), v).expect("the lawful log verifies");
    let sum = &report.summary;
    assert_eq!(
        (sum.entries, sum.reports, sum.acknowledged, sum.disputed),
        (12, 2, 1, 1)
    );

    struct Case {
        name: &'static str,
        /// Lawful entries before the bad one (after the base).
        before: Vec<(&'static str, Value)>,
        kind: &'static str,
        body: Value,
        field: &'static str,
        rule: &'static str,
    }
    let mut wrong_held = Synth::whole();
    wrong_held["campaigns"][0]["held"] = json!(31);
    let mut kind_missing = Synth::whole();
    kind_missing["beneficiary_kinds"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    // Over [0, 6) the kind lines are right (supplier 40) but the campaign claims x2's 20.
    let mut x2_claimed = Synth::whole();
    x2_claimed["beneficiary_kinds"] =
        json!([{"currency": "EUR", "beneficiary_kind": "supplier", "disbursed": 40}]);
    let rotation = || ("org.key_rotated", Synth::rotation(0, &k.second, &k.first));
    let cases = vec![
        Case {
            name: "report with a wrong held figure",
            before: vec![],
            kind: "report.published",
            body: Synth::report("o", "r1", 0, 7, &wrong_held, &k.first),
            field: "entry.campaigns[0].held",
            rule: "rule report-figure",
        },
        Case {
            name: "report missing a kind line",
            before: vec![],
            kind: "report.published",
            body: Synth::report("o", "r1", 0, 7, &kind_missing, &k.first),
            field: "entry.beneficiary_kinds[0].beneficiary_kind",
            rule: "rule report-figure",
        },
        Case {
            name: "report over [0, 6) claiming x2's payout too",
            before: vec![],
            kind: "report.published",
            body: Synth::report("o", "r1", 0, 6, &x2_claimed, &k.first),
            field: "entry.campaigns[0].disbursed",
            rule: "rule report-figure",
        },
        Case {
            name: "report signed by a stranger",
            before: vec![],
            kind: "report.published",
            body: Synth::report("o", "r1", 0, 7, &Synth::whole(), &k.stranger),
            field: "entry.signature",
            rule: "rule bad-signature",
        },
        Case {
            name: "report signed by the rotated-away key",
            before: vec![rotation()],
            kind: "report.published",
            body: Synth::report("o", "r1", 0, 7, &Synth::whole(), &k.first),
            field: "entry.signature",
            rule: "rule bad-signature",
        },
        Case {
            name: "report covering entries that do not exist yet",
            before: vec![],
            kind: "report.published",
            body: Synth::report("o", "r1", 0, 8, &Synth::whole(), &k.first),
            field: "entry.to_size",
            rule: "rule report-range",
        },
        Case {
            name: "report by an org without a key",
            before: vec![(
                "org.registered",
                json!({"org": "p", "name": "P", "country": "DE"}),
            )],
            kind: "report.published",
            body: Synth::report(
                "p",
                "r1",
                0,
                8,
                &json!({"campaigns": [], "beneficiary_kinds": []}),
                &k.first,
            ),
            field: "entry.signature",
            rule: "rule no-org-key",
        },
        Case {
            name: "key stated for an org that has one",
            before: vec![],
            kind: "org.key_stated",
            body: json!({"org": "o", "public_key": public(&k.second)}),
            field: "entry.public_key",
            rule: "rule org-key-exists",
        },
        Case {
            name: "report by an org whose stated key is another",
            before: vec![
                (
                    "org.registered",
                    json!({"org": "p", "name": "P", "country": "DE"}),
                ),
                (
                    "org.key_stated",
                    json!({"org": "p", "public_key": public(&k.second)}),
                ),
            ],
            kind: "report.published",
            body: Synth::report(
                "p",
                "r1",
                0,
                9,
                &json!({"campaigns": [], "beneficiary_kinds": []}),
                &k.first,
            ),
            field: "entry.signature",
            rule: "rule bad-signature",
        },
        Case {
            name: "rotation signed by a stranger",
            before: vec![],
            kind: "org.key_rotated",
            body: Synth::rotation(0, &k.second, &k.stranger),
            field: "entry.signature",
            rule: "rule bad-signature",
        },
        Case {
            name: "rotation naming the wrong current key seq",
            before: vec![],
            kind: "org.key_rotated",
            body: Synth::rotation(1, &k.second, &k.first),
            field: "entry.signature",
            rule: "rule bad-signature",
        },
        Case {
            name: "second rotation signed by the rotated-away key",
            before: vec![rotation()],
            kind: "org.key_rotated",
            // The rotation before it is entry 7, which set the current key.
            body: Synth::rotation(7, &k.stranger, &k.first),
            field: "entry.signature",
            rule: "rule bad-signature",
        },
        Case {
            name: "ack signed by the org's key",
            before: vec![],
            kind: "disbursement.acknowledged",
            body: Synth::ack("x1", "b", ("received", 40), x1, ("received", 40), &k.first),
            field: "entry.signature",
            rule: "rule bad-signature",
        },
        Case {
            name: "ack of b's payout signed by u",
            before: vec![],
            kind: "disbursement.acknowledged",
            body: Synth::ack("x1", "b", ("received", 40), x1, ("received", 40), &k.u),
            field: "entry.signature",
            rule: "rule bad-signature",
        },
        Case {
            name: "ack whose signature says another amount",
            before: vec![],
            kind: "disbursement.acknowledged",
            body: Synth::ack("x2", "u", ("disputed", 15), x2, ("disputed", 19), &k.u),
            field: "entry.signature",
            rule: "rule bad-signature",
        },
        Case {
            name: "ack whose signature is for another payout",
            before: vec![],
            kind: "disbursement.acknowledged",
            body: Synth::ack("x2", "u", ("received", 20), x1, ("received", 20), &k.u),
            field: "entry.signature",
            rule: "rule bad-signature",
        },
        Case {
            name: "ack with random signature bytes",
            before: vec![],
            kind: "disbursement.acknowledged",
            body: {
                let mut b = Synth::ack("x1", "b", ("received", 40), x1, ("received", 40), &k.b);
                b["signature"] = random_signature().into();
                b
            },
            field: "entry.signature",
            rule: "rule bad-signature",
        },
        Case {
            name: "ack received with a partial amount",
            before: vec![],
            kind: "disbursement.acknowledged",
            body: Synth::ack("x1", "b", ("received", 39), x1, ("received", 39), &k.b),
            field: "entry.amount_received",
            rule: "rule ack-amount",
        },
        Case {
            name: "ack naming the wrong beneficiary",
            before: vec![],
            kind: "disbursement.acknowledged",
            body: Synth::ack("x1", "u", ("received", 40), x1, ("received", 40), &k.u),
            field: "entry.beneficiary",
            rule: "rule wrong-beneficiary",
        },
        Case {
            name: "ack of a disbursement that does not exist",
            before: vec![],
            kind: "disbursement.acknowledged",
            body: Synth::ack("x9", "b", ("received", 40), x1, ("received", 40), &k.b),
            field: "entry.disbursement",
            rule: "rule unknown-disbursement",
        },
    ];
    let mut f = Findings::default();
    for case in cases {
        let mut s = Synth::base();
        for (kind, body) in case.before {
            s.log.push(kind, body);
        }
        let good = s.log.entries.len();
        s.log.push(case.kind, case.body);
        let dir = tmp.path().join(case.name.replace(' ', "-"));
        s.log.write_bundle(&dir, good, &signer);
        f.located(
            case.name,
            verify(&dir, v),
            "entries.csv",
            Some(good as u64 + 1),
            Some(case.field),
            case.rule,
        );
    }

    // A second, validly signed statement on a payout already acknowledged. (Only the rule
    // and row are pinned: the field it names today, `entry.acknowledgement`, is not a
    // field of the entry; the id is in `disbursement`.)
    let mut s = Synth::base();
    let k = &s.keys;
    s.log.push(
        "disbursement.acknowledged",
        Synth::ack("x1", "b", ("received", 40), x1, ("received", 40), &k.b),
    );
    let good = s.log.entries.len();
    s.log.push(
        "disbursement.acknowledged",
        Synth::ack("x1", "b", ("disputed", 0), x1, ("disputed", 0), &k.b),
    );
    let dir = tmp.path().join("second-statement");
    s.log.write_bundle(&dir, good, &signer);
    match verify(&dir, v) {
        Ok(_) => f.0.push("a second statement on x1: VERIFIED".into()),
        Err(err) => f.check(
            "a second statement on x1",
            err.file == "entries.csv"
                && err.row == Some(good as u64 + 1)
                && err.message.starts_with("rule duplicate-id"),
            &err,
        ),
    }
    f.assert_none();
}

/// A command whose reader went away (`pennytrail loadgen … | head -1`) stops quietly with
/// the status a shell gives a command stopped by a closed pipe, instead of panicking in
/// `println!`; what it did before printing stays done.
#[pennytrail_test]
fn a_command_printing_into_a_closed_pipe_stops_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("org.key");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"))
        .args(["keygen", "--name", ORG, "--out", path_str(&key)])
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        key.exists(),
        "the key was written before the public key was printed"
    );
}
