//! The first hour of each user (issue "The first hour of each user"): what a stranger
//! meets when a request is wrong, on both backends. Each error says in plain words what
//! was expected, naming the field and the limit, and never a Rust type name.

use crate::support::bodies::donation;
use crate::support::{ORIGIN, TestApp, pennytrail_test};

use pennytrail::log::note::{NoteSigner, NoteVerifier};
use serde_json::{Value, json};

/// Asserts the answer's detail contains each of `says` and none of serde's type words.
fn assert_says(problem: &serde_json::Value, says: &[&str]) {
    let detail = problem["detail"].as_str().unwrap();
    for words in says {
        assert!(detail.contains(words), "{words:?} not in {detail:?}");
    }
    for serde_word in ["i64", "u64", "floating point", "invalid type", "`"] {
        assert!(!detail.contains(serde_word), "{serde_word:?} in {detail:?}");
    }
}

#[pennytrail_test(both_backends)]
async fn malformed_bodies_are_explained_in_plain_words(app: TestApp) {
    let org = app.seeded_org("words").await;
    let donations = "/v1/orgs/words/donations";
    let post_text = |body: &'static str| {
        let app = &app;
        let token = org.token.clone();
        async move {
            app.post_raw(donations, Some(&token), "application/json", body.into())
                .await
        }
    };

    let mut fraction = donation("d1", "meals", 0, 0);
    fraction["amount"] = json!(25.5);
    let problem = app
        .post_json(donations, Some(&org.token), &fraction)
        .await
        .assert_problem(422, Some("amount"));
    assert_says(
        &problem,
        &["25.5 is not a whole number", "minor units", "2550"],
    );

    let huge = post_text(
        r#"{"id":"d2","campaign":"meals","amount":1000000000000000000000000000000,"fee":0}"#,
    )
    .await
    .assert_problem(422, Some("amount"));
    assert_says(&huge, &["too large", "9223372036854775807"]);

    let quoted = post_text(r#"{"id":"d3","campaign":"meals","amount":"25","fee":0}"#)
        .await
        .assert_problem(422, Some("amount"));
    assert_says(&quoted, &["expected a whole number", "the text \"25\""]);

    // Broken JSON names no field (it used to be "?") and says where it broke.
    let broken = post_text(r#"{"id":"d4","campaign":"meals",, "amount":1}"#).await;
    assert_eq!(broken.status, 400, "{}", broken.text());
    let broken = broken.json();
    assert!(broken.get("field").is_none(), "{broken}");
    assert_says(&broken, &["not valid JSON", "line 1, column 31"]);

    let not_an_object = post_text("25").await;
    assert_eq!(not_an_object.status, 400, "{}", not_an_object.text());
    let not_an_object = not_an_object.json();
    assert!(not_an_object.get("field").is_none(), "{not_an_object}");
    assert_says(&not_an_object, &["expected an object", "got the number 25"]);

    let unknown = post_text(r#"{"id":"d5","campaign":"meals","amount":1,"fee":0,"colour":1}"#)
        .await
        .assert_problem(422, Some("colour"));
    assert_says(&unknown, &["colour is not a field of this body", "amount"]);

    let missing = post_text(r#"{"id":"d6","campaign":"meals","fee":0}"#)
        .await
        .assert_problem(422, Some("amount"));
    assert_says(&missing, &["amount is required"]);
    assert_eq!(app.log_size().await, crate::support::SEEDED_ORG_ENTRIES);
    app.finish().await;
}

#[pennytrail_test(both_backends)]
async fn a_body_over_the_limit_says_the_limit(app: TestApp) {
    let org = app.seeded_org("limits").await;
    let mut body = donation("big", "meals", 100, 0);
    body["channel"] = json!("x".repeat(70 * 1024));
    let problem = app
        .post_json("/v1/orgs/limits/donations", Some(&org.token), &body)
        .await
        .assert_problem(413, None);
    assert_says(&problem, &["64 KiB", "65536 bytes"]);

    let batch = json!({"donations": (0..40_000)
        .map(|i| donation(&format!("b{i}"), "meals", 100, 0))
        .collect::<Vec<_>>()});
    let problem = app
        .post_json("/v1/orgs/limits/donations/batch", Some(&org.token), &batch)
        .await
        .assert_problem(413, None);
    assert_says(&problem, &["2 MiB", "2097152 bytes", "smaller batches"]);
    app.finish().await;
}

#[pennytrail_test(both_backends)]
async fn the_operator_token_on_an_org_route_says_which_token_it_takes(app: TestApp) {
    app.seeded_org("tokens").await;
    let body = donation("d1", "meals", 100, 0);
    let answer = app
        .post_json(
            "/v1/orgs/tokens/donations",
            Some(&app.operator_token),
            &body,
        )
        .await;
    let problem = answer.assert_problem(401, None);
    assert_says(
        &problem,
        &["operator token", "API token", "/v1/admin/orgs/tokens/token"],
    );
    let problem = app
        .post_json("/v1/orgs/tokens/donations", Some("not-a-token"), &body)
        .await
        .assert_problem(401, None);
    assert_says(&problem, &["not valid", "tokens"]);
    app.finish().await;
}

/// The rotation message (README "Signed statements"), written here from the spec.
fn rotation_body(org: &str, current_seq: u64, new: &NoteSigner, by: &NoteSigner) -> Value {
    let new_key = new.verifier().to_text();
    let message = format!("pennytrail/org-key/v1\n{ORIGIN}\n{org}\n{current_seq}\n{new_key}\n");
    let signature = pennytrail::ledger::attestations::sign(by, message.as_bytes());
    json!({"public_key": new_key, "signature": signature})
}

/// Finding 1: an org registered without a key gets its first key from the operator, and
/// from then on signs with it; a second statement is refused, the bundle says which key
/// was stated.
#[pennytrail_test(both_backends)]
async fn the_operator_states_the_first_key_of_an_org_registered_without_one(app: TestApp) {
    let org = app.seeded_org("keyless").await;
    let first = NoteSigner::from_seed("keyless", [3; 32]).unwrap();
    let second = NoteSigner::from_seed("keyless-2", [4; 32]).unwrap();
    let key_path = "/v1/orgs/keyless/key";
    let admin_key_path = "/v1/admin/orgs/keyless/key";

    // Without a key nothing the org signs can be logged, and the refusal says the way out.
    let problem = app
        .post_json(
            key_path,
            Some(&org.token),
            &rotation_body("keyless", 0, &second, &first),
        )
        .await
        .assert_problem(422, Some("signature"));
    assert_eq!(problem["rule"], "no-org-key");
    assert!(
        problem["detail"].as_str().unwrap().contains(admin_key_path),
        "{problem}"
    );

    // Only the operator states it.
    let body = json!({"public_key": first.verifier().to_text()});
    app.post_json(admin_key_path, Some(&org.token), &body)
        .await
        .assert_problem(401, None);
    let stated = app
        .post_json(admin_key_path, Some(&app.operator_token), &body)
        .await;
    assert_eq!(stated.status, 201, "{}", stated.text());
    let stated = stated.json();
    assert_eq!(stated["entry"]["kind"], "org.key_stated");
    assert_eq!(stated["entry"]["org"], "keyless");
    let stated_seq = stated["seq"].as_u64().unwrap();
    let replay = app
        .post_json(admin_key_path, Some(&app.operator_token), &body)
        .await;
    assert_eq!(replay.status, 200, "{}", replay.text());
    assert_eq!(replay.json()["seq"], stated_seq);

    // A second key stated is refused: rotation, signed by the org, is the way.
    let size = app.log_size().await;
    let other = json!({"public_key": second.verifier().to_text()});
    let problem = app
        .post_json(admin_key_path, Some(&app.operator_token), &other)
        .await
        .assert_problem(422, Some("public_key"));
    assert_eq!(problem["rule"], "org-key-exists");
    let problem = app
        .post_json(
            admin_key_path,
            Some(&app.operator_token),
            &json!({"public_key": "x"}),
        )
        .await
        .assert_problem(422, Some("public_key"));
    assert!(
        problem["detail"].as_str().unwrap().contains("key"),
        "{problem}"
    );
    let unknown = app
        .post_json(
            "/v1/admin/orgs/nobody/key",
            Some(&app.operator_token),
            &other,
        )
        .await;
    assert!(unknown.status.is_client_error(), "{}", unknown.text());
    assert_eq!(
        app.log_size().await,
        size,
        "a refused statement changed the log"
    );

    // The stated key is the org's, also once the service starts again (state read back
    // from the store): it signs the rotation to the next one.
    let mut app = app;
    app.restart().await;
    let rotated = app
        .post_json(
            key_path,
            Some(&org.token),
            &rotation_body("keyless", stated_seq, &second, &first),
        )
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.text());

    // The bundle says how each key was set, and verifies.
    app.stop_service().await;
    let (ok, output) =
        crate::support::run_check(app.data_dir.path(), app.db.as_ref().map(|d| d.url.as_str()));
    assert!(ok, "pennytrail check: {output}");
    let tmp = tempfile::tempdir().unwrap();
    let store = pennytrail::store::open(&app.store_config()).await.unwrap();
    let (bundle, _) =
        pennytrail::export::export_store(&store, None, Some(tmp.path().join("bundle")), |_, _| {})
            .await
            .unwrap();
    let keys = std::fs::read_to_string(bundle.join("org_keys.csv")).unwrap();
    let lines: Vec<&str> = keys.lines().collect();
    assert_eq!(
        lines[0], "org,public_key,signature,set_by,seq,time",
        "{keys}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "keyless,{},,stated,{stated_seq},",
            first.verifier().to_text()
        )),
        "{keys}"
    );
    assert!(lines[2].contains(",rotated,"), "{keys}");
    pennytrail_bundle::verify::verify_bundle(&bundle, &app.verifier, None, |_, _| {}).unwrap();
    app.finish().await;
}

