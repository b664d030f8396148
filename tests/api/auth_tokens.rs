//! Access tokens, refresh rotation and logout.

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::helpers::{assert_problem, session_from, spawn_app, spawn_app_with};

#[tokio::test]
async fn a_missing_token_is_401_with_www_authenticate() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/me", None).await;
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"canyu\"");
    assert_problem(res, StatusCode::UNAUTHORIZED, "token_missing").await;
}

#[tokio::test]
async fn garbage_and_forged_tokens_are_401() {
    let app = spawn_app().await;
    let res = app.get("/api/v1/me", Some("not.a.jwt")).await;
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("invalid_token"), "{challenge}");
    assert_problem(res, StatusCode::UNAUTHORIZED, "token_invalid").await;

    // Signed with someone else's secret.
    let now = Utc::now().timestamp();
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({ "sub": Uuid::now_v7(), "role": "admin", "exp": now + 600, "iat": now, "jti": Uuid::now_v7() }),
        &jsonwebtoken::EncodingKey::from_secret(b"guessed-secret-guessed-secret-guessed"),
    )
    .unwrap();
    assert_problem(
        app.get("/api/v1/admin/staff", Some(&forged)).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;

    // The right signature on a tampered payload.
    let resident = app.login_resident("o-tamper").await;
    let mut parts: Vec<String> = resident
        .access_token
        .split('.')
        .map(str::to_owned)
        .collect();
    parts[1] = base64_url(
        &json!({ "sub": Uuid::now_v7(), "role": "admin", "exp": now + 600, "iat": now, "jti": Uuid::now_v7() }),
    );
    let tampered = parts.join(".");
    assert_problem(
        app.get("/api/v1/me", Some(&tampered)).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;

    // "alg": "none" is never accepted.
    let none = format!(
        "{}.{}.",
        base64_url(&json!({ "alg": "none", "typ": "JWT" })),
        base64_url(
            &json!({ "sub": Uuid::now_v7(), "role": "admin", "exp": now + 600, "iat": now, "jti": Uuid::now_v7() })
        )
    );
    assert_problem(
        app.get("/api/v1/me", Some(&none)).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
}

fn base64_url(v: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn an_expired_token_is_401_token_expired() {
    let app = spawn_app().await;
    let resident = app.login_resident("o-expired").await;
    let now = Utc::now().timestamp();
    let expired = app.mint_token(&json!({
        "sub": resident.user["id"], "role": "resident",
        "iat": now - 7300, "exp": now - 100, "jti": Uuid::now_v7(),
    }));
    assert_problem(
        app.get("/api/v1/me", Some(&expired)).await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    )
    .await;

    let fresh = app.mint_token(&json!({
        "sub": resident.user["id"], "role": "resident",
        "iat": now, "exp": now + 100, "jti": Uuid::now_v7(),
    }));
    assert_eq!(
        app.get("/api/v1/me", Some(&fresh)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn access_tokens_carry_the_documented_claims() {
    let app = spawn_app().await;
    let staff = app.staff_of("zhao.liu", "shichahai").await;
    let payload = staff.access_token.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["role"], "staff");
    assert_eq!(claims["org_unit"], "shichahai");
    assert_eq!(claims["sub"], staff.user["id"]);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        7200
    );
    assert!(Uuid::parse_str(claims["jti"].as_str().unwrap()).is_ok());
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_ends_the_whole_session() {
    let app = spawn_app().await;
    let first = app.login_resident("o-rotate").await;

    let res = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": first.refresh_token }),
        )
        .await;
    let second = session_from(res).await;
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    assert_eq!(second.user["id"], first.user["id"]);
    assert_eq!(
        app.get("/api/v1/me", Some(&second.access_token))
            .await
            .status(),
        StatusCode::OK
    );

    // Someone replays the first refresh token: it is refused and the family is revoked...
    let replay = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": first.refresh_token }),
        )
        .await;
    assert_problem(replay, StatusCode::UNAUTHORIZED, "refresh_token_reused").await;
    // ...so the legitimate newer refresh token no longer works either.
    let res = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": second.refresh_token }),
        )
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "refresh_token_revoked").await;

    // A fresh login is unaffected.
    let other = app.login_resident("o-rotate").await;
    let res = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": other.refresh_token }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn two_simultaneous_uses_of_one_refresh_token_cannot_both_win() {
    let app = spawn_app().await;
    let session = app.login_resident("o-race").await;
    let body = json!({ "refresh_token": session.refresh_token });
    let (a, b) = tokio::join!(
        app.post("/api/v1/auth/refresh", None, &body),
        app.post("/api/v1/auth/refresh", None, &body)
    );
    let ok = [a.status(), b.status()]
        .iter()
        .filter(|s| **s == StatusCode::OK)
        .count();
    assert!(ok <= 1, "both refreshes succeeded");
}

#[tokio::test]
async fn an_unknown_refresh_token_is_401() {
    let app = spawn_app().await;
    let res = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": "made-up" }),
        )
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "refresh_token_invalid").await;
}

#[tokio::test]
async fn an_expired_refresh_token_is_401() {
    let app = spawn_app_with(|s| s.refresh_token_ttl_days = 0).await;
    let session = app.login_resident("o-old").await;
    let res = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": session.refresh_token }),
        )
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "refresh_token_expired").await;
}

#[tokio::test]
async fn logout_ends_the_access_token_and_its_refresh_token() {
    let app = spawn_app().await;
    let session = app.login_resident("o-bye").await;
    let res = app
        .post(
            "/api/v1/auth/logout",
            Some(&session.access_token),
            &json!({ "refresh_token": session.refresh_token }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    assert_problem(
        app.get("/api/v1/me", Some(&session.access_token)).await,
        StatusCode::UNAUTHORIZED,
        "token_revoked",
    )
    .await;
    let res = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": session.refresh_token }),
        )
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED, "refresh_token_revoked").await;
}

#[tokio::test]
async fn logout_without_a_body_ends_the_access_token() {
    let app = spawn_app().await;
    let session = app.login_resident("o-bye2").await;
    let res = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&session.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/v1/me", Some(&session.access_token))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn dev_login_does_not_exist_when_turned_off() {
    let app = spawn_app_with(|s| s.dev_login = Some(false)).await;
    let res = app
        .post("/api/v1/auth/dev-login", None, &json!({ "openid": "o-x" }))
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "not_found").await;
}
