//! An answer item's response is no longer checked by a foreign key on PostgreSQL.
//!
//! There the items are written only by `surveys::items`, from responses it holds locked in
//! the same transaction, so the check could never fail; but PostgreSQL ran it once per item,
//! a query of its own for each of a response's ~20 rows, which was a tenth of its time while a
//! burst of submissions was being expanded. Responses are never deleted one by one; a survey
//! deleted with its responses takes its items with it explicitly (`surveys::repo::delete`).
//! SQLite keeps the constraint: it cannot drop one without rebuilding the table, and there the
//! items are written with their response.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .drop_foreign_key(
                ForeignKey::drop()
                    .name("fk_survey_answer_items_response")
                    .table(SurveyAnswerItems::Table)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .create_foreign_key(
                ForeignKey::create()
                    .name("fk_survey_answer_items_response")
                    .from(SurveyAnswerItems::Table, SurveyAnswerItems::ResponseId)
                    .to(SurveyResponses::Table, SurveyResponses::Id)
                    .on_delete(ForeignKeyAction::Cascade)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum SurveyAnswerItems {
    Table,
    ResponseId,
}

#[derive(DeriveIden)]
enum SurveyResponses {
    Table,
    Id,
}
