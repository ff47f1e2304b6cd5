//! Startup refuses a store and key that do not belong together, and misconfiguration,
//! with a message naming the problem; `pennytrail check` finds tampering in a store and
//! names it.

use crate::support::{
    self, Backend, ORIGIN, PgDatabase, ServiceProcess, TestApp, pennytrail_test, run_check,
};
use std::os::unix::fs::PermissionsExt as _;

use serde_json::json;
use sqlx::Connection as _;

async fn register(app: &TestApp, id: &str) {
    let answer = app
        .register_org(&json!({"id": id, "name": "N", "country": "FR"}))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
}

fn error_text(result: anyhow::Result<()>) -> String {
    format!("{:#}", result.expect_err("startup must be refused"))
}

/// A copy of the store as it is now (the service must be stopped).
async fn backup(app: &TestApp) -> Option<PgDatabase> {
    match app.backend {
        Backend::Sqlite => {
            let dir = app.data_dir.path();
            for file in ["pennytrail.db", "pennytrail.db-wal", "pennytrail.db-shm"] {
                if dir.join(file).exists() {
                    std::fs::copy(dir.join(file), dir.join(format!("{file}.bak"))).unwrap();
                } else {
                    let _ = std::fs::remove_file(dir.join(format!("{file}.bak")));
                }
            }
            None
        }
        Backend::Postgres => {
            let copy = PgDatabase::create().await;
            let mut conn = sqlx::PgConnection::connect(&support::admin_database_url())
                .await
                .unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {}", copy.name)))
                .execute(&mut conn)
                .await
                .unwrap();
            let source = &app.db.as_ref().unwrap().name;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE {} TEMPLATE {source}",
                copy.name
            )))
            .execute(&mut conn)
            .await
            .unwrap();
            Some(copy)
        }
    }
}

/// Puts the backup back in place of the live store.
async fn restore(app: &mut TestApp, copy: Option<PgDatabase>) {
    match copy {
        None => {
            let dir = app.data_dir.path();
            for file in ["pennytrail.db", "pennytrail.db-wal", "pennytrail.db-shm"] {
                let _ = std::fs::remove_file(dir.join(file));
                if dir.join(format!("{file}.bak")).exists() {
                    std::fs::rename(dir.join(format!("{file}.bak")), dir.join(file)).unwrap();
                }
            }
        }
        Some(db) => {
            if let Some(old) = app.db.replace(db) {
                old.drop_database().await;
            }
        }
    }
}

#[pennytrail_test(both_backends)]
async fn refuses_a_store_behind_what_the_key_signed(mut app: TestApp) {
    register(&app, "a").await;
    app.stop_service().await;
    let copy = backup(&app).await;
    app.restart().await;
    register(&app, "b").await;
    register(&app, "c").await;
    app.stop_service().await;
    restore(&mut app, copy).await;
    let error = error_text(app.restart_with(None, None).await);
    assert!(error.contains("the database is behind"), "{error}");
    assert!(
        error.contains("holds 1 entries") && error.contains("size 3"),
        "{error}"
    );
    app.finish().await;
}

/// Runs SQL statements on the stopped service's store, outside the service.
async fn run_sql(app: &TestApp, statements: &[&str]) {
    with_store_connection!(app, conn => for sql in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
            .execute(&mut conn)
            .await
            .unwrap();
    })
}

/// The columns of the donations table's primary key, in order.
async fn donation_key_columns(app: &TestApp) -> Vec<String> {
    let sql = match app.backend {
        Backend::Sqlite => {
            "SELECT name FROM pragma_table_info('donations') WHERE pk > 0 ORDER BY pk"
        }
        Backend::Postgres => {
            "SELECT a.attname::text FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = 'donations'::regclass AND i.indisprimary \
             ORDER BY array_position(i.indkey::int2[], a.attnum)"
        }
    };
    with_store_connection!(app, conn => sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap())
}

