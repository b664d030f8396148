//! Use cases of invited experience officers: campaigns, applications and their review,
//! officers' terms, activities, feedback and replies. Places are taken by conditional
//! UPDATEs inside the deciding transaction (`approved < quota`, `taken < capacity`), so a
//! campaign never has more officers than its quota whatever the number of reviewers and
//! instances.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbErr, TransactionTrait};
use uuid::Uuid;

use super::{
    domain::{
        ActivityInput, ActivitySpec, Applicant, ApplicantInput, ApplicationStatus as A,
        CampaignInput, CampaignSpec, CampaignStatus, Faults, Feedback, OfficerStanding, Reply,
        ReplyStatus, accepting_applications, is_overdue, overdue_before, share, term_end,
    },
    dto::{
        ActivityRequest, ActivityView, ApplicantField, ApplicationCounts, ApplicationView,
        ApplyRequest, CampaignReport, CampaignRequest, CampaignView, FeedbackRequest, FeedbackView,
        MyApplicationView, OfficerView, ReplyRequest, ReplyStatusDto, ReplyView,
        RevealApplicantRequest, RevealedApplicantValue, SignupView, TermView,
    },
    repo,
};
use crate::{
    audit::{self, Action, Actor},
    auth::CurrentStaff,
    content_check::{self, Scene, Text},
    entities::{
        officer_activities, officer_activity_signups, officer_applications, officer_campaigns,
        officer_feedback, officer_feedback_replies, officers,
    },
    error::{ApiError, ApiResult, FieldError, is_unique_violation},
    notifications::{self, Notice, NoticeKind},
    org_units,
    pagination::{Page, PageRequest},
    personal_data::{DataKey, consent, mask},
    rate_limit::{self, Limit},
    state::AppState,
};

const CONSENT_PURPOSE: &str = "officer_application";

fn campaign_not_found() -> ApiError {
    ApiError::not_found("campaign_not_found", "没有这个体验员招募")
}

fn application_not_found() -> ApiError {
    ApiError::not_found("application_not_found", "没有找到这份报名")
}

fn activity_not_found() -> ApiError {
    ApiError::not_found("activity_not_found", "没有这个体验活动")
}

fn not_pending() -> ApiError {
    ApiError::conflict("application_not_pending", "这份报名已处理，不能再更改")
}

fn not_serving() -> ApiError {
    ApiError::forbidden(
        "not_serving_officer",
        "只有本次招募在任的特邀体验员才能参加",
    )
}

fn invalid(errors: Faults) -> ApiError {
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

fn beijing(t: DateTime<Utc>) -> String {
    (t + Duration::hours(8)).format("%Y年%m月%d日").to_string()
}

fn status_of(c: &officer_campaigns::Model) -> CampaignStatus {
    CampaignStatus::parse(&c.status).unwrap_or(CampaignStatus::Draft)
}

async fn unit_code(db: &impl ConnectionTrait, id: Uuid) -> ApiResult<String> {
    Ok(org_units::repo::find(db, id)
        .await?
        .map(|u| u.code)
        .unwrap_or_default())
}

/// The campaign, if the staff member may act on it.
async fn campaign_for_staff(
    db: &impl ConnectionTrait,
    staff: &CurrentStaff,
    id: Uuid,
) -> ApiResult<(officer_campaigns::Model, String)> {
    let c = repo::find_campaign(db, id)
        .await?
        .ok_or_else(campaign_not_found)?;
    let code = unit_code(db, c.org_unit_id).await?;
    staff.ensure_org_unit(&code)?;
    Ok((c, code))
}

/// The org unit whose campaigns a staff member sees; `None` for administrators (all).
async fn staff_unit(db: &impl ConnectionTrait, staff: &CurrentStaff) -> ApiResult<Option<Uuid>> {
    if staff.is_admin {
        return Ok(None);
    }
    let unit = org_units::repo::find_by_code(db, &staff.org_unit)
        .await?
        .ok_or_else(|| ApiError::forbidden("org_unit_forbidden", "只能处理本单位的事项"))?;
    Ok(Some(unit.id))
}

fn campaign_view(c: officer_campaigns::Model, code: String, now: DateTime<Utc>) -> CampaignView {
    let accepting = accepting_applications(status_of(&c), now, c.apply_opens_at, c.apply_closes_at);
    CampaignView {
        id: c.id,
        org_unit: code,
        title: c.title,
        description: c.description,
        quota: c.quota,
        approved: c.approved,
        places_left: (c.quota - c.approved).max(0),
        requirements: c.requirements,
        apply_opens_at: c.apply_opens_at,
        apply_closes_at: c.apply_closes_at,
        term_months: c.term_months,
        status: c.status,
        accepting_applications: accepting,
    }
}

fn spec_of(req: &CampaignRequest) -> ApiResult<CampaignSpec> {
    CampaignSpec::parse(CampaignInput {
        title: req.title.clone(),
        description: req.description.clone(),
        quota: req.quota,
        requirements: req.requirements.clone(),
        apply_opens_at: req.apply_opens_at,
        apply_closes_at: req.apply_closes_at,
        term_months: req.term_months,
    })
    .map_err(invalid)
}

/// Staff create a campaign (a draft until published).
#[tracing::instrument(skip_all)]
pub async fn create(
    state: &AppState,
    staff: &CurrentStaff,
    req: CampaignRequest,
) -> ApiResult<CampaignView> {
    let db = &state.db;
    let unit = org_units::service::require(db, req.org_unit.trim(), "org_unit").await?;
    staff.ensure_org_unit(&unit.code)?;
    let spec = spec_of(&req)?;
    let now = Utc::now();
    let txn = db.begin().await?;
    let c = repo::insert_campaign(
        &txn,
        officer_campaigns::ActiveModel {
            id: Set(Uuid::now_v7()),
            org_unit_id: Set(unit.id),
            title: Set(spec.title().to_owned()),
            description: Set(spec.description().to_owned()),
            quota: Set(spec.quota()),
            approved: Set(0),
            requirements: Set(spec.requirements().to_owned()),
            apply_opens_at: Set(spec.apply_opens_at()),
            apply_closes_at: Set(spec.apply_closes_at()),
            term_months: Set(spec.term_months()),
            status: Set(CampaignStatus::Draft.as_str().to_owned()),
            created_by: Set(staff.id),
            created_at: Set(now),
            updated_at: Set(now),
        },
    )
    .await?;
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::OfficerCampaignCreated,
        "officer_campaign",
        &c.id.to_string(),
        Some(serde_json::json!({ "title": c.title, "org_unit": unit.code })),
    )
    .await?;
    txn.commit().await?;
    Ok(campaign_view(c, unit.code, now))
}

