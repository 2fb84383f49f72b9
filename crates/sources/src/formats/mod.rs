//! One module per vendor format. Every module has the same two functions:
//!
//! - `detect(shape: &Shape<'_>) -> bool`: does this record look like the format? Must be
//!   cheap and specific: it runs for every record of an `auto` source, in the order of
//!   [`DETECTION_ORDER`], and the first `true` wins.
//! - `parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError>`:
//!   normalize to OCSF. Sets class/activity/time, the mapped attributes, `metadata.product`,
//!   and `unmapped` (for JSON: the whole vendor object, so vendor-logsource Sigma rules can
//!   match original field names; for text: the parsed fields by vendor name).
//!
//! (`vpcflow` keeps state across records, so it is a struct held by [`crate::Parser`].)
//!
//! `util` and `access_log` are not formats: they hold what several format modules share.

use evident_model::{Event, Format};
use serde_json::{Map, Value};

use crate::parse::{ParseContext, ParseError};

pub(crate) mod util;

mod access_log;

pub(crate) mod auditd;
pub(crate) mod auth0;
pub(crate) mod authlog;
pub(crate) mod aws_alb;
pub(crate) mod aws_waf;
pub(crate) mod azure_activity;
pub(crate) mod azure_audit;
pub(crate) mod box_events;
pub(crate) mod cloudtrail;
pub(crate) mod duo_admin;
pub(crate) mod duo_auth;
pub(crate) mod entra_signin;
pub(crate) mod gcp_audit;
pub(crate) mod github;
pub(crate) mod google_workspace;
pub(crate) mod guardduty;
pub(crate) mod inspector2;
pub(crate) mod json_app;
mod lenient;
pub(crate) mod mongodb_atlas;
pub(crate) mod mysql_audit;
pub(crate) mod netfilter;
pub(crate) mod okta;
pub(crate) mod onelogin;
pub(crate) mod otlp;
pub(crate) mod pgaudit;
pub(crate) mod s3_access;
pub(crate) mod slack_audit;
pub(crate) mod syslog;
pub(crate) mod text;
pub(crate) mod trivy;
pub(crate) mod vpcflow;
pub(crate) mod windows_security;
pub(crate) mod zoom_operation;

