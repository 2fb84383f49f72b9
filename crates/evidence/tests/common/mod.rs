//! A small deterministic data set for export tests: a ledger and a state DB with two
//! sources, eight alerts each opening a case (some closed), two weekly reviews (one signed),
//! two Trivy scans (one finding fixed in the second), all in January 2026.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use evident_evidence::{ExportRequest, RuleInfo, Summary};
use evident_ledger::{Entry, EntryKind, Ledger, LedgerOptions, NoteSigner};
use evident_model::{CaseChange, Disposition, Format};
use evident_store::{HealthDelta, SignOff, StateDb};

/// 2026-01-01T00:00:00Z in ms.
pub const JAN1_MS: i64 = 1_767_225_600_000;
/// One day in ms.
pub const DAY_MS: i64 = 86_400_000;
/// The log's origin.
pub const ORIGIN: &str = "evidence.test/log";

/// The fixture: its directory, ledger, key and DB.
pub struct Fixture {
    /// Keeps the temp dir alive.
    pub dir: tempfile::TempDir,
    /// The log.
    pub ledger: Ledger,
    /// Its key (a copy; the ledger holds another).
    pub signer: NoteSigner,
    /// State.
    pub db: StateDb,
}

fn trivy(artifact: &str, cves: &[&str]) -> Vec<u8> {
    let vulns: Vec<serde_json::Value> = cves
        .iter()
        .map(|c| {
            serde_json::json!({"VulnerabilityID": c, "PkgName": "openssl", "PkgID": "openssl@3.0.1",
                "InstalledVersion": "3.0.1", "FixedVersion": "3.0.9", "Severity": "HIGH", "Title": "bug"})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({"SchemaVersion": 2, "ArtifactName": artifact,
        "ArtifactType": "container_image",
        "Results": [{"Target": "app (debian 12)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": vulns}]}))
    .unwrap()
}

fn ns(ms: i64) -> u64 {
    (ms as u64) * 1_000_000
}

/// Seals the DB's unsealed audit rows (case changes, reviews) into the ledger.
fn seal(ledger: &Ledger, db: &StateDb) {
    let rows = db.unsealed_audit_rows().unwrap();
    if rows.is_empty() {
        return;
    }
    let entries = rows
        .iter()
        .map(|r| Entry {
            kind: EntryKind::Audit,
            received_at_ns: ns(JAN1_MS + 20 * DAY_MS),
            source: "evident".into(),
            metadata: vec![
                ("audit".into(), r.kind.clone()),
                ("audit_record".into(), r.id.to_string()),
            ],
            body: r.body.clone().into_bytes(),
        })
        .collect();
    let receipt = ledger.append(entries).unwrap();
    for (i, r) in rows.iter().enumerate() {
        db.mark_audit_sealed(r.id, receipt.first_index + i as u64)
            .unwrap();
    }
}

impl Fixture {
    /// Builds the data set.
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let key = NoteSigner::generate(ORIGIN).unwrap().to_key_string();
        let ledger = Ledger::open(
            &dir.path().join("ledger"),
            NoteSigner::parse(&key).unwrap(),
            LedgerOptions::default(),
        )
        .unwrap();
        let db = StateDb::open(&dir.path().join("state.db")).unwrap();
        db.add_source(&"okta".parse().unwrap(), Format::Okta)
            .unwrap();
        db.add_source(&"trivy".parse().unwrap(), Format::Trivy)
            .unwrap();
        ledger.checkpoint().unwrap();

        // Okta: one record per day on days 1-4 and 8-14 (a gap on days 5-7).
        let mut delta = HealthDelta::default();
        let mut entries = Vec::new();
        for day in (0..4).chain(7..14) {
            let t = JAN1_MS + day * DAY_MS + 3_600_000;
            entries.push(Entry::log(
                "okta",
                ns(t),
                format!("login {day}").into_bytes(),
            ));
            delta.record_events("okta", ns(t), &[t]);
        }
        // Trivy: a scan on day 3 (CVE-1, CVE-2) and day 10 (CVE-1 only).
        for (day, cves) in [
            (2, vec!["CVE-2026-0001", "CVE-2026-0002"]),
            (9, vec!["CVE-2026-0001"]),
        ] {
            let t = JAN1_MS + day * DAY_MS;
            entries.push(Entry::log("trivy", ns(t), trivy("app:1", &cves)));
            delta.record_events("trivy", ns(t), &vec![t; cves.len()]);
        }
        let receipt = ledger.append(entries).unwrap();
        db.apply_health(&delta, 0, receipt.tree_size).unwrap();
        ledger.checkpoint().unwrap();

        // Eight alerts, one per day from day 1, each opening its own case.
        let levels = [
            "High", "Medium", "High", "Low", "Critical", "Medium", "High", "Low",
        ];
        let alerts: Vec<serde_json::Value> = (0..8)
            .map(|i| {
                let t = JAN1_MS + i * DAY_MS + 7_200_000;
                serde_json::json!({"rule_id": format!("rule-{}", i % 2), "rule_title": format!("Rule {}", i % 2),
                    "severity": levels[i as usize], "severity_id": 3, "tsc": if i % 2 == 0 { vec!["CC6.1"] } else { vec!["CC7.2"] },
                    "dedup_key": format!("k{i}"), "first_seen_ms": t, "last_seen_ms": t, "count": 1,
                    "events": [{"ledger_index": 1 + i as u64}]})
            })
            .collect();
        db.store_alerts(&alerts).unwrap();
        let mut ids: Vec<i64> = db.alerts(100, None).unwrap().iter().map(|a| a.id).collect();
        ids.sort();
        for (i, alert) in ids.iter().enumerate() {
            let t = JAN1_MS + i as i64 * DAY_MS + 7_300_000;
            let (case, _) = db
                .open_case(
                    "detector",
                    t,
                    CaseChange::Opened {
                        title: format!("Rule {}", i % 2),
                        severity: levels[i].into(),
                        rule: Some(format!("rule-{}", i % 2)),
                        group_key: format!("k{i}"),
                        alert: Some(*alert),
                    },
                    ledger.size(),
                )
                .unwrap();
            if i % 3 == 0 {
                db.change_case(
                    case.id,
                    "alice",
                    t + 3_600_000 * (i as i64 + 1),
                    &CaseChange::Triaged {
                        disposition: Disposition::FalsePositive,
                        justification: Some("expected admin work".into()),
                    },
                    ledger.size(),
                )
                .unwrap();
            }
        }
        // Weekly reviews: the first signed, the second not.
        for w in 0..2 {
            let start = JAN1_MS + w * 7 * DAY_MS;
            let (review, _) = db
                .schedule_review(
                    "weekly",
                    start,
                    start + 7 * DAY_MS,
                    start + 9 * DAY_MS,
                    ledger.size(),
                )
                .unwrap();
            if w == 0 {
                db.sign_review(
                    review.id,
                    SignOff {
                        reviewer: "bob".into(),
                        at_ms: start + 7 * DAY_MS + 3_600_000,
                        findings: "nothing unusual".into(),
                        follow_ups: vec![],
                        packet_sha256: "ab".repeat(32),
                    },
                    serde_json::json!({}),
                    ledger.size(),
                )
                .unwrap();
            }
        }
        seal(&ledger, &db);
        ledger.checkpoint().unwrap();
        let signer = NoteSigner::parse(&key).unwrap();
        Fixture {
            dir,
            ledger,
            signer,
            db,
        }
    }

    /// Exports January 1-14 into `out` with `seed`.
    pub fn export(&self, out: &Path, seed: u64, zip: bool) -> Summary {
        let request = self.request(out.to_path_buf(), seed, zip);
        evident_evidence::export(&request, &mut |_: &str, _: u64, _: u64| {}).unwrap()
    }

    /// The request [`Fixture::export`] uses.
    pub fn request(&self, out: PathBuf, seed: u64, zip: bool) -> ExportRequest<'_> {
        ExportRequest {
            ledger: &self.ledger,
            signer: &self.signer,
            db: &self.db,
            from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 1, 14).unwrap(),
            out,
            zip,
            seed,
            generated_at_ms: JAN1_MS + 30 * DAY_MS,
            source_criteria: BTreeMap::from([
                ("okta".into(), vec!["CC6.1".into(), "CC6.2".into()]),
                ("trivy".into(), vec!["CC7.1".into()]),
            ]),
            rules: vec![RuleInfo {
                id: "rule-0".into(),
                title: "Rule 0".into(),
                level: "high".into(),
                tsc: vec!["CC6.1".into()],
            }],
            access_csv: "kind,name,role\nuser,alice,admin\n".into(),
            retention_markdown: "# Retention\n\n400 days.\n".into(),
            ir_plan_markdown: "# Incident response plan\n".into(),
        }
    }
}
