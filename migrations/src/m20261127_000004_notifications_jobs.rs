//! Background jobs and notifications: the job leases that keep a tick to one instance, the
//! notification outbox (which is also each resident's inbox), and the WeChat subscribe-message
//! grants residents gave us.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(JobLeases::Table)
                    .col(string_len(JobLeases::Name, 64).primary_key())
                    .col(string_len(JobLeases::Holder, 64))
                    .col(timestamp_with_time_zone(JobLeases::LeaseUntil))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(pk_uuid(Notifications::Id))
                    .col(uuid(Notifications::ResidentId))
                    .col(string_len(Notifications::Kind, 32))
                    .col(string_len(Notifications::Title, 100))
                    .col(text(Notifications::Body))
                    .col(string_len_null(Notifications::Page, 255))
                    .col(json_binary(Notifications::Data))
                    .col(timestamp_with_time_zone_null(Notifications::ReadAt))
                    .col(string_len(Notifications::DeliveryState, 16))
                    .col(string_len_null(Notifications::TemplateId, 64))
                    .col(integer(Notifications::Attempts).default(0))
                    .col(timestamp_with_time_zone(Notifications::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(Notifications::LastAttemptAt))
                    .col(uuid_null(Notifications::ClaimedBy))
                    .col(timestamp_with_time_zone_null(Notifications::ClaimedUntil))
                    .col(string_len_null(Notifications::LastError, 255))
                    .col(timestamp_with_time_zone_null(Notifications::SentAt))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notifications_resident")
                            .from(Notifications::Table, Notifications::ResidentId)
                            .to(Residents::Table, Residents::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // The inbox: one resident's notices, newest first.
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_resident")
                    .table(Notifications::Table)
                    .col(Notifications::ResidentId)
                    .col(Notifications::Id)
                    .to_owned(),
            )
            .await?;
        // The sender: rows due for delivery, and the dead-letter list.
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_delivery")
                    .table(Notifications::Table)
                    .col(Notifications::DeliveryState)
                    .col(Notifications::NextAttemptAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SubscriptionGrants::Table)
                    .col(uuid(SubscriptionGrants::ResidentId))
                    .col(string_len(SubscriptionGrants::TemplateId, 64))
                    .col(integer(SubscriptionGrants::Remaining).default(0))
                    .col(timestamp_with_time_zone(SubscriptionGrants::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(SubscriptionGrants::ResidentId)
                            .col(SubscriptionGrants::TemplateId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_subscription_grants_resident")
                            .from(SubscriptionGrants::Table, SubscriptionGrants::ResidentId)
                            .to(Residents::Table, Residents::Id),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            SubscriptionGrants::Table.into_iden(),
            Notifications::Table.into_iden(),
            JobLeases::Table.into_iden(),
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
enum JobLeases {
    Table,
    Name,
    Holder,
    LeaseUntil,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    ResidentId,
    Kind,
    Title,
    Body,
    Page,
    Data,
    ReadAt,
    DeliveryState,
    TemplateId,
    Attempts,
    NextAttemptAt,
    LastAttemptAt,
    ClaimedBy,
    ClaimedUntil,
    LastError,
    SentAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SubscriptionGrants {
    Table,
    ResidentId,
    TemplateId,
    Remaining,
    UpdatedAt,
}
