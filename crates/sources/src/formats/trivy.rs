//! Trivy JSON reports (`trivy image --format json`, and the same report of `trivy fs` /
//! `trivy repo`), as Trivy's "Reporting" documentation shows them
//! (<https://trivy.dev/latest/docs/configuration/reporting/#json>): `SchemaVersion`,
//! `ArtifactName`, `ArtifactType`, `Metadata`, and `Results[]`, each with a `Target` and its
//! `Vulnerabilities[]`.
//!
//! A report yields one Vulnerability Finding (2002), activity Create 1, per vulnerability:
//! `finding_info.title` is `"<VulnerabilityID> in <PkgName>"`, `finding_info.uid` is
//! `<ArtifactName>|<Target>|<PkgID or PkgName>|<VulnerabilityID>` (stable across scans, so
//! repeated reports of the same finding share it), `vulnerabilities[0]` holds the CVE id,
//! CVSS, CWE, references and the package (`InstalledVersion`, `FixedVersion`), the severity
//! word maps to OCSF, and `resources` is the scanned artifact. Each event's `unmapped` is the
//! report's own fields (without `Results`), the result's `Target`/`Class`/`Type`, and the
//! vulnerability object under `Vulnerability`; its `raw_data` is that vulnerability's JSON, so
//! a report of a thousand findings does not copy the whole report a thousand times (the
//! report itself stays in the ledger).
//!
//! A report with no vulnerabilities still yields one event, so "the scan ran and found
//! nothing" is on record: a Vulnerability Finding with activity Other 99 (it neither creates,
//! updates nor closes a finding), severity Informational, `finding_info.title` `"Trivy scan of
//! <ArtifactName>: no vulnerabilities"`, the artifact in `resources`, and the whole report
//! (with any secrets or misconfigurations it holds) in `unmapped`.

use evident_model::{Class, Event, Severity};
use serde_json::{Map, Value};

use super::Shape;
use super::util::{first_cwe, get_str, mark_unparsed_time, parse_time, put, require_str, within};
use crate::parse::{ParseContext, ParseError, json_object};

/// Does the record look like a Trivy report? A numeric `SchemaVersion` and a string
/// `ArtifactName`.
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    obj.get("SchemaVersion").is_some_and(Value::is_number)
        && obj.get("ArtifactName").is_some_and(Value::is_string)
}

/// Normalizes a report into one event per vulnerability (or one for a clean report).
/// `ArtifactName` is required; `Results` must be an array of objects when present, each
/// vulnerability an object with a `VulnerabilityID`. The time is `CreatedAt` (Trivy 0.48 and
/// later), else the receive time.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = json_object(record)?;
    let artifact = require_str(&obj, "ArtifactName")?;
    let created = obj.get("CreatedAt").filter(|v| !v.is_null());
    let parsed = created.and_then(parse_time);
    let time_parsed = created.is_none() || parsed.is_some();
    let time = parsed.unwrap_or_else(|| ctx.received_at_ms());
    let results: &[Value] = match obj.get("Results") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(ParseError::WrongType {
                field: "Results".into(),
                expected: "an array",
            });
        }
    };
    let report = Report {
        artifact,
        artifact_type: get_str(&obj, "ArtifactType"),
        image_id: get_str(&obj, "Metadata.ImageID"),
        time,
    };
    let header: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| k.as_str() != "Results")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();

    let mut events = Vec::new();
    for (i, result) in results.iter().enumerate() {
        let Value::Object(result) = result else {
            return Err(ParseError::WrongType {
                field: format!("Results.{i}"),
                expected: "an object",
            });
        };
        let vulns: &[Value] = match result.get("Vulnerabilities") {
            None | Some(Value::Null) => &[],
            Some(Value::Array(a)) => a,
            Some(_) => {
                return Err(ParseError::WrongType {
                    field: format!("Results.{i}.Vulnerabilities"),
                    expected: "an array",
                });
            }
        };
        for (j, v) in vulns.iter().enumerate() {
            let Value::Object(vuln) = v else {
                return Err(ParseError::WrongType {
                    field: format!("Results.{i}.Vulnerabilities.{j}"),
                    expected: "an object",
                });
            };
            let id = require_str(vuln, "VulnerabilityID")
                .map_err(|err| within(err, &format!("Results.{i}.Vulnerabilities.{j}.")))?;
            let mut e = finding(&report, result, vuln, id);
            let mut unmapped = header.clone();
            for key in ["Target", "Class", "Type"] {
                if let Some(value) = result.get(key) {
                    unmapped.insert(key.to_owned(), value.clone());
                }
            }
            unmapped.insert("Vulnerability".into(), v.clone());
            e.set("raw_data", v.to_string());
            e.set("unmapped", Value::Object(unmapped));
            mark_unparsed_time(&mut e, time_parsed);
            events.push(e);
        }
    }
    if events.is_empty() {
        let mut e = Event::new(Class::VulnerabilityFinding, 99, time);
        product(&mut e);
        let uid = match get_str(&obj, "CreatedAt") {
            Some(at) => format!("{artifact}|{at}"),
            None => artifact.to_owned(),
        };
        e.set("finding_info.uid", uid)
            .set(
                "finding_info.title",
                format!("Trivy scan of {artifact}: no vulnerabilities"),
            )
            .set(
                "message",
                format!("Trivy found no vulnerabilities in {artifact}"),
            );
        e.set("resources", vec![report.resource()]);
        e.set("unmapped", Value::Object(obj));
        mark_unparsed_time(&mut e, time_parsed);
        events.push(e);
    }
    Ok(events)
}

