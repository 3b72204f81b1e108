//! Settings: everything the server needs, read once from the CLI and the
//! environment (`cli.rs`) into the types of the parts that use them. The
//! server secret is read from the environment or its file by `secret_file`.

use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;

use crate::api::check::GatewayHeaders;
use crate::domain::public_url::PublicUrl;
use crate::domain::secret::ServerSecret;
use crate::store::DatabaseUrl;

/// Everything `Application::build` needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub bind: SocketAddr,
    pub database: DatabaseSettings,
    pub secret: ServerSecret,
    /// Drop the `Secure` cookie attribute, for plain-http local use only.
    pub insecure_cookies: bool,
    /// Where browsers reach the backoffice; form posts must come from its origin.
    pub public_url: Option<PublicUrl>,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    /// actix worker threads; `None` = one per core.
    pub workers: Option<usize>,
    /// How many argon2id hashes may run at once (each holds 19 MiB).
    pub password_hash_concurrency: usize,
    /// Named permissions offered as checkboxes in the key form.
    pub catalogue: crate::domain::permissions::Catalogue,
    /// Longest a cached key record is kept (a safety net: changes arrive sooner).
    pub key_cache_ttl: Duration,
    /// How each instance learns of the key changes made on the others.
    pub key_changes: crate::auth::cache::FollowSettings,
    pub key_cache_capacity: u64,
    /// Unknown API keys each client address may present before a 429.
    pub invalid_key_budget: crate::auth::miss_budget::MissBudgetSettings,
    /// How often in-memory usage is written to the database.
    pub usage_flush_interval: Duration,
    /// The gateway check's route → scope map.
    pub gateway_routes: crate::domain::routes::RouteMap,
    /// Which headers carry the original method and URI to the gateway check.
    pub gateway_headers: GatewayHeaders,
    /// Client addresses (after `trusted_proxies`) that may read `/metrics`;
    /// every other client gets the 404 of an unknown path.
    pub metrics_allow: Vec<IpNet>,
}

#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    pub url: DatabaseUrl,
    pub pool_size: u32,
    /// How long one `pool.get()` may wait before the request gets a 503.
    pub acquire_timeout: Duration,
    /// How many times start-up tries to reach the database before giving up.
    pub connect_attempts: u32,
}
