//! The URLs of console federation, built by pure functions (fact sheet part 2):
//!
//! - step 1 `<sign-in>/federation?Action=getSigninToken[&SessionDuration=N]&Session=<JSON>`,
//!   the `Session` JSON being `{"sessionId","sessionKey","sessionToken"}`;
//! - step 2 `<sign-in>/federation?Action=login&Issuer=..&Destination=..&SigninToken=..`,
//!   valid 15 minutes;
//! - the console logout URL that redirects to step 2 (`--logout-first`);
//! - destinations: a service's console home in a region, or a console URL of the partition;
//! - the IAM Identity Center access portal shortcut
//!   `<start URL>/#/console?account_id=..&role_name=..&destination=..`.
//!
//! Every URL holding a SigninToken or a Session is a [`Secret`].

use super::partition::Partition;
use crate::base::error::Problem;
use crate::base::secret::Secret;
use serde::Serialize;

/// What `Issuer` says in the login URL (where the console sends people whose session ended).
pub(crate) const ISSUER: &str = "aws-cred";

/// Query-string encoding of one value (`form_urlencoded`, so a space is `+`).
pub(crate) fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The `Session` parameter: compact JSON, keys in this order (the order aws-vault's sorted
/// map gives, and the documentation's).
#[derive(Serialize)]
struct Session<'a> {
    #[serde(rename = "sessionId")]
    session_id: &'a str,
    #[serde(rename = "sessionKey")]
    session_key: &'a str,
    #[serde(rename = "sessionToken")]
    session_token: &'a str,
}

pub(crate) fn session_json(
    access_key_id: &str,
    secret_access_key: &str,
    session_token: &str,
) -> Secret {
    let session = Session {
        session_id: access_key_id,
        session_key: secret_access_key,
        session_token,
    };
    Secret::new(serde_json::to_string(&session).expect("strings serialize"))
}

/// Path and query of the getSigninToken request.
pub(crate) fn signin_token_query(session_json: &Secret, session_duration: Option<u32>) -> Secret {
    let duration = session_duration
        .map(|d| format!("&SessionDuration={d}"))
        .unwrap_or_default();
    Secret::new(format!(
        "/federation?Action=getSigninToken{duration}&Session={}",
        encode(session_json.expose())
    ))
}

/// The sign-in URL: the console at `destination`, signed in with `token`.
pub(crate) fn login_url(signin_base: &str, destination: &str, token: &Secret) -> Secret {
    Secret::new(format!(
        "{}/federation?Action=login&Issuer={}&Destination={}&SigninToken={}",
        signin_base.trim_end_matches('/'),
        encode(ISSUER),
        encode(destination),
        encode(token.expose())
    ))
}

/// The console logout URL that then goes on to `login` (aws-vault's `--auto-logout` form:
/// `https://us-east-1.signin.aws.amazon.com/oauth?Action=logout&redirect_uri=..`). With an
/// endpoint override, the override's `/oauth`; for aws-cn and aws-us-gov, the partition's
/// sign-in host (our choice: the documented form is for the aws partition).
pub(crate) fn logout_then(logout_base: &str, login: &Secret) -> Secret {
    Secret::new(format!(
        "{}/oauth?Action=logout&redirect_uri={}",
        logout_base.trim_end_matches('/'),
        encode(login.expose())
    ))
}

/// Where the logout URL lives for a partition (without an endpoint override).
pub(crate) fn logout_base(partition: Partition) -> String {
    match partition {
        Partition::Aws => "https://us-east-1.signin.aws.amazon.com".to_string(),
        other => format!("https://{}", other.signin_host(other.home_region())),
    }
}

/// Console services whose pages are not per region: no `?region=`.
const GLOBAL_SERVICES: &[&str] = &[
    "iam",
    "organizations",
    "billing",
    "cloudfront",
    "route53",
    "support",
];

/// Where the console opens, as the person asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Place {
    /// The console home of the region.
    Home,
    /// `--service S`: that service's console home.
    Service(String),
    /// `--destination URL`: any console page of the partition.
    Url(String),
}

