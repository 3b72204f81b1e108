//! The database: one diesel `MultiConnection` over SQLite and PostgreSQL, its
//! r2d2 pool, and one file per aggregate with plain
//! `(&mut DbConnection, …) -> QueryResult<_>` functions.

pub mod api_keys;
pub mod audit;
pub mod form_submissions;
pub mod key_changes;
pub mod migrations;
pub mod organizations;
pub mod schema;
pub mod sessions;
pub mod two_factor;
pub mod url;
pub mod usage;
pub mod user_links;
pub mod users;

pub use url::{Backend, DatabaseUrl, DatabaseUrlError};

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{CustomizeConnection, ManageConnection, R2D2Connection};

/// One connection type for both backends; queries are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Reads the one row a lookup by a unique column finds. Used instead of
/// `.first()`: its `LIMIT ?` bind makes SQLite (3.47 and later) re-prepare the
/// statement on every run, which tripled the cost of the key look-up.
pub trait UniqueRow: RunQueryDsl<DbConnection> + Sized {
    fn unique_row<'query, U>(self, conn: &mut DbConnection) -> QueryResult<Option<U>>
    where
        Self: diesel::query_dsl::LoadQuery<'query, DbConnection, U>,
    {
        self.load_iter(conn)?.next().transpose()
    }
}

impl<T: RunQueryDsl<DbConnection>> UniqueRow for T {}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

// SQLite's own `lower` folds ASCII only ("Übersicht" stays "Übersicht"),
// PostgreSQL's folds all of Unicode (under a UTF-8 LC_CTYPE, the default).
// Every SQLite connection gets `lower` replaced by Rust's `to_lowercase`, so
// a search finds the same rows on both backends.
diesel::define_sql_function!(
    #[sql_name = "lower"]
    fn unicode_lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>
);

// `substr(x, 1, n) = prefix` compares exactly, on both backends: SQLite's
// `LIKE` ignores ASCII case, and key ids are case-sensitive.
diesel::define_sql_function!(fn substr(x: diesel::sql_types::Text, start: diesel::sql_types::Integer, length: diesel::sql_types::Integer) -> diesel::sql_types::Text);

/// `text` for a `LIKE … ESCAPE '\'` pattern, in which its `%`, `_` and `\`
/// match themselves.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// r2d2 manager that opens the backend the URL names and keeps its real error
/// (diesel's own `MultiConnection::establish` tries each backend in turn and
/// reports only "invalid connection url").
#[derive(Debug, Clone)]
pub struct DbConnectionManager {
    url: DatabaseUrl,
}

impl ManageConnection for DbConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        let url = self.url.connection_string();
        match self.url.backend() {
            Backend::Postgres => diesel::PgConnection::establish(url).map(DbConnection::Postgres),
            Backend::Sqlite => diesel::SqliteConnection::establish(url).map(DbConnection::Sqlite),
        }
        .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Per-connection SQLite settings. WAL is set once, before the pool opens
/// its connections: switching the journal mode while other connections open
/// in parallel makes them fail with "database is locked".
#[derive(Debug)]
struct SqlitePragmas;

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        if let DbConnection::Sqlite(conn) = conn {
            conn.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
                .map_err(diesel::r2d2::Error::QueryError)?;
            unicode_lower_utils::register_impl(conn, |text: Option<String>| text.map(|t| t.to_lowercase()))
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

pub type DbPool = r2d2::Pool<DbConnectionManager>;

/// Opens a pool; fails fast (bounded by `connect_timeout`) with the driver's
/// own message when the database cannot be reached. `events` hears each
/// check-out (with its wait) and each timeout.
pub fn connect(
    url: &DatabaseUrl,
    max_size: u32,
    connect_timeout: Duration,
    events: Box<dyn r2d2::HandleEvent>,
) -> Result<DbPool, Box<dyn std::error::Error + Send + Sync>> {
    if url.backend() == Backend::Sqlite {
        let mut conn = establish(url)?;
        // Persistent in the file: every later connection is in WAL mode too.
        conn.batch_execute("PRAGMA journal_mode = WAL;")?;
    }
    let builder = r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(connect_timeout)
        .error_handler(Box::new(r2d2::LoggingErrorHandler))
        .event_handler(events);
    let builder = match url.backend() {
        Backend::Sqlite => builder.connection_customizer(Box::new(SqlitePragmas)),
        Backend::Postgres => builder,
    };
    Ok(builder.build(DbConnectionManager { url: url.clone() })?)
}

/// The pool plus the one way handlers reach it: off the async workers.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
}

