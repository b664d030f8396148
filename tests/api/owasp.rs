//! The OWASP API Security Top 10 items that apply to canyu, each as a sweep over what an
//! attacker would try. Single cases live beside their features (`auth_tokens`, `auth_staff`,
//! `open_days_events`, `surveys`, `errors`); these go wide: every operation of the OpenAPI
//! document, every object of another owner, every field a body should not be able to set.

use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    deliberation::{meeting_body, published_meeting, signed_up},
    helpers::{TestApp, assert_problem, fields, spawn_app, spawn_app_with},
    open_days_support::{UNIT, id_of, reserve_body, slot, slot_id},
};

const PHONE: &str = "13812345678";

fn spec() -> Value {
    serde_json::from_str(include_str!("../../openapi/openapi.json")).unwrap()
}

/// Every (method, path template) of the OpenAPI document.
fn operations() -> Vec<(Method, String)> {
    let spec = spec();
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            out.push((method.to_uppercase().parse().unwrap(), path.clone()));
        }
    }
    out
}

/// What a resident may call besides the public operations.
fn resident_may(method: &Method, path: &str) -> bool {
    let own = [
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/api/v1/surveys"),
        ("GET", "/api/v1/surveys/{id}"),
        ("POST", "/api/v1/surveys/{id}/responses"),
        ("POST", "/api/v1/deliberations/{id}/signups"),
        ("DELETE", "/api/v1/deliberations/{id}/signups/me"),
        ("POST", "/api/v1/open-days/{id}/reservations"),
        ("DELETE", "/api/v1/reservations/{id}"),
        ("POST", "/api/v1/outcomes/{id}/follow"),
        ("DELETE", "/api/v1/outcomes/{id}/follow"),
        ("POST", "/api/v1/officer-campaigns/{id}/applications"),
        ("DELETE", "/api/v1/officer-campaigns/{id}/applications/me"),
        ("POST", "/api/v1/officer-activities/{id}/signups"),
        ("POST", "/api/v1/officer-activities/{id}/feedback"),
    ];
    path.starts_with("/api/v1/me") || own.iter().any(|(m, p)| *m == method.as_str() && *p == path)
}

fn is_public(spec: &Value, method: &Method, path: &str) -> bool {
    let op = &spec["paths"][path][method.as_str().to_lowercase()];
    match op["security"].as_array() {
        None => true,
        Some(s) => {
            s.is_empty()
                || s.iter()
                    .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
        }
    }
}

