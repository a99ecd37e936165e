//! A kubeconfig whose user runs `aws-cred token eks` as kubectl's exec plugin: one cluster, one
//! user and one context, all under one name, as a whole `kind: Config` document (kubectl
//! merges it with others through `KUBECONFIG=a:b`).
//!
//! The YAML is written by hand: every string is a double-quoted scalar with JSON's escapes,
//! which YAML reads the same way, so no value can break the document's structure.

use crate::base::error::Problem;
use crate::base::text::escape;

/// What the document says.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    /// The name of the cluster, user and context entries.
    pub name: &'a str,
    pub cluster: &'a str,
    pub server: &'a str,
    /// The cluster's CA certificates (PEM); kubectl gets them as `certificate-authority-data`.
    pub ca_pem: Option<&'a [u8]>,
    pub region: &'a str,
    /// `--profile` for the plugin (none: the default chain).
    pub profile: Option<&'a str>,
    pub role_arn: Option<&'a str>,
    /// The program kubectl runs.
    pub command: &'a str,
}

/// The API server's URL: `https://` (or `http://` for a loopback test server), with a host.
pub fn check_server(server: &str) -> Result<(), Problem> {
    let parsed = url::Url::parse(server).ok();
    let ok = parsed
        .as_ref()
        .is_some_and(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some());
    if ok {
        return Ok(());
    }
    Err(
        Problem::usage(format!("{} is not an API server URL", escape(server)))
            .hint("the cluster's endpoint, as `aws eks describe-cluster --query cluster.endpoint` prints it: https://ABC123.gr7.eu-west-1.eks.amazonaws.com"),
    )
}

/// PEM certificates, as EKS gives them (base64-decoded `certificateAuthority.data`).
pub fn check_ca(pem: &[u8]) -> Result<(), Problem> {
    let text = std::str::from_utf8(pem).unwrap_or("");
    if text.contains("-----BEGIN CERTIFICATE-----") && text.contains("-----END CERTIFICATE-----") {
        Ok(())
    } else {
        Err(Problem::usage("--ca: the file holds no PEM certificate")
            .hint("give the cluster's CA certificate as PEM (-----BEGIN CERTIFICATE----- ...)"))
    }
}

fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// The plugin's arguments.
pub fn plugin_args(entry: &Entry<'_>) -> Vec<String> {
    let mut args: Vec<String> = [
        "token",
        "eks",
        "--cluster",
        entry.cluster,
        "--region",
        entry.region,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(profile) = entry.profile {
        args.extend(["--profile".to_string(), profile.to_string()]);
    }
    if let Some(role) = entry.role_arn {
        args.extend(["--role-arn".to_string(), role.to_string()]);
    }
    args
}

/// The whole document.
pub fn render(entry: &Entry<'_>) -> String {
    use base64::Engine as _;
    let name = quoted(entry.name);
    let mut out = String::new();
    out.push_str("apiVersion: v1\nkind: Config\nclusters:\n- name: ");
    out.push_str(&name);
    out.push_str("\n  cluster:\n    server: ");
    out.push_str(&quoted(entry.server));
    out.push('\n');
    if let Some(pem) = entry.ca_pem {
        out.push_str("    certificate-authority-data: ");
        out.push_str(&quoted(
            &base64::engine::general_purpose::STANDARD.encode(pem),
        ));
        out.push('\n');
    }
    out.push_str("users:\n- name: ");
    out.push_str(&name);
    out.push_str("\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: ");
    out.push_str(&quoted(entry.command));
    out.push_str("\n      args:\n");
    for arg in plugin_args(entry) {
        out.push_str("      - ");
        out.push_str(&quoted(&arg));
        out.push('\n');
    }
    out.push_str("contexts:\n- name: ");
    out.push_str(&name);
    out.push_str("\n  context:\n    cluster: ");
    out.push_str(&name);
    out.push_str("\n    user: ");
    out.push_str(&name);
    out.push_str("\ncurrent-context: ");
    out.push_str(&name);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_names_everything_once_and_quotes_every_value() {
        let entry = Entry {
            name: "prod",
            cluster: "prod",
            server: "https://ABC.gr7.eu-west-1.eks.amazonaws.com",
            ca_pem: Some(b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n"),
            region: "eu-west-1",
            profile: Some("admin \"x\"\n"),
            role_arn: None,
            command: "aws-cred",
        };
        let doc = render(&entry);
        assert!(doc.starts_with("apiVersion: v1\nkind: Config\nclusters:\n- name: \"prod\"\n"));
        assert!(doc.contains("    server: \"https://ABC.gr7.eu-west-1.eks.amazonaws.com\"\n"));
        assert!(doc.contains("    certificate-authority-data: \"LS0tLS1CRUdJTi"));
        assert!(
            doc.contains("      - \"--profile\"\n      - \"admin \\\"x\\\"\\n\"\n"),
            "{doc}"
        );
        assert!(doc.ends_with("current-context: \"prod\"\n"));
        assert_eq!(doc.matches("\n- name: \"prod\"").count(), 3);
    }

    #[test]
    fn server_and_ca_are_checked() {
        assert!(check_server("https://abc.eks.amazonaws.com").is_ok());
        assert!(check_server("http://127.0.0.1:6443").is_ok());
        for bad in ["", "abc.eks.amazonaws.com", "ftp://x", "https://"] {
            assert!(check_server(bad).is_err(), "{bad}");
        }
        assert!(
            check_ca(b"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n").is_ok()
        );
        assert!(check_ca(b"not a cert").is_err());
    }
}
