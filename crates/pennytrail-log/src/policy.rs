//! C2SP tlog-policy: which logs a verifier accepts, which witnesses it knows, and the
//! quorum of their cosignatures a checkpoint needs (`../shared/standards/c2sp/tlog-policy.md`).
//!
//! ```text
//! log <vkey> [<url>]
//! witness <name> <vkey> [<url>]
//! group <name> all|any|<k> <name>...
//! quorum <name>|none
//! ```
//!
//! Lines are separated by newlines, items by spaces and tabs; empty lines and `#` comments
//! are ignored; a group or the quorum names only witnesses and groups defined above it; a
//! name is a member at most once per group; exactly one quorum line. Names are compared
//! as bytes. Witness keys are cosigner keys ([`CosignerKey`], type 0x04); log keys are
//! note keys whose name is the log's origin.

use std::collections::{BTreeMap, BTreeSet};

use crate::cosignature::CosignerKey;
use crate::note::{NoteError, NoteVerifier};

/// Most logs, witnesses and groups one policy may define (the spec asks for at least 32).
pub const MAX_DEFINITIONS: usize = 256;
/// Largest policy file read.
pub const MAX_POLICY_BYTES: usize = 64 * 1024;

/// Why a policy file is refused: the line and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct PolicyError {
    /// 1-based; 0 for the whole file.
    pub line: usize,
    pub reason: String,
}

/// A log the policy accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyLog {
    pub key: NoteVerifier,
    pub url: Option<String>,
}

/// A witness the policy knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWitness {
    pub name: String,
    pub key: CosignerKey,
    /// Its submission prefix (tlog-witness), for logs that ask it to cosign.
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Member {
    Witness(usize),
    Group(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    name: String,
    threshold: usize,
    members: Vec<Member>,
}

/// A parsed, checked policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub logs: Vec<PolicyLog>,
    pub witnesses: Vec<PolicyWitness>,
    groups: Vec<Group>,
    /// `None` for `quorum none`.
    quorum: Option<Member>,
}

fn is_space(c: char) -> bool {
    c == ' ' || c == '\t'
}

