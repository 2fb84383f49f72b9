//! Index tests: known events in, exact hits, stats rows and timechart buckets out; the
//! crash/replay contract of the indexed-through mark.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

use evident_model::{Class, Event, Severity, Status};
use evident_search::{SearchError, SearchIndex, TimeBucket};
use serde_json::json;

const H: i64 = 3_600_000;
const T0: i64 = 1_764_115_200_000; // 2025-11-26T00:00:00Z, a multiple of one hour

/// Twelve events over three hours: (ledger index, source, user, src ip, severity,
/// status, class, raw text).
fn events() -> Vec<(u64, &'static str, Event)> {
    let rows: &[(&str, &str, &str, Severity, Status, Class, &str)] = &[
        (
            "okta",
            "alice",
            "10.0.0.5",
            Severity::Informational,
            Status::Success,
            Class::Authentication,
            "User login to Okta",
        ),
        (
            "okta",
            "alice",
            "10.0.0.6",
            Severity::Informational,
            Status::Success,
            Class::Authentication,
            "User login to Okta",
        ),
        (
            "okta",
            "bob",
            "192.168.1.7",
            Severity::Medium,
            Status::Failure,
            Class::Authentication,
            "Failed password for bob",
        ),
        (
            "okta",
            "bob",
            "192.168.1.7",
            Severity::Medium,
            Status::Failure,
            Class::Authentication,
            "Failed password for bob",
        ),
        (
            "okta",
            "carol",
            "203.0.113.9",
            Severity::High,
            Status::Failure,
            Class::Authentication,
            "Failed password for carol",
        ),
        (
            "cloudtrail",
            "alice",
            "10.1.2.3",
            Severity::Informational,
            Status::Success,
            Class::ApiActivity,
            "DeleteBucket evidence-archive",
        ),
        (
            "cloudtrail",
            "alice",
            "10.1.2.3",
            Severity::Informational,
            Status::Success,
            Class::ApiActivity,
            "DescribeInstances",
        ),
        (
            "cloudtrail",
            "dave",
            "198.51.100.4",
            Severity::Critical,
            Status::Failure,
            Class::ApiActivity,
            "DeleteTrail org-trail",
        ),
        (
            "github",
            "erin",
            "2001:db8::1",
            Severity::Low,
            Status::Success,
            Class::AccountChange,
            "org.add_member erin",
        ),
        (
            "github",
            "erin",
            "2001:db8::2",
            Severity::Low,
            Status::Success,
            Class::AccountChange,
            "repo.create evident",
        ),
        (
            "github",
            "frank",
            "10.0.0.7",
            Severity::Informational,
            Status::Success,
            Class::AccountChange,
            "repo.access frank",
        ),
        (
            "github",
            "alice",
            "10.0.0.8",
            Severity::Informational,
            Status::Success,
            Class::AccountChange,
            "team.add_member alice",
        ),
    ];
    rows.iter()
        .enumerate()
        .map(|(i, (source, user, ip, sev, status, class, raw))| {
            // Four events per hour: 0-3 in hour 0, 4-7 in hour 1, 8-11 in hour 2.
            let time = T0 + (i as i64 / 4) * H + (i as i64 % 4) * 60_000;
            let mut e = Event::new(*class, 1, time);
            e.set("actor.user.name", *user)
                .set("src_endpoint.ip", *ip)
                .set("src_endpoint.port", 40_000 + i as u64)
                .set("raw_data", *raw)
                .set("message", *raw)
                .set("api.operation", raw.split(' ').next().unwrap());
            e.set_severity(*sev).set_status(*status);
            (i as u64, *source, e)
        })
        .collect()
}

fn indexed() -> (tempfile::TempDir, SearchIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open(dir.path()).unwrap();
    let mut w = index.writer(1, 20_000_000).unwrap();
    for (i, source, e) in events() {
        assert!(w.add(i, source, &e).unwrap());
    }
    w.commit(12).unwrap();
    (dir, index)
}

