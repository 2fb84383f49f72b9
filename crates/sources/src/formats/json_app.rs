//! Generic JSON application logs (format `json`): one JSON object per record, from the
//! customer's own services. There is no vendor schema, so the source's [`JsonMapping`] says
//! where the time, message and severity are and which application fields fill which OCSF
//! attributes; any part the mapping leaves out falls back to the keys structured loggers
//! commonly use (time: `ts`, `time`, `timestamp`, `@timestamp`; message: `msg`, `message`;
//! severity: `level`, `severity`; fields: [`DEFAULT_FIELDS`], which fit the request logs of
//! Evident's demo `app` source).
//!
//! Class: an application's own log line is Application Activity (OCSF category 6), and the
//! only class of that category Evident produces for arbitrary application operations is API
//! Activity (6003); which operation a line records is not knowable in general, so the
//! activity is Other (99). When the line carries an HTTP status (`http_response.code`), it
//! gives the status: below 400 Success, else Failure. Severity words map trace / debug / info
//! → Informational, notice → Low, warn / warning → Medium, error → High, critical / fatal /
//! alert / emergency → Critical; an unknown word is kept as severity Other.
//!
//! Never auto-detected (the module has no `detect`): a source declares `json`.
//!
//! [`JsonMapping`]: crate::JsonMapping

use evident_model::{Class, Event, Severity};
use serde_json::{Map, Value};

use super::util;
use crate::parse::{self, ParseContext, ParseError};

/// Keys tried for the event time when the mapping names none.
const TIME_KEYS: &[&str] = &["ts", "time", "timestamp", "@timestamp"];
/// Keys tried for the message when the mapping names none.
const MESSAGE_KEYS: &[&str] = &["msg", "message"];
/// Keys tried for the severity word when the mapping names none.
const SEVERITY_KEYS: &[&str] = &["level", "severity"];
/// OCSF path ← application field, used when the mapping has no `fields`.
const DEFAULT_FIELDS: &[(&str, &str)] = &[
    ("api.service.name", "service"),
    ("api.request.uid", "request_id"),
    ("actor.user.uid", "user_id"),
    ("src_endpoint.ip", "client_ip"),
    ("http_request.http_method", "http.method"),
    ("http_request.url.path", "http.path"),
    ("http_response.code", "http.status"),
    ("duration", "http.duration_ms"),
];

/// Normalizes one application log object by the context's mapping.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = parse::json_object(record)?;
    let mapping = ctx.json_mapping;

    let time = match mapping.and_then(|m| m.time.as_deref()) {
        Some(path) => match lookup(&obj, path) {
            None | Some(Value::Null) => ctx.received_at_ms(),
            Some(v) => util::parse_time(v).ok_or_else(|| ParseError::WrongType {
                field: path.to_owned(),
                expected: "a time (RFC 3339, or epoch seconds or milliseconds)",
            })?,
        },
        None => TIME_KEYS
            .iter()
            .find_map(|k| obj.get(*k).and_then(util::parse_time))
            .unwrap_or_else(|| ctx.received_at_ms()),
    };

    let mut e = Event::new(Class::ApiActivity, 99, time);
    e.set("metadata.product.name", ctx.source);
    e.set("metadata.log_name", "application");

    let message = match mapping.and_then(|m| m.message.as_deref()) {
        Some(path) => lookup(&obj, path).and_then(as_text),
        None => MESSAGE_KEYS
            .iter()
            .find_map(|k| obj.get(*k).and_then(as_text)),
    };
    e.set_opt("message", message);

    let level = match mapping.and_then(|m| m.severity.as_deref()) {
        Some(path) => lookup(&obj, path).and_then(Value::as_str),
        None => SEVERITY_KEYS
            .iter()
            .find_map(|k| obj.get(*k).and_then(Value::as_str)),
    };
    if let Some(word) = level {
        let severity = severity(word);
        e.set_severity(severity);
        if severity == Severity::Other {
            e.set("severity", word);
        }
    }

    match mapping.filter(|m| !m.fields.is_empty()) {
        Some(m) => {
            for (ocsf, app) in &m.fields {
                set_field(&mut e, ocsf, &obj, app);
            }
        }
        None => {
            for (ocsf, app) in DEFAULT_FIELDS {
                set_field(&mut e, ocsf, &obj, app);
            }
        }
    }
    if let Some(code) = e.get("http_response.code").and_then(Value::as_i64) {
        e.set_status(util::http_status(code));
    }
    e.set("unmapped", Value::Object(obj));
    Ok(vec![e])
}

/// OCSF severity of a log level word.
fn severity(word: &str) -> Severity {
    match word.trim().to_ascii_lowercase().as_str() {
        "trace" | "debug" | "info" | "information" | "informational" => Severity::Informational,
        "notice" => Severity::Low,
        "warn" | "warning" => Severity::Medium,
        "error" | "err" => Severity::High,
        "critical" | "crit" | "fatal" | "alert" | "emergency" | "emerg" | "panic" => {
            Severity::Critical
        }
        _ => Severity::Other,
    }
}

/// Copies the application field at `app` (a literal key, or a dotted path into nested
/// objects) to the OCSF path `ocsf`. An HTTP method is upper-cased.
fn set_field(e: &mut Event, ocsf: &str, obj: &Map<String, Value>, app: &str) {
    if let Some(v) = lookup(obj, app) {
        match (ocsf, v) {
            ("http_request.http_method", Value::String(m)) => {
                e.set(ocsf.to_owned(), m.to_ascii_uppercase())
            }
            _ => e.set(ocsf.to_owned(), v.clone()),
        };
    }
}

/// The value of an application field: a top-level key named exactly `path` (loggers that
/// flatten write `"http.method"` keys), else the dotted path into nested objects.
fn lookup<'a>(obj: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    obj.get(path).or_else(|| util::get(obj, path))
}

/// A message value as text (numbers and booleans are rendered; objects are not messages).
fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
        _ => None,
    }
}