impl Policy {
    /// Parses a policy file.
    ///
    /// # Errors
    /// [`PolicyError`] naming the first line that is wrong.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let whole = |reason: &str| PolicyError {
            line: 0,
            reason: reason.to_string(),
        };
        if text.len() > MAX_POLICY_BYTES {
            return Err(whole("the policy is larger than 64 KiB"));
        }
        let mut policy = Policy {
            logs: Vec::new(),
            witnesses: Vec::new(),
            groups: Vec::new(),
            quorum: None,
        };
        let mut names: BTreeMap<String, Member> = BTreeMap::new();
        let mut quorum_line = None;
        for (index, line) in text.split('\n').enumerate() {
            let number = index + 1;
            let bad = |reason: String| PolicyError {
                line: number,
                reason,
            };
            if let Some(c) = line.chars().find(|c| (*c as u32) < 0x20 && *c != '\t') {
                return Err(bad(format!("control character {c:?}")));
            }
            let trimmed = line.trim_matches(is_space);
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let items: Vec<&str> = trimmed.split(is_space).filter(|s| !s.is_empty()).collect();
            if policy.logs.len() + policy.witnesses.len() + policy.groups.len() >= MAX_DEFINITIONS {
                return Err(bad(format!("more than {MAX_DEFINITIONS} definitions")));
            }
            match items.as_slice() {
                ["log", vkey, rest @ ..] if rest.len() <= 1 => {
                    let key = NoteVerifier::from_text(vkey)
                        .map_err(|e| bad(format!("the log key: {e}")))?;
                    if policy
                        .logs
                        .iter()
                        .any(|l| l.key.public_key() == key.public_key())
                    {
                        return Err(bad("this log key is already listed".into()));
                    }
                    policy.logs.push(PolicyLog {
                        key,
                        url: rest.first().map(|u| u.to_string()),
                    });
                }
                ["witness", name, vkey, rest @ ..] if rest.len() <= 1 => {
                    defined(&names, name).map_err(bad)?;
                    let key = CosignerKey::from_text(vkey)
                        .map_err(|e: NoteError| bad(format!("the key of witness {name}: {e}")))?;
                    if policy
                        .witnesses
                        .iter()
                        .any(|w| w.key.public_key() == key.public_key())
                    {
                        return Err(bad(format!("witness {name}'s key is already listed")));
                    }
                    names.insert(name.to_string(), Member::Witness(policy.witnesses.len()));
                    policy.witnesses.push(PolicyWitness {
                        name: name.to_string(),
                        key,
                        url: rest.first().map(|u| u.to_string()),
                    });
                }
                ["group", name, threshold, members @ ..] if !members.is_empty() => {
                    defined(&names, name).map_err(bad)?;
                    let mut seen = BTreeSet::new();
                    let mut resolved = Vec::new();
                    for member in members {
                        if !seen.insert(*member) {
                            return Err(bad(format!("{member} is listed twice in group {name}")));
                        }
                        let found = names.get(*member).cloned().ok_or_else(|| {
                            bad(format!(
                                "group {name}: {member} is not a witness or group defined above"
                            ))
                        })?;
                        resolved.push(found);
                    }
                    let threshold = match *threshold {
                        "all" => members.len(),
                        "any" => 1,
                        k => k
                            .parse::<usize>()
                            .ok()
                            .filter(|n| (1..=members.len()).contains(n) && !k.starts_with(['0', '+']))
                            .ok_or_else(|| bad(format!(
                                "group {name}: the threshold must be all, any or a number from 1 to {}, not {threshold:?}",
                                members.len()
                            )))?,
                    };
                    names.insert(name.to_string(), Member::Group(policy.groups.len()));
                    policy.groups.push(Group {
                        name: name.to_string(),
                        threshold,
                        members: resolved,
                    });
                }
                ["quorum", name] => {
                    if let Some(first) = quorum_line {
                        return Err(bad(format!(
                            "a second quorum line (the first is line {first})"
                        )));
                    }
                    quorum_line = Some(number);
                    policy.quorum = match *name {
                        "none" => None,
                        name => Some(names.get(name).cloned().ok_or_else(|| {
                            bad(format!(
                                "quorum {name}: not a witness or group defined above"
                            ))
                        })?),
                    };
                }
                [keyword, ..] if ["log", "witness", "group", "quorum"].contains(keyword) => {
                    return Err(bad(format!(
                        "a {keyword} line has the wrong number of items"
                    )));
                }
                [keyword, ..] => return Err(bad(format!("unknown line type {keyword:?}"))),
                [] => {}
            }
        }
        if quorum_line.is_none() {
            return Err(whole(
                "the policy has no quorum line (use `quorum none` for none)",
            ));
        }
        Ok(policy)
    }

    /// The accepted log whose key is `key`.
    pub fn log_with_key(&self, key: &NoteVerifier) -> Option<&PolicyLog> {
        self.logs.iter().find(|l| l.key == *key)
    }

    /// Whether cosignatures by the witnesses at these indexes (into
    /// [`Policy::witnesses`]) meet the quorum.
    pub fn quorum_met(&self, cosigned: &BTreeSet<usize>) -> bool {
        match &self.quorum {
            None => true,
            Some(member) => self.witnessed(member, cosigned),
        }
    }

    /// The fewest cosignatures that can meet the quorum (0 for `quorum none`): a
    /// checkpoint with fewer cannot be witnessed under this policy.
    pub fn fewest_cosigners(&self) -> usize {
        self.quorum.as_ref().map_or(0, |member| self.fewest(member))
    }

    fn fewest(&self, member: &Member) -> usize {
        match member {
            Member::Witness(_) => 1,
            Member::Group(index) => {
                let group = &self.groups[*index];
                let mut each: Vec<usize> = group.members.iter().map(|m| self.fewest(m)).collect();
                each.sort_unstable();
                each.iter().take(group.threshold).sum()
            }
        }
    }

    fn witnessed(&self, member: &Member, cosigned: &BTreeSet<usize>) -> bool {
        match member {
            Member::Witness(index) => cosigned.contains(index),
            Member::Group(index) => {
                let group = &self.groups[*index];
                group
                    .members
                    .iter()
                    .filter(|m| self.witnessed(m, cosigned))
                    .count()
                    >= group.threshold
            }
        }
    }

    /// The witnesses (by index) whose valid cosignature `note` carries.
    ///
    /// # Errors
    /// A malformed note, or a bad signature under a known witness's name and key id.
    pub fn cosigners(&self, note: &str) -> Result<BTreeSet<usize>, NoteError> {
        let mut found = BTreeSet::new();
        for (index, witness) in self.witnesses.iter().enumerate() {
            if witness.key.cosigned_at(note)?.is_some() {
                found.insert(index);
            }
        }
        Ok(found)
    }

    /// Checks that the checkpoint `note` carries cosignatures meeting the quorum, and
    /// names the witnesses that cosigned it (in policy order).
    ///
    /// # Errors
    /// A sentence saying which witnesses are missing, or which cosignature is malformed.
    pub fn require_quorum(&self, note: &str) -> Result<Vec<&str>, String> {
        let cosigned = self
            .cosigners(note)
            .map_err(|e| format!("the checkpoint's cosignatures: {e}"))?;
        if let Some(missing) = self.missing(&cosigned) {
            return Err(missing);
        }
        Ok(cosigned
            .iter()
            .map(|i| self.witnesses[*i].name.as_str())
            .collect())
    }

    /// Says why `cosigned` does not meet the quorum: the groups and witnesses still
    /// missing, as a sentence; `None` when it is met.
    pub fn missing(&self, cosigned: &BTreeSet<usize>) -> Option<String> {
        let quorum = self.quorum.as_ref()?;
        if self.witnessed(quorum, cosigned) {
            return None;
        }
        let absent: Vec<&str> = self
            .witnesses
            .iter()
            .enumerate()
            .filter(|(i, _)| !cosigned.contains(i))
            .map(|(_, w)| w.name.as_str())
            .collect();
        let rule = match quorum {
            Member::Witness(i) => format!("witness {}", self.witnesses[*i].name),
            Member::Group(i) => {
                let group = &self.groups[*i];
                format!(
                    "group {} ({} of {})",
                    group.name,
                    group.threshold,
                    group.members.len()
                )
            }
        };
        Some(format!(
            "the quorum ({rule}) is not met: {} of {} witnesses cosigned; missing: {}",
            cosigned.len(),
            self.witnesses.len(),
            absent.join(", ")
        ))
    }
}

