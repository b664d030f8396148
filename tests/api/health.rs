use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, assert_problem, spawn_app};

#[tokio::test]
async fn the_service_says_it_is_alive_and_ready() {
    let app = spawn_app().await;

    let res = app.get("/healthz", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["status"], "ok");

    let res = app.get("/readyz", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_eq!(body["cache"], "ok");
    let expected_cache = if app.settings.redis_url.is_empty() {
        "memory"
    } else {
        "redis"
    };
    assert_eq!(body["cache_kind"], expected_cache);
}

#[tokio::test]
async fn readiness_fails_when_the_database_is_gone() {
    let app = spawn_app().await;
    let resident = app.login_resident("o-before-outage").await;
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);

    app.take_database_away().await;

    let body = assert_problem(
        app.get("/readyz", None).await,
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "database");
    // Still alive: liveness does not depend on the database.
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);

    // A request that needs the database is a retryable 503 that says nothing internal.
    let res = app.get("/api/v1/me", Some(&resident.access_token)).await;
    let body = assert_problem(res, StatusCode::SERVICE_UNAVAILABLE, "database_unavailable").await;
    let text = format!("{} {}", body["title"], body["detail"]).to_lowercase();
    for leak in ["sql", "pool", "database", "connection", "sqlx"] {
        assert!(!text.contains(leak), "5xx body leaks {leak}: {body}");
    }
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_sane_one_is_echoed() {
    let app = spawn_app().await;
    let res = app.get("/healthz", None).await;
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");

    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-abc_123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "trace-abc_123");

    // Something that could poison logs is replaced, not echoed.
    let res = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "a b\tc")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], "a b\tc");
}

/// The requests `/metrics` has counted for one route and status, across methods.
async fn counted(app: &TestApp, route: &str, status: u16) -> f64 {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with("http_requests_total{"))
        .filter(|l| {
            l.contains(&format!(r#"route="{route}""#))
                && l.contains(&format!(r#"status="{status}""#))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn metrics_count_every_request_not_only_the_first_of_its_route() {
    let app = spawn_app().await;
    app.get("/api/v1/org-units", None).await;
    let before = counted(&app, "/api/v1/org-units", 200).await;
    assert!(before >= 1.0, "the first request is counted");
    for _ in 0..3 {
        app.get("/api/v1/org-units", None).await;
    }
    // Tests share the process's recorder: others may add to the count, never take from it.
    let after = counted(&app, "/api/v1/org-units", 200).await;
    assert!(after - before >= 3.0, "{before} then {after}");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app().await;
    app.get("/healthz", None).await;
    app.get("/api/v1/org-units", None).await;
    app.get("/no-such-page", None).await;
    // An authenticated request consults the cache (revoked tokens).
    let resident = app.login_resident("o-metrics").await;
    app.get("/api/v1/me", Some(&resident.access_token)).await;

    let res = app.get("/metrics", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(text.contains(r#"route="/api/v1/org-units""#), "{text}");
    assert!(text.contains(r#"status="404""#), "{text}");
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.contains("db_pool_connections"), "{text}");
    assert!(text.contains("cache_misses_total"), "{text}");
}

#[tokio::test]
async fn the_api_documentation_is_served_offline() {
    let app = spawn_app().await;
    let res = app.get("/openapi.json", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let spec: Value = res.json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(spec["paths"]["/api/v1/auth/wechat/login"].is_object());

    let res = app.get("/docs/", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // Served by canyu itself: no CDN on a government intranet.
    assert!(!html.contains("cdn."), "{html}");
    let res = app.get("/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn connections_past_the_cap_wait_in_the_backlog_instead_of_being_refused() {
    // Two workers, so one connection each.
    let app = crate::helpers::spawn_app_with(|s| s.max_connections = 2).await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    // Two idle connections take both places until the server drops them for sending nothing.
    let mut idle = Vec::new();
    for _ in 0..2 {
        idle.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let res = fresh.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "the request waited for a place: {:?}",
        started.elapsed()
    );
    // Twenty more at once, each on its own connection: all answered, none refused.
    let all =
        futures_util::future::join_all((0..20).map(|_| fresh.get(app.url("/healthz")).send()))
            .await;
    for res in all {
        assert_eq!(res.unwrap().status(), StatusCode::OK);
    }
    drop(idle);
}
