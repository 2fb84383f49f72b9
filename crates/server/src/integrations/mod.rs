//! Ticket integrations: every sealed case change becomes one outbox message per configured
//! `[[integrations]]` entry that wants it ([`Outbox::enqueue`], in one transaction with
//! the persisted cursor), and [`Outbox::deliver`] sends due messages to Jira Cloud
//! ([`jira`]), ServiceNow ([`servicenow`]), PagerDuty Events v2 ([`pagerduty`]), a Slack
//! incoming webhook ([`slack`]) or a signed generic webhook ([`webhook`]). Failures are
//! retried with exponential back-off and jitter (or as long as `Retry-After` says), and a
//! message is `dead` after `max_attempts`, with its last error, until `evident outbox
//! retry`. Sends are idempotent where the API allows: the ticket a target made is kept per
//! case (`external_links`), and a create retried after an unknown outcome looks for the
//! ticket first. See `docs/integrations.md`.

pub(crate) mod api;
pub mod jira;
pub mod pagerduty;
pub mod servicenow;
pub mod slack;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use evident_model::{Case, CaseChange, CaseRecord, Disposition, Stage};
use evident_store::{
    AttemptFailure, CASE_AUDIT_KIND, ExternalLink, NewOutboxMessage, OutboxMessage, StateDb,
    StoreError,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::Evident;
use crate::connectors::Interval;

pub use jira::JiraConfig;
pub use pagerduty::PagerDutyConfig;
pub use servicenow::ServiceNowConfig;
pub use slack::SlackConfig;
pub use webhook::WebhookConfig;

/// The case changes an integration can be sent, as named in `on = [...]`.
pub const EVENTS: [&str; 10] = [
    "opened",
    "triaged",
    "advanced",
    "closed",
    "assigned",
    "noted",
    "action_taken",
    "alert_joined",
    "events_linked",
    "post_mortem",
];

/// Audit rows read per enqueue round.
const ENQUEUE_BATCH: usize = 500;
/// Messages sent per delivery round.
const DELIVER_BATCH: usize = 100;
/// How often the worker looks for new changes and due messages.
const POLL: Duration = Duration::from_secs(1);
/// The longest wait a `Retry-After` header is honoured for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// One `[[integrations]]` table of `evident.toml`; `kind` selects the target.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct IntegrationConfig {
    /// Unique name: the outbox rows and links carry it.
    pub name: String,
    /// Which case changes to send (see [`EVENTS`]); default opened, advanced, closed.
    #[serde(default = "default_on")]
    pub on: Vec<String>,
    /// Attempts before a message is dead.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Wait after the first failure; doubles per failure.
    #[serde(default = "default_retry_initial")]
    pub retry_initial: Interval,
    /// Longest wait between attempts.
    #[serde(default = "default_retry_max")]
    pub retry_max: Interval,
    /// Link to a case in Evident, `{id}` replaced by the case id (default: the server's
    /// `/api/v1/cases/{id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_url: Option<String>,
    /// The target and its settings.
    #[serde(flatten)]
    pub target: Target,
}

/// The target of an integration, by `kind`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Target {
    /// Jira Cloud issues.
    Jira(JiraConfig),
    /// ServiceNow incidents (Table API).
    Servicenow(ServiceNowConfig),
    /// PagerDuty Events API v2.
    Pagerduty(PagerDutyConfig),
    /// A Slack incoming webhook.
    Slack(SlackConfig),
    /// Any HTTPS endpoint, signed with HMAC-SHA256.
    Webhook(WebhookConfig),
}

impl Target {
    fn kind(&self) -> &'static str {
        match self {
            Target::Jira(_) => "jira",
            Target::Servicenow(_) => "servicenow",
            Target::Pagerduty(_) => "pagerduty",
            Target::Slack(_) => "slack",
            Target::Webhook(_) => "webhook",
        }
    }
}

fn default_on() -> Vec<String> {
    ["opened", "advanced", "closed"].map(String::from).to_vec()
}
fn default_max_attempts() -> u32 {
    10
}
fn default_retry_initial() -> Interval {
    Interval::secs(5)
}
fn default_retry_max() -> Interval {
    Interval::secs(3600)
}

