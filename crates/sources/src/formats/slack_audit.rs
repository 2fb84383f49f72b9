//! Slack Enterprise audit log entries, as the Audit Logs API's `GET /audit/v1/logs` returns
//! them (<https://api.slack.com/admins/audit-logs-call>): `id`, `date_create` (epoch
//! seconds), `action`, `actor` (`type` and `user{id,name,email,team}`), `entity` (`type` and
//! an object named by the type), `context` (`location`, `ua`, `ip_address`, `session_id`) and
//! `details`.
//!
//! The `action` picks the class:
//! - `user_login`, `user_login_failed` → Authentication (3002) Logon; `user_logout` and the
//!   admin session resets (`user_session_invalidated`, `user_session_reset_by_admin`,
//!   `bulk_session_reset_by_admin`) → Authentication Logoff;
//! - user and guest lifecycle (`user_created`, `user_deactivated`, `user_reactivated`,
//!   `guest_*`, `user_email_updated`) → Account Change (3001), the entity user as target;
//! - role changes (`role_change_to_admin|owner|user|guest…`) and custom role / permission
//!   grants → Group Management (3006) Assign or Revoke Privileges, the workspace or
//!   organization (`context.location`) as the group and the new role as the privilege;
//!   channel joins and leaves → Group Management Add / Remove User, the channel as the group;
//! - Slack's own detections (`anomaly`, `file_malicious_content_detected`) → Detection
//!   Finding (2004), severity Medium;
//! - every other action → API Activity (6003) with `api.operation` = the action, its
//!   activity taken from the action's verb (`_created` → Create, `_downloaded` → Read,
//!   `_updated` → Update, `_deleted` → Delete, else Other).

use evident_model::{Class, Event, Severity, Status};
use serde_json::{Map, Value, json};

use super::{Shape, util};
use crate::parse::{self, ParseContext, ParseError};

/// Does the record look like a Slack audit entry: an `action`, an `actor` object (GitHub's
/// actor is a string), and an `entity` or `context` object?
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    obj.get("action").is_some_and(Value::is_string)
        && obj
            .get("actor")
            .and_then(Value::as_object)
            .is_some_and(|a| a.contains_key("type") || a.contains_key("user"))
        && (obj.get("entity").is_some_and(Value::is_object)
            || obj.get("context").is_some_and(Value::is_object))
}

/// Normalizes one Slack audit log entry.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = parse::json_object(record)?;
    let action = util::require_str(&obj, "action")?;
    let time = obj
        .get("date_create")
        .and_then(util::parse_time)
        .unwrap_or_else(|| ctx.received_at_ms());
    let (class, activity, status) = classify(action);
    let mut e = Event::new(class, activity, time);
    e.set("metadata.product.name", "Slack");
    e.set("metadata.product.vendor_name", "Slack");
    e.set("metadata.log_name", "audit");
    e.set("metadata.event_code", action);
    e.set_opt("metadata.uid", util::get_nonempty_str(&obj, "id"));
    if let Some(s) = status {
        e.set_status(s);
    }
    let actor = util::get(&obj, "actor.user").and_then(Value::as_object);
    if let Some(actor) = actor {
        util::set_user(&mut e, "actor.user", actor, "id", "name", "email");
    }
    e.set_opt(
        "actor.session.uid",
        util::get_nonempty_str(&obj, "context.session_id"),
    );
    e.set_opt(
        "src_endpoint.ip",
        util::get_nonempty_str(&obj, "context.ip_address"),
    );
    e.set_opt(
        "http_request.user_agent",
        util::get_nonempty_str(&obj, "context.ua"),
    );

    let entity_type = util::get_nonempty_str(&obj, "entity.type");
    let entity = entity_type
        .and_then(|t| util::get(&obj, &format!("entity.{t}")))
        .and_then(Value::as_object);
    let entity_user = entity.filter(|_| entity_type == Some("user"));
    match class {
        Class::Authentication => {
            // Logins name the user as actor; admin session resets name the target as entity.
            if let Some(u) = entity_user.or(actor) {
                util::set_user(&mut e, "user", u, "id", "name", "email");
            }
        }
        Class::AccountChange => {
            if let Some(u) = entity_user {
                util::set_user(&mut e, "user", u, "id", "name", "email");
            }
        }
        Class::GroupManagement => {
            if let Some(u) = entity_user.or(actor) {
                util::set_user(&mut e, "user", u, "id", "name", "email");
            }
            if let (Some("channel"), Some(channel)) = (entity_type, entity) {
                e.set_opt("group.uid", util::get_nonempty_str(channel, "id"));
                e.set_opt("group.name", util::get_nonempty_str(channel, "name"));
                e.set("group.type", "channel");
            } else {
                e.set_opt(
                    "group.uid",
                    util::get_nonempty_str(&obj, "context.location.id"),
                );
                e.set_opt(
                    "group.name",
                    util::get_nonempty_str(&obj, "context.location.name"),
                );
                e.set_opt(
                    "group.type",
                    util::get_nonempty_str(&obj, "context.location.type"),
                );
            }
            if let Some(role) = action.strip_prefix("role_change_to_") {
                e.set("privileges", vec![role.to_owned()]);
            }
        }
        Class::DetectionFinding => {
            let reasons: Vec<&str> = util::get(&obj, "details.reason")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            e.set_severity(Severity::Medium);
            e.set(
                "finding_info.title",
                format!("Slack {}", action.replace('_', " ")),
            );
            e.set_opt("finding_info.uid", util::get_nonempty_str(&obj, "id"));
            if !reasons.is_empty() {
                e.set("finding_info.desc", reasons.join(", "));
                e.set("finding_info.types", reasons);
            }
            if let Some(u) = entity_user.or(actor) {
                util::set_user(&mut e, "user", u, "id", "name", "email");
            }
            set_resource(&mut e, entity_type, entity);
        }
        _ => {
            e.set("api.operation", action);
            e.set("api.service.name", "Slack");
            if let Some(u) = entity_user {
                util::set_user(&mut e, "user", u, "id", "name", "email");
            }
            set_resource(&mut e, entity_type, entity);
        }
    }
    e.set("unmapped", Value::Object(obj));
    Ok(vec![e])
}

