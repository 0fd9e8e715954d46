//! Layering: embedded defaults < config file < environment < command-line flags.
//!
//! The result is a flat map from `section.key` to a raw TOML value and the layer it came from;
//! nothing is interpreted here beyond TOML syntax, so validation can report every problem.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::schema::{self, KEYS};
use super::validate::Problem;

/// Values given on the command line; they win over every other layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    /// Tests set this so a developer's shell cannot change their outcome.
    pub ignore_environment: bool,
}

/// Where a value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(String),
    Flag(&'static str),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Default => f.write_str("built-in default"),
            Source::File(path) => write!(f, "{}", path.display()),
            Source::Env(var) => write!(f, "environment variable {var}"),
            Source::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Layered {
    pub values: BTreeMap<String, (toml::Value, Source)>,
}

impl Layered {
    pub fn get(&self, path: &str) -> Option<&(toml::Value, Source)> {
        self.values.get(path)
    }
}

/// The environment variable that names a config file when `--config` is not given.
pub const CONFIG_ENV: &str = "HEARTH_CONFIG";

/// Every layer merged, and the problems met on the way (unreadable file, unknown keys); the
/// caller reports them together with the validation problems.
pub fn layer(overrides: &Overrides) -> (Layered, Vec<Problem>) {
    let mut values: BTreeMap<String, (toml::Value, Source)> = KEYS
        .iter()
        .map(|k| {
            (
                k.path(),
                (schema::default_value(k.default), Source::Default),
            )
        })
        .collect();
    let mut problems = Vec::new();

    let env: Vec<(String, String)> = if overrides.ignore_environment {
        Vec::new()
    } else {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .filter(|(k, _)| k.starts_with("HEARTH_"))
            .collect()
    };

    let file = overrides.config_file.clone().or_else(|| {
        env.iter()
            .find(|(k, _)| k == CONFIG_ENV)
            .map(|(_, v)| PathBuf::from(v))
    });
    if let Some(path) = file {
        read_file(&path, &mut values, &mut problems);
    }
    for (var, raw) in &env {
        apply_env(var, raw, &mut values, &mut problems);
    }
    if let Some(dir) = &overrides.data_dir {
        let v = toml::Value::String(dir.to_string_lossy().into_owned());
        values.insert("storage.data_dir".into(), (v, Source::Flag("--data-dir")));
    }
    if let Some(listen) = &overrides.listen {
        values.insert(
            "server.listen".into(),
            (
                toml::Value::String(listen.clone()),
                Source::Flag("--listen"),
            ),
        );
    }

    (Layered { values }, problems)
}

fn read_file(
    path: &std::path::Path,
    values: &mut BTreeMap<String, (toml::Value, Source)>,
    problems: &mut Vec<Problem>,
) {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            problems.push(Problem::general(format!(
                "cannot read config file {}: {e}. Check the path given to --config or {CONFIG_ENV}.",
                path.display()
            )));
            return;
        }
    };
    let table: toml::Table = match toml::from_str(&text) {
        Ok(t) => t,
        Err(e) => {
            problems.push(Problem::general(format!(
                "{} is not valid TOML: {e}",
                path.display()
            )));
            return;
        }
    };
    for (section, body) in table {
        let Some(body) = body.as_table() else {
            problems.push(Problem::general(format!(
                "{}: `{section}` must be a [section], not a value. Known sections: {}.",
                path.display(),
                known_sections()
            )));
            continue;
        };
        if !schema::SECTIONS.iter().any(|(s, _)| *s == section) {
            problems.push(Problem::general(format!(
                "{}: unknown section [{section}]. Known sections: {}.",
                path.display(),
                known_sections()
            )));
            continue;
        }
        for (name, value) in body {
            if schema::find(&section, name).is_none() {
                problems.push(Problem::unknown_key(
                    &section,
                    name,
                    Source::File(path.to_path_buf()),
                ));
                continue;
            }
            values.insert(
                format!("{section}.{name}"),
                (value.clone(), Source::File(path.to_path_buf())),
            );
        }
    }
}

fn apply_env(
    var: &str,
    raw: &str,
    values: &mut BTreeMap<String, (toml::Value, Source)>,
    problems: &mut Vec<Problem>,
) {
    if var == CONFIG_ENV {
        return;
    }
    let Some((section, name)) = var
        .strip_prefix("HEARTH_")
        .and_then(|rest| rest.split_once("__"))
    else {
        problems.push(Problem::general(format!(
            "environment variable {var} is not a Hearth setting: use HEARTH_SECTION__KEY (two underscores), e.g. HEARTH_SERVER__LISTEN."
        )));
        return;
    };
    let (section, name) = (section.to_lowercase(), name.to_lowercase());
    let Some(key) = schema::find(&section, &name) else {
        problems.push(Problem::unknown_key(
            &section,
            &name,
            Source::Env(var.to_string()),
        ));
        return;
    };
    let value = env_value(key.default, raw);
    values.insert(key.path(), (value, Source::Env(var.to_string())));
}

/// Environment values are text; read them as the key's type where they parse as that type,
/// and leave the rest as strings for validation to reject with a clear message.
fn env_value(default: schema::Default, raw: &str) -> toml::Value {
    let raw = raw.trim();
    match default {
        schema::Default::Str(_) => toml::Value::String(raw.to_string()),
        schema::Default::Int(_) => raw
            .parse()
            .map(toml::Value::Integer)
            .unwrap_or_else(|_| toml::Value::String(raw.into())),
        schema::Default::Bool(_) => raw
            .parse()
            .map(toml::Value::Boolean)
            .unwrap_or_else(|_| toml::Value::String(raw.into())),
        schema::Default::List(_) => {
            if raw.starts_with('[') {
                toml::from_str::<toml::Table>(&format!("v = {raw}"))
                    .ok()
                    .and_then(|mut t| t.remove("v"))
                    .unwrap_or_else(|| toml::Value::String(raw.into()))
            } else {
                let items = raw.split(',').map(str::trim).filter(|s| !s.is_empty());
                toml::Value::Array(items.map(|s| toml::Value::String(s.into())).collect())
            }
        }
    }
}

fn known_sections() -> String {
    schema::SECTIONS
        .iter()
        .map(|(s, _)| *s)
        .collect::<Vec<_>>()
        .join(", ")
}
