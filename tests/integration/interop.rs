//! Cross-checks pennytrail's log rules against Go's reference implementation,
//! golang.org/x/mod/sumdb/{note,tlog}.
//!
//! 1. Known answers (no Go needed): `tests/interop/vectors.json` holds values copied from
//!    x/mod's own test files; every one our API can express is checked here.
//! 2. Live cross-check: `tests/interop/run.sh` builds the Go tool `tlogcheck` once per
//!    test run (into `<target>/interop/tlogcheck`) and we feed it what our code produces:
//!    a. trees, proofs, signed checkpoints and receipts built in-process, plus tampered
//!    copies that Go must reject (and that we must reject too);
//!    b. everything a running service (SQLite, temporary directory) hands out;
//!    c. keys made by Go read by us, and the same text signed by both, byte for byte.
//!
//! Without `go` (or Debian's golang-golang-x-mod-dev) the Go tests fail when `CI=true`
//! and are reported as ignored otherwise. Their output says how many Go checks ran.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use anyhow::{Context as _, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use pennytrail::app::{ServeConfig, start};

use crate::support::pennytrail_test;
use pennytrail::log::checkpoint::{Checkpoint, CheckpointError};
use pennytrail::log::entry::{self, ChainHead, seal};
use pennytrail::log::hash::{Hash, empty_root, leaf_hash};
use pennytrail::log::merkle::{
    Frontier, consistency_proof, consistency_proof_indexes, inclusion_proof,
    inclusion_proof_indexes, stored_hash_count, verify_consistency, verify_inclusion,
};
use pennytrail::log::note::{NoteError, NoteSigner, NoteVerifier};
use pennytrail::log::receipt::Receipt;
use pennytrail::log::time::UnixMillis;
use pennytrail::store::StoreConfig;

// ---------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn vectors() -> Value {
    let path = manifest_dir().join("tests/interop/vectors.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector field {key:?} is not a string in {v}"))
}

fn strings_of(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("vector field {key:?} is not an array in {v}"))
        .iter()
        .map(|s| s.as_str().expect("string").to_string())
        .collect()
}

fn parse_key_hash(hex8: &str) -> u32 {
    u32::from_str_radix(hex8, 16).unwrap_or_else(|_| panic!("bad key hash {hex8:?}"))
}

/// The (name, key id) of every well-formed signature line of a note.
fn signature_keys(note: &str) -> BTreeSet<(String, u32)> {
    let Some(split) = note.rfind("\n\n") else {
        return BTreeSet::new();
    };
    note[split + 2..]
        .lines()
        .filter_map(|line| {
            let (name, sig64) = line.strip_prefix("\u{2014} ")?.split_once(' ')?;
            let raw = B64.decode(sig64).ok()?;
            let id = u32::from_be_bytes(raw.get(..4)?.try_into().ok()?);
            Some((name.to_string(), id))
        })
        .collect()
}

fn flip(h: &Hash) -> Hash {
    let mut bytes = h.0;
    bytes[0] ^= 0x01;
    Hash(bytes)
}

fn b64_hashes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(Hash::to_base64).collect()
}

/// The same note text with a different body: `note` signed `old_body`, the result claims
/// `new_body` under the original signature lines.
fn swap_body(note: &str, old_body: &str, new_body: &str) -> String {
    assert!(
        note.starts_with(old_body),
        "note does not start with its body"
    );
    format!("{new_body}{}", &note[old_body.len()..])
}

// ---------------------------------------------------------------------------------------
// 1. Known answers from Go's test files (no Go toolchain needed)
// ---------------------------------------------------------------------------------------

#[pennytrail_test]
fn go_vectors_sign_byte_for_byte() {
    let v = vectors();
    let mut checked = 0;
    for ex in v["note_examples"].as_array().unwrap() {
        if ex["operation"] != "sign" {
            continue;
        }
        let id = str_of(ex, "id");
        let skey = str_of(ex, "private_key");
        let vkey = str_of(ex, "verifier_key");
        let text = str_of(ex, "text");
        let signed = str_of(ex, "signed_note");

        let signer = NoteSigner::from_text(skey)
            .unwrap_or_else(|e| panic!("{id}: NoteSigner::from_text({skey:?}): {e}"));
        assert_eq!(signer.to_text(), skey, "{id}: private key text round trip");
        assert_eq!(
            signer.verifier().to_text(),
            vkey,
            "{id}: derived verifier key"
        );
        let verifier = NoteVerifier::from_text(vkey).unwrap();
        assert_eq!(&verifier, signer.verifier(), "{id}: parsed verifier");
        // Ed25519 is deterministic: our signed note must equal Go's byte for byte.
        assert_eq!(signer.sign_note(text).unwrap(), signed, "{id}: sign_note");
        assert_eq!(verifier.open(signed).unwrap(), text, "{id}: open");
        checked += 1;
    }
    assert!(checked >= 1, "vectors.json has no sign example");
}

