//! Password hashing with argon2id, off the request workers and with a cap on
//! how many hashes run at once (each holds 19 MiB of memory).

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use tokio::sync::Semaphore;

use crate::domain::user::NewPassword;
use crate::error::AppError;

/// OWASP's argon2id baseline: m = 19 MiB, t = 2, p = 1.
fn argon2() -> Result<Argon2<'static>, argon2::Error> {
    Ok(Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19_456, 2, 1, None)?,
    ))
}

/// Hashes and verifies passwords on the blocking pool, at most `limit` at once.
#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// Verified against when the email is unknown, so that answer takes as
    /// long as a wrong password.
    dummy_hash: Arc<str>,
}

impl PasswordHasher {
    /// Builds the hasher; computes the dummy hash once (start-up cost ≈ one hash).
    pub fn new(limit: usize) -> Result<Self, AppError> {
        let dummy_hash = hash_blocking(NewPassword::generate().expose())?;
        Ok(Self {
            permits: Arc::new(Semaphore::new(limit.max(1))),
            dummy_hash: dummy_hash.into(),
        })
    }

    pub async fn hash(&self, password: &NewPassword) -> Result<String, AppError> {
        let password = password.expose().to_owned();
        self.run(move || hash_blocking(&password)).await
    }

    /// Whether `password` matches `stored`; with no stored hash (unknown
    /// email) verifies against the dummy hash and answers false.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, AppError> {
        let known = stored.is_some();
        let hash = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let password = password.to_owned();
        let matches = self
            .run(move || {
                Ok(argon2()
                    .map_err(AppError::unexpected)?
                    .verify_password(password.as_bytes(), hash.as_str())
                    .is_ok())
            })
            .await?;
        Ok(known && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let _permit = self.permits.acquire().await.map_err(AppError::unexpected)?;
        actix_web::web::block(work).await.map_err(AppError::unexpected)?
    }
}

/// One argon2id hash in PHC string form; blocks for ≈ 30 ms.
pub fn hash_blocking(password: &str) -> Result<String, AppError> {
    let hash = argon2()
        .map_err(AppError::unexpected)?
        .hash_password(password.as_bytes())
        .map_err(|e| AppError::unexpected(anyhow::anyhow!("argon2: {e}")))?;
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_the_baseline_parameters() {
        let hash = hash_blocking("correct horse battery").expect("hashes");
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        let argon2 = argon2().expect("params");
        assert!(argon2.verify_password(b"correct horse battery", hash.as_str()).is_ok());
        assert!(argon2.verify_password(b"wrong", hash.as_str()).is_err());
    }
}
