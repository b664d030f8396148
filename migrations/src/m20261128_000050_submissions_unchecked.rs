//! A participation's and a response's survey are no longer checked by foreign keys on
//! PostgreSQL.
//!
//! There both rows are written only by the submissions' group commit (`surveys::writer`),
//! whose statement holds the surveys it writes for (`FOR KEY SHARE`) once per batch, and by a
//! capped survey's own transaction (`surveys::service::write_alone`), which holds its row to
//! count the response. Each key took the same lock again for every row, a query of its own
//! per submission and per table, in the statement every resident of a burst waits for. A
//! survey is deleted only before anyone answered it; its rows go with it by name
//! (`surveys::repo::delete`). SQLite keeps the constraints: it cannot drop one without
//! rebuilding the table, and there every submission is written on its own.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

const KEYS: [(&str, Tables); 2] = [
    (
        "fk_survey_participations_survey",
        Tables::SurveyParticipations,
    ),
    ("fk_survey_responses_survey", Tables::SurveyResponses),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for (name, table) in KEYS {
            manager
                .drop_foreign_key(ForeignKey::drop().name(name).table(table).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for (name, table) in KEYS {
            manager
                .create_foreign_key(
                    ForeignKey::create()
                        .name(name)
                        .from(table, Tables::SurveyId)
                        .to(Tables::Surveys, Tables::Id)
                        .on_delete(ForeignKeyAction::Cascade)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum Tables {
    Surveys,
    SurveyParticipations,
    SurveyResponses,
    Id,
    SurveyId,
}
