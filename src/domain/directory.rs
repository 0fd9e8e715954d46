//! The directory: who a member can find, filtered and sorted. The rules are pure: the entries
//! come from the service's in-memory index; here they are filtered, scored and paged.

use std::collections::HashSet;
use std::sync::Arc;

use jiff::civil::Date;

use super::account::FieldError;
use super::ids::UserId;
use super::places;
use super::profile::age_on;

/// A word from the community's lists (a gender, an intent, an interest), shared by every entry
/// that uses it: 100,000 entries hold pointers, not 100,000 copies.
pub type Term = Arc<str>;

/// What the directory knows of one member (a projection of their profile and account).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub member: UserId,
    pub birth_date: Date,
    pub gender: Term,
    pub intent: Term,
    pub interests: Box<[Term]>,
    pub place: Option<u32>,
    /// The town's (latitude, longitude), looked up once.
    pub coords: Option<(f64, f64)>,
    /// At least one approved, ready photo.
    pub has_photo: bool,
    pub joined_ms: i64,
    pub active_ms: i64,
    /// The profile is not paused.
    pub listed: bool,
    /// The account is not in good standing before this time (0: it is; `i64::MAX`: banned,
    /// rejected or waiting for approval).
    pub hidden_until_ms: i64,
    /// Who they want to meet: genders (empty: anyone), ages, distance.
    pub wants: Box<[Term]>,
    pub age_min: u32,
    pub age_max: u32,
    pub max_distance_km: Option<u32>,
    pub email_verified: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Newest,
    RecentlyActive,
    Nearest,
    BestMatch,
}

impl Sort {
    pub const ALL: [Sort; 4] = [
        Self::Newest,
        Self::RecentlyActive,
        Self::Nearest,
        Self::BestMatch,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::RecentlyActive => "recently_active",
            Self::Nearest => "nearest",
            Self::BestMatch => "best_match",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// A directory search. Every filter is optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    pub age_min: Option<u32>,
    pub age_max: Option<u32>,
    /// Any of these genders.
    pub genders: Vec<String>,
    /// Any of these intents.
    pub intents: Vec<String>,
    pub interests: Vec<String>,
    /// All of `interests` rather than any.
    pub all_interests: bool,
    pub max_distance_km: Option<u32>,
    /// Active within this many days.
    pub active_within_days: Option<u32>,
    pub has_photo: bool,
    pub sort: Sort,
}

/// The searcher, as the ranking needs them.
#[derive(Debug, Clone)]
pub struct Searcher {
    pub member: UserId,
    pub place: Option<u32>,
    pub intent: String,
    pub interests: Vec<String>,
}

/// Where a page ends: the sort key and member of its last entry.
pub type Cursor = (i64, UserId);

impl Query {
    /// Problems a searcher can fix (asking for distance without a town of their own, say).
    pub fn problems(&self, searcher: &Searcher) -> Vec<FieldError> {
        let mut out = Vec::new();
        if let (Some(min), Some(max)) = (self.age_min, self.age_max)
            && min > max
        {
            out.push(FieldError::new(
                "age_min",
                "The youngest age must not be above the oldest.",
            ));
        }
        if (self.max_distance_km.is_some() || self.sort == Sort::Nearest)
            && searcher.place.is_none()
        {
            out.push(FieldError::new(
                "max_distance_km",
                "Add your town to your profile to search by distance.",
            ));
        }
        out
    }

