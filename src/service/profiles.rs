//! Member profiles: a member writes their own; signed-in members see each other's.
//!
//! Who sees what: a profile is for signed-in members only; a paused profile, or one whose
//! account is not in good standing, only for its owner and staff. Photos are the member's own
//! uploads; others see only the ones that are approved and ready, the owner and staff see all
//! (with their state). Positions never reach this module: a member's place is a town from the
//! embedded list, and distances are between towns.

use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Value, json};

use super::access::Access;
use super::access::Actor;
use super::discovery::Discovery;
use super::error::ServiceError;
use super::matching::shown_to;
use super::member_data::MemberData;
use super::public_profiles::{PublicProfile, PublicProfiles};
use super::settings::Settings;
use crate::clock::SharedClock;
use crate::domain::account::{AccountStatus, FieldError, User};
use crate::domain::ids::{MatchId, MediaId, UserId};
use crate::domain::matching::SwipeAction;
use crate::domain::media::{self, Media, MediaState};
use crate::domain::permission::Permission;
use crate::domain::places::{self, Place};
use crate::domain::profile::{Completeness, Profile, ProfileDraft, completeness};
use crate::domain::settings::ProfileSettings;
use crate::events::Event;
use crate::jobs::JobQueue;
use crate::store::{Rx, Store, StoreError, Tx};

/// A repeated look at a profile moves "who viewed me" on after this long, not on every look.
const VIEW_REFRESH_MS: i64 = 10 * 60 * 1000;

#[derive(Clone)]
pub struct Profiles {
    store: Store,
    access: Access,
    settings: Settings,
    clock: SharedClock,
    queue: JobQueue,
    public: PublicProfiles,
}

/// A profile as one viewer may see it.
#[derive(Debug, Clone)]
pub struct ProfileCard {
    /// The profile and the photos this viewer may see (shared, for lists, with every viewer
    /// who sees the same).
    pub shown: Arc<PublicProfile>,
    pub age: u32,
    pub place: Option<&'static Place>,
    /// Between the viewer's town and this member's, when both gave one.
    pub distance_km: Option<u32>,
    /// Interests the viewer shares with this member, in this member's order.
    pub shared_interests: Vec<String>,
    /// The viewer is this member.
    pub own: bool,
    /// Where the viewer stands with this member (`None` on one's own profile and in lists).
    pub relation: Option<Relation>,
}

impl ProfileCard {
    pub fn profile(&self) -> &Profile {
        &self.shown.profile
    }

    /// The photos this viewer may see, in the member's order.
    pub fn photos(&self) -> &[Media] {
        &self.shown.photos
    }
}

/// What the viewer decided about a member, and whether they are matched.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Relation {
    pub swipe: Option<SwipeAction>,
    pub matched: Option<MatchId>,
}

/// The member's own profile, with how complete it is.
#[derive(Debug, Clone)]
pub struct OwnProfile {
    pub card: ProfileCard,
    pub completeness: Completeness,
}

impl Profiles {
    pub fn new(
        store: Store,
        access: Access,
        settings: Settings,
        clock: SharedClock,
        queue: JobQueue,
        public: PublicProfiles,
    ) -> Self {
        Self {
            store,
            access,
            settings,
            clock,
            queue,
            public,
        }
    }

    /// The community's options: genders, intents, interests, minimum age.
    pub fn options(&self) -> ProfileSettings {
        self.settings.current().profiles.clone()
    }

    fn today(&self) -> Date {
        self.clock.now().to_zoned(jiff::tz::TimeZone::UTC).date()
    }

    /// The member's own profile, `None` before they write one.
    pub fn mine(&self, actor: &Actor) -> Result<Option<OwnProfile>, ServiceError> {
        self.access.require(actor, Permission::View)?;
        let today = self.today();
        let id = actor.id;
        let found = self.store.lookup(|rx| {
            let Some(profile) = rx.profiles().get(id)? else {
                return Ok::<_, StoreError>(None);
            };
            let photos = photos_of(|id| rx.media().get(id), &profile, |_| true)?;
            Ok(Some((profile, photos)))
        })?;
        Ok(found.map(|(profile, photos)| own_profile(profile, photos, today)))
    }

