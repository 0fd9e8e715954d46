//! Likes, passes and matches; blocks; reports and the warnings that come of them.
//!
//! A batch of swipes is one write through the group-commit writer, so the daily like count
//! and the mutual-like check see every earlier write: when two members like each other at the
//! same instant, whichever write comes second finds the other's like and makes the one match.
//! Replaying a batch finds every decision already made and changes nothing.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::access::{Access, Actor};
use super::audit;
use super::error::{ErrorCode, Refusal, ServiceError};
use super::limits::{Limit, LimitKind, RateLimiter};
use super::media::MediaService;
use super::member_data::MemberData;
use super::settings::Settings;
use super::staff::{Staff, StaffAction};
use super::stats::{ActionLabel, MatchingStats};
use crate::clock::SharedClock;
use crate::domain::account::{AccountStatus, User};
use crate::domain::ids::Between;
use crate::domain::ids::{MatchId, MediaId, MessageId, ReportId, UserId, uuid_v7};
use crate::domain::matching::{
    BATCH_MAX, LIKE_WINDOW_MS, Match, REPORT_TEXT_MAX, REPORTED_MESSAGES_MAX, Report,
    ReportCategory, ReportDecision, ReportOutcome, ReportedMessage, Swipe, SwipeAction,
    SwipeOutcome, SwipeRefusal, Warning,
};
use crate::domain::permission::Permission;
use crate::domain::profile::Profile;
use crate::domain::text::{plain_text_problem, tidy_lines};
use crate::events::Event;
use crate::store::{Rx, Store, StoreError, Tx};

/// The job that tells one member about a new match by mail.

#[derive(Clone)]
pub struct Matching {
    store: Store,
    access: Access,
    settings: Settings,
    clock: SharedClock,
    stats: MatchingStats,
    limiter: Arc<RateLimiter>,
}

/// Reports a member may file in a day: enough for anyone wronged, too few to flood the queue.
const REPORTS_PER_DAY: u32 = 20;

/// Where a member stands against the daily like limit (for `X-RateLimit-*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LikeAllowance {
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds when the oldest like in the window stops counting.
    pub reset_at: i64,
}

/// One swipe of a batch and what came of it.
#[derive(Debug, Clone)]
pub struct SwipeResult {
    pub target: UserId,
    pub action: SwipeAction,
    pub outcome: SwipeOutcome,
}

/// Whether a member (their account's standing and profile) is shown to `viewer`: someone else, in good
/// standing, with a profile that is not paused, and not blocked either way. The one rule every
/// list, page and swipe applies.
pub fn shown_to(
    viewer: UserId,
    status: &AccountStatus,
    profile: &Profile,
    blocked_either_way: bool,
    now: Timestamp,
) -> bool {
    profile.member != viewer
        && status.in_good_standing(now)
        && !profile.paused
        && !blocked_either_way
}

/// [`shown_to`], reading the records.
pub fn available_to(
    rx: &impl MatchingReads,
    viewer: UserId,
    member: UserId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    if viewer == member {
        return Ok(false);
    }
    let (Some(user), Some(profile)) = (rx.user(member)?, rx.profile(member)?) else {
        return Ok(false);
    };
    Ok(shown_to(
        viewer,
        &user.status,
        &profile,
        rx.blocked(viewer, member)?,
        now,
    ))
}

/// The reads `available_to` needs, from either kind of transaction.
pub trait MatchingReads {
    fn user(&self, id: UserId) -> Result<Option<User>, StoreError>;
    fn profile(&self, id: UserId) -> Result<Option<Profile>, StoreError>;
    fn blocked(&self, x: UserId, y: UserId) -> Result<bool, StoreError>;
}

