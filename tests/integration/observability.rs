//! What the operator sees: `/metrics` counts appends, batches and answers by route and
//! status exactly; every answer carries a request id (the client's if sane, a fresh one
//! otherwise) and the process's JSON log lines for that request carry the same id.

use crate::support::{ORIGIN, ServiceProcess, TestApp, pennytrail_test};
use serde_json::{Value, json};

const ORG: &str = "observed";

/// The value of the sample `name{labels}` (exact line prefix match), or 0 if absent.
fn sample(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
        .unwrap_or(0)
}

/// The sum of every series of `name` whose labels contain `label`, in microseconds (the
/// exposition prints seconds with six decimals).
fn sum_micros(metrics: &str, name: &str, label: &str) -> u64 {
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix(name)?.strip_prefix('{'))
        .filter(|rest| rest.contains(label))
        .map(|rest| {
            let value = rest.rsplit(' ').next().unwrap();
            let (whole, fraction) = value.split_once('.').unwrap();
            assert_eq!(fraction.len(), 6, "{value}");
            whole.parse::<u64>().unwrap() * 1_000_000 + fraction.parse::<u64>().unwrap()
        })
        .sum()
}

async fn metrics_text(app: &TestApp) -> String {
    let answer = app.get("/metrics").await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.content_type,
        "text/plain; version=0.0.4; charset=utf-8"
    );
    answer.text()
}

#[pennytrail_test(both_backends)]
async fn metrics_count_appends_batches_and_answers(app: TestApp) {
    let before = metrics_text(&app).await;
    assert_eq!(
        sample(&before, "pennytrail_log_size"),
        app.log_size().await,
        "{before}"
    );
    let token = app.new_org(ORG).await;
    app.org_create(
        &token,
        ORG,
        "/beneficiaries",
        &json!({"id": "school", "label": "A school", "kind": "organization", "country": "KE"}),
    )
    .await;
    app.org_create(
        &token,
        ORG,
        "/campaigns",
        &json!({"id": "meals", "title": "School meals", "purpose": "Lunch",
                "currency": "EUR", "beneficiaries": ["school"]}),
    )
    .await;
    let donation = |id: &str| json!({"id": id, "campaign": "meals", "amount": 50, "fee": 0, "channel": "card"});
    for n in 0..5 {
        app.org_create(&token, ORG, "/donations", &donation(&format!("d{n}")))
            .await;
    }
    // A replay, a refusal and an unknown path.
    let replay = app
        .org_post(&token, ORG, "/donations", &donation("d0"))
        .await;
    assert_eq!(replay.status, 200, "{}", replay.text());
    let refused = app
        .org_post(&token, ORG, "/donations", &json!({"id": "x"}))
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert_eq!(app.get("/no/such/path/1").await.status, 404);
    assert_eq!(app.get("/no/such/path/2").await.status, 404);

    let after = metrics_text(&app).await;
    // Org registration, beneficiary, campaign and five donations: eight new entries.
    let appended = sample(&after, "pennytrail_appended_entries_total");
    assert_eq!(appended, 8, "{after}");
    assert_eq!(sample(&after, "pennytrail_replayed_writes_total"), 1);
    assert_eq!(sample(&after, "pennytrail_log_size"), app.log_size().await);
    let batches = sample(&after, "pennytrail_append_batches_total");
    assert!((1..=9).contains(&batches), "{batches} batches");
    assert_eq!(
        sample(&after, "pennytrail_append_batch_entries_count"),
        batches
    );
    assert_eq!(sample(&after, "pennytrail_append_batch_entries_sum"), 8);
    assert_eq!(
        sample(&after, "pennytrail_append_batch_commit_seconds_count"),
        batches
    );
    assert_eq!(sample(&after, "pennytrail_append_batch_failures_total"), 0);
    let donations = "method=\"POST\",route=\"/v1/orgs/{org}/donations\"";
    assert_eq!(
        sample(
            &after,
            &format!("pennytrail_http_requests_total{{{donations},status=\"201\"}}")
        ),
        5,
        "{after}"
    );
    assert_eq!(
        sample(
            &after,
            &format!("pennytrail_http_requests_total{{{donations},status=\"200\"}}")
        ),
        1
    );
    assert_eq!(
        sample(
            &after,
            &format!("pennytrail_http_requests_total{{{donations},status=\"422\"}}")
        ),
        1
    );
    assert_eq!(
        sample(
            &after,
            &format!("pennytrail_http_request_duration_seconds_count{{{donations}}}")
        ),
        7
    );
    // Unknown paths share one series, whatever they are.
    assert_eq!(
        sample(
            &after,
            "pennytrail_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"
        ),
        2,
        "{after}"
    );
    assert!(!after.contains("/no/such/path"));

    // Each write that reached the sequencer passed its four stages once: the org, the
    // beneficiary, the campaign, five donations and the replay. The stages are disjoint
    // parts of their requests' time.
    let mut stages_us = 0;
    for stage in ["queued", "committed", "recorded", "resumed"] {
        let count = format!("pennytrail_append_stage_seconds_count{{stage=\"{stage}\"}}");
        assert_eq!(
            sample(&after, &count) - sample(&before, &count),
            9,
            "{after}"
        );
        stages_us += sum_micros(&after, "pennytrail_append_stage_seconds_sum", stage);
    }
    let writes_us = sum_micros(
        &after,
        "pennytrail_http_request_duration_seconds_sum",
        "method=\"POST\"",
    );
    assert!(
        (1..=writes_us).contains(&stages_us),
        "stages {stages_us} µs, write requests {writes_us} µs\n{after}"
    );
    app.finish().await;
}

