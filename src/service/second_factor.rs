//! TOTP second factor with recovery codes: enrolment (secret, otpauth URL, QR code), the
//! confirming first code, checking codes at sign-in (each time step accepted once), and
//! switching it off with the password.

use totp_rs::{Builder, Totp};

use super::StoreError;
use super::accounts::confirm_current_password;
use super::error::ServiceError;
use super::passwords::Passwords;
use super::settings::Settings;
use super::tokens::hash_token;
use crate::clock::SharedClock;
use crate::domain::account::User;
use crate::domain::ids::UserId;
use crate::domain::second_factor::{RECOVERY_CODES, SecondFactor, normalize_recovery_code};
use crate::domain::secret::Secret;
use crate::store::{Rx, Store, Tx};
use serde_json::{Value, json};

use super::member_data::MemberData;

/// What the member needs to add Hearth to an authenticator app.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub secret_base32: String,
    pub otpauth_url: String,
    /// The otpauth URL as a QR code, an SVG document.
    pub qr_svg: String,
}

fn totp(secret: &[u8], account: &str, issuer: &str) -> Result<Totp, StoreError> {
    let issuer: String = issuer.chars().filter(|c| *c != ':').collect();
    Builder::new()
        .with_secret(secret.to_vec())
        .with_account_name(account.replace(':', ""))
        .with_issuer(Some(issuer))
        .build()
        .map_err(|e| StoreError::Database(format!("totp: {e}")))
}

fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Checks `code` (a 6-digit TOTP code or a recovery code) inside a write transaction: a
/// TOTP time step is accepted once, a recovery code is spent. False when it does not match
/// (and then nothing was written).
pub fn check_code(
    tx: &Tx<'_>,
    user: &User,
    code: &str,
    now_secs: u64,
    issuer: &str,
) -> Result<bool, StoreError> {
    let Some(mut factor) = tx
        .second_factors()
        .get(user.id)?
        .filter(SecondFactor::is_enabled)
    else {
        return Ok(false);
    };
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    if digits.len() == 6 && code.trim().len() <= 7 {
        let step = totp(&factor.totp_secret, &user.username, issuer)?.check(&digits, now_secs);
        return match step {
            Some(step) if step > factor.last_step || factor.last_step == 0 => {
                factor.last_step = step;
                tx.second_factors().put(user.id, &factor)?;
                Ok(true)
            }
            _ => Ok(false),
        };
    }
    let hash = hash_token(&normalize_recovery_code(code));
    let before = factor.recovery_codes.len();
    factor.recovery_codes.retain(|c| *c != hash);
    if factor.recovery_codes.len() == before {
        return Ok(false);
    }
    tx.second_factors().put(user.id, &factor)?;
    tracing::info!(user = %user.id, left = factor.recovery_codes.len(), "recovery code used");
    Ok(true)
}

#[derive(Clone)]
pub struct SecondFactors {
    store: Store,
    clock: SharedClock,
    passwords: Passwords,
    settings: Settings,
}

impl SecondFactors {
    pub fn new(store: Store, clock: SharedClock, passwords: Passwords, settings: Settings) -> Self {
        Self {
            store,
            clock,
            passwords,
            settings,
        }
    }

    pub async fn is_enabled(&self, user: UserId) -> Result<bool, StoreError> {
        Ok(self
            .store
            .read(move |rx| rx.second_factors().get(user))
            .await?
            .is_some_and(|f| f.is_enabled()))
    }

