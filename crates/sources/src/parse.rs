//! One record → OCSF events: the shared front half of every parser (UTF-8, JSON, size
//! checks, format detection) and the fields every event gets (`raw_data`, `unmapped`,
//! `metadata.product`, parse markers).

use evident_model::{Class, Event, Format};
use serde_json::{Map, Value};

use crate::formats;

/// Largest record a parser accepts; framing limits are usually lower.
pub const MAX_PARSE_BYTES: usize = 1 << 20;

/// What a parser knows besides the record.
#[derive(Clone, Debug)]
pub struct ParseContext<'a> {
    /// Source name, for messages and `metadata.evident.source`.
    pub source: &'a str,
    /// When Evident received the record (ns since the epoch): the fallback event time, and
    /// the year for formats that omit it (RFC 3164 syslog).
    pub received_at_ns: u64,
    /// Field mapping for the generic JSON format.
    pub json_mapping: Option<&'a JsonMapping>,
}

impl<'a> ParseContext<'a> {
    /// A context with no JSON mapping.
    pub fn new(source: &'a str, received_at_ns: u64) -> ParseContext<'a> {
        ParseContext {
            source,
            received_at_ns,
            json_mapping: None,
        }
    }

    /// Receive time in ms since the epoch.
    pub fn received_at_ms(&self) -> i64 {
        (self.received_at_ns / 1_000_000) as i64
    }
}

/// How generic JSON application logs map onto OCSF: for each OCSF path, the dotted path
/// of the application's field that holds it (`time = "ts"`, `actor.user.name = "user.id"`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct JsonMapping {
    /// Field holding the event time (RFC 3339, or epoch seconds / milliseconds).
    pub time: Option<String>,
    /// Field holding the message.
    pub message: Option<String>,
    /// Field holding the severity word (debug, info, warn, error, fatal…).
    pub severity: Option<String>,
    /// Further OCSF path → application field path pairs.
    #[serde(default)]
    pub fields: std::collections::BTreeMap<String, String>,
}

/// Why a record could not be normalized. The record is in the ledger regardless; this is
/// what `evident parse` prints as `FILE:LINE: message` and what source health counts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Bytes that are not UTF-8 in a text format.
    #[error("invalid UTF-8 at byte {at}")]
    InvalidUtf8 {
        /// Offset of the first bad byte.
        at: usize,
    },
    /// A JSON format record that is not JSON.
    #[error("invalid JSON: {detail}")]
    InvalidJson {
        /// serde_json's message (names line and column).
        detail: String,
    },
    /// JSON that is not an object.
    #[error("expected a JSON object, found {found}")]
    NotAnObject {
        /// What was found instead (array, string, …).
        found: &'static str,
    },
    /// A field the format requires is absent.
    #[error("missing field `{field}`")]
    MissingField {
        /// Dotted path of the field.
        field: String,
    },
    /// A field of the wrong JSON type or text shape.
    #[error("field `{field}` should be {expected}")]
    WrongType {
        /// Dotted path of the field.
        field: String,
        /// What it should be.
        expected: &'static str,
    },
    /// A record that does not have the format's shape at all.
    #[error("not a valid {format} record: {detail}")]
    Unrecognized {
        /// The format tried.
        format: &'static str,
        /// What did not match.
        detail: String,
    },
    /// A record above [`MAX_PARSE_BYTES`].
    #[error("record of {size} bytes exceeds the parser limit of {limit} bytes")]
    TooLarge {
        /// Record size.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

/// Parses the records of one source. Holds per-source state (a VPC Flow Logs header line
/// sets the field order of the lines after it), so use one parser per source.
#[derive(Debug)]
pub struct Parser {
    format: Format,
    vpcflow: formats::vpcflow::VpcFlowParser,
    mapping: Option<JsonMapping>,
}

impl Parser {
    /// A parser for `format` (`Format::Auto` detects per record).
    pub fn new(format: Format) -> Parser {
        Parser {
            format,
            vpcflow: formats::vpcflow::VpcFlowParser::default(),
            mapping: None,
        }
    }

    /// Uses `mapping` for generic JSON records.
    pub fn with_json_mapping(mut self, mapping: JsonMapping) -> Parser {
        self.mapping = Some(mapping);
        self
    }

    /// The configured format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Normalizes one record. With `Format::Auto`, a record of no known shape becomes a
    /// Base Event marked `unmapped.evident_parse = "unknown_format"` rather than an error:
    /// it is still evidence and still searchable. An empty result (a VPC Flow Logs header
    /// line) is not an error either.
    pub fn parse(
        &mut self,
        record: &[u8],
        ctx: &ParseContext<'_>,
    ) -> Result<Vec<Event>, ParseError> {
        if record.len() > MAX_PARSE_BYTES {
            return Err(ParseError::TooLarge {
                size: record.len(),
                limit: MAX_PARSE_BYTES,
            });
        }
        let mapping_ctx;
        let ctx = match (&self.mapping, ctx.json_mapping) {
            (Some(m), None) => {
                mapping_ctx = ParseContext {
                    json_mapping: Some(m),
                    ..ctx.clone()
                };
                &mapping_ctx
            }
            _ => ctx,
        };
        let format = match self.format {
            Format::Auto => match detect(record) {
                Some(f) => f,
                None => return Ok(vec![unknown_format(record, ctx)]),
            },
            f => f,
        };
        let mut events = formats::parse(format, &mut self.vpcflow, record, ctx)?;
        for e in &mut events {
            if e.get("raw_data").is_none() {
                // Validating then copying is faster than the lossy path for valid UTF-8.
                let raw = match std::str::from_utf8(record) {
                    Ok(s) => s.to_owned(),
                    Err(_) => String::from_utf8_lossy(record).into_owned(),
                };
                e.set("raw_data", raw);
            }
            e.set("metadata.evident.format", format.as_str());
        }
        Ok(events)
    }
}

/// Recognises a record's format from its shape, or `None`.
pub fn detect(record: &[u8]) -> Option<Format> {
    formats::detect(record)
}

/// A Base Event for a record of unknown shape: JSON objects keep their fields in
/// `unmapped`, anything else is kept as `raw_data` only.
fn unknown_format(record: &[u8], ctx: &ParseContext<'_>) -> Event {
    let mut e = Event::new(Class::BaseEvent, 0, ctx.received_at_ms());
    e.set("raw_data", String::from_utf8_lossy(record).into_owned());
    if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(record) {
        e.set("unmapped", Value::Object(obj));
    }
    e.set("unmapped.evident_parse", "unknown_format");
    e.set("metadata.evident.format", "unknown");
    e
}

/// Parses a JSON record into an object, with the errors formats share.
pub(crate) fn json_object(record: &[u8]) -> Result<Map<String, Value>, ParseError> {
    match serde_json::from_slice::<Value>(record) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(ParseError::NotAnObject {
            found: json_type(&other),
        }),
        Err(e) => Err(ParseError::InvalidJson {
            detail: e.to_string(),
        }),
    }
}

/// A record of a text format as `&str`.
pub(crate) fn text(record: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(record).map_err(|e| ParseError::InvalidUtf8 {
        at: e.valid_up_to(),
    })
}

/// JSON type name for messages.
pub(crate) fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
