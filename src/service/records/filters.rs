//! Saved lists: a member names a records list (its query string) to come back to it.

use super::Records;
use crate::domain::permission::Permission;
use crate::domain::text::plain_text_problem;
use crate::service::access::Actor;
use crate::service::error::ServiceError;

/// Lists a member may save.
pub const SAVED_FILTERS_MAX: usize = 20;
/// The longest name and query string of a saved list.
const NAME_MAX_CHARS: usize = 40;
const QUERY_MAX_CHARS: usize = 500;

impl Records {
    /// `actor`'s saved lists: (name, query string), by name.
    pub fn saved_filters(&self, actor: &Actor) -> Result<Vec<(String, String)>, ServiceError> {
        self.access.require(actor, Permission::View)?;
        let me = actor.id;
        Ok(self.store.lookup(move |rx| rx.records().filters(me))?)
    }

    /// Saves the list with `query` (the list page's query string) as `name`, replacing one
    /// of that name; at most [`SAVED_FILTERS_MAX`].
    pub async fn save_filter(
        &self,
        actor: &Actor,
        name: &str,
        query: &str,
    ) -> Result<(), ServiceError> {
        self.access.require(actor, Permission::View)?;
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() || name.chars().count() > NAME_MAX_CHARS {
            return Err(ServiceError::invalid(
                "name",
                format!("Name the list in 1 to {NAME_MAX_CHARS} characters."),
            ));
        }
        if let Some(why) = plain_text_problem(&name, false) {
            return Err(ServiceError::invalid("name", why));
        }
        let query = query.trim().trim_start_matches('?').to_string();
        if query.chars().count() > QUERY_MAX_CHARS || query.chars().any(char::is_control) {
            return Err(ServiceError::invalid(
                "query",
                format!("Use the list's query string, up to {QUERY_MAX_CHARS} characters."),
            ));
        }
        let me = actor.id;
        self.store
            .write(move |tx| {
                let saved = tx.records().filters(me)?;
                if saved.len() >= SAVED_FILTERS_MAX && !saved.iter().any(|(n, _)| *n == name) {
                    return Ok(Err(ServiceError::invalid(
                        "name",
                        format!("You have {SAVED_FILTERS_MAX} saved lists: delete one first."),
                    )));
                }
                tx.records().save_filter(me, &name, &query)?;
                Ok(Ok(()))
            })
            .await?
    }

    /// Deletes `actor`'s saved list `name` (404 when there is none).
    pub async fn delete_filter(&self, actor: &Actor, name: &str) -> Result<(), ServiceError> {
        self.access.require(actor, Permission::View)?;
        let (me, name) = (actor.id, name.to_string());
        let found = self
            .store
            .write(move |tx| tx.records().delete_filter(me, &name))
            .await?;
        if found {
            Ok(())
        } else {
            Err(ServiceError::not_found())
        }
    }
}
