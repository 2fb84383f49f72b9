//! Duo administrator log records, as the Admin API's "Administrator Logs" endpoint returns
//! them (<https://duo.com/docs/adminapi#administrator-logs>): `action`, `username` (the
//! administrator), `object` (what was acted on), `timestamp` / `isotimestamp`, and a
//! `description` that is usually a JSON object serialized into a string.
//!
//! The `action` picks the class:
//! - `admin_login` / `admin_login_error` / `admin_2fa_error` → Authentication (3002), Logon,
//!   the administrator as the user (`admin_2fa_error` with `is_mfa`);
//! - user and administrator lifecycle (`user_create`, `user_delete`, `admin_create`,
//!   `admin_delete`, `admin_lockout`, password resets, `user_update` / `admin_update` with a
//!   new `status`) → Account Change (3001), the `object` as the target user;
//! - `group_create` / `group_delete` / `group_update` → Group Management (3006);
//! - every other action (integrations, policies, bypass codes, settings) → API Activity
//!   (6003) with `api.operation` = the action, its activity taken from the verb in the
//!   action's name (`_create` → Create, `_view` → Read, `_update` → Update, `_delete` →
//!   Delete, else Other).

use evident_model::{Class, Event, Status};
use serde_json::Value;

use super::{Shape, util};
use crate::parse::{self, ParseContext, ParseError};

/// Does the record look like a Duo administrator log entry: a snake_case `action`, the
/// administrator's `username`, and a Duo timestamp or target object (and no `actor`, which
/// GitHub and Slack audit records have)?
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    let action_ok = obj.get("action").and_then(Value::as_str).is_some_and(|a| {
        !a.is_empty()
            && a.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    });
    action_ok
        && obj.get("username").is_some_and(Value::is_string)
        && !obj.contains_key("actor")
        && (obj.contains_key("isotimestamp")
            || obj.contains_key("timestamp")
            || obj.contains_key("object"))
}

/// Normalizes one Duo administrator log record.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = parse::json_object(record)?;
    let action = util::require_str(&obj, "action")?;
    let time = ["isotimestamp", "timestamp"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(util::parse_time))
        .unwrap_or_else(|| ctx.received_at_ms());
    let admin = util::get_nonempty_str(&obj, "username");
    let target = util::get_nonempty_str(&obj, "object");
    let raw_description = util::get_nonempty_str(&obj, "description");
    let description = raw_description
        .and_then(|d| serde_json::from_str::<Value>(d).ok())
        .and_then(|v| match v {
            Value::Object(m) => Some(m),
            _ => None,
        });
    let detail = |k: &str| {
        description
            .as_ref()
            .and_then(|d| util::get_nonempty_str(d, k))
    };

    let (class, activity, status) = classify(action, detail("status"));
    let mut e = Event::new(class, activity, time);
    e.set("metadata.product.name", "Duo");
    e.set("metadata.product.vendor_name", "Cisco");
    e.set("metadata.log_name", "administrator");
    e.set("metadata.event_code", action);
    if let Some(s) = status {
        e.set_status(s);
    }
    match &description {
        Some(_) => e.set_opt("message", detail("message")),
        None => e.set_opt("message", raw_description),
    };
    e.set_opt("src_endpoint.ip", detail("ip_address"));

    match class {
        Class::Authentication => {
            e.set_opt("user.name", admin);
            e.set_opt("user.email_addr", detail("email"));
            e.set("user.type_id", 2).set("user.type", "Admin");
            if action == "admin_2fa_error" || detail("factor").is_some() {
                e.set("is_mfa", true);
            }
            e.set_opt("status_detail", detail("error"));
        }
        Class::AccountChange => {
            // A lockout names no object and no one acted: the administrator locked out is
            // the user.
            if action == "admin_lockout" {
                e.set_opt("user.name", target.or(admin));
            } else {
                e.set_opt("actor.user.name", admin);
                e.set_opt("user.name", target);
            }
            e.set_opt("user.email_addr", detail("email"));
            if action.starts_with("admin_") {
                e.set("user.type_id", 2).set("user.type", "Admin");
            }
        }
        Class::GroupManagement => {
            e.set_opt("actor.user.name", admin);
            e.set_opt("group.name", target);
        }
        _ => {
            e.set_opt("actor.user.name", admin);
            e.set("api.operation", action);
            e.set("api.service.name", "Duo Admin Panel");
            if let Some(t) = target {
                e.set("resources", serde_json::json!([{ "name": t }]));
            }
        }
    }
    e.set("unmapped", Value::Object(obj));
    Ok(vec![e])
}

/// Class, activity and status (when the action says) of an administrator action;
/// `new_status` is the `status` a `user_update` / `admin_update` description sets.
fn classify(action: &str, new_status: Option<&str>) -> (Class, u8, Option<Status>) {
    use Class::{AccountChange as Acct, Authentication as Auth, GroupManagement as Group};
    match action {
        "admin_login" => (Auth, 1, Some(Status::Success)),
        "admin_login_error" | "admin_2fa_error" => (Auth, 1, Some(Status::Failure)),
        "admin_lockout" => (Acct, 9, None),
        "user_create" | "admin_create" | "user_import" => (Acct, 1, None),
        "user_delete" | "admin_delete" | "user_pending_delete" => (Acct, 6, None),
        "admin_reset_password" | "admin_send_reset_password_email" => (Acct, 4, None),
        "user_update" | "admin_update" => {
            let activity = match new_status.map(str::to_ascii_lowercase).as_deref() {
                Some("active") => 2,
                Some("disabled") => 5,
                Some("locked out") => 9,
                _ => 99,
            };
            (Acct, activity, None)
        }
        "group_create" => (Group, 6, None),
        "group_delete" => (Group, 5, None),
        "group_update" => (Group, 99, None),
        _ => (Class::ApiActivity, verb_activity(action), None),
    }
}

/// API Activity id from the verb in a snake_case action name.
fn verb_activity(action: &str) -> u8 {
    action
        .split('_')
        .find_map(|word| match word {
            "create" | "add" => Some(1),
            "view" | "read" => Some(2),
            "update" | "change" | "modify" => Some(3),
            "delete" | "remove" => Some(4),
            _ => None,
        })
        .unwrap_or(99)
}
