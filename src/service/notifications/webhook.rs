//! A member's webhook: what is posted, in the shape the member chose (Hearth's JSON, an
//! ntfy topic, or a Telegram-style bot API), signed with HMAC-SHA256 over the body with the
//! member's secret (`X-Hearth-Signature: sha256=<hex>`), so the receiver can tell it is us.

use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;

use crate::domain::hex;
use crate::domain::notification::{Notification, WebhookPreset, WebhookTarget};
use crate::outbound::OutgoingRequest;

/// What one call tells.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Payload {
    pub id: String,
    pub event: String,
    pub title: String,
    pub body: String,
    pub url: String,
    pub priority: String,
    pub site: String,
    pub sent_at: String,
}

impl Payload {
    pub fn of(n: &Notification, link: &str, site: &str, now: Timestamp) -> Self {
        Self {
            id: n.id.to_string(),
            event: n.event.clone(),
            title: n.title.clone(),
            body: n.body.clone(),
            url: link.to_string(),
            priority: n.priority.as_str().to_string(),
            site: site.to_string(),
            sent_at: now.to_string(),
        }
    }

    /// An example, for the "send a test" button.
    pub fn test(site: &str, url: &str, now: Timestamp) -> Self {
        Self {
            id: "test".into(),
            event: "test".into(),
            title: "Test notification".into(),
            body: format!("Your webhook works: this came from {site}."),
            url: url.to_string(),
            priority: "normal".into(),
            site: site.to_string(),
            sent_at: now.to_string(),
        }
    }
}

/// The HMAC-SHA256 of `body` under `secret`, hex.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    hex::encode(&mac.finalize().into_bytes())
}

pub fn request(target: &WebhookTarget, p: &Payload) -> OutgoingRequest {
    let (body, mut headers): (Vec<u8>, Vec<(String, String)>) = match target.preset {
        WebhookPreset::Json => (
            serde_json::to_vec(p).unwrap_or_default(),
            vec![("Content-Type".into(), "application/json".into())],
        ),
        WebhookPreset::Ntfy => (
            if p.body.is_empty() {
                p.title.clone().into_bytes()
            } else {
                p.body.clone().into_bytes()
            },
            vec![
                ("Content-Type".into(), "text/plain; charset=utf-8".into()),
                // Header values must be ASCII: ntfy decodes RFC 2047 words.
                ("Title".into(), rfc2047(&p.title)),
                ("Click".into(), p.url.clone()),
                (
                    "Priority".into(),
                    match p.priority.as_str() {
                        "critical" => "5",
                        "high" => "4",
                        "low" => "2",
                        _ => "3",
                    }
                    .into(),
                ),
            ],
        ),
        WebhookPreset::Telegram => (
            serde_json::to_vec(&json!({
                "chat_id": target.chat_id,
                "text": if p.body.is_empty() { format!("{}\n{}", p.title, p.url) } else { format!("{}\n{}\n{}", p.title, p.body, p.url) },
                "disable_web_page_preview": true,
            }))
            .unwrap_or_default(),
            vec![("Content-Type".into(), "application/json".into())],
        ),
    };
    headers.push((
        "X-Hearth-Signature".into(),
        format!("sha256={}", signature(&target.secret, &body)),
    ));
    headers.push(("X-Hearth-Event".into(), p.event.clone()));
    OutgoingRequest {
        url: target.url.clone(),
        headers,
        body,
    }
}

/// `=?UTF-8?B?…?=` when the text is not plain ASCII.
fn rfc2047(text: &str) -> String {
    if text.is_ascii() && !text.contains(['\r', '\n']) {
        return text.to_string();
    }
    use base64::Engine;
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> Payload {
        Payload::test(
            "Hearth",
            "https://h.example/notifications",
            Timestamp::UNIX_EPOCH,
        )
    }

    #[test]
    fn json_calls_are_signed_over_their_body() {
        let target = WebhookTarget {
            url: "https://hooks.example/x".into(),
            secret: "s3cret".into(),
            preset: WebhookPreset::Json,
            chat_id: String::new(),
        };
        let r = request(&target, &payload());
        let sig = r
            .headers
            .iter()
            .find(|(n, _)| n == "X-Hearth-Signature")
            .unwrap();
        assert_eq!(sig.1, format!("sha256={}", signature("s3cret", &r.body)));
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["event"], "test");
    }

    #[test]
    fn ntfy_and_telegram_presets_have_their_shapes() {
        let mut target = WebhookTarget {
            url: "https://ntfy.sh/topic".into(),
            secret: "k".into(),
            preset: WebhookPreset::Ntfy,
            chat_id: String::new(),
        };
        let mut p = payload();
        p.title = "Neue Nachricht von Zoë".into();
        let r = request(&target, &p);
        assert!(r.body.starts_with(b"Your webhook works"));
        let title = &r.headers.iter().find(|(n, _)| n == "Title").unwrap().1;
        assert!(title.is_ascii() && title.starts_with("=?UTF-8?B?"));
        target.preset = WebhookPreset::Telegram;
        target.chat_id = "-100123".into();
        let body: serde_json::Value = serde_json::from_slice(&request(&target, &p).body).unwrap();
        assert_eq!(body["chat_id"], "-100123");
        assert!(body["text"].as_str().unwrap().starts_with("Neue Nachricht"));
    }
}
