//! Conversations and their messages: one conversation per pair, each member's inbox in order
//! of activity, messages in order within a conversation, and per member how far they read.

use redb::{ReadableTable, TableDefinition};

use super::tables::CatalogTable;
use super::{Rows, Rx, Snapshot, StoreError, Tx};
use crate::domain::ids::Between;
use crate::domain::ids::{ConversationId, MessageId, UserId};
use crate::domain::message::{Conversation, Message, ReadState};

/// conversation id → `Conversation`.
const CONVERSATIONS: Rows<u128, Conversation> = Rows::new("conversations");
/// (lower member id, higher member id) → conversation id.
const BY_PAIR: TableDefinition<(u128, u128), u128> = TableDefinition::new("conversations_by_pair");
/// (member, last activity ms, conversation id) → (): a member's inbox, oldest activity first.
const INBOX: TableDefinition<(u128, i64, u128), ()> = TableDefinition::new("conversations_inbox");
/// (conversation id, message id) → `Message`.
const MESSAGES: Rows<(u128, u128), Message> = Rows::new("messages");
/// message id → conversation id: a message found by its id alone.
const MESSAGE_HOME: TableDefinition<u128, u128> = TableDefinition::new("messages_home");
/// (member, conversation id) → (last message read, unread count).
const READS: TableDefinition<(u128, u128), (u128, u32)> = TableDefinition::new("messages_read");

pub(super) const TABLES: &[&dyn CatalogTable] = &[
    &CONVERSATIONS,
    &BY_PAIR,
    &INBOX,
    &MESSAGES,
    &MESSAGE_HOME,
    &READS,
];

pub struct Messages<'s, S>(&'s S);

impl Rx {
    pub fn messages(&self) -> Messages<'_, Self> {
        Messages(self)
    }
}

impl<'t> Tx<'t> {
    pub fn messages(&self) -> Messages<'_, Self> {
        Messages(self)
    }
}

impl<S: Snapshot> Messages<'_, S> {
    pub fn conversation(&self, id: ConversationId) -> Result<Option<Conversation>, StoreError> {
        CONVERSATIONS.get(self.0, id.as_u128())
    }

    pub fn between(&self, x: UserId, y: UserId) -> Result<Option<Conversation>, StoreError> {
        let (a, b) = crate::domain::ids::ordered_pair(x, y);
        let id = self
            .0
            .table(BY_PAIR)?
            .get((a.as_u128(), b.as_u128()))?
            .map(|id| id.value());
        match id {
            Some(id) => self.conversation(ConversationId::from_u128(id)),
            None => Ok(None),
        }
    }

    /// A member's conversations, most recently active first, before the `(activity ms, id)`
    /// cursor, at most `limit`.
    pub fn inbox(
        &self,
        member: UserId,
        before: Option<(i64, ConversationId)>,
        limit: usize,
    ) -> Result<Vec<Conversation>, StoreError> {
        let m = member.as_u128();
        let upper = match before {
            Some((ms, id)) => (m, ms, id.as_u128()),
            None => (m, i64::MAX, u128::MAX),
        };
        let conversations = CONVERSATIONS.open(self.0)?;
        let mut out = Vec::new();
        for entry in self
            .0
            .table(INBOX)?
            .range((m, i64::MIN, 0)..upper)?
            .rev()
            .take(limit)
        {
            out.extend(CONVERSATIONS.get_in(&conversations, entry?.0.value().2)?);
        }
        Ok(out)
    }

    /// Every conversation of a member (for export and erasure).
    pub fn all_of(&self, member: UserId) -> Result<Vec<ConversationId>, StoreError> {
        let m = member.as_u128();
        self.0
            .table(INBOX)?
            .range((m, i64::MIN, 0)..=(m, i64::MAX, u128::MAX))?
            .map(|e| e.map(|(k, _)| ConversationId::from_u128(k.value().2)))
            .collect::<Result<_, _>>()
            .map_err(StoreError::from)
    }

    /// Every message's id (for a search rebuild).
    pub fn all_ids(&self) -> Result<Vec<MessageId>, StoreError> {
        self.0
            .table(MESSAGE_HOME)?
            .iter()?
            .map(|e| e.map(|(k, _)| MessageId::from_u128(k.value())))
            .collect::<Result<_, _>>()
            .map_err(StoreError::from)
    }

    pub fn message(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        let home = self
            .0
            .table(MESSAGE_HOME)?
            .get(id.as_u128())?
            .map(|c| c.value());
        match home {
            Some(c) => MESSAGES.get(self.0, (c, id.as_u128())),
            None => Ok(None),
        }
    }

    /// Messages of a conversation between the two ids (exclusive), `limit` of them: the
    /// newest first when `newest_first`, else the oldest first.
    pub fn page(
        &self,
        conversation: ConversationId,
        after: Option<MessageId>,
        before: Option<MessageId>,
        newest_first: bool,
        limit: usize,
    ) -> Result<Vec<Message>, StoreError> {
        let c = conversation.as_u128();
        let low = after.map_or(0, |m| m.as_u128().saturating_add(1));
        let high = before.map_or(u128::MAX, |m| m.as_u128().saturating_sub(1));
        if low > high {
            return Ok(Vec::new());
        }
        let table = MESSAGES.open(self.0)?;
        let range = table.range((c, low)..=(c, high))?;
        let rows: Box<dyn Iterator<Item = _>> = if newest_first {
            Box::new(range.rev())
        } else {
            Box::new(range)
        };
        let mut out = Vec::new();
        for row in rows.take(limit) {
            let (_, value) = row?;
            out.push(super::codec::decode(value.value())?);
        }
        Ok(out)
    }

    /// The member's conversations with something unread, and how much.
    pub fn unread_of(&self, member: UserId) -> Result<Vec<(ConversationId, u32)>, StoreError> {
        let m = member.as_u128();
        let mut out = Vec::new();
        for row in self.0.table(READS)?.range((m, 0)..=(m, u128::MAX))? {
            let (key, value) = row?;
            let unread = value.value().1;
            if unread > 0 {
                out.push((ConversationId::from_u128(key.value().1), unread));
            }
        }
        Ok(out)
    }

    pub fn read_state(
        &self,
        member: UserId,
        conversation: ConversationId,
    ) -> Result<ReadState, StoreError> {
        Ok(self
            .0
            .table(READS)?
            .get((member.as_u128(), conversation.as_u128()))?
            .map(|v| {
                let (last, unread) = v.value();
                ReadState {
                    last_read: (last != 0).then(|| MessageId::from_u128(last)),
                    unread,
                }
            })
            .unwrap_or_default())
    }
}

