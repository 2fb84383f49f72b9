//! Google Workspace activity events from the Admin SDK Reports API (`kind:
//! "admin#reports#activity"`; Google Workspace Admin SDK: "Activities resource" and the
//! per-application event-name appendices): an activity with `id`, `actor`, `ipAddress` and
//! `events[]` of `{type, name, parameters[]}`, where each parameter is `{name, value |
//! multiValue | boolValue | intValue | …}`. Exports that flatten one event per record
//! (`name`, `type` and a `parameters` map at the top) are read too.
//!
//! One OCSF event per entry of `events[]` (one event when there is none):
//! - `login_success`, `login_failure`, `logout` (login and SAML applications) →
//!   Authentication Logon / Logoff with status; `is_mfa` from `login_challenge_method`;
//! - admin `CREATE_USER`, `DELETE_USER`, `SUSPEND_USER`, `UNSUSPEND_USER`,
//!   `CHANGE_PASSWORD`, user `password_edit`, `2sv_enroll`, `2sv_disable` → Account Change;
//! - admin `ADD_GROUP_MEMBER` / `REMOVE_GROUP_MEMBER`, `CREATE_GROUP` / `DELETE_GROUP` →
//!   Group Management; `GRANT_ADMIN_PRIVILEGE`, `ASSIGN_ROLE` and their reverses → Assign /
//!   Revoke Privileges;
//! - everything else → API Activity, the activity from the event name's leading verb
//!   (`view` → Read, `change_*` → Update, `trash` → Delete…).
//!
//! The whole vendor object is kept in `unmapped` of every event.

use evident_model::{Event, Severity, Status};
use serde_json::{Map, Value};

use super::Shape;
use super::util::{self, IdentityKind};
use crate::parse::{ParseContext, ParseError, json_object};

/// Does the record look like a Reports API activity? `kind` is `admin#reports#activity`,
/// or `id.applicationName` names the reporting application.
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    obj.get("kind").and_then(Value::as_str) == Some("admin#reports#activity")
        || util::get(obj, "id.applicationName").is_some_and(Value::is_string)
}

/// Normalizes one activity into one event per entry of `events[]`.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = json_object(record)?;
    let entries: Vec<&Map<String, Value>> = match obj.get("events") {
        None | Some(Value::Null) => vec![&obj],
        Some(Value::Array(list)) if list.is_empty() => vec![&obj],
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_object().ok_or_else(|| ParseError::WrongType {
                    field: format!("events[{i}]"),
                    expected: "an object",
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ParseError::WrongType {
                field: "events".into(),
                expected: "an array",
            });
        }
    };
    let events = entries
        .into_iter()
        .map(|entry| event(&obj, entry, ctx))
        .collect();
    Ok(events)
}

