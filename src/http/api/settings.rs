//! `/api/v1/admin/settings`: the runtime site settings (admins). `PUT` replaces them, `PATCH`
//! changes the fields it is sent. The SMTP password is write-only: it is never sent back, and
//! leaving it out keeps the stored one. Every bound the server checks is in the schema.

use super::reply::Reply;
use super::text::Text;
use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{Enum, Object, OpenApi};

use super::me::acting;
use super::{ApiTags, Data};
use crate::domain::secret::Secret;
use crate::domain::settings::{
    Audience, MessageScope, RegistrationMode, SettingsPatch, SiteSettings, SmtpSecurity,
};
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::state_of;

pub struct SettingsApi;

/// Who may sign up.
#[derive(Enum, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    Open,
    Approval,
    InviteOnly,
    Closed,
}

impl From<Registration> for RegistrationMode {
    fn from(r: Registration) -> Self {
        match r {
            Registration::Open => RegistrationMode::Open,
            Registration::Approval => RegistrationMode::Approval,
            Registration::InviteOnly => RegistrationMode::InviteOnly,
            Registration::Closed => RegistrationMode::Closed,
        }
    }
}

impl From<RegistrationMode> for Registration {
    fn from(r: RegistrationMode) -> Self {
        match r {
            RegistrationMode::Open => Registration::Open,
            RegistrationMode::Approval => Registration::Approval,
            RegistrationMode::InviteOnly => Registration::InviteOnly,
            RegistrationMode::Closed => Registration::Closed,
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Enum, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// STARTTLS (usually port 587).
    Starttls,
    /// TLS from the first byte (usually port 465).
    Tls,
    /// None: only for a relay on the same machine.
    None,
}

impl From<Security> for SmtpSecurity {
    fn from(s: Security) -> Self {
        match s {
            Security::Starttls => SmtpSecurity::StartTls,
            Security::Tls => SmtpSecurity::Tls,
            Security::None => SmtpSecurity::None,
        }
    }
}

impl From<SmtpSecurity> for Security {
    fn from(s: SmtpSecurity) -> Self {
        match s {
            SmtpSecurity::StartTls => Security::Starttls,
            SmtpSecurity::Tls => Security::Tls,
            SmtpSecurity::None => Security::None,
        }
    }
}

/// The site settings. The bounds are those `SiteSettings::problems` checks.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    #[oai(validator(min_length = 1, max_length = 60, pattern = r"\S"))]
    pub site_name: Text,
    pub registration: Registration,
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub approval_queue_limit: u32,
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub api_requests_per_second: u32,
    #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
    pub sign_in_attempts_per_15_minutes: u32,
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub sign_ups_per_hour: u32,
    #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
    pub password_resets_per_hour: u32,
    /// Can be switched on only by someone signed in with a second factor.
    pub require_staff_second_factor: bool,
    pub mail: MailView,
    pub media: MediaSettingsView,
    pub profiles: ProfileSettingsView,
    pub messages: MessageSettingsView,
}

/// Who may write to whom, and how many conversations a member may start in a day.
#[derive(Object, Clone, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct MessageSettingsView {
    /// `matches`: members write only to their matches; `members`: to any member they may see.
    /// Blocks always win.
    pub scope: MessageScopeView,
    /// Conversations a member may start in any 24 hours.
    #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
    pub new_conversations_per_day: u32,
    /// The same for a member whose email address is not verified (at most the above).
    #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
    pub unverified_new_conversations_per_day: u32,
}

/// Whom members may write to.
#[derive(Enum, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum MessageScopeView {
    Matches,
    Members,
}

impl From<MessageScope> for MessageScopeView {
    fn from(s: MessageScope) -> Self {
        match s {
            MessageScope::Matches => Self::Matches,
            MessageScope::Members => Self::Members,
        }
    }
}

impl From<MessageScopeView> for MessageScope {
    fn from(s: MessageScopeView) -> Self {
        match s {
            MessageScopeView::Matches => Self::Matches,
            MessageScopeView::Members => Self::Members,
        }
    }
}

