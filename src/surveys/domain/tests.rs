//! The rules, one by one, on a questionnaire that uses every question type.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Definition, check_definition, validate_answers};

fn def(v: Value) -> Definition {
    serde_json::from_value(v).expect("definition parses")
}

fn full() -> Definition {
    def(json!({ "pages": [
        { "id": "p1", "questions": [
            { "id": "age", "type": "single", "title": "年龄段", "required": true,
              "options": [ {"id":"young","label":"18-35"}, {"id":"mid","label":"36-59"}, {"id":"old","label":"60+"} ] },
            { "id": "topics", "type": "multi", "title": "关心的话题", "min_select": 1, "max_select": 2,
              "options": [ {"id":"parking","label":"停车"}, {"id":"greening","label":"绿化"},
                           {"id":"elderly","label":"养老"}, {"id":"other","label":"其他","other":true,"other_required":true},
                           {"id":"none","label":"都不关心","exclusive":true} ] },
            { "id": "district", "type": "dropdown", "title": "所在片区",
              "options": [ {"id":"n","label":"北"}, {"id":"s","label":"南"} ] },
            { "id": "phone", "type": "text", "title": "联系电话", "format": "mobile" },
            { "id": "comment", "type": "text", "title": "意见", "long": true, "min_len": 2, "max_len": 10 },
            { "id": "code", "type": "text", "title": "楼号", "pattern": "[0-9]{1,3}号楼" },
            { "id": "years", "type": "number", "title": "居住年限", "min": 0, "max": 100, "integer": true },
            { "id": "rent", "type": "number", "title": "房租", "min": 0, "step": 0.5 },
            { "id": "nps", "type": "scale", "title": "推荐意愿", "min": 0, "max": 10, "nps": true },
            { "id": "grid", "type": "matrix", "title": "满意度", "required": true,
              "rows": [ {"id":"r1","label":"环境"}, {"id":"r2","label":"服务"} ],
              "options": [ {"id":"good","label":"满意"}, {"id":"bad","label":"不满意"} ] },
            { "id": "rank", "type": "ranking", "title": "优先顺序", "top_k": 2,
              "options": [ {"id":"a","label":"甲"}, {"id":"b","label":"乙"}, {"id":"c","label":"丙"} ] },
            { "id": "moved", "type": "date", "title": "入住日期", "min": "1950-01-01", "max": "2026-12-31" },
            { "id": "where", "type": "region", "title": "居住地" },
            { "id": "info", "type": "note", "title": "以下为老年人专项" }
        ]},
        { "id": "p2", "visible_if": { "q": "age", "op": "eq", "v": "old" }, "questions": [
            { "id": "care", "type": "single", "title": "是否需要助餐", "required": true,
              "options": [ {"id":"yes","label":"需要"}, {"id":"no","label":"不需要"} ] },
            { "id": "care_why", "type": "text", "title": "原因",
              "visible_if": { "all": [ { "q": "care", "op": "eq", "v": "yes" },
                                       { "not": { "q": "topics", "op": "selected_any", "v": ["none"] } } ] } }
        ]}
    ]}))
}

fn subs(code: &str) -> bool {
    matches!(code, "shichahai" | "niujie")
}

fn minimal() -> serde_json::Map<String, Value> {
    json!({ "age": "young", "grid": { "r1": "good", "r2": "bad" } })
        .as_object()
        .cloned()
        .expect("object")
}

/// The fields at fault when `answers` (merged over a minimal valid submission) is submitted.
fn faults(answers: Value) -> Vec<String> {
    let mut raw = minimal();
    for (k, v) in answers.as_object().expect("object") {
        raw.insert(k.clone(), v.clone());
    }
    match validate_answers(&full().pages, &raw, &subs) {
        Ok(_) => vec![],
        Err(problems) => problems.into_iter().map(|p| p.field).collect(),
    }
}

