use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use super::domain::Page;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SurveyStatus {
    Draft,
    Published,
    Closed,
}

impl SurveyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "published" => Self::Published,
            "closed" => Self::Closed,
            _ => Self::Draft,
        }
    }
}

/// What staff write: the settings at top level and the pages. `POST` creates a draft; `PUT`
/// replaces the draft (of a published survey: the next version).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SurveyBody {
    #[validate(length(min = 1, max = 200, message = "标题应为 1 到 200 个字"))]
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(length(max = 5000, message = "说明最多 5000 个字"))]
    pub description: Option<String>,
    /// Code of the org unit that runs the survey.
    #[validate(length(min = 2, max = 32, message = "单位代码应为 2 到 32 位"))]
    pub org_unit: String,
    /// Sub-district codes; empty or absent: the whole district.
    #[serde(default)]
    #[validate(length(max = 15, message = "最多选择 15 个街道"))]
    pub audience: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[validate(range(min = 1, max = 10000000, message = "回收上限应为正整数"))]
    pub max_responses: Option<u32>,
    /// Answers are stored with no link to who gave them.
    #[serde(default)]
    pub anonymous: bool,
    /// Respondents may ask to be told what came of the survey.
    #[serde(default)]
    pub keep_informed: bool,
    #[serde(default)]
    pub pages: Vec<Page>,
}

/// A published version as residents receive it (cached as bytes).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublishedSurvey {
    pub id: Uuid,
    pub version: i32,
    pub status: SurveyStatus,
    pub title: String,
    pub description: Option<String>,
    pub org_unit: String,
    pub audience: Vec<String>,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    pub max_responses: Option<u32>,
    pub anonymous: bool,
    pub keep_informed: bool,
    pub pages: Vec<Page>,
}

/// `GET /surveys/{id}` answers by who asks: residents the published version, staff their
/// working view. Residents' answers are cached bytes of `PublishedSurvey`, written as they are.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // `Resident` is what the cached bytes hold; it names them in the spec.
pub enum SurveyForCaller {
    Resident(PublishedSurvey),
    Staff(StaffSurveyView),
}

/// What staff see of a survey.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffSurveyView {
    pub id: Uuid,
    pub status: SurveyStatus,
    pub org_unit: String,
    /// The published version residents see; `null` before the first publish.
    pub current_version: Option<i32>,
    pub response_count: i32,
    /// The editable body: the next version once published.
    pub draft: SurveyBody,
    /// Whether the draft differs from the current version.
    pub has_unpublished_changes: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// A line of a survey list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SurveySummary {
    pub id: Uuid,
    pub title: String,
    pub status: SurveyStatus,
    pub org_unit: String,
    pub current_version: Option<i32>,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
    pub anonymous: bool,
    /// Staff lists only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_count: Option<i32>,
    /// Resident lists only: whether they already answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered: Option<bool>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SurveyListQuery {
    /// Staff: `mine` lists the surveys of their org unit (all for administrators).
    pub scope: Option<String>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// The version the resident answered (`version` of `GET /api/v1/surveys/{id}`).
    pub version: i32,
    /// Answers by question id.
    #[schema(value_type = Object)]
    pub answers: Map<String, Value>,
    /// Ask to be told what came of this survey (when the survey allows it).
    #[serde(default)]
    pub keep_informed: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmittedResponse {
    pub survey_id: Uuid,
    pub version: i32,
    pub submitted_at: DateTime<Utc>,
    /// `null` for anonymous surveys: nothing ties the answers to the resident.
    pub response_id: Option<Uuid>,
}

/// A survey as another feature names it: the questionnaire whose results raised a
/// deliberation's topic, or one on a resident's trail.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SurveyRef {
    pub id: Uuid,
    pub title: String,
    pub anonymous: bool,
}

/// A survey the resident took part in (`GET /api/v1/me/responses`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MyResponse {
    pub survey_id: Uuid,
    pub title: String,
    pub anonymous: bool,
    pub keep_informed: bool,
    pub on_day: chrono::NaiveDate,
    /// Their answers, unless the survey is anonymous.
    #[schema(value_type = Option<Object>)]
    pub answers: Option<Value>,
    pub version: Option<i32>,
}

/// One response as staff read it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ResponseView {
    pub id: Uuid,
    pub version: i32,
    pub submitted_at: DateTime<Utc>,
    pub sub_district: Option<String>,
    #[schema(value_type = Object)]
    pub answers: Value,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultsQuery {
    /// `sub_district`, or the id of a single-choice question, for the cross-tab.
    pub group_by: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    pub format: ExportFormat,
}
