//! CloudTrail through S3 and SQS, the standard AWS deployment: CloudTrail writes gzipped
//! `{"Records":[…]}` files to a bucket, the bucket's event notifications go to an SQS queue
//! (directly or through SNS). For each message: fetch every announced object, gunzip, store
//! one entry per record, and only then delete the message.
//!
//! Every entry carries `connector`, `s3.object` (`bucket/key`), `s3.etag`, `s3.records` (how
//! many entries the object makes) and `sqs.message_id`. A message delivered again (its
//! receive count above 1: we fetched it before and did not delete it) is checked against the
//! ledger entries received since the message was sent: an object already complete there is
//! not stored again, one cut short by a crash gets only its missing records.

use std::collections::HashMap;
use std::io::Read;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{
    ConnectorError, Interval, META_CONNECTOR, Step, error_body, header_wait, http_client,
    scan_back, secret, unix_now,
};
use crate::Evident;
use crate::receivers::{Delivery, ReceiverStats, deliver};
use evident_s3::sigv4::{Credentials, Request, sign, uri_encode};

/// Metadata keys of S3/SQS entries.
const META_OBJECT: &str = "s3.object";
const META_ETAG: &str = "s3.etag";
const META_RECORDS: &str = "s3.records";
const META_MESSAGE: &str = "sqs.message_id";
/// Why an object's bytes were stored as one flagged entry instead of split into records.
const META_ERROR: &str = "error";
/// Largest object accepted after decompression.
const MAX_OBJECT_BYTES: u64 = 256 << 20;
/// Clock skew allowed between AWS (a message's sent time) and this server (entries'
/// received time) when looking for a redelivered message's objects in the ledger.
const SKEW_NS: u64 = 15 * 60 * 1_000_000_000;

/// `[[connectors]] kind = "s3-sqs"`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct S3SqsConfig {
    /// Connector name (default `s3-sqs`); unique among connectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The source its records are stored under.
    pub source: String,
    /// The queue receiving the bucket's event notifications.
    pub queue_url: String,
    /// The region of the bucket and queue (signing scope).
    #[serde(default = "us_east_1")]
    pub region: String,
    /// An S3 and SQS endpoint to use instead of AWS's (moto, MinIO, LocalStack); objects
    /// are then addressed path-style.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Access key id; else `access_key_id_env`, else `AWS_ACCESS_KEY_ID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// Environment variable holding the access key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id_env: Option<String>,
    /// Secret key; else `secret_access_key_env`, else `AWS_SECRET_ACCESS_KEY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<String>,
    /// Environment variable holding the secret key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key_env: Option<String>,
    /// Session token of temporary credentials; else `session_token_env`, else
    /// `AWS_SESSION_TOKEN` when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
    /// Environment variable holding the session token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token_env: Option<String>,
    /// Long-poll wait of each ReceiveMessage, 0–20 seconds.
    #[serde(default = "twenty")]
    pub wait_time_secs: u32,
    /// Messages per ReceiveMessage, 1–10.
    #[serde(default = "ten")]
    pub max_messages: u32,
    /// Visibility timeout asked for on receive (the queue's own when unset): how long a
    /// message we fail to finish stays hidden before it is delivered again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility_timeout_secs: Option<u32>,
    /// Pause after an empty receive.
    #[serde(default = "one_sec")]
    pub interval: Interval,
    /// First retry delay after an error (doubles per failure).
    #[serde(default = "one_sec")]
    pub retry_initial: Interval,
    /// Longest retry delay.
    #[serde(default = "five_min")]
    pub retry_max: Interval,
}

fn us_east_1() -> String {
    "us-east-1".into()
}
fn twenty() -> u32 {
    20
}
fn ten() -> u32 {
    10
}
fn one_sec() -> Interval {
    Interval::secs(1)
}
fn five_min() -> Interval {
    Interval::secs(300)
}

impl S3SqsConfig {
    pub(super) fn validate(&self) -> Result<(), (&'static str, String)> {
        let url_ok = |u: &str| {
            (u.starts_with("http://") || u.starts_with("https://"))
                && reqwest::Url::parse(u).is_ok()
        };
        if !url_ok(&self.queue_url) {
            return Err((
                "queue_url",
                format!("{:?} must be an http:// or https:// URL", self.queue_url),
            ));
        }
        if let Some(e) = &self.endpoint
            && !url_ok(e)
        {
            return Err((
                "endpoint",
                format!("{e:?} must be an http:// or https:// URL"),
            ));
        }
        if self.wait_time_secs > 20 {
            return Err((
                "wait_time_secs",
                format!("{} is above SQS's maximum of 20", self.wait_time_secs),
            ));
        }
        if !(1..=10).contains(&self.max_messages) {
            return Err((
                "max_messages",
                format!("{} is not between 1 and 10", self.max_messages),
            ));
        }
        Ok(())
    }
}

