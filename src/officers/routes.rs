use actix_web::{HttpResponse, web};
use utoipa::OpenApi;
use uuid::Uuid;

use super::{
    domain::CampaignStatus,
    dto::{
        ActivityRequest, ActivityView, ApplicantField, ApplicationCounts, ApplicationView,
        ApplicationsQuery, ApplyRequest, CampaignReport, CampaignRequest, CampaignView,
        FeedbackQuery, FeedbackRequest, FeedbackView, MyApplicationView, OfficerView,
        ReasonRequest, ReplyRequest, ReplyStatusDto, ReplyView, RevealApplicantRequest,
        RevealedApplicantValue, SignupView, TermView,
    },
    service,
};
use crate::{
    auth::{CurrentResident, CurrentStaff},
    error::{ApiResult, Problem},
    extract::ApiJson,
    pagination::{ListQuery, Page, PageRequest},
    state::AppState,
};

#[derive(OpenApi)]
#[openapi(
    paths(
        create_campaign, list_campaigns, get_campaign, update_campaign, publish_campaign,
        close_campaign, apply, withdraw, my_applications, list_applications, approve, reject,
        reveal, roster, end_officer, create_activity, list_activities, sign_up, submit_feedback,
        reply, my_feedback, staff_feedback, report
    ),
    components(schemas(
        CampaignRequest, CampaignView, ApplyRequest, MyApplicationView, TermView,
        ApplicationView, ReasonRequest, ApplicantField, RevealApplicantRequest,
        RevealedApplicantValue, OfficerView, ActivityRequest, ActivityView, SignupView,
        FeedbackRequest, FeedbackView, ReplyRequest, ReplyStatusDto, ReplyView,
        ApplicationCounts, CampaignReport,
        Page<CampaignView>, Page<MyApplicationView>, Page<ApplicationView>, Page<OfficerView>,
        Page<ActivityView>, Page<FeedbackView>
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/officer-campaigns")
            .service(web::resource("").get(list_campaigns).post(create_campaign))
            .service(
                web::resource("/{id}")
                    .get(get_campaign)
                    .put(update_campaign),
            )
            .service(web::resource("/{id}/publish").post(publish_campaign))
            .service(web::resource("/{id}/close").post(close_campaign))
            .service(
                web::resource("/{id}/applications")
                    .get(list_applications)
                    .post(apply),
            )
            .service(web::resource("/{id}/applications/me").delete(withdraw))
            .service(web::resource("/{id}/officers").get(roster))
            .service(web::resource("/{id}/activities").get(list_activities))
            .service(web::resource("/{id}/report").get(report)),
    )
    .service(web::resource("/api/v1/officer-applications/{id}/approve").post(approve))
    .service(web::resource("/api/v1/officer-applications/{id}/reject").post(reject))
    .service(web::resource("/api/v1/officer-applications/{id}/reveal").post(reveal))
    .service(web::resource("/api/v1/officers/{id}/end").post(end_officer))
    .service(web::resource("/api/v1/officer-activities").post(create_activity))
    .service(web::resource("/api/v1/officer-activities/{id}/signups").post(sign_up))
    .service(web::resource("/api/v1/officer-activities/{id}/feedback").post(submit_feedback))
    .service(web::resource("/api/v1/officer-feedback").get(staff_feedback))
    .service(web::resource("/api/v1/officer-feedback/{id}/replies").post(reply));
}

/// Routes under `/api/v1/me`: registered before the accounts scope, which would take them.
pub fn configure_me(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/me/officer-applications").get(my_applications))
        .service(web::resource("/api/v1/me/officer-feedback").get(my_feedback));
}

/// Creates a recruitment campaign as a draft (staff of its org unit, or an administrator).
#[utoipa::path(post, path = "/api/v1/officer-campaigns", tag = "officers",
    request_body = CampaignRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CampaignView),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`, `staff_only`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed`, `org_unit_unknown`"),
    ))]
async fn create_campaign(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    body: ApiJson<CampaignRequest>,
) -> ApiResult<HttpResponse> {
    let view = service::create(&state, &staff, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Residents (and anyone): published campaigns whose application window has not ended.
/// Staff: every campaign of their org unit, drafts included (administrators: all).
#[utoipa::path(get, path = "/api/v1/officer-campaigns", tag = "officers",
    params(ListQuery),
    security((), ("bearer" = [])),
    responses((status = 200, body = Page<CampaignView>)))]
async fn list_campaigns(
    staff: Option<CurrentStaff>,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageRequest::try_from(&query.into_inner())?;
    Ok(HttpResponse::Ok().json(service::list(&state, staff.as_ref(), page).await?))
}

/// One campaign with its `places_left`. Public; drafts only for staff of its org unit.
#[utoipa::path(get, path = "/api/v1/officer-campaigns/{id}", tag = "officers",
    params(("id" = Uuid, Path)),
    security((), ("bearer" = [])),
    responses(
        (status = 200, body = CampaignView),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`campaign_not_found`"),
    ))]
