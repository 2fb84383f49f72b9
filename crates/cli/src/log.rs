//! Ledger commands: init, key, checkpoint, entry, proofs, verify.

use std::io::Write;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use evident_ledger::{TlogProof, leaf_hash};
use evident_server::{DataDir, Evident};
use serde_json::json;

use crate::Outcome;

pub(crate) fn init(data: &DataDir, origin: Option<String>, actor: &str) -> anyhow::Result<Outcome> {
    let origin = match origin {
        Some(o) => o,
        None => {
            let host = hostname::get()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| "localhost".into());
            format!("evident.local/{host}")
        }
    };
    let signer = data
        .init(&origin)
        .with_context(|| format!("initializing {}", data.root().display()))?;
    let node = Evident::open(data)?;
    node.ledger
        .checkpoint()
        .context("signing the first checkpoint")?;
    crate::access::record(&node, actor, "key create", &signer.verifier().to_string())?;
    let password = crate::access::create_first_admin(&node, actor)?;
    println!("{}", signer.verifier());
    eprintln!(
        "Initialized {} (origin {origin}). The line above is the verifier key: give it to your auditor.",
        data.root().display()
    );
    eprintln!(
        "First administrator: user \"admin\", one-time password {password} (shown only once; `evident user reset-password admin` issues a new one)."
    );
    Ok(Outcome::Clean)
}

pub(crate) fn key(data: &DataDir) -> anyhow::Result<Outcome> {
    data.config()?;
    println!("{}", data.signer()?.verifier());
    Ok(Outcome::Clean)
}

pub(crate) fn checkpoint(node: &Evident) -> anyhow::Result<Outcome> {
    let cp = node.ledger.checkpoint()?;
    print!("{}", cp.note);
    Ok(Outcome::Clean)
}

pub(crate) fn entry(node: &Evident, index: u64, raw: bool, actor: &str) -> anyhow::Result<Outcome> {
    let bytes = node.ledger.entry_bytes(index)?;
    // Viewing log data is audited; sealed by the server's next tick (not here, so reading
    // never grows the log being read).
    crate::access::record(node, actor, "entry view", &format!("entry {index}"))?;
    if raw {
        std::io::stdout()
            .write_all(&bytes)
            .context("writing to stdout")?;
        return Ok(Outcome::Clean);
    }
    let e = node.ledger.entry(index)?;
    let meta: serde_json::Map<String, serde_json::Value> = e
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let doc = json!({
        "index": index,
        "kind": e.kind.as_str(),
        "received_at_ns": e.received_at_ns,
        "source": e.source,
        "metadata": meta,
        "body_base64": STANDARD.encode(&e.body),
        "leaf_hash": leaf_hash(&bytes).to_base64(),
    });
    println!("{}", serde_json::to_string_pretty(&doc)?);
    Ok(Outcome::Clean)
}

pub(crate) fn inclusion(node: &Evident, index: u64, size: Option<u64>) -> anyhow::Result<Outcome> {
    let cp = match size {
        Some(s) => node.ledger.checkpoint_at(s)?,
        None => node.ledger.checkpoint()?,
    };
    let size = cp.checkpoint.size;
    if index >= size {
        bail!(
            "entry {index} is not in the checkpoint of size {size}; run `evident checkpoint` first if it was just added"
        );
    }
    let proof = node.ledger.inclusion_proof(index, size)?;
    let file = TlogProof {
        extra: None,
        index,
        proof,
        checkpoint_note: cp.note,
    };
    // Self-check before publishing: a wrong proof must never leave this command.
    file.verify(&node.ledger.verifier(), &node.ledger.entry_bytes(index)?)
        .context("the generated proof does not verify (ledger damaged? run `evident verify`)")?;
    print!("{}", file.to_text());
    Ok(Outcome::Clean)
}

