//! Receivers: the ways records reach Evident besides `POST /api/v1/ingest/{source}` —
//! listeners that shippers push to and connectors that pull. They all end in [`deliver`],
//! the same intake and ledger path as HTTP ingest, so "acknowledged" means "durable"
//! whichever way a record came in, and each receiver's counters show what it received,
//! stored, rejected and dropped.

pub mod hec;
pub mod otlp;
pub mod syslog;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use evident_ledger::{Entry, EntryKind, now_ns};

use crate::{Evident, IngestOutcome, Intake};

/// What one receiver did since the server started; `GET /metrics` exports these.
#[derive(Debug, Default)]
pub struct ReceiverStats {
    /// Records that arrived (before any check).
    pub received: AtomicU64,
    /// Records durably appended to the ledger.
    pub stored: AtomicU64,
    /// Records refused (bad credentials, too large, undecodable) — the sender was told.
    pub rejected: AtomicU64,
    /// Records lost without telling the sender (UDP with a full intake): the count an
    /// auditor asks about.
    pub dropped: AtomicU64,
}

/// A point-in-time copy of [`ReceiverStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReceiverSnapshot {
    /// See [`ReceiverStats::received`].
    pub received: u64,
    /// See [`ReceiverStats::stored`].
    pub stored: u64,
    /// See [`ReceiverStats::rejected`].
    pub rejected: u64,
    /// See [`ReceiverStats::dropped`].
    pub dropped: u64,
}

impl ReceiverStats {
    /// Copies the counters.
    pub fn snapshot(&self) -> ReceiverSnapshot {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ReceiverSnapshot {
            received: g(&self.received),
            stored: g(&self.stored),
            rejected: g(&self.rejected),
            dropped: g(&self.dropped),
        }
    }
}

/// Counters per receiver name (`http`, `syslog-udp`, `hec`, `otlp`, `okta`, …), created on
/// first use so a new receiver needs no registration.
#[derive(Debug, Default)]
pub struct Receivers(Mutex<BTreeMap<String, Arc<ReceiverStats>>>);

impl Receivers {
    /// The counters of receiver `name`.
    pub fn stats(&self, name: &str) -> Arc<ReceiverStats> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(name.to_owned()).or_default().clone()
    }

    /// Every receiver's counters, by name.
    pub fn snapshot(&self) -> BTreeMap<String, ReceiverSnapshot> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.iter().map(|(k, v)| (k.clone(), v.snapshot())).collect()
    }
}

/// Records bound for one source, already framed (one element per record).
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The source the records belong to (its parser runs on them in the pipeline).
    pub source: String,
    /// The records' bytes, stored verbatim.
    pub records: Vec<Vec<u8>>,
    /// Entry metadata (`peer`, `credential`, `receiver`, …), copied into every entry.
    pub metadata: Vec<(String, String)>,
}

/// Why a delivery was not stored; nothing of it was acknowledged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeliverError {
    /// The ledger could not append (disk full, I/O error).
    #[error("storage: {0}")]
    Storage(#[from] evident_ledger::LedgerError),
    /// The blocking append task died.
    #[error("append task failed: {0}")]
    Task(String),
}

/// Stores `delivery` durably, waiting for room in `intake` first — the back-pressure a
/// stream receiver passes on to its sender by not reading while it waits. Returns once the
/// records are fsynced; counts them on `stats`.
pub async fn deliver(
    node: &Arc<Evident>,
    intake: &Intake,
    stats: &ReceiverStats,
    delivery: Delivery,
) -> Result<IngestOutcome, DeliverError> {
    let n = delivery.records.len();
    let _permits = intake
        .admit(n.min(node.config.ingest.queue_records) as u32)
        .await;
    append(node, stats, delivery, Vec::new()).await
}

/// Like [`deliver`] but never waits: `None` when the intake is full (the caller drops and
/// counts, as a UDP receiver must, or answers 503).
pub async fn try_deliver(
    node: &Arc<Evident>,
    intake: &Intake,
    stats: &ReceiverStats,
    delivery: Delivery,
) -> Option<Result<IngestOutcome, DeliverError>> {
    let n = delivery.records.len();
    let _permits = intake.try_admit(n.min(node.config.ingest.queue_records) as u32)?;
    Some(append(node, stats, delivery, Vec::new()).await)
}

/// [`try_deliver`] for records that also carry metadata of their own (a Splunk HEC event's
/// `hec.time`, `hec.host`, …): `per_record[i]` is appended to the shared metadata of
/// `delivery.records[i]`.
pub async fn try_deliver_each(
    node: &Arc<Evident>,
    intake: &Intake,
    stats: &ReceiverStats,
    delivery: Delivery,
    per_record: Vec<Vec<(String, String)>>,
) -> Option<Result<IngestOutcome, DeliverError>> {
    let n = delivery.records.len();
    let _permits = intake.try_admit(n.min(node.config.ingest.queue_records) as u32)?;
    Some(append(node, stats, delivery, per_record).await)
}

/// What the HTTP receivers' handlers share (Splunk HEC, OTLP, `/metrics`): the node and
/// the intake their records wait in, which tests may hold apart from the node's.
#[derive(Clone)]
pub(crate) struct HttpReceiver {
    /// The node.
    pub(crate) node: Arc<Evident>,
    /// The intake.
    pub(crate) intake: Intake,
}

async fn append(
    node: &Arc<Evident>,
    stats: &ReceiverStats,
    delivery: Delivery,
    per_record: Vec<Vec<(String, String)>>,
) -> Result<IngestOutcome, DeliverError> {
    let received_at_ns = now_ns();
    let Delivery {
        source,
        records,
        metadata,
    } = delivery;
    let mut own = per_record.into_iter();
    let entries: Vec<Entry> = records
        .into_iter()
        .map(|body| {
            let mut metadata = metadata.clone();
            metadata.extend(own.next().unwrap_or_default());
            Entry {
                kind: EntryKind::Log,
                received_at_ns,
                source: source.clone(),
                metadata,
                body,
            }
        })
        .collect();
    let ledger = node.ledger.clone();
    let outcome = tokio::task::spawn_blocking(move || crate::ingest(&ledger, entries, Vec::new()))
        .await
        .map_err(|e| DeliverError::Task(e.to_string()))??;
    stats.stored.fetch_add(outcome.accepted, Ordering::Relaxed);
    node.counters
        .records_accepted
        .fetch_add(outcome.accepted, Ordering::Relaxed);
    Ok(outcome)
}
