use actix_web::{HttpResponse, web};
use utoipa::OpenApi;
use uuid::Uuid;

use super::{
    dto::{DeadLetterView, InboxPage, NotificationView, SubscriptionRequest, SubscriptionView},
    service,
};
use crate::{
    auth::{CurrentResident, RequireAdmin},
    error::{ApiResult, Problem},
    extract::ApiJson,
    pagination::{ListQuery, Page, PageRequest},
    state::AppState,
};

#[derive(OpenApi)]
#[openapi(
    paths(list_notifications, read_notification, record_subscription, list_dead_letters),
    components(schemas(
        NotificationView,
        InboxPage,
        SubscriptionRequest,
        SubscriptionView,
        DeadLetterView,
        Page<DeadLetterView>
    ))
)]
pub struct ApiDoc;

/// Registered before `accounts`: its `/api/v1/me` scope would otherwise answer 404 for
/// these paths (actix scopes do not fall through).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/me/notifications").get(list_notifications))
        .service(web::resource("/api/v1/me/notifications/{id}/read").post(read_notification))
        .service(web::resource("/api/v1/me/subscriptions").post(record_subscription))
        .service(web::resource("/api/v1/admin/notifications/dead-letters").get(list_dead_letters));
}

/// The resident's inbox, newest first, with the unread count.
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "notifications",
    security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = InboxPage),
              (status = 400, body = Problem, content_type = "application/problem+json", description = "`invalid_query`"),
              (status = 401, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json", description = "`resident_only`")))]
async fn list_notifications(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageRequest::try_from(&*query)?;
    Ok(HttpResponse::Ok().json(service::inbox(&state.db, who.id, page).await?))
}

/// Marks one of the resident's own notices read.
#[utoipa::path(post, path = "/api/v1/me/notifications/{id}/read", tag = "notifications",
    security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = NotificationView),
              (status = 404, body = Problem, content_type = "application/problem+json", description = "`notification_not_found`")))]
async fn read_notification(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let view = service::mark_read(&state.db, who.id, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Records the resident's answer to `wx.requestSubscribeMessage` for one template: each
/// acceptance lets WeChat carry one message of that template.
#[utoipa::path(post, path = "/api/v1/me/subscriptions", tag = "notifications",
    security(("bearer" = [])), request_body = SubscriptionRequest,
    responses((status = 200, body = SubscriptionView),
              (status = 422, body = Problem, content_type = "application/problem+json", description = "`template_unknown`, `validation_failed`")))]
async fn record_subscription(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    body: ApiJson<SubscriptionRequest>,
) -> ApiResult<HttpResponse> {
    let view = service::record_subscription(&state, who.id, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Notices whose WeChat delivery was given up, newest first (admin only). They are still
/// in the residents' inboxes.
#[utoipa::path(get, path = "/api/v1/admin/notifications/dead-letters", tag = "admin",
    security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Page<DeadLetterView>),
              (status = 400, body = Problem, content_type = "application/problem+json", description = "`invalid_query`"),
              (status = 403, body = Problem, content_type = "application/problem+json", description = "`admin_only`")))]
async fn list_dead_letters(
    _admin: RequireAdmin,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageRequest::try_from(&*query)?;
    Ok(HttpResponse::Ok().json(service::dead_letters(&state.db, page).await?))
}
