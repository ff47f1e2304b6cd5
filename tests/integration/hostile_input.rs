//! Every route, walked with hostile path and query parameters, on SQLite and PostgreSQL:
//! each answer is a 4xx (never a 5xx), the service logs no ERROR line (bad input is not
//! an outage), and the log is unchanged.
//!
//! The routes come from the service's own `/openapi.json` (every operation, every path
//! and query parameter it documents) plus the explorer's pages, which the document does
//! not list. Each parameter in turn gets each hostile value while the others keep valid,
//! seeded values, so a value is refused for itself and not because a neighbour was
//! already wrong. Requests are written as raw HTTP, so `..`, NUL and bytes that are not
//! UTF-8 reach the server exactly as written (an HTTP client library would normalise or
//! refuse them).

use crate::support::{Backend, PgDatabase, ServiceProcess, pennytrail_test};
use std::collections::BTreeMap;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Hostile values, as they appear in the request target (already percent-encoded where
/// the raw byte could not be written).
fn hostile_values() -> Vec<(&'static str, String)> {
    vec![
        ("NUL", "%00".into()),
        ("NUL inside", "a%00b".into()),
        ("invalid UTF-8", "%FF".into()),
        ("invalid UTF-8 sequence", "%C3%28".into()),
        ("10,000 characters", "x".repeat(10_000)),
        ("dot-dot", "..".into()),
        ("encoded dot-dot", "%2E%2E".into()),
        ("right-to-left override", "abc%E2%80%AEdef".into()),
        ("combining characters", "e%CC%81%CC%81%CC%81".into()),
        ("2^64", "18446744073709551616".into()),
        ("past 2^64", "99999999999999999999999999999".into()),
        ("negative", "-1".into()),
        ("formula", "%3D1%2B1".into()),
        ("space", "a%20b".into()),
        ("slash", "a%2Fb".into()),
    ]
}

/// A route to walk: method, path template and query parameters it takes.
#[derive(Debug, Clone)]
struct Route {
    method: &'static str,
    path: String,
    query: Vec<String>,
    /// Whom the request authenticates as.
    auth: Auth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Auth {
    None,
    Operator,
    Org,
}

/// Every operation of the API document, and the explorer's pages.
fn routes(openapi: &Value) -> Vec<Route> {
    let mut routes = Vec::new();
    for (path, operations) in openapi["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let method = match method.as_str() {
                "get" => "GET",
                "post" => "POST",
                "delete" => "DELETE",
                _ => continue,
            };
            let query = operation["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "query")
                        .map(|p| p["name"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            let security = operation["security"].to_string();
            let auth = if security.contains("operator_token") {
                Auth::Operator
            } else if security.contains("org_token") {
                Auth::Org
            } else {
                Auth::None
            };
            routes.push(Route {
                method,
                path: path.clone(),
                query,
                auth,
            });
        }
    }
    for (path, query) in [
        ("/", vec![]),
        ("/orgs/{org}", vec![]),
        ("/orgs/{org}/campaigns/{campaign}", vec![]),
        ("/lookup", vec!["org", "donation", "after"]),
        ("/downloads", vec!["org"]),
        ("/assets/{version}/{file}", vec![]),
    ] {
        routes.push(Route {
            method: "GET",
            path: path.to_string(),
            query: query.into_iter().map(String::from).collect(),
            auth: Auth::None,
        });
    }
    routes
}

/// Valid, seeded values for every parameter name.
fn valid_values() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("org", "helping-hands"),
        ("campaign", "meals"),
        ("id", "don-1"),
        ("donation", "don-1"),
        ("seq", "1"),
        ("file", "donations.csv"),
        ("version", "0"),
        ("from", "0"),
        ("to", "1"),
        ("after", "0"),
        ("limit", "1"),
        ("size", "1"),
    ])
}

