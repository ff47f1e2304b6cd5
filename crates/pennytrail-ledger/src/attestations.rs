//! Signed statements on the log, each signed with Ed25519 over an exact message defined
//! here (and in README "Signed statements"):
//!
//! - a beneficiary's acknowledgement (or dispute) of a disbursement, signed with the key
//!   its org stated for it:
//!   `pennytrail/ack/v1\n<origin>\n<seq>\n<hex leaf hash>\n<status>\n<amount_received>\n`,
//!   where seq and leaf hash are the disbursement entry's;
//! - an org's report over the log range `[from_size, to_size)`, signed with the org's key:
//!   `pennytrail/report/v1\n<origin>\n<canonical JSON of the report without signature>\n`;
//! - an org's key rotation, signed with the key it replaces:
//!   `pennytrail/org-key/v1\n<origin>\n<org>\n<seq of the entry that set the old key>\n<new key>\n`.
//!
//! Signatures are standard base64 of the 64-byte signature and are checked with
//! `verify_strict`. Keys are C2SP note verifier keys (`<name>+<id>+<base64>`), as
//! `pennytrail keygen` prints them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::fields::{self, FieldError};
use super::money::{Amount, Currency};
use super::records::BeneficiaryKind;
use pennytrail_log::canonical::{self, MAX_SAFE_INTEGER};
use pennytrail_log::hash::Hash;
use pennytrail_log::note::NoteVerifier;

pub const KIND_DISBURSEMENT_ACKNOWLEDGED: &str = "disbursement.acknowledged";
pub const KIND_REPORT_PUBLISHED: &str = "report.published";
pub const KIND_ORG_KEY_ROTATED: &str = "org.key_rotated";
pub const KIND_ORG_KEY_STATED: &str = "org.key_stated";

pub const ACK_DOMAIN: &str = "pennytrail/ack/v1";
pub const REPORT_DOMAIN: &str = "pennytrail/report/v1";
pub const KEY_ROTATION_DOMAIN: &str = "pennytrail/org-key/v1";

/// Most campaigns one report may cover: 50 campaign lines of ~200 bytes keep the entry
/// far below the 16 KiB cap. An org with more campaigns cannot report yet.
pub const MAX_REPORT_CAMPAIGNS: usize = 50;

/// Most (currency, beneficiary kind) lines of a report.
pub const MAX_REPORT_KIND_LINES: usize = 50;

/// A signature field: standard base64 of 64 bytes, spelled canonically.
pub fn signature_bytes(field: &str, text: &str) -> Result<[u8; 64], FieldError> {
    let bad = || {
        FieldError::new(
            field,
            "must be the standard base64 of a 64-byte Ed25519 signature",
        )
    };
    let bytes = BASE64.decode(text).map_err(|_| bad())?;
    let bytes: [u8; 64] = bytes.try_into().map_err(|_| bad())?;
    if BASE64.encode(bytes) != text {
        return Err(bad());
    }
    Ok(bytes)
}

/// Whether `signature` (base64) is `key`'s strict Ed25519 signature over `message`.
pub fn signature_valid(key: &str, message: &[u8], signature: &str) -> bool {
    match (
        NoteVerifier::from_text(key),
        signature_bytes("signature", signature),
    ) {
        (Ok(verifier), Ok(bytes)) => verifier.verify_detached(message, &bytes),
        _ => false,
    }
}

/// Signs `message` with a private key as `pennytrail keygen` writes it.
pub fn sign(signer: &pennytrail_log::note::NoteSigner, message: &[u8]) -> String {
    BASE64.encode(signer.sign_detached(message))
}

/// What a beneficiary says of a disbursement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckStatus {
    Received,
    Disputed,
}

impl AckStatus {
    pub const ALL: [AckStatus; 2] = [AckStatus::Received, AckStatus::Disputed];

