//! Search: members found by name, bio and interests, with typos, prefixes and accents;
//! facets and totals under the same permissions; blocks, pauses and suspensions take
//! effect as soon as the change is indexed (bans too); hostile query strings; `hearth reindex`.

use hearth::clock::Clock;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::matching::{community, send};
use crate::profiles::{good_profile, put_profile};

async fn search(app: &TestApp, client: &reqwest::Client, query: &str) -> (u16, Value) {
    let resp = client
        .get(app.url(&format!("/api/v1/search?{query}")))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn titles(found: &Value) -> Vec<String> {
    let mut t: Vec<String> = found["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{found}"))
        .iter()
        .map(|h| h["title"].as_str().unwrap().to_string())
        .collect();
    t.sort();
    t
}

fn facet(found: &Value, name: &str, value: &str) -> u64 {
    found["facets"][name]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["value"] == value)
        .map_or(0, |f| f["count"].as_u64().unwrap())
}

/// Ann (hiking, books), Zoé (hiking, climbing) and Bob (books), with profiles written.
async fn cast() -> (TestApp, reqwest::Client, Vec<(reqwest::Client, String)>) {
    let (app, owner, members) = community(&["ann", "zoe", "bob"]).await;
    for ((client, _), (name, bio, interests)) in members.iter().zip([
        (
            "Ann",
            "I walk in the mountains every weekend.",
            vec!["hiking", "books"],
        ),
        (
            "Zoé",
            "Bouldering and long hikes; coffee after.",
            vec!["hiking", "rock climbing"],
        ),
        ("Bob", "Mostly reading science fiction.", vec!["books"]),
    ]) {
        let mut profile = good_profile();
        profile["displayName"] = json!(name);
        profile["bio"] = json!(bio);
        profile["interests"] = json!(interests);
        let (status, body) = put_profile(&app, client, &profile).await;
        assert_eq!(status, 200, "{body}");
    }
    app.index_search().await;
    (app, owner, members)
}

#[tokio::test]
async fn members_are_found_with_typos_prefixes_and_accents() {
    let (app, _owner, members) = cast().await;
    let bob = &members[2].0;
    // Accents folded both ways; a prefix while typing; a typo in a 4+ letter word.
    assert_eq!(titles(&search(&app, bob, "q=zoe+").await.1), ["Zoé"]);
    assert_eq!(titles(&search(&app, bob, "q=Zo").await.1), ["Zoé"]);
    assert_eq!(titles(&search(&app, bob, "q=montains+").await.1), ["Ann"]);
    assert_eq!(titles(&search(&app, bob, "q=boulderign+").await.1), ["Zoé"]);
    // Interests are part of what is found; the searcher is not among the results.
    assert_eq!(
        titles(&search(&app, bob, "q=hiking+").await.1),
        ["Ann", "Zoé"]
    );
    assert_eq!(titles(&search(&app, bob, "q=books+").await.1), ["Ann"]);
    // A quoted phrase keeps its order.
    assert_eq!(
        titles(&search(&app, bob, "q=%22long+hikes%22").await.1),
        ["Zoé"]
    );
    assert!(titles(&search(&app, bob, "q=%22hikes+long%22").await.1).is_empty());
    // Snippets are text with the matches marked, never markup.
    let (_, found) = search(&app, bob, "q=mountains+").await;
    let snippet = &found["data"][0]["snippet"];
    assert!(
        snippet
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["match"] == true && p["text"] == "mountains"),
        "{found}"
    );
    assert_eq!(
        found["data"][0]["url"],
        format!("/members/{}", members[0].1)
    );
}

