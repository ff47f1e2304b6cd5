//! The request bodies of the API's writes, as clients send them and as `/openapi.json`
//! documents them. Each converts field for field into the ledger's unchecked input of the
//! same name, whose `parse` then validates it: the HTTP contract lives here, the rules in
//! `pennytrail_ledger`. The conversions destructure both sides, so a field added to one
//! and not the other does not compile.
//!
//! Field formats (`Id`, `Name`, `MinorUnits`, …) are the schemas of [`crate::formats`].

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::ledger::{attestations, org, records};
use crate::read::figures::{CampaignFigures, KindFigures};

/// What an operator sends to register a charity.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "helping-hands", "name": "Helping Hands e.V.", "country": "DE", "charity_number": "VR 12345"}))]
pub struct OrgRegistrationInput {
    /// The org's id, `[A-Za-z0-9][A-Za-z0-9._:-]{0,63}`; it appears in its URLs.
    #[schema(value_type = crate::formats::Id)]
    pub id: String,
    /// Public name, 1 to 200 characters.
    #[schema(value_type = crate::formats::Name)]
    pub name: String,
    /// ISO 3166-1 alpha-2 country code.
    #[schema(value_type = crate::formats::CountryCode)]
    pub country: String,
    /// Number in a national charity register.
    #[serde(default)]
    #[schema(value_type = Option<crate::formats::CharityNumber>)]
    pub charity_number: Option<String>,
    /// A C2SP verifier key (`name+hex id+base64 Ed25519 key`) the org will sign reports with.
    #[serde(default)]
    #[schema(value_type = Option<crate::formats::VerifierKey>)]
    pub public_key: Option<String>,
}

impl From<OrgRegistrationInput> for org::OrgRegistrationInput {
    fn from(input: OrgRegistrationInput) -> Self {
        let OrgRegistrationInput {
            id,
            name,
            country,
            charity_number,
            public_key,
        } = input;
        org::OrgRegistrationInput {
            id,
            name,
            country,
            charity_number,
            public_key,
        }
    }
}

/// A beneficiary an org registers.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "well-project-7", "label": "Village well, Kisumu", "kind": "organization", "country": "KE"}))]
pub struct BeneficiaryInput {
    /// The beneficiary's id within its org, `[A-Za-z0-9][A-Za-z0-9._:-]{0,63}`.
    #[schema(value_type = crate::formats::Id)]
    pub id: String,
    /// Public label, 1 to 200 characters.
    #[schema(value_type = crate::formats::Name)]
    pub label: String,
    /// One of `person`, `organization`, `supplier`, `overhead`, `refunds`.
    #[schema(value_type = crate::formats::BeneficiaryKindName)]
    pub kind: String,
    /// ISO 3166-1 alpha-2 country code.
    #[schema(value_type = crate::formats::CountryCode)]
    pub country: String,
    /// A C2SP verifier key of the beneficiary's, as the org states it.
    #[serde(default)]
    #[schema(value_type = Option<crate::formats::VerifierKey>)]
    pub public_key: Option<String>,
}

impl From<BeneficiaryInput> for records::BeneficiaryInput {
    fn from(input: BeneficiaryInput) -> Self {
        let BeneficiaryInput {
            id,
            label,
            kind,
            country,
            public_key,
        } = input;
        records::BeneficiaryInput {
            id,
            label,
            kind,
            country,
            public_key,
        }
    }
}

/// A campaign (restricted fund) an org opens.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "wells-2026", "title": "Clean water 2026", "purpose": "Drill and maintain village wells in Kisumu County", "currency": "EUR", "beneficiaries": ["well-project-7"], "max_per_person_per_day": 2000}))]
pub struct CampaignInput {
    /// The campaign's id within its org.
    #[schema(value_type = crate::formats::Id)]
    pub id: String,
    /// Public title, 1 to 200 characters.
    #[schema(value_type = crate::formats::Name)]
    pub title: String,
    /// What the money is for, 1 to 1000 characters.
    #[schema(value_type = crate::formats::Purpose)]
    pub purpose: String,
    /// ISO 4217 code; every amount of the campaign is in its minor units.
    #[schema(value_type = crate::formats::CurrencyCode)]
    pub currency: String,
    /// Ids of registered beneficiaries who may receive its money (at most 100, no repeats;
    /// state more later).
    #[schema(value_type = crate::formats::OpeningBeneficiaryIds)]
    pub beneficiaries: Vec<String>,
    /// A published cap: most minor units each beneficiary of kind `person` may receive
    /// from the campaign per UTC day (of the payout's `occurred_at`, else its time).
    #[serde(default)]
    #[schema(value_type = Option<crate::formats::PositiveMinorUnits>)]
    pub max_per_person_per_day: Option<i64>,
    /// A published cap: most minor units each `person` may receive per UTC month.
    #[serde(default)]
    #[schema(value_type = Option<crate::formats::PositiveMinorUnits>)]
    pub max_per_person_per_month: Option<i64>,
    /// A published cap: most payouts each `person` may receive per UTC day.
    #[serde(default)]
    #[schema(value_type = Option<crate::formats::PayoutCount>)]
    pub max_payouts_per_person_per_day: Option<i64>,
}

