//! OpenTelemetry log records (format `otlp`), in the OTLP/JSON encoding of a `LogsData`
//! message (<https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding>):
//! `{"resourceLogs":[{"resource":…,"scopeLogs":[{"scope":…,"logRecords":[…]}]}]}`. Evident's
//! OTLP receiver stores every log record it receives as such a document holding exactly that
//! one record with its resource and scope (docs/receivers/otlp.md); the OpenTelemetry
//! Collector's file exporter writes the same shape, one document per line, so its files can
//! be imported too. A document with several records gives one event per record.
//!
//! OTLP/JSON: keys are lowerCamelCase, 64-bit integers are decimal strings (numbers are
//! accepted too), trace and span ids are hex, attribute values are typed `AnyValue`s
//! (`{"stringValue":"x"}`, `{"intValue":"3"}`, `{"kvlistValue":{"values":[…]}}`, …). In the
//! event, attributes and the body become plain JSON (`{"http.request.method":"GET"}`), with
//! bytes as their base64 text.
//!
//! Class: an application's log record is Application Activity; as for the generic `json`
//! format, which operation it records is not knowable in general, so it is API Activity
//! (6003), activity Other (99), with `api.operation` = the record's `eventName` when it has
//! one. Time: `timeUnixNano`, else `observedTimeUnixNano`, else the receive time. Severity
//! from `severityNumber` (OTel's ranges: TRACE 1–4, DEBUG 5–8, INFO 9–12 → Informational;
//! WARN 13–16 → Medium; ERROR 17–20 → High; FATAL 21–24 → Critical), else from
//! `severityText` by the same words, else Unknown. `message` is the body when it is a string.
//! `metadata.product.name` / `.version` are the resource's `service.name` /
//! `service.version` (the source name without one), `metadata.log_name` the instrumentation
//! scope, `metadata.correlation_uid` the trace id, `device.hostname` the resource's
//! `host.name`. HTTP semantic-convention attributes fill the HTTP attributes
//! (`http.request.method`, `url.path`, `http.response.status_code`, which also gives the
//! status), `client.address` the source endpoint and `user.id` / `user.name` / `enduser.id`
//! the actor. `unmapped` keeps everything by OTLP name: `resource` (attributes), `scope`
//! (name, version, attributes), the record's `attributes` and `body`, and its remaining
//! fields.

use std::net::IpAddr;

use evident_model::{Class, Event, Severity};
use serde_json::{Map, Value};

use super::{Shape, util};
use crate::parse::{self, ParseContext, ParseError};

/// Is the record an OTLP/JSON `LogsData` (a `resourceLogs` array)?
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    obj.get("resourceLogs").is_some_and(Value::is_array)
}

/// Normalizes every log record of one `LogsData` document.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = parse::json_object(record)?;
    if !obj.contains_key("resourceLogs") {
        return Err(ParseError::MissingField {
            field: "resourceLogs".into(),
        });
    }
    let mut events = Vec::new();
    for (i, rl) in array(obj.get("resourceLogs"), "resourceLogs")?
        .iter()
        .enumerate()
    {
        let at = format!("resourceLogs.{i}");
        let rl = object(rl, &at)?;
        let resource = optional_object(rl.get("resource"), &format!("{at}.resource"))?;
        let resource_attrs = match resource {
            Some(r) => attributes(r.get("attributes"), &format!("{at}.resource.attributes"))?,
            None => Map::new(),
        };
        for (j, sl) in array(rl.get("scopeLogs"), &format!("{at}.scopeLogs"))?
            .iter()
            .enumerate()
        {
            let at = format!("{at}.scopeLogs.{j}");
            let sl = object(sl, &at)?;
            let scope = match optional_object(sl.get("scope"), &format!("{at}.scope"))? {
                Some(s) => Scope {
                    name: string(s.get("name"), &format!("{at}.scope.name"))?,
                    version: string(s.get("version"), &format!("{at}.scope.version"))?,
                    attributes: attributes(s.get("attributes"), &format!("{at}.scope.attributes"))?,
                },
                None => Scope::default(),
            };
            for (k, lr) in array(sl.get("logRecords"), &format!("{at}.logRecords"))?
                .iter()
                .enumerate()
            {
                let at = format!("{at}.logRecords.{k}");
                let lr = object(lr, &at)?;
                events.push(log_record(lr, &resource_attrs, &scope, &at, ctx)?);
            }
        }
    }
    Ok(events)
}

/// An instrumentation scope, decoded.
#[derive(Default)]
struct Scope {
    name: String,
    version: String,
    attributes: Map<String, Value>,
}

