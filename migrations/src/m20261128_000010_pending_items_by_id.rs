//! The responses waiting for their answer items, in the order they are expanded (oldest
//! first, `surveys::items`). Indexed by survey alone, a pass taking the oldest waiting
//! responses walked the primary key from the first response ever stored, through every one
//! already expanded, before it reached any still waiting.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(
            manager,
            "CREATE INDEX idx_survey_responses_items_pending \
             ON survey_responses (id) WHERE items_pending",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        replace(
            manager,
            "CREATE INDEX idx_survey_responses_items_pending \
             ON survey_responses (survey_id) WHERE items_pending",
        )
        .await
    }
}

async fn replace(manager: &SchemaManager<'_>, create: &str) -> Result<(), DbErr> {
    manager
        .drop_index(
            Index::drop()
                .name("idx_survey_responses_items_pending")
                .table(SurveyResponses::Table)
                .to_owned(),
        )
        .await?;
    manager.get_connection().execute_unprepared(create).await?;
    Ok(())
}

#[derive(DeriveIden)]
enum SurveyResponses {
    Table,
}
