//! Zoom operation logs, as the Zoom API's Reports "Get operation logs report" returns them
//! (`GET /report/operationlogs`, <https://developers.zoom.us/docs/api/>):
//! `time`, `operator` (the admin's email), `category_type` (User, Account, Role, User Group,
//! Meeting, Recording …), `action` (Add, Update, Delete, Batch Update, SCIM API - Update …)
//! and a free-text `operation_detail`.
//!
//! The category and the action's verb (its last word) pick the class:
//! - `User`: a `Change Role  - <user>: from A to B` detail → Group Management (3006) Assign
//!   Privileges (the new role as group and privilege); otherwise Account Change (3001): Add →
//!   Create, Delete → Delete, Activate → Enable, Deactivate → Disable, an update whose detail
//!   mentions the password → Password Change, any other update → Other. The target user is
//!   read from the detail (`Add User <email>  - …`).
//! - `Role`, `User Group`, `Group` → Group Management: Add → Create, Delete → Delete, else
//!   Other, the group named in the detail.
//! - every other category (account settings, meetings, recordings …) → API Activity (6003):
//!   Add → Create, Update → Update, Delete → Delete, else Other, with `api.operation` = the
//!   action and the category as the resource type.
//!
//! The operator is the actor; the detail is the message.

use evident_model::{Class, Event};
use serde_json::{Value, json};

use super::{Shape, util};
use crate::parse::{self, ParseContext, ParseError};

/// Does the record look like a Zoom operation log entry: an `operator` and a
/// `category_type`, with an `action` or `operation_detail`?
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    obj.get("operator").is_some_and(Value::is_string)
        && obj.get("category_type").is_some_and(Value::is_string)
        && (obj.get("action").is_some_and(Value::is_string)
            || obj.get("operation_detail").is_some_and(Value::is_string))
}

/// Normalizes one Zoom operation log entry.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = parse::json_object(record)?;
    let action = util::require_str(&obj, "action")?;
    let category = util::get_nonempty_str(&obj, "category_type").unwrap_or_default();
    let detail = util::get_nonempty_str(&obj, "operation_detail").unwrap_or_default();
    let time = obj
        .get("time")
        .and_then(util::parse_time)
        .unwrap_or_else(|| ctx.received_at_ms());
    let verb = action
        .rsplit(' ')
        .next()
        .unwrap_or(action)
        .to_ascii_lowercase();
    let role_change = role_change(detail).filter(|_| category.eq_ignore_ascii_case("user"));

    let (class, activity) = match category.to_ascii_lowercase().as_str() {
        "user" if role_change.is_some() => (Class::GroupManagement, 1),
        "user" => {
            let activity = match verb.as_str() {
                "add" => 1,
                "delete" => 6,
                "activate" => 2,
                "deactivate" => 5,
                "update" if detail.to_ascii_lowercase().contains("password") => 3,
                _ => 99,
            };
            (Class::AccountChange, activity)
        }
        "role" | "user group" | "group" => {
            let activity = match verb.as_str() {
                "add" => 6,
                "delete" => 5,
                _ => 99,
            };
            (Class::GroupManagement, activity)
        }
        _ => {
            let activity = match verb.as_str() {
                "add" => 1,
                "update" => 3,
                "delete" => 4,
                _ => 99,
            };
            (Class::ApiActivity, activity)
        }
    };

    let mut e = Event::new(class, activity, time);
    e.set("metadata.product.name", "Zoom");
    e.set("metadata.product.vendor_name", "Zoom");
    e.set("metadata.log_name", "operation");
    e.set("metadata.event_code", action);
    if !detail.is_empty() {
        e.set("message", detail);
    }
    if let Some(operator) = util::get_nonempty_str(&obj, "operator") {
        e.set("actor.user.name", operator);
        if operator.contains('@') {
            e.set("actor.user.email_addr", operator);
        }
    }
    match (class, role_change) {
        (Class::GroupManagement, Some((user, role))) => {
            set_target_user(&mut e, user);
            e.set("group.name", role);
            e.set("group.type", "role");
            e.set("privileges", vec![role.to_owned()]);
        }
        (Class::GroupManagement, None) => {
            let noun = if category.eq_ignore_ascii_case("role") {
                "Role"
            } else {
                "Group"
            };
            e.set_opt("group.name", named_in(detail, noun));
            e.set("group.type", category.to_ascii_lowercase());
        }
        (Class::AccountChange, _) => {
            if let Some(user) = named_in(detail, "User") {
                set_target_user(&mut e, user);
            }
        }
        _ => {
            e.set("api.operation", action);
            e.set("api.service.name", "Zoom");
            if !category.is_empty() {
                e.set("resources", json!([{ "type": category }]));
            }
        }
    }
    e.set("unmapped", Value::Object(obj));
    Ok(vec![e])
}

/// The user and new role of a `Change Role  - <user>: from <old> to <new>` detail.
fn role_change(detail: &str) -> Option<(&str, &str)> {
    let rest = detail.strip_prefix("Change Role")?.split_once("- ")?.1;
    let (user, change) = rest.split_once(':')?;
    let role = change.rsplit_once(" to ")?.1.trim();
    let user = user.trim();
    (!user.is_empty() && !role.is_empty()).then_some((user, role))
}

/// The name after `<noun> ` in a detail's head (`Add User a@b.c  - …` → `a@b.c`).
fn named_in<'a>(detail: &'a str, noun: &str) -> Option<&'a str> {
    let head = detail.split("  - ").next().unwrap_or(detail);
    let at = head.find(&format!("{noun} "))?;
    let name = head[at + noun.len() + 1..].trim();
    (!name.is_empty()).then_some(name)
}

/// Sets the target user by name, and as email when it is one.
fn set_target_user(e: &mut Event, user: &str) {
    e.set("user.name", user);
    if user.contains('@') {
        e.set("user.email_addr", user);
    }
}
