//! Record pages: the list with its filters (a plain GET form), "my work", a new record, a
//! record with its status moves, watchers, comments and history, and its edit form (saved
//! over the version it was read at). Plain forms; every rule is the service's.

use std::collections::HashMap;

use askama::Template;
use poem::http::StatusCode;
use poem::web::{Form, Path, Redirect};
use poem::{IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::{PageContext, flash, render, render_status, signed_in, state_of};
use crate::domain::account::FieldError;
use crate::domain::ids::{RecordId, UserId};
use crate::domain::record::{
    Change, Direction, Priority, Record, RecordDraft, RecordEdit, Visibility,
};
use crate::domain::record_comment::Comment;
use crate::domain::record_list::{RecordFilter, RecordSort};
use crate::domain::role::Role;
use crate::domain::workflow::Status;
use crate::http::auth::{CsrfForm, Viewer, verify_csrf};
use crate::http::error::AppError;
use crate::http::routing::Routes;
use crate::service::error::ServiceError;
use crate::service::records::{Edit, EditError, NewRecord};

pub fn routes() -> Routes {
    Routes::new()
        .get("/records", list)
        .get("/records/new", new_form)
        .post("/records/new", create)
        .get("/records/:id", show)
        .get("/records/:id/edit", edit_form)
        .post("/records/:id/edit", save)
        .post("/records/:id/status", move_to)
        .post("/records/:id/watch", watch)
        .post("/records/:id/comments", comment)
        .post("/records/:id/comments/:comment/delete", delete_comment)
        .post("/records/:id/trash", trash)
        .post("/records/:id/restore", restore)
        .post("/records/lists", save_list)
        .post("/records/lists/delete", delete_list)
}

/// Rows per page of the list.
const PAGE: usize = 25;
/// History lines a record's page shows (the latest; the API pages the rest).
const HISTORY_SHOWN: u64 = 50;

/// The list's query as sent: every value a string, read leniently (a bad one is named).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    direction: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    overdue: String,
    #[serde(default)]
    view: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    page: String,
}

impl ListQuery {
    fn filter(&self, me: UserId) -> (RecordFilter, RecordSort, Vec<FieldError>) {
        let mut problems = Vec::new();
        let text = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_string());
        let priority = match self.priority.as_str() {
            "" => None,
            p => p.parse::<Priority>().ok().or_else(|| {
                problems.push(FieldError::new(
                    "priority",
                    "Choose a priority from the list.",
                ));
                None
            }),
        };
        let direction = match self.direction.as_str() {
            "" => None,
            d => d.parse::<Direction>().ok().or_else(|| {
                problems.push(FieldError::new(
                    "direction",
                    "Choose a direction from the list.",
                ));
                None
            }),
        };
        let work = self.view == "work";
        let sort = match self.sort.as_str() {
            "oldest" => RecordSort::Oldest,
            "updated" => RecordSort::Updated,
            "due" => RecordSort::Due,
            "priority" => RecordSort::Priority,
            _ if work => RecordSort::Due,
            _ => RecordSort::Newest,
        };
        let filter = RecordFilter {
            status: text(&self.status),
            priority,
            direction,
            tag: text(&self.tag),
            overdue: self.overdue == "1",
            open: work,
            assignee: work.then_some(me),
            text: text(&self.q),
            trashed: self.view == "trash",
            ..Default::default()
        };
        (filter, sort, problems)
    }

    fn page(&self) -> usize {
        self.page.parse::<usize>().unwrap_or(1).clamp(1, 10_000)
    }

    /// The query string without `page`, for the pager and the export link.
    fn without_page(&self) -> String {
        let pairs = [
            ("q", &self.q),
            ("status", &self.status),
            ("priority", &self.priority),
            ("direction", &self.direction),
            ("tag", &self.tag),
            ("overdue", &self.overdue),
            ("view", &self.view),
            ("sort", &self.sort),
        ];
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
            out.append_pair(k, v);
        }
        out.finish()
    }
}

/// A record as a list row shows it.
struct Row {
    id: String,
    number: String,
    title: String,
    status: String,
    priority: &'static str,
    due: String,
    overdue: bool,
}

