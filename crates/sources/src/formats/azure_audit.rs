//! Microsoft Entra ID (Azure AD) audit logs: the Microsoft Graph `directoryAudit` resource
//! (Microsoft Learn: "directoryAudit resource type" and the "Microsoft Entra audit log
//! activity reference"), bare or in the Azure Monitor diagnostic envelope
//! (`category: "AuditLogs"`, the audit record under `properties`).
//!
//! The Entra ID diagnostic stream also carries the sign-in categories (`SignInLogs`,
//! `NonInteractiveUserSignInLogs`, `ServicePrincipalSignInLogs`…); those records become
//! Authentication events exactly as `entra_signin` maps them.
//!
//! Audit records map by activity (`activityDisplayName`, else `operationName`):
//! - user lifecycle (`Add user`, `Invite external user`, `Delete user`, `Restore user`,
//!   `Disable account`, `Update user` changing `AccountEnabled`), password changes and
//!   resets, security-info (MFA) registration and deletion → Account Change;
//! - `Add member to group` / `Remove member from group`, `Add group` / `Delete group` →
//!   Group Management Add / Remove User, Create / Delete; role membership (`Add member to
//!   role`, `Add eligible member to role`…), role assignments, group ownership and
//!   elevated access → Assign / Revoke Privileges;
//! - everything else → API Activity, the activity from `operationType` (Add, Update,
//!   Delete) or the activity's leading verb.
//!
//! The initiator (`initiatedBy.user` / `.app`) is the actor, the `User` target is `user`,
//! the `Group` target (or the group named in the user's modified properties) is `group`.
//! The whole vendor object is kept in `unmapped`.

use evident_model::Event;
use serde_json::{Map, Value};

use super::Shape;
use super::azure_activity::{self, is_entra, operation_name};
use super::entra_signin;
use super::util::{IdentityKind, get_ci, get_ci_nonempty_str, target_resources};
use crate::parse::{ParseContext, ParseError, json_object};

/// Does the record look like an Entra ID audit record? A record of the Entra ID diagnostic
/// stream (Entra category or `Microsoft.aadiam` resource, with `operationName`), or a bare
/// Graph `directoryAudit` (`activityDisplayName` with `initiatedBy`, `targetResources` or
/// `loggedByService`).
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    (is_entra(obj) && operation_name(obj).is_some())
        || (obj.get("activityDisplayName").is_some_and(Value::is_string)
            && ["initiatedBy", "targetResources", "loggedByService"]
                .iter()
                .any(|k| obj.contains_key(*k)))
}

/// Normalizes one audit (or sign-in) record.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = json_object(record)?;
    let mut e = if entra_signin::is_sign_in_envelope(&obj) {
        entra_signin::sign_in_event(&obj, ctx)?
    } else {
        audit_event(&obj, ctx)?
    };
    e.set("unmapped", Value::Object(obj));
    Ok(vec![e])
}

