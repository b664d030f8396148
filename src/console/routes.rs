//! Console handlers: read the session, call the features' services, render a page. The rules
//! (org-unit scoping, publishing checks, check-in) stay in the services.

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use maud::Markup;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    session::{self, ConsoleError, ConsoleResult, ConsoleStaff},
    views::{self, Chart, DeskOutcome, MeetingFormValues},
};
use crate::{
    auth::service as auth_service,
    deliberation::dto::{
        MeetingRequest, OutcomeDetail, OutcomeRequest, OutcomeStatusDto, ProgressRequest,
    },
    deliberation::outcomes as outcomes_service,
    deliberation::service as deliberation,
    error::{ApiError, FieldError},
    open_days::service as open_days_service,
    pagination::PageRequest,
    rate_limit::LoginRateLimit,
    state::AppState,
    surveys::{self, ExportFormat, SurveyBody, SurveyStatus, service as survey_service},
};

fn page(markup: Markup) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

pub(super) fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

const LIST_LIMIT: u64 = 100;

pub(super) fn first_page() -> PageRequest {
    PageRequest {
        limit: LIST_LIMIT,
        after: None,
    }
}

pub async fn login_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    // Already signed in: straight to the home page.
    if let Some(token) = session::cookie_value(&req, session::COOKIE)
        && crate::auth::identity_from_token(&state, &token)
            .await
            .is_ok()
    {
        return see_other("/console");
    }
    page(views::login_page(None, ""))
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

