//! The OpenAPI 3.1 document of the whole API, generated from the handlers' own
//! `#[utoipa::path]` annotations and the `ToSchema` derives of their input and output
//! types, so it cannot drift from the code. `GET /openapi.json` serves it and `GET /docs`
//! serves Swagger UI over it, with every asset compiled into the binary (no CDN).

use axum::Json;
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::{error, write};

/// Content type of every error answer (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Name of the operator's bearer-token security scheme (`POST /v1/admin/orgs`). The
/// routes' `security(...)` attributes take only literals, so they repeat the name; the
/// spec test checks that every name they use is defined.
pub const OPERATOR_TOKEN: &str = "operator_token";

/// Name of an org's bearer-token security scheme (its own `POST /v1/orgs/{org}/...`).
pub const ORG_TOKEN: &str = "org_token";

/// Where the Swagger UI is mounted; `/docs` redirects to `/docs/`, whose relative asset
/// paths then resolve under it.
pub const DOCS_PATH: &str = "/docs";

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/openapi.json";

const API_DESCRIPTION: &str = "\
pennytrail is an audit log for charities: every donation and disbursement is appended to \
a hash-chained, Merkle-tree log (RFC 6962) whose checkpoints are signed (C2SP signed \
note), so anyone can verify it without trusting the operator.

**Writes** answer 201 with the entry, its `seq`, its leaf hash and a **receipt**: a C2SP \
`tlog-proof` proving the entry's inclusion in a signed checkpoint. Ids are idempotency \
keys: sending the same id with the same content again answers 200 with the original \
answer; the same id with different content is 409.

**Allocation rule**: per campaign, donations fill a money line in log order and \
disbursements drain it in log order. Donation d covers [received_before, received_before + \
net); disbursement x covers [disbursed_before, disbursed_before + amount); d funded x by \
exactly the overlap. Anyone can recompute it from the entries.

Money is always an integer in the currency's minor units. Every error is RFC 9457 \
`application/problem+json`, with `field` naming the field at fault and `rule` the ledger \
rule broken where there is one.";

/// An entry's canonical JSON object, exactly as logged: the common fields `v`, `seq`,
/// `prev` (hex leaf hash of entry `seq-1`), `time`, `kind` and, for an org's records,
/// `org`, plus the fields of its kind.
// Never built: it only names the schema of an entry, whose type in the code is raw JSON.
#[derive(ToSchema)]
#[schema(value_type = Object)]
pub struct CanonicalEntry(pub serde_json::Map<String, serde_json::Value>);

/// The error answers many routes share, as reusable response components (each an RFC 9457
/// problem, `application/problem+json`). Answers whose meaning depends on the route, such
/// as a 404, are described at the route itself.
pub mod problem {
    use utoipa::ToResponse;
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::{RefOr, Response, ResponseBuilder, content::ContentBuilder};

    use super::PROBLEM_JSON;
    use crate::api::error::Problem;

