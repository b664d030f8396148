//! Grassroots deliberation: staff plan and publish meetings, residents sign up for seats or
//! the waitlist, give them up, and are checked in at the door.

use canyu::entities::{deliberation_signups, outcome_follows};
use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp, assert_problem, fields, spawn_app};

/// A meeting in `org_unit` whose sign-up is open now and that starts in two days.
pub fn meeting_body(org_unit: &str, capacity: i32, reserved: i32, waitlist: bool) -> Value {
    let now = Utc::now();
    json!({
        "title": "胡同停车秩序议事会",
        "background": "居民反映胡同内停车混乱，影响消防通道。",
        "agenda": "1. 情况通报 2. 居民发言 3. 形成方案",
        "location": "月坛街道社区服务中心三楼",
        "starts_at": now + Duration::days(2),
        "ends_at": now + Duration::days(2) + Duration::hours(2),
        "signup_opens_at": now - Duration::hours(1),
        "signup_closes_at": now + Duration::days(1),
        "capacity": capacity,
        "reserved_seats": reserved,
        "waitlist_enabled": waitlist,
        "org_unit": org_unit,
    })
}

pub async fn create_meeting(app: &TestApp, staff: &Session, body: &Value) -> Value {
    let res = app
        .post("/api/v1/deliberations", Some(&staff.access_token), body)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

/// A published meeting; answers its id.
pub async fn published_meeting(app: &TestApp, staff: &Session, body: &Value) -> String {
    let m = create_meeting(app, staff, body).await;
    let id = m["id"].as_str().unwrap().to_owned();
    let res = app
        .post(
            &format!("/api/v1/deliberations/{id}/publish"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    id
}

pub fn signup_body(name: &str) -> Value {
    json!({ "name": name, "phone": "13812345678", "community": "三里河社区", "consent": true })
}

pub async fn sign_up(app: &TestApp, who: &Session, id: &str) -> reqwest::Response {
    app.post(
        &format!("/api/v1/deliberations/{id}/signups"),
        Some(&who.access_token),
        &signup_body("张三"),
    )
    .await
}

pub async fn signed_up(app: &TestApp, who: &Session, id: &str) -> Value {
    let res = sign_up(app, who, id).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

async fn detail(app: &TestApp, who: Option<&Session>, id: &str) -> Value {
    let res = app
        .get(
            &format!("/api/v1/deliberations/{id}"),
            who.map(|w| w.access_token.as_str()),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

async fn audit_actions(app: &TestApp, target: &str) -> Vec<String> {
    let admin = app.login_admin().await;
    let res = app
        .get(
            &format!("/api/v1/admin/audit?target={target}"),
            Some(&admin.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

fn kinds_and_titles(inbox: &Value) -> Vec<String> {
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn staff_plan_publish_edit_and_cancel_a_meeting_within_their_unit() {
    let app = spawn_app().await;
    let staff = app.staff_of("yuetan-li", "yuetan").await;
    let other = app.staff_of("niujie-wang", "niujie").await;
    let resident = app.login_resident("o-resident-1").await;

    // Out of order times and too many reserved seats name their fields.
    let mut bad = meeting_body("yuetan", 10, 10, false);
    bad["ends_at"] = bad["starts_at"].clone();
    let res = app
        .post("/api/v1/deliberations", Some(&staff.access_token), &bad)
        .await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&p), vec!["ends_at"]);
    let res = app
        .post(
            "/api/v1/deliberations",
            Some(&staff.access_token),
            &meeting_body("yuetan", 10, 10, false),
        )
        .await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&p), vec!["reserved_seats"]);
    // Staff plan only for their own unit; residents not at all.
    let res = app
        .post(
            "/api/v1/deliberations",
            Some(&other.access_token),
            &meeting_body("yuetan", 10, 0, false),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;
    let res = app
        .post(
            "/api/v1/deliberations",
            Some(&resident.access_token),
            &meeting_body("yuetan", 10, 0, false),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let mut body = meeting_body("yuetan", 10, 2, true);
    body["eligibility"] = json!(["yuetan", "zhanlanlu"]);
    let survey = app
        .published_survey(&staff, &crate::closed_loop::parking_survey())
        .await;
    body["source_survey_id"] = json!(survey);
    let draft = create_meeting(&app, &staff, &body).await;
    let id = draft["id"].as_str().unwrap().to_owned();
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["seats_left"], 8);
    assert_eq!(draft["eligibility"], json!(["yuetan", "zhanlanlu"]));
    assert_eq!(draft["source_survey_id"], json!(survey));

    // A draft is for its staff only.
    let res = app
        .get(
            &format!("/api/v1/deliberations/{id}"),
            Some(&resident.access_token),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "deliberation_not_found").await;
    assert_eq!(detail(&app, Some(&staff), &id).await["status"], "draft");
    let list: Value = app
        .get("/api/v1/deliberations", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    // Another unit's staff can neither edit nor publish it.
    let res = app
        .request(
            Method::PUT,
            &format!("/api/v1/deliberations/{id}"),
            Some(&other.access_token),
            Some(&body),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;
    let res = app
        .post(
            &format!("/api/v1/deliberations/{id}/publish"),
            Some(&other.access_token),
            &json!({}),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;

    let mut edited = body.clone();
    edited["title"] = json!("胡同停车与消防通道议事会");
    let res = app
        .request(
            Method::PUT,
            &format!("/api/v1/deliberations/{id}"),
            Some(&staff.access_token),
            Some(&edited),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .post(
            &format!("/api/v1/deliberations/{id}/publish"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .post(
            &format!("/api/v1/deliberations/{id}/publish"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    assert_problem(res, StatusCode::CONFLICT, "deliberation_already_published").await;

    // Residents (and anyone) see it now, filtered by sub-district.
    let public = detail(&app, None, &id).await;
    assert_eq!(public["title"], "胡同停车与消防通道议事会");
    assert_eq!(public["status"], "published");
    assert_eq!(public["my_signup"], Value::Null);
    for (filter, expected) in [
        ("", 1),
        ("?subdistrict=zhanlanlu", 1),
        ("?subdistrict=niujie", 0),
    ] {
        let list: Value = app
            .get(&format!("/api/v1/deliberations{filter}"), None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            list["items"].as_array().unwrap().len(),
            expected,
            "{filter}"
        );
    }

    let res = app
        .post(
            &format!("/api/v1/deliberations/{id}/cancel"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(detail(&app, None, &id).await["status"], "cancelled");
    let res = app
        .post(
            &format!("/api/v1/deliberations/{id}/cancel"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    assert_problem(res, StatusCode::CONFLICT, "deliberation_cancelled").await;

    let actions = audit_actions(&app, &id).await;
    for a in [
        "deliberation.created",
        "deliberation.updated",
        "deliberation.published",
        "deliberation.cancelled",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn seats_then_waitlist_then_promotion_when_someone_cancels() {
    let app = spawn_app().await;
    let staff = app.staff_of("yuetan-li", "yuetan").await;
    // Three seats, one kept for an invited representative: two for residents.
    let id = published_meeting(&app, &staff, &meeting_body("yuetan", 3, 1, true)).await;
    let r: Vec<Session> = futures_join(&app, &["o-a", "o-b", "o-c", "o-d"]).await;

    let a = signed_up(&app, &r[0], &id).await;
    assert_eq!(a["status"], "confirmed");
    let code = a["check_in_code"].as_str().unwrap();
    assert_eq!(code.len(), 8);
    assert!(
        code.chars()
            .all(|c| "23456789ABCDEFGHJKLMNPQRSTUVWXYZ".contains(c)),
        "{code}"
    );
    assert!(a["qr_payload"].as_str().unwrap().contains(code));
    assert_eq!(a["waitlist_position"], Value::Null);
    assert_eq!(signed_up(&app, &r[1], &id).await["status"], "confirmed");
    let c = signed_up(&app, &r[2], &id).await;
    assert_eq!(c["status"], "waitlisted");
    assert_eq!(c["waitlist_position"], 1);
    assert_eq!(c["check_in_code"], Value::Null);
    assert_eq!(signed_up(&app, &r[3], &id).await["waitlist_position"], 2);
    assert_eq!(detail(&app, None, &id).await["seats_left"], 0);

    // One sign-up per resident; consent and a real phone number are required.
    assert_problem(
        sign_up(&app, &r[0], &id).await,
        StatusCode::CONFLICT,
        "already_signed_up",
    )
    .await;
    let e = app.login_resident("o-e").await;
    let mut body = signup_body("李四");
    body["consent"] = json!(false);
    let res = app
        .post(
            &format!("/api/v1/deliberations/{id}/signups"),
            Some(&e.access_token),
            &body,
        )
        .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "consent_required").await;
    let mut body = signup_body("李四");
    body["phone"] = json!("12345");
    let res = app
        .post(
            &format!("/api/v1/deliberations/{id}/signups"),
            Some(&e.access_token),
            &body,
        )
        .await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&p), vec!["phone"]);

    // The resident sees their own state on the meeting.
    let mine = detail(&app, Some(&r[2]), &id).await;
    assert_eq!(mine["my_signup"]["status"], "waitlisted");

    // The first confirmed resident gives up: the earliest waitlisted takes the seat, told so.
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/deliberations/{id}/signups/me"),
            Some(&r[0].access_token),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/deliberations/{id}/signups/me"),
            Some(&r[0].access_token),
            None,
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "signup_not_found").await;
    let promoted = detail(&app, Some(&r[2]), &id).await["my_signup"].clone();
    assert_eq!(promoted["status"], "confirmed");
    assert_eq!(promoted["check_in_code"].as_str().unwrap().len(), 8);
    assert!(
        kinds_and_titles(&app.inbox(&r[2]).await)
            .iter()
            .any(|t| t.contains("候补成功"))
    );
    assert!(
        !kinds_and_titles(&app.inbox(&r[3]).await)
            .iter()
            .any(|t| t.contains("候补成功"))
    );
    assert_eq!(
        detail(&app, Some(&r[3]), &id).await["my_signup"]["waitlist_position"],
        1
    );
    assert_eq!(
        detail(&app, Some(&r[0]), &id).await["my_signup"]["status"],
        "cancelled"
    );

    // Staff see the list in arrival order with personal data masked.
    let res = app
        .get(
            &format!("/api/v1/deliberations/{id}/signups"),
            Some(&staff.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let list: Value = res.json().await.unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["name"], "张*");
    assert_eq!(items[0]["phone"], "138****5678");
    let other = app.staff_of("niujie-wang", "niujie").await;
    let res = app
        .get(
            &format!("/api/v1/deliberations/{id}/signups"),
            Some(&other.access_token),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;

    // A reveal shows the full value and is audited.
    let signup_id = items[1]["id"].as_str().unwrap();
    let res = app
        .post(
            &format!("/api/v1/deliberations/{id}/signups/{signup_id}/reveal"),
            Some(&staff.access_token),
            &json!({ "field": "phone", "reason": "电话通知会议地点变更" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let revealed: Value = res.json().await.unwrap();
    assert_eq!(revealed["value"], "13812345678");
    assert!(
        audit_actions(&app, signup_id)
            .await
            .contains(&"personal_data.revealed".to_owned())
    );

    // Stored sealed, never in plain text.
    let row = deliberation_signups::Entity::find_by_id(signup_id.parse::<Uuid>().unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(!row.phone_enc.unwrap().contains("13812345678"));
    assert!(!row.name_enc.unwrap().contains("张三"));

    // Without a waitlist, a full meeting says so.
    let full = published_meeting(&app, &staff, &meeting_body("yuetan", 1, 0, false)).await;
    signed_up(&app, &r[0], &full).await;
    assert_problem(
        sign_up(&app, &r[1], &full).await,
        StatusCode::CONFLICT,
        "deliberation_full",
    )
    .await;
}

async fn futures_join(app: &TestApp, openids: &[&str]) -> Vec<Session> {
    let mut out = Vec::new();
    for o in openids {
        out.push(app.login_resident(o).await);
    }
    out
}

#[tokio::test]
async fn eligibility_windows_and_a_cancelled_meeting_tells_everyone() {
    let app = spawn_app().await;
    let staff = app.staff_of("yuetan-li", "yuetan").await;
    let mut body = meeting_body("yuetan", 1, 0, true);
    body["eligibility"] = json!(["yuetan"]);
    let id = published_meeting(&app, &staff, &body).await;

    let r = app.login_resident("o-far").await;
    assert_problem(
        sign_up(&app, &r, &id).await,
        StatusCode::FORBIDDEN,
        "not_eligible",
    )
    .await;
    let res = app
        .patch(
            "/api/v1/me",
            Some(&r.access_token),
            &json!({ "home_subdistrict": "niujie" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_problem(
        sign_up(&app, &r, &id).await,
        StatusCode::FORBIDDEN,
        "not_eligible",
    )
    .await;
    let res = app
        .patch(
            "/api/v1/me",
            Some(&r.access_token),
            &json!({ "home_subdistrict": "yuetan" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(signed_up(&app, &r, &id).await["status"], "confirmed");
    let w = app.login_resident("o-wait").await;
    app.patch(
        "/api/v1/me",
        Some(&w.access_token),
        &json!({ "home_subdistrict": "yuetan" }),
    )
    .await;
    assert_eq!(signed_up(&app, &w, &id).await["status"], "waitlisted");

    // Sign-up windows.
    let now = Utc::now();
    let mut later = meeting_body("yuetan", 5, 0, false);
    later["signup_opens_at"] = json!(now + Duration::hours(3));
    let later = published_meeting(&app, &staff, &later).await;
    assert_problem(
        sign_up(&app, &r, &later).await,
        StatusCode::CONFLICT,
        "signup_not_open",
    )
    .await;
    let mut closed = meeting_body("yuetan", 5, 0, false);
    closed["signup_opens_at"] = json!(now - Duration::days(2));
    closed["signup_closes_at"] = json!(now - Duration::minutes(1));
    let closed = published_meeting(&app, &staff, &closed).await;
    assert_problem(
        sign_up(&app, &r, &closed).await,
        StatusCode::CONFLICT,
        "signup_closed",
    )
    .await;

    // Cancelling the meeting tells the confirmed and the waitlisted, once each.
    let res = app
        .post(
            &format!("/api/v1/deliberations/{id}/cancel"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    for who in [&r, &w] {
        let titles = kinds_and_titles(&app.inbox(who).await);
        assert_eq!(
            titles.iter().filter(|t| *t == "议事会已取消").count(),
            1,
            "{titles:?}"
        );
    }
    let late = app.login_resident("o-late").await;
    assert_problem(
        sign_up(&app, &late, &id).await,
        StatusCode::CONFLICT,
        "deliberation_cancelled",
    )
    .await;
}

#[tokio::test]
async fn check_in_codes_work_once_and_only_for_their_meeting() {
    let app = spawn_app().await;
    let staff = app.staff_of("yuetan-li", "yuetan").await;
    let id = published_meeting(&app, &staff, &meeting_body("yuetan", 5, 0, false)).await;
    let other = published_meeting(&app, &staff, &meeting_body("yuetan", 5, 0, false)).await;
    let a = app.login_resident("o-a").await;
    let b = app.login_resident("o-b").await;
    let code_a = signed_up(&app, &a, &id).await["check_in_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let qr_b = signed_up(&app, &b, &id).await["qr_payload"]
        .as_str()
        .unwrap()
        .to_owned();
    let check_in = |meeting: String, code: String| {
        let app = &app;
        let token = staff.access_token.clone();
        async move {
            app.post(
                &format!("/api/v1/deliberations/{meeting}/check-ins"),
                Some(&token),
                &json!({ "code": code }),
            )
            .await
        }
    };

    let res = check_in(other.clone(), code_a.clone()).await;
    assert_problem(res, StatusCode::CONFLICT, "check_in_wrong_meeting").await;
    let res = check_in(id.clone(), code_a.to_lowercase()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["name"], "张*");
    let res = check_in(id.clone(), code_a.clone()).await;
    assert_problem(res, StatusCode::CONFLICT, "already_checked_in").await;
    let res = check_in(id.clone(), "ZZZZZZZZ".into()).await;
    assert_problem(res, StatusCode::NOT_FOUND, "check_in_code_unknown").await;
    let res = check_in(id.clone(), "0O1I0O1I".into()).await;
    assert_problem(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "check_in_code_invalid",
    )
    .await;

    // The QR payload is signed: a forged one is refused, the real one checks in.
    let mut forged = qr_b.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'a' { 'b' } else { 'a' });
    let res = check_in(id.clone(), forged).await;
    assert_problem(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "check_in_code_invalid",
    )
    .await;
    let res = check_in(other.clone(), qr_b.clone()).await;
    assert_problem(res, StatusCode::CONFLICT, "check_in_wrong_meeting").await;
    let res = check_in(id.clone(), qr_b.clone()).await;
    assert_eq!(res.status(), StatusCode::OK);

    // Another unit's staff cannot check anyone in.
    let niujie = app.staff_of("niujie-wang", "niujie").await;
    let res = app
        .post(
            &format!("/api/v1/deliberations/{id}/check-ins"),
            Some(&niujie.access_token),
            &json!({ "code": code_a }),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;

    let res = app
        .get(
            &format!("/api/v1/deliberations/{id}/attendance"),
            Some(&staff.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let counts: Value = res.json().await.unwrap();
    assert_eq!(counts["confirmed"], 2);
    assert_eq!(counts["checked_in"], 2);
    assert_eq!(counts["waitlisted"], 0);
    assert!(
        audit_actions(&app, body["signup_id"].as_str().unwrap())
            .await
            .contains(&"deliberation.checked_in".to_owned())
    );
}

#[tokio::test]
async fn deleting_an_account_frees_the_seat_and_erases_the_sign_up() {
    let app = spawn_app().await;
    let staff = app.staff_of("yuetan-li", "yuetan").await;
    let id = published_meeting(&app, &staff, &meeting_body("yuetan", 1, 0, true)).await;
    let leaving = app.login_resident("o-leaving").await;
    let waiting = app.login_resident("o-waiting").await;
    let mine = signed_up(&app, &leaving, &id).await;
    assert_eq!(mine["status"], "confirmed");
    assert_eq!(signed_up(&app, &waiting, &id).await["status"], "waitlisted");

    // The export carries the resident's own sign-up in full.
    let res = app
        .get("/api/v1/me/data-export", Some(&leaving.access_token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let export: Value = res.json().await.unwrap();
    let signups = export["deliberation_signups"].as_array().unwrap();
    assert_eq!(signups.len(), 1);
    assert_eq!(signups[0]["name"], "张三");
    assert_eq!(signups[0]["phone"], "13812345678");
    assert_eq!(signups[0]["status"], "confirmed");
    assert_eq!(signups[0]["deliberation_title"], "胡同停车秩序议事会");

    // An outcome the resident follows as a confirmed participant.
    let res = app
        .post(
            &format!("/api/v1/deliberations/{id}/outcomes"),
            Some(&staff.access_token),
            &json!({ "title": "施划停车位", "responsible_unit": "月坛街道城管办",
                     "due_date": (Utc::now() + Duration::days(30)).date_naive() }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let follows_of = |who: &Session| {
        let rid: Uuid = who.user["id"].as_str().unwrap().parse().unwrap();
        let db = app.state.db.clone();
        async move {
            outcome_follows::Entity::find()
                .filter(outcome_follows::Column::ResidentId.eq(rid))
                .all(&db)
                .await
                .unwrap()
                .len()
        }
    };
    assert_eq!(follows_of(&leaving).await, 1);

    let res = app
        .request(
            Method::DELETE,
            "/api/v1/me",
            Some(&leaving.access_token),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(follows_of(&leaving).await, 0);

    let row = deliberation_signups::Entity::find()
        .filter(
            deliberation_signups::Column::Id.eq(mine["id"]
                .as_str()
                .unwrap()
                .parse::<Uuid>()
                .unwrap()),
        )
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "cancelled");
    assert_eq!(row.name_enc, None);
    assert_eq!(row.phone_enc, None);
    assert_eq!(row.phone_hash, None);
    assert_eq!(row.community, None);
    assert_eq!(row.check_in_code, None);

    let theirs = detail(&app, Some(&waiting), &id).await;
    assert_eq!(theirs["my_signup"]["status"], "confirmed");
    assert!(
        kinds_and_titles(&app.inbox(&waiting).await)
            .iter()
            .any(|t| t.contains("候补成功"))
    );
}

#[tokio::test]
async fn the_day_before_everyone_confirmed_is_reminded_once() {
    let app = spawn_app().await;
    let staff = app.staff_of("yuetan-li", "yuetan").await;
    let now = Utc::now();
    let mut tomorrow = meeting_body("yuetan", 1, 0, true);
    tomorrow["signup_closes_at"] = json!(now + Duration::hours(10));
    tomorrow["starts_at"] = json!(now + Duration::hours(20));
    tomorrow["ends_at"] = json!(now + Duration::hours(22));
    let tomorrow = published_meeting(&app, &staff, &tomorrow).await;
    let later = published_meeting(&app, &staff, &meeting_body("yuetan", 5, 0, false)).await;
    let coming = app.login_resident("o-coming").await;
    let waiting = app.login_resident("o-waiting").await;
    let later_one = app.login_resident("o-later").await;
    signed_up(&app, &coming, &tomorrow).await;
    assert_eq!(
        signed_up(&app, &waiting, &tomorrow).await["status"],
        "waitlisted"
    );
    signed_up(&app, &later_one, &later).await;

    for _ in 0..2 {
        app.run_job("deliberation_reminders").await;
    }
    let reminders = |inbox: Value| {
        kinds_and_titles(&inbox)
            .iter()
            .filter(|t| *t == "议事会明天召开")
            .count()
    };
    assert_eq!(reminders(app.inbox(&coming).await), 1);
    assert_eq!(reminders(app.inbox(&waiting).await), 0);
    assert_eq!(reminders(app.inbox(&later_one).await), 0);
}

#[tokio::test]
async fn more_seats_move_the_waitlist_up_and_seats_never_drop_below_those_confirmed() {
    let app = spawn_app().await;
    let staff = app.staff_of("yuetan-li", "yuetan").await;
    let body = meeting_body("yuetan", 2, 0, true);
    let id = published_meeting(&app, &staff, &body).await;
    let r = futures_join(&app, &["o-1", "o-2", "o-3", "o-4"]).await;
    for who in &r {
        signed_up(&app, who, &id).await;
    }

    let mut fewer = body.clone();
    fewer["capacity"] = json!(3);
    fewer["reserved_seats"] = json!(2);
    let res = app
        .request(
            Method::PUT,
            &format!("/api/v1/deliberations/{id}"),
            Some(&staff.access_token),
            Some(&fewer),
        )
        .await;
    assert_problem(res, StatusCode::CONFLICT, "capacity_below_confirmed").await;

    let mut more = body.clone();
    more["capacity"] = json!(3);
    let res = app
        .request(
            Method::PUT,
            &format!("/api/v1/deliberations/{id}"),
            Some(&staff.access_token),
            Some(&more),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["seats_left"], 0);
    // The earliest waitlisted took the new seat and was told; the next is now first in line.
    let third = detail(&app, Some(&r[2]), &id).await["my_signup"].clone();
    assert_eq!(third["status"], "confirmed");
    assert!(
        kinds_and_titles(&app.inbox(&r[2]).await)
            .iter()
            .any(|t| t.contains("候补成功"))
    );
    assert_eq!(
        detail(&app, Some(&r[3]), &id).await["my_signup"]["waitlist_position"],
        1
    );
}

#[tokio::test]
async fn staff_export_the_sign_up_list_as_xlsx_masked_and_audited() {
    let app = spawn_app().await;
    let staff = app.staff_of("yuetan-li", "yuetan").await;
    let id = published_meeting(&app, &staff, &meeting_body("yuetan", 1, 0, true)).await;
    let a = app.login_resident("o-a").await;
    let b = app.login_resident("o-b").await;
    signed_up(&app, &a, &id).await;
    signed_up(&app, &b, &id).await;

    let res = app
        .get(
            &format!("/api/v1/deliberations/{id}/signups/export"),
            Some(&staff.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = res.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut sheet = String::new();
    std::io::Read::read_to_string(
        &mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(),
        &mut sheet,
    )
    .unwrap();
    assert!(sheet.contains("张*"), "{sheet}");
    assert!(sheet.contains("138****5678"));
    assert!(sheet.contains("已确认") && sheet.contains("候补"));
    assert!(!sheet.contains("13812345678"));
    assert!(!sheet.contains("张三"));
    assert!(
        audit_actions(&app, &id)
            .await
            .contains(&"deliberation.signups_exported".to_owned())
    );

    let niujie = app.staff_of("niujie-wang", "niujie").await;
    let res = app
        .get(
            &format!("/api/v1/deliberations/{id}/signups/export"),
            Some(&niujie.access_token),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;
}
