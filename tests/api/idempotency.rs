//! `Idempotency-Key`: a phone on a bad network retries a creating POST and the work is done
//! once.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, assert_problem, fields, one_effect_of_a_burst, replayed, spawn_app, spawn_app_with,
};

async fn post_with_key(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url(path))
        .header("Idempotency-Key", key)
        .json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn staff_usernames(app: &TestApp, token: &str) -> Vec<String> {
    let list: Value = app
        .get("/api/v1/admin/staff?limit=100", Some(token))
        .await
        .json()
        .await
        .unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["username"].as_str().unwrap().to_owned())
        .collect()
}

async fn org_unit_codes(app: &TestApp) -> Vec<String> {
    let units: Vec<Value> = app
        .get("/api/v1/org-units", None)
        .await
        .json()
        .await
        .unwrap();
    units
        .iter()
        .map(|u| u["code"].as_str().unwrap().to_owned())
        .collect()
}

fn new_staff(username: &str) -> Value {
    json!({
        "username": username,
        "password": "Jiedao-staff-2026",
        "role": "staff",
        "org_unit": "yuetan",
    })
}

#[tokio::test]
async fn a_retry_with_the_same_key_gets_the_first_answer_and_creates_nothing_new() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let token = Some(admin.access_token.as_str());
    let body = new_staff("zhao.retry");

    let first = post_with_key(&app, "/api/v1/admin/staff", token, "key-1", &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(!replayed(&first));
    let first_body = first.text().await.unwrap();

    let again = post_with_key(&app, "/api/v1/admin/staff", token, "key-1", &body).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert!(replayed(&again));
    assert_eq!(
        again.headers()["content-type"],
        "application/json",
        "the replay keeps the content type"
    );
    assert_eq!(again.text().await.unwrap(), first_body);

    let names = staff_usernames(&app, &admin.access_token).await;
    assert_eq!(
        names.iter().filter(|n| *n == "zhao.retry").count(),
        1,
        "{names:?}"
    );
}

#[tokio::test]
async fn a_final_error_is_replayed_too() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let token = Some(admin.access_token.as_str());
    let body = json!({ "code": "Not A Code", "name": "区民政局" });

    let first = post_with_key(&app, "/api/v1/org-units", token, "bad-1", &body).await;
    let first = assert_problem(first, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let again = post_with_key(&app, "/api/v1/org-units", token, "bad-1", &body).await;
    assert!(replayed(&again));
    let again = assert_problem_body(again).await;
    // The very same body, its request id included: it is the first answer.
    assert_eq!(again, first);
}