/// What every finding of a report shares.
struct Report<'a> {
    /// `ArtifactName`.
    artifact: &'a str,
    /// `ArtifactType` (`container_image`, `filesystem`, …).
    artifact_type: Option<&'a str>,
    /// `Metadata.ImageID` of a container image.
    image_id: Option<&'a str>,
    /// Report time (ms): `CreatedAt`, else the receive time.
    time: i64,
}

impl Report<'_> {
    /// The scanned artifact as an OCSF resource.
    fn resource(&self) -> Value {
        let mut r = Map::new();
        r.insert("name".into(), self.artifact.into());
        put(&mut r, "type", self.artifact_type);
        put(&mut r, "uid", self.image_id);
        Value::Object(r)
    }
}

/// The event of one vulnerability of one result.
fn finding(
    report: &Report<'_>,
    result: &Map<String, Value>,
    vuln: &Map<String, Value>,
    id: &str,
) -> Event {
    let mut e = Event::new(Class::VulnerabilityFinding, 1, report.time);
    product(&mut e);
    let package = get_str(vuln, "PkgName");
    let target = get_str(result, "Target").unwrap_or("");
    let pkg_key = get_str(vuln, "PkgID").or(package).unwrap_or("");
    e.set(
        "finding_info.uid",
        format!("{}|{target}|{pkg_key}|{id}", report.artifact),
    );
    e.set(
        "finding_info.title",
        match package {
            Some(p) => format!("{id} in {p}"),
            None => id.to_owned(),
        },
    );
    e.set_opt("finding_info.desc", get_str(vuln, "Description"));
    if let Some(class) = get_str(result, "Class") {
        e.set("finding_info.types", vec![Value::from(class)]);
    }
    e.set("status_id", 1).set("status", "New");
    let severity = get_str(vuln, "Severity").map(severity);
    if let Some(s) = severity {
        e.set_severity(s);
    }

    let mut cve = Map::new();
    cve.insert("uid".into(), id.into());
    let cvss = cvss(vuln);
    if !cvss.is_empty() {
        cve.insert("cvss".into(), cvss.into());
    }
    if let Some(t) = vuln.get("PublishedDate").and_then(parse_time) {
        cve.insert("created_time".into(), t.into());
    }
    if let Some(t) = vuln.get("LastModifiedDate").and_then(parse_time) {
        cve.insert("modified_time".into(), t.into());
    }
    let mut v = Map::new();
    v.insert("cve".into(), Value::Object(cve));
    put(&mut v, "title", get_str(vuln, "Title"));
    put(&mut v, "desc", get_str(vuln, "Description"));
    put(&mut v, "severity", severity.map(Severity::caption));
    put(&mut v, "vendor_name", get_str(vuln, "DataSource.Name"));
    put(&mut v, "cwe", first_cwe(vuln.get("CweIDs")));
    if let Some(refs) = vuln.get("References").filter(|r| r.is_array()) {
        v.insert("references".into(), refs.clone());
    }
    let fixed = get_str(vuln, "FixedVersion").filter(|f| !f.is_empty());
    v.insert("is_fix_available".into(), fixed.is_some().into());
    let mut pkg = Map::new();
    put(&mut pkg, "name", package);
    put(&mut pkg, "version", get_str(vuln, "InstalledVersion"));
    put(&mut pkg, "fixed_in_version", fixed);
    put(&mut pkg, "purl", get_str(vuln, "PkgIdentifier.PURL"));
    put(&mut pkg, "path", get_str(vuln, "PkgPath"));
    put(&mut pkg, "package_manager", get_str(result, "Type"));
    v.insert("affected_packages".into(), vec![Value::Object(pkg)].into());
    e.set("vulnerabilities", vec![Value::Object(v)]);
    e.set("resources", vec![report.resource()]);
    e
}

/// `metadata.product` of every Trivy event.
fn product(e: &mut Event) {
    e.set("metadata.product.name", "Trivy")
        .set("metadata.product.vendor_name", "Aqua Security");
}

/// CVSS entries of a vulnerability's `CVSS` map (`{"nvd": {"V3Vector", "V3Score", "V2…"}}`),
/// as OCSF `cvss` objects (version 3.x from the vector's prefix, 2.0 for V2).
fn cvss(vuln: &Map<String, Value>) -> Vec<Value> {
    let Some(sources) = vuln.get("CVSS").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (source, entry) in sources {
        let Some(entry) = entry.as_object() else {
            continue;
        };
        if let Some(score) = entry.get("V3Score").filter(|s| s.is_number()) {
            let vector = get_str(entry, "V3Vector");
            let version = vector
                .and_then(|v| v.strip_prefix("CVSS:"))
                .and_then(|v| v.split('/').next())
                .unwrap_or("3.0");
            out.push(cvss_entry(source, score, vector, version));
        }
        if let Some(score) = entry.get("V2Score").filter(|s| s.is_number()) {
            out.push(cvss_entry(source, score, get_str(entry, "V2Vector"), "2.0"));
        }
    }
    out
}

/// One OCSF `cvss` object.
fn cvss_entry(source: &str, score: &Value, vector: Option<&str>, version: &str) -> Value {
    let mut c = Map::new();
    c.insert("base_score".into(), score.clone());
    put(&mut c, "vector_string", vector);
    c.insert("version".into(), version.into());
    c.insert("vendor_name".into(), source.into());
    Value::Object(c)
}

/// Trivy's severity word as an OCSF severity.
fn severity(word: &str) -> Severity {
    match word {
        "LOW" => Severity::Low,
        "MEDIUM" => Severity::Medium,
        "HIGH" => Severity::High,
        "CRITICAL" => Severity::Critical,
        _ => Severity::Unknown,
    }
}
