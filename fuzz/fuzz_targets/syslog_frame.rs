//! A syslog byte stream cut the way the TCP receiver's non-transparent framing cuts it
//! (LF, a CR before it dropped, NUL), each message through the RFC 5424 / RFC 3164 parser
//! and the APP-NAME router. Invariants: no panic; `syslog_app_name` returns a slice of the
//! message's header (no spaces, non-empty); a message either normalizes to events that
//! carry the format and raw data, or yields a non-empty error; parsing is deterministic.
#![no_main]

use evident_model::Format;
use evident_sources::{ParseContext, Parser, syslog_app_name};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext::new("fuzz-syslog", 1_764_150_000_000_000_000);
    let mut parser = Parser::new(Format::Syslog);
    for frame in data.split(|&b| b == b'\n' || b == 0) {
        let msg = frame.strip_suffix(b"\r").unwrap_or(frame);
        if msg.is_empty() {
            continue;
        }
        if let Some(app) = syslog_app_name(msg) {
            assert!(!app.is_empty(), "empty APP-NAME");
            assert!(!app.contains(' '), "APP-NAME {app:?} contains a space");
            let text = String::from_utf8_lossy(msg);
            assert!(text.contains(app), "APP-NAME {app:?} not in the message");
        }
        let first = parser.parse(msg, &ctx);
        let again = parser.parse(msg, &ctx);
        match (&first, &again) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a.len(), b.len(), "parse is not deterministic");
                for e in a {
                    assert_eq!(
                        e.get("metadata.evident.format").and_then(|v| v.as_str()),
                        Some("syslog")
                    );
                    assert!(e.get("raw_data").is_some());
                }
            }
            (Err(a), Err(b)) => {
                assert_eq!(a, b, "parse is not deterministic");
                assert!(!a.to_string().is_empty());
            }
            _ => panic!("parse is not deterministic: {first:?} then {again:?}"),
        }
    }
});
