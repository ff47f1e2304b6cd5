//! The log as C2SP tiles: `/log/checkpoint` and `/log/tile/…` as tlog-tiles says (cache
//! headers, partial tiles, 404 beyond the checkpoint, 400 for a malformed path, gzip
//! bundles), read by Go's golang.org/x/mod/sumdb/tlog through a TileReader of our own,
//! from the service and from a static copy (`pennytrail tiles sync`) served by
//! `python3 -m http.server`, which answers every path with the service's bytes. The copy
//! grows incrementally, never rewrites a full tile, and refuses another log's history.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::{Value, json};

use crate::interop::tlogcheck;
use crate::support::{Backend, TestApp, pennytrail_test};

const ORG: &str = "tiles-org";

/// Grows a log to exact sizes: an org (1 entry), a beneficiary and a campaign (2 more),
/// then batches of donations.
struct Grower {
    token: String,
    campaign: bool,
    next_id: usize,
}

impl Grower {
    async fn start(app: &TestApp) -> Grower {
        let token = app.new_org(ORG).await;
        assert_eq!(app.log_size().await, 1);
        Grower {
            token,
            campaign: false,
            next_id: 0,
        }
    }

    async fn grow_to(&mut self, app: &TestApp, size: u64) {
        let mut now = app.log_size().await;
        if !self.campaign && now < size {
            assert!(size >= now + 2, "the campaign takes two entries");
            let org = crate::support::Org {
                id: ORG.into(),
                token: self.token.clone(),
            };
            app.post_beneficiary(&org, "school", "organization").await;
            app.post_campaign(&org, "meals", "EUR", &["school"]).await;
            self.campaign = true;
            now += 2;
        }
        while now < size {
            let count = (size - now).min(1000) as usize;
            let items: Vec<Value> = (0..count)
                .map(|i| {
                    json!({"id": format!("t{}", self.next_id + i), "campaign": "meals",
                        "amount": 50, "fee": 1, "channel": "sms"})
                })
                .collect();
            self.next_id += count;
            app.org_create(
                &self.token,
                ORG,
                "/donations/batch",
                &json!({"donations": items}),
            )
            .await;
            now += count as u64;
        }
        assert_eq!(app.log_size().await, size);
    }
}

