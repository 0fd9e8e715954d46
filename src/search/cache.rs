//! The shared part of recent answers, for as long as the index does not change: a popular
//! query asked by a thousand members is ranked and counted once per commit, not a thousand
//! times. Bounded by entries; the least recently used goes first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tantivy::Searcher;

use super::{Ranked, SearchError};

/// Answers kept at most (each about 20 KB: a ranking 1,114 deep and the facet counts).
const ENTRIES: usize = 256;

#[derive(Default)]
pub(super) struct SharedAnswers {
    inner: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The index generation the entries were computed on.
    generation: u64,
    entries: HashMap<String, (Arc<Ranked>, u64)>,
    tick: u64,
}

impl SharedAnswers {
    /// The answer for `key` on `searcher`'s generation of the index: kept, or computed now
    /// (outside the lock) and kept.
    pub fn get_or_compute(
        &self,
        searcher: &Searcher,
        key: &str,
        compute: impl FnOnce() -> Result<Ranked, SearchError>,
    ) -> Result<Arc<Ranked>, SearchError> {
        let generation = searcher.generation().generation_id();
        {
            let mut state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            if state.generation == generation {
                state.tick += 1;
                let tick = state.tick;
                if let Some((answer, used)) = state.entries.get_mut(key) {
                    *used = tick;
                    return Ok(Arc::clone(answer));
                }
            }
        }
        let answer = Arc::new(compute()?);
        let mut state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if generation > state.generation {
            state.entries.clear();
            state.generation = generation;
        }
        if generation == state.generation {
            if state.entries.len() >= ENTRIES {
                let oldest = state
                    .entries
                    .iter()
                    .min_by_key(|(_, (_, used))| *used)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    state.entries.remove(&oldest);
                }
            }
            state.tick += 1;
            let tick = state.tick;
            state
                .entries
                .insert(key.to_string(), (Arc::clone(&answer), tick));
        }
        Ok(answer)
    }
}
