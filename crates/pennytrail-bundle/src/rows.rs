//! The rows of every bundle CSV, in one place: the exporter, the verifier (through
//! [`super::derive::Deriver`]) and the API's streamed CSVs (`GET /v1/exports/{file}`) all
//! write rows through these functions, so a file streamed from the API is byte for byte
//! the bundle's file over the same entries.

use super::csv_out::Cell;
use super::effective::Effective;
use pennytrail_ledger::records::{Derived, Record};
use pennytrail_log::entry::Entry;
use pennytrail_log::hash::Hash;

/// An integer cell that may be empty.
fn optional_int<'a>(value: Option<i64>) -> Cell<'a> {
    value.map_or(Cell::Plain(""), Cell::Int)
}

/// Where rows go: `file` is one of [`crate::tables::TABLES`].
pub trait RowSink {
    type Error;
    fn row(&mut self, file: &'static str, cells: &[Cell<'_>]) -> Result<(), Self::Error>;
}

/// The `entries.csv` row of an entry: `prev` is the previous entry's leaf hash.
pub fn entry_row<S: RowSink>(
    sink: &mut S,
    e: &Entry,
    bytes: &[u8],
    leaf: &Hash,
    prev: &Hash,
) -> Result<(), S::Error> {
    let json = std::str::from_utf8(bytes).expect("canonical entries are UTF-8");
    sink.row(
        "entries.csv",
        &[
            Cell::Int(e.seq as i64),
            Cell::Plain(&e.time.format()),
            Cell::Plain(&e.kind),
            Cell::Plain(e.org.as_deref().unwrap_or_default()),
            Cell::Plain(&leaf.to_hex()),
            Cell::Plain(&prev.to_hex()),
            Cell::Plain(json),
        ],
    )
}

