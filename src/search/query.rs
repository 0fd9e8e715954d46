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
use crate::domain::search::typo_distance;

type Clause = (Occur, Box<dyn TQuery>);

/// The documents open to everyone holding `access` (all members, a role) that match.
pub(super) fn shared(f: &Fields, q: &Query) -> Box<dyn TQuery> {
    let mut clauses = matching(f, q);
    clauses.push((Occur::Must, filter(any_of(f.access, &q.access))));
    Box::new(BooleanQuery::new(clauses))
}

/// The documents open only through the searcher's own terms that match, less those the
/// shared part holds already and those left out for them.
pub(super) fn personal(f: &Fields, q: &Query) -> Box<dyn TQuery> {
    let mut clauses = matching(f, q);
    clauses.push((Occur::Must, filter(any_of(f.access, &q.own_access))));
    clauses.push((Occur::MustNot, any_of(f.access, &q.access)));
    clauses.push((Occur::MustNot, exclusions(f, q)));
    Box::new(BooleanQuery::new(clauses))
}

/// What this searcher may not see whatever its access terms: their own documents by key,
/// those of members blocked either way, and those not visible yet or any more.
pub(super) fn exclusions(f: &Fields, q: &Query) -> Box<dyn TQuery> {
    let mut any: Vec<Clause> = Vec::new();
    for (field, values) in [(f.key, &q.exclude_keys), (f.member, &q.exclude_members)] {
        for value in values {
            any.push((Occur::Should, term(field, value)));
        }
    }
    any.push((
        Occur::Should,
        Box::new(RangeQuery::new(
            Bound::Excluded(Term::from_field_i64(f.visible_from, q.now_ms)),
            Bound::Unbounded,
        )),
    ));
    any.push((
        Occur::Should,
        Box::new(RangeQuery::new(
            Bound::Unbounded,
            Bound::Included(Term::from_field_i64(f.visible_until, q.now_ms)),
        )),
    ));
    Box::new(BooleanQuery::new(any))
}

/// The text and the filters (kinds, facet values), without access.
fn matching(f: &Fields, q: &Query) -> Vec<Clause> {
    let mut must: Vec<Clause> = Vec::new();
    // Each word must match the title or the body, allowing for typos.
    for word in &q.text.words {
        must.push((Occur::Must, word_query(f, word, false)));
    }
    if let Some(prefix) = &q.text.prefix {
        must.push((Occur::Must, word_query(f, prefix, true)));
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

/// A word in the title (counting double) or the body: exactly, within its typo distance, or
/// (being typed) as the start of a word.
fn word_query(f: &Fields, word: &str, prefix: bool) -> Box<dyn TQuery> {
    let mut should: Vec<Clause> = Vec::new();
    for (field, boost) in [(f.title_words, 2.0), (f.body_words, 1.0)] {
        let term = Term::from_field_text(field, word);
        should.push((
            Occur::Should,
            Box::new(BoostQuery::new(
                Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                boost * 2.0,
            )),
        ));
        let fuzzy: Box<dyn TQuery> = if prefix {
            Box::new(FuzzyTermQuery::new_prefix(
                term,
                typo_distance(word).min(1),
                true,
            ))
        } else {
            Box::new(FuzzyTermQuery::new(term, typo_distance(word), true))
        };
        should.push((Occur::Should, Box::new(BoostQuery::new(fuzzy, boost))));
    }
    Box::new(BooleanQuery::new(should))
}

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
