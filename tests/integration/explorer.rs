//! The public explorer (src/explorer).
//!
//! Without a browser, on SQLite and PostgreSQL: every page answers HTML with its content
//! present without JavaScript (log identity, charities, campaign totals, the Sankey
//! diagram, the trace); every outside string — an org named `<script>alert(1)</script>`,
//! a beneficiary labelled with an `<img onerror>` — is escaped; amounts are formatted in
//! their currency's exponent (EUR, JPY, KWD); unknown charities, campaigns and donations
//! answer a 404 page and bad parameters a 400 page naming the field, never a 500; the
//! donor-reference form never echoes the reference; assets carry their types and caching.
//!
//! With a browser: the real binary, seeded by `pennytrail demo`, driven in headless
//! Chromium by tests/e2e/explorer.mjs (what it proves is listed at its top). Reported as
//! ignored when Node, /usr/bin/chromium or tests/e2e/node_modules is missing, unless
//! CI=true, which makes that a failure.

use std::path::Path;
use std::time::Duration;

use crate::support::*;
use serde_json::json;

const ORG: &str = "xss-org";
const HOSTILE_NAME: &str = "<script>alert(1)</script>\"'&";
const HOSTILE_LABEL: &str = "<img src=x onerror=alert(2)>";
const DONOR_REF: &str = "donor-secret-ref@example.org";

/// Asserts an explorer page: status, HTML type, the safety headers; returns the body.
fn page(answer: &Answer, status: u16) -> String {
    let body = answer.text();
    assert_eq!(answer.status.as_u16(), status, "{body}");
    assert_eq!(answer.content_type, "text/html; charset=utf-8", "{body}");
    assert!(body.starts_with("<!doctype html>"), "{body}");
    body
}

/// Asserts a 400 page naming `field`.
fn bad_field(answer: &Answer, field: &str) -> String {
    let body = page(answer, 400);
    assert!(
        body.contains(&format!("<code class=\"error-field\">{field}</code>")),
        "names {field}: {body}"
    );
    body
}

/// A charity with a hostile name, a EUR campaign paid out in part (to a supplier with a
/// hostile label and to overhead), and a JPY and a KWD campaign with one donation each;
/// the JPY one caps what a person gets a month and paid a person in two months.
async fn seed(app: &TestApp) {
    let answer = app
        .register_org(&json!({"id": ORG, "name": HOSTILE_NAME, "country": "DE"}))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let token = answer.json()["api_token"].as_str().unwrap().to_string();
    for (id, label, kind) in [
        ("school", HOSTILE_LABEL, "organization"),
        ("admin", "Admin & audit", "overhead"),
        ("pupil-1", "Pupil 1", "person"),
    ] {
        app.org_create(
            &token,
            ORG,
            "/beneficiaries",
            &json!({"id": id, "label": label, "kind": kind, "country": "DE"}),
        )
        .await;
    }
    for (id, title, currency) in [
        ("lunch", "<b>Lunch</b>", "EUR"),
        ("yen", "Yen fund", "JPY"),
        ("fils", "Fils fund", "KWD"),
    ] {
        let mut campaign = json!({"id": id, "title": title, "purpose": "Meals & more",
            "currency": currency, "beneficiaries": ["school", "admin", "pupil-1"]});
        if id == "yen" {
            campaign["max_per_person_per_month"] = json!(500);
        }
        app.org_create(&token, ORG, "/campaigns", &campaign).await;
    }
    for (id, campaign, amount, fee) in [
        ("d1", "lunch", 123_456, 1_000),
        ("d2", "yen", 1_200, 0),
        ("d3", "fils", 5, 0),
    ] {
        let mut donation = json!({"id": id, "campaign": campaign, "amount": amount, "fee": fee,
                                  "channel": "card"});
        if id == "d1" {
            donation["donor_ref"] = json!(DONOR_REF);
        }
        app.org_create(&token, ORG, "/donations", &donation).await;
    }
    for (id, amount, at) in [
        ("yen-1", 300, "2026-01-10T09:00:00.000Z"),
        ("yen-2", 200, "2026-01-20T09:00:00.000Z"),
        ("yen-3", 100, "2026-02-01T09:00:00.000Z"),
    ] {
        app.org_create(
            &token,
            ORG,
            "/disbursements",
            &json!({"id": id, "campaign": "yen", "beneficiary": "pupil-1", "amount": amount,
                    "purpose": "Stipend", "occurred_at": at}),
        )
        .await;
    }
    for (id, beneficiary, amount) in [("pay-1", "school", 100_000), ("pay-2", "admin", 2_000)] {
        app.org_create(
            &token,
            ORG,
            "/disbursements",
            &json!({"id": id, "campaign": "lunch", "beneficiary": beneficiary, "amount": amount,
                    "purpose": "Invoice <42>"}),
        )
        .await;
    }
}

