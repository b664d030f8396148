//! Booking open-day slots: every refusal, exact capacity under a burst, idempotent retries,
//! cancellation and the waitlist.

use chrono::{Duration, Utc};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::{
    helpers::{assert_problem, fields, spawn_app},
    open_days_support::{event_body, id_of, reserve_body, slot, slot_id},
};

#[tokio::test]
async fn a_booking_answers_the_reservation_with_both_codes() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(180, 60, 10)]).await;
    let a = app.login_resident("o-a").await;
    let r = app.booked(&a, &event, 0, 2).await;
    assert_eq!(r["status"], "confirmed");
    assert_eq!(r["party_size"], 2);
    assert_eq!(r["slot"]["id"], event["slots"][0]["id"]);
    assert_eq!(r["visitor_name"], "张三");
    let code = r["verification_code"].as_str().unwrap();
    assert_eq!(code.len(), 8);
    assert!(
        code.chars()
            .all(|c| "23456789ABCDEFGHJKLMNPQRSTUVWXYZ".contains(c)),
        "{code}"
    );
    let qr = r["qr_payload"].as_str().unwrap();
    assert!(qr.starts_with("CYOD1.") && qr.contains(&id_of(&r)), "{qr}");
    assert_eq!(app.seats_taken(&slot_id(&event, 0)).await, 2);

    // Sealed at rest: the row holds no plaintext name or phone.
    let row = app.reservation_row(&id_of(&r)).await;
    let sealed = format!("{:?}{:?}", row.visitor_name_enc, row.phone_enc);
    assert!(
        !sealed.contains("张三") && !sealed.contains("13812345678"),
        "{sealed}"
    );

    let mine = app.my_reservations(&a).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["id"], r["id"]);
    assert_eq!(
        mine["items"][0]["verification_code"],
        r["verification_code"]
    );
    // Another resident sees none of it.
    let b = app.login_resident("o-b").await;
    assert_eq!(
        app.my_reservations(&b).await["items"]
            .as_array()
            .unwrap()
            .len(),
        0
    );

    // The booking notice is in the inbox, and the consent was recorded.
    let inbox = app.inbox(&a).await;
    assert!(
        inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "booking_confirmed")
    );
    let export: Value = app
        .get("/api/v1/me/data-export", Some(&a.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        export["consents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["purpose"] == "open_day_reservation"),
        "{export}"
    );
}

#[tokio::test]
async fn every_refusal_has_its_own_code() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app
        .open_day(&staff, vec![slot(180, 60, 2), slot(300, 60, 5)])
        .await;
    let a = app.login_resident("o-a").await;
    let s0 = slot_id(&event, 0);

    // Party larger than the event allows.
    let res = app.reserve(&a, &event, &reserve_body(&s0, 5)).await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "party_too_large").await;
    assert_eq!(fields(&p), ["party_size"]);
    // Party of zero.
    let res = app.reserve(&a, &event, &reserve_body(&s0, 0)).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    // No consent.
    let mut body = reserve_body(&s0, 1);
    body["consent"] = json!(false);
    let res = app.reserve(&a, &event, &body).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "consent_required").await;
    // Bad phone and empty name.
    let mut body = reserve_body(&s0, 1);
    body["phone"] = json!("12345");
    body["visitor_name"] = json!(" ");
    let res = app.reserve(&a, &event, &body).await;
    let p = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(fields(&p), ["phone", "visitor_name"]);
    // A slot of nothing.
    let res = app
        .reserve(
            &a,
            &event,
            &reserve_body(&uuid::Uuid::now_v7().to_string(), 1),
        )
        .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "slot_unknown").await;
    // Staff do not book.
    let res = app.reserve(&staff, &event, &reserve_body(&s0, 1)).await;
    assert_problem(res, StatusCode::FORBIDDEN, "resident_only").await;
    // Nothing was taken by any of that.
    assert_eq!(app.seats_taken(&s0).await, 0);

    // Full.
    app.booked(&a, &event, 0, 2).await;
    let b = app.login_resident("o-b").await;
    let res = app.reserve(&b, &event, &reserve_body(&s0, 1)).await;
    assert_problem(res, StatusCode::CONFLICT, "slot_full").await;
    // One active reservation per resident per event, whichever slot.
    let res = app
        .reserve(&a, &event, &reserve_body(&slot_id(&event, 1), 1))
        .await;
    assert_problem(res, StatusCode::CONFLICT, "already_reserved").await;
    assert_eq!(app.seats_taken(&slot_id(&event, 1)).await, 0);

    // A slot that ended.
    let s1 = slot_id(&event, 1);
    app.move_slot(
        &s1,
        Utc::now() - Duration::hours(2),
        Utc::now() - Duration::hours(1),
    )
    .await;
    let res = app.reserve(&b, &event, &reserve_body(&s1, 1)).await;
    assert_problem(res, StatusCode::CONFLICT, "slot_ended").await;

    // Before booking opens, and after it closes.
    let now = Utc::now();
    let mut early = event_body(vec![slot(3000, 60, 5)]);
    early["booking_opens_at"] = json!((now + Duration::hours(1)).to_rfc3339());
    let early = app.create_open_day(&staff, &early).await;
    app.post(
        &format!("/api/v1/open-days/{}/publish", id_of(&early)),
        Some(&staff.access_token),
        &json!({}),
    )
    .await;
    let res = app
        .reserve(&b, &early, &reserve_body(&slot_id(&early, 0), 1))
        .await;
    let p = assert_problem(res, StatusCode::CONFLICT, "booking_not_open").await;
    assert!(p["booking_opens_at"].is_string(), "{p}");

    let mut late = event_body(vec![slot(3000, 60, 5)]);
    late["booking_opens_at"] = json!((now - Duration::hours(3)).to_rfc3339());
    late["booking_closes_at"] = json!((now - Duration::hours(1)).to_rfc3339());
    let late = app.create_open_day(&staff, &late).await;
    app.post(
        &format!("/api/v1/open-days/{}/publish", id_of(&late)),
        Some(&staff.access_token),
        &json!({}),
    )
    .await;
    let res = app
        .reserve(&b, &late, &reserve_body(&slot_id(&late, 0), 1))
        .await;
    assert_problem(res, StatusCode::CONFLICT, "booking_closed").await;

    // A draft cannot be booked.
    let draft = app
        .create_open_day(&staff, &event_body(vec![slot(3000, 60, 5)]))
        .await;
    let res = app
        .reserve(&b, &draft, &reserve_body(&slot_id(&draft, 0), 1))
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "open_day_not_found").await;
}

