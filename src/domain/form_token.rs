//! The one-time token of a backoffice form that shows a secret (create,
//! rotate): the form carries it, the change records it, and a second
//! submission of the same form (a reload, a double click) is recognised by it
//! instead of making a second key or secret.

use rand::RngExt as _;

/// 32 random alphanumeric characters. Not a credential: it only tells a
/// form's second submission from a new one, within one organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormToken(String);

impl FormToken {
    const LEN: usize = 32;

    pub fn generate() -> Self {
        Self(
            rand::rng()
                .sample_iter(rand::distr::Alphanumeric)
                .take(Self::LEN)
                .map(char::from)
                .collect(),
        )
    }

    /// A token as a form sent it back; `None` for anything else (a form
    /// without one, from a script, is an ordinary submission).
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == Self::LEN && raw.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::FormToken;

    #[test]
    fn only_tokens_of_the_generated_shape_are_read_back() {
        let token = FormToken::generate();
        assert_eq!(FormToken::parse(token.as_str()), Some(token.clone()));
        assert_ne!(FormToken::generate(), token);
        for bad in ["", "short", &"a".repeat(33), &format!("{}!", &"a".repeat(31))] {
            assert_eq!(FormToken::parse(bad), None, "{bad}");
        }
    }
}