/// Checks `[[integrations]]`; the message names the table and field
/// (`integrations[1].on: …`).
pub fn validate(integrations: &[IntegrationConfig]) -> Result<(), String> {
    let mut names = std::collections::BTreeSet::new();
    for (i, c) in integrations.iter().enumerate() {
        let at = |field: &str, why: &str| format!("integrations[{i}].{field}: {why}");
        if c.name.trim().is_empty() {
            return Err(at("name", "must not be empty"));
        }
        if !names.insert(c.name.as_str()) {
            return Err(at(
                "name",
                &format!(
                    "{:?} is used by another integration; names must be unique",
                    c.name
                ),
            ));
        }
        if let Some(bad) = c.on.iter().find(|e| !EVENTS.contains(&e.as_str())) {
            return Err(at(
                "on",
                &format!("unknown change {bad:?} (use {})", EVENTS.join(", ")),
            ));
        }
        if c.max_attempts == 0 {
            return Err(at("max_attempts", "must be at least 1"));
        }
        if c.retry_initial.0.is_zero() || c.retry_initial.0 > c.retry_max.0 {
            return Err(at(
                "retry_initial",
                "must be above zero and at most retry_max",
            ));
        }
        let url_ok = |u: &str| u.starts_with("https://") || u.starts_with("http://");
        let (field, url) = match &c.target {
            Target::Jira(j) => ("base_url", Some(j.base_url.as_str())),
            Target::Servicenow(s) => ("base_url", Some(s.base_url.as_str())),
            Target::Pagerduty(p) => ("base_url", Some(p.base_url.as_str())),
            Target::Slack(s) => ("url", s.url.as_deref()),
            Target::Webhook(w) => ("url", Some(w.url.as_str())),
        };
        if let Some(u) = url
            && !url_ok(u)
        {
            return Err(at(field, &format!("{u:?} is not an http(s) URL")));
        }
        let check = match &c.target {
            Target::Jira(j) => j.validate(),
            Target::Servicenow(s) => s.validate(),
            Target::Pagerduty(p) => p.validate(),
            Target::Slack(s) => s.validate(),
            Target::Webhook(w) => w.validate(),
        };
        check.map_err(|(f, why)| at(f, &why))?;
    }
    Ok(())
}

/// Why a send failed; kept as the message's `last_error`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The request did not complete (connection refused, timeout, TLS).
    #[error("{method} {url}: {}", chain(.source))]
    Http {
        /// The method.
        method: &'static str,
        /// The URL.
        url: String,
        /// The client's error.
        source: reqwest::Error,
    },
    /// The service answered with an error status.
    #[error("{method} {url}: HTTP {status}: {body}")]
    Status {
        /// The method.
        method: &'static str,
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the response body.
        body: String,
        /// How long a 429 or 503 asked us to wait.
        retry_after: Option<Duration>,
    },
    /// A response that does not follow the documented API.
    #[error("{url}: {message}")]
    Protocol {
        /// The URL.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// A credential is missing.
    #[error("credentials: {0}")]
    Credentials(String),
    /// An update for a case whose ticket was never created (its create message is dead).
    #[error("no {integration} ticket for case {case} yet (its `opened` message was not delivered)")]
    NoTicket {
        /// The integration.
        integration: String,
        /// The case.
        case: i64,
    },
    /// The stored payload does not decode.
    #[error("outbox payload: {0}")]
    Payload(String),
    /// No `[[integrations]]` entry has the message's name any more.
    #[error("integration {0:?} is not configured")]
    NotConfigured(String),
    /// The state database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the stored payload of a message holds: the change as sealed and the case as it
/// stood right after it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Payload {
    /// The change's event name (see [`EVENTS`]).
    pub event: String,
    /// The record exactly as sealed into the ledger.
    pub record: CaseRecord,
    /// The case after the change.
    pub case: Case,
    /// The ledger index of the sealed change.
    pub ledger_index: Option<u64>,
}