    pub fn as_str(self) -> &'static str {
        match self {
            AckStatus::Received => "received",
            AckStatus::Disputed => "disputed",
        }
    }

    pub fn parse(field: &str, text: &str) -> Result<AckStatus, FieldError> {
        match text {
            "received" => Ok(AckStatus::Received),
            "disputed" => Ok(AckStatus::Disputed),
            _ => Err(FieldError::new(
                field,
                "must be \"received\" or \"disputed\"",
            )),
        }
    }
}

/// `POST …/disbursements/{id}/acknowledgement`: no token; the signature authenticates.
#[derive(Debug, Clone)]
pub struct AcknowledgementInput {
    /// `received` (the whole amount arrived) or `disputed`.
    pub status: String,
    /// What the beneficiary says arrived, in minor units; equal to the amount when
    /// `received`.
    pub amount_received: i64,
    /// Base64 Ed25519 signature by the beneficiary's key over the acknowledgement message.
    pub signature: String,
}

/// A beneficiary's signed word on one disbursement (one per disbursement).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub disbursement: String,
    pub beneficiary: String,
    pub status: AckStatus,
    pub amount_received: Amount,
    pub signature: String,
}

impl Acknowledgement {
    pub fn parse(
        disbursement: &str,
        beneficiary: &str,
        input: AcknowledgementInput,
    ) -> Result<Acknowledgement, FieldError> {
        signature_bytes("signature", &input.signature)?;
        Ok(Acknowledgement {
            disbursement: fields::id("disbursement", disbursement)?,
            beneficiary: fields::id("beneficiary", beneficiary)?,
            status: AckStatus::parse("status", &input.status)?,
            amount_received: Amount::non_negative("amount_received", input.amount_received)?,
            signature: input.signature,
        })
    }

    /// The exact bytes the beneficiary signs.
    pub fn message(
        origin: &str,
        seq: u64,
        leaf: &Hash,
        status: AckStatus,
        amount_received: i64,
    ) -> String {
        format!(
            "{ACK_DOMAIN}\n{origin}\n{seq}\n{}\n{}\n{amount_received}\n",
            leaf.to_hex(),
            status.as_str()
        )
    }

    pub(crate) fn body(&self) -> Map<String, Value> {
        let mut b = Map::new();
        b.insert("disbursement".into(), self.disbursement.clone().into());
        b.insert("beneficiary".into(), self.beneficiary.clone().into());
        b.insert("status".into(), self.status.as_str().into());
        b.insert(
            "amount_received".into(),
            self.amount_received.minor_units().into(),
        );
        b.insert("signature".into(), self.signature.clone().into());
        b
    }

    pub(crate) fn from_fields(fields: &Map<String, Value>) -> Result<Acknowledgement, FieldError> {
        let text = |name: &str| -> Result<String, FieldError> {
            fields
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| FieldError::new(name, "missing or not a string"))
        };
        let amount = fields
            .get("amount_received")
            .and_then(Value::as_i64)
            .ok_or_else(|| FieldError::new("amount_received", "must be an integer"))?;
        Acknowledgement::parse(
            &text("disbursement")?,
            &text("beneficiary")?,
            AcknowledgementInput {
                status: text("status")?,
                amount_received: amount,
                signature: text("signature")?,
            },
        )
    }
}

/// A campaign's figures in a report: sums over the covered range, `held` at its end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignFigures {
    pub campaign: String,
    pub currency: String,
    /// Received in the range (minor units).
    pub received: i64,
    pub fees: i64,
    pub net: i64,
    pub disbursed: i64,
    /// Net received and not yet disbursed at `to_size`.
    pub held: i64,
}

/// Disbursed in the range to beneficiaries of one kind, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindFigures {
    pub currency: String,
    pub beneficiary_kind: String,
    pub disbursed: i64,
}

/// Every figure of a report, in the order the log implies: campaigns in the order they
/// were opened, kinds by currency then kind.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportFigures {
    pub campaigns: Vec<CampaignFigures>,
    pub beneficiary_kinds: Vec<KindFigures>,
}

