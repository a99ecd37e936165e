//! Conformance runners over the AWS SDKs' data-only test suites, read in place from
//! `../shared/conformance` (see its README and docs/CONFORMANCE.md). Without that folder every
//! runner prints that it skipped; under `CI=true` that is a failure.
//!
//! Each runner prints one line per case that is not a plain pass (`deviation: <case>: <reason>`,
//! `FAIL: ...`, `note: ...` for soft checks such as an SDK's error wording) and a summary, fails
//! on any failure, and checks that docs/CONFORMANCE.md carries the same numbers and lists every
//! deviation. Run them with `cargo test --test conformance -- --nocapture` to see the lines.

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
