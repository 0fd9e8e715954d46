//! Assembling and running Hearth: `App::build(config)` opens everything and validates it;
//! `App::run(listeners, shutdown)` serves until the shutdown future resolves, then stops in
//! order: stop accepting, let in-flight requests finish (up to the grace period), stop
//! background tasks, close the store. Tests bind port 0 and pass their own shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use poem::listener::{AcceptorExt, TcpAcceptor};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::events::EventBus;
use crate::http::{self, AppState};
use crate::jobs::{JobPlan, JobQueue, Registry, Scheduler, Supervisor};
use crate::service;
use crate::service::access::Access;
use crate::service::accounts::Accounts;
use crate::service::audit::AuditLog;
use crate::service::limits::RateLimiter;
use crate::service::member_data::MemberDataParts;
use crate::service::passwords::Passwords;
use crate::service::registration::Registration;
use crate::service::settings::Settings;
use crate::service::system::System;
use crate::store::{Store, StoreOptions};
use crate::tls::{self, TlsAcceptor, TlsStatus};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Tls(#[from] tls::TlsError),
    #[error("invalid schedules: {0}")]
    Schedules(String),
    #[error("cannot listen: {0}")]
    Listen(String),
    #[error("{0}")]
    Other(String),
}

/// Every module's share of a member's data, for the export and account deletion.
pub fn member_data_parts() -> MemberDataParts {
    MemberDataParts::new(
        [
            service::accounts::member_data(),
            service::second_factor::member_data(),
            service::passkeys::member_data(),
            service::registration::member_data(),
            service::media::member_data(),
            service::profiles::member_data(),
            service::matching::member_data(),
            service::stories::member_data(),
            service::messages::member_data(),
            service::records::member_data(),
            service::notifications::member_data(),
            service::audit::member_data(),
        ]
        .into_iter()
        .flatten()
        .collect(),
    )
}

/// The sockets to serve on, bound before the app starts (port 0 in tests).
pub struct Listeners {
    pub main: TcpListener,
    pub redirect: Option<TcpListener>,
}

impl Listeners {
    /// Binds every configured address, reporting every failure at once.
    pub async fn bind(config: &Config) -> Result<Listeners, StartError> {
        let main = TcpListener::bind(config.server.listen).await;
        let redirect = match config.tls.redirect_listen {
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| (addr, e))),
            None => None,
        };
        let mut problems = Vec::new();
        if let Err(e) = &main {
            problems.push(format!("server.listen = {}: {e} (is another program using the port? choose another with --listen)", config.server.listen));
        }
        if let Some(Err((addr, e))) = &redirect {
            problems.push(format!("tls.redirect_listen = {addr}: {e} (ports below 1024 need CAP_NET_BIND_SERVICE; set it to \"\" to disable)"));
        }
        match (main, redirect) {
            (Ok(main), None) => Ok(Listeners {
                main,
                redirect: None,
            }),
            (Ok(main), Some(Ok(r))) => Ok(Listeners {
                main,
                redirect: Some(r),
            }),
            _ => Err(StartError::Listen(problems.join("; "))),
        }
    }
}

pub struct App {
    pub config: Config,
    pub store: Store,
    /// Committed events (tests subscribe to see what happened).
    pub events: EventBus,
    pub queue: JobQueue,
    pub accounts: Accounts,
    pub tls_status: TlsStatus,
    /// `scheme://host[:port]` that links point at.
    pub public_base: Arc<str>,
    scheduler: Scheduler,
    state: AppState,
    tls: Option<tls::TlsAcceptorConfig>,
}