/// The rows one record writes when its entry is read, in every file but `entries.csv`,
/// `flows.csv` and `campaigns.csv` (which need the allocation rule or the totals at the
/// end). `beneficiary_kind` is the kind of a disbursement's beneficiary ("" otherwise).
pub fn record_rows<S: RowSink>(
    sink: &mut S,
    e: &Entry,
    record: &Record,
    derived: &Derived,
    beneficiary_kind: &str,
    effective: &Effective,
) -> Result<(), S::Error> {
    let seq = e.seq as i64;
    let time = e.time.format();
    let org = e.org.as_deref().unwrap_or_default();
    match (record, derived) {
        (Record::Org(o), _) => {
            sink.row(
                "orgs.csv",
                &[
                    Cell::Plain(&o.id),
                    Cell::Text(&o.name),
                    Cell::Text(effective.of(e.seq, "name", &o.name)),
                    Cell::Plain(&o.country),
                    Cell::Opt(o.charity_number.as_deref()),
                    Cell::Opt(
                        o.charity_number
                            .as_deref()
                            .map(|n| effective.of(e.seq, "charity_number", n))
                            .or_else(|| effective.of_added(e.seq, "charity_number")),
                    ),
                    Cell::Opt(o.public_key.as_deref()),
                    Cell::Int(seq),
                    Cell::Plain(&time),
                ],
            )?;
            match &o.public_key {
                Some(key) => sink.row(
                    "org_keys.csv",
                    &[
                        Cell::Plain(&o.id),
                        Cell::Plain(key),
                        Cell::Plain(""),
                        Cell::Plain("registered"),
                        Cell::Int(seq),
                        Cell::Plain(&time),
                    ],
                ),
                None => Ok(()),
            }
        }
        (Record::KeyStatement(k), _) => sink.row(
            "org_keys.csv",
            &[
                Cell::Plain(org),
                Cell::Plain(&k.public_key),
                Cell::Plain(""),
                Cell::Plain("stated"),
                Cell::Int(seq),
                Cell::Plain(&time),
            ],
        ),
        (Record::KeyRotation(k), _) => sink.row(
            "org_keys.csv",
            &[
                Cell::Plain(org),
                Cell::Plain(&k.public_key),
                Cell::Plain(&k.signature),
                Cell::Plain("rotated"),
                Cell::Int(seq),
                Cell::Plain(&time),
            ],
        ),
        (Record::Acknowledgement(a), _) => sink.row(
            "acknowledgements.csv",
            &[
                Cell::Plain(org),
                Cell::Plain(&a.disbursement),
                Cell::Plain(&a.beneficiary),
                Cell::Plain(a.status.as_str()),
                Cell::Int(a.amount_received.minor_units()),
                Cell::Plain(&a.signature),
                Cell::Int(seq),
                Cell::Plain(&time),
            ],
        ),
        (Record::Report(r), _) => {
            sink.row(
                "reports.csv",
                &[
                    Cell::Plain(org),
                    Cell::Plain(&r.id),
                    Cell::Int(r.from_size as i64),
                    Cell::Int(r.to_size as i64),
                    Cell::Opt(r.document_sha256.as_deref()),
                    Cell::Plain(&r.signature),
                    Cell::Int(seq),
                    Cell::Plain(&time),
                ],
            )?;
            let mut position = 0;
            for c in &r.figures.campaigns {
                position += 1;
                sink.row(
                    "report_figures.csv",
                    &[
                        Cell::Plain(org),
                        Cell::Plain(&r.id),
                        Cell::Int(position),
                        Cell::Plain(&c.campaign),
                        Cell::Plain(""),
                        Cell::Plain(&c.currency),
                        Cell::Int(c.received),
                        Cell::Int(c.fees),
                        Cell::Int(c.net),
                        Cell::Int(c.disbursed),
                        Cell::Int(c.held),
                    ],
                )?;
            }
            for k in &r.figures.beneficiary_kinds {
                position += 1;
                sink.row(
                    "report_figures.csv",
                    &[
                        Cell::Plain(org),
                        Cell::Plain(&r.id),
                        Cell::Int(position),
                        Cell::Plain(""),
                        Cell::Plain(&k.beneficiary_kind),
                        Cell::Plain(&k.currency),
                        Cell::Plain(""),
                        Cell::Plain(""),
                        Cell::Plain(""),
                        Cell::Int(k.disbursed),
                        Cell::Plain(""),
                    ],
                )?;
            }
            Ok(())
        }
        (Record::Beneficiary(b), _) => sink.row(
            "beneficiaries.csv",
            &[
                Cell::Plain(org),
                Cell::Plain(&b.id),
                Cell::Text(&b.label),
                Cell::Text(effective.of(e.seq, "label", &b.label)),
                Cell::Plain(b.kind.as_str()),
                Cell::Plain(&b.country),
                Cell::Opt(b.public_key.as_deref()),
                Cell::Int(seq),
                Cell::Plain(&time),
            ],
        ),
        (Record::Campaign(c), _) => stated_rows(sink, org, &c.id, &c.beneficiaries, seq),
        (Record::Statement(s), _) => stated_rows(sink, org, &s.campaign, &s.beneficiaries, seq),
        (
            Record::Donation(d),
            Derived::Donation {
                currency,
                net,
                received_before,
            },
        ) => sink.row(
            "donations.csv",
            &[
                Cell::Plain(org),
                Cell::Plain(&d.id),
                Cell::Plain(&d.campaign),
                Cell::Plain(currency.code()),
                Cell::Int(d.amount.minor_units()),
                Cell::Int(d.fee.minor_units()),
                Cell::Int(net.minor_units()),
                Cell::Int(received_before.minor_units()),
                Cell::Plain(&d.channel),
                Cell::Opt(d.donor_commitment.as_deref()),
                Cell::Opt(d.occurred_at.as_deref()),
                Cell::Int(seq),
                Cell::Plain(&time),
            ],
        ),
        (
            Record::Disbursement(x),
            Derived::Disbursement {
                currency,
                disbursed_before,
            },
        ) => sink.row(
            "disbursements.csv",
            &[
                Cell::Plain(org),
                Cell::Plain(&x.id),
                Cell::Plain(&x.campaign),
                Cell::Plain(currency.code()),
                Cell::Plain(&x.beneficiary),
                Cell::Plain(beneficiary_kind),
                Cell::Int(x.amount.minor_units()),
                Cell::Int(disbursed_before.minor_units()),
                Cell::Text(&x.purpose),
                Cell::Text(effective.of(e.seq, "purpose", &x.purpose)),
                Cell::Opt(x.evidence_sha256.as_deref()),
                Cell::Opt(x.occurred_at.as_deref()),
                Cell::Int(seq),
                Cell::Plain(&time),
            ],
        ),
        (Record::Correction(c), _) => {
            for (field, value) in &c.fields {
                sink.row(
                    "corrections.csv",
                    &[
                        Cell::Plain(org),
                        Cell::Plain(&c.id),
                        Cell::Int(c.corrects as i64),
                        Cell::Plain(field),
                        Cell::Text(value),
                        Cell::Int(seq),
                        Cell::Plain(&time),
                    ],
                )?;
            }
            Ok(())
        }
        (Record::Donation(_) | Record::Disbursement(_), _) => {
            unreachable!("donations and disbursements carry derived fields")
        }
    }
}