/// A change to the message settings.
#[derive(Object, Default, serde::Serialize)]
#[oai(rename_all = "camelCase", nullable_all)]
#[serde(rename_all = "camelCase")]
pub struct MessageSettingsChange {
    pub scope: Option<MessageScopeView>,
    #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
    pub new_conversations_per_day: Option<u32>,
    #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
    pub unverified_new_conversations_per_day: Option<u32>,
}

/// Outgoing mail. With an empty host, mail is off.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct MailView {
    /// A host name such as smtp.example.org (no scheme or port), or empty for no mail.
    #[oai(validator(max_length = 253, pattern = r"^[^\s/:]*$"))]
    pub smtp_host: Text,
    #[oai(validator(minimum(value = "1"), maximum(value = "65535")))]
    pub smtp_port: u16,
    pub smtp_security: Security,
    #[oai(validator(max_length = 320))]
    pub smtp_username: Text,
    /// Write-only: never returned; absent keeps the stored password.
    #[oai(nullable, skip_serializing_if_is_none, validator(max_length = 1024))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_password: Option<Text>,
    /// The sender, e.g. `Club <hearth@example.org>` (needed when a host is set).
    #[oai(validator(max_length = 320))]
    pub from: Text,
}

/// Upload limits, and whether new uploads wait for approval.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct MediaSettingsView {
    /// Largest photo, MiB.
    #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
    pub max_photo_mib: u32,
    /// Largest video, MiB.
    #[oai(validator(minimum(value = "1"), maximum(value = "4096")))]
    pub max_video_mib: u32,
    /// Longest video, seconds.
    #[oai(validator(minimum(value = "1"), maximum(value = "3600")))]
    pub max_video_seconds: u32,
    /// Storage per member, MiB.
    #[oai(validator(minimum(value = "1"), maximum(value = "1000000")))]
    pub quota_mib: u32,
    /// Storage per supporter, MiB.
    #[oai(validator(minimum(value = "1"), maximum(value = "1000000")))]
    pub supporter_quota_mib: u32,
    /// Uploads per member per hour.
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub uploads_per_hour: u32,
    /// New uploads wait in the moderation queue.
    pub needs_approval: bool,
}

/// What members may say about themselves. Lists are lower-cased, and blank or repeated
/// entries dropped, when saved.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ProfileSettingsView {
    /// Members younger than this cannot have a profile.
    #[oai(validator(minimum(value = "13"), maximum(value = "99")))]
    pub minimum_age: u32,
    /// The genders members choose from (at least two).
    #[oai(validator(min_items = 2, max_items = 100, max_length = 40))]
    pub genders: Vec<Text>,
    /// What members can be here for (at least one).
    #[oai(validator(min_items = 1, max_items = 100, max_length = 40))]
    pub intents: Vec<Text>,
    /// Suggested interests; members may add their own.
    #[oai(validator(max_items = 100, max_length = 40))]
    pub interests: Vec<Text>,
    /// Members without an approved photo are left out of others' discovery decks.
    pub deck_requires_photo: bool,
    /// Members whose address is not verified are left out of others' discovery decks.
    pub deck_requires_verified: bool,
    /// Likes per member in any 24 hours.
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub likes_per_day: u32,
    /// Likes per supporter in any 24 hours.
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub supporter_likes_per_day: u32,
    /// Who may see the members who liked them.
    pub who_liked_me: AudienceView,
    /// Who may see the members who viewed their profile.
    pub who_viewed_me: AudienceView,
}

/// Which members a feature is open to.
#[derive(Enum, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AudienceView {
    Off,
    Everyone,
    Supporters,
}

impl From<Audience> for AudienceView {
    fn from(a: Audience) -> Self {
        match a {
            Audience::Off => Self::Off,
            Audience::Everyone => Self::Everyone,
            Audience::Supporters => Self::Supporters,
        }
    }
}

impl From<AudienceView> for Audience {
    fn from(a: AudienceView) -> Self {
        match a {
            AudienceView::Off => Self::Off,
            AudienceView::Everyone => Self::Everyone,
            AudienceView::Supporters => Self::Supporters,
        }
    }
}

fn texts(list: &[String]) -> Vec<Text> {
    list.iter().map(|s| s.as_str().into()).collect()
}

fn strings(list: Vec<Text>) -> Vec<String> {
    list.into_iter().map(String::from).collect()
}

