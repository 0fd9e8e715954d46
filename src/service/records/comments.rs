//! Comments on records: written by anyone who can see the record, threaded five deep,
//! edited by their author for 15 minutes, deleted as tombstones. A commenter starts watching
//! the record; its watchers hear of each comment, and the people it mentions (who can see
//! the record) hear that they were named.

use super::{Records, may_see};
use crate::domain::ids::{CommentId, RecordId, UserId, uuid_v7};
use crate::domain::permission::Permission;
use crate::domain::record::{Record, RecordNews};
use crate::domain::record_comment::{Comment, DEPTH_MAX, check_text, mentions, thread_order};
use crate::events::Event;
use crate::service::access::Actor;
use crate::service::error::{ErrorCode, ServiceError};
use crate::service::limits::{Limit, LimitKind};
use crate::store::{StoreError, Tx};

/// Comments a member may write in an hour.
pub const COMMENTS_PER_HOUR: u32 = 300;
/// Comments a record may have (tombstones count): a thread this long is read whole on its
/// page, so it has an end.
pub const COMMENTS_PER_RECORD: usize = 1_000;

/// The record `actor` may see, for commenting: 404 when they may not see it, 409 when it is
/// in the trash (and they could see it otherwise).
fn open_record(
    tx: &Tx<'_>,
    actor: &Actor,
    id: RecordId,
) -> Result<Result<Record, ServiceError>, StoreError> {
    Ok(match tx.records().get(id)? {
        Some(r) if may_see(actor.id, actor.role, &r) => match r.deleted_at {
            None => Ok(r),
            Some(_) => Err(ServiceError::conflict(
                ErrorCode::Conflict,
                "The record is in the trash: restore it before commenting.",
            )),
        },
        _ => Err(ServiceError::not_found()),
    })
}

impl Records {
    /// Writes a comment on a record `actor` can see, as a reply to `parent` when given (a
    /// comment of the same record, at most [`DEPTH_MAX`] deep).
    pub async fn comment(
        &self,
        actor: &Actor,
        record: RecordId,
        parent: Option<CommentId>,
        text: &str,
    ) -> Result<Comment, ServiceError> {
        self.access.require(actor, Permission::Create)?;
        let text = check_text(text).map_err(|why| ServiceError::invalid("text", why))?;
        self.limiter
            .take(
                LimitKind::RecordComment,
                &actor.id.to_string(),
                Limit::per_window(COMMENTS_PER_HOUR, 3600),
            )
            .map_err(ServiceError::RateLimited)?;
        let now = self.clock.now();
        let actor = actor.clone();
        let id = CommentId(uuid_v7(now.as_millisecond(), rand::random()));
        self.store
            .write(move |tx| {
                let on = match open_record(tx, &actor, record)? {
                    Ok(r) => r,
                    Err(e) => return Ok(Err(e)),
                };
                if tx.records().comment_count(record, COMMENTS_PER_RECORD)? >= COMMENTS_PER_RECORD {
                    return Ok(Err(ServiceError::conflict(
                        ErrorCode::Conflict,
                        format!(
                            "This record has {COMMENTS_PER_RECORD} comments, as many as a record takes: make a new record to go on."
                        ),
                    )));
                }
                let depth = match parent {
                    None => 1,
                    Some(p) => match tx.records().comment(record, p)? {
                        None => {
                            return Ok(Err(ServiceError::invalid(
                                "parentId",
                                "Reply to a comment of this record.",
                            )));
                        }
                        Some(p) if p.depth >= DEPTH_MAX => {
                            return Ok(Err(ServiceError::invalid(
                                "parentId",
                                format!(
                                    "Replies go {DEPTH_MAX} deep at most: answer higher up the thread."
                                ),
                            )));
                        }
                        Some(p) => p.depth + 1,
                    },
                };
                let comment = Comment {
                    id,
                    record,
                    parent,
                    depth,
                    author: actor.id,
                    text: text.clone(),
                    created_at: now,
                    edited_at: None,
                    deleted: false,
                };
                tx.records().put_comment(&comment)?;
                let mut watchers = on.watchers.clone();
                if !watchers.contains(&actor.id) {
                    watchers.push(actor.id);
                    tx.records().set_watchers(record, watchers.clone())?;
                    tx.emit(Event::RecordChanged { record });
                }
                let named = named_who_see(tx, &on, &text, actor.id)?;
                for member in &named {
                    tx.emit(Event::RecordNotice {
                        record,
                        member: *member,
                        by: Some(actor.id),
                        news: RecordNews::Mentioned { comment: id },
                    });
                }
                for member in watchers
                    .iter()
                    .filter(|w| **w != actor.id && !named.contains(w))
                {
                    tx.emit(Event::RecordNotice {
                        record,
                        member: *member,
                        by: Some(actor.id),
                        news: RecordNews::Commented { comment: id },
                    });
                }
                Ok(Ok(comment))
            })
            .await?
    }

