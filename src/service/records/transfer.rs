//! Records out and in as CSV. An export is what the caller's filter shows of the records they
//! may see, read from the store a chunk at a time as it is sent, so its memory stays flat
//! however many rows it has. An import reads the whole file first and names every problem by
//! row (a dry run stops there); only a file without problems is stored, all in one write.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Records, assignable, may_see};
use crate::domain::ids::{RecordId, UserId, uuid_v7};
use crate::domain::permission::Permission;
use crate::domain::record::{Change, NumberFormat, Record, RecordNews};
use crate::domain::record_csv::{EXPORT_COLUMNS, ImportRow, RowProblem, export_row, read_import};
use crate::domain::record_list::{RecordFilter, RecordSort};
use crate::domain::role::Role;
use crate::events::Event;
use crate::service::access::Actor;
use crate::service::error::{ErrorCode, Refusal, ServiceError};
use crate::service::limits::{Limit, LimitKind};
use crate::store::record_numbers::RecordNumbers;
use crate::store::users::Users;
use crate::store::{Snapshot, StoreError};

/// Records read from the store per chunk of an export.
const CHUNK: usize = 500;
/// Imports a member may run (or try) in an hour.
pub const IMPORTS_PER_HOUR: u32 = 20;

/// Exports under way at once: each holds its ids (16 bytes a row) until it is sent, and a
/// slow reader keeps it longer; past this many, a new one waits for a few seconds' retry.
pub const EXPORTS_AT_ONCE: usize = 4;

/// An export under way: the records' ids in order, and the usernames met so far.
pub struct Export {
    /// Its place among the exports under way, given back when it is dropped.
    _slot: tokio::sync::OwnedSemaphorePermit,
    records: Records,
    who: UserId,
    role: Role,
    ids: Vec<RecordId>,
    next: usize,
    header_sent: bool,
    names: HashMap<UserId, String>,
}

/// Leave to import, given by [`Records::may_import`] (only there): the importer, checked.
pub struct ImportLeave {
    by: UserId,
}

/// What an import found: the rows it read, and every problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    pub rows: usize,
    pub problems: Vec<RowProblem>,
    /// Whether the records were stored (not a dry run, and no problems).
    pub imported: bool,
}

impl Records {
    /// Starts an export of what `filter` shows `actor`, in `sort` order.
    pub async fn export(
        &self,
        actor: &Actor,
        filter: &RecordFilter,
        sort: RecordSort,
    ) -> Result<Export, ServiceError> {
        let slot = Arc::clone(&self.exports).try_acquire_owned().map_err(|_| {
            ServiceError::Unavailable(
                Refusal::new(
                    ErrorCode::Busy,
                    format!("{EXPORTS_AT_ONCE} exports are under way; try again in a few seconds."),
                ),
                5,
            )
        })?;
        let (ids, _) = self.find_ids(actor, filter, sort, 0, usize::MAX).await?;
        Ok(Export {
            _slot: slot,
            records: self.clone(),
            who: actor.id,
            role: actor.role,
            ids,
            next: 0,
            header_sent: false,
            names: HashMap::new(),
        })
    }

    /// Leave for `actor` to import a file: staff, with an import left this hour. Asked for
    /// before the file is read, so nobody else makes the server take in up to 5 MiB.
    pub fn may_import(&self, actor: &Actor) -> Result<ImportLeave, ServiceError> {
        self.access.require(actor, Permission::EditAll)?;
        self.limiter
            .take(
                LimitKind::RecordImport,
                &actor.id.to_string(),
                Limit::per_window(IMPORTS_PER_HOUR, 3600),
            )
            .map_err(ServiceError::RateLimited)?;
        Ok(ImportLeave { by: actor.id })
    }

