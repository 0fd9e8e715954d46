//! Media uploads: receiving a file (sniffed, size-capped, quota-checked, written to a temp
//! file as it arrives), checking it decodes as what it claims, storing it content-addressed,
//! the processing job that makes the variants, the moderation queue, access to the files, and
//! the garbage collector for blobs nothing references any more.
//!
//! A refused upload leaves nothing behind: the temp file is removed when the upload is
//! dropped, and the record, its blob references and its processing job are one transaction.

use std::path::PathBuf;
use std::sync::Arc;

use jiff::SignedDuration;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use super::StoreError;
use super::access::{Access, Actor};
use super::audit;
use super::error::ServiceError;
use super::limits::{Limit, LimitKind, RateLimiter};
use super::member_data::MemberData;
use super::settings::Settings;
use crate::clock::SharedClock;
use crate::domain::account::{AccountStatus, User};
use crate::domain::ids::{MediaId, uuid_v7};
use crate::domain::job::Job;
use crate::domain::media::{
    self, BlobRef, DecodeLimits, Format, Media, MediaState, Variant, clean_file_name,
};
use crate::domain::permission::Permission;
use crate::domain::settings::MediaSettings;
use crate::events::Event;
use crate::jobs::{EnqueueOptions, JobError, JobPlan, JobQueue};
use crate::media::blobs::{BlobStore, TempBlob, TempWriter, hash_of};
use crate::media::container::{self, ContainerError};
use crate::media::photo::{self, PhotoError};
use crate::store::{Rx, Store, Tx, Versioned};

/// The job kind that makes a new upload's variants.
pub const PROCESS_MEDIA: &str = "media.process";
/// The recurring job that deletes unreferenced blobs and stale temp files.
pub const COLLECT_BLOBS: &str = "media.collect";
/// How long a blob file no record knows stays before the collector deletes it: a crash between
/// writing a blob and committing its record leaves such files.
pub const BLOB_GRACE: SignedDuration = SignedDuration::from_hours(1);
/// Bytes read before deciding what an upload is.
const SNIFF_BYTES: usize = 64;
/// Most decodes at once (upload checks and processing jobs together). A 12-megapixel photo
/// takes about 75 MiB while its variants are made; two at a time keeps a burst of uploads
/// well under 256 MiB however many arrive (the rest wait), and uses both cores of a small
/// server.
const HEAVY_WORK_SLOTS: usize = 2;

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
    /// The disk refused (full, permissions): nothing was stored (507).
    #[error("{0}")]
    Storage(String),
    /// Not found, forbidden, rate limited, invalid, the store: the kinds every service shares.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<StoreError> for MediaError {
    fn from(e: StoreError) -> Self {
        Self::Service(e.into())
    }
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

fn stopped(e: impl std::fmt::Display) -> MediaError {
    MediaError::Storage(format!("the work stopped: {e}"))
}

fn forbidden(why: &str) -> MediaError {
    ServiceError::forbidden(why).into()
}

/// A file arriving: written to a temp file as it comes, sniffed from its first bytes, and
/// cut off as soon as it passes its size limit or the member's remaining quota.
pub struct IncomingFile {
    file: TempWriter,
    received: u64,
    head: Vec<u8>,
    format: Option<Format>,
    settings: MediaSettings,
    quota_left: u64,
    name: String,
}

impl IncomingFile {
    /// Takes the next piece of the file: sniffed while the head arrives, held to the size
    /// limit and the quota, written out (and hashed) off the async workers a chunk at a time.
    pub async fn push(&mut self, chunk: &[u8]) -> Result<(), MediaError> {
        if self.format.is_none() && self.head.len() < SNIFF_BYTES {
            self.head.extend_from_slice(chunk);
            if self.head.len() >= SNIFF_BYTES {
                self.format = Some(identify(&self.head)?);
            }
        }
        let size = self.received + chunk.len() as u64;
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
        self.received = size;
        self.file.push(chunk).await.map_err(storage)
    }

