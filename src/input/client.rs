//! Who a request comes from, for the per-client limits: the peer, or behind a trusted
//! reverse proxy the client it forwarded for (see [`crate::limits::client_address`]),
//! keyed as a [`Client`] (an IPv4 address, an IPv6 /64).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::HeaderName;
use axum::http::request::Parts;

use crate::app::AppState;
use crate::limits::{Client, client_address};

/// The standard header a reverse proxy appends the address it saw to.
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The client of a request, as the per-client limits count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Client);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // The server always runs with connect info; a request without (an in-process
        // call) counts as coming from nowhere in particular.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0);
        let forwarded = parts
            .headers
            .get_all(&X_FORWARDED_FOR)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string));
        Ok(ClientAddr(Client::from(client_address(
            peer,
            forwarded,
            &state.trusted_proxies,
        ))))
    }
}
