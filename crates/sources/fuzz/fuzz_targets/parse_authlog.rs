//! `Parser::new(Format::AuthLog).parse` must never panic, whatever the bytes.
#![no_main]

use evident_model::Format;
use evident_sources::{ParseContext, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext::new("fuzz", 1_795_687_200_000_000_000);
    let mut parser = Parser::new(Format::AuthLog);
    let _ = parser.parse(data, &ctx);
});
