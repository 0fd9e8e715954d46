//! `/api/v1/notifications/preferences` and `/api/v1/push/…`: how a member is told outside
//! Hearth — channels per event, quiet hours, the email digest, their webhook — and the
//! devices they receive Web Push on.

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::types::MaybeUndefined;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::me::{Done, acting};
use super::reply::Reply;
use super::text::Text;
use super::{ApiTags, Data};
use crate::domain::notification::{Channel, EVENTS, Preferences, PushSubscription};
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::state_of;
use crate::service::notifications::preferences::{Change, DeviceInput, WebhookInput};

pub struct NotificationSettingsApi;

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct EventChannels {
    /// `message:new`, `match:new`, …
    pub event: String,
    pub label: String,
    pub email: bool,
    pub push: bool,
    pub webhook: bool,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct QuietHoursView {
    /// `HH:MM`, in the time zone of the member's profile (UTC without one).
    pub start: String,
    pub end: String,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    pub url: String,
    /// Calls carry `X-Hearth-Signature: sha256=<hex HMAC-SHA256 of the body>` under it.
    pub secret: String,
    /// `json`, `ntfy` or `telegram`.
    pub preset: String,
    pub chat_id: String,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct PreferencesView {
    /// Every event that notifies, with its channels. The in-app centre always has them all.
    pub events: Vec<EventChannels>,
    /// Email, push and webhooks wait until they end (security notifications do not).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHoursView>,
    /// `instant`, `daily` or `weekly`.
    pub digest: String,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookView>,
}

impl From<&Preferences> for PreferencesView {
    fn from(p: &Preferences) -> Self {
        Self {
            events: EVENTS
                .iter()
                .map(|k| EventChannels {
                    event: k.event.into(),
                    label: k.label.into(),
                    email: p.wants(k.event, Channel::Email),
                    push: p.wants(k.event, Channel::Push),
                    webhook: p.wants(k.event, Channel::Webhook),
                })
                .collect(),
            quiet_hours: p.quiet_hours.map(|q| QuietHoursView {
                start: q.start_text(),
                end: q.end_text(),
            }),
            digest: p.digest.as_str().into(),
            webhook: p.webhook_target.as_ref().map(|w| WebhookView {
                url: w.url.clone(),
                secret: w.secret.clone(),
                preset: w.preset.as_str().into(),
                chat_id: w.chat_id.clone(),
            }),
        }
    }
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ChannelSwitch {
    /// One of the events `GET` lists (`message:new`, `match:new`, …).
    #[oai(validator(max_length = 64))]
    pub event: Text,
    pub channel: ChannelName,
    pub on: bool,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ChannelName {
    Email,
    Push,
    Webhook,
}

impl ChannelName {
    fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Push => "push",
            Self::Webhook => "webhook",
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum DigestChoice {
    Instant,
    Daily,
    Weekly,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum WebhookShape {
    Json,
    Ntfy,
    Telegram,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct QuietHoursInput {
    /// `HH:MM`; quiet hours may cross midnight (22:00–08:00) but not end where they start.
    #[oai(validator(pattern = r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$"))]
    pub start: Text,
    #[oai(validator(pattern = r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$"))]
    pub end: Text,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct WebhookBody {
    /// Where to post: a public http(s) address (private ones are refused unless the
    /// server's config allows them).
    #[oai(validator(max_length = 2000))]
    pub url: Text,
    /// Left out or empty: keep the current secret, or make one.
    #[oai(nullable, default, validator(max_length = 200))]
    pub secret: Text,
    /// `json` when left out (or null).
    #[oai(nullable)]
    pub preset: Option<WebhookShape>,
    /// The chat to post in (the `telegram` preset).
    #[oai(nullable, default, validator(max_length = 64))]
    pub chat_id: Text,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct PreferencesPatch {
    /// Channels to switch on or off; the others stay (left out or null: none).
    #[oai(default, nullable, validator(max_items = 100))]
    pub channels: Vec<ChannelSwitch>,
    /// `null` switches quiet hours off; left out, they stay as they are.
    #[oai(nullable)]
    #[serde(skip)]
    pub quiet_hours: MaybeUndefined<QuietHoursInput>,
    /// Left out (or null), it stays as it is.
    #[oai(nullable)]
    pub digest: Option<DigestChoice>,
    /// `null` removes the webhook; left out, it stays as it is.
    #[oai(nullable)]
    #[serde(skip)]
    pub webhook: MaybeUndefined<WebhookBody>,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct WebhookTested {
    /// What the webhook answered (2xx).
    pub status: u16,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct PushKey {
    /// The server's VAPID public key, base64url: `applicationServerKey` for
    /// `pushManager.subscribe`.
    pub public_key: String,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    pub id: String,
    /// What the browser called itself when it subscribed.
    pub device: String,
    pub created_at: String,
}

impl From<&PushSubscription> for DeviceView {
    fn from(s: &PushSubscription) -> Self {
        Self {
            id: s.id.to_string(),
            device: s.device.clone(),
            created_at: s.created_at.to_string(),
        }
    }
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionKeys {
    /// The browser's P-256 key, base64url.
    #[oai(validator(max_length = 200))]
    pub p256dh: Text,
    /// The browser's 16-byte auth secret, base64url.
    #[oai(validator(max_length = 100))]
    pub auth: Text,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct NewDevice {
    /// The push service's URL for this browser (`PushSubscription.endpoint`).
    #[oai(validator(max_length = 2000))]
    pub endpoint: Text,
    pub keys: SubscriptionKeys,
    /// A name to tell devices apart; the user agent's, when left out.
    #[oai(nullable, default, validator(max_length = 100))]
    pub device: Text,
}

#[derive(ApiResponse)]
pub enum DeviceAdded {
    /// Subscribed: this device receives push notifications.
    #[oai(status = 201)]
    Created(Reply<Data<DeviceView>>),
}

fn webhook_input(body: WebhookBody) -> WebhookInput {
    WebhookInput {
        url: body.url.into_string(),
        secret: body.secret.into_string(),
        preset: match body.preset.unwrap_or(WebhookShape::Json) {
            WebhookShape::Json => "json",
            WebhookShape::Ntfy => "ntfy",
            WebhookShape::Telegram => "telegram",
        }
        .into(),
        chat_id: body.chat_id.into_string(),
    }
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Messages")]
impl NotificationSettingsApi {
    /// My notification preferences
    #[oai(
        path = "/notifications/preferences",
        method = "get",
        operation_id = "getNotificationPreferences"
    )]
    async fn get(
        &self,
        req: &Request,
        viewer: Viewer,
    ) -> Result<Reply<Data<PreferencesView>>, AppError> {
        let me = viewer.require()?;
        let prefs = state_of(req)?.notification_settings.get(&me.actor())?;
        Ok(Reply(Data {
            data: PreferencesView::from(&prefs),
        }))
    }

    /// Change my notification preferences
    ///
    /// All of the change or, with every problem named, none of it.
    #[oai(
        path = "/notifications/preferences",
        method = "patch",
        operation_id = "updateNotificationPreferences"
    )]
    async fn update(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<PreferencesPatch>,
    ) -> Result<Reply<Data<PreferencesView>>, AppError> {
        let me = acting(req, &viewer)?;
        let body = body.0;
        let change = Change {
            channels: body
                .channels
                .into_iter()
                .map(|s| (s.event.into_string(), s.channel.as_str().to_string(), s.on))
                .collect(),
            quiet_hours: match body.quiet_hours {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(q) => {
                    Some(Some((q.start.into_string(), q.end.into_string())))
                }
            },
            digest: body.digest.map(|d| {
                match d {
                    DigestChoice::Instant => "instant",
                    DigestChoice::Daily => "daily",
                    DigestChoice::Weekly => "weekly",
                }
                .to_string()
            }),
            webhook: match body.webhook {
                MaybeUndefined::Undefined => None,
                MaybeUndefined::Null => Some(None),
                MaybeUndefined::Value(w) => Some(Some(webhook_input(w))),
            },
        };
        let prefs = state_of(req)?
            .notification_settings
            .update(&me.actor(), change)
            .await?;
        Ok(Reply(Data {
            data: PreferencesView::from(&prefs),
        }))
    }

    /// Test my webhook
    ///
    /// Calls it now with an example notification; `409 WEBHOOK_FAILED` says what went wrong.
    #[oai(
        path = "/notifications/webhook/test",
        method = "post",
        operation_id = "testWebhook"
    )]
    async fn test_webhook(
        &self,
        req: &Request,
        viewer: Viewer,
    ) -> Result<Reply<Data<WebhookTested>>, AppError> {
        let me = acting(req, &viewer)?;
        let status = state_of(req)?
            .notification_settings
            .test_webhook(&me.actor())
            .await?;
        Ok(Reply(Data {
            data: WebhookTested { status },
        }))
    }

    /// The server's push key
    #[oai(path = "/push/key", method = "get", operation_id = "getPushKey")]
    async fn key(&self, req: &Request, viewer: Viewer) -> Result<Reply<Data<PushKey>>, AppError> {
        viewer.require()?;
        Ok(Reply(Data {
            data: PushKey {
                public_key: state_of(req)?.notification_settings.push_public_key(),
            },
        }))
    }

    /// My push devices
    #[oai(
        path = "/push/devices",
        method = "get",
        operation_id = "listPushDevices"
    )]
    async fn devices(
        &self,
        req: &Request,
        viewer: Viewer,
    ) -> Result<Reply<Data<Vec<DeviceView>>>, AppError> {
        let me = viewer.require()?;
        let devices = state_of(req)?.notification_settings.devices(&me.actor())?;
        Ok(Reply(Data {
            data: devices.iter().map(DeviceView::from).collect(),
        }))
    }

    /// Subscribe a device to push notifications
    ///
    /// The body is what `PushSubscription.toJSON()` gives. At most 20 devices.
    #[oai(
        path = "/push/devices",
        method = "post",
        operation_id = "addPushDevice"
    )]
    async fn add_device(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<NewDevice>,
    ) -> Result<DeviceAdded, AppError> {
        let me = acting(req, &viewer)?;
        let body = body.0;
        let device = match body.device.trim() {
            "" => crate::service::notifications::device_name(
                req.headers()
                    .get(poem::http::header::USER_AGENT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default(),
            ),
            name => name.to_string(),
        };
        let added = state_of(req)?
            .notification_settings
            .add_device(
                &me.actor(),
                DeviceInput {
                    endpoint: body.endpoint.into_string(),
                    p256dh: body.keys.p256dh.into_string(),
                    auth: body.keys.auth.into_string(),
                    device,
                },
            )
            .await?;
        Ok(DeviceAdded::Created(Reply(Data {
            data: DeviceView::from(&added),
        })))
    }

    /// Remove a push device
    #[oai(
        path = "/push/devices/:id",
        method = "delete",
        operation_id = "removePushDevice"
    )]
    async fn remove_device(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        let id = id.0.parse().map_err(|_| AppError::not_found())?;
        state_of(req)?
            .notification_settings
            .remove_device(&me.actor(), id)
            .await?;
        Ok(Done::Done)
    }
}
