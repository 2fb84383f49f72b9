//! Search query text through the query parser. Invariants: no panic; a query that parses
//! prints (`Display`) to text that parses to the same query; an error names a position
//! inside the text (1-based line and column, at most one past the end).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match evident_search::parse(text) {
        Ok(q) => {
            let printed = q.to_string();
            let again = evident_search::parse(&printed)
                .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which fails: {e}"));
            assert_eq!(again, q, "{text:?} printed as {printed:?}");
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
