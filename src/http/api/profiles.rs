//! `/api/v1/me/profile`, `/api/v1/members/{id}/profile`, `/api/v1/places` and
//! `/api/v1/profile-options`: profiles, the towns they are in, and the community's choices.

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::me::acting;
use super::reply::Reply;
use super::text::Text;
use super::{ApiTags, Data, Listed, PageRequest};
use crate::domain::media::{Media, Variant};
use crate::domain::places::{self, Place};
use crate::domain::profile::ProfileDraft;
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::state_of;
use crate::service::profiles::{OwnProfile, ProfileCard};

pub struct ProfilesApi;

/// A town from the embedded GeoNames list.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct PlaceView {
    /// The GeoNames id; give it as `placeId`.
    pub id: u32,
    pub name: String,
    /// ISO 3166 country code.
    pub country: String,
    /// "Zürich, Switzerland".
    pub label: String,
}

impl From<&Place> for PlaceView {
    fn from(p: &Place) -> Self {
        Self {
            id: p.id,
            name: p.name.into(),
            country: p.country.into(),
            label: p.label(),
        }
    }
}

/// A photo on a profile.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ProfilePhoto {
    pub id: String,
    /// ready; the owner and staff also see processing, pending approval.
    pub state: String,
    pub width: u32,
    pub height: u32,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blurhash: Option<String>,
    /// The card-sized image (absent until processed).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_url: Option<String>,
    /// The full-size image (absent until processed).
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_url: Option<String>,
}

impl From<&Media> for ProfilePhoto {
    fn from(m: &Media) -> Self {
        let url = |v: Variant| {
            m.variant(v)
                .map(|_| format!("/media/{}/{}", m.id, v.as_str()))
        };
        Self {
            id: m.id.to_string(),
            state: m.state.label().into(),
            width: m.width,
            height: m.height,
            blurhash: m.blurhash.clone(),
            card_url: url(Variant::Card),
            full_url: url(Variant::Full),
        }
    }
}

/// A member's profile as the caller may see it.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    /// In whole years; the birth date is never shown to others.
    pub age: u32,
    /// Between the caller's town and theirs, when both gave one.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<u32>,
    #[oai(flatten)]
    #[serde(flatten)]
    pub shown: ShownProfileView,
}

/// What every member who may see a profile sees alike: all of [`ProfileView`] but the age
/// (it changes with the day) and the distance (it depends on the viewer). Lists keep it
/// rendered per profile version.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ShownProfileView {
    pub member_id: String,
    pub display_name: String,
    pub gender: String,
    /// The genders they want to meet (empty: anyone).
    pub wants: Vec<String>,
    pub intent: String,
    /// Plain text; line breaks are `\n`. Show it as text, never as HTML.
    pub bio: String,
    pub interests: Vec<String>,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<PlaceView>,
    /// In the member's order; the first is the main photo.
    pub photos: Vec<ProfilePhoto>,
}

impl From<&ProfileCard> for ProfileView {
    fn from(c: &ProfileCard) -> Self {
        Self {
            age: c.age,
            distance_km: if c.own { None } else { c.distance_km },
            shown: ShownProfileView::from(c),
        }
    }
}

impl From<&ProfileCard> for ShownProfileView {
    fn from(c: &ProfileCard) -> Self {
        let p = c.profile();
        Self {
            member_id: p.member.to_string(),
            display_name: p.display_name.clone(),
            gender: p.gender.clone(),
            wants: p.wants.clone(),
            intent: p.intent.clone(),
            bio: p.bio.clone(),
            interests: p.interests.clone(),
            place: c.place.map(PlaceView::from),
            photos: c.photos().iter().map(ProfilePhoto::from).collect(),
        }
    }
}

/// How complete the profile is.
#[derive(Object, serde::Serialize)]
pub struct CompletenessView {
    /// 50 to 100.
    pub percent: u32,
    /// What would complete it, as suggestions.
    pub missing: Vec<String>,
}

/// The member's own profile: what others see, and what only they see.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct MyProfileView {
    #[oai(flatten)]
    #[serde(flatten)]
    pub profile: ProfileView,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    pub time_zone: String,
    /// The ages they want to meet, inclusive.
    pub age_min: u32,
    pub age_max: u32,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_distance_km: Option<u32>,
    /// Hidden from the deck and the directory.
    pub paused: bool,
    pub completeness: CompletenessView,
}

