//! GitHub audit log events, organization and enterprise (the REST `/audit-log` entries and
//! the audit log stream), as described in GitHub's "Reviewing the audit log for your
//! organization" and "Audit log events for your enterprise" pages.
//!
//! Mapping by `action`:
//! - membership changes (`org.add_member` / `remove_member`, `team.add_member` /
//!   `remove_member`, `repo.add_member` / `remove_member`) → Group Management Add / Remove
//!   User, the organization, team or repository as `group`;
//! - role changes (`org.update_member` to admin, `team.promote_maintainer`,
//!   `business.add_admin`, `organization_moderators.add_user`, … and their reverses) →
//!   Assign / Revoke Privileges; `team.create` / `destroy` → Group Management Create / Delete;
//! - everything else → API Activity, the activity from the verb ending the action or else
//!   from the stream's `operation_type` (create, access, modify, remove).
//!
//! The business, organization and repository go to `resources`; the whole vendor object
//! is kept in `unmapped`.

use evident_model::{Class, Event};
use serde_json::{Map, Value};

use super::{Shape, util};
use crate::parse::{ParseContext, ParseError, json_object};

/// Keys only GitHub audit entries carry beside `action`.
const GITHUB_KEYS: &[&str] = &[
    "org",
    "repo",
    "repository",
    "business",
    "created_at",
    "@timestamp",
    "_document_id",
    "actor_location",
    "actor_ip",
    "operation_type",
];

/// Does the record look like a GitHub audit entry? `action` is a dotted lower-case verb
/// (`repo.create`) or the entry carries GitHub's own keys (`org`, `repo`, `created_at`,
/// `_document_id`…), and `actor`, when present, is a login string (Slack's is an object).
pub(crate) fn detect(shape: &Shape<'_>) -> bool {
    let Shape::Json(obj) = shape else {
        return false;
    };
    let Some(action) = obj.get("action").and_then(Value::as_str) else {
        return false;
    };
    let actor_is_login = match obj.get("actor") {
        None => true,
        Some(a) => a.is_string(),
    };
    actor_is_login && (is_dotted_action(action) || GITHUB_KEYS.iter().any(|k| obj.contains_key(*k)))
}

/// Normalizes one audit log entry.
pub(crate) fn parse(record: &[u8], ctx: &ParseContext<'_>) -> Result<Vec<Event>, ParseError> {
    let obj = json_object(record)?;
    let action = util::require_str(&obj, "action")?;
    let time = ["@timestamp", "created_at", "at_sign_timestamp", "timestamp"]
        .iter()
        .find_map(|k| obj.get(*k).and_then(util::parse_time))
        .unwrap_or_else(|| ctx.received_at_ms());
    let kind = Kind::of(action, &obj);
    let mut e = Event::new(kind.class, kind.activity, time);

    e.set("metadata.product.name", "GitHub Audit Log")
        .set("metadata.product.vendor_name", "GitHub");
    e.set_opt("metadata.uid", util::get_nonempty_str(&obj, "_document_id"));
    e.set("api.operation", action);
    e.set_opt("actor.user.name", util::get_nonempty_str(&obj, "actor"));
    e.set_opt("actor.user.uid", util::get_id(&obj, "actor_id"));
    // With SAML SSO the audit log names the IdP identity of the actor: usually the e-mail
    // address the IdP (and its deprovisioning events) know the person by.
    e.set_opt(
        "actor.user.email_addr",
        util::get_nonempty_str(&obj, "external_identity_nameid").filter(|s| s.contains('@')),
    );
    e.set_opt("src_endpoint.ip", util::get_nonempty_str(&obj, "actor_ip"));
    e.set_opt(
        "src_endpoint.location.country",
        util::get_nonempty_str(&obj, "actor_location.country_code"),
    );
    e.set_opt(
        "http_request.user_agent",
        util::get_nonempty_str(&obj, "user_agent"),
    );

    let repo =
        util::get_nonempty_str(&obj, "repo").or_else(|| util::get_nonempty_str(&obj, "repository"));
    let mut resources = Vec::new();
    for (kind, name) in [
        ("enterprise", util::get_nonempty_str(&obj, "business")),
        ("organization", util::get_nonempty_str(&obj, "org")),
        ("repository", repo),
    ] {
        if let Some(name) = name {
            resources.push(serde_json::json!({"type": kind, "name": name}));
        }
    }
    if !resources.is_empty() {
        e.set("resources", resources);
    }

    if kind.class == Class::GroupManagement {
        e.set_opt("user.name", util::get_nonempty_str(&obj, "user"));
        e.set_opt("user.uid", util::get_id(&obj, "user_id"));
        let group = match kind.group {
            Group::Org => util::get_nonempty_str(&obj, "org"),
            Group::Team => util::get_nonempty_str(&obj, "team")
                .or_else(|| util::get_nonempty_str(&obj, "data.team")),
            Group::Repo => repo,
            Group::Business => util::get_nonempty_str(&obj, "business"),
            Group::None => None,
        };
        e.set_opt("group.name", group);
        if let Some(privilege) = kind.privilege {
            e.set("privileges", vec![privilege]);
        }
    }
    e.set("unmapped", Value::Object(obj));
    Ok(vec![e])
}

