use sea_orm::entity::prelude::*;

/// A time slot of an open day. `taken` only changes through a conditional update that keeps
/// it within `capacity` (and a CHECK constraint says so too).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "open_day_slots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub open_day_id: Uuid,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub capacity: i32,
    pub taken: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::open_days::Entity",
        from = "Column::OpenDayId",
        to = "super::open_days::Column::Id"
    )]
    OpenDay,
}

impl Related<super::open_days::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::OpenDay.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
