//! Link-paged JSON APIs: the Okta System Log (`GET /api/v1/logs`) and the GitHub audit log
//! (`GET /orgs/{org}/audit-log`, `/enterprises/{enterprise}/audit-log`). Both answer a JSON
//! array of events and a `Link: <…>; rel="next"` header whose URL carries an opaque `after`
//! cursor; both say how much request budget is left in rate-limit headers.
//!
//! Progress: every entry of a page carries `connector` and `cursor` (the path and query of
//! the request that returned it). On start the newest such entry gives the cursor to resume
//! from; the events already stored under it (identified by `uuid` / `_document_id`) are
//! skipped when the page comes back. Re-asking for the last stored page costs one request
//! and makes a page cut short by a crash, or a last page that grew since, come out right.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Arc;

use evident_ledger::Entry;
use evident_store::ConnectorMark;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{
    ConnectorConfig, ConnectorError, Interval, META_CONNECTOR, Step, error_body, header_wait,
    http_client, remaining, scan_back, secret, unix_now,
};
use crate::Evident;
use crate::receivers::{Delivery, ReceiverStats, deliver};

/// Metadata key holding the request (path and query) a paged entry was fetched with.
const META_CURSOR: &str = "cursor";
/// Ledger growth (entries) after which an idle connector moves its mark forward.
const MARK_EVERY: u64 = 4096;

/// `[[connectors]] kind = "okta"`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OktaConfig {
    /// Connector name (default `okta-api`); unique among connectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The source its events are stored under.
    pub source: String,
    /// The org URL, e.g. `https://acme.okta.com`.
    pub base_url: String,
    /// The API token (`Authorization: SSWS …`); prefer `token_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Environment variable holding the API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// Where to start on the very first run (RFC 3339); Okta's default is 7 days ago.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Events per page (Okta allows up to 1000).
    #[serde(default = "okta_limit")]
    pub limit: u32,
    /// Poll interval once caught up.
    #[serde(default = "thirty_secs")]
    pub interval: Interval,
    /// First retry delay after an error (doubles per failure).
    #[serde(default = "one_sec")]
    pub retry_initial: Interval,
    /// Longest retry delay.
    #[serde(default = "five_min")]
    pub retry_max: Interval,
}

/// `[[connectors]] kind = "github"`: set exactly one of `org` and `enterprise`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GithubConfig {
    /// Connector name (default `github-api`); unique among connectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The source its events are stored under.
    pub source: String,
    /// The API root: `https://api.github.com`, or `https://HOST/api/v3` for GitHub Enterprise
    /// Server.
    #[serde(default = "github_api")]
    pub base_url: String,
    /// The organization whose audit log to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// The enterprise whose audit log to read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enterprise: Option<String>,
    /// A token with `read:audit_log` (`Authorization: Bearer …`); prefer `token_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Environment variable holding the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// A search phrase narrowing the events (`action:repo.create`, `created:>=2026-11-01`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phrase: Option<String>,
    /// `web`, `git` or `all` (the default; `git` events need an enterprise or GHEC org).
    #[serde(default = "include_all")]
    pub include: String,
    /// Events per page (GitHub allows up to 100).
    #[serde(default = "github_per_page")]
    pub per_page: u32,
    /// Poll interval once caught up.
    #[serde(default = "one_min")]
    pub interval: Interval,
    /// First retry delay after an error (doubles per failure).
    #[serde(default = "one_sec")]
    pub retry_initial: Interval,
    /// Longest retry delay.
    #[serde(default = "five_min")]
    pub retry_max: Interval,
}

fn okta_limit() -> u32 {
    1000
}
fn github_per_page() -> u32 {
    100
}
fn github_api() -> String {
    "https://api.github.com".into()
}
fn include_all() -> String {
    "all".into()
}
fn one_sec() -> Interval {
    Interval::secs(1)
}
fn thirty_secs() -> Interval {
    Interval::secs(30)
}
fn one_min() -> Interval {
    Interval::secs(60)
}
fn five_min() -> Interval {
    Interval::secs(300)
}

