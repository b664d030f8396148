//! Use cases of open days: transactions, the seat arithmetic, the waitlist, check-ins and the
//! jobs. Seats are taken by a conditional UPDATE inside the booking's transaction, so a slot
//! is never overbooked whatever the number of instances; the cache only serves `seats_left`
//! to readers for a second or two.

use std::{
    collections::{HashMap, HashSet},
    time::Duration as StdDuration,
};

use actix_web::http::{StatusCode, header::ContentType};
use chrono::{DateTime, Duration, SubsecRound, Utc};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, TransactionTrait,
};
use uuid::Uuid;

use super::{
    domain::{
        BookingPhase, EventInput, EventSpec, EventStatus, NoShowPolicy, QR_KIND,
        ReservationStatus as St, SlotSpecInput, Visitor, booking_phase, cancel_deadline,
        new_verification_code, normalise_code, within_check_in_window,
    },
    dto::{
        CheckInView, CreateOpenDayRequest, OpenDayFields, OpenDayStats, OpenDayView,
        ReservationView, ReserveRequest, RevealVisitorRequest, RevealedVisitorValue, SlotStats,
        SlotTimes, SlotView, VisitorField, VisitorView,
    },
    export,
    guard::Turn,
    repo,
};
use crate::{
    audit::{self, Action, Actor},
    auth::CurrentStaff,
    check_in_codes::{self, QrSigner},
    entities::{open_day_slots, open_days, reservations},
    error::{ApiError, ApiResult, FieldError, is_unique_violation},
    idempotency::{self, Deferred, service::StoredAnswer},
    notifications::{self, Notice, NoticeKind},
    org_units,
    pagination::{Page, PageRequest},
    personal_data::{DataKey, consent, mask},
    rate_limit::{self, Limit},
    state::AppState,
};

const CONSENT_PURPOSE: &str = "open_day_reservation";

fn not_found() -> ApiError {
    ApiError::not_found("open_day_not_found", "没有这个开放日")
}

/// The refusal of a slot short of seats, here and in the storm guard alike.
pub(super) fn slot_full() -> ApiError {
    ApiError::conflict("slot_full", "该时段已约满")
}

fn already_reserved() -> ApiError {
    ApiError::conflict("already_reserved", "您已预约过该开放日")
}

fn reservation_not_found() -> ApiError {
    ApiError::not_found("reservation_not_found", "没有找到这个预约")
}

fn invalid(errors: Vec<(String, &'static str)>) -> ApiError {
    ApiError::validation(
        errors
            .into_iter()
            .map(|(field, message)| FieldError {
                field,
                message: message.to_owned(),
            })
            .collect(),
    )
}

fn view_key(id: Uuid) -> String {
    format!("open_days:{id}:view")
}

fn qr_signer(key: &DataKey) -> ApiResult<QrSigner> {
    check_in_codes::qr_signer(key)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("qr signing key")))
}

fn policy(state: &AppState) -> NoShowPolicy {
    let s = &state.settings;
    NoShowPolicy {
        limit: s.open_day_no_show_limit as usize,
        window: Duration::days(i64::from(s.open_day_no_show_window_days)),
        suspension: Duration::days(i64::from(s.open_day_suspension_days)),
    }
}

fn beijing(t: DateTime<Utc>) -> String {
    (t + Duration::hours(8))
        .format("%m月%d日 %H:%M")
        .to_string()
}

fn spec_of(f: OpenDayFields) -> ApiResult<EventSpec> {
    EventSpec::parse(EventInput {
        title: f.title,
        description: f.description,
        location: f.location,
        booking_opens_at: f.booking_opens_at,
        booking_closes_at: f.booking_closes_at,
        cancel_cutoff_minutes: f.cancel_cutoff_minutes,
        max_party_size: f.max_party_size,
        eligibility: f.eligibility,
        slots: f
            .slots
            .into_iter()
            .map(|s| SlotSpecInput {
                id: s.id,
                starts_at: s.starts_at,
                ends_at: s.ends_at,
                capacity: s.capacity,
            })
            .collect(),
    })
    .map_err(invalid)
}

async fn unit_code(db: &impl ConnectionTrait, id: Uuid) -> ApiResult<String> {
    Ok(org_units::repo::find(db, id)
        .await?
        .map(|u| u.code)
        .unwrap_or_default())
}

/// The event, if the staff member may act on it.
async fn event_for_staff(
    db: &impl ConnectionTrait,
    staff: &CurrentStaff,
    id: Uuid,
) -> ApiResult<(open_days::Model, String)> {
    let event = repo::find_event(db, id).await?.ok_or_else(not_found)?;
    let code = unit_code(db, event.org_unit_id).await?;
    staff.ensure_org_unit(&code)?;
    Ok((event, code))
}

fn slot_view(s: &open_day_slots::Model) -> SlotView {
    SlotView {
        id: s.id,
        starts_at: s.starts_at,
        ends_at: s.ends_at,
        capacity: s.capacity,
        seats_left: (s.capacity - s.taken).max(0),
    }
}

fn event_view(e: open_days::Model, code: String, slots: &[open_day_slots::Model]) -> OpenDayView {
    OpenDayView {
        id: e.id,
        org_unit: code,
        title: e.title,
        description: e.description,
        location: e.location,
        booking_opens_at: e.booking_opens_at,
        booking_closes_at: e.booking_closes_at,
        cancel_cutoff_minutes: e.cancel_cutoff_minutes,
        max_party_size: e.max_party_size,
        eligibility: e.eligibility,
        status: e.status,
        slots: slots.iter().map(slot_view).collect(),
    }
}

async fn full_view(db: &impl ConnectionTrait, e: open_days::Model) -> ApiResult<OpenDayView> {
    let slots = repo::slots_of(db, e.id).await?;
    let code = unit_code(db, e.org_unit_id).await?;
    Ok(event_view(e, code, &slots))
}

/// Seats were freed or the event changed.
async fn forget(state: &AppState, id: Uuid) {
    state.open_day_guard.forget(id).await;
    state.cache.delete(&view_key(id)).await;
}