/// Runs `pennytrail-verify receipt ARGS…` and `pennytrail verify-receipt ARGS…`, which must
/// agree; (passed, what they said).
fn verify_receipt(args: &[&str]) -> (bool, String) {
    let service = std::path::Path::new(env!("CARGO_BIN_EXE_pennytrail"));
    let run = |program: &std::path::Path, command: &str| {
        let out = std::process::Command::new(program)
            .arg(command)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let standalone = run(&service.with_file_name("pennytrail-verify"), "receipt");
    let built_in = run(service, "verify-receipt");
    assert_eq!(standalone, built_in, "the two verifiers disagree");
    standalone
}

/// Finding 3: the donor's receipt is one file that checks alone; when a two-file
/// receipt's entry bytes are not the exact ones, the verifier says what is wrong.
#[pennytrail_test(both_backends)]
async fn a_donor_keeps_one_receipt_file_that_checks_alone(app: TestApp) {
    let org = app.seeded_org("keeps").await;
    let seq = app.post_donation(&org, "gift-7", "meals", 2500, 30).await["seq"]
        .as_u64()
        .unwrap();
    app.post_donation(&org, "gift-8", "meals", 100, 0).await;
    let answer = app
        .client
        .get(format!(
            "{}/v1/orgs/keeps/donations/gift-7/receipt",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        answer.headers()["content-disposition"],
        "attachment; filename=\"pennytrail-receipt-keeps-gift-7.txt\""
    );
    let file = answer.bytes().await.unwrap().to_vec();
    let entry = app.get(&format!("/v1/entries/{seq}")).await.body;
    assert!(file.starts_with(&entry) && file[entry.len()] == b'\n');
    let proof = String::from_utf8(file[entry.len() + 1..].to_vec()).unwrap();
    assert!(
        proof.starts_with(&format!("c2sp.org/tlog-proof@v1\nindex {seq}\n")),
        "{proof}"
    );

    let dir = tempfile::tempdir().unwrap();
    let key = app.verifier.to_text();
    let save = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path.to_str().unwrap().to_string()
    };
    let receipt = save("receipt.txt", &file);
    let (ok, said) = verify_receipt(&[&receipt, "--key", &key]);
    assert!(ok, "{said}");
    assert!(
        said.contains(&format!("ok: the entry is number {seq} of the log")),
        "{said}"
    );

    // The file edited: the proof no longer leads to the signed root.
    let mut edited = file.clone();
    let at = edited.windows(4).position(|w| w == b"2500").unwrap();
    edited[at] = b'9';
    let (ok, said) = verify_receipt(&[&save("edited.txt", &edited), "--key", &key]);
    assert!(
        !ok && said.contains("FAILED") && said.contains("not the ones the log holds"),
        "{said}"
    );
    // The proof alone, without --entry, says where the entry comes from.
    let proof_only = save("proof.txt", proof.as_bytes());
    let (ok, said) = verify_receipt(&[&proof_only, "--key", &key]);
    assert!(!ok && said.contains("--entry"), "{said}");

    // The two-file form still works, and each wrong entry file is named for what it is.
    let (ok, said) = verify_receipt(&[
        &proof_only,
        "--entry",
        &save("e.json", &entry),
        "--key",
        &key,
    ]);
    assert!(ok, "{said}");
    let mut with_newline = entry.clone();
    with_newline.push(b'\n');
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&entry).unwrap()).unwrap();
    let other = app.get(&format!("/v1/entries/{}", seq + 1)).await.body;
    for (name, bytes, says) in [
        ("newline.json", with_newline, "ends with a newline"),
        ("pretty.json", pretty, "not in the log's canonical form"),
        (
            "other.json",
            other,
            &format!(
                "holds entry {}, but this receipt proves entry {seq}",
                seq + 1
            )[..],
        ),
    ] {
        let (ok, said) =
            verify_receipt(&[&proof_only, "--entry", &save(name, &bytes), "--key", &key]);
        assert!(!ok && said.contains(says), "{name}: {said}");
    }

    app.get("/v1/orgs/keeps/donations/nope/receipt")
        .await
        .assert_problem(404, None);

    // The donation page offers the file and a QR code of its own link, no donor reference.
    let page = app
        .client
        .get(format!("{}/lookup?org=keeps&donation=gift-7", app.base))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("href=\"/v1/orgs/keeps/donations/gift-7/receipt\">Download receipt</a>"),
        "{page}"
    );
    let host = app.base.trim_start_matches("http://");
    assert!(
        page.contains(&format!(
            "<code>https://{host}/lookup?org=keeps&amp;donation=gift-7</code>"
        )),
        "{page}"
    );
    assert!(page.contains("<svg class=\"qr\""), "{page}");
    app.finish().await;
}

