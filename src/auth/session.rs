//! Browser sessions: an actix-session store over the database (so several
//! instances share sessions and sign-out or disabling a user ends them), and a
//! typed view of what a session holds.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_session::{Session, SessionExt as _};
use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use chrono::{NaiveDateTime, TimeDelta};
use rand::RngExt as _;
use sha2::{Digest as _, Sha256};

use crate::error::AppError;
use crate::store::{self, Db, sessions};

/// Idle timeout: a session unused this long is gone.
pub const IDLE_TIMEOUT: TimeDelta = TimeDelta::minutes(30);
/// Absolute timeout: sign in again after this long, however active.
pub const ABSOLUTE_TIMEOUT: TimeDelta = TimeDelta::hours(12);
/// How long after a right password the second factor may follow.
pub const SECOND_FACTOR_TIMEOUT: TimeDelta = TimeDelta::minutes(5);

/// How long a strong check (signing in, or confirming it's you) lets a
/// session take dangerous actions without asking again: the one place the
/// step-up window is set (`web::step_up`, README "Step-up").
pub const STEP_UP_WINDOW: TimeDelta = TimeDelta::minutes(10);

const USER_ID: &str = "user_id";
const SIGNED_IN_AT: &str = "signed_in_at";
/// When the user last proved who they are (a password, with their code if
/// they have two-factor authentication): the step-up check reads it. Unix
/// seconds on the server's clock, in the server-side state only. Public so
/// the tests can age it in the `sessions` table, as ten minutes passing would.
pub const STRONG_CHECK_AT: &str = "strong_check_at";
/// Half signed in: the password was right and the second factor is asked
/// for. Such a session has no `USER_ID`, so nothing behind the sign-in
/// guard opens for it.
const SECOND_FACTOR_USER_ID: &str = "second_factor_user_id";
const SECOND_FACTOR_SINCE: &str = "second_factor_since";
const SECOND_FACTOR_NEXT: &str = "second_factor_next";
/// A random value made at sign-in that CSRF tokens are bound to; kept in the
/// server-side state, so no other browser or session can know it.
const CSRF_VALUE: &str = "csrf_value";
/// Set by the store when the database could not be read: actix-session turns
/// any load error into a bare 500, and this lets the guard answer 503 instead.
const STORE_UNAVAILABLE: &str = "store_unavailable";

/// actix-session storage backed by the `sessions` table.
#[derive(Clone)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// The row id for a cookie's session key: its SHA-256, so the table cannot be
/// replayed as cookies.
fn row_id(key: &SessionKey) -> String {
    hex::encode(Sha256::digest(key.as_ref().as_bytes()))
}

fn random_value(len: usize) -> String {
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn new_session_key() -> Result<SessionKey, anyhow::Error> {
    SessionKey::try_from(random_value(64)).map_err(anyhow::Error::new)
}

fn expiry(ttl: &CookieDuration) -> NaiveDateTime {
    store::now() + TimeDelta::seconds(ttl.whole_seconds())
}

/// The signed-in (or half signed-in) user's id as a plain column, so all
/// their sessions can be ended.
fn user_id_of(state: &HashMap<String, String>) -> Option<String> {
    state
        .get(USER_ID)
        .or_else(|| state.get(SECOND_FACTOR_USER_ID))
        .and_then(|v| serde_json::from_str(v).ok())
}

/// A sign-in waiting for its second factor.
#[derive(Debug, Clone)]
pub struct PendingSignIn {
    pub user_id: String,
    /// The page asked for before signing in, already judged local.
    pub next: Option<String>,
}

impl SessionStore for DbSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        let id = row_id(key);
        match self
            .db
            .run(move |conn| sessions::load(conn, &id, store::now()))
            .await
            .map_err(AppError::from)
        {
            Ok(Some(state)) => serde_json::from_str(&state)
                .map(Some)
                .map_err(|e| LoadError::Deserialization(e.into())),
            Ok(None) => Ok(None),
            Err(AppError::Unavailable) => Ok(Some(HashMap::from([(STORE_UNAVAILABLE.to_owned(), "true".to_owned())]))),
            Err(error) => Err(LoadError::Other(error.into())),
        }
    }

    async fn save(&self, state: HashMap<String, String>, ttl: &CookieDuration) -> Result<SessionKey, SaveError> {
        let key = new_session_key().map_err(SaveError::Other)?;
        let id = row_id(&key);
        let user_id = user_id_of(&state);
        let state = serde_json::to_string(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        let expires_at = expiry(ttl);
        self.db
            .run(move |conn| {
                sessions::insert(
                    conn,
                    &sessions::NewSession {
                        id: &id,
                        user_id: user_id.as_deref(),
                        state: &state,
                        created_at: store::now(),
                        expires_at,
                    },
                )
            })
            .await
            .map_err(|e| SaveError::Other(e.into()))?;
        Ok(key)
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let id = row_id(&key);
        let user_id = user_id_of(&state);
        let json = serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let expires_at = expiry(ttl);
        let updated = self
            .db
            .run(move |conn| sessions::update(conn, &id, user_id.as_deref(), &json, expires_at))
            .await
            .map_err(|e| UpdateError::Other(e.into()))?;
        if updated {
            Ok(key)
        } else {
            // The row was deleted meanwhile (sign-out elsewhere): start afresh.
            self.save(state, ttl).await.map_err(|e| UpdateError::Other(e.into()))
        }
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &CookieDuration) -> Result<(), anyhow::Error> {
        let id = row_id(key);
        let expires_at = expiry(ttl);
        // Extending the idle timeout is best effort: a failure here must not
        // turn an answered request into an error.
        if let Err(error) = self.db.run(move |conn| sessions::touch(conn, &id, expires_at)).await {
            tracing::warn!(%error, "could not extend a session's idle timeout");
        }
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), anyhow::Error> {
        let id = row_id(key);
        self.db
            .run(move |conn| sessions::delete(conn, &id))
            .await
            .map_err(anyhow::Error::new)
    }
}