#[derive(Template)]
#[template(path = "records.html")]
struct ListPage {
    page: PageContext,
    admin: bool,
    query: ListQuery,
    rows: Vec<Row>,
    total: u64,
    statuses: Vec<Status>,
    errors: Vec<FieldError>,
    prev: Option<String>,
    next: Option<String>,
    export: String,
    /// The query string of this list (for saving it), and the member's saved lists.
    current: String,
    saved: Vec<(String, String)>,
}

#[handler]
pub async fn list(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/records")?;
    let state = state_of(req)?;
    let query: ListQuery = req.params().unwrap_or_default();
    let actor = me.actor();
    let (filter, sort, mut errors) = query.filter(actor.id);
    let page = query.page();
    let (records, total) = if errors.is_empty() {
        match state
            .records
            .list(&actor, &filter, sort, (page - 1) * PAGE, PAGE)
            .await
        {
            Ok(found) => found,
            Err(ServiceError::Invalid(found)) => {
                errors = found;
                (Vec::new(), 0)
            }
            Err(e) => return Err(e.into()),
        }
    } else {
        (Vec::new(), 0)
    };
    let rows = records
        .iter()
        .map(|r| Row {
            id: r.id.to_string(),
            number: r.number.clone(),
            title: r.title.clone(),
            status: state.records.status_label(&r.status),
            priority: r.priority.as_str(),
            due: r.due.map(|d| d.to_string()).unwrap_or_default(),
            overdue: state.records.is_overdue(r),
        })
        .collect();
    let base = query.without_page();
    let link = |p: usize| format!("/records?{base}&page={p}");
    let prev = (page > 1).then(|| link(page - 1));
    let next = ((page * PAGE) < total as usize).then(|| link(page + 1));
    let export = format!("/api/v1/records/export?{base}");
    let statuses = state.records.statuses();
    let saved = state.records.saved_filters(&actor)?;
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_status(
        &ListPage {
            page: PageContext::new(req, state, &viewer),
            admin: actor.role >= Role::Admin,
            query,
            rows,
            total,
            statuses,
            errors,
            prev,
            next,
            export,
            current: base,
            saved,
        },
        status,
    )
}

#[derive(Deserialize)]
pub struct SaveListForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    query: String,
}

#[handler]
pub async fn save_list(
    req: &Request,
    viewer: Viewer,
    Form(form): Form<SaveListForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/records")?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&form.csrf))?;
    state
        .records
        .save_filter(&me.actor(), &form.name, &form.query)
        .await?;
    flash::set(req, "List saved.");
    Ok(
        Redirect::see_other(format!("/records?{}", form.query.trim_start_matches('?')))
            .into_response(),
    )
}

#[handler]
pub async fn delete_list(
    req: &Request,
    viewer: Viewer,
    Form(form): Form<SaveListForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/records")?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&form.csrf))?;
    state.records.delete_filter(&me.actor(), &form.name).await?;
    flash::set(req, "List deleted.");
    Ok(Redirect::see_other("/records").into_response())
}

/// The create and edit form's values as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RecordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    direction: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    correspondent: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    due: String,
    /// Comma-separated.
    #[serde(default)]
    tags: String,
    /// Usernames, comma-separated.
    #[serde(default)]
    assignees: String,
    /// The version the edit form was read at.
    #[serde(default)]
    version: String,
}

