//! Two-factor authentication: TOTP secrets and codes (RFC 6238), recovery
//! codes, and how both are kept at rest — the secret encrypted, a recovery
//! code only as a keyed digest, under keys derived from the server secret.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;

use super::ValidationError;
use super::role::Role;
use super::secret::ServerSecret;

/// Seconds in one time step (RFC 6238's recommended 30).
pub const STEP_SECONDS: u64 = 30;
/// Steps of clock skew accepted either side of the current one: a code from
/// the step before or after still works, one two steps away does not.
pub const SKEW_STEPS: u16 = 1;
/// Digits in an authentication code.
pub const DIGITS: usize = 6;
/// The issuer authenticator apps show beside the account.
pub const ISSUER: &str = "Keyward";
/// Recovery codes a user gets at once.
pub const RECOVERY_CODE_COUNT: usize = 10;

/// Whether a user must set up two-factor authentication before anything
/// else: their organization requires it of System Administrators, they are
/// one, and theirs is off.
pub fn must_set_up(role: Role, organization_requires: bool, enabled: bool) -> bool {
    organization_requires && role == Role::SystemAdministrator && !enabled
}

/// The time step an instant (Unix seconds) falls in.
pub fn step_of(unix_seconds: u64) -> u64 {
    unix_seconds / STEP_SECONDS
}

/// A TOTP shared secret: 160 random bits, as RFC 4226 recommends. Never
/// printed; shown to its user once, while they set it up.
#[derive(Clone)]
pub struct TotpSecret([u8; TotpSecret::LEN]);

impl TotpSecret {
    pub const LEN: usize = 20;

    pub fn generate() -> Self {
        let mut bytes = [0u8; Self::LEN];
        rand::fill(&mut bytes[..]);
        Self(bytes)
    }

    /// The secret in base32 (RFC 4648, no padding), as apps take it.
    pub fn base32(&self) -> String {
        totp_rs::Secret::from(self.0).to_base32()
    }

    /// The base32 secret in groups of four, for typing it in by hand
    /// (authenticator apps ignore the spaces).
    pub fn grouped(&self) -> String {
        let base32 = self.base32();
        let groups: Vec<&str> = base32
            .as_bytes()
            .chunks(4)
            .filter_map(|chunk| std::str::from_utf8(chunk).ok())
            .collect();
        groups.join(" ")
    }

    /// The `otpauth://` URI a QR code carries: issuer Keyward, `account` (the
    /// user's email), SHA-1, 6 digits, 30 seconds.
    pub fn otpauth_uri(&self, account: &str) -> String {
        // The Key URI format reserves `:` between issuer and account.
        let account = account.replace(':', "");
        let totp = totp_rs::Builder::new()
            .with_algorithm(totp_rs::Algorithm::SHA1)
            .with_digits(DIGITS as u8)
            .with_step_duration(STEP_SECONDS)
            .with_secret(self.0)
            .with_issuer(Some(ISSUER))
            .with_account_name(account.as_str())
            .build_noncompliant();
        totp.to_url()
            .unwrap_or_else(|_| format!("otpauth://totp/{ISSUER}?secret={}&issuer={ISSUER}", self.base32()))
    }

    /// The code for the step `unix_seconds` falls in.
    pub fn code_at(&self, unix_seconds: u64) -> String {
        totp(&self.0, DIGITS as u8).generate(unix_seconds).to_string()
    }

    /// The step, within [`SKEW_STEPS`] of `unix_seconds`'s, whose code is
    /// `code`; `None` if there is none. Whether that step was used already is
    /// the caller's to check (RFC 6238 §5.2: a code is accepted once).
    pub fn matching_step(&self, code: &AuthenticationCode, unix_seconds: u64) -> Option<u64> {
        totp(&self.0, DIGITS as u8).check(&code.0, unix_seconds)
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// RFC 6238 with HMAC-SHA-1, the algorithm every authenticator app speaks.
fn totp(secret: &[u8], digits: u8) -> totp_rs::Totp {
    // The parameters are RFC-compliant (a test checks `build` accepts them);
    // `build_noncompliant` only skips checking them again on every code.
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(digits)
        .with_skew(SKEW_STEPS)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret.to_vec())
        .build_noncompliant()
}

/// A six-digit code as typed: white space removed, nothing else forgiven.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthenticationCode(String);

impl AuthenticationCode {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let code: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if code.is_empty() {
            return Err(ValidationError::new(
                "Enter the 6-digit code your authenticator app shows.",
            ));
        }
        if !code.chars().all(|c| c.is_ascii_digit()) {
            return Err(ValidationError::new(
                "The code is made of digits only: enter the 6 digits your authenticator app shows.",
            ));
        }
        let length = code.chars().count();
        if length != DIGITS {
            return Err(ValidationError::new(format!(
                "The code has {DIGITS} digits; that was {length}. Enter the code your authenticator app shows now."
            )));
        }
        Ok(Self(code))
    }
}