/// The stored form is canonical JSON with sorted keys: what submissions stored before it was
/// written straight out (without a `serde_json::Value` first) reads the same, to the byte.
#[test]
fn accepted_answers_are_stored_in_their_canonical_form() {
    let mut raw = minimal();
    let given = json!({
        "age": "old", "district": "s", "comment": " 路灯 太暗 ",
        "years": 12, "rent": 2.5, "nps": 9, "rank": ["b", "a"], "moved": "2001-09-30",
        "where": { "sub_district": "niujie" }, "care": "yes", "care_why": "行动不便"
    });
    for (k, v) in given.as_object().expect("object") {
        raw.insert(k.clone(), v.clone());
    }
    raw.insert(
        "topics".into(),
        json!({ "options": ["other", "parking"], "other_text": "噪音" }),
    );
    let accepted = validate_answers(&full().pages, &raw, &subs).expect("valid");
    let stored = accepted.to_stored().expect("serialises");
    assert_eq!(
        stored,
        r#"{"age":{"option":"old"},"care":{"option":"yes"},"care_why":"行动不便","comment":"路灯 太暗","district":{"option":"s"},"grid":{"r1":["good"],"r2":["bad"]},"moved":"2001-09-30","nps":9.0,"rank":["b","a"],"rent":2.5,"topics":{"options":["other","parking"],"other_text":"噪音"},"where":{"community":null,"sub_district":"niujie"},"years":12.0}"#
    );
    // And it replays to the same answers.
    let again: serde_json::Map<String, Value> = serde_json::from_str(&stored).expect("json");
    assert_eq!(validate_answers(&full().pages, &again, &subs), Ok(accepted));
}

#[test]
fn the_full_definition_is_publishable() {
    assert_eq!(check_definition(&full(), &HashMap::new()), vec![]);
}

#[test]
fn a_minimal_submission_is_accepted() {
    assert_eq!(faults(json!({})), Vec::<String>::new());
}

#[test]
fn required_questions_must_be_answered() {
    let raw = serde_json::Map::new();
    let err = validate_answers(&full().pages, &raw, &subs).unwrap_err();
    let fields: Vec<_> = err.iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields, ["age", "grid"]);
}

#[test]
fn single_and_dropdown() {
    assert!(faults(json!({ "age": "old", "care": "no" })).is_empty());
    assert!(faults(json!({ "age": { "option": "mid" } })).is_empty());
    assert_eq!(faults(json!({ "age": "ancient" })), ["age"]);
    assert_eq!(faults(json!({ "age": 3 })), ["age"]);
    assert!(faults(json!({ "district": "n" })).is_empty());
    assert_eq!(faults(json!({ "district": ["n"] })), ["district"]);
}

#[test]
fn multi_choice_rules() {
    assert!(faults(json!({ "topics": ["parking", "greening"] })).is_empty());
    assert_eq!(
        faults(json!({ "topics": ["parking", "greening", "elderly"] })),
        ["topics"],
        "max 2"
    );
    assert_eq!(
        faults(json!({ "topics": ["parking", "parking"] })),
        ["topics"]
    );
    assert_eq!(faults(json!({ "topics": ["parking", "nope"] })), ["topics"]);
    // Exclusive: alone only.
    assert!(faults(json!({ "topics": ["none"] })).is_empty());
    assert_eq!(faults(json!({ "topics": ["none", "parking"] })), ["topics"]);
    // Other with required text.
    assert_eq!(
        faults(json!({ "topics": ["other"] })),
        ["topics.other_text"]
    );
    assert!(faults(json!({ "topics": { "options": ["other"], "other_text": "噪音" } })).is_empty());
    assert_eq!(
        faults(json!({ "topics": { "options": ["parking"], "other_text": "噪音" } })),
        ["topics.other_text"]
    );
}

#[test]
fn text_lengths_and_formats() {
    assert!(faults(json!({ "phone": "13812345678" })).is_empty());
    assert_eq!(faults(json!({ "phone": "12345" })), ["phone"]);
    assert!(faults(json!({ "comment": "很好的" })).is_empty());
    assert_eq!(faults(json!({ "comment": "好" })), ["comment"], "min_len 2");
    assert_eq!(
        faults(json!({ "comment": "一二三四五六七八九十一" })),
        ["comment"],
        "max_len 10"
    );
    assert!(faults(json!({ "code": "12号楼" })).is_empty());
    assert_eq!(
        faults(json!({ "code": "12号楼x" })),
        ["code"],
        "pattern is anchored"
    );
    assert_eq!(faults(json!({ "phone": 13812345678u64 })), ["phone"]);
}

#[test]
fn id_cards_and_emails() {
    let d = def(json!({ "pages": [ { "id": "p", "questions": [
        { "id": "id", "type": "text", "title": "身份证", "format": "id_card" },
        { "id": "mail", "type": "text", "title": "邮箱", "format": "email" } ] } ] }));
    let ok = json!({ "id": "11010519491231002X", "mail": "a@b.cn" });
    assert!(validate_answers(&d.pages, ok.as_object().expect("o"), &subs).is_ok());
    let bad = json!({ "id": "110105194912310021", "mail": "a@b" });
    let err = validate_answers(&d.pages, bad.as_object().expect("o"), &subs).unwrap_err();
    assert_eq!(err.len(), 2);
}