/// Staff rewrite a campaign. The org unit stays; the quota never drops below the officers
/// already approved (409 `quota_below_approved`).
#[tracing::instrument(skip_all, fields(campaign = %id))]
pub async fn update(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
    req: CampaignRequest,
) -> ApiResult<CampaignView> {
    let spec = spec_of(&req)?;
    let txn = state.db.begin().await?;
    let (c, code) = campaign_for_staff(&txn, staff, id).await?;
    if req.org_unit.trim() != code {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "org_unit_immutable",
            "org_unit",
            "招募所属单位不能更改",
        ));
    }
    if status_of(&c) == CampaignStatus::Closed {
        return Err(ApiError::conflict("campaign_closed", "该招募已结束"));
    }
    let now = Utc::now();
    let changed = repo::update_campaign(
        &txn,
        id,
        spec.title(),
        spec.description(),
        spec.quota(),
        spec.requirements(),
        spec.apply_opens_at(),
        spec.apply_closes_at(),
        spec.term_months(),
        now,
    )
    .await?;
    if !changed {
        return Err(ApiError::field(
            StatusCode::CONFLICT,
            "quota_below_approved",
            "quota",
            "招募名额不能少于已通过的人数",
        )
        .with_extension("approved", serde_json::json!(c.approved)));
    }
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::OfficerCampaignUpdated,
        "officer_campaign",
        &id.to_string(),
        None,
    )
    .await?;
    let c = repo::find_campaign(&txn, id)
        .await?
        .ok_or_else(campaign_not_found)?;
    txn.commit().await?;
    Ok(campaign_view(c, code, now))
}

/// Staff publish a draft (publishing again changes nothing) or close a campaign (closing
/// again changes nothing). A closed campaign is not published again.
#[tracing::instrument(skip_all, fields(campaign = %id, to = to.as_str()))]
pub async fn set_status(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
    to: CampaignStatus,
) -> ApiResult<CampaignView> {
    let txn = state.db.begin().await?;
    let (c, code) = campaign_for_staff(&txn, staff, id).await?;
    let now = Utc::now();
    let (from, action): (&[&str], Action) = match to {
        CampaignStatus::Published => (&["draft"], Action::OfficerCampaignPublished),
        CampaignStatus::Closed => (&["draft", "published"], Action::OfficerCampaignClosed),
        CampaignStatus::Draft => return Err(ApiError::conflict("campaign_closed", "该招募已结束")),
    };
    let current = status_of(&c);
    if current != to {
        if current == CampaignStatus::Closed {
            return Err(ApiError::conflict("campaign_closed", "该招募已结束"));
        }
        if repo::set_campaign_status(&txn, id, from, to.as_str(), now).await? {
            audit::record(
                &txn,
                &Actor::from(staff),
                action,
                "officer_campaign",
                &id.to_string(),
                None,
            )
            .await?;
        }
    }
    let c = repo::find_campaign(&txn, id)
        .await?
        .ok_or_else(campaign_not_found)?;
    txn.commit().await?;
    Ok(campaign_view(c, code, now))
}

/// Residents (and anyone): published campaigns whose application window has not ended.
/// Staff: every campaign of their org unit (administrators: all).
pub async fn list(
    state: &AppState,
    staff: Option<&CurrentStaff>,
    page: PageRequest,
) -> ApiResult<Page<CampaignView>> {
    let db = &state.db;
    let now = Utc::now();
    let rows = match staff {
        Some(s) => {
            let unit = staff_unit(db, s).await?;
            repo::list_campaigns_of_unit(db, unit, page.after, page.limit + 1).await?
        }
        None => repo::list_open_campaigns(db, now, page.after, page.limit + 1).await?,
    };
    let codes = org_units::service::codes_by_id(db).await?;
    Ok(Page::from_rows(
        rows,
        page,
        |c| c.id,
        |c| {
            let code = codes.get(&c.org_unit_id).cloned().unwrap_or_default();
            campaign_view(c, code, now)
        },
    ))
}

/// One campaign with its places left. Drafts only for staff who may act on them.
pub async fn detail(
    state: &AppState,
    id: Uuid,
    staff: Option<&CurrentStaff>,
) -> ApiResult<CampaignView> {
    let c = repo::find_campaign(&state.db, id)
        .await?
        .ok_or_else(campaign_not_found)?;
    let code = unit_code(&state.db, c.org_unit_id).await?;
    if status_of(&c) == CampaignStatus::Draft && !staff.is_some_and(|s| s.may_act_in(&code)) {
        return Err(campaign_not_found());
    }
    Ok(campaign_view(c, code, Utc::now()))
}

