//! `/api/v1/me/…`: the member's own sessions and password.

use super::reply::Reply;
use super::text::Text;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::{ApiTags, Data, Listed, PageRequest};
use crate::domain::api_token::{ApiToken, TokenScope};
use crate::domain::secret::Secret;
use crate::http::auth::{Viewer, current_session_token, verify_csrf};
use crate::http::error::AppError;
use crate::http::ui::state_of;
use crate::service::accounts::{SessionView, SignedIn};

pub struct MeApi;

/// A place where the member is signed in.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// Public handle of the session (not the token).
    pub id: String,
    /// The session this request was made with.
    pub current: bool,
    pub created_at: String,
    pub last_seen_at: String,
    pub user_agent: String,
    pub ip: String,
}

impl From<SessionView> for SessionInfo {
    fn from(s: SessionView) -> Self {
        Self {
            id: s.id,
            current: s.current,
            created_at: s.created_at.to_string(),
            last_seen_at: s.last_seen_at.to_string(),
            user_agent: s.user_agent,
            ip: s.ip,
        }
    }
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct Ended {
    /// How many sessions were ended.
    pub ended: u64,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct PasswordChange {
    #[oai(validator(max_length = 256))]
    pub current_password: Text,
    /// 12 to 256 characters, not a common password.
    #[oai(validator(min_length = 12, max_length = 256))]
    pub new_password: Text,
}

/// A personal API token (without its secret).
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    /// read or read-write.
    pub scope: String,
    pub created_at: String,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    pub staff_powers: bool,
}

impl From<&ApiToken> for TokenInfo {
    fn from(t: &ApiToken) -> Self {
        Self {
            id: t.id.clone(),
            name: t.name.clone(),
            scope: t.scope.as_str().to_string(),
            created_at: t.created_at.to_string(),
            expires_at: t.expires_at.map(|e| e.to_string()),
            staff_powers: t.staff_powers,
        }
    }
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct NewToken {
    /// What it is for, e.g. "backup script".
    #[oai(validator(min_length = 1, max_length = 80, pattern = r"\S"))]
    pub name: Text,
    /// true for read and write; false (default) for read only.
    #[oai(nullable, default)]
    pub write: bool,
    /// Days until it expires; absent for never.
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "3650")))]
    pub valid_for_days: Option<u32>,
    /// Keep the owner's staff powers (the owner only).
    #[oai(nullable, default)]
    pub staff_powers: bool,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    pub token: TokenInfo,
    /// The secret: send it as `Authorization: Bearer …`. Shown only in this response.
    pub secret: String,
}

#[derive(ApiResponse)]
pub enum Created {
    /// Created.
    #[oai(status = 201)]
    Created(Reply<Data<CreatedToken>>),
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct PasswordConfirmation {
    #[oai(validator(max_length = 256))]
    pub current_password: Text,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct DeletionScheduled {
    /// When the account and its data go; signing in before then cancels.
    pub deletion_due: String,
}

#[derive(ApiResponse)]
pub enum Scheduled {
    /// Scheduled; every session has ended.
    #[oai(status = 202)]
    Scheduled(Reply<Data<DeletionScheduled>>),
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct TotpEnrolment {
    /// The shared secret, base32, for typing into an authenticator app.
    pub secret: String,
    /// The otpauth:// URL (what the QR code on the account page encodes).
    pub otpauth_url: String,
}

#[derive(Object, serde::Serialize)]
pub struct TotpCode {
    #[oai(validator(max_length = 16))]
    pub code: Text,
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct RecoveryCodes {
    /// Ten single-use codes; shown only in this response.
    pub recovery_codes: Vec<String>,
}

#[derive(ApiResponse)]
pub enum Done {
    /// Done.
    #[oai(status = 204)]
    Done,
}

/// The signed-in member for a state change: the CSRF header is required with the cookie.
pub fn acting(req: &Request, viewer: &Viewer) -> Result<SignedIn, AppError> {
    let me = viewer.clone().require()?;
    verify_csrf(req, state_of(req)?, viewer, None)?;
    Ok(me)
}

#[OpenApi(prefix_path = "/v1/me", tag = "ApiTags::Session")]
impl MeApi {
    /// List my sessions
    ///
    /// Every place the member is signed in, the current one first.
    #[oai(path = "/sessions", method = "get", operation_id = "listMySessions")]
    async fn sessions(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(validator(minimum(value = "1"), maximum(value = "100000")))] page: Query<Option<u32>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Listed<SessionInfo>>, AppError> {
        let me = viewer.require()?;
        let state = state_of(req)?;
        let token = current_session_token(req, state.tls).unwrap_or_default();
        let sessions = state.accounts.sessions(me.user.id, &token).await?;
        Ok(Reply(PageRequest::new(page.0, limit.0).slice(
            sessions.into_iter().map(SessionInfo::from).collect(),
        )))
    }

    /// End one of my sessions
    #[oai(
        path = "/sessions/:id",
        method = "delete",
        operation_id = "revokeMySession"
    )]
    async fn revoke(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        if !state_of(req)?
            .accounts
            .revoke_session(me.user.id, &id.0)
            .await?
        {
            return Err(AppError::not_found());
        }
        Ok(Done::Done)
    }

    /// Sign out everywhere else
    ///
    /// Ends every session of the member except the one making this request.
    #[oai(
        path = "/sessions/revoke-others",
        method = "post",
        operation_id = "revokeMyOtherSessions"
    )]
    async fn revoke_others(
        &self,
        req: &Request,
        viewer: Viewer,
    ) -> Result<Reply<Data<Ended>>, AppError> {
        let me = acting(req, &viewer)?;
        let state = state_of(req)?;
        let token = current_session_token(req, state.tls);
        let ended = state
            .accounts
            .sign_out_everywhere(me.user.id, token.as_deref())
            .await?;
        Ok(Reply(Data {
            data: Ended { ended },
        }))
    }

