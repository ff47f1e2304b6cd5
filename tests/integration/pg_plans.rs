//! PostgreSQL's plans for the append path (issue "PostgreSQL … must hold its speed as the
//! log grows"): every statement a batch runs is an index lookup or an append, whatever
//! the log's size. A log is filled until its tables are big enough that PostgreSQL plans
//! the old id lookup as a sequential scan (checked here, so this test can fail); then
//! every kind of write runs through the service, and PostgreSQL's own counters say
//! whether any statement scanned a log-sized table.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, PgConnection, Row};

use crate::support::bodies::{beneficiary, disbursement, donation};
use crate::support::{Backend, TestApp, pennytrail_test};

const ORG: &str = "plans";
/// Donations the log is filled with before the workload is watched.
const FILL: usize = 60_000;
/// A table with at least this many rows counts as log-sized.
const LOG_SIZED: i64 = 10_000;

/// Sequential scans so far of every table, and its row count.
async fn seq_scans(conn: &mut PgConnection) -> BTreeMap<String, (i64, i64)> {
    sqlx::query("SELECT relname::text, seq_scan, n_live_tup FROM pg_stat_user_tables")
        .fetch_all(conn)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect()
}

/// The generic plan of `sql` (as a prepared statement runs it), as JSON text.
async fn generic_plan(conn: &mut PgConnection, sql: &str, params: usize) -> String {
    sqlx::query("SET plan_cache_mode = force_generic_plan")
        .execute(&mut *conn)
        .await
        .unwrap();
    // Test-built SQL: the plan's text and NULLs, no outside input.
    sqlx::query(AssertSqlSafe(format!("PREPARE probe AS {sql}")))
        .execute(&mut *conn)
        .await
        .unwrap();
    let nulls = vec!["NULL"; params].join(", ");
    let plan: Value = sqlx::query_scalar(AssertSqlSafe(format!(
        "EXPLAIN (FORMAT JSON) EXECUTE probe({nulls})"
    )))
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    sqlx::query("DEALLOCATE probe")
        .execute(&mut *conn)
        .await
        .unwrap();
    plan.to_string()
}

