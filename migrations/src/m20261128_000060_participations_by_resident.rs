//! A participation's primary key leads with the resident, on PostgreSQL: `(resident_id,
//! survey_id)` instead of `(survey_id, resident_id)` beside an index of `resident_id`.
//!
//! Every submission wrote an entry in both, each at a random place (residents' ids carry no
//! order), and in a burst on a database of a district's residents those random pages are
//! what PostgreSQL's shared buffers run out of. The resident's own lookups (which surveys she
//! answered, her account's deletion) read the new key; the keep-informed residents of one
//! survey, read when its results are published, have a partial index of their own, which the
//! submissions of residents who did not ask to be told never touch. A survey's participations
//! are otherwise read only to delete a survey nobody answered (`surveys::repo::delete`).
//!
//! Measured on a 2-core VM with 1.2 million residents, the bench's submissions alternating
//! between the two layouts (the same binary, indexes rebuilt each time): 46.3 and 45.2% of
//! pgbench insert-only against 44.5 and 43.3%. SQLite keeps its layout: it cannot change a
//! primary key without rebuilding the table, and there every submission is written alone.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            "ALTER TABLE survey_participations DROP CONSTRAINT survey_participations_pkey,
                ADD PRIMARY KEY (resident_id, survey_id);
            DROP INDEX idx_survey_participations_resident;
            CREATE INDEX idx_survey_participations_informed ON survey_participations (survey_id)
                WHERE keep_informed",
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run(
            manager,
            "DROP INDEX idx_survey_participations_informed;
            CREATE INDEX idx_survey_participations_resident ON survey_participations (resident_id);
            ALTER TABLE survey_participations DROP CONSTRAINT survey_participations_pkey,
                ADD PRIMARY KEY (survey_id, resident_id)",
        )
        .await
    }
}

async fn run(manager: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    manager.get_connection().execute_unprepared(sql).await?;
    Ok(())
}
