//! At the door and after: check-ins, no-shows and suspension, reminders, the staff's visitor
//! list and figures, and what account deletion does to reservations.

use canyu::{entities::reservations, jobs::Tick};
use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};

use crate::{
    helpers::{Session, TestApp, assert_problem, spawn_app, spawn_app_with},
    open_days_support::{id_of, reserve_body, slot, slot_id},
};

fn code_of(r: &Value) -> String {
    r["verification_code"].as_str().unwrap().to_owned()
}

async fn kinds(app: &TestApp, who: &Session) -> Vec<String> {
    app.inbox(who).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn check_in_takes_the_code_or_the_qr_payload_and_refuses_each_case_by_name() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    // Slot 0 is under way; slot 1 starts in five hours.
    let event = app
        .open_day(&staff, vec![slot(-10, 60, 10), slot(300, 60, 10)])
        .await;
    let other_event = app.open_day(&staff, vec![slot(-10, 60, 10)]).await;
    let a = app.login_resident("o-a").await;
    let ra = app.booked(&a, &event, 0, 2).await;

    // Typed in lower case with a space: still the code.
    let code = code_of(&ra).to_lowercase();
    let typed = format!("{} {}", &code[..4], &code[4..]);
    let res = app.check_in(&staff, &event, &typed).await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["reservation_id"], ra["id"]);
    assert_eq!(v["party_size"], 2);
    assert_eq!(v["visitor_name"], "张*");
    assert_eq!(v["slot"]["id"], event["slots"][0]["id"]);
    assert_eq!(app.reservation_row(&id_of(&ra)).await.status, "checked_in");
    let res = app.check_in(&staff, &event, &code_of(&ra)).await;
    assert_problem(res, StatusCode::CONFLICT, "already_checked_in").await;

    // Outside the slot window (grace 30 minutes before the start).
    let b = app.login_resident("o-b").await;
    let rb = app.booked(&b, &event, 1, 1).await;
    let res = app.check_in(&staff, &event, &code_of(&rb)).await;
    assert_problem(res, StatusCode::CONFLICT, "outside_slot_window").await;
    assert_eq!(app.reservation_row(&id_of(&rb)).await.status, "confirmed");

    // Checked in already: no longer the resident's to cancel.
    let res = app.cancel_reservation(&a, &id_of(&ra)).await;
    assert_problem(res, StatusCode::CONFLICT, "reservation_closed").await;

    // Waitlisted: not confirmed.
    let full = app.open_day(&staff, vec![slot(-10, 60, 1)]).await;
    let f1 = app.login_resident("o-f1").await;
    app.booked(&f1, &full, 0, 1).await;
    let f2 = app.login_resident("o-f2").await;
    let mut body = reserve_body(&slot_id(&full, 0), 1);
    body["waitlist"] = json!(true);
    let waiting: Value = app.reserve(&f2, &full, &body).await.json().await.unwrap();
    assert_eq!(waiting["status"], "waitlisted");
    let res = app.check_in(&staff, &full, &code_of(&waiting)).await;
    assert_problem(res, StatusCode::CONFLICT, "reservation_not_confirmed").await;

    // Cancelled.
    let res = app.cancel_reservation(&b, &id_of(&rb)).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app.check_in(&staff, &event, &code_of(&rb)).await;
    assert_problem(res, StatusCode::CONFLICT, "reservation_cancelled").await;

    // Unknown, and of another event.
    let res = app.check_in(&staff, &event, "ABCDEFGH").await;
    assert_problem(res, StatusCode::NOT_FOUND, "reservation_not_found").await;
    let c = app.login_resident("o-c").await;
    let rc = app.booked(&c, &other_event, 0, 1).await;
    let res = app.check_in(&staff, &event, &code_of(&rc)).await;
    assert_problem(res, StatusCode::CONFLICT, "wrong_event").await;
    let res = app
        .check_in(&staff, &event, rc["qr_payload"].as_str().unwrap())
        .await;
    assert_problem(res, StatusCode::CONFLICT, "wrong_event").await;

    // The QR payload works; a forged one does not.
    let d = app.login_resident("o-d").await;
    let rd = app.booked(&d, &event, 0, 1).await;
    let qr = rd["qr_payload"].as_str().unwrap();
    let forged = qr.replace(&id_of(&rd), &id_of(&ra));
    let res = app.check_in(&staff, &event, &forged).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "qr_invalid").await;
    let res = app.check_in(&staff, &event, qr).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.reservation_row(&id_of(&rd)).await.status, "checked_in");

    // Staff of another unit cannot check anyone in here.
    let yuetan = app.staff_of("yuetan-staff", "yuetan").await;
    let res = app.check_in(&yuetan, &event, &code_of(&ra)).await;
    assert_problem(res, StatusCode::FORBIDDEN, "org_unit_forbidden").await;

    // Check-ins are audited.
    let admin = app.login_admin().await;
    let audit: Value = app
        .get("/api/v1/admin/audit?limit=100", Some(&admin.access_token))
        .await
        .json()
        .await
        .unwrap();
    let check_ins = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "open_day.check_in")
        .count();
    assert_eq!(check_ins, 2);
}

