//! Survey use cases: drafts, publishing versions, the resident's view and submissions.

use std::collections::{HashMap, HashSet};

use actix_web::http::{StatusCode, header::ContentType};
use chrono::{DateTime, SubsecRound, Timelike, Utc};
use sea_orm::{ActiveValue::Set, TransactionTrait};
use uuid::Uuid;

use super::{
    domain::{check_definition, validate_answers},
    dto::{
        MyResponse, PublishedSurvey, StaffSurveyView, SubmitRequest, SubmittedResponse, SurveyBody,
        SurveyRef, SurveyStatus, SurveySummary,
    },
    hot::{self, Pointer, Source},
    items::{NewItem, items_of},
    repo,
    writer::{KeyRecord, NewSubmission, Written},
};
use crate::{
    accounts,
    audit::{self, Action, Actor},
    auth::{CurrentStaff, Identity},
    entities::{org_units, residents, survey_responses, surveys},
    error::{ApiError, ApiResult, FieldError, is_unique_violation},
    idempotency::{self, Deferred, service::StoredAnswer},
    org_units::{OrgUnitKind, repo as units},
    pagination::{Page, PageRequest},
    rate_limit::{self, Limit},
    state::AppState,
};

fn not_found() -> ApiError {
    ApiError::not_found("survey_not_found", "没有这份问卷")
}

fn invalid(errors: Vec<FieldError>) -> ApiError {
    ApiError::validation(errors)
}

fn field(f: impl Into<String>, m: impl Into<String>) -> FieldError {
    FieldError {
        field: f.into(),
        message: m.into(),
    }
}

/// Writes a staff action on a survey to the audit log, in the action's transaction.
async fn audit_survey(
    db: &impl sea_orm::ConnectionTrait,
    staff: &CurrentStaff,
    action: Action,
    id: Uuid,
    detail: Option<serde_json::Value>,
) -> ApiResult<()> {
    audit::record(
        db,
        &Actor::from(staff),
        action,
        "survey",
        &id.to_string(),
        detail,
    )
    .await?;
    Ok(())
}

/// Checks the settings of a body and answers the org unit it names.
async fn check_settings(
    state: &AppState,
    staff: &CurrentStaff,
    body: &SurveyBody,
) -> ApiResult<org_units::Model> {
    let unit =
        crate::org_units::service::require(&state.db, body.org_unit.trim(), "org_unit").await?;
    staff.ensure_org_unit(&unit.code)?;
    let mut errors = Vec::new();
    if body.title.trim().is_empty() {
        errors.push(field("title", "请填写标题"));
    }
    let subs = sub_districts(state).await?;
    let mut seen = HashSet::new();
    for (i, code) in body.audience.iter().enumerate() {
        if !subs.contains(code.as_str()) {
            errors.push(field(format!("audience[{i}]"), "请选择西城区的街道"));
        } else if !seen.insert(code.as_str()) {
            errors.push(field(format!("audience[{i}]"), "街道重复"));
        }
    }
    if let (Some(o), Some(c)) = (body.opens_at, body.closes_at)
        && o >= c
    {
        errors.push(field("closes_at", "截止时间应晚于开始时间"));
    }
    if errors.is_empty() {
        Ok(unit)
    } else {
        Err(invalid(errors))
    }
}

/// The codes of the district's sub-districts.
async fn sub_districts(state: &AppState) -> ApiResult<std::sync::Arc<HashSet<String>>> {
    let codes = state
        .hot_surveys
        .sub_districts
        .get_or_try_init(|| async {
            Ok::<_, ApiError>(std::sync::Arc::new(
                units::list(&state.db)
                    .await?
                    .into_iter()
                    .filter(|u| u.kind == OrgUnitKind::Subdistrict.as_str())
                    .map(|u| u.code)
                    .collect(),
            ))
        })
        .await?;
    Ok(codes.clone())
}

async fn unit_code(state: &AppState, id: Uuid) -> ApiResult<String> {
    Ok(units::find(&state.db, id)
        .await?
        .map(|u| u.code)
        .unwrap_or_default())
}

fn parse_draft(m: &surveys::Model) -> ApiResult<SurveyBody> {
    serde_json::from_str(&m.draft).map_err(ApiError::internal)
}

