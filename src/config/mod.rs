//! Boot configuration: the only module that reads config files or the environment.
//!
//! Three stages, so that every problem is reported at once and nothing has side effects:
//! 1. [`schema`] lists every key with its default and documentation (the reference
//!    `config.toml` is rendered from it and golden-tested);
//! 2. [`sources`] layers defaults < file < `HEARTH_SECTION__KEY` environment < CLI flags into
//!    one map of raw values, remembering where each came from;
//! 3. [`validate`] turns that map into a typed [`Config`], collecting every problem.
//!
//! Settings that admins change while Hearth runs are not here: they live in the database.

pub mod schema;
pub mod sources;
pub mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::domain::secret::Secret;
use crate::tls::TlsSettings;

pub use sources::{Overrides, Source};
pub use validate::{ConfigError, Problem};

/// The validated boot configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub tls: TlsConfig,
    pub log: LogConfig,
    pub metrics: MetricsConfig,
    pub jobs: JobsConfig,
    pub notifications: NotificationsConfig,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// The address members use, e.g. `https://hearth.example.org`; `None` means derive it
    /// from the listening address.
    pub public_url: Option<url::Url>,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub shutdown_grace: Duration,
    pub max_body_bytes: u64,
    /// Most live streams at once, over all members.
    pub max_streams: usize,
}

#[derive(Debug, Clone)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
    pub min_free_disk_bytes: u64,
    /// The database's page cache.
    pub cache_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub settings: TlsSettings,
    /// Plain-HTTP listener that redirects to HTTPS (and nothing else); `None` when TLS is off
    /// or the redirect is disabled.
    pub redirect_listen: Option<SocketAddr>,
    pub hsts_max_age: Duration,
    /// Most TLS handshakes in progress at once.
    pub max_handshakes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct LogConfig {
    pub level: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone)]
pub struct MetricsConfig {
    /// Bearer token that opens `/metrics` from anywhere; without it only loopback may read.
    pub token: Option<Secret<String>>,
}

#[derive(Debug, Clone)]
pub struct JobsConfig {
    pub workers: usize,
    pub max_attempts: u32,
}

#[derive(Debug, Clone)]
pub struct NotificationsConfig {
    /// Ranges that Web Push and member webhooks may reach although they are not public.
    pub allow_private_networks: Vec<ipnet::IpNet>,
}

impl Config {
    /// Loads and validates the configuration from every layer.
    pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
        let (layered, mut problems) = sources::layer(overrides);
        match validate::validate(&layered) {
            Ok(config) if problems.is_empty() => Ok(config),
            Ok(_) => Err(ConfigError { problems }),
            Err(e) => {
                problems.extend(e.problems);
                Err(ConfigError { problems })
            }
        }
    }

    /// The configuration with embedded defaults only, pointed at `data_dir`: for tests and
    /// for commands that need no file.
    pub fn defaults_with_data_dir(data_dir: PathBuf) -> Result<Config, ConfigError> {
        let overrides = Overrides {
            data_dir: Some(data_dir),
            ignore_environment: true,
            ..Overrides::default()
        };
        Config::load(&overrides)
    }

    pub fn is_tls(&self) -> bool {
        !matches!(self.tls.settings, TlsSettings::Off)
    }

    /// The base URL printed in links (setup link, emails).
    pub fn public_base_url(&self, bound: SocketAddr) -> String {
        if let Some(url) = &self.server.public_url {
            return url.as_str().trim_end_matches('/').to_string();
        }
        if let TlsSettings::Acme { domains, .. } = &self.tls.settings
            && let Some(first) = domains.first()
        {
            return match bound.port() {
                443 => format!("https://{first}"),
                port => format!("https://{first}:{port}"),
            };
        }
        let scheme = if self.is_tls() { "https" } else { "http" };
        // A loopback or wildcard address is reached as `localhost`: a name, which passkeys
        // need (an IP address cannot be a WebAuthn relying party), and which browsers treat as
        // a secure context without TLS.
        let host = match bound.ip() {
            ip if ip.is_unspecified() || ip.is_loopback() => "localhost".to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            std::net::IpAddr::V4(ip) => ip.to_string(),
        };
        format!("{scheme}://{host}:{}", bound.port())
    }
}
