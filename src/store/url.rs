//! The database URL and the backend it names, chosen from the scheme.

use std::fmt;
use std::path::Path;

/// Which backend a URL names; chosen from the scheme, never by trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database URL whose backend is known: `postgres://…`/`postgresql://…`,
/// `sqlite://PATH`, or a plain file path (SQLite).
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    connection_string: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DatabaseUrlError {
    #[error("the database URL is empty: give a SQLite file path, sqlite://PATH or postgres://USER@HOST/DB")]
    Empty,
    #[error(
        "unsupported database URL scheme \"{0}\": use a SQLite file path, sqlite://PATH, or postgres://USER@HOST/DB"
    )]
    UnknownScheme(String),
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, DatabaseUrlError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(DatabaseUrlError::Empty);
        }
        let Some((scheme, rest)) = raw.split_once("://") else {
            return Ok(Self::sqlite_file(raw));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Ok(Self {
                backend: Backend::Postgres,
                connection_string: raw.to_owned(),
            }),
            "sqlite" if !rest.is_empty() => Ok(Self::sqlite_file(rest)),
            "sqlite" => Err(DatabaseUrlError::Empty),
            other => Err(DatabaseUrlError::UnknownScheme(other.to_owned())),
        }
    }

    fn sqlite_file(path: &str) -> Self {
        Self {
            backend: Backend::Sqlite,
            connection_string: path.to_owned(),
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// What the driver is given; may hold a password, so never log it.
    pub fn connection_string(&self) -> &str {
        &self.connection_string
    }

    /// The SQLite file, for placing the secret file beside it.
    pub fn sqlite_path(&self) -> Option<&Path> {
        (self.backend == Backend::Sqlite).then(|| Path::new(&self.connection_string))
    }
}

/// Shows the URL with any password replaced, so it can be logged.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.backend {
            Backend::Sqlite => write!(f, "sqlite://{}", self.connection_string),
            Backend::Postgres => {
                let s = &self.connection_string;
                match (s.find("://"), s.rfind('@')) {
                    (Some(start), Some(at)) if at > start => {
                        let userinfo = &s[start + 3..at];
                        let user = userinfo.split(':').next().unwrap_or_default();
                        let hidden = if userinfo.contains(':') { ":***" } else { "" };
                        write!(f, "{}{user}{hidden}{}", &s[..start + 3], &s[at..])
                    }
                    _ => f.write_str(s),
                }
            }
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_pick_their_backend_from_the_scheme() {
        let pg = DatabaseUrl::parse("postgres://u:pw@localhost/db").expect("valid");
        assert_eq!(pg.backend(), Backend::Postgres);
        assert_eq!(pg.to_string(), "postgres://u:***@localhost/db");
        assert_eq!(
            DatabaseUrl::parse("postgresql://localhost/db").map(|u| u.backend()),
            Ok(Backend::Postgres)
        );
        let sqlite = DatabaseUrl::parse("sqlite://data/k.db").expect("valid");
        assert_eq!(sqlite.sqlite_path(), Some(Path::new("data/k.db")));
        assert_eq!(DatabaseUrl::parse("k.db").map(|u| u.backend()), Ok(Backend::Sqlite));
        assert_eq!(
            DatabaseUrl::parse("mysql://localhost/db"),
            Err(DatabaseUrlError::UnknownScheme("mysql".into()))
        );
        assert_eq!(DatabaseUrl::parse("  "), Err(DatabaseUrlError::Empty));
    }
}
