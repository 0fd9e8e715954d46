//! Accounts: what a user record holds and the rules its fields obey.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::ids::UserId;
use super::role::Role;

/// A stored account. The password is kept only as an argon2id PHC string.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub created_at: Timestamp,
    pub status: AccountStatus,
    /// The member proved they read mail at `email` (or staff verified them by hand).
    pub email_verified: bool,
    /// Granted by admins; raises quotas in later modules.
    pub supporter: bool,
    /// The member asked to delete their account; it goes at this time unless they sign in.
    pub deletion_due: Option<Timestamp>,
}

/// Whether an account may be used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AccountStatus {
    Active,
    /// Signed up in approval mode; waits for staff.
    PendingApproval,
    /// Staff turned the sign-up down.
    Rejected {
        reason: String,
    },
    Suspended {
        until: Timestamp,
        reason: String,
    },
    Banned {
        reason: String,
    },
}

impl AccountStatus {
    /// From when (Unix ms) the account is in good standing: at once when active, when a
    /// suspension ends, never (`i64::MAX`) when banned, rejected or waiting for approval.
    pub fn good_standing_from_ms(&self) -> i64 {
        match self {
            Self::Active => 0,
            Self::Suspended { until, .. } => until.as_millisecond(),
            _ => i64::MAX,
        }
    }

    /// Whether the account may be used at `now` (a suspension that ended counts as active).
    pub fn in_good_standing(&self, now: Timestamp) -> bool {
        now.as_millisecond() >= self.good_standing_from_ms()
    }
}

impl User {
    /// Why this account may not sign in at `now`, phrased for its owner; `None` if it may.
    pub fn sign_in_refusal(&self, now: Timestamp) -> Option<String> {
        match &self.status {
            AccountStatus::Active => None,
            AccountStatus::PendingApproval => {
                Some("Your account is waiting for a staff member to approve it.".into())
            }
            AccountStatus::Rejected { reason } => {
                Some(format!("Your sign-up was not approved: {reason}"))
            }
            AccountStatus::Suspended { until, .. } if *until <= now => None,
            AccountStatus::Suspended { until, reason } => Some(format!(
                "Your account is suspended until {}: {reason}",
                until.strftime("%Y-%m-%d %H:%M UTC")
            )),
            AccountStatus::Banned { reason } => Some(format!("Your account is banned: {reason}")),
        }
    }
}

pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;
pub const PASSWORD_MIN: usize = 12;
/// Long enough for any passphrase, short enough that hashing cannot be used to burn CPU.
pub const PASSWORD_MAX: usize = 256;
pub const EMAIL_MAX: usize = 254;

/// How a member whose account is gone is named where their part stays (a record's history).
pub const FORMER_MEMBER: &str = "a former member";

/// One problem with one field, phrased for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Usernames are stored lower-case: letters, digits, `_`, `-` and `.`, starting with a letter
/// or digit, so they are safe in URLs and cannot impersonate each other by case.
pub fn normalize_username(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim().to_lowercase();
    let len = name.chars().count();
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&len) {
        return Err(FieldError::new(
            "username",
            format!("Use {USERNAME_MIN} to {USERNAME_MAX} characters."),
        ));
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !first_ok || !rest_ok {
        return Err(FieldError::new(
            "username",
            "Use letters a-z, digits, '_', '-' or '.', starting with a letter or digit.",
        ));
    }
    Ok(name)
}

/// A deliberately plain check (one `@`, a dot in the domain, no spaces): the real proof of an
/// address is the verification mail.
pub fn normalize_email(raw: &str) -> Result<String, FieldError> {
    let email = raw.trim().to_lowercase();
    let bad = || FieldError::new("email", "Enter an email address like name@example.org.");
    if email.len() > EMAIL_MAX || email.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return Err(bad());
    }
    Ok(email)
}

/// Common passwords long enough to pass the length rule (see the file's header).
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Whether `password` is on the list of common passwords (ignoring case).
pub fn is_common_password(password: &str) -> bool {
    static LIST: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    let list = LIST.get_or_init(|| {
        COMMON_PASSWORDS
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .collect()
    });
    list.contains(password.to_lowercase().as_str())
}

/// Rules for a new password: length (counted in characters, not bytes), not a common
/// password, and typed the same twice.
pub fn check_new_password(password: &str, confirmation: &str) -> Result<(), FieldError> {
    let len = password.chars().count();
    if len < PASSWORD_MIN {
        return Err(FieldError::new(
            "password",
            format!("Use at least {PASSWORD_MIN} characters."),
        ));
    }
    if len > PASSWORD_MAX {
        return Err(FieldError::new(
            "password",
            format!("Use at most {PASSWORD_MAX} characters."),
        ));
    }
    if is_common_password(password) {
        return Err(FieldError::new(
            "password",
            "This password is on lists that attackers try first; choose another.",
        ));
    }
    if password != confirmation {
        return Err(FieldError::new(
            "password_confirm",
            "The two passwords differ.",
        ));
    }
    Ok(())
}

/// Checks a new account's fields together, so every problem is reported at once; returns the
/// normalised username and email.
pub fn check_new_account(
    username: &str,
    email: &str,
    password: &str,
    confirmation: &str,
) -> Result<(String, String), Vec<FieldError>> {
    let mut problems = Vec::new();
    let username = normalize_username(username)
        .map_err(|e| problems.push(e))
        .ok();
    let email = normalize_email(email).map_err(|e| problems.push(e)).ok();
    if let Err(e) = check_new_password(password, confirmation) {
        problems.push(e);
    }
    match (username, email) {
        (Some(username), Some(email)) if problems.is_empty() => Ok((username, email)),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercased_and_restricted() {
        assert_eq!(normalize_username("  Alice_B ").as_deref(), Ok("alice_b"));
        assert!(normalize_username("ab").is_err());
        assert!(normalize_username("_alice").is_err());
        assert!(normalize_username("al ice").is_err());
        assert!(normalize_username("älice").is_err());
        assert!(normalize_username(&"a".repeat(33)).is_err());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert_eq!(
            normalize_email(" Bob@Example.ORG ").as_deref(),
            Ok("bob@example.org")
        );
        for bad in [
            "bob",
            "@example.org",
            "bob@localhost",
            "bob@@example.org",
            "b ob@example.org",
            "bob@example.",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_have_length_bounds_and_must_match() {
        assert!(check_new_password("short", "short").is_err());
        assert!(check_new_password(&"x".repeat(257), &"x".repeat(257)).is_err());
        assert_eq!(
            check_new_password("correct horse battery", "correct horse battery!")
                .map_err(|e| e.field),
            Err("password_confirm")
        );
        assert!(check_new_password("correct horse battery", "correct horse battery").is_ok());
        for common in ["qwerty123456", "QWERTY123456", "1qaz2wsx3edc"] {
            assert_eq!(
                check_new_password(common, common).map_err(|e| e.field),
                Err("password"),
                "{common}"
            );
        }
    }
}