fn concrete(path: &str, id: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        out.push_str(if &rest[start..=end] == "{code}" {
            "desheng"
        } else {
            id
        });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

async fn call(app: &TestApp, method: Method, path: &str, token: &str) -> reqwest::Response {
    let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
    app.request(method, path, Some(token), body.as_ref()).await
}

/// Refused by role (403 with one of `codes`), or, when actix finished checking the input's
/// shape before the role check, by that input error: in either case no handler ran.
async fn assert_refused(res: reqwest::Response, codes: &[&str], what: &str) {
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    let code = body["code"].as_str().unwrap_or_default();
    let by_role = status == StatusCode::FORBIDDEN && codes.contains(&code);
    let by_shape = (status == StatusCode::BAD_REQUEST && code == "invalid_query")
        || (status == StatusCode::UNPROCESSABLE_ENTITY
            && ["invalid_field", "validation_failed"].contains(&code));
    assert!(by_role || by_shape, "{what}: {status} {body}");
}

// API5: broken function-level authorisation.
#[tokio::test]
async fn residents_are_refused_on_every_staff_and_admin_operation_and_staff_on_every_admin_one() {
    let app = spawn_app().await;
    let resident = app.login_resident("o-curious").await;
    let staff = app.staff_of("desheng.gong", "desheng").await;
    let spec = spec();
    let id = Uuid::now_v7().to_string();
    let mut checked = 0;
    for (method, path) in operations() {
        if is_public(&spec, &method, &path) || resident_may(&method, &path) {
            continue;
        }
        let url = concrete(&path, &id);
        let res = call(&app, method.clone(), &url, &resident.access_token).await;
        assert_refused(
            res,
            &["staff_only", "admin_only"],
            &format!("resident on {method} {path}"),
        )
        .await;
        checked += 1;

        if path.starts_with("/api/v1/admin")
            || (path == "/api/v1/org-units" && method == Method::POST)
        {
            let res = call(&app, method.clone(), &url, &staff.access_token).await;
            assert_refused(res, &["admin_only"], &format!("staff on {method} {path}")).await;
        }
    }
    assert!(
        checked >= 35,
        "only {checked} staff operations in the spec?"
    );
    // And nobody at all on anything but the public operations.
    for (method, path) in operations() {
        if is_public(&spec, &method, &path) {
            continue;
        }
        let url = concrete(&path, &id);
        let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
        let res = app.request(method.clone(), &url, None, body.as_ref()).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
    }
}

// API1: broken object-level authorisation, between residents.
#[tokio::test]
async fn a_resident_cannot_read_or_cancel_another_residents_reservation_or_sign_up() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(600, 60, 10)]).await;
    let meeting = published_meeting(
        &app,
        &app.staff_of("yuetan.gong", "yuetan").await,
        &meeting_body("yuetan", 10, 0, true),
    )
    .await;
    let owner = app.login_resident("o-owner").await;
    let other = app.login_resident("o-other").await;
    let booking = app.booked(&owner, &event, 0, 2).await;
    let signup = signed_up(&app, &owner, &meeting).await;

    // Cancelling someone else's booking by its id: as if it did not exist.
    let res = app.cancel_reservation(&other, &id_of(&booking)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "reservation_not_found").await;
    // The sign-up route takes no id: the other resident can only give up their own (none).
    let res = app
        .request(
            Method::DELETE,
            &format!("/api/v1/deliberations/{meeting}/signups/me"),
            Some(&other.access_token),
            None,
        )
        .await;
    assert!(res.status().is_client_error(), "{}", res.status());
    // Lists are the caller's own.
    let theirs: Value = app
        .get("/api/v1/me/reservations", Some(&other.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["items"], json!([]));
    let loop_view = app
        .get("/api/v1/me/loop", Some(&other.access_token))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !loop_view.contains(signup["id"].as_str().unwrap()),
        "{loop_view}"
    );
    // The owner's booking and seat are untouched.
    let mine: Value = app
        .get("/api/v1/me/reservations", Some(&owner.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["items"][0]["status"], "confirmed", "{mine}");
    assert_eq!(app.seats_taken(&slot_id(&event, 0)).await, 2);
    let detail: Value = app
        .get(
            &format!("/api/v1/deliberations/{meeting}"),
            Some(&owner.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["seats_left"], 9, "{detail}");
    // A notification of one resident cannot be marked read by another.
    let inbox = app.inbox(&owner).await;
    let notice = inbox["items"][0]["id"].as_str().unwrap();
    let res = app
        .post(
            &format!("/api/v1/me/notifications/{notice}/read"),
            Some(&other.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(app.inbox(&owner).await["items"][0]["read_at"].is_null());
}

// API1: broken object-level authorisation, between sub-districts.
#[tokio::test]
async fn staff_of_one_sub_district_touch_nothing_of_another() {
    let app = spawn_app().await;
    let owner = app.unit_staff().await;
    let outsider = app.staff_of("desheng.gong", "desheng").await;
    let event = app.open_day(&owner, vec![slot(600, 60, 10)]).await;
    let e = id_of(&event);
    let s0 = slot_id(&event, 0);
    let visitor = app.login_resident("o-visitor").await;
    let booking = app.booked(&visitor, &event, 0, 1).await;
    let r = id_of(&booking);
    let meeting = published_meeting(&app, &owner, &meeting_body(UNIT, 10, 0, true)).await;
    let signup = signed_up(&app, &visitor, &meeting).await;
    let su = signup["id"].as_str().unwrap().to_owned();
    let survey = app
        .published_survey(
            &owner,
            &json!({
                "title": "新街口街道便民服务调查", "org_unit": UNIT, "audience": [UNIT],
                "pages": [{ "id": "p1", "questions": [
                    { "id": "q", "type": "text", "title": "您的建议", "max_len": 100 }
                ]}]
            }),
        )
        .await;
    let outcome = app
        .post(
            &format!("/api/v1/deliberations/{meeting}/outcomes"),
            Some(&owner.access_token),
            &json!({ "title": "增设停车位", "responsible_unit": "城管办", "weight": 1,
                     "due_date": (Utc::now() + Duration::days(30)).date_naive() }),
        )
        .await;
    assert_eq!(outcome.status(), StatusCode::CREATED);
    let outcome = id_of(&outcome.json::<Value>().await.unwrap());

    let tries: Vec<(Method, String, Value)> = vec![
        (
            Method::PUT,
            format!("/api/v1/open-days/{e}"),
            crate::open_days_support::event_body(vec![slot(600, 60, 1)]),
        ),
        (
            Method::POST,
            format!("/api/v1/open-days/{e}/cancel"),
            json!({ "reason": "测试" }),
        ),
        (
            Method::POST,
            format!("/api/v1/open-days/{e}/publish"),
            json!({}),
        ),
        (
            Method::GET,
            format!("/api/v1/open-days/{e}/stats"),
            Value::Null,
        ),
        (
            Method::GET,
            format!("/api/v1/open-days/{e}/slots/{s0}/visitors"),
            Value::Null,
        ),
        (
            Method::GET,
            format!("/api/v1/open-days/{e}/slots/{s0}/visitors.xlsx"),
            Value::Null,
        ),
        (
            Method::POST,
            format!("/api/v1/open-days/{e}/check-ins"),
            json!({ "code": booking["verification_code"] }),
        ),
        (
            Method::POST,
            format!("/api/v1/open-days/{e}/reservations/{r}/reveal"),
            json!({ "field": "phone", "reason": "核对身份信息" }),
        ),
        (
            Method::PUT,
            format!("/api/v1/deliberations/{meeting}"),
            meeting_body("desheng", 1, 0, false),
        ),
        (
            Method::POST,
            format!("/api/v1/deliberations/{meeting}/cancel"),
            json!({ "reason": "测试" }),
        ),
        (
            Method::GET,
            format!("/api/v1/deliberations/{meeting}/signups"),
            Value::Null,
        ),
        (
            Method::GET,
            format!("/api/v1/deliberations/{meeting}/signups/export"),
            Value::Null,
        ),
        (
            Method::GET,
            format!("/api/v1/deliberations/{meeting}/attendance"),
            Value::Null,
        ),
        (
            Method::POST,
            format!("/api/v1/deliberations/{meeting}/check-ins"),
            json!({ "code": signup["check_in_code"] }),
        ),
        (
            Method::POST,
            format!("/api/v1/deliberations/{meeting}/signups/{su}/reveal"),
            json!({ "field": "phone", "reason": "核对身份信息" }),
        ),
        (
            Method::POST,
            format!("/api/v1/deliberations/{meeting}/outcomes"),
            json!({ "title": "拓宽道路", "responsible_unit": "城管办", "weight": 1, "due_date": (Utc::now() + Duration::days(30)).date_naive() }),
        ),
        (
            Method::POST,
            format!("/api/v1/outcomes/{outcome}/progress"),
            json!({ "status": "done", "percent": 100, "note": "完成", "happened_on": Utc::now().date_naive() }),
        ),
        (
            Method::GET,
            format!("/api/v1/surveys/{survey}"),
            Value::Null,
        ),
        (
            Method::PUT,
            format!("/api/v1/surveys/{survey}"),
            json!({ "title": "改", "org_unit": "desheng", "audience": ["desheng"], "pages": [] }),
        ),
        (
            Method::POST,
            format!("/api/v1/surveys/{survey}/close"),
            json!({}),
        ),
        (
            Method::DELETE,
            format!("/api/v1/surveys/{survey}"),
            Value::Null,
        ),
        (
            Method::GET,
            format!("/api/v1/surveys/{survey}/results"),
            Value::Null,
        ),
        (
            Method::GET,
            format!("/api/v1/surveys/{survey}/responses"),
            Value::Null,
        ),
        (
            Method::GET,
            format!("/api/v1/surveys/{survey}/export?format=csv"),
            Value::Null,
        ),
    ];
    for (method, path, body) in tries {
        let body = (!body.is_null()).then_some(body);
        let res = app
            .request(
                method.clone(),
                &path,
                Some(&outsider.access_token),
                body.as_ref(),
            )
            .await;
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(
            status == StatusCode::FORBIDDEN || status == StatusCode::NOT_FOUND,
            "{method} {path}: {status} {text}"
        );
        assert!(
            !text.contains(PHONE) && !text.contains("张三"),
            "{path}: {text}"
        );
    }
    // Nothing moved.
    assert_eq!(app.open_day_detail(&event).await["status"], "published");
    assert_eq!(
        app.my_reservations(&visitor).await["items"][0]["status"],
        "confirmed"
    );
    let m: Value = app
        .get(&format!("/api/v1/deliberations/{meeting}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(m["status"], "published", "{m}");
    let s: Value = app
        .get(
            &format!("/api/v1/surveys/{survey}"),
            Some(&owner.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["status"], "published", "{s}");
    let o: Value = app
        .get(&format!("/api/v1/outcomes/{outcome}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert!(o["progress"].as_array().is_none_or(|p| p.is_empty()), "{o}");
}

fn b64(v: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

// API2: broken authentication, beyond `auth_tokens` (forged, tampered, alg none, expired).
#[tokio::test]
async fn tokens_of_the_wrong_kind_algorithm_or_shape_are_refused() {
    let app = spawn_app().await;
    let resident = app.login_resident("o-trying").await;
    let sub = resident.user["id"].clone();
    let now = Utc::now().timestamp();
    let secret = app
        .settings
        .jwt_secret
        .as_ref()
        .unwrap()
        .expose()
        .to_owned();
    let claims = json!({ "sub": sub, "role": "resident", "iat": now, "exp": now + 600, "jti": Uuid::now_v7() });

    let mut refused = vec![
        // The refresh token is opaque and for /auth/refresh only.
        (
            "refresh token as access token",
            resident.refresh_token.clone(),
        ),
        ("empty", String::new()),
        ("two parts", "eyJhbGciOiJIUzI1NiJ9.e30".to_owned()),
        (
            "alg none, capitalised",
            format!(
                "{}.{}.",
                b64(&json!({ "alg": "None", "typ": "JWT" })),
                b64(&claims)
            ),
        ),
    ];
    // The right secret under another algorithm: the algorithm is pinned, not read from the token.
    for alg in [
        jsonwebtoken::Algorithm::HS384,
        jsonwebtoken::Algorithm::HS512,
    ] {
        refused.push((
            "another HMAC algorithm",
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(alg),
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
            )
            .unwrap(),
        ));
    }
    // Validly signed, but missing what every token must carry.
    for missing in ["exp", "sub", "jti", "role"] {
        let mut c = claims.clone();
        c.as_object_mut().unwrap().remove(missing);
        refused.push(("a claim missing", app.mint_token(&c)));
    }
    let mut c = claims.clone();
    c["role"] = json!("superuser");
    refused.push(("an unknown role", app.mint_token(&c)));
    for (what, token) in refused {
        let res = app
            .client
            .get(app.url("/api/v1/me"))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what}");
    }
    // An access token is no refresh token either.
    let res = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": resident.access_token }),
        )
        .await;
    // Refused by shape (422) or as unknown (401): either way no session comes of it.
    assert!(
        [StatusCode::UNAUTHORIZED, StatusCode::UNPROCESSABLE_ENTITY].contains(&res.status()),
        "{}",
        res.status()
    );
    // A token of another deployment (its own secret) means nothing here.
    let elsewhere = spawn_app().await;
    let theirs = elsewhere.login_resident("o-trying").await;
    assert_eq!(
        app.get("/api/v1/me", Some(&theirs.access_token))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // After all that, the real one still works.
    assert_eq!(
        app.get("/api/v1/me", Some(&resident.access_token))
            .await
            .status(),
        StatusCode::OK
    );
}

/// Keys that name personal or internal data; none belongs in a public answer.
const INTERNAL_KEYS: [&str; 16] = [
    "phone",
    "phone_sealed",
    "phone_hash",
    "name",
    "visitor_name",
    "openid",
    "unionid",
    "session_key",
    "resident_id",
    "respondent_id",
    "created_by",
    "verification_code",
    "check_in_code",
    "qr",
    "password_hash",
    "seq",
];

fn keys_of(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.push(k.clone());
                keys_of(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| keys_of(v, out)),
        _ => {}
    }
}

// API3: broken object property level authorisation (exposure).
#[tokio::test]
async fn public_answers_carry_no_personal_data_or_internal_fields() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(600, 60, 10)]).await;
    let meeting = published_meeting(&app, &staff, &meeting_body(UNIT, 10, 0, true)).await;
    let who = app.login_resident("o-private-person").await;
    app.booked(&who, &event, 0, 1).await;
    signed_up(&app, &who, &meeting).await;
    let res = app
        .post(
            &format!("/api/v1/deliberations/{meeting}/outcomes"),
            Some(&staff.access_token),
            &json!({ "title": "增设停车位", "responsible_unit": "城管办", "weight": 1,
                     "due_date": (Utc::now() + Duration::days(30)).date_naive() }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let outcome = id_of(&res.json::<Value>().await.unwrap());
    let res = app
        .post(
            &format!("/api/v1/outcomes/{outcome}/progress"),
            Some(&staff.access_token),
            &json!({ "status": "in_progress", "percent": 40, "note": "已施划车位",
                     "happened_on": Utc::now().date_naive() }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let resident_id = who.user["id"].as_str().unwrap().to_owned();
    let staff_id = staff.user["id"].as_str().unwrap().to_owned();

    let other = app.login_resident("o-onlooker").await;
    let public_paths = [
        "/api/v1/outcomes".to_owned(),
        format!("/api/v1/outcomes/{outcome}"),
        "/api/v1/open-days".to_owned(),
        format!("/api/v1/open-days/{}", id_of(&event)),
        "/api/v1/deliberations".to_owned(),
        format!("/api/v1/deliberations/{meeting}"),
    ];
    for path in &public_paths {
        for token in [None, Some(other.access_token.as_str())] {
            let res = app.get(path, token).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            let text = res.text().await.unwrap();
            for secret in [
                PHONE,
                "张三",
                "o-private-person",
                &resident_id,
                &staff_id,
                "xinjiekou-staff",
            ] {
                assert!(!text.contains(secret), "{path} shows {secret}: {text}");
            }
            let mut keys = Vec::new();
            keys_of(&serde_json::from_str(&text).unwrap(), &mut keys);
            for k in INTERNAL_KEYS {
                assert!(!keys.iter().any(|got| got == k), "{path} has `{k}`: {text}");
            }
        }
    }
}

// API4: unrestricted resource consumption.
#[tokio::test]
async fn every_list_refuses_a_huge_limit_naming_the_field() {
    let app = spawn_app().await;
    let admin = app.login_admin().await;
    let resident = app.login_resident("o-greedy").await;
    let spec = spec();
    let id = Uuid::now_v7().to_string();
    let mut checked = 0;
    for (method, path) in operations() {
        let op = &spec["paths"][&path][method.as_str().to_lowercase()];
        let takes_limit = op["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "limit"));
        if method != Method::GET || !takes_limit {
            continue;
        }
        let token = if resident_may(&method, &path) {
            &resident.access_token
        } else {
            &admin.access_token
        };
        let url = format!("{}?limit=1000000", concrete(&path, &id));
        let body = assert_problem(
            app.get(&url, Some(token)).await,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        )
        .await;
        assert_eq!(fields(&body), ["limit"], "{path}");
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} lists take a limit?");
}

fn nested_not(depth: usize) -> Value {
    let mut c = json!({ "q": "q1", "op": "answered" });
    for _ in 0..depth {
        c = json!({ "not": c });
    }
    c
}

fn survey_with(question: Value) -> Value {
    json!({
        "title": "资源边界测试问卷", "org_unit": "desheng", "audience": ["desheng"],
        "pages": [{ "id": "p1", "questions": [
            { "id": "q1", "type": "text", "title": "第一题", "max_len": 10 },
            question
        ]}]
    })
}

/// Staff save `body` as a draft (drafts may be work in progress) and publish it: the
/// survey rules apply by then at the latest. Answers the first refusal.
async fn save_and_publish(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    let res = app.post("/api/v1/surveys", Some(token), body).await;
    if res.status() != StatusCode::CREATED {
        return res;
    }
    let id = id_of(&res.json::<Value>().await.unwrap());
    app.post(
        &format!("/api/v1/surveys/{id}/publish"),
        Some(token),
        &json!({}),
    )
    .await
}

#[tokio::test]
async fn deep_condition_trees_and_ten_thousand_options_are_refused_by_bounds() {
    let app = spawn_app().await;
    let staff = app.staff_of("desheng.gong", "desheng").await;
    let t = staff.access_token.as_str();
    let q2 = |visible_if: Value| json!({ "id": "q2", "type": "text", "title": "第二题", "max_len": 10, "visible_if": visible_if });

    // Deep, but parseable: the survey rules refuse it, naming the field.
    let res = save_and_publish(&app, t, &survey_with(q2(nested_not(100)))).await;
    let body = assert_problem(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "survey_definition_invalid",
    )
    .await;
    assert!(
        fields(&body).iter().any(|f| f.contains("visible_if")),
        "{body}"
    );
    // Deeper than any parser should follow: refused before it can exhaust the server's
    // stack. Written as text: a `Value` this deep would exhaust the test's own stack.
    let deep = format!(
        "{}{{\"q\":\"q1\",\"op\":\"answered\"}}{}",
        "{\"not\":".repeat(5_000),
        "}".repeat(5_000)
    );
    let text = survey_with(q2(json!("DEEP")))
        .to_string()
        .replace("\"DEEP\"", &deep);
    let res = app
        .client
        .post(app.url("/api/v1/surveys"))
        .bearer_auth(t)
        .header("content-type", "application/json")
        .body(text)
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::BAD_REQUEST, "invalid_json").await;
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    // Wide instead of deep.
    let wide = json!({ "any": (0..2_000).map(|_| json!({ "q": "q1", "op": "answered" })).collect::<Vec<_>>() });
    let res = save_and_publish(&app, t, &survey_with(q2(wide))).await;
    let body = assert_problem(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "survey_definition_invalid",
    )
    .await;
    assert!(
        fields(&body).iter().any(|f| f.contains("visible_if")),
        "{body}"
    );

    // 10,000 options, small enough to pass the body limit.
    let options: Vec<Value> = (0..10_000)
        .map(|i| json!({ "id": format!("{i}"), "label": "a" }))
        .collect();
    let res = save_and_publish(
        &app,
        t,
        &survey_with(json!({ "id": "q2", "type": "single", "title": "选项", "options": options })),
    )
    .await;
    let body = assert_problem(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "survey_definition_invalid",
    )
    .await;
    assert!(
        fields(&body).iter().any(|f| f.ends_with("options")),
        "{body}"
    );
    // None of these reached residents.
    let resident = app.resident_of("o-desheng", "desheng").await;
    let list: Value = app
        .get("/api/v1/surveys", Some(&resident.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"], json!([]), "{list}");
}

#[tokio::test]
async fn an_oversized_body_from_a_resident_is_413_before_anything_is_parsed() {
    let app = spawn_app_with(|s| s.body_limit_bytes = 4096).await;
    let resident = app.login_resident("o-bulky").await;
    let t = Some(resident.access_token.as_str());
    let big = json!({ "nickname": "长".repeat(4000) });
    assert_problem(
        app.patch("/api/v1/me", t, &big).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    )
    .await;
    // Declared small, sent large: the limit holds on the bytes, not on the header.
    let res = app
        .client
        .post(app.url("/api/v1/auth/dev-login"))
        .header("content-type", "application/json")
        .body(format!("{{\"openid\": \"{}\"}}", "x".repeat(100_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let me: Value = app.get("/api/v1/me", t).await.json().await.unwrap();
    assert!(me["nickname"].is_null(), "{me}");
}

// API3 (mass assignment): a body cannot set what the server decides.
#[tokio::test]
async fn a_resident_cannot_set_status_role_counts_or_org_unit_through_a_body() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(600, 60, 2)]).await;
    let meeting = published_meeting(&app, &staff, &meeting_body(UNIT, 1, 0, true)).await;
    let first = app.login_resident("o-first").await;
    signed_up(&app, &first, &meeting).await;
    let sly = app.login_resident("o-sly").await;
    let t = Some(sly.access_token.as_str());

    let res = app
        .patch(
            "/api/v1/me",
            t,
            &json!({ "nickname": "小王", "role": "admin", "org_unit": "xicheng", "is_admin": true,
                     "id": Uuid::now_v7(), "status": "active" }),
        )
        .await;
    assert!(res.status().is_client_error() || res.status() == StatusCode::OK);
    let me: Value = app.get("/api/v1/me", t).await.json().await.unwrap();
    assert_eq!(me["role"], "resident", "{me}");
    assert_eq!(me["id"], sly.user["id"], "{me}");
    assert_eq!(
        app.get("/api/v1/admin/staff", t).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(&format!("/api/v1/surveys/{}/results", Uuid::now_v7()), t)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // A booking that names its own status, seats and verification code.
    let mut body = reserve_body(&slot_id(&event, 0), 1);
    body["status"] = json!("checked_in");
    body["verification_code"] = json!("AAAAAAAA");
    body["seats_taken"] = json!(0);
    body["resident_id"] = first.user["id"].clone();
    let res = app.reserve(&sly, &event, &body).await;
    let status = res.status();
    let got: Value = res.json().await.unwrap();
    if status == StatusCode::CREATED {
        assert_eq!(got["status"], "confirmed", "{got}");
        assert_ne!(got["verification_code"], "AAAAAAAA", "{got}");
        assert_eq!(app.my_reservations(&first).await["items"], json!([]));
        assert_eq!(app.seats_taken(&slot_id(&event, 0)).await, 1);
    } else {
        assert!(status.is_client_error(), "{status} {got}");
        assert_eq!(app.seats_taken(&slot_id(&event, 0)).await, 0);
    }

    // A sign-up that asks to be confirmed on a full meeting.
    let res = app
        .post(
            &format!("/api/v1/deliberations/{meeting}/signups"),
            t,
            &json!({ "name": "王五", "phone": PHONE, "consent": true,
                     "status": "confirmed", "waitlist_position": 0, "seq": 0 }),
        )
        .await;
    let status = res.status();
    let got: Value = res.json().await.unwrap();
    if status == StatusCode::CREATED {
        assert_eq!(got["status"], "waitlisted", "{got}");
    } else {
        assert!(status.is_client_error(), "{status} {got}");
    }
    let detail: Value = app
        .get(&format!("/api/v1/deliberations/{meeting}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["seats_left"], 0, "{detail}");

    // Staff cannot set counts or a status either, nor publish into another unit.
    let res = app
        .post(
            "/api/v1/surveys",
            Some(&staff.access_token),
            &json!({
                "title": "计数测试", "org_unit": UNIT, "audience": [UNIT],
                "status": "published", "response_count": 500, "current_version": 9,
                "pages": [{ "id": "p1", "questions": [
                    { "id": "q", "type": "text", "title": "建议", "max_len": 10 } ]}]
            }),
        )
        .await;
    let status = res.status();
    let got: Value = res.json().await.unwrap();
    if status == StatusCode::CREATED {
        assert_eq!(got["status"], "draft", "{got}");
        assert_eq!(got["response_count"], 0, "{got}");
    } else {
        assert!(status.is_client_error(), "{status} {got}");
    }
    let res = app
        .post(
            "/api/v1/open-days",
            Some(&staff.access_token),
            &json!({ "org_unit": "desheng" }),
        )
        .await;
    assert!(res.status().is_client_error());
    let mut other_unit = crate::open_days_support::event_body(vec![slot(600, 60, 5)]);
    other_unit["org_unit"] = json!("desheng");
    let res = app
        .post("/api/v1/open-days", Some(&staff.access_token), &other_unit)
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;
}
