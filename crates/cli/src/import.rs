//! Sources and file import: `evident source add|list`, `evident ingest`.

use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context as _, bail};
use evident_ledger::{Entry, EntryKind, now_ns};
use evident_model::{Format, Framing, SourceName};
use evident_server::{Evident, ingest};
use evident_sources::{Limits, split_records};
use indicatif::{ProgressBar, ProgressStyle};

use crate::Outcome;

/// Records per ledger append during import: big enough to amortize the fsync.
const IMPORT_BATCH: usize = 20_000;

pub(crate) fn source_add(
    node: &Evident,
    name: &str,
    format: &str,
    cadence_secs: Option<i64>,
) -> anyhow::Result<Outcome> {
    let name: SourceName = name.parse()?;
    let format: Format = format.parse()?;
    let token = node
        .db
        .add_source_with_cadence(&name, format, cadence_secs)?;
    println!("{token}");
    eprintln!(
        "Source {name} ({format}) registered. The line above is its ingest token; it is shown only once.\n\
         Send records with: curl -H 'Authorization: Bearer <token>' --data-binary @file http://HOST/api/v1/ingest/{name}"
    );
    Ok(Outcome::Clean)
}

pub(crate) fn source_list(node: &Evident, json: bool) -> anyhow::Result<Outcome> {
    let sources = node.db.sources()?;
    for s in &sources {
        if json {
            println!("{}", serde_json::to_string(s)?);
        } else {
            println!("{:<32} {}", s.name, s.format);
        }
    }
    Ok(Outcome::Clean)
}

/// A progress bar on stderr when it is a terminal; `None` otherwise (scripts, tests).
pub(crate) fn progress_bar(len: u64, what: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(what.to_owned());
    Some(bar)
}

pub(crate) fn ingest_files(
    node: &Evident,
    source: &str,
    files: &[PathBuf],
) -> anyhow::Result<Outcome> {
    let Some(src) = node.db.source(source)? else {
        bail!(
            "no source named {source:?}; register it with `evident source add {source} --format FORMAT`"
        );
    };
    let total: u64 = files
        .iter()
        .filter(|f| f.as_os_str() != "-")
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let mut imp = Importer {
        node,
        source: src.name.to_string(),
        format: src.format,
        max_record: node.config.ingest.max_record_bytes,
        name: String::new(),
        batch: Vec::with_capacity(IMPORT_BATCH),
        accepted: 0,
        failed: 0,
        tree_size: node.ledger.size(),
        bar: progress_bar(total, "ingesting"),
        read: Arc::new(AtomicU64::new(0)),
        shown: 0,
    };
    // Refuse up front, before anything is appended, when an input cannot be opened.
    for file in files.iter().filter(|f| f.as_os_str() != "-") {
        std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?;
    }
    for file in files {
        imp.name = if file.as_os_str() == "-" {
            "<stdin>".into()
        } else {
            file.display().to_string()
        };
        if let Err(e) = imp.file(file) {
            // Records before the failure are already appended; say so.
            eprintln!(
                "{}: {e:#}; records before this point were ingested",
                imp.name
            );
            imp.failed += 1;
        }
        imp.flush()?;
    }
    if let Some(b) = &imp.bar {
        b.finish_and_clear();
    }
    let cp = node.ledger.checkpoint().context("signing a checkpoint")?;
    println!(
        "ingested {} records into {source}; tree size {}; checkpoint {}",
        imp.accepted, imp.tree_size, cp.checkpoint.size
    );
    Ok(if imp.failed > 0 {
        Outcome::Problems
    } else {
        Outcome::Clean
    })
}

/// Bytes read per step when streaming a file.
const CHUNK_BYTES: usize = 8 << 20;

/// Streams files into the ledger: gzip detected by magic bytes, line-framed content read in
/// chunks (memory stays bounded for any file size), JSON arrays and `{"Records":[…]}`
/// documents read whole because a record's end is only known after parsing.
struct Importer<'a> {
    node: &'a Evident,
    source: String,
    format: Format,
    max_record: usize,
    /// Name of the input being read, for messages.
    name: String,
    batch: Vec<Entry>,
    accepted: u64,
    failed: usize,
    tree_size: u64,
    bar: Option<ProgressBar>,
    /// Raw (possibly compressed) bytes read so far, for the progress bar.
    read: Arc<AtomicU64>,
    shown: u64,
}

