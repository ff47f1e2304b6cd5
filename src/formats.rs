//! The formats of the API's input fields as reusable OpenAPI schemas (`Id`, `Name`,
//! `CountryCode`, `MinorUnits`, …), built from the same constants the ledger validates
//! with, so the document tells a client exactly which values a field takes and cannot
//! drift from the checks. The API's request bodies and the views it answers with name
//! them with `#[schema(value_type = …)]`.
//!
//! What a schema cannot say is left to the server and its 422 answers: whether a key's id
//! matches its key, a signature verifies, a date exists (the 31st of April matches the
//! pattern), a currency code is assigned, or a record breaks a ledger rule.

use std::borrow::Cow;

use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::input::path::MAX_FILE_NAME_LEN;
use crate::ledger::attestations::AckStatus;
use crate::ledger::donor::MAX_DONOR_REF_CHARS;
use crate::ledger::fields::MAX_NAME_CHARS;
use crate::ledger::iso::COUNTRY_CODES;
use crate::ledger::org::{KIND_ORG_REGISTERED, MAX_CHARITY_NUMBER_CHARS};
use crate::ledger::records::{
    BeneficiaryKind, KIND_BENEFICIARY_REGISTERED, KIND_CAMPAIGN_OPENED, KIND_DISBURSEMENT_MADE,
    MAX_CHANNEL_CHARS, MAX_PURPOSE_CHARS, MAX_STATED_PER_ENTRY, correctable_fields,
};
use crate::log::canonical::MAX_SAFE_INTEGER;
use crate::log::entry::MAX_ID_LEN;

/// Characters `char::is_whitespace` (Unicode White_Space) matches, as a regex class body.
/// Spelled out rather than `\s`, whose meaning differs between regex dialects.
const WHITESPACE: &str = r"\x09-\x0D\x20\x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// Control characters (`char::is_control`, Unicode Cc), as a regex class body.
const CONTROL: &str = r"\x00-\x1F\x7F-\x9F";

/// An id of at most `max_len` characters: `[A-Za-z0-9][A-Za-z0-9._:-]{0,max_len-1}`
/// (`crate::log::entry::is_valid_id`).
fn id_pattern(max_len: usize) -> String {
    format!("^[A-Za-z0-9][A-Za-z0-9._:-]{{0,{}}}$", max_len - 1)
}

