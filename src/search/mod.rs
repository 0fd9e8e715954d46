//! The search index: the only module that names tantivy. It holds documents
//! ([`Document`]) and answers queries ([`Query`]) with the permission filter inside the
//! query, so totals and facet counts are computed under it and reveal nothing.
//!
//! Text is folded before tantivy sees it (`domain::search::words`: lower case, accents off,
//! other scripts transliterated), into index-only fields cut at spaces; the original text is
//! stored beside it for results. Queries are built from our own reading of the query string
//! (`domain::search::parse_query`), never from tantivy's query language.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query as TQuery,
    RangeQuery, TermQuery,
};
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{TextAnalyzer, WhitespaceTokenizer};
use tantivy::{Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term};

use crate::domain::search::{Document, Facets, ParsedQuery, typo_distance, words};

/// Facets counted for every query.
pub const FACETS: [&str; 4] = ["kind", "interest", "intent", "city"];
/// Bumped when the schema changes: an index of another version is rebuilt.
const SCHEMA_VERSION: &str = "2";
/// The writer's memory budget (tantivy's minimum is 15 MB).
const WRITER_MEMORY: usize = 32_000_000;
const TOKENIZER: &str = "folded_words";

#[derive(Debug, thiserror::Error)]
#[error("search index: {0}")]
pub struct SearchError(String);

impl From<tantivy::TantivyError> for SearchError {
    fn from(e: tantivy::TantivyError) -> Self {
        SearchError(e.to_string())
    }
}

/// What to look for, and who is looking.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub text: ParsedQuery,
    /// Only these kinds (none: all).
    pub kinds: Vec<String>,
    /// Required facet values: (facet, value).
    pub filters: Vec<(String, String)>,
    /// The searcher's access terms: a document must carry one of them.
    pub access: Vec<String>,
    /// Members whose documents are left out (blocks, either way).
    pub exclude_members: Vec<String>,
    /// Documents left out by key (the searcher's own profile).
    pub exclude_keys: Vec<String>,
    pub newest_first: bool,
    /// Now (ms): documents not visible yet are left out.
    pub now_ms: i64,
    pub offset: usize,
    pub limit: usize,
}

/// One result: the document's key, its stored title and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub key: String,
    pub kind: String,
    pub link: String,
    pub title: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub hits: Vec<Hit>,
    pub total: u64,
    pub facets: Facets,
}

struct Fields {
    key: Field,
    kind: Field,
    link: Field,
    access: Field,
    member: Field,
    title: Field,
    body: Field,
    title_words: Field,
    body_words: Field,
    facets: Field,
    time: Field,
    visible_from: Field,
}

pub struct SearchIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    dir: PathBuf,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        key: b.add_text_field("key", STRING | STORED),
        kind: b.add_text_field("kind", STRING | STORED),
        link: b.add_text_field("link", STORED),
        access: b.add_text_field("access", STRING),
        member: b.add_text_field("member", STRING),
        title: b.add_text_field("title", STORED),
        body: b.add_text_field("body", STORED),
        title_words: b.add_text_field("title_words", words.clone()),
        body_words: b.add_text_field("body_words", words),
        facets: b.add_facet_field("facets", FacetOptions::default()),
        time: b.add_i64_field("time", INDEXED | FAST),
        visible_from: b.add_i64_field("visible_from", INDEXED | FAST),
    };
    (b.build(), fields)
}

impl SearchIndex {
    /// Opens the index in `dir`, or makes an empty one there when it is missing, unreadable
    /// or of another schema version; the second value says whether it was made anew (and
    /// so must be filled from the database).
    pub fn open(dir: &Path) -> Result<(SearchIndex, bool), SearchError> {
        let marker = dir.join("hearth-schema");
        let current = std::fs::read_to_string(&marker).ok();
        let opened = if current.as_deref() == Some(SCHEMA_VERSION) {
            Index::open_in_dir(dir).ok()
        } else {
            None
        };
        let (index, fresh) = match opened {
            Some(index) => (index, false),
            None => {
                let _ = std::fs::remove_dir_all(dir);
                std::fs::create_dir_all(dir)
                    .map_err(|e| SearchError(format!("cannot create {}: {e}", dir.display())))?;
                let index = Index::create_in_dir(dir, schema().0)?;
                std::fs::write(&marker, SCHEMA_VERSION)
                    .map_err(|e| SearchError(format!("cannot write {}: {e}", marker.display())))?;
                (index, true)
            }
        };
        Self::with_index(index, dir.to_path_buf()).map(|s| (s, fresh))
    }

