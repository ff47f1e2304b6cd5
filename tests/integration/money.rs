//! The money model through the API, on SQLite and PostgreSQL: records, every rule the
//! sequencer enforces, idempotency, batch atomicity, org isolation, and traces checked
//! against a naive oracle that moves money one minor unit at a time.

use crate::support::bodies::{beneficiary, disbursement, donation};
use crate::support::{Answer, Backend, TestApp, pennytrail_test};
use std::collections::BTreeMap;

use pennytrail::log::receipt::Receipt;
use serde_json::{Value, json};

const ORG: &str = "helping-hands";

fn verify_receipts(app: &TestApp, body: &Value, entries: &BTreeMap<u64, Vec<u8>>) {
    let checkpoint = body["checkpoint"].as_str().unwrap();
    for (seq, text) in body["receipts"].as_object().unwrap() {
        let receipt = Receipt::parse(text.as_str().unwrap()).unwrap();
        assert_eq!(
            receipt.checkpoint_note, checkpoint,
            "one checkpoint for all receipts"
        );
        let seq: u64 = seq.parse().unwrap();
        receipt
            .verify(&entries[&seq], &app.verifier)
            .expect("receipt verifies");
    }
}

async fn all_entries(app: &TestApp) -> BTreeMap<u64, Vec<u8>> {
    let mut out = BTreeMap::new();
    loop {
        let page = app
            .get(&format!("/v1/entries?from={}&limit=1000", out.len()))
            .await
            .body;
        let before = out.len();
        for line in page.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            out.insert(out.len() as u64, line.to_vec());
        }
        if out.len() == before {
            return out;
        }
    }
}

