//! Recruiting experience officers: campaigns, applications and every refusal, review by the
//! campaign's org unit only, and a quota that holds under concurrent approvals.

use canyu::{
    entities::{officer_applications, officer_campaigns},
    startup::Application,
};
use chrono::{Duration, Utc};
use futures_util::future::join_all;
use reqwest::StatusCode;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    helpers::{assert_problem, fields, spawn_app},
    officers_support::{UNIT, apply_body, campaign_body, id_of, items},
};

#[tokio::test]
async fn an_application_goes_from_pending_to_an_officer_serving_a_term() {
    let app = spawn_app().await;
    let staff = app.unit_officer_staff().await;
    let draft = app.create_campaign(&staff, &campaign_body(2, 12)).await;
    assert_eq!(draft["status"], "draft");
    let cid = id_of(&draft);

    // Residents see neither the draft nor it in the list.
    let li = app.login_resident("o-li").await;
    let res = app
        .get(
            &format!("/api/v1/officer-campaigns/{cid}"),
            Some(&li.access_token),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "campaign_not_found").await;
    let open: Value = app
        .get("/api/v1/officer-campaigns", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(items(&open).is_empty(), "{open}");
    assert_problem(
        app.apply(&li, &cid, &apply_body()).await,
        StatusCode::NOT_FOUND,
        "campaign_not_found",
    )
    .await;

    // Published: listed for everyone, with places left.
    let res = app
        .post(
            &format!("/api/v1/officer-campaigns/{cid}/publish"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let open: Value = app
        .get("/api/v1/officer-campaigns", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(items(&open).len(), 1);
    assert_eq!(items(&open)[0]["places_left"], 2);
    assert_eq!(items(&open)[0]["accepting_applications"], true);
    assert_eq!(items(&open)[0]["org_unit"], UNIT);

    let a = app.applied(&li, &cid).await;
    assert_eq!(a["status"], "pending");
    assert_eq!(a["real_name"], "李四");
    assert_eq!(a["phone"], "13900001111");
    assert_eq!(a["campaign_title"], "月坛街道政务服务特邀体验员");
    assert!(a["term"].is_null());

    // Sealed at rest, with a lookup hash beside the phone.
    let row = officer_applications::Entity::find_by_id(id_of(&a).parse::<Uuid>().unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let sealed = format!("{:?}{:?}", row.real_name_enc, row.phone_enc);
    assert!(
        !sealed.contains("李四") && !sealed.contains("13900001111"),
        "{sealed}"
    );
    assert!(row.phone_hash.is_some());

    // Reviewers see it masked, filtered by status.
    let list = app
        .get_json(
            &format!("/api/v1/officer-campaigns/{cid}/applications?status=pending"),
            &staff,
        )
        .await;
    assert_eq!(items(&list).len(), 1);
    assert_eq!(items(&list)[0]["real_name"], "李*");
    assert_eq!(items(&list)[0]["phone"], "139****1111");
    assert_eq!(items(&list)[0]["motivation"], "想让办事更方便");
    let none = app
        .get_json(
            &format!("/api/v1/officer-campaigns/{cid}/applications?status=approved"),
            &staff,
        )
        .await;
    assert!(items(&none).is_empty());
    let res = app
        .get(
            &format!("/api/v1/officer-campaigns/{cid}/applications?status=maybe"),
            Some(&staff.access_token),
        )
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_query").await;

    let res = app.approve(&staff, &id_of(&a)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let approved: Value = res.json().await.unwrap();
    assert_eq!(approved["status"], "approved");

    let detail: Value = app
        .get(&format!("/api/v1/officer-campaigns/{cid}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["approved"], 1);
    assert_eq!(detail["places_left"], 1);

    let mine = app.my_applications(&li).await;
    let term = &items(&mine)[0]["term"];
    assert_eq!(items(&mine)[0]["status"], "approved");
    assert_eq!(term["standing"], "serving");
    let starts: chrono::DateTime<Utc> = term["term_starts_at"].as_str().unwrap().parse().unwrap();
    let ends: chrono::DateTime<Utc> = term["term_ends_at"].as_str().unwrap().parse().unwrap();
    assert!(ends - starts >= Duration::days(365) && ends - starts <= Duration::days(366));

    // The applicant is told, and the consent was recorded.
    let inbox = app.inbox(&li).await;
    let notice = items(&inbox)
        .iter()
        .find(|n| n["kind"] == "application_result")
        .expect("decision notice");
    assert!(
        notice["title"].as_str().unwrap().contains("已通过"),
        "{notice}"
    );

    let roster = app
        .get_json(&format!("/api/v1/officer-campaigns/{cid}/officers"), &staff)
        .await;
    assert_eq!(items(&roster).len(), 1);
    assert_eq!(items(&roster)[0]["standing"], "serving");
    assert_eq!(items(&roster)[0]["real_name"], "李*");
    assert_eq!(items(&roster)[0]["id"], term["officer_id"]);

    // A reviewer sees the phone in full to reach the officer; the audit log keeps why.
    let reveal = format!("/api/v1/officer-applications/{}/reveal", id_of(&a));
    let other = app.staff_of("shichahai-officers", "shichahai").await;
    let res = app
        .post(
            &reveal,
            Some(&other.access_token),
            &json!({ "field": "phone", "reason": "联系体验员" }),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;
    let res = app
        .post(
            &reveal,
            Some(&staff.access_token),
            &json!({ "field": "phone", "reason": "联系体验员参加活动" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let revealed: Value = res.json().await.unwrap();
    assert_eq!(revealed["value"], "13900001111");
    let admin = app.login_admin().await;
    let audit = app.get_json("/api/v1/admin/audit?limit=100", &admin).await;
    let entry = items(&audit)
        .iter()
        .find(|e| e["action"] == "personal_data.revealed")
        .expect("reveal audited");
    assert_eq!(entry["target_id"], a["id"]);
    assert!(entry.to_string().contains("联系体验员参加活动"), "{entry}");
    assert!(
        items(&audit)
            .iter()
            .any(|e| e["action"] == "officer_application.approved"),
        "{audit}"
    );

    // Closed: out of the residents' list, no more applications.
    let res = app
        .post(
            &format!("/api/v1/officer-campaigns/{cid}/close"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let open: Value = app
        .get("/api/v1/officer-campaigns", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(items(&open).is_empty());
    let wang = app.login_resident("o-wang").await;
    assert_problem(
        app.apply(&wang, &cid, &apply_body()).await,
        StatusCode::CONFLICT,
        "campaign_closed",
    )
    .await;
    // A closed campaign stays closed.
    let res = app
        .post(
            &format!("/api/v1/officer-campaigns/{cid}/publish"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    assert_problem(res, StatusCode::CONFLICT, "campaign_closed").await;
    // Staff still list it among their unit's campaigns.
    let mine = app.get_json("/api/v1/officer-campaigns", &staff).await;
    assert_eq!(items(&mine).len(), 1);
    assert_eq!(items(&mine)[0]["status"], "closed");
}

#[tokio::test]
async fn every_refusal_of_an_application_and_its_review() {
    let app = spawn_app().await;
    let staff = app.unit_officer_staff().await;
    let c = app.campaign(&staff, 5).await;
    let cid = id_of(&c);
    let li = app.login_resident("o-li").await;

    let mut body = apply_body();
    body["consent"] = json!(false);
    let p = assert_problem(
        app.apply(&li, &cid, &body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "consent_required",
    )
    .await;
    assert_eq!(fields(&p), ["consent"]);

    let bad = json!({
        "real_name": " ", "phone": "12345", "age_group": "", "consent": true,
        "motivation": "长".repeat(1001),
    });
    let p = assert_problem(
        app.apply(&li, &cid, &bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        fields(&p),
        ["age_group", "motivation", "phone", "real_name"]
    );

    // Staff do not apply.
    assert_problem(
        app.apply(&staff, &cid, &apply_body()).await,
        StatusCode::FORBIDDEN,
        "resident_only",
    )
    .await;

    // Not yet open, and already over.
    for (opens, closes) in [(1, 2), (-48, -1)] {
        let mut b = campaign_body(5, 12);
        b["apply_opens_at"] = json!((Utc::now() + Duration::hours(opens)).to_rfc3339());
        b["apply_closes_at"] = json!((Utc::now() + Duration::hours(closes)).to_rfc3339());
        let other = app.create_campaign(&staff, &b).await;
        let oid = id_of(&other);
        app.post(
            &format!("/api/v1/officer-campaigns/{oid}/publish"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
        let p = assert_problem(
            app.apply(&li, &oid, &apply_body()).await,
            StatusCode::CONFLICT,
            "campaign_closed",
        )
        .await;
        assert!(p["detail"].as_str().unwrap().contains("报名时间"), "{p}");
    }

    // One active application per resident per campaign.
    let first = app.applied(&li, &cid).await;
    assert_problem(
        app.apply(&li, &cid, &apply_body()).await,
        StatusCode::CONFLICT,
        "already_applied",
    )
    .await;

    // Withdrawn, then free to apply again.
    assert_eq!(
        app.withdraw(&li, &cid).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(
        app.withdraw(&li, &cid).await,
        StatusCode::NOT_FOUND,
        "application_not_found",
    )
    .await;
    assert_problem(
        app.approve(&staff, &id_of(&first)).await,
        StatusCode::CONFLICT,
        "application_not_pending",
    )
    .await;
    let second = app.applied(&li, &cid).await;

    // A rejection needs a reason; the applicant sees it and may apply again.
    let p = assert_problem(
        app.reject(&staff, &id_of(&second), &json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(fields(&p), ["reason"]);
    let res = app
        .reject(
            &staff,
            &id_of(&second),
            &json!({ "reason": "本次名额优先考虑本街道居民" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_problem(
        app.reject(&staff, &id_of(&second), &json!({ "reason": "再拒一次" }))
            .await,
        StatusCode::CONFLICT,
        "application_not_pending",
    )
    .await;
    let mine = app.my_applications(&li).await;
    let rejected = items(&mine)
        .iter()
        .find(|a| a["id"] == second["id"])
        .unwrap();
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["reason"], "本次名额优先考虑本街道居民");
    let inbox = app.inbox(&li).await;
    assert!(
        items(&inbox)
            .iter()
            .any(|n| n["kind"] == "application_result"
                && n["body"]
                    .as_str()
                    .unwrap()
                    .contains("本次名额优先考虑本街道居民")),
        "{inbox}"
    );

    // Approved: no longer withdrawn by the resident.
    let third = app.applied(&li, &cid).await;
    assert_eq!(
        app.approve(&staff, &id_of(&third)).await.status(),
        StatusCode::OK
    );
    assert_problem(
        app.withdraw(&li, &cid).await,
        StatusCode::CONFLICT,
        "application_not_pending",
    )
    .await;
    assert_problem(
        app.approve(&staff, &id_of(&third)).await,
        StatusCode::CONFLICT,
        "application_not_pending",
    )
    .await;
    assert_problem(
        app.approve(&staff, &Uuid::now_v7().to_string()).await,
        StatusCode::NOT_FOUND,
        "application_not_found",
    )
    .await;

    // The quota never drops below those approved.
    let mut b = campaign_body(0, 12);
    let res = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/officer-campaigns/{cid}"),
            Some(&staff.access_token),
            Some(&b),
        )
        .await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&p), ["quota"]);
    b["quota"] = json!(1);
    b["title"] = json!("月坛街道特邀体验员（第二批）");
    let res = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/v1/officer-campaigns/{cid}"),
            Some(&staff.access_token),
            Some(&b),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let wang = app.login_resident("o-wang").await;
    let w = app.applied(&wang, &cid).await;
    let p = assert_problem(
        app.approve(&staff, &id_of(&w)).await,
        StatusCode::CONFLICT,
        "quota_reached",
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains('1'), "{p}");
}

#[tokio::test]
async fn reviewers_act_only_within_their_org_unit() {
    let app = spawn_app().await;
    let staff = app.unit_officer_staff().await;
    let other = app.staff_of("shichahai-officers", "shichahai").await;
    let admin = app.login_admin().await;

    // Staff create campaigns for their own unit only.
    let res = app
        .post(
            "/api/v1/officer-campaigns",
            Some(&other.access_token),
            &campaign_body(3, 12),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;

    let draft = app.create_campaign(&staff, &campaign_body(3, 12)).await;
    let res = app
        .get(
            &format!("/api/v1/officer-campaigns/{}", id_of(&draft)),
            Some(&other.access_token),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "campaign_not_found").await;
    let res = app
        .get(
            &format!("/api/v1/officer-campaigns/{}", id_of(&draft)),
            Some(&staff.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    let c = app.campaign(&staff, 3).await;
    let cid = id_of(&c);
    let li = app.login_resident("o-li").await;
    let a = app.applied(&li, &cid).await;
    let aid = id_of(&a);

    for path in [
        format!("/api/v1/officer-campaigns/{cid}/applications"),
        format!("/api/v1/officer-campaigns/{cid}/officers"),
        format!("/api/v1/officer-campaigns/{cid}/report"),
        format!("/api/v1/officer-feedback?campaign_id={cid}"),
    ] {
        let res = app.get(&path, Some(&other.access_token)).await;
        assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;
    }
    for res in [
        app.approve(&other, &aid).await,
        app.reject(&other, &aid, &json!({ "reason": "不是本单位" }))
            .await,
        app.post(
            &format!("/api/v1/officer-campaigns/{cid}/close"),
            Some(&other.access_token),
            &json!({}),
        )
        .await,
        app.post(
            "/api/v1/officer-activities",
            Some(&other.access_token),
            &json!({
                "campaign_id": cid, "title": "体验", "service_to_experience": "办事",
                "location": "大厅", "starts_at": Utc::now().to_rfc3339(),
                "ends_at": (Utc::now() + Duration::hours(1)).to_rfc3339(), "capacity": 5,
            }),
        )
        .await,
    ] {
        assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;
    }
    // Residents are not reviewers at all.
    assert_problem(
        app.approve(&li, &aid).await,
        StatusCode::FORBIDDEN,
        "staff_only",
    )
    .await;
    // Nothing changed: still pending, and another unit's staff list none of it.
    let theirs = app.get_json("/api/v1/officer-campaigns", &other).await;
    assert!(items(&theirs).is_empty(), "{theirs}");
    let pending = app
        .get_json(
            &format!("/api/v1/officer-campaigns/{cid}/applications"),
            &staff,
        )
        .await;
    assert_eq!(items(&pending)[0]["status"], "pending");

    // The district administrator may act anywhere.
    assert_eq!(app.approve(&admin, &aid).await.status(), StatusCode::OK);
    let all = app.get_json("/api/v1/officer-campaigns", &admin).await;
    assert_eq!(items(&all).len(), 2);
}

#[tokio::test]
async fn the_same_application_sent_five_times_at_once_is_one() {
    let app = spawn_app().await;
    let staff = app.unit_officer_staff().await;
    let c = app.campaign(&staff, 3).await;
    let cid = id_of(&c);
    let li = app.login_resident("o-li").await;
    let body = apply_body();
    let answers = join_all((0..5).map(|_| app.apply(&li, &cid, &body))).await;
    let mut created = 0;
    for res in answers {
        match res.status() {
            StatusCode::CREATED => created += 1,
            _ => {
                assert_problem(res, StatusCode::CONFLICT, "already_applied").await;
            }
        }
    }
    assert_eq!(created, 1);
    let list = app
        .get_json(
            &format!("/api/v1/officer-campaigns/{cid}/applications"),
            &staff,
        )
        .await;
    assert_eq!(items(&list).len(), 1);
}

#[tokio::test]
async fn reviewers_approving_at_the_same_moment_never_pass_the_quota() {
    let app = spawn_app().await;
    let staff = app.unit_officer_staff().await;
    let colleague = app.staff_of("yuetan-officers-2", UNIT).await;
    let admin = app.login_admin().await;
    let c = app.campaign(&staff, 3).await;
    let cid = id_of(&c);
    let mut ids = Vec::new();
    for i in 0..12 {
        let who = app.login_resident(&format!("o-crowd-{i}")).await;
        ids.push(id_of(&app.applied(&who, &cid).await));
    }

    // Three reviewers on two instances of the service approve all twelve at once.
    let second = if app.pg_database.is_some() {
        Application::build(app.settings.clone()).await
    } else {
        Application::build_with_db(app.settings.clone(), app.state.db.clone()).await
    }
    .expect("second instance builds");
    let second_address = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());
    let reviewers = [&staff, &colleague, &admin];
    let answers = join_all(ids.iter().enumerate().map(|(i, id)| {
        let base = if i % 2 == 0 {
            app.address.clone()
        } else {
            second_address.clone()
        };
        app.client
            .post(format!("{base}/api/v1/officer-applications/{id}/approve"))
            .bearer_auth(&reviewers[i % 3].access_token)
            .json(&json!({}))
            .send()
    }))
    .await;
    let (mut ok, mut full) = (0, 0);
    for res in answers {
        let res = res.expect("sent");
        if res.status() == StatusCode::OK {
            ok += 1;
        } else {
            assert_problem(res, StatusCode::CONFLICT, "quota_reached").await;
            full += 1;
        }
    }
    assert_eq!((ok, full), (3, 9));

    let row = officer_campaigns::Entity::find_by_id(cid.parse::<Uuid>().unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.approved, 3);
    let roster = app
        .get_json(&format!("/api/v1/officer-campaigns/{cid}/officers"), &staff)
        .await;
    assert_eq!(items(&roster).len(), 3);
    let approved = app
        .get_json(
            &format!("/api/v1/officer-campaigns/{cid}/applications?status=approved"),
            &staff,
        )
        .await;
    assert_eq!(items(&approved).len(), 3);
    let pending = app
        .get_json(
            &format!("/api/v1/officer-campaigns/{cid}/applications?status=pending"),
            &staff,
        )
        .await;
    assert_eq!(items(&pending).len(), 9);
}

#[tokio::test]
async fn two_reviewers_approving_the_last_place_at_once_give_one_officer() {
    let app = spawn_app().await;
    let staff = app.unit_officer_staff().await;
    let colleague = app.staff_of("yuetan-officers-2", UNIT).await;
    let c = app.campaign(&staff, 2).await;
    let cid = id_of(&c);
    let first = app.login_resident("o-first").await;
    let a = app.applied(&first, &cid).await;
    assert_eq!(
        app.approve(&staff, &id_of(&a)).await.status(),
        StatusCode::OK
    );
    let (x, y) = (
        app.login_resident("o-x").await,
        app.login_resident("o-y").await,
    );
    let (ax, ay) = (app.applied(&x, &cid).await, app.applied(&y, &cid).await);

    let (ix, iy) = (id_of(&ax), id_of(&ay));
    let (rx, ry) = tokio::join!(app.approve(&staff, &ix), app.approve(&colleague, &iy));
    let mut statuses = [rx.status(), ry.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CONFLICT]);
    let loser = if rx.status() == StatusCode::CONFLICT {
        rx
    } else {
        ry
    };
    assert_problem(loser, StatusCode::CONFLICT, "quota_reached").await;
    let detail: Value = app
        .get(&format!("/api/v1/officer-campaigns/{cid}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["approved"], 2);
    assert_eq!(detail["places_left"], 0);
}
