//! `org.registered`: a charity joins the log. Registered by the operator; the entry
//! carries its public name, country, optional charity number and optional public key
//! (with which it later signs reports).

use serde_json::{Map, Value};

use super::fields::{self, FieldError, MAX_NAME_CHARS};

/// The entry kind of a charity's registration.
pub const KIND_ORG_REGISTERED: &str = "org.registered";

/// Longest charity number; national registers use well under 32 characters.
pub const MAX_CHARITY_NUMBER_CHARS: usize = 64;

/// What an operator sends to register a charity.
#[derive(Debug, Clone)]
pub struct OrgRegistrationInput {
    /// The org's id, `[A-Za-z0-9][A-Za-z0-9._:-]{0,63}`; it appears in its URLs.
    pub id: String,
    /// Public name, 1 to 200 characters.
    pub name: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    /// Number in a national charity register.
    pub charity_number: Option<String>,
    /// A C2SP verifier key (`name+hex id+base64 Ed25519 key`) the org will sign reports with.
    pub public_key: Option<String>,
}

/// A registration whose every field is valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgRegistration {
    pub id: String,
    pub name: String,
    pub country: String,
    pub charity_number: Option<String>,
    pub public_key: Option<String>,
}

impl OrgRegistration {
    pub fn parse(input: OrgRegistrationInput) -> Result<OrgRegistration, FieldError> {
        Ok(OrgRegistration {
            id: fields::id("id", &input.id)?,
            name: fields::text("name", &input.name, MAX_NAME_CHARS)?,
            country: fields::country("country", &input.country)?,
            charity_number: input
                .charity_number
                .map(|n| fields::text("charity_number", &n, MAX_CHARITY_NUMBER_CHARS))
                .transpose()?,
            public_key: input
                .public_key
                .map(|k| fields::verifier_key("public_key", &k))
                .transpose()?,
        })
    }

    /// The entry's own fields (`org` is a common field the sequencer adds).
    pub fn entry_body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("name".into(), self.name.clone().into());
        body.insert("country".into(), self.country.clone().into());
        if let Some(n) = &self.charity_number {
            body.insert("charity_number".into(), n.clone().into());
        }
        if let Some(k) = &self.public_key {
            body.insert("public_key".into(), k.clone().into());
        }
        body
    }
}
