//! Officers at work: only serving officers join activities and give feedback, staff answer
//! every finding and the officer hears of each answer, overdue feedback is flagged, the
//! report's figures, and what account deletion does to an officer's data.

use canyu::entities::officer_applications;
use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use uuid::Uuid;
use wiremock::{
    Mock, ResponseTemplate,
    matchers::{body_partial_json, method, path},
};

use crate::{
    helpers::{assert_problem, fields, spawn_app},
    officers_support::{id_of, items},
};

#[tokio::test]
async fn only_serving_officers_join_activities_and_give_feedback() {
    let app = spawn_app().await;
    let staff = app.unit_officer_staff().await;
    let c = app.campaign(&staff, 5).await;
    let cid = id_of(&c);
    let (li, _) = app.officer(&staff, &cid, "o-li").await;
    let (zhao, zhao_officer) = app.officer(&staff, &cid, "o-zhao").await;
    let (qian, qian_officer) = app.officer(&staff, &cid, "o-qian").await;
    let (sun, _) = app.officer(&staff, &cid, "o-sun").await;
    let stranger = app.login_resident("o-stranger").await;
    // An officer of another campaign is no officer of this one.
    let other = app.campaign(&staff, 5).await;
    let (elsewhere, _) = app.officer(&staff, &id_of(&other), "o-elsewhere").await;

    // Zhao's term is ended early by staff, with a reason he hears.
    let p = assert_problem(
        app.end_officer(&staff, &zhao_officer, &json!({ "reason": "" }))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&p), ["reason"]);
    let res = app
        .end_officer(
            &staff,
            &zhao_officer,
            &json!({ "reason": "工作调动，无法继续参加" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let ended: Value = res.json().await.unwrap();
    assert_eq!(ended["standing"], "ended");
    assert_eq!(ended["end_reason"], "工作调动，无法继续参加");
    assert_problem(
        app.end_officer(&staff, &zhao_officer, &json!({ "reason": "再来一次" }))
            .await,
        StatusCode::CONFLICT,
        "officer_not_serving",
    )
    .await;
    let inbox = app.inbox(&zhao).await;
    assert!(
        items(&inbox)
            .iter()
            .any(|n| n["kind"] == "officer_term_ended"),
        "{inbox}"
    );
    // Qian's term simply ran out.
    app.move_term_end(&qian_officer, Utc::now() - Duration::minutes(1))
        .await;
    let roster = app
        .get_json(&format!("/api/v1/officer-campaigns/{cid}/officers"), &staff)
        .await;
    let standings: Vec<&str> = items(&roster)
        .iter()
        .map(|o| o["standing"].as_str().unwrap())
        .collect();
    assert_eq!(standings, ["serving", "ended", "expired", "serving"]);

    // Two places, starting in an hour.
    let a = app.activity(&staff, &cid, 60, 2).await;
    let aid = id_of(&a);
    assert_eq!(a["places_left"], 2);
    let res = app.sign_up(&li, &aid).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_problem(
        app.sign_up(&li, &aid).await,
        StatusCode::CONFLICT,
        "already_signed_up",
    )
    .await;
    for who in [&zhao, &qian, &stranger, &elsewhere] {
        assert_problem(
            app.sign_up(who, &aid).await,
            StatusCode::FORBIDDEN,
            "not_serving_officer",
        )
        .await;
    }
    assert_problem(
        app.sign_up(&staff, &aid).await,
        StatusCode::FORBIDDEN,
        "resident_only",
    )
    .await;
    let (zhou, _) = app.officer(&staff, &cid, "o-zhou").await;
    assert_eq!(app.sign_up(&zhou, &aid).await.status(), StatusCode::CREATED);
    assert_problem(
        app.sign_up(&sun, &aid).await,
        StatusCode::CONFLICT,
        "activity_full",
    )
    .await;
    let listed = app
        .get_json(&format!("/api/v1/officer-campaigns/{cid}/activities"), &li)
        .await;
    assert_eq!(items(&listed)[0]["places_left"], 0);

    let body =
        json!({ "rating": 4, "findings": ["取号机故障", "指引不清"], "suggestions": "增加引导员" });
    assert_problem(
        app.feedback(&li, &aid, &body).await,
        StatusCode::CONFLICT,
        "activity_not_started",
    )
    .await;

    // Once it has started: feedback from those who took part, once each.
    app.move_activity(&aid, Utc::now() - Duration::minutes(5))
        .await;
    assert_problem(
        app.sign_up(&sun, &aid).await,
        StatusCode::CONFLICT,
        "activity_started",
    )
    .await;
    assert_problem(
        app.feedback(&sun, &aid, &body).await,
        StatusCode::FORBIDDEN,
        "not_signed_up",
    )
    .await;
    for who in [&zhao, &stranger] {
        assert_problem(
            app.feedback(who, &aid, &body).await,
            StatusCode::FORBIDDEN,
            "not_serving_officer",
        )
        .await;
    }
    let p = assert_problem(
        app.feedback(&li, &aid, &json!({ "rating": 6, "findings": [" "] }))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&p), ["findings[0]", "rating"]);
    let res = app.feedback(&li, &aid, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let f: Value = res.json().await.unwrap();
    assert_eq!(f["rating"], 4);
    assert_eq!(f["findings"], json!(["取号机故障", "指引不清"]));
    assert_eq!(f["activity_title"], "体验社保窗口办事");
    assert!(f["reply_status"].is_null());
    assert_eq!(f["overdue"], false);
    assert_problem(
        app.feedback(&li, &aid, &body).await,
        StatusCode::CONFLICT,
        "feedback_exists",
    )
    .await;
    // A term that runs out ends the right to give feedback too.
    let zhou_officer = items(&app.my_applications(&zhou).await)[0]["term"]["officer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.move_term_end(&zhou_officer, Utc::now() - Duration::seconds(1))
        .await;
    assert_problem(
        app.feedback(&zhou, &aid, &body).await,
        StatusCode::FORBIDDEN,
        "not_serving_officer",
    )
    .await;
}

#[tokio::test]
async fn risky_findings_are_refused_by_the_content_check() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/stable_token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "access_token": "SEC-TOKEN", "expires_in": 7200 })),
        )
        .mount(&app.wechat)
        .await;
    Mock::given(method("POST"))
        .and(path("/wxa/msg_sec_check"))
        .and(body_partial_json(json!({ "content": "违规内容" })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "errcode": 0, "errmsg": "ok",
            "result": { "suggest": "risky", "label": 20001 },
            "detail": [], "trace_id": "t-1"
        })))
        .mount(&app.wechat)
        .await;
    let staff = app.unit_officer_staff().await;
    let c = app.campaign(&staff, 5).await;
    let (li, _) = app.officer(&staff, &id_of(&c), "o-li").await;
    let a = app.activity(&staff, &id_of(&c), 60, 5).await;
    assert_eq!(
        app.sign_up(&li, &id_of(&a)).await.status(),
        StatusCode::CREATED
    );
    app.move_activity(&id_of(&a), Utc::now() - Duration::minutes(1))
        .await;
    let p = assert_problem(
        app.feedback(
            &li,
            &id_of(&a),
            &json!({ "rating": 2, "findings": ["窗口排队久", "违规内容"] }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "content_rejected",
    )
    .await;
    assert_eq!(fields(&p), ["findings[1]"]);
    let mine = app.get_json("/api/v1/me/officer-feedback", &li).await;
    assert!(items(&mine).is_empty());
}

/// A campaign with one officer who took part in a started activity and gave feedback:
/// (staff, officer, feedback id).
async fn feedback_given(
    app: &crate::helpers::TestApp,
) -> (crate::helpers::Session, crate::helpers::Session, String) {
    let staff = app.unit_officer_staff().await;
    let c = app.campaign(&staff, 5).await;
    let (li, _) = app.officer(&staff, &id_of(&c), "o-li").await;
    let a = app.activity(&staff, &id_of(&c), 60, 5).await;
    assert_eq!(
        app.sign_up(&li, &id_of(&a)).await.status(),
        StatusCode::CREATED
    );
    app.move_activity(&id_of(&a), Utc::now() - Duration::minutes(1))
        .await;
    let f = app.gave_feedback(&li, &id_of(&a)).await;
    (staff, li, id_of(&f))
}

#[tokio::test]
async fn every_reply_reaches_the_officer_until_the_matter_is_settled() {
    let app = spawn_app().await;
    let (staff, li, fid) = feedback_given(&app).await;
    let other = app.staff_of("shichahai-officers", "shichahai").await;

    assert_problem(
        app.reply(
            &other,
            &fid,
            &json!({ "status": "accepted", "response": "收到" }),
        )
        .await,
        StatusCode::FORBIDDEN,
        "org_unit_forbidden",
    )
    .await;
    assert_problem(
        app.reply(
            &staff,
            &Uuid::now_v7().to_string(),
            &json!({ "status": "accepted", "response": "收到" }),
        )
        .await,
        StatusCode::NOT_FOUND,
        "feedback_not_found",
    )
    .await;
    let p = assert_problem(
        app.reply(
            &staff,
            &fid,
            &json!({ "status": "accepted", "response": " " }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&p), ["response"]);

    let res = app
        .reply(
            &staff,
            &fid,
            &json!({ "status": "accepted", "response": "已转交社保窗口" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .reply(
            &staff,
            &fid,
            &json!({ "status": "in_progress", "response": "取号机已报修" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // Not adopted needs a reason.
    let p = assert_problem(
        app.reply(
            &staff,
            &fid,
            &json!({ "status": "not_adopted", "response": "感谢建议" }),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&p), ["reason"]);
    let res = app
        .reply(
            &staff,
            &fid,
            &json!({ "status": "resolved", "response": "取号机已修好" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let done: Value = res.json().await.unwrap();
    assert_eq!(done["reply_status"], "resolved");
    assert_eq!(done["replies"].as_array().unwrap().len(), 3);
    // Resolved settles it.
    assert_problem(
        app.reply(
            &staff,
            &fid,
            &json!({ "status": "in_progress", "response": "再看看" }),
        )
        .await,
        StatusCode::CONFLICT,
        "feedback_closed",
    )
    .await;

    let mine = app.get_json("/api/v1/me/officer-feedback", &li).await;
    assert_eq!(items(&mine).len(), 1);
    let f = &items(&mine)[0];
    assert_eq!(f["reply_status"], "resolved");
    let statuses: Vec<&str> = f["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["accepted", "in_progress", "resolved"]);
    assert_eq!(f["replies"][1]["response"], "取号机已报修");

    let inbox = app.inbox(&li).await;
    let replies: Vec<&Value> = items(&inbox)
        .iter()
        .filter(|n| n["kind"] == "feedback_reply")
        .collect();
    assert_eq!(replies.len(), 3, "{inbox}");
    assert!(
        replies
            .iter()
            .any(|n| n["body"].as_str().unwrap().contains("取号机已修好")),
        "{inbox}"
    );

    // Another officer's answer with a reason not to adopt.
    let c2 = app.campaign(&staff, 5).await;
    let (wang, _) = app.officer(&staff, &id_of(&c2), "o-wang").await;
    let a2 = app.activity(&staff, &id_of(&c2), 30, 5).await;
    app.sign_up(&wang, &id_of(&a2)).await;
    app.move_activity(&id_of(&a2), Utc::now() - Duration::minutes(1))
        .await;
    let f2 = app.gave_feedback(&wang, &id_of(&a2)).await;
    let res = app
        .reply(
            &staff,
            &id_of(&f2),
            &json!({ "status": "not_adopted", "response": "感谢建议", "reason": "超出街道职权范围" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let inbox = app.inbox(&wang).await;
    assert!(
        items(&inbox).iter().any(|n| n["kind"] == "feedback_reply"
            && n["body"].as_str().unwrap().contains("超出街道职权范围")),
        "{inbox}"
    );
    assert_problem(
        app.reply(
            &staff,
            &id_of(&f2),
            &json!({ "status": "accepted", "response": "改主意了" }),
        )
        .await,
        StatusCode::CONFLICT,
        "feedback_closed",
    )
    .await;
}

#[tokio::test]
async fn feedback_unanswered_for_fifteen_days_is_flagged_for_staff() {
    let app = spawn_app().await;
    let (staff, li, fresh) = feedback_given(&app).await;
    let c = items(&app.get_json("/api/v1/officer-campaigns", &staff).await)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = app.activity(&staff, &c, 30, 5).await;
    app.sign_up(&li, &id_of(&a)).await;
    app.move_activity(&id_of(&a), Utc::now() - Duration::days(20))
        .await;
    let old = id_of(&app.gave_feedback(&li, &id_of(&a)).await);
    app.age_feedback(&old, Utc::now() - Duration::days(16))
        .await;

    let all = app.get_json("/api/v1/officer-feedback", &staff).await;
    assert_eq!(items(&all).len(), 2);
    let overdue = app
        .get_json("/api/v1/officer-feedback?overdue=true", &staff)
        .await;
    assert_eq!(items(&overdue).len(), 1);
    assert_eq!(items(&overdue)[0]["id"], old.as_str());
    assert_eq!(items(&overdue)[0]["overdue"], true);
    let flagged: Vec<bool> = items(&all)
        .iter()
        .map(|f| f["overdue"].as_bool().unwrap())
        .collect();
    assert_eq!(flagged, [false, true], "fresh one first: {all}");
    assert_eq!(items(&all)[0]["id"], fresh.as_str());

    // Staff of another sub-district see none of it.
    let other = app.staff_of("shichahai-officers", "shichahai").await;
    let theirs = app.get_json("/api/v1/officer-feedback", &other).await;
    assert!(items(&theirs).is_empty());
    let admin = app.login_admin().await;
    let district = app
        .get_json("/api/v1/officer-feedback?overdue=true", &admin)
        .await;
    assert_eq!(items(&district).len(), 1);

    // Answered, it is no longer overdue.
    let res = app
        .reply(
            &staff,
            &old,
            &json!({ "status": "in_progress", "response": "正在办理" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let overdue = app
        .get_json("/api/v1/officer-feedback?overdue=true", &staff)
        .await;
    assert!(items(&overdue).is_empty(), "{overdue}");
    let res = app
        .get("/api/v1/officer-feedback", Some(&li.access_token))
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "staff_only").await;
}

#[tokio::test]
async fn the_report_counts_a_known_campaign() {
    let app = spawn_app().await;
    let staff = app.unit_officer_staff().await;
    let c = app.campaign(&staff, 3).await;
    let cid = id_of(&c);
    // Three approved, one rejected, one withdrawn, one pending.
    let (a, _) = app.officer(&staff, &cid, "o-a").await;
    let (b, _) = app.officer(&staff, &cid, "o-b").await;
    let (_, c_officer) = app.officer(&staff, &cid, "o-c").await;
    let d = app.login_resident("o-d").await;
    let rejected = app.applied(&d, &cid).await;
    app.reject(&staff, &id_of(&rejected), &json!({ "reason": "名额已满" }))
        .await;
    let e = app.login_resident("o-e").await;
    app.applied(&e, &cid).await;
    app.withdraw(&e, &cid).await;
    let f = app.login_resident("o-f").await;
    app.applied(&f, &cid).await;
    // Two activities held, one still to come.
    let first = id_of(&app.activity(&staff, &cid, 60, 5).await);
    let second = id_of(&app.activity(&staff, &cid, 90, 5).await);
    app.activity(&staff, &cid, 24 * 60, 5).await;
    for (who, act) in [(&a, &first), (&b, &first), (&a, &second)] {
        assert_eq!(app.sign_up(who, act).await.status(), StatusCode::CREATED);
    }
    app.move_activity(&first, Utc::now() - Duration::hours(3))
        .await;
    app.move_activity(&second, Utc::now() - Duration::minutes(10))
        .await;
    // Three pieces of feedback: one resolved, one not adopted, one unanswered.
    let f1 = id_of(&app.gave_feedback(&a, &first).await);
    let f2 = id_of(&app.gave_feedback(&b, &first).await);
    app.gave_feedback(&a, &second).await;
    app.reply(
        &staff,
        &f1,
        &json!({ "status": "resolved", "response": "已修好" }),
    )
    .await;
    app.reply(
        &staff,
        &f2,
        &json!({ "status": "not_adopted", "response": "感谢", "reason": "不在职权范围" }),
    )
    .await;
    // One officer's term ended early.
    app.end_officer(&staff, &c_officer, &json!({ "reason": "本人申请退出" }))
        .await;

    let r = app
        .get_json(&format!("/api/v1/officer-campaigns/{cid}/report"), &staff)
        .await;
    assert_eq!(
        r["applications"],
        json!({ "pending": 1, "approved": 3, "rejected": 1, "withdrawn": 1, "total": 6 })
    );
    assert_eq!(r["officers_serving"], 2);
    assert_eq!(r["activities_held"], 2);
    assert_eq!(r["feedback_count"], 3);
    assert!(
        (r["share_answered"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9,
        "{r}"
    );
    assert!(
        (r["share_adopted"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9,
        "{r}"
    );

    // An empty campaign has no shares to speak of.
    let empty = app.campaign(&staff, 3).await;
    let r = app
        .get_json(
            &format!("/api/v1/officer-campaigns/{}/report", id_of(&empty)),
            &staff,
        )
        .await;
    assert_eq!(r["feedback_count"], 0);
    assert!(
        r["share_answered"].is_null() && r["share_adopted"].is_null(),
        "{r}"
    );
}

#[tokio::test]
async fn deleting_the_account_withdraws_applications_and_erases_what_the_officer_gave() {
    let app = spawn_app().await;
    let staff = app.unit_officer_staff().await;
    let serving = app.campaign(&staff, 5).await;
    let recruiting = app.campaign(&staff, 5).await;
    let (li, _) = app.officer(&staff, &id_of(&serving), "o-li").await;
    let pending = app.applied(&li, &id_of(&recruiting)).await;
    let act = id_of(&app.activity(&staff, &id_of(&serving), 60, 5).await);
    let later = id_of(&app.activity(&staff, &id_of(&serving), 24 * 60, 5).await);
    app.sign_up(&li, &act).await;
    assert_eq!(app.sign_up(&li, &later).await.status(), StatusCode::CREATED);
    app.move_activity(&act, Utc::now() - Duration::minutes(1))
        .await;
    app.gave_feedback(&li, &act).await;

    // The export holds it all, in full.
    let export = app.get_json("/api/v1/me/data-export", &li).await;
    let apps = export["officer_applications"].as_array().unwrap();
    assert_eq!(apps.len(), 2);
    assert!(apps.iter().all(|a| a["phone"] == "13900001111"), "{export}");
    assert_eq!(export["officer_feedback"].as_array().unwrap().len(), 1);
    assert_eq!(
        export["officer_feedback"][0]["findings"],
        json!(["取号机故障"])
    );

    let res = app
        .request(Method::DELETE, "/api/v1/me", Some(&li.access_token), None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let rows = officer_applications::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert!(row.real_name_enc.is_none() && row.phone_enc.is_none() && row.phone_hash.is_none());
        assert!(row.occupation.is_none() && row.community.is_none() && row.motivation.is_none());
    }
    let was_pending = rows
        .iter()
        .find(|r| r.id.to_string() == id_of(&pending))
        .unwrap();
    assert_eq!(was_pending.status, "withdrawn");
    assert!(was_pending.active_resident_id.is_none());

    // The term ended and the place in the coming activity is free again.
    let roster = app
        .get_json(
            &format!("/api/v1/officer-campaigns/{}/officers", id_of(&serving)),
            &staff,
        )
        .await;
    assert_eq!(items(&roster)[0]["standing"], "ended");
    assert!(items(&roster)[0]["real_name"].is_null());
    let acts = app
        .get_json(
            &format!("/api/v1/officer-campaigns/{}/activities", id_of(&serving)),
            &staff,
        )
        .await;
    let coming = items(&acts)
        .iter()
        .find(|a| a["id"] == later.as_str())
        .unwrap();
    assert_eq!(coming["places_left"], 5);
}
