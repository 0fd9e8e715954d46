//! Web Push: the server's VAPID key (RFC 8292), made at first start, and push messages
//! encrypted to a browser's keys (RFC 8291, `aes128gcm`) for its push service.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use web_push_native::jwt_simple::algorithms::ES256KeyPair;
use web_push_native::{Auth, WebPushBuilder, p256};

use crate::domain::notification::{Notification, PushSubscription};
use crate::outbound::OutgoingRequest;

/// How long a push service keeps a message for an offline device.
const TTL: Duration = Duration::from_secs(24 * 3600);

/// What the service worker shows (`web/sw.js`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Payload {
    pub title: String,
    pub body: String,
    /// The page to open on a tap.
    pub url: String,
    /// Notifications with one tag replace each other on the device.
    pub tag: String,
}

impl Payload {
    pub fn of(n: &Notification, link: &str, site_name: &str) -> Self {
        Self {
            title: n.title.clone(),
            body: if n.body.is_empty() {
                site_name.to_string()
            } else {
                n.body.clone()
            },
            url: link.to_string(),
            tag: n.subject.clone().unwrap_or_else(|| n.id.to_string()),
        }
    }
}

pub struct PushKeys {
    key_pair: ES256KeyPair,
}

impl PushKeys {
    /// A new private key, as stored.
    pub fn generate_secret() -> Vec<u8> {
        ES256KeyPair::generate().to_bytes()
    }

    pub fn from_secret(secret: &[u8]) -> Result<Self, String> {
        Ok(Self {
            key_pair: ES256KeyPair::from_bytes(secret).map_err(|e| e.to_string())?,
        })
    }

    /// The public key browsers subscribe with (`applicationServerKey`), base64url.
    pub fn public_key(&self) -> String {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let compressed = self.key_pair.public_key().to_bytes();
        let point = p256::PublicKey::from_sec1_bytes(&compressed)
            .map(|k| k.to_encoded_point(false).as_bytes().to_vec())
            .unwrap_or_default();
        URL_SAFE_NO_PAD.encode(point)
    }

    /// The encrypted, VAPID-signed request that delivers `payload` to one device.
    pub fn request(
        &self,
        device: &PushSubscription,
        contact: &str,
        payload: &Payload,
    ) -> Result<OutgoingRequest, String> {
        let endpoint = device
            .endpoint
            .parse()
            .map_err(|e| format!("bad push endpoint: {e}"))?;
        let public = p256::PublicKey::from_sec1_bytes(&device.p256dh)
            .map_err(|_| "the device's p256dh key is not a P-256 point".to_string())?;
        if device.auth.len() != 16 {
            return Err("the device's auth secret is not 16 bytes".into());
        }
        let auth = Auth::clone_from_slice(&device.auth);
        let body = serde_json::to_vec(payload).map_err(|e| e.to_string())?;
        let request = WebPushBuilder::new(endpoint, public, auth)
            .with_valid_duration(TTL)
            .with_vapid(&self.key_pair, contact)
            .build(body)
            .map_err(|e| format!("cannot encrypt the push message: {e}"))?;
        let headers = request
            .headers()
            .iter()
            .filter(|(name, _)| *name != "content-length")
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
            .chain([("Urgency".to_string(), "normal".to_string())])
            .collect();
        Ok(OutgoingRequest {
            url: device.endpoint.clone(),
            headers,
            body: request.into_body(),
        })
    }
}

/// A device's keys: its P-256 point and its auth secret.
pub struct DeviceKeys {
    pub p256dh: Vec<u8>,
    pub auth: Vec<u8>,
}

/// A browser's subscription keys from base64url (what `PushSubscription.toJSON()` gives):
/// the P-256 point and the 16-byte auth secret, or what is wrong with them.
pub fn parse_keys(p256dh: &str, auth: &str) -> Result<DeviceKeys, (&'static str, String)> {
    let decode = |s: &str| {
        URL_SAFE_NO_PAD
            .decode(s.trim().trim_end_matches('='))
            .map_err(|_| "is not base64url".to_string())
    };
    let point = decode(p256dh).map_err(|why| ("keys.p256dh", why))?;
    if p256::PublicKey::from_sec1_bytes(&point).is_err() || point.len() != 65 {
        return Err((
            "keys.p256dh",
            "is not an uncompressed P-256 public key".into(),
        ));
    }
    let secret = decode(auth).map_err(|why| ("keys.auth", why))?;
    if secret.len() != 16 {
        return Err(("keys.auth", "must be 16 bytes".into()));
    }
    Ok(DeviceKeys {
        p256dh: point,
        auth: secret,
    })
}