#[pennytrail_test(both_backends)]
async fn a_campaign_from_donation_to_beneficiary(app: TestApp) {
    let token = app.seeded_org(ORG).await.token;
    let d1 = app
        .org_create(&token, ORG, "/donations", &donation("d1", "meals", 500, 25))
        .await;
    assert_eq!(d1["entry"]["net"], 475);
    assert_eq!(d1["entry"]["received_before"], 0);
    assert_eq!(d1["entry"]["currency"], "EUR");
    let d2 = app
        .org_create(&token, ORG, "/donations", &json!({"id": "d2", "campaign": "meals", "amount": 300, "fee": 0,
            "currency": "EUR", "channel": "sms", "donor_ref": "Ann@Example.org", "occurred_at": "2026-01-02T03:04:05.678Z"}))
        .await;
    assert_eq!(d2["entry"]["received_before"], 475);
    let commitment = d2["entry"]["donor_commitment"].as_str().unwrap();
    assert_eq!(commitment.len(), 64);
    assert!(!String::from_utf8_lossy(&app.get("/v1/entries/6").await.body).contains("ann@example"));

    let x1 = app
        .org_create(
            &token,
            ORG,
            "/disbursements",
            &disbursement("x1", "meals", "school", 600),
        )
        .await;
    assert_eq!(x1["entry"]["disbursed_before"], 0);
    let x2 = app
        .org_create(
            &token,
            ORG,
            "/disbursements",
            &disbursement("x2", "meals", "ops", 100),
        )
        .await;
    assert_eq!(x2["entry"]["disbursed_before"], 600);

    let campaign = app
        .get_json(&format!("/v1/orgs/{ORG}/campaigns/meals"))
        .await;
    assert_eq!(
        campaign["totals"],
        json!({"received": 800, "fees": 25, "net": 775, "disbursed": 700,
        "held": 75, "donations": 2, "disbursements": 2})
    );
    let stated: Vec<(&str, i64)> = campaign["beneficiaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["beneficiary"].as_str().unwrap(),
                b["disbursed"].as_i64().unwrap(),
            )
        })
        .collect();
    // Both were stated by the campaign.opened entry, so they list by id.
    assert_eq!(stated, vec![("ops", 100), ("school", 600)]);

    let entries = all_entries(&app).await;
    // d1 (475 net) went wholly to school; d2 (300) gave 125 to school, 100 to ops, holds 75.
    let t1 = app
        .get_json(&format!("/v1/orgs/{ORG}/donations/d1/trace"))
        .await;
    assert_eq!(
        t1["flows"],
        json!([{"disbursement": "x1", "beneficiary": "school", "beneficiary_kind": "organization",
        "amount": 475, "seq": x1["seq"]}])
    );
    assert_eq!(
        (t1["funded"].as_i64(), t1["held"].as_i64()),
        (Some(475), Some(0))
    );
    verify_receipts(&app, &t1, &entries);
    let t2 = app
        .get_json(&format!("/v1/orgs/{ORG}/donations/d2/trace"))
        .await;
    let flows: Vec<(String, i64)> = t2["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["disbursement"].as_str().unwrap().to_string(),
                f["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        flows,
        vec![("x1".to_string(), 125), ("x2".to_string(), 100)]
    );
    assert_eq!(
        (t2["funded"].as_i64(), t2["held"].as_i64()),
        (Some(225), Some(75))
    );
    verify_receipts(&app, &t2, &entries);

    let sources = app
        .get_json(&format!("/v1/orgs/{ORG}/disbursements/x1/sources"))
        .await;
    let got: Vec<(String, i64)> = sources["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["donation"].as_str().unwrap().to_string(),
                s["amount"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, vec![("d1".to_string(), 475), ("d2".to_string(), 125)]);
    verify_receipts(&app, &sources, &entries);

    // Records read back.
    let d = app.get_json(&format!("/v1/orgs/{ORG}/donations/d2")).await;
    assert_eq!(
        (
            d["amount"].as_i64(),
            d["net"].as_i64(),
            d["channel"].as_str()
        ),
        (Some(300), Some(300), Some("sms"))
    );
    let b = app
        .get_json(&format!("/v1/orgs/{ORG}/beneficiaries/school"))
        .await;
    assert_eq!(
        b["received"],
        json!([{"campaign": "meals", "currency": "EUR", "amount": 600, "disbursements": 1}])
    );
    assert_eq!(app.get_json("/v1/orgs").await["orgs"][0]["id"], ORG);
    assert_eq!(
        app.get_json(&format!("/v1/orgs/{ORG}/donations?limit=1"))
            .await["next"],
        d1["seq"]
    );
    app.get(&format!("/v1/orgs/{ORG}/donations/nope/trace"))
        .await
        .assert_problem(404, None);

    // A donor finds their donation by their own reference, normalised.
    let found = app
        .post_json(
            "/v1/donors/lookup",
            None,
            &json!({"org": ORG, "donor_ref": "  ann@EXAMPLE.org "}),
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.text());
    assert_eq!(found.json()["donations"][0]["id"], "d2");
    let other = app
        .post_json(
            "/v1/donors/lookup",
            None,
            &json!({"org": ORG, "donor_ref": "bob@example.org"}),
        )
        .await;
    assert_eq!(other.json()["donations"], json!([]));

    // Corrections change text, never money, and show on the record.
    let c = app
        .org_create(
            &token,
            ORG,
            "/corrections",
            &json!({"id": "c1", "corrects": x1["seq"], "fields": {"purpose": "School lunches"}}),
        )
        .await;
    assert_eq!(c["entry"]["kind"], "entry.corrected");
    let x = app
        .get_json(&format!("/v1/orgs/{ORG}/disbursements/x1"))
        .await;
    assert_eq!(x["purpose"], "School lunches");
    assert_eq!(x["corrections"], json!([c["seq"]]));
    app.org_post(
        &token,
        ORG,
        "/corrections",
        &json!({"id": "c2", "corrects": x1["seq"], "fields": {"amount": "1"}}),
    )
    .await
    .assert_problem(422, Some("fields.amount"));
    app.org_post(
        &token,
        ORG,
        "/corrections",
        &json!({"id": "c3", "corrects": d1["seq"], "fields": {"purpose": "x"}}),
    )
    .await
    .assert_problem(422, Some("fields.purpose"));
    app.org_post(
        &token,
        ORG,
        "/corrections",
        &json!({"id": "c4", "corrects": 9999, "fields": {"purpose": "x"}}),
    )
    .await
    .assert_problem(422, Some("corrects"));
    app.finish().await;
}

/// Asserts a refused write: the status, the field, the rule (if given), and an
/// unchanged log.
async fn assert_refused(
    app: &TestApp,
    answer: Answer,
    status: u16,
    field: &str,
    rule: Option<&str>,
    size: u64,
) {
    let problem = answer.assert_problem(status, Some(field));
    if let Some(rule) = rule {
        assert_eq!(problem["rule"], rule, "{problem}");
    }
    assert_eq!(
        app.log_size().await,
        size,
        "a refused write changed the log: {problem}"
    );
}

#[pennytrail_test(both_backends)]
async fn every_rule_is_enforced_and_named(app: TestApp) {
    let token = app.seeded_org(ORG).await.token;
    app.org_create(&token, ORG, "/donations", &donation("d1", "meals", 1000, 0))
        .await;
    let size = app.log_size().await;
    let post = |path: &'static str, body: Value| {
        let (app, token) = (&app, &token);
        async move { app.org_post(token, ORG, path, &body).await }
    };

    // Overspend: the campaign holds 1000, said in major units.
    let a = post(
        "/disbursements",
        disbursement("x1", "meals", "school", 1001),
    )
    .await;
    let detail = a.json()["detail"].as_str().unwrap_or_default().to_string();
    assert!(
        detail.contains("holds EUR 10.00; cannot disburse EUR 10.01"),
        "{detail}"
    );
    assert_refused(&app, a, 422, "amount", Some("overspend"), size).await;
    // Not stated for the campaign (registered, though), then stated, then allowed.
    let a = post("/disbursements", disbursement("x1", "meals", "late", 10)).await;
    assert_refused(
        &app,
        a,
        422,
        "beneficiary",
        Some("unstated-beneficiary"),
        size,
    )
    .await;
    let a = post("/disbursements", disbursement("x1", "meals", "ghost", 10)).await;
    assert_refused(
        &app,
        a,
        422,
        "beneficiary",
        Some("unknown-beneficiary"),
        size,
    )
    .await;
    let a = post("/disbursements", disbursement("x1", "nope", "school", 10)).await;
    assert_refused(&app, a, 422, "campaign", Some("unknown-campaign"), size).await;
    let a = post(
        "/campaigns/meals/beneficiaries",
        json!({"beneficiaries": ["ghost"]}),
    )
    .await;
    assert_refused(
        &app,
        a,
        422,
        "beneficiaries[0]",
        Some("unknown-beneficiary"),
        size,
    )
    .await;
    let a = post(
        "/campaigns/meals/beneficiaries",
        json!({"beneficiaries": ["school"]}),
    )
    .await;
    assert_refused(
        &app,
        a,
        422,
        "beneficiaries[0]",
        Some("already-stated"),
        size,
    )
    .await;
    let a = post(
        "/campaigns/nope/beneficiaries",
        json!({"beneficiaries": ["late"]}),
    )
    .await;
    assert_refused(&app, a, 422, "campaign", Some("unknown-campaign"), size).await;
    let stated = app
        .org_create(
            &token,
            ORG,
            "/campaigns/meals/beneficiaries",
            &json!({"beneficiaries": ["late"]}),
        )
        .await;
    assert_eq!(stated["entry"]["kind"], "campaign.beneficiaries_stated");
    // The same statement again is a replay, not a second entry.
    let again = post(
        "/campaigns/meals/beneficiaries",
        json!({"beneficiaries": ["late"]}),
    )
    .await;
    assert_eq!(again.status, 200);
    app.org_create(
        &token,
        ORG,
        "/disbursements",
        &disbursement("x1", "meals", "late", 10),
    )
    .await;
    let size = app.log_size().await;

    // Currencies.
    let a = post("/donations", json!({"id": "d2", "campaign": "meals", "amount": 5, "fee": 0, "currency": "USD", "channel": "card"})).await;
    assert_refused(&app, a, 422, "currency", Some("currency-mismatch"), size).await;
    for bad in ["EURO", "eur", "XAU", "ZZZ"] {
        let a = post("/donations", json!({"id": "d2", "campaign": "meals", "amount": 5, "fee": 0, "currency": bad, "channel": "card"})).await;
        assert_refused(&app, a, 422, "currency", None, size).await;
        let a = post(
            "/campaigns",
            json!({"id": "c2", "title": "T", "purpose": "P", "currency": bad, "beneficiaries": []}),
        )
        .await;
        assert_refused(&app, a, 422, "currency", None, size).await;
    }
    // Amounts and fees.
    for (amount, fee, field) in [
        (0, 0, "amount"),
        (-5, 0, "amount"),
        (5, -1, "fee"),
        (5, 6, "fee"),
        (9_007_199_254_740_992, 0, "amount"),
    ] {
        let a = post("/donations", donation("d2", "meals", amount, fee)).await;
        assert_refused(&app, a, 422, field, None, size).await;
    }
    for amount in [
        json!(1.5),
        json!("100"),
        json!(1e3),
        json!(null),
        json!(18446744073709551616u128 as f64),
    ] {
        let a = post(
            "/donations",
            json!({"id": "d2", "campaign": "meals", "amount": amount, "fee": 0, "channel": "card"}),
        )
        .await;
        assert_refused(&app, a, 422, "amount", None, size).await;
    }
    let a = post("/disbursements", disbursement("x2", "meals", "school", 0)).await;
    assert_refused(&app, a, 422, "amount", None, size).await;
    // Ids.
    for bad in ["", "-x", "=1+1", "a b", "@home", &"x".repeat(65)] {
        let a = post("/donations", donation(bad, "meals", 5, 0)).await;
        assert_refused(&app, a, 422, "id", None, size).await;
        let a = post("/beneficiaries", beneficiary(bad, "person")).await;
        assert_refused(&app, a, 422, "id", None, size).await;
    }
    let a = post("/beneficiaries", beneficiary("b9", "alien")).await;
    assert_refused(&app, a, 422, "kind", None, size).await;
    let a = post(
        "/donations",
        json!({"id": "d2", "campaign": "meals", "amount": 5, "fee": 0, "channel": "card",
        "donor_ref": "a", "donor_commitment": "0".repeat(64)}),
    )
    .await;
    assert_refused(&app, a, 422, "donor_commitment", None, size).await;
    let a = post(
        "/donations",
        json!({"id": "d2", "campaign": "meals", "amount": 5, "fee": 0, "channel": "card",
        "occurred_at": "yesterday"}),
    )
    .await;
    assert_refused(&app, a, 422, "occurred_at", None, size).await;
    let a = post(
        "/disbursements",
        json!({"id": "x2", "campaign": "meals", "beneficiary": "school", "amount": 5,
        "purpose": "p", "evidence_sha256": "abc"}),
    )
    .await;
    assert_refused(&app, a, 422, "evidence_sha256", None, size).await;
    let a = post("/donations", json!({"id": "d2", "campaign": "meals", "amount": 5, "fee": 0, "channel": "card", "tip": 1})).await;
    assert_refused(&app, a, 422, "tip", None, size).await;
    app.finish().await;
}