async fn staff_view(state: &AppState, m: surveys::Model) -> ApiResult<StaffSurveyView> {
    let draft = parse_draft(&m)?;
    let response_count = repo::count_responses(&state.db, m.id).await?;
    let has_unpublished_changes = match m.current_version {
        None => true,
        Some(v) => {
            let current = repo::find_version(&state.db, m.id, v).await?;
            current.is_none_or(|c| {
                serde_json::from_str::<PublishedSurvey>(&c.body)
                    .map(|p| body_of(&p) != serde_json::to_value(&draft).unwrap_or_default())
                    .unwrap_or(true)
            })
        }
    };
    Ok(StaffSurveyView {
        id: m.id,
        status: SurveyStatus::parse(&m.status),
        org_unit: unit_code(state, m.org_unit_id).await?,
        current_version: m.current_version,
        response_count,
        draft,
        has_unpublished_changes,
        created_at: m.created_at,
        updated_at: m.updated_at,
        published_at: m.published_at,
        closed_at: m.closed_at,
    })
}

/// The body a published version was made from, to tell whether the draft has moved on.
fn body_of(p: &PublishedSurvey) -> serde_json::Value {
    serde_json::to_value(SurveyBody {
        title: p.title.clone(),
        description: p.description.clone(),
        org_unit: p.org_unit.clone(),
        audience: p.audience.clone(),
        opens_at: p.opens_at,
        closes_at: p.closes_at,
        max_responses: p.max_responses,
        anonymous: p.anonymous,
        keep_informed: p.keep_informed,
        pages: p.pages.clone(),
    })
    .unwrap_or_default()
}

/// A survey staff may work on: it exists and belongs to their org unit (or they administer).
async fn owned(state: &AppState, staff: &CurrentStaff, id: Uuid) -> ApiResult<surveys::Model> {
    let m = repo::find(&state.db, id).await?.ok_or_else(not_found)?;
    let code = unit_code(state, m.org_unit_id).await?;
    staff.ensure_org_unit(&code)?;
    Ok(m)
}

pub async fn create(
    state: &AppState,
    staff: &CurrentStaff,
    body: SurveyBody,
) -> ApiResult<StaffSurveyView> {
    let unit = check_settings(state, staff, &body).await?;
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let m = repo::insert(
        &txn,
        surveys::ActiveModel {
            id: Set(Uuid::now_v7()),
            org_unit_id: Set(unit.id),
            status: Set(SurveyStatus::Draft.as_str().into()),
            title: Set(body.title.trim().to_owned()),
            draft: Set(serde_json::to_string(&body).map_err(ApiError::internal)?),
            current_version: Set(None),
            audience: Set(None),
            opens_at: Set(None),
            closes_at: Set(None),
            max_responses: Set(None),
            anonymous: Set(body.anonymous),
            keep_informed: Set(body.keep_informed),
            response_count: Set(0),
            created_by: Set(staff.id),
            created_at: Set(now),
            updated_at: Set(now),
            published_at: Set(None),
            closed_at: Set(None),
        },
    )
    .await?;
    audit_survey(
        &txn,
        staff,
        Action::SurveyCreated,
        m.id,
        Some(serde_json::json!({ "title": m.title })),
    )
    .await?;
    txn.commit().await?;
    staff_view(state, m).await
}

pub async fn get_for_staff(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
) -> ApiResult<StaffSurveyView> {
    let m = owned(state, staff, id).await?;
    staff_view(state, m).await
}

/// Replaces the draft. Of a published survey, this prepares the next version: what residents
/// see changes only when it is published.
pub async fn update(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
    body: SurveyBody,
) -> ApiResult<StaffSurveyView> {
    let m = owned(state, staff, id).await?;
    if m.status == SurveyStatus::Closed.as_str() {
        return Err(ApiError::conflict(
            "survey_closed",
            "问卷已结束，不能再修改",
        ));
    }
    let unit = check_settings(state, staff, &body).await?;
    if m.anonymous != body.anonymous && repo::count_responses(&state.db, id).await? > 0 {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "anonymity_fixed",
            "anonymous",
            "已有人作答，不能再更改是否匿名",
        ));
    }
    let txn = state.db.begin().await?;
    let mut active: surveys::ActiveModel = m.into();
    active.draft = Set(serde_json::to_string(&body).map_err(ApiError::internal)?);
    active.org_unit_id = Set(unit.id);
    active.updated_at = Set(Utc::now());
    let m = repo::update(&txn, active).await?;
    audit_survey(&txn, staff, Action::SurveyUpdated, id, None).await?;
    txn.commit().await?;
    staff_view(state, m).await
}

