//! Personal data at rest: residents' phone numbers become ciphertext plus a keyed lookup hash
//! (the plaintext column goes; canyu had no production data yet), accounts can be erased, and
//! two append-only records: the consents residents gave and the audit log of staff actions.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one change per ALTER TABLE.
        for column in [
            text_null(Residents::PhoneEnc),
            string_len_null(Residents::PhoneHash, 64),
            timestamp_with_time_zone_null(Residents::DeletedAt),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Residents::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Residents::Table)
                    .drop_column(Residents::Phone)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_residents_phone_hash")
                    .table(Residents::Table)
                    .col(Residents::PhoneHash)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Consents::Table)
                    .col(pk_uuid(Consents::Id))
                    .col(uuid(Consents::ResidentId))
                    .col(string_len(Consents::Purpose, 64))
                    .col(string_len(Consents::NoticeVersion, 32))
                    .col(timestamp_with_time_zone(Consents::AcceptedAt))
                    .col(string_len_null(Consents::RequestId, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_consents_resident")
                    .table(Consents::Table)
                    .col(Consents::ResidentId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(pk_uuid(AuditLog::Id))
                    .col(timestamp_with_time_zone(AuditLog::At))
                    .col(uuid(AuditLog::ActorId))
                    .col(string_len(AuditLog::ActorName, 64))
                    .col(string_len(AuditLog::ActorRole, 16))
                    .col(string_len(AuditLog::ActorOrgUnit, 32))
                    .col(string_len(AuditLog::Action, 64))
                    .col(string_len(AuditLog::TargetType, 32))
                    .col(string_len(AuditLog::TargetId, 64))
                    .col(text_null(AuditLog::Detail))
                    .col(string_len_null(AuditLog::RequestId, 64))
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("idx_audit_actor", AuditLog::ActorId),
            ("idx_audit_target", AuditLog::TargetId),
            ("idx_audit_at", AuditLog::At),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuditLog::Table)
                        .col(col)
                        .to_owned(),
                )
                .await?;
        }
        // Append-only in the database itself, not just by convention of the code.
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql; \
                     CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log \
                     FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();",
                )
                .await?;
            }
            DbBackend::Sqlite => {
                db.execute_unprepared(
                    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log \
                     BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END; \
                     CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log \
                     BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;",
                )
                .await?;
            }
            _ => {}
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log; \
                 DROP FUNCTION IF EXISTS audit_log_append_only();",
            )
            .await?;
        }
        manager
            .drop_table(Table::drop().table(AuditLog::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Consents::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_residents_phone_hash")
                    .table(Residents::Table)
                    .to_owned(),
            )
            .await?;
        for column in [
            Residents::PhoneEnc,
            Residents::PhoneHash,
            Residents::DeletedAt,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Residents::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Residents::Table)
                    .add_column(string_len_null(Residents::Phone, 20))
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Residents {
    Table,
    Phone,
    PhoneEnc,
    PhoneHash,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Consents {
    Table,
    Id,
    ResidentId,
    Purpose,
    NoticeVersion,
    AcceptedAt,
    RequestId,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    ActorId,
    ActorName,
    ActorRole,
    ActorOrgUnit,
    Action,
    TargetType,
    TargetId,
    Detail,
    RequestId,
}
