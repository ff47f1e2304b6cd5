//! Every CSV table of a bundle, described once: its file, what it holds, its columns and
//! their types, its primary and foreign keys. The header each file is written with, the
//! shape each row is checked against as it is written ([`crate::csv_out::CsvOut`]), the
//! Table Schemas of `datapackage.json` and the explorer's list of downloads all come
//! from here.

use crate::BundleFormat;

/// A bundle CSV.
#[derive(Debug)]
pub struct Table {
    pub file: &'static str,
    /// What it holds, for people choosing a file.
    pub about: &'static str,
    pub columns: &'static [Column],
    pub primary_key: &'static [&'static str],
    pub foreign_keys: &'static [ForeignKey],
}

/// A column: integers (money in minor units, counts and seqs), or text, and the bundle
/// format that added it.
#[derive(Debug)]
pub struct Column {
    pub name: &'static str,
    pub integer: bool,
    pub since: BundleFormat,
}

/// Columns of a table that name a row of another.
#[derive(Debug)]
pub struct ForeignKey {
    pub fields: &'static [&'static str],
    /// The referenced table's resource name (its file name without `.csv`).
    pub table: &'static str,
    pub reference: &'static [&'static str],
}

const fn int(name: &'static str) -> Column {
    Column {
        name,
        integer: true,
        since: BundleFormat::V1,
    }
}

const fn text(name: &'static str) -> Column {
    Column {
        name,
        integer: false,
        since: BundleFormat::V1,
    }
}

/// A column added by format `since`.
const fn added(column: Column, since: BundleFormat) -> Column {
    Column { since, ..column }
}

impl Table {
    /// The header line's names in the current format, in order.
    pub fn header(&self) -> Vec<&'static str> {
        self.columns_in(BundleFormat::CURRENT)
            .map(|c| c.name)
            .collect()
    }

    /// The columns a file of `format` has, in order.
    pub fn columns_in(&self, format: BundleFormat) -> impl Iterator<Item = &'static Column> {
        self.columns.iter().filter(move |c| c.since <= format)
    }
}

/// The table written to `file`, if it is a bundle CSV.
pub fn table(file: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.file == file)
}

