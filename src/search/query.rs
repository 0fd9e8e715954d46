//! Tantivy queries built from a [`Query`]: the words as typed, the filters (which add
//! nothing to a score, so the shared and the personal parts of an answer rank alike), and
//! who may see what.

use std::ops::Bound;

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhraseQuery,
    Query as TQuery, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};

use super::{Fields, Query, facet};

type Clause = (Occur, Box<dyn TQuery>);

/// The words of the index a typed word stands for: itself within its typo distance, or
/// (being typed) the words it starts, within one typo. `(field, word, prefix)` → words.
pub(super) type Expand<'a> = dyn Fn(Field, &str, bool) -> std::sync::Arc<Vec<String>> + 'a;

/// The documents open to everyone holding `access` (all members, a role) that match.
pub(super) fn shared(f: &Fields, q: &Query, expand: &Expand) -> Box<dyn TQuery> {
    let mut clauses = matching(f, q, expand);
    clauses.push((Occur::Must, filter(any_of(f.access, &q.access))));
    Box::new(BooleanQuery::new(clauses))
}

/// The documents open only through the searcher's own terms that match, less those the
/// shared part holds already and those left out for them.
pub(super) fn personal(
    f: &Fields,
    q: &Query,
    expand: &Expand,
    windows: Windows,
) -> Box<dyn TQuery> {
    let mut clauses = matching(f, q, expand);
    clauses.push((Occur::Must, filter(any_of(f.access, &q.own_access))));
    clauses.push((Occur::MustNot, any_of(f.access, &q.access)));
    clauses.push((Occur::MustNot, exclusions(f, q, windows)));
    Box::new(BooleanQuery::new(clauses))
}

/// The latest `visible_from` and the earliest `visible_until` of any document in the index
/// (ms): a range clause that can match nothing is left out, since each one costs a pass
/// over a bitmap as large as the index.
#[derive(Debug, Clone, Copy)]
pub(super) struct Windows {
    pub latest_from: i64,
    pub earliest_until: i64,
}

/// What this searcher may not see whatever its access terms: their own documents by key,
/// those of members blocked either way, and those not visible yet or any more.
pub(super) fn exclusions(f: &Fields, q: &Query, windows: Windows) -> Box<dyn TQuery> {
    let mut any: Vec<Clause> = Vec::new();
    for (field, values) in [(f.key, &q.exclude_keys), (f.member, &q.exclude_members)] {
        for value in values {
            any.push((Occur::Should, term(field, value)));
        }
    }
    if windows.latest_from > q.now_ms {
        any.push((
            Occur::Should,
            Box::new(RangeQuery::new(
                Bound::Excluded(Term::from_field_i64(f.visible_from, q.now_ms)),
                Bound::Unbounded,
            )),
        ));
    }
    if windows.earliest_until <= q.now_ms {
        any.push((
            Occur::Should,
            Box::new(RangeQuery::new(
                Bound::Unbounded,
                Bound::Included(Term::from_field_i64(f.visible_until, q.now_ms)),
            )),
        ));
    }
    Box::new(BooleanQuery::new(any))
}

/// The [`Windows`] of the documents on `searcher`, from the two fields' term dictionaries
/// (a few distinct values: 0, suspension ends, story expiries, never).
pub(super) fn windows(searcher: &tantivy::Searcher, f: &Fields) -> tantivy::Result<Windows> {
    let mut w = Windows {
        latest_from: i64::MIN,
        earliest_until: i64::MAX,
    };
    for reader in searcher.segment_readers() {
        for (field, is_from) in [(f.visible_from, true), (f.visible_until, false)] {
            let index = reader.inverted_index(field)?;
            let mut stream = index.terms().stream()?;
            while stream.advance() {
                let Ok(bytes) = <[u8; 8]>::try_from(stream.key()) else {
                    continue;
                };
                let value = tantivy::u64_to_i64(u64::from_be_bytes(bytes));
                if is_from {
                    w.latest_from = w.latest_from.max(value);
                } else {
                    w.earliest_until = w.earliest_until.min(value);
                }
            }
        }
    }
    Ok(w)
}