/// Tells the storm guard that the slot `slot_id` has at most `free` seats, so that attempts
/// waiting behind this one are refused without a transaction; whether `resident_id` holds a
/// reservation of the event. Once per slot and second: the holders are read after the slot
/// was found short, so everyone who took one of its seats is among them, and the resident's
/// own reservation is read with them. One round trip either way: in a release minute the
/// refusals of everyone waiting start once it is back.
async fn found_full(
    state: &AppState,
    event: &open_days::Model,
    slot_id: Uuid,
    free: i32,
    resident_id: Uuid,
) -> ApiResult<bool> {
    let guard = &state.open_day_guard;
    if guard.knows(event.id, slot_id).await {
        return Ok(repo::active_of_resident(&state.db, event.id, resident_id)
            .await?
            .is_some());
    }
    let holders: HashSet<Uuid> = repo::active_residents(&state.db, event.id)
        .await?
        .into_iter()
        .collect();
    let holds_one = holders.contains(&resident_id);
    let found = super::guard::Found {
        slot: slot_id,
        free,
        max_party: event.max_party_size,
        holders,
    };
    guard.record(event.id, found).await;
    Ok(holds_one)
}

/// Staff create an open day (a draft until published).
#[tracing::instrument(skip_all)]
pub async fn create(
    state: &AppState,
    staff: &CurrentStaff,
    req: CreateOpenDayRequest,
) -> ApiResult<OpenDayView> {
    let db = &state.db;
    let unit = org_units::service::require(db, req.org_unit.trim(), "org_unit").await?;
    staff.ensure_org_unit(&unit.code)?;
    let spec = spec_of(req.event)?;
    let now = Utc::now();
    let txn = db.begin().await?;
    let event = repo::insert_event(
        &txn,
        open_days::ActiveModel {
            id: Set(Uuid::now_v7()),
            org_unit_id: Set(unit.id),
            title: Set(spec.title().to_owned()),
            description: Set(spec.description().to_owned()),
            location: Set(spec.location().to_owned()),
            booking_opens_at: Set(spec.booking_opens_at()),
            booking_closes_at: Set(spec.booking_closes_at()),
            cancel_cutoff_minutes: Set(spec.cancel_cutoff_minutes()),
            max_party_size: Set(spec.max_party_size()),
            eligibility: Set(spec.eligibility().to_owned()),
            status: Set(EventStatus::Draft.as_str().to_owned()),
            created_by: Set(staff.id),
            created_at: Set(now),
            updated_at: Set(now),
        },
    )
    .await?;
    for (i, s) in spec.slots().iter().enumerate() {
        if s.id.is_some() {
            return Err(ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "slot_unknown",
                format!("slots[{i}].id"),
                "新建开放日的时段不应带编号",
            ));
        }
        insert_slot(&txn, event.id, s.starts_at, s.ends_at, s.capacity).await?;
    }
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::OpenDayCreated,
        "open_day",
        &event.id.to_string(),
        Some(serde_json::json!({ "title": event.title, "org_unit": unit.code })),
    )
    .await?;
    let view = full_view(&txn, event).await?;
    txn.commit().await?;
    Ok(view)
}

async fn insert_slot(
    db: &impl ConnectionTrait,
    open_day_id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    capacity: i32,
) -> Result<(), DbErr> {
    repo::insert_slot(
        db,
        open_day_slots::ActiveModel {
            id: Set(Uuid::now_v7()),
            open_day_id: Set(open_day_id),
            starts_at: Set(starts_at),
            ends_at: Set(ends_at),
            capacity: Set(capacity),
            taken: Set(0),
        },
    )
    .await
}

/// Staff replace an open day's description and slots. Slots named by `id` change (never
/// below the seats taken), new ones are added, and unnamed old ones go if nobody booked them.
#[tracing::instrument(skip_all, fields(open_day = %id))]
pub async fn update(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
    fields: OpenDayFields,
) -> ApiResult<OpenDayView> {
    let spec = spec_of(fields)?;
    let txn = state.db.begin().await?;
    let (event, _) = event_for_staff(&txn, staff, id).await?;
    if event.status == EventStatus::Cancelled.as_str() {
        return Err(ApiError::conflict("open_day_cancelled", "该开放日已取消"));
    }
    let existing = repo::slots_of(&txn, id).await?;
    for (i, s) in spec.slots().iter().enumerate() {
        match s.id {
            Some(slot_id) => {
                let Some(old) = existing.iter().find(|o| o.id == slot_id) else {
                    return Err(ApiError::field(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "slot_unknown",
                        format!("slots[{i}].id"),
                        "该开放日没有这个时段",
                    ));
                };
                if !repo::update_slot(&txn, slot_id, s.starts_at, s.ends_at, s.capacity).await? {
                    return Err(ApiError::field(
                        StatusCode::CONFLICT,
                        "capacity_below_taken",
                        format!("slots[{i}].capacity"),
                        "名额不能少于已预约的人数",
                    )
                    .with_extension("taken", serde_json::json!(old.taken)));
                }
            }
            None => insert_slot(&txn, id, s.starts_at, s.ends_at, s.capacity).await?,
        }
    }
    for old in &existing {
        if !spec.slots().iter().any(|s| s.id == Some(old.id)) {
            if repo::reservations_on_slot(&txn, old.id).await? > 0 {
                return Err(ApiError::conflict(
                    "slot_has_reservations",
                    "已有预约的时段不能删除",
                ));
            }
            repo::delete_slot(&txn, old.id).await?;
        }
    }
    let mut active: open_days::ActiveModel = event.into();
    active.title = Set(spec.title().to_owned());
    active.description = Set(spec.description().to_owned());
    active.location = Set(spec.location().to_owned());
    active.booking_opens_at = Set(spec.booking_opens_at());
    active.booking_closes_at = Set(spec.booking_closes_at());
    active.cancel_cutoff_minutes = Set(spec.cancel_cutoff_minutes());
    active.max_party_size = Set(spec.max_party_size());
    active.eligibility = Set(spec.eligibility().to_owned());
    active.updated_at = Set(Utc::now());
    let event = repo::update_event(&txn, active).await?;
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::OpenDayUpdated,
        "open_day",
        &id.to_string(),
        None,
    )
    .await?;
    let view = full_view(&txn, event).await?;
    txn.commit().await?;
    forget(state, id).await;
    Ok(view)
}

/// Staff publish a draft; publishing a published open day again changes nothing.
#[tracing::instrument(skip_all, fields(open_day = %id))]
pub async fn publish(state: &AppState, staff: &CurrentStaff, id: Uuid) -> ApiResult<OpenDayView> {
    let txn = state.db.begin().await?;
    let (event, _) = event_for_staff(&txn, staff, id).await?;
    match EventStatus::parse(&event.status) {
        Some(EventStatus::Cancelled) => {
            return Err(ApiError::conflict("open_day_cancelled", "该开放日已取消"));
        }
        Some(EventStatus::Published) => {}
        _ => {
            repo::set_event_status(&txn, id, &["draft"], "published", Utc::now()).await?;
            audit::record(
                &txn,
                &Actor::from(staff),
                Action::OpenDayPublished,
                "open_day",
                &id.to_string(),
                None,
            )
            .await?;
        }
    }
    let event = repo::find_event(&txn, id).await?.ok_or_else(not_found)?;
    let view = full_view(&txn, event).await?;
    txn.commit().await?;
    forget(state, id).await;
    Ok(view)
}

