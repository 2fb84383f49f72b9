//! The S3 calls Evident's archive needs, over the REST API with path-style URLs (which AWS,
//! MinIO, Ceph and moto all accept): objects (put with Object Lock headers and a SHA-256
//! checksum, get, head, delete by version, list), the bucket's Object Lock and versioning
//! configuration, and per-object legal hold.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::{Method, StatusCode, Url};
use sha2::{Digest, Sha256};

use crate::sigv4::{Credentials, Request, sign, uri_encode};

/// What went wrong talking to S3; every variant names the bucket and key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum S3Error {
    /// S3 answered with an error status (and usually an XML error code).
    #[error("S3 {op} s3://{bucket}/{key}: HTTP {status} {code}: {message}")]
    Service {
        /// The call: `PutObject`, `DeleteObject`, ….
        op: &'static str,
        /// Bucket.
        bucket: String,
        /// Object key (empty for bucket calls).
        key: String,
        /// HTTP status.
        status: u16,
        /// S3's error code (`AccessDenied`, `NoSuchKey`, …), or `-` when the body had none.
        code: String,
        /// S3's message.
        message: String,
    },
    /// The request never got an answer (connection, TLS, timeout).
    #[error("S3 {op} s3://{bucket}/{key}: {source}")]
    Transport {
        /// The call.
        op: &'static str,
        /// Bucket.
        bucket: String,
        /// Object key.
        key: String,
        /// The HTTP client's error.
        source: reqwest::Error,
    },
    /// The endpoint URL or a configuration value is unusable.
    #[error("S3 configuration: {0}")]
    Config(String),
}

impl S3Error {
    /// S3's error code for service errors (`AccessDenied`, `NoSuchKey`, …).
    pub fn code(&self) -> Option<&str> {
        match self {
            S3Error::Service { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Where and as whom to talk to S3.
#[derive(Clone, Debug)]
pub struct S3Config {
    /// `https://s3.<region>.amazonaws.com`, or a MinIO / moto URL.
    pub endpoint: String,
    /// Signing region.
    pub region: String,
    /// Access key.
    pub credentials: Credentials,
}

/// Object Lock retention mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    /// Nobody, not even the root account, can delete or shorten it before retain-until.
    Compliance,
    /// Users with `s3:BypassGovernanceRetention` can.
    Governance,
}

impl LockMode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::Compliance => "COMPLIANCE",
            LockMode::Governance => "GOVERNANCE",
        }
    }

    fn parse(s: &str) -> Option<LockMode> {
        match s {
            "COMPLIANCE" => Some(LockMode::Compliance),
            "GOVERNANCE" => Some(LockMode::Governance),
            _ => None,
        }
    }
}

/// Per-object retention to set on upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Mode.
    pub mode: LockMode,
    /// Until when.
    pub retain_until: DateTime<Utc>,
}

/// Result of a PutObject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutResult {
    /// The new version (versioned buckets, which Object Lock requires).
    pub version_id: Option<String>,
    /// ETag as returned.
    pub etag: String,
}

/// What HeadObject says about an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectHead {
    /// Size in bytes.
    pub size: u64,
    /// Base64 SHA-256 S3 stored for it (when uploaded with one).
    pub checksum_sha256: Option<String>,
    /// Current version.
    pub version_id: Option<String>,
    /// Retention mode, if any.
    pub lock_mode: Option<LockMode>,
    /// Retain-until, if any.
    pub retain_until: Option<DateTime<Utc>>,
    /// Legal hold status.
    pub legal_hold: bool,
}

/// The bucket's Object Lock configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockConfiguration {
    /// `ObjectLockEnabled` = `Enabled`.
    pub enabled: bool,
    /// Default retention mode for new objects.
    pub default_mode: Option<LockMode>,
    /// Default retention in days.
    pub default_days: Option<u32>,
    /// Default retention in years.
    pub default_years: Option<u32>,
}

/// One ListObjectsV2 item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectSummary {
    /// Key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

/// A minimal S3 client (path-style URLs, SigV4).
#[derive(Clone, Debug)]
pub struct S3Client {
    http: reqwest::Client,
    endpoint: Url,
    region: String,
    creds: Credentials,
}

