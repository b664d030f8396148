use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::domain::{StaffRole, mask_phone};
use crate::{
    auth::Role,
    entities::{residents, staff},
};

/// The signed-in person, as login answers and `GET /api/v1/me` show them.
#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct UserView {
    pub id: Uuid,
    pub role: Role,
    /// Residents: the nickname they chose.
    pub nickname: Option<String>,
    /// Residents: masked (`138****5678`); the full number is never sent back.
    pub phone: Option<String>,
    /// Residents: code of their home sub-district.
    pub home_subdistrict: Option<String>,
    pub community: Option<String>,
    /// Staff: login name.
    pub username: Option<String>,
    /// Staff: code of their org unit.
    pub org_unit: Option<String>,
}

impl From<residents::Model> for UserView {
    fn from(m: residents::Model) -> Self {
        Self {
            id: m.id,
            role: Role::Resident,
            nickname: m.nickname,
            phone: m.phone.as_deref().map(mask_phone),
            home_subdistrict: m.home_subdistrict,
            community: m.community,
            username: None,
            org_unit: None,
        }
    }
}

impl UserView {
    pub fn staff(m: staff::Model, org_unit: String) -> Self {
        Self {
            id: m.id,
            role: if m.role == "admin" {
                Role::Admin
            } else {
                Role::Staff
            },
            nickname: None,
            phone: None,
            home_subdistrict: None,
            community: None,
            username: Some(m.username),
            org_unit: Some(org_unit),
        }
    }
}

/// Absent: leave as is. `null`: clear. A value: set.
fn patch<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema, Validate, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    /// 1..=20 characters; `null` clears it.
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub nickname: Option<Option<String>>,
    /// Code of a sub-district; `null` clears it.
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub home_subdistrict: Option<Option<String>>,
    /// 1..=40 characters (社区名称); `null` clears it.
    #[serde(default, deserialize_with = "patch")]
    #[schema(value_type = Option<String>)]
    pub community: Option<Option<String>>,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct PhoneRequest {
    /// The code from the mini-program's `getPhoneNumber` button.
    #[validate(length(min = 1, max = 128, message = "缺少手机号授权码"))]
    pub code: String,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateStaffRequest {
    #[validate(length(min = 3, max = 32, message = "用户名应为 3 到 32 位"))]
    pub username: String,
    #[validate(length(min = 10, max = 128, message = "密码应为 10 到 128 位"))]
    pub password: String,
    pub role: StaffRole,
    /// Code of the org unit; administrators belong to the district (`xicheng`).
    #[validate(length(min = 2, max = 32, message = "单位代码应为 2 到 32 位"))]
    pub org_unit: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct StaffView {
    pub id: Uuid,
    pub username: String,
    pub role: StaffRole,
    pub org_unit: String,
    pub disabled: bool,
    /// Set while the account is locked after repeated wrong passwords.
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl StaffView {
    pub fn new(m: staff::Model, org_unit: String) -> Self {
        Self {
            id: m.id,
            username: m.username,
            role: StaffRole::parse(&m.role).unwrap_or(StaffRole::Staff),
            org_unit,
            disabled: m.disabled,
            locked_until: m.locked_until.filter(|t| *t > Utc::now()),
            created_at: m.created_at,
        }
    }
}
