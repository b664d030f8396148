//! Use cases of deliberation meetings and sign-ups: each change in one transaction, with its
//! audit entry and its notices. Seats are counted on the meeting row (see `repo`).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, SqlErr, TransactionTrait};
use uuid::Uuid;

use super::{
    domain::{self, MeetingStatus, Schedule, Seat, SignupStatus, WindowError},
    dto::{
        AttendanceView, CheckInView, MeetingDetail, MeetingRequest, MeetingView, SignupExport,
        SignupField, SignupRequest, SignupRevealed, SignupView, StaffSignupView,
    },
    repo,
};
use crate::{
    audit::{self, Action, Actor},
    auth::{CurrentStaff, Identity, Role},
    check_in_codes::{self, QrSigner},
    content_check::{self, Scene, Text},
    entities::{deliberation_signups, deliberations},
    error::{ApiError, ApiResult, is_unique_violation},
    notifications::{self, Notice, NoticeKind},
    org_units,
    pagination::{Page, PageRequest},
    personal_data::{DataKey, consent, mask},
    rate_limit::{self, Limit},
    state::AppState,
};

pub const CONSENT_PURPOSE: &str = "deliberation_signup";

fn not_found() -> ApiError {
    ApiError::not_found("deliberation_not_found", "没有找到这场议事会")
}

fn cancelled() -> ApiError {
    ApiError::conflict("deliberation_cancelled", "这场议事会已取消")
}

fn invalid(field: &'static str, message: &'static str) -> ApiError {
    ApiError::field(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        field,
        message,
    )
}

fn status_of(m: &deliberations::Model) -> MeetingStatus {
    MeetingStatus::parse(&m.status).unwrap_or(MeetingStatus::Draft)
}

pub fn meeting_view(m: &deliberations::Model) -> MeetingView {
    MeetingView {
        id: m.id,
        org_unit: m.org_unit.clone(),
        title: m.title.clone(),
        background: m.background.clone(),
        agenda: m.agenda.clone(),
        location: m.location.clone(),
        starts_at: m.starts_at,
        ends_at: m.ends_at,
        signup_opens_at: m.signup_opens_at,
        signup_closes_at: m.signup_closes_at,
        capacity: m.capacity,
        reserved_seats: m.reserved_seats,
        waitlist_enabled: m.waitlist_enabled,
        eligibility: domain::decode_eligibility(&m.eligibility),
        source_survey_id: m.source_survey_id,
        status: m.status.clone(),
        seats_left: (m.capacity - m.reserved_seats - m.confirmed).max(0),
        published_at: m.published_at,
        cancelled_at: m.cancelled_at,
    }
}

/// The meeting plan checked as a whole: times in order, seats sensible, org units known.
async fn check_plan(
    db: &impl ConnectionTrait,
    staff: &CurrentStaff,
    req: &MeetingRequest,
) -> ApiResult<String> {
    Schedule {
        starts_at: req.starts_at,
        ends_at: req.ends_at,
        signup_opens_at: req.signup_opens_at,
        signup_closes_at: req.signup_closes_at,
    }
    .check()
    .map_err(|(f, m)| invalid(f, m))?;
    domain::public_seats(req.capacity, req.reserved_seats).map_err(|(f, m)| invalid(f, m))?;
    let unit = org_units::service::require(db, req.org_unit.trim(), "org_unit").await?;
    staff.ensure_org_unit(&unit.code)?;
    for (i, code) in req.eligibility.iter().enumerate() {
        org_units::service::require_subdistrict(db, code.trim(), &format!("eligibility[{i}]"))
            .await?;
    }
    if let Some(survey) = req.source_survey_id
        && crate::surveys::service::reference(db, survey)
            .await?
            .is_none()
    {
        return Err(invalid(
            "source_survey_id",
            "没有找到这份问卷：来源问卷应是已发布过的问卷",
        ));
    }
    Ok(unit.code)
}

