//! Loopback fakes of the AWS services moto does not have or does not check (STS rules, SSO,
//! Sign-In, Cognito, federation, EKS): each module serves one, verifying what AWS verifies.
//! Each suite uses a different part of them.
#![allow(dead_code)]

pub(crate) mod cognito;
pub(crate) mod eks;
pub(crate) mod federation;
pub(crate) mod signin;
pub(crate) mod sso;
pub(crate) mod sts;
