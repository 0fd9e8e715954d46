//! What each member chooses about being told: channels per event, quiet hours, the email
//! digest, their webhook, and the devices they receive push on; and the one-click
//! unsubscribe from email.

use std::sync::Arc;

use jiff::Timestamp;

use super::delivery::Keys;
use super::webhook;
use crate::clock::SharedClock;
use crate::domain::hex;
use crate::domain::ids::{PushSubscriptionId, UserId, uuid_v7};
use crate::domain::notification::{
    Channel, Digest, PUSH_DEVICES_MAX, Preferences, PushSubscription, QuietHours, WebhookPreset,
    WebhookTarget, event_kind,
};
use crate::domain::permission::Permission;
use crate::outbound::Outbound;
use crate::service::access::{Access, Actor};
use crate::service::error::{ErrorCode, ServiceError};
use crate::service::limits::{Limit, LimitKind, RateLimiter};
use crate::service::settings::Settings;
use crate::store::Store;

/// A change to a member's preferences; `None` leaves a part as it is.
#[derive(Debug, Default)]
pub struct Change {
    /// (event, channel, on)
    pub channels: Vec<(String, String, bool)>,
    /// `Some(None)` switches quiet hours off; `Some(Some((start, end)))` sets them.
    pub quiet_hours: Option<Option<(String, String)>>,
    pub digest: Option<String>,
    /// `Some(None)` removes the webhook.
    pub webhook: Option<Option<WebhookInput>>,
}

#[derive(Debug, Clone)]
pub struct WebhookInput {
    pub url: String,
    /// Empty: keep the current secret, or make one.
    pub secret: String,
    pub preset: String,
    pub chat_id: String,
}

/// A browser's subscription, as `PushSubscription.toJSON()` gives it.
#[derive(Debug, Clone)]
pub struct DeviceInput {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
    pub device: String,
}

const SECRET_MAX: usize = 200;
const CHAT_ID_MAX: usize = 64;
const URL_MAX: usize = 2000;

#[derive(Clone)]
pub struct NotificationSettings {
    store: Store,
    access: Access,
    clock: SharedClock,
    settings: Settings,
    keys: Arc<Keys>,
    outbound: Outbound,
    limiter: Arc<RateLimiter>,
    base: Arc<str>,
}

/// Test calls a member may make to their webhook in an hour.
const WEBHOOK_TESTS_PER_HOUR: u32 = 10;

