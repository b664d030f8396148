use sea_orm::entity::prelude::*;

/// A notice to a resident: an inbox item, and an outbox row for its WeChat delivery.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notifications")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub resident_id: Uuid,
    pub kind: String,
    pub title: String,
    pub body: String,
    /// Mini-program page the notice opens.
    pub page: Option<String>,
    /// Template keyword values (`{"thing1": "..."}`).
    pub data: Json,
    pub read_at: Option<DateTimeUtc>,
    /// `pending`, `sending`, `sent`, `inbox_only` or `dead`.
    pub delivery_state: String,
    /// Set once a subscription grant was spent on this notice: retries reuse it.
    pub template_id: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub last_attempt_at: Option<DateTimeUtc>,
    /// The sender run holding the row while `sending`, until `claimed_until`.
    pub claimed_by: Option<Uuid>,
    pub claimed_until: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
