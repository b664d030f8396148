//! Queries of the outbox/inbox and the subscription grants. Every write that moves a row's
//! delivery is conditional on the sender run still holding it, so two senders never both
//! finish (or both send) the same row.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionSession, TransactionTrait,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType, OnConflict},
};
use uuid::Uuid;

use super::domain::{DeliveryState, Notice};
use crate::entities::{
    notifications::{self, Column as N, Entity as Notifications},
    subscription_grants::{self, Column as G, Entity as Grants},
};

pub async fn insert(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
    notice: Notice,
    now: DateTime<Utc>,
) -> Result<Uuid, DbErr> {
    let id = Uuid::now_v7();
    let data = serde_json::to_value(&notice.data).map_err(|e| DbErr::Json(e.to_string()))?;
    let model = notifications::ActiveModel {
        id: Set(id),
        resident_id: Set(resident_id),
        kind: Set(notice.kind.as_str().to_owned()),
        title: Set(notice.title),
        body: Set(notice.body),
        page: Set(notice.page),
        data: Set(data),
        read_at: Set(None),
        delivery_state: Set(DeliveryState::Pending.as_str().to_owned()),
        template_id: Set(None),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_attempt_at: Set(None),
        claimed_by: Set(None),
        claimed_until: Set(None),
        last_error: Set(None),
        sent_at: Set(None),
        created_at: Set(now),
    };
    Notifications::insert(model)
        .exec_without_returning(db)
        .await?;
    Ok(id)
}

