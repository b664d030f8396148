//! Residents hear back: every notice lands in the in-app inbox, and goes out as a WeChat
//! subscribe message when the resident granted one. WeChat is a local stub.

use std::collections::BTreeMap;

use canyu::{
    entities::notifications,
    jobs::Tick,
    notifications::{Notice, NoticeKind},
};
use chrono::Utc;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait, sea_query::Expr};
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::{
    Mock, MockBuilder, ResponseTemplate,
    matchers::{body_partial_json, method, path, query_param},
};

use crate::helpers::{Session, TestApp, assert_problem, spawn_app, spawn_app_with};

pub const WELCOME_TEMPLATE: &str = "tmpl-welcome-0001";
pub const UPDATE_TEMPLATE: &str = "tmpl-deliberation-0002";
pub const SEND_PATH: &str = "/cgi-bin/message/subscribe/send";

/// The service with subscribe-message templates for welcomes and deliberation updates.
pub async fn spawn_app_with_templates() -> TestApp {
    spawn_app_with(with_templates).await
}

pub fn with_templates(s: &mut canyu::config::Settings) {
    s.wechat_templates
        .insert("welcome".into(), WELCOME_TEMPLATE.into());
    s.wechat_templates
        .insert("deliberation_update".into(), UPDATE_TEMPLATE.into());
}

/// WeChat hands out this server access token.
pub async fn wechat_token_is(app: &TestApp, token: &str) {
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "access_token": token, "expires_in": 7200 })),
        )
        .mount(&app.wechat)
        .await;
}

pub fn subscribe_send() -> MockBuilder {
    Mock::given(method("POST")).and(path(SEND_PATH))
}

pub fn wechat_says(errcode: i64, errmsg: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "errcode": errcode, "errmsg": errmsg }))
}

/// The resident's only notice so far: the welcome of their first login.
pub async fn welcome_id(app: &TestApp, who: &Session) -> String {
    let inbox = app.inbox(who).await;
    let item = &inbox["items"][0];
    assert_eq!(item["kind"], "welcome", "{inbox}");
    item["id"].as_str().unwrap().to_owned()
}

fn resident_id(who: &Session) -> Uuid {
    who.user["id"].as_str().unwrap().parse().unwrap()
}

fn deliberation_update(title: &str) -> Notice {
    Notice {
        kind: NoticeKind::DeliberationUpdate,
        title: title.to_owned(),
        body: "议事会已形成初步方案，欢迎查看并继续发表意见。".to_owned(),
        page: Some("pages/deliberation/detail?id=42".to_owned()),
        data: BTreeMap::from([
            ("thing1".to_owned(), title.to_owned()),
            ("phrase2".to_owned(), "已形成方案".to_owned()),
        ]),
    }
}

