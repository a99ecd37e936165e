//! The lowest layer: what every other layer shares and nothing here imports from above.
//! Times, secrets, errors and exit classes, and escaping untrusted text for a terminal.

pub mod cmdline;
pub mod error;
pub(crate) mod secret;
pub(crate) mod text;
pub mod time;
pub(crate) mod validity;

/// The provider name on every credential aws-cred makes.
pub const PROVIDER: &str = "aws-cred";
