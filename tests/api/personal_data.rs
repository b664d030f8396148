//! Residents' personal data: sealed at rest, masked for staff, revealed only with a reason that
//! is audited, exportable by the resident, erased when they leave.

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{path, query_param},
};

use crate::helpers::{Session, TestApp, assert_problem, fields, spawn_app};

const PHONE: &str = "13912345678";

/// A resident binds their phone through WeChat's getPhoneNumber button.
async fn resident_with_phone(app: &TestApp, openid: &str) -> Session {
    Mock::given(path("/cgi-bin/stable_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "access_token": "T", "expires_in": 7200 })),
        )
        .mount(&app.wechat)
        .await;
    Mock::given(path("/wxa/business/getuserphonenumber"))
        .and(query_param("access_token", "T"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "errcode": 0, "errmsg": "ok",
            "phone_info": { "phoneNumber": PHONE, "purePhoneNumber": PHONE, "countryCode": "86" }
        })))
        .mount(&app.wechat)
        .await;
    let resident = app.login_resident(openid).await;
    let res = app
        .post(
            "/api/v1/me/phone",
            Some(&resident.access_token),
            &json!({ "code": "pc" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    resident
}

/// Every column of every resident row, as text.
async fn raw_resident_rows(app: &TestApp) -> String {
    let backend = app.state.db.get_database_backend();
    let rows = app
        .state
        .db
        .query_all_raw(Statement::from_string(backend, "SELECT * FROM residents"))
        .await
        .unwrap();
    let mut out = String::new();
    for row in rows {
        for col in row.column_names() {
            let text = row
                .try_get::<Option<String>>("", &col)
                .ok()
                .flatten()
                .unwrap_or_default();
            out.push_str(&format!("{col}={text};"));
        }
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn the_database_holds_no_plaintext_phone_number() {
    let app = spawn_app().await;
    let resident = resident_with_phone(&app, "o-sealed").await;

    let raw = raw_resident_rows(&app).await;
    assert!(raw.contains("phone_enc=v1:"), "{raw}");
    assert!(!raw.contains(PHONE), "plaintext phone in the row: {raw}");
    assert!(!raw.contains("12345678"), "{raw}");

    // The resident sees it masked on their profile.
    let me: Value = app
        .get("/api/v1/me", Some(&resident.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["phone"], "139****5678");
}

#[tokio::test]
async fn an_administrator_finds_a_resident_by_phone_masked_and_reveals_with_a_reason() {
    let app = spawn_app().await;
    let resident = resident_with_phone(&app, "o-caller").await;
    let id = resident.user["id"].as_str().unwrap().to_owned();
    let admin = app.login_admin().await;
    let token = Some(admin.access_token.as_str());

    let found: Vec<Value> = app
        .get(&format!("/api/v1/admin/residents?phone={PHONE}"), token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], id.as_str());
    assert_eq!(found[0]["phone"], "139****5678");
    let none: Vec<Value> = app
        .get("/api/v1/admin/residents?phone=13000000000", token)
        .await
        .json()
        .await
        .unwrap();
    assert!(none.is_empty());

    // No reason, no reveal.
    let res = app
        .post(
            &format!("/api/v1/admin/residents/{id}/reveal"),
            token,
            &json!({ "field": "phone", "reason": "" }),
        )
        .await;
    let body = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&body), ["reason"]);

    let res = app
        .post(
            &format!("/api/v1/admin/residents/{id}/reveal"),
            token,
            &json!({ "field": "phone", "reason": "居民来电反映问题，需回电" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let revealed: Value = res.json().await.unwrap();
    assert_eq!(revealed["value"], PHONE);

    let audit: Value = app
        .get(&format!("/api/v1/admin/audit?target={id}"), token)
        .await
        .json()
        .await
        .unwrap();
    let entry = &audit["items"][0];
    assert_eq!(entry["action"], "personal_data.revealed");
    assert_eq!(entry["actor_name"], "district-admin");
    assert_eq!(entry["detail"]["reason"], "居民来电反映问题，需回电");
    assert_eq!(entry["detail"]["field"], "phone");
    assert_eq!(entry["request_id"], request_id.as_str());
}

#[tokio::test]
async fn sub_district_staff_cannot_look_residents_up() {
    let app = spawn_app().await;
    let staff = app.staff_of("qian.er", "yuetan").await;
    let res = app
        .get(
            &format!("/api/v1/admin/residents?phone={PHONE}"),
            Some(&staff.access_token),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "admin_only").await;
}

#[tokio::test]
async fn a_resident_downloads_everything_canyu_holds_about_them() {
    let app = spawn_app().await;
    let resident = resident_with_phone(&app, "o-export").await;
    let token = Some(resident.access_token.as_str());
    app.patch(
        "/api/v1/me",
        token,
        &json!({ "nickname": "老张", "community": "白云观社区" }),
    )
    .await;

    let res = app.get("/api/v1/me/data-export", token).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let export: Value = res.json().await.unwrap();
    assert_eq!(export["profile"]["openid"], "o-export");
    assert_eq!(export["profile"]["phone"], PHONE, "their own data, in full");
    assert_eq!(export["profile"]["nickname"], "老张");
    assert_eq!(export["profile"]["community"], "白云观社区");
    let notice: Value = app
        .get("/api/v1/privacy-notice", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(export["consents"][0]["purpose"], "phone_number");
    assert_eq!(export["consents"][0]["notice_version"], notice["version"]);
    assert!(!export["sessions"].as_array().unwrap().is_empty());
    assert_eq!(export["notifications"][0]["kind"], "welcome");
}

#[tokio::test]
async fn a_resident_deletes_their_account_and_their_personal_data_is_gone() {
    let app = spawn_app().await;
    let resident = resident_with_phone(&app, "o-leaving").await;
    let token = Some(resident.access_token.as_str());
    app.patch(
        "/api/v1/me",
        token,
        &json!({ "nickname": "要走的人", "home_subdistrict": "niujie" }),
    )
    .await;

    let res = app
        .request(reqwest::Method::DELETE, "/api/v1/me", token, None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // The session is over.
    assert_eq!(
        app.get("/api/v1/me", token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let res = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": resident.refresh_token }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Nothing personal remains in the row.
    let raw = raw_resident_rows(&app).await;
    assert!(
        !raw.contains("o-leaving") && !raw.contains("要走的人") && !raw.contains("v1:"),
        "{raw}"
    );
    let admin = app.login_admin().await;
    let found: Vec<Value> = app
        .get(
            &format!("/api/v1/admin/residents?phone={PHONE}"),
            Some(&admin.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert!(found.is_empty());

    // Their notices went with them.
    let backend = app.state.db.get_database_backend();
    let left = app
        .state
        .db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            if backend == sea_orm::DbBackend::Postgres {
                "SELECT COUNT(*) AS n FROM notifications WHERE resident_id = $1"
            } else {
                "SELECT COUNT(*) AS n FROM notifications WHERE resident_id = ?"
            },
            [uuid::Uuid::parse_str(resident.user["id"].as_str().unwrap())
                .unwrap()
                .into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(left, 0);

    // Coming back later starts a new, empty account.
    let again = app.login_resident("o-leaving").await;
    assert_ne!(again.user["id"], resident.user["id"]);
    assert!(again.user["nickname"].is_null() && again.user["phone"].is_null());
}
