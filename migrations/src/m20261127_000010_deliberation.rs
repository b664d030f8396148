//! Grassroots deliberation (基层议事): meetings with capacity, reserved seats and a waitlist,
//! residents' sign-ups with check-in codes, and the outcomes with their append-only progress
//! timeline and followers.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Deliberations::Table)
                    .col(pk_uuid(Deliberations::Id))
                    .col(string_len(Deliberations::OrgUnit, 32))
                    .col(string_len(Deliberations::Title, 100))
                    .col(text(Deliberations::Background))
                    .col(text(Deliberations::Agenda))
                    .col(string_len(Deliberations::Location, 200))
                    .col(timestamp_with_time_zone(Deliberations::StartsAt))
                    .col(timestamp_with_time_zone(Deliberations::EndsAt))
                    .col(timestamp_with_time_zone(Deliberations::SignupOpensAt))
                    .col(timestamp_with_time_zone(Deliberations::SignupClosesAt))
                    .col(integer(Deliberations::Capacity))
                    .col(integer(Deliberations::ReservedSeats).default(0))
                    // Seats taken by residents (confirmed sign-ups); counted in the database.
                    .col(integer(Deliberations::Confirmed).default(0))
                    // Arrival counter: every sign-up takes the next number under the row lock.
                    .col(integer(Deliberations::SignupSeq).default(0))
                    .col(boolean(Deliberations::WaitlistEnabled))
                    // `,code,code,` of the eligible sub-districts; empty: the whole district.
                    .col(string_len(Deliberations::Eligibility, 600).default(""))
                    .col(uuid_null(Deliberations::SourceSurveyId))
                    .col(string_len(Deliberations::Status, 16))
                    .col(timestamp_with_time_zone_null(Deliberations::RemindedAt))
                    .col(uuid(Deliberations::CreatedBy))
                    .col(timestamp_with_time_zone(Deliberations::CreatedAt))
                    .col(timestamp_with_time_zone(Deliberations::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Deliberations::PublishedAt))
                    .col(timestamp_with_time_zone_null(Deliberations::CancelledAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_deliberations_status_starts")
                    .table(Deliberations::Table)
                    .col(Deliberations::Status)
                    .col(Deliberations::StartsAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DeliberationSignups::Table)
                    .col(pk_uuid(DeliberationSignups::Id))
                    .col(uuid(DeliberationSignups::DeliberationId))
                    .col(uuid(DeliberationSignups::ResidentId))
                    .col(string_len(DeliberationSignups::Status, 16))
                    .col(integer(DeliberationSignups::Seq))
                    .col(text_null(DeliberationSignups::NameEnc))
                    .col(text_null(DeliberationSignups::PhoneEnc))
                    .col(string_len_null(DeliberationSignups::PhoneHash, 64))
                    .col(string_len_null(DeliberationSignups::Community, 100))
                    .col(text_null(DeliberationSignups::Note))
                    .col(string_len_null(DeliberationSignups::CheckInCode, 8))
                    .col(timestamp_with_time_zone_null(
                        DeliberationSignups::CheckedInAt,
                    ))
                    .col(uuid_null(DeliberationSignups::CheckedInBy))
                    .col(timestamp_with_time_zone(DeliberationSignups::CreatedAt))
                    .col(timestamp_with_time_zone(DeliberationSignups::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_signups_deliberation")
                            .from(
                                DeliberationSignups::Table,
                                DeliberationSignups::DeliberationId,
                            )
                            .to(Deliberations::Table, Deliberations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_signups_resident")
                            .from(DeliberationSignups::Table, DeliberationSignups::ResidentId)
                            .to(Residents::Table, Residents::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One sign-up per resident per meeting (a cancelled one is reused on signing up again).
        manager
            .create_index(
                Index::create()
                    .name("uq_signups_deliberation_resident")
                    .table(DeliberationSignups::Table)
                    .col(DeliberationSignups::DeliberationId)
                    .col(DeliberationSignups::ResidentId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_signups_check_in_code")
                    .table(DeliberationSignups::Table)
                    .col(DeliberationSignups::CheckInCode)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_signups_deliberation_status_seq")
                    .table(DeliberationSignups::Table)
                    .col(DeliberationSignups::DeliberationId)
                    .col(DeliberationSignups::Status)
                    .col(DeliberationSignups::Seq)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_signups_resident")
                    .table(DeliberationSignups::Table)
                    .col(DeliberationSignups::ResidentId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Outcomes::Table)
                    .col(pk_uuid(Outcomes::Id))
                    .col(uuid(Outcomes::DeliberationId))
                    .col(uuid_null(Outcomes::ParentId))
                    .col(string_len(Outcomes::Title, 100))
                    .col(text(Outcomes::Description))
                    .col(string_len(Outcomes::ResponsibleUnit, 100))
                    .col(date(Outcomes::DueDate))
                    .col(integer(Outcomes::Weight))
                    .col(string_len(Outcomes::Status, 16))
                    .col(integer(Outcomes::Percent).default(0))
                    .col(timestamp_with_time_zone_null(Outcomes::LastProgressAt))
                    .col(uuid(Outcomes::CreatedBy))
                    .col(timestamp_with_time_zone(Outcomes::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_outcomes_deliberation")
                            .from(Outcomes::Table, Outcomes::DeliberationId)
                            .to(Deliberations::Table, Deliberations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_outcomes_parent")
                            .from(Outcomes::Table, Outcomes::ParentId)
                            .to(Outcomes::Table, Outcomes::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_outcomes_deliberation")
                    .table(Outcomes::Table)
                    .col(Outcomes::DeliberationId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OutcomeProgress::Table)
                    .col(pk_uuid(OutcomeProgress::Id))
                    .col(uuid(OutcomeProgress::OutcomeId))
                    .col(string_len(OutcomeProgress::Status, 16))
                    .col(integer(OutcomeProgress::Percent))
                    .col(text(OutcomeProgress::Note))
                    .col(date(OutcomeProgress::HappenedOn))
                    .col(uuid_null(OutcomeProgress::Corrects))
                    .col(uuid(OutcomeProgress::CreatedBy))
                    .col(timestamp_with_time_zone(OutcomeProgress::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_progress_outcome")
                            .from(OutcomeProgress::Table, OutcomeProgress::OutcomeId)
                            .to(Outcomes::Table, Outcomes::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_progress_outcome")
                    .table(OutcomeProgress::Table)
                    .col(OutcomeProgress::OutcomeId)
                    .col(OutcomeProgress::Id)
                    .to_owned(),
            )
            .await?;
        // The timeline is append-only in the database itself: a correction is a new entry.
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION outcome_progress_append_only() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION 'outcome_progress is append-only'; END; $$ LANGUAGE plpgsql; \
                     CREATE TRIGGER outcome_progress_append_only BEFORE UPDATE OR DELETE ON outcome_progress \
                     FOR EACH ROW EXECUTE FUNCTION outcome_progress_append_only();",
                )
                .await?;
            }
            DbBackend::Sqlite => {
                db.execute_unprepared(
                    "CREATE TRIGGER outcome_progress_no_update BEFORE UPDATE ON outcome_progress \
                     BEGIN SELECT RAISE(ABORT, 'outcome_progress is append-only'); END; \
                     CREATE TRIGGER outcome_progress_no_delete BEFORE DELETE ON outcome_progress \
                     BEGIN SELECT RAISE(ABORT, 'outcome_progress is append-only'); END;",
                )
                .await?;
            }
            _ => {}
        }

        manager
            .create_table(
                Table::create()
                    .table(OutcomeFollows::Table)
                    .col(uuid(OutcomeFollows::OutcomeId))
                    .col(uuid(OutcomeFollows::ResidentId))
                    .col(timestamp_with_time_zone(OutcomeFollows::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(OutcomeFollows::OutcomeId)
                            .col(OutcomeFollows::ResidentId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_follows_outcome")
                            .from(OutcomeFollows::Table, OutcomeFollows::OutcomeId)
                            .to(Outcomes::Table, Outcomes::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_follows_resident")
                            .from(OutcomeFollows::Table, OutcomeFollows::ResidentId)
                            .to(Residents::Table, Residents::Id),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared(
                    "DROP TRIGGER IF EXISTS outcome_progress_append_only ON outcome_progress; \
                     DROP FUNCTION IF EXISTS outcome_progress_append_only();",
                )
                .await?;
        }
        for table in [
            OutcomeFollows::Table.into_iden(),
            OutcomeProgress::Table.into_iden(),
            Outcomes::Table.into_iden(),
            DeliberationSignups::Table.into_iden(),
            Deliberations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Residents {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Deliberations {
    Table,
    Id,
    OrgUnit,
    Title,
    Background,
    Agenda,
    Location,
    StartsAt,
    EndsAt,
    SignupOpensAt,
    SignupClosesAt,
    Capacity,
    ReservedSeats,
    Confirmed,
    SignupSeq,
    WaitlistEnabled,
    Eligibility,
    SourceSurveyId,
    Status,
    RemindedAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    PublishedAt,
    CancelledAt,
}

#[derive(DeriveIden)]
enum DeliberationSignups {
    Table,
    Id,
    DeliberationId,
    ResidentId,
    Status,
    Seq,
    NameEnc,
    PhoneEnc,
    PhoneHash,
    Community,
    Note,
    CheckInCode,
    CheckedInAt,
    CheckedInBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Outcomes {
    Table,
    Id,
    DeliberationId,
    ParentId,
    Title,
    Description,
    ResponsibleUnit,
    DueDate,
    Weight,
    Status,
    Percent,
    LastProgressAt,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OutcomeProgress {
    Table,
    Id,
    OutcomeId,
    Status,
    Percent,
    Note,
    HappenedOn,
    Corrects,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OutcomeFollows {
    Table,
    OutcomeId,
    ResidentId,
    CreatedAt,
}