fn open(key: &DataKey, sealed: &Option<String>) -> Option<String> {
    sealed.as_deref().and_then(|s| key.open(s).ok())
}

fn term_view(o: &officers::Model, now: DateTime<Utc>) -> TermView {
    TermView {
        officer_id: o.id,
        term_starts_at: o.term_starts_at,
        term_ends_at: o.term_ends_at,
        standing: OfficerStanding::of(o.ended_at, o.term_ends_at, now)
            .as_str()
            .to_owned(),
        ended_at: o.ended_at,
        end_reason: o.end_reason.clone(),
    }
}

async fn my_views(
    state: &AppState,
    db: &impl ConnectionTrait,
    rows: Vec<officer_applications::Model>,
) -> ApiResult<Vec<MyApplicationView>> {
    let ids: Vec<Uuid> = rows.iter().map(|a| a.id).collect();
    let terms: HashMap<Uuid, officers::Model> = repo::officers_of_applications(db, &ids)
        .await?
        .into_iter()
        .map(|o| (o.application_id, o))
        .collect();
    let mut campaign_ids: Vec<Uuid> = rows.iter().map(|a| a.campaign_id).collect();
    campaign_ids.sort_unstable();
    campaign_ids.dedup();
    let titles: HashMap<Uuid, String> = repo::find_campaigns(db, &campaign_ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c.title))
        .collect();
    let now = Utc::now();
    let key = &state.data_key;
    let mut out = Vec::with_capacity(rows.len());
    for a in rows {
        out.push(MyApplicationView {
            real_name: open(key, &a.real_name_enc),
            phone: open(key, &a.phone_enc),
            campaign_title: titles.get(&a.campaign_id).cloned().unwrap_or_default(),
            term: terms.get(&a.id).map(|o| term_view(o, now)),
            id: a.id,
            campaign_id: a.campaign_id,
            status: a.status,
            reason: a.reason,
            age_group: a.age_group,
            occupation: a.occupation,
            community: a.community,
            motivation: a.motivation,
            created_at: a.created_at,
            reviewed_at: a.reviewed_at,
        });
    }
    Ok(out)
}

/// A resident applies to serve: `pending` until reviewed.
#[tracing::instrument(skip_all, fields(campaign = %campaign_id))]
pub async fn apply(
    state: &AppState,
    resident_id: Uuid,
    campaign_id: Uuid,
    req: ApplyRequest,
) -> ApiResult<MyApplicationView> {
    rate_limit::check(state, Limit::Submission, &resident_id.to_string()).await?;
    consent::require(req.consent)?;
    let applicant = Applicant::parse(ApplicantInput {
        real_name: &req.real_name,
        phone: &req.phone,
        age_group: &req.age_group,
        occupation: req.occupation.as_deref(),
        community: req.community.as_deref(),
        motivation: req.motivation.as_deref(),
    })
    .map_err(invalid)?;
    let db = &state.db;
    let c = repo::find_campaign(db, campaign_id)
        .await?
        .filter(|c| status_of(c) != CampaignStatus::Draft)
        .ok_or_else(campaign_not_found)?;
    let now = Utc::now();
    if !accepting_applications(status_of(&c), now, c.apply_opens_at, c.apply_closes_at) {
        return Err(ApiError::conflict(
            "campaign_closed",
            format!(
                "该招募的报名时间为 {} 至 {}，现在不能报名",
                beijing(c.apply_opens_at),
                beijing(c.apply_closes_at)
            ),
        ));
    }
    let already = || ApiError::conflict("already_applied", "您已报名过这次招募");
    if repo::active_application(db, campaign_id, resident_id)
        .await?
        .is_some()
    {
        return Err(already());
    }
    // Free text goes to WeChat's check before the transaction: never hold a connection over
    // an HTTP call.
    let mut texts = Vec::new();
    for (field, value) in [
        ("occupation", &applicant.occupation),
        ("community", &applicant.community),
        ("motivation", &applicant.motivation),
    ] {
        if let Some(v) = value {
            texts.push(Text { field, content: v });
        }
    }
    if !texts.is_empty() {
        let resident = repo::find_resident(db, resident_id)
            .await?
            .ok_or_else(|| ApiError::unauthorized("token_revoked", "账号已注销，请重新登录"))?;
        content_check::check(state, &resident.openid, Scene::Profile, &texts).await?;
    }
    let key = &state.data_key;
    let row = officer_applications::ActiveModel {
        id: Set(Uuid::now_v7()),
        campaign_id: Set(campaign_id),
        resident_id: Set(resident_id),
        active_resident_id: Set(Some(resident_id)),
        real_name_enc: Set(Some(key.seal(&applicant.real_name))),
        phone_enc: Set(Some(key.seal(&applicant.phone))),
        phone_hash: Set(Some(key.lookup_hash(&applicant.phone))),
        age_group: Set(Some(applicant.age_group.clone())),
        occupation: Set(applicant.occupation.clone()),
        community: Set(applicant.community.clone()),
        motivation: Set(applicant.motivation.clone()),
        status: Set(A::Pending.as_str().to_owned()),
        reason: Set(None),
        reviewed_by: Set(None),
        reviewed_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let txn = db.begin().await?;
    let a = match repo::insert_application(&txn, row).await {
        Ok(a) => a,
        Err(e) if is_unique_violation(&e) => return Err(already()),
        Err(e) => return Err(e.into()),
    };
    consent::record(
        &txn,
        resident_id,
        CONSENT_PURPOSE,
        &state.settings.privacy_notice_version,
    )
    .await?;
    let mut views = my_views(state, &txn, vec![a]).await?;
    txn.commit().await?;
    views.pop().ok_or_else(application_not_found)
}

/// A resident withdraws their pending application.
#[tracing::instrument(skip_all, fields(campaign = %campaign_id))]
pub async fn withdraw(state: &AppState, resident_id: Uuid, campaign_id: Uuid) -> ApiResult<()> {
    let txn = state.db.begin().await?;
    let a = repo::active_application(&txn, campaign_id, resident_id)
        .await?
        .ok_or_else(application_not_found)?;
    if a.status != A::Pending.as_str()
        || !repo::set_application_status(
            &txn,
            a.id,
            A::Pending,
            A::Withdrawn,
            None,
            None,
            Utc::now(),
        )
        .await?
    {
        return Err(not_pending());
    }
    txn.commit().await?;
    Ok(())
}

/// The resident's applications, newest first.
pub async fn my_applications(
    state: &AppState,
    resident_id: Uuid,
    page: PageRequest,
) -> ApiResult<Page<MyApplicationView>> {
    let rows =
        repo::applications_of_resident(&state.db, resident_id, page.after, Some(page.limit + 1))
            .await?;
    let views = my_views(state, &state.db, rows).await?;
    Ok(Page::from_rows(views, page, |v| v.id, |v| v))
}

fn application_view(a: officer_applications::Model, key: &DataKey) -> ApplicationView {
    ApplicationView {
        real_name: open(key, &a.real_name_enc).as_deref().map(mask::name),
        phone: open(key, &a.phone_enc).as_deref().map(mask::phone),
        id: a.id,
        campaign_id: a.campaign_id,
        status: a.status,
        age_group: a.age_group,
        occupation: a.occupation,
        community: a.community,
        motivation: a.motivation,
        reason: a.reason,
        created_at: a.created_at,
        reviewed_at: a.reviewed_at,
    }
}

/// A campaign's applications for its reviewers, masked.
pub async fn applications(
    state: &AppState,
    staff: &CurrentStaff,
    campaign_id: Uuid,
    status: Option<&str>,
    page: PageRequest,
) -> ApiResult<Page<ApplicationView>> {
    let status = match status.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(A::parse(s).ok_or_else(|| {
            ApiError::field(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "status",
                "状态应为 pending、approved、rejected 或 withdrawn",
            )
        })?),
    };
    let db = &state.db;
    campaign_for_staff(db, staff, campaign_id).await?;
    let rows =
        repo::applications_of_campaign(db, campaign_id, status, page.after, page.limit + 1).await?;
    Ok(Page::from_rows(
        rows,
        page,
        |a| a.id,
        |a| application_view(a, &state.data_key),
    ))
}

