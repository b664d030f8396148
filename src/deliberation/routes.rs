use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use utoipa::OpenApi;
use uuid::Uuid;

use super::{
    dto::{
        AttendanceView, CheckInRequest, CheckInView, MeetingDetail, MeetingListQuery,
        MeetingRequest, MeetingView, SignupField, SignupRequest, SignupRevealRequest,
        SignupRevealed, SignupView, StaffSignupView,
    },
    service,
};
use super::{
    dto::{
        FollowView, LoopEntry, LoopKind, LoopView, MeetingSummary, OutcomeDetail, OutcomeListQuery,
        OutcomeRequest, OutcomeStatusDto, OutcomeView, ProgressRequest, ProgressView,
    },
    outcomes,
};
use crate::{
    auth::{CurrentResident, CurrentStaff, Identity},
    error::{ApiError, ApiResult, Problem},
    extract::ApiJson,
    pagination::{ListQuery, Page, PageRequest},
    state::AppState,
};

#[derive(OpenApi)]
#[openapi(
    paths(
        list_meetings,
        create_meeting,
        get_meeting,
        update_meeting,
        publish_meeting,
        cancel_meeting,
        sign_up,
        cancel_my_signup,
        list_signups,
        reveal_signup,
        check_in,
        attendance,
        export_signups,
        create_outcome,
        outcome_feed,
        outcome_detail,
        add_progress,
        follow_outcome,
        unfollow_outcome,
        my_loop
    ),
    components(schemas(
        MeetingRequest,
        MeetingView,
        MeetingDetail,
        Page<MeetingView>,
        SignupRequest,
        SignupView,
        StaffSignupView,
        Page<StaffSignupView>,
        SignupRevealRequest,
        SignupRevealed,
        SignupField,
        CheckInRequest,
        CheckInView,
        AttendanceView,
        OutcomeRequest,
        OutcomeStatusDto,
        OutcomeView,
        OutcomeDetail,
        Page<OutcomeView>,
        MeetingSummary,
        ProgressRequest,
        ProgressView,
        FollowView,
        LoopEntry,
        LoopKind,
        LoopView
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/deliberations")
            .service(web::resource("").get(list_meetings).post(create_meeting))
            .service(web::resource("/{id}").get(get_meeting).put(update_meeting))
            .service(web::resource("/{id}/publish").post(publish_meeting))
            .service(web::resource("/{id}/cancel").post(cancel_meeting))
            .service(
                web::resource("/{id}/signups")
                    .get(list_signups)
                    .post(sign_up),
            )
            .service(web::resource("/{id}/signups/me").delete(cancel_my_signup))
            .service(web::resource("/{id}/signups/export").get(export_signups))
            .service(web::resource("/{id}/signups/{signup_id}/reveal").post(reveal_signup))
            .service(web::resource("/{id}/check-ins").post(check_in))
            .service(web::resource("/{id}/attendance").get(attendance))
            .service(web::resource("/{id}/outcomes").post(create_outcome)),
    );
    cfg.service(
        web::scope("/api/v1/outcomes")
            .service(web::resource("").get(outcome_feed))
            .service(web::resource("/{id}").get(outcome_detail))
            .service(web::resource("/{id}/progress").post(add_progress))
            .service(
                web::resource("/{id}/follow")
                    .post(follow_outcome)
                    .delete(unfollow_outcome),
            ),
    );
}

/// Registered before `accounts`: its `/api/v1/me` scope would otherwise answer 404 here.
pub fn configure_me(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/me/loop").get(my_loop));
}

/// Upcoming published meetings, newest first. Public. Staff: `?scope=mine` lists their org
/// unit's meetings of every status (all for administrators).
#[utoipa::path(get, path = "/api/v1/deliberations", tag = "deliberation",
    params(MeetingListQuery),
    security((), ("bearer" = [])),
    responses((status = 200, body = Page<MeetingView>),
              (status = 400, body = Problem, content_type = "application/problem+json", description = "`invalid_query`"),
              (status = 401, body = Problem, content_type = "application/problem+json", description = "`scope=mine` without a staff login"),
              (status = 403, body = Problem, content_type = "application/problem+json", description = "`staff_only`")))]