/// Free text (`crate::ledger::fields::text`): no control characters, not only spaces.
fn text_pattern() -> String {
    format!("^[^{CONTROL}]*[^{CONTROL}{WHITESPACE}][^{CONTROL}]*$")
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn text(max_chars: usize, description: &str) -> ObjectBuilder {
    string()
        .min_length(Some(1))
        .max_length(Some(max_chars))
        .pattern(Some(text_pattern()))
        .description(Some(format!(
            "{description}: 1 to {max_chars} characters, no control characters (tabs, \
             newlines, …), not only spaces."
        )))
}

fn id(max_len: usize, description: &str) -> ObjectBuilder {
    string()
        .min_length(Some(1))
        .max_length(Some(max_len))
        .pattern(Some(id_pattern(max_len)))
        .description(Some(format!(
            "{description}: 1 to {max_len} of A-Z a-z 0-9 . _ : -, starting with a letter \
             or digit (so a spreadsheet never reads it as a formula)."
        )))
}

/// An integer from `minimum` to 2^53 - 1, the range of every integer of an entry.
fn integer(minimum: i64, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(Some(minimum))
        .maximum(Some(MAX_SAFE_INTEGER))
        .description(Some(format!("{description}, {minimum} to 2^53-1.")))
}

fn id_list(min_items: usize) -> ArrayBuilder {
    ArrayBuilder::new()
        .items(Ref::from_schema_name(Id::name()))
        .min_items(Some(min_items))
        .max_items(Some(MAX_STATED_PER_ENTRY))
        .unique_items(true)
        .description(Some(format!(
            "Ids of registered beneficiaries, {min_items} to {MAX_STATED_PER_ENTRY}, no \
             repeats, each not yet stated for the campaign (state more with further requests)."
        )))
}

/// The text fields a correction may change, each in its own format; which of them the
/// corrected entry has depends on its kind (`correctable_fields`), which the log decides.
fn corrected_fields() -> ObjectBuilder {
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .min_properties(Some(1))
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .description(Some(
            "New values of text fields of the corrected entry (at least one): `name` and \
             `charity_number` of an org, `label` of a beneficiary, `title` and `purpose` of \
             a campaign, `purpose` of a disbursement. Money and ids are never corrected.",
        ));
    let kinds = [
        KIND_ORG_REGISTERED,
        KIND_BENEFICIARY_REGISTERED,
        KIND_CAMPAIGN_OPENED,
        KIND_DISBURSEMENT_MADE,
    ];
    let mut names: Vec<&str> = kinds
        .iter()
        .flat_map(|kind| correctable_fields(kind).iter().copied())
        .collect();
    names.sort_unstable();
    names.dedup();
    for name in names {
        let format = match name {
            "purpose" => Purpose::name(),
            "charity_number" => CharityNumber::name(),
            _ => Name::name(),
        };
        object = object.property(name, Ref::from_schema_name(format));
    }
    object
}

/// Declares unit types whose `ToSchema` is the given builder, named after the type.
macro_rules! formats {
    ($($(#[doc = $doc:literal])+ $name:ident => $schema:expr;)+) => {$(
        $(#[doc = $doc])+
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema.into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    )+};
}

formats! {
    /// An id (of an org, campaign, beneficiary, donation, disbursement, report).
    Id => id(MAX_ID_LEN, "An id of an org, campaign, beneficiary, donation, disbursement \
        or report");
    /// A donation channel (`card`, `sms`, `mobile-money`, …).
    Channel => id(MAX_CHANNEL_CHARS, "How a donation came in (`card`, `sms`, \
        `mobile-money`, …)");
    /// A name, label or title.
    Name => text(MAX_NAME_CHARS, "A name, label or title");
    /// A purpose.
    Purpose => text(MAX_PURPOSE_CHARS, "What the money is for");
    /// A number in a national charity register.
    CharityNumber => text(MAX_CHARITY_NUMBER_CHARS, "A number in a national charity register");
    /// A donor's own reference (email, receipt number).
    DonorRef => string()
        .min_length(Some(1))
        .max_length(Some(MAX_DONOR_REF_CHARS))
        .pattern(Some(format!("[^{WHITESPACE}]")))
        .description(Some(format!("A donor's own reference (email, receipt number): 1 to \
            {MAX_DONOR_REF_CHARS} characters, not only spaces.")));
    /// An ISO 3166-1 alpha-2 country code.
    CountryCode => string()
        .enum_values(Some(COUNTRY_CODES))
        .description(Some("An ISO 3166-1 alpha-2 country code, uppercase."));
    /// An ISO 4217 currency code.
    CurrencyCode => string()
        .pattern(Some("^[A-Z]{3}$"))
        .description(Some("An ISO 4217 currency code with minor units, such as EUR, JPY or \
            KWD (funds and precious metals have none and are refused)."));
    /// A kind of beneficiary.
    BeneficiaryKindName => string()
        .enum_values(Some(BeneficiaryKind::ALL.map(BeneficiaryKind::as_str)))
        .description(Some("Who a beneficiary is; `overhead` and `refunds` keep those flows \
            visible."));
    /// 64 lowercase hex digits.
    Sha256Hex => string()
        .pattern(Some("^[0-9a-f]{64}$"))
        .description(Some("A SHA-256 (or HMAC-SHA256) output: 64 lowercase hex digits."));
    /// A UTC time with milliseconds.
    Timestamp => string()
        .pattern(Some(
            "^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])\
             T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\\.[0-9]{3}Z$",
        ))
        .description(Some("A UTC time with milliseconds, `YYYY-MM-DDTHH:MM:SS.mmmZ`, from \
            1970 on."));
    /// A C2SP signed-note verifier key.
    VerifierKey => string()
        .pattern(Some(format!("^[^+{WHITESPACE}]+\\+[0-9A-Fa-f]{{8}}\\+[A-Za-z0-9+/]{{44}}[\\r\\n]*$")))
        .description(Some("A C2SP signed-note verifier key of an Ed25519 key: \
            `<name>+<8 hex digit key id>+<base64 of 0x01 and the 32-byte public key>`, as \
            `pennytrail keygen` prints it. The key id must be the one the name and key \
            imply."));
    /// A base64 Ed25519 signature.
    Signature => string()
        .pattern(Some("^[A-Za-z0-9+/]{85}[AQgw]==$"))
        .description(Some("Standard base64 (padded, canonical) of a 64-byte Ed25519 \
            signature."));
    /// An amount of money in minor units, at least 0.
    MinorUnits => integer(0, "An amount in minor units of the currency (2 decimals for \
        EUR: 150 is 1.50 EUR)");
    /// An amount of money in minor units, at least 1.
    PositiveMinorUnits => integer(1, "An amount in minor units of the currency (2 decimals \
        for EUR: 150 is 1.50 EUR)");
    /// A number of payouts, at least 1.
    PayoutCount => integer(1, "A number of payouts, at least 1");
    /// What a beneficiary says of a disbursement.
    AckStatusName => string()
        .enum_values(Some(AckStatus::ALL.map(AckStatus::as_str)))
        .description(Some("`received`: the whole amount arrived; `disputed`: it did not \
            (`amount_received` says what did)."));
    /// The new values of a correction.
    CorrectedFields => corrected_fields();
    /// An entry's seq, or a tree size.
    Seq => integer(0, "An entry's seq (its index in the log), or a tree size");
    /// A file name in a path (a bundle file).
    FileName => string()
        .min_length(Some(1))
        .max_length(Some(MAX_FILE_NAME_LEN))
        .pattern(Some(format!("^[A-Za-z0-9_-][A-Za-z0-9._-]{{0,{}}}$", MAX_FILE_NAME_LEN - 1)))
        .description(Some(format!("A file name: 1 to {MAX_FILE_NAME_LEN} of A-Z a-z 0-9 . _ -, \
            not starting with a dot.")));
    /// The beneficiaries a campaign opens with.
    OpeningBeneficiaryIds => id_list(0);
    /// More beneficiaries stated for a campaign.
    StatedBeneficiaryIds => id_list(1);
}