#[tokio::test]
async fn party_sizes_summing_exactly_to_capacity_all_fit_and_then_it_is_full() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(180, 60, 10)]).await;
    for (i, party) in [4, 3, 2, 1].into_iter().enumerate() {
        let who = app.login_resident(&format!("o-{i}")).await;
        app.booked(&who, &event, 0, party).await;
    }
    assert_eq!(app.seats_taken(&slot_id(&event, 0)).await, 10);
    assert_eq!(
        app.open_day_detail(&event).await["slots"][0]["seats_left"],
        0
    );
    let late = app.login_resident("o-late").await;
    let res = app
        .reserve(&late, &event, &reserve_body(&slot_id(&event, 0), 1))
        .await;
    assert_problem(res, StatusCode::CONFLICT, "slot_full").await;
}

#[tokio::test]
async fn two_hundred_residents_at_once_on_twenty_seats_take_exactly_twenty() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(180, 60, 20)]).await;
    let s0 = slot_id(&event, 0);
    let residents = join_all((0..200).map(|i| {
        let app = &app;
        async move { app.login_resident(&format!("o-storm-{i}")).await }
    }))
    .await;
    let body = reserve_body(&s0, 1);
    let statuses = join_all(residents.iter().map(|who| {
        let (app, event, body) = (&app, &event, &body);
        async move { app.reserve(who, event, body).await.status() }
    }))
    .await;
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let full = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!(created, 20, "{statuses:?}");
    assert_eq!(full, 180, "{statuses:?}");
    assert_eq!(app.seats_taken(&s0).await, 20);
    let mut confirmed = 0;
    for who in &residents {
        confirmed += app.my_reservations(who).await["items"]
            .as_array()
            .unwrap()
            .len();
    }
    assert_eq!(confirmed, 20);
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_answers_the_same_reservation() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(180, 60, 10)]).await;
    let a = app.login_resident("o-a").await;
    let body = reserve_body(&slot_id(&event, 0), 3);
    let send = || {
        app.client
            .post(app.url(&format!("/api/v1/open-days/{}/reservations", id_of(&event))))
            .bearer_auth(&a.access_token)
            .header("Idempotency-Key", "book-7f3a")
            .json(&body)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["verification_code"], first["verification_code"]);
    assert_eq!(app.seats_taken(&slot_id(&event, 0)).await, 3);
    assert_eq!(
        app.my_reservations(&a).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// A double tap on a bad network: the same request, with the same key, sent twice at once.
/// One reservation is made, and both taps are answered with it.
#[tokio::test]
async fn the_same_booking_sent_twice_at_once_books_once_and_answers_both_with_it() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(180, 60, 10)]).await;
    let a = app.login_resident("o-a").await;
    let body = reserve_body(&slot_id(&event, 0), 2);
    let path = format!("/api/v1/open-days/{}/reservations", id_of(&event));
    for round in 0..5 {
        let key = format!("double-tap-{round}");
        let send = || {
            app.client
                .post(app.url(&path))
                .bearer_auth(&a.access_token)
                .header("Idempotency-Key", &key)
                .json(&body)
                .send()
        };
        let (one, two) = tokio::join!(send(), send());
        let mut ids = Vec::new();
        for res in [one.unwrap(), two.unwrap()] {
            match res.status() {
                StatusCode::CREATED => ids.push(res.json::<Value>().await.unwrap()["id"].clone()),
                // The other tap was still running when this one looked at the key.
                StatusCode::CONFLICT => {
                    assert_problem(res, StatusCode::CONFLICT, "request_in_progress").await;
                }
                other => panic!("unexpected {other}: {}", res.text().await.unwrap()),
            }
        }
        assert!(
            !ids.is_empty() && ids.iter().all(|id| *id == ids[0]),
            "{ids:?}"
        );
        assert_eq!(app.seats_taken(&slot_id(&event, 0)).await, 2);
        let mine = app.my_reservations(&a).await;
        let mine = mine["items"].as_array().unwrap();
        assert_eq!(mine.len(), 1 + round, "{mine:?}");
        assert_eq!(mine[0]["id"], ids[0]);

        // Once both are answered, a third tap replays the same reservation.
        let again = send().await.unwrap();
        assert_eq!(again.status(), StatusCode::CREATED);
        assert_eq!(again.headers()["idempotent-replayed"], "true");
        assert_eq!(again.json::<Value>().await.unwrap()["id"], ids[0]);

        // Cancelled, so that the next round books again.
        let res = app.cancel_reservation(&a, ids[0].as_str().unwrap()).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
}