/// One SQS message as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqsMessage {
    /// SQS's id of the message (stored as `sqs.message_id`).
    pub message_id: String,
    /// The handle that deletes this delivery of it.
    pub receipt_handle: String,
    /// The notification JSON.
    pub body: String,
    /// How many times SQS has delivered it (`ApproximateReceiveCount`); above 1 means an
    /// earlier delivery was not deleted and its objects may already be in the ledger.
    pub receive_count: u32,
    /// When it was sent (`SentTimestamp`, Unix milliseconds).
    pub sent_at_ms: u64,
}

/// What storing one message did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreOutcome {
    /// Objects stored (fully or their missing part).
    pub objects: u64,
    /// Entries appended.
    pub records: u64,
    /// Objects found complete in the ledger already (a redelivery): not stored again.
    pub duplicates: u64,
    /// Objects that are not gzip / not `{"Records":[…]}`: stored as one entry with an
    /// `error` metadata value.
    pub flagged: u64,
    /// Things that could not be stored at all: an unparseable notification, an object gone
    /// from the bucket, a record over `ingest.max_record_bytes`, an object over 256 MiB.
    pub rejected: u64,
}

/// A running S3/SQS connector. [`S3Sqs::receive`], [`S3Sqs::store`] and [`S3Sqs::ack`] are
/// the three stages of a step, public so tests can stop between them as a crash would.
pub struct S3Sqs {
    node: Arc<Evident>,
    name: String,
    source: String,
    config: S3SqsConfig,
    creds: Credentials,
    client: reqwest::Client,
    sqs_url: reqwest::Url,
    stats: Arc<ReceiverStats>,
    /// `bucket/key` → ETag of objects stored by this process: a duplicate notification is
    /// recognized without reading the ledger.
    recent: HashMap<String, String>,
}

/// An object an event notification announced.
#[derive(Clone, Debug, PartialEq, Eq)]
struct S3Object {
    bucket: String,
    key: String,
    etag: Option<String>,
}

impl S3Object {
    fn id(&self) -> String {
        format!("{}/{}", self.bucket, self.key)
    }
}

impl S3Sqs {
    /// Resolves credentials (config, then the standard `AWS_*` variables).
    pub fn new(node: Arc<Evident>, config: &S3SqsConfig) -> Result<S3Sqs, ConnectorError> {
        let from_env = |var: &str| std::env::var(var).ok().filter(|v| !v.is_empty());
        let access_key_id = secret(
            &config.access_key_id,
            &config.access_key_id_env,
            "access_key_id",
        )?
        .or_else(|| from_env("AWS_ACCESS_KEY_ID"))
        .ok_or_else(|| {
            ConnectorError::Credentials(
                "s3-sqs: no access key (set access_key_id, access_key_id_env or AWS_ACCESS_KEY_ID)"
                    .into(),
            )
        })?;
        let secret_access_key = secret(
            &config.secret_access_key,
            &config.secret_access_key_env,
            "secret_access_key",
        )?
        .or_else(|| from_env("AWS_SECRET_ACCESS_KEY"))
        .ok_or_else(|| {
            ConnectorError::Credentials(
                "s3-sqs: no secret key (set secret_access_key, secret_access_key_env or AWS_SECRET_ACCESS_KEY)"
                    .into(),
            )
        })?;
        let session_token = secret(
            &config.session_token,
            &config.session_token_env,
            "session_token",
        )?
        .or_else(|| from_env("AWS_SESSION_TOKEN"));
        let base = config.endpoint.as_deref().unwrap_or(&config.queue_url);
        let mut sqs_url = reqwest::Url::parse(base).map_err(|e| ConnectorError::Protocol {
            url: base.to_owned(),
            message: e.to_string(),
        })?;
        sqs_url.set_path("/");
        sqs_url.set_query(None);
        let name = super::ConnectorConfig::S3Sqs(config.clone())
            .name()
            .to_owned();
        Ok(S3Sqs {
            stats: node.receivers.stats(&name),
            node,
            name,
            source: config.source.clone(),
            config: config.clone(),
            creds: Credentials {
                access_key_id,
                secret_access_key,
                session_token,
            },
            client: http_client()?,
            sqs_url,
            recent: HashMap::new(),
        })
    }

