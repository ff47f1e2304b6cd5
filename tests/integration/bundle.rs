//! Export bundles against a forger: a real bundle exported from a store verifies; every
//! single-bit flip of every byte of every file is refused (also when the forger fixes
//! the hashes in datapackage.json); row edits, truncation with an older checkpoint,
//! foreign signatures and wrong keys are refused and located; and logs signed with the
//! real key that break a money rule are refused naming the rule, file and row.

use crate::support::{
    Backend, Bundle, ORIGIN, Org, SEEDED_ORG_ENTRIES, TestApp, bodies, pennytrail_test,
    read_bundle, rehashed_datapackage, write_bundle,
};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use pennytrail::export::export_store;
use pennytrail::log::checkpoint::Checkpoint;
use pennytrail::log::entry::{ChainHead, EntryHeader, parse, seal};
use pennytrail::log::hash::leaf_hash;
use pennytrail::log::merkle::Frontier;
use pennytrail::log::note::{NoteSigner, NoteVerifier};
use pennytrail::log::time::UnixMillis;
use pennytrail_bundle::csv_out::{Cell, CsvOut};
use pennytrail_bundle::derive::Deriver;
use pennytrail_bundle::tables::TABLES;
use pennytrail_bundle::verify::{VerifyError, VerifyReport, verify_bundle};
use pennytrail_bundle::{CHECKPOINT_FILE, DATAPACKAGE_FILE, README_FILE, package};
use serde_json::{Value, json};

const ORG: &str = "helping-hands";
/// The formula-like text the correction sets, to see neutralisation in corrections.csv.
const FORMULA_PURPOSE: &str = "=SUM(A1:A9)";

fn verify(dir: &Path, verifier: &NoteVerifier) -> Result<VerifyReport, VerifyError> {
    verify_bundle(dir, verifier, None, |_, _| {})
}

/// Writes `bundle` to a fresh folder and verifies it.
fn verify_in_memory(bundle: &Bundle, verifier: &NoteVerifier) -> Result<VerifyReport, VerifyError> {
    let tmp = tempfile::tempdir().unwrap();
    write_bundle(tmp.path(), bundle);
    verify(tmp.path(), verifier)
}

/// What a forger does after editing files: makes datapackage.json agree with them.
fn rehash(bundle: &mut Bundle) {
    let package = rehashed_datapackage(bundle);
    bundle.insert(DATAPACKAGE_FILE.to_string(), package);
}

/// Copies `bundle`, applies `edit`, recomputes the hashes and verifies.
fn forge(
    bundle: &Bundle,
    verifier: &NoteVerifier,
    edit: impl FnOnce(&mut Bundle),
) -> Result<VerifyReport, VerifyError> {
    let mut forged = bundle.clone();
    edit(&mut forged);
    rehash(&mut forged);
    verify_in_memory(&forged, verifier)
}