/// The text and the filters (kinds, facet values), without access.
fn matching(f: &Fields, q: &Query, expand: &Expand) -> Vec<Clause> {
    let mut must: Vec<Clause> = Vec::new();
    // Each word must match the title or the body, allowing for typos.
    for word in &q.text.words {
        must.push((Occur::Must, word_query(f, word, false, expand)));
    }
    if let Some(prefix) = &q.text.prefix {
        must.push((Occur::Must, word_query(f, prefix, true, expand)));
    }
    for phrase in &q.text.phrases {
        let in_field = |field: Field| -> Box<dyn TQuery> {
            Box::new(PhraseQuery::new(
                phrase
                    .iter()
                    .map(|w| Term::from_field_text(field, w))
                    .collect(),
            ))
        };
        must.push((
            Occur::Must,
            Box::new(BooleanQuery::new(vec![
                (Occur::Should, in_field(f.title_words)),
                (Occur::Should, in_field(f.body_words)),
            ])),
        ));
    }
    if must.is_empty() {
        must.push((Occur::Must, Box::new(AllQuery)));
    }
    if !q.kinds.is_empty() {
        must.push((Occur::Must, filter(any_of(f.kind, &q.kinds))));
    }
    for (name, value) in &q.filters {
        must.push((
            Occur::Must,
            filter(Box::new(TermQuery::new(
                Term::from_facet(f.facets, &facet(name, value)),
                IndexRecordOption::Basic,
            ))),
        ));
    }
    must
}

/// A word in the title (counting double) or the body: exactly (counting double again), or
/// as one of the words it stands for (`expand`). The expansion is a union of plain term
/// queries, so a query that meets a few documents (a searcher's own, those left out for
/// them) reads only those postings, instead of every posting of every word it stands for.
fn word_query(f: &Fields, word: &str, prefix: bool, expand: &Expand) -> Box<dyn TQuery> {
    let mut should: Vec<Clause> = Vec::new();
    for (field, boost) in [(f.title_words, 2.0), (f.body_words, 1.0)] {
        let scored = |w: &str, boost: f32| -> Clause {
            let term = Term::from_field_text(field, w);
            (
                Occur::Should,
                Box::new(BoostQuery::new(
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
                    boost,
                )),
            )
        };
        should.push(scored(word, boost * 2.0));
        for other in expand(field, word, prefix).iter().filter(|w| *w != word) {
            should.push(scored(other, boost));
        }
    }
    Box::new(BooleanQuery::new(should))
}

/// The index's words within reach of `word` in `field` on `searcher` (see [`Expand`]), the
/// most frequent first, at most [`EXPANSIONS`].
pub(super) fn expansions(
    searcher: &tantivy::Searcher,
    field: Field,
    word: &str,
    prefix: bool,
) -> tantivy::Result<Vec<String>> {
    let distance = crate::domain::search::typo_distance(word);
    let term = Term::from_field_text(field, word);
    let fuzzy = if prefix {
        FuzzyTermQuery::new_prefix(term, distance.min(1), true)
    } else if distance == 0 {
        return Ok(vec![word.to_string()]);
    } else {
        FuzzyTermQuery::new(term, distance, true)
    };
    let dfa = fuzzy.automaton()?;
    let mut found: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for reader in searcher.segment_readers() {
        let index = reader.inverted_index(field)?;
        let mut stream = index.terms().search(&dfa).into_stream()?;
        while stream.advance() {
            if let Ok(w) = std::str::from_utf8(stream.key()) {
                *found.entry(w.to_string()).or_default() += u64::from(stream.value().doc_freq);
            }
        }
    }
    let mut words: Vec<(String, u64)> = found.into_iter().collect();
    words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    words.truncate(EXPANSIONS);
    Ok(words.into_iter().map(|(w, _)| w).collect())
}

/// Words a typed word stands for at most: a short prefix (`m`) starts thousands of words;
/// the most frequent are kept.
const EXPANSIONS: usize = 32;

/// A clause that narrows without scoring.
fn filter(query: Box<dyn TQuery>) -> Box<dyn TQuery> {
    Box::new(ConstScoreQuery::new(query, 0.0))
}

fn term(field: Field, value: &str) -> Box<dyn TQuery> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

/// Any of `values` in `field`; nothing when there are none.
fn any_of(field: Field, values: &[String]) -> Box<dyn TQuery> {
    Box::new(BooleanQuery::new(
        values
            .iter()
            .map(|v| (Occur::Should, term(field, v)))
            .collect(),
    ))
}
