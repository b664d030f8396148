//! Two instances of the service behind one load balancer, on one database (and one Redis when
//! the tests run on PostgreSQL + Redis): seats and caps hold across them, and what staff do
//! through one is what residents see through the other.
//!
//! Also proven elsewhere across two instances: deliberation sign-ups
//! (`deliberation_concurrency`), shared rate limits (`rate_limit::limits_hold_across_two_instances_sharing_redis`)
//! and job ticks and notice delivery running once (`jobs`).

use std::collections::HashMap;

use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{Session, TestApp, spawn_app},
    open_days_support::{id_of, reserve_body, slot, slot_id},
};

/// Sends one request to `base` (either instance), answering status and body.
async fn send(
    app: &TestApp,
    base: &str,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let mut req = app
        .client
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().await.expect("sent");
    let status = res.status();
    let text = res.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn survey_body(org_unit: &str) -> Value {
    json!({
        "title": "展览路街道社区食堂满意度调查",
        "org_unit": org_unit,
        "audience": [org_unit],
        "pages": [{ "id": "p1", "questions": [
            { "id": "satisfied", "type": "single", "title": "您对社区食堂是否满意？", "required": true,
              "options": [ {"id": "yes", "label": "满意"}, {"id": "no", "label": "不满意"} ] }
        ]}]
    })
}

async fn residents(app: &TestApp, prefix: &str, n: usize, sub_district: &str) -> Vec<Session> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(
            app.resident_of(&format!("{prefix}-{i}"), sub_district)
                .await,
        );
    }
    out
}

#[tokio::test]
async fn an_open_day_slot_is_never_overbooked_across_two_instances() {
    let app = spawn_app().await;
    let (_, second) = app.another_instance_serving().await;
    let bases = [app.address.clone(), second];
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(180, 60, 12)]).await;
    let s0 = slot_id(&event, 0);
    let path = format!("/api/v1/open-days/{}/reservations", id_of(&event));
    let crowd = join_all((0..60).map(|i| {
        let app = &app;
        async move { app.login_resident(&format!("o-two-{i}")).await }
    }))
    .await;

    // Every resident taps twice, once landing on each instance.
    let body = reserve_body(&s0, 1);
    let attempts = crowd.iter().enumerate().flat_map(|(i, who)| {
        let (app, path, body, bases) = (&app, &path, &body, &bases);
        [0, 1].map(move |k| {
            let base = bases[(i + k) % 2].clone();
            async move {
                let (status, v) = send(
                    app,
                    &base,
                    Method::POST,
                    path,
                    &who.access_token,
                    Some(body),
                )
                .await;
                (i, status, v)
            }
        })
    });
    let answers = join_all(attempts).await;
    let mut created_by: HashMap<usize, usize> = HashMap::new();
    for (i, status, v) in &answers {
        assert!(!status.is_server_error(), "resident {i} got {status}: {v}");
        match *status {
            StatusCode::CREATED => *created_by.entry(*i).or_default() += 1,
            StatusCode::CONFLICT => assert!(
                ["slot_full", "already_reserved", "request_in_progress"]
                    .contains(&v["code"].as_str().unwrap_or_default()),
                "{v}"
            ),
            other => panic!("unexpected {other}: {v}"),
        }
    }
    assert_eq!(created_by.len(), 12, "{answers:?}");
    assert!(created_by.values().all(|n| *n == 1), "{created_by:?}");
    assert_eq!(app.seats_taken(&s0).await, 12);
    // Both instances tell the same story.
    for base in &bases {
        let res = app
            .client
            .get(format!("{base}/api/v1/open-days/{}", id_of(&event)))
            .send()
            .await
            .unwrap();
        let detail: Value = res.json().await.unwrap();
        assert_eq!(detail["slots"][0]["seats_left"], 0, "{detail}");
    }
}

#[tokio::test]
async fn a_survey_cap_holds_and_each_resident_answers_once_across_two_instances() {
    let app = spawn_app().await;
    let (_, second) = app.another_instance_serving().await;
    let bases = [app.address.clone(), second];
    let staff = app.staff_of("zhanlan.gong", "zhanlanlu").await;
    let mut body = survey_body("zhanlanlu");
    body["max_responses"] = json!(8);
    let id = app.published_survey(&staff, &body).await;
    let crowd = residents(&app, "o-cap", 30, "zhanlanlu").await;
    let path = format!("/api/v1/surveys/{id}/responses");
    let answer = json!({ "version": 1, "answers": { "satisfied": "yes" } });

    let attempts = crowd.iter().enumerate().flat_map(|(i, who)| {
        let (app, path, answer, bases) = (&app, &path, &answer, &bases);
        [0, 1].map(move |k| async move {
            let (status, v) = send(
                app,
                &bases[(i + k) % 2],
                Method::POST,
                path,
                &who.access_token,
                Some(answer),
            )
            .await;
            (i, status, v)
        })
    });
    let answers = join_all(attempts).await;
    let mut created_by: HashMap<usize, usize> = HashMap::new();
    for (i, status, v) in &answers {
        match *status {
            StatusCode::CREATED => *created_by.entry(*i).or_default() += 1,
            StatusCode::CONFLICT => assert!(
                ["survey_full", "already_answered", "request_in_progress"]
                    .contains(&v["code"].as_str().unwrap_or_default()),
                "{v}"
            ),
            other => panic!("resident {i}: unexpected {other}: {v}"),
        }
    }
    assert_eq!(created_by.len(), 8, "{answers:?}");
    assert!(created_by.values().all(|n| *n == 1), "{created_by:?}");
    for base in &bases {
        let (status, view) = send(
            &app,
            base,
            Method::GET,
            &format!("/api/v1/surveys/{id}"),
            &staff.access_token,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(view["response_count"], 8, "{view}");
    }
}

#[tokio::test]
async fn a_questionnaire_published_through_one_instance_is_served_by_the_other_at_once() {
    let app = spawn_app().await;
    let (_, second) = app.another_instance_serving().await;
    let staff = app.staff_of("zhanlan.gong", "zhanlanlu").await;
    let resident = app.resident_of("o-reader", "zhanlanlu").await;
    let res = app
        .post(
            "/api/v1/surveys",
            Some(&staff.access_token),
            &survey_body("zhanlanlu"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/surveys/{id}");

    // The draft is invisible through the second instance (and that answer is not kept).
    let (status, _) = send(
        &app,
        &second,
        Method::GET,
        &path,
        &resident.access_token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let res = app
        .post(
            &format!("{path}/publish"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (status, seen) = send(
        &app,
        &second,
        Method::GET,
        &path,
        &resident.access_token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{seen}");
    assert_eq!(seen["version"], 1);
    assert_eq!(seen["status"], "published");
    let (status, _) = send(
        &app,
        &second,
        Method::POST,
        &format!("{path}/responses"),
        &resident.access_token,
        Some(&json!({ "version": 1, "answers": { "satisfied": "no" } })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    // Staff close it through the first instance; the second refuses answers at once. That
    // takes the shared cache: the embedded default (in-process cache) is one instance by
    // design, and a second one there trusts its own copy of the survey's status for up to
    // a minute.
    if app.settings.redis_url.is_empty() {
        return;
    }
    let res = app
        .post(
            &format!("{path}/close"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let late = app.resident_of("o-late", "zhanlanlu").await;
    let (status, problem) = send(
        &app,
        &second,
        Method::POST,
        &format!("{path}/responses"),
        &late.access_token,
        Some(&json!({ "version": 1, "answers": { "satisfied": "yes" } })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(problem["code"], "survey_closed");
}
