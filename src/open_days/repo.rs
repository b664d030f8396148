//! Queries of open days, generic over `ConnectionTrait` so they run inside transactions.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement,
    sea_query::{Expr, ExprTrait, Query},
};
use uuid::Uuid;

use super::domain::{EventStatus, NoShowPolicy, ReservationStatus as St};
use crate::{
    entities::{
        open_day_slots::{self, Entity as Slots},
        open_days::{self, Entity as OpenDays},
        reservations::{self, Entity as Reservations},
    },
    idempotency::{Deferred, service::StoredAnswer},
};

pub async fn insert_event(
    db: &impl ConnectionTrait,
    m: open_days::ActiveModel,
) -> Result<open_days::Model, DbErr> {
    m.insert(db).await
}

pub async fn update_event(
    db: &impl ConnectionTrait,
    m: open_days::ActiveModel,
) -> Result<open_days::Model, DbErr> {
    m.update(db).await
}

pub async fn find_event(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<open_days::Model>, DbErr> {
    OpenDays::find_by_id(id).one(db).await
}

/// Moves an event from `from` to `to`; false when it was not in `from` any more.
pub async fn set_event_status(
    db: &impl ConnectionTrait,
    id: Uuid,
    from: &[&str],
    to: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = OpenDays::update_many()
        .col_expr(open_days::Column::Status, Expr::value(to))
        .col_expr(open_days::Column::UpdatedAt, Expr::value(now))
        .filter(open_days::Column::Id.eq(id))
        .filter(open_days::Column::Status.is_in(from.iter().copied()))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Published events with a slot still to come, oldest first.
/// An org unit's open days of every status, newest first (`unit` `None`: all).
pub async fn list_of_unit(
    db: &impl ConnectionTrait,
    unit: Option<Uuid>,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<open_days::Model>, DbErr> {
    let mut q = OpenDays::find();
    if let Some(unit) = unit {
        q = q.filter(open_days::Column::OrgUnitId.eq(unit));
    }
    if let Some(b) = before {
        q = q.filter(open_days::Column::Id.lt(b));
    }
    q.order_by_desc(open_days::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

pub async fn list_upcoming(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<open_days::Model>, DbErr> {
    let mut q = OpenDays::find()
        .filter(open_days::Column::Status.eq("published"))
        .filter(
            open_days::Column::Id.in_subquery(
                Query::select()
                    .column(open_day_slots::Column::OpenDayId)
                    .from(Slots)
                    .and_where(open_day_slots::Column::EndsAt.gt(now))
                    .to_owned(),
            ),
        );
    if let Some(a) = after {
        q = q.filter(open_days::Column::Id.gt(a));
    }
    q.order_by_asc(open_days::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

pub async fn slots_of(
    db: &impl ConnectionTrait,
    open_day_id: Uuid,
) -> Result<Vec<open_day_slots::Model>, DbErr> {
    Slots::find()
        .filter(open_day_slots::Column::OpenDayId.eq(open_day_id))
        .order_by_asc(open_day_slots::Column::StartsAt)
        .order_by_asc(open_day_slots::Column::Id)
        .all(db)
        .await
}

pub async fn slots_of_many(
    db: &impl ConnectionTrait,
    open_day_ids: &[Uuid],
) -> Result<Vec<open_day_slots::Model>, DbErr> {
    Slots::find()
        .filter(open_day_slots::Column::OpenDayId.is_in(open_day_ids.iter().copied()))
        .order_by_asc(open_day_slots::Column::StartsAt)
        .order_by_asc(open_day_slots::Column::Id)
        .all(db)
        .await
}

pub async fn find_slot(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<open_day_slots::Model>, DbErr> {
    Slots::find_by_id(id).one(db).await
}

/// A slot with its open day, in one query (a booking reads both before anything else).
pub async fn find_slot_with_event(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<(open_day_slots::Model, open_days::Model)>, DbErr> {
    Ok(Slots::find_by_id(id)
        .find_also_related(OpenDays)
        .one(db)
        .await?
        .and_then(|(slot, event)| Some((slot, event?))))
}

pub async fn insert_slot(
    db: &impl ConnectionTrait,
    m: open_day_slots::ActiveModel,
) -> Result<(), DbErr> {
    Slots::insert(m).exec_without_returning(db).await?;
    Ok(())
}

/// Changes a slot's times and capacity, unless the capacity would drop below the seats
/// taken at that moment; false then.
pub async fn update_slot(
    db: &impl ConnectionTrait,
    id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    capacity: i32,
) -> Result<bool, DbErr> {
    let res = Slots::update_many()
        .col_expr(open_day_slots::Column::StartsAt, Expr::value(starts_at))
        .col_expr(open_day_slots::Column::EndsAt, Expr::value(ends_at))
        .col_expr(open_day_slots::Column::Capacity, Expr::value(capacity))
        .filter(open_day_slots::Column::Id.eq(id))
        .filter(open_day_slots::Column::Taken.lte(capacity))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn delete_slot(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    Slots::delete_by_id(id).exec(db).await?;
    Ok(())
}

pub async fn reservations_on_slot(db: &impl ConnectionTrait, slot_id: Uuid) -> Result<u64, DbErr> {
    use sea_orm::PaginatorTrait;
    Reservations::find()
        .filter(reservations::Column::SlotId.eq(slot_id))
        .count(db)
        .await
}

/// Takes `n` seats of a slot if that many are free: one conditional UPDATE, atomic on
/// SQLite and PostgreSQL alike (the row lock serialises concurrent takers).
pub async fn take_seats(db: &impl ConnectionTrait, slot_id: Uuid, n: i32) -> Result<bool, DbErr> {
    let res = Slots::update_many()
        .col_expr(
            open_day_slots::Column::Taken,
            Expr::col(open_day_slots::Column::Taken).add(n),
        )
        .filter(open_day_slots::Column::Id.eq(slot_id))
        .filter(
            Expr::col(open_day_slots::Column::Taken)
                .add(n)
                .lte(Expr::col(open_day_slots::Column::Capacity)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn free_seats(db: &impl ConnectionTrait, slot_id: Uuid, n: i32) -> Result<(), DbErr> {
    Slots::update_many()
        .col_expr(
            open_day_slots::Column::Taken,
            Expr::col(open_day_slots::Column::Taken).sub(n),
        )
        .filter(open_day_slots::Column::Id.eq(slot_id))
        .filter(open_day_slots::Column::Taken.gte(n))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn insert_reservation(
    db: &impl ConnectionTrait,
    m: reservations::ActiveModel,
) -> Result<reservations::Model, DbErr> {
    m.insert(db).await
}

pub async fn find_reservation(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<reservations::Model>, DbErr> {
    Reservations::find_by_id(id).one(db).await
}

pub async fn find_by_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Vec<reservations::Model>, DbErr> {
    Reservations::find()
        .filter(reservations::Column::VerificationCode.eq(code))
        .limit(10)
        .all(db)
        .await
}

/// A confirmed booking, as one statement: the seats, the reservation, its consent record and
/// its confirmation notice.
pub struct Booking<'a> {
    pub reservation: Uuid,
    /// The slot and its open day as read before: the answer and the notice are built from
    /// them, and the statement books only while they still hold what those show.
    pub slot: &'a open_day_slots::Model,
    pub event: &'a open_days::Model,
    /// Checked in the statement, so a booking made with what an earlier attempt read needs
    /// no read of the resident's no-shows.
    pub no_shows: NoShowPolicy,
    pub resident_id: Uuid,
    pub party_size: i32,
    pub visitor_name_enc: String,
    pub phone_enc: String,
    pub verification_code: &'a str,
    pub now: DateTime<Utc>,
    pub consent_purpose: &'a str,
    pub notice_version: &'a str,
    pub request_id: Option<String>,
    pub notice: &'a crate::notifications::Notice,
    /// The request's Idempotency-Key, recorded with the answer it is to replay.
    pub key: Option<(&'a Deferred, StoredAnswer)>,
}

/// PostgreSQL only: books in one autocommit statement, so the slot's row is locked only
/// inside the database, from the seat's UPDATE to the commit, never across a round trip to
/// this process (in a release minute every booking of the slot queues on that lock, and a
/// round trip then waits behind thousands of requests for a worker). It writes the rows
/// `consent::record` and `notifications::enqueue` would, and the key's row
/// `idempotency::service::record_answered` would. Whether the seats were taken: `false`, with
/// nothing written, when the slot is short of them, when the slot or its open day no longer
/// hold what the answer shows of them or no longer admit the booking (published, booking
/// open, slot not ended, party not too large), or when the resident's no-shows suspend her.
/// A unique violation when the resident already holds a reservation of the event, the code
/// is in use there (`uq_reservations_code`) or the key is held
/// (`idempotency::is_key_held`); nothing is written then either. Run it where commits do not
/// wait for the flush, then `wait_durable` before answering.
pub async fn book_at_once(db: &impl ConnectionTrait, b: Booking<'_>) -> Result<bool, DbErr> {
    // The no-show rule of `NoShowPolicy::suspended_until`: some no-show within the suspension
    // that ends a run of `limit` within the window.
    const SQL: &str = r#"
WITH seat AS (
    UPDATE open_day_slots s SET taken = s.taken + $1
    FROM open_days e
    WHERE s.id = $2 AND s.taken + $1 <= s.capacity AND s.ends_at > $10
        AND s.open_day_id = $4 AND s.starts_at = $29 AND s.ends_at = $30
        AND e.id = $4 AND e.status = $31 AND e.booking_opens_at <= $10
        AND e.booking_closes_at > $10 AND e.max_party_size >= $1
        AND e.title = $32 AND e.location = $33 AND e.cancel_cutoff_minutes = $34
        AND NOT ($35 > 0 AND EXISTS (
            SELECT 1 FROM reservations n
            WHERE n.resident_id = $5 AND n.status = $36
                AND n.no_show_at > $10 - make_interval(secs => $37)
                AND (SELECT count(*) FROM reservations m
                     WHERE m.resident_id = $5 AND m.status = $36
                        AND m.no_show_at > n.no_show_at - make_interval(secs => $38)
                        AND m.no_show_at <= n.no_show_at) >= $35))
    RETURNING s.id
), booked AS (
    INSERT INTO reservations (id, open_day_id, slot_id, resident_id, active_resident_id,
        party_size, visitor_name_enc, phone_enc, verification_code, status, created_at,
        confirmed_at)
    SELECT $3, $4, seat.id, $5, $5, $1, $6, $7, $8, $9, $10, $10 FROM seat
    RETURNING id
), consent AS (
    INSERT INTO consents (id, resident_id, purpose, notice_version, accepted_at, request_id)
    SELECT $11, $5, $12, $13, $10, $14 FROM booked
), notice AS (
    INSERT INTO notifications (id, resident_id, kind, title, body, page, data,
        delivery_state, attempts, next_attempt_at, created_at)
    SELECT $15, $5, $16, $17, $18, $19, $20, $21, 0, $10, $10 FROM booked
), kept AS (
    INSERT INTO idempotency_keys (id, user_id, key, fingerprint, state, response_status,
        response_content_type, response_body, created_at)
    SELECT $22, $5, $23, $24, $25, $26, $27, $28, $10 FROM booked WHERE $23::text IS NOT NULL
)
SELECT id FROM booked"#;
    let n = b.notice;
    let data = serde_json::to_value(&n.data).map_err(|e| DbErr::Json(e.to_string()))?;
    let (key, answer) = b.key.unzip();
    let mut values: Vec<sea_orm::Value> = vec![
        b.party_size.into(),
        b.slot.id.into(),
        b.reservation.into(),
        b.event.id.into(),
        b.resident_id.into(),
        b.visitor_name_enc.into(),
        b.phone_enc.into(),
        b.verification_code.into(),
        St::Confirmed.as_str().into(),
        b.now.into(),
        Uuid::now_v7().into(),
        b.consent_purpose.into(),
        b.notice_version.into(),
        b.request_id.into(),
        Uuid::now_v7().into(),
        n.kind.as_str().into(),
        n.title.as_str().into(),
        n.body.as_str().into(),
        n.page.clone().into(),
        data.into(),
        crate::notifications::DeliveryState::Pending.as_str().into(),
    ];
    values.extend([
        key.map(|k| k.id).into(),
        key.map(|k| k.key.clone()).into(),
        key.map(|k| k.fingerprint.clone()).into(),
        crate::idempotency::ANSWERED.into(),
        answer.as_ref().map(|a| i32::from(a.status)).into(),
        answer.as_ref().and_then(|a| a.content_type.clone()).into(),
        answer.map(|a| a.body).into(),
    ]);
    let (slot, event, policy) = (b.slot, b.event, b.no_shows);
    values.extend([
        slot.starts_at.into(),
        slot.ends_at.into(),
        EventStatus::Published.as_str().into(),
        event.title.as_str().into(),
        event.location.as_str().into(),
        event.cancel_cutoff_minutes.into(),
        i64::try_from(policy.limit).unwrap_or(i64::MAX).into(),
        St::NoShow.as_str().into(),
        policy.suspension.as_seconds_f64().into(),
        policy.window.as_seconds_f64().into(),
    ]);
    let booked = db
        .query_one_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            SQL,
            values,
        ))
        .await?;
    Ok(booked.is_some())
}

/// The reads of a booking and of its refusal, with ids that match no row (see `db::warm`).
pub async fn warm_reads(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let none = Uuid::nil();
    find_slot_with_event(db, none).await?;
    no_show_times(db, none, Utc::now()).await?;
    active_of_resident(db, none, none).await?;
    active_residents(db, none).await?;
    Ok(())
}

/// The booking's one statement, for a slot that does not exist: nothing is written (see
/// `db::warm`).
pub async fn warm_booking(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let none = Uuid::nil();
    let now = Utc::now();
    let notice = crate::notifications::Notice {
        kind: crate::notifications::NoticeKind::BookingConfirmed,
        title: String::new(),
        body: String::new(),
        page: None,
        data: std::collections::BTreeMap::new(),
    };
    let slot = open_day_slots::Model {
        id: none,
        open_day_id: none,
        starts_at: now,
        ends_at: now,
        capacity: 0,
        taken: 0,
    };
    let event = open_days::Model {
        id: none,
        org_unit_id: none,
        title: String::new(),
        description: String::new(),
        location: String::new(),
        booking_opens_at: now,
        booking_closes_at: now,
        cancel_cutoff_minutes: 0,
        max_party_size: 1,
        eligibility: String::new(),
        status: String::new(),
        created_by: none,
        created_at: now,
        updated_at: now,
    };
    book_at_once(
        db,
        Booking {
            reservation: none,
            slot: &slot,
            event: &event,
            // A limit, so the no-show subquery is planned too.
            no_shows: NoShowPolicy {
                limit: 1,
                window: chrono::Duration::days(1),
                suspension: chrono::Duration::days(1),
            },
            resident_id: none,
            party_size: 1,
            visitor_name_enc: String::new(),
            phone_enc: String::new(),
            verification_code: "",
            now,
            consent_purpose: "",
            notice_version: "",
            request_id: None,
            notice: &notice,
            key: None,
        },
    )
    .await?;
    Ok(())
}

/// Whether `e` is the unique violation of a verification code already in use on the event.
pub fn is_code_clash(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(m)) if m.contains("uq_reservations_code"))
}

/// What stands in the way of a new reservation of `resident_id` with `code`: whether she
/// already holds an active one on the event, and whether the code is in use there. One query,
/// both unique indexes.
pub async fn clashes(
    db: &impl ConnectionTrait,
    open_day_id: Uuid,
    resident_id: Uuid,
    code: &str,
) -> Result<(bool, bool), DbErr> {
    let rows = Reservations::find()
        .filter(reservations::Column::OpenDayId.eq(open_day_id))
        .filter(
            Condition::any()
                .add(reservations::Column::ActiveResidentId.eq(resident_id))
                .add(reservations::Column::VerificationCode.eq(code)),
        )
        .limit(2)
        .all(db)
        .await?;
    Ok((
        rows.iter()
            .any(|r| r.active_resident_id == Some(resident_id)),
        rows.iter().any(|r| r.verification_code == code),
    ))
}

pub async fn active_of_resident(
    db: &impl ConnectionTrait,
    open_day_id: Uuid,
    resident_id: Uuid,
) -> Result<Option<reservations::Model>, DbErr> {
    Reservations::find()
        .filter(reservations::Column::OpenDayId.eq(open_day_id))
        .filter(reservations::Column::ActiveResidentId.eq(resident_id))
        .one(db)
        .await
}

/// Residents holding an active (confirmed or waitlisted) reservation on an open day.
pub async fn active_residents(
    db: &impl ConnectionTrait,
    open_day_id: Uuid,
) -> Result<Vec<Uuid>, DbErr> {
    Reservations::find()
        .select_only()
        .column(reservations::Column::ActiveResidentId)
        .filter(reservations::Column::OpenDayId.eq(open_day_id))
        .filter(reservations::Column::ActiveResidentId.is_not_null())
        .into_tuple::<Uuid>()
        .all(db)
        .await
}

/// Moves a reservation from `from` to `to`, setting the matching timestamp; false when it
/// was not in `from` any more (a concurrent cancel or check-in won).
pub async fn set_status(
    db: &impl ConnectionTrait,
    id: Uuid,
    from: St,
    to: St,
    now: DateTime<Utc>,
    by: Option<Uuid>,
) -> Result<bool, DbErr> {
    let mut q = Reservations::update_many()
        .col_expr(reservations::Column::Status, Expr::value(to.as_str()))
        .filter(reservations::Column::Id.eq(id))
        .filter(reservations::Column::Status.eq(from.as_str()));
    q = match to {
        St::Cancelled => q
            .col_expr(reservations::Column::CancelledAt, Expr::value(now))
            .col_expr(
                reservations::Column::ActiveResidentId,
                Expr::value(Option::<Uuid>::None),
            ),
        St::Confirmed => q.col_expr(reservations::Column::ConfirmedAt, Expr::value(now)),
        St::CheckedIn => q
            .col_expr(reservations::Column::CheckedInAt, Expr::value(now))
            .col_expr(reservations::Column::CheckedInBy, Expr::value(by)),
        St::NoShow => q.col_expr(reservations::Column::NoShowAt, Expr::value(now)),
        St::Waitlisted => q,
    };
    Ok(q.exec(db).await?.rows_affected == 1)
}

/// The waitlist of a slot, first come first.
pub async fn waitlist_of_slot(
    db: &impl ConnectionTrait,
    slot_id: Uuid,
) -> Result<Vec<reservations::Model>, DbErr> {
    Reservations::find()
        .filter(reservations::Column::SlotId.eq(slot_id))
        .filter(reservations::Column::Status.eq(St::Waitlisted.as_str()))
        .order_by_asc(reservations::Column::CreatedAt)
        .order_by_asc(reservations::Column::Id)
        .all(db)
        .await
}

pub async fn of_event(
    db: &impl ConnectionTrait,
    open_day_id: Uuid,
) -> Result<Vec<reservations::Model>, DbErr> {
    Reservations::find()
        .filter(reservations::Column::OpenDayId.eq(open_day_id))
        .order_by_asc(reservations::Column::Id)
        .all(db)
        .await
}

pub async fn of_slot(
    db: &impl ConnectionTrait,
    slot_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<reservations::Model>, DbErr> {
    let mut q = Reservations::find().filter(reservations::Column::SlotId.eq(slot_id));
    if let Some(a) = after {
        q = q.filter(reservations::Column::Id.gt(a));
    }
    q.order_by_asc(reservations::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// A resident's reservations, newest first.
pub async fn of_resident(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
    before: Option<Uuid>,
    limit: Option<u64>,
) -> Result<Vec<reservations::Model>, DbErr> {
    let mut q = Reservations::find().filter(reservations::Column::ResidentId.eq(resident_id));
    if let Some(b) = before {
        q = q.filter(reservations::Column::Id.lt(b));
    }
    q.order_by_desc(reservations::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// When the resident's recent no-shows happened.
pub async fn no_show_times(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
    since: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, DbErr> {
    Ok(Reservations::find()
        .filter(reservations::Column::ResidentId.eq(resident_id))
        .filter(reservations::Column::Status.eq(St::NoShow.as_str()))
        .filter(reservations::Column::NoShowAt.gt(since))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|r| r.no_show_at)
        .collect())
}

/// Confirmed reservations whose slot ended become no-shows; waitlisted ones of ended slots
/// lapse. One statement each, so a tick run twice changes nothing the second time.
pub async fn settle_ended_slots(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<(u64, u64), DbErr> {
    let ended = || {
        Query::select()
            .column(open_day_slots::Column::Id)
            .from(Slots)
            .and_where(open_day_slots::Column::EndsAt.lte(now))
            .to_owned()
    };
    let no_shows = Reservations::update_many()
        .col_expr(
            reservations::Column::Status,
            Expr::value(St::NoShow.as_str()),
        )
        .col_expr(reservations::Column::NoShowAt, Expr::value(now))
        .filter(reservations::Column::Status.eq(St::Confirmed.as_str()))
        .filter(reservations::Column::SlotId.in_subquery(ended()))
        .exec(db)
        .await?
        .rows_affected;
    let lapsed = Reservations::update_many()
        .col_expr(
            reservations::Column::Status,
            Expr::value(St::Cancelled.as_str()),
        )
        .col_expr(reservations::Column::CancelledAt, Expr::value(now))
        .col_expr(
            reservations::Column::ActiveResidentId,
            Expr::value(Option::<Uuid>::None),
        )
        .filter(reservations::Column::Status.eq(St::Waitlisted.as_str()))
        .filter(reservations::Column::SlotId.in_subquery(ended()))
        .exec(db)
        .await?
        .rows_affected;
    Ok((no_shows, lapsed))
}

/// Confirmed reservations of slots starting within (now, until] not yet reminded.
pub async fn due_reminders(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<reservations::Model>, DbErr> {
    Reservations::find()
        .filter(reservations::Column::Status.eq(St::Confirmed.as_str()))
        .filter(reservations::Column::RemindedAt.is_null())
        .filter(
            reservations::Column::SlotId.in_subquery(
                Query::select()
                    .column(open_day_slots::Column::Id)
                    .from(Slots)
                    .and_where(open_day_slots::Column::StartsAt.gt(now))
                    .and_where(open_day_slots::Column::StartsAt.lte(until))
                    .to_owned(),
            ),
        )
        .order_by_asc(reservations::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Claims a reminder; false when another tick already sent it.
pub async fn mark_reminded(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = Reservations::update_many()
        .col_expr(reservations::Column::RemindedAt, Expr::value(now))
        .filter(reservations::Column::Id.eq(id))
        .filter(reservations::Column::RemindedAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Active reservations of a resident in slots that have not ended.
pub async fn future_active_of_resident(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<reservations::Model>, DbErr> {
    Reservations::find()
        .filter(reservations::Column::ResidentId.eq(resident_id))
        .filter(
            Condition::any()
                .add(reservations::Column::Status.eq(St::Confirmed.as_str()))
                .add(reservations::Column::Status.eq(St::Waitlisted.as_str())),
        )
        .filter(
            reservations::Column::SlotId.in_subquery(
                Query::select()
                    .column(open_day_slots::Column::Id)
                    .from(Slots)
                    .and_where(open_day_slots::Column::EndsAt.gt(now))
                    .to_owned(),
            ),
        )
        .all(db)
        .await
}

/// Erases the personal fields a resident gave on their reservations.
pub async fn erase_personal_fields(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
) -> Result<(), DbErr> {
    Reservations::update_many()
        .col_expr(
            reservations::Column::VisitorNameEnc,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            reservations::Column::PhoneEnc,
            Expr::value(Option::<String>::None),
        )
        .filter(reservations::Column::ResidentId.eq(resident_id))
        .exec(db)
        .await?;
    Ok(())
}