    /// One poll: receive, then store and delete each message in turn. A message whose
    /// store fails is left on the queue (SQS delivers it again after its visibility
    /// timeout) and the step reports the error.
    pub(crate) async fn step(&mut self) -> Result<Step, ConnectorError> {
        let messages = self.receive().await?;
        if messages.is_empty() {
            return Ok(Step::Idle);
        }
        for msg in &messages {
            let outcome = self.store(msg).await?;
            tracing::debug!(connector = %self.name, message = %msg.message_id, ?outcome, "message stored");
            self.ack(msg).await?;
        }
        Ok(Step::More)
    }

    /// `ReceiveMessage` (long poll).
    pub async fn receive(&self) -> Result<Vec<SqsMessage>, ConnectorError> {
        let mut req = serde_json::json!({
            "QueueUrl": self.config.queue_url,
            "MaxNumberOfMessages": self.config.max_messages,
            "WaitTimeSeconds": self.config.wait_time_secs,
            "MessageSystemAttributeNames": ["ApproximateReceiveCount", "SentTimestamp"],
        });
        if let Some(v) = self.config.visibility_timeout_secs {
            req["VisibilityTimeout"] = v.into();
        }
        #[derive(Deserialize)]
        struct Resp {
            #[serde(rename = "Messages", default)]
            messages: Vec<Msg>,
        }
        #[derive(Deserialize)]
        struct Msg {
            #[serde(rename = "MessageId")]
            message_id: String,
            #[serde(rename = "ReceiptHandle")]
            receipt_handle: String,
            #[serde(rename = "Body")]
            body: String,
            #[serde(rename = "Attributes", default)]
            attributes: std::collections::HashMap<String, String>,
        }
        let bytes = self.sqs("ReceiveMessage", &req).await?;
        let resp: Resp = serde_json::from_slice(&bytes).map_err(|e| ConnectorError::Protocol {
            url: self.sqs_url.to_string(),
            message: format!("ReceiveMessage response: {e}"),
        })?;
        Ok(resp
            .messages
            .into_iter()
            .map(|m| {
                let attr = |k: &str| m.attributes.get(k).and_then(|v| v.parse().ok());
                SqsMessage {
                    receive_count: attr("ApproximateReceiveCount").unwrap_or(1) as u32,
                    sent_at_ms: attr("SentTimestamp").unwrap_or(0),
                    message_id: m.message_id,
                    receipt_handle: m.receipt_handle,
                    body: m.body,
                }
            })
            .collect())
    }

    /// `DeleteMessage`: call only once [`S3Sqs::store`] returned.
    pub async fn ack(&self, msg: &SqsMessage) -> Result<(), ConnectorError> {
        let req = serde_json::json!({
            "QueueUrl": self.config.queue_url,
            "ReceiptHandle": msg.receipt_handle,
        });
        self.sqs("DeleteMessage", &req).await.map(|_| ())
    }

    /// Stores every object `msg` announces, durably; returns once they are in the ledger.
    pub async fn store(&mut self, msg: &SqsMessage) -> Result<StoreOutcome, ConnectorError> {
        let mut outcome = StoreOutcome::default();
        let objects = match objects_in(&msg.body) {
            Ok(o) => o,
            Err(why) => {
                tracing::warn!(connector = %self.name, message = %msg.message_id, error = %why, "not an S3 event notification; deleting it");
                self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                outcome.rejected += 1;
                return Ok(outcome);
            }
        };
        for object in objects {
            if object.key.contains("/CloudTrail-Digest/") {
                tracing::debug!(connector = %self.name, key = %object.key, "skipping a CloudTrail digest file");
                continue;
            }
            self.store_object(msg, &object, &mut outcome).await?;
        }
        Ok(outcome)
    }

