//! Access tokens (HS256 JWT, short-lived) and refresh tokens (opaque, stored hashed).

use std::{collections::HashMap, sync::Mutex};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Role;
use crate::error::ApiError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: Uuid,
    pub role: Role,
    /// Code of the staff member's org unit; absent for residents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org_unit: Option<String>,
    pub exp: i64,
    pub iat: i64,
    pub jti: Uuid,
}

/// Seconds a token is still taken after its `exp` (clocks of instances differ a little).
const LEEWAY_SECS: i64 = 30;

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The first part of every token `issue` signs (`{"typ":"JWT","alg":"HS256"}`, encoded).
    header: String,
    /// For tokens with another header; their expiry is checked apart, as for all.
    validation: Validation,
    access_ttl_secs: i64,
    verified: Verified,
}

/// Tokens whose signature and claims this process has verified, by their exact text: a
/// resident's phone sends the same token with every request for two hours, and verifying
/// it (HMAC, base64, two JSON parses) was the largest part of serving a cached
/// questionnaire. Only the expiry still has to be checked on each use. Two generations of
/// at most `VERIFIED_PER_GENERATION` tokens each: when the newer fills, the older is dropped
/// whole, so memory stays bounded (about 3 MB) without keeping an order of use.
/// Hashed with foldhash: SipHash over a token's 250 bytes cost more than the rest of the
/// lookup, and only tokens this service signed are ever stored.
#[derive(Default)]
struct Verified(Mutex<[HashMap<Box<str>, Claims, foldhash::fast::RandomState>; 2]>);

const VERIFIED_PER_GENERATION: usize = 4096;

impl Verified {
    fn get(&self, token: &str) -> Option<Claims> {
        let mut generations = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let [newer, older] = &mut *generations;
        if let Some(claims) = newer.get(token) {
            return Some(claims.clone());
        }
        // Still in use: moved to the newer generation so the next turn does not drop it.
        let (token, claims) = older.remove_entry(token)?;
        let found = claims.clone();
        newer.insert(token, claims);
        Some(found)
    }

    fn keep(&self, token: &str, claims: &Claims) {
        let mut generations = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if generations[0].len() >= VERIFIED_PER_GENERATION {
            // The older's table, emptied, is the newer's: a generation is not grown again
            // from nothing, rehashing as it fills, while thousands of first requests arrive.
            generations.swap(0, 1);
            generations[0].clear();
        }
        generations[0].insert(token.into(), claims.clone());
    }
}

fn expired() -> ApiError {
    ApiError::unauthorized("token_expired", "登录已过期，请重新登录")
}

/// A bearer token that is not one of ours: malformed, altered, or signed otherwise.
pub fn invalid() -> ApiError {
    ApiError::unauthorized("token_invalid", "登录凭证无效，请重新登录")
}

impl TokenKeys {
    pub fn new(secret: &[u8], access_ttl_secs: u64) -> Self {
        let encoding = EncodingKey::from_secret(secret);
        // As `jsonwebtoken` encodes it for `issue`: a header is encoded the same whatever
        // the claims.
        let header = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &(), &encoding)
            .ok()
            .and_then(|token| token.split('.').next().map(str::to_owned))
            .unwrap_or_default();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        Self {
            encoding,
            decoding: DecodingKey::from_secret(secret),
            header,
            validation,
            access_ttl_secs: i64::try_from(access_ttl_secs).unwrap_or(7200),
            verified: Verified::default(),
        }
    }

    pub fn access_ttl_secs(&self) -> i64 {
        self.access_ttl_secs
    }

    pub fn issue(
        &self,
        sub: Uuid,
        role: Role,
        org_unit: Option<String>,
    ) -> Result<String, ApiError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub,
            role,
            org_unit,
            iat: now,
            exp: now + self.access_ttl_secs,
            jti: Uuid::now_v7(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        self.verify_at(token, Utc::now().timestamp())
    }

    /// `verify` as of `now` (unix seconds).
    fn verify_at(&self, token: &str, now: i64) -> Result<Claims, ApiError> {
        let claims = match self.verified.get(token) {
            Some(claims) => claims,
            None => {
                let claims = self.verify_signed(token).ok_or_else(invalid)?;
                self.verified.keep(token, &claims);
                claims
            }
        };
        // The test `jsonwebtoken::decode` applies, with its leeway.
        if claims.exp < now - LEEWAY_SECS {
            return Err(expired());
        }
        Ok(claims)
    }

    /// The claims of a validly signed token, whatever its expiry; `None` for any other text.
    /// A token with the header `issue` writes (every token this service signs) is checked
    /// here, not by `jsonwebtoken::decode`, which parsed the header twice and the claims
    /// twice: a resident's first request to an instance (every request of a release minute)
    /// paid for that. The signature is still `jsonwebtoken`'s check, in constant time, before
    /// the claims are read. Any other header goes to `decode` with the same `Validation`.
    fn verify_signed(&self, token: &str) -> Option<Claims> {
        let (message, signature) = token.rsplit_once('.')?;
        let (header, payload) = message.split_once('.')?;
        if header != self.header {
            return jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
                .ok()
                .map(|data| data.claims);
        }
        let signed = jsonwebtoken::crypto::verify(
            signature,
            message.as_bytes(),
            &self.decoding,
            Algorithm::HS256,
        );
        if !signed.ok()? {
            return None;
        }
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }
}