fn count(index: &SearchIndex, q: &str) -> u64 {
    index.search(q, T0, T0 + 3 * H, 100).unwrap().total
}

fn ledger_indexes(index: &SearchIndex, q: &str) -> Vec<u64> {
    index
        .search(q, T0, T0 + 3 * H, 100)
        .unwrap()
        .hits
        .iter()
        .map(|h| h.ledger_index)
        .collect()
}

#[test]
fn filters_count_exactly() {
    let (_d, index) = indexed();
    assert_eq!(count(&index, ""), 12);
    assert_eq!(count(&index, "*"), 12);
    assert_eq!(count(&index, "source:okta"), 5);
    assert_eq!(count(&index, "user:Alice"), 5);
    assert_eq!(count(&index, "actor.user.name:alice"), 5);
    assert_eq!(count(&index, "status:failure"), 4);
    assert_eq!(count(&index, "source:okta AND NOT status:Failure"), 2);
    assert_eq!(count(&index, "source:okta -status:Failure"), 2);
    assert_eq!(count(&index, "-source:okta"), 7);
    assert_eq!(count(&index, "source:github OR source:cloudtrail"), 7);
    assert_eq!(count(&index, "class_name:\"API Activity\""), 3);
    assert_eq!(count(&index, "class_uid:3002"), 5);
    assert_eq!(count(&index, "source:git*"), 4);
    // Full text over the raw record: words, phrases, wildcards.
    assert_eq!(count(&index, "failed"), 3);
    assert_eq!(count(&index, "\"failed password for bob\""), 2);
    assert_eq!(count(&index, "\"password failed\""), 0);
    assert_eq!(count(&index, "delete*"), 2);
    assert_eq!(count(&index, "raw:evidence"), 1);
    // Catch-all dotted paths: strings case-insensitively, numbers by value, wildcards.
    assert_eq!(count(&index, "api.operation:deletebucket"), 1);
    assert_eq!(count(&index, "api.operation:Delete*"), 2);
    assert_eq!(
        count(&index, "activity_id:1 AND metadata.version:1.8.0"),
        12
    );
    assert_eq!(ledger_indexes(&index, "user:carol"), vec![4]);
}

#[test]
fn ranges_and_cidr() {
    let (_d, index) = indexed();
    assert_eq!(count(&index, "severity_id:[3 TO 5]"), 4);
    assert_eq!(count(&index, "severity_id:{3 TO 5]"), 2);
    assert_eq!(count(&index, "severity_id:>=4"), 2);
    assert_eq!(count(&index, "src_endpoint.port:[40010 TO *]"), 2);
    assert_eq!(count(&index, "src_endpoint.ip:10.0.0.0/8"), 6);
    assert_eq!(count(&index, "src_endpoint.ip:10.0.0.0/24"), 4);
    assert_eq!(count(&index, "src_ip:192.168.1.7"), 2);
    assert_eq!(count(&index, "src_endpoint.ip:2001:db8::/32"), 2);
    assert_eq!(count(&index, "src_endpoint.ip:[10.0.0.5 TO 10.0.0.6]"), 2);
    assert_eq!(
        ledger_indexes(&index, "src_endpoint.ip:203.0.113.0/24"),
        vec![4]
    );
}

#[test]
fn time_bounds_exclude_events_outside_the_window() {
    let (_d, index) = indexed();
    // [T0+1h, T0+2h) holds exactly events 4..8.
    let r = index.search("*", T0 + H, T0 + 2 * H, 100).unwrap();
    assert_eq!(r.total, 4);
    assert_eq!(
        r.hits.iter().map(|h| h.ledger_index).collect::<Vec<_>>(),
        vec![7, 6, 5, 4]
    );
    // The end is exclusive, the start inclusive.
    assert_eq!(index.search("*", T0, T0 + 60_000, 10).unwrap().total, 1);
    assert_eq!(index.search("*", T0 + 1, T0 + 60_000, 10).unwrap().total, 0);
    assert!(matches!(
        index.search("*", T0, T0, 10),
        Err(SearchError::Window { .. })
    ));
}

