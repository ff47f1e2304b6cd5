//! Charities: the public list and one charity's page.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::error::{ApiError, Problem};
use super::extract::{ApiPath, ApiQuery};
use super::openapi::{PROBLEM_JSON, problem};
use super::page::Page;
use crate::app::AppState;
use crate::input::{Id, PathParams};
use crate::read::orgs::{OrgView, org, org_view};

#[derive(Serialize, utoipa::ToSchema)]
pub struct OrgList {
    pub orgs: Vec<OrgView>,
    /// Pass as `after` for the next page; null on the last page.
    #[schema(required = true)]
    pub next: Option<u64>,
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
        orgs.push(org_view(&state.store, id, seq).await?);
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
        ("org" = crate::formats::Id, Path, description = "The org's id."),
    ),
    responses(
        (status = 400, response = problem::BadPath),
        (status = 200, description = "The charity, with corrections applied.", body = OrgView),
        (status = 404, description = "No org has this id.",
            body = Problem, content_type = PROBLEM_JSON),
        (status = 503, response = problem::Unavailable),
    ),
)]
pub async fn get_org(
    State(state): State<AppState>,
    PathParams(id, _): ApiPath<Id>,
) -> Result<Json<OrgView>, ApiError> {
    Ok(Json(org(&state.store, &id).await?))
}
