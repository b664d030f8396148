//! Account values that cannot hold invalid data.

/// A staff login name: 3..=32 of lowercase letters, digits, `_`, `.`, `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let s = s.trim().to_ascii_lowercase();
        let ok = (3..=32).contains(&s.len())
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
            });
        if ok {
            Ok(Self(s))
        } else {
            Err("用户名应为 3 到 32 位字母、数字、下划线、点或连字符")
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A staff password: 10..=128 characters with at least a letter and a digit. Its `Debug`
/// never shows it.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let n = s.chars().count();
        let letter = s.chars().any(|c| c.is_alphabetic());
        let digit = s.chars().any(|c| c.is_ascii_digit());
        if (10..=128).contains(&n) && letter && digit {
            Ok(Self(s.to_owned()))
        } else {
            Err("密码应为 10 到 128 位，且同时包含字母和数字")
        }
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum StaffRole {
    /// District administrator: acts across the whole district.
    Admin,
    /// Staff of one sub-district or department.
    Staff,
}

impl StaffRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Staff => "staff",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Self::Admin),
            "staff" => Some(Self::Staff),
            _ => None,
        }
    }
}

/// Trimmed text of 1..=`max` characters with no control characters.
pub fn short_text(s: &str, max: usize, message: &'static str) -> Result<String, &'static str> {
    let t = s.trim();
    let n = t.chars().count();
    if n == 0 || n > max || t.chars().any(char::is_control) {
        Err(message)
    } else {
        Ok(t.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised_and_bounded() {
        assert_eq!(
            Username::parse(" Wang.Li ").map(|u| u.0),
            Ok("wang.li".to_owned())
        );
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("王力").is_err());
    }

    #[test]
    fn weak_passwords_are_refused() {
        assert!(Password::parse("short1").is_err());
        assert!(Password::parse("onlyletters").is_err());
        assert!(Password::parse("1234567890").is_err());
        assert!(Password::parse("xicheng-2026").is_ok());
        assert_eq!(
            format!("{:?}", Password::parse("xicheng-2026")),
            "Ok(Password(***))"
        );
    }

    #[test]
    fn short_text_is_trimmed_and_bounded() {
        assert_eq!(short_text("  老王 ", 20, "x"), Ok("老王".to_owned()));
        assert!(short_text("   ", 20, "x").is_err());
        assert!(short_text(&"字".repeat(21), 20, "x").is_err());
        assert!(short_text("a\u{0}b", 20, "x").is_err());
    }
}
