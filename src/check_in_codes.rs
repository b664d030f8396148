//! Check-in codes shown at the door (meetings, open days): 8 characters from an alphabet
//! without the look-alikes 0/O and 1/I, so nothing is mistaken when read aloud or typed
//! from a phone screen; and the signed payloads their QR codes carry. No I/O.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

use crate::personal_data::DataKey;

pub const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
pub const CODE_LEN: usize = 8;

pub fn new_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN)
        .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
        .collect()
}

/// A code as typed by staff, normalised (spaces and dashes dropped, upper case); `None` when
/// it cannot be one.
pub fn normalise_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

/// Signs what a QR code at the door carries: `<kind>.<field>…<HMAC-SHA256, base64url>`.
/// The MAC covers the kind as well as the fields, so one feature's payload never verifies as
/// another's. Fields are ids and codes: they never contain a dot.
#[derive(Clone)]
pub struct QrSigner {
    mac: Hmac<Sha256>,
}

/// The signer of every check-in QR payload, with a key derived from the data key for this one
/// purpose (so the data key itself never signs anything a visitor can see).
pub fn qr_signer(key: &DataKey) -> Option<QrSigner> {
    QrSigner::new(
        key.lookup_hash("canyu check-in qr signing key v2")
            .as_bytes(),
    )
}

impl QrSigner {
    pub fn new(key: &[u8]) -> Option<Self> {
        Some(Self {
            mac: <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?,
        })
    }

    fn mac_of(&self, kind: &str, fields: &[&str]) -> Hmac<Sha256> {
        let mut mac = self.mac.clone();
        mac.update(kind.as_bytes());
        for f in fields {
            mac.update(b"\0");
            mac.update(f.as_bytes());
        }
        mac
    }

    pub fn sign(&self, kind: &str, fields: &[&str]) -> String {
        let sig = URL_SAFE_NO_PAD.encode(self.mac_of(kind, fields).finalize().into_bytes());
        let mut out = kind.to_owned();
        for f in fields {
            out.push('.');
            out.push_str(f);
        }
        out.push('.');
        out.push_str(&sig);
        out
    }

    /// Whether `input` claims to be a payload of `kind` (rather than a typed code).
    pub fn is_payload(kind: &str, input: &str) -> bool {
        input
            .trim()
            .strip_prefix(kind)
            .is_some_and(|rest| rest.starts_with('.'))
    }

    /// The fields of a payload of `kind` that this key signed; `None` for anything else.
    pub fn verify<'a>(&self, kind: &str, payload: &'a str) -> Option<Vec<&'a str>> {
        let rest = payload.trim().strip_prefix(kind)?.strip_prefix('.')?;
        let (fields, sig) = rest.rsplit_once('.')?;
        let fields: Vec<&str> = fields.split('.').collect();
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        self.mac_of(kind, &fields).verify_slice(&sig).ok()?;
        Some(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_payloads_verify_only_under_their_key_and_kind() {
        let a = QrSigner::new(b"key a").unwrap();
        let b = QrSigner::new(b"key b").unwrap();
        let p = a.sign("CYOD1", &["0190c1d2", "ABCDEFGH"]);
        assert!(QrSigner::is_payload("CYOD1", &p));
        assert!(!QrSigner::is_payload("CY1", &p));
        assert!(!QrSigner::is_payload("CYOD1", "ABCDEFGH"));
        assert_eq!(
            a.verify("CYOD1", &format!(" {p} ")),
            Some(vec!["0190c1d2", "ABCDEFGH"])
        );
        assert_eq!(b.verify("CYOD1", &p), None);
        assert_eq!(a.verify("CYOD1", &p.replace("0190c1d2", "0190c1d3")), None);
        // The same fields signed for another kind do not pass as this one.
        let other = a.sign("CY1", &["0190c1d2", "ABCDEFGH"]);
        assert_eq!(a.verify("CYOD1", &other.replacen("CY1", "CYOD1", 1)), None);
        assert_eq!(a.verify("CYOD1", "CYOD1.garbage"), None);
    }

    #[test]
    fn codes_avoid_look_alikes_and_survive_sloppy_typing() {
        for _ in 0..200 {
            let code = new_code();
            assert_eq!(code.len(), CODE_LEN);
            assert!(!code.contains(['0', 'O', '1', 'I']), "{code}");
            let typed = format!(" {}-{} ", &code[..4], code[4..].to_ascii_lowercase());
            assert_eq!(normalise_code(&typed).as_deref(), Some(code.as_str()));
        }
        assert_eq!(normalise_code("ABCD0FGH"), None);
        assert_eq!(normalise_code("ABC"), None);
    }
}