/// Everything a target needs to render and send one message.
pub struct Outgoing<'a> {
    /// The HTTP client.
    pub client: &'a reqwest::Client,
    /// The integration's name.
    pub integration: &'a str,
    /// The message (for its idempotency key and attempts made).
    pub message: &'a OutboxMessage,
    /// What happened.
    pub payload: &'a Payload,
    /// The case's URL in Evident.
    pub case_url: String,
    /// The ticket made earlier for the case, if any.
    pub link: Option<ExternalLink>,
}

impl Outgoing<'_> {
    /// A create whose earlier attempt may have landed: look for the ticket first.
    pub fn may_exist(&self) -> bool {
        self.message.attempts > 0
    }

    /// The ticket to update, or [`SendError::NoTicket`].
    pub fn ticket(&self) -> Result<&ExternalLink, SendError> {
        self.link.as_ref().ok_or_else(|| SendError::NoTicket {
            integration: self.integration.to_owned(),
            case: self.payload.case.id,
        })
    }

    /// The stable per-case key targets tag tickets with: `evident-case-<id>`.
    pub fn case_key(&self) -> String {
        format!("evident-case-{}", self.payload.case.id)
    }

    /// A one-line summary of the change, for comments and chat.
    pub fn change_text(&self) -> String {
        change_text(&self.payload.record, &self.payload.case)
    }
}

/// What a target did with a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivered {
    /// Sent; the ticket it made, when it made one.
    Sent(Option<ExternalLink>),
    /// The target has nothing to do for this change.
    Skipped,
}

/// What one delivery round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// Messages newly written from case changes.
    pub enqueued: usize,
    /// Messages delivered (or skipped by their target).
    pub sent: usize,
    /// Attempts that failed and will be retried.
    pub retried: usize,
    /// Messages that became dead.
    pub dead: usize,
}

/// The outbox worker: turns case changes into messages and delivers them.
pub struct Outbox {
    db: Arc<StateDb>,
    integrations: Vec<IntegrationConfig>,
    client: reqwest::Client,
    default_case_url: String,
}

