//! Passkeys through HTTP with a software authenticator (P-256, "none" attestation, as a
//! platform authenticator answers): registration behind the password, passwordless sign-in,
//! the second step after a password, and the refusals — replayed answers, a cloned
//! authenticator, another account's user handle, a removed passkey, an IP-address site.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{PASSWORD, TestApp, get_json, get_text};

/// Just enough CBOR for an attestation object and a COSE key.
mod cbor {
    fn head(out: &mut Vec<u8>, major: u8, n: usize) {
        let m = major << 5;
        match n {
            0..=23 => out.push(m | n as u8),
            24..=0xff => out.extend([m | 24, n as u8]),
            _ => {
                out.push(m | 25);
                out.extend((n as u16).to_be_bytes());
            }
        }
    }
    pub fn map(out: &mut Vec<u8>, len: usize) {
        head(out, 5, len);
    }
    pub fn int(out: &mut Vec<u8>, v: i64) {
        if v >= 0 {
            head(out, 0, v as usize);
        } else {
            head(out, 1, (-1 - v) as usize);
        }
    }
    pub fn bytes(out: &mut Vec<u8>, b: &[u8]) {
        head(out, 2, b.len());
        out.extend(b);
    }
    pub fn text(out: &mut Vec<u8>, t: &str) {
        head(out, 3, t.len());
        out.extend(t.as_bytes());
    }
}

#[derive(Clone)]
pub(crate) struct SoftAuthenticator {
    key: SigningKey,
    credential_id: Vec<u8>,
    user_handle: Vec<u8>,
    counter: u32,
    origin: String,
}

impl SoftAuthenticator {
    pub(crate) fn new(origin: &str) -> Self {
        Self {
            key: SigningKey::from_slice(&rand_bytes::<32>()).unwrap(),
            credential_id: rand_bytes::<16>().to_vec(),
            user_handle: Vec::new(),
            counter: 0,
            origin: origin.to_string(),
        }
    }

    fn auth_data(&self, flags: u8) -> Vec<u8> {
        let mut data = Sha256::digest(b"localhost").to_vec();
        data.push(flags);
        data.extend(self.counter.to_be_bytes());
        data
    }