impl ReportFigures {
    fn check(&self) -> Result<(), FieldError> {
        if self.campaigns.len() > MAX_REPORT_CAMPAIGNS {
            return Err(FieldError::new(
                "campaigns",
                format!("at most {MAX_REPORT_CAMPAIGNS} campaigns per report"),
            ));
        }
        if self.beneficiary_kinds.len() > MAX_REPORT_KIND_LINES {
            return Err(FieldError::new(
                "beneficiary_kinds",
                format!("at most {MAX_REPORT_KIND_LINES} lines per report"),
            ));
        }
        for (i, c) in self.campaigns.iter().enumerate() {
            let f = |name: &str| format!("campaigns[{i}].{name}");
            fields::id(&f("campaign"), &c.campaign)?;
            Currency::parse(&f("currency"), &c.currency)?;
            for (name, value) in [
                ("received", c.received),
                ("fees", c.fees),
                ("net", c.net),
                ("disbursed", c.disbursed),
                ("held", c.held),
            ] {
                Amount::non_negative(&f(name), value)?;
            }
        }
        for (i, k) in self.beneficiary_kinds.iter().enumerate() {
            let f = |name: &str| format!("beneficiary_kinds[{i}].{name}");
            Currency::parse(&f("currency"), &k.currency)?;
            BeneficiaryKind::parse(&f("beneficiary_kind"), &k.beneficiary_kind)?;
            Amount::non_negative(&f("disbursed"), k.disbursed)?;
        }
        Ok(())
    }

    /// The first figure, in report order, in which `self` (claimed) differs from
    /// `actual`: its path (e.g. `campaigns[1].net`), the claimed value and the log's.
    pub fn first_difference(&self, actual: &ReportFigures) -> Option<(String, String, String)> {
        fn lines<T>(
            list: &str,
            claimed: &[T],
            actual: &[T],
            fields: impl Fn(&T) -> Vec<(&'static str, String)>,
        ) -> Option<(String, String, String)> {
            for i in 0..claimed.len().max(actual.len()) {
                let path = format!("{list}[{i}]");
                match (claimed.get(i), actual.get(i)) {
                    (Some(c), Some(a)) => {
                        for ((name, said), (_, log)) in fields(c).into_iter().zip(fields(a)) {
                            if said != log {
                                return Some((format!("{path}.{name}"), said, log));
                            }
                        }
                    }
                    (Some(_), None) => return Some((path, "a line".into(), "no such line".into())),
                    (None, Some(_)) => return Some((path, "no such line".into(), "a line".into())),
                    (None, None) => {}
                }
            }
            None
        }
        lines("campaigns", &self.campaigns, &actual.campaigns, |c| {
            vec![
                ("campaign", format!("{:?}", c.campaign)),
                ("currency", format!("{:?}", c.currency)),
                ("received", c.received.to_string()),
                ("fees", c.fees.to_string()),
                ("net", c.net.to_string()),
                ("disbursed", c.disbursed.to_string()),
                ("held", c.held.to_string()),
            ]
        })
        .or_else(|| {
            lines(
                "beneficiary_kinds",
                &self.beneficiary_kinds,
                &actual.beneficiary_kinds,
                |k| {
                    vec![
                        ("currency", format!("{:?}", k.currency)),
                        ("beneficiary_kind", format!("{:?}", k.beneficiary_kind)),
                        ("disbursed", k.disbursed.to_string()),
                    ]
                },
            )
        })
    }
}

/// `POST /v1/orgs/{org}/reports`: a report as drafted (`pennytrail report draft`) and
/// signed (`pennytrail sign`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportInput {
    /// The report's id within its org (its idempotency key).
    pub id: String,
    pub from_size: u64,
    pub to_size: u64,
    /// One line per campaign opened before `to_size` (at most 50).
    pub campaigns: Vec<CampaignFigures>,
    /// One line per currency and beneficiary kind paid in the range (at most 50).
    pub beneficiary_kinds: Vec<KindFigures>,
    /// SHA-256 (hex) of the published document with per-beneficiary detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_sha256: Option<String>,
    /// Base64 Ed25519 signature by the org's key over the report message.
    /// Required by the API; a draft file (`pennytrail report draft`) has none until
    /// `pennytrail sign` adds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// An org's signed statement of its figures over `[from_size, to_size)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub id: String,
    pub from_size: u64,
    pub to_size: u64,
    pub figures: ReportFigures,
    pub document_sha256: Option<String>,
    pub signature: String,
}

