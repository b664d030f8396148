//! Token-bucket limits: logins per client address, submissions per resident, shared by every
//! instance when they share Redis.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, session_from, spawn_app_with};

fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in whole seconds")
}

async fn assert_rate_limited(res: reqwest::Response) -> u64 {
    let secs = retry_after(&res);
    let body = assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(
        body["detail"].as_str().unwrap().contains("秒后再试"),
        "{body}"
    );
    secs
}

async fn login_from(app: &TestApp, openid: &str, forwarded_for: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/auth/dev-login"))
        .header("X-Forwarded-For", forwarded_for)
        .json(&json!({ "openid": openid }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_eleventh_login_in_a_minute_from_one_address_is_429() {
    let app = spawn_app_with(|s| s.rate_limit_login_per_min = 10).await;
    let mut sessions = Vec::new();
    for i in 0..10 {
        sessions.push(session_from(app.dev_login(&format!("o-login-{i}")).await).await);
    }
    let secs = assert_rate_limited(app.dev_login("o-login-10").await).await;
    // One token comes back every six seconds.
    assert!((1..=6).contains(&secs), "Retry-After {secs}");

    // Every way of getting tokens shares the bucket.
    assert_rate_limited(
        app.login_staff(
            crate::helpers::ADMIN_USERNAME,
            crate::helpers::ADMIN_PASSWORD,
        )
        .await,
    )
    .await;
    assert_rate_limited(
        app.post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": sessions[0].refresh_token }),
        )
        .await,
    )
    .await;
    // Nobody is kept from what they may already do.
    let token = Some(sessions[0].access_token.as_str());
    assert_eq!(app.get("/api/v1/me", token).await.status(), StatusCode::OK);
    let logout = app.post("/api/v1/auth/logout", token, &json!({})).await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_address_has_its_own_bucket() {
    let app = spawn_app_with(|s| {
        s.rate_limit_login_per_min = 2;
        s.trust_proxy = true;
    })
    .await;
    for i in 0..2 {
        let res = login_from(&app, &format!("o-a-{i}"), "198.51.100.1").await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert_rate_limited(login_from(&app, "o-a-2", "198.51.100.1").await).await;
    // What the client wrote before the proxy's entry does not buy a new bucket.
    assert_rate_limited(login_from(&app, "o-a-3", "203.0.113.99, 198.51.100.1").await).await;
    // Another address is unaffected.
    let other = login_from(&app, "o-b-0", "198.51.100.2").await;
    assert_eq!(other.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_a_trusted_proxy_x_forwarded_for_is_ignored() {
    let app = spawn_app_with(|s| s.rate_limit_login_per_min = 2).await;
    assert_eq!(
        login_from(&app, "o-s-0", "198.51.100.1").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        login_from(&app, "o-s-1", "198.51.100.2").await.status(),
        StatusCode::OK
    );
    assert_rate_limited(login_from(&app, "o-s-2", "198.51.100.3").await).await;
}

#[tokio::test]
async fn a_resident_over_the_submission_limit_does_not_slow_down_another() {
    let app = spawn_app_with(|s| s.rate_limit_submit_per_min = 3).await;
    let busy = app.login_resident("o-busy").await;
    let calm = app.login_resident("o-calm").await;
    for i in 0..3 {
        let res = app
            .patch(
                "/api/v1/me",
                Some(&busy.access_token),
                &json!({ "nickname": format!("第{i}次") }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let over = app
        .patch(
            "/api/v1/me",
            Some(&busy.access_token),
            &json!({ "nickname": "第四次" }),
        )
        .await;
    assert_rate_limited(over).await;
    let me: Value = app
        .get("/api/v1/me", Some(&busy.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        me["nickname"], "第2次",
        "the refused change was not written"
    );

    let res = app
        .patch(
            "/api/v1/me",
            Some(&calm.access_token),
            &json!({ "nickname": "不受影响" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// Requests that arrive at once are checked at once (with Redis, each by one atomic script,
/// side by side on one connection): each resident's bucket still gives exactly its burst,
/// however her requests interleave with another's.
#[tokio::test]
async fn a_burst_of_simultaneous_requests_gets_exactly_the_limit_per_resident() {
    let app = spawn_app_with(|s| s.rate_limit_submit_per_min = 5).await;
    let residents = [
        app.login_resident("o-burst-a").await,
        app.login_resident("o-burst-b").await,
    ];
    let calls = (0..24).map(|i| {
        let who = &residents[i % 2];
        let app = &app;
        async move {
            let res = app
                .patch(
                    "/api/v1/me",
                    Some(&who.access_token),
                    &json!({ "nickname": format!("第{i}次") }),
                )
                .await;
            (i % 2, res.status())
        }
    });
    let mut allowed = [0, 0];
    for (who, status) in futures_util::future::join_all(calls).await {
        match status {
            StatusCode::OK => allowed[who] += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(allowed, [5, 5], "each resident gets her burst of five");
    for who in &residents {
        let over = app
            .patch(
                "/api/v1/me",
                Some(&who.access_token),
                &json!({ "nickname": "再来" }),
            )
            .await;
        assert_rate_limited(over).await;
    }
}

#[tokio::test]
async fn limits_hold_across_two_instances_sharing_redis() {
    let first = spawn_app_with(|s| s.rate_limit_login_per_min = 3).await;
    let shared = first.settings.clone();
    // Same database, same Redis and key prefix, same token secret: two instances of one
    // deployment behind a load balancer.
    let second = spawn_app_with(move |s| {
        s.database_url = shared.database_url.clone();
        s.data_dir = shared.data_dir.clone();
        s.redis_url = shared.redis_url.clone();
        s.cache_prefix = shared.cache_prefix.clone();
        s.jwt_secret = shared.jwt_secret.clone();
        s.rate_limit_login_per_min = 3;
    })
    .await;
    let apps = [&first, &second];
    let mut statuses = Vec::new();
    for i in 0..6 {
        let res = apps[i % 2].dev_login(&format!("o-lb-{i}")).await;
        statuses.push(res.status());
    }
    if first.settings.redis_url.is_empty() {
        // Embedded mode: each process keeps its own buckets, so each allows its own three.
        assert!(
            statuses.iter().all(|s| *s == StatusCode::OK),
            "{statuses:?}"
        );
        assert_rate_limited(first.dev_login("o-lb-6").await).await;
        assert_rate_limited(second.dev_login("o-lb-7").await).await;
    } else {
        // With Redis the two count against one bucket: three in all, wherever they land.
        let ok = StatusCode::OK;
        let limited = StatusCode::TOO_MANY_REQUESTS;
        assert_eq!(statuses, [ok, ok, ok, limited, limited, limited]);
        assert_rate_limited(first.dev_login("o-lb-6").await).await;
        assert_rate_limited(second.dev_login("o-lb-7").await).await;
    }
}

#[tokio::test]
async fn with_redis_unreachable_limits_let_requests_through() {
    // Nothing listens on port 1.
    let app = spawn_app_with(|s| {
        s.redis_url = "redis://127.0.0.1:1".into();
        s.rate_limit_login_per_min = 1;
    })
    .await;
    for i in 0..3 {
        let res = app.dev_login(&format!("o-open-{i}")).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains("rate_limit_unchecked_total"), "{metrics}");
}
