//! Passkeys through the API: a member's own passkeys under `/api/v1/me/passkeys`, and
//! passwordless sign-in under `/api/v1/session/passkey`. Each ceremony is two calls: options
//! for `navigator.credentials.create()`/`get()`, then the browser's answer.

use super::reply::Reply;
use super::text::Text;
use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::me::{Done, acting};
use super::session::{Me, verify_origin_only};
use super::{ApiTags, Data, Listed, PageRequest};
use crate::domain::secret::Secret;
use crate::http::auth::{Viewer, set_session_cookie};
use crate::http::error::AppError;
use crate::http::ui::state_of;
use crate::service::passkeys::{CeremonyStart, PasskeyView};

pub struct PasskeysApi;

/// A registered passkey.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct PasskeyInfo {
    pub id: String,
    pub name: String,
    pub created_at: String,
    #[oai(skip_serializing_if_is_none)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
}

impl From<PasskeyView> for PasskeyInfo {
    fn from(p: PasskeyView) -> Self {
        Self {
            id: p.id.to_string(),
            name: p.name,
            created_at: p.created_at.to_string(),
            last_used_at: p.last_used_at.map(|t| t.to_string()),
        }
    }
}

#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct NewPasskey {
    /// A label such as "Work laptop"; "Passkey" when empty. No control characters.
    #[oai(validator(max_length = 64, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$"))]
    pub name: Text,
    /// Adding a way to sign in needs the password.
    #[oai(validator(max_length = 256))]
    pub current_password: Text,
}

/// Options for the browser, and the id that pairs its answer with them.
#[derive(Object, serde::Serialize)]
pub struct PasskeyOptions {
    /// Send this back with the answer, within five minutes.
    pub ceremony: String,
    /// `{"publicKey": …}` for `navigator.credentials.create()` or `.get()`, with binary
    /// fields encoded as base64url.
    pub options: serde_json::Value,
}

impl From<CeremonyStart> for PasskeyOptions {
    fn from(c: CeremonyStart) -> Self {
        Self {
            ceremony: c.ceremony,
            options: c.options,
        }
    }
}

/// The authenticator's answer.
#[derive(Object, serde::Serialize)]
pub struct PasskeyAnswer {
    #[oai(validator(max_length = 128))]
    pub ceremony: Text,
    /// The `PublicKeyCredential` in its JSON form (`credential.toJSON()`): `id`, `rawId`,
    /// `type` and `response` with base64url fields.
    pub credential: serde_json::Value,
}

#[derive(ApiResponse)]
pub enum Registered {
    /// The passkey is registered.
    #[oai(status = 201)]
    Created(Reply<Data<PasskeyInfo>>),
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Session")]
impl PasskeysApi {
    /// List my passkeys
    #[oai(path = "/me/passkeys", method = "get", operation_id = "listMyPasskeys")]
    async fn list(
        &self,
        req: &Request,
        viewer: Viewer,
        #[oai(validator(minimum(value = "1"), maximum(value = "100000")))] page: Query<Option<u32>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))] limit: Query<Option<u32>>,
    ) -> Result<Reply<Listed<PasskeyInfo>>, AppError> {
        let me = viewer.require()?;
        let passkeys = state_of(req)?.passkeys.list(me.user.id).await?;
        Ok(Reply(PageRequest::new(page.0, limit.0).slice(
            passkeys.into_iter().map(PasskeyInfo::from).collect(),
        )))
    }

    /// Start registering a passkey
    ///
    /// Checks the password and returns options for `navigator.credentials.create()`.
    #[oai(
        path = "/me/passkeys/options",
        method = "post",
        operation_id = "beginMyPasskey"
    )]
    async fn begin(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<NewPasskey>,
    ) -> Result<Reply<Data<PasskeyOptions>>, AppError> {
        let me = acting(req, &viewer)?;
        let start = state_of(req)?
            .passkeys
            .begin_registration(
                &me.user,
                &body.0.name,
                Secret::new(body.0.current_password.into()),
            )
            .await?;
        Ok(Reply(Data { data: start.into() }))
    }

    /// Register a passkey
    ///
    /// Verifies the authenticator's answer to the options from `beginMyPasskey`.
    #[oai(
        path = "/me/passkeys",
        method = "post",
        operation_id = "createMyPasskey"
    )]
    async fn create(
        &self,
        req: &Request,
        viewer: Viewer,
        body: Json<PasskeyAnswer>,
    ) -> Result<Registered, AppError> {
        let me = acting(req, &viewer)?;
        let passkey = state_of(req)?
            .passkeys
            .finish_registration(&me.user, &body.0.ceremony, body.0.credential)
            .await?;
        Ok(Registered::Created(Reply(Data {
            data: passkey.into(),
        })))
    }

    /// Remove a passkey
    #[oai(
        path = "/me/passkeys/:id",
        method = "delete",
        operation_id = "deleteMyPasskey"
    )]
    async fn delete(
        &self,
        req: &Request,
        viewer: Viewer,
        id: Path<String>,
    ) -> Result<Done, AppError> {
        let me = acting(req, &viewer)?;
        let id = id.0.parse().map_err(|_| AppError::not_found())?;
        state_of(req)?.passkeys.remove(me.user.id, id).await?;
        Ok(Done::Done)
    }

    /// Start a passkey sign-in
    ///
    /// Options for `navigator.credentials.get()`; the browser offers the person's passkeys
    /// for this site, so no username is needed.
    #[oai(
        path = "/session/passkey/options",
        method = "post",
        operation_id = "beginPasskeySignIn"
    )]
    async fn begin_sign_in(&self, req: &Request) -> Result<Reply<Data<PasskeyOptions>>, AppError> {
        let state = state_of(req)?;
        verify_origin_only(req, state)?;
        let client = crate::http::ui::join::client_info(req);
        let start = state.passkeys.begin_sign_in(&client)?;
        Ok(Reply(Data { data: start.into() }))
    }

    /// Sign in with a passkey
    ///
    /// Verifies the answer to `beginPasskeySignIn` and sets the session cookie. The session
    /// counts as signed in with two factors.
    #[oai(
        path = "/session/passkey",
        method = "post",
        operation_id = "signInWithPasskey"
    )]
    async fn sign_in(
        &self,
        req: &Request,
        body: Json<PasskeyAnswer>,
    ) -> Result<Reply<Data<Me>>, AppError> {
        let state = state_of(req)?;
        verify_origin_only(req, state)?;
        let client = crate::http::ui::join::client_info(req);
        let (token, signed_in) = state
            .passkeys
            .finish_sign_in(&body.0.ceremony, body.0.credential, client)
            .await?;
        crate::http::auth::end_current_session(req, state).await?;
        set_session_cookie(req.cookie(), token.expose(), state.tls);
        Ok(Reply(Data {
            data: Me::from(&signed_in),
        }))
    }
}