async fn get_campaign(
    staff: Option<CurrentStaff>,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let view = service::detail(&state, id.into_inner(), staff.as_ref()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Rewrites a campaign. The org unit cannot change; the quota never drops below the
/// officers approved (409 `quota_below_approved`, with `approved`).
#[utoipa::path(put, path = "/api/v1/officer-campaigns/{id}", tag = "officers",
    params(("id" = Uuid, Path)),
    request_body = CampaignRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CampaignView),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`campaign_not_found`"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`quota_below_approved`, `campaign_closed`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed`, `org_unit_immutable`"),
    ))]
async fn update_campaign(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ApiJson<CampaignRequest>,
) -> ApiResult<HttpResponse> {
    let view = service::update(&state, &staff, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Publishes a draft: residents see it and may apply within its window.
#[utoipa::path(post, path = "/api/v1/officer-campaigns/{id}/publish", tag = "officers",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CampaignView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`campaign_closed`"),
    ))]
async fn publish_campaign(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let view =
        service::set_status(&state, &staff, id.into_inner(), CampaignStatus::Published).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Closes a campaign: no more applications. Officers already approved keep serving.
#[utoipa::path(post, path = "/api/v1/officer-campaigns/{id}/close", tag = "officers",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CampaignView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn close_campaign(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let view = service::set_status(&state, &staff, id.into_inner(), CampaignStatus::Closed).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Applies to serve as an experience officer: `pending` until reviewed. Name and phone are
/// sealed at rest; occupation, community and motivation go through WeChat's content check.
#[utoipa::path(post, path = "/api/v1/officer-campaigns/{id}/applications", tag = "officers",
    params(("id" = Uuid, Path)),
    request_body = ApplyRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = MyApplicationView),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`resident_only`"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`campaign_not_found`"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`campaign_closed` (outside the window or closed), `already_applied`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed`, `consent_required`, `content_rejected`"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`"),
    ))]
async fn apply(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ApiJson<ApplyRequest>,
) -> ApiResult<HttpResponse> {
    let view = service::apply(&state, who.id, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Withdraws the signed-in resident's pending application to this campaign.
#[utoipa::path(delete, path = "/api/v1/officer-campaigns/{id}/applications/me", tag = "officers",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`application_not_found`"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`application_not_pending`"),
    ))]
async fn withdraw(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    service::withdraw(&state, who.id, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in resident's applications with their status, the reviewer's reason and,
/// once approved, the term. Newest first.
#[utoipa::path(get, path = "/api/v1/me/officer-applications", tag = "officers",
    params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Page<MyApplicationView>)))]
async fn my_applications(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageRequest::try_from(&query.into_inner())?;
    Ok(HttpResponse::Ok().json(service::my_applications(&state, who.id, page).await?))
}

/// A campaign's applications for its reviewers (staff of its org unit), masked.
#[utoipa::path(get, path = "/api/v1/officer-campaigns/{id}/applications", tag = "officers",
    params(("id" = Uuid, Path), ApplicationsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<ApplicationView>),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "`invalid_query`"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`campaign_not_found`"),
    ))]
async fn list_applications(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<ApplicationsQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let page = PageRequest::try_from(&ListQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    let list =
        service::applications(&state, &staff, id.into_inner(), q.status.as_deref(), page).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// Approves a pending application: the applicant becomes an officer for the campaign's term
/// and is notified. Never beyond the quota, however many reviewers approve at once.
#[utoipa::path(post, path = "/api/v1/officer-applications/{id}/approve", tag = "officers",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = ApplicationView),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`application_not_found`"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`quota_reached`, `application_not_pending`"),
    ))]
async fn approve(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::approve(&state, &staff, id.into_inner()).await?))
}

/// Rejects a pending application with a reason (required); the applicant is notified.
#[utoipa::path(post, path = "/api/v1/officer-applications/{id}/reject", tag = "officers",
    params(("id" = Uuid, Path)),
    request_body = ReasonRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = ApplicationView),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`application_not_found`"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`application_not_pending`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed` (reason)"),
    ))]
async fn reject(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ApiJson<ReasonRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let view = service::reject(&state, &staff, id.into_inner(), &body.reason).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Shows an applicant's (or officer's) name or phone in full, to reach them; written to the
/// audit log with the reason.
#[utoipa::path(post, path = "/api/v1/officer-applications/{id}/reveal", tag = "officers",
    params(("id" = Uuid, Path)),
    request_body = RevealApplicantRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = RevealedApplicantValue),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`application_not_found`, `personal_data_absent`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed`"),
    ))]
async fn reveal(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ApiJson<RevealApplicantRequest>,
) -> ApiResult<HttpResponse> {
    let v = service::reveal(&state, &staff, id.into_inner(), &body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// A campaign's officers (masked) with their terms; `standing` says who serves now.
#[utoipa::path(get, path = "/api/v1/officer-campaigns/{id}/officers", tag = "officers",
    params(("id" = Uuid, Path), ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<OfficerView>),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`campaign_not_found`"),
    ))]
async fn roster(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageRequest::try_from(&query.into_inner())?;
    Ok(HttpResponse::Ok().json(service::roster(&state, &staff, id.into_inner(), page).await?))
}

/// Ends an officer's term early, with a reason the officer is told.
#[utoipa::path(post, path = "/api/v1/officers/{id}/end", tag = "officers",
    params(("id" = Uuid, Path)),
    request_body = ReasonRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = OfficerView),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`officer_not_found`"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`officer_not_serving`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed` (reason)"),
    ))]
