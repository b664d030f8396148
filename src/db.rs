//! Connecting to the database and bringing its schema up to date.

use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

use crate::config::Settings;

pub async fn connect(settings: &Settings) -> Result<DatabaseConnection, DbErr> {
    if settings.uses_embedded_database() {
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
            DbErr::Custom(format!(
                "cannot create {}: {e}",
                settings.data_dir.display()
            ))
        })?;
    }
    let url = settings.effective_database_url();
    let mut opts = ConnectOptions::new(url.clone());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5));
    if url.starts_with("sqlite") {
        // One connection: SQLite has one writer, and a single connection turns would-be
        // "database is locked" errors into an orderly queue. The queue is the design, so a
        // burst (hundreds signing up for one meeting at once) waits longer before giving up.
        opts.max_connections(1)
            .acquire_timeout(Duration::from_secs(30));
    } else {
        // While PostgreSQL is away (restarting) the pool keeps retrying refused connections
        // until this deadline: it bounds how long a request waits before its 503.
        opts.max_connections(settings.database_max_connections)
            .acquire_timeout(Duration::from_millis(
                settings.database_acquire_timeout_ms.max(100),
            ));
    }
    Database::connect(opts).await
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}
