use std::collections::HashMap;

use actix_web::http::StatusCode;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use uuid::Uuid;

use super::{
    domain::{Password, StaffRole, Username, short_text},
    dto::{CreateStaffRequest, StaffView, UpdateMeRequest, UserView},
    repo,
};
use crate::{
    auth::{self, Identity, Role},
    entities::{residents, staff},
    error::{ApiError, ApiResult, FieldError, is_unique_violation},
    notifications,
    org_units::{self, OrgUnitKind},
    pagination::{Page, PageRequest},
    state::AppState,
    wechat::WechatError,
};

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::field(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        field,
        message,
    )
}

/// The resident behind a WeChat openid, created on first login with a welcome notice. Two
/// first logins at the same moment both end with the same row (and one welcome): the loser
/// of the insert race rolls back and reads the winner's.
#[tracing::instrument(skip_all)]
pub async fn resident_for_openid(
    db: &DatabaseConnection,
    openid: &str,
    unionid: Option<&str>,
) -> ApiResult<residents::Model> {
    if let Some(found) = repo::find_resident_by_openid(db, openid).await? {
        return match unionid {
            Some(u) if found.unionid.as_deref() != Some(u) => {
                Ok(repo::set_unionid(db, found, u).await?)
            }
            _ => Ok(found),
        };
    }
    match create_resident(db, openid, unionid).await {
        Ok(r) => Ok(r),
        Err(e) if is_unique_violation(&e) => repo::find_resident_by_openid(db, openid)
            .await?
            .ok_or_else(|| ApiError::internal(e)),
        Err(e) => Err(e.into()),
    }
}

/// The new resident and their welcome notice, together or not at all.
async fn create_resident(
    db: &DatabaseConnection,
    openid: &str,
    unionid: Option<&str>,
) -> Result<residents::Model, DbErr> {
    let txn = db.begin().await?;
    let resident = repo::insert_resident(&txn, openid, unionid).await?;
    notifications::enqueue(&txn, resident.id, notifications::welcome()).await?;
    txn.commit().await?;
    Ok(resident)
}

async fn unit_codes(db: &impl ConnectionTrait) -> ApiResult<HashMap<Uuid, String>> {
    Ok(org_units::repo::list(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.code))
        .collect())
}

async fn staff_view(db: &impl ConnectionTrait, m: staff::Model) -> ApiResult<StaffView> {
    let code = org_units::repo::find(db, m.org_unit_id)
        .await?
        .map(|u| u.code)
        .unwrap_or_default();
    Ok(StaffView::new(m, code))
}

pub async fn user_view_of_staff(db: &impl ConnectionTrait, m: staff::Model) -> ApiResult<UserView> {
    let code = org_units::repo::find(db, m.org_unit_id)
        .await?
        .map(|u| u.code)
        .unwrap_or_default();
    Ok(UserView::staff(m, code))
}

pub async fn me(db: &DatabaseConnection, who: &Identity) -> ApiResult<UserView> {
    let gone = || ApiError::unauthorized("token_revoked", "账号不存在，请重新登录");
    match who.role {
        Role::Resident => Ok(repo::find_resident(db, who.id)
            .await?
            .ok_or_else(gone)?
            .into()),
        Role::Staff | Role::Admin => {
            let m = repo::find_staff(db, who.id)
                .await?
                .filter(|s| !s.disabled)
                .ok_or_else(gone)?;
            user_view_of_staff(db, m).await
        }
    }
}

pub async fn update_me(
    db: &DatabaseConnection,
    resident_id: Uuid,
    req: UpdateMeRequest,
) -> ApiResult<UserView> {
    let current = repo::find_resident(db, resident_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("token_revoked", "账号不存在，请重新登录"))?;
    let mut errors = Vec::new();
    let mut active: residents::ActiveModel = current.into();
    if let Some(nickname) = req.nickname {
        match nickname
            .map(|n| short_text(&n, 20, "昵称应为 1 到 20 个字"))
            .transpose()
        {
            Ok(v) => active.nickname = Set(v),
            Err(m) => errors.push(("nickname", m)),
        }
    }
    if let Some(community) = req.community {
        match community
            .map(|c| short_text(&c, 40, "社区名称应为 1 到 40 个字"))
            .transpose()
        {
            Ok(v) => active.community = Set(v),
            Err(m) => errors.push(("community", m)),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(
            errors
                .into_iter()
                .map(|(field, message)| FieldError {
                    field: field.to_owned(),
                    message: message.to_owned(),
                })
                .collect(),
        ));
    }
    if let Some(sub) = req.home_subdistrict {
        let code = match sub {
            Some(code) => Some(
                org_units::service::require_subdistrict(db, code.trim(), "home_subdistrict")
                    .await?
                    .code,
            ),
            None => None,
        };
        active.home_subdistrict = Set(code);
    }
    active.updated_at = Set(chrono::Utc::now());
    Ok(repo::update_resident(db, active).await?.into())
}

