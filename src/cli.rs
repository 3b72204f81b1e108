//! The command line. Every flag can also be set through a `KEYWARD_*`
//! environment variable; the server secret only through `KEYWARD_SECRET` or a
//! file, never a flag (flags show up in process lists).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use ipnet::IpNet;

use crate::api::check::GatewayHeaders;

#[derive(Debug, Parser)]
#[command(
    name = "keyward",
    version,
    about = "API key service: backoffice and request authentication"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// `keyward` alone means `keyward serve`.
    #[command(flatten)]
    pub serve: ServeArgs,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the server (the default).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage organizations.
    #[command(subcommand)]
    Orgs(OrgsCommand),
    /// Provision API keys from scripts.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// SQLite file path, sqlite://PATH, or postgres://USER@HOST/DB.
    #[arg(long, env = "KEYWARD_DATABASE_URL", default_value = "keyward.db", global = true)]
    pub database_url: String,

    /// File holding the base64 server secret; defaults to `<database>.secret`
    /// beside a SQLite database (created by the first `keyward serve`; other
    /// commands refuse to run without it). Ignored when KEYWARD_SECRET is set.
    #[arg(long, env = "KEYWARD_SECRET_FILE", global = true)]
    pub secret_file: Option<PathBuf>,

    /// Database connections per instance.
    #[arg(long, env = "KEYWARD_POOL_SIZE", default_value_t = 4, global = true)]
    pub pool_size: u32,

    /// Seconds a request waits for a database connection before answering 503.
    #[arg(long, env = "KEYWARD_DATABASE_TIMEOUT", default_value_t = 5, global = true)]
    pub database_timeout: u64,

    /// Attempts to reach the database at start before giving up.
    #[arg(long, env = "KEYWARD_DATABASE_CONNECT_ATTEMPTS", default_value_t = 5, global = true)]
    pub database_connect_attempts: u32,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "KEYWARD_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Send cookies without the Secure attribute (plain http beyond localhost; never in production).
    #[arg(long, env = "KEYWARD_INSECURE_COOKIES")]
    pub insecure_cookies: bool,

    /// The URL browsers use for the backoffice (e.g. https://keys.example.com). Form posts must then come
    /// from exactly its scheme, host and port; without it they must name the request's Host.
    #[arg(long, env = "KEYWARD_PUBLIC_URL")]
    pub public_url: Option<crate::domain::public_url::PublicUrl>,

    /// Seed a demo organization with one user per role and print their passwords.
    #[arg(long, env = "KEYWARD_DEMO")]
    pub demo: bool,

    /// Proxies (CIDRs, comma-separated) whose X-Forwarded-For is believed.
    #[arg(long, env = "KEYWARD_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpNet>,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "KEYWARD_WORKERS")]
    pub workers: Option<usize>,

    /// TOML file of named permissions offered in the key form (default: the shipped catalogue).
    #[arg(long, env = "KEYWARD_PERMISSIONS")]
    pub permissions: Option<PathBuf>,

    /// Milliseconds between this instance's looks for key changes made on
    /// other instances when nothing announces them (SQLite, or PostgreSQL
    /// while its listener is away); such a change is enforced here within
    /// about this time.
    #[arg(long, env = "KEYWARD_KEY_REFRESH_MS", default_value_t = 500)]
    pub key_refresh_ms: u64,

    /// Milliseconds between looks at the key change log on PostgreSQL while
    /// changes are announced (LISTEN/NOTIFY): a safety net, since each
    /// announced change is read at once.
    #[arg(long, env = "KEYWARD_KEY_REFRESH_LISTENING_MS", default_value_t = 5000)]
    pub key_refresh_listening_ms: u64,

    /// Client addresses (CIDRs, comma-separated) that may read GET /metrics,
    /// judged after --trusted-proxies; everyone else gets 404.
    #[arg(
        long,
        env = "KEYWARD_METRICS_ALLOW",
        value_delimiter = ',',
        default_values = ["127.0.0.1/32", "::1/128"]
    )]
    pub metrics_allow: Vec<IpNet>,

    /// Seconds a cached key record is kept at most: a safety net, as
    /// changes reach the cache through the change log. 1 s re-reads each key
    /// in use once a second, a database read per key per second.
    #[arg(long, env = "KEYWARD_KEY_CACHE_TTL_SECS", default_value_t = 1)]
    pub key_cache_ttl_secs: u64,

    /// Key records kept in memory.
    #[arg(long, env = "KEYWARD_KEY_CACHE_CAPACITY", default_value_t = 100_000)]
    pub key_cache_capacity: u64,

    /// Unknown (well-formed) API keys one client address may present per
    /// minute before it gets 429 `too_many_invalid_keys`; IPv6 counts per /64.
    /// Keys this instance knows are valid are never held back.
    #[arg(long, env = "KEYWARD_INVALID_KEY_BUDGET", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub invalid_key_budget: u32,

    /// Seconds between writes of usage counts to the database.
    #[arg(long, env = "KEYWARD_USAGE_FLUSH_SECS", default_value_t = 5)]
    pub usage_flush_secs: u64,

    /// TOML route map of the gateway check (/auth/check); without it every route is refused.
    #[arg(long, env = "KEYWARD_GATEWAY_ROUTES")]
    pub gateway_routes: Option<PathBuf>,

    /// Headers the gateway check reads the original method and URI from:
    /// `original` (X-Original-Method/-URI, nginx) or `forwarded`
    /// (X-Forwarded-Method/-Uri, Traefik and Caddy). Believed only from
    /// --trusted-proxies.
    #[arg(long, env = "KEYWARD_GATEWAY_HEADERS", value_enum, default_value_t = GatewayHeaders::Original)]
    pub gateway_headers: GatewayHeaders,

    /// Password hashes allowed to run at once (each takes 19 MiB).
    #[arg(long, env = "KEYWARD_PASSWORD_HASH_CONCURRENCY", default_value_t = 2)]
    pub password_hash_concurrency: usize,
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a user. Without --password-stdin a password is generated and printed once.
    Create(CreateUserArgs),
    /// Turn a user's two-factor authentication off (they lost their phone
    /// and their recovery codes) and end their sessions.
    #[command(name = "reset-2fa")]
    ResetTwoFactor(ResetTwoFactorArgs),
    /// List an organization's users: name, email, role, two-factor, last sign-in, status.
    List(ListUsersArgs),
    /// Disable a user: they cannot sign in, their sessions and links end.
    Disable(UserEmailArgs),
    /// Enable a disabled user again.
    Enable(UserEmailArgs),
    /// Change a user's role (their sessions end).
    SetRole(SetRoleArgs),
    /// Print a one-time password-reset link (valid 1 hour) and end the user's sessions.
    ResetPassword(ResetPasswordArgs),
}

