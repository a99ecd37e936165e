//! Loopback fakes of the AWS services moto does not have or does not check (STS rules, SSO,
//! Sign-In, Cognito, federation, EKS): each module serves one, verifying what AWS verifies.
//! Each suite uses a different part of them.
#![allow(dead_code)]

pub mod cognito;
pub mod eks;
pub mod federation;
pub mod signin;
pub mod sso;
pub mod sts;