/// Fills the path template with `value` for `hostile` and valid values elsewhere.
fn fill(path: &str, hostile: Option<(&str, &str)>) -> String {
    let valid = valid_values();
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').unwrap() + start;
        out.push_str(&rest[..start]);
        let name = &rest[start + 1..end];
        match hostile {
            Some((h, value)) if h == name => out.push_str(value),
            _ => out.push_str(valid.get(name).unwrap_or(&"x")),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Sends one raw HTTP/1.1 request; returns the status code.
async fn raw_request(addr: &str, method: &str, target: &str, token: Option<&str>) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let body = if method == "POST" { "{}" } else { "" };
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(token) = token {
        request.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    if method == "POST" {
        request.push_str("Content-Type: application/json\r\n");
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    let line = String::from_utf8_lossy(&answer);
    line.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {:?}", &line[..line.len().min(200)]))
}

async fn post(client: &reqwest::Client, base: &str, path: &str, token: &str, body: Value) -> Value {
    let response = client
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

async fn log_size(client: &reqwest::Client, base: &str) -> u64 {
    let log: Value = client
        .get(format!("{base}/v1/log"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    log["size"].as_u64().unwrap()
}

async fn walk(backend: Backend) {
    let data = tempfile::tempdir().unwrap();
    let db = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(PgDatabase::create().await),
    };
    let mut args = vec!["--data-dir", data.path().to_str().unwrap()];
    if let Some(db) = &db {
        args.extend(["--database-url", db.url.as_str()]);
    }
    let service = ServiceProcess::start_logging(&args, "info")
        .await
        .expect("the service starts");
    let base = service.base.clone();
    let addr = base.trim_start_matches("http://").to_string();
    let client = reqwest::Client::new();
    let operator = std::fs::read_to_string(data.path().join("operator.token")).unwrap();
    let operator = operator.trim();

    // The valid values name real records, so a refusal is for the hostile value alone.
    let org = post(
        &client,
        &base,
        "/v1/admin/orgs",
        operator,
        json!({"id": "helping-hands", "name": "Helping Hands", "country": "DE"}),
    )
    .await;
    let token = org["api_token"].as_str().unwrap().to_string();
    let o = "/v1/orgs/helping-hands";
    post(
        &client,
        &base,
        &format!("{o}/beneficiaries"),
        &token,
        json!({"id": "kitchen", "label": "Kitchen", "kind": "organization", "country": "DE"}),
    )
    .await;
    post(
        &client,
        &base,
        &format!("{o}/campaigns"),
        &token,
        json!({"id": "meals", "title": "Meals", "purpose": "Meals", "currency": "EUR",
               "beneficiaries": ["kitchen"]}),
    )
    .await;
    post(
        &client,
        &base,
        &format!("{o}/donations"),
        &token,
        json!({"id": "don-1", "campaign": "meals", "amount": 500, "fee": 0, "channel": "card"}),
    )
    .await;
    let size_before = log_size(&client, &base).await;

    let openapi: Value = client
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let routes = routes(&openapi);
    let values = hostile_values();
    let mut tried = 0;
    let mut failures = Vec::new();
    for route in &routes {
        let token = match route.auth {
            Auth::None => None,
            Auth::Operator => Some(operator),
            Auth::Org => Some(token.as_str()),
        };
        let path_params: Vec<String> = route
            .path
            .split('{')
            .skip(1)
            .map(|p| p.split('}').next().unwrap().to_string())
            .collect();
        for (what, value) in &values {
            for name in &path_params {
                let target = fill(&route.path, Some((name, value)));
                let status = raw_request(&addr, route.method, &target, token).await;
                tried += 1;
                if !(400..500).contains(&status) {
                    failures.push(format!(
                        "{} {} ({name} = {what}): {status}",
                        route.method, route.path
                    ));
                }
            }
            for name in &route.query {
                let target = format!("{}?{name}={value}", fill(&route.path, None));
                let status = raw_request(&addr, route.method, &target, token).await;
                tried += 1;
                if !(400..500).contains(&status) {
                    failures.push(format!(
                        "{} {}?{name}= ({what}): {status}",
                        route.method, route.path
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{backend:?}: {} of {tried} hostile requests were not answered 4xx:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        log_size(&client, &base).await,
        size_before,
        "{backend:?}: the log changed"
    );
    let errors: Vec<String> = service
        .log
        .lock()
        .unwrap()
        .iter()
        .filter(|line| line.contains("\"level\":\"ERROR\""))
        .cloned()
        .collect();
    assert!(
        errors.is_empty(),
        "{backend:?}: ERROR lines for bad input:\n{}",
        errors.join("\n")
    );
    note!(
        "{backend:?}: {} routes, {} hostile values, {tried} requests, all 4xx, no ERROR line, log unchanged",
        routes.len(),
        values.len()
    );
    service.terminate().await;
    if let Some(db) = db {
        db.drop_database().await;
    }
}

#[pennytrail_test]
async fn hostile_parameters_are_4xx_on_sqlite() {
    walk(Backend::Sqlite).await;
}

#[pennytrail_test(postgres)]
async fn hostile_parameters_are_4xx_on_postgres() {
    walk(Backend::Postgres).await;
}
