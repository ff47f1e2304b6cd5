//! A record as the log says it: [`Record`] (every entry kind), the fields it writes into
//! its entry ([`Record::entry_body`]) and how it is read back ([`Record::from_entry`]).
//! What a kind's entry holds is what `entry_body` writes: reading refuses any other field,
//! and any field not spelled as `entry_body` would spell it.

use serde_json::{Map, Value};

use super::attestations::{
    Acknowledgement, KIND_DISBURSEMENT_ACKNOWLEDGED, KIND_ORG_KEY_ROTATED, KIND_ORG_KEY_STATED,
    KIND_REPORT_PUBLISHED, KeyRotation, KeyStatement, Report,
};
use super::caps;
use super::fields::FieldError;
use super::money::{Amount, Currency};
use super::org::{KIND_ORG_REGISTERED, OrgRegistration};
use super::records::*;
use pennytrail_log::entry::Entry;

/// Fields the log derives from its state when it appends a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derived {
    Nothing,
    Donation {
        currency: Currency,
        net: Amount,
        received_before: Amount,
    },
    Disbursement {
        currency: Currency,
        disbursed_before: Amount,
    },
}

/// Every record kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Org(OrgRegistration),
    Beneficiary(Beneficiary),
    Campaign(Campaign),
    Statement(Statement),
    Donation(Donation),
    Disbursement(Disbursement),
    Correction(Correction),
    Acknowledgement(Acknowledgement),
    Report(Report),
    KeyRotation(KeyRotation),
    KeyStatement(KeyStatement),
}

fn put(body: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    body.insert(key.to_string(), value.into());
}

