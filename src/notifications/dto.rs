use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::entities::notifications;

/// A notice in the resident's inbox.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationView {
    pub id: Uuid,
    /// `welcome`, `deliberation_update`, `booking_confirmed`, `application_result`, ...
    pub kind: String,
    pub title: String,
    pub body: String,
    /// Mini-program page to open.
    pub page: Option<String>,
    /// When the resident read it; `null` while unread.
    pub read_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<notifications::Model> for NotificationView {
    fn from(m: notifications::Model) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            title: m.title,
            body: m.body,
            page: m.page,
            read_at: m.read_at,
            created_at: m.created_at,
        }
    }
}

/// One page of the inbox, newest first, with the number of unread notices.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InboxPage {
    pub items: Vec<NotificationView>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    /// Unread notices in the whole inbox, not only on this page.
    pub unread_count: u64,
}

/// The answer of `wx.requestSubscribeMessage` for one template.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionRequest {
    #[validate(length(min = 1, max = 64, message = "模板编号应为 1 到 64 位"))]
    pub template_id: String,
    /// `true` when the resident tapped "允许" (accept); anything else grants nothing.
    pub accepted: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubscriptionView {
    pub template_id: String,
    /// Messages WeChat will still carry for this template (one per acceptance).
    pub remaining: i32,
}

/// A notice WeChat delivery gave up on.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeadLetterView {
    pub id: Uuid,
    pub resident_id: Uuid,
    pub kind: String,
    pub title: String,
    pub attempts: i32,
    /// What went wrong the last time (WeChat's errcode and message, or a timeout).
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<notifications::Model> for DeadLetterView {
    fn from(m: notifications::Model) -> Self {
        Self {
            id: m.id,
            resident_id: m.resident_id,
            kind: m.kind,
            title: m.title,
            attempts: m.attempts,
            last_error: m.last_error,
            last_attempt_at: m.last_attempt_at,
            created_at: m.created_at,
        }
    }
}
