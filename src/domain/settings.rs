//! Site settings that admins change while Hearth runs (as opposed to boot configuration).
//! Stored in the database; every field has a default, so settings written by an older version
//! read back with the new fields at their defaults.

use serde::{Deserialize, Serialize};

use super::account::FieldError;
use super::secret::Secret;

/// Who may create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationMode {
    /// Anyone may sign up.
    Open,
    /// Anyone may sign up; staff approve each new account before it can sign in.
    Approval,
    /// Only people with an invitation may sign up.
    #[default]
    InviteOnly,
    /// Nobody may sign up.
    Closed,
}

impl RegistrationMode {
    pub const ALL: [RegistrationMode; 4] =
        [Self::Open, Self::Approval, Self::InviteOnly, Self::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Approval => "approval",
            Self::InviteOnly => "invite_only",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// What the admin panel says about each mode.
    pub fn help(self) -> &'static str {
        match self {
            Self::Open => "Anyone who finds the site can create an account.",
            Self::Approval => {
                "Anyone can sign up, but staff approve each account before it can be used."
            }
            Self::InviteOnly => "Only people with an invitation link can sign up.",
            Self::Closed => "Nobody can sign up; existing members can still sign in.",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SiteSettings {
    pub site_name: String,
    pub registration: RegistrationMode,
    /// In approval mode, new sign-ups pause while this many accounts wait.
    pub approval_queue_limit: u32,
    /// API requests per second per client (token bucket).
    pub api_requests_per_second: u32,
    /// Sign-in attempts per 15 minutes, per account and per client address.
    pub sign_in_attempts_per_15_minutes: u32,
    /// Sign-ups per hour per client address.
    pub sign_ups_per_hour: u32,
    /// Password-reset requests per hour, per account and per client address.
    pub password_resets_per_hour: u32,
    /// Staff may use the admin panel only with two-factor authentication on.
    pub require_staff_second_factor: bool,
    pub mail: MailSettings,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (usually port 587). Refuses servers without it.
    #[default]
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// No encryption: only for a relay on the same machine or a trusted network.
    None,
}

impl SmtpSecurity {
    pub const ALL: [SmtpSecurity; 3] = [Self::StartTls, Self::Tls, Self::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::StartTls => "starttls",
            Self::Tls => "tls",
            Self::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Outgoing mail through an SMTP server. With no host, mail is off: nothing is sent, and staff
/// verify members by hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MailSettings {
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_security: SmtpSecurity,
    pub smtp_username: String,
    pub smtp_password: Secret<String>,
    /// The sender, e.g. `Riverside Club <hearth@example.org>`.
    pub from: String,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_security: SmtpSecurity::StartTls,
            smtp_username: String::new(),
            smtp_password: Secret::new(String::new()),
            from: String::new(),
        }
    }
}

impl MailSettings {
    pub fn is_configured(&self) -> bool {
        !self.smtp_host.trim().is_empty()
    }

    pub fn problems(&self) -> Vec<FieldError> {
        let mut problems = Vec::new();
        if !self.is_configured() {
            return problems;
        }
        let host = self.smtp_host.trim();
        if host.len() > 253 || host.contains(|c: char| c.is_whitespace() || c == '/' || c == ':') {
            problems.push(FieldError::new(
                "smtp_host",
                "Enter a host name like smtp.example.org (no scheme or port).",
            ));
        }
        if self.smtp_port == 0 {
            problems.push(FieldError::new("smtp_port", "Use a port from 1 to 65535."));
        }
        if !self.from.contains('@') || self.from.len() > 320 {
            problems.push(FieldError::new(
                "from",
                "Enter a sender like Club <hearth@example.org>.",
            ));
        }
        problems
    }
}

impl Default for SiteSettings {
    fn default() -> Self {
        Self {
            site_name: "Hearth".into(),
            registration: RegistrationMode::default(),
            approval_queue_limit: 50,
            api_requests_per_second: 20,
            sign_in_attempts_per_15_minutes: 5,
            sign_ups_per_hour: 10,
            password_resets_per_hour: 5,
            require_staff_second_factor: false,
            mail: MailSettings::default(),
        }
    }
}

impl SiteSettings {
    /// Every problem with these settings, phrased for the admin panel.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut problems = Vec::new();
        let name = self.site_name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            problems.push(FieldError::new("site_name", "Use 1 to 60 characters."));
        }
        let ranges: [(&'static str, u32, u32, u32); 5] = [
            ("approval_queue_limit", self.approval_queue_limit, 1, 10_000),
            (
                "api_requests_per_second",
                self.api_requests_per_second,
                1,
                10_000,
            ),
            (
                "sign_in_attempts_per_15_minutes",
                self.sign_in_attempts_per_15_minutes,
                1,
                1_000,
            ),
            ("sign_ups_per_hour", self.sign_ups_per_hour, 1, 10_000),
            (
                "password_resets_per_hour",
                self.password_resets_per_hour,
                1,
                1_000,
            ),
        ];
        for (field, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                problems.push(FieldError::new(
                    field,
                    format!("Use a number from {min} to {max}."),
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bounds_are_enforced() {
        assert!(SiteSettings::default().problems().is_empty());
        let bad = SiteSettings {
            site_name: " ".into(),
            api_requests_per_second: 0,
            ..SiteSettings::default()
        };
        let fields: Vec<_> = bad.problems().iter().map(|p| p.field).collect();
        assert_eq!(fields, ["site_name", "api_requests_per_second"]);
    }

    #[test]
    fn missing_fields_read_back_as_defaults() {
        let old: SiteSettings =
            serde_json::from_str(r#"{"site_name":"Club","registration":"open"}"#).unwrap();
        assert_eq!(old.site_name, "Club");
        assert_eq!(old.registration, RegistrationMode::Open);
        assert_eq!(old.sign_in_attempts_per_15_minutes, 5);
    }

    #[test]
    fn modes_round_trip_through_their_names() {
        for m in RegistrationMode::ALL {
            assert_eq!(RegistrationMode::parse(m.as_str()), Some(m));
        }
    }
}
