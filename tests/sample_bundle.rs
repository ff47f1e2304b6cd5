//! The sample bundle in `exports/` verifies with the current verifier, so the published
//! format and the code never drift apart.

use std::path::Path;

use pennytrail::bundle::verify::verify_bundle;
use pennytrail::log::note::NoteVerifier;

#[test]
fn the_sample_bundle_verifies() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("exports");
    let key = std::fs::read_to_string(root.join("sample.key")).expect("exports/sample.key");
    let verifier = NoteVerifier::from_text(key.trim()).unwrap();
    let report = verify_bundle(&root.join("sample"), &verifier, None, |_, _| {})
        .unwrap_or_else(|e| panic!("exports/sample does not verify: {e}"));
    assert_eq!(report.summary.entries, report.checkpoint.size);
    assert_eq!((report.summary.orgs, report.summary.campaigns), (3, 3));
    assert!(report.summary.donations >= 600 && report.summary.disbursements > 100);
    // Shares a journalist would quote: all three currencies, overhead visible in each.
    for currency in ["EUR", "GBP", "KES"] {
        let totals = &report.summary.by_currency[currency];
        assert!(totals.disbursed <= totals.net && totals.net <= totals.received);
        assert!(
            totals.by_kind.contains_key("overhead"),
            "{currency}: {totals:?}"
        );
    }
}
