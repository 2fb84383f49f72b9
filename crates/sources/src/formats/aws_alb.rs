//! AWS Application Load Balancer access logs: the native space-separated line that "Access
//! logs for your Application Load Balancer" documents
//! (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html>)
//! — `type time elb client:port target:port request_processing_time target_processing_time
//! response_processing_time elb_status_code target_status_code received_bytes sent_bytes
//! "request" "user_agent" ssl_cipher ssl_protocol target_group_arn "trace_id" "domain_name"
//! "chosen_cert_arn" matched_rule_priority request_creation_time "actions_executed"
//! "redirect_url" "error_reason" "target:port_list" "target_status_code_list"
//! "classification" "classification_reason" conn_trace_id` — and Panther's JSON row of the
//! same fields (`clientIp`, `elbStatusCode`, `requestHttpMethod`, …). `-` means absent.
//!
//! Both become an HTTP Activity (4002) whose activity is the request method (CONNECT 1,
//! DELETE 2, GET 3, HEAD 4, OPTIONS 5, POST 6, PUT 7, TRACE 8, PATCH 9, another method Other
//! 99, none Unknown 0); client → `src_endpoint`, target → `dst_endpoint`, the request line →
//! `http_request` (method, URL split into scheme/host/port/path/query, version), the load
//! balancer's status → `http_response.code` and the status (Failure from 400 up), bytes →
//! `traffic`, TLS cipher/protocol/SNI → `tls`. The text line's fields go to `unmapped` under
//! Panther's names (fields past the documented ones in `additionalFields`), the same as the
//! JSON row's, so one rule matches both shapes.

use evident_model::{Class, Event};
use serde_json::{Map, Value};

use super::Shape;
use super::access_log::{insert_additional_fields, set_http_response, split_line};
use super::util::{
    fallback_time, get_str, http_activity, mark_unparsed_time, parse_time, parse_time_str,
    starts_as_json_object,
};
use crate::parse::{ParseContext, ParseError, json_object, text};

/// Request types an ALB logs in the first field.
const TYPES: &[&str] = &["http", "https", "h2", "grpcs", "ws", "wss"];

/// The line's fields after the two `ip:port` pairs and the request line are split, by
/// Panther's names: (index in the line, name, kind).
const FIELDS: &[(usize, &str, Kind)] = &[
    (0, "type", Kind::Text),
    (1, "timestamp", Kind::Text),
    (2, "elb", Kind::Text),
    (5, "requestProcessingTime", Kind::Float),
    (6, "targetProcessingTime", Kind::Float),
    (7, "responseProcessingTime", Kind::Float),
    (8, "elbStatusCode", Kind::Int),
    (9, "targetStatusCode", Kind::Int),
    (10, "receivedBytes", Kind::Int),
    (11, "sentBytes", Kind::Int),
    (13, "userAgent", Kind::Text),
    (14, "sslCipher", Kind::Text),
    (15, "sslProtocol", Kind::Text),
    (16, "targetGroupArn", Kind::Text),
    (17, "traceId", Kind::Text),
    (18, "domainName", Kind::Text),
    (19, "chosenCertArn", Kind::Text),
    (20, "matchedRulePriority", Kind::Int),
    (21, "requestCreationTime", Kind::Text),
    (22, "actionsExecuted", Kind::List),
    (23, "redirectUrl", Kind::Text),
    (24, "errorReason", Kind::Text),
    (25, "targetPortList", Kind::List),
    (26, "targetStatusCodeList", Kind::List),
    (27, "classification", Kind::Text),
    (28, "classificationReason", Kind::Text),
    (29, "connTraceId", Kind::Text),
];

/// Fields the line has after the last documented one.
const DOCUMENTED: usize = 30;

/// Fields up to and including the request line: fewer is not an access log line.
const MIN_FIELDS: usize = 13;

/// How a text field is held in `unmapped`.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// As it is.
    Text,
    /// An integer.
    Int,
    /// A number of seconds.
    Float,
    /// A comma-separated list, as an array.
    List,
}