#[test]
fn hits_carry_their_ledger_entry_and_pipes_shape_them() {
    let (_d, index) = indexed();
    let r = index
        .search(
            "source:okta | sort severity_id | head 2 | fields user,src_endpoint.ip,severity",
            T0,
            T0 + 3 * H,
            100,
        )
        .unwrap();
    assert_eq!(r.total, 5);
    assert_eq!(r.hits.len(), 2);
    assert_eq!(r.hits[0].source, "okta");
    assert_eq!(r.hits[0].raw.as_deref(), Some("User login to Okta"));
    assert_eq!(
        r.hits[0].fields.as_ref().unwrap().get("severity"),
        Some(&json!("Informational"))
    );
    assert_eq!(
        r.hits.iter().map(|h| h.ledger_index).collect::<Vec<_>>(),
        vec![0, 1]
    );
    let newest = index.search("user:bob", T0, T0 + 3 * H, 1).unwrap();
    assert_eq!(newest.total, 2);
    assert_eq!(newest.hits[0].ledger_index, 3);
    assert_eq!(newest.hits[0].time, T0 + 3 * 60_000);
    assert_eq!(newest.hits[0].class_name.as_deref(), Some("Authentication"));
    assert_eq!(
        newest.hits[0].message.as_deref(),
        Some("Failed password for bob")
    );
    assert_eq!(
        newest.hits[0].event.as_ref().unwrap()["actor"]["user"]["name"],
        "bob"
    );
    assert!(
        newest.hits[0]
            .event
            .as_ref()
            .unwrap()
            .get("raw_data")
            .is_none()
    );
}

#[test]
fn stats_rows_are_exact() {
    let (_d, index) = indexed();
    let r = index
        .search("| stats count by source", T0, T0 + 3 * H, 100)
        .unwrap();
    assert_eq!(r.total, 12);
    let t = r.table.unwrap();
    assert_eq!(t.columns, vec!["source", "count"]);
    assert_eq!(
        t.rows,
        vec![
            vec![json!("okta"), json!(5)],
            vec![json!("github"), json!(4)],
            vec![json!("cloudtrail"), json!(3)],
        ]
    );
    let t = index
        .search(
            "status:failure | stats count by source, src_endpoint.ip",
            T0,
            T0 + 3 * H,
            100,
        )
        .unwrap()
        .table
        .unwrap();
    assert_eq!(t.columns, vec!["source", "src_endpoint.ip", "count"]);
    assert_eq!(
        t.rows,
        vec![
            vec![json!("okta"), json!("192.168.1.7"), json!(2)],
            vec![json!("cloudtrail"), json!("198.51.100.4"), json!(1)],
            vec![json!("okta"), json!("203.0.113.9"), json!(1)],
        ]
    );
    let t = index
        .search(
            "| stats count by severity_id | sort severity_id | head 2",
            T0,
            T0 + 3 * H,
            100,
        )
        .unwrap()
        .table
        .unwrap();
    assert_eq!(
        t.rows,
        vec![vec![json!(1), json!(6)], vec![json!(2), json!(2)]]
    );
    let t = index
        .search("user:alice | stats count", T0, T0 + 3 * H, 100)
        .unwrap()
        .table
        .unwrap();
    assert_eq!(
        (t.columns, t.rows),
        (vec!["count".to_owned()], vec![vec![json!(5)]])
    );
}

#[test]
fn timechart_buckets_cover_the_window() {
    let (_d, index) = indexed();
    let r = index
        .search("* | timechart 1h count", T0, T0 + 4 * H, 100)
        .unwrap();
    let c = r.timechart.unwrap();
    assert_eq!(c.span_ms, H);
    let counts: Vec<(i64, u64)> = c.buckets.iter().map(|b| (b.start_ms, b.count)).collect();
    assert_eq!(
        counts,
        vec![(T0, 4), (T0 + H, 4), (T0 + 2 * H, 4), (T0 + 3 * H, 0)]
    );
    let r = index
        .search(
            "source:okta OR source:github | timechart 1h count by source",
            T0,
            T0 + 3 * H,
            100,
        )
        .unwrap();
    let b = r.timechart.unwrap().buckets;
    assert_eq!(
        b[1],
        TimeBucket {
            start_ms: T0 + H,
            count: 1,
            by: [("okta".to_owned(), 1)].into_iter().collect(),
        }
    );
    assert_eq!(b[2].by, [("github".to_owned(), 4)].into_iter().collect());
}

