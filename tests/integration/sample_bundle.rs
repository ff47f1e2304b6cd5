//! The published bundles verify: `exports/sample` at the current format (so the format
//! and the code never drift apart), and `tests/fixtures/bundle-v<N>`, a bundle of each
//! earlier format, so a bundle a journalist downloaded before the format grew still
//! verifies.
//! The service's `pennytrail verify` and the standalone `pennytrail-verify bundle` print
//! the same report for them, and refuse the same tampered copies with the same words.

use crate::support::pennytrail_test;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use pennytrail::log::note::NoteVerifier;
use pennytrail_bundle::BundleFormat;
use pennytrail_bundle::verify::{VerifyReport, verify_bundle};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A published bundle and the key it verifies with.
fn published(dir: &str, key_file: &str) -> (PathBuf, String) {
    let key =
        fs::read_to_string(root().join(key_file)).unwrap_or_else(|e| panic!("{key_file}: {e}"));
    (root().join(dir), key.trim().to_string())
}

fn verify(dir: &Path, key: &str) -> VerifyReport {
    let verifier = NoteVerifier::from_text(key).unwrap();
    verify_bundle(dir, &verifier, None, |_, _| {})
        .unwrap_or_else(|e| panic!("{} does not verify: {e}", dir.display()))
}

/// What a journalist would quote holds: all three currencies, overhead visible in each.
fn check_demo_figures(report: &VerifyReport) {
    assert_eq!(report.summary.entries, report.checkpoint.size);
    assert_eq!((report.summary.orgs, report.summary.campaigns), (3, 3));
    assert!(report.summary.donations >= 600 && report.summary.disbursements > 100);
    for currency in ["EUR", "GBP", "KES"] {
        let totals = &report.summary.by_currency[currency];
        assert!(totals.disbursed <= totals.net && totals.net <= totals.received);
        assert!(
            totals.by_kind.contains_key("overhead"),
            "{currency}: {totals:?}"
        );
    }
}

fn declared_format(dir: &Path) -> BundleFormat {
    let package: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("datapackage.json")).unwrap()).unwrap();
    BundleFormat::of_package(&package).unwrap()
}

#[pennytrail_test]
fn the_sample_bundle_is_of_the_current_format_and_verifies() {
    let (dir, key) = published("exports/sample", "exports/sample.key");
    assert_eq!(
        declared_format(&dir),
        BundleFormat::CURRENT,
        "regenerate exports/sample (exports/README.md says how)"
    );
    check_demo_figures(&verify(&dir, &key));
}

#[pennytrail_test]
fn bundles_of_every_earlier_format_still_verify() {
    for (number, format) in [
        (1, BundleFormat::V1),
        (2, BundleFormat::V2),
        (3, BundleFormat::V3),
    ] {
        let (dir, key) = published(
            &format!("tests/fixtures/bundle-v{number}"),
            &format!("tests/fixtures/bundle-v{number}.key"),
        );
        assert_eq!(declared_format(&dir), format);
        check_demo_figures(&verify(&dir, &key));
    }
}

/// The standalone verifier's binary: built beside `pennytrail` by `cargo test` (or
/// `cargo build`) at the workspace root.
fn pennytrail_verify_binary() -> PathBuf {
    let service = Path::new(env!("CARGO_BIN_EXE_pennytrail"));
    let verifier = service.with_file_name("pennytrail-verify");
    assert!(
        verifier.exists(),
        "{} is missing: run the tests from the workspace root (cargo test), or cargo build -p pennytrail-verify",
        verifier.display()
    );
    verifier
}

/// (success, stdout, stderr) of a command.
fn run(command: &mut Command) -> (bool, String, String) {
    let out = command.output().expect("the verifier runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Both verifiers on one bundle: their results, which must be the same.
fn both(dir: &Path, key: &str) -> (bool, String, String) {
    let service = run(Command::new(env!("CARGO_BIN_EXE_pennytrail")).args([
        "verify",
        dir.to_str().unwrap(),
        "--key",
        key,
    ]));
    let standalone = run(Command::new(pennytrail_verify_binary()).args([
        "bundle",
        dir.to_str().unwrap(),
        "--key",
        key,
    ]));
    assert_eq!(
        (service.0, &service.1),
        (standalone.0, &standalone.1),
        "{}: the two verifiers disagree",
        dir.display()
    );
    // Progress lines aside, the same error.
    let error = |stderr: &str| {
        stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(error(&service.2), error(&standalone.2), "{}", dir.display());
    service
}

/// A way to tamper with a bundle: what it changes, how, and what the refusal names.
type Tampering<'a> = (&'a str, &'a dyn Fn(&Path), &'a str);

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// Replaces the first `from` in `file` of the bundle at `dir` by `to`.
fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no {from:?}");
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

#[pennytrail_test]
fn both_verifiers_print_the_same_report_and_refuse_the_same_tampering() {
    for (dir, key_file) in [
        ("exports/sample", "exports/sample.key"),
        ("tests/fixtures/bundle-v1", "tests/fixtures/bundle-v1.key"),
        ("tests/fixtures/bundle-v2", "tests/fixtures/bundle-v2.key"),
        ("tests/fixtures/bundle-v3", "tests/fixtures/bundle-v3.key"),
    ] {
        let (dir, key) = published(dir, key_file);
        let (ok, report, stderr) = both(&dir, &key);
        assert!(ok, "{stderr}");
        // The demo's log; format 4's sample adds a correction of a label's typo.
        assert!(
            report.starts_with("ok: 898 entries of") || report.starts_with("ok: 899 entries of"),
            "{report}"
        );

        let work = tempfile::tempdir().unwrap();
        let tampered: [Tampering; 6] = [
            (
                "an amount",
                &|d| edit(d, "donations.csv", ",EUR,", ",EUR,1"),
                "donations.csv",
            ),
            (
                "an entry",
                &|d| edit(d, "entries.csv", "\"\"amount\"\":", "\"\"amount\"\":1"),
                "entries.csv",
            ),
            (
                "the README",
                &|d| edit(d, "README.txt", "Entries:", "Entries: 1"),
                "README.txt",
            ),
            (
                "an unknown format",
                &|d| {
                    let package = d.join("datapackage.json");
                    let mut value: serde_json::Value =
                        serde_json::from_slice(&fs::read(&package).unwrap()).unwrap();
                    value["bundle_format"] = 99.into();
                    fs::write(&package, serde_json::to_string_pretty(&value).unwrap()).unwrap();
                },
                "bundle_format 99 is not a format this verifier knows",
            ),
            (
                "a missing file",
                &|d| fs::remove_file(d.join("flows.csv")).unwrap(),
                "flows.csv",
            ),
            (
                "another key's checkpoint",
                &|d| edit(d, "checkpoint.txt", "\n\n— ", "\n\n— x"),
                "checkpoint.txt",
            ),
        ];
        for (what, tamper, named) in tampered {
            let copy = work.path().join(what.replace(' ', "-"));
            copy_dir(&dir, &copy);
            tamper(&copy);
            let (ok, stdout, stderr) = both(&copy, &key);
            assert!(!ok, "{}: {what} passed: {stdout}", dir.display());
            assert!(
                stderr.contains("error: FAILED: ") && stderr.contains(named),
                "{}: {what}: {stderr}",
                dir.display()
            );
        }
    }
}
