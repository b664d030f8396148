use sea_orm::entity::prelude::*;

/// One entry of an outcome's timeline. Append-only (database triggers refuse changes).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outcome_progress")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub outcome_id: Uuid,
    pub status: String,
    pub percent: i32,
    pub note: String,
    pub happened_on: Date,
    /// The earlier entry this one corrects.
    pub corrects: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
