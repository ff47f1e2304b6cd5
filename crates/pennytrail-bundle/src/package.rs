//! `datapackage.json` (Frictionless Data Package: a Table Schema per CSV with types,
//! primary and foreign keys, and each file's SHA-256 and byte count) and the bundle's
//! README.

use std::fs;
use std::path::Path;

use anyhow::Context as _;
use serde_json::{Value, json};

use super::tables::{TABLES, Table};
use super::{BundleFormat, CHECKPOINT_FILE, DATAPACKAGE_FILE, README_FILE};
use pennytrail_log::checkpoint::Checkpoint;
use pennytrail_log::hash::Hash;

/// The Table Schema of one of the bundle's CSVs: its columns' types, its primary and
/// foreign keys, from its description in [`crate::tables`].
pub fn schema(table: &Table, format: BundleFormat) -> Value {
    let fields: Vec<Value> = table
        .columns_in(format)
        .map(|c| json!({"name": c.name, "type": if c.integer { "integer" } else { "string" }}))
        .collect();
    let mut schema =
        json!({"fields": fields, "primaryKey": table.primary_key, "missingValues": [""]});
    if !table.foreign_keys.is_empty() {
        let foreign: Vec<Value> = table
            .foreign_keys
            .iter()
            .map(|fk| {
                json!({"fields": fk.fields, "reference": {"resource": fk.table, "fields": fk.reference}})
            })
            .collect();
        schema["foreignKeys"] = Value::Array(foreign);
    }
    schema
}

/// Size and SHA-256 of a file, streamed (bundles of millions of entries are gigabytes).
pub fn file_digest(path: &Path) -> std::io::Result<(u64, Hash)> {
    use sha2::Digest as _;
    use std::io::Read as _;
    let mut file = fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    let digest = hasher.finalize();
    Ok((
        total,
        Hash::from_slice(digest.as_slice()).expect("SHA-256 is 32 bytes"),
    ))
}

fn resource(
    digest: &mut impl FnMut(&str) -> anyhow::Result<(u64, Hash)>,
    path: &str,
) -> anyhow::Result<Value> {
    let (bytes, hash) = digest(path).with_context(|| format!("reading {path}"))?;
    Ok(json!({
        "name": path.split('.').next().unwrap_or(path).replace('_', "-").to_lowercase(),
        "path": path,
        "bytes": bytes,
        "hash": format!("sha256:{}", hash.to_hex()),
    }))
}

/// Builds `datapackage.json` of a bundle of `format` from the size and SHA-256 of each
/// file, which `digest` gives by file name.
pub fn datapackage(
    format: BundleFormat,
    mut digest: impl FnMut(&str) -> anyhow::Result<(u64, Hash)>,
    origin: &str,
    verifier_key: &str,
    checkpoint: &Checkpoint,
) -> anyhow::Result<Value> {
    let mut resources = Vec::new();
    for table in &TABLES {
        let mut r = resource(&mut digest, table.file)?;
        r["profile"] = json!("tabular-data-resource");
        r["format"] = json!("csv");
        r["mediatype"] = json!("text/csv");
        r["encoding"] = json!("utf-8");
        r["dialect"] = json!({"delimiter": ",", "lineTerminator": "\n", "quoteChar": "\"", "doubleQuote": true, "header": true});
        r["schema"] = schema(table, format);
        resources.push(r);
    }
    for (file, media) in [(CHECKPOINT_FILE, "text/plain"), (README_FILE, "text/plain")] {
        let mut r = resource(&mut digest, file)?;
        r["mediatype"] = json!(media);
        r["format"] = json!("txt");
        resources.push(r);
    }
    let mut package = json!({
        "profile": "data-package",
        "name": super::default_name(origin, checkpoint.size).to_lowercase().replace('_', "-"),
        "title": format!("pennytrail log {origin}, {} entries", checkpoint.size),
        "description": "Every entry of a pennytrail log with its exact bytes and hashes, the records derived from them, and the signed checkpoint. Verify with: pennytrail verify <this folder> --key <verifier key>",
        "pennytrail": {
            "origin": origin,
            "size": checkpoint.size,
            "root": checkpoint.root.to_base64(),
            "verifier_key": verifier_key,
        },
        "resources": resources,
    });
    if format.is_named() {
        package["bundle_format"] = json!(format.number());
    }
    Ok(package)
}

/// Writes `datapackage.json` of a bundle of `format` into `dir`, from its files.
pub fn write_datapackage(
    dir: &Path,
    format: BundleFormat,
    origin: &str,
    verifier_key: &str,
    checkpoint: &Checkpoint,
) -> anyhow::Result<()> {
    let package = datapackage(
        format,
        |file| Ok(file_digest(&dir.join(file))?),
        origin,
        verifier_key,
        checkpoint,
    )?;
    let mut text = serde_json::to_string_pretty(&package)?;
    text.push('\n');
    fs::write(dir.join(DATAPACKAGE_FILE), text)
        .with_context(|| format!("writing {DATAPACKAGE_FILE}"))
}

