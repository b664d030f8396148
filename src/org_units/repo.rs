use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::entities::org_units::{self, Entity as OrgUnits};

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<org_units::Model>, DbErr> {
    OrgUnits::find()
        .order_by_asc(org_units::Column::Id)
        .all(db)
        .await
}

pub async fn find_by_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<org_units::Model>, DbErr> {
    OrgUnits::find()
        .filter(org_units::Column::Code.eq(code))
        .one(db)
        .await
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<org_units::Model>, DbErr> {
    OrgUnits::find_by_id(id).one(db).await
}

pub async fn insert(
    db: &impl ConnectionTrait,
    code: &str,
    name: &str,
    kind: &str,
) -> Result<org_units::Model, DbErr> {
    let model = org_units::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(code.to_owned()),
        name: Set(name.to_owned()),
        kind: Set(kind.to_owned()),
        created_at: Set(chrono::Utc::now()),
    };
    OrgUnits::insert(model).exec_with_returning(db).await
}
