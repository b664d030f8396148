//! The closed loop (民意收集—结果反馈闭环): a survey raises a topic, a meeting deliberates it,
//! its outcomes progress in public, and the residents who asked to hear back are told.
//! Also the staff's own lists of what their unit runs.

use canyu::entities::deliberations;
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    deliberation::{meeting_body, published_meeting, sign_up, signed_up},
    helpers::{Session, TestApp, assert_problem, fields, spawn_app},
    open_days_support::{event_body, id_of, slot},
};

/// A short anonymous questionnaire of yuetan that offers to keep respondents informed.
pub fn parking_survey() -> Value {
    json!({
        "title": "月坛街道胡同停车意见征集",
        "description": "您的意见将提交居民议事会讨论",
        "org_unit": "yuetan",
        "audience": ["yuetan"],
        "anonymous": true,
        "keep_informed": true,
        "pages": [{ "id": "p1", "questions": [
            { "id": "problem", "type": "single", "title": "胡同停车是否影响您出行？", "required": true,
              "options": [ {"id": "yes", "label": "影响"}, {"id": "no", "label": "不影响"} ] }
        ]}]
    })
}

async fn answers(app: &TestApp, who: &Session, survey: &str, keep_informed: bool) {
    let res = app
        .post(
            &format!("/api/v1/surveys/{survey}/responses"),
            Some(&who.access_token),
            &json!({ "version": 1, "answers": { "problem": "yes" }, "keep_informed": keep_informed }),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap_or_default()
    );
}

fn progress_notices(inbox: &Value) -> usize {
    inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["title"] == "您关注的议事成果有新进展")
        .count()
}