impl Db {
    pub fn new(pool: DbPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// Runs `work` with a pooled connection on the blocking thread pool.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, StoreError<E>>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get().map_err(StoreError::Unavailable)?;
            work(&mut conn).map_err(StoreError::Work)
        })
        .await
        .map_err(|error| StoreError::WorkerStopped(error.to_string()))?
    }

    /// Runs `work` in one write transaction (rolled back on any error).
    pub async fn transaction<T, E, F>(&self, work: F) -> Result<T, StoreError<E>>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<diesel::result::Error> + Send + 'static,
    {
        self.run(move |conn| write_transaction(conn, work)).await
    }
}

/// What running work on the database can end in: the work's own error `E`,
/// or the database not reached at all. The layers above turn it into theirs
/// (`AppError` has a `From`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError<E> {
    /// The work ran and failed.
    #[error("{0}")]
    Work(E),
    /// No pooled connection within the pool's timeout (the database is down
    /// or every connection is busy).
    #[error("no database connection could be had: {0}")]
    Unavailable(#[source] r2d2::Error),
    /// The blocking worker running the work stopped before it answered.
    #[error("the database worker stopped: {0}")]
    WorkerStopped(String),
}

/// Runs `work` in a transaction meant to write. On SQLite it takes the write
/// lock up front (`BEGIN IMMEDIATE`): a deferred transaction that reads and
/// then writes fails at once with SQLITE_BUSY when another connection wrote in
/// between, and `busy_timeout` cannot help with that.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Manager = DbConnection;
    match conn {
        DbConnection::Sqlite(inner) => AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?,
        DbConnection::Postgres(_) => <Manager as TransactionManager<DbConnection>>::begin_transaction(conn)?,
    }
    match work(conn) {
        Ok(value) => {
            <Manager as TransactionManager<DbConnection>>::commit_transaction(conn)?;
            Ok(value)
        }
        Err(error) => {
            if let Err(rollback) = <Manager as TransactionManager<DbConnection>>::rollback_transaction(conn) {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(error)
        }
    }
}

/// `now` truncated to the microsecond: PostgreSQL keeps µs, SQLite would keep
/// ns, and values must read back equal on both.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::Timelike as _;
    let now = chrono::Utc::now().naive_utc();
    // Setting the field is a fraction of the cost of `duration_trunc`, and
    // this runs on every API request.
    now.with_nanosecond(now.nanosecond() / 1_000 * 1_000).unwrap_or(now)
}

/// A new time-ordered primary key.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Whether a diesel error means "this row clashes with a unique index".
pub fn is_unique_violation(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Whether a diesel error means "the database cannot serve this right now"
/// rather than anything about the query: the connection is gone (PostgreSQL
/// stopped or restarted), or SQLite's lock stayed taken by another writer
/// for all of `busy_timeout`. SQLite reports the last as SQLITE_BUSY (or
/// SQLITE_LOCKED), which diesel passes on only as the message.
pub fn is_unavailable(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) | Error::BrokenTransactionManager => true,
        Error::DatabaseError(_, info) => {
            matches!(info.message(), "database is locked" | "database table is locked")
        }
        _ => false,
    }
}

/// Sets `foreign_keys` etc. on a connection opened outside the pool (CLI, tests).
pub fn establish(url: &DatabaseUrl) -> Result<DbConnection, diesel::r2d2::Error> {
    let manager = DbConnectionManager { url: url.clone() };
    let mut conn = manager.connect()?;
    SqlitePragmas.on_acquire(&mut conn)?;
    Ok(conn)
}