/// The event of a directory audit record, bare or in its envelope.
fn audit_event(obj: &Map<String, Value>, ctx: &ParseContext<'_>) -> Result<Event, ParseError> {
    let envelope = operation_name(obj);
    let inner = match get_ci(obj, "properties") {
        Some(Value::Object(p)) if envelope.is_some() => p,
        _ => obj,
    };
    let Some(activity_name) = get_ci_nonempty_str(inner, "activityDisplayName")
        .or(envelope)
        .or_else(|| get_ci_nonempty_str(inner, "operationName"))
    else {
        return Err(ParseError::MissingField {
            field: if envelope.is_some() || get_ci(obj, "properties").is_some() {
                "operationName"
            } else {
                "activityDisplayName"
            }
            .into(),
        });
    };
    let time = inner
        .get("activityDateTime")
        .and_then(super::util::parse_time)
        .or_else(|| azure_activity::envelope_time(obj))
        .unwrap_or_else(|| ctx.received_at_ms());
    let targets: Vec<&Map<String, Value>> = inner
        .get("targetResources")
        .and_then(Value::as_array)
        .map(|ts| ts.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let user = targets
        .iter()
        .copied()
        .find(|t| get_ci_nonempty_str(t, "type").is_some_and(|k| k.eq_ignore_ascii_case("User")));
    let kind = classify(
        activity_name,
        get_ci_nonempty_str(inner, "operationType"),
        user,
    );

    let mut e = Event::new(kind.class(), kind.activity(), time);
    e.set("metadata.product.name", "Microsoft Entra ID")
        .set("metadata.product.vendor_name", "Microsoft");
    e.set_opt("metadata.uid", get_ci_nonempty_str(inner, "id"));
    e.set("api.operation", activity_name);
    e.set("message", activity_name);
    e.set_opt(
        "api.service.name",
        get_ci_nonempty_str(inner, "loggedByService"),
    );
    let result = get_ci_nonempty_str(inner, "result")
        .or_else(|| get_ci_nonempty_str(obj, "resultType"))
        .or_else(|| get_ci_nonempty_str(obj, "result"));
    if let Some(result) = result {
        e.set_status(azure_activity::result_status(result));
    }
    e.set_opt("status_detail", get_ci_nonempty_str(inner, "resultReason"));

    if let Some(by) = get_ci(inner, "initiatedBy.user").and_then(Value::as_object) {
        let upn = get_ci_nonempty_str(by, "userPrincipalName");
        e.set_opt(
            "actor.user.name",
            upn.or_else(|| get_ci_nonempty_str(by, "displayName")),
        );
        e.set_opt("actor.user.email_addr", upn.filter(|u| u.contains('@')));
        e.set_opt("actor.user.uid", get_ci_nonempty_str(by, "id"));
        e.set_opt(
            "actor.user.full_name",
            get_ci_nonempty_str(by, "displayName"),
        );
        if let Some(ip) = get_ci_nonempty_str(by, "ipAddress") {
            azure_activity::set_ip(&mut e, "src_endpoint", ip);
        }
    }
    if let Some(app) = get_ci(inner, "initiatedBy.app").and_then(Value::as_object) {
        e.set_opt(
            "actor.app_name",
            get_ci_nonempty_str(app, "displayName")
                .or_else(|| get_ci_nonempty_str(app, "servicePrincipalName")),
        );
        e.set_opt("actor.app_uid", get_ci_nonempty_str(app, "appId"));
    }

    if !matches!(kind, IdentityKind::ApiActivity(_))
        && let Some(user) = user
    {
        let upn = get_ci_nonempty_str(user, "userPrincipalName");
        e.set_opt(
            "user.name",
            upn.or_else(|| get_ci_nonempty_str(user, "displayName")),
        );
        e.set_opt("user.email_addr", upn.filter(|u| u.contains('@')));
        e.set_opt("user.uid", get_ci_nonempty_str(user, "id"));
        e.set_opt("user.full_name", get_ci_nonempty_str(user, "displayName"));
    }
    if let IdentityKind::GroupManagement(activity) = kind {
        let group = targets.iter().find(|t| {
            get_ci_nonempty_str(t, "type").is_some_and(|k| k.eq_ignore_ascii_case("Group"))
        });
        let name = group
            .and_then(|g| get_ci_nonempty_str(g, "displayName"))
            .map(str::to_owned)
            .or_else(|| user.and_then(|u| modified(u, "Group.DisplayName")));
        e.set_opt("group.name", name);
        e.set_opt(
            "group.uid",
            group
                .and_then(|g| get_ci_nonempty_str(g, "id"))
                .map(str::to_owned)
                .or_else(|| user.and_then(|u| modified(u, "Group.ObjectID"))),
        );
        if activity <= 2 {
            e.set_opt(
                "privileges",
                privilege(activity_name, inner, &targets).map(|p| vec![p]),
            );
        }
    }
    if matches!(kind, IdentityKind::ApiActivity(_)) && !targets.is_empty() {
        e.set("resources", target_resources(&targets));
    }
    if envelope.is_some() {
        azure_activity::set_envelope(&mut e, obj);
    } else {
        e.set("cloud.provider", "Azure");
        e.set_opt(
            "metadata.correlation_uid",
            get_ci_nonempty_str(inner, "correlationId"),
        );
    }
    Ok(e)
}

/// The OCSF class and activity of an audit activity, by name (`operationType` and the user
/// target's modified properties settle `Update user` and the fallback).
fn classify(
    name: &str,
    operation_type: Option<&str>,
    user: Option<&Map<String, Value>>,
) -> IdentityKind {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "add user" | "invite external user" => IdentityKind::AccountChange(1),
        "delete user" | "hard delete user" => IdentityKind::AccountChange(6),
        "restore user" | "enable account" => IdentityKind::AccountChange(2),
        "disable account" => IdentityKind::AccountChange(5),
        "update user" => match user.and_then(|u| modified(u, "AccountEnabled")).as_deref() {
            Some(v) if v.contains("false") => IdentityKind::AccountChange(5),
            Some(v) if v.contains("true") => IdentityKind::AccountChange(2),
            _ => IdentityKind::ApiActivity(3),
        },
        "reset password (by admin)"
        | "reset user password"
        | "reset password (self-service)"
        | "reset password" => IdentityKind::AccountChange(4),
        "change user password" | "change password (self-service)" => IdentityKind::AccountChange(3),
        "user registered security info"
        | "user registered all required security info"
        | "admin registered security info" => IdentityKind::AccountChange(10),
        "user deleted security info" | "admin deleted security info" => {
            IdentityKind::AccountChange(11)
        }
        "add member to group" => IdentityKind::GroupManagement(3),
        "remove member from group" => IdentityKind::GroupManagement(4),
        "add group" => IdentityKind::GroupManagement(6),
        "delete group" | "hard delete group" => IdentityKind::GroupManagement(5),
        "add owner to group" | "add role assignment" => IdentityKind::GroupManagement(1),
        "remove owner from group" | "delete role assignment" | "remove role assignment" => {
            IdentityKind::GroupManagement(2)
        }
        l if l.starts_with("user has elevated their access") => IdentityKind::GroupManagement(1),
        l if l.contains("member to role") => IdentityKind::GroupManagement(1),
        l if l.contains("member from role") => IdentityKind::GroupManagement(2),
        l => IdentityKind::ApiActivity(
            match operation_type.map(str::to_ascii_lowercase).as_deref() {
                Some("add") => 1,
                Some("update") => 3,
                Some("delete") => 4,
                _ => match l.split(' ').next().unwrap_or("") {
                    "add" | "create" | "invite" | "register" => 1,
                    "get" | "list" | "read" => 2,
                    "update" | "set" | "change" | "enable" | "disable" | "reset" => 3,
                    "delete" | "remove" | "hard" => 4,
                    _ => 99,
                },
            },
        ),
    }
}

