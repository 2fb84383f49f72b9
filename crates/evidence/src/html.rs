//! `index.html`: the auditor's entry point. Self-contained (inline CSS and SVG, no scripts,
//! no external assets), printable, relative links only; a narrative per in-scope control
//! linking its sources, rules, alerts, cases and reviews.

use std::fmt::Write as _;

use evident_charts::escape;

use crate::ExportRequest;
use crate::export::Period;
use crate::integrity::{self, Integrity};
use crate::package::Files;
use crate::sections::{ControlRow, case_file, control_rows, time};

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#111}\
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}h3{margin-bottom:.2em}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}\
.gap{color:#a00;font-weight:bold}.covered{color:#060}.unmapped{color:#666}\
figure{margin:1em 0}svg{max-width:100%;height:auto}\
@media print{a{color:inherit;text-decoration:none}h2{page-break-before:always}h2.first{page-break-before:avoid}}";

/// Whether a criterion gets a narrative: a source, rule, alert or log review evidences it.
fn in_scope(r: &ControlRow) -> bool {
    r.status != "unmapped"
        || !r.rules.is_empty()
        || !r.alerts.is_empty()
        || r.reviews.is_some_and(|(_, due)| due > 0)
}

/// Renders `index.html`. `files` are the package's other files (for the file list).
pub(crate) fn index(
    request: &ExportRequest<'_>,
    period: &Period,
    integrity: &Integrity,
    files: &Files,
) -> String {
    let mut h = String::new();
    let origin = escape(request.signer.name());
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>SOC 2 evidence {from} to {to}</title><style>{STYLE}</style></head><body>\n\
    <h1>SOC 2 evidence package: {from} to {to}</h1>\n\
    <p>Log <code>{origin}</code>. Period {from} 00:00 to {to} 24:00 UTC. Generated {gen}. Every file is listed with its SHA-256 in <a href=\"MANIFEST.json\">MANIFEST.json</a>, signed by the log key (<a href=\"MANIFEST.json.sig\">MANIFEST.json.sig</a>); <a href=\"integrity/VERIFY.md\">integrity/VERIFY.md</a> explains how to check it without Evident.</p>\n",
        from = period.from,
        to = period.to,
        gen = time(request.generated_at_ms),
    );
    let signed = period.reviews.iter().filter(|r| r.signed.is_some()).count();
    let events: u64 = period.daily.values().flatten().sum();
    let _ = write!(
        h,
        "<h2 class=\"first\" id=\"summary\">Summary</h2>\n<table>\
<tr><th>Sources</th><td><a href=\"sources/sources.csv\">{}</a> ({} events in the period; <a href=\"sources/daily-counts.csv\">daily counts</a>, <a href=\"sources/gaps.csv\">gaps</a>)</td></tr>\
<tr><th>Alerts</th><td><a href=\"alerts/alerts.csv\">{}</a></td></tr>\
<tr><th>Cases opened</th><td><a href=\"alerts/cases.csv\">{}</a>; sample of {} drawn with seed {} (<a href=\"alerts/sample.json\">how</a>)</td></tr>\
<tr><th>Log reviews</th><td><a href=\"reviews/reviews.csv\">{} signed of {}</a></td></tr>\
<tr><th>Vulnerability scans</th><td><a href=\"vulnerabilities/scans.csv\">scans</a>, <a href=\"vulnerabilities/findings.csv\">findings and remediation</a></td></tr>\
<tr><th>Access</th><td><a href=\"access/access-list.csv\">access list</a>, <a href=\"access/audit-trail.csv\">audit trail of the log system</a></td></tr>\
<tr><th>Retention</th><td><a href=\"retention/retention.md\">policy and status</a></td></tr>\
<tr><th>Incident response plan</th><td><a href=\"ir-plan.md\">ir-plan.md</a></td></tr>\
<tr><th>Control matrix</th><td><a href=\"controls.csv\">controls.csv</a></td></tr>\
<tr><th>Integrity</th><td>checkpoints of tree size {} (<a href=\"{}\">start</a>) and {} (<a href=\"{}\">end</a>), <a href=\"{}\">consistency proof</a>, {} <a href=\"#integrity\">entry proofs</a>, <a href=\"{}\">verifier key</a></td></tr>\
</table>\n",
        period.sources.len(),
        events,
        period.alerts.len(),
        period.period_cases.len(),
        period.sample.items.len(),
        period.sample.seed,
        signed,
        period.reviews.len(),
        integrity.start_size,
        integrity::START,
        integrity.end_size,
        integrity::END,
        integrity::CONSISTENCY,
        integrity.proofs,
        integrity::KEY,
    );

    let rows = control_rows(request, period);
    h.push_str("<h2 id=\"controls\">Controls</h2>\n<table><tr><th>Criterion</th><th>Status</th><th>Events</th><th>Rules</th><th>Alerts</th><th>Cases</th></tr>\n");
    for r in &rows {
        let events: u64 = r.sources.iter().map(|s| s.1).sum();
        let id = if !in_scope(r) {
            escape(r.id)
        } else {
            format!("<a href=\"#{0}\">{0}</a>", escape(r.id))
        };
        let _ = writeln!(
            h,
            "<tr><td>{id}</td><td class=\"{s}\">{s}</td><td>{events}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.rules.len(),
            r.alerts.len(),
            r.cases.len(),
            s = r.status,
        );
    }
    h.push_str("</table>\n");

    h.push_str("<h2 id=\"narrative\">Narrative per control</h2>\n");
    for r in rows.iter().filter(|r| in_scope(r)) {
        let _ = write!(
            h,
            "<h3 id=\"{id}\">{id}: {desc}</h3>\n<p class=\"{st}\">Status: {st}.</p>\n<ul>",
            id = escape(r.id),
            desc = escape(r.description),
            st = r.status
        );
        if r.sources.is_empty() {
            h.push_str("<li>No log source is mapped to this criterion.</li>");
        } else {
            let list = r
                .sources
                .iter()
                .map(|(n, e)| format!("{} ({e} events)", escape(n)))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = write!(
                h,
                "<li>Sources: {list}; see <a href=\"sources/sources.csv\">first and last events</a> and <a href=\"sources/gaps.csv\">days without events</a>.</li>"
            );
        }
        if !r.rules.is_empty() {
            let _ = write!(
                h,
                "<li>Detection rules: {}.</li>",
                r.rules
                    .iter()
                    .map(|(id, title)| format!("{} <small>({})</small>", escape(title), escape(id)))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let _ = write!(
            h,
            "<li><a href=\"alerts/alerts.csv\">Alerts</a> in the period: {}.</li>",
            r.alerts.len()
        );
        if !r.cases.is_empty() {
            let list = r
                .cases
                .iter()
                .map(|c| {
                    if period.sample.items.contains(c) {
                        format!("<a href=\"{}\">#{c} (sampled)</a>", case_file(*c))
                    } else {
                        format!("#{c}")
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            let _ = write!(h, "<li>Cases: {list}.</li>");
        }
        if let Some((signed, due)) = r.reviews {
            let _ = write!(
                h,
                "<li><a href=\"reviews/reviews.csv\">Log reviews</a>: {signed} signed of {due} due.</li>"
            );
        }
        h.push_str("</ul>\n");
    }

    h.push_str("<h2 id=\"sample\">Sampled cases</h2>\n<table><tr><th>Case</th><th>Title</th><th>Severity</th><th>Opened</th><th>Closed</th><th>Stage</th></tr>\n");
    for id in &period.sample.items {
        if let Some(c) = period.case(*id) {
            let _ = writeln!(
                h,
                "<tr><td><a href=\"{}\">#{id}</a> (<a href=\"alerts/sample/case-{id}.json\">JSON</a>)</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                case_file(*id),
                escape(&c.title),
                escape(&c.severity),
                time(c.opened_at_ms),
                c.closed_at_ms.map(time).unwrap_or_default(),
                c.stage.as_str(),
            );
        }
    }
    let _ = writeln!(
        h,
        "</table>\n<p>Population: {} cases opened in the period; the control operated {} so the sample is {} (AICPA table in <a href=\"alerts/sample.json\">alerts/sample.json</a>).</p>",
        period.sample.population,
        period.sample.frequency.as_str(),
        period.sample.items.len()
    );

    h.push_str("<h2 id=\"metrics\">Metrics</h2>\n");
    for stem in ["alerts-per-week", "mttr-by-severity", "open-cases"] {
        let svg = files
            .get(&format!("metrics/{stem}.svg"))
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let _ = writeln!(
            h,
            "<figure>{svg}<figcaption><a href=\"metrics/{stem}.csv\">data (CSV)</a>, <a href=\"metrics/{stem}.svg\">SVG</a></figcaption></figure>"
        );
    }

    let _ = write!(
        h,
        "<h2 id=\"integrity\">Integrity</h2>\n<p>Checkpoints: {}. Read <a href=\"integrity/VERIFY.md\">VERIFY.md</a>; the standalone checker is <a href=\"integrity/verify_package.py\">verify_package.py</a>.</p>\n<p>Evident re-verified the whole log {} time(s) in the period ({} clean); each run is listed in <a href=\"{}\">{}</a> with the ledger entry that sealed it.</p>\n<ul>",
        escape(&integrity.reason),
        integrity.verify_runs.0,
        integrity.verify_runs.1,
        crate::integrity::VERIFY_RUNS,
        crate::integrity::VERIFY_RUNS
    );
    if !integrity.uncovered.is_empty() {
        let _ = write!(
            h,
            "<li>Entries recorded after the end checkpoint, without proof: {}</li>",
            integrity
                .uncovered
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for p in files.keys().filter(|p| p.starts_with("integrity/proofs/")) {
        let _ = write!(h, "<li><a href=\"{p}\">{p}</a></li>");
    }
    h.push_str("</ul>\n<h2 id=\"files\">All files</h2>\n<ul>");
    for p in files.keys() {
        let _ = write!(h, "<li><a href=\"{p}\">{p}</a></li>");
    }
    h.push_str("</ul>\n</body></html>\n");
    h
}
