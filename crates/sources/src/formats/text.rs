//! Plain text lines (format `text`): a source that sends lines with no structure Evident
//! knows. Each line becomes one event with the line as `message` and the receive time as
//! `time` (a free-form line has no time format to trust).
//!
//! Class: a source declares `text` for its own application's or system's output, which is
//! Application Activity (OCSF category 6); as with generic JSON logs (`json`), nothing in the
//! line says which operation it records, so it is API Activity (6003), activity Other (99),
//! severity Informational. Rules still match it through `message` and `raw_data`.
//!
//! Never auto-detected (the module has no `detect`): a source declares `text`.

use evident_model::{Class, Event};

use crate::parse::{self, ParseContext, ParseError};

/// Turns one line into an event.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let line = parse::text(record)?.trim_end_matches(['\r', '\n']);
    let mut e = Event::new(Class::ApiActivity, 99, ctx.received_at_ms());
    e.set("metadata.product.name", ctx.source);
    e.set("metadata.log_name", "text");
    e.set("message", line);
    Ok(vec![e])
}
