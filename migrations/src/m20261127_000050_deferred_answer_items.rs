//! A response can be stored before its answer items: on PostgreSQL a burst of submissions
//! writes the response rows only, and the items follow off the request path
//! (`surveys::items`). The partial index finds the few responses still waiting.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SurveyResponses::Table)
                    .add_column(boolean(SurveyResponses::ItemsPending).default(false))
                    .to_owned(),
            )
            .await?;
        // Partial, so it holds only the responses waiting (none once caught up); written the
        // same way on SQLite and PostgreSQL.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_survey_responses_items_pending \
                 ON survey_responses (survey_id) WHERE items_pending",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_survey_responses_items_pending")
                    .table(SurveyResponses::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(SurveyResponses::Table)
                    .drop_column(SurveyResponses::ItemsPending)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum SurveyResponses {
    Table,
    ItemsPending,
}
