//! Which events a rule sees. Rules for `product: evident` (taxonomy `ocsf`) see every
//! normalized event; vendor rules see the raw record of the formats whose Sigma logsource
//! fits theirs ([`LOGSOURCES`], one table), as a JSON document ([`vendor_document`]).

use evident_model::{Event, Format, Framing};
use serde_json::{Map, Value};

/// The logsource product of rules over normalized (OCSF) events.
pub const EVIDENT_PRODUCT: &str = "evident";

/// Evident format → the Sigma logsources (`product`, `service`) of its raw records. A
/// rule fits a format when its `product` is the same and its `service`, when given, is one
/// of the format's; rules with a `category` describe endpoint telemetry no Evident format
/// carries and fit none.
pub const LOGSOURCES: &[(Format, &str, &[&str])] = &[
    (Format::CloudTrail, "aws", &["cloudtrail"]),
    (Format::VpcFlow, "aws", &["vpcflowlogs"]),
    (Format::AwsWaf, "aws", &["waf"]),
    (Format::GuardDuty, "aws", &["guardduty"]),
    (Format::Inspector2, "aws", &["inspector2"]),
    (Format::AwsAlb, "aws", &["alb"]),
    (Format::S3Access, "aws", &["s3access"]),
    (Format::AzureActivity, "azure", &["activitylogs"]),
    (Format::EntraSignin, "azure", &["signinlogs"]),
    (Format::AzureAudit, "azure", &["auditlogs"]),
    (Format::GcpAudit, "gcp", &["gcp.audit"]),
    (
        Format::GoogleWorkspace,
        "gcp",
        &["google_workspace.admin", "google_workspace.login"],
    ),
    (Format::Okta, "okta", &["okta"]),
    (Format::GitHub, "github", &["audit"]),
    (Format::WindowsSecurity, "windows", &["security"]),
    (Format::AuthLog, "linux", &["auth", "sshd", "sudo"]),
    (Format::Auditd, "linux", &["auditd"]),
    (
        Format::Syslog,
        "linux",
        &["syslog", "cron", "vsftpd", "clamav"],
    ),
    (Format::Netfilter, "linux", &["netfilter"]),
    (Format::PgAudit, "postgresql", &["pgaudit"]),
    (Format::MysqlAudit, "mysql", &["audit"]),
    (Format::JsonApp, "application", &["json"]),
    (Format::Trivy, "trivy", &["trivy"]),
    (Format::Auth0, "auth0", &["auth0"]),
    (Format::DuoAuth, "duo", &["authentication"]),
    (Format::DuoAdmin, "duo", &["administrator"]),
    (Format::OneLogin, "onelogin", &["onelogin"]),
    (Format::SlackAudit, "slack", &["audit"]),
    (Format::ZoomOperation, "zoom", &["operation"]),
    (Format::Box, "box", &["events"]),
    (Format::MongoAtlas, "mongodb_atlas", &["audit"]),
    (Format::Otlp, "opentelemetry", &["logs"]),
];

/// Where a rule's events come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// Normalized OCSF events with `evident.*` enrichment.
    Normalized,
    /// Raw records of this format.
    Vendor(Format),
}

/// The targets a rule's logsource fits (empty: no Evident source feeds it).
pub fn targets(
    product: Option<&str>,
    service: Option<&str>,
    category: Option<&str>,
    taxonomy: Option<&str>,
) -> Vec<Target> {
    let eq = |a: Option<&str>, b: &str| a.is_some_and(|a| a.eq_ignore_ascii_case(b));
    if eq(product, EVIDENT_PRODUCT) || eq(taxonomy, "ocsf") {
        return vec![Target::Normalized];
    }
    if category.is_some() {
        return Vec::new();
    }
    LOGSOURCES
        .iter()
        .filter(|(_, p, services)| {
            eq(product, p)
                && service.is_none_or(|s| services.iter().any(|x| x.eq_ignore_ascii_case(s)))
        })
        .map(|(f, _, _)| Target::Vendor(*f))
        .collect()
}

