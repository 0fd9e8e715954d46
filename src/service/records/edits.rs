//! Changing a record: its fields and assignees (saved only over the version they were based
//! on), its status (only by a move the workflow allows the actor's role), who watches it,
//! the trash and back. Every change writes its history lines in the same transaction.

use super::{Records, assignable, may_see};
use crate::domain::ids::{RecordId, UserId};
use crate::domain::permission::Permission;
use crate::domain::record::{Change, FieldChange, Record, RecordEdit, RecordNews};
use crate::domain::workflow::Refused;
use crate::events::Event;
use crate::service::access::Actor;
use crate::service::error::{ErrorCode, ServiceError};
use crate::store::{StoreError, Tx};

/// Why a change was not saved: a refusal, or a save based on an old version.
#[derive(Debug)]
pub enum EditError {
    Refused(ServiceError),
    /// Someone saved first: the record as it is now, and what changed since the version the
    /// edit was based on.
    Stale {
        current: Box<Record>,
        since: Vec<Change>,
    },
}

impl From<ServiceError> for EditError {
    fn from(e: ServiceError) -> Self {
        EditError::Refused(e)
    }
}

impl From<StoreError> for EditError {
    fn from(e: StoreError) -> Self {
        EditError::Refused(e.into())
    }
}

/// What the edit of a record changes; `None` leaves a part as it is.
#[derive(Debug, Clone, Default)]
pub struct Edit {
    pub fields: RecordEdit,
    pub assignees: Option<Vec<UserId>>,
}

/// A record `actor` may see and is not in the trash, read in the write (404 otherwise).
pub(super) fn visible(
    tx: &Tx<'_>,
    actor: &Actor,
    id: RecordId,
) -> Result<Result<Record, ServiceError>, StoreError> {
    Ok(tx
        .records()
        .get(id)?
        .filter(|r| r.deleted_at.is_none() && may_see(actor.id, actor.role, r))
        .ok_or_else(ServiceError::not_found))
}

/// `403` unless `actor` may edit `record`.
fn editable_by(actor: &Actor, record: &Record) -> Result<(), ServiceError> {
    if super::may_edit(actor, record) {
        Ok(())
    } else {
        Err(ServiceError::forbidden(
            "Members edit the records they own; moderators edit all.",
        ))
    }
}

/// The most changes a refused save is told of (the latest: enough to see what moved on).
const STALE_CHANGES_MAX: usize = 100;

/// Refuses a save based on another version than the stored one, with what changed since.
fn current_at(
    tx: &Tx<'_>,
    record: &Record,
    based_on: u64,
) -> Result<Result<(), EditError>, StoreError> {
    if record.version == based_on {
        return Ok(Ok(()));
    }
    let since = tx
        .records()
        .history_since(record.id, based_on, STALE_CHANGES_MAX)?;
    Ok(Err(EditError::Stale {
        current: Box::new(record.clone()),
        since,
    }))
}

/// Writes `next` (one version up) with `changes` as its history lines.
pub(super) fn save(
    tx: &Tx<'_>,
    by: UserId,
    now: jiff::Timestamp,
    mut next: Record,
    changes: Vec<FieldChange>,
) -> Result<Record, StoreError> {
    let version = next.version + 1;
    let lines: Vec<Change> = changes
        .into_iter()
        .map(|(field, old, new)| Change {
            version,
            at: now,
            by,
            field: field.into(),
            old,
            new,
        })
        .collect();
    let expected = next.version;
    next.updated_at = now;
    let saved = tx
        .records()
        .update(&next, expected, &lines)?
        .map_err(|_| StoreError::Corrupt("a record changed inside its own write".into()))?;
    tx.emit(Event::RecordChanged { record: saved.id });
    Ok(saved)
}

/// Who hears what of a change: the watchers of a status move, new assignees that the
/// record is theirs now.
fn news_of(before: &Record, after: &Record, changes: &[FieldChange]) -> Vec<(UserId, RecordNews)> {
    let mut out = Vec::new();
    for (field, old, new) in changes {
        if *field == "status" {
            for w in &after.watchers {
                out.push((
                    *w,
                    RecordNews::Moved {
                        from: old.clone(),
                        to: new.clone(),
                    },
                ));
            }
        }
    }
    for a in after
        .assignees
        .iter()
        .filter(|a| !before.assignees.contains(a))
    {
        out.push((*a, RecordNews::Assigned));
    }
    out
}

/// Usernames of `members`, as the history shows them.
fn names(tx: &Tx<'_>, members: &[UserId]) -> Result<String, StoreError> {
    let names: Vec<String> = members
        .iter()
        .map(|m| tx.users().name_of(*m))
        .collect::<Result<_, _>>()?;
    Ok(names.join(", "))
}

