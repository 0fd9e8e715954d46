//! Records: numbered letters and documents. This part creates them (a number made in the
//! format for their direction, or typed by hand and refused when taken), shows them to whom
//! they are for, lists them from the in-memory index (`list`), and says what a member may do
//! with one. `edits` changes them (versions, workflow moves, watching, the trash),
//! `comments` threads comments and mentions, `filters` keeps saved lists, `transfer` exports
//! and imports CSV, `upkeep` runs the trash purge and the due reminders, `attachments`
//! takes, serves and reads the files on records.

mod attachments;
mod comments;
mod edits;
mod filters;
mod list;
mod transfer;
mod upkeep;

pub use attachments::{
    EXTRACT, FILE_MIB_PER_DAY, FileTools, IncomingAttachment, files_per_day, may_attach, may_remove,
};
pub use comments::{COMMENTS_PER_HOUR, COMMENTS_PER_RECORD};
pub use edits::{CHANGES_PER_HOUR, Edit, EditError};
pub use filters::SAVED_FILTERS_MAX;
use list::{Lists, RecordIndex};
pub use transfer::{EXPORTS_AT_ONCE, Export, IMPORTS_PER_HOUR, ImportLeave, ImportReport};

use std::sync::{Arc, PoisonError};

use super::access::{Access, Actor};
use super::error::ServiceError;
use super::limits::{Limit, LimitKind, RateLimiter};
use super::member_data::MemberData;
use super::settings::Settings;
use crate::clock::SharedClock;
use crate::domain::account::FieldError;
use crate::domain::account::User;
use crate::domain::ids::{RecordId, UserId, uuid_v7};
use crate::domain::permission::Permission;
use crate::domain::record::{
    Change, Direction, NumberFormat, Priority, Record, RecordDraft, Visibility, typed_number,
};
use crate::domain::record_list::{RecordFilter, RecordSort};
use crate::domain::role::Role;
use crate::domain::settings::RecordSettings;
use crate::domain::workflow::Workflow;
use crate::events::{Event, EventBus};
use crate::store::{Rx, Store, StoreError, Tx};
use serde_json::{Value, json};

/// What someone asks for when they create a record.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub draft: RecordDraft,
    pub direction: Direction,
    pub priority: Priority,
    pub visibility: Visibility,
    /// Typed by hand (an incoming letter's own number); none: the next in the format.
    pub number: Option<String>,
    pub assignees: Vec<UserId>,
}

#[derive(Clone)]
pub struct Records {
    store: Store,
    access: Access,
    clock: SharedClock,
    limiter: Arc<RateLimiter>,
    settings: Settings,
    index: Arc<RecordIndex>,
    /// Places for the CSV exports under way.
    exports: Arc<tokio::sync::Semaphore>,
    /// The blob files and the heavy-work slots attachments are checked and read on.
    files: super::media::Processor,
    /// The job queue, once it exists (text jobs are queued in the write that adds a file).
    jobs: Arc<std::sync::OnceLock<crate::jobs::JobSink>>,
    /// Files have their text read one at a time, apart from the upload checks' slots: a slow
    /// document delays other documents, never an upload.
    reading: Arc<tokio::sync::Semaphore>,
    /// The program that reads a file's text in a process of its own (this one, run as
    /// `hearth read-text`).
    reader: Arc<std::path::Path>,
}

/// Records a member may create in an hour (each is stored for good).
pub const CREATES_PER_HOUR: u32 = 1_000;

/// Assignees a record may have at most.
pub const ASSIGNEES_MAX: usize = 20;

/// Whether someone of `role` with id `who` may see `record`: every member, staff, or only the
/// people on it (and admins), as its visibility says.
pub fn may_see(who: UserId, role: Role, record: &Record) -> bool {
    let on_it =
        record.owner == who || record.assignees.contains(&who) || record.watchers.contains(&who);
    match record.visibility {
        Visibility::Members => true,
        Visibility::Staff => on_it || role.is_staff(),
        Visibility::People => on_it || role >= Role::Admin,
    }
}

