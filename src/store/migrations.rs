//! Embedded migrations, one set per backend, picked by the connection's variant.

use diesel::RunQueryDsl as _;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbConnection;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

type MigrationError = Box<dyn std::error::Error + Send + Sync>;

fn migrations_for(conn: &DbConnection) -> EmbeddedMigrations {
    match conn {
        DbConnection::Postgres(_) => POSTGRES_MIGRATIONS,
        DbConnection::Sqlite(_) => SQLITE_MIGRATIONS,
    }
}

/// The PostgreSQL advisory lock held while migrating ("keyward" in ASCII):
/// instances started together take turns, and the later ones find nothing
/// left to apply.
const MIGRATION_LOCK: i64 = 0x006b_6579_7761_7264;

/// Applies every pending migration, then brings every key's `name_key` in
/// line with `KeyName::fold`; returns the versions applied. On PostgreSQL it
/// all runs under an advisory lock (the connection's session holds it, so a
/// process that dies lets go of it too).
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, MigrationError> {
    if let DbConnection::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_lock($1)")
            .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
            .execute(pg)?;
    }
    let result = migrate_and_refold(conn);
    if let DbConnection::Postgres(pg) = conn {
        diesel::sql_query("SELECT pg_advisory_unlock($1)")
            .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
            .execute(pg)?;
    }
    result
}

fn migrate_and_refold(conn: &mut DbConnection) -> Result<Vec<String>, MigrationError> {
    let set = migrations_for(conn);
    let applied = conn
        .run_pending_migrations(set)?
        .iter()
        .map(ToString::to_string)
        .collect();
    for (id, name) in super::api_keys::refold_names(conn)? {
        tracing::warn!(api_key_id = %id, new_name = %name, "renamed a key whose name differed only in case from another's");
    }
    Ok(applied)
}

/// Reverts every applied migration (used by the up → down → up test).
pub fn revert_all(conn: &mut DbConnection) -> Result<Vec<String>, MigrationError> {
    let set = migrations_for(conn);
    Ok(conn
        .revert_all_migrations(set)?
        .iter()
        .map(ToString::to_string)
        .collect())
}
