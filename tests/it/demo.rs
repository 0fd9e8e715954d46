//! `hearth demo-data`: a community full of members, their tokens for load tools, and a refusal
//! to mix demo members into a database with real ones.

use hearth::config::Overrides;
use hearth::demo::{DemoOptions, run};

use crate::helpers::{TestApp, get_json};

fn options(members: usize, force: bool, tokens_file: Option<std::path::PathBuf>) -> DemoOptions {
    DemoOptions {
        members,
        force,
        tokens: if tokens_file.is_some() { 5 } else { 0 },
        tokens_file,
        seed: 7,
        photos: 2,
        messages: 60,
        records: 120,
    }
}

#[tokio::test]
async fn demo_data_fills_a_new_community_and_leaves_real_ones_alone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let overrides = Overrides {
        data_dir: Some(data.clone()),
        ignore_environment: true,
        ..Overrides::default()
    };
    let tokens = dir.path().join("tokens.txt");
    run(overrides.clone(), options(120, false, Some(tokens.clone())))
        .await
        .unwrap();
    let lines: Vec<String> = std::fs::read_to_string(&tokens)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines.len(), 5);

    // The community serves: a token acts as its member.
    let app = TestApp::spawn_with(hearth::jobs::Registry::new(), |c| {
        c.storage.data_dir = data.clone();
    })
    .await;
    let (member, token) = lines[0].split_once(' ').unwrap();
    let client = reqwest::Client::new();
    let me = client
        .get(app.url("/api/v1/me/profile"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let profile: serde_json::Value = me.json().await.unwrap();
    assert_eq!(profile["data"]["memberId"], member);
    // Matches talk: the messages asked for, in conversations of about 20.
    let messages = app.store.read(|rx| rx.messages().all_ids()).await.unwrap();
    assert_eq!(messages.len(), 60);
    // The records asked for, numbered per direction and year, some the token member's.
    let records = client
        .get(app.url("/api/v1/records?limit=1"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let seen = records["pagination"]["total"].as_u64().unwrap();
    assert!((60..=120).contains(&seen), "{records}");
    assert!(
        records["data"][0]["number"]
            .as_str()
            .unwrap()
            .contains("-2026-"),
        "{records}"
    );
    let directory = client
        .get(app.url("/api/v1/directory?limit=100"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert!(
        directory["data"].as_array().unwrap().len() > 50,
        "{directory}"
    );
    // The owner who sets the instance up is a real member: demo data now refuses.
    let owner = app.owner_client().await;
    let users = get_json(&owner, &app.url("/api/v1/admin/users?limit=1")).await;
    assert_eq!(users["pagination"]["total"], 121);
    app.stop().await;

    let refused = run(overrides.clone(), options(10, false, None)).await;
    let refused = refused.unwrap_err();
    assert!(refused.contains("not demo members"), "{refused}");
    run(overrides, options(10, true, None)).await.unwrap();
}
