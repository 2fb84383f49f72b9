//! OneLogin events, as the Events API returns them
//! (<https://developers.onelogin.com/api-docs/1/events/event-resource>): one object per event
//! with a numeric `event_type_id` (sent as a number or a digit string), `created_at`, `id`,
//! the acting user (`actor_user_id`, `actor_user_name`), the affected user (`user_id`,
//! `user_name`), `ipaddr`, and the app, role, group or device involved.
//!
//! The event type id picks the class, from a table of the well-known ids (names from the
//! Event Types API, `GET /api/1/events/types`):
//!
//! | id | OneLogin event | OCSF |
//! |---|---|---|
//! | 5, 6 | user logged in / failed authentication | Authentication Logon, Success / Failure |
//! | 90 | user denied access to an app | Authentication Logon, Failure |
//! | 3 | actor assumed user | Authentication, Other |
//! | 13, 17 | user created / deleted | Account Change Create / Delete |
//! | 11, 211 | password changed (by the user / an admin) | Account Change Password Change |
//! | 12 | user unlocked | Account Change Unlock |
//! | 19, 531, 553 | user locked (in the portal / via the API) | Account Change Lock |
//! | 15, 551 | user deactivated / suspended | Account Change Disable |
//! | 24, 172 | OTP device / authentication factor removed | Account Change MFA Factor Disable |
//! | 4 | role assigned to user | Group Management Add User (the role as group) |
//! | 1, 2 | app added to / removed from role | Group Management Assign / Revoke Privileges |
//! | 72 | privilege granted | Group Management Assign Privileges |
//! | 240 | actor revealed a user's app password | API Activity Read |
//!
//! Every other id is API Activity, activity Other (99), with `api.operation` = the id.

use evident_model::{Class, Event, Status};
use serde_json::Value;

use super::{Shape, util};
use crate::parse::{self, ParseContext, ParseError};

/// Does the record carry a OneLogin `event_type_id` (a number or a digit string)?
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    obj.get("event_type_id")
        .is_some_and(|v| event_type(v).is_some())
}

/// Normalizes one OneLogin event.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = parse::json_object(record)?;
    let type_id = match obj.get("event_type_id") {
        None | Some(Value::Null) => {
            return Err(ParseError::MissingField {
                field: "event_type_id".into(),
            });
        }
        Some(v) => event_type(v).ok_or_else(|| ParseError::WrongType {
            field: "event_type_id".into(),
            expected: "a number or a digit string",
        })?,
    };
    let (class, activity, status) = classify(type_id);
    let time = obj
        .get("created_at")
        .and_then(util::parse_time)
        .unwrap_or_else(|| ctx.received_at_ms());
    let mut e = Event::new(class, activity, time);
    e.set("metadata.product.name", "OneLogin");
    e.set("metadata.product.vendor_name", "One Identity");
    e.set("metadata.event_code", type_id.to_string());
    e.set_opt("metadata.uid", util::get_id(&obj, "id"));
    if let Some(s) = status {
        e.set_status(s);
    }
    e.set_opt(
        "message",
        util::get_nonempty_str(&obj, "notes")
            .or_else(|| util::get_nonempty_str(&obj, "custom_message")),
    );
    e.set_opt(
        "status_detail",
        util::get_nonempty_str(&obj, "error_description"),
    );
    e.set_opt("src_endpoint.ip", util::get_nonempty_str(&obj, "ipaddr"));
    e.set_opt(
        "http_request.user_agent",
        util::get_nonempty_str(&obj, "user_agent"),
    );
    e.set_opt("actor.user.uid", util::get_id(&obj, "actor_user_id"));
    e.set_opt(
        "actor.user.name",
        util::get_nonempty_str(&obj, "actor_user_name").map(str::trim),
    );
    e.set_opt("user.uid", util::get_id(&obj, "user_id"));
    e.set_opt("user.name", util::get_nonempty_str(&obj, "user_name"));

    let app = util::get_nonempty_str(&obj, "app_name");
    match class {
        Class::Authentication => {
            e.set_opt("service.name", app);
            e.set_opt("service.uid", util::get_id(&obj, "app_id"));
            if util::get_nonempty_str(&obj, "otp_device_name").is_some() {
                e.set("is_mfa", true);
            }
        }
        Class::GroupManagement => {
            // OneLogin grants access through roles; a role is the group here.
            let (uid, name) = if obj.contains_key("role_id") || obj.contains_key("role_name") {
                (
                    util::get_id(&obj, "role_id"),
                    util::get_nonempty_str(&obj, "role_name"),
                )
            } else {
                (
                    util::get_id(&obj, "group_id"),
                    util::get_nonempty_str(&obj, "group_name"),
                )
            };
            e.set_opt("group.uid", uid);
            e.set_opt("group.name", name);
            if let Some(p) = util::get_nonempty_str(&obj, "privilege_name").or(app) {
                e.set("privileges", vec![p.to_owned()]);
            }
        }
        Class::ApiActivity => {
            e.set("api.operation", type_id.to_string());
            if let Some(app) = app {
                e.set(
                    "resources",
                    serde_json::json!([{ "name": app, "type": "app" }]),
                );
            }
        }
        _ => {}
    }
    e.set("unmapped", Value::Object(obj));
    Ok(vec![e])
}

/// The event type id of a number or a digit string.
fn event_type(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Class, activity and status of a OneLogin event type id.
fn classify(type_id: u32) -> (Class, u8, Option<Status>) {
    use Class::{AccountChange as Acct, Authentication as Auth, GroupManagement as Group};
    match type_id {
        5 => (Auth, 1, Some(Status::Success)),
        6 | 90 => (Auth, 1, Some(Status::Failure)),
        3 => (Auth, 99, Some(Status::Success)),
        13 => (Acct, 1, None),
        17 => (Acct, 6, None),
        11 | 211 => (Acct, 3, None),
        12 => (Acct, 12, None),
        19 | 531 | 553 => (Acct, 9, None),
        15 | 551 => (Acct, 5, None),
        24 | 172 => (Acct, 11, None),
        4 => (Group, 3, None),
        1 | 72 => (Group, 1, None),
        2 => (Group, 2, None),
        240 => (Class::ApiActivity, 2, None),
        _ => (Class::ApiActivity, 99, None),
    }
}
