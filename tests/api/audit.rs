//! Staff actions leave an append-only trail that administrators can read.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{STAFF_PASSWORD, assert_problem, spawn_app};

#[tokio::test]
async fn staff_changes_are_audited_with_who_what_and_the_request() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let token = Some(admin.access_token.as_str());

    let res = app
        .post(
            "/api/v1/org-units",
            token,
            &json!({ "code": "housing", "name": "区住建委" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .post(
            "/api/v1/admin/staff",
            token,
            &json!({ "username": "feng.jiu", "password": STAFF_PASSWORD, "role": "staff", "org_unit": "housing" }),
        )
        .await;
    let create_request = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let staff: Value = res.json().await.unwrap();
    let staff_id = staff["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/admin/staff/{staff_id}/disable"),
        token,
        &json!({}),
    )
    .await;

    let log: Value = app
        .get("/api/v1/admin/audit", token)
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Newest first; the bootstrap created the administrator before any of this.
    assert_eq!(
        actions,
        [
            "staff.disabled",
            "staff.created",
            "org_unit.created",
            "staff.created"
        ]
    );
    let created = &log["items"][1];
    assert_eq!(created["actor_name"], "district-admin");
    assert_eq!(created["actor_role"], "admin");
    assert_eq!(created["actor_org_unit"], "xicheng");
    assert_eq!(created["target_type"], "staff");
    assert_eq!(created["target_id"], staff_id.as_str());
    assert_eq!(created["detail"]["org_unit"], "housing");
    assert_eq!(created["request_id"], create_request.as_str());
    assert_eq!(log["items"][3]["actor_role"], "system");

    // Filters: by target, by actor, by time.
    let by_target: Value = app
        .get(&format!("/api/v1/admin/audit?target={staff_id}"), token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_target["items"].as_array().unwrap().len(), 2);
    let admin_id = admin.user["id"].as_str().unwrap();
    let by_actor: Value = app
        .get(&format!("/api/v1/admin/audit?actor={admin_id}"), token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_actor["items"].as_array().unwrap().len(), 3);
    let tomorrow = (Utc::now() + Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let future: Value = app
        .get(&format!("/api/v1/admin/audit?from={tomorrow}"), token)
        .await
        .json()
        .await
        .unwrap();
    assert!(future["items"].as_array().unwrap().is_empty());
    let page: Value = app
        .get("/api/v1/admin/audit?limit=2", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert!(page["next_cursor"].is_string());
}

#[tokio::test]
async fn only_administrators_read_the_audit_log() {
    let app = spawn_app().await;
    let staff = app.staff_of("chu.san", "jinrongjie").await;
    assert_problem(
        app.get("/api/v1/admin/audit", Some(&staff.access_token))
            .await,
        StatusCode::FORBIDDEN,
        "admin_only",
    )
    .await;
    let resident = app.login_resident("o-nosy").await;
    assert_problem(
        app.get("/api/v1/admin/audit", Some(&resident.access_token))
            .await,
        StatusCode::FORBIDDEN,
        "staff_only",
    )
    .await;
}

#[tokio::test]
async fn the_audit_log_cannot_be_rewritten_even_from_inside_the_database() {
    let app = spawn_app().await;
    app.staff_of("wei.si", "desheng").await;
    let update = app
        .state
        .db
        .execute_unprepared("UPDATE audit_log SET actor_name = 'nobody'")
        .await;
    assert!(update.is_err(), "audit_log accepted an UPDATE");
    let delete = app
        .state
        .db
        .execute_unprepared("DELETE FROM audit_log")
        .await;
    assert!(delete.is_err(), "audit_log accepted a DELETE");
}