impl Report {
    pub fn parse(input: ReportInput) -> Result<Report, FieldError> {
        let signature = input
            .signature
            .clone()
            .ok_or_else(|| FieldError::new("signature", "missing: sign the report first"))?;
        signature_bytes("signature", &signature)?;
        Ok(Report {
            signature,
            ..Report::parse_unsigned(input)?
        })
    }

    /// Checks every field but the signature, as [`Report::parse`] does; the report's
    /// `signature` is left empty. `pennytrail sign` checks a draft with it, so that the
    /// message it signs can be built (every number fits in an entry).
    pub fn parse_unsigned(input: ReportInput) -> Result<Report, FieldError> {
        for (field, size) in [("from_size", input.from_size), ("to_size", input.to_size)] {
            if size > MAX_SAFE_INTEGER as u64 {
                return Err(FieldError::new(
                    field,
                    "must be at most 9007199254740991 (2^53-1), the largest size an entry holds",
                ));
            }
        }
        if input.from_size > input.to_size {
            return Err(FieldError::new("from_size", "must not be after to_size"));
        }
        let figures = ReportFigures {
            campaigns: input.campaigns,
            beneficiary_kinds: input.beneficiary_kinds,
        };
        figures.check()?;
        Ok(Report {
            id: fields::id("id", &input.id)?,
            from_size: fields::seq("from_size", input.from_size)?,
            to_size: fields::seq("to_size", input.to_size)?,
            figures,
            document_sha256: input
                .document_sha256
                .map(|d| {
                    Hash::from_hex(&d).map(|h| h.to_hex()).map_err(|_| {
                        FieldError::new("document_sha256", "must be 64 lowercase hex digits")
                    })
                })
                .transpose()?,
            signature: String::new(),
        })
    }

    /// The report's fields as they are signed and logged, without the signature.
    pub fn unsigned_body(
        id: &str,
        from_size: u64,
        to_size: u64,
        figures: &ReportFigures,
        document_sha256: Option<&str>,
    ) -> Map<String, Value> {
        let mut b = Map::new();
        b.insert("report".into(), id.into());
        b.insert("from_size".into(), from_size.into());
        b.insert("to_size".into(), to_size.into());
        b.insert(
            "campaigns".into(),
            serde_json::to_value(&figures.campaigns).expect("figures serialise"),
        );
        b.insert(
            "beneficiary_kinds".into(),
            serde_json::to_value(&figures.beneficiary_kinds).expect("figures serialise"),
        );
        if let Some(d) = document_sha256 {
            b.insert("document_sha256".into(), d.into());
        }
        b
    }

    /// The exact bytes the org signs: domain, origin, then the canonical JSON of the
    /// unsigned body with `org` added.
    ///
    /// # Errors
    /// When the body is no canonical JSON an entry could hold (larger than an entry may
    /// be, or a number past 2^53).
    pub fn message(
        origin: &str,
        org: &str,
        unsigned_body: &Map<String, Value>,
    ) -> Result<Vec<u8>, canonical::CanonicalError> {
        let mut body = unsigned_body.clone();
        body.insert("org".into(), org.into());
        let mut message = format!("{REPORT_DOMAIN}\n{origin}\n").into_bytes();
        message.extend(canonical::encode(&body)?);
        message.push(b'\n');
        Ok(message)
    }

