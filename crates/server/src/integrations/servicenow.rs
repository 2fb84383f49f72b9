//! ServiceNow incidents through the Table API (basic auth). A case opens an incident
//! (`POST /api/now/table/incident`, `correlation_id` = `evident-case-<id>`); its `sys_id`
//! is kept as the case's link. Later changes update it (`PATCH
//! /api/now/table/incident/{sys_id}`): a stage change sets the in-progress state, closing
//! sets the resolved state with close code and notes, anything else adds work notes. A
//! create retried after an unknown outcome first looks the incident up by its
//! `correlation_id`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Delivered, Outgoing, SendError, join, parse_json, request, secret};
use evident_store::ExternalLink;

/// `[[integrations]] kind = "servicenow"`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceNowConfig {
    /// The instance, e.g. `https://acme.service-now.com`.
    pub base_url: String,
    /// The integration user.
    pub username: String,
    /// Its password; prefer `password_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Environment variable holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// Assignment group (name or sys_id) set on new incidents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment_group: Option<String>,
    /// `state` set when a case moves on from triage (2 = In Progress).
    #[serde(default = "in_progress")]
    pub in_progress_state: String,
    /// `state` set when a case closes (6 = Resolved).
    #[serde(default = "resolved")]
    pub resolved_state: String,
    /// `close_code` set when a case closes.
    #[serde(default = "close_code")]
    pub close_code: String,
}

fn in_progress() -> String {
    "2".into()
}
fn resolved() -> String {
    "6".into()
}
fn close_code() -> String {
    "Solved (Permanently)".into()
}

impl ServiceNowConfig {
    pub(crate) fn validate(&self) -> Result<(), (&'static str, String)> {
        super::one_secret(&self.password, &self.password_env, "password")?;
        if self.username.trim().is_empty() {
            return Err(("username", "must not be empty".into()));
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct Record {
    sys_id: String,
}

#[derive(Deserialize)]
struct One {
    result: Record,
}

#[derive(Deserialize)]
struct Many {
    result: Vec<Record>,
}

/// Sends one message to ServiceNow.
pub(crate) async fn send(c: &ServiceNowConfig, out: &Outgoing<'_>) -> Result<Delivered, SendError> {
    let password = secret(&c.password, &c.password_env, "password")?;
    let auth = |req: reqwest::RequestBuilder| {
        req.basic_auth(&c.username, Some(&password))
            .header("Accept", "application/json")
    };
    let payload = out.payload;
    let case = &payload.case;
    if payload.event == "opened" {
        if out.link.is_some() {
            return Ok(Delivered::Skipped);
        }
        if out.may_exist() {
            let url = join(&c.base_url, "/api/now/table/incident");
            let query = format!("correlation_id={}", out.case_key());
            let lookup = super::with_query(
                &url,
                &[
                    ("sysparm_query", query.as_str()),
                    ("sysparm_fields", "sys_id"),
                    ("sysparm_limit", "1"),
                ],
            )?;
            let req = auth(out.client.get(lookup));
            let found: Many = parse_json(&request(req, "GET", &url).await?, &url)?;
            if let Some(r) = found.result.into_iter().next() {
                return Ok(Delivered::Sent(Some(link(c, out, r.sys_id))));
            }
        }
        let (impact, urgency) = match case.severity.as_str() {
            "Critical" => ("1", "1"),
            "High" => ("1", "2"),
            "Medium" => ("2", "2"),
            _ => ("3", "3"),
        };
        let mut body = json!({
            "short_description": format!("[Evident] {}", case.title),
            "description": format!(
                "Evident case {}: {}\nSeverity: {}\nRule: {}\nAlerts: {:?}\n{}",
                case.id,
                case.title,
                case.severity,
                case.rule.as_deref().unwrap_or("none (opened by hand)"),
                case.alerts,
                out.case_url
            ),
            "impact": impact,
            "urgency": urgency,
            "correlation_id": out.case_key(),
            "correlation_display": "Evident",
        });
        if let (Some(group), Some(obj)) = (&c.assignment_group, body.as_object_mut()) {
            obj.insert("assignment_group".into(), Value::String(group.clone()));
        }
        let url = join(&c.base_url, "/api/now/table/incident");
        let req = auth(out.client.post(&url)).json(&body);
        let created: One = parse_json(&request(req, "POST", &url).await?, &url)?;
        return Ok(Delivered::Sent(Some(link(c, out, created.result.sys_id))));
    }
    let sys_id = out.ticket()?.external_id.clone();
    let notes = out.change_text();
    let body = match payload.event.as_str() {
        "closed" => {
            let close_notes = case
                .justification
                .clone()
                .or_else(|| {
                    case.post_mortem.as_ref().map(|p| {
                        format!(
                            "Root cause: {}. Preventive measures: {}.",
                            p.root_cause, p.preventive_measures
                        )
                    })
                })
                .unwrap_or_else(|| notes.clone());
            json!({
                "state": c.resolved_state,
                "close_code": c.close_code,
                "close_notes": close_notes,
                "work_notes": notes,
            })
        }
        "advanced" => json!({"state": c.in_progress_state, "work_notes": notes}),
        _ => json!({"work_notes": notes}),
    };
    let url = join(&c.base_url, &format!("/api/now/table/incident/{sys_id}"));
    let req = auth(out.client.patch(&url)).json(&body);
    let _: One = parse_json(&request(req, "PATCH", &url).await?, &url)?;
    Ok(Delivered::Sent(None))
}

fn link(c: &ServiceNowConfig, out: &Outgoing<'_>, sys_id: String) -> ExternalLink {
    ExternalLink {
        integration: out.integration.to_owned(),
        case_id: out.payload.case.id,
        url: Some(join(
            &c.base_url,
            &format!("/nav_to.do?uri=incident.do?sys_id={sys_id}"),
        )),
        external_id: sys_id,
    }
}
