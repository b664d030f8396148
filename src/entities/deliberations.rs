use sea_orm::entity::prelude::*;

/// A deliberation meeting (议事会).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deliberations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_unit: String,
    pub title: String,
    pub background: String,
    pub agenda: String,
    pub location: String,
    pub starts_at: DateTimeUtc,
    pub ends_at: DateTimeUtc,
    pub signup_opens_at: DateTimeUtc,
    pub signup_closes_at: DateTimeUtc,
    pub capacity: i32,
    pub reserved_seats: i32,
    /// Residents' confirmed sign-ups (at most `capacity - reserved_seats`).
    pub confirmed: i32,
    /// Arrival counter of sign-ups.
    pub signup_seq: i32,
    pub waitlist_enabled: bool,
    /// `,code,code,` of eligible sub-districts; empty for the whole district.
    pub eligibility: String,
    pub source_survey_id: Option<Uuid>,
    /// `draft`, `published` or `cancelled`.
    pub status: String,
    pub reminded_at: Option<DateTimeUtc>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
    pub cancelled_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
