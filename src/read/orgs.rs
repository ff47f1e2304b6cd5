//! A charity as everyone reads it: its registration with corrections applied.

use serde::Serialize;

use super::ReadError;
use super::entries::{effective_fields, text};
use crate::store::Store;

#[derive(Serialize, utoipa::ToSchema)]
pub struct OrgView {
    pub id: String,
    pub name: String,
    pub country: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub charity_number: Option<String>,
    /// The org's C2SP verifier key, with which it signs reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub public_key: Option<String>,
    pub seq: u64,
    pub registered_at: String,
    pub corrections: Vec<u64>,
}

pub async fn org_view(store: &Store, id: String, seq: u64) -> Result<OrgView, ReadError> {
    let e = effective_fields(store, seq).await?;
    Ok(OrgView {
        id,
        name: text(&e.fields, "name").unwrap_or_default(),
        country: text(&e.fields, "country").unwrap_or_default(),
        charity_number: text(&e.fields, "charity_number"),
        public_key: text(&e.fields, "public_key"),
        seq,
        registered_at: e.time,
        corrections: e.corrections,
    })
}

/// The seq of org `org`'s registration, or [`ReadError::NotFound`]: what every read of
/// an org's records checks first, so an unknown org is a 404, not an empty list.
pub async fn known(store: &Store, org: &str) -> Result<u64, ReadError> {
    store
        .org_seq(org)
        .await?
        .ok_or_else(|| ReadError::NotFound(format!("org {org:?} is not registered")))
}

/// The org `org`, or [`ReadError::NotFound`].
pub async fn org(store: &Store, org: &str) -> Result<OrgView, ReadError> {
    let seq = known(store, org).await?;
    org_view(store, org.to_string(), seq).await
}
