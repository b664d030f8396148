//! Outcomes of a meeting: a public, append-only progress timeline, parents rolled up from
//! their children, followers told once per entry, and the resident's own loop.

use canyu::entities::outcomes;
use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    deliberation::{meeting_body, published_meeting, signed_up},
    helpers::{Session, TestApp, assert_problem, fields, spawn_app},
};

async fn outcome(app: &TestApp, staff: &Session, meeting: &str, body: Value) -> String {
    let res = app
        .post(
            &format!("/api/v1/deliberations/{meeting}/outcomes"),
            Some(&staff.access_token),
            &body,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let v: Value = res.json().await.unwrap();
    v["id"].as_str().unwrap().to_owned()
}

fn outcome_body(title: &str, weight: i32, parent: Option<&str>) -> Value {
    json!({
        "title": title,
        "description": "议事会形成的具体措施",
        "responsible_unit": "月坛街道城市管理办公室",
        "due_date": (Utc::now() + Duration::days(60)).date_naive(),
        "weight": weight,
        "parent_id": parent,
    })
}

async fn progress(
    app: &TestApp,
    staff: &Session,
    id: &str,
    status: &str,
    percent: i32,
) -> reqwest::Response {
    app.post(
        &format!("/api/v1/outcomes/{id}/progress"),
        Some(&staff.access_token),
        &json!({
            "status": status,
            "percent": percent,
            "note": "已完成施划停车位并公示",
            "happened_on": Utc::now().date_naive(),
        }),
    )
    .await
}

async fn posted(app: &TestApp, staff: &Session, id: &str, status: &str, percent: i32) -> Value {
    let res = progress(app, staff, id, status, percent).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

async fn public(app: &TestApp, path: &str) -> Value {
    let res = app.get(path, None).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

async fn progress_notices(app: &TestApp, who: &Session) -> usize {
    app.inbox(who).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["title"] == "您关注的议事成果有新进展")
        .count()
}

#[tokio::test]
async fn progress_is_public_append_only_rolled_up_and_told_to_followers_once() {
    let app = spawn_app().await;
    let staff = app.staff_of("yuetan-li", "yuetan").await;
    let meeting = published_meeting(&app, &staff, &meeting_body("yuetan", 5, 0, false)).await;
    let a = app.login_resident("o-a").await;
    let b = app.login_resident("o-b").await;
    let c = app.login_resident("o-c").await;
    signed_up(&app, &a, &meeting).await;
    signed_up(&app, &b, &meeting).await;

    let parent = outcome(
        &app,
        &staff,
        &meeting,
        outcome_body("胡同停车治理", 1, None),
    )
    .await;
    let c1 = outcome(
        &app,
        &staff,
        &meeting,
        outcome_body("施划停车位", 3, Some(&parent)),
    )
    .await;
    let c2 = outcome(
        &app,
        &staff,
        &meeting,
        outcome_body("设置消防通道标识", 1, Some(&parent)),
    )
    .await;

    // Only one level of parents, only within the meeting, only by its own staff.
    let res = app
        .post(
            &format!("/api/v1/deliberations/{meeting}/outcomes"),
            Some(&staff.access_token),
            &outcome_body("孙项", 1, Some(&c1)),
        )
        .await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&p), vec!["parent_id"]);
    let niujie = app.staff_of("niujie-wang", "niujie").await;
    let res = app
        .post(
            &format!("/api/v1/deliberations/{meeting}/outcomes"),
            Some(&niujie.access_token),
            &outcome_body("越权", 1, None),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;
    assert_problem(
        progress(&app, &niujie, &c1, "in_progress", 10).await,
        StatusCode::FORBIDDEN,
        "org_unit_forbidden",
    )
    .await;

    // Those confirmed follow automatically; anyone may follow, once.
    assert_eq!(
        public(&app, &format!("/api/v1/outcomes/{c1}")).await["followers"],
        2
    );
    for _ in 0..2 {
        let res = app
            .post(
                &format!("/api/v1/outcomes/{c1}/follow"),
                Some(&c.access_token),
                &json!({}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.json::<Value>().await.unwrap()["following"], true);
    }
    // Read (and cache) the detail before progress is posted.
    let before = public(&app, &format!("/api/v1/outcomes/{c1}")).await;
    assert_eq!(before["followers"], 3);
    assert_eq!(before["timeline"].as_array().unwrap().len(), 0);
    // Reads are served from the cache: a change behind the service's back is not seen...
    outcomes::Entity::update_many()
        .col_expr(outcomes::Column::Title, Expr::value("施划停车位（调整）"))
        .filter(outcomes::Column::Id.eq(c1.parse::<Uuid>().unwrap()))
        .exec(&app.state.db)
        .await
        .unwrap();
    assert_eq!(
        public(&app, &format!("/api/v1/outcomes/{c1}")).await["title"],
        "施划停车位"
    );

    // Status and percent must agree.
    let res = progress(&app, &staff, &c1, "done", 90).await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&p), vec!["percent"]);

    let first = posted(&app, &staff, &c1, "in_progress", 50).await;
    // ...until new progress refreshes it.
    let after = public(&app, &format!("/api/v1/outcomes/{c1}")).await;
    assert_eq!(after["title"], "施划停车位（调整）");
    assert_eq!(after["timeline"].as_array().unwrap().len(), 1);
    assert_eq!(after["percent"], 50);
    assert_eq!(after["meeting"]["id"], meeting.as_str());
    // Weighted roll-up: (3 * 50 + 1 * 0) / 4 = 37.5 -> 38.
    assert_eq!(
        public(&app, &format!("/api/v1/outcomes/{parent}")).await["percent"],
        38
    );
    posted(&app, &staff, &c2, "done", 100).await;
    let p = public(&app, &format!("/api/v1/outcomes/{parent}")).await;
    assert_eq!(p["percent"], 63);
    assert_eq!(p["children"].as_array().unwrap().len(), 2);

    // A correction is a new entry naming the one it corrects; the first stays as it was.
    let res = app
        .post(
            &format!("/api/v1/outcomes/{c1}/progress"),
            Some(&staff.access_token),
            &json!({
                "status": "in_progress", "percent": 40,
                "note": "更正：上次进度统计有误，实际为 40%",
                "happened_on": Utc::now().date_naive(),
                "corrects": first["id"],
            }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .post(
            &format!("/api/v1/outcomes/{c1}/progress"),
            Some(&staff.access_token),
            &json!({
                "status": "in_progress", "percent": 40, "note": "更正别的成果",
                "happened_on": Utc::now().date_naive(),
                "corrects": public(&app, &format!("/api/v1/outcomes/{c2}")).await["timeline"][0]["id"],
            }),
        )
        .await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&p), vec!["corrects"]);
    let d = public(&app, &format!("/api/v1/outcomes/{c1}")).await;
    let timeline = d["timeline"].as_array().unwrap();
    assert_eq!(timeline.len(), 2);
    assert_eq!(timeline[0]["percent"], 50);
    assert_eq!(timeline[1]["corrects"], first["id"]);
    assert_eq!(d["percent"], 40);
    assert_eq!(
        public(&app, &format!("/api/v1/outcomes/{parent}")).await["percent"],
        55
    );
    // The database itself refuses to rewrite the timeline.
    let tampered = app
        .state
        .db
        .execute_unprepared("UPDATE outcome_progress SET percent = 99")
        .await;
    assert!(tampered.is_err());

    // Each follower heard of each entry once: those confirmed follow every outcome of the
    // meeting (two entries on c1, one on c2); c follows c1 only.
    for who in [&a, &b] {
        assert_eq!(progress_notices(&app, who).await, 3);
    }
    assert_eq!(progress_notices(&app, &c).await, 2);
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/outcomes/{c1}/follow"),
            Some(&c.access_token),
            None,
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["following"], false);
    posted(&app, &staff, &c1, "done", 100).await;
    assert_eq!(progress_notices(&app, &a).await, 4);
    assert_eq!(progress_notices(&app, &c).await, 2);

    // The public feed: no login, latest activity first, with filters.
    let feed = public(&app, "/api/v1/outcomes").await;
    let items = feed["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["id"], c1.as_str());
    assert_eq!(items[0]["latest_progress"]["percent"], 100);
    let done = public(&app, "/api/v1/outcomes?status=done").await;
    assert_eq!(done["items"].as_array().unwrap().len(), 2);
    let elsewhere = public(&app, "/api/v1/outcomes?subdistrict=niujie").await;
    assert_eq!(elsewhere["items"].as_array().unwrap().len(), 0);
    let page = public(&app, "/api/v1/outcomes?limit=2").await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = public(&app, &format!("/api/v1/outcomes?limit=2&cursor={cursor}")).await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["items"][0]["id"], parent.as_str());

    let mut late = outcome_body("修缮排水沟", 1, None);
    late["due_date"] = json!((Utc::now() - Duration::days(3)).date_naive());
    let late = outcome(&app, &staff, &meeting, late).await;
    let overdue = public(&app, "/api/v1/outcomes?overdue=true").await;
    let items = overdue["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], late.as_str());
    assert_eq!(items[0]["overdue"], true);
    assert_problem(
        app.get("/api/v1/outcomes?status=finished", None).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
}

#[tokio::test]
async fn my_loop_leads_from_the_meeting_to_the_latest_progress() {
    let app = spawn_app().await;
    let staff = app.staff_of("yuetan-li", "yuetan").await;
    let meeting = published_meeting(&app, &staff, &meeting_body("yuetan", 5, 0, false)).await;
    let a = app.login_resident("o-a").await;
    let stranger = app.login_resident("o-stranger").await;
    let code = signed_up(&app, &a, &meeting).await["check_in_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post(
            &format!("/api/v1/deliberations/{meeting}/check-ins"),
            Some(&staff.access_token),
            &json!({ "code": code }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let id = outcome(&app, &staff, &meeting, outcome_body("施划停车位", 1, None)).await;
    posted(&app, &staff, &id, "in_progress", 30).await;

    let res = app.get("/api/v1/me/loop", Some(&a.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let trail: Value = res.json().await.unwrap();
    let items = trail["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["meeting"]["id"], meeting.as_str());
    assert_eq!(items[0]["participation"], "attended");
    assert_eq!(items[0]["outcomes"][0]["id"], id.as_str());
    assert_eq!(items[0]["outcomes"][0]["latest_progress"]["percent"], 30);
    // And the notice of that progress is in their inbox.
    assert_eq!(progress_notices(&app, &a).await, 1);

    let res = app
        .get("/api/v1/me/loop", Some(&stranger.access_token))
        .await;
    let trail: Value = res.json().await.unwrap();
    assert_eq!(trail["items"].as_array().unwrap().len(), 0);
    assert_problem(
        app.get("/api/v1/me/loop", Some(&staff.access_token)).await,
        StatusCode::FORBIDDEN,
        "resident_only",
    )
    .await;
}