pub async fn delete(state: &AppState, staff: &CurrentStaff, id: Uuid) -> ApiResult<()> {
    let m = owned(state, staff, id).await?;
    if repo::count_responses(&state.db, id).await? > 0 {
        return Err(ApiError::conflict(
            "survey_has_responses",
            "问卷已有人作答，不能删除；可以结束问卷",
        ));
    }
    let txn = state.db.begin().await?;
    repo::delete(&txn, id).await?;
    audit_survey(
        &txn,
        staff,
        Action::SurveyDeleted,
        id,
        Some(serde_json::json!({ "title": m.title })),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Checks the draft and makes it the next version, current at once for every instance.
pub async fn publish(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
) -> ApiResult<StaffSurveyView> {
    let m = owned(state, staff, id).await?;
    if m.status == SurveyStatus::Closed.as_str() {
        return Err(ApiError::conflict(
            "survey_closed",
            "问卷已结束，不能再发布",
        ));
    }
    let body = parse_draft(&m)?;
    let unit = check_settings(state, staff, &body).await?;
    if body.closes_at.is_some_and(|c| c <= Utc::now()) {
        return Err(invalid(vec![field("closes_at", "截止时间已过")]));
    }
    let earlier = repo::versions(&state.db, id).await?;
    let mut earlier_types: HashMap<String, String> = HashMap::new();
    for v in &earlier {
        if let Ok(p) = serde_json::from_str::<PublishedSurvey>(&v.body) {
            for page in &p.pages {
                for q in &page.questions {
                    earlier_types.insert(q.id.clone(), q.kind.type_name().to_owned());
                }
            }
        }
    }
    let definition = super::domain::Definition {
        pages: body.pages.clone(),
    };
    let problems = check_definition(&definition, &earlier_types);
    if !problems.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "survey_definition_invalid",
            "问卷内容有误，请按提示修改后再发布",
        )
        .with_errors(
            problems
                .into_iter()
                .map(|p| field(p.field, p.message))
                .collect(),
        ));
    }
    let version = m.current_version.unwrap_or(0) + 1;
    let published = PublishedSurvey {
        id,
        version,
        status: SurveyStatus::Published,
        title: body.title.trim().to_owned(),
        description: body.description.clone(),
        org_unit: unit.code.clone(),
        audience: body.audience.clone(),
        opens_at: body.opens_at,
        closes_at: body.closes_at,
        max_responses: body.max_responses,
        anonymous: body.anonymous,
        keep_informed: body.keep_informed,
        pages: body.pages.clone(),
    };
    let now = Utc::now();
    let txn = state.db.begin().await?;
    repo::insert_version(
        &txn,
        id,
        version,
        serde_json::to_string(&published).map_err(ApiError::internal)?,
        staff.id,
    )
    .await?;
    let mut active: surveys::ActiveModel = m.into();
    active.status = Set(SurveyStatus::Published.as_str().into());
    active.current_version = Set(Some(version));
    active.title = Set(published.title.clone());
    active.org_unit_id = Set(unit.id);
    active.audience = Set(Some(serde_json::json!(published.audience)));
    active.opens_at = Set(published.opens_at);
    active.closes_at = Set(published.closes_at);
    active.max_responses = Set(published
        .max_responses
        .map(|n| i32::try_from(n).unwrap_or(i32::MAX)));
    if published.max_responses.is_some() {
        // Submissions to an uncapped version left the stored count behind: recount before
        // the cap starts to rely on it.
        repo::lock_for_recount(&txn, id).await?;
        active.response_count = Set(repo::count_responses(&txn, id).await?);
    }
    active.anonymous = Set(published.anonymous);
    active.keep_informed = Set(published.keep_informed);
    active.published_at = Set(Some(now));
    active.updated_at = Set(now);
    let m = repo::update(&txn, active).await?;
    audit_survey(
        &txn,
        staff,
        Action::SurveyPublished,
        id,
        Some(serde_json::json!({ "version": version })),
    )
    .await?;
    txn.commit().await?;
    hot::set_pointer(
        state,
        id,
        Pointer {
            version,
            status: SurveyStatus::Published,
        },
    )
    .await;
    staff_view(state, m).await
}

