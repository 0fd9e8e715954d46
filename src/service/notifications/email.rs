//! Notification email: one mail per notification, or a digest; and the one-click
//! unsubscribe links every such mail carries (RFC 8058), signed so that only the link in
//! the member's own mail turns their email off.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::domain::account::User;
use crate::domain::ids::UserId;
use crate::domain::notification::Notification;
use crate::mail::templates::Notice;

/// The unsubscribe "event" of a digest: all notification email.
pub const ALL: &str = "*";

pub fn notification_mail(user: &User, n: &Notification, link: &str, unsubscribe: &str) -> Notice {
    let mut paragraphs = Vec::new();
    if !n.body.is_empty() {
        paragraphs.push(n.body.clone());
    }
    paragraphs.push("You get this email because of your notification settings. To stop emails like it, use the link at the end (it works in one click) or change your settings.".to_string());
    Notice {
        to: user.email.clone(),
        name: user.username.clone(),
        subject: n.title.clone(),
        paragraphs,
        action: Some(("Open".into(), link.to_string())),
        unsubscribe: Some(unsubscribe.to_string()),
    }
}

pub fn digest_mail(user: &User, items: &[Notification], base: &str, unsubscribe: &str) -> Notice {
    let mut paragraphs = vec![format!(
        "Here is what happened since your last summary ({} notification{}):",
        items.len(),
        if items.len() == 1 { "" } else { "s" }
    )];
    paragraphs.extend(items.iter().map(|n| {
        if n.body.is_empty() {
            format!("• {}", n.title)
        } else {
            format!("• {}: {}", n.title, n.body)
        }
    }));
    Notice {
        to: user.email.clone(),
        name: user.username.clone(),
        subject: format!(
            "{} new notification{}",
            items.len(),
            if items.len() == 1 { "" } else { "s" }
        ),
        paragraphs,
        action: Some(("See them all".into(), format!("{base}/notifications"))),
        unsubscribe: Some(unsubscribe.to_string()),
    }
}

/// Signs and checks unsubscribe tokens: the member and the event, with an HMAC-SHA256 tag.
pub struct UnsubscribeKey(Vec<u8>);

impl UnsubscribeKey {
    pub fn new(key: Vec<u8>) -> Self {
        Self(key)
    }

    fn tag(&self, message: &[u8]) -> Vec<u8> {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(message);
        mac.finalize().into_bytes()[..16].to_vec()
    }

    pub fn token(&self, member: UserId, event: &str) -> String {
        let mut message = member.as_u128().to_be_bytes().to_vec();
        message.extend_from_slice(event.as_bytes());
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&message),
            URL_SAFE_NO_PAD.encode(self.tag(&message))
        )
    }

    pub fn link(&self, base: &str, member: UserId, event: &str) -> String {
        format!("{base}/unsubscribe/{}", self.token(member, event))
    }

    /// The member and event a token names, if this instance signed it.
    pub fn check(&self, token: &str) -> Option<(UserId, String)> {
        let (message, tag) = token.split_once('.')?;
        let message = URL_SAFE_NO_PAD.decode(message).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if message.len() < 16 || message.len() > 16 + 64 {
            return None;
        }
        use subtle::ConstantTimeEq;
        if !bool::from(self.tag(&message).ct_eq(&tag)) {
            return None;
        }
        let (id, event) = message.split_at(16);
        let id = u128::from_be_bytes(id.try_into().ok()?);
        Some((
            UserId::from_u128(id),
            String::from_utf8(event.to_vec()).ok()?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_forgeries_fail() {
        let key = UnsubscribeKey::new(vec![7; 32]);
        let member = UserId::from_u128(42);
        let token = key.token(member, "message:new");
        assert_eq!(key.check(&token), Some((member, "message:new".into())));
        // Another member's id under the same tag, another key, garbage: refused.
        let other = UnsubscribeKey::new(vec![8; 32]);
        assert_eq!(other.check(&token), None);
        let (_, tag) = token.split_once('.').unwrap();
        let mut forged = UserId::from_u128(43).as_u128().to_be_bytes().to_vec();
        forged.extend_from_slice(b"message:new");
        assert_eq!(
            key.check(&format!("{}.{tag}", URL_SAFE_NO_PAD.encode(forged))),
            None
        );
        assert_eq!(key.check("nonsense"), None);
        assert_eq!(key.check("."), None);
    }
}
