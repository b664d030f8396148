//! Consent records: every form that collects personal data notes which privacy notice version
//! the resident accepted, and when.

use actix_web::http::StatusCode;
use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::{
    entities::consents::{self, Entity as Consents},
    error::ApiError,
    telemetry::current_request_id,
};

/// A form's `consent` must be `true`: 422 `consent_required` otherwise.
pub fn require(consent: bool) -> Result<(), ApiError> {
    if consent {
        Ok(())
    } else {
        Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "consent_required",
            "consent",
            "请阅读并同意隐私政策后再提交",
        ))
    }
}

/// Records that `resident_id` accepted `notice_version` for `purpose`. Call it on the
/// transaction that stores the personal data.
pub async fn record(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
    purpose: &str,
    notice_version: &str,
) -> Result<(), DbErr> {
    let row = consents::ActiveModel {
        id: Set(Uuid::now_v7()),
        resident_id: Set(resident_id),
        purpose: Set(purpose.to_owned()),
        notice_version: Set(notice_version.to_owned()),
        accepted_at: Set(Utc::now()),
        request_id: Set(current_request_id()),
    };
    Consents::insert(row).exec_without_returning(db).await?;
    Ok(())
}

pub async fn of_resident(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
) -> Result<Vec<consents::Model>, DbErr> {
    Consents::find()
        .filter(consents::Column::ResidentId.eq(resident_id))
        .order_by_asc(consents::Column::Id)
        .all(db)
        .await
}
