use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::entities::{
    residents::{self, Entity as Residents},
    staff::{self, Entity as Staff},
};

pub async fn find_resident(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<residents::Model>, DbErr> {
    Residents::find_by_id(id).one(db).await
}

pub async fn find_resident_by_openid(
    db: &impl ConnectionTrait,
    openid: &str,
) -> Result<Option<residents::Model>, DbErr> {
    Residents::find()
        .filter(residents::Column::Openid.eq(openid))
        .one(db)
        .await
}

pub async fn insert_resident(
    db: &impl ConnectionTrait,
    openid: &str,
    unionid: Option<&str>,
) -> Result<residents::Model, DbErr> {
    let now = Utc::now();
    let model = residents::ActiveModel {
        id: Set(Uuid::now_v7()),
        openid: Set(openid.to_owned()),
        unionid: Set(unionid.map(str::to_owned)),
        nickname: Set(None),
        phone_enc: Set(None),
        phone_hash: Set(None),
        home_subdistrict: Set(None),
        community: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    };
    Residents::insert(model).exec_with_returning(db).await
}

pub async fn set_unionid(
    db: &impl ConnectionTrait,
    resident: residents::Model,
    unionid: &str,
) -> Result<residents::Model, DbErr> {
    let mut active: residents::ActiveModel = resident.into();
    active.unionid = Set(Some(unionid.to_owned()));
    active.updated_at = Set(Utc::now());
    active.update(db).await
}

pub async fn update_resident(
    db: &impl ConnectionTrait,
    active: residents::ActiveModel,
) -> Result<residents::Model, DbErr> {
    active.update(db).await
}

pub async fn find_staff(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<staff::Model>, DbErr> {
    Staff::find_by_id(id).one(db).await
}

pub async fn find_staff_by_username(
    db: &impl ConnectionTrait,
    username: &str,
) -> Result<Option<staff::Model>, DbErr> {
    Staff::find()
        .filter(staff::Column::Username.eq(username))
        .one(db)
        .await
}

pub async fn insert_staff(
    db: &impl ConnectionTrait,
    username: &str,
    password_hash: String,
    role: &str,
    org_unit_id: Uuid,
) -> Result<staff::Model, DbErr> {
    let model = staff::ActiveModel {
        id: Set(Uuid::now_v7()),
        username: Set(username.to_owned()),
        password_hash: Set(password_hash),
        role: Set(role.to_owned()),
        org_unit_id: Set(org_unit_id),
        disabled: Set(false),
        failed_logins: Set(0),
        locked_until: Set(None),
        created_at: Set(Utc::now()),
    };
    Staff::insert(model).exec_with_returning(db).await
}

pub async fn list_staff(
    db: &impl ConnectionTrait,
    org_unit_id: Option<Uuid>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<staff::Model>, DbErr> {
    let mut q = Staff::find().order_by_asc(staff::Column::Id).limit(limit);
    if let Some(unit) = org_unit_id {
        q = q.filter(staff::Column::OrgUnitId.eq(unit));
    }
    if let Some(after) = after {
        q = q.filter(staff::Column::Id.gt(after));
    }
    q.all(db).await
}

/// Counts a wrong password; at `lock_after` failures the account locks until `lock_until`
/// and the count starts again. One statement, so concurrent attempts all count.
pub async fn record_failed_login(
    db: &impl ConnectionTrait,
    id: Uuid,
    lock_after: i32,
    lock_until: DateTime<Utc>,
) -> Result<(), DbErr> {
    Staff::update_many()
        .col_expr(
            staff::Column::FailedLogins,
            Expr::col(staff::Column::FailedLogins).add(1),
        )
        .filter(staff::Column::Id.eq(id))
        .exec(db)
        .await?;
    Staff::update_many()
        .col_expr(staff::Column::FailedLogins, Expr::value(0))
        .col_expr(staff::Column::LockedUntil, Expr::value(Some(lock_until)))
        .filter(staff::Column::Id.eq(id))
        .filter(staff::Column::FailedLogins.gte(lock_after))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn reset_failed_logins(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    Staff::update_many()
        .col_expr(staff::Column::FailedLogins, Expr::value(0))
        .col_expr(
            staff::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(staff::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_staff_disabled(
    db: &impl ConnectionTrait,
    id: Uuid,
    disabled: bool,
) -> Result<Option<staff::Model>, DbErr> {
    Staff::update_many()
        .col_expr(staff::Column::Disabled, Expr::value(disabled))
        .filter(staff::Column::Id.eq(id))
        .exec(db)
        .await?;
    find_staff(db, id).await
}

pub async fn find_residents_by_phone_hash(
    db: &impl ConnectionTrait,
    hash: &str,
) -> Result<Vec<residents::Model>, DbErr> {
    Residents::find()
        .filter(residents::Column::PhoneHash.eq(hash))
        .filter(residents::Column::DeletedAt.is_null())
        .order_by_asc(residents::Column::Id)
        .limit(20)
        .all(db)
        .await
}

/// Erases every personal field of a resident, keeping the row (its id anchors anonymised
/// records such as survey answers). The openid is replaced so the same WeChat user starts
/// afresh if they come back.
pub async fn erase_resident(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    let now = Utc::now();
    Residents::update_many()
        .col_expr(
            residents::Column::Openid,
            Expr::value(format!("deleted:{id}")),
        )
        .col_expr(
            residents::Column::Unionid,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            residents::Column::Nickname,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            residents::Column::PhoneEnc,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            residents::Column::PhoneHash,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            residents::Column::HomeSubdistrict,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            residents::Column::Community,
            Expr::value(Option::<String>::None),
        )
        .col_expr(residents::Column::UpdatedAt, Expr::value(now))
        .col_expr(residents::Column::DeletedAt, Expr::value(Some(now)))
        .filter(residents::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
