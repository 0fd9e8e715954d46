//! Media uploads: receiving a file (sniffed, size-capped, quota-checked, written to a temp
//! file as it arrives), checking it decodes as what it claims, storing it content-addressed,
//! the processing job that makes the variants, the moderation queue, access to the files, and
//! the garbage collector for blobs nothing references any more.
//!
//! A refused upload leaves nothing behind: the temp file is removed when the upload is
//! dropped, and the record, its blob references and its processing job are one transaction.

use std::path::PathBuf;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::StoreError;
use super::audit::{self, Actor};
use super::limits::{Decision, Limit, LimitKind, RateLimiter};
use super::settings::Settings;
use crate::clock::SharedClock;
use crate::domain::account::{AccountStatus, FieldError, User};
use crate::domain::ids::{MediaId, uuid_v7};
use crate::domain::job::Job;
use crate::domain::media::{
    self, BlobRef, DecodeLimits, Format, Media, MediaState, Variant, clean_file_name,
};
use crate::domain::permission::Permission;
use crate::domain::settings::MediaSettings;
use crate::jobs::{EnqueueOptions, JobError, JobQueue};
use crate::media::blobs::{BlobStore, TempBlob};
use crate::media::container::{self, ContainerError};
use crate::media::photo::{self, PhotoError};
use crate::store::Store;

/// The job kind that makes a new upload's variants.
pub const PROCESS_MEDIA: &str = "media.process";
/// The recurring job that deletes unreferenced blobs and stale temp files.
pub const COLLECT_BLOBS: &str = "media.collect";
/// How long an unreferenced blob stays before the collector deletes it.
pub const BLOB_GRACE: SignedDuration = SignedDuration::from_hours(1);
/// Bytes read before deciding what an upload is.
const SNIFF_BYTES: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Not a photo or video we accept, or not decodable as what it claims (415).
    #[error("{0}")]
    Unsupported(String),
    /// More bytes than the limit for its kind, or than the member's quota (413).
    #[error("{0}")]
    TooLarge(String),
    /// Decodes, but is over a limit: pixels, frames, duration (422).
    #[error("{0}")]
    OverLimit(String),
    #[error("too many uploads; try again in {} s", .0.retry_after_seconds)]
    RateLimited(Decision),
    #[error("{0}")]
    Forbidden(String),
    #[error("no such media")]
    NotFound,
    #[error("some fields need attention")]
    Invalid(Vec<FieldError>),
    /// The disk refused (full, permissions): nothing was stored (507 / 500).
    #[error("{0}")]
    Storage(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn storage(e: std::io::Error) -> MediaError {
    tracing::error!("media storage: {e}");
    if e.raw_os_error() == Some(28) {
        MediaError::Storage(
            "The server's disk is full; nothing was stored. Tell the site's admins.".into(),
        )
    } else {
        MediaError::Storage(format!(
            "The server could not store the file ({}); nothing was stored.",
            e.kind()
        ))
    }
}

/// A file arriving: written to a temp file as it comes, sniffed from its first bytes, and
/// cut off as soon as it passes its size limit or the member's remaining quota.
pub struct IncomingFile {
    temp: TempBlob,
    head: Vec<u8>,
    format: Option<Format>,
    settings: MediaSettings,
    quota_left: u64,
    name: String,
}

impl IncomingFile {
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), MediaError> {
        if self.format.is_none() && self.head.len() < SNIFF_BYTES {
            self.head.extend_from_slice(chunk);
            if self.head.len() >= SNIFF_BYTES {
                self.format = Some(identify(&self.head)?);
            }
        }
        let size = self.temp.size() + chunk.len() as u64;
        let limit = match self.format {
            Some(f) if f.is_video() => self.settings.max_video_mib,
            Some(_) => self.settings.max_photo_mib,
            None => self.settings.max_video_mib.max(self.settings.max_photo_mib),
        };
        let limit_bytes = u64::from(limit) * MediaSettings::MIB;
        if size > limit_bytes {
            let kind = if self.format.is_some_and(Format::is_video) {
                "video"
            } else {
                "photo"
            };
            return Err(MediaError::TooLarge(format!(
                "The file is larger than the {limit} MiB allowed for a {kind}."
            )));
        }
        if size > self.quota_left {
            return Err(MediaError::TooLarge(format!(
                "This upload does not fit in your storage: {} MiB left. Delete some media first.",
                self.quota_left / MediaSettings::MIB
            )));
        }
        self.temp.write(chunk).map_err(storage)
    }

    /// What the complete file is; refuses anything we do not accept.
    fn format(&mut self) -> Result<Format, MediaError> {
        if self.temp.size() == 0 {
            return Err(MediaError::Unsupported(
                "The file is empty; choose a photo or a video.".into(),
            ));
        }
        match self.format {
            Some(f) => Ok(f),
            None => identify(&self.head),
        }
    }
}

