use actix_web::{HttpResponse, web};
use utoipa::OpenApi;

use super::{
    Identity, Role,
    dto::{
        DevLoginRequest, LogoutRequest, RefreshRequest, StaffLoginRequest, TokenResponse,
        WechatLoginRequest,
    },
    service,
};
use crate::{
    error::{ApiResult, Problem},
    extract::ApiJson,
    rate_limit::LoginRateLimit,
    state::AppState,
};

#[derive(OpenApi)]
#[openapi(
    paths(wechat_login, dev_login, staff_login, refresh, logout),
    components(schemas(
        WechatLoginRequest,
        DevLoginRequest,
        StaffLoginRequest,
        RefreshRequest,
        LogoutRequest,
        TokenResponse,
        Role
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/auth")
            .service(web::resource("/wechat/login").post(wechat_login))
            .service(web::resource("/dev-login").post(dev_login))
            .service(web::resource("/staff/login").post(staff_login))
            .service(web::resource("/refresh").post(refresh))
            .service(web::resource("/logout").post(logout)),
    );
}

/// A resident logs in with the code from `wx.login()`.
#[utoipa::path(post, path = "/api/v1/auth/wechat/login", tag = "auth",
    request_body = WechatLoginRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "`wechat_code_invalid`"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`wechat_user_blocked`"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited` (too many attempts from this address) or `wechat_rate_limited`; see `Retry-After`"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "`upstream_unavailable`"),
    ))]
async fn wechat_login(
    _limit: LoginRateLimit,
    state: web::Data<AppState>,
    body: ApiJson<WechatLoginRequest>,
) -> ApiResult<HttpResponse> {
    let tokens = service::wechat_login(&state, body.into_inner().code.trim()).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// Local development and tests only: logs in as the resident with this openid. Answers 404
/// when dev login is off (always in production).
#[utoipa::path(post, path = "/api/v1/auth/dev-login", tag = "auth",
    request_body = DevLoginRequest,
    responses((status = 200, body = TokenResponse),
              (status = 404, body = Problem, content_type = "application/problem+json"),
              (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`: too many attempts from this address; see `Retry-After`")))]
async fn dev_login(
    _limit: LoginRateLimit,
    state: web::Data<AppState>,
    body: ApiJson<DevLoginRequest>,
) -> ApiResult<HttpResponse> {
    let tokens = service::dev_login(&state, &body.into_inner().openid).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// Staff and administrators log in with a password. Five wrong passwords lock the account
/// for 15 minutes.
#[utoipa::path(post, path = "/api/v1/auth/staff/login", tag = "auth",
    request_body = StaffLoginRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "`invalid_credentials`"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`account_disabled`"),
        (status = 423, body = Problem, content_type = "application/problem+json", description = "`account_locked`"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`: too many attempts from this address; see `Retry-After`"),
    ))]
async fn staff_login(
    _limit: LoginRateLimit,
    state: web::Data<AppState>,
    body: ApiJson<StaffLoginRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let tokens = service::staff_login(&state, &body.username, &body.password).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// Exchanges a refresh token for a new pair. Each refresh token works once; presenting a used
/// one again ends every session descended from the same login.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "`refresh_token_invalid`, `refresh_token_expired`, `refresh_token_revoked`, `refresh_token_reused`"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`: too many attempts from this address; see `Retry-After`"),
    ))]
async fn refresh(
    _limit: LoginRateLimit,
    state: web::Data<AppState>,
    body: ApiJson<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    let tokens = service::refresh(&state, &body.into_inner().refresh_token).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// Ends the current access token and, when its refresh token is given, that session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    request_body(content = LogoutRequest, description = "optional"),
    responses((status = 204),
              (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn logout(
    who: Identity,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let body: LogoutRequest = if body.iter().all(u8::is_ascii_whitespace) {
        LogoutRequest::default()
    } else {
        crate::extract::parse_json(&body)?
    };
    service::logout(&state, &who, body.refresh_token.as_deref()).await?;
    Ok(HttpResponse::NoContent().finish())
}
