use sea_orm::entity::prelude::*;

/// An outcome (议事成果) of a deliberation, tracked until done.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outcomes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub deliberation_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub title: String,
    pub description: String,
    pub responsible_unit: String,
    pub due_date: Date,
    pub weight: i32,
    /// Of the latest progress entry (`not_started` before any).
    pub status: String,
    /// Of the latest entry; for a parent, the weighted mean of its children.
    pub percent: i32,
    pub last_progress_at: Option<DateTimeUtc>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
