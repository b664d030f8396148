//! The binary itself: production start refusals and the staff CLI.

use std::{
    io::Write,
    process::{Command, Stdio},
};

use reqwest::StatusCode;

use crate::helpers::{fresh_pg_database, spawn_app_with};

const BIN: &str = env!("CARGO_BIN_EXE_canyu");

/// Starts `canyu` in production with `env` over a complete configuration and answers
/// (exit success, stderr).
fn start_production(env: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CANYU_ENV", "production")
        .env("CANYU_PORT", "0")
        .env(
            "CANYU_JWT_SECRET",
            "a-production-secret-of-40-bytes-length!!",
        )
        .env(
            "CANYU_DATA_KEY",
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        )
        .env("CANYU_WECHAT_APPID", "wx-prod")
        .env("CANYU_WECHAT_SECRET", "wechat-prod-secret")
        // Unreachable on purpose: a refused start must fail before it touches anything.
        .env("CANYU_DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
        .env("CANYU_REDIS_URL", "redis://127.0.0.1:1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn production_refuses_to_start_without_a_jwt_secret() {
    let (ok, err) = start_production(&[("CANYU_JWT_SECRET", "")]);
    assert!(!ok);
    assert!(err.contains("refusing to start in production"), "{err}");
    assert!(err.contains("CANYU_JWT_SECRET"), "{err}");
}

#[test]
fn production_refuses_a_short_jwt_secret_and_does_not_print_it() {
    let (ok, err) = start_production(&[("CANYU_JWT_SECRET", "short-secret-xyz")]);
    assert!(!ok);
    assert!(err.contains("shorter than 32 bytes"), "{err}");
    assert!(!err.contains("short-secret-xyz"), "{err}");
}

#[test]
fn production_refuses_to_start_without_a_data_key() {
    let (ok, err) = start_production(&[("CANYU_DATA_KEY", "")]);
    assert!(!ok);
    assert!(err.contains("CANYU_DATA_KEY is not set"), "{err}");
    let (ok, err) = start_production(&[("CANYU_DATA_KEY", "dG9vLXNob3J0")]);
    assert!(!ok);
    assert!(err.contains("CANYU_DATA_KEY must be 32 bytes"), "{err}");
}

#[test]
fn production_refuses_dev_login() {
    let (ok, err) = start_production(&[("CANYU_DEV_LOGIN", "true")]);
    assert!(!ok);
    assert!(err.contains("CANYU_DEV_LOGIN"), "{err}");
}

#[test]
fn production_refuses_to_start_without_wechat_credentials() {
    let (ok, err) = start_production(&[("CANYU_WECHAT_APPID", ""), ("CANYU_WECHAT_SECRET", "")]);
    assert!(!ok);
    assert!(
        err.contains("CANYU_WECHAT_APPID") && err.contains("CANYU_WECHAT_SECRET"),
        "{err}"
    );
}

#[test]
fn a_complete_production_configuration_gets_past_the_checks() {
    // It then fails on the unreachable database, which proves the checks passed.
    let (ok, err) = start_production(&[]);
    assert!(!ok);
    assert!(!err.contains("refusing to start"), "{err}");
    assert!(err.contains("database"), "{err}");
}

#[test]
fn the_openapi_subcommand_prints_the_document() {
    let out = Command::new(BIN).arg("openapi").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        canyu::openapi::to_pretty_json()
    );
}

#[tokio::test]
async fn the_staff_cli_creates_an_account_that_can_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = match std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
    {
        Some(base) => fresh_pg_database(&base).await.1,
        None => String::new(),
    };
    let mut child = Command::new(BIN)
        .args([
            "staff",
            "create",
            "--username",
            "desk.clerk",
            "--password-stdin",
            "--role",
            "staff",
            "--org-unit",
            "zhanlanlu",
        ])
        .current_dir(dir.path())
        .env("CANYU_DATA_DIR", dir.path())
        .env("CANYU_DATABASE_URL", &database_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"Zhanlanlu-desk-2026\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("desk.clerk"));

    let data_dir = dir.path().to_path_buf();
    let app = spawn_app_with(move |s| {
        s.data_dir = data_dir;
        s.database_url = database_url;
    })
    .await;
    let res = app.login_staff("desk.clerk", "Zhanlanlu-desk-2026").await;
    assert_eq!(res.status(), StatusCode::OK);
}

/// Starts the embedded default as a real process with JSON logs, reading its stdout lines.
fn start_embedded(
    wechat: &str,
    env: &[(&str, &str)],
) -> (
    std::process::Child,
    u16,
    std::sync::mpsc::Receiver<String>,
    tempfile::TempDir,
) {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir.path())
        .env("CANYU_PORT", "0")
        .env("CANYU_LOG_FORMAT", "json")
        .env("CANYU_WORKERS", "1")
        .env("CANYU_WECHAT_APPID", "wx-test-appid")
        .env("CANYU_WECHAT_SECRET", "wx-test-secret")
        .env("CANYU_WECHAT_BASE_URL", wechat)
        .env("CANYU_SHUTDOWN_TIMEOUT_SECS", "10")
        .env_remove("CANYU_DATABASE_URL")
        .env_remove("CANYU_REDIS_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let port = loop {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("canyu printed its port");
        let v: serde_json::Value = serde_json::from_str(&line).expect("log lines are JSON");
        if v["fields"]["message"] == "canyu ready" {
            break u16::try_from(v["fields"]["port"].as_u64().unwrap()).unwrap();
        }
    };
    (child, port, rx, dir)
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_and_logs_carry_the_request_id() {
    use wiremock::{Mock, ResponseTemplate, matchers::path};
    let wechat = wiremock::MockServer::start().await;
    Mock::given(path("/sns/jscode2session"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({ "openid": "o-graceful", "session_key": "k" }))
                .set_delay(std::time::Duration::from_millis(1_500)),
        )
        .mount(&wechat)
        .await;
    let (mut child, port, lines, _dir) = start_embedded(&wechat.uri(), &[]);

    let client = reqwest::Client::new();
    let in_flight = tokio::spawn(
        client
            .post(format!("http://127.0.0.1:{port}/api/v1/auth/wechat/login"))
            .json(&serde_json::json!({ "code": "slow-code" }))
            .send(),
    );
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    let res = in_flight
        .await
        .unwrap()
        .expect("the in-flight request was answered");
    assert_eq!(res.status(), StatusCode::OK);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");

    // Every log line of that request is JSON and names its request id.
    let logged: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str(&l).ok())
        .filter(|v: &serde_json::Value| v["span"]["request_id"] == request_id.as_str())
        .collect();
    assert!(
        logged
            .iter()
            .any(|v| v["fields"]["message"] == "request finished"),
        "{logged:?}"
    );
}

#[tokio::test]
async fn templates_come_from_the_environment_and_jobs_stop_with_the_server() {
    let wechat = wiremock::MockServer::start().await;
    let (mut child, port, lines, _dir) = start_embedded(
        &wechat.uri(),
        &[
            ("CANYU_WECHAT_TEMPLATE_DELIBERATION_UPDATE", "tmpl-from-env"),
            ("CANYU_OUTBOX_INTERVAL_MS", "50"),
        ],
    );
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/dev-login"))
        .json(&serde_json::json!({ "openid": "o-env" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["access_token"].as_str().unwrap();
    // `CANYU_WECHAT_TEMPLATE_DELIBERATION_UPDATE` made the template one this server sends.
    let res = client
        .post(format!("{base}/api/v1/me/subscriptions"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "template_id": "tmpl-from-env", "accepted": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
    let messages: Vec<String> = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
        .filter_map(|v| v["fields"]["message"].as_str().map(str::to_owned))
        .collect();
    let scheduled = messages.iter().position(|m| m == "job scheduled");
    let stopped = messages.iter().position(|m| m == "jobs stopped");
    assert!(scheduled.is_some() && stopped > scheduled, "{messages:?}");
}
