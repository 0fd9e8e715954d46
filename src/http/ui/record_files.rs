//! Files on a record's page: adding one (a multipart form whose `csrf` part comes before the
//! file, streamed), downloading one, removing one.

use poem::http::{StatusCode, header};
use poem::web::{Form, Multipart, Path, Redirect};
use poem::{IntoResponse, Request, Response, handler};

use super::{flash, signed_in, state_of};
use crate::domain::ids::{AttachmentId, RecordId};
use crate::http::auth::{CsrfForm, Viewer, verify_csrf};
use crate::http::downloads::{DOWNLOAD_CSP, content_disposition, open_file};
use crate::http::error::AppError;
use crate::http::media::{check_csrf_part, read_part};
use crate::http::routing::Routes;
use crate::service::error::ErrorCode;

pub fn routes() -> Routes {
    Routes::new()
        .post("/records/:id/attachments", upload)
        .get("/records/:id/attachments/:attachment", download)
        .post("/records/:id/attachments/:attachment/delete", remove)
}

fn ids(id: &str, attachment: &str) -> Result<(RecordId, AttachmentId), AppError> {
    Ok((AppError::path_id(id)?, AppError::path_id(attachment)?))
}

fn bad_form(why: impl std::fmt::Display) -> AppError {
    AppError::bad_request(
        ErrorCode::BadForm,
        format!("The upload is not a readable form ({why}): send `csrf`, then one `file`."),
    )
}

#[handler]
pub async fn upload(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    let id: RecordId = AppError::path_id(&id)?;
    let actor = me.actor();
    let mut csrf_checked = false;
    let mut stored = None;
    while let Some(field) = multipart.next_field().await.map_err(bad_form)? {
        match field.name().unwrap_or_default() {
            "csrf" if !csrf_checked => {
                check_csrf_part(req, state, &viewer, field).await?;
                csrf_checked = true;
            }
            "file" if csrf_checked && stored.is_none() => {
                let name = field.file_name().unwrap_or_default().to_string();
                let mut incoming = state.records.begin_attachment(&actor, id, &name).await?;
                read_part(field, &mut incoming).await?;
                stored = Some(state.records.finish_attachment(&actor, incoming).await?);
                // Stored: whatever follows is not read, so a bad tail cannot refuse a kept file.
                break;
            }
            _ if !csrf_checked => return Err(AppError::csrf()),
            other => return Err(bad_form(format!("unexpected part {other:?}"))),
        }
    }
    let Some(file) = stored else {
        return Err(AppError::bad_request(
            ErrorCode::NoFile,
            "Choose a file to attach (form part `file`).",
        ));
    };
    flash::set(req, &format!("{} attached.", file.name));
    Ok(Redirect::see_other(format!("/records/{id}#files")).into_response())
}

#[handler]
pub async fn download(
    req: &Request,
    viewer: Viewer,
    Path((id, attachment)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let (id, attachment) = ids(&id, &attachment)?;
    let (file, path) = state_of(req)?
        .records
        .attachment_file(&me.actor(), id, attachment)
        .await?;
    Ok(Response::builder()
        .status(StatusCode::OK)
        .content_type("application/octet-stream")
        .header(header::CONTENT_DISPOSITION, content_disposition(&file.name))
        .header(header::CONTENT_SECURITY_POLICY, DOWNLOAD_CSP)
        .header(header::CACHE_CONTROL, "private, no-store")
        .body(open_file(&path).await?))
}

#[handler]
pub async fn remove(
    req: &Request,
    viewer: Viewer,
    Path((id, attachment)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&form.csrf))?;
    let (id, attachment) = ids(&id, &attachment)?;
    state
        .records
        .remove_attachment(&me.actor(), id, attachment)
        .await?;
    flash::set(req, "File removed.");
    Ok(Redirect::see_other(format!("/records/{id}#files")).into_response())
}
