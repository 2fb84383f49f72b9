//! The pipeline after the ledger: source health (volume, errors, skew, silence) and the
//! control-mapping matrix, computed from entries with known event and receive times.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use evident_ledger::{Entry, EntryKind};
use evident_model::Format;
use evident_server::{DataDir, Evident, Pipeline, controls_matrix, source_report};

const HOUR_MS: i64 = 3_600_000;
/// 2025-11-20T00:00:00Z
const T0_MS: i64 = 1_763_596_800_000;

fn node() -> (tempfile::TempDir, Evident) {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.test/health").unwrap();
    let node = Evident::open(&data).unwrap();
    (dir, node)
}

fn entry(source: &str, received_ms: i64, body: String) -> Entry {
    Entry {
        kind: EntryKind::Log,
        received_at_ns: received_ms as u64 * 1_000_000,
        source: source.into(),
        metadata: vec![],
        body: body.into_bytes(),
    }
}

/// A pgaudit line with this event time.
fn pg_line(event_ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(event_ms).unwrap();
    format!(
        "{} UTC [4242] app@customers LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,\"SELECT 1\",<not logged>",
        t.format("%Y-%m-%d %H:%M:%S%.3f")
    )
}

#[test]
fn health_counts_events_errors_skew_and_silence() {
    let (_dir, node) = node();
    node.db
        .add_source_with_cadence(&"db".parse().unwrap(), Format::PgAudit, Some(3600))
        .unwrap();
    node.db
        .add_source_with_cadence(&"app".parse().unwrap(), Format::JsonApp, Some(3600))
        .unwrap();
    let mut entries = Vec::new();
    // db: 10 records received on time over 10 hours, its clock 10 minutes slow.
    for h in 0..10 {
        let received = T0_MS + h * HOUR_MS;
        entries.push(entry("db", received, pg_line(received - 600_000)));
    }
    // app: two good JSON records, one broken; last one 5 hours before "now".
    entries.push(entry(
        "app",
        T0_MS,
        r#"{"ts":"2025-11-20T00:00:00Z","msg":"a"}"#.into(),
    ));
    entries.push(entry(
        "app",
        T0_MS + HOUR_MS,
        r#"{"ts":"2025-11-20T01:00:00Z","msg":"b"}"#.into(),
    ));
    entries.push(entry(
        "app",
        T0_MS + 2 * HOUR_MS,
        r#"{"ts": "2025-11-20T02:"#.into(),
    ));
    node.ledger.append(entries).unwrap();

    let mut pipeline = Pipeline::new(Default::default());
    assert_eq!(pipeline.catch_up(&node.ledger, &node.db).unwrap(), 13);
    assert_eq!(
        pipeline.catch_up(&node.ledger, &node.db).unwrap(),
        0,
        "nothing is counted twice"
    );
    // A fresh pipeline (a restart) resumes from the persisted watermark.
    assert_eq!(
        Pipeline::new(Default::default())
            .catch_up(&node.ledger, &node.db)
            .unwrap(),
        0
    );

    let now = T0_MS + 9 * HOUR_MS + 30 * 60_000;
    let report = source_report(&node, now).unwrap();
    let app = report.iter().find(|r| r.name == "app").unwrap();
    let db = report.iter().find(|r| r.name == "db").unwrap();
    assert_eq!((db.events, db.parse_errors), (10, 0));
    assert_eq!(db.last_received_ms, Some(T0_MS + 9 * HOUR_MS));
    assert_eq!(db.last_event_ms, Some(T0_MS + 9 * HOUR_MS - 600_000));
    // 600 s falls in the [512, 1024) bucket.
    assert_eq!(db.skew_p50_secs, Some(768.0));
    assert!(db.skewed, "10 minutes is over the 300 s default threshold");
    assert!(!db.silent);
    assert_eq!(db.events_last_24h, 10);
    assert_eq!(db.hourly[23], 1);

    assert_eq!((app.events, app.parse_errors), (2, 1));
    assert!(
        app.last_error
            .as_deref()
            .unwrap()
            .starts_with("invalid JSON: EOF while parsing")
    );
    assert!(app.silent, "last record 7.5 h ago, cadence 1 h");
    assert!(!app.skewed);
}

