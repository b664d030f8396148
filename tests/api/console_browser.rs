//! The staff console in a real headless Chromium: a sub-district officer signs in, builds a
//! questionnaire with a condition, publishes it, reads the charts once residents have answered,
//! runs the check-in desk at a meeting and reviews experience-officer applications. The screenshots in docs/screenshots come from here.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    browser::Browser,
    deliberation::{meeting_body, published_meeting, signed_up},
    helpers::{ADMIN_PASSWORD, ADMIN_USERNAME, STAFF_PASSWORD, TestApp, spawn_app},
    officers_support::{apply_body, id_of, items},
    open_days_support::slot,
};

async fn sign_in(browser: &Browser, app: &TestApp, username: &str, password: &str) {
    browser.goto(&app.url("/console/login")).await;
    browser.type_into("#username", username).await;
    browser.type_into("#password", password).await;
    browser.click("form button[type=submit]").await;
}

/// Adds a question of `kind` through the editor and gives it a title; answers its card.
async fn add_question(browser: &Browser, qid: &str, kind: &str, title: &str) -> String {
    browser.select("#add-type", kind).await;
    browser.click("#add-question").await;
    let card = format!(".qcard[data-qid=\"{qid}\"]");
    browser.type_into(&format!("{card} .q-title"), title).await;
    card
}

async fn name_options(browser: &Browser, card: &str, labels: &[&str]) {
    for _ in browser.find_all(&format!("{card} .opt-label")).await.len()..labels.len() {
        browser.click(&format!("{card} .add-option")).await;
    }
    let inputs = browser.find_all(&format!("{card} .opt-label")).await;
    for (input, label) in inputs.iter().zip(labels) {
        browser.type_into_element(input, label).await;
    }
}

