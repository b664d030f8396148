//! Use cases of the inbox, the subscription grants and the dead-letter list, and
//! [`enqueue`], which every feature calls inside its own transaction.

use actix_web::http::StatusCode;
use chrono::Utc;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use uuid::Uuid;

use super::{
    domain::Notice,
    dto::{DeadLetterView, InboxPage, NotificationView, SubscriptionRequest, SubscriptionView},
    repo,
};
use crate::{
    error::{ApiError, ApiResult},
    pagination::{Page, PageRequest},
    state::AppState,
};

/// Writes a notice for `resident_id`. Call it with the transaction of the change that causes
/// the notice: it then exists exactly when the change does, and the sender job delivers it
/// after the commit (never for a change that rolled back).
#[tracing::instrument(skip_all, fields(kind = notice.kind.as_str()))]
pub async fn enqueue(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
    notice: Notice,
) -> Result<Uuid, DbErr> {
    repo::insert(db, resident_id, notice, Utc::now()).await
}

pub async fn inbox(
    db: &DatabaseConnection,
    resident_id: Uuid,
    page: PageRequest,
) -> ApiResult<InboxPage> {
    let rows = repo::list_for_resident(db, resident_id, page.after, page.limit + 1).await?;
    let unread_count = repo::unread_count(db, resident_id).await?;
    let page = Page::from_rows(rows, page, |m| m.id, NotificationView::from);
    Ok(InboxPage {
        items: page.items,
        next_cursor: page.next_cursor,
        unread_count,
    })
}

pub async fn mark_read(
    db: &DatabaseConnection,
    resident_id: Uuid,
    id: Uuid,
) -> ApiResult<NotificationView> {
    repo::mark_read(db, resident_id, id, Utc::now())
        .await?
        .map(NotificationView::from)
        // Someone else's notice is answered like one that does not exist.
        .ok_or_else(|| ApiError::not_found("notification_not_found", "没有这条消息"))
}

/// Records the resident's answer to a subscribe-message prompt. Only templates this server
/// sends are accepted, so a mini-program and server configured apart show up at once.
#[tracing::instrument(skip_all)]
pub async fn record_subscription(
    state: &AppState,
    resident_id: Uuid,
    req: SubscriptionRequest,
) -> ApiResult<SubscriptionView> {
    let template_id = req.template_id.trim();
    let known = !template_id.is_empty()
        && state
            .settings
            .wechat_templates
            .values()
            .any(|t| t.trim() == template_id);
    if !known {
        return Err(ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "template_unknown",
            "template_id",
            "没有这个订阅消息模板",
        ));
    }
    if req.accepted {
        repo::add_grant(&state.db, resident_id, template_id, Utc::now()).await?;
    }
    let remaining = repo::grant_remaining(&state.db, resident_id, template_id).await?;
    Ok(SubscriptionView {
        template_id: template_id.to_owned(),
        remaining,
    })
}

pub async fn dead_letters(
    db: &DatabaseConnection,
    page: PageRequest,
) -> ApiResult<Page<DeadLetterView>> {
    let rows = repo::list_dead(db, page.after, page.limit + 1).await?;
    Ok(Page::from_rows(rows, page, |m| m.id, DeadLetterView::from))
}

/// A resident's notices, for `GET /api/v1/me/data-export`.
pub async fn export_of(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
) -> ApiResult<Vec<NotificationView>> {
    Ok(repo::all_of_resident(db, resident_id)
        .await?
        .into_iter()
        .map(NotificationView::from)
        .collect())
}

/// Part of deleting an account: call it in the deletion's transaction.
pub async fn erase_resident(db: &impl ConnectionTrait, resident_id: Uuid) -> Result<(), DbErr> {
    repo::delete_of_resident(db, resident_id).await
}