/// What the API answers about the donations `ids` of org `keeper`: each one, its
/// trace, and the org's list (in pages of two and whole).
async fn donation_answers(app: &TestApp, ids: &[&str]) -> Vec<(String, serde_json::Value)> {
    let mut paths: Vec<String> = Vec::new();
    for id in ids {
        paths.push(format!("/v1/orgs/keeper/donations/{id}"));
        paths.push(format!("/v1/orgs/keeper/donations/{id}/trace"));
    }
    paths.push("/v1/orgs/keeper/donations?limit=2".into());
    paths.push("/v1/orgs/keeper/donations?limit=2&after=7".into());
    paths.push("/v1/orgs/keeper/donations?limit=100".into());
    let mut answers = Vec::new();
    for path in paths {
        let answer = app.get_json(&path).await;
        answers.push((path, answer));
    }
    answers
}

/// A store written before donations were keyed by their place in the log (migration
/// 5) is migrated on start: every donation is still found by its id, listed in log order
/// and traced, with the same answers as before, and new donations go on after them.
#[pennytrail_test(both_backends)]
async fn donations_survive_the_move_to_log_order(mut app: TestApp) {
    let token = app.new_org("keeper").await;
    app.org_create(
        &token,
        "keeper",
        "/beneficiaries",
        &json!({"id": "school", "label": "A school", "kind": "organization", "country": "KE"}),
    )
    .await;
    app.org_create(
        &token,
        "keeper",
        "/campaigns",
        &json!({"id": "meals", "title": "School meals", "purpose": "Lunch", "currency": "EUR",
                "beneficiaries": ["school"]}),
    )
    .await;
    // Ids out of log order, so id order and log order differ.
    let ids = ["zeta", "alpha", "mike", "bravo", "yankee"];
    for (i, id) in ids.iter().enumerate() {
        app.org_create(&token, "keeper", "/donations",
            &json!({"id": id, "campaign": "meals", "amount": 100 + i as i64, "fee": 1, "channel": "card"})).await;
    }
    let before = donation_answers(&app, &ids).await;
    let listed: Vec<&str> = before.last().unwrap().1["donations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids, "donations are listed in log order");

    // Put the store back as the code before migration 5 left it.
    app.stop_service().await;
    let downgrade: &[&str] = match app.backend {
        Backend::Sqlite => &[
            "CREATE TABLE donations_by_id (org TEXT NOT NULL, id TEXT NOT NULL, campaign TEXT NOT NULL, \
             seq INTEGER NOT NULL, amount INTEGER NOT NULL, fee INTEGER NOT NULL, net INTEGER NOT NULL, \
             received_before INTEGER NOT NULL, donor_commitment TEXT, PRIMARY KEY (org, id)) WITHOUT ROWID",
            "INSERT INTO donations_by_id SELECT org, id, campaign, seq, amount, fee, net, received_before, \
             donor_commitment FROM donations",
            "DROP TABLE donations",
            "ALTER TABLE donations_by_id RENAME TO donations",
            "CREATE INDEX donations_on_line ON donations (org, campaign, received_before)",
            "CREATE INDEX donations_by_donor ON donations (org, donor_commitment) WHERE donor_commitment IS NOT NULL",
            "DELETE FROM _sqlx_migrations WHERE version = 5",
        ],
        Backend::Postgres => &[
            "ALTER TABLE donations DROP CONSTRAINT donations_pkey",
            "ALTER TABLE donations ADD PRIMARY KEY (org, id)",
            "DELETE FROM _sqlx_migrations WHERE version = 5",
        ],
    };
    run_sql(&app, downgrade).await;
    assert_eq!(donation_key_columns(&app).await, ["org", "id"]);

    app.restart().await;
    assert_eq!(donation_key_columns(&app).await, ["org", "seq"]);
    let after = donation_answers(&app, &ids).await;
    for ((path, was), (_, is)) in before.iter().zip(&after) {
        assert_eq!(was, is, "{path} answers as before the migration");
    }
    let answer = app
        .org_post(&token, "keeper", "/donations",
            &json!({"id": "charlie", "campaign": "meals", "amount": 7, "fee": 0, "channel": "card"}))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let replay = app
        .org_post(&token, "keeper", "/donations",
            &json!({"id": "alpha", "campaign": "meals", "amount": 101, "fee": 1, "channel": "card"}))
        .await;
    assert_eq!(
        replay.status,
        200,
        "an old id is still known: {}",
        replay.text()
    );
    app.finish().await;
}

#[pennytrail_test(both_backends)]
async fn refuses_a_wrong_key_origin_or_fork(mut app: TestApp) {
    register(&app, "a").await;
    register(&app, "b").await;
    app.stop_service().await;

    let other_key = app.data_dir.path().join("other.key");
    pennytrail::keys::generate_signer(ORIGIN, &other_key).unwrap();
    let error = error_text(app.restart_with(Some(other_key), None).await);
    assert!(
        error.contains("refusing to start with the wrong key"),
        "{error}"
    );

    let error = error_text(app.restart_with(None, Some("another.example/log")).await);
    assert!(
        error.contains("holds the log") && error.contains("another.example/log"),
        "{error}"
    );

    let missing = app.data_dir.path().join("missing.key");
    let error = error_text(app.restart_with(Some(missing), None).await);
    assert!(error.contains("does not exist"), "{error}");

    let key = app.data_dir.path().join("log.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = error_text(app.restart_with(None, None).await);
    assert!(error.contains("readable by other users"), "{error}");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

    // The key's record of what it signed disagrees with the store: a fork. (Written in
    // the version-1 format of earlier releases, which is still read.)
    let state = app.data_dir.path().join("log.key.signed");
    let text = std::fs::read_to_string(&state).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "pennytrail-signed-state v2");
    let forged = format!(
        "pennytrail-signed-state v1\n{}\n1\n{}\n",
        lines[1],
        pennytrail::log::hash::sha256(b"x").to_base64()
    );
    std::fs::write(&state, forged).unwrap();
    let error = error_text(app.restart_with(None, None).await);
    assert!(error.contains("forks the log"), "{error}");
    std::fs::write(&state, &text).unwrap();

    app.restart().await;
    assert_eq!(app.log_size().await, 2);
    app.finish().await;
}

/// Edits the SQLite store behind the service's back (dropping the append-only triggers,
/// as an attacker with file access could) and checks that `pennytrail check` names it.
#[pennytrail_test]
async fn check_names_tampering_precisely() {
    let mut app = TestApp::start(Backend::Sqlite).await;
    for id in ["a", "b", "c", "d"] {
        register(&app, id).await;
    }
    app.stop_service().await;
    let (ok, output) = run_check(app.data_dir.path(), None);
    assert!(ok && output.contains("ok: 4 entries"), "{output}");

    let db_path = app.data_dir.path().join("pennytrail.db");
    let tamper = |sql: &'static str| {
        let db_path = db_path.clone();
        async move {
            let mut conn =
                sqlx::SqliteConnection::connect(&format!("sqlite://{}", db_path.display()))
                    .await
                    .unwrap();
            for trigger in [
                "entries_no_update",
                "tree_hashes_no_update",
                "checkpoints_no_update",
            ] {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP TRIGGER IF EXISTS {trigger}"
                )))
                .execute(&mut conn)
                .await
                .unwrap();
            }
            sqlx::query(sql).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        }
    };
    let original: Vec<u8> = {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db_path.display()))
            .await
            .unwrap();
        sqlx::query_scalar("SELECT body FROM entries WHERE seq = 2")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    assert!(
        std::str::from_utf8(&original)
            .unwrap()
            .contains("\"name\":\"N\"")
    );

    tamper("UPDATE entries SET body = CAST(REPLACE(CAST(body AS TEXT), '\"name\":\"N\"', '\"name\":\"M\"') AS BLOB) WHERE seq = 2").await;
    let (ok, output) = run_check(app.data_dir.path(), None);
    assert!(
        !ok && output.contains("tree hash") && output.contains("entry 2"),
        "{output}"
    );

    tamper("UPDATE entries SET body = CAST(REPLACE(CAST(body AS TEXT), '\"name\":\"M\"', '\"name\": \"N\"') AS BLOB) WHERE seq = 2").await;
    let (ok, output) = run_check(app.data_dir.path(), None);
    assert!(
        !ok && output.contains("entry 2") && output.contains("canonical"),
        "{output}"
    );

    tamper("UPDATE entries SET body = CAST(REPLACE(CAST(body AS TEXT), '\"name\": \"N\"', '\"name\":\"N\"') AS BLOB) WHERE seq = 2").await;
    let (ok, output) = run_check(app.data_dir.path(), None);
    assert!(ok, "restored bytes pass again: {output}");

    tamper("UPDATE checkpoints SET note = REPLACE(note, char(10) || '3' || char(10), char(10) || '4' || char(10)) WHERE size = 3").await;
    let (ok, output) = run_check(app.data_dir.path(), None);
    assert!(!ok && output.contains("checkpoint of size 3"), "{output}");

    // The service itself refuses nothing here (the head is intact), but check did.
    app.restart().await;
    app.finish().await;
}

