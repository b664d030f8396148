use std::collections::HashMap;

use actix_web::http::StatusCode;
use chrono::Utc;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use uuid::Uuid;

use super::{
    domain::{Password, StaffRole, Username, short_text},
    dto::{
        ConsentExport, CreateStaffRequest, DataExport, PersonalField, ProfileExport,
        ResidentAdminView, RevealRequest, RevealedValue, SessionExport, StaffView, UpdateMeRequest,
        UserView, open_phone,
    },
    repo,
};
use crate::{
    audit::{self, Action, Actor},
    auth::{self, Identity, Role},
    content_check::{self, Scene, Text},
    entities::{residents, staff},
    error::{ApiError, ApiResult, FieldError, is_unique_violation},
    notifications, open_days,
    org_units::{self, OrgUnitKind},
    pagination::{Page, PageRequest},
    personal_data::consent,
    rate_limit::{self, Limit},
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

fn account_gone() -> ApiError {
    ApiError::unauthorized("token_revoked", "账号不存在，请重新登录")
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

/// A resident who still has an account.
async fn live_resident(db: &impl ConnectionTrait, id: Uuid) -> ApiResult<residents::Model> {
    repo::find_resident(db, id)
        .await?
        .filter(|r| r.deleted_at.is_none())
        .ok_or_else(account_gone)
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
    Ok(org_units::service::codes_by_id(db).await?)
}

async fn unit_code(db: &impl ConnectionTrait, id: Uuid) -> ApiResult<String> {
    Ok(org_units::repo::find(db, id)
        .await?
        .map(|u| u.code)
        .unwrap_or_default())
}

pub async fn user_view_of_staff(db: &impl ConnectionTrait, m: staff::Model) -> ApiResult<UserView> {
    let code = unit_code(db, m.org_unit_id).await?;
    Ok(UserView::staff(m, code))
}

pub async fn me(state: &AppState, who: &Identity) -> ApiResult<UserView> {
    match who.role {
        Role::Resident => Ok(UserView::resident(
            live_resident(&state.db, who.id).await?,
            &state.data_key,
        )),
        Role::Staff | Role::Admin => {
            let m = repo::find_staff(&state.db, who.id)
                .await?
                .filter(|s| !s.disabled)
                .ok_or_else(account_gone)?;
            user_view_of_staff(&state.db, m).await
        }
    }
}

/// A resident edits their profile. Counts as a submission for the rate limit; new free text
/// goes through WeChat's content check before anything is written.
#[tracing::instrument(skip_all)]
pub async fn update_me(
    state: &AppState,
    resident_id: Uuid,
    req: UpdateMeRequest,
) -> ApiResult<UserView> {
    rate_limit::check(state, Limit::Submission, &resident_id.to_string()).await?;
    let db = &state.db;
    let current = live_resident(db, resident_id).await?;
    let mut errors = Vec::new();
    let mut nickname = None;
    if let Some(value) = req.nickname {
        match value
            .map(|n| short_text(&n, 20, "昵称应为 1 到 20 个字"))
            .transpose()
        {
            Ok(v) => nickname = Some(v),
            Err(m) => errors.push(("nickname", m)),
        }
    }
    let mut community = None;
    if let Some(value) = req.community {
        match value
            .map(|c| short_text(&c, 40, "社区名称应为 1 到 40 个字"))
            .transpose()
        {
            Ok(v) => community = Some(v),
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
    let home_subdistrict = match req.home_subdistrict {
        Some(Some(code)) => Some(Some(
            org_units::service::require_subdistrict(db, code.trim(), "home_subdistrict")
                .await?
                .code,
        )),
        Some(None) => Some(None),
        None => None,
    };

    // Last, once the request is otherwise valid, and only for text that changes: WeChat's
    // quota is not spent on requests refused anyway or on text it already passed.
    let mut texts = Vec::new();
    if let Some(Some(n)) = &nickname
        && current.nickname.as_ref() != Some(n)
    {
        texts.push(Text {
            field: "nickname",
            content: n,
        });
    }
    if let Some(Some(c)) = &community
        && current.community.as_ref() != Some(c)
    {
        texts.push(Text {
            field: "community",
            content: c,
        });
    }
    content_check::check(state, &current.openid, Scene::Profile, &texts).await?;

    let mut active: residents::ActiveModel = current.into();
    if let Some(v) = nickname {
        active.nickname = Set(v);
    }
    if let Some(v) = community {
        active.community = Set(v);
    }
    if let Some(v) = home_subdistrict {
        active.home_subdistrict = Set(v);
    }
    active.updated_at = Set(Utc::now());
    let updated = repo::update_resident(db, active).await?;
    Ok(UserView::resident(updated, &state.data_key))
}

/// Stores the resident's phone number from a WeChat `getPhoneNumber` code: sealed, with a
/// keyed hash for lookups, and the consent the button press expressed.
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
    let txn = state.db.begin().await?;
    let current = live_resident(&txn, resident_id).await?;
    let mut active: residents::ActiveModel = current.into();
    active.phone_enc = Set(Some(state.data_key.seal(&number)));
    active.phone_hash = Set(Some(state.data_key.lookup_hash(&number)));
    active.updated_at = Set(Utc::now());
    let updated = repo::update_resident(&txn, active).await?;
    consent::record(
        &txn,
        resident_id,
        "phone_number",
        &state.settings.privacy_notice_version,
    )
    .await?;
    txn.commit().await?;
    Ok(UserView::resident(updated, &state.data_key))
}

/// Everything canyu holds about the resident.
pub async fn data_export(state: &AppState, resident_id: Uuid) -> ApiResult<DataExport> {
    let db = &state.db;
    let r = live_resident(db, resident_id).await?;
    let consents = consent::of_resident(db, resident_id).await?;
    let sessions = auth::service::sessions_of(db, resident_id).await?;
    let notifications = notifications::service::export_of(db, resident_id).await?;
    let survey_responses = crate::surveys::service::my_responses(state, resident_id).await?;
    let reservations = open_days::service::export_of(state, resident_id).await?;
    let deliberation_signups = crate::deliberation::service::export_of(state, resident_id).await?;
    let (officer_applications, officer_feedback) =
        crate::officers::service::export_of(state, resident_id).await?;
    Ok(DataExport {
        exported_at: Utc::now(),
        profile: ProfileExport {
            phone: open_phone(&r, &state.data_key),
            id: r.id,
            openid: r.openid,
            unionid: r.unionid,
            nickname: r.nickname,
            home_subdistrict: r.home_subdistrict,
            community: r.community,
            created_at: r.created_at,
            updated_at: r.updated_at,
        },
        consents: consents.into_iter().map(ConsentExport::from).collect(),
        sessions: sessions
            .into_iter()
            .map(|t| SessionExport {
                created_at: t.created_at,
                expires_at: t.expires_at,
                revoked: t.revoked || t.used_at.is_some(),
            })
            .collect(),
        notifications,
        survey_responses,
        reservations,
        deliberation_signups,
        officer_applications,
        officer_feedback,
    })
}

/// Deletes the resident's account: personal fields erased, every session ended, in one
/// transaction; then this access token is revoked.
#[tracing::instrument(skip_all)]
pub async fn delete_account(state: &AppState, who: &Identity) -> ApiResult<()> {
    let txn = state.db.begin().await?;
    live_resident(&txn, who.id).await?;
    repo::erase_resident(&txn, who.id).await?;
    notifications::service::erase_resident(&txn, who.id).await?;
    crate::surveys::service::erase_resident(&txn, who.id).await?;
    // Future reservations are cancelled and their seats freed; visitor data is erased.
    open_days::service::erase_resident(&txn, who.id).await?;
    crate::deliberation::service::erase_resident(&txn, who.id).await?;
    // Pending applications are withdrawn, applicants' data erased, serving terms ended.
    crate::officers::service::erase_resident(&txn, who.id).await?;
    auth::service::revoke_all_sessions(&txn, who.id).await?;
    txn.commit().await?;
    // The account is gone already; its token is refused by the account check regardless.
    if let Err(e) = auth::service::revoke_access_token(state, who).await {
        tracing::warn!(error = %e, "access token of a deleted account not revoked");
    }
    tracing::info!(resident = %who.id, "resident deleted their account");
    Ok(())
}

/// Residents with this phone number, masked (district administrators answering a call).
pub async fn residents_by_phone(
    state: &AppState,
    phone: &str,
) -> ApiResult<Vec<ResidentAdminView>> {
    let phone = phone.trim();
    if phone.is_empty() || phone.len() > 20 {
        return Err(ApiError::field(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "phone",
            "请输入完整的手机号",
        ));
    }
    let hash = state.data_key.lookup_hash(phone);
    Ok(repo::find_residents_by_phone_hash(&state.db, &hash)
        .await?
        .into_iter()
        .map(|m| ResidentAdminView::new(m, &state.data_key))
        .collect())
}

/// Shows one personal field in full, and writes who, why and when to the audit log first.
pub async fn reveal(
    state: &AppState,
    actor: &Actor,
    resident_id: Uuid,
    req: &RevealRequest,
) -> ApiResult<RevealedValue> {
    let not_found = || ApiError::not_found("resident_not_found", "没有这位居民");
    let r = repo::find_resident(&state.db, resident_id)
        .await?
        .filter(|r| r.deleted_at.is_none())
        .ok_or_else(not_found)?;
    let value = match req.field {
        PersonalField::Phone => open_phone(&r, &state.data_key),
    }
    .ok_or_else(|| ApiError::not_found("personal_data_absent", "该居民没有留下这项信息"))?;
    audit::record(
        &state.db,
        actor,
        Action::PersonalDataRevealed,
        "resident",
        &resident_id.to_string(),
        Some(serde_json::json!({ "field": req.field, "reason": req.reason.trim() })),
    )
    .await?;
    Ok(RevealedValue {
        field: req.field,
        value,
    })
}

/// Creates a staff account (admin API, CLI and bootstrap all come here).
pub async fn create_staff(
    db: &DatabaseConnection,
    actor: &Actor,
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
    let txn = db.begin().await?;
    let created =
        match repo::insert_staff(&txn, username.as_str(), hash, req.role.as_str(), unit.id).await {
            Ok(m) => m,
            Err(e) if is_unique_violation(&e) => {
                return Err(ApiError::field(
                    StatusCode::CONFLICT,
                    "username_taken",
                    "username",
                    "该用户名已被使用",
                ));
            }
            Err(e) => return Err(e.into()),
        };
    audit::record(
        &txn,
        actor,
        Action::StaffCreated,
        "staff",
        &created.id.to_string(),
        Some(serde_json::json!({
            "username": created.username,
            "role": created.role,
            "org_unit": unit.code,
        })),
    )
    .await?;
    txn.commit().await?;
    Ok(StaffView::new(created, unit.code))
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
    actor: &Actor,
    id: Uuid,
    disabled: bool,
) -> ApiResult<StaffView> {
    if disabled && actor.id == id {
        return Err(ApiError::conflict(
            "cannot_disable_self",
            "不能停用自己的账号",
        ));
    }
    let txn = db.begin().await?;
    let m = repo::set_staff_disabled(&txn, id, disabled)
        .await?
        .ok_or_else(|| ApiError::not_found("staff_not_found", "没有这个工作人员"))?;
    if disabled {
        auth::service::revoke_all_sessions(&txn, id).await?;
    }
    let action = if disabled {
        Action::StaffDisabled
    } else {
        Action::StaffEnabled
    };
    audit::record(&txn, actor, action, "staff", &id.to_string(), None).await?;
    let code = unit_code(&txn, m.org_unit_id).await?;
    txn.commit().await?;
    Ok(StaffView::new(m, code))
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
    match create_staff(db, &Actor::system("bootstrap"), &req).await {
        Ok(v) => {
            tracing::info!(username = %v.username, "bootstrap administrator created");
            Ok(())
        }
        Err(e) if e.code() == "username_taken" => Ok(()),
        Err(e) => Err(anyhow::anyhow!("bootstrap admin: {e:?}")),
    }
}