    /// Reads a CSV file of records and, unless `dry_run`, stores them (owned by the one given
    /// leave) if no row has a problem. Staff import; a file that reads whole is still checked against
    /// the database: numbers taken (or typed twice in the file), assignees who are not
    /// members in good standing able to see the record.
    pub async fn import(
        &self,
        leave: ImportLeave,
        csv: Vec<u8>,
        dry_run: bool,
    ) -> Result<ImportReport, ServiceError> {
        let rows = match tokio::task::spawn_blocking(move || read_import(&csv))
            .await
            .map_err(ServiceError::internal)?
        {
            Ok(rows) => rows,
            Err(problems) => {
                return Ok(ImportReport {
                    rows: 0,
                    problems,
                    imported: false,
                });
            }
        };
        let settings = self.settings.current().records.clone();
        let status = settings
            .workflow
            .initial()
            .map(|s| s.key.clone())
            .ok_or_else(|| ServiceError::internal("the workflow has no status"))?;
        let mut formats = Vec::new();
        for d in crate::domain::record::Direction::ALL {
            formats.push((
                d,
                NumberFormat::parse(settings.format(d)).map_err(ServiceError::internal)?,
            ));
        }
        let now = self.clock.now();
        let year = now.to_zoned(jiff::tz::TimeZone::UTC).year();
        let by = leave.by;
        let rows_len = rows.len();
        if dry_run {
            // A dry run only reads: it need not wait for, nor hold, the writer.
            let (_, problems) = self
                .store
                .read(move |rx| {
                    let look = Lookups {
                        numbers: rx.record_numbers(),
                        users: rx.users(),
                    };
                    check_rows(&look, &rows, by, &status, now)
                })
                .await?;
            let rows = rows_len;
            return Ok(ImportReport {
                rows,
                problems,
                imported: false,
            });
        }
        let outcome = self
            .store
            .write(move |tx| {
                let look = Lookups {
                    numbers: tx.record_numbers(),
                    users: tx.users(),
                };
                let (records, problems) = check_rows(&look, &rows, by, &status, now)?;
                if !problems.is_empty() {
                    return Ok(ImportReport {
                        rows: rows.len(),
                        problems,
                        imported: false,
                    });
                }
                // Typed numbers first (each checked free above, none typed twice), so the
                // sequence passes over them as it gives the other rows theirs.
                for (record, number) in &records {
                    if let Some(n) = number {
                        tx.record_numbers().claim(n, record.id.as_u128())?;
                    }
                }
                for (mut record, number) in records {
                    record.number = match number {
                        Some(n) => n,
                        None => {
                            let format = formats
                                .iter()
                                .find(|(d, _)| *d == record.direction)
                                .map(|(_, f)| f)
                                .ok_or_else(|| StoreError::Corrupt("no format".into()))?;
                            tx.record_numbers().next(
                                record.direction,
                                year,
                                format,
                                record.id.as_u128(),
                            )?
                        }
                    };
                    let created = Change {
                        version: 1,
                        at: now,
                        by,
                        field: "created".into(),
                        old: String::new(),
                        new: format!("{} (imported)", record.number),
                    };
                    tx.records().insert(&record, &[created])?;
                    tx.emit(Event::RecordChanged { record: record.id });
                    for assignee in record.assignees.iter().filter(|a| **a != by) {
                        tx.emit(Event::RecordNotice {
                            record: record.id,
                            member: *assignee,
                            by: Some(by),
                            news: RecordNews::Assigned,
                        });
                    }
                }
                Ok(ImportReport {
                    rows: rows.len(),
                    problems: Vec::new(),
                    imported: true,
                })
            })
            .await?;
        Ok(outcome)
    }
}

/// A row's record, and the number typed for it (none: the next in the format).
type RowRecord = (Record, Option<String>);

/// What checking rows reads: numbers held and members, through the store's views, which are
/// the same in a read (a dry run) as in the import's write.
struct Lookups<'s, S> {
    numbers: RecordNumbers<'s, S>,
    users: Users<'s, S>,
}

/// Every row's record, and every problem with the database (nothing is written).
fn check_rows<S: Snapshot>(
    look: &Lookups<'_, S>,
    rows: &[ImportRow],
    by: UserId,
    status: &str,
    now: jiff::Timestamp,
) -> Result<(Vec<RowRecord>, Vec<RowProblem>), StoreError> {
    let mut problems = Vec::new();
    let mut typed: HashMap<String, usize> = HashMap::new();
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        match row_record(look, row, by, status, now, &mut typed)? {
            Ok(r) => records.push(r),
            Err(mut p) => problems.append(&mut p),
        }
    }
    Ok((records, problems))
}

