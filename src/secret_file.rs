//! The server secret from the environment or its file: `KEYWARD_SECRET`,
//! else `--secret-file`, else `<database>.secret` beside a SQLite database,
//! created once with owner-only permissions. The secret itself and the keys
//! derived from it live in `domain::secret`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use crate::domain::secret::{SecretTooShort, ServerSecret};
use crate::store::DatabaseUrl;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("KEYWARD_SECRET is not valid base64: {0}. Generate one with: openssl rand -base64 32")]
    NotBase64(base64::DecodeError),
    #[error(
        "the server secret is {0} bytes; it must be at least {min} bytes. Generate one with: openssl rand -base64 32",
        min = ServerSecret::MIN_LEN
    )]
    TooShort(usize),
    #[error("cannot read the server secret file {path}: {source}")]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("the server secret file {path} is not valid base64: {source}")]
    FileNotBase64 { path: PathBuf, source: base64::DecodeError },
    #[error("cannot create the server secret file {path}: {source}")]
    Uncreatable { path: PathBuf, source: std::io::Error },
    #[error(
        "with PostgreSQL the server secret must be given (KEYWARD_SECRET or --secret-file) and shared by every instance"
    )]
    RequiredForPostgres,
    #[error(
        "no server secret: {path} does not exist. Pass the server's secret as KEYWARD_SECRET or --secret-file, \
         or start `keyward serve` once to create {path}; a key made with any other secret would never verify"
    )]
    Missing { path: PathBuf },
}

/// Whether `ServerSecret::load` may create a missing secret file. Only
/// `serve` does: a CLI command that minted its own secret would make keys the
/// server can never verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMissing {
    Create,
    Refuse,
}

impl From<SecretTooShort> for SecretError {
    fn from(error: SecretTooShort) -> Self {
        Self::TooShort(error.0)
    }
}

/// Reading the secret from the environment and files; the secret itself and
/// the keys derived from it live in `domain::secret`.
impl ServerSecret {
    pub fn from_base64(text: &str) -> Result<Self, SecretError> {
        Ok(Self::from_bytes(decode_base64(text).map_err(SecretError::NotBase64)?)?)
    }

    /// Resolves the secret: `KEYWARD_SECRET` if given, else the secret file
    /// (`--secret-file`, or `<database>.secret` beside a SQLite database,
    /// created with mode 0600 on first start when `if_missing` allows it).
    pub fn load(
        from_env: Option<&str>,
        secret_file: Option<&Path>,
        database: &DatabaseUrl,
        if_missing: IfMissing,
    ) -> Result<(Self, SecretSource), SecretError> {
        if let Some(text) = from_env.filter(|t| !t.trim().is_empty()) {
            return Ok((Self::from_base64(text)?, SecretSource::Environment));
        }
        let path = match (secret_file, database.sqlite_path()) {
            (Some(path), _) => path.to_path_buf(),
            (None, Some(db)) => default_secret_path(db),
            (None, None) => return Err(SecretError::RequiredForPostgres),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let bytes = decode_base64(&text).map_err(|source| SecretError::FileNotBase64 {
                    path: path.clone(),
                    source,
                })?;
                Ok((Self::from_bytes(bytes)?, SecretSource::File(path)))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && database.sqlite_path().is_some() => {
                if if_missing == IfMissing::Refuse {
                    return Err(SecretError::Missing { path });
                }
                let secret = Self::generate();
                write_new_secret_file(&path, &secret)?;
                Ok((secret, SecretSource::Created(path)))
            }
            Err(source) => Err(SecretError::Unreadable { path, source }),
        }
    }

    /// The 64-byte key that signs and encrypts cookies.
    pub fn cookie_key(&self) -> actix_web::cookie::Key {
        actix_web::cookie::Key::from(&self.cookie_key_bytes())
    }
}

/// Where the secret came from, for the start-up log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    Environment,
    File(PathBuf),
    Created(PathBuf),
}

/// `keyward.db` → `keyward.db.secret`, in the same folder.
pub fn default_secret_path(database: &Path) -> PathBuf {
    let mut name = database
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "keyward".into());
    name.push(".secret");
    database.with_file_name(name)
}

fn decode_base64(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let text = text.trim();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text))
}

fn write_new_secret_file(path: &Path, secret: &ServerSecret) -> Result<(), SecretError> {
    let uncreatable = |source| SecretError::Uncreatable {
        path: path.to_path_buf(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(uncreatable)?;
    writeln!(file, "{}", secret.to_base64()).map_err(uncreatable)?;
    file.sync_all().map_err(uncreatable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_secret_is_refused() {
        assert!(matches!(
            ServerSecret::from_base64("c2hvcnQ="),
            Err(SecretError::TooShort(5))
        ));
        assert!(matches!(
            ServerSecret::from_base64("not base64!"),
            Err(SecretError::NotBase64(_))
        ));
    }

    #[test]
    fn the_secret_file_is_created_once_with_owner_only_permissions() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = DatabaseUrl::parse(dir.path().join("k.db").to_str().expect("utf-8")).expect("valid");
        let (first, source) = ServerSecret::load(None, None, &db, IfMissing::Create).expect("created");
        assert!(matches!(source, SecretSource::Created(_)));
        let (second, source) = ServerSecret::load(None, None, &db, IfMissing::Refuse).expect("read back");
        assert!(matches!(source, SecretSource::File(_)));
        assert_eq!(first.derive(&[b"x"]), second.derive(&[b"x"]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("k.db.secret"))
                .expect("exists")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn postgres_requires_an_explicit_secret() {
        let db = DatabaseUrl::parse("postgres://localhost/db").expect("valid");
        assert!(matches!(
            ServerSecret::load(None, None, &db, IfMissing::Create),
            Err(SecretError::RequiredForPostgres)
        ));
    }

    #[test]
    fn only_serve_creates_a_missing_secret_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = DatabaseUrl::parse(dir.path().join("k.db").to_str().expect("utf-8")).expect("valid");
        let refused = ServerSecret::load(None, None, &db, IfMissing::Refuse);
        assert!(matches!(refused, Err(SecretError::Missing { .. })));
        assert!(!dir.path().join("k.db.secret").exists());
    }

    #[test]
    fn secrets_never_print() {
        assert_eq!(format!("{:?}", ServerSecret::generate()), "ServerSecret(<redacted>)");
    }
}