    /// Writes the member's profile (creating it the first time). Every problem is reported at
    /// once, and nothing is stored unless all is well. Pausing is kept as it was.
    pub async fn save(
        &self,
        actor: &Actor,
        draft: ProfileDraft,
    ) -> Result<OwnProfile, ServiceError> {
        self.access.require(actor, Permission::EditOwn)?;
        let today = self.today();
        let now = self.clock.now();
        let mut profile = draft
            .check(actor.id, &self.options(), today)
            .map_err(ServiceError::Invalid)?;
        profile.updated_at = now;
        // The member's deck is ranked again for what they now want.
        let deck_job = Discovery::precompute_job(&self.queue, actor.id, now)?;
        let saved = self
            .store
            .write(move |tx| {
                let mut profile = profile.clone();
                if let Some(problem) = photo_problem(tx, &profile)? {
                    return Ok(Err(ServiceError::Invalid(vec![problem])));
                }
                profile.paused = tx.profiles().get(profile.member)?.is_some_and(|p| p.paused);
                tx.profiles().put(&profile)?;
                tx.emit(Event::ProfileChanged {
                    member: profile.member,
                });
                tx.jobs().enqueue(&deck_job)?;
                let photos = photos_of(|id| tx.media().get(id), &profile, |_| true)?;
                Ok(Ok((profile, photos)))
            })
            .await??;
        self.queue.notify();
        Ok(own_profile(saved.0, saved.1, today))
    }

    /// Hides the member from the deck and the directory, or shows them again.
    pub async fn set_paused(&self, actor: &Actor, paused: bool) -> Result<(), ServiceError> {
        self.access.require(actor, Permission::EditOwn)?;
        let member = actor.id;
        self.store
            .write(move |tx| {
                let Some(mut profile) = tx.profiles().get(member)? else {
                    return Ok(Err(ServiceError::invalid(
                        "paused",
                        "Write your profile first.",
                    )));
                };
                if profile.paused != paused {
                    profile.paused = paused;
                    tx.profiles().put(&profile)?;
                    tx.emit(Event::ProfileChanged { member });
                }
                Ok(Ok(()))
            })
            .await?
    }

    /// `member`'s profile as `viewer` may see it; not found when they may not see it at all
    /// (paused, not in good standing, blocked either way). A look by another member is
    /// recorded for "who viewed me" (one row per viewer; staff looks are not).
    pub async fn view(&self, viewer: &Actor, member: UserId) -> Result<ProfileCard, ServiceError> {
        self.access.require(viewer, Permission::View)?;
        let staff = self.access.allows(viewer, Permission::Moderate);
        let own = viewer.id == member;
        let now = self.clock.now();
        let viewer_id = viewer.id;
        let found = self.store.lookup(|rx| {
            let (Some(profile), Some(user)) = (rx.profiles().get(member)?, rx.users().get(member)?)
            else {
                return Ok::<_, StoreError>(None);
            };
            let visible = own
                || staff
                || shown_to(
                    viewer_id,
                    &user.status,
                    &profile,
                    rx.blocks().between(viewer_id, member)?,
                    now,
                );
            if !visible {
                return Ok(None);
            }
            let photos = photos_of(
                |id| rx.media().get(id),
                &profile,
                |m| media::may_view(viewer_id, staff, m, &user.status),
            )?;
            let shown = PublicProfile::new(profile, user.status, photos);
            let viewer_profile = match own {
                true => None,
                false => rx.profiles().get(viewer_id)?,
            };
            let relation = match own {
                true => None,
                false => Some(Relation {
                    swipe: rx.swipes().get(viewer_id, member)?.map(|s| s.action),
                    matched: rx.matches().between(viewer_id, member)?.map(|m| m.id),
                }),
            };
            let looked = rx.profiles().viewed_at(member, viewer_id)?;
            Ok(Some((shown, viewer_profile, relation, looked)))
        })?;
        let (shown, viewer_profile, relation, looked) =
            found.ok_or_else(ServiceError::not_found)?;
        // A look is a write: a member paging back and forth updates it once in a while.
        let stale = looked.is_none_or(|ms| now.as_millisecond() - ms >= VIEW_REFRESH_MS);
        if !own && !staff && stale {
            let at = now.as_millisecond();
            self.store
                .write(move |tx| tx.profiles().record_view(member, viewer_id, at))
                .await?;
        }
        let mut card = card(Arc::new(shown), viewer_profile.as_ref(), own, self.today());
        card.relation = relation;
        Ok(card)
    }

