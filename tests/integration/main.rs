//! The service's integration tests: one binary, one module per area, run by our own
//! harness (`harness.rs`) so that a test whose server, browser or toolchain is missing
//! here is reported as ignored rather than passed. `tests/README.md` says what each
//! module covers and how long it takes.

#[macro_use]
mod harness;
#[macro_use]
mod support;

mod api;
mod auth;
mod bundle;
mod caps;
mod crash;
mod docs;
mod explorer;
mod exports;
mod first_hour;
mod hostile_input;
mod https;
mod interop;
mod languages;
mod limits;
mod money;
mod monitor;
mod observability;
mod openapi;
mod parsers;
mod pg_plans;
mod privacy;
mod reliability;
mod sample_bundle;
mod startup;
mod statements;
mod tiles;
mod tokens;
mod witness;
mod witnessed_log;

fn main() -> std::process::ExitCode {
    harness::main()
}
