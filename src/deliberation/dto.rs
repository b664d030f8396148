//! Request and response shapes of deliberation meetings, sign-ups and outcomes.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::surveys::SurveyRef;

/// A meeting as staff write it (`POST` creates a draft, `PUT` replaces the plan).
#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct MeetingRequest {
    #[validate(length(min = 2, max = 100, message = "标题应为 2 到 100 个字"))]
    pub title: String,
    #[validate(length(max = 5000, message = "背景介绍不超过 5000 个字"))]
    #[serde(default)]
    pub background: String,
    #[validate(length(max = 5000, message = "议程不超过 5000 个字"))]
    #[serde(default)]
    pub agenda: String,
    #[validate(length(min = 2, max = 200, message = "地点应为 2 到 200 个字"))]
    pub location: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub signup_opens_at: DateTime<Utc>,
    pub signup_closes_at: DateTime<Utc>,
    /// All seats, including the reserved ones.
    pub capacity: i32,
    /// Seats kept for invited representatives; residents take the rest.
    #[serde(default)]
    pub reserved_seats: i32,
    #[serde(default)]
    pub waitlist_enabled: bool,
    /// Code of the org unit holding the meeting; staff may only name their own.
    pub org_unit: String,
    /// Sub-district codes whose residents may sign up; empty or absent: the whole district.
    #[serde(default)]
    #[validate(length(max = 15, message = "最多选择 15 个街道"))]
    pub eligibility: Vec<String>,
    /// The survey whose results raised the topic (not checked until surveys exist).
    pub source_survey_id: Option<Uuid>,
}

/// A meeting.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingView {
    pub id: Uuid,
    pub org_unit: String,
    pub title: String,
    pub background: String,
    pub agenda: String,
    pub location: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub signup_opens_at: DateTime<Utc>,
    pub signup_closes_at: DateTime<Utc>,
    pub capacity: i32,
    pub reserved_seats: i32,
    pub waitlist_enabled: bool,
    /// Sub-district codes; empty: the whole district.
    pub eligibility: Vec<String>,
    pub source_survey_id: Option<Uuid>,
    /// `draft`, `published` or `cancelled`.
    pub status: String,
    /// Seats residents can still take.
    pub seats_left: i32,
    pub published_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// A meeting with the caller's own sign-up, when the caller is a resident who has one.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingDetail {
    #[serde(flatten)]
    pub meeting: MeetingView,
    pub my_signup: Option<SignupView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MeetingListQuery {
    /// Only meetings open to this sub-district's residents.
    pub subdistrict: Option<String>,
    /// `mine` (staff): every meeting of the staff member's org unit, drafts and cancelled
    /// ones included, newest first (all org units for administrators).
    pub scope: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

/// A resident signs up.
#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    #[validate(length(min = 1, max = 50, message = "请填写姓名（不超过 50 个字）"))]
    pub name: String,
    /// Mobile number, 11 digits.
    pub phone: String,
    #[validate(length(max = 100, message = "社区名称不超过 100 个字"))]
    pub community: Option<String>,
    #[validate(length(max = 500, message = "备注不超过 500 个字"))]
    pub note: Option<String>,
    /// The resident accepted the privacy notice; must be `true`.
    pub consent: bool,
}

/// The resident's sign-up.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignupView {
    pub id: Uuid,
    /// `confirmed`, `waitlisted` or `cancelled`.
    pub status: String,
    /// For confirmed sign-ups: shown at the door.
    pub check_in_code: Option<String>,
    /// For confirmed sign-ups: the signed QR payload staff scan.
    pub qr_payload: Option<String>,
    /// For waitlisted sign-ups: 1 is next in line.
    pub waitlist_position: Option<i64>,
    pub checked_in_at: Option<DateTime<Utc>>,
}

/// A sign-up as staff see it: personal data masked.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffSignupView {
    pub id: Uuid,
    pub status: String,
    /// Masked (`张*`).
    pub name: String,
    /// Masked (`138****5678`).
    pub phone: String,
    pub community: Option<String>,
    pub note: Option<String>,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CheckInRequest {
    /// The 8-character check-in code, or the scanned QR payload.
    #[validate(length(min = 1, max = 200, message = "请填写签到码"))]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckInView {
    pub signup_id: Uuid,
    /// Masked.
    pub name: String,
    pub checked_in_at: DateTime<Utc>,
}

/// Who is coming and who came.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttendanceView {
    pub capacity: i32,
    pub reserved_seats: i32,
    pub confirmed: i64,
    pub waitlisted: i64,
    pub cancelled: i64,
    pub checked_in: i64,
}

