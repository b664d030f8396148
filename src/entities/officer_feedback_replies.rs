use sea_orm::entity::prelude::*;

/// Staff's answer to a piece of feedback; append-only.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "officer_feedback_replies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub feedback_id: Uuid,
    /// `accepted`, `in_progress`, `resolved` or `not_adopted`.
    pub status: String,
    pub response: String,
    /// Why it is not adopted (`not_adopted` only).
    pub reason: Option<String>,
    pub staff_id: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