pub async fn login(
    _limit: LoginRateLimit,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let form = form.into_inner();
    match auth_service::staff_login(&state, &form.username, &form.password).await {
        Ok(tokens) => HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/console"))
            .insert_header((
                header::SET_COOKIE,
                session::session_cookie(
                    &tokens.access_token,
                    tokens.expires_in,
                    state.settings.is_production(),
                ),
            ))
            .finish(),
        Err(e) => {
            let status = e.status();
            if status.is_server_error() {
                return actix_web::ResponseError::error_response(&ConsoleError(e));
            }
            HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .body(views::login_page(Some(e.detail()), form.username.trim()).into_string())
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: Option<String>,
}

pub async fn logout(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    form: web::Form<CsrfForm>,
) -> ConsoleResult<HttpResponse> {
    who.check_csrf(form.csrf.as_deref())?;
    auth_service::revoke_access_token(&state, &who.identity).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console/login"))
        .insert_header((header::SET_COOKIE, session::clear_cookie()))
        .finish())
}

/// Meetings still ahead that this staff member runs (all of them for administrators).
async fn upcoming_meetings(
    state: &AppState,
    who: &ConsoleStaff,
) -> ConsoleResult<Vec<crate::deliberation::dto::MeetingView>> {
    let all = deliberation::list_upcoming(state, None, first_page()).await?;
    Ok(all
        .items
        .into_iter()
        .filter(|m| who.staff.may_act_in(&m.org_unit))
        .collect())
}

pub async fn home(who: ConsoleStaff, state: web::Data<AppState>) -> ConsoleResult<HttpResponse> {
    let surveys = survey_service::list_for_staff(&state, &who.staff, first_page()).await?;
    let open: Vec<_> = surveys
        .items
        .into_iter()
        .filter(|s| s.status == SurveyStatus::Published)
        .collect();
    let meetings = upcoming_meetings(&state, &who).await?;
    let overdue = outcomes_service::feed(
        &state,
        outcomes_service::FeedQuery {
            subdistrict: (!who.staff.is_admin).then(|| who.staff.org_unit.clone()),
            status: None,
            overdue: true,
            page: first_page(),
        },
    )
    .await?;
    let open_days: Vec<_> = open_days_service::list(&state.db, first_page())
        .await?
        .items
        .into_iter()
        .filter(|d| who.staff.may_act_in(&d.org_unit))
        .collect();
    let officers = super::officers::home_sections(&state, &who.staff).await?;
    Ok(page(views::home(
        &who.staff,
        &who.csrf,
        &open,
        &meetings,
        &overdue.items,
        &open_days,
        officers,
    )))
}

pub async fn surveys_list(
    who: ConsoleStaff,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let surveys = survey_service::list_for_staff(&state, &who.staff, first_page()).await?;
    Ok(page(views::surveys_list(
        &who.staff,
        &who.csrf,
        &surveys.items,
    )))
}

pub async fn new_survey(who: ConsoleStaff) -> HttpResponse {
    page(views::editor(
        &who.staff,
        &who.csrf,
        None,
        &who.staff.org_unit,
    ))
}

pub async fn edit_survey(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ConsoleResult<HttpResponse> {
    let view = survey_service::get_for_staff(&state, &who.staff, id.into_inner()).await?;
    Ok(page(views::editor(
        &who.staff,
        &who.csrf,
        Some(&view),
        &who.staff.org_unit,
    )))
}

/// The editor's save: JSON from the editor script, CSRF token in a header. Errors are the
/// API's problem+json so the script can show each field's message.
pub async fn create_survey(
    who: ConsoleStaff,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: crate::extract::ApiJson<SurveyBody>,
) -> Result<HttpResponse, ApiError> {
    who.check_csrf_header(&req).map_err(|e| e.0)?;
    let view = survey_service::create(&state, &who.staff, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

pub async fn save_draft(
    who: ConsoleStaff,
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: crate::extract::ApiJson<SurveyBody>,
) -> Result<HttpResponse, ApiError> {
    who.check_csrf_header(&req).map_err(|e| e.0)?;
    let view =
        survey_service::update(&state, &who.staff, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

pub async fn publish_survey(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    form: web::Form<CsrfForm>,
) -> ConsoleResult<HttpResponse> {
    who.check_csrf(form.csrf.as_deref())?;
    let id = id.into_inner();
    survey_service::publish(&state, &who.staff, id).await?;
    Ok(see_other(&format!("/console/surveys/{id}")))
}

pub async fn close_survey(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    form: web::Form<CsrfForm>,
) -> ConsoleResult<HttpResponse> {
    who.check_csrf(form.csrf.as_deref())?;
    let id = id.into_inner();
    survey_service::close(&state, &who.staff, id).await?;
    Ok(see_other(&format!("/console/surveys/{id}")))
}

#[derive(Deserialize)]
pub struct ResultsParams {
    group_by: Option<String>,
}

pub async fn survey_results(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<ResultsParams>,
) -> ConsoleResult<HttpResponse> {
    let id = id.into_inner();
    let group_by = query.group_by.as_deref().filter(|g| !g.is_empty());
    let view = survey_service::get_for_staff(&state, &who.staff, id).await?;
    let results = survey_service::results(&state, &who.staff, id, group_by).await?;
    let charts = results
        .questions
        .iter()
        .map(|q| {
            let svg = surveys::charts::question_svg(q)
                .transpose()
                .map_err(|e| ApiError::internal(anyhow::anyhow!("chart drawing failed: {e}")))?;
            Ok(Chart {
                question_id: q.question_id.clone(),
                svg,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(page(views::results(
        &who.staff, &who.csrf, &view, &results, &charts, group_by,
    )))
}

#[derive(Deserialize)]
pub struct ExportParams {
    format: ExportFormat,
}

pub async fn export(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<ExportParams>,
) -> ConsoleResult<HttpResponse> {
    Ok(surveys::routes::export_http(&state, &who.staff, id.into_inner(), query.format).await?)
}

pub async fn meetings(
    who: ConsoleStaff,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let list = upcoming_meetings(&state, &who).await?;
    Ok(page(views::meetings(&who.staff, &who.csrf, &list)))
}

async fn meeting_title(state: &AppState, who: &ConsoleStaff, id: Uuid) -> ConsoleResult<String> {
    let detail = deliberation::detail(state, Some(&who.identity), id).await?;
    who.staff
        .ensure_org_unit(&detail.meeting.org_unit)
        .map_err(ConsoleError)?;
    Ok(detail.meeting.title)
}

pub async fn desk(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ConsoleResult<HttpResponse> {
    let id = id.into_inner();
    let title = meeting_title(&state, &who, id).await?;
    let below = meeting_signups(&state, &who, id).await?;
    Ok(page(views::desk(
        &who.staff,
        &who.csrf,
        &format!("/console/deliberations/{id}/desk"),
        &title,
        None,
        below,
    )))
}

async fn meeting_signups(state: &AppState, who: &ConsoleStaff, id: Uuid) -> ConsoleResult<Markup> {
    let list = deliberation::staff_signups(state, &who.staff, id, None, first_page()).await?;
    Ok(maud::html! {
        (views::signups(&list.items))
        (views::outcome_form(id, &who.csrf))
        (views::meeting_cancel(id, &who.csrf))
    })
}

#[derive(Deserialize)]
pub struct DeskForm {
    csrf: Option<String>,
    code: String,
}

/// Answers the desk page after a code: a refusal (unknown, used, another event's code) is
/// shown on the page itself, with the service's status, so staff can take the next one.
fn desk_answer<T>(
    result: Result<T, ApiError>,
    name: impl FnOnce(T) -> String,
) -> ConsoleResult<(actix_web::http::StatusCode, DeskOutcome)> {
    match result {
        Ok(v) => Ok((
            actix_web::http::StatusCode::OK,
            DeskOutcome::CheckedIn { name: name(v) },
        )),
        Err(e) if e.status().is_client_error() => Ok((
            e.status(),
            DeskOutcome::Refused {
                detail: e.detail().to_owned(),
                code: e.code().to_owned(),
            },
        )),
        Err(e) => Err(e.into()),
    }
}

fn desk_page(status: actix_web::http::StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

pub async fn desk_check_in(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    form: web::Form<DeskForm>,
) -> ConsoleResult<HttpResponse> {
    who.check_csrf(form.csrf.as_deref())?;
    let id = id.into_inner();
    let title = meeting_title(&state, &who, id).await?;
    let (status, outcome) = desk_answer(
        deliberation::check_in(&state, &who.staff, id, &form.code).await,
        |v| v.name,
    )?;
    let below = meeting_signups(&state, &who, id).await?;
    Ok(desk_page(
        status,
        views::desk(
            &who.staff,
            &who.csrf,
            &format!("/console/deliberations/{id}/desk"),
            &title,
            Some(&outcome),
            below,
        ),
    ))
}

pub async fn open_days(
    who: ConsoleStaff,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let all = open_days_service::list(&state.db, first_page()).await?;
    let mine: Vec<_> = all
        .items
        .into_iter()
        .filter(|d| who.staff.may_act_in(&d.org_unit))
        .collect();
    Ok(page(views::open_days(&who.staff, &who.csrf, &mine)))
}

async fn open_day_desk_page(
    state: &AppState,
    who: &ConsoleStaff,
    id: Uuid,
    outcome: Option<(actix_web::http::StatusCode, DeskOutcome)>,
) -> ConsoleResult<HttpResponse> {
    // The figures come from the service, which also refuses another unit's open day.
    let stats = open_days_service::stats(state, &who.staff, id).await?;
    let detail = open_days_service::detail(state, id, Some(&who.staff)).await?;
    let mut visitors = Vec::with_capacity(detail.slots.len());
    for slot in &detail.slots {
        visitors.push(
            open_days_service::visitors(state, &who.staff, id, slot.id, first_page())
                .await?
                .items,
        );
    }
    let (status, outcome) = match outcome {
        Some((s, o)) => (s, Some(o)),
        None => (actix_web::http::StatusCode::OK, None),
    };
    Ok(desk_page(
        status,
        views::desk(
            &who.staff,
            &who.csrf,
            &format!("/console/open-days/{id}/desk"),
            &detail.title,
            outcome.as_ref(),
            maud::html! {
                (views::open_day_stats(&stats))
                (views::open_day_manage(&detail, &visitors, &who.csrf))
            },
        ),
    ))
}

pub async fn open_day_desk(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ConsoleResult<HttpResponse> {
    open_day_desk_page(&state, &who, id.into_inner(), None).await
}

pub async fn open_day_check_in(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    form: web::Form<DeskForm>,
) -> ConsoleResult<HttpResponse> {
    who.check_csrf(form.csrf.as_deref())?;
    let id = id.into_inner();
    let answer = desk_answer(
        open_days_service::check_in(&state, &who.staff, id, &form.code).await,
        |v| format!("{}（{} 人）", v.visitor_name, v.party_size),
    )?;
    open_day_desk_page(&state, &who, id, Some(answer)).await
}

/// The audit log filter of the admin page: who, about what, which days (Beijing dates).
#[derive(Debug, Default, Deserialize)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub target: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// Midnight in Beijing of a `YYYY-MM-DD` date, `days` later.
fn beijing_day(
    field: &str,
    value: Option<&str>,
    days: i64,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, FieldError> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    v.parse::<chrono::NaiveDate>()
        .ok()
        .and_then(|d| d.checked_add_signed(chrono::Duration::days(days)))
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Some(t.and_utc() - chrono::Duration::hours(8)))
        .ok_or_else(|| FieldError {
            field: field.into(),
            message: "请填写日期".into(),
        })
}

async fn admin_page(
    state: &AppState,
    who: &ConsoleStaff,
    filter: &AuditFilter,
    error: Option<ApiError>,
) -> ConsoleResult<HttpResponse> {
    if !who.staff.is_admin {
        return Err(ApiError::forbidden("admin_only", "此功能仅限区级管理员使用").into());
    }
    let accounts = crate::accounts::service::list_staff(&state.db, first_page()).await?;
    let units = crate::org_units::service::list(&state.db).await?;
    let mut faults = Vec::new();
    let actor = match filter
        .actor
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        None => None,
        Some(a) => a
            .parse::<Uuid>()
            .map_err(|_| {
                faults.push(FieldError {
                    field: "actor".into(),
                    message: "请选择操作人".into(),
                })
            })
            .ok(),
    };
    let from = beijing_day("from", filter.from.as_deref(), 0)
        .map_err(|e| faults.push(e))
        .ok()
        .flatten();
    // The "to" day is included: the range ends at the next midnight.
    let to = beijing_day("to", filter.to.as_deref(), 1)
        .map_err(|e| faults.push(e))
        .ok()
        .flatten();
    if !faults.is_empty() {
        return Err(ApiError::validation(faults).into());
    }
    let target = filter
        .target
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let audit = crate::audit::filtered(&state.db, actor, target, from, to, 100).await?;
    let status = error
        .as_ref()
        .map_or(actix_web::http::StatusCode::OK, ApiError::status);
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(
            views::admin(
                &who.staff,
                &who.csrf,
                &accounts.items,
                &units,
                &audit,
                filter,
                error.as_ref(),
            )
            .into_string(),
        ))
}

pub async fn admin(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    filter: web::Query<AuditFilter>,
) -> ConsoleResult<HttpResponse> {
    admin_page(&state, &who, &filter, None).await
}

/// An administrator disables or enables a staff account (disabling ends its sessions).
pub async fn set_staff_disabled(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    form: web::Form<views::FormValues>,
) -> ConsoleResult<HttpResponse> {
    who.check_csrf(form.get("csrf").map(String::as_str))?;
    if !who.staff.is_admin {
        return Err(ApiError::forbidden("admin_only", "此功能仅限区级管理员使用").into());
    }
    let disabled = form.get("disabled").is_some_and(|v| v == "true");
    let result = crate::accounts::service::set_disabled(
        &state.db,
        &crate::audit::Actor::from(&who.staff),
        id.into_inner(),
        disabled,
    )
    .await;
    match result {
        Ok(_) => Ok(see_other("/console/admin")),
        Err(e) if e.status().is_client_error() => {
            admin_page(&state, &who, &AuditFilter::default(), Some(e)).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct StaffForm {
    csrf: Option<String>,
    username: String,
    password: String,
    role: String,
    org_unit: String,
}

/// An administrator creates a staff account through the accounts service (which checks
/// names, password strength and the unit, and writes the audit entry).
pub async fn create_staff(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    form: web::Form<StaffForm>,
) -> ConsoleResult<HttpResponse> {
    let f = form.into_inner();
    who.check_csrf(f.csrf.as_deref())?;
    if !who.staff.is_admin {
        return Err(ApiError::forbidden("admin_only", "此功能仅限区级管理员使用").into());
    }
    let created = async {
        let req: crate::accounts::CreateStaffRequest = serde_json::from_value(serde_json::json!({
            "username": f.username.trim(),
            "password": f.password,
            "role": f.role,
            "org_unit": f.org_unit,
        }))
        .map_err(|_| {
            ApiError::validation(vec![FieldError {
                field: "role".into(),
                message: "请选择角色".into(),
            }])
        })?;
        validator::Validate::validate(&req).map_err(crate::extract::validation_error)?;
        crate::accounts::service::create_staff(
            &state.db,
            &crate::audit::Actor::from(&who.staff),
            &req,
        )
        .await
    }
    .await;
    match created {
        Ok(_) => Ok(see_other("/console/admin")),
        Err(e) if e.status().is_client_error() => {
            admin_page(&state, &who, &AuditFilter::default(), Some(e)).await
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn new_meeting(who: ConsoleStaff) -> HttpResponse {
    page(views::meeting_form(
        &who.staff,
        &who.csrf,
        &MeetingFormValues::default(),
        None,
        &views::FormTarget::New,
    ))
}

/// A `datetime-local` value, read as Beijing time.
pub(super) fn beijing(
    field: &str,
    value: &str,
) -> Result<chrono::DateTime<chrono::Utc>, FieldError> {
    chrono::NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M")
        .ok()
        .and_then(|t| {
            t.and_local_timezone(chrono::FixedOffset::east_opt(8 * 3600)?)
                .single()
        })
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or_else(|| FieldError {
            field: field.into(),
            message: "请填写日期和时间".into(),
        })
}

fn meeting_request(v: &MeetingFormValues, org_unit: &str) -> Result<MeetingRequest, ApiError> {
    let mut errors = Vec::new();
    let mut time = |field: &'static str, value: &str| match beijing(field, value) {
        Ok(t) => Some(t),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let starts_at = time("starts_at", &v.starts_at);
    let ends_at = time("ends_at", &v.ends_at);
    let signup_opens_at = time("signup_opens_at", &v.signup_opens_at);
    let signup_closes_at = time("signup_closes_at", &v.signup_closes_at);
    let number = |field: &str, value: &str, errors: &mut Vec<FieldError>| {
        if value.trim().is_empty() {
            return Some(0);
        }
        value.trim().parse::<i32>().ok().or_else(|| {
            errors.push(FieldError {
                field: field.into(),
                message: "请填写整数".into(),
            });
            None
        })
    };
    let capacity = number("capacity", &v.capacity, &mut errors);
    let reserved_seats = number("reserved_seats", &v.reserved_seats, &mut errors);
    match (
        starts_at,
        ends_at,
        signup_opens_at,
        signup_closes_at,
        capacity,
        reserved_seats,
    ) {
        (Some(starts_at), Some(ends_at), Some(so), Some(sc), Some(capacity), Some(reserved))
            if errors.is_empty() =>
        {
            let req = MeetingRequest {
                title: v.title.trim().to_owned(),
                background: v.background.trim().to_owned(),
                agenda: v.agenda.trim().to_owned(),
                location: v.location.trim().to_owned(),
                starts_at,
                ends_at,
                signup_opens_at: so,
                signup_closes_at: sc,
                capacity,
                reserved_seats: reserved,
                waitlist_enabled: v.waitlist_enabled.is_some(),
                org_unit: org_unit.to_owned(),
                eligibility: v
                    .eligibility
                    .split([',', '，', ' '])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                source_survey_id: None,
            };
            validator::Validate::validate(&req).map_err(crate::extract::validation_error)?;
            Ok(req)
        }
        _ => Err(ApiError::validation(errors)),
    }
}

/// Creates the meeting and publishes it; a refusal comes back as the form with its values
/// and the service's messages.
pub async fn create_meeting(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    form: web::Form<MeetingFormValues>,
) -> ConsoleResult<HttpResponse> {
    let v = form.into_inner();
    who.check_csrf(v.csrf.as_deref())?;
    let created = async {
        let req = meeting_request(&v, &who.staff.org_unit)?;
        let m = deliberation::create(&state, &who.staff, req).await?;
        deliberation::publish(&state, &who.staff, m.id).await
    }
    .await;
    match created {
        Ok(m) => Ok(see_other(&format!("/console/deliberations/{}/desk", m.id))),
        Err(e) if e.status().is_client_error() => Ok(HttpResponse::build(e.status())
            .content_type("text/html; charset=utf-8")
            .body(
                views::meeting_form(&who.staff, &who.csrf, &v, Some(&e), &views::FormTarget::New)
                    .into_string(),
            )),
        Err(e) => Err(e.into()),
    }
}

pub async fn outcomes(
    who: ConsoleStaff,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let list = outcomes_service::feed(
        &state,
        outcomes_service::FeedQuery {
            subdistrict: (!who.staff.is_admin).then(|| who.staff.org_unit.clone()),
            status: None,
            overdue: false,
            page: first_page(),
        },
    )
    .await?;
    Ok(page(views::outcomes(&who.staff, &who.csrf, &list.items)))
}

#[derive(Deserialize)]
pub struct OutcomeForm {
    csrf: Option<String>,
    title: String,
    #[serde(default)]
    description: String,
    responsible_unit: String,
    due_date: String,
}

fn date_field(field: &str, value: &str) -> Result<chrono::NaiveDate, ApiError> {
    value.trim().parse().map_err(|_| {
        ApiError::validation(vec![FieldError {
            field: field.into(),
            message: "请填写日期".into(),
        }])
    })
}

pub async fn create_outcome(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    form: web::Form<OutcomeForm>,
) -> ConsoleResult<HttpResponse> {
    let f = form.into_inner();
    who.check_csrf(f.csrf.as_deref())?;
    let req = OutcomeRequest {
        title: f.title.trim().to_owned(),
        description: f.description.trim().to_owned(),
        responsible_unit: f.responsible_unit.trim().to_owned(),
        due_date: date_field("due_date", &f.due_date)?,
        weight: 1,
        parent_id: None,
    };
    validator::Validate::validate(&req).map_err(crate::extract::validation_error)?;
    let o = outcomes_service::create(&state, &who.staff, id.into_inner(), req).await?;
    Ok(see_other(&format!("/console/outcomes/{}", o.id)))
}

async fn outcome_of(
    state: &AppState,
    who: &ConsoleStaff,
    id: Uuid,
) -> ConsoleResult<OutcomeDetail> {
    let d = outcomes_service::detail(state, id).await?;
    who.staff.ensure_org_unit(&d.meeting.org_unit)?;
    Ok(d)
}

pub async fn outcome(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ConsoleResult<HttpResponse> {
    let d = outcome_of(&state, &who, id.into_inner()).await?;
    Ok(page(views::outcome_detail(&who.staff, &who.csrf, &d, None)))
}

#[derive(Deserialize)]
pub struct ProgressForm {
    csrf: Option<String>,
    status: OutcomeStatusDto,
    percent: String,
    note: String,
    happened_on: String,
}

pub async fn add_progress(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    form: web::Form<ProgressForm>,
) -> ConsoleResult<HttpResponse> {
    let f = form.into_inner();
    who.check_csrf(f.csrf.as_deref())?;
    let id = id.into_inner();
    let d = outcome_of(&state, &who, id).await?;
    let added = async {
        let percent = f.percent.trim().parse::<i32>().map_err(|_| {
            ApiError::validation(vec![FieldError {
                field: "percent".into(),
                message: "请填写 0 到 100 的整数".into(),
            }])
        })?;
        let req = ProgressRequest {
            status: f.status,
            percent,
            note: f.note.trim().to_owned(),
            happened_on: date_field("happened_on", &f.happened_on)?,
            corrects: None,
        };
        validator::Validate::validate(&req).map_err(crate::extract::validation_error)?;
        outcomes_service::add_progress(&state, &who.staff, id, req).await
    }
    .await;
    match added {
        Ok(_) => Ok(see_other(&format!("/console/outcomes/{id}"))),
        Err(e) if e.status().is_client_error() => Ok(HttpResponse::build(e.status())
            .content_type("text/html; charset=utf-8")
            .body(views::outcome_detail(&who.staff, &who.csrf, &d, Some(&e)).into_string())),
        Err(e) => Err(e.into()),
    }
}

pub async fn new_open_day(who: ConsoleStaff) -> HttpResponse {
    let defaults: views::FormValues = [("cancel_cutoff_minutes", "60"), ("max_party_size", "2")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    page(views::open_day_form(
        &who.staff,
        &who.csrf,
        &defaults,
        None,
        &views::FormTarget::New,
    ))
}

/// A request body built from a form, checked like the API checks its JSON.
pub(super) fn parsed<T: serde::de::DeserializeOwned + validator::Validate>(
    v: serde_json::Value,
) -> Result<T, ApiError> {
    let t: T = serde_json::from_value(v)
        .map_err(|e| ApiError::unprocessable("invalid_form", format!("表单内容有误：{e}")))?;
    t.validate().map_err(crate::extract::validation_error)?;
    Ok(t)
}

fn open_day_request(v: &views::FormValues, org_unit: &str) -> Result<serde_json::Value, ApiError> {
    let get = |k: &str| v.get(k).map(|s| s.trim().to_owned()).unwrap_or_default();
    let mut errors = Vec::new();
    let time = |field: &'static str, value: String, errors: &mut Vec<FieldError>| {
        beijing(field, &value).map_err(|e| errors.push(e)).ok()
    };
    let opens = time("booking_opens_at", get("booking_opens_at"), &mut errors);
    let closes = time("booking_closes_at", get("booking_closes_at"), &mut errors);
    let mut slots = Vec::new();
    for i in 0..views::MAX_SLOT_ROWS {
        let (starts, ends, capacity) = (
            format!("slot{i}_starts"),
            format!("slot{i}_ends"),
            format!("slot{i}_capacity"),
        );
        if !v.contains_key(&starts) {
            break;
        }
        if i > 0 && get(&starts).is_empty() && get(&ends).is_empty() && get(&capacity).is_empty() {
            continue;
        }
        let s = beijing(&starts, &get(&starts))
            .map_err(|e| errors.push(e))
            .ok();
        let e = beijing(&ends, &get(&ends)).map_err(|e| errors.push(e)).ok();
        let c = get(&capacity).parse::<i64>().ok();
        if c.is_none() {
            errors.push(FieldError {
                field: capacity.clone(),
                message: "请填写名额".into(),
            });
        }
        let id = v
            .get(&format!("slot{i}_id"))
            .and_then(|id| id.parse::<Uuid>().ok());
        slots.push(serde_json::json!({ "id": id, "starts_at": s, "ends_at": e, "capacity": c }));
    }
    let number = |k: &'static str, errors: &mut Vec<FieldError>| {
        get(k).parse::<i64>().ok().or_else(|| {
            errors.push(FieldError {
                field: k.into(),
                message: "请填写整数".into(),
            });
            None
        })
    };
    let cutoff = number("cancel_cutoff_minutes", &mut errors);
    let party = number("max_party_size", &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(serde_json::json!({
        "org_unit": org_unit,
        "title": get("title"),
        "description": get("description"),
        "location": get("location"),
        "eligibility": get("eligibility"),
        "booking_opens_at": opens,
        "booking_closes_at": closes,
        "cancel_cutoff_minutes": cutoff,
        "max_party_size": party,
        "slots": slots,
    }))
}

/// Creates the open day with its slots and publishes it, through the open-days service.
pub async fn create_open_day(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    form: web::Form<views::FormValues>,
) -> ConsoleResult<HttpResponse> {
    let mut v = form.into_inner();
    let csrf = v.remove("csrf");
    who.check_csrf(csrf.as_deref())?;
    let created = async {
        let body = open_day_request(&v, &who.staff.org_unit)?;
        let e = open_days_service::create(&state, &who.staff, parsed(body)?).await?;
        open_days_service::publish(&state, &who.staff, e.id).await
    }
    .await;
    match created {
        Ok(e) => Ok(see_other(&format!("/console/open-days/{}/desk", e.id))),
        Err(e) if e.status().is_client_error() => Ok(HttpResponse::build(e.status())
            .content_type("text/html; charset=utf-8")
            .body(
                views::open_day_form(&who.staff, &who.csrf, &v, Some(&e), &views::FormTarget::New)
                    .into_string(),
            )),
        Err(e) => Err(e.into()),
    }
}

/// A time as a `datetime-local` value in Beijing time (what the forms take back).
fn local_input(t: chrono::DateTime<chrono::Utc>) -> String {
    (t + chrono::Duration::hours(8))
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

async fn managed_open_day(
    state: &AppState,
    who: &ConsoleStaff,
    id: Uuid,
) -> ConsoleResult<crate::open_days::OpenDayView> {
    let d = open_days_service::detail(state, id, Some(&who.staff)).await?;
    who.staff.ensure_org_unit(&d.org_unit)?;
    Ok(d)
}

/// The open-day form filled with the stored event and its slots (ids kept, so a change
/// updates the slot instead of adding one).
pub async fn edit_open_day(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ConsoleResult<HttpResponse> {
    let id = id.into_inner();
    let d = managed_open_day(&state, &who, id).await?;
    let mut v: views::FormValues = [
        ("title", d.title.clone()),
        ("description", d.description.clone()),
        ("location", d.location.clone()),
        ("eligibility", d.eligibility.clone()),
        ("booking_opens_at", local_input(d.booking_opens_at)),
        ("booking_closes_at", local_input(d.booking_closes_at)),
        ("cancel_cutoff_minutes", d.cancel_cutoff_minutes.to_string()),
        ("max_party_size", d.max_party_size.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (i, s) in d.slots.iter().enumerate() {
        v.insert(format!("slot{i}_id"), s.id.to_string());
        v.insert(format!("slot{i}_starts"), local_input(s.starts_at));
        v.insert(format!("slot{i}_ends"), local_input(s.ends_at));
        v.insert(format!("slot{i}_capacity"), s.capacity.to_string());
    }
    Ok(page(views::open_day_form(
        &who.staff,
        &who.csrf,
        &v,
        None,
        &views::FormTarget::Edit(id),
    )))
}

/// Saves the open-day form through the service; a refusal (a slot below its bookings, a
/// booked slot removed) comes back as the form with the service's message.
pub async fn update_open_day(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    form: web::Form<views::FormValues>,
) -> ConsoleResult<HttpResponse> {
    let id = id.into_inner();
    let mut v = form.into_inner();
    let csrf = v.remove("csrf");
    who.check_csrf(csrf.as_deref())?;
    let d = managed_open_day(&state, &who, id).await?;
    let updated = async {
        let body = open_day_request(&v, &d.org_unit)?;
        open_days_service::update(&state, &who.staff, id, parsed(body)?).await
    }
    .await;
    match updated {
        Ok(_) => Ok(see_other(&format!("/console/open-days/{id}/desk"))),
        Err(e) if e.status().is_client_error() => Ok(HttpResponse::build(e.status())
            .content_type("text/html; charset=utf-8")
            .body(
                views::open_day_form(
                    &who.staff,
                    &who.csrf,
                    &v,
                    Some(&e),
                    &views::FormTarget::Edit(id),
                )
                .into_string(),
            )),
        Err(e) => Err(e.into()),
    }
}

/// Calls an open day off (the page asks for confirmation first); bookings are cancelled and
/// their residents told by the service.
pub async fn cancel_open_day(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    form: web::Form<CsrfForm>,
) -> ConsoleResult<HttpResponse> {
    who.check_csrf(form.csrf.as_deref())?;
    open_days_service::cancel_event(&state, &who.staff, id.into_inner()).await?;
    Ok(see_other("/console/open-days"))
}

pub async fn cancel_meeting(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    form: web::Form<CsrfForm>,
) -> ConsoleResult<HttpResponse> {
    who.check_csrf(form.csrf.as_deref())?;
    deliberation::cancel(&state, &who.staff, id.into_inner()).await?;
    Ok(see_other("/console/deliberations"))
}

async fn managed_meeting(
    state: &AppState,
    who: &ConsoleStaff,
    id: Uuid,
) -> ConsoleResult<crate::deliberation::dto::MeetingView> {
    let detail = deliberation::detail(state, Some(&who.identity), id).await?;
    who.staff.ensure_org_unit(&detail.meeting.org_unit)?;
    Ok(detail.meeting)
}

/// The meeting form filled with the stored plan.
pub async fn edit_meeting(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ConsoleResult<HttpResponse> {
    let id = id.into_inner();
    let m = managed_meeting(&state, &who, id).await?;
    let v = MeetingFormValues {
        csrf: None,
        title: m.title,
        background: m.background,
        agenda: m.agenda,
        location: m.location,
        starts_at: local_input(m.starts_at),
        ends_at: local_input(m.ends_at),
        signup_opens_at: local_input(m.signup_opens_at),
        signup_closes_at: local_input(m.signup_closes_at),
        capacity: m.capacity.to_string(),
        reserved_seats: m.reserved_seats.to_string(),
        waitlist_enabled: m.waitlist_enabled.then(|| "on".to_owned()),
        eligibility: m.eligibility.join(","),
    };
    Ok(page(views::meeting_form(
        &who.staff,
        &who.csrf,
        &v,
        None,
        &views::FormTarget::Edit(id),
    )))
}

/// Saves the meeting form through the service (which refuses, say, fewer seats than those
/// already signed up); a refusal comes back as the form.
pub async fn update_meeting(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    form: web::Form<MeetingFormValues>,
) -> ConsoleResult<HttpResponse> {
    let v = form.into_inner();
    who.check_csrf(v.csrf.as_deref())?;
    let id = id.into_inner();
    let m = managed_meeting(&state, &who, id).await?;
    let updated = async {
        let mut req = meeting_request(&v, &m.org_unit)?;
        // The form does not show the survey a meeting came from; keep the link.
        req.source_survey_id = m.source_survey_id;
        deliberation::update(&state, &who.staff, id, req).await
    }
    .await;
    match updated {
        Ok(_) => Ok(see_other(&format!("/console/deliberations/{id}/desk"))),
        Err(e) if e.status().is_client_error() => Ok(HttpResponse::build(e.status())
            .content_type("text/html; charset=utf-8")
            .body(
                views::meeting_form(
                    &who.staff,
                    &who.csrf,
                    &v,
                    Some(&e),
                    &views::FormTarget::Edit(id),
                )
                .into_string(),
            )),
        Err(e) => Err(e.into()),
    }
}
