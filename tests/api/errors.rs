use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, fields, spawn_app};

#[tokio::test]
async fn an_unknown_address_is_a_problem_404() {
    let app = spawn_app().await;
    assert_problem(
        app.get("/api/v1/nothing-here", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn a_wrong_method_is_a_problem_405() {
    let app = spawn_app().await;
    let res = app
        .request(reqwest::Method::DELETE, "/api/v1/org-units", None, None)
        .await;
    assert_problem(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
    let res = app
        .request(reqwest::Method::PUT, "/healthz", None, None)
        .await;
    assert_problem(res, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;
}

#[tokio::test]
async fn malformed_json_is_400_and_writes_nothing() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/dev-login"))
        .header("content-type", "application/json")
        .body(r#"{"openid": "o-half"#)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_json").await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/dev-login"))
        .header("content-type", "text/plain")
        .body("openid=o-1")
        .send()
        .await
        .unwrap();
    assert_problem(
        res,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

#[tokio::test]
async fn wrong_types_unknown_values_and_missing_fields_name_the_field() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let token = Some(admin.access_token.as_str());

    let wrong_type = app
        .post("/api/v1/auth/dev-login", None, &json!({ "openid": 42 }))
        .await;
    let body = assert_problem(
        wrong_type,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    )
    .await;
    assert_eq!(fields(&body), ["openid"]);

    let unknown_role = app
        .post(
            "/api/v1/admin/staff",
            token,
            &json!({ "username": "li.ming", "password": "Strong-pass-2026", "role": "king", "org_unit": "shichahai" }),
        )
        .await;
    let body = assert_problem(
        unknown_role,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    )
    .await;
    assert_eq!(fields(&body), ["role"]);
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("取值")
    );

    let missing = app
        .post(
            "/api/v1/admin/staff",
            token,
            &json!({ "username": "li.ming", "role": "staff" }),
        )
        .await;
    let body = assert_problem(missing, StatusCode::UNPROCESSABLE_ENTITY, "invalid_field").await;
    assert_eq!(fields(&body), ["password"]);

    let unknown_field = app
        .post(
            "/api/v1/auth/dev-login",
            None,
            &json!({ "openid": "o-1", "admin": true }),
        )
        .await;
    let body = assert_problem(
        unknown_field,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    )
    .await;
    assert_eq!(fields(&body), ["admin"]);

    // None of these created anyone.
    let list: Value = app
        .get("/api/v1/admin/staff", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test]
async fn overlong_strings_are_refused_with_a_chinese_message() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/auth/dev-login",
            None,
            &json!({ "openid": "o".repeat(65) }),
        )
        .await;
    let body = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&body), ["openid"]);
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("位"), "{message}");
}

#[tokio::test]
async fn an_oversized_body_is_413_and_writes_nothing() {
    let app = spawn_app_small_limit().await;
    let admin = app.login_admin().await;
    let res = app
        .post(
            "/api/v1/org-units",
            Some(&admin.access_token),
            &json!({ "code": "big-dept", "name": "x".repeat(2048) }),
        )
        .await;
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let units: Value = app
        .get("/api/v1/org-units", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(!units.to_string().contains("big-dept"));
}

async fn spawn_app_small_limit() -> crate::helpers::TestApp {
    crate::helpers::spawn_app_with(|s| s.body_limit_bytes = 1024).await
}

#[tokio::test]
async fn an_invalid_uuid_in_the_path_is_a_400_naming_it() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let res = app
        .post(
            "/api/v1/admin/staff/not-a-uuid/disable",
            Some(&admin.access_token),
            &json!({}),
        )
        .await;
    let body = assert_problem(res, StatusCode::BAD_REQUEST, "invalid_path_parameter").await;
    assert_eq!(fields(&body), ["id"]);
}

#[tokio::test]
async fn list_parameters_are_checked() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let token = Some(admin.access_token.as_str());

    let body = assert_problem(
        app.get("/api/v1/admin/staff?limit=101", token).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    assert_eq!(fields(&body), ["limit"]);

    let body = assert_problem(
        app.get("/api/v1/admin/staff?limit=abc", token).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    assert!(!fields(&body).is_empty());

    let body = assert_problem(
        app.get("/api/v1/admin/staff?cursor=%%%", token).await,
        StatusCode::BAD_REQUEST,
        "invalid_query",
    )
    .await;
    assert_eq!(fields(&body), ["cursor"]);
}

#[tokio::test]
async fn lists_page_with_a_cursor() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let token = Some(admin.access_token.as_str());
    for name in ["zhang.san", "li.si", "wang.wu"] {
        let res = app
            .post(
                "/api/v1/admin/staff",
                token,
                &json!({ "username": name, "password": "Strong-pass-2026", "role": "staff", "org_unit": "yuetan" }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let first: Value = app
        .get("/api/v1/admin/staff?limit=3", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let second: Value = app
        .get(
            &format!("/api/v1/admin/staff?limit=3&cursor={cursor}"),
            token,
        )
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|s| s["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["district-admin", "zhang.san", "li.si", "wang.wu"]);
    assert!(second["next_cursor"].is_null());
}
