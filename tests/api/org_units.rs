use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, fields, spawn_app};

const SUBDISTRICTS: [&str; 15] = [
    "西长安街",
    "新街口",
    "月坛",
    "展览路",
    "德胜",
    "金融街",
    "什刹海",
    "大栅栏",
    "天桥",
    "椿树",
    "陶然亭",
    "广安门内",
    "牛街",
    "白纸坊",
    "广安门外",
];

#[tokio::test]
async fn the_district_and_its_fifteen_sub_districts_are_there_from_the_start() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/org-units", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let units: Vec<Value> = res.json().await.unwrap();
    let district: Vec<&Value> = units.iter().filter(|u| u["kind"] == "district").collect();
    assert_eq!(district.len(), 1);
    assert_eq!(district[0]["code"], "xicheng");
    assert_eq!(district[0]["name"], "西城区");
    let subs: Vec<&str> = units
        .iter()
        .filter(|u| u["kind"] == "subdistrict")
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(subs.len(), 15);
    for name in SUBDISTRICTS {
        assert!(
            subs.iter().any(|s| s.starts_with(name)),
            "{name} missing from {subs:?}"
        );
    }
    for u in &units {
        assert!(uuid::Uuid::parse_str(u["id"].as_str().unwrap()).is_ok());
    }
}

#[tokio::test]
async fn an_administrator_adds_a_department() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let token = Some(admin.access_token.as_str());

    let res = app
        .post(
            "/api/v1/org-units",
            token,
            &json!({ "code": "civil-affairs", "name": "区民政局" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let unit: Value = res.json().await.unwrap();
    assert_eq!(unit["kind"], "department");

    let units: Vec<Value> = app
        .get("/api/v1/org-units", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(
        units
            .iter()
            .any(|u| u["code"] == "civil-affairs" && u["name"] == "区民政局")
    );

    let dup = app
        .post(
            "/api/v1/org-units",
            token,
            &json!({ "code": "civil-affairs", "name": "又一个" }),
        )
        .await;
    assert_problem(dup, StatusCode::CONFLICT, "org_unit_exists").await;

    let bad = app
        .post(
            "/api/v1/org-units",
            token,
            &json!({ "code": "Civil Affairs", "name": "区民政局" }),
        )
        .await;
    let body = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&body), ["code"]);

    // A department's staff can be created in it.
    let res = app
        .post(
            "/api/v1/admin/staff",
            token,
            &json!({ "username": "mz.staff", "password": "Minzheng-2026", "role": "staff", "org_unit": "civil-affairs" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
}
