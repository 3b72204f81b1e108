//! The refusals many operations of the OpenAPI document share, each written
//! once and named in `responses(...)`. Never built: they only describe.

use crate::error::Problem;

/// 401 of every operation a key authenticates.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 401,
    description = "No key, or a key that is not valid, revoked, expired or disabled",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "a response of the OpenAPI document, never built")]
pub struct NotAuthenticated(Problem<'static>);

/// 403 of an operation that reads or changes one thing.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 403,
    description = "The key may not be used from this address, or lacks the scope",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "a response of the OpenAPI document, never built")]
pub struct NotAllowed(Problem<'static>);

/// 403 of an operation that gives a key powers: never more than the caller holds.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 403,
    description = "The key may not be used from this address, lacks the scope, or would give more than it holds: `scope_escalation`, `network_escalation`, `query_key_escalation` or `expiry_escalation`, naming what it lacks",
    content_type = "application/problem+json"
)]
#[expect(dead_code, reason = "a response of the OpenAPI document, never built")]
pub struct NotAllowedOrMoreThanHeld(Problem<'static>);
