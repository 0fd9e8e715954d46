//! The search index: the only module that names tantivy. It holds documents
//! ([`Document`]) and answers queries ([`Query`]) with the permission filter inside the
//! query, so totals and facet counts are computed under it and reveal nothing.
//!
//! Text is folded before tantivy sees it (`domain::search::words`: lower case, accents off,
//! other scripts transliterated), into index-only fields cut at spaces; the original text is
//! stored beside it for results. Queries are built from our own reading of the query string
//! (`domain::search::parse_query`), never from tantivy's query language.

mod cache;
mod query;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tantivy::collector::{Count, DocSetCollector, FacetCollector, TopDocs};
use tantivy::indexer::{LogMergePolicy, NoMergePolicy};
use tantivy::query::{BooleanQuery, Occur, Query as TQuery};
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{TextAnalyzer, WhitespaceTokenizer};
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TantivyDocument,
    Term,
};

use crate::domain::search::{DEPTH_MAX, Document, Facets, PAGE_MAX, ParsedQuery, words};

/// Facets counted for every query.
pub const FACETS: [&str; 4] = ["kind", "interest", "intent", "city"];
/// Bumped when the schema changes: an index of another version is rebuilt.
const SCHEMA_VERSION: &str = "4";
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
    /// The searcher's access terms shared with others (`members`, `role:<role>`): a
    /// document must carry one of them or one of `own_access`.
    pub access: Vec<String>,
    /// The access terms only this searcher holds (`member:<id>`, `matches-of:<partner>`).
    pub own_access: Vec<String>,
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

impl Query {
    /// What the shared part of the answer depends on (not who asks).
    fn shared_key(&self) -> String {
        let mut access = self.access.clone();
        access.sort();
        format!(
            "{:?}|{:?}|{:?}|{}|{:?}",
            self.text, self.kinds, self.filters, self.newest_first, access
        )
    }
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
    /// The index's words the query's words were taken for (typos, word starts), folded:
    /// what a snippet marks.
    pub stands_for: std::collections::HashSet<String>,
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
    visible_until: Field,
}

