//! Liking and passing from a member's page, matches (with the moment a match happens), who
//! liked and who viewed me, blocks, reports and the moderators' warnings. Plain forms.

use askama::Template;
use poem::web::{Form, Path, Query, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::{PageContext, flash, render, signed_in, state_of};
use crate::domain::ids::Between;
use crate::domain::ids::{MatchId, UserId};
use crate::domain::matching::REPORTED_MESSAGES_MAX;
use crate::domain::matching::{ReportCategory, SwipeAction, SwipeOutcome, Warning};
use crate::http::auth::{CsrfForm, Viewer, verify_csrf};
use crate::http::error::AppError;
use crate::http::routing::Routes;
use crate::http::state::AppState;
use crate::service::access::Actor;
use crate::service::profiles::ProfileCard;

pub fn routes() -> Routes {
    Routes::new()
        .post("/members/:id/swipe", swipe)
        .post("/members/:id/block", block)
        .post("/members/:id/unblock", unblock)
        .post("/members/:id/report", report)
        .get("/matches", matches_page)
        .post("/matches/:id/unmatch", unmatch)
        .get("/likes", likers_page)
        .get("/viewers", viewers_page)
        .get("/blocks", blocks_page)
        .post("/warnings/:id/acknowledge", acknowledge)
}

fn member_id(raw: &str) -> Result<UserId, AppError> {
    raw.parse().map_err(|_| AppError::not_found())
}

#[derive(Deserialize)]
pub struct SwipeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
}

/// Like or pass from a member's page; a match goes to the matches page, which celebrates it.
#[handler]
pub async fn swipe(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<SwipeForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    swipe_from_form(
        req,
        state,
        &me.actor(),
        member_id(&id)?,
        &input.action,
        false,
    )
    .await
}

/// One like or pass sent by a form, from a member's page or from the deck (`from_deck`: back
/// to the next card, saying only what is not plain from it).
pub(super) async fn swipe_from_form(
    req: &Request,
    state: &AppState,
    actor: &Actor,
    target: UserId,
    action: &str,
    from_deck: bool,
) -> Result<Response, AppError> {
    let action = match action {
        "like" => SwipeAction::Like,
        "pass" => SwipeAction::Pass,
        _ => return Err(AppError::invalid("action", "Choose like or pass.")),
    };
    let (results, _) = state.matching.swipe(actor, vec![(target, action)]).await?;
    let back = if from_deck {
        "/discover".to_string()
    } else {
        format!("/members/{target}")
    };
    let (message, to) = match results.first().map(|r| &r.outcome) {
        Some(SwipeOutcome::Matched(id)) => (Some("It's a match!"), format!("/matches?new={id}")),
        Some(SwipeOutcome::Refused(why)) => (Some(why.message()), back),
        _ if from_deck => (None, back),
        Some(SwipeOutcome::Liked) => (Some("Liked. If they like you too, it's a match."), back),
        Some(SwipeOutcome::Passed) => (Some("Passed."), back),
        Some(SwipeOutcome::AlreadyDone) | None => (Some("Already done."), back),
    };
    if let Some(message) = message {
        flash::set(req, message);
    }
    Ok(Redirect::see_other(to).into_response())
}

#[handler]
pub async fn block(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    set_block(req, &viewer, &id, &input.csrf, true).await
}

#[handler]
pub async fn unblock(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    set_block(req, &viewer, &id, &input.csrf, false).await
}

async fn set_block(
    req: &Request,
    viewer: &Viewer,
    id: &str,
    csrf: &str,
    blocking: bool,
) -> Result<Response, AppError> {
    let me = signed_in(viewer, req.uri().path())?;
    let state = state_of(req)?;
    verify_csrf(req, state, viewer, Some(csrf))?;
    let target = member_id(id)?;
    if blocking {
        state.matching.block(&me.actor(), target).await?;
        flash::set(req, "Blocked. You will not see each other any more.");
    } else {
        state.matching.unblock(&me.actor(), target).await?;
        flash::set(req, "Unblocked.");
    }
    Ok(Redirect::see_other("/blocks").into_response())
}

#[derive(Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    text: String,
    /// "yes" to block as well.
    #[serde(default)]
    block: String,
    /// Sent from a conversation: its id, and "yes" to send the other member's last messages.
    #[serde(default)]
    conversation: String,
    #[serde(default)]
    include_messages: String,
}

#[handler]
pub async fn report(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<ReportForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let target = member_id(&id)?;
    let category = ReportCategory::parse(&input.category)
        .ok_or_else(|| AppError::invalid("category", "Choose what the report is about."))?;
    let actor = me.actor();
    let messages = if input.include_messages == "yes" && !input.conversation.is_empty() {
        let conversation = input
            .conversation
            .parse()
            .map_err(|_| AppError::not_found())?;
        let mut theirs: Vec<_> = state
            .messages
            .page(&actor, conversation, None, None, 100)?
            .into_iter()
            .filter(|m| m.author == target)
            .map(|m| m.id)
            .collect();
        theirs.drain(..theirs.len().saturating_sub(REPORTED_MESSAGES_MAX));
        theirs
    } else {
        Vec::new()
    };
    state
        .matching
        .report(&actor, target, category, &input.text, None, messages)
        .await?;
    if input.block == "yes" {
        state.matching.block(&actor, target).await?;
        flash::set(
            req,
            "Thank you: the moderators will look at it. You will not see each other any more.",
        );
        return Ok(Redirect::see_other("/blocks").into_response());
    }
    flash::set(req, "Thank you: the moderators will look at it.");
    Ok(Redirect::see_other(format!("/members/{target}")).into_response())
}

