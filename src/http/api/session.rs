//! `/api/v1/session` and `/api/v1/me`: sign in and out with the session cookie.

use super::reply::Reply;
use super::text::Text;
use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::{ApiTags, Data};
use crate::domain::secret::Secret;
use crate::http::auth::{Viewer, end_current_session, set_session_cookie, verify_csrf};
use crate::http::error::AppError;
use crate::http::ui::state_of;
use crate::service::accounts::{SecondFactorProof, SignInOutcome, SignedIn};
use crate::service::error::ErrorCode;

pub struct SessionApi;

#[derive(Object, serde::Serialize)]
pub struct SignInRequest {
    /// Username or email address.
    #[oai(validator(max_length = 254))]
    pub login: Text,
    #[oai(validator(max_length = 256))]
    pub password: Text,
    /// The current TOTP code or a recovery code, for accounts with two-factor authentication.
    #[oai(nullable, validator(max_length = 64))]
    pub code: Option<Text>,
}

/// The signed-in member.
#[derive(Object, serde::Serialize)]
#[oai(rename_all = "camelCase")]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub id: String,
    pub username: String,
    pub email: String,
    /// member, moderator, admin or owner.
    pub role: String,
    /// Send this in `X-CSRF-Token` with every state-changing request made with the cookie.
    pub csrf_token: String,
}

impl From<&SignedIn> for Me {
    fn from(s: &SignedIn) -> Self {
        Me {
            id: s.user.id.to_string(),
            username: s.user.username.clone(),
            email: s.user.email.clone(),
            role: s.user.role.as_str().to_string(),
            csrf_token: s.csrf_token.clone(),
        }
    }
}

#[derive(ApiResponse)]
pub enum SignedOut {
    /// The session is closed and the cookie cleared.
    #[oai(status = 204)]
    Done,
}

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Session")]
impl SessionApi {
    /// Sign in
    ///
    /// Checks the credentials (username or email, and password) and sets the session cookie.
    #[oai(path = "/session", method = "post", operation_id = "signIn")]
    async fn sign_in(
        &self,
        req: &Request,
        body: Json<SignInRequest>,
    ) -> Result<Reply<Data<Me>>, AppError> {
        let state = state_of(req)?;
        // A sign-in from a foreign page would plant the attacker's session: check the origin.
        verify_origin_only(req, state)?;
        let client = crate::http::ui::join::client_info(req);
        let outcome = state
            .accounts
            .sign_in(
                &body.0.login,
                Secret::new(body.0.password.into()),
                client.clone(),
            )
            .await?;
        let (token, signed_in) = match (outcome, body.0.code) {
            (SignInOutcome::SignedIn(token, signed_in), _) => (token, *signed_in),
            (SignInOutcome::SecondFactorNeeded(challenge), Some(code)) => {
                state
                    .accounts
                    .complete_second_factor(
                        challenge.expose(),
                        SecondFactorProof::Code(code.into()),
                        client,
                    )
                    .await?
            }
            (SignInOutcome::SecondFactorNeeded(_), None) => {
                return Err(AppError::new(
                    poem::http::StatusCode::UNAUTHORIZED,
                    ErrorCode::SecondFactorRequired,
                    "This account uses two-factor authentication: send the current code (or a recovery code) in `code`.",
                ));
            }
        };
        set_session_cookie(req.cookie(), token.expose(), state.tls);
        Ok(Reply(Data {
            data: Me::from(&signed_in),
        }))
    }

    /// Sign out
    ///
    /// Closes the current session. Needs `X-CSRF-Token`.
    #[oai(path = "/session", method = "delete", operation_id = "signOut")]
    async fn sign_out(&self, req: &Request, viewer: Viewer) -> Result<SignedOut, AppError> {
        let state = state_of(req)?;
        if viewer.0.is_none() {
            return Err(AppError::unauthorized());
        }
        verify_csrf(req, state, &viewer, None)?;
        end_current_session(req, state).await?;
        Ok(SignedOut::Done)
    }

    /// Who am I
    ///
    /// The signed-in member and the CSRF token for state changes.
    #[oai(path = "/me", method = "get", operation_id = "getMe")]
    async fn me(&self, viewer: Viewer) -> Result<Reply<Data<Me>>, AppError> {
        let signed_in = viewer.require()?;
        Ok(Reply(Data {
            data: Me::from(&signed_in),
        }))
    }
}

pub(super) fn verify_origin_only(
    req: &Request,
    state: &crate::http::state::AppState,
) -> Result<(), AppError> {
    // An anonymous JSON sign-in carries no CSRF token; the origin check is what protects it.
    if crate::http::auth::is_cross_origin(req, state) {
        Err(AppError::csrf())
    } else {
        Ok(())
    }
}
