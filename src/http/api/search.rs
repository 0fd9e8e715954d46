//! `GET /api/v1/search`: one search over everything the caller may see, with facets counted
//! under the same permissions.

use poem::Request;
use poem_openapi::param::Query;
use poem_openapi::{Enum, Object, OpenApi};

use super::reply::Reply;
use super::{ApiTags, OffsetPagination, PageRequest};
use crate::domain::search::{SnippetPart, snippet};
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::state_of;
use crate::service::search::{PAGE_MAX, SearchAnswer, SearchRequest};

pub struct SearchApi;

#[derive(Enum, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum SearchSort {
    Relevance,
    Newest,
}

/// A piece of a snippet: plain text, or a word the query matched (`match`: true). Show the
/// text as text; mark the matches however you like.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct SnippetView {
    pub text: String,
    #[oai(rename = "match")]
    #[serde(rename = "match")]
    pub matched: bool,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct SearchHitView {
    /// `profile`, `message`, …
    pub kind: String,
    /// The record's id (for a profile, the member's).
    pub id: String,
    pub title: String,
    pub snippet: Vec<SnippetView>,
    /// The page that shows it.
    pub url: String,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
}

/// Counts over all results the caller may see (not just this page).
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct SearchFacets {
    pub kind: Vec<FacetValue>,
    pub interest: Vec<FacetValue>,
    pub intent: Vec<FacetValue>,
    pub city: Vec<FacetValue>,
}

#[derive(Object, serde::Serialize)]
pub struct SearchResults {
    pub data: Vec<SearchHitView>,
    pub pagination: OffsetPagination,
    pub facets: SearchFacets,
}

/// The answer as the API and the pages show it.
pub fn results(answer: &SearchAnswer, page: PageRequest) -> SearchResults {
    let hits = answer
        .found
        .hits
        .iter()
        .map(|h| {
            let id = h.key.split_once(':').map_or("", |(_, id)| id).to_string();
            SearchHitView {
                url: h.link.clone(),
                kind: h.kind.clone(),
                id,
                title: h.title.clone(),
                snippet: snippet(&h.body, &answer.query, &answer.found.stands_for, 160)
                    .into_iter()
                    .map(|p| match p {
                        SnippetPart::Text(text) => SnippetView {
                            text,
                            matched: false,
                        },
                        SnippetPart::Match(text) => SnippetView {
                            text,
                            matched: true,
                        },
                    })
                    .collect(),
            }
        })
        .collect();
    let facet = |name: &str| -> Vec<FacetValue> {
        answer
            .found
            .facets
            .get(name)
            .map(|values| {
                values
                    .iter()
                    .map(|(value, count)| FacetValue {
                        value: value.clone(),
                        count: *count,
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let listed = page.answer(hits, answer.found.total);
    SearchResults {
        data: listed.data,
        pagination: listed.pagination,
        facets: SearchFacets {
            kind: facet("kind"),
            interest: facet("interest"),
            intent: facet("intent"),
            city: facet("city"),
        },
    }
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Profiles")]
impl SearchApi {
    /// Search
    ///
    /// Words match in names, titles and text, with typos forgiven (one in a word of 4+
    /// letters, two from 8), the last word as a prefix while typing (no space after it),
    /// accents folded, `"quoted phrases"` in order. Any string is safe: nothing in it is
    /// query syntax. Only what the caller may see is found and counted; members blocked
    /// either way never appear. Facets count all results. At most 1,000 results deep.
    #[oai(path = "/search", method = "get", operation_id = "search")]
    #[allow(clippy::too_many_arguments)]
    async fn search(
        &self,
        req: &Request,
        viewer: Viewer,
        /// What to look for (up to 500 characters).
        #[oai(validator(max_length = 500))]
        q: Query<Option<String>>,
        /// Only these kinds (`profile`, `message`, `story`, `record`).
        #[oai(validator(max_items = 5))]
        kind: Query<Vec<String>>,
        /// Only members with these interests (all of them).
        #[oai(validator(max_items = 10))]
        interest: Query<Vec<String>>,
        #[oai(validator(max_length = 64))] intent: Query<Option<String>>,
        #[oai(validator(max_length = 100))] city: Query<Option<String>>,
        sort: Query<Option<SearchSort>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "1000")))] page: Query<Option<u32>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "50")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<SearchResults>, AppError> {
        let me = viewer.require()?;
        let mut filters: Vec<(String, String)> = interest
            .0
            .into_iter()
            .map(|i| ("interest".to_string(), i))
            .collect();
        filters.extend(intent.0.map(|i| ("intent".to_string(), i)));
        filters.extend(city.0.map(|c| ("city".to_string(), c)));
        let page = PageRequest::new(page.0, Some(limit.0.unwrap_or(20).min(PAGE_MAX as u32)));
        let answer = state_of(req)?
            .search
            .search(
                &me.actor(),
                SearchRequest {
                    q: q.0.unwrap_or_default(),
                    kinds: kind.0,
                    filters,
                    newest_first: sort.0 == Some(SearchSort::Newest),
                    page: page.page as usize,
                    limit: page.limit(),
                    as_you_type: false,
                },
            )
            .await?;
        Ok(Reply(results(&answer, page)))
    }
}
