use std::time::Duration;

use canyu::{
    config::{Secret, Settings},
    entities::notifications,
    jobs::{self, Tick},
    startup::Application,
    state::AppState,
};
use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database, EntityTrait};
use serde_json::{Value, json};
use tempfile::TempDir;
use uuid::Uuid;
use wiremock::MockServer;

pub const ADMIN_USERNAME: &str = "district-admin";
pub const ADMIN_PASSWORD: &str = "Xicheng-admin-2026";
pub const STAFF_PASSWORD: &str = "Jiedao-staff-2026";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub wechat: MockServer,
    pub settings: Settings,
    pub state: AppState,
    /// The PostgreSQL database of this test, when running on PostgreSQL.
    pub pg_database: Option<(String, String)>,
    _data_dir: TempDir,
}

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub user: Value,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

fn pg_base() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
}

/// Creates an empty PostgreSQL database for one test; answers (admin url, db name, db url).
pub async fn fresh_pg_database(base: &str) -> (String, String) {
    let name = format!("canyu_t_{}", Uuid::now_v7().simple());
    let admin = Database::connect(base)
        .await
        .expect("connect to TEST_DATABASE_URL");
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let (prefix, _) = base.rsplit_once('/').expect("TEST_DATABASE_URL has a path");
    (name.clone(), format!("{prefix}/{name}"))
}

