use sea_orm::entity::prelude::*;

/// A resident's reservation of seats in one open-day slot.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reservations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub open_day_id: Uuid,
    pub slot_id: Uuid,
    pub resident_id: Uuid,
    /// `resident_id` while confirmed or waitlisted, NULL afterwards (one active per event).
    pub active_resident_id: Option<Uuid>,
    pub party_size: i32,
    /// Sealed with the data key.
    pub visitor_name_enc: Option<String>,
    /// Sealed with the data key.
    pub phone_enc: Option<String>,
    pub verification_code: String,
    /// `confirmed`, `waitlisted`, `cancelled`, `checked_in` or `no_show`.
    pub status: String,
    pub created_at: DateTimeUtc,
    pub confirmed_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
    pub checked_in_at: Option<DateTimeUtc>,
    pub checked_in_by: Option<Uuid>,
    pub no_show_at: Option<DateTimeUtc>,
    pub reminded_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