/// The settings in force, seen as their workflow.
struct CurrentWorkflow(Arc<crate::domain::settings::SiteSettings>);

impl std::ops::Deref for CurrentWorkflow {
    type Target = Workflow;

    fn deref(&self) -> &Workflow {
        &self.0.records.workflow
    }
}

/// What a record's page shows.
#[derive(Debug, Clone)]
pub struct RecordPage {
    pub record: Record,
    /// In thread order.
    pub comments: Vec<crate::domain::record_comment::Comment>,
    /// The latest lines, oldest first.
    pub history: Vec<Change>,
    pub history_total: u64,
    /// Its files, oldest first.
    pub attachments: Vec<crate::domain::record_attachment::Attachment>,
    /// Usernames of everyone the page names (owner, assignees, authors of comments, files
    /// and history lines).
    pub names: std::collections::HashMap<UserId, String>,
}

/// Counts for the admin overview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overview {
    /// (Monday of the week, records created), oldest first.
    pub per_week: Vec<(jiff::civil::Date, u64)>,
    /// (status label, open records in it), in workflow order.
    pub open_by_status: Vec<(String, u64)>,
}

/// Whether `actor` may edit `record`: their own, or anyone's from moderator up.
pub fn may_edit(actor: &Actor, record: &Record) -> bool {
    if record.owner == actor.id {
        actor.role.may(Permission::EditOwn)
    } else {
        actor.role.may(Permission::EditAll)
    }
}

impl Records {
    pub fn new(
        store: Store,
        access: Access,
        clock: SharedClock,
        limiter: Arc<RateLimiter>,
        settings: Settings,
        events: &EventBus,
        files: FileTools,
    ) -> Self {
        let index = Arc::new(RecordIndex::default());
        let follower = Arc::clone(&index);
        events.listen(move |event| {
            if let Event::RecordChanged { record } = event {
                follower.note(*record);
            }
        });
        Self {
            store,
            access,
            clock,
            limiter,
            settings,
            index,
            exports: Arc::new(tokio::sync::Semaphore::new(transfer::EXPORTS_AT_ONCE)),
            files: files.processor,
            jobs: Arc::default(),
            reading: Arc::new(tokio::sync::Semaphore::new(1)),
            reader: files.reader.into(),
        }
    }

    /// Gives records the job queue (made after the services, from their jobs).
    pub fn attach(&self, jobs: crate::jobs::JobSink) {
        let _ = self.jobs.set(jobs);
    }

    /// Usernames of `members` (`FORMER_MEMBER` for one who is gone), for pages that show
    /// people on records.
    pub fn names(
        &self,
        members: impl IntoIterator<Item = UserId>,
    ) -> Result<std::collections::HashMap<UserId, String>, ServiceError> {
        let members: Vec<UserId> = members.into_iter().collect();
        Ok(self.store.lookup(move |rx| {
            let mut out = std::collections::HashMap::new();
            rx.users().name_into(&mut out, members)?;
            Ok::<_, StoreError>(out)
        })?)
    }