/// Staff call an open day off: every active reservation is cancelled and its resident told.
#[tracing::instrument(skip_all, fields(open_day = %id))]
pub async fn cancel_event(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
) -> ApiResult<OpenDayView> {
    let txn = state.db.begin().await?;
    let (event, _) = event_for_staff(&txn, staff, id).await?;
    let now = Utc::now();
    if !repo::set_event_status(&txn, id, &["draft", "published"], "cancelled", now).await? {
        return Err(ApiError::conflict("open_day_cancelled", "该开放日已取消"));
    }
    let slots = repo::slots_of(&txn, id).await?;
    let mut notified = 0u32;
    for r in repo::of_event(&txn, id).await? {
        let Some(from) =
            St::parse(&r.status).filter(|s| matches!(s, St::Confirmed | St::Waitlisted))
        else {
            continue;
        };
        if repo::set_status(&txn, r.id, from, St::Cancelled, now, None).await? {
            if from == St::Confirmed {
                repo::free_seats(&txn, r.slot_id, r.party_size).await?;
            }
            let when = slots
                .iter()
                .find(|s| s.id == r.slot_id)
                .map(|s| beijing(s.starts_at))
                .unwrap_or_default();
            notifications::enqueue(&txn, r.resident_id, cancelled_notice(&event, &when, r.id))
                .await?;
            notified += 1;
        }
    }
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::OpenDayCancelled,
        "open_day",
        &id.to_string(),
        Some(serde_json::json!({ "reservations_cancelled": notified })),
    )
    .await?;
    let event = repo::find_event(&txn, id).await?.ok_or_else(not_found)?;
    let view = full_view(&txn, event).await?;
    txn.commit().await?;
    forget(state, id).await;
    Ok(view)
}

fn notice(
    kind: NoticeKind,
    title: &str,
    body: String,
    page: String,
    when: &str,
    what: &str,
) -> Notice {
    Notice {
        kind,
        title: title.to_owned(),
        body,
        page: Some(page),
        data: [
            ("thing1".to_owned(), what.to_owned()),
            ("time2".to_owned(), when.to_owned()),
        ]
        .into_iter()
        .collect(),
    }
}

fn cancelled_notice(event: &open_days::Model, when: &str, reservation: Uuid) -> Notice {
    notice(
        NoticeKind::BookingCancelled,
        "开放日已取消",
        format!("很抱歉，您预约的“{}”（{when}）已取消。", event.title),
        format!("pages/open-days/reservation?id={reservation}"),
        when,
        &event.title,
    )
}

fn confirmed_notice(
    event: &open_days::Model,
    when: &str,
    reservation: Uuid,
    promoted: bool,
) -> Notice {
    let body = if promoted {
        format!(
            "您候补的“{}”（{when}）已有空位，预约成功。请凭核验码按时到场。",
            event.title
        )
    } else {
        format!(
            "您已成功预约“{}”（{when}），请凭核验码按时到场。",
            event.title
        )
    };
    notice(
        NoticeKind::BookingConfirmed,
        if promoted {
            "候补预约成功"
        } else {
            "开放日预约成功"
        },
        body,
        format!("pages/open-days/reservation?id={reservation}"),
        when,
        &event.title,
    )
}

/// Upcoming published open days, for residents.
pub async fn list(db: &DatabaseConnection, page: PageRequest) -> ApiResult<Page<OpenDayView>> {
    let rows = repo::list_upcoming(db, Utc::now(), page.after, page.limit + 1).await?;
    page_of_events(db, rows, page).await
}

/// The staff member's org unit's open days of every status, newest first (all of them for
/// administrators).
pub async fn list_for_staff(
    db: &DatabaseConnection,
    staff: &CurrentStaff,
    page: PageRequest,
) -> ApiResult<Page<OpenDayView>> {
    let unit = if staff.is_admin {
        None
    } else {
        // An org unit that no longer exists holds no open days: the nil id matches none.
        Some(
            org_units::repo::find_by_code(db, &staff.org_unit)
                .await?
                .map_or(Uuid::nil(), |u| u.id),
        )
    };
    let rows = repo::list_of_unit(db, unit, page.after, page.limit + 1).await?;
    page_of_events(db, rows, page).await
}

async fn page_of_events(
    db: &DatabaseConnection,
    rows: Vec<open_days::Model>,
    page: PageRequest,
) -> ApiResult<Page<OpenDayView>> {
    let ids: Vec<Uuid> = rows.iter().map(|e| e.id).collect();
    let slots = repo::slots_of_many(db, &ids).await?;
    let codes = org_units::service::codes_by_id(db).await?;
    Ok(Page::from_rows(
        rows,
        page,
        |e| e.id,
        |e| {
            let mine: Vec<_> = slots
                .iter()
                .filter(|s| s.open_day_id == e.id)
                .cloned()
                .collect();
            let code = codes.get(&e.org_unit_id).cloned().unwrap_or_default();
            event_view(e, code, &mine)
        },
    ))
}

/// One published (or cancelled) open day with its slots; `seats_left` may come from the
/// cache for `open_day_seats_cache_ms`. Drafts only for staff who may act on them (uncached).
pub async fn detail(
    state: &AppState,
    id: Uuid,
    staff: Option<&CurrentStaff>,
) -> ApiResult<OpenDayView> {
    let key = view_key(id);
    if let Some(v) = state.cache.get_json::<OpenDayView>(&key).await {
        return Ok(v);
    }
    let event = repo::find_event(&state.db, id)
        .await?
        .ok_or_else(not_found)?;
    let view = full_view(&state.db, event).await?;
    if view.status == EventStatus::Draft.as_str() {
        return match staff {
            Some(s) if s.may_act_in(&view.org_unit) => Ok(view),
            _ => Err(not_found()),
        };
    }
    let ttl = StdDuration::from_millis(state.settings.open_day_seats_cache_ms);
    if !ttl.is_zero() {
        state.cache.set_json(&key, &view, ttl).await;
    }
    Ok(view)
}

