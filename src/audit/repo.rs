use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::Actor;
use crate::entities::audit_log::{self, Entity as AuditLog};

pub async fn insert(
    db: &impl ConnectionTrait,
    actor: &Actor,
    action: &str,
    target_type: &str,
    target_id: &str,
    detail: Option<String>,
    request_id: Option<String>,
) -> Result<(), DbErr> {
    let row = audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        at: Set(Utc::now()),
        actor_id: Set(actor.id),
        actor_name: Set(actor.name.clone()),
        actor_role: Set(actor.role.clone()),
        actor_org_unit: Set(actor.org_unit.clone()),
        action: Set(action.to_owned()),
        target_type: Set(target_type.to_owned()),
        target_id: Set(target_id.to_owned()),
        detail: Set(detail),
        request_id: Set(request_id),
    };
    AuditLog::insert(row).exec_without_returning(db).await?;
    Ok(())
}

pub struct Filter {
    pub actor: Option<Uuid>,
    pub target: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Newest first; `before` is the last id of the previous page.
pub async fn list(
    db: &impl ConnectionTrait,
    filter: &Filter,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<audit_log::Model>, DbErr> {
    let mut q = AuditLog::find()
        .order_by_desc(audit_log::Column::Id)
        .limit(limit);
    if let Some(actor) = filter.actor {
        q = q.filter(audit_log::Column::ActorId.eq(actor));
    }
    if let Some(target) = &filter.target {
        q = q.filter(audit_log::Column::TargetId.eq(target.as_str()));
    }
    if let Some(from) = filter.from {
        q = q.filter(audit_log::Column::At.gte(from));
    }
    if let Some(to) = filter.to {
        q = q.filter(audit_log::Column::At.lt(to));
    }
    if let Some(before) = before {
        q = q.filter(audit_log::Column::Id.lt(before));
    }
    q.all(db).await
}
