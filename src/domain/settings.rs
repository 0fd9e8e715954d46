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
    pub media: MediaSettings,
    pub profiles: ProfileSettings,
    pub messages: MessageSettings,
    pub records: RecordSettings,
}

/// How records are numbered, moved along, kept in the trash and reminded of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecordSettings {
    /// Number formats per direction: text with `{year}` and one `{seq}` or `{seq:N}`.
    pub incoming_format: String,
    pub outgoing_format: String,
    pub internal_format: String,
    /// The statuses and the moves between them, each open from a role up.
    pub workflow: super::workflow::Workflow,
    /// Days a record stays in the trash before it is purged.
    pub trash_days: u32,
    /// Days before its due day that a record's owner and assignees are reminded (0: only
    /// when it is overdue).
    pub reminder_days: u32,
    /// The largest file a record takes, in MiB.
    pub attachment_max_mib: u32,
}

impl Default for RecordSettings {
    fn default() -> Self {
        use super::record::Direction;
        Self {
            incoming_format: Direction::Incoming.default_format().into(),
            outgoing_format: Direction::Outgoing.default_format().into(),
            internal_format: Direction::Internal.default_format().into(),
            workflow: super::workflow::Workflow::default(),
            trash_days: 30,
            reminder_days: 1,
            attachment_max_mib: 10,
        }
    }
}

impl RecordSettings {
    /// The largest file a record takes, in bytes.
    pub fn attachment_max_bytes(&self) -> u64 {
        u64::from(self.attachment_max_mib) * MediaSettings::MIB
    }

    /// The number format of `direction` as set.
    pub fn format(&self, direction: super::record::Direction) -> &str {
        use super::record::Direction;
        match direction {
            Direction::Incoming => &self.incoming_format,
            Direction::Outgoing => &self.outgoing_format,
            Direction::Internal => &self.internal_format,
        }
    }

    pub fn problems(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        for (field, format) in [
            ("records_incoming_format", &self.incoming_format),
            ("records_outgoing_format", &self.outgoing_format),
            ("records_internal_format", &self.internal_format),
        ] {
            if let Err(why) = super::record::NumberFormat::parse(format) {
                out.push(FieldError::new(field, why));
            }
        }
        for (path, why) in self.workflow.problems() {
            out.push(FieldError::new(
                "records_workflow",
                format!("{path}: {why}"),
            ));
        }
        if !(1..=365).contains(&self.trash_days) {
            out.push(FieldError::new(
                "records_trash_days",
                "Use a number from 1 to 365.",
            ));
        }
        if self.reminder_days > 30 {
            out.push(FieldError::new(
                "records_reminder_days",
                "Use a number from 0 to 30.",
            ));
        }
        if !(1..=100).contains(&self.attachment_max_mib) {
            out.push(FieldError::new(
                "records_attachment_max_mib",
                "Use a number of MiB from 1 to 100.",
            ));
        }
        out
    }
}

/// What members may say about themselves: the community's own lists of genders, intents and
/// interests, and its minimum age.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProfileSettings {
    /// Members younger than this cannot have a profile.
    pub minimum_age: u32,
    /// The genders members choose from (and choose who they want to meet from).
    pub genders: Vec<String>,
    /// What members can be here for.
    pub intents: Vec<String>,
    /// Suggested interests; members may add their own.
    pub interests: Vec<String>,
    /// Members without an approved photo are left out of others' discovery decks.
    pub deck_requires_photo: bool,
    /// Members whose address is not verified are left out of others' discovery decks.
    pub deck_requires_verified: bool,
    /// Likes per member in any 24 hours; supporters get `supporter_likes_per_day`.
    pub likes_per_day: u32,
    pub supporter_likes_per_day: u32,
    /// Who may see the members who liked them.
    pub who_liked_me: Audience,
    /// Who may see the members who viewed their profile.
    pub who_viewed_me: Audience,
}

/// Which members a feature is open to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Off,
    #[default]
    Everyone,
    Supporters,
}

impl Audience {
    pub const ALL: [Audience; 3] = [Self::Off, Self::Everyone, Self::Supporters];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Everyone => "everyone",
            Self::Supporters => "supporters",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    pub fn admits(self, supporter: bool) -> bool {
        match self {
            Self::Off => false,
            Self::Everyone => true,
            Self::Supporters => supporter,
        }
    }
}

