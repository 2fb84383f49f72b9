//! Box events, as the Events API returns them for the `admin_logs` stream
//! (<https://developer.box.com/reference/resources/event/>): `type` = `event`, `event_id`,
//! `event_type`, `created_at`, `created_by` (a user: `id`, `name`, `login`), `ip_address`,
//! `session_id`, `source` (the item, user or group acted on) and `additional_details` (an
//! object, or a JSON object serialized into a string).
//!
//! The `event_type` picks the class:
//! - `LOGIN`, `ADMIN_LOGIN` → Authentication (3002) Logon, Success; `FAILED_LOGIN`,
//!   `DEVICE_TRUST_CHECK_FAILED` → Logon, Failure; `ADD_LOGIN_ACTIVITY_DEVICE` /
//!   `REMOVE_LOGIN_ACTIVITY_DEVICE` → Authentication, Other;
//! - `NEW_USER`, `DELETE_USER`, `EDIT_USER` → Account Change (3001) Create / Delete / Other;
//! - `GROUP_ADD_USER`, `GROUP_REMOVE_USER`, `GROUP_CREATION`, `GROUP_DELETION`,
//!   `GROUP_EDITED`, `CHANGE_ADMIN_ROLE` → Group Management (3006);
//! - Box's own detections, `SHIELD_ALERT` (severity from the alert's risk score: ≥ 90
//!   Critical, ≥ 70 High, ≥ 40 Medium, else Low) and `FILE_MARKED_MALICIOUS` (High) →
//!   Detection Finding (2004);
//! - content and sharing events → API Activity (6003): `DOWNLOAD`, `PREVIEW` → Read;
//!   `UPLOAD`, `COPY` → Create; `DELETE`, `ITEM_TRASH` → Delete; edits, moves, renames,
//!   shares, collaborations and permission changes → Update; anything else → Other.

use evident_model::{Class, Event, Severity, Status};
use serde_json::{Map, Value, json};

use super::{Shape, util};
use crate::parse::{self, ParseContext, ParseError};

/// Does the record look like a Box event: an upper-case `event_type` with `type` = `event`
/// or a `created_by` user?
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    let event_type_ok = obj
        .get("event_type")
        .and_then(Value::as_str)
        .is_some_and(|t| {
            !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        });
    event_type_ok
        && (obj.get("type").and_then(Value::as_str) == Some("event")
            || obj.get("created_by").is_some_and(Value::is_object))
}

/// Normalizes one Box event.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = parse::json_object(record)?;
    let event_type = util::require_str(&obj, "event_type")?;
    let time = obj
        .get("created_at")
        .and_then(util::parse_time)
        .unwrap_or_else(|| ctx.received_at_ms());
    let details = match obj.get("additional_details") {
        Some(Value::Object(m)) => Some(m.clone()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        },
        _ => None,
    };
    let (class, activity, status) = classify(event_type);
    let mut e = Event::new(class, activity, time);
    e.set("metadata.product.name", "Box");
    e.set("metadata.product.vendor_name", "Box");
    e.set("metadata.log_name", "admin_logs");
    e.set("metadata.event_code", event_type);
    e.set_opt("metadata.uid", util::get_nonempty_str(&obj, "event_id"));
    if let Some(s) = status {
        e.set_status(s);
    }
    let created_by = obj.get("created_by").and_then(Value::as_object);
    // A Box user's `login` is its email address.
    if let Some(u) = created_by {
        util::set_user(&mut e, "actor.user", u, "id", "name", "login");
    }
    e.set_opt(
        "actor.session.uid",
        util::get_nonempty_str(&obj, "session_id"),
    );
    e.set_opt(
        "src_endpoint.ip",
        util::get_nonempty_str(&obj, "ip_address"),
    );

    let source = obj.get("source").and_then(Value::as_object);
    let source_type = source.and_then(|s| util::get_nonempty_str(s, "type"));
    match class {
        Class::Authentication => {
            if let Some(u) = created_by {
                util::set_user(&mut e, "user", u, "id", "name", "login");
            }
        }
        Class::AccountChange => {
            if let Some(s) = source.filter(|_| source_type == Some("user")) {
                util::set_user(&mut e, "user", s, "id", "name", "login");
            }
        }
        Class::GroupManagement => {
            if let Some(s) = source {
                if source_type == Some("group") {
                    e.set_opt("group.uid", util::get_nonempty_str(s, "id"));
                    e.set_opt("group.name", util::get_nonempty_str(s, "name"));
                } else {
                    e.set_opt("group.uid", util::get_nonempty_str(s, "group_id"));
                    e.set_opt("group.name", util::get_nonempty_str(s, "group_name"));
                }
                if source_type == Some("user") {
                    util::set_user(&mut e, "user", s, "id", "name", "login");
                } else {
                    util::set_user(&mut e, "user", s, "user_id", "user_name", "user_login");
                }
            }
        }
        Class::DetectionFinding => {
            e.set(
                "finding_info.uid",
                util::get_nonempty_str(&obj, "event_id").unwrap_or(event_type),
            );
            let alert = details
                .as_ref()
                .and_then(|d| d.get("shield_alert"))
                .and_then(Value::as_object);
            if let Some(alert) = alert {
                let category = util::get_nonempty_str(alert, "rule_category").unwrap_or("alert");
                e.set("finding_info.title", format!("Box Shield: {category}"));
                e.set("finding_info.types", vec![category.to_owned()]);
                e.set_opt(
                    "finding_info.desc",
                    util::get_nonempty_str(alert, "alert_summary.description"),
                );
                e.set_opt(
                    "user.email_addr",
                    util::get_nonempty_str(alert, "user.email"),
                );
                let risk = alert.get("risk_score").and_then(Value::as_i64).unwrap_or(0);
                e.set_severity(match risk {
                    90.. => Severity::Critical,
                    70..=89 => Severity::High,
                    40..=69 => Severity::Medium,
                    _ => Severity::Low,
                });
            } else {
                e.set("finding_info.title", "Box: file marked malicious");
                e.set_severity(Severity::High);
            }
            set_resource(&mut e, source);
        }
        _ => {
            e.set("api.operation", event_type);
            e.set("api.service.name", "Box");
            set_resource(&mut e, source);
        }
    }
    e.set("unmapped", Value::Object(obj));
    Ok(vec![e])
}

