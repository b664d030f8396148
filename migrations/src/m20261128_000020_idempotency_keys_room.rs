//! Every idempotency key is written twice: claimed when its request starts, and updated with
//! the answer (~100 bytes more) when it ends. At the default fillfactor the pages are full
//! of fresh claims, so about half of the updates found no room on their page and wrote new
//! entries in all three of the table's indexes. With room left on each page, the update
//! stays on the page and touches no index (a HOT update). PostgreSQL only: SQLite has no
//! such setting.

use sea_orm_migration::{prelude::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_fillfactor(manager, 50).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        set_fillfactor(manager, 100).await
    }
}

async fn set_fillfactor(manager: &SchemaManager<'_>, percent: u8) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    manager
        .get_connection()
        .execute_unprepared(&format!(
            "ALTER TABLE idempotency_keys SET (fillfactor = {percent})"
        ))
        .await?;
    Ok(())
}