fn reservation_view(
    r: reservations::Model,
    event: &open_days::Model,
    slot: &open_day_slots::Model,
    key: &DataKey,
    signer: &QrSigner,
) -> ReservationView {
    let open = |sealed: &Option<String>| sealed.as_deref().and_then(|s| key.open(s).ok());
    ReservationView {
        visitor_name: open(&r.visitor_name_enc),
        phone: open(&r.phone_enc),
        qr_payload: signer.sign(QR_KIND, &[&r.id.to_string()]),
        id: r.id,
        open_day_id: event.id,
        open_day_title: event.title.clone(),
        location: event.location.clone(),
        status: r.status,
        slot: SlotTimes {
            id: slot.id,
            starts_at: slot.starts_at,
            ends_at: slot.ends_at,
        },
        party_size: r.party_size,
        verification_code: r.verification_code,
        cancel_deadline: cancel_deadline(slot.starts_at, event.cancel_cutoff_minutes),
        created_at: r.created_at,
        checked_in_at: r.checked_in_at,
    }
}

/// What became of a booking that was not refused.
pub enum Reserved {
    /// The reservation as answered (JSON); `key_recorded` when the request's Idempotency-Key
    /// was written with it, this answer kept for its retries.
    Created { body: Vec<u8>, key_recorded: bool },
    /// The request's Idempotency-Key was held by another request: nothing was done, and the
    /// idempotency middleware answers for the key.
    KeyHeld,
}

/// Whether `slot` of `event` admits the booking `req` at `now`, as far as they show: the
/// party's size, or the refusal naming why not. Not the seats, nor the resident's no-shows.
fn admit(
    slot: &open_day_slots::Model,
    event: &open_days::Model,
    req: &ReserveRequest,
    now: DateTime<Utc>,
) -> ApiResult<i32> {
    if event.status == EventStatus::Draft.as_str() {
        return Err(not_found());
    }
    if event.status == EventStatus::Cancelled.as_str() {
        return Err(ApiError::conflict("open_day_cancelled", "该开放日已取消"));
    }
    if req.party_size < 1 {
        return Err(invalid(vec![("party_size".into(), "人数至少为 1")]));
    }
    if req.party_size > i64::from(event.max_party_size) {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "party_too_large",
            "party_size",
            format!("每个预约最多 {} 人", event.max_party_size),
        ));
    }
    match booking_phase(now, event.booking_opens_at, event.booking_closes_at) {
        BookingPhase::NotOpen => {
            return Err(ApiError::conflict(
                "booking_not_open",
                format!("预约将于 {} 开放", beijing(event.booking_opens_at)),
            )
            .with_extension(
                "booking_opens_at",
                serde_json::json!(event.booking_opens_at),
            ));
        }
        BookingPhase::Closed => {
            return Err(ApiError::conflict("booking_closed", "预约已截止"));
        }
        BookingPhase::Open => {}
    }
    if slot.ends_at <= now {
        return Err(ApiError::conflict("slot_ended", "该时段已结束"));
    }
    Ok(i32::try_from(req.party_size).unwrap_or(i32::MAX))
}

