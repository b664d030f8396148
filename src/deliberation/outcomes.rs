//! Use cases of outcomes (议事成果): recorded by the meeting's staff, progress appended to a
//! public timeline, parents rolled up from their children, followers told of each entry
//! through the outbox. The public feed and details are cached; a version key in the cache
//! is replaced after every change, so the next read is fresh.

use std::{collections::BTreeMap, time::Duration};

use actix_web::http::StatusCode;
use chrono::{NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, TransactionTrait};
use uuid::Uuid;

use super::{
    domain::{self, MeetingStatus, OutcomeStatus, SignupStatus},
    dto::{
        FollowView, LoopEntry, LoopKind, LoopView, MeetingSummary, OutcomeDetail, OutcomeRequest,
        OutcomeStatusDto, OutcomeView, ProgressRequest, ProgressView,
    },
    repo,
};
use crate::{
    audit::{self, Action, Actor},
    auth::CurrentStaff,
    entities::{deliberations, outcome_progress, outcomes},
    error::{ApiError, ApiResult},
    notifications::{self, Notice, NoticeKind},
    pagination::{Page, PageRequest, encode_cursor},
    state::AppState,
    surveys,
};

const VERSION_KEY: &str = "deliberation:outcomes:version";
const CACHE_TTL: Duration = Duration::from_secs(60);

fn outcome_not_found() -> ApiError {
    ApiError::not_found("outcome_not_found", "没有找到这项议事成果")
}

fn invalid(field: &'static str, message: &'static str) -> ApiError {
    ApiError::field(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        field,
        message,
    )
}

pub fn status_from_dto(s: OutcomeStatusDto) -> OutcomeStatus {
    match s {
        OutcomeStatusDto::NotStarted => OutcomeStatus::NotStarted,
        OutcomeStatusDto::InProgress => OutcomeStatus::InProgress,
        OutcomeStatusDto::Done => OutcomeStatus::Done,
        OutcomeStatusDto::Delayed => OutcomeStatus::Delayed,
        OutcomeStatusDto::Dropped => OutcomeStatus::Dropped,
    }
}

fn parse_status(s: &str) -> OutcomeStatus {
    OutcomeStatus::parse(s).unwrap_or(OutcomeStatus::NotStarted)
}

fn today() -> NaiveDate {
    // The district keeps Beijing time.
    (Utc::now() + chrono::Duration::hours(8)).date_naive()
}

fn progress_view(p: outcome_progress::Model) -> ProgressView {
    ProgressView {
        id: p.id,
        status: p.status,
        percent: p.percent,
        note: p.note,
        happened_on: p.happened_on,
        corrects: p.corrects,
        created_at: p.created_at,
    }
}

fn outcome_view(o: outcomes::Model, latest: Option<ProgressView>) -> OutcomeView {
    let overdue = parse_status(&o.status).is_open() && o.due_date < today();
    OutcomeView {
        id: o.id,
        deliberation_id: o.deliberation_id,
        parent_id: o.parent_id,
        title: o.title,
        description: o.description,
        responsible_unit: o.responsible_unit,
        due_date: o.due_date,
        weight: o.weight,
        status: o.status,
        percent: o.percent,
        overdue,
        last_progress_at: o.last_progress_at,
        latest_progress: latest,
    }
}

async fn view_with_latest(
    db: &impl ConnectionTrait,
    o: outcomes::Model,
) -> Result<OutcomeView, DbErr> {
    let latest = repo::latest_progress(db, o.id).await?.map(progress_view);
    Ok(outcome_view(o, latest))
}

fn summary(m: &deliberations::Model) -> MeetingSummary {
    MeetingSummary {
        id: m.id,
        title: m.title.clone(),
        org_unit: m.org_unit.clone(),
        starts_at: m.starts_at,
        source_survey_id: m.source_survey_id,
    }
}