type FieldError = (&'static str, String);

fn check_url(url: &str) -> Result<(), FieldError> {
    if !(url.starts_with("http://") || url.starts_with("https://"))
        || reqwest::Url::parse(url).is_err()
    {
        return Err((
            "base_url",
            format!("{url:?} must start with http:// or https://"),
        ));
    }
    Ok(())
}

impl OktaConfig {
    pub(super) fn validate(&self) -> Result<(), FieldError> {
        check_url(&self.base_url)?;
        if !(1..=1000).contains(&self.limit) {
            return Err(("limit", format!("{} is not between 1 and 1000", self.limit)));
        }
        if let Some(since) = &self.since
            && chrono::DateTime::parse_from_rfc3339(since).is_err()
        {
            return Err((
                "since",
                format!("{since:?} is not an RFC 3339 time like 2026-11-01T00:00:00Z"),
            ));
        }
        Ok(())
    }
}

impl GithubConfig {
    pub(super) fn validate(&self) -> Result<(), FieldError> {
        check_url(&self.base_url)?;
        if self.org.is_some() == self.enterprise.is_some() {
            return Err(("org", "set exactly one of org and enterprise".into()));
        }
        if !(1..=100).contains(&self.per_page) {
            return Err((
                "per_page",
                format!("{} is not between 1 and 100", self.per_page),
            ));
        }
        if !["web", "git", "all"].contains(&self.include.as_str()) {
            return Err((
                "include",
                format!("{:?} is not one of web, git, all", self.include),
            ));
        }
        Ok(())
    }
}

/// Which API, for the parts that differ.
#[derive(Clone, Copy, Debug)]
enum Api {
    Okta,
    Github,
}

impl Api {
    /// The event field that identifies an event.
    fn id_field(self) -> &'static str {
        match self {
            Api::Okta => "uuid",
            Api::Github => "_document_id",
        }
    }
}

/// A running Okta or GitHub connector.
pub(crate) struct PagedApi {
    node: Arc<Evident>,
    name: String,
    source: String,
    api: Api,
    /// `scheme://host[:port]` of the configured base URL; cursors are paths below it.
    origin: String,
    authorization: String,
    client: reqwest::Client,
    /// Path and query of the next request.
    cursor: String,
    /// Ids of events already stored under `cursor`.
    stored: HashSet<String>,
    stats: Arc<ReceiverStats>,
    /// The progress mark last saved in the state DB.
    mark: ConnectorMark,
}

