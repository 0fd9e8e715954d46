//! Places for coarse locations: the towns of 5,000 people or more from GeoNames (© GeoNames,
//! CC BY 4.0), embedded in the binary (`assets/cities.tsv`, made by
//! `packaging/cities/build.mjs`). A member's location is one of these places, picked by typing
//! or snapped from a position the browser gave; distances are between places, so no member's
//! position is ever kept or revealed finer than their town.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::OnceLock;

const CITIES: &str = include_str!("../../assets/cities.tsv");
const COUNTRIES: &str = include_str!("../../assets/countries.tsv");

/// A GeoNames id.
pub type PlaceId = u32;

#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub id: PlaceId,
    pub name: &'static str,
    /// ISO 3166 code.
    pub country: &'static str,
    pub population: u32,
    pub latitude: f64,
    pub longitude: f64,
}

impl Place {
    /// "Zürich, Switzerland".
    pub fn label(&self) -> String {
        format!("{}, {}", self.name, country_name(self.country))
    }
}

struct Gazetteer {
    /// By id.
    places: Vec<Place>,
    /// (folded name, index into `places`), sorted by name.
    by_name: Vec<(Box<str>, u32)>,
    countries: HashMap<&'static str, &'static str>,
}

fn gazetteer() -> &'static Gazetteer {
    static GAZETTEER: OnceLock<Gazetteer> = OnceLock::new();
    GAZETTEER.get_or_init(|| {
        let mut places: Vec<Place> = CITIES.lines().filter_map(parse_place).collect();
        places.sort_by_key(|p| p.id);
        let mut by_name: Vec<(Box<str>, u32)> = places
            .iter()
            .enumerate()
            .map(|(i, p)| (fold(p.name).into_boxed_str(), i as u32))
            .collect();
        by_name.sort_unstable();
        let countries = COUNTRIES
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .collect();
        Gazetteer {
            places,
            by_name,
            countries,
        }
    })
}

fn parse_place(line: &'static str) -> Option<Place> {
    let mut cols = line.split('\t');
    Some(Place {
        id: cols.next()?.parse().ok()?,
        name: cols.next()?,
        country: cols.next()?,
        population: cols.next()?.parse().ok()?,
        latitude: cols.next()?.parse().ok()?,
        longitude: cols.next()?.parse().ok()?,
    })
}

/// Lower-case ASCII, accents and scripts transliterated, runs of anything else one space:
/// what a name is matched on.
pub fn fold(text: &str) -> String {
    let ascii = deunicode::deunicode(text).to_ascii_lowercase();
    let mut out = String::with_capacity(ascii.len());
    for word in ascii.split(|c: char| !c.is_ascii_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

pub fn get(id: PlaceId) -> Option<&'static Place> {
    let g = gazetteer();
    g.places
        .binary_search_by_key(&id, |p| p.id)
        .ok()
        .map(|i| &g.places[i])
}

pub fn country_name(code: &str) -> &str {
    gazetteer().countries.get(code).copied().unwrap_or(code)
}

/// Places whose name starts with what was typed (accents and case ignored), the most
/// populous first. A query longer than any place name finds nothing rather than working hard.
pub fn search(query: &str, limit: usize) -> Vec<&'static Place> {
    search_page(query, 0, limit).0
}

/// One page of [`search`]: `take` places after the first `skip`, and how many match in all.
/// Only the page is sorted, however many places a short query matches.
pub fn search_page(query: &str, skip: usize, take: usize) -> (Vec<&'static Place>, usize) {
    let q = fold(&query.chars().take(200).collect::<String>());
    if q.is_empty() {
        return (Vec::new(), 0);
    }
    let g = gazetteer();
    let start = g.by_name.partition_point(|(name, _)| &**name < q.as_str());
    let mut found: Vec<&Place> = g.by_name[start..]
        .iter()
        .take_while(|(name, _)| name.starts_with(q.as_str()))
        .map(|(_, i)| &g.places[*i as usize])
        .collect();
    let total = found.len();
    let order = |p: &&Place| (Reverse(p.population), p.id);
    let end = skip.saturating_add(take).min(total);
    if end < total {
        found.select_nth_unstable_by_key(end, order);
        found.truncate(end);
    }
    found.sort_unstable_by_key(order);
    (found.into_iter().skip(skip).collect(), total)
}