    fn admits(&self, e: &Entry, today: Date, now_ms: i64, km: Option<f64>) -> bool {
        let age = age_on(e.birth_date, today);
        if self.age_min.is_some_and(|min| age < min) || self.age_max.is_some_and(|max| age > max) {
            return false;
        }
        if !self.genders.is_empty() && !self.genders.iter().any(|g| **g == *e.gender) {
            return false;
        }
        if !self.intents.is_empty() && !self.intents.iter().any(|i| **i == *e.intent) {
            return false;
        }
        if !self.interests.is_empty() {
            let mut shared = self
                .interests
                .iter()
                .filter(|i| e.interests.iter().any(|t| ***i == **t));
            let ok = if self.all_interests {
                shared.count() == self.interests.len()
            } else {
                shared.next().is_some()
            };
            if !ok {
                return false;
            }
        }
        if let Some(max) = self.max_distance_km
            && km.is_none_or(|km| km > f64::from(max))
        {
            return false;
        }
        if let Some(days) = self.active_within_days
            && e.active_ms < now_ms - i64::from(days) * 86_400_000
        {
            return false;
        }
        !self.has_photo || e.has_photo
    }
}

/// How well an entry suits the searcher: shared interests, the same intent, nearness and
/// recent activity. Higher is better.
pub fn match_score(searcher: &Searcher, e: &Entry, km: Option<f64>, now_ms: i64) -> i64 {
    let shared = e
        .interests
        .iter()
        .filter(|i| searcher.interests.iter().any(|s| **s == ***i))
        .count() as i64;
    let intent = if *e.intent == *searcher.intent { 20 } else { 0 };
    let near = km.map_or(0, |km| (30.0 - km / 10.0).max(0.0) as i64);
    let days_idle = (now_ms - e.active_ms).max(0) / 86_400_000;
    let active = (10 - days_idle).max(0);
    shared * 10 + intent + near + active
}

/// Who searches, whom they must never see, and when.
pub struct Search<'a> {
    pub searcher: &'a Searcher,
    /// Blocked either way (a set: a member may block many, and every entry is checked).
    pub hidden: &'a HashSet<UserId>,
    pub today: Date,
    pub now_ms: i64,
}

/// An entry found, with its sort key (for the next cursor) and distance in km.
pub type Found<'e> = (&'e Entry, i64, Option<f64>);