impl From<CampaignInput> for records::CampaignInput {
    fn from(input: CampaignInput) -> Self {
        let CampaignInput {
            id,
            title,
            purpose,
            currency,
            beneficiaries,
            max_per_person_per_day,
            max_per_person_per_month,
            max_payouts_per_person_per_day,
        } = input;
        records::CampaignInput {
            id,
            title,
            purpose,
            currency,
            beneficiaries,
            max_per_person_per_day,
            max_per_person_per_month,
            max_payouts_per_person_per_day,
        }
    }
}

/// More beneficiaries stated for a campaign.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"beneficiaries": ["well-project-8"]}))]
pub struct StatementInput {
    /// Ids of registered beneficiaries (1 to 100, no repeats).
    #[schema(value_type = crate::formats::StatedBeneficiaryIds)]
    pub beneficiaries: Vec<String>,
}

impl From<StatementInput> for records::StatementInput {
    fn from(input: StatementInput) -> Self {
        let StatementInput { beneficiaries } = input;
        records::StatementInput { beneficiaries }
    }
}

/// A donation an org received.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "don-000123", "campaign": "wells-2026", "amount": 2500, "fee": 75, "channel": "card", "occurred_at": "2026-03-01T12:00:00.000Z"}))]
pub struct DonationInput {
    /// The donation's id within its org (its idempotency key).
    #[schema(value_type = crate::formats::Id)]
    pub id: String,
    /// The campaign it was given to.
    #[schema(value_type = crate::formats::Id)]
    pub campaign: String,
    /// Gross amount in minor units of the campaign's currency, at least 1.
    #[schema(value_type = crate::formats::PositiveMinorUnits)]
    pub amount: i64,
    /// Payment fee in minor units, 0 to `amount`; `net` = `amount` - `fee`.
    #[schema(value_type = crate::formats::MinorUnits)]
    pub fee: i64,
    /// ISO 4217 code; if given it must be the campaign's.
    #[serde(default)]
    #[schema(value_type = Option<crate::formats::CurrencyCode>)]
    pub currency: Option<String>,
    /// How it came in (`card`, `sms`, `mobile-money`, …): an id of at most 32 characters.
    #[schema(value_type = crate::formats::Channel)]
    pub channel: String,
    /// A donor's own reference (email, receipt number). Never stored: only its per-org
    /// HMAC reaches the log, as `donor_commitment`.
    #[serde(default)]
    #[schema(value_type = Option<crate::formats::DonorRef>)]
    pub donor_ref: Option<String>,
    /// A commitment the org computed itself (64 lowercase hex digits), instead of `donor_ref`.
    #[serde(default)]
    #[schema(value_type = Option<crate::formats::Sha256Hex>)]
    pub donor_commitment: Option<String>,
    /// When the donation was made: UTC with milliseconds, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    #[serde(default)]
    #[schema(value_type = Option<crate::formats::Timestamp>)]
    pub occurred_at: Option<String>,
}

impl From<DonationInput> for records::DonationInput {
    fn from(input: DonationInput) -> Self {
        let DonationInput {
            id,
            campaign,
            amount,
            fee,
            currency,
            channel,
            donor_ref,
            donor_commitment,
            occurred_at,
        } = input;
        records::DonationInput {
            id,
            campaign,
            amount,
            fee,
            currency,
            channel,
            donor_ref,
            donor_commitment,
            occurred_at,
        }
    }
}

/// A payment an org made from a campaign to one of its stated beneficiaries.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "pay-0042", "campaign": "wells-2026", "beneficiary": "well-project-7", "amount": 150000, "purpose": "Drilling, invoice 2026-17"}))]
pub struct DisbursementInput {
    /// The disbursement's id within its org (its idempotency key).
    #[schema(value_type = crate::formats::Id)]
    pub id: String,
    /// The campaign paying.
    #[schema(value_type = crate::formats::Id)]
    pub campaign: String,
    /// A beneficiary stated for the campaign before this entry.
    #[schema(value_type = crate::formats::Id)]
    pub beneficiary: String,
    /// Minor units of the campaign's currency, at least 1, at most what it still holds.
    #[schema(value_type = crate::formats::PositiveMinorUnits)]
    pub amount: i64,
    /// What it paid for, 1 to 1000 characters.
    #[schema(value_type = crate::formats::Purpose)]
    pub purpose: String,
    /// SHA-256 (64 lowercase hex digits) of an invoice or other evidence kept elsewhere.
    #[serde(default)]
    #[schema(value_type = Option<crate::formats::Sha256Hex>)]
    pub evidence_sha256: Option<String>,
    /// When the payout was made, if before it is logged (an import of last month's
    /// payouts): UTC with milliseconds, never later than the entry's time. Caps count a
    /// payout in the day and month it occurred.
    #[serde(default)]
    #[schema(value_type = Option<crate::formats::Timestamp>)]
    pub occurred_at: Option<String>,
}

