//! TLS termination: certificates from files or from an ACME CA, and a poem acceptor.
//!
//! poem's own rustls/ACME listeners are not used: its ACME client fails against pebble,
//! re-registers an account on every start and renews late (see TOOLING.md). Instead:
//!
//! * [`prepare`] turns [`TlsSettings`] into one rustls [`ServerConfig`] (aws-lc-rs provider,
//!   ALPN `h2`, `http/1.1`, plus `acme-tls/1` in ACME mode) and, for ACME, an [`AcmeDriver`]
//!   that must be spawned: rustls-acme spawns nothing itself, ordering and renewing only happen
//!   while its `AcmeState` stream is polled.
//! * [`TlsAcceptor`] wraps a plain poem acceptor, runs handshakes in their own tasks (so one slow
//!   client never stalls `accept`), answers TLS-ALPN-01 validation connections itself and hands
//!   only finished, non-challenge TLS streams to poem.
//! * [`TlsStatus`] is a cheap handle the admin pages read the certificate state from.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::StreamExt;
use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_acme::acme::ACME_TLS_ALPN_NAME;
use rustls_acme::caches::DirCache;
use rustls_acme::{AccountCache, AcmeConfig, AcmeState, CertCache, EventOk};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;

/// Longest time a client may take from TCP accept to a finished TLS handshake. Bounds what an
/// idle or malicious client can hold; real clients need well under a second.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Finished handshakes waiting for poem to pick them up. poem accepts in a tight loop, so this
/// only fills if the server is stalled; handshake tasks then wait instead of piling up streams.
const READY_QUEUE: usize = 256;

const ALPN_H2: &[u8] = b"h2";
const ALPN_HTTP11: &[u8] = b"http/1.1";

/// What the validated configuration says about TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsSettings {
    /// Plain HTTP (e.g. behind a TLS-terminating reverse proxy).
    Off,
    /// A PEM certificate chain (leaf first) and a PEM private key, loaded once at start.
    Files {
        cert_path: PathBuf,
        key_path: PathBuf,
    },
    /// Certificates obtained and renewed through ACME with the TLS-ALPN-01 challenge, so the
    /// TLS port itself must be reachable by the CA on port 443 (or pebble's `tlsPort` in tests).
    Acme {
        domains: Vec<String>,
        /// Plain address; `mailto:` is added here.
        contact_email: Option<String>,
        directory_url: String,
        /// A PEM CA the ACME *client* trusts in addition to the public web roots, for talking to
        /// a private or test CA's API (pebble's API certificate).
        extra_ca_root: Option<PathBuf>,
        /// Holds the ACME account key and the issued certificate with its private key.
        cache_dir: PathBuf,
    },
}

/// Certificate state shown on the admin System page.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CertificateStatus {
    /// "off", "files" or "acme".
    pub mode: &'static str,
    /// Expiry of the certificate currently served, once one is known.
    pub not_after: Option<jiff::Timestamp>,
    /// The leaf's subject, or its DNS names when the subject is empty (usual for ACME).
    pub subject: Option<String>,
    /// Last ACME failure; cleared when a certificate is deployed.
    pub last_error: Option<String>,
}

/// Cheap, cloneable handle to the current [`CertificateStatus`]; watchers are told of changes.
#[derive(Clone)]
pub struct TlsStatus(
    Arc<tokio::sync::watch::Sender<CertificateStatus>>,
    /// TLS handshakes in progress.
    Arc<std::sync::atomic::AtomicUsize>,
);

impl TlsStatus {
    /// Status for a server without TLS.
    pub fn off() -> Self {
        Self::new("off")
    }

    /// A snapshot of the current status.
    pub fn current(&self) -> CertificateStatus {
        self.0.borrow().clone()
    }

    /// Resolves once a certificate is in service (at once if one already is).
    pub async fn certificate_ready(&self) -> CertificateStatus {
        let mut rx = self.0.subscribe();
        let ready = rx
            .wait_for(|s| s.not_after.is_some())
            .await
            .map(|s| s.clone());
        ready.unwrap_or_else(|_| self.current())
    }

    fn new(mode: &'static str) -> Self {
        let (tx, _) = tokio::sync::watch::channel(CertificateStatus {
            mode,
            not_after: None,
            subject: None,
            last_error: None,
        });
        Self(Arc::new(tx), Arc::default())
    }

