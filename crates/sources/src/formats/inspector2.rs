//! Amazon Inspector findings (Inspector v2), as the API reference describes a `Finding`
//! (<https://docs.aws.amazon.com/inspector/v2/APIReference/API_Finding.html>). Three shapes
//! carry them: one finding object; the EventBridge event (`"detail-type": "Inspector2
//! Finding"`, the finding in `detail`); and a `ListFindings` response (`{"findings": […]}`),
//! which yields one event per finding.
//!
//! Every finding becomes a Vulnerability Finding (2002):
//!
//! | finding | activity | `status` |
//! |---|---|---|
//! | `status` CLOSED | Close 3 | Resolved |
//! | `updatedAt` later than `firstObservedAt` | Update 2 | New, or Suppressed for SUPPRESSED |
//! | otherwise | Create 1 | New, or Suppressed for SUPPRESSED |
//!
//! `vulnerabilities` comes from `packageVulnerabilityDetails` (CVE id, CVSS, EPSS, the
//! vulnerable packages as `affected_packages`) or `codeVulnerabilityDetails` (CWE, file and
//! lines); the event time is `updatedAt`, else `lastObservedAt`, else `firstObservedAt`, else
//! the receive time (a time field that is present but not a time is marked
//! `unmapped.evident_parse = "time_not_parsed"`); `resources` from `resources[]`; the severity word maps to OCSF (UNTRIAGED →
//! Unknown). Times may be RFC 3339, epoch seconds, or EventBridge's `Fri Mar 31 19:40:14.939
//! UTC 2023`.

use chrono::{NaiveDateTime, TimeZone, Utc};
use evident_model::{Class, Event, Severity};
use serde_json::{Map, Value};

use super::Shape;
use super::util::{
    first_cwe, get_str, mark_unparsed_time, parse_time, put, require_str, time_field, within,
};
use crate::parse::{ParseContext, ParseError, json_object};

/// Does the record look like an Inspector finding? A `findingArn` of Inspector, directly, in
/// an EventBridge `detail`, or as the first of `findings`.
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    is_finding(obj)
        || obj
            .get("detail")
            .and_then(Value::as_object)
            .is_some_and(is_finding)
        || obj
            .get("findings")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(Value::as_object)
            .is_some_and(is_finding)
}

/// Normalizes a finding, an EventBridge event, or a `ListFindings` page. A finding must have
/// `findingArn`; a page yields one event per finding, each with its own finding as
/// `unmapped` and `raw_data`.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = json_object(record)?;
    if let Some(list) = obj.get("findings") {
        let Value::Array(findings) = list else {
            return Err(ParseError::WrongType {
                field: "findings".into(),
                expected: "an array",
            });
        };
        let mut events = Vec::with_capacity(findings.len());
        for (i, f) in findings.iter().enumerate() {
            let Value::Object(finding) = f else {
                return Err(ParseError::WrongType {
                    field: format!("findings.{i}"),
                    expected: "an object",
                });
            };
            let (mut e, times_parsed) =
                normalize(finding, ctx).map_err(|err| within(err, &format!("findings.{i}.")))?;
            e.set("raw_data", f.to_string());
            e.set("unmapped", f.clone());
            mark_unparsed_time(&mut e, times_parsed);
            events.push(e);
        }
        return Ok(events);
    }
    let (mut e, times_parsed) = match obj.get("detail") {
        Some(Value::Object(detail)) => {
            normalize(detail, ctx).map_err(|err| within(err, "detail."))?
        }
        _ => normalize(&obj, ctx)?,
    };
    e.set("unmapped", Value::Object(obj));
    mark_unparsed_time(&mut e, times_parsed);
    Ok(vec![e])
}

/// An Inspector finding object: its ARN names the `inspector2` service.
fn is_finding(obj: &Map<String, Value>) -> bool {
    get_str(obj, "findingArn").is_some_and(|a| a.contains(":inspector2:"))
}