#[pennytrail_test(postgres)]
async fn no_append_statement_scans_a_log_sized_table() {
    let mut app = TestApp::start(Backend::Postgres).await;
    let token = app.new_org(ORG).await;
    for (id, kind) in [("school", "organization"), ("ops", "overhead")] {
        app.org_create(&token, ORG, "/beneficiaries", &beneficiary(id, kind))
            .await;
    }
    let people: Vec<Value> = (0..98)
        .map(|p| beneficiary(&format!("p{p:03}"), "person"))
        .collect();
    app.org_create(
        &token,
        ORG,
        "/beneficiaries/batch",
        &json!({"beneficiaries": people}),
    )
    .await;
    let mut stated: Vec<String> = (0..98).map(|p| format!("p{p:03}")).collect();
    stated.extend(["school".to_string(), "ops".to_string()]);
    let campaign_seq = app
        .org_create(
            &token,
            ORG,
            "/campaigns",
            &json!({"id": "meals", "title": "Meals", "purpose": "Meals", "currency": "EUR",
                "beneficiaries": stated, "max_per_person_per_day": 100_000}),
        )
        .await["seq"]
        .as_u64()
        .unwrap();
    for batch in 0..FILL / 1000 {
        let items: Vec<Value> = (0..1000)
            .map(|i| donation(&format!("f{batch}-{i}"), "meals", 100, 1))
            .collect();
        app.org_create(
            &token,
            ORG,
            "/donations/batch",
            &json!({"donations": items}),
        )
        .await;
    }
    // Payouts to each person on 110 days: person_payouts holds a row per person and day
    // (and month), so it is log-sized too.
    for days in 0..11 {
        let items: Vec<Value> = (0..980)
            .map(|i| {
                let (person, day) = (i % 98, days * 10 + i / 98);
                let mut payout = disbursement(
                    &format!("fill-{days}-{i}"),
                    "meals",
                    &format!("p{person:03}"),
                    1,
                );
                payout["occurred_at"] = json!(format!(
                    "2026-{:02}-{:02}T12:00:00.000Z",
                    8 + day / 28,
                    1 + day % 28
                ));
                payout
            })
            .collect();
        app.org_create(
            &token,
            ORG,
            "/disbursements/batch",
            &json!({"disbursements": items}),
        )
        .await;
    }
    let url = app.db.as_ref().unwrap().url.clone();
    let mut conn = PgConnection::connect(&url).await.unwrap();
    sqlx::query("ANALYZE").execute(&mut conn).await.unwrap();

    // Control: at this size PostgreSQL plans the old id lookup (a joined VALUES list of
    // 1,000 keys) as a sequential scan of record_ids, so a scan would show here.
    let values: Vec<String> = (0..1000)
        .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
        .collect();
    let old = format!(
        "WITH wanted(org, scope, id) AS (VALUES {}) SELECT r.org, r.scope, r.id, r.seq \
         FROM wanted w JOIN record_ids r ON r.org = w.org AND r.scope = w.scope AND r.id = w.id",
        values.join(", ")
    );
    let old_plan = generic_plan(&mut conn, &old, 3000).await;
    assert!(
        old_plan.contains("\"Seq Scan\"") && old_plan.contains("record_ids"),
        "the table is too small to tell: the old lookup is not a sequential scan yet: {old_plan}"
    );
    let new_plan = generic_plan(&mut conn, pennytrail::store::POSTGRES_ID_LOOKUP, 3).await;
    assert!(!new_plan.contains("\"Seq Scan\""), "{new_plan}");
    assert!(new_plan.contains("record_ids_pkey"), "{new_plan}");

    // Every kind of write, watched by PostgreSQL's counters. The service starts again
    // first: its connections report what they counted during the fill when they close
    // (scans of tables still small then), and new ones plan with the fresh statistics.
    app.restart().await;
    let before = seq_scans(&mut conn).await;
    let items: Vec<Value> = (0..1000)
        .map(|i| donation(&format!("w-{i}"), "meals", 100, 1))
        .collect();
    let batch = json!({"donations": items});
    app.org_create(&token, ORG, "/donations/batch", &batch)
        .await;
    // A replay of the whole batch, and single writes.
    let replay = app.org_post(&token, ORG, "/donations/batch", &batch).await;
    assert_eq!(replay.status, 200, "{}", replay.text());
    app.org_create(
        &token,
        ORG,
        "/donations",
        &donation("single", "meals", 500, 0),
    )
    .await;
    app.org_create(
        &token,
        ORG,
        "/disbursements",
        &disbursement("x1", "meals", "school", 50),
    )
    .await;
    let payouts: Vec<Value> = (0..1000)
        .map(|i| disbursement(&format!("pay-{i}"), "meals", &format!("p{:03}", i % 98), 1))
        .collect();
    app.org_create(
        &token,
        ORG,
        "/disbursements/batch",
        &json!({"disbursements": payouts}),
    )
    .await;
    app.org_create(
        &token,
        ORG,
        "/corrections",
        &json!({"id": "c1", "corrects": campaign_seq, "fields": {"title": "School meals"}}),
    )
    .await;
    // The service's connections report their counters when they close.
    app.stop_service().await;
    let after = seq_scans(&mut conn).await;
    let scanned: Vec<String> = after
        .iter()
        .filter(|(table, (scans, rows))| {
            *rows >= LOG_SIZED && *scans > before.get(*table).map_or(0, |(s, _)| *s)
        })
        .map(|(table, (scans, rows))| {
            format!(
                "{table} ({rows} rows): {} sequential scans",
                scans - before.get(table).map_or(0, |(s, _)| *s)
            )
        })
        .collect();
    let sized: Vec<&String> = after
        .iter()
        .filter(|(_, (_, rows))| *rows >= LOG_SIZED)
        .map(|(t, _)| t)
        .collect();
    assert!(
        sized.len() >= 4,
        "too few log-sized tables to tell: {sized:?}"
    );
    assert!(scanned.is_empty(), "append statements scanned: {scanned:?}");
    conn.close().await.unwrap();
    app.finish().await;
}