pub async fn close(state: &AppState, staff: &CurrentStaff, id: Uuid) -> ApiResult<StaffSurveyView> {
    let m = owned(state, staff, id).await?;
    let Some(version) = m.current_version else {
        return Err(ApiError::conflict("survey_not_published", "问卷尚未发布"));
    };
    if m.status == SurveyStatus::Closed.as_str() {
        return staff_view(state, m).await;
    }
    let txn = state.db.begin().await?;
    let mut active: surveys::ActiveModel = m.into();
    active.status = Set(SurveyStatus::Closed.as_str().into());
    active.closed_at = Set(Some(Utc::now()));
    active.updated_at = Set(Utc::now());
    let m = repo::update(&txn, active).await?;
    audit_survey(&txn, staff, Action::SurveyClosed, id, None).await?;
    txn.commit().await?;
    hot::set_pointer(
        state,
        id,
        Pointer {
            version,
            status: SurveyStatus::Closed,
        },
    )
    .await;
    staff_view(state, m).await
}

fn summary(m: surveys::Model, org_unit: String) -> SurveySummary {
    SurveySummary {
        id: m.id,
        title: m.title,
        status: SurveyStatus::parse(&m.status),
        org_unit,
        current_version: m.current_version,
        opens_at: m.opens_at,
        closes_at: m.closes_at,
        anonymous: m.anonymous,
        response_count: None,
        answered: None,
    }
}

async fn unit_codes(state: &AppState) -> ApiResult<HashMap<Uuid, String>> {
    Ok(crate::org_units::service::codes_by_id(&state.db).await?)
}

pub async fn list_for_staff(
    state: &AppState,
    staff: &CurrentStaff,
    page: PageRequest,
) -> ApiResult<Page<SurveySummary>> {
    let codes = unit_codes(state).await?;
    let unit = if staff.is_admin {
        None
    } else {
        codes
            .iter()
            .find(|(_, c)| **c == staff.org_unit)
            .map(|(id, _)| *id)
    };
    let rows = repo::list_for_staff(&state.db, unit, page.after, page.limit + 1).await?;
    let ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
    let counts = repo::count_responses_of(&state.db, &ids).await?;
    Ok(Page::from_rows(
        rows,
        page,
        |m| m.id,
        |m| {
            let count = counts.get(&m.id).copied().unwrap_or(0);
            let code = codes.get(&m.org_unit_id).cloned().unwrap_or_default();
            SurveySummary {
                response_count: Some(count),
                ..summary(m, code)
            }
        },
    ))
}