impl From<&SiteSettings> for SettingsView {
    fn from(s: &SiteSettings) -> Self {
        Self {
            site_name: s.site_name.as_str().into(),
            registration: s.registration.into(),
            approval_queue_limit: s.approval_queue_limit,
            api_requests_per_second: s.api_requests_per_second,
            sign_in_attempts_per_15_minutes: s.sign_in_attempts_per_15_minutes,
            sign_ups_per_hour: s.sign_ups_per_hour,
            password_resets_per_hour: s.password_resets_per_hour,
            require_staff_second_factor: s.require_staff_second_factor,
            mail: MailView {
                smtp_host: s.mail.smtp_host.as_str().into(),
                smtp_port: s.mail.smtp_port,
                smtp_security: s.mail.smtp_security.into(),
                smtp_username: s.mail.smtp_username.as_str().into(),
                smtp_password: None,
                from: s.mail.from.as_str().into(),
            },
            media: MediaSettingsView {
                max_photo_mib: s.media.max_photo_mib,
                max_video_mib: s.media.max_video_mib,
                max_video_seconds: s.media.max_video_seconds,
                quota_mib: s.media.quota_mib,
                supporter_quota_mib: s.media.supporter_quota_mib,
                uploads_per_hour: s.media.uploads_per_hour,
                needs_approval: s.media.needs_approval,
            },
            profiles: ProfileSettingsView {
                minimum_age: s.profiles.minimum_age,
                genders: texts(&s.profiles.genders),
                intents: texts(&s.profiles.intents),
                interests: texts(&s.profiles.interests),
                deck_requires_photo: s.profiles.deck_requires_photo,
                deck_requires_verified: s.profiles.deck_requires_verified,
                likes_per_day: s.profiles.likes_per_day,
                supporter_likes_per_day: s.profiles.supporter_likes_per_day,
                who_liked_me: s.profiles.who_liked_me.into(),
                who_viewed_me: s.profiles.who_viewed_me.into(),
            },
            messages: MessageSettingsView {
                scope: s.messages.scope.into(),
                new_conversations_per_day: s.messages.new_conversations_per_day,
                unverified_new_conversations_per_day: s
                    .messages
                    .unverified_new_conversations_per_day,
            },
        }
    }
}

/// A change to some settings, shaped like the settings themselves: only the fields sent
/// change.
#[derive(Object, Default, serde::Serialize)]
#[oai(rename_all = "camelCase", nullable_all)]
#[serde(rename_all = "camelCase")]
pub struct SettingsChange {
    #[oai(validator(min_length = 1, max_length = 60, pattern = r"\S"))]
    pub site_name: Option<Text>,
    pub registration: Option<Registration>,
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub approval_queue_limit: Option<u32>,
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub api_requests_per_second: Option<u32>,
    #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
    pub sign_in_attempts_per_15_minutes: Option<u32>,
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub sign_ups_per_hour: Option<u32>,
    #[oai(validator(minimum(value = "1"), maximum(value = "1000")))]
    pub password_resets_per_hour: Option<u32>,
    pub require_staff_second_factor: Option<bool>,
    pub mail: Option<MailChange>,
    pub media: Option<MediaChange>,
    pub profiles: Option<ProfileSettingsChange>,
    pub messages: Option<MessageSettingsChange>,
}

/// A change to the profile options.
#[derive(Object, Default, serde::Serialize)]
#[oai(rename_all = "camelCase", nullable_all)]
#[serde(rename_all = "camelCase")]
pub struct ProfileSettingsChange {
    #[oai(validator(minimum(value = "13"), maximum(value = "99")))]
    pub minimum_age: Option<u32>,
    #[oai(validator(min_items = 2, max_items = 100, max_length = 40))]
    pub genders: Option<Vec<Text>>,
    #[oai(validator(min_items = 1, max_items = 100, max_length = 40))]
    pub intents: Option<Vec<Text>>,
    #[oai(validator(max_items = 100, max_length = 40))]
    pub interests: Option<Vec<Text>>,
    pub deck_requires_photo: Option<bool>,
    pub deck_requires_verified: Option<bool>,
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub likes_per_day: Option<u32>,
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub supporter_likes_per_day: Option<u32>,
    pub who_liked_me: Option<AudienceView>,
    pub who_viewed_me: Option<AudienceView>,
}