/// Builds the event from one finding object; the flag is false when a time field was present
/// but not a time.
fn normalize(f: &Map<String, Value>, ctx: &ParseContext<'_>) -> Result<(Event, bool), ParseError> {
    let arn = require_str(f, "findingArn")?;
    let (first, first_ok) = time_field(f, "firstObservedAt", inspector_time);
    let (last, last_ok) = time_field(f, "lastObservedAt", inspector_time);
    let (updated, updated_ok) = time_field(f, "updatedAt", inspector_time);
    let status = get_str(f, "status");
    let activity = match (status, first, updated) {
        (Some("CLOSED"), _, _) => 3,
        (_, Some(first), Some(updated)) if updated > first => 2,
        _ => 1,
    };
    let time = updated
        .or(last)
        .or(first)
        .unwrap_or_else(|| ctx.received_at_ms());
    let mut e = Event::new(Class::VulnerabilityFinding, activity, time);
    e.set("metadata.product.name", "Inspector")
        .set("metadata.product.vendor_name", "AWS")
        .set("metadata.uid", arn);

    let severity = get_str(f, "severity").map(severity);
    if let Some(s) = severity {
        e.set_severity(s);
    }
    let (status_id, status_name) = match status {
        Some("CLOSED") => (4, "Resolved"),
        Some("SUPPRESSED") => (3, "Suppressed"),
        _ => (1, "New"),
    };
    e.set("status_id", status_id).set("status", status_name);

    e.set("finding_info.uid", arn);
    e.set_opt("finding_info.title", get_str(f, "title"));
    e.set_opt("finding_info.desc", get_str(f, "description"));
    if let Some(t) = get_str(f, "type") {
        e.set("finding_info.types", vec![Value::from(t)]);
    }
    e.set_opt("finding_info.created_time", first);
    e.set_opt("finding_info.first_seen_time", first);
    e.set_opt("finding_info.last_seen_time", last);
    e.set_opt("finding_info.modified_time", updated);
    e.set_opt(
        "finding_info.src_url",
        get_str(f, "remediation.recommendation.Url"),
    );

    e.set("cloud.provider", "AWS");
    e.set_opt("cloud.account.uid", get_str(f, "awsAccountId"));
    let resources: Vec<Value> = f
        .get("resources")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_object)
                .map(resource)
                .collect()
        })
        .unwrap_or_default();
    let region = resources
        .first()
        .and_then(|r| r.get("region"))
        .and_then(Value::as_str);
    e.set_opt("cloud.region", region.map(str::to_owned));
    if !resources.is_empty() {
        e.set("resources", resources);
    }

    let mut vulnerability = Map::new();
    if let Some(p) = f
        .get("packageVulnerabilityDetails")
        .and_then(Value::as_object)
    {
        package_vulnerability(&mut vulnerability, p);
    }
    if let Some(c) = f.get("codeVulnerabilityDetails").and_then(Value::as_object) {
        code_vulnerability(&mut vulnerability, c);
    }
    if !vulnerability.is_empty() {
        put(&mut vulnerability, "title", get_str(f, "title"));
        put(&mut vulnerability, "desc", get_str(f, "description"));
        put(
            &mut vulnerability,
            "severity",
            severity.map(Severity::caption),
        );
        if let Some(fix) = get_str(f, "fixAvailable") {
            vulnerability.insert("is_fix_available".into(), (fix == "YES").into());
        }
        if let Some(exploit) = get_str(f, "exploitAvailable") {
            vulnerability.insert("is_exploit_available".into(), (exploit == "YES").into());
        }
        if let Some(t) = first {
            vulnerability.insert("first_seen_time".into(), t.into());
        }
        if let Some(t) = last {
            vulnerability.insert("last_seen_time".into(), t.into());
        }
        e.set("vulnerabilities", vec![Value::Object(vulnerability)]);
    }
    Ok((e, first_ok && last_ok && updated_ok))
}

