//! The discovery deck: only members who suit each other both ways, never anyone swiped or
//! blocked (not even from a deck computed before), fresh within six hours; the page; metrics.

use serde_json::{Value, json};

use crate::helpers::{TestApp, get_json};
use crate::matching::{community, send};
use crate::profiles::{good_profile, put_profile};

async fn set_profile(app: &TestApp, client: &reqwest::Client, name: &str, change: Value) {
    let mut profile = good_profile();
    profile["displayName"] = json!(name);
    profile["intent"] = json!("dating");
    for (k, v) in change.as_object().unwrap() {
        profile[k] = v.clone();
    }
    let (status, body) = put_profile(app, client, &profile).await;
    assert_eq!(status, 200, "{body}");
}

async fn deck(app: &TestApp, client: &reqwest::Client) -> Vec<String> {
    let found = get_json(client, &app.url("/api/v1/discovery?limit=50")).await;
    found["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{found}"))
        .iter()
        .map(|p| p["displayName"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_deck_holds_only_members_who_suit_each_other() {
    let names = [
        "ann", "bob", "cyd", "dee", "eve", "fay", "gus", "hal", "ivy", "jon",
    ];
    let (app, owner, members) = community(&names).await;
    let client = |i: usize| &members[i].0;
    let id = |i: usize| members[i].1.clone();
    // Ann: a woman of 36 in Zürich who wants to meet men from 25 to 45 for dating.
    set_profile(&app, client(0), "ann", json!({"gender": "woman", "wants": ["man"], "ageMin": 25, "ageMax": 45, "placeId": 2657896})).await;
    let man_for_women = json!({"gender": "man", "wants": ["woman"], "birthDate": "1990-01-01"});
    let with = |extra: Value| {
        let mut p = man_for_women.clone();
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    };
    set_profile(&app, client(1), "bob", with(json!({}))).await;
    set_profile(&app, client(2), "cyd", with(json!({"wants": ["man"]}))).await;
    set_profile(
        &app,
        client(3),
        "dee",
        json!({"gender": "woman", "wants": ["man"]}),
    )
    .await;
    set_profile(
        &app,
        client(4),
        "eve",
        with(json!({"intent": "friendship"})),
    )
    .await;
    set_profile(
        &app,
        client(5),
        "fay",
        with(json!({"ageMin": 50, "ageMax": 80})),
    )
    .await;
    set_profile(
        &app,
        client(6),
        "gus",
        with(json!({"birthDate": "1960-01-01"})),
    )
    .await;
    set_profile(&app, client(7), "hal", with(json!({}))).await;
    set_profile(&app, client(8), "ivy", with(json!({}))).await;
    set_profile(
        &app,
        client(9),
        "jon",
        with(json!({"maxDistanceKm": 50, "placeId": 2988507})),
    )
    .await;
    let paused = send(
        &app,
        client(7),
        reqwest::Method::PUT,
        "/api/v1/me/profile/paused",
        Some(json!({"paused": true})),
    )
    .await;
    assert_eq!(paused.status(), 200);
    let blocked = send(
        &app,
        client(8),
        reqwest::Method::POST,
        "/api/v1/blocks",
        Some(json!({"memberId": id(0)})),
    )
    .await;
    assert_eq!(blocked.status(), 204);

    // Only Bob suits Ann and wants someone like her: Cyd wants men, Dee is a woman, Eve wants
    // friendship, Fay wants people over 50, Gus is too old for Ann, Hal is paused, Ivy blocked
    // her, and Jon wants people within 50 km of Paris.
    assert_eq!(deck(&app, client(0)).await, ["bob"]);
    let mut bobs = deck(&app, client(1)).await;
    bobs.sort();
    assert_eq!(bobs, ["ann", "dee"]);

    // A pass takes Bob out of her deck at once, though the deck was computed before it.
    let passed = send(
        &app,
        client(0),
        reqwest::Method::POST,
        "/api/v1/swipes",
        Some(json!({"swipes": [{"targetId": id(1), "action": "pass"}]})),
    )
    .await;
    assert_eq!(passed.status(), 200);
    assert_eq!(deck(&app, client(0)).await, Vec::<String>::new());
    let undone = send(
        &app,
        client(0),
        reqwest::Method::DELETE,
        "/api/v1/swipes/last-pass",
        None,
    )
    .await;
    assert_eq!(undone.status(), 200);
    assert_eq!(deck(&app, client(0)).await, ["bob"]);

    // Kim joins: Ann's deck ran short, so it is ranked again at once and takes her in.
    let (kim, _) = crate::profiles::member(&app, &owner, "kim").await;
    set_profile(&app, &kim, "kim", man_for_women.clone()).await;
    let mut fresh = deck(&app, client(0)).await;
    fresh.sort();
    assert_eq!(fresh, ["bob", "kim"]);

    // A short deck asked for again and again while profiles change is ranked at most once
    // a second.
    let ranked = || async {
        let metrics = crate::helpers::get_text(&app.client(), &app.url("/metrics")).await;
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("hearth_deck_precompute_seconds_count "))
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let before = ranked().await;
    for _ in 0..3 {
        set_profile(&app, &kim, "kim", man_for_women.clone()).await;
        deck(&app, client(0)).await;
    }
    assert_eq!(
        ranked().await,
        before,
        "within a second of the last ranking"
    );
    app.clock.advance(std::time::Duration::from_secs(2));
    deck(&app, client(0)).await;
    deck(&app, client(0)).await;
    assert_eq!(ranked().await, before + 1);

    // Bad limits, and no profile.
    for limit in ["0", "51", "-1", "ten"] {
        let resp = client(0)
            .get(app.url(&format!("/api/v1/discovery?limit={limit}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "limit={limit}");
    }
    let (newbie, _) = crate::profiles::member(&app, &owner, "newbie").await;
    let resp = newbie
        .get(app.url("/api/v1/discovery"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 409);
    let page = crate::helpers::get_text(&newbie, &app.url("/discover")).await;
    assert!(page.contains("Write your profile first"));

    // The page shows one card; liking from it makes the match when Bob liked Ann.
    let liked = send(
        &app,
        client(1),
        reqwest::Method::POST,
        "/api/v1/swipes",
        Some(json!({"swipes": [{"targetId": id(0), "action": "like"}]})),
    )
    .await;
    assert_eq!(liked.status(), 200);
    let page = crate::helpers::get_text(client(0), &app.url("/discover")).await;
    assert!(page.contains("data-like"), "{page}");
    // Cards in lists carry what the two share (they used to leave it out).
    assert!(
        page.contains("You both like hiking, books, rock climbing."),
        "{page}"
    );
    let bob_first = page.find(&id(1)).is_some();
    let target = if bob_first {
        id(1)
    } else {
        crate::staff::user_id(&app, &owner, "kim").await
    };
    let csrf = TestApp::csrf_from(client(0), &app.url("/discover")).await;
    let swiped = client(0)
        .post(app.url("/discover/swipe"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("member", target.as_str()),
            ("action", "like"),
        ])
        .send()
        .await
        .unwrap();
    let to = swiped.headers()["location"].to_str().unwrap().to_string();
    if bob_first {
        assert!(to.starts_with("/matches?new="), "{to}");
    } else {
        assert_eq!(to, "/discover");
    }

    // Metrics.
    let metrics = crate::helpers::get_text(&app.client(), &app.url("/metrics")).await;
    assert!(
        metrics.contains("hearth_swipes_total{action=\"pass\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hearth_deck_precompute_seconds_count"),
        "{metrics}"
    );
    assert!(
        metrics.contains("hearth_matches_created_total"),
        "{metrics}"
    );
}
