//! Retention (issue 9): policies from config, the engine's tick with a fake clock (archive,
//! expiry, legal hold, prune, verify), crash during upload, and S3 Object Lock against moto.
#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns panic on failure too

#[path = "support/moto.rs"]
mod moto;

use std::sync::Arc;

use evident_ledger::{Entry, EntryKind, LedgerOptions, SealedSegment, open_archive, verify};
use evident_s3::sigv4::Credentials;
use evident_s3::{LockConfiguration, LockMode, S3Client, S3Config};
use evident_server::retention::{ArchiveTarget, RetentionEngine, TickReport};
use evident_server::{Config, DataDir, Evident};

const DAY_MS: i64 = 86_400_000;
/// When the test's records arrive (2026-01-01T00:00:00Z).
const T0_MS: i64 = 1_767_225_600_000;

struct Node {
    node: Arc<Evident>,
    _dir: tempfile::TempDir,
}

/// A data directory with `extra` config, small ledger segments, and 1,200 `okta` records
/// received at `T0_MS`, checkpointed.
fn node(extra: &str) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::new(dir.path().join("data"));
    data.init("evident.test/retention").unwrap();
    let mut cfg = std::fs::read_to_string(data.config_path()).unwrap();
    if extra.contains("[retention]") {
        // Replace the defaults `init` wrote.
        let start = cfg.find("[retention]\n").unwrap();
        let end = cfg.find("[retention.sources]\n").unwrap() + "[retention.sources]\n".len();
        cfg.replace_range(start..end, "");
    }
    cfg.push_str(extra);
    std::fs::write(data.config_path(), cfg).unwrap();
    let node = Evident::open_with_ledger_options(
        &data,
        LedgerOptions {
            segment_max_bytes: 16 << 10,
        },
    )
    .unwrap();
    for batch in 0..120u64 {
        let entries = (0..10)
            .map(|i| {
                let n = batch * 10 + i;
                Entry::log(
                    "okta",
                    (T0_MS as u64 + n) * 1_000_000,
                    format!("{{\"uuid\":\"e{n}\",\"pad\":\"{}\"}}", "x".repeat(80)).into_bytes(),
                )
            })
            .collect();
        node.ledger.append(entries).unwrap();
    }
    node.ledger.checkpoint().unwrap();
    Node {
        node: Arc::new(node),
        _dir: dir,
    }
}

fn local_engine(n: &Node) -> (RetentionEngine, std::path::PathBuf) {
    let archive = n.node.data.root().join("archive");
    (
        RetentionEngine::with_target(n.node.clone(), Some(ArchiveTarget::Local(archive.clone()))),
        archive,
    )
}

/// Closed segments whose leaves are all in full tiles (of 1,200 entries: below 1,024).
fn prunable(n: &Node) -> Vec<u64> {
    n.node
        .ledger
        .segments()
        .iter()
        .filter(|s| !s.active && s.first + s.count <= 1024)
        .map(|s| s.first)
        .collect()
}

fn closed(n: &Node) -> Vec<u64> {
    n.node
        .ledger
        .segments()
        .iter()
        .filter(|s| !s.active)
        .map(|s| s.first)
        .collect()
}

fn verify_node(n: &Node) -> evident_ledger::VerifyReport {
    let signer = n.node.data.signer().unwrap();
    verify(
        &n.node.data.ledger_path(),
        &signer.verifier(),
        &mut |_, _| {},
    )
    .unwrap()
}

/// Audit entries of `kind` (metadata `audit`), with their indices.
fn audits(n: &Node, kind: &str) -> Vec<(u64, Entry)> {
    let mut out = Vec::new();
    n.node
        .ledger
        .for_each_entry(0, n.node.ledger.size(), |i, b| {
            let e = Entry::decode(b).unwrap();
            if e.kind == EntryKind::Audit && e.meta("audit") == Some(kind) {
                out.push((i, e));
            }
        })
        .unwrap();
    out
}