    /// Changes the text of `actor`'s own comment, in the 15 minutes after it was written.
    pub async fn edit_comment(
        &self,
        actor: &Actor,
        record: RecordId,
        id: CommentId,
        text: &str,
    ) -> Result<Comment, ServiceError> {
        self.access.require(actor, Permission::EditOwn)?;
        let text = check_text(text).map_err(|why| ServiceError::invalid("text", why))?;
        let now = self.clock.now();
        self.change_comment(actor, record, id, move |c, by| {
            if c.author != by.id {
                return Err(ServiceError::forbidden("Only its author edits a comment."));
            }
            if !c.editable_at(now) {
                return Err(ServiceError::conflict(
                    ErrorCode::EditWindowClosed,
                    "A comment can be edited only in the 15 minutes after it was written.",
                ));
            }
            c.text.clone_from(&text);
            c.edited_at = Some(now);
            Ok(())
        })
        .await
    }

    /// Deletes a comment: its author's own, or anyone's for moderators. The thread keeps a
    /// "comment deleted" in its place, so replies stay where they were.
    pub async fn delete_comment(
        &self,
        actor: &Actor,
        record: RecordId,
        id: CommentId,
    ) -> Result<Comment, ServiceError> {
        self.access.require(actor, Permission::EditOwn)?;
        self.change_comment(actor, record, id, |c, by| {
            if c.author != by.id && !by.role.may(Permission::EditAll) {
                return Err(ServiceError::forbidden(
                    "Members delete their own comments; moderators any.",
                ));
            }
            c.text.clear();
            c.deleted = true;
            Ok(())
        })
        .await
    }

    async fn change_comment(
        &self,
        actor: &Actor,
        record: RecordId,
        id: CommentId,
        mut change: impl FnMut(&mut Comment, &Actor) -> Result<(), ServiceError> + Send + 'static,
    ) -> Result<Comment, ServiceError> {
        let actor = actor.clone();
        self.store
            .write(move |tx| {
                if let Err(e) = open_record(tx, &actor, record)? {
                    return Ok(Err(e));
                }
                let Some(mut comment) = tx.records().comment(record, id)?.filter(|c| !c.deleted)
                else {
                    return Ok(Err(ServiceError::not_found()));
                };
                if let Err(e) = change(&mut comment, &actor) {
                    return Ok(Err(e));
                }
                tx.records().put_comment(&comment)?;
                Ok(Ok(comment))
            })
            .await?
    }

    /// A record's comments in thread order (each followed by its replies).
    pub async fn comments(
        &self,
        actor: &Actor,
        record: RecordId,
    ) -> Result<Vec<Comment>, ServiceError> {
        self.read_visible(actor, record, move |rx, _| {
            Ok(thread_order(rx.records().comments(record)?))
        })
        .await
    }
}

/// The members `text` mentions who can see `record` (not the writer).
fn named_who_see(
    tx: &Tx<'_>,
    record: &Record,
    text: &str,
    writer: UserId,
) -> Result<Vec<UserId>, StoreError> {
    let mut out = Vec::new();
    for name in mentions(text) {
        if let Some(user) = tx.users().by_login(&name)?
            && user.id != writer
            && may_see(user.id, user.role, record)
        {
            out.push(user.id);
        }
    }
    Ok(out)
}