/// The group an action changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    None,
    Org,
    Team,
    Repo,
    Business,
}

/// What an action maps to.
#[derive(Clone, Copy, Debug)]
struct Kind {
    class: Class,
    activity: u8,
    group: Group,
    privilege: Option<&'static str>,
}

impl Kind {
    /// Classifies an action (`obj` holds `permission` and `operation_type`).
    fn of(action: &str, obj: &Map<String, Value>) -> Kind {
        let gm = |activity, group, privilege| Kind {
            class: Class::GroupManagement,
            activity,
            group,
            privilege,
        };
        match action {
            "org.add_member" => gm(3, Group::Org, None),
            "org.remove_member" => gm(4, Group::Org, None),
            "team.add_member" => gm(3, Group::Team, None),
            "team.remove_member" => gm(4, Group::Team, None),
            "repo.add_member" => gm(3, Group::Repo, None),
            "repo.remove_member" => gm(4, Group::Repo, None),
            "team.create" => gm(6, Group::Team, None),
            "team.destroy" => gm(5, Group::Team, None),
            "org.update_member" if util::get_nonempty_str(obj, "permission") == Some("admin") => {
                gm(1, Group::Org, Some("admin"))
            }
            "team.promote_maintainer" => gm(1, Group::Team, Some("maintainer")),
            "team.demote_maintainer" => gm(2, Group::Team, Some("maintainer")),
            "business.add_admin" => gm(1, Group::Business, Some("admin")),
            "business.remove_admin" => gm(2, Group::Business, Some("admin")),
            "org.add_billing_manager" => gm(1, Group::Org, Some("billing_manager")),
            "org.remove_billing_manager" => gm(2, Group::Org, Some("billing_manager")),
            "organization_moderators.add_user" => gm(1, Group::Org, Some("moderator")),
            "organization_moderators.remove_user" => gm(2, Group::Org, Some("moderator")),
            _ => Kind {
                class: Class::ApiActivity,
                activity: api_activity(action, util::get_nonempty_str(obj, "operation_type")),
                group: Group::None,
                privilege: None,
            },
        }
    }
}

/// API Activity id from the verb ending the action (`repo.create` → Create, `git.clone` →
/// Read, `git.push` → Update, `hook.destroy` → Delete), else from the stream's
/// `operation_type` (create, access, modify, remove).
fn api_activity(action: &str, operation_type: Option<&str>) -> u8 {
    let verb = action.rsplit('.').next().unwrap_or(action);
    let by_verb = match verb {
        "create" | "add" | "invite_member" | "created_workflow_run" => 1,
        "clone" | "fetch" | "download" | "access" | "view" => 2,
        "update" | "edit" | "rename" | "push" | "transfer" | "archived" | "unarchived"
        | "enable" | "disable" | "enabled" | "disabled" => 3,
        "destroy" | "delete" | "remove" => 4,
        v if v.starts_with("update_")
            || v.starts_with("set_")
            || v.starts_with("enable_")
            || v.starts_with("disable_") =>
        {
            3
        }
        v if v.ends_with("_enabled") || v.ends_with("_disabled") => 3,
        v if v.starts_with("add_") || v.starts_with("create_") || v.starts_with("invite_") => 1,
        v if v.starts_with("remove_") || v.starts_with("delete_") => 4,
        _ => 99,
    };
    match (by_verb, operation_type) {
        (99, Some("create")) => 1,
        (99, Some("access")) => 2,
        (99, Some("modify")) => 3,
        (99, Some("remove")) => 4,
        (activity, _) => activity,
    }
}

/// `repo.create`, `enterprise.config.disable_anonymous_git_access`: lower-case words
/// joined by dots.
fn is_dotted_action(action: &str) -> bool {
    action.contains('.')
        && action.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}
