//! The HTTP ingest body decoder: gzip detection and decoding, then record framing (NDJSON,
//! JSON array, CloudTrail `Records`, lines) under small limits, exactly as
//! `evident_server::build_entries` runs them. Invariants: no panic; limits hold (decoded size,
//! record size); records and warnings are in line order and every warning names a line;
//! every record's bytes are part of the decoded body; and in line framing, every line of the body
//! that is not blank is a record.
#![no_main]

use evident_model::Framing;
use evident_sources::{BodyError, Limits, decode_body, split_records};
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_record_bytes: 256,
    max_decoded_bytes: 4096,
};

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let framing = if selector & 1 == 0 {
        Framing::Json
    } else {
        Framing::Lines
    };
    let decoded = match decode_body(body, &LIMITS) {
        Ok(d) => d,
        Err(BodyError::Gzip { decoded, reason }) => {
            assert!(decoded <= LIMITS.max_decoded_bytes + 1);
            assert!(!reason.is_empty());
            return;
        }
        Err(BodyError::DecodedTooLarge { limit }) => {
            assert_eq!(limit, LIMITS.max_decoded_bytes);
            return;
        }
        Err(e) => panic!("decode_body returned {e:?}"),
    };
    assert!(decoded.len() <= LIMITS.max_decoded_bytes || !body.starts_with(&[0x1f, 0x8b]));
    let split = match split_records(&decoded, framing, &LIMITS) {
        Ok(s) => s,
        Err(BodyError::RecordTooLarge { line, size, limit }) => {
            assert!(line >= 1);
            assert!(size > limit);
            assert_eq!(limit, LIMITS.max_record_bytes);
            return;
        }
        Err(e) => panic!("split_records returned {e:?}"),
    };
    let lines = decoded.split(|&b| b == b'\n').count();
    let mut last = 0;
    for r in &split.records {
        assert!(
            r.line >= 1 && r.line <= lines,
            "record line {} of {lines}",
            r.line
        );
        assert!(r.line >= last, "records out of order");
        last = r.line;
        assert!(r.bytes.len() <= LIMITS.max_record_bytes);
        assert!(
            contains(&decoded, r.bytes),
            "record bytes not from the body"
        );
    }
    for w in &split.warnings {
        assert!(
            w.line >= 1 && w.line <= lines,
            "warning line {} of {lines}",
            w.line
        );
        assert!(!w.error.is_empty());
    }
    if framing == Framing::Lines {
        let non_empty = decoded
            .split(|&b| b == b'\n')
            .filter(|l| !l.iter().all(|b| b.is_ascii_whitespace()))
            .count();
        assert_eq!(
            split.records.len(),
            non_empty,
            "a line that is not blank was dropped"
        );
    }
});