    /// How many TLS handshakes are in progress now.
    pub fn handshakes_in_progress(&self) -> usize {
        self.1.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn set_certificate(&self, info: CertificateInfo) {
        self.0.send_modify(|status| {
            status.not_after = info.not_after;
            status.subject = info.subject;
            status.last_error = None;
        });
    }

    fn set_error(&self, error: String) {
        self.0.send_modify(|status| status.last_error = Some(error));
    }

    fn clear_error(&self) {
        self.0.send_modify(|status| status.last_error = None);
    }
}

impl fmt::Debug for TlsStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TlsStatus").field(&self.current()).finish()
    }
}

/// A poisoned lock only means another thread panicked mid-update of plain data; the data is
/// still usable, and status reporting must never take the server down.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Everything the server needs to terminate TLS.
pub struct TlsAcceptorConfig {
    /// Hand to [`TlsAcceptor::new`].
    pub server_config: Arc<ServerConfig>,
    pub status: TlsStatus,
    /// Present in ACME mode: spawn `driver.run(shutdown)`, or no certificate is ever obtained.
    pub acme_driver: Option<AcmeDriver>,
}

impl fmt::Debug for TlsAcceptorConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAcceptorConfig")
            .field("status", &self.status)
            .field("acme", &self.acme_driver.is_some())
            .finish_non_exhaustive()
    }
}

/// Why TLS could not be set up. Each message names the file or setting to fix.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read TLS {what} file {}: {source}", .path.display())]
    ReadFile {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("TLS {what} file {} is not valid PEM: {source}", .path.display())]
    Pem {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: rustls_pki_types::pem::Error,
    },
    #[error(
        "TLS {what} file {} contains no PEM \"CERTIFICATE\" block; \
         it must hold PEM certificates (for the server: leaf first, then intermediates)",
        .path.display()
    )]
    NoCertificates { what: &'static str, path: PathBuf },
    #[error(
        "TLS key file {} contains no PEM private key \
         (expected a \"PRIVATE KEY\", \"RSA PRIVATE KEY\" or \"EC PRIVATE KEY\" block)",
        .path.display()
    )]
    NoPrivateKey { path: PathBuf },
    #[error(
        "TLS certificate {} and key {} cannot be used together (does the key belong to the \
         first certificate, and is its type supported?): {source}",
        .cert_path.display(),
        .key_path.display()
    )]
    CertificateKeyMismatch {
        cert_path: PathBuf,
        key_path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("extra ACME CA root {} is not a usable CA certificate: {source}", .path.display())]
    BadCaRoot {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("ACME needs at least one domain name to request a certificate for")]
    NoDomains,
    #[error("cannot create the ACME cache directory {}: {source}", .path.display())]
    CacheDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Only if the crypto provider cannot do any safe TLS version, i.e. a build problem.
    #[error("TLS setup failed: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Build the rustls server configuration for `settings`. Returns `None` for [`TlsSettings::Off`].
///
/// Reads files synchronously: meant for start-up, before serving.
pub fn prepare(settings: &TlsSettings) -> Result<Option<TlsAcceptorConfig>, TlsError> {
    match settings {
        TlsSettings::Off => Ok(None),
        TlsSettings::Files {
            cert_path,
            key_path,
        } => prepare_files(cert_path, key_path).map(Some),
        TlsSettings::Acme {
            domains,
            contact_email,
            directory_url,
            extra_ca_root,
            cache_dir,
        } => prepare_acme(
            domains,
            contact_email.as_deref(),
            directory_url,
            extra_ca_root.as_deref(),
            cache_dir,
        )
        .map(Some),
    }
}

