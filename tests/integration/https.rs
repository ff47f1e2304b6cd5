//! Every command that takes `--url` speaks HTTPS (rustls, the system's roots; here a test
//! CA given with `SSL_CERT_FILE`), and plain HTTP only to this machine. The service under
//! test sits behind a TLS-terminating proxy written here, as a deployment behind a
//! reverse proxy would; the commands are the real `pennytrail` binary.

use crate::support::{Backend, TestApp, pennytrail_test};
use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};

/// A self-signed certificate for `localhost` and `127.0.0.1`, its PEM written to `dir`.
fn certificate(dir: &Path) -> (rcgen::CertifiedKey<rcgen::KeyPair>, std::path::PathBuf) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let pem = dir.join("test-ca.pem");
    std::fs::write(&pem, certified.cert.pem()).unwrap();
    (certified, pem)
}

/// Terminates TLS on a port of its own and forwards each connection to `backend`
/// (host:port); returns the port.
async fn tls_proxy(certified: &rcgen::CertifiedKey<rcgen::KeyPair>, backend: String) -> u16 {
    // aws-lc-rs, the provider the service's HTTPS client uses, named explicitly: with
    // more than one provider built in, rustls does not pick one by itself.
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![certified.cert.der().clone()],
            tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(
                certified.signing_key.serialize_der().into(),
            ),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, backend) = (acceptor.clone(), backend.clone());
            tokio::spawn(async move {
                // A client that refuses the certificate just ends the connection.
                let Ok(mut tls) = acceptor.accept(client).await else {
                    return;
                };
                let Ok(mut plain) = TcpStream::connect(&backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

/// Runs the `pennytrail` binary with `args`, trusting only `ca`; returns (success,
/// stdout, stderr).
async fn pennytrail(args: &[&str], ca: &Path) -> (bool, String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"))
        .args(args)
        .env("SSL_CERT_FILE", ca)
        .env_remove("SSL_CERT_DIR")
        .output()
        .await
        .expect("run pennytrail");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[pennytrail_test]
async fn commands_reach_a_service_over_https() {
    let app = TestApp::start(Backend::Sqlite).await;
    let token = app.new_org("helping-hands").await;
    app.org_create(
        &token,
        "helping-hands",
        "/beneficiaries",
        &json!({"id": "kitchen", "label": "Kitchen", "kind": "organization", "country": "DE"}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (certified, ca) = certificate(dir.path());
    let port = tls_proxy(
        &certified,
        app.base.trim_start_matches("http://").to_string(),
    )
    .await;
    let url = format!("https://localhost:{port}");
    let key = app.verifier.to_text();

    // The bundle, downloaded over HTTPS (the async client) and verified offline.
    let bundle = dir.path().join("bundle");
    let (ok, stdout, stderr) = pennytrail(
        &["export", "--url", &url, "--out", bundle.to_str().unwrap()],
        &ca,
    )
    .await;
    assert!(ok, "{stdout}{stderr}");
    let (ok, offline, stderr) =
        pennytrail(&["verify", bundle.to_str().unwrap(), "--key", &key], &ca).await;
    assert!(ok, "{offline}{stderr}");

    // The monitor over HTTPS (the verifier's blocking client) says the same.
    let state = dir.path().join("state.json");
    let (ok, live, stderr) = pennytrail(
        &[
            "verify",
            "--url",
            &url,
            "--key",
            &key,
            "--state",
            state.to_str().unwrap(),
        ],
        &ca,
    )
    .await;
    assert!(ok, "{live}{stderr}");
    assert!(
        live.starts_with(&offline),
        "live:\n{live}\noffline:\n{offline}"
    );

    // A report draft fetches its figures over HTTPS.
    let draft = dir.path().join("draft.json");
    let (ok, stdout, stderr) = pennytrail(
        &[
            "report",
            "draft",
            "--url",
            &url,
            "--org",
            "helping-hands",
            "--id",
            "r1",
            "--out",
            draft.to_str().unwrap(),
        ],
        &ca,
    )
    .await;
    assert!(ok, "{stdout}{stderr}");
    assert!(draft.exists());

    // A certificate no trusted root vouches for is refused.
    let other = tempfile::tempdir().unwrap();
    let (_, other_ca) = certificate(other.path());
    let (ok, _, stderr) = pennytrail(
        &[
            "export",
            "--url",
            &url,
            "--out",
            dir.path().join("x").to_str().unwrap(),
        ],
        &other_ca,
    )
    .await;
    assert!(!ok);
    assert!(stderr.contains("certificate"), "{stderr}");
    app.finish().await;
}

#[pennytrail_test]
async fn plain_http_goes_only_to_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    let (_, ca) = certificate(dir.path());
    let token = dir.path().join("token");
    std::fs::write(&token, "pt_x").unwrap();
    let token = token.to_str().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let signer = pennytrail::log::note::NoteSigner::from_seed("example.org/log", [1; 32]).unwrap();
    let key = signer.verifier().to_text();
    for args in [
        vec!["export", "--url", "http://example.org", "--out", out],
        vec!["demo", "--url", "http://example.org", "--token-file", token],
        vec![
            "loadgen",
            "--url",
            "http://example.org",
            "--token-file",
            token,
        ],
        vec!["publish", "d.json", "--url", "http://example.org"],
        vec![
            "report",
            "draft",
            "--url",
            "http://example.org",
            "--org",
            "o",
            "--id",
            "r",
            "--out",
            out,
        ],
        vec![
            "ack",
            "draft",
            "--url",
            "http://example.org",
            "--org",
            "o",
            "--disbursement",
            "d",
            "--status",
            "received",
            "--out",
            out,
        ],
        vec![
            "verify",
            "--url",
            "http://example.org",
            "--key",
            &key,
            "--state",
            out,
        ],
    ] {
        let (ok, _, stderr) = pennytrail(&args, &ca).await;
        assert!(!ok, "{args:?}");
        assert!(
            stderr.contains("plain http:// is only for a service on this machine"),
            "{args:?}: {stderr}"
        );
    }
}
