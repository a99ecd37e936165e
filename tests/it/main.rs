//! Every integration test of aws-cred, in one test binary (as cargo's own testsuite does):
//! the support code and the fakes compile once, and a change to the crate relinks one
//! executable instead of one per suite. A module per area; run one with
//! `cargo test --test it chain::` (or any part of a test's path).
//!
//! The suites marked `cfg(unix)` drive the Linux build (Unix shells, file modes, signals, moto
//! from the CI venv); `windows` drives aws-cred.exe under wine against the same fakes, from
//! Linux. `architecture` and `properties` run everywhere.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "tests drive the binary and set up files and processes directly"
)]

#[cfg(unix)]
mod fakes;
#[cfg(unix)]
mod support;

mod architecture;
#[cfg(unix)]
mod chain;
#[cfg(unix)]
mod cognito;
#[cfg(unix)]
mod conformance;
#[cfg(unix)]
mod console;
#[cfg(unix)]
mod differential_botocore;
#[cfg(unix)]
mod everyday;
#[cfg(unix)]
mod hardening;
#[cfg(unix)]
mod hardening_answers;
#[cfg(unix)]
mod hardening_files;
#[cfg(unix)]
mod interop_aws_cli;
#[cfg(unix)]
mod interop_login_botocore;
#[cfg(unix)]
mod interop_login_sdk;
#[cfg(unix)]
mod keys;
#[cfg(unix)]
mod login;
#[cfg(unix)]
mod logout;
#[cfg(unix)]
mod mfa;
mod properties;
#[cfg(unix)]
mod server;
#[cfg(unix)]
mod shell_roundtrip;
#[cfg(unix)]
mod sso;
#[cfg(unix)]
mod sso_populate;
#[cfg(unix)]
mod status;
#[cfg(unix)]
mod support_selftest;
#[cfg(unix)]
mod terminal_safety;
#[cfg(unix)]
mod token;
#[cfg(unix)]
mod windows;