/// Shows an applicant's name or phone in full to a reviewer; who, why and when go to the
/// audit log first.
pub async fn reveal(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
    req: &RevealApplicantRequest,
) -> ApiResult<RevealedApplicantValue> {
    let db = &state.db;
    let a = repo::find_application(db, id)
        .await?
        .ok_or_else(application_not_found)?;
    campaign_for_staff(db, staff, a.campaign_id).await?;
    let sealed = match req.field {
        ApplicantField::RealName => a.real_name_enc,
        ApplicantField::Phone => a.phone_enc,
    };
    let value = open(&state.data_key, &sealed)
        .ok_or_else(|| ApiError::not_found("personal_data_absent", "该报名者没有留下这项信息"))?;
    audit::record(
        db,
        &Actor::from(staff),
        Action::PersonalDataRevealed,
        "officer_application",
        &id.to_string(),
        Some(serde_json::json!({ "field": req.field, "reason": req.reason.trim() })),
    )
    .await?;
    Ok(RevealedApplicantValue {
        field: req.field,
        value,
    })
}

fn decision_notice(c: &officer_campaigns::Model, approved: bool, body: String) -> Notice {
    let result = if approved { "已通过" } else { "未通过" };
    Notice {
        kind: NoticeKind::ApplicationResult,
        title: format!("特邀体验员报名{result}"),
        body,
        page: Some("pages/officers/applications".to_owned()),
        data: [
            ("thing1".to_owned(), c.title.clone()),
            ("phrase2".to_owned(), result.to_owned()),
        ]
        .into_iter()
        .collect(),
    }
}

/// Staff approve a pending application: it takes one of the campaign's places (409
/// `quota_reached` when none is left) and the applicant becomes an officer for the term.
#[tracing::instrument(skip_all, fields(application = %id))]
pub async fn approve(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
) -> ApiResult<ApplicationView> {
    let txn = state.db.begin().await?;
    let a = repo::find_application(&txn, id)
        .await?
        .ok_or_else(application_not_found)?;
    let (c, _) = campaign_for_staff(&txn, staff, a.campaign_id).await?;
    if a.status != A::Pending.as_str() {
        return Err(not_pending());
    }
    let now = Utc::now();
    // The place first: the campaign row's lock queues concurrent approvers, and the one
    // that finds no place left answers before touching its application.
    if !repo::take_place(&txn, c.id).await? {
        return Err(ApiError::conflict(
            "quota_reached",
            format!("本次招募的 {} 个名额已满", c.quota),
        ));
    }
    // Dropping the transaction on this error gives the place back.
    if !repo::set_application_status(&txn, id, A::Pending, A::Approved, None, Some(staff.id), now)
        .await?
    {
        return Err(not_pending());
    }
    let ends = term_end(now, c.term_months);
    repo::insert_officer(
        &txn,
        officers::ActiveModel {
            id: Set(Uuid::now_v7()),
            campaign_id: Set(c.id),
            application_id: Set(id),
            resident_id: Set(a.resident_id),
            term_starts_at: Set(now),
            term_ends_at: Set(ends),
            ended_at: Set(None),
            end_reason: Set(None),
            ended_by: Set(None),
        },
    )
    .await?;
    notifications::enqueue(
        &txn,
        a.resident_id,
        decision_notice(
            &c,
            true,
            format!(
                "恭喜！您报名的“{}”已通过审核，成为特邀体验员，任期至 {}。",
                c.title,
                beijing(ends)
            ),
        ),
    )
    .await?;
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::OfficerApplicationApproved,
        "officer_application",
        &id.to_string(),
        Some(serde_json::json!({ "campaign": c.id })),
    )
    .await?;
    let a = repo::find_application(&txn, id)
        .await?
        .ok_or_else(application_not_found)?;
    txn.commit().await?;
    Ok(application_view(a, &state.data_key))
}