async fn cache_version(state: &AppState) -> String {
    state
        .cache
        .get(VERSION_KEY)
        .await
        .and_then(|v| String::from_utf8(v).ok())
        .unwrap_or_else(|| "0".to_owned())
}

/// After a change is committed: every cached page and detail is stale from now on.
async fn refresh_cache(state: &AppState) {
    state
        .cache
        .set(
            VERSION_KEY,
            Uuid::now_v7().to_string().into_bytes(),
            Duration::from_secs(30 * 24 * 3600),
        )
        .await;
}

/// Recomputes a parent's percent as the weighted mean of its children.
async fn roll_up(db: &impl ConnectionTrait, parent_id: Uuid) -> Result<(), DbErr> {
    let Some(parent) = repo::find_outcome(db, parent_id).await? else {
        return Ok(());
    };
    let children: Vec<_> = repo::children_of(db, parent_id)
        .await?
        .into_iter()
        .map(|c| (c.weight, c.percent, parse_status(&c.status)))
        .collect();
    let mut active: outcomes::ActiveModel = parent.into();
    active.percent = Set(domain::rolled_up_percent(&children));
    repo::update_outcome(db, active).await?;
    Ok(())
}

/// Staff record an outcome of a published meeting; everyone confirmed for the meeting
/// follows it from now on.
#[tracing::instrument(skip_all, fields(deliberation = %meeting_id))]
pub async fn create(
    state: &AppState,
    staff: &CurrentStaff,
    meeting_id: Uuid,
    req: OutcomeRequest,
) -> ApiResult<OutcomeView> {
    let m = repo::find_meeting(&state.db, meeting_id)
        .await?
        .ok_or_else(|| ApiError::not_found("deliberation_not_found", "没有找到这场议事会"))?;
    staff.ensure_org_unit(&m.org_unit)?;
    if MeetingStatus::parse(&m.status) != Some(MeetingStatus::Published) {
        return Err(ApiError::conflict(
            "deliberation_not_published",
            "只有已发布的议事会才能登记议事成果",
        ));
    }
    if let Some(parent_id) = req.parent_id {
        let parent = repo::find_outcome(&state.db, parent_id).await?;
        if !parent.is_some_and(|p| p.deliberation_id == meeting_id && p.parent_id.is_none()) {
            return Err(invalid(
                "parent_id",
                "上级成果应是同一场议事会的一项顶层成果",
            ));
        }
    }
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let o = repo::insert_outcome(
        &txn,
        outcomes::ActiveModel {
            id: Set(Uuid::now_v7()),
            deliberation_id: Set(meeting_id),
            parent_id: Set(req.parent_id),
            title: Set(req.title.trim().to_owned()),
            description: Set(req.description),
            responsible_unit: Set(req.responsible_unit.trim().to_owned()),
            due_date: Set(req.due_date),
            weight: Set(req.weight),
            status: Set(OutcomeStatus::NotStarted.as_str().to_owned()),
            percent: Set(0),
            last_progress_at: Set(Some(now)),
            created_by: Set(staff.id),
            created_at: Set(now),
        },
    )
    .await?;
    if let Some(parent_id) = o.parent_id {
        roll_up(&txn, parent_id).await?;
    }
    // Sign-ups erased by an account deletion have no name left: no follow for them.
    for s in repo::signups_of(&txn, meeting_id, Some(SignupStatus::Confirmed), None, None)
        .await?
        .into_iter()
        .filter(|s| s.name_enc.is_some())
    {
        repo::follow(&txn, o.id, s.resident_id, now).await?;
    }
    // The closed loop: those whose survey answers raised the topic and asked to hear back.
    if let Some(survey) = m.source_survey_id {
        for resident in surveys::service::informed_respondents(&txn, survey).await? {
            repo::follow(&txn, o.id, resident, now).await?;
        }
    }
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::OutcomeCreated,
        "outcome",
        &o.id.to_string(),
        Some(serde_json::json!({ "deliberation": meeting_id, "title": o.title })),
    )
    .await?;
    txn.commit().await?;
    refresh_cache(state).await;
    Ok(outcome_view(o, None))
}

