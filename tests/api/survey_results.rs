//! Results, cross-tabs and exports on a known set of answers.

use canyu::jobs::Tick;
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, assert_problem, spawn_app};

fn questionnaire() -> Value {
    json!({
        "title": "社区服务综合调查",
        "org_unit": "xicheng",
        "pages": [ { "id": "p1", "questions": [
            { "id": "satisfied", "type": "single", "title": "总体满意吗", "required": true,
              "options": [ {"id": "yes", "label": "满意"}, {"id": "no", "label": "不满意"} ] },
            { "id": "topics", "type": "multi", "title": "关心的话题",
              "options": [ {"id": "parking", "label": "停车"}, {"id": "greening", "label": "绿化"},
                           {"id": "elderly", "label": "养老"}, {"id": "other", "label": "其他", "other": true} ] },
            { "id": "score", "type": "scale", "title": "打分", "min": 1, "max": 5 },
            { "id": "nps", "type": "scale", "title": "推荐给邻居", "min": 0, "max": 10, "nps": true },
            { "id": "grid", "type": "matrix", "title": "各项评价",
              "rows": [ {"id": "r1", "label": "环境"}, {"id": "r2", "label": "服务"} ],
              "options": [ {"id": "good", "label": "好"}, {"id": "bad", "label": "差"} ] },
            { "id": "rank", "type": "ranking", "title": "优先顺序",
              "options": [ {"id": "a", "label": "甲"}, {"id": "b", "label": "乙"}, {"id": "c", "label": "丙"} ] },
            { "id": "comment", "type": "text", "title": "其他意见" }
        ]}]
    })
}

struct Fixture {
    app: TestApp,
    admin: Session,
    id: String,
}

/// Four residents, two in 什刹海 and two in 牛街, answer version 1.
async fn answered() -> Fixture {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let id = app.published_survey(&admin, &questionnaire()).await;
    let answers = [
        (
            "o-r1",
            "shichahai",
            json!({ "satisfied": "yes", "topics": ["parking", "greening"], "score": 5, "nps": 10,
                                       "grid": { "r1": "good", "r2": "bad" }, "rank": ["a", "b", "c"], "comment": "好" }),
        ),
        (
            "o-r2",
            "shichahai",
            json!({ "satisfied": "no", "topics": ["parking"], "score": 3, "nps": 6,
                                       "grid": { "r1": "bad", "r2": "bad" }, "rank": ["b", "a", "c"] }),
        ),
        (
            "o-r3",
            "niujie",
            json!({ "satisfied": "yes", "topics": { "options": ["other"], "other_text": "噪音" }, "score": 4, "nps": 9 }),
        ),
        (
            "o-r4",
            "niujie",
            json!({ "satisfied": "yes", "topics": ["greening", "elderly"], "score": 4, "nps": 8 }),
        ),
    ];
    for (openid, sub, a) in answers {
        let r = app.resident_of(openid, sub).await;
        let res = app.answer(&r, &id, 1, a).await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap_or_default()
        );
    }
    Fixture { app, admin, id }
}

fn question<'a>(results: &'a Value, id: &str) -> &'a Value {
    results["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["question_id"] == id)
        .unwrap_or_else(|| panic!("{id} missing from {results}"))
}

fn option<'a>(q: &'a Value, id: &str) -> &'a Value {
    q["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["option_id"] == id)
        .unwrap()
}