fn stated_rows<S: RowSink>(
    sink: &mut S,
    org: &str,
    campaign: &str,
    beneficiaries: &[String],
    seq: i64,
) -> Result<(), S::Error> {
    for b in beneficiaries {
        sink.row(
            "stated_beneficiaries.csv",
            &[
                Cell::Plain(org),
                Cell::Plain(campaign),
                Cell::Plain(b),
                Cell::Int(seq),
            ],
        )?;
    }
    Ok(())
}

/// The campaign a record belongs to, if any (for the API's campaign filter).
pub fn record_campaign(record: &Record) -> Option<&str> {
    match record {
        Record::Campaign(c) => Some(&c.id),
        Record::Statement(s) => Some(&s.campaign),
        Record::Donation(d) => Some(&d.campaign),
        Record::Disbursement(x) => Some(&x.campaign),
        Record::Org(_)
        | Record::Beneficiary(_)
        | Record::Correction(_)
        | Record::Acknowledgement(_)
        | Record::Report(_)
        | Record::KeyRotation(_)
        | Record::KeyStatement(_) => None,
    }
}

/// One allocation of the FIFO rule: `amount` of donation `donation` (entry
/// `donation_seq`) went into a disbursement.
pub struct Flow<'a> {
    pub donation: &'a str,
    pub donation_seq: u64,
    pub amount: i64,
}

/// A `flows.csv` row: part of disbursement entry `e` (whose record is `x`) funded by
/// `flow`.
pub fn flow_row<S: RowSink>(
    sink: &mut S,
    e: &Entry,
    x: &pennytrail_ledger::records::Disbursement,
    currency: &str,
    beneficiary_kind: &str,
    flow: &Flow<'_>,
) -> Result<(), S::Error> {
    sink.row(
        "flows.csv",
        &[
            Cell::Plain(e.org.as_deref().unwrap_or_default()),
            Cell::Plain(&x.campaign),
            Cell::Plain(currency),
            Cell::Plain(flow.donation),
            Cell::Plain(&x.id),
            Cell::Plain(&x.beneficiary),
            Cell::Plain(beneficiary_kind),
            Cell::Int(flow.amount),
            Cell::Int(flow.donation_seq as i64),
            Cell::Int(e.seq as i64),
        ],
    )
}

/// What `campaigns.csv` says of a campaign: how it was opened, and its totals at the
/// end of the covered entries.
pub struct CampaignLine {
    pub org: String,
    pub id: String,
    pub title: String,
    pub purpose: String,
    pub currency: String,
    pub seq: u64,
    pub time: String,
}

impl CampaignLine {
    /// The campaign opened by entry `e`.
    pub fn opened(e: &Entry, c: &pennytrail_ledger::records::Campaign) -> CampaignLine {
        CampaignLine {
            org: e.org.clone().unwrap_or_default(),
            id: c.id.clone(),
            title: c.title.clone(),
            purpose: c.purpose.clone(),
            currency: c.currency.code().to_string(),
            seq: e.seq,
            time: e.time.format(),
        }
    }
}

/// A `campaigns.csv` row.
pub fn campaign_row<S: RowSink>(
    sink: &mut S,
    c: &CampaignLine,
    t: &pennytrail_ledger::rules::CampaignTotals,
    effective: &Effective,
) -> Result<(), S::Error> {
    sink.row(
        "campaigns.csv",
        &[
            Cell::Plain(&c.org),
            Cell::Plain(&c.id),
            Cell::Text(&c.title),
            Cell::Text(effective.of(c.seq, "title", &c.title)),
            Cell::Text(&c.purpose),
            Cell::Text(effective.of(c.seq, "purpose", &c.purpose)),
            Cell::Plain(&c.currency),
            Cell::Int(t.received.minor_units()),
            Cell::Int(t.fees.minor_units()),
            Cell::Int(t.net.minor_units()),
            Cell::Int(t.disbursed.minor_units()),
            Cell::Int(t.held()),
            Cell::Int(t.donations as i64),
            Cell::Int(t.disbursements as i64),
            optional_int(t.limits.max_per_person_per_day.map(|a| a.minor_units())),
            optional_int(t.limits.max_per_person_per_month.map(|a| a.minor_units())),
            optional_int(t.limits.max_payouts_per_person_per_day.map(|n| n as i64)),
            Cell::Int(c.seq as i64),
            Cell::Plain(&c.time),
        ],
    )
}
