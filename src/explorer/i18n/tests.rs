//! The catalogues: each parses, each language has every message the others have with the
//! same arguments, and every message the code asks for exists; the formats read right.

use std::collections::{BTreeMap, BTreeSet};

use super::format::{amount_in, count_in};
use super::{CATALOGUES, Locale, bundle, negotiate};
use axum::http::{HeaderMap, HeaderValue, header};

/// Message ids of one language, each with the variables (`$name`) its text uses.
fn messages(locale: Locale) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for source in CATALOGUES[locale.index()] {
        for line in source.lines() {
            let starts_message = line
                .split_once(" =")
                .filter(|(id, _)| {
                    !id.is_empty()
                        && id.chars().all(|c| {
                            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
                        })
                })
                .map(|(id, _)| id.to_string());
            if let Some(id) = starts_message {
                assert!(
                    out.insert(id.clone(), BTreeSet::new()).is_none(),
                    "{}: message {id} is defined twice",
                    locale.tag()
                );
                current = Some(id);
            } else if !line.starts_with(' ') {
                current = None;
            }
            if let Some(id) = &current {
                let variables = out.get_mut(id).expect("inserted above");
                for part in line.split('$').skip(1) {
                    let name: String = part
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                        .collect();
                    variables.insert(name);
                }
            }
        }
    }
    out
}

#[test]
fn catalogues_parse_and_agree() {
    for locale in Locale::ALL {
        bundle(locale).unwrap_or_else(|e| panic!("{}: {e}", locale.tag()));
    }
    let english = messages(Locale::En);
    assert!(english.len() > 150, "{} messages", english.len());
    for locale in [Locale::Fr, Locale::Sw] {
        let other = messages(locale);
        let missing: Vec<_> = english.keys().filter(|k| !other.contains_key(*k)).collect();
        assert!(missing.is_empty(), "{} lacks {missing:?}", locale.tag());
        let extra: Vec<_> = other.keys().filter(|k| !english.contains_key(*k)).collect();
        assert!(
            extra.is_empty(),
            "{} has messages English lacks: {extra:?}",
            locale.tag()
        );
        for (id, variables) in &english {
            assert_eq!(
                &other[id],
                variables,
                "{} message {id} takes other arguments than the English one",
                locale.tag()
            );
        }
    }
}

/// Every message id the code names (in `.t("…")`, `t("…")`, `t_args("…"`, `.message("…"`
/// and `item("…"`) is in the catalogues, as is a message for every file of the bundle.
#[test]
fn every_message_the_code_asks_for_exists() {
    let english = messages(Locale::En);
    let sources = [
        include_str!("../campaign.rs"),
        include_str!("../caps.rs"),
        include_str!("../downloads.rs"),
        include_str!("../home.rs"),
        include_str!("../language.rs"),
        include_str!("../layout.rs"),
        include_str!("../lookup.rs"),
        include_str!("../mod.rs"),
        include_str!("../names.rs"),
        include_str!("../org.rs"),
        include_str!("format.rs"),
    ];
    let mut asked = BTreeSet::new();
    for source in sources {
        for marker in [
            "t(\"",
            "t_args(\"",
            "message(\"",
            "item(\"",
            "=> \"",
            "t_args(\n",
        ] {
            for part in source.split(marker).skip(1) {
                let id: String = part
                    .trim_start()
                    .trim_start_matches('"')
                    .chars()
                    .take_while(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'
                    })
                    .collect();
                if id.contains('-') {
                    asked.insert(id);
                }
            }
        }
    }
    for month in 1..=12 {
        asked.insert(format!("month-{month}"));
    }
    for table in &pennytrail_bundle::tables::TABLES {
        asked.insert(crate::explorer::downloads::table_message(table.file));
    }
    let missing: Vec<_> = asked
        .iter()
        .filter(|id| !english.contains_key(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "the code asks for messages no catalogue has: {missing:?}"
    );
    assert!(
        asked.len() > 100,
        "found only {} ids in the code",
        asked.len()
    );
}

#[test]
fn amounts_and_counts_read_the_readers_way() {
    assert_eq!(amount_in(Locale::En, "EUR", 123_456), "€1,234.56");
    assert_eq!(
        amount_in(Locale::Fr, "EUR", 123_456),
        "1\u{202F}234,56\u{00A0}€"
    );
    assert_eq!(amount_in(Locale::Sw, "KES", 100_000), "KSh\u{00A0}1,000.00");
    assert_eq!(amount_in(Locale::En, "KES", 100_000), "KSh\u{00A0}1,000.00");
    assert_eq!(
        amount_in(Locale::Fr, "KES", 100_000),
        "1\u{202F}000,00\u{00A0}KSh"
    );
    assert_eq!(amount_in(Locale::En, "USD", 5), "USD\u{00A0}0.05");
    assert_eq!(amount_in(Locale::En, "JPY", 1_200), "JPY\u{00A0}1,200");
    assert_eq!(amount_in(Locale::En, "EUR", -150), "-€1.50");
    assert_eq!(amount_in(Locale::En, "EUR", 0), "€0.00");
    assert_eq!(amount_in(Locale::En, "???", 7), "7 minor units of ???");
    assert_eq!(count_in(Locale::En, 1_234_567), "1,234,567");
    assert_eq!(count_in(Locale::Fr, 1_234), "1\u{202F}234");
    assert_eq!(count_in(Locale::Sw, 999), "999");
}

