use actix_web::http::StatusCode;
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};

use super::{OrgUnitCode, OrgUnitKind, OrgUnitView, repo};
use crate::{
    audit::{self, Action, Actor},
    entities::org_units,
    error::{ApiError, ApiResult, is_unique_violation},
};

/// Every org unit's code by id, for lists that store the id and show the code.
pub async fn codes_by_id(
    db: &impl ConnectionTrait,
) -> Result<std::collections::HashMap<uuid::Uuid, String>, sea_orm::DbErr> {
    Ok(repo::list(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.code))
        .collect())
}

pub async fn list(db: &impl ConnectionTrait) -> ApiResult<Vec<OrgUnitView>> {
    Ok(repo::list(db).await?.into_iter().map(Into::into).collect())
}

/// The org unit a request names by code; 422 on `field` when there is none.
pub async fn require(
    db: &impl ConnectionTrait,
    code: &str,
    field: &str,
) -> ApiResult<org_units::Model> {
    repo::find_by_code(db, code).await?.ok_or_else(|| {
        ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "org_unit_unknown",
            field,
            "没有这个单位",
        )
    })
}

/// Like [`require`], and the unit must be a sub-district.
pub async fn require_subdistrict(
    db: &impl ConnectionTrait,
    code: &str,
    field: &str,
) -> ApiResult<org_units::Model> {
    let unit = require(db, code, field).await?;
    if unit.kind != OrgUnitKind::Subdistrict.as_str() {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_a_subdistrict",
            field,
            "请选择西城区的一个街道",
        ));
    }
    Ok(unit)
}

pub async fn create_department(
    db: &DatabaseConnection,
    actor: &Actor,
    code: &str,
    name: &str,
) -> ApiResult<OrgUnitView> {
    let code = OrgUnitCode::parse(code).map_err(|m| {
        ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "code",
            m,
        )
    })?;
    let name = name.trim();
    let txn = db.begin().await?;
    match repo::insert(&txn, code.as_str(), name, OrgUnitKind::Department.as_str()).await {
        Ok(m) => {
            audit::record(
                &txn,
                actor,
                Action::OrgUnitCreated,
                "org_unit",
                &m.code,
                Some(serde_json::json!({ "name": m.name })),
            )
            .await?;
            txn.commit().await?;
            Ok(m.into())
        }
        Err(e) if is_unique_violation(&e) => Err(ApiError::field(
            StatusCode::CONFLICT,
            "org_unit_exists",
            "code",
            "该单位代码已存在",
        )),
        Err(e) => Err(e.into()),
    }
}