impl Outbox {
    /// A worker for `integrations`; cases link to `default_case_url` (with `{id}`) unless
    /// an integration sets its own `case_url`.
    pub fn new(
        db: Arc<StateDb>,
        integrations: Vec<IntegrationConfig>,
        default_case_url: String,
    ) -> Result<Outbox, SendError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("evident/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|source| SendError::Http {
                method: "POST",
                url: String::new(),
                source,
            })?;
        Ok(Outbox {
            db,
            integrations,
            client,
            default_case_url,
        })
    }

    /// A worker for a node's `[[integrations]]`.
    pub fn for_node(node: &Evident) -> Result<Outbox, SendError> {
        Outbox::new(
            node.db.clone(),
            node.config.integrations.clone(),
            format!("http://{}/api/v1/cases/{{id}}", node.config.server.listen),
        )
    }

    /// Turns sealed case changes after the cursor into messages, moving the cursor in the
    /// same transaction; returns how many messages were written. Blocking (SQLite).
    pub fn enqueue(&self, now_ms: i64) -> Result<usize, StoreError> {
        let mut written = 0;
        loop {
            let cursor = self.db.outbox_cursor()?;
            let rows = self.db.sealed_audit_rows_after(cursor, ENQUEUE_BATCH)?;
            let Some(last) = rows.last().map(|r| r.id) else {
                return Ok(written);
            };
            let mut messages = Vec::new();
            for row in rows.iter().filter(|r| r.kind == CASE_AUDIT_KIND) {
                let record: CaseRecord = match serde_json::from_str(&row.body) {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(row = row.id, error = %e, "case audit row does not decode; no integration message for it");
                        continue;
                    }
                };
                let event = event_name(&record.change);
                let wanted: Vec<&IntegrationConfig> = self
                    .integrations
                    .iter()
                    .filter(|c| c.on.iter().any(|e| e == event))
                    .collect();
                if wanted.is_empty() {
                    continue;
                }
                let case = match self.case_at(&record) {
                    Ok(c) => c,
                    // A history that does not replay was edited behind Evident's back
                    // (`evident verify` names it); it must not stall every integration.
                    Err(StoreError::Case(e)) => {
                        tracing::error!(row = row.id, case = record.case, error = %e, "case history does not replay; no integration message for this change");
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let payload = serde_json::to_string(&Payload {
                    event: event.to_owned(),
                    record: record.clone(),
                    case,
                    ledger_index: row.ledger_index,
                })
                .map_err(|e| StoreError::Invalid {
                    what: "outbox payload",
                    value: e.to_string(),
                })?;
                for c in wanted {
                    messages.push(NewOutboxMessage {
                        integration: c.name.clone(),
                        case_id: record.case,
                        audit_row_id: row.id,
                        kind: event.to_owned(),
                        payload: payload.clone(),
                    });
                }
            }
            written += self.db.enqueue_outbox(cursor, last, &messages, now_ms)?;
        }
    }

    /// Sends every message due at `now_ms` and records the outcomes.
    pub async fn deliver(&self, now_ms: i64) -> Result<Round, StoreError> {
        let mut round = Round::default();
        // A delivered message lets the next change of its case go: keep going while
        // messages go out.
        loop {
            let db = self.db.clone();
            let due = blocking(move || db.due_outbox(now_ms, DELIVER_BATCH)).await?;
            let before = round.sent;
            if due.is_empty() {
                return Ok(round);
            }
            self.deliver_batch(due, &mut round).await?;
            if round.sent == before {
                return Ok(round);
            }
        }
    }

    async fn deliver_batch(
        &self,
        due: Vec<OutboxMessage>,
        round: &mut Round,
    ) -> Result<(), StoreError> {
        for message in due {
            let config = self
                .integrations
                .iter()
                .find(|c| c.name == message.integration);
            let outcome = match config {
                Some(c) => self.send(c, &message).await,
                None => Err(SendError::NotConfigured(message.integration.clone())),
            };
            let db = self.db.clone();
            let sent_at = crate::cases_api::now_ms();
            match outcome {
                Ok(delivered) => {
                    round.sent += 1;
                    let id = message.id;
                    blocking(move || {
                        if let Delivered::Sent(Some(link)) = &delivered {
                            db.set_external_link(link, sent_at)?;
                        }
                        db.mark_outbox_sent(id, sent_at)
                    })
                    .await?;
                }
                Err(e) => {
                    let failure = match config {
                        Some(c) if message.attempts + 1 < c.max_attempts => {
                            round.retried += 1;
                            let wait = retry_wait(c, message.attempts, &e);
                            AttemptFailure::RetryAt(sent_at + wait.as_millis() as i64)
                        }
                        _ => {
                            round.dead += 1;
                            AttemptFailure::Dead
                        }
                    };
                    tracing::warn!(
                        integration = %message.integration,
                        id = message.id,
                        attempt = message.attempts + 1,
                        error = %e,
                        dead = failure == AttemptFailure::Dead,
                        "integration send failed"
                    );
                    let error = e.to_string();
                    let id = message.id;
                    blocking(move || db.mark_outbox_failed(id, &error, &failure)).await?;
                }
            }
        }
        Ok(())
    }

    /// One round: enqueue new changes, then deliver what is due now.
    pub async fn step(&self) -> Result<Round, StoreError> {
        let now = crate::cases_api::now_ms();
        let enqueued = {
            let this = self.clone_for_blocking();
            blocking(move || this.enqueue(now)).await?
        };
        let mut round = self.deliver(crate::cases_api::now_ms()).await?;
        round.enqueued = enqueued;
        Ok(round)
    }

    fn clone_for_blocking(&self) -> Outbox {
        Outbox {
            db: self.db.clone(),
            integrations: self.integrations.clone(),
            client: self.client.clone(),
            default_case_url: self.default_case_url.clone(),
        }
    }

    /// The case as it stood right after `record`.
    fn case_at(&self, record: &CaseRecord) -> Result<Case, StoreError> {
        let history: Vec<CaseRecord> = self
            .db
            .case_history(record.case)?
            .into_iter()
            .map(|r| r.record)
            .take_while(|r| r.seq <= record.seq)
            .collect();
        Ok(Case::replay(&history)?)
    }

    async fn send(
        &self,
        config: &IntegrationConfig,
        message: &OutboxMessage,
    ) -> Result<Delivered, SendError> {
        let payload: Payload = serde_json::from_str(&message.payload)
            .map_err(|e| SendError::Payload(format!("message {}: {e}", message.id)))?;
        let db = self.db.clone();
        let (name, case) = (message.integration.clone(), message.case_id);
        let link = blocking(move || db.external_link(&name, case)).await?;
        let template = config.case_url.as_deref().unwrap_or(&self.default_case_url);
        let send = Outgoing {
            client: &self.client,
            integration: &config.name,
            message,
            case_url: template.replace("{id}", &message.case_id.to_string()),
            payload: &payload,
            link,
        };
        match &config.target {
            Target::Jira(c) => jira::send(c, &send).await,
            Target::Servicenow(c) => servicenow::send(c, &send).await,
            Target::Pagerduty(c) => pagerduty::send(c, &send).await,
            Target::Slack(c) => slack::send(c, &send).await,
            Target::Webhook(c) => webhook::send(c, &send).await,
        }
    }
}

