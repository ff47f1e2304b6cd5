//! The API's description: `/openapi.json` is snapshotted (so every change to the API's
//! contract shows up in review), documents exactly the routes the router serves, is
//! structurally valid OpenAPI 3.1, and `/docs` browses it without any outside asset.
//!
//! After an intended change, refresh the snapshot with
//! `UPDATE_SNAPSHOTS=1 cargo test --test integration -- openapi` and review the diff.

use crate::support::{Backend, TestApp, pennytrail_test};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{Map, Value};

/// Every documented route, as `router()` in src/api/mod.rs declares it. `/docs` is the
/// browsable UI, not an API operation, and is checked on its own below.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/v1/admin/orgs/{org}/token"),
    ("DELETE", "/v1/admin/orgs/{org}/token"),
    ("GET", "/openapi.json"),
    ("GET", "/v1/log"),
    ("GET", "/v1/checkpoint"),
    ("GET", "/v1/entries"),
    ("GET", "/v1/entries/{seq}"),
    ("GET", "/v1/entries/{seq}/proof"),
    ("GET", "/v1/proofs/consistency"),
    ("GET", "/log/checkpoint"),
    ("GET", "/log/tile/{path}"),
    ("POST", "/v1/admin/orgs"),
    ("POST", "/v1/admin/orgs/{org}/key"),
    ("GET", "/v1/orgs/{org}/donations/{id}/receipt"),
    ("GET", "/v1/orgs"),
    ("GET", "/v1/orgs/{org}"),
    ("POST", "/v1/orgs/{org}/beneficiaries"),
    ("GET", "/v1/orgs/{org}/beneficiaries"),
    ("POST", "/v1/orgs/{org}/beneficiaries/batch"),
    ("GET", "/v1/orgs/{org}/beneficiaries/{id}"),
    ("POST", "/v1/orgs/{org}/campaigns"),
    ("GET", "/v1/orgs/{org}/campaigns"),
    ("GET", "/v1/orgs/{org}/campaigns/{campaign}"),
    ("POST", "/v1/orgs/{org}/campaigns/{campaign}/beneficiaries"),
    ("POST", "/v1/orgs/{org}/donations"),
    ("GET", "/v1/orgs/{org}/donations"),
    ("POST", "/v1/orgs/{org}/donations/batch"),
    ("GET", "/v1/orgs/{org}/donations/{id}"),
    ("GET", "/v1/orgs/{org}/donations/{id}/trace"),
    ("POST", "/v1/orgs/{org}/disbursements"),
    ("GET", "/v1/orgs/{org}/disbursements"),
    ("POST", "/v1/orgs/{org}/disbursements/batch"),
    ("GET", "/v1/orgs/{org}/disbursements/{id}"),
    ("GET", "/v1/orgs/{org}/disbursements/{id}/sources"),
    ("POST", "/v1/orgs/{org}/corrections"),
    ("POST", "/v1/donors/lookup"),
    ("GET", "/v1/exports/{file}"),
    ("POST", "/v1/orgs/{org}/disbursements/{id}/acknowledgement"),
    ("POST", "/v1/orgs/{org}/reports"),
    ("GET", "/v1/orgs/{org}/reports"),
    ("GET", "/v1/orgs/{org}/reports/{id}"),
    ("GET", "/v1/orgs/{org}/report-figures"),
    ("POST", "/v1/orgs/{org}/key"),
];

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json")
}

/// The same JSON with every object's keys sorted, so the snapshot does not depend on
/// whether serde_json preserves insertion order in this build.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, sorted(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

async fn fetch_spec(app: &TestApp) -> Value {
    let answer = app.get("/openapi.json").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(
        answer.content_type.starts_with("application/json"),
        "content type {:?}",
        answer.content_type
    );
    answer.json()
}

/// The operations of the spec as (METHOD, path).
fn operations(spec: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths is an object") {
        for method in HTTP_METHODS {
            if item.get(method).is_some() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[pennytrail_test]
async fn openapi_json_matches_the_snapshot() {
    let app = TestApp::start(Backend::Sqlite).await;
    let spec = fetch_spec(&app).await;
    let pretty = serde_json::to_string_pretty(&sorted(&spec)).unwrap() + "\n";
    let path = snapshot_path();
    if std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &pretty).unwrap();
        eprintln!("wrote {}", path.display());
    } else {
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        if stored != pretty {
            let first_difference = stored
                .lines()
                .zip(pretty.lines())
                .position(|(a, b)| a != b)
                .unwrap_or_else(|| stored.lines().count().min(pretty.lines().count()));
            panic!(
                "GET /openapi.json differs from {} (first at line {}).\n\
                 If the API change is intended, run `UPDATE_SNAPSHOTS=1 cargo test --test integration -- openapi` \
                 and review the snapshot's diff.",
                path.display(),
                first_difference + 1
            );
        }
    }
    app.finish().await;
}