/// One log record → one event.
fn log_record(
    lr: &Map<String, Value>,
    resource: &Map<String, Value>,
    scope: &Scope,
    at: &str,
    ctx: &ParseContext<'_>,
) -> Result<Event, ParseError> {
    let field = |name: &str| format!("{at}.{name}");
    let time_ns = uint(lr.get("timeUnixNano"), &field("timeUnixNano"))?;
    let observed_ns = uint(
        lr.get("observedTimeUnixNano"),
        &field("observedTimeUnixNano"),
    )?;
    let severity_number = uint(lr.get("severityNumber"), &field("severityNumber"))?;
    let severity_text = string(lr.get("severityText"), &field("severityText"))?;
    let event_name = string(lr.get("eventName"), &field("eventName"))?;
    let trace_id = string(lr.get("traceId"), &field("traceId"))?;
    let span_id = string(lr.get("spanId"), &field("spanId"))?;
    let flags = uint(lr.get("flags"), &field("flags"))?;
    let dropped = uint(
        lr.get("droppedAttributesCount"),
        &field("droppedAttributesCount"),
    )?;
    let attrs = attributes(lr.get("attributes"), &field("attributes"))?;
    let body = match lr.get("body") {
        None | Some(Value::Null) => Value::Null,
        Some(v) => any_value(v, &field("body"))?,
    };

    let time_ms = [time_ns, observed_ns]
        .into_iter()
        .find(|t| *t > 0)
        .map_or_else(|| ctx.received_at_ms(), |ns| (ns / 1_000_000) as i64);
    let mut e = Event::new(Class::ApiActivity, 99, time_ms);
    e.set_severity(severity(severity_number, &severity_text));

    let service = resource.get("service.name").and_then(Value::as_str);
    e.set("metadata.product.name", service.unwrap_or(ctx.source));
    e.set_opt(
        "metadata.product.version",
        resource.get("service.version").and_then(Value::as_str),
    );
    e.set_opt("api.service.name", service);
    e.set_opt("metadata.log_name", nonempty(&scope.name));
    e.set_opt("api.operation", nonempty(&event_name));
    if is_valid_id(&trace_id) {
        e.set("metadata.correlation_uid", trace_id.to_ascii_lowercase());
    }
    e.set_opt(
        "device.hostname",
        resource.get("host.name").and_then(Value::as_str),
    );
    if let Value::String(s) = &body {
        e.set("message", s.as_str());
    }

    let text = |k: &str| {
        attrs
            .get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    e.set_opt(
        "http_request.http_method",
        text("http.request.method").map(str::to_ascii_uppercase),
    );
    e.set_opt("http_request.url.path", text("url.path"));
    if let Some(code) = attrs.get("http.response.status_code").and_then(as_int) {
        e.set("http_response.code", code);
        e.set_status(util::http_status(code));
    }
    if let Some(client) = text("client.address") {
        match client.parse::<IpAddr>() {
            Ok(_) => e.set("src_endpoint.ip", client),
            Err(_) => e.set("src_endpoint.hostname", client),
        };
    }
    e.set_opt(
        "actor.user.uid",
        text("user.id").or_else(|| text("enduser.id")),
    );
    e.set_opt("actor.user.name", text("user.name"));

    let mut unmapped = Map::new();
    unmapped.insert("resource".into(), Value::Object(resource.clone()));
    let mut scope_obj = Map::new();
    util::put(&mut scope_obj, "name", nonempty(&scope.name));
    util::put(&mut scope_obj, "version", nonempty(&scope.version));
    scope_obj.insert("attributes".into(), Value::Object(scope.attributes.clone()));
    unmapped.insert("scope".into(), Value::Object(scope_obj));
    unmapped.insert("attributes".into(), Value::Object(attrs));
    util::put(&mut unmapped, "body", Some(body).filter(|b| !b.is_null()));
    util::put(
        &mut unmapped,
        "timeUnixNano",
        Some(time_ns).filter(|t| *t > 0),
    );
    util::put(
        &mut unmapped,
        "observedTimeUnixNano",
        Some(observed_ns).filter(|t| *t > 0),
    );
    util::put(
        &mut unmapped,
        "severityNumber",
        Some(severity_number).filter(|n| *n > 0),
    );
    util::put(&mut unmapped, "severityText", nonempty(&severity_text));
    util::put(&mut unmapped, "eventName", nonempty(&event_name));
    util::put(&mut unmapped, "traceId", nonempty(&trace_id));
    util::put(&mut unmapped, "spanId", nonempty(&span_id));
    util::put(&mut unmapped, "flags", Some(flags).filter(|f| *f > 0));
    util::put(
        &mut unmapped,
        "droppedAttributesCount",
        Some(dropped).filter(|d| *d > 0),
    );
    e.set("unmapped", Value::Object(unmapped));
    Ok(e)
}

/// OCSF severity of an OTel severity number (1–24), else of the severity text.
fn severity(number: u64, text: &str) -> Severity {
    match number {
        1..=12 => Severity::Informational,
        13..=16 => Severity::Medium,
        17..=20 => Severity::High,
        21..=24 => Severity::Critical,
        0 if text.is_empty() => Severity::Unknown,
        0 => {
            // OTel's short names carry a level digit ("INFO2", "WARN4").
            let word = text.trim_end_matches(|c: char| c.is_ascii_digit());
            match word.to_ascii_lowercase().as_str() {
                "trace" | "debug" | "info" | "information" | "informational" => {
                    Severity::Informational
                }
                "notice" => Severity::Low,
                "warn" | "warning" => Severity::Medium,
                "error" | "err" => Severity::High,
                "fatal" | "critical" | "crit" | "alert" | "emergency" | "emerg" => {
                    Severity::Critical
                }
                _ => Severity::Other,
            }
        }
        _ => Severity::Other,
    }
}

/// A trace id worth correlating on: 32 hex digits, not all zero (the spec's "invalid" ids
/// are absent, of another length, or all zeroes).
fn is_valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) && id.bytes().any(|b| b != b'0')
}