/// Photos by their bytes, videos by their container; anything else is refused.
fn identify(head: &[u8]) -> Result<Format, MediaError> {
    if let Some(f) = media::sniff_image(head) {
        return Ok(f);
    }
    match container::sniff(head) {
        Some(container::Container::Mp4) => Ok(Format::Mp4),
        Some(container::Container::WebM) => Ok(Format::Webm),
        None => Err(MediaError::Unsupported(
            "Only photos (JPEG, PNG, WebP, GIF) and videos (MP4, WebM) can be uploaded; this file is none of them."
                .into(),
        )),
    }
}

fn photo_error(e: PhotoError) -> MediaError {
    match e {
        PhotoError::Undecodable(why) => MediaError::Unsupported(why),
        PhotoError::TooBig(why) => MediaError::OverLimit(why),
        PhotoError::Io(why) => MediaError::Storage(format!(
            "The server could not read the upload back ({why}); nothing was stored."
        )),
    }
}

/// What checking an upload found, before it is stored.
struct Checked {
    width: u32,
    height: u32,
    duration_ms: Option<u64>,
    animated: bool,
    /// Metadata was blanked in the file, so its hash must be taken again.
    changed: bool,
}

/// Blanks an MP4's metadata boxes in place (type `free`, payload zeroed): a phone's location
/// and camera details go, and no media offset moves. Returns how many boxes were blanked.
fn blank_mp4_metadata(path: &std::path::Path) -> Result<usize, MediaError> {
    use std::io::{Seek, SeekFrom, Write};
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(storage)?;
    let boxes = container::mp4_metadata_boxes(&mut file)
        .map_err(|e| MediaError::Unsupported(format!("The video file is damaged ({e}).")))?;
    let zeros = [0u8; 64 * 1024];
    for b in &boxes {
        file.seek(SeekFrom::Start(b.start + 4)).map_err(storage)?;
        file.write_all(b"free").map_err(storage)?;
        file.seek(SeekFrom::Start(b.body)).map_err(storage)?;
        let mut left = b.end - b.body;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            file.write_all(&zeros[..n]).map_err(storage)?;
            left -= n as u64;
        }
    }
    file.sync_all().map_err(storage)?;
    Ok(boxes.len())
}

#[derive(Clone)]
pub struct MediaService {
    /// The store, clock, blob store, settings and limits it shares with the jobs.
    core: Processor,
    queue: JobQueue,
    limiter: Arc<RateLimiter>,
    /// Decoding is CPU- and memory-heavy: at most this many checks run at once.
    decoding: Arc<tokio::sync::Semaphore>,
}

/// The background side: the processing job and the collector. Built before the job queue
/// (whose handlers it provides); [`MediaService`] is built from it once the queue exists.
#[derive(Clone)]
pub struct Processor {
    store: Store,
    clock: SharedClock,
    blobs: BlobStore,
    settings: Settings,
    limits: DecodeLimits,
}

impl Processor {
    pub fn new(store: Store, clock: SharedClock, blobs: BlobStore, settings: Settings) -> Self {
        Self {
            store,
            clock,
            blobs,
            settings,
            limits: DecodeLimits::DEFAULT,
        }
    }
}