fn progress_notice(o: &outcomes::Model, status: OutcomeStatus, percent: i32) -> Notice {
    let phrase = match status {
        OutcomeStatus::NotStarted => "未开始",
        OutcomeStatus::InProgress => "推进中",
        OutcomeStatus::Done => "已完成",
        OutcomeStatus::Delayed => "已延期",
        OutcomeStatus::Dropped => "已终止",
    };
    Notice {
        kind: NoticeKind::DeliberationUpdate,
        title: "您关注的议事成果有新进展".to_owned(),
        body: format!("「{}」{phrase}，进度 {percent}%。", o.title),
        page: Some(format!("pages/outcome/detail?id={}", o.id)),
        data: BTreeMap::from([
            ("thing1".to_owned(), o.title.chars().take(20).collect()),
            ("phrase2".to_owned(), phrase.to_owned()),
        ]),
    }
}

/// Appends an entry to the outcome's timeline (entries are never changed: a correction is a
/// new entry naming the one it corrects), moves the outcome and its parent, and tells each
/// follower once.
#[tracing::instrument(skip_all, fields(outcome = %id))]
pub async fn add_progress(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
    req: ProgressRequest,
) -> ApiResult<ProgressView> {
    let o = repo::find_outcome(&state.db, id)
        .await?
        .ok_or_else(outcome_not_found)?;
    let m = repo::find_meeting(&state.db, o.deliberation_id)
        .await?
        .ok_or_else(outcome_not_found)?;
    staff.ensure_org_unit(&m.org_unit)?;
    let status = status_from_dto(req.status);
    domain::check_progress(status, req.percent).map_err(|(f, msg)| invalid(f, msg))?;
    if let Some(c) = req.corrects {
        let earlier = repo::find_progress(&state.db, c).await?;
        if earlier.is_none_or(|e| e.outcome_id != id) {
            return Err(invalid("corrects", "要更正的记录不属于这项成果"));
        }
    }
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let entry = repo::insert_progress(
        &txn,
        outcome_progress::ActiveModel {
            id: Set(Uuid::now_v7()),
            outcome_id: Set(id),
            status: Set(status.as_str().to_owned()),
            percent: Set(req.percent),
            note: Set(req.note.trim().to_owned()),
            happened_on: Set(req.happened_on),
            corrects: Set(req.corrects),
            created_by: Set(staff.id),
            created_at: Set(now),
        },
    )
    .await?;
    let has_children = !repo::children_of(&txn, id).await?.is_empty();
    let mut active: outcomes::ActiveModel = o.clone().into();
    active.status = Set(status.as_str().to_owned());
    if !has_children {
        // A parent's percent is its children's weighted mean, never typed in.
        active.percent = Set(req.percent);
    }
    active.last_progress_at = Set(Some(now));
    let updated = repo::update_outcome(&txn, active).await?;
    if let Some(parent_id) = updated.parent_id {
        roll_up(&txn, parent_id).await?;
    }
    let followers = repo::followers(&txn, id).await?;
    for resident in &followers {
        notifications::enqueue(
            &txn,
            *resident,
            progress_notice(&updated, status, updated.percent),
        )
        .await?;
    }
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::OutcomeProgressAdded,
        "outcome",
        &id.to_string(),
        Some(serde_json::json!({
            "entry": entry.id,
            "status": entry.status,
            "percent": entry.percent,
            "corrects": entry.corrects,
            "notified": followers.len(),
        })),
    )
    .await?;
    txn.commit().await?;
    refresh_cache(state).await;
    Ok(progress_view(entry))
}

pub struct FeedQuery {
    pub subdistrict: Option<String>,
    pub status: Option<String>,
    pub overdue: bool,
    pub page: PageRequest,
}

