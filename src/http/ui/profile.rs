//! Profile pages: the member's own (with how complete it is, and the pause switch), the form
//! that writes it, other members' profiles, and the town suggestions the form asks for as the
//! member types. Every action is a plain form post; scripts only add suggestions as you type
//! and "use my location".

use askama::Template;
use poem::web::{Form, Path, Query, Redirect};
use poem::{IntoResponse, Request, Response, handler};

use super::{PageContext, flash, render, render_status, signed_in, state_of};
use crate::domain::account::FieldError;
use crate::domain::ids::MediaId;
use crate::domain::matching::Warning;
use crate::domain::media::{Media, MediaState, Variant};
use crate::domain::places::{self, Place};
use crate::domain::profile::{AGE_MAX, ProfileDraft};
use crate::domain::settings::ProfileSettings;
use crate::http::auth::{Viewer, verify_csrf};
use crate::http::error::AppError;
use crate::http::routing::Routes;
use crate::service::error::ServiceError;
use crate::service::profiles::{OwnProfile, ProfileCard};

pub fn routes() -> Routes {
    Routes::new()
        .get("/profile", own_page)
        .get("/profile/edit", edit)
        .post("/profile", save)
        .post("/profile/pause", pause)
        .get("/members/:id", member_page)
        .get("/places/suggest", suggest)
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    page: PageContext,
    card: ProfileCard,
    /// Only on the member's own profile.
    own: Option<OwnProfile>,
    /// The moderators' warnings the member has not acknowledged (own profile).
    warnings: Vec<Warning>,
}

#[handler]
pub async fn own_page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/profile")?;
    let state = state_of(req)?;
    let Some(own) = state.profiles.mine(&me.actor())? else {
        return Ok(Redirect::see_other("/profile/edit").into_response());
    };
    Ok(render(&ProfilePage {
        page: PageContext::new(req, state, &viewer),
        card: own.card.clone(),
        own: Some(own),
        warnings: super::matching::warnings_of(state, &viewer),
    })?
    .into_response())
}

#[handler]
pub async fn member_page(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    let id = id.parse().map_err(|_| AppError::not_found())?;
    if id == me.user.id {
        return Ok(Redirect::see_other("/profile").into_response());
    }
    let card = state.profiles.view(&me.actor(), id).await?;
    Ok(render(&ProfilePage {
        page: PageContext::new(req, state, &viewer),
        card,
        own: None,
        warnings: Vec::new(),
    })?
    .into_response())
}

/// The form's values, as the member typed them (shown again with the problems).
#[derive(Default)]
struct Fields {
    display_name: String,
    birth_date: String,
    gender: String,
    wants: Vec<String>,
    intent: String,
    bio: String,
    interests: Vec<String>,
    other_interests: String,
    place_id: String,
    place: String,
    /// Chosen photos with the position typed for each.
    photos: Vec<(MediaId, u32)>,
    time_zone: String,
    age_min: String,
    age_max: String,
    max_distance_km: String,
}

impl Fields {
    fn of(own: &OwnProfile) -> Self {
        let p = own.card.profile();
        Self {
            display_name: p.display_name.clone(),
            birth_date: p.birth_date.to_string(),
            gender: p.gender.clone(),
            wants: p.wants.clone(),
            intent: p.intent.clone(),
            bio: p.bio.clone(),
            interests: p.interests.clone(),
            other_interests: String::new(),
            place_id: p.place.map(|id| id.to_string()).unwrap_or_default(),
            place: own.card.place.map(Place::label).unwrap_or_default(),
            photos: p.photos.iter().zip(1..).map(|(id, n)| (*id, n)).collect(),
            time_zone: p.time_zone.clone(),
            age_min: p.age_min.to_string(),
            age_max: p.age_max.to_string(),
            max_distance_km: p.max_distance_km.map(|d| d.to_string()).unwrap_or_default(),
        }
    }