fn in_audience(audience: Option<&serde_json::Value>, home: Option<&str>) -> bool {
    let list: Vec<&str> = audience
        .and_then(|a| a.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    list.is_empty() || home.is_some_and(|h| list.contains(&h))
}

/// Open surveys a resident may answer: the whole district's and their sub-district's.
pub async fn list_for_resident(
    state: &AppState,
    who: &Identity,
    page: PageRequest,
) -> ApiResult<Page<SurveySummary>> {
    let resident = accounts::repo::find_resident(&state.db, who.id).await?;
    let home = resident.and_then(|r| r.home_subdistrict);
    let codes = unit_codes(state).await?;
    let mut out = Vec::new();
    let mut before = page.after;
    // Audience is filtered here, so read on until the page is full or the list ends.
    loop {
        let rows = repo::list_open(&state.db, Utc::now(), before, page.limit + 1).await?;
        let exhausted = (rows.len() as u64) <= page.limit;
        before = rows.last().map(|r| r.id);
        out.extend(
            rows.into_iter()
                .filter(|m| in_audience(m.audience.as_ref(), home.as_deref())),
        );
        if exhausted || out.len() as u64 > page.limit {
            break;
        }
    }
    let ids: Vec<Uuid> = out.iter().map(|m| m.id).collect();
    let answered: HashSet<Uuid> = repo::answered(&state.db, who.id, &ids)
        .await?
        .into_iter()
        .collect();
    Ok(Page::from_rows(
        out,
        page,
        |m| m.id,
        |m| {
            let done = answered.contains(&m.id);
            let code = codes.get(&m.org_unit_id).cloned().unwrap_or_default();
            SurveySummary {
                answered: Some(done),
                ..summary(m, code)
            }
        },
    ))
}

/// The current published version as residents receive it (cached JSON and its ETag); 404
/// when there is none.
pub async fn resident_view(state: &AppState, id: Uuid) -> ApiResult<(hot::Rendered, Source)> {
    if let Some(r) = hot::held(state, id) {
        return Ok((r, Source::Cache));
    }
    // Boxed: loading holds the cache's futures, several kilobytes that every questionnaire
    // GET's future would otherwise carry, and move, even when it is answered from memory.
    Box::pin(hot::current(state, id))
        .await?
        .ok_or_else(not_found)
}

/// What became of a submission that was not refused.
pub enum Submitted {
    /// Stored: the receipt (`SubmittedResponse` as JSON), and whether the request's
    /// Idempotency-Key was recorded with it (`idempotency::Deferred`).
    Stored { receipt: String, key_recorded: bool },
    /// Nothing written: the request's Idempotency-Key was already held, and answers for it.
    KeyHeld,
}

/// Replays the questionnaire over a submission and stores it: once per resident, under the
/// cap, in the current version. `key`: the request's Idempotency-Key, when it is to be
/// recorded with the submission's own write rather than claimed before it.
#[tracing::instrument(skip_all, fields(survey = %id))]
pub async fn submit(
    state: &AppState,
    who: &Identity,
    id: Uuid,
    req: SubmitRequest,
    key: Option<Deferred>,
) -> ApiResult<Submitted> {
    let p = hot::pointer(state, id).await?.ok_or_else(not_found)?;
    let (survey, _) = hot::version(state, id, p.version).await?;
    // PostgreSQL keeps microseconds: the time answered is the time stored.
    let now = Utc::now().trunc_subsecs(6);
    if p.status == SurveyStatus::Closed || survey.closes_at.is_some_and(|c| c <= now) {
        return Err(ApiError::conflict("survey_closed", "问卷已结束，感谢关注"));
    }
    if survey.opens_at.is_some_and(|o| o > now) {
        return Err(ApiError::conflict(
            "survey_closed",
            "问卷尚未开始，请在开始后作答",
        ));
    }
    if req.version != p.version {
        return Err(
            ApiError::conflict("survey_version_changed", "问卷已更新，请刷新后重新作答")
                .with_extension("current_version", serde_json::json!(p.version)),
        );
    }
    let capped = survey.max_responses.is_some();
    // The group commit reads the resident's row as it writes (her sub-district, whether she
    // still has an account): only an audience to check, or a write of its own, needs it now.
    let batched = state.submissions.as_ref().filter(|_| !capped);
    let resident = if batched.is_none() || !survey.audience.is_empty() {
        Some(live_resident(state, who.id).await?)
    } else {
        None
    };
    if let Some(r) = &resident
        && !survey.audience.is_empty()
        && !r
            .home_subdistrict
            .as_deref()
            .is_some_and(|h| survey.audience.iter().any(|a| a == h))
    {
        return Err(ApiError::forbidden(
            "not_in_audience",
            "这份问卷面向其他街道的居民；如您已搬家，请先在个人资料中更新所住街道",
        ));
    }
    if let Some(max) = survey.max_responses
        && state
            .cache
            .get_json::<i64>(&format!("survey:{id}:count"))
            .await
            .is_some_and(|n| n >= i64::from(max))
    {
        return Err(ApiError::conflict(
            "survey_full",
            "问卷回收数量已满，感谢参与",
        ));
    }
    rate_limit::check(state, Limit::Submission, &who.id.to_string()).await?;
    let subs = sub_districts(state).await?;
    let answers = validate_answers(&survey.pages, &req.answers, &|c| subs.contains(c)).map_err(
        |problems| {
            ApiError::validation(
                problems
                    .into_iter()
                    .map(|p| field(p.field, p.message))
                    .collect(),
            )
        },
    )?;
    let keep_informed = survey.keep_informed && req.keep_informed;
    // Anonymous: a random id and an hour-rounded time, so neither orders nor dates the
    // answers against the participation record.
    let (response_id, respondent, submitted_at) = if survey.anonymous {
        (Uuid::new_v4(), None, round_to_hour(now))
    } else {
        (Uuid::now_v7(), Some(who.id), now)
    };
    let receipt = SubmittedResponse {
        survey_id: id,
        version: p.version,
        submitted_at,
        response_id: respondent.map(|_| response_id),
    };
    let receipt = serde_json::to_string(&receipt).map_err(ApiError::internal)?;
    let submission = NewSubmission {
        survey_id: id,
        resident_id: who.id,
        keep_informed,
        on_day: now.date_naive(),
        answered_at: now,
        id: response_id,
        version: p.version,
        respondent_id: respondent,
        answers: answers.to_stored().map_err(ApiError::internal)?,
        submitted_at,
        key: key
            .as_ref()
            .filter(|_| batched.is_some())
            .map(|k| KeyRecord {
                key_id: k.id,
                key: k.key.clone(),
                fingerprint: k.fingerprint.clone(),
                receipt: receipt.clone(),
            }),
    };
    match (batched, resident) {
        // Group commit (PostgreSQL); a capped survey counts on its row, in the submission's
        // own transaction.
        (Some(writer), _) => match writer.write(submission).await? {
            Written::Stored => {}
            Written::AlreadyAnswered => return Err(already_answered()),
            Written::AccountGone => return Err(account_gone()),
            Written::SurveyGone => return Err(not_found()),
            Written::KeyHeld => return Ok(Submitted::KeyHeld),
        },
        (None, resident) => {
            let sub_district = resident.and_then(|r| r.home_subdistrict);
            let items = items_of(id, response_id, &answers);
            let key = key.as_ref().map(|k| (k, receipt.as_str()));
            let alone = Alone {
                sub_district,
                items,
                capped,
                key,
            };
            if write_alone(state, submission, alone).await? == Written::KeyHeld {
                return Ok(Submitted::KeyHeld);
            }
        }
    }
    Ok(Submitted::Stored {
        key_recorded: key.is_some(),
        receipt,
    })
}

fn already_answered() -> ApiError {
    ApiError::conflict("already_answered", "您已经填写过这份问卷，感谢参与")
}

fn account_gone() -> ApiError {
    ApiError::unauthorized("token_revoked", "账号不存在，请重新登录")
}

/// The signed-in resident's row, unless she deleted her account since her token was issued.
async fn live_resident(state: &AppState, id: Uuid) -> ApiResult<residents::Model> {
    accounts::repo::find_resident(&state.db, id)
        .await?
        .filter(|r| r.deleted_at.is_none())
        .ok_or_else(account_gone)
}

/// What a submission written alone needs besides itself.
struct Alone<'a> {
    sub_district: Option<String>,
    items: Vec<NewItem>,
    capped: bool,
    /// The request's Idempotency-Key, to be recorded with it (answered with the receipt).
    key: Option<(&'a Deferred, &'a str)>,
}