async fn assert_problem_body(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    res.json().await.unwrap()
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused_and_does_nothing() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let token = Some(admin.access_token.as_str());

    let first = post_with_key(
        &app,
        "/api/v1/org-units",
        token,
        "key-2",
        &json!({ "code": "civil-affairs", "name": "区民政局" }),
    )
    .await;
    assert_eq!(first.status(), StatusCode::CREATED);

    let other = post_with_key(
        &app,
        "/api/v1/org-units",
        token,
        "key-2",
        &json!({ "code": "housing", "name": "区住建委" }),
    )
    .await;
    let problem = assert_problem(
        other,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    assert_eq!(fields(&problem), ["Idempotency-Key"]);

    // Another path with the same key and body is another request as well.
    let elsewhere = post_with_key(
        &app,
        "/api/v1/admin/staff",
        token,
        "key-2",
        &json!({ "code": "civil-affairs", "name": "区民政局" }),
    )
    .await;
    assert_problem(
        elsewhere,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;

    let codes = org_unit_codes(&app).await;
    assert!(codes.contains(&"civil-affairs".to_owned()));
    assert!(!codes.contains(&"housing".to_owned()), "{codes:?}");
}

#[tokio::test]
async fn ten_concurrent_duplicates_have_exactly_one_effect() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let token = Some(admin.access_token.as_str());
    let body = new_staff("qian.burst");

    let calls = (0..10).map(|_| post_with_key(&app, "/api/v1/admin/staff", token, "burst", &body));
    one_effect_of_a_burst(futures_util::future::join_all(calls).await).await;

    let names = staff_usernames(&app, &admin.access_token).await;
    assert_eq!(
        names.iter().filter(|n| *n == "qian.burst").count(),
        1,
        "{names:?}"
    );
    // Once the first is done, a late retry is a replay.
    let late = post_with_key(&app, "/api/v1/admin/staff", token, "burst", &body).await;
    assert_eq!(late.status(), StatusCode::CREATED);
    assert!(replayed(&late));
}

#[tokio::test]
async fn keys_belong_to_their_user() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let create_admin = app
        .post(
            "/api/v1/admin/staff",
            Some(&admin.access_token),
            &json!({ "username": "second.admin", "password": "Second-admin-2026", "role": "admin", "org_unit": "xicheng" }),
        )
        .await;
    assert_eq!(create_admin.status(), StatusCode::CREATED);
    let other =
        crate::helpers::session_from(app.login_staff("second.admin", "Second-admin-2026").await)
            .await;

    let a = post_with_key(
        &app,
        "/api/v1/org-units",
        Some(&admin.access_token),
        "shared-key",
        &json!({ "code": "dept-a", "name": "甲部门" }),
    )
    .await;
    assert_eq!(a.status(), StatusCode::CREATED);
    let b = post_with_key(
        &app,
        "/api/v1/org-units",
        Some(&other.access_token),
        "shared-key",
        &json!({ "code": "dept-b", "name": "乙部门" }),
    )
    .await;
    assert_eq!(b.status(), StatusCode::CREATED);
    assert!(!replayed(&b));
    let codes = org_unit_codes(&app).await;
    assert!(codes.contains(&"dept-a".to_owned()) && codes.contains(&"dept-b".to_owned()));
}

#[tokio::test]
async fn an_answer_that_is_not_final_is_not_kept() {
    let app = spawn_app().await;
    let old = app.login_admin().await;
    let logout = app
        .post(
            "/api/v1/auth/logout",
            Some(&old.access_token),
            &json!({ "refresh_token": old.refresh_token }),
        )
        .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    let body = json!({ "code": "after-login", "name": "重新登录后" });

    // The token still verifies but was revoked: 401 is not the request's final answer.
    let refused = post_with_key(
        &app,
        "/api/v1/org-units",
        Some(&old.access_token),
        "k-401",
        &body,
    )
    .await;
    assert_problem(refused, StatusCode::UNAUTHORIZED, "token_revoked").await;

    let fresh = app.login_admin().await;
    let retry = post_with_key(
        &app,
        "/api/v1/org-units",
        Some(&fresh.access_token),
        "k-401",
        &body,
    )
    .await;
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert!(!replayed(&retry), "the retry ran");
    assert!(
        org_unit_codes(&app)
            .await
            .contains(&"after-login".to_owned())
    );
}

#[tokio::test]
async fn an_invalid_key_is_400_and_does_nothing() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let token = Some(admin.access_token.as_str());
    let too_long = "k".repeat(65);
    for key in ["", too_long.as_str(), "has space"] {
        let res = post_with_key(
            &app,
            "/api/v1/org-units",
            token,
            key,
            &json!({ "code": "never", "name": "不该出现" }),
        )
        .await;
        let problem = assert_problem(res, StatusCode::BAD_REQUEST, "invalid_idempotency_key").await;
        assert_eq!(fields(&problem), ["Idempotency-Key"], "key {key:?}");
    }
    // Not ASCII at all.
    let res = app
        .client
        .post(app.url("/api/v1/org-units"))
        .bearer_auth(&admin.access_token)
        .header(
            "Idempotency-Key",
            reqwest::header::HeaderValue::from_bytes("键".as_bytes()).unwrap(),
        )
        .json(&json!({ "code": "never", "name": "不该出现" }))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_idempotency_key").await;
    assert!(!org_unit_codes(&app).await.contains(&"never".to_owned()));
}

