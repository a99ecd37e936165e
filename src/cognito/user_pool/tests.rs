//! Tests of the user pool sign-in: pool ids, and the hints for the failures people meet.

use super::*;

fn pool(secret: bool) -> PoolClient {
    PoolClient {
        user_pool_id: "us-east-1_AbC123".into(),
        region: "us-east-1".into(),
        pool_name: "AbC123".into(),
        client_id: "client1".into(),
        client_secret: secret.then(|| Secret::new("s")),
        secret_origin: secret.then(|| "--client-secret".to_string()),
    }
}

#[test]
fn pool_ids_split_into_region_and_name() {
    assert_eq!(
        PoolClient::parse_pool_id("ap-northeast-1_AbCdEf123"),
        Some(("ap-northeast-1".into(), "AbCdEf123".into()))
    );
    for bad in [
        "",
        "nounderscore",
        "_abc",
        "us-east-1_",
        "us-east-1_a-b",
        "US_abc",
    ] {
        assert_eq!(PoolClient::parse_pool_id(bad), None, "{bad}");
    }
    assert_eq!(
        pool(false).provider_name(),
        "cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123"
    );
}

#[test]
fn flow_names() {
    assert_eq!(Flow::from_name("SRP"), Some(Flow::Srp));
    assert_eq!(Flow::from_name("user_password_auth"), Some(Flow::Password));
    assert_eq!(Flow::from_name(" admin "), Some(Flow::Admin));
    assert_eq!(Flow::from_name("custom"), None);
}

#[test]
fn explanations_name_the_fix() {
    fn at(pool: &PoolClient, flow: Option<Flow>) -> Situation<'_> {
        Situation {
            pool,
            flow,
            username: "alice",
        }
    }
    let (with, without) = (&pool(true), &pool(false));

    let p = explain(
        "NotAuthorizedException",
        "Client client1 is configured with secret but SECRET_HASH was not received",
        &at(without, Some(Flow::Srp)),
    )
    .unwrap();
    assert!(p.hint.unwrap().contains("AWS_CRED_COGNITO_CLIENT_SECRET"));

    let p = explain(
        "NotAuthorizedException",
        "Unable to verify secret hash for client client1",
        &at(with, Some(Flow::Srp)),
    )
    .unwrap();
    assert!(p.message.contains("from --client-secret"));

    let p = explain(
        "InvalidParameterException",
        "USER_PASSWORD_AUTH flow not enabled for this client",
        &at(without, Some(Flow::Password)),
    )
    .unwrap();
    assert!(p.hint.unwrap().contains("ALLOW_USER_PASSWORD_AUTH"));
    let p = explain(
        "InvalidParameterException",
        "Refresh Token flow not enabled for this client",
        &at(without, None),
    )
    .unwrap();
    assert!(p.hint.unwrap().contains("ALLOW_REFRESH_TOKEN_AUTH"));

    for (code, part) in [
        ("UserNotFoundException", "admin-get-user"),
        ("PasswordResetRequiredException", "admin-set-user-password"),
        ("UserNotConfirmedException", "admin-confirm-sign-up"),
        ("TooManyRequestsException", "wait a little"),
    ] {
        let p = explain(code, "", &at(without, Some(Flow::Srp))).unwrap();
        assert!(p.hint.unwrap().contains(part), "{code}");
    }
    assert!(
        unsupported_challenge("MFA_SETUP")
            .message
            .contains("MFA_SETUP")
    );
    assert!(explain("SomethingNew", "", &at(without, Some(Flow::Srp))).is_none());
}
