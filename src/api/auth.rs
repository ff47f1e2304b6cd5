//! Bearer-token authentication. Tokens are 256-bit random values; only their SHA-256 is
//! stored, and comparisons are constant-time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;

use super::error::ApiError;
use crate::app::AppState;
use crate::input::Id;
use crate::input::path::FromPathParam as _;
use crate::log::hash::{Hash, sha256};
use crate::store::Store;

/// Prefix of operator tokens, so a leaked one is recognisable in logs and scanners.
pub const OPERATOR_TOKEN_PREFIX: &str = "pto_";
/// Prefix of org API tokens.
pub const ORG_TOKEN_PREFIX: &str = "pt_";

/// A new random token with the given prefix, and the hash to store.
pub fn new_token(prefix: &str) -> anyhow::Result<(String, Hash)> {
    let token = format!(
        "{prefix}{}",
        URL_SAFE_NO_PAD.encode(crate::keys::random_bytes()?)
    );
    let hash = token_hash(&token);
    Ok((token, hash))
}

pub fn token_hash(token: &str) -> Hash {
    sha256(token.as_bytes())
}

/// The token of an `Authorization: Bearer <token>` header. The scheme name is
/// case-insensitive (RFC 9110 §11.1), so `bearer <token>` is the same credential.
fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer <token> header"))?;
    value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("Authorization header must be: Bearer <token>"))
}

fn matches(presented: &str, stored: &Hash) -> bool {
    token_hash(presented).0.ct_eq(&stored.0).into()
}

/// How long a verified token is trusted without asking the database again. Revoking or
/// reissuing a token clears it from this process's cache at once; other processes
/// sharing a PostgreSQL database stop accepting it within this time. One second keeps
/// the token lookup off the path of all but one write per token per second.
pub const TOKEN_CACHE_TTL: Duration = Duration::from_secs(1);

/// Most verified tokens kept; past this the cache starts over (one org token each, so
/// 10,000 active orgs before a refill, ~1 MB).
const MAX_CACHED_TOKENS: usize = 10_000;

/// Whom a verified token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Holder {
    Operator,
    Org(String),
}

/// Tokens verified against the store in the last [`TOKEN_CACHE_TTL`], by hash (the
/// token itself is never kept). Unknown tokens are not cached: each one asks the store.
#[derive(Default)]
pub struct TokenCache {
    verified: Mutex<HashMap<Hash, (Holder, Instant)>>,
}

impl TokenCache {
    fn get(&self, hash: &Hash) -> Option<Holder> {
        let verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        verified
            .get(hash)
            .filter(|(_, at)| at.elapsed() < TOKEN_CACHE_TTL)
            .map(|(holder, _)| holder.clone())
    }

    fn put(&self, hash: Hash, holder: Holder) {
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= MAX_CACHED_TOKENS {
            verified.clear();
        }
        verified.insert(hash, (holder, Instant::now()));
    }

    /// Forgets every token of `org` (called when its token is reissued or revoked).
    pub fn forget_org(&self, org: &str) {
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        verified.retain(|_, (holder, _)| !matches!(holder, Holder::Org(o) if o == org));
    }
}

/// Requires the operator token.
pub async fn require_operator(
    store: &Store,
    cache: &TokenCache,
    headers: &HeaderMap,
) -> Result<(), ApiError> {
    let token = bearer(headers)?;
    let hash = token_hash(token);
    if cache.get(&hash) == Some(Holder::Operator) {
        return Ok(());
    }
    match store.operator_token_hash().await? {
        Some(stored) if matches(token, &stored) => {
            cache.put(hash, Holder::Operator);
            Ok(())
        }
        _ => Err(ApiError::unauthorized("the operator token is not valid")),
    }
}

/// Requires the API token of `org`: 401 for a missing or unknown token, 403 for the
/// token of another org (an org can only write its own records).
pub async fn require_org(
    store: &Store,
    cache: &TokenCache,
    headers: &HeaderMap,
    org: &str,
) -> Result<(), ApiError> {
    let token = bearer(headers)?;
    let hash = token_hash(token);
    let holder = match cache.get(&hash) {
        Some(Holder::Org(owner)) => owner,
        _ => match store.org_token(&hash).await? {
            // The lookup is by hash; compare again in constant time before trusting it.
            Some((owner, stored)) if matches(token, &stored) => {
                cache.put(hash, Holder::Org(owner.clone()));
                owner
            }
            _ => return Err(not_an_org_token(store, token, org).await),
        },
    };
    if holder != org {
        return Err(ApiError::forbidden(format!(
            "this API token may not write records of org {org:?}"
        )));
    }
    Ok(())
}

/// The refusal of a token that is no org's: a person holding the operator token is told
/// which token this route takes and where it comes from.
async fn not_an_org_token(store: &Store, token: &str, org: &str) -> ApiError {
    match store.operator_token_hash().await {
        Ok(Some(operator)) if matches(token, &operator) => ApiError::unauthorized(format!(
            "this is the operator token, which only the /v1/admin routes take; writes to \
             org {org:?} take that org's API token, returned when the org was registered \
             (POST /v1/admin/orgs/{org}/token issues a new one)"
        )),
        Ok(_) => ApiError::unauthorized(format!(
            "the API token is not valid: it is not the token of org {org:?} nor of any \
             other org (POST /v1/admin/orgs/{org}/token issues a new one)"
        )),
        Err(e) => e.into(),
    }
}

/// The org whose API token authorised this request (checked before the body is read).
pub struct OrgWriter(pub String);

impl axum::extract::FromRequestParts<AppState> for OrgWriter {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let raw = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("path: {}", e.body_text())))?;
        let org = raw
            .iter()
            .find(|(name, _)| *name == "org")
            .ok_or_else(|| ApiError::bad_request("route has no org"))
            .and_then(|(name, value)| Ok(Id::from_param(name, value)?))?
            .into_string();
        require_org(&state.store, &state.tokens, &parts.headers, &org).await?;
        state.org_writes.check(org.clone())?;
        Ok(OrgWriter(org))
    }
}

/// Proof that the request carries the operator token (checked before the body is read).
pub struct Operator;

impl axum::extract::FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        require_operator(&state.store, &state.tokens, &parts.headers).await?;
        Ok(Operator)
    }
}
