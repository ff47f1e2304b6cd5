//! Which field an editor changed in an entry of `entries.csv`. An edited entry no longer
//! hashes to the `leaf_hash` beside it, but the derived files still say what it said when
//! it was exported: the first field whose value differs from the same field of a derived
//! row of the same seq is the one most likely edited (`amount`, where the regenerated
//! row would only show that `net` no longer adds up).

use std::path::Path;

use serde_json::{Map, Value};

use super::BundleFormat;
use super::csv_out::restore;
use super::tables::TABLES;

/// A field of an entry that a derived file contradicts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditedField {
    pub field: String,
    /// What the entry in `entries.csv` says now.
    pub in_entry: String,
    /// What the derived file says.
    pub in_file: String,
    pub file: &'static str,
    /// The derived file's line (the header is line 1).
    pub line: u64,
}

/// Files whose rows copy an entry's fields under the same names, keyed by the entry's
/// seq. (`flows.csv` is left out: its `amount` is a flow's, not the entry's.)
fn copies_fields(file: &str) -> bool {
    !matches!(file, "entries.csv" | "flows.csv")
}

/// The first top-level field of `entry` that a derived row of the same seq in the bundle
/// at `dir` spells otherwise; `None` when no derived row disagrees (or none can be read).
pub fn edited_field(dir: &Path, format: BundleFormat, entry: &[u8]) -> Option<EditedField> {
    let fields: Map<String, Value> = serde_json::from_slice(entry).ok()?;
    let seq = fields.get("seq")?.as_u64()?.to_string();
    for table in TABLES.iter().filter(|t| copies_fields(t.file)) {
        let columns: Vec<&str> = table.columns_in(format).map(|c| c.name).collect();
        let Some(seq_at) = columns.iter().position(|c| *c == "seq") else {
            continue;
        };
        let Ok(mut reader) = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_path(dir.join(table.file))
        else {
            continue;
        };
        for (i, row) in reader.records().enumerate() {
            let Ok(row) = row else { break };
            if row.get(seq_at) != Some(seq.as_str()) {
                continue;
            }
            for (name, cell) in columns.iter().zip(row.iter()) {
                let Some(value) = fields.get(*name) else {
                    continue;
                };
                let in_entry = match value {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    _ => continue,
                };
                let in_file = restore(cell);
                if in_entry != in_file {
                    return Some(EditedField {
                        field: (*name).to_string(),
                        in_entry,
                        in_file: in_file.to_string(),
                        file: table.file,
                        line: i as u64 + 2,
                    });
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_a_derived_row_contradicts_is_named() {
        let dir = tempfile::tempdir().unwrap();
        for table in &TABLES {
            let header = table.header().join(",");
            std::fs::write(dir.path().join(table.file), format!("{header}\n")).unwrap();
        }
        std::fs::write(
            dir.path().join("donations.csv"),
            "org,donation,campaign,currency,amount,fee,net,received_before,channel,\
             donor_commitment,occurred_at,seq,time\n\
             o,d0,c,EUR,10,0,10,0,card,,,6,t\n\
             o,d1,c,EUR,65,1,64,10,card,,,7,t\n",
        )
        .unwrap();
        let entry = br#"{"amount":165,"donation":"d1","fee":1,"net":64,"org":"o","seq":7}"#;
        assert_eq!(
            edited_field(dir.path(), BundleFormat::CURRENT, entry),
            Some(EditedField {
                field: "amount".into(),
                in_entry: "165".into(),
                in_file: "65".into(),
                file: "donations.csv",
                line: 3,
            })
        );
        let untouched = br#"{"amount":65,"donation":"d1","fee":1,"net":64,"org":"o","seq":7}"#;
        assert_eq!(
            edited_field(dir.path(), BundleFormat::CURRENT, untouched),
            None
        );
    }
}
