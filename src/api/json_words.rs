//! What a refused JSON body gets wrong, in words a person reads. serde's messages name
//! Rust types (`expected i64`), print a huge integer as `floating point 1e30` and say
//! nothing of units; these say what was expected, what was sent and the limit.

/// The largest whole number a JSON integer field takes (fields are `i64` or smaller;
/// money fields are further limited by their own rules).
const LARGEST_WHOLE_NUMBER: &str = "9223372036854775807";

/// Describes the error serde found at `field` (a path such as `donations[3].amount`, or
/// `None` when the body as a whole is at fault).
pub fn describe(error: &serde_json::Error, field: Option<&str>) -> String {
    let full = error.to_string();
    let message = without_position(&full);
    if error.is_syntax() || error.is_eof() {
        let location = if error.is_eof() {
            "the body ends too early".to_string()
        } else {
            format!("at line {}, column {}", error.line(), error.column())
        };
        return format!("the body is not valid JSON ({location}): {message}");
    }
    let is_money = field.is_some_and(is_money_field);
    if let Some(name) = quoted(message, "missing field `") {
        return format!("{name} is required and missing");
    }
    if let Some(name) = quoted(message, "unknown field `") {
        let known = message
            .split_once(", expected ")
            .map(|(_, rest)| {
                let rest = rest.strip_prefix("one of ").unwrap_or(rest);
                rest.replace('`', "").replace(" or ", ", ")
            })
            .unwrap_or_default();
        return if known.is_empty() || known.starts_with("there are no fields") {
            format!("{name} is not a field of this body")
        } else {
            format!("{name} is not a field of this body; its fields are {known}")
        };
    }
    if let Some(name) = quoted(message, "duplicate field `") {
        return format!("{name} is given twice");
    }
    let type_error = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "));
    let Some((sent, expected)) = type_error.and_then(|rest| rest.split_once(", expected ")) else {
        return message.to_string();
    };
    let expected_whole = is_integer_type(expected);
    if let Some(number) = backquoted(sent, "floating point `") {
        if expected_whole && is_too_large(number) {
            return format!(
                "{number} is too large: expected a whole number of at most \
                 {LARGEST_WHOLE_NUMBER}{}",
                money_hint(is_money)
            );
        }
        if expected_whole
            && number
                .split_once('.')
                .is_some_and(|(_, f)| f.bytes().all(|b| b == b'0'))
        {
            return format!(
                "{number} has a decimal point: expected a whole number written without a \
                 decimal point{}",
                money_hint(is_money)
            );
        }
        if expected_whole {
            return format!(
                "{number} is not a whole number: expected a whole number written without a \
                 decimal point{}",
                money_hint(is_money)
            );
        }
    }
    if let Some(number) = backquoted(sent, "integer `")
        && expected_whole
        && message.starts_with("invalid value: ")
    {
        return format!(
            "{number} is out of range: expected a whole number of at most \
             {LARGEST_WHOLE_NUMBER}{}",
            money_hint(is_money)
        );
    }
    let (expected, hint) = if expected_whole {
        ("a whole number".to_string(), money_hint(is_money))
    } else {
        (in_words(expected), "")
    };
    format!("expected {expected}, got {}{hint}", sent_in_words(sent))
}

/// serde_json appends " at line L column C" to every message; syntax errors say it
/// separately, data errors do not need it (the field names the place).
fn without_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(" column ") => &message[..at],
        _ => message,
    }
}

fn quoted<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    message.strip_prefix(prefix)?.split('`').next()
}

fn backquoted<'a>(sent: &'a str, prefix: &str) -> Option<&'a str> {
    sent.strip_prefix(prefix)?.strip_suffix('`')
}

fn is_integer_type(expected: &str) -> bool {
    matches!(
        expected,
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "isize"
    )
}

/// A number serde read as floating point because it has an exponent or more digits than
/// an integer holds (`1e30`, `1e+30`), rather than a fraction.
fn is_too_large(number: &str) -> bool {
    let digits = number.trim_start_matches('-');
    digits.contains(['e', 'E'])
        || digits
            .split('.')
            .next()
            .is_some_and(|whole| whole.len() > 18)
}

