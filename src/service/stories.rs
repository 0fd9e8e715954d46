//! Stories: a member shares a photo or video from their library with a caption, for 24 hours,
//! with their matches or with every member. A durable job removes it when it expires (and the
//! upload with it, unless the profile shows it); from that moment it is not found anywhere,
//! whatever a client cached. Blocks, standing and pauses apply as everywhere else.

use std::collections::HashSet;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::access::{Access, Actor};
use super::error::ServiceError;
use super::limits::{Limit, LimitKind, RateLimiter};
use super::matching::available_to;
use super::member_data::MemberData;
use crate::clock::SharedClock;
use crate::domain::account::User;
use crate::domain::ids::{MediaId, StoryId, UserId, uuid_v7};
use crate::domain::permission::Permission;
use crate::domain::story::{Audience, CAPTION_MAX, LIFETIME, Story};
use crate::domain::text::plain_text_problem;
use crate::events::Event;
use crate::jobs::{EnqueueOptions, JobError, JobPlan, JobQueue};
use crate::store::{Rx, Store, StoreError, Tx};

/// The job that removes a story when it expires.
pub const EXPIRE: &str = "stories.expire";

#[derive(Clone)]
pub struct Stories {
    store: Store,
    access: Access,
    clock: SharedClock,
    queue: JobQueue,
    limiter: Arc<RateLimiter>,
}

/// Stories a member may share in a day (each holds a job and an upload for a day).
const STORIES_PER_DAY: u32 = 20;

/// Whether `viewer` may see `story` now.
fn may_see(rx: &Rx, viewer: UserId, story: &Story, now: Timestamp) -> Result<bool, StoreError> {
    if !story.is_live_at(now) {
        return Ok(false);
    }
    if story.author == viewer {
        return Ok(true);
    }
    if !available_to(rx, viewer, story.author, now)? {
        return Ok(false);
    }
    Ok(match story.audience {
        Audience::Members => true,
        Audience::Matches => rx.matches().between(viewer, story.author)?.is_some(),
    })
}

impl Stories {
    pub fn new(
        store: Store,
        access: Access,
        clock: SharedClock,
        queue: JobQueue,
        limiter: Arc<RateLimiter>,
    ) -> Self {
        Self {
            store,
            access,
            clock,
            queue,
            limiter,
        }
    }

    /// Shares an upload of the member's as a story for 24 hours.
    pub async fn create(
        &self,
        actor: &Actor,
        media: MediaId,
        caption: &str,
        audience: Audience,
    ) -> Result<Story, ServiceError> {
        self.access.require(actor, Permission::Create)?;
        let caption = caption.split_whitespace().collect::<Vec<_>>().join(" ");
        if caption.chars().count() > CAPTION_MAX {
            return Err(ServiceError::invalid(
                "caption",
                format!("Use at most {CAPTION_MAX} characters."),
            ));
        }
        if let Some(why) = plain_text_problem(&caption, false) {
            return Err(ServiceError::invalid("caption", why));
        }
        self.limiter
            .take(
                LimitKind::Story,
                &actor.id.to_string(),
                Limit::per_window(STORIES_PER_DAY, 24 * 3600),
            )
            .map_err(ServiceError::RateLimited)?;
        let now = self.clock.now();
        let story = Story {
            id: StoryId(uuid_v7(now.as_millisecond(), rand::random())),
            author: actor.id,
            media,
            caption,
            audience,
            created_at: now,
            expires_at: now + LIFETIME,
        };
        let job = self
            .queue
            .new_job(
                EXPIRE,
                &story.id,
                EnqueueOptions {
                    dedupe_key: None,
                    run_at: Some(story.expires_at),
                },
            )
            .map_err(ServiceError::from)?;
        let saved = story.clone();
        self.store
            .write(move |tx| {
                let usable = tx
                    .media()
                    .get(saved.media)?
                    .is_some_and(|m| m.usable_by(saved.author).is_ok());
                if !usable {
                    return Ok(Err(ServiceError::invalid(
                        "mediaId",
                        "Choose a photo or video from your library.",
                    )));
                }
                tx.stories().insert(&saved)?;
                tx.jobs().enqueue(&job)?;
                tx.emit(Event::StoryNew {
                    story: saved.id,
                    author: saved.author,
                });
                Ok(Ok(()))
            })
            .await??;
        self.queue.notify();
        Ok(story)
    }

