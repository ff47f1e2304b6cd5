//! The explorer in its readers' languages and on a slow phone: the language is chosen by
//! the switch's cookie, else `Accept-Language`, and said (`<html lang>`,
//! `Content-Language`, `Vary`); amounts and dates are written the reader's way; the
//! switch sends the visitor back only to a page of this site; and every page, with the
//! CSS and scripts it loads, stays under its transfer budget, compressed.

use std::collections::BTreeSet;

use crate::support::*;

/// Most bytes a page may transfer, compressed: its HTML, CSS and scripts together.
const PAGE_BUDGET_BYTES: usize = 60 * 1024;

/// GET `path` with `headers`; the status, the headers and the body as sent.
async fn get(
    base: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client.get(format!("{base}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

fn header<'h>(headers: &'h reqwest::header::HeaderMap, name: &str) -> &'h str {
    headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

async fn html_status(base: &str, path: &str, status: u16) -> String {
    let (got, _, body) = get(base, path, &[]).await;
    let body = String::from_utf8(body).unwrap();
    assert_eq!(got, status, "{path}: {body}");
    body
}

async fn html(base: &str, path: &str, headers: &[(&str, &str)]) -> String {
    let (status, _, body) = get(base, path, headers).await;
    let body = String::from_utf8(body).unwrap();
    assert_eq!(status, 200, "{path}: {body}");
    body
}

#[pennytrail_test]
async fn pages_speak_the_readers_language_and_remember_the_choice() {
    let demo = DemoService::start(200).await;
    let base = &demo.service.base;
    let campaign = "/orgs/clean-water-ke/campaigns/wells-2026";
    let lookup = "/lookup?org=clean-water-ke&donation=don-000001";

    // No preference: English. A French browser: French, said in three places.
    let english = html(base, campaign, &[]).await;
    assert!(english.contains("<html lang=\"en\">") && english.contains("Where the money went"));
    let (status, headers, body) = get(
        base,
        campaign,
        &[("accept-language", "fr-FR,fr;q=0.9,en;q=0.5")],
    )
    .await;
    let french = String::from_utf8(body).unwrap();
    assert_eq!(status, 200);
    assert!(french.contains("<html lang=\"fr\">"), "{french}");
    assert_eq!(header(&headers, "content-language"), "fr");
    assert!(header(&headers, "vary").contains("Accept-Language"));
    assert!(
        !french.contains("Where the money went"),
        "no English left: {french}"
    );
    // Amounts the French way: the currency after, a comma before the cents.
    assert!(french.contains(",00\u{a0}KSh</dd>"), "{french}");
    assert!(english.contains(">KSh\u{a0}"), "{english}");

    // A Swahili reader, and dates for people in each language.
    let swahili = html(base, lookup, &[("accept-language", "sw")]).await;
    assert!(swahili.contains("<html lang=\"sw\">"));
    let english_lookup = html(base, lookup, &[]).await;
    assert!(english_lookup.contains(" UTC</time>"), "{english_lookup}");
    assert!(
        !english_lookup.contains("Z</time>"),
        "no raw ISO time: {english_lookup}"
    );
    assert!(swahili.contains(", saa "), "{swahili}");

    // The switch: a cookie for a year, and back to the same page; the cookie then wins
    // over the browser's preference.
    let (status, headers, _) = get(
        base,
        &format!("/language?set=sw&back={}", percent(lookup)),
        &[],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(header(&headers, "location"), lookup);
    let cookie = header(&headers, "set-cookie");
    assert!(
        cookie.starts_with("lang=sw;") && cookie.contains("Max-Age=31536000"),
        "{cookie}"
    );
    let chosen = html(
        base,
        "/",
        &[("accept-language", "fr"), ("cookie", "lang=sw")],
    )
    .await;
    assert!(chosen.contains("<html lang=\"sw\">"));
    // Each page links to itself in every language, each named in its own.
    for (tag, name) in [("en", "English"), ("fr", "Français"), ("sw", "Kiswahili")] {
        assert!(
            chosen.contains(&format!("href=\"/language?set={tag}&amp;back=%2F\"")),
            "{tag}: {chosen}"
        );
        assert!(chosen.contains(&format!(">{name}</a>")));
    }

    // Bad switches are 400 pages naming the field, in the reader's language; never a
    // redirect to another site.
    for (path, field) in [
        ("/language?set=klingon", "set"),
        ("/language", "set"),
        ("/language?set=fr&back=//evil.example/", "back"),
        ("/language?set=fr&back=https://evil.example/", "back"),
        ("/language?set=fr&back=/a&back=/b", "back"),
        ("/language?set=fr&then=1", "then"),
    ] {
        let (status, headers, body) = get(base, path, &[]).await;
        let body = String::from_utf8(body).unwrap();
        assert_eq!(status, 400, "{path}: {body}");
        assert!(header(&headers, "location").is_empty());
        assert!(
            body.contains(&format!("<code class=\"error-field\">{field}</code>")),
            "{path}: {body}"
        );
    }
    let (_, _, body) = get(base, "/orgs/nope", &[("accept-language", "fr")]).await;
    let not_found = String::from_utf8(body).unwrap();
    assert!(not_found.contains("<html lang=\"fr\">") && !not_found.contains("Not found"));
    // A donor's typo in the donation id is answered in their language, naming what they
    // typed; a malformed value, whose detail is the API's English, says that it is.
    let (status, _, body) = get(
        base,
        "/lookup?org=clean-water-ke&donation=don-9",
        &[("accept-language", "sw")],
    )
    .await;
    let typo = String::from_utf8(body).unwrap();
    assert_eq!(status, 404);
    assert!(
        typo.contains("halina mchango wenye nambari “don-9”"),
        "{typo}"
    );
    let (status, _, body) = get(
        base,
        "/lookup?org=clean-water-ke&donation=-x",
        &[("accept-language", "fr")],
    )
    .await;
    let malformed = String::from_utf8(body).unwrap();
    assert_eq!(status, 400);
    assert!(malformed.contains("(en anglais)"), "{malformed}");
    let english = html_status(base, "/lookup?org=clean-water-ke&donation=-x", 400).await;
    assert!(!english.contains("(in English)"), "{english}");
}

/// `path` percent-encoded as one query value.
fn percent(path: &str) -> String {
    path.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[pennytrail_test]
async fn every_page_stays_under_its_transfer_budget_compressed() {
    let demo = DemoService::start(200).await;
    let base = &demo.service.base;
    let pages = [
        "/",
        "/orgs/clean-water-ke",
        "/orgs/clean-water-ke/campaigns/wells-2026",
        "/lookup",
        "/lookup?org=clean-water-ke&donation=don-000001",
        "/downloads",
    ];
    for locale in ["en", "fr", "sw"] {
        for path in pages {
            // Measured with gzip, which every browser takes (brotli, also offered, is
            // smaller still).
            let accept = [("accept-encoding", "gzip"), ("accept-language", locale)];
            let (status, headers, body) = get(base, path, &accept).await;
            assert_eq!(status, 200, "{path}");
            assert_eq!(
                header(&headers, "content-encoding"),
                "gzip",
                "{path} is compressed"
            );
            let mut total = body.len();
            let html = gunzip(&body);
            let mut assets = BTreeSet::new();
            for attribute in ["href=\"/assets/", "src=\"/assets/"] {
                for part in html.split(attribute).skip(1) {
                    assets.insert(format!("/assets/{}", part.split('"').next().unwrap()));
                }
            }
            assert!(!assets.is_empty(), "{path} loads its stylesheet");
            for asset in &assets {
                let (status, headers, body) = get(base, asset, &accept).await;
                assert_eq!(status, 200, "{asset}");
                if asset.ends_with(".css") || asset.ends_with(".js") {
                    assert!(
                        !header(&headers, "content-encoding").is_empty(),
                        "{asset} is compressed"
                    );
                }
                total += body.len();
            }
            note!(
                "{locale} {path}: {total} bytes with {} assets",
                assets.len()
            );
            assert!(
                total <= PAGE_BUDGET_BYTES,
                "{locale} {path}: {total} bytes compressed with its assets {assets:?}, over the {PAGE_BUDGET_BYTES}-byte budget"
            );
            // Nothing from elsewhere.
            assert!(
                !html.contains("src=\"http") && !html.contains("href=\"http"),
                "{path}"
            );
        }
    }
}

/// The text of a gzip body.
fn gunzip(body: &[u8]) -> String {
    use std::io::Read as _;
    let mut text = String::new();
    flate2::read::GzDecoder::new(body)
        .read_to_string(&mut text)
        .expect("a gzip body of UTF-8");
    text
}

/// A donor picks the charity by name: from a list while there are few, and past 30 from a
/// field that suggests names (and sends the id) as they type.
#[pennytrail_test]
async fn the_charity_is_picked_by_name_with_search_once_there_are_many() {
    let app = TestApp::start(Backend::Sqlite).await;
    app.register("zeta-aid").await;
    app.register("alpha-aid").await;
    let few = page_of(&app, "/lookup").await;
    assert!(
        few.contains("<select id=\"org\" name=\"org\" required>"),
        "{few}"
    );
    let alpha = few
        .find("<option value=\"alpha-aid\">")
        .expect("alpha listed");
    let zeta = few
        .find("<option value=\"zeta-aid\">")
        .expect("zeta listed");
    assert!(alpha < zeta, "sorted by name");
    for n in 0..30 {
        app.register(&format!("org-{n:02}")).await;
    }
    let many = page_of(&app, "/").await;
    assert!(!many.contains("<select"), "{many}");
    assert!(many.contains("list=\"home-org-names\""), "{many}");
    assert_eq!(many.matches("<option value=\"").count(), 32, "{many}");
    // The lookup page offers the same search in both its forms.
    let kept = page_of(&app, "/lookup").await;
    assert!(kept.contains("<datalist id=\"ref-org-names\">"));
    app.finish().await;
}

async fn page_of(app: &TestApp, path: &str) -> String {
    let answer = app.get(path).await;
    assert_eq!(answer.status.as_u16(), 200);
    answer.text()
}
