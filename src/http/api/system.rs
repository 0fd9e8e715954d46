//! `/api/v1/system`: the System page's figures as JSON (admins).

use super::reply::Reply;
use poem::Request;
use poem_openapi::{Object, OpenApi};

use super::{ApiTags, Data};
use crate::http::auth::Viewer;
use crate::http::error::AppError;
use crate::http::ui::state_of;

pub struct SystemApi;

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct SystemStatusView {
    pub version: String,
    pub started_at: String,
    pub uptime_seconds: u64,
    pub data_dir: String,
    pub database_bytes: u64,
    pub data_dir_bytes: u64,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_free_bytes: Option<u64>,
    pub jobs_pending: u64,
    pub jobs_running: u64,
    pub jobs_failed: u64,
    /// off, files or acme.
    pub tls_mode: String,
    /// Absent when no certificate is in use.
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_not_after: Option<String>,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::System")]
impl SystemApi {
    /// Instance status
    ///
    /// Version, uptime, storage, job queue and certificate. Admins and the owner only.
    #[oai(path = "/system", method = "get", operation_id = "getSystemStatus")]
    async fn status(
        &self,
        req: &Request,
        viewer: Viewer,
    ) -> Result<Reply<Data<SystemStatusView>>, AppError> {
        let signed_in = viewer.require()?;
        let s = state_of(req)?.system.status(&signed_in.actor()).await?;
        Ok(Reply(Data {
            data: SystemStatusView {
                version: s.version.to_string(),
                started_at: s.started_at.to_string(),
                uptime_seconds: s.uptime_seconds,
                data_dir: s.data_dir.display().to_string(),
                database_bytes: s.database_bytes,
                data_dir_bytes: s.data_dir_bytes,
                disk_free_bytes: s.disk_free_bytes,
                jobs_pending: s.jobs.pending,
                jobs_running: s.jobs.running,
                jobs_failed: s.jobs.failed,
                tls_mode: s.tls.mode.to_string(),
                certificate_not_after: s.tls.not_after.map(|t| t.to_string()),
            },
        }))
    }
}
