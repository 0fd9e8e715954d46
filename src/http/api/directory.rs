//! `GET /api/v1/directory`: find members by age, gender, intent, interests, distance,
//! activity and photo, sorted by newest, recently active, nearest or best match.

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::{Enum, OpenApi};

use super::profile_list::ProfileList;
use super::{ApiTags, format_keyed_cursor, keyed_cursor};
use crate::domain::directory::{self, Sort};
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::state_of;

pub struct DirectoryApi;

#[derive(Enum, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum DirectorySort {
    Newest,
    RecentlyActive,
    Nearest,
    BestMatch,
}

impl From<DirectorySort> for Sort {
    fn from(s: DirectorySort) -> Self {
        match s {
            DirectorySort::Newest => Sort::Newest,
            DirectorySort::RecentlyActive => Sort::RecentlyActive,
            DirectorySort::Nearest => Sort::Nearest,
            DirectorySort::BestMatch => Sort::BestMatch,
        }
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum InterestsMatch {
    Any,
    All,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Profiles")]
impl DirectoryApi {
    /// Find members
    ///
    /// Never the caller, anyone blocked either way, paused, suspended, banned or deleted
    /// members. Distance filters and the `nearest` sort need a town on the caller's profile
    /// (`422` otherwise). 20 per page by default; a feed (`cursor`).
    #[oai(path = "/directory", method = "get", operation_id = "searchDirectory")]
    #[allow(clippy::too_many_arguments)]
    async fn search(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(
            name = "ageMin",
            validator(minimum(value = "13"), maximum(value = "120"))
        )]
        age_min: Query<Option<u32>>,
        #[oai(
            name = "ageMax",
            validator(minimum(value = "13"), maximum(value = "120"))
        )]
        age_max: Query<Option<u32>>,
        /// Any of these genders (repeat the parameter).
        #[oai(validator(max_items = 20))]
        gender: Query<Vec<String>>,
        /// Any of these intents (repeat the parameter).
        #[oai(validator(max_items = 20))]
        intent: Query<Vec<String>>,
        /// Interests (repeat the parameter); `interestsMatch` says any or all.
        #[oai(validator(max_items = 20))]
        interest: Query<Vec<String>>,
        #[oai(name = "interestsMatch")] interests_match: Query<Option<InterestsMatch>>,
        #[oai(
            name = "maxDistanceKm",
            validator(minimum(value = "1"), maximum(value = "20000"))
        )]
        max_distance_km: Query<Option<u32>>,
        #[oai(
            name = "activeWithinDays",
            validator(minimum(value = "1"), maximum(value = "365"))
        )]
        active_within_days: Query<Option<u32>>,
        #[oai(name = "hasPhoto")] has_photo: Query<Option<bool>>,
        sort: Query<Option<DirectorySort>>,
        #[oai(validator(max_length = 60))] cursor: Query<Option<String>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<ProfileList, AppError> {
        let me = viewer.require()?;
        let actor = me.actor();
        let lower = |v: Vec<String>| v.into_iter().map(|s| s.trim().to_lowercase()).collect();
        let query = directory::Query {
            age_min: age_min.0,
            age_max: age_max.0,
            genders: lower(gender.0),
            intents: lower(intent.0),
            interests: lower(interest.0),
            all_interests: interests_match.0 == Some(InterestsMatch::All),
            max_distance_km: max_distance_km.0,
            active_within_days: active_within_days.0,
            has_photo: has_photo.0.unwrap_or(false),
            sort: sort.0.map(Sort::from).unwrap_or_default(),
        };
        let limit = limit.0.unwrap_or(20);
        let state = state_of(req)?;
        let page = state
            .directory
            .search(
                &actor,
                &query,
                keyed_cursor(cursor.0.as_deref())?,
                limit as usize,
            )
            .await?;
        let cards = state.profiles.cards(&actor, &page.members)?;
        let next = page.next.map(format_keyed_cursor);
        ProfileList::new(&cards, limit, next)
    }

    /// The discovery deck
    ///
    /// Up to `limit` candidates (1 to 50, default 20), best first: members who suit the
    /// caller and whom the caller suits (genders wanted, ages and distance both ways, the same
    /// intent), never anyone already liked or passed, blocked either way, paused, suspended
    /// or (when the community asks) without a photo or a verified address. Ranked by shared
    /// interests, intent, nearness and activity, damped for members shown often. Needs a
    /// profile (`409 PROFILE_REQUIRED`).
    #[oai(path = "/discovery", method = "get", operation_id = "discover")]
    async fn discover(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(validator(minimum(value = "1"), maximum(value = "50")))] limit: Query<Option<u32>>,
    ) -> Result<ProfileList, AppError> {
        let me = viewer.require()?;
        let actor = me.actor();
        let limit = limit.0.unwrap_or(20);
        let state = state_of(req)?;
        let members = state.discovery.deck(&actor, limit as usize).await?;
        let cards = state.profiles.cards(&actor, &members)?;
        ProfileList::new(&cards, limit, None)
    }
}