    /// Starts (or restarts) enrolment with a fresh secret; nothing changes at sign-in until
    /// the member confirms with a first code.
    pub async fn begin(&self, user: &User) -> Result<Enrolment, ServiceError> {
        if self.is_enabled(user.id).await? {
            return Err(ServiceError::invalid(
                "code",
                "Two-factor authentication is already on.",
            ));
        }
        let secret: [u8; 20] = rand::random();
        let site = self.settings.current().site_name.clone();
        let url = totp(&secret, &user.username, &site)?
            .to_url()
            .map_err(ServiceError::internal)?;
        let qr = qrcode::QrCode::new(url.as_bytes()).map_err(ServiceError::internal)?;
        let qr_svg = qr
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(220, 220)
            .build();
        let pending = SecondFactor {
            totp_secret: secret.to_vec(),
            enabled_at: None,
            last_step: 0,
            recovery_codes: Vec::new(),
        };
        let id = user.id;
        self.store
            .write(move |tx| tx.second_factors().put(id, &pending))
            .await?;
        Ok(Enrolment {
            secret_base32: base32(&secret),
            otpauth_url: url,
            qr_svg,
        })
    }

    /// Switches TOTP on once the member proves their app works; returns the recovery codes,
    /// shown this once and stored only hashed.
    pub async fn confirm(&self, user: &User, code: &str) -> Result<Vec<String>, ServiceError> {
        let codes: Vec<String> = (0..RECOVERY_CODES)
            .map(|_| {
                let raw = base32(&rand::random::<[u8; 8]>()).to_lowercase();
                format!("{}-{}-{}", &raw[0..4], &raw[4..8], &raw[8..12])
            })
            .collect();
        let hashes: Vec<[u8; 32]> = codes
            .iter()
            .map(|c| hash_token(&normalize_recovery_code(c)))
            .collect();
        let now = self.clock.now();
        let now_secs = u64::try_from(now.as_second()).unwrap_or(0);
        let site = self.settings.current().site_name.clone();
        let (id, username, code) = (user.id, user.username.clone(), code.to_string());
        self.store
            .write(move |tx| {
                let wrong = || {
                    ServiceError::invalid(
                        "code",
                        "That code is not right; check the app's clock and try the current code.",
                    )
                };
                let Some(mut factor) = tx.second_factors().get(id)?.filter(|f| !f.is_enabled())
                else {
                    return Ok(Err(wrong()));
                };
                let Some(step) =
                    totp(&factor.totp_secret, &username, &site)?.check(code.trim(), now_secs)
                else {
                    return Ok(Err(wrong()));
                };
                factor.enabled_at = Some(now);
                factor.last_step = step;
                factor.recovery_codes = hashes.clone();
                tx.second_factors().put(id, &factor)?;
                Ok(Ok(()))
            })
            .await??;
        tracing::info!(user = %user.id, "two-factor authentication enabled");
        Ok(codes)
    }

    /// Switches it off after checking the password.
    pub async fn disable(&self, user: &User, password: Secret<String>) -> Result<(), ServiceError> {
        confirm_current_password(&self.passwords, user, password).await?;
        let id = user.id;
        self.store
            .write(move |tx| tx.second_factors().delete(id))
            .await?;
        tracing::info!(user = %id, "two-factor authentication disabled");
        Ok(())
    }
}

/// The member's second factor in the export (whether it is on, never the secret) and in
/// account deletion.
pub fn member_data() -> Vec<Box<dyn MemberData>> {
    vec![Box::new(SecondFactorPart)]
}

struct SecondFactorPart;

impl MemberData for SecondFactorPart {
    fn name(&self) -> &'static str {
        "two_factor"
    }

    fn export(&self, rx: &Rx, u: &User) -> Result<Value, StoreError> {
        // Whether it is on, not the secret: an export must not be a way to clone the factor.
        Ok(
            match rx.second_factors().get(u.id)?.filter(|f| f.is_enabled()) {
                Some(f) => {
                    json!({"enabled": true, "enabled_at": f.enabled_at.map(|t| t.to_string()), "recovery_codes_left": f.recovery_codes.len()})
                }
                None => json!({"enabled": false}),
            },
        )
    }

    fn erase(&self, tx: &Tx<'_>, user: &User) -> Result<(), StoreError> {
        tx.second_factors().delete(user.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc_4648_without_padding() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
    }
}