/// Staff reject a pending application, with a reason the applicant sees.
#[tracing::instrument(skip_all, fields(application = %id))]
pub async fn reject(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
    reason: &str,
) -> ApiResult<ApplicationView> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(invalid(vec![("reason".into(), "请填写不通过的理由")]));
    }
    let txn = state.db.begin().await?;
    let a = repo::find_application(&txn, id)
        .await?
        .ok_or_else(application_not_found)?;
    let (c, _) = campaign_for_staff(&txn, staff, a.campaign_id).await?;
    let now = Utc::now();
    if a.status != A::Pending.as_str()
        || !repo::set_application_status(
            &txn,
            id,
            A::Pending,
            A::Rejected,
            Some(reason),
            Some(staff.id),
            now,
        )
        .await?
    {
        return Err(not_pending());
    }
    notifications::enqueue(
        &txn,
        a.resident_id,
        decision_notice(
            &c,
            false,
            format!(
                "感谢您报名“{}”。很遗憾，本次未能通过审核。原因：{reason}",
                c.title
            ),
        ),
    )
    .await?;
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::OfficerApplicationRejected,
        "officer_application",
        &id.to_string(),
        Some(serde_json::json!({ "campaign": c.id, "reason": reason })),
    )
    .await?;
    let a = repo::find_application(&txn, id)
        .await?
        .ok_or_else(application_not_found)?;
    txn.commit().await?;
    Ok(application_view(a, &state.data_key))
}

async fn officer_views(
    state: &AppState,
    db: &impl ConnectionTrait,
    rows: Vec<officers::Model>,
) -> ApiResult<Vec<OfficerView>> {
    let ids: Vec<Uuid> = rows.iter().map(|o| o.application_id).collect();
    let apps: HashMap<Uuid, officer_applications::Model> = repo::find_applications(db, &ids)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let key = &state.data_key;
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .map(|o| {
            let a = apps.get(&o.application_id);
            OfficerView {
                real_name: a
                    .and_then(|a| open(key, &a.real_name_enc))
                    .as_deref()
                    .map(mask::name),
                phone: a
                    .and_then(|a| open(key, &a.phone_enc))
                    .as_deref()
                    .map(mask::phone),
                community: a.and_then(|a| a.community.clone()),
                standing: OfficerStanding::of(o.ended_at, o.term_ends_at, now)
                    .as_str()
                    .to_owned(),
                id: o.id,
                application_id: o.application_id,
                term_starts_at: o.term_starts_at,
                term_ends_at: o.term_ends_at,
                ended_at: o.ended_at,
                end_reason: o.end_reason,
            }
        })
        .collect())
}

/// A campaign's officers, masked.
pub async fn roster(
    state: &AppState,
    staff: &CurrentStaff,
    campaign_id: Uuid,
    page: PageRequest,
) -> ApiResult<Page<OfficerView>> {
    let db = &state.db;
    campaign_for_staff(db, staff, campaign_id).await?;
    let rows = repo::officers_of_campaign(db, campaign_id, page.after, page.limit + 1).await?;
    let views = officer_views(state, db, rows).await?;
    Ok(Page::from_rows(views, page, |v| v.id, |v| v))
}

/// Staff end an officer's term early, with a reason the officer is told.
#[tracing::instrument(skip_all, fields(officer = %id))]
pub async fn end_officer(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
    reason: &str,
) -> ApiResult<OfficerView> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(invalid(vec![("reason".into(), "请填写提前结束任期的理由")]));
    }
    let txn = state.db.begin().await?;
    let o = repo::find_officer(&txn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("officer_not_found", "没有这位体验员"))?;
    let (c, _) = campaign_for_staff(&txn, staff, o.campaign_id).await?;
    let now = Utc::now();
    if !repo::end_officer(&txn, id, reason, Some(staff.id), now).await? {
        return Err(ApiError::conflict(
            "officer_not_serving",
            "该体验员的任期已结束",
        ));
    }
    notifications::enqueue(
        &txn,
        o.resident_id,
        Notice {
            kind: NoticeKind::OfficerTermEnded,
            title: "特邀体验员任期结束".to_owned(),
            body: format!(
                "您在“{}”中的特邀体验员任期已提前结束。原因：{reason}。感谢您的参与！",
                c.title
            ),
            page: Some("pages/officers/applications".to_owned()),
            data: [
                ("thing1".to_owned(), c.title.clone()),
                ("thing2".to_owned(), reason.chars().take(20).collect()),
            ]
            .into_iter()
            .collect(),
        },
    )
    .await?;
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::OfficerEnded,
        "officer",
        &id.to_string(),
        Some(serde_json::json!({ "campaign": c.id, "reason": reason })),
    )
    .await?;
    let o = repo::find_officer(&txn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("officer_not_found", "没有这位体验员"))?;
    let mut views = officer_views(state, &txn, vec![o]).await?;
    txn.commit().await?;
    views
        .pop()
        .ok_or_else(|| ApiError::not_found("officer_not_found", "没有这位体验员"))
}

