use actix_web::{HttpResponse, web};
use utoipa::OpenApi;

use super::{OrgUnitView, dto::CreateOrgUnitRequest, service};
use crate::{
    accounts::{self, StaffView},
    audit::Actor,
    auth::{CurrentStaff, RequireAdmin},
    error::{ApiResult, Problem},
    extract::ApiJson,
    state::AppState,
};

#[derive(OpenApi)]
#[openapi(
    paths(list_org_units, create_org_unit, list_org_unit_staff),
    components(schemas(OrgUnitView, CreateOrgUnitRequest))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/org-units")
            .service(web::resource("").get(list_org_units).post(create_org_unit))
            .service(web::resource("/{code}/staff").get(list_org_unit_staff)),
    );
}

/// The district, its sub-districts and departments. Public: the mini-program shows them in
/// pickers before anyone logs in.
#[utoipa::path(get, path = "/api/v1/org-units", tag = "org-units",
    responses((status = 200, body = Vec<OrgUnitView>)))]
async fn list_org_units(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::list(&state.db).await?))
}

/// Adds a department (admin only).
#[utoipa::path(post, path = "/api/v1/org-units", tag = "org-units",
    request_body = CreateOrgUnitRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = OrgUnitView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`org_unit_exists`"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn create_org_unit(
    RequireAdmin(admin): RequireAdmin,
    state: web::Data<AppState>,
    body: ApiJson<CreateOrgUnitRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let unit =
        service::create_department(&state.db, &Actor::from(&admin), &body.code, &body.name).await?;
    Ok(HttpResponse::Created().json(unit))
}

/// Staff of one org unit: its own staff, or an administrator.
#[utoipa::path(get, path = "/api/v1/org-units/{code}/staff", tag = "org-units",
    params(("code" = String, Path, description = "org unit code")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<StaffView>),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_org_unit_staff(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    staff.ensure_org_unit(&code)?;
    let list = accounts::service::staff_of_unit(&state.db, &code).await?;
    Ok(HttpResponse::Ok().json(list))
}