    async fn store_object(
        &mut self,
        msg: &SqsMessage,
        object: &S3Object,
        outcome: &mut StoreOutcome,
    ) -> Result<(), ConnectorError> {
        let id = object.id();
        if let Some(stored) = self.recent.get(&id)
            && object.etag.as_ref().is_none_or(|e| e == stored)
        {
            outcome.duplicates += 1;
            return Ok(());
        }
        let mut already = 0;
        if msg.receive_count > 1 {
            let since_ns = (msg.sent_at_ms * 1_000_000).saturating_sub(SKEW_NS);
            let (ledger, name, oid, etag) = (
                self.node.ledger.clone(),
                self.name.clone(),
                id.clone(),
                object.etag.clone(),
            );
            let (count, total) = tokio::task::spawn_blocking(move || {
                stored_in_ledger(&ledger, &name, &oid, etag.as_deref(), since_ns)
            })
            .await
            .map_err(|e| ConnectorError::Task(e.to_string()))??;
            if let Some(total) = total
                && count >= total
            {
                tracing::info!(connector = %self.name, object = %id, "redelivered object already in the ledger; not storing it again");
                outcome.duplicates += 1;
                return Ok(());
            }
            already = count;
        }
        let Some((etag, bytes)) = self.get_object(object).await? else {
            tracing::warn!(connector = %self.name, object = %id, "announced object no longer exists; skipping it");
            self.stats.rejected.fetch_add(1, Ordering::Relaxed);
            outcome.rejected += 1;
            return Ok(());
        };
        let limit = self.node.config.ingest.max_record_bytes;
        let (records, error) = match split_object(&bytes) {
            Ok(records) => {
                let (keep, over): (Vec<_>, Vec<_>) =
                    records.into_iter().partition(|r| r.len() <= limit);
                if !over.is_empty() {
                    tracing::warn!(connector = %self.name, object = %id, records = over.len(), limit, "records over ingest.max_record_bytes not stored");
                    self.stats
                        .rejected
                        .fetch_add(over.len() as u64, Ordering::Relaxed);
                    outcome.rejected += over.len() as u64;
                }
                (keep, None)
            }
            Err(ObjectError::TooLarge) => {
                tracing::warn!(connector = %self.name, object = %id, "object over 256 MiB decompressed; not stored");
                self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                outcome.rejected += 1;
                return Ok(());
            }
            Err(ObjectError::Malformed { why, bytes }) => {
                if bytes.len() > limit {
                    tracing::warn!(connector = %self.name, object = %id, error = %why, "malformed object over ingest.max_record_bytes; not stored");
                    self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                    outcome.rejected += 1;
                    return Ok(());
                }
                tracing::warn!(connector = %self.name, object = %id, error = %why, "malformed object stored as one flagged entry");
                outcome.flagged += 1;
                (vec![bytes], Some(why))
            }
        };
        let total = records.len() as u64;
        let missing: Vec<Vec<u8>> = records.into_iter().skip(already as usize).collect();
        if !missing.is_empty() {
            let n = missing.len() as u64;
            let mut metadata = vec![
                (META_CONNECTOR.to_owned(), self.name.clone()),
                (META_OBJECT.to_owned(), id.clone()),
                (META_ETAG.to_owned(), etag.clone()),
                (META_RECORDS.to_owned(), total.to_string()),
                (META_MESSAGE.to_owned(), msg.message_id.clone()),
            ];
            if let Some(why) = error {
                metadata.push((META_ERROR.to_owned(), why));
            }
            self.stats.received.fetch_add(n, Ordering::Relaxed);
            let delivery = Delivery {
                source: self.source.clone(),
                records: missing,
                metadata,
            };
            deliver(&self.node, &self.node.intake, &self.stats, delivery).await?;
            outcome.objects += 1;
            outcome.records += n;
        }
        if self.recent.len() > 100_000 {
            self.recent.clear();
        }
        self.recent.insert(id, etag);
        Ok(())
    }

    /// `GetObject`: `None` when the object is gone (404). Returns the ETag without quotes.
    async fn get_object(
        &self,
        object: &S3Object,
    ) -> Result<Option<(String, Vec<u8>)>, ConnectorError> {
        let key_path: Vec<String> = object.key.split('/').map(uri_encode).collect();
        let url = match &self.config.endpoint {
            Some(e) => format!(
                "{}/{}/{}",
                e.trim_end_matches('/'),
                uri_encode(&object.bucket),
                key_path.join("/")
            ),
            None => format!(
                "https://{}.s3.{}.amazonaws.com/{}",
                object.bucket,
                self.config.region,
                key_path.join("/")
            ),
        };
        let parsed = reqwest::Url::parse(&url).map_err(|e| ConnectorError::Protocol {
            url: url.clone(),
            message: e.to_string(),
        })?;
        let req = Request {
            method: "GET",
            url: &parsed,
            headers: &[],
            payload: b"",
        };
        let headers = sign(
            &self.creds,
            &self.config.region,
            "s3",
            &req,
            chrono::Utc::now(),
        );
        let mut req = self.client.get(parsed);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.map_err(|source| ConnectorError::Http {
            method: "GET",
            url: url.clone(),
            source,
        })?;
        let status = resp.status().as_u16();
        if status == 404 {
            return Ok(None);
        }
        if status == 503 || status == 429 {
            let wait = header_wait(resp.headers(), unix_now());
            if let Some(wait) = wait {
                return Err(ConnectorError::RateLimited { url, status, wait });
            }
        }
        if !resp.status().is_success() {
            return Err(ConnectorError::Status {
                method: "GET",
                url,
                status,
                body: error_body(resp).await,
            });
        }
        let etag = resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .trim_matches('"')
            .to_owned();
        let bytes = resp.bytes().await.map_err(|source| ConnectorError::Http {
            method: "GET",
            url,
            source,
        })?;
        Ok(Some((etag, bytes.to_vec())))
    }

