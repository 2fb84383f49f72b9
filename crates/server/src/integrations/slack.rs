//! A Slack incoming webhook: one message (`text` plus `blocks`) per change sent. The
//! webhook URL is the credential. Slack offers no idempotency key, so a message whose
//! answer was lost is posted again on retry (at least once).

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Delivered, Outgoing, SendError, request, secret};

/// `[[integrations]] kind = "slack"`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The webhook URL (`https://hooks.slack.com/services/…`); prefer `url_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Environment variable holding the webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
}

impl SlackConfig {
    pub(crate) fn validate(&self) -> Result<(), (&'static str, String)> {
        super::one_secret(&self.url, &self.url_env, "url")
    }
}

/// Sends one message to Slack.
pub(crate) async fn send(c: &SlackConfig, out: &Outgoing<'_>) -> Result<Delivered, SendError> {
    let url = secret(&c.url, &c.url_env, "url")?;
    let case = &out.payload.case;
    let headline = format!(
        "[Evident] {} case {}: {} ({}, stage {})",
        out.payload.event,
        case.id,
        escape(&case.title),
        case.severity,
        case.stage
    );
    let body = json!({
        "text": headline,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": format!(
                "*<{}|Case {}: {}>*\n{}",
                out.case_url, case.id, escape(&case.title), escape(&out.change_text())
            )}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": format!(
                "Severity *{}* · stage *{}* · rule {}",
                case.severity, case.stage, escape(case.rule.as_deref().unwrap_or("none"))
            )}]},
        ],
    });
    // The URL carries the secret: errors name only the host.
    let shown = reqwest::Url::parse(&url)
        .map(|u| format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or("")))
        .unwrap_or_else(|_| "the Slack webhook".into());
    request(out.client.post(&url).json(&body), "POST", &shown).await?;
    Ok(Delivered::Sent(None))
}

/// Slack's mrkdwn escaping (`&`, `<`, `>`).
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