impl Search<'_> {
    /// One page: the entries `query` admits, never the searcher, the hidden or the unlisted,
    /// in the query's order, after `after`. Looks at every entry.
    pub fn page<'e>(
        &self,
        entries: impl Iterator<Item = &'e Entry>,
        query: &Query,
        after: Option<Cursor>,
        limit: usize,
    ) -> Vec<Found<'e>> {
        let admit = self.admitter(query);
        let mut found: Vec<Found<'e>> = entries
            .filter_map(|e| {
                let (key, km) = admit(e)?;
                let past_cursor = after.is_none_or(|(k, id)| (key, e.member) < (k, id));
                past_cursor.then_some((e, key, km))
            })
            .collect();
        let by_key = |a: &Found<'e>, b: &Found<'e>| (b.1, b.0.member).cmp(&(a.1, a.0.member));
        if found.len() > limit {
            found.select_nth_unstable_by(limit, by_key);
            found.truncate(limit);
        }
        found.sort_unstable_by(by_key);
        found
    }

    /// The first `limit` entries `query` admits from `ordered`, which is already in the
    /// query's order and starts after the cursor (the index keeps members in order of joining
    /// and of activity). Stops there: a page costs the entries it skips, not the directory.
    pub fn first<'e>(
        &self,
        ordered: impl Iterator<Item = &'e Entry>,
        query: &Query,
        limit: usize,
    ) -> Vec<Found<'e>> {
        let admit = self.admitter(query);
        ordered
            .filter_map(|e| admit(e).map(|(key, km)| (e, key, km)))
            .take(limit)
            .collect()
    }

    /// Whether an entry is found, with its sort key (descending) and its distance.
    fn admitter(&self, query: &Query) -> impl Fn(&Entry) -> Option<(i64, Option<f64>)> {
        let (searcher, hidden, today, now_ms) =
            (self.searcher, self.hidden, self.today, self.now_ms);
        let home = searcher
            .place
            .and_then(places::get)
            .map(|p| (p.latitude, p.longitude));
        // Distances cost trigonometry: only for the filters and orders that use them.
        let needs_km = query.max_distance_km.is_some()
            || matches!(query.sort, Sort::Nearest | Sort::BestMatch);
        move |e: &Entry| {
            if !e.listed
                || now_ms < e.hidden_until_ms
                || e.member == searcher.member
                || hidden.contains(&e.member)
            {
                return None;
            }
            let km = match (needs_km, home, e.coords) {
                (true, Some(a), Some(b)) => Some(places::distance_between(a, b)),
                _ => None,
            };
            if !query.admits(e, today, now_ms, km) {
                return None;
            }
            let key = match query.sort {
                Sort::Newest => e.joined_ms,
                Sort::RecentlyActive => e.active_ms,
                Sort::Nearest => -(km.map_or(i64::MAX / 2, |km| (km * 1000.0) as i64)),
                Sort::BestMatch => match_score(searcher, e, km, now_ms),
            };
            Some((key, km))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZURICH: u32 = 2657896;
    const PARIS: u32 = 2988507;

    fn entry(n: u128, gender: &str, interests: &[&str], place: Option<u32>) -> Entry {
        Entry {
            member: UserId::from_u128(n),
            birth_date: "1990-01-01".parse().unwrap(),
            gender: gender.into(),
            intent: "dating".into(),
            interests: interests.iter().map(|s| Term::from(*s)).collect(),
            place,
            coords: place
                .and_then(places::get)
                .map(|p| (p.latitude, p.longitude)),
            has_photo: n.is_multiple_of(2),
            joined_ms: n as i64 * 1000,
            active_ms: 1_000_000 - n as i64,
            listed: true,
            hidden_until_ms: 0,
            wants: Box::new([]),
            age_min: 18,
            age_max: 120,
            max_distance_km: None,
            email_verified: true,
        }
    }

    fn ids(found: &[Found<'_>]) -> Vec<u128> {
        found.iter().map(|(e, _, _)| e.member.as_u128()).collect()
    }

    #[test]
    fn filters_sorts_and_pages() {
        let today: Date = "2026-06-01".parse().unwrap();
        let now = 1_000_000;
        let mut entries: Vec<Entry> = (1..=9)
            .map(|n| {
                let gender = if n % 3 == 0 { "man" } else { "woman" };
                let place = if n <= 4 { Some(ZURICH) } else { Some(PARIS) };
                entry(
                    n,
                    gender,
                    &["hiking", "books"][..(n as usize % 2) + 1],
                    place,
                )
            })
            .collect();
        entries[8].listed = false;
        entries[7].hidden_until_ms = 2_000_000;
        let me = Searcher {
            member: UserId::from_u128(1),
            place: Some(ZURICH),
            intent: "dating".into(),
            interests: vec!["books".into()],
        };
        let hidden = HashSet::from([UserId::from_u128(2)]);
        let search = Search {
            searcher: &me,
            hidden: &hidden,
            today,
            now_ms: now,
        };
        let run = |q: &Query, after, limit| ids(&search.page(entries.iter(), q, after, limit));
        // Walking entries already in order stops at the page and finds the same members.
        let mut newest_first: Vec<&Entry> = entries.iter().collect();
        newest_first.sort_by_key(|e| std::cmp::Reverse(e.joined_ms));
        let walk = |q: &Query, limit| ids(&search.first(newest_first.iter().copied(), q, limit));
        // Newest first, never me, the hidden, the unlisted or the suspended (8).
        let q = Query::default();
        assert_eq!(run(&q, None, 20), [7, 6, 5, 4, 3]);
        // Pages continue after the cursor.
        let first = search.page(entries.iter(), &q, None, 2);
        let cursor = first.last().map(|(e, k, _)| (*k, e.member));
        assert_eq!(run(&q, cursor, 2), [5, 4]);
        // Filters.
        let women = Query {
            genders: vec!["woman".into()],
            ..Query::default()
        };
        assert_eq!(run(&women, None, 20), [7, 5, 4]);
        let near = Query {
            max_distance_km: Some(50),
            ..Query::default()
        };
        assert_eq!(run(&near, None, 20), [4, 3]);
        let photo = Query {
            has_photo: true,
            ..Query::default()
        };
        assert_eq!(run(&photo, None, 20), [6, 4]);
        let both = Query {
            interests: vec!["hiking".into(), "books".into()],
            all_interests: true,
            ..Query::default()
        };
        assert_eq!(run(&both, None, 20), [7, 5, 3]);
        for q in [&Query::default(), &women, &near, &photo, &both] {
            for limit in [1, 2, 20] {
                assert_eq!(walk(q, limit), run(q, None, limit));
            }
        }
        let old = Query {
            age_min: Some(40),
            ..Query::default()
        };
        assert!(run(&old, None, 20).is_empty());
        // Nearest first; best match puts shared interests and nearness ahead.
        let nearest = Query {
            sort: Sort::Nearest,
            ..Query::default()
        };
        assert_eq!(run(&nearest, None, 2), [4, 3]);
        let best = Query {
            sort: Sort::BestMatch,
            ..Query::default()
        };
        assert_eq!(run(&best, None, 1), [3]);
        assert!(
            !Query {
                max_distance_km: Some(5),
                ..Query::default()
            }
            .problems(&Searcher {
                place: None,
                ..me.clone()
            })
            .is_empty()
        );
    }
}
