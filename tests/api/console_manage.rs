//! The console's management pages over plain HTTP: administrators disable and enable staff
//! accounts and filter the audit log; staff change an open day and its slots (refused below
//! the seats taken), read each slot's masked visitors, and call off open days and meetings.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::Value;

use crate::{
    console_http::{client, console_session, csrf_in, page},
    console_officers::{admin_session, at, post, see_other},
    open_days_support::{id_of, slot},
};

/// The id in the disable/enable form of `username`'s row on the admin page.
fn staff_id_in(html: &str, username: &str) -> String {
    let before = html
        .split(&format!("data-staff=\"{username}\""))
        .next()
        .unwrap();
    let at = before.rfind("/console/admin/staff/").unwrap() + "/console/admin/staff/".len();
    before[at..].split('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn administrators_disable_and_enable_staff_and_filter_the_audit_log() {
    let app = crate::helpers::spawn_app().await;
    app.staff_of("shi.gong", "shichahai").await;
    app.staff_of("de.sheng", "desheng").await;
    let staff = console_session(&app, "shi.gong").await;
    let admin = admin_session(&app).await;
    let (status, html) = page(&app, &admin, "/console/admin").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_in(&html);
    let shi = staff_id_in(&html, "shi.gong");
    let disable = format!("/console/admin/staff/{shi}/disabled");

    // Staff cannot; a forged token cannot.
    let (_, own) = page(&app, &staff, "/console").await;
    let res = post(
        &app,
        &staff,
        &disable,
        &[("csrf", &csrf_in(&own)), ("disabled", "true")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = post(
        &app,
        &admin,
        &disable,
        &[("csrf", "forged"), ("disabled", "true")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Disabled: the account's console session ends at once and it cannot sign in.
    see_other(
        &post(
            &app,
            &admin,
            &disable,
            &[("csrf", &csrf), ("disabled", "true")],
        )
        .await,
    );
    let (status, _) = page(&app, &staff, "/console").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let res = client()
        .post(app.url("/console/login"))
        .form(&[
            ("username", "shi.gong"),
            ("password", crate::helpers::STAFF_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    let (_, html) = page(&app, &admin, "/console/admin").await;
    assert!(html.contains("已停用"));
    see_other(
        &post(
            &app,
            &admin,
            &disable,
            &[("csrf", &csrf), ("disabled", "false")],
        )
        .await,
    );
    console_session(&app, "shi.gong").await;

    // Administrators do not disable themselves.
    let me = staff_id_in(&html, "de.sheng");
    assert_ne!(me, shi);
    let admin_id = {
        let (_, html) = page(&app, &admin, "/console/admin").await;
        html.split("<option value=\"")
            .skip(1)
            .map(|s| {
                (
                    s.split('"').next().unwrap().to_owned(),
                    s.split('>')
                        .nth(1)
                        .unwrap()
                        .split('<')
                        .next()
                        .unwrap()
                        .to_owned(),
                )
            })
            .find(|(_, name)| name == crate::helpers::ADMIN_USERNAME)
            .unwrap()
            .0
    };
    let res = post(
        &app,
        &admin,
        &format!("/console/admin/staff/{admin_id}/disabled"),
        &[("csrf", &csrf), ("disabled", "true")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("不能停用自己的账号"));

    // The log, filtered to what happened to shi.gong's account.
    let (status, html) = page(&app, &admin, &format!("/console/admin?target={shi}")).await;
    assert_eq!(status, StatusCode::OK);
    let log = html.split("id=\"audit-log\"").nth(1).unwrap();
    assert_eq!(log.matches("<tr>").count(), 4, "{log}"); // header, created, disabled, enabled
    assert!(log.contains("staff.disabled") && log.contains("staff.enabled"));
    assert!(!log.contains(&me));
    let tomorrow = (Utc::now() + Duration::hours(8) + Duration::days(1)).date_naive();
    let (_, html) = page(
        &app,
        &admin,
        &format!("/console/admin?actor={admin_id}&from={tomorrow}"),
    )
    .await;
    let log = html.split("id=\"audit-log\"").nth(1).unwrap();
    assert_eq!(log.matches("<tr>").count(), 1, "{log}");
    let (status, _) = page(&app, &admin, "/console/admin?from=yesterday").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn staff_change_an_open_day_read_its_visitors_and_call_it_off() {
    let app = crate::helpers::spawn_app().await;
    let staff = app.unit_staff().await;
    let event = app.open_day(&staff, vec![slot(24 * 60, 60, 10)]).await;
    let id = id_of(&event);
    let visitor = app.login_resident("o-visitor").await;
    app.booked(&visitor, &event, 0, 3).await;

    let cookie = console_session(&app, "xinjiekou-staff").await;
    let desk = format!("/console/open-days/{id}/desk");
    let (status, html) = page(&app, &cookie, &desk).await;
    assert_eq!(status, StatusCode::OK);
    // The slot's visitors, masked.
    let visitors = html.split("class=\"data visitors\"").nth(1).unwrap();
    assert!(
        visitors.contains("张*") && visitors.contains("3"),
        "{visitors}"
    );
    assert!(!visitors.contains("张三"));

    // The form comes filled with the event and its slot; one empty row adds a slot.
    let edit = format!("/console/open-days/{id}/edit");
    let (status, form) = page(&app, &cookie, &edit).await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_in(&form);
    let value = |name: &str| {
        let at = form.find(&format!("name=\"{name}\"")).unwrap();
        let rest = &form[at..];
        let v = rest.find("value=\"").unwrap() + 7;
        rest[v..].split('"').next().unwrap().to_owned()
    };
    assert_eq!(value("slot0_capacity"), "10");
    assert!(form.contains("name=\"slot1_starts\"") && !form.contains("name=\"slot2_starts\""));
    let mut fields: Vec<(String, String)> = [
        "title",
        "location",
        "eligibility",
        "booking_opens_at",
        "booking_closes_at",
        "cancel_cutoff_minutes",
        "max_party_size",
        "slot0_id",
        "slot0_starts",
        "slot0_ends",
    ]
    .iter()
    .map(|k| (k.to_string(), value(k)))
    .collect();
    fields.push(("csrf".into(), csrf.clone()));
    fields.push(("description".into(), "走进街道，了解为民服务。".into()));
    fields.push(("slot1_starts".into(), at(2, 14)));
    fields.push(("slot1_ends".into(), at(2, 15)));
    fields.push(("slot1_capacity".into(), "8".into()));
    let send = |capacity: &str| {
        let mut f = fields.clone();
        f.push(("slot0_capacity".into(), capacity.into()));
        f
    };

    // Three seats are taken: two is refused on the form, naming the slot.
    let res = client()
        .post(app.url(&edit))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&send("2"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let html = res.text().await.unwrap();
    assert!(html.contains("名额不能少于已预约的人数") && html.contains("slots[0].capacity"));
    let res = client()
        .post(app.url(&edit))
        .header(reqwest::header::COOKIE, &cookie)
        .form(&send("12"))
        .send()
        .await
        .unwrap();
    assert_eq!(see_other(&res), desk);
    let stored: Value = app
        .get(
            &format!("/api/v1/open-days/{id}"),
            Some(&staff.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    let capacities: Vec<i64> = stored["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["capacity"].as_i64().unwrap())
        .collect();
    assert_eq!(capacities, [12, 8], "{stored}");

    // Another unit's staff can neither open the form nor call the day off.
    app.staff_of("yuetan-li", "yuetan").await;
    let other = console_session(&app, "yuetan-li").await;
    let (status, other_home) = page(&app, &other, "/console").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = page(&app, &other, &edit).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let cancel = format!("/console/open-days/{id}/cancel");
    let res = post(&app, &other, &cancel, &[("csrf", &csrf_in(&other_home))]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Called off: the booking goes with it.
    see_other(&post(&app, &cookie, &cancel, &[("csrf", &csrf)]).await);
    let stored: Value = app
        .get(
            &format!("/api/v1/open-days/{id}"),
            Some(&staff.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["status"], "cancelled");
    let mine = app
        .get("/api/v1/me/reservations", Some(&visitor.access_token))
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(mine["items"][0]["status"], "cancelled", "{mine}");
}

#[tokio::test]
async fn staff_call_off_a_meeting_from_its_desk() {
    let app = crate::helpers::spawn_app().await;
    let staff = app.staff_of("yuetan-li", "yuetan").await;
    let meeting = crate::deliberation::published_meeting(
        &app,
        &staff,
        &crate::deliberation::meeting_body("yuetan", 5, 0, false),
    )
    .await;
    for openid in ["o-a", "o-b"] {
        let r = app.login_resident(openid).await;
        crate::deliberation::signed_up(&app, &r, &meeting).await;
    }
    let cookie = console_session(&app, "yuetan-li").await;

    // The form comes filled; two residents have confirmed, so one seat is refused on it.
    let edit = format!("/console/deliberations/{meeting}/edit");
    let (status, form) = page(&app, &cookie, &edit).await;
    assert_eq!(status, StatusCode::OK);
    let value = |name: &str| {
        let at = form.find(&format!("name=\"{name}\"")).unwrap();
        let rest = &form[at..];
        let v = rest.find("value=\"").unwrap() + 7;
        rest[v..].split('"').next().unwrap().to_owned()
    };
    assert_eq!(value("capacity"), "5");
    let fields = |capacity: &str| -> Vec<(String, String)> {
        let mut f: Vec<(String, String)> = [
            "location",
            "starts_at",
            "ends_at",
            "signup_opens_at",
            "signup_closes_at",
            "reserved_seats",
            "eligibility",
        ]
        .iter()
        .map(|k| (k.to_string(), value(k)))
        .collect();
        f.push(("csrf".into(), csrf_in(&form)));
        f.push(("title".into(), "胡同停车秩序议事会（改期）".into()));
        f.push(("background".into(), "居民反映胡同内停车混乱。".into()));
        f.push(("agenda".into(), "1. 情况通报 2. 居民发言".into()));
        f.push(("capacity".into(), capacity.into()));
        f
    };
    let send = |f: Vec<(String, String)>| {
        let (app, cookie, edit) = (&app, cookie.clone(), edit.clone());
        async move {
            client()
                .post(app.url(&edit))
                .header(reqwest::header::COOKIE, cookie)
                .form(&f)
                .send()
                .await
                .unwrap()
        }
    };
    let res = send(fields("1")).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let html = res.text().await.unwrap();
    assert!(html.contains("已有 2 位居民确认参会") && html.contains("（改期）"));
    let res = send(fields("8")).await;
    assert_eq!(
        see_other(&res),
        format!("/console/deliberations/{meeting}/desk")
    );
    let m: Value = app
        .get(
            &format!("/api/v1/deliberations/{meeting}"),
            Some(&staff.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(m["capacity"], 8);
    assert_eq!(m["title"], "胡同停车秩序议事会（改期）");

    let (status, html) = page(
        &app,
        &cookie,
        &format!("/console/deliberations/{meeting}/desk"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"cancel-meeting\"") && html.contains("confirm("));
    let cancel = format!("/console/deliberations/{meeting}/cancel");
    let res = post(&app, &cookie, &cancel, &[("csrf", "forged")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        see_other(&post(&app, &cookie, &cancel, &[("csrf", &csrf_in(&html))]).await),
        "/console/deliberations"
    );
    let m: Value = app
        .get(
            &format!("/api/v1/deliberations/{meeting}"),
            Some(&staff.access_token),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(m["status"], "cancelled", "{m}");
}
