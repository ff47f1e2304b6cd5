//! What things are called on a page: a charity's name, a campaign's title, a
//! beneficiary's label, each as corrected, falling back to the id where there is none.

use crate::app::AppState;
use crate::read::entries::{effective_fields, text};
use crate::store::StoreError;

/// A charity's (corrected) name.
pub async fn org_name(state: &AppState, org: &str) -> Result<String, StoreError> {
    Ok(match state.store.org_seq(org).await? {
        Some(seq) => text(&effective_fields(&state.store, seq).await?.fields, "name")
            .unwrap_or_else(|| org.to_string()),
        None => org.to_string(),
    })
}

/// A campaign's (corrected) title.
pub async fn campaign_title(
    state: &AppState,
    org: &str,
    campaign: &str,
) -> Result<String, StoreError> {
    Ok(match state.store.campaign(org, campaign).await? {
        Some(row) => text(
            &effective_fields(&state.store, row.seq).await?.fields,
            "title",
        )
        .unwrap_or_else(|| campaign.to_string()),
        None => campaign.to_string(),
    })
}

/// What a beneficiary is called: the (corrected) label of its registration entry.
pub async fn beneficiary_label(
    state: &AppState,
    org: &str,
    id: &str,
) -> Result<String, StoreError> {
    match state.store.beneficiary(org, id).await? {
        Some(row) => {
            let fields = effective_fields(&state.store, row.seq).await?.fields;
            Ok(text(&fields, "label").unwrap_or_else(|| id.to_string()))
        }
        None => Ok(id.to_string()),
    }
}

/// A beneficiary kind (`person`, `organization`, …) in the reader's language.
pub fn kind(kind: &str) -> String {
    super::i18n::t(match kind {
        "person" => "kind-person",
        "organization" => "kind-organization",
        "supplier" => "kind-supplier",
        "overhead" => "kind-overhead",
        "refunds" => "kind-refunds",
        _ => "kind-other",
    })
}
