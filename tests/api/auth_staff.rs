//! Staff accounts, password login, lockout, roles and org-unit scoping.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    ADMIN_PASSWORD, ADMIN_USERNAME, STAFF_PASSWORD, assert_problem, fields, session_from, spawn_app,
};

#[tokio::test]
async fn the_bootstrap_administrator_logs_in() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    assert_eq!(admin.user["role"], "admin");
    assert_eq!(admin.user["username"], ADMIN_USERNAME);
    assert_eq!(admin.user["org_unit"], "xicheng");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_look_the_same() {
    let app = spawn_app().await;
    let a = assert_problem(
        app.login_staff(ADMIN_USERNAME, "wrong-password-1").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let b = assert_problem(
        app.login_staff("nobody-here", "wrong-password-1").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(a["detail"], b["detail"]);
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_for_fifteen_minutes() {
    let app = spawn_app().await;
    app.staff_of("chen.qi", "desheng").await;
    for _ in 0..4 {
        assert_problem(
            app.login_staff("chen.qi", "Wrong-pass-0000").await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
    }
    let res = app.login_staff("chen.qi", "Wrong-pass-0000").await;
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((14 * 60..=15 * 60).contains(&retry_after), "{retry_after}");
    let body = assert_problem(res, StatusCode::LOCKED, "account_locked").await;
    assert!(
        body["detail"].as_str().unwrap().contains("15 分钟"),
        "{body}"
    );

    // Even the right password is refused while locked.
    assert_problem(
        app.login_staff("chen.qi", STAFF_PASSWORD).await,
        StatusCode::LOCKED,
        "account_locked",
    )
    .await;
    // Others are not affected.
    assert_eq!(
        app.login_staff(ADMIN_USERNAME, ADMIN_PASSWORD)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_successful_login_forgets_earlier_failures() {
    let app = spawn_app().await;
    app.staff_of("sun.ba", "niujie").await;
    for _ in 0..4 {
        app.login_staff("sun.ba", "Wrong-pass-0000").await;
    }
    assert_eq!(
        app.login_staff("sun.ba", STAFF_PASSWORD).await.status(),
        StatusCode::OK
    );
    for _ in 0..4 {
        assert_problem(
            app.login_staff("sun.ba", "Wrong-pass-0000").await,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        )
        .await;
    }
}

#[tokio::test]
async fn administrators_create_staff_and_the_rules_hold() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let token = Some(admin.access_token.as_str());
    let app = &app;
    let create = |body: Value| async move { app.post("/api/v1/admin/staff", token, &body).await };

    let res = create(json!({ "username": "Zhou.Jiu", "password": STAFF_PASSWORD, "role": "staff", "org_unit": "tianqiao" })).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["username"], "zhou.jiu");
    assert_eq!(created["org_unit"], "tianqiao");
    assert_eq!(created["role"], "staff");
    assert!(created.get("password_hash").is_none() && created.get("password").is_none());

    let dup = create(json!({ "username": "zhou.jiu", "password": STAFF_PASSWORD, "role": "staff", "org_unit": "tianqiao" })).await;
    let body = assert_problem(dup, StatusCode::CONFLICT, "username_taken").await;
    assert_eq!(fields(&body), ["username"]);

    let weak = create(json!({ "username": "wu.shi", "password": "aaaaaaaaaaaa", "role": "staff", "org_unit": "tianqiao" })).await;
    let body = assert_problem(weak, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&body), ["password"]);

    let unknown_unit = create(json!({ "username": "wu.shi", "password": STAFF_PASSWORD, "role": "staff", "org_unit": "atlantis" })).await;
    let body = assert_problem(
        unknown_unit,
        StatusCode::UNPROCESSABLE_ENTITY,
        "org_unit_unknown",
    )
    .await;
    assert_eq!(fields(&body), ["org_unit"]);

    let admin_in_subdistrict = create(json!({ "username": "wu.shi", "password": STAFF_PASSWORD, "role": "admin", "org_unit": "tianqiao" })).await;
    assert_problem(
        admin_in_subdistrict,
        StatusCode::UNPROCESSABLE_ENTITY,
        "admin_must_be_district",
    )
    .await;

    assert_eq!(
        app.login_staff("zhou.jiu", STAFF_PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn residents_and_staff_stay_out_of_each_others_routes() {
    let app = spawn_app().await;
    let resident = app.login_resident("o-curious").await;
    let staff = app.staff_of("he.shiyi", "dashilan").await;

    let res = app
        .get("/api/v1/admin/staff", Some(&resident.access_token))
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "staff_only").await;
    let res = app
        .get(
            "/api/v1/org-units/dashilan/staff",
            Some(&resident.access_token),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "staff_only").await;

    let res = app
        .get("/api/v1/admin/staff", Some(&staff.access_token))
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "admin_only").await;
    let res = app
        .post(
            "/api/v1/org-units",
            Some(&staff.access_token),
            &json!({ "code": "my-dept", "name": "我的部门" }),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "admin_only").await;

    let res = app
        .patch(
            "/api/v1/me",
            Some(&staff.access_token),
            &json!({ "nickname": "x" }),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "resident_only").await;
}

#[tokio::test]
async fn staff_act_only_inside_their_org_unit_and_admins_everywhere() {
    let app = spawn_app().await;
    let shichahai = app.staff_of("lin.a", "shichahai").await;
    app.staff_of("lin.b", "xinjiekou").await;
    let admin = app.login_admin().await;

    let res = app
        .get(
            "/api/v1/org-units/shichahai/staff",
            Some(&shichahai.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let list: Value = res.json().await.unwrap();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["lin.a"]);

    let res = app
        .get(
            "/api/v1/org-units/xinjiekou/staff",
            Some(&shichahai.access_token),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;

    let res = app
        .get(
            "/api/v1/org-units/xinjiekou/staff",
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let list: Value = res.json().await.unwrap();
    assert_eq!(list[0]["username"], "lin.b");
}

#[tokio::test]
async fn a_disabled_account_loses_access_at_once() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let staff = app.staff_of("ma.shier", "baizhifang").await;
    let id = staff.user["id"].as_str().unwrap().to_owned();

    let res = app
        .post(
            &format!("/api/v1/admin/staff/{id}/disable"),
            Some(&admin.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["disabled"], true);

    let res = app
        .get(
            "/api/v1/org-units/baizhifang/staff",
            Some(&staff.access_token),
        )
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "token_revoked").await;
    let res = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": staff.refresh_token }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_problem(
        app.login_staff("ma.shier", STAFF_PASSWORD).await,
        StatusCode::FORBIDDEN,
        "account_disabled",
    )
    .await;

    let res = app
        .post(
            &format!("/api/v1/admin/staff/{id}/enable"),
            Some(&admin.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    session_from(app.login_staff("ma.shier", STAFF_PASSWORD).await).await;
}

#[tokio::test]
async fn an_administrator_cannot_disable_themself_or_a_stranger() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let me = admin.user["id"].as_str().unwrap();
    let res = app
        .post(
            &format!("/api/v1/admin/staff/{me}/disable"),
            Some(&admin.access_token),
            &json!({}),
        )
        .await;
    assert_problem(res, StatusCode::CONFLICT, "cannot_disable_self").await;
    let res = app
        .post(
            &format!("/api/v1/admin/staff/{}/disable", uuid::Uuid::now_v7()),
            Some(&admin.access_token),
            &json!({}),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "staff_not_found").await;
}