impl Messages<'_, Tx<'_>> {
    /// Stores a new conversation (with no messages yet) in both inboxes.
    pub fn start(&self, conversation: &Conversation) -> Result<(), StoreError> {
        let id = conversation.id.as_u128();
        self.0
            .table(BY_PAIR)?
            .insert((conversation.a.as_u128(), conversation.b.as_u128()), id)?;
        let at = conversation.last_activity.as_millisecond();
        for member in [conversation.a, conversation.b] {
            self.0
                .table(INBOX)?
                .insert((member.as_u128(), at, id), ())?;
        }
        CONVERSATIONS.insert(self.0, id, conversation)
    }

    /// Stores a new message: the conversation moves up both inboxes, and the other member
    /// has one more unread.
    pub fn add(&self, conversation: &Conversation, message: &Message) -> Result<(), StoreError> {
        let (c, m) = (conversation.id.as_u128(), message.id.as_u128());
        MESSAGES.insert(self.0, (c, m), message)?;
        self.0.table(MESSAGE_HOME)?.insert(m, c)?;
        let mut moved = conversation.clone();
        moved.last_message = Some(message.id);
        moved.last_activity = message.sent_at;
        self.touch(conversation, &moved)?;
        let other = conversation.other(message.author);
        let state = self.read_state(other, conversation.id)?;
        self.put_read(other, conversation.id, state.last_read, state.unread + 1)?;
        let author = self.read_state(message.author, conversation.id)?;
        self.put_read(
            message.author,
            conversation.id,
            Some(message.id),
            author.unread,
        )
    }

    /// Replaces a message (an edit or a deletion).
    pub fn replace(&self, message: &Message) -> Result<(), StoreError> {
        MESSAGES.insert(
            self.0,
            (message.conversation.as_u128(), message.id.as_u128()),
            message,
        )
    }

    /// The member has read up to `upto`: nothing is unread.
    pub fn mark_read(
        &self,
        member: UserId,
        conversation: ConversationId,
        upto: MessageId,
    ) -> Result<(), StoreError> {
        let state = self.read_state(member, conversation)?;
        let last = state.last_read.map_or(upto, |l| l.max(upto));
        self.put_read(member, conversation, Some(last), 0)
    }

    fn put_read(
        &self,
        member: UserId,
        conversation: ConversationId,
        last_read: Option<MessageId>,
        unread: u32,
    ) -> Result<(), StoreError> {
        let last = last_read.map_or(0, MessageId::as_u128);
        self.0
            .table(READS)?
            .insert((member.as_u128(), conversation.as_u128()), (last, unread))?;
        Ok(())
    }

    /// Moves a conversation in both inboxes to its new activity time.
    fn touch(&self, old: &Conversation, new: &Conversation) -> Result<(), StoreError> {
        let id = old.id.as_u128();
        let (before, after) = (
            old.last_activity.as_millisecond(),
            new.last_activity.as_millisecond(),
        );
        for member in [old.a, old.b] {
            let mut inbox = self.0.table(INBOX)?;
            inbox.remove((member.as_u128(), before, id))?;
            inbox.insert((member.as_u128(), after, id), ())?;
        }
        CONVERSATIONS.insert(self.0, id, new)
    }

    /// A conversation with all its messages, for both members (account deletion: the
    /// conversation goes with either of its two).
    pub fn delete_conversation(&self, conversation: &Conversation) -> Result<(), StoreError> {
        let c = conversation.id.as_u128();
        let ids: Vec<u128> = MESSAGES
            .open(self.0)?
            .range((c, 0)..=(c, u128::MAX))?
            .map(|e| e.map(|(k, _)| k.value().1))
            .collect::<Result<_, _>>()?;
        for m in ids {
            MESSAGES.remove(self.0, (c, m))?;
            self.0.table(MESSAGE_HOME)?.remove(m)?;
        }
        let at = conversation.last_activity.as_millisecond();
        for member in [conversation.a, conversation.b] {
            self.0.table(INBOX)?.remove((member.as_u128(), at, c))?;
            self.0.table(READS)?.remove((member.as_u128(), c))?;
        }
        self.0
            .table(BY_PAIR)?
            .remove((conversation.a.as_u128(), conversation.b.as_u128()))?;
        CONVERSATIONS.remove(self.0, c)?;
        Ok(())
    }

    /// Every conversation of a member, with its messages (account deletion).
    pub fn erase_member(&self, member: UserId) -> Result<(), StoreError> {
        for id in self.all_of(member)? {
            if let Some(c) = self.conversation(id)? {
                self.delete_conversation(&c)?;
            }
        }
        Ok(())
    }
}
