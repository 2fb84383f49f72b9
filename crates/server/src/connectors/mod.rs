//! Pull connectors: Evident fetches what nobody sends — CloudTrail files announced on an SQS
//! queue ([`s3sqs`]), the Okta System Log and the GitHub audit log ([`paged`]). Each configured
//! `[[connectors]]` entry runs as one task started by [`crate::serve`]; it polls on its
//! interval, backs off exponentially (with jitter, or as long as the API's rate-limit headers
//! say) on errors, and stores through [`crate::receivers::deliver`], so a record is acked
//! upstream (SQS message deleted, cursor advanced) only once it is durable.
//!
//! The ledger is the only record of progress: every entry a connector appends carries its
//! resume point in the entry metadata (`connector`, `cursor`, `s3.object`, …), written in the
//! same append as the records, and a restarting connector reads it back by scanning the
//! ledger's tail ([`scan_back`]). See `docs/receivers/connectors.md`.

mod paged;
mod s3sqs;

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use evident_ledger::{Entry, Ledger, LedgerError};
use evident_model::Format;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

pub use paged::{GithubConfig, OktaConfig};
pub use s3sqs::{S3Sqs, S3SqsConfig, SqsMessage, StoreOutcome};

use crate::Evident;
use crate::receivers::DeliverError;

/// Metadata key naming the connector that appended an entry; recovery looks for it.
pub const META_CONNECTOR: &str = "connector";

/// One `[[connectors]]` table of `evident.toml`, selected by `kind`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind")]
pub enum ConnectorConfig {
    /// `kind = "s3-sqs"`: CloudTrail (or any `{"Records":[…]}` JSON) files in S3, announced
    /// by S3 event notifications on an SQS queue.
    #[serde(rename = "s3-sqs")]
    S3Sqs(S3SqsConfig),
    /// `kind = "okta"`: the Okta System Log API.
    #[serde(rename = "okta")]
    Okta(OktaConfig),
    /// `kind = "github"`: the GitHub organization or enterprise audit log API.
    #[serde(rename = "github")]
    Github(GithubConfig),
}

impl ConnectorConfig {
    /// The connector's name: its counters (`GET /metrics`) and the `connector` metadata of
    /// its entries. Defaults to `s3-sqs`, `okta-api`, `github-api`.
    pub fn name(&self) -> &str {
        match self {
            ConnectorConfig::S3Sqs(c) => c.name.as_deref().unwrap_or("s3-sqs"),
            ConnectorConfig::Okta(c) => c.name.as_deref().unwrap_or("okta-api"),
            ConnectorConfig::Github(c) => c.name.as_deref().unwrap_or("github-api"),
        }
    }

    /// The source its records are stored under.
    pub fn source(&self) -> &str {
        match self {
            ConnectorConfig::S3Sqs(c) => &c.source,
            ConnectorConfig::Okta(c) => &c.source,
            ConnectorConfig::Github(c) => &c.source,
        }
    }

    /// The format a source registered by the connector gets.
    pub fn format(&self) -> Format {
        match self {
            ConnectorConfig::S3Sqs(_) => Format::CloudTrail,
            ConnectorConfig::Okta(_) => Format::Okta,
            ConnectorConfig::Github(_) => Format::GitHub,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ConnectorConfig::S3Sqs(_) => "s3-sqs",
            ConnectorConfig::Okta(_) => "okta",
            ConnectorConfig::Github(_) => "github",
        }
    }

    fn retry(&self) -> (&Interval, &Interval) {
        match self {
            ConnectorConfig::S3Sqs(c) => (&c.retry_initial, &c.retry_max),
            ConnectorConfig::Okta(c) => (&c.retry_initial, &c.retry_max),
            ConnectorConfig::Github(c) => (&c.retry_initial, &c.retry_max),
        }
    }
}