    /// One SQS JSON-protocol call; the response body.
    async fn sqs(&self, action: &str, body: &serde_json::Value) -> Result<Vec<u8>, ConnectorError> {
        let payload = body.to_string();
        let target = format!("AmazonSQS.{action}");
        let content_type = "application/x-amz-json-1.0";
        let req = Request {
            method: "POST",
            url: &self.sqs_url,
            headers: &[("content-type", content_type), ("x-amz-target", &target)],
            payload: payload.as_bytes(),
        };
        let headers = sign(
            &self.creds,
            &self.config.region,
            "sqs",
            &req,
            chrono::Utc::now(),
        );
        let url = format!("{} ({action})", self.sqs_url);
        let mut req = self
            .client
            .post(self.sqs_url.clone())
            .header("content-type", content_type)
            .header("x-amz-target", &target)
            .body(payload);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let resp = req.send().await.map_err(|source| ConnectorError::Http {
            method: "POST",
            url: url.clone(),
            source,
        })?;
        let status = resp.status().as_u16();
        if !resp.status().is_success() {
            return Err(ConnectorError::Status {
                method: "POST",
                url,
                status,
                body: error_body(resp).await,
            });
        }
        resp.bytes()
            .await
            .map(|b| b.to_vec())
            .map_err(|source| ConnectorError::Http {
                method: "POST",
                url,
                source,
            })
    }
}

/// How many entries of `object` (with `etag`, when known) `connector` stored since
/// `since_ns`, and how many the object makes in all.
fn stored_in_ledger(
    ledger: &evident_ledger::Ledger,
    connector: &str,
    object: &str,
    etag: Option<&str>,
    since_ns: u64,
) -> Result<(u64, Option<u64>), evident_ledger::LedgerError> {
    let mut count = 0;
    let mut total = None;
    scan_back(ledger, ledger.size(), |_, entry| {
        if entry.received_at_ns < since_ns {
            return ControlFlow::Break(());
        }
        if entry.meta(META_CONNECTOR) == Some(connector)
            && entry.meta(META_OBJECT) == Some(object)
            && (etag.is_none() || entry.meta(META_ETAG) == etag)
        {
            count += 1;
            total = total.or_else(|| entry.meta(META_RECORDS).and_then(|t| t.parse().ok()));
        }
        ControlFlow::Continue(())
    })?;
    Ok((count, total))
}

/// The objects an SQS message body announces: an S3 event notification, bare or wrapped
/// in an SNS notification. `s3:TestEvent` and non-create events announce none.
fn objects_in(body: &str) -> Result<Vec<S3Object>, String> {
    let mut v: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("message body is not JSON: {e}"))?;
    if v.get("Type").and_then(|t| t.as_str()) == Some("Notification")
        && let Some(inner) = v.get("Message").and_then(|m| m.as_str())
    {
        v = serde_json::from_str(inner).map_err(|e| format!("SNS Message is not JSON: {e}"))?;
    }
    if v.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        return Ok(Vec::new());
    }
    let records = v
        .get("Records")
        .and_then(|r| r.as_array())
        .ok_or("no \"Records\" array")?;
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let name = r.get("eventName").and_then(|n| n.as_str()).unwrap_or("");
        if !name.starts_with("ObjectCreated") {
            continue;
        }
        let s3 = r.get("s3");
        let text = |path: &[&str]| {
            path.iter()
                .try_fold(s3?, |v, k| v.get(k))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let bucket =
            text(&["bucket", "name"]).ok_or_else(|| format!("Records[{i}]: no s3.bucket.name"))?;
        let key =
            text(&["object", "key"]).ok_or_else(|| format!("Records[{i}]: no s3.object.key"))?;
        out.push(S3Object {
            bucket,
            key: url_decode(&key),
            etag: text(&["object", "eTag"]).map(|e| e.trim_matches('"').to_owned()),
        });
    }
    Ok(out)
}

