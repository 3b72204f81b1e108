//! The key check without HTTP: parse + verify on a cache hit, and on a cache
//! miss that reads the key from SQLite (10 000 keys in the database).
//!
//!     cargo bench --bench key_check
//!
//! Targets: a cache hit within 2 µs, a SQLite miss within 50 µs.

use std::hint::black_box;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use keyward::auth::cache::{self, KeyCache};
use keyward::auth::key_auth::{self, KeySource, Need};
use keyward::domain::api_key::KeyName;
use keyward::domain::audit::Actor;
use keyward::domain::network::NetworkList;
use keyward::domain::organization::OrgName;
use keyward::domain::scope::{Action, ScopeSet};
use keyward::domain::secret::ServerSecret;
use keyward::domain::token::ApiKeyToken;
use keyward::service::accounts;
use keyward::service::keys::{self, NewKey};
use keyward::store;
use keyward::store::DatabaseUrl;

const KEYS: usize = 10_000;

fn key_check(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = DatabaseUrl::parse(dir.path().join("bench.db").to_str().expect("utf-8")).expect("url");
    let mut conn = store::establish(&url).expect("connect");
    store::migrations::run_pending(&mut conn).expect("migrate");
    let secret = ServerSecret::generate();
    let tokens: Vec<ApiKeyToken> = store::write_transaction(&mut conn, |conn| {
        let org = accounts::create_organization(conn, &OrgName::parse("Bench Air")?, None, &Actor::Cli, None)?;
        keys::bootstrap(conn, &org, &Actor::Cli, None)?;
        (0..KEYS)
            .map(|i| {
                let new = NewKey {
                    name: KeyName::parse(&format!("bench {i}"))?,
                    expiry: None,
                    scopes: ScopeSet::full_access(),
                    networks: NetworkList::allow_all(),
                    allow_query_key: false,
                };
                Ok(keys::create(conn, &secret, &org.id, &new, &Actor::Cli, None)?.1)
            })
            .collect::<Result<Vec<_>, keyward::error::AppError>>()
    })
    .expect("keys");
    let presented: Vec<String> = tokens.iter().map(|t| t.expose().to_owned()).collect();
    let ip: IpAddr = "10.0.0.1".parse().expect("ip");

    let cache = KeyCache::new(100_000, Duration::from_secs(300), keyward::metrics::Metrics::default());
    for token in &tokens {
        let generation = cache.generation();
        let record = cache::load(&mut conn, &secret, token.key_id().as_str())
            .expect("load")
            .map(Arc::new);
        cache.insert(token.key_id().as_str().to_owned(), record, store::now(), generation);
    }

    let mut group = c.benchmark_group("key_check");
    group.bench_function("parse only", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % KEYS;
            black_box(ApiKeyToken::parse(&presented[i]).is_ok())
        })
    });
    group.bench_function("parse + verify, cache hit", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % KEYS;
            let token = ApiKeyToken::parse(&presented[i]).expect("valid");
            let now = store::now();
            let record = cache.get(token.key_id().as_str(), now).flatten().expect("cached");
            assert!(record.matches(&token));
            black_box(key_auth::check(
                &record,
                KeySource::Header,
                ip,
                Need::Scope(Action::Read, "assets"),
                now,
            ))
        })
    });
    group.bench_function("parse + verify, cache miss (SQLite)", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % KEYS;
            let token = ApiKeyToken::parse(&presented[i]).expect("valid");
            let record = cache::load(&mut conn, &secret, token.key_id().as_str())
                .expect("load")
                .expect("exists");
            assert!(record.matches(&token));
            black_box(key_auth::check(
                &record,
                KeySource::Header,
                ip,
                Need::Scope(Action::Read, "assets"),
                store::now(),
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, key_check);
criterion_main!(benches);
