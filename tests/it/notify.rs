//! Telling members outside Hearth: email (instant and digests, one-click unsubscribe), Web
//! Push to a local push service that decrypts what it gets, and signed webhooks; held while
//! the member is using Hearth and during quiet hours (across a daylight-saving change),
//! repeats joined within 5 minutes, access checked again at send time, and private
//! addresses refused.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hearth::clock::Clock;
use hearth::jobs::{EnqueueOptions, JobOutcome};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::helpers::{TestApp, configure_smtp, get_json};
use crate::matching::{community, community_with, send};
use crate::messages::{conversation_with, like_each_other, write};
use crate::smtp::SmtpSink;

/// Runs every due job; what happened, as (kind, outcome) pairs.
async fn drain(app: &TestApp) -> Vec<JobOutcome> {
    let mut outcomes = Vec::new();
    while let Some(outcome) = app.queue.run_one_pending().await.unwrap() {
        outcomes.push(outcome);
        assert!(outcomes.len() < 200, "the queue does not run dry");
    }
    outcomes
}

fn mails_sent(outcomes: &[JobOutcome]) -> usize {
    outcomes
        .iter()
        .filter(|o| matches!(o, JobOutcome::Succeeded { kind, .. } if kind == "mail.send"))
        .count()
}

fn postponed(outcomes: &[JobOutcome]) -> Vec<(String, jiff::Timestamp)> {
    outcomes
        .iter()
        .filter_map(|o| match o {
            JobOutcome::Postponed { why, at, .. } => Some((why.clone(), *at)),
            _ => None,
        })
        .collect()
}

async fn patch_preferences(app: &TestApp, client: &reqwest::Client, body: Value) -> (u16, Value) {
    let resp = send(
        app,
        client,
        Method::PATCH,
        "/api/v1/notifications/preferences",
        Some(body),
    )
    .await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn header_of(mail: &str, name: &str) -> Option<String> {
    mail.lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with(&format!("{}:", name.to_ascii_lowercase()))
        })
        .map(|l| l[name.len() + 1..].trim().to_string())
}

/// A community of Ann and Bob who matched, with SMTP set up and the match mail delivered.
async fn matched_pair(
    sink: &mut SmtpSink,
    tweak: impl FnOnce(&mut hearth::config::Config),
) -> (TestApp, [(reqwest::Client, String); 2], String) {
    let (app, owner, members) = community_with(&["ann", "bob"], tweak).await;
    configure_smtp(&app, &owner, sink.port).await;
    let [(ann, ann_id), (bob, bob_id)]: [(reqwest::Client, String); 2] =
        members.try_into().unwrap_or_else(|_| unreachable!());
    like_each_other(&app, &bob, &bob_id, &ann, &ann_id).await;
    let outcomes = drain(&app).await;
    assert_eq!(mails_sent(&outcomes), 2, "{outcomes:?}");
    for _ in 0..2 {
        let mail = sink.next_message().await;
        assert!(mail.data.contains("You matched with"), "{}", mail.data);
    }
    let conversation = conversation_with(&app, &bob, &ann_id).await;
    (app, [(ann, ann_id), (bob, bob_id)], conversation)
}