/// The raw record of `format` as the document vendor rules match: a JSON record as it was
/// sent; a Windows event flattened as Sigma's Windows rules name fields (`EventID` and the
/// `EventData` fields at the top level); a text line as the fields the parser found (under
/// their vendor names, from `unmapped`) plus `raw_line`, the exact line, which keyword
/// rules search. `event` is the normalized event (its `unmapped` and `raw_data`).
/// `None` when there is no raw record to match.
pub fn vendor_document(format: Format, raw: Option<&[u8]>, event: &Event) -> Option<Value> {
    if format == Format::WindowsSecurity {
        return Some(windows_document(event));
    }
    match format.framing() {
        Framing::Json => match serde_json::from_slice::<Value>(raw?) {
            Ok(Value::Object(m)) => Some(Value::Object(m)),
            _ => None,
        },
        Framing::Lines => {
            let mut doc = match event.object("unmapped") {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            let line = match raw {
                Some(r) => String::from_utf8_lossy(r).into_owned(),
                None => event.get("raw_data")?.as_str()?.to_owned(),
            };
            doc.insert("raw_line".into(), Value::String(line));
            Some(Value::Object(doc))
        }
    }
}

/// A Windows Security event as Sigma's Windows rules see it.
pub(crate) fn windows_document(event: &Event) -> Value {
    let mut doc = Map::new();
    // Borrowed when the parser set `unmapped` as one object (it does): copying the whole
    // record first was most of building the document.
    let assembled;
    let unmapped = match event.get("unmapped") {
        Some(Value::Object(m)) => m,
        _ => {
            assembled = match event.object("unmapped") {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            &assembled
        }
    };
    if let Some(Value::Object(winlog)) = unmapped.get("winlog") {
        if let Some(Value::Object(data)) = winlog.get("event_data") {
            doc.extend(data.clone());
        }
        for (from, to) in WINLOG_RENAMED {
            if let Some(v) = winlog.get(from) {
                doc.insert(to.into(), v.clone());
            }
        }
        for (k, v) in unmapped {
            doc.entry(k.clone()).or_insert_with(|| v.clone());
        }
    } else {
        doc = unmapped.clone();
    }
    if let Some(id) = windows_event_id(doc.get("EventID"), event) {
        doc.insert("EventID".into(), id);
    }
    Value::Object(doc)
}

/// `winlog` fields Sigma's Windows rules know by their Windows names.
pub(crate) const WINLOG_RENAMED: [(&str, &str); 5] = [
    ("event_id", "EventID"),
    ("channel", "Channel"),
    ("provider_name", "Provider_Name"),
    ("computer_name", "Computer"),
    ("record_id", "EventRecordID"),
];

/// `EventID` as Windows rules compare it (`EventID: 4728`): the record's, as a number when
/// it is one, else the normalized event's `metadata.event_code`.
pub(crate) fn windows_event_id(recorded: Option<&Value>, event: &Event) -> Option<Value> {
    let as_number = |v: &Value| match v {
        Value::String(s) => s.parse::<u64>().map(Value::from).unwrap_or(v.clone()),
        other => other.clone(),
    };
    match recorded {
        Some(id) => Some(as_number(id)),
        None => event.get("metadata.event_code").map(as_number),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use evident_model::{Class, Event};

    #[test]
    fn logsources_route_to_formats() {
        assert_eq!(
            targets(Some("aws"), Some("cloudtrail"), None, None),
            [Target::Vendor(Format::CloudTrail)]
        );
        assert_eq!(
            targets(Some("linux"), None, None, None),
            [
                Target::Vendor(Format::AuthLog),
                Target::Vendor(Format::Auditd),
                Target::Vendor(Format::Syslog),
                Target::Vendor(Format::Netfilter)
            ]
        );
        assert_eq!(
            targets(Some("Evident"), None, Some("authentication"), None),
            [Target::Normalized]
        );
        assert_eq!(
            targets(None, None, None, Some("ocsf")),
            [Target::Normalized]
        );
        assert!(targets(Some("windows"), None, Some("process_creation"), None).is_empty());
        assert!(targets(Some("macos"), None, None, None).is_empty());
    }

    #[test]
    fn every_format_with_a_logsource_is_listed_once() {
        for f in Format::ALL {
            let n = LOGSOURCES.iter().filter(|(x, _, _)| x == f).count();
            let expected = usize::from(!matches!(f, Format::Auto | Format::Text));
            assert_eq!(n, expected, "{f}");
        }
    }

    #[test]
    fn text_lines_keep_their_fields_and_the_line() {
        let mut e = Event::new(Class::ProcessActivity, 1, 0);
        e.set("unmapped.type", "EXECVE").set("unmapped.a0", "dd");
        let doc = vendor_document(Format::Auditd, Some(b"type=EXECVE a0=dd"), &e).unwrap();
        assert_eq!(
            doc,
            serde_json::json!({"type": "EXECVE", "a0": "dd", "raw_line": "type=EXECVE a0=dd"})
        );
    }

    #[test]
    fn winlogbeat_events_are_flattened() {
        let mut e = Event::new(Class::GroupManagement, 3, 0);
        e.set(
            "unmapped",
            serde_json::json!({"winlog": {"event_id": "4728", "channel": "Security",
                "event_data": {"TargetUserName": "Domain Admins"}}}),
        );
        let doc = vendor_document(Format::WindowsSecurity, None, &e).unwrap();
        assert_eq!(doc["EventID"], 4728);
        assert_eq!(doc["Channel"], "Security");
        assert_eq!(doc["TargetUserName"], "Domain Admins");
    }
}