/// The record a row makes, with its typed number, or the row's problems with the database:
/// a number another record has or another row typed, assignees. Nothing is written here.
fn row_record<S: Snapshot>(
    look: &Lookups<'_, S>,
    row: &ImportRow,
    by: UserId,
    status: &str,
    now: jiff::Timestamp,
    typed: &mut HashMap<String, usize>,
) -> Result<Result<RowRecord, Vec<RowProblem>>, StoreError> {
    let mut problems = Vec::new();
    let note = |column: &str, message: String| RowProblem {
        row: row.row,
        column: column.into(),
        message,
    };
    let checked = match row.draft.check() {
        Ok(c) => c,
        Err(found) => {
            return Ok(Err(found
                .into_iter()
                .map(|(f, why)| note(f, why))
                .collect()));
        }
    };
    let id = RecordId(uuid_v7(now.as_millisecond(), rand::random()));
    if let Some(n) = &row.number {
        let key = crate::domain::record::number_key(n);
        if let Some(first) = typed.get(&key) {
            problems.push(note(
                "number",
                format!("{n} is also typed on row {first}: each number once."),
            ));
        } else if look.numbers.holder(n)?.is_some() {
            problems.push(note(
                "number",
                format!("{n} is the number of another record: type another, or leave it empty."),
            ));
        }
        typed.insert(key, row.row);
    }
    let mut record = Record {
        id,
        number: String::new(),
        direction: row.direction,
        title: checked.title,
        correspondent: checked.correspondent,
        content: checked.content,
        status: status.to_string(),
        priority: row.priority,
        owner: by,
        assignees: Vec::new(),
        watchers: vec![by],
        due: checked.due,
        tags: checked.tags,
        visibility: row.visibility,
        version: 1,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    };
    for name in &row.assignees {
        match look.users.by_login(name)? {
            Some(user) if !name.contains('@') => {
                let id = user.id;
                match assignable(Some(user), id, &record, now) {
                    Ok(()) if !record.assignees.contains(&id) => {
                        record.assignees.push(id);
                        if !record.watchers.contains(&id) {
                            record.watchers.push(id);
                        }
                    }
                    Ok(()) => {}
                    Err(why) => problems.push(note("assignees", why)),
                }
            }
            _ => problems.push(note(
                "assignees",
                format!("{name} is not a member's username."),
            )),
        }
    }
    if record.assignees.len() > super::ASSIGNEES_MAX {
        problems.push(note(
            "assignees",
            format!("Assign at most {} people.", super::ASSIGNEES_MAX),
        ));
    }
    Ok(if problems.is_empty() {
        Ok((record, row.number.clone()))
    } else {
        Err(problems)
    })
}

impl Export {
    /// The next rows as CSV (the header first); `None` when all are sent.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, ServiceError> {
        if !self.header_sent {
            self.header_sent = true;
            let mut out = crate::domain::record_csv::writer(Vec::new());
            out.write_record(EXPORT_COLUMNS)
                .map_err(ServiceError::internal)?;
            return Ok(Some(out.into_inner().map_err(ServiceError::internal)?));
        }
        if self.next >= self.ids.len() {
            return Ok(None);
        }
        let end = (self.next + CHUNK).min(self.ids.len());
        let ids = self.ids[self.next..end].to_vec();
        self.next = end;
        let (who, role) = (self.who, self.role);
        let mut names = std::mem::take(&mut self.names);
        let (bytes, names) = self
            .records
            .store
            .read(move |rx| {
                let mut out = crate::domain::record_csv::writer(Vec::with_capacity(64 * 1024));
                for id in ids {
                    let Some(r) = rx.records().get(id)? else {
                        continue;
                    };
                    if r.deleted_at.is_some() || !may_see(who, role, &r) {
                        continue;
                    }
                    rx.users().name_into(
                        &mut names,
                        std::iter::once(r.owner).chain(r.assignees.iter().copied()),
                    )?;
                    let row = export_row(&r, |m| names.get(&m).cloned().unwrap_or_default());
                    out.write_record(&row)
                        .map_err(|e| StoreError::Database(e.to_string()))?;
                }
                let bytes = out
                    .into_inner()
                    .map_err(|e| StoreError::Database(e.to_string()))?;
                Ok::<_, StoreError>((bytes, names))
            })
            .await?;
        self.names = names;
        Ok(Some(bytes))
    }
}