#[pennytrail_test(both_backends)]
async fn replays_are_byte_identical_and_conflicts_409(app: TestApp) {
    let token = app.seeded_org(ORG).await.token;
    let first = app
        .org_post(&token, ORG, "/donations", &donation("d1", "meals", 100, 1))
        .await;
    assert_eq!(first.status, 201);
    let replay = app
        .org_post(&token, ORG, "/donations", &donation("d1", "meals", 100, 1))
        .await;
    assert_eq!(replay.status, 200);
    assert_eq!(
        replay.body, first.body,
        "a replay answers the original bytes"
    );
    // Naming the campaign's currency explicitly is the same donation.
    let explicit = app
        .org_post(&token, ORG, "/donations", &json!({"id": "d1", "campaign": "meals", "amount": 100, "fee": 1, "currency": "EUR", "channel": "card"}))
        .await;
    assert_eq!(
        (explicit.status.as_u16(), &explicit.body),
        (200, &first.body)
    );
    let size = app.log_size().await;
    let conflict = app
        .org_post(&token, ORG, "/donations", &donation("d1", "meals", 101, 1))
        .await;
    assert_refused(&app, conflict, 409, "id", None, size).await;
    // Ids are per org and per record type: another org may use d1, and so may a disbursement.
    let other = app.new_org("other-org").await;
    app.org_create(
        &other,
        "other-org",
        "/beneficiaries",
        &beneficiary("school", "organization"),
    )
    .await;
    app.org_create(
        &other,
        "other-org",
        "/campaigns",
        &json!({"id": "meals", "title": "T", "purpose": "P",
        "currency": "JPY", "beneficiaries": ["school"]}),
    )
    .await;
    app.org_create(
        &other,
        "other-org",
        "/donations",
        &donation("d1", "meals", 100, 1),
    )
    .await;
    app.org_create(
        &token,
        ORG,
        "/disbursements",
        &disbursement("d1", "meals", "school", 10),
    )
    .await;
    app.finish().await;
}