#[tokio::test]
async fn facets_and_totals_count_only_what_the_searcher_may_see() {
    let (app, _owner, members) = cast().await;
    let [(ann, _), (zoe, zoe_id), (bob, _)] = &members[..] else {
        unreachable!()
    };
    let (status, found) = search(&app, bob, "q=hiking+").await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["pagination"]["total"], 2);
    assert_eq!(facet(&found, "interest", "hiking"), 2);
    assert_eq!(facet(&found, "interest", "rock climbing"), 1);
    assert_eq!(facet(&found, "kind", "profile"), 2);
    // A filter narrows the results and the counts together.
    let (_, found) = search(&app, bob, "q=hiking+&interest=rock%20climbing").await;
    assert_eq!(titles(&found), ["Zoé"]);
    assert_eq!(found["pagination"]["total"], 1);

    // Zoé blocks Bob: she is gone from his results, totals and counts at once.
    let resp = send(
        &app,
        zoe,
        Method::POST,
        "/api/v1/blocks",
        Some(json!({"memberId": members[2].1})),
    )
    .await;
    assert_eq!(resp.status(), 204);
    let (_, found) = search(&app, bob, "q=hiking+").await;
    assert_eq!(titles(&found), ["Ann"]);
    assert_eq!(found["pagination"]["total"], 1);
    assert_eq!(facet(&found, "interest", "rock climbing"), 0);
    // The same query by someone else right after still finds her (what one searcher may
    // not see is taken out of their answer only), and leaves out the searcher's own profile.
    let (_, found) = search(&app, ann, "q=hiking+").await;
    assert_eq!(titles(&found), ["Zoé"]);
    assert_eq!(found["pagination"]["total"], 1);
    assert_eq!(facet(&found, "interest", "rock climbing"), 1);
    assert_eq!(facet(&found, "interest", "hiking"), 1);
    // And Bob from hers.
    let (_, found) = search(&app, zoe, "q=books+").await;
    assert_eq!(titles(&found), ["Ann"]);

    // Ann pauses her profile: once indexed, nobody finds her.
    let resp = send(
        &app,
        ann,
        Method::PUT,
        "/api/v1/me/profile/paused",
        Some(json!({"paused": true})),
    )
    .await;
    assert_eq!(resp.status(), 200);
    app.index_search().await;
    let (_, found) = search(&app, bob, "q=hiking+").await;
    assert_eq!(found["pagination"]["total"], 0, "{found}");
    assert!(!zoe_id.is_empty());
}

#[tokio::test]
async fn a_change_is_found_once_indexed_and_banned_members_are_not() {
    let (app, owner, members) = cast().await;
    let [(ann, ann_id), _, (bob, _)] = &members[..] else {
        unreachable!()
    };
    let mut renamed = good_profile();
    renamed["displayName"] = json!("Annika");
    let (status, _) = put_profile(&app, ann, &renamed).await;
    assert_eq!(status, 200);
    app.index_search().await;
    assert_eq!(titles(&search(&app, bob, "q=annika+").await.1), ["Annika"]);

    let resp = crate::staff::staff_action(
        &app,
        &owner,
        ann_id,
        &[("action", "ban"), ("reason", "spam")],
    )
    .await;
    assert_eq!(resp.status(), 303);
    app.index_search().await;
    assert!(titles(&search(&app, bob, "q=annika+").await.1).is_empty());
}

#[tokio::test]
async fn any_query_string_gets_results_or_a_clear_refusal() {
    let (app, _owner, members) = cast().await;
    let bob = &members[2].0;
    let long = "a".repeat(10 * 1024);
    for q in [
        "%22unbalanced",
        "title:admin",
        "*hik",
        "hiking+AND+books+OR+NOT+x",
        "%F0%9F%98%80",
        "%E6%9D%B1%E4%BA%AC",
        "((((",
        "-+~^",
        "%00",
        long.as_str(),
    ] {
        let (status, body) = search(&app, bob, &format!("q={q}")).await;
        assert!(
            [200, 400, 422].contains(&status),
            "q={}: {status} {body}",
            &q[..q.len().min(40)]
        );
        if status != 200 {
            assert!(body["error"].is_string(), "{body}");
        }
    }
    let (status, body) = search(&app, bob, "q=").await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(search(&app, bob, "q=x&limit=51").await.0, 400);
    assert_eq!(search(&app, bob, "q=x&page=0").await.0, 400);
    // Signed out: nothing.
    assert_eq!(search(&app, &app.client(), "q=ann").await.0, 401);
}

#[tokio::test]
async fn reindex_rebuilds_a_damaged_index_from_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let overrides = hearth::config::Overrides {
        data_dir: Some(data.clone()),
        ignore_environment: true,
        ..hearth::config::Overrides::default()
    };
    let options = hearth::demo::DemoOptions {
        members: 40,
        force: false,
        tokens: 0,
        tokens_file: None,
        seed: 3,
        photos: 1,
    };
    hearth::demo::run(overrides.clone(), options).await.unwrap();
    let config = || hearth::config::Config::load(&overrides).unwrap();
    let clock =
        || -> hearth::clock::SharedClock { std::sync::Arc::new(hearth::clock::SystemClock) };
    let documents = hearth::app::reindex(config(), clock()).await.unwrap();
    // Every demo member's profile but the few the demo pauses.
    assert!((30..=40).contains(&documents), "{documents}");
    // A damaged index is made anew and filled again.
    std::fs::write(data.join("search").join("meta.json"), b"garbage").unwrap();
    assert_eq!(
        hearth::app::reindex(config(), clock()).await.unwrap(),
        documents
    );
}

