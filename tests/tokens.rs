//! Operator token management and readiness: an org's token can be reissued (the old one
//! stops working at once) and revoked (the org cannot write until reissued); only the
//! operator may do either; `/readyz` answers when the database does.

mod common;

use common::{Backend, TestApp};
use serde_json::json;

fn beneficiary(id: &str) -> serde_json::Value {
    json!({"id": id, "label": "Kitchen", "kind": "supplier", "country": "DE"})
}

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
on_both_backends!(tokens_can_be_reissued_and_revoked);