/// Go's `note.Open` takes a *list* of verifiers; ours opens with exactly one. Mapping:
/// - valid: each listed key whose (name, key id) signed the note opens it with our code
///   and yields the expected text; each listed key that did not sign it gives
///   `NotSignedByKey` (Go would not count it either). Go's `expect_sigs` must equal the set
///   of keys that opened it.
/// - "malformed note": every listed key reports `Malformed` (non-UTF-8 input cannot even
///   become a `&str`, which is our type-level rejection).
/// - "invalid signature for key K": the verifier for K reports `InvalidSignature`.
/// - "note has no verifiable signatures" (empty list): a key absent from the note, both a
///   new name and the signer's name with another key, reports `NotSignedByKey`.
/// - "ambiguous key": a property of a verifier *list* with duplicates; our API has no list,
///   so it cannot be expressed (listed in `INEXPRESSIBLE` below).
#[pennytrail_test]
fn go_vectors_open() {
    const INEXPRESSIBLE: &[&str] = &["open_duplicated_verifier"];
    let v = vectors();
    let mut checked = BTreeSet::new();
    let mut skipped = BTreeSet::new();
    for ex in v["note_examples"].as_array().unwrap() {
        if ex["operation"] != "open" {
            continue;
        }
        let id = str_of(ex, "id").to_string();
        let keys: Vec<NoteVerifier> = strings_of(ex, "verifier_keys")
            .iter()
            .map(|k| NoteVerifier::from_text(k).unwrap_or_else(|e| panic!("{id}: key {k}: {e}")))
            .collect();
        let note: Result<String, _> = match (ex.get("signed_note"), ex.get("signed_note_hex")) {
            (Some(s), None) => Ok(s.as_str().unwrap().to_string()),
            (None, Some(h)) => String::from_utf8(hex::decode(h.as_str().unwrap()).unwrap()),
            _ => panic!("{id}: needs exactly one of signed_note, signed_note_hex"),
        };
        let valid = ex["valid"].as_bool().unwrap();
        let expect_error = ex.get("expect_error").and_then(Value::as_str);
        match (valid, expect_error) {
            (true, None) => {
                let note = note.expect("valid notes are UTF-8");
                let signed_by = signature_keys(&note);
                let text = &note[..note.rfind("\n\n").unwrap() + 1];
                let mut opened = BTreeSet::new();
                for key in &keys {
                    let me = (key.name().to_string(), key.key_id());
                    let result = key.open(&note);
                    if signed_by.contains(&me) {
                        let got = result.unwrap_or_else(|e| panic!("{id}: open by {me:?}: {e}"));
                        assert_eq!(got, text, "{id}: opened text");
                        if let Some(expect) = ex.get("expect_text") {
                            assert_eq!(got, expect.as_str().unwrap(), "{id}: expect_text");
                        }
                        opened.insert(me);
                    } else {
                        assert!(
                            matches!(result, Err(NoteError::NotSignedByKey { .. })),
                            "{id}: key {me:?} did not sign, got {result:?}"
                        );
                    }
                }
                assert!(!opened.is_empty(), "{id}: no listed key opened the note");
                if let Some(sigs) = ex.get("expect_sigs") {
                    let expected: BTreeSet<(String, u32)> = sigs
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| {
                            (
                                str_of(s, "name").into(),
                                parse_key_hash(str_of(s, "key_hash")),
                            )
                        })
                        .collect();
                    assert_eq!(opened, expected, "{id}: verified signatures");
                }
            }
            (false, Some("malformed note")) => match note {
                Err(_) => {
                    // Not UTF-8: our API takes &str, so such bytes never reach `open`.
                    // Their lossy decoding must still be refused.
                    let bytes = hex::decode(str_of(ex, "signed_note_hex")).unwrap();
                    let lossy = String::from_utf8_lossy(&bytes);
                    for key in &keys {
                        assert!(key.open(&lossy).is_err(), "{id}: lossy note accepted");
                    }
                }
                Ok(note) => {
                    assert!(!keys.is_empty(), "{id}: no key to try");
                    for key in &keys {
                        let result = key.open(&note);
                        assert!(
                            matches!(result, Err(NoteError::Malformed(_))),
                            "{id}: Go says malformed, we say {result:?}"
                        );
                    }
                }
            },
            (false, Some(err)) if err.starts_with("invalid signature for key ") => {
                let (name, hash) = err["invalid signature for key ".len()..]
                    .split_once('+')
                    .unwrap();
                let key = keys
                    .iter()
                    .find(|k| k.name() == name && k.key_id() == parse_key_hash(hash))
                    .unwrap_or_else(|| panic!("{id}: {name}+{hash} is not in the list"));
                let result = key.open(note.as_ref().unwrap());
                assert!(
                    matches!(result, Err(NoteError::InvalidSignature { .. })),
                    "{id}: Go says {err:?}, we say {result:?}"
                );
            }
            (false, Some("note has no verifiable signatures")) => {
                assert!(
                    keys.is_empty(),
                    "{id}: mapping assumes an empty verifier list"
                );
                let note = note.unwrap();
                let signers = signature_keys(&note);
                let (signer_name, _) = signers.first().unwrap().clone();
                for absent in [
                    NoteSigner::from_seed("SomeoneElse", [9; 32]).unwrap(),
                    NoteSigner::from_seed(&signer_name, [9; 32]).unwrap(),
                ] {
                    let key = absent.verifier();
                    assert!(!signers.contains(&(key.name().to_string(), key.key_id())));
                    let result = key.open(&note);
                    assert!(
                        matches!(result, Err(NoteError::NotSignedByKey { .. })),
                        "{id}: absent key {}: {result:?}",
                        key.to_text()
                    );
                }
            }
            (false, Some(err)) if err.starts_with("ambiguous key ") => {
                assert!(
                    INEXPRESSIBLE.contains(&id.as_str()),
                    "{id}: unexpected case"
                );
                skipped.insert(id);
                continue;
            }
            other => panic!("{id}: no mapping for (valid, expect_error) = {other:?}"),
        }
        checked.insert(id);
    }
    let expected_skips: BTreeSet<String> = INEXPRESSIBLE.iter().map(|s| s.to_string()).collect();
    assert_eq!(skipped, expected_skips, "skipped open vectors");
    assert!(
        checked.len() >= 13,
        "only {} open vectors checked",
        checked.len()
    );
}

/// Every proper substring and every single-byte increment of a key text must be refused
/// (Go's TestNewSigner and TestNewVerifier).
fn assert_manglings_rejected(key: &str, accepts: impl Fn(&str) -> bool) -> usize {
    let b = key.as_bytes();
    let mut tried = 0;
    for i in 0..=b.len() {
        for j in i + 1..=b.len() {
            if i == 0 && j == b.len() {
                continue;
            }
            let sub = std::str::from_utf8(&b[i..j]).unwrap();
            assert!(!accepts(sub), "substring {sub:?} of {key:?} was accepted");
            tried += 1;
        }
    }
    for i in 0..b.len() {
        let mut m = b.to_vec();
        m[i] += 1;
        let m = String::from_utf8(m).unwrap();
        assert!(!accepts(&m), "increment at byte {i} ({m:?}) was accepted");
        tried += 1;
    }
    tried
}

#[pennytrail_test]
fn go_vectors_keys() {
    let v = vectors();
    let mut verifier_keys = 0;
    let mut private_keys = 0;
    for ex in v["verifier_key_examples"].as_array().unwrap() {
        let valid = ex["valid"].as_bool().unwrap();
        if let Some(vkey) = ex.get("verifier_key").and_then(Value::as_str) {
            let ours = NoteVerifier::from_text(vkey);
            assert_eq!(
                ours.is_ok(),
                valid,
                "NoteVerifier::from_text({vkey:?}) = {ours:?}"
            );
            if let Ok(key) = ours {
                assert_eq!(key.to_text(), vkey);
                let tried = assert_manglings_rejected(vkey, |k| NoteVerifier::from_text(k).is_ok());
                assert!(tried > 1000);
            }
            verifier_keys += 1;
        }
        if let Some(skey) = ex.get("private_key").and_then(Value::as_str) {
            let ours = NoteSigner::from_text(skey);
            assert_eq!(
                ours.is_ok(),
                valid,
                "NoteSigner::from_text({skey:?}) = {ours:?}"
            );
            if let Ok(signer) = ours {
                assert_eq!(signer.to_text(), skey);
                let tried = assert_manglings_rejected(skey, |k| NoteSigner::from_text(k).is_ok());
                assert!(tried > 1000);
            }
            private_keys += 1;
        }
    }
    assert!(verifier_keys >= 4 && private_keys >= 1);

    // Go's VerifierList lookups by (name, key hash): found iff exactly one listed key
    // matches, "unknown" iff none, "ambiguous" iff several. Our parsed name()/key_id()
    // must reproduce each outcome.
    let mut lookups = 0;
    for lk in v["verifier_list_lookups"].as_array().unwrap() {
        let list: Vec<NoteVerifier> = strings_of(lk, "list")
            .iter()
            .map(|k| NoteVerifier::from_text(k).unwrap())
            .collect();
        let name = str_of(lk, "name");
        let hash = parse_key_hash(str_of(lk, "key_hash"));
        let matches = list
            .iter()
            .filter(|k| k.name() == name && k.key_id() == hash)
            .count();
        match lk["expect_error"].as_str() {
            None => assert_eq!(matches, 1, "lookup {name}+{hash:08x}"),
            Some(e) if e.starts_with("unknown key") => assert_eq!(matches, 0, "{e}"),
            Some(e) if e.starts_with("ambiguous key") => assert!(matches > 1, "{e}"),
            Some(e) => panic!("no mapping for lookup error {e:?}"),
        }
        lookups += 1;
    }
    assert!(lookups >= 4);
}