/// Starts the outbox worker when integrations are configured; it stops when `stop` turns
/// true.
pub(crate) fn start(
    node: &Arc<Evident>,
    stop: &watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    if node.config.integrations.is_empty() {
        return None;
    }
    let outbox = match Outbox::for_node(node) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "integrations cannot start");
            return None;
        }
    };
    let mut stop = stop.clone();
    let names: Vec<String> = node
        .config
        .integrations
        .iter()
        .map(|c| format!("{} ({})", c.name, c.target.kind()))
        .collect();
    tracing::info!(integrations = ?names, "integration outbox started");
    Some(tokio::spawn(async move {
        while !*stop.borrow() {
            if let Err(e) = outbox.step().await {
                tracing::error!(error = %e, "integration outbox round failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => break,
            }
        }
    }))
}

/// The event name of a change: what `on = [...]` selects.
pub fn event_name(change: &CaseChange) -> &'static str {
    match change {
        CaseChange::Opened { .. } => "opened",
        CaseChange::Triaged {
            disposition: Disposition::TruePositive,
            ..
        } => "triaged",
        CaseChange::Triaged { .. } => "closed",
        CaseChange::Advanced { to: Stage::Closed } => "closed",
        CaseChange::Advanced { .. } => "advanced",
        CaseChange::Assigned { .. } => "assigned",
        CaseChange::Noted { .. } => "noted",
        CaseChange::ActionTaken { .. } => "action_taken",
        CaseChange::AlertJoined { .. } => "alert_joined",
        CaseChange::EventsLinked { .. } => "events_linked",
        CaseChange::PostMortemRecorded { .. } => "post_mortem",
    }
}

