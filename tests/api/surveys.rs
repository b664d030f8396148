//! Surveys from both sides: staff build and publish, residents answer on their phones.

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, assert_problem, fields, one_effect_of_a_burst, spawn_app};

/// A satisfaction survey of the kind a sub-district runs, for `org_unit`.
fn questionnaire(org_unit: &str) -> Value {
    json!({
        "title": "什刹海街道停车治理满意度调查",
        "description": "请根据实际感受作答",
        "org_unit": org_unit,
        "audience": [org_unit],
        "keep_informed": true,
        "pages": [
            { "id": "p1", "questions": [
                { "id": "satisfied", "type": "single", "title": "您对停车治理是否满意？", "required": true,
                  "options": [ {"id": "yes", "label": "满意"}, {"id": "no", "label": "不满意"} ] },
                { "id": "why", "type": "text", "title": "不满意的原因", "required": true, "max_len": 200,
                  "visible_if": { "q": "satisfied", "op": "eq", "v": "no" } },
                { "id": "score", "type": "scale", "title": "打分", "min": 1, "max": 5 }
            ]}
        ]
    })
}

impl TestApp {
    /// Staff create and publish a survey; answers its id.
    pub async fn published_survey(&self, staff: &Session, body: &Value) -> String {
        let res = self
            .post("/api/v1/surveys", Some(&staff.access_token), body)
            .await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap_or_default()
        );
        let created: Value = res.json().await.unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let res = self
            .post(
                &format!("/api/v1/surveys/{id}/publish"),
                Some(&staff.access_token),
                &json!({}),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::OK,
            "{}",
            res.text().await.unwrap_or_default()
        );
        id
    }

    /// A resident living in `sub_district`.
    pub async fn resident_of(&self, openid: &str, sub_district: &str) -> Session {
        let r = self.login_resident(openid).await;
        let res = self
            .patch(
                "/api/v1/me",
                Some(&r.access_token),
                &json!({ "home_subdistrict": sub_district }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        r
    }

    /// A resident who signed in once: her id.
    pub async fn resident_of_id(&self, openid: String) -> uuid::Uuid {
        let r = self.login_resident(&openid).await;
        r.user["id"].as_str().unwrap().parse().unwrap()
    }

    pub async fn answer(
        &self,
        resident: &Session,
        survey: &str,
        version: i64,
        answers: Value,
    ) -> reqwest::Response {
        self.post(
            &format!("/api/v1/surveys/{survey}/responses"),
            Some(&resident.access_token),
            &json!({ "version": version, "answers": answers }),
        )
        .await
    }
}

#[tokio::test]
async fn staff_publish_and_a_resident_answers_from_their_phone() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let id = app
        .published_survey(&staff, &questionnaire("shichahai"))
        .await;
    let resident = app.resident_of("o-wang", "shichahai").await;

    let list: Value = app
        .get("/api/v1/surveys", Some(&resident.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["id"], id.as_str());
    assert_eq!(list["items"][0]["answered"], false);

    let res = app
        .get(
            &format!("/api/v1/surveys/{id}"),
            Some(&resident.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let survey: Value = res.json().await.unwrap();
    assert_eq!(survey["version"], 1);
    assert_eq!(survey["status"], "published");
    assert_eq!(survey["pages"][0]["questions"][0]["id"], "satisfied");

    // The phone asks again with its ETag: nothing to download.
    let res = app
        .client
        .get(app.url(&format!("/api/v1/surveys/{id}")))
        .bearer_auth(&resident.access_token)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);

    let res = app
        .answer(
            &resident,
            &id,
            1,
            json!({ "satisfied": "no", "why": "夜间车位太少", "score": 2 }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let done: Value = res.json().await.unwrap();
    assert_eq!(done["version"], 1);

    let again = app
        .answer(&resident, &id, 1, json!({ "satisfied": "yes" }))
        .await;
    assert_problem(again, StatusCode::CONFLICT, "already_answered").await;

    let mine: Vec<Value> = app
        .get("/api/v1/me/responses", Some(&resident.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine[0]["survey_id"], id.as_str());
    assert_eq!(mine[0]["answers"]["why"], "夜间车位太少");
    assert_eq!(mine[0]["answers"]["satisfied"]["option"], "no");

    let staff_view: Value = app
        .get(&format!("/api/v1/surveys/{id}"), Some(&staff.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(staff_view["response_count"], 1);
    assert_eq!(staff_view["has_unpublished_changes"], false);
}

#[tokio::test]
async fn a_phone_that_asks_for_gzip_gets_the_questionnaire_compressed_and_tagged_apart() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let id = app
        .published_survey(&staff, &questionnaire("shichahai"))
        .await;
    let resident = app.resident_of("o-wang", "shichahai").await;
    let path = format!("/api/v1/surveys/{id}");
    let fetch = |encoding: Option<&'static str>, tag: Option<String>| {
        let mut req = app
            .client
            .get(app.url(&path))
            .bearer_auth(&resident.access_token);
        if let Some(e) = encoding {
            req = req.header("accept-encoding", e);
        }
        if let Some(t) = tag {
            req = req.header("if-none-match", t);
        }
        req.send()
    };
    let header = |res: &reqwest::Response, name: &str| {
        res.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };

    let plain = fetch(None, None).await.unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(header(&plain, "content-encoding"), None);
    assert_eq!(header(&plain, "vary").as_deref(), Some("accept-encoding"));
    let plain_tag = header(&plain, "etag").unwrap();
    let plain_body = plain.bytes().await.unwrap();

    let packed = fetch(Some("gzip, deflate, br"), None).await.unwrap();
    assert_eq!(packed.status(), StatusCode::OK);
    assert_eq!(header(&packed, "content-encoding").as_deref(), Some("gzip"));
    assert_eq!(header(&packed, "vary").as_deref(), Some("accept-encoding"));
    assert_eq!(
        header(&packed, "content-type").as_deref(),
        Some("application/json")
    );
    let packed_tag = header(&packed, "etag").unwrap();
    assert_ne!(packed_tag, plain_tag, "each representation has its own tag");
    let packed_body = packed.bytes().await.unwrap();
    assert!(packed_body.len() < plain_body.len());
    assert_eq!(
        gunzip(&packed_body),
        plain_body,
        "the same JSON, byte for byte"
    );

    // A weight of zero is a refusal.
    let refused = fetch(Some("gzip;q=0"), None).await.unwrap();
    assert_eq!(header(&refused, "content-encoding"), None);
    assert_eq!(refused.bytes().await.unwrap(), plain_body);

    // Either tag, weakened or not, names this version: nothing to download, and the 304
    // carries the tag of what this request would have got.
    for (encoding, tag, expected) in [
        (Some("gzip"), plain_tag.clone(), &packed_tag),
        (None, packed_tag.clone(), &plain_tag),
        (Some("gzip"), format!("W/{packed_tag}"), &packed_tag),
    ] {
        let res = fetch(encoding, Some(tag)).await.unwrap();
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header(&res, "etag").as_ref(), Some(expected));
        assert!(res.bytes().await.unwrap().is_empty());
    }

    // Closed, the survey is sent again, compressed, under new tags.
    let res = app
        .post(
            &format!("{path}/close"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = fetch(Some("gzip"), Some(packed_tag.clone())).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_ne!(header(&res, "etag"), Some(packed_tag));
    let survey: Value = serde_json::from_slice(&gunzip(&res.bytes().await.unwrap())).unwrap();
    assert_eq!(survey["status"], "closed");
}

fn gunzip(packed: &[u8]) -> Vec<u8> {
    let mut unpacked = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(packed), &mut unpacked).unwrap();
    unpacked
}
#[tokio::test]
async fn the_server_replays_the_logic_and_reports_every_problem_at_once() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let id = app
        .published_survey(&staff, &questionnaire("shichahai"))
        .await;
    let resident = app.resident_of("o-li", "shichahai").await;

    // "why" is required once "no" is chosen; score out of range; an unknown question.
    let res = app
        .answer(
            &resident,
            &id,
            1,
            json!({ "satisfied": "no", "score": 9, "ghost": 1 }),
        )
        .await;
    let body = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&body), ["ghost", "score", "why"]);

    // Answering a hidden question is refused.
    let res = app
        .answer(&resident, &id, 1, json!({ "satisfied": "yes", "why": "x" }))
        .await;
    let body = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&body), ["why"]);

    // Nothing was stored: a valid answer still goes through.
    let res = app
        .answer(&resident, &id, 1, json!({ "satisfied": "yes" }))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn publishing_refuses_a_broken_questionnaire_naming_question_and_field() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let mut body = questionnaire("shichahai");
    body["pages"][0]["questions"][1]["visible_if"] =
        json!({ "q": "satisfied", "op": "eq", "v": "maybe" });
    body["pages"][0]["questions"][2]["max"] = json!(1);
    let res = app
        .post("/api/v1/surveys", Some(&staff.access_token), &body)
        .await;
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .post(
            &format!("/api/v1/surveys/{id}/publish"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    let problem = assert_problem(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "survey_definition_invalid",
    )
    .await;
    // In the order a resident meets them.
    assert_eq!(fields(&problem), ["why.visible_if", "score.max"]);
    // Still a draft: residents cannot see it.
    let resident = app.resident_of("o-early", "shichahai").await;
    let res = app
        .get(
            &format!("/api/v1/surveys/{id}"),
            Some(&resident.access_token),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "survey_not_found").await;
}

#[tokio::test]
async fn a_live_survey_changes_by_versions_and_stale_answers_are_refused() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let body = questionnaire("shichahai");
    let id = app.published_survey(&staff, &body).await;
    let early = app.resident_of("o-early", "shichahai").await;
    let late = app.resident_of("o-late", "shichahai").await;
    assert_eq!(
        app.answer(&early, &id, 1, json!({ "satisfied": "yes" }))
            .await
            .status(),
        StatusCode::CREATED
    );

    // Staff add an option: the draft changes, residents still see version 1.
    let mut v2 = body.clone();
    v2["pages"][0]["questions"][0]["options"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "id": "unsure", "label": "说不清" }));
    let res = app
        .request(
            Method::PUT,
            &format!("/api/v1/surveys/{id}"),
            Some(&staff.access_token),
            Some(&v2),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<Value>().await.unwrap()["has_unpublished_changes"],
        true
    );
    let seen: Value = app
        .get(&format!("/api/v1/surveys/{id}"), Some(&late.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["version"], 1);

    app.post(
        &format!("/api/v1/surveys/{id}/publish"),
        Some(&staff.access_token),
        &json!({}),
    )
    .await;
    let seen: Value = app
        .get(&format!("/api/v1/surveys/{id}"), Some(&late.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        seen["version"], 2,
        "the new version is served right after publishing"
    );

    let res = app
        .answer(&late, &id, 1, json!({ "satisfied": "yes" }))
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "survey_version_changed").await;
    assert_eq!(problem["current_version"], 2);
    assert_eq!(
        app.answer(&late, &id, 2, json!({ "satisfied": "unsure" }))
            .await
            .status(),
        StatusCode::CREATED
    );

    // A question id keeps its type forever.
    let mut bad = v2.clone();
    bad["pages"][0]["questions"][2] = json!({ "id": "score", "type": "text", "title": "打分" });
    app.request(
        Method::PUT,
        &format!("/api/v1/surveys/{id}"),
        Some(&staff.access_token),
        Some(&bad),
    )
    .await;
    let res = app
        .post(
            &format!("/api/v1/surveys/{id}/publish"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    let problem = assert_problem(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "survey_definition_invalid",
    )
    .await;
    assert_eq!(fields(&problem), ["score.type"]);
}

#[tokio::test]
async fn only_the_audience_and_only_while_open() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let id = app
        .published_survey(&staff, &questionnaire("shichahai"))
        .await;
    let outsider = app.resident_of("o-niujie", "niujie").await;
    let list: Value = app
        .get("/api/v1/surveys", Some(&outsider.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert!(list["items"].as_array().unwrap().is_empty());
    let res = app
        .answer(&outsider, &id, 1, json!({ "satisfied": "yes" }))
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "not_in_audience").await;

    let mut later = questionnaire("shichahai");
    later["opens_at"] = json!((chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339());
    let future = app.published_survey(&staff, &later).await;
    let insider = app.resident_of("o-shichahai", "shichahai").await;
    let res = app
        .answer(&insider, &future, 1, json!({ "satisfied": "yes" }))
        .await;
    assert_problem(res, StatusCode::CONFLICT, "survey_closed").await;

    app.post(
        &format!("/api/v1/surveys/{id}/close"),
        Some(&staff.access_token),
        &json!({}),
    )
    .await;
    let res = app
        .answer(&insider, &id, 1, json!({ "satisfied": "yes" }))
        .await;
    assert_problem(res, StatusCode::CONFLICT, "survey_closed").await;
    let seen: Value = app
        .get(
            &format!("/api/v1/surveys/{id}"),
            Some(&insider.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["status"], "closed");
}

#[tokio::test]
async fn staff_work_only_on_their_own_units_surveys() {
    let app = spawn_app().await;
    let mine = app.staff_of("shi.gong", "shichahai").await;
    let other = app.staff_of("niu.gong", "niujie").await;
    let res = app
        .post(
            "/api/v1/surveys",
            Some(&other.access_token),
            &questionnaire("shichahai"),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;
    let id = app
        .published_survey(&mine, &questionnaire("shichahai"))
        .await;
    let res = app
        .get(&format!("/api/v1/surveys/{id}"), Some(&other.access_token))
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;
    let theirs: Value = app
        .get("/api/v1/surveys?scope=mine", Some(&other.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert!(theirs["items"].as_array().unwrap().is_empty());
    let admin = app.login_admin().await;
    let all: Value = app
        .get("/api/v1/surveys?scope=mine", Some(&admin.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["items"][0]["id"], id.as_str());
}

#[tokio::test]
async fn a_survey_with_answers_cannot_be_deleted_but_a_draft_can() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let id = app
        .published_survey(&staff, &questionnaire("shichahai"))
        .await;
    let r = app.resident_of("o-1", "shichahai").await;
    app.answer(&r, &id, 1, json!({ "satisfied": "yes" })).await;
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/surveys/{id}"),
            Some(&staff.access_token),
            None,
        )
        .await;
    assert_problem(res, StatusCode::CONFLICT, "survey_has_responses").await;

    let res = app
        .post(
            "/api/v1/surveys",
            Some(&staff.access_token),
            &questionnaire("shichahai"),
        )
        .await;
    let draft = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/surveys/{draft}"),
            Some(&staff.access_token),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .get(
            &format!("/api/v1/surveys/{draft}"),
            Some(&staff.access_token),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "survey_not_found").await;
}

#[tokio::test]
async fn fifty_simultaneous_submissions_by_one_resident_store_one_response() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let id = app
        .published_survey(&staff, &questionnaire("shichahai"))
        .await;
    let r = app.resident_of("o-eager", "shichahai").await;
    let attempts = (0..50).map(|_| app.answer(&r, &id, 1, json!({ "satisfied": "yes" })));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT),
        "{statuses:?}"
    );
    assert_eq!(response_count(&app, &staff, &id).await, 1);
}

#[tokio::test]
async fn a_hundred_residents_answering_at_once_are_each_counted_once() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let id = app
        .published_survey(&staff, &questionnaire("shichahai"))
        .await;
    let mut residents = Vec::new();
    for i in 0..100 {
        residents.push(app.resident_of(&format!("o-crowd-{i}"), "shichahai").await);
    }
    let answer_of = |i: usize| {
        if i.is_multiple_of(4) {
            json!({ "satisfied": "no", "why": format!("第{i}号：车位太少") })
        } else {
            json!({ "satisfied": "yes", "score": 1 + i % 5 })
        }
    };
    let answers = residents
        .iter()
        .enumerate()
        .map(|(i, r)| app.answer(r, &id, 1, answer_of(i)));
    let mut receipts = Vec::new();
    for res in futures_util::future::join_all(answers).await {
        assert_eq!(res.status(), StatusCode::CREATED);
        receipts.push(res.json::<Value>().await.unwrap());
    }

    // Every response is stored as its resident was told: its id, its time.
    let mut stored = std::collections::HashMap::new();
    let mut cursor = String::new();
    loop {
        let page: Value = app
            .get(
                &format!("/api/v1/surveys/{id}/responses?limit=40{cursor}"),
                Some(&staff.access_token),
            )
            .await
            .json()
            .await
            .unwrap();
        for r in page["items"].as_array().unwrap() {
            stored.insert(r["id"].clone(), r["submitted_at"].clone());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(stored.len(), 100);
    for receipt in &receipts {
        assert_eq!(stored[&receipt["response_id"]], receipt["submitted_at"]);
    }
    // Each resident finds her own answers.
    for i in [0, 1, 57, 99] {
        let mine: Vec<Value> = app
            .get("/api/v1/me/responses", Some(&residents[i].access_token))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(mine.len(), 1);
        let given = answer_of(i);
        assert_eq!(
            mine[0]["answers"]["satisfied"]["option"],
            given["satisfied"]
        );
        assert_eq!(mine[0]["answers"]["why"], given["why"]);
    }
    let results: Value = app
        .get(
            &format!("/api/v1/surveys/{id}/results"),
            Some(&staff.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(results["response_count"], 100);
    let satisfied = results["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["question_id"] == "satisfied")
        .unwrap();
    let count = |option: &str| {
        satisfied["options"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["option_id"] == option)
            .unwrap()["count"]
            .clone()
    };
    assert_eq!(count("yes"), 75);
    assert_eq!(count("no"), 25);
    // A second answer from any of them is still refused.
    assert_problem(
        app.answer(&residents[57], &id, 1, answer_of(57)).await,
        StatusCode::CONFLICT,
        "already_answered",
    )
    .await;
}

/// The group commit behind submissions on PostgreSQL (SQLite writes each in its own
/// transaction): a submission PostgreSQL refuses fails alone, a resident's second
/// submission in the same batch is told she already answered, and one to a survey deleted
/// meanwhile writes nothing. The answer items follow from the items job, once each.
#[tokio::test]
async fn one_refused_submission_does_not_fail_the_others_written_with_it() {
    use canyu::{
        jobs::Tick,
        surveys::writer::{NewSubmission, SubmissionWriter, Written},
    };
    let app = spawn_app().await;
    if app.pg_database.is_none() {
        assert!(app.state.submissions.is_none());
        return;
    }
    assert!(app.state.submissions.is_some());
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let survey: uuid::Uuid = app
        .published_survey(&staff, &questionnaire("shichahai"))
        .await
        .parse()
        .unwrap();
    let writer = SubmissionWriter::spawn(app.state.db.clone(), 1);
    let submission = |survey_id: uuid::Uuid, resident_id: uuid::Uuid| {
        let id = uuid::Uuid::now_v7();
        NewSubmission {
            survey_id,
            resident_id,
            keep_informed: false,
            on_day: chrono::Utc::now().date_naive(),
            answered_at: chrono::Utc::now(),
            id,
            version: 1,
            respondent_id: Some(resident_id),
            answers: r#"{"satisfied":{"option":"yes"}}"#.into(),
            submitted_at: chrono::Utc::now(),
            key: None,
        }
    };
    let residents: Vec<uuid::Uuid> =
        futures_util::future::join_all((0..20).map(|i| app.resident_of_id(format!("o-batch-{i}"))))
            .await;
    let mut batch: Vec<NewSubmission> = residents.iter().map(|r| submission(survey, *r)).collect();
    // A day before any PostgreSQL can store (it refuses the statement), the same resident
    // twice, a resident without an account, and a survey that does not exist (or no longer).
    let mut refused = submission(survey, app.resident_of_id("o-batch-refused".into()).await);
    refused.on_day = chrono::NaiveDate::from_ymd_opt(-5000, 1, 1).unwrap();
    batch.insert(7, refused);
    batch.push(submission(survey, residents[3]));
    batch.push(submission(survey, uuid::Uuid::now_v7()));
    batch.push(submission(uuid::Uuid::now_v7(), residents[1]));
    let outcomes = futures_util::future::join_all(batch.into_iter().map(|s| writer.write(s))).await;

    assert!(outcomes[7].is_err(), "{:?}", outcomes[7]);
    assert!(
        matches!(outcomes[23], Ok(Written::SurveyGone)),
        "{outcomes:?}"
    );
    let stored = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Written::Stored)))
        .count();
    assert_eq!(stored, 20, "{outcomes:?}");
    assert!(
        matches!(outcomes[21], Ok(Written::AlreadyAnswered)),
        "{outcomes:?}"
    );
    assert!(
        matches!(outcomes[22], Ok(Written::AccountGone)),
        "{outcomes:?}"
    );
    let count = |sql: &str| {
        let db = app.state.db.clone();
        let sql = sql.to_owned();
        async move {
            db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap()
                .try_get_by_index::<i64>(0)
                .unwrap()
        }
    };
    assert_eq!(
        count("SELECT count(*) FROM survey_participations").await,
        20
    );
    assert_eq!(count("SELECT count(*) FROM survey_responses").await, 20);
    let items = "SELECT count(*) FROM survey_answer_items";
    let pending = "SELECT count(*) FROM survey_responses WHERE items_pending";
    assert_eq!(count(items).await, 0);
    assert_eq!(count(pending).await, 20);
    assert_eq!(app.run_job("survey_answer_items").await, Tick::Ran);
    assert_eq!(count(items).await, 20);
    assert_eq!(count(pending).await, 0);
    // A second pass finds nothing left to write.
    assert_eq!(app.run_job("survey_answer_items").await, Tick::Ran);
    assert_eq!(count(items).await, 20);
}

#[tokio::test]
async fn a_cap_of_ten_holds_against_fifty_residents_at_once() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let mut body = questionnaire("shichahai");
    body["max_responses"] = json!(10);
    let id = app.published_survey(&staff, &body).await;
    let mut residents = Vec::new();
    for i in 0..50 {
        residents.push(app.resident_of(&format!("o-crowd-{i}"), "shichahai").await);
    }
    let attempts = residents
        .iter()
        .map(|r| app.answer(r, &id, 1, json!({ "satisfied": "yes" })));
    let responses = futures_util::future::join_all(attempts).await;
    let mut created = 0;
    for res in responses {
        match res.status() {
            StatusCode::CREATED => created += 1,
            _ => {
                assert_problem(res, StatusCode::CONFLICT, "survey_full").await;
            }
        }
    }
    assert_eq!(created, 10);
    assert_eq!(response_count(&app, &staff, &id).await, 10);
}

#[tokio::test]
async fn a_cap_added_by_a_new_version_counts_the_answers_already_given() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let body = questionnaire("shichahai");
    let id = app.published_survey(&staff, &body).await;
    // Uncapped: answers are counted from the responses, not on the survey's row.
    for i in 0..3 {
        let r = app.resident_of(&format!("o-early-{i}"), "shichahai").await;
        let res = app.answer(&r, &id, 1, json!({ "satisfied": "yes" })).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let list: Value = app
        .get("/api/v1/surveys?scope=mine", Some(&staff.access_token))
        .await
        .json()
        .await
        .unwrap();
    let row = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id.as_str())
        .unwrap();
    assert_eq!(row["response_count"], 3, "{list}");

    // Version 2 caps at four: one more place, not four.
    let mut v2 = body.clone();
    v2["max_responses"] = json!(4);
    let res = app
        .request(
            Method::PUT,
            &format!("/api/v1/surveys/{id}"),
            Some(&staff.access_token),
            Some(&v2),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .post(
            &format!("/api/v1/surveys/{id}/publish"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let fourth = app.resident_of("o-fourth", "shichahai").await;
    let res = app
        .answer(&fourth, &id, 2, json!({ "satisfied": "yes" }))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let fifth = app.resident_of("o-fifth", "shichahai").await;
    assert_problem(
        app.answer(&fifth, &id, 2, json!({ "satisfied": "yes" }))
            .await,
        StatusCode::CONFLICT,
        "survey_full",
    )
    .await;
    assert_eq!(response_count(&app, &staff, &id).await, 4);
}

#[tokio::test]
async fn anonymous_answers_carry_no_link_to_the_resident() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let mut body = questionnaire("shichahai");
    body["anonymous"] = json!(true);
    let id = app.published_survey(&staff, &body).await;
    let r = app.resident_of("o-quiet", "shichahai").await;
    let res = app
        .answer(&r, &id, 1, json!({ "satisfied": "no", "why": "不便说" }))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.json::<Value>().await.unwrap()["response_id"].is_null());
    // Still one response per resident.
    assert_problem(
        app.answer(&r, &id, 1, json!({ "satisfied": "yes" })).await,
        StatusCode::CONFLICT,
        "already_answered",
    )
    .await;

    let backend = app.state.db.get_database_backend();
    let rows = app
        .state
        .db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT respondent_id, answers FROM survey_responses",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let respondent: Option<uuid::Uuid> = rows[0].try_get("", "respondent_id").unwrap();
    assert!(respondent.is_none());
    let me = r.user["id"].as_str().unwrap();
    let answers: String = rows[0].try_get("", "answers").unwrap();
    assert!(!answers.contains(me));

    let mine: Vec<Value> = app
        .get("/api/v1/me/responses", Some(&r.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine[0]["anonymous"], true);
    assert!(mine[0]["answers"].is_null());
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_returns_the_first_answer() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let id = app
        .published_survey(&staff, &questionnaire("shichahai"))
        .await;
    let r = app.resident_of("o-flaky", "shichahai").await;
    let send_with = |key: &'static str| {
        app.client
            .post(app.url(&format!("/api/v1/surveys/{id}/responses")))
            .bearer_auth(&r.access_token)
            .header("idempotency-key", key)
            .json(&json!({ "version": 1, "answers": { "satisfied": "yes" } }))
            .send()
    };
    let send = || send_with("answer-1");
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_body = first.text().await.unwrap();
    // The receipt is kept as the key's answer (on PostgreSQL by the submission's own
    // statement, elsewhere after it), exactly as sent.
    let kept = app
        .state
        .db
        .query_one_raw(Statement::from_string(
            app.state.db.get_database_backend(),
            "SELECT state, response_status, response_content_type, response_body \
             FROM idempotency_keys WHERE key = 'answer-1'",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.try_get::<String>("", "state").unwrap(), "done");
    assert_eq!(kept.try_get::<i32>("", "response_status").unwrap(), 201);
    assert_eq!(
        kept.try_get::<String>("", "response_content_type").unwrap(),
        "application/json"
    );
    let kept_body: Vec<u8> = kept.try_get("", "response_body").unwrap();
    assert_eq!(kept_body, first_body.as_bytes());
    let retry = send().await.unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.headers()["content-type"], "application/json");
    assert_eq!(retry.text().await.unwrap(), first_body);
    // The same answers under a new key are a second submission: refused, and that refusal
    // is what the new key replays.
    let again = send_with("answer-2").await.unwrap();
    assert_problem(again, StatusCode::CONFLICT, "already_answered").await;
    let again = send_with("answer-2").await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(
        again.json::<Value>().await.unwrap()["code"],
        "already_answered"
    );
    assert_eq!(response_count(&app, &staff, &id).await, 1);
}

#[tokio::test]
async fn a_receipt_kept_before_the_client_went_away_is_still_replayed() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let id = app
        .published_survey(&staff, &questionnaire("shichahai"))
        .await;
    let r = app.resident_of("o-tunnel", "shichahai").await;
    let send = || {
        app.client
            .post(app.url(&format!("/api/v1/surveys/{id}/responses")))
            .bearer_auth(&r.access_token)
            .header("idempotency-key", "in-the-lift")
            .json(&json!({ "version": 1, "answers": { "satisfied": "yes" } }))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_body = first.text().await.unwrap();
    // What the request's guard does when its client is gone just after the write: release
    // the claim. An answered claim outlives that.
    let db = &app.state.db;
    let claim: uuid::Uuid = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id FROM idempotency_keys WHERE key = 'in-the-lift'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "id")
        .unwrap();
    canyu::idempotency::service::release(db, claim)
        .await
        .unwrap();
    let retry = send().await.unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.text().await.unwrap(), first_body);
}

/// Posts `answers` to survey `id` as `r` under `key`.
async fn answer_with_key(
    app: &TestApp,
    r: &Session,
    id: &str,
    key: &str,
    answers: Value,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/surveys/{id}/responses")))
        .bearer_auth(&r.access_token)
        .header("idempotency-key", key)
        .json(&json!({ "version": 1, "answers": answers }))
        .send()
        .await
        .unwrap()
}

async fn response_count(app: &TestApp, staff: &Session, id: &str) -> u64 {
    let view: Value = app
        .get(&format!("/api/v1/surveys/{id}"), Some(&staff.access_token))
        .await
        .json()
        .await
        .unwrap();
    view["response_count"].as_u64().unwrap()
}

#[tokio::test]
async fn ten_taps_of_submit_at_once_store_one_response_and_all_get_its_receipt() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let id = app
        .published_survey(&staff, &questionnaire("shichahai"))
        .await;
    let r = app.resident_of("o-impatient", "shichahai").await;
    let taps =
        (0..10).map(|_| answer_with_key(&app, &r, &id, "tap", json!({ "satisfied": "yes" })));
    let receipt = one_effect_of_a_burst(futures_util::future::join_all(taps).await).await;
    assert_eq!(response_count(&app, &staff, &id).await, 1);
    let late = answer_with_key(&app, &r, &id, "tap", json!({ "satisfied": "yes" })).await;
    assert_eq!(late.status(), StatusCode::CREATED);
    assert_eq!(late.headers()["idempotent-replayed"], "true");
    assert_eq!(late.text().await.unwrap(), receipt);
}

