//! Logs, request ids and metrics.
//!
//! Every request gets an id (the caller's `x-request-id` when it is sane, else a fresh UUID v7)
//! that appears on every log line of the request, in the `x-request-id` response header and in
//! every error body. actix builds error responses without access to the request, so the id
//! travels in a task-local scoped around the request's future.

use std::{sync::OnceLock, time::Instant};

use actix_web::{
    Error, ResponseError,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header::{self, HeaderName, HeaderValue},
    middleware::Next,
};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::{
    config::LogFormat,
    error::{PROBLEM_JSON, generic_for},
};

tokio::task_local! {
    static REQUEST_ID: String;
}

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served, when called inside one.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Installs the one subscriber of the process. Safe to call twice (the second is a no-op).
pub fn init_subscriber(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        LogFormat::Text => registry.with(fmt::layer().with_target(false)).try_init(),
    };
}

/// The process-wide Prometheus recorder (the `metrics` facade is global by design).
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets(&[
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ])
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed");
        }
        handle
    })
}

fn sane_request_id(value: &HeaderValue) -> Option<String> {
    let s = value.to_str().ok()?;
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| s.to_owned())
}

/// Request id, span, access log, metrics, and the guarantee that every error answer is
/// problem+json (actix's own 404/405/413 answers included).
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(sane_request_id)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = req.method().to_string();
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = %route);
    let started = Instant::now();

    let res = REQUEST_ID
        .scope(id.clone(), async move {
            // Handlers and extractors turn their errors into responses inside this scope;
            // an error that still escapes is rendered by actix, outside it.
            let res = next.call(req).await?.map_into_boxed_body();
            let status = res.status();
            // The staff console answers its errors as pages of its own (text/html).
            let is_problem = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
                v.as_bytes().starts_with(PROBLEM_JSON.as_bytes())
                    || v.as_bytes().starts_with(b"text/html")
            });
            let res = if (status.is_client_error() || status.is_server_error()) && !is_problem {
                let (req, old) = res.into_parts();
                let mut new = generic_for(status).error_response();
                for (name, value) in old.headers() {
                    if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
                        new.headers_mut().insert(name.clone(), value.clone());
                    }
                }
                ServiceResponse::new(req, new)
            } else {
                res
            };
            Ok::<_, Error>(res)
        })
        .instrument(span.clone())
        .await;

    let mut res = res?;
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string()).increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    Ok(res)
}
