//! Answers kept rendered.
//!
//! A list of twenty uploads spent most of its time decoding the records and writing their
//! JSON, and both depend on nothing but the record. So each record's JSON is kept under its id
//! and version (a hash of the record as stored, which changes whenever the record does), and a
//! list is written from the pieces: only records not seen before are decoded and rendered. No
//! change can be missed, because a changed record has a new version; the old piece is simply
//! never asked for again and goes when the cache is next emptied.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError};

use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::http::error::AppError;

/// A value of type `T` already written as JSON: the document shows `T`'s schema, and the
/// answer carries the bytes as they are.
pub struct Rendered<T> {
    json: Arc<RawValue>,
    shape: PhantomData<fn() -> T>,
}

impl<T> Clone for Rendered<T> {
    fn clone(&self) -> Self {
        Self {
            json: Arc::clone(&self.json),
            shape: PhantomData,
        }
    }
}

impl<T: Serialize> Rendered<T> {
    pub fn new(value: &T) -> Result<Self, AppError> {
        let json = serde_json::value::to_raw_value(value).map_err(|e| {
            tracing::error!("cannot write an answer as JSON: {e}");
            AppError::internal()
        })?;
        Ok(Self {
            json: Arc::from(json),
            shape: PhantomData,
        })
    }
}

impl<T> Rendered<T> {
    /// The JSON as written.
    pub fn json(&self) -> &str {
        self.json.get()
    }
}

impl<T> Serialize for Rendered<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(serializer)
    }
}

impl<T: Type> Type for Rendered<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl<T: Type> ToJSON for Rendered<T> {
    fn to_json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(self.json.get()).ok()
    }
}

impl<T: Type> ParseFromJSON for Rendered<T> {
    fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
        let value = value.unwrap_or_default();
        let json = serde_json::value::to_raw_value(&value).map_err(ParseError::custom)?;
        Ok(Self {
            json: Arc::from(json),
            shape: PhantomData,
        })
    }
}

/// Rendered pieces by (id, version). Bounded: when full it starts again empty, and the pieces
/// still in use are rendered again on their next request.
pub struct RenderCache<K, T> {
    pieces: Mutex<HashMap<K, Rendered<T>>>,
    max: usize,
}

/// Pieces kept by default: a few thousand records' JSON, a few MiB.
const DEFAULT_PIECES: usize = 4096;

impl<K: Hash + Eq, T: Serialize> Default for RenderCache<K, T> {
    fn default() -> Self {
        Self::new(DEFAULT_PIECES)
    }
}

impl<K: Hash + Eq, T: Serialize> RenderCache<K, T> {
    pub fn new(max: usize) -> Self {
        Self {
            pieces: Mutex::new(HashMap::new()),
            max: max.max(1),
        }
    }

    /// The piece kept under `key`, or the one `make` gives, rendered and kept.
    pub fn get_or_render<E: Into<AppError>>(
        &self,
        key: K,
        make: impl FnOnce() -> Result<T, E>,
    ) -> Result<Rendered<T>, AppError> {
        let mut pieces = self.get_or_render_all(vec![(key, make)])?;
        pieces.pop().ok_or_else(AppError::internal)
    }

    /// [`Self::get_or_render`] for a whole list, in its order, taking the lock twice at most
    /// rather than once per item (a list of fifty from two threads contended on it).
    pub fn get_or_render_all<E: Into<AppError>, F: FnOnce() -> Result<T, E>>(
        &self,
        items: Vec<(K, F)>,
    ) -> Result<Vec<Rendered<T>>, AppError> {
        let lock = || self.pieces.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<Option<Rendered<T>>> = Vec::with_capacity(items.len());
        let mut missing = Vec::new();
        {
            let pieces = lock();
            for (i, (key, make)) in items.into_iter().enumerate() {
                let kept = pieces.get(&key).cloned();
                if kept.is_none() {
                    missing.push((i, key, make));
                }
                out.push(kept);
            }
        }
        if !missing.is_empty() {
            let mut fresh = Vec::with_capacity(missing.len());
            for (i, key, make) in missing {
                let piece = Rendered::new(&make().map_err(Into::into)?)?;
                out[i] = Some(piece.clone());
                fresh.push((key, piece));
            }
            let mut pieces = lock();
            if pieces.len() + fresh.len() > self.max {
                pieces.clear();
            }
            pieces.extend(fresh);
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// How many pieces are kept now.
    pub fn len(&self) -> usize {
        self.pieces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Piece {
        n: u32,
    }

    #[test]
    fn the_document_shows_the_value_type() {
        use super::super::Feed;
        use super::super::media::MediaView;
        assert_eq!(
            <Feed<Rendered<MediaView>> as Type>::name(),
            <Feed<MediaView> as Type>::name()
        );
        assert_eq!(
            format!("{:?}", <Rendered<MediaView> as Type>::schema_ref()),
            format!("{:?}", <MediaView as Type>::schema_ref())
        );
    }

    #[test]
    fn pieces_are_rendered_once_per_version_and_bounded() {
        let cache: RenderCache<(u32, u64), Piece> = RenderCache::new(2);
        let mut made = 0;
        let mut get = |key, n| {
            cache
                .get_or_render(key, || {
                    made += 1;
                    Ok::<_, AppError>(Piece { n })
                })
                .unwrap()
        };
        let first = get((1, 10), 5);
        let again = get((1, 10), 6);
        assert_eq!(serde_json::to_string(&again).unwrap(), r#"{"n":5}"#);
        let changed = get((1, 11), 6);
        assert_eq!(serde_json::to_string(&changed).unwrap(), r#"{"n":6}"#);
        assert_eq!(serde_json::to_string(&first).unwrap(), r#"{"n":5}"#);
        get((2, 10), 7);
        assert_eq!(made, 3, "a kept piece is not rendered again");
        assert!(cache.len() <= 2);
    }
}
