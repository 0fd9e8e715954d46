//! Telling members outside Hearth: email, Web Push, webhooks.
//!
//! Each notification that some channel of the member's wants gets a `notifications.deliver`
//! job, written with the notification (one pending job per subject: repeats join it). When
//! it runs it looks at the notification as it is then:
//! - read meanwhile (on any device), gone, or about something the member may no longer
//!   hear of (the other member blocked them, left, the match ended): nothing goes out;
//! - the member is using Hearth (a live connection now or in the last 2 minutes), it is
//!   their quiet hours, or the same subject went out less than 5 minutes ago: the job waits
//!   (critical notifications, about security, do not);
//! - otherwise one job per channel is written (`mail.send`, `notifications.push` per device,
//!   `notifications.webhook`), each retried with backoff on its own, so a failing webhook
//!   never sends the email twice. Email in a daily or weekly digest waits for
//!   `notifications.digests`.

use std::sync::{Arc, OnceLock};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::email;
use super::push::{self, PushKeys};
use super::webhook;
use crate::clock::SharedClock;
use crate::domain::account::User;
use crate::domain::ids::{NotificationId, PushSubscriptionId, UserId};
use crate::domain::notification::{
    Channel, Digest, Notification, Preferences, Priority, REPEAT_WINDOW,
};
use crate::events::{Event, EventBus};
use crate::jobs::{EnqueueOptions, JobError, JobPlan, JobSink};
use crate::outbound::{Outbound, OutboundError};
use crate::service::mail::SEND_MAIL;
use crate::service::realtime::Realtime;
use crate::service::settings::Settings;
use crate::store::{Rx, Store, StoreError, Tx};

pub const DELIVER: &str = "notifications.deliver";
pub const DIGESTS: &str = "notifications.digests";
pub const PUSH: &str = "notifications.push";
pub const WEBHOOK: &str = "notifications.webhook";

/// What a `notifications.deliver` job names: the notification, or its subject (whose
/// notification may have been replaced by a newer, counted one since).
#[derive(Debug, Serialize, Deserialize)]
struct Deliver {
    member: UserId,
    id: NotificationId,
    subject: Option<String>,
}

/// One push message for one device.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct PushJob {
    pub member: UserId,
    pub device: PushSubscriptionId,
    pub payload: push::Payload,
}

/// One call to a member's webhook.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct WebhookJob {
    pub member: UserId,
    pub payload: webhook::Payload,
}

/// Writes the delivery job for a notification just stored, when some channel of the
/// member's may want it: email when the site sends mail, push when they subscribed a
/// device, their webhook when they set one (the job decides the rest when it runs).
pub fn schedule(
    tx: &Tx<'_>,
    queue: &JobSink,
    n: &Notification,
    mail_on: bool,
) -> Result<(), StoreError> {
    let prefs = tx.notifications().preferences(n.member)?;
    let wanted = (mail_on && prefs.wants(&n.event, Channel::Email))
        || (prefs.webhook_target.is_some() && prefs.wants(&n.event, Channel::Webhook))
        || (prefs.wants(&n.event, Channel::Push)
            && !tx.notifications().push_subscriptions(n.member)?.is_empty());
    if !wanted {
        return Ok(());
    }
    let key = match &n.subject {
        Some(subject) => format!("notify:{}:{subject}", n.member),
        None => format!("notify:{}:{}", n.member, n.id),
    };
    let job = queue
        .new_job(
            DELIVER,
            &Deliver {
                member: n.member,
                id: n.id,
                subject: n.subject.clone(),
            },
            EnqueueOptions {
                dedupe_key: Some(key),
                run_at: None,
            },
        )
        .map_err(|e| StoreError::Database(e.to_string()))?;
    tx.jobs().enqueue(&job)?;
    Ok(())
}

/// The keys notifications are sent with: VAPID for push, and the key that signs
/// unsubscribe links. Made at first start and kept in the database.
pub struct Keys {
    pub push: PushKeys,
    pub unsubscribe: email::UnsubscribeKey,
}

impl Keys {
    pub async fn load(store: &Store) -> Result<Arc<Keys>, StoreError> {
        let (vapid, unsubscribe) = store
            .write(|tx| {
                let vapid = tx
                    .instance()
                    .secret_or_insert("vapid", PushKeys::generate_secret)?;
                let unsubscribe = tx
                    .instance()
                    .secret_or_insert("unsubscribe", || rand::random::<[u8; 32]>().to_vec())?;
                Ok((vapid, unsubscribe))
            })
            .await?;
        Ok(Arc::new(Keys {
            push: PushKeys::from_secret(&vapid)
                .map_err(|e| StoreError::Corrupt(format!("the stored VAPID key: {e}")))?,
            unsubscribe: email::UnsubscribeKey::new(unsubscribe),
        }))
    }
}

