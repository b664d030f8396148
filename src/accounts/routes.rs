use actix_web::{HttpResponse, web};
use utoipa::OpenApi;
use uuid::Uuid;

use super::{
    domain::StaffRole,
    dto::{CreateStaffRequest, PhoneRequest, StaffView, UpdateMeRequest, UserView},
    service,
};
use crate::{
    auth::{CurrentResident, Identity, RequireAdmin},
    error::{ApiResult, Problem},
    extract::ApiJson,
    pagination::{ListQuery, Page, PageRequest},
    state::AppState,
};

#[derive(OpenApi)]
#[openapi(
    paths(get_me, patch_me, bind_phone, create_staff, list_staff, disable_staff, enable_staff),
    components(schemas(UserView, UpdateMeRequest, PhoneRequest, CreateStaffRequest, StaffView, StaffRole, Page<StaffView>))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/me")
            .service(web::resource("").get(get_me).patch(patch_me))
            .service(web::resource("/phone").post(bind_phone)),
    )
    .service(
        web::scope("/api/v1/admin/staff")
            .service(web::resource("").post(create_staff).get(list_staff))
            .service(web::resource("/{id}/disable").post(disable_staff))
            .service(web::resource("/{id}/enable").post(enable_staff)),
    );
}

/// The signed-in resident or staff member.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = UserView),
              (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn get_me(who: Identity, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::me(&state.db, &who).await?))
}

/// A resident updates their nickname, home sub-district and community.
#[utoipa::path(patch, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    request_body = UpdateMeRequest,
    responses((status = 200, body = UserView),
              (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed`, `not_a_subdistrict`, `org_unit_unknown`, or `content_rejected` (WeChat's content check refused the text; `errors` names the fields)"),
              (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`: too many submissions; see `Retry-After`")))]
async fn patch_me(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    body: ApiJson<UpdateMeRequest>,
) -> ApiResult<HttpResponse> {
    let view = service::update_me(&state, who.id, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Binds the resident's phone number through WeChat's `getuserphonenumber`.
#[utoipa::path(post, path = "/api/v1/me/phone", tag = "me", security(("bearer" = [])),
    request_body = PhoneRequest,
    responses((status = 200, body = UserView),
              (status = 422, body = Problem, content_type = "application/problem+json", description = "`wechat_code_invalid`"),
              (status = 503, body = Problem, content_type = "application/problem+json", description = "`upstream_unavailable`")))]
async fn bind_phone(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    body: ApiJson<PhoneRequest>,
) -> ApiResult<HttpResponse> {
    let view = service::bind_phone(&state, who.id, &body.into_inner().code).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Creates a staff account (admin only).
#[utoipa::path(post, path = "/api/v1/admin/staff", tag = "admin", security(("bearer" = [])),
    request_body = CreateStaffRequest,
    responses((status = 201, body = StaffView),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json", description = "`username_taken`"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn create_staff(
    _admin: RequireAdmin,
    state: web::Data<AppState>,
    body: ApiJson<CreateStaffRequest>,
) -> ApiResult<HttpResponse> {
    let view = service::create_staff(&state.db, &body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// All staff accounts (admin only).
#[utoipa::path(get, path = "/api/v1/admin/staff", tag = "admin", security(("bearer" = [])),
    params(ListQuery),
    responses((status = 200, body = Page<StaffView>),
              (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn list_staff(
    _admin: RequireAdmin,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageRequest::try_from(&*query)?;
    Ok(HttpResponse::Ok().json(service::list_staff(&state.db, page).await?))
}

/// Disables a staff account and ends its sessions at once (admin only).
#[utoipa::path(post, path = "/api/v1/admin/staff/{id}/disable", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = StaffView),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn disable_staff(
    RequireAdmin(admin): RequireAdmin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let view = service::set_disabled(&state.db, admin.id, id.into_inner(), true).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Enables a disabled staff account again (admin only).
#[utoipa::path(post, path = "/api/v1/admin/staff/{id}/enable", tag = "admin", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = StaffView),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn enable_staff(
    RequireAdmin(admin): RequireAdmin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let view = service::set_disabled(&state.db, admin.id, id.into_inner(), false).await?;
    Ok(HttpResponse::Ok().json(view))
}
