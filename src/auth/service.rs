//! Login flows and session rotation.

use std::time::Duration;

use actix_web::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::{
    Identity, Role,
    dto::{TokenResponse, UserView},
    extractors::revoked_key,
    password, repo,
    tokens::{hash_refresh_token, new_refresh_token},
};
use crate::{
    accounts,
    error::{ApiError, ApiResult},
    state::AppState,
    wechat::WechatError,
};

const LOCK_AFTER_FAILURES: i32 = 5;
const LOCK_MINUTES: i64 = 15;

/// WeChat's answers, as the mini-program should see them.
pub fn wechat_failure(e: WechatError) -> ApiError {
    match e {
        WechatError::CodeInvalid(_) => ApiError::unauthorized(
            "wechat_code_invalid",
            "微信登录码无效或已使用，请重新进入小程序",
        ),
        WechatError::RateLimited => ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "wechat_rate_limited",
            "当前登录人数较多，请稍后再试",
        )
        .with_retry_after(60),
        WechatError::UserBlocked => {
            ApiError::forbidden("wechat_user_blocked", "该微信账号存在风险，暂时无法登录")
        }
        WechatError::NotConfigured => {
            tracing::error!("wechat appid/secret are not configured");
            ApiError::unavailable("upstream_unavailable", "微信服务暂时不可用，请稍后再试")
        }
        other => {
            tracing::warn!(error = %other, "wechat call failed");
            ApiError::unavailable("upstream_unavailable", "微信服务暂时不可用，请稍后再试")
                .with_retry_after(5)
        }
    }
}

async fn issue(
    state: &AppState,
    subject: Uuid,
    role: Role,
    org_unit: Option<String>,
    family: Option<Uuid>,
    user: UserView,
) -> ApiResult<TokenResponse> {
    let access_token = state.tokens.issue(subject, role, org_unit)?;
    let refresh_token = new_refresh_token();
    let ttl =
        chrono::Duration::days(i64::try_from(state.settings.refresh_token_ttl_days).unwrap_or(30));
    let kind = if role == Role::Resident {
        "resident"
    } else {
        "staff"
    };
    repo::insert_refresh(
        &state.db,
        hash_refresh_token(&refresh_token),
        family.unwrap_or_else(Uuid::now_v7),
        subject,
        kind,
        Utc::now() + ttl,
    )
    .await?;
    Ok(TokenResponse {
        access_token,
        refresh_token,
        expires_in: state.tokens.access_ttl_secs(),
        token_type: "Bearer".into(),
        user,
    })
}

async fn resident_session(
    state: &AppState,
    openid: &str,
    unionid: Option<&str>,
) -> ApiResult<TokenResponse> {
    let resident = accounts::service::resident_for_openid(&state.db, openid, unionid).await?;
    let id = resident.id;
    let user = UserView::resident(resident, &state.data_key);
    issue(state, id, Role::Resident, None, None, user).await
}

#[tracing::instrument(skip_all)]
pub async fn wechat_login(state: &AppState, code: &str) -> ApiResult<TokenResponse> {
    let session = state
        .wechat
        .code_to_session(code)
        .await
        .map_err(wechat_failure)?;
    resident_session(state, &session.openid, session.unionid.as_deref()).await
}

#[tracing::instrument(skip_all)]
pub async fn dev_login(state: &AppState, openid: &str) -> ApiResult<TokenResponse> {
    if !state.settings.dev_login_enabled() {
        return Err(ApiError::not_found("not_found", "请求的资源不存在"));
    }
    resident_session(state, openid.trim(), None).await
}

fn invalid_credentials() -> ApiError {
    ApiError::unauthorized("invalid_credentials", "用户名或密码不正确")
}

fn locked(until: chrono::DateTime<Utc>) -> ApiError {
    let secs = (until - Utc::now()).num_seconds().max(1);
    ApiError::new(
        StatusCode::LOCKED,
        "account_locked",
        format!(
            "密码错误次数过多，账号已锁定，请 {} 分钟后再试",
            (secs + 59) / 60
        ),
    )
    .with_retry_after(u64::try_from(secs).unwrap_or(1))
}

async fn verify_password(given: &str, hash: &str) -> ApiResult<bool> {
    let (given, hash) = (given.to_owned(), hash.to_owned());
    tokio::task::spawn_blocking(move || password::verify(&given, &hash))
        .await
        .map_err(ApiError::internal)
}

#[tracing::instrument(skip_all)]
pub async fn staff_login(
    state: &AppState,
    username: &str,
    given: &str,
) -> ApiResult<TokenResponse> {
    let username = username.trim().to_ascii_lowercase();
    let Some(staff) = accounts::repo::find_staff_by_username(&state.db, &username).await? else {
        let given = given.to_owned();
        let _ = tokio::task::spawn_blocking(move || password::burn_time(&given)).await;
        return Err(invalid_credentials());
    };
    if let Some(until) = staff.locked_until.filter(|t| *t > Utc::now()) {
        return Err(locked(until));
    }
    if !verify_password(given, &staff.password_hash).await? {
        let until = Utc::now() + chrono::Duration::minutes(LOCK_MINUTES);
        accounts::repo::record_failed_login(&state.db, staff.id, LOCK_AFTER_FAILURES, until)
            .await?;
        tracing::warn!(staff_id = %staff.id, "staff login with a wrong password");
        let now_locked = accounts::repo::find_staff(&state.db, staff.id)
            .await?
            .and_then(|s| s.locked_until)
            .filter(|t| *t > Utc::now());
        return Err(match now_locked {
            Some(until) => locked(until),
            None => invalid_credentials(),
        });
    }
    if staff.disabled {
        return Err(ApiError::forbidden(
            "account_disabled",
            "账号已停用，请联系管理员",
        ));
    }
    if staff.failed_logins > 0 || staff.locked_until.is_some() {
        accounts::repo::reset_failed_logins(&state.db, staff.id).await?;
    }
    staff_session(state, staff, None).await
}