async fn end_officer(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ApiJson<ReasonRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let view = service::end_officer(&state, &staff, id.into_inner(), &body.reason).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Creates an experience activity for a campaign's officers.
#[utoipa::path(post, path = "/api/v1/officer-activities", tag = "officers",
    request_body = ActivityRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = ActivityView),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed`, `campaign_unknown`"),
    ))]
async fn create_activity(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    body: ApiJson<ActivityRequest>,
) -> ApiResult<HttpResponse> {
    let view = service::create_activity(&state, &staff, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// A campaign's experience activities with `places_left`.
#[utoipa::path(get, path = "/api/v1/officer-campaigns/{id}/activities", tag = "officers",
    params(("id" = Uuid, Path), ListQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, body = Page<ActivityView>),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`campaign_not_found`"),
    ))]
async fn list_activities(
    staff: Option<CurrentStaff>,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageRequest::try_from(&query.into_inner())?;
    let list = service::activities(&state, id.into_inner(), staff.as_ref(), page).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// A serving officer of the activity's campaign takes a place, before it starts.
#[utoipa::path(post, path = "/api/v1/officer-activities/{id}/signups", tag = "officers",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 201, body = SignupView),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`not_serving_officer`, `resident_only`"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`activity_not_found`"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`activity_full`, `activity_started`, `already_signed_up`"),
    ))]
async fn sign_up(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let view = service::sign_up(&state, who.id, id.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// A serving officer who signed up gives feedback once the activity has started; the text
/// goes through WeChat's content check.
#[utoipa::path(post, path = "/api/v1/officer-activities/{id}/feedback", tag = "officers",
    params(("id" = Uuid, Path)),
    request_body = FeedbackRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = FeedbackView),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`not_serving_officer`, `not_signed_up`"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`activity_not_found`"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`activity_not_started`, `feedback_exists`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed`, `content_rejected`"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`"),
    ))]
async fn submit_feedback(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ApiJson<FeedbackRequest>,
) -> ApiResult<HttpResponse> {
    let view = service::submit_feedback(&state, who.id, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Answers a piece of feedback (staff of the campaign's org unit); the officer is notified
/// of every reply. `not_adopted` needs a `reason`; after `resolved` or `not_adopted` the
/// feedback is settled (409 `feedback_closed`).
#[utoipa::path(post, path = "/api/v1/officer-feedback/{id}/replies", tag = "officers",
    params(("id" = Uuid, Path)),
    request_body = ReplyRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = FeedbackView),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`feedback_not_found`"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`feedback_closed`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed`"),
    ))]
async fn reply(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ApiJson<ReplyRequest>,
) -> ApiResult<HttpResponse> {
    let view = service::reply(&state, &staff, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// The signed-in officer's feedback and the answers to it, newest first.
#[utoipa::path(get, path = "/api/v1/me/officer-feedback", tag = "officers",
    params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Page<FeedbackView>)))]
async fn my_feedback(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageRequest::try_from(&query.into_inner())?;
    Ok(HttpResponse::Ok().json(service::my_feedback(&state, who.id, page).await?))
}

/// Feedback of the caller's org unit's campaigns (administrators: all), oldest first, each
/// flagged `overdue` when unanswered for more than 15 days; `?overdue=true` lists only those.
#[utoipa::path(get, path = "/api/v1/officer-feedback", tag = "officers",
    params(FeedbackQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<FeedbackView>),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`, `staff_only`"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`campaign_not_found`"),
    ))]
async fn staff_feedback(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    query: web::Query<FeedbackQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let page = PageRequest::try_from(&ListQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    let list = service::staff_feedback(
        &state,
        &staff,
        q.overdue.unwrap_or(false),
        q.campaign_id,
        page,
    )
    .await?;
    Ok(HttpResponse::Ok().json(list))
}

/// A campaign's figures: applications by status, officers serving, activities held
/// (started), feedback count, and the shares answered and adopted.
#[utoipa::path(get, path = "/api/v1/officer-campaigns/{id}/report", tag = "officers",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = CampaignReport),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`campaign_not_found`"),
    ))]
async fn report(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::report(&state, &staff, id.into_inner()).await?))
}