impl PagedApi {
    /// Resolves the token and recovers the cursor from the ledger.
    pub(crate) async fn open(
        node: Arc<Evident>,
        config: &ConnectorConfig,
    ) -> Result<PagedApi, ConnectorError> {
        let (api, base, authorization, first) = match config {
            ConnectorConfig::Okta(c) => {
                let token = secret(&c.token, &c.token_env, "token")?.ok_or_else(|| {
                    ConnectorError::Credentials("okta: set token or token_env".into())
                })?;
                let mut q = vec![
                    ("limit", c.limit.to_string()),
                    ("sortOrder", "ASCENDING".to_owned()),
                ];
                if let Some(since) = &c.since {
                    q.push(("since", since.clone()));
                }
                (
                    Api::Okta,
                    &c.base_url,
                    format!("SSWS {token}"),
                    ("/api/v1/logs".to_owned(), q),
                )
            }
            ConnectorConfig::Github(c) => {
                let token = secret(&c.token, &c.token_env, "token")?.ok_or_else(|| {
                    ConnectorError::Credentials("github: set token or token_env".into())
                })?;
                let path = match (&c.org, &c.enterprise) {
                    (Some(org), _) => format!("/orgs/{org}/audit-log"),
                    (None, Some(ent)) => format!("/enterprises/{ent}/audit-log"),
                    (None, None) => String::new(),
                };
                let mut q = vec![
                    ("include", c.include.clone()),
                    ("order", "asc".to_owned()),
                    ("per_page", c.per_page.to_string()),
                ];
                if let Some(p) = &c.phrase {
                    q.push(("phrase", p.clone()));
                }
                (
                    Api::Github,
                    &c.base_url,
                    format!("Bearer {token}"),
                    (path, q),
                )
            }
            ConnectorConfig::S3Sqs(_) => {
                return Err(ConnectorError::Credentials(
                    "not a paged API connector".into(),
                ));
            }
        };
        let base = reqwest::Url::parse(base).map_err(|e| ConnectorError::Protocol {
            url: base.clone(),
            message: e.to_string(),
        })?;
        let origin = base.origin().ascii_serialization();
        let mut start = base.clone();
        start.set_path(&format!("{}{}", base.path().trim_end_matches('/'), first.0));
        start.query_pairs_mut().extend_pairs(first.1);
        let initial = path_and_query(&start);
        let name = config.name().to_owned();
        let mark = node.db.connector_mark(&name).unwrap_or_else(|e| {
            tracing::warn!(connector = %name, error = %e, "cannot read the connector mark; scanning the ledger");
            None
        });
        let ledger = node.ledger.clone();
        let who = name.clone();
        let (recovered, checked_to) = tokio::task::spawn_blocking(move || {
            let size = ledger.size();
            recover(&ledger, mark, &who, api).map(|r| (r, size))
        })
        .await
        .map_err(|e| ConnectorError::Task(e.to_string()))??;
        let (cursor, stored) = match recovered.resume {
            Some((cursor, stored)) => {
                tracing::info!(connector = %name, %cursor, stored = stored.len(), "resuming from the ledger");
                (cursor, stored)
            }
            None => (initial, HashSet::new()),
        };
        let mark = ConnectorMark {
            last_index: recovered.last_index,
            checked_to,
        };
        save_mark(&node, &name, &mark);
        Ok(PagedApi {
            stats: node.receivers.stats(&name),
            source: config.source().to_owned(),
            node,
            name,
            api,
            origin,
            authorization,
            client: http_client()?,
            cursor,
            stored,
            mark,
        })
    }

