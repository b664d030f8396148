//! The audit log: every staff action that changes data or reveals personal data, written in
//! the same transaction as the action itself. Append-only (database triggers refuse UPDATE and
//! DELETE); administrators read it.

mod dto;
mod repo;
mod routes;

use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

pub use dto::AuditEntryView;
pub use routes::{ApiDoc, configure};

use crate::{auth::CurrentStaff, telemetry::current_request_id};

/// The newest `limit` entries, for the administrators' console page.
pub async fn recent(db: &impl ConnectionTrait, limit: u64) -> Result<Vec<AuditEntryView>, DbErr> {
    filtered(db, None, None, None, None, limit).await
}

/// The newest `limit` entries by `actor`, about `target`, within `[from, to)`, for the
/// console's filter on the audit log.
pub async fn filtered(
    db: &impl ConnectionTrait,
    actor: Option<Uuid>,
    target: Option<String>,
    from: Option<chrono::DateTime<chrono::Utc>>,
    to: Option<chrono::DateTime<chrono::Utc>>,
    limit: u64,
) -> Result<Vec<AuditEntryView>, DbErr> {
    let filter = repo::Filter {
        actor,
        target,
        from,
        to,
    };
    Ok(repo::list(db, &filter, None, limit)
        .await?
        .into_iter()
        .map(AuditEntryView::from)
        .collect())
}

/// Who did it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub org_unit: String,
}

impl Actor {
    /// Work done by the service itself or its command line (`canyu staff create`).
    pub fn system(name: &str) -> Self {
        Self {
            id: Uuid::nil(),
            name: name.to_owned(),
            role: "system".into(),
            org_unit: "xicheng".into(),
        }
    }
}

impl From<&CurrentStaff> for Actor {
    fn from(s: &CurrentStaff) -> Self {
        Self {
            id: s.id,
            name: s.username.clone(),
            role: s.role.as_str().to_owned(),
            org_unit: s.org_unit.clone(),
        }
    }
}

/// What was done. Features add their own actions here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    OrgUnitCreated,
    StaffCreated,
    StaffDisabled,
    StaffEnabled,
    PersonalDataRevealed,
    SurveyCreated,
    SurveyUpdated,
    SurveyDeleted,
    SurveyPublished,
    SurveyClosed,
    SurveyExported,
    OpenDayCreated,
    OpenDayUpdated,
    OpenDayPublished,
    OpenDayCancelled,
    OpenDayCheckIn,
    DeliberationCreated,
    DeliberationUpdated,
    DeliberationPublished,
    DeliberationCancelled,
    DeliberationCheckedIn,
    DeliberationSignupsExported,
    OutcomeCreated,
    OutcomeProgressAdded,
    OfficerCampaignCreated,
    OfficerCampaignUpdated,
    OfficerCampaignPublished,
    OfficerCampaignClosed,
    OfficerApplicationApproved,
    OfficerApplicationRejected,
    OfficerEnded,
    OfficerActivityCreated,
    OfficerFeedbackReplied,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrgUnitCreated => "org_unit.created",
            Self::StaffCreated => "staff.created",
            Self::StaffDisabled => "staff.disabled",
            Self::StaffEnabled => "staff.enabled",
            Self::PersonalDataRevealed => "personal_data.revealed",
            Self::SurveyCreated => "survey.created",
            Self::SurveyUpdated => "survey.updated",
            Self::SurveyDeleted => "survey.deleted",
            Self::SurveyPublished => "survey.published",
            Self::SurveyClosed => "survey.closed",
            Self::SurveyExported => "survey.exported",
            Self::OpenDayCreated => "open_day.created",
            Self::OpenDayUpdated => "open_day.updated",
            Self::OpenDayPublished => "open_day.published",
            Self::OpenDayCancelled => "open_day.cancelled",
            Self::OpenDayCheckIn => "open_day.check_in",
            Self::DeliberationCreated => "deliberation.created",
            Self::DeliberationUpdated => "deliberation.updated",
            Self::DeliberationPublished => "deliberation.published",
            Self::DeliberationCancelled => "deliberation.cancelled",
            Self::DeliberationCheckedIn => "deliberation.checked_in",
            Self::DeliberationSignupsExported => "deliberation.signups_exported",
            Self::OutcomeCreated => "outcome.created",
            Self::OutcomeProgressAdded => "outcome.progress_added",
            Self::OfficerCampaignCreated => "officer_campaign.created",
            Self::OfficerCampaignUpdated => "officer_campaign.updated",
            Self::OfficerCampaignPublished => "officer_campaign.published",
            Self::OfficerCampaignClosed => "officer_campaign.closed",
            Self::OfficerApplicationApproved => "officer_application.approved",
            Self::OfficerApplicationRejected => "officer_application.rejected",
            Self::OfficerEnded => "officer.ended",
            Self::OfficerActivityCreated => "officer_activity.created",
            Self::OfficerFeedbackReplied => "officer_feedback.replied",
        }
    }
}

/// Writes one entry. Call it on the transaction that makes the change.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: Action,
    target_type: &str,
    target_id: &str,
    detail: Option<serde_json::Value>,
) -> Result<(), DbErr> {
    repo::insert(
        db,
        actor,
        action.as_str(),
        target_type,
        target_id,
        detail.map(|d| d.to_string()),
        current_request_id(),
    )
    .await
}
