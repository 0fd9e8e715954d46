//! The directory through both faces: filters, sorts and pages; never the searcher, blocked,
//! paused, suspended or deleted members; changes show at once.

use serde_json::{Value, json};

use crate::helpers::{TestApp, get_json};
use crate::matching::{community, send};
use crate::profiles::{good_profile, put_profile};

async fn names(client: &reqwest::Client, app: &TestApp, query: &str) -> Vec<String> {
    let found = get_json(client, &app.url(&format!("/api/v1/directory?{query}"))).await;
    found["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{found}"))
        .iter()
        .map(|p| p["displayName"].as_str().unwrap().to_string())
        .collect()
}

async fn set_profile(app: &TestApp, client: &reqwest::Client, name: &str, change: Value) {
    let mut profile = good_profile();
    profile["displayName"] = json!(name);
    for (k, v) in change.as_object().unwrap() {
        profile[k] = v.clone();
    }
    let (status, body) = put_profile(app, client, &profile).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_directory_filters_sorts_pages_and_hides() {
    let (app, owner, members) = community(&["ann", "bob", "cyd", "dee", "eve", "fay", "gus"]).await;
    let [
        (ann, _),
        (bob, _),
        (cyd, cyd_id),
        (dee, _),
        (eve, _),
        (fay, _),
        (_, gus_id),
    ] = &members[..]
    else {
        unreachable!()
    };
    // Ann lives in Zürich and likes books; the others differ.
    set_profile(
        &app,
        ann,
        "ann",
        json!({"placeId": 2657896, "interests": ["books"]}),
    )
    .await;
    set_profile(&app, bob, "bob", json!({"gender": "man", "birthDate": "2000-01-01", "placeId": 2657896, "interests": ["books", "chess"]})).await;
    set_profile(&app, cyd, "cyd", json!({"gender": "man", "birthDate": "1970-01-01", "placeId": 2988507, "interests": ["hiking"]})).await;
    set_profile(
        &app,
        dee,
        "dee",
        json!({"intent": "dating", "placeId": 2643743, "interests": ["books", "hiking"]}),
    )
    .await;

    // Everyone but Ann, newest first.
    let all = names(ann, &app, "").await;
    assert_eq!(all, ["gus", "fay", "eve", "dee", "cyd", "bob"]);

    // Filters.
    assert_eq!(names(ann, &app, "gender=man").await, ["cyd", "bob"]);
    assert_eq!(names(ann, &app, "ageMax=30").await, ["bob"]);
    assert_eq!(
        names(
            ann,
            &app,
            "interest=books&interest=chess&interestsMatch=all"
        )
        .await,
        ["bob"]
    );
    assert_eq!(
        names(ann, &app, "interest=chess&interest=rock%20climbing").await,
        ["gus", "fay", "eve", "bob"]
    );
    assert_eq!(names(ann, &app, "intent=dating").await, ["dee"]);
    assert_eq!(names(ann, &app, "maxDistanceKm=100").await, ["bob"]);
    let nearest = names(ann, &app, "sort=nearest&limit=3").await;
    assert_eq!(nearest[0], "bob");
    assert_eq!(names(ann, &app, "sort=best_match&limit=1").await, ["bob"]);
    assert_eq!(
        names(ann, &app, "hasPhoto=true").await,
        Vec::<String>::new()
    );

    // Pages of two cover everyone once.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = get_json(ann, &app.url(&format!("/api/v1/directory?limit=2{cursor}"))).await;
        seen.extend(
            page["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["displayName"].as_str().unwrap().to_string()),
        );
        match page["pagination"]["nextCursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, all);
    let bad = ann
        .get(app.url("/api/v1/directory?cursor=nonsense"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);

    // A change shows at once, in the index and on the card.
    set_profile(&app, eve, "Eve", json!({"interests": ["chess"]})).await;
    assert_eq!(names(ann, &app, "interest=chess").await, ["Eve", "bob"]);

    // Hidden: Fay blocked Ann; Eve pauses; Gus is suspended; Cyd is deleted.
    let blocked = send(
        &app,
        fay,
        reqwest::Method::POST,
        "/api/v1/blocks",
        Some(json!({"memberId": members[0].1})),
    )
    .await;
    assert_eq!(blocked.status(), 204);
    let paused = send(
        &app,
        eve,
        reqwest::Method::PUT,
        "/api/v1/me/profile/paused",
        Some(json!({"paused": true})),
    )
    .await;
    assert_eq!(paused.status(), 200);
    let suspended = crate::staff::staff_action(
        &app,
        &owner,
        gus_id,
        &[
            ("action", "suspend"),
            ("until", "2026-06-10T12:00"),
            ("reason", "spam"),
        ],
    )
    .await;
    assert_eq!(suspended.status(), 303);
    let deleted = crate::staff::staff_action(
        &app,
        &owner,
        cyd_id,
        &[("action", "delete"), ("reason", "asked")],
    )
    .await;
    assert_eq!(deleted.status(), 303);
    assert_eq!(names(ann, &app, "").await, ["dee", "bob"]);
    assert!(!names(fay, &app, "").await.contains(&"ann".to_string()));

    // Distance needs a town of one's own.
    let (status, body) =
        crate::profiles::get(dee, &app.url("/api/v1/directory?sort=nearest")).await;
    assert_eq!(status, 200, "{body}");
    set_profile(&app, bob, "bob", json!({"placeId": null})).await;
    let (status, body) =
        crate::profiles::get(bob, &app.url("/api/v1/directory?maxDistanceKm=10")).await;
    assert_eq!(status, 422);
    assert!(
        body["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Add your town")
    );

    // The page: cards, and "Load more" that htmx fills in place.
    let page = crate::helpers::get_text(ann, &app.url("/directory?sort=newest")).await;
    assert!(page.contains("<strong>dee, 36</strong>"), "{page}");
    let two = ann
        .get(app.url("/api/v1/directory?limit=1"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let cursor = two["pagination"]["nextCursor"]
        .as_str()
        .unwrap()
        .to_string();
    let more = ann
        .get(app.url(&format!("/directory?cursor={cursor}")))
        .header("hx-request", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!more.contains("<html"), "only the cards");
    assert!(more.contains("/members/"), "{more}");
}