/// S3 notification keys are form-encoded: `+` is a space, `%XX` a byte.
fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

#[derive(Debug)]
enum ObjectError {
    /// Over [`MAX_OBJECT_BYTES`] decompressed.
    TooLarge,
    /// Not gzip, or not a `{"Records":[…]}` document: `bytes` is what to store.
    Malformed { why: String, bytes: Vec<u8> },
}

/// Gunzips (when gzip) and splits a `{"Records":[…]}` file into its records' exact bytes.
fn split_object(bytes: &[u8]) -> Result<Vec<Vec<u8>>, ObjectError> {
    let plain = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        let read = flate2::read::MultiGzDecoder::new(bytes)
            .take(MAX_OBJECT_BYTES + 1)
            .read_to_end(&mut out);
        match read {
            Ok(n) if n as u64 > MAX_OBJECT_BYTES => return Err(ObjectError::TooLarge),
            Ok(_) => out,
            Err(e) => {
                return Err(ObjectError::Malformed {
                    why: format!("corrupt gzip: {e}"),
                    bytes: bytes.to_vec(),
                });
            }
        }
    } else {
        bytes.to_vec()
    };
    #[derive(Deserialize)]
    struct File<'a> {
        #[serde(rename = "Records", borrow)]
        records: Vec<&'a RawValue>,
    }
    match serde_json::from_slice::<File>(&plain) {
        Ok(f) => Ok(f
            .records
            .iter()
            .map(|r| r.get().as_bytes().to_vec())
            .collect()),
        Err(e) => Err(ObjectError::Malformed {
            why: format!("not a CloudTrail log file ({{\"Records\":[…]}}): {e}"),
            bytes: plain,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_bare_sns_wrapped_and_test_events() {
        let bare = r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"trail"},"object":{"key":"AWSLogs/1/a+b%3Dc.json.gz","eTag":"abc"}}},{"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"trail"},"object":{"key":"x"}}}]}"#;
        let want = vec![S3Object {
            bucket: "trail".into(),
            key: "AWSLogs/1/a b=c.json.gz".into(),
            etag: Some("abc".into()),
        }];
        assert_eq!(objects_in(bare), Ok(want.clone()));
        let sns = serde_json::json!({"Type": "Notification", "MessageId": "m", "Message": bare})
            .to_string();
        assert_eq!(objects_in(&sns), Ok(want));
        assert_eq!(
            objects_in(r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"trail"}"#),
            Ok(vec![])
        );
        assert_eq!(
            objects_in("hello"),
            Err("message body is not JSON: expected value at line 1 column 1".into())
        );
        assert_eq!(
            objects_in(r#"{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{}}}]}"#),
            Err("Records[0]: no s3.bucket.name".into())
        );
        assert_eq!(objects_in("{}"), Err("no \"Records\" array".into()));
    }

    #[test]
    fn url_decoding_handles_plus_percent_and_stray_percent() {
        assert_eq!(url_decode("a+b%20c%2Fd%zz%4"), "a b c/d%zz%4");
    }

    #[test]
    fn objects_split_into_exact_record_bytes_or_a_precise_error() {
        let file = br#"{"Records":[{"eventID":"1"} , {"eventID":"2","x":[1,2]}]}"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, file).unwrap();
        let gz = gz.finish().unwrap();
        let want = vec![
            br#"{"eventID":"1"}"#.to_vec(),
            br#"{"eventID":"2","x":[1,2]}"#.to_vec(),
        ];
        assert_eq!(split_object(&gz).unwrap(), want);
        assert_eq!(split_object(file).unwrap(), want);
        let mut bad = gz.clone();
        bad.truncate(20);
        match split_object(&bad) {
            Err(ObjectError::Malformed { why, bytes }) => {
                assert_eq!(why, "corrupt gzip: incomplete deflate stream");
                assert_eq!(bytes, bad);
            }
            other => panic!("{other:?}"),
        }
        match split_object(b"{\"Records\": 5}") {
            Err(ObjectError::Malformed { why, bytes }) => {
                assert_eq!(
                    why,
                    "not a CloudTrail log file ({\"Records\":[…]}): invalid type: integer `5`, expected a sequence at line 1 column 13"
                );
                assert_eq!(bytes, b"{\"Records\": 5}");
            }
            other => panic!("{other:?}"),
        }
    }
}