fn split_list(text: &str) -> Vec<String> {
    text.split([',', ';'])
        .map(|t| t.trim().trim_start_matches('@').to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

impl RecordForm {
    fn of(r: &Record, names: &HashMap<UserId, String>) -> Self {
        Self {
            csrf: String::new(),
            title: r.title.clone(),
            direction: r.direction.as_str().into(),
            number: r.number.clone(),
            correspondent: r.correspondent.clone(),
            content: r.content.clone(),
            priority: r.priority.as_str().into(),
            visibility: r.visibility.as_str().into(),
            due: r.due.map(|d| d.to_string()).unwrap_or_default(),
            tags: r.tags.join(", "),
            assignees: r
                .assignees
                .iter()
                .filter_map(|a| names.get(a).cloned())
                .collect::<Vec<_>>()
                .join(", "),
            version: r.version.to_string(),
        }
    }

    fn priority(&self) -> Result<Priority, ServiceError> {
        self.priority
            .parse()
            .map_err(|why: String| ServiceError::invalid("priority", why))
    }

    fn visibility(&self) -> Result<Visibility, ServiceError> {
        self.visibility
            .parse()
            .map_err(|why: String| ServiceError::invalid("visibility", why))
    }
}

#[derive(Template)]
#[template(path = "record_form.html")]
struct FormPage {
    page: PageContext,
    /// None for a new record.
    id: Option<String>,
    form: RecordForm,
    errors: Vec<FieldError>,
    /// When someone saved first: what they changed.
    conflict: Vec<Change>,
}

#[handler]
pub async fn new_form(req: &Request, viewer: Viewer) -> Result<Response, AppError> {
    signed_in(&viewer, "/records/new")?;
    let state = state_of(req)?;
    let form = RecordForm {
        direction: "incoming".into(),
        priority: "normal".into(),
        visibility: "members".into(),
        ..Default::default()
    };
    Ok(render(&FormPage {
        page: PageContext::new(req, state, &viewer),
        id: None,
        form,
        errors: Vec::new(),
        conflict: Vec::new(),
    })?
    .into_response())
}

#[handler]
pub async fn create(
    req: &Request,
    viewer: Viewer,
    Form(form): Form<RecordForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, "/records/new")?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&form.csrf))?;
    let actor = me.actor();
    let made = async {
        let new = NewRecord {
            draft: RecordDraft {
                title: form.title.clone(),
                correspondent: form.correspondent.clone(),
                content: form.content.clone(),
                tags: split_list(&form.tags),
                due: form.due.clone(),
            },
            direction: form
                .direction
                .parse()
                .map_err(|why: String| ServiceError::invalid("direction", why))?,
            priority: form.priority()?,
            visibility: form.visibility()?,
            number: (!form.number.trim().is_empty()).then(|| form.number.clone()),
            assignees: state
                .records
                .ids_of(&split_list(&form.assignees), "assignees")?,
        };
        state.records.create(&actor, new).await
    }
    .await;
    match made {
        Ok(record) => {
            flash::set(req, &format!("{} is recorded.", record.number));
            Ok(Redirect::see_other(format!("/records/{}", record.id)).into_response())
        }
        Err(e) => form_again(req, state, &viewer, None, form, e, Vec::new()),
    }
}

/// The form again with what went wrong: fields to fix (422), a number taken (409).
fn form_again(
    req: &Request,
    state: &crate::http::state::AppState,
    viewer: &Viewer,
    id: Option<String>,
    form: RecordForm,
    e: ServiceError,
    conflict: Vec<Change>,
) -> Result<Response, AppError> {
    let (errors, status) = match e {
        ServiceError::Invalid(fields) => (fields, StatusCode::UNPROCESSABLE_ENTITY),
        ServiceError::Conflict(r) => (
            vec![FieldError::new("number", r.message)],
            StatusCode::CONFLICT,
        ),
        other => return Err(other.into()),
    };
    render_status(
        &FormPage {
            page: PageContext::new(req, state, viewer),
            id,
            form,
            errors,
            conflict,
        },
        status,
    )
}

fn record_id(raw: &str) -> Result<RecordId, AppError> {
    AppError::path_id(raw)
}

/// A comment as the thread shows it.
struct CommentRow {
    id: String,
    depth: u8,
    author: String,
    text: String,
    at: String,
    edited: bool,
    deleted: bool,
    may_delete: bool,
    may_reply: bool,
}

/// A line of the history as the timeline shows it.
struct HistoryRow {
    at: String,
    by: String,
    field: String,
    old: String,
    new: String,
}

