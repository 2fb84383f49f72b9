//! Evident's search: a tantivy index of normalized OCSF events ([`SearchIndex`]), written by
//! one [`SearchWriter`] at a time, and the query language ([`parse`]): Lucene-like filters
//! plus `| stats`, `| timechart`, `| sort`, `| head`, `| fields` pipes, always bounded by a
//! time window. The index is a projection of the ledger: every document carries its ledger
//! index, and each commit records how far the ledger is indexed ([`SearchWriter::commit`]),
//! so after a crash the caller re-indexes exactly the gap and never a document twice.
//! Feeding it from the ledger (parsing entries) is the server's job; this crate knows
//! only events.
//!
//! ```
//! use evident_model::{Class, Event};
//! use evident_search::SearchIndex;
//! let dir = tempfile::tempdir()?;
//! let index = SearchIndex::open(dir.path())?;
//! let mut writer = index.writer(1, 20_000_000)?;
//! let mut e = Event::new(Class::Authentication, 1, 1_000);
//! e.set("user.name", "alice");
//! writer.add(0, "okta", &e)?;
//! writer.commit(1)?;
//! let found = index.search("user:alice | stats count by source", 0, 2_000, 10)?;
//! assert_eq!(found.total, 1);
//! assert_eq!(found.table.unwrap().rows, vec![vec![serde_json::json!("okta"), serde_json::json!(1)]]);
//! assert_eq!(index.indexed_through()?, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

mod exec;
mod index;
mod query;
mod schema;

use std::path::PathBuf;

pub use exec::{Hit, SearchResult, Table, TimeBucket, Timechart};
pub use index::{COMMIT_INTERVAL, SearchIndex, SearchWriter};
pub use query::{Expr, Pipe, Query, QueryError, Value, parse, parse_span};

/// Most hits one search returns (`limit` and `| head` are capped here).
pub const MAX_HITS: usize = 10_000;

/// Most timechart buckets one search computes.
pub const MAX_BUCKETS: i64 = 10_000;

/// What went wrong in a search or while indexing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SearchError {
    /// The query does not parse, or names a value its field cannot hold.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The query parses but cannot run as asked (a pipe on a field it does not support).
    #[error("query: {0}")]
    Invalid(String),
    /// The time window is empty or reversed.
    #[error("time window: from ({from_ms}) must be before to ({to_ms})")]
    Window {
        /// Start (ms, inclusive).
        from_ms: i64,
        /// End (ms, exclusive).
        to_ms: i64,
    },
    /// Another process (a running server) holds the index writer.
    #[error("search index {path}: being written by another process (a running `evident serve`?)")]
    Locked {
        /// Index directory.
        path: PathBuf,
    },
    /// The commit payload (how far the ledger is indexed) is unreadable.
    #[error("search index {path}: corrupt commit payload {payload:?}; run `evident reindex`")]
    Corrupt {
        /// Index directory.
        path: PathBuf,
        /// What was found.
        payload: String,
    },
    /// A commit would move the indexed-through mark backwards.
    #[error(
        "search index: commit through {through} is behind the indexed-through mark {committed}"
    )]
    Backwards {
        /// Asked.
        through: u64,
        /// Already committed.
        committed: u64,
    },
    /// tantivy failed (I/O, a damaged segment).
    #[error("search index {path}: {source}")]
    Index {
        /// Index directory.
        path: PathBuf,
        /// tantivy's error.
        source: tantivy::TantivyError,
    },
}