/// A concrete URL for a path template, with a made-up value for each parameter.
fn concrete(path: &str) -> String {
    path.replace("{seq}", "0")
        .replace("{org}", "no-such-org")
        .replace("{id}", "no-such-id")
        .replace("{campaign}", "no-such-campaign")
        .replace("{file}", "orgs.csv")
}

#[pennytrail_test]
async fn the_spec_documents_exactly_the_routes_the_router_serves() {
    let app = TestApp::start(Backend::Sqlite).await;
    let spec = fetch_spec(&app).await;
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(expected.len(), ROUTES.len(), "ROUTES lists a route twice");
    let documented = operations(&spec);
    let missing: Vec<_> = expected.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes not documented: {missing:?}; documented but not in ROUTES: {extra:?}"
    );

    // Every documented operation reaches a handler (not the 404 fallback or a 405), and
    // every other method on a documented path is the router's 405: the list above is the
    // router's, not just the spec's.
    for path in spec["paths"].as_object().unwrap().keys() {
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let url = format!("{}{}", app.base, concrete(path));
            let response = app
                .client
                .request(method.parse().unwrap(), &url)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let body = response.text().await.unwrap();
            if documented.contains(&(method.to_string(), path.clone())) {
                assert_ne!(status, 405, "{method} {path} is documented but not routed");
                assert!(
                    !(status == 404 && body.contains("no such route")),
                    "{method} {path} is documented but not routed: {body}"
                );
            } else {
                assert_eq!(
                    status, 405,
                    "{method} {path} is routed but not documented: {body}"
                );
            }
        }
    }
    app.finish().await;
}

#[pennytrail_test]
async fn docs_are_browsable_offline() {
    let app = TestApp::start(Backend::Sqlite).await;

    // `/docs` redirects to `/docs/`, so the page's relative asset paths resolve under it.
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = no_redirects
        .get(format!("{}/docs", app.base))
        .send()
        .await
        .unwrap();
    assert!(redirect.status().is_redirection(), "{}", redirect.status());
    assert_eq!(redirect.headers()["location"], "/docs/");

    let page = app.get("/docs").await;
    assert_eq!(page.status, 200);
    assert!(
        page.content_type.starts_with("text/html"),
        "{}",
        page.content_type
    );
    let html = page.text();
    assert!(html.contains("swagger-ui"), "{html}");

    // Every script, stylesheet and icon is served by us, and is there.
    let assets = attribute_values(&html, &["src", "href"]);
    assert!(assets.len() >= 3, "assets: {assets:?}");
    for asset in &assets {
        let lower = asset.to_ascii_lowercase();
        assert!(
            !lower.starts_with("http:") && !lower.starts_with("https:") && !lower.starts_with("//"),
            "/docs loads an outside asset: {asset}"
        );
        let url = format!("/docs/{}", asset.trim_start_matches("./"));
        let answer = app.get(&url).await;
        assert_eq!(answer.status, 200, "{url}");
    }
    let lower = html.to_ascii_lowercase();
    for outside in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "url(http",
    ] {
        assert!(!lower.contains(outside), "/docs refers to {outside}…");
    }

    // The page's configuration points at our document and at no online validator.
    let initializer = app.get("/docs/swagger-initializer.js").await;
    assert_eq!(initializer.status, 200);
    let initializer = initializer.text();
    assert!(initializer.contains("\"/openapi.json\""), "{initializer}");
    assert!(
        !initializer.contains("http://") && !initializer.contains("https://"),
        "{initializer}"
    );
    assert!(
        initializer.contains("\"validatorUrl\": \"none\""),
        "{initializer}"
    );
    app.finish().await;
}

/// The values of `name="…"` attributes in an HTML page.
fn attribute_values(html: &str, names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for name in names {
        for quote in ['"', '\''] {
            let needle = format!(" {name}={quote}");
            let mut rest = html;
            while let Some(start) = rest.find(&needle) {
                rest = &rest[start + needle.len()..];
                if let Some(end) = rest.find(quote) {
                    out.push(rest[..end].to_string());
                    rest = &rest[end..];
                }
            }
        }
    }
    out
}