/// The lines of a bundle file (rows never contain raw newlines), each with its '\n'.
fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// Parses a bundle CSV (header included) into records.
fn records(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// Writes records back exactly as the exporter writes CSVs.
fn unrecords(records: &[Vec<String>]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    for record in records {
        writer.write_record(record).unwrap();
    }
    writer.into_inner().unwrap()
}

/// Replaces one cell (data row `row`, 1-based after the header) of a bundle CSV.
fn edit_cell(bytes: &[u8], row: usize, column: &str, edit: impl FnOnce(&str) -> String) -> Vec<u8> {
    let mut recs = records(bytes);
    assert_eq!(unrecords(&recs), bytes, "CSV round trip must be exact");
    let index = recs[0].iter().position(|c| c == column).expect("column");
    recs[row][index] = edit(&recs[row][index]);
    unrecords(&recs)
}

/// A small log: the seeded org (3 beneficiaries, one overhead, one never stated; a EUR
/// campaign), 6 donations (one with fee == amount, one with a donor_ref), 3 disbursements
/// and a correction whose text starts with '='. 15 entries.
async fn seed(app: &TestApp) -> Org {
    let org = app.seeded_org(ORG).await;
    app.post_donation(&org, "d1", "meals", 500, 25).await;
    let mut with_donor_ref = bodies::donation("d2", "meals", 300, 0);
    with_donor_ref["currency"] = json!("EUR");
    with_donor_ref["channel"] = json!("sms");
    with_donor_ref["donor_ref"] = json!("Ann@Example.org");
    app.org_create(&org.token, ORG, "/donations", &with_donor_ref)
        .await;
    // The whole gift went to the processor: net 0, it funds nothing.
    app.post_donation(&org, "d3", "meals", 200, 200).await;
    app.post_donation(&org, "d4", "meals", 1000, 30).await;
    app.post_donation(&org, "d5", "meals", 150, 5).await;
    app.post_donation(&org, "d6", "meals", 75, 0).await;
    let x1 = app
        .post_disbursement(&org, "x1", "meals", "school", 600)
        .await;
    app.post_disbursement(&org, "x2", "meals", "ops", 100).await;
    app.post_disbursement(&org, "x3", "meals", "school", 900)
        .await;
    app.org_create(
        &org.token,
        ORG,
        "/corrections",
        &json!({"id": "c1", "corrects": x1["seq"], "fields": {"purpose": FORMULA_PURPOSE}}),
    )
    .await;
    org
}

/// The seeded org, 6 donations, 3 disbursements and a correction.
const SEEDED_ENTRIES: u64 = SEEDED_ORG_ENTRIES + 10;

/// Exports the (stopped) app's store into `out`.
async fn export_to(app: &TestApp, out: PathBuf) -> PathBuf {
    let store = pennytrail::store::open(&app.store_config()).await.unwrap();
    let (dir, summary) = export_store(&store, None, Some(out), |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        summary.entries,
        store.latest_checkpoint().await.unwrap().size
    );
    dir
}

/// A seeded, stopped app and its exported bundle.
async fn seeded_bundle() -> (TestApp, tempfile::TempDir, PathBuf) {
    let mut app = TestApp::start(Backend::Sqlite).await;
    seed(&app).await;
    assert_eq!(app.log_size().await, SEEDED_ENTRIES);
    app.stop_service().await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = export_to(&app, tmp.path().join("bundle")).await;
    (app, tmp, dir)
}

#[pennytrail_test]
async fn an_exported_bundle_verifies_and_min_size_refuses_a_bigger_claim() {
    let (app, _tmp, dir) = seeded_bundle().await;
    let bundle = read_bundle(&dir);
    let mut names: Vec<&str> = TABLES.iter().map(|t| t.file).collect();
    names.extend([CHECKPOINT_FILE, DATAPACKAGE_FILE, README_FILE]);
    names.sort_unstable();
    assert_eq!(
        bundle.keys().map(String::as_str).collect::<Vec<_>>(),
        names,
        "exactly the bundle's files"
    );

    let report = verify(&dir, &app.verifier).expect("the exported bundle verifies");
    assert_eq!(report.checkpoint.size, SEEDED_ENTRIES);
    assert_eq!(report.checkpoint.origin, ORIGIN);
    assert_eq!(
        (
            report.summary.orgs,
            report.summary.campaigns,
            report.summary.donations,
            report.summary.disbursements
        ),
        (1, 1, 6, 3)
    );
    let eur = &report.summary.by_currency["EUR"];
    assert_eq!(
        (eur.received, eur.fees, eur.net, eur.disbursed),
        (2225, 260, 1965, 1600)
    );
    assert_eq!(eur.by_kind["overhead"], 100);
    assert_eq!(eur.by_kind["organization"], 1500);

    // What the files show: neutralised formula text, the fee-only gift, the commitment.
    let corrections = String::from_utf8(bundle["corrections.csv"].clone()).unwrap();
    assert!(
        corrections.contains(&format!(",purpose,'{FORMULA_PURPOSE},")),
        "{corrections}"
    );
    let donations = records(&bundle["donations.csv"]);
    assert_eq!(donations.len(), 7);
    assert_eq!(
        donations[3][1..8],
        ["d3", "meals", "EUR", "200", "200", "0", "775"].map(String::from)
    );
    assert_eq!(donations[2][9].len(), 64, "d2 has a donor commitment");
    assert!(donations[1][9].is_empty());
    assert!(!bundle.values().any(|f| {
        f.windows(11)
            .any(|w| w.eq_ignore_ascii_case(b"ann@example"))
    }));
    let flows: Vec<(String, String, String)> = records(&bundle["flows.csv"])[1..]
        .iter()
        .map(|r| (r[3].clone(), r[4].clone(), r[7].clone()))
        .collect();
    let expected = [
        ("d1", "x1", "475"),
        ("d2", "x1", "125"),
        ("d2", "x2", "100"),
        ("d2", "x3", "75"),
        ("d4", "x3", "825"),
    ];
    assert_eq!(
        flows,
        expected.map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    );

    // --min-size: the size itself passes, one more is an old or truncated bundle.
    verify_bundle(&dir, &app.verifier, Some(SEEDED_ENTRIES), |_, _| {}).expect("min-size = size");
    let err = verify_bundle(&dir, &app.verifier, Some(SEEDED_ENTRIES + 1), |_, _| {}).unwrap_err();
    assert_eq!(err.file, CHECKPOINT_FILE, "{err}");
    assert!(err.message.contains("fewer than --min-size"), "{err}");

    // The forger's tool is exact: recomputing unchanged hashes changes nothing.
    assert_eq!(rehashed_datapackage(&bundle), bundle[DATAPACKAGE_FILE]);
}

/// Which check caught a mutation: the file named and the message's first word (with the
/// rule name for rule violations).
fn classify(e: &VerifyError) -> String {
    let mut words = e.message.split_whitespace();
    let first = words.next().unwrap_or("");
    let first = if first == "rule" {
        format!("rule {}", words.next().unwrap_or("").trim_end_matches(':'))
    } else {
        first.to_string()
    };
    format!("{}: {}", e.file, first)
}

#[derive(Default)]
struct Tally {
    tried: usize,
    caught: BTreeMap<String, usize>,
    /// (file, offset, original byte) of flips that verified.
    uncaught: Vec<(String, usize, u8)>,
}

/// Flips bit 0 of every byte of every file in `files`, one at a time, and verifies each
/// result; with `forger`, datapackage.json is first made to agree with the flipped file.
fn flip_every_byte(
    original: &Bundle,
    files: &[&str],
    forger: bool,
    verifier: &NoteVerifier,
) -> Tally {
    let jobs: Vec<(&str, usize)> = files
        .iter()
        .flat_map(|f| (0..original[*f].len()).map(move |i| (*f, i)))
        .collect();
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    let parts: Vec<Tally> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let jobs = &jobs;
                s.spawn(move || {
                    let tmp = tempfile::tempdir().unwrap();
                    let dir = tmp.path();
                    write_bundle(dir, original);
                    let mut tally = Tally::default();
                    let mut work = original.clone();
                    for &(file, offset) in jobs.iter().skip(t).step_by(threads) {
                        let bytes = work.get_mut(file).unwrap();
                        bytes[offset] ^= 0x01;
                        fs::write(dir.join(file), &work[file]).unwrap();
                        if forger {
                            fs::write(dir.join(DATAPACKAGE_FILE), rehashed_datapackage(&work))
                                .unwrap();
                        }
                        tally.tried += 1;
                        match verify(dir, verifier) {
                            Ok(_) => tally.uncaught.push((
                                file.to_string(),
                                offset,
                                original[file][offset],
                            )),
                            Err(e) => *tally.caught.entry(classify(&e)).or_default() += 1,
                        }
                        work.get_mut(file).unwrap()[offset] ^= 0x01;
                        fs::write(dir.join(file), &original[file]).unwrap();
                        if forger {
                            fs::write(dir.join(DATAPACKAGE_FILE), &original[DATAPACKAGE_FILE])
                                .unwrap();
                        }
                    }
                    tally
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut total = Tally::default();
    for part in parts {
        total.tried += part.tried;
        for (k, v) in part.caught {
            *total.caught.entry(k).or_default() += v;
        }
        total.uncaught.extend(part.uncaught);
    }
    total.uncaught.sort();
    total
}

fn report(title: &str, tally: &Tally) {
    note!(
        "{title}: {} mutations tried, {} caught, {} NOT caught",
        tally.tried,
        tally.tried - tally.uncaught.len(),
        tally.uncaught.len()
    );
    for (class, count) in &tally.caught {
        note!("  {count:>6}  {class}");
    }
    for (file, offset, byte) in &tally.uncaught {
        note!(
            "  NOT CAUGHT: {file} offset {offset} byte {byte:#04x} ({:?})",
            *byte as char
        );
    }
}

#[pennytrail_test]
async fn every_single_bit_flip_of_every_byte_is_refused() {
    let (app, _tmp, dir) = seeded_bundle().await;
    let bundle = read_bundle(&dir);
    verify(&dir, &app.verifier).expect("the original verifies");
    let sizes: Vec<String> = bundle
        .iter()
        .map(|(n, b)| format!("{n} {}", b.len()))
        .collect();
    note!("bundle files: {}", sizes.join(", "));

    // (a) Plain flips anywhere.
    let all: Vec<&str> = bundle.keys().map(String::as_str).collect();
    let started = std::time::Instant::now();
    let plain = flip_every_byte(&bundle, &all, false, &app.verifier);
    report(
        &format!("(a) plain flips, {:.1?}", started.elapsed()),
        &plain,
    );
    let total: usize = bundle.values().map(Vec::len).sum();
    assert_eq!(plain.tried, total);

    // (b) The forger fixes datapackage.json's bytes and hash for the flipped file, so the
    // hash check passes and the deeper checks must catch every flip.
    let forged_files: Vec<&str> = all
        .iter()
        .copied()
        .filter(|f| *f != DATAPACKAGE_FILE)
        .collect();
    let started = std::time::Instant::now();
    let forged = flip_every_byte(&bundle, &forged_files, true, &app.verifier);
    report(
        &format!(
            "(b) forger flips (hashes recomputed), {:.1?}",
            started.elapsed()
        ),
        &forged,
    );
    assert_eq!(forged.tried, total - bundle[DATAPACKAGE_FILE].len());
    let by_hash: usize = forged
        .caught
        .iter()
        .filter(|(class, _)| class.ends_with(": SHA-256") || class.ends_with(": is"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(
        by_hash, 0,
        "the forger's recomputed hashes must pass the hash check"
    );

    assert!(
        plain.uncaught.is_empty(),
        "plain flips that verified: {:?}",
        plain.uncaught
    );
    assert!(
        forged.uncaught.is_empty(),
        "forger flips that verified: {:?}",
        forged.uncaught
    );
}

/// The refusals a test expects, checked one by one: a forgery that verifies or an error
/// that names the wrong place is recorded, so one fault does not hide the others, and
/// the test fails at the end listing them all.
#[derive(Default)]
struct Findings(Vec<String>);

impl Findings {
    /// Expects a refusal naming `file`, `row` and `field`, with `says` in its message.
    fn located(
        &mut self,
        what: &str,
        result: Result<VerifyReport, VerifyError>,
        file: &str,
        row: Option<u64>,
        field: Option<&str>,
        says: &str,
    ) -> Option<VerifyError> {
        let err = self.refused(what, result)?;
        if err.file != file
            || err.row != row
            || err.field.as_deref() != field
            || !err.message.contains(says)
        {
            self.0.push(format!(
                "{what}: expected {file}, row {row:?}, field {field:?}, message with {says:?}; got {err}"
            ));
        }
        Some(err)
    }

    /// Expects any refusal.
    fn refused(
        &mut self,
        what: &str,
        result: Result<VerifyReport, VerifyError>,
    ) -> Option<VerifyError> {
        match result {
            Ok(_) => {
                self.0
                    .push(format!("{what}: VERIFIED, but must be refused"));
                None
            }
            Err(err) => {
                note!("{what}: refused: {err}");
                Some(err)
            }
        }
    }

    fn check(&mut self, what: &str, ok: bool, detail: impl std::fmt::Display) {
        if !ok {
            self.0.push(format!("{what}: {detail}"));
        }
    }

    fn assert_none(self) {
        assert!(
            self.0.is_empty(),
            "{} problem(s):\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

#[pennytrail_test]
async fn forged_edits_are_refused_and_located() {
    let mut app = TestApp::start(Backend::Sqlite).await;
    let org = seed(&app).await;
    app.stop_service().await;
    let tmp = tempfile::tempdir().unwrap();
    let old_dir = export_to(&app, tmp.path().join("old")).await;
    app.restart().await;
    app.post_donation(&org, "d7", "meals", 400, 0).await;
    app.post_disbursement(&org, "x4", "meals", "ops", 50).await;
    app.stop_service().await;
    let dir = export_to(&app, tmp.path().join("new")).await;
    let (old, bundle) = (read_bundle(&old_dir), read_bundle(&dir));
    let size = SEEDED_ENTRIES + 2;
    let v = &app.verifier;
    verify(&old_dir, v).expect("the old bundle verifies");
    verify(&dir, v).expect("the new bundle verifies");
    // rows[0] is the header; data row r (rows[r]) is entry r - 1.
    let rows = lines(&bundle["entries.csv"]);
    assert_eq!(rows.len() as u64, size + 1);
    let with_rows = |rows: Vec<Vec<u8>>| {
        move |b: &mut Bundle| {
            b.insert("entries.csv".into(), rows.concat());
        }
    };
    let mut f = Findings::default();

    // entries.csv rows. Row 8 is entry 7 (donation d3).
    let mut r = rows.clone();
    r.remove(8);
    f.located(
        "entries.csv row 8 deleted",
        forge(&bundle, v, with_rows(r)),
        "entries.csv",
        Some(8),
        Some("entry"),
        "entry has seq 8, expected 7",
    );
    let mut r = rows.clone();
    r.insert(9, rows[8].clone());
    f.located(
        "entries.csv row 8 duplicated",
        forge(&bundle, v, with_rows(r)),
        "entries.csv",
        Some(9),
        Some("entry"),
        "entry has seq 7, expected 8",
    );
    let mut r = rows.clone();
    r.swap(8, 9);
    f.located(
        "entries.csv rows 8 and 9 swapped",
        forge(&bundle, v, with_rows(r)),
        "entries.csv",
        Some(8),
        Some("entry"),
        "entry has seq 8, expected 7",
    );
    let mut r = rows.clone();
    r.push(rows[rows.len() - 1].clone());
    f.located(
        "entries.csv last row duplicated",
        forge(&bundle, v, with_rows(r)),
        "entries.csv",
        Some(size + 1),
        None,
        "more rows than the signed checkpoint",
    );
    f.located(
        "entries.csv row 5 leaf_hash edited (entry untouched)",
        forge(&bundle, v, |b| {
            let edited = edit_cell(&b["entries.csv"], 5, "leaf_hash", |h| {
                format!("{}{}", if h.starts_with('0') { '1' } else { '0' }, &h[1..])
            });
            b.insert("entries.csv".into(), edited);
        }),
        "entries.csv",
        Some(5),
        Some("leaf_hash"),
        "differs from what the entries imply",
    );

    // Derived files: an amount in donations.csv (d4) and in flows.csv (d2 → x1), a row
    // deleted from disbursements.csv (x2).
    f.located(
        "donations.csv row 4 amount 1000 -> 1001",
        forge(&bundle, v, |b| {
            let edited = edit_cell(&b["donations.csv"], 4, "amount", |a| {
                assert_eq!(a, "1000");
                "1001".into()
            });
            b.insert("donations.csv".into(), edited);
        }),
        "donations.csv",
        Some(4),
        Some("amount"),
        "differs from what the entries imply",
    );
    f.located(
        "flows.csv row 2 amount 125 -> 126",
        forge(&bundle, v, |b| {
            let edited = edit_cell(&b["flows.csv"], 2, "amount", |a| {
                assert_eq!(a, "125");
                "126".into()
            });
            b.insert("flows.csv".into(), edited);
        }),
        "flows.csv",
        Some(2),
        Some("amount"),
        "differs from what the entries imply",
    );
    f.located(
        "disbursements.csv row 2 deleted",
        forge(&bundle, v, |b| {
            let mut r = lines(&b["disbursements.csv"]);
            r.remove(2);
            b.insert("disbursements.csv".into(), r.concat());
        }),
        "disbursements.csv",
        Some(2),
        Some("disbursement"),
        "differs from what the entries imply",
    );

    // Rewriting history from entry 5 (d1's amount and fee) on: every later entry re-sealed
    // onto the new chain and every derived file regenerated. Only the signed root disagrees.
    {
        let mut forged_entries: Vec<Vec<u8>> = Vec::new();
        let mut head = ChainHead::GENESIS;
        for record in &records(&bundle["entries.csv"])[1..] {
            let entry = parse(record[6].as_bytes()).unwrap();
            let mut body = entry.fields.clone();
            if entry.str_field("donation") == Some("d1") {
                // Amount and fee both up by one: net and every running total stay.
                body.insert("amount".into(), json!(501));
                body.insert("fee".into(), json!(26));
            }
            for common in ["v", "seq", "prev", "time", "kind", "org"] {
                body.remove(common);
            }
            let header = EntryHeader {
                seq: head.size,
                prev: head.leaf_hash,
                time: entry.time,
            };
            let bytes = seal(&header, &entry.kind, entry.org.as_deref(), &body).unwrap();
            head.advance(&parse(&bytes).unwrap(), &bytes).unwrap();
            forged_entries.push(bytes);
        }
        let mut deriver = Deriver::new(ORIGIN, |_| Ok(Vec::new())).unwrap();
        for bytes in &forged_entries {
            deriver
                .push(bytes)
                .expect("the rewritten history keeps every money rule");
        }
        let (sinks, _) = deriver.finish().unwrap();
        f.located(
            "history rewritten and re-derived",
            forge(&bundle, v, |b| {
                for (name, bytes) in sinks {
                    b.insert(name.to_string(), bytes);
                }
            }),
            "entries.csv",
            None,
            None,
            "do not match the signed checkpoint",
        );
    }

    // Truncating the tail and swapping in the older genuine checkpoint of that size.
    let store = pennytrail::store::open(&app.store_config()).await.unwrap();
    let older = store
        .checkpoint_at(SEEDED_ENTRIES)
        .await
        .unwrap()
        .expect("a checkpoint at the old size");
    assert_eq!(
        older.note.as_bytes(),
        old[CHECKPOINT_FILE],
        "the old bundle's checkpoint"
    );
    let truncated = rows[..=SEEDED_ENTRIES as usize].to_vec();
    assert_eq!(truncated.concat(), old["entries.csv"]);
    let old_file = |name: &'static str| (name, old[name].clone());
    // (i) entries.csv truncated, checkpoint.txt from the old bundle, hashes recomputed:
    // datapackage.json still names the newer size and root.
    let err = f.refused(
        "truncated + old checkpoint",
        forge(&bundle, v, |b| {
            with_rows(truncated.clone())(b);
            b.extend([old_file(CHECKPOINT_FILE)].map(|(n, x)| (n.to_string(), x)));
        }),
    );
    if let Some(err) = err {
        f.check(
            "truncated + old checkpoint",
            err.file == DATAPACKAGE_FILE,
            &err,
        );
    }
    // (ii) The same with datapackage.json and README.txt of the old size too: the derived
    // files still hold the newer entries' rows; campaigns.csv (totals) is compared first.
    let old_meta = [
        old_file(CHECKPOINT_FILE),
        old_file(README_FILE),
        old_file(DATAPACKAGE_FILE),
    ];
    f.located(
        "truncated + old checkpoint, README and package",
        forge(&bundle, v, |b| {
            with_rows(truncated.clone())(b);
            b.extend(old_meta.clone().map(|(n, x)| (n.to_string(), x)));
        }),
        "campaigns.csv",
        Some(1),
        Some("received"),
        "differs from what the entries imply",
    );
    // (iii) All entries kept under the old checkpoint: more rows than it signs.
    f.located(
        "all rows under the old checkpoint, README and package",
        forge(&bundle, v, |b| {
            b.extend(old_meta.clone().map(|(n, x)| (n.to_string(), x)))
        }),
        "entries.csv",
        Some(SEEDED_ENTRIES + 1),
        None,
        "more rows than the signed checkpoint",
    );
    // (iv) A wholly genuine older bundle verifies: only --min-size catches the rollback.
    verify_in_memory(&old, v).expect("a genuine older bundle");
    f.located(
        "the old bundle with --min-size of the new",
        verify_bundle(&old_dir, v, Some(size), |_, _| {}),
        CHECKPOINT_FILE,
        None,
        None,
        "fewer than --min-size",
    );
    // (v) The tail truncated under the newer checkpoint: the signed root no longer
    // matches (whichever check notices first).
    f.refused(
        "truncated tail, newer checkpoint",
        forge(&bundle, v, with_rows(truncated.clone())),
    );
    let mut r = rows.clone();
    r.pop();
    f.refused(
        "last row of entries.csv deleted, newer checkpoint",
        forge(&bundle, v, with_rows(r)),
    );

    // A checkpoint for the same origin, size and root, signed by a foreign key.
    let genuine =
        Checkpoint::open(std::str::from_utf8(&bundle[CHECKPOINT_FILE]).unwrap(), v).unwrap();
    let foreign = NoteSigner::from_seed(ORIGIN, [7; 32]).unwrap();
    let foreign_note = genuine.sign(&foreign).unwrap().into_bytes();
    let with_foreign = |b: &mut Bundle| {
        b.insert(CHECKPOINT_FILE.into(), foreign_note.clone());
    };
    f.located(
        "checkpoint signed by a foreign key",
        forge(&bundle, v, with_foreign),
        CHECKPOINT_FILE,
        None,
        None,
        "(is --key the log's key?)",
    );
    // Pinning the foreign key instead: the package and README still name the log's key.
    f.located(
        "checkpoint signed by a foreign key, foreign key pinned",
        forge(&bundle, foreign.verifier(), with_foreign),
        DATAPACKAGE_FILE,
        None,
        None,
        "differs from the package",
    );

    // The genuine bundle under a wrong key: same name, other key; and another name.
    for (what, wrong) in [
        (
            "wrong key, same name",
            NoteSigner::from_seed(ORIGIN, [9; 32]).unwrap(),
        ),
        (
            "wrong key, other name",
            NoteSigner::from_seed("other.example/log", [9; 32]).unwrap(),
        ),
    ] {
        f.located(
            what,
            verify(&dir, wrong.verifier()),
            CHECKPOINT_FILE,
            None,
            None,
            "--key",
        );
    }
    f.assert_none();
}

/// A log built entry by entry, as the sequencer would, but without its rules.
pub(crate) struct SynthLog {
    head: ChainHead,
    pub(crate) frontier: Frontier,
    pub(crate) entries: Vec<Vec<u8>>,
    clock: i64,
}

impl SynthLog {
    fn new() -> SynthLog {
        SynthLog {
            head: ChainHead::GENESIS,
            frontier: Frontier::empty(),
            entries: Vec::new(),
            clock: 1_767_225_600_000, // 2026-01-01
        }
    }

    pub(crate) fn push(&mut self, kind: &str, body: Value) {
        self.clock += 1000;
        let header = self.head.next_header(UnixMillis(self.clock));
        self.push_with(header, kind, body);
    }

    /// Seals with `header` as given. An entry that breaks the chain leaves the head
    /// where it was (it must be the last).
    fn push_with(&mut self, header: EntryHeader, kind: &str, body: Value) {
        let mut body = body.as_object().unwrap().clone();
        let org = body.remove("org");
        let bytes = seal(&header, kind, org.as_ref().and_then(Value::as_str), &body).unwrap();
        let entry = parse(&bytes).unwrap();
        if let Ok(leaf) = self.head.advance(&entry, &bytes) {
            assert_eq!(leaf, leaf_hash(&bytes));
        }
        self.frontier.append(leaf_hash(&bytes));
        self.entries.push(bytes);
    }

    /// org o; beneficiaries b (supplier, stated) and u (person, registered, not stated);
    /// EUR campaign c stating b; donation d1 100 (fee 10, net 90); disbursement x1 40 to b.
    fn base() -> SynthLog {
        let mut log = SynthLog::new();
        log.push(
            "org.registered",
            json!({"org": "o", "name": "O", "country": "DE"}),
        );
        for (id, kind) in [("b", "supplier"), ("u", "person")] {
            log.push(
                "beneficiary.registered",
                json!({"org": "o", "beneficiary": id, "label": id.to_uppercase(),
                       "beneficiary_kind": kind, "country": "DE"}),
            );
        }
        log.push(
            "campaign.opened",
            json!({"org": "o", "campaign": "c", "title": "T", "purpose": "P",
                   "currency": "EUR", "beneficiaries": ["b"]}),
        );
        log.push(
            "donation.received",
            json!({"org": "o", "donation": "d1", "campaign": "c", "currency": "EUR",
                   "amount": 100, "fee": 10, "net": 90, "received_before": 0, "channel": "card"}),
        );
        log.push(
            "disbursement.made",
            json!({"org": "o", "disbursement": "x1", "campaign": "c", "currency": "EUR",
                   "beneficiary": "b", "amount": 40, "disbursed_before": 0, "purpose": "Supplies"}),
        );
        log
    }

    /// Writes a complete bundle, signed with `signer`: entries.csv with every entry; the
    /// derived files from the first `good` entries (verification stops at the next one).
    fn write_bundle(&self, dir: &Path, good: usize, signer: &NoteSigner) {
        fs::create_dir_all(dir).unwrap();
        let verifier_key = signer.verifier().to_text();
        let origin = signer.verifier().name();
        let mut out = CsvOut::new(Vec::new(), &TABLES[0]).unwrap();
        for bytes in &self.entries {
            let e = parse(bytes).unwrap();
            let (time, leaf, prev) = (e.time.format(), leaf_hash(bytes).to_hex(), e.prev.to_hex());
            out.row(&[
                Cell::Int(e.seq as i64),
                Cell::Plain(&time),
                Cell::Plain(&e.kind),
                Cell::Plain(e.org.as_deref().unwrap_or_default()),
                Cell::Plain(&leaf),
                Cell::Plain(&prev),
                Cell::Plain(std::str::from_utf8(bytes).unwrap()),
            ])
            .unwrap();
        }
        let entries_csv = out.finish().unwrap();
        let mut deriver = Deriver::new(ORIGIN, |_| Ok(Vec::new())).unwrap();
        for bytes in &self.entries[..good] {
            deriver.push(bytes).expect("the good prefix derives");
        }
        let (sinks, _) = deriver.finish().unwrap();
        for (name, bytes) in sinks {
            if name == "entries.csv" {
                assert!(
                    entries_csv.starts_with(&bytes),
                    "CsvOut rows match the deriver's"
                );
                fs::write(dir.join(name), &entries_csv).unwrap();
            } else {
                fs::write(dir.join(name), bytes).unwrap();
            }
        }
        let checkpoint = Checkpoint {
            origin: origin.to_string(),
            size: self.entries.len() as u64,
            root: self.frontier.root(),
        };
        fs::write(dir.join(CHECKPOINT_FILE), checkpoint.sign(signer).unwrap()).unwrap();
        fs::write(
            dir.join(README_FILE),
            package::readme(
                pennytrail_bundle::BundleFormat::CURRENT,
                origin,
                &verifier_key,
                checkpoint.size,
            ),
        )
        .unwrap();
        package::write_datapackage(
            dir,
            pennytrail_bundle::BundleFormat::CURRENT,
            origin,
            &verifier_key,
            &checkpoint,
        )
        .unwrap();
    }
}

#[pennytrail_test]
async fn logs_signed_with_the_real_key_that_break_a_money_rule_are_refused() {
    let mut app = TestApp::start(Backend::Sqlite).await;
    app.stop_service().await;
    let signer = pennytrail::keys::read_signer(&app.data_dir.path().join("log.key")).unwrap();
    assert_eq!(signer.verifier().to_text(), app.verifier.to_text());
    assert_eq!(signer.verifier().name(), ORIGIN);
    let tmp = tempfile::tempdir().unwrap();

    let disbursement = |amount: i64, before: i64, to: &str| {
        json!({"org": "o", "disbursement": "x2", "campaign": "c", "currency": "EUR",
               "beneficiary": to, "amount": amount, "disbursed_before": before, "purpose": "More"})
    };
    let donation = |currency: &str, before: i64| {
        json!({"org": "o", "donation": "d2", "campaign": "c", "currency": currency,
               "amount": 50, "fee": 0, "net": 50, "received_before": before, "channel": "card"})
    };

    // The control: the base log plus a lawful disbursement of everything held verifies,
    // so each failure below is the bad entry's doing.
    let mut control = SynthLog::base();
    control.push("disbursement.made", disbursement(50, 40, "b"));
    let n = control.entries.len();
    control.write_bundle(&tmp.path().join("control"), n, &signer);
    let report =
        verify(&tmp.path().join("control"), &app.verifier).expect("the lawful log verifies");
    assert_eq!(report.summary.entries, 7);

    struct Case {
        name: &'static str,
        kind: &'static str,
        body: Value,
        field: &'static str,
        says: &'static str,
    }
    let cases = [
        Case {
            name: "overspend",
            kind: "disbursement.made",
            body: disbursement(51, 40, "b"),
            field: "entry.amount",
            says: "rule overspend",
        },
        Case {
            name: "received_before off by one",
            kind: "donation.received",
            body: donation("EUR", 89),
            field: "entry.received_before",
            says: "rule wrong-derived-field",
        },
        Case {
            name: "disbursed_before off by one",
            kind: "disbursement.made",
            body: disbursement(10, 41, "b"),
            field: "entry.disbursed_before",
            says: "rule wrong-derived-field",
        },
        Case {
            name: "unstated beneficiary",
            kind: "disbursement.made",
            body: disbursement(10, 40, "u"),
            field: "entry.beneficiary",
            says: "rule unstated-beneficiary",
        },
        Case {
            name: "currency mismatch",
            kind: "donation.received",
            body: donation("GBP", 90),
            field: "entry.currency",
            says: "rule currency-mismatch",
        },
    ];
    let mut f = Findings::default();
    for case in cases {
        let mut log = SynthLog::base();
        let good = log.entries.len();
        log.push(case.kind, case.body);
        let dir = tmp.path().join(case.name.replace(' ', "-"));
        log.write_bundle(&dir, good, &signer);
        f.located(
            case.name,
            verify(&dir, &app.verifier),
            "entries.csv",
            Some(good as u64 + 1),
            Some(case.field),
            case.says,
        );
    }

    // Time going backwards: a lawful donation sealed 1 ms before the previous entry.
    let mut log = SynthLog::base();
    let good = log.entries.len();
    let header = EntryHeader {
        seq: log.head.size,
        prev: log.head.leaf_hash,
        time: UnixMillis(log.head.time.0 - 1),
    };
    log.push_with(header, "donation.received", donation("EUR", 90));
    let dir = tmp.path().join("time");
    log.write_bundle(&dir, good, &signer);
    f.located(
        "time going backwards",
        verify(&dir, &app.verifier),
        "entries.csv",
        Some(good as u64 + 1),
        Some("entry"),
        "time 2026-01-01T00:00:05.999Z is earlier than the previous entry's",
    );
    f.assert_none();
}

/// A validly signed log with a capped campaign: org o, person p, EUR campaign k (EUR 0.50
/// a day, EUR 0.80 a month, 3 payouts a day) stating p, a donation of EUR 10.00 and two
/// payouts of EUR 0.20 to p on the log's first day (2026-01-01).
pub(crate) fn capped_log() -> SynthLog {
    let mut log = SynthLog::new();
    log.push(
        "org.registered",
        json!({"org": "o", "name": "O", "country": "DE"}),
    );
    log.push(
        "beneficiary.registered",
        json!({"org": "o", "beneficiary": "p", "label": "P", "beneficiary_kind": "person",
               "country": "KE"}),
    );
    log.push(
        "campaign.opened",
        json!({"org": "o", "campaign": "k", "title": "T", "purpose": "P", "currency": "EUR",
               "beneficiaries": ["p"], "max_per_person_per_day": 50,
               "max_per_person_per_month": 80, "max_payouts_per_person_per_day": 3}),
    );
    log.push(
        "donation.received",
        json!({"org": "o", "donation": "d", "campaign": "k", "currency": "EUR",
               "amount": 1000, "fee": 0, "net": 1000, "received_before": 0, "channel": "card"}),
    );
    for (id, before) in [("x1", 0), ("x2", 20)] {
        log.push("disbursement.made", capped_payout(id, 20, before, None));
    }
    log
}

pub(crate) fn capped_payout(
    id: &str,
    amount: i64,
    before: i64,
    occurred_at: Option<&str>,
) -> Value {
    let mut body = json!({"org": "o", "disbursement": id, "campaign": "k", "currency": "EUR",
                          "beneficiary": "p", "amount": amount, "disbursed_before": before,
                          "purpose": "Bus ride"});
    if let Some(at) = occurred_at {
        body["occurred_at"] = json!(at);
    }
    body
}

#[pennytrail_test]
async fn logs_signed_with_the_real_key_that_break_a_published_cap_are_refused() {
    let mut app = TestApp::start(Backend::Sqlite).await;
    app.stop_service().await;
    let signer = pennytrail::keys::read_signer(&app.data_dir.path().join("log.key")).unwrap();
    let tmp = tempfile::tempdir().unwrap();

    // The control: up to every cap (a third payout that fills the day, a payout dated in
    // December that fills that month) verifies, and the bundle shows the caps.
    let mut control = capped_log();
    control.push("disbursement.made", capped_payout("x3", 10, 40, None));
    for (i, day) in ["01", "02"].iter().enumerate() {
        let at = format!("2025-12-{day}T00:00:00.000Z");
        control.push(
            "disbursement.made",
            capped_payout(&format!("m{i}"), 40, 50 + 40 * i as i64, Some(&at)),
        );
    }
    let n = control.entries.len();
    control.write_bundle(&tmp.path().join("control"), n, &signer);
    verify(&tmp.path().join("control"), &app.verifier).expect("a log within its caps verifies");
    let campaigns = fs::read_to_string(tmp.path().join("control/campaigns.csv")).unwrap();
    assert!(
        campaigns.contains(
            ",max_per_person_per_day,max_per_person_per_month,max_payouts_per_person_per_day,"
        ) && campaigns.contains(",50,80,3,"),
        "{campaigns}"
    );
    let payouts = fs::read_to_string(tmp.path().join("control/disbursements.csv")).unwrap();
    assert!(payouts.contains(",2025-12-02T00:00:00.000Z,"), "{payouts}");

    // Each case: the payouts after the capped log's two, the field named, and what the
    // refusal says (the limit's name for a cap).
    let cases: [(&str, Vec<Value>, &str, &str); 4] = [
        (
            "a day's amount",
            vec![capped_payout("x3", 11, 40, None)],
            "entry.amount",
            "max_per_person_per_day",
        ),
        (
            "a day's payouts",
            vec![
                capped_payout("x3", 1, 40, None),
                capped_payout("x4", 1, 41, None),
            ],
            "entry.beneficiary",
            "max_payouts_per_person_per_day",
        ),
        (
            "a month's amount by occurred_at",
            vec![
                capped_payout("m1", 50, 40, Some("2025-12-01T00:00:00.000Z")),
                capped_payout("m2", 30, 90, Some("2025-12-31T23:59:59.999Z")),
                capped_payout("m3", 1, 120, Some("2025-12-15T00:00:00.000Z")),
            ],
            "entry.amount",
            "max_per_person_per_month",
        ),
        (
            "occurred after its entry",
            vec![capped_payout("f", 1, 40, Some("2026-01-02T00:00:00.000Z"))],
            "entry.occurred_at",
            "rule occurred-after-time",
        ),
    ];
    let mut f = Findings::default();
    for (name, payouts, field, says) in cases {
        let mut log = capped_log();
        let good = log.entries.len() + payouts.len() - 1;
        for payout in payouts {
            log.push("disbursement.made", payout);
        }
        let dir = tmp.path().join(name.replace([' ', '\''], "-"));
        log.write_bundle(&dir, good, &signer);
        // A cap's refusal names its rule, then the limit.
        let (rule, limit) = match says.strip_prefix("rule ") {
            Some(_) => (says.to_string(), ""),
            None => ("rule cap-exceeded".to_string(), says),
        };
        let refused = f.located(
            name,
            verify(&dir, &app.verifier),
            "entries.csv",
            Some(good as u64 + 1),
            Some(field),
            &rule,
        );
        if let Some(error) = refused
            && !error.message.contains(limit)
        {
            f.0.push(format!("{name}: {limit} not named in {error}"));
        }
    }

    // A cap of 0 is refused as a request's would be, naming the field.
    let mut log = SynthLog::new();
    log.push(
        "org.registered",
        json!({"org": "o", "name": "O", "country": "DE"}),
    );
    log.push(
        "campaign.opened",
        json!({"org": "o", "campaign": "k", "title": "T", "purpose": "P", "currency": "EUR",
               "beneficiaries": [], "max_payouts_per_person_per_day": 0}),
    );
    let dir = tmp.path().join("zero-cap");
    log.write_bundle(&dir, 1, &signer);
    f.located(
        "a cap of 0",
        verify(&dir, &app.verifier),
        "entries.csv",
        Some(2),
        Some("entry.max_payouts_per_person_per_day"),
        "at least 1",
    );
    f.assert_none();
}