/// The README of a bundle of `format`: what it is, what each file holds and how to
/// check it.
pub fn readme(format: BundleFormat, origin: &str, verifier_key: &str, size: u64) -> String {
    if !format.is_named() {
        return readme_v1(origin, verifier_key, size);
    }
    let number = format.number();
    let caps = if format >= BundleFormat::V3 {
        "campaigns.csv carries the caps a campaign published on payouts to each person\n\
         (max_per_person_per_day, max_per_person_per_month in minor units,\n\
         max_payouts_per_person_per_day; empty when none), counted per UTC day and month of a\n\
         payout's occurred_at (disbursements.csv) or else its time.\n"
    } else {
        ""
    };
    let files = if format >= BundleFormat::V4 {
        files_of(format)
    } else {
        "- entries.csv: every entry, with its exact bytes (column entry), leaf hash and prev hash.\n\
         - orgs.csv, beneficiaries.csv, campaigns.csv, stated_beneficiaries.csv, donations.csv,\n\
           disbursements.csv, corrections.csv: the records, one row each, derived from the entries.\n\
         - flows.csv: which donation paid how much of which disbursement (FIFO per campaign).\n\
         - org_keys.csv, acknowledgements.csv, reports.csv, report_figures.csv: the charities'\n\
           keys, the beneficiaries' signed acknowledgements and disputes, and the charities'\n\
           signed reports with every figure.\n"
            .to_string()
    };
    let corrections = if format >= BundleFormat::V4 {
        "Entries are never changed: a correction is a later entry. Each column X a correction\n\
         may change has X_effective beside it: the text as the corrections in this bundle leave\n\
         it (equal to X when uncorrected); X is what the entry first said.\n"
    } else {
        ""
    };
    format!(
        "pennytrail export bundle\n\
         ========================\n\n\
         Log: {origin}\n\
         Entries: {size}\n\
         Bundle format: {number}\n\
         Log verifier key (as served by the log; compare it with the key the charity\n\
         publishes on its own site before trusting it):\n  {verifier_key}\n\n\
         Files\n\
         {files}\
         - checkpoint.txt: the log's signed checkpoint (C2SP signed note) for these entries.\n\
         - datapackage.json: column types, keys, the bundle format, and the SHA-256 and size of\n\
           every file.\n\n\
         Money columns are integers in the currency's minor units (cents for EUR).\n\
         {caps}\
         {corrections}\
         Text cells starting with = + - @ tab CR or ' carry one extra leading ' so spreadsheets\n\
         do not run them as formulas; remove that one character to get the original text.\n\n\
         Verify\n  pennytrail-verify bundle <this folder> --key '<verifier key you trust>' [--min-size N]\n\
         (or: pennytrail verify <this folder> --key ...)\n\
         It re-derives every file from entries.csv, checks every hash, the chain, the Merkle\n\
         root against the signed checkpoint, every money rule and every signature, and names\n\
         the first fault.\n"
    )
}

/// The README's list of the CSVs (format 4 on): each file, what it holds and its columns,
/// from the one description of the tables.
fn files_of(format: BundleFormat) -> String {
    let mut out = String::new();
    for table in &TABLES {
        let columns: Vec<&str> = table.columns_in(format).map(|c| c.name).collect();
        out.push_str(&format!(
            "- {}: {}.\n  Columns: {}.\n",
            table.file,
            table.about,
            columns.join(", ")
        ));
    }
    out
}

/// Format 1's README, kept byte for byte so that bundles of that format still verify.
fn readme_v1(origin: &str, verifier_key: &str, size: u64) -> String {
    format!(
        "pennytrail export bundle\n\
         ========================\n\n\
         Log: {origin}\n\
         Entries: {size}\n\
         Log verifier key (as served by the log; compare it with the key the charity\n\
         publishes on its own site before trusting it):\n  {verifier_key}\n\n\
         Files\n\
         - entries.csv: every entry, with its exact bytes (column entry), leaf hash and prev hash.\n\
         - orgs.csv, beneficiaries.csv, campaigns.csv, stated_beneficiaries.csv, donations.csv,\n\
           disbursements.csv, corrections.csv: the records, one row each, derived from the entries.\n\
         - flows.csv: which donation paid how much of which disbursement (FIFO per campaign).\n\
         - checkpoint.txt: the log's signed checkpoint (C2SP signed note) for these entries.\n\
         - datapackage.json: column types, keys, and the SHA-256 and size of every file.\n\n\
         Money columns are integers in the currency's minor units (cents for EUR).\n\
         Text cells starting with = + - @ tab CR or ' carry one extra leading ' so spreadsheets\n\
         do not run them as formulas; remove that one character to get the original text.\n\n\
         Verify\n  pennytrail verify <this folder> --key '<verifier key you trust>' [--min-size N]\n\
         It re-derives every file from entries.csv, checks every hash, the chain, the Merkle\n\
         root against the signed checkpoint, and every money rule, and names the first fault.\n"
    )
}
