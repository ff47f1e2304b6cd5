//! Bundle formats: the layout of a bundle's files (which files, which columns, what
//! `datapackage.json` and `README.txt` say). A bundle names its format in
//! `datapackage.json` (`bundle_format`), and the verifier regenerates every file as that
//! format lays it out, so a bundle downloaded years ago still verifies after the format
//! has grown. The exporter always writes [`BundleFormat::CURRENT`].
//!
//! The format is only the files' layout: the log's and the ledger's rules are the same
//! for every format.

use serde_json::Value;

/// A bundle format, numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BundleFormat(u32);

impl BundleFormat {
    /// Bundles written before formats were numbered: `datapackage.json` names none.
    pub const V1: BundleFormat = BundleFormat(1);
    /// The files of format 1; `datapackage.json` and `README.txt` name the format.
    pub const V2: BundleFormat = BundleFormat(2);
    /// Published caps on payouts to people: `campaigns.csv` gains the limits a campaign
    /// opened with, `disbursements.csv` a payout's `occurred_at`.
    pub const V3: BundleFormat = BundleFormat(3);
    /// Keys the operator states (`org.key_stated`): `org_keys.csv` gains `set_by`
    /// (`registered`, `stated` or `rotated`); each correctable text column `X` gains
    /// `X_effective` beside it (the text as the bundle's corrections leave it); the
    /// README lists every file with what it holds.
    pub const V4: BundleFormat = BundleFormat(4);
    /// What the exporter writes.
    pub const CURRENT: BundleFormat = BundleFormat::V4;
    /// Every format this verifier checks, oldest first.
    pub const KNOWN: [BundleFormat; 4] = [
        BundleFormat::V1,
        BundleFormat::V2,
        BundleFormat::V3,
        BundleFormat::V4,
    ];

    /// The format's number, as `bundle_format` spells it.
    pub fn number(self) -> u32 {
        self.0
    }

    /// Whether `datapackage.json` and `README.txt` name the format.
    pub fn is_named(self) -> bool {
        self >= BundleFormat::V2
    }

    /// The format a `datapackage.json` declares: format 1 when it names none.
    ///
    /// # Errors
    /// A sentence naming a `bundle_format` that is not a format this verifier knows.
    pub fn of_package(package: &Value) -> Result<BundleFormat, String> {
        let Some(declared) = package.get("bundle_format") else {
            return Ok(BundleFormat::V1);
        };
        let known = BundleFormat::KNOWN
            .iter()
            .map(|f| f.0.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        match declared.as_u64() {
            // Format 1 never names itself: a package that does is not one this wrote.
            Some(n) if n > 1 && BundleFormat::KNOWN.iter().any(|f| u64::from(f.0) == n) => {
                Ok(BundleFormat(n as u32))
            }
            _ => Err(format!(
                "bundle_format {declared} is not a format this verifier knows (it checks formats {known}); a newer pennytrail-verify may"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn packages_name_known_formats_or_none() {
        assert_eq!(BundleFormat::of_package(&json!({})), Ok(BundleFormat::V1));
        assert_eq!(
            BundleFormat::of_package(&json!({"bundle_format": 2})),
            Ok(BundleFormat::V2)
        );
        assert_eq!(
            BundleFormat::of_package(&json!({"bundle_format": 3})),
            Ok(BundleFormat::V3)
        );
        assert_eq!(
            BundleFormat::of_package(&json!({"bundle_format": 4})),
            Ok(BundleFormat::V4)
        );
        for bad in [
            json!(1),
            json!(5),
            json!("2"),
            json!(2.0),
            json!(null),
            json!(-1),
        ] {
            let error = BundleFormat::of_package(&json!({ "bundle_format": bad })).unwrap_err();
            assert!(error.contains("checks formats 1, 2, 3, 4"), "{error}");
        }
        assert_eq!(BundleFormat::CURRENT, *BundleFormat::KNOWN.last().unwrap());
    }
}