#[tokio::test]
async fn without_the_header_nothing_changes() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let token = Some(admin.access_token.as_str());
    let body = new_staff("sun.plain");
    let first = app.post("/api/v1/admin/staff", token, &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(!replayed(&first));
    let second = app.post("/api/v1/admin/staff", token, &body).await;
    assert!(!replayed(&second));
    assert_problem(second, StatusCode::CONFLICT, "username_taken").await;

    // Nor without a token: the handler answers as it always does.
    let anonymous = post_with_key(
        &app,
        "/api/v1/org-units",
        None,
        "anon",
        &json!({ "code": "anon", "name": "匿名" }),
    )
    .await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "token_missing").await;
}

#[tokio::test]
async fn an_oversized_body_with_a_key_is_still_413() {
    let app = spawn_app_with(|s| s.body_limit_bytes = 1024).await;
    let admin = app.login_admin().await;
    let res = post_with_key(
        &app,
        "/api/v1/org-units",
        Some(&admin.access_token),
        "big",
        &json!({ "code": "big-dept", "name": "x".repeat(2048) }),
    )
    .await;
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert!(!org_unit_codes(&app).await.contains(&"big-dept".to_owned()));
}

/// Claims and stored answers go through the unflushed pool, which does not wait for the
/// WAL flush; bookings and answers go through the main pool, which does (and `wait_durable`
/// relies on it). On SQLite both are the one connection.
#[tokio::test]
async fn only_the_unflushed_pool_skips_the_flush_wait() {
    use sea_orm::ConnectionTrait;
    let app = spawn_app().await;
    let setting = |db: &sea_orm::DatabaseConnection| {
        let db = db.clone();
        async move {
            db.query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SHOW synchronous_commit",
            ))
            .await
            .expect("SHOW answers")
            .and_then(|row| row.try_get_by_index::<String>(0).ok())
        }
    };
    if app.pg_database.is_some() {
        assert_eq!(setting(&app.state.unflushed).await.as_deref(), Some("off"));
        assert_eq!(setting(&app.state.db).await.as_deref(), Some("on"));
    } else {
        assert_eq!(
            app.state.unflushed.get_database_backend(),
            sea_orm::DbBackend::Sqlite
        );
    }
}

/// A day after it was first used a key is forgotten (the hourly purge), and the same key
/// then starts a new request; a key used since is kept.
#[tokio::test]
async fn a_key_past_its_lifetime_is_purged_and_a_fresh_one_kept() {
    use canyu::entities::idempotency_keys;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, sea_query::Expr};

    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let token = Some(admin.access_token.as_str());
    let create = |key: &'static str, username: &'static str| {
        let app = &app;
        async move { post_with_key(app, "/api/v1/admin/staff", token, key, &new_staff(username)).await }
    };
    let old = create("old-key", "qian.old").await;
    assert_eq!(old.status(), StatusCode::CREATED);
    let fresh = create("fresh-key", "sun.fresh").await;
    assert_eq!(fresh.status(), StatusCode::CREATED);

    // The old key as if made 25 hours ago: its id, like every key's, carries when.
    let made = chrono::Utc::now() - chrono::Duration::hours(25);
    let ms = u64::try_from(made.timestamp_millis()).unwrap();
    let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        ms / 1000,
        u32::try_from(ms % 1000).unwrap() * 1_000_000,
    ));
    let db = &app.state.db;
    idempotency_keys::Entity::update_many()
        .col_expr(idempotency_keys::Column::Id, Expr::value(id))
        .col_expr(idempotency_keys::Column::CreatedAt, Expr::value(made))
        .filter(idempotency_keys::Column::Key.eq("old-key"))
        .exec(db)
        .await
        .unwrap();

    let purged = canyu::idempotency::service::purge_expired(db)
        .await
        .unwrap();
    assert_eq!(purged, 1);
    let keys: Vec<String> = idempotency_keys::Entity::find()
        .order_by_asc(idempotency_keys::Column::Key)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.key)
        .collect();
    assert_eq!(keys, ["fresh-key"]);

    // Forgotten, the old key runs its request anew: the account exists, so it is refused
    // now rather than replayed.
    let again = create("old-key", "qian.old").await;
    assert!(!replayed(&again));
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let fresh_again = create("fresh-key", "sun.fresh").await;
    assert_eq!(fresh_again.status(), StatusCode::CREATED);
    assert!(replayed(&fresh_again));
}
