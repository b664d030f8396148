//! Identity and organisation: org units (district, its 15 sub-districts, departments),
//! residents, staff, and refresh-token families.

use sea_orm_migration::{
    prelude::*,
    schema::*,
    sea_orm::prelude::{ChronoDateTimeUtc, Uuid},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The district and its 15 sub-districts (街道), as named by the district government.
/// Codes are stable pinyin slugs; request bodies name org units by code.
const SEED: &[(&str, &str, &str)] = &[
    ("xicheng", "西城区", "district"),
    ("xichanganjie", "西长安街街道", "subdistrict"),
    ("xinjiekou", "新街口街道", "subdistrict"),
    ("yuetan", "月坛街道", "subdistrict"),
    ("zhanlanlu", "展览路街道", "subdistrict"),
    ("desheng", "德胜街道", "subdistrict"),
    ("jinrongjie", "金融街街道", "subdistrict"),
    ("shichahai", "什刹海街道", "subdistrict"),
    ("dashilan", "大栅栏街道", "subdistrict"),
    ("tianqiao", "天桥街道", "subdistrict"),
    ("chunshu", "椿树街道", "subdistrict"),
    ("taoranting", "陶然亭街道", "subdistrict"),
    ("guanganmennei", "广安门内街道", "subdistrict"),
    ("niujie", "牛街街道", "subdistrict"),
    ("baizhifang", "白纸坊街道", "subdistrict"),
    ("guanganmenwai", "广安门外街道", "subdistrict"),
];

/// Fixed ids for the seeded units (UUID v7 layout, timestamp 2026-11-27) so every
/// installation names them the same way.
fn seed_id(index: usize) -> String {
    format!("019ac3a0-0000-7000-8000-{index:012x}")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OrgUnits::Table)
                    .col(pk_uuid(OrgUnits::Id))
                    .col(string_len_uniq(OrgUnits::Code, 32))
                    .col(string_len(OrgUnits::Name, 64))
                    .col(string_len(OrgUnits::Kind, 16))
                    .col(timestamp_with_time_zone(OrgUnits::CreatedAt))
                    .to_owned(),
            )
            .await?;

        let now = "2026-11-27T00:00:00Z";
        let mut insert = Query::insert();
        insert.into_table(OrgUnits::Table).columns([
            OrgUnits::Id,
            OrgUnits::Code,
            OrgUnits::Name,
            OrgUnits::Kind,
            OrgUnits::CreatedAt,
        ]);
        for (i, (code, name, kind)) in SEED.iter().enumerate() {
            let id: Uuid = seed_id(i + 1)
                .parse()
                .map_err(|e| DbErr::Custom(format!("seed id: {e}")))?;
            let created: ChronoDateTimeUtc = now
                .parse()
                .map_err(|e| DbErr::Custom(format!("seed time: {e}")))?;
            insert.values_panic([
                id.into(),
                (*code).into(),
                (*name).into(),
                (*kind).into(),
                created.into(),
            ]);
        }
        manager.exec_stmt(insert).await?;

        manager
            .create_table(
                Table::create()
                    .table(Residents::Table)
                    .col(pk_uuid(Residents::Id))
                    .col(string_len_uniq(Residents::Openid, 64))
                    .col(string_len_null(Residents::Unionid, 64))
                    .col(string_len_null(Residents::Nickname, 32))
                    .col(string_len_null(Residents::Phone, 20))
                    .col(string_len_null(Residents::HomeSubdistrict, 32))
                    .col(string_len_null(Residents::Community, 64))
                    .col(timestamp_with_time_zone(Residents::CreatedAt))
                    .col(timestamp_with_time_zone(Residents::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Staff::Table)
                    .col(pk_uuid(Staff::Id))
                    .col(string_len_uniq(Staff::Username, 64))
                    .col(string_len(Staff::PasswordHash, 255))
                    .col(string_len(Staff::Role, 16))
                    .col(uuid(Staff::OrgUnitId))
                    .col(boolean(Staff::Disabled).default(false))
                    .col(integer(Staff::FailedLogins).default(0))
                    .col(timestamp_with_time_zone_null(Staff::LockedUntil))
                    .col(timestamp_with_time_zone(Staff::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_staff_org_unit")
                            .from(Staff::Table, Staff::OrgUnitId)
                            .to(OrgUnits::Table, OrgUnits::Id),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RefreshTokens::Table)
                    .col(pk_uuid(RefreshTokens::Id))
                    .col(string_len_uniq(RefreshTokens::TokenHash, 64))
                    .col(uuid(RefreshTokens::FamilyId))
                    .col(uuid(RefreshTokens::SubjectId))
                    .col(string_len(RefreshTokens::SubjectKind, 16))
                    .col(timestamp_with_time_zone(RefreshTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(RefreshTokens::UsedAt))
                    .col(boolean(RefreshTokens::Revoked).default(false))
                    .col(timestamp_with_time_zone(RefreshTokens::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_tokens_family")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::FamilyId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_refresh_tokens_subject")
                    .table(RefreshTokens::Table)
                    .col(RefreshTokens::SubjectId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RefreshTokens::Table.into_iden(),
            Staff::Table.into_iden(),
            Residents::Table.into_iden(),
            OrgUnits::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum OrgUnits {
    Table,
    Id,
    Code,
    Name,
    Kind,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Residents {
    Table,
    Id,
    Openid,
    Unionid,
    Nickname,
    Phone,
    HomeSubdistrict,
    Community,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Staff {
    Table,
    Id,
    Username,
    PasswordHash,
    Role,
    OrgUnitId,
    Disabled,
    FailedLogins,
    LockedUntil,
    CreatedAt,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    Id,
    TokenHash,
    FamilyId,
    SubjectId,
    SubjectKind,
    ExpiresAt,
    UsedAt,
    Revoked,
    CreatedAt,
}