#[test]
fn retention_below_a_year_is_refused_at_load_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("evident.toml");
    std::fs::write(
        &p,
        "origin = \"o\"\n[retention]\ntotal_days = 400\n[retention.sources.okta]\ntotal_days = 90\n",
    )
    .unwrap();
    assert_eq!(
        Config::load(&p).unwrap_err().to_string(),
        format!(
            "config {}: retention.sources.okta.total_days = 90 is below the 365 days a SOC 2 audit period needs; set retention.allow_short_retention = true to allow it (the override is recorded in the audit trail)",
            p.display()
        )
    );
    std::fs::write(&p, "origin = \"o\"\n[retention]\nhot_days = 500\n").unwrap();
    assert_eq!(
        Config::load(&p).unwrap_err().to_string(),
        format!(
            "config {}: retention: hot_days = 500 exceeds total_days = 400",
            p.display()
        )
    );
}

#[tokio::test]
async fn an_allowed_short_retention_is_audited_once() {
    let n = node(
        "\n[retention]\nallow_short_retention = true\n[retention.sources.okta]\ntotal_days = 30\n",
    );
    let engine = RetentionEngine::with_target(n.node.clone(), None);
    engine.tick(T0_MS).await.unwrap();
    engine.tick(T0_MS + 1000).await.unwrap();
    let found = audits(&n, "retention.short_override");
    assert_eq!(found.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&found[0].1.body).unwrap();
    assert_eq!(body["policies"], "retention.sources.okta.total_days = 30");
    assert_eq!(body["minimum_days"], 365);
}

#[tokio::test]
async fn nothing_is_deleted_before_expiry_and_pruning_keeps_verify_clean() {
    let n = node("");
    let (engine, archive) = local_engine(&n);
    let closed = closed(&n);
    let prunable = prunable(&n);
    assert!(prunable.len() >= 3, "{closed:?}");

    // Day 399 of 400: everything archived, nothing deleted.
    let r = engine.tick(T0_MS + 399 * DAY_MS).await.unwrap();
    assert_eq!(
        r,
        TickReport {
            archived: closed.clone(),
            retained: closed.clone(),
            ..TickReport::default()
        }
    );
    for first in &closed {
        for name in SealedSegment::object_names(*first) {
            assert!(archive.join(&name).exists(), "{name}");
        }
    }
    assert!(audits(&n, "retention.delete").is_empty());
    assert!(n.node.ledger.pruned().is_empty());

    // Day 401: the segments whose hashes are all in full tiles go, each after its audit entry.
    let r = engine.tick(T0_MS + 401 * DAY_MS).await.unwrap();
    assert!(r.archived.is_empty());
    assert_eq!(
        r.pruned.iter().map(|p| p.first).collect::<Vec<_>>(),
        prunable
    );
    let deletes = audits(&n, "retention.delete");
    assert_eq!(deletes.len(), prunable.len());
    for (p, (index, entry)) in r.pruned.iter().zip(&deletes) {
        assert_eq!(p.audit_entry, *index);
        assert!(*index > p.last);
        let body: serde_json::Value = serde_json::from_slice(&entry.body).unwrap();
        assert_eq!(body["first"], p.first);
        assert_eq!(body["last"], p.last);
        assert_eq!(
            body["expired_at_ms"],
            T0_MS + (p.last as i64) + 400 * DAY_MS
        );
    }
    assert_eq!(
        n.node.ledger.entry(0).unwrap_err().to_string(),
        format!(
            "entry 0 was pruned by retention (audit entry {})",
            r.pruned[0].audit_entry
        )
    );
    let report = verify_node(&n);
    assert!(report.is_clean(), "{:?}", report.damage);
    assert_eq!(report.pruned, r.pruned);

    // The archive still holds the pruned records, and they are the tree's leaves.
    let verifier = n.node.data.signer().unwrap().verifier();
    let [seg, idx, man] = SealedSegment::object_names(prunable[1]);
    let target = engine.target().unwrap();
    let back = open_archive(
        &String::from_utf8(target.get(&man).await.unwrap()).unwrap(),
        &target.get(&seg).await.unwrap(),
        &target.get(&idx).await.unwrap(),
        &verifier,
    )
    .unwrap();
    n.node.ledger.check_rehydrated(&back).unwrap();
    assert_eq!(back.manifest.first, prunable[1]);

    // Status: what is left locally, what is archived, what was pruned.
    let st = engine.status().await.unwrap();
    let kept = 1200 - (r.pruned.last().unwrap().last + 1);
    let okta = st.sources.iter().find(|s| s.source == "okta").unwrap();
    assert_eq!(okta.entries, kept);
    assert_eq!((okta.hot_days, okta.total_days), (90, 400));
    let oldest = T0_MS + (1200 - kept) as i64;
    assert_eq!(okta.oldest_retained_ms, Some(oldest));
    assert_eq!(okta.deletion_due_ms, Some(oldest + 400 * DAY_MS));
    assert_eq!(
        st.pruned,
        r.pruned.iter().map(ToString::to_string).collect::<Vec<_>>()
    );
    let a = st.archive.unwrap();
    assert_eq!(
        (a.object_lock, a.segments_archived),
        (false, closed.len() as u64)
    );
    assert!(st.policy_markdown.contains("| okta | 90 | 400 |"));
}

