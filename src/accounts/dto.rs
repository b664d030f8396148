use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::domain::StaffRole;
use crate::{
    auth::Role,
    entities::{consents, residents, staff},
    personal_data::{DataKey, mask},
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

impl UserView {
    pub fn resident(m: residents::Model, key: &DataKey) -> Self {
        Self {
            phone: open_phone(&m, key).as_deref().map(mask::phone),
            id: m.id,
            role: Role::Resident,
            nickname: m.nickname,
            home_subdistrict: m.home_subdistrict,
            community: m.community,
            username: None,
            org_unit: None,
        }
    }

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

/// The resident's phone number in clear, for the resident themself or an audited reveal.
pub fn open_phone(m: &residents::Model, key: &DataKey) -> Option<String> {
    let sealed = m.phone_enc.as_deref()?;
    match key.open(sealed) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::error!(resident = %m.id, error = %e, "a sealed phone number could not be opened");
            None
        }
    }
}

/// What a district administrator sees of a resident: masked.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ResidentAdminView {
    pub id: Uuid,
    pub nickname: Option<String>,
    /// Masked (`138****5678`); reveal it with `POST /api/v1/admin/residents/{id}/reveal`.
    pub phone: Option<String>,
    pub home_subdistrict: Option<String>,
    pub community: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl ResidentAdminView {
    pub fn new(m: residents::Model, key: &DataKey) -> Self {
        Self {
            id: m.id,
            phone: open_phone(&m, key).as_deref().map(mask::phone),
            nickname: m.nickname,
            home_subdistrict: m.home_subdistrict,
            community: m.community,
            created_at: m.created_at,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResidentLookup {
    /// The full mainland mobile number to look up.
    pub phone: String,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PersonalField {
    Phone,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    pub field: PersonalField,
    /// Why the full value is needed; kept in the audit log.
    #[validate(length(
        min = 4,
        max = 200,
        message = "请填写查看完整信息的理由（4 到 200 个字）"
    ))]
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevealedValue {
    pub field: PersonalField,
    pub value: String,
}

/// Everything canyu holds about a resident (`GET /api/v1/me/data-export`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DataExport {
    pub exported_at: DateTime<Utc>,
    pub profile: ProfileExport,
    pub consents: Vec<ConsentExport>,
    pub sessions: Vec<SessionExport>,
    pub notifications: Vec<crate::notifications::NotificationView>,
    /// Surveys answered, with the answers unless the survey was anonymous.
    pub survey_responses: Vec<crate::surveys::MyResponse>,
    /// Open-day reservations, with the visitor name and phone given.
    pub reservations: Vec<crate::open_days::ReservationView>,
    /// Sign-ups for deliberation meetings, with the name and phone given.
    pub deliberation_signups: Vec<crate::deliberation::dto::SignupExport>,
    /// Applications to serve as an experience officer, with the name and phone given and
    /// the term once approved.
    pub officer_applications: Vec<crate::officers::MyApplicationView>,
    /// Feedback given as an experience officer, with the answers to it.
    pub officer_feedback: Vec<crate::officers::FeedbackView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProfileExport {
    pub id: Uuid,
    pub openid: String,
    pub unionid: Option<String>,
    pub nickname: Option<String>,
    /// In full: this is the resident's own data.
    pub phone: Option<String>,
    pub home_subdistrict: Option<String>,
    pub community: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ConsentExport {
    pub purpose: String,
    pub notice_version: String,
    pub accepted_at: DateTime<Utc>,
}

impl From<consents::Model> for ConsentExport {
    fn from(m: consents::Model) -> Self {
        Self {
            purpose: m.purpose,
            notice_version: m.notice_version,
            accepted_at: m.accepted_at,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionExport {
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
}
