//! `Parser::new(Format::VpcFlow).parse` must never panic, whatever the bytes; the input is
//! split into lines so a header line can set the field order of the records after it.
#![no_main]

use evident_model::Format;
use evident_sources::{ParseContext, Parser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext::new("fuzz", 1_795_687_200_000_000_000);
    let mut parser = Parser::new(Format::VpcFlow);
    for line in data.split(|b| *b == b'\n') {
        let _ = parser.parse(line, &ctx);
    }
});