#[test]
fn the_clock_status_is_sealed_as_an_audit_entry() {
    let n = node("");
    assert!(evident_server::system_events::record_clock_status(&n.node, T0_MS).unwrap());
    let found = audits(&n, "clock.status");
    assert_eq!(found.len(), 1);
    let body: serde_json::Value = serde_json::from_slice(&found[0].1.body).unwrap();
    let now = evident_clock::clock_status().unwrap();
    assert_eq!(body["synchronized"], now.synchronized);
    assert_eq!(body["at_ms"], T0_MS);
    assert!(body["max_error_us"].is_i64());
}

/// Opens case 1 for an alert whose events are entries `events`.
fn case_with_alert(n: &Node, events: &[u64]) -> i64 {
    let db = &n.node.db;
    let alert = serde_json::json!({
        "dedup_key": "r|x", "first_seen_ms": T0_MS, "last_seen_ms": T0_MS, "rule_id": "r",
        "severity_id": 4, "count": 1,
        "events": events.iter().map(|i| serde_json::json!({"ledger_index": i})).collect::<Vec<_>>(),
    });
    db.store_alerts(&[alert]).unwrap();
    let alert_id = db.alerts(10, None).unwrap()[0].id;
    let (case, _) = db
        .open_case(
            "evident",
            T0_MS,
            evident_model::CaseChange::Opened {
                title: "t".into(),
                severity: "High".into(),
                rule: Some("r".into()),
                group_key: "r|x".into(),
                alert: Some(alert_id),
            },
            n.node.ledger.size(),
        )
        .unwrap();
    case.id
}

#[tokio::test]
async fn a_legal_hold_keeps_expired_segments_until_released() {
    let n = node("");
    let (engine, _archive) = local_engine(&n);
    let prunable = prunable(&n);
    let held_first = prunable[1];
    let case = case_with_alert(&n, &[held_first + 2]);
    assert!(
        n.node
            .db
            .place_legal_hold(case, T0_MS, "counsel", "matter 7", 0)
            .unwrap()
    );
    assert!(
        !n.node
            .db
            .place_legal_hold(case, T0_MS, "counsel", "again", 0)
            .unwrap()
    );

    let r = engine.tick(T0_MS + 500 * DAY_MS).await.unwrap();
    assert_eq!(r.held, [held_first]);
    assert_eq!(
        r.pruned.iter().map(|p| p.first).collect::<Vec<_>>(),
        prunable
            .iter()
            .copied()
            .filter(|&f| f != held_first)
            .collect::<Vec<_>>()
    );
    assert_eq!(n.node.ledger.entry(held_first + 2).unwrap().source, "okta");

    assert!(
        n.node
            .db
            .release_legal_hold(case, T0_MS + 501 * DAY_MS, "counsel", 0)
            .unwrap()
    );
    let r = engine.tick(T0_MS + 501 * DAY_MS).await.unwrap();
    assert!(r.held.is_empty());
    assert_eq!(
        r.pruned.iter().map(|p| p.first).collect::<Vec<_>>(),
        [held_first]
    );
    assert!(verify_node(&n).is_clean());
    // Both hold changes are in the audit trail, waiting to be sealed.
    let rows = n.node.db.audit_rows("legal_hold", Some(case)).unwrap();
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0].body.contains("\"type\":\"legal_hold.placed\""),
        "{}",
        rows[0].body
    );
    assert!(
        rows[1].body.contains("\"type\":\"legal_hold.released\""),
        "{}",
        rows[1].body
    );
}