/// Does the record look like an ALB access log? Text: a request type, an RFC 3339 time and
/// an `app/…` load balancer id as the first three fields. JSON: `elbStatusCode`, or an `elb`
/// of `app/…`.
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    match shape {
        Shape::Json(obj) => {
            obj.contains_key("elbStatusCode")
                || get_str(obj, "elb").is_some_and(|e| e.starts_with("app/"))
        }
        Shape::Text(line) => {
            let mut words = line.split(' ');
            let (Some(kind), Some(time), Some(elb)) = (words.next(), words.next(), words.next())
            else {
                return false;
            };
            TYPES.contains(&kind) && elb.starts_with("app/") && parse_time_str(time).is_some()
        }
    }
}

/// Normalizes one line or JSON row. A line needs the fields up to the request line and a
/// valid time; a JSON row needs `timestamp` (except in a Panther row), and one that is not a
/// time leaves Panther's `p_event_time` or the receive time, marked
/// `unmapped.evident_parse = "time_not_parsed"`.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let fields = if starts_as_json_object(record) {
        let obj = json_object(record)?;
        if !obj.contains_key("p_log_type") && obj.get("timestamp").is_none_or(Value::is_null) {
            return Err(ParseError::MissingField {
                field: "timestamp".into(),
            });
        }
        obj
    } else {
        from_line(text(record)?)?
    };
    let stamp = fields.get("timestamp").filter(|v| !v.is_null());
    let parsed = stamp.and_then(parse_time);
    let time = parsed.unwrap_or_else(|| fallback_time(&fields, ctx));
    let time_parsed = stamp.is_none() || parsed.is_some();
    let mut e = normalize(&fields, time);
    e.set("unmapped", Value::Object(fields));
    mark_unparsed_time(&mut e, time_parsed);
    Ok(vec![e])
}

/// The fields of a text line by Panther's names: `-` fields left out, numbers as numbers,
/// `ip:port` pairs and the request line split.
fn from_line(line: &str) -> Result<Map<String, Value>, ParseError> {
    let values = split_line(line, "aws-alb", MIN_FIELDS)?;
    if parse_time_str(values[1]).is_none() {
        return Err(ParseError::WrongType {
            field: "timestamp".into(),
            expected: "an RFC 3339 timestamp",
        });
    }
    let mut map = Map::new();
    for (index, name, kind) in FIELDS {
        let Some(value) = values.get(*index).filter(|v| **v != "-") else {
            continue;
        };
        let v = match kind {
            Kind::Text => Value::from(*value),
            Kind::Int => Value::from(
                value
                    .parse::<i64>()
                    .map_err(|_| wrong(name, "an integer"))?,
            ),
            Kind::Float => Value::from(value.parse::<f64>().map_err(|_| wrong(name, "a number"))?),
            Kind::List => value.split(',').map(Value::from).collect(),
        };
        map.insert((*name).to_owned(), v);
    }
    for (index, ip, port) in [(3, "clientIp", "clientPort"), (4, "targetIp", "targetPort")] {
        if let Some((addr, p)) = split_host_port(values[index]) {
            map.insert(ip.to_owned(), addr.into());
            if let Some(p) = p {
                map.insert(
                    port.to_owned(),
                    Value::from(p.parse::<u16>().map_err(|_| wrong(port, "a port number"))?),
                );
            }
        }
    }
    let mut request = values[12].splitn(3, ' ');
    for name in ["requestHttpMethod", "requestUrl", "requestHttpVersion"] {
        if let Some(part) = request.next().filter(|p| !p.is_empty() && *p != "-") {
            map.insert(name.to_owned(), part.into());
        }
    }
    insert_additional_fields(&mut map, &values, DOCUMENTED);
    Ok(map)
}