/// A match as the matches page shows it.
#[derive(Clone)]
pub struct MatchRow {
    pub id: MatchId,
    pub card: ProfileCard,
    pub created_at: String,
}

#[derive(Template)]
#[template(path = "matches.html")]
struct MatchesPage {
    page: PageContext,
    rows: Vec<MatchRow>,
    /// The match just made, celebrated at the top.
    new: Option<MatchRow>,
    me: Option<ProfileCard>,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct MatchesQuery {
    new: Option<String>,
    before: Option<String>,
}

#[handler]
pub async fn matches_page(
    req: &Request,
    viewer: Viewer,
    Query(query): Query<MatchesQuery>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/matches")?;
    let state = state_of(req)?;
    let actor = me.actor();
    let before = query.before.as_deref().and_then(|b| b.parse().ok());
    let (found, next) = state.matching.matches(&actor, before, 50)?;
    let rows: Vec<MatchRow> = state
        .profiles
        .cards_for(&actor, found.iter().map(|m| (m.other(actor.id), m)))?
        .into_iter()
        .map(|(card, m)| MatchRow {
            id: m.id,
            card,
            created_at: m.created_at.strftime("%Y-%m-%d").to_string(),
        })
        .collect();
    let new_id: Option<MatchId> = query.new.as_deref().and_then(|n| n.parse().ok());
    let new = rows.iter().find(|r| Some(r.id) == new_id).cloned();
    let me_card = match new {
        Some(_) => state.profiles.mine(&actor)?.map(|own| own.card),
        None => None,
    };
    Ok(render(&MatchesPage {
        page: PageContext::new(req, state, &viewer),
        rows,
        new,
        me: me_card,
        next: next.map(|id| id.to_string()),
    })?
    .into_response())
}

#[handler]
pub async fn unmatch(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/matches")?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let id = id.parse().map_err(|_| AppError::not_found())?;
    state.matching.unmatch(&me.actor(), id).await?;
    flash::set(req, "Unmatched.");
    Ok(Redirect::see_other("/matches").into_response())
}

#[derive(Template)]
#[template(path = "people.html")]
struct PeoplePage {
    page: PageContext,
    heading: &'static str,
    empty: &'static str,
    people: Vec<(ProfileCard, String)>,
}

async fn people_page(
    req: &Request,
    viewer: &Viewer,
    who_liked: bool,
) -> Result<Response, AppError> {
    let me = signed_in(viewer, req.uri().path())?;
    let state = state_of(req)?;
    let actor = me.actor();
    let found = if who_liked {
        state
            .matching
            .likers(&actor, me.user.supporter, None, 100)?
    } else {
        state
            .profiles
            .viewers(&actor, me.user.supporter, None, 100)?
    };
    let people = state
        .profiles
        .cards_for(&actor, found)?
        .into_iter()
        .map(|(card, at)| (card, at.strftime("%Y-%m-%d").to_string()))
        .collect();
    let (heading, empty) = if who_liked {
        (
            "Who liked you",
            "Nobody yet. A complete profile with photos helps.",
        )
    } else {
        ("Who viewed you", "Nobody yet.")
    };
    Ok(render(&PeoplePage {
        page: PageContext::new(req, state, viewer),
        heading,
        empty,
        people,
    })?
    .into_response())
}

#[handler]
pub async fn likers_page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    people_page(req, &viewer, true).await
}

#[handler]
pub async fn viewers_page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    people_page(req, &viewer, false).await
}

#[derive(Template)]
#[template(path = "blocks.html")]
struct BlocksPage {
    page: PageContext,
    blocked: Vec<(UserId, String)>,
}

#[handler]
pub async fn blocks_page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/blocks")?;
    let state = state_of(req)?;
    let blocked = state
        .matching
        .blocked(&me.actor())?
        .into_iter()
        .map(|(id, at)| (id, at.strftime("%Y-%m-%d").to_string()))
        .collect();
    Ok(render(&BlocksPage {
        page: PageContext::new(req, state, &viewer),
        blocked,
    })?
    .into_response())
}

#[handler]
pub async fn acknowledge(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(input): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/profile")?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let id = id.parse().map_err(|_| AppError::not_found())?;
    state.matching.acknowledge(&me.actor(), id).await?;
    Ok(Redirect::see_other("/profile").into_response())
}

/// Warnings the member has not acknowledged (shown on their profile page).
pub fn warnings_of(state: &crate::http::AppState, viewer: &Viewer) -> Vec<Warning> {
    viewer
        .0
        .as_ref()
        .and_then(|me| state.matching.warnings(&me.actor()).ok())
        .unwrap_or_default()
}