impl From<&OwnProfile> for MyProfileView {
    fn from(own: &OwnProfile) -> Self {
        let p = own.card.profile();
        Self {
            profile: ProfileView::from(&own.card),
            birth_date: p.birth_date.to_string(),
            time_zone: p.time_zone.clone(),
            age_min: p.age_min,
            age_max: p.age_max,
            max_distance_km: p.max_distance_km,
            paused: p.paused,
            completeness: CompletenessView {
                percent: own.completeness.percent,
                missing: own
                    .completeness
                    .missing
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            },
        }
    }
}

/// A profile as the member writes it. Genders and intents are the community's
/// (`GET /api/v1/profile-options`); interests may be theirs or the member's own.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ProfileInput {
    /// 2 to 50 characters after spaces are tidied; no control or invisible characters.
    #[oai(validator(min_length = 2, max_length = 50))]
    pub display_name: Text,
    /// `YYYY-MM-DD`; the member must be at least the community's minimum age.
    #[oai(validator(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    pub birth_date: Text,
    #[oai(validator(max_length = 40))]
    pub gender: Text,
    /// Genders they want to meet; empty for anyone.
    #[oai(nullable, default, validator(max_items = 100, max_length = 40))]
    pub wants: Vec<Text>,
    #[oai(validator(max_length = 40))]
    pub intent: Text,
    /// Plain text with line breaks, up to 2,000 characters.
    #[oai(nullable, default, validator(max_length = 2000))]
    pub bio: Text,
    /// Up to 20, each 2 to 30 letters, digits, spaces or - & ' +.
    #[oai(nullable, default, validator(max_items = 20, max_length = 30))]
    pub interests: Vec<Text>,
    /// A town's id from `GET /api/v1/places`.
    #[oai(
        nullable,
        skip_serializing_if_is_none,
        validator(minimum(value = "1"), maximum(value = "4294967295"))
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place_id: Option<u32>,
    /// Up to 6 photos from the member's library, main photo first.
    #[oai(nullable, default, validator(max_items = 6, max_length = 36))]
    pub photos: Vec<Text>,
    /// An IANA time zone such as `Europe/Zurich` (default UTC).
    #[oai(nullable, skip_serializing_if_is_none, validator(max_length = 64))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<Text>,
    /// The youngest age they want to meet (default: the minimum age).
    #[oai(
        nullable,
        skip_serializing_if_is_none,
        validator(minimum(value = "13"), maximum(value = "120"))
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_min: Option<u32>,
    /// The oldest age they want to meet (default 120).
    #[oai(
        nullable,
        skip_serializing_if_is_none,
        validator(minimum(value = "13"), maximum(value = "120"))
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_max: Option<u32>,
    /// How far away others may live, between towns; absent for anywhere.
    #[oai(
        nullable,
        skip_serializing_if_is_none,
        validator(minimum(value = "1"), maximum(value = "20000"))
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_distance_km: Option<u32>,
}

impl ProfileInput {
    fn draft(self) -> Result<ProfileDraft, AppError> {
        let photos = self
            .photos
            .iter()
            .map(|id| {
                id.parse().map_err(|_| {
                    AppError::invalid("photos", "Give the ids of photos in your library.")
                })
            })
            .collect::<Result<_, _>>()?;
        let strings = |v: Vec<Text>| v.into_iter().map(String::from).collect();
        Ok(ProfileDraft {
            display_name: self.display_name.into(),
            birth_date: self.birth_date.into(),
            gender: self.gender.into(),
            wants: strings(self.wants),
            intent: self.intent.into(),
            bio: self.bio.into(),
            interests: strings(self.interests),
            place: self.place_id,
            photos,
            time_zone: self.time_zone.map(String::from).unwrap_or_default(),
            age_min: self.age_min,
            age_max: self.age_max,
            max_distance_km: self.max_distance_km,
        })
    }
}

#[derive(Object, serde::Serialize)]
pub struct PauseInput {
    /// true hides the member from the deck and the directory; false shows them again.
    pub paused: bool,
}

/// A position from the browser, snapped to the nearest town and then forgotten.
#[derive(Object, serde::Serialize)]
pub struct PositionInput {
    #[oai(validator(minimum(value = "-90"), maximum(value = "90")))]
    pub latitude: f64,
    #[oai(validator(minimum(value = "-180"), maximum(value = "180")))]
    pub longitude: f64,
}

/// What members choose from.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct ProfileOptionsView {
    pub minimum_age: u32,
    pub genders: Vec<String>,
    pub intents: Vec<String>,
    /// Suggestions; members may add their own.
    pub interests: Vec<String>,
}

#[derive(ApiResponse)]
pub enum MyProfile {
    /// The member's profile.
    #[oai(status = 200)]
    Found(Reply<Data<MyProfileView>>),
}

