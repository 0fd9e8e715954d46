//! Second factors: a TOTP authenticator (RFC 6238) and single-use recovery codes.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// How many recovery codes a member gets when enabling TOTP.
pub const RECOVERY_CODES: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondFactor {
    /// The shared TOTP secret (20 random bytes).
    pub totp_secret: Vec<u8>,
    /// `None` while enrolment waits for the first code.
    pub enabled_at: Option<Timestamp>,
    /// The last accepted time step: a code is accepted once (RFC 6238 §5.2).
    pub last_step: u64,
    /// SHA-256 of each unused recovery code.
    pub recovery_codes: Vec<[u8; 32]>,
}

impl SecondFactor {
    pub fn is_enabled(&self) -> bool {
        self.enabled_at.is_some()
    }
}

/// Recovery codes are typed by people: accept any case, spaces and dashes.
pub fn normalize_recovery_code(raw: &str) -> String {
    raw.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_forgiving_about_formatting() {
        assert_eq!(normalize_recovery_code(" AbCd-2345 efgh "), "abcd2345efgh");
    }
}