#[tokio::test]
async fn results_count_each_option_and_summarise_numbers() {
    let f = answered().await;
    let res = f
        .app
        .get(
            &format!("/api/v1/surveys/{}/results", f.id),
            Some(&f.admin.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let r: Value = res.json().await.unwrap();
    assert_eq!(r["response_count"], 4);
    assert_eq!(
        r["completion"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["count"].as_i64().unwrap())
            .sum::<i64>(),
        4
    );

    let s = question(&r, "satisfied");
    assert_eq!(s["answered"], 4);
    assert_eq!(option(s, "yes")["count"], 3);
    assert_eq!(option(s, "yes")["share"], 0.75);
    assert_eq!(option(s, "yes")["label"], "满意");
    assert_eq!(option(s, "no")["count"], 1);

    // Multi-choice counts each option chosen, not combinations.
    let t = question(&r, "topics");
    assert_eq!(option(t, "parking")["count"], 2);
    assert_eq!(option(t, "parking")["share"], 0.5);
    assert_eq!(option(t, "greening")["count"], 2);
    assert_eq!(option(t, "elderly")["count"], 1);
    assert_eq!(option(t, "other")["count"], 1);
    assert_eq!(t["other_texts"], 1);

    let score = &question(&r, "score")["stats"];
    assert_eq!(score["min"], 3.0);
    assert_eq!(score["max"], 5.0);
    assert_eq!(score["mean"], 4.0);
    assert_eq!(score["median"], 4.0);
    assert_eq!(
        score["distribution"],
        json!([ {"value": 3.0, "count": 1}, {"value": 4.0, "count": 2}, {"value": 5.0, "count": 1} ])
    );

    let nps = &question(&r, "nps")["nps"];
    assert_eq!(nps["promoters"], 2);
    assert_eq!(nps["passives"], 1);
    assert_eq!(nps["detractors"], 1);
    assert_eq!(nps["score"], 25.0);

    let grid = &question(&r, "grid")["rows"];
    assert_eq!(grid[0]["row_id"], "r1");
    assert_eq!(option(&grid[0], "good")["count"], 1);
    assert_eq!(option(&grid[0], "bad")["count"], 1);
    assert_eq!(option(&grid[1], "bad")["count"], 2);
    assert_eq!(option(&grid[1], "bad")["share"], 1.0);

    let rank = question(&r, "rank")["ranking"].as_array().unwrap().clone();
    let mean = |id: &str| {
        rank.iter().find(|x| x["option_id"] == id).unwrap()["mean_position"]
            .as_f64()
            .unwrap()
    };
    assert_eq!((mean("a"), mean("b"), mean("c")), (1.5, 1.5, 3.0));

    assert_eq!(question(&r, "comment")["text_count"], 1);
}

#[tokio::test]
async fn the_cross_tab_by_sub_district_and_by_a_single_choice_question() {
    let f = answered().await;
    let token = Some(f.admin.access_token.as_str());
    let r: Value = f
        .app
        .get(
            &format!("/api/v1/surveys/{}/results?group_by=sub_district", f.id),
            token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["group_by"], "sub_district");
    let groups = r["groups"].as_array().unwrap();
    let shichahai = groups.iter().find(|g| g["key"] == "shichahai").unwrap();
    assert_eq!(shichahai["label"], "什刹海街道");
    assert_eq!(shichahai["response_count"], 2);
    let s = question(shichahai, "satisfied");
    assert_eq!(option(s, "yes")["count"], 1);
    assert_eq!(option(s, "no")["count"], 1);
    let niujie = groups.iter().find(|g| g["key"] == "niujie").unwrap();
    assert_eq!(option(question(niujie, "satisfied"), "yes")["count"], 2);

    let r: Value = f
        .app
        .get(
            &format!("/api/v1/surveys/{}/results?group_by=satisfied", f.id),
            token,
        )
        .await
        .json()
        .await
        .unwrap();
    let yes = r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "yes")
        .unwrap();
    assert_eq!(yes["label"], "满意");
    assert_eq!(yes["response_count"], 3);
    assert_eq!(question(yes, "score")["stats"]["mean"], 4.33);

    let res = f
        .app
        .get(
            &format!("/api/v1/surveys/{}/results?group_by=topics", f.id),
            token,
        )
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_query").await;
}

#[tokio::test]
async fn answers_to_two_versions_aggregate_by_stable_ids_and_export_with_their_own_labels() {
    let f = answered().await;
    let token = Some(f.admin.access_token.as_str());
    let mut v2 = questionnaire();
    v2["pages"][0]["questions"][0]["options"] = json!([
        {"id": "yes", "label": "非常满意"}, {"id": "no", "label": "不满意"}, {"id": "unsure", "label": "说不清"} ]);
    f.app
        .request(
            Method::PUT,
            &format!("/api/v1/surveys/{}", f.id),
            token,
            Some(&v2),
        )
        .await;
    f.app
        .post(
            &format!("/api/v1/surveys/{}/publish", f.id),
            token,
            &json!({}),
        )
        .await;
    let r5 = f.app.resident_of("o-r5", "desheng").await;
    assert_eq!(
        f.app
            .answer(&r5, &f.id, 2, json!({ "satisfied": "unsure" }))
            .await
            .status(),
        StatusCode::CREATED
    );
    let r6 = f.app.resident_of("o-r6", "desheng").await;
    assert_eq!(
        f.app
            .answer(&r6, &f.id, 2, json!({ "satisfied": "yes" }))
            .await
            .status(),
        StatusCode::CREATED
    );

    let r: Value = f
        .app
        .get(&format!("/api/v1/surveys/{}/results", f.id), token)
        .await
        .json()
        .await
        .unwrap();
    let s = question(&r, "satisfied");
    assert_eq!(s["answered"], 6);
    assert_eq!(option(s, "yes")["count"], 4);
    assert_eq!(option(s, "unsure")["count"], 1);
    assert_eq!(
        option(s, "yes")["label"],
        "非常满意",
        "results show the current label"
    );

    let res = f
        .app
        .get(
            &format!("/api/v1/surveys/{}/export?format=csv", f.id),
            token,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM for Excel and WPS");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.starts_with(name))
            .unwrap_or_else(|| panic!("{name} not in {headers:?}"))
    };
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 6);
    let labels: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                &r[col("version")],
                &r[col("satisfied ")],
                &r[col("satisfied_code")],
            )
        })
        .collect();
    assert!(
        labels.contains(&("1", "满意", "yes")),
        "v1 answers keep v1 labels: {labels:?}"
    );
    assert!(labels.contains(&("2", "非常满意", "yes")));
    assert!(labels.contains(&("2", "说不清", "unsure")));
    // Multi-choice: one column per option.
    let parking = col("topics[parking]");
    assert_eq!(rows.iter().filter(|r| &r[parking] == "1").count(), 2);
    let other = col("topics_other");
    assert!(rows.iter().any(|r| &r[other] == "噪音"));
}

