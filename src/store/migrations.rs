//! Embedded migrations, one set per backend, picked by the connection's variant.

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

/// Applies every pending migration; returns the versions applied.
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, MigrationError> {
    let set = migrations_for(conn);
    Ok(conn
        .run_pending_migrations(set)?
        .iter()
        .map(ToString::to_string)
        .collect())
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
