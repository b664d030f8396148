//! The outbox sender: delivers due notices as WeChat subscribe messages.
//!
//! Each run claims a batch of due rows under a fresh token, and every later write on a row
//! (spending a grant, the check right before the send, the result) is conditional on that
//! token still holding the row. So several senders, on one instance or several, send each
//! row once; a sender that died mid-delivery leaves its rows claimed until the claim runs
//! out, and the next run picks them up again.

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use chrono::Utc;
use sea_orm::{DbErr, TransactionTrait};
use uuid::Uuid;

use super::{
    domain::{retry_delay, template_data},
    repo::{self, Finish},
};
use crate::{
    accounts,
    entities::notifications,
    state::AppState,
    wechat::{SubscribeMessage, WechatError},
};

/// Rows claimed at a time.
const BATCH: u32 = 10;
/// A run stops claiming new batches after this long, so one tick never hogs the lease.
const RUN_BUDGET: Duration = Duration::from_secs(60);

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: u32,
    pub inbox_only: u32,
    pub retrying: u32,
    pub dead: u32,
    /// Rows another run took over before this one was done with them.
    pub lost: u32,
}

impl DeliveryReport {
    pub fn total(&self) -> u32 {
        self.sent + self.inbox_only + self.retrying + self.dead + self.lost
    }
}

enum Outcome {
    Sent,
    InboxOnly,
    Retrying,
    Dead,
    Lost,
}

/// The longest one delivery may take: a send, a token refresh and a second send, each
/// bounded by the WeChat timeout, plus room for the database. A claim covers at least this.
fn send_budget(state: &AppState) -> Duration {
    state.settings.wechat_timeout() * 3 + Duration::from_secs(10)
}

/// Delivers every due notice (bounded by [`RUN_BUDGET`]). Safe to run concurrently with
/// itself, here or on other instances.
pub async fn deliver_due(state: &AppState) -> Result<DeliveryReport, DbErr> {
    let started = Instant::now();
    let budget = send_budget(state);
    let mut report = DeliveryReport::default();
    loop {
        let token = Uuid::now_v7();
        let now = Utc::now();
        // Rows of a batch are sent one after the other: the claim covers all of them.
        let until = now + budget * BATCH;
        let rows = repo::claim_due(&state.db, token, now, until, u64::from(BATCH)).await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            match deliver_one(state, row, token).await? {
                Outcome::Sent => report.sent += 1,
                Outcome::InboxOnly => report.inbox_only += 1,
                Outcome::Retrying => report.retrying += 1,
                Outcome::Dead => report.dead += 1,
                Outcome::Lost => report.lost += 1,
            }
        }
        if started.elapsed() > RUN_BUDGET {
            break;
        }
    }
    Ok(report)
}

async fn finish(
    state: &AppState,
    row: &notifications::Model,
    token: Uuid,
    how: Finish<'_>,
) -> Result<Outcome, DbErr> {
    let (outcome, label, reason) = match &how {
        Finish::Sent(_) => (Outcome::Sent, "sent", ""),
        Finish::InboxOnly(r) => (Outcome::InboxOnly, "inbox_only", *r),
        Finish::Retry { error, .. } => (Outcome::Retrying, "retrying", *error),
        Finish::Dead(r) => (Outcome::Dead, "dead", *r),
    };
    if !repo::finish(&state.db, row.id, token, how).await? {
        return Ok(lost(row));
    }
    metrics::counter!("notifications_delivered_total", "outcome" => label).increment(1);
    // The openid is personal data and never logged; the notice id leads to it when needed.
    let (id, kind, attempt) = (row.id, row.kind.as_str(), row.attempts);
    match outcome {
        Outcome::Sent => {
            tracing::info!(notification = %id, kind, attempt, "notice sent through wechat")
        }
        Outcome::InboxOnly => {
            tracing::info!(notification = %id, kind, reason, "notice stays in the inbox only")
        }
        Outcome::Retrying => {
            tracing::warn!(notification = %id, kind, attempt, error = reason, "notice delivery failed, will retry")
        }
        Outcome::Dead | Outcome::Lost => {
            tracing::error!(notification = %id, kind, attempt, error = reason, "notice dead-lettered")
        }
    }
    Ok(outcome)
}

