//! Building HTML safely. Markup only ever comes from `&'static str` literals written in
//! this crate ([`Html::raw`]); every other string — org names, labels, ids, purposes, all
//! of them outside input — goes through [`Html::text`], which escapes it. So no stored
//! string can open a tag, close an attribute or start a script, whatever it contains.
//! Messages of the catalogues ([`Html::message`]) are this crate's text as well, and their
//! arguments are escaped.

use std::fmt::Display;

use super::i18n::{self, Arg};

/// An HTML fragment under construction.
#[derive(Debug, Default)]
pub struct Html {
    out: String,
}

impl Html {
    pub fn new() -> Html {
        Html::default()
    }

    /// Markup written in this crate. Taking only `&'static str` keeps outside strings,
    /// which are never `'static`, from reaching the page unescaped.
    pub fn raw(&mut self, markup: &'static str) -> &mut Html {
        self.out.push_str(markup);
        self
    }

    /// Text (or an attribute value between double quotes), escaped.
    pub fn text(&mut self, text: &str) -> &mut Html {
        escape_into(&mut self.out, text);
        self
    }

    /// Anything displayable (numbers, formatted amounts), escaped like text.
    pub fn display(&mut self, value: impl Display) -> &mut Html {
        self.text(&value.to_string())
    }

    /// One path segment of a URL inside an attribute: percent-encoded, then escaped.
    pub fn segment(&mut self, segment: &str) -> &mut Html {
        self.text(&percent_encode(segment))
    }

    /// An element holding only text: `<tag>text</tag>`.
    pub fn element(&mut self, open: &'static str, text: &str, close: &'static str) -> &mut Html {
        self.raw(open).text(text).raw(close)
    }

    /// Message `id` of the catalogue, in the request's language, as text.
    pub fn t(&mut self, id: &str) -> &mut Html {
        self.text(&i18n::t(id))
    }

    /// Message `id` with arguments, as text.
    pub fn t_args(&mut self, id: &str, args: &[(&str, Arg<'_>)]) -> &mut Html {
        self.text(&i18n::t_args(id, args))
    }

    /// Message `id` whose catalogue text holds markup (a link, emphasis). The catalogues
    /// are part of this crate, as [`Html::raw`]'s literals are; every text argument is
    /// escaped before it is placed.
    pub fn message(&mut self, id: &str, args: &[(&str, Arg<'_>)]) -> &mut Html {
        self.out.push_str(&i18n::markup(id, args));
        self
    }

    /// Appends a fragment built (safely) elsewhere.
    pub fn append(&mut self, fragment: Html) -> &mut Html {
        self.out.push_str(&fragment.out);
        self
    }

    pub fn into_string(self) -> String {
        self.out
    }
}

/// `text` with the five characters that matter in HTML text and quoted attributes escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Percent-encodes every byte outside RFC 3986's unreserved set, so a value is one path
/// segment or one query value whatever it holds.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `s` cut to at most `max_chars` characters, with an ellipsis when cut.
pub fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    let mut cut: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_text_cannot_become_markup() {
        let mut html = Html::new();
        html.raw("<p title=\"")
            .text("\"><script>alert(1)</script>")
            .raw("\">")
            .text("<b>&'")
            .raw("</p>");
        assert_eq!(
            html.into_string(),
            "<p title=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\">&lt;b&gt;&amp;&#39;</p>"
        );
    }

    #[test]
    fn segments_are_percent_encoded_then_escaped() {
        assert_eq!(percent_encode("don-1.a_b~"), "don-1.a_b~");
        assert_eq!(percent_encode("a/b?c=d&e"), "a%2Fb%3Fc%3Dd%26e");
        assert_eq!(percent_encode("é"), "%C3%A9");
        let mut html = Html::new();
        html.segment("x\"y");
        assert_eq!(html.into_string(), "x%22y");
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("ééééé", 3), "éé…");
    }
}
