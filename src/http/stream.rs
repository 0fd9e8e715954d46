//! `GET /api/v1/stream` (a WebSocket) and `GET /api/v1/stream/sse` (Server-Sent Events, for
//! networks that block WebSockets): what happens to the signed-in member, as it happens.
//!
//! Frames are JSON: `{"id": "…", "type": "message:new", "data": {…}}`. The first is `hello`
//! with the id to resume from; a client that reconnects sends the last id it saw
//! (`?lastEventId=` or the `Last-Event-ID` header) and gets what it missed, or `resync` when
//! that is too old (then it fetches again). Authenticated by the session cookie (with an
//! `Origin` check) or a bearer token; a stream whose session or token ends, or whose member
//! is suspended, closes at once. Presence: `hello` lists the member's matches who are online,
//! and `presence` frames tell them when one comes online (first stream) or goes offline (last
//! stream closed). Over the WebSocket a client may send
//! `{"type": "typing", "conversationId": "…"}`, passed on to the other member (at most one
//! every three seconds per conversation).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use poem::web::Query;
use poem::web::sse::{Event as SseEvent, SSE};
use poem::web::websocket::{CloseCode, Message, WebSocket, WebSocketConfig};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::auth::{Viewer, is_cross_origin, session_cookie_name};
use super::error::AppError;
use super::routing::Routes;
use super::state::AppState;
use crate::domain::ids::{ConversationId, UserId};
use crate::service::access::Actor;
use crate::service::realtime::{Connection, Frame, Heard, Resume};

/// The WebSocket's read buffer: a client message and its frame header fit.
const READ_BUFFER: usize = 1024;

/// How often an idle WebSocket is pinged.
const HEARTBEAT: Duration = Duration::from_secs(30);
/// The largest message a client may send.
const MAX_CLIENT_MESSAGE: usize = 4096;
/// Typing is passed on at most this often per conversation.
const TYPING_EVERY: Duration = Duration::from_secs(3);