/// Runs the real binary; returns (success, stdout, stderr).
fn pennytrail(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"))
        .args(args)
        .output()
        .expect("run pennytrail");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn sync(args: Vec<String>) -> (bool, String, String) {
    tokio::task::spawn_blocking(move || {
        let mut all = vec!["tiles".to_string(), "sync".to_string()];
        all.extend(args);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        pennytrail(&refs)
    })
    .await
    .unwrap()
}

/// `pennytrail tiles sync --out DIR --url BASE --key KEY`, which must succeed.
async fn sync_url(app: &TestApp, out: &Path) -> String {
    let (ok, stdout, stderr) = sync_over_http(out, &app.base, &app.verifier.to_text()).await;
    assert!(ok, "tiles sync failed:\n{stdout}\n{stderr}");
    stdout
}

/// `pennytrail tiles sync --out DIR --url BASE --key KEY`, whatever it answers.
async fn sync_over_http(out: &Path, base: &str, key: &str) -> (bool, String, String) {
    sync(vec![
        "--out".into(),
        out.display().to_string(),
        "--url".into(),
        base.to_string(),
        "--key".into(),
        key.to_string(),
    ])
    .await
}

/// `pennytrail tiles sync` straight from the app's database.
async fn sync_store(app: &TestApp, out: &Path) -> String {
    let mut args = vec!["--out".into(), out.display().to_string()];
    match &app.db {
        Some(db) => args.extend(["--database-url".into(), db.url.clone()]),
        None => args.extend([
            "--data-dir".into(),
            app.data_dir.path().display().to_string(),
        ]),
    }
    let (ok, stdout, stderr) = sync(args).await;
    assert!(ok, "tiles sync failed:\n{stdout}\n{stderr}");
    stdout
}

/// `python3 -m http.server` serving a folder, stopped on drop.
struct StaticServer {
    child: std::process::Child,
    url: String,
}

impl StaticServer {
    async fn start(dir: &Path) -> StaticServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .arg("--directory")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server (python3 is on every machine of this project)");
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if reqwest::get(format!("{url}/checkpoint")).await.is_ok() {
                return StaticServer { child, url };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
        panic!("python3 -m http.server did not start on {url}");
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `tlogcheck tiles PREFIX KEY [OLD]`: Go's tlog reads and checks every tile and bundle.
async fn go_tiles(prefix: &str, key: &str, old: Option<&Path>) -> String {
    let mut command = tokio::process::Command::new(tlogcheck());
    command.args(["tiles", prefix, key]);
    if let Some(old) = old {
        command.arg(old);
    }
    let out = command.output().await.expect("run tlogcheck");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "Go refused {prefix}:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Every file of a copy, by its path below the folder (the sync's own files aside).
fn copy_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(root).unwrap().display().to_string();
            if name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                files.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

async fn get_bytes(client: &reqwest::Client, url: &str) -> (u16, Vec<u8>) {
    let response = client.get(url).send().await.expect("GET");
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

/// Every path of the copy, from the static server and from the service: the same bytes.
async fn same_bytes_everywhere(app: &TestApp, copy: &Path, server: &StaticServer) -> usize {
    let files = copy_files(copy);
    for (path, bytes) in &files {
        let (status, served) = get_bytes(&app.client, &format!("{}/log/{path}", app.base)).await;
        assert_eq!(status, 200, "{path} from the service");
        assert!(
            served == *bytes,
            "{path}: the copy's file differs from the service's answer"
        );
        let (status, hosted) = get_bytes(&app.client, &format!("{}/{path}", server.url)).await;
        assert_eq!(status, 200, "{path} from python3 -m http.server");
        assert!(
            hosted == served,
            "{path}: the static host's bytes differ from the service's"
        );
    }
    files.len()
}

#[pennytrail_test(go, both_backends)]
async fn go_reads_the_service_and_its_static_copy(app: TestApp) {
    let work = tempfile::tempdir().unwrap();
    let copy = work.path().join("copy");
    let from_store = work.path().join("from-store");
    let mut grower = Grower::start(&app).await;
    let mut previous: Option<PathBuf> = None;
    for (step, size) in [1u64, 255, 256, 257, 65_536, 70_000]
        .into_iter()
        .enumerate()
    {
        grower.grow_to(&app, size).await;
        let key = app.verifier.to_text();
        let served = go_tiles(&format!("{}/log", app.base), &key, previous.as_deref()).await;
        assert!(served.contains(&format!(" size={size} ")), "{served}");
        assert!(served.contains(&format!(" entries={size} ")), "{served}");

        sync_url(&app, &copy).await;
        let server = StaticServer::start(&copy).await;
        let hosted = go_tiles(&server.url, &key, previous.as_deref()).await;
        assert!(hosted.contains(&format!(" size={size} ")), "{hosted}");
        let files = same_bytes_everywhere(&app, &copy, &server).await;
        note!("size {size}: Go verified the service and the copy; {files} files identical");

        // The copy made from the database is the same copy.
        sync_store(&app, &from_store).await;
        assert!(
            copy_files(&from_store) == copy_files(&copy),
            "the copies differ at {size}"
        );

        let note = work.path().join(format!("checkpoint-{step}"));
        std::fs::write(&note, app.get("/log/checkpoint").await.body).unwrap();
        previous = Some(note);
    }
    app.finish().await;
}

#[pennytrail_test(both_backends)]
async fn tile_answers_follow_the_spec(app: TestApp) {
    let mut grower = Grower::start(&app).await;
    grower.grow_to(&app, 300).await;
    let client = &app.client;
    let get = |path: &str, gzip: bool| {
        let mut request = client.get(format!("{}{path}", app.base));
        if gzip {
            request = request.header("accept-encoding", "gzip, identity");
        }
        request.send()
    };

    // The checkpoint: the same note as /v1/checkpoint, cached for seconds only.
    let response = get("/log/checkpoint", false).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=2");
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(response.text().await.unwrap(), app.checkpoint_note().await);

    // Tiles: immutable, octet-stream, 32 bytes per hash.
    for (path, len) in [
        ("/log/tile/0/000", 8192),
        ("/log/tile/0/001.p/44", 44 * 32),
        ("/log/tile/1/000.p/1", 32),
    ] {
        let response = get(path, false).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            response.headers()["content-type"],
            "application/octet-stream"
        );
        assert_eq!(response.bytes().await.unwrap().len(), len, "{path}");
    }
    // Level-0 hashes are the entries' leaf hashes, and bundles hold the exact entries.
    let level0 = get("/log/tile/0/001.p/44", false)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let bundle = get("/log/tile/entries/001.p/44", false)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let entries = pennytrail::log::tiles::decode_bundle(&bundle, 44).unwrap();
    for (i, entry) in entries.iter().enumerate() {
        let seq = 256 + i;
        assert_eq!(
            *entry,
            app.get(&format!("/v1/entries/{seq}")).await.body.as_slice()
        );
        assert_eq!(
            pennytrail::log::hash::leaf_hash(entry).0.as_slice(),
            &level0[i * 32..(i + 1) * 32]
        );
    }
    // Gzip when accepted, the same bytes once decompressed.
    let response = get("/log/tile/entries/000", true).await.unwrap();
    assert_eq!(response.headers()["content-encoding"], "gzip");
    assert_eq!(response.headers()["vary"], "Accept-Encoding");
    let compressed = response.bytes().await.unwrap();
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&compressed[..])
        .read_to_end(&mut plain)
        .unwrap();
    let identity = get("/log/tile/entries/000", false).await.unwrap();
    assert!(identity.headers().get("content-encoding").is_none());
    assert_eq!(plain, identity.bytes().await.unwrap().to_vec());
    assert!(compressed.len() * 3 < plain.len(), "bundles compress");
    // Hash tiles are not compressed.
    let response = get("/log/tile/0/000", true).await.unwrap();
    assert!(response.headers().get("content-encoding").is_none());

    // Beyond the checkpoint: 404, whatever the shape.
    for path in [
        "/log/tile/0/001",
        "/log/tile/0/001.p/45",
        "/log/tile/entries/001.p/45",
        "/log/tile/entries/002.p/1",
        "/log/tile/1/000",
        "/log/tile/1/000.p/2",
        "/log/tile/2/000.p/1",
        "/log/tile/63/x018/x446/x744/x073/x709/x551/615",
    ] {
        app.get(path).await.assert_problem(404, None);
    }
    // Malformed: 400 naming the path.
    for path in [
        "/log/tile/0/1",
        "/log/tile/00/000",
        "/log/tile/64/000",
        "/log/tile/0/000.p/0",
        "/log/tile/0/000.p/256",
        "/log/tile/0/x000/001",
        "/log/tile/entries/000.p/",
        "/log/tile/0/000/",
        "/log/tile/x/000",
        "/log/tile/0/%00",
        "/log/tile/entries",
    ] {
        app.get(path).await.assert_problem(400, Some("path"));
    }

    // The pattern /openapi.json promises takes the paths the service serves, and none of
    // those it refuses.
    let spec = app.get_json("/openapi.json").await;
    let pattern = spec["paths"]["/log/tile/{path}"]["get"]["parameters"][0]["schema"]["pattern"]
        .as_str()
        .expect("a pattern for the tile path")
        .to_string();
    let pattern = regex::Regex::new(&pattern).unwrap();
    for tile in pennytrail::log::tiles::tiles_for_size(70_000).chain([
        pennytrail::log::tiles::TileId::full(
            pennytrail::log::tiles::TileKind::Hashes { level: 63 },
            999_999_999_999_999_999,
        ),
    ]) {
        let path = tile.path();
        let below = path.strip_prefix("tile/").unwrap();
        assert!(pattern.is_match(below), "{below}");
    }
    for bad in [
        "0/1",
        "00/000",
        "64/000",
        "0/000.p/0",
        "0/000.p/256",
        "0/x000/001",
        "entries/000.p/",
        "0/000/",
        "x/000",
        "entries",
    ] {
        assert!(!pattern.is_match(bad), "{bad}");
    }

    // The second answer comes from the cache, counted on /metrics.
    let metrics = app.get("/metrics").await.text();
    let hits = |text: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix("pennytrail_tile_cache_hits_total "))
            .unwrap()
            .parse()
            .unwrap()
    };
    let before = hits(&metrics);
    get("/log/tile/0/000", false).await.unwrap();
    assert_eq!(hits(&app.get("/metrics").await.text()), before + 1);
    app.finish().await;
}

/// The files of a copy with their inode numbers and modification times.
fn file_identities(dir: &Path) -> BTreeMap<String, (u64, std::time::SystemTime)> {
    use std::os::unix::fs::MetadataExt as _;
    copy_files(dir)
        .into_keys()
        .map(|name| {
            let meta = std::fs::metadata(dir.join(&name)).unwrap();
            (name, (meta.ino(), meta.modified().unwrap()))
        })
        .collect()
}

#[pennytrail_test]
async fn a_static_copy_grows_and_refuses_another_history() {
    let app = TestApp::start(Backend::Sqlite).await;
    let mut grower = Grower::start(&app).await;
    grower.grow_to(&app, 600).await;
    let work = tempfile::tempdir().unwrap();
    let copy = work.path().join("copy");
    let first = sync_url(&app, &copy).await;
    assert!(first.contains("holds 600 entries"), "{first}");
    let full_before: BTreeMap<_, _> = file_identities(&copy)
        .into_iter()
        .filter(|(name, _)| !name.contains(".p/") && name != "checkpoint")
        .collect();
    assert_eq!(
        full_before.keys().collect::<Vec<_>>(),
        [
            "tile/0/000",
            "tile/0/001",
            "tile/entries/000",
            "tile/entries/001"
        ]
    );

    // Grown: new tiles written, the full ones kept as they were (same inode, same time).
    grower.grow_to(&app, 1500).await;
    let second = sync_url(&app, &copy).await;
    assert!(
        second.contains("now holds 1500 entries (it held 600)"),
        "{second}"
    );
    assert!(second.contains("4 kept"), "{second}");
    let after = file_identities(&copy);
    for (name, identity) in &full_before {
        assert_eq!(after.get(name), Some(identity), "{name} was rewritten");
    }
    assert!(after.contains_key("tile/0/005.p/220"));
    assert!(!copy.join(".staging").exists());
    assert_eq!(
        std::fs::read_to_string(copy.join("checkpoint")).unwrap(),
        app.checkpoint_note().await
    );

    // The monitor reads the copy, through its tiles only.
    let server = StaticServer::start(&copy).await;
    let state = work.path().join("state.json");
    let verify = |prefix: String, state: PathBuf, key: String| async move {
        tokio::task::spawn_blocking(move || {
            pennytrail(&[
                "verify",
                "--tiles",
                &prefix,
                "--key",
                &key,
                "--state",
                &state.display().to_string(),
            ])
        })
        .await
        .unwrap()
    };
    let key = app.verifier.to_text();
    let (ok, stdout, stderr) = verify(server.url.clone(), state.clone(), key.clone()).await;
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("read through: the static tile copy"),
        "{stdout}"
    );

    // A copy with one changed byte in an entry is refused, naming the tile.
    let tampered = work.path().join("tampered");
    std::fs::create_dir(&tampered).unwrap();
    for (name, mut bytes) in copy_files(&copy) {
        if name == "tile/entries/001" {
            let last = bytes.len() - 1;
            bytes[last] ^= 0x01;
        }
        let path = tampered.join(&name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let bad_server = StaticServer::start(&tampered).await;
    let fresh_state = work.path().join("fresh-state.json");
    let (ok, stdout, stderr) =
        verify(bad_server.url.clone(), fresh_state.clone(), key.clone()).await;
    assert!(!ok, "a tampered copy passed: {stdout}");
    assert!(
        stderr.contains("FAILED") && stderr.contains("tile/entries/001"),
        "{stderr}"
    );
    assert!(!fresh_state.exists());

    // A second log under the same key (a fork), larger than the copy: refused, and the
    // folder is as it was.
    let keys = tempfile::tempdir().unwrap();
    let key_copy = keys.path().join("log.key");
    std::fs::copy(app.data_dir.path().join("log.key"), &key_copy).unwrap();
    let fork = TestApp::start_with_key(Backend::Sqlite, Some(key_copy)).await;
    assert_eq!(fork.verifier, app.verifier);
    let mut fork_grower = Grower::start(&fork).await;
    fork_grower.grow_to(&fork, 1800).await;
    let before = copy_files(&copy);
    let (ok, stdout, stderr) = sync_over_http(&copy, &fork.base, &key).await;
    assert!(!ok, "a fork was synced: {stdout}");
    assert!(stderr.contains("REFUSED"), "{stderr}");
    assert!(
        copy_files(&copy) == before,
        "a refused sync changed the copy"
    );
    assert!(!copy.join(".staging").exists());

    // Smaller than the copy: a rollback, refused.
    let small = TestApp::start_with_key(Backend::Sqlite, {
        let key_copy = keys.path().join("log2.key");
        std::fs::copy(app.data_dir.path().join("log.key"), &key_copy).unwrap();
        Some(key_copy)
    })
    .await;
    Grower::start(&small).await;
    let (ok, _, stderr) = sync_over_http(&copy, &small.base, &key).await;
    assert!(!ok && stderr.contains("rollback"), "{stderr}");

    // Another log's key: its checkpoint does not verify with the pinned key; and the
    // folder, made for the first log, refuses the other log's key.
    let other = TestApp::start(Backend::Sqlite).await;
    Grower::start(&other).await;
    let (ok, _, stderr) = sync_over_http(&copy, &other.base, &key).await;
    assert!(
        !ok && stderr.contains("does not verify with the key"),
        "{stderr}"
    );
    let (ok, _, stderr) = sync_over_http(&copy, &other.base, &other.verifier.to_text()).await;
    assert!(!ok && stderr.contains("another log's copy"), "{stderr}");
    assert!(copy_files(&copy) == before);

    for app in [other, small, fork, app] {
        app.finish().await;
    }
}