#[derive(Debug, Args)]
pub struct ListUsersArgs {
    /// The organization's slug; may be left out when there is only one.
    #[arg(long, env = "KEYWARD_ORG")]
    pub org: Option<String>,
}

#[derive(Debug, Args)]
pub struct UserEmailArgs {
    /// The user's email.
    pub email: String,
}

#[derive(Debug, Args)]
pub struct SetRoleArgs {
    /// The user's email.
    pub email: String,
    /// system-administrator, administrator or member
    pub role: String,
}

#[derive(Debug, Args)]
pub struct ResetPasswordArgs {
    /// The user's email.
    pub email: String,
    /// The URL browsers use for the backoffice, which the link starts with.
    #[arg(long, env = "KEYWARD_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: crate::domain::public_url::PublicUrl,
}

#[derive(Debug, Args)]
pub struct ResetTwoFactorArgs {
    /// The user's email.
    pub email: String,
}

#[derive(Debug, Args)]
pub struct CreateUserArgs {
    #[arg(long, env = "KEYWARD_USER_EMAIL")]
    pub email: String,
    /// system-administrator, administrator or member
    #[arg(long, env = "KEYWARD_USER_ROLE")]
    pub role: String,
    /// The organization's slug; may be left out when there is only one.
    #[arg(long, env = "KEYWARD_ORG")]
    pub org: Option<String>,
    /// Display name; defaults to the part of the email before the @.
    #[arg(long, env = "KEYWARD_USER_NAME")]
    pub name: Option<String>,
    /// Read the password from standard input (first line).
    #[arg(long, env = "KEYWARD_PASSWORD_STDIN")]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum OrgsCommand {
    /// Create an organization and print its slug.
    Create(CreateOrgArgs),
    /// Set an organization up for API keys (once; the page's "Set up API keys").
    BootstrapKeys(BootstrapKeysArgs),
}

#[derive(Debug, Args)]
pub struct BootstrapKeysArgs {
    #[arg(long, env = "KEYWARD_ORG")]
    pub org: String,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print its secret, once, on standard output.
    Create(CreateKeyArgs),
}

#[derive(Debug, Args)]
pub struct CreateKeyArgs {
    /// The organization's slug.
    #[arg(long, env = "KEYWARD_ORG")]
    pub org: String,
    #[arg(long, env = "KEYWARD_KEY_NAME")]
    pub name: String,
    /// ACTION:FILTER, repeatable (e.g. read:assets; *:* is full access). At
    /// least one: a key gets no scopes by default.
    #[arg(long = "scope", env = "KEYWARD_KEY_SCOPES", value_delimiter = ',')]
    pub scopes: Vec<String>,
    /// Allowed network CIDR, repeatable; default 0.0.0.0/0 and ::/0.
    #[arg(long = "network", env = "KEYWARD_KEY_NETWORKS", value_delimiter = ',')]
    pub networks: Vec<String>,
    /// YYYY-MM-DD (00:00 UTC), YYYY-MM-DDTHH:MM (UTC) or RFC 3339; default never.
    #[arg(long, env = "KEYWARD_KEY_EXPIRES")]
    pub expires: Option<String>,
    /// Let this key be sent as ?api_key=… (it then shows up in logs and histories).
    #[arg(long, env = "KEYWARD_KEY_ALLOW_QUERY")]
    pub allow_query: bool,
}

#[derive(Debug, Args)]
pub struct CreateOrgArgs {
    #[arg(long, env = "KEYWARD_ORG_NAME")]
    pub name: String,
    /// URL-safe identifier; derived from the name when left out.
    #[arg(long, env = "KEYWARD_ORG_SLUG")]
    pub slug: Option<String>,
}
