//! The live stream: a member hears what concerns them as it happens (WebSocket and SSE),
//! resumes after a gap or is told to fetch again, is cut off when their token is revoked; a
//! page of another site cannot open one with the member's cookie; connections are bounded.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::helpers::TestApp;
use crate::matching::{community, send};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A read-write API token of the member's.
pub(crate) async fn token(app: &TestApp, client: &reqwest::Client) -> (String, String) {
    let resp = send(
        app,
        client,
        Method::POST,
        "/api/v1/me/tokens",
        Some(json!({"name": "stream", "write": true})),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    (
        created["data"]["secret"].as_str().unwrap().to_string(),
        created["data"]["token"]["id"].as_str().unwrap().to_string(),
    )
}

fn ws_url(app: &TestApp, query: &str) -> String {
    app.url(&format!("/api/v1/stream{query}"))
        .replacen("http://", "ws://", 1)
}

pub(crate) async fn connect(
    app: &TestApp,
    headers: &[(&str, &str)],
    query: &str,
) -> Result<Socket, tungstenite::Error> {
    let mut request = ws_url(app, query).into_client_request().unwrap();
    for (name, value) in headers {
        let name = tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        request.headers_mut().insert(name, value.parse().unwrap());
    }
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(socket, _)| socket)
}

fn status_of(refused: tungstenite::Error) -> u16 {
    match refused {
        tungstenite::Error::Http(resp) => resp.status().as_u16(),
        other => panic!("not an HTTP refusal: {other}"),
    }
}

/// The next frame, skipping pings and notification frames (the notification tests cover
/// those); `None` when the stream closed.
async fn next(socket: &mut Socket) -> Option<Value> {
    loop {
        let frame = next_frame(socket).await?;
        if !frame["type"]
            .as_str()
            .unwrap_or_default()
            .starts_with("notification:")
        {
            return Some(frame);
        }
    }
}

