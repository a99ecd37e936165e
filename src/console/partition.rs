//! Partitions and their sign-in and console hosts (fact sheet part 2, "Hosts").
//!
//! - aws: sign-in `signin.aws.amazon.com` in us-east-1, `{region}.signin.aws.amazon.com`
//!   elsewhere [AWS General Reference, "AWS Sign-In endpoints"]; console `console.aws.amazon.com`.
//! - aws-cn: `signin.amazonaws.cn`, console `console.amazonaws.cn`.
//! - aws-us-gov: `signin.amazonaws-us-gov.com`, console `console.amazonaws-us-gov.com`.
//!
//! For aws-cn and aws-us-gov we use the partition's one sign-in host whatever the region, as
//! aws-vault does: regional sign-in hosts there are not documented. The SigninToken must be
//! redeemed at the host that issued it, so one host serves both federation steps.

use crate::base::error::Problem;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Partition {
    Aws,
    China,
    GovCloud,
}

impl Partition {
    /// The partition of a region; the isolated partitions (ISO, EUSC) have no console
    /// federation we know of.
    pub(crate) fn of_region(region: &str) -> Result<Partition, Problem> {
        let region = region.trim();
        if !crate::base::text::is_region_name(region) {
            return Err(
                Problem::usage(format!("{region:?} is not an AWS region name"))
                    .hint("regions look like us-east-1, eu-west-1, cn-north-1, us-gov-west-1"),
            );
        }
        if region.starts_with("cn-") {
            Ok(Partition::China)
        } else if region.starts_with("us-gov-") {
            Ok(Partition::GovCloud)
        } else if region.starts_with("us-iso") || region.starts_with("eu-iso") {
            Err(Problem::usage(format!(
                "console federation is not supported for {region} (an isolated partition)"
            )))
        } else if region.starts_with("eusc-") {
            Err(Problem::usage(format!(
                "console federation is not yet available in the European Sovereign Cloud ({region})"
            )))
        } else {
            Ok(Partition::Aws)
        }
    }

    pub(crate) fn id(self) -> &'static str {
        match self {
            Partition::Aws => "aws",
            Partition::China => "aws-cn",
            Partition::GovCloud => "aws-us-gov",
        }
    }

    fn domain(self) -> &'static str {
        match self {
            Partition::Aws => "aws.amazon.com",
            Partition::China => "amazonaws.cn",
            Partition::GovCloud => "amazonaws-us-gov.com",
        }
    }

    /// The region whose sign-in and console hosts have no region prefix.
    pub(crate) fn home_region(self) -> &'static str {
        match self {
            Partition::Aws => "us-east-1",
            Partition::China => "cn-north-1",
            Partition::GovCloud => "us-gov-west-1",
        }
    }

    /// The sign-in host for console federation from `region`.
    pub(crate) fn signin_host(self, region: &str) -> String {
        match self {
            Partition::Aws if region != self.home_region() => {
                format!("{region}.signin.{}", self.domain())
            }
            _ => format!("signin.{}", self.domain()),
        }
    }

    /// The console host of the partition, without a region prefix.
    pub(crate) fn console_host(self) -> String {
        format!("console.{}", self.domain())
    }

    /// The console host for pages of `region`: `{region}.console.aws.amazon.com` outside
    /// us-east-1 (where the console lives anyway), the partition's host elsewhere.
    pub(crate) fn regional_console_host(self, region: &str) -> String {
        match self {
            Partition::Aws if region != self.home_region() => {
                format!("{region}.{}", self.console_host())
            }
            _ => self.console_host(),
        }
    }

    /// Whether `host` is this partition's console (`console.aws.amazon.com` or a subdomain such
    /// as `eu-west-1.console.aws.amazon.com`, `s3.console.aws.amazon.com`).
    pub(crate) fn is_console_host(self, host: &str) -> bool {
        let console = self.console_host();
        let host = host.to_ascii_lowercase();
        host == console || host.ends_with(&format!(".{console}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_from_regions() {
        assert_eq!(Partition::of_region("us-east-1").unwrap(), Partition::Aws);
        assert_eq!(
            Partition::of_region("ap-northeast-1").unwrap(),
            Partition::Aws
        );
        assert_eq!(
            Partition::of_region("cn-north-1").unwrap(),
            Partition::China
        );
        assert_eq!(
            Partition::of_region("cn-northwest-1").unwrap(),
            Partition::China
        );
        assert_eq!(
            Partition::of_region("us-gov-west-1").unwrap(),
            Partition::GovCloud
        );
        assert_eq!(
            Partition::of_region("us-gov-east-1").unwrap().id(),
            "aws-us-gov"
        );
        assert!(Partition::of_region("us-iso-east-1").is_err());
        assert!(Partition::of_region("eusc-de-east-1").is_err());
        assert!(Partition::of_region("Not A Region").is_err());
        assert!(Partition::of_region("").is_err());
    }

    #[test]
    fn sign_in_hosts() {
        use Partition::{Aws, China, GovCloud};
        for (partition, region, host) in [
            (Aws, "us-east-1", "signin.aws.amazon.com"),
            (Aws, "eu-west-1", "eu-west-1.signin.aws.amazon.com"),
            (China, "cn-north-1", "signin.amazonaws.cn"),
            (China, "cn-northwest-1", "signin.amazonaws.cn"),
            (GovCloud, "us-gov-west-1", "signin.amazonaws-us-gov.com"),
            (GovCloud, "us-gov-east-1", "signin.amazonaws-us-gov.com"),
        ] {
            assert_eq!(partition.signin_host(region), host, "{region}");
        }
    }

    #[test]
    fn console_hosts() {
        use Partition::{Aws, China, GovCloud};
        assert_eq!(Aws.console_host(), "console.aws.amazon.com");
        assert_eq!(GovCloud.console_host(), "console.amazonaws-us-gov.com");
        for (partition, region, host) in [
            (Aws, "us-east-1", "console.aws.amazon.com"),
            (
                Aws,
                "ap-northeast-1",
                "ap-northeast-1.console.aws.amazon.com",
            ),
            (China, "cn-northwest-1", "console.amazonaws.cn"),
        ] {
            assert_eq!(partition.regional_console_host(region), host, "{region}");
        }
        assert!(Partition::Aws.is_console_host("s3.console.aws.amazon.com"));
        assert!(Partition::Aws.is_console_host("Console.AWS.amazon.com"));
        assert!(!Partition::Aws.is_console_host("console.aws.amazon.com.evil.example"));
        assert!(!Partition::Aws.is_console_host("evilconsole.aws.amazon.com"));
        assert!(!Partition::China.is_console_host("console.aws.amazon.com"));
    }
}