/// The `Destination` URL for a place in a region, checked before any call.
pub(crate) fn destination(
    partition: Partition,
    region: &str,
    place: &Place,
) -> Result<String, Problem> {
    let host = partition.regional_console_host(region);
    match place {
        Place::Home => Ok(format!("https://{host}/console/home?region={region}")),
        Place::Service(service) => {
            let service = service.trim().to_ascii_lowercase();
            let valid = !service.is_empty()
                && service
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !valid {
                return Err(Problem::usage(format!(
                    "--service {service:?} is not a console service name"
                ))
                .hint("use the name in the console's URL: s3, ec2, iam, lambda, cloudwatch, ..."));
            }
            if GLOBAL_SERVICES.contains(&service.as_str()) {
                Ok(format!(
                    "https://{}/{service}/home",
                    partition.console_host()
                ))
            } else {
                Ok(format!("https://{host}/{service}/home?region={region}"))
            }
        }
        Place::Url(text) => {
            let bad = || {
                Problem::usage(format!(
                    "--destination {text:?} is not a console URL of the {} partition",
                    partition.id()
                ))
                .hint(format!(
                    "give an https:// URL on {} (or a subdomain of it), e.g. https://{host}/s3/home?region={region}",
                    partition.console_host()
                ))
            };
            let url = url::Url::parse(text.trim()).map_err(|_| bad())?;
            let host_ok = url.host_str().is_some_and(|h| partition.is_console_host(h));
            if url.scheme() != "https"
                || !host_ok
                || url.port().is_some()
                || !url.username().is_empty()
                || url.password().is_some()
            {
                return Err(bad());
            }
            Ok(url.to_string())
        }
    }
}