pub async fn spawn_app_with(customise: impl FnOnce(&mut Settings)) -> TestApp {
    canyu::telemetry::init_subscriber(canyu::config::LogFormat::Text);
    let wechat = MockServer::start().await;
    let data_dir = tempfile::tempdir().expect("temp dir");
    let mut settings = Settings {
        port: 0,
        data_dir: data_dir.path().to_path_buf(),
        jwt_secret: Some(Secret::new(format!(
            "test-secret-{}",
            Uuid::new_v4().simple()
        ))),
        dev_login: Some(true),
        wechat_appid: "wx-test-appid".into(),
        wechat_secret: Some(Secret::new("wx-test-secret")),
        wechat_base_url: wechat.uri(),
        wechat_timeout_ms: 1_000,
        bootstrap_admin: Some(Secret::new(format!("{ADMIN_USERNAME}:{ADMIN_PASSWORD}"))),
        cache_prefix: format!("test:{}:", Uuid::new_v4().simple()),
        // Every test logs in from 127.0.0.1, some many times; the rate limit tests set
        // the limits they exercise.
        rate_limit_login_per_min: 10_000,
        rate_limit_submit_per_min: 10_000,
        workers: 2,
        // Many apps share one PostgreSQL (max_connections 100) while tests run in parallel:
        // connections are opened when needed, not kept warm.
        database_min_connections: 0,
        // Tests tick jobs by hand (`run_job`); the scheduler test turns it back on.
        jobs_enabled: false,
        ..Settings::default()
    };
    let mut pg_database = None;
    if let Some(base) = pg_base() {
        let (name, url) = fresh_pg_database(&base).await;
        settings.database_url = url;
        pg_database = Some((base, name));
    }
    if let Ok(redis) = std::env::var("TEST_REDIS_URL") {
        settings.redis_url = redis;
    }
    customise(&mut settings);
    let app = Application::build(settings.clone())
        .await
        .expect("application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        wechat,
        settings,
        state,
        pg_database,
        _data_dir: data_dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.expect("request sent")
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        self.request(Method::PATCH, path, token, Some(body)).await
    }

    /// A dev login, answered as it comes (the rate limit tests want the refusals too).
    pub async fn dev_login(&self, openid: &str) -> reqwest::Response {
        self.post("/api/v1/auth/dev-login", None, &json!({ "openid": openid }))
            .await
    }

    /// A resident signs in through dev login.
    pub async fn login_resident(&self, openid: &str) -> Session {
        let res = self
            .post("/api/v1/auth/dev-login", None, &json!({ "openid": openid }))
            .await;
        session_from(res).await
    }

    pub async fn login_staff(&self, username: &str, password: &str) -> reqwest::Response {
        self.post(
            "/api/v1/auth/staff/login",
            None,
            &json!({ "username": username, "password": password }),
        )
        .await
    }

    pub async fn login_admin(&self) -> Session {
        session_from(self.login_staff(ADMIN_USERNAME, ADMIN_PASSWORD).await).await
    }

    /// The administrator creates a staff account in `org_unit` and it signs in.
    pub async fn staff_of(&self, username: &str, org_unit: &str) -> Session {
        let admin = self.login_admin().await;
        let res = self
            .post(
                "/api/v1/admin/staff",
                Some(&admin.access_token),
                &json!({
                    "username": username,
                    "password": STAFF_PASSWORD,
                    "role": "staff",
                    "org_unit": org_unit,
                }),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "{}",
            res.text().await.unwrap_or_default()
        );
        session_from(self.login_staff(username, STAFF_PASSWORD).await).await
    }

    /// A second instance of the service on this app's database (its own pool on PostgreSQL;
    /// on SQLite, which is single-instance, the same pool), with its own WeChat client.
    pub async fn another_instance(&self) -> AppState {
        self.another_instance_serving().await.0
    }

    /// `another_instance`, with the base URL it answers on, so requests can be spread over
    /// both as a load balancer would.
    pub async fn another_instance_serving(&self) -> (AppState, String) {
        let app = if self.pg_database.is_some() {
            Application::build(self.settings.clone()).await
        } else {
            Application::build_with_db(self.settings.clone(), self.state.db.clone()).await
        }
        .expect("second instance builds");
        let state = app.state().clone();
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        (state, address)
    }

    /// Runs one tick of a job now, as the scheduler would.
    pub async fn run_job(&self, name: &str) -> Tick {
        jobs::run_once(&self.state, name).await.expect("job tick")
    }

    /// The resident's inbox page as the mini-program sees it.
    pub async fn inbox(&self, who: &Session) -> Value {
        let res = self
            .get("/api/v1/me/notifications", Some(&who.access_token))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("inbox json")
    }

    /// The resident taps "允许" on the subscribe prompt of `template_id`.
    pub async fn accept_subscription(&self, who: &Session, template_id: &str) -> Value {
        let res = self
            .post(
                "/api/v1/me/subscriptions",
                Some(&who.access_token),
                &json!({ "template_id": template_id, "accepted": true }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("subscription json")
    }

    /// The outbox row of a notice, as the sender left it.
    pub async fn delivery_of(&self, id: &str) -> notifications::Model {
        let id: Uuid = id.parse().expect("notification id");
        notifications::Entity::find_by_id(id)
            .one(&self.state.db)
            .await
            .expect("query")
            .expect("notification exists")
    }

    /// Requests the WeChat stub received on `path`.
    pub async fn wechat_calls(&self, path: &str) -> Vec<wiremock::Request> {
        self.wechat
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path() == path)
            .collect()
    }

    /// Takes the database away from under the running service.
    pub async fn take_database_away(&self) {
        match &self.pg_database {
            Some((base, name)) => {
                let admin = Database::connect(base.as_str())
                    .await
                    .expect("admin connection");
                admin
                    .execute_unprepared(&format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
                    .await
                    .expect("drop database");
                admin.close().await.ok();
            }
            None => self.state.db.close_by_ref().await.expect("close pool"),
        }
    }

    /// Signs an access token with this app's secret, claims chosen by the test.
    pub fn mint_token(&self, claims: &Value) -> String {
        let secret = self.settings.jwt_secret.as_ref().expect("secret").expose();
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .expect("sign")
    }
}

pub async fn session_from(res: reqwest::Response) -> Session {
    let status = res.status();
    let body: Value = res.json().await.expect("json body");
    assert_eq!(status, StatusCode::OK, "login failed: {body}");
    Session {
        access_token: body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned(),
        refresh_token: body["refresh_token"]
            .as_str()
            .expect("refresh_token")
            .to_owned(),
        user: body["user"].clone(),
    }
}

/// Whether the idempotency middleware answered `res` as a replay of a first answer.
pub fn replayed(res: &reqwest::Response) -> bool {
    res.headers()
        .get("idempotent-replayed")
        .is_some_and(|v| v == "true")
}

/// The answers to one request sent many times at once under one Idempotency-Key: each a 201
/// (the original or a replay of it) or a 409 `request_in_progress`. Asserts that exactly one
/// did the work and every 201 carries the same body, and returns that body.
pub async fn one_effect_of_a_burst(answers: Vec<reqwest::Response>) -> String {
    let mut bodies = Vec::new();
    let mut originals = 0;
    for res in answers {
        match res.status() {
            StatusCode::CREATED => {
                if !replayed(&res) {
                    originals += 1;
                }
                bodies.push(res.text().await.unwrap());
            }
            StatusCode::CONFLICT => {
                assert_problem(res, StatusCode::CONFLICT, "request_in_progress").await;
            }
            other => panic!("unexpected {other}: {}", res.text().await.unwrap()),
        }
    }
    assert_eq!(originals, 1, "exactly one request did the work");
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    bodies.remove(0)
}

/// Asserts an RFC 9457 problem with this status and code, and answers its body.
pub async fn assert_problem(res: reqwest::Response, status: StatusCode, code: &str) -> Value {
    let got = res.status();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let request_id = res
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = res.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    assert_eq!(content_type, "application/problem+json", "body: {text}");
    let body: Value = serde_json::from_str(&text).expect("problem body is JSON");
    assert_eq!(body["code"], code, "body: {body}");
    assert_eq!(body["status"], status.as_u16(), "body: {body}");
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(
        body["detail"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert!(
        body["type"].as_str().is_some_and(|t| t.ends_with(code)),
        "{body}"
    );
    assert!(!request_id.is_empty(), "x-request-id header missing");
    assert_eq!(body["request_id"], request_id.as_str(), "{body}");
    body
}

/// The field names an input error points at.
pub fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
