//! The harness of the integration-test binary: it gathers every `#[pennytrail_test]`,
//! checks once what this machine has (PostgreSQL, Node, Chromium, Go), and runs the tests
//! with libtest's command line and output (`cargo test -- <filter>`, `--list`,
//! `--test-threads`, `--include-ignored`).
//!
//! A test whose needs are missing here is reported as *ignored*, with one warning line
//! per missing need saying how many tests it takes and how to install it. Under `CI=true`
//! nothing is ignored for that reason: the test runs and fails, naming what is missing.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::process::{Command, ExitCode};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};

use crate::support::{self, Backend, TestApp};

/// An async test's body, ready to run on the test's own runtime.
pub type Pending = Pin<Box<dyn Future<Output = ()>>>;

/// What a test runs.
pub enum Body {
    Sync(fn()),
    Async(fn() -> Pending),
    /// A scenario given a fresh service on this backend (`both_backends`).
    OnApp(Backend, fn(TestApp) -> Pending),
}

/// What a test returns: nothing, or a `Result` whose `Err` fails it.
pub trait Outcome {
    fn check(self);
}

impl Outcome for () {
    fn check(self) {}
}

impl<E: std::fmt::Debug> Outcome for Result<(), E> {
    fn check(self) {
        if let Err(error) = self {
            panic!("the test returned an error: {error:?}");
        }
    }
}

/// Something outside the repository that a test needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    Postgres,
    Node,
    Browser,
    Go,
}

/// One registered test (written by `#[pennytrail_test]`).
pub struct Case {
    pub module: &'static str,
    pub name: &'static str,
    pub needs: &'static [Need],
    pub body: Body,
}

inventory::collect!(Case);

impl Case {
    /// `module::test`, without the binary's own name.
    fn full_name(&self) -> String {
        let module = self.module.split_once("::").map_or("", |(_, rest)| rest);
        if module.is_empty() {
            self.name.to_string()
        } else {
            format!("{module}::{}", self.name)
        }
    }

    fn run(&'static self) -> Result<(), Failed> {
        match self.body {
            Body::Sync(test) => test(),
            Body::Async(test) => runtime().block_on(test()),
            Body::OnApp(backend, test) => {
                runtime().block_on(async move { test(TestApp::start(backend).await).await })
            }
        }
        Ok(())
    }
}

/// Each async test runs on a runtime of its own, as `#[tokio::test]` would give it.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// `--nocapture` was given: tests print what they measured ([`note!`]) and panics print in
/// full. Without it a green run prints only the harness's lines and the results.
static VERBOSE: AtomicBool = AtomicBool::new(false);

pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// Prints what a test measured or saw (counts, timings, refusals), with `--nocapture` only.
#[macro_export]
macro_rules! note {
    ($($arg:tt)*) => {
        if $crate::harness::verbose() {
            println!($($arg)*);
        }
    };
}

/// Without `--nocapture`, a panic prints one line: where and what. Panics are how tests
/// fail (libtest-mimic repeats the message under "failures"), and how fault-injection
/// tests make the service's own threads fail on purpose.
fn install_panic_hook() {
    let full = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if verbose() {
            full(info);
            return;
        }
        let thread = std::thread::current();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let location = info
            .location()
            .map_or(String::new(), |l| format!(" at {}:{}", l.file(), l.line()));
        eprintln!(
            "thread '{}' panicked{location}: {}",
            thread.name().unwrap_or("?"),
            message.lines().next().unwrap_or("")
        );
    }));
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