fn nonempty(s: &str) -> Option<&str> {
    Some(s).filter(|s| !s.is_empty())
}

/// An attribute value as an integer (OTLP/JSON `intValue` arrives as a string).
fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// A list of `KeyValue`s as a plain JSON object (a later duplicate key wins, as the spec
/// leaves duplicates undefined).
fn attributes(v: Option<&Value>, at: &str) -> Result<Map<String, Value>, ParseError> {
    let mut out = Map::new();
    for (i, kv) in array(v, at)?.iter().enumerate() {
        let at = format!("{at}.{i}");
        let kv = object(kv, &at)?;
        let key = string(kv.get("key"), &format!("{at}.key"))?;
        let value = match kv.get("value") {
            None | Some(Value::Null) => Value::Null,
            Some(v) => any_value(v, &format!("{at}.value"))?,
        };
        out.insert(key, value);
    }
    Ok(out)
}

/// An OTLP/JSON `AnyValue` as plain JSON: strings, booleans and numbers as themselves (an
/// `intValue` as a number, a non-finite `doubleValue` as its string), arrays as arrays,
/// key-value lists as objects, bytes as their base64 text, an empty value as `null`.
fn any_value(v: &Value, at: &str) -> Result<Value, ParseError> {
    let obj = object(v, at)?;
    let wrong = |field: &str, expected: &'static str| ParseError::WrongType {
        field: format!("{at}.{field}"),
        expected,
    };
    if let Some(s) = obj.get("stringValue") {
        return s
            .as_str()
            .map(Value::from)
            .ok_or_else(|| wrong("stringValue", "a string"));
    }
    if let Some(b) = obj.get("boolValue") {
        return b
            .as_bool()
            .map(Value::from)
            .ok_or_else(|| wrong("boolValue", "a boolean"));
    }
    if let Some(i) = obj.get("intValue") {
        return as_int(i)
            .map(Value::from)
            .ok_or_else(|| wrong("intValue", "a 64-bit integer (decimal string or number)"));
    }
    if let Some(d) = obj.get("doubleValue") {
        return match d {
            Value::Number(_) => Ok(d.clone()),
            Value::String(s) if matches!(s.as_str(), "NaN" | "Infinity" | "-Infinity") => {
                Ok(d.clone())
            }
            _ => Err(wrong("doubleValue", "a number, \"NaN\" or \"Infinity\"")),
        };
    }
    if let Some(b) = obj.get("bytesValue") {
        return b
            .as_str()
            .map(Value::from)
            .ok_or_else(|| wrong("bytesValue", "a base64 string"));
    }
    if let Some(a) = obj.get("arrayValue") {
        let at = format!("{at}.arrayValue");
        let a = object(a, &at)?;
        let values = array(a.get("values"), &format!("{at}.values"))?;
        return values
            .iter()
            .enumerate()
            .map(|(i, v)| any_value(v, &format!("{at}.values.{i}")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    if let Some(kv) = obj.get("kvlistValue") {
        let at = format!("{at}.kvlistValue");
        let kv = object(kv, &at)?;
        return attributes(kv.get("values"), &format!("{at}.values")).map(Value::Object);
    }
    Ok(Value::Null)
}

fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, ParseError> {
    v.as_object().ok_or_else(|| ParseError::WrongType {
        field: at.to_owned(),
        expected: "an object",
    })
}

fn optional_object<'a>(
    v: Option<&'a Value>,
    at: &str,
) -> Result<Option<&'a Map<String, Value>>, ParseError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => object(v, at).map(Some),
    }
}

/// An array field; absent or `null` is the empty array (OTLP/JSON omits empty fields).
fn array<'a>(v: Option<&'a Value>, at: &str) -> Result<&'a [Value], ParseError> {
    match v {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(ParseError::WrongType {
            field: at.to_owned(),
            expected: "an array",
        }),
    }
}

/// A string field; absent is the empty string.
fn string(v: Option<&Value>, at: &str) -> Result<String, ParseError> {
    match v {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(ParseError::WrongType {
            field: at.to_owned(),
            expected: "a string",
        }),
    }
}

/// An unsigned integer field (decimal string or number, as OTLP/JSON allows); absent is 0.
fn uint(v: Option<&Value>, at: &str) -> Result<u64, ParseError> {
    let wrong = || ParseError::WrongType {
        field: at.to_owned(),
        expected: "an unsigned integer (decimal string or number)",
    };
    match v {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(wrong),
        Some(Value::String(s)) => s.parse().map_err(|_| wrong()),
        Some(_) => Err(wrong()),
    }
}
