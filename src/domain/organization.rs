//! An organization's name and its URL-safe slug.

use std::fmt;

use super::ValidationError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgName(String);

impl OrgName {
    pub const MAX_LEN: usize = 100;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(ValidationError::new("Enter the organization's name."));
        }
        if name.chars().count() > Self::MAX_LEN {
            return Err(ValidationError::new(format!(
                "The organization's name is too long: at most {} characters.",
                Self::MAX_LEN
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(ValidationError::new("The name cannot contain control characters."));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lower-case letters, digits and single hyphens; used by the CLI (`--org`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgSlug(String);

impl OrgSlug {
    pub const MAX_LEN: usize = 63;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let slug = raw.trim();
        let valid_chars = slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if slug.is_empty()
            || slug.len() > Self::MAX_LEN
            || !valid_chars
            || slug.starts_with('-')
            || slug.ends_with('-')
            || slug.contains("--")
        {
            return Err(ValidationError::new(format!(
                "\"{slug}\" is not a valid organization slug: use 1–{} lower-case letters, digits and single hyphens, e.g. acme-aviation.",
                Self::MAX_LEN
            )));
        }
        Ok(Self(slug.to_owned()))
    }

    /// Derives a slug from a name: "Acme Aviation Ltd." → "acme-aviation-ltd".
    pub fn from_name(name: &OrgName) -> Self {
        let mut slug = String::new();
        for c in name.as_str().chars().flat_map(char::to_lowercase) {
            if c.is_ascii_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let mut slug: String = slug.trim_end_matches('-').chars().take(Self::MAX_LEN).collect();
        while slug.ends_with('-') {
            slug.pop();
        }
        if slug.is_empty() {
            slug.push_str("org");
        }
        Self(slug)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_derive_from_names() {
        let name = OrgName::parse("Acme Aviation Ltd.").expect("valid");
        assert_eq!(OrgSlug::from_name(&name).as_str(), "acme-aviation-ltd");
        let symbols = OrgName::parse("***").expect("valid");
        assert_eq!(OrgSlug::from_name(&symbols).as_str(), "org");
    }

    #[test]
    fn bad_slugs_are_refused() {
        for bad in ["", "Acme", "a--b", "-a", "a-", "a b"] {
            assert!(OrgSlug::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(OrgSlug::parse("acme-2").is_ok());
    }
}