/// Refuses a name defined before, or the reserved `none`.
fn defined(names: &BTreeMap<String, Member>, name: &str) -> Result<(), String> {
    if name == "none" {
        return Err("none is reserved (quorum none)".into());
    }
    if names.contains_key(name) {
        return Err(format!("{name} is already defined"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosignature::Cosigner;
    use crate::note::NoteSigner;

    fn witness(n: u8) -> Cosigner {
        Cosigner::from_seed(&format!("w{n}.example"), [n; 32]).unwrap()
    }

    fn policy_text(log: &NoteSigner, quorum: &str) -> String {
        format!(
            "# two witnesses\nlog {}\nwitness W1 {} https://w1.example\n\twitness W2 {}\ngroup both 2 W1 W2\ngroup either any W1 W2\n{quorum}\n",
            log.verifier().to_text(),
            witness(1).public().to_text(),
            witness(2).public().to_text(),
        )
    }

    #[test]
    fn fewest_cosigners_follows_the_groups() {
        let log = NoteSigner::from_seed("example.com/log", [7; 32]).unwrap();
        let fewest = |quorum: &str| {
            Policy::parse(&policy_text(&log, quorum))
                .unwrap()
                .fewest_cosigners()
        };
        assert_eq!(fewest("quorum none"), 0);
        assert_eq!(fewest("quorum W2"), 1);
        assert_eq!(fewest("quorum both"), 2);
        assert_eq!(fewest("quorum either"), 1);
        let nested = format!(
            "{}\ngroup two-of 2 both either W1\nquorum two-of\n",
            policy_text(&log, "").trim_end()
        );
        // either (1) + W1 (1) is the cheapest pair.
        assert_eq!(Policy::parse(&nested).unwrap().fewest_cosigners(), 2);
    }

    #[test]
    fn the_quorum_counts_valid_cosignatures() {
        let log = NoteSigner::from_seed("example.com/log", [7; 32]).unwrap();
        let policy = Policy::parse(&policy_text(&log, "quorum both")).unwrap();
        assert_eq!(
            policy.witnesses[0].url.as_deref(),
            Some("https://w1.example")
        );
        assert!(policy.log_with_key(log.verifier()).is_some());
        let note = log
            .sign_note("example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
            .unwrap();
        let text = log.verifier().open(&note).unwrap();
        let one = format!("{note}{}", witness(1).cosign(text, 100));
        let both = format!("{one}{}", witness(2).cosign(text, 101));
        assert!(!policy.quorum_met(&policy.cosigners(&note).unwrap()));
        let cosigned = policy.cosigners(&one).unwrap();
        assert!(!policy.quorum_met(&cosigned));
        let missing = policy.missing(&cosigned).unwrap();
        assert!(
            missing.contains("missing: W2") && missing.contains("group both (2 of 2)"),
            "{missing}"
        );
        assert!(policy.quorum_met(&policy.cosigners(&both).unwrap()));
        assert_eq!(policy.missing(&policy.cosigners(&both).unwrap()), None);
        assert_eq!(policy.require_quorum(&both), Ok(vec!["W1", "W2"]));
        let refused = policy.require_quorum(&one).unwrap_err();
        assert!(refused.contains("missing: W2"), "{refused}");
        // A cosignature line under W2's name and key id whose signature is wrong.
        let line = witness(2).cosign(text, 101);
        let (head, signature) = line.trim_end().rsplit_once(' ').unwrap();
        let mut signature = signature.to_string();
        let flipped = if &signature[30..31] == "A" { "B" } else { "A" };
        signature.replace_range(30..31, flipped);
        let forged = format!("{one}{head} {signature}\n");
        let refused = policy.require_quorum(&forged).unwrap_err();
        assert!(
            refused.starts_with("the checkpoint's cosignatures"),
            "{refused}"
        );

        let either = Policy::parse(&policy_text(&log, "quorum either")).unwrap();
        assert!(either.quorum_met(&either.cosigners(&one).unwrap()));
        let none = Policy::parse(&policy_text(&log, "quorum none")).unwrap();
        assert!(none.quorum_met(&BTreeSet::new()));
    }

    /// The witness vectors the explorer's verifier (src/explorer/assets/verify.js) is held
    /// to by tests/e2e/verify.test.mjs: notes cosigned by none, one or both of two
    /// witnesses, one with a forged cosignature, and what Rust's policy check says of each.
    /// Signatures are deterministic, so the file is exactly what this writes
    /// (`UPDATE_SNAPSHOTS=1` rewrites it).
    #[test]
    fn the_browser_witness_vectors_are_what_rust_says() {
        let log = NoteSigner::from_seed("example.com/log", [7; 32]).unwrap();
        let note = log
            .sign_note("example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
            .unwrap();
        let text = log.verifier().open(&note).unwrap().to_string();
        let one = format!("{note}{}", witness(1).cosign(&text, 1_700_000_000));
        let both = format!("{one}{}", witness(2).cosign(&text, 1_700_000_001));
        let line = witness(2).cosign(&text, 1_700_000_001);
        let (head, signature) = line.trim_end().rsplit_once(' ').unwrap();
        let mut signature = signature.to_string();
        let flipped = if &signature[40..41] == "A" { "B" } else { "A" };
        signature.replace_range(40..41, flipped);
        let forged = format!("{one}{head} {signature}\n");
        let notes = [
            ("log-only", &note),
            ("w1", &one),
            ("both", &both),
            ("forged-w2", &forged),
        ];
        let mut cases = Vec::new();
        for quorum in ["both", "either", "W2", "none"] {
            let policy_text = policy_text(&log, &format!("quorum {quorum}"));
            let policy = Policy::parse(&policy_text).unwrap();
            for (name, note) in notes {
                let said = policy.require_quorum(note);
                cases.push(serde_json::json!({
                    "policy": policy_text,
                    "note": note,
                    "what": format!("quorum {quorum}, note {name}"),
                    "ok": said.is_ok(),
                    "cosigned": said.unwrap_or_default(),
                }));
            }
        }
        let vectors = serde_json::json!({
            "log_key": log.verifier().to_text(),
            "witness_keys": [witness(1).public().to_text(), witness(2).public().to_text()],
            "cases": cases,
        });
        let written = format!("{}\n", serde_json::to_string_pretty(&vectors).unwrap());
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/e2e/witness-vectors.json"
        );
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(path, &written).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(path).unwrap_or_default(),
            written,
            "{path} is not what Rust writes; rerun with UPDATE_SNAPSHOTS=1 and review"
        );
    }

    #[test]
    fn bad_policies_name_their_line() {
        let log = NoteSigner::from_seed("example.com/log", [7; 32]).unwrap();
        let w1 = witness(1).public().to_text();
        let w2 = witness(2).public().to_text();
        let logkey = log.verifier().to_text();
        for (text, line, says) in [
            (format!("log {logkey}\n"), 0, "no quorum line"),
            (
                "quorum W1\n".to_string(),
                1,
                "not a witness or group defined above",
            ),
            (
                format!("witness W1 {w1}\nquorum W1\nquorum none\n"),
                3,
                "a second quorum line",
            ),
            (
                format!("witness W1 {w1}\nwitness W1 {w2}\nquorum W1\n"),
                2,
                "already defined",
            ),
            (
                format!("witness W1 {w1}\nwitness W2 {w1}\nquorum W1\n"),
                2,
                "already listed",
            ),
            (
                format!("witness W1 {logkey}\nquorum W1\n"),
                1,
                "cosigner key",
            ),
            (format!("log {w1}\nquorum none\n"), 1, "the log key"),
            (
                format!("witness W1 {w1}\ngroup g 2 W1\nquorum g\n"),
                2,
                "threshold",
            ),
            (
                format!("witness W1 {w1}\ngroup g 0 W1\nquorum g\n"),
                2,
                "threshold",
            ),
            (
                format!("witness W1 {w1}\ngroup g 01 W1\nquorum g\n"),
                2,
                "threshold",
            ),
            (
                format!("witness W1 {w1}\ngroup g any W1 W1\nquorum g\n"),
                2,
                "listed twice",
            ),
            (
                format!("witness W1 {w1}\ngroup g any W2\nquorum g\n"),
                2,
                "W2 is not a witness",
            ),
            (format!("witness none {w1}\nquorum none\n"), 1, "reserved"),
            (
                format!("witness W1 {w1}\ngroup g any\nquorum g\n"),
                2,
                "wrong number of items",
            ),
            (
                format!("witnesses W1 {w1}\nquorum none\n"),
                1,
                "unknown line type",
            ),
            (
                format!("witness W1 {w1} url extra\nquorum none\n"),
                1,
                "wrong number of items",
            ),
            ("quorum none\x0b\n".to_string(), 1, "control character"),
        ] {
            let error = Policy::parse(&text).unwrap_err();
            assert_eq!(error.line, line, "{text:?}: {error}");
            assert!(error.to_string().contains(says), "{text:?}: {error}");
        }
        // Comments, blank lines, tabs and a missing final newline are fine.
        assert!(Policy::parse("  # nothing\n\n\tquorum\tnone").is_ok());
    }
}
