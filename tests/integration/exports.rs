//! Streamed exports (`GET /v1/exports/{file}`) and the bundle archive
//! (`GET /v1/exports/bundle.tar`): the unfiltered CSVs are byte for byte the bundle's; a
//! filtered stream, read in tiny pages so that every page boundary is crossed, is byte
//! for byte what the bundle's own derivation gives once its rows are filtered; bad
//! queries are refused naming the parameter; the archive verifies; and a client that
//! disconnects mid-stream leaves the service whole.

use crate::support::bodies::{self, beneficiary, donation};
use crate::support::{Backend, ORIGIN, TestApp, pennytrail_test};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pennytrail::api::exports::MAX_CONCURRENT_EXPORTS;
use pennytrail::export::export_store;
use pennytrail::export::select::{CAMPAIGN_FILES, STREAM_PAGE, SelectError, Selection, stream_csv};
use pennytrail::store::Store;
use pennytrail_bundle::derive::Deriver;
use pennytrail_bundle::tables::{TABLES, table};
use pennytrail_bundle::verify::verify_bundle;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Our own orgs, written around the demo's three so that an org's entries are not
/// contiguous in the log. Both open a campaign called `meals`: an org filter must keep
/// them apart.
const ALPHA: &str = "alpha-aid";
const BETA: &str = "beta-care";

/// Demo donations per org for the seeded log: ~120 entries per demo org, whose
/// disbursements each draw on several donations, with an org key, a signed
/// acknowledgement, a dispute and a signed report each. (Below ~21 the demo fails: its
/// dispute then goes to a person's stipend, and persons state no key.)
const DEMO_DONATIONS: usize = 30;

/// Demo donations per org for the disconnect test: ~9,300 entries, an entries.csv of
/// ~5 MB, far more than the stream's channel (4 chunks of 64 KiB) holds.
const LARGE_DEMO_DONATIONS: usize = 3000;

/// A disbursement whose purpose a CSV writer must quote.
fn disbursement(id: &str, campaign: &str, beneficiary: &str, amount: i64) -> Value {
    let mut body = bodies::disbursement(id, campaign, beneficiary, amount);
    body["purpose"] = json!("Paid, as \"agreed\"");
    body
}

/// What the seed wrote that the tests select on.
struct Seeded {
    /// Every org with its campaigns.
    campaigns: Vec<(String, Vec<String>)>,
    /// The seq of alpha's first disbursement: before it, `meals` has disbursed nothing.
    x1_seq: u64,
    /// The first and last seq the demo wrote.
    demo_from: u64,
    demo_to: u64,
    alpha_token: String,
}

async fn post(app: &TestApp, token: &str, org: &str, path: &str, body: Value) -> u64 {
    app.org_create(token, org, path, &body).await["seq"]
        .as_u64()
        .unwrap()
}

