//! The verifier's HTTP client: blocking, no async runtime, HTTPS with rustls and the
//! system's root certificates (`SSL_CERT_FILE` / `SSL_CERT_DIR` choose others), and plain
//! `http://` only for a service on this machine. Every answer's size is bounded by the
//! caller, and errors name the URL that failed.
//!
//! [`base_url`] is the one rule for what a `--url` may be; the service's own commands
//! that take `--url` (export, demo, drafts, loadgen) check theirs with it too.

use std::io::Read as _;
use std::net::IpAddr;
use std::time::Duration;

use pennytrail_bundle::monitor::{Fetch, MonitorError};
use ureq::http::Uri;
use ureq::tls::{RootCerts, TlsConfig};

/// Time to set up a connection, TLS included; a live instance answers within
/// milliseconds.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for one whole request, body included: a full 16 MiB page takes ~13 s on a
/// 10 Mbit/s link, so 60 s leaves room for a slow link without hanging on a dead one.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How much of an error answer's body is read, to quote its `detail`.
const MAX_ERROR_BODY: u64 = 1024;

/// Whether `host` (as a URL spells it: a name, an IPv4 address or a bracketed IPv6
/// address) is this machine.
fn is_local_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Checks a service's base URL and returns it without a trailing `/`: `https://` with a
/// host, or `http://` to a host on this machine (`localhost`, `127.0.0.0/8`, `[::1]`); an
/// optional path prefix; no query or fragment.
///
/// Plain HTTP to another machine is refused: signatures protect what the verifier
/// checks, but not an org's token a command sends, nor which answers arrive at all.
///
/// # Errors
/// A sentence saying what a base URL must look like.
pub fn base_url(url: &str) -> Result<String, String> {
    let shape = "use a base URL like https://HOST[:PORT] (or http://127.0.0.1:PORT for a service on this machine), without query or fragment";
    let parsed: Uri = url.parse().map_err(|e| format!("{e}; {shape}"))?;
    let Some(host) = parsed.host().filter(|h| !h.is_empty()) else {
        return Err(shape.to_string());
    };
    if url.contains('#') || parsed.query().is_some() {
        return Err(shape.to_string());
    }
    match parsed.scheme_str() {
        Some("https") => {}
        Some("http") if is_local_host(host) => {}
        Some("http") => {
            return Err(format!(
                "plain http:// is only for a service on this machine (localhost, 127.0.0.1, [::1]); use https://{host}… so nobody on the way can read or change what is sent"
            ));
        }
        _ => return Err(shape.to_string()),
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// The error and its causes on one line, with a timeout said as such.
fn describe(error: &ureq::Error) -> String {
    if let ureq::Error::Timeout(which) = error {
        return format!(
            "no answer within {} s (timed out: {which})",
            REQUEST_TIMEOUT.as_secs()
        );
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// An error answer's `detail` (RFC 9457), or its first line, printable and short.
pub fn error_detail(body: &[u8]) -> String {
    let detail = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["detail"].as_str().map(str::to_string))
        .unwrap_or_else(|| {
            String::from_utf8_lossy(body)
                .lines()
                .next()
                .unwrap_or("")
                .to_string()
        });
    let clean: String = detail
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if clean.is_empty() {
        "(no detail)".to_string()
    } else {
        clean
    }
}

/// A live instance at a checked base URL, read with bounded GETs.
pub struct HttpSource {
    base: String,
    agent: ureq::Agent,
}

impl HttpSource {
    /// A client for the instance at `url` (see [`base_url`]).
    ///
    /// # Errors
    /// [`MonitorError::BadUrl`] naming the URL and what is wrong with it.
    pub fn new(url: &str) -> Result<HttpSource, MonitorError> {
        let base = base_url(url).map_err(|reason| MonitorError::BadUrl {
            url: url.to_string(),
            reason,
        })?;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .user_agent(concat!("pennytrail-verify/", env!("CARGO_PKG_VERSION")))
            .tls_config(
                TlsConfig::builder()
                    .root_certs(RootCerts::PlatformVerifier)
                    .build(),
            )
            .build()
            .new_agent();
        Ok(HttpSource { base, agent })
    }
}

impl Fetch for HttpSource {
    fn base(&self) -> &str {
        &self.base
    }

    fn get(&self, path: &str, limit: usize) -> Result<Vec<u8>, MonitorError> {
        let url = self.url(path);
        let response = self
            .agent
            .get(&url)
            .call()
            .map_err(|e| MonitorError::Http {
                url: url.clone(),
                reason: describe(&e),
            })?;
        let status = response.status();
        let mut body = Vec::new();
        if !status.is_success() {
            // Only to quote its detail: a longer or broken error body is cut, not an error.
            let _ = response
                .into_body()
                .into_with_config()
                .limit(MAX_ERROR_BODY)
                .reader()
                .read_to_end(&mut body);
            return Err(MonitorError::Status {
                url,
                status: status.as_u16(),
                detail: error_detail(&body),
            });
        }
        let read = response
            .into_body()
            .into_with_config()
            .limit(limit as u64)
            .reader()
            .read_to_end(&mut body);
        match read.map_err(ureq::Error::from) {
            Ok(_) => Ok(body),
            Err(ureq::Error::BodyExceedsLimit(_)) => Err(MonitorError::Body {
                url,
                reason: format!("the answer is larger than {limit} bytes"),
            }),
            Err(e) => Err(MonitorError::Http {
                url,
                reason: format!("reading the answer: {}", describe(&e)),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        for bad in [
            "localhost:8080",
            "ftp://example.org",
            "http://example.org",
            "http://10.0.0.1:8080",
            "https://example.org/?a=1",
            "https://example.org/#top",
            "http://",
            "https://",
            "",
        ] {
            assert!(base_url(bad).is_err(), "{bad}");
        }
        assert!(
            base_url("http://example.org")
                .unwrap_err()
                .contains("use https://example.org")
        );
        for (good, base) in [
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
            ("http://127.1.2.3:8080", "http://127.1.2.3:8080"),
            ("http://localhost:8080", "http://localhost:8080"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            ("https://example.org", "https://example.org"),
            (
                "https://example.org/pennytrail/",
                "https://example.org/pennytrail",
            ),
        ] {
            assert_eq!(base_url(good).as_deref(), Ok(base), "{good}");
        }
        let source = HttpSource::new("http://127.0.0.1:8080/").unwrap();
        assert_eq!(
            source.url("/v1/checkpoint"),
            "http://127.0.0.1:8080/v1/checkpoint"
        );
    }

    #[test]
    fn error_details() {
        assert_eq!(
            error_detail(br#"{"type":"x","detail":"from (5) must not exceed to (3)"}"#),
            "from (5) must not exceed to (3)"
        );
        assert_eq!(error_detail(b"plain text\nmore"), "plain text");
        assert_eq!(error_detail(b""), "(no detail)");
    }
}
