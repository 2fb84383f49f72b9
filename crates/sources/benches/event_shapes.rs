//! What the OCSF event's representation costs, for issue 3's CloudTrail budget (≥ 150k
//! events/s per core): the same CloudTrail records parsed by today's parser and by four
//! cheaper shapes, each measured in CPU time of this thread, in one run.
//!
//! 1. `serde_json::Value` parse and drop: the floor of any parser that builds the vendor
//!    tree `unmapped` holds today;
//! 2. a typed parse with borrowed strings (serde derive over the fields the mapping reads),
//!    dropped;
//! 3. that parse plus the mapped attributes as flat `(path, value)` pairs and `raw_data`;
//! 4. that parse plus the attributes as today's nested `serde_json::Map` (no `unmapped`);
//! 5. 4 plus the `unmapped` vendor tree — roughly what the parser does now;
//!
//! and the parser itself (`Parser::parse`). The shapes build the attributes the CloudTrail
//! parser sets for an API Activity event; they are a measurement, not a second parser.
//!
//! `cargo bench -p evident-sources --bench event_shapes` (`EVIDENT_TESTDATA` for the
//! shared data; default `/work/shared/testdata`; `EVENT_SHAPE=N` runs only the Nth, for a
//! profiler).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark panics on bad setup

use std::borrow::Cow;
use std::path::PathBuf;

use evident_model::Format;
use evident_sources::{ParseContext, Parser};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The allocator of the `evident` binary.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// CPU seconds each shape runs for.
const CPU_SECONDS: f64 = 2.0;

type Text<'a> = Option<Cow<'a, str>>;

/// One shape: turns a record into something, returning a number so it is not optimized away.
type Shape<'a> = &'a mut dyn FnMut(&[u8]) -> usize;

/// The CloudTrail fields the mapping reads; the rest of the record is skipped unparsed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    #[serde(borrow)]
    event_version: Text<'a>,
    #[serde(borrow)]
    user_identity: Option<Identity<'a>>,
    #[serde(borrow)]
    event_time: Text<'a>,
    #[serde(borrow)]
    event_source: Text<'a>,
    #[serde(borrow)]
    event_name: Text<'a>,
    #[serde(borrow)]
    aws_region: Text<'a>,
    #[serde(borrow, rename = "sourceIPAddress")]
    source_ip_address: Text<'a>,
    #[serde(borrow)]
    user_agent: Text<'a>,
    #[serde(borrow, rename = "requestID")]
    request_id: Text<'a>,
    #[serde(borrow, rename = "eventID")]
    event_id: Text<'a>,
    #[serde(borrow)]
    recipient_account_id: Text<'a>,
    #[serde(borrow)]
    api_version: Text<'a>,
    #[serde(borrow)]
    request_parameters: Option<&'a RawValue>,
    #[serde(borrow)]
    response_elements: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Identity<'a> {
    #[serde(borrow, rename = "type")]
    kind: Text<'a>,
    #[serde(borrow)]
    principal_id: Text<'a>,
    #[serde(borrow)]
    arn: Text<'a>,
    #[serde(borrow)]
    account_id: Text<'a>,
    #[serde(borrow)]
    access_key_id: Text<'a>,
    #[serde(borrow)]
    user_name: Text<'a>,
    #[serde(borrow)]
    session_context: Option<SessionContext<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SessionContext<'a> {
    #[serde(borrow)]
    attributes: Option<Attributes<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Attributes<'a> {
    #[serde(borrow)]
    mfa_authenticated: Text<'a>,
}

fn time_ms(r: &Record<'_>) -> i64 {
    r.event_time
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or(0, |t| t.timestamp_millis())
}

