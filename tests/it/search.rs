//! Search: members found by name, bio and interests, with typos, prefixes and accents;
//! facets and totals under the same permissions; blocks, pauses and suspensions take
//! effect as soon as the change is indexed (bans too); hostile query strings; `hearth reindex`;
//! story captions; a change that survives a kill before its index commit.

use hearth::clock::Clock;
use hearth::domain::ids::UserId;
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::matching::{community, send};
use crate::profiles::{good_profile, put_profile};

pub(crate) async fn search(app: &TestApp, client: &reqwest::Client, query: &str) -> (u16, Value) {
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
    // Bounds on what one query names hold in the service, whichever face asks.
    let actor = crate::records::actor(&app, "bob").await;
    for (kinds, filters, field) in [
        (vec!["profile".to_string(); 6], vec![], "kind"),
        (
            vec![],
            vec![("interest".to_string(), "x".to_string()); 13],
            "filters",
        ),
        (vec!["k".repeat(101)], vec![], "kind"),
    ] {
        let request = hearth::service::search::SearchRequest {
            q: "hiking ".into(),
            kinds,
            filters,
            limit: 10,
            ..Default::default()
        };
        let refused = app.search.search(&actor, request).await.unwrap_err();
        assert!(
            matches!(&refused, hearth::service::error::ServiceError::Invalid(f) if f[0].field == field),
            "{refused:?}"
        );
    }
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

/// What the command line gives for `--data-dir data`, ignoring the environment.
fn overrides(data: &std::path::Path) -> hearth::config::Overrides {
    hearth::config::Overrides {
        data_dir: Some(data.to_path_buf()),
        ignore_environment: true,
        ..hearth::config::Overrides::default()
    }
}

/// A demo community of `members` in `data`.
async fn demo_community(data: &std::path::Path, members: usize, seed: u64) {
    let options = hearth::demo::DemoOptions {
        members,
        force: false,
        tokens: 0,
        tokens_file: None,
        seed,
        photos: 1,
        messages: 0,
        records: 0,
    };
    hearth::demo::run(overrides(data), options).await.unwrap();
}

#[tokio::test]
async fn reindex_rebuilds_a_damaged_index_from_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    demo_community(&data, 40, 3).await;
    let config = || hearth::config::Config::load(&overrides(&data)).unwrap();
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

async fn share_story(
    app: &TestApp,
    client: &reqwest::Client,
    media: &str,
    audience: &str,
    caption: &str,
) -> String {
    let body = json!({"mediaId": media, "caption": caption, "audience": audience});
    let resp = send(app, client, Method::POST, "/api/v1/stories", Some(body)).await;
    assert_eq!(resp.status(), 201);
    let story: Value = resp.json().await.unwrap();
    story["data"]["id"].as_str().unwrap().to_string()
}

/// Story captions are found by those who may see the story: every member or the author's
/// matches (an unmatch takes effect at once), never by a member blocked either way, and not
/// after the story is taken down or expires (whenever the expiry job runs).
#[tokio::test]
async fn stories_are_found_by_whom_they_are_for_while_they_live() {
    let (app, _owner, members) = community(&["ann", "bob", "cyd", "dee"]).await;
    let [(ann, ann_id), (bob, bob_id), (cyd, _), (dee, _)] = &members[..] else {
        unreachable!()
    };
    let photos = [
        crate::profiles::upload_photo(&app, ann, "plain.png").await,
        crate::profiles::upload_photo(&app, ann, "plain.webp").await,
        crate::profiles::upload_photo(&app, ann, "plain.png").await,
    ];
    crate::media::process_all(&app).await;
    crate::messages::like_each_other(&app, ann, ann_id, bob, bob_id).await;
    let resp = send(
        &app,
        dee,
        Method::POST,
        "/api/v1/blocks",
        Some(json!({"memberId": ann_id})),
    )
    .await;
    assert_eq!(resp.status(), 204);
    share_story(&app, ann, &photos[0], "matches", "Sunday hike to the lake").await;
    let for_all = share_story(&app, ann, &photos[1], "members", "Pancakes for everyone").await;
    app.index_search().await;

    let stories = |client, q: &'static str| {
        let app = &app;
        async move {
            let (status, found) = search(app, client, &format!("q={q}&kind=story")).await;
            assert_eq!(status, 200, "{found}");
            found["pagination"]["total"].as_u64().unwrap()
        }
    };
    assert_eq!(stories(bob, "lake+").await, 1, "a match");
    assert_eq!(stories(ann, "lake+").await, 1, "the author");
    assert_eq!(stories(cyd, "lake+").await, 0, "not a match");
    assert_eq!(stories(cyd, "pancakes+").await, 1);
    assert_eq!(stories(dee, "pancakes+").await, 0, "blocked either way");
    let (_, found) = search(&app, bob, "q=lake+").await;
    assert_eq!(found["data"][0]["kind"], "story");
    assert_eq!(found["data"][0]["title"], "ann");
    assert!(
        found["data"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("/stories/")
    );

    // Bob unmatches: the matches-only story is out of his results with no reindexing.
    crate::messages::unmatch_first(&app, bob).await;
    assert_eq!(stories(bob, "lake+").await, 0);

    // Taken down: gone once indexed.
    let resp = send(
        &app,
        ann,
        Method::DELETE,
        &format!("/api/v1/stories/{for_all}"),
        None,
    )
    .await;
    assert_eq!(resp.status(), 204);
    app.index_search().await;
    assert_eq!(stories(cyd, "pancakes+").await, 0);

    // Expired: gone from results at once, before the job deletes it.
    share_story(&app, ann, &photos[2], "members", "Lantern walk tonight").await;
    app.index_search().await;
    assert_eq!(stories(cyd, "lantern+").await, 1);
    app.clock
        .advance(std::time::Duration::from_secs(24 * 3600 + 1));
    assert_eq!(stories(cyd, "lantern+").await, 0);
}

const CRASH_CHILD_ENV: &str = "IT_SEARCH_CRASH_DIR";
const RENAMED: &str = "Quetzalcoatl";

/// The child of the crash test: renames a member (the change and its outbox entry commit
/// together; no indexer runs here), says so, and waits to be killed.
async fn rename_then_wait(data: std::path::PathBuf) {
    let app = build_app(&data).await;
    let (member, _) = two_members(&app).await;
    app.store
        .write(move |tx| {
            let mut profile = tx.profiles().get(member)?.unwrap();
            profile.display_name = RENAMED.into();
            tx.profiles().put(&profile)?;
            tx.emit(hearth::events::Event::ProfileChanged { member });
            Ok(())
        })
        .await
        .unwrap();
    println!("CHANGED {member}");
    std::future::pending::<()>().await;
}

async fn build_app(data: &std::path::Path) -> hearth::app::App {
    let config = hearth::config::Config::load(&overrides(data)).unwrap();
    let clock: hearth::clock::SharedClock = std::sync::Arc::new(hearth::clock::SystemClock);
    hearth::app::App::build(
        config,
        clock,
        hearth::jobs::Registry::new(),
        "127.0.0.1:0".parse().unwrap(),
        std::path::Path::new(env!("CARGO_BIN_EXE_hearth")),
    )
    .await
    .unwrap()
}

/// Two members with searchable profiles: (the one renamed, the one searching).
async fn two_members(app: &hearth::app::App) -> (UserId, UserId) {
    let shown = app
        .store
        .read(|rx| {
            let mut ids = Vec::new();
            rx.profiles().for_each(|p| {
                if !p.paused {
                    ids.push(p.member);
                }
            })?;
            Ok::<_, hearth::store::StoreError>(ids)
        })
        .await
        .unwrap();
    (shown[0], shown[1])
}

/// Kill the process after a change committed and before the index did: the change waits in
/// the outbox, and the next start indexes it.
#[test]
fn a_change_killed_before_its_index_commit_is_indexed_after_restart() {
    if let Some(dir) = std::env::var_os(CRASH_CHILD_ENV) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(rename_then_wait(dir.into()));
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    rt.block_on(async {
        demo_community(&data, 10, 5).await;
        let config = hearth::config::Config::load(&overrides(&data)).unwrap();
        hearth::app::reindex(config, std::sync::Arc::new(hearth::clock::SystemClock))
            .await
            .unwrap();
    });

    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "search::a_change_killed_before_its_index_commit_is_indexed_after_restart",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_CHILD_ENV, &data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    let renamed: UserId = loop {
        let line = lines
            .next()
            .expect("the child says what it changed")
            .unwrap();
        // The first line starts with libtest's own "test … ... ".
        if let Some(id) = line.split("CHANGED ").nth(1) {
            break id.parse().unwrap();
        }
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    rt.block_on(async {
        let app = build_app(&data).await;
        let (member, searcher) = two_members(&app).await;
        assert_eq!(member, renamed);
        let user = app
            .store
            .read(move |rx| rx.users().get(searcher))
            .await
            .unwrap()
            .unwrap();
        let actor = hearth::service::access::Actor::new(&user, false);
        let find = || {
            let search = app.search();
            let actor = actor.clone();
            async move {
                let request = hearth::service::search::SearchRequest {
                    q: format!("{RENAMED} "),
                    limit: 10,
                    ..Default::default()
                };
                search.search(&actor, request).await.unwrap().found
            }
        };
        // The index never saw the change; the outbox kept it.
        assert_eq!(find().await.total, 0);
        while app.search().index_pending().await.unwrap() > 0 {}
        let found = find().await;
        assert_eq!(found.total, 1);
        assert_eq!(found.hits[0].key, format!("profile:{renamed}"));
        app.store.close().await;
    });
}
