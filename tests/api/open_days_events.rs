//! Open days as staff run them: create, update, publish, cancel; residents list and read them.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    helpers::{assert_problem, fields, spawn_app},
    open_days_support::{event_body, id_of, reserve_body, slot, slot_id},
};

#[tokio::test]
async fn staff_create_a_draft_that_residents_see_once_published() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let draft = app
        .create_open_day(
            &staff,
            &event_body(vec![slot(120, 60, 20), slot(240, 60, 10)]),
        )
        .await;
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["org_unit"], "xinjiekou");
    assert_eq!(draft["slots"][0]["capacity"], 20);
    assert_eq!(draft["slots"][0]["seats_left"], 20);
    assert_eq!(draft["slots"][1]["seats_left"], 10);

    // A draft is nobody's business but staff's.
    let path = format!("/api/v1/open-days/{}", id_of(&draft));
    assert_problem(
        app.get(&path, None).await,
        StatusCode::NOT_FOUND,
        "open_day_not_found",
    )
    .await;
    let list: Value = app
        .get("/api/v1/open-days", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    let res = app
        .post(
            &format!("{path}/publish"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let published: Value = res.json().await.unwrap();
    assert_eq!(published["status"], "published");

    let detail = app.open_day_detail(&draft).await;
    assert_eq!(detail["title"], "新街口街道办事处开放日");
    assert_eq!(detail["slots"].as_array().unwrap().len(), 2);
    let list: Value = app
        .get("/api/v1/open-days", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"][0]["id"], draft["id"]);

    // Publishing twice changes nothing.
    let res = app
        .post(
            &format!("{path}/publish"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);

    // The audit log has both acts.
    let admin = app.login_admin().await;
    let audit: Value = app
        .get("/api/v1/admin/audit?limit=100", Some(&admin.access_token))
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(actions.contains(&"open_day.created"), "{actions:?}");
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == "open_day.published")
            .count(),
        1
    );
}

#[tokio::test]
async fn staff_act_only_within_their_org_unit_and_residents_not_at_all() {
    let app = spawn_app().await;
    let other = app.staff_of("yuetan-staff", "yuetan").await;
    let res = app
        .post(
            "/api/v1/open-days",
            Some(&other.access_token),
            &event_body(vec![slot(120, 60, 5)]),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;

    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(120, 60, 5)]).await;
    let res = app
        .post(
            &format!("/api/v1/open-days/{}/cancel", id_of(&event)),
            Some(&other.access_token),
            &json!({}),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;

    // An administrator may act anywhere.
    let admin = app.login_admin().await;
    app.create_open_day(&admin, &event_body(vec![slot(120, 60, 5)]))
        .await;

    let resident = app.login_resident("o-resident").await;
    let res = app
        .post(
            "/api/v1/open-days",
            Some(&resident.access_token),
            &event_body(vec![slot(120, 60, 5)]),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "staff_only").await;
}

#[tokio::test]
async fn an_invalid_event_names_every_field_at_fault() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let mut body = event_body(vec![slot(120, -30, 0)]);
    body["title"] = json!("");
    body["max_party_size"] = json!(0);
    body["booking_closes_at"] = body["booking_opens_at"].clone();
    let res = app
        .post("/api/v1/open-days", Some(&staff.access_token), &body)
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        fields(&problem),
        [
            "booking_closes_at",
            "max_party_size",
            "slots[0].capacity",
            "slots[0].ends_at",
            "title"
        ]
    );

    let mut body = event_body(vec![]);
    body["org_unit"] = json!("nowhere");
    let res = app
        .post("/api/v1/open-days", Some(&staff.access_token), &body)
        .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "org_unit_unknown").await;
}

/// A slot as the answer shows it, as a request names it.
fn as_request(slot: &Value) -> Value {
    let mut s = slot.clone();
    s.as_object_mut().unwrap().remove("seats_left");
    s
}

fn update_body(event: &Value, slots: Vec<Value>) -> Value {
    let mut body = event_body(slots);
    body.as_object_mut().unwrap().remove("org_unit");
    body["title"] = json!("新街口街道开放日（更新）");
    body["booking_opens_at"] = event["booking_opens_at"].clone();
    body
}

#[tokio::test]
async fn a_slot_capacity_cannot_drop_below_the_seats_taken() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(120, 60, 10)]).await;
    let a = app.login_resident("o-a").await;
    app.booked(&a, &event, 0, 3).await;
    let path = format!("/api/v1/open-days/{}", id_of(&event));

    let mut s = as_request(&event["slots"][0]);
    s["capacity"] = json!(2);
    let res = app
        .request(
            Method::PUT,
            &path,
            Some(&staff.access_token),
            Some(&update_body(&event, vec![s.clone()])),
        )
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT, "capacity_below_taken").await;
    assert_eq!(fields(&problem), ["slots[0].capacity"]);
    assert_eq!(problem["taken"], 3);
    assert_eq!(
        app.open_day_detail(&event).await["slots"][0]["capacity"],
        10
    );

    // Down to exactly the seats taken is fine; a new slot is added alongside.
    s["capacity"] = json!(3);
    let res = app
        .request(
            Method::PUT,
            &path,
            Some(&staff.access_token),
            Some(&update_body(&event, vec![s.clone(), slot(300, 60, 8)])),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["title"], "新街口街道开放日（更新）");
    assert_eq!(updated["slots"][0]["capacity"], 3);
    assert_eq!(updated["slots"][0]["seats_left"], 0);
    assert_eq!(updated["slots"][1]["capacity"], 8);
    assert_eq!(
        app.open_day_detail(&event).await["slots"][0]["seats_left"],
        0
    );

    // A slot with reservations cannot be dropped.
    let res = app
        .request(
            Method::PUT,
            &path,
            Some(&staff.access_token),
            Some(&update_body(&event, vec![as_request(&updated["slots"][1])])),
        )
        .await;
    assert_problem(res, StatusCode::CONFLICT, "slot_has_reservations").await;
    // A slot of another event cannot be named.
    let mut foreign = s.clone();
    foreign["id"] = json!(uuid::Uuid::now_v7());
    let res = app
        .request(
            Method::PUT,
            &path,
            Some(&staff.access_token),
            Some(&update_body(&event, vec![foreign])),
        )
        .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "slot_unknown").await;
}

