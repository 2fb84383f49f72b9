//! `evident parse`: preview normalization offline. One OCSF event per line on stdout;
//! records that fail go to stderr as `FILE:LINE: message`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use evident_model::{Format, Framing};
use evident_sources::{Limits, ParseContext, Parser, decode_body, split_records};

use crate::Outcome;

pub(crate) fn run(format: &str, files: &[PathBuf]) -> anyhow::Result<Outcome> {
    let format: Format = format.parse()?;
    let mut parser = Parser::new(format);
    let framing = match format {
        // Auto: JSON documents split as JSON, anything else line by line.
        Format::Auto => Framing::Json,
        f => f.framing(),
    };
    let limits = Limits {
        max_record_bytes: usize::MAX,
        max_decoded_bytes: usize::MAX,
    };
    let now = evident_ledger::now_ns();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut failed = 0usize;
    for file in files {
        let (name, raw) = if file.as_os_str() == "-" {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).context("reading stdin")?;
            ("<stdin>".to_owned(), buf)
        } else {
            (
                file.display().to_string(),
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?,
            )
        };
        let decoded = match decode_body(&raw, &limits) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("{name}: {e}");
                failed += 1;
                continue;
            }
        };
        let split = split_records(&decoded, framing, &limits)?;
        let ctx = ParseContext::new("parse", now);
        for record in &split.records {
            match parser.parse(record.bytes, &ctx) {
                Ok(events) => {
                    for e in events {
                        serde_json::to_writer(&mut out, &e).context("writing stdout")?;
                        out.write_all(b"\n").context("writing stdout")?;
                    }
                }
                Err(e) => {
                    eprintln!("{name}:{}: {e}", record.line);
                    failed += 1;
                }
            }
        }
    }
    out.flush().context("writing stdout")?;
    Ok(if failed > 0 {
        Outcome::Problems
    } else {
        Outcome::Clean
    })
}