    fn from_form(pairs: &[(String, String)]) -> (Self, String) {
        let mut f = Fields::default();
        let mut csrf = String::new();
        let mut chosen = Vec::new();
        let mut order = std::collections::HashMap::new();
        for (key, value) in pairs {
            match key.as_str() {
                "csrf" => csrf = value.clone(),
                "display_name" => f.display_name = value.clone(),
                "birth_date" => f.birth_date = value.clone(),
                "gender" => f.gender = value.clone(),
                "wants" => f.wants.push(value.clone()),
                "intent" => f.intent = value.clone(),
                "bio" => f.bio = value.clone(),
                "interests" => f.interests.push(value.clone()),
                "other_interests" => f.other_interests = value.clone(),
                "place_id" => f.place_id = value.clone(),
                "place" => f.place = value.clone(),
                "photo" => chosen.extend(value.parse::<MediaId>().ok()),
                "time_zone" => f.time_zone = value.clone(),
                "age_min" => f.age_min = value.clone(),
                "age_max" => f.age_max = value.clone(),
                "max_distance_km" => f.max_distance_km = value.clone(),
                other => {
                    if let Some(id) = other.strip_prefix("position_")
                        && let Ok(id) = id.parse::<MediaId>()
                    {
                        order.insert(id, value.trim().parse::<u32>().unwrap_or(u32::MAX));
                    }
                }
            }
        }
        let mut photos: Vec<(MediaId, u32)> = chosen
            .into_iter()
            .map(|id| (id, order.get(&id).copied().unwrap_or(u32::MAX)))
            .collect();
        photos.sort_by_key(|(_, position)| *position);
        f.photos = photos;
        (f, csrf)
    }

    fn position_of(&self, id: &MediaId) -> String {
        self.photos
            .iter()
            .position(|(p, _)| p == id)
            .map(|i| (i + 1).to_string())
            .unwrap_or_default()
    }

    fn has_photo(&self, id: &MediaId) -> bool {
        self.photos.iter().any(|(p, _)| p == id)
    }

    /// The draft these values make, or the problems found before the service looks.
    fn draft(&self) -> Result<ProfileDraft, Vec<FieldError>> {
        let mut problems = Vec::new();
        let mut number = |field: &'static str, raw: &str| -> Option<u32> {
            let raw = raw.trim();
            if raw.is_empty() {
                return None;
            }
            raw.parse().ok().or_else(|| {
                problems.push(FieldError::new(field, "Enter a whole number."));
                None
            })
        };
        let age_min = number("age_min", &self.age_min);
        let age_max = number("age_max", &self.age_max);
        let max_distance_km = number("max_distance_km", &self.max_distance_km);
        let place = match self.place.trim() {
            "" => None,
            typed => {
                let picked = self
                    .place_id
                    .trim()
                    .parse()
                    .ok()
                    .and_then(places::get)
                    .filter(|p| p.label() == typed);
                match picked.or_else(|| places::search(typed, 1).into_iter().next()) {
                    Some(p) => Some(p.id),
                    None => {
                        problems.push(FieldError::new(
                            "place",
                            format!(
                                "No town called \"{typed}\" is on our list: try a nearby town."
                            ),
                        ));
                        None
                    }
                }
            }
        };
        if !problems.is_empty() {
            return Err(problems);
        }
        let mut interests = self.interests.clone();
        interests.extend(
            self.other_interests
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from),
        );
        Ok(ProfileDraft {
            display_name: self.display_name.clone(),
            birth_date: self.birth_date.clone(),
            gender: self.gender.clone(),
            wants: self.wants.clone(),
            intent: self.intent.clone(),
            bio: self.bio.clone(),
            interests,
            place,
            photos: self.photos.iter().map(|(id, _)| *id).collect(),
            time_zone: self.time_zone.clone(),
            age_min,
            age_max,
            max_distance_km,
        })
    }
}

