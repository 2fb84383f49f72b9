//! `detect` must never panic, and whatever it detects must parse without panicking.
#![no_main]

use evident_model::Format;
use evident_sources::{ParseContext, Parser, detect};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext::new("fuzz", 1_795_687_200_000_000_000);
    let _ = detect(data);
    let _ = Parser::new(Format::Auto).parse(data, &ctx);
});