/// A multi-org log: alpha (two EUR campaigns), the demo's three charities, then beta
/// (a GBP campaign also called `meals`), with alpha writing before, between and after.
/// Alpha's disbursement x1 draws on four donations (skipping one whose fee took it all),
/// there is a beneficiaries statement, and two corrections (one of two fields, one whose
/// text a spreadsheet would read as a formula).
async fn seed(app: &TestApp) -> Seeded {
    let alpha = app.new_org(ALPHA).await;
    for (id, kind) in [
        ("school", "organization"),
        ("ops", "overhead"),
        ("late", "person"),
        ("shop", "supplier"),
    ] {
        post(app, &alpha, ALPHA, "/beneficiaries", beneficiary(id, kind)).await;
    }
    post(
        app,
        &alpha,
        ALPHA,
        "/campaigns",
        json!({"id": "meals", "title": "School meals", "purpose": "Lunch, \"hot\", for pupils",
               "currency": "EUR", "beneficiaries": ["school", "ops"]}),
    )
    .await;
    let books = post(
        app,
        &alpha,
        ALPHA,
        "/campaigns",
        json!({"id": "books", "title": "Library books", "purpose": "Books for the library",
               "currency": "EUR", "beneficiaries": ["shop"]}),
    )
    .await;
    for (id, campaign, amount, fee) in [
        ("d1", "meals", 500, 25),
        ("b1", "books", 400, 0),
        ("d2", "meals", 300, 0),
        ("d3", "meals", 200, 10),
    ] {
        post(
            app,
            &alpha,
            ALPHA,
            "/donations",
            donation(id, campaign, amount, fee),
        )
        .await;
    }

    let demo_from = app.log_size().await;
    pennytrail::demo::seed(&app.base, &app.operator_token, DEMO_DONATIONS)
        .await
        .expect("demo seed");
    let demo_to = app.log_size().await;

    for (id, campaign, amount, fee) in [
        ("d4", "meals", 200, 200),
        ("b2", "books", 300, 0),
        ("d5", "meals", 1000, 30),
        ("d6", "meals", 150, 5),
        ("b3", "books", 100, 0),
    ] {
        post(
            app,
            &alpha,
            ALPHA,
            "/donations",
            donation(id, campaign, amount, fee),
        )
        .await;
    }
    // d1 475 + d2 300 + d3 190 + (d4 nets 0) + d5 535 of its 970.
    let x1_seq = post(
        app,
        &alpha,
        ALPHA,
        "/disbursements",
        disbursement("x1", "meals", "school", 1500),
    )
    .await;
    post(
        app,
        &alpha,
        ALPHA,
        "/campaigns/meals/beneficiaries",
        json!({"beneficiaries": ["late"]}),
    )
    .await;
    // d5 435 + d6 65.
    post(
        app,
        &alpha,
        ALPHA,
        "/disbursements",
        disbursement("x2", "meals", "late", 500),
    )
    .await;
    // b1 400 + b2 250.
    post(
        app,
        &alpha,
        ALPHA,
        "/disbursements",
        disbursement("y1", "books", "shop", 650),
    )
    .await;
    post(
        app,
        &alpha,
        ALPHA,
        "/corrections",
        json!({"id": "c1", "corrects": x1_seq, "fields": {"purpose": "=SUM(A1:A9)"}}),
    )
    .await;

    let beta = app.new_org(BETA).await;
    post(
        app,
        &beta,
        BETA,
        "/beneficiaries",
        beneficiary("school", "organization"),
    )
    .await;
    post(
        app,
        &beta,
        BETA,
        "/campaigns",
        json!({"id": "meals", "title": "Meals", "purpose": "Meals in Leeds",
               "currency": "GBP", "beneficiaries": ["school"]}),
    )
    .await;
    post(
        app,
        &beta,
        BETA,
        "/donations",
        donation("e1", "meals", 1000, 0),
    )
    .await;
    post(
        app,
        &alpha,
        ALPHA,
        "/donations",
        donation("d7", "meals", 80, 0),
    )
    .await;
    post(
        app,
        &beta,
        BETA,
        "/donations",
        donation("e2", "meals", 500, 0),
    )
    .await;
    post(
        app,
        &beta,
        BETA,
        "/disbursements",
        disbursement("z1", "meals", "school", 1200),
    )
    .await;
    post(
        app,
        &alpha,
        ALPHA,
        "/corrections",
        json!({"id": "c2", "corrects": books,
               "fields": {"title": "+Books, new", "purpose": "Books for the school library"}}),
    )
    .await;

    Seeded {
        campaigns: vec![
            (ALPHA.into(), vec!["meals".into(), "books".into()]),
            ("clean-water-ke".into(), vec!["wells-2026".into()]),
            ("school-meals-nl".into(), vec!["lunch-2026".into()]),
            ("winter-shelter-uk".into(), vec!["beds-2026".into()]),
            (BETA.into(), vec!["meals".into()]),
        ],
        x1_seq,
        demo_from,
        demo_to,
        alpha_token: alpha,
    }
}

/// A GET whose headers we need: status, a header's value, and the body.
async fn get_raw(app: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .expect("GET");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.expect("body").to_vec();
    (status, headers, body)
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// The cells of one CSV line.
fn cells(line: &[u8]) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line);
    let record = reader
        .records()
        .next()
        .expect("one record")
        .expect("valid CSV");
    record.iter().map(str::to_string).collect()
}

/// The data rows of a CSV (header dropped), as cells.
fn data_rows(bytes: &[u8]) -> Vec<Vec<String>> {
    bytes
        .split_inclusive(|b| *b == b'\n')
        .skip(1)
        .map(cells)
        .collect()
}

fn header_line(file: &str) -> Vec<u8> {
    let names = table(file).unwrap().header();
    format!("{}\n", names.join(",")).into_bytes()
}