impl App {
    /// Opens the store (migrating it if needed), recovers interrupted jobs and validates the
    /// schedules. `registry` adds job kinds (tests use it); the built-in ones are always there.
    /// `text_reader` is the program run as `hearth read-text` to read record files' text in a
    /// process of its own: this executable (tests name the built binary).
    /// `bound` is the main listener's address, from which links in mails and the setup link
    /// are made when `server.public_url` is not set.
    pub async fn build(
        config: Config,
        clock: SharedClock,
        extra_jobs: Registry,
        bound: SocketAddr,
        text_reader: &std::path::Path,
    ) -> Result<App, StartError> {
        let public_base: Arc<str> = config.public_base_url(bound).into();
        let data_dir = config.storage.data_dir.clone();
        let now = clock.now();
        let options = StoreOptions {
            cache_bytes: config.storage.cache_bytes,
            ..StoreOptions::default()
        };
        let store = tokio::task::spawn_blocking(move || Store::open(&data_dir, now, options))
            .await
            .map_err(|e| StartError::Other(e.to_string()))??;
        let events = store.events().clone();
        let tls = tls::prepare(&config.tls.settings)?;
        let tls_status = tls
            .as_ref()
            .map_or_else(TlsStatus::off, |t| t.status.clone());

        let passwords = Passwords::new();
        let settings = Settings::load(store.clone(), clock.clone(), &events).await?;
        let access = Access::new(settings.clone());
        let limiter = Arc::new(RateLimiter::new(clock.clone()));
        let member_data = member_data_parts();
        let accounts = Accounts::new(
            store.clone(),
            clock.clone(),
            passwords.clone(),
            settings.clone(),
            limiter.clone(),
        );
        let blobs =
            crate::media::blobs::BlobStore::open(&config.storage.data_dir).map_err(|e| {
                StartError::Other(format!(
                    "cannot use the media folders in {}: {e}",
                    config.storage.data_dir.display()
                ))
            })?;
        let media_processor =
            service::media::Processor::new(store.clone(), clock.clone(), blobs, settings.clone());

        let stats = service::stats::MatchingStats::default();
        let directory = service::directory::Directory::new(
            store.clone(),
            access.clone(),
            clock.clone(),
            &events,
        );
        let public_profiles = service::public_profiles::PublicProfiles::new(&events);
        let discovery = service::discovery::Discovery::new(
            store.clone(),
            access.clone(),
            settings.clone(),
            clock.clone(),
            directory.clone(),
            public_profiles.clone(),
            stats.clone(),
            &events,
        );

        let realtime =
            service::realtime::Realtime::new(&events, clock.clone(), config.server.max_streams);
        let search = service::search::Search::open(
            store.clone(),
            access.clone(),
            clock.clone(),
            &events,
            &config.storage.data_dir.join("search"),
            search_kinds(),
        )
        .map_err(|e| StartError::Other(e.to_string()))?;

        let outbound =
            crate::outbound::Outbound::new(config.notifications.allow_private_networks.clone())
                .map_err(|e| StartError::Other(format!("cannot set up outgoing HTTP: {e}")))?;
        let notification_keys = service::notifications::delivery::Keys::load(&store).await?;
        let delivery = service::notifications::delivery::Delivery::new(
            store.clone(),
            clock.clone(),
            settings.clone(),
            realtime.clone(),
            outbound.clone(),
            notification_keys.clone(),
            &public_base,
        );

        let records = service::records::Records::new(
            store.clone(),
            access.clone(),
            clock.clone(),
            limiter.clone(),
            settings.clone(),
            &events,
            service::records::FileTools {
                processor: media_processor.clone(),
                reader: text_reader.to_path_buf(),
            },
        );

        // Each module registers its own background jobs and schedules.
        let mut plan = JobPlan::new(extra_jobs);
        records.register_jobs(&mut plan);
        search.register_jobs(&mut plan);
        delivery.register_jobs(&mut plan);
        discovery.register_jobs(&mut plan);
        service::stories::Stories::register_jobs(&mut plan, store.clone(), clock.clone());
        accounts.register_jobs(&mut plan);
        service::self_service::register_jobs(
            &mut plan,
            store.clone(),
            clock.clone(),
            member_data.clone(),
        );
        service::mail::register_jobs(&mut plan, settings.clone());
        media_processor.register_jobs(&mut plan);
        crate::jobs::queue::register_jobs(&mut plan, store.clone(), clock.clone());
        let (registry, schedules) = plan.into_parts();
        let queue = JobQueue::new(
            store.clone(),
            clock.clone(),
            registry,
            config.jobs.max_attempts,
        );
        delivery.attach(queue.sink(), &events);
        search.attach(queue.sink());
        records.attach(queue.sink());
        queue.recover().await?;
        let scheduler = Scheduler::new(&schedules, queue.clone(), store.clone(), clock.clone())
            .map_err(|problems| {
                StartError::Schedules(
                    problems
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })?;

        let outbox = service::mail::Outbox::new(queue.clone(), settings.clone(), access.clone());
        let system = System::new(
            store.clone(),
            access.clone(),
            queue.clone(),
            clock.clone(),
            tls_status.clone(),
            config.storage.data_dir.clone(),
            config.storage.min_free_disk_bytes,
        );
        let tls_on = config.is_tls();
        let hsts = (tls_on && !config.tls.hsts_max_age.is_zero()).then(|| {
            format!(
                "max-age={}; includeSubDomains",
                config.tls.hsts_max_age.as_secs()
            )
        });
        let staff = service::staff::Staff::new(
            store.clone(),
            access.clone(),
            clock.clone(),
            member_data.clone(),
        );
        let media = service::media::MediaService::new(
            &media_processor,
            access.clone(),
            queue.clone(),
            limiter.clone(),
        );
        let state = AppState {
            access: access.clone(),
            accounts: accounts.clone(),
            system,
            tls: tls_on,
            public_origin: config
                .server
                .public_url
                .as_ref()
                .map(|u| u.origin().ascii_serialization()),
            settings: settings.clone(),
            audit: AuditLog::new(store.clone(), access.clone()),
            staff: staff.clone(),
            self_service: service::self_service::SelfService::new(
                store.clone(),
                clock.clone(),
                passwords.clone(),
                queue.clone(),
                member_data,
            ),
            second_factors: service::second_factor::SecondFactors::new(
                store.clone(),
                clock.clone(),
                passwords.clone(),
                settings.clone(),
            ),
            profiles: service::profiles::Profiles::new(
                store.clone(),
                access.clone(),
                settings.clone(),
                clock.clone(),
                queue.clone(),
                public_profiles,
            ),
            directory,
            discovery,
            records,
            stories: service::stories::Stories::new(
                store.clone(),
                access.clone(),
                clock.clone(),
                queue.clone(),
                limiter.clone(),
            ),
            notifications: service::notifications::Notifications::new(
                store.clone(),
                access.clone(),
                clock.clone(),
                queue.sink(),
                &settings,
            ),
            notification_settings: service::notifications::preferences::NotificationSettings::new(
                store.clone(),
                access.clone(),
                clock.clone(),
                settings.clone(),
                notification_keys,
                outbound,
                limiter.clone(),
                &public_base,
            ),
            messages: service::messages::Messages::new(
                store.clone(),
                access.clone(),
                settings.clone(),
                clock.clone(),
                limiter.clone(),
            ),
            matching: service::matching::Matching::new(
                store.clone(),
                access.clone(),
                settings.clone(),
                clock.clone(),
                stats.clone(),
                limiter.clone(),
            ),
            reports: service::matching::ReportQueue::new(
                store.clone(),
                access.clone(),
                clock.clone(),
                staff.clone(),
                media.clone(),
            ),
            media,
            passkeys: service::passkeys::Passkeys::new(
                store.clone(),
                clock.clone(),
                passwords.clone(),
                accounts.clone(),
                &public_base,
                &settings.current().site_name,
            ),
            outbox: outbox.clone(),
            registration: Registration::new(
                store.clone(),
                access,
                clock.clone(),
                passwords,
                settings.clone(),
                limiter.clone(),
                outbox,
                public_base.clone(),
            ),
            assets: Arc::new(http::static_files::AssetUrls::build()),
            metrics: Arc::new(http::metrics::HttpMetrics::with(|registry| {
                stats.register(registry)
            })),
            media_views: Arc::default(),
            realtime: realtime.clone(),
            search,
            limiter,
            front: Arc::new(http::middleware::FrontOptions {
                hsts,
                max_body_bytes: config.server.max_body_bytes,
                trusted_proxies: config.server.trusted_proxies.clone(),
            }),
            metrics_token: config.metrics.token.clone(),
        };
        Ok(App {
            config,
            store,
            events,
            queue,
            accounts,
            tls_status,
            public_base,
            scheduler,
            state,
            tls,
        })
    }

    /// The records service (tests call it until records have their pages and API).
    pub fn records(&self) -> service::records::Records {
        self.state.records.clone()
    }

    /// The search service (tests drive its indexer directly).
    pub fn search(&self) -> service::search::Search {
        self.state.search.clone()
    }

    /// A one-time link for creating the owner, while none exists.
    pub async fn setup_link(&self) -> Result<Option<String>, StartError> {
        let token = self.accounts.begin_setup().await?;
        Ok(token.map(|t| format!("{}/setup/{}", self.public_base, t.expose())))
    }

    /// Serves until `shutdown` resolves, then stops everything in order.
    pub async fn run(
        mut self,
        listeners: Listeners,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let grace = self.config.server.shutdown_grace;
        let mut supervisor = Supervisor::new();
        for _ in 0..self.config.jobs.workers {
            let queue = self.queue.clone();
            supervisor.spawn("job-worker", move |signal| queue.work(signal));
        }
        let scheduler = self.scheduler.clone();
        supervisor.spawn("scheduler", move |signal| scheduler.run(signal));
        let (stories, events, realtime) = (
            self.state.stories.clone(),
            self.events.clone(),
            self.state.realtime.clone(),
        );
        supervisor.spawn("story-fan-out", move |signal| {
            stories.tell_new_stories(events, realtime, signal)
        });
        let search = self.state.search.clone();
        supervisor.spawn("search-indexer", move |signal| search.run_indexer(signal));
        if let Some(driver) = self.tls.as_mut().and_then(|t| t.acme_driver.take()) {
            supervisor.spawn("acme", move |mut signal| async move {
                driver.run(async move { signal.wait().await }).await
            });
        }

        let (stop_tx, stop_rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let stopped = move |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };

        let main_port = listeners.main.local_addr().map(|a| a.port()).unwrap_or(443);
        let tcp = TcpAcceptor::from_tokio(listeners.main)
            .map_err(|e| StartError::Listen(e.to_string()))?;
        let endpoint = http::endpoint(self.state.clone());
        let tls_config = self.tls.take().map(|t| t.server_config);
        let max_handshakes = self.config.tls.max_handshakes;
        let main_server = async {
            let result = match tls_config {
                Some(server_config) => {
                    let acceptor = TlsAcceptor::new(
                        tcp,
                        server_config,
                        max_handshakes,
                        self.tls_status.clone(),
                    )
                    .boxed();
                    poem::Server::new_with_acceptor(acceptor)
                        .run_with_graceful_shutdown(endpoint, stopped(stop_rx.clone()), Some(grace))
                        .await
                }
                None => {
                    poem::Server::new_with_acceptor(tcp.boxed())
                        .run_with_graceful_shutdown(endpoint, stopped(stop_rx.clone()), Some(grace))
                        .await
                }
            };
            result.map_err(|e| StartError::Listen(e.to_string()))
        };
        let redirect_server = async {
            let Some(listener) = listeners.redirect else {
                return Ok(());
            };
            let tcp =
                TcpAcceptor::from_tokio(listener).map_err(|e| StartError::Listen(e.to_string()))?;
            poem::Server::new_with_acceptor(tcp)
                .run_with_graceful_shutdown(
                    http::redirect_to_https(main_port),
                    stopped(stop_rx.clone()),
                    Some(grace),
                )
                .await
                .map_err(|e| StartError::Listen(e.to_string()))
        };
        let (main_result, redirect_result) = tokio::join!(main_server, redirect_server);
        tracing::info!("HTTP stopped; stopping background tasks");
        supervisor.shutdown(grace).await;
        self.store.close().await;
        tracing::info!("shutdown complete");
        main_result.and(redirect_result)
    }
}

/// The kinds of record the search index holds, each registered by its module.
pub fn search_kinds() -> Vec<Box<dyn service::search::SearchKind>> {
    vec![
        Box::new(service::profiles::ProfileDocuments),
        Box::new(service::messages::MessageDocuments),
        Box::new(service::stories::StoryDocuments),
        Box::new(service::records::RecordDocuments),
    ]
}

/// `hearth reindex`: rebuilds the search index from the database, with the server stopped
/// (the database takes one process at a time), printing progress.
pub async fn reindex(config: Config, clock: SharedClock) -> Result<u64, String> {
    let data_dir = config.storage.data_dir.clone();
    let now = clock.now();
    let store = Store::open_for_command(&data_dir, now).await?;
    let events = store.events().clone();
    let settings = Settings::load(store.clone(), clock.clone(), &events)
        .await
        .map_err(|e| e.to_string())?;
    let search = service::search::Search::open(
        store.clone(),
        Access::new(settings),
        clock,
        &events,
        &data_dir.join("search"),
        search_kinds(),
    )
    .map_err(|e| e.to_string())?;
    let started = std::time::Instant::now();
    let documents = search
        .rebuild(|done, total| {
            let percent = done.saturating_mul(100).checked_div(total).unwrap_or(100);
            eprint!("\rreindexing: {done}/{total} records ({percent} %)");
        })
        .await
        .map_err(|e| e.to_string())?;
    // What was waiting in the outbox is in the rebuilt index already.
    while search.index_pending().await.map_err(|e| e.to_string())? > 0 {}
    eprintln!();
    drop(search);
    store.close().await;
    println!(
        "search index rebuilt: {documents} documents in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(documents)
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
pub async fn termination_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("interrupt received; shutting down"),
        () = term => tracing::info!("SIGTERM received; shutting down"),
    }
}