/// The IAM Identity Center access portal shortcut (no federation call: the portal signs the
/// person in, and it supports the console's multi-session sign-in). Without a destination the
/// permission set's relay state, or else the console home, opens.
pub(crate) fn portal_url(
    start_url: &str,
    account_id: &str,
    role_name: &str,
    destination: Option<&str>,
) -> Result<String, Problem> {
    if !(account_id.len() == 12 && account_id.bytes().all(|b| b.is_ascii_digit())) {
        return Err(Problem::usage(format!(
            "sso_account_id {account_id:?} is not an AWS account ID (12 digits)"
        )));
    }
    let base = start_url.trim();
    let base = base.split('#').next().unwrap_or(base).trim_end_matches('/');
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        return Err(Problem::usage(format!(
            "sso_start_url {start_url:?} is not a URL"
        )));
    }
    let mut url = format!(
        "{base}/#/console?account_id={account_id}&role_name={}",
        encode(role_name)
    );
    if let Some(destination) = destination {
        url.push_str(&format!("&destination={}", encode(destination)));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_json_is_compact_with_the_three_keys_in_order() {
        let json = session_json("ASIAKEY", "sec/ret+", "tok=en");
        assert_eq!(
            json.expose(),
            r#"{"sessionId":"ASIAKEY","sessionKey":"sec/ret+","sessionToken":"tok=en"}"#
        );
        // JSON escaping for values that need it.
        let json = session_json("A", "quote\"back\\slash", "t");
        let back: serde_json::Value = serde_json::from_str(json.expose()).unwrap();
        assert_eq!(back["sessionKey"], "quote\"back\\slash");
    }

    #[test]
    fn get_signin_token_query_encodes_the_session_and_sends_duration_only_when_asked() {
        let json = session_json("ASIA1", "s/+=", "t");
        let q = signin_token_query(&json, None);
        assert_eq!(
            q.expose(),
            "/federation?Action=getSigninToken&Session=%7B%22sessionId%22%3A%22ASIA1%22%2C%22sessionKey%22%3A%22s%2F%2B%3D%22%2C%22sessionToken%22%3A%22t%22%7D"
        );
        let q = signin_token_query(&json, Some(3600));
        assert!(
            q.expose()
                .starts_with("/federation?Action=getSigninToken&SessionDuration=3600&Session=%7B")
        );
    }

    #[test]
    fn login_and_logout_urls() {
        let token = Secret::new("tok+en/=");
        let login = login_url(
            "https://signin.aws.amazon.com/",
            "https://console.aws.amazon.com/s3/home?region=us-east-1",
            &token,
        );
        assert_eq!(
            login.expose(),
            "https://signin.aws.amazon.com/federation?Action=login&Issuer=aws-cred&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fs3%2Fhome%3Fregion%3Dus-east-1&SigninToken=tok%2Ben%2F%3D"
        );
        let out = logout_then(&logout_base(Partition::Aws), &login);
        assert!(out.expose().starts_with(
            "https://us-east-1.signin.aws.amazon.com/oauth?Action=logout&redirect_uri=https%3A%2F%2Fsignin.aws.amazon.com%2Ffederation%3FAction%3Dlogin%26"
        ));
        assert_eq!(logout_base(Partition::China), "https://signin.amazonaws.cn");
        assert_eq!(
            logout_base(Partition::GovCloud),
            "https://signin.amazonaws-us-gov.com"
        );
    }

    #[test]
    fn destinations_for_home_services_and_urls() {
        let aws = Partition::Aws;
        assert_eq!(
            destination(aws, "us-east-1", &Place::Home).unwrap(),
            "https://console.aws.amazon.com/console/home?region=us-east-1"
        );
        assert_eq!(
            destination(aws, "eu-west-1", &Place::Service("S3".into())).unwrap(),
            "https://eu-west-1.console.aws.amazon.com/s3/home?region=eu-west-1"
        );
        assert_eq!(
            destination(aws, "eu-west-1", &Place::Service("iam".into())).unwrap(),
            "https://console.aws.amazon.com/iam/home"
        );
        assert_eq!(
            destination(
                Partition::China,
                "cn-north-1",
                &Place::Service("ec2".into())
            )
            .unwrap(),
            "https://console.amazonaws.cn/ec2/home?region=cn-north-1"
        );
        assert_eq!(
            destination(Partition::GovCloud, "us-gov-west-1", &Place::Home).unwrap(),
            "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1"
        );
        assert!(destination(aws, "us-east-1", &Place::Service("s3/../x".into())).is_err());
        assert!(destination(aws, "us-east-1", &Place::Service(String::new())).is_err());

        let url =
            "https://us-west-2.console.aws.amazon.com/lambda/home?region=us-west-2#/functions";
        assert_eq!(
            destination(aws, "us-east-1", &Place::Url(url.into())).unwrap(),
            url
        );
        for bad in [
            "http://console.aws.amazon.com/",
            "https://console.aws.amazon.com.evil.example/",
            "https://evil.example/?https://console.aws.amazon.com",
            "https://user@console.aws.amazon.com/",
            "https://console.aws.amazon.com:8443/",
            "s3/home",
            "https://console.amazonaws.cn/",
        ] {
            assert!(
                destination(aws, "us-east-1", &Place::Url(bad.into())).is_err(),
                "{bad}"
            );
        }
        assert!(
            destination(
                Partition::China,
                "cn-north-1",
                &Place::Url("https://console.amazonaws.cn/s3/home".into())
            )
            .is_ok()
        );
    }

    #[test]
    fn identity_center_shortcut() {
        assert_eq!(
            portal_url(
                "https://d-906713e952.awsapps.com/start",
                "111111111111",
                "PowerUserAccess",
                None
            )
            .unwrap(),
            "https://d-906713e952.awsapps.com/start/#/console?account_id=111111111111&role_name=PowerUserAccess"
        );
        assert_eq!(
            portal_url(
                "https://corp.awsapps.com/start/#/",
                "111111111111",
                "Dev Role",
                Some("https://console.aws.amazon.com/s3/home")
            )
            .unwrap(),
            "https://corp.awsapps.com/start/#/console?account_id=111111111111&role_name=Dev+Role&destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fs3%2Fhome"
        );
        assert!(portal_url("https://corp.awsapps.com/start", "123", "R", None).is_err());
        assert!(portal_url("corp", "111111111111", "R", None).is_err());
    }
}
