//! The API key parser against the documented format: `ask_` + 58 base62
//! characters + 6 base62 characters of CRC32 over everything before them.
//! A parsed key prints back to itself, parses again to the same key with
//! the same key id, and never shows its secret part in `Debug`.

#![no_main]

use keyward::domain::token::{
    ApiKeyToken, CHECKSUM_LEN, KEY_ID_LEN, PREFIX, RANDOM_LEN, TOKEN_LEN, TokenError, key_id_if_key_shaped,
};
use libfuzzer_sys::fuzz_target;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The checksum as the README writes it, computed here independently.
fn documented_checksum(body: &str) -> String {
    let mut value = crc32fast::hash(body.as_bytes());
    let mut out = [0u8; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    String::from_utf8(out.to_vec()).expect("ascii")
}

/// Whether `raw` is a key by the documented format.
fn documented_key(raw: &str) -> bool {
    raw.len() == TOKEN_LEN
        && raw.starts_with(PREFIX)
        && raw[PREFIX.len()..].bytes().all(|b| b.is_ascii_alphanumeric())
        && documented_checksum(&raw[..TOKEN_LEN - CHECKSUM_LEN]) == raw[TOKEN_LEN - CHECKSUM_LEN..]
}

fn check(raw: &str) {
    let parsed = ApiKeyToken::parse(raw);
    assert_eq!(parsed.is_ok(), documented_key(raw), "{raw:?}: {parsed:?}");
    match parsed {
        Ok(token) => {
            assert_eq!(token.expose(), raw, "a key prints back to itself");
            let again = ApiKeyToken::parse(token.expose()).expect("a parsed key parses again");
            assert_eq!(again, token);
            assert_eq!(again.key_id(), token.key_id());
            assert_eq!(token.key_id().as_str(), &raw[PREFIX.len()..PREFIX.len() + KEY_ID_LEN]);
            assert_eq!(key_id_if_key_shaped(raw), Some(token.key_id()), "a key is key-shaped");
            let debug = format!("{token:?}");
            assert!(
                !debug.contains(&raw[PREFIX.len() + KEY_ID_LEN..]),
                "Debug shows the secret: {debug}"
            );
        }
        Err(TokenError::Empty) => assert!(raw.is_empty()),
        Err(_) => assert!(!raw.is_empty()),
    }
    if let Some(id) = key_id_if_key_shaped(raw) {
        assert!(raw.starts_with(&id.hint()), "{raw:?} is cut to {id}");
        assert!(raw.len() > PREFIX.len() + KEY_ID_LEN, "a key id alone is not secret");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    check(raw);
    // Random text almost never carries a right checksum: also try the key
    // the input spells, with the checksum it needs, and that key with its
    // checksum changed.
    let random: String = data
        .iter()
        .take(RANDOM_LEN)
        .map(|&b| char::from(BASE62[usize::from(b) % BASE62.len()]))
        .collect();
    if random.len() == RANDOM_LEN {
        let body = format!("{PREFIX}{random}");
        let key = format!("{body}{}", documented_checksum(&body));
        assert!(ApiKeyToken::parse(&key).is_ok(), "{key} is a key");
        check(&key);
        let last = data.get(RANDOM_LEN).copied().unwrap_or(0);
        let mut mistyped = key.clone().into_bytes();
        mistyped[TOKEN_LEN - 1] = BASE62[usize::from(last) % BASE62.len()];
        check(std::str::from_utf8(&mistyped).expect("ascii"));
    }
});