impl Default for ProfileSettings {
    fn default() -> Self {
        let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Self {
            minimum_age: 18,
            genders: list(&["woman", "man", "non-binary"]),
            intents: list(&["friendship", "dating", "networking"]),
            interests: list(&[
                "art",
                "board games",
                "books",
                "climbing",
                "cooking",
                "cycling",
                "dancing",
                "film",
                "gardening",
                "hiking",
                "languages",
                "music",
                "photography",
                "running",
                "science",
                "technology",
                "theatre",
                "travel",
                "video games",
                "volunteering",
                "yoga",
            ]),
            deck_requires_photo: false,
            deck_requires_verified: false,
            likes_per_day: 100,
            supporter_likes_per_day: 500,
            who_liked_me: Audience::Everyone,
            who_viewed_me: Audience::Everyone,
        }
    }
}

impl ProfileSettings {
    /// Likes a member may give in any 24 hours.
    pub fn likes_per_day_for(&self, supporter: bool) -> u32 {
        if supporter {
            self.supporter_likes_per_day.max(self.likes_per_day)
        } else {
            self.likes_per_day
        }
    }

    /// The most options in each list.
    pub const MAX_OPTIONS: usize = 100;
    /// The longest option.
    pub const MAX_OPTION_CHARS: usize = 40;

    pub fn problems(&self) -> Vec<FieldError> {
        let mut problems = Vec::new();
        if !(13..=99).contains(&self.minimum_age) {
            problems.push(FieldError::new("minimum_age", "Use an age from 13 to 99."));
        }
        for (field, value) in [
            ("likes_per_day", self.likes_per_day),
            ("supporter_likes_per_day", self.supporter_likes_per_day),
        ] {
            if !(1..=10_000).contains(&value) {
                problems.push(FieldError::new(field, "Use a number from 1 to 10000."));
            }
        }
        for (field, list, min) in [
            ("genders", &self.genders, 2),
            ("intents", &self.intents, 1),
            ("interests", &self.interests, 0),
        ] {
            if let Some(message) = option_list_problem(list, min) {
                problems.push(FieldError::new(field, message));
            }
        }
        problems
    }
}

/// Who may write to whom, and how many new people a member may write to in a day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageSettings {
    pub scope: MessageScope,
    /// Conversations a member may start in any 24 hours (against spam) ...
    pub new_conversations_per_day: u32,
    /// ... and one whose email address is not verified.
    pub unverified_new_conversations_per_day: u32,
}

impl Default for MessageSettings {
    fn default() -> Self {
        Self {
            scope: MessageScope::Matches,
            new_conversations_per_day: 20,
            unverified_new_conversations_per_day: 3,
        }
    }
}

impl MessageSettings {
    /// Conversations a member may start in any 24 hours.
    pub fn new_conversations_for(&self, verified: bool) -> u32 {
        if verified {
            self.new_conversations_per_day
        } else {
            self.unverified_new_conversations_per_day
                .min(self.new_conversations_per_day)
        }
    }

    pub fn problems(&self) -> Vec<FieldError> {
        [
            ("new_conversations_per_day", self.new_conversations_per_day),
            (
                "unverified_new_conversations_per_day",
                self.unverified_new_conversations_per_day,
            ),
        ]
        .into_iter()
        .filter(|(_, value)| !(1..=1_000).contains(value))
        .map(|(field, _)| FieldError::new(field, "Use a number from 1 to 1000."))
        .collect()
    }
}

/// Whom a member may write to (blocks always win).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MessageScope {
    /// Only members they are matched with.
    #[default]
    Matches,
    /// Any member they may see.
    Members,
}