    /// [`Report::message`] of this report.
    ///
    /// # Errors
    /// As [`Report::message`].
    /// The report-figure rule: every figure must be the one the log implies over the
    /// report's range (`actual`, from [`crate::report_book::ReportBook`]).
    ///
    /// # Errors
    /// The first figure that differs, named by its path (`campaigns[0].net`) with both
    /// values.
    pub fn check_figures(&self, actual: &ReportFigures) -> Result<(), crate::rules::RuleViolation> {
        match self.figures.first_difference(actual) {
            None => Ok(()),
            Some((field, said, implied)) => Err(crate::rules::RuleViolation {
                rule: crate::Rule::ReportFigure,
                field,
                message: format!(
                    "the report says {said} but the log over [{}, {}) implies {implied}",
                    self.from_size, self.to_size
                ),
            }),
        }
    }

    pub fn signed_message(
        &self,
        origin: &str,
        org: &str,
    ) -> Result<Vec<u8>, canonical::CanonicalError> {
        Report::message(origin, org, &self.unsigned())
    }

    fn unsigned(&self) -> Map<String, Value> {
        Report::unsigned_body(
            &self.id,
            self.from_size,
            self.to_size,
            &self.figures,
            self.document_sha256.as_deref(),
        )
    }

    pub(crate) fn body(&self) -> Map<String, Value> {
        let mut b = self.unsigned();
        b.insert("signature".into(), self.signature.clone().into());
        b
    }

    pub(crate) fn from_fields(fields: &Map<String, Value>) -> Result<Report, FieldError> {
        let mut input = fields.clone();
        let id = input
            .remove("report")
            .ok_or_else(|| FieldError::new("report", "missing"))?;
        input.insert("id".into(), id);
        let input: ReportInput = serde_json::from_value(Value::Object(input))
            .map_err(|e| FieldError::new("report", format!("not a report: {e}")))?;
        Report::parse(input)
    }
}

/// `POST /v1/orgs/{org}/key`: a new org key, signed by the current one.
#[derive(Debug, Clone)]
pub struct KeyRotationInput {
    /// The new C2SP verifier key.
    pub public_key: String,
    /// Base64 Ed25519 signature by the current key over the rotation message.
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRotation {
    pub public_key: String,
    pub signature: String,
}

impl KeyRotation {
    pub fn parse(input: KeyRotationInput) -> Result<KeyRotation, FieldError> {
        signature_bytes("signature", &input.signature)?;
        Ok(KeyRotation {
            public_key: fields::verifier_key("public_key", &input.public_key)?,
            signature: input.signature,
        })
    }

    /// The exact bytes the current key signs.
    pub fn message(origin: &str, org: &str, current_key_seq: u64, new_key: &str) -> String {
        format!("{KEY_ROTATION_DOMAIN}\n{origin}\n{org}\n{current_key_seq}\n{new_key}\n")
    }

    /// Idempotency id: the new key's (a key once rotated away cannot come back).
    pub fn id(&self) -> String {
        key_idempotency_id(&self.public_key)
    }

    pub(crate) fn body(&self) -> Map<String, Value> {
        let mut b = Map::new();
        b.insert("public_key".into(), self.public_key.clone().into());
        b.insert("signature".into(), self.signature.clone().into());
        b
    }

    pub(crate) fn from_fields(fields: &Map<String, Value>) -> Result<KeyRotation, FieldError> {
        let text = |name: &str| -> Result<String, FieldError> {
            fields
                .get(name)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| FieldError::new(name, "missing or not a string"))
        };
        KeyRotation::parse(KeyRotationInput {
            public_key: text("public_key")?,
            signature: text("signature")?,
        })
    }
}

/// The idempotency id of an entry that sets an org key: the key's C2SP key id and name,
/// so a replay of the same key is answered as a replay and another key is judged by the
/// rules.
fn key_idempotency_id(public_key: &str) -> String {
    let name = public_key.split('+').next().unwrap_or_default();
    let id = public_key.split('+').nth(1).unwrap_or_default();
    let mut text = format!("{id}.{name}");
    // Names may be any non-space text: cut at a character boundary.
    text.truncate(text.floor_char_boundary(64));
    text
}

/// `POST /v1/admin/orgs/{org}/key`: the operator states the first key of an org that
/// registered without one (`org.key_stated`). Later keys are rotations, signed by the
/// org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatement {
    pub public_key: String,
}