/// One line saying what changed, by whom.
fn change_text(record: &CaseRecord, case: &Case) -> String {
    let who = &record.actor;
    match &record.change {
        CaseChange::Opened { title, .. } => {
            format!("Case {} opened by {who}: {title}", case.id)
        }
        CaseChange::Triaged {
            disposition,
            justification,
        } => {
            let why = justification
                .as_deref()
                .map(|j| format!(" ({j})"))
                .unwrap_or_default();
            format!("Triaged as {} by {who}{why}", disposition.as_str())
        }
        CaseChange::Advanced { to } => format!("Moved to stage {to} by {who}"),
        CaseChange::Assigned { assignee } => format!("Assigned to {assignee} by {who}"),
        CaseChange::Noted { text } => format!("Note by {who}: {text}"),
        CaseChange::ActionTaken { description } => format!("Action by {who}: {description}"),
        CaseChange::AlertJoined { alert } => format!("Alert {alert} joined the case"),
        CaseChange::EventsLinked { indexes } => format!(
            "Ledger entries linked by {who}: {}",
            indexes
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        CaseChange::PostMortemRecorded {
            root_cause,
            preventive_measures,
            ..
        } => format!(
            "Post-mortem by {who}: root cause: {root_cause}; preventive measures: {preventive_measures}"
        ),
    }
}

/// How long to wait after failed attempt number `attempts + 1`: what a 429/503 asked
/// for, else `retry_initial · 2^attempts` (at most `retry_max`), drawn from the upper half
/// so failures that happened together spread out.
fn retry_wait(config: &IntegrationConfig, attempts: u32, error: &SendError) -> Duration {
    if let SendError::Status {
        retry_after: Some(wait),
        ..
    } = error
    {
        return (*wait).min(MAX_RETRY_AFTER);
    }
    let ceiling = config
        .retry_initial
        .0
        .saturating_mul(1u32 << attempts.min(20))
        .min(config.retry_max.0);
    let half = ceiling / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
    let jitter = if nanos == 0 { 0 } else { random() % nanos };
    half + Duration::from_nanos(jitter)
}

/// A cheap non-cryptographic random number for jitter (splitmix64 of the clock and a
/// counter).
fn random() -> u64 {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut z = evident_ledger::now_ns()
        ^ COUNTER
            .fetch_add(0x9E37_79B9_7F4A_7C15, std::sync::atomic::Ordering::Relaxed)
            .rotate_left(17);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A secret given inline or by the name of an environment variable.
pub(crate) fn secret(
    inline: &Option<String>,
    env: &Option<String>,
    field: &str,
) -> Result<String, SendError> {
    if let Some(v) = inline {
        return Ok(v.clone());
    }
    match env {
        Some(var) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(v),
            _ => Err(SendError::Credentials(format!(
                "{field}_env names the environment variable {var}, which is not set"
            ))),
        },
        None => Err(SendError::Credentials(format!(
            "set {field} or {field}_env"
        ))),
    }
}

/// Checks that exactly one of `field` and `field_env` is set.
pub(crate) fn one_secret(
    inline: &Option<String>,
    env: &Option<String>,
    field: &'static str,
) -> Result<(), (&'static str, String)> {
    match (inline, env) {
        (Some(_), Some(_)) => Err((field, format!("set {field} or {field}_env, not both"))),
        (None, None) => Err((field, format!("set {field} or {field}_env"))),
        _ => Ok(()),
    }
}

/// Sends a request and returns the response body of a 2xx answer; any other status is a
/// [`SendError::Status`], with the `Retry-After` of a 429 or 503.
pub(crate) async fn request(
    req: reqwest::RequestBuilder,
    method: &'static str,
    url: &str,
) -> Result<String, SendError> {
    // Errors name `url` themselves; the client's copy could hold a secret (Slack).
    let resp = req.send().await.map_err(|source| SendError::Http {
        method,
        url: url.to_owned(),
        source: source.without_url(),
    })?;
    let status = resp.status();
    let retry_after = if status.as_u16() == 429 || status.as_u16() == 503 {
        retry_after(resp.headers())
    } else {
        None
    };
    let body = resp.text().await.map_err(|source| SendError::Http {
        method,
        url: url.to_owned(),
        source: source.without_url(),
    })?;
    if !status.is_success() {
        return Err(SendError::Status {
            method,
            url: url.to_owned(),
            status: status.as_u16(),
            body: body.chars().take(300).collect(),
            retry_after,
        });
    }
    Ok(body)
}

/// `Retry-After` as seconds (an HTTP date is read as "retry soon": one second).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get("retry-after")?.to_str().ok()?.trim();
    Some(match v.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => Duration::from_secs(1),
    })
}

/// Parses a JSON response body, naming the URL when it is not what the API documents.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    body: &str,
    url: &str,
) -> Result<T, SendError> {
    serde_json::from_str(body).map_err(|e| SendError::Protocol {
        url: url.to_owned(),
        message: format!(
            "unexpected response ({e}): {}",
            body.chars().take(200).collect::<String>()
        ),
    })
}

/// An error with its causes (`error sending request: … : Connection refused`).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// `url` with `params` as its query string, percent-encoded.
pub(crate) fn with_query(url: &str, params: &[(&str, &str)]) -> Result<reqwest::Url, SendError> {
    reqwest::Url::parse_with_params(url, params).map_err(|e| SendError::Protocol {
        url: url.to_owned(),
        message: format!("not a valid URL: {e}"),
    })
}