/// Resolves a local `$ref` (`#/a/b/c`) in `spec`.
fn resolve<'a>(spec: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    spec.pointer(pointer)
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[pennytrail_test]
async fn the_spec_is_structurally_valid_openapi_3_1() {
    let app = TestApp::start(Backend::Sqlite).await;
    let spec = fetch_spec(&app).await;
    app.finish().await;

    assert!(
        spec["openapi"].as_str().unwrap().starts_with("3.1."),
        "openapi: {}",
        spec["openapi"]
    );
    assert!(!spec["info"]["title"].as_str().unwrap().is_empty());
    assert!(!spec["info"]["version"].as_str().unwrap().is_empty());
    let paths = spec["paths"].as_object().unwrap();
    assert!(!paths.is_empty());

    // Every $ref is local to the document and resolves, and points where its kind lives.
    let mut refs = Vec::new();
    collect_refs(&spec, &mut refs);
    assert!(!refs.is_empty());
    for r in &refs {
        assert!(r.starts_with("#/components/"), "non-local $ref {r}");
        assert!(resolve(&spec, r).is_some(), "$ref {r} does not resolve");
    }

    let schemes = spec["components"]["securitySchemes"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for name in ["operator_token", "org_token"] {
        assert_eq!(schemes[name]["type"], "http", "{name}");
        assert_eq!(schemes[name]["scheme"], "bearer", "{name}");
    }
    let declared_tags: BTreeSet<&str> = spec["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();

    let mut operation_ids = BTreeSet::new();
    for (path, item) in paths {
        assert!(path.starts_with('/'), "{path}");
        let template_params: BTreeSet<&str> = path
            .split('{')
            .skip(1)
            .map(|s| s.split('}').next().unwrap())
            .collect();
        for method in HTTP_METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let name = format!("{} {path}", method.to_uppercase());
            let id = operation["operationId"].as_str().unwrap_or_default();
            assert!(!id.is_empty(), "{name}: no operationId");
            assert!(
                operation_ids.insert(id.to_string()),
                "{name}: operationId {id} repeats"
            );

            let tags = operation["tags"].as_array().expect("tags");
            assert!(!tags.is_empty(), "{name}: no tag");
            for tag in tags {
                assert!(
                    declared_tags.contains(tag.as_str().unwrap()),
                    "{name}: tag {tag}"
                );
            }

            // Path parameters match the template exactly and are required.
            let params: Vec<&Map<String, Value>> = operation["parameters"]
                .as_array()
                .map(|ps| ps.iter().map(|p| p.as_object().unwrap()).collect())
                .unwrap_or_default();
            let in_path: BTreeSet<&str> = params
                .iter()
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap())
                .collect();
            assert_eq!(in_path, template_params, "{name}: path parameters");
            for p in &params {
                assert!(["path", "query", "header"].contains(&p["in"].as_str().unwrap()));
                if p["in"] == "path" {
                    assert_eq!(p["required"], true, "{name}: {}", p["name"]);
                }
                assert!(
                    p.contains_key("schema"),
                    "{name}: {} has no schema",
                    p["name"]
                );
            }

            // Responses: each a status code with a description and typed content, every
            // error one is a problem+json.
            let responses = operation["responses"].as_object().expect("responses");
            assert!(!responses.is_empty(), "{name}: no responses");
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{name}: no success response"
            );
            for (status, response) in responses {
                let code: u16 = status
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}: {status}"));
                assert!((100..600).contains(&code), "{name}: {status}");
                let response = match response.get("$ref") {
                    Some(r) => resolve(&spec, r.as_str().unwrap()).unwrap(),
                    None => response,
                };
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{name} {status}: no description"
                );
                if code == 204 {
                    assert!(response.get("content").is_none(), "{name} 204 has content");
                    continue;
                }
                let content = response["content"].as_object().expect("content");
                assert!(!content.is_empty(), "{name} {status}: no content");
                if code >= 400 {
                    assert_eq!(
                        content.keys().collect::<Vec<_>>(),
                        ["application/problem+json"],
                        "{name} {status}"
                    );
                }
            }

            // Writes carry a JSON body and name their bearer token (reissuing a token
            // takes no body).
            if method == "post" && !path.ends_with("/token") {
                let body = &operation["requestBody"];
                assert_eq!(body["required"], true, "{name}: request body");
                assert!(
                    body["content"]["application/json"]["schema"].is_object(),
                    "{name}"
                );
                for status in ["400", "413", "415", "422"] {
                    assert!(responses.contains_key(status), "{name}: no {status}");
                }
                let expected_scheme = if path.starts_with("/v1/admin/") {
                    Some("operator_token")
                } else if path.ends_with("/acknowledgement") {
                    // The beneficiary's signature is the authentication.
                    None
                } else if path.starts_with("/v1/orgs/{org}/") {
                    Some("org_token")
                } else {
                    None
                };
                let security = operation["security"].as_array();
                match expected_scheme {
                    Some(scheme) => {
                        let security = security.unwrap_or_else(|| panic!("{name}: no security"));
                        assert_eq!(security.len(), 1, "{name}");
                        assert!(security[0].get(scheme).is_some(), "{name}: {security:?}");
                        assert!(responses.contains_key("401"), "{name}: no 401");
                    }
                    None => assert!(security.is_none(), "{name}: unexpected security"),
                }
            }
            if let Some(security) = operation["security"].as_array() {
                for requirement in security {
                    for scheme in requirement.as_object().unwrap().keys() {
                        assert!(schemes.contains_key(scheme), "{name}: scheme {scheme}");
                    }
                }
            }
        }
    }
}
