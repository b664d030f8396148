use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use super::OrgUnitKind;
use crate::entities::org_units;

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct OrgUnitView {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: OrgUnitKind,
}

impl From<org_units::Model> for OrgUnitView {
    fn from(m: org_units::Model) -> Self {
        Self {
            id: m.id,
            kind: OrgUnitKind::parse(&m.kind).unwrap_or(OrgUnitKind::Department),
            code: m.code,
            name: m.name,
        }
    }
}

/// A department (委办局) added by a district administrator.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgUnitRequest {
    /// 2..=32 lowercase letters, digits or `-`, starting with a letter.
    #[validate(length(min = 2, max = 32, message = "单位代码应为 2 到 32 位"))]
    pub code: String,
    #[validate(length(min = 2, max = 40, message = "单位名称应为 2 到 40 个字"))]
    pub name: String,
}
