//! Helpers for the open-day tests: events whose booking window is open now, bookings, and
//! moving a slot in time (the one thing a black-box test cannot wait for).

use canyu::entities::{open_day_slots, reservations};
use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp};

pub const UNIT: &str = "xinjiekou";

/// One slot: starts `start_min` minutes from now, lasts `len_min`, holds `capacity`.
pub fn slot(start_min: i64, len_min: i64, capacity: i64) -> Value {
    let starts = Utc::now() + Duration::minutes(start_min);
    json!({
        "starts_at": starts.to_rfc3339(),
        "ends_at": (starts + Duration::minutes(len_min)).to_rfc3339(),
        "capacity": capacity,
    })
}

/// An open day of `UNIT` whose booking window is open now (for a week), cancel cutoff one
/// hour, parties up to 4.
pub fn event_body(slots: Vec<Value>) -> Value {
    let now = Utc::now();
    json!({
        "org_unit": UNIT,
        "title": "新街口街道办事处开放日",
        "description": "走进街道，了解为民服务。",
        "location": "新街口街道办事处一层大厅",
        "booking_opens_at": (now - Duration::hours(1)).to_rfc3339(),
        "booking_closes_at": (now + Duration::days(7)).to_rfc3339(),
        "cancel_cutoff_minutes": 60,
        "max_party_size": 4,
        "eligibility": "西城区居民",
        "slots": slots,
    })
}

pub fn reserve_body(slot_id: &str, party: i64) -> Value {
    json!({
        "slot_id": slot_id,
        "party_size": party,
        "visitor_name": "张三",
        "phone": "13812345678",
        "consent": true,
    })
}

pub fn slot_id(event: &Value, i: usize) -> String {
    event["slots"][i]["id"].as_str().unwrap().to_owned()
}

pub fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

impl TestApp {
    pub async fn unit_staff(&self) -> Session {
        self.staff_of("xinjiekou-staff", UNIT).await
    }

    pub async fn create_open_day(&self, staff: &Session, body: &Value) -> Value {
        let res = self
            .post("/api/v1/open-days", Some(&staff.access_token), body)
            .await;
        let status = res.status();
        let v: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v
    }

    /// Created and published, with these slots.
    pub async fn open_day(&self, staff: &Session, slots: Vec<Value>) -> Value {
        let e = self.create_open_day(staff, &event_body(slots)).await;
        let res = self
            .post(
                &format!("/api/v1/open-days/{}/publish", id_of(&e)),
                Some(&staff.access_token),
                &json!({}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    pub async fn reserve(&self, who: &Session, event: &Value, body: &Value) -> reqwest::Response {
        self.post(
            &format!("/api/v1/open-days/{}/reservations", id_of(event)),
            Some(&who.access_token),
            body,
        )
        .await
    }

    /// Books and asserts it worked.
    pub async fn booked(&self, who: &Session, event: &Value, slot: usize, party: i64) -> Value {
        let res = self
            .reserve(who, event, &reserve_body(&slot_id(event, slot), party))
            .await;
        let status = res.status();
        let v: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v
    }

    pub async fn cancel_reservation(&self, who: &Session, id: &str) -> reqwest::Response {
        self.request(
            Method::DELETE,
            &format!("/api/v1/reservations/{id}"),
            Some(&who.access_token),
            None,
        )
        .await
    }

    pub async fn open_day_detail(&self, event: &Value) -> Value {
        let res = self
            .get(&format!("/api/v1/open-days/{}", id_of(event)), None)
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    /// Seats taken, as the database holds them.
    pub async fn seats_taken(&self, slot_id: &str) -> i32 {
        open_day_slots::Entity::find_by_id(slot_id.parse::<Uuid>().unwrap())
            .one(&self.state.db)
            .await
            .unwrap()
            .unwrap()
            .taken
    }

    pub async fn reservation_row(&self, id: &str) -> reservations::Model {
        reservations::Entity::find_by_id(id.parse::<Uuid>().unwrap())
            .one(&self.state.db)
            .await
            .unwrap()
            .unwrap()
    }

    /// Moves a slot in time.
    pub async fn move_slot(&self, slot_id: &str, starts: DateTime<Utc>, ends: DateTime<Utc>) {
        open_day_slots::Entity::update_many()
            .col_expr(open_day_slots::Column::StartsAt, Expr::value(starts))
            .col_expr(open_day_slots::Column::EndsAt, Expr::value(ends))
            .filter(open_day_slots::Column::Id.eq(slot_id.parse::<Uuid>().unwrap()))
            .exec(&self.state.db)
            .await
            .unwrap();
        // The cached detail must not outlive the move.
        let slot = open_day_slots::Entity::find_by_id(slot_id.parse::<Uuid>().unwrap())
            .one(&self.state.db)
            .await
            .unwrap()
            .unwrap();
        self.state
            .cache
            .delete(&format!("open_days:{}:view", slot.open_day_id))
            .await;
    }

    pub async fn my_reservations(&self, who: &Session) -> Value {
        let res = self
            .get("/api/v1/me/reservations", Some(&who.access_token))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    pub async fn check_in(&self, staff: &Session, event: &Value, code: &str) -> reqwest::Response {
        self.post(
            &format!("/api/v1/open-days/{}/check-ins", id_of(event)),
            Some(&staff.access_token),
            &json!({ "code": code }),
        )
        .await
    }
}
