//! The URL browsers use for the backoffice, parsed once from configuration.

use std::fmt;

/// The URL browsers use for the backoffice. Only its origin (scheme, host,
/// port) is used: a form post must come from exactly that origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(url::Url);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the public URL \"{given}\" {problem}; give the address browsers use, such as https://keys.example.com")]
pub struct PublicUrlError {
    given: String,
    problem: &'static str,
}

impl PublicUrl {
    /// The origin form posts must name.
    pub fn origin(&self) -> url::Origin {
        self.0.origin()
    }
}

impl std::str::FromStr for PublicUrl {
    type Err = PublicUrlError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let refuse = |problem| PublicUrlError {
            given: text.to_owned(),
            problem,
        };
        let url = url::Url::parse(text.trim()).map_err(|_| refuse("is not a URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(refuse("must start with https:// or http://"));
        }
        if url.host().is_none() {
            return Err(refuse("has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("must not hold a user name or password"));
        }
        Ok(Self(url))
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_are_http_origins() {
        let url: PublicUrl = "https://keys.example:8443/backoffice".parse().expect("valid");
        assert_eq!(url.origin().ascii_serialization(), "https://keys.example:8443");
        for bad in [
            "keys.example",
            "ftp://keys.example",
            "https://u:p@keys.example",
            "https://",
            "mailto:a@b.c",
        ] {
            assert!(bad.parse::<PublicUrl>().is_err(), "{bad}");
        }
        let error = "keys.example".parse::<PublicUrl>().expect_err("no scheme");
        assert!(error.to_string().contains("https://keys.example.com"), "{error}");
    }
}
