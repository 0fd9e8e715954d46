//! Files on records over the API: listing them, adding one (the request body is the file,
//! streamed and cut off at the size limit), downloading one (always as an attachment, under
//! a policy that runs nothing), and removing one.

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Binary;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::me::{Done, acting};
use super::raw_body::{Bytes, RawBody};
use super::records::record_id;
use super::reply::Reply;
use super::{ApiTags, Data};
use crate::domain::ids::AttachmentId;
use crate::domain::record_attachment::Attachment;
use crate::http::auth::Viewer;
use crate::http::downloads::{DOWNLOAD_CSP, content_disposition, open_file};
use crate::http::error::AppError;
use crate::http::ui::state_of;

pub struct RecordAttachmentsApi;

/// A file on a record.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct AttachmentView {
    pub id: String,
    pub record_id: String,
    /// The file's name, cleaned (no folders, no markup).
    pub name: String,
    /// What its bytes are: pdf, doc, docx, odt, txt, csv, jpeg, png, gif or webp.
    pub kind: String,
    pub size: u64,
    /// SHA-256 of the bytes, hex.
    pub sha256: String,
    pub added_by_id: String,
    pub added_at: String,
    /// Its text for search: pending, read, cut, refused or not_read.
    pub text: String,
    /// The text's state in a sentence (why it was cut or refused).
    pub text_note: String,
    /// Where it downloads from (with the session cookie or a bearer token).
    pub download_url: String,
}

impl From<&Attachment> for AttachmentView {
    fn from(a: &Attachment) -> Self {
        Self {
            id: a.id.to_string(),
            record_id: a.record.to_string(),
            name: a.name.clone(),
            kind: a.kind.as_str().into(),
            size: a.size,
            sha256: crate::domain::hex::encode(&a.sha256),
            added_by_id: a.by.to_string(),
            added_at: a.at.to_string(),
            text: a.text.as_str().into(),
            text_note: a.text.describe(),
            download_url: format!("/api/v1/records/{}/attachments/{}", a.record, a.id),
        }
    }
}

#[derive(ApiResponse)]
pub enum Attached {
    /// Stored; its text is read in the background (`text` says how far that is).
    #[oai(status = 201)]
    Created(Reply<Data<AttachmentView>>),
}

#[derive(ApiResponse)]
pub enum Download {
    /// The file's bytes, as a download.
    #[oai(status = 200)]
    File(
        Binary<poem::Body>,
        /// `attachment` with the file's name.
        #[oai(header = "Content-Disposition")]
        String,
        /// `default-src 'none'; sandbox`.
        #[oai(header = "Content-Security-Policy")]
        String,
        /// The SHA-256 of the bytes.
        #[oai(header = "ETag")]
        String,
    ),
}

fn attachment_id(raw: &str) -> Result<AttachmentId, AppError> {
    AppError::path_id(raw)
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Records")]
impl RecordAttachmentsApi {
    /// A record's files
    ///
    /// Oldest first. Only for those who can see the record.
    #[oai(
        path = "/records/:id/attachments",
        method = "get",
        operation_id = "listRecordAttachments"
    )]
    async fn list(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Reply<Data<Vec<AttachmentView>>>, AppError> {
        let me = viewer.require()?;
        let files = state_of(req)?
            .records
            .attachments(&me.actor(), record_id(&id.0)?)
            .await?;
        Ok(Reply(Data {
            data: files.iter().map(AttachmentView::from).collect(),
        }))
    }

    /// Attach a file
    ///
    /// The body is the file; `name` is its file name, whose extension must agree with its
    /// bytes. PDF, DOC, DOCX, ODT, TXT, CSV, JPEG, PNG, GIF or WebP, up to the size the admins
    /// set (10 MiB unless changed): `413` over it, `422` for a file whose bytes are not what
    /// its name says. For the record's owner, assignees and moderators; at most 50 files a
    /// record. The record's version goes up by one.
    #[oai(
        path = "/records/:id/attachments",
        method = "post",
        operation_id = "createRecordAttachment"
    )]
    async fn attach(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        #[oai(validator(min_length = 1, max_length = 255))] name: Query<String>,
        body: RawBody<Bytes>,
    ) -> Result<Attached, AppError> {
        use futures_util::TryStreamExt;
        let me = acting(req, &viewer)?;
        let records = &state_of(req)?.records;
        let actor = me.actor();
        let mut incoming = records
            .begin_attachment(&actor, record_id(&id.0)?, &name.0)
            .await?;
        let mut stream = body.0.into_bytes_stream();
        while let Some(chunk) = stream.try_next().await.map_err(|e| {
            AppError::bad_request(
                crate::service::error::ErrorCode::UploadInterrupted,
                format!("The file did not arrive whole ({e}); try again."),
            )
        })? {
            incoming.push(&chunk).await?;
        }
        let file = records.finish_attachment(&actor, incoming).await?;
        Ok(Attached::Created(Reply(Data {
            data: AttachmentView::from(&file),
        })))
    }

    /// Download a file
    ///
    /// Always as an attachment (`Content-Disposition: attachment`, `nosniff`, a policy under
    /// which nothing runs), to those who can see the record.
    #[oai(
        path = "/records/:id/attachments/:attachment_id",
        method = "get",
        operation_id = "downloadRecordAttachment"
    )]
    async fn download(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        attachment_id: Path<String>,
    ) -> Result<Download, AppError> {
        let me = viewer.require()?;
        let (file, path) = state_of(req)?
            .records
            .attachment_file(
                &me.actor(),
                record_id(&id.0)?,
                self::attachment_id(&attachment_id.0)?,
            )
            .await?;
        Ok(Download::File(
            Binary(open_file(&path).await?),
            content_disposition(&file.name),
            DOWNLOAD_CSP.into(),
            format!("\"{}\"", crate::domain::hex::encode(&file.sha256)),
        ))
    }

    /// Remove a file
    ///
    /// By who added it, the record's owner and moderators. The record's version goes up by
    /// one; the bytes are deleted once nothing refers to them.
    #[oai(
        path = "/records/:id/attachments/:attachment_id",
        method = "delete",
        operation_id = "deleteRecordAttachment"
    )]
    async fn remove(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
        attachment_id: Path<String>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        state_of(req)?
            .records
            .remove_attachment(
                &me.actor(),
                record_id(&id.0)?,
                self::attachment_id(&attachment_id.0)?,
            )
            .await?;
        Ok(Done::Done)
    }
}