/// A submission in a transaction of its own: following the survey's outcomes goes with it,
/// a capped survey counts it on its row, and its Idempotency-Key is recorded with it (or,
/// when the key is held, nothing is written: `Written::KeyHeld`).
async fn write_alone(state: &AppState, s: NewSubmission, alone: Alone<'_>) -> ApiResult<Written> {
    let Alone {
        sub_district,
        items,
        capped,
        key,
    } = alone;
    let id = s.survey_id;
    let txn = state.db.begin().await?;
    // First, so that a retry running alongside waits here for this one's outcome; a refusal
    // below rolls it back with the rest.
    if let Some((key, receipt)) = key {
        let answer = StoredAnswer {
            status: StatusCode::CREATED.as_u16(),
            content_type: Some(ContentType::json().to_string()),
            body: receipt.as_bytes().to_vec(),
        };
        if !idempotency::service::record_answered(&txn, key, answer).await? {
            return Ok(Written::KeyHeld);
        }
    }
    match repo::insert_participation(&txn, id, s.resident_id, s.keep_informed, s.on_day).await {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e) => return Err(already_answered()),
        Err(e) => return Err(e.into()),
    }
    if s.keep_informed {
        // Outcomes already published from this survey's topic: follow them from now on.
        crate::deliberation::outcomes::follow_from_survey(&txn, id, s.resident_id, s.answered_at)
            .await?;
    }
    repo::insert_response(
        &txn,
        survey_responses::ActiveModel {
            id: Set(s.id),
            survey_id: Set(id),
            version: Set(s.version),
            respondent_id: Set(s.respondent_id),
            sub_district: Set(sub_district),
            answers: Set(s.answers),
            submitted_at: Set(s.submitted_at),
            items_pending: Set(false),
        },
    )
    .await?;
    repo::insert_items(&txn, items.into_iter().map(Into::into).collect()).await?;
    // Only a capped survey counts on its row (an uncapped one is counted from its responses
    // when staff look): every submission to it queues on that row's lock until its commit
    // has flushed. Last before the commit, so the lock is held only for this statement and
    // the commit. A full survey rolls the inserts back.
    if capped && !repo::take_response_slot(&txn, id).await? {
        return Err(ApiError::conflict(
            "survey_full",
            "问卷回收数量已满，感谢参与",
        ));
    }
    txn.commit().await?;
    // The cached count only serves the cap's fast refusal: without a cap, skip the re-read.
    if capped && let Some(count) = repo::find(&state.db, id).await?.map(|m| m.response_count) {
        state
            .cache
            .set_json(
                &format!("survey:{id}:count"),
                &i64::from(count),
                std::time::Duration::from_secs(5),
            )
            .await;
    }
    Ok(Written::Stored)
}

