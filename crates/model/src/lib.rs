//! Evident's shared vocabulary: what a source is called ([`SourceName`]), what it sends
//! ([`Format`], and from it the [`Framing`] that splits a body into records), and what a
//! record becomes once normalized (an OCSF [`Event`]). Every other crate speaks these
//! types, so a name or format is validated once, at the edge.
//!
//! ```
//! use evident_model::{Format, Framing, SourceName};
//! let name: SourceName = "aws-cloudtrail".parse()?;
//! let format: Format = "cloudtrail".parse()?;
//! assert_eq!(format.framing(), Framing::Json);
//! assert_eq!(name.as_str(), "aws-cloudtrail");
//! # Ok::<(), evident_model::ModelError>(())
//! ```

mod access;
mod case;
mod controls;
mod event;

use std::fmt;
use std::str::FromStr;

pub use access::{Permission, Role, UnknownRole, permission_matrix_markdown};
pub use case::{
    Case, CaseChange, CaseError, CaseRecord, Disposition, PostMortem, Sla, SlaBreaches, Stage,
};
pub use controls::{CRITERIA, Criterion, SourceCategory, criterion};
pub use event::{Class, Event, OCSF_VERSION, Severity, Status, TopLevelKey};

/// A value that failed validation, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// Source names are used in URLs, file names and queries.
    #[error(
        "invalid source name {0:?}: use 1-64 characters a-z, 0-9, '.', '_' or '-', starting with a letter or digit"
    )]
    SourceName(String),
    /// A format Evident does not know.
    #[error("unknown format {0:?}; known formats: {known}", known = Format::names().join(", "))]
    Format(String),
}

/// A source's name: lowercase, URL- and filename-safe, 1–64 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct SourceName(String);

impl SourceName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for SourceName {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            });
        if ok {
            Ok(SourceName(s.to_owned()))
        } else {
            Err(ModelError::SourceName(s.to_owned()))
        }
    }
}

impl fmt::Display for SourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a body is cut into records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// One record per line (syslog, auth.log, VPC flow, pgaudit, …).
    Lines,
    /// JSON records: NDJSON, a JSON array of records, a single JSON document, or a
    /// CloudTrail-style `{"Records": [...]}` file.
    Json,
}

macro_rules! formats {
    ($($variant:ident => $name:literal, $framing:ident, $doc:literal;)*) => {
        /// The log formats Evident reads (DESIGN.md §5). `Auto` lets the parser decide per
        /// record.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Format {
            $(#[doc = $doc] $variant,)*
        }

        impl Format {
            /// Every format, in documentation order.
            pub const ALL: &'static [Format] = &[$(Format::$variant,)*];

            /// The name used in config, the CLI and entry metadata.
            pub fn as_str(self) -> &'static str {
                match self { $(Format::$variant => $name,)* }
            }

            /// How bodies of this format are split into records.
            pub fn framing(self) -> Framing {
                match self { $(Format::$variant => Framing::$framing,)* }
            }
        }

        impl FromStr for Format {
            type Err = ModelError;
            fn from_str(s: &str) -> Result<Self, ModelError> {
                match s {
                    $($name => Ok(Format::$variant),)*
                    _ => Err(ModelError::Format(s.to_owned())),
                }
            }
        }
    };
}

formats! {
    Auto => "auto", Json, "Detect per record; JSON framing with line fallback.";
    CloudTrail => "cloudtrail", Json, "AWS CloudTrail records.";
    AzureActivity => "azure-activity", Json, "Azure Activity Log events.";
    EntraSignin => "entra-signin", Json, "Azure AD / Entra ID sign-in logs.";
    GcpAudit => "gcp-audit", Json, "Google Cloud Audit Logs.";
    Okta => "okta", Json, "Okta System Log events.";
    GitHub => "github", Json, "GitHub organization / enterprise audit log.";
    VpcFlow => "vpcflow", Lines, "AWS VPC Flow Logs, text format v2-v5.";
    AwsWaf => "aws-waf", Json, "AWS WAF logs.";
    Syslog => "syslog", Lines, "Syslog RFC 5424 / RFC 3164 lines.";
    AuthLog => "authlog", Lines, "Linux auth.log: sshd, sudo, PAM, user management.";
    Auditd => "auditd", Lines, "Linux auditd records.";
    Netfilter => "netfilter", Lines, "iptables / nftables kernel log lines.";
    WindowsSecurity => "windows-security", Json, "Windows Security events (winlogbeat JSON or rendered XML, one event per line).";
    PgAudit => "pgaudit", Lines, "PostgreSQL pgaudit log lines.";
    MysqlAudit => "mysql-audit", Json, "MySQL / MariaDB audit plugin JSON.";
    JsonApp => "json", Json, "Generic JSON application logs.";
    Inspector2 => "inspector2", Json, "AWS Inspector2 findings.";
    Trivy => "trivy", Json, "Trivy JSON reports.";
    Text => "text", Lines, "Plain text lines with no further structure.";
    AzureAudit => "azure-audit", Json, "Azure AD / Entra ID audit logs.";
    GuardDuty => "guardduty", Json, "AWS GuardDuty findings.";
    AwsAlb => "aws-alb", Lines, "AWS Application Load Balancer access logs.";
    S3Access => "s3-access", Lines, "AWS S3 server access logs.";
    GoogleWorkspace => "google-workspace", Json, "Google Workspace admin/login activity events.";
    Auth0 => "auth0", Json, "Auth0 tenant log events.";
    DuoAuth => "duo-auth", Json, "Duo authentication log.";
    DuoAdmin => "duo-admin", Json, "Duo administrator log.";
    OneLogin => "onelogin", Json, "OneLogin events.";
    SlackAudit => "slack-audit", Json, "Slack Enterprise audit logs.";
    ZoomOperation => "zoom-operation", Json, "Zoom operation logs.";
    Box => "box", Json, "Box enterprise events.";
    MongoAtlas => "mongodb-atlas", Json, "MongoDB Atlas organization/project events.";
    Otlp => "otlp", Json, "OpenTelemetry log records as OTLP/JSON `LogsData` (what the OTLP receiver stores).";
}

impl Format {
    /// Every format name, for help texts and error messages.
    pub fn names() -> Vec<&'static str> {
        Format::ALL.iter().map(|f| f.as_str()).collect()
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_names_are_validated() {
        for ok in ["okta", "aws-cloudtrail", "db.prod_1", "0day"] {
            assert!(ok.parse::<SourceName>().is_ok(), "{ok}");
        }
        for bad in ["", "Okta", "-x", "a b", "x/y", &"a".repeat(65)] {
            assert_eq!(
                bad.parse::<SourceName>(),
                Err(ModelError::SourceName(bad.to_owned()))
            );
        }
    }

    #[test]
    fn format_names_round_trip_and_unknown_lists_known() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>(), Ok(*f));
        }
        let err = "splunk".parse::<Format>().unwrap_err().to_string();
        assert!(err.starts_with("unknown format \"splunk\"; known formats: auto, cloudtrail,"));
    }
}
