//! AWS Signature Version 4 for every request Evident makes to AWS-compatible services (S3
//! objects, Object Lock and legal hold calls, SQS JSON-protocol calls). Sixty lines over `sha2`
//! instead of the smithy signing crates (aws-sdk-s3 costs 3+ minutes of build): the whole
//! algorithm is checked against AWS's published `get-vanilla` test vector below.

use sha2::{Digest, Sha256};

/// An access key; `session_token` for temporary (STS) credentials.
#[derive(Clone)]
pub struct Credentials {
    /// `AKIA…` (or `ASIA…` for temporary credentials).
    pub access_key_id: String,
    /// The secret; never printed (`Debug` shows only the key id).
    pub secret_access_key: String,
    /// STS session token, sent as `x-amz-security-token`.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The parts of a request that are signed.
pub struct Request<'a> {
    /// `GET`, `PUT`, `POST`, `HEAD` or `DELETE`.
    pub method: &'a str,
    /// Its path must already be URI-encoded the way AWS expects (S3: each segment once).
    pub url: &'a reqwest::Url,
    /// Headers to sign besides `host` and `x-amz-*` (sent unchanged).
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub payload: &'a [u8],
}

/// The headers that sign `req` for `service` in `region` at `now`: add them to the request.
pub fn sign(
    creds: &Credentials,
    region: &str,
    service: &str,
    req: &Request<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<(String, String)> {
    let Request {
        method,
        url,
        headers: signed,
        payload,
    } = *req;
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let date = &amz_date[..8];
    let payload_hash = hex(&Sha256::digest(payload));
    let host = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let mut out: Vec<(String, String)> = vec![("x-amz-date".into(), amz_date.clone())];
    if service == "s3" {
        out.push(("x-amz-content-sha256".into(), payload_hash.clone()));
    }
    if let Some(t) = &creds.session_token {
        out.push(("x-amz-security-token".into(), t.clone()));
    }
    let mut headers: Vec<(String, String)> = out
        .iter()
        .cloned()
        .chain(
            signed
                .iter()
                .map(|(k, v)| (k.to_lowercase(), v.trim().to_owned())),
        )
        .chain([("host".to_owned(), host)])
        .collect();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let mut query: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (uri_encode(&k), uri_encode(&v)))
        .collect();
    query.sort();
    let canonical_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let canonical = format!(
        "{method}\n{}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}",
        url.path()
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac(
        format!("AWS4{}", creds.secret_access_key).as_bytes(),
        date.as_bytes(),
    );
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex(&hmac(&key, to_sign.as_bytes()));
    out.push((
        "authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            creds.access_key_id
        ),
    ));
    out
}

/// AWS's URI encoding: everything but `A-Z a-z 0-9 - _ . ~` as `%XX`.
pub fn uri_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hmac(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_aws_get_vanilla_test_vector() {
        let creds = Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let url = reqwest::Url::parse("https://example.amazonaws.com/").unwrap();
        let now = chrono::DateTime::parse_from_rfc3339("2015-08-30T12:36:00Z")
            .unwrap()
            .to_utc();
        let req = Request {
            method: "GET",
            url: &url,
            headers: &[],
            payload: b"",
        };
        let headers = sign(&creds, "us-east-1", "service", &req, now);
        assert_eq!(
            headers,
            [
                ("x-amz-date".to_owned(), "20150830T123600Z".to_owned()),
                (
                    "authorization".to_owned(),
                    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31".to_owned()
                )
            ]
        );
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            hex(&hmac(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn uri_encoding_keeps_only_unreserved_bytes() {
        assert_eq!(
            uri_encode("AWSLogs/1/a b+c~é.json.gz"),
            "AWSLogs%2F1%2Fa%20b%2Bc~%C3%A9.json.gz"
        );
    }
}