/// A place on the waitlist is kept for its key as a seat is: the retry replays it.
#[tokio::test]
async fn a_retry_of_a_waitlist_request_answers_the_same_place() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(180, 60, 1)]).await;
    let holder = app.login_resident("o-holder").await;
    app.booked(&holder, &event, 0, 1).await;
    let w = app.login_resident("o-w").await;
    let mut body = reserve_body(&slot_id(&event, 0), 1);
    body["waitlist"] = json!(true);
    let send = || {
        app.client
            .post(app.url(&format!("/api/v1/open-days/{}/reservations", id_of(&event))))
            .bearer_auth(&w.access_token)
            .header("Idempotency-Key", "wait-1")
            .json(&body)
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["status"], "waitlisted");
    let again = send().await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(
        app.my_reservations(&w).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn cancelling_before_the_cutoff_frees_the_seats_at_once() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    // Slots are listed by start: slot 0 starts in thirty minutes (past the one-hour
    // cutoff), slot 1 in three hours.
    let event = app
        .open_day(&staff, vec![slot(180, 60, 2), slot(30, 60, 2)])
        .await;
    let a = app.login_resident("o-a").await;
    let b = app.login_resident("o-b").await;
    let r = app.booked(&a, &event, 1, 2).await;

    // Not someone else's.
    let res = app.cancel_reservation(&b, &id_of(&r)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "reservation_not_found").await;

    let res = app.cancel_reservation(&a, &id_of(&r)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.seats_taken(&slot_id(&event, 1)).await, 0);
    assert_eq!(
        app.my_reservations(&a).await["items"][0]["status"],
        "cancelled"
    );
    let res = app.cancel_reservation(&a, &id_of(&r)).await;
    assert_problem(res, StatusCode::CONFLICT, "already_cancelled").await;

    // The freed seats go to the next resident straight away, and A may book again.
    app.booked(&b, &event, 1, 2).await;
    let late = app.booked(&a, &event, 0, 1).await;
    let res = app.cancel_reservation(&a, &id_of(&late)).await;
    assert_problem(res, StatusCode::CONFLICT, "cancel_cutoff_passed").await;
    assert_eq!(app.seats_taken(&slot_id(&event, 0)).await, 1);
}