#[tokio::test]
async fn a_survey_answer_comes_back_as_a_notice_of_what_was_done() {
    let app = spawn_app().await;
    let staff = app.staff_of("yuetan-wang", "yuetan").await;
    let survey = app.published_survey(&staff, &parking_survey()).await;
    // 王阿姨 asks to hear back; 李叔 answers but does not.
    let wang = app.resident_of("o-wang", "yuetan").await;
    let li = app.resident_of("o-li", "yuetan").await;
    answers(&app, &wang, &survey, true).await;
    answers(&app, &li, &survey, false).await;

    // The meeting names the survey whose results raised its topic; only a survey residents
    // could answer will do.
    let mut body = meeting_body("yuetan", 10, 0, false);
    body["source_survey_id"] = json!(Uuid::now_v7());
    let res = app
        .post("/api/v1/deliberations", Some(&staff.access_token), &body)
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&problem), ["source_survey_id"]);
    let draft = app
        .post(
            "/api/v1/surveys",
            Some(&staff.access_token),
            &parking_survey(),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    body["source_survey_id"] = draft["id"].clone();
    let res = app
        .post("/api/v1/deliberations", Some(&staff.access_token), &body)
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&problem), ["source_survey_id"]);

    body["source_survey_id"] = json!(survey);
    let meeting = published_meeting(&app, &staff, &body).await;
    let res = app
        .post(
            &format!("/api/v1/deliberations/{meeting}/outcomes"),
            Some(&staff.access_token),
            &json!({
                "title": "胡同错时停车方案",
                "description": "与周边单位共享车位，夜间向居民开放",
                "responsible_unit": "月坛街道城市管理办公室",
                "due_date": (Utc::now() + Duration::days(90)).date_naive(),
                "weight": 1,
            }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let outcome = id_of(&res.json::<Value>().await.unwrap());

    // 赵大爷 answers after the outcome was recorded, and asks to hear back too.
    let zhao = app.resident_of("o-zhao", "yuetan").await;
    answers(&app, &zhao, &survey, true).await;

    let res = app
        .post(
            &format!("/api/v1/outcomes/{outcome}/progress"),
            Some(&staff.access_token),
            &json!({ "status": "in_progress", "percent": 40, "note": "已签订车位共享协议",
                     "happened_on": Utc::now().date_naive() }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    assert_eq!(progress_notices(&app.inbox(&wang).await), 1);
    assert_eq!(progress_notices(&app.inbox(&zhao).await), 1);
    assert_eq!(progress_notices(&app.inbox(&li).await), 0);

    // The public page of the outcome names the survey it came from.
    let detail: Value = app
        .get(&format!("/api/v1/outcomes/{outcome}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["source_survey"]["id"], survey.as_str());
    assert_eq!(detail["source_survey"]["title"], "月坛街道胡同停车意见征集");
    assert_eq!(detail["followers"], 2);

    // Her own trail leads from her answer to the latest progress.
    let trail: Value = app
        .get("/api/v1/me/loop", Some(&wang.access_token))
        .await
        .json()
        .await
        .unwrap();
    let items = trail["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{trail}");
    assert_eq!(items[0]["kind"], "survey");
    assert_eq!(items[0]["survey"]["id"], survey.as_str());
    assert_eq!(items[0]["participation"], "answered");
    assert_eq!(items[0]["keep_informed"], true);
    assert_eq!(items[0]["meetings"][0]["id"], meeting.as_str());
    assert_eq!(items[0]["outcomes"][0]["id"], outcome.as_str());
    assert_eq!(items[0]["outcomes"][0]["latest_progress"]["percent"], 40);
    // 李叔 sees what came of his answer too, without being sent notices.
    let trail: Value = app
        .get("/api/v1/me/loop", Some(&li.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(trail["items"][0]["keep_informed"], false);
    assert_eq!(trail["items"][0]["outcomes"][0]["id"], outcome.as_str());

    // Taking part in the meeting as well puts both steps on the trail, newest first.
    signed_up(&app, &li, &meeting).await;
    let trail: Value = app
        .get("/api/v1/me/loop", Some(&li.access_token))
        .await
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["meeting", "survey"]);
    assert_eq!(trail["items"][0]["participation"], "confirmed");
}

#[tokio::test]
async fn a_sign_up_cannot_be_given_up_once_the_meeting_has_begun() {
    let app = spawn_app().await;
    let staff = app.staff_of("yuetan-wang", "yuetan").await;
    let meeting = published_meeting(&app, &staff, &meeting_body("yuetan", 5, 0, true)).await;
    let a = app.login_resident("o-a").await;
    let b = app.login_resident("o-b").await;
    signed_up(&app, &a, &meeting).await;
    // The meeting starts (moved back in time with its sign-up window: the one thing a
    // black-box test cannot wait for).
    let id: Uuid = meeting.parse().unwrap();
    deliberations::Entity::update_many()
        .col_expr(
            deliberations::Column::StartsAt,
            Expr::value(Utc::now() - Duration::minutes(5)),
        )
        .col_expr(
            deliberations::Column::SignupClosesAt,
            Expr::value(Utc::now() - Duration::minutes(5)),
        )
        .filter(deliberations::Column::Id.eq(id))
        .exec(&app.state.db)
        .await
        .unwrap();

    let res = app
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/deliberations/{meeting}/signups/me"),
            Some(&a.access_token),
            None,
        )
        .await;
    assert_problem(res, StatusCode::CONFLICT, "deliberation_started").await;
    // Her seat is still hers.
    let detail: Value = app
        .get(
            &format!("/api/v1/deliberations/{meeting}"),
            Some(&a.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["my_signup"]["status"], "confirmed");
    assert_eq!(detail["seats_left"], 4);
    // Someone who never signed up is told so, not that it started.
    let res = app
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/deliberations/{meeting}/signups/me"),
            Some(&b.access_token),
            None,
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "signup_not_found").await;
    // And sign-up is no longer possible for a meeting under way.
    assert_problem(
        sign_up(&app, &b, &meeting).await,
        StatusCode::CONFLICT,
        "signup_closed",
    )
    .await;
}

async fn titles(app: &TestApp, path: &str, who: &Session) -> Vec<String> {
    let res = app.get(path, Some(&who.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    let page: Value = res.json().await.unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn staff_list_every_meeting_and_open_day_of_their_own_unit() {
    let app = spawn_app().await;
    let yuetan = app.staff_of("yuetan-wang", "yuetan").await;
    let xinjiekou = app.staff_of("xinjiekou-staff", "xinjiekou").await;
    let admin = app.login_admin().await;
    let resident = app.login_resident("o-a").await;

    let mut draft = meeting_body("yuetan", 5, 0, false);
    draft["title"] = json!("草稿：垃圾分类议事会");
    let res = app
        .post("/api/v1/deliberations", Some(&yuetan.access_token), &draft)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    published_meeting(&app, &yuetan, &meeting_body("yuetan", 5, 0, false)).await;
    let mut theirs = meeting_body("xinjiekou", 5, 0, false);
    theirs["title"] = json!("新街口议事会");
    published_meeting(&app, &xinjiekou, &theirs).await;

    let path = "/api/v1/deliberations?scope=mine";
    assert_eq!(
        titles(&app, path, &yuetan).await,
        ["胡同停车秩序议事会", "草稿：垃圾分类议事会"]
    );
    assert_eq!(titles(&app, path, &xinjiekou).await, ["新街口议事会"]);
    assert_eq!(titles(&app, path, &admin).await.len(), 3);
    // The public list shows only what is published.
    let public: Value = app
        .get("/api/v1/deliberations", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(public["items"].as_array().unwrap().len(), 2);

    // Open days: a draft and a published one of xinjiekou.
    let mut draft_day = event_body(vec![slot(60 * 24, 60, 10)]);
    draft_day["title"] = json!("草稿：开放日");
    app.create_open_day(&xinjiekou, &draft_day).await;
    app.open_day(&xinjiekou, vec![slot(60 * 24, 60, 10)]).await;
    let path = "/api/v1/open-days?scope=mine";
    assert_eq!(
        titles(&app, path, &xinjiekou).await,
        ["新街口街道办事处开放日", "草稿：开放日"]
    );
    assert!(titles(&app, path, &yuetan).await.is_empty());
    assert_eq!(titles(&app, path, &admin).await.len(), 2);

    for path in [
        "/api/v1/deliberations?scope=mine",
        "/api/v1/open-days?scope=mine",
    ] {
        assert_problem(
            app.get(path, Some(&resident.access_token)).await,
            StatusCode::FORBIDDEN,
            "staff_only",
        )
        .await;
        assert_problem(
            app.get(path, None).await,
            StatusCode::UNAUTHORIZED,
            "token_missing",
        )
        .await;
    }
    for path in [
        "/api/v1/deliberations?scope=all",
        "/api/v1/open-days?scope=all",
    ] {
        let problem = assert_problem(
            app.get(path, Some(&yuetan.access_token)).await,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        )
        .await;
        assert_eq!(fields(&problem), ["scope"]);
    }
}