#[tracing::instrument(skip_all)]
pub async fn create(
    state: &AppState,
    staff: &CurrentStaff,
    req: MeetingRequest,
) -> ApiResult<MeetingView> {
    let org_unit = check_plan(&state.db, staff, &req).await?;
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let m = repo::insert_meeting(
        &txn,
        deliberations::ActiveModel {
            id: Set(Uuid::now_v7()),
            org_unit: Set(org_unit),
            title: Set(req.title.trim().to_owned()),
            background: Set(req.background),
            agenda: Set(req.agenda),
            location: Set(req.location.trim().to_owned()),
            starts_at: Set(req.starts_at),
            ends_at: Set(req.ends_at),
            signup_opens_at: Set(req.signup_opens_at),
            signup_closes_at: Set(req.signup_closes_at),
            capacity: Set(req.capacity),
            reserved_seats: Set(req.reserved_seats),
            confirmed: Set(0),
            signup_seq: Set(0),
            waitlist_enabled: Set(req.waitlist_enabled),
            eligibility: Set(domain::encode_eligibility(&req.eligibility)),
            source_survey_id: Set(req.source_survey_id),
            status: Set(MeetingStatus::Draft.as_str().to_owned()),
            reminded_at: Set(None),
            created_by: Set(staff.id),
            created_at: Set(now),
            updated_at: Set(now),
            published_at: Set(None),
            cancelled_at: Set(None),
        },
    )
    .await?;
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::DeliberationCreated,
        "deliberation",
        &m.id.to_string(),
        Some(serde_json::json!({ "title": m.title })),
    )
    .await?;
    txn.commit().await?;
    Ok(meeting_view(&m))
}

/// The meeting a staff member may manage: 404 when absent, 403 outside their org unit.
async fn managed(
    db: &impl ConnectionTrait,
    staff: &CurrentStaff,
    id: Uuid,
) -> ApiResult<deliberations::Model> {
    let m = repo::find_meeting(db, id).await?.ok_or_else(not_found)?;
    staff.ensure_org_unit(&m.org_unit)?;
    Ok(m)
}

/// Replaces the plan. Seats can grow (the waitlist moves up) but not shrink below the
/// residents already confirmed.
#[tracing::instrument(skip_all, fields(deliberation = %id))]
pub async fn update(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
    req: MeetingRequest,
) -> ApiResult<MeetingView> {
    managed(&state.db, staff, id).await?;
    let org_unit = check_plan(&state.db, staff, &req).await?;
    let txn = state.db.begin().await?;
    let current = repo::lock_meeting(&txn, id).await?.ok_or_else(not_found)?;
    if status_of(&current) == MeetingStatus::Cancelled {
        return Err(cancelled());
    }
    if req.capacity - req.reserved_seats < current.confirmed {
        return Err(ApiError::field(
            StatusCode::CONFLICT,
            "capacity_below_confirmed",
            "capacity",
            format!(
                "已有 {} 位居民确认参会，席位不能少于此数",
                current.confirmed
            ),
        ));
    }
    let mut active: deliberations::ActiveModel = current.into();
    active.org_unit = Set(org_unit);
    active.title = Set(req.title.trim().to_owned());
    active.background = Set(req.background);
    active.agenda = Set(req.agenda);
    active.location = Set(req.location.trim().to_owned());
    active.starts_at = Set(req.starts_at);
    active.ends_at = Set(req.ends_at);
    active.signup_opens_at = Set(req.signup_opens_at);
    active.signup_closes_at = Set(req.signup_closes_at);
    active.capacity = Set(req.capacity);
    active.reserved_seats = Set(req.reserved_seats);
    active.waitlist_enabled = Set(req.waitlist_enabled);
    active.eligibility = Set(domain::encode_eligibility(&req.eligibility));
    active.source_survey_id = Set(req.source_survey_id);
    active.updated_at = Set(Utc::now());
    let m = repo::update_meeting(&txn, active).await?;
    if status_of(&m) == MeetingStatus::Published {
        fill_from_waitlist(&txn, &m).await?;
    }
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::DeliberationUpdated,
        "deliberation",
        &m.id.to_string(),
        None,
    )
    .await?;
    let m = repo::find_meeting(&txn, id).await?.ok_or_else(not_found)?;
    txn.commit().await?;
    Ok(meeting_view(&m))
}

#[tracing::instrument(skip_all, fields(deliberation = %id))]
pub async fn publish(state: &AppState, staff: &CurrentStaff, id: Uuid) -> ApiResult<MeetingView> {
    managed(&state.db, staff, id).await?;
    let txn = state.db.begin().await?;
    let current = repo::lock_meeting(&txn, id).await?.ok_or_else(not_found)?;
    match status_of(&current) {
        MeetingStatus::Draft => {}
        MeetingStatus::Published => {
            return Err(ApiError::conflict(
                "deliberation_already_published",
                "这场议事会已发布",
            ));
        }
        MeetingStatus::Cancelled => return Err(cancelled()),
    }
    let now = Utc::now();
    if current.starts_at <= now {
        return Err(ApiError::conflict(
            "deliberation_in_past",
            "议事会开始时间已过，请修改时间后再发布",
        ));
    }
    let mut active: deliberations::ActiveModel = current.into();
    active.status = Set(MeetingStatus::Published.as_str().to_owned());
    active.published_at = Set(Some(now));
    active.updated_at = Set(now);
    let m = repo::update_meeting(&txn, active).await?;
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::DeliberationPublished,
        "deliberation",
        &m.id.to_string(),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(meeting_view(&m))
}

