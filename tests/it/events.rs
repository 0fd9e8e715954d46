//! The event bus as the app uses it: committed changes are told to subscribers, refused
//! ones are not.

use hearth::events::{Event, Topic};

use crate::helpers::{TestApp, save_settings};

#[tokio::test]
async fn committed_changes_are_published_and_refusals_are_not() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    save_settings(&app, &owner, &[("registration", "open")]).await;
    let mut accounts = app.events.subscribe(Topic::Accounts);
    let mut settings = app.events.subscribe(Topic::Settings);

    let (joined, ann) = app.join("/join", "ann").await;
    assert_eq!(joined.status(), 201);
    let ann_id = match &*accounts.next().await.unwrap() {
        Event::MemberJoined { user } => *user,
        other => panic!("{other:?}"),
    };
    let mut ann_events = app.events.subscribe_member(ann_id);

    // A refused sign-up (the name is taken) changes nothing and tells nobody.
    let (taken, _) = app.join("/join", "ann").await;
    assert_eq!(taken.status(), 422);
    assert!(accounts.try_next().is_none());

    // Signing in and out: her sessions end, and she is told.
    assert_eq!(
        app.sign_in(&ann, "ann", crate::helpers::PASSWORD)
            .await
            .status(),
        303
    );
    let csrf = TestApp::csrf_from(&ann, &app.url("/account")).await;
    let out = ann
        .post(app.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    // Signing in made her active (the directory's "recently active"); then her sessions end.
    assert!(matches!(
        &*ann_events.next().await.unwrap(),
        Event::SignedIn { user, .. } if *user == ann_id
    ));
    assert!(matches!(
        &*ann_events.next().await.unwrap(),
        Event::MemberActive { member, .. } if *member == ann_id
    ));
    assert!(matches!(
        &*ann_events.next().await.unwrap(),
        Event::SessionsEnded { user } if *user == ann_id
    ));

    // Settings: the committed value.
    save_settings(&app, &owner, &[("site_name", "Riverside")]).await;
    match &*settings.next().await.unwrap() {
        Event::SettingsChanged { settings } => assert_eq!(settings.site_name, "Riverside"),
        other => panic!("{other:?}"),
    }
    app.stop().await;
}