#[pennytrail_test(both_backends)]
async fn batches_are_atomic(app: TestApp) {
    let token = app.seeded_org(ORG).await.token;
    let size = app.log_size().await;
    let batch = |items: Vec<Value>| json!({"donations": items});
    // One bad item refuses the whole batch and names it.
    let a = app
        .org_post(
            &token,
            ORG,
            "/donations/batch",
            &batch(vec![
                donation("b1", "meals", 5, 0),
                donation("b2", "nope", 5, 0),
                donation("b3", "meals", 5, 0),
            ]),
        )
        .await;
    let problem = a.assert_problem(422, Some("donations[1].campaign"));
    assert_eq!(problem["rule"], "unknown-campaign");
    assert_eq!(app.log_size().await, size);
    let a = app
        .org_post(
            &token,
            ORG,
            "/donations/batch",
            &batch(vec![
                donation("b1", "meals", 5, 0),
                donation("b2", "meals", 0, 0),
            ]),
        )
        .await;
    a.assert_problem(422, Some("donations[1].amount"));
    let a = app
        .org_post(
            &token,
            ORG,
            "/donations/batch",
            &batch(vec![
                donation("b1", "meals", 5, 0),
                donation("b1", "meals", 5, 0),
            ]),
        )
        .await;
    a.assert_problem(422, Some("donations[1].id"));
    let a = app
        .org_post(&token, ORG, "/donations/batch", &batch(vec![]))
        .await;
    a.assert_problem(422, Some("donations"));
    let too_many: Vec<Value> = (0..1001)
        .map(|i| donation(&format!("m{i}"), "meals", 1, 0))
        .collect();
    app.org_post(&token, ORG, "/donations/batch", &batch(too_many))
        .await
        .assert_problem(422, Some("donations"));
    assert_eq!(app.log_size().await, size);

    // A good batch of 1,000 micro-donations: contiguous seqs, one checkpoint covering all.
    let items: Vec<Value> = (0..1000)
        .map(|i| donation(&format!("m{i}"), "meals", 10 + i % 7, 1))
        .collect();
    let ok = app
        .org_post(&token, ORG, "/donations/batch", &batch(items.clone()))
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text());
    let body = ok.json();
    let seqs: Vec<u64> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (size..size + 1000).collect::<Vec<_>>());
    assert!(
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["status"] == "created")
    );
    let checkpoint = pennytrail::log::checkpoint::Checkpoint::open(
        body["checkpoint"].as_str().unwrap(),
        &app.verifier,
    )
    .unwrap();
    assert_eq!(checkpoint.size, size + 1000);

    // Replays keep their seqs; new items get the next ones; a conflicting item refuses all.
    let mut mixed = items[..2].to_vec();
    mixed.push(donation("new-1", "meals", 3, 0));
    let again = app
        .org_post(&token, ORG, "/donations/batch", &batch(mixed))
        .await;
    assert_eq!(again.status, 201);
    let statuses: Vec<(u64, String)> = again.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["seq"].as_u64().unwrap(),
                i["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            (size, "replayed".into()),
            (size + 1, "replayed".into()),
            (size + 1000, "created".into())
        ]
    );
    let size = app.log_size().await;
    let conflicting = vec![
        donation("new-2", "meals", 3, 0),
        donation("m5", "meals", 999, 0),
    ];
    let a = app
        .org_post(&token, ORG, "/donations/batch", &batch(conflicting))
        .await;
    assert_refused(&app, a, 409, "donations[1].id", None, size).await;

    // Beneficiaries and disbursements in bulk: many pseudonymous people paid a few cents.
    let people: Vec<Value> = (0..300)
        .map(|i| beneficiary(&format!("p{i}"), "person"))
        .collect();
    let a = app
        .org_post(
            &token,
            ORG,
            "/beneficiaries/batch",
            &json!({"beneficiaries": people}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text());
    let ids: Vec<String> = (0..300).map(|i| format!("p{i}")).collect();
    for chunk in ids.chunks(100) {
        app.org_create(
            &token,
            ORG,
            "/campaigns/meals/beneficiaries",
            &json!({"beneficiaries": chunk}),
        )
        .await;
    }
    let payouts: Vec<Value> = (0..300)
        .map(|i| disbursement(&format!("pay{i}"), "meals", &format!("p{i}"), 3))
        .collect();
    let a = app
        .org_post(
            &token,
            ORG,
            "/disbursements/batch",
            &json!({"disbursements": payouts}),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.text());
    // An overspending batch is refused whole.
    let size = app.log_size().await;
    let held = app
        .get_json(&format!("/v1/orgs/{ORG}/campaigns/meals"))
        .await["totals"]["held"]
        .as_i64()
        .unwrap();
    let a = app
        .org_post(&token, ORG, "/disbursements/batch", &json!({"disbursements": [
            disbursement("big-1", "meals", "school", held - 1), disbursement("big-2", "meals", "school", 2)]}))
        .await;
    let problem = a.assert_problem(422, Some("disbursements[1].amount"));
    assert_eq!(problem["rule"], "overspend");
    assert_eq!(app.log_size().await, size);
    app.finish().await;
}

