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