/// Builds the event from fields under Panther's names.
fn normalize(f: &Map<String, Value>, time: i64) -> Event {
    let method = get_str(f, "requestHttpMethod");
    let mut e = Event::new(Class::HttpActivity, method.map_or(0, http_activity), time);
    e.set("metadata.product.name", "Elastic Load Balancing")
        .set("metadata.product.vendor_name", "AWS");
    e.set_opt("metadata.uid", get_str(f, "traceId"));
    e.set("cloud.provider", "AWS");

    e.set_opt("src_endpoint.ip", get_str(f, "clientIp"));
    e.set_opt(
        "src_endpoint.port",
        f.get("clientPort").and_then(Value::as_u64),
    );
    e.set_opt("dst_endpoint.ip", get_str(f, "targetIp"));
    e.set_opt(
        "dst_endpoint.port",
        f.get("targetPort").and_then(Value::as_u64),
    );

    e.set_opt("http_request.http_method", method);
    e.set_opt("http_request.version", get_str(f, "requestHttpVersion"));
    e.set_opt("http_request.user_agent", get_str(f, "userAgent"));
    e.set_opt("http_request.uid", get_str(f, "traceId"));
    if let Some(url) = get_str(f, "requestUrl") {
        e.set("http_request.url.url_string", url);
        url_parts(&mut e, url);
    }
    if let Some(code) = f.get("elbStatusCode").and_then(Value::as_i64) {
        set_http_response(&mut e, code);
    }
    e.set_opt("status_detail", get_str(f, "errorReason"));
    e.set_opt(
        "traffic.bytes_out",
        f.get("receivedBytes").and_then(Value::as_i64),
    );
    e.set_opt(
        "traffic.bytes_in",
        f.get("sentBytes").and_then(Value::as_i64),
    );
    e.set_opt("tls.cipher", get_str(f, "sslCipher"));
    e.set_opt("tls.version", get_str(f, "sslProtocol"));
    e.set_opt("tls.sni", get_str(f, "domainName"));

    let mut resources = Vec::new();
    if let Some(elb) = get_str(f, "elb") {
        resources.push(resource(elb, "AWS::ElasticLoadBalancingV2::LoadBalancer"));
    }
    if let Some(group) = get_str(f, "targetGroupArn") {
        resources.push(resource(group, "AWS::ElasticLoadBalancingV2::TargetGroup"));
    }
    if !resources.is_empty() {
        e.set("resources", resources);
    }
    e
}

/// `http_request.url.{scheme,hostname,port,path,query_string}` of an absolute URL
/// (`https://www.example.com:443/a/b?c=d`); a bare path sets `path` and `query_string` only.
fn url_parts(e: &mut Event, url: &str) {
    let rest = match url.split_once("://") {
        Some((scheme, rest)) => {
            e.set("http_request.url.scheme", scheme);
            let (authority, rest) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
            if let Some((host, port)) = split_host_port(authority) {
                e.set("http_request.url.hostname", host);
                e.set_opt(
                    "http_request.url.port",
                    port.and_then(|p| p.parse::<u16>().ok()),
                );
            }
            rest
        }
        None => url,
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !path.is_empty() {
        e.set("http_request.url.path", path);
    }
    if !query.is_empty() {
        e.set("http_request.url.query_string", query);
    }
}

/// `host:port`, `[v6]:port` or a bare host (`-` is none). An unbracketed IPv6 address keeps
/// its last group as the port, as ALB writes `ip:port`.
fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    if s.is_empty() || s == "-" {
        return None;
    }
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return Some((host, after.strip_prefix(':')));
    }
    match s.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            Some((host, Some(port)))
        }
        _ => Some((s, None)),
    }
}

/// An OCSF resource.
fn resource(uid: &str, kind: &str) -> Value {
    Value::Object(Map::from_iter([
        ("uid".to_owned(), uid.into()),
        ("type".to_owned(), kind.into()),
    ]))
}

/// A wrong-type error for a text field.
fn wrong(field: &str, expected: &'static str) -> ParseError {
    ParseError::WrongType {
        field: field.to_owned(),
        expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_pairs() {
        assert_eq!(
            split_host_port("192.168.131.39:2817"),
            Some(("192.168.131.39", Some("2817")))
        );
        assert_eq!(
            split_host_port("[2001:db8::1]:443"),
            Some(("2001:db8::1", Some("443")))
        );
        assert_eq!(
            split_host_port("www.example.com"),
            Some(("www.example.com", None))
        );
        assert_eq!(split_host_port("-"), None);
    }
}
