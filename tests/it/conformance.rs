//! Conformance runners over the AWS SDKs' data-only test suites, read in place from
//! `../shared/conformance` (see its README and docs/CONFORMANCE.md). Without that folder every
//! runner prints that it skipped; under `CI=true` that is a failure.
//!
//! Each runner prints one line per case that is not a plain pass (`deviation: <case>: <reason>`,
//! `FAIL: ...`, `note: ...` for soft checks such as an SDK's error wording) and a summary, fails
//! on any failure, and checks that docs/CONFORMANCE.md carries the same numbers and lists every
//! deviation. Run them with `cargo test --test conformance -- --nocapture` to see the lines.

// Unix only: these tests drive the Linux build (Unix shells, file modes, signals, moto from the
// CI venv). The Windows build has its own suite, tests/windows.rs, which drives aws-cred.exe
// under wine against the same fakes.
#![cfg(unix)]
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "tests drive the binary and set up files and processes directly"
)]

mod support;

#[path = "conformance/common.rs"]
mod common;
#[path = "conformance/endpoints.rs"]
mod endpoints;
#[path = "conformance/files.rs"]
mod files;
#[path = "conformance/modular.rs"]
mod modular;
#[path = "conformance/plans.rs"]
mod plans;
#[path = "conformance/replay.rs"]
mod replay;
