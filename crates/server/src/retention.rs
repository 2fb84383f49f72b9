//! Retention (DESIGN.md §9): per-source policies from `[retention]`, a scheduler tick that
//! seals full ledger segments and copies them to cold storage (a local directory or an S3
//! bucket with Object Lock), and deletes local segments once every entry in them is past its
//! source's total retention and no legal hold covers them — each deletion recorded as an
//! audit entry before the files go. The tick takes `now` so tests drive it with a fake clock.
//!
//! Crash safety of archiving: object names are deterministic (`<prefix><first>.seg.zst`,
//! `.idx`, `.manifest`); before uploading, an object already present with the right size and
//! SHA-256 is kept (so a retry never makes a second locked version); the local mark
//! `retention/archived/<first>.json` is written only after HEAD confirms all three.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use evident_ledger::{Entry, EntryKind, LedgerError, PrunedRange, SealedSegment, SegmentInfo};
use evident_s3::sigv4::Credentials;
use evident_s3::{LockMode, Retention as ObjectRetention, S3Client, S3Config, S3Error};
use serde::{Deserialize, Serialize};

use crate::Evident;

const DAY_MS: i64 = 86_400_000;

/// Shortest total retention accepted without `allow_short_retention` (a 12-month audit
/// period).
pub const MIN_TOTAL_DAYS: u32 = 365;

/// `[retention]`: default policy, per-source overrides, archive target.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Days a record stays searchable.
    pub hot_days: u32,
    /// Days a record is kept at all (hot + cold).
    pub total_days: u32,
    /// Accept `total_days` below 365 (recorded as an audit entry).
    pub allow_short_retention: bool,
    /// Per-source overrides, by source name.
    pub sources: BTreeMap<String, SourcePolicy>,
    /// Where sealed segments go; none = no archive (deletion still waits for expiry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<ArchiveConfig>,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            hot_days: 90,
            total_days: 400,
            allow_short_retention: false,
            sources: BTreeMap::new(),
            archive: None,
        }
    }
}

/// `[retention.sources.NAME]`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourcePolicy {
    /// Overrides `retention.hot_days`.
    pub hot_days: Option<u32>,
    /// Overrides `retention.total_days`.
    pub total_days: Option<u32>,
}

/// `[retention.archive]`: a local directory (`path`) or an S3 bucket (`[retention.archive.s3]`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ArchiveConfig {
    /// Local directory.
    pub path: Option<PathBuf>,
    /// S3-compatible bucket.
    pub s3: Option<S3Target>,
}

/// `[retention.archive.s3]`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct S3Target {
    /// `https://s3.<region>.amazonaws.com` or a MinIO URL.
    pub endpoint: String,
    /// Bucket (created with Object Lock enabled).
    pub bucket: String,
    /// Signing region.
    #[serde(default = "default_region")]
    pub region: String,
    /// Key prefix, e.g. `evident/ledger/`.
    #[serde(default)]
    pub prefix: String,
    /// Access key id (else from `access_key_id_env`).
    pub access_key_id: Option<String>,
    /// Secret (else from `secret_access_key_env`).
    pub secret_access_key: Option<String>,
    /// Environment variable holding the access key id.
    #[serde(default = "default_key_env")]
    pub access_key_id_env: String,
    /// Environment variable holding the secret.
    #[serde(default = "default_secret_env")]
    pub secret_access_key_env: String,
    /// Per-object retention set on upload: `COMPLIANCE` (default) or `GOVERNANCE`.
    #[serde(default = "default_mode")]
    pub lock_mode: String,
}

fn default_region() -> String {
    "us-east-1".into()
}
fn default_key_env() -> String {
    "AWS_ACCESS_KEY_ID".into()
}
fn default_secret_env() -> String {
    "AWS_SECRET_ACCESS_KEY".into()
}
fn default_mode() -> String {
    "COMPLIANCE".into()
}

impl RetentionConfig {
    /// `(hot_days, total_days)` for `source`; an inherited hot period is cut to the total.
    pub fn policy(&self, source: &str) -> (u32, u32) {
        let o = self.sources.get(source);
        let total = o.and_then(|p| p.total_days).unwrap_or(self.total_days);
        let hot = o
            .and_then(|p| p.hot_days)
            .unwrap_or(self.hot_days.min(total));
        (hot, total)
    }

