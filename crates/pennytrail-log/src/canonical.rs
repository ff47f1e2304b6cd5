//! Canonical JSON for log entries: the RFC 8785 (JCS) encoding restricted to the subset
//! entries use — objects with `[a-z0-9_]` keys, strings, integers with |n| < 2^53 and
//! arrays — so that one entry has exactly one byte representation.
//!
//! Readers never trust stored bytes: [`parse_canonical`] parses and re-encodes, and
//! accepts the input only when the two are byte-equal. Duplicate keys, floats,
//! insignificant whitespace or unusual escapes therefore can never make two readers
//! disagree about what an entry says.

use serde_json::{Map, Value};

/// Largest integer magnitude an entry may carry: 2^53 − 1, the largest integer every
/// JSON reader (JavaScript's `Number` included) represents exactly.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Largest encoded entry, 16 KiB: a spreadsheet cell holds 32,767 characters, so an
/// entry always fits in one CSV cell of an export bundle even if every byte were escaped.
pub const MAX_ENTRY_BYTES: usize = 16 * 1024;

/// Deepest nesting of arrays and objects below the top-level object. Entries are flat;
/// lists of ids and small per-kind total tables need two levels at most.
pub const MAX_DEPTH: usize = 3;

/// What makes a value or byte string non-canonical.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum CanonicalError {
    #[error("entry is {size} bytes; the limit is {MAX_ENTRY_BYTES}")]
    TooLarge { size: usize },
    #[error("entry is not valid JSON: {0}")]
    NotJson(String),
    #[error("entry must be a JSON object")]
    NotAnObject,
    #[error("key {key:?} must match [a-z0-9_]+")]
    BadKey { key: String },
    #[error("field {field:?}: only integers with |n| <= 2^53-1 are allowed, not {value}")]
    BadNumber { field: String, value: String },
    #[error("field {field:?}: null and booleans are not allowed in entries")]
    BadType { field: String },
    #[error("field {field:?}: nested deeper than {MAX_DEPTH} levels")]
    TooDeep { field: String },
    #[error("entry bytes are not in canonical form (first difference at byte {offset})")]
    NotCanonical { offset: usize },
}

/// Encodes a top-level object canonically. Fails if any value is outside the subset.
pub fn encode(object: &Map<String, Value>) -> Result<Vec<u8>, CanonicalError> {
    let mut fields: Vec<(&str, &Value)> = object.iter().map(|(k, v)| (k.as_str(), v)).collect();
    encode_fields(&mut fields)
}

/// Encodes a top-level object given as its fields, in any order (keys must be unique),
/// so a caller can add fields to an object without copying it.
pub fn encode_fields(fields: &mut [(&str, &Value)]) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(256);
    encode_sorted(fields, 0, FieldPath::Root, &mut out)?;
    if out.len() > MAX_ENTRY_BYTES {
        return Err(CanonicalError::TooLarge { size: out.len() });
    }
    Ok(out)
}

/// Parses entry bytes and requires them to be canonical (byte-equal to their re-encoding).
pub fn parse_canonical(bytes: &[u8]) -> Result<Map<String, Value>, CanonicalError> {
    if bytes.len() > MAX_ENTRY_BYTES {
        return Err(CanonicalError::TooLarge { size: bytes.len() });
    }
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| CanonicalError::NotJson(e.to_string()))?;
    let Value::Object(object) = value else {
        return Err(CanonicalError::NotAnObject);
    };
    let again = encode(&object)?;
    if again != bytes {
        let offset = again
            .iter()
            .zip(bytes)
            .position(|(a, b)| a != b)
            .unwrap_or(again.len().min(bytes.len()));
        return Err(CanonicalError::NotCanonical { offset });
    }
    Ok(object)
}

fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Where a value sits in an entry (`totals.card`, `ids[3]`); spelled out only when an
/// error names it, so encoding allocates nothing for it.
#[derive(Clone, Copy)]
enum FieldPath<'a> {
    Root,
    Key(&'a FieldPath<'a>, &'a str),
    Index(&'a FieldPath<'a>, usize),
}

impl FieldPath<'_> {
    fn render(&self) -> String {
        match self {
            FieldPath::Root => String::new(),
            FieldPath::Key(FieldPath::Root, key) => key.to_string(),
            FieldPath::Key(parent, key) => format!("{}.{key}", parent.render()),
            FieldPath::Index(parent, i) => format!("{}[{i}]", parent.render()),
        }
    }
}