#[test]
fn messages_choose_plural_forms_and_group_numbers() {
    let message = |locale, id, n: i64| super::message(locale, id, &[("count", n.into())], false);
    assert_eq!(message(Locale::En, "payouts-count", 1), "1 payout");
    assert_eq!(message(Locale::En, "payouts-count", 1234), "1,234 payouts");
    assert_eq!(message(Locale::Fr, "payouts-count", 1), "1 versement");
    assert_eq!(message(Locale::Fr, "payouts-count", 2), "2 versements");
    assert_eq!(message(Locale::Sw, "payouts-count", 1), "malipo 1");
}

#[test]
fn dates_are_written_for_people() {
    let date = |locale, iso| {
        super::REQUEST.sync_scope(
            super::PageRequest {
                locale,
                path_and_query: "/".into(),
            },
            || super::format::date_time(iso),
        )
    };
    assert_eq!(
        date(Locale::En, "2026-12-07T01:48:02.399Z"),
        "7 December 2026, 01:48 UTC"
    );
    assert_eq!(
        date(Locale::Fr, "2026-12-07T01:48:02.399Z"),
        "7 décembre 2026 à 01:48 UTC"
    );
    assert_eq!(
        date(Locale::Sw, "2026-12-07T01:48:02Z"),
        "7 Desemba 2026, saa 01:48 UTC"
    );
    assert_eq!(date(Locale::En, "yesterday"), "yesterday");
    assert_eq!(
        date(Locale::En, "2026-13-07T01:48:02Z"),
        "2026-13-07T01:48:02Z"
    );
}

#[test]
fn the_language_is_the_cookie_then_accept_language_then_english() {
    let headers = |pairs: &[(header::HeaderName, &str)]| {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        h
    };
    assert_eq!(negotiate(&headers(&[])), Locale::En);
    assert_eq!(
        negotiate(&headers(&[(
            header::ACCEPT_LANGUAGE,
            "fr-FR,fr;q=0.9,en;q=0.8"
        )])),
        Locale::Fr
    );
    assert_eq!(
        negotiate(&headers(&[(
            header::ACCEPT_LANGUAGE,
            "de, sw;q=0.5, en;q=0.4"
        )])),
        Locale::Sw
    );
    assert_eq!(
        negotiate(&headers(&[(header::ACCEPT_LANGUAGE, "fr;q=0, en")])),
        Locale::En
    );
    assert_eq!(
        negotiate(&headers(&[(
            header::ACCEPT_LANGUAGE,
            "fr;q=2, sw;q=x, en;q=0.1"
        )])),
        Locale::En
    );
    assert_eq!(
        negotiate(&headers(&[
            (header::ACCEPT_LANGUAGE, "fr"),
            (header::COOKIE, "theme=dark; lang=sw"),
        ])),
        Locale::Sw
    );
    assert_eq!(
        negotiate(&headers(&[
            (header::ACCEPT_LANGUAGE, "fr"),
            (header::COOKIE, "lang=klingon"),
        ])),
        Locale::Fr
    );
}

/// The browser's messages: every id `lookup.js` asks for exists, none is a plural select
/// (the browser only fills in `{name}`), every variable is one the server hands over as a
/// token, and the page's JSON carries them in the reader's language.
#[test]
fn the_browsers_messages_are_complete_and_fillable() {
    let script = include_str!("../assets/lookup.js");
    let english = messages(Locale::En);
    let mut asked = BTreeSet::new();
    for part in script.split("'js-").skip(1) {
        let id: String = part.chars().take_while(|c| *c != '\'').collect();
        asked.insert(format!("js-{id}"));
    }
    assert!(asked.len() > 30, "{asked:?}");
    for id in &asked {
        assert!(
            english.contains_key(id),
            "lookup.js asks for {id}, which no catalogue has"
        );
    }
    let tokens: BTreeSet<&str> = super::BROWSER_VARIABLES.iter().map(|(n, _)| *n).collect();
    for locale in Locale::ALL {
        let source = CATALOGUES[locale.index()][super::FILES - 1];
        assert!(
            !source.contains("->"),
            "{}: browser messages take no selectors",
            locale.tag()
        );
        for (id, variables) in messages(locale)
            .iter()
            .filter(|(id, _)| id.starts_with("js-"))
        {
            for variable in variables {
                assert!(
                    tokens.contains(variable.as_str()),
                    "{id} takes ${variable}, which the server does not hand over"
                );
            }
        }
        let json = super::REQUEST.sync_scope(
            super::PageRequest {
                locale,
                path_and_query: "/".into(),
            },
            super::browser_messages,
        );
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).unwrap();
        assert_eq!(
            map.len(),
            english.keys().filter(|k| k.starts_with("js-")).count()
        );
        let failed = map["js-step-failed"].as_str().unwrap();
        assert!(
            failed.contains("{reason}") && !failed.contains('$'),
            "{failed}"
        );
    }
}