/// Checks `[[connectors]]`; the message names the table and field (`connectors[1].base_url: …`).
pub fn validate(connectors: &[ConnectorConfig]) -> Result<(), String> {
    let mut names = std::collections::BTreeSet::new();
    for (i, c) in connectors.iter().enumerate() {
        let at = |field: &str, why: &str| format!("connectors[{i}].{field}: {why}");
        if c.source().parse::<evident_model::SourceName>().is_err() {
            return Err(at(
                "source",
                &format!("{:?} is not a valid source name", c.source()),
            ));
        }
        if !names.insert(c.name().to_owned()) {
            return Err(at(
                "name",
                &format!(
                    "{:?} is used by another connector; give each [[connectors]] of the same kind a distinct name",
                    c.name()
                ),
            ));
        }
        let (initial, max) = c.retry();
        if initial.0.is_zero() || initial.0 > max.0 {
            return Err(at(
                "retry_initial",
                "must be above zero and at most retry_max",
            ));
        }
        match c {
            ConnectorConfig::S3Sqs(s) => s.validate().map_err(|(f, why)| at(f, &why))?,
            ConnectorConfig::Okta(o) => o.validate().map_err(|(f, why)| at(f, &why))?,
            ConnectorConfig::Github(g) => g.validate().map_err(|(f, why)| at(f, &why))?,
        }
    }
    Ok(())
}

/// Why a connector step failed; the runner logs it and retries after a back-off.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectorError {
    /// The request did not complete (connection refused, timeout, TLS).
    #[error("{method} {url}: {source}")]
    Http {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL (without credentials).
        url: String,
        /// The client's error.
        source: reqwest::Error,
    },
    /// The service answered with an error status.
    #[error("{method} {url}: HTTP {status}: {body}")]
    Status {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// The service asked us to slow down (429, or 403 with rate-limit headers).
    #[error("{url}: rate limited (HTTP {status}); waiting {wait:?}")]
    RateLimited {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// How long the service asked us to wait.
        wait: Duration,
    },
    /// A response that does not follow the documented protocol.
    #[error("{url}: {message}")]
    Protocol {
        /// The URL.
        url: String,
        /// What is wrong.
        message: String,
    },
    /// A credential is missing (unset environment variable, no key in config).
    #[error("credentials: {0}")]
    Credentials(String),
    /// The ledger refused the records.
    #[error(transparent)]
    Deliver(#[from] DeliverError),
    /// Reading the ledger to recover the cursor failed.
    #[error("reading the ledger: {0}")]
    Ledger(#[from] LedgerError),
    /// A blocking task died.
    #[error("task failed: {0}")]
    Task(String),
}

impl ConnectorError {
    fn retry_after(&self) -> Option<Duration> {
        match self {
            ConnectorError::RateLimited { wait, .. } => Some(*wait),
            _ => None,
        }
    }
}

/// What a connector step found: whether to poll again at once or wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// More is waiting (a full page, a batch of messages): go on at once.
    More,
    /// Caught up: wait for the poll interval.
    Idle,
    /// The API's rate-limit budget is spent: wait this long.
    Wait(Duration),
}

/// Starts one task per configured connector. They stop when `stop` turns true.
pub(crate) fn start(
    node: &Arc<Evident>,
    stop: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    node.config
        .connectors
        .iter()
        .map(|c| tokio::spawn(run(node.clone(), c.clone(), stop.clone())))
        .collect()
}

/// Runs one connector until `stop` turns true: registers its source if needed, recovers
/// its cursor from the ledger, then polls, retrying failed steps with exponential back-off
/// and jitter (or the wait a rate-limited API asked for).
pub async fn run(node: Arc<Evident>, config: ConnectorConfig, mut stop: watch::Receiver<bool>) {
    let name = config.name().to_owned();
    let (initial, max) = config.retry();
    let mut backoff = Backoff::new(initial.0, max.0);
    let interval = match &config {
        ConnectorConfig::S3Sqs(c) => c.interval.0,
        ConnectorConfig::Okta(c) => c.interval.0,
        ConnectorConfig::Github(c) => c.interval.0,
    };
    register_source(&node, &config);
    let mut connector = loop {
        let made = match &config {
            ConnectorConfig::S3Sqs(c) => {
                S3Sqs::new(node.clone(), c).map(|s| Running::S3(Box::new(s)))
            }
            ConnectorConfig::Okta(_) | ConnectorConfig::Github(_) => {
                paged::PagedApi::open(node.clone(), &config)
                    .await
                    .map(|p| Running::Paged(Box::new(p)))
            }
        };
        match made {
            Ok(c) => break c,
            Err(e) => {
                let wait = backoff.next();
                tracing::error!(connector = %name, error = %e, ?wait, "connector cannot start");
                if sleep_or_stop(&mut stop, wait).await {
                    return;
                }
            }
        }
    };
    tracing::info!(connector = %name, kind = config.kind(), source = config.source(), "connector started");
    while !*stop.borrow() {
        let step = tokio::select! {
            s = connector.step() => s,
            _ = stop.changed() => break,
        };
        let wait = match step {
            Ok(Step::More) => {
                backoff.reset();
                continue;
            }
            Ok(Step::Idle) => {
                backoff.reset();
                interval
            }
            Ok(Step::Wait(d)) => {
                backoff.reset();
                tracing::info!(connector = %name, wait = ?d, "rate-limit budget spent; pausing");
                d
            }
            Err(e) => {
                let wait = e.retry_after().unwrap_or_else(|| backoff.next());
                tracing::warn!(connector = %name, error = %e, ?wait, "connector step failed; retrying");
                wait
            }
        };
        if sleep_or_stop(&mut stop, wait).await {
            break;
        }
    }
    tracing::info!(connector = %name, "connector stopped");
}

enum Running {
    S3(Box<S3Sqs>),
    Paged(Box<paged::PagedApi>),
}

impl Running {
    async fn step(&mut self) -> Result<Step, ConnectorError> {
        match self {
            Running::S3(c) => c.step().await,
            Running::Paged(c) => c.step().await,
        }
    }
}

/// Sleeps `d`; true when `stop` turned true meanwhile.
async fn sleep_or_stop(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

/// Registers the connector's source with its kind's format when it does not exist yet, so
/// the pipeline parses its records with the right parser.
fn register_source(node: &Evident, config: &ConnectorConfig) {
    let name = config.source();
    match node.db.source(name) {
        Ok(Some(s)) if s.format != config.format() => tracing::warn!(
            connector = config.name(),
            source = name,
            format = s.format.as_str(),
            expected = config.format().as_str(),
            "the connector's source has another format; its records are parsed as that"
        ),
        Ok(Some(_)) => {}
        Ok(None) => {
            let added = name
                .parse()
                .map_err(|e: evident_model::ModelError| e.to_string())
                .and_then(|n| {
                    node.db
                        .add_source(&n, config.format())
                        .map_err(|e| e.to_string())
                });
            match added {
                Ok(_) => tracing::info!(
                    connector = config.name(),
                    source = name,
                    format = config.format().as_str(),
                    "registered the connector's source"
                ),
                Err(e) => {
                    tracing::error!(connector = config.name(), source = name, error = %e, "cannot register the connector's source")
                }
            }
        }
        Err(e) => tracing::error!(connector = config.name(), error = %e, "cannot read sources"),
    }
}

/// Exponential back-off with jitter: each failure doubles the ceiling (up to `max`); the
/// wait is drawn from the upper half of it, so many connectors failing together spread out.
#[derive(Debug)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max,
            failures: 0,
        }
    }

    pub(crate) fn next(&mut self) -> Duration {
        let ceiling = self
            .initial
            .saturating_mul(1u32 << self.failures.min(20))
            .min(self.max);
        self.failures = self.failures.saturating_add(1);
        let half = ceiling / 2;
        let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if nanos == 0 { 0 } else { jitter_seed() % nanos };
        half + Duration::from_nanos(jitter)
    }

    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }
}