/// A resident books seats in a slot (or joins its waitlist when asked to and it is full).
/// `key`: the request's Idempotency-Key, to be recorded with the booking (see
/// `idempotency::Deferred`); `turn`: the attempt's turn at the database, if the storm guard
/// gave one, given back once the seat is taken.
#[tracing::instrument(skip_all, fields(open_day = %open_day_id))]
pub async fn reserve(
    state: &AppState,
    resident_id: Uuid,
    open_day_id: Uuid,
    req: ReserveRequest,
    key: Option<&Deferred>,
    mut turn: Option<Turn>,
) -> ApiResult<Reserved> {
    let db = &state.db;
    let resident = resident_id.to_string();
    let policy = policy(state);
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    let mut limit_checked = false;
    // A seat on PostgreSQL is first tried with the slot and its open day as an earlier attempt
    // on this instance read them, without reading them or the resident's no-shows: the
    // statement checks all of that itself. In a release minute each read before the seat is
    // one more wait in a queue of thousands. Refused, the attempt reads what holds now, to
    // book with that or to say why not.
    let as_read = if postgres && !req.waitlist {
        state.open_day_guard.slot_as_read(req.slot_id).await
    } else {
        None
    };
    if let Some(read) = as_read.filter(|read| read.1.id == open_day_id) {
        rate_limit::check(state, Limit::Submission, &resident).await?;
        limit_checked = true;
        consent::require(req.consent)?;
        let visitor = Visitor::parse(&req.visitor_name, &req.phone).map_err(invalid)?;
        let (slot, event) = &*read;
        if let Ok(party) = admit(slot, event, &req, Utc::now()) {
            let seats = Seats {
                event,
                slot,
                resident_id,
                party,
            };
            let booked = book_at_once(state, seats, &visitor, key, policy, &mut turn).await?;
            if let Booked::Yes(reserved) = booked {
                return Ok(reserved);
            }
        }
    }
    // The rate limit (Redis), the slot and the resident's no-shows are asked at the same
    // time, for the same reason.
    let now = Utc::now();
    let (limited, found, no_shows) = tokio::join!(
        async {
            if limit_checked {
                return Ok(());
            }
            rate_limit::check(state, Limit::Submission, &resident).await
        },
        repo::find_slot_with_event(db, req.slot_id),
        repo::no_show_times(db, resident_id, now - policy.lookback()),
    );
    limited?;
    consent::require(req.consent)?;
    let visitor = Visitor::parse(&req.visitor_name, &req.phone).map_err(invalid)?;
    let (slot, event) = match found? {
        Some((slot, event)) if event.id == open_day_id => (slot, event),
        _ => {
            // No such slot on this open day: tell an unknown open day from an unknown slot.
            repo::find_event(db, open_day_id)
                .await?
                .filter(|e| e.status != EventStatus::Draft.as_str())
                .ok_or_else(not_found)?;
            return Err(ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "slot_unknown",
                "slot_id",
                "该开放日没有这个时段",
            ));
        }
    };
    if postgres {
        state
            .open_day_guard
            .keep_as_read(slot.clone(), event.clone())
            .await;
    }
    let party = admit(&slot, &event, &req, now)?;
    if let Some(lifts) = policy.suspended_until(&no_shows?, now) {
        return Err(ApiError::forbidden(
            "booking_suspended",
            format!("您近期多次预约未到场，{} 前暂不能预约", beijing(lifts)),
        )
        .with_extension("lifts_at", serde_json::json!(lifts)));
    }

    // The slot was read a moment ago: when it was full then and the resident does not want
    // the waitlist, the answer is known without a transaction. Seats taken by then stay taken
    // unless cancelled, so this refuses no booking the conditional update below would admit
    // except one racing a cancellation, which it equally could have lost. In a release-minute
    // storm nearly every attempt ends here, off the slot's row lock.
    if !req.waitlist && i64::from(slot.taken) + i64::from(party) > i64::from(slot.capacity) {
        let free = slot.capacity - slot.taken;
        return Err(short_of_seats(state, &event, slot.id, free, resident_id).await?);
    }
    if !req.waitlist && postgres {
        let booking = Seats {
            event: &event,
            slot: &slot,
            resident_id,
            party,
        };
        return match book_at_once(state, booking, &visitor, key, policy, &mut turn).await? {
            Booked::Yes(reserved) => Ok(reserved),
            // Short of seats: fewer than `party` are free (the slot, the event and the
            // no-shows were read a moment ago). Not read again for the count: that would be
            // one more round trip before the refusals of everyone waiting. The statement also
            // refuses when, in that moment, staff changed the open day or booking closed:
            // such an attempt is refused as full too, and the storm guard takes the slot as
            // full for up to a second (`KNOWN_FOR`); nothing is booked on what changed.
            Booked::No => {
                Err(short_of_seats(state, &event, slot.id, party - 1, resident_id).await?)
            }
        };
    }
    let txn = db.begin().await?;
    crate::db::commit_without_flush(&txn).await?;
    let mut code = new_verification_code();
    for _ in 0..5 {
        let (holds_one, code_taken) = repo::clashes(&txn, event.id, resident_id, &code).await?;
        if holds_one {
            return Err(already_reserved());
        }
        if !code_taken {
            break;
        }
        code = new_verification_code();
    }
    // A seat is taken last, just before the commit: the slot's row stays locked from that
    // UPDATE until the commit, and in a release minute every booking of the slot queues on
    // that lock. Only a waitlist request needs the answer first (it decides its status).
    let status = if !req.waitlist || repo::take_seats(&txn, slot.id, party).await? {
        St::Confirmed
    } else {
        St::Waitlisted
    };
    let inserted = repo::insert_reservation(
        &txn,
        reservations::ActiveModel {
            id: Set(Uuid::now_v7()),
            open_day_id: Set(event.id),
            slot_id: Set(slot.id),
            resident_id: Set(resident_id),
            active_resident_id: Set(Some(resident_id)),
            party_size: Set(party),
            visitor_name_enc: Set(Some(state.data_key.seal(visitor.name()))),
            phone_enc: Set(Some(state.data_key.seal(visitor.phone()))),
            verification_code: Set(code),
            status: Set(status.as_str().to_owned()),
            created_at: Set(now),
            confirmed_at: Set((status == St::Confirmed).then_some(now)),
            cancelled_at: Set(None),
            checked_in_at: Set(None),
            checked_in_by: Set(None),
            no_show_at: Set(None),
            reminded_at: Set(None),
        },
    )
    .await;
    let r = match inserted {
        Ok(r) => r,
        Err(e) if is_unique_violation(&e) => return Err(already_reserved()),
        Err(e) => return Err(e.into()),
    };
    consent::record(
        &txn,
        resident_id,
        CONSENT_PURPOSE,
        &state.settings.privacy_notice_version,
    )
    .await?;
    if status == St::Confirmed {
        notifications::enqueue(
            &txn,
            resident_id,
            confirmed_notice(&event, &beijing(slot.starts_at), r.id, false),
        )
        .await?;
    }
    if !req.waitlist && !repo::take_seats(&txn, slot.id, party).await? {
        txn.rollback().await?;
        // Someone took the last seats since the slot was read.
        return Err(short_of_seats(state, &event, slot.id, party - 1, resident_id).await?);
    }
    let body = answer_body(state, r, &event, &slot)?;
    let key_recorded = match key {
        Some(key) => {
            if !idempotency::service::record_answered(&txn, key, created(&body)).await? {
                txn.rollback().await?;
                return Ok(Reserved::KeyHeld);
            }
            true
        }
        None => false,
    };
    txn.commit().await?;
    booked(state, &event).await?;
    Ok(Reserved::Created { body, key_recorded })
}

/// The answer to a booking: the reservation as the resident sees it, as JSON.
fn answer_body(
    state: &AppState,
    r: reservations::Model,
    event: &open_days::Model,
    slot: &open_day_slots::Model,
) -> ApiResult<Vec<u8>> {
    let signer = qr_signer(&state.data_key)?;
    let view = reservation_view(r, event, slot, &state.data_key, &signer);
    serde_json::to_vec(&view).map_err(|e| ApiError::internal(anyhow::anyhow!("reservation: {e}")))
}

/// `body` as its Idempotency-Key keeps it.
fn created(body: &[u8]) -> StoredAnswer {
    StoredAnswer {
        status: StatusCode::CREATED.as_u16(),
        content_type: Some(ContentType::json().to_string()),
        body: body.to_vec(),
    }
}

/// Returns once a booking just committed is on disk. Only the readers' view changed: what
/// the storm guard knows (slots short of seats) cannot be made wrong by a seat taken. The
/// view is dropped while the flush is awaited, not after it: readers may see the seat taken
/// a moment before it is durable, as they would see any committed booking, and in a release
/// minute each round trip of a winner is one more wait behind the losers.
async fn booked(state: &AppState, event: &open_days::Model) -> ApiResult<()> {
    let view = view_key(event.id);
    let (durable, ()) = tokio::join!(
        crate::db::wait_durable(&state.db),
        state.cache.delete(&view),
    );
    durable?;
    Ok(())
}

/// The refusal of an attempt that found the slot `slot_id` with at most `free` seats:
/// `already_reserved` for a resident who holds a reservation of the event (her retry after a
/// lost answer), `slot_full` otherwise. The storm guard learns of the slot either way.
async fn short_of_seats(
    state: &AppState,
    event: &open_days::Model,
    slot_id: Uuid,
    free: i32,
    resident_id: Uuid,
) -> ApiResult<ApiError> {
    Ok(
        if found_full(state, event, slot_id, free, resident_id).await? {
            already_reserved()
        } else {
            slot_full()
        },
    )
}

/// The seats a booking asks for.
struct Seats<'a> {
    event: &'a open_days::Model,
    slot: &'a open_day_slots::Model,
    resident_id: Uuid,
    party: i32,
}

/// What a booking statement did.
enum Booked {
    Yes(Reserved),
    /// Nothing written: the slot was short of seats, or no longer as read (see
    /// `repo::book_at_once`).
    No,
}

