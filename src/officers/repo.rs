//! Queries of invited experience officers, generic over `ConnectionTrait` so they run inside
//! transactions.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait, Func, Query},
};
use uuid::Uuid;

use super::domain::{ApplicationStatus as A, ReplyStatus};
use crate::entities::{
    officer_activities::{self as act, Entity as Activities},
    officer_activity_signups::{self as sig, Entity as Signups},
    officer_applications::{self as app, Entity as Applications},
    officer_campaigns::{self as camp, Entity as Campaigns},
    officer_feedback::{self as fb, Entity as Feedback},
    officer_feedback_replies::{self as rep, Entity as Replies},
    officers::{self as off, Entity as Officers},
    residents,
};

pub async fn find_resident(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<residents::Model>, DbErr> {
    residents::Entity::find_by_id(id).one(db).await
}

// ---- campaigns ----

pub async fn insert_campaign(
    db: &impl ConnectionTrait,
    m: camp::ActiveModel,
) -> Result<camp::Model, DbErr> {
    m.insert(db).await
}

pub async fn find_campaign(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<camp::Model>, DbErr> {
    Campaigns::find_by_id(id).one(db).await
}

pub async fn find_campaigns(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<camp::Model>, DbErr> {
    Campaigns::find()
        .filter(camp::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// Rewrites a campaign's description, unless the quota would drop below the officers
/// approved at that moment; false then.
#[allow(clippy::too_many_arguments)]
pub async fn update_campaign(
    db: &impl ConnectionTrait,
    id: Uuid,
    title: &str,
    description: &str,
    quota: i32,
    requirements: &str,
    apply_opens_at: DateTime<Utc>,
    apply_closes_at: DateTime<Utc>,
    term_months: i32,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = Campaigns::update_many()
        .col_expr(camp::Column::Title, Expr::value(title))
        .col_expr(camp::Column::Description, Expr::value(description))
        .col_expr(camp::Column::Quota, Expr::value(quota))
        .col_expr(camp::Column::Requirements, Expr::value(requirements))
        .col_expr(camp::Column::ApplyOpensAt, Expr::value(apply_opens_at))
        .col_expr(camp::Column::ApplyClosesAt, Expr::value(apply_closes_at))
        .col_expr(camp::Column::TermMonths, Expr::value(term_months))
        .col_expr(camp::Column::UpdatedAt, Expr::value(now))
        .filter(camp::Column::Id.eq(id))
        .filter(camp::Column::Approved.lte(quota))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Moves a campaign from one of `from` to `to`; false when it was in none of them.
pub async fn set_campaign_status(
    db: &impl ConnectionTrait,
    id: Uuid,
    from: &[&str],
    to: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = Campaigns::update_many()
        .col_expr(camp::Column::Status, Expr::value(to))
        .col_expr(camp::Column::UpdatedAt, Expr::value(now))
        .filter(camp::Column::Id.eq(id))
        .filter(camp::Column::Status.is_in(from.iter().copied()))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Published campaigns still taking (or about to take) applications, oldest first.
pub async fn list_open_campaigns(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<camp::Model>, DbErr> {
    let mut q = Campaigns::find()
        .filter(camp::Column::Status.eq("published"))
        .filter(camp::Column::ApplyClosesAt.gt(now));
    if let Some(a) = after {
        q = q.filter(camp::Column::Id.gt(a));
    }
    q.order_by_asc(camp::Column::Id).limit(limit).all(db).await
}

/// Every campaign of an org unit (`None`: of the whole district), oldest first.
pub async fn list_campaigns_of_unit(
    db: &impl ConnectionTrait,
    org_unit_id: Option<Uuid>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<camp::Model>, DbErr> {
    let mut q = Campaigns::find();
    if let Some(u) = org_unit_id {
        q = q.filter(camp::Column::OrgUnitId.eq(u));
    }
    if let Some(a) = after {
        q = q.filter(camp::Column::Id.gt(a));
    }
    q.order_by_asc(camp::Column::Id).limit(limit).all(db).await
}

/// Takes one officer place if one is left: one conditional UPDATE, atomic on SQLite and
/// PostgreSQL alike (the row lock serialises concurrent approvers).
pub async fn take_place(db: &impl ConnectionTrait, campaign_id: Uuid) -> Result<bool, DbErr> {
    let res = Campaigns::update_many()
        .col_expr(
            camp::Column::Approved,
            Expr::col(camp::Column::Approved).add(1),
        )
        .filter(camp::Column::Id.eq(campaign_id))
        .filter(Expr::col(camp::Column::Approved).lt(Expr::col(camp::Column::Quota)))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

// ---- applications ----

pub async fn insert_application(
    db: &impl ConnectionTrait,
    m: app::ActiveModel,
) -> Result<app::Model, DbErr> {
    m.insert(db).await
}

pub async fn find_application(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<app::Model>, DbErr> {
    Applications::find_by_id(id).one(db).await
}

pub async fn find_applications(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<app::Model>, DbErr> {
    Applications::find()
        .filter(app::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

/// The resident's pending or approved application to a campaign.
pub async fn active_application(
    db: &impl ConnectionTrait,
    campaign_id: Uuid,
    resident_id: Uuid,
) -> Result<Option<app::Model>, DbErr> {
    Applications::find()
        .filter(app::Column::CampaignId.eq(campaign_id))
        .filter(app::Column::ActiveResidentId.eq(resident_id))
        .one(db)
        .await
}

/// Moves an application from `from` to `to`; false when it was not in `from` any more (a
/// concurrent review or withdrawal won). Leaving the active states frees the resident to
/// apply again.
pub async fn set_application_status(
    db: &impl ConnectionTrait,
    id: Uuid,
    from: A,
    to: A,
    reason: Option<&str>,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let mut q = Applications::update_many()
        .col_expr(app::Column::Status, Expr::value(to.as_str()))
        .col_expr(app::Column::UpdatedAt, Expr::value(now))
        .filter(app::Column::Id.eq(id))
        .filter(app::Column::Status.eq(from.as_str()));
    if matches!(to, A::Rejected | A::Withdrawn) {
        q = q.col_expr(
            app::Column::ActiveResidentId,
            Expr::value(Option::<Uuid>::None),
        );
    }
    if by.is_some() {
        q = q
            .col_expr(app::Column::ReviewedBy, Expr::value(by))
            .col_expr(app::Column::ReviewedAt, Expr::value(Some(now)))
            .col_expr(app::Column::Reason, Expr::value(reason.map(str::to_owned)));
    }
    Ok(q.exec(db).await?.rows_affected == 1)
}

pub async fn applications_of_campaign(
    db: &impl ConnectionTrait,
    campaign_id: Uuid,
    status: Option<A>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<app::Model>, DbErr> {
    let mut q = Applications::find().filter(app::Column::CampaignId.eq(campaign_id));
    if let Some(s) = status {
        q = q.filter(app::Column::Status.eq(s.as_str()));
    }
    if let Some(a) = after {
        q = q.filter(app::Column::Id.gt(a));
    }
    q.order_by_asc(app::Column::Id).limit(limit).all(db).await
}

/// A resident's applications, newest first.
pub async fn applications_of_resident(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
    before: Option<Uuid>,
    limit: Option<u64>,
) -> Result<Vec<app::Model>, DbErr> {
    let mut q = Applications::find().filter(app::Column::ResidentId.eq(resident_id));
    if let Some(b) = before {
        q = q.filter(app::Column::Id.lt(b));
    }
    q.order_by_desc(app::Column::Id).limit(limit).all(db).await
}

pub async fn count_applications(
    db: &impl ConnectionTrait,
    campaign_id: Uuid,
    status: A,
) -> Result<u64, DbErr> {
    Applications::find()
        .filter(app::Column::CampaignId.eq(campaign_id))
        .filter(app::Column::Status.eq(status.as_str()))
        .count(db)
        .await
}

// ---- officers ----

pub async fn insert_officer(
    db: &impl ConnectionTrait,
    m: off::ActiveModel,
) -> Result<off::Model, DbErr> {
    m.insert(db).await
}

pub async fn find_officer(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<off::Model>, DbErr> {
    Officers::find_by_id(id).one(db).await
}

pub async fn officers_of_applications(
    db: &impl ConnectionTrait,
    application_ids: &[Uuid],
) -> Result<Vec<off::Model>, DbErr> {
    Officers::find()
        .filter(off::Column::ApplicationId.is_in(application_ids.iter().copied()))
        .all(db)
        .await
}

pub async fn officers_of_campaign(
    db: &impl ConnectionTrait,
    campaign_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<off::Model>, DbErr> {
    let mut q = Officers::find().filter(off::Column::CampaignId.eq(campaign_id));
    if let Some(a) = after {
        q = q.filter(off::Column::Id.gt(a));
    }
    q.order_by_asc(off::Column::Id).limit(limit).all(db).await
}

fn serving(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(off::Column::EndedAt.is_null())
        .add(off::Column::TermEndsAt.gt(now))
}

/// The resident's term in a campaign that runs now.
pub async fn serving_officer(
    db: &impl ConnectionTrait,
    campaign_id: Uuid,
    resident_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<off::Model>, DbErr> {
    Officers::find()
        .filter(off::Column::CampaignId.eq(campaign_id))
        .filter(off::Column::ResidentId.eq(resident_id))
        .filter(serving(now))
        .one(db)
        .await
}

pub async fn count_serving(
    db: &impl ConnectionTrait,
    campaign_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    Officers::find()
        .filter(off::Column::CampaignId.eq(campaign_id))
        .filter(serving(now))
        .count(db)
        .await
}

/// Ends a term early; false when it had already ended or run out.
pub async fn end_officer(
    db: &impl ConnectionTrait,
    id: Uuid,
    reason: &str,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = Officers::update_many()
        .col_expr(off::Column::EndedAt, Expr::value(Some(now)))
        .col_expr(off::Column::EndReason, Expr::value(Some(reason.to_owned())))
        .col_expr(off::Column::EndedBy, Expr::value(by))
        .filter(off::Column::Id.eq(id))
        .filter(serving(now))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn serving_officers_of_resident(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<off::Model>, DbErr> {
    Officers::find()
        .filter(off::Column::ResidentId.eq(resident_id))
        .filter(serving(now))
        .all(db)
        .await
}

// ---- activities ----

pub async fn insert_activity(
    db: &impl ConnectionTrait,
    m: act::ActiveModel,
) -> Result<act::Model, DbErr> {
    m.insert(db).await
}

pub async fn find_activity(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<act::Model>, DbErr> {
    Activities::find_by_id(id).one(db).await
}

pub async fn find_activities(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<act::Model>, DbErr> {
    Activities::find()
        .filter(act::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await
}

pub async fn activities_of_campaign(
    db: &impl ConnectionTrait,
    campaign_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<act::Model>, DbErr> {
    let mut q = Activities::find().filter(act::Column::CampaignId.eq(campaign_id));
    if let Some(a) = after {
        q = q.filter(act::Column::Id.gt(a));
    }
    q.order_by_asc(act::Column::Id).limit(limit).all(db).await
}

pub async fn count_activities_started(
    db: &impl ConnectionTrait,
    campaign_id: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, DbErr> {
    Activities::find()
        .filter(act::Column::CampaignId.eq(campaign_id))
        .filter(act::Column::StartsAt.lte(now))
        .count(db)
        .await
}

/// Takes one place in an activity if one is left (see [`take_place`]).
pub async fn take_activity_place(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    let res = Activities::update_many()
        .col_expr(act::Column::Taken, Expr::col(act::Column::Taken).add(1))
        .filter(act::Column::Id.eq(id))
        .filter(Expr::col(act::Column::Taken).lt(Expr::col(act::Column::Capacity)))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn free_activity_place(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    Activities::update_many()
        .col_expr(act::Column::Taken, Expr::col(act::Column::Taken).sub(1))
        .filter(act::Column::Id.eq(id))
        .filter(act::Column::Taken.gt(0))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn insert_signup(
    db: &impl ConnectionTrait,
    m: sig::ActiveModel,
) -> Result<sig::Model, DbErr> {
    m.insert(db).await
}

pub async fn find_signup(
    db: &impl ConnectionTrait,
    activity_id: Uuid,
    officer_id: Uuid,
) -> Result<Option<sig::Model>, DbErr> {
    Signups::find()
        .filter(sig::Column::ActivityId.eq(activity_id))
        .filter(sig::Column::OfficerId.eq(officer_id))
        .one(db)
        .await
}

/// A resident's sign-ups to activities that have not started.
pub async fn future_signups_of_resident(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<sig::Model>, DbErr> {
    Signups::find()
        .filter(sig::Column::ResidentId.eq(resident_id))
        .filter(
            sig::Column::ActivityId.in_subquery(
                Query::select()
                    .column(act::Column::Id)
                    .from(Activities)
                    .and_where(act::Column::StartsAt.gt(now))
                    .to_owned(),
            ),
        )
        .all(db)
        .await
}

pub async fn delete_signup(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    Ok(Signups::delete_by_id(id).exec(db).await?.rows_affected == 1)
}

// ---- feedback ----

pub async fn insert_feedback(
    db: &impl ConnectionTrait,
    m: fb::ActiveModel,
) -> Result<fb::Model, DbErr> {
    m.insert(db).await
}

pub async fn find_feedback(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<fb::Model>, DbErr> {
    Feedback::find_by_id(id).one(db).await
}

pub async fn find_feedback_of(
    db: &impl ConnectionTrait,
    activity_id: Uuid,
    officer_id: Uuid,
) -> Result<Option<fb::Model>, DbErr> {
    Feedback::find()
        .filter(fb::Column::ActivityId.eq(activity_id))
        .filter(fb::Column::OfficerId.eq(officer_id))
        .one(db)
        .await
}

/// A resident's feedback, newest first.
pub async fn feedback_of_resident(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
    before: Option<Uuid>,
    limit: Option<u64>,
) -> Result<Vec<fb::Model>, DbErr> {
    let mut q = Feedback::find().filter(fb::Column::ResidentId.eq(resident_id));
    if let Some(b) = before {
        q = q.filter(fb::Column::Id.lt(b));
    }
    q.order_by_desc(fb::Column::Id).limit(limit).all(db).await
}

/// Feedback staff may answer: of campaigns of `org_unit_id` (`None`: every campaign),
/// optionally one campaign, optionally only what was created before `unanswered_before` and
/// is still unanswered. Oldest first, so the longest waiting come first.
pub async fn feedback_for_staff(
    db: &impl ConnectionTrait,
    org_unit_id: Option<Uuid>,
    campaign_id: Option<Uuid>,
    unanswered_before: Option<DateTime<Utc>>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<fb::Model>, DbErr> {
    let mut q = Feedback::find();
    if let Some(u) = org_unit_id {
        q = q.filter(
            fb::Column::CampaignId.in_subquery(
                Query::select()
                    .column(camp::Column::Id)
                    .from(Campaigns)
                    .and_where(camp::Column::OrgUnitId.eq(u))
                    .to_owned(),
            ),
        );
    }
    if let Some(c) = campaign_id {
        q = q.filter(fb::Column::CampaignId.eq(c));
    }
    if let Some(t) = unanswered_before {
        q = q
            .filter(fb::Column::FirstRepliedAt.is_null())
            .filter(fb::Column::CreatedAt.lt(t));
    }
    if let Some(a) = after {
        q = q.filter(fb::Column::Id.gt(a));
    }
    q.order_by_asc(fb::Column::Id).limit(limit).all(db).await
}

pub async fn feedback_of_campaign(
    db: &impl ConnectionTrait,
    campaign_id: Uuid,
) -> Result<Vec<fb::Model>, DbErr> {
    Feedback::find()
        .filter(fb::Column::CampaignId.eq(campaign_id))
        .all(db)
        .await
}

/// Notes a reply on its feedback, unless an earlier reply already settled it; false then.
pub async fn mark_replied(
    db: &impl ConnectionTrait,
    id: Uuid,
    status: ReplyStatus,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let finals = ReplyStatus::ALL
        .into_iter()
        .filter(|s| s.is_final())
        .map(ReplyStatus::as_str);
    let res = Feedback::update_many()
        .col_expr(fb::Column::ReplyStatus, Expr::value(Some(status.as_str())))
        .col_expr(
            fb::Column::FirstRepliedAt,
            Expr::from(Func::coalesce([
                Expr::col(fb::Column::FirstRepliedAt),
                Expr::value(Some(now)),
            ])),
        )
        .col_expr(fb::Column::LastRepliedAt, Expr::value(Some(now)))
        .filter(fb::Column::Id.eq(id))
        .filter(
            Condition::any()
                .add(fb::Column::ReplyStatus.is_null())
                .add(fb::Column::ReplyStatus.is_not_in(finals)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn insert_reply(
    db: &impl ConnectionTrait,
    m: rep::ActiveModel,
) -> Result<rep::Model, DbErr> {
    m.insert(db).await
}

/// Replies to these feedback, oldest first.
pub async fn replies_of(
    db: &impl ConnectionTrait,
    feedback_ids: &[Uuid],
) -> Result<Vec<rep::Model>, DbErr> {
    Replies::find()
        .filter(rep::Column::FeedbackId.is_in(feedback_ids.iter().copied()))
        .order_by_asc(rep::Column::Id)
        .all(db)
        .await
}

// ---- account deletion ----

/// Withdraws the resident's pending applications and erases the personal fields of all.
pub async fn erase_applications(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Applications::update_many()
        .col_expr(app::Column::Status, Expr::value(A::Withdrawn.as_str()))
        .col_expr(
            app::Column::ActiveResidentId,
            Expr::value(Option::<Uuid>::None),
        )
        .col_expr(app::Column::UpdatedAt, Expr::value(now))
        .filter(app::Column::ResidentId.eq(resident_id))
        .filter(app::Column::Status.eq(A::Pending.as_str()))
        .exec(db)
        .await?;
    let none = || Expr::value(Option::<String>::None);
    Applications::update_many()
        .col_expr(app::Column::RealNameEnc, none())
        .col_expr(app::Column::PhoneEnc, none())
        .col_expr(app::Column::PhoneHash, none())
        .col_expr(app::Column::AgeGroup, none())
        .col_expr(app::Column::Occupation, none())
        .col_expr(app::Column::Community, none())
        .col_expr(app::Column::Motivation, none())
        .col_expr(app::Column::UpdatedAt, Expr::value(now))
        .filter(app::Column::ResidentId.eq(resident_id))
        .exec(db)
        .await?;
    Ok(())
}
