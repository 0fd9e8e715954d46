//! Requests Hearth makes to other servers for its members: Web Push services and members'
//! own webhooks. The only module that names reqwest.
//!
//! A member chooses where these go, so each one is checked before it leaves: only `http` and
//! `https`; never to loopback, private, link-local (cloud metadata at 169.254.169.254),
//! shared, multicast or reserved addresses unless the config allows that range
//! (`[notifications] allow_private_networks`). The check is made on the addresses a name
//! resolves to when the connection is made, so a name that points at 127.0.0.1 is refused
//! too, and redirects are never followed. Each request has a deadline.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use url::Url;

/// The longest one request may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(15);

/// One `POST` to another server.
#[derive(Debug, Clone)]
pub struct OutgoingRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The destination is not one Hearth calls; trying again cannot help.
    #[error("{0}")]
    Refused(String),
    #[error("the server answered {status}")]
    Status { status: u16 },
    /// The network or the server failed; worth trying again later.
    #[error("{0}")]
    Failed(String),
}

impl OutboundError {
    /// Whether trying again later cannot help: a refused destination, or an answer that
    /// says the request itself is wrong (4xx other than timeouts and rate limits).
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Refused(_) => true,
            Self::Status { status } => (400..500).contains(status) && ![408, 429].contains(status),
            Self::Failed(_) => false,
        }
    }
}

#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    allowed: Arc<[IpNet]>,
}

impl Outbound {
    /// A client that calls public addresses, and those in `allowed`.
    pub fn new(allowed: Vec<IpNet>) -> Result<Self, String> {
        let allowed: Arc<[IpNet]> = allowed.into();
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("Hearth/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(GuardedResolver {
                allowed: Arc::clone(&allowed),
            }))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { client, allowed })
    }

    /// Whether `url` is a destination Hearth may call, as far as can be told without
    /// resolving it; the reason when not.
    pub fn check_url(&self, url: &str) -> Result<Url, String> {
        check_url(url, &self.allowed)
    }

    /// Whether `url` names an address in a range the config opened (a push service on
    /// the local network may then use plain http).
    pub fn allows_host_of(&self, url: &Url) -> bool {
        let ip = match url.host() {
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            _ => return false,
        };
        self.allowed.iter().any(|net| net.contains(&ip))
    }

    /// Posts `request`; the status of a 2xx answer. Redirects count as failures.
    pub async fn post(&self, request: OutgoingRequest) -> Result<u16, OutboundError> {
        let url = self
            .check_url(&request.url)
            .map_err(OutboundError::Refused)?;
        // Resolve first, for a clear refusal; the resolver checks again when connecting.
        if let Some(host) = url.host_str()
            && host.parse::<IpAddr>().is_err()
            && !host.starts_with('[')
        {
            let port = url.port_or_known_default().unwrap_or(443);
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| OutboundError::Failed(format!("cannot resolve {host}: {e}")))?
                .collect();
            if !found.iter().any(|a| allowed_ip(a.ip(), &self.allowed)) {
                return Err(OutboundError::Refused(format!(
                    "{host} resolves to an address Hearth does not call (loopback, private or link-local)"
                )));
            }
        }
        let mut builder = self.client.post(url).body(request.body);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let response = builder.send().await.map_err(|e| {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                message = format!("{message}: {s}");
                source = s.source();
            }
            OutboundError::Failed(message)
        })?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            Ok(status)
        } else {
            Err(OutboundError::Status { status })
        }
    }
}

/// The syntax and literal-address checks of a destination.
fn check_url(raw: &str, allowed: &[IpNet]) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("use an http:// or https:// address".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("put no user name or password in the address".into());
    }
    let ip = match url.host() {
        None => return Err("the address has no host".into()),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d == "localhost" || d.ends_with(".localhost") {
                Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
            } else {
                None
            }
        }
        Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
    };
    if let Some(ip) = ip
        && !allowed_ip(ip, allowed)
    {
        return Err(format!(
            "{ip} is a loopback, private or link-local address, which Hearth does not call"
        ));
    }
    Ok(url)
}

/// Whether Hearth may connect to `ip`: a public address, or one in an allowed range.
pub fn allowed_ip(ip: IpAddr, allowed: &[IpNet]) -> bool {
    is_public(ip) || allowed.iter().any(|net| net.contains(&ip))
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // Shared address space (carrier-grade NAT), benchmarking, reserved.
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // Unique local fc00::/7, link-local fe80::/10, documentation 2001:db8::/32.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && ip.segments()[1] == 0x0db8))
}

/// Resolves names as usual, then keeps only the addresses Hearth may call.
struct GuardedResolver {
    allowed: Arc<[IpNet]>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = Arc::clone(&self.allowed);
        let host = name.as_str().to_string();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allowed_ip(a.ip(), &allowed))
                .collect();
            if found.is_empty() {
                return Err(format!("{host} has no address Hearth may call").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_and_metadata_addresses_are_refused() {
        for bad in [
            "http://127.0.0.1/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://10.1.2.3/",
            "http://192.168.1.1/",
            "http://172.16.0.1/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://localhost:8080/",
            "http://api.localhost/",
            "file:///etc/passwd",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "not a url",
        ] {
            assert!(check_url(bad, &[]).is_err(), "{bad} must be refused");
        }
        for good in [
            "https://ntfy.sh/my-topic",
            "http://93.184.216.34/x",
            "https://[2606:4700::1111]/",
        ] {
            assert!(check_url(good, &[]).is_ok(), "{good} must pass");
        }
    }

    #[test]
    fn an_allowed_range_opens_just_that_range() {
        let allowed: Vec<IpNet> = vec!["127.0.0.0/8".parse().unwrap()];
        assert!(check_url("http://127.0.0.1:9000/push", &allowed).is_ok());
        assert!(check_url("http://10.0.0.1/", &allowed).is_err());
    }

    #[test]
    fn client_errors_are_permanent_and_rate_limits_are_not() {
        assert!(OutboundError::Status { status: 410 }.is_permanent());
        assert!(OutboundError::Status { status: 400 }.is_permanent());
        assert!(!OutboundError::Status { status: 429 }.is_permanent());
        assert!(!OutboundError::Status { status: 503 }.is_permanent());
        assert!(!OutboundError::Status { status: 301 }.is_permanent());
        assert!(!OutboundError::Failed("timeout".into()).is_permanent());
    }
}
