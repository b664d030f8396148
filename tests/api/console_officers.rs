//! The officer pages of the console over plain HTTP: a sub-district officer creates and
//! publishes a campaign, works through the review queue (masked applicants, a rejection
//! with its reason, the quota refusal shown in Chinese), plans an activity, answers
//! feedback, ends a term early and closes the campaign; another unit's staff are refused.

use chrono::{Duration, Utc};
use reqwest::{StatusCode, header};
use serde_json::Value;

use crate::{
    console_http::{client, console_session, csrf_in, page},
    helpers::TestApp,
    officers_support::{id_of, items},
};

pub async fn post(
    app: &TestApp,
    cookie: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    client()
        .post(app.url(path))
        .header(header::COOKIE, cookie)
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// A `datetime-local` value in Beijing time, `days` from now at `hour`.
pub fn at(days: i64, hour: u32) -> String {
    (Utc::now() + Duration::days(days) + Duration::hours(8))
        .date_naive()
        .and_hms_opt(hour, 0, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

pub fn see_other(res: &reqwest::Response) -> String {
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    res.headers()[header::LOCATION].to_str().unwrap().to_owned()
}

/// The id on the row of the review queue whose form posts to `…/{id}/{action}`.
fn application_ids(html: &str) -> Vec<String> {
    html.split("data-application=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn staff_run_a_campaign_from_the_review_queue_to_the_roster_and_feedback() {
    let app = crate::helpers::spawn_app().await;
    app.unit_officer_staff().await;
    let cookie = console_session(&app, "yuetan-officers").await;
    let (status, list) = page(&app, &cookie, "/console/officers").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_in(&list);

    // The campaign form: a missing quota comes back on the form, the title kept.
    let opens = at(-1, 9);
    let closes = at(7, 18);
    let mut fields = vec![
        ("csrf", csrf.as_str()),
        ("title", "月坛街道政务服务特邀体验员"),
        ("description", "体验办事流程，提出改进建议。"),
        ("requirements", "年满 18 周岁的西城区居民"),
        ("apply_opens_at", opens.as_str()),
        ("apply_closes_at", closes.as_str()),
        ("quota", ""),
        ("term_months", "12"),
    ];
    let res = post(&app, &cookie, "/console/officers", &fields).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("quota") && html.contains("月坛街道政务服务特邀体验员"));
    fields[6] = ("quota", "1");
    let res = post(&app, &cookie, "/console/officers", &fields).await;
    let campaign_page = see_other(&res);
    let cid = campaign_page.rsplit('/').next().unwrap().to_owned();
    let (_, html) = page(&app, &cookie, &campaign_page).await;
    assert!(html.contains("草稿"));

    // Published from its page: residents can apply.
    let res = post(
        &app,
        &cookie,
        &format!("{campaign_page}/publish"),
        &[("csrf", &csrf)],
    )
    .await;
    see_other(&res);
    let mut residents = Vec::new();
    for openid in ["o-wang", "o-zhao", "o-sun"] {
        let who = app.login_resident(openid).await;
        app.applied(&who, &cid).await;
        residents.push(who);
    }
    let (_, html) = page(&app, &cookie, &campaign_page).await;
    assert!(html.contains("招募中"));
    // Reviewers see applicants masked.
    assert!(
        html.contains("139****1111") && html.contains("李*"),
        "{html}"
    );
    assert!(!html.contains("13900001111") && !html.contains("李四"));
    let queue = application_ids(&html);
    assert_eq!(queue.len(), 3);

    // A rejection needs its reason; the page says so.
    let reject = format!("{campaign_page}/applications/{}/reject", queue[0]);
    let res = post(&app, &cookie, &reject, &[("csrf", &csrf), ("reason", " ")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("请填写不通过的理由"));
    let res = post(
        &app,
        &cookie,
        &reject,
        &[("csrf", &csrf), ("reason", "年龄不符合要求")],
    )
    .await;
    see_other(&res);
    let approve = |i: usize| format!("{campaign_page}/applications/{}/approve", queue[i]);
    see_other(&post(&app, &cookie, &approve(1), &[("csrf", &csrf)]).await);
    // The one place is taken: the third is refused on the page, in Chinese, still pending.
    let res = post(&app, &cookie, &approve(2), &[("csrf", &csrf)]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let html = res.text().await.unwrap();
    assert!(html.contains("本次招募的 1 个名额已满"), "{html}");
    assert_eq!(application_ids(&html), [queue[2].clone()]);
    assert!(html.contains("年龄不符合要求"));

    // The applicant hears the reason; the approved one is on the roster, serving.
    let mine = app.my_applications(&residents[0]).await;
    assert_eq!(items(&mine)[0]["status"], "rejected");
    assert_eq!(items(&mine)[0]["reason"], "年龄不符合要求");
    let mine = app.my_applications(&residents[1]).await;
    let officer = items(&mine)[0]["term"]["officer_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let roster = html
        .split("id=\"roster\"")
        .nth(1)
        .unwrap()
        .split("</table>")
        .next()
        .unwrap();
    assert!(
        roster.contains("在任") && roster.contains("139****1111"),
        "{roster}"
    );
    assert!(html.contains("id=\"r-approved\">1<"));

    // An activity on the form; the officer joins it and, once it has started, reports.
    let (starts, ends) = (at(1, 9), at(1, 11));
    let activity = [
        ("csrf", csrf.as_str()),
        ("title", "体验社保窗口办事"),
        ("service_to_experience", "社保卡补办"),
        ("location", "月坛街道政务服务中心"),
        ("starts_at", starts.as_str()),
        ("ends_at", ends.as_str()),
        ("capacity", "5"),
    ];
    let res = post(
        &app,
        &cookie,
        &format!("{campaign_page}/activities"),
        &activity,
    )
    .await;
    see_other(&res);
    let acts = app
        .get_json(
            &format!("/api/v1/officer-campaigns/{cid}/activities"),
            &residents[1],
        )
        .await;
    let aid = id_of(&items(&acts)[0]);
    assert_eq!(
        app.sign_up(&residents[1], &aid).await.status(),
        StatusCode::CREATED
    );
    app.move_activity(&aid, Utc::now() - Duration::minutes(1))
        .await;
    let f = app.gave_feedback(&residents[1], &aid).await;
    let (_, html) = page(&app, &cookie, &campaign_page).await;
    assert!(html.contains("取号机故障") && !html.contains("逾期未答复"));
    app.age_feedback(&id_of(&f), Utc::now() - Duration::days(16))
        .await;
    let (_, html) = page(&app, &cookie, &campaign_page).await;
    assert!(html.contains("逾期未答复"));

    // "Not adopted" needs its reason; with it the matter is settled and the form goes.
    let reply = format!("{campaign_page}/feedback/{}/reply", id_of(&f));
    let answer = "取号机已报修，暂无更换预算";
    let res = post(
        &app,
        &cookie,
        &reply,
        &[
            ("csrf", &csrf),
            ("status", "not_adopted"),
            ("response", answer),
            ("reason", ""),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("reason"));
    let res = post(
        &app,
        &cookie,
        &reply,
        &[
            ("csrf", &csrf),
            ("status", "not_adopted"),
            ("response", answer),
            ("reason", "预算已用完"),
        ],
    )
    .await;
    see_other(&res);
    let (_, html) = page(&app, &cookie, &campaign_page).await;
    assert!(html.contains("暂不采纳") && html.contains("预算已用完"));
    assert!(!html.contains("逾期未答复") && !html.contains("class=\"reply-form\""));
    let mine = app
        .get_json("/api/v1/me/officer-feedback", &residents[1])
        .await;
    assert_eq!(items(&mine)[0]["reply_status"], "not_adopted");

    // Ending a term early needs a reason too.
    let end = format!("{campaign_page}/roster/{officer}/end");
    let res = post(&app, &cookie, &end, &[("csrf", &csrf), ("reason", "")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = post(
        &app,
        &cookie,
        &end,
        &[("csrf", &csrf), ("reason", "本人申请退出")],
    )
    .await;
    see_other(&res);
    let (_, html) = page(&app, &cookie, &campaign_page).await;
    assert!(html.contains("已提前结束") && html.contains("本人申请退出"));
    assert!(html.contains("id=\"r-serving\">0<"));

    see_other(
        &post(
            &app,
            &cookie,
            &format!("{campaign_page}/close"),
            &[("csrf", &csrf)],
        )
        .await,
    );
    let (_, html) = page(&app, &cookie, &campaign_page).await;
    assert!(html.contains("状态：已结束"));
}

#[tokio::test]
async fn another_units_campaign_and_forged_tokens_are_refused() {
    let app = crate::helpers::spawn_app().await;
    let staff = app.unit_officer_staff().await;
    let c = app.campaign(&staff, 3).await;
    let cid = id_of(&c);
    let resident = app.login_resident("o-wang").await;
    let a = app.applied(&resident, &cid).await;
    let approve = format!("/console/officers/{cid}/applications/{}/approve", id_of(&a));

    app.staff_of("shi.gong", "shichahai").await;
    let other = console_session(&app, "shi.gong").await;
    let (status, list) = page(&app, &other, "/console/officers").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!list.contains(&cid));
    let other_csrf = csrf_in(&list);
    let (status, body) = page(&app, &other, &format!("/console/officers/{cid}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("org_unit_forbidden"));
    for path in [
        approve.clone(),
        format!("/console/officers/{cid}/close"),
        format!("/console/officers/{cid}/applications/{}/reject", id_of(&a)),
    ] {
        let res = post(
            &app,
            &other,
            &path,
            &[("csrf", &other_csrf), ("reason", "不合适")],
        )
        .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }

    // The unit's own staff need the session's token.
    let own = console_session(&app, "yuetan-officers").await;
    let res = post(&app, &own, &approve, &[("csrf", "forged")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let status: Value = app
        .get_json(&format!("/api/v1/officer-campaigns/{cid}"), &staff)
        .await;
    assert_eq!(status["approved"], 0);
    let mine = app.my_applications(&resident).await;
    assert_eq!(items(&mine)[0]["status"], "pending");
}

pub async fn admin_session(app: &TestApp) -> String {
    let res = client()
        .post(app.url("/console/login"))
        .form(&[
            ("username", crate::helpers::ADMIN_USERNAME),
            ("password", crate::helpers::ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let set = res.headers()[header::SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_home_page_shows_each_unit_its_open_days_applications_and_unanswered_feedback() {
    let app = crate::helpers::spawn_app().await;
    // Xinjiekou runs an open day of ten seats; a family of two has booked.
    let xinjiekou = app.unit_staff().await;
    let event = app
        .open_day(
            &xinjiekou,
            vec![crate::open_days_support::slot(24 * 60, 60, 10)],
        )
        .await;
    let visitor = app.login_resident("o-visitor").await;
    app.booked(&visitor, &event, 0, 2).await;
    // Yuetan recruits: one officer serving (whose feedback waits 16 days), one applicant.
    let yuetan = app.unit_officer_staff().await;
    let c = app.campaign(&yuetan, 5).await;
    let cid = id_of(&c);
    let (li, _) = app.officer(&yuetan, &cid, "o-li").await;
    app.applied(&app.login_resident("o-wang").await, &cid).await;
    let a = app.activity(&yuetan, &cid, 60, 5).await;
    assert_eq!(
        app.sign_up(&li, &id_of(&a)).await.status(),
        StatusCode::CREATED
    );
    app.move_activity(&id_of(&a), Utc::now() - Duration::minutes(1))
        .await;
    let f = app.gave_feedback(&li, &id_of(&a)).await;
    app.age_feedback(&id_of(&f), Utc::now() - Duration::days(16))
        .await;

    let section = |html: &str, id: &str| {
        html.split(&format!("id=\"{id}\""))
            .nth(1)
            .unwrap()
            .split("</section>")
            .next()
            .unwrap()
            .to_owned()
    };
    let cookie = console_session(&app, "yuetan-officers").await;
    let (status, home) = page(&app, &cookie, "/console").await;
    assert_eq!(status, StatusCode::OK);
    let pending = section(&home, "h-pending-applications");
    assert!(
        pending.contains("月坛街道政务服务特邀体验员") && pending.contains("1 份待审核"),
        "{pending}"
    );
    let feedback = section(&home, "h-awaiting-feedback");
    assert!(
        feedback.contains("体验社保窗口办事") && feedback.contains("逾期未答复"),
        "{feedback}"
    );
    assert!(!section(&home, "h-open-days").contains("新街口街道办事处开放日"));

    let cookie = console_session(&app, "xinjiekou-staff").await;
    let (_, home) = page(&app, &cookie, "/console").await;
    let days = section(&home, "h-open-days");
    assert!(
        days.contains("新街口街道办事处开放日") && days.contains("已约 2 / 共 10"),
        "{days}"
    );
    assert!(!section(&home, "h-pending-applications").contains("月坛"));
    assert!(!section(&home, "h-awaiting-feedback").contains("体验社保窗口办事"));

    // Once answered, the feedback leaves the list; administrators see every unit.
    let res = app
        .reply(
            &yuetan,
            &id_of(&f),
            &serde_json::json!({ "status": "accepted", "response": "已安排维修" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let (_, home) = page(&app, &admin_session(&app).await, "/console").await;
    assert!(section(&home, "h-open-days").contains("已约 2 / 共 10"));
    assert!(section(&home, "h-pending-applications").contains("1 份待审核"));
    assert!(section(&home, "h-awaiting-feedback").contains("没有待答复的反馈"));
}
