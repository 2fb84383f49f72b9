//! From received bytes to normalized events. [`decode_body`] undoes gzip and
//! [`split_records`] cuts a body into records (exact bytes and line numbers kept);
//! [`Parser`] turns one record into OCSF [`Event`]s, by the source's [`Format`] or, for
//! `auto`, by recognising the record's shape ([`detect`]). Each vendor format is one module
//! under `formats/`.
//!
//! ```
//! use evident_model::{Class, Format, Framing};
//! use evident_sources::{ParseContext, Parser, split_records, Limits};
//! let body = b"{\"a\":1}\nnot json\n{\"b\":2}\n";
//! let split = split_records(body, Framing::Json, &Limits::default())?;
//! assert_eq!(split.records.len(), 3);
//! assert_eq!(split.warnings[0].line, 2);
//!
//! let mut parser = Parser::new(Format::Auto);
//! let ctx = ParseContext::new("app", 1_764_150_000_000_000_000);
//! let events = parser.parse(br#"{"level":"info","msg":"hello"}"#, &ctx)?;
//! assert_eq!(events[0].class(), Some(Class::BaseEvent));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod formats;
mod framing;
mod parse;

pub use evident_model::Event;
pub use formats::syslog::syslog_app_name;
pub use framing::{BodyError, Limits, Record, RecordWarning, Split, decode_body, split_records};
pub use parse::{JsonMapping, ParseContext, ParseError, Parser, detect};
