//! What each CLI subcommand does. `main.rs` only parses and dispatches.

use std::io::BufRead as _;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use crate::auth::password::hash_blocking;
use crate::cli::{
    BootstrapKeysArgs, CreateKeyArgs, CreateOrgArgs, CreateUserArgs, DatabaseArgs, ListUsersArgs, ResetPasswordArgs,
    ResetTwoFactorArgs, ServeArgs, SetRoleArgs, UserEmailArgs,
};
use crate::config::{DatabaseSettings, Settings};
use crate::domain::api_key::{Expiry, KeyName};
use crate::domain::audit::Actor;
use crate::domain::network::NetworkList;
use crate::domain::organization::{OrgName, OrgSlug};
use crate::domain::permissions::Catalogue;
use crate::domain::role::Role;
use crate::domain::routes::RouteMap;
use crate::domain::scope::{Scope, ScopeSet};
use crate::domain::secret::ServerSecret;
use crate::domain::user::{DisplayName, Email, NewPassword};
use crate::error::AppError;
use crate::secret_file::{IfMissing, SecretSource};
use crate::service::keys::{self, NewKey};
use crate::service::{accounts, people};
use crate::startup::{Application, connect_database, migrate};
use crate::store::DatabaseUrl;
use crate::store::{self, DbConnection, organizations};

/// A command's failure, printed as `keyward: <message>` with exit code 1.
pub type CommandResult = Result<(), String>;

fn database_settings(args: &DatabaseArgs) -> Result<DatabaseSettings, String> {
    Ok(DatabaseSettings {
        url: DatabaseUrl::parse(&args.database_url).map_err(|e| e.to_string())?,
        pool_size: args.pool_size.max(1),
        acquire_timeout: Duration::from_secs(args.database_timeout.max(1)),
        connect_attempts: args.database_connect_attempts.max(1),
    })
}

/// `keyward serve`
pub async fn serve(args: ServeArgs, database: DatabaseArgs) -> CommandResult {
    let secret_file = database.secret_file.clone();
    let database = database_settings(&database)?;
    let env_secret = std::env::var("KEYWARD_SECRET").ok();
    let (secret, source) = ServerSecret::load(
        env_secret.as_deref(),
        secret_file.as_deref(),
        &database.url,
        IfMissing::Create,
    )
    .map_err(|e| e.to_string())?;
    match &source {
        SecretSource::Environment => tracing::info!("server secret from KEYWARD_SECRET"),
        SecretSource::File(path) => {
            tracing::info!(path = %path.display(), "server secret from file")
        }
        SecretSource::Created(path) => tracing::warn!(
            path = %path.display(),
            "created a new server secret; back this file up: without it every API key stops working"
        ),
    }
    let catalogue = match &args.permissions {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the permission catalogue {}: {e}", path.display()))?;
            Catalogue::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => Catalogue::default_catalogue(),
    };
    let gateway_routes = match &args.gateway_routes {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the gateway route map {}: {e}", path.display()))?;
            RouteMap::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => RouteMap::default(),
    };
    let settings = Settings {
        bind: args.bind,
        database,
        secret,
        insecure_cookies: args.insecure_cookies,
        public_url: args.public_url,
        trusted_proxies: args.trusted_proxies,
        workers: args.workers,
        password_hash_concurrency: args.password_hash_concurrency,
        catalogue,
        key_cache_ttl: Duration::from_secs(args.key_cache_ttl_secs.max(1)),
        key_changes: crate::auth::cache::FollowSettings {
            poll: Duration::from_millis(args.key_refresh_ms.clamp(50, 60_000)),
            listening_poll: Duration::from_millis(args.key_refresh_listening_ms.clamp(50, 3_600_000)),
            first_retry: Duration::from_secs(1),
        },
        key_cache_capacity: args.key_cache_capacity.max(1),
        invalid_key_budget: crate::auth::miss_budget::MissBudgetSettings {
            misses: args.invalid_key_budget,
            ..Default::default()
        },
        usage_flush_interval: Duration::from_secs(args.usage_flush_secs.max(1)),
        gateway_routes,
        gateway_headers: args.gateway_headers,
        metrics_allow: args.metrics_allow,
    };
    if !settings.gateway_routes.routes.is_empty() && settings.trusted_proxies.is_empty() {
        tracing::warn!(
            "a gateway route map is set but --trusted-proxies is empty: /auth/check answers every peer 403 untrusted_gateway; list the gateway's address in --trusted-proxies"
        );
    }
    let database_label = settings.database.url.to_string();
    let settings_secret = settings.secret.clone();
    let application = Application::build(settings).await.map_err(|e| e.to_string())?;
    let base_url = base_url(args.bind, application.port());

    if args.demo {
        let seeded = application
            .db()
            .transaction({
                let secret = settings_secret.clone();
                move |conn| accounts::seed_demo(conn, &secret)
            })
            .await
            .map_err(|e| e.to_string())?;
        println!(
            "Demo organization \"{}\" (slug {}):",
            accounts::DEMO_ORG_NAME,
            accounts::DEMO_ORG_SLUG
        );
        for account in seeded {
            println!(
                "  {:<22} {:<34} password: {}",
                account.role.label(),
                account.email,
                account.password.expose()
            );
        }
    }

    let setup_token = application
        .db()
        .run(accounts::issue_setup_token)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(token) = setup_token {
        println!(
            "No users yet. Open this one-time link to create your organization and its first System Administrator:"
        );
        println!("  {base_url}/setup?token={token}");
    }
    tracing::info!(address = %base_url, database = %database_label, "Keyward is listening");
    application.run_until_stopped().await.map_err(|e| e.to_string())
}

