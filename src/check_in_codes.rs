//! Check-in codes shown at the door (meetings, open days): 8 characters from an alphabet
//! without the look-alikes 0/O and 1/I, so nothing is mistaken when read aloud or typed
//! from a phone screen. Pure: no I/O.

use rand::Rng;

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

#[cfg(test)]
mod tests {
    use super::*;

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