/// Fills a vulnerability from `packageVulnerabilityDetails`: `cve` (uid, CVSS, EPSS, vendor
/// dates), references, source, and the vulnerable packages.
fn package_vulnerability(v: &mut Map<String, Value>, p: &Map<String, Value>) {
    let mut cve = Map::new();
    put(&mut cve, "uid", get_str(p, "vulnerabilityId"));
    let cvss: Vec<Value> = p
        .get("cvss")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_object)
                .map(|c| {
                    let mut out = Map::new();
                    if let Some(score) = c.get("baseScore").filter(|s| s.is_number()) {
                        out.insert("base_score".into(), score.clone());
                    }
                    put(&mut out, "vector_string", get_str(c, "scoringVector"));
                    put(&mut out, "version", get_str(c, "version"));
                    Value::Object(out)
                })
                .collect()
        })
        .unwrap_or_default();
    if !cvss.is_empty() {
        cve.insert("cvss".into(), cvss.into());
    }
    if let Some(t) = p.get("vendorCreatedAt").and_then(inspector_time) {
        cve.insert("created_time".into(), t.into());
    }
    if let Some(t) = p.get("vendorUpdatedAt").and_then(inspector_time) {
        cve.insert("modified_time".into(), t.into());
    }
    if !cve.is_empty() {
        v.insert("cve".into(), Value::Object(cve));
    }
    if let Some(refs) = p.get("referenceUrls").filter(|r| r.is_array()) {
        v.insert("references".into(), refs.clone());
    }
    put(v, "vendor_name", get_str(p, "source"));
    let packages: Vec<Value> = p
        .get("vulnerablePackages")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_object)
                .map(|pkg| {
                    let mut out = Map::new();
                    put(&mut out, "name", get_str(pkg, "name"));
                    put(&mut out, "version", get_str(pkg, "version"));
                    put(&mut out, "fixed_in_version", get_str(pkg, "fixedInVersion"));
                    put(&mut out, "package_manager", get_str(pkg, "packageManager"));
                    put(&mut out, "architecture", get_str(pkg, "arch"));
                    put(&mut out, "release", get_str(pkg, "release"));
                    put(&mut out, "path", get_str(pkg, "filePath"));
                    if let Some(epoch) = pkg.get("epoch").filter(|n| n.is_number()) {
                        out.insert("epoch".into(), epoch.clone());
                    }
                    Value::Object(out)
                })
                .collect()
        })
        .unwrap_or_default();
    if !packages.is_empty() {
        v.insert("affected_packages".into(), packages.into());
    }
}

/// Fills a vulnerability from `codeVulnerabilityDetails`: the first CWE and the affected
/// file and lines.
fn code_vulnerability(v: &mut Map<String, Value>, c: &Map<String, Value>) {
    put(v, "cwe", first_cwe(c.get("cwes")));
    if let Some(file) = c.get("filePath").and_then(Value::as_object) {
        let mut code = Map::new();
        let mut f = Map::new();
        put(&mut f, "path", get_str(file, "filePath"));
        put(&mut f, "name", get_str(file, "fileName"));
        if !f.is_empty() {
            code.insert("file".into(), Value::Object(f));
        }
        for (from, to) in [("startLine", "start_line"), ("endLine", "end_line")] {
            if let Some(n) = file.get(from).filter(|n| n.is_number()) {
                code.insert(to.into(), n.clone());
            }
        }
        v.insert("affected_code".into(), vec![Value::Object(code)].into());
    }
    put(v, "vendor_name", get_str(c, "detectorName"));
}

/// One `resources[]` entry as an OCSF resource: uid, type, region, partition.
fn resource(r: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    put(&mut out, "uid", get_str(r, "id"));
    put(&mut out, "type", get_str(r, "type"));
    put(&mut out, "region", get_str(r, "region"));
    put(&mut out, "cloud_partition", get_str(r, "partition"));
    Value::Object(out)
}

/// Inspector's severity word as an OCSF severity.
fn severity(word: &str) -> Severity {
    match word {
        "INFORMATIONAL" => Severity::Informational,
        "LOW" => Severity::Low,
        "MEDIUM" => Severity::Medium,
        "HIGH" => Severity::High,
        "CRITICAL" => Severity::Critical,
        _ => Severity::Unknown,
    }
}

/// The times Inspector writes: RFC 3339 or epoch seconds (API, CLI) and `Fri Mar 31
/// 19:40:14.939 UTC 2023` (EventBridge).
fn inspector_time(v: &Value) -> Option<i64> {
    parse_time(v).or_else(|| {
        let s = v.as_str()?;
        NaiveDateTime::parse_from_str(s.trim(), "%a %b %d %H:%M:%S%.f UTC %Y")
            .ok()
            .map(|t| Utc.from_utc_datetime(&t).timestamp_millis())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn eventbridge_and_api_times() {
        let want = Some(1_680_291_614_939);
        assert_eq!(
            inspector_time(&json!("Fri Mar 31 19:40:14.939 UTC 2023")),
            want
        );
        assert_eq!(inspector_time(&json!("2023-03-31T19:40:14.939Z")), want);
        assert_eq!(inspector_time(&json!("soon")), None);
    }
}