/// One explicit provider everywhere, so rustls never has to guess a process-level default.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn prepare_files(cert_path: &Path, key_path: &Path) -> Result<TlsAcceptorConfig, TlsError> {
    let chain = read_certificates("certificate", cert_path)?;
    let key_pem = read_file("key", key_path)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|source| match source {
        rustls_pki_types::pem::Error::NoItemsFound => TlsError::NoPrivateKey {
            path: key_path.to_owned(),
        },
        source => TlsError::Pem {
            what: "key",
            path: key_path.to_owned(),
            source,
        },
    })?;

    let status = TlsStatus::new("files");
    // `read_certificates` guarantees a first (leaf) certificate.
    if let Some(info) = chain.first().and_then(|leaf| certificate_info(leaf)) {
        status.set_certificate(info);
    }

    // with_single_cert also checks that the key matches the leaf's public key.
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|source| TlsError::CertificateKeyMismatch {
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
            source,
        })?;
    config.alpn_protocols = vec![ALPN_H2.to_vec(), ALPN_HTTP11.to_vec()];

    Ok(TlsAcceptorConfig {
        server_config: Arc::new(config),
        status,
        acme_driver: None,
    })
}

fn prepare_acme(
    domains: &[String],
    contact_email: Option<&str>,
    directory_url: &str,
    extra_ca_root: Option<&Path>,
    cache_dir: &Path,
) -> Result<TlsAcceptorConfig, TlsError> {
    if domains.is_empty() {
        return Err(TlsError::NoDomains);
    }
    // Fail at start rather than after the first certificate was issued and could not be
    // stored. New directories are private: they will hold the account and certificate keys.
    create_private_dir(cache_dir).map_err(|source| TlsError::CacheDir {
        path: cache_dir.to_owned(),
        source,
    })?;

    let provider = provider();
    let client_config = acme_client_config(provider.clone(), extra_ca_root)?;

    let status = TlsStatus::new("acme");
    let loaded = Arc::new(Mutex::new(None));
    let cache = ObservedCache {
        dir: DirCache::new(cache_dir.to_owned()),
        status: status.clone(),
        loaded: loaded.clone(),
    };
    let state = AcmeConfig::new_with_client_config(domains, client_config)
        .directory(directory_url)
        .contact(contact_email.map(mailto))
        .cache(cache)
        .state();

    // The ACME resolver serves the issued certificate normally and the challenge certificate
    // when a client offers exactly `acme-tls/1` (rustls_acme::is_tls_alpn_challenge), so one
    // config covers both; acme-tls/1 is listed last so it is only chosen when asked for.
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(state.resolver());
    config.alpn_protocols = vec![
        ALPN_H2.to_vec(),
        ALPN_HTTP11.to_vec(),
        ACME_TLS_ALPN_NAME.to_vec(),
    ];

    Ok(TlsAcceptorConfig {
        server_config: Arc::new(config),
        status: status.clone(),
        acme_driver: Some(AcmeDriver {
            state,
            status,
            loaded,
            domains: domains.to_vec(),
            directory_url: directory_url.to_owned(),
        }),
    })
}

fn mailto(email: &str) -> String {
    if email.starts_with("mailto:") {
        email.to_owned()
    } else {
        format!("mailto:{email}")
    }
}

/// The ACME client's TLS config: the public web roots, plus `extra_ca_root` when a private or
/// test CA (pebble) serves its API with a certificate from its own root.
fn acme_client_config(
    provider: Arc<CryptoProvider>,
    extra_ca_root: Option<&Path>,
) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = extra_ca_root {
        for certificate in read_certificates("CA root", path)? {
            roots
                .add(certificate)
                .map_err(|source| TlsError::BadCaRoot {
                    path: path.to_owned(),
                    source,
                })?;
        }
    }
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn read_file(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::ReadFile {
        what,
        path: path.to_owned(),
        source,
    })
}

/// All PEM certificates in `path`, in file order; at least one.
fn read_certificates(
    what: &'static str,
    path: &Path,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_file(what, path)?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem {
            what,
            path: path.to_owned(),
            source,
        })?;
    if certificates.is_empty() {
        return Err(TlsError::NoCertificates {
            what,
            path: path.to_owned(),
        });
    }
    Ok(certificates)
}

