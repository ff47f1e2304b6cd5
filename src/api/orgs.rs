//! Charities: the public list and one charity's page.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;

use super::AppState;
use super::error::{ApiError, Problem};
use super::extract::ApiQuery;
use super::openapi::{PROBLEM_JSON, problem};
use super::views::{Page, effective_fields, text};

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

#[derive(Serialize, utoipa::ToSchema)]
pub struct OrgList {
    pub orgs: Vec<OrgView>,
    /// Pass as `after` for the next page; null on the last page.
    #[schema(required = true)]
    pub next: Option<u64>,
}

pub(crate) async fn org_view(state: &AppState, id: String, seq: u64) -> Result<OrgView, ApiError> {
    let e = effective_fields(&state.store, seq).await?;
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

/// `GET /v1/orgs`: registered charities in log order.
#[utoipa::path(
    get,
    path = "/v1/orgs",
    tag = "orgs",
    summary = "Registered charities",
    description = "Registered charities in log order, with corrections applied.",
    params(
        ("after" = Option<u64>, Query, description = "The `next` cursor of the previous page."),
        ("limit" = Option<u64>, Query, minimum = 1, maximum = 500,
            description = "Page size (default 100, at most 500)."),
    ),
    responses(
        (status = 200, description = "A page of charities.", body = OrgList),
        (status = 400, response = problem::BadQuery),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn list_orgs(
    State(state): State<AppState>,
    query: ApiQuery,
) -> Result<Json<OrgList>, ApiError> {
    let page = Page::from_query(&query, &[])?;
    let rows = state.store.orgs(page.after, page.limit).await?;
    let next = page.next(&rows, |(_, seq)| *seq);
    let mut orgs = Vec::with_capacity(rows.len());
    for (id, seq) in rows {
        orgs.push(org_view(&state, id, seq).await?);
    }
    Ok(Json(OrgList { orgs, next }))
}

/// `GET /v1/orgs/{org}`
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}",
    tag = "orgs",
    summary = "One charity",
    params(
        ("org" = String, Path, description = "The org's id."),
    ),
    responses(
        (status = 200, description = "The charity, with corrections applied.", body = OrgView),
        (status = 404, description = "No org has this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn get_org(
    State(state): State<AppState>,
    Path(org): Path<String>,
) -> Result<Json<OrgView>, ApiError> {
    let seq = state
        .store
        .org_seq(&org)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("org {org:?} is not registered")))?;
    Ok(Json(org_view(&state, org, seq).await?))
}