fn activity_view(a: officer_activities::Model) -> ActivityView {
    ActivityView {
        id: a.id,
        campaign_id: a.campaign_id,
        title: a.title,
        service_to_experience: a.service_to_experience,
        location: a.location,
        starts_at: a.starts_at,
        ends_at: a.ends_at,
        capacity: a.capacity,
        places_left: (a.capacity - a.taken).max(0),
    }
}

/// Staff create an experience activity for a campaign's officers.
#[tracing::instrument(skip_all)]
pub async fn create_activity(
    state: &AppState,
    staff: &CurrentStaff,
    req: ActivityRequest,
) -> ApiResult<ActivityView> {
    let spec = ActivitySpec::parse(ActivityInput {
        title: &req.title,
        service_to_experience: &req.service_to_experience,
        location: &req.location,
        starts_at: req.starts_at,
        ends_at: req.ends_at,
        capacity: req.capacity,
    })
    .map_err(invalid)?;
    let txn = state.db.begin().await?;
    let (c, _) = match campaign_for_staff(&txn, staff, req.campaign_id).await {
        Err(e) if e.code() == "campaign_not_found" => {
            return Err(ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "campaign_unknown",
                "campaign_id",
                "没有这个体验员招募",
            ));
        }
        other => other?,
    };
    let a = repo::insert_activity(
        &txn,
        officer_activities::ActiveModel {
            id: Set(Uuid::now_v7()),
            campaign_id: Set(c.id),
            title: Set(spec.title),
            service_to_experience: Set(spec.service_to_experience),
            location: Set(spec.location),
            starts_at: Set(spec.starts_at),
            ends_at: Set(spec.ends_at),
            capacity: Set(spec.capacity),
            taken: Set(0),
            created_by: Set(staff.id),
            created_at: Set(Utc::now()),
        },
    )
    .await?;
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::OfficerActivityCreated,
        "officer_activity",
        &a.id.to_string(),
        Some(serde_json::json!({ "campaign": c.id, "title": a.title })),
    )
    .await?;
    txn.commit().await?;
    Ok(activity_view(a))
}

/// A campaign's activities with places left. Public, except for drafts.
pub async fn activities(
    state: &AppState,
    campaign_id: Uuid,
    staff: Option<&CurrentStaff>,
    page: PageRequest,
) -> ApiResult<Page<ActivityView>> {
    detail(state, campaign_id, staff).await?;
    let rows =
        repo::activities_of_campaign(&state.db, campaign_id, page.after, page.limit + 1).await?;
    Ok(Page::from_rows(rows, page, |a| a.id, activity_view))
}

/// The activity and the caller's serving term in its campaign.
async fn activity_and_term(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
    activity_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<(officer_activities::Model, officers::Model)> {
    let a = repo::find_activity(db, activity_id)
        .await?
        .ok_or_else(activity_not_found)?;
    let o = repo::serving_officer(db, a.campaign_id, resident_id, now)
        .await?
        .ok_or_else(not_serving)?;
    Ok((a, o))
}

/// A serving officer of the activity's campaign takes a place before it starts.
#[tracing::instrument(skip_all, fields(activity = %activity_id))]
pub async fn sign_up(
    state: &AppState,
    resident_id: Uuid,
    activity_id: Uuid,
) -> ApiResult<SignupView> {
    let now = Utc::now();
    let (a, o) = activity_and_term(&state.db, resident_id, activity_id, now).await?;
    if now >= a.starts_at {
        return Err(ApiError::conflict(
            "activity_started",
            "活动已开始，不能再报名",
        ));
    }
    let already = || ApiError::conflict("already_signed_up", "您已报名这次活动");
    let txn = state.db.begin().await?;
    if repo::find_signup(&txn, a.id, o.id).await?.is_some() {
        return Err(already());
    }
    if !repo::take_activity_place(&txn, a.id).await? {
        return Err(ApiError::conflict("activity_full", "这次活动的名额已满"));
    }
    let row = officer_activity_signups::ActiveModel {
        id: Set(Uuid::now_v7()),
        activity_id: Set(a.id),
        officer_id: Set(o.id),
        resident_id: Set(resident_id),
        created_at: Set(now),
    };
    let s = match repo::insert_signup(&txn, row).await {
        Ok(s) => s,
        Err(e) if is_unique_violation(&e) => return Err(already()),
        Err(e) => return Err(e.into()),
    };
    txn.commit().await?;
    Ok(SignupView {
        id: s.id,
        activity_id: s.activity_id,
        officer_id: s.officer_id,
        created_at: s.created_at,
    })
}

fn findings_of(f: &officer_feedback::Model) -> Vec<String> {
    serde_json::from_str(&f.findings).unwrap_or_default()
}

fn reply_view(r: &officer_feedback_replies::Model) -> ReplyView {
    ReplyView {
        id: r.id,
        status: r.status.clone(),
        response: r.response.clone(),
        reason: r.reason.clone(),
        created_at: r.created_at,
    }
}

async fn feedback_views(
    db: &impl ConnectionTrait,
    rows: Vec<officer_feedback::Model>,
) -> ApiResult<Vec<FeedbackView>> {
    let ids: Vec<Uuid> = rows.iter().map(|f| f.id).collect();
    let mut activity_ids: Vec<Uuid> = rows.iter().map(|f| f.activity_id).collect();
    activity_ids.sort_unstable();
    activity_ids.dedup();
    let titles: HashMap<Uuid, String> = repo::find_activities(db, &activity_ids)
        .await?
        .into_iter()
        .map(|a| (a.id, a.title))
        .collect();
    let mut replies: HashMap<Uuid, Vec<ReplyView>> = HashMap::new();
    for r in repo::replies_of(db, &ids).await? {
        replies
            .entry(r.feedback_id)
            .or_default()
            .push(reply_view(&r));
    }
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .map(|f| FeedbackView {
            findings: findings_of(&f),
            activity_title: titles.get(&f.activity_id).cloned().unwrap_or_default(),
            overdue: is_overdue(f.created_at, f.first_replied_at.is_some(), now),
            replies: replies.remove(&f.id).unwrap_or_default(),
            id: f.id,
            activity_id: f.activity_id,
            campaign_id: f.campaign_id,
            rating: f.rating,
            suggestions: f.suggestions,
            reply_status: f.reply_status,
            created_at: f.created_at,
        })
        .collect())
}

