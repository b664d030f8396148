//! Invited experience officers (特邀体验员): recruitment campaigns (places taken by a
//! conditional update on `officer_campaigns.approved`), applications, officers serving a term,
//! experience activities with sign-ups, and feedback that staff answer.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OfficerCampaigns::Table)
                    .col(pk_uuid(OfficerCampaigns::Id))
                    .col(uuid(OfficerCampaigns::OrgUnitId))
                    .col(string_len(OfficerCampaigns::Title, 100))
                    .col(text(OfficerCampaigns::Description))
                    .col(integer(OfficerCampaigns::Quota))
                    .col(integer(OfficerCampaigns::Approved).default(0))
                    .col(text(OfficerCampaigns::Requirements))
                    .col(timestamp_with_time_zone(OfficerCampaigns::ApplyOpensAt))
                    .col(timestamp_with_time_zone(OfficerCampaigns::ApplyClosesAt))
                    .col(integer(OfficerCampaigns::TermMonths))
                    .col(string_len(OfficerCampaigns::Status, 16))
                    .col(uuid(OfficerCampaigns::CreatedBy))
                    .col(timestamp_with_time_zone(OfficerCampaigns::CreatedAt))
                    .col(timestamp_with_time_zone(OfficerCampaigns::UpdatedAt))
                    .check(Expr::col(OfficerCampaigns::Approved).gte(0))
                    .check(
                        Expr::col(OfficerCampaigns::Approved)
                            .lte(Expr::col(OfficerCampaigns::Quota)),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_officer_campaigns_org_unit")
                            .from(OfficerCampaigns::Table, OfficerCampaigns::OrgUnitId)
                            .to(OrgUnits::Table, OrgUnits::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_officer_campaigns_status")
                    .table(OfficerCampaigns::Table)
                    .col(OfficerCampaigns::Status)
                    .col(OfficerCampaigns::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OfficerApplications::Table)
                    .col(pk_uuid(OfficerApplications::Id))
                    .col(uuid(OfficerApplications::CampaignId))
                    .col(uuid(OfficerApplications::ResidentId))
                    // The resident while the application is pending or approved, NULL once
                    // withdrawn or rejected: the unique index below then allows one active
                    // application per resident per campaign on SQLite and PostgreSQL alike.
                    .col(uuid_null(OfficerApplications::ActiveResidentId))
                    .col(text_null(OfficerApplications::RealNameEnc))
                    .col(text_null(OfficerApplications::PhoneEnc))
                    .col(string_len_null(OfficerApplications::PhoneHash, 64))
                    .col(string_len_null(OfficerApplications::AgeGroup, 16))
                    .col(string_len_null(OfficerApplications::Occupation, 100))
                    .col(string_len_null(OfficerApplications::Community, 100))
                    .col(text_null(OfficerApplications::Motivation))
                    .col(string_len(OfficerApplications::Status, 16))
                    .col(text_null(OfficerApplications::Reason))
                    .col(uuid_null(OfficerApplications::ReviewedBy))
                    .col(timestamp_with_time_zone_null(
                        OfficerApplications::ReviewedAt,
                    ))
                    .col(timestamp_with_time_zone(OfficerApplications::CreatedAt))
                    .col(timestamp_with_time_zone(OfficerApplications::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_officer_applications_campaign")
                            .from(OfficerApplications::Table, OfficerApplications::CampaignId)
                            .to(OfficerCampaigns::Table, OfficerCampaigns::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_officer_applications_resident")
                            .from(OfficerApplications::Table, OfficerApplications::ResidentId)
                            .to(Residents::Table, Residents::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_officer_applications_active")
                    .table(OfficerApplications::Table)
                    .col(OfficerApplications::CampaignId)
                    .col(OfficerApplications::ActiveResidentId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_officer_applications_campaign_status")
                    .table(OfficerApplications::Table)
                    .col(OfficerApplications::CampaignId)
                    .col(OfficerApplications::Status)
                    .col(OfficerApplications::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_officer_applications_resident")
                    .table(OfficerApplications::Table)
                    .col(OfficerApplications::ResidentId)
                    .col(OfficerApplications::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Officers::Table)
                    .col(pk_uuid(Officers::Id))
                    .col(uuid(Officers::CampaignId))
                    .col(uuid_uniq(Officers::ApplicationId))
                    .col(uuid(Officers::ResidentId))
                    .col(timestamp_with_time_zone(Officers::TermStartsAt))
                    .col(timestamp_with_time_zone(Officers::TermEndsAt))
                    .col(timestamp_with_time_zone_null(Officers::EndedAt))
                    .col(text_null(Officers::EndReason))
                    .col(uuid_null(Officers::EndedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_officers_campaign")
                            .from(Officers::Table, Officers::CampaignId)
                            .to(OfficerCampaigns::Table, OfficerCampaigns::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_officers_application")
                            .from(Officers::Table, Officers::ApplicationId)
                            .to(OfficerApplications::Table, OfficerApplications::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_officers_resident")
                            .from(Officers::Table, Officers::ResidentId)
                            .to(Residents::Table, Residents::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_officers_campaign")
                    .table(Officers::Table)
                    .col(Officers::CampaignId)
                    .col(Officers::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_officers_resident")
                    .table(Officers::Table)
                    .col(Officers::ResidentId)
                    .col(Officers::CampaignId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OfficerActivities::Table)
                    .col(pk_uuid(OfficerActivities::Id))
                    .col(uuid(OfficerActivities::CampaignId))
                    .col(string_len(OfficerActivities::Title, 100))
                    .col(string_len(OfficerActivities::ServiceToExperience, 200))
                    .col(string_len(OfficerActivities::Location, 200))
                    .col(timestamp_with_time_zone(OfficerActivities::StartsAt))
                    .col(timestamp_with_time_zone(OfficerActivities::EndsAt))
                    .col(integer(OfficerActivities::Capacity))
                    .col(integer(OfficerActivities::Taken).default(0))
                    .col(uuid(OfficerActivities::CreatedBy))
                    .col(timestamp_with_time_zone(OfficerActivities::CreatedAt))
                    .check(Expr::col(OfficerActivities::Taken).gte(0))
                    .check(
                        Expr::col(OfficerActivities::Taken)
                            .lte(Expr::col(OfficerActivities::Capacity)),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_officer_activities_campaign")
                            .from(OfficerActivities::Table, OfficerActivities::CampaignId)
                            .to(OfficerCampaigns::Table, OfficerCampaigns::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_officer_activities_campaign")
                    .table(OfficerActivities::Table)
                    .col(OfficerActivities::CampaignId)
                    .col(OfficerActivities::StartsAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OfficerActivitySignups::Table)
                    .col(pk_uuid(OfficerActivitySignups::Id))
                    .col(uuid(OfficerActivitySignups::ActivityId))
                    .col(uuid(OfficerActivitySignups::OfficerId))
                    .col(uuid(OfficerActivitySignups::ResidentId))
                    .col(timestamp_with_time_zone(OfficerActivitySignups::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_officer_activity_signups_activity")
                            .from(
                                OfficerActivitySignups::Table,
                                OfficerActivitySignups::ActivityId,
                            )
                            .to(OfficerActivities::Table, OfficerActivities::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_officer_activity_signups_officer")
                            .from(
                                OfficerActivitySignups::Table,
                                OfficerActivitySignups::OfficerId,
                            )
                            .to(Officers::Table, Officers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_officer_activity_signups")
                    .table(OfficerActivitySignups::Table)
                    .col(OfficerActivitySignups::ActivityId)
                    .col(OfficerActivitySignups::OfficerId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OfficerFeedback::Table)
                    .col(pk_uuid(OfficerFeedback::Id))
                    .col(uuid(OfficerFeedback::ActivityId))
                    .col(uuid(OfficerFeedback::CampaignId))
                    .col(uuid(OfficerFeedback::OfficerId))
                    .col(uuid(OfficerFeedback::ResidentId))
                    .col(integer(OfficerFeedback::Rating))
                    // A JSON array of strings.
                    .col(text(OfficerFeedback::Findings))
                    .col(text(OfficerFeedback::Suggestions))
                    .col(boolean(OfficerFeedback::NeedsReview).default(false))
                    .col(string_len_null(OfficerFeedback::ReplyStatus, 16))
                    .col(timestamp_with_time_zone_null(
                        OfficerFeedback::FirstRepliedAt,
                    ))
                    .col(timestamp_with_time_zone_null(
                        OfficerFeedback::LastRepliedAt,
                    ))
                    .col(timestamp_with_time_zone(OfficerFeedback::CreatedAt))
                    .check(Expr::col(OfficerFeedback::Rating).between(1, 5))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_officer_feedback_activity")
                            .from(OfficerFeedback::Table, OfficerFeedback::ActivityId)
                            .to(OfficerActivities::Table, OfficerActivities::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_officer_feedback_officer")
                            .from(OfficerFeedback::Table, OfficerFeedback::OfficerId)
                            .to(Officers::Table, Officers::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_officer_feedback_activity_officer")
                    .table(OfficerFeedback::Table)
                    .col(OfficerFeedback::ActivityId)
                    .col(OfficerFeedback::OfficerId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_officer_feedback_campaign")
                    .table(OfficerFeedback::Table)
                    .col(OfficerFeedback::CampaignId)
                    .col(OfficerFeedback::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_officer_feedback_resident")
                    .table(OfficerFeedback::Table)
                    .col(OfficerFeedback::ResidentId)
                    .col(OfficerFeedback::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OfficerFeedbackReplies::Table)
                    .col(pk_uuid(OfficerFeedbackReplies::Id))
                    .col(uuid(OfficerFeedbackReplies::FeedbackId))
                    .col(string_len(OfficerFeedbackReplies::Status, 16))
                    .col(text(OfficerFeedbackReplies::Response))
                    .col(text_null(OfficerFeedbackReplies::Reason))
                    .col(uuid(OfficerFeedbackReplies::StaffId))
                    .col(timestamp_with_time_zone(OfficerFeedbackReplies::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_officer_feedback_replies_feedback")
                            .from(
                                OfficerFeedbackReplies::Table,
                                OfficerFeedbackReplies::FeedbackId,
                            )
                            .to(OfficerFeedback::Table, OfficerFeedback::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_officer_feedback_replies_feedback")
                    .table(OfficerFeedbackReplies::Table)
                    .col(OfficerFeedbackReplies::FeedbackId)
                    .col(OfficerFeedbackReplies::Id)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            OfficerFeedbackReplies::Table.into_iden(),
            OfficerFeedback::Table.into_iden(),
            OfficerActivitySignups::Table.into_iden(),
            OfficerActivities::Table.into_iden(),
            Officers::Table.into_iden(),
            OfficerApplications::Table.into_iden(),
            OfficerCampaigns::Table.into_iden(),
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
enum OfficerCampaigns {
    Table,
    Id,
    OrgUnitId,
    Title,
    Description,
    Quota,
    Approved,
    Requirements,
    ApplyOpensAt,
    ApplyClosesAt,
    TermMonths,
    Status,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum OfficerApplications {
    Table,
    Id,
    CampaignId,
    ResidentId,
    ActiveResidentId,
    RealNameEnc,
    PhoneEnc,
    PhoneHash,
    AgeGroup,
    Occupation,
    Community,
    Motivation,
    Status,
    Reason,
    ReviewedBy,
    ReviewedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Officers {
    Table,
    Id,
    CampaignId,
    ApplicationId,
    ResidentId,
    TermStartsAt,
    TermEndsAt,
    EndedAt,
    EndReason,
    EndedBy,
}

#[derive(DeriveIden)]
enum OfficerActivities {
    Table,
    Id,
    CampaignId,
    Title,
    ServiceToExperience,
    Location,
    StartsAt,
    EndsAt,
    Capacity,
    Taken,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OfficerActivitySignups {
    Table,
    Id,
    ActivityId,
    OfficerId,
    ResidentId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OfficerFeedback {
    Table,
    Id,
    ActivityId,
    CampaignId,
    OfficerId,
    ResidentId,
    Rating,
    Findings,
    Suggestions,
    NeedsReview,
    ReplyStatus,
    FirstRepliedAt,
    LastRepliedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OfficerFeedbackReplies {
    Table,
    Id,
    FeedbackId,
    Status,
    Response,
    Reason,
    StaffId,
    CreatedAt,
}