pub fn main() -> ExitCode {
    let args = Arguments::from_args();
    VERBOSE.store(args.nocapture, Ordering::Relaxed);
    install_panic_hook();
    let mut cases: Vec<&'static Case> = inventory::iter::<Case>.into_iter().collect();
    cases.sort_by_key(|case| case.full_name());

    let mut missing: Vec<(Need, String)> = Vec::new();
    for need in [Need::Postgres, Need::Node, Need::Browser, Need::Go] {
        if cases.iter().any(|case| case.needs.contains(&need))
            && let Err(why) = probe(need)
        {
            missing.push((need, why));
        }
    }
    let ignore_missing = !in_ci();
    if !args.list {
        for (need, why) in &missing {
            let count = cases.iter().filter(|c| c.needs.contains(need)).count();
            if ignore_missing {
                eprintln!("WARNING: {why}; {count} tests that need it are IGNORED");
            } else {
                eprintln!("CI=true: {why}; the {count} tests that need it will fail");
            }
        }
    }
    let trials = cases
        .into_iter()
        .map(|case| {
            let unmet = case
                .needs
                .iter()
                .any(|need| missing.iter().any(|(m, _)| m == need));
            Trial::test(case.full_name(), move || timed(case))
                .with_ignored_flag(unmet && ignore_missing)
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    support::postgres::drop_template();
    if !args.list {
        print_times();
    }
    conclusion.exit_code()
}

/// How long each test that ran took, by module.
static TIMES: Mutex<Vec<(&'static str, String, Duration)>> = Mutex::new(Vec::new());

fn timed(case: &'static Case) -> Result<(), Failed> {
    let started = Instant::now();
    let result = case.run();
    let module = case.module.split("::").nth(1).unwrap_or("");
    TIMES.lock().unwrap_or_else(|e| e.into_inner()).push((
        module,
        case.full_name(),
        started.elapsed(),
    ));
    result
}

/// Per module, the sum of its tests' wall times (tests run two at a time, so the run
/// takes about half the total), and the slowest tests.
fn print_times() {
    let times = TIMES.lock().unwrap_or_else(|e| e.into_inner());
    if times.is_empty() {
        return;
    }
    let mut modules: Vec<(&str, Duration, usize)> = Vec::new();
    for (module, _, took) in times.iter() {
        match modules.iter_mut().find(|(m, _, _)| m == module) {
            Some(entry) => {
                entry.1 += *took;
                entry.2 += 1;
            }
            None => modules.push((module, *took, 1)),
        }
    }
    modules.sort_by_key(|m| std::cmp::Reverse(m.1));
    println!("time per module (sum of its tests' wall times):");
    for (module, took, count) in &modules {
        println!("{:>8.1} s  {module} ({count} tests)", took.as_secs_f64());
    }
    let mut slowest: Vec<&(&str, String, Duration)> = times.iter().collect();
    slowest.sort_by_key(|t| std::cmp::Reverse(t.2));
    println!("slowest tests:");
    for (_, name, took) in slowest.iter().take(5) {
        println!("{:>8.1} s  {name}", took.as_secs_f64());
    }
}

/// Whether `need` is here; the error says what is missing and how to get it.
fn probe(need: Need) -> Result<(), String> {
    let e2e = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e");
    match need {
        Need::Postgres => support::postgres::probe(),
        Need::Node => runs("node", "--version", "node (20.19 or later) is not on PATH"),
        Need::Browser => {
            if !Path::new(support::CHROMIUM).exists() {
                Err(format!(
                    "{} is missing (apt-get install chromium)",
                    support::CHROMIUM
                ))
            } else if !e2e.join("node_modules/playwright-core").exists() {
                Err("tests/e2e/node_modules is missing (cd tests/e2e && npm ci)".into())
            } else {
                Ok(())
            }
        }
        Need::Go => {
            runs(
                "go",
                "version",
                "go is not on PATH (apt-get install golang-go)",
            )?;
            if Path::new(support::XMOD_DIR)
                .join("sumdb/note/note.go")
                .is_file()
            {
                Ok(())
            } else {
                Err(format!(
                    "{} is missing (apt-get install golang-golang-x-mod-dev)",
                    support::XMOD_DIR
                ))
            }
        }
    }
}

fn runs(program: &str, argument: &str, missing: &str) -> Result<(), String> {
    match Command::new(program).arg(argument).output() {
        Ok(output) if output.status.success() => Ok(()),
        _ => Err(missing.to_string()),
    }
}