    /// The members with these usernames, in order; `422` on `field` naming one that is not.
    pub fn ids_of(
        &self,
        usernames: &[String],
        field: &'static str,
    ) -> Result<Vec<UserId>, ServiceError> {
        if usernames.len() > ASSIGNEES_MAX {
            return Err(ServiceError::invalid(
                field,
                format!("Name at most {ASSIGNEES_MAX} people."),
            ));
        }
        let names = usernames.to_vec();
        let found = self.store.lookup(move |rx| {
            names
                .iter()
                .map(|n| {
                    Ok((
                        n.clone(),
                        rx.users()
                            .by_login(n)?
                            .filter(|_| !n.contains('@'))
                            .map(|u| u.id),
                    ))
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })?;
        found
            .into_iter()
            .map(|(name, id)| {
                id.ok_or_else(|| {
                    ServiceError::invalid(field, format!("{name} is not a member's username."))
                })
            })
            .collect()
    }

    /// The statuses `actor` may move `record` to now: the workflow's moves from its status
    /// open to their role, if they work on it (owner, assignee) or are a moderator.
    pub fn moves_for(
        &self,
        actor: &Actor,
        record: &Record,
    ) -> Vec<crate::domain::workflow::Status> {
        let works_on = record.owner == actor.id || record.assignees.contains(&actor.id);
        if !works_on && !actor.role.may(Permission::EditAll) {
            return Vec::new();
        }
        let workflow = self.workflow();
        workflow
            .moves
            .iter()
            .filter(|m| m.from == record.status && actor.role >= m.least)
            .filter_map(|m| workflow.status(&m.to).cloned())
            .collect()
    }

    /// The label of a status of the workflow (its key when the workflow no longer has it).
    pub fn status_label(&self, key: &str) -> String {
        self.workflow()
            .status(key)
            .map_or_else(|| key.to_string(), |s| s.label.clone())
    }

    /// Whether `record` is overdue today: due before today, in a status that is not closed.
    pub fn is_overdue(&self, record: &Record) -> bool {
        let today = self.clock.now().to_zoned(jiff::tz::TimeZone::UTC).date();
        record.due.is_some_and(|d| d < today)
            && !self
                .workflow()
                .status(&record.status)
                .is_some_and(|s| s.closed)
    }

    /// The workflow's statuses, for filters.
    pub fn statuses(&self) -> Vec<crate::domain::workflow::Status> {
        self.workflow().statuses.clone()
    }

    /// The admin overview: records created per week over the last `weeks` weeks, and the
    /// open records by status (counts only).
    pub async fn overview(&self, actor: &Actor, weeks: usize) -> Result<Overview, ServiceError> {
        self.access.require(actor, Permission::ManageSettings)?;
        self.bring_up_to_date().await?;
        let workflow = self.workflow();
        let now_ms = self.clock.now().as_millisecond();
        let lists = self
            .index
            .lists
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let empty = Lists::default();
        let lists = lists.as_ref().unwrap_or(&empty);
        Ok(Overview {
            per_week: lists.created_per_week(now_ms, weeks),
            open_by_status: workflow
                .statuses
                .iter()
                .filter(|s| !s.closed)
                .map(|s| (s.label.clone(), lists.count_in(&s.key)))
                .collect(),
        })
    }

    /// The record settings in force (those who manage settings).
    pub fn settings(&self, actor: &Actor) -> Result<RecordSettings, ServiceError> {
        Ok(self.settings.read(actor)?.records.clone())
    }

    /// Saves new record settings. A workflow that drops a status some records are in is
    /// refused, saying how many: move them first, or keep the status.
    pub async fn save_settings(
        &self,
        actor: &Actor,
        new: RecordSettings,
    ) -> Result<RecordSettings, ServiceError> {
        self.access.require(actor, Permission::ManageSettings)?;
        self.bring_up_to_date().await?;
        let in_use = {
            let lists = self
                .index
                .lists
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            lists
                .as_ref()
                .map(Lists::statuses_in_use)
                .unwrap_or_default()
        };
        let dropped: Vec<String> = in_use
            .into_iter()
            .filter(|(status, _)| new.workflow.status(status).is_none())
            .map(|(status, n)| format!("{n} in \"{status}\""))
            .collect();
        if !dropped.is_empty() {
            return Err(ServiceError::invalid(
                "records_workflow",
                format!(
                    "Records are in statuses this workflow drops ({}): move them first, or keep those statuses.",
                    dropped.join(", ")
                ),
            ));
        }
        let patch = crate::domain::settings::SettingsPatch {
            records: Some(new),
            ..Default::default()
        };
        Ok(self.settings.update(actor, patch).await?.records.clone())
    }

    /// The workflow as the admins set it now (shared with the settings, not copied: lists
    /// and pages ask for it per row).
    fn workflow(&self) -> CurrentWorkflow {
        CurrentWorkflow(self.settings.current())
    }

    /// A page of the records `actor` may see that `filter` finds, in `sort` order, with how
    /// many there are in all.
    pub async fn list(
        &self,
        actor: &Actor,
        filter: &RecordFilter,
        sort: RecordSort,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Record>, u64), ServiceError> {
        let (ids, total) = self.find_ids(actor, filter, sort, offset, limit).await?;
        let (who, role, trashed) = (actor.id, actor.role, filter.trashed);
        let records = self.store.lookup(move |rx| {
            let mut out = Vec::with_capacity(ids.len());
            for id in &ids {
                if let Some(r) = rx.records().get(*id)?
                    && r.deleted_at.is_some() == trashed
                    && may_see(who, role, &r)
                {
                    out.push(r);
                }
            }
            Ok::<_, StoreError>(out)
        })?;
        Ok((records, total))
    }

    /// The ids of a page of what `filter` finds for `actor`, and the total, from the index.
    async fn find_ids(
        &self,
        actor: &Actor,
        filter: &RecordFilter,
        sort: RecordSort,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<RecordId>, u64), ServiceError> {
        self.access.require(actor, Permission::View)?;
        ServiceError::check(
            filter
                .problems()
                .into_iter()
                .map(|(f, why)| FieldError::new(f, why))
                .collect(),
        )?;
        self.bring_up_to_date().await?;
        let workflow = self.workflow();
        let closed: Vec<&str> = workflow.closed().collect();
        let today = self.clock.now().to_zoned(jiff::tz::TimeZone::UTC).date();
        let lists = self
            .index
            .lists
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let empty = Lists::default();
        let found = lists.as_ref().unwrap_or(&empty).find(
            actor.id, actor.role, filter, &closed, today, sort, offset, limit,
        );
        Ok((found.ids, found.total))
    }

    /// `actor`'s work: open records assigned to them, overdue first, then by due date.
    pub async fn my_work(
        &self,
        actor: &Actor,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Record>, u64), ServiceError> {
        let filter = RecordFilter {
            assignee: Some(actor.id),
            open: true,
            ..Default::default()
        };
        self.list(actor, &filter, RecordSort::Due, offset, limit)
            .await
    }

    /// Builds the index on first use; afterwards re-reads the records that changed.
    async fn bring_up_to_date(&self) -> Result<(), StoreError> {
        let built = self
            .index
            .lists
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        if !built {
            // Changes from now on are either in the snapshot below or noted as dirty.
            self.index.take_dirty();
            let lists = self
                .store
                .read(|rx| {
                    let mut lists = Lists::default();
                    rx.records().for_each(|r| lists.put(r.id, Some(&r)))?;
                    Ok::<_, StoreError>(lists)
                })
                .await?;
            tracing::debug!(records = lists.len(), "records list index built");
            let mut slot = self
                .index
                .lists
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if slot.is_none() {
                *slot = Some(lists);
            }
        }
        let mut dirty = self.index.take_dirty();
        if dirty.is_empty() {
            return Ok(());
        }
        // In id order, so records made together take positions in the order they were made.
        dirty.sort_unstable();
        let few = dirty.len() <= 100;
        let read = move |rx: &Rx| {
            dirty
                .iter()
                .map(|id| Ok((*id, rx.records().get(*id)?)))
                .collect::<Result<Vec<_>, StoreError>>()
        };
        // A few are read on this thread; many (an import) off it.
        let fresh = if few {
            self.store.lookup(read)?
        } else {
            self.store.read(read).await?
        };
        let mut slot = self
            .index
            .lists
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(lists) = slot.as_mut() {
            for (id, record) in &fresh {
                lists.put(*id, record.as_ref());
            }
        }
        Ok(())
    }

    /// Creates a record owned by `actor`, at the workflow's first status; the creator and
    /// the assignees watch it.
    pub async fn create(&self, actor: &Actor, new: NewRecord) -> Result<Record, ServiceError> {
        self.access.require(actor, Permission::Create)?;
        let checked = new.draft.check().map_err(|problems| {
            ServiceError::Invalid(
                problems
                    .into_iter()
                    .map(|(field, why)| FieldError::new(field, why))
                    .collect(),
            )
        })?;
        self.limiter
            .take(
                LimitKind::Record,
                &actor.id.to_string(),
                Limit::per_window(CREATES_PER_HOUR, 3600),
            )
            .map_err(ServiceError::RateLimited)?;
        let typed = match &new.number {
            Some(n) => Some(typed_number(n).map_err(|why| ServiceError::invalid("number", why))?),
            None => None,
        };
        let mut assignees: Vec<UserId> = Vec::new();
        for a in &new.assignees {
            if !assignees.contains(a) {
                assignees.push(*a);
            }
        }
        if assignees.len() > ASSIGNEES_MAX {
            return Err(ServiceError::invalid(
                "assignees",
                format!("Assign at most {ASSIGNEES_MAX} people."),
            ));
        }
        let workflow = self.workflow();
        let status = workflow
            .initial()
            .map(|s| s.key.clone())
            .ok_or_else(|| ServiceError::internal("the workflow has no status"))?;
        let format = NumberFormat::parse(self.settings.current().records.format(new.direction))
            .map_err(ServiceError::internal)?;
        let now = self.clock.now();
        let year = now.to_zoned(jiff::tz::TimeZone::UTC).year();
        let mut watchers = vec![actor.id];
        watchers.extend(assignees.iter().filter(|a| **a != actor.id));
        let record = Record {
            id: RecordId(uuid_v7(now.as_millisecond(), rand::random())),
            number: String::new(),
            direction: new.direction,
            title: checked.title,
            correspondent: checked.correspondent,
            content: checked.content,
            status,
            priority: new.priority,
            owner: actor.id,
            assignees,
            watchers,
            due: checked.due,
            tags: checked.tags,
            visibility: new.visibility,
            version: 1,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        };
        let by = actor.id;
        self.store
            .write(move |tx| {
                let mut record = record.clone();
                for assignee in &record.assignees {
                    let user = tx.users().get(*assignee)?;
                    if let Err(why) = assignable(user, *assignee, &record, now) {
                        return Ok(Err(ServiceError::invalid("assignees", why)));
                    }
                }
                let numbers = tx.record_numbers();
                record.number = match &typed {
                    Some(number) => {
                        if !numbers.claim(number, record.id.as_u128())? {
                            return Ok(Err(ServiceError::conflict(
                                super::error::ErrorCode::Conflict,
                                format!("{number} is the number of another record: type another, or leave it out to get the next one."),
                            )));
                        }
                        number.clone()
                    }
                    None => numbers.next(record.direction, year, &format, record.id.as_u128())?,
                };
                let created = Change {
                    version: 1,
                    at: now,
                    by,
                    field: "created".into(),
                    old: String::new(),
                    new: record.number.clone(),
                };
                tx.records().insert(&record, &[created])?;
                tx.emit(Event::RecordChanged { record: record.id });
                for assignee in record.assignees.iter().filter(|a| **a != by) {
                    tx.emit(Event::RecordNotice {
                        record: record.id,
                        member: *assignee,
                        by: Some(by),
                        news: crate::domain::record::RecordNews::Assigned,
                    });
                }
                Ok(Ok(record))
            })
            .await?
    }

    /// A record, if `actor` may see it (404 otherwise, so ids cannot be probed).
    pub async fn get(&self, actor: &Actor, id: RecordId) -> Result<Record, ServiceError> {
        self.read_visible(actor, id, |_, r| Ok(r)).await
    }

    /// A record's page: the record, its comments in thread order and the latest
    /// `history_lines` of its history (newest last) with their total, in one read.
    pub async fn page(
        &self,
        actor: &Actor,
        id: RecordId,
        history_lines: u64,
    ) -> Result<RecordPage, ServiceError> {
        self.read_visible(actor, id, move |rx, record| {
            let total = rx.records().history_len(id)?;
            let from = total.saturating_sub(history_lines);
            let comments = crate::domain::record_comment::thread_order(rx.records().comments(id)?);
            let history = rx.records().history_page(id, from, history_lines)?;
            let attachments = rx.record_attachments().of(id)?;
            let people = std::iter::once(record.owner)
                .chain(record.assignees.iter().copied())
                .chain(comments.iter().map(|c| c.author))
                .chain(attachments.iter().map(|a| a.by))
                .chain(history.iter().map(|c| c.by));
            let mut names = std::collections::HashMap::new();
            rx.users().name_into(&mut names, people)?;
            Ok(RecordPage {
                comments,
                history,
                history_total: total,
                attachments,
                names,
                record,
            })
        })
        .await
    }

    /// Runs `f` in one read on the record `actor` may see, not in the trash (404 otherwise).
    async fn read_visible<T: Send + 'static>(
        &self,
        actor: &Actor,
        id: RecordId,
        f: impl FnOnce(&Rx, Record) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        self.access.require(actor, Permission::View)?;
        let (who, role) = (actor.id, actor.role);
        self.store
            .read(move |rx| -> Result<Result<T, ServiceError>, StoreError> {
                match rx
                    .records()
                    .get(id)?
                    .filter(|r| r.deleted_at.is_none() && may_see(who, role, r))
                {
                    Some(r) => Ok(Ok(f(rx, r)?)),
                    None => Ok(Err(ServiceError::not_found())),
                }
            })
            .await
            .map_err(ServiceError::Store)?
    }
}

/// Whether `member` can take `record` on: an account in good standing that may see it.
fn assignable(
    user: Option<User>,
    member: UserId,
    record: &Record,
    now: jiff::Timestamp,
) -> Result<(), String> {
    let Some(user) = user else {
        return Err(format!("{member} is not a member."));
    };
    if !user.status.in_good_standing(now) {
        return Err(format!(
            "{} cannot take records on now (suspended, banned or not approved).",
            user.username
        ));
    }
    // On the record they see it; staff-only records go to staff.
    if record.visibility == Visibility::Staff && !user.role.is_staff() {
        return Err(format!(
            "{} cannot see staff-only records: make it visible to members, or choose staff.",
            user.username
        ));
    }
    Ok(())
}

pub fn member_data() -> Vec<Box<dyn MemberData>> {
    vec![Box::new(RecordsPart)]
}

/// A member's part in records: those they own, are assigned or watch, and the changes they
/// made. Records are the community's, so erasing takes the member off them (a record they
/// owned is owned by nobody) instead of deleting them.
struct RecordsPart;

impl MemberData for RecordsPart {
    fn name(&self) -> &'static str {
        "records"
    }