/// (1) Every unfiltered CSV from the API is byte for byte the exported bundle's file at
/// the same size.
#[pennytrail_test(both_backends)]
async fn unfiltered_exports_equal_the_bundle(mut app: TestApp) {
    seed(&app).await;
    let size = app.log_size().await;
    let mut streamed = BTreeMap::new();
    for file in TABLES.iter().map(|t| t.file) {
        let (status, headers, body) = get_raw(&app, &format!("/v1/exports/{file}")).await;
        assert_eq!(status, 200, "{file}: {}", String::from_utf8_lossy(&body));
        assert_eq!(header(&headers, "content-type"), "text/csv; charset=utf-8");
        assert_eq!(header(&headers, "pennytrail-log-size"), size.to_string());
        streamed.insert(file, body);
    }
    app.stop_service().await;

    let store = pennytrail::store::open(&app.store_config()).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (dir, summary) = export_store(&store, None, Some(tmp.path().join("bundle")), |_, _| {})
        .await
        .unwrap();
    assert_eq!(summary.entries, size, "the bundle is at the header's size");
    for file in TABLES.iter().map(|t| t.file) {
        let bundled = std::fs::read(dir.join(file)).unwrap();
        assert!(
            bundled.len() > header_line(file).len(),
            "{file} of the seeded log has rows"
        );
        assert!(
            streamed[file] == bundled,
            "{file}: the API's ({} bytes) differs from the bundle's ({} bytes)",
            streamed[file].len(),
            bundled.len()
        );
    }
    // What the seed was meant to produce, so the comparison covers it.
    let flows: Vec<(String, String)> = data_rows(&streamed["flows.csv"])
        .into_iter()
        .filter(|r| r[0] == ALPHA && r[4] == "x1")
        .map(|r| (r[3].clone(), r[7].clone()))
        .collect();
    assert_eq!(
        flows,
        [("d1", "475"), ("d2", "300"), ("d3", "190"), ("d5", "535")]
            .map(|(d, a)| (d.to_string(), a.to_string()))
    );
    // Two corrections here (three fields) and the demo's typo fixed.
    assert_eq!(data_rows(&streamed["corrections.csv"]).len(), 4);
    assert_eq!(data_rows(&streamed["orgs.csv"]).len(), 5);
    drop(store);
    app.finish().await;
}

/// A row of a derived file with what the filters look at.
struct OracleRow {
    line: Vec<u8>,
    seq: u64,
    org: String,
    /// For entries.csv, the entry's `campaign` field; `None` in files without the column.
    campaign: Option<String>,
}

/// A derived file: its header line and rows.
struct OracleFile {
    header: Vec<u8>,
    rows: Vec<OracleRow>,
}

/// Where `name` is in the header of `file`.
fn column(file: &str, name: &str) -> Option<usize> {
    let names = table(file).unwrap().header();
    names.iter().position(|n| *n == name)
}

/// The seq each row of `file` belongs to (the filters' seq range applies to it), given
/// the seqs of the reports (`report_figures.csv` rows belong to their report's entry).
fn row_seq(file: &str, row: &[String], report_seqs: &HashMap<(String, String), u64>) -> u64 {
    let cell = |name: &str| {
        let at = column(file, name)
            .unwrap_or_else(|| panic!("the oracle does not know the seq of {file}'s rows"));
        &row[at]
    };
    match file {
        "flows.csv" => cell("disbursement_seq").parse().unwrap(),
        "stated_beneficiaries.csv" => cell("stated_seq").parse().unwrap(),
        "report_figures.csv" => report_seqs[&(cell("org").clone(), cell("report").clone())],
        _ => cell("seq").parse().unwrap(),
    }
}

fn oracle_file(
    file: &str,
    bytes: &[u8],
    report_seqs: &HashMap<(String, String), u64>,
) -> OracleFile {
    let mut lines = bytes.split_inclusive(|b| *b == b'\n');
    let header = lines.next().unwrap().to_vec();
    assert_eq!(header, header_line(file));
    let rows = lines
        .map(|line| {
            let row = cells(line);
            let campaign = if file == "entries.csv" {
                let entry: Value =
                    serde_json::from_str(&row[column(file, "entry").unwrap()]).unwrap();
                entry["campaign"].as_str().map(str::to_string)
            } else {
                column(file, "campaign").map(|c| row[c].clone())
            };
            OracleRow {
                line: line.to_vec(),
                seq: row_seq(file, &row, report_seqs),
                org: row[column(file, "org").expect("every file has an org column")].clone(),
                campaign,
            }
        })
        .collect();
    OracleFile { header, rows }
}

