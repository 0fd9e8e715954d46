//! The records' background work, as durable scheduled jobs: purging what has been in the
//! trash longer than the setting says, and reminding owners and assignees of due days (the
//! setting's days before, and once overdue), each reminder once per due day.

use jiff::ToSpan;

use super::{Records, may_see};
use crate::domain::record::RecordNews;
use crate::events::Event;
use crate::jobs::{JobError, JobPlan};
use crate::store::StoreError;

const PURGE: &str = "records.purge";
const REMIND: &str = "records.remind";

/// Records purged per write, so a large trash never holds the writer long.
const PURGE_BATCH: usize = 200;
/// How far back an overdue reminder still goes out (after the server was down, say).
const OVERDUE_LOOKBACK_DAYS: i32 = 7;

/// Reminder kinds, as stored.
const DUE_SOON: u8 = 0;
const OVERDUE: u8 = 1;

impl Records {
    pub fn register_jobs(&self, plan: &mut JobPlan) {
        let this = self.clone();
        plan.register(PURGE, move |_| {
            let this = this.clone();
            async move {
                this.purge_trash()
                    .await
                    .map(drop)
                    .map_err(|e| JobError::retry(e.to_string()))
            }
        });
        plan.schedule("records-trash", PURGE, "every 1h");
        let this = self.clone();
        plan.register(REMIND, move |_| {
            let this = this.clone();
            async move {
                this.remind()
                    .await
                    .map(drop)
                    .map_err(|e| JobError::retry(e.to_string()))
            }
        });
        plan.schedule("records-due", REMIND, "every 1h");
        let this = self.clone();
        plan.register(super::EXTRACT, move |job| {
            let this = this.clone();
            async move { this.run_extract_job(job).await }
        });
    }

    /// Purges the records that went to the trash more than the setting's days ago; answers
    /// how many.
    pub async fn purge_trash(&self) -> Result<usize, StoreError> {
        let days = i64::from(self.settings.current().records.trash_days);
        let before = self.clock.now() - jiff::SignedDuration::from_hours(24 * days);
        let before = before.as_millisecond();
        let now_ms = self.clock.now().as_millisecond();
        let mut total = 0;
        loop {
            let (purged, files) = self
                .store
                .write(move |tx| {
                    let (mut n, mut files) = (0, Vec::new());
                    for id in tx.records().trashed_before(before, PURGE_BATCH)? {
                        files.extend(tx.record_attachments().of(id)?.iter().map(|a| a.sha256));
                        if tx.records().purge(id, now_ms)?.is_some() {
                            tx.emit(Event::RecordChanged { record: id });
                            n += 1;
                        }
                    }
                    Ok((n, files))
                })
                .await?;
            // The files' bytes go at once, unless another record holds the same file.
            self.files.release_freed(files).await?;
            total += purged;
            if purged < PURGE_BATCH {
                return Ok(total);
            }
        }
    }

    /// Tells owners and assignees of open records due within the setting's days, and of
    /// those overdue; answers how many reminders went out.
    pub async fn remind(&self) -> Result<usize, StoreError> {
        let settings = self.settings.current();
        let ahead = settings.records.reminder_days as i32;
        let closed: Vec<String> = settings
            .records
            .workflow
            .closed()
            .map(String::from)
            .collect();
        let today = self.clock.now().to_zoned(jiff::tz::TimeZone::UTC).date();
        self.store
            .write(move |tx| {
                let from = today
                    .checked_sub(OVERDUE_LOOKBACK_DAYS.days())
                    .unwrap_or(today);
                let until = today.checked_add(ahead.days()).unwrap_or(today);
                let mut sent = 0;
                for id in tx.records().due_between(from, until)? {
                    let Some(r) = tx.records().get(id)? else {
                        continue;
                    };
                    let Some(due) = r.due else { continue };
                    if r.deleted_at.is_some() || closed.contains(&r.status) {
                        continue;
                    }
                    let (kind, news) = if due < today {
                        (OVERDUE, RecordNews::Overdue)
                    } else if ahead > 0 {
                        (DUE_SOON, RecordNews::DueSoon)
                    } else {
                        continue;
                    };
                    if tx.records().reminded(id, kind, due)? {
                        continue;
                    }
                    tx.records().note_reminded(id, kind, due)?;
                    let mut people = vec![r.owner];
                    for a in &r.assignees {
                        if !people.contains(a) {
                            people.push(*a);
                        }
                    }
                    for member in people {
                        let Some(user) = tx.users().get(member)? else {
                            continue;
                        };
                        if may_see(user.id, user.role, &r) {
                            tx.emit(Event::RecordNotice {
                                record: id,
                                member,
                                by: None,
                                news: news.clone(),
                            });
                            sent += 1;
                        }
                    }
                }
                Ok(sent)
            })
            .await
    }
}
