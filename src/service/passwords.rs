//! Password hashing with argon2id at OWASP's minimum parameters (19 MiB, 2 passes, 1 lane),
//! always off the async workers, with bounded memory.
//!
//! Each hash needs 19 MiB of working memory. Hashes run at most one per core at a time; a
//! short queue waits behind them, and past it a request is refused as busy (`503` with
//! `Retry-After`) instead of queueing without bound. The working memory is reused from hash
//! to hash and let go when no hash is running, so a burst of sign-ins costs at most
//! `cores × 19 MiB` and the memory goes back afterwards. Checking a login for an unknown user
//! verifies against a dummy hash, so the response time does not reveal which accounts exist.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use argon2::password_hash::phc::{Output, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::secret::Secret;

pub const MEMORY_KIB: u32 = 19 * 1024;
pub const PASSES: u32 = 2;
pub const LANES: u32 = 1;

/// What unknown users are checked against, so they cost the same work as real ones. Any valid
/// hash with the same parameters serves (its password is irrelevant: an unknown user never
/// matches); a constant keeps a hash computation out of start-up.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$OqZfoXaepmGfX0KB5lgWSQ$V+cILkRDzIXMfEMfBtbfYdoqCx+u3bx3V7BDlfXrVl8";

/// Hashes waiting for a core, per core, before further ones are refused as busy.
const QUEUE_PER_CORE: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("too many passwords are being checked at once")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

#[derive(Clone)]
pub struct Passwords {
    inner: Arc<Pool>,
}

struct Pool {
    cores: usize,
    running: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    /// Working memory of finished hashes, for the next ones.
    spare: Mutex<Vec<Vec<Block>>>,
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new()
    }
}

/// Counts a request in the queue while it waits (also when it is cancelled while waiting).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn params() -> Result<Params, HashError> {
    Params::new(MEMORY_KIB, PASSES, LANES, None).map_err(|e| HashError::Failed(e.to_string()))
}

fn grow(memory: &mut Vec<Block>, blocks: usize) {
    if memory.len() < blocks {
        memory.resize(blocks, Block::new());
    }
}

/// Hashes `password` to a PHC string in `memory`.
fn hash_with(memory: &mut Vec<Block>, password: &[u8]) -> Result<String, HashError> {
    let failed = |e: &dyn std::fmt::Display| HashError::Failed(e.to_string());
    let params = params()?;
    let salt = Salt::generate();
    let mut buf = [0u8; Output::MAX_LENGTH];
    let out = &mut buf[..params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
    grow(memory, params.block_count());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, &salt, out, &mut memory[..])
        .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&params).try_into().map_err(|e| failed(&e))?,
        salt: Some(salt),
        hash: Some(Output::new(out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// Whether `password` matches the PHC string `stored`, computed in `memory` (constant-time
/// comparison). A malformed stored hash matches nothing.
fn verify_with(memory: &mut Vec<Block>, password: &[u8], stored: &str) -> bool {
    let mut check = || -> Option<bool> {
        let parsed = PasswordHash::new(stored).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
        let version = parsed
            .version
            .map(Version::try_from)
            .transpose()
            .ok()?
            .unwrap_or_default();
        let params = Params::try_from(&parsed).ok()?;
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return None;
        };
        let mut buf = [0u8; Output::MAX_LENGTH];
        let out = buf.get_mut(..expected.len())?;
        grow(memory, params.block_count());
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(password, salt, out, &mut memory[..])
            .ok()?;
        Some(Output::new(out).ok()? == *expected)
    };
    check().unwrap_or(false)
}

impl Passwords {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::with_cores(cores)
    }

    /// At most `cores` hashes at once.
    pub fn with_cores(cores: usize) -> Self {
        let cores = cores.max(1);
        Self {
            inner: Arc::new(Pool {
                cores,
                running: Arc::new(Semaphore::new(cores)),
                waiting: AtomicUsize::new(0),
                max_waiting: cores * QUEUE_PER_CORE,
                spare: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Runs `work` with argon2 working memory on a blocking thread, when a core is free.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let pool = &self.inner;
        if pool.waiting.fetch_add(1, Ordering::SeqCst) >= pool.max_waiting {
            pool.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(HashError::Busy);
        }
        let permit = {
            let _counted = Waiting(&pool.waiting);
            pool.running
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| HashError::Busy)?
        };
        let pool = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut memory = pool
                .spare
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()
                .unwrap_or_default();
            let result = work(&mut memory);
            let mut spare = pool.spare.lock().unwrap_or_else(PoisonError::into_inner);
            // The last hash of a burst lets all the memory go; otherwise it waits for the next.
            let others = pool.cores - pool.running.available_permits() - 1;
            if others == 0 && pool.waiting.load(Ordering::SeqCst) == 0 {
                spare.clear();
            } else {
                spare.push(memory);
            }
            drop(spare);
            drop(permit);
            result
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))
    }

    pub async fn hash(&self, password: Secret<String>) -> Result<String, HashError> {
        self.run(move |memory| hash_with(memory, password.expose().as_bytes()))
            .await?
    }

    /// True when `password` matches `stored`. With no stored hash (unknown user) the same work
    /// is done against the dummy hash and the answer is false.
    pub async fn verify(
        &self,
        password: Secret<String>,
        stored: Option<String>,
    ) -> Result<bool, HashError> {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| DUMMY_HASH.to_string());
        let matched = self
            .run(move |memory| verify_with(memory, password.expose().as_bytes(), &hash))
            .await?;
        Ok(known && matched)
    }

    /// Buffers of working memory kept for reuse (for tests).
    pub fn spare_buffers(&self) -> usize {
        self.inner
            .spare
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

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
        let ok = |pw: &str, h: Option<String>| p.verify(Secret::new(pw.into()), h);
        assert!(
            ok("correct horse battery", Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!ok("wrong horse", Some(hash.clone())).await.unwrap());
        assert!(!ok("hearth dummy password for timing", None).await.unwrap());
        assert!(!ok("anything", Some("not a hash".into())).await.unwrap());
        // Hashes made by the crate's own API (earlier versions) still verify, and ours verify there.
        let stock = Argon2::new(Algorithm::Argon2id, Version::V0x13, params().unwrap());
        let old = stock.hash_password(b"battery staple").unwrap().to_string();
        assert!(ok("battery staple", Some(old)).await.unwrap());
        assert!(
            stock
                .verify_password(b"correct horse battery", hash.as_str())
                .is_ok()
        );
        assert_eq!(p.spare_buffers(), 0, "memory is let go when nothing runs");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn past_the_queue_requests_are_refused_as_busy() {
        let p = Passwords::with_cores(1);
        let attempts: Vec<_> = (0..40)
            .map(|_| {
                let p = p.clone();
                tokio::spawn(async move { p.verify(Secret::new("x".into()), None).await })
            })
            .collect();
        let mut busy = 0;
        for a in attempts {
            match a.await.unwrap() {
                Err(HashError::Busy) => busy += 1,
                Ok(false) => {}
                other => panic!("{other:?}"),
            }
        }
        assert!(busy >= 40 - 1 - QUEUE_PER_CORE, "{busy} refused");
        assert_eq!(p.spare_buffers(), 0);
    }
}
