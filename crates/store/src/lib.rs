//! Evident's state database: [`StateDb`] keeps what is not evidence but must survive a
//! restart — registered sources and their ingest credentials and API tokens (stored as
//! SHA-256 hashes, shown once), and the pipeline's watermark with the source health it
//! derived ([`HealthDelta`], [`SourceHealth`]). SQLite today; the narrow API keeps
//! PostgreSQL a drop-in later.
//!
//! ```
//! use evident_store::StateDb;
//! let dir = tempfile::tempdir()?;
//! let db = StateDb::open(&dir.path().join("state.db"))?;
//! let token = db.add_source(&"okta".parse()?, evident_model::Format::Okta)?;
//! assert!(db.authenticate_ingest("okta", &token)?.is_some());
//! assert!(db.authenticate_ingest("okta", "evd_wrong")?.is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod access;
mod alerts;
mod audit;
mod cases;
mod cursors;
mod health;
mod outbox;
mod retention;
mod reviews;

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use evident_model::{Format, SourceName};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

pub use access::{
    ApiTokenInfo, AuthMethod, LOCKOUT_FAILURES, LOCKOUT_MS, LoginRefused, LoginResult,
    MIN_PASSWORD_CHARS, NewUser, SESSION_MS, Session, TokenHolder, TokenRefused, User,
};
pub use alerts::AlertRow;
pub use audit::{AuditRow, INTEGRITY_AUDIT_KIND, SealState};
pub use cases::{CASE_AUDIT_KIND, CaseFilter, CaseHistoryRow, StoredCase};
pub use cursors::ConnectorMark;
pub use health::{HealthDelta, SkewHistogram, SourceHealth};
pub use outbox::{
    AttemptFailure, ExternalLink, NewOutboxMessage, OutboxMessage, OutboxState, idempotency_key,
};
pub use retention::{LEGAL_HOLD_AUDIT_KIND, LegalHold};
pub use reviews::{REVIEW_AUDIT_KIND, Review, SignOff};

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        format TEXT NOT NULL,
        created_at_ns INTEGER NOT NULL
    );
    CREATE TABLE ingest_tokens (
        id INTEGER PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES sources(id),
        token_sha256 BLOB NOT NULL UNIQUE,
        created_at_ns INTEGER NOT NULL
    );",
    "ALTER TABLE sources ADD COLUMN cadence_secs INTEGER;
    CREATE TABLE pipeline (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        next_index INTEGER NOT NULL
    );
    CREATE TABLE source_hourly (
        source TEXT NOT NULL,
        hour INTEGER NOT NULL,
        events INTEGER NOT NULL,
        parse_errors INTEGER NOT NULL,
        PRIMARY KEY (source, hour)
    ) WITHOUT ROWID;
    CREATE TABLE source_daily (
        source TEXT NOT NULL,
        day INTEGER NOT NULL,
        events INTEGER NOT NULL,
        PRIMARY KEY (source, day)
    ) WITHOUT ROWID;
    CREATE TABLE source_health (
        source TEXT PRIMARY KEY,
        events INTEGER NOT NULL,
        parse_errors INTEGER NOT NULL,
        last_received_ns INTEGER,
        first_event_ms INTEGER,
        last_event_ms INTEGER,
        last_error TEXT,
        skew TEXT NOT NULL
    );
    CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        token_sha256 BLOB NOT NULL UNIQUE,
        created_at_ns INTEGER NOT NULL
    );",
    "CREATE TABLE cases (
        id INTEGER PRIMARY KEY,
        group_key TEXT NOT NULL,
        stage TEXT NOT NULL,
        severity TEXT NOT NULL,
        opened_at_ms INTEGER NOT NULL,
        state TEXT NOT NULL
    );
    CREATE INDEX cases_open_by_key ON cases(group_key) WHERE stage <> 'closed';
    CREATE TABLE audit_trail (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        subject INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        body TEXT NOT NULL,
        seal TEXT NOT NULL,
        requested_size INTEGER NOT NULL,
        ledger_index INTEGER,
        UNIQUE (kind, subject, seq)
    );
    CREATE INDEX audit_trail_unsealed ON audit_trail(seal) WHERE seal <> 'sealed';
    CREATE TABLE case_alerts (
        alert_id INTEGER PRIMARY KEY,
        case_id INTEGER NOT NULL REFERENCES cases(id)
    );
    CREATE TABLE reviews (
        id INTEGER PRIMARY KEY,
        schedule TEXT NOT NULL,
        due_at_ms INTEGER NOT NULL,
        signed INTEGER NOT NULL,
        state TEXT NOT NULL,
        UNIQUE (schedule, due_at_ms)
    );",
    "CREATE TABLE connector_marks (
        connector TEXT PRIMARY KEY,
        last_index INTEGER,
        checked_to INTEGER NOT NULL
    );",
    "CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        dedup_key TEXT NOT NULL,
        first_seen_ms INTEGER NOT NULL,
        last_seen_ms INTEGER NOT NULL,
        rule_id TEXT NOT NULL,
        severity_id INTEGER NOT NULL,
        count INTEGER NOT NULL,
        body TEXT NOT NULL,
        UNIQUE (dedup_key, first_seen_ms)
    );
    CREATE INDEX alerts_last_seen ON alerts(last_seen_ms);
    CREATE TABLE change_tickets (
        seq INTEGER PRIMARY KEY,
        ticket_id TEXT NOT NULL,
        body TEXT NOT NULL
    );",
    "CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        integration TEXT NOT NULL,
        case_id INTEGER NOT NULL,
        audit_row_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_ms INTEGER NOT NULL,
        last_error TEXT,
        state TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        sent_ms INTEGER,
        UNIQUE (integration, audit_row_id)
    );
    CREATE INDEX outbox_pending ON outbox(next_attempt_ms) WHERE state = 'pending';
    CREATE TABLE outbox_cursor (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        last_audit_row INTEGER NOT NULL
    );
    CREATE TABLE external_links (
        integration TEXT NOT NULL,
        case_id INTEGER NOT NULL,
        external_id TEXT NOT NULL,
        url TEXT,
        created_ms INTEGER NOT NULL,
        PRIMARY KEY (integration, case_id)
    ) WITHOUT ROWID;",
    access::MIGRATION,
    retention::MIGRATION,
];