#[cfg(unix)]
fn create_private_dir(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    // The mode only applies to directories created here; an existing one is left as it is.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

#[cfg(not(unix))]
fn create_private_dir(path: &Path) -> io::Result<()> {
    std::fs::create_dir_all(path)
}

/// What the status page shows about one certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
struct CertificateInfo {
    not_after: Option<jiff::Timestamp>,
    subject: Option<String>,
}

/// Expiry (`notAfter`) of a DER certificate, or `None` if it does not parse.
pub fn certificate_not_after(der: &[u8]) -> Option<jiff::Timestamp> {
    certificate_info(der).and_then(|info| info.not_after)
}

fn certificate_info(der: &[u8]) -> Option<CertificateInfo> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    let not_after = jiff::Timestamp::from_second(certificate.validity().not_after.timestamp()).ok();
    let subject = certificate.subject().to_string();
    let subject = if subject.is_empty() {
        // ACME CAs usually issue with an empty subject: the names live in the SAN extension.
        let names: Vec<&str> = certificate
            .subject_alternative_name()
            .ok()
            .flatten()
            .map(|san| {
                san.value
                    .general_names
                    .iter()
                    .filter_map(|name| match name {
                        x509_parser::extensions::GeneralName::DNSName(dns) => Some(*dns),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        (!names.is_empty()).then(|| names.join(", "))
    } else {
        Some(subject)
    };
    Some(CertificateInfo { not_after, subject })
}

/// Leaf certificate info from rustls-acme's cache format: the private key PEM first, then the
/// certificate chain PEMs, leaf first. Non-certificate blocks are skipped by the PEM iterator.
fn acme_pem_info(pem: &[u8]) -> Option<CertificateInfo> {
    let leaf = CertificateDer::pem_slice_iter(pem).next()?.ok()?;
    certificate_info(&leaf)
}

/// rustls-acme's events say *that* a certificate was deployed, not which one, and its resolver
/// does not expose the current certificate. Every deployed certificate passes through the
/// cache, though (loaded from it at start, or stored right after issuance), so this wrapper
/// around [`DirCache`] reads the expiry from there.
struct ObservedCache {
    dir: DirCache<PathBuf>,
    status: TlsStatus,
    /// Parsed from the cached certificate; moved into the status only once rustls-acme reports
    /// it deployed (`DeployedCachedCert`), as it may still reject it.
    loaded: Arc<Mutex<Option<CertificateInfo>>>,
}

// rustls-acme's cache traits are declared with `#[async_trait]`, so implementing them takes it too.
#[async_trait::async_trait]
impl CertCache for ObservedCache {
    type EC = io::Error;

    async fn load_cert(
        &self,
        domains: &[String],
        directory_url: &str,
    ) -> Result<Option<Vec<u8>>, io::Error> {
        let pem = self.dir.load_cert(domains, directory_url).await?;
        *lock(&self.loaded) = pem.as_deref().and_then(acme_pem_info);
        Ok(pem)
    }

    async fn store_cert(
        &self,
        domains: &[String],
        directory_url: &str,
        cert: &[u8],
    ) -> Result<(), io::Error> {
        // Only certificates rustls-acme has just deployed are stored: record before writing,
        // so the status is right even if the write fails (that error is reported separately).
        if let Some(info) = acme_pem_info(cert) {
            tracing::info!(not_after = ?info.not_after, "new ACME certificate in use");
            self.status.set_certificate(info);
        }
        self.dir.store_cert(domains, directory_url, cert).await
    }
}

#[async_trait::async_trait]
impl AccountCache for ObservedCache {
    type EA = io::Error;

    async fn load_account(
        &self,
        contact: &[String],
        directory_url: &str,
    ) -> Result<Option<Vec<u8>>, io::Error> {
        self.dir.load_account(contact, directory_url).await
    }

    async fn store_account(
        &self,
        contact: &[String],
        directory_url: &str,
        account: &[u8],
    ) -> Result<(), io::Error> {
        self.dir
            .store_account(contact, directory_url, account)
            .await
    }
}

/// Drives rustls-acme: loads the cached account and certificate, orders a certificate when
/// there is none, and renews when a third of the lifetime is left. Errors are retried by
/// rustls-acme with exponential back-off (1 s doubling up to about 18 h).
pub struct AcmeDriver {
    state: AcmeState<io::Error, io::Error>,
    status: TlsStatus,
    loaded: Arc<Mutex<Option<CertificateInfo>>>,
    domains: Vec<String>,
    directory_url: String,
}

impl fmt::Debug for AcmeDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcmeDriver")
            .field("domains", &self.domains)
            .field("directory_url", &self.directory_url)
            .finish_non_exhaustive()
    }
}

impl AcmeDriver {
    /// Runs until `shutdown` resolves. Spawn it next to the server.
    pub async fn run(mut self, shutdown: impl Future<Output = ()>) {
        tracing::info!(
            domains = ?self.domains,
            directory = %self.directory_url,
            "ACME certificate management started"
        );
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            // Dropping a pending `next()` is fine: AcmeState keeps its in-flight work in itself.
            let event = tokio::select! {
                () = &mut shutdown => break,
                event = self.state.next() => event,
            };
            match event {
                Some(Ok(ok)) => self.on_success(ok),
                Some(Err(error)) => {
                    tracing::warn!(%error, "ACME certificate management failed; will retry");
                    self.status.set_error(error.to_string());
                }
                // AcmeState is an endless stream; stop quietly should that ever change.
                None => break,
            }
        }
        tracing::debug!("ACME certificate management stopped");
    }

    fn on_success(&self, event: EventOk) {
        match event {
            EventOk::DeployedCachedCert => {
                let info = lock(&self.loaded).take();
                tracing::info!(
                    not_after = ?info.as_ref().and_then(|info| info.not_after),
                    "using the cached ACME certificate"
                );
                match info {
                    Some(info) => self.status.set_certificate(info),
                    None => self.status.clear_error(),
                }
            }
            EventOk::DeployedNewCert => {
                // The status is filled when rustls-acme stores it, right after this event.
                tracing::info!("obtained a new certificate from the ACME CA");
                self.status.clear_error();
            }
            EventOk::CertCacheStore => tracing::debug!("stored the ACME certificate in the cache"),
            EventOk::AccountCacheStore => tracing::debug!("stored the ACME account in the cache"),
        }
    }
}

/// Counts a handshake in progress for as long as it lives.
struct HandshakeCount(TlsStatus);

impl HandshakeCount {
    fn start(status: TlsStatus) -> Self {
        status.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Self(status)
    }
}

impl Drop for HandshakeCount {
    fn drop(&mut self) {
        self.0.1.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A finished handshake waiting for poem.
type Ready<Io> = (TlsStream<Io>, LocalAddr, RemoteAddr);

/// A poem acceptor terminating TLS on the connections of an inner acceptor (normally
/// `poem::listener::TcpAcceptor`).
///
/// Handshakes run in spawned tasks with a [`HANDSHAKE_TIMEOUT`], so slow or silent clients
/// never hold up others. TLS-ALPN-01 validation connections (ALPN `acme-tls/1`) are completed
/// and closed here and never reach poem.
pub struct TlsAcceptor<A: Acceptor> {
    inner: A,
    tls: tokio_rustls::TlsAcceptor,
    ready_tx: mpsc::Sender<Ready<A::Io>>,
    ready_rx: mpsc::Receiver<Ready<A::Io>>,
    /// One permit per handshake in progress: at the cap, new connections stay in the
    /// kernel's queue until one finishes.
    slots: Arc<tokio::sync::Semaphore>,
    /// The slot for the next connection, once one was free.
    next_slot: Option<tokio::sync::OwnedSemaphorePermit>,
    status: TlsStatus,
}

impl<A: Acceptor> TlsAcceptor<A> {
    /// At most `max_handshakes` handshakes run at once; `status` counts them.
    pub fn new(
        inner: A,
        config: Arc<ServerConfig>,
        max_handshakes: usize,
        status: TlsStatus,
    ) -> Self {
        let (ready_tx, ready_rx) = mpsc::channel(READY_QUEUE);
        Self {
            inner,
            tls: tokio_rustls::TlsAcceptor::from(config),
            ready_tx,
            ready_rx,
            slots: Arc::new(tokio::sync::Semaphore::new(max_handshakes.max(1))),
            next_slot: None,
            status,
        }
    }

    fn spawn_handshake(
        &self,
        io: A::Io,
        local_addr: LocalAddr,
        remote_addr: RemoteAddr,
        slot: tokio::sync::OwnedSemaphorePermit,
    ) {
        let tls = self.tls.clone();
        let ready = self.ready_tx.clone();
        let counted = HandshakeCount::start(self.status.clone());
        tokio::spawn(async move {
            let _slot = (slot, counted);
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&tls, io)).await {
                Ok(Ok(Some(stream))) => {
                    // Fails only when the acceptor is gone (server stopped); dropping the stream
                    // then closes the connection.
                    if ready.send((stream, local_addr, remote_addr)).await.is_err() {
                        tracing::debug!("TLS connection dropped: server no longer accepting");
                    }
                }
                Ok(Ok(None)) => {
                    tracing::debug!(remote = %remote_addr, "answered an ACME TLS-ALPN-01 challenge");
                }
                // Scanners and clients that reject the certificate land here: not worth more
                // than debug.
                Ok(Err(error)) => {
                    tracing::debug!(remote = %remote_addr, %error, "TLS handshake failed");
                }
                Err(_elapsed) => {
                    tracing::debug!(remote = %remote_addr, "TLS handshake timed out");
                }
            }
        });
    }
}

/// Completes the handshake; `None` for an ACME validation connection, which is closed here.
async fn handshake<Io>(tls: &tokio_rustls::TlsAcceptor, io: Io) -> io::Result<Option<TlsStream<Io>>>
where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut stream = tls.accept(io).await?;
    let is_challenge = stream.get_ref().1.alpn_protocol() == Some(ACME_TLS_ALPN_NAME);
    if is_challenge {
        // The CA only needs the handshake (it checks the challenge certificate); say goodbye
        // properly so it does not see a reset.
        stream.shutdown().await?;
        return Ok(None);
    }
    Ok(Some(stream))
}