#[test]
fn numbers_and_scales() {
    assert!(faults(json!({ "years": 12 })).is_empty());
    assert_eq!(faults(json!({ "years": 12.5 })), ["years"], "integer");
    assert_eq!(faults(json!({ "years": 101 })), ["years"]);
    assert_eq!(faults(json!({ "years": -1 })), ["years"]);
    assert_eq!(faults(json!({ "years": "12" })), ["years"]);
    assert!(faults(json!({ "rent": 2.5 })).is_empty());
    assert_eq!(faults(json!({ "rent": 2.3 })), ["rent"], "step 0.5");
    assert!(faults(json!({ "nps": 0 })).is_empty());
    assert!(faults(json!({ "nps": 10 })).is_empty());
    assert_eq!(faults(json!({ "nps": 11 })), ["nps"]);
    assert_eq!(faults(json!({ "nps": 7.5 })), ["nps"]);
}

#[test]
fn matrices_row_by_row() {
    assert_eq!(
        faults(json!({ "grid": { "r1": "good" } })),
        ["grid.r2"],
        "required: every row"
    );
    assert_eq!(
        faults(json!({ "grid": { "r1": "good", "r2": "meh" } })),
        ["grid.r2"]
    );
    assert_eq!(
        faults(json!({ "grid": { "r1": "good", "r2": "bad", "r9": "good" } })),
        ["grid.r9"]
    );
    assert_eq!(
        faults(json!({ "grid": { "r1": ["good", "bad"], "r2": "bad" } })),
        ["grid.r1"],
        "single per row"
    );
    // The stored form keeps each row as a list: a list of one reads back as that choice.
    assert!(faults(json!({ "grid": { "r1": ["good"], "r2": "bad" } })).is_empty());
}

#[test]
fn rankings_top_k() {
    assert!(faults(json!({ "rank": ["c", "a"] })).is_empty());
    assert_eq!(faults(json!({ "rank": ["c"] })), ["rank"]);
    assert_eq!(faults(json!({ "rank": ["c", "c"] })), ["rank"]);
    assert_eq!(faults(json!({ "rank": ["c", "z"] })), ["rank"]);
}

#[test]
fn dates_within_bounds() {
    assert!(faults(json!({ "moved": "2001-05-01" })).is_empty());
    assert_eq!(faults(json!({ "moved": "1949-12-31" })), ["moved"]);
    assert_eq!(faults(json!({ "moved": "2001/05/01" })), ["moved"]);
}

#[test]
fn regions_name_a_sub_district() {
    assert!(
        faults(json!({ "where": { "sub_district": "shichahai", "community": "前海社区" } }))
            .is_empty()
    );
    assert_eq!(
        faults(json!({ "where": { "sub_district": "chaoyang" } })),
        ["where.sub_district"]
    );
    assert_eq!(
        faults(json!({ "where": { "sub_district": "niujie", "community": "长".repeat(41) } })),
        ["where.community"]
    );
}

#[test]
fn notes_and_unknown_questions_take_no_answer() {
    assert_eq!(faults(json!({ "info": "x" })), ["info"]);
    assert_eq!(faults(json!({ "ghost": 1 })), ["ghost"]);
}

#[test]
fn page_visibility_follows_earlier_answers() {
    // p2 is hidden unless age == old: answering it is refused...
    assert_eq!(faults(json!({ "care": "yes" })), ["care"]);
    // ...and when shown, its required question must be answered.
    assert_eq!(faults(json!({ "age": "old" })), ["care"]);
    assert!(faults(json!({ "age": "old", "care": "no" })).is_empty());
}

#[test]
fn nested_all_and_not_conditions() {
    // care_why shows only when care == yes and "none" was not selected among topics.
    assert!(faults(json!({ "age": "old", "care": "yes", "care_why": "腿脚不便" })).is_empty());
    assert_eq!(
        faults(json!({ "age": "old", "care": "no", "care_why": "腿脚不便" })),
        ["care_why"]
    );
    assert_eq!(
        faults(json!({ "age": "old", "care": "yes", "topics": ["none"], "care_why": "x" })),
        ["care_why"]
    );
}

