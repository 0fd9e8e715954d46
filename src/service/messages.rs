//! Messages: members who may write to each other (matched, or any members when the community
//! says so) keep one conversation per pair. A message is acknowledged once it is durable (the
//! group-commit writer answers after the commit). Blocks and unmatches win: after either the
//! conversation is read-only, and gone for the member who blocked.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::access::{Access, Actor};
use super::error::{ErrorCode, ServiceError};
use super::limits::{Limit, LimitKind, RateLimiter};
use super::member_data::MemberData;
use super::settings::Settings;
use crate::clock::SharedClock;
use crate::domain::account::User;
use crate::domain::ids::Between;
use crate::domain::ids::{ConversationId, MediaId, MessageId, UserId, uuid_v7};
use crate::domain::message::{Conversation, Message, ReadState, check_text};
use crate::domain::permission::Permission;
use crate::domain::settings::MessageScope;
use crate::events::Event;
use crate::store::{Rx, Store, StoreError, Tx};

/// Messages a member may send in any 24 hours: far above any conversation, and a bound on
/// what one member can make the server keep.
const MESSAGES_PER_DAY: u32 = 2000;

#[derive(Clone)]
pub struct Messages {
    store: Store,
    access: Access,
    settings: Settings,
    clock: SharedClock,
    limiter: Arc<RateLimiter>,
}

/// A conversation as one of its members sees it.
#[derive(Debug, Clone)]
pub struct ConversationView {
    pub conversation: Conversation,
    pub other: UserId,
    pub last_message: Option<Message>,
    pub mine: ReadState,
    /// How far the other member read ("seen").
    pub theirs: ReadState,
    /// `None` when the member may write; otherwise why not.
    pub closed: Option<&'static str>,
}

/// Whether `me` may write in a conversation with `other`: `Err(None)` when the conversation
/// is gone for `me` (they blocked `other`), `Err(Some(why))` when it is read-only.
fn may_write(
    rx: &impl Reads,
    me: UserId,
    other: UserId,
    scope: MessageScope,
    now: Timestamp,
) -> Result<Result<(), Option<&'static str>>, StoreError> {
    if rx.has_blocked(me, other)? {
        return Ok(Err(None));
    }
    if rx.has_blocked(other, me)? {
        return Ok(Err(Some("This member is not available any more.")));
    }
    let available = rx
        .user(other)?
        .is_some_and(|u| u.status.in_good_standing(now));
    if !available {
        return Ok(Err(Some("This member is not available any more.")));
    }
    if scope == MessageScope::Matches && !rx.matched(me, other)? {
        return Ok(Err(Some(
            "You are not matched any more, so this conversation is closed.",
        )));
    }
    Ok(Ok(()))
}

/// The reads [`may_write`] needs, from either kind of transaction.
trait Reads {
    fn has_blocked(&self, blocker: UserId, blocked: UserId) -> Result<bool, StoreError>;
    fn user(&self, id: UserId) -> Result<Option<User>, StoreError>;
    fn matched(&self, x: UserId, y: UserId) -> Result<bool, StoreError>;
}