async fn list_meetings(
    state: web::Data<AppState>,
    query: web::Query<MeetingListQuery>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let page = PageRequest::try_from(&ListQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    match q.scope.as_deref() {
        None => {}
        Some("mine") => {
            let staff = CurrentStaff::of(&req).await?;
            return Ok(
                HttpResponse::Ok().json(service::list_for_staff(&state, &staff, page).await?)
            );
        }
        Some(_) => {
            return Err(ApiError::field(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "scope",
                "scope 只能是 mine",
            ));
        }
    }
    let list = service::list_upcoming(&state, q.subdistrict.as_deref(), page).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Creates a meeting as a draft (staff of the org unit, or an administrator).
#[utoipa::path(post, path = "/api/v1/deliberations", tag = "deliberation",
    request_body = MeetingRequest, security(("bearer" = [])),
    responses((status = 201, body = MeetingView),
              (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
              (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed`, `org_unit_unknown`, `not_a_subdistrict`")))]
async fn create_meeting(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    body: ApiJson<MeetingRequest>,
) -> ApiResult<HttpResponse> {
    let view = service::create(&state, &staff, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// One meeting with seats left and, for a signed-in resident, their own sign-up. Drafts are
/// shown only to the staff who manage them.
#[utoipa::path(get, path = "/api/v1/deliberations/{id}", tag = "deliberation",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = MeetingDetail),
              (status = 404, body = Problem, content_type = "application/problem+json", description = "`deliberation_not_found`")))]
async fn get_meeting(
    who: Option<Identity>,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let detail = service::detail(&state, who.as_ref(), id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(detail))
}

/// Replaces a meeting's plan. Resident seats cannot drop below those confirmed; added seats
/// go to the waitlist at once.
#[utoipa::path(put, path = "/api/v1/deliberations/{id}", tag = "deliberation",
    params(("id" = Uuid, Path)), request_body = MeetingRequest, security(("bearer" = [])),
    responses((status = 200, body = MeetingView),
              (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
              (status = 404, body = Problem, content_type = "application/problem+json", description = "`deliberation_not_found`"),
              (status = 409, body = Problem, content_type = "application/problem+json", description = "`deliberation_cancelled`, `capacity_below_confirmed`"),
              (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed`")))]
async fn update_meeting(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ApiJson<MeetingRequest>,
) -> ApiResult<HttpResponse> {
    let view = service::update(&state, &staff, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Publishes a draft: residents can see it and sign up in its window.
#[utoipa::path(post, path = "/api/v1/deliberations/{id}/publish", tag = "deliberation",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = MeetingView),
              (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
              (status = 404, body = Problem, content_type = "application/problem+json", description = "`deliberation_not_found`"),
              (status = 409, body = Problem, content_type = "application/problem+json", description = "`deliberation_already_published`, `deliberation_cancelled`, `deliberation_in_past`")))]
async fn publish_meeting(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::publish(&state, &staff, id.into_inner()).await?))
}

/// Cancels a meeting; everyone signed up (confirmed or waitlisted) is told.
#[utoipa::path(post, path = "/api/v1/deliberations/{id}/cancel", tag = "deliberation",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = MeetingView),
              (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
              (status = 404, body = Problem, content_type = "application/problem+json", description = "`deliberation_not_found`"),
              (status = 409, body = Problem, content_type = "application/problem+json", description = "`deliberation_cancelled`")))]
async fn cancel_meeting(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::cancel(&state, &staff, id.into_inner()).await?))
}