    /// Cards of several members as `viewer` sees them, in the order given, each with what the
    /// caller keeps alongside (when they liked, the match), leaving out those the viewer may
    /// not see. Looks are not recorded. Profiles come from memory ([`PublicProfiles`]).
    pub fn cards_for<T>(
        &self,
        viewer: &Actor,
        members: impl IntoIterator<Item = (UserId, T)>,
    ) -> Result<Vec<(ProfileCard, T)>, ServiceError> {
        self.access.require(viewer, Permission::View)?;
        let now = self.clock.now();
        let today = self.today();
        let viewer_id = viewer.id;
        let (members, extras): (Vec<UserId>, Vec<T>) = members.into_iter().unzip();
        let blocked = self.store.lookup(|rx| rx.blocks().either_way(viewer_id))?;
        let me = self.public.get(&self.store, viewer_id)?;
        let found = self.public.get_many(&self.store, &members)?;
        let mut out = Vec::with_capacity(found.len());
        for (public, extra) in found.into_iter().zip(extras) {
            let Some(p) = public else { continue };
            let hidden = blocked.contains(&p.profile.member);
            if !shown_to(viewer_id, &p.status, &p.profile, hidden, now) {
                continue;
            }
            let viewer_profile = me.as_ref().map(|m| &m.profile);
            out.push((card(p, viewer_profile, false, today), extra));
        }
        Ok(out)
    }

    /// What others may see of these members' profiles (name, photos), whatever their
    /// standing or pauses, for places that show someone the viewer already knows (their
    /// conversations); `None` for members without a profile.
    pub fn shown_as(
        &self,
        viewer: &Actor,
        members: &[UserId],
    ) -> Result<Vec<Option<Arc<PublicProfile>>>, ServiceError> {
        self.access.require(viewer, Permission::View)?;
        Ok(self.public.get_many(&self.store, members)?)
    }

    /// [`Self::cards_for`] with nothing alongside.
    pub fn cards(
        &self,
        viewer: &Actor,
        members: &[UserId],
    ) -> Result<Vec<ProfileCard>, ServiceError> {
        Ok(self
            .cards_for(viewer, members.iter().map(|m| (*m, ())))?
            .into_iter()
            .map(|(card, ())| card)
            .collect())
    }

    /// Who viewed the member's profile, newest first, when the community lets them see it.
    pub fn viewers(
        &self,
        actor: &Actor,
        supporter: bool,
        before: Option<(i64, UserId)>,
        limit: usize,
    ) -> Result<Vec<(UserId, Timestamp)>, ServiceError> {
        self.access.require(actor, Permission::View)?;
        if !self.options().who_viewed_me.admits(supporter) {
            return Err(ServiceError::forbidden(
                "This community does not show who viewed you.",
            ));
        }
        let me = actor.id;
        let limit = limit.min(crate::store::MAX_PAGE_ROWS);
        let found = self
            .store
            .lookup(|rx| rx.profiles().viewers_of(me, before, limit))?;
        Ok(found
            .into_iter()
            .map(|(id, ms)| (id, Timestamp::from_millisecond(ms).unwrap_or_default()))
            .collect())
    }
}

/// The profile's photos that `visible` lets through, in the member's order (photos since
/// deleted are skipped).
fn photos_of(
    media: impl Fn(MediaId) -> Result<Option<Media>, StoreError>,
    profile: &Profile,
    visible: impl Fn(&Media) -> bool,
) -> Result<Vec<Media>, StoreError> {
    let mut out = Vec::with_capacity(profile.photos.len());
    for id in &profile.photos {
        if let Some(m) = media(*id)?
            && m.owner == profile.member
            && visible(&m)
        {
            out.push(m);
        }
    }
    Ok(out)
}

/// Why the photos chosen cannot be on the profile, if they cannot.
fn photo_problem(tx: &Tx<'_>, profile: &Profile) -> Result<Option<FieldError>, StoreError> {
    for id in &profile.photos {
        let problem = match tx.media().get(*id)? {
            None => Some("is not one of your uploads"),
            Some(m) => match m.usable_by(profile.member) {
                Err(why) => Some(why),
                Ok(()) if m.format.is_video() => Some("is a video; choose photos"),
                Ok(()) => None,
            },
        };
        if let Some(why) = problem {
            return Ok(Some(FieldError::new(
                "photos",
                format!("Photo {id} {why}: choose another from your library."),
            )));
        }
    }
    Ok(None)
}

fn visible_count(photos: &[Media]) -> usize {
    photos
        .iter()
        .filter(|m| m.state == MediaState::Ready)
        .count()
}

fn card(
    shown: Arc<PublicProfile>,
    viewer: Option<&Profile>,
    own: bool,
    today: Date,
) -> ProfileCard {
    let profile = &shown.profile;
    let place = profile.place.and_then(places::get);
    let viewer_place = viewer.and_then(|v| v.place).and_then(places::get);
    let distance_km = match (place, viewer_place) {
        (Some(a), Some(b)) => Some(places::distance_km(a, b).round() as u32),
        _ => None,
    };
    let shared_interests = match viewer {
        Some(v) => profile
            .interests
            .iter()
            .filter(|i| v.interests.contains(i))
            .cloned()
            .collect(),
        None => Vec::new(),
    };
    ProfileCard {
        age: profile.age_on(today),
        place,
        distance_km,
        shared_interests,
        own,
        relation: None,
        shown,
    }
}