/// Errors from the state database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed (I/O, corruption, locked).
    #[error("state database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// `add_source` for a name that is taken.
    #[error("source {0:?} already exists")]
    SourceExists(String),
    /// `create_api_token` for a name that is taken.
    #[error("an API token named {0:?} already exists")]
    TokenExists(String),
    /// A stored value this version does not understand.
    #[error("state database holds an invalid {what}: {value:?}")]
    Invalid {
        /// Which field.
        what: &'static str,
        /// The stored value.
        value: String,
    },
    /// A case change the incident-response process does not allow.
    #[error(transparent)]
    Case(#[from] evident_model::CaseError),
    /// A case id that does not exist.
    #[error("no case {0}")]
    UnknownCase(i64),
    /// A review id that does not exist.
    #[error("no review {0}")]
    UnknownReview(i64),
    /// A review action that is not allowed (the message says why).
    #[error("{0}")]
    Review(String),
    /// An outbox action that is not possible (the message says why).
    #[error("{0}")]
    Outbox(String),
    /// A user, session or token action that is not possible (the message says why).
    #[error("{0}")]
    Access(String),
    /// No randomness available for a token.
    #[error("cannot generate a token: {0}")]
    Random(String),
}

/// A registered source.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Source {
    /// Stable numeric id.
    pub id: i64,
    /// Unique name.
    pub name: SourceName,
    /// Declared format.
    #[serde(serialize_with = "format_name")]
    pub format: Format,
    /// Registration time, ns since the epoch.
    pub created_at_ns: i64,
    /// Expected cadence: at least one record every this many seconds, else `silent`.
    pub cadence_secs: Option<i64>,
}

