//! The verifier reaches a log over HTTPS, trusting the system's roots (here a test CA
//! given with `SSL_CERT_FILE`, as an operator of a private CA would), and refuses plain
//! HTTP to anything but this machine.
//!
//! The log is the sample bundle's (`exports/sample`), served by a small TLS server in
//! this file with the three routes the monitor reads; the binary under test is the real
//! `pennytrail-verify`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// The sample bundle and the key it verifies with.
fn sample() -> (PathBuf, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../exports");
    let key = std::fs::read_to_string(root.join("sample.key")).unwrap();
    (root.join("sample"), key.trim().to_string())
}

/// The sample log as a live instance would serve it.
struct SampleLog {
    checkpoint: String,
    entries: Vec<String>,
}

impl SampleLog {
    fn load(dir: &Path) -> SampleLog {
        let checkpoint = std::fs::read_to_string(dir.join("checkpoint.txt")).unwrap();
        let mut csv = csv::Reader::from_path(dir.join("entries.csv")).unwrap();
        let column = csv
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "entry")
            .unwrap();
        let entries = csv
            .records()
            .map(|r| r.unwrap()[column].to_string())
            .collect();
        SampleLog {
            checkpoint,
            entries,
        }
    }

    /// Status and body for a request target.
    fn answer(&self, target: &str) -> (u16, String) {
        if target == "/v1/checkpoint" {
            return (200, self.checkpoint.clone());
        }
        if let Some(query) = target.strip_prefix("/v1/entries?") {
            let number = |name: &str| -> usize {
                query
                    .split('&')
                    .find_map(|p| p.strip_prefix(&format!("{name}=")))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            let from = number("from").min(self.entries.len());
            let to = (from + number("limit")).min(self.entries.len());
            let mut body = String::new();
            for entry in &self.entries[from..to] {
                body.push_str(entry);
                body.push('\n');
            }
            return (200, body);
        }
        (404, "{\"detail\":\"no such route\"}".to_string())
    }
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, written as PEM to `dir`.
fn certificate(dir: &Path) -> (rcgen::CertifiedKey<rcgen::KeyPair>, PathBuf) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let pem = dir.join("test-ca.pem");
    std::fs::write(&pem, certified.cert.pem()).unwrap();
    (certified, pem)
}

/// Serves `log` over TLS on a port of its own, one request per connection; returns the
/// port.
fn serve_tls(log: SampleLog, certified: &rcgen::CertifiedKey<rcgen::KeyPair>) -> u16 {
    // ring, the provider ureq uses. rustls deprecates ring's provider only for lacking
    // post-quantum key exchange, which a loopback test does not need; naming it here keeps
    // the server independent of which providers the rest of the workspace turns on.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![certified.cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into()),
        )
        .unwrap();
    let config = Arc::new(config);
    let log = Arc::new(log);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let (config, log) = (config.clone(), log.clone());
            std::thread::spawn(move || {
                // A client that gives up on the certificate ends the connection: not a fault.
                let _ = handle(stream.unwrap(), config, &log);
            });
        }
    });
    port
}

fn handle(
    stream: TcpStream,
    config: Arc<rustls::ServerConfig>,
    log: &SampleLog,
) -> std::io::Result<()> {
    let connection = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(connection, stream);
    let mut request_line = String::new();
    {
        let mut reader = BufReader::new(&mut tls);
        reader.read_line(&mut request_line)?;
        let mut header = String::new();
        while reader.read_line(&mut header)? > 2 {
            header.clear();
        }
    }
    let target = request_line.split(' ').nth(1).unwrap_or("");
    let (status, body) = log.answer(target);
    write!(
        tls,
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    tls.conn.send_close_notify();
    tls.flush()
}

/// Runs `pennytrail-verify` with `args`, trusting only `ca` (as `SSL_CERT_FILE`);
/// returns (success, stdout, stderr).
fn verify(args: &[&str], ca: &Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pennytrail-verify"))
        .args(args)
        .env("SSL_CERT_FILE", ca)
        .env_remove("SSL_CERT_DIR")
        .output()
        .expect("run pennytrail-verify");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_log_served_over_https_verifies_as_its_bundle_does() {
    let (bundle, key) = sample();
    let dir = tempfile::tempdir().unwrap();
    let (certified, ca) = certificate(dir.path());
    let port = serve_tls(SampleLog::load(&bundle), &certified);
    let state = dir.path().join("state.json");
    let state_arg = state.to_str().unwrap();

    let (ok, offline, stderr) = verify(&["bundle", bundle.to_str().unwrap(), "--key", &key], &ca);
    assert!(ok, "{offline}{stderr}");

    for host in ["localhost", "127.0.0.1"] {
        let url = format!("https://{host}:{port}");
        let _ = std::fs::remove_file(&state);
        let (ok, live, stderr) = verify(&["url", &url, "--key", &key, "--state", state_arg], &ca);
        assert!(ok, "{url}: {live}{stderr}");
        // The same report as the bundle's, then the monitor's line.
        assert!(
            live.starts_with(&offline),
            "live:\n{live}\noffline:\n{offline}"
        );
        assert!(live.contains("first run"), "{live}");
        let (ok, again, stderr) = verify(&["url", &url, "--key", &key, "--state", state_arg], &ca);
        assert!(ok, "{again}{stderr}");
        assert!(again.contains("unchanged since the last run"), "{again}");
    }

    // A certificate no trusted root vouches for is refused, and named as the reason.
    let other = tempfile::tempdir().unwrap();
    let (_, other_ca) = certificate(other.path());
    let _ = std::fs::remove_file(&state);
    let url = format!("https://localhost:{port}");
    let (ok, stdout, stderr) = verify(
        &["url", &url, "--key", &key, "--state", state_arg],
        &other_ca,
    );
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains(&format!("error: FAILED: {url}/log/checkpoint: ")),
        "{stderr}"
    );
    assert!(stderr.contains("invalid peer certificate"), "{stderr}");
    assert!(!state.exists(), "a failed run writes no state");
}

#[test]
fn plain_http_is_only_for_this_machine() {
    let (_, key) = sample();
    let dir = tempfile::tempdir().unwrap();
    let (_, ca) = certificate(dir.path());
    let state = dir.path().join("state.json");
    for url in [
        "http://example.org",
        "http://192.0.2.7:8080",
        "ftp://example.org",
    ] {
        let (ok, _, stderr) = verify(
            &[
                "url",
                url,
                "--key",
                &key,
                "--state",
                state.to_str().unwrap(),
            ],
            &ca,
        );
        assert!(!ok, "{url}");
        assert!(
            stderr.contains(&format!("--url {url:?}")),
            "{url}: {stderr}"
        );
    }
    let (_, _, stderr) = verify(
        &[
            "url",
            "http://example.org",
            "--key",
            &key,
            "--state",
            "s.json",
        ],
        &ca,
    );
    assert!(stderr.contains("use https://example.org"), "{stderr}");
}
