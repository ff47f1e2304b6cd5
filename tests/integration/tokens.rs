//! Operator token management and readiness: an org's token can be reissued (the old one
//! stops working at once) and revoked (the org cannot write until reissued); only the
//! operator may do either; `/readyz` answers when the database does.

use crate::support::{self, Backend, ServiceProcess, TestApp, pennytrail_test};
use serde_json::json;

fn beneficiary(id: &str) -> serde_json::Value {
    json!({"id": id, "label": "Kitchen", "kind": "supplier", "country": "DE"})
}

#[pennytrail_test(both_backends)]
async fn tokens_can_be_reissued_and_revoked(app: TestApp) {
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.text(), "ready\n");

    let old = app.new_org("hh").await;
    app.org_create(&old, "hh", "/beneficiaries", &beneficiary("b1"))
        .await;
    let path = "/v1/admin/orgs/hh/token";

    // Only the operator: no token, an org token, a wrong token.
    for token in [None, Some(old.as_str()), Some("pt_op_wrong")] {
        app.post_json(path, token, &json!({}))
            .await
            .assert_problem(401, None);
    }
    let unknown = app
        .post_json(
            "/v1/admin/orgs/nobody/token",
            Some(&app.operator_token),
            &json!({}),
        )
        .await;
    unknown.assert_problem(404, None);

    let answer = app
        .post_json(path, Some(&app.operator_token), &json!({}))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let new = answer.json()["api_token"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    // The old token stops working at once; the new one writes.
    app.org_post(&old, "hh", "/beneficiaries", &beneficiary("b2"))
        .await
        .assert_problem(401, None);
    app.org_create(&new, "hh", "/beneficiaries", &beneficiary("b2"))
        .await;

    // Revoked: nothing writes until the operator reissues.
    let revoke = app
        .client
        .delete(format!("{}{path}", app.base))
        .bearer_auth(&app.operator_token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 204);
    let again = app
        .client
        .delete(format!("{}{path}", app.base))
        .bearer_auth(&app.operator_token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    let by_org = app
        .client
        .delete(format!("{}{path}", app.base))
        .bearer_auth(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(by_org.status(), 401);
    let size = app.log_size().await;
    app.org_post(&new, "hh", "/beneficiaries", &beneficiary("b3"))
        .await
        .assert_problem(401, None);
    assert_eq!(app.log_size().await, size);
    let answer = app
        .post_json(path, Some(&app.operator_token), &json!({}))
        .await;
    assert_eq!(answer.status, 201);
    let third = answer.json()["api_token"].as_str().unwrap().to_string();
    app.org_create(&third, "hh", "/beneficiaries", &beneficiary("b3"))
        .await;
    app.finish().await;
}

/// `--org-writes-per-second` caps each org token's writes: beyond it, 429 with
/// `Retry-After`, nothing appended, other orgs unaffected, and writes resume after.
#[pennytrail_test]
async fn org_writes_are_rate_limited_per_token() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let service = ServiceProcess::start(&[
        "--data-dir",
        data.to_str().unwrap(),
        "--org-writes-per-second",
        "2",
    ])
    .await
    .expect("starts");
    let client = reqwest::Client::new();
    let operator = std::fs::read_to_string(data.join("operator.token"))
        .unwrap()
        .trim()
        .to_string();
    let mut tokens = Vec::new();
    for org in ["fast", "calm"] {
        let answer: serde_json::Value = client
            .post(format!("{}/v1/admin/orgs", service.base))
            .bearer_auth(&operator)
            .json(&json!({"id": org, "name": "Org", "country": "DE"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(answer["api_token"].as_str().unwrap().to_string());
    }
    let write = |org: &str, token: &str, id: &str| {
        client
            .post(format!("{}/v1/orgs/{org}/beneficiaries", service.base))
            .bearer_auth(token)
            .json(&beneficiary(id))
            .send()
    };
    let mut statuses = Vec::new();
    for i in 0..5 {
        let response = write("fast", &tokens[0], &format!("b{i}")).await.unwrap();
        let status = response.status().as_u16();
        if status == 429 {
            let retry: u64 = response.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=1).contains(&retry), "Retry-After {retry}");
            let problem: serde_json::Value = response.json().await.unwrap();
            assert_eq!(problem["status"], 429);
        }
        statuses.push(status);
    }
    assert_eq!(&statuses[..2], &[201, 201], "{statuses:?}");
    assert!(statuses[2..].contains(&429), "{statuses:?}");
    // Another org's token has its own bucket.
    let other = write("calm", &tokens[1], "b0").await.unwrap();
    assert_eq!(other.status(), 201);
    // The refused writes appended nothing; after a second the org writes again.
    let appended = statuses.iter().filter(|s| **s == 201).count();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let again = write("fast", &tokens[0], "b9").await.unwrap();
    assert_eq!(again.status(), 201);
    let log: serde_json::Value = client
        .get(format!("{}/v1/log", service.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // 2 orgs + the fast org's accepted writes + the calm org's + the last one.
    assert_eq!(log["size"], 2 + appended as u64 + 1 + 1);
    service.terminate().await;
}

/// Processes sharing a PostgreSQL database each remember verified tokens for at most
/// `TOKEN_CACHE_TTL`: a token revoked through one process stops working there at once
/// and in the others within that time.
#[pennytrail_test(postgres)]
async fn a_revoked_token_stops_working_in_every_process() {
    let app = TestApp::start(Backend::Postgres).await;
    let db_url = app.db.as_ref().unwrap().url.clone();
    let other_dir = tempfile::tempdir().unwrap();
    let own = |file: &str| app.data_dir.path().join(file).to_str().unwrap().to_string();
    let other = ServiceProcess::start(&[
        "--data-dir",
        other_dir.path().to_str().unwrap(),
        "--database-url",
        &db_url,
        "--log-key",
        &own("log.key"),
        "--origin",
        support::ORIGIN,
        "--donor-secret",
        &own("donor.secret"),
    ])
    .await
    .expect("second process starts");
    let token = app.new_org("shared").await;
    let client = reqwest::Client::new();
    let write_through_other = |id: &str| {
        client
            .post(format!("{}/v1/orgs/shared/beneficiaries", other.base))
            .bearer_auth(&token)
            .json(&beneficiary(id))
            .send()
    };
    // The other process verifies the token (and remembers it).
    assert_eq!(write_through_other("b1").await.unwrap().status(), 201);

    let revoke = app
        .client
        .delete(format!("{}/v1/admin/orgs/shared/token", app.base))
        .bearer_auth(&app.operator_token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 204);
    app.org_post(&token, "shared", "/beneficiaries", &beneficiary("b2"))
        .await
        .assert_problem(401, None);
    tokio::time::sleep(
        pennytrail::api::auth::TOKEN_CACHE_TTL + std::time::Duration::from_millis(200),
    )
    .await;
    let late = write_through_other("b3").await.unwrap();
    assert_eq!(late.status(), 401, "{}", late.text().await.unwrap());
    other.terminate().await;
    app.finish().await;
}