/// The mapped attributes as `(dotted path, value)` pairs: the shape an event could have
/// if nesting were only made when it is serialized.
fn flat(record: &[u8]) -> usize {
    let r: Record<'_> = serde_json::from_slice(record).unwrap();
    let mut out: Vec<(&'static str, Value)> = Vec::with_capacity(32);
    let mut put = |path: &'static str, v: &Text<'_>| {
        if let Some(v) = v {
            out.push((path, Value::String(v.to_string())));
        }
    };
    put("metadata.uid", &r.event_id);
    put("metadata.event_code", &r.event_name);
    put("metadata.log_version", &r.event_version);
    put("api.operation", &r.event_name);
    put("api.version", &r.api_version);
    put("api.service.name", &r.event_source);
    put("api.request.uid", &r.request_id);
    put("cloud.region", &r.aws_region);
    put("cloud.account.uid", &r.recipient_account_id);
    if let Some(i) = &r.user_identity {
        put("actor.user.type", &i.kind);
        put("actor.user.uid", &i.principal_id);
        put("actor.user.uid_alt", &i.arn);
        put("actor.user.name", &i.user_name);
        put("actor.user.account.uid", &i.account_id);
        put("actor.session.credential_uid", &i.access_key_id);
    }
    put("src_endpoint.ip", &r.source_ip_address);
    put("http_request.user_agent", &r.user_agent);
    out.push(("time", time_ms(&r).into()));
    let raw = String::from_utf8_lossy(record).into_owned();
    out.push(("raw_data", Value::String(raw)));
    out.len() + usize::from(r.request_parameters.is_some() || r.response_elements.is_some())
}

fn insert(m: &mut Map<String, Value>, key: &str, v: &Text<'_>) {
    if let Some(v) = v {
        m.insert(key.to_owned(), Value::String(v.to_string()));
    }
}

fn one(key: &str, v: &str) -> Value {
    let mut m = Map::new();
    m.insert(key.to_owned(), Value::String(v.to_owned()));
    Value::Object(m)
}

/// The mapped attributes as today's nested `serde_json::Map`, without `unmapped`.
fn nested(record: &[u8]) -> Map<String, Value> {
    let r: Record<'_> = serde_json::from_slice(record).unwrap();
    let mut e = Map::new();
    for (k, v) in [
        ("class_uid", Value::from(6003)),
        ("class_name", "API Activity".into()),
        ("category_uid", 6.into()),
        ("category_name", "Application Activity".into()),
        ("activity_id", 3.into()),
        ("activity_name", "Update".into()),
        ("type_uid", 600303.into()),
        ("type_name", "API Activity: Update".to_owned().into()),
        ("time", time_ms(&r).into()),
        ("severity_id", 1.into()),
        ("severity", "Informational".into()),
        ("status_id", 1.into()),
        ("status", "Success".into()),
    ] {
        e.insert(k.to_owned(), v);
    }
    let mut metadata = Map::new();
    metadata.insert("version".into(), "1.8.0".into());
    metadata.insert("product".into(), one("name", "CloudTrail"));
    insert(&mut metadata, "uid", &r.event_id);
    insert(&mut metadata, "event_code", &r.event_name);
    insert(&mut metadata, "log_version", &r.event_version);
    e.insert("metadata".into(), Value::Object(metadata));
    let mut api = Map::new();
    insert(&mut api, "operation", &r.event_name);
    insert(&mut api, "version", &r.api_version);
    if let Some(s) = &r.event_source {
        api.insert("service".into(), one("name", s));
    }
    if let Some(s) = &r.request_id {
        api.insert("request".into(), one("uid", s));
    }
    e.insert("api".into(), Value::Object(api));
    let mut cloud = Map::new();
    cloud.insert("provider".into(), "AWS".into());
    insert(&mut cloud, "region", &r.aws_region);
    if let Some(a) = &r.recipient_account_id {
        cloud.insert("account".into(), one("uid", a));
    }
    e.insert("cloud".into(), Value::Object(cloud));
    if let Some(i) = &r.user_identity {
        let mut user = Map::new();
        insert(&mut user, "type", &i.kind);
        insert(&mut user, "uid", &i.principal_id);
        insert(&mut user, "uid_alt", &i.arn);
        insert(&mut user, "name", &i.user_name);
        if let Some(a) = &i.account_id {
            user.insert("account".into(), one("uid", a));
        }
        let mut actor = Map::new();
        actor.insert("user".into(), Value::Object(user));
        let mut session = Map::new();
        insert(&mut session, "credential_uid", &i.access_key_id);
        if let Some(a) = i
            .session_context
            .as_ref()
            .and_then(|s| s.attributes.as_ref())
        {
            let mfa = a.mfa_authenticated.as_deref() == Some("true");
            session.insert("is_mfa".into(), mfa.into());
        }
        actor.insert("session".into(), Value::Object(session));
        e.insert("actor".into(), Value::Object(actor));
    }
    if let Some(ip) = &r.source_ip_address {
        e.insert("src_endpoint".into(), one("ip", ip));
    }
    if let Some(ua) = &r.user_agent {
        e.insert("http_request".into(), one("user_agent", ua));
    }
    let raw = String::from_utf8_lossy(record).into_owned();
    e.insert("raw_data".into(), Value::String(raw));
    e
}

/// CPU time of this thread, in seconds (`utime + stime` of `/proc/thread-self/stat`).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// Runs `f` over every record until [`CPU_SECONDS`] of CPU time are spent; records/s.
fn measure(records: &[Vec<u8>], f: Shape<'_>) -> f64 {
    let start = cpu_seconds();
    let (mut n, mut sink) = (0u64, 0usize);
    while cpu_seconds() - start < CPU_SECONDS {
        for r in records {
            sink = sink.wrapping_add(f(r));
            n += 1;
        }
    }
    std::hint::black_box(sink);
    n as f64 / (cpu_seconds() - start)
}

fn main() {
    let dir = std::env::var_os("EVIDENT_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/shared/testdata"));
    let path = dir.join("logs/panther/aws_cloudtrail.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("{} not found: set EVIDENT_TESTDATA", path.display());
        return;
    };
    let records: Vec<Vec<u8>> = text
        .lines()
        .filter(|l| serde_json::from_str::<Record<'_>>(l).is_ok())
        .map(|l| l.as_bytes().to_vec())
        .collect();
    let bytes: usize = records.iter().map(Vec::len).sum();
    println!(
        "{} CloudTrail records of {}, mean {} B; records per CPU second:",
        records.len(),
        path.display(),
        bytes / records.len().max(1)
    );
    let ctx = ParseContext::new("bench", 1_764_150_000_000_000_000);
    let mut parser = Parser::new(Format::CloudTrail);
    let shapes: [(&str, Shape<'_>); 6] = [
        ("serde_json Value parse, dropped", &mut |r| {
            serde_json::from_slice::<Value>(r).map_or(0, |v| usize::from(v.is_object()))
        }),
        ("typed borrowed parse, dropped", &mut |r| {
            serde_json::from_slice::<Record<'_>>(r)
                .map_or(0, |x| usize::from(x.event_name.is_some()))
        }),
        (
            "typed parse + flat (path, value) attributes + raw_data",
            &mut flat,
        ),
        (
            "typed parse + nested serde_json::Map attributes + raw_data",
            &mut |r| nested(r).len(),
        ),
        ("  … + the unmapped vendor tree", &mut |r| {
            let mut e = nested(r);
            e.insert(
                "unmapped".into(),
                serde_json::from_slice::<Value>(r).unwrap(),
            );
            e.len()
        }),
        ("Parser::parse", &mut |r| {
            parser.parse(r, &ctx).map_or(0, |e| e.len())
        }),
    ];
    let only: Option<usize> = std::env::var("EVENT_SHAPE")
        .ok()
        .and_then(|n| n.parse().ok());
    for (i, (name, f)) in shapes.into_iter().enumerate() {
        if only.is_some_and(|n| n != i + 1) {
            continue;
        }
        println!("{:>10.0}  {name}", measure(&records, f));
    }
}