fn round_to_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t)
}

/// The surveys a resident took part in, with their answers unless anonymous.
pub async fn my_responses(state: &AppState, resident_id: Uuid) -> ApiResult<Vec<MyResponse>> {
    let parts = repo::participations_of(&state.db, resident_id).await?;
    let ids: Vec<Uuid> = parts.iter().map(|p| p.survey_id).collect();
    let surveys: HashMap<Uuid, surveys::Model> = repo::find_many(&state.db, &ids)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut out = Vec::new();
    for p in parts {
        let Some(s) = surveys.get(&p.survey_id) else {
            continue;
        };
        let response = if s.anonymous {
            None
        } else {
            repo::response_of(&state.db, s.id, resident_id).await?
        };
        out.push(MyResponse {
            survey_id: s.id,
            title: s.title.clone(),
            anonymous: s.anonymous,
            keep_informed: p.keep_informed,
            on_day: p.on_day,
            version: response.as_ref().map(|r| r.version),
            answers: response.and_then(|r| serde_json::from_str(&r.answers).ok()),
        });
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.on_day));
    Ok(out)
}

/// Every published version of a survey, oldest first.
async fn published_versions(state: &AppState, id: Uuid) -> ApiResult<Vec<PublishedSurvey>> {
    repo::versions(&state.db, id)
        .await?
        .iter()
        .map(|v| serde_json::from_str(&v.body).map_err(ApiError::internal))
        .collect()
}

async fn unit_names(state: &AppState) -> ApiResult<HashMap<String, String>> {
    Ok(units::list(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.code, u.name))
        .collect())
}

/// Results across every version; live, but computed at most once every few seconds.
pub async fn results(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
    group_by: Option<&str>,
) -> ApiResult<super::results::Results> {
    use super::results::{Catalogue, Grouping, compute};
    let m = owned(state, staff, id).await?;
    let versions = published_versions(state, id).await?;
    let catalogue = Catalogue::new(&versions);
    let grouping = match group_by {
        None | Some("") => Grouping::None,
        Some("sub_district") => Grouping::SubDistrict,
        Some(q) => match catalogue.get(q).map(|q| &q.kind) {
            Some(
                super::domain::QuestionKind::Single { .. }
                | super::domain::QuestionKind::Dropdown { .. },
            ) => Grouping::Question(q.to_owned()),
            _ => {
                return Err(ApiError::field(
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    "group_by",
                    "只能按街道（sub_district）或某道单选题分组",
                ));
            }
        },
    };
    let key = format!("survey:{id}:results:{}", group_by.unwrap_or(""));
    if let Some(cached) = state.cache.get_json(&key).await {
        return Ok(cached);
    }
    // Submissions stored in a burst may not have their items yet: counted all the same.
    super::items::catch_up(state, id).await?;
    let computed = compute(
        &state.db,
        id,
        m.current_version,
        &catalogue,
        grouping,
        &unit_names(state).await?,
    )
    .await?;
    state
        .cache
        .set_json(&key, &computed, std::time::Duration::from_secs(3))
        .await;
    Ok(computed)
}

/// One question's chart (SVG) from the live results.
pub async fn chart(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
    question_id: &str,
) -> ApiResult<String> {
    let results = results(state, staff, id, None).await?;
    let q = results
        .questions
        .iter()
        .find(|q| q.question_id == question_id)
        .ok_or_else(|| ApiError::not_found("question_not_found", "问卷中没有这道题"))?;
    super::charts::question_svg(q)
        .ok_or_else(|| {
            ApiError::not_found("chart_unavailable", "这道题没有图表，请在答卷列表中查看")
        })?
        .map_err(|e| ApiError::internal(anyhow::anyhow!("chart drawing failed: {e}")))
}