/// Which personal field of a sign-up to reveal, and why.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SignupRevealRequest {
    pub field: SignupField,
    #[validate(length(
        min = 4,
        max = 200,
        message = "请填写查看完整信息的理由（4 到 200 个字）"
    ))]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SignupField {
    Name,
    Phone,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignupRevealed {
    pub field: SignupField,
    pub value: String,
}

/// The resident's sign-ups, in the data export: their own data in full.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SignupExport {
    pub id: Uuid,
    pub deliberation_id: Uuid,
    pub deliberation_title: String,
    pub status: String,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub community: Option<String>,
    pub note: Option<String>,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// An outcome as staff record it.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct OutcomeRequest {
    #[validate(length(min = 2, max = 100, message = "标题应为 2 到 100 个字"))]
    pub title: String,
    #[validate(length(max = 5000, message = "说明不超过 5000 个字"))]
    #[serde(default)]
    pub description: String,
    #[validate(length(min = 2, max = 100, message = "责任单位应为 2 到 100 个字"))]
    pub responsible_unit: String,
    pub due_date: NaiveDate,
    /// Its share in the parent's percent (1..=100).
    #[validate(range(min = 1, max = 100, message = "权重应在 1 到 100 之间"))]
    #[serde(default = "one")]
    pub weight: i32,
    pub parent_id: Option<Uuid>,
}

fn one() -> i32 {
    1
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatusDto {
    NotStarted,
    InProgress,
    Done,
    Delayed,
    Dropped,
}

/// A new entry on an outcome's timeline.
#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ProgressRequest {
    pub status: OutcomeStatusDto,
    pub percent: i32,
    #[validate(length(min = 2, max = 2000, message = "请说明进展（2 到 2000 个字）"))]
    pub note: String,
    pub happened_on: NaiveDate,
    /// The earlier entry of this outcome that this one corrects.
    pub corrects: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProgressView {
    pub id: Uuid,
    pub status: String,
    pub percent: i32,
    pub note: String,
    pub happened_on: NaiveDate,
    pub corrects: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// An outcome in the public feed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutcomeView {
    pub id: Uuid,
    pub deliberation_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub title: String,
    pub description: String,
    pub responsible_unit: String,
    pub due_date: NaiveDate,
    pub weight: i32,
    pub status: String,
    /// For a parent: the weighted mean of its children.
    pub percent: i32,
    pub overdue: bool,
    pub last_progress_at: Option<DateTime<Utc>>,
    pub latest_progress: Option<ProgressView>,
}

/// The meeting an outcome came from, as the public sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MeetingSummary {
    pub id: Uuid,
    pub title: String,
    pub org_unit: String,
    pub starts_at: DateTime<Utc>,
    pub source_survey_id: Option<Uuid>,
}

/// One outcome with its full timeline.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutcomeDetail {
    #[serde(flatten)]
    pub outcome: OutcomeView,
    pub meeting: MeetingSummary,
    /// The survey whose results raised the meeting's topic, if any.
    pub source_survey: Option<SurveyRef>,
    pub children: Vec<OutcomeView>,
    /// Oldest first.
    pub timeline: Vec<ProgressView>,
    pub followers: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutcomeListQuery {
    /// Only outcomes of meetings held by this org unit (e.g. a sub-district).
    pub subdistrict: Option<String>,
    /// `not_started`, `in_progress`, `done`, `delayed` or `dropped`.
    pub status: Option<String>,
    /// `true`: only open outcomes past their due date.
    pub overdue: Option<bool>,
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FollowView {
    pub outcome_id: Uuid,
    pub following: bool,
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoopKind {
    Survey,
    Meeting,
}

/// One step on the resident's trail: a survey they answered or a meeting they took part in,
/// with what came of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoopEntry {
    pub kind: LoopKind,
    /// When: the day the survey was answered, or the meeting's start.
    pub at: DateTime<Utc>,
    /// For `survey`.
    pub survey: Option<SurveyRef>,
    /// For `survey`: whether they asked to hear what comes of it (then they follow its outcomes).
    pub keep_informed: Option<bool>,
    /// For `meeting`.
    pub meeting: Option<MeetingSummary>,
    /// `answered` (survey), `confirmed` or `attended` (meeting).
    pub participation: String,
    /// For `survey`: the meetings whose topic it raised.
    pub meetings: Vec<MeetingSummary>,
    /// What came of it, each with its latest progress.
    pub outcomes: Vec<OutcomeView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoopView {
    pub items: Vec<LoopEntry>,
}