/// The OCSF event of one entry of an activity.
fn event(obj: &Map<String, Value>, entry: &Map<String, Value>, ctx: &ParseContext<'_>) -> Event {
    let app = util::get_nonempty_str(obj, "id.applicationName").unwrap_or("");
    let name = util::get_nonempty_str(entry, "name")
        .map(str::trim)
        .unwrap_or("");
    let params = parameters(entry);
    let param = |key: &str| {
        params
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let time = util::get(obj, "id.time")
        .and_then(util::parse_time)
        .unwrap_or_else(|| ctx.received_at_ms());
    let kind = classify(app, name);
    let mut e = Event::new(kind.class(), kind.activity(), time);

    e.set("metadata.product.name", "Google Workspace")
        .set("metadata.product.vendor_name", "Google");
    e.set_opt(
        "metadata.uid",
        util::get_nonempty_str(obj, "id.uniqueQualifier"),
    );
    if !app.is_empty() {
        e.set("metadata.log_name", app);
        e.set("api.service.name", app);
    }
    if !name.is_empty() {
        e.set("api.operation", name);
    }
    let actor = util::get_nonempty_str(obj, "actor.email");
    e.set_opt("actor.user.name", actor);
    e.set_opt("actor.user.email_addr", actor);
    e.set_opt(
        "actor.user.uid",
        util::get_nonempty_str(obj, "actor.profileId"),
    );
    e.set_opt("src_endpoint.ip", util::get_nonempty_str(obj, "ipAddress"));
    if let Some(sev) = param("severity").and_then(severity) {
        e.set_severity(sev);
    }

    match kind {
        IdentityKind::Authentication(_) => {
            let who = param("affected_email_address").or(actor);
            e.set_opt("user.name", who);
            e.set_opt("user.email_addr", who);
            match name {
                "login_success" => {
                    e.set_status(Status::Success);
                }
                "login_failure" => {
                    e.set_status(Status::Failure);
                    e.set_opt("status_detail", param("login_failure_type"));
                }
                _ => {}
            }
            if let Some(mfa) = is_mfa(params.get("login_challenge_method")) {
                e.set("is_mfa", mfa);
            }
            e.set_opt("service.name", param("application_name"));
        }
        IdentityKind::AccountChange(_) | IdentityKind::GroupManagement(_) => {
            // Admin events name the user changed; a user's own settings change is theirs.
            let who = if app == "admin" {
                param("USER_EMAIL")
            } else {
                actor
            };
            e.set_opt("user.name", who);
            e.set_opt("user.email_addr", who);
            if let Some(group) = param("GROUP_EMAIL") {
                e.set("group.name", group);
            }
            if let IdentityKind::GroupManagement(1 | 2) = kind {
                let privilege = param("ROLE_NAME")
                    .or_else(|| name.ends_with("ADMIN_PRIVILEGE").then_some("Super Admin"));
                e.set_opt("privileges", privilege.map(|p| vec![p]));
            }
        }
        IdentityKind::ApiActivity(_) => {
            let mut doc = Map::new();
            for (from, to) in [
                ("doc_id", "uid"),
                ("doc_title", "name"),
                ("doc_type", "type"),
            ] {
                if let Some(v) = param(from) {
                    doc.insert(to.into(), v.into());
                }
            }
            if doc.contains_key("uid") || doc.contains_key("name") {
                e.set("resources", vec![Value::Object(doc)]);
            }
        }
    }
    e.set("unmapped", Value::Object(obj.clone()));
    e
}

/// The OCSF class and activity of an event, by application and name.
fn classify(app: &str, name: &str) -> IdentityKind {
    match (app, name) {
        (_, "login_success" | "login_failure") => IdentityKind::Authentication(1),
        (_, "logout") => IdentityKind::Authentication(2),
        ("admin", "CREATE_USER") => IdentityKind::AccountChange(1),
        ("admin", "UNSUSPEND_USER") => IdentityKind::AccountChange(2),
        ("admin", "CHANGE_PASSWORD") => IdentityKind::AccountChange(4),
        ("admin", "SUSPEND_USER") => IdentityKind::AccountChange(5),
        ("admin", "DELETE_USER") => IdentityKind::AccountChange(6),
        ("user_accounts", "password_edit") => IdentityKind::AccountChange(3),
        ("user_accounts", "2sv_enroll") => IdentityKind::AccountChange(10),
        ("user_accounts", "2sv_disable") => IdentityKind::AccountChange(11),
        ("admin", "GRANT_ADMIN_PRIVILEGE" | "ASSIGN_ROLE") => IdentityKind::GroupManagement(1),
        ("admin", "REVOKE_ADMIN_PRIVILEGE" | "UNASSIGN_ROLE") => IdentityKind::GroupManagement(2),
        ("admin", "ADD_GROUP_MEMBER") => IdentityKind::GroupManagement(3),
        ("admin", "REMOVE_GROUP_MEMBER") => IdentityKind::GroupManagement(4),
        ("admin", "DELETE_GROUP") => IdentityKind::GroupManagement(5),
        ("admin", "CREATE_GROUP") => IdentityKind::GroupManagement(6),
        _ => IdentityKind::ApiActivity(verb_activity(name)),
    }
}

/// API Activity id from an event name's leading word (`CREATE_ROLE`, `view`,
/// `change_user_access`, `trash`) or an `_edit` / `_change` ending
/// (`recovery_email_edit`); 0 when there is no name.
fn verb_activity(name: &str) -> u8 {
    if name.is_empty() {
        return 0;
    }
    let lower = name.to_ascii_lowercase();
    if lower.ends_with("_edit") || lower.ends_with("_change") {
        return 3;
    }
    match lower.split('_').next().unwrap_or(&lower) {
        "create" | "add" | "upload" | "insert" => 1,
        "view" | "download" | "preview" | "print" | "read" | "get" | "list" => 2,
        "change" | "edit" | "update" | "rename" | "move" | "set" | "toggle" => 3,
        "delete" | "remove" | "trash" => 4,
        _ => 99,
    }
}

/// An event's parameters as a map: the API's `[{name, value | multiValue | boolValue |
/// intValue | …}]`, or an already flattened object.
fn parameters(entry: &Map<String, Value>) -> Map<String, Value> {
    match entry.get("parameters") {
        Some(Value::Object(m)) => m.clone(),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_object)
            .filter_map(|p| {
                let name = p.get("name")?.as_str()?;
                let value = p
                    .iter()
                    .find(|(k, _)| k.as_str() != "name")
                    .map(|(_, v)| v.clone())?;
                Some((name.to_owned(), value))
            })
            .collect(),
        _ => Map::new(),
    }
}

/// Was a second factor used? From `login_challenge_method`: `true` when a method other
/// than the password was used, `false` when only the password, `None` when not reported.
fn is_mfa(methods: Option<&Value>) -> Option<bool> {
    let methods: Vec<&str> = match methods? {
        Value::String(s) => vec![s.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    let methods: Vec<&str> = methods
        .into_iter()
        .filter(|m| !m.is_empty() && *m != "none")
        .collect();
    if methods.is_empty() {
        return None;
    }
    Some(methods.iter().any(|m| *m != "password"))
}

/// OCSF severity of a rule severity parameter (`LOW`, `MEDIUM`, `HIGH`).
fn severity(s: &str) -> Option<Severity> {
    Some(match s.to_ascii_uppercase().as_str() {
        "LOW" => Severity::Low,
        "MEDIUM" => Severity::Medium,
        "HIGH" => Severity::High,
        "CRITICAL" => Severity::Critical,
        _ => return None,
    })
}