pub struct SearchIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    dir: PathBuf,
    kept: cache::Kept,
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
        visible_from: b.add_i64_field("visible_from", INDEXED),
        visible_until: b.add_i64_field("visible_until", INDEXED),
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
            kept: cache::Kept::default(),
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

    /// Merges every segment into one (after a rebuild, which commits in batches): a query
    /// does its work once per segment, so fewer segments answer faster. Merging as usual
    /// (tantivy's log merge policy, stopped by [`clear`](Self::clear)) starts again.
    pub fn merge_segments(&self) -> Result<(), SearchError> {
        let mut writer = self
            .writer
            .lock()
            .map_err(|_| SearchError("the writer lock is poisoned".into()))?;
        let segments = writer.index().searchable_segment_ids()?;
        let merged = if segments.len() > 1 {
            writer.merge(&segments).wait().map(drop)
        } else {
            Ok(())
        };
        writer.set_merge_policy(Box::new(LogMergePolicy::default()));
        drop(writer);
        self.reader.reload()?;
        Ok(merged?)
    }

    /// Empties the index (before a rebuild), and stops merging segments in the background
    /// until [`merge_segments`](Self::merge_segments) merges them all at once.
    pub fn clear(&self) -> Result<(), SearchError> {
        let mut writer = self
            .writer
            .lock()
            .map_err(|_| SearchError("the writer lock is poisoned".into()))?;
        writer.set_merge_policy(Box::new(NoMergePolicy));
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
        doc.add_i64(f.visible_until, d.visible_until_ms);
        doc
    }

    /// Runs a query: the page of hits, the total and the facet counts, all under the same
    /// filter.
    ///
    /// Most of a query's answer is the same for everyone with the same access: the
    /// documents open to all members or to a role. That shared part (its ranking to the
    /// deepest page served, its total, its facet counts) is kept per index generation; what
    /// differs per searcher is small and found per query: the shared documents this searcher
    /// may not see (blocked members, their own profile, suspensions not yet over) are taken
    /// out, and the documents open to them alone (their conversations) are added.
    pub fn search(&self, q: &Query) -> Result<Found, SearchError> {
        let searcher = self.reader.searcher();
        let f = &self.fields;
        let depth = q.offset + q.limit.max(1);
        let expand = |field: Field, word: &str, prefix: bool| {
            self.kept.words(&searcher, field, word, prefix)
        };
        let shared_query = || query::shared(f, q, &expand);
        let shared = self.kept.answer(&searcher, &q.shared_key(), || {
            ranked(&searcher, &*shared_query(), q.newest_first, SHARED_DEPTH)
        })?;
        let windows = self
            .kept
            .windows(&searcher, || Ok(query::windows(&searcher, f)?))?;
        // Shared documents this searcher may not see.
        let removed = {
            let both = BooleanQuery::new(vec![
                (Occur::Must, shared_query()),
                (Occur::Must, query::exclusions(f, q, windows)),
            ]);
            searcher.search(&both, &DocSetCollector)?
        };
        let removed_facets = self.count_facets(&searcher, removed.iter().copied())?;
        // Documents open to this searcher alone.
        let own = if q.own_access.is_empty() {
            Ranked::default()
        } else {
            let query = query::personal(f, q, &expand, windows);
            let (top, docs) = if q.newest_first {
                let top =
                    TopDocs::with_limit(depth).order_by_fast_field::<i64>("time", Order::Desc);
                let (top, docs) = searcher.search(&*query, &(top, DocSetCollector))?;
                (by_time(top), docs)
            } else {
                let top = TopDocs::with_limit(depth).order_by_score();
                let (top, docs) = searcher.search(&*query, &(top, DocSetCollector))?;
                (by_score(top), docs)
            };
            Ranked {
                top,
                total: docs.len() as u64,
                facets: self.count_facets(&searcher, docs.into_iter())?,
            }
        };
        let deeper;
        let shared_top = if shared.top.len() < depth + removed.len()
            && (shared.top.len() as u64) < shared.total
        {
            // Deeper than kept (many removed): rank again, uncached.
            deeper = ranked(
                &searcher,
                &*shared_query(),
                q.newest_first,
                depth + removed.len(),
            )?
            .top;
            &deeper
        } else {
            &shared.top
        };
        let visible = shared_top.iter().filter(|(_, doc)| !removed.contains(doc));
        let mut hits = Vec::with_capacity(q.limit);
        for (_, address) in merge_ranked(visible, own.top.iter())
            .skip(q.offset)
            .take(q.limit.max(1))
        {
            hits.push(self.hit(&searcher, address)?);
        }
        let mut stands_for = std::collections::HashSet::new();
        let typed = q.text.words.iter().map(|w| (w, false));
        for (word, prefix) in typed.chain(q.text.prefix.iter().map(|w| (w, true))) {
            for field in [f.title_words, f.body_words] {
                stands_for.extend(expand(field, word, prefix).iter().cloned());
            }
        }
        Ok(Found {
            stands_for,
            hits,
            total: (shared.total + own.total).saturating_sub(removed.len() as u64),
            facets: top_values(&shared.facets, &removed_facets, &own.facets),
        })
    }

    /// Facet counts of a few documents, from their facet columns.
    fn count_facets(
        &self,
        searcher: &Searcher,
        docs: impl Iterator<Item = DocAddress>,
    ) -> Result<FacetCounts, SearchError> {
        let mut counts = FacetCounts::new();
        let mut facet = Facet::root();
        for doc in docs {
            let reader = self
                .kept
                .facet_reader(searcher, doc.segment_ord, "facets")?;
            for ord in reader.facet_ords(doc.doc_id) {
                reader.facet_from_ord(ord, &mut facet)?;
                if let [name, value] = facet.to_path()[..]
                    && let Some(name) = FACETS.iter().find(|n| **n == name)
                {
                    *counts
                        .entry(name)
                        .or_default()
                        .entry(value.to_string())
                        .or_default() += 1;
                }
            }
        }
        Ok(counts)
    }

    fn hit(&self, searcher: &Searcher, address: DocAddress) -> Result<Hit, SearchError> {
        self.kept
            .hit(searcher, address, || self.read_hit(searcher, address))
    }

    fn read_hit(&self, searcher: &Searcher, address: DocAddress) -> Result<Hit, SearchError> {
        let doc: TantivyDocument = searcher.doc(address)?;
        let text = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let f = &self.fields;
        Ok(Hit {
            key: text(f.key),
            kind: text(f.kind),
            link: text(f.link),
            title: text(f.title),
            body: text(f.body),
        })
    }
}

