//! What is kept for as long as the index does not change: the shared part of recent answers
//! (a popular query asked by a thousand members is ranked and counted once per commit, not
//! a thousand times) and the words each typed word stands for (walking the term dictionary
//! with a typo automaton is the dearest part of a small query). Bounded by entries; the
//! least recently used answer goes first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tantivy::fastfield::FacetReader;
use tantivy::schema::Field;
use tantivy::{DocAddress, Searcher};

use super::query::Windows;
use super::{Hit, Ranked, SearchError};

/// Answers kept at most (each about 20 KB: a ranking 1,114 deep and the facet counts).
const ANSWERS: usize = 256;
/// Typed words kept at most (each up to 32 words); all are dropped when it is reached.
const WORDS: usize = 4_096;
/// Results kept at most (a title and a body each); all are dropped when it is reached.
const HITS: usize = 20_000;

#[derive(Default)]
pub(super) struct Kept {
    inner: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The index generation the entries were computed on.
    generation: u64,
    answers: HashMap<String, (Arc<Ranked>, u64)>,
    words: HashMap<(Field, String, bool), Arc<Vec<String>>>,
    /// Each segment's facet column, opened once (opening reads the column's block index).
    facet_readers: HashMap<u32, Arc<FacetReader>>,
    windows: Option<Windows>,
    /// Results as stored (the same profiles come up for many searchers).
    hits: HashMap<DocAddress, Hit>,
    tick: u64,
}

impl State {
    /// Whether entries of `generation` belong here, dropping older ones when it is newer.
    fn holds(&mut self, generation: u64) -> bool {
        if generation > self.generation {
            self.answers.clear();
            self.words.clear();
            self.facet_readers.clear();
            self.windows = None;
            self.hits.clear();
            self.generation = generation;
        }
        generation == self.generation
    }
}

impl Kept {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The shared answer for `key` on `searcher`'s generation of the index: kept, or
    /// computed now (outside the lock) and kept.
    pub fn answer(
        &self,
        searcher: &Searcher,
        key: &str,
        compute: impl FnOnce() -> Result<Ranked, SearchError>,
    ) -> Result<Arc<Ranked>, SearchError> {
        let generation = searcher.generation().generation_id();
        {
            let mut state = self.state();
            if state.holds(generation) {
                state.tick += 1;
                let tick = state.tick;
                if let Some((answer, used)) = state.answers.get_mut(key) {
                    *used = tick;
                    return Ok(Arc::clone(answer));
                }
            }
        }
        let answer = Arc::new(compute()?);
        let mut state = self.state();
        if state.holds(generation) {
            if state.answers.len() >= ANSWERS {
                let oldest = state
                    .answers
                    .iter()
                    .min_by_key(|(_, (_, used))| *used)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    state.answers.remove(&oldest);
                }
            }
            state.tick += 1;
            let tick = state.tick;
            state
                .answers
                .insert(key.to_string(), (Arc::clone(&answer), tick));
        }
        Ok(answer)
    }

    /// The words `word` stands for in `field` on `searcher`'s generation of the index.
    pub fn words(
        &self,
        searcher: &Searcher,
        field: Field,
        word: &str,
        prefix: bool,
    ) -> Arc<Vec<String>> {
        let generation = searcher.generation().generation_id();
        let key = (field, word.to_string(), prefix);
        {
            let mut state = self.state();
            if state.holds(generation)
                && let Some(words) = state.words.get(&key)
            {
                return Arc::clone(words);
            }
        }
        let words = Arc::new(
            super::query::expansions(searcher, field, word, prefix)
                .unwrap_or_else(|_| vec![word.to_string()]),
        );
        let mut state = self.state();
        if state.holds(generation) {
            if state.words.len() >= WORDS {
                state.words.clear();
            }
            state.words.insert(key, Arc::clone(&words));
        }
        words
    }

    /// The facet column of segment `ord` of `searcher`.
    pub fn facet_reader(
        &self,
        searcher: &Searcher,
        ord: u32,
        field: &str,
    ) -> Result<Arc<FacetReader>, SearchError> {
        let generation = searcher.generation().generation_id();
        {
            let mut state = self.state();
            if state.holds(generation)
                && let Some(reader) = state.facet_readers.get(&ord)
            {
                return Ok(Arc::clone(reader));
            }
        }
        let reader = Arc::new(searcher.segment_reader(ord).facet_reader(field)?);
        let mut state = self.state();
        if state.holds(generation) {
            state.facet_readers.insert(ord, Arc::clone(&reader));
        }
        Ok(reader)
    }

    /// The visibility bounds of `searcher`'s generation of the index.
    pub fn windows(
        &self,
        searcher: &Searcher,
        compute: impl FnOnce() -> Result<Windows, SearchError>,
    ) -> Result<Windows, SearchError> {
        let generation = searcher.generation().generation_id();
        {
            let mut state = self.state();
            if state.holds(generation)
                && let Some(windows) = state.windows
            {
                return Ok(windows);
            }
        }
        let windows = compute()?;
        let mut state = self.state();
        if state.holds(generation) {
            state.windows = Some(windows);
        }
        Ok(windows)
    }

    /// The stored result at `address` of `searcher`'s generation of the index.
    pub fn hit(
        &self,
        searcher: &Searcher,
        address: DocAddress,
        read: impl FnOnce() -> Result<Hit, SearchError>,
    ) -> Result<Hit, SearchError> {
        let generation = searcher.generation().generation_id();
        {
            let mut state = self.state();
            if state.holds(generation)
                && let Some(hit) = state.hits.get(&address)
            {
                return Ok(hit.clone());
            }
        }
        let hit = read()?;
        let mut state = self.state();
        if state.holds(generation) {
            if state.hits.len() >= HITS {
                state.hits.clear();
            }
            state.hits.insert(address, hit.clone());
        }
        Ok(hit)
    }
}