impl fmt::Debug for AuthenticationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthenticationCode(<redacted>)")
    }
}

/// Crockford's base32 alphabet: no `i`, `l`, `o` or `u`, so a code read
/// aloud or from paper is not mistaken.
const RECOVERY_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A single-use recovery code: 12 characters of base32, 60 random bits,
/// shown as `xxxx-xxxx-xxxx`. Stored only as a keyed digest.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl RecoveryCode {
    pub const LEN: usize = 12;

    pub fn generate() -> Self {
        let mut bytes = [0u8; 8];
        rand::fill(&mut bytes[..]);
        let mut bits = u64::from_le_bytes(bytes);
        let mut code = String::with_capacity(Self::LEN);
        for _ in 0..Self::LEN {
            code.push(char::from(RECOVERY_ALPHABET[(bits & 31) as usize]));
            bits >>= 5;
        }
        Self(code)
    }

    /// A new set of [`RECOVERY_CODE_COUNT`] distinct codes.
    pub fn generate_set() -> Vec<Self> {
        let mut codes: Vec<Self> = Vec::with_capacity(RECOVERY_CODE_COUNT);
        while codes.len() < RECOVERY_CODE_COUNT {
            let code = Self::generate();
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        codes
    }

    /// A code as typed: case, white space and hyphens do not matter, and
    /// `o`, `i` and `l` are read as the digits they look like.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let code: String = raw
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| match c.to_ascii_lowercase() {
                'o' => '0',
                'i' | 'l' => '1',
                other => other,
            })
            .collect();
        if code.is_empty() {
            return Err(ValidationError::new("Enter one of your recovery codes."));
        }
        if code.chars().count() != Self::LEN || !code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)) {
            return Err(ValidationError::new(
                "That is not a recovery code: each one has 12 letters and digits in three groups of four, as they were shown when you set up two-factor authentication.",
            ));
        }
        Ok(Self(code))
    }

    /// The code as people read it: `xxxx-xxxx-xxxx`.
    pub fn expose(&self) -> String {
        format!("{}-{}-{}", &self.0[0..4], &self.0[4..8], &self.0[8..12])
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

/// What a user typed to prove they hold their second factor: a code from
/// their app or one of their recovery codes (turning 2FA off and making new
/// recovery codes take either, so a user who lost their phone can do both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondFactor {
    Code(AuthenticationCode),
    Recovery(RecoveryCode),
}

impl SecondFactor {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let compact: String = raw.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if compact.is_empty() {
            return Err(ValidationError::new(
                "Enter the 6-digit code your authenticator app shows, or one of your recovery codes.",
            ));
        }
        if compact.chars().count() == RecoveryCode::LEN
            && let Ok(code) = RecoveryCode::parse(raw)
        {
            return Ok(Self::Recovery(code));
        }
        AuthenticationCode::parse(raw)
            .map(Self::Code)
            .map_err(|error| ValidationError::new(format!("{error} (A recovery code works here too.)")))
    }

    /// How the audit log names this kind of factor.
    pub fn kind(&self) -> FactorKind {
        match self {
            Self::Code(_) => FactorKind::AuthenticationCode,
            Self::Recovery(_) => FactorKind::RecoveryCode,
        }
    }
}

/// Which kind of second factor was used or tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorKind {
    AuthenticationCode,
    RecoveryCode,
}

impl FactorKind {
    /// The stored spelling (audit details).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AuthenticationCode => "authentication_code",
            Self::RecoveryCode => "recovery_code",
        }
    }
}

/// A stored secret that cannot be opened: another deployment's, another
/// user's (copied row), or damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the stored two-factor secret cannot be decrypted with this server secret for this user")]
pub struct SealBroken;

/// The keys two-factor data is kept under, derived from the server secret.
#[derive(Clone)]
pub struct TwoFactorKeys {
    encryption: [u8; 32],
    /// Recovery code digests are derived from it like every other key.
    server_secret: ServerSecret,
}

