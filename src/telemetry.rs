//! Logs, request ids and metrics.
//!
//! Every request gets an id (the caller's `x-request-id` when it is sane, else a fresh UUID v7)
//! that appears on every log line of the request, in the `x-request-id` response header and in
//! every error body. actix builds error responses without access to the request, so the id
//! travels in a task-local scoped around the request's future.

use std::{
    cell::RefCell,
    collections::{HashMap, HashSet},
    sync::{OnceLock, RwLock},
    time::Instant,
};

use actix_web::{
    Error, HttpMessage, HttpRequest, ResponseError,
    body::{BoxBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    http::header::{self, HeaderName, HeaderValue},
    middleware::Next,
};
use metrics::{Counter, Histogram};
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

/// Runs `fut` (spawned elsewhere) under the current request's id, if any, and span.
pub fn in_this_request<F: std::future::Future>(
    fut: F,
) -> impl std::future::Future<Output = F::Output> {
    use futures_util::future::Either;
    use tracing::Instrument;
    match current_request_id() {
        Some(id) => Either::Left(REQUEST_ID.scope(id, fut)),
        None => Either::Right(fut),
    }
    .in_current_span()
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

/// The route a middleware answered for before the router ran (the open-day storm guard's
/// refusals), so they are counted under their route, not as unmatched.
pub struct RouteLabel(pub &'static str);

/// The matched route's pattern (`/api/v1/surveys/{id}`), for labels. `match_pattern` walks
/// the whole route table again, matching its patterns' regexes, on every request: on a hot
/// read that was the largest single cost. So the pattern is derived from what the router
/// captured (each captured segment put back as `{name}`) and the derivation is trusted once
/// `match_pattern` has confirmed it for that route; anything else (odd ids, tail matches)
/// still asks `match_pattern`.
fn route_of(req: &HttpRequest) -> String {
    static CONFIRMED: OnceLock<RwLock<HashSet<String>>> = OnceLock::new();
    let info = req.match_info();
    // A route's resource consumes the whole path; the default service (404) consumes none
    // of it, or only a scope's prefix. So does a middleware that answers before routing,
    // unless it names the route.
    if !info.unprocessed().is_empty() {
        return req
            .extensions()
            .get::<RouteLabel>()
            .map_or_else(|| "unmatched".to_owned(), |l| l.0.to_owned());
    }
    let confirmed = CONFIRMED.get_or_init(RwLock::default);
    let derived = derive_route(req.path(), info.iter());
    if let Some(route) = derived.as_ref().filter(|route| {
        confirmed
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(*route)
    }) {
        return route.clone();
    }
    let Some(pattern) = req.match_pattern() else {
        return "unmatched".to_owned();
    };
    if derived.as_ref() == Some(&pattern) {
        let mut known = confirmed.write().unwrap_or_else(|p| p.into_inner());
        // Bounded by the routes there are; the cap only guards against surprises.
        if known.len() < 1_000 {
            known.insert(pattern.clone());
        }
    }
    pattern
}

/// The path with the captures, in path order, put back as `{name}` where a segment is a
/// capture or starts with one (`{question_id}.svg`); `None` when a capture is left over.
fn derive_route<'a>(
    path: &str,
    captures: impl Iterator<Item = (&'a str, &'a str)>,
) -> Option<String> {
    let mut captures = captures.peekable();
    let mut route = String::with_capacity(path.len());
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            route.push('/');
        }
        match captures.peek() {
            Some(&(name, value)) if !value.is_empty() && segment.starts_with(value) => {
                route.push('{');
                route.push_str(name);
                route.push('}');
                route.push_str(&segment[value.len()..]);
                captures.next();
            }
            _ => route.push_str(segment),
        }
    }
    captures.next().is_none().then_some(route)
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
    let method = req.method().to_string();
    // The route is known once the router has matched, inside `next.call`.
    let span = tracing::info_span!("request", request_id = %id, method = %method, route = tracing::field::Empty);
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
    let route = route_of(res.request());
    span.record("route", route.as_str());
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    count_request(method, route, status, elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    Ok(res)
}

/// Counts one request under its method, route and status. Registering the metrics by their
/// labels on every request (building the key, hashing it, comparing it in the recorder's
/// registry) cost about a tenth of serving `/healthz`: each worker thread keeps the handles it
/// has used instead.
fn count_request(method: String, route: String, status: u16, seconds: f64) {
    type Handles =
        HashMap<(String, String, u16), (Counter, Histogram), foldhash::fast::RandomState>;
    thread_local! {
        static HANDLES: RefCell<Handles> = RefCell::default();
    }
    HANDLES.with_borrow_mut(|handles| {
        // Methods are whatever callers send: bounded here, as the recorder bounds nothing.
        if handles.len() >= 4096 {
            handles.clear();
        }
        let (requests, duration) =
            handles
                .entry((method, route, status))
                .or_insert_with_key(|(method, route, status)| {
                    // Registered with the recorder installed: a handle taken before counts
                    // nowhere.
                    prometheus();
                    (
                        metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string()),
                        metrics::histogram!("http_request_duration_seconds", "method" => method.clone(), "route" => route.clone()),
                    )
                });
        requests.increment(1);
        duration.record(seconds);
    });
}

#[cfg(test)]
mod tests {
    use actix_web::{HttpMessage, test::TestRequest};

    use super::{RouteLabel, derive_route, route_of};

    #[test]
    fn an_answer_given_before_routing_is_counted_under_the_route_it_names() {
        let req = TestRequest::post()
            .uri("/api/v1/open-days/01a21cb9-6eed-7450-a45f-99de0002de15/reservations")
            .to_http_request();
        assert_eq!(route_of(&req), "unmatched");
        req.extensions_mut()
            .insert(RouteLabel("/api/v1/open-days/{id}/reservations"));
        assert_eq!(route_of(&req), "/api/v1/open-days/{id}/reservations");
    }

    #[test]
    fn captures_are_put_back_as_names_in_path_order() {
        let id = "01a21cb9-6eed-7450-a45f-99de0002de15";
        assert_eq!(
            derive_route(&format!("/api/v1/surveys/{id}"), [("id", id)].into_iter()).as_deref(),
            Some("/api/v1/surveys/{id}")
        );
        assert_eq!(
            derive_route(
                &format!("/api/v1/surveys/{id}/results/charts/q1.svg"),
                [("id", id), ("question_id", "q1")].into_iter()
            )
            .as_deref(),
            Some("/api/v1/surveys/{id}/results/charts/{question_id}.svg")
        );
        assert_eq!(
            derive_route("/healthz", std::iter::empty()).as_deref(),
            Some("/healthz")
        );
        // A capture that cannot be placed leaves the answer to the router.
        assert_eq!(
            derive_route("/docs/a/b.js", [("_", "a/b.js")].into_iter()),
            None
        );
    }
}