#[tokio::test]
async fn an_xlsx_export_is_a_workbook() {
    let f = answered().await;
    let res = f
        .app
        .get(
            &format!("/api/v1/surveys/{}/export?format=xlsx", f.id),
            Some(&f.admin.access_token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "a zip container");
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("xl/worksheets/sheet1.xml"));
    let res = f
        .app
        .get(
            &format!("/api/v1/surveys/{}/export?format=pdf", f.id),
            Some(&f.admin.access_token),
        )
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_query").await;
}

#[tokio::test]
async fn staff_read_responses_a_page_at_a_time_and_outsiders_cannot() {
    let f = answered().await;
    let token = Some(f.admin.access_token.as_str());
    let first: Value = f
        .app
        .get(
            &format!("/api/v1/surveys/{}/responses?limit=3", f.id),
            token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest: Value = f
        .app
        .get(
            &format!("/api/v1/surveys/{}/responses?limit=3&cursor={cursor}", f.id),
            token,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    let all: Vec<Value> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest["items"].as_array().unwrap())
        .cloned()
        .collect();
    assert!(all.iter().any(|r| r["answers"]["comment"] == "好"));

    let other = f.app.staff_of("niu.gong", "niujie").await;
    let res = f
        .app
        .get(
            &format!("/api/v1/surveys/{}/results", f.id),
            Some(&other.access_token),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;
    let resident = f.app.resident_of("o-curious", "niujie").await;
    let res = f
        .app
        .get(
            &format!("/api/v1/surveys/{}/export?format=csv", f.id),
            Some(&resident.access_token),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "staff_only").await;
}

/// On PostgreSQL a burst's answer items are written behind it (`surveys::items`): staff who
/// look at once still see every answer, and the items job writing them later counts none
/// twice.
#[tokio::test]
async fn a_burst_is_counted_in_full_the_moment_staff_look_and_never_twice() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let id = app.published_survey(&admin, &questionnaire()).await;
    let mut residents = Vec::new();
    for i in 0..18 {
        let sub = if i % 2 == 0 { "shichahai" } else { "niujie" };
        residents.push(app.resident_of(&format!("o-burst-{i}"), sub).await);
    }
    let answer_of = |i: usize| {
        json!({ "satisfied": if i.is_multiple_of(3) { "no" } else { "yes" }, "topics": ["parking"],
                "score": 1 + (i % 5), "grid": { "r1": "good" } })
    };
    let burst = |range: std::ops::Range<usize>| {
        let (app, id, residents) = (&app, &id, &residents);
        futures_util::future::join_all(
            range.map(move |i| async move { app.answer(&residents[i], id, 1, answer_of(i)).await }),
        )
    };
    for res in burst(0..12).await {
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let results = |group_by: &'static str| {
        let (app, id, admin) = (&app, &id, &admin);
        async move {
            let res = app
                .get(
                    &format!("/api/v1/surveys/{id}/results{group_by}"),
                    Some(&admin.access_token),
                )
                .await;
            assert_eq!(res.status(), StatusCode::OK);
            res.json::<Value>().await.unwrap()
        }
    };
    let first = results("").await;
    assert_eq!(first["response_count"], 12);
    let s = question(&first, "satisfied");
    assert_eq!(option(s, "yes")["count"], 8);
    assert_eq!(option(s, "no")["count"], 4);
    assert_eq!(option(question(&first, "topics"), "parking")["count"], 12);
    assert_eq!(
        option(&question(&first, "grid")["rows"][0], "good")["count"],
        12
    );

    // More answers; the job runs; a fresh computation (grouped: not the cached one).
    for res in burst(12..18).await {
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    assert_eq!(app.run_job("survey_answer_items").await, Tick::Ran);
    let pending = app
        .state
        .db
        .query_one_raw(Statement::from_string(
            app.state.db.get_database_backend(),
            "SELECT count(*) FROM survey_responses WHERE items_pending",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap();
    assert_eq!(pending, 0);
    let grouped = results("?group_by=sub_district").await;
    assert_eq!(grouped["response_count"], 18);
    let s = question(&grouped, "satisfied");
    assert_eq!(option(s, "yes")["count"], 12);
    assert_eq!(option(s, "no")["count"], 6);
    assert_eq!(option(question(&grouped, "topics"), "parking")["count"], 18);
    let groups = grouped["groups"].as_array().unwrap();
    assert_eq!(
        groups
            .iter()
            .map(|g| g["response_count"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![9, 9]
    );
}
