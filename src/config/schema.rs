//! Every configuration key, its default and its documentation, in one table.
//!
//! The reference `config.toml` at the top of the repository is [`render_reference`]'s output;
//! a test fails when the two drift apart.

/// The default value of a key, which also fixes its TOML type.
#[derive(Debug, Clone, Copy)]
pub enum Default {
    Str(&'static str),
    Int(i64),
    Bool(bool),
    List(&'static [&'static str]),
}

#[derive(Debug)]
pub struct Key {
    pub section: &'static str,
    pub name: &'static str,
    pub default: Default,
    /// Shown above the key in the reference file; may span lines.
    pub doc: &'static str,
    /// Values are never echoed in errors or logs.
    pub secret: bool,
}

impl Key {
    pub fn path(&self) -> String {
        format!("{}.{}", self.section, self.name)
    }

    pub fn env_var(&self) -> String {
        format!(
            "HEARTH_{}__{}",
            self.section.to_uppercase(),
            self.name.to_uppercase()
        )
    }
}

const fn key(
    section: &'static str,
    name: &'static str,
    default: Default,
    doc: &'static str,
) -> Key {
    Key {
        section,
        name,
        default,
        doc,
        secret: false,
    }
}

/// Section headers, in order, with a line about each.
pub const SECTIONS: &[(&str, &str)] = &[
    ("server", "The web server."),
    ("storage", "Where Hearth keeps its data."),
    (
        "tls",
        "HTTPS. Off by default (for local use or behind a reverse proxy).",
    ),
    ("log", "Logging to standard error."),
    ("metrics", "Prometheus metrics at /metrics."),
    ("jobs", "Background jobs (durable, in the database)."),
    (
        "notifications",
        "Notifications sent out of Hearth: Web Push and members' webhooks.",
    ),
];

pub const KEYS: &[Key] = &[
    key(
        "server",
        "listen",
        Default::Str("127.0.0.1:8080"),
        "Address and port to listen on. Use 0.0.0.0:443 with [tls] mode = \"acme\" on a public server.",
    ),
    key(
        "server",
        "public_url",
        Default::Str(""),
        "The address members type, e.g. \"https://hearth.example.org\". Used in links, to check the\n\
         Origin of form posts, and as the host name passkeys are bound to (a name, not an IP address).\n\
         Empty: derived from the ACME domain, or the listening address (loopback becomes localhost).",
    ),
    key(
        "server",
        "trusted_proxies",
        Default::List(&[]),
        "Reverse proxies (IP addresses or CIDR ranges) whose X-Forwarded-For header is believed.\n\
         Example: [\"127.0.0.1\", \"10.0.0.0/8\"]. Empty: the connecting address is the client.",
    ),
    key(
        "server",
        "shutdown_grace_seconds",
        Default::Int(10),
        "On SIGTERM or Ctrl-C, how long in-flight requests may take to finish (1-300).",
    ),
    key(
        "server",
        "max_body_kib",
        Default::Int(1024),
        "Largest request body accepted outside upload routes, in KiB (1-1048576). Larger: 413.",
    ),
    key(
        "server",
        "max_streams",
        Default::Int(10_000),
        "Most live streams (/api/v1/stream, one per open tab) at once, over all members\n\
         (1-1000000). Past it a new one is refused with 503 and Retry-After; each member has at\n\
         most 10.",
    ),
    key(
        "storage",
        "data_dir",
        Default::Str("./hearth-data"),
        "Directory for the database, uploaded files, certificates and backups. Created if missing.",
    ),
    key(
        "storage",
        "min_free_disk_mib",
        Default::Int(256),
        "/readyz reports not ready when the data directory's disk has less free space than this (MiB).",
    ),
    key(
        "storage",
        "cache_mib",
        Default::Int(64),
        "Database pages kept in memory, in MiB (1-65536). More makes reads of a large database\n\
         faster; the operating system's file cache serves the rest.",
    ),
    key(
        "tls",
        "mode",
        Default::Str("off"),
        "\"off\": plain HTTP (local use, or behind a reverse proxy that terminates TLS).\n\
         \"files\": certificate and key from cert_file and key_file.\n\
         \"acme\": automatic certificates (TLS-ALPN-01) for acme_domains; server.listen must be\n\
         reachable on port 443 from the internet.",
    ),
    key(
        "tls",
        "cert_file",
        Default::Str(""),
        "PEM certificate chain, leaf first (mode = \"files\").",
    ),
    key(
        "tls",
        "key_file",
        Default::Str(""),
        "PEM private key (mode = \"files\").",
    ),
    key(
        "tls",
        "acme_domains",
        Default::List(&[]),
        "Domain names to obtain a certificate for (mode = \"acme\"), e.g. [\"hearth.example.org\"].",
    ),
    key(
        "tls",
        "acme_email",
        Default::Str(""),
        "Contact address given to the certificate authority (expiry warnings). Optional.",
    ),
    key(
        "tls",
        "acme_directory",
        Default::Str("https://acme-v02.api.letsencrypt.org/directory"),
        "ACME directory URL. Let's Encrypt staging: https://acme-staging-v02.api.letsencrypt.org/directory\n\
         Any RFC 8555 certificate authority works.",
    ),
    key(
        "tls",
        "acme_ca_root",
        Default::Str(""),
        "Extra PEM root certificate to trust when talking to the ACME directory (a private CA).\n\
         Empty: the built-in public roots.",
    ),
    key(
        "tls",
        "redirect_listen",
        Default::Str("0.0.0.0:80"),
        "When TLS is on: plain-HTTP address that redirects every request to HTTPS. Empty: none.",
    ),
    key(
        "tls",
        "hsts_max_age_seconds",
        Default::Int(31_536_000),
        "When TLS is on: Strict-Transport-Security max-age (0 turns the header off).",
    ),
    key(
        "tls",
        "max_handshakes",
        Default::Int(256),
        "When TLS is on: most TLS handshakes in progress at once (1-65536). Past it, new\n\
         connections wait in the kernel's queue until a handshake finishes or times out (10 s),\n\
         so a flood of connections that never finish their handshake cannot take the memory.",
    ),
    key(
        "log",
        "level",
        Default::Str("info"),
        "trace, debug, info, warn or error; or per-module directives like \"info,hearth=debug\".",
    ),
    key(
        "log",
        "format",
        Default::Str("text"),
        "\"text\" for people, \"json\" for log collectors.",
    ),
    Key {
        section: "metrics",
        name: "token",
        default: Default::Str(""),
        doc: "Bearer token that lets a scraper read /metrics from other hosts. Empty: loopback only.\n\
              Prefer setting it through HEARTH_METRICS__TOKEN.",
        secret: true,
    },
    key(
        "jobs",
        "workers",
        Default::Int(2),
        "Jobs run at the same time (1-64).",
    ),
    key(
        "jobs",
        "max_attempts",
        Default::Int(8),
        "Tries before a failing job moves to the failed list (1-100). Retries back off exponentially.",
    ),
    key(
        "notifications",
        "allow_private_networks",
        Default::List(&[]),
        "Web Push services and members' webhooks are never called on loopback, private or link-local\n\
         addresses (a member could otherwise reach the server's own network). List ranges that may\n\
         be called anyway, e.g. [\"10.0.0.0/8\"] for an ntfy server on your LAN. Empty: public addresses only.",
    ),
];