impl MessageScope {
    pub const ALL: [MessageScope; 2] = [Self::Matches, Self::Members];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Matches => "matches",
            Self::Members => "members",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Turns what an admin typed (one option per line, or a list) into a clean list: trimmed,
/// lower-case, blank lines and repeats dropped.
pub fn option_list(items: impl IntoIterator<Item = impl AsRef<str>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let item = item
            .as_ref()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let item = item.to_lowercase();
        if !item.is_empty() && !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn option_list_problem(list: &[String], min: usize) -> Option<String> {
    let max = ProfileSettings::MAX_OPTIONS;
    let chars = ProfileSettings::MAX_OPTION_CHARS;
    if list.len() < min || list.len() > max {
        return Some(format!("Give {min} to {max} options, one per line."));
    }
    list.iter()
        .find(|o| {
            o.is_empty()
                || o.chars().count() > chars
                || o.chars()
                    .any(|c| c.is_control() || super::text::is_hidden(c))
        })
        .map(|o| format!("\"{o}\" is not an option: use 1 to {chars} visible characters."))
}

/// Limits on uploads, and whether photos wait for approval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MediaSettings {
    /// Largest photo upload, MiB.
    pub max_photo_mib: u32,
    /// Largest video upload, MiB.
    pub max_video_mib: u32,
    /// Longest video, seconds.
    pub max_video_seconds: u32,
    /// Storage per member, MiB; supporters get `supporter_quota_mib`.
    pub quota_mib: u32,
    pub supporter_quota_mib: u32,
    /// Uploads per member per hour.
    pub uploads_per_hour: u32,
    /// New photos and videos wait in the moderation queue until staff approve them.
    pub needs_approval: bool,
}

impl Default for MediaSettings {
    fn default() -> Self {
        Self {
            max_photo_mib: 20,
            max_video_mib: 100,
            max_video_seconds: 180,
            quota_mib: 1024,
            supporter_quota_mib: 10 * 1024,
            uploads_per_hour: 60,
            needs_approval: false,
        }
    }
}

impl MediaSettings {
    pub const MIB: u64 = 1024 * 1024;