    /// The live stories `viewer` may see, newest first.
    pub fn feed(&self, viewer: &Actor, limit: usize) -> Result<Vec<Story>, ServiceError> {
        self.access.require(viewer, Permission::View)?;
        let now = self.clock.now();
        let me = viewer.id;
        let found = self.store.lookup(|rx| {
            let mut out = Vec::new();
            // Live stories are a day's worth; read a bounded window of them.
            for story in rx.stories().live(now.as_millisecond(), 2000)? {
                if out.len() == limit {
                    break;
                }
                if may_see(rx, me, &story, now)? {
                    out.push(story);
                }
            }
            Ok::<_, StoreError>(out)
        })?;
        Ok(found)
    }

    /// One story, if `viewer` may see it (an expired one is not found); a look by someone
    /// else than the author is recorded, and the author told the first time.
    pub async fn view(&self, viewer: &Actor, id: StoryId) -> Result<Story, ServiceError> {
        self.access.require(viewer, Permission::View)?;
        let now = self.clock.now();
        let me = viewer.id;
        let (story, seen) = self
            .store
            .lookup(|rx| {
                let story = rx.stories().get(id)?;
                Ok::<_, StoreError>(match story {
                    Some(s) if may_see(rx, me, &s, now)? => Some((s, rx.stories().viewed(id, me)?)),
                    _ => None,
                })
            })?
            .ok_or_else(ServiceError::not_found)?;
        // Only a first look is written (the viewer list has one entry per member).
        if story.author != me && !seen {
            let author = story.author;
            self.store
                .write(move |tx| {
                    if tx.stories().record_view(id, me, now.as_millisecond())? {
                        tx.emit(Event::StoryViewed {
                            story: id,
                            author,
                            viewer: me,
                        });
                    }
                    Ok(())
                })
                .await?;
        }
        Ok(story)
    }

    /// Who viewed one of the member's stories, newest first.
    pub fn viewers(
        &self,
        actor: &Actor,
        id: StoryId,
    ) -> Result<Vec<(UserId, Timestamp)>, ServiceError> {
        let now = self.clock.now();
        let me = actor.id;
        let found = self.store.lookup(|rx| {
            let Some(story) = rx.stories().get(id)? else {
                return Ok::<_, StoreError>(None);
            };
            if story.author != me || !story.is_live_at(now) {
                return Ok(None);
            }
            Ok(Some(rx.stories().viewers(id)?))
        })?;
        Ok(found
            .ok_or_else(ServiceError::not_found)?
            .into_iter()
            .map(|(id, ms)| (id, Timestamp::from_millisecond(ms).unwrap_or_default()))
            .collect())
    }

    /// Takes a story down before it expires (its author).
    pub async fn delete(&self, actor: &Actor, id: StoryId) -> Result<(), ServiceError> {
        self.access.require(actor, Permission::EditOwn)?;
        let me = actor.id;
        self.store
            .write(move |tx| match tx.stories().get(id)? {
                Some(s) if s.author == me => {
                    tx.stories().delete(id)?;
                    tx.emit(Event::StoryRemoved {
                        story: id,
                        author: me,
                    });
                    Ok(Ok(()))
                }
                _ => Ok(Err(ServiceError::not_found())),
            })
            .await?
    }

    /// Tells the members online who may see a new story (`story:new` on their streams) until
    /// `signal`. Who may see it takes reads (audience, matches, blocks), so this runs here
    /// rather than on the writer's thread; a burst it falls behind on is skipped (the stories
    /// page shows them anyway).
    pub async fn tell_new_stories(
        self,
        events: crate::events::EventBus,
        realtime: super::realtime::Realtime,
        mut signal: crate::jobs::Shutdown,
    ) {
        let mut bus = events.subscribe(crate::events::Topic::Profiles);
        loop {
            let event = tokio::select! {
                () = signal.wait() => return,
                event = bus.next() => event,
            };
            let Ok(event) = event else {
                bus = events.subscribe(crate::events::Topic::Profiles);
                continue;
            };
            let Event::StoryNew { story, author } = &*event else {
                continue;
            };
            let (story, author) = (*story, *author);
            let online = realtime.online_members();
            let now = self.clock.now();
            let audience = self.store.lookup(|rx| {
                let Some(found) = rx.stories().get(story)? else {
                    return Ok::<_, StoreError>(Vec::new());
                };
                // A matches-only story is decided over the author's matches, so its cost
                // does not grow with everyone online.
                let candidates = match found.audience {
                    Audience::Matches => {
                        let online: HashSet<UserId> = online.into_iter().collect();
                        rx.matches()
                            .partners_of(author)?
                            .into_iter()
                            .filter(|m| online.contains(m))
                            .collect()
                    }
                    Audience::Members => online,
                };
                let mut out = Vec::new();
                for member in candidates.into_iter().filter(|m| *m != author) {
                    if may_see(rx, member, &found, now)? {
                        out.push(member);
                    }
                }
                Ok(out)
            });
            for member in audience.unwrap_or_default() {
                realtime.tell(
                    member,
                    "story:new",
                    json!({"storyId": story.to_string(), "authorId": author.to_string()}),
                );
            }
        }
    }

