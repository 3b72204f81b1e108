//! Two-factor authentication as a test (and a person with an authenticator
//! app) sees it: RFC 6238 computed here, from the setup key the page shows,
//! with HMAC-SHA-1 of its own (not through the code under test), and the
//! parts of the two-factor pages the tests read.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{KeyInit as _, Mac as _};

use super::TestApp;

/// Seconds in a time step (RFC 6238's default, which Keyward uses).
pub const STEP: u64 = 30;

/// RFC 4648 base32 (no padding; spaces ignored), as the setup key is shown.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits: u64 = 0;
    let mut count = 0;
    let mut bytes = Vec::new();
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let value = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .unwrap_or_else(|| panic!("{:?} is not base32", c as char));
        bits = (bits << 5) | value as u64;
        count += 5;
        if count >= 8 {
            count -= 8;
            bytes.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    bytes
}

/// The 6-digit code of `step` for the base32 secret `key` (RFC 4226
/// dynamic truncation of HMAC-SHA-1 over the big-endian step).
pub fn code_of_step(key: &str, step: u64) -> String {
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&base32_decode(key)).expect("any key length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let binary = u32::from_be_bytes([
        digest[offset],
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]) & 0x7fff_ffff;
    format!("{:06}", binary % 1_000_000)
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// The current step, once at least 8 seconds of it are left (waiting for
/// the next one if not), so a code computed now still belongs to the step
/// it was computed for when the server checks it.
pub async fn fresh_step() -> u64 {
    let left = STEP - unix_now() % STEP;
    if left < 8 {
        tokio::time::sleep(Duration::from_secs(left) + Duration::from_millis(300)).await;
    }
    unix_now() / STEP
}

/// The code `offset` steps from the current one (after `fresh_step`).
pub async fn code_at_offset(key: &str, offset: i64) -> String {
    let step = fresh_step().await;
    code_of_step(key, step.checked_add_signed(offset).expect("a step"))
}

/// Six digits that are the code of none of the steps around now.
pub async fn wrong_code(key: &str) -> String {
    let step = fresh_step().await;
    let near: Vec<String> = (step - 2..=step + 2).map(|s| code_of_step(key, s)).collect();
    (0..)
        .map(|n: u32| format!("{:06}", (n * 137_921) % 1_000_000))
        .find(|candidate| !near.contains(candidate))
        .expect("a wrong code")
}

/// The value of the element with `id` (an input's `value`, a textarea's text).
fn value_of(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the page:\n{html}"));
    let tag_end = html[at..].find('>').expect("the tag ends") + at;
    let tag = &html[at..tag_end];
    if let Some(value_at) = tag.find("value=\"") {
        let start = value_at + "value=\"".len();
        let end = tag[start..].find('"').expect("the value ends") + start;
        return tag[start..end].to_owned();
    }
    let end = html[tag_end..].find("</").expect("the element ends") + tag_end;
    html[tag_end + 1..end].to_owned()
}

/// The setup key (base32, grouped) the setup page shows.
pub fn setup_key_in(html: &str) -> String {
    value_of(html, "setup-key")
}

/// The hidden id of the setup a page shows.
pub fn setup_id_in(html: &str) -> String {
    let marker = "name=\"setup_id\" value=\"";
    let start = html.find(marker).expect("a setup id") + marker.len();
    let end = html[start..].find('"').expect("the id ends") + start;
    html[start..end].to_owned()
}

/// The recovery codes a page shows, once.
pub fn recovery_codes_in(html: &str) -> Vec<String> {
    value_of(html, "recovery-codes")
        .lines()
        .map(|line| line.trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect()
}

/// What setting up two-factor authentication gave a user.
pub struct Enrolled {
    /// The setup key, as shown (grouped base32).
    pub key: String,
    pub recovery_codes: Vec<String>,
}

pub const SETUP: &str = "/backoffice/account/two-factor/setup";

impl TestApp {
    /// Sets up two-factor authentication for whoever `client` is signed in
    /// as, through the pages, with the code of the current step.
    pub async fn enrol(&self, client: &reqwest::Client) -> Enrolled {
        let page = client.get(self.url(SETUP)).send().await.expect("request");
        assert_eq!(page.status().as_u16(), 200, "the setup page opens");
        let html = page.text().await.expect("body");
        let key = setup_key_in(&html);
        let code = code_at_offset(&key, 0).await;
        let confirmed = self.confirm_setup(client, &html, &code).await;
        assert_eq!(confirmed.status().as_u16(), 200, "the first code turns it on");
        let recovery_codes = recovery_codes_in(&confirmed.text().await.expect("body"));
        assert_eq!(recovery_codes.len(), 10);
        Enrolled { key, recovery_codes }
    }

    /// Sends the form of the setup page `html` with `code`.
    pub async fn confirm_setup(&self, client: &reqwest::Client, html: &str, code: &str) -> reqwest::Response {
        let csrf = super::csrf_token_in(html).expect("a CSRF token");
        self.post_form(
            client,
            SETUP,
            &[("csrf_token", &csrf), ("setup_id", &setup_id_in(html)), ("code", code)],
        )
        .await
    }

    /// The password step of signing in: for a user with two-factor
    /// authentication, a 303 to the code step.
    pub async fn sign_in_to_second_step(&self, client: &reqwest::Client, email: &str) {
        let response = self.sign_in_with(client, email, super::PASSWORD).await;
        assert_eq!(response.status().as_u16(), 303, "the password is right");
        assert_eq!(response.headers()["location"], "/login/two-factor");
    }

    /// Sends the code step's form: `field` is `code` or `recovery_code`.
    pub async fn send_second_factor(&self, client: &reqwest::Client, field: &str, value: &str) -> reqwest::Response {
        let csrf = self.csrf_token(client, "/login/two-factor").await;
        self.post_form(client, "/login/two-factor", &[("csrf_token", &csrf), (field, value)])
            .await
    }

    /// Signs `email` in with their password and the next step's code of
    /// `key` (one step of skew): the current step's was just used if the
    /// user set up two-factor authentication a moment ago.
    pub async fn sign_in_with_code(&self, client: &reqwest::Client, email: &str, key: &str) -> reqwest::Response {
        self.sign_in_to_second_step(client, email).await;
        let code = code_at_offset(key, 1).await;
        self.send_second_factor(client, "code", &code).await
    }
}

mod tests {
    use super::{base32_decode, code_of_step};

    crate::sync_tests!(the_tests_own_totp_matches_the_rfc_vectors);

    /// RFC 6238 Appendix B (SHA-1), cut to six digits.
    fn the_tests_own_totp_matches_the_rfc_vectors() {
        assert_eq!(
            base32_decode("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
            b"12345678901234567890"
        );
        let key = "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ";
        for (time, expected) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(code_of_step(key, time / 30), expected, "T = {time}");
        }
    }
}
