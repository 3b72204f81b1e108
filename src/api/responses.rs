//! The refusals the operations of the OpenAPI document share, each written
//! once and named in `responses(...)`. Never built: they only describe. All
//! are `application/problem+json` (`crate::error::Problem`) with a stable
//! `code`.

use crate::error::Problem;

/// What every operation a key authenticates can answer besides its own
/// outcomes: the key refused (401), too many unknown keys from this address
/// (429), the database out of reach (503).
#[derive(utoipa::IntoResponses)]
pub enum KeyRefusals {
    #[response(
        status = 401,
        description = "No key (`missing_key`), or a key that is not valid (`invalid_key`), sent in the query without allowing it (`query_key_not_allowed`), revoked (`key_revoked`), expired or rotated out (`key_expired`) or disabled (`key_disabled`)",
        content_type = "application/problem+json",
        headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"keyward\", error=\"<code>\"`"))
    )]
    NotAuthenticated(Problem<'static>),
    #[response(
        status = 429,
        description = "This client address presented too many unknown keys (`too_many_invalid_keys`); try again after `Retry-After` seconds",
        content_type = "application/problem+json",
        headers(("Retry-After" = u64, description = "Seconds until an unknown key is looked up again"))
    )]
    TooManyInvalidKeys(Problem<'static>),
    #[response(
        status = 503,
        description = "The database cannot be reached right now (`unavailable`)",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem<'static>),
}

/// 400 of an operation that reads nothing but its key.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 400,
    description = "Two different keys in one request (`conflicting_keys`)",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "a response of the OpenAPI document, never built")]
pub struct ConflictingKeys(Problem<'static>);

/// 400 of an operation with a query.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 400,
    description = "Two different keys in one request (`conflicting_keys`), or a query that cannot be read: a value of the wrong type or outside its enum, or a parameter given twice (`invalid_request`)",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "a response of the OpenAPI document, never built")]
pub struct BadQuery(Problem<'static>);

/// 400 of an operation with a JSON body.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 400,
    description = "Two different keys in one request (`conflicting_keys`), or a body that cannot be read: not JSON, not an object, a field of the wrong type, a required field left out or a field the schema does not name (`invalid_request`)",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "a response of the OpenAPI document, never built")]
pub struct BadBody(Problem<'static>);

/// 403 of an operation that needs only a valid key.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 403,
    description = "The key may not be used from this address (`ip_not_allowed`)",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "a response of the OpenAPI document, never built")]
pub struct NotFromHere(Problem<'static>);

/// 403 of an operation that reads or takes away.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 403,
    description = "The key may not be used from this address (`ip_not_allowed`), or lacks the scope the operation needs (`insufficient_scope`, naming it)",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "a response of the OpenAPI document, never built")]
pub struct NotAllowed(Problem<'static>);

/// 403 of an operation that gives a key powers: never more than the caller holds.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 403,
    description = "The key may not be used from this address (`ip_not_allowed`), lacks the scope (`insufficient_scope`), or would give more than it holds: `scope_escalation`, `network_escalation`, `query_key_escalation` or `expiry_escalation`, naming what it lacks",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "a response of the OpenAPI document, never built")]
pub struct NotAllowedOrMoreThanHeld(Problem<'static>);

/// 404 of an operation on one key.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 404,
    description = "No such key in the calling key's organization, or it was deleted (`not_found`)",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "a response of the OpenAPI document, never built")]
pub struct NoSuchKey(Problem<'static>);

/// 422 of an operation whose fields are judged one by one.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 422,
    description = "Fields that are not valid, each named in `errors` (`invalid_fields`)",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "a response of the OpenAPI document, never built")]
pub struct InvalidFields(Problem<'static>);

/// 409 of creating a key.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 409,
    description = "A live key of the organization already has this name, whatever its case, or the organization's API keys are not set up yet (`conflict`)",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "a response of the OpenAPI document, never built")]
pub struct NameTaken(Problem<'static>);

/// 409 of changing a key.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 409,
    description = "The key is revoked or another live key has this name (`conflict`), or the key has expired and the change gives it a new expiry: rotate it instead (`expired_key`)",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "a response of the OpenAPI document, never built")]
pub struct RevokedOrNameTaken(Problem<'static>);

/// 409 of enabling or disabling a key.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 409,
    description = "The key is revoked (`conflict`)",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "a response of the OpenAPI document, never built")]
pub struct Revoked(Problem<'static>);

/// 409 of rotating a key.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 409,
    description = "The key is revoked (`conflict`), or it has expired and the body gives it no new `expires_at` (`expired_key`)",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "a response of the OpenAPI document, never built")]
pub struct RevokedOrExpired(Problem<'static>);

/// 409 of revoking a key.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 409,
    description = "The key is already revoked (`conflict`)",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "a response of the OpenAPI document, never built")]
pub struct AlreadyRevoked(Problem<'static>);