/// A resident signs up: `confirmed` while resident seats remain, else `waitlisted` when the
/// meeting keeps a waitlist, else 409 `deliberation_full`. Name and phone are sealed.
#[utoipa::path(post, path = "/api/v1/deliberations/{id}/signups", tag = "deliberation",
    params(("id" = Uuid, Path)), request_body = SignupRequest, security(("bearer" = [])),
    responses((status = 201, body = SignupView),
              (status = 403, body = Problem, content_type = "application/problem+json", description = "`resident_only`, `not_eligible`"),
              (status = 404, body = Problem, content_type = "application/problem+json", description = "`deliberation_not_found`"),
              (status = 409, body = Problem, content_type = "application/problem+json", description = "`deliberation_full`, `already_signed_up`, `signup_not_open`, `signup_closed`, `deliberation_cancelled`"),
              (status = 422, body = Problem, content_type = "application/problem+json", description = "`consent_required`, `validation_failed`, `content_rejected`"),
              (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`")))]
async fn sign_up(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ApiJson<SignupRequest>,
) -> ApiResult<HttpResponse> {
    let view = service::sign_up(&state, who.id, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// The resident gives up their sign-up before the meeting starts; the earliest waitlisted
/// resident takes the seat and is told.
#[utoipa::path(delete, path = "/api/v1/deliberations/{id}/signups/me", tag = "deliberation",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 204),
              (status = 404, body = Problem, content_type = "application/problem+json", description = "`deliberation_not_found`, `signup_not_found`"),
              (status = 409, body = Problem, content_type = "application/problem+json", description = "`deliberation_started`")))]
async fn cancel_my_signup(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    service::cancel_signup(&state, who.id, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct SignupListQuery {
    /// `confirmed`, `waitlisted` or `cancelled`.
    status: Option<String>,
    limit: Option<u64>,
    cursor: Option<String>,
}

/// A meeting's sign-ups in order of arrival, names and phones masked (staff).
#[utoipa::path(get, path = "/api/v1/deliberations/{id}/signups", tag = "deliberation",
    params(("id" = Uuid, Path), SignupListQuery), security(("bearer" = [])),
    responses((status = 200, body = Page<StaffSignupView>),
              (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
              (status = 404, body = Problem, content_type = "application/problem+json", description = "`deliberation_not_found`")))]
async fn list_signups(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<SignupListQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let page = PageRequest::try_from(&ListQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    let list =
        service::staff_signups(&state, &staff, id.into_inner(), q.status.as_deref(), page).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Reveals one personal field of a sign-up in full, with a reason; audited.
#[utoipa::path(post, path = "/api/v1/deliberations/{id}/signups/{signup_id}/reveal", tag = "deliberation",
    params(("id" = Uuid, Path), ("signup_id" = Uuid, Path)), request_body = SignupRevealRequest,
    security(("bearer" = [])),
    responses((status = 200, body = SignupRevealed),
              (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
              (status = 404, body = Problem, content_type = "application/problem+json", description = "`signup_not_found`, `personal_data_absent`")))]
async fn reveal_signup(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    body: ApiJson<SignupRevealRequest>,
) -> ApiResult<HttpResponse> {
    let (id, signup_id) = path.into_inner();
    let body = body.into_inner();
    let revealed = service::reveal(&state, &staff, id, signup_id, body.field, &body.reason).await?;
    Ok(HttpResponse::Ok().json(revealed))
}

/// Checks a confirmed resident in, by code or scanned QR payload; each code once.
#[utoipa::path(post, path = "/api/v1/deliberations/{id}/check-ins", tag = "deliberation",
    params(("id" = Uuid, Path)), request_body = CheckInRequest, security(("bearer" = [])),
    responses((status = 200, body = CheckInView),
              (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
              (status = 404, body = Problem, content_type = "application/problem+json", description = "`check_in_code_unknown`"),
              (status = 409, body = Problem, content_type = "application/problem+json", description = "`already_checked_in`, `check_in_wrong_meeting`, `deliberation_cancelled`"),
              (status = 422, body = Problem, content_type = "application/problem+json", description = "`check_in_code_invalid`")))]
async fn check_in(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ApiJson<CheckInRequest>,
) -> ApiResult<HttpResponse> {
    let view = service::check_in(&state, &staff, id.into_inner(), &body.into_inner().code).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Sign-up and attendance counts (staff).
#[utoipa::path(get, path = "/api/v1/deliberations/{id}/attendance", tag = "deliberation",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = AttendanceView),
              (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
              (status = 404, body = Problem, content_type = "application/problem+json", description = "`deliberation_not_found`")))]
async fn attendance(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::attendance(&state, &staff, id.into_inner()).await?))
}

/// Records an outcome of a published meeting (staff). Everyone confirmed for the meeting
/// follows it.
#[utoipa::path(post, path = "/api/v1/deliberations/{id}/outcomes", tag = "deliberation",
    params(("id" = Uuid, Path)), request_body = OutcomeRequest, security(("bearer" = [])),
    responses((status = 201, body = OutcomeView),
              (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
              (status = 404, body = Problem, content_type = "application/problem+json", description = "`deliberation_not_found`"),
              (status = 409, body = Problem, content_type = "application/problem+json", description = "`deliberation_not_published`"),
              (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed`")))]
async fn create_outcome(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ApiJson<OutcomeRequest>,
) -> ApiResult<HttpResponse> {
    let view = outcomes::create(&state, &staff, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// The public feed of outcomes, latest progress first. No login needed.
#[utoipa::path(get, path = "/api/v1/outcomes", tag = "deliberation",
    params(OutcomeListQuery),
    responses((status = 200, body = Page<OutcomeView>),
              (status = 400, body = Problem, content_type = "application/problem+json", description = "`invalid_query`")))]
async fn outcome_feed(
    state: web::Data<AppState>,
    query: web::Query<OutcomeListQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let page = PageRequest::try_from(&ListQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    let feed = outcomes::feed(
        &state,
        outcomes::FeedQuery {
            subdistrict: q.subdistrict,
            status: q.status.filter(|s| !s.is_empty()),
            overdue: q.overdue.unwrap_or(false),
            page,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(feed))
}

/// One outcome with its full timeline, its meeting and source survey. No login needed.
#[utoipa::path(get, path = "/api/v1/outcomes/{id}", tag = "deliberation",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = OutcomeDetail),
              (status = 404, body = Problem, content_type = "application/problem+json", description = "`outcome_not_found`")))]
async fn outcome_detail(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(outcomes::detail(&state, id.into_inner()).await?))
}