#[pennytrail_test(both_backends)]
async fn orgs_write_only_their_own_records(app: TestApp) {
    let token = app.seeded_org(ORG).await.token;
    let intruder = app.new_org("intruder").await;
    let routes: Vec<(&str, Value)> = vec![
        ("/beneficiaries", beneficiary("x", "person")),
        (
            "/beneficiaries/batch",
            json!({"beneficiaries": [beneficiary("x", "person")]}),
        ),
        (
            "/campaigns",
            json!({"id": "c", "title": "T", "purpose": "P", "currency": "EUR", "beneficiaries": []}),
        ),
        (
            "/campaigns/meals/beneficiaries",
            json!({"beneficiaries": ["late"]}),
        ),
        ("/donations", donation("d", "meals", 5, 0)),
        (
            "/donations/batch",
            json!({"donations": [donation("d", "meals", 5, 0)]}),
        ),
        ("/disbursements", disbursement("x", "meals", "school", 1)),
        (
            "/disbursements/batch",
            json!({"disbursements": [disbursement("x", "meals", "school", 1)]}),
        ),
        (
            "/corrections",
            json!({"id": "c", "corrects": 0, "fields": {"name": "X"}}),
        ),
    ];
    let size = app.log_size().await;
    for (path, body) in &routes {
        app.org_post(&intruder, ORG, path, body)
            .await
            .assert_problem(403, None);
        app.post_json(&format!("/v1/orgs/{ORG}{path}"), None, body)
            .await
            .assert_problem(401, None);
        app.post_json(&format!("/v1/orgs/{ORG}{path}"), Some("pt_forged"), body)
            .await
            .assert_problem(401, None);
        // The operator token is not an org token either.
        let op = app.operator_token.clone();
        app.post_json(&format!("/v1/orgs/{ORG}{path}"), Some(&op), body)
            .await
            .assert_problem(401, None);
        // Authentication is checked before the body is even read.
        app.post_raw(
            &format!("/v1/orgs/{ORG}{path}"),
            Some(&intruder),
            "application/json",
            b"{oops".to_vec(),
        )
        .await
        .assert_problem(403, None);
    }
    assert_eq!(app.log_size().await, size);
    // The rightful token still works on every route family.
    app.org_create(&token, ORG, "/beneficiaries", &beneficiary("x", "person"))
        .await;
    app.finish().await;
}