impl<A: Acceptor> Acceptor for TlsAcceptor<A> {
    type Io = TlsStream<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    /// Cancel-safe as long as the inner acceptor's `accept` is (tokio's TCP accept is):
    /// finished handshakes stay queued, and poem drops this future on shutdown.
    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        loop {
            if self.next_slot.is_none() {
                // At the cap: wait for a finished handshake or a free slot.
                let slots = self.slots.clone();
                tokio::select! {
                    biased;
                    Some((stream, local_addr, remote_addr)) = self.ready_rx.recv() => {
                        return Ok((stream, local_addr, remote_addr, Scheme::HTTPS));
                    }
                    Ok(slot) = slots.acquire_owned() => self.next_slot = Some(slot),
                }
                continue;
            }
            tokio::select! {
                // Serve clients whose handshake is done before taking in new ones.
                biased;
                Some((stream, local_addr, remote_addr)) = self.ready_rx.recv() => {
                    return Ok((stream, local_addr, remote_addr, Scheme::HTTPS));
                }
                accepted = self.inner.accept() => {
                    // Errors of the inner acceptor (e.g. out of file descriptors) go to poem,
                    // which logs nothing and calls accept again.
                    let (io, local_addr, remote_addr, _scheme) = accepted?;
                    if let Some(slot) = self.next_slot.take() {
                        self.spawn_handshake(io, local_addr, remote_addr, slot);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_is_off() {
        let status = TlsStatus::off().current();
        assert_eq!(status.mode, "off");
        assert!(status.not_after.is_none());
        assert!(matches!(prepare(&TlsSettings::Off), Ok(None)));
    }

    #[test]
    fn missing_files_are_named() {
        let settings = TlsSettings::Files {
            cert_path: PathBuf::from("/nonexistent/hearth-cert.pem"),
            key_path: PathBuf::from("/nonexistent/hearth-key.pem"),
        };
        let message = prepare(&settings).err().map(|error| error.to_string());
        assert!(
            message
                .as_deref()
                .is_some_and(|m| m.contains("/nonexistent/hearth-cert.pem")),
            "{message:?}"
        );
    }

    #[test]
    fn acme_needs_domains() {
        let settings = TlsSettings::Acme {
            domains: Vec::new(),
            contact_email: None,
            directory_url: "https://127.0.0.1:14000/dir".to_owned(),
            extra_ca_root: None,
            cache_dir: PathBuf::from("/nonexistent/hearth-acme"),
        };
        assert!(matches!(prepare(&settings), Err(TlsError::NoDomains)));
    }

    #[test]
    fn contact_gets_mailto_once() {
        assert_eq!(mailto("admin@example.org"), "mailto:admin@example.org");
        assert_eq!(
            mailto("mailto:admin@example.org"),
            "mailto:admin@example.org"
        );
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert_eq!(certificate_not_after(b"not a certificate"), None);
        assert_eq!(acme_pem_info(b""), None);
    }
}