/// Money fields: amounts, fees, caps (integers in the currency's minor units).
fn is_money_field(field: &str) -> bool {
    let name = field.rsplit('.').next().unwrap_or(field);
    name.contains("amount") || name == "fee" || name.starts_with("max_per_person_per")
}

fn money_hint(is_money: bool) -> &'static str {
    if is_money {
        "; amounts are in minor units (cents): 2550 for 25.50"
    } else {
        ""
    }
}

fn in_words(expected: &str) -> String {
    match expected {
        "a string" => "text in double quotes".to_string(),
        "a boolean" => "true or false".to_string(),
        "a sequence" => "a list [ … ]".to_string(),
        "a map" => "an object { … }".to_string(),
        other if other.starts_with("struct ") => "an object { … }".to_string(),
        other => other.to_string(),
    }
}

fn sent_in_words(sent: &str) -> String {
    if let Some(number) = backquoted(sent, "floating point `").or(backquoted(sent, "integer `")) {
        return format!("the number {number}");
    }
    if let Some(text) = sent.strip_prefix("string ") {
        return format!("the text {text}");
    }
    if let Some(value) = backquoted(sent, "boolean `") {
        return value.to_string();
    }
    match sent {
        "sequence" => "a list".to_string(),
        "map" => "an object".to_string(),
        "unit value" | "null" => "null".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(body: &str) -> serde_json::Error {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Body {
            amount: i64,
            label: String,
        }
        serde_json::from_str::<Body>(body).unwrap_err()
    }

    #[test]
    fn a_fraction_is_not_a_whole_number_of_minor_units() {
        let text = describe(&error_of(r#"{"amount": 25.5}"#), Some("amount"));
        assert_eq!(
            text,
            "25.5 is not a whole number: expected a whole number written without a \
             decimal point; amounts are in minor units (cents): 2550 for 25.50"
        );
    }

    #[test]
    fn a_huge_integer_is_too_large_not_floating_point() {
        let text = describe(
            &error_of(r#"{"amount": 1000000000000000000000000000000}"#),
            Some("amount"),
        );
        assert!(
            text.starts_with(
                "1e+30 is too large: expected a whole number of at most 9223372036854775807"
            ),
            "{text}"
        );
        let text = describe(
            &error_of(r#"{"amount": 10000000000000000000}"#),
            Some("amount"),
        );
        assert!(
            text.starts_with("10000000000000000000 is out of range"),
            "{text}"
        );
    }

    #[test]
    fn a_whole_number_with_a_decimal_point_is_named_so() {
        let text = describe(&error_of(r#"{"amount": 402.0}"#), Some("amount"));
        assert!(
            text.starts_with(
                "402.0 has a decimal point: expected a whole number written without a decimal point"
            ),
            "{text}"
        );
    }

    #[test]
    fn types_are_named_in_words() {
        let text = describe(&error_of(r#"{"amount": "25"}"#), Some("amount"));
        assert_eq!(
            text,
            "expected a whole number, got the text \"25\"; amounts are in minor units \
             (cents): 2550 for 25.50"
        );
        let text = describe(&error_of(r#"{"amount": 1, "label": 5}"#), Some("label"));
        assert_eq!(text, "expected text in double quotes, got the number 5");
        let text = describe(
            &error_of(r#"{"amount": 1, "label": "x", "colour": 1}"#),
            None,
        );
        assert_eq!(
            text,
            "colour is not a field of this body; its fields are amount, label"
        );
        let text = describe(&error_of(r#"{"label": "x"}"#), None);
        assert_eq!(text, "amount is required and missing");
    }

    #[test]
    fn broken_json_says_where() {
        let text = describe(&error_of(r#"{"amount": 1,, }"#), None);
        assert_eq!(
            text,
            "the body is not valid JSON (at line 1, column 14): key must be a string"
        );
        let text = describe(&error_of(r#"{"amount": 1"#), None);
        assert!(
            text.starts_with("the body is not valid JSON (the body ends too early)"),
            "{text}"
        );
    }
}
