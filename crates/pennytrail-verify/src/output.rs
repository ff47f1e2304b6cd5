//! What the commands print, and how they end: one writer for every line of output (a
//! closed pipe stops the command quietly instead of panicking in `println!`), and one
//! mapping from a command's result to the process's exit status.

use std::process::ExitCode;

use anyhow::Context as _;

/// Stdout was closed by its reader (`pennytrail-verify … | head -1`). The command stops
/// quietly, as programs killed by the closed pipe do, where `println!` would panic: Rust
/// ignores SIGPIPE, so the write fails instead.
#[derive(Debug, thiserror::Error)]
#[error("stdout was closed by its reader")]
pub struct OutputClosed;

/// Writes one line to stdout (see [`OutputClosed`]).
///
/// # Errors
/// [`OutputClosed`] when stdout's reader is gone; any other write error with context.
pub fn write_line(line: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    use std::io::Write as _;
    match writeln!(std::io::stdout().lock(), "{line}") {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(OutputClosed.into()),
        written => written.context("writing to stdout"),
    }
}

/// `println!` for the commands' output; returns from the function if stdout is gone.
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))?
    };
}

/// The exit status of a command: 0 on success, 141 (what a shell reports for a command
/// stopped by a closed pipe, 128 + SIGPIPE) when stdout's reader went away, and 1 after
/// printing the error and its causes on one line otherwise.
pub fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<OutputClosed>() => ExitCode::from(141),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
