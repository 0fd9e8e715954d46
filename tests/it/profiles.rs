//! Profiles through both faces: the JSON API and the plain-form pages. What a member may write
//! (every bad field named, nothing half-stored), which photos others see, pausing, standing,
//! towns and distances, and the community's options.

use serde_json::{Value, json};

use crate::helpers::{TestApp, get_json, save_settings};
use crate::media::{fixture, process_all, save_media_settings, send_upload};

/// A profile body the API accepts (the test clock is in June 2026).
pub(crate) fn good_profile() -> Value {
    json!({
        "displayName": "Ann",
        "birthDate": "1990-04-23",
        "gender": "woman",
        "wants": ["man", "woman"],
        "intent": "friendship",
        "bio": "Hi!\nI like <b>hiking</b>.",
        "interests": ["hiking", "books", "rock climbing"],
        "placeId": 2988507,
        "timeZone": "Europe/Paris",
        "ageMin": 25,
        "ageMax": 45
    })
}

pub(crate) async fn put_profile(
    app: &TestApp,
    client: &reqwest::Client,
    body: &Value,
) -> (u16, Value) {
    let csrf = app.api_csrf(client).await;
    let resp = client
        .put(app.url("/api/v1/me/profile"))
        .header("x-csrf-token", csrf)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn get(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let resp = client.get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

pub(crate) async fn upload_photo(app: &TestApp, client: &reqwest::Client, name: &str) -> String {
    let resp = send_upload(app, client, vec![("file", name, fixture(name))]).await;
    assert_eq!(resp.status(), 201);
    let body: Value = resp.json().await.unwrap();
    body["data"]["id"].as_str().unwrap().to_string()
}

/// A member whose address staff confirmed (so they may upload), signed in.
pub(crate) async fn member(
    app: &TestApp,
    owner: &reqwest::Client,
    name: &str,
) -> (reqwest::Client, String) {
    let (client, id) = crate::staff::member(app, owner, name, "member").await;
    let resp = crate::staff::staff_action(app, owner, &id, &[("action", "verify")]).await;
    assert_eq!(resp.status(), 303);
    (client, id)
}

/// Ann and Bob, verified members of an open community, with the owner.
struct Cast {
    app: TestApp,
    owner: reqwest::Client,
    ann: reqwest::Client,
    ann_id: String,
    bob: reqwest::Client,
}

async fn cast() -> Cast {
    let app = crate::media::app().await;
    let owner = app.owner_client().await;
    save_settings(
        &app,
        &owner,
        &[
            ("registration", "open"),
            ("api_requests_per_second", "10000"),
        ],
    )
    .await;
    let (ann, ann_id) = member(&app, &owner, "ann").await;
    let (bob, _) = member(&app, &owner, "bob").await;
    Cast {
        app,
        owner,
        ann,
        ann_id,
        bob,
    }
}

fn fields_of(body: &Value) -> Vec<String> {
    body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect()
}

/// `member` as `viewer` finds them in the directory.
async fn listed(app: &TestApp, viewer: &reqwest::Client, member: &str) -> Value {
    let (status, found) = get(viewer, &app.url("/api/v1/directory?limit=100")).await;
    assert_eq!(status, 200, "{found}");
    found["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["memberId"] == member)
        .unwrap_or_else(|| panic!("{member} is not listed: {found}"))
        .clone()
}

#[tokio::test]
async fn a_profile_is_checked_whole_and_others_see_only_what_they_may() {
    let Cast {
        app,
        owner,
        ann,
        ann_id,
        bob,
    } = cast().await;
    let first = upload_photo(&app, &ann, "plain.png").await;
    let second = upload_photo(&app, &ann, "plain.webp").await;
    let video = upload_photo(&app, &ann, "short.mp4").await;
    let bobs = upload_photo(&app, &bob, "plain.png").await;
    process_all(&app).await;
    let mine = app.url("/api/v1/me/profile");
    let anns = app.url(&format!("/api/v1/members/{ann_id}/profile"));

    // Nothing yet.
    assert_eq!(get(&ann, &mine).await.0, 404);
    assert_eq!(get(&bob, &anns).await.0, 404);

    // Every problem at once, and nothing stored.
    let mut bad = good_profile();
    bad["displayName"] = json!("  A ");
    bad["birthDate"] = json!("2010-01-01");
    bad["gender"] = json!("robot");
    bad["bio"] = json!("right\u{202E}left");
    bad["interests"] = json!(["<script>"]);
    bad["placeId"] = json!(1);
    bad["timeZone"] = json!("Mars/Olympus");
    bad["ageMin"] = json!(50);
    bad["ageMax"] = json!(20);
    let (status, body) = put_profile(&app, &ann, &bad).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        fields_of(&body),
        [
            "display_name",
            "birth_date",
            "gender",
            "bio",
            "interests",
            "place",
            "time_zone",
            "age_min"
        ]
    );
    assert!(
        body["fields"][1]["message"]
            .as_str()
            .unwrap()
            .contains("at least 18")
    );
    let mut future = good_profile();
    future["birthDate"] = json!("2027-01-01");
    let (status, body) = put_profile(&app, &ann, &future).await;
    assert_eq!(
        (status, fields_of(&body)),
        (422, vec!["birth_date".to_string()])
    );
    assert_eq!(get(&ann, &mine).await.0, 404);

    // Photos must be her own photos, at most six.
    for (photos, why) in [
        (json!([bobs]), "is not one of your uploads"),
        (json!([video]), "is a video"),
        (json!(["not-an-id"]), "ids of photos"),
    ] {
        let mut body = good_profile();
        body["photos"] = photos;
        let (status, answer) = put_profile(&app, &ann, &body).await;
        assert_eq!(status, 422, "{answer}");
        assert!(
            answer["fields"][0]["message"]
                .as_str()
                .unwrap()
                .contains(why),
            "{answer}"
        );
    }
    let mut seven = good_profile();
    seven["photos"] = json!([first, second, first, second, first, second, first]);
    assert_eq!(put_profile(&app, &ann, &seven).await.0, 400);
    assert_eq!(get(&ann, &mine).await.0, 404);

    // A good profile.
    let mut body = good_profile();
    body["photos"] = json!([second, first]);
    let (status, saved) = put_profile(&app, &ann, &body).await;
    assert_eq!(status, 200, "{saved}");
    let saved = &saved["data"];
    assert_eq!(saved["age"], 36);
    assert_eq!(saved["birthDate"], "1990-04-23");
    assert_eq!(saved["place"]["label"], "Paris, France");
    assert_eq!(saved["photos"][0]["id"], second.as_str());
    assert_eq!(
        saved["interests"],
        json!(["hiking", "books", "rock climbing"])
    );
    assert_eq!(saved["completeness"]["percent"], 90);
    assert_eq!(saved["paused"], false);

    // Bob sees her age, never her birth date or preferences; the bio is text as written.
    let (status, seen) = get(&bob, &anns).await;
    assert_eq!(status, 200, "{seen}");
    let seen = &seen["data"];
    assert_eq!(seen["age"], 36);
    assert!(seen.get("birthDate").is_none() && seen.get("ageMin").is_none());
    assert_eq!(seen["bio"], "Hi!\nI like <b>hiking</b>.");
    assert!(seen.get("distanceKm").is_none(), "Bob has no town yet");
    assert_eq!(seen["photos"].as_array().unwrap().len(), 2);
    assert!(app.client().get(&anns).send().await.unwrap().status() == 401);

    // Bob lives in London and likes books: a distance between towns, and what they share.
    let mut bobs_profile = good_profile();
    bobs_profile["displayName"] = json!("Bob");
    bobs_profile["gender"] = json!("man");
    bobs_profile["interests"] = json!(["books", "chess"]);
    bobs_profile["placeId"] = json!(2643743);
    assert_eq!(put_profile(&app, &bob, &bobs_profile).await.0, 200);
    let seen = get(&bob, &anns).await.1;
    let km = seen["data"]["distanceKm"].as_u64().unwrap();
    assert!((330..360).contains(&km), "{km}");
    // The directory's card (kept in memory) says the same.
    let card = listed(&app, &bob, &ann_id).await;
    assert_eq!(card["distanceKm"], km);
    assert_eq!(card["photos"], seen["data"]["photos"]);

    // With approval on, a new photo waits: she sees it with its state, Bob does not.
    save_media_settings(&app, &owner, &[("needs_approval", "yes")]).await;
    let third = upload_photo(&app, &ann, "gps-rotated.jpg").await;
    process_all(&app).await;
    body["photos"] = json!([second, first, third]);
    let (status, saved) = put_profile(&app, &ann, &body).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["data"]["photos"][2]["state"], "pending approval");
    assert_eq!(
        get(&bob, &anns).await.1["data"]["photos"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        get(&owner, &anns).await.1["data"]["photos"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        listed(&app, &bob, &ann_id).await["photos"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // A deleted photo leaves the profile.
    let csrf = app.api_csrf(&ann).await;
    let deleted = ann
        .delete(app.url(&format!("/api/v1/media/{first}")))
        .header("x-csrf-token", csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let photos = get(&ann, &mine).await.1["data"]["photos"].clone();
    assert_eq!(photos.as_array().unwrap().len(), 2);
    let shown = listed(&app, &bob, &ann_id).await["photos"].clone();
    assert_eq!(
        shown,
        json!([get(&bob, &anns).await.1["data"]["photos"][0]])
    );
    assert_eq!(shown[0]["id"], second.as_str());

    // Paused: hidden from Bob, still hers and staff's.
    let csrf = app.api_csrf(&ann).await;
    let paused = ann
        .put(app.url("/api/v1/me/profile/paused"))
        .header("x-csrf-token", csrf)
        .json(&json!({"paused": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(paused.status(), 200);
    assert_eq!(get(&bob, &anns).await.0, 404);
    assert_eq!(get(&ann, &mine).await.1["data"]["paused"], true);
    assert_eq!(get(&owner, &anns).await.0, 200);
    // Saving the profile again keeps her paused.
    body["photos"] = json!([second, third]);
    assert_eq!(
        put_profile(&app, &ann, &body).await.1["data"]["paused"],
        true
    );
    let csrf = app.api_csrf(&ann).await;
    ann.put(app.url("/api/v1/me/profile/paused"))
        .header("x-csrf-token", csrf)
        .json(&json!({"paused": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(get(&bob, &anns).await.0, 200);

    // Suspended: gone for members, there for staff.
    let resp = crate::staff::staff_action(
        &app,
        &owner,
        &ann_id,
        &[
            ("action", "suspend"),
            ("until", "2026-06-10T12:00"),
            ("reason", "spam"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    assert_eq!(get(&bob, &anns).await.0, 404);
    assert_eq!(get(&owner, &anns).await.0, 200);
}

#[tokio::test]
async fn the_profile_pages_work_as_plain_forms() {
    let Cast {
        app,
        owner: _,
        ann,
        ann_id,
        bob,
    } = cast().await;
    let photo = upload_photo(&app, &ann, "plain.png").await;
    process_all(&app).await;

    // No profile yet: the form.
    let first = ann.get(app.url("/profile")).send().await.unwrap();
    assert_eq!(first.status(), 303);
    assert_eq!(first.headers()["location"], "/profile/edit");
    let form = ann
        .get(app.url("/profile/edit"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(form.contains("Create your profile"));
    assert!(
        form.contains(&format!("value=\"{photo}\"")),
        "her photo to choose"
    );
    let csrf = TestApp::csrf_from(&ann, &app.url("/profile/edit")).await;

    // Town suggestions as she types.
    let suggestions = ann
        .get(app.url("/places/suggest?place=zur"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(suggestions.contains("Zürich, Switzerland"), "{suggestions}");

    // Problems come back with what she typed.
    let position = format!("position_{photo}");
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("display_name", "Ann <3"),
        ("birth_date", "2015-02-03"),
        ("gender", "woman"),
        ("wants", "man"),
        ("intent", "dating"),
        ("bio", "<script>alert(1)</script>\r\nline two"),
        ("interests", "hiking"),
        ("other_interests", "rock climbing, tea"),
        ("place", "zurich"),
        ("place_id", ""),
        ("photo", photo.as_str()),
        (position.as_str(), "1"),
        ("time_zone", "Europe/Zurich"),
        ("age_min", "30"),
        ("age_max", "fifty"),
        ("max_distance_km", ""),
    ];
    let refused = ann
        .post(app.url("/profile"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(page.contains("Enter a whole number."), "{page}");
    assert!(
        page.contains("value=\"Ann &#60;3\"") || page.contains("value=\"Ann &lt;3\""),
        "typed values kept"
    );
    fields.iter_mut().find(|(k, _)| *k == "age_max").unwrap().1 = "50";
    let refused = ann
        .post(app.url("/profile"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("at least 18"));

    // Saved: the town typed without picking is matched, her photo is on it.
    fields
        .iter_mut()
        .find(|(k, _)| *k == "birth_date")
        .unwrap()
        .1 = "1994-02-03";
    let saved = ann
        .post(app.url("/profile"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    assert_eq!(saved.headers()["location"], "/profile");
    let page = crate::helpers::get_text(&ann, &app.url("/profile")).await;
    assert!(page.contains("Your profile is saved."));
    assert!(page.contains("Zürich, Switzerland"));
    assert!(page.contains(&format!("/media/{photo}/card")));
    assert!(
        page.contains("&#60;script&#62;") || page.contains("&lt;script&gt;"),
        "bio escaped"
    );
    assert!(!page.contains("<script>alert"));
    assert!(page.contains("% complete"));
    let api = get_json(&ann, &app.url("/api/v1/me/profile")).await;
    assert_eq!(
        api["data"]["interests"],
        json!(["hiking", "rock climbing", "tea"])
    );
    assert_eq!(api["data"]["bio"], "<script>alert(1)</script>\nline two");
    assert_eq!(api["data"]["age"], 32);

    // Bob sees her page; she pauses and he no longer does.
    let seen = bob
        .get(app.url(&format!("/members/{ann_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(seen.status(), 200);
    let seen = seen.text().await.unwrap();
    assert!(seen.contains("32</span>"), "her age");
    assert!(!seen.contains("1994"), "never her birth date");
    assert!(!seen.contains("% complete"), "nor her completeness");
    let csrf = TestApp::csrf_from(&ann, &app.url("/profile")).await;
    let paused = ann
        .post(app.url("/profile/pause"))
        .form(&[("csrf", csrf.as_str()), ("paused", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(paused.status(), 303);
    assert!(
        crate::helpers::get_text(&ann, &app.url("/profile"))
            .await
            .contains("You are paused")
    );
    let hidden = bob
        .get(app.url(&format!("/members/{ann_id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), 404);
}

#[tokio::test]
async fn towns_are_found_by_name_and_by_position() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    let found = get_json(&owner, &app.url("/api/v1/places?q=sao%20paulo&limit=2")).await;
    assert_eq!(found["data"][0]["label"], "São Paulo, Brazil");
    assert_eq!(found["pagination"]["limit"], 2);
    assert!(found["pagination"]["total"].as_u64().unwrap() >= 1);
    assert_eq!(
        get(&app.client(), &app.url("/api/v1/places?q=zur")).await.0,
        401
    );

    let csrf = app.api_csrf(&owner).await;
    let near = |lat: f64, lon: f64| {
        owner
            .post(app.url("/api/v1/places/nearest"))
            .header("x-csrf-token", &csrf)
            .json(&json!({"latitude": lat, "longitude": lon}))
            .send()
    };
    let paris: Value = near(48.853, 2.3499).await.unwrap().json().await.unwrap();
    assert_eq!(paris["data"]["label"], "Paris, France");
    assert_eq!(near(91.0, 0.0).await.unwrap().status(), 400);
}

#[tokio::test]
async fn the_community_chooses_the_options() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    let csrf = TestApp::csrf_from(&owner, &app.url("/admin/profiles")).await;
    let saved = owner
        .post(app.url("/admin/profiles"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("minimum_age", "21"),
            ("genders", "Woman\nman\n\nWOMAN\nagender"),
            ("intents", "board games night"),
            ("interests", "chess\ngo"),
            ("likes_per_day", "50"),
            ("supporter_likes_per_day", "200"),
            ("who_liked_me", "supporters"),
            ("who_viewed_me", "off"),
            ("message_scope", "members"),
            ("new_conversations_per_day", "30"),
            ("unverified_new_conversations_per_day", "4"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let options = get_json(&owner, &app.url("/api/v1/profile-options")).await;
    assert_eq!(
        options["data"],
        json!({"minimumAge": 21, "genders": ["woman", "man", "agender"], "intents": ["board games night"], "interests": ["chess", "go"]})
    );
    let settings = get_json(&owner, &app.url("/api/v1/admin/settings")).await;
    assert_eq!(
        settings["data"]["messages"],
        json!({"scope": "members", "newConversationsPerDay": 30, "unverifiedNewConversationsPerDay": 4})
    );

    // One gender is not a choice: refused, nothing changes.
    let csrf = TestApp::csrf_from(&owner, &app.url("/admin/profiles")).await;
    let refused = owner
        .post(app.url("/admin/profiles"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("minimum_age", "21"),
            ("genders", "one"),
            ("intents", "x"),
            ("likes_per_day", "50"),
            ("supporter_likes_per_day", "200"),
            ("who_liked_me", "everyone"),
            ("who_viewed_me", "everyone"),
            ("message_scope", "matches"),
            ("new_conversations_per_day", "20"),
            ("unverified_new_conversations_per_day", "3"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Give 2 to 100 options")
    );
    // Nor are message settings outside their bounds.
    let csrf = TestApp::csrf_from(&owner, &app.url("/admin/profiles")).await;
    let refused = owner
        .post(app.url("/admin/profiles"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("minimum_age", "21"),
            ("genders", "woman\nman"),
            ("intents", "x"),
            ("likes_per_day", "50"),
            ("supporter_likes_per_day", "200"),
            ("who_liked_me", "everyone"),
            ("who_viewed_me", "everyone"),
            ("message_scope", "nobody"),
            ("new_conversations_per_day", "0"),
            ("unverified_new_conversations_per_day", "3"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let page = refused.text().await.unwrap();
    assert!(page.contains("Choose whom members may write to"), "{page}");
    let settings = get_json(&owner, &app.url("/api/v1/admin/settings")).await;
    assert_eq!(settings["data"]["messages"]["scope"], "members");

    // The API face changes the same settings.
    let csrf = app.api_csrf(&owner).await;
    let patched = owner
        .patch(app.url("/api/v1/admin/settings"))
        .header("x-csrf-token", csrf)
        .json(&json!({"profiles": {"minimumAge": 18, "intents": ["dating", "Dating", " friendship "]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 200);
    let settings: Value = patched.json().await.unwrap();
    assert_eq!(
        settings["data"]["profiles"]["intents"],
        json!(["dating", "friendship"])
    );
    assert_eq!(
        settings["data"]["profiles"]["genders"],
        json!(["woman", "man", "agender"])
    );
    assert_eq!(settings["data"]["profiles"]["likesPerDay"], 50);
    assert_eq!(settings["data"]["profiles"]["whoLikedMe"], "supporters");
    assert_eq!(settings["data"]["profiles"]["whoViewedMe"], "off");

    // A twenty-year-old with the new options.
    let mut body = good_profile();
    body["birthDate"] = json!("2006-01-01");
    body["gender"] = json!("agender");
    body["wants"] = json!([]);
    body["intent"] = json!("dating");
    let (status, saved) = put_profile(&app, &owner, &body).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["data"]["age"], 20);
}
