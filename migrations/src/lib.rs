//! Schema history of canyu. Each migration is a frozen snapshot: it names its tables and
//! columns with its own `DeriveIden` enums and never imports the application crate.

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_foundation;
mod m20261127_000002_personal_data_audit;
mod m20261127_000003_idempotency_keys;
mod m20261127_000004_notifications_jobs;
mod m20261127_000005_surveys;
mod m20261127_000010_deliberation;
mod m20261127_000020_open_days;
mod m20261127_000030_officers;
mod m20261127_000040_revoked_tokens;
mod m20261127_000050_deferred_answer_items;
mod m20261128_000010_pending_items_by_id;
mod m20261128_000020_idempotency_keys_room;
mod m20261128_000030_answer_items_unchecked;
mod m20261128_000040_idempotency_keys_purged_by_id;
mod m20261128_000050_submissions_unchecked;
mod m20261128_000060_participations_by_resident;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_foundation::Migration),
            Box::new(m20261127_000002_personal_data_audit::Migration),
            Box::new(m20261127_000003_idempotency_keys::Migration),
            Box::new(m20261127_000004_notifications_jobs::Migration),
            Box::new(m20261127_000005_surveys::Migration),
            Box::new(m20261127_000020_open_days::Migration),
            Box::new(m20261127_000010_deliberation::Migration),
            Box::new(m20261127_000030_officers::Migration),
            Box::new(m20261127_000040_revoked_tokens::Migration),
            Box::new(m20261127_000050_deferred_answer_items::Migration),
            Box::new(m20261128_000010_pending_items_by_id::Migration),
            Box::new(m20261128_000020_idempotency_keys_room::Migration),
            Box::new(m20261128_000030_answer_items_unchecked::Migration),
            Box::new(m20261128_000040_idempotency_keys_purged_by_id::Migration),
            Box::new(m20261128_000050_submissions_unchecked::Migration),
            Box::new(m20261128_000060_participations_by_resident::Migration),
        ]
    }
}
