use sea_orm::entity::prelude::*;

/// A resident's sign-up for a deliberation meeting.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliberation_signups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub deliberation_id: Uuid,
    pub resident_id: Uuid,
    /// `confirmed`, `waitlisted` or `cancelled`.
    pub status: String,
    /// Arrival order within the meeting.
    pub seq: i32,
    /// Sealed with the data key.
    pub name_enc: Option<String>,
    /// Sealed with the data key.
    pub phone_enc: Option<String>,
    pub phone_hash: Option<String>,
    pub community: Option<String>,
    pub note: Option<String>,
    pub check_in_code: Option<String>,
    pub checked_in_at: Option<DateTimeUtc>,
    pub checked_in_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