fn base_url(bind: std::net::SocketAddr, port: u16) -> String {
    let host = match bind.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    match host {
        IpAddr::V6(ip) => format!("http://[{ip}]:{port}"),
        IpAddr::V4(ip) => format!("http://{ip}:{port}"),
    }
}

/// Opens the database and applies migrations, for the one-shot commands.
async fn open(database: &DatabaseArgs) -> Result<DbConnection, String> {
    let settings = database_settings(database)?;
    let pool = connect_database(&settings, &crate::metrics::Metrics::default())
        .await
        .map_err(|e| e.to_string())?;
    migrate(&pool).await.map_err(|e| e.to_string())?;
    store::establish(&settings.url).map_err(|e| e.to_string())
}

/// `keyward migrate`
pub async fn migrate_only(database: DatabaseArgs) -> CommandResult {
    let settings = database_settings(&database)?;
    let pool = connect_database(&settings, &crate::metrics::Metrics::default())
        .await
        .map_err(|e| e.to_string())?;
    let applied = migrate(&pool).await.map_err(|e| e.to_string())?;
    println!("{} migration(s) applied; the database is up to date.", applied.len());
    Ok(())
}

/// `keyward orgs create`
pub async fn create_org(args: CreateOrgArgs, database: DatabaseArgs) -> CommandResult {
    let name = OrgName::parse(&args.name).map_err(|e| e.to_string())?;
    let slug = args
        .slug
        .as_deref()
        .map(OrgSlug::parse)
        .transpose()
        .map_err(|e| e.to_string())?;
    let mut conn = open(&database).await?;
    let org = store::write_transaction(&mut conn, |conn| {
        accounts::create_organization(conn, &name, slug.as_ref(), &Actor::Cli, None)
    })
    .map_err(|e: AppError| e.to_string())?;
    println!("{}", org.slug);
    Ok(())
}

/// `keyward users create`
pub async fn create_user(args: CreateUserArgs, database: DatabaseArgs) -> CommandResult {
    let email = Email::parse(&args.email).map_err(|e| e.to_string())?;
    let role: Role = args
        .role
        .parse()
        .map_err(|e: crate::domain::ValidationError| e.to_string())?;
    let default_name = email.as_str().split('@').next().unwrap_or_default().to_owned();
    let display_name = DisplayName::parse(args.name.as_deref().unwrap_or(&default_name)).map_err(|e| e.to_string())?;
    let (password, generated) = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        (NewPassword::parse(line).map_err(|e| e.to_string())?, false)
    } else {
        (NewPassword::generate(), true)
    };
    let mut conn = open(&database).await?;
    let org = org_or_only(&mut conn, args.org.as_deref())?;
    let hash = hash_blocking(password.expose()).map_err(|e| format!("{e:?}"))?;
    store::write_transaction(&mut conn, |conn| {
        accounts::create_user(conn, &org, &email, &display_name, role, &hash, &Actor::Cli, None)
    })
    .map_err(|e: AppError| e.to_string())?;
    println!("Created {} ({}) in {}.", email, role.label(), org.slug);
    if generated {
        println!("Password (shown once): {}", password.expose());
    }
    Ok(())
}

