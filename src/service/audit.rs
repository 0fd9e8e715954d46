//! Staff actions are recorded in the audit log in the same transaction as the change itself,
//! and read back by admins a page at a time with filters.

use jiff::Timestamp;

use super::access::{Access, Actor};
use super::error::ServiceError;
use crate::domain::account::User;
use crate::domain::audit::{AuditEntry, AuditFilter};
use crate::domain::ids::{UserId, uuid_v7};
use crate::domain::permission::Permission;
use crate::store::audit::{AuditCursor, AuditPage};
use crate::store::{Rx, Store, StoreError, Tx};

use super::member_data::MemberData;

pub fn entry(
    actor: &Actor,
    at: Timestamp,
    action: &str,
    target: &str,
    reason: &str,
    details: &str,
) -> AuditEntry {
    AuditEntry {
        at,
        actor: actor.id,
        actor_name: actor.username.clone(),
        action: action.to_string(),
        target: target.to_string(),
        reason: reason.to_string(),
        details: details.to_string(),
    }
}

/// Appends `entry` inside the write that makes the change it records.
pub fn record(tx: &Tx<'_>, entry: &AuditEntry) -> Result<(), StoreError> {
    let id = uuid_v7(entry.at.as_millisecond(), rand::random()).as_u128();
    tx.audit().append(id, entry)
}

/// What to look for in the log; every part is optional.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// A username or account id.
    pub actor: Option<String>,
    /// An action, or a family ending in a dot (`user.`).
    pub action: Option<String>,
    /// Text the target contains.
    pub target: Option<String>,
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// The opaque form of a page position: base64url of the time and entry id.
pub fn encode_cursor((at, id): AuditCursor) -> String {
    use base64::Engine;
    let mut bytes = at.to_be_bytes().to_vec();
    bytes.extend(id.to_be_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_cursor(cursor: &str) -> Option<AuditCursor> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()?;
    let (at, id) = bytes.split_at_checked(8)?;
    Some((
        i64::from_be_bytes(at.try_into().ok()?),
        u128::from_be_bytes(id.try_into().ok()?),
    ))
}

/// Reading the audit log (admins).
#[derive(Clone)]
pub struct AuditLog {
    store: Store,
    access: Access,
}

impl AuditLog {
    pub fn new(store: Store, access: Access) -> Self {
        Self { store, access }
    }

    /// A page of entries matching `query`, newest first, from `cursor` (an earlier page's
    /// `next`) or the newest.
    pub async fn page(
        &self,
        actor: &Actor,
        query: AuditQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<AuditPage, ServiceError> {
        self.access.require(actor, Permission::ManageUsers)?;
        let before = match cursor {
            Some(c) => Some(decode_cursor(c).ok_or_else(|| {
                ServiceError::invalid("cursor", "Use the cursor of an earlier page, as given.")
            })?),
            None => None,
        };
        Ok(self
            .store
            .read(move |rx| {
                let mut filter = AuditFilter {
                    action: query.action,
                    target: query.target,
                    from: query.from,
                    until: query.until,
                    ..AuditFilter::default()
                };
                match query.actor.as_deref().map(str::trim) {
                    None | Some("") => {}
                    Some(who) => match who.parse::<UserId>() {
                        Ok(id) => filter.actor = Some(id),
                        Err(_) => match rx.users().by_login(who)? {
                            Some(user) => filter.actor = Some(user.id),
                            // Someone since deleted: entries keep the name they acted under.
                            None => filter.actor_name = Some(who.to_string()),
                        },
                    },
                }
                rx.audit().page(&filter, before, limit)
            })
            .await?)
    }
}

/// The staff actions a member took, in their export; in account deletion the entries keep
/// the name they acted under but lose the account id.
pub fn member_data() -> Vec<Box<dyn MemberData>> {
    vec![Box::new(StaffActionsPart)]
}

struct StaffActionsPart;

impl MemberData for StaffActionsPart {
    fn name(&self) -> &'static str {
        "staff_actions"
    }

    fn export(&self, rx: &Rx, u: &User) -> Result<serde_json::Value, StoreError> {
        let filter = AuditFilter {
            actor: Some(u.id),
            ..AuditFilter::default()
        };
        let mut out = Vec::new();
        let mut before = None;
        loop {
            let page = rx.audit().page(&filter, before, 500)?;
            out.extend(page.entries.into_iter().map(|e| {
                serde_json::json!({"at": e.at.to_string(), "action": e.action, "target": e.target, "reason": e.reason, "details": e.details})
            }));
            match page.next {
                Some(next) => before = Some(next),
                None => break,
            }
        }
        Ok(out.into())
    }

    fn erase(&self, tx: &Tx<'_>, user: &User) -> Result<(), StoreError> {
        tx.audit().forget_actor(user.id)
    }
}