impl S3Client {
    /// A client for `config`.
    pub fn new(config: &S3Config) -> Result<S3Client, S3Error> {
        let endpoint = Url::parse(&config.endpoint)
            .map_err(|e| S3Error::Config(format!("endpoint {:?}: {e}", config.endpoint)))?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(300))
            .build()
            .map_err(|e| S3Error::Config(format!("HTTP client: {e}")))?;
        Ok(S3Client {
            http,
            endpoint,
            region: config.region.clone(),
            creds: config.credentials.clone(),
        })
    }

    /// CreateBucket, with Object Lock enabled when asked (which also enables versioning).
    pub async fn create_bucket(&self, bucket: &str, object_lock: bool) -> Result<(), S3Error> {
        let mut headers = vec![];
        if object_lock {
            headers.push(("x-amz-bucket-object-lock-enabled", "true".to_owned()));
        }
        self.call(
            "CreateBucket",
            Method::PUT,
            bucket,
            "",
            &[],
            headers,
            Vec::new(),
        )
        .await
        .map(|_| ())
    }

    /// PutObjectLockConfiguration: the default retention for new objects.
    pub async fn put_object_lock_configuration(
        &self,
        bucket: &str,
        mode: LockMode,
        days: u32,
    ) -> Result<(), S3Error> {
        let body = format!(
            "<ObjectLockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>{}</Mode><Days>{days}</Days></DefaultRetention></Rule></ObjectLockConfiguration>",
            mode.as_str()
        );
        self.call(
            "PutObjectLockConfiguration",
            Method::PUT,
            bucket,
            "",
            &[("object-lock", "")],
            checksum_headers(body.as_bytes()),
            body.into_bytes(),
        )
        .await
        .map(|_| ())
    }

    /// GetObjectLockConfiguration. A bucket without Object Lock answers
    /// `ObjectLockConfigurationNotFoundError`, reported as `enabled: false`.
    pub async fn get_object_lock_configuration(
        &self,
        bucket: &str,
    ) -> Result<LockConfiguration, S3Error> {
        let r = self
            .call(
                "GetObjectLockConfiguration",
                Method::GET,
                bucket,
                "",
                &[("object-lock", "")],
                vec![],
                Vec::new(),
            )
            .await;
        let body = match r {
            Ok(resp) => resp.body,
            Err(e) if e.code() == Some("ObjectLockConfigurationNotFoundError") => {
                return Ok(LockConfiguration {
                    enabled: false,
                    default_mode: None,
                    default_days: None,
                    default_years: None,
                });
            }
            Err(e) => return Err(e),
        };
        let text = String::from_utf8_lossy(&body);
        Ok(LockConfiguration {
            enabled: xml_text(&text, "ObjectLockEnabled").as_deref() == Some("Enabled"),
            default_mode: xml_text(&text, "Mode").and_then(|m| LockMode::parse(&m)),
            default_days: xml_text(&text, "Days")
                .and_then(|d| d.parse().ok())
                .filter(|&d| d > 0),
            default_years: xml_text(&text, "Years")
                .and_then(|d| d.parse().ok())
                .filter(|&d| d > 0),
        })
    }

    /// GetBucketVersioning: `Enabled`, `Suspended`, or `None` when never enabled.
    pub async fn get_bucket_versioning(&self, bucket: &str) -> Result<Option<String>, S3Error> {
        let resp = self
            .call(
                "GetBucketVersioning",
                Method::GET,
                bucket,
                "",
                &[("versioning", "")],
                vec![],
                Vec::new(),
            )
            .await?;
        Ok(xml_text(&String::from_utf8_lossy(&resp.body), "Status"))
    }

    /// PutObject with a SHA-256 checksum (which Object Lock requires) and, when given, a
    /// per-object retention.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        retention: Option<Retention>,
    ) -> Result<PutResult, S3Error> {
        let mut headers = checksum_headers(&body);
        if let Some(r) = retention {
            headers.push(("x-amz-object-lock-mode", r.mode.as_str().to_owned()));
            headers.push((
                "x-amz-object-lock-retain-until-date",
                r.retain_until.to_rfc3339_opts(SecondsFormat::Millis, true),
            ));
        }
        let resp = self
            .call("PutObject", Method::PUT, bucket, key, &[], headers, body)
            .await?;
        Ok(PutResult {
            version_id: resp.header("x-amz-version-id"),
            etag: resp.header("etag").unwrap_or_default(),
        })
    }

    /// GetObject: the whole body.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, S3Error> {
        Ok(self
            .call(
                "GetObject",
                Method::GET,
                bucket,
                key,
                &[],
                vec![],
                Vec::new(),
            )
            .await?
            .body)
    }

    /// HeadObject; `None` when the object does not exist.
    pub async fn head_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<ObjectHead>, S3Error> {
        let r = self
            .call(
                "HeadObject",
                Method::HEAD,
                bucket,
                key,
                &[],
                vec![("x-amz-checksum-mode", "ENABLED".to_owned())],
                Vec::new(),
            )
            .await;
        let resp = match r {
            Ok(resp) => resp,
            Err(S3Error::Service { status: 404, .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(ObjectHead {
            size: resp
                .header("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            checksum_sha256: resp.header("x-amz-checksum-sha256"),
            version_id: resp.header("x-amz-version-id"),
            lock_mode: resp
                .header("x-amz-object-lock-mode")
                .and_then(|m| LockMode::parse(&m)),
            retain_until: resp
                .header("x-amz-object-lock-retain-until-date")
                .and_then(|d| DateTime::parse_from_rfc3339(&d).ok())
                .map(|d| d.to_utc()),
            legal_hold: resp.header("x-amz-object-lock-legal-hold").as_deref() == Some("ON"),
        }))
    }

    /// DeleteObject, of one version when `version_id` is given (a locked version is refused
    /// with `AccessDenied`), else a delete marker.
    pub async fn delete_object(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> Result<(), S3Error> {
        let query: Vec<(&str, &str)> = version_id.map(|v| ("versionId", v)).into_iter().collect();
        self.call(
            "DeleteObject",
            Method::DELETE,
            bucket,
            key,
            &query,
            vec![],
            Vec::new(),
        )
        .await
        .map(|_| ())
    }

    /// PutObjectLegalHold: on or off for one version (or the current one).
    pub async fn put_object_legal_hold(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        on: bool,
    ) -> Result<(), S3Error> {
        let body = format!(
            "<LegalHold xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>{}</Status></LegalHold>",
            if on { "ON" } else { "OFF" }
        );
        let mut query = vec![("legal-hold", "")];
        if let Some(v) = version_id {
            query.push(("versionId", v));
        }
        self.call(
            "PutObjectLegalHold",
            Method::PUT,
            bucket,
            key,
            &query,
            checksum_headers(body.as_bytes()),
            body.into_bytes(),
        )
        .await
        .map(|_| ())
    }

    /// GetObjectLegalHold: whether a legal hold is on.
    pub async fn get_object_legal_hold(&self, bucket: &str, key: &str) -> Result<bool, S3Error> {
        let resp = self
            .call(
                "GetObjectLegalHold",
                Method::GET,
                bucket,
                key,
                &[("legal-hold", "")],
                vec![],
                Vec::new(),
            )
            .await?;
        Ok(xml_text(&String::from_utf8_lossy(&resp.body), "Status").as_deref() == Some("ON"))
    }

    /// ListObjectsV2 under `prefix`, following continuation tokens.
    pub async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<ObjectSummary>, S3Error> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("list-type", "2"), ("prefix", prefix)];
            if let Some(t) = &token {
                query.push(("continuation-token", t));
            }
            let resp = self
                .call(
                    "ListObjectsV2",
                    Method::GET,
                    bucket,
                    "",
                    &query,
                    vec![],
                    Vec::new(),
                )
                .await?;
            let text = String::from_utf8_lossy(&resp.body).into_owned();
            for item in xml_blocks(&text, "Contents") {
                out.push(ObjectSummary {
                    key: xml_text(item, "Key")
                        .map(|k| xml_unescape(&k))
                        .unwrap_or_default(),
                    size: xml_text(item, "Size")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0),
                });
            }
            match xml_text(&text, "NextContinuationToken") {
                Some(t) if xml_text(&text, "IsTruncated").as_deref() == Some("true") => {
                    token = Some(xml_unescape(&t));
                }
                _ => return Ok(out),
            }
        }
    }

    #[allow(clippy::too_many_arguments)] // one private helper behind every call
    async fn call(
        &self,
        op: &'static str,
        method: Method,
        bucket: &str,
        key: &str,
        query: &[(&str, &str)],
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    ) -> Result<Response, S3Error> {
        let mut path = format!(
            "{}/{}",
            self.endpoint.path().trim_end_matches('/'),
            uri_encode(bucket)
        );
        if !key.is_empty() {
            path.push('/');
            path.push_str(&key.split('/').map(uri_encode).collect::<Vec<_>>().join("/"));
        }
        let mut url = self.endpoint.clone();
        url.set_path(&path);
        let q: Vec<String> = query
            .iter()
            .map(|(k, v)| {
                if v.is_empty() && !matches!(*k, "prefix" | "continuation-token") {
                    uri_encode(k)
                } else {
                    format!("{}={}", uri_encode(k), uri_encode(v))
                }
            })
            .collect();
        url.set_query((!q.is_empty()).then(|| q.join("&")).as_deref());
        let header_refs: Vec<(&str, &str)> =
            headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let signed = sign(
            &self.creds,
            &self.region,
            "s3",
            &Request {
                method: method.as_str(),
                url: &url,
                headers: &header_refs,
                payload: &body,
            },
            Utc::now(),
        );
        let mut req = self.http.request(method.clone(), url);
        for (k, v) in headers.iter() {
            req = req.header(*k, v);
        }
        for (k, v) in signed {
            req = req.header(k, v);
        }
        let transport = |source| S3Error::Transport {
            op,
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            source,
        };
        let resp = req.body(body).send().await.map_err(transport)?;
        let status = resp.status();
        let resp_headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(transport)?.to_vec();
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            return Err(S3Error::Service {
                op,
                bucket: bucket.to_owned(),
                key: key.to_owned(),
                status: status.as_u16(),
                code: xml_text(&text, "Code").unwrap_or_else(|| default_code(status)),
                message: xml_text(&text, "Message").unwrap_or_default(),
            });
        }
        Ok(Response {
            headers: resp_headers,
            body,
        })
    }
}

