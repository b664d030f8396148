//! Two instances on one Redis keep near (in-process) copies of hot shared entries, so the hot
//! paths cost no Redis round trip; a change made through one instance reaches the other at
//! once. These tests always use Redis (CI starts it): the in-process cache has nothing to share.

use std::time::{Duration, Instant};

use canyu::startup::Application;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app_with};

/// Well under the one-second life of a near copy: passing within it shows the announcement,
/// not the expiry, made the change visible.
const AT_ONCE: Duration = Duration::from_millis(300);

async fn app_on_redis() -> TestApp {
    spawn_app_with(|s| {
        if s.redis_url.trim().is_empty() {
            s.redis_url =
                std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        }
    })
    .await
}

/// A second instance of `app` (same database and Redis), answering HTTP at the returned base.
async fn second_instance(app: &TestApp) -> String {
    let built = if app.pg_database.is_some() {
        Application::build(app.settings.clone()).await
    } else {
        Application::build_with_db(app.settings.clone(), app.state.db.clone()).await
    }
    .expect("second instance builds");
    let base = format!("http://127.0.0.1:{}", built.port());
    tokio::spawn(built.run_until_stopped());
    // Let both instances subscribe to the cache bus; until then they read Redis directly,
    // which would let these tests pass without exercising the near copies.
    tokio::time::sleep(Duration::from_millis(300)).await;
    base
}

async fn get(app: &TestApp, base: &str, path: &str, token: &str) -> reqwest::Response {
    app.client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_logout_through_one_instance_ends_the_token_on_the_other_at_once() {
    let app = app_on_redis().await;
    let other = second_instance(&app).await;
    let resident = app.login_resident("o-two-doors").await;
    // Known to the other instance as valid first.
    let res = get(&app, &other, "/api/v1/me", &resident.access_token).await;
    assert_eq!(res.status(), StatusCode::OK);

    let res = app
        .post(
            "/api/v1/auth/logout",
            Some(&resident.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let started = Instant::now();
    loop {
        let res = get(&app, &other, "/api/v1/me", &resident.access_token).await;
        if res.status() == StatusCode::UNAUTHORIZED {
            assert_problem(res, StatusCode::UNAUTHORIZED, "token_revoked").await;
            break;
        }
        assert!(
            started.elapsed() < AT_ONCE,
            "the other instance still accepts a logged-out token after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Another resident's token is untouched.
    let someone = app.login_resident("o-still-in").await;
    let res = get(&app, &other, "/api/v1/me", &someone.access_token).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_new_version_and_a_close_through_one_instance_are_served_by_the_other_at_once() {
    let app = app_on_redis().await;
    let other = second_instance(&app).await;
    let staff = app.staff_of("shi.near", "shichahai").await;
    let mut body = json!({
        "title": "胡同停车意见征集",
        "org_unit": "shichahai",
        "audience": ["shichahai"],
        "pages": [{ "id": "p1", "questions": [
            { "id": "ok", "type": "single", "title": "您是否支持错时停车？", "required": true,
              "options": [ {"id": "yes", "label": "支持"}, {"id": "no", "label": "不支持"} ] }
        ]}]
    });
    let id = app.published_survey(&staff, &body).await;
    let resident = app.resident_of("o-near", "shichahai").await;
    let path = format!("/api/v1/surveys/{id}");

    // The other instance serves version 1 (and now holds it near).
    for _ in 0..3 {
        let seen: Value = get(&app, &other, &path, &resident.access_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(seen["version"], 1);
    }

    body["pages"][0]["questions"][0]["options"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "id": "unsure", "label": "说不清" }));
    let res = app
        .request(Method::PUT, &path, Some(&staff.access_token), Some(&body))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .post(
            &format!("{path}/publish"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let started = Instant::now();
    loop {
        let seen: Value = get(&app, &other, &path, &resident.access_token)
            .await
            .json()
            .await
            .unwrap();
        if seen["version"] == 2 {
            break;
        }
        assert!(
            started.elapsed() < AT_ONCE,
            "the other instance still serves version {} after {:?}",
            seen["version"],
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let res = app
        .post(
            &format!("{path}/close"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let started = Instant::now();
    loop {
        let res = app
            .client
            .post(format!("{other}{path}/responses"))
            .bearer_auth(&resident.access_token)
            .json(&json!({ "version": 2, "answers": { "ok": "yes" } }))
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::CONFLICT {
            assert_problem(res, StatusCode::CONFLICT, "survey_closed").await;
            break;
        }
        assert!(
            started.elapsed() < AT_ONCE,
            "the other instance still takes answers to a closed survey ({}) after {:?}",
            res.status(),
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Its questionnaire, served from the copy it held with the pointer, says so too.
    let res = get(&app, &other, &path, &resident.access_token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["etag"]
            .to_str()
            .unwrap()
            .ends_with("-v2-closed\""),
        "{:?}",
        res.headers()
    );
    let seen: Value = res.json().await.unwrap();
    assert_eq!(
        (seen["version"].as_i64(), seen["status"].as_str()),
        (Some(2), Some("closed"))
    );
}