#[tokio::test]
async fn a_crash_between_upload_and_mark_neither_loses_nor_rearchives() {
    let n = node("");
    let (engine, archive) = local_engine(&n);
    let first = closed(&n)[0];
    let mark = engine.archive(first).await.unwrap();
    let names = SealedSegment::object_names(first);
    let before: Vec<_> = names
        .iter()
        .map(|f| {
            std::fs::metadata(archive.join(f))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect();
    // The crash: objects uploaded, local mark never written.
    let mark_path = n
        .node
        .data
        .root()
        .join(format!("retention/archived/{first:020}.json"));
    std::fs::remove_file(&mark_path).unwrap();
    assert_eq!(engine.mark(first), None);
    let r = engine.tick(T0_MS).await.unwrap();
    assert!(r.archived.contains(&first));
    assert_eq!(engine.mark(first), Some(mark));
    let after: Vec<_> = names
        .iter()
        .map(|f| {
            std::fs::metadata(archive.join(f))
                .unwrap()
                .modified()
                .unwrap()
        })
        .collect();
    assert_eq!(before, after, "identical objects are not written again");
    // An object torn by the crash is replaced.
    std::fs::write(archive.join(&names[0]), b"torn").unwrap();
    std::fs::remove_file(&mark_path).unwrap();
    engine.tick(T0_MS).await.unwrap();
    assert_eq!(
        std::fs::read(archive.join(&names[0])).unwrap(),
        n.node.ledger.seal_segment(first).unwrap().archive
    );
}

// ---------------------------------------------------------------- moto: S3 Object Lock

fn s3(endpoint: &str) -> S3Client {
    S3Client::new(&S3Config {
        endpoint: endpoint.to_owned(),
        region: "us-east-1".into(),
        credentials: Credentials {
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
            session_token: None,
        },
    })
    .unwrap()
}

#[tokio::test]
async fn s3_archive_is_locked_undeletable_and_rehydrates_to_the_trees_leaves() {
    if !moto::have("moto_server") {
        return;
    }
    let m = moto::moto();
    let client = s3(&m.endpoint);
    client.create_bucket("archive", true).await.unwrap();
    client
        .put_object_lock_configuration("archive", LockMode::Compliance, 400)
        .await
        .unwrap();
    assert_eq!(
        client
            .get_object_lock_configuration("archive")
            .await
            .unwrap(),
        LockConfiguration {
            enabled: true,
            default_mode: Some(LockMode::Compliance),
            default_days: Some(400),
            default_years: None,
        }
    );
    assert_eq!(
        client
            .get_bucket_versioning("archive")
            .await
            .unwrap()
            .as_deref(),
        Some("Enabled")
    );
    // A bucket without Object Lock reads back as disabled.
    client.create_bucket("plain", false).await.unwrap();
    assert!(
        !client
            .get_object_lock_configuration("plain")
            .await
            .unwrap()
            .enabled
    );

    let n = node("");
    let target = ArchiveTarget::S3 {
        client: client.clone(),
        bucket: "archive".into(),
        prefix: "evident/".into(),
        mode: LockMode::Compliance,
    };
    let engine = RetentionEngine::with_target(n.node.clone(), Some(target.clone()));
    let closed = closed(&n);
    let r = engine.tick(T0_MS + DAY_MS).await.unwrap();
    assert_eq!(r.archived, closed);
    let listed = client.list_objects("archive", "evident/").await.unwrap();
    assert_eq!(listed.len(), 3 * closed.len());

    let first = closed[1];
    let mark = engine.mark(first).unwrap();
    let [seg, idx, man] = SealedSegment::object_names(first);
    let key = format!("evident/{seg}");
    let head = client.head_object("archive", &key).await.unwrap().unwrap();
    assert_eq!(head.lock_mode, Some(LockMode::Compliance));
    assert_eq!(
        head.retain_until.unwrap().timestamp_millis(),
        mark.expires_at_ms
    );
    assert_eq!(
        mark.expires_at_ms,
        T0_MS + (mark.last as i64) + 400 * DAY_MS
    );
    let version = mark
        .objects
        .iter()
        .find(|(name, _)| *name == seg)
        .unwrap()
        .1
        .clone();
    assert_eq!(head.version_id, version);

    // Compliance mode: deleting the locked version is refused.
    let err = client
        .delete_object("archive", &key, version.as_deref())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"));
    assert_eq!(
        err.to_string(),
        format!("S3 DeleteObject s3://archive/{key}: HTTP 403 AccessDenied: Access Denied")
    );

    // A case's legal hold covering the segment puts the objects under S3 legal hold, and
    // its release lifts it.
    assert!(!client.get_object_legal_hold("archive", &key).await.unwrap());
    let case = case_with_alert(&n, &[first + 1]);
    assert!(
        n.node
            .db
            .place_legal_hold(case, T0_MS, "counsel", "matter 7", 0)
            .unwrap()
    );
    engine.tick(T0_MS + DAY_MS).await.unwrap();
    for name in SealedSegment::object_names(first) {
        let k = format!("evident/{name}");
        assert!(
            client.get_object_legal_hold("archive", &k).await.unwrap(),
            "{k}"
        );
    }
    let other = format!("evident/{}", SealedSegment::object_names(closed[0])[0]);
    assert!(
        !client
            .get_object_legal_hold("archive", &other)
            .await
            .unwrap()
    );
    assert!(engine.mark(first).unwrap().legal_hold);
    assert!(
        n.node
            .db
            .release_legal_hold(case, T0_MS, "counsel", 0)
            .unwrap()
    );
    engine.tick(T0_MS + DAY_MS).await.unwrap();
    assert!(!client.get_object_legal_hold("archive", &key).await.unwrap());
    let mark = engine.mark(first).unwrap();

    // Rehydrate from the bucket and check against the tree.
    let verifier = n.node.data.signer().unwrap().verifier();
    let back = open_archive(
        &String::from_utf8(target.get(&man).await.unwrap()).unwrap(),
        &target.get(&seg).await.unwrap(),
        &target.get(&idx).await.unwrap(),
        &verifier,
    )
    .unwrap();
    n.node.ledger.check_rehydrated(&back).unwrap();
    for (i, bytes) in back.iter() {
        assert_eq!(bytes, n.node.ledger.entry_bytes(i).unwrap());
    }

    // Crash after the upload, before the mark: the retry finds the objects, uploads no
    // second version.
    std::fs::remove_file(
        n.node
            .data
            .root()
            .join(format!("retention/archived/{first:020}.json")),
    )
    .unwrap();
    let r = engine.tick(T0_MS + DAY_MS).await.unwrap();
    assert_eq!(r.archived, [first]);
    assert_eq!(
        engine.mark(first).unwrap(),
        mark,
        "same version ids: nothing re-uploaded"
    );
    assert_eq!(
        client
            .list_objects("archive", "evident/")
            .await
            .unwrap()
            .len(),
        3 * closed.len()
    );
}
