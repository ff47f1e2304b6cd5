//! Request bodies as a charity writes them, with the fields a test does not care about
//! filled in plainly. A test that needs a particular field builds its own body.

use serde_json::{Value, json};

/// Beneficiary `id` of `kind`, labelled "Beneficiary {id}", in KE.
pub fn beneficiary(id: &str, kind: &str) -> Value {
    json!({"id": id, "label": format!("Beneficiary {id}"), "kind": kind, "country": "KE"})
}

/// Campaign `id` in `currency`, titled "Campaign {id}", stating `beneficiaries`.
pub fn campaign(id: &str, currency: &str, beneficiaries: &[&str]) -> Value {
    json!({"id": id, "title": format!("Campaign {id}"), "purpose": "Meals",
           "currency": currency, "beneficiaries": beneficiaries})
}

/// A card donation of `amount` minor units, `fee` of it kept by the processor.
pub fn donation(id: &str, campaign: &str, amount: i64, fee: i64) -> Value {
    json!({"id": id, "campaign": campaign, "amount": amount, "fee": fee, "channel": "card"})
}

/// A disbursement of `amount` minor units to `beneficiary`, for "School meals".
pub fn disbursement(id: &str, campaign: &str, beneficiary: &str, amount: i64) -> Value {
    json!({"id": id, "campaign": campaign, "beneficiary": beneficiary, "amount": amount,
           "purpose": "School meals"})
}