    /// Fetches the page at the cursor, stores the events not stored yet, and moves the
    /// cursor to the `next` link.
    pub(crate) async fn step(&mut self) -> Result<Step, ConnectorError> {
        let url = format!("{}{}", self.origin, self.cursor);
        let mut req = self
            .client
            .get(&url)
            .header("authorization", &self.authorization);
        req = match self.api {
            Api::Okta => req.header("accept", "application/json"),
            Api::Github => req
                .header("accept", "application/vnd.github+json")
                .header("x-github-api-version", "2022-11-28"),
        };
        let resp = req.send().await.map_err(|source| ConnectorError::Http {
            method: "GET",
            url: url.clone(),
            source,
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let limited = status == 429
            || (status == 403
                && (headers.contains_key("retry-after") || remaining(&headers) == Some(0)));
        if limited && let Some(wait) = header_wait(&headers, unix_now()) {
            return Err(ConnectorError::RateLimited { url, status, wait });
        }
        if !resp.status().is_success() {
            return Err(ConnectorError::Status {
                method: "GET",
                url,
                status,
                body: error_body(resp).await,
            });
        }
        let body = resp.bytes().await.map_err(|source| ConnectorError::Http {
            method: "GET",
            url: url.clone(),
            source,
        })?;
        let events: Vec<Box<RawValue>> =
            serde_json::from_slice(&body).map_err(|e| ConnectorError::Protocol {
                url: url.clone(),
                message: format!("expected a JSON array of events: {e}"),
            })?;
        let page_len = events.len();
        let mut records = Vec::new();
        let mut ids = Vec::new();
        for event in events {
            let bytes = event.get().as_bytes();
            let id = event_id(self.api, bytes);
            if !self.stored.contains(&id) {
                ids.push(id);
                records.push(bytes.to_vec());
            }
        }
        if !records.is_empty() {
            let n = records.len() as u64;
            self.stats
                .received
                .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            let delivery = Delivery {
                source: self.source.clone(),
                records,
                metadata: vec![
                    (META_CONNECTOR.to_owned(), self.name.clone()),
                    (META_CURSOR.to_owned(), self.cursor.clone()),
                ],
            };
            let out = deliver(&self.node, &self.node.intake, &self.stats, delivery).await?;
            self.mark = ConnectorMark {
                last_index: Some(out.first_index + out.accepted - 1),
                checked_to: out.tree_size,
            };
            save_mark(&self.node, &self.name, &self.mark);
            tracing::debug!(connector = %self.name, events = n, cursor = %self.cursor, "stored a page");
            self.stored.extend(ids);
        }
        let next = next_link(&headers, &url);
        let advanced = match next {
            Some(next) if next != self.cursor => {
                self.cursor = next;
                self.stored.clear();
                true
            }
            _ => false,
        };
        if remaining(&headers) == Some(0)
            && let Some(wait) = header_wait(&headers, unix_now())
        {
            return Ok(Step::Wait(wait));
        }
        if advanced && page_len > 0 {
            return Ok(Step::More);
        }
        // Caught up: move the mark past what others appended, so a restart scans less.
        let size = self.node.ledger.size();
        if size - self.mark.checked_to.min(size) > MARK_EVERY {
            self.mark.checked_to = size;
            save_mark(&self.node, &self.name, &self.mark);
        }
        Ok(Step::Idle)
    }
}

/// What recovery found: the cursor to resume from with the ids of the events already
/// stored under it, and the index of the connector's newest entry.
struct Recovered {
    resume: Option<(String, HashSet<String>)>,
    last_index: Option<u64>,
}

/// The newest cursor of `connector` in the ledger and the ids of the events stored under
/// it. Only the ledger after `mark.checked_to` is scanned when the mark's `last_index`
/// still names one of the connector's entries; otherwise the whole ledger, from the end.
fn recover(
    ledger: &evident_ledger::Ledger,
    mark: Option<ConnectorMark>,
    connector: &str,
    api: Api,
) -> Result<Recovered, evident_ledger::LedgerError> {
    let size = ledger.size();
    let ours = |e: &Entry| -> Option<String> {
        (e.meta(META_CONNECTOR) == Some(connector))
            .then(|| e.meta(META_CURSOR).map(str::to_owned))
            .flatten()
    };
    let newest_below = |end: u64, floor: u64| {
        let mut found = None;
        scan_back(ledger, end, |i, e| {
            if i < floor {
                return ControlFlow::Break(());
            }
            match ours(&e) {
                Some(c) => {
                    found = Some((i, c));
                    ControlFlow::Break(())
                }
                None => ControlFlow::Continue(()),
            }
        })
        .map(|()| found)
    };
    let floor = mark.map_or(0, |m| m.checked_to.min(size));
    let mut newest = newest_below(size, floor)?;
    if newest.is_none()
        && let Some(last) = mark.and_then(|m| m.last_index)
    {
        let cached = if last < floor {
            ledger.entry(last).ok().as_ref().and_then(ours)
        } else {
            None
        };
        newest = match cached {
            Some(c) => Some((last, c)),
            None => {
                tracing::warn!(
                    connector,
                    last,
                    "the state DB's connector mark does not match the ledger; scanning it all"
                );
                newest_below(floor, 0)?
            }
        };
    }
    let Some((index, cursor)) = newest else {
        return Ok(Recovered {
            resume: None,
            last_index: None,
        });
    };
    let mut ids = HashSet::new();
    scan_back(ledger, index + 1, |_, e| {
        if e.meta(META_CONNECTOR) != Some(connector) {
            return ControlFlow::Continue(());
        }
        if e.meta(META_CURSOR) != Some(cursor.as_str()) {
            return ControlFlow::Break(());
        }
        ids.insert(event_id(api, &e.body));
        ControlFlow::Continue(())
    })?;
    Ok(Recovered {
        resume: Some((cursor, ids)),
        last_index: Some(index),
    })
}

/// Saves the connector's mark; a failure only costs a longer scan at the next start.
fn save_mark(node: &Evident, name: &str, mark: &ConnectorMark) {
    if let Err(e) = node.db.set_connector_mark(name, mark) {
        tracing::warn!(connector = name, error = %e, "cannot save the connector mark");
    }
}

/// The event's id field, or (for an event without one) a hash of its bytes.
fn event_id(api: Api, body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Ids {
        uuid: Option<String>,
        #[serde(rename = "_document_id")]
        document_id: Option<String>,
    }
    let id = serde_json::from_slice::<Ids>(body)
        .ok()
        .and_then(|i| match api {
            Api::Okta => i.uuid,
            Api::Github => i.document_id,
        });
    id.unwrap_or_else(|| {
        use sha2::Digest;
        let h = sha2::Sha256::digest(body);
        format!(
            "{}:sha256:{}",
            api.id_field(),
            h.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
    })
}

/// The `rel="next"` URL of a `Link` header, as path and query (resolved against `url`).
fn next_link(headers: &reqwest::header::HeaderMap, url: &str) -> Option<String> {
    let base = reqwest::Url::parse(url).ok()?;
    for value in headers.get_all(reqwest::header::LINK) {
        let Ok(mut rest) = value.to_str() else {
            continue;
        };
        while let Some(open) = rest.find('<') {
            let after = &rest[open + 1..];
            let close = after.find('>')?;
            let target = &after[..close];
            let params_end = after[close..].find('<').map_or(after.len(), |p| close + p);
            let params = &after[close + 1..params_end];
            let is_next = params.split(';').any(|p| {
                let p = p.trim().trim_end_matches(',').trim();
                p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
            });
            if is_next {
                return base.join(target).ok().map(|u| path_and_query(&u));
            }
            rest = &after[params_end..];
        }
    }
    None
}

fn path_and_query(url: &reqwest::Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_links_are_found_among_others_and_made_relative() {
        let mut h = reqwest::header::HeaderMap::new();
        h.append(
            "link",
            "<https://acme.okta.com/api/v1/logs?limit=2>; rel=\"self\""
                .parse()
                .unwrap(),
        );
        h.append(
            "link",
            "<https://acme.okta.com/api/v1/logs?limit=2&after=abc>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&h, "https://acme.okta.com/api/v1/logs?limit=2").as_deref(),
            Some("/api/v1/logs?limit=2&after=abc")
        );
        let mut g = reqwest::header::HeaderMap::new();
        g.insert(
            "link",
            "<https://api.github.com/orgs/o/audit-log?after=MS4x&before=>; rel=\"next\", <https://api.github.com/orgs/o/audit-log?before=MS4y>; rel=\"prev\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&g, "https://api.github.com/orgs/o/audit-log").as_deref(),
            Some("/orgs/o/audit-log?after=MS4x&before=")
        );
        let mut last = reqwest::header::HeaderMap::new();
        last.insert(
            "link",
            "<https://api.github.com/orgs/o/audit-log?before=MS4y>; rel=\"prev\""
                .parse()
                .unwrap(),
        );
        assert_eq!(next_link(&last, "https://api.github.com/x"), None);
    }

    #[test]
    fn events_are_identified_by_their_id_field_or_their_hash() {
        assert_eq!(event_id(Api::Okta, br#"{"uuid":"u-1","x":1}"#), "u-1");
        assert_eq!(
            event_id(Api::Github, br#"{"_document_id":"d-1","uuid":"no"}"#),
            "d-1"
        );
        assert_eq!(
            event_id(Api::Okta, b"{}"),
            "uuid:sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}