/// A serving officer who signed up gives feedback once the activity has started.
#[tracing::instrument(skip_all, fields(activity = %activity_id))]
pub async fn submit_feedback(
    state: &AppState,
    resident_id: Uuid,
    activity_id: Uuid,
    req: FeedbackRequest,
) -> ApiResult<FeedbackView> {
    rate_limit::check(state, Limit::Submission, &resident_id.to_string()).await?;
    let db = &state.db;
    let now = Utc::now();
    let (a, o) = activity_and_term(db, resident_id, activity_id, now).await?;
    if repo::find_signup(db, a.id, o.id).await?.is_none() {
        return Err(ApiError::forbidden(
            "not_signed_up",
            "只有报名参加了这次活动的体验员才能反馈",
        ));
    }
    if now < a.starts_at {
        return Err(ApiError::conflict(
            "activity_not_started",
            "活动开始后才能提交体验反馈",
        ));
    }
    let feedback = Feedback::parse(req.rating, &req.findings, &req.suggestions).map_err(invalid)?;
    let exists = || ApiError::conflict("feedback_exists", "您已提交过这次活动的反馈");
    if repo::find_feedback_of(db, a.id, o.id).await?.is_some() {
        return Err(exists());
    }
    let fields: Vec<String> = (0..feedback.findings.len())
        .map(|i| format!("findings[{i}]"))
        .collect();
    let mut texts: Vec<Text<'_>> = feedback
        .findings
        .iter()
        .zip(&fields)
        .map(|(content, field)| Text { field, content })
        .collect();
    if !feedback.suggestions.is_empty() {
        texts.push(Text {
            field: "suggestions",
            content: &feedback.suggestions,
        });
    }
    let resident = repo::find_resident(db, resident_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("token_revoked", "账号已注销，请重新登录"))?;
    let verdict = content_check::check(state, &resident.openid, Scene::Forum, &texts).await?;
    let row = officer_feedback::ActiveModel {
        id: Set(Uuid::now_v7()),
        activity_id: Set(a.id),
        campaign_id: Set(a.campaign_id),
        officer_id: Set(o.id),
        resident_id: Set(resident_id),
        rating: Set(feedback.rating),
        findings: Set(serde_json::to_string(&feedback.findings).map_err(ApiError::internal)?),
        suggestions: Set(feedback.suggestions.clone()),
        needs_review: Set(verdict.needs_review()),
        reply_status: Set(None),
        first_replied_at: Set(None),
        last_replied_at: Set(None),
        created_at: Set(now),
    };
    let f = match repo::insert_feedback(db, row).await {
        Ok(f) => f,
        Err(e) if is_unique_violation(&e) => return Err(exists()),
        Err(e) => return Err(e.into()),
    };
    let mut views = feedback_views(db, vec![f]).await?;
    views
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("feedback just written is gone")))
}

fn reply_status(s: ReplyStatusDto) -> ReplyStatus {
    match s {
        ReplyStatusDto::Accepted => ReplyStatus::Accepted,
        ReplyStatusDto::InProgress => ReplyStatus::InProgress,
        ReplyStatusDto::Resolved => ReplyStatus::Resolved,
        ReplyStatusDto::NotAdopted => ReplyStatus::NotAdopted,
    }
}

