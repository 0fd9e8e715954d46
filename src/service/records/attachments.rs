//! Files on records. A file streams to a temp file and is cut off at the size limit; its
//! kind is read from its first bytes and must agree with its name, and a DOCX, ODT or text
//! file is checked whole before it is kept. It is stored as a blob the attachment refers to,
//! added to the record as a change (a version and a history line), served only to those who
//! see the record, and read for text by a background job under limits, so search finds the
//! record by what its files say.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Records;
use super::edits::{save, visible};
use crate::domain::ids::{AttachmentId, RecordId, uuid_v7};
use crate::domain::job::Job;
use crate::domain::media::clean_file_name;
use crate::domain::permission::Permission;
use crate::domain::record::Record;
use crate::domain::record_attachment::{
    ATTACHMENTS_PER_RECORD, Attachment, FileKind, SNIFF_BYTES, TextState, claimed_by_name, identify,
};
use crate::events::Event;
use crate::jobs::{EnqueueOptions, JobError};
use crate::media::blobs::TempWriter;
use crate::media::documents::{self, Extracted, TextLimits};
use crate::service::access::Actor;
use crate::service::error::{ErrorCode, Refusal, ServiceError};
use crate::store::StoreError;

/// What one member can make the server keep in files on records in a day, in MiB, whatever
/// the size limit.
pub const FILE_MIB_PER_DAY: u32 = 1_000;

/// Files a member adds to records in a day with files of up to `max_mib`: 100 at the default
/// 10 MiB, fewer as the limit grows (10 at 100 MiB), so the day's bytes stay within
/// [`FILE_MIB_PER_DAY`].
pub fn files_per_day(max_mib: u32) -> u32 {
    (FILE_MIB_PER_DAY / max_mib.max(1)).clamp(10, 100)
}

/// What records need for files: the blob store with its heavy-work slots (upload checks),
/// and the program run as `hearth read-text` to read a file's text in a process of its own.
pub struct FileTools {
    pub processor: crate::service::media::Processor,
    pub reader: std::path::PathBuf,
}

/// How long a reader process may run before it is killed.
const READER_WALL_TIME: std::time::Duration = std::time::Duration::from_secs(120);

/// The job that reads an attachment's text.
pub const EXTRACT: &str = "records.extract";

/// Which attachment a text job reads.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct ExtractJob {
    record: RecordId,
    attachment: AttachmentId,
}

/// Whether `actor` may add files to `record`: those who edit it, and its assignees.
pub fn may_attach(actor: &Actor, record: &Record) -> bool {
    super::may_edit(actor, record)
        || (record.assignees.contains(&actor.id) && actor.role.may(Permission::EditOwn))
}

/// Whether `actor` may take `file` off `record`: those who edit it, and who added it while
/// they may still add files.
pub fn may_remove(actor: &Actor, record: &Record, file: &Attachment) -> bool {
    super::may_edit(actor, record) || (file.by == actor.id && may_attach(actor, record))
}

/// A file arriving for a record.
pub struct IncomingAttachment {
    record: RecordId,
    name: String,
    file: TempWriter,
    head: Vec<u8>,
    kind: Option<FileKind>,
    received: u64,
    max_bytes: u64,
}

fn storage(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::internal(format!("storing an attachment: {e}"))
}

impl IncomingAttachment {
    /// Takes the next piece: the kind is settled once the head has arrived (a file whose
    /// bytes are not what its name says stops there), and the file is cut off as soon as it
    /// passes the size limit.
    pub async fn push(&mut self, chunk: &[u8]) -> Result<(), ServiceError> {
        if self.kind.is_none() && self.head.len() < SNIFF_BYTES {
            let room = SNIFF_BYTES - self.head.len();
            self.head.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if self.head.len() >= SNIFF_BYTES {
                self.kind = Some(identify(&self.name, &self.head).map_err(wrong_kind)?);
            }
        }
        self.received += chunk.len() as u64;
        if self.received > self.max_bytes {
            return Err(ServiceError::TooLarge(Refusal::new(
                ErrorCode::TooLarge,
                format!(
                    "The file is larger than the {} MiB a record's file may be.",
                    self.max_bytes / crate::domain::settings::MediaSettings::MIB
                ),
            )));
        }
        self.file.push(chunk).await.map_err(storage)
    }
}

