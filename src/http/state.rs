//! What every handler can reach: the services, and a few facts about how we are served.

use std::sync::Arc;

use super::api::media::MediaView;
use super::api::rendered::RenderCache;
use super::metrics::HttpMetrics;
use super::static_files::AssetUrls;
use crate::domain::ids::MediaId;
use crate::service::access::Access;
use crate::service::accounts::Accounts;
use crate::service::audit::AuditLog;
use crate::service::limits::RateLimiter;
use crate::service::mail::Outbox;
use crate::service::passkeys::Passkeys;
use crate::service::registration::Registration;
use crate::service::second_factor::SecondFactors;
use crate::service::self_service::SelfService;
use crate::service::settings::Settings;
use crate::service::staff::Staff;
use crate::service::system::System;

#[derive(Clone)]
pub struct AppState {
    pub access: Access,
    pub accounts: Accounts,
    pub system: System,
    /// Served over TLS: cookies get `Secure` and the `__Host-` prefix; HSTS is sent.
    pub tls: bool,
    /// `scheme://host[:port]` from `server.public_url`, for same-origin checks.
    pub public_origin: Option<String>,
    pub settings: Settings,
    pub audit: AuditLog,
    pub outbox: Outbox,
    pub registration: Registration,
    pub staff: Staff,
    pub second_factors: SecondFactors,
    pub passkeys: Passkeys,
    pub media: crate::service::media::MediaService,
    pub profiles: crate::service::profiles::Profiles,
    pub matching: crate::service::matching::Matching,
    pub directory: crate::service::directory::Directory,
    pub discovery: crate::service::discovery::Discovery,
    pub stories: crate::service::stories::Stories,
    pub records: crate::service::records::Records,
    pub messages: crate::service::messages::Messages,
    pub notifications: crate::service::notifications::Notifications,
    pub search: crate::service::search::Search,
    pub notification_settings: crate::service::notifications::preferences::NotificationSettings,
    pub realtime: crate::service::realtime::Realtime,
    pub reports: crate::service::matching::ReportQueue,
    pub self_service: SelfService,
    pub assets: Arc<AssetUrls>,
    pub metrics: Arc<HttpMetrics>,
    /// Each upload's JSON by (id, version), for the media lists.
    pub media_views: Arc<RenderCache<(MediaId, u64), MediaView>>,
    pub limiter: Arc<RateLimiter>,
    pub front: Arc<super::middleware::FrontOptions>,
    /// Bearer token that opens `/metrics` beyond loopback.
    pub metrics_token: Option<crate::domain::secret::Secret<String>>,
}