/// `reserve` for a seat now (not the waitlist) on PostgreSQL: one statement, see
/// `repo::book_at_once`, which also records the request's Idempotency-Key with the answer:
/// a winner of a release minute goes to the database twice (the booking, the flush) when an
/// earlier attempt read the slot, three times when it reads it itself, not five (a claim of
/// its key first and its answer after).
async fn book_at_once(
    state: &AppState,
    seats: Seats<'_>,
    visitor: &Visitor,
    key: Option<&Deferred>,
    no_shows: NoShowPolicy,
    turn: &mut Option<Turn>,
) -> ApiResult<Booked> {
    let Seats {
        event,
        slot,
        resident_id,
        party,
    } = seats;
    // As PostgreSQL keeps it, so the answer shows what a later read will.
    let now = Utc::now().trunc_subsecs(6);
    let reservation = Uuid::now_v7();
    let notice = confirmed_notice(event, &beijing(slot.starts_at), reservation, false);
    let request_id = crate::telemetry::current_request_id();
    let visitor_name_enc = state.data_key.seal(visitor.name());
    let phone_enc = state.data_key.seal(visitor.phone());
    for _ in 0..5 {
        let code = new_verification_code();
        let r = reservations::Model {
            id: reservation,
            open_day_id: event.id,
            slot_id: slot.id,
            resident_id,
            active_resident_id: Some(resident_id),
            party_size: party,
            visitor_name_enc: Some(visitor_name_enc.clone()),
            phone_enc: Some(phone_enc.clone()),
            verification_code: code.clone(),
            status: St::Confirmed.as_str().to_owned(),
            created_at: now,
            confirmed_at: Some(now),
            cancelled_at: None,
            checked_in_at: None,
            checked_in_by: None,
            no_show_at: None,
            reminded_at: None,
        };
        let body = answer_body(state, r, event, slot)?;
        let attempt = repo::book_at_once(
            &state.unflushed,
            repo::Booking {
                reservation,
                slot,
                event,
                no_shows,
                resident_id,
                party_size: party,
                visitor_name_enc: visitor_name_enc.clone(),
                phone_enc: phone_enc.clone(),
                verification_code: &code,
                now,
                consent_purpose: CONSENT_PURPOSE,
                notice_version: &state.settings.privacy_notice_version,
                request_id: request_id.clone(),
                notice: &notice,
                key: key.map(|key| (key, created(&body))),
            },
        )
        .await;
        match attempt {
            Ok(true) => {
                // The seat is taken: the next attempt may go while this one waits for the disk.
                turn.take();
                booked(state, event).await?;
                return Ok(Booked::Yes(Reserved::Created {
                    body,
                    key_recorded: key.is_some(),
                }));
            }
            Ok(false) => return Ok(Booked::No),
            Err(e) if repo::is_code_clash(&e) => {}
            Err(e) if idempotency::is_key_held(&e) => return Ok(Booked::Yes(Reserved::KeyHeld)),
            Err(e) if is_unique_violation(&e) => return Err(already_reserved()),
            Err(e) => return Err(e.into()),
        }
    }
    // Five codes in a row in use: the event's code space is nearly spent.
    Err(ApiError::unavailable(
        "code_space_exhausted",
        "预约人数过多，请稍后再试",
    ))
}

/// Books waitlisted parties of a slot into seats just freed, first come first, skipping
/// parties too large for what is free. Runs in the transaction that freed the seats.
async fn promote_waitlist(
    db: &impl ConnectionTrait,
    event: &open_days::Model,
    slot: &open_day_slots::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for w in repo::waitlist_of_slot(db, slot.id).await? {
        if !repo::take_seats(db, slot.id, w.party_size).await? {
            continue;
        }
        if repo::set_status(db, w.id, St::Waitlisted, St::Confirmed, now, None).await? {
            notifications::enqueue(
                db,
                w.resident_id,
                confirmed_notice(event, &beijing(slot.starts_at), w.id, true),
            )
            .await?;
        } else {
            repo::free_seats(db, slot.id, w.party_size).await?;
        }
    }
    Ok(())
}

/// Cancels an active reservation, frees its seats and promotes the waitlist. `None` when it
/// was not active any more.
async fn cancel_one(
    db: &impl ConnectionTrait,
    r: &reservations::Model,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let Some(from) = St::parse(&r.status).filter(|s| matches!(s, St::Confirmed | St::Waitlisted))
    else {
        return Ok(false);
    };
    if !repo::set_status(db, r.id, from, St::Cancelled, now, None).await? {
        return Ok(false);
    }
    if from == St::Confirmed {
        repo::free_seats(db, r.slot_id, r.party_size).await?;
        if let (Some(event), Some(slot)) = (
            repo::find_event(db, r.open_day_id).await?,
            repo::find_slot(db, r.slot_id).await?,
        ) && event.status == EventStatus::Published.as_str()
        {
            promote_waitlist(db, &event, &slot, now).await?;
        }
    }
    Ok(true)
}

/// A resident cancels their own reservation before the cutoff; the seats are free at once.
#[tracing::instrument(skip_all, fields(reservation = %id))]
pub async fn cancel_reservation(state: &AppState, resident_id: Uuid, id: Uuid) -> ApiResult<()> {
    let txn = state.db.begin().await?;
    let r = repo::find_reservation(&txn, id)
        .await?
        .filter(|r| r.resident_id == resident_id)
        .ok_or_else(reservation_not_found)?;
    match St::parse(&r.status) {
        Some(St::Cancelled) => {
            return Err(ApiError::conflict("already_cancelled", "该预约已取消"));
        }
        Some(St::CheckedIn | St::NoShow) | None => {
            return Err(ApiError::conflict(
                "reservation_closed",
                "该预约已结束，不能取消",
            ));
        }
        Some(St::Confirmed) => {
            let slot = repo::find_slot(&txn, r.slot_id)
                .await?
                .ok_or_else(reservation_not_found)?;
            let event = repo::find_event(&txn, r.open_day_id)
                .await?
                .ok_or_else(not_found)?;
            let deadline = cancel_deadline(slot.starts_at, event.cancel_cutoff_minutes);
            if Utc::now() > deadline {
                return Err(ApiError::conflict(
                    "cancel_cutoff_passed",
                    format!("已过取消截止时间（{}）", beijing(deadline)),
                ));
            }
        }
        Some(St::Waitlisted) => {}
    }
    if !cancel_one(&txn, &r, Utc::now()).await? {
        return Err(ApiError::conflict("already_cancelled", "该预约已取消"));
    }
    txn.commit().await?;
    forget(state, r.open_day_id).await;
    Ok(())
}