/// A record as detectors see it: parsed JSON object, or a line of text.
pub(crate) enum Shape<'a> {
    /// The record is a JSON object.
    Json(&'a Map<String, Value>),
    /// The record is text (not a JSON object).
    Text(&'a str),
}

/// Formats tried by [`detect`], most specific first. `json` and `text` are never detected:
/// they are what a source declares.
pub(crate) const DETECTION_ORDER: &[Format] = &[
    Format::Otlp,
    Format::CloudTrail,
    Format::GuardDuty,
    Format::Inspector2,
    Format::Trivy,
    Format::AwsWaf,
    Format::AwsAlb,
    Format::S3Access,
    Format::VpcFlow,
    Format::AzureActivity,
    Format::AzureAudit,
    Format::EntraSignin,
    Format::GcpAudit,
    Format::GoogleWorkspace,
    Format::Okta,
    Format::GitHub,
    Format::Auth0,
    Format::DuoAuth,
    Format::DuoAdmin,
    Format::OneLogin,
    Format::SlackAudit,
    Format::ZoomOperation,
    Format::Box,
    Format::MongoAtlas,
    Format::WindowsSecurity,
    Format::MysqlAudit,
    Format::PgAudit,
    Format::Auditd,
    Format::Netfilter,
    Format::AuthLog,
    Format::Syslog,
];

/// Recognises a record's format. Panther-style exports carry the log type in `p_log_type`,
/// which is trusted first.
pub(crate) fn detect(record: &[u8]) -> Option<Format> {
    let start = record.iter().position(|b| !b.is_ascii_whitespace())?;
    let parsed;
    let shape = if record[start] == b'{' {
        match serde_json::from_slice::<Value>(record) {
            Ok(Value::Object(obj)) => {
                if let Some(f) = obj
                    .get("p_log_type")
                    .and_then(Value::as_str)
                    .and_then(util::panther_log_type)
                {
                    return Some(f);
                }
                parsed = obj;
                Shape::Json(&parsed)
            }
            _ => return None,
        }
    } else {
        Shape::Text(std::str::from_utf8(record).ok()?)
    };
    DETECTION_ORDER
        .iter()
        .copied()
        .find(|f| detects(*f, &shape))
}

fn detects(format: Format, shape: &Shape<'_>) -> bool {
    match format {
        Format::CloudTrail => cloudtrail::detect(shape),
        Format::GuardDuty => guardduty::detect(shape),
        Format::Inspector2 => inspector2::detect(shape),
        Format::Trivy => trivy::detect(shape),
        Format::AwsWaf => aws_waf::detect(shape),
        Format::AwsAlb => aws_alb::detect(shape),
        Format::S3Access => s3_access::detect(shape),
        Format::VpcFlow => vpcflow::detect(shape),
        Format::AzureActivity => azure_activity::detect(shape),
        Format::AzureAudit => azure_audit::detect(shape),
        Format::EntraSignin => entra_signin::detect(shape),
        Format::GcpAudit => gcp_audit::detect(shape),
        Format::GoogleWorkspace => google_workspace::detect(shape),
        Format::Okta => okta::detect(shape),
        Format::GitHub => github::detect(shape),
        Format::Auth0 => auth0::detect(shape),
        Format::DuoAuth => duo_auth::detect(shape),
        Format::DuoAdmin => duo_admin::detect(shape),
        Format::OneLogin => onelogin::detect(shape),
        Format::SlackAudit => slack_audit::detect(shape),
        Format::ZoomOperation => zoom_operation::detect(shape),
        Format::Box => box_events::detect(shape),
        Format::MongoAtlas => mongodb_atlas::detect(shape),
        Format::Otlp => otlp::detect(shape),
        Format::WindowsSecurity => windows_security::detect(shape),
        Format::MysqlAudit => mysql_audit::detect(shape),
        Format::PgAudit => pgaudit::detect(shape),
        Format::Auditd => auditd::detect(shape),
        Format::Netfilter => netfilter::detect(shape),
        Format::AuthLog => authlog::detect(shape),
        Format::Syslog => syslog::detect(shape),
        _ => false,
    }
}

/// Parses a record of a known format.
pub(crate) fn parse(
    format: Format,
    vpc: &mut vpcflow::VpcFlowParser,
    record: &[u8],
    ctx: &ParseContext<'_>,
) -> Result<Vec<Event>, ParseError> {
    match format {
        Format::Auto => Err(ParseError::Unrecognized {
            format: "auto",
            detail: "auto is resolved by detection before parsing".into(),
        }),
        Format::VpcFlow => vpc.parse(record, ctx),
        Format::Auditd => auditd::parse(record, ctx),
        Format::Auth0 => auth0::parse(record, ctx),
        Format::AuthLog => authlog::parse(record, ctx),
        Format::AwsAlb => aws_alb::parse(record, ctx),
        Format::AwsWaf => aws_waf::parse(record, ctx),
        Format::AzureActivity => azure_activity::parse(record, ctx),
        Format::AzureAudit => azure_audit::parse(record, ctx),
        Format::Box => box_events::parse(record, ctx),
        Format::CloudTrail => cloudtrail::parse(record, ctx),
        Format::DuoAdmin => duo_admin::parse(record, ctx),
        Format::DuoAuth => duo_auth::parse(record, ctx),
        Format::EntraSignin => entra_signin::parse(record, ctx),
        Format::GcpAudit => gcp_audit::parse(record, ctx),
        Format::GitHub => github::parse(record, ctx),
        Format::GoogleWorkspace => google_workspace::parse(record, ctx),
        Format::GuardDuty => guardduty::parse(record, ctx),
        Format::Inspector2 => inspector2::parse(record, ctx),
        Format::JsonApp => json_app::parse(record, ctx),
        Format::MongoAtlas => mongodb_atlas::parse(record, ctx),
        Format::MysqlAudit => mysql_audit::parse(record, ctx),
        Format::Netfilter => netfilter::parse(record, ctx),
        Format::Okta => okta::parse(record, ctx),
        Format::OneLogin => onelogin::parse(record, ctx),
        Format::Otlp => otlp::parse(record, ctx),
        Format::PgAudit => pgaudit::parse(record, ctx),
        Format::S3Access => s3_access::parse(record, ctx),
        Format::SlackAudit => slack_audit::parse(record, ctx),
        Format::Syslog => syslog::parse(record, ctx),
        Format::Text => text::parse(record, ctx),
        Format::Trivy => trivy::parse(record, ctx),
        Format::WindowsSecurity => windows_security::parse(record, ctx),
        Format::ZoomOperation => zoom_operation::parse(record, ctx),
    }
}