fn wrong_kind(why: String) -> ServiceError {
    ServiceError::invalid("file", why)
}

impl Records {
    /// Starts receiving a file named `file_name` for the record `id`: the record must be one
    /// `actor` sees and may add files to, with room for one more, and the name must be of a
    /// kind records take. Each file counts as a change in the hourly allowance.
    pub async fn begin_attachment(
        &self,
        actor: &Actor,
        id: RecordId,
        file_name: &str,
    ) -> Result<IncomingAttachment, ServiceError> {
        let name = clean_file_name(file_name);
        // Refused before a byte is read.
        claimed_by_name(&name).map_err(wrong_kind)?;
        let count = self
            .read_visible(actor, id, move |rx, record| {
                Ok((
                    record,
                    rx.record_attachments().count(id, ATTACHMENTS_PER_RECORD)?,
                ))
            })
            .await;
        let (record, count) = count?;
        room_for_one(actor, &record, count)?;
        let max_mib = self.settings.current().records.attachment_max_mib;
        self.limiter
            .take(
                crate::service::limits::LimitKind::RecordFile,
                &actor.id.to_string(),
                crate::service::limits::Limit::per_window(files_per_day(max_mib), 86_400),
            )
            .map_err(ServiceError::RateLimited)?;
        self.take_change(actor)?;
        let blobs = self.files.blobs().clone();
        let temp = tokio::task::spawn_blocking(move || blobs.temp())
            .await
            .map_err(storage)?
            .map_err(storage)?;
        Ok(IncomingAttachment {
            record: id,
            name,
            file: TempWriter::new(temp),
            head: Vec::new(),
            kind: None,
            received: 0,
            max_bytes: self.settings.current().records.attachment_max_bytes(),
        })
    }

    /// Checks a received file whole, stores it and adds it to its record (one version up,
    /// with a history line), queuing the reading of its text. Nothing is kept on a refusal.
    pub async fn finish_attachment(
        &self,
        actor: &Actor,
        incoming: IncomingAttachment,
    ) -> Result<Attachment, ServiceError> {
        let IncomingAttachment {
            record,
            name,
            file,
            head,
            kind,
            received,
            ..
        } = incoming;
        let kind = match kind {
            Some(k) => k,
            None => identify(&name, &head).map_err(wrong_kind)?,
        };
        let temp = file.finish().await.map_err(storage)?;
        if kind.needs_whole_check() {
            let path = temp.path().to_path_buf();
            self.files
                .heavy(move || documents::check_whole(kind, &path, TextLimits::DEFAULT))
                .await
                .unwrap_or_else(|_| {
                    Err(format!("\"{name}\" could not be read as {}.", kind.label()))
                })
                .map_err(wrong_kind)?;
        }
        let now = self.clock.now();
        let attachment = Attachment {
            id: AttachmentId(uuid_v7(now.as_millisecond(), rand::random())),
            record,
            name,
            kind,
            size: received,
            sha256: temp.sha256(),
            by: actor.id,
            at: now,
            text: if kind.has_text() {
                TextState::Pending
            } else {
                TextState::NotRead
            },
        };
        let job = match kind.has_text() {
            true => Some(self.extract_job(&attachment)?),
            false => None,
        };
        let sha = attachment.sha256;
        let _lock = self.files.blobs().lock(&[sha]).await;
        let blobs = self.files.blobs().clone();
        tokio::task::spawn_blocking(move || blobs.commit(temp))
            .await
            .map_err(storage)?
            .map_err(storage)?;
        let stored = attachment.clone();
        let actor = actor.clone();
        let saved = self
            .store
            .write(move |tx| {
                let record = match visible(tx, &actor, stored.record)? {
                    Ok(r) => r,
                    Err(e) => return Ok(Err(e)),
                };
                let count = tx
                    .record_attachments()
                    .count(record.id, ATTACHMENTS_PER_RECORD)?;
                if let Err(e) = room_for_one(&actor, &record, count) {
                    return Ok(Err(e));
                }
                tx.record_attachments().add(&stored)?;
                if let Some(job) = &job {
                    tx.jobs().enqueue(job)?;
                }
                let line = ("attachment", String::new(), stored.name.clone());
                save(tx, actor.id, now, record, vec![line])?;
                Ok(Ok(()))
            })
            .await
            .map_err(ServiceError::from)
            .and_then(|outcome| outcome);
        if let Err(e) = saved {
            // The file goes again unless another attachment or photo has the same bytes.
            self.files.forget_orphans(vec![sha]).await;
            return Err(e);
        }
        if let Some(jobs) = self.jobs.get() {
            jobs.notify();
        }
        tracing::info!(record = %attachment.record, attachment = %attachment.id, kind = kind.as_str(), size = attachment.size, "record file attached");
        Ok(attachment)
    }