#[tokio::test]
async fn the_check_in_grace_is_configurable() {
    let app = spawn_app_with(|s| s.open_day_check_in_grace_minutes = 360).await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(300, 60, 10)]).await;
    let a = app.login_resident("o-a").await;
    let r = app.booked(&a, &event, 0, 1).await;
    let res = app.check_in(&staff, &event, &code_of(&r)).await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// Three bookings of `who`, each on its own open day, whose slots ended three, two and one
/// days ago: missed, once the no-show job runs.
async fn three_missed(app: &TestApp, staff: &Session, who: &Session) -> Vec<Value> {
    let mut missed = Vec::new();
    for days_ago in (1..=3).rev() {
        let event = app.open_day(staff, vec![slot(120, 60, 5)]).await;
        missed.push(app.booked(who, &event, 0, 1).await);
        let end = Utc::now() - Duration::days(days_ago);
        app.move_slot(&slot_id(&event, 0), end - Duration::hours(1), end)
            .await;
    }
    missed
}

#[tokio::test]
async fn three_no_shows_suspend_booking_for_thirty_days() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let a = app.login_resident("o-a").await;
    let b = app.login_resident("o-b").await;
    let missed = three_missed(&app, &staff, &a).await;
    // B came to theirs: checked in before the slot ended.
    let event_b = app.open_day(&staff, vec![slot(-10, 60, 5)]).await;
    let rb = app.booked(&b, &event_b, 0, 1).await;
    assert_eq!(
        app.check_in(&staff, &event_b, &code_of(&rb)).await.status(),
        StatusCode::OK
    );
    app.move_slot(
        &slot_id(&event_b, 0),
        Utc::now() - Duration::hours(2),
        Utc::now() - Duration::hours(1),
    )
    .await;

    assert_eq!(app.run_job("open_day_no_shows").await, Tick::Ran);
    for r in &missed {
        let row = app.reservation_row(&id_of(r)).await;
        assert_eq!(row.status, "no_show");
        assert!(row.no_show_at.is_some());
    }
    assert_eq!(app.reservation_row(&id_of(&rb)).await.status, "checked_in");
    // A second tick changes nothing.
    assert_eq!(app.run_job("open_day_no_shows").await, Tick::Ran);
    assert_eq!(
        app.reservation_row(&id_of(&missed[0])).await.status,
        "no_show"
    );

    let next = app.open_day(&staff, vec![slot(600, 60, 5)]).await;
    let res = app
        .reserve(&a, &next, &reserve_body(&slot_id(&next, 0), 1))
        .await;
    let p = assert_problem(res, StatusCode::FORBIDDEN, "booking_suspended").await;
    let lifts: DateTime<Utc> = p["lifts_at"].as_str().unwrap().parse().unwrap();
    let days = (lifts - Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.0..=30.5).contains(&days), "{lifts} {days}");
    assert_eq!(app.seats_taken(&slot_id(&next, 0)).await, 0);
    // B, who came, books as usual.
    app.booked(&b, &next, 0, 1).await;
    // Asked again once others booked the slot (bookings then take seats without reading
    // the slot or her no-shows first), she is refused all the same.
    let res = app
        .reserve(&a, &next, &reserve_body(&slot_id(&next, 0), 1))
        .await;
    assert_problem(res, StatusCode::FORBIDDEN, "booking_suspended").await;
    assert_eq!(app.seats_taken(&slot_id(&next, 0)).await, 1);

    // The figures of one missed day: one booked, none came.
    let stats: Value = app
        .get(
            &format!(
                "/api/v1/open-days/{}/stats",
                missed[0]["open_day_id"].as_str().unwrap()
            ),
            Some(&staff.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats["no_show_rate"], 1.0);
    assert_eq!(stats["slots"][0]["no_show"], 1);
}