/// What a change decided: the record as it should be and the fields that changed (nothing
/// is saved when none did).
type Decided = (Record, Vec<FieldChange>);

/// Changes to records (edits and moves) a member may save in an hour: each adds to the
/// history, which is kept as long as the record.
pub const CHANGES_PER_HOUR: u32 = 600;

impl Records {
    /// Takes one change from `actor`'s hourly allowance.
    pub(super) fn take_change(&self, actor: &Actor) -> Result<(), ServiceError> {
        self.limiter
            .take(
                crate::service::limits::LimitKind::RecordEdit,
                &actor.id.to_string(),
                crate::service::limits::Limit::per_window(CHANGES_PER_HOUR, 3600),
            )
            .map_err(ServiceError::RateLimited)
    }

    /// Runs `decide` in a write on the record `actor` may see (404 otherwise) and saves what
    /// it decides, one version up, with its history lines.
    async fn change<E>(
        &self,
        actor: &Actor,
        id: RecordId,
        mut decide: impl FnMut(&Tx<'_>, &Actor, Record) -> Result<Result<Decided, E>, StoreError>
        + Send
        + 'static,
    ) -> Result<Record, E>
    where
        E: From<ServiceError> + From<StoreError> + Send + 'static,
    {
        let now = self.clock.now();
        let actor = actor.clone();
        self.store
            .write(move |tx| {
                let record = match visible(tx, &actor, id)? {
                    Ok(r) => r,
                    Err(e) => return Ok(Err(e.into())),
                };
                let before = record.clone();
                let (next, changes) = match decide(tx, &actor, record)? {
                    Ok(decided) => decided,
                    Err(e) => return Ok(Err(e)),
                };
                if changes.is_empty() {
                    return Ok(Ok(next));
                }
                let news = news_of(&before, &next, &changes);
                let saved = save(tx, actor.id, now, next, changes)?;
                for (member, news) in news {
                    if member != actor.id {
                        tx.emit(Event::RecordNotice {
                            record: saved.id,
                            member,
                            by: Some(actor.id),
                            news,
                        });
                    }
                }
                Ok(Ok(saved))
            })
            .await?
    }

    /// Saves `edit` over the record if it is still at version `based_on`; `Stale` with what
    /// changed since otherwise. An edit that changes nothing saves nothing.
    pub async fn edit(
        &self,
        actor: &Actor,
        id: RecordId,
        based_on: u64,
        edit: Edit,
    ) -> Result<Record, EditError> {
        self.access.require(actor, Permission::EditOwn)?;
        self.take_change(actor)?;
        if let Some(a) = &edit.assignees
            && a.len() > super::ASSIGNEES_MAX
        {
            return Err(ServiceError::invalid(
                "assignees",
                format!("Assign at most {} people.", super::ASSIGNEES_MAX),
            )
            .into());
        }
        let now = self.clock.now();
        self.change(actor, id, move |tx, actor, record| {
            if let Err(e) = editable_by(actor, &record) {
                return Ok(Err(e.into()));
            }
            if let Err(stale) = current_at(tx, &record, based_on)? {
                return Ok(Err(stale));
            }
            let (mut next, mut changes) = match record.edited(&edit.fields) {
                Ok(done) => done,
                Err(problems) => {
                    return Ok(Err(ServiceError::Invalid(
                        problems
                            .into_iter()
                            .map(|(f, why)| crate::domain::account::FieldError::new(f, why))
                            .collect(),
                    )
                    .into()));
                }
            };
            if let Some(wanted) = &edit.assignees {
                let mut assignees: Vec<UserId> = Vec::new();
                for a in wanted {
                    if !assignees.contains(a) {
                        assignees.push(*a);
                    }
                }
                for a in assignees.iter().filter(|a| !record.assignees.contains(a)) {
                    let user = tx.users().get(*a)?;
                    if let Err(why) = assignable(user, *a, &next, now) {
                        return Ok(Err(ServiceError::invalid("assignees", why).into()));
                    }
                }
                if assignees != record.assignees {
                    changes.push((
                        "assignees",
                        names(tx, &record.assignees)?,
                        names(tx, &assignees)?,
                    ));
                    for a in &assignees {
                        if !next.watchers.contains(a) {
                            next.watchers.push(*a);
                        }
                    }
                    next.assignees = assignees;
                }
            }
            Ok(Ok((next, changes)))
        })
        .await
    }

    /// Moves the record to status `to`, if the workflow lets the actor's role make that
    /// move (`403` with the reason otherwise). The owner, the assignees and moderators up move
    /// records; `based_on`, when given, must be the stored version.
    pub async fn move_to(
        &self,
        actor: &Actor,
        id: RecordId,
        based_on: Option<u64>,
        to: String,
    ) -> Result<Record, EditError> {
        self.access.require(actor, Permission::EditOwn)?;
        self.take_change(actor)?;
        let workflow = self.workflow();
        self.change(actor, id, move |tx, actor, record| {
            let works_on = record.owner == actor.id || record.assignees.contains(&actor.id);
            if !works_on && !actor.role.may(Permission::EditAll) {
                return Ok(Err(ServiceError::forbidden(
                    "The owner, the assignees and moderators move a record along.",
                )
                .into()));
            }
            if let Some(v) = based_on
                && let Err(stale) = current_at(tx, &record, v)?
            {
                return Ok(Err(stale));
            }
            if record.status == to {
                return Ok(Ok((record, Vec::new())));
            }
            if let Err(why) = workflow.may_move(&record.status, &to, actor.role) {
                let e = match why {
                    Refused::UnknownStatus(_) => ServiceError::invalid("status", why.to_string()),
                    _ => ServiceError::forbidden(why.to_string()),
                };
                return Ok(Err(e.into()));
            }
            let label = |key: &str| {
                workflow
                    .status(key)
                    .map_or_else(|| key.to_string(), |s| s.label.clone())
            };
            let change = ("status", label(&record.status), label(&to));
            let mut next = record;
            next.status = to.clone();
            Ok(Ok((next, vec![change])))
        })
        .await
    }

    /// Starts or stops `actor` watching a record they can see. Watching is not a change to
    /// the record (its version stays), so it never makes someone's edit stale. (Watching a
    /// record visible only to its people makes them one of its people; unwatching one they
    /// are not otherwise on hides it from them.)
    pub async fn watch(
        &self,
        actor: &Actor,
        id: RecordId,
        on: bool,
    ) -> Result<Record, ServiceError> {
        self.access.require(actor, Permission::View)?;
        let actor = actor.clone();
        self.store
            .write(move |tx| {
                let record = match visible(tx, &actor, id)? {
                    Ok(r) => r,
                    Err(e) => return Ok(Err(e)),
                };
                if record.watchers.contains(&actor.id) == on {
                    return Ok(Ok(record));
                }
                let mut watchers = record.watchers;
                if on {
                    watchers.push(actor.id);
                } else {
                    watchers.retain(|w| *w != actor.id);
                }
                let saved = tx.records().set_watchers(id, watchers)?;
                tx.emit(Event::RecordChanged { record: id });
                Ok(saved.ok_or_else(ServiceError::not_found))
            })
            .await?
    }

    /// Moves a record to the trash (admins and the owner of the community). Its number is
    /// freed for others until it is restored.
    pub async fn trash(&self, actor: &Actor, id: RecordId) -> Result<Record, ServiceError> {
        self.access.require(actor, Permission::Discard)?;
        let now = self.clock.now();
        self.change(actor, id, move |tx, _, mut record| {
            tx.record_numbers().release(&record.number)?;
            record.deleted_at = Some(now);
            let change = ("deleted", String::new(), "moved to the trash".to_string());
            Ok(Ok((record, vec![change])))
        })
        .await
    }

    /// Takes a record out of the trash with its number, unless another record has taken
    /// that number since (`409`, saying which).
    pub async fn restore(&self, actor: &Actor, id: RecordId) -> Result<Record, ServiceError> {
        self.access.require(actor, Permission::Discard)?;
        let now = self.clock.now();
        let by = actor.id;
        self.store
            .write(move |tx| {
                let Some(record) = tx.records().get(id)?.filter(|r| r.deleted_at.is_some())
                else {
                    return Ok(Err(ServiceError::not_found()));
                };
                if !tx.record_numbers().claim(&record.number, id.as_u128())? {
                    let holder = tx
                        .record_numbers()
                        .holder(&record.number)?
                        .map(RecordId::from_u128);
                    let title = match holder {
                        Some(h) => tx.records().get(h)?.map(|r| r.title),
                        None => None,
                    };
                    return Ok(Err(ServiceError::conflict(
                        ErrorCode::Conflict,
                        format!(
                            "{} has been given to another record since{}: change that record's number first.",
                            record.number,
                            title.map(|t| format!(" (\"{t}\")")).unwrap_or_default()
                        ),
                    )));
                }
                let mut next = record;
                next.deleted_at = None;
                let change = ("restored", "in the trash".to_string(), String::new());
                Ok(Ok(save(tx, by, now, next, vec![change])?))
            })
            .await?
    }

    /// Lines `offset..offset + limit` of the history of a record `actor` may see, oldest
    /// first, and how many there are.
    pub async fn history(
        &self,
        actor: &Actor,
        id: RecordId,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Change>, u64), ServiceError> {
        self.read_visible(actor, id, move |rx, _| {
            Ok((
                rx.records().history_page(id, offset, limit)?,
                rx.records().history_len(id)?,
            ))
        })
        .await
    }
}