#[test]
fn controls_matrix_maps_sources_to_criteria_and_names_gaps() {
    let (_dir, node) = node();
    node.db
        .add_source(&"db".parse().unwrap(), Format::PgAudit)
        .unwrap();
    node.db
        .add_source(&"okta".parse().unwrap(), Format::Okta)
        .unwrap();
    node.ledger
        .append(vec![
            entry("db", T0_MS, pg_line(T0_MS)),
            entry("db", T0_MS + 1, pg_line(T0_MS)),
        ])
        .unwrap();
    Pipeline::new(Default::default())
        .catch_up(&node.ledger, &node.db)
        .unwrap();
    let day = T0_MS / 86_400_000;
    let rows = controls_matrix(&node, day, day + 1).unwrap();
    let row = |id: &str| rows.iter().find(|r| r.id == id).unwrap();
    // Database → C1.2, CC6.1; identity (okta, silent in the period) → CC6.1, CC6.2, CC6.5.
    assert_eq!(row("C1.2").status, "covered");
    assert_eq!(row("C1.2").events, 2);
    assert_eq!(row("CC6.1").status, "covered");
    assert_eq!(
        row("CC6.1")
            .sources
            .iter()
            .map(|s| (s.name.as_str(), s.events))
            .collect::<Vec<_>>(),
        [("db", 2), ("okta", 0)]
    );
    assert_eq!(row("CC6.2").status, "gap");
    assert_eq!(row("CC6.5").status, "gap");
    assert_eq!(row("CC1.1").status, "unmapped");
    // The day before has no events at all: every mapped criterion is a gap.
    let before = controls_matrix(&node, day - 1, day).unwrap();
    assert_eq!(
        before.iter().find(|r| r.id == "C1.2").unwrap().status,
        "gap"
    );
}

/// A silent source and a skewed one become sealed system events, once per condition, and
/// the pack's rules turn each into its own alert (and case).
#[test]
fn silent_and_skewed_sources_raise_system_events_that_alert_once() {
    let (_dir, node) = node();
    node.db
        .add_source_with_cadence(&"db".parse().unwrap(), Format::PgAudit, Some(3600))
        .unwrap();
    node.db
        .add_source_with_cadence(&"app".parse().unwrap(), Format::JsonApp, Some(3600))
        .unwrap();
    // db's clock runs 10 minutes slow; app last sent 5 hours before "now".
    let mut entries: Vec<Entry> = (0..10)
        .map(|h| {
            let received = T0_MS + h * HOUR_MS;
            entry("db", received, pg_line(received - 600_000))
        })
        .collect();
    entries.push(entry(
        "app",
        T0_MS + 4 * HOUR_MS,
        r#"{"ts":"2025-11-20T04:00:00Z","msg":"a"}"#.into(),
    ));
    node.ledger.append(entries).unwrap();
    let detector = evident_server::detector_for(&node.config, &node.db).unwrap();
    let mut pipeline = Pipeline::new(Default::default()).with_detector(detector);
    pipeline.catch_up(&node.ledger, &node.db).unwrap();

    let now = T0_MS + 9 * HOUR_MS + 60_000;
    let mut watch = evident_server::system_events::HealthWatch::default();
    let raised = watch.check(&node, now).unwrap();
    let events: Vec<serde_json::Value> = (11..node.ledger.size())
        .map(|i| serde_json::from_slice(&node.ledger.entry(i).unwrap().body).unwrap())
        .collect();
    let mut kinds: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["metadata"]["evident"]["source"] != "server")
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["metadata"]["evident"]["source"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            )
        })
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            ("clock.skew".to_owned(), "db".to_owned()),
            ("source.silent".to_owned(), "app".to_owned())
        ]
    );
    assert_eq!(raised as usize, events.len());
    assert_eq!(events[0]["class_uid"], 0);
    assert_eq!(events[0]["metadata"]["product"]["name"], "Evident");
    // The same conditions a minute later raise nothing new.
    assert_eq!(watch.check(&node, now + 60_000).unwrap(), 0);

    pipeline.catch_up(&node.ledger, &node.db).unwrap();
    let mut alerts: Vec<(String, String)> = node
        .db
        .alerts(100, None)
        .unwrap()
        .into_iter()
        .filter(|a| a.alert["group"]["source"] != "server")
        .map(|a| {
            (
                a.rule_id,
                a.alert["group"]["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    alerts.sort();
    let ids = |stem: &str| {
        let text = std::fs::read_to_string(format!(
            "{}/../../rules/evident/{stem}.yml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("id: "))
            .unwrap()
            .to_owned()
    };
    let mut want = vec![
        (ids("evident_clock_skew"), "db".to_owned()),
        (ids("evident_source_silent"), "app".to_owned()),
    ];
    want.sort();
    assert_eq!(alerts, want);
}