#[test]
fn errors_name_what_is_wrong() {
    let (_d, index) = indexed();
    let e = |q: &str| index.search(q, T0, T0 + H, 10).unwrap_err().to_string();
    assert_eq!(
        e("severity_id:high"),
        "query:1:1: severity_id takes a whole number, not 'high'"
    );
    assert_eq!(
        e("x src_endpoint.ip:10.0.0.300"),
        "query:1:3: src_endpoint.ip takes an IP address, a CIDR block (10.0.0.0/8) or a range, not '10.0.0.300'"
    );
    assert_eq!(
        e("user:[a TO b]"),
        "query:1:1: ranges work on time, number and IP fields; user is text"
    );
    assert_eq!(
        e("| stats count by message"),
        "query: cannot group by 'message': stats and timechart group by time, ledger_index, source, class_uid, class_name, activity_id, activity_name, type_uid, status_id, status, severity_id, severity, user, src_endpoint.ip, src_ip, dst_endpoint.ip, dst_ip, src_endpoint.port, dst_endpoint.port"
    );
    assert_eq!(
        e("| stats count by source | sort -total"),
        "query: no column 'total' after stats (columns: source, count)"
    );
    assert_eq!(
        index
            .search("| timechart 1s count", T0, T0 + 3 * H, 10)
            .unwrap_err()
            .to_string(),
        "query: timechart: 10800 buckets of 1000 ms over this window; use a wider span (at most 10000 buckets)"
    );
    assert_eq!(
        e("a | b"),
        "query:1:5: unknown command 'b': expected stats, timechart, sort, head or fields"
    );
}

#[test]
fn a_crash_before_commit_loses_only_the_gap_which_is_replayed_once() {
    let dir = tempfile::tempdir().unwrap();
    let all = events();
    {
        let index = SearchIndex::open(dir.path()).unwrap();
        let mut w = index.writer(1, 20_000_000).unwrap();
        for (i, s, e) in &all[..6] {
            w.add(*i, s, e).unwrap();
        }
        w.commit(6).unwrap();
        // Entries 6..12 are added but the process dies before the commit.
        for (i, s, e) in &all[6..] {
            w.add(*i, s, e).unwrap();
        }
        drop(w);
    }
    let index = SearchIndex::open(dir.path()).unwrap();
    assert_eq!(index.indexed_through().unwrap(), 6);
    assert_eq!(count(&index, "*"), 6);
    // The feeder replays from an earlier point than needed: committed entries are skipped.
    let mut w = index.writer(1, 20_000_000).unwrap();
    assert_eq!(w.indexed_through(), 6);
    let added: Vec<bool> = all
        .iter()
        .map(|(i, s, e)| w.add(*i, s, e).unwrap())
        .collect();
    assert_eq!(added, [vec![false; 6], vec![true; 6]].concat());
    w.commit(12).unwrap();
    assert_eq!(count(&index, "*"), 12);
    assert_eq!(index.indexed_through().unwrap(), 12);
    // The mark never moves back.
    assert!(matches!(
        w.commit(3),
        Err(SearchError::Backwards {
            through: 3,
            committed: 12
        })
    ));
    // A second writer is refused while the first lives.
    assert!(matches!(
        index.writer(1, 20_000_000),
        Err(SearchError::Locked { .. })
    ));
}

