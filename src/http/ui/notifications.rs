//! The notification centre: the member's notifications, newest first, each linking to what
//! it is about; "Mark all read". The notification settings (channels per event, quiet
//! hours, digest, webhook, push devices) and the unsubscribe page. Plain forms; the "push on
//! this device" button is the one thing that needs JavaScript.

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Form, Path, Redirect};
use poem::{IntoResponse, Request, Response, handler};

use super::{PageContext, flash, render, render_status, signed_in, state_of};
use crate::domain::account::FieldError;
use crate::domain::notification::{
    Channel, EVENTS, Notification, Preferences, PushSubscription, QuietHours,
};
use crate::http::auth::{CsrfForm, Viewer, verify_csrf};
use crate::http::error::AppError;
use crate::http::routing::Routes;
use crate::service::error::ServiceError;
use crate::service::notifications::preferences::{Change, WebhookInput};

pub fn routes() -> Routes {
    Routes::new()
        .get("/notifications", centre)
        .post("/notifications/read", mark_all_read)
        .get("/notifications/settings", settings_page)
        .post("/notifications/settings", save_settings)
        .post("/notifications/settings/webhook-test", test_webhook)
        .post("/notifications/devices/:id/remove", remove_device)
        .get("/unsubscribe/:token", unsubscribe_page)
        .post("/unsubscribe/:token", unsubscribe)
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsPage {
    page: PageContext,
    notifications: Vec<Notification>,
}

impl NotificationsPage {
    /// Where a notification leads.
    fn link(&self, n: &Notification) -> String {
        n.path()
    }

    fn when(&self, n: &Notification) -> String {
        n.created_at.strftime("%Y-%m-%d %H:%M").to_string()
    }
}

#[handler]
pub async fn centre(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/notifications")?;
    let state = state_of(req)?;
    let notifications = state.notifications.list(&me.actor(), None, 100)?;
    Ok(render(&NotificationsPage {
        page: PageContext::new(req, state, &viewer),
        notifications,
    })?
    .into_response())
}

#[handler]
pub async fn mark_all_read(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/notifications")?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    state.notifications.mark_read(&me.actor(), None).await?;
    flash::set(req, "All read.");
    Ok(Redirect::see_other("/notifications").into_response())
}

/// One row of the settings grid: an event and its three channels.
struct GridRow {
    event: &'static str,
    label: &'static str,
    email: bool,
    push: bool,
    webhook: bool,
}

#[derive(Template)]
#[template(path = "notification_settings.html")]
struct SettingsPage {
    page: PageContext,
    rows: Vec<GridRow>,
    quiet: bool,
    quiet_start: String,
    quiet_end: String,
    digest: String,
    webhook_url: String,
    webhook_secret: String,
    webhook_preset: String,
    webhook_chat_id: String,
    devices: Vec<PushSubscription>,
    errors: Vec<FieldError>,
}

impl SettingsPage {
    fn from_preferences(
        page: PageContext,
        p: &Preferences,
        devices: Vec<PushSubscription>,
    ) -> Self {
        let quiet = p.quiet_hours.unwrap_or(QuietHours::DEFAULT);
        let webhook = p.webhook_target.as_ref();
        Self {
            page,
            rows: EVENTS
                .iter()
                .map(|k| GridRow {
                    event: k.event,
                    label: k.label,
                    email: p.wants(k.event, Channel::Email),
                    push: p.wants(k.event, Channel::Push),
                    webhook: p.wants(k.event, Channel::Webhook),
                })
                .collect(),
            quiet: p.quiet_hours.is_some(),
            quiet_start: quiet.start_text(),
            quiet_end: quiet.end_text(),
            digest: p.digest.as_str().into(),
            webhook_url: webhook.map(|w| w.url.clone()).unwrap_or_default(),
            webhook_secret: webhook.map(|w| w.secret.clone()).unwrap_or_default(),
            webhook_preset: webhook.map_or("json", |w| w.preset.as_str()).into(),
            webhook_chat_id: webhook.map(|w| w.chat_id.clone()).unwrap_or_default(),
            devices,
            errors: Vec::new(),
        }
    }

    fn is(&self, value: &str, wanted: &str) -> bool {
        value == wanted
    }
}

/// The settings form as posted: checkbox names are `<channel>:<event>`.
struct SettingsForm {
    on: Vec<String>,
    fields: std::collections::HashMap<String, String>,
}

impl SettingsForm {
    fn read(pairs: Vec<(String, String)>) -> Self {
        let mut on = Vec::new();
        let mut fields = std::collections::HashMap::new();
        for (name, value) in pairs {
            if name.contains(':') {
                on.push(name);
            } else {
                fields.insert(name, value);
            }
        }
        Self { on, fields }
    }

    fn field(&self, name: &str) -> String {
        self.fields.get(name).cloned().unwrap_or_default()
    }

    fn change(&self) -> Change {
        let mut channels = Vec::new();
        for kind in EVENTS {
            for channel in Channel::ALL {
                let name = format!("{}:{}", channel.as_str(), kind.event);
                channels.push((
                    kind.event.to_string(),
                    channel.as_str().to_string(),
                    self.on.contains(&name),
                ));
            }
        }
        let webhook_url = self.field("webhook_url");
        Change {
            channels,
            quiet_hours: Some(
                (self.field("quiet") == "on")
                    .then(|| (self.field("quiet_start"), self.field("quiet_end"))),
            ),
            digest: Some(self.field("digest")),
            webhook: Some((!webhook_url.trim().is_empty()).then(|| WebhookInput {
                url: webhook_url,
                secret: self.field("webhook_secret"),
                preset: self.field("webhook_preset"),
                chat_id: self.field("webhook_chat_id"),
            })),
        }
    }

    /// The page showing what was posted, with its problems.
    fn page_with_errors(
        &self,
        page: PageContext,
        devices: Vec<PushSubscription>,
        errors: Vec<FieldError>,
    ) -> SettingsPage {
        let mut shown = SettingsPage::from_preferences(page, &Preferences::default(), devices);
        for row in &mut shown.rows {
            let on = |c: Channel| self.on.contains(&format!("{}:{}", c.as_str(), row.event));
            (row.email, row.push, row.webhook) =
                (on(Channel::Email), on(Channel::Push), on(Channel::Webhook));
        }
        shown.quiet = self.field("quiet") == "on";
        shown.quiet_start = self.field("quiet_start");
        shown.quiet_end = self.field("quiet_end");
        shown.digest = self.field("digest");
        shown.webhook_url = self.field("webhook_url");
        shown.webhook_secret = self.field("webhook_secret");
        shown.webhook_preset = self.field("webhook_preset");
        shown.webhook_chat_id = self.field("webhook_chat_id");
        shown.errors = errors;
        shown
    }
}

#[handler]
pub async fn settings_page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/notifications/settings")?;
    let state = state_of(req)?;
    let prefs = state.notification_settings.get(&me.actor())?;
    let devices = state.notification_settings.devices(&me.actor())?;
    Ok(render(&SettingsPage::from_preferences(
        PageContext::new(req, state, &viewer),
        &prefs,
        devices,
    ))?
    .into_response())
}