    fn export(&self, rx: &Rx, user: &User) -> Result<Value, StoreError> {
        let mut out = Vec::new();
        for id in rx.records().of_member(user.id)? {
            let Some(r) = rx.records().get(id)? else {
                continue;
            };
            let mine: Vec<Value> = rx
                .records()
                .history(id)?
                .into_iter()
                .filter(|c| c.by == user.id)
                .map(|c| json!({"at": c.at.to_string(), "field": c.field, "old": c.old, "new": c.new}))
                .collect();
            let files: Vec<Value> = rx
                .record_attachments()
                .of(id)?
                .into_iter()
                .filter(|a| a.by == user.id)
                .map(|a| json!({"name": a.name, "size": a.size, "added_at": a.at.to_string()}))
                .collect();
            out.push(json!({
                "number": r.number,
                "title": r.title,
                "owner": r.owner == user.id,
                "assigned": r.assignees.contains(&user.id),
                "watching": r.watchers.contains(&user.id),
                "my_changes": mine,
                "my_files": files,
            }));
        }
        let lists: Vec<Value> = rx
            .records()
            .filters(user.id)?
            .into_iter()
            .map(|(name, query)| json!({"name": name, "query": query}))
            .collect();
        Ok(json!({"records": out, "saved_lists": lists}))
    }