/// How deep the shared ranking is kept: the deepest page served, and room for documents
/// taken out for one searcher.
const SHARED_DEPTH: usize = DEPTH_MAX + PAGE_MAX + 64;

/// Facet → value → count, every value.
pub(crate) type FacetCounts = std::collections::HashMap<&'static str, HashMap<String, u64>>;

/// A query's matches: the best `depth` of them with their sort keys (score, or time for
/// newest first), how many there are, and their facet counts.
#[derive(Debug, Default)]
pub(crate) struct Ranked {
    pub top: Vec<(f64, DocAddress)>,
    pub total: u64,
    pub facets: FacetCounts,
}

fn ranked(
    searcher: &Searcher,
    query: &dyn TQuery,
    newest_first: bool,
    depth: usize,
) -> Result<Ranked, SearchError> {
    let top = TopDocs::with_limit(depth.max(1));
    let (top, total, counts) = if newest_first {
        let (docs, total, counts) = searcher.search(
            query,
            &(
                top.order_by_fast_field::<i64>("time", Order::Desc),
                Count,
                facet_collector(),
            ),
        )?;
        (by_time(docs), total, counts)
    } else {
        let (docs, total, counts) =
            searcher.search(query, &(top.order_by_score(), Count, facet_collector()))?;
        (by_score(docs), total, counts)
    };
    Ok(Ranked {
        top,
        total: total as u64,
        facets: facet_counts(&counts),
    })
}

#[allow(clippy::cast_precision_loss)] // times in ms are far below 2^53
fn by_time(docs: Vec<(Option<i64>, DocAddress)>) -> Vec<(f64, DocAddress)> {
    docs.into_iter()
        .map(|(t, d)| (t.unwrap_or(i64::MIN) as f64, d))
        .collect()
}

fn by_score(docs: Vec<(f32, DocAddress)>) -> Vec<(f64, DocAddress)> {
    docs.into_iter().map(|(s, d)| (f64::from(s), d)).collect()
}

fn facet_collector() -> FacetCollector {
    let mut facets = FacetCollector::for_field("facets");
    for name in FACETS {
        facets.add_facet(Facet::from_path([name]));
    }
    facets
}

fn facet_counts(counts: &tantivy::collector::FacetCounts) -> FacetCounts {
    FACETS
        .iter()
        .map(|name| {
            let values = counts
                .get(Facet::from_path([*name]))
                .map(|(facet, count)| {
                    let path = facet.to_path();
                    (path.last().copied().unwrap_or_default().to_string(), count)
                })
                .collect();
            (*name, values)
        })
        .collect()
}

/// Two rankings (best first) as one.
fn merge_ranked<'a>(
    a: impl Iterator<Item = &'a (f64, DocAddress)>,
    b: impl Iterator<Item = &'a (f64, DocAddress)>,
) -> impl Iterator<Item = (f64, DocAddress)> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || {
        let first = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x.0.total_cmp(&y.0).then_with(|| y.1.cmp(&x.1)).is_ge(),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if first { a.next() } else { b.next() }.copied()
    })
}

/// The twenty most frequent values of each facet, most first: the shared counts less those
/// taken out, plus the searcher's own.
fn top_values(shared: &FacetCounts, removed: &FacetCounts, own: &FacetCounts) -> Facets {
    let count = |counts: &FacetCounts, name: &str, value: &str| {
        counts
            .get(name)
            .and_then(|v| v.get(value))
            .copied()
            .unwrap_or(0)
    };
    let mut out = Facets::new();
    for name in FACETS {
        let mut values: Vec<(&str, u64)> = Vec::new();
        for (value, n) in shared.get(name).into_iter().flatten() {
            let n = (n + count(own, name, value)).saturating_sub(count(removed, name, value));
            values.push((value, n));
        }
        for (value, n) in own.get(name).into_iter().flatten() {
            if count(shared, name, value) == 0 {
                values.push((value, n.saturating_sub(count(removed, name, value))));
            }
        }
        values.retain(|(_, n)| *n > 0);
        values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        values.truncate(20);
        out.insert(
            name,
            values
                .into_iter()
                .map(|(v, n)| (v.to_string(), n))
                .collect(),
        );
    }
    out
}

fn facet(name: &str, value: &str) -> Facet {
    Facet::from_path([name, value])
}
