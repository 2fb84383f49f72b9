//! AWS WAF web ACL traffic logs, one JSON object per request, as "Log fields for web ACL
//! traffic" describes them
//! (<https://docs.aws.amazon.com/waf/latest/developerguide/logging-fields.html>). Panther's
//! export (RFC 3339 `timestamp` instead of epoch ms) is accepted too.
//!
//! Every record becomes an HTTP Activity (4002) whose activity is the request method
//! (CONNECT 1, DELETE 2, GET 3, HEAD 4, OPTIONS 5, POST 6, PUT 7, TRACE 8, PATCH 9, another
//! method Other 99, none Unknown 0). The terminating `action` sets `action` and `disposition`:
//!
//! | `action` | `action_id` | `disposition_id` |
//! |---|---|---|
//! | ALLOW | Allowed 1 | Allowed 1 |
//! | BLOCK | Denied 2 | Blocked 2 |
//! | COUNT | Observed 3 | Count 20 |
//! | CAPTCHA | Denied 2 | Captcha 22 |
//! | CHALLENGE | Denied 2 | Challenge 23 |
//!
//! (A CAPTCHA or CHALLENGE terminating action means the request was answered with the puzzle
//! instead of being forwarded.) `terminatingRuleId`/`terminatingRuleType` become
//! `firewall_rule.{uid,type}`, `httpRequest` the `src_endpoint` (client IP, country) and
//! `http_request` (method, URI, query, host, version, headers, user agent, request id).

use evident_model::{Class, Event};
use serde_json::{Map, Value};

use super::Shape;
use super::util::{fallback_time, get_str, http_activity, mark_unparsed_time, parse_time};
use crate::parse::{ParseContext, ParseError, json_object};

/// Does the record look like a WAF log? `webaclId` plus an `httpRequest` object.
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    obj.get("webaclId").is_some_and(Value::is_string)
        && obj.get("httpRequest").is_some_and(Value::is_object)
}

/// Normalizes one record. `httpRequest` (an object) and `timestamp` are required, except in a
/// Panther row; a `timestamp` that is not a time leaves Panther's `p_event_time` or the
/// receive time, marked `unmapped.evident_parse = "time_not_parsed"`.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = json_object(record)?;
    let panther = obj.contains_key("p_log_type");
    let empty = Map::new();
    let request = match obj.get("httpRequest") {
        Some(Value::Object(r)) => r,
        None | Some(Value::Null) if panther => &empty,
        None | Some(Value::Null) => {
            return Err(ParseError::MissingField {
                field: "httpRequest".into(),
            });
        }
        Some(_) => {
            return Err(ParseError::WrongType {
                field: "httpRequest".into(),
                expected: "an object",
            });
        }
    };
    let stamp = obj.get("timestamp").filter(|v| !v.is_null());
    if stamp.is_none() && !panther {
        return Err(ParseError::MissingField {
            field: "timestamp".into(),
        });
    }
    let parsed = stamp.and_then(parse_time);
    let time_parsed = stamp.is_none() || parsed.is_some();
    let time = parsed.unwrap_or_else(|| fallback_time(&obj, ctx));
    let method = get_str(request, "httpMethod");
    // Here a method counts in any case (`get` is GET).
    let activity = method.map_or(0, |m| http_activity(&m.to_ascii_uppercase()));
    let mut e = Event::new(Class::HttpActivity, activity, time);
    e.set("metadata.product.name", "AWS WAF")
        .set("metadata.product.vendor_name", "AWS");
    e.set_opt("metadata.uid", get_str(request, "requestId"));
    e.set_opt(
        "metadata.log_version",
        obj.get("formatVersion")
            .and_then(Value::as_i64)
            .map(|v| v.to_string()),
    );

    e.set_opt("src_endpoint.ip", get_str(request, "clientIp"));
    e.set_opt("src_endpoint.location.country", get_str(request, "country"));
    e.set_opt("http_request.http_method", method);
    e.set_opt("http_request.url.path", get_str(request, "uri"));
    e.set_opt(
        "http_request.url.query_string",
        get_str(request, "args").filter(|a| !a.is_empty()),
    );
    e.set_opt("http_request.url.scheme", get_str(request, "scheme"));
    e.set_opt("http_request.version", get_str(request, "httpVersion"));
    e.set_opt("http_request.uid", get_str(request, "requestId"));
    let headers: Vec<(&str, &str)> = request
        .get("headers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_object)
                .filter_map(|h| Some((get_str(h, "name")?, get_str(h, "value")?)))
                .collect()
        })
        .unwrap_or_default();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    e.set_opt("http_request.user_agent", header("user-agent"));
    e.set_opt("http_request.referrer", header("referer"));
    let host = get_str(request, "host").or_else(|| header("host"));
    e.set_opt("http_request.url.hostname", host);
    e.set_opt("dst_endpoint.hostname", host);
    e.set_opt("dst_endpoint.svc_name", get_str(&obj, "httpSourceName"));
    if !headers.is_empty() {
        let list: Vec<Value> = headers
            .iter()
            .map(|(n, v)| {
                Value::Object(Map::from_iter([
                    ("name".to_owned(), (*n).into()),
                    ("value".to_owned(), (*v).into()),
                ]))
            })
            .collect();
        e.set("http_request.http_headers", list);
    }
    e.set_opt(
        "http_response.code",
        obj.get("responseCodeSent").and_then(Value::as_i64),
    );

    let action = get_str(&obj, "action");
    if let Some(a) = action {
        let (action_id, action_name, disposition_id, disposition) = verdict(a);
        e.set("action_id", action_id)
            .set("action", action_name)
            .set("disposition_id", disposition_id)
            .set("disposition", disposition);
    }
    e.set_opt("firewall_rule.uid", get_str(&obj, "terminatingRuleId"));
    e.set_opt("firewall_rule.type", get_str(&obj, "terminatingRuleType"));

    e.set("cloud.provider", "AWS");
    if let Some(acl) = get_str(&obj, "webaclId") {
        // arn:aws:wafv2:<region>:<account>:<scope>/webacl/<name>/<id>
        let parts: Vec<&str> = acl.splitn(6, ':').collect();
        if parts.len() == 6 && parts[0] == "arn" {
            e.set_opt("cloud.region", Some(parts[3]).filter(|r| !r.is_empty()));
            e.set_opt(
                "cloud.account.uid",
                Some(parts[4]).filter(|a| !a.is_empty()),
            );
        }
        let mut resource = Map::new();
        resource.insert("uid".into(), acl.into());
        resource.insert("type".into(), "AWS::WAFv2::WebACL".into());
        if let Some(name) = acl.split('/').nth(2) {
            resource.insert("name".into(), name.into());
        }
        e.set("resources", vec![Value::Object(resource)]);
    }
    e.set("unmapped", Value::Object(obj));
    mark_unparsed_time(&mut e, time_parsed);
    Ok(vec![e])
}

/// `action_id`, `action`, `disposition_id`, `disposition` of a WAF action.
fn verdict(action: &str) -> (u8, &'static str, u8, &'static str) {
    match action {
        "ALLOW" => (1, "Allowed", 1, "Allowed"),
        "BLOCK" => (2, "Denied", 2, "Blocked"),
        "COUNT" => (3, "Observed", 20, "Count"),
        "CAPTCHA" => (2, "Denied", 22, "Captcha"),
        "CHALLENGE" => (2, "Denied", 23, "Challenge"),
        _ => (99, "Other", 99, "Other"),
    }
}