/// Every CSV of a bundle, in the order they are written and listed.
pub const TABLES: [Table; 13] = [
    Table {
        file: "entries.csv",
        about: "every entry, with its exact bytes and hashes",
        columns: &[
            int("seq"),
            text("time"),
            text("kind"),
            text("org"),
            text("leaf_hash"),
            text("prev"),
            text("entry"),
        ],
        primary_key: &["seq"],
        foreign_keys: &[],
    },
    Table {
        file: "orgs.csv",
        about: "the charities (name_effective and charity_number_effective: as corrected)",
        columns: &[
            text("org"),
            text("name"),
            added(text("name_effective"), BundleFormat::V4),
            text("country"),
            text("charity_number"),
            added(text("charity_number_effective"), BundleFormat::V4),
            text("public_key"),
            int("seq"),
            text("time"),
        ],
        primary_key: &["org"],
        foreign_keys: &[ForeignKey {
            fields: &["seq"],
            table: "entries",
            reference: &["seq"],
        }],
    },
    Table {
        file: "beneficiaries.csv",
        about: "the beneficiaries the charities registered (label_effective: as corrected)",
        columns: &[
            text("org"),
            text("beneficiary"),
            text("label"),
            added(text("label_effective"), BundleFormat::V4),
            text("beneficiary_kind"),
            text("country"),
            text("public_key"),
            int("seq"),
            text("time"),
        ],
        primary_key: &["org", "beneficiary"],
        foreign_keys: &[ForeignKey {
            fields: &["org"],
            table: "orgs",
            reference: &["org"],
        }],
    },
    Table {
        file: "campaigns.csv",
        about: "campaigns with their totals (title_effective and purpose_effective: as corrected)",
        columns: &[
            text("org"),
            text("campaign"),
            text("title"),
            added(text("title_effective"), BundleFormat::V4),
            text("purpose"),
            added(text("purpose_effective"), BundleFormat::V4),
            text("currency"),
            int("received"),
            int("fees"),
            int("net"),
            int("disbursed"),
            int("held"),
            int("donations"),
            int("disbursements"),
            added(int("max_per_person_per_day"), BundleFormat::V3),
            added(int("max_per_person_per_month"), BundleFormat::V3),
            added(int("max_payouts_per_person_per_day"), BundleFormat::V3),
            int("seq"),
            text("time"),
        ],
        primary_key: &["org", "campaign"],
        foreign_keys: &[ForeignKey {
            fields: &["org"],
            table: "orgs",
            reference: &["org"],
        }],
    },
    Table {
        file: "stated_beneficiaries.csv",
        about: "who each campaign may pay, stated in advance",
        columns: &[
            text("org"),
            text("campaign"),
            text("beneficiary"),
            int("stated_seq"),
        ],
        primary_key: &["org", "campaign", "beneficiary"],
        foreign_keys: &[
            ForeignKey {
                fields: &["org", "campaign"],
                table: "campaigns",
                reference: &["org", "campaign"],
            },
            ForeignKey {
                fields: &["org", "beneficiary"],
                table: "beneficiaries",
                reference: &["org", "beneficiary"],
            },
        ],
    },
    Table {
        file: "donations.csv",
        about: "donations",
        columns: &[
            text("org"),
            text("donation"),
            text("campaign"),
            text("currency"),
            int("amount"),
            int("fee"),
            int("net"),
            int("received_before"),
            text("channel"),
            text("donor_commitment"),
            text("occurred_at"),
            int("seq"),
            text("time"),
        ],
        primary_key: &["org", "donation"],
        foreign_keys: &[ForeignKey {
            fields: &["org", "campaign"],
            table: "campaigns",
            reference: &["org", "campaign"],
        }],
    },
    Table {
        file: "disbursements.csv",
        about: "payouts (purpose_effective: as corrected)",
        columns: &[
            text("org"),
            text("disbursement"),
            text("campaign"),
            text("currency"),
            text("beneficiary"),
            text("beneficiary_kind"),
            int("amount"),
            int("disbursed_before"),
            text("purpose"),
            added(text("purpose_effective"), BundleFormat::V4),
            text("evidence_sha256"),
            added(text("occurred_at"), BundleFormat::V3),
            int("seq"),
            text("time"),
        ],
        primary_key: &["org", "disbursement"],
        foreign_keys: &[
            ForeignKey {
                fields: &["org", "campaign"],
                table: "campaigns",
                reference: &["org", "campaign"],
            },
            ForeignKey {
                fields: &["org", "beneficiary"],
                table: "beneficiaries",
                reference: &["org", "beneficiary"],
            },
        ],
    },
    Table {
        file: "flows.csv",
        about: "which donation funded which payout, and by how much",
        columns: &[
            text("org"),
            text("campaign"),
            text("currency"),
            text("donation"),
            text("disbursement"),
            text("beneficiary"),
            text("beneficiary_kind"),
            int("amount"),
            int("donation_seq"),
            int("disbursement_seq"),
        ],
        primary_key: &["org", "donation", "disbursement"],
        foreign_keys: &[
            ForeignKey {
                fields: &["org", "donation"],
                table: "donations",
                reference: &["org", "donation"],
            },
            ForeignKey {
                fields: &["org", "disbursement"],
                table: "disbursements",
                reference: &["org", "disbursement"],
            },
        ],
    },
    Table {
        file: "corrections.csv",
        about: "corrections of non-money fields",
        columns: &[
            text("org"),
            text("correction"),
            int("corrects"),
            text("field"),
            text("value"),
            int("seq"),
            text("time"),
        ],
        primary_key: &["org", "correction", "field"],
        foreign_keys: &[ForeignKey {
            fields: &["corrects"],
            table: "entries",
            reference: &["seq"],
        }],
    },
    Table {
        file: "org_keys.csv",
        about: "the charities' keys, as registered, stated by the operator and rotated",
        columns: &[
            text("org"),
            text("public_key"),
            text("signature"),
            added(text("set_by"), BundleFormat::V4),
            int("seq"),
            text("time"),
        ],
        primary_key: &["org", "seq"],
        foreign_keys: &[ForeignKey {
            fields: &["org"],
            table: "orgs",
            reference: &["org"],
        }],
    },
    Table {
        file: "acknowledgements.csv",
        about: "the beneficiaries' signed acknowledgements and disputes of payouts",
        columns: &[
            text("org"),
            text("disbursement"),
            text("beneficiary"),
            text("status"),
            int("amount_received"),
            text("signature"),
            int("seq"),
            text("time"),
        ],
        primary_key: &["org", "disbursement"],
        foreign_keys: &[ForeignKey {
            fields: &["org", "disbursement"],
            table: "disbursements",
            reference: &["org", "disbursement"],
        }],
    },
    Table {
        file: "reports.csv",
        about: "the charities' signed reports",
        columns: &[
            text("org"),
            text("report"),
            int("from_size"),
            int("to_size"),
            text("document_sha256"),
            text("signature"),
            int("seq"),
            text("time"),
        ],
        primary_key: &["org", "report"],
        foreign_keys: &[ForeignKey {
            fields: &["org"],
            table: "orgs",
            reference: &["org"],
        }],
    },
    Table {
        file: "report_figures.csv",
        about: "every figure of every signed report",
        columns: &[
            text("org"),
            text("report"),
            int("position"),
            text("campaign"),
            text("beneficiary_kind"),
            text("currency"),
            int("received"),
            int("fees"),
            int("net"),
            int("disbursed"),
            int("held"),
        ],
        primary_key: &["org", "report", "position"],
        foreign_keys: &[ForeignKey {
            fields: &["org", "report"],
            table: "reports",
            reference: &["org", "report"],
        }],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_columns_that_exist() {
        for t in &TABLES {
            let has = |table: &Table, name: &str| table.columns.iter().any(|c| c.name == name);
            for key in t.primary_key {
                assert!(has(t, key), "{}: primary key {key}", t.file);
            }
            for fk in t.foreign_keys {
                let other = table(&format!("{}.csv", fk.table)).expect("referenced table");
                for (field, reference) in fk.fields.iter().zip(fk.reference) {
                    assert!(has(t, field), "{}: {field}", t.file);
                    assert!(has(other, reference), "{}: {reference}", other.file);
                }
            }
        }
    }
}