fn request_id_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .expect("every answer carries x-request-id")
        .to_str()
        .unwrap()
        .to_string()
}

#[pennytrail_test]
async fn request_ids_are_echoed_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let service = ServiceProcess::start_logging(
        &[
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--origin",
            ORIGIN,
        ],
        "pennytrail=debug",
    )
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let get = |id: Option<&str>| {
        let mut request = client.get(format!("{}/v1/log", service.base));
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        request.send()
    };

    let kept = get(Some("trace-me-42")).await.unwrap();
    assert_eq!(kept.status(), 200);
    assert_eq!(request_id_of(&kept), "trace-me-42");

    let is_fresh = |id: &str| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    let fresh_a = request_id_of(&get(None).await.unwrap());
    let fresh_b = request_id_of(&get(None).await.unwrap());
    assert!(is_fresh(&fresh_a) && is_fresh(&fresh_b) && fresh_a != fresh_b);
    for hostile in ["has space", "quote\"}", &"x".repeat(65)] {
        let replaced = request_id_of(&get(Some(hostile)).await.unwrap());
        assert!(is_fresh(&replaced), "{hostile:?} was kept as {replaced:?}");
    }
    // Refusals and unknown paths carry ids too.
    let unknown = client
        .get(format!("{}/nowhere", service.base))
        .header("x-request-id", "lost-1")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(request_id_of(&unknown), "lost-1");

    // The log line closing each request names its id, route and status.
    let finished = |id: &str| -> Option<Value> {
        service.log.lock().unwrap().iter().find_map(|line| {
            let v: Value = serde_json::from_str(line).ok()?;
            (v["fields"]["message"] == "request finished" && v["span"]["request_id"] == id)
                .then_some(v)
        })
    };
    let mut line = None;
    for _ in 0..100 {
        line = finished("trace-me-42");
        if line.is_some() && finished("lost-1").is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let line = line.unwrap_or_else(|| {
        panic!(
            "no log line for trace-me-42 in:\n{}",
            service.log.lock().unwrap().join("\n")
        )
    });
    assert_eq!(line["span"]["route"], "/v1/log");
    assert_eq!(line["span"]["method"], "GET");
    assert_eq!(line["fields"]["status"], 200);
    let lost = finished("lost-1").expect("log line for the 404");
    assert_eq!(lost["span"]["route"], "unmatched");
    assert_eq!(lost["fields"]["status"], 404);
    let status = service.terminate().await;
    assert!(status.success(), "graceful shutdown: {status}");
}

/// `pennytrail loadgen` against a real server: a short write run prints its rate and,
/// from the server's `/metrics`, where the server's time per write went.
#[pennytrail_test]
async fn loadgen_reports_where_the_servers_time_per_write_went() {
    let dir = tempfile::tempdir().unwrap();
    let service = ServiceProcess::start(&[
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--origin",
        ORIGIN,
    ])
    .await
    .unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"))
        .args(["loadgen", "--url", &service.base, "--token-file"])
        .arg(dir.path().join("operator.token"))
        .args([
            "--seconds",
            "1",
            "--workload",
            "donations",
            "--concurrency",
            "4",
        ])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let donations = stdout
        .lines()
        .find(|l| l.starts_with("Donations: "))
        .unwrap_or_else(|| panic!("no donations line in {stdout}"));
    let stages = donations
        .split_once("; server time per write: ")
        .unwrap_or_else(|| panic!("no stages in {donations}"))
        .1;
    let names: Vec<&str> = stages
        .split(", ")
        .map(|s| {
            let (name, ms) = s.split_once(' ').unwrap();
            let ms = ms.strip_suffix(" ms").unwrap();
            assert!(ms.parse::<f64>().is_ok(), "{s}");
            name
        })
        .collect();
    assert_eq!(names, ["queued", "committed", "recorded", "resumed"]);
    // Reads have no write stages to report.
    let healthz = stdout.lines().find(|l| l.starts_with("Healthz: ")).unwrap();
    assert!(!healthz.contains("server time per write"), "{healthz}");
    service.terminate().await;
}
