//! Runtime site settings: read from memory on every request, changed by admins, persisted in
//! redb together with an audit-log entry.

use std::sync::Arc;

use tokio::sync::watch;

use super::StoreError;
use super::audit::{self, Actor};
use crate::clock::SharedClock;
use crate::domain::account::FieldError;
use crate::domain::permission::Permission;
use crate::domain::settings::SiteSettings;
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("your role may not change site settings")]
    Forbidden,
    #[error("some settings need attention")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Settings {
    store: Store,
    clock: SharedClock,
    current: Arc<watch::Sender<Arc<SiteSettings>>>,
}

impl Settings {
    pub async fn load(store: Store, clock: SharedClock) -> Result<Self, StoreError> {
        let stored = store.read(|rx| rx.settings()).await?;
        let (current, _) = watch::channel(Arc::new(stored));
        Ok(Self {
            store,
            clock,
            current: Arc::new(current),
        })
    }

    /// The settings in force now (no database access).
    pub fn current(&self) -> Arc<SiteSettings> {
        self.current.borrow().clone()
    }

    /// Validates and saves new settings, recording what changed in the audit log.
    pub async fn update(&self, actor: &Actor, new: SiteSettings) -> Result<(), SettingsError> {
        if !actor.role.may(Permission::ManageSettings) {
            return Err(SettingsError::Forbidden);
        }
        let problems = new.problems();
        if !problems.is_empty() {
            return Err(SettingsError::Invalid(problems));
        }
        let old = self.current();
        let details = describe_changes(&old, &new);
        if details.is_empty() {
            return Ok(());
        }
        let entry = audit::entry(actor, self.clock.now(), "settings.update", "", "", &details);
        let saved = new.clone();
        self.store
            .write(move |tx| {
                tx.put_settings(&saved)?;
                tx.append_audit(audit::new_id(&entry), &entry)
            })
            .await?;
        self.current.send_replace(Arc::new(new));
        Ok(())
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