/// Every file the bundle derives from entries `[0, to)`.
fn derive_prefix(entries: &[(u64, Vec<u8>)], to: u64) -> BTreeMap<&'static str, OracleFile> {
    // The corrections among those entries, as a bundle of them applies them.
    let mut effective = pennytrail_bundle::effective::Effective::default();
    for (_, bytes) in &entries[..to as usize] {
        effective.note_entry(bytes);
    }
    let mut deriver = Deriver::new(ORIGIN, |_| Ok(Vec::new()))
        .unwrap()
        .with_effective(effective);
    for (_, bytes) in &entries[..to as usize] {
        deriver.push(bytes).unwrap();
    }
    let (sinks, summary) = deriver.finish().unwrap();
    assert_eq!(summary.entries, to);
    let files: BTreeMap<&'static str, Vec<u8>> = sinks.into_iter().collect();
    let report_seqs = data_rows(&files["reports.csv"])
        .into_iter()
        .map(|r| {
            let seq = row_seq("reports.csv", &r, &HashMap::new());
            let at = |name| column("reports.csv", name).unwrap();
            ((r[at("org")].clone(), r[at("report")].clone()), seq)
        })
        .collect();
    files
        .iter()
        .map(|(file, bytes)| (*file, oracle_file(file, bytes, &report_seqs)))
        .collect()
}

/// The oracle: the header and the rows of the derived file that the selection keeps,
/// and their count.
fn oracle(derived: &BTreeMap<&'static str, OracleFile>, selection: &Selection) -> (Vec<u8>, u64) {
    let file = &derived[selection.file];
    let mut out = file.header.clone();
    let mut rows = 0;
    for row in &file.rows {
        let kept = (selection.from..selection.to).contains(&row.seq)
            && selection.org.as_ref().is_none_or(|org| row.org == *org)
            && selection
                .campaign
                .as_ref()
                .is_none_or(|c| row.campaign.as_ref() == Some(c));
        if kept {
            out.extend_from_slice(&row.line);
            rows += 1;
        }
    }
    (out, rows)
}

/// Streams a selection in-process, concatenating the chunks.
async fn stream(store: &Store, selection: &Selection) -> Result<(Vec<u8>, u64), String> {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let rows = stream_csv(store, selection, |chunk| {
        assert!(!chunk.is_empty(), "no empty chunks");
        chunks.push(chunk);
        async { true }
    })
    .await
    .map_err(|e| format!("{selection:?}: {e}"))?;
    Ok((chunks.concat(), rows))
}

/// Streams `selection` at every page size and compares with the oracle's bytes.
async fn check_stream(
    store: Store,
    mut selection: Selection,
    pages: &'static [u64],
    want: Vec<u8>,
    want_rows: u64,
) -> Result<usize, String> {
    for &page in pages {
        selection.page = page;
        let (got, rows) = stream(&store, &selection).await?;
        if got != want {
            return Err(format!(
                "{selection:?}\n--- streamed ---\n{}\n--- oracle ---\n{}",
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want)
            ));
        }
        if rows != want_rows {
            return Err(format!("{selection:?}: {rows} rows, not {want_rows}"));
        }
    }
    Ok(pages.len())
}

/// A selection's range and filters, before a file is chosen, and the page sizes to
/// stream it with.
struct Slice {
    from: u64,
    to: u64,
    org: Option<String>,
    campaign: Option<String>,
    pages: &'static [u64],
}

/// In-process streams running at once.
const STREAMS_AT_ONCE: usize = 3;

/// Every page size: rows cross a page boundary after every row (1), every other row (2),
/// at irregular places (7), and never (the API's page).
const ALL_PAGES: &[u64] = &[1, 2, 7, STREAM_PAGE];

/// For the whole log: page 1 crosses every boundary there is; pages of 2 and 7 would
/// repeat, at hundreds of queries a file, what the slices below check.
const WHOLE_PAGES: &[u64] = &[1, STREAM_PAGE];

/// For other slices reading hundreds of entries: page 7 still cuts the demo's long
/// flows (dozens of donations per payout) at irregular places.
const SOME_PAGES: &[u64] = &[7, STREAM_PAGE];

fn slice(
    from: u64,
    to: u64,
    org: Option<&str>,
    campaign: Option<&str>,
    pages: &'static [u64],
) -> Slice {
    Slice {
        from,
        to,
        org: org.map(str::to_string),
        campaign: campaign.map(str::to_string),
        pages,
    }
}

