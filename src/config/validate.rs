//! From layered raw values to a typed [`Config`], collecting every problem instead of stopping
//! at the first: a self-hoster fixes a config in one round trip.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::schema::KEYS;
use super::sources::{Layered, Source};
use super::{
    Config, JobsConfig, LogConfig, LogFormat, MetricsConfig, NotificationsConfig, ServerConfig,
    StorageConfig, TlsConfig,
};
use crate::domain::secret::Secret;
use crate::tls::TlsSettings;

/// One problem: which key, which value, from where, and how to fix it.
#[derive(Debug, Clone)]
pub struct Problem {
    pub key: Option<String>,
    pub value: Option<String>,
    pub source: Option<Source>,
    pub message: String,
}

impl Problem {
    pub fn general(message: String) -> Self {
        Self {
            key: None,
            value: None,
            source: None,
            message,
        }
    }

    pub fn unknown_key(section: &str, name: &str, source: Source) -> Self {
        let suggestion = KEYS
            .iter()
            .filter(|k| k.section == section || k.name == name)
            .map(|k| k.path())
            .collect::<Vec<_>>();
        let hint = if suggestion.is_empty() {
            "see `hearth print-default-config` for every key".to_string()
        } else {
            format!("known keys nearby: {}", suggestion.join(", "))
        };
        Self {
            key: Some(format!("{section}.{name}")),
            value: None,
            source: Some(source),
            message: format!("unknown key; {hint}"),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(key) = &self.key {
            f.write_str(key)?;
            if let Some(value) = &self.value {
                write!(f, " = {value}")?;
            }
            if let Some(source) = &self.source {
                write!(f, " (from {source})")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in the configuration.
#[derive(Debug, Clone)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "the configuration has {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            writeln!(f, "  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Reads typed values out of the layered map, noting each problem.
struct Reader<'a> {
    layered: &'a Layered,
    problems: Vec<Problem>,
}

impl Reader<'_> {
    fn problem(&mut self, path: &str, message: impl Into<String>) {
        let (value, source) = match self.layered.get(path) {
            Some((v, s)) => {
                let secret = KEYS.iter().any(|k| k.secret && k.path() == path);
                (
                    Some(if secret {
                        "[redacted]".to_string()
                    } else {
                        v.to_string()
                    }),
                    Some(s.clone()),
                )
            }
            None => (None, None),
        };
        self.problems.push(Problem {
            key: Some(path.to_string()),
            value,
            source,
            message: message.into(),
        });
    }

    fn raw(&self, path: &str) -> Option<&toml::Value> {
        self.layered.get(path).map(|(v, _)| v)
    }

    fn string(&mut self, path: &str) -> Option<String> {
        match self.raw(path) {
            Some(toml::Value::String(s)) => Some(s.clone()),
            _ => {
                self.problem(path, "must be a string (in quotes)");
                None
            }
        }
    }

    fn int(&mut self, path: &str, range: std::ops::RangeInclusive<i64>) -> Option<i64> {
        match self.raw(path) {
            Some(toml::Value::Integer(i)) if range.contains(i) => Some(*i),
            Some(toml::Value::Integer(_)) => {
                self.problem(
                    path,
                    format!("must be between {} and {}", range.start(), range.end()),
                );
                None
            }
            _ => {
                self.problem(path, "must be a whole number");
                None
            }
        }
    }

    fn list(&mut self, path: &str) -> Option<Vec<String>> {
        let Some(toml::Value::Array(items)) = self.raw(path) else {
            self.problem(path, "must be a list of strings, e.g. [\"a\", \"b\"]");
            return None;
        };
        let strings: Option<Vec<String>> = items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect();
        if strings.is_none() {
            self.problem(path, "must be a list of strings, e.g. [\"a\", \"b\"]");
        }
        strings
    }

    fn one_of(&mut self, path: &str, choices: &[&str]) -> Option<String> {
        let value = self.string(path)?;
        if choices.contains(&value.as_str()) {
            Some(value)
        } else {
            self.problem(path, format!("must be one of: {}", choices.join(", ")));
            None
        }
    }

    fn socket_addr(&mut self, path: &str) -> Option<SocketAddr> {
        let value = self.string(path)?;
        match value.parse() {
            Ok(addr) => Some(addr),
            Err(_) => {
                self.problem(path, "must be IP:PORT, e.g. 127.0.0.1:8080 or [::]:443 (use an IP address, not a host name)");
                None
            }
        }
    }

    fn optional_socket_addr(&mut self, path: &str) -> Option<Option<SocketAddr>> {
        match self.raw(path) {
            Some(toml::Value::String(s)) if s.is_empty() => Some(None),
            _ => self.socket_addr(path).map(Some),
        }
    }

    fn optional_file(&mut self, path: &str, what: &str) -> Option<Option<PathBuf>> {
        let value = self.string(path)?;
        if value.is_empty() {
            return Some(None);
        }
        let file = PathBuf::from(&value);
        if file.is_file() {
            Some(Some(file))
        } else {
            self.problem(
                path,
                format!("{what} not found or not a file; give the path of an existing PEM file"),
            );
            None
        }
    }
}

pub fn validate(layered: &Layered) -> Result<Config, ConfigError> {
    let mut r = Reader {
        layered,
        problems: Vec::new(),
    };

    let listen = r.socket_addr("server.listen");
    let public_url = r.string("server.public_url").and_then(|s| {
        if s.is_empty() {
            return Some(None);
        }
        match url::Url::parse(&s) {
            Ok(u)
                if matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.path() == "/"
                    && u.query().is_none() =>
            {
                Some(Some(u))
            }
            _ => {
                r.problem(
                    "server.public_url",
                    "must be an http(s) URL with no path, e.g. https://hearth.example.org",
                );
                None
            }
        }
    });
    let trusted_proxies = ip_ranges(&mut r, "server.trusted_proxies");
    let shutdown_grace = r.int("server.shutdown_grace_seconds", 1..=300);
    let max_body_kib = r.int("server.max_body_kib", 1..=1_048_576);
    let max_streams = r.int("server.max_streams", 1..=1_000_000);

    let data_dir = r.string("storage.data_dir").and_then(|s| {
        if s.is_empty() {
            r.problem("storage.data_dir", "must not be empty");
            return None;
        }
        let dir = PathBuf::from(s);
        match check_writable_dir(&dir) {
            Ok(()) => Some(dir),
            Err(why) => {
                r.problem("storage.data_dir", why);
                None
            }
        }
    });
    let min_free_mib = r.int("storage.min_free_disk_mib", 0..=1_048_576);
    let cache_mib = r.int("storage.cache_mib", 1..=65_536);

    let tls_mode = r.one_of("tls.mode", &["off", "files", "acme"]);
    let redirect_listen = r.optional_socket_addr("tls.redirect_listen");
    let hsts = r.int("tls.hsts_max_age_seconds", 0..=63_072_000);
    let max_handshakes = r.int("tls.max_handshakes", 1..=65_536);
    let settings = match tls_mode.as_deref() {
        Some("files") => {
            let cert = r.optional_file("tls.cert_file", "certificate file");
            let key = r.optional_file("tls.key_file", "key file");
            match (cert, key) {
                (Some(Some(cert_path)), Some(Some(key_path))) => Some(TlsSettings::Files {
                    cert_path,
                    key_path,
                }),
                (cert, key) => {
                    if matches!(cert, Some(None)) {
                        r.problem("tls.cert_file", "is required when tls.mode = \"files\"");
                    }
                    if matches!(key, Some(None)) {
                        r.problem("tls.key_file", "is required when tls.mode = \"files\"");
                    }
                    None
                }
            }
        }
        Some("acme") => acme_settings(&mut r, data_dir.as_deref()),
        Some(_) => Some(TlsSettings::Off),
        None => None,
    };

    let level = r.string("log.level").and_then(|level| {
        if tracing_subscriber::EnvFilter::try_new(&level).is_ok() {
            Some(level)
        } else {
            r.problem(
                "log.level",
                "must be trace, debug, info, warn, error, or directives like \"info,hearth=debug\"",
            );
            None
        }
    });
    let format = r.one_of("log.format", &["text", "json"]);
    let token = r.string("metrics.token");
    let workers = r.int("jobs.workers", 1..=64);
    let max_attempts = r.int("jobs.max_attempts", 1..=100);
    let allow_private_networks = ip_ranges(&mut r, "notifications.allow_private_networks");

    // Cross-key rules.
    if let (Some(listen), Some(Some(redirect)), Some(s)) = (listen, redirect_listen, &settings)
        && !matches!(s, TlsSettings::Off)
        && listen.port() == redirect.port()
        && (listen.ip() == redirect.ip()
            || listen.ip().is_unspecified()
            || redirect.ip().is_unspecified())
    {
        r.problem("tls.redirect_listen", format!("uses the same port as server.listen ({listen}); pick another port (usually 80) or set it to \"\""));
    }

    let problems = std::mem::take(&mut r.problems);
    let (
        Some(listen),
        Some(public_url),
        Some(trusted_proxies),
        Some(shutdown_grace),
        Some(max_body_kib),
        Some(max_streams),
        Some(data_dir),
        Some(min_free_mib),
        Some(cache_mib),
        Some(settings),
        Some(redirect_listen),
        Some(hsts),
        Some(max_handshakes),
        Some(level),
        Some(format),
        Some(token),
        Some(workers),
        Some(max_attempts),
        Some(allow_private_networks),
    ) = (
        listen,
        public_url,
        trusted_proxies,
        shutdown_grace,
        max_body_kib,
        max_streams,
        data_dir,
        min_free_mib,
        cache_mib,
        settings,
        redirect_listen,
        hsts,
        max_handshakes,
        level,
        format,
        token,
        workers,
        max_attempts,
        allow_private_networks,
    )
    else {
        return Err(ConfigError { problems });
    };
    if !problems.is_empty() {
        return Err(ConfigError { problems });
    }

    let tls_on = !matches!(settings, TlsSettings::Off);
    Ok(Config {
        server: ServerConfig {
            listen,
            public_url,
            trusted_proxies,
            shutdown_grace: Duration::from_secs(shutdown_grace.unsigned_abs()),
            max_body_bytes: max_body_kib.unsigned_abs() * 1024,
            max_streams: usize::try_from(max_streams).unwrap_or(10_000),
        },
        storage: StorageConfig {
            data_dir,
            min_free_disk_bytes: min_free_mib.unsigned_abs() * 1024 * 1024,
            cache_bytes: usize::try_from(cache_mib.unsigned_abs() * 1024 * 1024)
                .unwrap_or(usize::MAX),
        },
        tls: TlsConfig {
            settings,
            redirect_listen: if tls_on { redirect_listen } else { None },
            hsts_max_age: Duration::from_secs(hsts.unsigned_abs()),
            max_handshakes: usize::try_from(max_handshakes).unwrap_or(256),
        },
        log: LogConfig {
            level,
            format: if format == "json" {
                LogFormat::Json
            } else {
                LogFormat::Text
            },
        },
        metrics: MetricsConfig {
            token: (!token.is_empty()).then(|| Secret::new(token)),
        },
        jobs: JobsConfig {
            workers: usize::try_from(workers).unwrap_or(1),
            max_attempts: u32::try_from(max_attempts).unwrap_or(1),
        },
        notifications: NotificationsConfig {
            allow_private_networks,
        },
    })
}

/// A list of IP addresses or CIDR ranges.
fn ip_ranges(r: &mut Reader<'_>, key: &str) -> Option<Vec<ipnet::IpNet>> {
    let items = r.list(key)?;
    let mut nets = Vec::new();
    for item in items {
        let parsed = item
            .parse::<ipnet::IpNet>()
            .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
        match parsed {
            Ok(net) => nets.push(net),
            Err(_) => r.problem(
                key,
                format!("\"{item}\" is not an IP address or CIDR range like 10.0.0.0/8"),
            ),
        }
    }
    Some(nets)
}

fn acme_settings(r: &mut Reader<'_>, data_dir: Option<&Path>) -> Option<TlsSettings> {
    let domains = r.list("tls.acme_domains");
    if let Some(domains) = &domains {
        if domains.is_empty() {
            r.problem(
                "tls.acme_domains",
                "needs at least one domain name when tls.mode = \"acme\"",
            );
        }
        for d in domains {
            if !is_dns_name(d) {
                r.problem("tls.acme_domains", format!("\"{d}\" is not a domain name like hearth.example.org (no scheme, port or path)"));
            }
        }
    }
    let email = r.string("tls.acme_email");
    if let Some(e) = &email
        && !e.is_empty()
        && crate::domain::account::normalize_email(e).is_err()
    {
        r.problem("tls.acme_email", "must be an email address or empty");
    }
    let directory = r.string("tls.acme_directory");
    if let Some(d) = &directory
        && !url::Url::parse(d).is_ok_and(|u| u.scheme() == "https" && u.host().is_some())
    {
        r.problem(
            "tls.acme_directory",
            "must be an https:// URL of an ACME directory",
        );
    }
    let ca_root = r.optional_file("tls.acme_ca_root", "CA root file");
    let problems_before = r.problems.len();
    let (domains, email, directory_url, extra_ca_root, data_dir) =
        (domains?, email?, directory?, ca_root?, data_dir?);
    if r.problems.len() > problems_before
        || domains.is_empty()
        || domains.iter().any(|d| !is_dns_name(d))
    {
        return None;
    }
    Some(TlsSettings::Acme {
        domains,
        contact_email: (!email.is_empty()).then_some(email),
        directory_url,
        extra_ca_root,
        cache_dir: data_dir.join("acme"),
    })
}

fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// The data directory must be writable, or creatable in a writable parent. Checked without
/// creating anything: loading a config has no side effects.
fn check_writable_dir(dir: &Path) -> Result<(), String> {
    let mut probe = dir.to_path_buf();
    loop {
        if probe.exists() {
            if !probe.is_dir() {
                return Err(format!("{} exists and is not a directory", probe.display()));
            }
            return match rustix::fs::access(
                &probe,
                rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
            ) {
                Ok(()) => Ok(()),
                Err(_) if probe == dir => Err(format!(
                    "{} is not writable by this user; fix its permissions or choose another directory",
                    dir.display()
                )),
                Err(_) => Err(format!(
                    "{} does not exist and {} is not writable, so it cannot be created",
                    dir.display(),
                    probe.display()
                )),
            };
        }
        let parent = probe
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        if parent == probe {
            return Err(format!("{} cannot be created", dir.display()));
        }
        probe = parent;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::sources::Overrides;

    fn with_file(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hearth.toml");
        std::fs::write(&file, text).unwrap();
        let overrides = Overrides {
            config_file: Some(file),
            data_dir: Some(dir.path().join("data")),
            ignore_environment: true,
            ..Overrides::default()
        };
        Config::load(&overrides)
    }

    #[test]
    fn defaults_are_valid() {
        let cfg = with_file("").unwrap();
        assert_eq!(cfg.server.listen.to_string(), "127.0.0.1:8080");
        assert!(!cfg.is_tls());
        assert_eq!(cfg.tls.redirect_listen, None);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = with_file(
            "[server]\nlisten = \"nope\"\nshutdown_grace_seconds = 0\nmax_body_kib = \"big\"\n[tls]\nmode = \"acm\"\n[log]\nformat = \"xml\"\n",
        )
        .unwrap_err();
        let text = err.to_string();
        for needle in [
            "server.listen = \"nope\"",
            "server.shutdown_grace_seconds = 0",
            "max_body_kib",
            "tls.mode = \"acm\"",
            "log.format",
        ] {
            assert!(text.contains(needle), "missing {needle} in:\n{text}");
        }
        assert_eq!(err.problems.len(), 5, "{text}");
    }

    #[test]
    fn the_database_cache_is_bounded_and_configurable() {
        let cfg = with_file("").unwrap();
        assert_eq!(cfg.storage.cache_bytes, 64 * 1024 * 1024);
        let cfg = with_file("[storage]\ncache_mib = 256\n").unwrap();
        assert_eq!(cfg.storage.cache_bytes, 256 * 1024 * 1024);
        let err = with_file("[storage]\ncache_mib = 0\n").unwrap_err();
        assert!(err.to_string().contains("storage.cache_mib = 0"), "{err}");
    }

    #[test]
    fn unknown_keys_and_sections_are_rejected() {
        let err = with_file("[server]\nlisten_addr = \"x\"\n[nope]\na = 1\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("server.listen_addr") && text.contains("server.listen,"),
            "{text}"
        );
        assert!(text.contains("unknown section [nope]"), "{text}");
    }

    #[test]
    fn secrets_are_redacted_in_errors_and_debug() {
        let err = with_file("[metrics]\ntoken = 42\n").unwrap_err();
        assert!(
            err.to_string().contains("metrics.token = [redacted]"),
            "{err}"
        );
        let cfg = with_file("[metrics]\ntoken = \"s3cret-token\"\n").unwrap();
        assert!(!format!("{cfg:?}").contains("s3cret-token"));
    }

    #[test]
    fn acme_needs_domains_and_https_directory() {
        let err = with_file("[tls]\nmode = \"acme\"\nacme_directory = \"http://x\"\nacme_domains = [\"https://bad\"]\n").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("tls.acme_directory") && text.contains("tls.acme_domains"),
            "{text}"
        );
    }

    #[test]
    fn redirect_port_must_differ_from_listen_port() {
        let dir = tempfile::tempdir().unwrap();
        let cert = dir.path().join("c.pem");
        std::fs::write(&cert, "x").unwrap();
        let text = format!(
            "[server]\nlisten = \"0.0.0.0:8443\"\n[tls]\nmode = \"files\"\ncert_file = \"{0}\"\nkey_file = \"{0}\"\nredirect_listen = \"127.0.0.1:8443\"\n",
            cert.display()
        );
        let err = with_file(&text).unwrap_err();
        assert!(err.to_string().contains("same port"), "{err}");
    }

    #[test]
    fn unwritable_data_dir_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "").unwrap();
        let err = check_writable_dir(&file.join("sub")).unwrap_err();
        assert!(err.contains("not a directory"), "{err}");
    }
}
