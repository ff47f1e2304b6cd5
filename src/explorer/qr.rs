//! A QR code as inline SVG (no script, no image request): the donation page shows one of
//! its own lookup link, for people who came from a poster or an SMS and want to open the
//! page again on another phone. Only links go in, never a donor reference.

use axum::http::HeaderMap;
use qrcodegen::{QrCode, QrCodeEcc};

use super::html::Html;

/// Light modules around the code, as the QR standard asks.
const QUIET_ZONE: i32 = 4;

/// The code of `text` as an `<svg>` with one path of dark modules, labelled `label` for
/// screen readers; `None` when the text is too long for any QR code.
pub fn qr_svg(text: &str, label: &str) -> Option<Html> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let side = code.size() + 2 * QUIET_ZONE;
    let mut path = String::new();
    for y in 0..code.size() {
        let mut x = 0;
        while x < code.size() {
            if !code.get_module(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < code.size() && code.get_module(x, y) {
                x += 1;
            }
            let (px, py, run) = (start + QUIET_ZONE, y + QUIET_ZONE, x - start);
            path.push_str(&format!("M{px} {py}h{run}v1h-{run}z"));
        }
    }
    let mut svg = Html::new();
    svg.raw("<svg class=\"qr\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" viewBox=\"0 0 ")
        .display(side)
        .raw(" ")
        .display(side)
        .raw("\" shape-rendering=\"crispEdges\"><title>")
        .text(label)
        .raw("</title><rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path fill=\"#000\" d=\"")
        .text(&path)
        .raw("\"/></svg>");
    Some(svg)
}

/// The address this page was asked at, for a link that works from another device:
/// `X-Forwarded-Proto` (a TLS proxy in front says `https`), else `http`; and the `Host`
/// header, when it is a plain host name or address with an optional port.
pub fn public_base(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(axum::http::header::HOST)?.to_str().ok()?;
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if !plain {
        return None;
    }
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
    {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    Some(format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_becomes_a_square_of_modules() {
        let svg = qr_svg("https://log.example.org/lookup?org=a&donation=b", "QR")
            .unwrap()
            .into_string();
        assert!(svg.starts_with("<svg class=\"qr\""));
        // Version 4 at medium correction: 33 modules and the quiet zone.
        assert!(svg.contains("viewBox=\"0 0 41 41\""), "{svg}");
        assert!(qr_svg(&"x".repeat(4000), "QR").is_none());
    }

    #[test]
    fn only_plain_hosts_make_a_base() {
        let mut headers = HeaderMap::new();
        assert_eq!(public_base(&headers), None);
        headers.insert("host", "log.example.org:8080".parse().unwrap());
        assert_eq!(
            public_base(&headers).as_deref(),
            Some("http://log.example.org:8080")
        );
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        assert_eq!(
            public_base(&headers).as_deref(),
            Some("https://log.example.org:8080")
        );
        headers.insert("host", "evil\"><script>".parse().unwrap());
        assert_eq!(public_base(&headers), None);
    }
}
