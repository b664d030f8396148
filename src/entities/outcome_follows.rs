use sea_orm::entity::prelude::*;

/// A resident following an outcome's progress.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outcome_follows")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub outcome_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub resident_id: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
