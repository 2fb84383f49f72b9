//! PagerDuty Events API v2 (`POST /v2/enqueue`, authenticated by the `routing_key` in the
//! body). A case triggers an alert and its closing resolves it, both with `dedup_key` =
//! `evident-case-<id>`, so a repeated send updates the same alert instead of opening
//! another. Other changes have nothing to send.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Delivered, Outgoing, SendError, join, parse_json, request, secret};
use evident_store::ExternalLink;

/// `[[integrations]] kind = "pagerduty"`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyConfig {
    /// The Events API root.
    #[serde(default = "events_api")]
    pub base_url: String,
    /// The service integration's routing key; prefer `routing_key_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<String>,
    /// Environment variable holding the routing key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key_env: Option<String>,
    /// `payload.source` of the alerts.
    #[serde(default = "evident")]
    pub source: String,
}

fn events_api() -> String {
    "https://events.pagerduty.com".into()
}
fn evident() -> String {
    "evident".into()
}

impl PagerDutyConfig {
    pub(crate) fn validate(&self) -> Result<(), (&'static str, String)> {
        super::one_secret(&self.routing_key, &self.routing_key_env, "routing_key")
    }
}

/// The Events API's answer.
#[derive(Deserialize)]
struct Accepted {
    status: String,
}

/// PagerDuty's severity for an OCSF severity caption.
pub fn severity(caption: &str) -> &'static str {
    match caption {
        "Critical" | "Fatal" => "critical",
        "High" => "error",
        "Medium" => "warning",
        _ => "info",
    }
}

/// Sends one message to PagerDuty.
pub(crate) async fn send(c: &PagerDutyConfig, out: &Outgoing<'_>) -> Result<Delivered, SendError> {
    let routing_key = secret(&c.routing_key, &c.routing_key_env, "routing_key")?;
    let case = &out.payload.case;
    let dedup_key = out.case_key();
    let body = match out.payload.event.as_str() {
        "opened" => json!({
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {
                "summary": format!("[Evident] case {}: {}", case.id, case.title),
                "source": c.source,
                "severity": severity(&case.severity),
                "component": case.rule.as_deref().unwrap_or("manual"),
                "class": "security incident",
                "custom_details": {
                    "case": case.id,
                    "severity": case.severity,
                    "rule": case.rule,
                    "alerts": case.alerts,
                    "stage": case.stage,
                },
            },
            "client": "Evident",
            "client_url": out.case_url,
            "links": [{"href": out.case_url, "text": format!("Evident case {}", case.id)}],
        }),
        "closed" => json!({
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": dedup_key,
        }),
        _ => return Ok(Delivered::Skipped),
    };
    let url = join(&c.base_url, "/v2/enqueue");
    let req = out.client.post(&url).json(&body);
    let accepted: Accepted = parse_json(&request(req, "POST", &url).await?, &url)?;
    if accepted.status != "success" {
        return Err(SendError::Protocol {
            url,
            message: format!("status {:?}, expected \"success\"", accepted.status),
        });
    }
    let link = (out.payload.event == "opened").then(|| ExternalLink {
        integration: out.integration.to_owned(),
        case_id: case.id,
        external_id: dedup_key,
        url: None,
    });
    Ok(Delivered::Sent(link))
}
