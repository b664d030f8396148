use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_responses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub survey_id: Uuid,
    pub version: i32,
    /// `None` for anonymous surveys.
    pub respondent_id: Option<Uuid>,
    pub sub_district: Option<String>,
    /// Canonical answers by question id (JSON).
    pub answers: String,
    pub submitted_at: DateTimeUtc,
    /// Its answer items are not written yet (`surveys::items`).
    pub items_pending: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
