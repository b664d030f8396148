//! What an idempotency key is and which answers are worth keeping. Pure: no actix, no sea-orm.

use std::time::Duration;

use sha2::{Digest, Sha256};

/// How long a key remembers its first answer; an older key is treated as new.
pub const KEY_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// A request still marked in progress after this long is taken to have died with its
/// process (a crash or a restart between claim and answer), so a retry may run it again.
/// Longer than any request may take: WeChat calls time out after seconds.
pub const ABANDONED_AFTER: Duration = Duration::from_secs(60);

/// The client's `Idempotency-Key`: 1..=64 visible ASCII characters (UUIDs fit easily).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &[u8]) -> Result<Self, &'static str> {
        let ok = (1..=64).contains(&raw.len()) && raw.iter().all(|b| (0x21..=0x7e).contains(b));
        if ok {
            // Visible ASCII is valid UTF-8.
            Ok(Self(String::from_utf8_lossy(raw).into_owned()))
        } else {
            Err("Idempotency-Key 应为 1 到 64 位可见 ASCII 字符")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Hex SHA-256 of what makes two requests "the same": method, path with query, and body.
/// The separators keep `("POST", "/a", "b")` apart from `("POST", "/ab", "")`.
pub fn fingerprint(method: &str, path_and_query: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    h.update(path_and_query.as_bytes());
    h.update([0]);
    h.update(body);
    hex::encode(h.finalize())
}

/// Whether an answer is the request's final word, to be replayed for every retry with the
/// same key. Not kept (the key is released and a retry runs again): server errors, which a
/// retry may well fix; 429 and 408, which say "try again later"; and 401, because a caller
/// who signs in again must be able to retry with the same key.
pub fn is_replayable(status: u16) -> bool {
    !(status >= 500 || matches!(status, 401 | 408 | 429))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_visible_ascii() {
        assert!(IdempotencyKey::parse(b"0194d2f0-7c1e-7b7a-9d4e-1b2c3d4e5f60").is_ok());
        assert!(IdempotencyKey::parse(&[b'k'; 64]).is_ok());
        assert!(IdempotencyKey::parse(&[b'k'; 65]).is_err());
        assert!(IdempotencyKey::parse(b"").is_err());
        assert!(IdempotencyKey::parse(b"with space").is_err());
        assert!(IdempotencyKey::parse("键".as_bytes()).is_err());
        assert!(IdempotencyKey::parse(b"tab\there").is_err());
    }

    #[test]
    fn fingerprints_tell_method_path_and_body_apart() {
        let a = fingerprint("POST", "/a", b"{}");
        assert_eq!(a.len(), 64);
        assert_eq!(a, fingerprint("POST", "/a", b"{}"));
        assert_ne!(a, fingerprint("POST", "/a", b"{ }"));
        assert_ne!(a, fingerprint("POST", "/b", b"{}"));
        assert_ne!(a, fingerprint("PUT", "/a", b"{}"));
        assert_ne!(
            fingerprint("POST", "/a", b"b"),
            fingerprint("POST", "/ab", b"")
        );
    }

    #[test]
    fn only_final_answers_are_replayed() {
        for kept in [200, 201, 204, 400, 403, 404, 409, 422] {
            assert!(is_replayable(kept), "{kept}");
        }
        for released in [401, 408, 429, 500, 502, 503] {
            assert!(!is_replayable(released), "{released}");
        }
    }
}
