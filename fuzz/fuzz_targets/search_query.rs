//! Search query text through the query parser. Invariants: no panic; parsing is
//! deterministic (the same text gives the same query or the same error) and a parsed
//! query serializes (the API returns it as JSON); an error names a position inside the
//! text (1-based line and column, at most one past the end) and says what was wrong.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let first = evident_search::parse(text);
    assert_eq!(first, evident_search::parse(text), "{text:?} parsed twice");
    match first {
        Ok(q) => {
            serde_json::to_string(&q)
                .unwrap_or_else(|e| panic!("{text:?} parsed to a query that does not serialize: {e}"));
        }
        Err(e) => {
            let lines = text.split('\n').count();
            assert!(e.line >= 1 && e.line <= lines, "line {} of {lines}", e.line);
            let line_len = text
                .split('\n')
                .nth(e.line - 1)
                .map_or(0, |l| l.chars().count());
            assert!(
                e.column >= 1 && e.column <= line_len + 1,
                "column {} of a {line_len}-char line",
                e.column
            );
            assert!(!e.message.is_empty());
        }
    }
});