/// A cheap, non-cryptographic random number for jitter: the clock's nanoseconds mixed
/// (splitmix64) with a per-process counter.
fn jitter_seed() -> u64 {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut z = evident_ledger::now_ns()
        ^ COUNTER
            .fetch_add(0x9E37_79B9_7F4A_7C15, std::sync::atomic::Ordering::Relaxed)
            .rotate_left(17);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Calls `f` on the ledger's entries below `end` from the newest backwards, reading chunks
/// of 1024 entries at a time, until `f` breaks or the start of the log. Undecodable entries
/// are skipped (they cannot be ours; `verify` names them).
pub(crate) fn scan_back(
    ledger: &Ledger,
    end: u64,
    mut f: impl FnMut(u64, Entry) -> ControlFlow<()>,
) -> Result<(), LedgerError> {
    const CHUNK: u64 = 1024;
    let mut end = end.min(ledger.size());
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        let mut chunk = Vec::with_capacity((end - start) as usize);
        ledger.for_each_entry(start, end, |i, bytes| chunk.push((i, bytes.to_vec())))?;
        for (i, bytes) in chunk.into_iter().rev() {
            if let Ok(entry) = Entry::decode(&bytes)
                && f(i, entry).is_break()
            {
                return Ok(());
            }
        }
        end = start;
    }
    Ok(())
}

/// A duration in config: `"30s"`, `"5m"`, `"1h"`, `"250ms"`, or a number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interval(pub Duration);

impl Interval {
    /// `n` seconds.
    pub const fn secs(n: u64) -> Interval {
        Interval(Duration::from_secs(n))
    }
}