impl MediaService {
    pub fn new(processor: &Processor, queue: JobQueue, limiter: Arc<RateLimiter>) -> Self {
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            core: processor.clone(),
            queue,
            limiter,
            decoding: Arc::new(tokio::sync::Semaphore::new(cpus)),
        }
    }

    /// Starts receiving a file from `user`: checks they may upload now and how much room
    /// they have. `file_name` is kept (cleaned) for display only.
    pub async fn begin_upload(
        &self,
        user: &User,
        file_name: &str,
    ) -> Result<IncomingFile, MediaError> {
        may_upload(user)?;
        let settings = self.core.settings.current().media.clone();
        let limit = Limit::per_window(settings.uploads_per_hour, 3600);
        self.limiter
            .take(LimitKind::Upload, &user.id.to_string(), limit)
            .map_err(MediaError::RateLimited)?;
        self.incoming(user, settings, file_name).await
    }

    /// Starts receiving a video's poster image (part of the same upload).
    pub async fn begin_poster(&self, user: &User) -> Result<IncomingFile, MediaError> {
        may_upload(user)?;
        let settings = self.core.settings.current().media.clone();
        self.incoming(user, settings, "poster").await
    }

    async fn incoming(
        &self,
        user: &User,
        settings: MediaSettings,
        file_name: &str,
    ) -> Result<IncomingFile, MediaError> {
        let id = user.id;
        let used = self.core.store.read(move |rx| rx.media_usage(id)).await?;
        let quota = settings.quota_bytes(user.supporter);
        Ok(IncomingFile {
            temp: self.core.blobs.temp().map_err(storage)?,
            head: Vec::new(),
            format: None,
            quota_left: quota.saturating_sub(used),
            settings,
            name: clean_file_name(file_name),
        })
    }

    /// Checks a received file (and a video's poster), stores it and queues its processing.
    pub async fn finish_upload(
        &self,
        user: &User,
        mut file: IncomingFile,
        poster: Option<IncomingFile>,
    ) -> Result<Media, MediaError> {
        let format = file.format()?;
        let (poster, poster_format) = match poster.filter(|p| p.temp.size() > 0) {
            Some(mut p) if format.is_video() => {
                let f = p.format()?;
                if f.is_video() {
                    return Err(MediaError::Unsupported(
                        "The poster must be a photo (JPEG, PNG, WebP or GIF).".into(),
                    ));
                }
                (Some(p), Some(f))
            }
            _ => (None, None),
        };
        let upload_size = file.temp.size() + poster.as_ref().map_or(0, |p| p.temp.size());
        let checked = {
            let _slot = self
                .decoding
                .acquire()
                .await
                .map_err(|_| MediaError::Storage("shutting down".into()))?;
            let (path, limits) = (file.temp.path().to_path_buf(), self.core.limits);
            let max_seconds = self.core.settings.current().media.max_video_seconds;
            let poster_path = poster.as_ref().map(|p| p.temp.path().to_path_buf());
            tokio::task::spawn_blocking(move || {
                if let (Some(p), Some(f)) = (&poster_path, poster_format) {
                    photo::check(p, f, limits).map_err(photo_error)?;
                }
                check_file(&path, format, limits, max_seconds)
            })
            .await
            .map_err(|e| MediaError::Storage(format!("the check stopped: {e}")))??
        };
        let now = self.core.clock.now();
        let IncomingFile { mut temp, name, .. } = file;
        if checked.changed {
            temp = tokio::task::spawn_blocking(move || temp.rehash().map(|()| temp))
                .await
                .map_err(|e| MediaError::Storage(format!("the check stopped: {e}")))?
                .map_err(storage)?;
        }
        let mut record = Media {
            id: MediaId(uuid_v7(now.as_millisecond(), rand::random())),
            owner: user.id,
            format,
            original_name: name,
            upload_size,
            created_at: now,
            state: MediaState::Processing,
            width: checked.width,
            height: checked.height,
            duration_ms: checked.duration_ms,
            animated: checked.animated,
            blurhash: None,
            original: None,
            poster: None,
            variants: Vec::new(),
        };
        let _guard = self.core.blobs.lock().await;
        let poster = poster.zip(poster_format).map(|(p, f)| (p.temp, f));
        if let Err(e) = self
            .store_upload(&mut record, user, temp, format, poster)
            .await
        {
            // Whatever part was written goes again (unless other records share it).
            self.forget_orphans(&record).await;
            return Err(e);
        }
        self.queue.notify();
        tracing::info!(media = %record.id, user = %user.id, format = record.format.as_str(), size = record.upload_size, "media uploaded");
        Ok(record)
    }

    /// Moves the checked files into the blob store and saves the record with its processing
    /// job, in one transaction that also re-checks the quota and that the owner may still
    /// upload. Fills in `record`'s blobs as they are written, so a failure can clean up.
    async fn store_upload(
        &self,
        record: &mut Media,
        user: &User,
        temp: TempBlob,
        format: Format,
        poster: Option<(TempBlob, Format)>,
    ) -> Result<(), MediaError> {
        record.original = Some(self.commit(temp, format).await?);
        if let Some((temp, format)) = poster {
            record.poster = Some(self.commit(temp, format).await?);
        }
        let job = self
            .queue
            .new_job(PROCESS_MEDIA, &record.id, EnqueueOptions::default())
            .map_err(|e| MediaError::Storage(e.to_string()))?;
        let stored = record.clone();
        let quota = self
            .core
            .settings
            .current()
            .media
            .quota_bytes(user.supporter);
        self.core
            .store
            .write(move |tx| {
                let owner = tx.read_user(stored.owner)?;
                if owner.is_none_or(|u| may_upload(&u).is_err()) {
                    return Ok(Err(MediaError::Forbidden(
                        "Your account cannot upload media.".into(),
                    )));
                }
                if tx.media_usage_of(stored.owner)? + stored.upload_size > quota {
                    return Ok(Err(MediaError::TooLarge(
                        "This upload does not fit in your storage. Delete some media first.".into(),
                    )));
                }
                tx.insert_media(&stored)?;
                tx.enqueue_job(&job)?;
                Ok::<_, StoreError>(Ok(()))
            })
            .await?
    }

    /// Moves a finished temp file into the store (fsync and rename, on a blocking thread;
    /// call with the blob lock held).
    async fn commit(&self, temp: TempBlob, format: Format) -> Result<BlobRef, MediaError> {
        let size = temp.size();
        let blobs = self.core.blobs.clone();
        let sha256 = tokio::task::spawn_blocking(move || blobs.commit(temp))
            .await
            .map_err(|e| MediaError::Storage(format!("storing stopped: {e}")))?
            .map_err(storage)?;
        Ok(BlobRef {
            sha256,
            size,
            content_type: format.content_type().into(),
        })
    }

    /// After a failed save, removes the blob files the record would have used, unless
    /// something else uses them (called with the blob lock held).
    async fn forget_orphans(&self, record: &Media) {
        for blob in record.blobs() {
            let sha = blob.sha256;
            let used = self.core.store.read(move |rx| rx.blob_refs(&sha)).await;
            if matches!(used, Ok(0)) {
                let _ = self.core.blobs.remove(&sha);
            }
        }
    }

    /// A member's own media, newest first.
    pub async fn library(&self, user: &User) -> Result<Vec<Media>, MediaError> {
        let id = user.id;
        Ok(self.core.store.read(move |rx| rx.media_of(id)).await?)
    }

    /// How much of their quota a member uses, and the quota, in bytes.
    pub async fn usage(&self, user: &User) -> Result<(u64, u64), MediaError> {
        let id = user.id;
        let used = self.core.store.read(move |rx| rx.media_usage(id)).await?;
        Ok((
            used,
            self.core
                .settings
                .current()
                .media
                .quota_bytes(user.supporter),
        ))
    }

    /// The record, if `viewer` may see it (otherwise `NotFound`, so ids are not probed).
    pub async fn get(&self, viewer: &User, id: MediaId) -> Result<Media, MediaError> {
        let found = self
            .core
            .store
            .read(move |rx| {
                let Some(media) = rx.media(id)? else {
                    return Ok(None);
                };
                let status = rx.user(media.owner)?.map(|u| u.status);
                Ok::<_, StoreError>(Some((media, status)))
            })
            .await?;
        match found {
            Some((media, Some(status))) if media::may_view(viewer, &media, &status) => Ok(media),
            Some((media, None)) if viewer.role.may(Permission::Moderate) => Ok(media),
            _ => Err(MediaError::NotFound),
        }
    }

    /// The file behind `/media/{id}/{variant}`, if `viewer` may see it.
    pub async fn file(
        &self,
        viewer: &User,
        id: MediaId,
        variant: Variant,
    ) -> Result<(BlobRef, PathBuf), MediaError> {
        let media = self.get(viewer, id).await?;
        let blob = match variant {
            Variant::Video if media.format.is_video() => media.original.clone(),
            v => media.variant(v).cloned(),
        }
        .ok_or(MediaError::NotFound)?;
        let path = self.core.blobs.path_of(&blob.sha256);
        Ok((blob, path))
    }

    /// Deletes one of the member's own media, or (for staff) anyone's, with an audit entry.
    pub async fn delete(&self, actor: &User, id: MediaId, reason: &str) -> Result<(), MediaError> {
        let media = self.get(actor, id).await?;
        let own = media.owner == actor.id;
        if !own && !actor.role.may(Permission::Moderate) {
            return Err(MediaError::NotFound);
        }
        let now = self.core.clock.now();
        let entry = (!own).then(|| {
            audit::entry(
                &Actor::from(actor),
                now,
                "media.remove",
                &media.id.to_string(),
                reason,
                &format!("owner {}", media.owner),
            )
        });
        let removed = self
            .core
            .store
            .write(move |tx| {
                if let Some(entry) = &entry {
                    tx.append_audit(audit::new_id(entry), entry)?;
                }
                tx.delete_media(id, now.as_millisecond())
            })
            .await?;
        if removed.is_none() {
            return Err(MediaError::NotFound);
        }
        tracing::info!(media = %id, by = %actor.id, "media deleted");
        Ok(())
    }

    /// The moderation queue, oldest first (staff).
    pub async fn queue(&self, staff: &User, limit: usize) -> Result<Vec<Media>, MediaError> {
        if !staff.role.may(Permission::Moderate) {
            return Err(MediaError::Forbidden(
                "Only moderators and admins see the media queue.".into(),
            ));
        }
        Ok(self
            .core
            .store
            .read(move |rx| rx.media_queue(limit))
            .await?)
    }

    /// The latest uploads across the site (staff).
    pub async fn recent(&self, staff: &User, limit: usize) -> Result<Vec<Media>, MediaError> {
        if !staff.role.may(Permission::Moderate) {
            return Err(MediaError::Forbidden(
                "Only moderators and admins see everyone's media.".into(),
            ));
        }
        Ok(self
            .core
            .store
            .read(move |rx| rx.recent_media(limit))
            .await?)
    }

    /// Approves or rejects (with a reason the member sees) media waiting in the queue.
    pub async fn decide(
        &self,
        staff: &User,
        id: MediaId,
        approve: bool,
        reason: &str,
    ) -> Result<Media, MediaError> {
        if !staff.role.may(Permission::Moderate) {
            return Err(MediaError::Forbidden(
                "Only moderators and admins decide on media.".into(),
            ));
        }
        let reason = reason.trim().to_string();
        if !approve && (reason.is_empty() || reason.chars().count() > 500) {
            return Err(MediaError::Invalid(vec![FieldError::new(
                "reason",
                "Say why, in 1 to 500 characters; the member sees it.",
            )]));
        }
        let now = self.core.clock.now();
        let entry = audit::entry(
            &Actor::from(staff),
            now,
            if approve {
                "media.approve"
            } else {
                "media.reject"
            },
            &id.to_string(),
            &reason,
            "",
        );
        let decided = self
            .core
            .store
            .write(move |tx| {
                let Some(mut media) = tx.read_media(id)? else {
                    return Ok(None);
                };
                if media.state != MediaState::PendingApproval {
                    return Ok(Some(Err(media)));
                }
                media.state = if approve {
                    MediaState::Ready
                } else {
                    MediaState::Rejected(reason.clone())
                };
                tx.update_media(&media, now.as_millisecond())?;
                tx.append_audit(audit::new_id(&entry), &entry)?;
                Ok::<_, StoreError>(Some(Ok(media)))
            })
            .await?;
        match decided {
            None => Err(MediaError::NotFound),
            Some(Err(media)) => Err(MediaError::Invalid(vec![FieldError::new(
                "decision",
                format!(
                    "This upload is {}, not waiting for a decision.",
                    media.state.label()
                ),
            )])),
            Some(Ok(media)) => Ok(media),
        }
    }
}

