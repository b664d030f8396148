use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, fields, spawn_app};

#[tokio::test]
async fn a_resident_fills_in_their_profile() {
    let app = spawn_app().await;
    let resident = app.login_resident("o-profile").await;
    let token = Some(resident.access_token.as_str());

    let res = app
        .patch(
            "/api/v1/me",
            token,
            &json!({ "nickname": "  胡同里的老王 ", "home_subdistrict": "shichahai", "community": "前海东沿社区" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = app.get("/api/v1/me", token).await.json().await.unwrap();
    assert_eq!(me["nickname"], "胡同里的老王");
    assert_eq!(me["home_subdistrict"], "shichahai");
    assert_eq!(me["community"], "前海东沿社区");

    // Leaving a field out keeps it; null clears it.
    app.patch("/api/v1/me", token, &json!({ "community": null }))
        .await;
    let me: Value = app.get("/api/v1/me", token).await.json().await.unwrap();
    assert_eq!(me["nickname"], "胡同里的老王");
    assert!(me["community"].is_null());
}

#[tokio::test]
async fn a_home_sub_district_must_be_one_of_the_fifteen() {
    let app = spawn_app().await;
    let resident = app.login_resident("o-where").await;
    let token = Some(resident.access_token.as_str());

    let body = assert_problem(
        app.patch(
            "/api/v1/me",
            token,
            &json!({ "home_subdistrict": "xicheng" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not_a_subdistrict",
    )
    .await;
    assert_eq!(fields(&body), ["home_subdistrict"]);
    assert_problem(
        app.patch(
            "/api/v1/me",
            token,
            &json!({ "home_subdistrict": "chaoyang" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "org_unit_unknown",
    )
    .await;
    let me: Value = app.get("/api/v1/me", token).await.json().await.unwrap();
    assert!(me["home_subdistrict"].is_null());
}

#[tokio::test]
async fn profile_text_is_bounded_and_nothing_is_half_written() {
    let app = spawn_app().await;
    let resident = app.login_resident("o-long").await;
    let token = Some(resident.access_token.as_str());
    let body = assert_problem(
        app.patch(
            "/api/v1/me",
            token,
            &json!({ "nickname": "名".repeat(21), "community": "   " }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&body), ["community", "nickname"]);
    let me: Value = app.get("/api/v1/me", token).await.json().await.unwrap();
    assert!(me["nickname"].is_null() && me["community"].is_null());
}

#[tokio::test]
async fn staff_see_themselves_on_me() {
    let app = spawn_app().await;
    let staff = app.staff_of("guo.yi", "chunshu").await;
    let me: Value = app
        .get("/api/v1/me", Some(&staff.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "staff");
    assert_eq!(me["username"], "guo.yi");
    assert_eq!(me["org_unit"], "chunshu");
}