impl std::str::FromStr for Interval {
    type Err = String;

    fn from_str(s: &str) -> Result<Interval, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("{s:?} is not a duration (like 30s, 5m, 1h, 250ms)"))?;
        let d = match unit {
            "ms" => Duration::from_millis(n),
            "" | "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            _ => {
                return Err(format!(
                    "{s:?} has an unknown unit {unit:?} (use ms, s, m or h)"
                ));
            }
        };
        Ok(Interval(d))
    }
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.0.as_millis();
        if !ms.is_multiple_of(1000) {
            write!(f, "{ms}ms")
        } else {
            write!(f, "{}s", ms / 1000)
        }
    }
}

impl Serialize for Interval {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Interval {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Interval, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(n) => Ok(Interval::secs(n)),
            Raw::Text(t) => t.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// A secret given inline (`token = "…"`) or by environment variable name (`token_env`);
/// resolved when the connector starts so a missing variable is reported by name.
pub(crate) fn secret(
    inline: &Option<String>,
    env: &Option<String>,
    field: &str,
) -> Result<Option<String>, ConnectorError> {
    if let Some(v) = inline {
        return Ok(Some(v.clone()));
    }
    match env {
        Some(var) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Some(v)),
            _ => Err(ConnectorError::Credentials(format!(
                "{field}_env names the environment variable {var}, which is not set"
            ))),
        },
        None => Ok(None),
    }
}

/// How long the response's headers ask us to wait: `Retry-After` (seconds or an HTTP
/// date), else a rate-limit reset time (`X-Rate-Limit-Reset`, `X-RateLimit-Reset`: Unix
/// seconds), measured from `now` (Unix seconds). Capped at one hour.
pub(crate) fn header_wait(headers: &reqwest::header::HeaderMap, now: f64) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let cap = |secs: f64| Duration::from_secs_f64(secs.clamp(0.0, 3600.0));
    if let Some(v) = text("retry-after") {
        if let Ok(n) = v.trim().parse::<u64>() {
            return Some(cap(n as f64));
        }
        if let Ok(t) = chrono::DateTime::parse_from_rfc2822(v.trim()) {
            return Some(cap(t.timestamp() as f64 - now));
        }
    }
    let reset = text("x-rate-limit-reset").or_else(|| text("x-ratelimit-reset"))?;
    let at: f64 = reset.trim().parse().ok()?;
    // Reset times have one-second granularity: wait until the second has fully passed.
    Some(cap(at - now + 1.0))
}

/// The remaining request budget the response reports, if it does.
pub(crate) fn remaining(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get("x-rate-limit-remaining")
        .or_else(|| headers.get("x-ratelimit-remaining"))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Seconds since the Unix epoch, for rate-limit arithmetic.
pub(crate) fn unix_now() -> f64 {
    evident_ledger::now_ns() as f64 / 1e9
}

/// The body of an error response, cut to 300 bytes for a log line.
pub(crate) async fn error_body(resp: reqwest::Response) -> String {
    let bytes = resp.bytes().await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]);
    text.trim().replace('\n', " ")
}

