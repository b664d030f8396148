use sea_orm::entity::prelude::*;

/// A recruitment campaign for invited experience officers. `approved` only changes through a
/// conditional update that keeps it within `quota` (and a CHECK constraint says so too).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "officer_campaigns")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_unit_id: Uuid,
    pub title: String,
    pub description: String,
    pub quota: i32,
    pub approved: i32,
    pub requirements: String,
    pub apply_opens_at: DateTimeUtc,
    pub apply_closes_at: DateTimeUtc,
    pub term_months: i32,
    /// `draft`, `published` or `closed`.
    pub status: String,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