/// Class, activity and status of an audit action.
fn classify(action: &str) -> (Class, u8, Option<Status>) {
    use Class::{AccountChange as Acct, Authentication as Auth, GroupManagement as Group};
    match action {
        "user_login" => (Auth, 1, Some(Status::Success)),
        "user_login_failed" => (Auth, 1, Some(Status::Failure)),
        "user_logout"
        | "user_session_invalidated"
        | "user_session_reset_by_admin"
        | "bulk_session_reset_by_admin" => (Auth, 2, Some(Status::Success)),
        "user_created" | "guest_created" => (Acct, 1, None),
        "user_deactivated" | "guest_deactivated" | "guest_expired" => (Acct, 5, None),
        "user_reactivated" | "guest_reactivated" => (Acct, 2, None),
        "user_email_updated" | "guest_expiration_set" | "guest_expiration_cleared" => {
            (Acct, 99, None)
        }
        "role_assigned" | "permissions_assigned" => (Group, 1, None),
        "role_removed" | "permissions_removed" => (Group, 2, None),
        a if a.starts_with("role_change_to_") => (Group, 1, None),
        "user_channel_join" | "guest_channel_added" => (Group, 3, None),
        "user_channel_leave" | "guest_channel_removed" => (Group, 4, None),
        "anomaly" | "file_malicious_content_detected" => (Class::DetectionFinding, 1, None),
        _ => (Class::ApiActivity, verb_activity(action), None),
    }
}

/// API Activity id from the last verb in an action name (`app_scopes_expanded` → Update).
fn verb_activity(action: &str) -> u8 {
    action
        .rsplit(['_', '.'])
        .find_map(|word| match word {
            "created" | "added" | "installed" | "uploaded" => Some(1),
            "downloaded" | "viewed" | "exported" | "accessed" => Some(2),
            "updated" | "changed" | "expanded" | "upgraded" | "downgraded" | "renamed"
            | "restricted" | "approved" | "granted" | "archived" | "unarchived" | "enabled"
            | "disabled" | "set" => Some(3),
            "deleted" | "removed" | "uninstalled" | "revoked" => Some(4),
            _ => None,
        })
        .unwrap_or(99)
}

/// Sets `resources` to the entity acted on, when it is not a user.
fn set_resource(e: &mut Event, entity_type: Option<&str>, entity: Option<&Map<String, Value>>) {
    if let (Some(t), Some(entity)) = (entity_type, entity)
        && t != "user"
    {
        let mut r = Map::new();
        r.insert("type".into(), json!(t));
        if let Some(id) = util::get_nonempty_str(entity, "id") {
            r.insert("uid".into(), json!(id));
        }
        if let Some(name) = util::get_nonempty_str(entity, "name")
            .or_else(|| util::get_nonempty_str(entity, "title"))
        {
            r.insert("name".into(), json!(name));
        }
        e.set("resources", json!([r]));
    }
}
