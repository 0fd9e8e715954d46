//! Who is behind a session cookie or an API token, kept in memory, so a signed-in request
//! reads nothing from the database to know its member.
//!
//! The store stays the truth: an entry is a copy of the session (or token) and its account,
//! checked for expiry and standing at every use, and dropped by a bus listener as soon as the
//! member's sessions, tokens, account or second factor change. The listener runs on the
//! writer thread before the change's write returns, so a revoked session is refused by the
//! very next request. A read that raced with a change is not cached: every change bumps an
//! epoch, and a copy read before the bump is not kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::domain::account::User;
use crate::domain::api_token::ApiToken;
use crate::domain::ids::UserId;
use crate::domain::session::Session;
use crate::events::{Event, EventBus};
use crate::store::instance::TokenHash;

/// Most entries kept; past it the cache starts again empty (it refills from the store).
const MAX_ENTRIES: usize = 100_000;

/// What a token hash stands for.
#[derive(Debug, Clone)]
pub enum Credential {
    Session(Session, User),
    /// An API token, its account, and whether that account has a second factor.
    Token(ApiToken, User, bool),
}

impl Credential {
    fn user(&self) -> UserId {
        match self {
            Credential::Session(_, u) | Credential::Token(_, u, _) => u.id,
        }
    }
}

#[derive(Default)]
struct Entries {
    by_hash: HashMap<TokenHash, Credential>,
    by_user: HashMap<UserId, Vec<TokenHash>>,
    /// Bumped by every change that drops entries.
    epoch: u64,
}

#[derive(Clone, Default)]
pub struct SignInCache {
    inner: Arc<Mutex<Entries>>,
}

impl SignInCache {
    /// A cache that follows `events`.
    pub fn following(events: &EventBus) -> Self {
        let cache = Self::default();
        let follower = cache.clone();
        events.listen(move |event| match event {
            Event::SessionsEnded { user }
            | Event::TokensChanged { user }
            | Event::AccountChanged { user }
            | Event::AccountDeleted { user } => follower.forget_user(*user),
            _ => {}
        });
        cache
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The epoch to pass to [`SignInCache::keep`] for a read that starts now.
    pub fn epoch(&self) -> u64 {
        self.entries().epoch
    }

    pub fn get(&self, hash: &TokenHash) -> Option<Credential> {
        self.entries().by_hash.get(hash).cloned()
    }

    /// Keeps what a read that started at `epoch` found, unless something changed since.
    pub fn keep(&self, hash: TokenHash, credential: Credential, epoch: u64) {
        let mut entries = self.entries();
        if entries.epoch != epoch {
            return;
        }
        if entries.by_hash.len() >= MAX_ENTRIES {
            entries.by_hash.clear();
            entries.by_user.clear();
        }
        entries
            .by_user
            .entry(credential.user())
            .or_default()
            .push(hash);
        entries.by_hash.insert(hash, credential);
    }

    /// Updates a cached session's last-seen time after the store recorded it.
    pub fn touched(&self, hash: &TokenHash, at: jiff::Timestamp) {
        if let Some(Credential::Session(session, _)) = self.entries().by_hash.get_mut(hash) {
            session.last_seen_at = at;
        }
    }

    fn forget_user(&self, user: UserId) {
        let mut entries = self.entries();
        entries.epoch += 1;
        if let Some(hashes) = entries.by_user.remove(&user) {
            for hash in hashes {
                entries.by_hash.remove(&hash);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries().by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::account::AccountStatus;
    use crate::domain::role::Role;

    fn credential(user: UserId) -> Credential {
        let at = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let session = Session {
            user_id: user,
            created_at: at,
            last_seen_at: at,
            csrf_token: String::new(),
            user_agent: String::new(),
            ip: String::new(),
            second_factor: false,
        };
        let account = User {
            id: user,
            username: "ann".into(),
            email: "ann@example.test".into(),
            password_hash: String::new(),
            role: Role::Member,
            created_at: at,
            status: AccountStatus::Active,
            email_verified: true,
            supporter: false,
            deletion_due: None,
        };
        Credential::Session(session, account)
    }

    #[test]
    fn changes_drop_entries_and_stale_reads_are_not_kept() {
        let bus = EventBus::new();
        let cache = SignInCache::following(&bus);
        let (ann, bob) = (UserId::from_u128(1), UserId::from_u128(2));
        let (h1, h2) = ([1u8; 32], [2u8; 32]);

        // A read that started before a change does not keep its (possibly stale) copy.
        let before = cache.epoch();
        bus.publish(vec![Event::SessionsEnded { user: ann }]);
        cache.keep(h1, credential(ann), before);
        assert!(cache.get(&h1).is_none());

        cache.keep(h1, credential(ann), cache.epoch());
        cache.keep(h2, credential(bob), cache.epoch());
        assert_eq!(cache.len(), 2);
        bus.publish(vec![Event::AccountChanged { user: ann }]);
        assert!(cache.get(&h1).is_none(), "ann's copy goes");
        assert!(cache.get(&h2).is_some(), "bob's stays");
        bus.publish(vec![Event::TokensChanged { user: bob }]);
        assert!(cache.is_empty());
    }
}
