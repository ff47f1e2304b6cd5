//! The text a reader should see after corrections: the `X_effective` columns beside each
//! correctable column `X` (bundle format 4). Entries are immutable, so a correction is a
//! later entry; the rows of the entry it corrects are written before it arrives, so the
//! corrections of the whole bundle are gathered first ([`Effective::note_entry`] over the
//! entries, or from the store's index of corrections) and the rows then read them.

use std::collections::{BTreeMap, HashMap};

use pennytrail_ledger::records::{Correction, Record};

/// Correctable fields as the last correction in the bundle left them, by the seq of the
/// entry they belong to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effective(HashMap<u64, BTreeMap<String, String>>);

impl Effective {
    /// Applies a correction (later corrections of the same field win).
    pub fn apply(&mut self, correction: &Correction) {
        let fields = self.0.entry(correction.corrects).or_default();
        for (name, value) in &correction.fields {
            fields.insert(name.clone(), value.clone());
        }
    }

    /// Notes the entry if it is a correction. Entries that do not parse are left to the
    /// derivation, which refuses them.
    pub fn note_entry(&mut self, bytes: &[u8]) {
        let Ok(entry) = pennytrail_log::entry::parse(bytes) else {
            return;
        };
        if entry.kind != pennytrail_ledger::records::KIND_ENTRY_CORRECTED {
            return;
        }
        if let Ok((Record::Correction(correction), _)) = Record::from_entry(&entry) {
            self.apply(&correction);
        }
    }

    /// Field `field` of entry `seq` as corrected, else `original`.
    pub fn of<'a>(&'a self, seq: u64, field: &str, original: &'a str) -> &'a str {
        self.0
            .get(&seq)
            .and_then(|fields| fields.get(field))
            .map_or(original, String::as_str)
    }

    /// Field `field` of entry `seq` when a correction gave it (an optional field the
    /// entry left out).
    pub fn of_added(&self, seq: u64, field: &str) -> Option<&str> {
        self.0
            .get(&seq)
            .and_then(|fields| fields.get(field))
            .map(String::as_str)
    }

    /// How many entries have a correction.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_correction_of_a_field_wins() {
        let mut effective = Effective::default();
        let correct = |id: &str, fields: &[(&str, &str)]| Correction {
            id: id.into(),
            corrects: 3,
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        effective.apply(&correct("c1", &[("label", "Village well"), ("name", "A")]));
        effective.apply(&correct("c2", &[("label", "Village well committee")]));
        assert_eq!(effective.of(3, "label", "Villge"), "Village well committee");
        assert_eq!(effective.of(3, "name", "x"), "A");
        assert_eq!(effective.of(3, "purpose", "as logged"), "as logged");
        assert_eq!(effective.of(4, "label", "as logged"), "as logged");
        effective.note_entry(b"not an entry");
        assert_eq!(effective.len(), 1);
    }
}
