//! The one authenticator of API keys, used by every API route, the verify
//! endpoint and the gateway check. Checks run in this order and stop at the
//! first refusal: syntax and checksum (no database) → look-up by key id
//! (cached) → constant-time digest comparison → unknown or deleted → key sent
//! in the query without permission → revoked → secret past its `not_after` →
//! expired → disabled → network → scope. Every answer about a known key is
//! counted in the usage buffer. A key id that is neither cached nor known
//! here costs its address one token of the miss budget (`miss_budget`).

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use actix_web::dev::{Payload, ServiceRequest};
use actix_web::http::header::{AUTHORIZATION, HeaderMap, HeaderName};
use actix_web::{FromRequest, HttpMessage as _, HttpRequest};

use crate::auth::cache::{self, KeyCache, KeyRecord};
use crate::auth::client_ip::TrustedProxies;
use crate::auth::miss_budget::MissBudget;
use crate::auth::usage::UsageBuffer;
use crate::domain::rejection::KeyRejection;
use crate::domain::scope::Action;
use crate::domain::secret::ServerSecret;
use crate::domain::token::{ApiKeyToken, TokenError};
use crate::error::AppError;
use crate::store::{self, Db};

/// Where the key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Header,
    Bearer,
    Query,
}

const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// The presented key, from `X-API-Key`, `Authorization: Bearer` or the
/// `api_key` query parameter; two different ones are a conflict.
pub fn presented_key(req: &HttpRequest) -> Result<(Cow<'_, str>, KeySource), KeyRejection> {
    presented_key_in(req.headers(), req.query_string())
}

/// The same, from headers and a query string given apart (the gateway check
/// reads the query of the original URI). Borrows the header: no allocation
/// on the hot path.
pub fn presented_key_in<'a>(headers: &'a HeaderMap, query: &str) -> Result<(Cow<'a, str>, KeySource), KeyRejection> {
    let mut found: Option<(Cow<'a, str>, KeySource)> = None;
    let mut offer = |key: Cow<'a, str>, source: KeySource| match &mut found {
        None => {
            found = Some((key, source));
            Ok(())
        }
        Some((first, first_source)) if *first == key => {
            // The same key in a header and in the query is a key sent in the
            // query: it has leaked into the URL all the same.
            if source == KeySource::Query {
                *first_source = KeySource::Query;
            }
            Ok(())
        }
        Some(_) => Err(KeyRejection::ConflictingKeys),
    };
    for value in headers.get_all(X_API_KEY) {
        let value = value
            .to_str()
            .map_err(|_| KeyRejection::InvalidKey("it contains characters a key never has".into()))?;
        offer(Cow::Borrowed(value), KeySource::Header)?;
    }
    for value in headers.get_all(AUTHORIZATION) {
        let value = value.to_str().unwrap_or_default();
        if let Some(token) = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")) {
            offer(Cow::Borrowed(token), KeySource::Bearer)?;
        }
    }
    // Most requests have no query string at all: skip the parse.
    if !query.is_empty() {
        for (name, value) in serde_html_form::from_str::<Vec<(String, String)>>(query).unwrap_or_default() {
            if name == "api_key" {
                offer(Cow::Owned(value), KeySource::Query)?;
            }
        }
    }
    match found {
        Some((key, source)) if !key.is_empty() => Ok((key, source)),
        _ => Err(KeyRejection::MissingKey),
    }
}

/// What a request needs of its key beyond being valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need<'a> {
    AnyValidKey,
    Scope(Action, &'a str),
    /// The gateway check found no route for the request: refused once the
    /// key itself is known to be good.
    UnmappedRoute {
        method: &'a str,
        uri: &'a str,
    },
}

/// What checking a key needs: the database and the secret to read keys
/// with, the cache in front of them, the miss budget for unknown key ids,
/// the usage buffer every answer is counted in, and the trusted proxies to
/// find the client address behind. Built at startup, one `web::Data` for
/// the API middleware, the verify endpoint and the gateway check.
pub struct Authenticator {
    pub db: Db,
    pub secret: ServerSecret,
    pub key_cache: KeyCache,
    /// Unknown keys each client address may still present.
    pub miss_budget: MissBudget,
    pub usage: UsageBuffer,
    pub trusted_proxies: TrustedProxies,
    /// Where each check's outcome and each cache look-up are counted.
    pub metrics: crate::metrics::Metrics,
}

impl Authenticator {
    /// `presented_key_in`, with a refusal counted as a key check.
    pub fn presented_key_in<'a>(
        &self,
        headers: &'a HeaderMap,
        query: &str,
    ) -> Result<(Cow<'a, str>, KeySource), KeyRejection> {
        presented_key_in(headers, query).inspect_err(|rejection| self.metrics.count_key_check(rejection.code()))
    }
}

/// A caller whose key passed every check.
#[derive(Debug, Clone)]
pub struct KeyPrincipal {
    pub record: Arc<KeyRecord>,
    pub client_ip: IpAddr,
}

