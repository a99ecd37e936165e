//! What IAM Identity Center (`sso-login`) and `aws login` (`login`) share as OAuth 2.0 clients
//! of AWS: PKCE, what a browser sign-in that went wrong is called, the Python-compatible JSON
//! of their cache files, and [`obtain`]: the one read → decide → lock → refresh → write back
//! both tokens go through, each flow bringing its own decision. The loopback listener
//! itself (socket, owner check, pages) is the OS seam's, `os::callback`; the flows are `sso`
//! and `login`, which import this layer and never each other.

pub(crate) mod callback;
pub(crate) mod oauth;
pub(crate) mod obtain;
pub(crate) mod pkce;
pub(crate) mod pyjson;