/// Staff of the campaign's org unit answer a piece of feedback; the officer is told.
#[tracing::instrument(skip_all, fields(feedback = %id))]
pub async fn reply(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
    req: ReplyRequest,
) -> ApiResult<FeedbackView> {
    let reply = Reply::parse(
        reply_status(req.status),
        &req.response,
        req.reason.as_deref(),
    )
    .map_err(invalid)?;
    let txn = state.db.begin().await?;
    let f = repo::find_feedback(&txn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("feedback_not_found", "没有这条反馈"))?;
    campaign_for_staff(&txn, staff, f.campaign_id).await?;
    let now = Utc::now();
    if !repo::mark_replied(&txn, id, reply.status, now).await? {
        return Err(ApiError::conflict(
            "feedback_closed",
            "这条反馈已办结，不能再答复",
        ));
    }
    repo::insert_reply(
        &txn,
        officer_feedback_replies::ActiveModel {
            id: Set(Uuid::now_v7()),
            feedback_id: Set(id),
            status: Set(reply.status.as_str().to_owned()),
            response: Set(reply.response.clone()),
            reason: Set(reply.reason.clone()),
            staff_id: Set(staff.id),
            created_at: Set(now),
        },
    )
    .await?;
    let title = repo::find_activity(&txn, f.activity_id)
        .await?
        .map(|a| a.title)
        .unwrap_or_default();
    let mut body = format!(
        "您在“{title}”中的体验反馈有了新答复（{}）：{}",
        reply.status.label(),
        reply.response
    );
    if let Some(r) = &reply.reason {
        body.push_str(&format!("。理由：{r}"));
    }
    notifications::enqueue(
        &txn,
        f.resident_id,
        Notice {
            kind: NoticeKind::FeedbackReply,
            title: "体验反馈有了答复".to_owned(),
            body,
            page: Some(format!("pages/officers/feedback?id={id}")),
            data: [
                ("thing1".to_owned(), title.clone()),
                ("phrase2".to_owned(), reply.status.label().to_owned()),
            ]
            .into_iter()
            .collect(),
        },
    )
    .await?;
    audit::record(
        &txn,
        &Actor::from(staff),
        Action::OfficerFeedbackReplied,
        "officer_feedback",
        &id.to_string(),
        Some(serde_json::json!({ "status": reply.status.as_str() })),
    )
    .await?;
    let f = repo::find_feedback(&txn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("feedback_not_found", "没有这条反馈"))?;
    let mut views = feedback_views(&txn, vec![f]).await?;
    txn.commit().await?;
    views
        .pop()
        .ok_or_else(|| ApiError::not_found("feedback_not_found", "没有这条反馈"))
}

/// The officer's own feedback with its answers, newest first.
pub async fn my_feedback(
    state: &AppState,
    resident_id: Uuid,
    page: PageRequest,
) -> ApiResult<Page<FeedbackView>> {
    let rows = repo::feedback_of_resident(&state.db, resident_id, page.after, Some(page.limit + 1))
        .await?;
    let views = feedback_views(&state.db, rows).await?;
    Ok(Page::from_rows(views, page, |v| v.id, |v| v))
}

/// Feedback staff may answer, oldest first; with `overdue` only that unanswered for more
/// than 15 days.
pub async fn staff_feedback(
    state: &AppState,
    staff: &CurrentStaff,
    overdue: bool,
    campaign_id: Option<Uuid>,
    page: PageRequest,
) -> ApiResult<Page<FeedbackView>> {
    let db = &state.db;
    if let Some(c) = campaign_id {
        campaign_for_staff(db, staff, c).await?;
    }
    let unit = staff_unit(db, staff).await?;
    let before = overdue.then(|| overdue_before(Utc::now()));
    let rows =
        repo::feedback_for_staff(db, unit, campaign_id, before, page.after, page.limit + 1).await?;
    let views = feedback_views(db, rows).await?;
    Ok(Page::from_rows(views, page, |v| v.id, |v| v))
}

/// A campaign's figures.
pub async fn report(
    state: &AppState,
    staff: &CurrentStaff,
    campaign_id: Uuid,
) -> ApiResult<CampaignReport> {
    let db = &state.db;
    campaign_for_staff(db, staff, campaign_id).await?;
    let now = Utc::now();
    let count = |s: A| repo::count_applications(db, campaign_id, s);
    let (pending, approved, rejected, withdrawn) = (
        count(A::Pending).await?,
        count(A::Approved).await?,
        count(A::Rejected).await?,
        count(A::Withdrawn).await?,
    );
    let feedback = repo::feedback_of_campaign(db, campaign_id).await?;
    let total = feedback.len() as u64;
    let answered = feedback
        .iter()
        .filter(|f| f.first_replied_at.is_some())
        .count() as u64;
    let adopted = feedback
        .iter()
        .filter(|f| {
            f.reply_status
                .as_deref()
                .and_then(ReplyStatus::parse)
                .is_some_and(ReplyStatus::is_adopted)
        })
        .count() as u64;
    Ok(CampaignReport {
        campaign_id,
        applications: ApplicationCounts {
            pending,
            approved,
            rejected,
            withdrawn,
            total: pending + approved + rejected + withdrawn,
        },
        officers_serving: repo::count_serving(db, campaign_id, now).await?,
        activities_held: repo::count_activities_started(db, campaign_id, now).await?,
        feedback_count: total,
        share_answered: share(answered, total),
        share_adopted: share(adopted, total),
    })
}

/// The resident's applications and feedback for `GET /api/v1/me/data-export`.
pub async fn export_of(
    state: &AppState,
    resident_id: Uuid,
) -> ApiResult<(Vec<MyApplicationView>, Vec<FeedbackView>)> {
    let db = &state.db;
    let apps = repo::applications_of_resident(db, resident_id, None, None).await?;
    let apps = my_views(state, db, apps).await?;
    let feedback = repo::feedback_of_resident(db, resident_id, None, None).await?;
    Ok((apps, feedback_views(db, feedback).await?))
}

/// Part of deleting an account, in its transaction: pending applications are withdrawn,
/// every personal field the resident gave is erased, serving terms end and places in
/// activities still to come are given back. Feedback stays: it is about a public service
/// and staff still answer it.
pub async fn erase_resident(db: &impl ConnectionTrait, resident_id: Uuid) -> Result<(), DbErr> {
    let now = Utc::now();
    repo::erase_applications(db, resident_id, now).await?;
    for o in repo::serving_officers_of_resident(db, resident_id, now).await? {
        repo::end_officer(db, o.id, "账号已注销", None, now).await?;
    }
    for s in repo::future_signups_of_resident(db, resident_id, now).await? {
        if repo::delete_signup(db, s.id).await? {
            repo::free_activity_place(db, s.activity_id).await?;
        }
    }
    Ok(())
}