/// A fresh refresh token: 256 random bits, URL-safe.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database keeps of a refresh token.
pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let ours = TokenKeys::new(b"0123456789abcdef0123456789abcdef", 60);
        let theirs = TokenKeys::new(b"ffffffffffffffffffffffffffffffff", 60);
        let token = theirs
            .issue(Uuid::now_v7(), Role::Admin, None)
            .expect("issue");
        assert_eq!(ours.verify(&token).unwrap_err().code(), "token_invalid");
    }

    fn keys() -> TokenKeys {
        TokenKeys::new(b"0123456789abcdef0123456789abcdef", 60)
    }

    fn resident_token(keys: &TokenKeys) -> String {
        keys.issue(Uuid::now_v7(), Role::Resident, None)
            .expect("issue")
    }

    #[test]
    fn a_token_verified_before_still_expires_and_its_altered_copies_are_refused() {
        let keys = keys();
        let token = resident_token(&keys);
        let claims = keys.verify(&token).expect("fresh token");
        assert_eq!(keys.verify(&token).expect("again").jti, claims.jti);
        let last_second = claims.exp + LEEWAY_SECS;
        assert!(keys.verify_at(&token, last_second).is_ok());
        let err = keys.verify_at(&token, last_second + 1).unwrap_err();
        assert_eq!(err.code(), "token_expired");
        // The signature's last character changed: another text, verified afresh.
        let mut altered = token.clone();
        let last = altered.pop().expect("non-empty");
        altered.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(keys.verify(&altered).unwrap_err().code(), "token_invalid");
    }

    /// `claims` signed with the keys' secret under `header` (JSON text), as another
    /// implementation would sign them.
    fn signed_as(header: &str, claims: &serde_json::Value) -> String {
        use hmac::{Hmac, Mac};
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(b"0123456789abcdef0123456789abcdef")
            .expect("any key length");
        mac.update(message.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{message}.{signature}")
    }

    #[test]
    fn a_token_is_judged_alike_whatever_the_header_it_is_written_with() {
        let keys = keys();
        let now = Utc::now().timestamp();
        let claims = |exp: i64| {
            serde_json::json!({
                "sub": Uuid::now_v7(), "role": "resident", "iat": now, "exp": exp,
                "jti": Uuid::now_v7(),
            })
        };
        // Ours, and the same in another order (as bench/mint_tokens.py writes it).
        let ours = r#"{"typ":"JWT","alg":"HS256"}"#;
        let reordered = r#"{"alg":"HS256","typ":"JWT"}"#;
        assert!(
            signed_as(ours, &claims(now + 60)).starts_with(&format!("{}.", keys.header)),
            "the header `issue` writes"
        );
        for header in [ours, reordered] {
            assert!(keys.verify(&signed_as(header, &claims(now + 60))).is_ok());
            let err = keys
                .verify(&signed_as(header, &claims(now - 31)))
                .unwrap_err();
            assert_eq!(err.code(), "token_expired", "{header}");
            let mut claims = claims(now + 60);
            claims.as_object_mut().expect("object").remove("iat");
            let err = keys.verify(&signed_as(header, &claims)).unwrap_err();
            assert_eq!(err.code(), "token_invalid", "{header} without iat");
        }
        // Signed with the secret, yet under another algorithm, or none.
        for alg in ["HS512", "none"] {
            let header = format!(r#"{{"typ":"JWT","alg":"{alg}"}}"#);
            let err = keys
                .verify(&signed_as(&header, &claims(now + 60)))
                .unwrap_err();
            assert_eq!(err.code(), "token_invalid", "{alg}");
        }
        let unsigned = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(claims(now + 60).to_string())
        );
        assert_eq!(keys.verify(&unsigned).unwrap_err().code(), "token_invalid");
        // Our header, another token's payload under this one's signature.
        let token = resident_token(&keys);
        let other = resident_token(&keys);
        let (head_and_payload, signature) = token.rsplit_once('.').expect("three parts");
        let (head, _) = head_and_payload.split_once('.').expect("three parts");
        let payload = other.split('.').nth(1).expect("three parts");
        let spliced = format!("{head}.{payload}.{signature}");
        assert_eq!(keys.verify(&spliced).unwrap_err().code(), "token_invalid");
        for broken in ["", "a.b", "a.b.c.d", &format!("{head}..")] {
            assert_eq!(keys.verify(broken).unwrap_err().code(), "token_invalid");
        }
    }

    #[test]
    fn verified_tokens_are_kept_in_two_bounded_generations() {
        let keys = keys();
        let first = resident_token(&keys);
        keys.verify(&first).expect("valid");
        for _ in 0..VERIFIED_PER_GENERATION {
            keys.verify(&resident_token(&keys)).expect("valid");
        }
        let held = |keys: &TokenKeys| {
            let g = keys.verified.0.lock().expect("lock");
            (g[0].len(), g[1].len())
        };
        assert_eq!(held(&keys), (1, VERIFIED_PER_GENERATION));
        // In use again: brought forward, so the next turn keeps it.
        assert!(keys.verified.get(&first).is_some());
        assert_eq!(held(&keys), (2, VERIFIED_PER_GENERATION - 1));
    }

    #[test]
    fn refresh_tokens_are_unique_and_hashed() {
        let a = new_refresh_token();
        let b = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(hash_refresh_token(&a).len(), 64);
        assert_ne!(hash_refresh_token(&a), a);
    }
}
