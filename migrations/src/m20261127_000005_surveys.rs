//! Surveys: the survey with its editable draft, immutable published versions, responses (with
//! their answers broken into items for aggregation), and participations kept apart from
//! answers so anonymous surveys still take one response per resident.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Surveys::Table)
                    .col(pk_uuid(Surveys::Id))
                    .col(uuid(Surveys::OrgUnitId))
                    .col(string_len(Surveys::Status, 16))
                    .col(string_len(Surveys::Title, 200))
                    .col(text(Surveys::Draft))
                    .col(integer_null(Surveys::CurrentVersion))
                    .col(json_null(Surveys::Audience))
                    .col(timestamp_with_time_zone_null(Surveys::OpensAt))
                    .col(timestamp_with_time_zone_null(Surveys::ClosesAt))
                    .col(integer_null(Surveys::MaxResponses))
                    .col(boolean(Surveys::Anonymous).default(false))
                    .col(boolean(Surveys::KeepInformed).default(false))
                    .col(integer(Surveys::ResponseCount).default(0))
                    .col(uuid(Surveys::CreatedBy))
                    .col(timestamp_with_time_zone(Surveys::CreatedAt))
                    .col(timestamp_with_time_zone(Surveys::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Surveys::PublishedAt))
                    .col(timestamp_with_time_zone_null(Surveys::ClosedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_surveys_org_unit")
                            .from(Surveys::Table, Surveys::OrgUnitId)
                            .to(OrgUnits::Table, OrgUnits::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_surveys_status")
                    .table(Surveys::Table)
                    .col(Surveys::Status)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SurveyVersions::Table)
                    .col(pk_uuid(SurveyVersions::Id))
                    .col(uuid(SurveyVersions::SurveyId))
                    .col(integer(SurveyVersions::Version))
                    .col(text(SurveyVersions::Body))
                    .col(timestamp_with_time_zone(SurveyVersions::PublishedAt))
                    .col(uuid(SurveyVersions::PublishedBy))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_survey_versions_survey")
                            .from(SurveyVersions::Table, SurveyVersions::SurveyId)
                            .to(Surveys::Table, Surveys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_survey_versions")
                    .table(SurveyVersions::Table)
                    .col(SurveyVersions::SurveyId)
                    .col(SurveyVersions::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SurveyParticipations::Table)
                    .col(uuid(SurveyParticipations::SurveyId))
                    .col(uuid(SurveyParticipations::ResidentId))
                    .col(boolean(SurveyParticipations::KeepInformed).default(false))
                    // A day, not an instant: an exact time would let anyone match an
                    // anonymous response to its resident.
                    .col(date(SurveyParticipations::OnDay))
                    .primary_key(
                        Index::create()
                            .col(SurveyParticipations::SurveyId)
                            .col(SurveyParticipations::ResidentId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_survey_participations_survey")
                            .from(SurveyParticipations::Table, SurveyParticipations::SurveyId)
                            .to(Surveys::Table, Surveys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_survey_participations_resident")
                    .table(SurveyParticipations::Table)
                    .col(SurveyParticipations::ResidentId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SurveyResponses::Table)
                    .col(pk_uuid(SurveyResponses::Id))
                    .col(uuid(SurveyResponses::SurveyId))
                    .col(integer(SurveyResponses::Version))
                    .col(uuid_null(SurveyResponses::RespondentId))
                    .col(string_len_null(SurveyResponses::SubDistrict, 32))
                    .col(text(SurveyResponses::Answers))
                    .col(timestamp_with_time_zone(SurveyResponses::SubmittedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_survey_responses_survey")
                            .from(SurveyResponses::Table, SurveyResponses::SurveyId)
                            .to(Surveys::Table, Surveys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_survey_responses_respondent")
                    .table(SurveyResponses::Table)
                    .col(SurveyResponses::SurveyId)
                    .col(SurveyResponses::RespondentId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SurveyAnswerItems::Table)
                    .col(pk_auto(SurveyAnswerItems::Id))
                    .col(uuid(SurveyAnswerItems::ResponseId))
                    .col(uuid(SurveyAnswerItems::SurveyId))
                    .col(string_len(SurveyAnswerItems::QuestionId, 32))
                    .col(string_len_null(SurveyAnswerItems::RowId, 32))
                    .col(string_len_null(SurveyAnswerItems::OptionId, 32))
                    .col(double_null(SurveyAnswerItems::Num))
                    .col(text_null(SurveyAnswerItems::Text))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_survey_answer_items_response")
                            .from(SurveyAnswerItems::Table, SurveyAnswerItems::ResponseId)
                            .to(SurveyResponses::Table, SurveyResponses::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_survey_answer_items_question")
                    .table(SurveyAnswerItems::Table)
                    .col(SurveyAnswerItems::SurveyId)
                    .col(SurveyAnswerItems::QuestionId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_survey_answer_items_response")
                    .table(SurveyAnswerItems::Table)
                    .col(SurveyAnswerItems::ResponseId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            SurveyAnswerItems::Table.into_iden(),
            SurveyResponses::Table.into_iden(),
            SurveyParticipations::Table.into_iden(),
            SurveyVersions::Table.into_iden(),
            Surveys::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(t).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum OrgUnits {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Surveys {
    Table,
    Id,
    OrgUnitId,
    Status,
    Title,
    Draft,
    CurrentVersion,
    Audience,
    OpensAt,
    ClosesAt,
    MaxResponses,
    Anonymous,
    KeepInformed,
    ResponseCount,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    PublishedAt,
    ClosedAt,
}

#[derive(DeriveIden)]
enum SurveyVersions {
    Table,
    Id,
    SurveyId,
    Version,
    Body,
    PublishedAt,
    PublishedBy,
}

#[derive(DeriveIden)]
enum SurveyParticipations {
    Table,
    SurveyId,
    ResidentId,
    KeepInformed,
    OnDay,
}

#[derive(DeriveIden)]
enum SurveyResponses {
    Table,
    Id,
    SurveyId,
    Version,
    RespondentId,
    SubDistrict,
    Answers,
    SubmittedAt,
}

#[derive(DeriveIden)]
enum SurveyAnswerItems {
    Table,
    Id,
    ResponseId,
    SurveyId,
    QuestionId,
    RowId,
    OptionId,
    Num,
    Text,
}