/// The HTTP client every connector uses: rustls, a 60 s timeout per request (above SQS's
/// 20 s long poll), Evident's user agent (GitHub requires one).
pub(crate) fn http_client() -> Result<reqwest::Client, ConnectorError> {
    reqwest::Client::builder()
        .user_agent(concat!("evident/", env!("CARGO_PKG_VERSION")))
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|source| ConnectorError::Http {
            method: "GET",
            url: String::new(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_with_units_and_print_back() {
        let p = |s: &str| s.parse::<Interval>().map(|i| i.0);
        assert_eq!(p("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(p("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(p("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(p("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(p("7"), Ok(Duration::from_secs(7)));
        assert_eq!(
            p("5d"),
            Err("\"5d\" has an unknown unit \"d\" (use ms, s, m or h)".to_owned())
        );
        assert_eq!(
            p("soon"),
            Err("\"soon\" is not a duration (like 30s, 5m, 1h, 250ms)".to_owned())
        );
        assert_eq!(Interval(Duration::from_millis(1500)).to_string(), "1500ms");
        assert_eq!(Interval::secs(60).to_string(), "60s");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(8));
        for ceiling in [1, 2, 4, 8, 8, 8] {
            let d = b.next();
            let c = Duration::from_secs(ceiling);
            assert!(d >= c / 2 && d < c, "{d:?} not in [{:?}, {c:?})", c / 2);
        }
        b.reset();
        assert!(b.next() < Duration::from_secs(1));
    }

    #[test]
    fn rate_limit_headers_give_the_wait() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(header_wait(&h, 1000.0), None);
        h.insert("x-rate-limit-reset", "1010".parse().unwrap());
        assert_eq!(header_wait(&h, 1000.0), Some(Duration::from_secs(11)));
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(header_wait(&h, 1000.0), Some(Duration::from_secs(3)));
        let mut g = reqwest::header::HeaderMap::new();
        g.insert("x-ratelimit-reset", "999999".parse().unwrap());
        g.insert("x-ratelimit-remaining", "0".parse().unwrap());
        assert_eq!(header_wait(&g, 1000.0), Some(Duration::from_secs(3600)));
        assert_eq!(remaining(&g), Some(0));
    }

    #[test]
    fn evident_toml_rejects_a_bad_connector_naming_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("evident.toml");
        let table = "[[connectors]]\nkind = \"github\"\nsource = \"github\"\ntoken = \"t\"\n";
        std::fs::write(&p, format!("origin = \"o\"\n{table}")).unwrap();
        assert_eq!(
            crate::Config::load(&p).unwrap_err().to_string(),
            format!(
                "config {}: connectors[0].org: set exactly one of org and enterprise",
                p.display()
            )
        );
        std::fs::write(&p, format!("origin = \"o\"\n{table}org = \"acme\"\n")).unwrap();
        let config = crate::Config::load(&p).unwrap();
        assert_eq!(config.connectors[0].name(), "github-api");
        assert_eq!(config.connectors[0].format(), Format::GitHub);
    }

    #[test]
    fn secrets_come_inline_or_from_a_named_environment_variable() {
        // cargo sets CARGO_PKG_NAME for the test process.
        let env = |v: &str| Some(v.to_owned());
        assert_eq!(
            secret(&env("inline"), &env("CARGO_PKG_NAME"), "token").unwrap(),
            env("inline")
        );
        assert_eq!(
            secret(&None, &env("CARGO_PKG_NAME"), "token").unwrap(),
            env("evident-server")
        );
        assert_eq!(secret(&None, &None, "token").unwrap(), None);
        assert_eq!(
            secret(&None, &env("EVIDENT_TEST_UNSET_VARIABLE"), "token")
                .unwrap_err()
                .to_string(),
            "credentials: token_env names the environment variable EVIDENT_TEST_UNSET_VARIABLE, which is not set"
        );
    }

    #[test]
    fn config_tables_parse_by_kind_and_bad_fields_are_named() {
        #[derive(Deserialize)]
        struct Doc {
            connectors: Vec<ConnectorConfig>,
        }
        let doc: Doc = toml::from_str(
            r#"
            [[connectors]]
            kind = "okta"
            source = "okta"
            base_url = "https://acme.okta.com"
            token_env = "OKTA_TOKEN"
            interval = "1m"

            [[connectors]]
            kind = "github"
            source = "github"
            org = "acme"
            token = "ghp_x"

            [[connectors]]
            kind = "s3-sqs"
            source = "cloudtrail"
            queue_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/trail"
            region = "eu-west-1"
            "#,
        )
        .unwrap();
        assert_eq!(
            doc.connectors.iter().map(|c| c.name()).collect::<Vec<_>>(),
            ["okta-api", "github-api", "s3-sqs"]
        );
        validate(&doc.connectors).unwrap();
        let ConnectorConfig::Okta(o) = &doc.connectors[0] else {
            panic!("not okta")
        };
        assert_eq!(o.interval, Interval::secs(60));

        let err = toml::from_str::<Doc>(
            "[[connectors]]\nkind = \"okta\"\nsource = \"okta\"\nbase_url = \"https://x\"\ntokn = \"t\"\n",
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("unknown field `tokn`"), "{err}");

        let mut two = doc.connectors.clone();
        two.push(doc.connectors[0].clone());
        assert_eq!(
            validate(&two),
            Err("connectors[3].name: \"okta-api\" is used by another connector; give each [[connectors]] of the same kind a distinct name".to_owned())
        );
        let mut bad = doc.connectors[..1].to_vec();
        if let ConnectorConfig::Okta(o) = &mut bad[0] {
            o.base_url = "acme.okta.com".into();
        }
        assert_eq!(
            validate(&bad),
            Err(
                "connectors[0].base_url: \"acme.okta.com\" must start with http:// or https://"
                    .to_owned()
            )
        );
    }
}