    /// Registers the expiry job: the story goes, and its upload with it unless the author's
    /// profile shows it.
    pub fn register_jobs(plan: &mut JobPlan, store: Store, clock: SharedClock) {
        plan.register(EXPIRE, move |job| {
            let (store, now) = (store.clone(), clock.now());
            async move {
                let id: StoryId = serde_json::from_slice(&job.payload)
                    .map_err(|e| JobError::permanent(format!("bad payload: {e}")))?;
                store
                    .write(move |tx| {
                        let Some(story) = tx.stories().delete(id)? else {
                            return Ok(());
                        };
                        tx.emit(Event::StoryRemoved {
                            story: id,
                            author: story.author,
                        });
                        let on_profile = tx
                            .profiles()
                            .get(story.author)?
                            .is_some_and(|p| p.photos.contains(&story.media));
                        if !on_profile {
                            tx.media().delete(story.media, now.as_millisecond())?;
                        }
                        Ok(())
                    })
                    .await
                    .map_err(|e| JobError::retry(e.to_string()))
            }
        });
    }
}

/// Stories in a member's data.
pub fn member_data() -> Vec<Box<dyn MemberData>> {
    vec![Box::new(StoriesPart)]
}

struct StoriesPart;

impl MemberData for StoriesPart {
    fn name(&self) -> &'static str {
        "stories"
    }

    fn export(&self, rx: &Rx, user: &User) -> Result<Value, StoreError> {
        let mut out = Vec::new();
        for id in rx.stories().of_author(user.id)? {
            if let Some(s) = rx.stories().get(id)? {
                out.push(json!({"media": s.media.to_string(), "caption": s.caption, "audience": s.audience.as_str(), "created_at": s.created_at.to_string(), "expires_at": s.expires_at.to_string()}));
            }
        }
        Ok(out.into())
    }

    fn erase(&self, tx: &Tx<'_>, user: &User) -> Result<(), StoreError> {
        tx.stories().erase_member(user.id)
    }
}

/// Stories in search: found by their captions while they live, by those who may see them
/// (every member, or the author's matches through their `matches-of:<author>` term), never
/// while the author is paused, banned or suspended.
pub struct StoryDocuments;

impl super::search::SearchKind for StoryDocuments {
    fn name(&self) -> &'static str {
        "story"
    }

    fn changed_by(&self, tx: &Tx<'_>, event: &Event) -> Result<Vec<String>, StoreError> {
        Ok(match event {
            Event::StoryNew { story, .. } | Event::StoryRemoved { story, .. } => {
                vec![story.to_string()]
            }
            // Pausing, standing and a new name change every story of theirs.
            Event::ProfileChanged { member }
            | Event::AccountChanged { user: member }
            | Event::AccountDeleted { user: member } => tx
                .stories()
                .of_author(*member)?
                .iter()
                .map(ToString::to_string)
                .collect(),
            _ => Vec::new(),
        })
    }

    fn document(
        &self,
        rx: &Rx,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<crate::domain::search::Document>, StoreError> {
        let Ok(id) = id.parse::<StoryId>() else {
            return Ok(None);
        };
        let Some(story) = rx.stories().get(id)?.filter(|s| s.is_live_at(now)) else {
            return Ok(None);
        };
        if story.caption.is_empty() {
            return Ok(None);
        }
        let (Some(user), Some(profile)) = (
            rx.users().get(story.author)?,
            rx.profiles().get(story.author)?,
        ) else {
            return Ok(None);
        };
        let visible_from_ms = user.status.good_standing_from_ms();
        if visible_from_ms == i64::MAX || profile.paused {
            return Ok(None);
        }
        let author = story.author;
        let mut access = vec![format!("member:{author}")];
        access.push(match story.audience {
            Audience::Members => "members".to_string(),
            Audience::Matches => format!("matches-of:{author}"),
        });
        Ok(Some(crate::domain::search::Document {
            key: format!("story:{id}"),
            kind: "story",
            link: format!("/stories/{id}"),
            title: profile.display_name,
            body: story.caption,
            access,
            facets: Vec::new(),
            member: Some(author.to_string()),
            time_ms: story.created_at.as_millisecond(),
            visible_from_ms,
            visible_until_ms: story.expires_at.as_millisecond(),
        }))
    }

    fn all(&self, rx: &Rx) -> Result<Vec<String>, StoreError> {
        // Expired ones not deleted yet are left out by `document`.
        Ok(rx
            .stories()
            .live(i64::MIN, usize::MAX)?
            .iter()
            .map(|s| s.id.to_string())
            .collect())
    }
}
