//! `Parser::new(Format::WindowsSecurity).parse` on event XML must never panic: the input is
//! given an `<Event` start so the fuzzer spends its time inside the XML extractor.
#![no_main]

use evident_model::Format;
use evident_sources::{ParseContext, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext::new("fuzz", 1_795_687_200_000_000_000);
    let mut record = Vec::with_capacity(data.len() + 6);
    if !data.starts_with(b"<Event") {
        record.extend_from_slice(b"<Event");
    }
    record.extend_from_slice(data);
    let _ = Parser::new(Format::WindowsSecurity).parse(&record, &ctx);
});
