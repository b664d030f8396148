use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::entities::idempotency_keys::{self, Entity as IdempotencyKeys};

pub const IN_PROGRESS: &str = "in_progress";
pub const DONE: &str = "done";

/// Claims (user, key) for a request about to run. Fails with a unique violation when the
/// pair is already held: the constraint, not a prior read, decides between concurrent claims.
pub async fn insert_claim(
    db: &impl ConnectionTrait,
    id: Uuid,
    user_id: Uuid,
    key: &str,
    fingerprint: &str,
) -> Result<(), DbErr> {
    let model = idempotency_keys::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        key: Set(key.to_owned()),
        fingerprint: Set(fingerprint.to_owned()),
        state: Set(IN_PROGRESS.to_owned()),
        response_status: Set(None),
        response_content_type: Set(None),
        response_body: Set(None),
        created_at: Set(Utc::now()),
    };
    IdempotencyKeys::insert(model)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn find(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    key: &str,
) -> Result<Option<idempotency_keys::Model>, DbErr> {
    IdempotencyKeys::find()
        .filter(idempotency_keys::Column::UserId.eq(user_id))
        .filter(idempotency_keys::Column::Key.eq(key))
        .one(db)
        .await
}

/// Deletes one claim by its id, so a newer claim on the same key is never touched.
pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    IdempotencyKeys::delete_many()
        .filter(idempotency_keys::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Stores the answer of the claim `id`; `false` when the claim is gone (taken over after it
/// was thought abandoned), in which case nothing is written.
pub async fn complete(
    db: &impl ConnectionTrait,
    id: Uuid,
    status: i32,
    content_type: Option<String>,
    body: Vec<u8>,
) -> Result<bool, DbErr> {
    let res = IdempotencyKeys::update_many()
        .col_expr(idempotency_keys::Column::State, Expr::value(DONE))
        .col_expr(
            idempotency_keys::Column::ResponseStatus,
            Expr::value(Some(status)),
        )
        .col_expr(
            idempotency_keys::Column::ResponseContentType,
            Expr::value(content_type),
        )
        .col_expr(
            idempotency_keys::Column::ResponseBody,
            Expr::value(Some(body)),
        )
        .filter(idempotency_keys::Column::Id.eq(id))
        .filter(idempotency_keys::Column::State.eq(IN_PROGRESS))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn purge_older_than(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let res = IdempotencyKeys::delete_many()
        .filter(idempotency_keys::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