    fn client_data(&self, kind: &str, options: &Value) -> Vec<u8> {
        json!({
            "type": kind,
            "challenge": options["publicKey"]["challenge"],
            "origin": self.origin,
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }

    /// `navigator.credentials.create()`: a new key pair for the options' user.
    fn create(&mut self, options: &Value) -> Value {
        self.user_handle = B64
            .decode(options["publicKey"]["user"]["id"].as_str().unwrap())
            .unwrap();
        let point = self.key.verifying_key().to_sec1_point(false);
        let xy = &point.as_bytes()[1..];
        let mut cose = Vec::new();
        cbor::map(&mut cose, 5);
        for (k, v) in [(1, 2), (3, -7), (-1, 1)] {
            cbor::int(&mut cose, k);
            cbor::int(&mut cose, v);
        }
        cbor::int(&mut cose, -2);
        cbor::bytes(&mut cose, &xy[..32]);
        cbor::int(&mut cose, -3);
        cbor::bytes(&mut cose, &xy[32..]);
        // User present, user verified, attested credential data included.
        let mut auth_data = self.auth_data(0x01 | 0x04 | 0x40);
        auth_data.extend([0u8; 16]);
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(cose);
        let mut attestation = Vec::new();
        cbor::map(&mut attestation, 3);
        cbor::text(&mut attestation, "fmt");
        cbor::text(&mut attestation, "none");
        cbor::text(&mut attestation, "attStmt");
        cbor::map(&mut attestation, 0);
        cbor::text(&mut attestation, "authData");
        cbor::bytes(&mut attestation, &auth_data);
        json!({
            "id": B64.encode(&self.credential_id),
            "rawId": B64.encode(&self.credential_id),
            "type": "public-key",
            "response": {
                "attestationObject": B64.encode(attestation),
                "clientDataJSON": B64.encode(self.client_data("webauthn.create", options)),
            },
            "extensions": {},
        })
    }

    /// `navigator.credentials.get()`: signs the challenge, counting up.
    fn get(&mut self, options: &Value) -> Value {
        self.counter += 1;
        let auth_data = self.auth_data(0x01 | 0x04);
        let client_data = self.client_data("webauthn.get", options);
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let signature: DerSignature = self.key.sign(&signed);
        json!({
            "id": B64.encode(&self.credential_id),
            "rawId": B64.encode(&self.credential_id),
            "type": "public-key",
            "response": {
                "authenticatorData": B64.encode(auth_data),
                "clientDataJSON": B64.encode(client_data),
                "signature": B64.encode(signature.to_bytes()),
                "userHandle": B64.encode(&self.user_handle),
            },
            "extensions": {},
        })
    }
}

fn rand_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    for chunk in out.chunks_mut(16) {
        let r = uuid::Uuid::new_v4();
        chunk.copy_from_slice(&r.as_bytes()[..chunk.len()]);
    }
    out[0] |= 1;
    out
}

async fn post_json(
    client: &reqwest::Client,
    url: &str,
    csrf: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut req = client
        .post(url)
        .header("accept", "application/json")
        .json(&body);
    if let Some(csrf) = csrf {
        req = req.header("x-csrf-token", csrf);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Registers a passkey for the signed-in `client` through the API.
pub(crate) async fn register(
    app: &TestApp,
    client: &reqwest::Client,
    auth: &mut SoftAuthenticator,
) {
    let csrf = app.api_csrf(client).await;
    let (status, start) = post_json(
        client,
        &app.url("/api/v1/me/passkeys/options"),
        Some(&csrf),
        json!({"name": "Phone", "currentPassword": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200, "{start}");
    let answer = auth.create(&start["data"]["options"]);
    let (status, body) = post_json(
        client,
        &app.url("/api/v1/me/passkeys"),
        Some(&csrf),
        json!({"ceremony": start["data"]["ceremony"], "credential": answer}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

/// A passwordless sign-in from `client`; returns the status and body of the final call.
async fn sign_in(
    app: &TestApp,
    client: &reqwest::Client,
    auth: &mut SoftAuthenticator,
) -> (u16, Value) {
    let (status, start) = post_json(
        client,
        &app.url("/api/v1/session/passkey/options"),
        None,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{start}");
    let answer = auth.get(&start["data"]["options"]);
    post_json(
        client,
        &app.url("/api/v1/session/passkey"),
        None,
        json!({"ceremony": start["data"]["ceremony"], "credential": answer}),
    )
    .await
}

#[tokio::test]
async fn a_passkey_registered_behind_the_password_signs_in_without_one() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    let csrf = app.api_csrf(&owner).await;

    let (status, body) = post_json(
        &owner,
        &app.url("/api/v1/me/passkeys/options"),
        Some(&csrf),
        json!({"name": "Phone", "currentPassword": "not my password"}),
    )
    .await;
    assert_eq!(status, 422, "the password is checked first: {body}");
    let (status, _) = post_json(
        &owner,
        &app.url("/api/v1/me/passkeys/options"),
        None,
        json!({"name": "Phone", "currentPassword": PASSWORD}),
    )
    .await;
    assert_eq!(
        status, 403,
        "a cookie-authenticated change needs the CSRF token"
    );

    let (status, start) = post_json(
        &owner,
        &app.url("/api/v1/me/passkeys/options"),
        Some(&csrf),
        json!({"name": "Phone", "currentPassword": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200);
    let public_key = &start["data"]["options"]["publicKey"];
    assert_eq!(public_key["rp"]["id"], "localhost");
    assert_eq!(public_key["user"]["name"], "owner");
    assert_eq!(
        public_key["authenticatorSelection"]["residentKey"], "preferred",
        "discoverable, so sign-in needs no username"
    );
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "required"
    );

    // An answer made for another site is refused and nothing is stored.
    let mut elsewhere = SoftAuthenticator::new("https://evil.example");
    let (status, body) = post_json(
        &owner,
        &app.url("/api/v1/me/passkeys"),
        Some(&csrf),
        json!({"ceremony": start["data"]["ceremony"], "credential": elsewhere.create(&start["data"]["options"])}),
    )
    .await;
    assert_eq!(status, 422, "{body}");

    let mut phone = SoftAuthenticator::new(&app.base);
    register(&app, &owner, &mut phone).await;
    let list = get_json(&owner, &app.url("/api/v1/me/passkeys")).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0]["name"], "Phone");
    assert_eq!(list["data"][0]["lastUsedAt"], Value::Null);

    // Passwordless sign-in from a fresh browser.
    let fresh = app.client();
    let (status, me) = sign_in(&app, &fresh, &mut phone).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["data"]["username"], "owner");
    let who = fresh.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(who.status(), 200, "the session cookie is set");
    // A session opened with a passkey counts as two-factor: the staff requirement is met.
    let admin = fresh.get(app.url("/admin")).send().await.unwrap();
    assert_eq!(admin.status(), 200);
    let list = get_json(&owner, &app.url("/api/v1/me/passkeys")).await;
    assert_ne!(
        list["data"][0]["lastUsedAt"],
        Value::Null,
        "the use is recorded"
    );
    app.stop().await;
}

#[tokio::test]
async fn replayed_cloned_foreign_and_removed_passkeys_are_refused() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    let mut phone = SoftAuthenticator::new(&app.base);
    register(&app, &owner, &mut phone).await;
    let stranger = app.client();

    // The same answer twice: the ceremony is single-use.
    let (status, start) = post_json(
        &stranger,
        &app.url("/api/v1/session/passkey/options"),
        None,
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let answer = phone.get(&start["data"]["options"]);
    let body = json!({"ceremony": start["data"]["ceremony"], "credential": answer});
    let url = app.url("/api/v1/session/passkey");
    assert_eq!(post_json(&stranger, &url, None, body.clone()).await.0, 200);
    let (status, replay) = post_json(&app.client(), &url, None, body).await;
    assert_eq!(status, 409, "{replay}");
    assert_eq!(replay["code"], "PASSKEY_REQUEST_EXPIRED");

    // A copy of the authenticator whose counter fell behind looks cloned.
    let mut clone = phone.clone();
    assert_eq!(sign_in(&app, &app.client(), &mut phone).await.0, 200);
    clone.counter = 0;
    let (status, body) = sign_in(&app, &app.client(), &mut clone).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["code"], "PASSKEY_NOT_ACCEPTED");

    // The right key but another account's user handle.
    let mut impostor = phone.clone();
    impostor.user_handle = uuid::Uuid::new_v4().as_bytes().to_vec();
    assert_eq!(sign_in(&app, &app.client(), &mut impostor).await.0, 401);

    // A key the site never saw.
    let mut unknown = SoftAuthenticator::new(&app.base);
    unknown.user_handle = phone.user_handle.clone();
    assert_eq!(sign_in(&app, &app.client(), &mut unknown).await.0, 401);

    // Garbage in place of a credential is a 400 that says what is wrong.
    let (_, start) = post_json(
        &stranger,
        &app.url("/api/v1/session/passkey/options"),
        None,
        json!({}),
    )
    .await;
    let (status, body) = post_json(
        &stranger,
        &url,
        None,
        json!({"ceremony": start["data"]["ceremony"], "credential": {"id": 5}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("WebAuthn credential")
    );

    // A cross-origin page cannot start a sign-in.
    let cross = stranger
        .post(app.url("/api/v1/session/passkey/options"))
        .header("origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);

    // Five failed passkey answers from this address: the sign-in limit applies to them too.
    let (status, _) = sign_in(&app, &app.client(), &mut phone).await;
    assert_eq!(status, 429, "failures count against the sign-in limit");

    // Removed: it signs nobody in.
    app.clock.advance(std::time::Duration::from_secs(900));
    let list = get_json(&owner, &app.url("/api/v1/me/passkeys")).await;
    let id = list["data"][0]["id"].as_str().unwrap();
    let csrf = app.api_csrf(&owner).await;
    let gone = owner
        .delete(app.url(&format!("/api/v1/me/passkeys/{id}")))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 204);
    let again = owner
        .delete(app.url(&format!("/api/v1/me/passkeys/{id}")))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
    assert_eq!(sign_in(&app, &app.client(), &mut phone).await.0, 401);
    app.stop().await;
}

#[tokio::test]
async fn a_passkey_can_be_the_second_step_after_the_password() {
    let app = TestApp::spawn().await;
    let owner = app.owner_client().await;
    crate::two_factor::enable_totp(&app, &owner).await;
    let mut phone = SoftAuthenticator::new(&app.base);
    register(&app, &owner, &mut phone).await;

    let browser = app.client();
    let csrf = TestApp::csrf_from(&browser, &app.url("/login")).await;
    let options_url = app.url("/login/code/passkey/options");
    let (status, _) = post_json(&browser, &options_url, Some(&csrf), json!({})).await;
    assert_eq!(status, 401, "no pending sign-in yet");

    let resp = browser
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", "owner"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["location"], "/login/code?next=");
    let page = get_text(&browser, &app.url("/login/code")).await;
    assert!(page.contains("Use a passkey instead"));

    let (status, start) = post_json(&browser, &options_url, Some(&csrf), json!({})).await;
    assert_eq!(status, 200, "{start}");
    let allowed = start["options"]["publicKey"]["allowCredentials"]
        .as_array()
        .unwrap();
    assert_eq!(allowed.len(), 1, "only this member's passkeys are offered");
    let answer = phone.get(&start["options"]);
    let (status, done) = post_json(
        &browser,
        &app.url("/login/code/passkey"),
        Some(&csrf),
        json!({"ceremony": start["ceremony"], "credential": answer, "next": "/account"}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["redirect"], "/account");
    let account = browser.get(app.url("/account")).send().await.unwrap();
    assert_eq!(account.status(), 200, "signed in");
    app.stop().await;
}

#[tokio::test]
async fn passkeys_are_off_when_the_site_is_reached_by_an_ip_address() {
    let app = TestApp::spawn_with(hearth::jobs::Registry::new(), |c| {
        c.server.public_url = Some("http://127.0.0.1:8080".parse().unwrap());
    })
    .await;
    let owner = app.owner_client().await;
    let csrf = app.api_csrf(&owner).await;
    let (status, body) = post_json(
        &owner,
        &app.url("/api/v1/me/passkeys/options"),
        Some(&csrf),
        json!({"name": "Phone", "currentPassword": PASSWORD}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "PASSKEYS_UNAVAILABLE");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("server.public_url")
    );
    let page = get_text(&owner, &app.url("/account")).await;
    assert!(page.contains("Passkeys are not available on this site"));
    let login = get_text(&app.client(), &app.url("/login")).await;
    assert!(!login.contains("Sign in with a passkey"));
    app.stop().await;
}

#[tokio::test]
async fn passwordless_starts_are_limited_per_address() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let url = app.url("/api/v1/session/passkey/options");
    for n in 1..=30 {
        // Halfway, a second passes so the API's own bucket (20 a second) refills; the
        // passkey limit (30 a minute) gets back half a start.
        if n == 16 {
            app.clock.advance(std::time::Duration::from_secs(1));
        }
        let (status, _) = post_json(&client, &url, None, json!({})).await;
        assert_eq!(status, 200, "start {n}");
    }
    let (status, body) = post_json(&client, &url, None, json!({})).await;
    assert_eq!(status, 429, "{body}");
    app.stop().await;
}