impl Record {
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Org(_) => KIND_ORG_REGISTERED,
            Record::Beneficiary(_) => KIND_BENEFICIARY_REGISTERED,
            Record::Campaign(_) => KIND_CAMPAIGN_OPENED,
            Record::Statement(_) => KIND_BENEFICIARIES_STATED,
            Record::Donation(_) => KIND_DONATION_RECEIVED,
            Record::Disbursement(_) => KIND_DISBURSEMENT_MADE,
            Record::Correction(_) => KIND_ENTRY_CORRECTED,
            Record::Acknowledgement(_) => KIND_DISBURSEMENT_ACKNOWLEDGED,
            Record::Report(_) => KIND_REPORT_PUBLISHED,
            Record::KeyRotation(_) => KIND_ORG_KEY_ROTATED,
            Record::KeyStatement(_) => KIND_ORG_KEY_STATED,
        }
    }

    /// The idempotency key of this record within `org`.
    pub fn key(&self, org: &str) -> RecordKey {
        let (scope, id) = match self {
            Record::Org(o) => (Scope::Org, o.id.clone()),
            Record::Beneficiary(b) => (Scope::Beneficiary, b.id.clone()),
            Record::Campaign(c) => (Scope::Campaign, c.id.clone()),
            Record::Statement(s) => (Scope::Statement, s.idempotency_id()),
            Record::Donation(d) => (Scope::Donation, d.id.clone()),
            Record::Disbursement(x) => (Scope::Disbursement, x.id.clone()),
            Record::Correction(c) => (Scope::Correction, c.id.clone()),
            Record::Acknowledgement(a) => (Scope::Acknowledgement, a.disbursement.clone()),
            Record::Report(r) => (Scope::Report, r.id.clone()),
            Record::KeyRotation(k) => (Scope::OrgKey, k.id()),
            Record::KeyStatement(k) => (Scope::OrgKey, k.id()),
        };
        RecordKey {
            org: org.to_string(),
            scope,
            id,
        }
    }

    /// The record as its entry will say it: a donation sent without a currency gets the
    /// campaign's, exactly as [`Record::from_entry`] reads it back. Replays are compared
    /// against this form, whether the original is committed or still in the same batch.
    pub fn as_logged(&self, derived: &Derived) -> Record {
        match (self, derived) {
            (Record::Donation(d), Derived::Donation { currency, .. }) => {
                Record::Donation(Donation {
                    currency: Some(*currency),
                    ..d.clone()
                })
            }
            _ => self.clone(),
        }
    }

    /// Whether a new request says the same as this logged record (a replay). A donation
    /// sent without a currency means the campaign's, so it matches the logged currency.
    pub fn same_request(&self, request: &Record) -> bool {
        match (self, request) {
            (Record::Donation(logged), Record::Donation(new)) if new.currency.is_none() => {
                Donation {
                    currency: None,
                    ..logged.clone()
                } == *new
            }
            _ => self == request,
        }
    }

    /// The entry's own fields (the sequencer adds the common ones, `org` included).
    pub fn entry_body(&self, derived: &Derived) -> Map<String, Value> {
        let mut b = Map::new();
        match (self, derived) {
            (Record::Org(o), _) => return o.entry_body(),
            (Record::Beneficiary(x), _) => {
                put(&mut b, "beneficiary", x.id.clone());
                put(&mut b, "label", x.label.clone());
                put(&mut b, "beneficiary_kind", x.kind.as_str());
                put(&mut b, "country", x.country.clone());
                if let Some(k) = &x.public_key {
                    put(&mut b, "public_key", k.clone());
                }
            }
            (Record::Campaign(c), _) => {
                put(&mut b, "campaign", c.id.clone());
                put(&mut b, "title", c.title.clone());
                put(&mut b, "purpose", c.purpose.clone());
                put(&mut b, "currency", c.currency.code());
                put(&mut b, "beneficiaries", c.beneficiaries.clone());
                c.limits.write(&mut b);
            }
            (Record::Statement(s), _) => {
                put(&mut b, "campaign", s.campaign.clone());
                put(&mut b, "beneficiaries", s.beneficiaries.clone());
            }
            (
                Record::Donation(d),
                Derived::Donation {
                    currency,
                    net,
                    received_before,
                },
            ) => {
                put(&mut b, "donation", d.id.clone());
                put(&mut b, "campaign", d.campaign.clone());
                put(&mut b, "currency", currency.code());
                put(&mut b, "amount", d.amount.minor_units());
                put(&mut b, "fee", d.fee.minor_units());
                put(&mut b, "net", net.minor_units());
                put(&mut b, "received_before", received_before.minor_units());
                put(&mut b, "channel", d.channel.clone());
                if let Some(c) = &d.donor_commitment {
                    put(&mut b, "donor_commitment", c.clone());
                }
                if let Some(t) = &d.occurred_at {
                    put(&mut b, "occurred_at", t.clone());
                }
            }
            (
                Record::Disbursement(x),
                Derived::Disbursement {
                    currency,
                    disbursed_before,
                },
            ) => {
                put(&mut b, "disbursement", x.id.clone());
                put(&mut b, "campaign", x.campaign.clone());
                put(&mut b, "currency", currency.code());
                put(&mut b, "beneficiary", x.beneficiary.clone());
                put(&mut b, "amount", x.amount.minor_units());
                put(&mut b, "disbursed_before", disbursed_before.minor_units());
                put(&mut b, "purpose", x.purpose.clone());
                if let Some(e) = &x.evidence_sha256 {
                    put(&mut b, "evidence_sha256", e.clone());
                }
                if let Some(t) = &x.occurred_at {
                    put(&mut b, "occurred_at", t.clone());
                }
            }
            (Record::Correction(c), _) => {
                put(&mut b, "correction", c.id.clone());
                put(&mut b, "corrects", c.corrects);
                for (name, value) in &c.fields {
                    put(&mut b, name, value.clone());
                }
            }
            (Record::Acknowledgement(a), _) => return a.body(),
            (Record::Report(r), _) => return r.body(),
            (Record::KeyRotation(k), _) => return k.body(),
            (Record::KeyStatement(k), _) => return k.body(),
            (record, derived) => unreachable!("{} cannot take {derived:?}", record.kind()),
        }
        b
    }

    /// Reads a record and its derived fields back from a logged entry, checking every
    /// field as strictly as a client's request (so the verifier applies the same rules).
    pub fn from_entry(entry: &Entry) -> Result<(Record, Derived), FieldError> {
        let reader = EntryReader::new(entry);
        let mut derived = Derived::Nothing;
        let record = match entry.kind.as_str() {
            KIND_ORG_REGISTERED => {
                Record::Org(OrgRegistration::parse(super::org::OrgRegistrationInput {
                    id: reader.org()?,
                    name: reader.text("name")?,
                    country: reader.text("country")?,
                    charity_number: reader.optional_text("charity_number")?,
                    public_key: reader.optional_text("public_key")?,
                })?)
            }
            KIND_BENEFICIARY_REGISTERED => {
                Record::Beneficiary(Beneficiary::parse(BeneficiaryInput {
                    id: reader.text("beneficiary")?,
                    label: reader.text("label")?,
                    kind: reader.text("beneficiary_kind")?,
                    country: reader.text("country")?,
                    public_key: reader.optional_text("public_key")?,
                })?)
            }
            KIND_CAMPAIGN_OPENED => Record::Campaign(Campaign::parse(CampaignInput {
                id: reader.text("campaign")?,
                title: reader.text("title")?,
                purpose: reader.text("purpose")?,
                currency: reader.text("currency")?,
                beneficiaries: reader.texts("beneficiaries")?,
                max_per_person_per_day: reader.optional_int(caps::MAX_PER_PERSON_PER_DAY)?,
                max_per_person_per_month: reader.optional_int(caps::MAX_PER_PERSON_PER_MONTH)?,
                max_payouts_per_person_per_day: reader
                    .optional_int(caps::MAX_PAYOUTS_PER_PERSON_PER_DAY)?,
            })?),
            KIND_BENEFICIARIES_STATED => Record::Statement(Statement::parse(
                &reader.text("campaign")?,
                StatementInput {
                    beneficiaries: reader.texts("beneficiaries")?,
                },
            )?),
            KIND_DONATION_RECEIVED => {
                let donation = Donation::parse(
                    DonationInput {
                        id: reader.text("donation")?,
                        campaign: reader.text("campaign")?,
                        amount: reader.int("amount")?,
                        fee: reader.int("fee")?,
                        currency: Some(reader.text("currency")?),
                        channel: reader.text("channel")?,
                        donor_ref: None,
                        donor_commitment: reader.optional_text("donor_commitment")?,
                        occurred_at: reader.optional_text("occurred_at")?,
                    },
                    |_| unreachable!("entries carry commitments, never references"),
                )?;
                derived = Derived::Donation {
                    currency: donation
                        .currency
                        .ok_or_else(|| FieldError::new("currency", "missing"))?,
                    net: Amount::non_negative("net", reader.int("net")?)?,
                    received_before: Amount::non_negative(
                        "received_before",
                        reader.int("received_before")?,
                    )?,
                };
                Record::Donation(donation)
            }
            KIND_DISBURSEMENT_MADE => {
                let disbursement = Disbursement::parse(DisbursementInput {
                    id: reader.text("disbursement")?,
                    campaign: reader.text("campaign")?,
                    beneficiary: reader.text("beneficiary")?,
                    amount: reader.int("amount")?,
                    purpose: reader.text("purpose")?,
                    evidence_sha256: reader.optional_text("evidence_sha256")?,
                    occurred_at: reader.optional_text("occurred_at")?,
                })?;
                derived = Derived::Disbursement {
                    currency: Currency::parse("currency", &reader.text("currency")?)?,
                    disbursed_before: Amount::non_negative(
                        "disbursed_before",
                        reader.int("disbursed_before")?,
                    )?,
                };
                Record::Disbursement(disbursement)
            }
            KIND_ENTRY_CORRECTED => {
                let mut fields_map = Map::new();
                for (k, v) in &entry.fields {
                    if !["correction", "corrects"].contains(&k.as_str())
                        && !pennytrail_log::entry::COMMON_FIELDS.contains(&k.as_str())
                    {
                        fields_map.insert(k.clone(), v.clone());
                    }
                }
                Record::Correction(Correction::parse(CorrectionInput {
                    id: reader.text("correction")?,
                    corrects: u64::try_from(reader.int("corrects")?)
                        .map_err(|_| FieldError::new("corrects", "must be a seq"))?,
                    fields: fields_map,
                })?)
            }
            KIND_DISBURSEMENT_ACKNOWLEDGED => {
                Record::Acknowledgement(Acknowledgement::from_fields(&entry.fields)?)
            }
            KIND_REPORT_PUBLISHED => {
                let mut own = entry.fields.clone();
                for common in pennytrail_log::entry::COMMON_FIELDS {
                    own.remove(common);
                }
                Record::Report(Report::from_fields(&own)?)
            }
            KIND_ORG_KEY_ROTATED => Record::KeyRotation(KeyRotation::from_fields(&entry.fields)?),
            KIND_ORG_KEY_STATED => Record::KeyStatement(KeyStatement::from_fields(&entry.fields)?),
            other => {
                return Err(FieldError::new(
                    "kind",
                    format!("unknown entry kind {other:?}"),
                ));
            }
        };
        // Every field of the entry must be one this kind writes: the fields a kind has are
        // the ones `entry_body` writes, and nowhere else.
        let rebuilt = record.entry_body(&derived);
        if let Some(extra) = entry.fields.keys().find(|k| {
            !pennytrail_log::entry::COMMON_FIELDS.contains(&k.as_str()) && !rebuilt.contains_key(*k)
        }) {
            return Err(FieldError::new(
                extra.clone(),
                format!("not a field of {}", entry.kind),
            ));
        }
        // …and spelled as it writes it. Reading is lenient where a client's request may be
        // (a key id in uppercase, a key text with a line end): such an entry would be a
        // second entry for the same record, with a key text other readers refuse.
        if let Some((field, written)) = rebuilt
            .iter()
            .find(|(k, v)| entry.fields.get(k.as_str()) != Some(*v))
        {
            return Err(FieldError::new(
                field.clone(),
                format!("not in the form the log writes it ({written})"),
            ));
        }
        Ok((record, derived))
    }
}