/// A small deterministic generator, so a failing scenario can be replayed from its seed.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// Follows `next` cursors until the last page; returns every item of `field`.
async fn all_pages(app: &TestApp, path: &str, field: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut after: Option<i64> = None;
    loop {
        let url = match after {
            Some(a) => format!("{path}?limit=2&after={a}"),
            None => format!("{path}?limit=2"),
        };
        let page = app.get_json(&url).await;
        items.extend(page[field].as_array().unwrap().iter().cloned());
        match page["next"].as_i64() {
            Some(n) => after = Some(n),
            None => return items,
        }
    }
}

#[pennytrail_test(both_backends)]
async fn traces_match_a_unit_by_unit_oracle(app: TestApp) {
    let token = app.seeded_org(ORG).await.token;
    let stated = ["school", "ops"];
    for seed in 1..=3u64 {
        let mut rng = Lcg(seed);
        let campaign = format!("c{seed}");
        app.org_create(
            &token,
            ORG,
            "/campaigns",
            &json!({"id": campaign, "title": "T", "purpose": "P",
            "currency": "KES", "beneficiaries": stated}),
        )
        .await;
        // Oracle state: owner of each unit on the line, by donation and by disbursement.
        let mut unit_donor: Vec<String> = Vec::new();
        let mut unit_payout: Vec<String> = Vec::new();
        let mut nets: BTreeMap<String, i64> = BTreeMap::new();
        let mut payouts: BTreeMap<String, i64> = BTreeMap::new();
        for step in 0..30 {
            let held = unit_donor.len() as i64 - unit_payout.len() as i64;
            if held > 0 && rng.below(3) == 0 {
                let id = format!("x{seed}-{step}");
                let amount = 1 + rng.below(held as u64) as i64;
                let to = stated[rng.below(2) as usize];
                app.org_create(
                    &token,
                    ORG,
                    "/disbursements",
                    &disbursement(&id, &campaign, to, amount),
                )
                .await;
                unit_payout.extend(std::iter::repeat_n(id.clone(), amount as usize));
                payouts.insert(id, amount);
            } else {
                let id = format!("d{seed}-{step}");
                let amount = 1 + rng.below(40) as i64;
                // Some donations lose everything to fees: they cover no part of the line.
                let fee = if rng.below(5) == 0 {
                    amount
                } else {
                    rng.below(amount as u64 / 2 + 1) as i64
                };
                app.org_create(
                    &token,
                    ORG,
                    "/donations",
                    &donation(&id, &campaign, amount, fee),
                )
                .await;
                unit_donor.extend(std::iter::repeat_n(id.clone(), (amount - fee) as usize));
                nets.insert(id, amount - fee);
            }
        }
        for (donation_id, net) in &nets {
            let mut expected: BTreeMap<String, i64> = BTreeMap::new();
            for (unit, payout) in unit_payout.iter().enumerate() {
                if unit_donor[unit] == *donation_id {
                    *expected.entry(payout.clone()).or_default() += 1;
                }
            }
            let path = format!("/v1/orgs/{ORG}/donations/{donation_id}/trace");
            let flows = all_pages(&app, &path, "flows").await;
            let got: BTreeMap<String, i64> = flows
                .iter()
                .map(|f| {
                    (
                        f["disbursement"].as_str().unwrap().to_string(),
                        f["amount"].as_i64().unwrap(),
                    )
                })
                .collect();
            assert_eq!(got, expected, "seed {seed}: flows of {donation_id}");
            assert_eq!(got.len(), flows.len(), "no disbursement listed twice");
            let trace = app.get_json(&path).await;
            let funded: i64 = expected.values().sum();
            assert_eq!(trace["funded"].as_i64(), Some(funded));
            assert_eq!(
                funded + trace["held"].as_i64().unwrap(),
                *net,
                "flows + held == net for {donation_id}"
            );
        }
        for (payout_id, amount) in &payouts {
            let mut expected: BTreeMap<String, i64> = BTreeMap::new();
            for (unit, payout) in unit_payout.iter().enumerate() {
                if payout == payout_id {
                    *expected.entry(unit_donor[unit].clone()).or_default() += 1;
                }
            }
            let path = format!("/v1/orgs/{ORG}/disbursements/{payout_id}/sources");
            let sources = all_pages(&app, &path, "sources").await;
            let got: BTreeMap<String, i64> = sources
                .iter()
                .map(|s| {
                    (
                        s["donation"].as_str().unwrap().to_string(),
                        s["amount"].as_i64().unwrap(),
                    )
                })
                .collect();
            assert_eq!(got, expected, "seed {seed}: sources of {payout_id}");
            assert_eq!(
                got.values().sum::<i64>(),
                *amount,
                "sources sum to the disbursement"
            );
        }
    }
    let store = pennytrail::store::open(&app.store_config()).await.unwrap();
    pennytrail::check::check_store(&store, |_, _| {})
        .await
        .unwrap();
    app.finish().await;
}

