//! The documents that state what the code does, held to the code: the rules table in
//! docs/api.md names every rule the ledger has, and README.md stays a README (its two
//! commands at the top, at most 300 lines).

use std::collections::BTreeSet;
use std::path::Path;

use pennytrail::ledger::Rule;

use crate::support::pennytrail_test;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

#[pennytrail_test]
fn the_rules_table_names_every_rule_once() {
    let api = read("docs/api.md");
    let table: Vec<&str> = api
        .lines()
        .skip_while(|line| *line != "## The rules")
        .skip_while(|line| !line.starts_with("| rule |"))
        .skip(2)
        .take_while(|line| line.starts_with("| `"))
        .filter_map(|line| line.strip_prefix("| `")?.split('`').next())
        .collect();
    let documented: BTreeSet<&str> = table.iter().copied().collect();
    assert_eq!(
        documented.len(),
        table.len(),
        "a rule listed twice: {table:?}"
    );
    let rules: BTreeSet<&str> = Rule::ALL.iter().map(|rule| rule.as_str()).collect();
    assert_eq!(
        documented,
        rules,
        "docs/api.md's rules table and pennytrail_ledger::Rule differ: missing {:?}, unknown {:?}",
        rules.difference(&documented).collect::<Vec<_>>(),
        documented.difference(&rules).collect::<Vec<_>>()
    );
}

#[pennytrail_test]
fn the_readme_opens_with_its_two_commands_and_stays_short() {
    let readme = read("README.md");
    let lines: Vec<&str> = readme.lines().collect();
    assert!(lines.len() <= 300, "README.md has {} lines", lines.len());
    let top = lines[..12.min(lines.len())].join("\n");
    for command in ["cargo run --release -- serve", "cargo test"] {
        assert!(
            top.contains(command),
            "README.md's first 12 lines lack `{command}`"
        );
    }
}

/// Every section says `pennytrail …` or `pennytrail-verify …`, so the README says how to
/// get each program without building the service by hand, what each gives, and how long
/// installing it takes.
#[pennytrail_test]
fn the_readme_says_how_to_install_each_program() {
    let readme = read("README.md");
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("Install"))
        .expect("README.md has an Install section");
    for command in [
        "cargo install --locked --path .",
        "cargo install --locked --path crates/pennytrail-verify",
    ] {
        assert!(
            section.contains(command),
            "the Install section lacks `{command}`"
        );
    }
    assert!(
        section.matches(" min").count() >= 2,
        "it says how long each takes: {section}"
    );
}