pub fn routes() -> Routes {
    Routes::new()
        .get("/api/v1/stream", websocket)
        .get("/api/v1/stream/sse", sse)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StreamQuery {
    last_event_id: Option<String>,
}

/// How the stream was authenticated, to check again when the member's sessions change.
#[derive(Clone)]
enum Credential {
    Session(String),
    Token(String),
}

impl Credential {
    async fn holds(&self, state: &AppState) -> bool {
        let found = match self {
            Credential::Session(t) => state.accounts.session_user(t).await,
            Credential::Token(t) => state.accounts.token_user(t).await,
        };
        matches!(found, Ok(Some(_)))
    }
}

/// An open stream: when the member's last one closes, their matches hear they went offline.
struct Live {
    connection: Connection,
    state: Arc<AppState>,
    member: UserId,
}

impl Drop for Live {
    fn drop(&mut self) {
        // This stream is still counted: the last one is the one closing now.
        if self.state.realtime.streams_of(self.member) <= 1 {
            announce(&self.state, self.member, false);
        }
    }
}

/// Tells `member`'s matches who are online that `member` came online or went offline.
fn announce(state: &AppState, member: UserId, online: bool) {
    let Ok(partners) = state.matching.partners(member) else {
        return;
    };
    for partner in partners {
        if state.realtime.streams_of(partner) > 0 {
            state.realtime.tell(
                partner,
                "presence",
                json!({"memberId": member.to_string(), "online": online}),
            );
        }
    }
}

/// Everything a stream needs once it is open.
struct Opened {
    state: Arc<AppState>,
    actor: Actor,
    credential: Credential,
    live: Live,
    /// Sent first: `hello`, then the missed frames or `resync`.
    first: Vec<Out>,
    /// Frames up to this id were sent with `first`.
    sent_up_to: u64,
}

fn open(req: &Request, viewer: &Viewer, query: &StreamQuery) -> Result<Opened, AppError> {
    // Shared, not copied: a member may hold streams open for hours, thousands at once.
    let shared = req
        .data::<Arc<AppState>>()
        .cloned()
        .ok_or_else(AppError::internal)?;
    let state = &*shared;
    let me = viewer.clone().require()?;
    let credential = match me.token_scope {
        Some(_) => Credential::Token(
            req.headers()
                .get(poem::http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .unwrap_or_default()
                .to_string(),
        ),
        None => {
            // A page of another site must not open a stream with the member's cookie.
            if is_cross_origin(req, state) {
                return Err(AppError::new(
                    poem::http::StatusCode::FORBIDDEN,
                    crate::service::error::ErrorCode::CsrfFailed,
                    "Streams are opened from this site's own pages.",
                ));
            }
            Credential::Session(
                req.cookie()
                    .get(session_cookie_name(state.tls))
                    .map(|c| c.value_str().to_string())
                    .unwrap_or_default(),
            )
        }
    };
    let member = me.user.id;
    let connection = state.realtime.connect(member)?;
    if state.realtime.streams_of(member) == 1 {
        announce(state, member, true);
    }
    let online: Vec<String> = state
        .matching
        .partners(member)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| state.realtime.streams_of(*p) > 0)
        .map(|p| p.to_string())
        .collect();
    let live = Live {
        connection,
        state: Arc::clone(&shared),
        member,
    };
    let last = query.last_event_id.clone().or_else(|| {
        req.headers()
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    let here = state.realtime.next_id().saturating_sub(1);
    let mut first = vec![Out::new(Some(here), "hello", json!({"online": online}))];
    let mut sent_up_to = here;
    if let Some(last) = last {
        match last
            .trim()
            .parse::<u64>()
            .map(|id| state.realtime.resume(me.user.id, id))
        {
            Ok(Resume::Frames(frames)) => {
                for f in frames {
                    sent_up_to = sent_up_to.max(f.id);
                    first.push(Out::of(&f));
                }
            }
            Ok(Resume::TooOld) | Err(_) => first.push(Out::resync()),
        }
    }
    Ok(Opened {
        state: shared,
        actor: me.actor(),
        credential,
        live,
        first,
        sent_up_to,
    })
}

/// A frame as it goes out: its JSON (the WebSocket's text), and its id and type (the SSE
/// event's fields, so they need not be read back out of the JSON).
struct Out {
    id: Option<u64>,
    kind: &'static str,
    json: String,
}

impl Out {
    fn new(id: Option<u64>, kind: &'static str, data: serde_json::Value) -> Self {
        let json = match id {
            Some(id) => json!({"id": id.to_string(), "type": kind, "data": data}),
            None => json!({"type": kind, "data": data}),
        };
        Self {
            id,
            kind,
            json: json.to_string(),
        }
    }

    fn of(f: &Frame) -> Self {
        Self::new(Some(f.id), f.kind, f.data.clone())
    }

    fn resync() -> Self {
        Self::new(None, "resync", json!({}))
    }

    fn sse(self) -> SseEvent {
        let event = SseEvent::message(self.json).event_type(self.kind);
        match self.id {
            Some(id) => event.id(id.to_string()),
            None => event,
        }
    }
}

#[handler]
pub async fn websocket(
    req: &Request,
    viewer: Viewer,
    ws: WebSocket,
    Query(query): Query<StreamQuery>,
) -> Result<Response, AppError> {
    let opened = open(req, &viewer, &query)?;
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(MAX_CLIENT_MESSAGE);
    config.max_frame_size = Some(MAX_CLIENT_MESSAGE);
    // Clients send little (typing, at most 4 KiB), and the read buffer is zero-filled to its
    // size on every connection: the default 128 KiB would cost that much RAM per open tab.
    config.read_buffer_size = READ_BUFFER;
    Ok(ws
        .config(config)
        .on_upgrade(move |socket| run_websocket(socket, opened))
        .into_response())
}

async fn run_websocket(socket: poem::web::websocket::WebSocketStream, opened: Opened) {
    let Opened {
        state,
        actor,
        credential,
        mut live,
        first,
        mut sent_up_to,
    } = opened;
    let (mut sink, mut incoming) = socket.split();
    for frame in first {
        if sink.send(Message::Text(frame.json)).await.is_err() {
            return;
        }
    }
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    let mut typed: HashMap<ConversationId, Instant> = HashMap::new();
    loop {
        tokio::select! {
            heard = live.connection.receiver.recv() => match heard {
                Ok(Heard::Frame(f)) if f.id > sent_up_to => {
                    sent_up_to = f.id;
                    if sink.send(Message::Text(Out::of(&f).json)).await.is_err() {
                        return;
                    }
                }
                Ok(Heard::Frame(_)) => {}
                Ok(Heard::Recheck) => {
                    if !credential.holds(&state).await {
                        let _ = sink
                            .send(Message::Close(Some((CloseCode::Policy, "signed out".into()))))
                            .await;
                        return;
                    }
                }
                // Fell behind: told to fetch again, and dropped; it reconnects and resumes.
                Err(RecvError::Lagged(_)) => {
                    let _ = sink.send(Message::Text(Out::resync().json)).await;
                    let _ = sink
                        .send(Message::Close(Some((CloseCode::Again, "fell behind".into()))))
                        .await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
            message = incoming.next() => match message {
                Some(Ok(Message::Text(body))) => typing(&state, &actor, &body, &mut typed),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            _ = heartbeat.tick() => {
                if sink.send(Message::Ping(Vec::new())).await.is_err() {
                    return;
                }
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientMessage {
    #[serde(rename = "type")]
    kind: String,
    conversation_id: Option<String>,
}

/// `typing` from a client: passed to the other member of a conversation the member may
/// write in, at most every few seconds. Anything else is ignored.
fn typing(
    state: &AppState,
    actor: &Actor,
    body: &str,
    typed: &mut HashMap<ConversationId, Instant>,
) {
    let Ok(message) = serde_json::from_str::<ClientMessage>(body) else {
        return;
    };
    let Some(id) = message
        .conversation_id
        .filter(|_| message.kind == "typing")
        .and_then(|c| c.parse::<ConversationId>().ok())
    else {
        return;
    };
    let now = Instant::now();
    if typed
        .get(&id)
        .is_some_and(|at| now.duration_since(*at) < TYPING_EVERY)
    {
        return;
    }
    if typed.len() > 64 {
        typed.clear();
    }
    typed.insert(id, now);
    if let Ok(view) = state.messages.conversation(actor, id)
        && view.closed.is_none()
    {
        state.realtime.tell(
            view.other,
            "typing",
            json!({"conversationId": id.to_string(), "memberId": actor.id.to_string()}),
        );
    }
}

#[handler]
pub async fn sse(
    req: &Request,
    viewer: Viewer,
    Query(query): Query<StreamQuery>,
) -> Result<Response, AppError> {
    let opened = open(req, &viewer, &query)?;
    let Opened {
        state,
        credential,
        live,
        first,
        sent_up_to,
        ..
    } = opened;
    let start = futures_util::stream::iter(first.into_iter().map(Out::sse));
    let frames = futures_util::stream::unfold(
        (live, sent_up_to, state, credential, false),
        |(mut live, mut sent_up_to, state, credential, done)| async move {
            if done {
                return None;
            }
            loop {
                match live.connection.receiver.recv().await {
                    Ok(Heard::Frame(f)) if f.id > sent_up_to => {
                        sent_up_to = f.id;
                        let event = Out::of(&f).sse();
                        return Some((event, (live, sent_up_to, state, credential, false)));
                    }
                    Ok(Heard::Frame(_)) => {}
                    Ok(Heard::Recheck) => {
                        if !credential.holds(&state).await {
                            return None;
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        let event = Out::resync().sse();
                        return Some((event, (live, sent_up_to, state, credential, true)));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(SSE::new(start.chain(frames))
        .keep_alive(HEARTBEAT)
        .into_response())
}