/// Cancels the meeting and tells everyone signed up (confirmed or waitlisted).
#[tracing::instrument(skip_all, fields(deliberation = %id))]
pub async fn cancel(state: &AppState, staff: &CurrentStaff, id: Uuid) -> ApiResult<MeetingView> {
    managed(&state.db, staff, id).await?;
    let txn = state.db.begin().await?;
    let current = repo::lock_meeting(&txn, id).await?.ok_or_else(not_found)?;
    if status_of(&current) == MeetingStatus::Cancelled {
        return Err(cancelled());
    }
    let now = Utc::now();
    let mut active: deliberations::ActiveModel = current.into();
    active.status = Set(MeetingStatus::Cancelled.as_str().to_owned());
    active.cancelled_at = Set(Some(now));
    active.updated_at = Set(now);
    let m = repo::update_meeting(&txn, active).await?;
    let signed_up = repo::signups_of(&txn, id, None, None, None).await?;
    let mut told = 0;
    for s in signed_up.iter().filter(|s| {
        matches!(
            SignupStatus::parse(&s.status),
            Some(SignupStatus::Confirmed | SignupStatus::Waitlisted)
        )
    }) {
        notifications::enqueue(&txn, s.resident_id, cancelled_notice(&m)).await?;
        told += 1;
    }
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::DeliberationCancelled,
        "deliberation",
        &m.id.to_string(),
        Some(serde_json::json!({ "notified": told })),
    )
    .await?;
    txn.commit().await?;
    Ok(meeting_view(&m))
}

fn meeting_page(id: Uuid) -> Option<String> {
    Some(format!("pages/deliberation/detail?id={id}"))
}