    fn problem_response(description: &str) -> Response {
        ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name(
                        <Problem as utoipa::ToSchema>::name(),
                    )))
                    .build(),
            )
            .build()
    }

    macro_rules! problems {
        ($($(#[doc = $doc:literal])+ $name:ident: $description:literal;)+) => {$(
            $(#[doc = $doc])+
            pub struct $name;

            impl<'r> ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (stringify!($name), problem_response($description).into())
                }
            }
        )+};
    }

    problems! {
        /// 400 from a body that is not JSON, or a malformed path parameter.
        MalformedBody: "The body is not JSON (a syntax error or trailing data), or a path \
            parameter is malformed (`field` names it).";
        /// 400 from the query string or a path parameter.
        BadQuery: "A query parameter is unknown, repeated, malformed or out of range, or a \
            path parameter is malformed (`field` names it).";
        /// 400 from a path parameter.
        BadPath: "A path parameter is malformed (`field` names it): an id is 1 to 64 of \
            A-Z a-z 0-9 . _ : - starting with a letter or digit, a seq a non-negative \
            integer without leading zeros.";
        /// 401 (also sent with `WWW-Authenticate: Bearer`).
        Unauthorized: "The bearer token is missing or not valid.";
        /// 403 from an org token used on another org's route.
        Forbidden: "The token belongs to another org: an org writes only its own records.";
        /// 409 from an idempotency key reused with different content.
        Conflict: "This id was already logged with different content (`field` names the id, \
            e.g. `id` or `donations[3].id`).";
        /// 413 from a single write.
        BodyTooLarge: "The body is larger than 64 KiB.";
        /// 413 from a batch write.
        BatchTooLarge: "The body is larger than 2 MiB.";
        /// 415 from a write without a JSON body.
        UnsupportedMediaType: "The Content-Type is not application/json.";
        /// 422 from a single write.
        InvalidInput: "A field is invalid (`field` names it) or the record breaks a ledger \
            rule (`rule` names the rule, e.g. overspending a campaign); nothing was logged.";
        /// 422 from a batch write.
        InvalidBatch: "The list is empty or has more than 1000 items, or an item is invalid or \
            breaks a ledger rule (`field` names it, e.g. `donations[3].amount`, and `rule` the \
            rule); nothing was logged.";
        /// 408 from the request timeout (every route but the export downloads).
        RequestTimedOut: "The request took longer than the service allows \
            (`serve --request-timeout-seconds`, 30 s by default) and was cut off; a write \
            cut off may still be logged, so retry it with the same id.";
        /// 503 from storage.
        Unavailable: "The log is temporarily unavailable; retry later (writes are safe to \
            retry with the same id).";
    }

    /// 503 while no checkpoint meets the log's witness quorum, with `Retry-After`.
    pub struct NotWitnessedYet;

    impl<'r> ToResponse<'r> for NotWitnessedYet {
        fn response() -> (&'r str, RefOr<Response>) {
            let mut response = problem_response(
                "The log is temporarily unavailable, or (with `witnessed=true`, or at \
                 `/log/checkpoint` on a witnessed log) no checkpoint that answers has been \
                 cosigned by the witness quorum yet: retry after `Retry-After` seconds.",
            );
            response.headers.insert(
                "Retry-After".into(),
                HeaderBuilder::new()
                    .schema(Some(<u64 as utoipa::PartialSchema>::schema()))
                    .description(Some("Seconds to wait, when waiting for witnesses."))
                    .build()
                    .into(),
            );
            ("NotWitnessedYet", response.into())
        }
    }

    /// 429 from an org token's write rate ([`crate::limits::DEFAULT_ORG_WRITES_PER_SECOND`]),
    /// with the `Retry-After` header the answer carries.
    pub struct OrgWritesRateLimited;

    impl<'r> ToResponse<'r> for OrgWritesRateLimited {
        fn response() -> (&'r str, RefOr<Response>) {
            let mut response = problem_response(
                "More writes with this org's token than the service takes per second \
                 (`serve --org-writes-per-second`); nothing was logged. Retry after \
                 `Retry-After` seconds.",
            );
            response.headers.insert(
                "Retry-After".into(),
                HeaderBuilder::new()
                    .schema(Some(<u64 as utoipa::PartialSchema>::schema()))
                    .description(Some("Seconds to wait."))
                    .build()
                    .into(),
            );
            ("OrgWritesRateLimited", response.into())
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "pennytrail", description = API_DESCRIPTION),
    components(
        schemas(
            error::Problem,
            write::WriteResponse,
            write::BatchResponse,
            CanonicalEntry,
            crate::formats::FileName
        ),
        responses(
            problem::MalformedBody,
            problem::BadQuery,
            problem::Unauthorized,
            problem::Forbidden,
            problem::Conflict,
            problem::BodyTooLarge,
            problem::BatchTooLarge,
            problem::UnsupportedMediaType,
            problem::InvalidInput,
            problem::InvalidBatch,
            problem::OrgWritesRateLimited,
            problem::NotWitnessedYet,
            problem::RequestTimedOut,
            problem::Unavailable,
            problem::BadPath,
        ),
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "meta", description = "Liveness and this API description."),
        (name = "log", description = "The public log: identity, signed checkpoints, entries \
            and their exact bytes, inclusion proofs (receipts) and consistency proofs."),
        (name = "tiles", description = "The log as C2SP tlog-tiles under /log: the \
            checkpoint, Merkle tree tiles and entry bundles, immutable and cacheable."),
        (name = "admin", description = "Operator actions: registering charities."),
        (name = "orgs", description = "Registered charities."),
        (name = "beneficiaries", description = "Who an org pays: people, organisations, \
            suppliers, and its own overhead and refunds, so those flows stay visible."),
        (name = "campaigns", description = "Restricted funds: opened with their stated \
            beneficiaries, read with their running totals."),
        (name = "donations", description = "Money received, and where it went under the \
            allocation rule."),
        (name = "disbursements", description = "Money paid out to stated beneficiaries, and \
            the donations behind it under the allocation rule."),
        (name = "corrections", description = "Corrections of an earlier entry's text fields; \
            money is never corrected."),
        (name = "donors", description = "A donor finding their own donations."),
        (name = "reports", description = "Charities' signed reports over a log range, every \
            figure recomputed from the log, verified afresh on read."),
        (name = "exports", description = "The books for download: bundle CSVs streamed by \
            range, org or campaign, and the whole verifiable bundle as one archive."),
    ),
)]
pub struct ApiDoc;

/// Adds the two bearer-token schemes the write routes name.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            OPERATOR_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pto_<base64url>")
                    .description(Some(
                        "The operator token (`pto_…`), which `pennytrail serve` writes to \
                         `<data-dir>/operator.token` on first start.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            ORG_TOKEN,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pt_<base64url>")
                    .description(Some(
                        "An org's API token (`pt_…`), returned once when the operator \
                         registers the org. It writes only that org's records (403 otherwise).",
                    ))
                    .build(),
            ),
        );
    }
}

/// The one path outside the request timeout.
pub const UNTIMED_PATH: &str = "/v1/exports/{file}";

/// Adds the request timeout's 408 to every operation it covers: all but the export
/// downloads, which stream for as long as the log takes (see [`super::Api`]).
pub fn document_timeouts(openapi: &mut utoipa::openapi::OpenApi) {
    let name = <problem::RequestTimedOut as utoipa::ToResponse>::response().0;
    for (path, item) in openapi.paths.paths.iter_mut() {
        if path == UNTIMED_PATH {
            continue;
        }
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            operation.responses.responses.insert(
                "408".into(),
                utoipa::openapi::Ref::from_response_name(name).into(),
            );
        }
    }
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API.",
            body = Object, content_type = "application/json"),
    ),
)]
pub async fn openapi_json() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(document())
}

/// The API's document, built once from its routes ([`super::api`]).
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| super::api().document)
}

/// The routes of the browsable docs: `/docs` (a redirect to `/docs/`) and the Swagger UI
/// files under `/docs/`, which load the document from [`OPENAPI_PATH`].
pub fn docs_routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    // No validator: Swagger UI would otherwise send the document to an online service.
    let config = Config::new([OPENAPI_PATH]).validator_url("none");
    SwaggerUi::new(DOCS_PATH).config(config).into()
}
