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

/// Shows the URL with every password replaced, so it can be logged: the
/// one in the user info and any query parameter that holds one (libpq reads
/// every connection parameter from the query too, `?password=` included).
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.backend {
            Backend::Sqlite => write!(f, "sqlite://{}", self.connection_string),
            Backend::Postgres => f.write_str(&masked_postgres_url(&self.connection_string)),
        }
    }
}

/// `url` with the password of its user info and the values of its query
/// parameters that hold a password replaced by `***`. Read by hand rather
/// than as a WHATWG URL, which a libpq URL with several hosts
/// (`h1:5432,h2:5432`) is not; libpq wants `@`, `/` and `?` percent-encoded
/// in the user info, so the first `/` or `?` ends the authority and its last
/// `@` the user info. A URL that does not read so is shown not at all.
fn masked_postgres_url(url: &str) -> String {
    const HIDDEN: &str = "postgres://[not shown: the URL cannot be read to hide its password]";
    let Some((scheme, rest)) = url.split_once("://") else {
        return HIDDEN.to_owned();
    };
    let (before_query, query) = rest.split_once('?').map_or((rest, None), |(b, q)| (b, Some(q)));
    let authority_end = before_query.find('/').unwrap_or(before_query.len());
    let (authority, path) = before_query.split_at(authority_end);
    // A user info cut short by a raw `/` or `?` in the password.
    if path.contains('@') || (!authority.contains('@') && query.is_some_and(|q| q.contains('@'))) {
        return HIDDEN.to_owned();
    }
    let mut out = format!("{scheme}://");
    let hosts = match authority.rsplit_once('@') {
        Some((user_info, hosts)) => {
            let (user, password) = user_info
                .split_once(':')
                .map_or((user_info, None), |(u, p)| (u, Some(p)));
            out.push_str(user);
            if password.is_some() {
                out.push_str(":***");
            }
            out.push('@');
            hosts
        }
        None => authority,
    };
    out.push_str(hosts);
    out.push_str(path);
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| {
                let name = pair.split_once('=').map_or(pair, |(name, _)| name);
                let decoded: String = url::form_urlencoded::parse(name.as_bytes())
                    .map(|(name, _)| name.into_owned())
                    .collect();
                if holds_password(&decoded) {
                    format!("{name}=***")
                } else {
                    pair.to_owned()
                }
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out
}

/// libpq's `password` and `sslpassword` (names are matched loosely: a
/// parameter that might hold a password is masked).
fn holds_password(parameter: &str) -> bool {
    parameter.to_ascii_lowercase().contains("password")
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
    fn every_password_in_a_postgres_url_is_masked() {
        for (raw, shown) in [
            ("postgres://u:pw@localhost/db", "postgres://u:***@localhost/db"),
            ("postgres://u@localhost/db", "postgres://u@localhost/db"),
            (
                "postgres://u@localhost/db?sslmode=disable&password=pw",
                "postgres://u@localhost/db?sslmode=disable&password=***",
            ),
            (
                "postgres://u:pw@localhost/db?PASSWORD=pw&sslpassword=pw",
                "postgres://u:***@localhost/db?PASSWORD=***&sslpassword=***",
            ),
            // An `@` in the query is no user info.
            (
                "postgresql://u@h/db?application_name=a@b&password=pw",
                "postgresql://u@h/db?application_name=a@b&password=***",
            ),
            (
                "postgres://u:p%40w@h/db?pass%77ord=pw",
                "postgres://u:***@h/db?pass%77ord=***",
            ),
            (
                "postgres://u:pw@h1:5432,h2:5432/db",
                "postgres://u:***@h1:5432,h2:5432/db",
            ),
            // Not a URL libpq reads as one: nothing of it is shown.
            (
                "postgres://u:p?w@h/db",
                "postgres://[not shown: the URL cannot be read to hide its password]",
            ),
            (
                "postgres://u:p/w@h/db",
                "postgres://[not shown: the URL cannot be read to hide its password]",
            ),
            (
                "postgres://u:p?a=b@h/db",
                "postgres://[not shown: the URL cannot be read to hide its password]",
            ),
        ] {
            let url = DatabaseUrl::parse(raw).expect("valid");
            assert_eq!(url.to_string(), shown, "{raw}");
            assert!(!format!("{url:?}").contains("pw"), "{raw}");
        }
    }

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