fn member_id(raw: &str) -> Result<crate::domain::ids::UserId, AppError> {
    raw.parse().map_err(|_| AppError::not_found())
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Profiles")]
impl ProfilesApi {
    /// Get my profile
    ///
    /// With what only the member sees: birth date, preferences, pause, completeness.
    /// `404` before the member has written one.
    #[oai(path = "/me/profile", method = "get", operation_id = "getMyProfile")]
    async fn mine(&self, req: &Request, viewer: Viewer) -> Result<MyProfile, AppError> {
        let me = viewer.require()?;
        let own = state_of(req)?
            .profiles
            .mine(&me.actor())?
            .ok_or_else(AppError::not_found)?;
        Ok(MyProfile::Found(Reply(Data {
            data: MyProfileView::from(&own),
        })))
    }

    /// Write my profile
    ///
    /// Creates or replaces the member's profile. Every problem is reported at once (`422`
    /// with `fields`), and nothing is stored unless all is well.
    #[oai(path = "/me/profile", method = "put", operation_id = "putMyProfile")]
    async fn put(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<ProfileInput>,
    ) -> Result<MyProfile, AppError> {
        let me = acting(req, &viewer)?;
        let own = state_of(req)?
            .profiles
            .save(&me.actor(), body.0.draft()?)
            .await?;
        Ok(MyProfile::Found(Reply(Data {
            data: MyProfileView::from(&own),
        })))
    }

    /// Pause or resume discovery
    ///
    /// A paused member is hidden from the deck and the directory.
    #[oai(
        path = "/me/profile/paused",
        method = "put",
        operation_id = "pauseMyProfile"
    )]
    async fn pause(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<PauseInput>,
    ) -> Result<MyProfile, AppError> {
        let me = acting(req, &viewer)?;
        let state = state_of(req)?;
        let actor = me.actor();
        state.profiles.set_paused(&actor, body.0.paused).await?;
        let own = state
            .profiles
            .mine(&actor)?
            .ok_or_else(AppError::not_found)?;
        Ok(MyProfile::Found(Reply(Data {
            data: MyProfileView::from(&own),
        })))
    }

    /// Get a member's profile
    ///
    /// For signed-in members. `404` when there is none, or the caller may not see it (paused,
    /// or the account is not in good standing).
    #[oai(
        path = "/members/:id/profile",
        method = "get",
        operation_id = "getProfile"
    )]
    async fn get(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Reply<Data<ProfileView>>, AppError> {
        let me = viewer.require()?;
        let card = state_of(req)?
            .profiles
            .view(&me.actor(), member_id(&id.0)?)
            .await?;
        Ok(Reply(Data {
            data: ProfileView::from(&card),
        }))
    }

    /// Find a town
    ///
    /// Towns whose name starts with `q` (accents and case ignored), the most populous first.
    #[oai(path = "/places", method = "get", operation_id = "searchPlaces")]
    async fn places(
        &self,
        viewer: Viewer,
        #[oai(validator(max_length = 200))] q: Query<String>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100000")))] page: Query<Option<u32>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Listed<PlaceView>>, AppError> {
        viewer.require()?;
        let request = PageRequest::new(page.0, limit.0);
        let (found, total) = places::search_page(&q.0, request.offset(), request.limit());
        let data = found.into_iter().map(PlaceView::from).collect();
        Ok(Reply(request.answer(data, total as u64)))
    }

    /// Find the town nearest a position
    ///
    /// For "use my location": the position is snapped to the nearest town and not kept.
    #[oai(
        path = "/places/nearest",
        method = "post",
        operation_id = "nearestPlace"
    )]
    async fn nearest(
        &self,
        viewer: Viewer,
        body: Json<PositionInput>,
    ) -> Result<Reply<Data<PlaceView>>, AppError> {
        viewer.require()?;
        let place = places::nearest(body.0.latitude, body.0.longitude).ok_or_else(|| {
            AppError::invalid(
                "latitude",
                "Give a latitude from -90 to 90 and a longitude from -180 to 180.",
            )
        })?;
        Ok(Reply(Data {
            data: PlaceView::from(place),
        }))
    }

    /// The community's profile options
    #[oai(
        path = "/profile-options",
        method = "get",
        operation_id = "getProfileOptions"
    )]
    async fn options(
        &self,
        req: &Request,
        viewer: Viewer,
    ) -> Result<Reply<Data<ProfileOptionsView>>, AppError> {
        viewer.require()?;
        let o = state_of(req)?.profiles.options();
        Ok(Reply(Data {
            data: ProfileOptionsView {
                minimum_age: o.minimum_age,
                genders: o.genders,
                intents: o.intents,
                interests: o.interests,
            },
        }))
    }
}