    fn extract_job(&self, attachment: &Attachment) -> Result<Job, ServiceError> {
        let jobs = self
            .jobs
            .get()
            .ok_or_else(|| ServiceError::internal("the job queue is not attached to records"))?;
        jobs.new_job(
            EXTRACT,
            &ExtractJob {
                record: attachment.record,
                attachment: attachment.id,
            },
            EnqueueOptions::default(),
        )
        .map_err(|e| ServiceError::internal(e.to_string()))
    }

    /// The files on a record `actor` sees, oldest first.
    pub async fn attachments(
        &self,
        actor: &Actor,
        id: RecordId,
    ) -> Result<Vec<Attachment>, ServiceError> {
        self.read_visible(actor, id, move |rx, _| rx.record_attachments().of(id))
            .await
    }

    /// A file of a record `actor` sees, and where its bytes are (404 for a record they do
    /// not see, so files cannot be probed).
    pub async fn attachment_file(
        &self,
        actor: &Actor,
        id: RecordId,
        attachment: AttachmentId,
    ) -> Result<(Attachment, PathBuf), ServiceError> {
        let found = self
            .read_visible(actor, id, move |rx, _| {
                rx.record_attachments().get(id, attachment)
            })
            .await?
            .ok_or_else(ServiceError::not_found)?;
        let path = self.files.blobs().path_of(&found.sha256);
        Ok((found, path))
    }

    /// Takes a file off a record (one version up, with a history line); its bytes are deleted
    /// at once when nothing else refers to them.
    pub async fn remove_attachment(
        &self,
        actor: &Actor,
        id: RecordId,
        attachment: AttachmentId,
    ) -> Result<Record, ServiceError> {
        self.take_change(actor)?;
        let now = self.clock.now();
        let actor = actor.clone();
        let (saved, sha) = self
            .store
            .write(move |tx| {
                let record = match visible(tx, &actor, id)? {
                    Ok(r) => r,
                    Err(e) => return Ok(Err(e)),
                };
                let Some(file) = tx.record_attachments().get(id, attachment)? else {
                    return Ok(Err(ServiceError::not_found()));
                };
                if !may_remove(&actor, &record, &file) {
                    return Ok(Err(ServiceError::forbidden(
                        "Files are removed by who added them, the record's owner and moderators.",
                    )));
                }
                tx.record_attachments()
                    .remove(id, attachment, now.as_millisecond())?;
                let line = ("attachment", file.name, String::new());
                Ok(Ok((
                    save(tx, actor.id, now, record, vec![line])?,
                    file.sha256,
                )))
            })
            .await??;
        if let Err(e) = self.files.release_freed(vec![sha]).await {
            // The collector deletes it on its next run.
            tracing::warn!("a removed record file's bytes stay until the collector runs: {e}");
        }
        Ok(saved)
    }