    /// The received file, written out and flushed to disk, with what it is; refuses anything
    /// we do not accept.
    async fn finish(self) -> Result<(TempBlob, Format, String), MediaError> {
        if self.received == 0 {
            return Err(MediaError::Unsupported(
                "The file is empty; choose a photo or a video.".into(),
            ));
        }
        let format = match self.format {
            Some(f) => f,
            None => identify(&self.head)?,
        };
        let temp = self.file.finish().await.map_err(storage)?;
        Ok((temp, format, self.name))
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

/// What the upload side and the background jobs share: the store, the blob files, the
/// settings, and the slots for heavy decoding work.
#[derive(Clone)]
pub struct Processor {
    store: Store,
    clock: SharedClock,
    blobs: BlobStore,
    settings: Settings,
    limits: DecodeLimits,
    /// Decoding is CPU- and memory-heavy: upload checks and processing jobs take a slot.
    heavy: Arc<Semaphore>,
}

impl Processor {
    pub fn new(store: Store, clock: SharedClock, blobs: BlobStore, settings: Settings) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self {
            store,
            clock,
            blobs,
            settings,
            limits: DecodeLimits::DEFAULT,
            heavy: Arc::new(Semaphore::new(cores.clamp(1, HEAVY_WORK_SLOTS))),
        }
    }

    /// The media jobs: processing each upload, and the hourly blob collector.
    pub fn register_jobs(&self, plan: &mut JobPlan) {
        let processor = self.clone();
        plan.register(PROCESS_MEDIA, move |job| {
            let processor = processor.clone();
            async move { processor.run_process_job(job).await }
        });
        let collector = self.clone();
        plan.register(COLLECT_BLOBS, move |_job| {
            let collector = collector.clone();
            async move { collector.run_collect_job().await }
        });
        plan.schedule("collect-media-blobs", COLLECT_BLOBS, "every 1h");
    }

    /// The blob files.
    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// Runs `work` on a blocking thread once a heavy-work slot is free.
    pub(crate) async fn heavy<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, MediaError> {
        let _slot = self.heavy.acquire().await.map_err(stopped)?;
        tokio::task::spawn_blocking(work).await.map_err(stopped)
    }

    /// Deletes the files of blobs whose last reference just went, at once (a photo's original
    /// carries its metadata, so it must not linger). Each is re-checked under its lock.
    pub(crate) async fn release_freed(&self, freed: Vec<[u8; 32]>) -> Result<(), StoreError> {
        if freed.is_empty() {
            return Ok(());
        }
        let _locks = self.blobs.lock(&freed).await;
        let gone = self
            .store
            .write(move |tx| {
                let mut gone = Vec::new();
                for sha in &freed {
                    if tx.blobs().forget_unreferenced(sha, i64::MAX)? {
                        gone.push(*sha);
                    }
                }
                Ok(gone)
            })
            .await?;
        self.remove_files(gone).await;
        Ok(())
    }

    /// Removes blob files whose reference count is zero (call with their locks held): what a
    /// failed save or a deleted-while-processing record leaves.
    pub(crate) async fn forget_orphans(&self, shas: Vec<[u8; 32]>) {
        let unused = self
            .store
            .read(move |rx| rx.blobs().unused(shas))
            .await
            .unwrap_or_default();
        self.remove_files(unused).await;
    }

    async fn remove_files(&self, shas: Vec<[u8; 32]>) {
        if shas.is_empty() {
            return;
        }
        let blobs = self.blobs.clone();
        let _ = tokio::task::spawn_blocking(move || {
            for sha in shas {
                if let Err(e) = blobs.remove(&sha) {
                    tracing::warn!(
                        "could not delete blob {}: {e}",
                        crate::domain::hex::encode(&sha)
                    );
                }
            }
        })
        .await;
    }
}

#[derive(Clone)]
pub struct MediaService {
    core: Processor,
    access: Access,
    queue: JobQueue,
    limiter: Arc<RateLimiter>,
}

/// A page of a member's library, newest first.
pub struct LibraryPage {
    pub items: Vec<LibraryItem>,
    /// Where the next page starts, when there may be one.
    pub next: Option<MediaId>,
}

/// One upload on a library page, decoded when asked. Its version changes whenever the record
/// does, so a caller that keeps what it makes from a record (the API keeps each upload's JSON)
/// can key that by id and version and decode only the records it has not seen.
pub struct LibraryItem {
    pub id: MediaId,
    record: Versioned<Media>,
}

impl LibraryItem {
    pub fn version(&self) -> u64 {
        self.record.version()
    }