/// The `n` most populous places, largest first.
pub fn largest(n: usize) -> Vec<&'static Place> {
    let mut all: Vec<&Place> = gazetteer().places.iter().collect();
    all.sort_by_key(|p| (Reverse(p.population), p.id));
    all.truncate(n);
    all
}

/// The place nearest to a position (which is then forgotten). `None` for a position that is
/// not one (latitude beyond ±90, longitude beyond ±180, not a number).
pub fn nearest(latitude: f64, longitude: f64) -> Option<&'static Place> {
    if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
        return None;
    }
    gazetteer().places.iter().min_by(|a, b| {
        distance_to(a, latitude, longitude).total_cmp(&distance_to(b, latitude, longitude))
    })
}

/// Great-circle distance between two places, in kilometres.
pub fn distance_km(a: &Place, b: &Place) -> f64 {
    distance_to(a, b.latitude, b.longitude)
}

fn distance_to(place: &Place, latitude: f64, longitude: f64) -> f64 {
    distance_between((place.latitude, place.longitude), (latitude, longitude))
}

/// Great-circle distance between two (latitude, longitude) points, in kilometres.
pub fn distance_between(a: (f64, f64), b: (f64, f64)) -> f64 {
    const EARTH_RADIUS_KM: f64 = 6371.0;
    let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
    let d_lat = lat2 - lat1;
    let d_lon = (b.1 - a.1).to_radians();
    let h = (d_lat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (d_lon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_the_embedded_list_is_a_place() {
        assert_eq!(CITIES.lines().count(), gazetteer().places.len());
        assert!(gazetteer().places.len() > 40_000);
        for p in &gazetteer().places {
            assert!(
                gazetteer().countries.contains_key(p.country),
                "{}",
                p.country
            );
        }
    }

    #[test]
    fn typing_finds_towns_with_or_without_accents_biggest_first() {
        let zurich = search("zur", 5);
        assert_eq!(zurich[0].name, "Zürich");
        assert_eq!(zurich[0].label(), "Zürich, Switzerland");
        assert_eq!(search("Sao Paulo", 1)[0].name, "São Paulo");
        assert_eq!(search("  NEW   york", 1)[0].country, "US");
        assert!(search("", 5).is_empty());
        assert!(search("'\"<>", 5).is_empty());
        assert!(search(&"x".repeat(100_000), 5).is_empty());
        assert_eq!(search("l", 3).len(), 3);
        // Pages of a long match list follow on from each other.
        let (first, total) = search_page("san", 0, 5);
        let (second, same) = search_page("san", 5, 5);
        assert_eq!(total, same);
        assert!(total > 100);
        assert_eq!(search("san", 10), [first, second].concat());
    }

    #[test]
    fn a_position_snaps_to_the_nearest_town() {
        // Notre-Dame; the Eiffel Tower is nearer to Neuilly-sur-Seine's centre point.
        let paris = nearest(48.853, 2.3499).unwrap();
        assert_eq!(nearest(48.8584, 2.2945).unwrap().name, "Neuilly-sur-Seine");
        assert_eq!(paris.label(), "Paris, France");
        assert!(nearest(91.0, 0.0).is_none());
        assert!(nearest(f64::NAN, 0.0).is_none());
        assert!(nearest(0.0, 181.0).is_none());
    }

    #[test]
    fn distances_are_great_circle_kilometres() {
        let paris = search("Paris", 1)[0];
        let london = search("London", 1)[0];
        let d = distance_km(paris, london);
        assert!((330.0..360.0).contains(&d), "{d}");
        assert_eq!(distance_km(paris, paris), 0.0);
        assert_eq!(get(paris.id), Some(paris));
    }
}