/// `base` without a trailing slash, then `path`.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Outbox(format!("outbox task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Doc {
        integrations: Vec<IntegrationConfig>,
    }

    #[test]
    fn tables_parse_by_kind_with_defaults_and_typos_are_rejected() {
        let doc: Doc = toml::from_str(
            r#"
            [[integrations]]
            kind = "slack"
            name = "soc-channel"
            url_env = "SLACK_URL"
            [[integrations]]
            kind = "jira"
            name = "jira"
            base_url = "https://acme.atlassian.net"
            email = "bot@acme.test"
            api_token_env = "JIRA_TOKEN"
            project = "SEC"
            on = ["opened", "closed", "noted"]
            max_attempts = 3
            retry_initial = "100ms"
            transitions = { investigation = "21", closed = "31" }
            "#,
        )
        .unwrap();
        assert_eq!(doc.integrations[0].on, ["opened", "advanced", "closed"]);
        assert_eq!(doc.integrations[0].max_attempts, 10);
        assert_eq!(
            doc.integrations[1].retry_initial.0,
            Duration::from_millis(100)
        );
        let Target::Jira(j) = &doc.integrations[1].target else {
            panic!("not jira")
        };
        assert_eq!(j.issue_type, "Task");
        assert!(validate(&doc.integrations).is_ok());
        let typo = toml::from_str::<Doc>(
            "[[integrations]]\nkind = \"slack\"\nname = \"s\"\nurll = \"https://x\"\n",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(typo.contains("unknown field `urll`"), "{typo}");
    }

    #[test]
    fn validation_names_the_table_and_field() {
        let parse = |extra: &str| {
            let doc: Doc = toml::from_str(&format!(
                "[[integrations]]\nkind = \"webhook\"\nname = \"hook\"\nurl = \"https://x/h\"\nsecret = \"s\"\n{extra}"
            ))
            .unwrap();
            validate(&doc.integrations)
        };
        assert_eq!(parse(""), Ok(()));
        assert_eq!(
            parse("on = [\"opened\", \"reopened\"]").unwrap_err(),
            format!(
                "integrations[0].on: unknown change \"reopened\" (use {})",
                EVENTS.join(", ")
            )
        );
        assert_eq!(
            parse("max_attempts = 0").unwrap_err(),
            "integrations[0].max_attempts: must be at least 1"
        );
        assert_eq!(
            parse("secret_env = \"X\"").unwrap_err(),
            "integrations[0].secret: set secret or secret_env, not both"
        );
        let doc: Doc = toml::from_str(
            "[[integrations]]\nkind = \"pagerduty\"\nname = \"pd\"\nbase_url = \"events.pagerduty.com\"\nrouting_key = \"k\"\n",
        )
        .unwrap();
        assert_eq!(
            validate(&doc.integrations).unwrap_err(),
            "integrations[0].base_url: \"events.pagerduty.com\" is not an http(s) URL"
        );
    }

    #[test]
    fn back_off_doubles_within_bounds_and_retry_after_wins() {
        let doc: Doc = toml::from_str(
            "[[integrations]]\nkind = \"slack\"\nname = \"s\"\nurl = \"https://x\"\nretry_initial = \"1s\"\nretry_max = \"4s\"\n",
        )
        .unwrap();
        let c = &doc.integrations[0];
        let err = SendError::Credentials("x".into());
        for (attempts, lo, hi) in [
            (0, 500, 1000),
            (1, 1000, 2000),
            (2, 2000, 4000),
            (5, 2000, 4000),
        ] {
            let w = retry_wait(c, attempts, &err).as_millis();
            assert!((lo..=hi).contains(&w), "attempt {attempts}: {w} ms");
        }
        let limited = SendError::Status {
            method: "POST",
            url: "u".into(),
            status: 429,
            body: String::new(),
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(retry_wait(c, 0, &limited), Duration::from_secs(7));
    }

    #[test]
    fn changes_map_to_events() {
        let tp = CaseChange::Triaged {
            disposition: Disposition::TruePositive,
            justification: None,
        };
        let fp = CaseChange::Triaged {
            disposition: Disposition::FalsePositive,
            justification: Some("scanner".into()),
        };
        assert_eq!(event_name(&tp), "triaged");
        assert_eq!(event_name(&fp), "closed");
        assert_eq!(
            event_name(&CaseChange::Advanced { to: Stage::Closed }),
            "closed"
        );
        assert_eq!(
            event_name(&CaseChange::Advanced {
                to: Stage::Containment
            }),
            "advanced"
        );
    }
}