#[tokio::test]
async fn messages_are_found_only_by_the_two_members_of_their_conversation() {
    let (app, _owner, members) = cast().await;
    let [(ann, ann_id), (zoe, zoe_id), (bob, _)] = &members[..] else {
        unreachable!()
    };
    crate::messages::like_each_other(&app, ann, ann_id, zoe, zoe_id).await;
    let conversation = crate::messages::conversation_with(&app, ann, zoe_id).await;
    let (status, sent) = crate::messages::write(
        &app,
        zoe,
        &conversation,
        "Shall we try the new bouldering gym?",
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    app.index_search().await;
    for who in [ann, zoe] {
        let (_, found) = search(&app, who, "q=bouldering+gym&kind=message").await;
        assert_eq!(found["pagination"]["total"], 1, "{found}");
        assert_eq!(found["data"][0]["url"], format!("/messages/{conversation}"));
        assert_eq!(found["data"][0]["title"], "Zoé");
    }
    // Bob is not in the conversation: not found, not counted.
    let (_, found) = search(&app, bob, "q=bouldering+gym&kind=message").await;
    assert_eq!(found["pagination"]["total"], 0, "{found}");
    assert_eq!(facet(&found, "kind", "message"), 0);

    // Deleted: gone from search once indexed.
    let id = sent["data"]["id"].as_str().unwrap();
    let resp = send(
        &app,
        zoe,
        Method::DELETE,
        &format!("/api/v1/messages/{id}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), 204);
    app.index_search().await;
    let (_, found) = search(&app, ann, "q=bouldering+gym&kind=message").await;
    assert_eq!(found["pagination"]["total"], 0, "{found}");
}

#[tokio::test]
async fn admins_see_what_members_look_for_as_counts_only() {
    let (app, owner, members) = cast().await;
    let bob = &members[2].0;
    for q in ["q=hiking+", "q=Hiking+", "q=hiking+", "q=unicycle+"] {
        assert_eq!(search(&app, bob, q).await.0, 200);
    }
    // Suggestions while typing are not counted.
    for typed in ["u", "un", "uni"] {
        let resp = bob
            .get(app.url(&format!("/search/suggest?q={typed}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
    let page = crate::helpers::get_text(&owner, &app.url("/admin/system")).await;
    assert!(!page.contains("<li>uni "), "{page}");
    assert!(
        page.contains("<li>hiking <small class=\"hint\">3</small></li>"),
        "{page}"
    );
    let empty = page
        .split("Searches that found nothing")
        .nth(1)
        .unwrap_or_default();
    assert!(
        empty.contains("<li>unicycle <small class=\"hint\">1</small></li>"),
        "{page}"
    );
    // Members may not see them.
    let resp = bob.get(app.url("/admin/system")).send().await.unwrap();
    assert_ne!(resp.status(), 200);
}

#[tokio::test]
async fn a_suspended_member_is_found_again_when_the_suspension_ends() {
    let (app, owner, members) = cast().await;
    let [(_, ann_id), _, (bob, _)] = &members[..] else {
        unreachable!()
    };
    let until = (app.clock.now() + std::time::Duration::from_secs(3 * 24 * 3600))
        .strftime("%Y-%m-%dT%H:%M")
        .to_string();
    let resp = crate::staff::staff_action(
        &app,
        &owner,
        ann_id,
        &[
            ("action", "suspend"),
            ("until", until.as_str()),
            ("reason", "cool off"),
        ],
    )
    .await;
    assert_eq!(resp.status(), 303);
    app.index_search().await;
    assert!(titles(&search(&app, bob, "q=mountains+").await.1).is_empty());
    // No event marks the end of a suspension: the index knows when she may be found.
    app.clock
        .advance(std::time::Duration::from_secs(4 * 24 * 3600));
    assert_eq!(titles(&search(&app, bob, "q=mountains+").await.1), ["Ann"]);
}