/// The privilege a role or ownership change grants or revokes: `Owner` for group
/// ownership, `User Access Administrator` for elevated access, else the role's name (the
/// user's `Role.DisplayName` modified property, a `Role` target, or the `RoleName`
/// additional detail).
fn privilege(
    name: &str,
    inner: &Map<String, Value>,
    targets: &[&Map<String, Value>],
) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    if lower.contains("owner") {
        return Some("Owner".into());
    }
    if lower.starts_with("user has elevated their access") {
        return Some("User Access Administrator".into());
    }
    targets
        .iter()
        .find_map(|t| modified(t, "Role.DisplayName"))
        .or_else(|| {
            targets
                .iter()
                .find(|t| {
                    get_ci_nonempty_str(t, "type").is_some_and(|k| k.eq_ignore_ascii_case("Role"))
                })
                .and_then(|t| get_ci_nonempty_str(t, "displayName"))
                .map(str::to_owned)
        })
        .or_else(|| {
            inner
                .get("additionalDetails")
                .and_then(Value::as_array)?
                .iter()
                .filter_map(Value::as_object)
                .find(|d| {
                    get_ci_nonempty_str(d, "key")
                        .is_some_and(|k| k == "RoleName" || k == "RoleDefinitionName")
                })
                .and_then(|d| get_ci_nonempty_str(d, "value"))
                .map(str::to_owned)
        })
}

/// A modified property of a target (`newValue`, else `oldValue`), without the JSON quotes
/// Entra wraps values in (`"\"Sales\""` → `Sales`).
fn modified(target: &Map<String, Value>, property: &str) -> Option<String> {
    let entry = target
        .get("modifiedProperties")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(Value::as_object)
        .find(|p| get_ci_nonempty_str(p, "displayName") == Some(property))?;
    let value = get_ci_nonempty_str(entry, "newValue")
        .or_else(|| get_ci_nonempty_str(entry, "oldValue"))?;
    let value = value.trim().trim_matches('"').trim();
    (!value.is_empty()).then(|| value.to_owned())
}
