//! Open days (主题开放日): events with time slots, residents' reservations (seats taken by a
//! conditional update on `open_day_slots.taken`), check-ins and no-shows.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OpenDays::Table)
                    .col(pk_uuid(OpenDays::Id))
                    .col(uuid(OpenDays::OrgUnitId))
                    .col(string_len(OpenDays::Title, 100))
                    .col(text(OpenDays::Description))
                    .col(string_len(OpenDays::Location, 200))
                    .col(timestamp_with_time_zone(OpenDays::BookingOpensAt))
                    .col(timestamp_with_time_zone(OpenDays::BookingClosesAt))
                    .col(integer(OpenDays::CancelCutoffMinutes))
                    .col(integer(OpenDays::MaxPartySize))
                    .col(string_len(OpenDays::Eligibility, 500))
                    .col(string_len(OpenDays::Status, 16))
                    .col(uuid(OpenDays::CreatedBy))
                    .col(timestamp_with_time_zone(OpenDays::CreatedAt))
                    .col(timestamp_with_time_zone(OpenDays::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_open_days_org_unit")
                            .from(OpenDays::Table, OpenDays::OrgUnitId)
                            .to(OrgUnits::Table, OrgUnits::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_open_days_status")
                    .table(OpenDays::Table)
                    .col(OpenDays::Status)
                    .col(OpenDays::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OpenDaySlots::Table)
                    .col(pk_uuid(OpenDaySlots::Id))
                    .col(uuid(OpenDaySlots::OpenDayId))
                    .col(timestamp_with_time_zone(OpenDaySlots::StartsAt))
                    .col(timestamp_with_time_zone(OpenDaySlots::EndsAt))
                    .col(integer(OpenDaySlots::Capacity))
                    .col(integer(OpenDaySlots::Taken).default(0))
                    .check(Expr::col(OpenDaySlots::Taken).gte(0))
                    .check(Expr::col(OpenDaySlots::Taken).lte(Expr::col(OpenDaySlots::Capacity)))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_open_day_slots_open_day")
                            .from(OpenDaySlots::Table, OpenDaySlots::OpenDayId)
                            .to(OpenDays::Table, OpenDays::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_open_day_slots_open_day")
                    .table(OpenDaySlots::Table)
                    .col(OpenDaySlots::OpenDayId)
                    .col(OpenDaySlots::StartsAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Reservations::Table)
                    .col(pk_uuid(Reservations::Id))
                    .col(uuid(Reservations::OpenDayId))
                    .col(uuid(Reservations::SlotId))
                    .col(uuid(Reservations::ResidentId))
                    // The resident while the reservation is active (confirmed or waitlisted),
                    // NULL afterwards: the unique index below then allows one active
                    // reservation per resident per event on SQLite and PostgreSQL alike.
                    .col(uuid_null(Reservations::ActiveResidentId))
                    .col(integer(Reservations::PartySize))
                    .col(text_null(Reservations::VisitorNameEnc))
                    .col(text_null(Reservations::PhoneEnc))
                    .col(string_len(Reservations::VerificationCode, 8))
                    .col(string_len(Reservations::Status, 16))
                    .col(timestamp_with_time_zone(Reservations::CreatedAt))
                    .col(timestamp_with_time_zone_null(Reservations::ConfirmedAt))
                    .col(timestamp_with_time_zone_null(Reservations::CancelledAt))
                    .col(timestamp_with_time_zone_null(Reservations::CheckedInAt))
                    .col(uuid_null(Reservations::CheckedInBy))
                    .col(timestamp_with_time_zone_null(Reservations::NoShowAt))
                    .col(timestamp_with_time_zone_null(Reservations::RemindedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reservations_open_day")
                            .from(Reservations::Table, Reservations::OpenDayId)
                            .to(OpenDays::Table, OpenDays::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reservations_slot")
                            .from(Reservations::Table, Reservations::SlotId)
                            .to(OpenDaySlots::Table, OpenDaySlots::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_reservations_resident")
                            .from(Reservations::Table, Reservations::ResidentId)
                            .to(Residents::Table, Residents::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_reservations_active")
                    .table(Reservations::Table)
                    .col(Reservations::OpenDayId)
                    .col(Reservations::ActiveResidentId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_reservations_code")
                    .table(Reservations::Table)
                    .col(Reservations::OpenDayId)
                    .col(Reservations::VerificationCode)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_reservations_slot_status")
                    .table(Reservations::Table)
                    .col(Reservations::SlotId)
                    .col(Reservations::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_reservations_resident")
                    .table(Reservations::Table)
                    .col(Reservations::ResidentId)
                    .col(Reservations::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Reservations::Table.into_iden(),
            OpenDaySlots::Table.into_iden(),
            OpenDays::Table.into_iden(),
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
enum OrgUnits {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum OpenDays {
    Table,
    Id,
    OrgUnitId,
    Title,
    Description,
    Location,
    BookingOpensAt,
    BookingClosesAt,
    CancelCutoffMinutes,
    MaxPartySize,
    Eligibility,
    Status,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OpenDaySlots {
    Table,
    Id,
    OpenDayId,
    StartsAt,
    EndsAt,
    Capacity,
    Taken,
}

#[derive(DeriveIden)]
enum Reservations {
    Table,
    Id,
    OpenDayId,
    SlotId,
    ResidentId,
    ActiveResidentId,
    PartySize,
    VisitorNameEnc,
    PhoneEnc,
    VerificationCode,
    Status,
    CreatedAt,
    ConfirmedAt,
    CancelledAt,
    CheckedInAt,
    CheckedInBy,
    NoShowAt,
    RemindedAt,
}