#[tokio::test]
async fn mail_goes_once_per_five_minutes_per_subject_and_unsubscribes_in_one_click() {
    let mut sink = SmtpSink::start();
    let (app, [(ann, _), (bob, _)], conversation) = matched_pair(&mut sink, |_| {}).await;

    assert_eq!(write(&app, &bob, &conversation, "Hello Ann").await.0, 201);
    assert_eq!(mails_sent(&drain(&app).await), 1);
    let mail = sink.next_message().await;
    assert!(mail.data.contains("New message from bob"), "{}", mail.data);
    assert!(mail.data.contains("Hello Ann"));
    let unsubscribe = header_of(&mail.data, "List-Unsubscribe").expect("List-Unsubscribe");
    assert_eq!(
        header_of(&mail.data, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );

    // Two more within the window: held, and joined into the first's notification.
    app.clock.advance(Duration::from_secs(30));
    write(&app, &bob, &conversation, "Are you there?").await;
    write(&app, &bob, &conversation, "Coffee?").await;
    let outcomes = drain(&app).await;
    assert_eq!(mails_sent(&outcomes), 0, "{outcomes:?}");
    assert_eq!(postponed(&outcomes).len(), 1, "one job for the subject");
    let list = get_json(&ann, &app.url("/api/v1/notifications")).await;
    let messages: Vec<&Value> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["event"] == "message:new")
        .collect();
    assert_eq!(messages.len(), 1, "{list}");
    assert_eq!(messages[0]["title"], "3 new messages from bob");

    // Five minutes after the first mail, the rest goes as one.
    app.clock.advance(Duration::from_secs(5 * 60));
    assert_eq!(mails_sent(&drain(&app).await), 1);
    let mail = sink.next_message().await;
    assert!(
        mail.data.contains("3 new messages from bob"),
        "{}",
        mail.data
    );

    // A mail client's one-click unsubscribe: a bare POST, no cookie, no CSRF token.
    let url = unsubscribe.trim_matches(|c| c == '<' || c == '>');
    let resp = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let prefs = get_json(&ann, &app.url("/api/v1/notifications/preferences")).await;
    let row = prefs["data"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "message:new")
        .unwrap()
        .clone();
    assert_eq!(row["email"], false, "{prefs}");
    assert_eq!(row["push"], true);
    // A forged token finds nothing.
    let forged = reqwest::Client::new()
        .post(app.url("/unsubscribe/AAAA.BBBB"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 404);

    // Read, so the next message is a new subject; then no mail at all.
    send(
        &app,
        &ann,
        Method::POST,
        &format!("/api/v1/conversations/{conversation}/read"),
        Some(json!({})),
    )
    .await;
    app.clock.advance(Duration::from_secs(10 * 60));
    write(&app, &bob, &conversation, "Never mind").await;
    let outcomes = drain(&app).await;
    assert_eq!(mails_sent(&outcomes), 0, "{outcomes:?}");
}

#[tokio::test]
async fn nothing_goes_out_while_the_member_is_here_and_read_things_never_go() {
    let mut sink = SmtpSink::start();
    let (app, [(ann, _), (bob, _)], conversation) = matched_pair(&mut sink, |_| {}).await;
    let (secret, _) = crate::stream::token(&app, &ann).await;
    let bearer = format!("Bearer {secret}");
    let mut socket = crate::stream::connect(&app, &[("authorization", &bearer)], "")
        .await
        .unwrap();
    let hello = crate::stream::next_frame(&mut socket).await.unwrap();
    assert_eq!(hello["type"], "hello");

    write(&app, &bob, &conversation, "Hi!").await;
    let outcomes = drain(&app).await;
    assert_eq!(mails_sent(&outcomes), 0);
    let held = postponed(&outcomes);
    assert_eq!(held.len(), 1, "{outcomes:?}");
    assert_eq!(held[0].0, "the member is using Hearth");
    assert_eq!(held[0].1, app.clock.now() + Duration::from_secs(120));

    // She reads it while here: nothing is ever sent about it.
    send(
        &app,
        &ann,
        Method::POST,
        &format!("/api/v1/conversations/{conversation}/read"),
        Some(json!({})),
    )
    .await;
    app.clock.advance(Duration::from_secs(180));
    let outcomes = drain(&app).await;
    assert_eq!(mails_sent(&outcomes), 0, "{outcomes:?}");

    // Unread when she has been gone two minutes: it goes then.
    write(&app, &bob, &conversation, "Still there?").await;
    assert_eq!(postponed(&drain(&app).await).len(), 1);
    socket.close(None).await.unwrap();
    drop(socket);
    let mut sent = 0;
    for _ in 0..20 {
        app.clock.advance(Duration::from_secs(150));
        sent += mails_sent(&drain(&app).await);
        if sent > 0 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(sent, 1);
    let mail = sink.next_message().await;
    assert!(mail.data.contains("Still there?"), "{}", mail.data);
}

#[tokio::test]
async fn quiet_hours_hold_mail_until_their_local_end_across_a_dst_change() {
    let mut sink = SmtpSink::start();
    let (app, [(ann, _), (bob, _)], conversation) = matched_pair(&mut sink, |_| {}).await;
    // Start equal to end is refused, with the field named.
    let (status, body) = patch_preferences(
        &app,
        &ann,
        json!({"quietHours": {"start": "22:00", "end": "22:00"}}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"][0]["field"], "quietHours.end", "{body}");
    let (status, body) = patch_preferences(
        &app,
        &ann,
        json!({"quietHours": {"start": "22:00", "end": "08:00"},
               "channels": [{"event": "security:new_sign_in", "channel": "email", "on": true}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["quietHours"]["end"], "08:00");

    // 23:30 in Paris (her profile's zone) on the night clocks go back: 08:00 CET is 07:00 UTC.
    app.clock.set("2026-10-24T21:30:00Z".parse().unwrap());
    // (Months later: their sessions ended; they sign in again, on browsers known by now.)
    for (client, name) in [(&ann, "ann"), (&bob, "bob")] {
        let resp = app.sign_in(client, name, crate::helpers::PASSWORD).await;
        assert_eq!(resp.status(), 303);
    }
    write(&app, &bob, &conversation, "Late hello").await;
    let outcomes = drain(&app).await;
    assert_eq!(mails_sent(&outcomes), 0);
    assert_eq!(
        postponed(&outcomes),
        [(
            "quiet hours".to_string(),
            "2026-10-25T07:00:00Z".parse().unwrap()
        )]
    );

    // A security notice goes through quiet hours: a sign-in from a new browser.
    let phone = reqwest::Client::builder()
        .cookie_store(true)
        .user_agent("Mozilla/5.0 (Linux; Android 14) Firefox/130.0")
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert_eq!(
        app.sign_in(&phone, "ann", crate::helpers::PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(mails_sent(&drain(&app).await), 1);
    let mail = sink.next_message().await;
    assert!(mail.data.contains("New sign-in"), "{}", mail.data);
    assert!(mail.data.contains("Firefox on Android"), "{}", mail.data);

    app.clock.set("2026-10-25T06:59:00Z".parse().unwrap());
    assert_eq!(mails_sent(&drain(&app).await), 0);
    app.clock.set("2026-10-25T07:00:00Z".parse().unwrap());
    assert_eq!(mails_sent(&drain(&app).await), 1);
    let mail = sink.next_message().await;
    assert!(mail.data.contains("Late hello"), "{}", mail.data);

    // `null` switches them off, as the document says.
    let (status, body) = patch_preferences(&app, &ann, json!({"quietHours": null})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"].get("quietHours").is_none(), "{body}");
    let doc = get_json(&ann, &app.url("/api/openapi.json")).await;
    let props = &doc["components"]["schemas"]["PreferencesPatch"]["properties"];
    for field in ["quietHours", "webhook", "digest"] {
        assert_eq!(props[field]["nullable"], true, "{field}");
    }
    let (status, body) = patch_preferences(&app, &ann, json!({"digest": null})).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_daily_digest_is_one_mail_with_everything_since_the_last() {
    let mut sink = SmtpSink::start();
    let (app, owner, members) = community(&["ann", "bob", "cyd"]).await;
    configure_smtp(&app, &owner, sink.port).await;
    let [(ann, ann_id), (bob, bob_id), (cyd, cyd_id)] = &members[..] else {
        unreachable!()
    };
    let (status, body) = patch_preferences(&app, ann, json!({"digest": "daily"})).await;
    assert_eq!(status, 200, "{body}");
    // Not one of the schema's values: refused before the service sees it.
    assert_eq!(
        patch_preferences(&app, ann, json!({"digest": "hourly"}))
            .await
            .0,
        400
    );
    like_each_other(&app, bob, bob_id, ann, ann_id).await;
    like_each_other(&app, cyd, cyd_id, ann, ann_id).await;
    let outcomes = drain(&app).await;
    // Bob's and Cyd's match mails go at once; Ann's two wait for her digest.
    assert_eq!(mails_sent(&outcomes), 2, "{outcomes:?}");
    for _ in 0..2 {
        let mail = sink.next_message().await;
        assert!(
            !mail.to.iter().any(|t| t.starts_with("ann")),
            "{:?}",
            mail.to
        );
    }
    let digest = || async {
        app.queue
            .enqueue("notifications.digests", &(), EnqueueOptions::default())
            .await
            .unwrap();
        mails_sent(&drain(&app).await)
    };
    assert_eq!(digest().await, 0, "not a day yet");
    app.clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(digest().await, 1);
    let mail = sink.next_message().await;
    assert!(mail.data.contains("2 new notifications"), "{}", mail.data);
    assert!(mail.data.contains("You matched with bob"), "{}", mail.data);
    assert!(mail.data.contains("You matched with cyd"), "{}", mail.data);
    assert!(header_of(&mail.data, "List-Unsubscribe").is_some());
    assert_eq!(digest().await, 0, "nothing new since");
}

#[tokio::test]
async fn a_member_who_lost_access_is_not_told() {
    let mut sink = SmtpSink::start();
    let (app, [(ann, ann_id), (bob, bob_id)], conversation) = matched_pair(&mut sink, |_| {}).await;
    write(&app, &bob, &conversation, "Hi Ann").await;
    // Ann blocks Bob before the mail goes: she hears nothing of him.
    let resp = send(
        &app,
        &ann,
        Method::POST,
        "/api/v1/blocks",
        Some(json!({"memberId": bob_id})),
    )
    .await;
    assert_eq!(resp.status(), 204, "{}", resp.text().await.unwrap());
    let outcomes = drain(&app).await;
    assert_eq!(mails_sent(&outcomes), 0, "{outcomes:?}");
    assert!(!ann_id.is_empty());
}

/// A request as the receiver saw it: path, headers (names lowercased), body.
type Received = (String, Vec<(String, String)>, Vec<u8>);

/// A loopback HTTP server that records each request and answers with `status`.
struct Receiver {
    base: String,
    requests: mpsc::UnboundedReceiver<Received>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, requests) = mpsc::unbounded_channel();
        let status = Arc::new(AtomicU16::new(201));
        let answer = Arc::clone(&status);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let (tx, answer) = (tx.clone(), Arc::clone(&answer));
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let header_end = loop {
                        let n = stream.read(&mut chunk).await.unwrap();
                        assert!(n > 0, "the request ended early");
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
                    let mut lines = head.split("\r\n");
                    let path = lines.next().unwrap().split(' ').nth(1).unwrap().to_string();
                    let headers: Vec<(String, String)> = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .collect();
                    let length: usize = headers
                        .iter()
                        .find(|(n, _)| n == "content-length")
                        .map_or(0, |(_, v)| v.parse().unwrap());
                    while buf.len() < header_end + length {
                        let n = stream.read(&mut chunk).await.unwrap();
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    let body = buf[header_end..header_end + length].to_vec();
                    let status = answer.load(Ordering::SeqCst);
                    let reply = format!(
                        "HTTP/1.1 {status} Whatever\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    stream.write_all(reply.as_bytes()).await.unwrap();
                    let _ = tx.send((path, headers, body));
                });
            }
        });
        Receiver {
            base,
            requests,
            status,
        }
    }

    async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.requests.recv())
            .await
            .expect("a request within 10 s")
            .unwrap()
    }
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> &'h str {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn webhooks_never_reach_private_addresses_unless_allowed() {
    let (app, _owner, members) = community(&["ann"]).await;
    let ann = &members[0].0;
    for (url, field) in [
        ("http://127.0.0.1:9/hook", "webhook.url"),
        ("http://169.254.169.254/latest/meta-data", "webhook.url"),
        ("http://10.1.2.3/", "webhook.url"),
        ("http://192.168.0.10/", "webhook.url"),
        ("http://[::1]/", "webhook.url"),
        ("http://localhost:8080/", "webhook.url"),
        ("gopher://example.com/", "webhook.url"),
    ] {
        let (status, body) = patch_preferences(&app, ann, json!({"webhook": {"url": url}})).await;
        assert_eq!(status, 422, "{url}: {body}");
        assert_eq!(body["fields"][0]["field"], field, "{body}");
    }
    let (status, body) = patch_preferences(
        &app,
        ann,
        json!({"webhook": {"url": "https://api.telegram.org/botX/sendMessage", "preset": "telegram"}}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["fields"][0]["field"], "webhook.chatId");
    let (status, _) = patch_preferences(
        &app,
        ann,
        json!({"channels": [{"event": "nope", "channel": "email", "on": true}]}),
    )
    .await;
    assert_eq!(status, 422);
    // Nothing of a refused change was kept.
    let prefs = get_json(ann, &app.url("/api/v1/notifications/preferences")).await;
    assert!(prefs["data"]["webhook"].is_null(), "{prefs}");
}

#[tokio::test]
async fn a_member_webhook_gets_signed_calls() {
    let mut hook = Receiver::start().await;
    let (app, _owner, members) = community_with(&["ann", "bob"], |c| {
        c.notifications.allow_private_networks = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let [(ann, ann_id), (bob, bob_id)] = &members[..] else {
        unreachable!()
    };
    let (status, body) = patch_preferences(
        &app,
        ann,
        json!({"webhook": {"url": format!("{}/hook", hook.base)},
               "channels": [{"event": "message:new", "channel": "webhook", "on": true},
                            {"event": "message:new", "channel": "email", "on": false}]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let secret = body["data"]["webhook"]["secret"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(secret.len() >= 32, "a secret was made: {secret}");

    let resp = send(
        &app,
        ann,
        Method::POST,
        "/api/v1/notifications/webhook/test",
        None,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let (path, headers, payload) = hook.next().await;
    assert_eq!(path, "/hook");
    assert_eq!(
        header(&headers, "x-hearth-signature"),
        format!("sha256={}", hmac_hex(&secret, &payload))
    );
    // A failing webhook is reported to the member with what it answered.
    hook.status.store(500, Ordering::SeqCst);
    let resp = send(
        &app,
        ann,
        Method::POST,
        "/api/v1/notifications/webhook/test",
        None,
    )
    .await;
    assert_eq!(resp.status(), 409);
    let refused: Value = resp.json().await.unwrap();
    assert_eq!(refused["code"], "WEBHOOK_FAILED", "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("500"),
        "{refused}"
    );
    let _ = hook.next().await;
    hook.status.store(200, Ordering::SeqCst);

    like_each_other(&app, bob, bob_id, ann, ann_id).await;
    let conversation = conversation_with(&app, bob, ann_id).await;
    write(&app, bob, &conversation, "Ping").await;
    drain(&app).await;
    let (_, headers, payload) = hook.next().await;
    let call: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(call["event"], "message:new");
    assert_eq!(call["title"], "New message from bob");
    assert_eq!(call["body"], "Ping");
    assert_eq!(
        header(&headers, "x-hearth-signature"),
        format!("sha256={}", hmac_hex(&secret, &payload))
    );

    // Test calls reach another server: ten an hour, then 429.
    for _ in 0..8 {
        let resp = send(
            &app,
            ann,
            Method::POST,
            "/api/v1/notifications/webhook/test",
            None,
        )
        .await;
        assert_eq!(resp.status(), 200);
    }
    let resp = send(
        &app,
        ann,
        Method::POST,
        "/api/v1/notifications/webhook/test",
        None,
    )
    .await;
    assert_eq!(resp.status(), 429);
}

#[tokio::test]
async fn a_push_is_encrypted_for_the_device_and_a_gone_device_is_forgotten() {
    use web_push_native::p256;
    let mut service = Receiver::start().await;
    let (app, _owner, members) = community_with(&["ann", "bob"], |c| {
        c.notifications.allow_private_networks = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    let [(ann, ann_id), (bob, bob_id)] = &members[..] else {
        unreachable!()
    };
    // The browser's side: its own key pair and auth secret.
    let device_secret = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
    let device_public = {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        device_secret
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    };
    let auth = [9u8; 16];
    let subscribe = |endpoint: String, p256dh: String| json!({"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": URL_SAFE_NO_PAD.encode(auth)}});
    let p256dh = URL_SAFE_NO_PAD.encode(&device_public);
    // Keys that are not keys, and endpoints Hearth does not call, are refused.
    for (body, field) in [
        (
            subscribe(format!("{}/push/ann", service.base), "AAAA".into()),
            "keys.p256dh",
        ),
        (
            subscribe("http://169.254.169.254/".into(), p256dh.clone()),
            "endpoint",
        ),
    ] {
        let resp = send(&app, ann, Method::POST, "/api/v1/push/devices", Some(body)).await;
        assert_eq!(resp.status(), 422);
        let refused: Value = resp.json().await.unwrap();
        assert_eq!(refused["fields"][0]["field"], field, "{refused}");
    }
    let resp = send(
        &app,
        ann,
        Method::POST,
        "/api/v1/push/devices",
        Some(subscribe(format!("{}/push/ann", service.base), p256dh)),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let key = get_json(ann, &app.url("/api/v1/push/key")).await;
    let server_key = key["data"]["publicKey"].as_str().unwrap().to_string();
    assert_eq!(URL_SAFE_NO_PAD.decode(&server_key).unwrap().len(), 65);

    like_each_other(&app, bob, bob_id, ann, ann_id).await;
    drain(&app).await;
    // Bob's like, then the match: two pushes, each readable only with the device's keys.
    let mut shown = Vec::new();
    for _ in 0..2 {
        let (path, headers, body) = service.next().await;
        assert_eq!(path, "/push/ann");
        assert_eq!(header(&headers, "content-encoding"), "aes128gcm");
        let authorization = header(&headers, "authorization");
        assert!(authorization.starts_with("vapid t="), "{authorization}");
        assert!(
            authorization.contains(&format!("k={server_key}")),
            "{authorization}"
        );
        let plain = web_push_native::decrypt(
            body,
            &device_secret,
            &web_push_native::Auth::clone_from_slice(&auth),
        )
        .expect("the push decrypts with the device's keys");
        let payload: Value = serde_json::from_slice(&plain).unwrap();
        shown.push((
            payload["title"].as_str().unwrap().to_string(),
            payload["url"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_string(),
        ));
    }
    shown.sort();
    assert_eq!(
        shown,
        [
            ("Someone liked you".to_string(), "likes".to_string()),
            ("You matched with bob".to_string(), "matches".to_string())
        ]
    );

    // The push service says the subscription is gone: the device is forgotten.
    service.status.store(410, Ordering::SeqCst);
    let conversation = conversation_with(&app, bob, ann_id).await;
    app.clock.advance(Duration::from_secs(60));
    write(&app, bob, &conversation, "Hi").await;
    drain(&app).await;
    let (_, _, body) = service.next().await;
    let plain = web_push_native::decrypt(
        body,
        &device_secret,
        &web_push_native::Auth::clone_from_slice(&auth),
    )
    .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&plain).unwrap()["body"],
        "Hi"
    );
    let devices = get_json(ann, &app.url("/api/v1/push/devices")).await;
    assert_eq!(devices["data"], json!([]), "{devices}");
}

#[tokio::test]
async fn the_settings_page_and_the_unsubscribe_page_work_as_forms() {
    let (app, _owner, members) = community(&["ann"]).await;
    let ann = &members[0].0;
    let page = crate::helpers::get_text(ann, &app.url("/notifications/settings")).await;
    assert!(
        page.contains("name=\"email:message:new\" aria-label=\"New messages by email\" checked"),
        "{page}"
    );
    let csrf = TestApp::csrf_from(ann, &app.url("/notifications/settings")).await;
    // Quiet hours that end where they start: sent back with the problem, nothing lost.
    let resp = ann
        .post(app.url("/notifications/settings"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("push:like:new", "on"),
            ("quiet", "on"),
            ("quiet_start", "21:00"),
            ("quiet_end", "21:00"),
            ("digest", "weekly"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(page.contains("an end different from their start"), "{page}");
    assert!(page.contains("value=\"21:00\""));
    assert!(page.contains("value=\"weekly\" checked"));
    let resp = ann
        .post(app.url("/notifications/settings"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("push:like:new", "on"),
            ("quiet", "on"),
            ("quiet_start", "21:00"),
            ("quiet_end", "07:30"),
            ("digest", "weekly"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    let prefs = get_json(ann, &app.url("/api/v1/notifications/preferences")).await;
    assert_eq!(prefs["data"]["digest"], "weekly");
    assert_eq!(prefs["data"]["quietHours"]["end"], "07:30");
    let events = prefs["data"]["events"].as_array().unwrap();
    let on: Vec<(&str, bool, bool)> = events
        .iter()
        .map(|e| {
            (
                e["event"].as_str().unwrap(),
                e["email"].as_bool().unwrap(),
                e["push"].as_bool().unwrap(),
            )
        })
        .filter(|(_, email, push)| *email || *push)
        .collect();
    assert_eq!(on, [("like:new", false, true)]);

    // The unsubscribe page asks before it acts; a bad link is a 404.
    let bad = reqwest::get(app.url("/unsubscribe/nonsense"))
        .await
        .unwrap();
    assert_eq!(bad.status(), 404);
}