/// Misconfigurations stop the real binary at once with a message naming the problem
/// (and never the database password).
#[pennytrail_test(postgres)]
async fn startup_errors_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let garbage_key = path("garbage.key");
    std::fs::write(&garbage_key, "not a key\n").unwrap();
    std::fs::set_permissions(&garbage_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let not_a_dir = path("plain-file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--log-key".into(), garbage_key.clone()],
            "parsing log key",
        ),
        (
            vec!["--log-key".into(), dir.path().to_str().unwrap().into()],
            "is not a file",
        ),
        (
            vec![
                "--database-url".into(),
                "postgres://postgres:hunter2secret@127.0.0.1:1/test".into(),
            ],
            "cannot connect to PostgreSQL at postgres@127.0.0.1:1/test",
        ),
        (
            vec![
                "--database-url".into(),
                "postgres://postgres@127.0.0.1:5432/pennytrail_no_such_database".into(),
            ],
            "database \"pennytrail_no_such_database\" does not exist",
        ),
        (
            vec![
                "--database-url".into(),
                "mysql://root@127.0.0.1/test".into(),
            ],
            "--database-url must start with postgres://",
        ),
        (
            vec!["--database-url".into(), "postgres://[oops".into()],
            "--database-url is not a usable PostgreSQL URL",
        ),
    ];
    for (n, (extra, expected)) in cases.iter().enumerate() {
        let data_dir = path(&format!("data-{n}"));
        let mut args = vec!["--data-dir", data_dir.as_str(), "--origin", ORIGIN];
        args.extend(extra.iter().map(String::as_str));
        let error = match ServiceProcess::start(&args).await {
            Ok(_) => panic!("{extra:?} started"),
            Err(output) => output,
        };
        assert!(error.contains(expected), "{extra:?}: {error}");
        assert!(!error.contains("hunter2secret"), "password leaked: {error}");
    }
    let args = ["--data-dir", not_a_dir.as_str(), "--origin", ORIGIN];
    let error = ServiceProcess::start(&args).await.err().expect("refused");
    assert!(error.contains("is not a directory"), "{error}");
}

