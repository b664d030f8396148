//! Seats are counted in the database: 300 residents signing up at once for 30 seats, through
//! two instances of the service, give exactly 30 confirmed and a waitlist in arrival order.

use canyu::{entities::deliberation_signups, startup::Application};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    deliberation::{meeting_body, published_meeting},
    helpers::spawn_app,
};

#[tokio::test]
async fn three_hundred_at_once_for_thirty_seats_on_two_instances() {
    let app = spawn_app().await;
    let staff = app.staff_of("yuetan-li", "yuetan").await;
    // 32 seats, 2 kept for invited representatives: 30 for residents.
    let id = published_meeting(&app, &staff, &meeting_body("yuetan", 32, 2, true)).await;

    // A second instance on the same database (its own pool on PostgreSQL).
    let second = if app.pg_database.is_some() {
        Application::build(app.settings.clone()).await
    } else {
        Application::build_with_db(app.settings.clone(), app.state.db.clone()).await
    }
    .expect("second instance builds");
    let second_address = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());

    let mut residents = Vec::new();
    for i in 0..300 {
        residents.push(app.login_resident(&format!("o-crowd-{i}")).await);
    }
    let mut tasks = Vec::new();
    for (i, who) in residents.iter().enumerate() {
        let base = if i % 2 == 0 {
            app.address.clone()
        } else {
            second_address.clone()
        };
        let client = app.client.clone();
        let token = who.access_token.clone();
        let url = format!("{base}/api/v1/deliberations/{id}/signups");
        tasks.push(tokio::spawn(async move {
            let res = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "name": "王五", "phone": "13900001111", "consent": true }))
                .send()
                .await
                .expect("sent");
            let status = res.status();
            let body: Value = res.json().await.expect("json");
            (status, body)
        }));
    }
    let mut confirmed = 0;
    let mut positions = Vec::new();
    let mut by_id = std::collections::HashMap::new();
    for t in tasks {
        let (status, body) = t.await.expect("task");
        assert_eq!(status, StatusCode::CREATED, "{body}");
        match body["status"].as_str().unwrap() {
            "confirmed" => confirmed += 1,
            "waitlisted" => positions.push(body["waitlist_position"].as_i64().unwrap()),
            other => panic!("unexpected status {other}"),
        }
        by_id.insert(body["id"].as_str().unwrap().parse::<Uuid>().unwrap(), body);
    }
    assert_eq!(confirmed, 30);
    positions.sort_unstable();
    assert_eq!(positions, (1..=270).collect::<Vec<i64>>());

    // Arrival order: the first 30 to take the meeting row got the seats, and each
    // waitlisted resident's position is their place in line after them.
    let rows = deliberation_signups::Entity::find()
        .filter(deliberation_signups::Column::DeliberationId.eq(id.parse::<Uuid>().unwrap()))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 300);
    for row in rows {
        let answer = &by_id[&row.id];
        if row.seq <= 30 {
            assert_eq!(row.status, "confirmed");
        } else {
            assert_eq!(row.status, "waitlisted");
            assert_eq!(answer["waitlist_position"], i64::from(row.seq) - 30);
        }
    }
    let detail: Value = app
        .get(&format!("/api/v1/deliberations/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["seats_left"], 0);
}