struct Response {
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

/// The SHA-256 checksum headers S3 verifies on upload (and Object Lock requires).
fn checksum_headers(body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        ("x-amz-sdk-checksum-algorithm", "SHA256".to_owned()),
        ("x-amz-checksum-sha256", sha256_base64(body)),
    ]
}

/// Base64 SHA-256, the form of `x-amz-checksum-sha256`.
pub fn sha256_base64(bytes: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(bytes))
}

/// HEAD responses have no body: name the status instead.
fn default_code(status: StatusCode) -> String {
    match status {
        StatusCode::NOT_FOUND => "NotFound".into(),
        StatusCode::FORBIDDEN => "Forbidden".into(),
        s => s.as_u16().to_string(),
    }
}

/// Text of the first `<tag>…</tag>` (S3's XML has no attributes on the elements we read).
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    xml_blocks(xml, tag).next().map(str::to_owned)
}

/// Contents of every `<tag>…</tag>`, in order.
fn xml_blocks<'a>(xml: &'a str, tag: &str) -> impl Iterator<Item = &'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut rest = xml;
    std::iter::from_fn(move || {
        let start = rest.find(&open)? + open.len();
        let end = rest[start..].find(&close)? + start;
        let out = &rest[start..end];
        rest = &rest[end + close.len()..];
        Some(out)
    })
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_s3_error_and_list_xml() {
        let err = "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
        assert_eq!(xml_text(err, "Code").as_deref(), Some("AccessDenied"));
        let list = "<ListBucketResult><Contents><Key>a&amp;b</Key><Size>3</Size></Contents><Contents><Key>c</Key><Size>10</Size></Contents><IsTruncated>false</IsTruncated></ListBucketResult>";
        let keys: Vec<_> = xml_blocks(list, "Contents")
            .map(|c| {
                (
                    xml_unescape(&xml_text(c, "Key").unwrap()),
                    xml_text(c, "Size").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                ("a&b".to_owned(), "3".to_owned()),
                ("c".to_owned(), "10".to_owned())
            ]
        );
    }

    #[test]
    fn checksum_is_base64_sha256() {
        assert_eq!(
            sha256_base64(b"abc"),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
    }
}
