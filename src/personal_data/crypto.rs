use aes_gcm::{
    Aes256Gcm, Nonce,
    aead::{Aead, AeadCore, KeyInit, OsRng},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Sealed values start with this tag, so a future key or algorithm can sit beside it.
const VERSION: &str = "v1:";
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum DataKeyError {
    #[error("the data key must be 32 bytes, base64-encoded")]
    BadKey,
    #[error("a sealed value could not be opened")]
    Unreadable,
}

/// The key that seals personal data, and the key derived from it for lookup hashes.
#[derive(Clone)]
pub struct DataKey {
    cipher: Aes256Gcm,
    lookup: Hmac<Sha256>,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(***)")
    }
}

impl DataKey {
    /// From the base64 form kept in configuration (`CANYU_DATA_KEY`).
    pub fn from_base64(encoded: &str) -> Result<Self, DataKeyError> {
        let bytes = STANDARD
            .decode(encoded.trim())
            .map_err(|_| DataKeyError::BadKey)?;
        if bytes.len() != 32 {
            return Err(DataKeyError::BadKey);
        }
        // The lookup key is derived, so one configured secret serves both purposes while a
        // lookup hash never reveals anything about the encryption key.
        let mut derive =
            <Hmac<Sha256> as Mac>::new_from_slice(&bytes).map_err(|_| DataKeyError::BadKey)?;
        derive.update(b"canyu lookup-hash key v1");
        let lookup_key = derive.finalize().into_bytes();
        Ok(Self {
            cipher: Aes256Gcm::new_from_slice(&bytes).map_err(|_| DataKeyError::BadKey)?,
            lookup: <Hmac<Sha256> as Mac>::new_from_slice(&lookup_key)
                .map_err(|_| DataKeyError::BadKey)?,
        })
    }

    /// A fresh random key in its base64 form.
    pub fn generate_base64() -> String {
        STANDARD.encode(Aes256Gcm::generate_key(OsRng))
    }

    /// Encrypts `plaintext`; every call uses a fresh nonce, so equal values seal differently.
    pub fn seal(&self, plaintext: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // Encryption with a valid key and nonce cannot fail for in-memory buffers.
        let ciphertext = self
            .cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        format!("{VERSION}{}", STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str) -> Result<String, DataKeyError> {
        let body = sealed
            .strip_prefix(VERSION)
            .ok_or(DataKeyError::Unreadable)?;
        let bytes = STANDARD
            .decode(body)
            .map_err(|_| DataKeyError::Unreadable)?;
        if bytes.len() <= NONCE_LEN {
            return Err(DataKeyError::Unreadable);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| DataKeyError::Unreadable)?;
        let plain = self
            .cipher
            .decrypt(&Nonce::from(nonce), ciphertext)
            .map_err(|_| DataKeyError::Unreadable)?;
        String::from_utf8(plain).map_err(|_| DataKeyError::Unreadable)
    }

    /// A keyed hash (HMAC-SHA256, hex) of a normalised value, for equality lookups.
    pub fn lookup_hash(&self, normalised: &str) -> String {
        let mut mac = self.lookup.clone();
        mac.update(normalised.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DataKey {
        DataKey::from_base64(&DataKey::generate_base64()).expect("key")
    }

    #[test]
    fn sealed_values_open_and_do_not_show_the_plaintext() {
        let k = key();
        let sealed = k.seal("13812345678");
        assert!(!sealed.contains("13812345678"));
        assert_ne!(sealed, k.seal("13812345678"), "nonces must differ");
        assert_eq!(k.open(&sealed).expect("open"), "13812345678");
    }

    #[test]
    fn another_key_cannot_open_and_tampering_is_detected() {
        let (a, b) = (key(), key());
        let sealed = a.seal("张三");
        assert!(b.open(&sealed).is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(a.open(&tampered).is_err());
    }

    #[test]
    fn lookup_hashes_are_stable_per_key() {
        let (a, b) = (key(), key());
        assert_eq!(a.lookup_hash("13812345678"), a.lookup_hash("13812345678"));
        assert_ne!(a.lookup_hash("13812345678"), b.lookup_hash("13812345678"));
        assert_eq!(a.lookup_hash("x").len(), 64);
    }

    #[test]
    fn keys_of_the_wrong_size_are_refused() {
        assert!(DataKey::from_base64("c2hvcnQ=").is_err());
        assert!(DataKey::from_base64("not base64 !").is_err());
    }
}