/// Whatever a failed try scheduled, it is due now (as if the wait had passed).
pub async fn let_the_wait_pass(app: &TestApp) {
    notifications::Entity::update_many()
        .col_expr(
            notifications::Column::NextAttemptAt,
            Expr::value(Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(notifications::Column::DeliveryState.eq("pending"))
        .exec(&app.state.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_change_that_rolls_back_sends_nothing_and_leaves_no_inbox_item() {
    let app = spawn_app_with_templates().await;
    wechat_token_is(&app, "ACCESS").await;
    subscribe_send()
        .and(body_partial_json(json!({ "template_id": UPDATE_TEMPLATE })))
        .respond_with(wechat_says(0, "ok"))
        .expect(0)
        .mount(&app.wechat)
        .await;
    let zhang = app.login_resident("o-zhang").await;
    app.accept_subscription(&zhang, UPDATE_TEMPLATE).await;

    // A feature writes its change and the notice, then the change fails and rolls back.
    let txn = app.state.db.begin().await.unwrap();
    canyu::notifications::enqueue(
        &txn,
        resident_id(&zhang),
        deliberation_update("背街小巷停车议事"),
    )
    .await
    .unwrap();
    txn.rollback().await.unwrap();

    assert_eq!(app.run_job("outbox").await, Tick::Ran);
    let inbox = app.inbox(&zhang).await;
    let kinds: Vec<&str> = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["welcome"]);
    // The grant is still there for a notice that does happen.
    let still = app
        .post(
            "/api/v1/me/subscriptions",
            Some(&zhang.access_token),
            &json!({ "template_id": UPDATE_TEMPLATE, "accepted": false }),
        )
        .await;
    assert_eq!(still.json::<Value>().await.unwrap()["remaining"], 1);
}

#[tokio::test]
async fn a_committed_change_reaches_the_inbox_and_wechat() {
    let app = spawn_app_with_templates().await;
    wechat_token_is(&app, "ACCESS").await;
    subscribe_send()
        .and(query_param("access_token", "ACCESS"))
        .and(body_partial_json(json!({
            "touser": "o-zhao",
            "template_id": UPDATE_TEMPLATE,
            "page": "pages/deliberation/detail?id=42",
            "data": {
                // Cut to WeChat's 20 characters rather than refused.
                "thing1": { "value": "关于什刹海周边胡同机动车停车难问题的第…" },
                "phrase2": { "value": "已形成方案" },
            },
        })))
        .respond_with(wechat_says(0, "ok"))
        .expect(1)
        .mount(&app.wechat)
        .await;
    let zhao = app.login_resident("o-zhao").await;
    app.accept_subscription(&zhao, UPDATE_TEMPLATE).await;

    let txn = app.state.db.begin().await.unwrap();
    let id = canyu::notifications::enqueue(
        &txn,
        resident_id(&zhao),
        deliberation_update("关于什刹海周边胡同机动车停车难问题的第二轮议事"),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();

    assert_eq!(app.run_job("outbox").await, Tick::Ran);
    let inbox = app.inbox(&zhao).await;
    assert_eq!(inbox["items"][0]["id"], id.to_string());
    assert_eq!(inbox["unread_count"], 2);
    assert_eq!(
        app.delivery_of(&id.to_string()).await.delivery_state,
        "sent"
    );
}

#[tokio::test]
async fn first_login_brings_a_welcome_that_only_its_resident_can_read() {
    let app = spawn_app().await;
    let wang = app.login_resident("o-wang").await;

    let inbox = app.inbox(&wang).await;
    assert_eq!(inbox["unread_count"], 1);
    assert_eq!(inbox["items"].as_array().unwrap().len(), 1);
    let welcome = &inbox["items"][0];
    assert_eq!(welcome["kind"], "welcome");
    assert!(welcome["title"].as_str().unwrap().contains("欢迎"));
    assert!(welcome["read_at"].is_null());
    let id = welcome["id"].as_str().unwrap();

    // A neighbour cannot read it, nor learn that it exists.
    let li = app.login_resident("o-li").await;
    let read = format!("/api/v1/me/notifications/{id}/read");
    let res = app.post(&read, Some(&li.access_token), &json!({})).await;
    assert_problem(res, StatusCode::NOT_FOUND, "notification_not_found").await;
    assert_eq!(app.inbox(&wang).await["unread_count"], 1);

    let res = app.post(&read, Some(&wang.access_token), &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let first: Value = res.json().await.unwrap();
    assert!(first["read_at"].is_string());
    let inbox = app.inbox(&wang).await;
    assert_eq!(inbox["unread_count"], 0);
    assert_eq!(inbox["items"][0]["read_at"], first["read_at"]);

    // Reading again changes nothing; logging in again brings no second welcome.
    let again: Value = app
        .post(&read, Some(&wang.access_token), &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["read_at"], first["read_at"]);
    let wang = app.login_resident("o-wang").await;
    assert_eq!(app.inbox(&wang).await["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_inbox_pages_newest_first() {
    let app = spawn_app().await;
    let sun = app.login_resident("o-sun").await;
    for i in 0..3 {
        let txn = app.state.db.begin().await.unwrap();
        canyu::notifications::enqueue(
            &txn,
            resident_id(&sun),
            deliberation_update(&format!("议事{i}")),
        )
        .await
        .unwrap();
        txn.commit().await.unwrap();
    }
    let res = app
        .get("/api/v1/me/notifications?limit=2", Some(&sun.access_token))
        .await;
    let first: Value = res.json().await.unwrap();
    let titles: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["议事2", "议事1"]);
    assert_eq!(first["unread_count"], 4);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = app
        .get(
            &format!("/api/v1/me/notifications?limit=2&cursor={cursor}"),
            Some(&sun.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["deliberation_update", "welcome"]);
    assert!(second["next_cursor"].is_null());

    let res = app
        .get("/api/v1/me/notifications?limit=0", Some(&sun.access_token))
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_query").await;
}

#[tokio::test]
async fn staff_have_no_resident_inbox() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let res = app
        .get("/api/v1/me/notifications", Some(&admin.access_token))
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "resident_only").await;
    let res = app.get("/api/v1/me/notifications", None).await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "token_missing").await;
}

#[tokio::test]
async fn with_a_grant_the_welcome_goes_to_wechat_once_with_the_exact_body() {
    let app = spawn_app_with_templates().await;
    wechat_token_is(&app, "ACCESS-1").await;
    subscribe_send()
        .and(query_param("access_token", "ACCESS-1"))
        .and(body_partial_json(json!({
            "touser": "o-chen",
            "template_id": WELCOME_TEMPLATE,
            "page": "pages/index/index",
            "lang": "zh_CN",
            "data": {
                "thing1": { "value": "欢迎来到西城区居民参与平台" },
                "thing2": { "value": "问卷、议事、体验员和开放日" },
            },
        })))
        .respond_with(wechat_says(0, "ok"))
        .expect(1)
        .mount(&app.wechat)
        .await;

    let chen = app.login_resident("o-chen").await;
    let granted = app.accept_subscription(&chen, WELCOME_TEMPLATE).await;
    assert_eq!(
        granted,
        json!({ "template_id": WELCOME_TEMPLATE, "remaining": 1 })
    );
    let id = welcome_id(&app, &chen).await;

    assert_eq!(app.run_job("outbox").await, Tick::Ran);
    let row = app.delivery_of(&id).await;
    assert_eq!(row.delivery_state, "sent");
    assert_eq!(row.attempts, 1);
    assert!(row.sent_at.is_some());
    // The grant is spent, and a later tick sends nothing more (`expect(1)`).
    assert_eq!(app.run_job("outbox").await, Tick::Ran);
    let left = app
        .post(
            "/api/v1/me/subscriptions",
            Some(&chen.access_token),
            &json!({ "template_id": WELCOME_TEMPLATE, "accepted": false }),
        )
        .await;
    assert_eq!(left.json::<Value>().await.unwrap()["remaining"], 0);
    // Still in the inbox, unread.
    assert_eq!(app.inbox(&chen).await["unread_count"], 1);
}

#[tokio::test]
async fn without_a_grant_the_notice_stays_in_the_inbox_only() {
    let app = spawn_app_with_templates().await;
    wechat_token_is(&app, "ACCESS").await;
    subscribe_send()
        .respond_with(wechat_says(0, "ok"))
        .expect(0)
        .mount(&app.wechat)
        .await;
    let zhou = app.login_resident("o-zhou").await;
    // The resident declines the prompt.
    let res = app
        .post(
            "/api/v1/me/subscriptions",
            Some(&zhou.access_token),
            &json!({ "template_id": WELCOME_TEMPLATE, "accepted": false }),
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["remaining"], 0);
    let id = welcome_id(&app, &zhou).await;

    assert_eq!(app.run_job("outbox").await, Tick::Ran);
    let row = app.delivery_of(&id).await;
    assert_eq!(row.delivery_state, "inbox_only");
    assert_eq!(row.last_error.as_deref(), Some("no subscription grant"));
    assert_eq!(app.inbox(&zhou).await["unread_count"], 1);
}

#[tokio::test]
async fn a_kind_without_a_template_or_a_server_without_wechat_keeps_notices_in_the_inbox() {
    // The embedded default: no WeChat credentials.
    let app = spawn_app_with(|s| {
        with_templates(s);
        s.wechat_appid = String::new();
        s.wechat_secret = None;
    })
    .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(wechat_says(0, "ok"))
        .expect(0)
        .mount(&app.wechat)
        .await;
    let wu = app.login_resident("o-wu").await;
    app.accept_subscription(&wu, WELCOME_TEMPLATE).await;
    let id = welcome_id(&app, &wu).await;
    assert_eq!(app.run_job("outbox").await, Tick::Ran);
    let row = app.delivery_of(&id).await;
    assert_eq!(row.delivery_state, "inbox_only");
    assert_eq!(row.last_error.as_deref(), Some("wechat not configured"));
    // Nothing was spent on a message that could not go out.
    let left = app
        .post(
            "/api/v1/me/subscriptions",
            Some(&wu.access_token),
            &json!({ "template_id": WELCOME_TEMPLATE, "accepted": false }),
        )
        .await;
    assert_eq!(left.json::<Value>().await.unwrap()["remaining"], 1);

    // And with WeChat but no template for the kind.
    let app = spawn_app().await;
    let qian = app.login_resident("o-qian").await;
    let id = welcome_id(&app, &qian).await;
    app.run_job("outbox").await;
    let row = app.delivery_of(&id).await;
    assert_eq!(row.delivery_state, "inbox_only");
    assert_eq!(row.last_error.as_deref(), Some("no template configured"));
}

#[tokio::test]
async fn a_grant_for_a_template_this_server_does_not_send_is_refused() {
    let app = spawn_app_with_templates().await;
    let he = app.login_resident("o-he").await;
    let res = app
        .post(
            "/api/v1/me/subscriptions",
            Some(&he.access_token),
            &json!({ "template_id": "tmpl-from-another-app", "accepted": true }),
        )
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "template_unknown").await;
    assert_eq!(crate::helpers::fields(&problem), ["template_id"]);
    let res = app
        .post(
            "/api/v1/me/subscriptions",
            Some(&he.access_token),
            &json!({ "template_id": "", "accepted": true }),
        )
        .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    // Each acceptance counts once.
    app.accept_subscription(&he, UPDATE_TEMPLATE).await;
    let twice = app.accept_subscription(&he, UPDATE_TEMPLATE).await;
    assert_eq!(twice["remaining"], 2);
}

#[tokio::test]
async fn a_refused_subscription_43101_keeps_the_notice_in_the_inbox_without_retries() {
    let app = spawn_app_with_templates().await;
    wechat_token_is(&app, "ACCESS").await;
    subscribe_send()
        .respond_with(wechat_says(43101, "user refuse to accept the msg rid: 1"))
        .expect(1)
        .mount(&app.wechat)
        .await;
    let feng = app.login_resident("o-feng").await;
    app.accept_subscription(&feng, WELCOME_TEMPLATE).await;
    let id = welcome_id(&app, &feng).await;

    assert_eq!(app.run_job("outbox").await, Tick::Ran);
    let_the_wait_pass(&app).await;
    assert_eq!(app.run_job("outbox").await, Tick::Ran);

    let row = app.delivery_of(&id).await;
    assert_eq!(row.delivery_state, "inbox_only");
    assert!(row.last_error.unwrap().contains("43101"));
    assert_eq!(row.attempts, 1);
    let admin = app.login_admin().await;
    let dead: Value = app
        .get(
            "/api/v1/admin/notifications/dead-letters",
            Some(&admin.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(dead["items"], json!([]));
}

#[tokio::test]
async fn an_expired_server_token_is_refreshed_and_the_message_sent_once() {
    let app = spawn_app_with_templates().await;
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
    subscribe_send()
        .and(query_param("access_token", "OLD"))
        .respond_with(wechat_says(42001, "access_token expired"))
        .expect(1)
        .mount(&app.wechat)
        .await;
    subscribe_send()
        .and(query_param("access_token", "NEW"))
        .and(body_partial_json(json!({ "touser": "o-jiang" })))
        .respond_with(wechat_says(0, "ok"))
        .expect(1)
        .mount(&app.wechat)
        .await;
    let jiang = app.login_resident("o-jiang").await;
    app.accept_subscription(&jiang, WELCOME_TEMPLATE).await;
    let id = welcome_id(&app, &jiang).await;

    assert_eq!(app.run_job("outbox").await, Tick::Ran);
    let row = app.delivery_of(&id).await;
    assert_eq!(row.delivery_state, "sent");
    assert_eq!(row.attempts, 1);
}

#[tokio::test]
async fn a_busy_wechat_is_retried_with_growing_waits_then_dead_lettered_for_admins() {
    let app = spawn_app_with(|s| {
        with_templates(s);
        s.outbox_max_attempts = 3;
        s.outbox_retry_base_secs = 60;
    })
    .await;
    wechat_token_is(&app, "ACCESS").await;
    subscribe_send()
        .respond_with(wechat_says(-1, "system error"))
        .expect(3)
        .mount(&app.wechat)
        .await;
    let shen = app.login_resident("o-shen").await;
    app.accept_subscription(&shen, WELCOME_TEMPLATE).await;
    let id = welcome_id(&app, &shen).await;

    // First try fails: back in a minute.
    app.run_job("outbox").await;
    let row = app.delivery_of(&id).await;
    assert_eq!(row.delivery_state, "pending");
    assert_eq!(row.attempts, 1);
    let wait = row.next_attempt_at - row.last_attempt_at.unwrap();
    assert_eq!(wait, chrono::Duration::seconds(60));
    // Not due yet: a tick right away leaves it alone.
    app.run_job("outbox").await;
    assert_eq!(app.wechat_calls(SEND_PATH).await.len(), 1);

    // Second try fails: the wait doubles. The grant was spent once, for all tries.
    let_the_wait_pass(&app).await;
    app.run_job("outbox").await;
    let row = app.delivery_of(&id).await;
    assert_eq!(row.attempts, 2);
    assert_eq!(
        row.next_attempt_at - row.last_attempt_at.unwrap(),
        chrono::Duration::seconds(120)
    );
    assert_eq!(row.template_id.as_deref(), Some(WELCOME_TEMPLATE));

    // Third and last try fails: dead-lettered, nothing more goes out.
    let_the_wait_pass(&app).await;
    app.run_job("outbox").await;
    let_the_wait_pass(&app).await;
    app.run_job("outbox").await;
    let row = app.delivery_of(&id).await;
    assert_eq!(row.delivery_state, "dead");
    assert_eq!(row.attempts, 3);

    let admin = app.login_admin().await;
    let res = app
        .get(
            "/api/v1/admin/notifications/dead-letters",
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let dead: Value = res.json().await.unwrap();
    let items = dead["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{dead}");
    assert_eq!(items[0]["id"], id.as_str());
    assert_eq!(items[0]["kind"], "welcome");
    assert_eq!(items[0]["attempts"], 3);
    assert!(items[0]["last_error"].as_str().unwrap().contains("-1"));
    assert!(dead["next_cursor"].is_null());
    // The resident still has it in the inbox.
    assert_eq!(app.inbox(&shen).await["items"][0]["id"], id.as_str());

    // Only district administrators see dead letters.
    let res = app
        .get(
            "/api/v1/admin/notifications/dead-letters",
            Some(&shen.access_token),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "staff_only").await;
    let clerk = app.staff_of("desk.clerk", "yuetan").await;
    let res = app
        .get(
            "/api/v1/admin/notifications/dead-letters",
            Some(&clerk.access_token),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "admin_only").await;
}

#[tokio::test]
async fn an_http_error_or_a_timeout_is_retried_and_a_later_try_delivers() {
    let app = spawn_app_with(|s| {
        with_templates(s);
        s.wechat_timeout_ms = 300;
    })
    .await;
    wechat_token_is(&app, "ACCESS").await;
    subscribe_send()
        .respond_with(ResponseTemplate::new(502).set_body_string("Bad Gateway"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&app.wechat)
        .await;
    subscribe_send()
        .respond_with(wechat_says(0, "ok").set_delay(std::time::Duration::from_secs(3)))
        .up_to_n_times(1)
        .expect(1)
        .mount(&app.wechat)
        .await;
    subscribe_send()
        .respond_with(wechat_says(0, "ok"))
        .expect(1)
        .mount(&app.wechat)
        .await;
    let lu = app.login_resident("o-lu").await;
    app.accept_subscription(&lu, WELCOME_TEMPLATE).await;
    let id = welcome_id(&app, &lu).await;

    app.run_job("outbox").await;
    let row = app.delivery_of(&id).await;
    assert_eq!(row.delivery_state, "pending");
    assert!(row.last_error.unwrap().contains("502"));

    let_the_wait_pass(&app).await;
    app.run_job("outbox").await;
    let row = app.delivery_of(&id).await;
    assert_eq!(row.delivery_state, "pending");
    assert!(row.last_error.unwrap().contains("timeout"));

    let_the_wait_pass(&app).await;
    app.run_job("outbox").await;
    let row = app.delivery_of(&id).await;
    assert_eq!(row.delivery_state, "sent");
    assert_eq!(row.attempts, 3);
    assert!(row.last_error.is_none());
}
