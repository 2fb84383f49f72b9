//! The meta-audit trail: every login, logout, read of log data, export and change made
//! through Evident becomes an audit entry in its own ledger ("the logging system logs access
//! to itself"), as a normalized OCSF event — Authentication (3002) for sign-ins, API Activity
//! (6003) for the rest — so it is searchable like any log and the rule pack's
//! `evident_access_*` rules watch it.

use evident_model::{Class, Event, Role, Severity, Status};
use serde::Serialize;

use crate::Evident;

/// The audit-trail kind of access entries.
pub const ACCESS_AUDIT_KIND: &str = "access";

/// How an access attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Allowed and done.
    Success,
    /// Allowed, but the action failed (bad input, conflict).
    Failure,
    /// Refused: wrong credentials, missing permission, CSRF, lockout, window.
    Denied,
}

/// One access to the log system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessEvent {
    /// Who (`alice`, `token:ci`, or the name tried at a failed login).
    pub actor: String,
    /// Their role, when known.
    pub role: Option<Role>,
    /// What: `login`, `logout`, `GET /api/v1/search`, `evidence export`, `user create`, …
    pub action: String,
    /// On what: the URL with its query (the search), the user or token changed, the period.
    pub target: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Why (the refusal message, the HTTP status).
    pub detail: Option<String>,
    /// From where (IP), for requests.
    pub peer: Option<String>,
}

impl AccessEvent {
    /// The OCSF event sealed into the ledger.
    pub fn to_event(&self, at_ms: i64) -> Event {
        let login = matches!(self.action.as_str(), "login" | "logout");
        let mut e = if login {
            let activity = if self.action == "login" { 1 } else { 2 };
            let mut e = Event::new(Class::Authentication, activity, at_ms);
            e.set("user.name", self.actor.clone());
            e
        } else {
            let activity = activity_of(&self.action);
            let mut e = Event::new(Class::ApiActivity, activity, at_ms);
            e.set("api.operation", self.action.clone());
            e
        };
        e.set_status(match self.outcome {
            Outcome::Success => Status::Success,
            Outcome::Failure | Outcome::Denied => Status::Failure,
        })
        .set_severity(match self.outcome {
            Outcome::Denied => Severity::Low,
            _ => Severity::Informational,
        })
        .set("type", format!("access.{}", self.outcome_word()))
        .set("actor.user.name", self.actor.clone())
        .set("message", self.message())
        .set("metadata.product.name", "Evident")
        .set("metadata.product.vendor_name", "Evident")
        .set("metadata.evident.source", crate::audit::AUDIT_SOURCE)
        .set("evident.access.action", self.action.clone())
        .set("evident.access.target", self.target.clone())
        .set("evident.access.outcome", self.outcome_word())
        .set_opt("evident.access.detail", self.detail.clone())
        .set_opt("evident.actor.role", self.role.map(|r| r.as_str()))
        .set_opt("src_endpoint.ip", self.peer.clone());
        if let Some(d) = &self.detail {
            e.set("status_detail", d.clone());
        }
        e
    }

    fn outcome_word(&self) -> &'static str {
        match self.outcome {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }

    fn message(&self) -> String {
        let role = self.role.map(|r| format!(" ({r})")).unwrap_or_default();
        format!(
            "{}{role} {} {}: {}",
            self.actor,
            self.action,
            self.target,
            self.outcome_word()
        )
    }
}

/// OCSF API Activity: 1 Create, 2 Read, 3 Update, 4 Delete.
fn activity_of(action: &str) -> u8 {
    let verb = |words: &[&str]| action.split([' ', '-']).any(|w| words.contains(&w));
    if verb(&["DELETE", "revoke", "disable", "delete"]) {
        4
    } else if verb(&["PATCH", "PUT", "set", "enable", "reset", "change", "enroll"]) {
        3
    } else if verb(&["POST", "create", "add"]) {
        1
    } else if verb(&["GET", "export", "view", "search"]) {
        2
    } else {
        99
    }
}

/// Records `event` in the audit trail (sealed into the ledger within a second by the
/// server's housekeeping). A failure to record is logged, never shown to the caller: the
/// request already happened.
pub async fn record(node: &Evident, event: AccessEvent) {
    let db = node.db.clone();
    let size = node.ledger.size();
    let result = tokio::task::spawn_blocking(move || record_blocking(&db, &event, size)).await;
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "cannot record an access audit entry"),
        Err(e) => tracing::error!(error = %e, "cannot record an access audit entry"),
    }
}

/// [`record`] for callers off the async runtime (the CLI).
pub fn record_blocking(
    db: &evident_store::StateDb,
    event: &AccessEvent,
    ledger_size: u64,
) -> Result<(), evident_store::StoreError> {
    let now = crate::cases_api::now_ms();
    let body = serde_json::to_string(&event.to_event(now)).unwrap_or_default();
    db.record_audit(ACCESS_AUDIT_KIND, 0, &body, ledger_size)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_denied_search_is_an_api_activity_failure_naming_actor_and_query() {
        let e = AccessEvent {
            actor: "audrey".into(),
            role: Some(Role::Auditor),
            action: "GET /api/v1/users".into(),
            target: "/api/v1/users".into(),
            outcome: Outcome::Denied,
            detail: Some("lacks manage_users".into()),
            peer: Some("10.0.0.7".into()),
        }
        .to_event(1_000);
        assert_eq!(e.get_str("class_name"), Some("API Activity"));
        assert_eq!(e.get("activity_id").and_then(|v| v.as_u64()), Some(2));
        assert_eq!(e.get_str("status"), Some("Failure"));
        assert_eq!(e.get_str("type"), Some("access.denied"));
        assert_eq!(e.get_str("evident.actor.role"), Some("auditor"));
        assert_eq!(
            e.get_str("message"),
            Some("audrey (auditor) GET /api/v1/users /api/v1/users: denied")
        );
    }

    #[test]
    fn console_and_http_verbs_map_to_ocsf_activities() {
        let cases = [
            ("token create", 1),
            ("POST /api/v1/users", 1),
            ("export access-list", 2),
            ("GET /api/v1/search", 2),
            ("user set-role", 3),
            ("config change", 3),
            ("token revoke", 4),
            ("DELETE /api/v1/tokens/{name}", 4),
            ("something else", 99),
        ];
        for (action, want) in cases {
            assert_eq!(activity_of(action), want, "{action}");
        }
    }

    #[test]
    fn logins_are_authentication_events() {
        let e = AccessEvent {
            actor: "alice".into(),
            role: None,
            action: "login".into(),
            target: "password".into(),
            outcome: Outcome::Denied,
            detail: Some("wrong username or password".into()),
            peer: None,
        }
        .to_event(1_000);
        assert_eq!(e.get("class_uid").and_then(|v| v.as_u64()), Some(3002));
        assert_eq!(e.get_str("user.name"), Some("alice"));
        assert_eq!(
            e.get_str("status_detail"),
            Some("wrong username or password")
        );
    }
}
