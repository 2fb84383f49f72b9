//! Opening the index, writing it (one writer, commits carrying the indexed-through ledger
//! index), deleting old events.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use evident_model::Event;
use tantivy::collector::Count;
use tantivy::query::{BooleanQuery, Occur, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError, Term};

use crate::SearchError;
use crate::schema::{self, Fields};

/// Least time between two commits made by [`SearchWriter::advance`].
pub const COMMIT_INTERVAL: Duration = Duration::from_secs(2);

/// An opened search index: the reader side. Any number of processes may read it; one
/// at a time writes it through [`SearchIndex::writer`].
pub struct SearchIndex {
    pub(crate) path: PathBuf,
    pub(crate) index: Index,
    pub(crate) reader: IndexReader,
    pub(crate) fields: Fields,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it (and `dir`) if there is none.
    pub fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
        let err = |source| SearchError::Index {
            path: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| err(TantivyError::from(e)))?;
        let (schema, fields) = schema::build();
        let exists = dir.join("meta.json").exists();
        let index = if exists {
            Index::open_in_dir(dir).map_err(err)?
        } else {
            Index::create_in_dir(dir, schema.clone()).map_err(err)?
        };
        if index.schema() != schema {
            return Err(SearchError::Corrupt {
                path: dir.to_owned(),
                payload: "the index has another schema (an older Evident?)".to_owned(),
            });
        }
        schema::register_tokenizers(index.tokenizers());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(err)?;
        Ok(SearchIndex {
            path: dir.to_owned(),
            index,
            reader,
            fields,
        })
    }

    /// Where it lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Ledger entries below this index are in the last commit (0 for a new index).
    pub fn indexed_through(&self) -> Result<u64, SearchError> {
        let metas = self.index.load_metas().map_err(|e| self.err(e))?;
        payload_through(&self.path, metas.payload.as_deref())
    }

    /// Events in the last commit the reader has seen (after [`SearchIndex::reload`]).
    pub fn num_events(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Makes the latest commit (of any process) visible to searches.
    pub fn reload(&self) -> Result<(), SearchError> {
        self.reader.reload().map_err(|e| self.err(e))
    }

    /// Takes the index's one writer, with `threads` indexing threads sharing `heap_bytes`
    /// of buffer (tantivy needs at least 15 MB per thread).
    pub fn writer(&self, threads: usize, heap_bytes: usize) -> Result<SearchWriter, SearchError> {
        let writer = self
            .index
            .writer_with_num_threads(threads.max(1), heap_bytes)
            .map_err(|e| match e {
                TantivyError::LockFailure(..) => SearchError::Locked {
                    path: self.path.clone(),
                },
                other => self.err(other),
            })?;
        Ok(SearchWriter {
            path: self.path.clone(),
            committed: self.indexed_through()?,
            fed: self.indexed_through()?,
            last_commit: Instant::now(),
            writer,
            fields: self.fields.clone(),
            pending: 0,
        })
    }

    pub(crate) fn err(&self, source: TantivyError) -> SearchError {
        SearchError::Index {
            path: self.path.clone(),
            source,
        }
    }
}

/// The index's one writer. Documents become visible (and durable) at [`SearchWriter::commit`],
/// which also records how far the ledger is indexed; documents added since the last commit
/// are lost in a crash and re-added by whoever feeds the writer from that mark.
pub struct SearchWriter {
    path: PathBuf,
    writer: IndexWriter,
    fields: Fields,
    /// Ledger entries below this are committed.
    committed: u64,
    /// Ledger entries below this are added (committed or pending); `add` skips them (no
    /// duplicates).
    fed: u64,
    /// When the last commit was (commits are costly: [`SearchWriter::advance`] spaces them).
    last_commit: Instant,
    /// Documents added since the last commit.
    pending: u64,
}

impl SearchWriter {
    /// Ledger entries below this index are committed.
    pub fn indexed_through(&self) -> u64 {
        self.committed
    }

    /// Documents added since the last commit.
    pub fn pending(&self) -> u64 {
        self.pending
    }

    /// Ledger entries below this index are added (committed, or pending the next commit).
    pub fn fed_through(&self) -> u64 {
        self.fed
    }