pub(crate) fn consistency(
    node: &Evident,
    from: u64,
    to: Option<u64>,
    json_out: bool,
) -> anyhow::Result<Outcome> {
    let from_cp = node.ledger.checkpoint_at(from)?;
    let to_cp = match to {
        Some(t) => node.ledger.checkpoint_at(t)?,
        None => node.ledger.checkpoint()?,
    };
    let (a, b) = (from_cp.checkpoint, to_cp.checkpoint);
    let proof = node.ledger.consistency_proof(a.size, b.size)?;
    evident_ledger::verify_consistency(a.size, b.size, &proof, &a.root, &b.root)
        .context("the generated proof does not verify (ledger damaged? run `evident verify`)")?;
    if json_out {
        let doc = json!({
            "from": a.size,
            "to": b.size,
            "from_root": a.root.to_base64(),
            "to_root": b.root.to_base64(),
            "proof": proof.iter().map(|h| h.to_base64()).collect::<Vec<_>>(),
        });
        println!("{doc}");
    } else {
        println!("consistency {} {}", a.size, b.size);
        for h in proof {
            println!("{h}");
        }
    }
    Ok(Outcome::Clean)
}

pub(crate) fn verify(data: &DataDir, json_out: bool) -> anyhow::Result<Outcome> {
    data.config()?;
    let verifier = data.signer()?.verifier();
    let bar = crate::import::progress_bar(0, "verifying");
    let started = std::time::Instant::now();
    let report = evident_ledger::verify(&data.ledger_path(), &verifier, &mut |done, total| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let secs = started.elapsed().as_secs_f64();
    // The case trail in the state DB must be what the ledger sealed; only meaningful when
    // the ledger itself is intact.
    let cases = if report.is_clean() {
        Some(check_cases(data)?)
    } else {
        None
    };
    let cases_clean = cases.as_ref().is_none_or(|c| c.findings.is_empty());
    if json_out {
        let damage: Vec<_> = report
            .damage
            .iter()
            .map(|d| {
                json!({
                    "kind": d.kind.as_str(),
                    "index": d.index,
                    "file": d.file.display().to_string(),
                    "offset": d.offset,
                    "detail": d.detail,
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "ok": report.is_clean(),
                "entries": report.entries,
                "bytes": report.bytes,
                "tiles": report.tiles,
                "checkpoints": report.checkpoints,
                "root": report.root.to_base64(),
                "seconds": secs,
                "damage": damage,
                "unsealed": report.unsealed,
                "pruned": report.pruned.iter().map(|r| json!({
                    "first": r.first,
                    "last": r.last,
                    "audit_entry": r.audit_entry,
                    "note": r.to_string(),
                })).collect::<Vec<_>>(),
                "cases": cases,
            })
        );
    } else if report.is_clean() {
        println!(
            "ok: {} entries ({} bytes), {} tiles, {} checkpoints verified in {secs:.2}s; root {}",
            report.entries, report.bytes, report.tiles, report.checkpoints, report.root
        );
        for note in &report.unsealed {
            println!("note: {note}");
        }
        for range in &report.pruned {
            println!("note: {range}");
        }
        if let Some(c) = &cases {
            if c.findings.is_empty() {
                println!(
                    "ok: {} cases, {} history records match the ledger{}",
                    c.cases,
                    c.sealed_rows,
                    match c.unsealed_rows {
                        0 => String::new(),
                        n => format!(" ({n} not sealed yet)"),
                    }
                );
            } else {
                println!(
                    "CASES DIFFER FROM THE LEDGER: {} problem(s) found",
                    c.findings.len()
                );
                for f in &c.findings {
                    println!("  {}", f.message);
                }
            }
        }
    } else {
        println!("DAMAGED: {} problem(s) found", report.damage.len());
        for d in &report.damage {
            println!("  {d}");
        }
    }
    Ok(if report.is_clean() && cases_clean {
        Outcome::Clean
    } else {
        Outcome::Problems
    })
}

/// Cross-checks the case history against the ledger (read-only beside a running server).
fn check_cases(data: &DataDir) -> anyhow::Result<evident_server::cases::CaseCheck> {
    let node = match evident_server::Evident::open(data) {
        Err(evident_server::Error::Ledger(evident_ledger::LedgerError::Locked { .. })) => {
            evident_server::Evident::open_read_only(data)?
        }
        other => other?,
    };
    Ok(evident_server::cases::check_case_history(
        &node.ledger,
        &node.db,
    )?)
}