/// A change to the mail settings.
#[derive(Object, Default, serde::Serialize)]
#[oai(rename_all = "camelCase", nullable_all)]
#[serde(rename_all = "camelCase")]
pub struct MailChange {
    #[oai(validator(max_length = 253, pattern = r"^[^\s/:]*$"))]
    pub smtp_host: Option<Text>,
    #[oai(validator(minimum(value = "1"), maximum(value = "65535")))]
    pub smtp_port: Option<u16>,
    pub smtp_security: Option<Security>,
    #[oai(validator(max_length = 320))]
    pub smtp_username: Option<Text>,
    #[oai(validator(max_length = 1024))]
    pub smtp_password: Option<Text>,
    #[oai(validator(max_length = 320))]
    pub from: Option<Text>,
}

/// A change to the upload limits.
#[derive(Object, Default, serde::Serialize)]
#[oai(rename_all = "camelCase", nullable_all)]
#[serde(rename_all = "camelCase")]
pub struct MediaChange {
    #[oai(validator(minimum(value = "1"), maximum(value = "200")))]
    pub max_photo_mib: Option<u32>,
    #[oai(validator(minimum(value = "1"), maximum(value = "4096")))]
    pub max_video_mib: Option<u32>,
    #[oai(validator(minimum(value = "1"), maximum(value = "3600")))]
    pub max_video_seconds: Option<u32>,
    #[oai(validator(minimum(value = "1"), maximum(value = "1000000")))]
    pub quota_mib: Option<u32>,
    #[oai(validator(minimum(value = "1"), maximum(value = "1000000")))]
    pub supporter_quota_mib: Option<u32>,
    #[oai(validator(minimum(value = "1"), maximum(value = "10000")))]
    pub uploads_per_hour: Option<u32>,
    pub needs_approval: Option<bool>,
}

/// A replacement is a change of every field (an absent password keeps the stored one).
impl From<SettingsView> for SettingsChange {
    fn from(v: SettingsView) -> Self {
        let m = v.media;
        Self {
            site_name: Some(v.site_name),
            registration: Some(v.registration),
            approval_queue_limit: Some(v.approval_queue_limit),
            api_requests_per_second: Some(v.api_requests_per_second),
            sign_in_attempts_per_15_minutes: Some(v.sign_in_attempts_per_15_minutes),
            sign_ups_per_hour: Some(v.sign_ups_per_hour),
            password_resets_per_hour: Some(v.password_resets_per_hour),
            require_staff_second_factor: Some(v.require_staff_second_factor),
            mail: Some(MailChange {
                smtp_host: Some(v.mail.smtp_host),
                smtp_port: Some(v.mail.smtp_port),
                smtp_security: Some(v.mail.smtp_security),
                smtp_username: Some(v.mail.smtp_username),
                smtp_password: v.mail.smtp_password,
                from: Some(v.mail.from),
            }),
            media: Some(MediaChange {
                max_photo_mib: Some(m.max_photo_mib),
                max_video_mib: Some(m.max_video_mib),
                max_video_seconds: Some(m.max_video_seconds),
                quota_mib: Some(m.quota_mib),
                supporter_quota_mib: Some(m.supporter_quota_mib),
                uploads_per_hour: Some(m.uploads_per_hour),
                needs_approval: Some(m.needs_approval),
            }),
            profiles: Some(ProfileSettingsChange {
                minimum_age: Some(v.profiles.minimum_age),
                genders: Some(v.profiles.genders),
                intents: Some(v.profiles.intents),
                interests: Some(v.profiles.interests),
                deck_requires_photo: Some(v.profiles.deck_requires_photo),
                deck_requires_verified: Some(v.profiles.deck_requires_verified),
                likes_per_day: Some(v.profiles.likes_per_day),
                supporter_likes_per_day: Some(v.profiles.supporter_likes_per_day),
                who_liked_me: Some(v.profiles.who_liked_me),
                who_viewed_me: Some(v.profiles.who_viewed_me),
            }),
            messages: Some(MessageSettingsChange {
                scope: Some(v.messages.scope),
                new_conversations_per_day: Some(v.messages.new_conversations_per_day),
                unverified_new_conversations_per_day: Some(
                    v.messages.unverified_new_conversations_per_day,
                ),
            }),
        }
    }
}