#[tokio::test]
async fn a_booking_answers_the_open_day_as_it_is_now_after_staff_change_it() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(120, 60, 10)]).await;
    let s0 = slot_id(&event, 0);
    let path = format!("/api/v1/open-days/{}", id_of(&event));
    // The first booking reads the slot and its open day; the next ones may book with what
    // it read, without reading them again.
    for who in ["o-a", "o-b"] {
        let resident = app.login_resident(who).await;
        app.booked(&resident, &event, 0, 1).await;
    }

    // Renamed, moved to another hall, and the slot an hour later.
    let mut s = as_request(&event["slots"][0]);
    let starts = Utc::now().trunc_subsecs(0) + Duration::minutes(180);
    s["starts_at"] = json!(starts.to_rfc3339());
    s["ends_at"] = json!((starts + Duration::minutes(60)).to_rfc3339());
    let mut body = update_body(&event, vec![s]);
    body["location"] = json!("新街口街道办事处二层会议室");
    let res = app
        .request(Method::PUT, &path, Some(&staff.access_token), Some(&body))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let c = app.login_resident("o-c").await;
    let r = app.booked(&c, &event, 0, 1).await;
    assert_eq!(r["open_day_title"], "新街口街道开放日（更新）");
    assert_eq!(r["location"], "新街口街道办事处二层会议室");
    let answered: DateTime<Utc> = r["slot"]["starts_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(answered, starts);
    let notice = app.inbox(&c).await["items"][0]["body"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(notice.contains("新街口街道开放日（更新）"), "{notice}");
    assert_eq!(app.seats_taken(&s0).await, 3);

    // Called off: the next attempt is refused and takes nothing.
    let res = app
        .post(
            &format!("{path}/cancel"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let taken = app.seats_taken(&s0).await;
    let d = app.login_resident("o-d").await;
    let res = app.reserve(&d, &event, &reserve_body(&s0, 1)).await;
    assert_problem(res, StatusCode::CONFLICT, "open_day_cancelled").await;
    assert_eq!(app.seats_taken(&s0).await, taken);
}

#[tokio::test]
async fn cancelling_an_open_day_cancels_every_booking_and_tells_each_resident() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(120, 60, 10)]).await;
    let a = app.login_resident("o-a").await;
    let b = app.login_resident("o-b").await;
    let ra = app.booked(&a, &event, 0, 2).await;
    let rb = app.booked(&b, &event, 0, 1).await;

    let path = format!("/api/v1/open-days/{}/cancel", id_of(&event));
    let res = app.post(&path, Some(&staff.access_token), &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let cancelled: Value = res.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["slots"][0]["seats_left"], 10);

    for (who, r) in [(&a, &ra), (&b, &rb)] {
        assert_eq!(app.reservation_row(&id_of(r)).await.status, "cancelled");
        let inbox = app.inbox(who).await;
        let kinds: Vec<&str> = inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n["kind"].as_str())
            .collect();
        assert!(kinds.contains(&"booking_cancelled"), "{kinds:?}");
    }
    assert_eq!(app.seats_taken(&slot_id(&event, 0)).await, 0);

    // Nobody books a cancelled day; it cannot be cancelled twice.
    let c = app.login_resident("o-c").await;
    let res = app
        .reserve(
            &c,
            &event,
            &crate::open_days_support::reserve_body(&slot_id(&event, 0), 1),
        )
        .await;
    assert_problem(res, StatusCode::CONFLICT, "open_day_cancelled").await;
    let res = app.post(&path, Some(&staff.access_token), &json!({})).await;
    assert_problem(res, StatusCode::CONFLICT, "open_day_cancelled").await;
}

#[tokio::test]
async fn seats_left_follows_bookings_and_cancellations() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(120, 60, 5)]).await;
    assert_eq!(
        app.open_day_detail(&event).await["slots"][0]["seats_left"],
        5
    );
    let a = app.login_resident("o-a").await;
    let r = app.booked(&a, &event, 0, 4).await;
    assert_eq!(
        app.open_day_detail(&event).await["slots"][0]["seats_left"],
        1
    );
    let res = app.cancel_reservation(&a, &id_of(&r)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.open_day_detail(&event).await["slots"][0]["seats_left"],
        5
    );
}
