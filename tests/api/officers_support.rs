//! Helpers for the experience-officer tests: campaigns whose application window is open now,
//! residents who apply and are approved, activities, and moving things in time (the one thing
//! a black-box test cannot wait for).

use canyu::entities::{officer_activities, officer_feedback, officers};
use chrono::{DateTime, Duration, Utc};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{Session, TestApp};

pub const UNIT: &str = "yuetan";

/// A campaign of `UNIT` whose application window is open now (for a week).
pub fn campaign_body(quota: i64, term_months: i64) -> Value {
    let now = Utc::now();
    json!({
        "title": "月坛街道政务服务特邀体验员",
        "description": "体验办事流程，提出改进建议。",
        "org_unit": UNIT,
        "quota": quota,
        "requirements": "年满 18 周岁的西城区居民",
        "apply_opens_at": (now - Duration::hours(1)).to_rfc3339(),
        "apply_closes_at": (now + Duration::days(7)).to_rfc3339(),
        "term_months": term_months,
    })
}

pub fn apply_body() -> Value {
    json!({
        "real_name": "李四",
        "phone": "13900001111",
        "age_group": "30-39",
        "occupation": "教师",
        "community": "月坛社区",
        "motivation": "想让办事更方便",
        "consent": true,
    })
}

pub fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

pub fn items(page: &Value) -> &Vec<Value> {
    page["items"].as_array().unwrap()
}

impl TestApp {
    pub async fn unit_officer_staff(&self) -> Session {
        self.staff_of("yuetan-officers", UNIT).await
    }

    pub async fn create_campaign(&self, staff: &Session, body: &Value) -> Value {
        let res = self
            .post("/api/v1/officer-campaigns", Some(&staff.access_token), body)
            .await;
        let status = res.status();
        let v: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v
    }