/// Copies the published sample bundle into `to`, edits the first `from` of `file` into
/// `into`, and returns the fault the verifier reports and the edited line's number.
fn tampered_sample(to: &std::path::Path, file: &str, from: &str, into: &str) -> (String, usize) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(root.join("exports/sample")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
    let text = std::fs::read_to_string(to.join(file)).unwrap();
    let at = text
        .find(from)
        .unwrap_or_else(|| panic!("{file} has no {from:?}"));
    let line = text[..at].matches('\n').count() + 1;
    std::fs::write(to.join(file), text.replacen(from, into, 1)).unwrap();
    let key = std::fs::read_to_string(root.join("exports/sample.key")).unwrap();
    let verifier = NoteVerifier::from_text(key.trim()).unwrap();
    let fault = pennytrail_bundle::verify::verify_bundle(to, &verifier, None, |_, _| {})
        .expect_err("a tampered bundle verified");
    (fault.to_string(), line)
}

/// Finding 5: an edit is located by file, line and the field the editor changed, with
/// the size or hash mismatch it also causes; an edited entry is named by the field a
/// derived file contradicts, not by the derived field that no longer adds up.
#[pennytrail_test]
fn tampering_is_located_by_line_and_field() {
    let work = tempfile::tempdir().unwrap();

    // An amount in donations.csv: its line and field, then the size datapackage.json gave.
    let (fault, line) = tampered_sample(&work.path().join("a"), "donations.csv", ",EUR,", ",EUR,1");
    assert!(
        fault.starts_with(&format!(
            "donations.csv, line {line}, field amount: differs from what the entries imply: amount is \"1"
        )),
        "{fault}"
    );
    assert!(fault.contains("datapackage.json says"), "{fault}");

    // An amount inside an entry: the entry's line and its amount, which donations.csv
    // still gives as it was; not only the net that no longer adds up.
    let (fault, line) = tampered_sample(
        &work.path().join("b"),
        "entries.csv",
        "\"\"amount\"\":",
        "\"\"amount\"\":1",
    );
    assert!(
        fault.starts_with(&format!(
            "entries.csv, line {line}, field entry.amount: the entry was edited"
        )),
        "{fault}"
    );
    assert!(fault.contains("where donations.csv line"), "{fault}");

    // A channel inside an entry breaks no rule: the next entry's link and donations.csv
    // say it was edited.
    let (fault, line) = tampered_sample(
        &work.path().join("c"),
        "entries.csv",
        "\"\"channel\"\":\"\"card",
        "\"\"channel\"\":\"\"cash",
    );
    assert!(
        fault.starts_with(&format!(
            "entries.csv, line {line}, field entry.channel: the entry was edited"
        )),
        "{fault}"
    );
    assert!(
        fault.contains("no longer hash")
            && fault.contains("its channel is cash where donations.csv line"),
        "{fault}"
    );
}