/// Prefix of a sealed secret: the format and its key's label, so a later
/// format can live beside this one.
const SEALED_V1: &str = "v1.";
const NONCE_LEN: usize = 12;
// NEVER change these labels: every stored TOTP secret and recovery code
// digest depends on them, and would stop opening or matching.
const ENCRYPTION_LABEL: &[u8] = b"keyward totp secret encryption v1";
const RECOVERY_LABEL: &[u8] = b"keyward recovery code digest v1\0";

impl TwoFactorKeys {
    pub fn derive(secret: &ServerSecret) -> Self {
        Self {
            encryption: secret.derive(&[ENCRYPTION_LABEL]),
            server_secret: secret.clone(),
        }
    }

    /// What a sealed secret is bound to: its user. A row copied to another
    /// user does not open for them.
    fn associated_data(user_id: &str) -> Vec<u8> {
        [b"keyward totp secret\0".as_slice(), user_id.as_bytes()].concat()
    }

    /// `secret` encrypted (AES-256-GCM, a random nonce each time) for
    /// `user_id`, as text for the database.
    pub fn seal(&self, user_id: &str, secret: &TotpSecret) -> Result<String, SealBroken> {
        let cipher = Aes256Gcm::new(&self.encryption.into());
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce[..]);
        let aad = Self::associated_data(user_id);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &secret.0,
                    aad: &aad,
                },
            )
            .map_err(|_| SealBroken)?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!(
            "{SEALED_V1}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    /// The secret `seal` made for `user_id`.
    pub fn open(&self, user_id: &str, sealed: &str) -> Result<TotpSecret, SealBroken> {
        let encoded = sealed.strip_prefix(SEALED_V1).ok_or(SealBroken)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| SealBroken)?;
        if bytes.len() <= NONCE_LEN {
            return Err(SealBroken);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let cipher = Aes256Gcm::new(&self.encryption.into());
        let aad = Self::associated_data(user_id);
        let plain = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| SealBroken)?;
        let secret: [u8; TotpSecret::LEN] = plain.try_into().map_err(|_| SealBroken)?;
        Ok(TotpSecret(secret))
    }

    /// The stored form of a recovery code: hex `HMAC-SHA-256(server secret,
    /// label ‖ user id ‖ 0 ‖ code)`. A code has 60 random bits, too many to
    /// guess even with the digests; the key means a database copy alone
    /// cannot even try.
    pub fn recovery_digest(&self, user_id: &str, code: &RecoveryCode) -> String {
        hex::encode(
            self.server_secret
                .derive(&[RECOVERY_LABEL, user_id.as_bytes(), b"\0", code.0.as_bytes()]),
        )
    }
}