impl Processor {
    /// The `media.process` job: its payload is the media id.
    pub async fn run_process_job(&self, job: Job) -> Result<(), JobError> {
        let id: MediaId = serde_json::from_slice(&job.payload)
            .map_err(|e| JobError::permanent(format!("bad payload: {e}")))?;
        self.process(id).await
    }

    /// The `media.collect` job.
    pub async fn run_collect_job(&self) -> Result<(), JobError> {
        self.collect()
            .await
            .map(|_| ())
            .map_err(|e| JobError::retry(e.to_string()))
    }

    /// The processing job: makes the variants of one upload and moves it on to ready (or
    /// the queue). A photo's original is dropped afterwards: it carries the metadata.
    pub async fn process(&self, id: MediaId) -> Result<(), JobError> {
        let Some(media) = self
            .store
            .read(move |rx| rx.media(id))
            .await
            .map_err(|e| JobError::retry(e.to_string()))?
        else {
            return Ok(());
        };
        if media.state != MediaState::Processing {
            return Ok(());
        }
        // A photo is made from its original; a video's image variants from its poster.
        let source = if media.format.is_video() {
            media.poster.as_ref().map(|p| (p, poster_format(p)))
        } else {
            media.original.as_ref().map(|o| (o, media.format))
        };
        let processed = match source {
            None => None,
            Some((blob, format)) => {
                let path = self.blobs.path_of(&blob.sha256);
                let limits = self.limits;
                let result =
                    tokio::task::spawn_blocking(move || photo::process(&path, format, limits))
                        .await
                        .map_err(|e| JobError::retry(e.to_string()))?;
                Some(result)
            }
        };
        let now = self.clock.now();
        let needs_approval = self.settings.current().media.needs_approval;
        let mut next = media.clone();
        next.poster = None;
        if !media.format.is_video() {
            next.original = None;
        }
        let _guard = self.blobs.lock().await;
        match processed {
            Some(Err(PhotoError::Io(why))) => return Err(JobError::retry(why)),
            Some(Err(e)) => next.state = MediaState::Failed(e.to_string()),
            Some(Ok(p)) => {
                let blobs = self.blobs.clone();
                let encoded = p.variants;
                let variants = tokio::task::spawn_blocking(move || {
                    encoded
                        .iter()
                        .map(|(variant, bytes)| {
                            let sha256 = blobs.put(bytes)?;
                            Ok((
                                *variant,
                                BlobRef {
                                    sha256,
                                    size: bytes.len() as u64,
                                    content_type: "image/webp".into(),
                                },
                            ))
                        })
                        .collect::<std::io::Result<Vec<_>>>()
                })
                .await
                .map_err(|e| JobError::retry(e.to_string()))?
                .map_err(|e| JobError::retry(e.to_string()))?;
                next.variants = variants;
                next.blurhash = Some(p.blurhash);
                next.animated = p.animated;
                if !media.format.is_video() {
                    (next.width, next.height) = (p.width, p.height);
                }
                next.state = ready_state(needs_approval);
            }
            None => next.state = ready_state(needs_approval),
        }
        self.save_processed(next, now).await
    }