/// Appends a progress entry (staff); entries are never edited, a correction names the entry
/// it corrects. Followers are told once per entry.
#[utoipa::path(post, path = "/api/v1/outcomes/{id}/progress", tag = "deliberation",
    params(("id" = Uuid, Path)), request_body = ProgressRequest, security(("bearer" = [])),
    responses((status = 201, body = ProgressView),
              (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
              (status = 404, body = Problem, content_type = "application/problem+json", description = "`outcome_not_found`"),
              (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed`")))]
async fn add_progress(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ApiJson<ProgressRequest>,
) -> ApiResult<HttpResponse> {
    let entry = outcomes::add_progress(&state, &staff, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(entry))
}

/// The resident follows an outcome's progress.
#[utoipa::path(post, path = "/api/v1/outcomes/{id}/follow", tag = "deliberation",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = FollowView),
              (status = 404, body = Problem, content_type = "application/problem+json", description = "`outcome_not_found`")))]
async fn follow_outcome(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(outcomes::set_follow(&state, who.id, id.into_inner(), true).await?))
}

/// The resident stops following an outcome.
#[utoipa::path(delete, path = "/api/v1/outcomes/{id}/follow", tag = "deliberation",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, body = FollowView),
              (status = 404, body = Problem, content_type = "application/problem+json", description = "`outcome_not_found`")))]
async fn unfollow_outcome(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(
        HttpResponse::Ok()
            .json(outcomes::set_follow(&state, who.id, id.into_inner(), false).await?),
    )
}

/// The resident's own trail: meetings they took part in, what came of them, and each
/// outcome's latest progress.
#[utoipa::path(get, path = "/api/v1/me/loop", tag = "deliberation",
    security(("bearer" = [])),
    responses((status = 200, body = LoopView),
              (status = 403, body = Problem, content_type = "application/problem+json", description = "`resident_only`")))]
async fn my_loop(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(outcomes::my_loop(&state, who.id).await?))
}

/// The sign-up list as an XLSX workbook (names and phones masked); audited.
#[utoipa::path(get, path = "/api/v1/deliberations/{id}/signups/export", tag = "deliberation",
    params(("id" = Uuid, Path)), security(("bearer" = [])),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
              (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
              (status = 404, body = Problem, content_type = "application/problem+json", description = "`deliberation_not_found`")))]
async fn export_signups(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (name, bytes) = service::export_signups(&state, &staff, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(bytes))
}