    /// Created and published.
    pub async fn campaign(&self, staff: &Session, quota: i64) -> Value {
        let c = self.create_campaign(staff, &campaign_body(quota, 12)).await;
        let res = self
            .post(
                &format!("/api/v1/officer-campaigns/{}/publish", id_of(&c)),
                Some(&staff.access_token),
                &json!({}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    pub async fn apply(&self, who: &Session, campaign: &str, body: &Value) -> reqwest::Response {
        self.post(
            &format!("/api/v1/officer-campaigns/{campaign}/applications"),
            Some(&who.access_token),
            body,
        )
        .await
    }

    /// Applies and asserts it worked.
    pub async fn applied(&self, who: &Session, campaign: &str) -> Value {
        let res = self.apply(who, campaign, &apply_body()).await;
        let status = res.status();
        let v: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v
    }

    pub async fn approve(&self, staff: &Session, application: &str) -> reqwest::Response {
        self.post(
            &format!("/api/v1/officer-applications/{application}/approve"),
            Some(&staff.access_token),
            &json!({}),
        )
        .await
    }

    pub async fn reject(
        &self,
        staff: &Session,
        application: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.post(
            &format!("/api/v1/officer-applications/{application}/reject"),
            Some(&staff.access_token),
            body,
        )
        .await
    }

    pub async fn withdraw(&self, who: &Session, campaign: &str) -> reqwest::Response {
        self.request(
            Method::DELETE,
            &format!("/api/v1/officer-campaigns/{campaign}/applications/me"),
            Some(&who.access_token),
            None,
        )
        .await
    }

    /// A resident who applied and was approved: (session, their term's officer id).
    pub async fn officer(
        &self,
        staff: &Session,
        campaign: &str,
        openid: &str,
    ) -> (Session, String) {
        let who = self.login_resident(openid).await;
        let a = self.applied(&who, campaign).await;
        let res = self.approve(staff, &id_of(&a)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let mine = self.my_applications(&who).await;
        let officer = items(&mine)[0]["term"]["officer_id"]
            .as_str()
            .unwrap()
            .to_owned();
        (who, officer)
    }

    pub async fn my_applications(&self, who: &Session) -> Value {
        let res = self
            .get("/api/v1/me/officer-applications", Some(&who.access_token))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    pub async fn get_json(&self, path: &str, who: &Session) -> Value {
        let res = self.get(path, Some(&who.access_token)).await;
        let status = res.status();
        let v: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{v}");
        v
    }

    /// An activity starting `start_min` minutes from now, lasting two hours.
    pub async fn activity(
        &self,
        staff: &Session,
        campaign: &str,
        start_min: i64,
        capacity: i64,
    ) -> Value {
        let starts = Utc::now() + Duration::minutes(start_min);
        let res = self
            .post(
                "/api/v1/officer-activities",
                Some(&staff.access_token),
                &json!({
                    "campaign_id": campaign,
                    "title": "体验社保窗口办事",
                    "service_to_experience": "社保卡补办",
                    "location": "月坛街道政务服务中心",
                    "starts_at": starts.to_rfc3339(),
                    "ends_at": (starts + Duration::hours(2)).to_rfc3339(),
                    "capacity": capacity,
                }),
            )
            .await;
        let status = res.status();
        let v: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v
    }

    pub async fn sign_up(&self, who: &Session, activity: &str) -> reqwest::Response {
        self.post(
            &format!("/api/v1/officer-activities/{activity}/signups"),
            Some(&who.access_token),
            &json!({}),
        )
        .await
    }

    pub async fn feedback(&self, who: &Session, activity: &str, body: &Value) -> reqwest::Response {
        self.post(
            &format!("/api/v1/officer-activities/{activity}/feedback"),
            Some(&who.access_token),
            body,
        )
        .await
    }

    /// Feedback given and asserted.
    pub async fn gave_feedback(&self, who: &Session, activity: &str) -> Value {
        let res = self
            .feedback(
                who,
                activity,
                &json!({ "rating": 3, "findings": ["取号机故障"], "suggestions": "增加引导员" }),
            )
            .await;
        let status = res.status();
        let v: Value = res.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{v}");
        v
    }

    pub async fn reply(&self, staff: &Session, feedback: &str, body: &Value) -> reqwest::Response {
        self.post(
            &format!("/api/v1/officer-feedback/{feedback}/replies"),
            Some(&staff.access_token),
            body,
        )
        .await
    }

    /// Moves an activity's start (and end, two hours later) to `starts`.
    pub async fn move_activity(&self, activity: &str, starts: DateTime<Utc>) {
        officer_activities::Entity::update_many()
            .col_expr(officer_activities::Column::StartsAt, Expr::value(starts))
            .col_expr(
                officer_activities::Column::EndsAt,
                Expr::value(starts + Duration::hours(2)),
            )
            .filter(officer_activities::Column::Id.eq(activity.parse::<Uuid>().unwrap()))
            .exec(&self.state.db)
            .await
            .unwrap();
    }

    /// Moves the end of an officer's term.
    pub async fn move_term_end(&self, officer: &str, ends: DateTime<Utc>) {
        officers::Entity::update_many()
            .col_expr(officers::Column::TermEndsAt, Expr::value(ends))
            .filter(officers::Column::Id.eq(officer.parse::<Uuid>().unwrap()))
            .exec(&self.state.db)
            .await
            .unwrap();
    }

    /// Moves when a piece of feedback was given.
    pub async fn age_feedback(&self, feedback: &str, created: DateTime<Utc>) {
        officer_feedback::Entity::update_many()
            .col_expr(officer_feedback::Column::CreatedAt, Expr::value(created))
            .filter(officer_feedback::Column::Id.eq(feedback.parse::<Uuid>().unwrap()))
            .exec(&self.state.db)
            .await
            .unwrap();
    }

    pub async fn end_officer(
        &self,
        staff: &Session,
        officer: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.post(
            &format!("/api/v1/officers/{officer}/end"),
            Some(&staff.access_token),
            body,
        )
        .await
    }
}