/// Class, activity and status of a Box event type.
fn classify(event_type: &str) -> (Class, u8, Option<Status>) {
    use Class::{
        AccountChange as Acct, ApiActivity as Api, Authentication as Auth, GroupManagement as Group,
    };
    match event_type {
        "LOGIN" | "ADMIN_LOGIN" => (Auth, 1, Some(Status::Success)),
        "FAILED_LOGIN" | "DEVICE_TRUST_CHECK_FAILED" => (Auth, 1, Some(Status::Failure)),
        "ADD_LOGIN_ACTIVITY_DEVICE" | "REMOVE_LOGIN_ACTIVITY_DEVICE" => (Auth, 99, None),
        "NEW_USER" => (Acct, 1, None),
        "DELETE_USER" => (Acct, 6, None),
        "EDIT_USER" => (Acct, 99, None),
        "GROUP_ADD_USER" => (Group, 3, None),
        "GROUP_REMOVE_USER" => (Group, 4, None),
        "GROUP_CREATION" => (Group, 6, None),
        "GROUP_DELETION" => (Group, 5, None),
        "GROUP_EDITED" => (Group, 99, None),
        "CHANGE_ADMIN_ROLE" => (Group, 1, None),
        "SHIELD_ALERT" | "FILE_MARKED_MALICIOUS" => (Class::DetectionFinding, 1, None),
        "DOWNLOAD" | "PREVIEW" | "ITEM_DOWNLOAD" | "ITEM_PREVIEW" | "ITEM_OPEN" => (Api, 2, None),
        "UPLOAD" | "ITEM_UPLOAD" | "ITEM_CREATE" | "COPY" | "ITEM_COPY" => (Api, 1, None),
        "DELETE" | "ITEM_TRASH" | "PERMANENT_DELETE" => (Api, 4, None),
        "EDIT"
        | "ITEM_MODIFY"
        | "RENAME"
        | "ITEM_RENAME"
        | "MOVE"
        | "ITEM_MOVE"
        | "SHARE"
        | "UNSHARE"
        | "ITEM_SHARED_CREATE"
        | "ITEM_SHARED_UPDATE"
        | "ITEM_SHARED_UNSHARE"
        | "COLLABORATION_INVITE"
        | "COLLABORATION_ACCEPT"
        | "COLLABORATION_ROLE_CHANGE"
        | "COLLABORATION_REMOVE"
        | "CHANGE_FOLDER_PERMISSION"
        | "ACCESS_GRANTED"
        | "ACCESS_REVOKED"
        | "LOCK"
        | "UNLOCK" => (Api, 3, None),
        _ => (Api, 99, None),
    }
}

/// Sets `resources` to the file, folder or other item an event's `source` names.
fn set_resource(e: &mut Event, source: Option<&Map<String, Value>>) {
    let Some(s) = source else {
        return;
    };
    let (uid, name, kind) = if s.contains_key("item_id") || s.contains_key("item_name") {
        (
            util::get_nonempty_str(s, "item_id"),
            util::get_nonempty_str(s, "item_name"),
            util::get_nonempty_str(s, "item_type"),
        )
    } else {
        (
            util::get_nonempty_str(s, "id"),
            util::get_nonempty_str(s, "name"),
            util::get_nonempty_str(s, "type"),
        )
    };
    let mut r = Map::new();
    for (k, v) in [("uid", uid), ("name", name), ("type", kind)] {
        if let Some(v) = v {
            r.insert(k.into(), json!(v));
        }
    }
    if !r.is_empty() {
        e.set("resources", json!([r]));
    }
}