fn short(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn cancelled_notice(m: &deliberations::Model) -> Notice {
    Notice {
        kind: NoticeKind::DeliberationUpdate,
        title: "议事会已取消".to_owned(),
        body: format!(
            "您报名的议事会「{}」已取消，给您带来不便，敬请谅解。",
            m.title
        ),
        page: meeting_page(m.id),
        data: BTreeMap::from([
            ("thing1".to_owned(), short(&m.title, 20)),
            ("phrase2".to_owned(), "已取消".to_owned()),
        ]),
    }
}

fn promoted_notice(m: &deliberations::Model) -> Notice {
    Notice {
        kind: NoticeKind::DeliberationUpdate,
        title: "候补成功，您已获得议事会席位".to_owned(),
        body: format!(
            "您候补的议事会「{}」有了空位，您的报名已确认。请凭签到码按时参加。",
            m.title
        ),
        page: meeting_page(m.id),
        data: BTreeMap::from([
            ("thing1".to_owned(), short(&m.title, 20)),
            ("phrase2".to_owned(), "报名已确认".to_owned()),
        ]),
    }
}

/// Moves waitlisted residents up, earliest first, while resident seats are free; each is
/// told. Call it on the transaction that holds the meeting row.
async fn fill_from_waitlist(
    txn: &impl ConnectionTrait,
    m: &deliberations::Model,
) -> Result<u32, DbErr> {
    let mut promoted = 0;
    while let Some(next) = repo::first_waitlisted(txn, m.id).await? {
        if !repo::take_seat(txn, m.id).await? {
            break;
        }
        let mut active: deliberation_signups::ActiveModel = next.clone().into();
        active.status = Set(SignupStatus::Confirmed.as_str().to_owned());
        active.check_in_code = Set(Some(domain::new_check_in_code()));
        active.updated_at = Set(Utc::now());
        repo::update_signup(txn, active).await?;
        notifications::enqueue(txn, next.resident_id, promoted_notice(m)).await?;
        promoted += 1;
    }
    Ok(promoted)
}

/// Lists meetings residents may join: published, not yet over, newest first.
pub async fn list_upcoming(
    state: &AppState,
    subdistrict: Option<&str>,
    page: PageRequest,
) -> ApiResult<Page<MeetingView>> {
    let rows = repo::list_upcoming(
        &state.db,
        Utc::now(),
        subdistrict.map(str::trim).filter(|s| !s.is_empty()),
        page.after,
        page.limit + 1,
    )
    .await?;
    Ok(Page::from_rows(rows, page, |m| m.id, |m| meeting_view(&m)))
}

/// The org unit's meetings of every status, newest first (all of them for administrators).
pub async fn list_for_staff(
    state: &AppState,
    staff: &CurrentStaff,
    page: PageRequest,
) -> ApiResult<Page<MeetingView>> {
    let unit = (!staff.is_admin).then_some(staff.org_unit.as_str());
    let rows = repo::list_of_unit(&state.db, unit, page.after, page.limit + 1).await?;
    Ok(Page::from_rows(rows, page, |m| m.id, |m| meeting_view(&m)))
}

/// One meeting: drafts only for the staff who may manage them; a resident also sees their
/// own sign-up.
pub async fn detail(
    state: &AppState,
    who: Option<&Identity>,
    id: Uuid,
) -> ApiResult<MeetingDetail> {
    let m = repo::find_meeting(&state.db, id)
        .await?
        .ok_or_else(not_found)?;
    if status_of(&m) == MeetingStatus::Draft {
        let may_manage = who.is_some_and(|w| {
            w.role == Role::Admin
                || (w.role == Role::Staff && w.org_unit.as_deref() == Some(m.org_unit.as_str()))
        });
        if !may_manage {
            return Err(not_found());
        }
    }
    let my_signup = match who {
        Some(w) if w.role == Role::Resident => {
            match repo::find_signup_of(&state.db, id, w.id).await? {
                Some(s) => Some(signup_view(&state.db, &state.data_key, &s).await?),
                None => None,
            }
        }
        _ => None,
    };
    Ok(MeetingDetail {
        meeting: meeting_view(&m),
        my_signup,
    })
}

fn qr_signer(key: &DataKey) -> Result<QrSigner, DbErr> {
    check_in_codes::qr_signer(key).ok_or_else(|| DbErr::Custom("qr signing key".to_owned()))
}

async fn signup_view(
    db: &impl ConnectionTrait,
    key: &DataKey,
    s: &deliberation_signups::Model,
) -> Result<SignupView, DbErr> {
    let status = SignupStatus::parse(&s.status);
    let code = match status {
        Some(SignupStatus::Confirmed) => s.check_in_code.clone(),
        _ => None,
    };
    let qr_payload = match &code {
        Some(c) => {
            Some(qr_signer(key)?.sign(domain::QR_KIND, &[&s.deliberation_id.to_string(), c]))
        }
        None => None,
    };
    let waitlist_position = match status {
        Some(SignupStatus::Waitlisted) => Some(
            i64::try_from(repo::waitlist_position(db, s.deliberation_id, s.seq).await?)
                .unwrap_or(i64::MAX),
        ),
        _ => None,
    };
    Ok(SignupView {
        id: s.id,
        status: s.status.clone(),
        check_in_code: code,
        qr_payload,
        waitlist_position,
        checked_in_at: s.checked_in_at,
    })
}

async fn live_resident(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> ApiResult<crate::entities::residents::Model> {
    repo::find_resident(db, id)
        .await?
        .filter(|r| r.deleted_at.is_none())
        .ok_or_else(|| ApiError::unauthorized("token_revoked", "账号不存在，请重新登录"))
}

fn window_error(e: WindowError) -> ApiError {
    match e {
        WindowError::NotYetOpen => ApiError::conflict("signup_not_open", "报名尚未开始"),
        WindowError::Closed => ApiError::conflict("signup_closed", "报名已截止"),
    }
}

fn already_signed_up() -> ApiError {
    ApiError::conflict("already_signed_up", "您已报名这场议事会")
}

/// A resident signs up: a seat while resident seats remain, else the waitlist (if the
/// meeting keeps one), else 409 `deliberation_full`.
#[tracing::instrument(skip_all, fields(deliberation = %id))]
pub async fn sign_up(
    state: &AppState,
    resident_id: Uuid,
    id: Uuid,
    req: SignupRequest,
) -> ApiResult<SignupView> {
    consent::require(req.consent)?;
    let name = req.name.trim().to_owned();
    if name.is_empty() {
        return Err(invalid("name", "请填写姓名"));
    }
    let phone = domain::parse_mobile(&req.phone)
        .ok_or_else(|| invalid("phone", "请填写正确的 11 位手机号"))?;
    let community = req
        .community
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    let note = req
        .note
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    rate_limit::check(state, Limit::Submission, &resident_id.to_string()).await?;

    // Free text goes to WeChat's check before the transaction (never hold a connection
    // over an HTTP call); without text, the whole sign-up is one trip to the pool.
    let mut texts = Vec::new();
    if let Some(c) = &community {
        texts.push(Text {
            field: "community",
            content: c,
        });
    }
    if let Some(n) = &note {
        texts.push(Text {
            field: "note",
            content: n,
        });
    }
    if !texts.is_empty() {
        let resident = live_resident(&state.db, resident_id).await?;
        content_check::check(state, &resident.openid, Scene::Forum, &texts).await?;
    }

    // Sealing is CPU work: done before the connection is taken.
    let key = &state.data_key;
    let name_enc = key.seal(&name);
    let phone_enc = key.seal(&phone);
    let phone_hash = key.lookup_hash(&phone);
    let now = Utc::now();
    let txn = state.db.begin().await?;
    // Takes the meeting row: sign-ups of one meeting queue here, in arrival order.
    let Some(m) = repo::lock_published_for_signup(&txn, id).await? else {
        return Err(match repo::find_meeting(&txn, id).await? {
            Some(m) if status_of(&m) == MeetingStatus::Cancelled => cancelled(),
            _ => not_found(),
        });
    };
    domain::signup_window(now, m.signup_opens_at, m.signup_closes_at).map_err(window_error)?;
    if !m.eligibility.is_empty() {
        let resident = live_resident(&txn, resident_id).await?;
        if !domain::is_eligible(&m.eligibility, resident.home_subdistrict.as_deref()) {
            return Err(ApiError::forbidden(
                "not_eligible",
                "这场议事会只面向指定街道的居民，请先在个人资料中填写所在街道",
            ));
        }
    }
    let existing = repo::find_signup_of(&txn, id, resident_id).await?;
    if existing
        .as_ref()
        .is_some_and(|e| e.status != SignupStatus::Cancelled.as_str())
    {
        return Err(already_signed_up());
    }
    // The row is ours until commit, so `m.confirmed` is current; the conditional update
    // still guards the count.
    let public = m.capacity - m.reserved_seats;
    let seat = match domain::seat_for(m.confirmed, public, m.waitlist_enabled) {
        Seat::Confirmed if repo::take_seat(&txn, id).await? => Seat::Confirmed,
        Seat::Confirmed => domain::seat_for(public, public, m.waitlist_enabled),
        other => other,
    };
    let status = match seat {
        Seat::Confirmed => SignupStatus::Confirmed,
        Seat::Waitlisted => SignupStatus::Waitlisted,
        Seat::Full => {
            return Err(ApiError::conflict(
                "deliberation_full",
                "名额已满，感谢您的关注",
            ));
        }
    };
    let code = (status == SignupStatus::Confirmed).then(domain::new_check_in_code);
    let fields = |active: &mut deliberation_signups::ActiveModel| {
        active.status = Set(status.as_str().to_owned());
        active.seq = Set(m.signup_seq);
        active.name_enc = Set(Some(name_enc.clone()));
        active.phone_enc = Set(Some(phone_enc.clone()));
        active.phone_hash = Set(Some(phone_hash.clone()));
        active.community = Set(community.clone());
        active.note = Set(note.clone());
        active.check_in_code = Set(code.clone());
        active.checked_in_at = Set(None);
        active.checked_in_by = Set(None);
        active.updated_at = Set(now);
    };
    let saved = match existing {
        Some(old) => {
            let mut active: deliberation_signups::ActiveModel = old.into();
            fields(&mut active);
            repo::update_signup(&txn, active).await
        }
        None => {
            let mut active = deliberation_signups::ActiveModel {
                id: Set(Uuid::now_v7()),
                deliberation_id: Set(id),
                resident_id: Set(resident_id),
                created_at: Set(now),
                ..Default::default()
            };
            fields(&mut active);
            repo::insert_signup(&txn, active).await
        }
    };
    let saved = saved.map_err(|e| {
        let code_clash = matches!(
            e.sql_err(),
            Some(SqlErr::UniqueConstraintViolation(ref msg)) if msg.contains("check_in_code")
        );
        if is_unique_violation(&e) && !code_clash {
            already_signed_up()
        } else {
            e.into()
        }
    })?;
    consent::record(
        &txn,
        resident_id,
        CONSENT_PURPOSE,
        &state.settings.privacy_notice_version,
    )
    .await?;
    let view = signup_view(&txn, key, &saved).await?;
    txn.commit().await?;
    Ok(view)
}

/// The resident gives up their sign-up before the meeting starts; a freed seat goes to the
/// earliest waitlisted resident in the same transaction, who is told.
#[tracing::instrument(skip_all, fields(deliberation = %id))]
pub async fn cancel_signup(state: &AppState, resident_id: Uuid, id: Uuid) -> ApiResult<()> {
    let txn = state.db.begin().await?;
    let m = repo::lock_meeting(&txn, id).await?.ok_or_else(not_found)?;
    if status_of(&m) == MeetingStatus::Draft {
        return Err(not_found());
    }
    let signup = repo::find_signup_of(&txn, id, resident_id)
        .await?
        .filter(|s| s.status != SignupStatus::Cancelled.as_str())
        .ok_or_else(|| ApiError::not_found("signup_not_found", "您没有报名这场议事会"))?;
    if Utc::now() >= m.starts_at {
        return Err(ApiError::conflict(
            "deliberation_started",
            "议事会已开始，不能再取消报名",
        ));
    }
    cancel_one(&txn, &m, signup).await?;
    txn.commit().await?;
    Ok(())
}

/// Cancels one sign-up on the transaction holding the meeting row, promoting the waitlist.
async fn cancel_one(
    txn: &impl ConnectionTrait,
    m: &deliberations::Model,
    signup: deliberation_signups::Model,
) -> Result<(), DbErr> {
    let was_confirmed = signup.status == SignupStatus::Confirmed.as_str();
    let mut active: deliberation_signups::ActiveModel = signup.into();
    active.status = Set(SignupStatus::Cancelled.as_str().to_owned());
    active.check_in_code = Set(None);
    active.updated_at = Set(Utc::now());
    repo::update_signup(txn, active).await?;
    if was_confirmed {
        repo::release_seat(txn, m.id).await?;
        if status_of(m) == MeetingStatus::Published && Utc::now() < m.starts_at {
            fill_from_waitlist(txn, m).await?;
        }
    }
    Ok(())
}

/// A meeting's sign-ups for its staff, in order of arrival, personal data masked.
pub async fn staff_signups(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
    status: Option<&str>,
    page: PageRequest,
) -> ApiResult<Page<StaffSignupView>> {
    managed(&state.db, staff, id).await?;
    let status = match status {
        None | Some("") => None,
        Some(s) => Some(SignupStatus::parse(s).ok_or_else(|| {
            ApiError::field(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "status",
                "状态应为 confirmed、waitlisted 或 cancelled",
            )
        })?),
    };
    let rows = repo::signups_page(&state.db, id, status, page.after, page.limit + 1).await?;
    let key = &state.data_key;
    Ok(Page::from_rows(
        rows,
        page,
        |s| s.id,
        |s| staff_signup_view(key, s),
    ))
}

fn open_or_empty(key: &DataKey, sealed: Option<&String>) -> String {
    sealed.and_then(|v| key.open(v).ok()).unwrap_or_default()
}

fn staff_signup_view(key: &DataKey, s: deliberation_signups::Model) -> StaffSignupView {
    StaffSignupView {
        id: s.id,
        status: s.status,
        name: mask::name(&open_or_empty(key, s.name_enc.as_ref())),
        phone: mask::phone(&open_or_empty(key, s.phone_enc.as_ref())),
        community: s.community,
        note: s.note,
        checked_in_at: s.checked_in_at,
        created_at: s.created_at,
    }
}

/// Staff reveal one personal field of a sign-up in full; written to the audit log.
pub async fn reveal(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
    signup_id: Uuid,
    field: SignupField,
    reason: &str,
) -> ApiResult<SignupRevealed> {
    managed(&state.db, staff, id).await?;
    let s = repo::find_signup(&state.db, signup_id)
        .await?
        .filter(|s| s.deliberation_id == id)
        .ok_or_else(|| ApiError::not_found("signup_not_found", "没有找到这条报名"))?;
    let sealed = match field {
        SignupField::Name => s.name_enc.as_ref(),
        SignupField::Phone => s.phone_enc.as_ref(),
    };
    let value = sealed
        .map(|v| state.data_key.open(v))
        .transpose()
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("personal_data_absent", "该信息已删除"))?;
    let txn = state.db.begin().await?;
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::PersonalDataRevealed,
        "deliberation_signup",
        &s.id.to_string(),
        Some(serde_json::json!({
            "field": match field { SignupField::Name => "name", SignupField::Phone => "phone" },
            "reason": reason.trim(),
            "deliberation": id,
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(SignupRevealed { field, value })
}

/// Checks a confirmed resident in by code or scanned QR payload, once.
#[tracing::instrument(skip_all, fields(deliberation = %id))]
pub async fn check_in(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
    input: &str,
) -> ApiResult<CheckInView> {
    let m = managed(&state.db, staff, id).await?;
    match status_of(&m) {
        MeetingStatus::Draft => return Err(not_found()),
        MeetingStatus::Cancelled => return Err(cancelled()),
        MeetingStatus::Published => {}
    }
    let code = if QrSigner::is_payload(domain::QR_KIND, input) {
        let fields = qr_signer(&state.data_key)?
            .verify(domain::QR_KIND, input)
            .ok_or_else(qr_invalid)?;
        let [meeting, code] = fields[..] else {
            return Err(qr_invalid());
        };
        let code = domain::normalise_code(code).ok_or_else(qr_invalid)?;
        if meeting.parse::<Uuid>().ok() != Some(id) {
            return Err(wrong_meeting());
        }
        code
    } else {
        domain::normalise_code(input).ok_or_else(|| {
            ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "check_in_code_invalid",
                "code",
                "签到码应为 8 位字母或数字",
            )
        })?
    };
    let s = repo::find_signup_by_code(&state.db, &code)
        .await?
        .ok_or_else(|| ApiError::not_found("check_in_code_unknown", "签到码无效"))?;
    if s.deliberation_id != id {
        return Err(wrong_meeting());
    }
    let now = Utc::now();
    let txn = state.db.begin().await?;
    if !repo::check_in(&txn, s.id, staff.id, now).await? {
        return Err(ApiError::conflict(
            "already_checked_in",
            "该签到码已使用，请勿重复签到",
        ));
    }
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::DeliberationCheckedIn,
        "deliberation_signup",
        &s.id.to_string(),
        Some(serde_json::json!({ "deliberation": id })),
    )
    .await?;
    txn.commit().await?;
    Ok(CheckInView {
        signup_id: s.id,
        name: mask::name(&open_or_empty(&state.data_key, s.name_enc.as_ref())),
        checked_in_at: now,
    })
}

fn qr_invalid() -> ApiError {
    ApiError::field(
        StatusCode::UNPROCESSABLE_ENTITY,
        "check_in_code_invalid",
        "code",
        "二维码无效",
    )
}

fn wrong_meeting() -> ApiError {
    ApiError::conflict("check_in_wrong_meeting", "该签到码属于另一场议事会")
}

pub async fn attendance(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
) -> ApiResult<AttendanceView> {
    let m = managed(&state.db, staff, id).await?;
    let db = &state.db;
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    Ok(AttendanceView {
        capacity: m.capacity,
        reserved_seats: m.reserved_seats,
        confirmed: count(repo::count_signups(db, id, SignupStatus::Confirmed).await?),
        waitlisted: count(repo::count_signups(db, id, SignupStatus::Waitlisted).await?),
        cancelled: count(repo::count_signups(db, id, SignupStatus::Cancelled).await?),
        checked_in: count(repo::count_checked_in(db, id).await?),
    })
}

/// For account deletion, on its transaction: sign-ups for meetings still ahead are
/// cancelled (the waitlist moves up), and the personal fields of every sign-up are erased.
pub async fn erase_resident(txn: &impl ConnectionTrait, resident_id: Uuid) -> Result<(), DbErr> {
    let now = Utc::now();
    for s in repo::signups_of_resident(txn, resident_id).await? {
        if s.status == SignupStatus::Cancelled.as_str() {
            continue;
        }
        let Some(m) = repo::lock_meeting(txn, s.deliberation_id).await? else {
            continue;
        };
        if m.starts_at > now {
            cancel_one(txn, &m, s).await?;
        }
    }
    repo::erase_signups_of(txn, resident_id).await?;
    repo::unfollow_all(txn, resident_id).await
}

/// The resident's sign-ups, in full, for their data export.
pub async fn export_of(state: &AppState, resident_id: Uuid) -> ApiResult<Vec<SignupExport>> {
    let db = &state.db;
    let rows = repo::signups_of_resident(db, resident_id).await?;
    let meetings = repo::meetings_by_ids(db, rows.iter().map(|s| s.deliberation_id).collect())
        .await?
        .into_iter()
        .map(|m| (m.id, m.title))
        .collect::<std::collections::HashMap<_, _>>();
    let key = &state.data_key;
    Ok(rows
        .into_iter()
        .map(|s| SignupExport {
            id: s.id,
            deliberation_id: s.deliberation_id,
            deliberation_title: meetings
                .get(&s.deliberation_id)
                .cloned()
                .unwrap_or_default(),
            status: s.status,
            name: s.name_enc.as_ref().and_then(|v| key.open(v).ok()),
            phone: s.phone_enc.as_ref().and_then(|v| key.open(v).ok()),
            community: s.community,
            note: s.note,
            checked_in_at: s.checked_in_at,
            created_at: s.created_at,
        })
        .collect())
}

fn reminder_notice(m: &deliberations::Model) -> Notice {
    let at = (m.starts_at + chrono::Duration::hours(8)).format("%m月%d日 %H:%M");
    Notice {
        kind: NoticeKind::DeliberationUpdate,
        title: "议事会明天召开".to_owned(),
        body: format!(
            "您报名的议事会「{}」将于 {at} 在{}召开，请凭签到码按时参加。",
            m.title, m.location
        ),
        page: meeting_page(m.id),
        data: BTreeMap::from([
            ("thing1".to_owned(), short(&m.title, 20)),
            ("phrase2".to_owned(), "即将召开".to_owned()),
        ]),
    }
}

/// The `deliberation_reminders` job: the day before a meeting, everyone confirmed is
/// reminded, once (the meeting's `reminded_at` is claimed in the same transaction).
pub async fn send_reminders(state: &AppState) -> Result<u32, DbErr> {
    let now = Utc::now();
    let mut told = 0;
    for m in repo::due_for_reminder(&state.db, now, now + chrono::Duration::hours(24)).await? {
        let txn = state.db.begin().await?;
        if !repo::claim_reminder(&txn, m.id, now).await? {
            continue;
        }
        for s in repo::signups_of(&txn, m.id, Some(SignupStatus::Confirmed), None, None).await? {
            notifications::enqueue(&txn, s.resident_id, reminder_notice(&m)).await?;
            told += 1;
        }
        txn.commit().await?;
    }
    Ok(told)
}

/// The sign-up list as an XLSX workbook (constant-memory mode: rows are streamed to a
/// temporary file as written), personal data masked as in the staff list. Audited.
pub async fn export_signups(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
) -> ApiResult<(String, Vec<u8>)> {
    let m = managed(&state.db, staff, id).await?;
    let rows = repo::signups_of(&state.db, id, None, None, None).await?;
    let key = state.data_key.clone();
    let count = rows.len();
    let bytes = tokio::task::spawn_blocking(move || signups_workbook(&key, rows))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let txn = state.db.begin().await?;
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::DeliberationSignupsExported,
        "deliberation",
        &id.to_string(),
        Some(serde_json::json!({ "rows": count })),
    )
    .await?;
    txn.commit().await?;
    Ok((format!("signups-{}.xlsx", m.id), bytes))
}

fn signups_workbook(
    key: &DataKey,
    rows: Vec<deliberation_signups::Model>,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet_with_constant_memory()?;
    sheet.set_name("报名名单")?;
    let headers = [
        "序号",
        "状态",
        "姓名",
        "手机",
        "社区",
        "备注",
        "报名时间",
        "签到时间",
    ];
    for (col, h) in (0u16..).zip(headers) {
        sheet.write_string(0, col, h)?;
    }
    let status = |s: &str| match SignupStatus::parse(s) {
        Some(SignupStatus::Confirmed) => "已确认",
        Some(SignupStatus::Waitlisted) => "候补",
        Some(SignupStatus::Cancelled) => "已取消",
        None => "",
    };
    let beijing = |t: chrono::DateTime<Utc>| {
        (t + chrono::Duration::hours(8))
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    for (row, s) in (1u32..).zip(rows) {
        sheet.write_number(row, 0, f64::from(row))?;
        sheet.write_string(row, 1, status(&s.status))?;
        let v = staff_signup_view(key, s);
        sheet.write_string(row, 2, &v.name)?;
        sheet.write_string(row, 3, &v.phone)?;
        sheet.write_string(row, 4, v.community.as_deref().unwrap_or(""))?;
        sheet.write_string(row, 5, v.note.as_deref().unwrap_or(""))?;
        sheet.write_string(row, 6, beijing(v.created_at))?;
        sheet.write_string(row, 7, v.checked_in_at.map(beijing).unwrap_or_default())?;
    }
    book.save_to_buffer()
}