#[tokio::test]
async fn with_the_limit_at_zero_nobody_is_suspended() {
    let app = spawn_app_with(|s| s.open_day_no_show_limit = 0).await;
    let staff = app.unit_staff().await;
    let a = app.login_resident("o-a").await;
    three_missed(&app, &staff, &a).await;
    app.run_job("open_day_no_shows").await;
    let next = app.open_day(&staff, vec![slot(600, 60, 5)]).await;
    app.booked(&a, &next, 0, 1).await;
    // And when she books with what another's booking read.
    let b = app.login_resident("o-b").await;
    let later = app.open_day(&staff, vec![slot(700, 60, 5)]).await;
    app.booked(&b, &later, 0, 1).await;
    app.booked(&a, &later, 0, 1).await;
}

/// Moves the no-show of reservation `r` (recorded when the job ran) to `at`.
async fn no_show_at(app: &TestApp, r: &Value, at: DateTime<Utc>) {
    let id: uuid::Uuid = id_of(r).parse().unwrap();
    reservations::Entity::update_many()
        .col_expr(reservations::Column::NoShowAt, Expr::value(at))
        .filter(reservations::Column::Id.eq(id))
        .exec(&app.state.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn no_shows_spread_wider_than_the_window_or_long_lapsed_do_not_suspend() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let a = app.login_resident("o-a").await;
    let b = app.login_resident("o-b").await;
    let missed = three_missed(&app, &staff, &a).await;
    assert_eq!(app.run_job("open_day_no_shows").await, Tick::Ran);
    // Three no-shows within the 210 days that can matter (180-day window, 30-day
    // suspension), a hundred days apart: never three within one window.
    let now = Utc::now();
    for (i, r) in missed.iter().enumerate() {
        no_show_at(
            &app,
            r,
            now - Duration::days(100 * i as i64) - Duration::hours(1),
        )
        .await;
    }
    // B books first each time: A's booking is then made with what B's read, and the
    // booking's own statement judges her no-shows.
    let next = app.open_day(&staff, vec![slot(600, 60, 5)]).await;
    app.booked(&b, &next, 0, 1).await;
    app.booked(&a, &next, 0, 1).await;

    // Three within a week, the latest 31 days ago: the suspension has lapsed.
    for (i, r) in missed.iter().enumerate() {
        no_show_at(&app, r, now - Duration::days(31 + i as i64)).await;
    }
    let later = app.open_day(&staff, vec![slot(700, 60, 5)]).await;
    app.booked(&b, &later, 0, 1).await;
    app.booked(&a, &later, 0, 1).await;

    // The latest 29 days ago: suspended until it is 30 days old.
    for (i, r) in missed.iter().enumerate() {
        no_show_at(&app, r, now - Duration::days(29 + i as i64)).await;
    }
    let third = app.open_day(&staff, vec![slot(800, 60, 5)]).await;
    app.booked(&b, &third, 0, 1).await;
    let res = app
        .reserve(&a, &third, &reserve_body(&slot_id(&third, 0), 1))
        .await;
    let p = assert_problem(res, StatusCode::FORBIDDEN, "booking_suspended").await;
    let lifts: DateTime<Utc> = p["lifts_at"].as_str().unwrap().parse().unwrap();
    let hours = (lifts - now).num_hours();
    assert!((23..=24).contains(&hours), "{lifts}");
    assert_eq!(app.seats_taken(&slot_id(&third, 0)).await, 1);
}

#[tokio::test]
async fn the_day_before_each_booked_resident_gets_one_reminder() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app
        .open_day(&staff, vec![slot(20 * 60, 60, 5), slot(3 * 24 * 60, 60, 5)])
        .await;
    let soon = app.login_resident("o-soon").await;
    let later = app.login_resident("o-later").await;
    app.booked(&soon, &event, 0, 1).await;
    app.booked(&later, &event, 1, 1).await;
    assert_eq!(app.run_job("open_day_reminders").await, Tick::Ran);
    assert_eq!(app.run_job("open_day_reminders").await, Tick::Ran);
    let k = kinds(&app, &soon).await;
    assert_eq!(
        k.iter().filter(|k| *k == "booking_reminder").count(),
        1,
        "{k:?}"
    );
    assert!(
        !kinds(&app, &later)
            .await
            .contains(&"booking_reminder".to_owned())
    );
}

