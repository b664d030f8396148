//! Redis is an accelerator: when it is unreachable the service keeps answering.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::spawn_app_with;

#[tokio::test]
async fn with_redis_unreachable_the_service_keeps_answering_from_the_database() {
    // Nothing listens on port 1.
    let app = spawn_app_with(|s| s.redis_url = "redis://127.0.0.1:1".into()).await;

    let res = app.get("/readyz", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_eq!(body["cache"], "degraded");
    assert_eq!(body["cache_kind"], "redis");

    let resident = app.login_resident("o-no-redis").await;
    let res = app
        .patch(
            "/api/v1/me",
            Some(&resident.access_token),
            &json!({ "nickname": "小李" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = app
        .get("/api/v1/me", Some(&resident.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["nickname"], "小李");

    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("cache_errors_total"), "{metrics}");
}