/// The resident's reservations, newest first.
pub async fn mine(
    state: &AppState,
    resident_id: Uuid,
    page: PageRequest,
) -> ApiResult<Page<ReservationView>> {
    let rows = repo::of_resident(&state.db, resident_id, page.after, Some(page.limit + 1)).await?;
    let views = views_of(state, &state.db, rows).await?;
    Ok(Page::from_rows(views, page, |v| v.id, |v| v))
}

async fn views_of(
    state: &AppState,
    db: &impl ConnectionTrait,
    rows: Vec<reservations::Model>,
) -> ApiResult<Vec<ReservationView>> {
    let signer = qr_signer(&state.data_key)?;
    let mut events: HashMap<Uuid, open_days::Model> = HashMap::new();
    let mut slots: HashMap<Uuid, open_day_slots::Model> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        if !events.contains_key(&r.open_day_id) {
            let e = repo::find_event(db, r.open_day_id)
                .await?
                .ok_or_else(not_found)?;
            for s in repo::slots_of(db, e.id).await? {
                slots.insert(s.id, s);
            }
            events.insert(e.id, e);
        }
        let (Some(e), Some(s)) = (events.get(&r.open_day_id), slots.get(&r.slot_id)) else {
            continue;
        };
        out.push(reservation_view(r, e, s, &state.data_key, &signer));
    }
    Ok(out)
}

/// The resident's reservations for `GET /api/v1/me/data-export`.
pub async fn export_of(state: &AppState, resident_id: Uuid) -> ApiResult<Vec<ReservationView>> {
    let rows = repo::of_resident(&state.db, resident_id, None, None).await?;
    views_of(state, &state.db, rows).await
}

/// Part of deleting an account, in its transaction: reservations of slots still to come are
/// cancelled (their seats freed, the waitlist promoted) and every visitor name and phone the
/// resident gave is erased.
pub async fn erase_resident(db: &impl ConnectionTrait, resident_id: Uuid) -> Result<(), DbErr> {
    let now = Utc::now();
    for r in repo::future_active_of_resident(db, resident_id, now).await? {
        cancel_one(db, &r, now).await?;
    }
    repo::erase_personal_fields(db, resident_id).await
}

/// Staff check a visitor in at the door, by verification code or QR payload.
#[tracing::instrument(skip_all, fields(open_day = %open_day_id))]
pub async fn check_in(
    state: &AppState,
    staff: &CurrentStaff,
    open_day_id: Uuid,
    code: &str,
) -> ApiResult<CheckInView> {
    let db = &state.db;
    let (event, _) = event_for_staff(db, staff, open_day_id).await?;
    let wrong_event = || ApiError::conflict("wrong_event", "该预约不属于本场开放日，请核对活动");
    let r = if QrSigner::is_payload(QR_KIND, code) {
        let id = qr_signer(&state.data_key)?
            .verify(QR_KIND, code)
            .and_then(|fields| fields.first()?.parse::<Uuid>().ok())
            .ok_or_else(|| {
                ApiError::field(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "qr_invalid",
                    "code",
                    "二维码无效，请让访客出示核验码",
                )
            })?;
        repo::find_reservation(db, id)
            .await?
            .ok_or_else(reservation_not_found)?
    } else {
        let code = normalise_code(code).ok_or_else(reservation_not_found)?;
        let found = repo::find_by_code(db, &code).await?;
        match found.iter().find(|r| r.open_day_id == event.id) {
            Some(r) => r.clone(),
            None if found.is_empty() => return Err(reservation_not_found()),
            None => return Err(wrong_event()),
        }
    };
    if r.open_day_id != event.id {
        return Err(wrong_event());
    }
    let slot = repo::find_slot(db, r.slot_id)
        .await?
        .ok_or_else(reservation_not_found)?;
    let now = Utc::now();
    match St::parse(&r.status) {
        Some(St::Cancelled) => {
            return Err(ApiError::conflict("reservation_cancelled", "该预约已取消"));
        }
        Some(St::CheckedIn) => {
            return Err(ApiError::conflict("already_checked_in", "该预约已签到")
                .with_extension("checked_in_at", serde_json::json!(r.checked_in_at)));
        }
        Some(St::Waitlisted) => {
            return Err(ApiError::conflict(
                "reservation_not_confirmed",
                "该预约仍在候补中，尚未确认",
            ));
        }
        _ => {}
    }
    let grace = Duration::minutes(i64::from(state.settings.open_day_check_in_grace_minutes));
    if !within_check_in_window(now, slot.starts_at, slot.ends_at, grace) {
        return Err(ApiError::conflict(
            "outside_slot_window",
            format!(
                "不在预约时段内（{} 至 {}）",
                beijing(slot.starts_at),
                beijing(slot.ends_at)
            ),
        ));
    }
    let txn = db.begin().await?;
    if !repo::set_status(
        &txn,
        r.id,
        St::Confirmed,
        St::CheckedIn,
        now,
        Some(staff.id),
    )
    .await?
    {
        return Err(ApiError::conflict("already_checked_in", "该预约已签到"));
    }
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::OpenDayCheckIn,
        "reservation",
        &r.id.to_string(),
        Some(serde_json::json!({ "open_day": event.id, "party_size": r.party_size })),
    )
    .await?;
    txn.commit().await?;
    let name = r
        .visitor_name_enc
        .as_deref()
        .and_then(|s| state.data_key.open(s).ok())
        .map(|n| mask::name(&n))
        .unwrap_or_default();
    Ok(CheckInView {
        reservation_id: r.id,
        slot: SlotTimes {
            id: slot.id,
            starts_at: slot.starts_at,
            ends_at: slot.ends_at,
        },
        party_size: r.party_size,
        visitor_name: name,
        checked_in_at: now,
    })
}

/// Visitors of one slot, masked.
pub async fn visitors(
    state: &AppState,
    staff: &CurrentStaff,
    open_day_id: Uuid,
    slot_id: Uuid,
    page: PageRequest,
) -> ApiResult<Page<VisitorView>> {
    let db = &state.db;
    event_for_staff(db, staff, open_day_id).await?;
    repo::find_slot(db, slot_id)
        .await?
        .filter(|s| s.open_day_id == open_day_id)
        .ok_or_else(|| ApiError::not_found("slot_not_found", "该开放日没有这个时段"))?;
    let rows = repo::of_slot(db, slot_id, page.after, page.limit + 1).await?;
    let key = &state.data_key;
    Ok(Page::from_rows(
        rows,
        page,
        |r| r.id,
        |r| {
            let open = |s: &Option<String>| s.as_deref().and_then(|s| key.open(s).ok());
            VisitorView {
                visitor_name: open(&r.visitor_name_enc).as_deref().map(mask::name),
                phone: open(&r.phone_enc).as_deref().map(mask::phone),
                reservation_id: r.id,
                status: r.status,
                party_size: r.party_size,
                verification_code: r.verification_code,
                created_at: r.created_at,
                checked_in_at: r.checked_in_at,
            }
        },
    ))
}

