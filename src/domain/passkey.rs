//! Passkeys (WebAuthn credentials) a member registered: for passwordless sign-in and as the
//! second step after a password.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::account::FieldError;
use super::ids::{PasskeyId, UserId};

/// A member may register this many passkeys (phones, laptops, security keys).
pub const MAX_PASSKEYS: usize = 10;
/// Longest name a member may give a passkey, in characters.
pub const NAME_MAX: usize = 64;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PasskeyRecord {
    pub id: PasskeyId,
    pub user: UserId,
    /// The member's label for it ("Work laptop").
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    /// The authenticator's credential id, unique across the site.
    pub credential_id: Vec<u8>,
    /// The public key and signature counter as the WebAuthn library serialises them. Kept as
    /// JSON text so the record does not depend on that library's types.
    pub credential_json: String,
}

/// Trims a passkey's name; an empty name becomes `fallback`.
pub fn check_name(raw: &str, fallback: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.chars().any(char::is_control) {
        return Err(FieldError::new(
            "name",
            "The name cannot contain control characters.",
        ));
    }
    if name.chars().count() > NAME_MAX {
        return Err(FieldError::new(
            "name",
            format!("Use at most {NAME_MAX} characters for the name."),
        ));
    }
    Ok(if name.is_empty() { fallback } else { name }.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_defaulted() {
        assert_eq!(check_name("  Phone ", "Passkey").unwrap(), "Phone");
        assert_eq!(check_name("   ", "Passkey").unwrap(), "Passkey");
        assert!(check_name(&"x".repeat(NAME_MAX + 1), "Passkey").is_err());
        assert!(check_name("a\u{0}b", "Passkey").is_err());
    }
}