    fn erase(&self, tx: &Tx<'_>, user: &User) -> Result<(), StoreError> {
        for record in tx.records().erase_member(user.id, &user.username)? {
            tx.emit(crate::events::Event::RecordChanged { record });
        }
        Ok(())
    }
}

/// Records in search: number, title, correspondent, tags, content and their files' text, found by those who
/// may see them (every member; staff and the people on it; or only the people on it and
/// admins), never while in the trash. Typing a record's number exactly finds it first.
pub struct RecordDocuments;

impl super::search::SearchKind for RecordDocuments {
    fn name(&self) -> &'static str {
        "record"
    }

    fn changed_by(&self, _tx: &Tx<'_>, event: &Event) -> Result<Vec<String>, StoreError> {
        Ok(match event {
            Event::RecordChanged { record } => vec![record.to_string()],
            _ => Vec::new(),
        })
    }

    fn document(
        &self,
        rx: &Rx,
        id: &str,
        _now: jiff::Timestamp,
    ) -> Result<Option<crate::domain::search::Document>, StoreError> {
        let Ok(id) = id.parse::<RecordId>() else {
            return Ok(None);
        };
        let Some(record) = searchable(rx, id)? else {
            return Ok(None);
        };
        let files = rx.record_attachments().texts(id, FILE_TEXT_INDEXED_MAX)?;
        Ok(Some(record_document(&record, &files)))
    }

    fn all(&self, rx: &Rx) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        rx.records().for_each(|r| {
            if r.deleted_at.is_none() {
                out.push(r.id.to_string());
            }
        })?;
        Ok(out)
    }

    fn exact(
        &self,
        rx: &Rx,
        q: &str,
        _now: jiff::Timestamp,
    ) -> Result<Option<crate::domain::search::Document>, StoreError> {
        let Ok(number) = typed_number(q) else {
            return Ok(None);
        };
        // The number is what was found: the hit needs no text of the record's files, which
        // would be read on every query that names a number.
        let Some(id) = rx.record_numbers().holder(&number)? else {
            return Ok(None);
        };
        Ok(searchable(rx, RecordId::from_u128(id))?.map(|r| record_document(&r, &[])))
    }
}