impl Importer<'_> {
    fn file(&mut self, file: &Path) -> anyhow::Result<()> {
        let raw: Box<dyn Read> = if file.as_os_str() == "-" {
            Box::new(std::io::stdin())
        } else {
            Box::new(
                std::fs::File::open(file).with_context(|| format!("reading {}", file.display()))?,
            )
        };
        let mut counted = BufReader::with_capacity(1 << 20, CountingReader(raw, self.read.clone()));
        let head = counted.fill_buf().context("reading")?;
        let mut reader: Box<dyn BufRead> = if head.starts_with(&[0x1f, 0x8b]) {
            Box::new(BufReader::with_capacity(
                1 << 20,
                flate2::bufread::MultiGzDecoder::new(counted),
            ))
        } else {
            Box::new(counted)
        };
        let mut first = Vec::new();
        reader.read_until(b'\n', &mut first).map_err(gzip_context)?;
        if self.format.framing() == Framing::Json && needs_whole_document(&first) {
            let mut all = first;
            reader.read_to_end(&mut all).map_err(gzip_context)?;
            return self.records(&all, 1, true);
        }
        let mut buf = first;
        let mut line = 1usize;
        // When a line outgrows the record limit, drop bytes until its end.
        let mut skipping: Option<usize> = None;
        loop {
            let before = buf.len();
            let read = (&mut reader).take(CHUNK_BYTES as u64).read_to_end(&mut buf);
            if let Err(e) = read {
                // Keep every complete line decoded before the damage; drop the cut one.
                let complete = buf.iter().rposition(|&b| b == b'\n').map_or(0, |nl| nl + 1);
                if skipping.is_none() {
                    self.records(&buf[..complete], line, false)?;
                }
                return Err(gzip_context(e));
            }
            let eof = buf.len() == before;
            let cut = if eof {
                buf.len()
            } else {
                match buf.iter().rposition(|&b| b == b'\n') {
                    Some(nl) => nl + 1,
                    None if buf.len() > self.max_record => {
                        if skipping.is_none() {
                            skipping = Some(line);
                        }
                        buf.clear();
                        continue;
                    }
                    None => continue,
                }
            };
            let mut chunk = &buf[..cut];
            if let Some(at) = skipping.take() {
                let end = chunk
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(chunk.len(), |p| p + 1);
                eprintln!(
                    "{}:{at}: record exceeds the record limit of {} bytes; skipped",
                    self.name, self.max_record
                );
                self.failed += 1;
                chunk = &chunk[end..];
                line += 1;
            }
            self.records(chunk, line, false)?;
            line += chunk.iter().filter(|&&b| b == b'\n').count();
            buf.drain(..cut);
            self.show_progress();
            if eof {
                return Ok(());
            }
        }
    }

    /// Splits `chunk` (whose first line is `first_line`) and queues its records.
    fn records(&mut self, chunk: &[u8], first_line: usize, whole: bool) -> anyhow::Result<()> {
        let framing = if whole {
            Framing::Json
        } else {
            self.format.framing()
        };
        let unlimited = Limits {
            max_record_bytes: usize::MAX,
            max_decoded_bytes: usize::MAX,
        };
        let split = split_records(chunk, framing, &unlimited)?;
        let offset = first_line - 1;
        for w in &split.warnings {
            eprintln!(
                "{}:{}: warning: {} (stored as received)",
                self.name,
                w.line + offset,
                w.error
            );
        }
        let received_at_ns = now_ns();
        let metadata = vec![
            ("file".to_owned(), self.name.clone()),
            ("format".to_owned(), self.format.as_str().to_owned()),
        ];
        for r in &split.records {
            if r.bytes.len() > self.max_record {
                eprintln!(
                    "{}:{}: record of {} bytes exceeds the record limit of {} bytes; skipped",
                    self.name,
                    r.line + offset,
                    r.bytes.len(),
                    self.max_record
                );
                self.failed += 1;
                continue;
            }
            self.batch.push(Entry {
                kind: EntryKind::Log,
                received_at_ns,
                source: self.source.clone(),
                metadata: metadata.clone(),
                body: r.bytes.to_vec(),
            });
            if self.batch.len() >= IMPORT_BATCH {
                self.flush()?;
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let outcome = ingest(
            &self.node.ledger,
            std::mem::take(&mut self.batch),
            Vec::new(),
        )
        .with_context(|| format!("appending records from {}", self.name))?;
        self.accepted += outcome.accepted;
        self.tree_size = outcome.tree_size;
        Ok(())
    }

    fn show_progress(&mut self) {
        if let Some(b) = &self.bar {
            let now = self.read.load(Ordering::Relaxed);
            b.inc(now - self.shown);
            self.shown = now;
        }
    }
}

/// True when the body must be parsed whole: a JSON array, or a first line that is not a
/// complete JSON value (a pretty-printed document) or is a CloudTrail `Records` file.
fn needs_whole_document(first_line: &[u8]) -> bool {
    let trimmed = first_line.trim_ascii();
    match trimmed.first() {
        Some(b'[') => true,
        Some(b'{') => match serde_json::from_slice::<serde_json::Value>(trimmed) {
            Ok(v) => v.get("Records").is_some_and(serde_json::Value::is_array),
            Err(_) => true,
        },
        _ => false,
    }
}

/// Names gzip failures as such; other read errors pass through.
fn gzip_context(e: std::io::Error) -> anyhow::Error {
    match e.kind() {
        std::io::ErrorKind::InvalidInput
        | std::io::ErrorKind::InvalidData
        | std::io::ErrorKind::UnexpectedEof => {
            anyhow::anyhow!("gzip data is corrupt or truncated: {e}")
        }
        _ => anyhow::Error::new(e).context("reading"),
    }
}

/// Counts the raw bytes a reader delivers (compressed size, for progress).
struct CountingReader(Box<dyn Read>, Arc<AtomicU64>);

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        self.1.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
