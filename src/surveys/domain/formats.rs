//! Formats a text answer may be held to.

/// A mainland China mobile number: 11 digits starting with 1[3-9].
pub fn is_mainland_mobile(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
}

/// An 18-digit resident ID number (GB 11643-1999) with a valid ISO 7064 MOD 11-2 check digit
/// and a plausible birth date.
pub fn is_id_card(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = b[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let expected = CHECK[(sum % 11) as usize];
    let last = b[17].to_ascii_uppercase();
    if last != expected {
        return false;
    }
    let birth = &s[6..14];
    chrono::NaiveDate::parse_from_str(birth, "%Y%m%d").is_ok()
}

/// A plain e-mail address check: something@domain.tld, no spaces.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
        && !domain.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles() {
        assert!(is_mainland_mobile("13812345678"));
        assert!(is_mainland_mobile("19912345678"));
        assert!(!is_mainland_mobile("12812345678"));
        assert!(!is_mainland_mobile("1381234567"));
        assert!(!is_mainland_mobile("1381234567a"));
    }

    #[test]
    fn id_cards_need_the_check_digit() {
        assert!(is_id_card("11010519491231002X"));
        assert!(is_id_card("11010519491231002x"));
        assert!(!is_id_card("110105194912310021"));
        assert!(!is_id_card("11010519491331002X"), "month 13");
        assert!(!is_id_card("1101051949123100"));
    }

    #[test]
    fn emails() {
        assert!(is_email("wang@xicheng.gov.cn"));
        assert!(!is_email("wang@"));
        assert!(!is_email("wang xicheng@gov.cn"));
        assert!(!is_email("wang.gov.cn"));
    }
}