    pub fn problems(&self) -> Vec<FieldError> {
        let ranges: [(&'static str, u32, u32, u32); 6] = [
            ("max_photo_mib", self.max_photo_mib, 1, 200),
            ("max_video_mib", self.max_video_mib, 1, 4096),
            ("max_video_seconds", self.max_video_seconds, 1, 3600),
            ("quota_mib", self.quota_mib, 1, 1_000_000),
            (
                "supporter_quota_mib",
                self.supporter_quota_mib,
                1,
                1_000_000,
            ),
            ("uploads_per_hour", self.uploads_per_hour, 1, 10_000),
        ];
        ranges
            .into_iter()
            .filter(|(_, value, min, max)| !(min..=max).contains(&value))
            .map(|(field, _, min, max)| {
                FieldError::new(field, format!("Use a number from {min} to {max}."))
            })
            .collect()
    }

    /// The storage a member may use, in bytes.
    pub fn quota_bytes(&self, supporter: bool) -> u64 {
        let mib = if supporter {
            self.supporter_quota_mib.max(self.quota_mib)
        } else {
            self.quota_mib
        };
        u64::from(mib) * Self::MIB
    }
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
            media: MediaSettings::default(),
            profiles: ProfileSettings::default(),
            messages: MessageSettings::default(),
            records: RecordSettings::default(),
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
        problems.extend(self.mail.problems());
        problems.extend(self.media.problems());
        problems.extend(self.profiles.problems());
        problems.extend(self.messages.problems());
        problems.extend(self.records.problems());
        problems
    }
}

/// A change to some settings: each `Some` replaces the stored value, `None` keeps it. Forms
/// fill in their own fields, the API as many as it is sent; the change is applied to the
/// stored settings inside the write that saves them, so concurrent changes of different
/// fields all stand.
#[derive(Debug, Clone, Default)]
pub struct SettingsPatch {
    pub site_name: Option<String>,
    pub registration: Option<RegistrationMode>,
    pub approval_queue_limit: Option<u32>,
    pub api_requests_per_second: Option<u32>,
    pub sign_in_attempts_per_15_minutes: Option<u32>,
    pub sign_ups_per_hour: Option<u32>,
    pub password_resets_per_hour: Option<u32>,
    pub require_staff_second_factor: Option<bool>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub smtp_security: Option<SmtpSecurity>,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<Secret<String>>,
    pub mail_from: Option<String>,
    pub max_photo_mib: Option<u32>,
    pub max_video_mib: Option<u32>,
    pub max_video_seconds: Option<u32>,
    pub quota_mib: Option<u32>,
    pub supporter_quota_mib: Option<u32>,
    pub uploads_per_hour: Option<u32>,
    pub needs_approval: Option<bool>,
    pub minimum_age: Option<u32>,
    pub genders: Option<Vec<String>>,
    pub intents: Option<Vec<String>>,
    pub interests: Option<Vec<String>>,
    pub deck_requires_photo: Option<bool>,
    pub deck_requires_verified: Option<bool>,
    pub likes_per_day: Option<u32>,
    pub supporter_likes_per_day: Option<u32>,
    pub who_liked_me: Option<Audience>,
    pub who_viewed_me: Option<Audience>,
    pub message_scope: Option<MessageScope>,
    pub new_conversations_per_day: Option<u32>,
    pub unverified_new_conversations_per_day: Option<u32>,
    pub records: Option<RecordSettings>,
}

impl SettingsPatch {
    pub fn apply(&self, s: &mut SiteSettings) {
        fn set<T: Clone>(slot: &mut T, value: &Option<T>) {
            if let Some(v) = value {
                *slot = v.clone();
            }
        }
        let trimmed = |v: &Option<String>| v.as_ref().map(|t| t.trim().to_string());
        set(&mut s.site_name, &trimmed(&self.site_name));
        set(&mut s.registration, &self.registration);
        set(&mut s.approval_queue_limit, &self.approval_queue_limit);
        set(
            &mut s.api_requests_per_second,
            &self.api_requests_per_second,
        );
        set(
            &mut s.sign_in_attempts_per_15_minutes,
            &self.sign_in_attempts_per_15_minutes,
        );
        set(&mut s.sign_ups_per_hour, &self.sign_ups_per_hour);
        set(
            &mut s.password_resets_per_hour,
            &self.password_resets_per_hour,
        );
        set(
            &mut s.require_staff_second_factor,
            &self.require_staff_second_factor,
        );
        set(&mut s.mail.smtp_host, &trimmed(&self.smtp_host));
        set(&mut s.mail.smtp_port, &self.smtp_port);
        set(&mut s.mail.smtp_security, &self.smtp_security);
        set(&mut s.mail.smtp_username, &trimmed(&self.smtp_username));
        set(&mut s.mail.smtp_password, &self.smtp_password);
        set(&mut s.mail.from, &trimmed(&self.mail_from));
        set(&mut s.media.max_photo_mib, &self.max_photo_mib);
        set(&mut s.media.max_video_mib, &self.max_video_mib);
        set(&mut s.media.max_video_seconds, &self.max_video_seconds);
        set(&mut s.media.quota_mib, &self.quota_mib);
        set(&mut s.media.supporter_quota_mib, &self.supporter_quota_mib);
        set(&mut s.media.uploads_per_hour, &self.uploads_per_hour);
        set(&mut s.media.needs_approval, &self.needs_approval);
        let listed = |v: &Option<Vec<String>>| v.as_ref().map(option_list);
        set(&mut s.profiles.minimum_age, &self.minimum_age);
        set(&mut s.profiles.genders, &listed(&self.genders));
        set(&mut s.profiles.intents, &listed(&self.intents));
        set(&mut s.profiles.interests, &listed(&self.interests));
        set(
            &mut s.profiles.deck_requires_photo,
            &self.deck_requires_photo,
        );
        set(
            &mut s.profiles.deck_requires_verified,
            &self.deck_requires_verified,
        );
        set(&mut s.profiles.likes_per_day, &self.likes_per_day);
        set(
            &mut s.profiles.supporter_likes_per_day,
            &self.supporter_likes_per_day,
        );
        set(&mut s.profiles.who_liked_me, &self.who_liked_me);
        set(&mut s.profiles.who_viewed_me, &self.who_viewed_me);
        set(&mut s.messages.scope, &self.message_scope);
        set(
            &mut s.messages.new_conversations_per_day,
            &self.new_conversations_per_day,
        );
        set(
            &mut s.messages.unverified_new_conversations_per_day,
            &self.unverified_new_conversations_per_day,
        );
        set(&mut s.records, &self.records);
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
    fn a_patch_changes_only_what_it_names() {
        let mut s = SiteSettings::default();
        SettingsPatch {
            site_name: Some("  Club ".into()),
            needs_approval: Some(true),
            ..SettingsPatch::default()
        }
        .apply(&mut s);
        assert_eq!(s.site_name, "Club");
        assert!(s.media.needs_approval);
        assert_eq!(s.api_requests_per_second, 20);
    }

    #[test]
    fn modes_round_trip_through_their_names() {
        for m in RegistrationMode::ALL {
            assert_eq!(RegistrationMode::parse(m.as_str()), Some(m));
        }
    }
}
