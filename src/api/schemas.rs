//! The formats of the API's input as the OpenAPI document states them: each
//! the exact language the domain parser accepts from the API (the
//! `as_written` and `parse_exact`/`parse_rfc3339` readings), so a request
//! the document allows is one the server takes, and the other way round.
//! The contract test (tests/contract/schemathesis.sh) checks both ways.
//!
//! Two rules are left to the server because JSON Schema cannot state them:
//! an expiry lies in the future, and a network has no host bits set. The
//! descriptions say so.

use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// C0 and C1 control characters (what `char::is_control` is).
const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";
/// What `str::trim` removes besides control characters: Unicode white space.
const SPACE: &str = r" \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// A resource path segment: `*`, or `[a-z0-9_.-]+` but not `.` or `..`.
const SEGMENT: &str = r"(?:\*|[a-z0-9_-][a-z0-9_.-]*|\.[a-z0-9_-][a-z0-9_.-]*|\.\.[a-z0-9_.-]+)";

/// An IPv4 address in dotted decimal, without leading zeros.
const IPV4: &str =
    r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";

/// A resource filter or path: `/`-separated segments.
fn resource_pattern() -> String {
    format!("(?:{SEGMENT}(?:/{SEGMENT})*)")
}

/// An IPv6 address in any RFC 4291 text form (one `::` at most, an IPv4
/// dotted quad in the last 32 bits allowed), without a zone.
fn ipv6_pattern() -> String {
    let h = "[0-9a-fA-F]{1,4}";
    let mut forms = vec![format!("(?:{h}:){{7}}{h}"), format!("(?:{h}:){{6}}{IPV4}")];
    // `::` stands for one or more groups of zeros, so at most 7 groups around it
    // (6 with a dotted quad, which takes two).
    forms.push(format!("::(?:(?:{h}:){{0,6}}{h})?"));
    forms.push(format!("::(?:{h}:){{0,5}}{IPV4}"));
    for before in 1..=7 {
        let after = 7 - before;
        let head = format!("(?:{h}:){{{}}}{h}", before - 1);
        forms.push(if after == 0 {
            format!("{head}::")
        } else {
            format!("{head}::(?:(?:{h}:){{0,{}}}{h})?", after - 1)
        });
        if before <= 5 {
            forms.push(format!("{head}::(?:{h}:){{0,{}}}{IPV4}", 5 - before));
        }
    }
    format!("(?:{})", forms.join("|"))
}

fn string(pattern: String, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
}

/// A key's name: 1–100 characters, no control characters, not beginning or
/// ending with white space; unique (whatever its case) among the
/// organization's live keys (409 otherwise).
pub struct KeyNameText;

impl PartialSchema for KeyNameText {
    fn schema() -> RefOr<Schema> {
        let edge = format!("[^{CONTROL}{SPACE}]");
        string(
            format!("^{edge}(?:[^{CONTROL}]*{edge})?$"),
            "1–100 characters, no control characters, not beginning or ending with white space; unique among the organization's live keys whatever its case (409 otherwise).",
        )
        .min_length(Some(1))
        .max_length(Some(100))
        .into()
    }
}

impl ToSchema for KeyNameText {
    fn name() -> std::borrow::Cow<'static, str> {
        "KeyName".into()
    }
}

/// `ACTION:FILTER`: an action (`read`, `write`, `admin`, `*`) and a resource
/// filter of at most 200 characters.
pub struct ScopeText;

impl PartialSchema for ScopeText {
    fn schema() -> RefOr<Schema> {
        let filter = resource_pattern();
        let mut any = AnyOfBuilder::new().description(Some(
            "ACTION:FILTER. The action is read, write, admin or * (any action but key management); the filter is * (everything) or /-separated segments of a-z 0-9 _ . - (not . or ..) or * for exactly one segment, at most 200 characters, and covers what it names and everything below it.",
        ));
        for (action, pattern_action) in [("read", "read"), ("write", "write"), ("admin", "admin"), ("*", r"\*")] {
            any = any.item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(format!("^{pattern_action}:{filter}$")))
                    .max_length(Some(action.len() + 1 + crate::domain::scope::ResourceFilter::MAX_LEN)),
            );
        }
        any.into()
    }
}

impl ToSchema for ScopeText {
    fn name() -> std::borrow::Cow<'static, str> {
        "Scope".into()
    }
}

/// A resource path, as `verify` is asked about it.
pub struct ResourceText;

impl PartialSchema for ResourceText {
    fn schema() -> RefOr<Schema> {
        string(
            format!("^{}$", resource_pattern()),
            "The resource the request is about: * or /-separated segments of a-z 0-9 _ . - (not . or ..) or *, at most 200 characters, e.g. registries/private/items/42.",
        )
        .max_length(Some(crate::domain::scope::ResourceFilter::MAX_LEN))
        .into()
    }
}

impl ToSchema for ResourceText {
    fn name() -> std::borrow::Cow<'static, str> {
        "Resource".into()
    }
}

/// An allowed network.
pub struct NetworkText;

impl PartialSchema for NetworkText {
    fn schema() -> RefOr<Schema> {
        string(
            format!(
                "^(?:{IPV4}(?:/(?:3[0-2]|[12]?[0-9]))?|{}(?:/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9]))?)$",
                ipv6_pattern()
            ),
            "A CIDR (10.0.0.0/8, 2001:db8::/32) or a bare address (a /32 or /128), without leading zeros and with no host bits set (10.0.0.1/8 is refused with 422: JSON Schema cannot say that). An IPv4-mapped IPv6 network (::ffff:10.0.0.0/104) is the IPv4 network it maps.",
        )
        .into()
    }
}

impl ToSchema for NetworkText {
    fn name() -> std::borrow::Cow<'static, str> {
        "Network".into()
    }
}

/// An IP address.
pub struct IpText;

impl PartialSchema for IpText {
    fn schema() -> RefOr<Schema> {
        string(
            format!("^(?:{IPV4}|{})$", ipv6_pattern()),
            "An IPv4 address in dotted decimal without leading zeros, or an IPv6 address without a zone.",
        )
        .into()
    }
}

impl ToSchema for IpText {
    fn name() -> std::borrow::Cow<'static, str> {
        "IpAddress".into()
    }
}

/// When a key stops working.
pub struct ExpiryText;

impl PartialSchema for ExpiryText {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))),
            )
            .description(Some(
                "An RFC 3339 date-time, or a full-date meaning 00:00:00 UTC of that day. It must lie in the future and before the year 10000 in UTC (422 otherwise: JSON Schema cannot say that).",
            ))
            .into()
    }
}

impl ToSchema for ExpiryText {
    fn name() -> std::borrow::Cow<'static, str> {
        "Expiry".into()
    }
}

/// A list of `T`, `min`–`max` items long.
pub fn list_of<T: ToSchema>(min: usize, max: usize, description: &str) -> ArrayBuilder {
    ArrayBuilder::new()
        .items(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(T::name())))
        .min_items(Some(min))
        .max_items(Some(max))
        .description(Some(description))
}