    /// List my API tokens
    #[oai(path = "/tokens", method = "get", operation_id = "listMyTokens")]
    async fn tokens(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(validator(minimum(value = "1"), maximum(value = "100000")))] page: Query<Option<u32>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Listed<TokenInfo>>, AppError> {
        let me = viewer.require()?;
        let tokens = state_of(req)?.accounts.api_tokens(me.user.id).await?;
        Ok(Reply(
            PageRequest::new(page.0, limit.0).slice(tokens.iter().map(TokenInfo::from).collect()),
        ))
    }

    /// Create an API token
    ///
    /// The secret is in the response and nowhere else.
    #[oai(path = "/tokens", method = "post", operation_id = "createMyToken")]
    async fn create_token(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<NewToken>,
    ) -> Result<Created, AppError> {
        let me = acting(req, &viewer)?;
        let scope = if body.0.write {
            TokenScope::ReadWrite
        } else {
            TokenScope::Read
        };
        let (token, secret) = state_of(req)?
            .accounts
            .create_api_token(
                &me.user,
                &body.0.name,
                scope,
                body.0.valid_for_days,
                body.0.staff_powers,
            )
            .await?;
        Ok(Created::Created(Reply(Data {
            data: CreatedToken {
                token: TokenInfo::from(&token),
                secret: secret.expose().clone(),
            },
        })))
    }

    /// Revoke an API token
    #[oai(
        path = "/tokens/:id",
        method = "delete",
        operation_id = "revokeMyToken"
    )]
    async fn revoke_token(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        if !state_of(req)?
            .accounts
            .revoke_api_token(me.user.id, &id.0)
            .await?
        {
            return Err(AppError::not_found());
        }
        Ok(Done::Done)
    }

    /// Export my data
    ///
    /// Everything Hearth holds about the member, one JSON document (sections per module).
    #[oai(path = "/export", method = "get", operation_id = "exportMyData")]
    async fn export(
        &self,
        req: &Request,
        viewer: Viewer,
    ) -> Result<Reply<serde_json::Value>, AppError> {
        let me = viewer.require()?;
        Ok(Reply(state_of(req)?.self_service.export(&me.user).await?))
    }

    /// Delete my account
    ///
    /// Ends every session now and deletes the account after a 14-day grace period; signing
    /// in before then cancels.
    #[oai(
        path = "/deletion",
        method = "post",
        operation_id = "requestMyDeletion"
    )]
    async fn request_deletion(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<PasswordConfirmation>,
    ) -> Result<Scheduled, AppError> {
        let me = acting(req, &viewer)?;
        let due = state_of(req)?
            .self_service
            .request_deletion(&me.user, Secret::new(body.0.current_password.into()))
            .await?;
        Ok(Scheduled::Scheduled(Reply(Data {
            data: DeletionScheduled {
                deletion_due: due.to_string(),
            },
        })))
    }

    /// Start TOTP enrolment
    ///
    /// A fresh secret; nothing changes at sign-in until it is confirmed with a code.
    #[oai(path = "/totp", method = "post", operation_id = "beginMyTotp")]
    async fn begin_totp(
        &self,
        req: &Request,
        viewer: Viewer,
    ) -> Result<Reply<Data<TotpEnrolment>>, AppError> {
        let me = acting(req, &viewer)?;
        let enrolment = state_of(req)?.second_factors.begin(&me.user).await?;
        Ok(Reply(Data {
            data: TotpEnrolment {
                secret: enrolment.secret_base32,
                otpauth_url: enrolment.otpauth_url,
            },
        }))
    }

    /// Confirm TOTP
    ///
    /// Turns two-factor authentication on with the app's current code; returns the recovery codes.
    #[oai(
        path = "/totp/confirm",
        method = "post",
        operation_id = "confirmMyTotp"
    )]
    async fn confirm_totp(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<TotpCode>,
    ) -> Result<Reply<Data<RecoveryCodes>>, AppError> {
        let me = acting(req, &viewer)?;
        let codes = state_of(req)?
            .second_factors
            .confirm(&me.user, &body.0.code)
            .await?;
        Ok(Reply(Data {
            data: RecoveryCodes {
                recovery_codes: codes,
            },
        }))
    }

    /// Turn TOTP off
    #[oai(
        path = "/totp/disable",
        method = "post",
        operation_id = "disableMyTotp"
    )]
    async fn disable_totp(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<PasswordConfirmation>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        state_of(req)?
            .second_factors
            .disable(&me.user, Secret::new(body.0.current_password.into()))
            .await?;
        Ok(Done::Done)
    }

    /// Change my password
    ///
    /// Checks the current password; every other session ends.
    #[oai(path = "/password", method = "post", operation_id = "changeMyPassword")]
    async fn change_password(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<PasswordChange>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        let state = state_of(req)?;
        let token = current_session_token(req, state.tls).unwrap_or_default();
        let new = body.0.new_password;
        state
            .accounts
            .change_password(
                &me.user,
                Secret::new(body.0.current_password.into()),
                Secret::new(new.clone().into()),
                Secret::new(new.into()),
                &token,
            )
            .await?;
        Ok(Done::Done)
    }
}
