//! Liveness, readiness and Prometheus metrics.

use std::time::Duration;

use actix_web::{HttpResponse, http::StatusCode, web};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::{
    error::{ApiError, ApiResult, FieldError, Problem},
    state::AppState,
    telemetry,
};

#[derive(OpenApi)]
#[openapi(
    paths(healthz, readyz, metrics),
    components(schemas(Health, Readiness))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").get(healthz))
        .service(web::resource("/readyz").get(readyz))
        .service(web::resource("/metrics").get(metrics));
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    pub status: &'static str,
    /// `ok` or `unavailable`.
    pub database: &'static str,
    /// `ok`, or `degraded` while Redis is unreachable (reads then come from the database).
    pub cache: &'static str,
    /// `redis` or `memory`.
    pub cache_kind: &'static str,
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Ready to serve: the database answers. A cache outage is reported as `degraded` but keeps
/// the instance ready, because every read falls back to the database.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, body = Readiness),
    (status = 503, body = Problem, content_type = "application/problem+json", description = "`not_ready`")))]
async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let timeout = Duration::from_secs(2);
    let db_ok = matches!(
        tokio::time::timeout(timeout, state.db.ping()).await,
        Ok(Ok(()))
    );
    let cache_ok = matches!(
        tokio::time::timeout(timeout, state.cache.ping()).await,
        Ok(Ok(()))
    );
    metrics::gauge!("readiness_database_up").set(if db_ok { 1.0 } else { 0.0 });
    metrics::gauge!("readiness_cache_up").set(if cache_ok { 1.0 } else { 0.0 });
    if !db_ok {
        return Err(
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "服务暂未就绪")
                .with_errors(vec![FieldError {
                    field: "database".into(),
                    message: "数据库无响应".into(),
                }]),
        );
    }
    Ok(HttpResponse::Ok().json(Readiness {
        status: "ready",
        database: "ok",
        cache: if cache_ok { "ok" } else { "degraded" },
        cache_kind: state.cache.kind(),
    }))
}

/// Prometheus text format: requests by route and status, latency histogram, database pool,
/// cache hits and misses.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain", body = String)))]
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    record_pool(&state);
    let handle = telemetry::prometheus();
    handle.run_upkeep();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(handle.render())
}

fn record_pool(state: &AppState) {
    use sea_orm::DbBackend;
    let (size, idle) = match state.db.get_database_backend() {
        DbBackend::Postgres => {
            let p = state.db.get_postgres_connection_pool();
            (p.size(), p.num_idle())
        }
        DbBackend::Sqlite => {
            let p = state.db.get_sqlite_connection_pool();
            (p.size(), p.num_idle())
        }
        _ => (0, 0),
    };
    metrics::gauge!("db_pool_connections").set(f64::from(size));
    metrics::gauge!("db_pool_idle_connections").set(idle as f64);
}