#[derive(Clone)]
pub struct Delivery {
    store: Store,
    clock: SharedClock,
    settings: Settings,
    realtime: Realtime,
    outbound: Outbound,
    keys: Arc<Keys>,
    base: Arc<str>,
    /// Where the follow-up jobs go; the queue is built after the handlers are registered.
    queue: Arc<OnceLock<JobSink>>,
}

/// What a delivery job found.
enum Plan {
    Nothing,
    Wait(Timestamp, &'static str),
    Send(Box<Sending>),
}

struct Sending {
    notification: Notification,
    user: User,
    prefs: Preferences,
    channels: Vec<Channel>,
    devices: Vec<PushSubscriptionId>,
}

impl Delivery {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        clock: SharedClock,
        settings: Settings,
        realtime: Realtime,
        outbound: Outbound,
        keys: Arc<Keys>,
        base: &str,
    ) -> Self {
        Self {
            store,
            clock,
            settings,
            realtime,
            outbound,
            keys,
            base: base.into(),
            queue: Arc::default(),
        }
    }

    /// Gives the handlers the queue, once it exists, and wakes its workers when a
    /// notification (with its delivery job) commits.
    pub fn attach(&self, queue: JobSink, events: &EventBus) {
        let _ = self.queue.set(queue.clone());
        events.listen(move |event| {
            if matches!(event, Event::NotificationNew { .. }) {
                queue.notify();
            }
        });
    }

    fn queue(&self) -> Result<&JobSink, JobError> {
        self.queue
            .get()
            .ok_or_else(|| JobError::retry("the job queue is not running yet"))
    }

    pub fn register_jobs(&self, plan: &mut JobPlan) {
        self.register(plan, DELIVER, |this, d: Deliver| async move {
            this.deliver(d).await
        });
        self.register(
            plan,
            PUSH,
            |this, p: PushJob| async move { this.push(p).await },
        );
        self.register(plan, WEBHOOK, |this, w: WebhookJob| async move {
            this.call_webhook(w).await
        });
        let this = self.clone();
        plan.register(DIGESTS, move |_job| {
            let this = this.clone();
            async move { this.send_digests().await }
        });
        plan.schedule("notification-digests", DIGESTS, "every 15m");
    }

    /// Registers a job kind whose payload is a `P`, run by `run` on a clone of this.
    fn register<P, F, Fut>(&self, plan: &mut JobPlan, kind: &'static str, run: F)
    where
        P: serde::de::DeserializeOwned + Send + 'static,
        F: Fn(Delivery, P) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), JobError>> + Send + 'static,
    {
        let this = self.clone();
        let run = Arc::new(run);
        plan.register(kind, move |job| {
            let (this, run) = (this.clone(), Arc::clone(&run));
            let payload = serde_json::from_slice::<P>(&job.payload)
                .map_err(|e| JobError::permanent(format!("bad payload: {e}")));
            async move { run(this, payload?).await }
        });
    }

    async fn deliver(&self, d: Deliver) -> Result<(), JobError> {
        let now = self.clock.now();
        let present = self.realtime.present_until(d.member);
        let mail_on = self.settings.current().mail.is_configured();
        let plan = self
            .store
            .read(move |rx| plan_for(rx, &d, now, present, mail_on))
            .await
            .map_err(|e| JobError::retry(e.to_string()))?;
        let sending = match plan {
            Plan::Nothing => return Ok(()),
            Plan::Wait(at, why) => return Err(JobError::postpone(at, why)),
            Plan::Send(sending) => sending,
        };
        let jobs = self.jobs_for(&sending, now)?;
        let Sending {
            mut notification,
            prefs,
            channels,
            ..
        } = *sending;
        let digest = channels.contains(&Channel::Email) && prefs.digest != Digest::Instant;
        notification.told_at = Some(now);
        self.store
            .write(move |tx| {
                tx.notifications().update(&notification)?;
                if digest {
                    tx.notifications()
                        .add_to_digest(notification.member, notification.id)?;
                }
                for job in &jobs {
                    tx.jobs().enqueue(job)?;
                }
                Ok(())
            })
            .await
            .map_err(|e| JobError::retry(e.to_string()))?;
        self.queue()?.notify();
        Ok(())
    }