/// The public feed, latest activity first; cached until the next change.
pub async fn feed(state: &AppState, q: FeedQuery) -> ApiResult<Page<OutcomeView>> {
    if let Some(s) = &q.status
        && OutcomeStatus::parse(s).is_none()
    {
        return Err(ApiError::field(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "status",
            "状态应为 not_started、in_progress、done、delayed 或 dropped",
        ));
    }
    let key = format!(
        "deliberation:outcomes:feed:{}:{}:{}:{}:{}:{}",
        cache_version(state).await,
        q.subdistrict.as_deref().unwrap_or(""),
        q.status.as_deref().unwrap_or(""),
        q.overdue,
        q.page.limit,
        q.page.after.map(|a| a.to_string()).unwrap_or_default(),
    );
    if let Some(page) = state.cache.get_json::<CachedPage>(&key).await {
        return Ok(Page {
            items: page.items,
            next_cursor: page.next_cursor,
        });
    }
    let db = &state.db;
    let after = match q.page.after {
        Some(id) => repo::find_outcome(db, id)
            .await?
            .and_then(|o| o.last_progress_at.map(|at| (at, o.id))),
        None => None,
    };
    let rows = repo::feed(
        db,
        repo::FeedFilter {
            org_unit: q.subdistrict.as_deref().filter(|s| !s.is_empty()),
            status: q.status.as_deref(),
            overdue_on: q.overdue.then(today),
            after,
            limit: q.page.limit + 1,
        },
    )
    .await?;
    let more = rows.len() as u64 > q.page.limit;
    let mut items = Vec::new();
    for o in rows
        .into_iter()
        .take(usize::try_from(q.page.limit).unwrap_or(usize::MAX))
    {
        items.push(view_with_latest(db, o).await?);
    }
    let next_cursor = if more {
        items.last().map(|o| encode_cursor(o.id))
    } else {
        None
    };
    let page = CachedPage { items, next_cursor };
    state.cache.set_json(&key, &page, CACHE_TTL).await;
    Ok(Page {
        items: page.items,
        next_cursor: page.next_cursor,
    })
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CachedPage {
    items: Vec<OutcomeView>,
    next_cursor: Option<String>,
}

/// One outcome with its full timeline, its meeting and its children; cached until the next
/// change.
pub async fn detail(state: &AppState, id: Uuid) -> ApiResult<OutcomeDetail> {
    let key = format!(
        "deliberation:outcomes:detail:{}:{id}",
        cache_version(state).await
    );
    if let Some(d) = state.cache.get_json::<OutcomeDetail>(&key).await {
        return Ok(d);
    }
    let db = &state.db;
    let o = repo::find_outcome(db, id)
        .await?
        .ok_or_else(outcome_not_found)?;
    let m = repo::find_meeting(db, o.deliberation_id)
        .await?
        .ok_or_else(outcome_not_found)?;
    let timeline: Vec<ProgressView> = repo::timeline(db, id)
        .await?
        .into_iter()
        .map(progress_view)
        .collect();
    let mut children = Vec::new();
    for c in repo::children_of(db, id).await? {
        children.push(view_with_latest(db, c).await?);
    }
    let followers = i64::try_from(repo::followers(db, id).await?.len()).unwrap_or(i64::MAX);
    let latest = timeline.last().cloned();
    let source_survey = match m.source_survey_id {
        Some(sid) => surveys::service::reference(db, sid).await?,
        None => None,
    };
    let d = OutcomeDetail {
        outcome: outcome_view(o, latest),
        meeting: summary(&m),
        source_survey,
        children,
        timeline,
        followers,
    };
    state.cache.set_json(&key, &d, CACHE_TTL).await;
    Ok(d)
}

pub async fn set_follow(
    state: &AppState,
    resident_id: Uuid,
    id: Uuid,
    following: bool,
) -> ApiResult<FollowView> {
    repo::find_outcome(&state.db, id)
        .await?
        .ok_or_else(outcome_not_found)?;
    if following {
        repo::follow(&state.db, id, resident_id, Utc::now()).await?;
    } else {
        repo::unfollow(&state.db, id, resident_id).await?;
    }
    refresh_cache(state).await;
    Ok(FollowView {
        outcome_id: id,
        following: repo::is_following(&state.db, id, resident_id).await?,
    })
}

/// Part of answering a survey that asked to keep its respondents informed (call it in the
/// submission's transaction): the resident follows every outcome already recorded for
/// meetings that survey gave rise to; later outcomes pick them up when they are created.
pub async fn follow_from_survey(
    db: &impl ConnectionTrait,
    survey_id: Uuid,
    resident_id: Uuid,
    now: chrono::DateTime<Utc>,
) -> Result<(), DbErr> {
    let meetings = repo::meetings_from_surveys(db, vec![survey_id]).await?;
    if meetings.is_empty() {
        return Ok(());
    }
    for o in repo::outcomes_of_meetings(db, meetings.iter().map(|m| m.id).collect()).await? {
        repo::follow(db, o.id, resident_id, now).await?;
    }
    Ok(())
}

async fn views_of(
    db: &impl ConnectionTrait,
    outcomes: &[outcomes::Model],
    meeting: Uuid,
) -> Result<Vec<OutcomeView>, DbErr> {
    let mut views = Vec::new();
    for o in outcomes.iter().filter(|o| o.deliberation_id == meeting) {
        views.push(view_with_latest(db, o.clone()).await?);
    }
    Ok(views)
}

/// The resident's trail, newest first: surveys they answered and the meetings those raised,
/// meetings they were confirmed for (or attended), what came of each, and each outcome's
/// latest progress.
pub async fn my_loop(state: &AppState, resident_id: Uuid) -> ApiResult<LoopView> {
    let db = &state.db;
    let answered = surveys::service::answered_by(db, resident_id).await?;
    let raised =
        repo::meetings_from_surveys(db, answered.iter().map(|(s, ..)| s.id).collect()).await?;
    let signups: Vec<_> = repo::signups_of_resident(db, resident_id)
        .await?
        .into_iter()
        .filter(|s| s.status == SignupStatus::Confirmed.as_str())
        .collect();
    let attended_meetings: Vec<_> =
        repo::meetings_by_ids(db, signups.iter().map(|s| s.deliberation_id).collect())
            .await?
            .into_iter()
            .filter(|m| m.status != MeetingStatus::Draft.as_str())
            .collect();
    let all_meetings: Vec<Uuid> = raised
        .iter()
        .chain(&attended_meetings)
        .map(|m| m.id)
        .collect();
    let outcomes = repo::outcomes_of_meetings(db, all_meetings).await?;

    let mut items = Vec::new();
    for (survey, on_day, keep_informed) in answered {
        let mut meetings = Vec::new();
        let mut views = Vec::new();
        for m in raised
            .iter()
            .filter(|m| m.source_survey_id == Some(survey.id))
        {
            meetings.push(summary(m));
            views.extend(views_of(db, &outcomes, m.id).await?);
        }
        items.push(LoopEntry {
            kind: LoopKind::Survey,
            at: on_day.and_time(chrono::NaiveTime::MIN).and_utc(),
            survey: Some(survey),
            keep_informed: Some(keep_informed),
            meeting: None,
            participation: "answered".to_owned(),
            meetings,
            outcomes: views,
        });
    }
    for m in &attended_meetings {
        let attended = signups
            .iter()
            .any(|s| s.deliberation_id == m.id && s.checked_in_at.is_some());
        items.push(LoopEntry {
            kind: LoopKind::Meeting,
            at: m.starts_at,
            survey: None,
            keep_informed: None,
            meeting: Some(summary(m)),
            participation: if attended { "attended" } else { "confirmed" }.to_owned(),
            meetings: Vec::new(),
            outcomes: views_of(db, &outcomes, m.id).await?,
        });
    }
    items.sort_by_key(|e| std::cmp::Reverse(e.at));
    Ok(LoopView { items })
}