impl From<DisbursementInput> for records::DisbursementInput {
    fn from(input: DisbursementInput) -> Self {
        let DisbursementInput {
            id,
            campaign,
            beneficiary,
            amount,
            purpose,
            evidence_sha256,
            occurred_at,
        } = input;
        records::DisbursementInput {
            id,
            campaign,
            beneficiary,
            amount,
            purpose,
            evidence_sha256,
            occurred_at,
        }
    }
}

/// A correction of text fields of an earlier entry of the same org.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"id": "fix-0001", "corrects": 42, "fields": {"purpose": "Drilling, invoice 2026-18"}}))]
pub struct CorrectionInput {
    /// The correction's id within its org (its idempotency key).
    #[schema(value_type = crate::formats::Id)]
    pub id: String,
    /// Seq of the entry corrected.
    #[schema(value_type = crate::formats::Seq)]
    pub corrects: u64,
    /// New values of text fields of the corrected entry; money is never corrected.
    #[schema(value_type = crate::formats::CorrectedFields)]
    pub fields: Map<String, Value>,
}

impl From<CorrectionInput> for records::CorrectionInput {
    fn from(input: CorrectionInput) -> Self {
        let CorrectionInput {
            id,
            corrects,
            fields,
        } = input;
        records::CorrectionInput {
            id,
            corrects,
            fields,
        }
    }
}

/// `POST …/disbursements/{id}/acknowledgement`: no token; the signature authenticates.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgementInput {
    /// `received` (the whole amount arrived) or `disputed`.
    #[schema(value_type = crate::formats::AckStatusName)]
    pub status: String,
    /// What the beneficiary says arrived, in minor units; equal to the amount when
    /// `received`.
    #[schema(value_type = crate::formats::MinorUnits)]
    pub amount_received: i64,
    /// Base64 Ed25519 signature by the beneficiary's key over the acknowledgement message.
    #[schema(value_type = crate::formats::Signature)]
    pub signature: String,
}

impl From<AcknowledgementInput> for attestations::AcknowledgementInput {
    fn from(input: AcknowledgementInput) -> Self {
        let AcknowledgementInput {
            status,
            amount_received,
            signature,
        } = input;
        attestations::AcknowledgementInput {
            status,
            amount_received,
            signature,
        }
    }
}

/// `POST /v1/orgs/{org}/reports`: a report as drafted (`pennytrail report draft`) and
/// signed (`pennytrail sign`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportInput {
    /// The report's id within its org (its idempotency key).
    #[schema(value_type = crate::formats::Id)]
    pub id: String,
    #[schema(value_type = crate::formats::Seq)]
    pub from_size: u64,
    #[schema(value_type = crate::formats::Seq)]
    pub to_size: u64,
    /// One line per campaign opened before `to_size` (at most 50).
    #[schema(max_items = 50)]
    pub campaigns: Vec<CampaignFigures>,
    /// One line per currency and beneficiary kind paid in the range (at most 50).
    #[schema(max_items = 50)]
    pub beneficiary_kinds: Vec<KindFigures>,
    /// SHA-256 (hex) of the published document with per-beneficiary detail.
    #[serde(default)]
    #[schema(value_type = Option<crate::formats::Sha256Hex>)]
    pub document_sha256: Option<String>,
    /// Base64 Ed25519 signature by the org's key over the report message.
    /// Required by the API; a draft file (`pennytrail report draft`) has none until
    /// `pennytrail sign` adds it.
    #[serde(default)]
    #[schema(value_type = crate::formats::Signature, required = true)]
    pub signature: Option<String>,
}

impl From<ReportInput> for attestations::ReportInput {
    fn from(input: ReportInput) -> Self {
        let ReportInput {
            id,
            from_size,
            to_size,
            campaigns,
            beneficiary_kinds,
            document_sha256,
            signature,
        } = input;
        attestations::ReportInput {
            id,
            from_size,
            to_size,
            campaigns: campaigns.into_iter().map(Into::into).collect(),
            beneficiary_kinds: beneficiary_kinds.into_iter().map(Into::into).collect(),
            document_sha256,
            signature,
        }
    }
}

/// `POST /v1/admin/orgs/{org}/key`: the first key of an org registered without one.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgKeyInput {
    /// The org's C2SP verifier key (`pennytrail keygen` makes a pair).
    #[schema(value_type = crate::formats::VerifierKey)]
    pub public_key: String,
}

/// `POST /v1/orgs/{org}/key`: a new org key, signed by the current one.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRotationInput {
    /// The new C2SP verifier key.
    #[schema(value_type = crate::formats::VerifierKey)]
    pub public_key: String,
    /// Base64 Ed25519 signature by the current key over the rotation message.
    #[schema(value_type = crate::formats::Signature)]
    pub signature: String,
}

impl From<KeyRotationInput> for attestations::KeyRotationInput {
    fn from(input: KeyRotationInput) -> Self {
        let KeyRotationInput {
            public_key,
            signature,
        } = input;
        attestations::KeyRotationInput {
            public_key,
            signature,
        }
    }
}