    /// Reads a file's text in a reader process (one at a time) under the kernel's limits on its
    /// memory and CPU time, and a wall-clock limit after which it is killed. A reader that is
    /// killed or fails says the file could not be read; one that cannot be started is retried.
    async fn read_text(
        &self,
        kind: FileKind,
        path: &std::path::Path,
    ) -> Result<Extracted, JobError> {
        let _slot = self
            .reading
            .acquire()
            .await
            .map_err(|e| JobError::retry(e.to_string()))?;
        let mut reader = tokio::process::Command::new(&*self.reader);
        reader
            .arg("read-text")
            .arg(kind.as_str())
            .arg(path)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        let limits = format!(
            "{} seconds of work and {} GiB of memory",
            documents::READER_CPU_SECONDS,
            documents::READER_MEMORY_BYTES >> 30
        );
        match tokio::time::timeout(READER_WALL_TIME, reader.output()).await {
            Ok(Ok(out)) if out.status.success() => Ok(serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| {
                    Extracted::Refused(format!("the reader's answer was unreadable ({e})"))
                })),
            Ok(Ok(out)) => Ok(Extracted::Refused(format!(
                "the reader stopped on this file ({}): it is damaged, or needs more than {limits}",
                out.status
            ))),
            Ok(Err(e)) => Err(JobError::retry(format!(
                "cannot start the text reader {}: {e}",
                self.reader.display()
            ))),
            Err(_) => Ok(Extracted::Refused(format!(
                "reading took longer than {} seconds",
                READER_WALL_TIME.as_secs()
            ))),
        }
    }

    /// Runs a text job: reads the file within the limits (one file at a time) and saves the
    /// text (or why there is none) with the attachment; the record is indexed again.
    pub(super) async fn run_extract_job(&self, job: Job) -> Result<(), JobError> {
        let ExtractJob { record, attachment } = serde_json::from_slice(&job.payload)
            .map_err(|e| JobError::permanent(format!("a text job that cannot be read: {e}")))?;
        let found = self
            .store
            .read(move |rx| rx.record_attachments().get(record, attachment))
            .await
            .map_err(|e| JobError::retry(e.to_string()))?;
        let Some(file) = found.filter(|a| a.text == TextState::Pending) else {
            return Ok(());
        };
        let path = self.files.blobs().path_of(&file.sha256);
        let extracted = self.read_text(file.kind, &path).await?;
        let (state, text) = match extracted {
            Extracted::Whole(text) => (
                TextState::Read {
                    chars: text.chars().count() as u64,
                },
                Some(text),
            ),
            Extracted::Cut(text, why) => (
                TextState::Cut {
                    chars: text.chars().count() as u64,
                    why,
                },
                Some(text),
            ),
            Extracted::Refused(why) => (TextState::Refused { why }, None),
        };
        tracing::info!(record = %record, attachment = %attachment, text = state.as_str(), "record file read");
        self.store
            .write(move |tx| {
                // Removed meanwhile: nothing to save.
                if let Some(mut file) = tx.record_attachments().get(record, attachment)? {
                    file.text = state.clone();
                    tx.record_attachments().set_text(&file, text.as_deref())?;
                    tx.emit(Event::RecordChanged { record });
                }
                Ok::<_, StoreError>(())
            })
            .await
            .map_err(|e| JobError::retry(e.to_string()))
    }
}

/// `403` unless `actor` may add files to `record`; `409` when it has as many as it takes.
fn room_for_one(actor: &Actor, record: &Record, count: usize) -> Result<(), ServiceError> {
    if !may_attach(actor, record) {
        return Err(ServiceError::forbidden(
            "Files are added by the record's owner, its assignees and moderators.",
        ));
    }
    if count >= ATTACHMENTS_PER_RECORD {
        return Err(ServiceError::conflict(
            ErrorCode::Conflict,
            format!(
                "This record has {ATTACHMENTS_PER_RECORD} files, the most it takes: remove one first."
            ),
        ));
    }
    Ok(())
}
