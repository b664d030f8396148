use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "surveys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_unit_id: Uuid,
    /// `draft`, `published` or `closed`.
    pub status: String,
    pub title: String,
    /// The editable body (settings and pages) that the next publish turns into a version.
    pub draft: String,
    pub current_version: Option<i32>,
    /// Settings of the current version, copied out for queries.
    pub audience: Option<Json>,
    pub opens_at: Option<DateTimeUtc>,
    pub closes_at: Option<DateTimeUtc>,
    pub max_responses: Option<i32>,
    pub anonymous: bool,
    pub keep_informed: bool,
    /// Responses so far; the cap is enforced by a conditional update of this column.
    pub response_count: i32,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub published_at: Option<DateTimeUtc>,
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