impl From<SettingsChange> for SettingsPatch {
    fn from(c: SettingsChange) -> Self {
        let mail = c.mail.unwrap_or_default();
        let media = c.media.unwrap_or_default();
        let profiles = c.profiles.unwrap_or_default();
        let messages = c.messages.unwrap_or_default();
        Self {
            site_name: c.site_name.map(String::from),
            registration: c.registration.map(Into::into),
            approval_queue_limit: c.approval_queue_limit,
            api_requests_per_second: c.api_requests_per_second,
            sign_in_attempts_per_15_minutes: c.sign_in_attempts_per_15_minutes,
            sign_ups_per_hour: c.sign_ups_per_hour,
            password_resets_per_hour: c.password_resets_per_hour,
            require_staff_second_factor: c.require_staff_second_factor,
            smtp_host: mail.smtp_host.map(String::from),
            smtp_port: mail.smtp_port,
            smtp_security: mail.smtp_security.map(Into::into),
            smtp_username: mail.smtp_username.map(String::from),
            smtp_password: mail.smtp_password.map(|p| Secret::new(p.into())),
            mail_from: mail.from.map(String::from),
            max_photo_mib: media.max_photo_mib,
            max_video_mib: media.max_video_mib,
            max_video_seconds: media.max_video_seconds,
            quota_mib: media.quota_mib,
            supporter_quota_mib: media.supporter_quota_mib,
            uploads_per_hour: media.uploads_per_hour,
            needs_approval: media.needs_approval,
            minimum_age: profiles.minimum_age,
            genders: profiles.genders.map(strings),
            intents: profiles.intents.map(strings),
            interests: profiles.interests.map(strings),
            deck_requires_photo: profiles.deck_requires_photo,
            deck_requires_verified: profiles.deck_requires_verified,
            likes_per_day: profiles.likes_per_day,
            supporter_likes_per_day: profiles.supporter_likes_per_day,
            who_liked_me: profiles.who_liked_me.map(Into::into),
            who_viewed_me: profiles.who_viewed_me.map(Into::into),
            message_scope: messages.scope.map(Into::into),
            new_conversations_per_day: messages.new_conversations_per_day,
            unverified_new_conversations_per_day: messages.unverified_new_conversations_per_day,
            // Record settings have their own resource: /api/v1/admin/records/settings.
            records: None,
        }
    }
}

#[OpenApi(prefix_path = "/v1/admin", tag = "ApiTags::System")]
impl SettingsApi {
    /// Get the site settings
    #[oai(path = "/settings", method = "get", operation_id = "getSettings")]
    async fn get(
        &self,
        req: &Request,
        viewer: Viewer,
    ) -> Result<Reply<Data<SettingsView>>, AppError> {
        let actor = viewer.require()?.actor();
        let settings = state_of(req)?.settings.read(&actor)?;
        Ok(Reply(Data {
            data: SettingsView::from(&*settings),
        }))
    }

    /// Replace the site settings
    ///
    /// Takes effect at once; the change is written to the audit log (the SMTP password only
    /// as "changed").
    #[oai(path = "/settings", method = "put", operation_id = "putSettings")]
    async fn put(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<SettingsView>,
    ) -> Result<Reply<Data<SettingsView>>, AppError> {
        let actor = acting(req, &viewer)?.actor();
        let saved = state_of(req)?
            .settings
            .update(&actor, SettingsChange::from(body.0).into())
            .await?;
        Ok(Reply(Data {
            data: SettingsView::from(&*saved),
        }))
    }

    /// Change some site settings
    ///
    /// Only the fields sent change; the rest keep their stored values, even when others are
    /// changed at the same time.
    #[oai(path = "/settings", method = "patch", operation_id = "patchSettings")]
    async fn patch(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<SettingsChange>,
    ) -> Result<Reply<Data<SettingsView>>, AppError> {
        let actor = acting(req, &viewer)?.actor();
        let saved = state_of(req)?
            .settings
            .update(&actor, body.0.into())
            .await?;
        Ok(Reply(Data {
            data: SettingsView::from(&*saved),
        }))
    }
}