async fn staff_session(
    state: &AppState,
    staff: crate::entities::staff::Model,
    family: Option<Uuid>,
) -> ApiResult<TokenResponse> {
    let role = if staff.role == Role::Admin.as_str() {
        Role::Admin
    } else {
        Role::Staff
    };
    let id = staff.id;
    let user = accounts::service::user_view_of_staff(&state.db, staff).await?;
    let org_unit = user.org_unit.clone();
    issue(state, id, role, org_unit, family, user).await
}

/// Rotates a refresh token. A token used twice means it was stolen or replayed: the whole
/// family (every token descended from that login) is revoked.
#[tracing::instrument(skip_all)]
pub async fn refresh(state: &AppState, token: &str) -> ApiResult<TokenResponse> {
    let invalid = || ApiError::unauthorized("refresh_token_invalid", "登录已失效，请重新登录");
    let found = repo::find_refresh(&state.db, &hash_refresh_token(token))
        .await?
        .ok_or_else(invalid)?;
    if found.revoked {
        return Err(ApiError::unauthorized(
            "refresh_token_revoked",
            "登录已失效，请重新登录",
        ));
    }
    let reused = || {
        ApiError::unauthorized(
            "refresh_token_reused",
            "登录凭证已被使用，为保护账号安全请重新登录",
        )
    };
    if found.used_at.is_some() {
        tracing::warn!(family = %found.family_id, "refresh token reused; revoking its family");
        repo::revoke_family(&state.db, found.family_id).await?;
        return Err(reused());
    }
    if found.expires_at <= Utc::now() {
        return Err(ApiError::unauthorized(
            "refresh_token_expired",
            "登录已过期，请重新登录",
        ));
    }
    if !repo::claim_refresh(&state.db, found.id).await? {
        tracing::warn!(family = %found.family_id, "refresh token raced; revoking its family");
        repo::revoke_family(&state.db, found.family_id).await?;
        return Err(reused());
    }
    let family = Some(found.family_id);
    if found.subject_kind == "resident" {
        let resident = accounts::repo::find_resident(&state.db, found.subject_id)
            .await?
            .filter(|r| r.deleted_at.is_none())
            .ok_or_else(invalid)?;
        let id = resident.id;
        let user = UserView::resident(resident, &state.data_key);
        issue(state, id, Role::Resident, None, family, user).await
    } else {
        let staff = accounts::repo::find_staff(&state.db, found.subject_id)
            .await?
            .filter(|s| !s.disabled)
            .ok_or_else(invalid)?;
        staff_session(state, staff, family).await
    }
}

/// Ends this access token now and, when given, the refresh token's session family.
#[tracing::instrument(skip_all)]
pub async fn logout(
    state: &AppState,
    who: &Identity,
    refresh_token: Option<&str>,
) -> ApiResult<()> {
    if let Some(token) = refresh_token
        && let Some(found) = repo::find_refresh(&state.db, &hash_refresh_token(token)).await?
        && found.subject_id == who.id
    {
        repo::revoke_family(&state.db, found.family_id).await?;
    }
    revoke_access_token(state, who).await
}

/// Refuses this access token from now until it would have expired anyway. The database row
/// is the truth (it outlives a Redis outage or restart); the cache mark is the fast path
/// every instance checks in memory.
pub async fn revoke_access_token(state: &AppState, who: &Identity) -> ApiResult<()> {
    let expires_at = DateTime::<Utc>::from_timestamp(who.expires_at, 0)
        .unwrap_or_else(Utc::now)
        .max(Utc::now())
        + chrono::Duration::seconds(60);
    repo::insert_revocation(&state.db, who.jti, expires_at).await?;
    // Lazy cleanup: rows of tokens that expired anyway go on the next logout.
    if let Err(e) = repo::purge_revocations(&state.db).await {
        tracing::warn!(error = %e, "lapsed revocations not purged");
    }
    let remaining = (expires_at - Utc::now()).num_seconds().max(1);
    state
        .cache
        .mark(
            &revoked_key(who.jti),
            Duration::from_secs(u64::try_from(remaining).unwrap_or(60)),
        )
        .await;
    Ok(())
}

/// The revocations still in force, as cache marks (key, lapse in unix millis): what the
/// near cache is seeded with at start and on every reconnection to Redis.
pub async fn revocation_marks(
    db: &sea_orm::DatabaseConnection,
) -> Result<Vec<(String, u64)>, String> {
    let rows = repo::live_revocations(db)
        .await
        .map_err(|e| e.to_string())?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let until = u64::try_from(r.expires_at.timestamp_millis()).unwrap_or_default();
            (revoked_key(r.jti), until)
        })
        .collect())
}

pub async fn revoke_all_sessions(db: &impl ConnectionTrait, subject: Uuid) -> ApiResult<()> {
    repo::revoke_subject(db, subject).await?;
    Ok(())
}

/// The sessions (refresh tokens) of a subject, for the resident's data export.
pub async fn sessions_of(
    db: &impl ConnectionTrait,
    subject: Uuid,
) -> ApiResult<Vec<crate::entities::refresh_tokens::Model>> {
    Ok(repo::of_subject(db, subject).await?)
}