    /// Policies shorter than [`MIN_TOTAL_DAYS`]: `(what, days)`.
    fn short(&self) -> Vec<(String, u32)> {
        let mut out = Vec::new();
        if self.total_days < MIN_TOTAL_DAYS {
            out.push(("retention.total_days".to_owned(), self.total_days));
        }
        for (name, p) in &self.sources {
            if let Some(d) = p.total_days.filter(|&d| d < MIN_TOTAL_DAYS) {
                out.push((format!("retention.sources.{name}.total_days"), d));
            }
        }
        out
    }
}

/// Checks `[retention]` at config load; the message is the config error.
pub fn validate(c: &RetentionConfig) -> Result<(), String> {
    if !c.allow_short_retention
        && let Some((what, days)) = c.short().into_iter().next()
    {
        return Err(format!(
            "{what} = {days} is below the {MIN_TOTAL_DAYS} days a SOC 2 audit period needs; set retention.allow_short_retention = true to allow it (the override is recorded in the audit trail)"
        ));
    }
    let mut all = vec![("retention".to_owned(), (c.hot_days, c.total_days))];
    for (name, p) in &c.sources {
        let total = p.total_days.unwrap_or(c.total_days);
        all.push((
            format!("retention.sources.{name}"),
            (p.hot_days.unwrap_or(0), total),
        ));
    }
    for (what, (hot, total)) in all {
        if hot > total {
            return Err(format!(
                "{what}: hot_days = {hot} exceeds total_days = {total}"
            ));
        }
        if total == 0 {
            return Err(format!("{what}: total_days must be at least 1"));
        }
    }
    if let Some(a) = &c.archive {
        match (&a.path, &a.s3) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(
                    "retention.archive: set either path (a local directory) or [retention.archive.s3], not both or neither".into(),
                );
            }
            (None, Some(s3)) if lock_mode(&s3.lock_mode).is_none() => {
                return Err(format!(
                    "retention.archive.s3.lock_mode = {:?}: use COMPLIANCE or GOVERNANCE",
                    s3.lock_mode
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn lock_mode(s: &str) -> Option<LockMode> {
    match s {
        "COMPLIANCE" => Some(LockMode::Compliance),
        "GOVERNANCE" => Some(LockMode::Governance),
        _ => None,
    }
}

/// Everything that can stop a retention step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RetentionError {
    /// Object storage refused or failed.
    #[error(transparent)]
    S3(#[from] S3Error),
    /// The ledger refused (a prune it cannot do safely, I/O).
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The state database failed.
    #[error(transparent)]
    Store(#[from] evident_store::StoreError),
    /// A local file could not be read or written.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// Which file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An uploaded object that does not read back as written.
    #[error("archive object {name}: {reason}")]
    Mismatch {
        /// Object name (bucket/key or file path).
        name: String,
        /// What differs.
        reason: String,
    },
    /// Missing settings (credentials, archive target).
    #[error("retention: {0}")]
    Config(String),
}

/// Where sealed segments go.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // one per engine; boxing buys nothing
pub enum ArchiveTarget {
    /// A local directory (no Object Lock; for tests, NAS mounts, or a later sync job).
    Local(PathBuf),
    /// An S3 bucket.
    S3 {
        /// The client.
        client: S3Client,
        /// Bucket.
        bucket: String,
        /// Key prefix.
        prefix: String,
        /// Per-object retention mode on upload.
        mode: LockMode,
    },
}

impl ArchiveTarget {
    /// The target `[retention.archive]` describes (credentials from config or env).
    pub fn from_config(c: &ArchiveConfig) -> Result<ArchiveTarget, RetentionError> {
        if let Some(p) = &c.path {
            return Ok(ArchiveTarget::Local(p.clone()));
        }
        let Some(s3) = &c.s3 else {
            return Err(RetentionError::Config(
                "retention.archive has neither path nor s3".into(),
            ));
        };
        let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let key = s3
            .access_key_id
            .clone()
            .or_else(|| from_env(&s3.access_key_id_env));
        let secret = s3
            .secret_access_key
            .clone()
            .or_else(|| from_env(&s3.secret_access_key_env));
        let (Some(access_key_id), Some(secret_access_key)) = (key, secret) else {
            return Err(RetentionError::Config(format!(
                "retention.archive.s3: no credentials (set access_key_id and secret_access_key, or {} and {})",
                s3.access_key_id_env, s3.secret_access_key_env
            )));
        };
        let client = S3Client::new(&S3Config {
            endpoint: s3.endpoint.clone(),
            region: s3.region.clone(),
            credentials: Credentials {
                access_key_id,
                secret_access_key,
                session_token: from_env("AWS_SESSION_TOKEN"),
            },
        })?;
        Ok(ArchiveTarget::S3 {
            client,
            bucket: s3.bucket.clone(),
            prefix: s3.prefix.clone(),
            mode: lock_mode(&s3.lock_mode).unwrap_or(LockMode::Compliance),
        })
    }

    fn describe(&self) -> String {
        match self {
            ArchiveTarget::Local(p) => format!("local directory {}", p.display()),
            ArchiveTarget::S3 { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}"),
        }
    }

    /// Stores `bytes` as `name` unless an identical object is already there; then checks
    /// it (HEAD: size and SHA-256). Returns the version id, if the store has versions.
    async fn put_checked(
        &self,
        name: &str,
        bytes: Vec<u8>,
        retain_until_ms: i64,
    ) -> Result<Option<String>, RetentionError> {
        let want_sha = evident_s3::sha256_base64(&bytes);
        let want_len = bytes.len() as u64;
        match self {
            ArchiveTarget::Local(dir) => {
                let path = dir.join(name);
                let same =
                    std::fs::read(&path).is_ok_and(|b| evident_s3::sha256_base64(&b) == want_sha);
                if !same {
                    write_durably(&path, &bytes)?;
                }
                let back = std::fs::read(&path).map_err(|source| RetentionError::Io {
                    op: "read back",
                    path: path.clone(),
                    source,
                })?;
                if back.len() as u64 != want_len || evident_s3::sha256_base64(&back) != want_sha {
                    return Err(RetentionError::Mismatch {
                        name: path.display().to_string(),
                        reason: "read back differs from what was written".into(),
                    });
                }
                Ok(None)
            }
            ArchiveTarget::S3 {
                client,
                bucket,
                prefix,
                mode,
            } => {
                let key = format!("{prefix}{name}");
                let existing = client.head_object(bucket, &key).await?;
                let matches = |h: &evident_s3::ObjectHead| {
                    h.size == want_len && h.checksum_sha256.as_deref() == Some(want_sha.as_str())
                };
                if !existing.as_ref().is_some_and(matches) {
                    let retain_until = DateTime::<Utc>::from_timestamp_millis(retain_until_ms)
                        .unwrap_or_else(Utc::now);
                    client
                        .put_object(
                            bucket,
                            &key,
                            bytes,
                            Some(ObjectRetention {
                                mode: *mode,
                                retain_until,
                            }),
                        )
                        .await?;
                }
                let head = client.head_object(bucket, &key).await?;
                match head {
                    Some(h) if matches(&h) => Ok(h.version_id),
                    Some(h) => Err(RetentionError::Mismatch {
                        name: format!("s3://{bucket}/{key}"),
                        reason: format!(
                            "HEAD says {} bytes, SHA-256 {:?}; uploaded {want_len} bytes, SHA-256 {want_sha}",
                            h.size, h.checksum_sha256
                        ),
                    }),
                    None => Err(RetentionError::Mismatch {
                        name: format!("s3://{bucket}/{key}"),
                        reason: "missing right after upload".into(),
                    }),
                }
            }
        }
    }

    /// Reads an archived object back (rehydrate).
    pub async fn get(&self, name: &str) -> Result<Vec<u8>, RetentionError> {
        match self {
            ArchiveTarget::Local(dir) => {
                let path = dir.join(name);
                std::fs::read(&path).map_err(|source| RetentionError::Io {
                    op: "read",
                    path,
                    source,
                })
            }
            ArchiveTarget::S3 {
                client,
                bucket,
                prefix,
                ..
            } => Ok(client
                .get_object(bucket, &format!("{prefix}{name}"))
                .await?),
        }
    }
}

/// The local record that segment `first` is safely in cold storage (written after HEAD).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ArchivedMark {
    /// First entry.
    pub first: u64,
    /// Last entry (inclusive).
    pub last: u64,
    /// Where (target description).
    pub target: String,
    /// Object names → version ids (S3), in upload order.
    pub objects: Vec<(String, Option<String>)>,
    /// Compressed size.
    pub archive_bytes: u64,
    /// Uncompressed segment size.
    pub segment_bytes: u64,
    /// When the last entry's retention ends (ms): the objects' retain-until.
    pub expires_at_ms: i64,
    /// Per source: entries and entry bytes in the segment.
    pub sources: BTreeMap<String, (u64, u64)>,
    /// An S3 legal hold is set on the objects (a case's hold covers the segment).
    #[serde(default)]
    pub legal_hold: bool,
}

/// What one tick did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Segments archived (first index).
    pub archived: Vec<u64>,
    /// Segments pruned.
    pub pruned: Vec<PrunedRange>,
    /// Expired segments kept because a legal hold covers them.
    pub held: Vec<u64>,
    /// Segments not yet expired (first index).
    pub retained: Vec<u64>,
}

/// The retention engine of one data directory.
pub struct RetentionEngine {
    node: Arc<Evident>,
    target: Option<ArchiveTarget>,
}

impl RetentionEngine {
    /// An engine for `node` with its configured archive target.
    pub fn new(node: Arc<Evident>) -> Result<RetentionEngine, RetentionError> {
        let target = match &node.config.retention.archive {
            Some(a) => Some(ArchiveTarget::from_config(a)?),
            None => None,
        };
        Ok(RetentionEngine { node, target })
    }

    /// An engine with an explicit target (tests, `evident retention` commands).
    pub fn with_target(node: Arc<Evident>, target: Option<ArchiveTarget>) -> RetentionEngine {
        RetentionEngine { node, target }
    }

    /// The archive target, if any.
    pub fn target(&self) -> Option<&ArchiveTarget> {
        self.target.as_ref()
    }

    fn state_dir(&self) -> PathBuf {
        self.node.data.root().join("retention")
    }

    fn mark_path(&self, first: u64) -> PathBuf {
        self.state_dir()
            .join("archived")
            .join(format!("{first:020}.json"))
    }

    /// The archived mark of segment `first`, if it was archived.
    pub fn mark(&self, first: u64) -> Option<ArchivedMark> {
        let bytes = std::fs::read(self.mark_path(first)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// One scheduler step at `now_ms`: record a short-retention override, archive every
    /// full segment not yet archived, prune every expired segment no legal hold covers.
    pub async fn tick(&self, now_ms: i64) -> Result<TickReport, RetentionError> {
        self.record_short_override(now_ms).await?;
        let mut report = TickReport::default();
        let segments: Vec<SegmentInfo> = self.node.ledger.segments();
        for s in segments.iter().filter(|s| !s.active && !s.pruned) {
            if self.target.is_some() && self.mark(s.first).is_none() {
                self.archive(s.first).await?;
                report.archived.push(s.first);
            }
        }
        let held = self.held_indices()?;
        self.sync_legal_holds(&segments, &held).await?;
        for s in segments.iter().filter(|s| !s.active && !s.pruned) {
            let last = s.first + s.count - 1;
            let expires_at_ms = match self.mark(s.first) {
                Some(m) => m.expires_at_ms,
                None => self.scan(s.first, last).await?.0,
            };
            if now_ms < expires_at_ms {
                report.retained.push(s.first);
                continue;
            }
            if held.range(s.first..=last).next().is_some() {
                report.held.push(s.first);
                continue;
            }
            match self.prune(s.first, last, expires_at_ms, now_ms).await {
                Ok(r) => report.pruned.push(r),
                Err(RetentionError::Ledger(LedgerError::PruneRefused { reason, .. })) => {
                    tracing::warn!(first = s.first, %reason, "expired segment not pruned yet");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    /// Seals segment `first`, uploads it (idempotently), and marks it archived once HEAD
    /// confirms every object.
    pub async fn archive(&self, first: u64) -> Result<ArchivedMark, RetentionError> {
        let Some(target) = &self.target else {
            return Err(RetentionError::Config(
                "no [retention.archive] target".into(),
            ));
        };
        let ledger = self.node.ledger.clone();
        let sealed = tokio::task::spawn_blocking(move || ledger.seal_segment(first))
            .await
            .map_err(|e| RetentionError::Config(format!("sealing task: {e}")))??;
        let m = sealed.manifest.clone();
        let (expires_at_ms, sources) = self.scan(m.first, m.last).await?;
        let names = SealedSegment::object_names(first);
        let SealedSegment {
            manifest_note,
            archive,
            index,
            ..
        } = sealed;
        let mut objects = Vec::new();
        // The archive last: its presence with the right checksum is what a reader trusts.
        for (name, bytes) in [
            (&names[1], index),
            (&names[2], manifest_note.into_bytes()),
            (&names[0], archive),
        ] {
            let version = target.put_checked(name, bytes, expires_at_ms).await?;
            objects.push((name.clone(), version));
        }
        let mark = ArchivedMark {
            first: m.first,
            last: m.last,
            target: target.describe(),
            objects,
            archive_bytes: m.archive_bytes,
            segment_bytes: m.segment_bytes,
            expires_at_ms,
            sources,
            legal_hold: false,
        };
        let bytes = serde_json::to_vec_pretty(&mark).unwrap_or_default();
        write_durably(&self.mark_path(first), &bytes)?;
        tracing::info!(first = m.first, last = m.last, target = %mark.target, "segment archived");
        Ok(mark)
    }

    /// Sets (or clears) the S3 legal hold on archived objects as case holds cover (or stop
    /// covering) their segment, so the bucket keeps held evidence past its retain-until too.
    async fn sync_legal_holds(
        &self,
        segments: &[SegmentInfo],
        held: &BTreeSet<u64>,
    ) -> Result<(), RetentionError> {
        let Some(ArchiveTarget::S3 {
            client,
            bucket,
            prefix,
            ..
        }) = &self.target
        else {
            return Ok(());
        };
        for s in segments.iter().filter(|s| !s.active) {
            let Some(mut mark) = self.mark(s.first) else {
                continue;
            };
            let want = held.range(mark.first..=mark.last).next().is_some();
            if want == mark.legal_hold {
                continue;
            }
            for (name, version) in &mark.objects {
                client
                    .put_object_legal_hold(
                        bucket,
                        &format!("{prefix}{name}"),
                        version.as_deref(),
                        want,
                    )
                    .await?;
            }
            mark.legal_hold = want;
            let bytes = serde_json::to_vec_pretty(&mark).unwrap_or_default();
            write_durably(&self.mark_path(s.first), &bytes)?;
            tracing::info!(first = mark.first, on = want, "archive legal hold changed");
        }
        Ok(())
    }

    /// When the last of `first..=last` expires (ms) and per-source entry counts and bytes.
    async fn scan(
        &self,
        first: u64,
        last: u64,
    ) -> Result<(i64, BTreeMap<String, (u64, u64)>), RetentionError> {
        let node = self.node.clone();
        tokio::task::spawn_blocking(move || {
            let mut expires = i64::MIN;
            let mut sources: BTreeMap<String, (u64, u64)> = BTreeMap::new();
            node.ledger.for_each_entry(first, last + 1, |_, bytes| {
                if let Ok(e) = Entry::decode(bytes) {
                    let (_, total) = node.config.retention.policy(&e.source);
                    let at = (e.received_at_ns / 1_000_000) as i64 + i64::from(total) * DAY_MS;
                    expires = expires.max(at);
                    let s = sources.entry(e.source).or_default();
                    s.0 += 1;
                    s.1 += bytes.len() as u64;
                }
            })?;
            Ok((expires, sources))
        })
        .await
        .map_err(|e| RetentionError::Config(format!("scan task: {e}")))?
    }

    /// Appends the audit entry authorising the deletion, checkpoints it, then prunes.
    async fn prune(
        &self,
        first: u64,
        last: u64,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> Result<PrunedRange, RetentionError> {
        let archived = self.mark(first).map(|m| m.target);
        let body = serde_json::json!({
            "type": "retention.delete",
            "first": first,
            "last": last,
            "expired_at_ms": expires_at_ms,
            "at_ms": now_ms,
            "archived": archived,
            "reason": "every entry is past its source's total retention and no legal hold covers them",
        });
        let entry = evident_ledger::prune_authorization(
            crate::audit::AUDIT_SOURCE,
            first,
            last,
            (now_ms.max(0) as u64) * 1_000_000,
            body.to_string().into_bytes(),
        );
        let ledger = self.node.ledger.clone();
        let r = tokio::task::spawn_blocking(move || {
            ledger.prunable(first)?;
            let at = ledger.append(vec![entry])?.first_index;
            ledger.checkpoint()?;
            ledger.prune_segment(first, at)
        })
        .await
        .map_err(|e| RetentionError::Config(format!("prune task: {e}")))??;
        Ok(r)
    }

    /// Ledger indices covered by active legal holds: each held case's audit entries and the
    /// events of every alert linked to it.
    pub fn held_indices(&self) -> Result<BTreeSet<u64>, RetentionError> {
        let db = &self.node.db;
        let mut out = BTreeSet::new();
        for hold in db.legal_holds()? {
            let mut alerts = Vec::new();
            for row in db.case_history(hold.case_id)? {
                out.extend(row.ledger_index);
                match row.record.change {
                    evident_model::CaseChange::Opened { alert: Some(a), .. }
                    | evident_model::CaseChange::AlertJoined { alert: a } => alerts.push(a),
                    _ => {}
                }
            }
            for a in db.alert_bodies(&alerts)? {
                for ev in a["events"].as_array().into_iter().flatten() {
                    if let Some(i) = ev["ledger_index"].as_u64() {
                        out.insert(i);
                    }
                }
            }
        }
        Ok(out)
    }

    /// With `allow_short_retention`, records the short policies once per distinct set.
    async fn record_short_override(&self, now_ms: i64) -> Result<(), RetentionError> {
        let c = &self.node.config.retention;
        let short = c.short();
        if !c.allow_short_retention || short.is_empty() {
            return Ok(());
        }
        let text = short
            .iter()
            .map(|(what, d)| format!("{what} = {d}"))
            .collect::<Vec<_>>()
            .join(", ");
        let path = self.state_dir().join("short_override.txt");
        if std::fs::read_to_string(&path).is_ok_and(|t| t == text) {
            return Ok(());
        }
        let body = serde_json::json!({
            "type": "retention.short_override",
            "at_ms": now_ms,
            "policies": text,
            "minimum_days": MIN_TOTAL_DAYS,
        });
        let entry = Entry {
            kind: EntryKind::Audit,
            received_at_ns: (now_ms.max(0) as u64) * 1_000_000,
            source: crate::audit::AUDIT_SOURCE.to_owned(),
            metadata: vec![("audit".to_owned(), "retention.short_override".to_owned())],
            body: body.to_string().into_bytes(),
        };
        let ledger = self.node.ledger.clone();
        tokio::task::spawn_blocking(move || ledger.append(vec![entry]))
            .await
            .map_err(|e| RetentionError::Config(format!("audit task: {e}")))??;
        write_durably(&path, text.as_bytes())?;
        tracing::warn!(policies = %text, "retention below 365 days allowed by override (audited)");
        Ok(())
    }
}

/// `(source, cutoff_ms)` for the search index: events older than the cutoff leave the hot
/// tier (`SearchWriter::delete_before(source, cutoff_ms)`).
pub fn hot_cutoffs(node: &Evident, now_ms: i64) -> Result<Vec<(String, i64)>, RetentionError> {
    Ok(node
        .db
        .sources()?
        .into_iter()
        .map(|s| {
            let name = s.name.to_string();
            let (hot, _) = node.config.retention.policy(&name);
            (name, now_ms - i64::from(hot) * DAY_MS)
        })
        .collect())
}

/// The retention policy as Markdown, for the evidence package and `retention status`.
pub fn policy_markdown(config: &RetentionConfig, sources: &[String]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Log retention policy\n");
    let _ = writeln!(
        s,
        "Every record is sealed into Evident's tamper-evident ledger when received. Records stay searchable for their source's *hot* period and are kept for its *total* period; full ledger segments are sealed (zstd, signed manifest) and copied to cold storage{}. A segment is deleted only when every record in it is past its total retention and no legal hold covers it; each deletion is recorded as an audit entry before it happens, and the ledger's hash tree keeps the deleted records' hashes, so `evident verify` reports the range as pruned, not damaged.\n",
        match config.archive.as_ref().and_then(|a| a.s3.as_ref()) {
            Some(s3) => format!(
                " in s3://{}/{} with S3 Object Lock ({} mode, retain-until = the end of retention)",
                s3.bucket, s3.prefix, s3.lock_mode
            ),
            None => match config.archive.as_ref().and_then(|a| a.path.as_ref()) {
                Some(p) => format!(" in the local directory {}", p.display()),
                None => " (no archive target is configured)".to_owned(),
            },
        }
    );
    let _ = writeln!(
        s,
        "| source | hot (searchable) days | total retention days |"
    );
    let _ = writeln!(s, "|---|---|---|");
    let _ = writeln!(
        s,
        "| (default) | {} | {} |",
        config.hot_days, config.total_days
    );
    let mut names: BTreeSet<&str> = sources.iter().map(String::as_str).collect();
    names.extend(config.sources.keys().map(String::as_str));
    for name in names {
        let (hot, total) = config.policy(name);
        let _ = writeln!(s, "| {name} | {hot} | {total} |");
    }
    if config.allow_short_retention && !config.short().is_empty() {
        let _ = writeln!(
            s,
            "\nRetention below {MIN_TOTAL_DAYS} days is allowed by an explicit override, recorded in the audit trail."
        );
    }
    s
}

/// Temp file → fsync → rename → fsync directory.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), RetentionError> {
    let io = |op: &'static str, p: &Path| {
        let p = p.to_owned();
        move |source| RetentionError::Io {
            op,
            path: p,
            source,
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let mut f = std::fs::File::create(&tmp).map_err(io("create", &tmp))?;
    std::io::Write::write_all(&mut f, bytes).map_err(io("write", &tmp))?;
    f.sync_all().map_err(io("fsync", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("rename", path))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("fsync", dir))
}

/// How often the server runs a retention tick (the first one a minute after start).
pub const TICK_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Starts the retention scheduler for `serve`: a tick a minute after start, then hourly.
/// Does nothing (and logs why) when the archive target cannot be set up.
pub fn spawn(node: Arc<Evident>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let engine = match RetentionEngine::new(node) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "retention scheduler not started");
                return;
            }
        };
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        let mut every = tokio::time::interval(TICK_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let now_ms = (evident_ledger::now_ns() / 1_000_000) as i64;
            match engine.tick(now_ms).await {
                Ok(r) if !r.archived.is_empty() || !r.pruned.is_empty() => tracing::info!(
                    archived = r.archived.len(),
                    pruned = r.pruned.len(),
                    held = r.held.len(),
                    "retention tick"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention tick failed"),
            }
        }
    })
}

/// Per-source retention state for `evident retention status` and the evidence package.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct SourceRetention {
    /// Source name (`evident` for Evident's own audit entries).
    pub source: String,
    /// Searchable days.
    pub hot_days: u32,
    /// Total retention days.
    pub total_days: u32,
    /// Records in the local ledger.
    pub entries: u64,
    /// Receive time of the oldest record in the local ledger, ms.
    pub oldest_retained_ms: Option<i64>,
    /// Entry bytes in the local ledger.
    pub local_bytes: u64,
    /// Entry bytes of this source in archived segments (cold storage).
    pub archived_bytes: u64,
    /// When the oldest local record's retention ends, ms.
    pub deletion_due_ms: Option<i64>,
}

/// The archive bucket's protection, read back from the bucket.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ArchiveStatus {
    /// `s3://bucket/prefix` or `local directory …`.
    pub target: String,
    /// Object Lock enabled on the bucket (always false for a local directory).
    pub object_lock: bool,
    /// Default retention mode.
    pub default_mode: Option<String>,
    /// Default retention days.
    pub default_days: Option<u32>,
    /// Default retention years.
    pub default_years: Option<u32>,
    /// Bucket versioning status.
    pub versioning: Option<String>,
    /// Segments archived from this ledger.
    pub segments_archived: u64,
    /// Why the bucket could not be read, if it could not.
    pub error: Option<String>,
}

/// Everything `evident retention status` shows.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RetentionStatus {
    /// Per source, by name.
    pub sources: Vec<SourceRetention>,
    /// Earliest time a local segment becomes deletable, ms.
    pub next_deletion_ms: Option<i64>,
    /// Ranges already pruned: "entries A..B pruned by retention (audit entry N)".
    pub pruned: Vec<String>,
    /// Cases under legal hold.
    pub legal_holds: Vec<i64>,
    /// The archive, when configured.
    pub archive: Option<ArchiveStatus>,
    /// The policy text (Markdown) for the evidence package.
    pub policy_markdown: String,
}

impl RetentionEngine {
    /// Retention status now: reads every local entry once (sources, sizes, ages) and the
    /// bucket's lock configuration.
    pub async fn status(&self) -> Result<RetentionStatus, RetentionError> {
        let node = self.node.clone();
        let (mut per_source, next_deletion_ms, marks) =
            tokio::task::spawn_blocking(move || scan_all(&node))
                .await
                .map_err(|e| RetentionError::Config(format!("status task: {e}")))??;
        for m in &marks {
            for (source, (_, bytes)) in &m.sources {
                per_source
                    .entry(source.clone())
                    .or_insert_with(|| empty_source(&self.node.config.retention, source))
                    .archived_bytes += bytes;
            }
        }
        let archive = match &self.target {
            None => None,
            Some(t) => Some(archive_status(t, marks.len() as u64).await),
        };
        let mut names: Vec<String> = per_source.keys().cloned().collect();
        for s in self.node.db.sources()? {
            names.push(s.name.to_string());
        }
        names.sort();
        names.dedup();
        Ok(RetentionStatus {
            sources: per_source.into_values().collect(),
            next_deletion_ms,
            pruned: self
                .node
                .ledger
                .pruned()
                .iter()
                .map(ToString::to_string)
                .collect(),
            legal_holds: self
                .node
                .db
                .legal_holds()?
                .iter()
                .map(|h| h.case_id)
                .collect(),
            archive,
            policy_markdown: policy_markdown(&self.node.config.retention, &names),
        })
    }
}

fn empty_source(c: &RetentionConfig, source: &str) -> SourceRetention {
    let (hot_days, total_days) = c.policy(source);
    SourceRetention {
        source: source.to_owned(),
        hot_days,
        total_days,
        entries: 0,
        oldest_retained_ms: None,
        local_bytes: 0,
        archived_bytes: 0,
        deletion_due_ms: None,
    }
}

type Scan = (
    BTreeMap<String, SourceRetention>,
    Option<i64>,
    Vec<ArchivedMark>,
);

fn scan_all(node: &Evident) -> Result<Scan, RetentionError> {
    let c = &node.config.retention;
    let mut per_source: BTreeMap<String, SourceRetention> = BTreeMap::new();
    let mut next_deletion: Option<i64> = None;
    for s in node.ledger.segments().iter().filter(|s| !s.pruned) {
        let mut expires = i64::MIN;
        node.ledger
            .for_each_entry(s.first, s.first + s.count, |_, bytes| {
                let Ok(e) = Entry::decode(bytes) else { return };
                let at_ms = (e.received_at_ns / 1_000_000) as i64;
                let st = per_source
                    .entry(e.source.clone())
                    .or_insert_with(|| empty_source(c, &e.source));
                st.entries += 1;
                st.local_bytes += bytes.len() as u64;
                if st.oldest_retained_ms.is_none_or(|o| at_ms < o) {
                    st.oldest_retained_ms = Some(at_ms);
                    st.deletion_due_ms = Some(at_ms + i64::from(st.total_days) * DAY_MS);
                }
                expires = expires.max(at_ms + i64::from(st.total_days) * DAY_MS);
            })?;
        if !s.active && expires > i64::MIN {
            next_deletion = Some(next_deletion.map_or(expires, |n| n.min(expires)));
        }
    }
    let mut marks = Vec::new();
    let dir = node.data.root().join("retention").join("archived");
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            if let Some(m) = std::fs::read(e.path())
                .ok()
                .and_then(|b| serde_json::from_slice::<ArchivedMark>(&b).ok())
            {
                marks.push(m);
            }
        }
    }
    marks.sort_by_key(|m| m.first);
    Ok((per_source, next_deletion, marks))
}

async fn archive_status(t: &ArchiveTarget, segments_archived: u64) -> ArchiveStatus {
    let mut st = ArchiveStatus {
        target: t.describe(),
        object_lock: false,
        default_mode: None,
        default_days: None,
        default_years: None,
        versioning: None,
        segments_archived,
        error: None,
    };
    if let ArchiveTarget::S3 { client, bucket, .. } = t {
        match client.get_object_lock_configuration(bucket).await {
            Ok(l) => {
                st.object_lock = l.enabled;
                st.default_mode = l.default_mode.map(|m| m.as_str().to_owned());
                st.default_days = l.default_days;
                st.default_years = l.default_years;
            }
            Err(e) => st.error = Some(e.to_string()),
        }
        match client.get_bucket_versioning(bucket).await {
            Ok(v) => st.versioning = v,
            Err(e) => st.error = st.error.take().or(Some(e.to_string())),
        }
    }
    st
}
