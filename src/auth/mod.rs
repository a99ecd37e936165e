//! What IAM Identity Center (`sso-login`) and `aws login` (`login`) share as OAuth 2.0 clients
//! of AWS: PKCE, and what a browser sign-in that went wrong is called. The loopback listener
//! itself (socket, owner check, pages) is the OS seam's, `os::callback`; the flows are `sso`
//! and `login`, which import this layer and never each other.

pub mod oauth;
pub mod pkce;
pub mod pyjson;
