//! Link `web-identity`: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN [+ AWS_ROLE_SESSION_NAME]
//! → STS AssumeRoleWithWebIdentity. Also used by profiles with `web_identity_token_file`.

use super::{Found, Request, Step};
use crate::aws::sts::{self, RoleRequest};
use crate::base::error::Problem;
use anyhow::Context as _;
use std::path::Path;

pub(super) async fn resolve(req: &Request<'_>) -> anyhow::Result<Step> {
    if req.profiles.selection == crate::profile::Selection::Flag {
        return Ok(Step::Skip(
            "--profile given: web identity variables are ignored".into(),
        ));
    }
    let ctx = req.ctx;
    // The token file is a path (any encoding); the role is text.
    let token_file = ctx.path_var("AWS_WEB_IDENTITY_TOKEN_FILE");
    let role_arn = ctx.text_var("AWS_ROLE_ARN")?;
    let (token_file, role_arn) = match (token_file, role_arn) {
        (None, None) => return Ok(Step::Skip("AWS_WEB_IDENTITY_TOKEN_FILE is not set".into())),
        (None, Some(_)) => {
            return Ok(Step::Skip(
                "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not".into(),
            ));
        }
        (Some(_), None) => {
            return Err(Problem::usage(
                "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not",
            )
            .hint("set AWS_ROLE_ARN to the role to assume with the token")
            .into());
        }
        (Some(f), Some(r)) => (f, r),
    };
    let role = RoleRequest {
        role_arn: role_arn.to_string(),
        session_name: ctx.text_var("AWS_ROLE_SESSION_NAME")?.map(str::to_string),
        ..Default::default()
    };
    let credentials = assume(req, &role, &token_file).await?;
    Ok(Step::Found(Found {
        credentials,
        kind: super::Kind::RoleSession { chained: false },
        location: format!(
            "role {role_arn} with the token in {} (AWS_WEB_IDENTITY_TOKEN_FILE)",
            token_file.display()
        ),
    }))
}

pub(super) async fn assume(
    req: &Request<'_>,
    role: &RoleRequest,
    token_file: &Path,
) -> anyhow::Result<aws_credential_types::Credentials> {
    let bytes = crate::os::fs::read_regular(token_file, crate::os::fs::MAX_TOKEN_FILE).map_err(
        |err| {
            Problem::failure(format!(
                "cannot read the web identity token file: {}",
                crate::base::error::causes(&err)
            )).hint(
                "check the path (a regular file of at most 1 MiB); in EKS the token is mounted by the pod identity webhook",
            )
        },
    )?;
    let token = String::from_utf8(bytes).map_err(|_| {
        Problem::failure(format!(
            "the web identity token file {} is not text (UTF-8)",
            token_file.display()
        ))
    })?;
    let token = token.trim();
    if token.is_empty() {
        return Err(Problem::failure(format!(
            "the web identity token file {} is empty",
            token_file.display()
        ))
        .into());
    }
    sts::assume_role_with_web_identity(req.aws, req.sts_region(), role, token, req.now())
        .await
        .with_context(|| format!("assuming {} with a web identity token", role.role_arn))
}