/// Typed access to an entry's fields, naming the field on any error.
struct EntryReader<'a> {
    entry: &'a Entry,
}

impl<'a> EntryReader<'a> {
    fn new(entry: &'a Entry) -> Self {
        EntryReader { entry }
    }

    fn org(&self) -> Result<String, FieldError> {
        self.entry
            .org
            .clone()
            .ok_or_else(|| FieldError::new("org", "missing"))
    }

    fn text(&self, field: &str) -> Result<String, FieldError> {
        self.optional_text(field)?
            .ok_or_else(|| FieldError::new(field, "missing"))
    }

    fn optional_text(&self, field: &str) -> Result<Option<String>, FieldError> {
        match self.entry.fields.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(FieldError::new(field, "must be a string")),
        }
    }

    fn int(&self, field: &str) -> Result<i64, FieldError> {
        self.entry
            .int_field(field)
            .ok_or_else(|| FieldError::new(field, "must be an integer"))
    }

    fn optional_int(&self, field: &str) -> Result<Option<i64>, FieldError> {
        match self.entry.fields.get(field) {
            None => Ok(None),
            Some(_) => self.int(field).map(Some),
        }
    }

    fn texts(&self, field: &str) -> Result<Vec<String>, FieldError> {
        let items = self
            .entry
            .fields
            .get(field)
            .and_then(Value::as_array)
            .ok_or_else(|| FieldError::new(field, "must be a list of ids"))?;
        items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| FieldError::new(format!("{field}[{i}]"), "must be a string"))
            })
            .collect()
    }
}
