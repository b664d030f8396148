//! How staff see personal data unless they reveal it: enough to recognise, not to use.

/// `张三` -> `张*`, `欧阳娜娜` -> `欧***`, `Li Ming` -> `L******`.
pub fn name(full: &str) -> String {
    let mut chars = full.trim().chars();
    match chars.next() {
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
        None => String::new(),
    }
}

/// `13812345678` -> `138****5678`.
pub fn phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// `110102199003071234` -> `1101**********1234`.
pub fn id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_keep_only_the_first_character() {
        assert_eq!(super::name("张三"), "张*");
        assert_eq!(super::name("欧阳娜娜"), "欧***");
        assert_eq!(super::name("李"), "李*");
        assert_eq!(super::name(""), "");
    }

    #[test]
    fn phones_and_id_numbers_keep_their_ends() {
        assert_eq!(super::phone("13812345678"), "138****5678");
        assert_eq!(super::phone("123"), "***");
        assert_eq!(super::id_number("110102199003071234"), "1101**********1234");
    }
}