fn own_profile(profile: Profile, photos: Vec<Media>, today: Date) -> OwnProfile {
    let completeness = completeness(&profile, visible_count(&photos));
    // The member is signed in and acting: their account is active.
    let shown = PublicProfile::new(profile, AccountStatus::Active, photos);
    OwnProfile {
        card: card(Arc::new(shown), None, true, today),
        completeness,
    }
}

/// The profile's part of a member's data.
/// Member profiles in search: found by every member (the directory's rules: in good
/// standing, not paused; blocks are left out at query time), by name, bio and interests,
/// with interests, intent and town as facets.
pub struct ProfileDocuments;

impl super::search::SearchKind for ProfileDocuments {
    fn name(&self) -> &'static str {
        "profile"
    }

    fn changed_by(&self, _tx: &Tx<'_>, event: &Event) -> Result<Vec<String>, StoreError> {
        Ok(match event {
            Event::ProfileChanged { member }
            | Event::AccountChanged { user: member }
            | Event::AccountDeleted { user: member }
            | Event::MemberJoined { user: member } => vec![member.to_string()],
            _ => Vec::new(),
        })
    }

    fn document(
        &self,
        rx: &Rx,
        id: &str,
        _now: Timestamp,
    ) -> Result<Option<crate::domain::search::Document>, StoreError> {
        let Ok(member) = id.parse::<UserId>() else {
            return Ok(None);
        };
        let (Some(user), Some(profile)) = (rx.users().get(member)?, rx.profiles().get(member)?)
        else {
            return Ok(None);
        };
        // Suspended: indexed now, found again when the suspension ends. Banned, waiting for
        // approval or rejected: never.
        let visible_from_ms = user.status.good_standing_from_ms();
        if visible_from_ms == i64::MAX || profile.paused {
            return Ok(None);
        }
        let mut facets: Vec<(&'static str, String)> = profile
            .interests
            .iter()
            .map(|i| ("interest", i.clone()))
            .collect();
        facets.push(("intent", profile.intent.clone()));
        let town = profile.place.and_then(places::get);
        if let Some(town) = town {
            facets.push(("city", town.name.to_string()));
        }
        let mut body = profile.bio.clone();
        for extra in profile
            .interests
            .iter()
            .map(String::as_str)
            .chain(town.map(|t| t.name))
        {
            body.push('\n');
            body.push_str(extra);
        }
        Ok(Some(crate::domain::search::Document {
            key: format!("profile:{member}"),
            kind: "profile",
            link: format!("/members/{member}"),
            title: profile.display_name.clone(),
            body,
            access: vec!["members".into()],
            facets,
            member: Some(member.to_string()),
            time_ms: rx
                .profiles()
                .last_active(member)?
                .unwrap_or(profile.updated_at.as_millisecond()),
            visible_from_ms,
            visible_until_ms: i64::MAX,
        }))
    }

    fn all(&self, rx: &Rx) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        rx.profiles().for_each(|p| ids.push(p.member.to_string()))?;
        Ok(ids)
    }
}

pub fn member_data() -> Vec<Box<dyn MemberData>> {
    vec![Box::new(ProfilePart)]
}

struct ProfilePart;

impl MemberData for ProfilePart {
    fn name(&self) -> &'static str {
        "profile"
    }

    fn export(&self, rx: &Rx, user: &User) -> Result<Value, StoreError> {
        let Some(p) = rx.profiles().get(user.id)? else {
            return Ok(Value::Null);
        };
        Ok(json!({
            "display_name": p.display_name,
            "birth_date": p.birth_date.to_string(),
            "gender": p.gender,
            "wants": p.wants,
            "intent": p.intent,
            "bio": p.bio,
            "interests": p.interests,
            "place": p.place.and_then(places::get).map(Place::label),
            "photos": p.photos.iter().map(MediaId::to_string).collect::<Vec<_>>(),
            "time_zone": p.time_zone,
            "age_min": p.age_min,
            "age_max": p.age_max,
            "max_distance_km": p.max_distance_km,
            "paused": p.paused,
            "updated_at": p.updated_at.to_string(),
        }))
    }

    fn erase(&self, tx: &Tx<'_>, user: &User) -> Result<(), StoreError> {
        tx.profiles().delete(user.id).map(drop)
    }
}