/// The origin names every checkpoint and can never change, so the first start says which
/// one it chose: loudly, with how to choose another, when it is the default; a restart of
/// an existing log says nothing of it.
#[pennytrail_test]
async fn the_first_start_says_which_origin_it_chose() {
    let said = |log: &[String], level: &str| -> Option<String> {
        log.iter()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find(|v| {
                v["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("created a new log named"))
            })
            .map(|v| {
                assert_eq!(v["level"], level, "{v}");
                v["fields"]["message"].as_str().unwrap().to_string()
            })
    };
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let service = ServiceProcess::start(&["--data-dir", dir]).await.unwrap();
    let log = service.log.lock().unwrap().clone();
    let message = said(&log, "WARN").expect("the first start names the origin");
    for words in [
        "\"localhost/pennytrail\"",
        "--origin <public host>/log",
        "never change",
    ] {
        assert!(message.contains(words), "{words:?} not in {message:?}");
    }
    service.terminate().await;
    let again = ServiceProcess::start(&["--data-dir", dir]).await.unwrap();
    assert_eq!(said(&again.log.lock().unwrap(), "WARN"), None, "said once");
    again.terminate().await;

    let chosen = tempfile::tempdir().unwrap();
    let service = ServiceProcess::start(&[
        "--data-dir",
        chosen.path().to_str().unwrap(),
        "--origin",
        "charity.example.org/log",
    ])
    .await
    .unwrap();
    let message = said(&service.log.lock().unwrap(), "INFO").expect("named");
    assert!(message.contains("\"charity.example.org/log\""), "{message}");
    service.terminate().await;
}