/// (2) Streams over many slices of the log, in pages of 1, 2 and 7 rows, equal the
/// bundle derivation's rows filtered by the same slice.
#[pennytrail_test(both_backends)]
async fn streams_equal_the_filtered_derivation(mut app: TestApp) {
    let seeded = seed(&app).await;
    app.stop_service().await;
    let store = pennytrail::store::open(&app.store_config()).await.unwrap();
    let size = store.latest_checkpoint().await.unwrap().size;
    let entries = store.entries(0, size).await.unwrap();
    assert_eq!(entries.len() as u64, size);

    let (x1, mid) = (seeded.x1_seq, (seeded.demo_from + seeded.demo_to) / 2);
    let mut slices = vec![
        slice(0, size, None, None, WHOLE_PAGES),
        slice(0, 0, None, None, ALL_PAGES),
        slice(mid, mid, None, None, ALL_PAGES),
        slice(size, size, None, None, ALL_PAGES),
        slice(0, 1, None, None, ALL_PAGES),
        slice(mid, mid + 1, None, None, ALL_PAGES),
        slice(size - 1, size, None, None, ALL_PAGES),
        slice(x1, x1 + 3, None, None, ALL_PAGES),
        slice(x1, size, None, None, ALL_PAGES),
        slice(size / 3, 2 * size / 3, None, None, SOME_PAGES),
        slice(0, x1, None, None, SOME_PAGES),
    ];
    for (org, campaigns) in &seeded.campaigns {
        let org = Some(org.as_str());
        if org == Some(ALPHA) || org == Some(BETA) {
            // A few dozen entries each: every slice in every page size.
            for (from, to) in [(0, size), (mid, size), (0, x1), (x1, size)] {
                slices.push(slice(from, to, org, None, ALL_PAGES));
                for campaign in campaigns {
                    slices.push(slice(from, to, org, Some(campaign), ALL_PAGES));
                }
            }
        } else {
            // The demo's orgs, a hundred entries each, all before x1.
            slices.push(slice(0, size, org, None, SOME_PAGES));
            slices.push(slice(mid, size, org, None, &[STREAM_PAGE]));
            for campaign in campaigns {
                slices.push(slice(0, size, org, Some(campaign), SOME_PAGES));
                slices.push(slice(mid, size, org, Some(campaign), &[STREAM_PAGE]));
            }
        }
    }
    slices.push(slice(
        0,
        size,
        Some(ALPHA),
        Some("no-such-campaign"),
        ALL_PAGES,
    ));
    slices.push(slice(0, size, Some("no-such-org"), None, ALL_PAGES));

    let ends: BTreeSet<u64> = slices.iter().map(|s| s.to).collect();
    let derived: BTreeMap<u64, _> = ends
        .into_iter()
        .map(|to| (to, derive_prefix(&entries, to)))
        .collect();

    // Not a tautology: the whole log has rows in every file, alpha's meals totals at x1
    // differ from the final ones, and x1's flows span more than one page of 2.
    let rows = |to: u64, file: &str| -> Vec<Vec<String>> {
        derived[&to][file]
            .rows
            .iter()
            .map(|r| cells(&r.line))
            .collect()
    };
    for file in TABLES.iter().map(|t| t.file) {
        assert!(rows(size, file).len() > 1, "{file}");
    }
    let meals = |to: u64| {
        rows(to, "campaigns.csv")
            .into_iter()
            .find(|r| r[0] == ALPHA && r[1] == "meals")
            .unwrap()
    };
    let disbursed = pennytrail_bundle::tables::table("campaigns.csv")
        .unwrap()
        .header()
        .iter()
        .position(|c| *c == "disbursed")
        .unwrap();
    assert_eq!(meals(x1)[disbursed], "0", "nothing disbursed before x1");
    assert_eq!(meals(size)[disbursed], "2000");
    let x1_flows = rows(size, "flows.csv")
        .into_iter()
        .filter(|r| r[0] == ALPHA && r[4] == "x1")
        .count();
    assert_eq!(x1_flows, 4);

    // Streams run a few at a time (PostgreSQL answers on other cores); every failing
    // selection is listed, the first in full.
    let started = Instant::now();
    let running = Arc::new(Semaphore::new(STREAMS_AT_ONCE));
    let mut jobs = JoinSet::new();
    let mut nonempty = 0;
    for s in &slices {
        for file in TABLES.iter().map(|t| t.file) {
            if s.campaign.is_some() && !CAMPAIGN_FILES.contains(&file) {
                continue;
            }
            let selection = Selection {
                file,
                from: s.from,
                to: s.to,
                org: s.org.clone(),
                campaign: s.campaign.clone(),
                page: STREAM_PAGE,
            };
            let (want, want_rows) = oracle(&derived[&s.to], &selection);
            nonempty += usize::from(want_rows > 0);
            // campaigns.csv replays every entry below `to` whatever `from` is: pages of 1
            // and 2 there are for the whole log and the small orgs only.
            let pages = if file == "campaigns.csv" && s.org.is_none() && s.from > 0 {
                SOME_PAGES
            } else {
                s.pages
            };
            let (store, running) = (store.clone(), running.clone());
            jobs.spawn(async move {
                let _slot = running.acquire_owned().await.unwrap();
                check_stream(store, selection, pages, want, want_rows).await
            });
        }
    }
    let (mut streams, mut failures) = (0, Vec::new());
    while let Some(done) = jobs.join_next().await {
        match done.unwrap() {
            Ok(n) => streams += n,
            Err(failure) => failures.push(failure),
        }
    }
    note!(
        "{streams} streams of {} slices ({nonempty} file selections with rows) in {:?}",
        slices.len(),
        started.elapsed()
    );

    // A receiver that stops listening after the first chunk stops the stream there.
    let whole = Selection {
        file: "entries.csv",
        from: 0,
        to: size,
        org: None,
        campaign: None,
        page: STREAM_PAGE,
    };
    let mut chunks = 0;
    let stopped = stream_csv(&store, &whole, |_| {
        chunks += 1;
        async { false }
    })
    .await;
    assert!(matches!(stopped, Err(SelectError::Closed)), "{stopped:?}");
    assert_eq!(chunks, 1);

    failures.sort();
    assert!(
        failures.is_empty(),
        "{} selections differ from the oracle:\n{}\n\nthe first in full:\n{}",
        failures.len(),
        failures
            .iter()
            .map(|f| f.lines().next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n"),
        failures[0]
    );
    assert!(nonempty > 150, "most selections keep rows: {nonempty}");

    drop(store);
    app.finish().await;
}

/// (3) Bad queries are problems naming the parameter; a filter matching nothing is the
/// header alone.
#[pennytrail_test]
async fn bad_queries_are_refused_naming_the_parameter() {
    let app = TestApp::start(Backend::Sqlite).await;
    let token = app.new_org(ALPHA).await;
    post(
        &app,
        &token,
        ALPHA,
        "/beneficiaries",
        beneficiary("school", "organization"),
    )
    .await;
    post(
        &app,
        &token,
        ALPHA,
        "/campaigns",
        json!({"id": "meals", "title": "Meals", "purpose": "Lunch", "currency": "EUR",
               "beneficiaries": ["school"]}),
    )
    .await;
    post(
        &app,
        &token,
        ALPHA,
        "/donations",
        donation("d1", "meals", 100, 1),
    )
    .await;
    let size = app.log_size().await;
    assert_eq!(size, 4);

    let cases: Vec<(String, u16, Option<&str>)> = vec![
        ("/v1/exports/nope.csv".into(), 404, Some("file")),
        ("/v1/exports/nope.csv?from=x".into(), 404, Some("file")),
        ("/v1/exports/ENTRIES.CSV".into(), 404, Some("file")),
        (
            format!("/v1/exports/entries.csv?to={}", size + 1),
            400,
            Some("to"),
        ),
        (
            format!("/v1/exports/flows.csv?from=0&to={}", u64::MAX),
            400,
            Some("to"),
        ),
        (
            "/v1/exports/entries.csv?from=3&to=2".into(),
            400,
            Some("from"),
        ),
        (
            format!("/v1/exports/donations.csv?from={}", size + 1),
            400,
            Some("from"),
        ),
        (
            "/v1/exports/donations.csv?campaign=meals".into(),
            400,
            Some("campaign"),
        ),
        (
            format!("/v1/exports/orgs.csv?org={ALPHA}&campaign=meals"),
            400,
            Some("campaign"),
        ),
        (
            format!("/v1/exports/corrections.csv?org={ALPHA}&campaign=meals"),
            400,
            Some("campaign"),
        ),
        ("/v1/exports/entries.csv?org=%20x".into(), 400, Some("org")),
        (
            format!("/v1/exports/entries.csv?org={ALPHA}&campaign=-x"),
            400,
            Some("campaign"),
        ),
        ("/v1/exports/entries.csv?bogus=1".into(), 400, Some("bogus")),
        ("/v1/exports/bundle.tar?from=0".into(), 400, Some("from")),
        ("/v1/exports/entries.csv?from=abc".into(), 400, Some("from")),
        ("/v1/exports/entries.csv?from=-1".into(), 400, Some("from")),
        ("/v1/exports/entries.csv?from=01".into(), 400, Some("from")),
        ("/v1/exports/entries.csv?to=1.5".into(), 400, Some("to")),
        (
            "/v1/exports/entries.csv?from=1&from=2".into(),
            400,
            Some("from"),
        ),
        // A well-formed org that is not registered names nothing: 404, not an empty file.
        ("/v1/exports/donations.csv?org=nobody".into(), 404, None),
    ];
    for (path, status, field) in &cases {
        let answer = app.get(path).await;
        let problem = answer.assert_problem(*status, *field);
        note!("{path} → {status} {}", problem["detail"]);
    }

    // Filters that match nothing: the header line alone.
    let empty = [
        ("entries.csv", format!("from={size}")),
        ("entries.csv", "from=2&to=2".to_string()),
        ("donations.csv", format!("org={ALPHA}&campaign=nothing")),
        ("flows.csv", String::new()),
        ("campaigns.csv", "from=3".to_string()),
        ("orgs.csv", "from=1".to_string()),
    ];
    for (file, query) in &empty {
        let (status, headers, body) = get_raw(&app, &format!("/v1/exports/{file}?{query}")).await;
        assert_eq!(status, 200, "{file}?{query}");
        assert_eq!(header(&headers, "content-type"), "text/csv; charset=utf-8");
        assert_eq!(
            String::from_utf8(body).unwrap(),
            String::from_utf8(header_line(file)).unwrap(),
            "{file}?{query}"
        );
    }
    // And the same filters do select when there is something to select: the campaign's
    // opening (seq 2) and its donation (seq 3), in every campaign file.
    for (file, seqs) in [
        ("donations.csv", vec!["3"]),
        ("campaigns.csv", vec!["2"]),
        ("stated_beneficiaries.csv", vec!["2"]),
        ("entries.csv", vec!["2", "3"]),
    ] {
        let response = app
            .client
            .get(format!(
                "{}/v1/exports/{file}?org={ALPHA}&campaign=meals",
                app.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{file}");
        let body = response
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{file}?org={ALPHA}&campaign=meals is cut off: {e:?}"));
        let names = cells(&header_line(file));
        let seq = names
            .iter()
            .position(|n| n == "seq" || n == "stated_seq")
            .unwrap();
        let got: Vec<String> = data_rows(&body)
            .into_iter()
            .map(|r| r[seq].clone())
            .collect();
        assert_eq!(got, seqs, "{file}");
    }
    app.finish().await;
}

/// Untars an archive into `into`, returning its only top-level folder.
fn untar(bytes: &[u8], into: &Path) -> PathBuf {
    tar::Archive::new(bytes).unpack(into).unwrap();
    let top: Vec<PathBuf> = std::fs::read_dir(into)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(top.len(), 1, "one top folder: {top:?}");
    assert!(top[0].is_dir());
    top[0].clone()
}

/// GETs the archive; returns its size header and bytes.
async fn get_archive(app: &TestApp) -> (u64, Vec<u8>) {
    let (status, headers, body) = get_raw(app, "/v1/exports/bundle.tar").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(header(&headers, "content-type"), "application/x-tar");
    assert_eq!(header(&headers, "content-length"), body.len().to_string());
    let size = header(&headers, "pennytrail-log-size").parse().unwrap();
    (size, body)
}

/// Untars and verifies an archive of `size` entries, returning its folder.
fn verify_archive(app: &TestApp, bytes: &[u8], size: u64, into: &Path) -> PathBuf {
    let dir = untar(bytes, into);
    let report = verify_bundle(&dir, &app.verifier, Some(size), |_, _| {})
        .unwrap_or_else(|e| panic!("the archive does not verify: {e}"));
    assert_eq!(report.checkpoint.size, size);
    assert_eq!(report.summary.entries, size);
    dir
}

/// (4) The archive verifies at the header's size, is built once per size, and grows with
/// the log.
#[pennytrail_test(both_backends)]
async fn the_archive_verifies_and_follows_the_log(app: TestApp) {
    let seeded = seed(&app).await;
    let size = app.log_size().await;
    let tmp = tempfile::tempdir().unwrap();

    let (first_size, first) = get_archive(&app).await;
    assert_eq!(first_size, size);
    let dir = verify_archive(&app, &first, size, &tmp.path().join("first"));
    // The archive's CSVs are the streamed ones.
    for file in ["entries.csv", "flows.csv", "campaigns.csv"] {
        let streamed = app.get(&format!("/v1/exports/{file}")).await;
        assert_eq!(streamed.status, 200);
        assert!(
            streamed.body == std::fs::read(dir.join(file)).unwrap(),
            "{file}"
        );
    }

    let (second_size, second) = get_archive(&app).await;
    assert_eq!(second_size, size);
    assert!(
        second == first,
        "the same archive while the log stands still"
    );

    post(
        &app,
        &seeded.alpha_token,
        ALPHA,
        "/donations",
        donation("d8", "meals", 120, 2),
    )
    .await;
    let (third_size, third) = get_archive(&app).await;
    assert_eq!(third_size, size + 1);
    assert!(third != first);
    let dir = verify_archive(&app, &third, size + 1, &tmp.path().join("third"));
    let donations = std::fs::read(dir.join("donations.csv")).unwrap();
    assert!(
        data_rows(&donations)
            .iter()
            .any(|r| r[0] == ALPHA && r[1] == "d8"),
        "the new donation is in the new archive"
    );
    app.finish().await;
}

/// (5) Clients that hang up after the first chunk of a large stream (more of them than
/// exports may run at once) leave the service whole: reads, writes and exports go on.
#[pennytrail_test]
async fn clients_that_disconnect_mid_stream_do_not_break_the_service() {
    let app = TestApp::start(Backend::Sqlite).await;
    pennytrail::demo::seed(&app.base, &app.operator_token, LARGE_DEMO_DONATIONS)
        .await
        .expect("demo seed");
    let size = app.log_size().await;
    let url = format!("{}/v1/exports/entries.csv", app.base);

    for _ in 0..=MAX_CONCURRENT_EXPORTS {
        let mut response = app.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let first = response.chunk().await.unwrap().expect("a first chunk");
        assert!(first.starts_with(&header_line("entries.csv")));
        drop(response);
    }

    // The log still serves reads and takes writes.
    assert_eq!(app.get("/healthz").await.status, 200);
    app.new_org("after-the-hangups").await;
    assert_eq!(app.log_size().await, size + 1);

    // Exports: the hung-up streams must give back their slots (at once or nearly).
    let started = Instant::now();
    let mut busy = 0;
    let full = loop {
        let answer = app.get("/v1/exports/entries.csv").await;
        if answer.status != 503 || started.elapsed() > Duration::from_secs(10) {
            break answer;
        }
        busy += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    note!(
        "a full export after {busy} busy answers, in {:?}",
        started.elapsed()
    );
    assert_eq!(full.status, 200, "{}", full.text());
    let rows = data_rows(&full.body);
    assert_eq!(
        rows.len() as u64,
        size + 1,
        "every entry, the new one included"
    );
    assert_eq!(rows.last().unwrap()[0], size.to_string());
    assert!(
        full.body.len() > 4 * 1024 * 1024,
        "{} bytes",
        full.body.len()
    );

    // Exports at full concurrency still work: no slot was leaked.
    let mut handles = Vec::new();
    for _ in 0..MAX_CONCURRENT_EXPORTS {
        let (client, url) = (app.client.clone(), url.clone());
        handles.push(tokio::spawn(async move {
            let response = client.get(&url).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.bytes().await.unwrap().len())
        }));
    }
    for handle in handles {
        assert_eq!(handle.await.unwrap(), (200, full.body.len()));
    }
    app.finish().await;
}

/// `pennytrail export --url` downloads the running service's bundle into a folder that
/// verifies against the pinned key; it never overwrites a folder, and names an
/// unreachable service.
#[pennytrail_test]
async fn export_from_a_url_downloads_a_verifying_bundle() {
    let app = TestApp::start(Backend::Sqlite).await;
    let token = app.new_org("url-org").await;
    app.org_create(
        &token,
        "url-org",
        "/beneficiaries",
        &json!({"id": "b1", "label": "Kitchen", "kind": "supplier", "country": "DE"}),
    )
    .await;
    let size = app.log_size().await;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("downloaded");
    let run = |args: Vec<String>| {
        std::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"))
            .args(args)
            .output()
            .expect("run pennytrail")
    };
    let args = vec![
        "export".to_string(),
        "--url".to_string(),
        app.base.clone(),
        "--out".to_string(),
        out.display().to_string(),
    ];
    let first = run(args.clone());
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let report = verify_bundle(&out, &app.verifier, Some(size), |_, _| {}).expect("verifies");
    assert_eq!(report.checkpoint.size, size);
    // An existing folder is never overwritten, and no temporary folder is left behind.
    let again = run(args);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(leftovers, vec!["downloaded".to_string()]);
    // An unreachable service is named.
    let down = run(vec![
        "export".into(),
        "--url".into(),
        "http://127.0.0.1:9".into(),
        "--out".into(),
        tmp.path().join("never").display().to_string(),
    ]);
    assert!(!down.status.success());
    assert!(String::from_utf8_lossy(&down.stderr).contains("127.0.0.1:9"));
    app.finish().await;
}