/// Reads a key id the cache did not have at `now`, and caches what it read.
async fn read_through(
    authenticator: &Authenticator,
    key_id: &str,
    now: chrono::NaiveDateTime,
) -> Result<Option<Arc<KeyRecord>>, AppError> {
    // Noted before the read: a change that commits while it runs makes the
    // cache refuse what it read.
    let generation = authenticator.key_cache.generation();
    let secret = authenticator.secret.clone();
    let id = key_id.to_owned();
    let record = authenticator
        .db
        .run(move |conn| cache::load(conn, &secret, &id))
        .await?
        .map(Arc::new);
    // Stamped with the time before the read: never younger than the data.
    authenticator
        .key_cache
        .insert(key_id.to_owned(), record.clone(), now, generation);
    Ok(record)
}

/// `lookup`, for a request from `client_ip`: a key id that is neither cached
/// nor known to exist needs a token of the address's miss budget, spent only
/// if no such key exists. Cached keys never reach the budget, and a key id
/// this instance has found before is read again even when its address has
/// spent the budget.
async fn lookup_within_budget(
    authenticator: &Authenticator,
    key_id: &str,
    client_ip: IpAddr,
    now: chrono::NaiveDateTime,
) -> Result<Result<Option<Arc<KeyRecord>>, KeyRejection>, AppError> {
    let cached = authenticator.key_cache.get(key_id, now);
    authenticator.metrics.count_cache_lookup(cached.is_some());
    if let Some(hit) = cached {
        return Ok(Ok(hit));
    }
    let reservation = if authenticator.miss_budget.knows(key_id) {
        None
    } else {
        match authenticator.miss_budget.reserve(client_ip, Instant::now()) {
            Ok(reservation) => Some(reservation),
            Err(wait) => {
                // Rounded up: a client that waits as told finds a token.
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                return Ok(Err(KeyRejection::TooManyInvalidKeys {
                    retry_after_secs: secs.max(1),
                }));
            }
        }
    };
    let record = read_through(authenticator, key_id, now).await;
    if let Ok(found) = &record {
        authenticator.miss_budget.learn(key_id, found.is_some());
    }
    // Only a key id that turned out not to exist spends the token.
    if let Some(reservation) = reservation
        && !matches!(record, Ok(None))
    {
        reservation.refund();
    }
    record.map(Ok)
}

/// Runs every check on a presented key for `need`,
/// from `client_ip`; counts the outcome for a known key.
pub async fn authenticate(
    authenticator: &Authenticator,
    presented: &str,
    source: KeySource,
    client_ip: IpAddr,
    need: Need<'_>,
) -> Result<Result<KeyPrincipal, KeyRejection>, AppError> {
    authenticate_in_org(authenticator, None, presented, source, client_ip, client_ip, need).await
}

/// Counts a refusal as a key check's outcome, and hands it on.
fn refuse(
    authenticator: &Authenticator,
    rejection: KeyRejection,
) -> Result<Result<KeyPrincipal, KeyRejection>, AppError> {
    authenticator.metrics.count_key_check(rejection.code());
    Ok(Err(rejection))
}

/// `authenticate`, for a key that must belong to the organization `org_id`
/// when one is given: another organization's key is `invalid_key`, and
/// nothing about it is checked, revealed or recorded. `client_ip` is the address the key is
/// checked for (the caller says it); unknown keys are charged to
/// `caller_ip`, the address that really asks, so a caller can neither
/// escape the unknown-key budget nor spend someone else's.
pub async fn authenticate_in_org(
    authenticator: &Authenticator,
    org_id: Option<&str>,
    presented: &str,
    source: KeySource,
    client_ip: IpAddr,
    caller_ip: IpAddr,
    need: Need<'_>,
) -> Result<Result<KeyPrincipal, KeyRejection>, AppError> {
    let token = match ApiKeyToken::parse(presented) {
        Ok(token) => token,
        Err(TokenError::Empty) => return refuse(authenticator, KeyRejection::MissingKey),
        Err(error) => return refuse(authenticator, KeyRejection::InvalidKey(error.to_string())),
    };
    let now = store::now();
    let record = match lookup_within_budget(authenticator, token.key_id().as_str(), caller_ip, now).await? {
        Ok(Some(record)) if record.matches(&token) && org_id.is_none_or(|org| org == record.org_id) => record,
        Ok(_) => return refuse(authenticator, KeyRejection::InvalidKey("no such key".into())),
        Err(rejection) => return refuse(authenticator, rejection),
    };
    let verdict = check(&record, source, client_ip, need, now);
    let outcome = verdict.as_ref().err().map_or("allowed", KeyRejection::code);
    authenticator
        .usage
        .record(&record.api_key_id, &record.org_id, outcome, client_ip, now);
    authenticator.metrics.count_key_check(outcome);
    Ok(verdict.map(|()| KeyPrincipal { record, client_ip }))
}

