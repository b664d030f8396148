//! Residents log in through WeChat; WeChat is a local stub speaking its real formats.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{body_partial_json, method, path, query_param},
};

use crate::helpers::{TestApp, assert_problem, session_from, spawn_app};

/// WeChat answers `jscode2session` with `text/plain` JSON.
fn wechat_answer(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body.to_string(), "text/plain")
}

async fn code2session_answers(app: &TestApp, code: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path("/sns/jscode2session"))
        .and(query_param("appid", "wx-test-appid"))
        .and(query_param("secret", "wx-test-secret"))
        .and(query_param("js_code", code))
        .and(query_param("grant_type", "authorization_code"))
        .respond_with(wechat_answer(body))
        .mount(&app.wechat)
        .await;
}

async fn wechat_login(app: &TestApp, code: &str) -> reqwest::Response {
    app.post("/api/v1/auth/wechat/login", None, &json!({ "code": code }))
        .await
}

#[tokio::test]
async fn a_resident_logs_in_with_wechat_and_comes_back_as_the_same_person() {
    let app = spawn_app().await;
    // Success comes without errcode at all.
    code2session_answers(
        &app,
        "code-1",
        json!({ "openid": "o-wang", "session_key": "SECRET-SESSION-KEY", "unionid": "u-wang" }),
    )
    .await;
    code2session_answers(
        &app,
        "code-2",
        json!({ "openid": "o-wang", "session_key": "k2" }),
    )
    .await;

    let res = wechat_login(&app, "code-1").await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(
        !text.contains("SECRET-SESSION-KEY"),
        "session_key leaked: {text}"
    );
    assert!(!text.contains("session_key"), "{text}");
    let first: Value = serde_json::from_str(&text).unwrap();
    for key in ["access_token", "refresh_token", "expires_in", "user"] {
        assert!(!first[key].is_null(), "{key} missing: {first}");
    }
    assert_eq!(first["expires_in"], 7200);
    assert_eq!(first["user"]["role"], "resident");

    let second = session_from(wechat_login(&app, "code-2").await).await;
    assert_eq!(second.user["id"], first["user"]["id"]);

    let me: Value = app
        .get("/api/v1/me", Some(&second.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["id"], first["user"]["id"]);
}

#[tokio::test]
async fn an_errcode_zero_success_is_accepted_too() {
    let app = spawn_app().await;
    code2session_answers(
        &app,
        "code-z",
        json!({ "errcode": 0, "errmsg": "ok", "openid": "o-zero", "session_key": "k" }),
    )
    .await;
    assert_eq!(wechat_login(&app, "code-z").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_invalid_code_is_401() {
    let app = spawn_app().await;
    code2session_answers(
        &app,
        "bad",
        json!({ "errcode": 40029, "errmsg": "invalid code, rid: 1" }),
    )
    .await;
    let res = wechat_login(&app, "bad").await;
    assert!(res.headers().contains_key("www-authenticate"));
    assert_problem(res, StatusCode::UNAUTHORIZED, "wechat_code_invalid").await;
}

#[tokio::test]
async fn a_used_code_is_401_as_well() {
    let app = spawn_app().await;
    code2session_answers(
        &app,
        "used",
        json!({ "errcode": 40163, "errmsg": "code been used" }),
    )
    .await;
    assert_problem(
        wechat_login(&app, "used").await,
        StatusCode::UNAUTHORIZED,
        "wechat_code_invalid",
    )
    .await;
}

#[tokio::test]
async fn wechat_rate_limiting_is_429_with_retry_after() {
    let app = spawn_app().await;
    code2session_answers(
        &app,
        "busy",
        json!({ "errcode": 45011, "errmsg": "api minute-quota reach limit  mustslower  retry next minute" }),
    )
    .await;
    let res = wechat_login(&app, "busy").await;
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS, "wechat_rate_limited").await;
}

#[tokio::test]
async fn a_blocked_wechat_user_is_403() {
    let app = spawn_app().await;
    code2session_answers(
        &app,
        "risky",
        json!({ "errcode": 40226, "errmsg": "code blocked" }),
    )
    .await;
    assert_problem(
        wechat_login(&app, "risky").await,
        StatusCode::FORBIDDEN,
        "wechat_user_blocked",
    )
    .await;
}

#[tokio::test]
async fn a_busy_wechat_is_503() {
    let app = spawn_app().await;
    code2session_answers(
        &app,
        "sys",
        json!({ "errcode": -1, "errmsg": "system error" }),
    )
    .await;
    assert_problem(
        wechat_login(&app, "sys").await,
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream_unavailable",
    )
    .await;
}

#[tokio::test]
async fn a_wechat_timeout_is_503_and_nobody_is_created() {
    let app = spawn_app().await;
    Mock::given(path("/sns/jscode2session"))
        .respond_with(
            wechat_answer(json!({ "openid": "o-slow", "session_key": "k" }))
                .set_delay(Duration::from_millis(2_500)),
        )
        .mount(&app.wechat)
        .await;
    assert_problem(
        wechat_login(&app, "slow").await,
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream_unavailable",
    )
    .await;
}

#[tokio::test]
async fn an_empty_code_never_reaches_wechat() {
    let app = spawn_app().await;
    Mock::given(path("/sns/jscode2session"))
        .respond_with(wechat_answer(json!({ "openid": "o" })))
        .expect(0)
        .mount(&app.wechat)
        .await;
    let res = wechat_login(&app, "").await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

async fn stable_token_answers(app: &TestApp, token: &str, times: u64) {
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .and(body_partial_json(json!({
            "grant_type": "client_credential",
            "appid": "wx-test-appid",
            "secret": "wx-test-secret",
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "access_token": token, "expires_in": 7200 }))
                .set_delay(Duration::from_millis(200)),
        )
        .up_to_n_times(times)
        .expect(times)
        .mount(&app.wechat)
        .await;
}

fn phone_answer(number: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            "phoneNumber": number,
            "purePhoneNumber": number,
            "countryCode": "86",
            "watermark": { "timestamp": 1_795_000_000, "appid": "wx-test-appid" }
        }
    }))
}