/// One resident's notices, newest first (ids are UUID v7, so id order is time order).
pub async fn list_for_resident(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<notifications::Model>, DbErr> {
    let mut q = Notifications::find()
        .filter(N::ResidentId.eq(resident_id))
        .order_by_desc(N::Id)
        .limit(limit);
    if let Some(before) = before {
        q = q.filter(N::Id.lt(before));
    }
    q.all(db).await
}

pub async fn unread_count(db: &impl ConnectionTrait, resident_id: Uuid) -> Result<u64, DbErr> {
    Notifications::find()
        .filter(N::ResidentId.eq(resident_id))
        .filter(N::ReadAt.is_null())
        .count(db)
        .await
}

/// Marks a resident's own notice read (the first reading time stays); `None` when the
/// notice is not theirs.
pub async fn mark_read(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<notifications::Model>, DbErr> {
    Notifications::update_many()
        .col_expr(N::ReadAt, Expr::value(Some(now)))
        .filter(N::Id.eq(id))
        .filter(N::ResidentId.eq(resident_id))
        .filter(N::ReadAt.is_null())
        .exec(db)
        .await?;
    Notifications::find_by_id(id)
        .filter(N::ResidentId.eq(resident_id))
        .one(db)
        .await
}

pub async fn list_dead(
    db: &impl ConnectionTrait,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<notifications::Model>, DbErr> {
    let mut q = Notifications::find()
        .filter(N::DeliveryState.eq(DeliveryState::Dead.as_str()))
        .order_by_desc(N::Id)
        .limit(limit);
    if let Some(before) = before {
        q = q.filter(N::Id.lt(before));
    }
    q.all(db).await
}

/// Adds one accepted grant; one statement, so concurrent acceptances all count.
pub async fn add_grant(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
    template_id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let model = subscription_grants::ActiveModel {
        resident_id: Set(resident_id),
        template_id: Set(template_id.to_owned()),
        remaining: Set(1),
        updated_at: Set(now),
    };
    Grants::insert(model)
        .on_conflict(
            OnConflict::columns([G::ResidentId, G::TemplateId])
                .value(G::Remaining, Expr::col((Grants, G::Remaining)).add(1))
                .update_column(G::UpdatedAt)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn grant_remaining(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
    template_id: &str,
) -> Result<i32, DbErr> {
    Ok(Grants::find_by_id((resident_id, template_id.to_owned()))
        .one(db)
        .await?
        .map_or(0, |g| g.remaining))
}

/// Spends one grant if there is one left: a conditional decrement, so two senders cannot
/// spend the same grant.
pub async fn take_grant(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
    template_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = Grants::update_many()
        .col_expr(G::Remaining, Expr::col(G::Remaining).sub(1))
        .col_expr(G::UpdatedAt, Expr::value(now))
        .filter(G::ResidentId.eq(resident_id))
        .filter(G::TemplateId.eq(template_id))
        .filter(G::Remaining.gt(0))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Due rows: pending and due, or claimed by a run whose claim ran out (it crashed).
fn due(now: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::any()
        .add(
            sea_orm::Condition::all()
                .add(N::DeliveryState.eq(DeliveryState::Pending.as_str()))
                .add(N::NextAttemptAt.lte(now)),
        )
        .add(
            sea_orm::Condition::all()
                .add(N::DeliveryState.eq(DeliveryState::Sending.as_str()))
                .add(N::ClaimedUntil.lt(now)),
        )
}

/// Claims up to `limit` due rows for the sender run `token` until `until`, counting the try.
///
/// On PostgreSQL the candidates are locked with `FOR UPDATE SKIP LOCKED`, so concurrent
/// senders take different rows instead of queueing on the same ones. On SQLite (one
/// instance, one connection) the conditional update alone decides. Either way only rows
/// still due when updated are claimed, and the run reads back exactly what it holds.
pub async fn claim_due<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    token: Uuid,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<notifications::Model>, DbErr> {
    let txn = db.begin().await?;
    let mut candidates = Notifications::find()
        .select_only()
        .column(N::Id)
        .filter(due(now))
        .order_by_asc(N::NextAttemptAt)
        .limit(limit);
    if txn.get_database_backend() == DbBackend::Postgres {
        candidates = candidates.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let ids: Vec<Uuid> = candidates.into_tuple().all(&txn).await?;
    if ids.is_empty() {
        txn.commit().await?;
        return Ok(Vec::new());
    }
    Notifications::update_many()
        .col_expr(
            N::DeliveryState,
            Expr::value(DeliveryState::Sending.as_str()),
        )
        .col_expr(N::ClaimedBy, Expr::value(Some(token)))
        .col_expr(N::ClaimedUntil, Expr::value(Some(until)))
        .col_expr(N::Attempts, Expr::col(N::Attempts).add(1))
        .col_expr(N::LastAttemptAt, Expr::value(Some(now)))
        .filter(N::Id.is_in(ids))
        .filter(due(now))
        .exec(&txn)
        .await?;
    let claimed = Notifications::find()
        .filter(N::ClaimedBy.eq(token))
        .filter(N::DeliveryState.eq(DeliveryState::Sending.as_str()))
        .order_by_asc(N::Id)
        .all(&txn)
        .await?;
    txn.commit().await?;
    Ok(claimed)
}

/// The row still belongs to run `token` and is being sent.
fn held(id: Uuid, token: Uuid) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(N::Id.eq(id))
        .add(N::ClaimedBy.eq(token))
        .add(N::DeliveryState.eq(DeliveryState::Sending.as_str()))
}

/// Checked right before each send: true when the run still holds the row, and then its
/// claim is extended to cover the send. False when another run took it over.
pub async fn renew_claim(
    db: &impl ConnectionTrait,
    id: Uuid,
    token: Uuid,
    until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = Notifications::update_many()
        .col_expr(N::ClaimedUntil, Expr::value(Some(until)))
        .filter(held(id, token))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Records that a grant of `template_id` was spent on this row, so a retry never spends
/// another. Run in the transaction that spends the grant.
pub async fn set_template(
    db: &impl ConnectionTrait,
    id: Uuid,
    token: Uuid,
    template_id: &str,
) -> Result<bool, DbErr> {
    let res = Notifications::update_many()
        .col_expr(N::TemplateId, Expr::value(Some(template_id.to_owned())))
        .filter(held(id, token))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// How a sender run leaves a row.
pub enum Finish<'a> {
    Sent(DateTime<Utc>),
    InboxOnly(&'a str),
    Retry { at: DateTime<Utc>, error: &'a str },
    Dead(&'a str),
}

/// Ends the run's hold on a row; false when the row was no longer the run's.
pub async fn finish(
    db: &impl ConnectionTrait,
    id: Uuid,
    token: Uuid,
    how: Finish<'_>,
) -> Result<bool, DbErr> {
    let (state, error) = match &how {
        Finish::Sent(_) => (DeliveryState::Sent, None),
        Finish::InboxOnly(why) => (DeliveryState::InboxOnly, Some(*why)),
        Finish::Retry { error, .. } => (DeliveryState::Pending, Some(*error)),
        Finish::Dead(error) => (DeliveryState::Dead, Some(*error)),
    };
    let mut q = Notifications::update_many()
        .col_expr(N::DeliveryState, Expr::value(state.as_str()))
        .col_expr(N::ClaimedBy, Expr::value(Option::<Uuid>::None))
        .col_expr(N::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(
            N::LastError,
            Expr::value(error.map(|e| e.chars().take(255).collect::<String>())),
        );
    match how {
        Finish::Sent(at) => q = q.col_expr(N::SentAt, Expr::value(Some(at))),
        Finish::Retry { at, .. } => q = q.col_expr(N::NextAttemptAt, Expr::value(at)),
        Finish::InboxOnly(_) | Finish::Dead(_) => {}
    }
    let res = q.filter(held(id, token)).exec(db).await?;
    Ok(res.rows_affected == 1)
}

/// Every notice of a resident, oldest first, for their data export.
pub async fn all_of_resident(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
) -> Result<Vec<notifications::Model>, DbErr> {
    Notifications::find()
        .filter(N::ResidentId.eq(resident_id))
        .order_by_asc(N::Id)
        .all(db)
        .await
}

/// Forgets a resident's notices and subscription grants (account deletion).
pub async fn delete_of_resident(db: &impl ConnectionTrait, resident_id: Uuid) -> Result<(), DbErr> {
    Notifications::delete_many()
        .filter(N::ResidentId.eq(resident_id))
        .exec(db)
        .await?;
    Grants::delete_many()
        .filter(G::ResidentId.eq(resident_id))
        .exec(db)
        .await?;
    Ok(())
}
