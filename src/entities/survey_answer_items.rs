use sea_orm::entity::prelude::*;

/// One answer broken down for aggregation: a chosen option (per matrix row), a number, a
/// rank position or a text.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "survey_answer_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub response_id: Uuid,
    pub survey_id: Uuid,
    pub question_id: String,
    pub row_id: Option<String>,
    pub option_id: Option<String>,
    pub num: Option<f64>,
    pub text: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
