//! Duo authentication log records, as the Admin API's "Authentication Logs" endpoint returns
//! them (<https://duo.com/docs/adminapi#authentication-logs>): the v2 shape (`access_device`,
//! `auth_device`, `application`, `user`, `txid`, `isotimestamp`) and the legacy v1 shape
//! (`username`, `integration`, `ip`, `timestamp`).
//!
//! Every record is a second-factor decision, so it maps to Authentication (3002), activity
//! Logon, with `is_mfa` true; `result` gives the status (`success` → Success, `denied`,
//! `fraud`, `failure`, `error` → Failure), `reason` the status detail. A `fraud` result (the
//! user reported the push as not theirs) is raised to severity High. Records whose
//! `event_type` is `enrollment` (a user enrolling a device as a factor) map to Account Change
//! (3001), activity MFA Factor Enable.

use evident_model::{Class, Event, Severity, Status};
use serde_json::Value;

use super::{Shape, util};
use crate::parse::{self, ParseContext, ParseError};

/// Does the record look like a Duo authentication log entry: a device object or a
/// factor/result pair with a user and an application or transaction?
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    let is_str = |k: &str| obj.get(k).is_some_and(Value::is_string);
    let is_obj = |k: &str| obj.get(k).is_some_and(Value::is_object);
    let decision = is_str("result") || is_str("factor");
    let v2 = (is_obj("access_device") || is_obj("auth_device")) && decision;
    let v1 = is_str("factor")
        && is_str("result")
        && (is_obj("user") || is_str("username"))
        && (is_str("integration") || is_obj("application") || is_str("txid"));
    v2 || v1
}

/// Normalizes one Duo authentication log record.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = parse::json_object(record)?;
    let result = util::require_str(&obj, "result")?;
    let time = ["isotimestamp", "timestamp"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(util::parse_time))
        .unwrap_or_else(|| ctx.received_at_ms());
    let enrollment = util::get_str(&obj, "event_type") == Some("enrollment");
    let mut e = if enrollment {
        Event::new(Class::AccountChange, 10, time)
    } else {
        let mut e = Event::new(Class::Authentication, 1, time);
        e.set("is_mfa", true);
        e
    };
    e.set("metadata.product.name", "Duo");
    e.set("metadata.product.vendor_name", "Cisco");
    e.set("metadata.log_name", "authentication");
    e.set_opt("metadata.uid", util::get_nonempty_str(&obj, "txid"));
    let result_lc = result.to_ascii_lowercase();
    e.set_status(if result_lc == "success" {
        Status::Success
    } else {
        Status::Failure
    });
    if result_lc == "fraud" {
        e.set_severity(Severity::High);
    }
    e.set_opt("status_detail", util::get_nonempty_str(&obj, "reason"));

    e.set_opt(
        "user.name",
        util::get_nonempty_str(&obj, "user.name")
            .or_else(|| util::get_nonempty_str(&obj, "username")),
    );
    e.set_opt("user.uid", util::get_nonempty_str(&obj, "user.key"));
    e.set_opt("user.email_addr", util::get_nonempty_str(&obj, "email"));
    if let Some(groups) = util::get(&obj, "user.groups").and_then(Value::as_array) {
        let groups: Vec<Value> = groups
            .iter()
            .filter_map(Value::as_str)
            .map(|g| serde_json::json!({ "name": g }))
            .collect();
        if !groups.is_empty() {
            e.set("user.groups", groups);
        }
    }

    e.set_opt(
        "src_endpoint.ip",
        util::get_nonempty_str(&obj, "access_device.ip")
            .or_else(|| util::get_nonempty_str(&obj, "ip")),
    );
    e.set_opt(
        "src_endpoint.hostname",
        util::get_nonempty_str(&obj, "access_device.hostname"),
    );
    let location = if obj.get("access_device").is_some() {
        "access_device.location"
    } else {
        "location"
    };
    e.set_opt(
        "src_endpoint.location.city",
        util::get_nonempty_str(&obj, &format!("{location}.city")),
    );
    e.set_opt(
        "src_endpoint.location.region",
        util::get_nonempty_str(&obj, &format!("{location}.state")),
    );
    e.set_opt(
        "src_endpoint.location.country",
        util::get_nonempty_str(&obj, &format!("{location}.country")),
    );

    if !enrollment {
        e.set_opt(
            "service.name",
            util::get_nonempty_str(&obj, "application.name")
                .or_else(|| util::get_nonempty_str(&obj, "integration")),
        );
        e.set_opt(
            "service.uid",
            util::get_nonempty_str(&obj, "application.key"),
        );
    }
    e.set("unmapped", Value::Object(obj));
    Ok(vec![e])
}