#[tokio::test]
async fn a_key_already_used_for_another_survey_is_refused_and_stores_nothing() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let first = app
        .published_survey(&staff, &questionnaire("shichahai"))
        .await;
    let second = app
        .published_survey(&staff, &questionnaire("shichahai"))
        .await;
    let r = app.resident_of("o-reuser", "shichahai").await;
    let res = answer_with_key(&app, &r, &first, "same-key", json!({ "satisfied": "yes" })).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = answer_with_key(&app, &r, &second, "same-key", json!({ "satisfied": "yes" })).await;
    let problem = assert_problem(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    assert_eq!(fields(&problem), vec!["Idempotency-Key"]);
    assert_eq!(response_count(&app, &staff, &second).await, 0);
    // With a key of its own it goes through.
    let res = answer_with_key(
        &app,
        &r,
        &second,
        "other-key",
        json!({ "satisfied": "yes" }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(response_count(&app, &staff, &second).await, 1);
}

#[tokio::test]
async fn a_capped_survey_replays_a_retry_and_counts_it_once() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let mut body = questionnaire("shichahai");
    body["max_responses"] = json!(2);
    let id = app.published_survey(&staff, &body).await;
    let r = app.resident_of("o-capped", "shichahai").await;
    let first = answer_with_key(&app, &r, &id, "capped-1", json!({ "satisfied": "yes" })).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_body = first.text().await.unwrap();
    let retries =
        (0..3).map(|_| answer_with_key(&app, &r, &id, "capped-1", json!({ "satisfied": "yes" })));
    for retry in futures_util::future::join_all(retries).await {
        assert_eq!(retry.status(), StatusCode::CREATED);
        assert_eq!(retry.headers()["idempotent-replayed"], "true");
        assert_eq!(retry.text().await.unwrap(), first_body);
    }
    assert_eq!(response_count(&app, &staff, &id).await, 1);
    // The cap still counts one: a second resident fills it, a third is refused.
    let other = app.resident_of("o-capped-2", "shichahai").await;
    let res = answer_with_key(&app, &other, &id, "capped-2", json!({ "satisfied": "yes" })).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let third = app.resident_of("o-capped-3", "shichahai").await;
    let res = answer_with_key(&app, &third, &id, "capped-3", json!({ "satisfied": "yes" })).await;
    assert_problem(res, StatusCode::CONFLICT, "survey_full").await;
}

#[tokio::test]
async fn the_questionnaire_is_served_from_cache_after_the_first_load() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let id = app
        .published_survey(&staff, &questionnaire("shichahai"))
        .await;
    let r = app.resident_of("o-hot", "shichahai").await;
    let path = format!("/api/v1/surveys/{id}");
    let burst = (0..20).map(|_| app.get(&path, Some(&r.access_token)));
    let answers = futures_util::future::join_all(burst).await;
    let misses = answers
        .iter()
        .filter(|r| r.headers().get("x-cache").is_some_and(|v| v == "miss"))
        .count();
    assert!(
        misses <= 1,
        "{misses} loads from the database under a burst"
    );
    let res = app
        .get(&format!("/api/v1/surveys/{id}"), Some(&r.access_token))
        .await;
    assert_eq!(res.headers()["x-cache"], "hit");
}