fn encode_object(
    object: &Map<String, Value>,
    depth: usize,
    path: FieldPath<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CanonicalError> {
    let mut fields: Vec<(&str, &Value)> = object.iter().map(|(k, v)| (k.as_str(), v)).collect();
    encode_sorted(&mut fields, depth, path, out)
}

fn encode_sorted(
    fields: &mut [(&str, &Value)],
    depth: usize,
    path: FieldPath<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CanonicalError> {
    // Keys are ASCII, so byte order equals RFC 8785's UTF-16 code unit order.
    fields.sort_unstable_by_key(|(key, _)| *key);
    debug_assert!(fields.windows(2).all(|w| w[0].0 != w[1].0), "duplicate key");
    out.push(b'{');
    for (i, (key, value)) in fields.iter().enumerate() {
        if !is_valid_key(key) {
            return Err(CanonicalError::BadKey {
                key: key.to_string(),
            });
        }
        if i > 0 {
            out.push(b',');
        }
        encode_string(key, out);
        out.push(b':');
        encode_value(value, depth, FieldPath::Key(&path, key), out)?;
    }
    out.push(b'}');
    Ok(())
}

fn encode_value(
    value: &Value,
    depth: usize,
    field: FieldPath<'_>,
    out: &mut Vec<u8>,
) -> Result<(), CanonicalError> {
    match value {
        Value::String(s) => encode_string(s, out),
        Value::Number(n) => match n.as_i64() {
            Some(i) if (-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&i) => {
                out.extend_from_slice(format_int(i, &mut [0u8; 20]));
            }
            _ => {
                return Err(CanonicalError::BadNumber {
                    field: field.render(),
                    value: n.to_string(),
                });
            }
        },
        Value::Array(items) => {
            if depth >= MAX_DEPTH {
                return Err(CanonicalError::TooDeep {
                    field: field.render(),
                });
            }
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                encode_value(item, depth + 1, FieldPath::Index(&field, i), out)?;
            }
            out.push(b']');
        }
        Value::Object(inner) => {
            if depth >= MAX_DEPTH {
                return Err(CanonicalError::TooDeep {
                    field: field.render(),
                });
            }
            encode_object(inner, depth + 1, field, out)?;
        }
        Value::Null | Value::Bool(_) => {
            return Err(CanonicalError::BadType {
                field: field.render(),
            });
        }
    }
    Ok(())
}

/// `n` in decimal, written into `buf` (an `i64` needs at most 20 bytes): what `{n}`
/// spells, without the formatting machinery, which showed in profiles of the sequencer.
/// Entries and CSV cells write integers through it.
pub fn format_int(n: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    &buf[at..]
}

/// RFC 8785 string escaping: `"` and `\` escaped, control characters as the short
/// escapes where JSON has one and `\u00xx` (lowercase hex) otherwise; everything else,
/// non-ASCII included, is written as its UTF-8 bytes.
fn encode_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    // Only ASCII bytes are ever escaped, and no byte of a multi-byte UTF-8 character is
    // ASCII, so runs of bytes between escapes are copied as they are.
    let bytes = s.as_bytes();
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[run_start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        run_start = i + 1;
    }
    out.extend_from_slice(&bytes[run_start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        let bytes = encode(&obj(json!({"b": 1, "a": "x", "c": ["p", 2]}))).unwrap();
        assert_eq!(bytes, br#"{"a":"x","b":1,"c":["p",2]}"#);
    }

    #[test]
    fn integers_spell_as_rust_formats_them() {
        for i in [
            0,
            7,
            -7,
            10,
            -10,
            99,
            100,
            1_000_000,
            MAX_SAFE_INTEGER,
            -MAX_SAFE_INTEGER,
            i64::MAX,
            i64::MIN,
        ] {
            assert_eq!(format_int(i, &mut [0u8; 20]), i.to_string().as_bytes());
        }
    }

    #[test]
    fn escapes_like_rfc8785() {
        let bytes = encode(&obj(json!({"s": "q\"\\\u{1}\n\u{7f}é\u{2028}"}))).unwrap();
        assert_eq!(
            bytes,
            "{\"s\":\"q\\\"\\\\\\u0001\\n\u{7f}é\u{2028}\"}".as_bytes()
        );
    }

    #[test]
    fn refuses_values_outside_the_subset() {
        assert!(matches!(
            encode(&obj(json!({"a": 1.5}))),
            Err(CanonicalError::BadNumber { .. })
        ));
        assert!(matches!(
            encode(&obj(json!({"a": 9007199254740992i64}))),
            Err(CanonicalError::BadNumber { .. })
        ));
        assert!(encode(&obj(json!({"a": -9007199254740991i64}))).is_ok());
        assert!(matches!(
            encode(&obj(json!({"a": null}))),
            Err(CanonicalError::BadType { .. })
        ));
        assert!(matches!(
            encode(&obj(json!({"A": 1}))),
            Err(CanonicalError::BadKey { .. })
        ));
        assert!(matches!(
            encode(&obj(json!({"a": [[[["deep"]]]]}))),
            Err(CanonicalError::TooDeep { .. })
        ));
    }

    #[test]
    fn parse_requires_byte_equality() {
        assert!(parse_canonical(br#"{"a":1,"b":"x"}"#).is_ok());
        for bad in [
            &br#"{"b":"x","a":1}"#[..],
            br#"{"a": 1}"#,
            br#"{"a":1,"a":1}"#,
            br#"{"a":1.0}"#,
            br#"{"a":"\u0041"}"#,
            br#"{"a":"\/"}"#,
            br#"{"a":1} "#,
            br#"[1]"#,
            b"{\"a\":\"\xff\"}",
        ] {
            assert!(
                parse_canonical(bad).is_err(),
                "{:?} should be refused",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn size_limit_applies() {
        let big = "x".repeat(MAX_ENTRY_BYTES);
        assert!(matches!(
            encode(&obj(json!({ "a": big }))),
            Err(CanonicalError::TooLarge { .. })
        ));
    }
}