    pub fn media(&self) -> Result<Media, MediaError> {
        Ok(self.record.decode()?)
    }
}

impl MediaService {
    pub fn new(
        processor: &Processor,
        access: Access,
        queue: JobQueue,
        limiter: Arc<RateLimiter>,
    ) -> Self {
        Self {
            core: processor.clone(),
            access,
            queue,
            limiter,
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
            .map_err(ServiceError::RateLimited)?;
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
        let used = self
            .core
            .store
            .read(move |rx| rx.media().usage_of(id))
            .await?;
        let quota = settings.quota_bytes(user.supporter);
        let blobs = self.core.blobs.clone();
        let temp = tokio::task::spawn_blocking(move || blobs.temp())
            .await
            .map_err(stopped)?
            .map_err(storage)?;
        Ok(IncomingFile {
            file: TempWriter::new(temp),
            received: 0,
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
        file: IncomingFile,
        poster: Option<IncomingFile>,
    ) -> Result<Media, MediaError> {
        let (mut temp, format, name) = file.finish().await?;
        let poster = match poster.filter(|p| p.received > 0) {
            Some(p) if format.is_video() => {
                let (temp, f, _) = p.finish().await?;
                if f.is_video() {
                    return Err(MediaError::Unsupported(
                        "The poster must be a photo (JPEG, PNG, WebP or GIF).".into(),
                    ));
                }
                Some((temp, f))
            }
            _ => None,
        };
        let upload_size = temp.size() + poster.as_ref().map_or(0, |(p, _)| p.size());
        let (path, limits) = (temp.path().to_path_buf(), self.core.limits);
        let max_seconds = self.core.settings.current().media.max_video_seconds;
        let poster_check = poster.as_ref().map(|(p, f)| (p.path().to_path_buf(), *f));
        let checked = self
            .core
            .heavy(move || {
                if let Some((p, f)) = &poster_check {
                    photo::check(p, *f, limits).map_err(photo_error)?;
                }
                check_file(&path, format, limits, max_seconds)
            })
            .await??;
        if checked.changed {
            temp = tokio::task::spawn_blocking(move || temp.rehash().map(|()| temp))
                .await
                .map_err(stopped)?
                .map_err(storage)?;
        }
        let now = self.core.clock.now();
        let record = Media {
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
        let record = self
            .store_upload(record, user, temp, format, poster)
            .await?;
        self.queue.notify();
        tracing::info!(media = %record.id, user = %user.id, format = record.format.as_str(), size = record.upload_size, "media uploaded");
        Ok(record)
    }

    /// Moves the checked files into the blob store and saves the record with its processing
    /// job, in one transaction that also re-checks the quota and that the owner may still
    /// upload. The blobs' locks are held from the move to the commit; on a refusal or failure
    /// the files nothing else uses are removed again.
    async fn store_upload(
        &self,
        mut record: Media,
        user: &User,
        temp: TempBlob,
        format: Format,
        poster: Option<(TempBlob, Format)>,
    ) -> Result<Media, MediaError> {
        let mut shas = vec![temp.sha256()];
        shas.extend(poster.as_ref().map(|(p, _)| p.sha256()));
        let _locks = self.core.blobs.lock(&shas).await;
        let outcome = async {
            record.original = Some(self.commit(temp, format).await?);
            if let Some((temp, format)) = poster {
                record.poster = Some(self.commit(temp, format).await?);
            }
            let job = self
                .queue
                .new_job(PROCESS_MEDIA, &record.id, EnqueueOptions::default())
                .map_err(ServiceError::from)?;
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
                    let owner = tx.users().get(stored.owner)?;
                    if owner.is_none_or(|u| may_upload(&u).is_err()) {
                        return Ok(Err(forbidden("Your account cannot upload media.")));
                    }
                    if tx.media().usage_of(stored.owner)? + stored.upload_size > quota {
                        return Ok(Err(MediaError::TooLarge(
                            "This upload does not fit in your storage. Delete some media first."
                                .into(),
                        )));
                    }
                    tx.media().insert(&stored)?;
                    tx.jobs().enqueue(&job)?;
                    Ok(Ok(()))
                })
                .await??;
            Ok::<_, MediaError>(())
        }
        .await;
        if let Err(e) = outcome {
            // Whatever part was written goes again (unless other records share it).
            self.core.forget_orphans(shas).await;
            return Err(e);
        }
        Ok(record)
    }

    /// Moves a finished temp file into the store (fsync and rename, on a blocking thread;
    /// call with its hash's lock held).
    async fn commit(&self, temp: TempBlob, format: Format) -> Result<BlobRef, MediaError> {
        let size = temp.size();
        let blobs = self.core.blobs.clone();
        let sha256 = tokio::task::spawn_blocking(move || blobs.commit(temp))
            .await
            .map_err(stopped)?
            .map_err(storage)?;
        Ok(BlobRef {
            sha256,
            size,
            content_type: format.content_type().into(),
        })
    }

    /// A member's own media, newest first, older than `before`, at most `limit`.
    pub async fn library(
        &self,
        user: &User,
        before: Option<MediaId>,
        limit: usize,
    ) -> Result<LibraryPage, MediaError> {
        let id = user.id;
        let limit = limit.min(crate::store::MAX_PAGE_ROWS);
        let mut items = self
            .core
            .store
            .lookup(|rx| rx.media().of_owner_versioned(id, before, limit + 1))?;
        let next = (items.len() > limit).then(|| {
            items.truncate(limit);
            items.last().map(|(id, _)| *id)
        });
        Ok(LibraryPage {
            items: items
                .into_iter()
                .map(|(id, record)| LibraryItem { id, record })
                .collect(),
            next: next.flatten(),
        })
    }

    /// How much of their quota a member uses, and the quota, in bytes.
    pub async fn usage(&self, user: &User) -> Result<(u64, u64), MediaError> {
        let id = user.id;
        let used = self
            .core
            .store
            .read(move |rx| rx.media().usage_of(id))
            .await?;
        Ok((
            used,
            self.core
                .settings
                .current()
                .media
                .quota_bytes(user.supporter),
        ))
    }

    /// The record, if `viewer` may see it (otherwise not found, so ids are not probed).
    pub async fn get(&self, viewer: &Actor, id: MediaId) -> Result<Media, MediaError> {
        let found = self.core.store.lookup(|rx| {
            let Some(media) = rx.media().get(id)? else {
                return Ok(None);
            };
            let status = rx.users().get(media.owner)?.map(|u| u.status);
            let blocked =
                media.owner != viewer.id && rx.blocks().between(viewer.id, media.owner)?;
            Ok::<_, StoreError>(Some((media, status, blocked)))
        })?;
        let moderates = self.access.allows(viewer, Permission::Moderate);
        match found {
            // Members who blocked each other do not see each other's files, links included.
            Some((media, Some(status), blocked))
                if (moderates || !blocked)
                    && media::may_view(viewer.id, moderates, &media, &status) =>
            {
                Ok(media)
            }
            Some((media, None, _)) if moderates => Ok(media),
            _ => Err(ServiceError::not_found().into()),
        }
    }

    /// The file behind `/media/{id}/{variant}`, if `viewer` may see it.
    pub async fn file(
        &self,
        viewer: &Actor,
        id: MediaId,
        variant: Variant,
    ) -> Result<(BlobRef, PathBuf), MediaError> {
        let media = self.get(viewer, id).await?;
        let blob = match variant {
            Variant::Video if media.format.is_video() => media.original.clone(),
            v => media.variant(v).cloned(),
        }
        .ok_or_else(ServiceError::not_found)?;
        let path = self.core.blobs.path_of(&blob.sha256);
        Ok((blob, path))
    }

    /// Deletes one of the member's own media, or (for moderators) anyone's, with an audit
    /// entry. Its files go at once unless other records use them.
    pub async fn delete(&self, actor: &Actor, id: MediaId, reason: &str) -> Result<(), MediaError> {
        let media = self.get(actor, id).await?;
        let own = media.owner == actor.id;
        if !own {
            self.access.require(actor, Permission::Moderate)?;
        }
        let now = self.core.clock.now();
        let entry = (!own).then(|| {
            audit::entry(
                actor,
                now,
                "media.remove",
                &media.id.to_string(),
                reason,
                &format!("{} by {}", media.format.as_str(), media.original_name),
            )
        });
        let removed = self
            .core
            .store
            .write(move |tx| {
                let Some((media, freed)) = tx.media().delete(id, now.as_millisecond())? else {
                    return Ok(None);
                };
                if let Some(entry) = &entry {
                    audit::record(tx, entry)?;
                }
                tx.emit(Event::MediaRemoved {
                    media: id,
                    owner: media.owner,
                });
                Ok(Some(freed))
            })
            .await?;
        let Some(freed) = removed else {
            return Err(ServiceError::not_found().into());
        };
        self.core.release_freed(freed).await?;
        tracing::info!(media = %id, by = %actor.id, "media deleted");
        Ok(())
    }

    /// Staff removal of anyone's media (moderators), audited with `reason`.
    pub async fn remove(&self, actor: &Actor, id: MediaId, reason: &str) -> Result<(), MediaError> {
        self.access.require(actor, Permission::Moderate)?;
        self.delete(actor, id, reason).await
    }

    /// The moderation queue, oldest first, and how many wait (moderators).
    pub async fn queue(
        &self,
        actor: &Actor,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Media>, u64), MediaError> {
        self.access.require(actor, Permission::Moderate)?;
        Ok(self
            .core
            .store
            .read(move |rx| {
                Ok::<_, StoreError>((rx.media().queue(offset, limit)?, rx.media().queue_len()?))
            })
            .await?)
    }

    /// The latest uploads across the site (moderators).
    pub async fn recent(&self, actor: &Actor, limit: usize) -> Result<Vec<Media>, MediaError> {
        self.access.require(actor, Permission::Moderate)?;
        Ok(self
            .core
            .store
            .read(move |rx| rx.media().recent(limit))
            .await?)
    }

    /// Approves or rejects (with a reason the member sees) media waiting in the queue.
    pub async fn decide(
        &self,
        actor: &Actor,
        id: MediaId,
        approve: bool,
        reason: &str,
    ) -> Result<Media, MediaError> {
        self.access.require(actor, Permission::Moderate)?;
        let reason = reason.trim().to_string();
        if !approve && (reason.is_empty() || reason.chars().count() > 500) {
            return Err(ServiceError::invalid(
                "reason",
                "Say why, in 1 to 500 characters; the member sees it.",
            )
            .into());
        }
        let now = self.core.clock.now();
        let entry = audit::entry(
            actor,
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
        self.core
            .store
            .write(move |tx| {
                let Some(mut media) = tx.media().get(id)? else {
                    return Ok(Err(ServiceError::not_found().into()));
                };
                if media.state != MediaState::PendingApproval {
                    return Ok(Err(ServiceError::invalid(
                        "decision",
                        format!(
                            "This upload is {}, not waiting for a decision.",
                            media.state.label()
                        ),
                    )
                    .into()));
                }
                media.state = if approve {
                    MediaState::Ready
                } else {
                    MediaState::Rejected(reason.clone())
                };
                tx.media().update(&media, now.as_millisecond())?;
                audit::record(tx, &entry)?;
                tx.emit(Event::MediaDecided {
                    media: id,
                    owner: media.owner,
                    approved: approve,
                });
                Ok(Ok(media))
            })
            .await?
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
    /// the queue). A photo's original is deleted as soon as its variants are saved: it
    /// carries the metadata.
    pub async fn process(&self, id: MediaId) -> Result<(), JobError> {
        let retry = |e: &dyn std::fmt::Display| JobError::retry(e.to_string());
        let Some(media) = self
            .store
            .read(move |rx| rx.media().get(id))
            .await
            .map_err(|e| retry(&e))?
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
                let done = self
                    .heavy(move || {
                        photo::process(&path, format, limits).map(|p| {
                            let hashed: Vec<_> = p
                                .variants
                                .iter()
                                .map(|(v, bytes)| (*v, hash_of(bytes)))
                                .collect();
                            (p, hashed)
                        })
                    })
                    .await
                    .map_err(|e| retry(&e))?;
                Some(done)
            }
        };
        let needs_approval = self.settings.current().media.needs_approval;
        let mut next = media.clone();
        next.poster = None;
        if !media.format.is_video() {
            next.original = None;
        }
        let mut new_blobs = Vec::new();
        match processed {
            Some(Err(PhotoError::Io(why))) => return Err(JobError::retry(why)),
            Some(Err(e)) => next.state = MediaState::Failed(e.to_string()),
            Some(Ok((p, hashed))) => {
                new_blobs = p.variants;
                next.variants = hashed
                    .iter()
                    .zip(&new_blobs)
                    .map(|((variant, sha256), (_, bytes))| {
                        (
                            *variant,
                            BlobRef {
                                sha256: *sha256,
                                size: bytes.len() as u64,
                                content_type: "image/webp".into(),
                            },
                        )
                    })
                    .collect();
                next.blurhash = Some(p.blurhash);
                next.animated = p.animated;
                if !media.format.is_video() {
                    (next.width, next.height) = (p.width, p.height);
                }
                next.state = ready_state(needs_approval);
            }
            None => next.state = ready_state(needs_approval),
        }
        let shas: Vec<[u8; 32]> = next.variants.iter().map(|(_, b)| b.sha256).collect();
        let locks = self.blobs.lock(&shas).await;
        let blobs = self.blobs.clone();
        tokio::task::spawn_blocking(move || {
            new_blobs
                .iter()
                .try_for_each(|(_, bytes)| blobs.put(bytes).map(drop))
        })
        .await
        .map_err(|e| retry(&e))?
        .map_err(|e| retry(&e))?;
        let now = self.clock.now();
        let saved = next.clone();
        let freed = self
            .store
            .write(move |tx| {
                // Deleted while processing: nothing to save (its variants go below).
                if tx.media().get(saved.id)?.is_none() {
                    return Ok(None);
                }
                let freed = tx.media().update(&saved, now.as_millisecond())?;
                tx.emit(Event::MediaProcessed {
                    media: saved.id,
                    owner: saved.owner,
                });
                Ok(Some(freed))
            })
            .await
            .map_err(|e| retry(&e))?;
        match freed {
            Some(freed) => {
                // The originals' locks may share stripes with the variants'.
                drop(locks);
                self.release_freed(freed).await.map_err(|e| retry(&e))?;
                tracing::info!(media = %id, "media processed");
            }
            None => self.forget_orphans(shas).await,
        }
        Ok(())
    }

    /// The collector: deletes blobs unreferenced for longer than the grace period, notes blob
    /// files no record knows (a crash between writing a blob and committing its record), and
    /// removes temp files a crash left behind.
    pub async fn collect(&self) -> Result<usize, StoreError> {
        let cutoff = (self.clock.now() - BLOB_GRACE).as_millisecond();
        let candidates = self
            .store
            .read(move |rx| rx.blobs().unreferenced(cutoff, 1000))
            .await?;
        let mut removed = 0;
        for sha in candidates {
            let _lock = self.blobs.lock(&[sha]).await;
            if self
                .store
                .write(move |tx| tx.blobs().forget_unreferenced(&sha, cutoff))
                .await?
            {
                self.remove_files(vec![sha]).await;
                removed += 1;
            }
        }
        let blobs = self.blobs.clone();
        let on_disk = tokio::task::spawn_blocking(move || blobs.list())
            .await
            .map_err(|e| StoreError::Database(e.to_string()))?
            .map_err(|e| StoreError::Database(format!("listing the blob files: {e}")))?;
        let unknown = self
            .store
            .read(move |rx| rx.blobs().unused(on_disk))
            .await?;
        if !unknown.is_empty() {
            // With every lock held no upload is between writing a blob and committing it.
            let _all = self.blobs.lock_all().await;
            let now_ms = self.clock.now().as_millisecond();
            let noted = self
                .store
                .write(move |tx| {
                    let mut noted = 0;
                    for sha in &unknown {
                        if tx.blobs().note_if_unreferenced(sha, now_ms)? {
                            noted += 1;
                        }
                    }
                    Ok(noted)
                })
                .await?;
            if noted > 0 {
                tracing::info!(
                    blobs = noted,
                    "found unreferenced blob files; deleting them after the grace period"
                );
            }
        }
        let blobs = self.blobs.clone();
        let swept = tokio::task::spawn_blocking(move || {
            blobs
                .sweep_temp(std::time::Duration::from_secs(3600))
                .unwrap_or(0)
        })
        .await
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

/// A member's uploads in the export (what and where; the files download from there) and in
/// account deletion (records go; their files go with the collector's next run).
pub fn member_data() -> Vec<Box<dyn MemberData>> {
    vec![Box::new(MediaPart)]
}

struct MediaPart;

impl MemberData for MediaPart {
    fn name(&self) -> &'static str {
        "media"
    }

    fn export(&self, rx: &Rx, u: &User) -> Result<Value, StoreError> {
        let mut out = Vec::new();
        let mut before = None;
        loop {
            let page = rx.media().of_owner(u.id, before, 500)?;
            let done = page.len() < 500;
            before = page.last().map(|m| m.id);
            out.extend(page.into_iter().map(|m| {
                let files: Vec<String> = m
                    .variants
                    .iter()
                    .map(|(v, _)| format!("/media/{}/{}", m.id, v.as_str()))
                    .chain(m.format.is_video().then(|| format!("/media/{}/video", m.id)))
                    .collect();
                json!({"id": m.id.to_string(), "name": m.original_name, "format": m.format.as_str(), "uploaded_at": m.created_at.to_string(), "state": m.state.label(), "files": files})
            }));
            if done {
                break;
            }
        }
        Ok(out.into())
    }

    fn erase(&self, tx: &Tx<'_>, user: &User) -> Result<(), StoreError> {
        // Released at time zero: the collector's next run deletes the files.
        tx.media().delete_of_owner(user.id, 0).map(drop)
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
        return Err(forbidden("Your account cannot upload media."));
    }
    if !user.email_verified {
        return Err(forbidden(
            "Confirm your email address before uploading (see the mail we sent you).",
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