impl KeyStatement {
    pub fn parse(public_key: &str) -> Result<KeyStatement, FieldError> {
        Ok(KeyStatement {
            public_key: fields::verifier_key("public_key", public_key)?,
        })
    }

    /// Idempotency id: the key's, as for a rotation (stating the same key again is a
    /// replay).
    pub fn id(&self) -> String {
        key_idempotency_id(&self.public_key)
    }

    pub(crate) fn body(&self) -> Map<String, Value> {
        let mut b = Map::new();
        b.insert("public_key".into(), self.public_key.clone().into());
        b
    }

    pub(crate) fn from_fields(fields: &Map<String, Value>) -> Result<KeyStatement, FieldError> {
        let key = fields
            .get("public_key")
            .and_then(Value::as_str)
            .ok_or_else(|| FieldError::new("public_key", "missing or not a string"))?;
        KeyStatement::parse(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pennytrail_log::note::NoteSigner;

    #[test]
    fn ack_message_is_exact() {
        let leaf = Hash([0xab; 32]);
        assert_eq!(
            Acknowledgement::message("o.example/log", 7, &leaf, AckStatus::Disputed, 120),
            format!(
                "pennytrail/ack/v1\no.example/log\n7\n{}\ndisputed\n120\n",
                "ab".repeat(32)
            )
        );
    }

    #[test]
    fn signatures_verify_strictly_and_only_for_their_message() {
        let signer = NoteSigner::from_seed("beneficiary-1", [7; 32]).unwrap();
        let key = signer.verifier().to_text();
        let sig = sign(&signer, b"hello");
        assert!(signature_valid(&key, b"hello", &sig));
        assert!(!signature_valid(&key, b"hellO", &sig));
        let other = NoteSigner::from_seed("beneficiary-1", [8; 32]).unwrap();
        assert!(!signature_valid(
            &other.verifier().to_text(),
            b"hello",
            &sig
        ));
        // Non-canonical base64 (trailing bits set) is refused, not decoded leniently.
        assert!(signature_bytes("signature", "not base64").is_err());
        assert!(signature_bytes("signature", &BASE64.encode([0u8; 63])).is_err());
    }

    #[test]
    fn report_message_is_domain_origin_then_canonical_body() {
        let figures = ReportFigures {
            campaigns: vec![CampaignFigures {
                campaign: "meals".into(),
                currency: "EUR".into(),
                received: 10,
                fees: 1,
                net: 9,
                disbursed: 5,
                held: 4,
            }],
            beneficiary_kinds: vec![],
        };
        let body = Report::unsigned_body("r1", 0, 12, &figures, None);
        let message = String::from_utf8(Report::message("o/log", "org-1", &body).unwrap()).unwrap();
        assert_eq!(
            message,
            "pennytrail/report/v1\no/log\n{\"beneficiary_kinds\":[],\"campaigns\":[{\"campaign\":\"meals\",\"currency\":\"EUR\",\"disbursed\":5,\"fees\":1,\"held\":4,\"net\":9,\"received\":10}],\"from_size\":0,\"org\":\"org-1\",\"report\":\"r1\",\"to_size\":12}\n"
        );
    }

    #[test]
    fn first_difference_names_the_figure_and_both_values() {
        let line = |net| CampaignFigures {
            campaign: "meals".into(),
            currency: "EUR".into(),
            received: 10,
            fees: 1,
            net,
            disbursed: 5,
            held: 4,
        };
        let a = ReportFigures {
            campaigns: vec![line(9), line(9)],
            beneficiary_kinds: vec![],
        };
        let mut b = a.clone();
        assert_eq!(a.first_difference(&b), None);
        b.campaigns[1] = line(8);
        assert_eq!(
            a.first_difference(&b),
            Some(("campaigns[1].net".into(), "9".into(), "8".into()))
        );
        b.campaigns.pop();
        assert_eq!(a.first_difference(&b).unwrap().0, "campaigns[1]");
    }
}