#[pennytrail_test]
async fn donor_lookups_are_rate_limited() {
    let app = TestApp::start(Backend::Sqlite).await;
    app.seeded_org(ORG).await;
    let lookup = json!({"org": ORG, "donor_ref": "someone@example.org"});
    for _ in 0..pennytrail::limits::DONOR_LOOKUPS_PER_MINUTE {
        assert_eq!(
            app.post_json("/v1/donors/lookup", None, &lookup)
                .await
                .status,
            200
        );
    }
    let response = app
        .client
        .post(format!("{}/v1/donors/lookup", app.base))
        .json(&lookup)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=2).contains(&retry_after),
        "retry after {retry_after} s"
    );
    app.post_json(
        "/v1/donors/lookup",
        None,
        &json!({"org": "-bad", "donor_ref": "x"}),
    )
    .await
    .assert_problem(429, None);
    app.finish().await;
}

/// Integers at the edge of their types, as schemathesis (.ci/schemathesis) sent them: a
/// correction of seq 2^63 used to panic the sequencer, after which every write answered
/// 503 until a restart, and a trace or sources cursor of 2^63 - 1 overflowed. Both are
/// refused now, naming the field, and the log goes on taking writes.
#[pennytrail_test(both_backends)]
async fn integers_beyond_2_53_are_refused_and_writes_go_on(app: TestApp) {
    let token = app.seeded_org(ORG).await.token;
    app.org_create(&token, ORG, "/donations", &donation("d1", "meals", 500, 25))
        .await;
    app.org_create(
        &token,
        ORG,
        "/disbursements",
        &disbursement("x1", "meals", "school", 100),
    )
    .await;
    for corrects in [1u64 << 53, 1 << 63, u64::MAX] {
        app.org_post(
            &token,
            ORG,
            "/corrections",
            &json!({"id": "c1", "corrects": corrects, "fields": {"purpose": "x"}}),
        )
        .await
        .assert_problem(422, Some("corrects"));
    }
    for after in [1u64 << 53, i64::MAX as u64] {
        for path in ["donations/d1/trace", "disbursements/x1/sources"] {
            app.get(&format!("/v1/orgs/{ORG}/{path}?after={after}"))
                .await
                .assert_problem(400, Some("after"));
        }
    }
    // The sequencer still runs.
    app.org_create(&token, ORG, "/donations", &donation("d2", "meals", 300, 0))
        .await;
    app.finish().await;
}