/// tlog known answers. `format_record` and `tile_paths` are sumdb-specific formats we do
/// not implement; `parse_tree_trailing_junk_ok` is a deliberate divergence (our
/// checkpoints are exactly three lines, see crates/pennytrail-log/src/checkpoint.rs), so none are checked.
#[pennytrail_test]
fn go_vectors_tlog() {
    const NOT_APPLICABLE: &[&str] = &["format_record", "tile_paths", "parse_tree_trailing_junk_ok"];
    // Go's tree header is not a valid origin (it has spaces); to reach the size and root
    // checks of our parser we substitute a valid origin for it.
    const GO_HEADER: &str = "go.sum database tree";
    const VALID_ORIGIN: &str = "go.sum/database-tree";
    let v = vectors();
    let mut seen = BTreeSet::new();
    for ex in v["tlog_known_answers"].as_array().unwrap() {
        let id = str_of(ex, "id");
        match id {
            "record_hash_hello_world" => {
                let want = str_of(ex, "record_hash_base64");
                let got = leaf_hash(str_of(ex, "record").as_bytes());
                assert_eq!(got.to_base64(), want, "RecordHash(hello world)");
                assert_eq!(Hash::from_base64(want).unwrap(), got);
            }
            "format_tree" => {
                let cp = Checkpoint {
                    origin: GO_HEADER.into(),
                    size: ex["tree_size"].as_u64().unwrap(),
                    root: Hash::from_base64(str_of(ex, "hash_base64")).unwrap(),
                };
                let formatted = str_of(ex, "formatted");
                assert_eq!(cp.body(), formatted, "FormatTree");
                let ours = formatted.replacen(GO_HEADER, VALID_ORIGIN, 1);
                let parsed = Checkpoint::parse_body(&ours).unwrap();
                assert_eq!(
                    (parsed.size, parsed.root),
                    (cp.size, cp.root),
                    "ParseTree of the formatted tree"
                );
            }
            "parse_tree_bad" => {
                for bad in strings_of(ex, "invalid") {
                    assert!(Checkpoint::parse_body(&bad).is_err(), "accepted {bad:?}");
                    if bad.starts_with(&format!("{GO_HEADER}\n")) {
                        // Same header Go expects: it must fail for Go's reason (size/root).
                        let ours = bad.replacen(GO_HEADER, VALID_ORIGIN, 1);
                        let result = Checkpoint::parse_body(&ours);
                        assert!(
                            matches!(
                                result,
                                Err(CheckpointError::BadSize(_) | CheckpointError::BadRoot)
                            ),
                            "{ours:?}: {result:?}"
                        );
                    }
                }
            }
            other if NOT_APPLICABLE.contains(&other) => {}
            other => panic!("tlog vector {other:?} has no mapping"),
        }
        seen.insert(id.to_string());
    }
    for id in ["record_hash_hello_world", "format_tree", "parse_tree_bad"] {
        assert!(seen.contains(id), "vector {id} missing from vectors.json");
    }
}