fn format_name<S: serde::Serializer>(f: &Format, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(f.as_str())
}

/// The state database; cheap to share behind an `Arc`.
pub struct StateDb {
    conn: Mutex<Connection>,
}

impl StateDb {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<StateDb, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let tx = StateDb::write_tx(&mut conn)?;
        for (i, m) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            tx.execute_batch(m)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        tx.commit()?;
        Ok(StateDb {
            conn: Mutex::new(conn),
        })
    }

    /// A write transaction that takes SQLite's write lock at `BEGIN`. The default deferred
    /// transaction reads first and upgrades on its first write; if another process (the
    /// server beside a CLI command) committed in between, SQLite refuses the upgrade at once
    /// with "database is locked" instead of waiting out the busy timeout. Every
    /// read-then-write here goes through this.
    pub(crate) fn write_tx(conn: &mut Connection) -> rusqlite::Result<rusqlite::Transaction<'_>> {
        conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
    }

    pub(crate) fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic mid-statement leaves SQLite consistent (statements are atomic).
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a source and returns its ingest token. Only the token's hash is kept, so
    /// this is the one time it can be shown.
    pub fn add_source(&self, name: &SourceName, format: Format) -> Result<String, StoreError> {
        self.add_source_with_cadence(name, format, None)
    }

    /// [`StateDb::add_source`] with an expected cadence (seconds between records at most).
    pub fn add_source_with_cadence(
        &self,
        name: &SourceName,
        format: Format,
        cadence_secs: Option<i64>,
    ) -> Result<String, StoreError> {
        let token = new_token()?;
        let now = now_ns();
        let mut conn = self.conn();
        let tx = StateDb::write_tx(&mut conn)?;
        let inserted = tx.execute(
            "INSERT INTO sources (name, format, created_at_ns, cadence_secs) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(name) DO NOTHING",
            params![name.as_str(), format.as_str(), now, cadence_secs],
        )?;
        if inserted == 0 {
            return Err(StoreError::SourceExists(name.to_string()));
        }
        let id = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO ingest_tokens (source_id, token_sha256, created_at_ns) VALUES (?1, ?2, ?3)",
            params![id, token_hash(&token), now],
        )?;
        tx.commit()?;
        Ok(token)
    }

    /// The source called `name`, if registered.
    pub fn source(&self, name: &str) -> Result<Option<Source>, StoreError> {
        self.conn()
            .query_row(
                "SELECT id, name, format, created_at_ns, cadence_secs FROM sources WHERE name = ?1",
                [name],
                row_to_parts,
            )
            .optional()?
            .map(parts_to_source)
            .transpose()
    }

    /// All sources, by name.
    pub fn sources(&self) -> Result<Vec<Source>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, name, format, created_at_ns, cadence_secs FROM sources ORDER BY name",
        )?;
        let rows = stmt.query_map([], row_to_parts)?;
        rows.map(|r| parts_to_source(r?)).collect()
    }

    /// The credential id when `token` is a live ingest credential for source `name`.
    /// Read-only, so the hot ingest path never waits on a database write.
    pub fn authenticate_ingest(&self, name: &str, token: &str) -> Result<Option<i64>, StoreError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT t.id FROM ingest_tokens t JOIN sources s ON s.id = t.source_id
                 WHERE t.token_sha256 = ?1 AND s.name = ?2",
                params![token_hash(token), name],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The source an ingest token belongs to, with the credential id, when `token` is live.
    /// Receivers whose protocol carries only a token (Splunk HEC, OTLP) let it choose the
    /// source. Read-only, like [`StateDb::authenticate_ingest`].
    pub fn source_for_ingest_token(
        &self,
        token: &str,
    ) -> Result<Option<(Source, i64)>, StoreError> {
        let found = self
            .conn()
            .query_row(
                "SELECT s.id, s.name, s.format, s.created_at_ns, s.cadence_secs, t.id
                 FROM ingest_tokens t JOIN sources s ON s.id = t.source_id
                 WHERE t.token_sha256 = ?1",
                [token_hash(token)],
                |r| Ok((row_to_parts(r)?, r.get::<_, i64>(5)?)),
            )
            .optional()?;
        found
            .map(|(parts, credential)| Ok((parts_to_source(parts)?, credential)))
            .transpose()
    }
}

