//! `/api/v1/admin/settings`: the runtime site settings (admins). The SMTP password is
//! write-only: it is never sent back, and leaving it out keeps the stored one.

use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::me::acting;
use super::{ApiTags, Data};
use crate::domain::permission::Permission;
use crate::domain::secret::Secret;
use crate::domain::settings::{
    MailSettings, MediaSettings, RegistrationMode, SiteSettings, SmtpSecurity,
};
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::state_of;
use crate::service::audit::Actor;
use crate::service::settings::SettingsError;

pub struct SettingsApi;

#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct SettingsView {
    #[oai(validator(max_length = 60))]
    pub site_name: String,
    /// open, approval, invite_only or closed.
    #[oai(validator(max_length = 16))]
    pub registration: String,
    pub approval_queue_limit: u32,
    pub api_requests_per_second: u32,
    pub sign_in_attempts_per_15_minutes: u32,
    pub sign_ups_per_hour: u32,
    pub password_resets_per_hour: u32,
    pub require_staff_second_factor: bool,
    #[oai(validator(max_length = 253))]
    pub smtp_host: String,
    pub smtp_port: u16,
    /// starttls, tls or none.
    #[oai(validator(max_length = 16))]
    pub smtp_security: String,
    #[oai(validator(max_length = 320))]
    pub smtp_username: String,
    /// Write-only: never returned; absent keeps the stored password.
    #[oai(skip_serializing_if_is_none, validator(max_length = 1024))]
    pub smtp_password: Option<String>,
    #[oai(validator(max_length = 320))]
    pub mail_from: String,
    /// Upload limits and moderation; absent in a replacement keeps the current ones.
    #[oai(skip_serializing_if_is_none)]
    pub media: Option<MediaSettingsView>,
}

/// Upload limits, and whether new uploads wait for approval.
#[derive(Object)]
#[oai(rename_all = "camelCase")]
pub struct MediaSettingsView {
    /// Largest photo, MiB (1-200).
    pub max_photo_mib: u32,
    /// Largest video, MiB (1-4096).
    pub max_video_mib: u32,
    /// Longest video, seconds (1-3600).
    pub max_video_seconds: u32,
    /// Storage per member, MiB.
    pub quota_mib: u32,
    /// Storage per supporter, MiB.
    pub supporter_quota_mib: u32,
    /// Uploads per member per hour.
    pub uploads_per_hour: u32,
    /// New uploads wait in the moderation queue.
    pub needs_approval: bool,
}

impl From<&MediaSettings> for MediaSettingsView {
    fn from(m: &MediaSettings) -> Self {
        Self {
            max_photo_mib: m.max_photo_mib,
            max_video_mib: m.max_video_mib,
            max_video_seconds: m.max_video_seconds,
            quota_mib: m.quota_mib,
            supporter_quota_mib: m.supporter_quota_mib,
            uploads_per_hour: m.uploads_per_hour,
            needs_approval: m.needs_approval,
        }
    }
}

impl From<MediaSettingsView> for MediaSettings {
    fn from(m: MediaSettingsView) -> Self {
        Self {
            max_photo_mib: m.max_photo_mib,
            max_video_mib: m.max_video_mib,
            max_video_seconds: m.max_video_seconds,
            quota_mib: m.quota_mib,
            supporter_quota_mib: m.supporter_quota_mib,
            uploads_per_hour: m.uploads_per_hour,
            needs_approval: m.needs_approval,
        }
    }
}

impl From<&SiteSettings> for SettingsView {
    fn from(s: &SiteSettings) -> Self {
        Self {
            site_name: s.site_name.clone(),
            registration: s.registration.as_str().to_string(),
            approval_queue_limit: s.approval_queue_limit,
            api_requests_per_second: s.api_requests_per_second,
            sign_in_attempts_per_15_minutes: s.sign_in_attempts_per_15_minutes,
            sign_ups_per_hour: s.sign_ups_per_hour,
            password_resets_per_hour: s.password_resets_per_hour,
            require_staff_second_factor: s.require_staff_second_factor,
            smtp_host: s.mail.smtp_host.clone(),
            smtp_port: s.mail.smtp_port,
            smtp_security: s.mail.smtp_security.as_str().to_string(),
            smtp_username: s.mail.smtp_username.clone(),
            smtp_password: None,
            mail_from: s.mail.from.clone(),
            media: Some(MediaSettingsView::from(&s.media)),
        }
    }
}

fn manager(viewer: &Viewer) -> Result<Actor, AppError> {
    let me = viewer.clone().require()?;
    if !me.user.role.may(Permission::ManageSettings) {
        return Err(AppError::forbidden());
    }
    Ok(Actor::from(&me.user))
}

#[OpenApi(prefix_path = "/v1/admin", tag = "ApiTags::System")]
impl SettingsApi {
    /// Get the site settings
    #[oai(path = "/settings", method = "get", operation_id = "getSettings")]
    async fn get(&self, req: &Request, viewer: Viewer) -> poem::Result<Json<Data<SettingsView>>> {
        manager(&viewer)?;
        Ok(Json(Data {
            data: SettingsView::from(&*state_of(req)?.settings.current()),
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
    ) -> poem::Result<Json<Data<SettingsView>>> {
        let actor = manager(&viewer)?;
        acting(req, &viewer)?;
        let state = state_of(req)?;
        let current = state.settings.current();
        let b = body.0;
        let invalid = |field: &'static str, msg: &str| {
            AppError::validation(vec![crate::domain::account::FieldError::new(field, msg)])
        };
        let registration = RegistrationMode::parse(&b.registration)
            .ok_or_else(|| invalid("registration", "Use open, approval, invite_only or closed."))?;
        let smtp_security = SmtpSecurity::parse(&b.smtp_security)
            .ok_or_else(|| invalid("smtp_security", "Use starttls, tls or none."))?;
        if b.require_staff_second_factor
            && !current.require_staff_second_factor
            && !viewer.0.as_ref().is_some_and(|s| s.second_factor)
        {
            return Err(invalid(
                "require_staff_second_factor",
                "Sign in with a second factor yourself first.",
            )
            .into());
        }
        let new = SiteSettings {
            site_name: b.site_name.trim().to_string(),
            registration,
            approval_queue_limit: b.approval_queue_limit,
            api_requests_per_second: b.api_requests_per_second,
            sign_in_attempts_per_15_minutes: b.sign_in_attempts_per_15_minutes,
            sign_ups_per_hour: b.sign_ups_per_hour,
            password_resets_per_hour: b.password_resets_per_hour,
            require_staff_second_factor: b.require_staff_second_factor,
            mail: MailSettings {
                smtp_host: b.smtp_host.trim().to_string(),
                smtp_port: b.smtp_port,
                smtp_security,
                smtp_username: b.smtp_username.trim().to_string(),
                smtp_password: b
                    .smtp_password
                    .map(Secret::new)
                    .unwrap_or_else(|| current.mail.smtp_password.clone()),
                from: b.mail_from.trim().to_string(),
            },
            media: b
                .media
                .map(MediaSettings::from)
                .unwrap_or_else(|| current.media.clone()),
        };
        match state.settings.update(&actor, new).await {
            Ok(()) => Ok(Json(Data {
                data: SettingsView::from(&*state.settings.current()),
            })),
            Err(SettingsError::Invalid(fields)) => Err(AppError::validation(fields).into()),
            Err(SettingsError::Forbidden) => Err(AppError::forbidden().into()),
            Err(SettingsError::Store(e)) => Err(AppError::from(e).into()),
        }
    }
}