pub(crate) async fn next_frame(socket: &mut Socket) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame within 10 s");
        match message {
            Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(other)) => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_member_hears_what_happens_and_resumes_after_a_gap() {
    let (app, _owner, members) = community(&["ann", "bob"]).await;
    let [(ann, ann_id), (bob, bob_id)] = &members[..] else {
        unreachable!()
    };
    let (secret, token_id) = token(&app, ann).await;
    let bearer = format!("Bearer {secret}");
    let auth = [("authorization", bearer.as_str())];
    let mut socket = connect(&app, &auth, "").await.unwrap();
    let hello = next(&mut socket).await.unwrap();
    assert_eq!(hello["type"], "hello");

    // Bob likes her: she hears it; she likes him back: a match.
    crate::messages::like_each_other(&app, bob, bob_id, ann, ann_id).await;
    let liked = next(&mut socket).await.unwrap();
    assert_eq!(
        (liked["type"].as_str(), liked["data"]["fromId"].as_str()),
        (Some("like:new"), Some(bob_id.as_str()))
    );
    let matched = next(&mut socket).await.unwrap();
    assert_eq!(matched["type"], "match:new");

    // Bob writes: she hears the message at once.
    let conversation = crate::messages::conversation_with(&app, bob, ann_id).await;
    let path = format!("/api/v1/conversations/{conversation}/messages");
    assert_eq!(
        send(&app, bob, Method::POST, &path, Some(json!({"text": "hi"})))
            .await
            .status(),
        201
    );
    let heard = next(&mut socket).await.unwrap();
    assert_eq!(heard["type"], "message:new");
    assert_eq!(heard["data"]["conversationId"], conversation.as_str());
    let last_seen = heard["id"].as_str().unwrap().to_string();

    // Typing over the socket reaches Bob's stream.
    let (bob_secret, _) = token(&app, bob).await;
    let bob_bearer = format!("Bearer {bob_secret}");
    let mut bobs = connect(&app, &[("authorization", bob_bearer.as_str())], "")
        .await
        .unwrap();
    // His hello lists his matches online (her); she hears that he came online.
    let his_hello = next(&mut bobs).await.unwrap();
    assert_eq!(his_hello["type"], "hello");
    assert_eq!(his_hello["data"]["online"], json!([ann_id]));
    let online = next(&mut socket).await.unwrap();
    assert_eq!(
        (
            online["type"].as_str(),
            online["data"]["memberId"].as_str(),
            online["data"]["online"].as_bool()
        ),
        (Some("presence"), Some(bob_id.as_str()), Some(true))
    );
    let typing = json!({"type": "typing", "conversationId": conversation}).to_string();
    socket.send(Message::Text(typing.into())).await.unwrap();
    let typed = next(&mut bobs).await.unwrap();
    assert_eq!(
        (typed["type"].as_str(), typed["data"]["memberId"].as_str()),
        (Some("typing"), Some(ann_id.as_str()))
    );

    // He closes his last tab: she hears that he went offline.
    drop(bobs);
    let offline = next(&mut socket).await.unwrap();
    assert_eq!(
        (
            offline["type"].as_str(),
            offline["data"]["online"].as_bool()
        ),
        (Some("presence"), Some(false))
    );

    // Bob shares a story with his matches: she hears of it.
    let photo = crate::profiles::upload_photo(&app, bob, "plain.png").await;
    crate::media::process_all(&app).await;
    let shared = send(
        &app,
        bob,
        Method::POST,
        "/api/v1/stories",
        Some(json!({"mediaId": photo, "caption": "sunset", "audience": "matches"})),
    )
    .await;
    assert_eq!(shared.status(), 201);
    let story = next(&mut socket).await.unwrap();
    assert_eq!(
        (story["type"].as_str(), story["data"]["authorId"].as_str()),
        (Some("story:new"), Some(bob_id.as_str()))
    );

    // She goes away; Bob writes twice; back, she gets both after the last she saw.
    drop(socket);
    for text in ["are you there?", "ok later"] {
        assert_eq!(
            send(&app, bob, Method::POST, &path, Some(json!({"text": text})))
                .await
                .status(),
            201
        );
    }
    let mut socket = connect(&app, &auth, &format!("?lastEventId={last_seen}"))
        .await
        .unwrap();
    assert_eq!(next(&mut socket).await.unwrap()["type"], "hello");
    for _ in 0..2 {
        assert_eq!(next(&mut socket).await.unwrap()["type"], "message:new");
    }
    // An id from long ago cannot be resumed: fetch again.
    let mut stale = connect(&app, &auth, "?lastEventId=1").await.unwrap();
    assert_eq!(next(&mut stale).await.unwrap()["type"], "hello");
    assert_eq!(next(&mut stale).await.unwrap()["type"], "resync");

    // Server-Sent Events carry the same frames, with ids for Last-Event-ID.
    let mut events = app
        .client()
        .get(app.url("/api/v1/stream/sse"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let first = tokio::time::timeout(Duration::from_secs(10), events.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&first).contains("event: hello"));
    assert_eq!(
        send(&app, bob, Method::POST, &path, Some(json!({"text": "sse"})))
            .await
            .status(),
        201
    );
    let mut seen = String::new();
    while !seen.contains("event: message:new") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), events.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("id: "), "{seen}");

    // Revoking her token closes her streams at once.
    let revoked = send(
        &app,
        ann,
        Method::DELETE,
        &format!("/api/v1/me/tokens/{token_id}"),
        None,
    )
    .await;
    assert_eq!(revoked.status(), 204);
    loop {
        match next(&mut socket).await {
            None => break,
            Some(frame) => assert_ne!(frame["type"], "hello", "{frame}"),
        }
    }
    let refused = connect(&app, &auth, "").await.unwrap_err();
    assert_eq!(status_of(refused), 401);
}

#[tokio::test]
async fn streams_refuse_strangers_and_are_bounded() {
    let (app, _owner, members) = community(&["ann"]).await;
    let ann = &members[0].0;
    // Nobody signed in.
    assert_eq!(status_of(connect(&app, &[], "").await.unwrap_err()), 401);

    // A page of another site cannot use her cookie; her own pages can.
    app.clock.advance(Duration::from_secs(900));
    let signed_in = app.sign_in(ann, "ann", crate::helpers::PASSWORD).await;
    let cookie = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("hearth_session="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    let evil = [
        ("cookie", cookie.as_str()),
        ("origin", "https://evil.example"),
    ];
    assert_eq!(status_of(connect(&app, &evil, "").await.unwrap_err()), 403);
    let own_origin = app.url("");
    let own_origin = own_origin.trim_end_matches('/');
    let own = [("cookie", cookie.as_str()), ("origin", own_origin)];
    let mut socket = connect(&app, &own, "").await.unwrap();
    assert_eq!(next(&mut socket).await.unwrap()["type"], "hello");

    // Ten tabs at most.
    let mut open = vec![socket];
    for _ in 1..10 {
        open.push(connect(&app, &own, "").await.unwrap());
    }
    assert_eq!(status_of(connect(&app, &own, "").await.unwrap_err()), 409);
    drop(open.pop());
    // The freed place is counted back once the server sees the close.
    let mut again = None;
    for _ in 0..50 {
        match connect(&app, &own, "").await {
            Ok(s) => {
                again = Some(s);
                break;
            }
            Err(refused) => {
                assert_eq!(status_of(refused), 409);
                tokio::task::yield_now().await;
            }
        }
    }
    assert!(again.is_some(), "a closed tab frees its place");
}
