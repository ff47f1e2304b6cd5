//! Published caps on payouts to people, through the API on SQLite and PostgreSQL: payouts
//! up to each limit pass, one unit over is refused with the log unchanged, periods are
//! the UTC day and month of `occurred_at` (else the entry's time), a batch that passes a
//! cap only together is refused whole, and replays of accepted payouts still answer 200.

use crate::support::bodies::{beneficiary, disbursement, donation};
use crate::support::{Answer, TestApp, pennytrail_test};

use serde_json::{Value, json};

const ORG: &str = "green-steps";

/// A payout of `amount` to `to` from campaign `bus` that occurred at `at`.
fn payout_at(id: &str, to: &str, amount: i64, at: &str) -> Value {
    let mut body = disbursement(id, "bus", to, amount);
    body["occurred_at"] = json!(at);
    body
}

/// Asserts a `cap-exceeded` refusal naming `field`, every word of `says`, and that the
/// log did not grow.
async fn assert_capped(app: &TestApp, answer: Answer, field: &str, says: &[&str], size: u64) {
    let problem = answer.assert_problem(422, Some(field));
    assert_eq!(problem["rule"], "cap-exceeded", "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    for word in says {
        assert!(detail.contains(word), "{word:?} not in {detail:?}");
    }
    assert_eq!(
        app.log_size().await,
        size,
        "a refused payout changed the log"
    );
}

/// Org `green-steps`: people `ann` and `bob`, supplier `bus-co`; EUR campaign `bus` with
/// every cap (EUR 10.00 a day, EUR 25.00 a month, 3 payouts a day) holding EUR 1,000.00.
async fn capped_campaign(app: &TestApp) -> String {
    let token = app.new_org(ORG).await;
    for (id, kind) in [("ann", "person"), ("bob", "person"), ("bus-co", "supplier")] {
        app.org_create(&token, ORG, "/beneficiaries", &beneficiary(id, kind))
            .await;
    }
    let opened = app
        .org_create(
            &token,
            ORG,
            "/campaigns",
            &json!({"id": "bus", "title": "Ride the bus", "purpose": "A reward per bus ride",
                    "currency": "EUR", "beneficiaries": ["ann", "bob", "bus-co"],
                    "max_per_person_per_day": 1000, "max_per_person_per_month": 2500,
                    "max_payouts_per_person_per_day": 3}),
        )
        .await;
    assert_eq!(opened["entry"]["max_per_person_per_day"], 1000);
    app.org_create(
        &token,
        ORG,
        "/donations",
        &donation("fund", "bus", 100_000, 0),
    )
    .await;
    token
}

#[pennytrail_test(both_backends)]
async fn payouts_pass_up_to_each_cap_and_one_unit_over_is_refused(app: TestApp) {
    let token = capped_campaign(&app).await;
    let post = |body: Value| {
        let (app, token) = (&app, &token);
        async move { app.org_post(token, ORG, "/disbursements", &body).await }
    };

    // Per day, by the entry's time: EUR 10.00 passes in two payouts, 1 cent more does not.
    assert_eq!(
        post(disbursement("a1", "bus", "ann", 400)).await.status,
        201
    );
    let a2 = post(disbursement("a2", "bus", "ann", 600)).await;
    assert_eq!(a2.status, 201, "{}", a2.text());
    let today = a2.json()["entry"]["time"].as_str().unwrap()[..10].to_string();
    let size = app.log_size().await;
    let over = post(disbursement("a3", "bus", "ann", 1)).await;
    assert_capped(
        &app,
        over,
        "amount",
        &["max_per_person_per_day", "EUR 10.00", &today, "\"ann\""],
        size,
    )
    .await;

    // Payouts per day: three pass, a fourth is refused naming the beneficiary.
    for i in 0..3 {
        let a = post(disbursement(&format!("b{i}"), "bus", "bob", 1)).await;
        assert_eq!(a.status, 201, "{}", a.text());
    }
    let size = app.log_size().await;
    let fourth = post(disbursement("b3", "bus", "bob", 1)).await;
    assert_capped(
        &app,
        fourth,
        "beneficiary",
        &["max_payouts_per_person_per_day", "EUR 0.03 in 3 payouts"],
        size,
    )
    .await;

    // Only people are capped: a supplier takes more than a person's month in one payout.
    assert_eq!(
        post(disbursement("fare", "bus", "bus-co", 50_000))
            .await
            .status,
        201
    );

    // Per month, by occurred_at: March 2025 takes EUR 25.00 over three days, and not a
    // cent more; April starts afresh.
    for (i, (day, amount)) in [("01", 1000), ("02", 1000), ("31", 500)].iter().enumerate() {
        let at = format!("2025-03-{day}T12:00:00.000Z");
        let a = post(payout_at(&format!("m{i}"), "ann", *amount, &at)).await;
        assert_eq!(a.status, 201, "{}", a.text());
        assert_eq!(a.json()["entry"]["occurred_at"], at.as_str());
    }
    let size = app.log_size().await;
    let over = post(payout_at("m3", "ann", 1, "2025-03-15T00:00:00.000Z")).await;
    assert_capped(
        &app,
        over,
        "amount",
        &[
            "max_per_person_per_month",
            "EUR 25.00",
            "2025-03",
            "3 payouts",
        ],
        size,
    )
    .await;
    let april = post(payout_at("m4", "ann", 1000, "2025-04-01T00:00:00.000Z")).await;
    assert_eq!(april.status, 201, "{}", april.text());
    // A day's cap counts the day of occurred_at too: 2025-04-01 is full now.
    let size = app.log_size().await;
    let over = post(payout_at("m5", "ann", 1, "2025-04-01T23:59:59.999Z")).await;
    assert_capped(&app, over, "amount", &["2025-04-01"], size).await;

    // A payout cannot occur after it is logged.
    let size = app.log_size().await;
    let future = post(payout_at("f1", "ann", 1, "2999-01-01T00:00:00.000Z")).await;
    let problem = future.assert_problem(422, Some("occurred_at"));
    assert_eq!(problem["rule"], "occurred-after-time");
    assert_eq!(app.log_size().await, size);

    // Replays of accepted payouts still answer 200, though the person is at the cap now.
    for body in [
        disbursement("a2", "bus", "ann", 600),
        disbursement("b2", "bus", "bob", 1),
        payout_at("m2", "ann", 500, "2025-03-31T12:00:00.000Z"),
    ] {
        let a = post(body.clone()).await;
        assert_eq!(a.status, 200, "replay of {body}: {}", a.text());
    }
    // …and a replay with other content is still a conflict, not a cap.
    let changed = post(payout_at("m2", "ann", 500, "2025-03-30T12:00:00.000Z")).await;
    changed.assert_problem(409, None);

    // The campaign says its caps; one without caps says null.
    let campaign = app.get_json(&format!("/v1/orgs/{ORG}/campaigns/bus")).await;
    assert_eq!(
        campaign["limits"],
        json!({"max_per_person_per_day": 1000, "max_per_person_per_month": 2500,
               "max_payouts_per_person_per_day": 3})
    );
    app.org_create(
        &token,
        ORG,
        "/campaigns",
        &json!({"id": "free", "title": "T", "purpose": "P", "currency": "EUR", "beneficiaries": []}),
    )
    .await;
    let free = app
        .get_json(&format!("/v1/orgs/{ORG}/campaigns/free"))
        .await;
    assert_eq!(free["limits"]["max_per_person_per_day"], Value::Null);
    let payout = app
        .get_json(&format!("/v1/orgs/{ORG}/disbursements/m0"))
        .await;
    assert_eq!(payout["occurred_at"], "2025-03-01T12:00:00.000Z");
    app.finish().await;
}

