//! Password hashing with argon2id at OWASP's minimum parameters (19 MiB, 2 passes, 1 lane),
//! always off the async workers. Checking a login for an unknown user verifies against a dummy
//! hash, so the response time does not reveal which accounts exist.

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::domain::secret::Secret;

pub const MEMORY_KIB: u32 = 19 * 1024;
pub const PASSES: u32 = 2;
pub const LANES: u32 = 1;

/// What unknown users are checked against, so they cost the same work as real ones. Any valid
/// hash with the same parameters serves (its password is irrelevant: an unknown user never
/// matches); a constant keeps a hash computation out of start-up.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$OqZfoXaepmGfX0KB5lgWSQ$V+cILkRDzIXMfEMfBtbfYdoqCx+u3bx3V7BDlfXrVl8";

#[derive(Clone, Default)]
pub struct Passwords;

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

fn argon2() -> Result<Argon2<'static>, HashError> {
    let params =
        Params::new(MEMORY_KIB, PASSES, LANES, None).map_err(|e| HashError(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_blocking(password: &str) -> Result<String, HashError> {
    Ok(argon2()?
        .hash_password(password.as_bytes())
        .map_err(|e| HashError(e.to_string()))?
        .to_string())
}

impl Passwords {
    pub fn new() -> Self {
        Self
    }

    pub async fn hash(&self, password: Secret<String>) -> Result<String, HashError> {
        tokio::task::spawn_blocking(move || hash_blocking(password.expose()))
            .await
            .map_err(|e| HashError(e.to_string()))?
    }

    /// True when `password` matches `stored`. With no stored hash (unknown user) the same work
    /// is done against the dummy hash and the answer is false.
    pub async fn verify(&self, password: Secret<String>, stored: Option<String>) -> bool {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| DUMMY_HASH.to_string());
        let matched = tokio::task::spawn_blocking(move || {
            argon2().is_ok_and(|a| {
                a.verify_password(password.expose().as_bytes(), hash.as_str())
                    .is_ok()
            })
        })
        .await
        .unwrap_or(false);
        known && matched
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_users_never_match() {
        let p = Passwords::new();
        let hash = p
            .hash(Secret::new("correct horse battery".into()))
            .await
            .unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            p.verify(
                Secret::new("correct horse battery".into()),
                Some(hash.clone())
            )
            .await
        );
        assert!(
            !p.verify(Secret::new("wrong horse".into()), Some(hash))
                .await
        );
        assert!(
            !p.verify(Secret::new("hearth dummy password for timing".into()), None)
                .await
        );
    }
}
