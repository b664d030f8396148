use std::fmt;

/// An org unit's code: 2..=32 characters of lowercase ASCII letters, digits and `-`,
/// starting with a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrgUnitCode(String);

impl OrgUnitCode {
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let s = s.trim();
        let ok_len = (2..=32).contains(&s.len());
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let starts = s.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
        if ok_len && ok_chars && starts {
            Ok(Self(s.to_owned()))
        } else {
            Err("单位代码应为 2 到 32 位小写字母、数字或连字符，并以字母开头")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgUnitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum OrgUnitKind {
    /// 西城区 itself.
    District,
    /// One of the 15 街道.
    Subdistrict,
    /// A 委办局 added by an administrator.
    Department,
}

impl OrgUnitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::District => "district",
            Self::Subdistrict => "subdistrict",
            Self::Department => "department",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "district" => Some(Self::District),
            "subdistrict" => Some(Self::Subdistrict),
            "department" => Some(Self::Department),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_lowercase_slugs() {
        assert!(OrgUnitCode::parse("shichahai").is_ok());
        assert!(OrgUnitCode::parse("civil-affairs-2").is_ok());
        for bad in [
            "",
            "a",
            "Shichahai",
            "9abc",
            "什刹海",
            "with space",
            &"a".repeat(33),
        ] {
            assert!(OrgUnitCode::parse(bad).is_err(), "{bad}");
        }
    }
}