pub fn find(section: &str, name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.section == section && k.name == name)
}

/// The value of a default as TOML.
pub fn default_value(d: Default) -> toml::Value {
    match d {
        Default::Str(s) => toml::Value::String(s.to_string()),
        Default::Int(i) => toml::Value::Integer(i),
        Default::Bool(b) => toml::Value::Boolean(b),
        Default::List(items) => toml::Value::Array(
            items
                .iter()
                .map(|s| toml::Value::String((*s).to_string()))
                .collect(),
        ),
    }
}

/// The reference configuration file: every key with its default and documentation.
pub fn render_reference() -> String {
    let mut out = String::from(
        "# Hearth configuration reference.\n\
         #\n\
         # Every key is shown with its default, which is built into the binary: this file is\n\
         # documentation, and a copy of it with only the keys you change is a valid config.\n\
         # Precedence: defaults < this file (--config PATH) < environment variables\n\
         # HEARTH_SECTION__KEY (e.g. HEARTH_SERVER__LISTEN) < command-line flags.\n\
         # Check a file with `hearth check-config --config PATH`.\n",
    );
    for (section, about) in SECTIONS {
        out.push_str(&format!("\n# {about}\n[{section}]\n"));
        for key in KEYS.iter().filter(|k| k.section == *section) {
            for line in key.doc.lines() {
                out.push_str(&format!("# {}\n", line.trim_start()));
            }
            let value = default_value(key.default);
            out.push_str(&format!("{} = {}\n", key.name, value));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_belongs_to_a_known_section_once() {
        let mut seen = std::collections::HashSet::new();
        for k in KEYS {
            assert!(
                SECTIONS.iter().any(|(s, _)| *s == k.section),
                "{}",
                k.path()
            );
            assert!(seen.insert(k.path()), "duplicate {}", k.path());
        }
    }

    #[test]
    fn the_reference_parses_back_to_the_defaults() {
        let parsed: toml::Table =
            toml::from_str(&render_reference()).expect("reference is valid TOML");
        for k in KEYS {
            let got = parsed
                .get(k.section)
                .and_then(|s| s.get(k.name))
                .unwrap_or_else(|| panic!("{}", k.path()));
            assert_eq!(got, &default_value(k.default), "{}", k.path());
        }
    }
}