    /// The channel jobs for a notification going out now.
    fn jobs_for(
        &self,
        s: &Sending,
        now: Timestamp,
    ) -> Result<Vec<crate::domain::job::Job>, JobError> {
        let queue = self.queue()?;
        let site = self.settings.current();
        let n = &s.notification;
        let link = format!("{}{}", self.base, n.path());
        let mut jobs = Vec::new();
        let job_error = |e: crate::jobs::QueueError| JobError::retry(e.to_string());
        for channel in &s.channels {
            match channel {
                Channel::Email if s.prefs.digest == Digest::Instant => {
                    let unsubscribe = self.keys.unsubscribe.link(&self.base, n.member, &n.event);
                    let mail = email::notification_mail(&s.user, n, &link, &unsubscribe)
                        .render(&site.site_name)
                        .map_err(|e| JobError::permanent(format!("mail template: {e}")))?;
                    jobs.push(
                        queue
                            .new_job(SEND_MAIL, &mail, EnqueueOptions::default())
                            .map_err(job_error)?,
                    );
                }
                Channel::Email => {}
                Channel::Push => {
                    for device in &s.devices {
                        let payload = push::Payload::of(n, &link, &site.site_name);
                        jobs.push(
                            queue
                                .new_job(
                                    PUSH,
                                    &PushJob {
                                        member: n.member,
                                        device: *device,
                                        payload,
                                    },
                                    EnqueueOptions::default(),
                                )
                                .map_err(job_error)?,
                        );
                    }
                }
                Channel::Webhook => {
                    let payload = webhook::Payload::of(n, &link, &site.site_name, now);
                    jobs.push(
                        queue
                            .new_job(
                                WEBHOOK,
                                &WebhookJob {
                                    member: n.member,
                                    payload,
                                },
                                EnqueueOptions::default(),
                            )
                            .map_err(job_error)?,
                    );
                }
            }
        }
        Ok(jobs)
    }

    /// Sends every digest that is due: one mail per member listing what waited since the
    /// last one (or since the first item, for a first digest).
    async fn send_digests(&self) -> Result<(), JobError> {
        let now = self.clock.now();
        let site = self.settings.current();
        let due = self
            .store
            .read(move |rx| due_digests(rx, now))
            .await
            .map_err(|e| JobError::retry(e.to_string()))?;
        let queue = self.queue()?;
        for (user, items) in due {
            let unsubscribe = self.keys.unsubscribe.link(&self.base, user.id, email::ALL);
            let mail = email::digest_mail(&user, &items, &self.base, &unsubscribe)
                .render(&site.site_name)
                .map_err(|e| JobError::permanent(format!("mail template: {e}")))?;
            let job = queue
                .new_job(SEND_MAIL, &mail, EnqueueOptions::default())
                .map_err(|e| JobError::retry(e.to_string()))?;
            let member = user.id;
            self.store
                .write(move |tx| {
                    tx.notifications()
                        .digest_sent(member, now.as_millisecond())?;
                    tx.jobs().enqueue(&job)?;
                    Ok(())
                })
                .await
                .map_err(|e| JobError::retry(e.to_string()))?;
        }
        queue.notify();
        Ok(())
    }

    async fn push(&self, p: PushJob) -> Result<(), JobError> {
        let (member, device) = (p.member, p.device);
        let subscription = self
            .store
            .read(move |rx| {
                Ok(rx
                    .notifications()
                    .push_subscriptions(member)?
                    .into_iter()
                    .find(|s| s.id == device))
            })
            .await
            .map_err(|e: StoreError| JobError::retry(e.to_string()))?;
        // The member removed the device meanwhile.
        let Some(subscription) = subscription else {
            return Ok(());
        };
        let contact = format!("{}/", self.base);
        let request = self
            .keys
            .push
            .request(&subscription, &contact, &p.payload)
            .map_err(JobError::permanent)?;
        match self.outbound.post(request).await {
            Ok(_) => Ok(()),
            // The push service says the subscription is gone: forget the device.
            Err(OutboundError::Status { status: 404 | 410 }) => {
                self.store
                    .write(move |tx| tx.notifications().remove_push_subscription(member, device))
                    .await
                    .map_err(|e: StoreError| JobError::retry(e.to_string()))?;
                Ok(())
            }
            Err(e) if e.is_permanent() => Err(JobError::permanent(e.to_string())),
            Err(e) => Err(JobError::retry(e.to_string())),
        }
    }

    async fn call_webhook(&self, w: WebhookJob) -> Result<(), JobError> {
        let member = w.member;
        let target = self
            .store
            .read(move |rx| Ok(rx.notifications().preferences(member)?.webhook_target))
            .await
            .map_err(|e: StoreError| JobError::retry(e.to_string()))?;
        // The member took the webhook away meanwhile.
        let Some(target) = target else {
            return Ok(());
        };
        match self
            .outbound
            .post(webhook::request(&target, &w.payload))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(JobError::permanent(e.to_string())),
            Err(e) => Err(JobError::retry(e.to_string())),
        }
    }
}