/// Finding 6: a correction shows in the CSVs as the API and explorer apply it: each
/// correctable column X has X_effective beside it; the bundle verifies, an edited
/// X_effective does not, and README.txt describes every file.
#[pennytrail_test(both_backends)]
async fn corrections_show_in_the_csvs_beside_what_was_logged(app: TestApp) {
    let org = app.seeded_org("fixes").await;
    let mut well = crate::support::bodies::beneficiary("well", "organization");
    well["label"] = json!("Villge well committee");
    let seq = app
        .org_create(&org.token, "fixes", "/beneficiaries", &well)
        .await["seq"]
        .as_u64()
        .unwrap();
    let corrections = [
        json!({"id": "c1", "corrects": seq, "fields": {"label": "Village well commitee"}}),
        json!({"id": "c2", "corrects": seq, "fields": {"label": "Village well committee"}}),
        json!({"id": "c3", "corrects": 0, "fields": {"charity_number": "=42"}}),
    ];
    // Entry 0 is the org's registration only in a fresh log; find the org's seq.
    let org_seq = app.get_json("/v1/orgs/fixes").await["seq"]
        .as_u64()
        .unwrap();
    for mut correction in corrections {
        if correction["id"] == "c3" {
            correction["corrects"] = json!(org_seq);
        }
        app.org_create(&org.token, "fixes", "/corrections", &correction)
            .await;
    }
    let api = app.get_json("/v1/orgs/fixes/beneficiaries/well").await;
    assert_eq!(api["label"], "Village well committee", "{api}");

    let mut app = app;
    app.stop_service().await;
    let tmp = tempfile::tempdir().unwrap();
    let store = pennytrail::store::open(&app.store_config()).await.unwrap();
    let (bundle, _) =
        pennytrail::export::export_store(&store, None, Some(tmp.path().join("b")), |_, _| {})
            .await
            .unwrap();
    let beneficiaries = std::fs::read_to_string(bundle.join("beneficiaries.csv")).unwrap();
    assert!(
        beneficiaries.starts_with("org,beneficiary,label,label_effective,beneficiary_kind,"),
        "{beneficiaries}"
    );
    assert!(
        beneficiaries.contains(",well,Villge well committee,Village well committee,organization,"),
        "{beneficiaries}"
    );
    // Uncorrected rows say the same twice.
    assert!(beneficiaries.contains(",school,"), "{beneficiaries}");
    let orgs = std::fs::read_to_string(bundle.join("orgs.csv")).unwrap();
    assert!(
        orgs.starts_with(
            "org,name,name_effective,country,charity_number,charity_number_effective,"
        ),
        "{orgs}"
    );
    // A charity number the org never gave, added by a correction (formula-neutralised).
    assert!(
        orgs.contains("fixes,Charity fixes,Charity fixes,DE,,'=42,"),
        "{orgs}"
    );
    let readme = std::fs::read_to_string(bundle.join("README.txt")).unwrap();
    for table in &pennytrail_bundle::tables::TABLES {
        assert!(
            readme.contains(&format!("- {}: {}.", table.file, table.about)),
            "{readme}"
        );
    }
    assert!(readme.contains("X_effective"), "{readme}");
    let verifier = app.verifier.clone();
    pennytrail_bundle::verify::verify_bundle(&bundle, &verifier, None, |_, _| {}).unwrap();

    // Editing the effective text is found like any edit.
    std::fs::write(
        bundle.join("beneficiaries.csv"),
        beneficiaries.replace(",Village well committee,", ",Village well,"),
    )
    .unwrap();
    let fault = pennytrail_bundle::verify::verify_bundle(&bundle, &verifier, None, |_, _| {})
        .expect_err("an edited label_effective verified");
    assert_eq!(fault.field.as_deref(), Some("label_effective"), "{fault}");
    app.finish().await;
}