#[pennytrail_test(both_backends)]
async fn pages_read_without_javascript_and_escape_everything(app: TestApp) {
    seed(&app).await;
    let size = app.log_size().await;

    // Home: the log's identity and the charities, with the hostile name inert.
    let answer = app.get("/").await;
    let home = page(&answer, 200);
    assert!(home.contains(ORIGIN));
    assert!(home.contains(&app.verifier.to_text()));
    assert!(
        home.contains(&format!("<dd id=\"log-size\">{size}</dd>")),
        "{size} entries (under 1,000: no separator)"
    );
    assert!(home.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
    assert!(
        !home.contains("<script"),
        "no script on the home page: {home}"
    );
    let csp = answer_header(&app, "/", "content-security-policy").await;
    assert!(csp.contains("script-src 'self'") && csp.contains("default-src 'none'"));

    // The charity: campaigns with totals in their currencies.
    let org = page(&app.get(&format!("/orgs/{ORG}")).await, 200);
    assert!(org.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !org.contains("<script"));
    assert!(org.contains("<a href=\"/orgs/xss-org/campaigns/lunch\">&lt;b&gt;Lunch&lt;/b&gt;</a>"));
    assert!(org.contains("€1,234.56"), "{org}");
    assert!(org.contains("JPY\u{a0}1,200"), "{org}");
    assert!(org.contains("KWD\u{a0}0.005"), "{org}");
    assert!(org.contains("No report published yet."));

    // The campaign: totals, acknowledged share, the diagram (overhead, fees and held
    // visible), the latest payouts newest first; labels escaped.
    let campaign = page(&app.get(&format!("/orgs/{ORG}/campaigns/lunch")).await, 200);
    for expected in [
        "<dd id=\"total-received\">€1,234.56</dd>",
        "<dd id=\"total-disbursed\">€1,020.00</dd>",
        "<dd id=\"total-held\">€204.56</dd>",
        "No beneficiary has confirmed or disputed a payout yet.",
        "<svg class=\"sankey\"",
        "class=\"link kind-overhead\" data-key=\"admin\"",
        "class=\"link kind-organization\" data-key=\"school\"",
        "class=\"link kind-fees\" data-key=\"fees\"",
        "class=\"link kind-held\" data-key=\"held\"",
        "&lt;img src=x onerror=alert(2)&gt;",
        "Invoice &lt;42&gt;",
        "Admin &amp; audit",
    ] {
        assert!(campaign.contains(expected), "{expected}: {campaign}");
    }
    assert!(!campaign.contains("<img") && !campaign.contains("<script"));
    // Nothing is said about what did not happen: no dispute, no "0 payouts" confirmed.
    assert!(
        !campaign.contains("They disputed") && !campaign.contains("(0.0%"),
        "{campaign}"
    );
    let (newest, oldest) = (
        campaign.find("<code>pay-2</code>").unwrap(),
        campaign.find("<code>pay-1</code>").unwrap(),
    );
    assert!(newest < oldest, "latest payouts come first");
    assert!(!campaign.contains("id=\"limits\""), "no caps, no section");

    // A capped campaign: its cap, what a cap cannot stop, the spread of what the person
    // got per month (2 person-months), and when each payout happened beside when logged.
    let capped = page(&app.get(&format!("/orgs/{ORG}/campaigns/yen")).await, 200);
    for expected in [
        "Per person per month</dt><dd>JPY\u{a0}500</dd>",
        "two pseudonyms",
        "dated falsely",
        "2 person-months",
        "JPY\u{a0}100 to JPY\u{a0}199</td><td class=\"num\">1</td>",
        "JPY\u{a0}500 to JPY\u{a0}599</td><td class=\"num\">1</td>",
        "1 February 2026, 09:00 UTC<br><small class=\"muted\">logged ",
    ] {
        assert!(capped.contains(expected), "{expected}: {capped}");
    }

    // The lookup: the trace in full without JavaScript, every step "not checked" until
    // the browser checks it, and the verifier script wired to this donation.
    let lookup = page(
        &app.get(&format!("/lookup?org={ORG}&donation=d1")).await,
        200,
    );
    assert_eq!(lookup.matches("\">not checked</td>").count(), 3, "{lookup}");
    for expected in [
        "<dd id=\"funded\">€1,020.00</dd>",
        "<dd id=\"held\">€204.56</dd>",
        "€1,224.56",
        "€1,000.00",
        "€20.00",
        "data-org=\"xss-org\" data-donation=\"d1\"",
        "/lookup.js\"></script>",
        "&lt;img src=x onerror=alert(2)&gt;",
    ] {
        assert!(lookup.contains(expected), "{expected}: {lookup}");
    }
    assert!(!lookup.contains("<img"));
    let empty_form = page(&app.get("/lookup").await, 200);
    assert!(empty_form.contains("action=\"/lookup\"") && empty_form.contains("method=\"post\""));

    // Downloads: every CSV and the bundle, filtered by charity on request, and the links
    // answer.
    let downloads = page(&app.get(&format!("/downloads?org={ORG}")).await, 200);
    assert!(downloads.contains("href=\"/v1/exports/bundle.tar\""));
    assert!(downloads.contains(&format!("--min-size {size}")));
    for file in [
        "entries.csv",
        "orgs.csv",
        "donations.csv",
        "disbursements.csv",
        "flows.csv",
    ] {
        let link = format!("/v1/exports/{file}?org={ORG}");
        assert!(downloads.contains(&format!("href=\"{link}\"")), "{file}");
        let csv = app.get(&link).await;
        assert_eq!(csv.status, 200, "{link}");
        assert_eq!(csv.content_type, "text/csv; charset=utf-8");
    }
    app.finish().await;
}

async fn answer_header(app: &TestApp, path: &str, name: &str) -> String {
    let response = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[pennytrail_test]
async fn unknown_things_are_404_pages_and_bad_parameters_400_pages_naming_the_field() {
    let app = TestApp::start(Backend::Sqlite).await;
    seed(&app).await;
    for path in [
        "/orgs/nope",
        "/orgs/nope/campaigns/lunch",
        "/orgs/xss-org/campaigns/nope",
        "/lookup?org=xss-org&donation=nope",
        "/lookup?org=nope&donation=d1",
        "/downloads?org=nope",
    ] {
        let body = page(&app.get(path).await, 404);
        assert!(body.contains("<h1>Not found</h1>"), "{path}: {body}");
    }
    for (path, field) in [
        ("/lookup?org=bad%20id&donation=d1", "org"),
        ("/lookup?org=xss-org&donation=-x", "donation"),
        ("/lookup?org=xss-org", "donation"),
        ("/lookup?donation=d1", "org"),
        ("/lookup?org=a&org=b&donation=d1", "org"),
        ("/lookup?org=xss-org&donation=d1&after=-1", "after"),
        ("/lookup?org=xss-org&donation=d1&bogus=1", "bogus"),
        ("/downloads?org=%3Cscript%3E", "org"),
        ("/downloads?campaign=x", "campaign"),
        ("/orgs/%FF", "org"),
        ("/orgs/a%00b", "org"),
        ("/orgs/xss-org/campaigns/%00", "campaign"),
    ] {
        let body = bad_field(&app.get(path).await, field);
        assert!(
            !body.contains("<script"),
            "{path} echoes input inertly: {body}"
        );
    }
    // A page error is HTML; the API keeps its problem+json, also for unknown routes.
    app.get("/v1/orgs/nope").await.assert_problem(404, None);
    app.get("/v1/nope").await.assert_problem(404, None);
    app.finish().await;
}

#[pennytrail_test]
async fn the_donor_reference_form_finds_donations_and_never_echoes_the_reference() {
    let app = TestApp::start(Backend::Sqlite).await;
    seed(&app).await;
    let form = |body: String| {
        app.post_raw(
            "/lookup",
            None,
            "application/x-www-form-urlencoded",
            body.into_bytes(),
        )
    };
    let answer = form(format!(
        "org={ORG}&donor_ref=donor-secret-ref%40example.org"
    ))
    .await;
    let body = page(&answer, 200);
    assert!(
        body.contains("<a href=\"/lookup?org=xss-org&amp;donation=d1\">"),
        "{body}"
    );
    assert_eq!(body.matches("<a href=\"/lookup?org=").count(), 1);
    assert!(!body.contains(DONOR_REF) && !body.contains("donor-secret-ref"));
    assert_eq!(
        answer_header_post(&app, format!("org={ORG}&donor_ref=x")).await,
        "no-store"
    );
    let none = page(
        &form(format!("org={ORG}&donor_ref=someone-else")).await,
        200,
    );
    assert!(none.contains("No donation to this charity matches that reference."));

    bad_field(&form(format!("org={ORG}")).await, "donor_ref");
    bad_field(&form("donor_ref=x".into()).await, "org");
    bad_field(
        &form(format!("org={ORG}&donor_ref=x&extra=1")).await,
        "extra",
    );
    bad_field(
        &form(format!("org={ORG}&donor_ref=a&donor_ref=b")).await,
        "donor_ref",
    );
    bad_field(&form(format!("org={ORG}&donor_ref=%20")).await, "donor_ref");
    bad_field(&form("org=%3Cscript%3E&donor_ref=x".into()).await, "org");
    let json = app
        .post_json("/lookup", None, &json!({"org": ORG, "donor_ref": "x"}))
        .await;
    page(&json, 415);
    app.finish().await;
}

async fn answer_header_post(app: &TestApp, body: String) -> String {
    let response = app
        .client
        .post(format!("{}/lookup", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[pennytrail_test]
async fn assets_are_embedded_typed_and_cached_by_version() {
    let app = TestApp::start(Backend::Sqlite).await;
    let version = pennytrail::explorer::assets::version();
    let home = page(&app.get("/").await, 200);
    assert!(home.contains(&format!("/assets/{version}/explorer.css")));
    for (name, content_type) in [
        ("explorer.css", "text/css; charset=utf-8"),
        ("verify.js", "text/javascript; charset=utf-8"),
        ("lookup.js", "text/javascript; charset=utf-8"),
        ("favicon.svg", "image/svg+xml"),
    ] {
        let path = format!("/assets/{version}/{name}");
        let answer = app.get(&path).await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.content_type, content_type, "{path}");
        assert!(!answer.body.is_empty());
        assert_eq!(
            answer_header(&app, &path, "cache-control").await,
            "public, max-age=31536000, immutable"
        );
        // A page of an older build still gets the file, but revalidates it.
        assert_eq!(
            answer_header(&app, &format!("/assets/0ld/{name}"), "cache-control").await,
            "no-cache"
        );
    }
    let verify_js = app
        .get(&format!("/assets/{version}/verify.js"))
        .await
        .text();
    assert!(verify_js.contains("export async function verifyTrace"));
    assert_eq!(
        app.get(&format!("/assets/{version}/nope.js")).await.status,
        404
    );
    app.finish().await;
}

/// The in-browser verifier's own unit tests (tests/e2e/verify.test.mjs), run by Node.
#[pennytrail_test(node)]
fn the_browser_verifier_passes_its_unit_tests_in_node() {
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    let output = std::process::Command::new("node")
        .args(["--test", "verify.test.mjs"])
        .current_dir(&e2e)
        .output()
        .expect("run node --test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("# pass 8") && stdout.contains("# fail 0"),
        "{stdout}"
    );
}

#[pennytrail_test(node, browser)]
async fn the_explorer_verifies_in_headless_chromium() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let e2e = manifest.join("tests/e2e");
    let demo = DemoService::start(200).await;
    let demo_said = &demo.said;
    // Amounts people read are in major units with the currency's digits.
    for expected in [
        "school-meals-nl: 200 donations (EUR ",
        "clean-water-ke: 200 donations (KES ",
    ] {
        assert!(demo_said.contains(expected), "{expected}: {demo_said}");
    }
    let run = tokio::process::Command::new("node")
        .arg("explorer.mjs")
        .current_dir(&e2e)
        .env("PENNYTRAIL_E2E_BASE_URL", &demo.service.base)
        .env("PENNYTRAIL_E2E_DONATIONS", "200")
        .env(
            "PENNYTRAIL_E2E_SCREENSHOTS",
            manifest.join("target/e2e-screenshots"),
        )
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("the browser test finishes within 10 minutes")
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    note!("{stdout}");
    note!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "the browser checks failed:\n{stdout}"
    );
    assert!(!stdout.contains("FAIL"), "{stdout}");
    assert!(stdout.contains("screenshot: "), "{stdout}");
    demo.service.terminate().await;
}
