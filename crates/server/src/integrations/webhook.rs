//! A generic webhook: the change as JSON, signed so the receiver can check it came from
//! Evident and is fresh.
//!
//! Headers: `X-Evident-Delivery` (the message's idempotency key: the same on every retry,
//! so receivers drop repeats), `X-Evident-Event`, `X-Evident-Timestamp` (Unix seconds of
//! this attempt) and `X-Evident-Signature: sha256=<hex>`, the HMAC-SHA256 with the shared
//! secret of `<timestamp>.<body>` — the timestamp, a dot, and the exact body bytes. A
//! receiver recomputes it, compares in constant time, and rejects a timestamp more than a
//! few minutes from its clock (a replay).

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;

use super::{Delivered, Outgoing, SendError, request, secret};

/// `[[integrations]] kind = "webhook"`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: String,
    /// The shared signing secret; prefer `secret_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Environment variable holding the signing secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
}

impl WebhookConfig {
    pub(crate) fn validate(&self) -> Result<(), (&'static str, String)> {
        super::one_secret(&self.secret, &self.secret_env, "secret")
    }
}

/// `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with secret>`.
pub fn signature(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Sends one message to the webhook.
pub(crate) async fn send(c: &WebhookConfig, out: &Outgoing<'_>) -> Result<Delivered, SendError> {
    let key = secret(&c.secret, &c.secret_env, "secret")?;
    let p = out.payload;
    let body = serde_json::to_vec(&json!({
        "delivery": out.message.idempotency_key,
        "integration": out.integration,
        "event": p.event,
        "case_url": out.case_url,
        "ledger_index": p.ledger_index,
        "record": p.record,
        "case": p.case,
    }))
    .map_err(|e| SendError::Payload(e.to_string()))?;
    let timestamp = evident_ledger::now_ns() / 1_000_000_000;
    let req = out
        .client
        .post(&c.url)
        .header("Content-Type", "application/json")
        .header("X-Evident-Delivery", &out.message.idempotency_key)
        .header("X-Evident-Event", &p.event)
        .header("X-Evident-Timestamp", timestamp.to_string())
        .header(
            "X-Evident-Signature",
            signature(key.as_bytes(), timestamp, &body),
        )
        .body(body);
    request(req, "POST", &c.url).await?;
    Ok(Delivered::Sent(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Computed independently: Python's hmac.new(b"secret", b'1700000000.{"a":1}', sha256).
        assert_eq!(
            signature(b"secret", 1_700_000_000, br#"{"a":1}"#),
            "sha256=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
        assert_ne!(
            signature(b"secret", 1_700_000_001, br#"{"a":1}"#),
            signature(b"secret", 1_700_000_000, br#"{"a":1}"#)
        );
    }
}
