//! The discovery deck: who is shown to a member, one card at a time, best first. Candidates
//! must suit the member and the member must suit them (genders wanted, ages, intent,
//! distance, both ways); the ranking is the directory's best-match score, damped by how often
//! a candidate has been shown lately, so the same few popular profiles do not fill every deck.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

use jiff::Timestamp;
use jiff::civil::Date;

use super::directory::{Entry, Searcher, match_score};
use super::ids::UserId;
use super::places;
use super::profile::age_on;

/// How many candidates a precomputed deck holds.
pub const DECK_SIZE: usize = 100;
/// A deck older than this is computed again before it is read.
pub const MAX_AGE_MS: i64 = 6 * 3600 * 1000;

/// A member's precomputed deck, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Deck {
    pub candidates: Vec<UserId>,
    pub computed_at: Timestamp,
    /// How many profile changes the community had seen when it was ranked.
    pub profiles_seen: u64,
}

/// The community's rules for decks.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeckRules {
    /// Leave out members without an approved photo.
    pub requires_photo: bool,
    /// Leave out members whose address is not verified.
    pub requires_verified: bool,
}

/// Whether `b` is what `a` asked for in genders and ages.
fn wants(a: &Entry, b: &Entry, b_age: u32) -> bool {
    (a.wants.is_empty() || a.wants.iter().any(|g| **g == *b.gender))
        && (a.age_min..=a.age_max).contains(&b_age)
}

fn within(a: &Entry, km: Option<f64>) -> bool {
    a.max_distance_km
        .is_none_or(|max| km.is_some_and(|km| km <= f64::from(max)))
}

/// Whether two members suit each other, both ways, and share an intent. The distance (which
/// costs trigonometry) is asked for only once everything else agrees.
pub fn compatible(a: &Entry, b: &Entry, today: Date, km: impl FnOnce() -> Option<f64>) -> bool {
    let (age_a, age_b) = (age_on(a.birth_date, today), age_on(b.birth_date, today));
    if *a.intent != *b.intent || !wants(a, b, age_b) || !wants(b, a, age_a) {
        return false;
    }
    if a.max_distance_km.is_none() && b.max_distance_km.is_none() {
        return true;
    }
    let km = km();
    within(a, km) && within(b, km)
}

/// Ranks the candidates for `me`: listed, compatible both ways, allowed by the rules, not in
/// `excluded` (already swiped, blocked either way); best first, at most `DECK_SIZE`.
pub fn rank<'e, S: BuildHasher>(
    me: &Entry,
    candidates: impl Iterator<Item = &'e Entry>,
    excluded: &HashSet<UserId>,
    exposures: &HashMap<UserId, u32, S>,
    rules: DeckRules,
    now_ms: i64,
    today: Date,
) -> Vec<UserId> {
    let searcher = Searcher {
        member: me.member,
        place: me.place,
        intent: me.intent.to_string(),
        interests: me.interests.iter().map(|i| i.to_string()).collect(),
    };
    let distance = |e: &Entry| match (me.coords, e.coords) {
        (Some(a), Some(b)) => Some(places::distance_between(a, b)),
        _ => None,
    };
    let mut scored: Vec<(i64, UserId)> = candidates
        .filter(|e| {
            e.member != me.member
                && e.listed
                && now_ms >= e.hidden_until_ms
                && !excluded.contains(&e.member)
                && (!rules.requires_photo || e.has_photo)
                && (!rules.requires_verified || e.email_verified)
        })
        .filter_map(|e| {
            if !compatible(me, e, today, || distance(e)) {
                return None;
            }
            let km = distance(e);
            let shown = i64::from(exposures.get(&e.member).copied().unwrap_or(0));
            // Each doubling of recent showings costs as much as one shared interest.
            let damping = 10 * i64::from((shown + 1).ilog2());
            Some((
                match_score(&searcher, e, km, now_ms) * 10 - damping * 10,
                e.member,
            ))
        })
        .collect();
    let by_score = |a: &(i64, UserId), b: &(i64, UserId)| b.cmp(a);
    if scored.len() > DECK_SIZE {
        scored.select_nth_unstable_by(DECK_SIZE, by_score);
        scored.truncate(DECK_SIZE);
    }
    scored.sort_unstable_by(by_score);
    scored.into_iter().map(|(_, id)| id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(n: u128, gender: &str, wants: &[&str], born: &str) -> Entry {
        Entry {
            member: UserId::from_u128(n),
            birth_date: born.parse().unwrap(),
            gender: gender.into(),
            intent: "dating".into(),
            interests: Box::new(["books".into()]),
            place: Some(2657896),
            coords: Some((47.36667, 8.55)),
            has_photo: true,
            joined_ms: 0,
            active_ms: 0,
            listed: true,
            hidden_until_ms: 0,
            wants: wants.iter().map(|s| (*s).into()).collect(),
            age_min: 18,
            age_max: 120,
            max_distance_km: None,
            email_verified: true,
        }
    }

    #[test]
    fn both_must_want_each_other_and_popular_faces_are_damped() {
        let today: Date = "2026-06-01".parse().unwrap();
        let me = person(1, "woman", &["man"], "1990-01-01");
        let mut others = [
            person(2, "man", &["woman"], "1988-01-01"),
            person(3, "man", &["man"], "1988-01-01"),
            person(4, "woman", &["woman"], "1988-01-01"),
            person(5, "man", &[], "1988-01-01"),
            person(6, "man", &["woman"], "1950-01-01"),
            person(7, "man", &["woman"], "1991-01-01"),
        ];
        let mut me_picky = me.clone();
        me_picky.age_max = 60;
        others[5].intent = "friendship".into();
        let none = HashSet::new();
        let ranked = rank(
            &me_picky,
            others.iter(),
            &none,
            &HashMap::new(),
            DeckRules::default(),
            0,
            today,
        );
        // 3 wants men, 4 is a woman, 6 is too old for me, 7 wants friendship.
        assert_eq!(ranked.len(), 2);
        assert!(ranked.contains(&UserId::from_u128(2)) && ranked.contains(&UserId::from_u128(5)));
        // Shown often, 2 drops behind 5.
        let exposures = HashMap::from([(UserId::from_u128(2), 50), (UserId::from_u128(5), 0)]);
        let ranked = rank(
            &me_picky,
            others.iter(),
            &none,
            &exposures,
            DeckRules::default(),
            0,
            today,
        );
        assert_eq!(ranked, [UserId::from_u128(5), UserId::from_u128(2)]);
        // Excluded (swiped, blocked) and photo rules.
        let excluded = HashSet::from([UserId::from_u128(5)]);
        others[0].has_photo = false;
        let rules = DeckRules {
            requires_photo: true,
            requires_verified: false,
        };
        assert!(
            rank(
                &me_picky,
                others.iter(),
                &excluded,
                &exposures,
                rules,
                0,
                today
            )
            .is_empty()
        );
    }
}