#[derive(Template)]
#[template(path = "record.html")]
struct RecordPage {
    page: PageContext,
    record: Record,
    status: String,
    owner: String,
    assignees: Vec<String>,
    watching: bool,
    may_edit: bool,
    may_trash: bool,
    moves: Vec<Status>,
    comments: Vec<CommentRow>,
    history: Vec<HistoryRow>,
    /// Lines of the history not shown (the oldest).
    history_hidden: u64,
    files: Vec<FileRow>,
    may_attach: bool,
}

/// A file on a record's page.
struct FileRow {
    url: String,
    name: String,
    kind: &'static str,
    size: String,
    by: String,
    at: String,
    text: String,
    may_remove: bool,
}

#[handler]
pub async fn show(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    let actor = me.actor();
    let id = record_id(&id)?;
    let crate::service::records::RecordPage {
        record,
        comments,
        history,
        history_total,
        attachments,
        names,
    } = state.records.page(&actor, id, HISTORY_SHOWN).await?;
    let name = |m: &UserId| {
        names
            .get(m)
            .cloned()
            .unwrap_or_else(|| crate::domain::account::FORMER_MEMBER.into())
    };
    let moderator = actor.role >= Role::Moderator;
    let comment_rows = comments
        .iter()
        .map(|c: &Comment| CommentRow {
            id: c.id.to_string(),
            depth: c.depth,
            author: name(&c.author),
            text: c.text.clone(),
            at: c.created_at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
            edited: c.edited_at.is_some(),
            deleted: c.deleted,
            may_delete: !c.deleted && (c.author == actor.id || moderator),
            may_reply: c.depth < crate::domain::record_comment::DEPTH_MAX,
        })
        .collect();
    let history_rows = history
        .iter()
        .rev()
        .map(|c| HistoryRow {
            at: c.at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
            by: name(&c.by),
            field: c.field.clone(),
            old: c.old.chars().take(200).collect(),
            new: c.new.chars().take(200).collect(),
        })
        .collect();
    Ok(render(&RecordPage {
        page: PageContext::new(req, state, &viewer),
        status: state.records.status_label(&record.status),
        owner: name(&record.owner),
        assignees: record.assignees.iter().map(name).collect(),
        watching: record.watchers.contains(&actor.id),
        may_edit: crate::service::records::may_edit(&actor, &record),
        may_trash: actor
            .role
            .may(crate::domain::permission::Permission::Discard),
        moves: state.records.moves_for(&actor, &record),
        comments: comment_rows,
        history: history_rows,
        history_hidden: history_total.saturating_sub(HISTORY_SHOWN),
        files: attachments
            .iter()
            .map(|a| FileRow {
                url: format!("/records/{}/attachments/{}", a.record, a.id),
                name: a.name.clone(),
                kind: a.kind.label(),
                size: super::human_bytes(a.size),
                by: name(&a.by),
                at: a.at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
                text: a.text.describe(),
                may_remove: crate::service::records::may_remove(&actor, &record, a),
            })
            .collect(),
        may_attach: crate::service::records::may_attach(&actor, &record),
        record,
    })?
    .into_response())
}

#[handler]
pub async fn edit_form(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    let record = state.records.get(&me.actor(), record_id(&id)?).await?;
    let names = state.records.names(record.assignees.iter().copied())?;
    Ok(render(&FormPage {
        page: PageContext::new(req, state, &viewer),
        id: Some(record.id.to_string()),
        form: RecordForm::of(&record, &names),
        errors: Vec::new(),
        conflict: Vec::new(),
    })?
    .into_response())
}