#[handler]
pub async fn save_settings(
    req: &Request,
    viewer: Viewer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/notifications/settings")?;
    let state = state_of(req)?;
    let form = SettingsForm::read(pairs);
    verify_csrf(req, state, &viewer, Some(&form.field("csrf")))?;
    match state
        .notification_settings
        .update(&me.actor(), form.change())
        .await
    {
        Ok(_) => {
            flash::set(req, "Notification settings saved.");
            Ok(Redirect::see_other("/notifications/settings").into_response())
        }
        Err(ServiceError::Invalid(errors)) => {
            let devices = state.notification_settings.devices(&me.actor())?;
            let page =
                form.page_with_errors(PageContext::new(req, state, &viewer), devices, errors);
            render_status(&page, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(e) => Err(e.into()),
    }
}

#[handler]
pub async fn test_webhook(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/notifications/settings")?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let message = match state.notification_settings.test_webhook(&me.actor()).await {
        Ok(status) => format!("The webhook answered {status}: it works."),
        Err(ServiceError::Conflict(refusal)) => refusal.message,
        Err(e) => return Err(e.into()),
    };
    flash::set(req, &message);
    Ok(Redirect::see_other("/notifications/settings").into_response())
}

#[handler]
pub async fn remove_device(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/notifications/settings")?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let id = id.parse().map_err(|_| AppError::not_found())?;
    state
        .notification_settings
        .remove_device(&me.actor(), id)
        .await?;
    flash::set(req, "That device gets no more push notifications.");
    Ok(Redirect::see_other("/notifications/settings").into_response())
}

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribePage {
    page: PageContext,
    what: String,
    done: bool,
}

/// The page an unsubscribe link opens: one button (a mail client's own one-click
/// unsubscribe posts straight to it instead, RFC 8058).
#[handler]
pub async fn unsubscribe_page(
    req: &Request,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    let (_, what) = state.notification_settings.unsubscribe_target(&token)?;
    Ok(render(&UnsubscribePage {
        page: PageContext::new(req, state, &viewer),
        what,
        done: false,
    })?
    .into_response())
}

/// The one-click unsubscribe. No session or CSRF token: the signed link is the proof, and
/// mail providers post it from their servers (`List-Unsubscribe=One-Click`).
#[handler]
pub async fn unsubscribe(
    req: &Request,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let state = state_of(req)?;
    let what = state.notification_settings.unsubscribe(&token).await?;
    Ok(render(&UnsubscribePage {
        page: PageContext::new(req, state, &viewer),
        what,
        done: true,
    })?
    .into_response())
}
