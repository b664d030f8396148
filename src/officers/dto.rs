//! Request and response shapes of invited experience officers, exactly as the spec shows them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

/// Everything staff describe about a campaign; `POST` and `PUT` take these as a whole.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CampaignRequest {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Code of the org unit recruiting (staff: their own). Cannot change on `PUT`.
    #[validate(length(min = 2, max = 32, message = "单位代码应为 2 到 32 位"))]
    pub org_unit: String,
    /// Officers to recruit (1..=10000); on `PUT` never below those approved.
    pub quota: i64,
    /// Who may apply (shown to residents).
    #[serde(default)]
    pub requirements: String,
    pub apply_opens_at: DateTime<Utc>,
    pub apply_closes_at: DateTime<Utc>,
    /// How long an approved officer serves (1..=60 months from approval).
    pub term_months: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct CampaignView {
    pub id: Uuid,
    pub org_unit: String,
    pub title: String,
    pub description: String,
    pub quota: i32,
    /// Officers approved so far.
    pub approved: i32,
    /// `quota - approved`.
    pub places_left: i32,
    pub requirements: String,
    pub apply_opens_at: DateTime<Utc>,
    pub apply_closes_at: DateTime<Utc>,
    pub term_months: i32,
    /// `draft`, `published` or `closed`.
    pub status: String,
    /// Whether an application would be taken now.
    pub accepting_applications: bool,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ApplyRequest {
    pub real_name: String,
    /// Mainland mobile number (11 digits).
    pub phone: String,
    /// The age group as the form offers it, e.g. `18-29`, `30-39`, `60+` (1..=16 characters).
    pub age_group: String,
    #[serde(default)]
    pub occupation: Option<String>,
    #[serde(default)]
    pub community: Option<String>,
    /// Why the resident wants to serve (up to 1000 characters).
    #[serde(default)]
    pub motivation: Option<String>,
    /// The resident accepted the privacy notice; must be `true`.
    pub consent: bool,
}

/// An officer's term, as its resident sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct TermView {
    pub officer_id: Uuid,
    pub term_starts_at: DateTime<Utc>,
    pub term_ends_at: DateTime<Utc>,
    /// `serving`, `ended` (early, by staff) or `expired`.
    pub standing: String,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
}

/// An application as its resident sees it: their own data in full.
#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct MyApplicationView {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub campaign_title: String,
    /// `pending`, `approved`, `rejected` or `withdrawn`.
    pub status: String,
    /// The reviewer's reason (rejections).
    pub reason: Option<String>,
    pub real_name: Option<String>,
    pub phone: Option<String>,
    pub age_group: Option<String>,
    pub occupation: Option<String>,
    pub community: Option<String>,
    pub motivation: Option<String>,
    pub created_at: DateTime<Utc>,
    pub reviewed_at: Option<DateTime<Utc>>,
    /// Present once approved.
    pub term: Option<TermView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplicationsQuery {
    /// `pending`, `approved`, `rejected` or `withdrawn`; absent: all.
    pub status: Option<String>,
    /// How many items to return (1..=100, default 20).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// An application as reviewers see it: personal data masked.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApplicationView {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub status: String,
    /// Masked (`张*`).
    pub real_name: Option<String>,
    /// Masked (`138****5678`).
    pub phone: Option<String>,
    pub age_group: Option<String>,
    pub occupation: Option<String>,
    pub community: Option<String>,
    pub motivation: Option<String>,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub reviewed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// Required (1..=500 characters); shown to the resident.
    #[serde(default)]
    #[validate(length(min = 1, max = 500, message = "请填写 1 到 500 个字的理由"))]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ApplicantField {
    RealName,
    Phone,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RevealApplicantRequest {
    pub field: ApplicantField,
    /// Why the full value is needed; kept in the audit log.
    #[validate(length(
        min = 4,
        max = 200,
        message = "请填写查看完整信息的理由（4 到 200 个字）"
    ))]
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevealedApplicantValue {
    pub field: ApplicantField,
    pub value: String,
}

/// An officer on a campaign's roster, as staff see them: masked.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OfficerView {
    pub id: Uuid,
    pub application_id: Uuid,
    pub real_name: Option<String>,
    pub phone: Option<String>,
    pub community: Option<String>,
    pub term_starts_at: DateTime<Utc>,
    pub term_ends_at: DateTime<Utc>,
    /// `serving`, `ended` (early, by staff) or `expired`.
    pub standing: String,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ActivityRequest {
    pub campaign_id: Uuid,
    pub title: String,
    /// The government service or process the officers try out.
    pub service_to_experience: String,
    pub location: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Officers who may take part (1..=10000).
    pub capacity: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct ActivityView {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub title: String,
    pub service_to_experience: String,
    pub location: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i32,
    pub places_left: i32,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignupView {
    pub id: Uuid,
    pub activity_id: Uuid,
    pub officer_id: Uuid,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// 1..=5.
    pub rating: i64,
    /// Problems found, each 1..=500 characters (at most 20).
    #[serde(default)]
    pub findings: Vec<String>,
    #[serde(default)]
    pub suggestions: String,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReplyStatusDto {
    Accepted,
    InProgress,
    Resolved,
    NotAdopted,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    /// `resolved` and `not_adopted` settle the feedback: no reply after them.
    pub status: ReplyStatusDto,
    /// The answer to the officer (1..=2000 characters).
    pub response: String,
    /// Why not (required with `not_adopted`, up to 500 characters).
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct ReplyView {
    pub id: Uuid,
    /// `accepted`, `in_progress`, `resolved` or `not_adopted`.
    pub status: String,
    pub response: String,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A piece of feedback with its answers.
#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct FeedbackView {
    pub id: Uuid,
    pub activity_id: Uuid,
    pub activity_title: String,
    pub campaign_id: Uuid,
    pub rating: i32,
    pub findings: Vec<String>,
    pub suggestions: String,
    /// Status of the latest reply; `null` while unanswered.
    pub reply_status: Option<String>,
    /// Unanswered for more than 15 days.
    pub overdue: bool,
    pub created_at: DateTime<Utc>,
    pub replies: Vec<ReplyView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedbackQuery {
    /// `true`: only feedback unanswered for more than 15 days.
    #[serde(default)]
    pub overdue: Option<bool>,
    /// Only this campaign's feedback.
    pub campaign_id: Option<Uuid>,
    /// How many items to return (1..=100, default 20).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ApplicationCounts {
    pub pending: u64,
    pub approved: u64,
    pub rejected: u64,
    pub withdrawn: u64,
    pub total: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CampaignReport {
    pub campaign_id: Uuid,
    pub applications: ApplicationCounts,
    /// Officers whose term runs now.
    pub officers_serving: u64,
    /// Activities that have started.
    pub activities_held: u64,
    pub feedback_count: u64,
    /// Feedback with at least one reply / all feedback; `null` without feedback.
    pub share_answered: Option<f64>,
    /// Feedback whose latest reply is `accepted`, `in_progress` or `resolved` / all
    /// feedback; `null` without feedback.
    pub share_adopted: Option<f64>,
}