#[test]
fn any_and_comparison_operators() {
    let d = def(json!({ "pages": [ { "id": "p", "questions": [
        { "id": "n", "type": "number", "title": "n" },
        { "id": "t", "type": "text", "title": "t" },
        { "id": "d", "type": "date", "title": "d" },
        { "id": "x", "type": "text", "title": "x", "visible_if": { "any": [
            { "q": "n", "op": "gte", "v": 10 },
            { "q": "t", "op": "contains", "v": "噪音" },
            { "q": "d", "op": "lt", "v": "2000-01-01" } ] } },
        { "id": "y", "type": "text", "title": "y", "visible_if": { "q": "t", "op": "empty" } }
    ] } ] }));
    let check = |v: Value| validate_answers(&d.pages, v.as_object().expect("o"), &subs).is_ok();
    assert!(check(json!({ "n": 10, "x": "ok" })));
    assert!(!check(json!({ "n": 9, "x": "ok" })));
    assert!(check(json!({ "t": "夜间噪音大", "x": "ok" })));
    assert!(check(json!({ "d": "1999-12-31", "x": "ok" })));
    assert!(!check(json!({ "d": "2000-01-01", "x": "ok" })));
    assert!(check(json!({ "y": "shown while t is empty" })));
    assert!(!check(json!({ "t": "有内容", "y": "hidden now" })));
}

fn definition_faults(v: Value) -> Vec<String> {
    check_definition(&def(v), &HashMap::new())
        .into_iter()
        .map(|p| p.field)
        .collect()
}

#[test]
fn publishing_refuses_broken_definitions_naming_question_and_field() {
    assert_eq!(
        definition_faults(json!({ "pages": [] })),
        ["pages", "pages"]
    );
    assert_eq!(
        definition_faults(
            json!({ "pages": [ { "id": "p", "questions": [ { "id": "n", "type": "note", "title": "说明" } ] } ] })
        ),
        ["pages"],
        "at least one question"
    );
    let dup = definition_faults(json!({ "pages": [ { "id": "p", "questions": [
        { "id": "q1", "type": "text", "title": "a" }, { "id": "q1", "type": "text", "title": "b" } ] } ] }));
    assert_eq!(dup, ["q1"]);
    let forward = definition_faults(json!({ "pages": [ { "id": "p", "questions": [
        { "id": "q1", "type": "text", "title": "a", "visible_if": { "q": "q2", "op": "answered" } },
        { "id": "q2", "type": "text", "title": "b" } ] } ] }));
    assert_eq!(forward, ["q1.visible_if"], "conditions look back only");
    let bad_option = definition_faults(json!({ "pages": [ { "id": "p", "questions": [
        { "id": "q1", "type": "single", "title": "a", "options": [ {"id":"x","label":"X"}, {"id":"y","label":"Y"} ] },
        { "id": "q2", "type": "text", "title": "b", "visible_if": { "q": "q1", "op": "eq", "v": "z" } } ] } ] }));
    assert_eq!(bad_option, ["q2.visible_if"]);
    let bad_op = definition_faults(json!({ "pages": [ { "id": "p", "questions": [
        { "id": "q1", "type": "text", "title": "a" },
        { "id": "q2", "type": "text", "title": "b", "visible_if": { "q": "q1", "op": "gt", "v": 3 } } ] } ] }));
    assert_eq!(bad_op, ["q2.visible_if"]);
    let rules = definition_faults(json!({ "pages": [ { "id": "p", "questions": [
        { "id": "m", "type": "multi", "title": "a", "min_select": 3, "max_select": 2,
          "options": [ {"id":"x","label":"X"}, {"id":"y","label":"Y"} ] },
        { "id": "s", "type": "scale", "title": "b", "min": 5, "max": 5 },
        { "id": "o", "type": "single", "title": "c", "options": [ {"id":"x","label":"X"} ] },
        { "id": "t", "type": "text", "title": "d", "pattern": "([" } ] } ] }));
    assert_eq!(
        rules,
        [
            "m.min_select",
            "m.max_select",
            "s.max",
            "o.options",
            "t.pattern"
        ]
    );
}

#[test]
fn a_question_id_keeps_its_type_across_versions() {
    let earlier = HashMap::from([("q1".to_owned(), "single".to_owned())]);
    let d = def(
        json!({ "pages": [ { "id": "p", "questions": [ { "id": "q1", "type": "text", "title": "a" } ] } ] }),
    );
    let faults: Vec<_> = check_definition(&d, &earlier)
        .into_iter()
        .map(|p| p.field)
        .collect();
    assert_eq!(faults, ["q1.type"]);
}

#[test]
fn unknown_types_and_fields_do_not_parse() {
    assert!(
        serde_json::from_value::<Definition>(json!({ "pages": [ { "id": "p", "questions": [
        { "id": "q", "type": "essay", "title": "a" } ] } ] }))
        .is_err()
    );
}