/// `keyward users reset-2fa EMAIL`: for the one who lost both their phone
/// and their recovery codes (a lone System Administrator above all).
pub async fn reset_two_factor(args: ResetTwoFactorArgs, database: DatabaseArgs) -> CommandResult {
    let email = Email::parse(&args.email).map_err(|e| e.to_string())?;
    let mut conn = open(&database).await?;
    let user = crate::store::users::find_by_email(&mut conn, email.as_str())
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no user with the email {email}"))?;
    let reset = store::write_transaction(&mut conn, |conn| {
        crate::service::two_factor::reset(conn, &user, &Actor::Cli, None)
    })
    .map_err(|e: AppError| e.to_string())?;
    if reset {
        println!(
            "Two-factor authentication is off for {email}, their recovery codes no longer work and their sessions have ended. \
             They sign in with their password and can set it up again from their account page."
        );
    } else {
        println!("{email} has no two-factor authentication; nothing changed.");
    }
    Ok(())
}

/// The organization `--org` names, or the only one there is.
fn org_or_only(
    conn: &mut DbConnection,
    slug: Option<&str>,
) -> Result<crate::store::organizations::Organization, String> {
    match slug {
        Some(slug) => organizations::find_by_slug(conn, slug)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no organization with the slug \"{slug}\"; list them with the backoffice or create one with `keyward orgs create`")),
        None => {
            let mut all = organizations::list(conn).map_err(|e| e.to_string())?;
            match all.len() {
                1 => Ok(all.remove(0)),
                0 => Err("there is no organization yet: create one with `keyward orgs create --name NAME`".into()),
                _ => Err("there are several organizations: say which with --org SLUG".into()),
            }
        }
    }
}

/// `keyward users list`: a table on standard output.
pub async fn list_users(args: ListUsersArgs, database: DatabaseArgs) -> CommandResult {
    use crate::domain::people::UserStatus;
    let mut conn = open(&database).await?;
    let org = org_or_only(&mut conn, args.org.as_deref())?;
    let users = people::list(&mut conn, &org.id).map_err(|e| e.to_string())?;
    println!(
        "{:<24} {:<34} {:<22} {:<10} {:<22} STATUS",
        "NAME", "EMAIL", "ROLE", "TWO-FACTOR", "LAST SIGN-IN"
    );
    for user in users {
        let role = user
            .role
            .parse::<Role>()
            .map_or(user.role.clone(), |role| role.label().to_owned());
        let last = user
            .last_sign_in_at
            .map_or_else(|| "never".to_owned(), crate::domain::time::for_people);
        println!(
            "{:<24} {:<34} {:<22} {:<10} {:<22} {}",
            user.display_name,
            user.email,
            role,
            if user.totp_enabled_at.is_some() { "on" } else { "off" },
            last,
            UserStatus::of(user.disabled_at, user.invited_at).label(),
        );
    }
    Ok(())
}

/// The user with this email, for a one-shot command.
fn user_by_email(conn: &mut DbConnection, email: &str) -> Result<crate::store::users::User, String> {
    let email = Email::parse(email).map_err(|e| e.to_string())?;
    people::find_by_email(conn, &email).map_err(|e| e.to_string())
}

/// `keyward users disable|enable EMAIL`
pub async fn set_user_disabled(args: UserEmailArgs, disable: bool, database: DatabaseArgs) -> CommandResult {
    let mut conn = open(&database).await?;
    let user = user_by_email(&mut conn, &args.email)?;
    let changed = store::write_transaction(&mut conn, |conn| {
        people::set_disabled(conn, &user.org_id, &user.id, disable, &Actor::Cli, None)
    })
    .map_err(|e: AppError| e.to_string())?;
    match (changed, disable) {
        (false, true) => println!("{} was already disabled; nothing changed.", user.email),
        (false, false) => println!("{} was not disabled; nothing changed.", user.email),
        (true, true) => println!("{} is disabled: their sessions and links have ended.", user.email),
        (true, false) => println!("{} is enabled: they can sign in again.", user.email),
    }
    Ok(())
}

/// `keyward users set-role EMAIL ROLE`
pub async fn set_user_role(args: SetRoleArgs, database: DatabaseArgs) -> CommandResult {
    let role: Role = args
        .role
        .parse()
        .map_err(|e: crate::domain::ValidationError| e.to_string())?;
    let mut conn = open(&database).await?;
    let user = user_by_email(&mut conn, &args.email)?;
    let changed = store::write_transaction(&mut conn, |conn| {
        people::set_role(conn, &user.org_id, &user.id, role, &Actor::Cli, None)
    })
    .map_err(|e: AppError| e.to_string())?;
    if changed {
        println!("{} is now {}; their sessions have ended.", user.email, role.label());
    } else {
        println!("{} is already {}; nothing changed.", user.email, role.label());
    }
    Ok(())
}

