//! The records a charity states, one per entry kind: its unchecked input (what an API
//! request body or a logged entry states), the validated record, the entry fields it
//! becomes, and how it is read back from an entry.
//!
//! Fields the log derives from its state (a donation's `net` and `received_before`, a
//! disbursement's `disbursed_before`, the campaign's `currency`) are [`Derived`]: computed
//! by [`super::rules::apply`], never taken from a client.

use serde_json::{Map, Value};

use super::attestations::{Acknowledgement, KeyRotation, Report};
pub use super::attestations::{
    KIND_DISBURSEMENT_ACKNOWLEDGED, KIND_ORG_KEY_ROTATED, KIND_REPORT_PUBLISHED,
};
use super::fields::{self, FieldError, MAX_NAME_CHARS};
use super::money::{Amount, Currency};
use super::org::{KIND_ORG_REGISTERED, MAX_CHARITY_NUMBER_CHARS, OrgRegistration};
use pennytrail_log::entry::Entry;
use pennytrail_log::hash::Hash;

pub const KIND_BENEFICIARY_REGISTERED: &str = "beneficiary.registered";
pub const KIND_CAMPAIGN_OPENED: &str = "campaign.opened";
pub const KIND_BENEFICIARIES_STATED: &str = "campaign.beneficiaries_stated";
pub const KIND_DONATION_RECEIVED: &str = "donation.received";
pub const KIND_DISBURSEMENT_MADE: &str = "disbursement.made";
pub const KIND_ENTRY_CORRECTED: &str = "entry.corrected";

/// Longest campaign purpose or disbursement purpose, in characters. Four bytes per
/// character at most keeps it under 4 KiB of a 16 KiB entry.
pub const MAX_PURPOSE_CHARS: usize = 1000;

/// Most beneficiary ids one entry may state: 100 ids of at most 66 encoded bytes is
/// 6.6 KiB, which leaves room for a title and purpose within the 16 KiB entry limit.
pub const MAX_STATED_PER_ENTRY: usize = 100;

/// Longest channel name (`card`, `sms`, `mobile-money`, …); channels are ids.
pub const MAX_CHANNEL_CHARS: usize = 32;

/// An idempotency key: a client-chosen id within an org and a scope (the record type).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordKey {
    pub org: String,
    pub scope: Scope,
    pub id: String,
}

/// Declares the scopes with their names.
macro_rules! scopes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $name:literal,)+) => {
        /// The record type an id is unique within, as the store keeps it (`record_ids`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Scope {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl Scope {
            /// Every scope, in the order declared.
            pub const ALL: &'static [Scope] = &[$(Scope::$variant),+];

            /// The scope's name, as stored and as the store's queries bind it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Scope::$variant => $name,)+
                }
            }

            /// The scope named `name`, as read back from the store.
            pub fn parse(name: &str) -> Option<Scope> {
                Scope::ALL.iter().copied().find(|s| s.as_str() == name)
            }
        }
    };
}

scopes! {
    /// An org's registration (its id is the org's).
    Org = "org",
    /// A beneficiary.
    Beneficiary = "beneficiary",
    /// A campaign.
    Campaign = "campaign",
    /// Beneficiaries stated for a campaign (the id hashes the list).
    Statement = "statement",
    /// A donation; the store finds a donation by its id through this scope.
    Donation = "donation",
    /// A disbursement.
    Disbursement = "disbursement",
    /// A correction.
    Correction = "correction",
    /// An acknowledgement (its id is the disbursement's).
    Acknowledgement = "acknowledgement",
    /// A report.
    Report = "report",
    /// An org key rotation (the id names the new key).
    OrgKey = "org-key",
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a beneficiary is. `overhead` and `refunds` make those flows visible up front.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BeneficiaryKind {
    Person,
    Organization,
    Supplier,
    Overhead,
    Refunds,
}

impl BeneficiaryKind {
    pub const ALL: [BeneficiaryKind; 5] = [
        BeneficiaryKind::Person,
        BeneficiaryKind::Organization,
        BeneficiaryKind::Supplier,
        BeneficiaryKind::Overhead,
        BeneficiaryKind::Refunds,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BeneficiaryKind::Person => "person",
            BeneficiaryKind::Organization => "organization",
            BeneficiaryKind::Supplier => "supplier",
            BeneficiaryKind::Overhead => "overhead",
            BeneficiaryKind::Refunds => "refunds",
        }
    }

    pub fn parse(field: &str, value: &str) -> Result<BeneficiaryKind, FieldError> {
        BeneficiaryKind::ALL
            .into_iter()
            .find(|k| k.as_str() == value)
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "must be one of person, organization, supplier, overhead, refunds",
                )
            })
    }
}