impl fmt::Debug for TwoFactorKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TwoFactorKeys(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1: the 20-byte ASCII secret, 8 digits.
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, expected) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(totp(secret, 8).generate(time).to_string(), expected, "T = {time}");
        }
        // The six-digit codes users get are the same computation's last six.
        let six = TotpSecret(*secret);
        assert_eq!(six.code_at(59), "287082");
        assert_eq!(six.code_at(1_111_111_109), "081804");
    }

    #[test]
    fn the_parameters_are_the_ones_the_rfc_allows() {
        let secret = TotpSecret::generate();
        totp_rs::Builder::new()
            .with_algorithm(totp_rs::Algorithm::SHA1)
            .with_digits(DIGITS as u8)
            .with_skew(SKEW_STEPS)
            .with_step_duration(STEP_SECONDS)
            .with_secret(secret.0.to_vec())
            .build()
            .expect("RFC-compliant parameters");
    }

    #[test]
    fn a_code_matches_within_one_step_either_side_and_no_further() {
        let secret = TotpSecret(*b"12345678901234567890");
        let now = 1_111_111_111;
        let step = step_of(now);
        for offset in [-1i64, 0, 1] {
            let at = now.saturating_add_signed(offset * STEP_SECONDS as i64);
            let code = AuthenticationCode::parse(&secret.code_at(at)).expect("six digits");
            assert_eq!(
                secret.matching_step(&code, now),
                Some(step.saturating_add_signed(offset)),
                "{offset}"
            );
        }
        for offset in [-2i64, 2] {
            let at = now.saturating_add_signed(offset * STEP_SECONDS as i64);
            let code = AuthenticationCode::parse(&secret.code_at(at)).expect("six digits");
            assert_eq!(secret.matching_step(&code, now), None, "{offset}");
        }
    }

    #[test]
    fn codes_are_six_digits_and_spaces_do_not_matter() {
        assert!(AuthenticationCode::parse(" 123 456 ").is_ok());
        for (raw, says) in [
            ("", "Enter the 6-digit code"),
            ("12345a", "digits only"),
            ("abcdef", "digits only"),
            ("12345", "that was 5"),
            ("1234567", "that was 7"),
            ("123-456", "digits only"),
        ] {
            let error = AuthenticationCode::parse(raw).expect_err(raw).to_string();
            assert!(error.contains(says), "{raw:?}: {error}");
        }
    }

    #[test]
    fn recovery_codes_have_sixty_bits_and_read_back_however_typed() {
        let codes = RecoveryCode::generate_set();
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        for code in &codes {
            let shown = code.expose();
            assert_eq!(shown.len(), 14, "{shown}");
            assert_eq!(RecoveryCode::parse(&shown).as_ref(), Ok(code));
            assert_eq!(
                RecoveryCode::parse(&shown.to_uppercase().replace('-', " ")).as_ref(),
                Ok(code)
            );
        }
        assert_eq!(RECOVERY_ALPHABET.len(), 32, "5 bits a character, 12 characters");
        assert_eq!(
            RecoveryCode::parse("0OIL-1111-abcd").map(|c| c.expose()),
            Ok("0011-1111-abcd".to_owned())
        );
        assert!(RecoveryCode::parse("").is_err());
        assert!(RecoveryCode::parse("abcd-efgh-ijk").is_err());
        assert!(RecoveryCode::parse("abcd-efgh-ijku").is_err(), "no u in the alphabet");
        assert_eq!(format!("{:?}", codes[0]), "RecoveryCode(<redacted>)");
    }

    #[test]
    fn the_account_field_takes_a_code_or_a_recovery_code() {
        assert!(matches!(SecondFactor::parse("123 456"), Ok(SecondFactor::Code(_))));
        assert!(matches!(
            SecondFactor::parse("abcd-efgh-jkmn"),
            Ok(SecondFactor::Recovery(_))
        ));
        assert!(SecondFactor::parse("").is_err());
        assert!(SecondFactor::parse("12345").is_err());
        assert!(SecondFactor::parse("abc").is_err());
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_user_and_server_secret() {
        let keys = TwoFactorKeys::derive(&ServerSecret::generate());
        let secret = TotpSecret::generate();
        let sealed = keys.seal("user-1", &secret).expect("sealed");
        assert!(!sealed.contains(&secret.base32()));
        assert_eq!(keys.open("user-1", &sealed).map(|s| s.0), Ok(secret.0));
        assert_ne!(
            keys.seal("user-1", &secret).expect("sealed"),
            sealed,
            "a fresh nonce each time"
        );
        assert_eq!(keys.open("user-2", &sealed).map(|s| s.0), Err(SealBroken));
        let other = TwoFactorKeys::derive(&ServerSecret::generate());
        assert_eq!(other.open("user-1", &sealed).map(|s| s.0), Err(SealBroken));
        assert_eq!(keys.open("user-1", "v1.AAAA").map(|s| s.0), Err(SealBroken));
        assert_eq!(keys.open("user-1", "garbage").map(|s| s.0), Err(SealBroken));
    }

    #[test]
    fn recovery_digests_depend_on_the_user_and_the_key() {
        let keys = TwoFactorKeys::derive(&ServerSecret::generate());
        let code = RecoveryCode::generate();
        let digest = keys.recovery_digest("user-1", &code);
        assert_eq!(digest, keys.recovery_digest("user-1", &code));
        assert_ne!(digest, keys.recovery_digest("user-2", &code));
        let other = TwoFactorKeys::derive(&ServerSecret::generate());
        assert_ne!(digest, other.recovery_digest("user-1", &code));
    }

    #[test]
    fn the_secret_is_shown_in_groups_and_in_the_uri() {
        let secret = TotpSecret(*b"12345678901234567890");
        assert_eq!(secret.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(secret.grouped(), "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ");
        assert_eq!(
            secret.otpauth_uri("ada@acme.test"),
            "otpauth://totp/Keyward:ada%40acme.test?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Keyward"
        );
        assert_eq!(format!("{secret:?}"), "TotpSecret(<redacted>)");
    }

    #[test]
    fn only_system_administrators_of_a_requiring_organization_without_it_must_set_it_up() {
        assert!(must_set_up(Role::SystemAdministrator, true, false));
        assert!(!must_set_up(Role::SystemAdministrator, true, true));
        assert!(!must_set_up(Role::SystemAdministrator, false, false));
        assert!(!must_set_up(Role::Member, true, false));
    }
}
