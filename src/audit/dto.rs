use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::entities::audit_log;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryView {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_id: Uuid,
    pub actor_name: String,
    pub actor_role: String,
    pub actor_org_unit: String,
    /// e.g. `staff.created`, `personal_data.revealed`.
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub detail: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

impl From<audit_log::Model> for AuditEntryView {
    fn from(m: audit_log::Model) -> Self {
        Self {
            id: m.id,
            at: m.at,
            actor_id: m.actor_id,
            actor_name: m.actor_name,
            actor_role: m.actor_role,
            actor_org_unit: m.actor_org_unit,
            action: m.action,
            target_type: m.target_type,
            target_id: m.target_id,
            detail: m.detail.and_then(|d| serde_json::from_str(&d).ok()),
            request_id: m.request_id,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only entries by this staff member.
    pub actor: Option<Uuid>,
    /// Only entries about this target id.
    pub target: Option<String>,
    /// From this time (inclusive, RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Until this time (exclusive, RFC 3339).
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}