/// A beneficiary an org registers.
#[derive(Debug, Clone)]
pub struct BeneficiaryInput {
    /// The beneficiary's id within its org, `[A-Za-z0-9][A-Za-z0-9._:-]{0,63}`.
    pub id: String,
    /// Public label, 1 to 200 characters.
    pub label: String,
    /// One of `person`, `organization`, `supplier`, `overhead`, `refunds`.
    pub kind: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// A C2SP verifier key of the beneficiary's, as the org states it.
    pub public_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beneficiary {
    pub id: String,
    pub label: String,
    pub kind: BeneficiaryKind,
    pub country: String,
    pub public_key: Option<String>,
}

impl Beneficiary {
    pub fn parse(input: BeneficiaryInput) -> Result<Beneficiary, FieldError> {
        Ok(Beneficiary {
            id: fields::id("id", &input.id)?,
            label: fields::text("label", &input.label, MAX_NAME_CHARS)?,
            kind: BeneficiaryKind::parse("kind", &input.kind)?,
            country: fields::country("country", &input.country)?,
            public_key: input
                .public_key
                .map(|k| fields::verifier_key("public_key", &k))
                .transpose()?,
        })
    }
}

/// A campaign (restricted fund) an org opens.
#[derive(Debug, Clone)]
pub struct CampaignInput {
    /// The campaign's id within its org.
    pub id: String,
    /// Public title, 1 to 200 characters.
    pub title: String,
    /// What the money is for, 1 to 1000 characters.
    pub purpose: String,
    /// ISO 4217 code; every amount of the campaign is in its minor units.
    pub currency: String,
    /// Ids of registered beneficiaries who may receive its money (at most 100, no repeats;
    /// state more later).
    pub beneficiaries: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: String,
    pub title: String,
    pub purpose: String,
    pub currency: Currency,
    pub beneficiaries: Vec<String>,
}

/// A list of beneficiary ids: valid ids, no repeats, at most [`MAX_STATED_PER_ENTRY`].
fn beneficiary_ids(field: &str, ids: &[String]) -> Result<Vec<String>, FieldError> {
    if ids.len() > MAX_STATED_PER_ENTRY {
        return Err(FieldError::new(
            field,
            format!(
                "at most {MAX_STATED_PER_ENTRY} beneficiaries per request; state more with further requests"
            ),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let id = fields::id(&format!("{field}[{i}]"), id)?;
        if out.contains(&id) {
            return Err(FieldError::new(
                format!("{field}[{i}]"),
                format!("{id:?} is listed twice"),
            ));
        }
        out.push(id);
    }
    Ok(out)
}

impl Campaign {
    pub fn parse(input: CampaignInput) -> Result<Campaign, FieldError> {
        Ok(Campaign {
            id: fields::id("id", &input.id)?,
            title: fields::text("title", &input.title, MAX_NAME_CHARS)?,
            purpose: fields::text("purpose", &input.purpose, MAX_PURPOSE_CHARS)?,
            currency: Currency::parse("currency", &input.currency)?,
            beneficiaries: beneficiary_ids("beneficiaries", &input.beneficiaries)?,
        })
    }
}

/// More beneficiaries stated for a campaign.
#[derive(Debug, Clone)]
pub struct StatementInput {
    /// Ids of registered beneficiaries (1 to 100, no repeats).
    pub beneficiaries: Vec<String>,
}

/// More beneficiaries stated for a campaign (they can receive money from entries after this one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub campaign: String,
    pub beneficiaries: Vec<String>,
}

impl Statement {
    pub fn parse(campaign: &str, input: StatementInput) -> Result<Statement, FieldError> {
        let beneficiaries = beneficiary_ids("beneficiaries", &input.beneficiaries)?;
        if beneficiaries.is_empty() {
            return Err(FieldError::new(
                "beneficiaries",
                "state at least one beneficiary",
            ));
        }
        Ok(Statement {
            campaign: fields::id("campaign", campaign)?,
            beneficiaries,
        })
    }

    /// Statements have no client id; the same campaign and list is the same statement.
    pub fn idempotency_id(&self) -> String {
        let mut sorted = self.beneficiaries.clone();
        sorted.sort();
        let digest = pennytrail_log::hash::sha256(sorted.join("\n").as_bytes());
        format!("{}:{}", self.campaign, &digest.to_hex()[..32])
    }
}

/// A donation an org received.
#[derive(Debug, Clone)]
pub struct DonationInput {
    /// The donation's id within its org (its idempotency key).
    pub id: String,
    /// The campaign it was given to.
    pub campaign: String,
    /// Gross amount in minor units of the campaign's currency, at least 1.
    pub amount: i64,
    /// Payment fee in minor units, 0 to `amount`; `net` = `amount` - `fee`.
    pub fee: i64,
    /// ISO 4217 code; if given it must be the campaign's.
    pub currency: Option<String>,
    /// How it came in (`card`, `sms`, `mobile-money`, …): an id of at most 32 characters.
    pub channel: String,
    /// A donor's own reference (email, receipt number). Never stored: only its per-org
    /// HMAC reaches the log, as `donor_commitment`.
    pub donor_ref: Option<String>,
    /// A commitment the org computed itself (64 lowercase hex digits), instead of `donor_ref`.
    pub donor_commitment: Option<String>,
    /// When the donation was made: UTC with milliseconds, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    pub occurred_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Donation {
    pub id: String,
    pub campaign: String,
    pub amount: Amount,
    pub fee: Amount,
    /// As sent by the client; `None` means "the campaign's currency".
    pub currency: Option<Currency>,
    pub channel: String,
    pub donor_commitment: Option<String>,
    pub occurred_at: Option<String>,
}

/// 64 lowercase hex digits (a SHA-256 or HMAC-SHA256 output).
fn hex_digest(field: &str, value: &str) -> Result<String, FieldError> {
    Hash::from_hex(value)
        .map(|h| h.to_hex())
        .map_err(|_| FieldError::new(field, "must be 64 lowercase hex digits"))
}

impl Donation {
    /// Validates a donation; `commit_donor_ref` turns a donor reference into its
    /// commitment (it needs the server's secret), so the reference itself goes no further.
    pub fn parse(
        input: DonationInput,
        commit_donor_ref: impl FnOnce(&str) -> String,
    ) -> Result<Donation, FieldError> {
        let amount = Amount::positive("amount", input.amount)?;
        let fee = Amount::non_negative("fee", input.fee)?;
        if fee > amount {
            return Err(FieldError::new(
                "fee",
                format!("fee ({fee}) must not exceed amount ({amount})"),
            ));
        }
        let donor_commitment = match (input.donor_ref, input.donor_commitment) {
            (Some(_), Some(_)) => {
                return Err(FieldError::new(
                    "donor_commitment",
                    "send either donor_ref or donor_commitment, not both",
                ));
            }
            (Some(reference), None) => {
                super::donor::check_reference("donor_ref", &reference)?;
                Some(commit_donor_ref(&reference))
            }
            (None, Some(c)) => Some(hex_digest("donor_commitment", &c)?),
            (None, None) => None,
        };
        Ok(Donation {
            id: fields::id("id", &input.id)?,
            campaign: fields::id("campaign", &input.campaign)?,
            amount,
            fee,
            currency: input
                .currency
                .map(|c| Currency::parse("currency", &c))
                .transpose()?,
            channel: fields::id("channel", &input.channel)
                .and_then(|c| fields::text("channel", &c, MAX_CHANNEL_CHARS))?,
            donor_commitment,
            occurred_at: input
                .occurred_at
                .map(|t| {
                    pennytrail_log::time::UnixMillis::parse(&t)
                        .map(|_| t)
                        .map_err(|e| FieldError::new("occurred_at", e.to_string()))
                })
                .transpose()?,
        })
    }

    /// `amount` - `fee`.
    ///
    /// # Errors
    /// A fee above the amount (which [`Donation::parse`] refuses, but a donation can be
    /// built without it), naming `fee`.
    pub fn net(&self) -> Result<Amount, FieldError> {
        self.amount.checked_sub(self.fee).ok_or_else(|| {
            FieldError::new(
                "fee",
                format!(
                    "fee ({}) must not exceed amount ({})",
                    self.fee, self.amount
                ),
            )
        })
    }
}

/// A payment an org made from a campaign to one of its stated beneficiaries.
#[derive(Debug, Clone)]
pub struct DisbursementInput {
    /// The disbursement's id within its org (its idempotency key).
    pub id: String,
    /// The campaign paying.
    pub campaign: String,
    /// A beneficiary stated for the campaign before this entry.
    pub beneficiary: String,
    /// Minor units of the campaign's currency, at least 1, at most what it still holds.
    pub amount: i64,
    /// What it paid for, 1 to 1000 characters.
    pub purpose: String,
    /// SHA-256 (64 lowercase hex digits) of an invoice or other evidence kept elsewhere.
    pub evidence_sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disbursement {
    pub id: String,
    pub campaign: String,
    pub beneficiary: String,
    pub amount: Amount,
    pub purpose: String,
    pub evidence_sha256: Option<String>,
}

impl Disbursement {
    pub fn parse(input: DisbursementInput) -> Result<Disbursement, FieldError> {
        Ok(Disbursement {
            id: fields::id("id", &input.id)?,
            campaign: fields::id("campaign", &input.campaign)?,
            beneficiary: fields::id("beneficiary", &input.beneficiary)?,
            amount: Amount::positive("amount", input.amount)?,
            purpose: fields::text("purpose", &input.purpose, MAX_PURPOSE_CHARS)?,
            evidence_sha256: input
                .evidence_sha256
                .map(|e| hex_digest("evidence_sha256", &e))
                .transpose()?,
        })
    }
}

/// A correction of text fields of an earlier entry of the same org.
#[derive(Debug, Clone)]
pub struct CorrectionInput {
    /// The correction's id within its org (its idempotency key).
    pub id: String,
    /// Seq of the entry corrected.
    pub corrects: u64,
    /// New values of text fields of the corrected entry; money is never corrected.
    pub fields: Map<String, Value>,
}

/// A correction of non-money fields of an earlier entry of the same org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    pub id: String,
    pub corrects: u64,
    /// Field name → new text, sorted.
    pub fields: Vec<(String, String)>,
}

/// Which fields of which kind a correction may change (all text, none of them money or ids).
pub fn correctable_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        KIND_ORG_REGISTERED => &["name", "charity_number"],
        KIND_BENEFICIARY_REGISTERED => &["label"],
        KIND_CAMPAIGN_OPENED => &["title", "purpose"],
        KIND_DISBURSEMENT_MADE => &["purpose"],
        _ => &[],
    }
}