fn lost(row: &notifications::Model) -> Outcome {
    tracing::warn!(notification = %row.id, "another sender took the notice over");
    Outcome::Lost
}

#[tracing::instrument(skip_all, fields(notification = %row.id))]
async fn deliver_one(
    state: &AppState,
    row: notifications::Model,
    token: Uuid,
) -> Result<Outcome, DbErr> {
    let settings = &state.settings;
    let max_attempts = i32::try_from(settings.outbox_max_attempts.max(1)).unwrap_or(i32::MAX);
    // Failed tries end in a retry or a dead letter below; more tries than allowed can only
    // come from senders that died mid-delivery, again and again: stop there.
    if row.attempts > max_attempts {
        let why = format!("gave up after {} interrupted tries", row.attempts - 1);
        return finish(state, &row, token, Finish::Dead(&why)).await;
    }

    let template_id = match row.template_id.clone() {
        // A grant was already spent on this notice by an earlier try.
        Some(t) => t,
        None => {
            let Some(template_id) = settings.wechat_template(&row.kind) else {
                return finish(
                    state,
                    &row,
                    token,
                    Finish::InboxOnly("no template configured"),
                )
                .await;
            };
            if !state.wechat.is_configured() {
                return finish(
                    state,
                    &row,
                    token,
                    Finish::InboxOnly("wechat not configured"),
                )
                .await;
            }
            // Spend the grant and note it on the row together: a retry then reuses it, and
            // a lost claim spends nothing.
            let txn = state.db.begin().await?;
            if !repo::set_template(&txn, row.id, token, template_id).await? {
                txn.rollback().await?;
                return Ok(lost(&row));
            }
            if !repo::take_grant(&txn, row.resident_id, template_id, Utc::now()).await? {
                txn.rollback().await?;
                return finish(
                    state,
                    &row,
                    token,
                    Finish::InboxOnly("no subscription grant"),
                )
                .await;
            }
            txn.commit().await?;
            template_id.to_owned()
        }
    };

    let Some(resident) = accounts::repo::find_resident(&state.db, row.resident_id).await? else {
        return finish(state, &row, token, Finish::Dead("resident not found")).await;
    };
    let data: BTreeMap<String, String> = match serde_json::from_value(row.data.clone()) {
        Ok(d) => d,
        Err(_) => {
            return finish(state, &row, token, Finish::Dead("unreadable template data")).await;
        }
    };
    // The last check before WeChat: is the row still ours (and so not sent by anyone)?
    if !repo::renew_claim(&state.db, row.id, token, Utc::now() + send_budget(state)).await? {
        return Ok(lost(&row));
    }
    let message = SubscribeMessage {
        touser: &resident.openid,
        template_id: &template_id,
        page: row.page.as_deref(),
        data: template_data(&data),
        lang: "zh_CN",
    };
    let how = match state.wechat.send_subscribe_message(&message).await {
        Ok(()) => return finish(state, &row, token, Finish::Sent(Utc::now())).await,
        Err(WechatError::NotSubscribed) => {
            return finish(
                state,
                &row,
                token,
                Finish::InboxOnly("user has no subscription (43101)"),
            )
            .await;
        }
        Err(WechatError::NotConfigured) => {
            return finish(
                state,
                &row,
                token,
                Finish::InboxOnly("wechat not configured"),
            )
            .await;
        }
        Err(e) => e,
    };
    let error = how.to_string();
    if how.is_transient() && row.attempts < max_attempts {
        let attempt = u32::try_from(row.attempts).unwrap_or(1);
        let delay = retry_delay(
            Duration::from_secs(settings.outbox_retry_base_secs),
            attempt,
        );
        // Counted from the start of this try, as recorded when the row was claimed.
        let at = row.last_attempt_at.unwrap_or_else(Utc::now) + delay;
        finish(state, &row, token, Finish::Retry { at, error: &error }).await
    } else {
        // Out of tries, or refused for good (a wrong template id, say): an administrator
        // has to look at it.
        finish(state, &row, token, Finish::Dead(&error)).await
    }
}