#[test]
fn delete_before_removes_one_sources_old_events() {
    let (_d, index) = indexed();
    let mut w = index.writer(1, 20_000_000).unwrap();
    assert_eq!(w.delete_before(&index, "okta", T0 + 2 * 60_000).unwrap(), 2);
    assert_eq!(count(&index, "source:okta"), 3);
    assert_eq!(count(&index, "*"), 10);
    assert_eq!(index.indexed_through().unwrap(), 12);
    w.clear().unwrap();
    assert_eq!(count(&index, "*"), 0);
    assert_eq!(index.indexed_through().unwrap(), 0);
}

#[test]
fn commits_are_spaced_in_time_and_fed_entries_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let all = events();
    let index = SearchIndex::open(dir.path()).unwrap();
    let mut w = index.writer(1, 20_000_000).unwrap();
    let add = |w: &mut evident_search::SearchWriter, range: std::ops::Range<usize>| {
        all[range]
            .iter()
            .map(|(i, s, e)| w.add(*i, s, e).unwrap())
            .collect::<Vec<bool>>()
    };
    assert_eq!(add(&mut w, 0..6), vec![true; 6]);
    // The writer was just opened (a commit's worth of time has not passed): no commit yet.
    assert!(!w.advance(6).unwrap());
    assert_eq!(
        (w.fed_through(), w.indexed_through(), w.pending()),
        (6, 0, 6)
    );
    assert_eq!(count(&index, "*"), 0);
    // Replaying what was fed adds nothing.
    assert_eq!(add(&mut w, 0..6), vec![false; 6]);
    // The idle pipeline flushes.
    w.flush().unwrap();
    assert_eq!(index.indexed_through().unwrap(), 6);
    assert_eq!(count(&index, "*"), 6);
    // Once the interval has passed, advancing commits.
    assert_eq!(add(&mut w, 6..9), vec![true; 3]);
    std::thread::sleep(evident_search::COMMIT_INTERVAL);
    assert!(w.advance(9).unwrap());
    assert_eq!(index.indexed_through().unwrap(), 9);
    // A failed batch is rolled back to the committed mark and fed again.
    assert_eq!(add(&mut w, 9..12), vec![true; 3]);
    w.rollback().unwrap();
    assert_eq!(w.fed_through(), 9);
    assert_eq!(add(&mut w, 9..12), vec![true; 3]);
    assert!(!w.advance(12).unwrap());
    w.flush().unwrap();
    assert_eq!(count(&index, "*"), 12);
    assert_eq!(index.indexed_through().unwrap(), 12);
}

#[test]
fn ids_are_found_in_the_raw_text_and_json_keys_are_not_words() {
    let dir = tempfile::tempdir().unwrap();
    let index = SearchIndex::open(dir.path()).unwrap();
    let mut w = index.writer(1, 20_000_000).unwrap();
    let mut e = Event::new(Class::Authentication, 1, T0);
    e.set("metadata.uid", "9f1c-77ab");
    e.set("actor.session.uid", "S42x");
    e.set("api.operation", "Login");
    e.set(
        "raw_data",
        r#"{"displayName":"Bob Lee","uuid":"9f1c-77ab","session":{"id":"S42x"}}"#,
    );
    w.add(0, "okta", &e).unwrap();
    w.commit(1).unwrap();
    assert_eq!(count(&index, "metadata.uid:9f1c-77ab"), 1);
    assert_eq!(count(&index, "metadata.uid:9f1c-0000"), 0);
    assert_eq!(count(&index, "actor.session.uid:s42x"), 1);
    assert_eq!(count(&index, "api.operation:login"), 1);
    assert_eq!(count(&index, "\"bob lee\""), 1);
    assert_eq!(count(&index, "displayname"), 0);
    assert_eq!(count(&index, "session"), 0);
    // The stored event still shows every attribute.
    let hit = &index.search("*", T0, T0 + H, 1).unwrap().hits[0];
    let event = hit.event.as_ref().unwrap();
    assert_eq!(event["metadata"]["uid"], json!("9f1c-77ab"));
    assert_eq!(event["actor"]["session"]["uid"], json!("S42x"));
    assert_eq!(event.get("raw_data"), None);
}
