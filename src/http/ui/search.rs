//! Search pages: the results page with facets (a plain GET form, so it works without
//! JavaScript), and the suggestions under the header's search box (htmx, as you type).

use askama::Template;
use poem::http::StatusCode;
use poem::web::Query;
use poem::{IntoResponse, Request, Response, handler};

use super::{PageContext, render, render_status, signed_in, state_of};
use crate::domain::account::FieldError;
use crate::http::api::PageRequest;
use crate::http::api::search::{FacetValue, SearchResults, results};
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::routing::Routes;
use crate::service::error::ServiceError;
use crate::service::search::{FILTERS_MAX, KINDS_MAX, SearchRequest, VALUE_MAX_CHARS};

pub fn routes() -> Routes {
    Routes::new()
        .get("/search", results_page)
        .get("/search/suggest", suggest)
}

/// The form as sent: `q`, `sort`, `page`, and facet filters (`interest`, `intent`, `city`).
fn request_of(
    pairs: &[(String, String)],
    limit: usize,
) -> (SearchRequest, String, Vec<(String, String)>) {
    let mut request = SearchRequest {
        limit,
        page: 1,
        ..SearchRequest::default()
    };
    let mut sort = "relevance".to_string();
    let mut filters = Vec::new();
    for (name, value) in pairs {
        match name.as_str() {
            "q" => request.q = value.chars().take(2_000).collect(),
            "sort" => sort = value.clone(),
            "page" => request.page = value.parse().unwrap_or(1).clamp(1, 1_000),
            // The service refuses more; a hand-made address keeps what fits.
            "kind"
                if request.kinds.len() < KINDS_MAX && value.chars().count() <= VALUE_MAX_CHARS =>
            {
                request.kinds.push(value.clone());
            }
            "interest" | "intent" | "city"
                if filters.len() < FILTERS_MAX && value.chars().count() <= VALUE_MAX_CHARS =>
            {
                filters.push((name.clone(), value.clone()));
            }
            _ => {}
        }
    }
    request.newest_first = sort == "newest";
    request.filters = filters.clone();
    (request, sort, filters)
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    page: PageContext,
    q: String,
    sort: String,
    filters: Vec<(String, String)>,
    found: Option<SearchResults>,
    errors: Vec<FieldError>,
}

impl SearchPage {
    /// The address of these results with one filter added or taken away.
    fn toggle(&self, name: &str, value: &str) -> String {
        let mut pairs: Vec<(String, String)> = vec![("q".into(), self.q.clone())];
        if self.sort != "relevance" {
            pairs.push(("sort".into(), self.sort.clone()));
        }
        let on = self.filters.iter().any(|(n, v)| n == name && v == value);
        pairs.extend(
            self.filters
                .iter()
                .filter(|(n, v)| !(n == name && v == value))
                .cloned(),
        );
        if !on {
            pairs.push((name.to_string(), value.to_string()));
        }
        format!("/search?{}", encode(&pairs))
    }

    /// The facets shown beside the results: (filter name, heading, counts).
    fn groups<'f>(
        &self,
        found: &'f SearchResults,
    ) -> Vec<(&'static str, &'static str, &'f Vec<FacetValue>)> {
        vec![
            ("interest", "Interests", &found.facets.interest),
            ("intent", "Here for", &found.facets.intent),
            ("city", "Town", &found.facets.city),
        ]
    }

    fn is_on(&self, name: &str, value: &str) -> bool {
        self.filters.iter().any(|(n, v)| n == name && v == value)
    }

    fn page_link(&self, page: u32) -> String {
        let mut pairs: Vec<(String, String)> = vec![("q".into(), self.q.clone())];
        pairs.push(("sort".into(), self.sort.clone()));
        pairs.extend(self.filters.iter().cloned());
        pairs.push(("page".into(), page.to_string()));
        format!("/search?{}", encode(&pairs))
    }
}

fn encode(pairs: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[handler]
pub async fn results_page(
    req: &Request,
    viewer: Viewer,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/search")?;
    let state = state_of(req)?;
    let (request, sort, filters) = request_of(&pairs, 20);
    let q = request.q.clone();
    let page_request = PageRequest::new(Some(request.page as u32), Some(20));
    let blank = q.trim().is_empty() && filters.is_empty();
    let (found, errors) = if blank {
        (None, Vec::new())
    } else {
        match state.search.search(&me.actor(), request).await {
            Ok(answer) => (Some(results(&answer, page_request)), Vec::new()),
            Err(ServiceError::Invalid(errors)) => (None, errors),
            Err(e) => return Err(e.into()),
        }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_status(
        &SearchPage {
            page: PageContext::new(req, state, &viewer),
            q,
            sort,
            filters,
            found,
            errors,
        },
        status,
    )
}

#[derive(Template)]
#[template(path = "search_suggestions.html")]
struct Suggestions {
    q: String,
    found: Option<SearchResults>,
}

impl Suggestions {
    fn all_link(&self) -> String {
        format!("/search?{}", encode(&[("q".to_string(), self.q.clone())]))
    }
}

/// The first few results for what is typed so far (an htmx partial).
#[handler]
pub async fn suggest(
    req: &Request,
    viewer: Viewer,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/search")?;
    let state = state_of(req)?;
    let (mut request, _, _) = request_of(&pairs, 6);
    request.as_you_type = true;
    let q = request.q.clone();
    let found = if q.trim().is_empty() {
        None
    } else {
        // A refused query (too long) suggests nothing; the full page says why.
        state
            .search
            .search(&me.actor(), request)
            .await
            .ok()
            .map(|answer| results(&answer, PageRequest::new(Some(1), Some(6))))
    };
    Ok(render(&Suggestions { q, found })?.into_response())
}