impl NotificationSettings {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        access: Access,
        clock: SharedClock,
        settings: Settings,
        keys: Arc<Keys>,
        outbound: Outbound,
        limiter: Arc<RateLimiter>,
        base: &str,
    ) -> Self {
        Self {
            store,
            access,
            clock,
            settings,
            keys,
            outbound,
            limiter,
            base: base.into(),
        }
    }

    pub fn get(&self, actor: &Actor) -> Result<Preferences, ServiceError> {
        self.access.require(actor, Permission::View)?;
        let me = actor.id;
        Ok(self.store.lookup(|rx| rx.notifications().preferences(me))?)
    }

    /// Applies a change, all of it or (with every problem named) none of it.
    pub async fn update(&self, actor: &Actor, change: Change) -> Result<Preferences, ServiceError> {
        self.access.require(actor, Permission::EditOwn)?;
        let me = actor.id;
        let mut prefs = self.get(actor)?;
        let mut problems = Vec::new();
        for (event, channel, on) in &change.channels {
            let Some(kind) = event_kind(event) else {
                problems.push(ServiceError::invalid(
                    "channels",
                    format!("\"{event}\" is not an event that notifies."),
                ));
                continue;
            };
            let Some(channel) = Channel::parse(channel) else {
                problems.push(ServiceError::invalid(
                    "channels",
                    format!("\"{channel}\" is not a channel: use email, push or webhook."),
                ));
                continue;
            };
            prefs.set(kind.event, channel, *on);
        }
        match change.quiet_hours {
            Some(None) => prefs.quiet_hours = None,
            Some(Some((start, end))) => match QuietHours::parse(&start, &end) {
                Ok(q) => prefs.quiet_hours = Some(q),
                Err((field, why)) => problems.push(ServiceError::invalid(
                    if field == "start" {
                        "quietHours.start"
                    } else {
                        "quietHours.end"
                    },
                    why,
                )),
            },
            None => {}
        }
        if let Some(digest) = &change.digest {
            match Digest::parse(digest) {
                Some(d) => prefs.digest = d,
                None => problems.push(ServiceError::invalid(
                    "digest",
                    "Use instant, daily or weekly.",
                )),
            }
        }
        match change.webhook {
            Some(None) => prefs.webhook_target = None,
            Some(Some(input)) => match self.webhook_target(input, prefs.webhook_target.as_ref()) {
                Ok(target) => prefs.webhook_target = Some(target),
                Err(e) => problems.push(e),
            },
            None => {}
        }
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(
                problems
                    .into_iter()
                    .flat_map(|e| match e {
                        ServiceError::Invalid(fields) => fields,
                        _ => Vec::new(),
                    })
                    .collect(),
            ));
        }
        let saved = prefs.clone();
        self.store
            .write(move |tx| tx.notifications().set_preferences(me, &saved))
            .await?;
        Ok(prefs)
    }

    fn webhook_target(
        &self,
        input: WebhookInput,
        current: Option<&WebhookTarget>,
    ) -> Result<WebhookTarget, ServiceError> {
        let url = input.url.trim();
        if url.len() > URL_MAX {
            return Err(ServiceError::invalid(
                "webhook.url",
                format!("Use at most {URL_MAX} characters."),
            ));
        }
        self.outbound
            .check_url(url)
            .map_err(|why| ServiceError::invalid("webhook.url", capitalised(&why)))?;
        let preset = WebhookPreset::parse(input.preset.trim()).ok_or_else(|| {
            ServiceError::invalid("webhook.preset", "Use json, ntfy or telegram.")
        })?;
        let chat_id = input.chat_id.trim().to_string();
        if preset == WebhookPreset::Telegram && chat_id.is_empty() {
            return Err(ServiceError::invalid(
                "webhook.chatId",
                "The Telegram preset needs the chat to post in.",
            ));
        }
        if chat_id.len() > CHAT_ID_MAX {
            return Err(ServiceError::invalid(
                "webhook.chatId",
                format!("Use at most {CHAT_ID_MAX} characters."),
            ));
        }
        let secret = match input.secret.trim() {
            "" => current.map_or_else(
                || hex::encode(&rand::random::<[u8; 24]>()),
                |c| c.secret.clone(),
            ),
            s if s.len() > SECRET_MAX => {
                return Err(ServiceError::invalid(
                    "webhook.secret",
                    format!("Use at most {SECRET_MAX} characters."),
                ));
            }
            s => s.to_string(),
        };
        Ok(WebhookTarget {
            url: url.to_string(),
            secret,
            preset,
            chat_id,
        })
    }

    /// Calls the member's webhook now with an example, and says how it went.
    pub async fn test_webhook(&self, actor: &Actor) -> Result<u16, ServiceError> {
        let prefs = self.get(actor)?;
        self.limiter
            .take(
                LimitKind::WebhookTest,
                &actor.id.to_string(),
                Limit::per_window(WEBHOOK_TESTS_PER_HOUR, 3600),
            )
            .map_err(ServiceError::RateLimited)?;
        let target = prefs.webhook_target.ok_or_else(|| {
            ServiceError::conflict(ErrorCode::Conflict, "Set up a webhook first.")
        })?;
        let site = self.settings.current().site_name.clone();
        let payload = webhook::Payload::test(
            &site,
            &format!("{}/notifications", self.base),
            self.clock.now(),
        );
        self.outbound
            .post(webhook::request(&target, &payload))
            .await
            .map_err(|e| {
                ServiceError::conflict(
                    ErrorCode::WebhookFailed,
                    format!("The webhook call did not succeed: {e}."),
                )
            })
    }

    /// The key browsers subscribe with.
    pub fn push_public_key(&self) -> String {
        self.keys.push.public_key()
    }

    pub fn devices(&self, actor: &Actor) -> Result<Vec<PushSubscription>, ServiceError> {
        self.access.require(actor, Permission::View)?;
        let me = actor.id;
        Ok(self
            .store
            .lookup(|rx| rx.notifications().push_subscriptions(me))?)
    }

    /// Subscribes a device; subscribing the same endpoint again replaces it.
    pub async fn add_device(
        &self,
        actor: &Actor,
        input: DeviceInput,
    ) -> Result<PushSubscription, ServiceError> {
        self.access.require(actor, Permission::EditOwn)?;
        let endpoint = input.endpoint.trim().to_string();
        if endpoint.len() > URL_MAX {
            return Err(ServiceError::invalid(
                "endpoint",
                format!("Use at most {URL_MAX} characters."),
            ));
        }
        let url = self
            .outbound
            .check_url(&endpoint)
            .map_err(|why| ServiceError::invalid("endpoint", capitalised(&why)))?;
        if url.scheme() != "https" && !self.outbound.allows_host_of(&url) {
            return Err(ServiceError::invalid(
                "endpoint",
                "Push services are reached over https.",
            ));
        }
        let keys = super::push::parse_keys(&input.p256dh, &input.auth)
            .map_err(|(field, why)| ServiceError::invalid(field, format!("The key {why}.")))?;
        let now: Timestamp = self.clock.now();
        let device = PushSubscription {
            id: PushSubscriptionId(uuid_v7(now.as_millisecond(), rand::random())),
            member: actor.id,
            endpoint,
            p256dh: keys.p256dh,
            auth: keys.auth,
            device: input.device.trim().chars().take(100).collect(),
            created_at: now,
        };
        let me = actor.id;
        let stored = device.clone();
        self.store
            .write(move |tx| {
                let existing = tx.notifications().push_subscriptions(me)?;
                for same in existing.iter().filter(|s| s.endpoint == stored.endpoint) {
                    tx.notifications().remove_push_subscription(me, same.id)?;
                }
                let others = existing
                    .iter()
                    .filter(|s| s.endpoint != stored.endpoint)
                    .count();
                if others >= PUSH_DEVICES_MAX {
                    return Ok(Err(ServiceError::conflict(
                        ErrorCode::Conflict,
                        format!("At most {PUSH_DEVICES_MAX} devices: remove one first."),
                    )));
                }
                tx.notifications().add_push_subscription(&stored)?;
                Ok(Ok(()))
            })
            .await??;
        Ok(device)
    }

    pub async fn remove_device(
        &self,
        actor: &Actor,
        id: PushSubscriptionId,
    ) -> Result<(), ServiceError> {
        self.access.require(actor, Permission::EditOwn)?;
        let me = actor.id;
        let removed = self
            .store
            .write(move |tx| tx.notifications().remove_push_subscription(me, id))
            .await?;
        if removed {
            Ok(())
        } else {
            Err(ServiceError::not_found())
        }
    }

    /// What an unsubscribe link would stop, without stopping it (the confirmation page).
    pub fn unsubscribe_target(&self, token: &str) -> Result<(UserId, String), ServiceError> {
        let (member, event) = self
            .keys
            .unsubscribe
            .check(token)
            .ok_or_else(ServiceError::not_found)?;
        Ok((member, label_of(&event)))
    }

    /// Turns off the email an unsubscribe link names (one event, or all for a digest's);
    /// what was stopped, said for people. Works without signing in: the link is the proof.
    pub async fn unsubscribe(&self, token: &str) -> Result<String, ServiceError> {
        let (member, event) = self
            .keys
            .unsubscribe
            .check(token)
            .ok_or_else(ServiceError::not_found)?;
        let label = label_of(&event);
        self.store
            .write(move |tx| {
                if tx.users().get(member)?.is_none() {
                    return Ok(Err(ServiceError::not_found()));
                }
                let mut prefs = tx.notifications().preferences(member)?;
                if event == super::email::ALL {
                    prefs.email.clear();
                } else {
                    prefs.set(&event, Channel::Email, false);
                }
                tx.notifications().set_preferences(member, &prefs)?;
                Ok(Ok(()))
            })
            .await??;
        Ok(label)
    }
}

fn label_of(event: &str) -> String {
    match event_kind(event) {
        Some(kind) => format!("emails about “{}”", kind.label.to_lowercase()),
        None => "all notification emails".into(),
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => String::new(),
    }
}
