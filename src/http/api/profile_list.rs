//! Lists of profiles (the deck, the directory) written from kept pieces.
//!
//! A deck of fifty profiles is about 40 KB of JSON, and writing it, field by field with every
//! string escaped, was most of what a deck cost once the profiles came from memory. What a
//! profile shows is the same for every viewer except the age (it changes with the day) and the
//! distance (it depends on the viewer), so each public profile kept in memory carries its
//! [`ShownProfileView`] rendered once, and an answer is written from those pieces with only
//! the two numbers added per item. The document shows the answer as `Feed<ProfileView>`.

use std::io::Write;

use poem::{IntoResponse, Response};
use poem_openapi::ApiResponse;
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::Type;

use super::profiles::{ProfileView, ShownProfileView};
use super::{CursorPagination, Feed};
use crate::http::error::AppError;
use crate::service::profiles::ProfileCard;

/// A page of profiles, written.
pub struct ProfileList {
    body: Vec<u8>,
}

impl ProfileList {
    pub fn new(
        cards: &[ProfileCard],
        limit: u32,
        next_cursor: Option<String>,
    ) -> Result<Self, AppError> {
        let mut body = Vec::with_capacity(256 + cards.len() * 1024);
        body.extend_from_slice(b"{\"data\":[");
        for (i, card) in cards.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            write_item(&mut body, card, shown_json(card)?);
        }
        body.extend_from_slice(b"],\"pagination\":");
        let pagination = CursorPagination { limit, next_cursor };
        serde_json::to_writer(&mut body, &pagination).map_err(cannot_write)?;
        body.push(b'}');
        Ok(Self { body })
    }
}

/// The card's shown part as JSON, written the first time it is asked for.
fn shown_json(card: &ProfileCard) -> Result<&str, AppError> {
    let slot = &card.shown.rendered;
    if slot.get().is_none() {
        let json = serde_json::to_string(&ShownProfileView::from(card)).map_err(cannot_write)?;
        // Another answer may have written it meanwhile: the same bytes.
        let _ = slot.set(json.into_boxed_str());
    }
    slot.get().map(|s| &**s).ok_or_else(AppError::internal)
}

fn cannot_write(e: serde_json::Error) -> AppError {
    tracing::error!("cannot write an answer as JSON: {e}");
    AppError::internal()
}

/// One [`ProfileView`]: the age and the distance, then the shown part's fields (its JSON
/// object without the opening brace).
fn write_item(body: &mut Vec<u8>, card: &ProfileCard, shown: &str) {
    // Writing numbers into a Vec cannot fail.
    let _ = write!(body, "{{\"age\":{}", card.age);
    if let Some(km) = card.distance_km.filter(|_| !card.own) {
        let _ = write!(body, ",\"distanceKm\":{km}");
    }
    body.push(b',');
    body.extend_from_slice(shown.get(1..).unwrap_or_default().as_bytes());
}

impl Payload for ProfileList {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        <Feed<ProfileView> as Type>::schema_ref()
    }

    fn register(registry: &mut Registry) {
        <Feed<ProfileView> as Type>::register(registry);
    }
}

impl IntoResponse for ProfileList {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type(<Self as Payload>::CONTENT_TYPE)
            .body(self.body)
    }
}

impl ApiResponse for ProfileList {
    fn meta() -> MetaResponses {
        super::reply::ok_meta::<Self>()
    }

    fn register(registry: &mut Registry) {
        <Self as Payload>::register(registry);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::account::AccountStatus;
    use crate::domain::ids::UserId;
    use crate::domain::places;
    use crate::domain::profile::Profile;
    use crate::service::public_profiles::PublicProfile;

    fn card(n: u128, distance_km: Option<u32>, own: bool) -> ProfileCard {
        let profile = Profile {
            member: UserId::from_u128(n),
            display_name: format!("Zoë \"{n}\""),
            birth_date: "1990-05-01".parse().unwrap(),
            gender: "woman".into(),
            wants: vec!["man".into()],
            intent: "dating".into(),
            bio: "Line one\nline two — </script> \\ done".into(),
            interests: vec!["hiking".into(), "jazz".into()],
            place: Some(2657896),
            photos: Vec::new(),
            time_zone: "Europe/Zurich".into(),
            age_min: 30,
            age_max: 40,
            max_distance_km: None,
            paused: false,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
        };
        let place = profile.place.and_then(places::get);
        let shown = PublicProfile::new(profile, AccountStatus::Active, Vec::new());
        ProfileCard {
            shown: Arc::new(shown),
            age: 36,
            place,
            distance_km,
            shared_interests: Vec::new(),
            own,
            relation: None,
        }
    }

    /// The written list is the `Feed<ProfileView>` the document describes, written afresh or
    /// from the kept pieces.
    #[test]
    fn written_from_pieces_as_the_feed_would_be() {
        let cards = vec![
            card(1, Some(12), false),
            card(2, None, false),
            card(3, Some(4), true),
        ];
        for round in 0..2 {
            let list = ProfileList::new(&cards, 20, Some("next".into())).unwrap();
            let written: serde_json::Value = serde_json::from_slice(&list.body).unwrap();
            let feed = super::super::feed(
                cards.iter().map(ProfileView::from).collect(),
                20,
                Some("next".into()),
            );
            assert_eq!(
                written,
                serde_json::to_value(&feed).unwrap(),
                "round {round}"
            );
            for view in &feed.data {
                let described = poem_openapi::types::ToJSON::to_json(view);
                assert_eq!(Some(serde_json::to_value(view).unwrap()), described);
            }
            assert!(cards.iter().all(|c| c.shown.rendered.get().is_some()));
        }
        let empty = ProfileList::new(&[], 5, None).unwrap();
        assert_eq!(
            String::from_utf8(empty.body).unwrap(),
            r#"{"data":[],"pagination":{"limit":5}}"#
        );
    }
}