type SourceParts = (i64, String, String, i64, Option<i64>);

fn row_to_parts(r: &rusqlite::Row<'_>) -> rusqlite::Result<SourceParts> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn parts_to_source(
    (id, name, format, created_at_ns, cadence_secs): SourceParts,
) -> Result<Source, StoreError> {
    Ok(Source {
        id,
        name: name.parse().map_err(|_| StoreError::Invalid {
            what: "source name",
            value: name.clone(),
        })?,
        format: format.parse().map_err(|_| StoreError::Invalid {
            what: "format",
            value: format.clone(),
        })?,
        created_at_ns,
        cadence_secs,
    })
}

/// `evd_` + 32 random bytes, URL-safe base64: recognisable in secret scanners.
pub(crate) fn new_token() -> Result<String, StoreError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(format!("evd_{}", URL_SAFE_NO_PAD.encode(b)))
}

pub(crate) fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_their_source_and_stored_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let db = StateDb::open(&path).unwrap();
        let okta = db
            .add_source(&"okta".parse().unwrap(), Format::Okta)
            .unwrap();
        let gh = db
            .add_source(&"github".parse().unwrap(), Format::GitHub)
            .unwrap();
        assert!(okta.starts_with("evd_") && okta.len() == 47);
        assert_eq!(db.authenticate_ingest("okta", &okta).unwrap(), Some(1));
        assert_eq!(db.authenticate_ingest("github", &gh).unwrap(), Some(2));
        assert_eq!(db.authenticate_ingest("okta", &gh).unwrap(), None);
        assert_eq!(db.authenticate_ingest("nope", &okta).unwrap(), None);
        let (source, credential) = db.source_for_ingest_token(&gh).unwrap().unwrap();
        assert_eq!(
            (source.name.as_str(), source.format, credential),
            ("github", Format::GitHub, 2)
        );
        assert_eq!(db.source_for_ingest_token("evd_wrong").unwrap(), None);
        drop(db);
        let raw = std::fs::read(&path).unwrap();
        assert!(!raw.windows(okta.len()).any(|w| w == okta.as_bytes()));
        let db = StateDb::open(&path).unwrap();
        let names: Vec<String> = db
            .sources()
            .unwrap()
            .iter()
            .map(|s| s.name.to_string())
            .collect();
        assert_eq!(names, ["github", "okta"]);
        assert_eq!(db.source("okta").unwrap().unwrap().format, Format::Okta);
        assert!(db.source("aws").unwrap().is_none());
    }

    #[test]
    fn api_tokens_authenticate_by_hash_and_names_are_unique() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&dir.path().join("s.db")).unwrap();
        let t = db
            .create_api_token("ops", evident_model::Role::Admin, None)
            .unwrap();
        let holder = db.authenticate_api(&t, 0).unwrap().unwrap();
        assert_eq!(holder.name, "ops");
        assert_eq!(
            db.authenticate_api("evd_nope", 0).unwrap(),
            Err(TokenRefused::Unknown)
        );
        assert_eq!(
            db.create_api_token("ops", evident_model::Role::Admin, None)
                .unwrap_err()
                .to_string(),
            "an API token named \"ops\" already exists"
        );
        db.add_source_with_cadence(&"fw".parse().unwrap(), Format::Netfilter, Some(900))
            .unwrap();
        assert_eq!(db.source("fw").unwrap().unwrap().cadence_secs, Some(900));
    }

    #[test]
    fn duplicate_source_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&dir.path().join("s.db")).unwrap();
        db.add_source(&"app".parse().unwrap(), Format::JsonApp)
            .unwrap();
        let err = db
            .add_source(&"app".parse().unwrap(), Format::Text)
            .unwrap_err();
        assert_eq!(err.to_string(), "source \"app\" already exists");
    }
}
