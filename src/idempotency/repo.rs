use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, TransactionTrait, sea_query::Expr,
};
use uuid::Uuid;

use crate::entities::idempotency_keys::{self, Entity as IdempotencyKeys};

pub const IN_PROGRESS: &str = "in_progress";
pub const DONE: &str = "done";

/// Runs one bookkeeping write without waiting for its WAL flush on PostgreSQL (elsewhere as
/// is). Safe for the claim: the request's own transaction commits after it and its flush
/// carries the claim along; a claim lost with a database crash before that leaves nothing
/// done to protect. For the answer it widens a window that already exists (the service
/// stopping between the request's commit and this write) from that moment to a database
/// crash within the WAL writer's delay (0.2 s): the claim then stays in progress until it
/// counts as abandoned, and the retry runs again against the committed state (a 409 such
/// as `already_answered`, never a second write). What it buys: a submission waits for one
/// flush, not three, and a refused booking for none.
async fn without_flush_wait<T, F>(db: &DatabaseConnection, write: F) -> Result<T, DbErr>
where
    F: for<'c> FnOnce(
        &'c sea_orm::DatabaseTransaction,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<T, DbErr>> + Send + 'c>>,
{
    let txn = db.begin().await?;
    crate::db::commit_without_flush(&txn).await?;
    let out = write(&txn).await?;
    txn.commit().await?;
    Ok(out)
}

/// `insert_claim` without waiting for the WAL flush (see `without_flush_wait`).
pub async fn insert_claim_unflushed(
    db: &DatabaseConnection,
    id: Uuid,
    user_id: Uuid,
    key: &str,
    fingerprint: &str,
) -> Result<(), DbErr> {
    let (key, fingerprint) = (key.to_owned(), fingerprint.to_owned());
    without_flush_wait(db, move |txn| {
        Box::pin(async move { insert_claim(txn, id, user_id, &key, &fingerprint).await })
    })
    .await
}

/// `complete` without waiting for the WAL flush (see `without_flush_wait`).
pub async fn complete_unflushed(
    db: &DatabaseConnection,
    id: Uuid,
    status: i32,
    content_type: Option<String>,
    body: Vec<u8>,
) -> Result<bool, DbErr> {
    without_flush_wait(db, move |txn| {
        Box::pin(async move { complete(txn, id, status, content_type, body).await })
    })
    .await
}

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