#[tokio::test]
async fn freed_seats_go_to_the_earliest_waitlisted_party_that_fits() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(180, 60, 3)]).await;
    let s0 = slot_id(&event, 0);
    let a = app.login_resident("o-a").await;
    let b = app.login_resident("o-b").await;
    app.booked(&a, &event, 0, 2).await;
    let rb = app.booked(&b, &event, 0, 1).await;

    let waitlist = |party| {
        let mut body = reserve_body(&s0, party);
        body["waitlist"] = json!(true);
        body
    };
    let w1 = app.login_resident("o-w1").await;
    let w2 = app.login_resident("o-w2").await;
    let res = app.reserve(&w1, &event, &waitlist(3)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let r1: Value = res.json().await.unwrap();
    assert_eq!(r1["status"], "waitlisted");
    let res = app.reserve(&w2, &event, &waitlist(1)).await;
    let r2: Value = res.json().await.unwrap();
    assert_eq!(r2["status"], "waitlisted");
    assert_eq!(app.seats_taken(&s0).await, 3);

    // One seat frees: W1's party of 3 does not fit, W2's party of 1 does.
    assert_eq!(
        app.cancel_reservation(&b, &id_of(&rb)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.reservation_row(&id_of(&r1)).await.status, "waitlisted");
    assert_eq!(app.reservation_row(&id_of(&r2)).await.status, "confirmed");
    assert_eq!(app.seats_taken(&s0).await, 3);
    let inbox = app.inbox(&w2).await;
    let promoted = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "booking_confirmed")
        .cloned()
        .unwrap();
    assert_eq!(promoted["title"], "候补预约成功");
    assert!(
        app.inbox(&w1).await["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["kind"] != "booking_confirmed")
    );
}

#[tokio::test]
async fn mixed_parties_at_once_never_take_more_seats_than_there_are() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(180, 60, 20)]).await;
    let s0 = slot_id(&event, 0);
    let residents = join_all((0..60).map(|i| {
        let app = &app;
        async move { app.login_resident(&format!("o-party-{i}")).await }
    }))
    .await;
    let answers = join_all(residents.iter().enumerate().map(|(i, who)| {
        let (app, event) = (&app, &event);
        let body = reserve_body(&s0, (i % 4) as i64 + 1);
        async move {
            let res = app.reserve(who, event, &body).await;
            let status = res.status();
            (status, res.json::<Value>().await.unwrap())
        }
    }))
    .await;
    let mut seats = 0;
    for (status, body) in &answers {
        match *status {
            StatusCode::CREATED => seats += body["party_size"].as_i64().unwrap(),
            StatusCode::CONFLICT => assert_eq!(body["code"], "slot_full", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let taken = app.seats_taken(&s0).await;
    assert_eq!(i64::from(taken), seats);
    assert!(taken <= 20, "{taken}");
    // Fifteen parties of two alone ask for thirty seats, so one of them was refused, which
    // only happens with at most one seat free: no seat is lost either.
    assert!(taken >= 19, "{taken}");
}

/// A release-minute refusal is answered before the Idempotency-Key is claimed (the service
/// remembers the full slot for a moment, so the thousands refused cost no transaction): a
/// refused resident who taps again with the same key after a seat is freed gets the seat,
/// while a resident who holds one still gets her own answer replayed, not "full".
#[tokio::test]
async fn a_refusal_for_a_full_slot_claims_no_key_and_never_hides_a_holders_booking() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(180, 60, 1)]).await;
    let body = reserve_body(&slot_id(&event, 0), 1);
    let path = format!("/api/v1/open-days/{}/reservations", id_of(&event));
    let send = |who: &crate::helpers::Session, key: &'static str| {
        app.client
            .post(app.url(&path))
            .bearer_auth(&who.access_token)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let holder = app.login_resident("o-holder").await;
    let first = send(&holder, "holder-1").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();

    // The first refusal finds the slot full in the database; the next ones are told at once.
    let early = app.login_resident("o-early").await;
    let late = app.login_resident("o-late").await;
    let res = send(&early, "early-1").await.unwrap();
    assert_problem(res, StatusCode::CONFLICT, "slot_full").await;
    let res = send(&late, "late-1").await.unwrap();
    assert!(res.headers().get("idempotent-replayed").is_none());
    assert_problem(res, StatusCode::CONFLICT, "slot_full").await;

    // The holder's flaky-network retry replays her booking; a new tap says she has one.
    let again = send(&holder, "holder-1").await.unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);
    let res = send(&holder, "holder-2").await.unwrap();
    assert_problem(res, StatusCode::CONFLICT, "already_reserved").await;

    // A malformed attempt still hears what is wrong with it, not that the slot is full.
    let res = app
        .client
        .post(app.url(&path))
        .bearer_auth(&late.access_token)
        .json(
            &json!({"slot_id": slot_id(&event, 0), "party_size": 1, "visitor_name": "李四",
            "phone": "12345", "consent": true}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = res.json().await.unwrap();
    assert!(fields(&problem).contains(&"phone".to_owned()), "{problem}");

    // The holder cancels: the seat is free at once, and the resident refused a moment ago
    // taps again with the same key and gets it.
    let res = app.cancel_reservation(&holder, &id_of(&first)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = send(&late, "late-1").await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(app.seats_taken(&slot_id(&event, 0)).await, 1);
    let res = send(&early, "early-2").await.unwrap();
    assert_problem(res, StatusCode::CONFLICT, "slot_full").await;
}

/// An attempt let through to the database but refused there (its key was used for another
/// request) takes no seat: the next resident gets it.
#[tokio::test]
async fn an_attempt_refused_on_its_way_to_the_database_leaves_the_seat_to_the_next_resident() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(180, 60, 1)]).await;
    let path = format!("/api/v1/open-days/{}/reservations", id_of(&event));
    let b = app.login_resident("o-b").await;
    let send = |body: Value| {
        app.client
            .post(app.url(&path))
            .bearer_auth(&b.access_token)
            .header("Idempotency-Key", "b-key")
            .json(&body)
            .send()
    };
    let res = send(reserve_body(&slot_id(&event, 0), 0)).await.unwrap();
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    // The same key for a different request.
    let res = send(reserve_body(&slot_id(&event, 0), 1)).await.unwrap();
    assert_problem(
        res,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    assert_eq!(app.seats_taken(&slot_id(&event, 0)).await, 0);

    let c = app.login_resident("o-c").await;
    app.booked(&c, &event, 0, 1).await;
    assert_eq!(app.seats_taken(&slot_id(&event, 0)).await, 1);
}

/// The release-minute guard reads a booking's body before anything else does: an oversized
/// one is still refused as too large, not passed on half-read.
#[tokio::test]
async fn an_oversized_booking_is_refused_as_too_large() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(180, 60, 5)]).await;
    let who = app.login_resident("o-big").await;
    let mut body = reserve_body(&slot_id(&event, 0), 1);
    body["visitor_name"] = json!("张".repeat(2 * 1024 * 1024));
    let res = app.reserve(&who, &event, &body).await;
    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert_eq!(app.seats_taken(&slot_id(&event, 0)).await, 0);
}