macro_rules! reads_for {
    ($t:ty) => {
        impl Reads for $t {
            fn has_blocked(&self, blocker: UserId, blocked: UserId) -> Result<bool, StoreError> {
                self.blocks().has_blocked(blocker, blocked)
            }
            fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
                self.users().get(id)
            }
            fn matched(&self, x: UserId, y: UserId) -> Result<bool, StoreError> {
                Ok(self.matches().between(x, y)?.is_some())
            }
        }
    };
}
reads_for!(Rx);
reads_for!(Tx<'_>);

impl Messages {
    pub fn new(
        store: Store,
        access: Access,
        settings: Settings,
        clock: SharedClock,
        limiter: Arc<RateLimiter>,
    ) -> Self {
        Self {
            store,
            access,
            settings,
            clock,
            limiter,
        }
    }

    fn scope(&self) -> MessageScope {
        self.settings.current().messages.scope
    }

    /// The conversation with `other`, started if there is none yet (which counts against the
    /// member's daily number of new conversations).
    pub async fn open(
        &self,
        actor: &Actor,
        verified: bool,
        other: UserId,
    ) -> Result<Conversation, ServiceError> {
        self.access.require(actor, Permission::Create)?;
        let me = actor.id;
        if me == other {
            return Err(ServiceError::invalid(
                "memberId",
                "You cannot write to yourself.",
            ));
        }
        let now = self.clock.now();
        let scope = self.scope();
        let existing = self.store.lookup(|rx| {
            if rx.users().get(other)?.is_none() {
                return Ok::<_, StoreError>(Err(ServiceError::not_found()));
            }
            Ok(Ok(rx.messages().between(me, other)?))
        })??;
        if let Some(c) = existing {
            return Ok(c);
        }
        let allowed = self
            .store
            .lookup(|rx| may_write(rx, me, other, scope, now))?;
        match allowed {
            Ok(()) => {}
            Err(None) => return Err(ServiceError::not_found()),
            Err(Some(_)) if scope == MessageScope::Matches => {
                return Err(ServiceError::forbidden(
                    "In this community members write only to their matches.",
                ));
            }
            Err(Some(why)) => return Err(ServiceError::forbidden(why)),
        }
        let per_day = self
            .settings
            .current()
            .messages
            .new_conversations_for(verified);
        self.limiter
            .take(
                LimitKind::Conversation,
                &me.to_string(),
                Limit::per_window(per_day, 24 * 3600),
            )
            .map_err(ServiceError::RateLimited)?;
        let (a, b) = crate::domain::ids::ordered_pair(me, other);
        let fresh = Conversation {
            id: ConversationId(uuid_v7(now.as_millisecond(), rand::random())),
            a,
            b,
            started_by: me,
            created_at: now,
            last_message: None,
            last_activity: now,
        };
        let conversation = self
            .store
            .write(move |tx| {
                // Two starts at once find one conversation: the second takes the first's.
                if let Some(c) = tx.messages().between(me, other)? {
                    return Ok(c);
                }
                tx.messages().start(&fresh)?;
                Ok(fresh.clone())
            })
            .await?;
        Ok(conversation)
    }

    /// The member's conversations, most recently active first.
    pub fn inbox(
        &self,
        actor: &Actor,
        before: Option<(i64, ConversationId)>,
        limit: usize,
    ) -> Result<Vec<ConversationView>, ServiceError> {
        self.access.require(actor, Permission::View)?;
        let me = actor.id;
        let now = self.clock.now();
        let scope = self.scope();
        let limit = limit.min(crate::store::MAX_PAGE_ROWS);
        Ok(self.store.lookup(|rx| {
            let mut out = Vec::new();
            let mut cursor = before;
            // Conversations gone for the member (they blocked the other) are skipped, so a
            // page may need more than one read.
            loop {
                let page = rx.messages().inbox(me, cursor, limit)?;
                let full = page.len() == limit;
                for c in page {
                    cursor = Some((c.last_activity.as_millisecond(), c.id));
                    if let Some(view) = view_of(rx, me, c, scope, now)? {
                        out.push(view);
                    }
                }
                if out.len() >= limit || !full {
                    break;
                }
            }
            out.truncate(limit);
            Ok::<_, StoreError>(out)
        })?)
    }

    /// One conversation of the member's.
    pub fn conversation(
        &self,
        actor: &Actor,
        id: ConversationId,
    ) -> Result<ConversationView, ServiceError> {
        self.access.require(actor, Permission::View)?;
        let me = actor.id;
        let now = self.clock.now();
        let scope = self.scope();
        let found = self.store.lookup(|rx| {
            match rx.messages().conversation(id)?.filter(|c| c.involves(me)) {
                Some(c) => view_of(rx, me, c, scope, now),
                None => Ok(None),
            }
        })?;
        found.ok_or_else(ServiceError::not_found)
    }

    /// Messages of a conversation: the newest `limit` before `before` (or the newest of all),
    /// or, given only `after`, the oldest `limit` after it; either way oldest first.
    pub fn page(
        &self,
        actor: &Actor,
        id: ConversationId,
        after: Option<MessageId>,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>, ServiceError> {
        self.conversation(actor, id)?;
        let limit = limit.min(crate::store::MAX_PAGE_ROWS);
        let newest_first = after.is_none() || before.is_some();
        let mut page = self
            .store
            .lookup(|rx| rx.messages().page(id, after, before, newest_first, limit))?;
        if newest_first {
            page.reverse();
        }
        Ok(page)
    }

    /// Sends a message; it is stored and durable when this returns.
    pub async fn send(
        &self,
        actor: &Actor,
        id: ConversationId,
        text: &str,
        media: Option<MediaId>,
    ) -> Result<Message, ServiceError> {
        self.access.require(actor, Permission::Create)?;
        let text =
            check_text(text, media.is_some()).map_err(|why| ServiceError::invalid("text", why))?;
        let me = actor.id;
        self.limiter
            .take(
                LimitKind::Message,
                &me.to_string(),
                Limit::per_window(MESSAGES_PER_DAY, 24 * 3600),
            )
            .map_err(ServiceError::RateLimited)?;
        let now = self.clock.now();
        let scope = self.scope();
        let random: [u8; 10] = rand::random();
        self.store
            .write(move |tx| {
                let Some(conversation) = tx.messages().conversation(id)?.filter(|c| c.involves(me))
                else {
                    return Ok(Err(ServiceError::not_found()));
                };
                let other = conversation.other(me);
                match may_write(tx, me, other, scope, now)? {
                    Ok(()) => {}
                    Err(None) => return Ok(Err(ServiceError::not_found())),
                    Err(Some(why)) => return Ok(Err(ServiceError::forbidden(why))),
                }
                if let Some(m) = media {
                    let usable = tx.media().get(m)?.map(|found| found.usable_by(me));
                    match usable {
                        Some(Ok(())) => {}
                        Some(Err(why)) => {
                            return Ok(Err(ServiceError::invalid(
                                "mediaId",
                                format!("That photo {why}: choose another from your library."),
                            )));
                        }
                        None => {
                            return Ok(Err(ServiceError::invalid(
                                "mediaId",
                                "Choose a photo from your library.",
                            )));
                        }
                    }
                }
                // Later than every message before it, even within one millisecond.
                let mut message_id = MessageId(uuid_v7(now.as_millisecond(), random));
                if let Some(last) = conversation.last_message
                    && message_id <= last
                {
                    message_id = MessageId::from_u128(last.as_u128() + 1);
                }
                let message = Message {
                    id: message_id,
                    conversation: id,
                    author: me,
                    text: text.clone(),
                    media,
                    sent_at: now,
                    edited_at: None,
                    deleted: false,
                };
                tx.messages().add(&conversation, &message)?;
                if let Some(m) = tx.matches().between(me, other)? {
                    tx.matches().touch(&m, now)?;
                }
                for member in [me, other] {
                    tx.emit(Event::MessageNew {
                        conversation: id,
                        message: message.id,
                        member,
                        from: me,
                    });
                }
                Ok(Ok(message))
            })
            .await?
    }

    /// The member read the conversation up to `upto` (its newest message when `None`);
    /// the conversation as they see it now.
    pub async fn mark_read(
        &self,
        actor: &Actor,
        id: ConversationId,
        upto: Option<MessageId>,
    ) -> Result<ConversationView, ServiceError> {
        self.access.require(actor, Permission::View)?;
        let mut view = self.conversation(actor, id)?;
        if let Some(named) = upto {
            let ours = self
                .store
                .lookup(|rx| rx.messages().message(named))?
                .is_some_and(|m| m.conversation == id);
            if !ours {
                return Err(ServiceError::invalid(
                    "upTo",
                    "Name a message of this conversation.",
                ));
            }
        }
        let Some(upto) = upto.or(view.conversation.last_message) else {
            return Ok(view);
        };
        if view.mine.unread == 0 && view.mine.last_read.is_some_and(|l| l >= upto) {
            return Ok(view);
        }
        let me = actor.id;
        let other = view.other;
        self.store
            .write(move |tx| {
                tx.messages().mark_read(me, id, upto)?;
                for member in [me, other] {
                    tx.emit(Event::MessageRead {
                        conversation: id,
                        upto,
                        member,
                        reader: me,
                    });
                }
                Ok(())
            })
            .await?;
        view.mine = ReadState {
            last_read: Some(view.mine.last_read.map_or(upto, |l| l.max(upto))),
            unread: 0,
        };
        Ok(view)
    }

    /// Edits one of the member's messages, within fifteen minutes of sending it.
    pub async fn edit(
        &self,
        actor: &Actor,
        id: MessageId,
        text: &str,
    ) -> Result<Message, ServiceError> {
        self.access.require(actor, Permission::EditOwn)?;
        let me = actor.id;
        let now = self.clock.now();
        let scope = self.scope();
        let text = self.store.lookup(|rx| {
            let has_media = rx
                .messages()
                .message(id)?
                .is_some_and(|m| m.media.is_some());
            Ok::<_, StoreError>(check_text(text, has_media))
        })?;
        let text = text.map_err(|why| ServiceError::invalid("text", why))?;
        self.change(me, id, scope, now, move |m| {
            if !m.editable_at(now) {
                return Err(ServiceError::conflict(
                    ErrorCode::EditWindowClosed,
                    "A message can be edited only in the 15 minutes after it was sent.",
                ));
            }
            m.text.clone_from(&text);
            m.edited_at = Some(now);
            Ok(())
        })
        .await
    }

    /// Deletes one of the member's messages: both see "message deleted".
    pub async fn delete(&self, actor: &Actor, id: MessageId) -> Result<(), ServiceError> {
        self.access.require(actor, Permission::EditOwn)?;
        let now = self.clock.now();
        let scope = self.scope();
        self.change(actor.id, id, scope, now, |m| {
            m.deleted = true;
            m.text.clear();
            m.media = None;
            m.edited_at = None;
            Ok(())
        })
        .await
        .map(drop)
    }

    async fn change(
        &self,
        me: UserId,
        id: MessageId,
        scope: MessageScope,
        now: Timestamp,
        apply: impl Fn(&mut Message) -> Result<(), ServiceError> + Send + 'static,
    ) -> Result<Message, ServiceError> {
        self.store
            .write(move |tx| {
                let Some(mut message) = tx.messages().message(id)?.filter(|m| m.author == me)
                else {
                    return Ok(Err(ServiceError::not_found()));
                };
                if message.deleted {
                    return Ok(Err(ServiceError::not_found()));
                }
                let Some(conversation) = tx.messages().conversation(message.conversation)? else {
                    return Ok(Err(ServiceError::not_found()));
                };
                let other = conversation.other(me);
                match may_write(tx, me, other, scope, now)? {
                    Ok(()) => {}
                    Err(None) => return Ok(Err(ServiceError::not_found())),
                    Err(Some(why)) => return Ok(Err(ServiceError::forbidden(why))),
                }
                if let Err(e) = apply(&mut message) {
                    return Ok(Err(e));
                }
                tx.messages().replace(&message)?;
                for member in [me, other] {
                    tx.emit(Event::MessageChanged {
                        conversation: conversation.id,
                        message: id,
                        member,
                        deleted: message.deleted,
                    });
                }
                Ok(Ok(message))
            })
            .await?
    }

    /// Unread messages over all the member's conversations (those gone for them left out).
    pub fn unread_total(&self, actor: &Actor) -> Result<u32, ServiceError> {
        self.access.require(actor, Permission::View)?;
        let me = actor.id;
        Ok(self.store.lookup(|rx| {
            // Every page shows this: one scan of the member's read states, and the
            // conversation looked at only where something is unread.
            let mut total = 0u32;
            for (id, unread) in rx.messages().unread_of(me)? {
                let Some(c) = rx.messages().conversation(id)? else {
                    continue;
                };
                if rx.blocks().has_blocked(me, c.other(me))? {
                    continue;
                }
                total = total.saturating_add(unread);
            }
            Ok::<_, StoreError>(total)
        })?)
    }
}

/// The conversation as `me` sees it; `None` when it is gone for them.
fn view_of(
    rx: &Rx,
    me: UserId,
    conversation: Conversation,
    scope: MessageScope,
    now: Timestamp,
) -> Result<Option<ConversationView>, StoreError> {
    let other = conversation.other(me);
    let closed = match may_write(rx, me, other, scope, now)? {
        Ok(()) => None,
        Err(None) => return Ok(None),
        Err(Some(why)) => Some(why),
    };
    let last_message = match conversation.last_message {
        Some(id) => rx.messages().message(id)?,
        None => None,
    };
    Ok(Some(ConversationView {
        mine: rx.messages().read_state(me, conversation.id)?,
        theirs: rx.messages().read_state(other, conversation.id)?,
        other,
        last_message,
        closed,
        conversation,
    }))
}

/// Conversations in a member's data.
/// Messages in search: each found only by the two members of its conversation (`member:`
/// access terms), by its text; deleted ones are taken out.
pub struct MessageDocuments;

impl super::search::SearchKind for MessageDocuments {
    fn name(&self) -> &'static str {
        "message"
    }

    fn changed_by(&self, _tx: &Tx<'_>, event: &Event) -> Result<Vec<String>, StoreError> {
        Ok(match event {
            // Published for each member: one outbox entry, from the writer's copy.
            Event::MessageNew {
                message,
                member,
                from,
                ..
            } if member == from => vec![message.to_string()],
            Event::MessageChanged { message, .. } => vec![message.to_string()],
            _ => Vec::new(),
        })
    }

    fn document(
        &self,
        rx: &Rx,
        id: &str,
        _now: Timestamp,
    ) -> Result<Option<crate::domain::search::Document>, StoreError> {
        let Ok(id) = id.parse::<MessageId>() else {
            return Ok(None);
        };
        let Some(message) = rx.messages().message(id)?.filter(|m| !m.deleted) else {
            return Ok(None);
        };
        if message.text.is_empty() {
            return Ok(None);
        }
        let Some(conversation) = rx.messages().conversation(message.conversation)? else {
            return Ok(None);
        };
        let (a, b) = conversation.members();
        let author = rx
            .profiles()
            .get(message.author)?
            .map_or_else(|| "A member".to_string(), |p| p.display_name);
        Ok(Some(crate::domain::search::Document {
            key: format!("message:{id}"),
            kind: "message",
            link: format!("/messages/{}", conversation.id),
            title: author,
            body: message.text,
            access: vec![format!("member:{a}"), format!("member:{b}")],
            facets: Vec::new(),
            member: Some(message.author.to_string()),
            time_ms: message.sent_at.as_millisecond(),
            visible_from_ms: 0,
            visible_until_ms: i64::MAX,
        }))
    }

    fn all(&self, rx: &Rx) -> Result<Vec<String>, StoreError> {
        Ok(rx
            .messages()
            .all_ids()?
            .iter()
            .map(ToString::to_string)
            .collect())
    }
}

pub fn member_data() -> Vec<Box<dyn MemberData>> {
    vec![Box::new(MessagesPart)]
}

struct MessagesPart;

impl MemberData for MessagesPart {
    fn name(&self) -> &'static str {
        "messages"
    }

    /// The member's own messages, by conversation.
    fn export(&self, rx: &Rx, user: &User) -> Result<Value, StoreError> {
        let mut out = Vec::new();
        for id in rx.messages().all_of(user.id)? {
            let Some(c) = rx.messages().conversation(id)? else {
                continue;
            };
            let mut mine = Vec::new();
            let mut after = None;
            loop {
                let page = rx.messages().page(id, after, None, false, 500)?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                for m in page.iter().filter(|m| m.author == user.id && !m.deleted) {
                    mine.push(json!({"sent_at": m.sent_at.to_string(), "text": m.text, "media": m.media.map(|x| x.to_string())}));
                }
            }
            out.push(json!({"with": c.other(user.id).to_string(), "messages": mine}));
        }
        Ok(out.into())
    }

    fn erase(&self, tx: &Tx<'_>, user: &User) -> Result<(), StoreError> {
        tx.messages().erase_member(user.id)
    }
}