#[tokio::test]
async fn residents_bind_their_phone_and_the_server_token_is_fetched_once_under_a_burst() {
    let app = spawn_app().await;
    stable_token_answers(&app, "ACCESS-1", 1).await;
    Mock::given(method("POST"))
        .and(path("/wxa/business/getuserphonenumber"))
        .and(query_param("access_token", "ACCESS-1"))
        .respond_with(phone_answer("13812345678"))
        .mount(&app.wechat)
        .await;

    let mut residents = Vec::new();
    for i in 0..8 {
        residents.push(app.login_resident(&format!("o-phone-{i}")).await);
    }
    let body = json!({ "code": "phone-code" });
    let calls = residents
        .iter()
        .map(|r| app.post("/api/v1/me/phone", Some(&r.access_token), &body));
    for res in futures_util::future::join_all(calls).await {
        assert_eq!(res.status(), StatusCode::OK);
        let me: Value = res.json().await.unwrap();
        // The full number is never sent back.
        assert_eq!(me["phone"], "138****5678");
    }
    // `expect(1)` on the token stub is checked when the stub server drops.
}

#[tokio::test]
async fn an_expired_server_token_is_refreshed_and_the_call_retried() {
    let app = spawn_app().await;
    Mock::given(path("/cgi-bin/stable_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "access_token": "OLD", "expires_in": 7200 })),
        )
        .up_to_n_times(1)
        .mount(&app.wechat)
        .await;
    Mock::given(path("/cgi-bin/stable_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "access_token": "NEW", "expires_in": 7200 })),
        )
        .mount(&app.wechat)
        .await;
    Mock::given(path("/wxa/business/getuserphonenumber"))
        .and(query_param("access_token", "OLD"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "errcode": 42001, "errmsg": "access_token expired" })),
        )
        .mount(&app.wechat)
        .await;
    Mock::given(path("/wxa/business/getuserphonenumber"))
        .and(query_param("access_token", "NEW"))
        .respond_with(phone_answer("13900001111"))
        .mount(&app.wechat)
        .await;

    let resident = app.login_resident("o-retry").await;
    let res = app
        .post(
            "/api/v1/me/phone",
            Some(&resident.access_token),
            &json!({ "code": "c" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["phone"], "139****1111");
}

#[tokio::test]
async fn an_invalid_phone_code_is_422_and_stores_nothing() {
    let app = spawn_app().await;
    stable_token_answers(&app, "T", 1).await;
    Mock::given(path("/wxa/business/getuserphonenumber"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "errcode": 40029, "errmsg": "invalid code" })),
        )
        .mount(&app.wechat)
        .await;
    let resident = app.login_resident("o-badphone").await;
    let res = app
        .post(
            "/api/v1/me/phone",
            Some(&resident.access_token),
            &json!({ "code": "bad" }),
        )
        .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "wechat_code_invalid").await;
    let me: Value = app
        .get("/api/v1/me", Some(&resident.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert!(me["phone"].is_null());
}