/// The XLSX list of one slot's visitors, masked: (file name, bytes).
pub async fn export_visitors(
    state: &AppState,
    staff: &CurrentStaff,
    open_day_id: Uuid,
    slot_id: Uuid,
) -> ApiResult<(String, Vec<u8>)> {
    let db = &state.db;
    let (event, _) = event_for_staff(db, staff, open_day_id).await?;
    let slot = repo::find_slot(db, slot_id)
        .await?
        .filter(|s| s.open_day_id == open_day_id)
        .ok_or_else(|| ApiError::not_found("slot_not_found", "该开放日没有这个时段"))?;
    let key = &state.data_key;
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let page = repo::of_slot(db, slot_id, after, 1000).await?;
        after = page.last().map(|r| r.id);
        let done = page.len() < 1000;
        for r in page {
            let open = |s: &Option<String>| s.as_deref().and_then(|s| key.open(s).ok());
            rows.push(export::Row {
                name: open(&r.visitor_name_enc)
                    .as_deref()
                    .map(mask::name)
                    .unwrap_or_default(),
                phone: open(&r.phone_enc)
                    .as_deref()
                    .map(mask::phone)
                    .unwrap_or_default(),
                code: r.verification_code,
                status: export::status_label(&r.status),
                party_size: r.party_size,
                booked_at: beijing(r.created_at),
                checked_in_at: r.checked_in_at.map(beijing).unwrap_or_default(),
            });
        }
        if done {
            break;
        }
    }
    let title = format!("{} {}", event.title, beijing(slot.starts_at));
    let bytes = tokio::task::spawn_blocking(move || export::visitors_xlsx(&title, &rows))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let name = format!(
        "open-day-visitors-{}.xlsx",
        (slot.starts_at + Duration::hours(8)).format("%Y%m%d-%H%M")
    );
    Ok((name, bytes))
}

/// Shows one visitor field in full; who, why and when go to the audit log first.
pub async fn reveal(
    state: &AppState,
    staff: &CurrentStaff,
    open_day_id: Uuid,
    reservation_id: Uuid,
    req: &RevealVisitorRequest,
) -> ApiResult<RevealedVisitorValue> {
    let db = &state.db;
    event_for_staff(db, staff, open_day_id).await?;
    let r = repo::find_reservation(db, reservation_id)
        .await?
        .filter(|r| r.open_day_id == open_day_id)
        .ok_or_else(reservation_not_found)?;
    let sealed = match req.field {
        VisitorField::VisitorName => r.visitor_name_enc,
        VisitorField::Phone => r.phone_enc,
    };
    let value = sealed
        .as_deref()
        .and_then(|s| state.data_key.open(s).ok())
        .ok_or_else(|| ApiError::not_found("personal_data_absent", "该访客没有留下这项信息"))?;
    audit::record(
        db,
        &Actor::from(staff),
        Action::PersonalDataRevealed,
        "reservation",
        &reservation_id.to_string(),
        Some(serde_json::json!({ "field": req.field, "reason": req.reason.trim() })),
    )
    .await?;
    Ok(RevealedVisitorValue {
        field: req.field,
        value,
    })
}

/// Utilisation per slot and the no-show rate of an open day.
pub async fn stats(state: &AppState, staff: &CurrentStaff, id: Uuid) -> ApiResult<OpenDayStats> {
    let db = &state.db;
    event_for_staff(db, staff, id).await?;
    let slots = repo::slots_of(db, id).await?;
    let rows = repo::of_event(db, id).await?;
    let (mut checked_total, mut no_show_total) = (0i64, 0i64);
    let slots = slots
        .iter()
        .map(|s| {
            let sum = |st: St| -> i32 {
                rows.iter()
                    .filter(|r| r.slot_id == s.id && r.status == st.as_str())
                    .map(|r| r.party_size)
                    .sum()
            };
            let (checked_in, no_show, waitlisted) =
                (sum(St::CheckedIn), sum(St::NoShow), sum(St::Waitlisted));
            checked_total += i64::from(checked_in);
            no_show_total += i64::from(no_show);
            SlotStats {
                slot_id: s.id,
                starts_at: s.starts_at,
                ends_at: s.ends_at,
                capacity: s.capacity,
                taken: s.taken,
                checked_in,
                no_show,
                waitlisted,
                utilisation: if s.capacity > 0 {
                    f64::from(s.taken) / f64::from(s.capacity)
                } else {
                    0.0
                },
            }
        })
        .collect();
    let settled = checked_total + no_show_total;
    Ok(OpenDayStats {
        open_day_id: id,
        slots,
        no_show_rate: (settled > 0).then(|| no_show_total as f64 / settled as f64),
    })
}

/// The `open_day_no_shows` job: confirmed reservations of ended slots become no-shows.
pub async fn settle_no_shows(state: &AppState) -> anyhow::Result<(u64, u64)> {
    Ok(repo::settle_ended_slots(&state.db, Utc::now()).await?)
}

/// The `open_day_reminders` job: a notice the day before each confirmed reservation.
pub async fn send_reminders(state: &AppState) -> anyhow::Result<u32> {
    let now = Utc::now();
    let mut sent = 0;
    for r in repo::due_reminders(&state.db, now, now + Duration::hours(24), 500).await? {
        let txn = state.db.begin().await?;
        if !repo::mark_reminded(&txn, r.id, now).await? {
            continue;
        }
        let (Some(event), Some(slot)) = (
            repo::find_event(&txn, r.open_day_id).await?,
            repo::find_slot(&txn, r.slot_id).await?,
        ) else {
            continue;
        };
        let when = beijing(slot.starts_at);
        notifications::enqueue(
            &txn,
            r.resident_id,
            notice(
                NoticeKind::BookingReminder,
                "开放日明天见",
                format!(
                    "您预约的“{}”将于 {when} 开始，地点：{}。请凭核验码 {} 按时到场；如不能前来，请提前取消。",
                    event.title, event.location, r.verification_code
                ),
                format!("pages/open-days/reservation?id={}", r.id),
                &when,
                &event.title,
            ),
        )
        .await?;
        txn.commit().await?;
        sent += 1;
    }
    Ok(sent)
}
