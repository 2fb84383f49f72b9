//! Jira Cloud (REST API v3, basic auth with an account email and API token). A case opens
//! an issue (`POST /rest/api/3/issue`, description in Atlassian Document Format, labels
//! `evident` and `evident-case-<id>`); its key is kept as the case's link. Stage changes
//! run the configured workflow transition (`POST /rest/api/3/issue/{key}/transitions`), or
//! become a comment when none is configured for the stage; other changes become comments
//! (`POST /rest/api/3/issue/{key}/comment`). A create retried after an unknown outcome
//! first searches for the issue by its case label (`GET /rest/api/3/search/jql`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Delivered, Outgoing, SendError, join, parse_json, request, secret};
use evident_model::Stage;
use evident_store::ExternalLink;

/// `[[integrations]] kind = "jira"`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JiraConfig {
    /// The site, e.g. `https://acme.atlassian.net`.
    pub base_url: String,
    /// The account the API token belongs to.
    pub email: String,
    /// The API token; prefer `api_token_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token: Option<String>,
    /// Environment variable holding the API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token_env: Option<String>,
    /// The project key issues are created in.
    pub project: String,
    /// The issue type's name.
    #[serde(default = "task")]
    pub issue_type: String,
    /// Labels added to every issue (besides `evident` and `evident-case-<id>`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Stage name → Jira transition id run when a case enters that stage.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub transitions: BTreeMap<String, String>,
}

fn task() -> String {
    "Task".into()
}

impl JiraConfig {
    pub(crate) fn validate(&self) -> Result<(), (&'static str, String)> {
        super::one_secret(&self.api_token, &self.api_token_env, "api_token")?;
        if self.project.trim().is_empty() {
            return Err(("project", "must not be empty".into()));
        }
        for stage in self.transitions.keys() {
            stage
                .parse::<Stage>()
                .map_err(|e| ("transitions", e.to_string()))?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct Created {
    key: String,
}

#[derive(Deserialize)]
struct Found {
    issues: Vec<Created>,
}

/// Sends one message to Jira.
pub(crate) async fn send(c: &JiraConfig, out: &Outgoing<'_>) -> Result<Delivered, SendError> {
    let token = secret(&c.api_token, &c.api_token_env, "api_token")?;
    let post = |path: &str, body: &Value| {
        let url = join(&c.base_url, path);
        let req = out
            .client
            .post(&url)
            .basic_auth(&c.email, Some(&token))
            .header("Accept", "application/json")
            .json(body);
        (req, url)
    };
    let payload = out.payload;
    if payload.event == "opened" {
        if out.link.is_some() {
            return Ok(Delivered::Skipped);
        }
        if out.may_exist()
            && let Some(key) = find(c, out, &token).await?
        {
            return Ok(Delivered::Sent(Some(link(c, out, key))));
        }
        let mut labels = vec!["evident".to_owned(), out.case_key()];
        labels.extend(c.labels.iter().cloned());
        let body = json!({
            "fields": {
                "project": {"key": c.project},
                "issuetype": {"name": c.issue_type},
                "summary": format!("[Evident] {}", payload.case.title),
                "description": description(out),
                "labels": labels,
            }
        });
        let (req, url) = post("/rest/api/3/issue", &body);
        let created: Created = parse_json(&request(req, "POST", &url).await?, &url)?;
        return Ok(Delivered::Sent(Some(link(c, out, created.key))));
    }
    let key = out.ticket()?.external_id.clone();
    let stage_change = matches!(payload.event.as_str(), "advanced" | "closed");
    // Keys were checked as stage names at load (`eradication` = `eradication_recovery`).
    let transition = c
        .transitions
        .iter()
        .find(|(stage, _)| stage.parse::<Stage>().ok() == Some(payload.case.stage))
        .map(|(_, id)| id);
    if stage_change && let Some(id) = transition {
        let (req, url) = post(
            &format!("/rest/api/3/issue/{key}/transitions"),
            &json!({"transition": {"id": id}}),
        );
        request(req, "POST", &url).await?;
        return Ok(Delivered::Sent(None));
    }
    let (req, url) = post(
        &format!("/rest/api/3/issue/{key}/comment"),
        &json!({"body": doc(vec![paragraph(vec![text(&out.change_text())])])}),
    );
    request(req, "POST", &url).await?;
    Ok(Delivered::Sent(None))
}

/// The issue an earlier attempt may have created, found by its case label.
async fn find(
    c: &JiraConfig,
    out: &Outgoing<'_>,
    token: &str,
) -> Result<Option<String>, SendError> {
    let url = join(&c.base_url, "/rest/api/3/search/jql");
    let jql = format!(
        "project = \"{}\" AND labels = \"{}\"",
        c.project,
        out.case_key()
    );
    let query = super::with_query(
        &url,
        &[
            ("jql", jql.as_str()),
            ("fields", "key"),
            ("maxResults", "1"),
        ],
    )?;
    let req = out
        .client
        .get(query)
        .basic_auth(&c.email, Some(token))
        .header("Accept", "application/json");
    let found: Found = parse_json(&request(req, "GET", &url).await?, &url)?;
    Ok(found.issues.into_iter().next().map(|i| i.key))
}

fn link(c: &JiraConfig, out: &Outgoing<'_>, key: String) -> ExternalLink {
    ExternalLink {
        integration: out.integration.to_owned(),
        case_id: out.payload.case.id,
        url: Some(join(&c.base_url, &format!("/browse/{key}"))),
        external_id: key,
    }
}

/// The issue description: what the case is and where to work it.
fn description(out: &Outgoing<'_>) -> Value {
    let case = &out.payload.case;
    let alerts = if case.alerts.is_empty() {
        "none".to_owned()
    } else {
        case.alerts
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let item = |label: &str, value: &str| {
        json!({"type": "listItem", "content": [paragraph(vec![
            json!({"type": "text", "text": format!("{label}: "), "marks": [{"type": "strong"}]}),
            text(value),
        ])]})
    };
    doc(vec![
        paragraph(vec![
            text(&format!("Evident case {}: {} ", case.id, case.title)),
            json!({"type": "text", "text": "(open in Evident)",
                   "marks": [{"type": "link", "attrs": {"href": out.case_url}}]}),
        ]),
        json!({"type": "bulletList", "content": [
            item("Severity", &case.severity),
            item("Rule", case.rule.as_deref().unwrap_or("none (opened by hand)")),
            item("Stage", case.stage.as_str()),
            item("Alerts", &alerts),
            item("Opened by", &out.payload.record.actor),
        ]}),
    ])
}

fn doc(content: Vec<Value>) -> Value {
    json!({"type": "doc", "version": 1, "content": content})
}

fn paragraph(content: Vec<Value>) -> Value {
    json!({"type": "paragraph", "content": content})
}

fn text(t: &str) -> Value {
    json!({"type": "text", "text": t})
}