#[derive(Template)]
#[template(path = "profile_edit.html")]
struct EditPage {
    page: PageContext,
    fields: Fields,
    options: ProfileSettings,
    /// The member's photos that can be chosen, newest first.
    library: Vec<Media>,
    errors: Vec<FieldError>,
    new: bool,
    age_max: u32,
}

impl EditPage {
    fn custom_interests(&self) -> String {
        self.fields
            .interests
            .iter()
            .filter(|i| !self.options.interests.contains(i))
            .cloned()
            .chain(Some(self.fields.other_interests.trim().to_string()).filter(|s| !s.is_empty()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

/// How many library items the form offers to choose photos from.
const LIBRARY_CHOICES: usize = 60;

async fn edit_page(
    req: &Request,
    viewer: &Viewer,
    fields: Option<Fields>,
    errors: Vec<FieldError>,
) -> Result<EditPage, AppError> {
    let me = signed_in(viewer, "/profile/edit")?;
    let state = state_of(req)?;
    let existing = state.profiles.mine(&me.actor())?;
    let new = existing.is_none();
    let fields = fields
        .or_else(|| existing.as_ref().map(Fields::of))
        .unwrap_or_default();
    let library = state
        .media
        .library(&me.user, None, LIBRARY_CHOICES)
        .await?
        .items
        .iter()
        .map(|item| item.media())
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|m| {
            !m.format.is_video()
                && !matches!(m.state, MediaState::Failed(_) | MediaState::Rejected(_))
        })
        .collect();
    Ok(EditPage {
        page: PageContext::new(req, state, viewer),
        fields,
        options: state.profiles.options(),
        library,
        errors,
        new,
        age_max: AGE_MAX,
    })
}

#[handler]
pub async fn edit(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    Ok(render(&edit_page(req, &viewer, None, Vec::new()).await?)?.into_response())
}

#[handler]
pub async fn save(
    req: &Request,
    viewer: Viewer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/profile/edit")?;
    let state = state_of(req)?;
    let (fields, csrf) = Fields::from_form(&pairs);
    verify_csrf(req, state, &viewer, Some(&csrf))?;
    let outcome = match fields.draft() {
        Ok(draft) => state.profiles.save(&me.actor(), draft).await,
        Err(problems) => Err(ServiceError::Invalid(problems)),
    };
    match outcome {
        Ok(_) => {
            flash::set(req, "Your profile is saved.");
            Ok(Redirect::see_other("/profile").into_response())
        }
        Err(ServiceError::Invalid(errors)) => render_status(
            &edit_page(req, &viewer, Some(fields), errors).await?,
            poem::http::StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize)]
pub struct PauseForm {
    csrf: String,
    paused: String,
}

#[handler]
pub async fn pause(
    req: &Request,
    viewer: Viewer,
    Form(input): Form<PauseForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/profile")?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&input.csrf))?;
    let paused = input.paused == "true";
    state.profiles.set_paused(&me.actor(), paused).await?;
    flash::set(
        req,
        if paused {
            "You are paused: others will not find you in the deck or the directory."
        } else {
            "Welcome back: others can find you again."
        },
    );
    Ok(Redirect::see_other("/profile").into_response())
}

#[derive(serde::Deserialize)]
pub struct SuggestQuery {
    #[serde(default)]
    place: String,
}

#[derive(Template)]
#[template(path = "place_suggestions.html")]
struct Suggestions {
    places: Vec<&'static Place>,
}

/// `GET /places/suggest?place=zur`: up to eight towns for the form's suggestion list.
#[handler]
pub async fn suggest(
    viewer: Viewer,
    Query(query): Query<SuggestQuery>,
) -> Result<Response, AppError> {
    signed_in(&viewer, "/profile/edit")?;
    Ok(render(&Suggestions {
        places: places::search(&query.place, 8),
    })?
    .into_response())
}

/// The card image of a photo, when it has been made.
pub fn card_url(m: &Media) -> Option<String> {
    m.variant(Variant::Card)
        .map(|_| format!("/media/{}/card", m.id))
}
