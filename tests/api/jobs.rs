//! The scheduler and the sender with several instances on one database: each notice reaches
//! WeChat once, a job tick runs on one instance at a time, and a crashed instance's work is
//! picked up again.

use std::time::Duration;

use canyu::{
    entities::{job_leases, notifications},
    jobs::Tick,
    notifications::{Notice, NoticeKind},
};
use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait, sea_query::Expr,
};
use serde_json::json;
use uuid::Uuid;
use wiremock::matchers::body_partial_json;

use crate::{
    helpers::{TestApp, spawn_app_with},
    notifications::{
        SEND_PATH, UPDATE_TEMPLATE, WELCOME_TEMPLATE, spawn_app_with_templates, subscribe_send,
        wechat_says, wechat_token_is, welcome_id, with_templates,
    },
};

/// Polls until `done` holds; fails the test after `within`.
async fn eventually<F, Fut>(within: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not reached in {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A resident who logged in and accepted the welcome template: their welcome is due.
async fn resident_awaiting_welcome(app: &TestApp, openid: &str) -> String {
    let who = app.login_resident(openid).await;
    app.accept_subscription(&who, WELCOME_TEMPLATE).await;
    welcome_id(app, &who).await
}

#[tokio::test]
async fn two_instances_sending_at_once_deliver_each_notice_exactly_once() {
    let app = spawn_app_with_templates().await;
    let other = app.another_instance().await;
    wechat_token_is(&app, "ACCESS").await;
    // More notices than one claim takes, and slow answers, so both senders are busy together.
    let mut ids = Vec::new();
    for i in 0..45 {
        let openid = format!("o-resident-{i}");
        subscribe_send()
            .and(body_partial_json(json!({ "touser": openid })))
            .respond_with(wechat_says(0, "ok").set_delay(Duration::from_millis(10)))
            .expect(1)
            .mount(&app.wechat)
            .await;
        ids.push(resident_awaiting_welcome(&app, &openid).await);
    }

    let (a, b) = tokio::join!(
        canyu::notifications::deliver_due(&app.state),
        canyu::notifications::deliver_due(&other),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.sent + b.sent, 45, "{a:?} {b:?}");
    assert_eq!(a.lost + b.lost, 0, "{a:?} {b:?}");
    for id in &ids {
        assert_eq!(app.delivery_of(id).await.delivery_state, "sent");
    }
    assert_eq!(app.wechat_calls(SEND_PATH).await.len(), 45);
}

#[tokio::test]
async fn a_notice_left_by_a_crashed_sender_is_delivered_once_when_its_claim_runs_out() {
    let app = spawn_app_with_templates().await;
    wechat_token_is(&app, "ACCESS").await;
    subscribe_send()
        .and(body_partial_json(
            json!({ "touser": "o-crash", "template_id": WELCOME_TEMPLATE }),
        ))
        .respond_with(wechat_says(0, "ok"))
        .expect(1)
        .mount(&app.wechat)
        .await;
    let who = app.login_resident("o-crash").await;
    let id = welcome_id(&app, &who).await;

    // Another instance claimed the welcome, spent the resident's grant on it, and died
    // before it could record the result.
    let crashed = |until: chrono::DateTime<Utc>| {
        notifications::Entity::update_many()
            .col_expr(notifications::Column::DeliveryState, Expr::value("sending"))
            .col_expr(
                notifications::Column::ClaimedBy,
                Expr::value(Some(Uuid::now_v7())),
            )
            .col_expr(
                notifications::Column::ClaimedUntil,
                Expr::value(Some(until)),
            )
            .col_expr(notifications::Column::Attempts, Expr::value(1))
            .col_expr(
                notifications::Column::TemplateId,
                Expr::value(Some(WELCOME_TEMPLATE)),
            )
            .filter(notifications::Column::Id.eq(id.parse::<Uuid>().unwrap()))
            .exec(&app.state.db)
    };
    crashed(Utc::now() + chrono::Duration::minutes(10))
        .await
        .unwrap();

    // While its claim lasts, nobody touches the row.
    assert_eq!(app.run_job("outbox").await, Tick::Ran);
    assert_eq!(app.wechat_calls(SEND_PATH).await.len(), 0);
    assert_eq!(app.delivery_of(&id).await.delivery_state, "sending");

    // The claim ran out: the next tick delivers it, with the grant already spent for it.
    crashed(Utc::now() - chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(app.run_job("outbox").await, Tick::Ran);
    let row = app.delivery_of(&id).await;
    assert_eq!(row.delivery_state, "sent");
    assert_eq!(row.attempts, 2);
    assert!(row.claimed_by.is_none());

    assert_eq!(app.run_job("outbox").await, Tick::Ran);
    assert_eq!(app.wechat_calls(SEND_PATH).await.len(), 1);
}

#[tokio::test]
async fn a_job_tick_runs_on_one_instance_at_a_time() {
    let app = spawn_app_with(|s| {
        with_templates(s);
        s.wechat_timeout_ms = 10_000;
    })
    .await;
    let other = app.another_instance().await;
    wechat_token_is(&app, "ACCESS").await;
    // WeChat is slow to answer, which keeps the first tick under way.
    subscribe_send()
        .respond_with(wechat_says(0, "ok").set_delay(Duration::from_secs(3)))
        .expect(1)
        .mount(&app.wechat)
        .await;
    let id = resident_awaiting_welcome(&app, "o-lease").await;

    let state = app.state.clone();
    let first = tokio::spawn(async move { canyu::jobs::run_once(&state, "outbox").await });
    eventually(Duration::from_secs(10), || async {
        !app.wechat_calls(SEND_PATH).await.is_empty()
    })
    .await;
    // The first instance is sending: the second one's tick is skipped.
    assert_eq!(
        canyu::jobs::run_once(&other, "outbox").await.unwrap(),
        Tick::Skipped
    );
    assert_eq!(first.await.unwrap().unwrap(), Tick::Ran);
    assert_eq!(app.delivery_of(&id).await.delivery_state, "sent");

    // The lease was given back: the next tick runs wherever it comes, and sends nothing again.
    assert_eq!(
        canyu::jobs::run_once(&other, "outbox").await.unwrap(),
        Tick::Ran
    );
    assert_eq!(app.wechat_calls(SEND_PATH).await.len(), 1);
}

#[tokio::test]
async fn a_lease_left_by_a_crashed_instance_holds_until_it_runs_out() {
    let app = spawn_app_with_templates().await;
    wechat_token_is(&app, "ACCESS").await;
    subscribe_send()
        .respond_with(wechat_says(0, "ok"))
        .expect(1)
        .mount(&app.wechat)
        .await;
    let id = resident_awaiting_welcome(&app, "o-stuck").await;
    job_leases::Entity::insert(job_leases::ActiveModel {
        name: Set("outbox".into()),
        holder: Set("instance-that-died".into()),
        lease_until: Set(Utc::now() + chrono::Duration::minutes(5)),
    })
    .exec_without_returning(&app.state.db)
    .await
    .unwrap();

    assert_eq!(app.run_job("outbox").await, Tick::Skipped);
    assert_eq!(app.delivery_of(&id).await.delivery_state, "pending");

    job_leases::Entity::update_many()
        .col_expr(
            job_leases::Column::LeaseUntil,
            Expr::value(Utc::now() - chrono::Duration::seconds(1)),
        )
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(app.run_job("outbox").await, Tick::Ran);
    assert_eq!(app.delivery_of(&id).await.delivery_state, "sent");
}

#[tokio::test]
async fn the_scheduler_delivers_on_its_own() {
    let app = spawn_app_with(|s| {
        with_templates(s);
        s.jobs_enabled = true;
        s.outbox_interval_ms = 50;
    })
    .await;
    wechat_token_is(&app, "ACCESS").await;
    subscribe_send()
        .and(body_partial_json(
            json!({ "touser": "o-auto", "template_id": UPDATE_TEMPLATE }),
        ))
        .respond_with(wechat_says(0, "ok"))
        .expect(1)
        .mount(&app.wechat)
        .await;
    let who = app.login_resident("o-auto").await;
    app.accept_subscription(&who, UPDATE_TEMPLATE).await;
    let resident: Uuid = who.user["id"].as_str().unwrap().parse().unwrap();
    let txn = app.state.db.begin().await.unwrap();
    let id = canyu::notifications::enqueue(
        &txn,
        resident,
        Notice {
            kind: NoticeKind::DeliberationUpdate,
            title: "胡同停车议事有新进展".into(),
            body: "议事会已形成方案。".into(),
            page: None,
            data: [("thing1".to_owned(), "胡同停车议事有新进展".to_owned())].into(),
        },
    )
    .await
    .unwrap()
    .to_string();
    txn.commit().await.unwrap();

    // Nobody ticks by hand here: the scheduler's own ticks deliver it.
    eventually(Duration::from_secs(20), || async {
        app.delivery_of(&id).await.delivery_state == "sent"
    })
    .await;
}

#[tokio::test]
async fn an_unknown_job_is_an_error_not_a_silent_skip() {
    let app = spawn_app_with(|_| {}).await;
    let err = canyu::jobs::run_once(&app.state, "no-such-job")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no-such-job"), "{err}");
}