    /// Records that every event of ledger entries below `through` is added, and commits
    /// when the last commit is [`COMMIT_INTERVAL`] old: a commit writes segment files and
    /// fsyncs, and a commit per pipeline batch made many small segments to merge. What is
    /// pending is lost in a crash and re-added from the ledger (the commit payload says
    /// from where). Returns whether it committed.
    pub fn advance(&mut self, through: u64) -> Result<bool, SearchError> {
        self.fed = self.fed.max(through);
        if self.fed > self.committed && self.last_commit.elapsed() >= COMMIT_INTERVAL {
            self.commit(self.fed)?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Commits what is pending now (the pipeline is idle, or about to stop).
    pub fn flush(&mut self) -> Result<(), SearchError> {
        if self.fed > self.committed || self.pending > 0 {
            self.commit(self.fed)?;
        }
        Ok(())
    }

    /// Adds one event of ledger entry `ledger_index`; returns `false` (and adds nothing)
    /// when that entry is already committed, so replaying a range never duplicates.
    pub fn add(
        &mut self,
        ledger_index: u64,
        source: &str,
        event: &Event,
    ) -> Result<bool, SearchError> {
        if ledger_index < self.fed {
            return Ok(false);
        }
        let doc: TantivyDocument = schema::document(&self.fields, ledger_index, source, event);
        self.writer.add_document(doc).map_err(|e| self.err(e))?;
        self.pending += 1;
        Ok(true)
    }

    /// Makes everything added durable and visible, recording that ledger entries below
    /// `through` are indexed.
    pub fn commit(&mut self, through: u64) -> Result<(), SearchError> {
        if through < self.committed {
            return Err(SearchError::Backwards {
                through,
                committed: self.committed,
            });
        }
        let path = &self.path;
        let err = |source| SearchError::Index {
            path: path.clone(),
            source,
        };
        let mut prepared = self.writer.prepare_commit().map_err(err)?;
        prepared.set_payload(&payload(through));
        prepared.commit().map_err(err)?;
        self.committed = through;
        self.fed = self.fed.max(through);
        self.pending = 0;
        self.last_commit = Instant::now();
        Ok(())
    }

    /// Drops what was added since the last commit (after a failed batch).
    pub fn rollback(&mut self) -> Result<(), SearchError> {
        self.writer.rollback().map_err(|e| self.err(e))?;
        self.fed = self.committed;
        self.pending = 0;
        Ok(())
    }

    /// Deletes `source`'s events older than `time_ms` (retention: the hot days are over)
    /// and commits; returns how many events that was. The ledger keeps the records.
    pub fn delete_before(
        &mut self,
        index: &SearchIndex,
        source: &str,
        time_ms: i64,
    ) -> Result<u64, SearchError> {
        let f = &self.fields;
        let query = BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(f.source, &source.to_lowercase()),
                    IndexRecordOption::Basic,
                )),
            ),
            (
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Unbounded,
                    Bound::Excluded(Term::from_field_i64(f.time, time_ms)),
                )),
            ),
        ]);
        index.reload()?;
        let doomed = index
            .reader
            .searcher()
            .search(&query, &Count)
            .map_err(|e| self.err(e))? as u64;
        self.writer
            .delete_query(Box::new(query))
            .map_err(|e| self.err(e))?;
        // Pending documents are all below `fed`: they become durable with the deletion.
        let through = self.fed;
        self.commit(through)?;
        tracing::info!(
            source,
            before_ms = time_ms,
            events = doomed,
            "search index: old events deleted"
        );
        Ok(doomed)
    }

    /// Deletes every document and commits with nothing indexed: the start of a rebuild.
    pub fn clear(&mut self) -> Result<(), SearchError> {
        self.writer
            .delete_all_documents()
            .map_err(|e| self.err(e))?;
        self.committed = 0;
        self.fed = 0;
        self.commit(0)
    }

    fn err(&self, source: TantivyError) -> SearchError {
        SearchError::Index {
            path: self.path.clone(),
            source,
        }
    }
}

fn payload(through: u64) -> String {
    serde_json::json!({ "indexed_through": through }).to_string()
}

/// The indexed-through mark in a commit payload (none: nothing committed yet).
fn payload_through(path: &Path, payload: Option<&str>) -> Result<u64, SearchError> {
    let Some(text) = payload else {
        return Ok(0);
    };
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("indexed_through").and_then(serde_json::Value::as_u64))
        .ok_or_else(|| SearchError::Corrupt {
            path: path.to_owned(),
            payload: text.to_owned(),
        })
}
