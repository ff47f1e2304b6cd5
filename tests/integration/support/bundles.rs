//! Export bundles on disk, as the offline verifier reads them, and as a forger edits them.

use std::path::Path;

use serde_json::Value;

/// A bundle in memory: file name → bytes.
pub type Bundle = std::collections::BTreeMap<String, Vec<u8>>;

pub fn read_bundle(dir: &Path) -> Bundle {
    let mut bundle = Bundle::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        bundle.insert(
            entry.file_name().into_string().unwrap(),
            std::fs::read(entry.path()).unwrap(),
        );
    }
    bundle
}

pub fn write_bundle(dir: &Path, bundle: &Bundle) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in bundle {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// `datapackage.json` with `bytes` and `hash` of every listed file recomputed from the
/// bundle's current files, formatted as the exporter formats it (as a forger who edits
/// files would write it).
pub fn rehashed_datapackage(bundle: &Bundle) -> Vec<u8> {
    use pennytrail_bundle::DATAPACKAGE_FILE;
    let mut package: Value = serde_json::from_slice(&bundle[DATAPACKAGE_FILE]).unwrap();
    for resource in package["resources"].as_array_mut().unwrap() {
        let path = resource["path"].as_str().unwrap().to_string();
        let bytes = &bundle[&path];
        resource["bytes"] = serde_json::json!(bytes.len());
        resource["hash"] = serde_json::json!(format!(
            "sha256:{}",
            pennytrail::log::hash::sha256(bytes).to_hex()
        ));
    }
    let mut text = serde_json::to_string_pretty(&package).unwrap();
    text.push('\n');
    text.into_bytes()
}
