//! Creating organizations and users: one implementation shared by the
//! first-run setup page, the command line and the demo seed, so each path
//! validates and audits the same way.

use std::net::IpAddr;

use sha2::{Digest as _, Sha256};

use crate::domain::audit::{Actor, AuditAction, Target};
use crate::domain::organization::{OrgName, OrgSlug};
use crate::domain::role::Role;
use crate::domain::secret::ServerSecret;
use crate::domain::user::{DisplayName, Email};
use crate::error::AppError;
use crate::store::organizations::{self, NewOrganization, Organization};
use crate::store::{self, DbConnection, api_keys, audit, users};

/// Creates an organization; without an explicit slug one is derived from the
/// name and made unique.
pub fn create_organization(
    conn: &mut DbConnection,
    name: &OrgName,
    slug: Option<&OrgSlug>,
    actor: &Actor,
    client_ip: Option<IpAddr>,
) -> Result<Organization, AppError> {
    let slug = match slug {
        Some(slug) => {
            if organizations::find_by_slug(conn, slug.as_str())?.is_some() {
                return Err(AppError::Conflict(format!(
                    "An organization with the slug \"{slug}\" already exists: choose another --slug."
                )));
            }
            slug.as_str().to_owned()
        }
        None => organizations::free_slug(conn, OrgSlug::from_name(name).as_str())?,
    };
    let id = store::new_id();
    let org = organizations::insert(
        conn,
        &NewOrganization {
            id: &id,
            slug: &slug,
            name: name.as_str(),
            created_at: store::now(),
        },
    )?;
    let target = Target::organization(&org.id, &org.name);
    audit::record(
        conn,
        Some(&org.id),
        actor,
        AuditAction::OrganizationCreated,
        Some(&target),
        serde_json::json!({ "after": { "name": org.name, "slug": org.slug } }),
        client_ip,
    )?;
    Ok(org)
}

/// Creates a user in `org` with an already computed password hash; returns
/// the new user's id.
#[expect(
    clippy::too_many_arguments,
    reason = "each is a distinct validated part of the new user"
)]
pub fn create_user(
    conn: &mut DbConnection,
    org: &Organization,
    email: &Email,
    display_name: &DisplayName,
    role: Role,
    password_hash: &str,
    actor: &Actor,
    client_ip: Option<IpAddr>,
) -> Result<String, AppError> {
    let id = insert_user(conn, org, email, display_name, role, password_hash, None)?;
    audit::record(
        conn,
        Some(&org.id),
        actor,
        AuditAction::UserCreated,
        Some(&Target::user(&id, email.as_str())),
        serde_json::json!({ "after": { "email": email.as_str(), "role": role.as_str() } }),
        client_ip,
    )?;
    Ok(id)
}

/// Inserts a user (invited, with `invited_at`, or not) after checking their
/// email is free; the caller audits. Returns the new id.
pub(crate) fn insert_user(
    conn: &mut DbConnection,
    org: &Organization,
    email: &Email,
    display_name: &DisplayName,
    role: Role,
    password_hash: &str,
    invited_at: Option<chrono::NaiveDateTime>,
) -> Result<String, AppError> {
    if users::find_by_email(conn, email.as_str())?.is_some() {
        return Err(AppError::Conflict(email_taken(email)));
    }
    let id = store::new_id();
    users::insert(
        conn,
        &users::NewUser {
            id: &id,
            org_id: &org.id,
            email: email.as_str(),
            display_name: display_name.as_str(),
            role: role.as_str(),
            password_hash,
            created_at: store::now(),
            invited_at,
        },
    )?;
    Ok(id)
}

/// The message for an email someone already has.
pub fn email_taken(email: &Email) -> String {
    format!("A user with the email {email} already exists. Each email can belong to one account.")
}

/// A new one-time token for a link (setup, invitation, password reset):
/// 40 random letters and digits, about 238 bits.
pub fn new_link_token() -> String {
    crate::domain::user::NewPassword::generate().expose().to_owned()
        + crate::domain::user::NewPassword::generate().expose()
}

/// The stored form of a setup token: its SHA-256, so the table cannot be
/// replayed.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// With no users yet, stores a new one-time setup token and returns it (to be
/// printed as a link); `None` once anyone exists.
pub fn issue_setup_token(conn: &mut DbConnection) -> Result<Option<String>, AppError> {
    if users::count(conn)? > 0 {
        return Ok(None);
    }
    let token = new_link_token();
    users::insert_setup_token(conn, &token_digest(&token), store::now())?;
    Ok(Some(token))
}

pub const DEMO_ORG_NAME: &str = "Demo Aviation";
pub const DEMO_ORG_SLUG: &str = "demo";

/// A demo account and its password, printed once by `serve --demo`.
pub struct DemoAccount {
    pub email: String,
    pub role: Role,
    pub password: crate::domain::user::NewPassword,
}

