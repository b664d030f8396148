//! Residents' free text goes through WeChat's msg_sec_check (v2); WeChat is a local stub
//! speaking its real formats.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{body_partial_json, method, path, query_param},
};

use crate::helpers::{Session, TestApp, assert_problem, fields, spawn_app, spawn_app_with};

async fn server_token_is(app: &TestApp, token: &str) {
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "access_token": token, "expires_in": 7200 })),
        )
        .mount(&app.wechat)
        .await;
}

fn verdict(suggest: &str, label: u32) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "errcode": 0,
        "errmsg": "ok",
        "result": { "suggest": suggest, "label": label },
        "detail": [
            { "strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label, "prob": 90 },
            { "strategy": "keyword", "errcode": 0, "suggest": suggest, "label": label, "level": 20, "keyword": "x" }
        ],
        "trace_id": "60ae120f-371d5872-7941a05b"
    }))
}

/// WeChat answers `answer` for exactly this text from this resident, `times` times.
async fn wechat_judges(
    app: &TestApp,
    openid: &str,
    content: &str,
    answer: ResponseTemplate,
    times: u64,
) {
    Mock::given(method("POST"))
        .and(path("/wxa/msg_sec_check"))
        .and(query_param("access_token", "SEC-TOKEN"))
        .and(body_partial_json(json!({
            "content": content,
            "version": 2,
            "scene": 1,
            "openid": openid,
        })))
        .respond_with(answer)
        .expect(times)
        .mount(&app.wechat)
        .await;
}

async fn me(app: &TestApp, who: &Session) -> Value {
    app.get("/api/v1/me", Some(&who.access_token))
        .await
        .json()
        .await
        .unwrap()
}

async fn patch_me(app: &TestApp, who: &Session, body: Value) -> reqwest::Response {
    app.patch("/api/v1/me", Some(&who.access_token), &body)
        .await
}

#[tokio::test]
async fn risky_text_is_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    server_token_is(&app, "SEC-TOKEN").await;
    wechat_judges(&app, "o-risky", "违规昵称", verdict("risky", 20001), 1).await;
    wechat_judges(&app, "o-risky", "前海东沿社区", verdict("pass", 100), 1).await;
    let resident = app.login_resident("o-risky").await;

    let res = patch_me(
        &app,
        &resident,
        json!({ "nickname": "违规昵称", "community": "前海东沿社区", "home_subdistrict": "shichahai" }),
    )
    .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "content_rejected").await;
    assert_eq!(fields(&problem), ["nickname"]);
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("安全检测")
    );

    let now = me(&app, &resident).await;
    assert!(now["nickname"].is_null(), "{now}");
    assert!(now["community"].is_null(), "{now}");
    assert!(now["home_subdistrict"].is_null(), "{now}");
}

#[tokio::test]
async fn text_that_passes_is_stored_and_not_checked_again_when_unchanged() {
    let app = spawn_app().await;
    server_token_is(&app, "SEC-TOKEN").await;
    wechat_judges(&app, "o-pass", "胡同里的老王", verdict("pass", 100), 1).await;
    let resident = app.login_resident("o-pass").await;

    let res = patch_me(&app, &resident, json!({ "nickname": " 胡同里的老王 " })).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(me(&app, &resident).await["nickname"], "胡同里的老王");

    // The same nickname again costs WeChat nothing (`expect(1)` is checked on drop).
    let res = patch_me(&app, &resident, json!({ "nickname": "胡同里的老王" })).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn text_for_review_is_stored_and_flagged() {
    let app = spawn_app().await;
    server_token_is(&app, "SEC-TOKEN").await;
    wechat_judges(&app, "o-review", "白纸坊社区", verdict("review", 21000), 1).await;
    let resident = app.login_resident("o-review").await;

    let res = patch_me(&app, &resident, json!({ "community": "白纸坊社区" })).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(me(&app, &resident).await["community"], "白纸坊社区");
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains(r#"content_flagged_total{reason="review"}"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn when_wechat_is_busy_residents_are_not_blocked() {
    let app = spawn_app().await;
    server_token_is(&app, "SEC-TOKEN").await;
    wechat_judges(
        &app,
        "o-busy",
        "小李",
        ResponseTemplate::new(200)
            .set_body_json(json!({ "errcode": -1, "errmsg": "system error" })),
        1,
    )
    .await;
    wechat_judges(
        &app,
        "o-busy",
        "新街口社区",
        ResponseTemplate::new(502).set_body_string("Bad Gateway"),
        1,
    )
    .await;
    let resident = app.login_resident("o-busy").await;

    let res = patch_me(
        &app,
        &resident,
        json!({ "nickname": "小李", "community": "新街口社区" }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let now = me(&app, &resident).await;
    assert_eq!(now["nickname"], "小李");
    assert_eq!(now["community"], "新街口社区");
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains(r#"content_flagged_total{reason="unavailable"}"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn when_wechat_times_out_the_text_is_stored_anyway() {
    let app = spawn_app().await;
    server_token_is(&app, "SEC-TOKEN").await;
    // Past the 1 s WeChat timeout of the tests.
    wechat_judges(
        &app,
        "o-slow",
        "慢慢来",
        verdict("risky", 20001).set_delay(Duration::from_millis(2_500)),
        1,
    )
    .await;
    let resident = app.login_resident("o-slow").await;

    let res = patch_me(&app, &resident, json!({ "nickname": "慢慢来" })).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(me(&app, &resident).await["nickname"], "慢慢来");
}

#[tokio::test]
async fn an_expired_server_token_is_refreshed_for_the_check() {
    let app = spawn_app().await;
    Mock::given(path("/cgi-bin/stable_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "access_token": "OLD", "expires_in": 7200 })),
        )
        .up_to_n_times(1)
        .mount(&app.wechat)
        .await;
    server_token_is(&app, "SEC-TOKEN").await;
    Mock::given(path("/wxa/msg_sec_check"))
        .and(query_param("access_token", "OLD"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "errcode": 42001, "errmsg": "access_token expired" })),
        )
        .expect(1)
        .mount(&app.wechat)
        .await;
    wechat_judges(&app, "o-stale", "坏词", verdict("risky", 20003), 1).await;
    let resident = app.login_resident("o-stale").await;

    let res = patch_me(&app, &resident, json!({ "nickname": "坏词" })).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "content_rejected").await;
    assert!(me(&app, &resident).await["nickname"].is_null());
}

#[tokio::test]
async fn without_wechat_configured_the_check_is_skipped() {
    let app = spawn_app_with(|s| {
        s.wechat_appid = String::new();
        s.wechat_secret = None;
    })
    .await;
    Mock::given(path("/wxa/msg_sec_check"))
        .respond_with(verdict("risky", 20001))
        .expect(0)
        .mount(&app.wechat)
        .await;
    let resident = app.login_resident("o-local").await;
    let res = patch_me(&app, &resident, json!({ "nickname": "本地开发" })).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(me(&app, &resident).await["nickname"], "本地开发");
}