/// `keyward users reset-password EMAIL`: prints the one-time link.
pub async fn reset_password(args: ResetPasswordArgs, database: DatabaseArgs) -> CommandResult {
    let mut conn = open(&database).await?;
    let user = user_by_email(&mut conn, &args.email)?;
    let link = store::write_transaction(&mut conn, |conn| {
        people::issue_password_reset(conn, &user.org_id, &user.id, &Actor::Cli, None)
    })
    .map_err(|e: AppError| e.to_string())?;
    eprintln!(
        "A password-reset link for {}, valid for {} and once; their sessions have ended. Send it to them yourself:",
        user.email,
        link.purpose.validity_words()
    );
    println!(
        "{}{}",
        args.public_url.origin().ascii_serialization(),
        link.path_and_query()
    );
    Ok(())
}

fn org_by_slug(conn: &mut DbConnection, slug: &str) -> Result<crate::store::organizations::Organization, String> {
    organizations::find_by_slug(conn, slug)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no organization with the slug \"{slug}\"; create one with `keyward orgs create`"))
}

/// `keyward orgs bootstrap-keys`
pub async fn bootstrap_keys(args: BootstrapKeysArgs, database: DatabaseArgs) -> CommandResult {
    let mut conn = open(&database).await?;
    let org = org_by_slug(&mut conn, &args.org)?;
    let done = store::write_transaction(&mut conn, |conn| keys::bootstrap(conn, &org, &Actor::Cli, None))
        .map_err(|e: AppError| e.to_string())?;
    if done {
        println!("API keys are set up for {}.", org.slug);
    } else {
        println!("API keys were already set up for {}; nothing changed.", org.slug);
    }
    Ok(())
}

/// `keyward keys create`: the secret alone on stdout, for provisioning scripts.
pub async fn create_key(args: CreateKeyArgs, database: DatabaseArgs) -> CommandResult {
    let name = KeyName::parse(&args.name).map_err(|e| format!("--name: {e}"))?;
    let expiry = Expiry::parse(args.expires.as_deref().unwrap_or(""), chrono::Utc::now())
        .map_err(|e| format!("--expires: {e}"))?;
    // Least privilege, as the page and the API: a key gets no scopes unless
    // asked for, never Full access by leaving --scope out.
    if args.scopes.is_empty() {
        return Err(
            "--scope: choose the key's scopes, e.g. --scope read:assets (--scope '*:*' is full access): a key gets no scopes by default".to_owned(),
        );
    }
    let parsed = args
        .scopes
        .iter()
        .map(|s| Scope::parse_pair(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("--scope: {e}"))?;
    let scopes = ScopeSet::new(parsed).map_err(|e| format!("--scope: {e}"))?;
    let networks = if args.networks.is_empty() {
        NetworkList::allow_all()
    } else {
        NetworkList::parse_lines(&args.networks.join("\n")).map_err(|e| format!("--network: {e}"))?
    };
    let env_secret = std::env::var("KEYWARD_SECRET").ok();
    let settings = database_settings(&database)?;
    let (secret, _) = ServerSecret::load(
        env_secret.as_deref(),
        database.secret_file.as_deref(),
        &settings.url,
        IfMissing::Refuse,
    )
    .map_err(|e| e.to_string())?;
    let mut conn = open(&database).await?;
    let org = org_by_slug(&mut conn, &args.org)?;
    let new = NewKey {
        name,
        expiry,
        scopes,
        networks,
        allow_query_key: args.allow_query,
    };
    let (detail, token) = store::write_transaction(&mut conn, |conn| {
        keys::create(conn, &secret, &org.id, &new, &Actor::Cli, None)
    })
    .map_err(|e: AppError| match e {
        AppError::Conflict(message) if message.contains("not set up") => {
            format!("{message} (or run `keyward orgs bootstrap-keys --org {}`)", org.slug)
        }
        other => other.to_string(),
    })?;
    eprintln!(
        "Created \"{}\" ({}) in {}. The key below is shown once:",
        detail.key.name,
        detail.key_id_hint(),
        org.slug
    );
    println!("{}", token.expose());
    Ok(())
}
