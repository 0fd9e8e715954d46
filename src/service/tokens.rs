//! Random secret tokens (256 bits, URL-safe) and the hash under which they are stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use jiff::Timestamp;

use crate::domain::api_token::{ApiToken, TokenScope};
use crate::domain::ids::UserId;
use crate::domain::secret::Secret;
use crate::store::instance::TokenHash;

/// A fresh 256-bit token, base64url without padding (43 characters).
pub fn new_token() -> Secret<String> {
    let bytes: [u8; 32] = rand::random();
    Secret::new(URL_SAFE_NO_PAD.encode(bytes))
}

/// What the database keeps instead of the token: a leak of the database gives no sessions.
pub fn hash_token(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// The public handle of a session or API token (for listing and revoking): the start of its
/// hash, which gives nothing away.
pub fn handle(hash: &TokenHash) -> String {
    crate::domain::hex::encode(&hash[..8])
}

/// A new API token: the secret, shown once, the hash it is stored under, and the record.
pub fn new_api_token(
    user: UserId,
    name: &str,
    scope: TokenScope,
    expires_at: Option<Timestamp>,
    staff_powers: bool,
    now: Timestamp,
) -> (Secret<String>, TokenHash, ApiToken) {
    let secret = Secret::new(format!("hearth_{}", new_token().expose()));
    let hash = hash_token(secret.expose());
    let token = ApiToken {
        id: handle(&hash),
        user,
        name: name.to_string(),
        scope,
        created_at: now,
        expires_at,
        staff_powers,
    };
    (secret, hash, token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hash_stably() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a.expose(), b.expose());
        assert_eq!(hash_token(a.expose()), hash_token(a.expose()));
        assert_ne!(hash_token(a.expose()), hash_token(b.expose()));
    }
}
