//! Tests of `cli.rs`.

#[test]
fn command_line_secrets_are_redacted_in_debug() {
    use clap::Parser;
    let cli = crate::cli::Cli::try_parse_from([
        "aws-cred",
        "cognito",
        "--user",
        "alice",
        "--client-secret",
        "client-secret-value",
        "--new-password",
        "new-password-value",
    ])
    .unwrap();
    let text = format!("{cli:?}");
    assert!(!text.contains("client-secret-value") && !text.contains("new-password-value"));
    assert!(text.contains("alice"));
}
