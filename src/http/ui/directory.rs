//! The directory page: a filter form (a plain GET form) and member cards, twenty at a time,
//! with "Load more" (a link to the next page; htmx appends it in place).

use askama::Template;
use poem::{IntoResponse, Request, Response, handler};

use super::{PageContext, render, render_status, signed_in, state_of};
use crate::domain::account::FieldError;
use crate::domain::directory::{Query, Sort};
use crate::domain::settings::ProfileSettings;
use crate::http::api::{format_keyed_cursor, keyed_cursor};
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::routing::Routes;
use crate::service::error::ServiceError;
use crate::service::profiles::ProfileCard;

pub fn routes() -> Routes {
    Routes::new().get("/directory", page)
}

/// The filter form's values as typed.
#[derive(Default)]
struct Filters {
    age_min: String,
    age_max: String,
    genders: Vec<String>,
    intents: Vec<String>,
    interests: Vec<String>,
    all_interests: bool,
    max_distance_km: String,
    active_within_days: String,
    has_photo: bool,
    sort: String,
    cursor: Option<String>,
}

impl Filters {
    fn from_query(pairs: &[(String, String)]) -> Self {
        let mut f = Filters::default();
        for (k, v) in pairs {
            match k.as_str() {
                "age_min" => f.age_min = v.clone(),
                "age_max" => f.age_max = v.clone(),
                "gender" => f.genders.push(v.clone()),
                "intent" => f.intents.push(v.clone()),
                "interest" => f.interests.push(v.clone()),
                "interests_match" => f.all_interests = v == "all",
                "max_distance_km" => f.max_distance_km = v.clone(),
                "active_within_days" => f.active_within_days = v.clone(),
                "has_photo" => f.has_photo = v == "yes",
                "sort" => f.sort = v.clone(),
                "cursor" => f.cursor = Some(v.clone()).filter(|c| !c.is_empty()),
                _ => {}
            }
        }
        f
    }

    fn query(&self) -> Result<Query, Vec<FieldError>> {
        let mut problems = Vec::new();
        let mut number = |field: &'static str, raw: &str| {
            let raw = raw.trim();
            if raw.is_empty() {
                return None;
            }
            raw.parse::<u32>().ok().or_else(|| {
                problems.push(FieldError::new(field, "Enter a whole number."));
                None
            })
        };
        let query = Query {
            age_min: number("age_min", &self.age_min),
            age_max: number("age_max", &self.age_max),
            genders: self.genders.clone(),
            intents: self.intents.clone(),
            interests: self.interests.clone(),
            all_interests: self.all_interests,
            max_distance_km: number("max_distance_km", &self.max_distance_km),
            active_within_days: number("active_within_days", &self.active_within_days),
            has_photo: self.has_photo,
            sort: Sort::parse(&self.sort).unwrap_or_default(),
        };
        if problems.is_empty() {
            Ok(query)
        } else {
            Err(problems)
        }
    }

    /// This search's query string without the cursor, for "Load more".
    fn query_string(&self) -> String {
        let mut pairs: Vec<(&str, &str)> = vec![
            ("age_min", &self.age_min),
            ("age_max", &self.age_max),
            ("max_distance_km", &self.max_distance_km),
            ("active_within_days", &self.active_within_days),
            ("sort", &self.sort),
        ];
        pairs.extend(self.genders.iter().map(|g| ("gender", g.as_str())));
        pairs.extend(self.intents.iter().map(|i| ("intent", i.as_str())));
        pairs.extend(self.interests.iter().map(|i| ("interest", i.as_str())));
        if self.all_interests {
            pairs.push(("interests_match", "all"));
        }
        if self.has_photo {
            pairs.push(("has_photo", "yes"));
        }
        pairs
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

fn encode(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

#[derive(Template)]
#[template(path = "directory.html")]
struct DirectoryPage {
    page: PageContext,
    filters: Filters,
    options: ProfileSettings,
    sorts: [(&'static str, &'static str); 4],
    cards: Vec<ProfileCard>,
    /// The link to the next page, when there may be one.
    more: Option<String>,
    errors: Vec<FieldError>,
}

/// The next page's cards alone, for htmx to put in place of "Load more".
#[derive(Template)]
#[template(path = "directory_cards.html")]
struct MoreCards {
    cards: Vec<ProfileCard>,
    more: Option<String>,
}

#[handler]
pub async fn page(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/directory")?;
    let state = state_of(req)?;
    let pairs: Vec<(String, String)> = req.params().unwrap_or_default();
    let filters = Filters::from_query(&pairs);
    let actor = me.actor();
    let outcome = match filters.query() {
        Ok(query) => {
            let after = keyed_cursor(filters.cursor.as_deref())?;
            state
                .directory
                .search(&actor, &query, after, 20)
                .await
                .map(|page| (page.members, page.next))
        }
        Err(problems) => Err(ServiceError::Invalid(problems)),
    };
    let (members, next, errors) = match outcome {
        Ok((members, next)) => (members, next, Vec::new()),
        Err(ServiceError::Invalid(problems)) => (Vec::new(), None, problems),
        Err(e) => return Err(e.into()),
    };
    let cards = state.profiles.cards(&actor, &members)?;
    let more = next.map(|c| {
        format!(
            "/directory?{}&cursor={}",
            filters.query_string(),
            encode(&format_keyed_cursor(c))
        )
    });
    let status = if errors.is_empty() {
        poem::http::StatusCode::OK
    } else {
        poem::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    if req.header("hx-request").is_some() && errors.is_empty() {
        return Ok(render(&MoreCards { cards, more })?.into_response());
    }
    let view = DirectoryPage {
        page: PageContext::new(req, state, &viewer),
        filters,
        options: state.profiles.options(),
        sorts: [
            ("newest", "Newest"),
            ("recently_active", "Recently active"),
            ("nearest", "Nearest"),
            ("best_match", "Best match"),
        ],
        cards,
        more,
        errors,
    };
    render_status(&view, status).map(IntoResponse::into_response)
}