    async fn save_processed(&self, next: Media, now: Timestamp) -> Result<(), JobError> {
        let id = next.id;
        self.store
            .write(move |tx| {
                // Deleted while processing: nothing to save (its variants become garbage).
                if tx.read_media(next.id)?.is_some() {
                    tx.update_media(&next, now.as_millisecond())?;
                }
                Ok::<_, StoreError>(())
            })
            .await
            .map_err(|e| JobError::retry(e.to_string()))?;
        tracing::info!(media = %id, "media processed");
        Ok(())
    }

    /// The collector: deletes blobs unreferenced for longer than the grace period, and temp
    /// files a crash left behind.
    pub async fn collect(&self) -> Result<usize, StoreError> {
        let cutoff = (self.clock.now() - BLOB_GRACE).as_millisecond();
        let candidates = self
            .store
            .read(move |rx| rx.unreferenced_blobs(cutoff, 1000))
            .await?;
        let mut removed = 0;
        let _guard = self.blobs.lock().await;
        // Files no record uses and the list does not know (a crash between writing a blob and
        // committing its record) join the list now and go after the grace period. With the
        // lock held no upload is between those two steps.
        let blobs = self.blobs.clone();
        let on_disk = tokio::task::spawn_blocking(move || blobs.list())
            .await
            .map_err(|e| StoreError::Database(e.to_string()))?
            .map_err(|e| StoreError::Database(format!("listing the blob files: {e}")))?;
        let now_ms = self.clock.now().as_millisecond();
        let noted = self
            .store
            .write(move |tx| {
                let mut noted = 0;
                for sha in &on_disk {
                    if tx.note_if_unreferenced(sha, now_ms)? {
                        noted += 1;
                    }
                }
                Ok::<_, StoreError>(noted)
            })
            .await?;
        if noted > 0 {
            tracing::info!(
                blobs = noted,
                "found unreferenced blob files; deleting them after the grace period"
            );
        }
        for sha in candidates {
            if self
                .store
                .write(move |tx| tx.forget_unreferenced_blob(&sha, cutoff))
                .await?
            {
                match self.blobs.remove(&sha) {
                    Ok(()) => removed += 1,
                    Err(e) => tracing::warn!(
                        "could not delete blob {}: {e}",
                        crate::domain::hex::encode(&sha)
                    ),
                }
            }
        }
        let swept = self
            .blobs
            .sweep_temp(std::time::Duration::from_secs(3600))
            .unwrap_or(0);
        if removed + swept > 0 {
            tracing::info!(
                blobs = removed,
                temp_files = swept,
                "media garbage collected"
            );
        }
        Ok(removed)
    }
}