#[pennytrail_test(both_backends)]
async fn a_batch_that_passes_a_cap_only_together_is_refused_whole(mut app: TestApp) {
    let token = capped_campaign(&app).await;
    let batch = |items: Vec<Value>| json!({ "disbursements": items });
    let day = "2025-05-10T08:00:00.000Z";

    // Each alone would pass; together they pass the day's EUR 10.00.
    let size = app.log_size().await;
    let a = app
        .org_post(
            &token,
            ORG,
            "/disbursements/batch",
            &batch(vec![
                payout_at("p1", "ann", 600, day),
                payout_at("p2", "bob", 600, day),
                payout_at("p3", "ann", 600, day),
            ]),
        )
        .await;
    let problem = a.assert_problem(422, Some("disbursements[2].amount"));
    assert_eq!(problem["rule"], "cap-exceeded");
    assert_eq!(app.log_size().await, size, "nothing of the batch is logged");

    // Four payouts a day to one person: the fourth item refuses the batch.
    let four: Vec<Value> = (0..4)
        .map(|i| payout_at(&format!("q{i}"), "bob", 1, day))
        .collect();
    let a = app
        .org_post(&token, ORG, "/disbursements/batch", &batch(four))
        .await;
    let problem = a.assert_problem(422, Some("disbursements[3].beneficiary"));
    assert_eq!(problem["rule"], "cap-exceeded");
    assert_eq!(app.log_size().await, size);

    // Up to the caps, the same batch passes, and replays whole with 200.
    let fits = vec![
        payout_at("p1", "ann", 600, day),
        payout_at("p2", "bob", 600, day),
        payout_at("p3", "ann", 400, day),
    ];
    let a = app
        .org_post(&token, ORG, "/disbursements/batch", &batch(fits.clone()))
        .await;
    assert_eq!(a.status, 201, "{}", a.text());
    let a = app
        .org_post(&token, ORG, "/disbursements/batch", &batch(fits))
        .await;
    assert_eq!(a.status, 200, "{}", a.text());
    // Not a cent more for Ann that day, after a restart too (what she was paid is read
    // back from the store, not from the sequencer's memory).
    app.restart().await;
    let size = app.log_size().await;
    let a = app
        .org_post(
            &token,
            ORG,
            "/disbursements",
            &payout_at("p4", "ann", 1, day),
        )
        .await;
    assert_capped(&app, a, "amount", &["EUR 10.00", "2025-05-10"], size).await;
    app.finish().await;
}

#[pennytrail_test(both_backends)]
async fn caps_and_occurred_at_are_validated_naming_the_field(app: TestApp) {
    let token = capped_campaign(&app).await;
    for (field, value) in [
        ("max_per_person_per_day", json!(0)),
        ("max_per_person_per_month", json!(-1)),
        ("max_payouts_per_person_per_day", json!(0)),
        ("max_per_person_per_day", json!(9_007_199_254_740_992_i64)),
        ("max_per_person_per_day", json!("100")),
        ("max_payouts_per_person_per_day", json!(1.5)),
    ] {
        let mut body = json!({"id": "c2", "title": "T", "purpose": "P", "currency": "EUR",
                              "beneficiaries": []});
        body[field] = value.clone();
        let a = app.org_post(&token, ORG, "/campaigns", &body).await;
        assert!(
            [400, 422].contains(&a.status.as_u16()),
            "{field}={value}: {}",
            a.text()
        );
        a.assert_problem(a.status.as_u16(), Some(field));
    }
    for bad in ["2025-03-01", "2025-02-30T00:00:00.000Z", ""] {
        let a = app
            .org_post(
                &token,
                ORG,
                "/disbursements",
                &payout_at("x", "ann", 1, bad),
            )
            .await;
        a.assert_problem(422, Some("occurred_at"));
    }
    app.finish().await;
}