/// Seeds (or refreshes) the demo organization: one user per role, each with a
/// new random password, so `serve --demo` always prints working credentials,
/// and keys in every status.
pub fn seed_demo(conn: &mut DbConnection, secret: &ServerSecret) -> Result<Vec<DemoAccount>, AppError> {
    let actor = Actor::System;
    let org = match organizations::find_by_slug(conn, DEMO_ORG_SLUG)? {
        Some(org) => org,
        None => {
            let name = OrgName::parse(DEMO_ORG_NAME)?;
            let slug = OrgSlug::parse(DEMO_ORG_SLUG)?;
            create_organization(conn, &name, Some(&slug), &actor, None)?
        }
    };
    let mut accounts = Vec::new();
    for (role, local, name) in [
        (Role::SystemAdministrator, "sysadmin", "Sam Sysadmin"),
        (Role::Administrator, "admin", "Ada Admin"),
        (Role::Member, "member", "Max Member"),
    ] {
        let email = Email::parse(&format!("{local}@demo.keyward.test"))?;
        let password = crate::domain::user::NewPassword::generate();
        let hash = crate::auth::password::hash_blocking(password.expose())?;
        match users::find_by_email(conn, email.as_str())? {
            Some(user) => users::set_password_hash(conn, &user.id, &hash)?,
            None => {
                let display_name = DisplayName::parse(name)?;
                create_user(conn, &org, &email, &display_name, role, &hash, &actor, None)?;
            }
        }
        accounts.push(DemoAccount {
            email: email.to_string(),
            role,
            password,
        });
    }
    seed_demo_keys(conn, secret, &org)?;
    Ok(accounts)
}

/// Keys in every status, with varied scopes and networks.
fn seed_demo_keys(conn: &mut DbConnection, secret: &ServerSecret, org: &Organization) -> Result<(), AppError> {
    use crate::domain::api_key::{Expiry, KeyName};
    use crate::domain::network::NetworkList;
    use crate::domain::scope::{Scope, ScopeSet};
    use crate::service::keys::{self, NewKey};

    let actor = Actor::System;
    keys::bootstrap(conn, org, &actor, None)?;
    let now = chrono::Utc::now();
    let scopes = |pairs: &[&str]| -> Result<ScopeSet, AppError> {
        Ok(ScopeSet::new(
            pairs.iter().map(|p| Scope::parse_pair(p)).collect::<Result<_, _>>()?,
        )?)
    };
    let demo = [
        DemoKey::new(
            "Flight sync integration",
            &["*:*"],
            "0.0.0.0/0\n::/0",
            None,
            DemoFate::Active,
        ),
        DemoKey::new(
            "Crew roster export",
            &["read:*"],
            "0.0.0.0/0",
            Some(3),
            DemoFate::Active,
        ),
        DemoKey::new(
            "Parts marketplace verification",
            &["read:integration/part-ownership", "read:registries/public"],
            "203.0.113.0/24\n2001:db8::/32",
            Some(365),
            DemoFate::Active,
        ),
        DemoKey::new(
            "Legacy importer",
            &["write:assets", "read:assets"],
            "10.20.0.0/16",
            None,
            DemoFate::Disabled,
        ),
        DemoKey::new(
            "Old reporting job",
            &["read:assets/events"],
            "0.0.0.0/0",
            Some(30),
            DemoFate::Expired,
        ),
        DemoKey::new("Leaked test key", &["*:*"], "0.0.0.0/0", None, DemoFate::Revoked),
    ];
    for DemoKey {
        name,
        pairs,
        networks,
        days,
        fate,
    } in demo
    {
        let name = KeyName::parse(name)?;
        if api_keys::name_taken(conn, &org.id, name.as_str(), None)? {
            continue;
        }
        let new = NewKey {
            name,
            expiry: days.map(|d| Expiry::in_days(now, d)),
            scopes: scopes(pairs)?,
            networks: NetworkList::parse_lines(networks)?,
            allow_query_key: false,
        };
        let (created, _token) = keys::create(conn, secret, &org.id, &new, &actor, None)?;
        let id = created.key.id.as_str();
        match fate {
            DemoFate::Active => {}
            DemoFate::Disabled => drop(keys::set_enabled(conn, &org.id, id, false, &actor, None)?),
            DemoFate::Expired => {
                let past = store::now() - chrono::TimeDelta::days(2);
                api_keys::set_expiry(conn, &org.id, id, Some(past), store::now())?;
            }
            DemoFate::Revoked => drop(keys::revoke(conn, &org.id, id, &actor, None)?),
        }
    }
    Ok(())
}

/// What becomes of a demo key after it is created.
enum DemoFate {
    Active,
    Disabled,
    Expired,
    Revoked,
}

struct DemoKey {
    name: &'static str,
    pairs: &'static [&'static str],
    networks: &'static str,
    days: Option<i64>,
    fate: DemoFate,
}

impl DemoKey {
    const fn new(
        name: &'static str,
        pairs: &'static [&'static str],
        networks: &'static str,
        days: Option<i64>,
        fate: DemoFate,
    ) -> Self {
        Self {
            name,
            pairs,
            networks,
            days,
            fate,
        }
    }
}