/// What a browser session says about who is signed in.
pub struct UserSession(Session);

impl UserSession {
    pub fn from_session(session: Session) -> Self {
        Self(session)
    }

    /// Signs `user_id` in under a new session id (no fixation).
    pub fn sign_in(&self, user_id: &str) -> Result<(), AppError> {
        self.0.renew();
        self.0.clear();
        self.0.insert(USER_ID, user_id).map_err(AppError::unexpected)?;
        self.0
            .insert(CSRF_VALUE, random_value(43))
            .map_err(AppError::unexpected)?;
        let now = store::now().and_utc().timestamp();
        self.0.insert(SIGNED_IN_AT, now).map_err(AppError::unexpected)?;
        self.0.insert(STRONG_CHECK_AT, now).map_err(AppError::unexpected)
    }

    /// The password of `user_id` was right and their second factor is
    /// next: a new session id that is not signed in, remembering for
    /// [`SECOND_FACTOR_TIMEOUT`] whose code to ask for and where to go.
    pub fn begin_second_factor(&self, user_id: &str, next: Option<&str>) -> Result<(), AppError> {
        self.0.renew();
        self.0.clear();
        self.0
            .insert(SECOND_FACTOR_USER_ID, user_id)
            .map_err(AppError::unexpected)?;
        self.0
            .insert(SECOND_FACTOR_SINCE, store::now().and_utc().timestamp())
            .map_err(AppError::unexpected)?;
        if let Some(next) = next {
            self.0.insert(SECOND_FACTOR_NEXT, next).map_err(AppError::unexpected)?;
        }
        Ok(())
    }

    /// The sign-in waiting for its second factor, if one is and it has not
    /// timed out (a timed-out one is forgotten here).
    pub fn pending_sign_in(&self) -> Result<Option<PendingSignIn>, AppError> {
        if self.0.contains_key(STORE_UNAVAILABLE) {
            return Err(AppError::Unavailable);
        }
        let Some(user_id) = self.0.get::<String>(SECOND_FACTOR_USER_ID).ok().flatten() else {
            return Ok(None);
        };
        let since = self.0.get::<i64>(SECOND_FACTOR_SINCE).ok().flatten().unwrap_or(0);
        if store::now().and_utc().timestamp() - since > SECOND_FACTOR_TIMEOUT.num_seconds() {
            self.0.remove(SECOND_FACTOR_USER_ID);
            self.0.remove(SECOND_FACTOR_SINCE);
            self.0.remove(SECOND_FACTOR_NEXT);
            return Ok(None);
        }
        let next = self.0.get::<String>(SECOND_FACTOR_NEXT).ok().flatten();
        Ok(Some(PendingSignIn { user_id, next }))
    }

    /// The user proved who they are again (a code or their password), now.
    pub fn record_strong_check(&self) -> Result<(), AppError> {
        self.0
            .insert(STRONG_CHECK_AT, store::now().and_utc().timestamp())
            .map_err(AppError::unexpected)
    }

    /// When the user last proved who they are: at sign-in or since.
    pub fn last_strong_check_at(&self) -> Option<NaiveDateTime> {
        let at = self.0.get::<i64>(STRONG_CHECK_AT).ok().flatten()?;
        chrono::DateTime::from_timestamp(at, 0).map(|at| at.naive_utc())
    }

    /// Whether the last strong check is within [`STEP_UP_WINDOW`] of `now`
    /// (server clock); a session without one is never recent.
    pub fn strong_check_is_recent(&self, now: NaiveDateTime) -> bool {
        self.last_strong_check_at().is_some_and(|at| now - at < STEP_UP_WINDOW)
    }

    /// The value this signed-in session's CSRF tokens are bound to; `None`
    /// before sign-in.
    pub fn csrf_value(&self) -> Option<String> {
        if !self.0.contains_key(USER_ID) {
            return None;
        }
        self.0.get::<String>(CSRF_VALUE).ok().flatten()
    }

    pub fn sign_out(&self) {
        self.0.purge();
    }

    /// The signed-in user's id, if the session is live; a session past its
    /// absolute timeout is purged here.
    pub fn user_id(&self) -> Result<Option<String>, AppError> {
        if self.0.contains_key(STORE_UNAVAILABLE) {
            return Err(AppError::Unavailable);
        }
        let Some(user_id) = self.0.get::<String>(USER_ID).ok().flatten() else {
            return Ok(None);
        };
        let signed_in_at = self.0.get::<i64>(SIGNED_IN_AT).ok().flatten().unwrap_or(0);
        if store::now().and_utc().timestamp() - signed_in_at > ABSOLUTE_TIMEOUT.num_seconds() {
            self.0.purge();
            return Ok(None);
        }
        Ok(Some(user_id))
    }
}

impl FromRequest for UserSession {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self::from_session(req.get_session())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_row_is_keyed_by_the_digest_of_the_session_key_never_the_key() {
        let raw = "a".repeat(64);
        let key = SessionKey::try_from(raw.clone()).expect("a valid session key");
        let id = row_id(&key);
        assert_eq!(
            id, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb",
            "SHA-256 of the key, in hex"
        );
        assert_ne!(id, raw);
        assert_ne!(row_id(&new_session_key().expect("a key")), id);
    }
}