/// Go's tlog.CheckRecord and tlog.CheckTree return an error for every malformed proof
/// (the expect_fail cases below show it); ours must too, and never panic: verifiers run
/// on proofs from untrusted servers.
#[pennytrail_test]
fn ours_reject_malformed_proofs_without_panicking() {
    let mut tree = Tree::new();
    for entry in realistic_entries(40) {
        tree.push(entry);
    }
    let mut panics = Vec::new();
    let mut tried = 0;
    let mut outcome = |what: String, check: &dyn Fn() -> bool| {
        tried += 1;
        match quiet_catch_unwind(check) {
            Ok(true) => panic!("{what}: accepted"),
            Ok(false) => {}
            Err(_) => panics.push(what),
        }
    };
    for new in 1..=tree.size() {
        let new_root = tree.roots[new as usize];
        for old in 1..new {
            let proof = tree.consistency(old, new);
            let old_root = tree.roots[old as usize];
            let mut variants: Vec<Vec<Hash>> =
                (0..proof.len()).map(|k| proof[..k].to_vec()).collect();
            variants.push([proof.clone(), vec![new_root]].concat());
            for bad in variants {
                outcome(
                    format!(
                        "verify_consistency({} of {} hashes, old {old}, new {new})",
                        bad.len(),
                        proof.len()
                    ),
                    &|| verify_consistency(&bad, old, &old_root, new, &new_root).is_ok(),
                );
            }
        }
        for index in 0..new {
            let proof = tree.inclusion(new, index);
            let leaf = leaf_hash(tree.entry(index));
            let mut variants: Vec<Vec<Hash>> =
                (0..proof.len()).map(|k| proof[..k].to_vec()).collect();
            variants.push([proof.clone(), vec![leaf]].concat());
            for bad in variants {
                outcome(
                    format!(
                        "verify_inclusion({} of {} hashes, index {index}, size {new})",
                        bad.len(),
                        proof.len()
                    ),
                    &|| verify_inclusion(&bad, new, &new_root, index, &leaf).is_ok(),
                );
            }
        }
    }
    assert!(tried > 5_000, "only {tried} malformed proofs tried");
    let mut by_function: BTreeMap<&str, usize> = BTreeMap::new();
    for p in &panics {
        *by_function.entry(p.split('(').next().unwrap()).or_default() += 1;
    }
    assert!(
        panics.is_empty(),
        "{} of {tried} malformed proofs made our verifier PANIC instead of returning an \
         error ({by_function:?}), e.g.:\n{}",
        panics.len(),
        panics
            .iter()
            .take(8)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// 2. The Go tool
// ---------------------------------------------------------------------------------------

static TLOGCHECK: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// Builds tlogcheck (once per test process; concurrent callers wait for the one build).
/// Go and x/mod are there: the harness ignores (or, under CI, fails) the tests otherwise.
fn build_tlogcheck() -> Result<PathBuf, String> {
    // CARGO_TARGET_TMPDIR is <target>/tmp.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .to_path_buf();
    let dir = target.join("interop");
    let out = dir.join("tlogcheck");
    // Build under a per-process name and rename, so that two test processes never run
    // a half-written binary.
    let staging = dir.join(format!("tlogcheck.build-{}", std::process::id()));
    let build = Command::new("bash")
        .arg(manifest_dir().join("tests/interop/run.sh"))
        .arg("build")
        .arg(&staging)
        .output()
        .map_err(|e| format!("running tests/interop/run.sh: {e}"))?;
    if !build.status.success() {
        return Err(format!(
            "tests/interop/run.sh build failed ({}):\n{}{}",
            build.status,
            String::from_utf8_lossy(&build.stdout),
            String::from_utf8_lossy(&build.stderr)
        ));
    }
    std::fs::rename(&staging, &out).map_err(|e| format!("installing {}: {e}", out.display()))?;
    Ok(out)
}

/// The Go tool, built on first use.
pub(crate) fn tlogcheck() -> &'static Path {
    match TLOGCHECK.get_or_init(build_tlogcheck) {
        Ok(path) => path,
        Err(e) => panic!("building the Go cross-check tool failed: {e}"),
    }
}

/// What `tlogcheck verify` said.
struct GoRun {
    code: Option<i32>,
    passed: usize,
    failed: usize,
    rejected: usize,
    stdout: String,
    stderr: String,
}

impl GoRun {
    fn failures(&self) -> String {
        let lines: Vec<&str> = self
            .stdout
            .lines()
            .filter(|l| l.starts_with("FAIL") || l.starts_with("  - "))
            .take(40)
            .collect();
        format!("{}\nstderr: {}", lines.join("\n"), self.stderr.trim())
    }
}

fn run_verify(tool: &Path, input: &Value) -> GoRun {
    let body = serde_json::to_vec(input).unwrap();
    let mut child = Command::new(tool)
        .arg("verify")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting tlogcheck");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let out = child.wait_with_output().expect("running tlogcheck");
    writer.join().unwrap().expect("writing tlogcheck's stdin");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut run = GoRun {
        code: out.status.code(),
        passed: 0,
        failed: 0,
        rejected: 0,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        stdout,
    };
    for line in run.stdout.lines() {
        if let Some(n) = line.strip_prefix("expect_fail cases rejected by Go: ") {
            run.rejected = n.parse().unwrap();
        }
        if let Some((p, f)) = line.split_once(" passed, ")
            && let Some(f) = f.strip_suffix(" failed")
        {
            run.passed = p.parse().unwrap();
            run.failed = f.parse().unwrap();
        }
    }
    run
}

fn array_len(v: &Value, key: &str) -> usize {
    v.get(key).and_then(Value::as_array).map_or(0, Vec::len)
}

/// (checks tlogcheck must report, of which expect_fail rejections), counted from the
/// input: the verifier key, the checkpoint note, then one per item.
fn expected_checks(input: &Value) -> (usize, usize) {
    let fails = input.get("expect_fail").map_or(0, |ef| {
        [
            "bad_inclusion",
            "bad_consistency",
            "bad_receipts",
            "bad_checkpoint_notes",
        ]
        .iter()
        .map(|k| array_len(ef, k))
        .sum()
    });
    let items: usize = ["leaves", "consistency", "receipts"]
        .iter()
        .map(|k| array_len(input, k))
        .sum();
    (2 + items + fails, fails)
}

/// Runs `tlogcheck verify` and requires every check to pass (tampered cases rejected).
/// Returns the number of Go checks that passed.
fn go_verify(tool: &Path, input: &Value, label: &str) -> usize {
    let (total, fails) = expected_checks(input);
    let run = run_verify(tool, input);
    assert!(
        run.code == Some(0) && run.failed == 0,
        "{label}: Go's tlogcheck found {} failure(s) (exit {:?}):\n{}",
        run.failed,
        run.code,
        run.failures()
    );
    assert_eq!(
        (run.passed, run.rejected),
        (total, fails),
        "{label}: tlogcheck reported a different number of (passed, rejected) checks \
         than items sent\n{}",
        run.stdout
            .lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .join("\n")
    );
    run.passed
}

// ---------------------------------------------------------------------------------------
// In-process trees
// ---------------------------------------------------------------------------------------

const ORIGIN: &str = "example.org/interop";

/// A log in memory, kept the way the store keeps it: the frontier plus every stored hash.
struct Tree {
    entries: Vec<Vec<u8>>,
    frontier: Frontier,
    stored: HashMap<u64, Hash>,
    /// roots[n] = root of the first n entries.
    roots: Vec<Hash>,
}

impl Tree {
    fn new() -> Tree {
        Tree {
            entries: Vec::new(),
            frontier: Frontier::empty(),
            stored: HashMap::new(),
            roots: vec![empty_root()],
        }
    }

    fn size(&self) -> u64 {
        self.entries.len() as u64
    }

    fn push(&mut self, entry: Vec<u8>) {
        let (first, created) = self.frontier.append(leaf_hash(&entry));
        for (k, h) in created.into_iter().enumerate() {
            let index = first + k as u64;
            assert!(
                self.stored.insert(index, h).is_none(),
                "stored hash {index} created twice"
            );
        }
        self.entries.push(entry);
        assert_eq!(self.stored.len() as u64, stored_hash_count(self.size()));
        self.roots.push(self.frontier.root());
    }

    fn read(&self, indexes: &[u64]) -> Vec<Hash> {
        indexes
            .iter()
            .map(|i| {
                *self.stored.get(i).unwrap_or_else(|| {
                    panic!(
                        "a proof asked for stored hash {i}, which does not exist at size {}",
                        self.size()
                    )
                })
            })
            .collect()
    }

    fn inclusion(&self, size: u64, index: u64) -> Vec<Hash> {
        let need = inclusion_proof_indexes(size, index).unwrap();
        inclusion_proof(size, index, &self.read(&need)).unwrap()
    }

    fn consistency(&self, old: u64, new: u64) -> Vec<Hash> {
        let need = consistency_proof_indexes(old, new).unwrap();
        consistency_proof(old, new, &self.read(&need)).unwrap()
    }

    fn entry(&self, index: u64) -> &[u8] {
        &self.entries[usize::try_from(index).unwrap()]
    }
}

/// Realistic, hash-chained entries of a few kinds, sealed by our entry code.
fn realistic_entries(count: u64) -> Vec<Vec<u8>> {
    let mut head = ChainHead::GENESIS;
    let mut out = Vec::new();
    for i in 0..count {
        let time = UnixMillis(1_767_225_600_000 + i64::try_from(i).unwrap() * 1_234);
        let header = head.next_header(time);
        let org = format!("org-{:03}", i % 17);
        let mut body = Map::new();
        let kind = match i % 3 {
            0 => {
                body.insert("name".into(), format!("Charité Nr. {i} \"e.V.\"").into());
                body.insert("country".into(), "DE".into());
                "org.registered"
            }
            1 => {
                body.insert("donation".into(), format!("don-{i}").into());
                body.insert("amount".into(), (i * 250 + 1).into());
                body.insert("currency".into(), "EUR".into());
                "donation.received"
            }
            _ => {
                body.insert("beneficiary".into(), format!("ben-{i}").into());
                body.insert("amount".into(), (i * 100).into());
                body.insert("note".into(), "school meals ✓".into());
                "disbursement.made"
            }
        };
        let bytes = seal(&header, kind, Some(&org), &body).unwrap();
        let parsed = entry::parse(&bytes).unwrap();
        head.advance(&parsed, &bytes).unwrap();
        out.push(bytes);
    }
    out
}

/// Indexes in [0, n) worth checking: all of them for small n, else edges, powers of two
/// around their boundaries and a stride.
fn sample(n: u64) -> Vec<u64> {
    if n <= 71 {
        return (0..n).collect();
    }
    let mut s: BTreeSet<u64> = [0, 1, 2, 3, n / 3, n / 2, n - 2, n - 1].into();
    let mut p = 1u64;
    while p < n {
        s.extend([p - 1, p, p + 1]);
        p *= 2;
    }
    s.extend((0..n).step_by(97));
    s.into_iter().filter(|&i| i < n).collect()
}

fn leaf_item(index: u64, entry: &[u8], proof: &[Hash]) -> Value {
    json!({
        "index": index,
        "entry": B64.encode(entry),
        "leaf_hash": leaf_hash(entry).to_hex(),
        "inclusion": b64_hashes(proof),
    })
}

fn at_tree(mut item: Value, size: u64, root: &Hash) -> Value {
    item["tree_size"] = json!(size);
    item["root"] = json!(root.to_base64());
    item
}

fn consistency_item(old: u64, old_root: &Hash, proof: &[Hash]) -> Value {
    json!({"old_size": old, "old_root": old_root.to_base64(), "proof": b64_hashes(proof)})
}

fn receipt_item(entry: &[u8], tlog_proof: &str) -> Value {
    json!({"entry": B64.encode(entry), "tlog_proof": tlog_proof})
}

fn receipt_text(index: u64, proof: &[Hash], note: &str) -> String {
    Receipt {
        index,
        proof: proof.to_vec(),
        checkpoint_note: note.to_string(),
    }
    .format()
}

fn receipt_rejected(text: &str, entry: &[u8], verifier: &NoteVerifier) -> bool {
    !accepts(|| {
        Receipt::parse(text)
            .and_then(|r| r.verify(entry, verifier))
            .is_ok()
    })
}

thread_local! {
    static QUIET_PANICS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// `catch_unwind` without the panic hook's message and backtrace for this call (other
/// threads, i.e. other tests, keep the normal hook). Printing a backtrace for each of
/// thousands of expected panics would take minutes under RUST_BACKTRACE=1.
fn quiet_catch_unwind<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    QUIET_PANICS.with(|q| q.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET_PANICS.with(|q| q.set(false));
    result
}

/// Whether our verifier accepts an input. It must decide without panicking: a panic
/// fails the test here (the pure test `ours_reject_malformed_proofs_without_panicking`
/// covers the same ground without Go).
fn accepts(check: impl FnOnce() -> bool) -> bool {
    check()
}

/// The Go input for the tree of size n (the first n entries of `tree`), with our own
/// verifier checking every good item and rejecting every tampered one on the way.
fn tree_input(tree: &Tree, n: u64, signer: &NoteSigner, foreign: &NoteSigner) -> Value {
    let verifier = signer.verifier();
    let root = tree.roots[n as usize];
    let cp = Checkpoint {
        origin: ORIGIN.into(),
        size: n,
        root,
    };
    let note = cp.sign(signer).unwrap();
    assert_eq!(Checkpoint::open(&note, verifier).unwrap(), cp);

    let mut leaves = Vec::new();
    let mut receipts = Vec::new();
    for i in sample(n) {
        let entry = tree.entry(i);
        let proof = tree.inclusion(n, i);
        verify_inclusion(&proof, n, &root, i, &leaf_hash(entry))
            .unwrap_or_else(|e| panic!("size {n} index {i}: our own proof fails: {e}"));
        leaves.push(leaf_item(i, entry, &proof));
        let text = receipt_text(i, &proof, &note);
        let parsed = Receipt::parse(&text).unwrap();
        assert_eq!(parsed.index, i);
        assert_eq!(parsed.proof, proof);
        assert_eq!(parsed.format(), text, "receipt format/parse round trip");
        // Ed25519 is slow in debug builds: Go checks every receipt, we check a few.
        if i == 0 || i == n / 2 || i == n - 1 {
            parsed.verify(entry, verifier).unwrap();
        }
        receipts.push(receipt_item(entry, &text));
    }
    let mut consistency = Vec::new();
    for old in sample(n + 1).into_iter().filter(|&o| o >= 1) {
        let proof = tree.consistency(old, n);
        let old_root = &tree.roots[old as usize];
        verify_consistency(&proof, old, old_root, n, &root)
            .unwrap_or_else(|e| panic!("{old} -> {n}: our own proof fails: {e}"));
        consistency.push(consistency_item(old, old_root, &proof));
    }

    // Tampered copies: Go must reject each, and so must we.
    let i = n / 2;
    let entry = tree.entry(i);
    let proof = tree.inclusion(n, i);
    let mut bad_inclusion = Vec::new();
    let mut bad_leaf = |index: u64, entry: &[u8], proof: Vec<Hash>, wrong_root: Option<Hash>| {
        let r = wrong_root.unwrap_or(root);
        assert!(
            !accepts(|| verify_inclusion(&proof, n, &r, index, &leaf_hash(entry)).is_ok()),
            "size {n}: we accept a tampered inclusion proof for index {index}"
        );
        let item = leaf_item(index, entry, &proof);
        bad_inclusion.push(match wrong_root {
            Some(r) => at_tree(item, n, &r),
            None => item,
        });
    };
    if !proof.is_empty() {
        let mut flipped = proof.clone();
        flipped[0] = flip(&flipped[0]);
        bad_leaf(i, entry, flipped, None);
        bad_leaf(i, entry, proof[..proof.len() - 1].to_vec(), None);
    }
    let mut longer = proof.clone();
    longer.push(leaf_hash(entry));
    bad_leaf(i, entry, longer, None);
    bad_leaf(i, entry, proof.clone(), Some(flip(&root)));
    if n > 1 {
        let j = (i + 1) % n;
        bad_leaf(j, entry, proof.clone(), None); // wrong index
        bad_leaf(i, tree.entry(j), proof.clone(), None); // another entry
    }

    let mut bad_consistency = Vec::new();
    let old = (n / 2).max(1);
    if old < n {
        let cproof = tree.consistency(old, n);
        let old_root = tree.roots[old as usize];
        let mut bad_cons = |old: u64, old_root: Hash, proof: Vec<Hash>, new_root: Option<Hash>| {
            let r = new_root.unwrap_or(root);
            assert!(
                !accepts(|| verify_consistency(&proof, old, &old_root, n, &r).is_ok()),
                "size {n}: we accept a tampered consistency proof from {old}"
            );
            let item = consistency_item(old, &old_root, &proof);
            bad_consistency.push(match new_root {
                Some(r) => at_tree(item, n, &r),
                None => item,
            });
        };
        let mut flipped = cproof.clone();
        flipped[0] = flip(&flipped[0]);
        bad_cons(old, old_root, flipped, None);
        bad_cons(old, old_root, cproof[..cproof.len() - 1].to_vec(), None);
        bad_cons(old, flip(&old_root), cproof.clone(), None);
        bad_cons(old, old_root, cproof.clone(), Some(flip(&root)));
        if old + 1 < n {
            bad_cons(old + 1, tree.roots[old as usize + 1], cproof.clone(), None);
        }
    }

    let foreign_note = cp.sign(foreign).unwrap();
    let bigger_body = Checkpoint {
        size: n + 1,
        ..cp.clone()
    }
    .body();
    let wrong_size_note = swap_body(&note, &cp.body(), &bigger_body);
    let wrong_root_body = Checkpoint {
        root: flip(&root),
        ..cp.clone()
    }
    .body();
    let wrong_root_note = swap_body(&note, &cp.body(), &wrong_root_body);
    for bad in [&foreign_note, &wrong_size_note, &wrong_root_note] {
        assert!(
            Checkpoint::open(bad, verifier).is_err(),
            "we accept {bad:?}"
        );
    }

    let mut bad_receipts = Vec::new();
    let mut bad_receipt = |entry: &[u8], text: String| {
        assert!(
            receipt_rejected(&text, entry, verifier),
            "size {n}: we accept the tampered receipt {text:?}"
        );
        bad_receipts.push(receipt_item(entry, &text));
    };
    if !proof.is_empty() {
        let mut flipped = proof.clone();
        flipped[0] = flip(&flipped[0]);
        bad_receipt(entry, receipt_text(i, &flipped, &note));
    }
    if n > 1 {
        let j = (i + 1) % n;
        bad_receipt(entry, receipt_text(j, &proof, &note));
        bad_receipt(tree.entry(j), receipt_text(i, &proof, &note));
    }
    bad_receipt(entry, receipt_text(i, &proof, &foreign_note));
    bad_receipt(entry, receipt_text(i, &proof, &wrong_root_note));

    let mut bad_notes = vec![foreign_note.clone(), wrong_size_note, wrong_root_note];
    if n > 1 {
        // Genuine, but of another size: must not pass as this checkpoint.
        let older = Checkpoint {
            origin: ORIGIN.into(),
            size: n - 1,
            root: tree.roots[n as usize - 1],
        };
        bad_notes.push(older.sign(signer).unwrap());
    }

    json!({
        "verifier_key": verifier.to_text(),
        "checkpoint_note": note,
        "origin": ORIGIN,
        "tree_size": n,
        "root": root.to_base64(),
        "leaves": leaves,
        "consistency": consistency,
        "receipts": receipts,
        "expect_fail": {
            "bad_inclusion": bad_inclusion,
            "bad_consistency": bad_consistency,
            "bad_receipts": bad_receipts,
            "bad_checkpoint_notes": bad_notes,
        },
    })
}

#[pennytrail_test(go)]
fn go_verifies_in_process_trees() {
    let tool = tlogcheck();
    let sizes: BTreeSet<u64> = (1..=70).chain([127, 128, 129, 1000, 1024, 1025]).collect();
    let max = *sizes.last().unwrap();
    let signer = NoteSigner::from_seed(ORIGIN, [0x42; 32]).unwrap();
    // Same name, different key: its signatures must not count.
    let foreign = NoteSigner::from_seed(ORIGIN, [0x66; 32]).unwrap();
    let mut tree = Tree::new();
    let (mut runs, mut checks, mut rejections) = (0, 0, 0);
    for entry in realistic_entries(max) {
        tree.push(entry);
        let n = tree.size();
        if !sizes.contains(&n) {
            continue;
        }
        let input = tree_input(&tree, n, &signer, &foreign);
        rejections += expected_checks(&input).1;
        checks += go_verify(tool, &input, &format!("tree of size {n}"));
        runs += 1;
    }
    assert_eq!(runs, sizes.len());
    note!(
        "in-process trees: {runs} tlogcheck runs, {checks} Go checks passed \
         ({rejections} of them tampered inputs rejected, by Go and by us)"
    );
}

/// The harness itself: a wrong item outside expect_fail makes tlogcheck fail, and one
/// inside expect_fail that Go accepts makes it fail too. Without this, a tool that
/// accepted everything would pass every test above.
#[pennytrail_test(go)]
fn go_harness_detects_failures() {
    let tool = tlogcheck();
    let signer = NoteSigner::from_seed(ORIGIN, [0x42; 32]).unwrap();
    let foreign = NoteSigner::from_seed(ORIGIN, [0x66; 32]).unwrap();
    let mut tree = Tree::new();
    for entry in realistic_entries(5) {
        tree.push(entry);
    }
    let good = tree_input(&tree, 5, &signer, &foreign);
    let checks = go_verify(tool, &good, "size 5");
    note!("harness: {checks} Go checks passed, then 2 planted errors were caught");

    let mut bad = good.clone();
    let wrong_leaf = bad["expect_fail"]["bad_inclusion"][0].clone();
    bad["leaves"].as_array_mut().unwrap().push(wrong_leaf);
    let run = run_verify(tool, &bad);
    assert_eq!((run.code, run.failed), (Some(1), 1), "{}", run.stdout);

    let mut bad = good.clone();
    let good_leaf = bad["leaves"][0].clone();
    bad["expect_fail"]["bad_inclusion"]
        .as_array_mut()
        .unwrap()
        .push(good_leaf);
    let run = run_verify(tool, &bad);
    assert_eq!((run.code, run.failed), (Some(1), 1), "{}", run.stdout);
}

// ---------------------------------------------------------------------------------------
// Keys: Go ⇄ Rust
// ---------------------------------------------------------------------------------------

const TEXTS: &[&str] = &[
    "hello\n",
    "example.org/interop\n42\nTszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=\n",
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n",
    "Grüße aus Köln — ✓ 日本語\nline two\n",
    "paragraph one\n\nparagraph two\n",
];

fn go_sign(tool: &Path, skey: &str, text: &str) -> String {
    let mut child = Command::new(tool)
        .args(["sign", skey])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting tlogcheck sign");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "tlogcheck sign with {skey:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[pennytrail_test(go)]
fn go_and_rust_keys_and_signatures_agree() {
    let tool = tlogcheck();
    let mut go_ops = 0;
    // Go generates, we read and sign.
    for name in [
        "example.org/interop",
        "PeterNeumann",
        "bücher.example/log:2026_a-b",
    ] {
        let out = Command::new(tool).args(["genkey", name]).output().unwrap();
        assert!(out.status.success(), "genkey {name}: {out:?}");
        go_ops += 1;
        let stdout = String::from_utf8(out.stdout).unwrap();
        let [skey, vkey] = stdout.lines().collect::<Vec<_>>()[..] else {
            panic!("genkey printed {stdout:?}");
        };
        let signer = NoteSigner::from_text(skey)
            .unwrap_or_else(|e| panic!("we cannot read Go's private key {skey:?}: {e}"));
        assert_eq!(
            signer.verifier().to_text(),
            vkey,
            "verifier key of Go's {skey}"
        );
        assert_eq!(signer.to_text(), skey);
        assert_eq!(signer.verifier().name(), name);
        let verifier = NoteVerifier::from_text(vkey).unwrap();
        assert_eq!(&verifier, signer.verifier());
        assert_eq!(verifier.to_text(), vkey);
        for text in TEXTS {
            let go = go_sign(tool, skey, text);
            go_ops += 1;
            assert_eq!(
                signer.sign_note(text).unwrap(),
                go,
                "signing {text:?} with {vkey}"
            );
            assert_eq!(verifier.open(&go).unwrap(), *text);
        }
    }
    // We generate, Go reads our private key text and signs identically.
    for (name, seed) in [
        (ORIGIN, [0u8; 32]),
        ("charity.example.org/pennytrail", [0xA5; 32]),
        ("x", [0xFF; 32]),
    ] {
        let signer = NoteSigner::from_seed(name, seed).unwrap();
        for text in TEXTS {
            let go = go_sign(tool, &signer.to_text(), text);
            go_ops += 1;
            assert_eq!(signer.sign_note(text).unwrap(), go, "{name}: {text:?}");
        }
    }
    note!("keys: {go_ops} Go genkey/sign operations agreed with ours");
}

// ---------------------------------------------------------------------------------------
// A running service
// ---------------------------------------------------------------------------------------

#[derive(serde::Deserialize)]
struct WriteResponse {
    seq: u64,
    leaf_hash: String,
    entry: Box<RawValue>,
    receipt: String,
    api_token: Option<String>,
}

#[derive(serde::Deserialize)]
struct LogInfo {
    origin: String,
    verifier_key: String,
    size: u64,
}

#[derive(serde::Deserialize)]
struct ConsistencyResponse {
    from: u64,
    to: u64,
    hashes: Vec<String>,
}

struct Service {
    client: reqwest::Client,
    base: String,
    operator_token: String,
}

impl Service {
    async fn get(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .with_context(|| format!("GET {path}"))?;
        let status = response.status();
        let body = response.bytes().await?.to_vec();
        ensure!(
            status.is_success(),
            "GET {path}: {status}: {}",
            String::from_utf8_lossy(&body)
        );
        Ok(body)
    }

    async fn get_text(&self, path: &str) -> anyhow::Result<String> {
        Ok(String::from_utf8(self.get(path).await?)?)
    }

    async fn register(&self, i: usize) -> anyhow::Result<WriteResponse> {
        let country = ["DE", "FR", "NL", "KE", "BR"][i % 5];
        let response = self
            .client
            .post(format!("{}/v1/admin/orgs", self.base))
            .bearer_auth(&self.operator_token)
            .json(&json!({"id": format!("org-{i:02}"), "name": format!("Interop Charity {i}"), "country": country}))
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        ensure!(
            status == reqwest::StatusCode::CREATED,
            "registering org-{i:02}: {status}: {}",
            String::from_utf8_lossy(&body)
        );
        Ok(serde_json::from_slice(&body)?)
    }
}

#[pennytrail_test(go)]
async fn go_verifies_a_running_service() -> anyhow::Result<()> {
    let tool = tlogcheck();
    let dir = tempfile::tempdir()?;
    let data_dir = dir.path().join("data");
    let app = start(ServeConfig {
        listen: "127.0.0.1:0".parse()?,
        store: StoreConfig {
            data_dir: data_dir.clone(),
            database_url: None,
        },
        origin: Some(ORIGIN.into()),
        log_key: None,
        donor_secret: None,
        org_writes_per_second: pennytrail::limits::DEFAULT_ORG_WRITES_PER_SECOND,
        request_timeout: pennytrail::api::DEFAULT_REQUEST_TIMEOUT,
        writer_loss_drain: pennytrail::app::WRITER_LOSS_DRAIN,
        faults: Default::default(),
        trusted_proxies: Vec::new(),
        tile_cache_bytes: pennytrail::read::tiles::DEFAULT_TILE_CACHE_MB * 1024 * 1024,
        witness_policy: None,
    })
    .await?;
    let operator_token = std::fs::read_to_string(data_dir.join("operator.token"))?
        .trim()
        .to_string();
    let service = Service {
        client: reqwest::Client::new(),
        base: format!("http://{}", app.addr),
        operator_token,
    };
    let result = exercise_service(tool, &service, &app.origin, &app.verifier_key).await;
    let stopped = app.stop().await;
    result?;
    stopped?;
    Ok(())
}

async fn exercise_service(
    tool: &Path,
    service: &Service,
    origin: &str,
    verifier_key: &str,
) -> anyhow::Result<()> {
    let verifier = NoteVerifier::from_text(verifier_key)?;
    ensure!(origin == ORIGIN && verifier.name() == ORIGIN);

    // 25 registrations: sequential and concurrent bursts, so there are many batches and
    // therefore many stored checkpoints.
    let mut writes: Vec<(bool, WriteResponse)> = Vec::new();
    let bursts: [(bool, std::ops::Range<usize>); 4] = [
        (false, 0..5),
        (true, 5..12),
        (false, 12..16),
        (true, 16..25),
    ];
    for (concurrent, range) in bursts {
        if concurrent {
            let mut set = tokio::task::JoinSet::new();
            for i in range {
                let s = Service {
                    client: service.client.clone(),
                    base: service.base.clone(),
                    operator_token: service.operator_token.clone(),
                };
                set.spawn(async move { s.register(i).await });
            }
            while let Some(joined) = set.join_next().await {
                writes.push((true, joined??));
            }
        } else {
            for i in range {
                writes.push((false, service.register(i).await?));
            }
        }
    }
    writes.sort_by_key(|(_, w)| w.seq);
    let seqs: Vec<u64> = writes.iter().map(|(_, w)| w.seq).collect();
    ensure!(seqs == (0..25).collect::<Vec<u64>>(), "seqs {seqs:?}");

    let info: LogInfo = serde_json::from_slice(&service.get("/v1/log").await?)?;
    ensure!(info.origin == origin && info.verifier_key == verifier_key && info.size == 25);
    let latest_note = service.get_text("/v1/checkpoint").await?;
    let latest = Checkpoint::open(&latest_note, &verifier)?;
    ensure!(latest.size == 25 && latest.origin == origin);
    let n = latest.size;

    // Entries, exactly as served, and our own tree over them.
    let mut tree = Tree::new();
    let mut orgs = BTreeSet::new();
    for seq in 0..n {
        let bytes = service.get(&format!("/v1/entries/{seq}")).await?;
        let (_, write) = &writes[seq as usize];
        ensure!(
            bytes == write.entry.get().as_bytes(),
            "entry {seq} differs from the write response"
        );
        ensure!(
            write.leaf_hash == leaf_hash(&bytes).to_hex(),
            "leaf_hash of {seq}"
        );
        ensure!(
            write
                .api_token
                .as_deref()
                .is_some_and(|t| t.starts_with("pt_"))
        );
        let parsed = entry::parse(&bytes)?;
        ensure!(
            parsed.kind == "org.registered",
            "entry {seq} kind {}",
            parsed.kind
        );
        orgs.extend(parsed.org);
        tree.push(bytes);
    }
    let expected_orgs: BTreeSet<String> = (0..25).map(|i| format!("org-{i:02}")).collect();
    ensure!(orgs == expected_orgs, "registered orgs {orgs:?}");
    ensure!(
        tree.roots[n as usize] == latest.root,
        "our root of the served entries differs"
    );

    // Stored checkpoints: one per committed batch, as seen in the write receipts.
    let mut checkpoints: BTreeMap<u64, (String, Checkpoint)> = BTreeMap::new();
    checkpoints.insert(n, (latest_note.clone(), latest.clone()));
    let mut receipts = Vec::new();
    for (concurrent, write) in &writes {
        let receipt = Receipt::parse(&write.receipt)?;
        let entry = write.entry.get().as_bytes();
        let cp = receipt.verify(entry, &verifier)?;
        ensure!(receipt.index == write.seq);
        if !concurrent {
            // Alone in its batch: its checkpoint is exactly the tree up to it.
            ensure!(
                cp.size == write.seq + 1,
                "sequential write {}: receipt at size {}",
                write.seq,
                cp.size
            );
        }
        ensure!(
            cp.root == tree.roots[cp.size as usize],
            "checkpoint {} root",
            cp.size
        );
        match checkpoints.get(&cp.size) {
            Some((note, _)) => ensure!(
                *note == receipt.checkpoint_note,
                "two notes for size {}",
                cp.size
            ),
            None => {
                checkpoints.insert(cp.size, (receipt.checkpoint_note.clone(), cp));
            }
        }
        receipts.push(receipt_item(entry, &write.receipt));
    }
    ensure!(
        checkpoints.len() >= 11,
        "only {} stored checkpoints",
        checkpoints.len()
    );

    // Inclusion proofs at the latest size and at every older stored size.
    let mut leaves = Vec::new();
    for (&size, (note, cp)) in &checkpoints {
        for seq in 0..size {
            let text = service
                .get_text(&format!("/v1/entries/{seq}/proof?size={size}"))
                .await?;
            let receipt = Receipt::parse(&text)?;
            ensure!(receipt.index == seq && receipt.checkpoint_note == *note);
            let entry = tree.entry(seq);
            receipt.verify(entry, &verifier)?;
            ensure!(
                receipt.proof == tree.inclusion(size, seq),
                "proof {seq}@{size} differs from ours"
            );
            let item = leaf_item(seq, entry, &receipt.proof);
            leaves.push(if size == n {
                item
            } else {
                at_tree(item, size, &cp.root)
            });
            receipts.push(receipt_item(entry, &text));
        }
    }
    for seq in 0..n {
        let text = service
            .get_text(&format!("/v1/entries/{seq}/proof"))
            .await?;
        ensure!(Receipt::parse(&text)?.checkpoint_note == latest_note);
        receipts.push(receipt_item(tree.entry(seq), &text));
    }

    // Consistency proofs between every pair of stored sizes, and from every size to the
    // latest (only `to` must be a stored size); old roots of unstored sizes are ours.
    let mut consistency = Vec::new();
    let mut pairs: BTreeSet<(u64, u64)> = BTreeSet::new();
    for &a in checkpoints.keys() {
        for &b in checkpoints.range(a..).map(|(b, _)| b) {
            pairs.insert((a, b));
        }
    }
    pairs.extend((1..=n).map(|a| (a, n)));
    for (a, b) in pairs {
        let response: ConsistencyResponse = serde_json::from_slice(
            &service
                .get(&format!("/v1/proofs/consistency?from={a}&to={b}"))
                .await?,
        )?;
        ensure!(response.from == a && response.to == b);
        let proof = response
            .hashes
            .iter()
            .map(|h| Hash::from_base64(h))
            .collect::<Result<Vec<_>, _>>()?;
        ensure!(
            proof == tree.consistency(a, b),
            "consistency {a}->{b} differs from ours"
        );
        let (old_root, new_root) = (tree.roots[a as usize], tree.roots[b as usize]);
        verify_consistency(&proof, a, &old_root, b, &new_root)?;
        let item = consistency_item(a, &old_root, &proof);
        consistency.push(if b == n {
            item
        } else {
            at_tree(item, b, &new_root)
        });
    }
    let from_zero: ConsistencyResponse = serde_json::from_slice(
        &service
            .get(&format!("/v1/proofs/consistency?from=0&to={n}"))
            .await?,
    )?;
    ensure!(
        from_zero.hashes.is_empty(),
        "a proof from the empty tree is empty"
    );

    // Tampered copies of what the service handed out.
    let (_, first) = &writes[3];
    let mut bad_receipt = Receipt::parse(&first.receipt)?;
    bad_receipt.proof[0] = flip(&bad_receipt.proof[0]);
    let flipped = bad_receipt.format();
    let entry3 = first.entry.get().as_bytes();
    let entry4 = writes[4].1.entry.get().as_bytes();
    for (entry, text) in [(entry3, &flipped), (entry4, &first.receipt)] {
        if !receipt_rejected(text, entry, &verifier) {
            bail!("we accept a tampered service receipt");
        }
    }
    let (&oldest, (oldest_note, _)) = checkpoints.iter().next().unwrap();
    ensure!(oldest < n);
    let old_root = tree.roots[1];
    let cproof = tree.consistency(1, n);
    ensure!(verify_consistency(&cproof, 1, &flip(&old_root), n, &latest.root).is_err());

    let input = json!({
        "verifier_key": verifier_key,
        "checkpoint_note": latest_note,
        "origin": origin,
        "tree_size": n,
        "root": latest.root.to_base64(),
        "leaves": leaves,
        "consistency": consistency,
        "receipts": receipts,
        "expect_fail": {
            "bad_inclusion": [],
            "bad_consistency": [consistency_item(1, &flip(&old_root), &cproof)],
            "bad_receipts": [receipt_item(entry3, &flipped), receipt_item(entry4, &first.receipt)],
            "bad_checkpoint_notes": [oldest_note],
        },
    });
    let checks = go_verify(tool, &input, "running service");
    note!(
        "service: {} stored checkpoints, {} leaves, {} consistency proofs, {} receipts; \
         {checks} Go checks passed",
        checkpoints.len(),
        array_len(&input, "leaves"),
        array_len(&input, "consistency"),
        array_len(&input, "receipts"),
    );
    Ok(())
}