macro_rules! matching_reads {
    ($t:ty) => {
        impl MatchingReads for $t {
            fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
                self.users().get(id)
            }
            fn profile(&self, id: UserId) -> Result<Option<Profile>, StoreError> {
                self.profiles().get(id)
            }
            fn blocked(&self, x: UserId, y: UserId) -> Result<bool, StoreError> {
                self.blocks().between(x, y)
            }
        }
    };
}
matching_reads!(Rx);
matching_reads!(Tx<'_>);

pub fn profile_required() -> ServiceError {
    ServiceError::conflict(
        ErrorCode::ProfileRequired,
        "Write your profile first: others need to see who likes them.",
    )
}

impl Matching {
    pub fn new(
        store: Store,
        access: Access,
        settings: Settings,
        clock: SharedClock,
        stats: MatchingStats,
        limiter: Arc<RateLimiter>,
    ) -> Self {
        Self {
            store,
            access,
            settings,
            clock,
            stats,
            limiter,
        }
    }

    /// Likes and passes, one result per item; the items past the daily like limit are
    /// refused one by one and the rest stand. A batch of 1 to 50 items, each target once.
    pub async fn swipe(
        &self,
        actor: &Actor,
        batch: Vec<(UserId, SwipeAction)>,
    ) -> Result<(Vec<SwipeResult>, LikeAllowance), ServiceError> {
        self.access.require(actor, Permission::Create)?;
        if batch.is_empty() || batch.len() > BATCH_MAX {
            return Err(ServiceError::invalid(
                "swipes",
                format!("Send 1 to {BATCH_MAX} swipes."),
            ));
        }
        for (i, (target, _)) in batch.iter().enumerate() {
            if batch[..i].iter().any(|(t, _)| t == target) {
                return Err(ServiceError::invalid(
                    "swipes",
                    format!("Member {target} is in the batch twice: decide once per member."),
                ));
            }
        }
        let options = self.settings.current().profiles.clone();
        let now = self.clock.now();
        let me = actor.id;
        let (results, allowance) = self
            .store
            .write(move |tx| {
                let Some(user) = tx.users().get(me)? else {
                    return Ok(Err(ServiceError::not_found()));
                };
                // A paused member may still swipe: pausing hides them, it does not stop them.
                if tx.profiles().get(me)?.is_none() {
                    return Ok(Err(profile_required()));
                }
                let limit = options.likes_per_day_for(user.supporter);
                let now_ms = now.as_millisecond();
                let window_start = now_ms - LIKE_WINDOW_MS;
                let (mut used, mut oldest) = tx.swipes().likes_since(me, window_start)?;
                let mut results = Vec::with_capacity(batch.len());
                for &(target, action) in &batch {
                    let outcome = swipe_one(tx, me, target, action, now, limit, &mut used)?;
                    if matches!(outcome, SwipeOutcome::Liked | SwipeOutcome::Matched(_)) {
                        oldest.get_or_insert(now_ms);
                    }
                    results.push(SwipeResult {
                        target,
                        action,
                        outcome,
                    });
                }
                let allowance = LikeAllowance {
                    limit,
                    remaining: limit.saturating_sub(used),
                    reset_at: (oldest.unwrap_or(now_ms) + LIKE_WINDOW_MS + 999) / 1000,
                };
                Ok(Ok((results, allowance)))
            })
            .await??;
        for r in &results {
            let action = match r.outcome {
                SwipeOutcome::Liked | SwipeOutcome::Matched(_) => "like",
                SwipeOutcome::Passed => "pass",
                _ => continue,
            };
            self.stats
                .swipes
                .get_or_create(&ActionLabel { action })
                .inc();
        }
        let matched = results
            .iter()
            .filter(|r| matches!(r.outcome, SwipeOutcome::Matched(_)))
            .count();
        if matched > 0 {
            self.stats.matches.inc_by(matched as u64);
        }
        Ok((results, allowance))
    }

    /// Takes back the member's most recent pass, so that member can come round again.
    pub async fn undo_last_pass(&self, actor: &Actor) -> Result<UserId, ServiceError> {
        self.access.require(actor, Permission::Create)?;
        let me = actor.id;
        self.store
            .write(move |tx| {
                let Some(target) = tx.swipes().last_pass(me)? else {
                    return Ok(Err(ServiceError::NotFound(Refusal::new(
                        ErrorCode::NotFound,
                        "There is no recent pass to undo.",
                    ))));
                };
                tx.swipes().remove(me, target)?;
                Ok(Ok(target))
            })
            .await?
    }

    /// Takes a like back, while it has not made a match.
    pub async fn unlike(&self, actor: &Actor, target: UserId) -> Result<(), ServiceError> {
        self.access.require(actor, Permission::Create)?;
        let me = actor.id;
        self.store
            .write(move |tx| {
                if tx.matches().between(me, target)?.is_some() {
                    return Ok(Err(ServiceError::conflict(
                        ErrorCode::Conflict,
                        "You are matched with this member; unmatch instead.",
                    )));
                }
                match tx.swipes().get(me, target)? {
                    Some(s) if s.action == SwipeAction::Like => {
                        tx.swipes().remove(me, target)?;
                        Ok(Ok(()))
                    }
                    _ => Ok(Err(ServiceError::NotFound(Refusal::new(
                        ErrorCode::NotFound,
                        "You have not liked this member.",
                    )))),
                }
            })
            .await?
    }

    /// The member's matches, newest first, with the other member of each.
    pub fn matches(
        &self,
        actor: &Actor,
        before: Option<MatchId>,
        limit: usize,
    ) -> Result<(Vec<Match>, Option<MatchId>), ServiceError> {
        self.access.require(actor, Permission::View)?;
        let limit = limit.min(crate::store::MAX_PAGE_ROWS);
        let me = actor.id;
        let mut found = self
            .store
            .lookup(|rx| rx.matches().of_member(me, before, limit + 1))?;
        let next = (found.len() > limit).then(|| {
            found.truncate(limit);
            found.last().map(|m| m.id)
        });
        Ok((found, next.flatten()))
    }

    /// Ends a match for both members; the other is not told who left.
    pub async fn unmatch(&self, actor: &Actor, id: MatchId) -> Result<(), ServiceError> {
        self.access.require(actor, Permission::Create)?;
        let me = actor.id;
        self.store
            .write(move |tx| {
                let Some(m) = tx.matches().get(id)?.filter(|m| m.involves(me)) else {
                    return Ok(Err(ServiceError::not_found()));
                };
                end_match(tx, &m)?;
                Ok(Ok(()))
            })
            .await?
    }

    /// Blocks a member: each disappears from the other's everything, and a match between
    /// them ends.
    pub async fn block(&self, actor: &Actor, target: UserId) -> Result<(), ServiceError> {
        self.access.require(actor, Permission::Create)?;
        let me = actor.id;
        if me == target {
            return Err(ServiceError::invalid(
                "memberId",
                "You cannot block yourself.",
            ));
        }
        let now = self.clock.now();
        self.store
            .write(move |tx| {
                if tx.users().get(target)?.is_none() {
                    return Ok(Err(ServiceError::not_found()));
                }
                if let Some(m) = tx.matches().between(me, target)? {
                    end_match(tx, &m)?;
                }
                tx.blocks().insert(me, target, now.as_millisecond())?;
                tx.emit(Event::Blocked {
                    member: me,
                    other: target,
                });
                tx.emit(Event::Blocked {
                    member: target,
                    other: me,
                });
                Ok(Ok(()))
            })
            .await?
    }

    pub async fn unblock(&self, actor: &Actor, target: UserId) -> Result<(), ServiceError> {
        self.access.require(actor, Permission::Create)?;
        let me = actor.id;
        self.store
            .write(move |tx| {
                if tx.blocks().remove(me, target)? {
                    Ok(Ok(()))
                } else {
                    Ok(Err(ServiceError::not_found()))
                }
            })
            .await?
    }

    /// Whom the member blocked, newest first: (member, when).
    pub fn blocked(&self, actor: &Actor) -> Result<Vec<(UserId, Timestamp)>, ServiceError> {
        self.access.require(actor, Permission::View)?;
        let me = actor.id;
        let mut list = self.store.lookup(|rx| rx.blocks().blocked_by(me))?;
        list.sort_by_key(|(_, ms)| std::cmp::Reverse(*ms));
        Ok(list
            .into_iter()
            .map(|(id, ms)| (id, Timestamp::from_millisecond(ms).unwrap_or_default()))
            .collect())
    }

    /// Reports a member (and, optionally, one of their photos, and messages of a
    /// conversation between the two) to the moderators.
    pub async fn report(
        &self,
        actor: &Actor,
        reported: UserId,
        category: ReportCategory,
        text: &str,
        media: Option<MediaId>,
        messages: Vec<MessageId>,
    ) -> Result<ReportId, ServiceError> {
        self.access.require(actor, Permission::Create)?;
        let text = tidy_lines(text);
        if actor.id == reported {
            return Err(ServiceError::invalid(
                "memberId",
                "You cannot report yourself.",
            ));
        }
        if messages.len() > REPORTED_MESSAGES_MAX {
            return Err(ServiceError::invalid(
                "messageIds",
                format!("A report carries at most {REPORTED_MESSAGES_MAX} messages."),
            ));
        }
        if text.chars().count() > REPORT_TEXT_MAX {
            return Err(ServiceError::invalid(
                "text",
                format!("Use at most {REPORT_TEXT_MAX} characters."),
            ));
        }
        if let Some(why) = plain_text_problem(&text, true) {
            return Err(ServiceError::invalid("text", why));
        }
        self.limiter
            .take(
                LimitKind::Report,
                &actor.id.to_string(),
                Limit::per_window(REPORTS_PER_DAY, 24 * 3600),
            )
            .map_err(ServiceError::RateLimited)?;
        let now = self.clock.now();
        let report = Report {
            id: ReportId(uuid_v7(now.as_millisecond(), rand::random())),
            reporter: actor.id,
            reported,
            category,
            text,
            media,
            created_at: now,
            outcome: None,
        };
        self.store
            .write(move |tx| {
                if tx.users().get(report.reported)?.is_none() {
                    return Ok(Err(ServiceError::not_found()));
                }
                if let Some(id) = report.media
                    && tx
                        .media()
                        .get(id)?
                        .is_none_or(|m| m.owner != report.reported)
                {
                    return Ok(Err(ServiceError::invalid(
                        "mediaId",
                        "That photo is not this member's.",
                    )));
                }
                let mut carried = Vec::with_capacity(messages.len());
                for id in &messages {
                    match reported_message(tx, *id, report.reporter, report.reported)? {
                        Some(m) => carried.push(m),
                        None => {
                            return Ok(Err(ServiceError::invalid(
                                "messageIds",
                                "Only messages of your conversation with this member can be reported.",
                            )));
                        }
                    }
                }
                tx.reports().put(&report)?;
                if !carried.is_empty() {
                    tx.reports().put_messages(report.id, &carried)?;
                }
                tx.emit(Event::ReportFiled { report: report.id });
                Ok(Ok(report.id))
            })
            .await?
    }

    /// Warnings from the moderators the member has not acknowledged.
    pub fn warnings(&self, actor: &Actor) -> Result<Vec<Warning>, ServiceError> {
        let me = actor.id;
        Ok(self.store.lookup(|rx| rx.reports().warnings_of(me))?)
    }

    pub async fn acknowledge(&self, actor: &Actor, report: ReportId) -> Result<(), ServiceError> {
        let me = actor.id;
        self.store
            .write(move |tx| {
                if tx.reports().acknowledge(me, report)? {
                    Ok(Ok(()))
                } else {
                    Ok(Err(ServiceError::not_found()))
                }
            })
            .await?
    }

    /// Who liked the member, newest first, when the community lets them see it.
    /// Everyone `member` is matched with (whom their presence is shown to).
    pub fn partners(&self, member: UserId) -> Result<Vec<UserId>, ServiceError> {
        Ok(self.store.lookup(|rx| rx.matches().partners_of(member))?)
    }

    pub fn likers(
        &self,
        actor: &Actor,
        supporter: bool,
        before: Option<(i64, UserId)>,
        limit: usize,
    ) -> Result<Vec<(UserId, Timestamp)>, ServiceError> {
        self.access.require(actor, Permission::View)?;
        if !self
            .settings
            .current()
            .profiles
            .who_liked_me
            .admits(supporter)
        {
            return Err(ServiceError::forbidden(
                "This community does not show who liked you.",
            ));
        }
        let me = actor.id;
        let now = self.clock.now();
        let limit = limit.min(crate::store::MAX_PAGE_ROWS);
        let found = self.store.lookup(|rx| {
            let mut out = Vec::new();
            for (member, ms) in rx.swipes().likers_of(me, before, limit)? {
                if available_to(rx, me, member, now)? {
                    out.push((member, Timestamp::from_millisecond(ms).unwrap_or_default()));
                }
            }
            Ok::<_, StoreError>(out)
        })?;
        Ok(found)
    }
}

/// One swipe inside the batch's write; `used` counts the likes in the window so far.
fn swipe_one(
    tx: &Tx<'_>,
    me: UserId,
    target: UserId,
    action: SwipeAction,
    now: Timestamp,
    limit: u32,
    used: &mut u32,
) -> Result<SwipeOutcome, StoreError> {
    if me == target {
        return Ok(SwipeOutcome::Refused(SwipeRefusal::Yourself));
    }
    if !available_to(tx, me, target, now)? {
        return Ok(SwipeOutcome::Refused(SwipeRefusal::Unavailable));
    }
    let earlier = tx.swipes().get(me, target)?;
    let matched = tx.matches().between(me, target)?;
    if earlier.as_ref().is_some_and(|s| s.action == action) {
        return Ok(SwipeOutcome::AlreadyDone);
    }
    if action == SwipeAction::Pass && matched.is_some() {
        return Ok(SwipeOutcome::Refused(SwipeRefusal::AlreadyMatched));
    }
    if action == SwipeAction::Like && *used >= limit {
        return Ok(SwipeOutcome::Refused(SwipeRefusal::LimitReached));
    }
    let forget_before = now.as_millisecond() - LIKE_WINDOW_MS;
    tx.swipes()
        .put(me, target, &Swipe { action, at: now }, forget_before)?;
    if action == SwipeAction::Pass {
        return Ok(SwipeOutcome::Passed);
    }
    *used += 1;
    let mutual = tx
        .swipes()
        .get(target, me)?
        .is_some_and(|s| s.action == SwipeAction::Like);
    if mutual && matched.is_none() {
        let (a, b) = crate::domain::ids::ordered_pair(me, target);
        let m = Match {
            id: MatchId(uuid_v7(now.as_millisecond(), rand::random())),
            a,
            b,
            created_at: now,
            last_activity: now,
        };
        tx.matches().insert(&m)?;
        for (member, other) in [(me, target), (target, me)] {
            tx.emit(Event::MatchNew {
                id: m.id,
                member,
                other,
            });
        }
        return Ok(SwipeOutcome::Matched(m.id));
    }
    tx.emit(Event::LikeNew {
        from: me,
        to: target,
    });
    Ok(SwipeOutcome::Liked)
}

fn end_match(tx: &Tx<'_>, m: &Match) -> Result<(), StoreError> {
    tx.matches().delete(m)?;
    for member in [m.a, m.b] {
        tx.emit(Event::MatchEnded { id: m.id, member });
    }
    Ok(())
}

/// The moderators' side of reports: the queue and the decisions.
#[derive(Clone)]
pub struct ReportQueue {
    store: Store,
    access: Access,
    clock: SharedClock,
    staff: Staff,
    media: MediaService,
}

impl ReportQueue {
    pub fn new(
        store: Store,
        access: Access,
        clock: SharedClock,
        staff: Staff,
        media: MediaService,
    ) -> Self {
        Self {
            store,
            access,
            clock,
            staff,
            media,
        }
    }

    /// Open reports, oldest first, each with the messages it points at; and how many wait.
    pub async fn open(
        &self,
        actor: &Actor,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<(Report, Vec<ReportedMessage>)>, u64), ServiceError> {
        self.access.require(actor, Permission::Moderate)?;
        Ok(self
            .store
            .read(move |rx| {
                let (reports, total) = rx.reports().open(offset, limit)?;
                let mut out = Vec::with_capacity(reports.len());
                for r in reports {
                    let messages = rx.reports().messages_of(r.id)?;
                    out.push((r, messages));
                }
                Ok::<_, StoreError>((out, total))
            })
            .await?)
    }

    /// Decides an open report; every decision is in the audit log. A warning and a removal
    /// need a note (the member sees a warning's); suspension and banning are the staff
    /// tools' (admins), with the note as the reason.
    pub async fn decide(
        &self,
        actor: &Actor,
        id: ReportId,
        decision: ReportDecision,
        note: &str,
        suspend_until: Option<Timestamp>,
    ) -> Result<(), ServiceError> {
        self.access.require(actor, Permission::Moderate)?;
        let note = tidy_lines(note);
        let report = self
            .store
            .read(move |rx| rx.reports().get(id))
            .await?
            .filter(|r| r.outcome.is_none())
            .ok_or_else(ServiceError::not_found)?;
        if matches!(
            decision,
            ReportDecision::Warn | ReportDecision::Suspend | ReportDecision::Ban
        ) && note.is_empty()
        {
            return Err(ServiceError::invalid(
                "note",
                "Say why: the member sees it.",
            ));
        }
        match decision {
            ReportDecision::Dismiss | ReportDecision::Warn => {}
            ReportDecision::RemovePhoto => {
                let media = report.media.ok_or_else(|| {
                    ServiceError::invalid("decision", "This report is not about a photo.")
                })?;
                self.media
                    .remove(actor, media, &note)
                    .await
                    .map_err(|e| match e {
                        super::media::MediaError::Service(e) => e,
                        other => ServiceError::internal(other),
                    })?;
            }
            ReportDecision::Suspend => {
                let until = suspend_until.ok_or_else(|| {
                    ServiceError::invalid("until", "Say until when the member is suspended.")
                })?;
                self.staff
                    .act(
                        actor,
                        report.reported,
                        StaffAction::Suspend {
                            until,
                            reason: note.clone(),
                        },
                    )
                    .await?;
            }
            ReportDecision::Ban => {
                self.staff
                    .act(
                        actor,
                        report.reported,
                        StaffAction::Ban {
                            reason: note.clone(),
                        },
                    )
                    .await?;
            }
        }
        let now = self.clock.now();
        let entry = audit::entry(
            actor,
            now,
            &format!("report.{}", decision.as_str()),
            &report.reported.to_string(),
            &note,
            &format!("report {} ({})", report.id, report.category.as_str()),
        );
        let outcome = ReportOutcome {
            decision,
            by: actor.id,
            at: now,
            note: note.clone(),
        };
        self.store
            .write(move |tx| {
                let Some(mut report) = tx.reports().get(id)?.filter(|r| r.outcome.is_none()) else {
                    return Ok(Err(ServiceError::conflict(
                        ErrorCode::Conflict,
                        "Another moderator decided this report meanwhile.",
                    )));
                };
                if decision == ReportDecision::Warn {
                    tx.reports().warn(
                        report.reported,
                        &Warning {
                            report: report.id,
                            text: outcome.note.clone(),
                            at: outcome.at,
                        },
                    )?;
                }
                report.outcome = Some(outcome.clone());
                tx.reports().put(&report)?;
                tx.emit(Event::ReportDecided {
                    report: report.id,
                    reporter: report.reporter,
                });
                audit::record(tx, &entry)?;
                Ok(Ok(()))
            })
            .await?
    }
}

/// A message as a report carries it, if it belongs to a conversation between the two.
fn reported_message(
    tx: &Tx<'_>,
    id: MessageId,
    reporter: UserId,
    reported: UserId,
) -> Result<Option<ReportedMessage>, StoreError> {
    let Some(message) = tx.messages().message(id)? else {
        return Ok(None);
    };
    let between = tx
        .messages()
        .conversation(message.conversation)?
        .is_some_and(|c| c.involves(reporter) && c.involves(reported));
    Ok(between.then_some(ReportedMessage {
        id: message.id,
        author: message.author,
        text: message.text,
        media: message.media,
        sent_at: message.sent_at,
        deleted: message.deleted,
    }))
}

/// Likes, passes, matches, blocks and reports in a member's data.
pub fn member_data() -> Vec<Box<dyn MemberData>> {
    vec![Box::new(MatchingPart)]
}

struct MatchingPart;

impl MemberData for MatchingPart {
    fn name(&self) -> &'static str {
        "matching"
    }

    fn export(&self, rx: &Rx, user: &User) -> Result<Value, StoreError> {
        let matches: Vec<Value> = rx
            .matches()
            .of_member(user.id, None, usize::MAX)?
            .iter()
            .map(|m| json!({"with": m.other(user.id).to_string(), "since": m.created_at.to_string()}))
            .collect();
        let blocked: Vec<String> = rx
            .blocks()
            .blocked_by(user.id)?
            .iter()
            .map(|(id, _)| id.to_string())
            .collect();
        let swipes: Vec<Value> = rx
            .swipes()
            .targets_of(user.id)?
            .into_iter()
            .filter_map(|t| {
                rx.swipes()
                    .get(user.id, t)
                    .ok()
                    .flatten()
                    .map(|s| json!({"member": t.to_string(), "action": s.action.as_str(), "at": s.at.to_string()}))
            })
            .collect();
        let warnings: Vec<Value> = rx
            .reports()
            .warnings_of(user.id)?
            .iter()
            .map(|w| json!({"text": w.text, "at": w.at.to_string()}))
            .collect();
        Ok(json!({"swipes": swipes, "matches": matches, "blocked": blocked, "warnings": warnings}))
    }

    fn erase(&self, tx: &Tx<'_>, user: &User) -> Result<(), StoreError> {
        tx.swipes().erase_member(user.id)?;
        tx.matches().erase_member(user.id)?;
        tx.blocks().erase_member(user.id)?;
        tx.reports().erase_member(user.id)?;
        tx.profiles().erase_views(user.id)
    }
}
