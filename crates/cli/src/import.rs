//! Sources and file import: `evident source add|list`, `evident ingest`.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use evident_ledger::{Entry, EntryKind, now_ns};
use evident_model::{Format, SourceName};
use evident_server::{Evident, ingest};
use evident_sources::{Limits, decode_body, split_records};
use indicatif::{ProgressBar, ProgressStyle};

use crate::Outcome;

/// Records per ledger append during import: big enough to amortize the fsync.
const IMPORT_BATCH: usize = 20_000;

pub(crate) fn source_add(node: &Evident, name: &str, format: &str) -> anyhow::Result<Outcome> {
    let name: SourceName = name.parse()?;
    let format: Format = format.parse()?;
    let token = node.db.add_source(&name, format)?;
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
    let limits = Limits {
        max_record_bytes: node.config.ingest.max_record_bytes,
        max_decoded_bytes: usize::MAX,
    };
    let total: u64 = files
        .iter()
        .filter(|f| f.as_os_str() != "-")
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bar = progress_bar(total, "ingesting");
    let (mut accepted, mut failed, mut tree_size) = (0u64, 0usize, node.ledger.size());
    for file in files {
        let raw = read_input(file)?;
        let name = if file.as_os_str() == "-" {
            "<stdin>".into()
        } else {
            file.display().to_string()
        };
        let decoded = match decode_body(
            &raw,
            &Limits {
                max_decoded_bytes: usize::MAX,
                ..limits
            },
        ) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{name}: {e}; file skipped");
                failed += 1;
                continue;
            }
        };
        let split = split_records(
            &decoded,
            src.format.framing(),
            &Limits {
                max_record_bytes: usize::MAX,
                ..limits
            },
        )?;
        for w in &split.warnings {
            eprintln!(
                "{name}:{}: warning: {} (stored as received)",
                w.line, w.error
            );
        }
        let metadata = vec![
            ("file".to_owned(), name.clone()),
            ("format".to_owned(), src.format.as_str().to_owned()),
        ];
        let received_at_ns = now_ns();
        let mut batch = Vec::with_capacity(IMPORT_BATCH);
        let mut batch_bytes = 0u64;
        let records = split.records.len();
        for (i, r) in split.records.iter().enumerate() {
            if r.bytes.len() > limits.max_record_bytes {
                eprintln!(
                    "{name}:{}: record of {} bytes exceeds the record limit of {} bytes; skipped",
                    r.line,
                    r.bytes.len(),
                    limits.max_record_bytes
                );
                failed += 1;
            } else {
                batch.push(Entry {
                    kind: EntryKind::Log,
                    received_at_ns,
                    source: src.name.to_string(),
                    metadata: metadata.clone(),
                    body: r.bytes.to_vec(),
                });
                batch_bytes += r.bytes.len() as u64;
            }
            if batch.len() >= IMPORT_BATCH || i + 1 == records {
                let outcome = ingest(&node.ledger, std::mem::take(&mut batch), Vec::new())
                    .with_context(|| format!("appending records from {name}"))?;
                accepted += outcome.accepted;
                tree_size = outcome.tree_size;
                if let Some(b) = &bar {
                    // Progress in raw bytes of input, scaled from the decoded position.
                    let scale = raw.len() as f64 / decoded.len().max(1) as f64;
                    b.inc((batch_bytes as f64 * scale) as u64);
                }
                batch_bytes = 0;
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let cp = node.ledger.checkpoint().context("signing a checkpoint")?;
    println!(
        "ingested {accepted} records into {source}; tree size {tree_size}; checkpoint {}",
        cp.checkpoint.size
    );
    Ok(if failed > 0 {
        Outcome::Problems
    } else {
        Outcome::Clean
    })
}

fn read_input(file: &Path) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if file.as_os_str() == "-" {
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading stdin")?;
    } else {
        buf = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    }
    Ok(buf)
}