/// Responses one page at a time, for reading text answers.
pub async fn responses(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
    page: PageRequest,
) -> ApiResult<Page<super::dto::ResponseView>> {
    owned(state, staff, id).await?;
    let rows = repo::responses_page(&state.db, id, page.after, page.limit + 1).await?;
    Ok(Page::from_rows(
        rows,
        page,
        |r| r.id,
        |r| super::dto::ResponseView {
            id: r.id,
            version: r.version,
            submitted_at: r.submitted_at,
            sub_district: r.sub_district,
            answers: serde_json::from_str(&r.answers).unwrap_or_default(),
        },
    ))
}

/// What an export needs, checked before the first byte is sent.
pub struct ExportPlan {
    pub survey_id: Uuid,
    pub columns: Vec<super::export::Column>,
    pub labels: super::export::Labels,
    pub unit_names: HashMap<String, String>,
}

pub async fn export_plan(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
) -> ApiResult<ExportPlan> {
    owned(state, staff, id).await?;
    let versions = published_versions(state, id).await?;
    let catalogue = super::results::Catalogue::new(&versions);
    audit::record(
        &state.db,
        &Actor::from(staff),
        Action::SurveyExported,
        "survey",
        &id.to_string(),
        None,
    )
    .await?;
    Ok(ExportPlan {
        survey_id: id,
        columns: super::export::columns(&catalogue),
        labels: super::export::Labels::new(&versions),
        unit_names: unit_names(state).await?,
    })
}

/// The next page of export rows after `after`; empty when done.
pub async fn export_page(
    db: &sea_orm::DatabaseConnection,
    plan: &ExportPlan,
    after: Option<Uuid>,
) -> Result<Vec<(Uuid, Vec<String>)>, sea_orm::DbErr> {
    let rows = repo::responses_page(db, plan.survey_id, after, 500).await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.id,
                super::export::row(r, &plan.columns, &plan.labels, &plan.unit_names),
            )
        })
        .collect())
}

fn reference_of(m: surveys::Model) -> SurveyRef {
    SurveyRef {
        id: m.id,
        title: m.title,
        anonymous: m.anonymous,
    }
}

/// A survey that residents have been able to answer (published once, open or closed since),
/// as another feature refers to it; drafts and unknown ids are `None`.
pub async fn reference(
    db: &impl sea_orm::ConnectionTrait,
    id: Uuid,
) -> Result<Option<SurveyRef>, sea_orm::DbErr> {
    Ok(repo::find(db, id)
        .await?
        .filter(|m| m.current_version.is_some())
        .map(reference_of))
}

/// The surveys a resident answered, with the day and whether they asked to be kept informed.
pub async fn answered_by(
    db: &impl sea_orm::ConnectionTrait,
    resident_id: Uuid,
) -> Result<Vec<(SurveyRef, chrono::NaiveDate, bool)>, sea_orm::DbErr> {
    let parts = repo::participations_of(db, resident_id).await?;
    let surveys: HashMap<Uuid, surveys::Model> =
        repo::find_many(db, &parts.iter().map(|p| p.survey_id).collect::<Vec<_>>())
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
    Ok(parts
        .into_iter()
        .filter_map(|p| {
            let s = surveys.get(&p.survey_id)?.clone();
            Some((reference_of(s), p.on_day, p.keep_informed))
        })
        .collect())
}

/// Residents who answered a survey and asked to hear what comes of it (anonymous surveys
/// included: the wish is stored with the participation, apart from the answers).
pub async fn informed_respondents(
    db: &impl sea_orm::ConnectionTrait,
    survey_id: Uuid,
) -> Result<Vec<Uuid>, sea_orm::DbErr> {
    repo::informed_respondents(db, survey_id).await
}

/// Part of deleting an account (call it in the deletion's transaction): answers stay for the
/// results, with nothing left that ties them to the resident.
pub async fn erase_resident(
    db: &impl sea_orm::ConnectionTrait,
    resident_id: Uuid,
) -> Result<(), sea_orm::DbErr> {
    repo::anonymise_resident(db, resident_id).await
}
