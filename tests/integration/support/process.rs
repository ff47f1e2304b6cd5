//! The real `pennytrail` binary as a child process, for crash and multi-process tests.

use std::path::Path;

use serde_json::Value;

/// The real `pennytrail` binary as a child process, for crash and multi-process tests.
pub struct ServiceProcess {
    pub child: tokio::process::Child,
    pub base: String,
    /// Every line the process wrote to stderr (JSON log lines) since it started.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServiceProcess {
    /// Starts `pennytrail serve` with `args` (plus `--listen 127.0.0.1:0`) and waits until
    /// it serves; returns its startup error output if it exits first.
    pub async fn start(args: &[&str]) -> Result<ServiceProcess, String> {
        Self::start_logging(args, "info").await
    }

    /// [`ServiceProcess::start`] with `RUST_LOG` set to `filter`.
    pub async fn start_logging(args: &[&str], filter: &str) -> Result<ServiceProcess, String> {
        use tokio::io::AsyncBufReadExt as _;
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env("PENNYTRAIL_LOG_FORMAT", "json")
            .env("RUST_LOG", filter)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn pennytrail");
        let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = String::new();
        let deadline = std::time::Duration::from_secs(30);
        let addr = tokio::time::timeout(deadline, async {
            while let Ok(Some(line)) = lines.next_line().await {
                seen.push_str(&line);
                seen.push('\n');
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && let Some(addr) = v["fields"]["addr"].as_str()
                {
                    return Some(addr.to_string());
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        let Some(addr) = addr else {
            let _ = child.kill().await;
            return Err(seen);
        };
        // Keep draining stderr so the child never blocks on a full pipe.
        let log = std::sync::Arc::new(std::sync::Mutex::new(
            seen.lines().map(String::from).collect::<Vec<_>>(),
        ));
        let collected = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                collected.lock().unwrap().push(line);
            }
        });
        Ok(ServiceProcess {
            child,
            base: format!("http://{addr}"),
            log,
        })
    }

    /// SIGKILL: no shutdown, no flush, nothing graceful.
    pub async fn kill9(mut self) {
        self.child.kill().await.expect("kill -9");
    }

    /// SIGTERM, then waits for a graceful exit.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("running") as i32;
        // SAFETY-free: plain kill(2) through the shell's `kill` to avoid a libc dependency.
        std::process::Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .unwrap();
        self.child.wait().await.expect("wait")
    }
}

/// Runs `pennytrail check` on a store and returns (success, output).
pub fn run_check(data_dir: &Path, database_url: Option<&str>) -> (bool, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"));
    cmd.arg("check").arg("--data-dir").arg(data_dir);
    if let Some(url) = database_url {
        cmd.arg("--database-url").arg(url);
    }
    let out = cmd.output().expect("run pennytrail check");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A service on SQLite in a folder of its own, seeded by `pennytrail demo` with its three
/// charities of `donations` donations each.
pub struct DemoService {
    pub service: ServiceProcess,
    pub data: tempfile::TempDir,
    /// What `pennytrail demo` printed (its summary).
    pub said: String,
}

impl DemoService {
    pub async fn start(donations: u32) -> DemoService {
        let data = tempfile::tempdir().unwrap();
        let service = ServiceProcess::start(&["--data-dir", data.path().to_str().unwrap()])
            .await
            .expect("the service starts");
        let seeded = tokio::process::Command::new(env!("CARGO_BIN_EXE_pennytrail"))
            .args(["demo", "--url", &service.base, "--token-file"])
            .arg(data.path().join("operator.token"))
            .args(["--donations", &donations.to_string()])
            .output()
            .await
            .expect("run pennytrail demo");
        let said = String::from_utf8_lossy(&seeded.stderr).into_owned();
        assert!(seeded.status.success(), "demo: {said}");
        DemoService {
            service,
            data,
            said,
        }
    }
}