#[tokio::test]
async fn staff_build_a_survey_with_a_condition_publish_it_and_read_the_charts() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let browser = Browser::start().await;

    // Not signed in: the console sends the browser to its login page.
    browser.goto(&app.url("/console/surveys")).await;
    browser
        .wait_for_url(|u| u.ends_with("/console/login"))
        .await;
    browser.screenshot("login").await;

    // A wrong password is refused on the page, and nobody is signed in.
    sign_in(&browser, &app, "shi.gong", "not-the-password").await;
    assert_eq!(browser.text("#login-error").await, "用户名或密码不正确");
    browser.goto(&app.url("/console")).await;
    browser
        .wait_for_url(|u| u.ends_with("/console/login"))
        .await;

    sign_in(&browser, &app, "shi.gong", STAFF_PASSWORD).await;
    browser.wait_for_url(|u| u.ends_with("/console")).await;
    assert!(browser.text("header.top").await.contains("shi.gong"));

    // Five questions, the second shown only to those not satisfied.
    browser.goto(&app.url("/console/surveys/new")).await;
    browser
        .type_into("#s-title", "什刹海街道停车治理满意度调查")
        .await;
    browser.type_into("#s-audience", "shichahai").await;
    let q1 = add_question(&browser, "q1", "single", "您对停车治理是否满意？").await;
    name_options(&browser, &q1, &["满意", "不满意"]).await;
    let q2 = add_question(&browser, "q2", "text", "不满意的原因").await;
    browser.click(&format!("{q2} .add-rule")).await;
    browser.select(&format!("{q2} .rule-q"), "q1").await;
    browser.select(&format!("{q2} .rule-op"), "eq").await;
    browser.select(&format!("{q2} .rule-v"), "o2").await;
    let q3 = add_question(&browser, "q3", "scale", "您向邻居推荐停车新办法的可能性").await;
    browser.click(&format!("{q3} .q-nps")).await;
    let q4 = add_question(&browser, "q4", "multi", "您最希望改进哪些方面？").await;
    name_options(&browser, &q4, &["路灯", "绿化", "停车位"]).await;
    let q5 = add_question(&browser, "q5", "number", "您家有几辆车？").await;
    browser.type_into(&format!("{q5} .q-min"), "0").await;

    // The phone preview follows the condition as a resident would meet it.
    assert!(!browser.is_displayed("#preview [data-pq=\"q2\"]").await);
    browser
        .click("#preview [data-pq=\"q1\"] input[value=\"o2\"]")
        .await;
    assert!(browser.is_displayed("#preview [data-pq=\"q2\"]").await);
    browser
        .click("#preview [data-pq=\"q1\"] input[value=\"o1\"]")
        .await;
    assert!(!browser.is_displayed("#preview [data-pq=\"q2\"]").await);
    browser.screenshot_page("survey-editor", 1280).await;

    browser.click("#save").await;
    let url = browser
        .wait_for_url(|u| u.contains("/console/surveys/") && !u.ends_with("/new"))
        .await;
    let id = url.rsplit('/').next().unwrap().to_owned();
    browser.click("#publish").await;
    browser.find("#close").await;
    assert!(browser.text("#survey-status").await.contains("收集中"));

    // What was built is what the API publishes: five questions, one condition.
    let survey: Value = app
        .get(&format!("/api/v1/surveys/{id}"), Some(&staff.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(survey["current_version"], 1);
    let questions = survey["draft"]["pages"][0]["questions"].as_array().unwrap();
    let types: Vec<&str> = questions
        .iter()
        .map(|q| q["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["single", "text", "scale", "multi", "number"]);
    assert_eq!(
        questions[1]["visible_if"],
        json!({ "q": "q1", "op": "eq", "v": "o2" })
    );
    assert_eq!(questions[2]["nps"], true);

    // Five residents answer from their phones.
    let answers = [
        json!({ "q1": "o1", "q3": 10, "q4": ["o1", "o2"], "q5": 1 }),
        json!({ "q1": "o1", "q3": 9, "q4": ["o1"], "q5": 2 }),
        json!({ "q1": "o2", "q2": "夜里车位太少", "q3": 3, "q4": ["o3"], "q5": 0 }),
        json!({ "q1": "o1", "q3": 7, "q4": ["o2"], "q5": 1 }),
        json!({ "q1": "o2", "q2": "收费太高", "q3": 5, "q4": ["o1"], "q5": 3 }),
    ];
    for (i, a) in answers.iter().enumerate() {
        let r = app
            .resident_of(&format!("o-console-{i}"), "shichahai")
            .await;
        let res = app.answer(&r, &id, 1, a.clone()).await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap()
        );
    }

    // The results page draws each chart with the right counts.
    browser
        .goto(&app.url(&format!("/console/surveys/{id}/results")))
        .await;
    assert_eq!(browser.text("#response-count").await, "5");
    let q1_chart = browser
        .execute(
            "return document.querySelector('[data-question=q1] svg').textContent;",
            json!([]),
        )
        .await;
    let q1_chart = q1_chart.as_str().unwrap();
    assert!(
        q1_chart.contains("满意") && q1_chart.contains("3 (60%)"),
        "{q1_chart}"
    );
    assert!(q1_chart.contains("2 (40%)"), "{q1_chart}");
    let nps = browser
        .execute(
            "return document.querySelector('[data-question=q3] svg').textContent;",
            json!([]),
        )
        .await;
    let nps = nps.as_str().unwrap();
    // Promoters 10 and 9, passive 7, detractors 3 and 5: (2 - 2) / 5.
    assert!(nps.contains("NPS 0"), "{nps}");
    assert!(nps.contains("2 (40%)") && nps.contains("1 (20%)"), "{nps}");
    let q4_chart = browser
        .execute(
            "return document.querySelector('[data-question=q4] svg').textContent;",
            json!([]),
        )
        .await;
    assert!(q4_chart.as_str().unwrap().contains("路灯"), "{q4_chart}");
    browser.select("#group_by", "q1").await;
    browser.click("#h-cross ~ form button[type=submit]").await;
    browser.find("table.crosstab").await;
    browser.screenshot_page("survey-results", 1280).await;

    // The same chart is served by the API.
    let res = app
        .get(
            &format!("/api/v1/surveys/{id}/results/charts/q1.svg"),
            Some(&staff.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert!(res.text().await.unwrap().contains("3 (60%)"));

    // A form sent without its CSRF token is refused and changes nothing.
    browser
        .goto(&app.url(&format!("/console/surveys/{id}")))
        .await;
    browser
        .execute(
            "const f = document.getElementById('close').form; \
             f.querySelector('input[name=csrf]').remove(); f.submit();",
            json!([]),
        )
        .await;
    assert_eq!(browser.text("#error-code").await, "csrf_token_invalid");
    let survey: Value = app
        .get(&format!("/api/v1/surveys/{id}"), Some(&staff.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(survey["status"], "published");

    // Another sub-district's survey is not shown.
    let other = app.staff_of("de.sheng", "desheng").await;
    let res = app
        .post(
            "/api/v1/surveys",
            Some(&other.access_token),
            &json!({ "title": "德胜街道问卷", "org_unit": "desheng", "pages": [] }),
        )
        .await;
    let other_id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    browser
        .goto(&app.url(&format!("/console/surveys/{other_id}")))
        .await;
    assert_eq!(browser.text("#error-code").await, "org_unit_forbidden");
    browser
        .goto(&app.url(&format!("/console/surveys/{other_id}/results")))
        .await;
    assert_eq!(browser.text("#error-code").await, "org_unit_forbidden");
    browser.goto(&app.url("/console/surveys")).await;
    assert!(!browser.text("main").await.contains("德胜街道问卷"));
    browser.screenshot("survey-list").await;

    // The editor on a tablet.
    browser
        .goto(&app.url(&format!("/console/surveys/{id}")))
        .await;
    browser.find("#save").await;
    browser.set_window(820, 1180).await;
    browser.screenshot("survey-editor-tablet").await;
    browser.set_window(1280, 900).await;
    browser.goto(&app.url("/console")).await;
    browser.find("#h-open").await;
    browser.screenshot("home").await;
}

#[tokio::test]
async fn the_check_in_desk_takes_a_valid_code_once() {
    let app = spawn_app().await;
    let staff = app.staff_of("yuetan-li", "yuetan").await;
    let meeting = published_meeting(&app, &staff, &meeting_body("yuetan", 5, 0, false)).await;
    let resident = app.login_resident("o-desk").await;
    let code = signed_up(&app, &resident, &meeting).await["check_in_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let browser = Browser::start().await;
    sign_in(&browser, &app, "yuetan-li", STAFF_PASSWORD).await;
    browser.wait_for_url(|u| u.ends_with("/console")).await;

    browser.goto(&app.url("/console/deliberations")).await;
    browser
        .click(&format!(
            "a[href=\"/console/deliberations/{meeting}/desk\"]"
        ))
        .await;
    browser.type_into("#code", &code.to_lowercase()).await;
    browser.click("#desk-form button[type=submit]").await;
    assert_eq!(browser.text("#desk-result .ok").await, "签到成功：张*");
    browser.screenshot("check-in-desk").await;

    // The same code again: refused, and said so at the desk.
    browser.type_into("#code", &code).await;
    browser.click("#desk-form button[type=submit]").await;
    browser.find("#desk-result .alert").await;
    assert_eq!(
        browser
            .execute(
                "return document.querySelector('#desk-result .alert').dataset.code;",
                json!([])
            )
            .await,
        "already_checked_in"
    );

    let attendance: Value = app
        .get(
            &format!("/api/v1/deliberations/{meeting}/attendance"),
            Some(&staff.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(attendance["checked_in"], 1, "{attendance}");
}

#[tokio::test]
async fn the_open_day_desk_counts_the_visitor_and_administrators_read_the_audit_log() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    // The slot is under way, so its visitors may check in.
    let event = app.open_day(&staff, vec![slot(-10, 60, 10)]).await;
    let id = event["id"].as_str().unwrap().to_owned();
    let resident = app.login_resident("o-visitor").await;
    let booking = app.booked(&resident, &event, 0, 2).await;
    let code = booking["verification_code"].as_str().unwrap().to_owned();

    let browser = Browser::start().await;
    sign_in(&browser, &app, "xinjiekou-staff", STAFF_PASSWORD).await;
    browser.wait_for_url(|u| u.ends_with("/console")).await;
    browser.goto(&app.url("/console/open-days")).await;
    browser
        .click(&format!("a[href=\"/console/open-days/{id}/desk\"]"))
        .await;
    browser.type_into("#code", &code).await;
    browser.click("#desk-form button[type=submit]").await;
    assert_eq!(
        browser.text("#desk-result .ok").await,
        "签到成功：张*（2 人）"
    );
    assert_eq!(browser.text("#slot-stats td.checked-in").await, "2");
    browser.screenshot("open-day-desk").await;
    browser.type_into("#code", &code).await;
    browser.click("#desk-form button[type=submit]").await;
    assert!(
        browser
            .text("#desk-result .alert")
            .await
            .starts_with("未能签到")
    );

    // Staff have no admin page; the administrator sees accounts and the audit log.
    browser.goto(&app.url("/console/admin")).await;
    assert_eq!(browser.text("#error-code").await, "admin_only");
    browser.goto(&app.url("/console")).await;
    browser.click("header form button").await;
    browser
        .wait_for_url(|u| u.ends_with("/console/login"))
        .await;
    sign_in(&browser, &app, ADMIN_USERNAME, ADMIN_PASSWORD).await;
    browser.wait_for_url(|u| u.ends_with("/console")).await;
    browser.goto(&app.url("/console/admin")).await;
    assert!(
        browser
            .text("#staff-accounts")
            .await
            .contains("xinjiekou-staff")
    );
    assert!(browser.text("#audit-log").await.contains("staff.created"));
    browser.screenshot_page("admin", 1280).await;
}

#[tokio::test]
async fn staff_approve_one_officer_and_reject_another_with_a_reason() {
    let app = spawn_app().await;
    let staff = app.unit_officer_staff().await;
    let campaign = app.campaign(&staff, 5).await;
    let cid = id_of(&campaign);
    let mut applicants = Vec::new();
    for (openid, name, phone, community) in [
        ("o-wang", "王秀兰", "13800002222", "月坛社区"),
        ("o-zhao", "赵建国", "13900003333", "南礼士路社区"),
    ] {
        let who = app.login_resident(openid).await;
        let mut body = apply_body();
        body["real_name"] = json!(name);
        body["phone"] = json!(phone);
        body["community"] = json!(community);
        let res = app.apply(&who, &cid, &body).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let application = id_of(&res.json::<Value>().await.unwrap());
        applicants.push((who, application));
    }

    let browser = Browser::start().await;
    sign_in(&browser, &app, "yuetan-officers", STAFF_PASSWORD).await;
    browser.wait_for_url(|u| u.ends_with("/console")).await;
    browser.goto(&app.url("/console/officers")).await;
    browser
        .click(&format!("a[href=\"/console/officers/{cid}\"]"))
        .await;
    let queue = browser.text("#review-queue").await;
    assert!(
        queue.contains("王*") && queue.contains("138****2222"),
        "{queue}"
    );
    assert!(!queue.contains("王秀兰") && !queue.contains("13800002222"));
    browser.screenshot_page("officer-review", 1280).await;

    let (wang, zhao) = (&applicants[0], &applicants[1]);
    browser
        .click(&format!(
            "tr[data-application=\"{}\"] button.primary",
            wang.1
        ))
        .await;
    browser.find("#roster tbody tr").await;
    browser
        .type_into(&format!("#reason-{}", zhao.1), "不在本街道居住")
        .await;
    browser
        .click(&format!(
            "tr[data-application=\"{}\"] form + form button",
            zhao.1
        ))
        .await;
    browser.find("#decided tbody tr:nth-child(2)").await;
    assert!(browser.find_all("#review-queue tbody tr").await.is_empty());
    let roster = browser.text("#roster").await;
    assert!(
        roster.contains("王*") && roster.contains("在任"),
        "{roster}"
    );
    assert!(!roster.contains("赵*"), "{roster}");
    assert_eq!(browser.text("#r-approved").await, "1");
    assert_eq!(browser.text("#r-rejected").await, "1");

    let mine = app.my_applications(&zhao.0).await;
    assert_eq!(items(&mine)[0]["status"], "rejected");
    assert_eq!(items(&mine)[0]["reason"], "不在本街道居住");
    let mine = app.my_applications(&wang.0).await;
    assert_eq!(items(&mine)[0]["status"], "approved");
}