#[tokio::test]
async fn a_deleted_account_leaves_its_answers_only_in_anonymous_form() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let id = app
        .published_survey(&staff, &questionnaire("shichahai"))
        .await;
    let r = app.resident_of("o-leaving", "shichahai").await;
    app.answer(&r, &id, 1, json!({ "satisfied": "no", "why": "太吵" }))
        .await;
    let export: Value = app
        .get("/api/v1/me/data-export", Some(&r.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(export["survey_responses"][0]["answers"]["why"], "太吵");

    let res = app
        .request(Method::DELETE, "/api/v1/me", Some(&r.access_token), None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    let backend = app.state.db.get_database_backend();
    let rows = app
        .state
        .db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT respondent_id, answers FROM survey_responses",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "the answer still counts");
    assert!(
        rows[0]
            .try_get::<Option<uuid::Uuid>>("", "respondent_id")
            .unwrap()
            .is_none()
    );
    let parts = app
        .state
        .db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT resident_id FROM survey_participations",
        ))
        .await
        .unwrap();
    assert!(parts.is_empty());
    assert_eq!(response_count(&app, &staff, &id).await, 1);
}

#[tokio::test]
async fn an_account_deleted_under_a_token_that_still_verifies_answers_nothing() {
    let app = spawn_app().await;
    let staff = app.staff_of("shi.gong", "shichahai").await;
    let mut district_wide = questionnaire("shichahai");
    district_wide["audience"] = json!([]);
    let surveys = [
        app.published_survey(&staff, &district_wide).await,
        app.published_survey(&staff, &questionnaire("shichahai"))
            .await,
    ];
    let r = app.resident_of("o-gone", "shichahai").await;
    let res = app
        .request(Method::DELETE, "/api/v1/me", Some(&r.access_token), None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    // A token of hers that no revocation names (issued elsewhere, its mark lost): the
    // account itself refuses it, on a survey open to the whole district as on her own
    // sub-district's.
    let now = chrono::Utc::now().timestamp();
    let token = app.mint_token(&json!({
        "sub": r.user["id"], "role": "resident",
        "iat": now, "exp": now + 600, "jti": uuid::Uuid::now_v7(),
    }));
    let gone = Session {
        access_token: token,
        ..r
    };
    for survey in &surveys {
        let res = app
            .answer(&gone, survey, 1, json!({ "satisfied": "yes" }))
            .await;
        assert_problem(res, StatusCode::UNAUTHORIZED, "token_revoked").await;
        let view: Value = app
            .get(
                &format!("/api/v1/surveys/{survey}"),
                Some(&staff.access_token),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(view["response_count"], 0, "nothing was written");
    }
}

/// A questionnaire with every question type.
fn every_type() -> Value {
    json!({
        "title": "全题型问卷", "org_unit": "xicheng",
        "pages": [ { "id": "p1", "questions": [
            { "id": "single", "type": "single", "title": "单选",
              "options": [ {"id": "a", "label": "甲"}, {"id": "b", "label": "乙"}, {"id": "o", "label": "其他", "other": true, "other_required": true} ] },
            { "id": "multi", "type": "multi", "title": "多选", "max_select": 2,
              "options": [ {"id": "a", "label": "甲"}, {"id": "b", "label": "乙"}, {"id": "c", "label": "丙"}, {"id": "none", "label": "都不", "exclusive": true} ] },
            { "id": "dropdown", "type": "dropdown", "title": "下拉", "options": [ {"id": "x", "label": "X"}, {"id": "y", "label": "Y"} ] },
            { "id": "mobile", "type": "text", "title": "手机", "format": "mobile" },
            { "id": "idcard", "type": "text", "title": "身份证", "format": "id_card" },
            { "id": "email", "type": "text", "title": "邮箱", "format": "email" },
            { "id": "short", "type": "text", "title": "简答", "min_len": 2, "max_len": 5 },
            { "id": "number", "type": "number", "title": "数字", "min": 0, "max": 10, "integer": true },
            { "id": "nps", "type": "scale", "title": "NPS", "min": 0, "max": 10, "nps": true },
            { "id": "matrix", "type": "matrix", "title": "矩阵", "rows": [ {"id": "r1", "label": "行1"} ],
              "options": [ {"id": "g", "label": "好"}, {"id": "b", "label": "差"} ] },
            { "id": "ranking", "type": "ranking", "title": "排序", "options": [ {"id": "a", "label": "甲"}, {"id": "b", "label": "乙"} ] },
            { "id": "date", "type": "date", "title": "日期", "min": "2020-01-01", "max": "2030-12-31" },
            { "id": "region", "type": "region", "title": "地区" },
            { "id": "note", "type": "note", "title": "说明" }
        ]}]
    })
}

#[tokio::test]
async fn every_question_type_accepts_good_answers_and_names_each_bad_one() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let id = app.published_survey(&admin, &every_type()).await;
    let r = app.resident_of("o-all-types", "desheng").await;

    let bad = json!({
        "single": "z", "multi": ["a", "none"], "dropdown": ["x"], "mobile": "12345",
        "idcard": "110105194912310021", "email": "not-an-email", "short": "太长了太长了",
        "number": 3.5, "nps": 11, "matrix": { "r1": "meh" }, "ranking": ["a"],
        "date": "2031-01-01", "region": { "sub_district": "haidian" }, "note": "x"
    });
    let res = app.answer(&r, &id, 1, bad).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        fields(&problem),
        [
            "date",
            "dropdown",
            "email",
            "idcard",
            "matrix.r1",
            "mobile",
            "multi",
            "note",
            "nps",
            "number",
            "ranking",
            "region.sub_district",
            "short",
            "single"
        ]
    );
    // "Other" needs its text.
    let res = app.answer(&r, &id, 1, json!({ "single": "o" })).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&problem), ["single.other_text"]);

    let good = json!({
        "single": { "option": "o", "other_text": "自己填写" }, "multi": ["a", "c"], "dropdown": "y",
        "mobile": "13812345678", "idcard": "11010519491231002X", "email": "li@xicheng.gov.cn",
        "short": "很好", "number": 7, "nps": 10, "matrix": { "r1": "g" }, "ranking": ["b", "a"],
        "date": "2026-11-27", "region": { "sub_district": "desheng", "community": "德胜里社区" }
    });
    let res = app.answer(&r, &id, 1, good).await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let mine: Vec<Value> = app
        .get("/api/v1/me/responses", Some(&r.access_token))
        .await
        .json()
        .await
        .unwrap();
    let stored = &mine[0]["answers"];
    assert_eq!(stored["single"]["other_text"], "自己填写");
    assert_eq!(stored["multi"]["options"], json!(["a", "c"]));
    assert_eq!(stored["ranking"], json!(["b", "a"]));
    assert_eq!(stored["region"]["sub_district"], "desheng");
    assert_eq!(stored["date"], "2026-11-27");
}