/// Stores the resident's phone number from a WeChat `getPhoneNumber` code.
#[tracing::instrument(skip_all)]
pub async fn bind_phone(state: &AppState, resident_id: Uuid, code: &str) -> ApiResult<UserView> {
    let number = state.wechat.phone_number(code).await.map_err(|e| match e {
        WechatError::CodeInvalid(_) => ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "wechat_code_invalid",
            "code",
            "手机号授权已失效，请重新授权",
        ),
        other => auth::service::wechat_failure(other),
    })?;
    let current = repo::find_resident(&state.db, resident_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("token_revoked", "账号不存在，请重新登录"))?;
    let mut active: residents::ActiveModel = current.into();
    active.phone = Set(Some(number));
    active.updated_at = Set(chrono::Utc::now());
    Ok(repo::update_resident(&state.db, active).await?.into())
}

/// Creates a staff account (admin API, CLI and bootstrap all come here).
pub async fn create_staff(
    db: &DatabaseConnection,
    req: &CreateStaffRequest,
) -> ApiResult<StaffView> {
    let username = Username::parse(&req.username).map_err(|m| invalid("username", m))?;
    let password = Password::parse(&req.password).map_err(|m| invalid("password", m))?;
    let unit = org_units::service::require(db, req.org_unit.trim(), "org_unit").await?;
    if req.role == StaffRole::Admin && unit.kind != OrgUnitKind::District.as_str() {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "admin_must_be_district",
            "org_unit",
            "区级管理员应属于西城区（xicheng）",
        ));
    }
    let hash = hash_password(password).await?;
    match repo::insert_staff(db, username.as_str(), hash, req.role.as_str(), unit.id).await {
        Ok(m) => Ok(StaffView::new(m, unit.code)),
        Err(e) if is_unique_violation(&e) => Err(ApiError::field(
            StatusCode::CONFLICT,
            "username_taken",
            "username",
            "该用户名已被使用",
        )),
        Err(e) => Err(e.into()),
    }
}

/// argon2 is deliberately slow: it runs off the async workers.
async fn hash_password(password: Password) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || auth::password::hash(password.expose()))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::internal(anyhow::anyhow!("password hash: {e}")))
}

pub async fn list_staff(db: &DatabaseConnection, page: PageRequest) -> ApiResult<Page<StaffView>> {
    let rows = repo::list_staff(db, None, page.after, page.limit + 1).await?;
    let codes = unit_codes(db).await?;
    Ok(Page::from_rows(
        rows,
        page,
        |m| m.id,
        |m| {
            let code = codes.get(&m.org_unit_id).cloned().unwrap_or_default();
            StaffView::new(m, code)
        },
    ))
}

pub async fn staff_of_unit(db: &DatabaseConnection, code: &str) -> ApiResult<Vec<StaffView>> {
    let unit = org_units::repo::find_by_code(db, code)
        .await?
        .ok_or_else(|| ApiError::not_found("org_unit_not_found", "没有这个单位"))?;
    let rows = repo::list_staff(db, Some(unit.id), None, 1000).await?;
    Ok(rows
        .into_iter()
        .map(|m| StaffView::new(m, unit.code.clone()))
        .collect())
}

/// Disabling also ends every session of the account.
pub async fn set_disabled(
    db: &DatabaseConnection,
    acting: Uuid,
    id: Uuid,
    disabled: bool,
) -> ApiResult<StaffView> {
    if disabled && acting == id {
        return Err(ApiError::conflict(
            "cannot_disable_self",
            "不能停用自己的账号",
        ));
    }
    let m = repo::set_staff_disabled(db, id, disabled)
        .await?
        .ok_or_else(|| ApiError::not_found("staff_not_found", "没有这个工作人员"))?;
    if disabled {
        auth::service::revoke_all_sessions(db, id).await?;
    }
    staff_view(db, m).await
}

/// `CANYU_BOOTSTRAP_ADMIN=username:password`: creates that district administrator when absent.
pub async fn ensure_bootstrap_admin(db: &DatabaseConnection, spec: &str) -> anyhow::Result<()> {
    let (username, password) = spec
        .split_once(':')
        .ok_or_else(|| anyhow::anyhow!("CANYU_BOOTSTRAP_ADMIN must be username:password"))?;
    let name = Username::parse(username).map_err(|m| anyhow::anyhow!("bootstrap admin: {m}"))?;
    if repo::find_staff_by_username(db, name.as_str())
        .await?
        .is_some()
    {
        return Ok(());
    }
    let req = CreateStaffRequest {
        username: username.to_owned(),
        password: password.to_owned(),
        role: StaffRole::Admin,
        org_unit: "xicheng".to_owned(),
    };
    match create_staff(db, &req).await {
        Ok(v) => {
            tracing::info!(username = %v.username, "bootstrap administrator created");
            Ok(())
        }
        Err(e) if e.code() == "username_taken" => Ok(()),
        Err(e) => Err(anyhow::anyhow!("bootstrap admin: {e:?}")),
    }
}
