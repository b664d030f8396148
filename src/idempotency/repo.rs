use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    EntityTrait, QueryFilter, Statement, TryInsertResult, sea_query::Expr,
};
use serde::Serialize;
use uuid::Uuid;

use super::{Deferred, service::StoredAnswer};
use crate::{
    batch::{BatchWrite, to_json},
    entities::idempotency_keys::{self, Entity as IdempotencyKeys},
};

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

/// Whether `e` is the unique violation of a (user, key) pair already held: by a claim, or by
/// an answer recorded with a handler's own write.
pub fn is_key_held(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(m)) if m.contains("idx_idempotency_keys_user_key"))
}

/// Records `key` as already answered with `answer`, unless the (user, key) pair is held;
/// whether it was recorded.
pub async fn insert_answered(
    db: &impl ConnectionTrait,
    key: &Deferred,
    answer: StoredAnswer,
) -> Result<bool, DbErr> {
    let model = idempotency_keys::ActiveModel {
        id: Set(key.id),
        user_id: Set(key.user),
        key: Set(key.key.clone()),
        fingerprint: Set(key.fingerprint.clone()),
        state: Set(DONE.to_owned()),
        response_status: Set(Some(i32::from(answer.status))),
        response_content_type: Set(answer.content_type),
        response_body: Set(Some(answer.body)),
        created_at: Set(Utc::now()),
    };
    let inserted = IdempotencyKeys::insert(model)
        .on_conflict_do_nothing_on([
            idempotency_keys::Column::UserId,
            idempotency_keys::Column::Key,
        ])
        .exec_without_returning(db)
        .await?;
    Ok(matches!(inserted, TryInsertResult::Inserted(1)))
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

/// Deletes the claim `id` unless it holds its answer.
pub async fn delete_in_progress(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    IdempotencyKeys::delete_many()
        .filter(idempotency_keys::Column::Id.eq(id))
        .filter(idempotency_keys::Column::State.eq(IN_PROGRESS))
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

/// Deletes the keys made before `cutoff`. Every key's id is a version-7 UUID, which begins
/// with the millisecond it was made (big-endian, as both databases compare ids), so the keys
/// made before `cutoff` are exactly those whose id sorts below the least id of its
/// millisecond: the primary key finds them, and no index of `created_at` is kept for it.
pub async fn purge_older_than(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
) -> Result<u64, DbErr> {
    let res = IdempotencyKeys::delete_many()
        .filter(idempotency_keys::Column::Id.lt(least_id_of(cutoff)))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// The least version-7 UUID of the millisecond `at` falls in: its random bits all zero.
fn least_id_of(at: DateTime<Utc>) -> Uuid {
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &[0; 10]).into_uuid()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// Any id made in the millisecond sorts at or above its least id, and above every id
    /// of the millisecond before.
    #[test]
    fn the_least_id_of_a_millisecond_bounds_the_ids_made_in_it() {
        let at = Utc.timestamp_millis_opt(1_795_000_000_123).unwrap();
        let least = least_id_of(at);
        let ts = |ms: u64| {
            uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, (ms % 1000) as u32 * 1_000_000)
        };
        for _ in 0..100 {
            assert!(Uuid::new_v7(ts(1_795_000_000_123)) >= least);
            assert!(Uuid::new_v7(ts(1_795_000_000_122)) < least);
        }
    }
}

/// A claim as the batched insert writes it.
#[derive(Debug, Serialize)]
pub struct NewClaim {
    pub id: Uuid,
    pub user_id: Uuid,
    pub key: String,
    pub fingerprint: String,
    pub created_at: DateTime<Utc>,
}

const CLAIMS: &str = r#"
INSERT INTO idempotency_keys (id, user_id, key, fingerprint, state, created_at)
SELECT id, user_id, key, fingerprint, $2, created_at
FROM json_to_recordset($1::text::json) AS t(id uuid, user_id uuid, key text, fingerprint text,
    created_at timestamptz)
ON CONFLICT DO NOTHING
RETURNING id"#;

/// Claims, batched on PostgreSQL: the claims whose (user, key) is free are written, the
/// others are left out (and take `service::claim`'s path for a held key).
pub struct Claims;

impl BatchWrite for Claims {
    type Item = NewClaim;
    type Key = Uuid;
    type Outcome = bool;

    fn key(claim: &NewClaim) -> Uuid {
        claim.id
    }

    async fn write(
        db: &DatabaseConnection,
        claims: &[NewClaim],
    ) -> Result<HashMap<Uuid, bool>, DbErr> {
        returned_ids(
            db,
            CLAIMS,
            vec![to_json(&claims)?.into(), IN_PROGRESS.into()],
        )
        .await
    }
}

/// A first answer as the batched update stores it.
#[derive(Debug, Serialize)]
pub struct NewAnswer {
    pub id: Uuid,
    pub status: i32,
    pub content_type: Option<String>,
    /// Base64, as JSON carries no bytes.
    pub body: String,
}

const ANSWERS: &str = r#"
UPDATE idempotency_keys k
SET state = $2, response_status = t.status, response_content_type = t.content_type,
    response_body = decode(t.body, 'base64')
FROM json_to_recordset($1::text::json) AS t(id uuid, status integer, content_type text,
    body text)
WHERE k.id = t.id AND k.state = $3
    AND k.id = ANY(ARRAY(SELECT (a->>'id')::uuid FROM json_array_elements($1::text::json) a))
RETURNING k.id"#;

/// Stored answers, batched on PostgreSQL: written for the claims still in progress (one
/// taken over meanwhile is left alone, as in [`complete`]). The ids are also given as an
/// array: the planner cannot see how few rows the JSON holds, and joined with it alone it
/// scans the whole table.
pub struct Answers;

impl BatchWrite for Answers {
    type Item = NewAnswer;
    type Key = Uuid;
    type Outcome = bool;

    fn key(answer: &NewAnswer) -> Uuid {
        answer.id
    }

    async fn write(
        db: &DatabaseConnection,
        answers: &[NewAnswer],
    ) -> Result<HashMap<Uuid, bool>, DbErr> {
        let values = vec![to_json(&answers)?.into(), DONE.into(), IN_PROGRESS.into()];
        returned_ids(db, ANSWERS, values).await
    }
}

/// The batched claim and answer, each of no row (see `db::warm`).
pub async fn warm(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    returned_ids(db, CLAIMS, vec!["[]".into(), IN_PROGRESS.into()]).await?;
    returned_ids(
        db,
        ANSWERS,
        vec!["[]".into(), DONE.into(), IN_PROGRESS.into()],
    )
    .await?;
    Ok(())
}

/// The ids the statement returned, each of them written.
async fn returned_ids(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> Result<HashMap<Uuid, bool>, DbErr> {
    db.query_all_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await?
    .iter()
    .map(|row| Ok((row.try_get("", "id")?, true)))
    .collect()
}
