use actix_web::{HttpResponse, web};
use utoipa::OpenApi;

use super::{
    dto::{AuditEntryView, AuditQuery},
    repo,
};
use crate::{
    auth::RequireAdmin,
    error::{ApiResult, Problem},
    pagination::{ListQuery, Page, PageRequest},
    state::AppState,
};

#[derive(OpenApi)]
#[openapi(paths(list_audit), components(schemas(AuditEntryView, Page<AuditEntryView>)))]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/admin/audit").get(list_audit));
}

/// The audit log, newest first (admin only).
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, body = Page<AuditEntryView>),
              (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn list_audit(
    _admin: RequireAdmin,
    state: web::Data<AppState>,
    query: web::Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let page = PageRequest::try_from(&ListQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    let filter = repo::Filter {
        actor: q.actor,
        target: q.target,
        from: q.from,
        to: q.to,
    };
    let rows = repo::list(&state.db, &filter, page.after, page.limit + 1).await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(rows, page, |m| m.id, AuditEntryView::from)))
}