fn ready_state(needs_approval: bool) -> MediaState {
    if needs_approval {
        MediaState::PendingApproval
    } else {
        MediaState::Ready
    }
}

fn poster_format(blob: &BlobRef) -> Format {
    match blob.content_type.as_str() {
        "image/png" => Format::Png,
        "image/gif" => Format::Gif,
        "image/webp" => Format::Webp,
        _ => Format::Jpeg,
    }
}

/// Whether `user` may upload: members and above, with a confirmed address, in good standing.
fn may_upload(user: &User) -> Result<(), MediaError> {
    if !user.role.may(Permission::Create) || user.status != AccountStatus::Active {
        return Err(MediaError::Forbidden(
            "Your account cannot upload media.".into(),
        ));
    }
    if !user.email_verified {
        return Err(MediaError::Forbidden(
            "Confirm your email address before uploading (see the mail we sent you).".into(),
        ));
    }
    Ok(())
}

/// Checks a whole upload on a blocking thread: photos decode within the limits, videos have
/// a container we read and a duration within the limit.
fn check_file(
    path: &std::path::Path,
    format: Format,
    limits: DecodeLimits,
    max_seconds: u32,
) -> Result<Checked, MediaError> {
    if !format.is_video() {
        let c = photo::check(path, format, limits).map_err(photo_error)?;
        return Ok(Checked {
            width: c.width,
            height: c.height,
            duration_ms: None,
            animated: c.frames > 1,
            changed: false,
        });
    }
    let mut file = std::fs::File::open(path).map_err(storage)?;
    let info = container::probe(&mut file).map_err(|e| match e {
        ContainerError::Unsupported(why) => MediaError::Unsupported(format!(
            "This video format is not supported ({why}); upload MP4 or WebM."
        )),
        ContainerError::Malformed(why) => {
            MediaError::Unsupported(format!("The video file is damaged or incomplete ({why})."))
        }
    })?;
    if info.duration_ms > u64::from(max_seconds) * 1000 {
        return Err(MediaError::OverLimit(format!(
            "The video is {} s long; at most {max_seconds} s are allowed.",
            info.duration_ms / 1000
        )));
    }
    let changed = format == Format::Mp4 && blank_mp4_metadata(path)? > 0;
    Ok(Checked {
        width: info.width,
        height: info.height,
        duration_ms: Some(info.duration_ms),
        animated: false,
        changed,
    })
}
