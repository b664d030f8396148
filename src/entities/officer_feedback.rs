use sea_orm::entity::prelude::*;

/// An officer's feedback on one activity; staff answer it with replies.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "officer_feedback")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub activity_id: Uuid,
    pub campaign_id: Uuid,
    pub officer_id: Uuid,
    pub resident_id: Uuid,
    pub rating: i32,
    /// A JSON array of strings.
    pub findings: String,
    pub suggestions: String,
    /// WeChat's content check advised a person to look at it (or could not answer).
    pub needs_review: bool,
    /// The status of the latest reply; NULL while unanswered.
    pub reply_status: Option<String>,
    pub first_replied_at: Option<DateTimeUtc>,
    pub last_replied_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
