use sea_orm::entity::prelude::*;

/// An approved applicant serving a term. Serving: `ended_at` is NULL and now < `term_ends_at`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "officers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub application_id: Uuid,
    pub resident_id: Uuid,
    pub term_starts_at: DateTimeUtc,
    pub term_ends_at: DateTimeUtc,
    /// Set when staff ended the term early (or the account was deleted).
    pub ended_at: Option<DateTimeUtc>,
    pub end_reason: Option<String>,
    pub ended_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