/// Decides, from what is stored now, whether and how a notification goes out (by email
/// only when the site has mail set up).
fn plan_for(
    rx: &Rx,
    d: &Deliver,
    now: Timestamp,
    present_until: Option<Timestamp>,
    mail_on: bool,
) -> Result<Plan, StoreError> {
    let found = match &d.subject {
        Some(subject) => rx.notifications().unread_about(d.member, subject)?,
        None => rx.notifications().get(d.member, d.id)?,
    };
    let Some(n) = found.filter(|n| !n.read) else {
        return Ok(Plan::Nothing);
    };
    let Some(user) = rx.users().get(n.member)? else {
        return Ok(Plan::Nothing);
    };
    if !user.status.in_good_standing(now) || !may_still_hear(rx, &n, now)? {
        return Ok(Plan::Nothing);
    }
    let prefs = rx.notifications().preferences(n.member)?;
    let devices: Vec<PushSubscriptionId> = rx
        .notifications()
        .push_subscriptions(n.member)?
        .iter()
        .map(|s| s.id)
        .collect();
    let channels: Vec<Channel> = Channel::ALL
        .into_iter()
        .filter(|&c| prefs.wants(&n.event, c))
        .filter(|c| match c {
            Channel::Email => mail_on && !user.email.is_empty(),
            Channel::Push => !devices.is_empty(),
            Channel::Webhook => prefs.webhook_target.is_some(),
        })
        .collect();
    if channels.is_empty() {
        return Ok(Plan::Nothing);
    }
    if n.priority < Priority::Critical {
        if let Some(until) = present_until {
            return Ok(Plan::Wait(until, "the member is using Hearth"));
        }
        if let Some(quiet) = prefs.quiet_hours {
            let zone = zone_of(rx, n.member)?;
            if let Some(until) = quiet.until(now, &zone) {
                return Ok(Plan::Wait(until, "quiet hours"));
            }
        }
        if let Some(told) = n.told_at
            && told + REPEAT_WINDOW > now
        {
            return Ok(Plan::Wait(
                told + REPEAT_WINDOW,
                "the same subject went out less than 5 minutes ago",
            ));
        }
    }
    Ok(Plan::Send(Box::new(Sending {
        notification: n,
        user,
        prefs,
        channels,
        devices,
    })))
}

/// Whether the member may still hear of what the notification is about: whoever did it
/// is still here and not blocked either way, and the conversation or match still exists, or
/// the record is still one they may see.
fn may_still_hear(rx: &Rx, n: &Notification, now: Timestamp) -> Result<bool, StoreError> {
    if let Some(actor) = n.actor {
        let standing = rx
            .users()
            .get(actor)?
            .is_some_and(|u| u.status.in_good_standing(now));
        if !standing || rx.blocks().between(n.member, actor)? {
            return Ok(false);
        }
    }
    let Some((kind, id)) = n.subject.as_deref().and_then(|s| s.split_once(':')) else {
        return Ok(true);
    };
    Ok(match kind {
        "conversation" => match id.parse() {
            Ok(id) => rx
                .messages()
                .conversation(id)?
                .is_some_and(|c| crate::domain::ids::Between::involves(&c, n.member)),
            Err(_) => false,
        },
        "match" => match id.parse() {
            Ok(id) => rx.matches().get(id)?.is_some(),
            Err(_) => false,
        },
        "record" => match (
            id.split(':').next().unwrap_or(id).parse(),
            rx.users().get(n.member)?,
        ) {
            (Ok(id), Some(user)) => rx.records().get(id)?.is_some_and(|r| {
                r.deleted_at.is_none() && crate::service::records::may_see(user.id, user.role, &r)
            }),
            _ => false,
        },
        _ => true,
    })
}

/// The member's time zone (their profile's), UTC when they gave none.
fn zone_of(rx: &Rx, member: UserId) -> Result<TimeZone, StoreError> {
    Ok(rx
        .profiles()
        .get(member)?
        .and_then(|p| TimeZone::get(&p.time_zone).ok())
        .unwrap_or(TimeZone::UTC))
}

/// Members whose digest is due, with what it lists (quiet hours hold a digest too).
fn due_digests(rx: &Rx, now: Timestamp) -> Result<Vec<(User, Vec<Notification>)>, StoreError> {
    let mut out = Vec::new();
    for member in rx.notifications().digest_members()? {
        let prefs = rx.notifications().preferences(member)?;
        let items = rx.notifications().digest_of(member)?;
        let Some(user) = rx.users().get(member)? else {
            continue;
        };
        let Some(first) = items.first() else {
            continue;
        };
        // Switched back to instant mail: what waited goes now.
        let period = prefs.digest.period().unwrap_or_default();
        let since = rx
            .notifications()
            .digest_sent_at(member)?
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            .unwrap_or(first.created_at);
        if since + period > now || !user.status.in_good_standing(now) {
            continue;
        }
        if let Some(quiet) = prefs.quiet_hours
            && quiet.until(now, &zone_of(rx, member)?).is_some()
        {
            continue;
        }
        out.push((user, items));
    }
    Ok(out)
}