/// The longest a correctable field may be: as long as the field itself may be.
fn max_chars(field: &str) -> usize {
    match field {
        "purpose" => MAX_PURPOSE_CHARS,
        "charity_number" => MAX_CHARITY_NUMBER_CHARS,
        _ => MAX_NAME_CHARS,
    }
}

impl Correction {
    pub fn parse(input: CorrectionInput) -> Result<Correction, FieldError> {
        if input.fields.is_empty() {
            return Err(FieldError::new(
                "fields",
                "name at least one field to correct",
            ));
        }
        let mut fields_out = Vec::new();
        for (name, value) in &input.fields {
            let path = format!("fields.{name}");
            let text = value
                .as_str()
                .ok_or_else(|| FieldError::new(&path, "corrected values are text"))?;
            let text = if name == "channel" {
                fields::id(&path, text)?
            } else {
                text.to_string()
            };
            fields_out.push((name.clone(), fields::text(&path, &text, max_chars(name))?));
        }
        fields_out.sort();
        Ok(Correction {
            id: fields::id("id", &input.id)?,
            corrects: fields::seq("corrects", input.corrects)?,
            fields: fields_out,
        })
    }
}

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
            (record, derived) => unreachable!("{} cannot take {derived:?}", record.kind()),
        }
        b
    }

    /// Reads a record and its derived fields back from a logged entry, checking every
    /// field as strictly as a client's request (so the verifier applies the same rules).
    pub fn from_entry(entry: &Entry) -> Result<(Record, Derived), FieldError> {
        let reader = EntryReader::new(entry);
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
                let derived = Derived::Donation {
                    currency: donation
                        .currency
                        .ok_or_else(|| FieldError::new("currency", "missing"))?,
                    net: Amount::non_negative("net", reader.int("net")?)?,
                    received_before: Amount::non_negative(
                        "received_before",
                        reader.int("received_before")?,
                    )?,
                };
                reader.no_other_fields(KIND_DONATION_RECEIVED)?;
                return Ok((Record::Donation(donation), derived));
            }
            KIND_DISBURSEMENT_MADE => {
                let disbursement = Disbursement::parse(DisbursementInput {
                    id: reader.text("disbursement")?,
                    campaign: reader.text("campaign")?,
                    beneficiary: reader.text("beneficiary")?,
                    amount: reader.int("amount")?,
                    purpose: reader.text("purpose")?,
                    evidence_sha256: reader.optional_text("evidence_sha256")?,
                })?;
                let derived = Derived::Disbursement {
                    currency: Currency::parse("currency", &reader.text("currency")?)?,
                    disbursed_before: Amount::non_negative(
                        "disbursed_before",
                        reader.int("disbursed_before")?,
                    )?,
                };
                reader.no_other_fields(KIND_DISBURSEMENT_MADE)?;
                return Ok((Record::Disbursement(disbursement), derived));
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
            other => {
                return Err(FieldError::new(
                    "kind",
                    format!("unknown entry kind {other:?}"),
                ));
            }
        };
        // Every field of the entry must be one this kind writes.
        let rebuilt = record.entry_body(&Derived::Nothing);
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
        Ok((record, Derived::Nothing))
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

    fn no_other_fields(&self, kind: &str) -> Result<(), FieldError> {
        const DONATION: [&str; 10] = [
            "donation",
            "campaign",
            "currency",
            "amount",
            "fee",
            "net",
            "received_before",
            "channel",
            "donor_commitment",
            "occurred_at",
        ];
        const DISBURSEMENT: [&str; 8] = [
            "disbursement",
            "campaign",
            "currency",
            "beneficiary",
            "amount",
            "disbursed_before",
            "purpose",
            "evidence_sha256",
        ];
        let allowed: &[&str] = if kind == KIND_DONATION_RECEIVED {
            &DONATION
        } else {
            &DISBURSEMENT
        };
        match self.entry.fields.keys().find(|k| {
            !pennytrail_log::entry::COMMON_FIELDS.contains(&k.as_str())
                && !allowed.contains(&k.as_str())
        }) {
            Some(extra) => Err(FieldError::new(
                extra.clone(),
                format!("not a field of {kind}"),
            )),
            None => Ok(()),
        }
    }
}