#[handler]
pub async fn save(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(mut form): Form<RecordForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&form.csrf))?;
    let actor = me.actor();
    let id = record_id(&id)?;
    let saved = async {
        let edit = Edit {
            fields: RecordEdit {
                title: Some(form.title.clone()),
                correspondent: Some(form.correspondent.clone()),
                content: Some(form.content.clone()),
                tags: Some(split_list(&form.tags)),
                due: Some(form.due.clone()),
                priority: Some(form.priority()?),
                visibility: Some(form.visibility()?),
            },
            assignees: Some(
                state
                    .records
                    .ids_of(&split_list(&form.assignees), "assignees")?,
            ),
        };
        let version = form
            .version
            .parse()
            .map_err(|_| ServiceError::invalid("version", "Open the record's edit page again."))?;
        state.records.edit(&actor, id, version, edit).await
    }
    .await;
    match saved {
        Ok(record) => {
            flash::set(req, "Saved.");
            Ok(Redirect::see_other(format!("/records/{}", record.id)).into_response())
        }
        Err(EditError::Stale { current, since }) => {
            // Their changes stay in the form, now over the version someone else saved.
            form.version = current.version.to_string();
            let errors = vec![FieldError::new(
                "version",
                "Someone saved this record while you were editing. What they changed is listed below; your changes are still in the form: check them and save again.",
            )];
            render_status(
                &FormPage {
                    page: PageContext::new(req, state, &viewer),
                    id: Some(id.to_string()),
                    form,
                    errors,
                    conflict: since,
                },
                StatusCode::CONFLICT,
            )
        }
        Err(EditError::Refused(e)) => form_again(
            req,
            state,
            &viewer,
            Some(id.to_string()),
            form,
            e,
            Vec::new(),
        ),
    }
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    status: String,
}

#[handler]
pub async fn move_to(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<MoveForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&form.csrf))?;
    let id = record_id(&id)?;
    let record = state
        .records
        .move_to(&me.actor(), id, None, form.status)
        .await
        .map_err(|e| match e {
            EditError::Refused(e) => AppError::from(e),
            EditError::Stale { .. } => AppError::internal(),
        })?;
    flash::set(
        req,
        &format!("Moved to {}.", state.records.status_label(&record.status)),
    );
    Ok(Redirect::see_other(format!("/records/{id}")).into_response())
}

#[derive(Deserialize)]
pub struct WatchForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    watching: String,
}

#[handler]
pub async fn watch(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<WatchForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&form.csrf))?;
    let id = record_id(&id)?;
    let on = form.watching == "yes";
    state.records.watch(&me.actor(), id, on).await?;
    flash::set(
        req,
        if on {
            "You are watching this record."
        } else {
            "You stopped watching this record."
        },
    );
    Ok(Redirect::see_other(format!("/records/{id}")).into_response())
}

#[derive(Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    parent: String,
}

#[handler]
pub async fn comment(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CommentForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&form.csrf))?;
    let id = record_id(&id)?;
    let parent = match form.parent.trim() {
        "" => None,
        p => Some(
            p.parse()
                .map_err(|_| AppError::invalid("parentId", "Reply to a comment of this record."))?,
        ),
    };
    state
        .records
        .comment(&me.actor(), id, parent, &form.text)
        .await?;
    flash::set(req, "Comment added.");
    Ok(Redirect::see_other(format!("/records/{id}#comments")).into_response())
}

#[handler]
pub async fn delete_comment(
    req: &Request,
    viewer: Viewer,
    Path((id, comment_id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&form.csrf))?;
    let id = record_id(&id)?;
    let comment_id = AppError::path_id(&comment_id)?;
    state
        .records
        .delete_comment(&me.actor(), id, comment_id)
        .await?;
    flash::set(req, "Comment deleted.");
    Ok(Redirect::see_other(format!("/records/{id}#comments")).into_response())
}

#[handler]
pub async fn trash(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&form.csrf))?;
    let record = state.records.trash(&me.actor(), record_id(&id)?).await?;
    flash::set(
        req,
        &format!(
            "{} is in the trash; it can be restored for a while.",
            record.number
        ),
    );
    Ok(Redirect::see_other("/records").into_response())
}

#[handler]
pub async fn restore(
    req: &Request,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, AppError> {
    let me = signed_in(&viewer, req.uri().path())?;
    let state = state_of(req)?;
    verify_csrf(req, state, &viewer, Some(&form.csrf))?;
    let record = state.records.restore(&me.actor(), record_id(&id)?).await?;
    flash::set(req, &format!("{} is back.", record.number));
    Ok(Redirect::see_other(format!("/records/{}", record.id)).into_response())
}