/// The checks after identification, in their order.
pub fn check(
    record: &KeyRecord,
    source: KeySource,
    client_ip: IpAddr,
    need: Need<'_>,
    now: chrono::NaiveDateTime,
) -> Result<(), KeyRejection> {
    if source == KeySource::Query && !record.allow_query_key {
        return Err(KeyRejection::QueryKeyNotAllowed);
    }
    if record.revoked_at.is_some() {
        return Err(KeyRejection::KeyRevoked);
    }
    if let Some(at) = record.not_after.filter(|at| *at <= now) {
        return Err(KeyRejection::KeyExpired(format!(
            "This secret was replaced by a rotation and stopped working at {} UTC. Use the key's new secret.",
            at.format("%Y-%m-%d %H:%M")
        )));
    }
    if let Some(at) = record.expires_at.filter(|at| *at <= now) {
        return Err(KeyRejection::KeyExpired(format!(
            "This API key expired at {} UTC. An administrator can rotate it with a new expiry.",
            at.format("%Y-%m-%d %H:%M")
        )));
    }
    if !record.enabled {
        return Err(KeyRejection::KeyDisabled);
    }
    if !record.networks.allows(client_ip) {
        return Err(KeyRejection::IpNotAllowed(crate::domain::network::canonical(client_ip)));
    }
    match need {
        Need::AnyValidKey => Ok(()),
        Need::Scope(action, resource) if record.scopes.allows(action, resource) => Ok(()),
        Need::Scope(action, resource) => Err(KeyRejection::InsufficientScope {
            action,
            resource: resource.to_owned(),
        }),
        Need::UnmappedRoute { method, uri } => Err(KeyRejection::RouteNotMapped {
            method: method.to_owned(),
            uri: uri.to_owned(),
        }),
    }
}

/// Middleware for an API route: authenticates the request's key for `need`
/// and puts the `KeyPrincipal` into the request.
pub async fn require(
    need: Need<'static>,
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let authenticator = req
        .app_data::<actix_web::web::Data<Authenticator>>()
        .cloned()
        .ok_or_else(|| AppError::unexpected(anyhow::anyhow!("no authenticator")))?;
    let (presented, source) = authenticator
        .presented_key_in(req.headers(), req.query_string())
        .map_err(AppError::KeyRejected)?;
    let ip = crate::auth::client_ip::of_request(req.request(), &authenticator.trusted_proxies);
    let principal = authenticate(&authenticator, &presented, source, ip, need)
        .await?
        .map_err(AppError::KeyRejected)?;
    req.extensions_mut().insert(principal);
    next.call(req).await
}

impl FromRequest for KeyPrincipal {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            req.extensions()
                .get::<KeyPrincipal>()
                .cloned()
                .ok_or(AppError::KeyRejected(KeyRejection::MissingKey)),
        )
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    #[test]
    fn keys_are_read_from_header_bearer_or_query() {
        let header = TestRequest::default()
            .insert_header(("X-API-Key", "k1"))
            .to_http_request();
        assert_eq!(presented_key(&header), Ok(("k1".into(), KeySource::Header)));
        let bearer = TestRequest::default()
            .insert_header(("Authorization", "Bearer k1"))
            .to_http_request();
        assert_eq!(presented_key(&bearer), Ok(("k1".into(), KeySource::Bearer)));
        let query = TestRequest::with_uri("/x?api_key=k1").to_http_request();
        assert_eq!(presented_key(&query), Ok(("k1".into(), KeySource::Query)));
        let same = TestRequest::with_uri("/x?api_key=k1")
            .insert_header(("X-API-Key", "k1"))
            .to_http_request();
        assert_eq!(
            presented_key(&same),
            Ok(("k1".into(), KeySource::Query)),
            "also in the URL: a key sent in the query"
        );
        let bearer_and_query = TestRequest::with_uri("/x?api_key=k1")
            .insert_header(("Authorization", "Bearer k1"))
            .to_http_request();
        assert_eq!(presented_key(&bearer_and_query), Ok(("k1".into(), KeySource::Query)));
    }

    #[test]
    fn missing_and_conflicting_keys_are_refused() {
        assert_eq!(
            presented_key(&TestRequest::default().to_http_request()),
            Err(KeyRejection::MissingKey)
        );
        let empty = TestRequest::default()
            .insert_header(("X-API-Key", ""))
            .to_http_request();
        assert_eq!(presented_key(&empty), Err(KeyRejection::MissingKey));
        let two = TestRequest::with_uri("/x?api_key=k2")
            .insert_header(("X-API-Key", "k1"))
            .to_http_request();
        assert_eq!(presented_key(&two), Err(KeyRejection::ConflictingKeys));
        let repeated = TestRequest::with_uri("/x?api_key=k1&api_key=k2").to_http_request();
        assert_eq!(presented_key(&repeated), Err(KeyRejection::ConflictingKeys));
    }
}
