use actix_web::{HttpResponse, web};
use utoipa::OpenApi;
use uuid::Uuid;

use super::{
    domain::StaffRole,
    dto::{
        ConsentExport, CreateStaffRequest, DataExport, PersonalField, PhoneRequest, ProfileExport,
        ResidentAdminView, ResidentLookup, RevealRequest, RevealedValue, SessionExport, StaffView,
        UpdateMeRequest, UserView,
    },
    service,
};
use crate::{
    audit::Actor,
    auth::{CurrentResident, Identity, RequireAdmin},
    error::{ApiResult, Problem},
    extract::ApiJson,
    pagination::{ListQuery, Page, PageRequest},
    state::AppState,
};

#[derive(OpenApi)]
#[openapi(
    paths(get_me, patch_me, delete_me, data_export, bind_phone, create_staff, list_staff,
          disable_staff, enable_staff, find_residents, reveal_resident),
    components(schemas(UserView, UpdateMeRequest, PhoneRequest, CreateStaffRequest, StaffView,
        StaffRole, Page<StaffView>, DataExport, ProfileExport, ConsentExport, SessionExport,
        ResidentAdminView, RevealRequest, RevealedValue, PersonalField))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Plain resources, not a `/api/v1/me` scope: a scope would swallow every other feature's
    // `/api/v1/me/...` route registered after it.
    cfg.service(
        web::resource("/api/v1/me")
            .get(get_me)
            .patch(patch_me)
            .delete(delete_me),
    )
    .service(web::resource("/api/v1/me/data-export").get(data_export))
    .service(web::resource("/api/v1/me/phone").post(bind_phone))
    .service(
        web::scope("/api/v1/admin/staff")
            .service(web::resource("").post(create_staff).get(list_staff))
            .service(web::resource("/{id}/disable").post(disable_staff))
            .service(web::resource("/{id}/enable").post(enable_staff)),
    )
    .service(
        web::scope("/api/v1/admin/residents")
            .service(web::resource("").get(find_residents))
            .service(web::resource("/{id}/reveal").post(reveal_resident)),
    );
}

/// The signed-in resident or staff member.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = UserView),
              (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn get_me(who: Identity, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::me(&state, &who).await?))
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
    RequireAdmin(admin): RequireAdmin,
    state: web::Data<AppState>,
    body: ApiJson<CreateStaffRequest>,
) -> ApiResult<HttpResponse> {
    let view = service::create_staff(&state.db, &Actor::from(&admin), &body.into_inner()).await?;
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
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json", description = "`cannot_disable_self`")))]
async fn disable_staff(
    RequireAdmin(admin): RequireAdmin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let view =
        service::set_disabled(&state.db, &Actor::from(&admin), id.into_inner(), true).await?;
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
    let view =
        service::set_disabled(&state.db, &Actor::from(&admin), id.into_inner(), false).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A resident deletes their account: personal fields are erased, sessions end.
#[utoipa::path(delete, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    responses((status = 204),
              (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn delete_me(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    service::delete_account(&state, &who).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Everything canyu holds about the resident, as JSON (个人信息导出).
#[utoipa::path(get, path = "/api/v1/me/data-export", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = DataExport),
              (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn data_export(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let export = service::data_export(&state, who.id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            "content-disposition",
            "attachment; filename=\"canyu-data-export.json\"",
        ))
        .json(export))
}

/// Residents with this phone number, masked (admin only).
#[utoipa::path(get, path = "/api/v1/admin/residents", tag = "admin", security(("bearer" = [])),
    params(ResidentLookup),
    responses((status = 200, body = Vec<ResidentAdminView>),
              (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn find_residents(
    _admin: RequireAdmin,
    state: web::Data<AppState>,
    query: web::Query<ResidentLookup>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::residents_by_phone(&state, &query.phone).await?))
}

/// Shows one personal field of a resident in full; the reason goes to the audit log
/// (admin only).
#[utoipa::path(post, path = "/api/v1/admin/residents/{id}/reveal", tag = "admin",
    security(("bearer" = [])), params(("id" = Uuid, Path)), request_body = RevealRequest,
    responses((status = 200, body = RevealedValue),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn reveal_resident(
    RequireAdmin(admin): RequireAdmin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ApiJson<RevealRequest>,
) -> ApiResult<HttpResponse> {
    let value = service::reveal(
        &state,
        &Actor::from(&admin),
        id.into_inner(),
        &body.into_inner(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(value))
}