/// A record as search knows it: none while it is in the trash.
fn searchable(rx: &Rx, id: RecordId) -> Result<Option<Record>, StoreError> {
    Ok(rx.records().get(id)?.filter(|r| r.deleted_at.is_none()))
}

/// Characters of its files' text a record's search document takes, in all (every change to
/// the record writes its document again).
const FILE_TEXT_INDEXED_MAX: usize = 300_000;

/// A record as a search document, with the text read from its files and the access terms
/// `may_see` stands for.
fn record_document(r: &Record, files: &[String]) -> crate::domain::search::Document {
    let mut access: Vec<String> = std::iter::once(r.owner)
        .chain(r.assignees.iter().copied())
        .chain(r.watchers.iter().copied())
        .map(|m| format!("member:{m}"))
        .collect();
    access.extend(
        match r.visibility {
            Visibility::Members => &["members"][..],
            Visibility::Staff => &["staff"][..],
            Visibility::People => &["role:admin", "role:owner"][..],
        }
        .iter()
        .map(|t| t.to_string()),
    );
    let mut body = vec![r.correspondent.clone(), r.tags.join(" "), r.content.clone()];
    body.extend(files.iter().cloned());
    body.retain(|part| !part.is_empty());
    crate::domain::search::Document {
        key: format!("record:{}", r.id),
        kind: "record",
        link: format!("/records/{}", r.id),
        title: format!("{} · {}", r.number, r.title),
        body: body.join("\n"),
        access,
        facets: Vec::new(),
        member: None,
        time_ms: r.created_at.as_millisecond(),
        visible_from_ms: 0,
        visible_until_ms: i64::MAX,
    }
}