#[tokio::test]
async fn staff_see_visitors_masked_and_reveal_one_through_the_audit_log() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(120, 60, 10)]).await;
    let a = app.login_resident("o-a").await;
    let r = app.booked(&a, &event, 0, 3).await;
    let path = format!(
        "/api/v1/open-days/{}/slots/{}/visitors",
        id_of(&event),
        slot_id(&event, 0)
    );
    let res = app.get(&path, Some(&staff.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let list: Value = res.json().await.unwrap();
    let v = &list["items"][0];
    assert_eq!(v["visitor_name"], "张*");
    assert_eq!(v["phone"], "138****5678");
    assert_eq!(v["party_size"], 3);
    let yuetan = app.staff_of("yuetan-staff", "yuetan").await;
    assert_problem(
        app.get(&path, Some(&yuetan.access_token)).await,
        StatusCode::FORBIDDEN,
        "org_unit_forbidden",
    )
    .await;

    let reveal = format!(
        "/api/v1/open-days/{}/reservations/{}/reveal",
        id_of(&event),
        id_of(&r)
    );
    let res = app
        .post(
            &reveal,
            Some(&staff.access_token),
            &json!({ "field": "phone", "reason": "联系访客改期" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let revealed: Value = res.json().await.unwrap();
    assert_eq!(revealed["value"], "13812345678");
    let admin = app.login_admin().await;
    let audit: Value = app
        .get("/api/v1/admin/audit?limit=100", Some(&admin.access_token))
        .await
        .json()
        .await
        .unwrap();
    let entry = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "personal_data.revealed")
        .cloned()
        .unwrap();
    assert_eq!(entry["target_id"], r["id"]);
    assert!(entry.to_string().contains("联系访客改期"), "{entry}");

    let stats: Value = app
        .get(
            &format!("/api/v1/open-days/{}/stats", id_of(&event)),
            Some(&staff.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stats["slots"][0]["taken"], 3);
    assert_eq!(stats["slots"][0]["utilisation"], 0.3);
    assert_eq!(stats["no_show_rate"], Value::Null);
}

#[tokio::test]
async fn deleting_an_account_frees_its_seats_erases_visitor_data_and_the_export_shows_bookings() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(120, 60, 4)]).await;
    let a = app.login_resident("o-a").await;
    let r = app.booked(&a, &event, 0, 4).await;

    let export: Value = app
        .get("/api/v1/me/data-export", Some(&a.access_token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(export["reservations"][0]["id"], r["id"]);
    assert_eq!(export["reservations"][0]["phone"], "13812345678");
    assert_eq!(export["reservations"][0]["visitor_name"], "张三");

    let mut waiting = reserve_body(&slot_id(&event, 0), 2);
    waiting["waitlist"] = json!(true);
    let w = app.login_resident("o-w").await;
    let rw: Value = app
        .reserve(&w, &event, &waiting)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rw["status"], "waitlisted");

    let res = app
        .request(Method::DELETE, "/api/v1/me", Some(&a.access_token), None)
        .await;
    assert!(res.status().is_success(), "{}", res.status());
    let row = app.reservation_row(&id_of(&r)).await;
    assert_eq!(row.status, "cancelled");
    assert_eq!(row.visitor_name_enc, None);
    assert_eq!(row.phone_enc, None);
    // The seats went back, and the waiting party got two of them.
    assert_eq!(app.seats_taken(&slot_id(&event, 0)).await, 2);
    assert_eq!(app.reservation_row(&id_of(&rw)).await.status, "confirmed");
}

/// Every XML part of a workbook, as one text.
fn workbook_text(bytes: &[u8]) -> String {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut all = String::new();
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).unwrap();
        let mut s = String::new();
        part.read_to_string(&mut s).unwrap();
        all.push_str(&s);
    }
    all
}

#[tokio::test]
async fn staff_export_a_slot_s_visitors_as_a_masked_workbook() {
    let app = spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(120, 60, 10)]).await;
    let a = app.login_resident("o-a").await;
    let r = app.booked(&a, &event, 0, 2).await;
    let path = format!(
        "/api/v1/open-days/{}/slots/{}/visitors.xlsx",
        id_of(&event),
        slot_id(&event, 0)
    );
    let res = app.get(&path, Some(&staff.access_token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".xlsx")
    );
    let bytes = res.bytes().await.unwrap();
    let text = workbook_text(&bytes);
    assert!(text.contains(&code_of(&r)), "code missing");
    assert!(
        text.contains("张*") && text.contains("138****5678"),
        "masked values missing"
    );
    assert!(
        !text.contains("张三") && !text.contains("13812345678"),
        "plain values leaked"
    );

    let yuetan = app.staff_of("yuetan-staff", "yuetan").await;
    assert_problem(
        app.get(&path, Some(&yuetan.access_token)).await,
        StatusCode::FORBIDDEN,
        "org_unit_forbidden",
    )
    .await;
}
