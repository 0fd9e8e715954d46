//! Likes, passes and matches (`/api/v1/swipes`, `/api/v1/matches`, `/api/v1/likes`), who
//! liked or viewed me, blocks, reports and warnings; and the reports queue for moderators.

use jiff::Timestamp;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Enum, Object, OpenApi};

use super::me::{Done, acting};
use super::profiles::ProfileView;
use super::reply::Reply;
use super::text::Text;
use super::{
    ApiTags, Data, Feed, Listed, PageRequest, feed, format_keyed_cursor, id_cursor, keyed_cursor,
};
use crate::domain::ids::Between;
use crate::domain::ids::{MatchId, ReportId, UserId};
use crate::domain::matching::{
    Report, ReportCategory, ReportDecision, ReportedMessage, SwipeAction, SwipeOutcome,
};
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::state_of;
use crate::service::access::Actor;
use crate::service::matching::LikeAllowance;

pub struct MatchingApi;

#[derive(Enum, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum SwipeKind {
    Like,
    Pass,
}

impl From<SwipeKind> for SwipeAction {
    fn from(a: SwipeKind) -> Self {
        match a {
            SwipeKind::Like => SwipeAction::Like,
            SwipeKind::Pass => SwipeAction::Pass,
        }
    }
}

impl From<SwipeAction> for SwipeKind {
    fn from(a: SwipeAction) -> Self {
        match a {
            SwipeAction::Like => SwipeKind::Like,
            SwipeAction::Pass => SwipeKind::Pass,
        }
    }
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct SwipeInput {
    #[oai(validator(max_length = 36))]
    pub target_id: Text,
    pub action: SwipeKind,
}

/// 1 to 50 swipes, each member once.
#[derive(Object, serde::Serialize)]
pub struct SwipeBatch {
    #[oai(validator(min_items = 1, max_items = 50))]
    pub swipes: Vec<SwipeInput>,
}

/// What came of one swipe.
#[derive(Enum, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum SwipeResultKind {
    Liked,
    Passed,
    Matched,
    AlreadyDone,
    Refused,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct SwipeResultView {
    pub target_id: String,
    pub action: SwipeKind,
    pub result: SwipeResultKind,
    /// For `matched`: the new match.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub match_id: Option<String>,
    /// For `refused`: YOURSELF, UNAVAILABLE, LIMIT_REACHED or ALREADY_MATCHED.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(ApiResponse)]
pub enum Swiped {
    /// One result per swipe, in order. The `X-RateLimit-*` headers are the daily like limit.
    #[oai(status = 200)]
    Done(
        Reply<Data<Vec<SwipeResultView>>>,
        /// Likes allowed in any 24 hours.
        #[oai(header = "X-RateLimit-Limit")]
        u32,
        /// Likes left now.
        #[oai(header = "X-RateLimit-Remaining")]
        u32,
        /// Unix time (seconds) when the oldest like in the window stops counting.
        #[oai(header = "X-RateLimit-Reset")]
        i64,
    ),
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct MemberRef {
    pub member_id: String,
}

/// A member in a list, with when.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct MemberAt {
    pub profile: ProfileView,
    pub at: String,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct MatchView {
    pub id: String,
    pub member: ProfileView,
    pub created_at: String,
    pub last_activity: String,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct BlockInput {
    #[oai(validator(max_length = 36))]
    pub member_id: Text,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct BlockView {
    pub member_id: String,
    pub blocked_at: String,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ReportCategoryView {
    Spam,
    Harassment,
    FakeProfile,
    InappropriatePhoto,
    Underage,
    Other,
}

impl From<ReportCategoryView> for ReportCategory {
    fn from(c: ReportCategoryView) -> Self {
        match c {
            ReportCategoryView::Spam => Self::Spam,
            ReportCategoryView::Harassment => Self::Harassment,
            ReportCategoryView::FakeProfile => Self::FakeProfile,
            ReportCategoryView::InappropriatePhoto => Self::InappropriatePhoto,
            ReportCategoryView::Underage => Self::Underage,
            ReportCategoryView::Other => Self::Other,
        }
    }
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ReportInput {
    #[oai(validator(max_length = 36))]
    pub member_id: Text,
    pub category: ReportCategoryView,
    /// What happened, for the moderators (plain text, up to 2,000 characters).
    #[oai(nullable, default, validator(max_length = 2000))]
    pub text: Text,
    /// The photo the report is about, if any.
    #[oai(nullable, skip_serializing_if_is_none, validator(max_length = 36))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_id: Option<Text>,
    /// Messages of the caller's conversation with the member that the report is about (at
    /// most 20); the moderators see them as they are now, whatever happens to them later.
    #[oai(nullable, default, validator(max_items = 20, max_length = 36))]
    pub message_ids: Vec<Text>,
}

#[derive(Object, serde::Serialize)]
pub struct ReportCreated {
    pub id: String,
}

#[derive(ApiResponse)]
pub enum Reported {
    /// The moderators will look at it.
    #[oai(status = 201)]
    Created(Reply<Data<ReportCreated>>),
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct WarningView {
    /// Acknowledge with this id.
    pub id: String,
    pub text: String,
    pub at: String,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ReportView {
    pub id: String,
    pub reporter_id: String,
    pub reported_id: String,
    pub category: String,
    pub text: String,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    pub created_at: String,
    /// The messages the report points at, as they were when it was made.
    pub messages: Vec<ReportedMessageView>,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ReportedMessageView {
    pub id: String,
    pub author_id: String,
    pub text: String,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    pub sent_at: String,
    /// Its author had deleted it when it was reported.
    pub deleted: bool,
}

impl ReportView {
    fn of(r: &Report, messages: &[ReportedMessage]) -> Self {
        Self {
            id: r.id.to_string(),
            reporter_id: r.reporter.to_string(),
            reported_id: r.reported.to_string(),
            category: r.category.as_str().into(),
            text: r.text.clone(),
            media_id: r.media.map(|m| m.to_string()),
            created_at: r.created_at.to_string(),
            messages: messages
                .iter()
                .map(|m| ReportedMessageView {
                    id: m.id.to_string(),
                    author_id: m.author.to_string(),
                    text: m.text.clone(),
                    media_id: m.media.map(|id| id.to_string()),
                    sent_at: m.sent_at.to_string(),
                    deleted: m.deleted,
                })
                .collect(),
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ReportVerdict {
    Dismiss,
    Warn,
    RemovePhoto,
    Suspend,
    Ban,
}

impl From<ReportVerdict> for ReportDecision {
    fn from(d: ReportVerdict) -> Self {
        match d {
            ReportVerdict::Dismiss => Self::Dismiss,
            ReportVerdict::Warn => Self::Warn,
            ReportVerdict::RemovePhoto => Self::RemovePhoto,
            ReportVerdict::Suspend => Self::Suspend,
            ReportVerdict::Ban => Self::Ban,
        }
    }
}

/// A moderator's decision. A warning, suspension or ban needs a note (the member sees a
/// warning's); a suspension needs `until`; suspending and banning are for admins.
#[derive(Object, serde::Serialize)]
pub struct ReportDecisionInput {
    pub decision: ReportVerdict,
    #[oai(nullable, default, validator(max_length = 2000))]
    pub note: Text,
    /// RFC 3339 time the suspension ends.
    #[oai(nullable, skip_serializing_if_is_none, validator(max_length = 40))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<Text>,
}

fn parse_member(raw: &str, field: &'static str) -> Result<UserId, AppError> {
    raw.parse()
        .map_err(|_| AppError::invalid(field, "Give a member id as the API shows it."))
}

fn path_id<T: std::str::FromStr>(raw: &str) -> Result<T, AppError> {
    raw.parse().map_err(|_| AppError::not_found())
}

/// Profiles for a list of (member, when), in order, leaving out those the viewer may not see.
pub fn people(
    req: &Request,
    actor: &Actor,
    found: Vec<(UserId, Timestamp)>,
) -> Result<Vec<MemberAt>, AppError> {
    Ok(state_of(req)?
        .profiles
        .cards_for(actor, found)?
        .iter()
        .map(|(card, at)| MemberAt {
            profile: ProfileView::from(card),
            at: at.to_string(),
        })
        .collect())
}

/// [`people`] as a feed page, with the next cursor.
fn people_feed(
    req: &Request,
    actor: &Actor,
    found: Vec<(UserId, Timestamp)>,
    limit: u32,
) -> Result<Feed<MemberAt>, AppError> {
    let next = (found.len() == limit as usize)
        .then(|| {
            found
                .last()
                .map(|(id, at)| format_keyed_cursor((at.as_millisecond(), *id)))
        })
        .flatten();
    Ok(feed(people(req, actor, found)?, limit, next))
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Matching")]
impl MatchingApi {
    /// Like or pass
    ///
    /// One to 50 decisions, each member once; one result per item (liked, passed, matched,
    /// already done, or refused with a code). Replaying a batch changes nothing. Likes count
    /// against a daily limit (`X-RateLimit-*`); the likes past it are refused one by one and
    /// the rest stand. Needs a profile (`409 PROFILE_REQUIRED`).
    #[oai(path = "/swipes", method = "post", operation_id = "swipe")]
    async fn swipe(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<SwipeBatch>,
    ) -> Result<Swiped, AppError> {
        let me = acting(req, &viewer)?;
        let mut batch = Vec::with_capacity(body.0.swipes.len());
        for s in &body.0.swipes {
            batch.push((parse_member(&s.target_id, "targetId")?, s.action.into()));
        }
        let (results, allowance) = state_of(req)?.matching.swipe(&me.actor(), batch).await?;
        let data = results
            .into_iter()
            .map(|r| {
                let (result, match_id, refusal) = match r.outcome {
                    SwipeOutcome::Liked => (SwipeResultKind::Liked, None, None),
                    SwipeOutcome::Passed => (SwipeResultKind::Passed, None, None),
                    SwipeOutcome::Matched(id) => (SwipeResultKind::Matched, Some(id), None),
                    SwipeOutcome::AlreadyDone => (SwipeResultKind::AlreadyDone, None, None),
                    SwipeOutcome::Refused(why) => (SwipeResultKind::Refused, None, Some(why)),
                };
                SwipeResultView {
                    target_id: r.target.to_string(),
                    action: r.action.into(),
                    result,
                    match_id: match_id.map(|id| id.to_string()),
                    code: refusal.map(|w| w.code().into()),
                    message: refusal.map(|w| w.message().into()),
                }
            })
            .collect();
        let LikeAllowance {
            limit,
            remaining,
            reset_at,
        } = allowance;
        Ok(Swiped::Done(
            Reply(Data { data }),
            limit,
            remaining,
            reset_at,
        ))
    }

    /// Undo my last pass
    ///
    /// The member passed on comes round again. `404` when there is no recent pass.
    #[oai(
        path = "/swipes/last-pass",
        method = "delete",
        operation_id = "undoLastPass"
    )]
    async fn undo_pass(
        &self,
        req: &Request,
        viewer: Viewer,
    ) -> Result<Reply<Data<MemberRef>>, AppError> {
        let me = acting(req, &viewer)?;
        let member = state_of(req)?.matching.undo_last_pass(&me.actor()).await?;
        Ok(Reply(Data {
            data: MemberRef {
                member_id: member.to_string(),
            },
        }))
    }

    /// Take back a like
    ///
    /// Only while it has not made a match (`409` then: unmatch instead).
    #[oai(path = "/likes/:member_id", method = "delete", operation_id = "unlike")]
    async fn unlike(
        &self,
        req: &Request,
        viewer: Viewer,
        member_id: Path<String>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        state_of(req)?
            .matching
            .unlike(&me.actor(), path_id(&member_id.0)?)
            .await?;
        Ok(Done::Done)
    }

    /// Who liked me
    ///
    /// Newest first, when the community shows it to the member (`403` otherwise).
    #[oai(
        path = "/likes/received",
        method = "get",
        operation_id = "listLikesReceived"
    )]
    async fn likers(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(validator(max_length = 60))] cursor: Query<Option<String>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Feed<MemberAt>>, AppError> {
        let me = viewer.require()?;
        let actor = me.actor();
        let limit = PageRequest::new(None, limit.0).limit;
        let found = state_of(req)?.matching.likers(
            &actor,
            me.user.supporter,
            keyed_cursor(cursor.0.as_deref())?,
            limit as usize,
        )?;
        Ok(Reply(people_feed(req, &actor, found, limit)?))
    }

    /// Who viewed me
    ///
    /// One entry per member, at their latest look, newest first, when the community shows
    /// it to the member (`403` otherwise).
    #[oai(path = "/me/viewers", method = "get", operation_id = "listMyViewers")]
    async fn viewers(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(validator(max_length = 60))] cursor: Query<Option<String>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Feed<MemberAt>>, AppError> {
        let me = viewer.require()?;
        let actor = me.actor();
        let limit = PageRequest::new(None, limit.0).limit;
        let found = state_of(req)?.profiles.viewers(
            &actor,
            me.user.supporter,
            keyed_cursor(cursor.0.as_deref())?,
            limit as usize,
        )?;
        Ok(Reply(people_feed(req, &actor, found, limit)?))
    }

    /// My matches
    ///
    /// Newest first; a feed (`cursor`).
    #[oai(path = "/matches", method = "get", operation_id = "listMatches")]
    async fn matches(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(validator(max_length = 36))] cursor: Query<Option<String>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Feed<MatchView>>, AppError> {
        let me = viewer.require()?;
        let actor = me.actor();
        let before: Option<MatchId> = id_cursor(cursor.0.as_deref())?;
        let limit = PageRequest::new(None, limit.0).limit;
        let state = state_of(req)?;
        let (found, next) = state.matching.matches(&actor, before, limit as usize)?;
        let data = state
            .profiles
            .cards_for(&actor, found.into_iter().map(|m| (m.other(actor.id), m)))?
            .iter()
            .map(|(card, m)| MatchView {
                id: m.id.to_string(),
                member: ProfileView::from(card),
                created_at: m.created_at.to_string(),
                last_activity: m.last_activity.to_string(),
            })
            .collect();
        Ok(Reply(feed(data, limit, next.map(|id| id.to_string()))))
    }

    /// Unmatch
    ///
    /// Ends the match for both; the other member is not told who left.
    #[oai(path = "/matches/:id", method = "delete", operation_id = "unmatch")]
    async fn unmatch(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        state_of(req)?
            .matching
            .unmatch(&me.actor(), path_id(&id.0)?)
            .await?;
        Ok(Done::Done)
    }

    /// Block a member
    ///
    /// Each disappears from the other's profiles, lists, deck and matches; a match ends.
    #[oai(path = "/blocks", method = "post", operation_id = "block")]
    async fn block(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<BlockInput>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        let target = parse_member(&body.0.member_id, "memberId")?;
        state_of(req)?.matching.block(&me.actor(), target).await?;
        Ok(Done::Done)
    }

    /// Unblock a member
    #[oai(
        path = "/blocks/:member_id",
        method = "delete",
        operation_id = "unblock"
    )]
    async fn unblock(
        &self,
        req: &Request,
        viewer: Viewer,
        member_id: Path<String>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        state_of(req)?
            .matching
            .unblock(&me.actor(), path_id(&member_id.0)?)
            .await?;
        Ok(Done::Done)
    }

    /// Members I blocked
    #[oai(path = "/blocks", method = "get", operation_id = "listBlocks")]
    async fn blocks(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(validator(minimum(value = "1"), maximum(value = "100000")))] page: Query<Option<u32>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Listed<BlockView>>, AppError> {
        let me = viewer.require()?;
        let all = state_of(req)?
            .matching
            .blocked(&me.actor())?
            .into_iter()
            .map(|(id, at)| BlockView {
                member_id: id.to_string(),
                blocked_at: at.to_string(),
            })
            .collect();
        Ok(Reply(PageRequest::new(page.0, limit.0).slice(all)))
    }

    /// Report a member
    ///
    /// To the moderators' queue, with a category and what happened; optionally about one of
    /// their photos.
    #[oai(path = "/reports", method = "post", operation_id = "report")]
    async fn report(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<ReportInput>,
    ) -> Result<Reported, AppError> {
        let me = acting(req, &viewer)?;
        let input = body.0;
        let reported = parse_member(&input.member_id, "memberId")?;
        let media = match input.media_id.as_deref() {
            Some(raw) => Some(raw.parse().map_err(|_| {
                AppError::invalid("mediaId", "Give a photo id as the API shows it.")
            })?),
            None => None,
        };
        let messages = input
            .message_ids
            .iter()
            .map(|raw| {
                raw.parse().map_err(|_| {
                    AppError::invalid("messageIds", "Give message ids as the API shows them.")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let id = state_of(req)?
            .matching
            .report(
                &me.actor(),
                reported,
                input.category.into(),
                &input.text,
                media,
                messages,
            )
            .await?;
        Ok(Reported::Created(Reply(Data {
            data: ReportCreated { id: id.to_string() },
        })))
    }

    /// My warnings
    ///
    /// Warnings from the moderators that the member has not acknowledged.
    #[oai(path = "/me/warnings", method = "get", operation_id = "listMyWarnings")]
    async fn warnings(
        &self,
        req: &Request,
        viewer: Viewer,
    ) -> Result<Reply<Data<Vec<WarningView>>>, AppError> {
        let me = viewer.require()?;
        let data = state_of(req)?
            .matching
            .warnings(&me.actor())?
            .into_iter()
            .map(|w| WarningView {
                id: w.report.to_string(),
                text: w.text,
                at: w.at.to_string(),
            })
            .collect();
        Ok(Reply(Data { data }))
    }

    /// Acknowledge a warning
    #[oai(
        path = "/me/warnings/:id",
        method = "delete",
        operation_id = "acknowledgeWarning"
    )]
    async fn acknowledge(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        state_of(req)?
            .matching
            .acknowledge(&me.actor(), path_id(&id.0)?)
            .await?;
        Ok(Done::Done)
    }

    /// The reports queue
    ///
    /// Open reports, oldest first (moderators).
    #[oai(path = "/admin/reports", method = "get", operation_id = "listReports")]
    async fn reports(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(validator(minimum(value = "1"), maximum(value = "100000")))] page: Query<Option<u32>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Listed<ReportView>>, AppError> {
        let me = viewer.require()?;
        let page = PageRequest::new(page.0, limit.0);
        let (found, total) = state_of(req)?
            .reports
            .open(&me.actor(), page.offset(), page.limit())
            .await?;
        Ok(Reply(
            page.answer(
                found
                    .iter()
                    .map(|(r, messages)| ReportView::of(r, messages))
                    .collect(),
                total,
            ),
        ))
    }

    /// Decide a report
    ///
    /// Dismiss, warn (the member sees the note), remove the reported photo, suspend until a
    /// time, or ban; every decision is in the audit log.
    #[oai(
        path = "/admin/reports/:id/decision",
        method = "post",
        operation_id = "decideReport"
    )]
    async fn decide(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        body: Json<ReportDecisionInput>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        let id: ReportId = path_id(&id.0)?;
        let until = match body.0.until.as_deref() {
            Some(raw) => Some(raw.parse::<Timestamp>().map_err(|_| {
                AppError::invalid(
                    "until",
                    "Give an RFC 3339 time such as 2026-12-31T12:00:00Z.",
                )
            })?),
            None => None,
        };
        state_of(req)?
            .reports
            .decide(&me.actor(), id, body.0.decision.into(), &body.0.note, until)
            .await?;
        Ok(Done::Done)
    }
}
