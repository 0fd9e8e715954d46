//! Runtime site settings: read from memory on every request, changed by admins.
//!
//! A change is read-modify-write inside one write transaction (two admins saving different
//! forms at once both keep their change), recorded in the audit log in that transaction, and
//! the in-memory copy is replaced with the committed value by a bus listener, in commit order,
//! before the write returns.

use std::sync::Arc;

use tokio::sync::watch;

use super::StoreError;
use super::access::{Access, Actor};
use super::audit;
use super::error::ServiceError;
use crate::clock::SharedClock;
use crate::domain::account::FieldError;
use crate::domain::permission::Permission;
use crate::domain::settings::{SettingsPatch, SiteSettings};
use crate::events::{Event, EventBus};
use crate::store::Store;

#[derive(Clone)]
pub struct Settings {
    store: Store,
    clock: SharedClock,
    current: Arc<watch::Sender<Arc<SiteSettings>>>,
}

impl Settings {
    /// Loads the stored settings and keeps the copy in memory current from `events`.
    pub async fn load(
        store: Store,
        clock: SharedClock,
        events: &EventBus,
    ) -> Result<Self, StoreError> {
        let stored = store.read(|rx| rx.instance().settings()).await?;
        let (current, _) = watch::channel(Arc::new(stored));
        let current = Arc::new(current);
        let follower = current.clone();
        events.listen(move |event| {
            if let Event::SettingsChanged { settings } = event {
                follower.send_replace(settings.clone());
            }
        });
        Ok(Self {
            store,
            clock,
            current,
        })
    }

    /// The settings in force now (no database access).
    pub fn current(&self) -> Arc<SiteSettings> {
        self.current.borrow().clone()
    }

    /// A reader of the settings in force that holds nothing else (not the store): for
    /// store reactors, which the store holds.
    pub fn watch(&self) -> watch::Receiver<Arc<SiteSettings>> {
        self.current.subscribe()
    }

    /// The settings in force, for those who manage them (the admin panel and the API).
    pub fn read(&self, actor: &Actor) -> Result<Arc<SiteSettings>, ServiceError> {
        Access::new(self.clone()).require(actor, Permission::ManageSettings)?;
        Ok(self.current())
    }

    /// Applies `patch` to the stored settings, validates the result and saves it with an
    /// audit entry saying what changed; returns the settings in force afterwards.
    pub async fn update(
        &self,
        actor: &Actor,
        patch: SettingsPatch,
    ) -> Result<Arc<SiteSettings>, ServiceError> {
        Access::new(self.clone()).require(actor, Permission::ManageSettings)?;
        let (actor, now) = (actor.clone(), self.clock.now());
        let outcome = self
            .store
            .write(move |tx| {
                let old = tx.instance().settings()?;
                let mut new = old.clone();
                patch.apply(&mut new);
                let mut problems = new.problems();
                if new.require_staff_second_factor
                    && !old.require_staff_second_factor
                    && !actor.second_factor
                {
                    problems.push(FieldError::new(
                        "require_staff_second_factor",
                        "Sign in with a second factor yourself before requiring it of staff.",
                    ));
                }
                if !problems.is_empty() {
                    return Ok(Err(ServiceError::Invalid(problems)));
                }
                let details = describe_changes(&old, &new);
                if !details.is_empty() {
                    tx.instance().put_settings(&new)?;
                    audit::record(
                        tx,
                        &audit::entry(&actor, now, "settings.update", "", "", &details),
                    )?;
                }
                Ok(Ok(()))
            })
            .await?;
        outcome?;
        Ok(self.current())
    }
}

/// `field: old → new` for each field that changed; secrets only say that they changed.
fn describe_changes(old: &SiteSettings, new: &SiteSettings) -> String {
    let (old, new) = (flatten(old), flatten(new));
    new.iter()
        .filter(|(k, v)| old.get(*k) != Some(*v))
        .map(|(k, v)| {
            if k.ends_with("password") {
                format!("{k} changed")
            } else {
                format!(
                    "{k}: {} → {v}",
                    old.get(k).map(ToString::to_string).unwrap_or_default()
                )
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Settings as `path → value`, nested objects joined with dots (`mail.smtp_host`).
fn flatten(settings: &SiteSettings) -> std::collections::BTreeMap<String, serde_json::Value> {
    fn walk(
        prefix: &str,
        value: serde_json::Value,
        out: &mut std::collections::BTreeMap<String, serde_json::Value>,
    ) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let path = if prefix.is_empty() {
                        k
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&path, v, out);
                }
            }
            other => {
                out.insert(prefix.to_string(), other);
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(
        "",
        serde_json::to_value(settings).unwrap_or_default(),
        &mut out,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::secret::Secret;

    #[test]
    fn changes_are_described_without_revealing_secrets() {
        let old = SiteSettings::default();
        let mut new = old.clone();
        new.site_name = "Club".into();
        new.mail.smtp_host = "smtp.example.org".into();
        new.mail.smtp_password = Secret::new("hunter2hunter2".into());
        let text = describe_changes(&old, &new);
        assert!(text.contains(r#"site_name: "Hearth" → "Club""#), "{text}");
        assert!(
            text.contains(r#"mail.smtp_host: "" → "smtp.example.org""#),
            "{text}"
        );
        assert!(
            text.contains("mail.smtp_password changed") && !text.contains("hunter2"),
            "{text}"
        );
    }
}