    fn with_index(index: Index, dir: PathBuf) -> Result<SearchIndex, SearchError> {
        index.tokenizers().register(
            TOKENIZER,
            TextAnalyzer::builder(WhitespaceTokenizer::default()).build(),
        );
        let (_, fields) = schema();
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            reader,
            writer: Mutex::new(writer),
            fields,
            dir,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Replaces or removes documents by key, and removes every document by or open to the
    /// members in `gone` (deleted accounts), then commits once and makes the changes
    /// visible. Idempotent: applying the same changes twice leaves the same index.
    pub fn apply(
        &self,
        upserts: Vec<Document>,
        removals: Vec<String>,
        gone: Vec<String>,
    ) -> Result<(), SearchError> {
        let mut writer = self
            .writer
            .lock()
            .map_err(|_| SearchError("the writer lock is poisoned".into()))?;
        let f = &self.fields;
        for key in removals {
            writer.delete_term(Term::from_field_text(f.key, &key));
        }
        for member in gone {
            writer.delete_term(Term::from_field_text(f.member, &member));
            writer.delete_term(Term::from_field_text(f.access, &format!("member:{member}")));
        }
        for doc in upserts {
            writer.delete_term(Term::from_field_text(f.key, &doc.key));
            writer.add_document(self.to_tantivy(&doc))?;
        }
        writer.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Empties the index (before a rebuild).
    pub fn clear(&self) -> Result<(), SearchError> {
        let mut writer = self
            .writer
            .lock()
            .map_err(|_| SearchError("the writer lock is poisoned".into()))?;
        writer.delete_all_documents()?;
        writer.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    pub fn documents(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn to_tantivy(&self, d: &Document) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.key, &d.key);
        doc.add_text(f.kind, d.kind);
        doc.add_text(f.link, &d.link);
        for a in &d.access {
            doc.add_text(f.access, a);
        }
        if let Some(m) = &d.member {
            doc.add_text(f.member, m);
        }
        doc.add_text(f.title, &d.title);
        doc.add_text(f.body, &d.body);
        doc.add_text(f.title_words, words(&d.title).join(" "));
        doc.add_text(f.body_words, words(&d.body).join(" "));
        doc.add_facet(f.facets, facet("kind", d.kind));
        for (name, value) in &d.facets {
            doc.add_facet(f.facets, facet(name, value));
        }
        doc.add_i64(f.time, d.time_ms);
        doc.add_i64(f.visible_from, d.visible_from_ms);
        doc
    }

    /// Runs a query: the page of hits, the total and the facet counts, all under the same
    /// filter.
    pub fn search(&self, q: &Query) -> Result<Found, SearchError> {
        let query = self.build(q);
        let searcher = self.reader.searcher();
        let mut facets = FacetCollector::for_field("facets");
        for name in FACETS {
            facets.add_facet(Facet::from_path([name]));
        }
        let limit = q.limit.max(1);
        let top = TopDocs::with_limit(limit).and_offset(q.offset);
        let (addresses, total, counts) = if q.newest_first {
            let (docs, total, counts) = searcher.search(
                &query,
                &(
                    top.order_by_fast_field::<i64>("time", Order::Desc),
                    Count,
                    facets,
                ),
            )?;
            (
                docs.into_iter().map(|d| d.1).collect::<Vec<_>>(),
                total,
                counts,
            )
        } else {
            let (docs, total, counts) =
                searcher.search(&query, &(top.order_by_score(), Count, facets))?;
            (
                docs.into_iter().map(|d| d.1).collect::<Vec<_>>(),
                total,
                counts,
            )
        };
        let text = |doc: &TantivyDocument, field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let mut hits = Vec::with_capacity(addresses.len());
        for address in addresses {
            let doc: TantivyDocument = searcher.doc(address)?;
            hits.push(Hit {
                key: text(&doc, self.fields.key),
                kind: text(&doc, self.fields.kind),
                link: text(&doc, self.fields.link),
                title: text(&doc, self.fields.title),
                body: text(&doc, self.fields.body),
            });
        }
        let mut out = Facets::new();
        for name in FACETS {
            let mut values: Vec<(String, u64)> = counts
                .get(Facet::from_path([name]))
                .map(|(facet, count)| {
                    let path = facet.to_path();
                    (path.last().copied().unwrap_or_default().to_string(), count)
                })
                .collect();
            values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            values.truncate(20);
            out.insert(name, values);
        }
        Ok(Found {
            hits,
            total: total as u64,
            facets: out,
        })
    }

    fn build(&self, q: &Query) -> Box<dyn TQuery> {
        let f = &self.fields;
        let mut must: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
        // Each word must match the title or the body, allowing for typos.
        for word in &q.text.words {
            must.push((Occur::Must, self.word_query(word, false)));
        }
        if let Some(prefix) = &q.text.prefix {
            must.push((Occur::Must, self.word_query(prefix, true)));
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
        // Who may see: one of the searcher's access terms. Nothing without one.
        must.push((Occur::Must, any_of(f.access, &q.access)));
        must.push((
            Occur::Must,
            Box::new(RangeQuery::new(
                Bound::Unbounded,
                Bound::Included(Term::from_field_i64(f.visible_from, q.now_ms)),
            )),
        ));
        if !q.kinds.is_empty() {
            must.push((Occur::Must, any_of(f.kind, &q.kinds)));
        }
        for (name, value) in &q.filters {
            must.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_facet(f.facets, &facet(name, value)),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        for (field, values) in [(f.key, &q.exclude_keys), (f.member, &q.exclude_members)] {
            for value in values {
                must.push((
                    Occur::MustNot,
                    Box::new(TermQuery::new(
                        Term::from_field_text(field, value),
                        IndexRecordOption::Basic,
                    )),
                ));
            }
        }
        Box::new(BooleanQuery::new(must))
    }

    /// A word in the title (counting double) or the body: exactly, within its typo
    /// distance, or (being typed) as the start of a word.
    fn word_query(&self, word: &str, prefix: bool) -> Box<dyn TQuery> {
        let f = &self.fields;
        let mut should: Vec<(Occur, Box<dyn TQuery>)> = Vec::new();
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
}

fn facet(name: &str, value: &str) -> Facet {
    Facet::from_path([name, value])
}

fn any_of(field: Field, values: &[String]) -> Box<dyn TQuery> {
    Box::new(BooleanQuery::new(
        values
            .iter()
            .map(|v| {
                let q: Box<dyn TQuery> = Box::new(TermQuery::new(
                    Term::from_field_text(field, v),
                    IndexRecordOption::Basic,
                ));
                (Occur::Should, q)
            })
            .collect(),
    ))
}
