//! The records a charity states, one per entry kind: its unchecked input (what an API
//! request body or a logged entry states) and the validated record. The entry fields a
//! record becomes, and how it is read back from an entry, are in [`super::logged`].
//!
//! Fields the log derives from its state (a donation's `net` and `received_before`, a
//! disbursement's `disbursed_before`, the campaign's `currency`) are [`Derived`]: computed
//! by [`super::rules::apply`], never taken from a client.

use serde_json::{Map, Value};

pub use super::attestations::{
    KIND_DISBURSEMENT_ACKNOWLEDGED, KIND_ORG_KEY_ROTATED, KIND_REPORT_PUBLISHED,
};
use super::caps::PayoutLimits;
use super::fields::{self, FieldError, MAX_NAME_CHARS};
pub use super::logged::{Derived, Record};
use super::money::{Amount, Currency};
use super::org::{KIND_ORG_REGISTERED, MAX_CHARITY_NUMBER_CHARS};
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
    /// Most minor units each `person` beneficiary may receive from it per UTC day.
    pub max_per_person_per_day: Option<i64>,
    /// Most minor units each `person` beneficiary may receive from it per UTC month.
    pub max_per_person_per_month: Option<i64>,
    /// Most payouts each `person` beneficiary may receive from it per UTC day.
    pub max_payouts_per_person_per_day: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: String,
    pub title: String,
    pub purpose: String,
    pub currency: Currency,
    pub beneficiaries: Vec<String>,
    pub limits: PayoutLimits,
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
            limits: PayoutLimits::parse(
                input.max_per_person_per_day,
                input.max_per_person_per_month,
                input.max_payouts_per_person_per_day,
            )?,
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

/// An `occurred_at` time, exactly as entries write times.
fn time_text(text: String) -> Result<String, FieldError> {
    pennytrail_log::time::UnixMillis::parse(&text)
        .map(|_| text)
        .map_err(|e| FieldError::new("occurred_at", e.to_string()))
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
            occurred_at: input.occurred_at.map(time_text).transpose()?,
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
    /// When the payout was made, if earlier than it is logged: UTC with milliseconds,
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, never later than the entry's `time`.
    pub occurred_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disbursement {
    pub id: String,
    pub campaign: String,
    pub beneficiary: String,
    pub amount: Amount,
    pub purpose: String,
    pub evidence_sha256: Option<String>,
    pub occurred_at: Option<String>,
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
            occurred_at: input.occurred_at.map(time_text).transpose()?,
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
