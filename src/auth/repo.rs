use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    sea_query::{Expr, OnConflict},
};
use uuid::Uuid;

use crate::entities::{
    refresh_tokens::{self, Entity as RefreshTokens},
    revoked_tokens::{self, Entity as RevokedTokens},
};

pub use crate::accounts::repo::find_staff;

pub async fn insert_refresh(
    db: &impl ConnectionTrait,
    token_hash: String,
    family_id: Uuid,
    subject_id: Uuid,
    subject_kind: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let model = refresh_tokens::ActiveModel {
        id: Set(Uuid::now_v7()),
        token_hash: Set(token_hash),
        family_id: Set(family_id),
        subject_id: Set(subject_id),
        subject_kind: Set(subject_kind.to_owned()),
        expires_at: Set(expires_at),
        used_at: Set(None),
        revoked: Set(false),
        created_at: Set(Utc::now()),
    };
    RefreshTokens::insert(model)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn find_refresh(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<refresh_tokens::Model>, DbErr> {
    RefreshTokens::find()
        .filter(refresh_tokens::Column::TokenHash.eq(token_hash))
        .one(db)
        .await
}

/// Marks a token used. Only one of several concurrent uses wins (`true`); the others see a
/// token already used, which is what a replayed token looks like.
pub async fn claim_refresh(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    let res = RefreshTokens::update_many()
        .col_expr(
            refresh_tokens::Column::UsedAt,
            Expr::value(Some(Utc::now())),
        )
        .filter(refresh_tokens::Column::Id.eq(id))
        .filter(refresh_tokens::Column::UsedAt.is_null())
        .filter(refresh_tokens::Column::Revoked.eq(false))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn revoke_family(db: &impl ConnectionTrait, family_id: Uuid) -> Result<(), DbErr> {
    RefreshTokens::update_many()
        .col_expr(refresh_tokens::Column::Revoked, Expr::value(true))
        .filter(refresh_tokens::Column::FamilyId.eq(family_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn revoke_subject(db: &impl ConnectionTrait, subject_id: Uuid) -> Result<(), DbErr> {
    RefreshTokens::update_many()
        .col_expr(refresh_tokens::Column::Revoked, Expr::value(true))
        .filter(refresh_tokens::Column::SubjectId.eq(subject_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn of_subject(
    db: &impl ConnectionTrait,
    subject_id: Uuid,
) -> Result<Vec<refresh_tokens::Model>, DbErr> {
    RefreshTokens::find()
        .filter(refresh_tokens::Column::SubjectId.eq(subject_id))
        .order_by_asc(refresh_tokens::Column::Id)
        .all(db)
        .await
}

/// Records a revoked access token; revoking it twice is not an error.
pub async fn insert_revocation(
    db: &impl ConnectionTrait,
    jti: Uuid,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = revoked_tokens::ActiveModel {
        jti: Set(jti),
        expires_at: Set(expires_at),
    };
    RevokedTokens::insert(row)
        .on_conflict(
            OnConflict::column(revoked_tokens::Column::Jti)
                .update_column(revoked_tokens::Column::ExpiresAt)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn is_revoked(db: &impl ConnectionTrait, jti: Uuid) -> Result<bool, DbErr> {
    Ok(RevokedTokens::find_by_id(jti)
        .filter(revoked_tokens::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?
        .is_some())
}

/// Revocations not yet lapsed, for seeding the near cache.
pub async fn live_revocations(
    db: &impl ConnectionTrait,
) -> Result<Vec<revoked_tokens::Model>, DbErr> {
    RevokedTokens::find()
        .filter(revoked_tokens::Column::ExpiresAt.gt(Utc::now()))
        .all(db)
        .await
}

/// Drops revocations of tokens that have expired anyway.
pub async fn purge_revocations(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    Ok(RevokedTokens::delete_many()
        .filter(revoked_tokens::Column::ExpiresAt.lte(Utc::now()))
        .exec(db)
        .await?
        .rows_affected)
}
