//! The console's session and its refusals over plain HTTP (no browser): the cookie's
//! attributes, CSRF tokens, org-unit scoping, logout.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::{STAFF_PASSWORD, TestApp, spawn_app};

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in on the login form; answers the session cookie (`name=value`).
pub async fn console_session(app: &TestApp, username: &str) -> String {
    let res = client()
        .post(app.url("/console/login"))
        .form(&[("username", username), ("password", STAFF_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let set = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    set.split(';').next().unwrap().to_owned()
}

pub async fn page(app: &TestApp, cookie: &str, path: &str) -> (StatusCode, String) {
    let res = client()
        .get(app.url(path))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

pub fn csrf_in(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    html[at..].split('"').next().unwrap().to_owned()
}

async fn draft_survey(app: &TestApp, token: &str, org_unit: &str) -> String {
    let res = app
        .post(
            "/api/v1/surveys",
            Some(token),
            &json!({ "title": "社区环境问卷", "org_unit": org_unit, "audience": [org_unit], "pages": [
                { "id": "p1", "questions": [
                    { "id": "q1", "type": "single", "title": "满意吗？",
                      "options": [ {"id": "a", "label": "满意"}, {"id": "b", "label": "不满意"} ] } ] } ] }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn the_session_cookie_is_http_only_strict_and_ends_at_logout() {
    let app = spawn_app().await;
    app.staff_of("shi.gong", "shichahai").await;

    let res = client().get(app.url("/console")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/console/login");

    let res = client()
        .post(app.url("/console/login"))
        .form(&[("username", "shi.gong"), ("password", "wrong-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.headers().get(header::SET_COOKIE).is_none());
    assert!(res.text().await.unwrap().contains("用户名或密码不正确"));

    let res = client()
        .post(app.url("/console/login"))
        .form(&[("username", "shi.gong"), ("password", STAFF_PASSWORD)])
        .send()
        .await
        .unwrap();
    let set = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(set.contains(attr), "{set}");
    }
    let cookie = set.split(';').next().unwrap().to_owned();
    let (status, home) = page(&app, &cookie, "/console").await;
    assert_eq!(status, StatusCode::OK);
    assert!(home.contains("shi.gong"));

    // Logging out needs the token too; then the cookie opens nothing.
    let res = client()
        .post(app.url("/console/logout"))
        .header(header::COOKIE, &cookie)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = client()
        .post(app.url("/console/logout"))
        .header(header::COOKIE, &cookie)
        .form(&[("csrf", csrf_in(&home))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        res.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, _) = page(&app, &cookie, "/console").await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // A resident's token in the cookie is no console session.
    let resident = app.login_resident("o-curious").await;
    let (status, _) = page(
        &app,
        &format!("canyu_console={}", resident.access_token),
        "/console/surveys",
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn changes_without_the_sessions_csrf_token_are_refused() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let id = draft_survey(&app, &staff.access_token, "shichahai").await;
    let cookie = console_session(&app, "shi.gong").await;
    let (_, editor) = page(&app, &cookie, &format!("/console/surveys/{id}")).await;
    let csrf = csrf_in(&editor);

    // Another session's token does not fit this one.
    app.staff_of("shi.er", "shichahai").await;
    let (_, other_page) = page(&app, &console_session(&app, "shi.er").await, "/console").await;
    let foreign = csrf_in(&other_page);
    assert_ne!(foreign, csrf);

    for given in [None, Some(""), Some(foreign.as_str())] {
        let mut form = vec![];
        if let Some(t) = given {
            form.push(("csrf", t));
        }
        let res = client()
            .post(app.url(&format!("/console/surveys/{id}/publish")))
            .header(header::COOKIE, &cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{given:?}");
        assert!(res.text().await.unwrap().contains("csrf_token_invalid"));
    }
    // The editor's JSON save wants the token in its header.
    let body = json!({ "title": "改过的标题", "org_unit": "shichahai", "pages": [] });
    let res = client()
        .post(app.url(&format!("/console/surveys/{id}/draft")))
        .header(header::COOKIE, &cookie)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "csrf_token_invalid");
    let view: Value = app
        .get(&format!("/api/v1/surveys/{id}"), Some(&staff.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["status"], "draft");
    assert_eq!(view["draft"]["title"], "社区环境问卷");

    // With the token both go through.
    let res = client()
        .post(app.url(&format!("/console/surveys/{id}/draft")))
        .header(header::COOKIE, &cookie)
        .header("x-csrf-token", &csrf)
        .json(
            &json!({ "title": "改过的标题", "org_unit": "shichahai", "audience": ["shichahai"],
            "pages": view["draft"]["pages"] }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = client()
        .post(app.url(&format!("/console/surveys/{id}/publish")))
        .header(header::COOKIE, &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let view: Value = app
        .get(&format!("/api/v1/surveys/{id}"), Some(&staff.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(view["status"], "published");
    assert_eq!(view["draft"]["title"], "改过的标题");
}

#[tokio::test]
async fn staff_see_only_their_units_surveys_and_administrators_all() {
    let app = spawn_app().await;
    let shi = app.staff_of("shi.gong", "shichahai").await;
    let de = app.staff_of("de.sheng", "desheng").await;
    let mine = draft_survey(&app, &shi.access_token, "shichahai").await;
    let theirs = draft_survey(&app, &de.access_token, "desheng").await;
    let cookie = console_session(&app, "shi.gong").await;

    let (status, list) = page(&app, &cookie, "/console/surveys").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains(&mine) && !list.contains(&theirs));
    for path in [
        format!("/console/surveys/{theirs}"),
        format!("/console/surveys/{theirs}/results"),
        format!("/console/surveys/{theirs}/export?format=csv"),
    ] {
        let (status, body) = page(&app, &cookie, &path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(body.contains("org_unit_forbidden"), "{path}");
    }
    let (_, editor) = page(&app, &cookie, &format!("/console/surveys/{mine}")).await;
    let res = client()
        .post(app.url(&format!("/console/surveys/{theirs}/close")))
        .header(header::COOKIE, &cookie)
        .form(&[("csrf", csrf_in(&editor))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // The export answers CSV for their own survey.
    let (status, csv) = page(
        &app,
        &cookie,
        &format!("/console/surveys/{mine}/export?format=csv"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.contains("response_id"), "{csv}");

    // The district administrator sees both.
    let res = client()
        .post(app.url("/console/login"))
        .form(&[
            ("username", crate::helpers::ADMIN_USERNAME),
            ("password", crate::helpers::ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let admin = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (_, list) = page(&app, &admin, "/console/surveys").await;
    assert!(list.contains(&mine) && list.contains(&theirs));
    let (status, _) = page(&app, &admin, &format!("/console/surveys/{theirs}/results")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_console_serves_its_own_scripts_and_styles() {
    let app = spawn_app().await;
    for (path, kind) in [
        ("/console/assets/console.css", "text/css"),
        ("/console/assets/editor.js", "text/javascript"),
        ("/console/assets/desk.js", "text/javascript"),
    ] {
        let res = client().get(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert!(
            res.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
    }
    let res = client()
        .get(app.url("/console/login"))
        .send()
        .await
        .unwrap();
    let html = res.text().await.unwrap();
    assert!(html.contains("lang=\"zh-CN\"") && html.contains("label for=\"password\""));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no CDN"
    );
}

#[tokio::test]
async fn the_chart_api_answers_svg_per_question_and_refuses_other_units() {
    let app = spawn_app().await;
    let shi = app.staff_of("shi.gong", "shichahai").await;
    let de = app.staff_of("de.sheng", "desheng").await;
    let id = draft_survey(&app, &shi.access_token, "shichahai").await;
    let res = app
        .post(
            &format!("/api/v1/surveys/{id}/publish"),
            Some(&shi.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let r = app.resident_of("o-chart", "shichahai").await;
    let res = app.answer(&r, &id, 1, json!({ "q1": "b" })).await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let res = app
        .get(
            &format!("/api/v1/surveys/{id}/results/charts/q1.svg"),
            Some(&shi.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "image/svg+xml");
    let svg = res.text().await.unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("1 (100%)") && svg.contains("0 (0%)"),
        "{svg}"
    );

    let res = app
        .get(
            &format!("/api/v1/surveys/{id}/results/charts/nope.svg"),
            Some(&shi.access_token),
        )
        .await;
    crate::helpers::assert_problem(res, StatusCode::NOT_FOUND, "question_not_found").await;
    let res = app
        .get(
            &format!("/api/v1/surveys/{id}/results/charts/q1.svg"),
            Some(&de.access_token),
        )
        .await;
    crate::helpers::assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;
    let res = app
        .get(&format!("/api/v1/surveys/{id}/results/charts/q1.svg"), None)
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn staff_plan_a_meeting_on_the_form_and_see_the_masked_sign_ups() {
    let app = spawn_app().await;
    let staff = app.staff_of("yuetan-li", "yuetan").await;
    let cookie = console_session(&app, "yuetan-li").await;
    let (_, form_page) = page(&app, &cookie, "/console/deliberations/new").await;
    let csrf = csrf_in(&form_page);
    // Beijing time on the form.
    let at = |days: i64, hour: u32| {
        (chrono::Utc::now() + chrono::Duration::days(days) + chrono::Duration::hours(8))
            .date_naive()
            .and_hms_opt(hour, 0, 0)
            .unwrap()
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    let mut fields = vec![
        ("csrf", csrf.clone()),
        ("title", "胡同停车秩序议事会".to_owned()),
        ("background", "居民反映胡同内停车混乱。".to_owned()),
        ("agenda", "情况通报；居民发言".to_owned()),
        ("location", "月坛街道社区服务中心".to_owned()),
        ("starts_at", at(3, 9)),
        ("ends_at", at(3, 8)),
        ("signup_opens_at", at(-1, 9)),
        ("signup_closes_at", at(2, 18)),
        ("capacity", "20".to_owned()),
        ("reserved_seats", "2".to_owned()),
        ("waitlist_enabled", "on".to_owned()),
        ("eligibility", "yuetan".to_owned()),
    ];
    // Ending before it starts: the form comes back with the message and the values kept.
    let res = client()
        .post(app.url("/console/deliberations/new"))
        .header(header::COOKIE, &cookie)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("form-errors") && html.contains("ends_at"),
        "{html}"
    );
    assert!(html.contains("胡同停车秩序议事会"));

    fields[6] = ("ends_at", at(3, 11));
    let res = client()
        .post(app.url("/console/deliberations/new"))
        .header(header::COOKIE, &cookie)
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let desk = res.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let id = desk.split('/').nth(3).unwrap().to_owned();

    let meeting: Value = app
        .get(
            &format!("/api/v1/deliberations/{id}"),
            Some(&staff.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(meeting["status"], "published", "{meeting}");
    assert_eq!(meeting["capacity"], 20);
    assert_eq!(meeting["reserved_seats"], 2);
    let starts =
        chrono::DateTime::parse_from_rfc3339(meeting["starts_at"].as_str().unwrap()).unwrap();
    assert_eq!(
        starts.format("%H:%M").to_string(),
        "01:00",
        "09:00 in Beijing"
    );

    // A resident signs up; the desk lists them masked.
    let resident = app.resident_of("o-yuetan", "yuetan").await;
    crate::deliberation::signed_up(&app, &resident, &id).await;
    let (status, html) = page(&app, &cookie, &desk).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("张*") && html.contains("138****5678"),
        "{html}"
    );
    assert!(!html.contains("13812345678") && !html.contains("张三"));
}

#[tokio::test]
async fn staff_record_an_outcome_and_its_progress_timeline() {
    let app = spawn_app().await;
    let staff = app.staff_of("yuetan-li", "yuetan").await;
    let meeting = crate::deliberation::published_meeting(
        &app,
        &staff,
        &crate::deliberation::meeting_body("yuetan", 5, 0, false),
    )
    .await;
    let cookie = console_session(&app, "yuetan-li").await;
    let (status, desk) = page(
        &app,
        &cookie,
        &format!("/console/deliberations/{meeting}/desk"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_in(&desk);

    let res = client()
        .post(app.url(&format!("/console/deliberations/{meeting}/outcomes")))
        .header(header::COOKIE, &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("title", "胡同北口施划停车位"),
            ("description", "在北口施划 12 个车位"),
            ("responsible_unit", "月坛街道城管科"),
            ("due_date", "2027-03-31"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let outcome_page = res.headers()[header::LOCATION].to_str().unwrap().to_owned();

    let progress = |token: &'static str| {
        let (app, cookie, outcome_page) = (&app, cookie.clone(), outcome_page.clone());
        let token = if token == "real" {
            csrf.clone()
        } else {
            token.to_owned()
        };
        async move {
            client()
                .post(app.url(&format!("{outcome_page}/progress")))
                .header(header::COOKIE, cookie)
                .form(&[
                    ("csrf", token.as_str()),
                    ("status", "in_progress"),
                    ("percent", "40"),
                    ("note", "已完成现场勘查和方案公示"),
                    ("happened_on", "2026-11-20"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(progress("forged").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(progress("real").await.status(), StatusCode::SEE_OTHER);

    let (status, html) = page(&app, &cookie, &outcome_page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("已完成现场勘查和方案公示") && html.contains("40%"),
        "{html}"
    );
    assert_eq!(
        html.matches("<li><strong>").count(),
        1,
        "one entry on the timeline"
    );
    let (_, list) = page(&app, &cookie, "/console/outcomes").await;
    assert!(list.contains("胡同北口施划停车位"));

    // Another sub-district's staff cannot open it.
    app.staff_of("de.sheng", "desheng").await;
    let other = console_session(&app, "de.sheng").await;
    let (status, body) = page(&app, &other, &outcome_page).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("org_unit_forbidden"));
}

#[tokio::test]
async fn administrators_create_staff_accounts_on_the_admin_page() {
    let app = spawn_app().await;
    app.staff_of("shi.gong", "shichahai").await;
    let staff = console_session(&app, "shi.gong").await;
    let (status, _) = page(&app, &staff, "/console/admin").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let res = client()
        .post(app.url("/console/login"))
        .form(&[
            ("username", crate::helpers::ADMIN_USERNAME),
            ("password", crate::helpers::ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let admin = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let (status, html) = page(&app, &admin, "/console/admin").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_in(&html);
    let create = |password: &'static str| {
        let (app, admin, csrf) = (&app, admin.clone(), csrf.clone());
        async move {
            client()
                .post(app.url("/console/admin/staff"))
                .header(header::COOKIE, admin)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("username", "de.sheng"),
                    ("password", password),
                    ("role", "staff"),
                    ("org_unit", "desheng"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let res = create("short").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("password"));
    let res = create(STAFF_PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&app, &admin, "/console/admin").await;
    assert!(html.contains("de.sheng") && html.contains("staff.created"));
    // The new account signs in to the console.
    let cookie = console_session(&app, "de.sheng").await;
    let (status, _) = page(&app, &cookie, "/console").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn staff_create_an_open_day_with_slots_on_the_form() {
    let app = spawn_app().await;
    let staff = app.staff_of("xinjiekou-staff", "xinjiekou").await;
    let cookie = console_session(&app, "xinjiekou-staff").await;
    let (status, form_page) = page(&app, &cookie, "/console/open-days/new").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_in(&form_page);
    let at = |days: i64, hour: u32| {
        (chrono::Utc::now() + chrono::Duration::days(days) + chrono::Duration::hours(8))
            .date_naive()
            .and_hms_opt(hour, 0, 0)
            .unwrap()
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    let mut fields = vec![
        ("csrf", csrf.clone()),
        ("title", "新街口街道办事处开放日".to_owned()),
        ("description", "走进街道政务服务大厅".to_owned()),
        ("location", "新街口街道政务服务中心".to_owned()),
        ("eligibility", "辖区居民".to_owned()),
        ("booking_opens_at", at(-1, 9)),
        ("booking_closes_at", at(5, 18)),
        ("cancel_cutoff_minutes", "60".to_owned()),
        ("max_party_size", "3".to_owned()),
        ("slot0_starts", at(7, 9)),
        ("slot0_ends", at(7, 10)),
        ("slot0_capacity", "".to_owned()),
        ("slot1_starts", at(7, 14)),
        ("slot1_ends", at(7, 15)),
        ("slot1_capacity", "15".to_owned()),
        ("slot2_starts", String::new()),
        ("slot2_ends", String::new()),
        ("slot2_capacity", String::new()),
    ];
    let post = |fields: Vec<(&'static str, String)>| {
        let (app, cookie) = (&app, cookie.clone());
        async move {
            client()
                .post(app.url("/console/open-days/new"))
                .header(header::COOKIE, cookie)
                .form(&fields)
                .send()
                .await
                .unwrap()
        }
    };
    // A slot without seats: the form comes back naming it, values kept.
    let res = post(fields.clone()).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("slot0_capacity") && html.contains("新街口街道办事处开放日"));

    fields[11] = ("slot0_capacity", "20".to_owned());
    let res = post(fields).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let desk = res.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let id = desk.split('/').nth(3).unwrap().to_owned();
    let event: Value = app
        .get(
            &format!("/api/v1/open-days/{id}"),
            Some(&staff.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(event["status"], "published", "{event}");
    let capacities: Vec<i64> = event["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["capacity"].as_i64().unwrap())
        .collect();
    assert_eq!(capacities, [20, 15]);
    let (status, html) = page(&app, &cookie, &desk).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("slot-stats"));
}
