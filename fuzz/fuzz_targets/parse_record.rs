//! Arbitrary bytes through the record parser of every format (the first byte picks it) and
//! through format auto-detection. Invariants: no panic; a record either normalizes to
//! events stamped with the format and carrying the raw record, or yields an error whose
//! message is non-empty; auto-detection never picks `auto` and agrees with `Format::Auto`.
#![no_main]

use evident_model::Format;
use evident_sources::{ParseContext, Parser, detect};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, record)) = data.split_first() else {
        return;
    };
    let format = Format::ALL[usize::from(selector) % Format::ALL.len()];
    let ctx = ParseContext::new("fuzz", 1_764_150_000_000_000_000);

    let mut parser = Parser::new(format);
    match parser.parse(record, &ctx) {
        Ok(events) => {
            for e in &events {
                assert!(
                    e.get("raw_data").is_some(),
                    "{format:?}: event without raw_data"
                );
                assert!(
                    e.get("metadata.evident.format").is_some() || format == Format::Auto,
                    "{format:?}: event without metadata.evident.format"
                );
            }
        }
        Err(err) => assert!(!err.to_string().is_empty(), "{format:?}: empty error"),
    }

    let detected = detect(record);
    assert_ne!(detected, Some(Format::Auto), "detect returned auto");
    let mut auto = Parser::new(Format::Auto);
    let auto_result = auto.parse(record, &ctx);
    if detected.is_none() {
        let events = auto_result.expect("an unrecognized record still becomes a Base Event");
        assert_eq!(events.len(), 1, "unknown_format yields exactly one event");
    }
});
