//! MongoDB Atlas organization and project events, as the Atlas Admin API's Events resource
//! returns them (<https://www.mongodb.com/docs/atlas/reference/api-resources-spec/v2/#tag/Events>,
//! event names from Atlas's "Event Types" reference): `id`, `created`, `eventTypeName`,
//! `orgId`, `groupId` (the project), `username` / `userId` (who acted), `apiKeyId` /
//! `publicKey` (when an API key acted), `remoteAddress`, `targetUsername`, `teamId`,
//! `isGlobalAdmin`, `currentValue`, `links`. Some exports lower-case the field names
//! (`eventtypename`, `remoteaddress`); both spellings are read.
//!
//! The event type picks the class:
//! - `JOINED_ORG` / `JOINED_GROUP` / `JOINED_TEAM` → Group Management (3006) Add User,
//!   `REMOVED_FROM_*` → Remove User, `INVITED_TO_*` and `ORG_INVITATION_DELETED` → Other
//!   (an invitation is not yet a membership), `USER_ROLES_CHANGED_AUDIT` and
//!   `TEAM_ROLES_MODIFIED` → Assign Privileges, `TEAM_CREATED` / `TEAM_DELETED` → Create /
//!   Delete; the organization, project or team is the group and `targetUsername` the user;
//! - database users and service accounts (`MONGODB_USER_ADDED|DELETED|UPDATED`,
//!   `SERVICE_ACCOUNT_CREATED|DELETED`) and `USER_SECURITY_SETTINGS_UPDATED` → Account Change
//!   (3001) Create / Delete / Other;
//! - everything else → API Activity (6003) with `api.operation` = the event type, its
//!   activity taken from the verb in the name (`_ADDED`, `_CREATED` → Create; `_DOWNLOADED`
//!   → Read; `_CHANGED`, `_UPDATED`, `_MODIFIED`, `_ENABLED`, `_DISABLED`, `_REQUIRED`,
//!   `_OPTIONAL` … → Update; `_DELETED`, `_REMOVED` → Delete; else Other). Security settings
//!   such as `ORG_TWO_FACTOR_AUTH_REQUIRED` / `_OPTIONAL` are therefore API Activity Update.

use evident_model::{Class, Event};
use serde_json::Value;

use super::{Shape, util};
use crate::parse::{self, ParseContext, ParseError};

/// Does the record carry an Atlas `eventTypeName` (or the lower-cased `eventtypename`)?
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    obj.get("eventTypeName")
        .or_else(|| obj.get("eventtypename"))
        .is_some_and(Value::is_string)
}

/// Normalizes one Atlas event.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = parse::json_object(record)?;
    let event_type = match util::get_ci(&obj, "eventTypeName") {
        None | Some(Value::Null) => {
            return Err(ParseError::MissingField {
                field: "eventTypeName".into(),
            });
        }
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            return Err(ParseError::WrongType {
                field: "eventTypeName".into(),
                expected: "a string",
            });
        }
    };
    let time = util::get_ci(&obj, "created")
        .and_then(util::parse_time)
        .unwrap_or_else(|| ctx.received_at_ms());
    let (class, activity) = classify(event_type);
    let text = |k: &str| util::get_ci_nonempty_str(&obj, k);

    let mut e = Event::new(class, activity, time);
    e.set("metadata.product.name", "MongoDB Atlas");
    e.set("metadata.product.vendor_name", "MongoDB");
    e.set("metadata.event_code", event_type);
    e.set_opt("metadata.uid", text("id"));
    e.set("cloud.provider", "MongoDB Atlas");
    e.set_opt("cloud.account.uid", text("orgId"));
    e.set_opt("cloud.project_uid", text("groupId"));
    e.set_opt("src_endpoint.ip", text("remoteAddress"));
    if let Some(name) = text("username") {
        e.set("actor.user.name", name);
        if name.contains('@') {
            e.set("actor.user.email_addr", name);
        }
        e.set_opt("actor.user.uid", text("userId"));
    } else if let Some(key) = text("publicKey").or_else(|| text("apiKeyId")) {
        e.set("actor.user.name", key);
        e.set_opt("actor.user.uid", text("apiKeyId"));
        e.set("actor.user.type_id", 99)
            .set("actor.user.type", "API key");
    }
    if let Some(target) = text("targetUsername") {
        e.set("user.name", target);
        if target.contains('@') {
            e.set("user.email_addr", target);
        }
    }

    match class {
        Class::GroupManagement => {
            // The name says which kind of group; role changes say it by carrying a project.
            let (uid, kind) = if event_type.ends_with("_TEAM") || event_type.starts_with("TEAM_") {
                (text("teamId"), "team")
            } else if event_type.ends_with("_ORG") {
                (text("orgId"), "organization")
            } else if event_type.ends_with("_GROUP") || text("groupId").is_some() {
                (text("groupId"), "project")
            } else {
                (text("orgId"), "organization")
            };
            e.set_opt("group.uid", uid);
            e.set("group.type", kind);
        }
        Class::AccountChange => {}
        _ => {
            e.set("api.operation", event_type);
            e.set("api.service.name", "MongoDB Atlas");
        }
    }
    e.set("unmapped", Value::Object(obj));
    Ok(vec![e])
}

/// Class and activity of an Atlas event type.
fn classify(event_type: &str) -> (Class, u8) {
    use Class::{AccountChange as Acct, GroupManagement as Group};
    match event_type {
        "JOINED_ORG" | "JOINED_GROUP" | "JOINED_TEAM" => (Group, 3),
        "REMOVED_FROM_ORG" | "REMOVED_FROM_GROUP" | "REMOVED_FROM_TEAM" => (Group, 4),
        "INVITED_TO_ORG" | "INVITED_TO_GROUP" | "INVITED_TO_TEAM" | "ORG_INVITATION_DELETED" => {
            (Group, 99)
        }
        "USER_ROLES_CHANGED_AUDIT" | "TEAM_ROLES_MODIFIED" => (Group, 1),
        "TEAM_CREATED" => (Group, 6),
        "TEAM_DELETED" => (Group, 5),
        "MONGODB_USER_ADDED" | "SERVICE_ACCOUNT_CREATED" => (Acct, 1),
        "MONGODB_USER_DELETED" | "SERVICE_ACCOUNT_DELETED" => (Acct, 6),
        "MONGODB_USER_UPDATED" | "USER_SECURITY_SETTINGS_UPDATED" => (Acct, 99),
        _ => (Class::ApiActivity, verb_activity(event_type)),
    }
}

/// API Activity id from the verb in an event type name (`API_KEY_ADDED_TO_GROUP` → Create).
fn verb_activity(event_type: &str) -> u8 {
    event_type
        .split('_')
        .find_map(|word| match word {
            "ADDED" | "CREATED" | "CONFIGURED" => Some(1),
            "DOWNLOADED" => Some(2),
            "CHANGED" | "UPDATED" | "MODIFIED" | "EDITED" | "ENABLED" | "DISABLED" | "REQUIRED"
            | "OPTIONAL" | "RENAMED" => Some(3),
            "DELETED" | "REMOVED" => Some(4),
            _ => None,
        })
        .unwrap_or(99)
}
