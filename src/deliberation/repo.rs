//! Queries of meetings, sign-ups and outcomes, generic over the connection so they run
//! inside the service's transactions. Seat counts change only through conditional updates
//! on the meeting row, which also serialise sign-ups of one meeting (row lock on PostgreSQL,
//! the single writer on SQLite).

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use super::domain::{MeetingStatus, SignupStatus};
use crate::entities::{
    deliberation_signups::{self, Column as S, Entity as Signups},
    deliberations::{self, Column as D, Entity as Meetings},
    residents::{self, Entity as Residents},
};

pub async fn insert_meeting(
    db: &impl ConnectionTrait,
    m: deliberations::ActiveModel,
) -> Result<deliberations::Model, DbErr> {
    m.insert(db).await
}

pub async fn update_meeting(
    db: &impl ConnectionTrait,
    m: deliberations::ActiveModel,
) -> Result<deliberations::Model, DbErr> {
    m.update(db).await
}

pub async fn find_meeting(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<deliberations::Model>, DbErr> {
    Meetings::find_by_id(id).one(db).await
}

/// Takes the meeting row for the rest of the transaction and hands out the next arrival
/// number; `None` when the meeting is not (or no longer) published.
pub async fn lock_published_for_signup(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<deliberations::Model>, DbErr> {
    Ok(Meetings::update_many()
        .col_expr(D::SignupSeq, Expr::col(D::SignupSeq).add(1))
        .filter(D::Id.eq(id))
        .filter(D::Status.eq(MeetingStatus::Published.as_str()))
        .exec_with_returning(db)
        .await?
        .pop())
}

/// Takes the meeting row for the rest of the transaction (a no-op update).
pub async fn lock_meeting(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<deliberations::Model>, DbErr> {
    Ok(Meetings::update_many()
        .col_expr(D::SignupSeq, Expr::col(D::SignupSeq))
        .filter(D::Id.eq(id))
        .exec_with_returning(db)
        .await?
        .pop())
}

/// Takes one resident seat if one is left: true when taken.
pub async fn take_seat(db: &impl ConnectionTrait, id: Uuid) -> Result<bool, DbErr> {
    let res = Meetings::update_many()
        .col_expr(D::Confirmed, Expr::col(D::Confirmed).add(1))
        .filter(D::Id.eq(id))
        .filter(Expr::col(D::Confirmed).lt(Expr::col(D::Capacity).sub(Expr::col(D::ReservedSeats))))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn release_seat(db: &impl ConnectionTrait, id: Uuid) -> Result<(), DbErr> {
    Meetings::update_many()
        .col_expr(D::Confirmed, Expr::col(D::Confirmed).sub(1))
        .filter(D::Id.eq(id))
        .filter(D::Confirmed.gt(0))
        .exec(db)
        .await?;
    Ok(())
}

/// Published meetings that have not ended, newest first, optionally only those open to one
/// sub-district's residents.
pub async fn list_upcoming(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    subdistrict: Option<&str>,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<deliberations::Model>, DbErr> {
    let mut q = Meetings::find()
        .filter(D::Status.eq(MeetingStatus::Published.as_str()))
        .filter(D::EndsAt.gt(now))
        .order_by_desc(D::Id)
        .limit(limit);
    if let Some(code) = subdistrict {
        q = q.filter(
            D::Eligibility
                .eq("")
                .or(D::Eligibility.like(format!("%,{code},%"))),
        );
    }
    if let Some(before) = before {
        q = q.filter(D::Id.lt(before));
    }
    q.all(db).await
}

pub async fn find_resident(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<residents::Model>, DbErr> {
    Residents::find_by_id(id).one(db).await
}

pub async fn find_signup_of(
    db: &impl ConnectionTrait,
    meeting: Uuid,
    resident: Uuid,
) -> Result<Option<deliberation_signups::Model>, DbErr> {
    Signups::find()
        .filter(S::DeliberationId.eq(meeting))
        .filter(S::ResidentId.eq(resident))
        .one(db)
        .await
}

pub async fn find_signup_by_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> Result<Option<deliberation_signups::Model>, DbErr> {
    Signups::find()
        .filter(S::CheckInCode.eq(code))
        .one(db)
        .await
}

pub async fn find_signup(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<deliberation_signups::Model>, DbErr> {
    Signups::find_by_id(id).one(db).await
}

pub async fn insert_signup(
    db: &impl ConnectionTrait,
    m: deliberation_signups::ActiveModel,
) -> Result<deliberation_signups::Model, DbErr> {
    m.insert(db).await
}

pub async fn update_signup(
    db: &impl ConnectionTrait,
    m: deliberation_signups::ActiveModel,
) -> Result<deliberation_signups::Model, DbErr> {
    m.update(db).await
}

/// Waitlisted sign-ups ahead of (or at) `seq`: the waitlist position.
pub async fn waitlist_position(
    db: &impl ConnectionTrait,
    meeting: Uuid,
    seq: i32,
) -> Result<u64, DbErr> {
    Signups::find()
        .filter(S::DeliberationId.eq(meeting))
        .filter(S::Status.eq(SignupStatus::Waitlisted.as_str()))
        .filter(S::Seq.lte(seq))
        .count(db)
        .await
}

/// The earliest waitlisted sign-up.
pub async fn first_waitlisted(
    db: &impl ConnectionTrait,
    meeting: Uuid,
) -> Result<Option<deliberation_signups::Model>, DbErr> {
    Signups::find()
        .filter(S::DeliberationId.eq(meeting))
        .filter(S::Status.eq(SignupStatus::Waitlisted.as_str()))
        .order_by_asc(S::Seq)
        .one(db)
        .await
}

/// A meeting's sign-ups in arrival order, optionally of one status.
pub async fn signups_of(
    db: &impl ConnectionTrait,
    meeting: Uuid,
    status: Option<SignupStatus>,
    after_seq: Option<i32>,
    limit: Option<u64>,
) -> Result<Vec<deliberation_signups::Model>, DbErr> {
    let mut q = Signups::find()
        .filter(S::DeliberationId.eq(meeting))
        .order_by_asc(S::Seq);
    if let Some(s) = status {
        q = q.filter(S::Status.eq(s.as_str()));
    }
    if let Some(after) = after_seq {
        q = q.filter(S::Seq.gt(after));
    }
    if let Some(l) = limit {
        q = q.limit(l);
    }
    q.all(db).await
}

pub async fn count_signups(
    db: &impl ConnectionTrait,
    meeting: Uuid,
    status: SignupStatus,
) -> Result<u64, DbErr> {
    Signups::find()
        .filter(S::DeliberationId.eq(meeting))
        .filter(S::Status.eq(status.as_str()))
        .count(db)
        .await
}

pub async fn count_checked_in(db: &impl ConnectionTrait, meeting: Uuid) -> Result<u64, DbErr> {
    Signups::find()
        .filter(S::DeliberationId.eq(meeting))
        .filter(S::CheckedInAt.is_not_null())
        .count(db)
        .await
}

/// Marks a confirmed sign-up checked in, once: false when it already was.
pub async fn check_in(
    db: &impl ConnectionTrait,
    id: Uuid,
    by: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = Signups::update_many()
        .col_expr(S::CheckedInAt, Expr::value(Some(now)))
        .col_expr(S::CheckedInBy, Expr::value(Some(by)))
        .col_expr(S::UpdatedAt, Expr::value(now))
        .filter(S::Id.eq(id))
        .filter(S::Status.eq(SignupStatus::Confirmed.as_str()))
        .filter(S::CheckedInAt.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Every sign-up of a resident (data export, account deletion).
pub async fn signups_of_resident(
    db: &impl ConnectionTrait,
    resident: Uuid,
) -> Result<Vec<deliberation_signups::Model>, DbErr> {
    Signups::find()
        .filter(S::ResidentId.eq(resident))
        .order_by_asc(S::Id)
        .all(db)
        .await
}

/// Erases the personal fields of all of a resident's sign-ups.
pub async fn erase_signups_of(db: &impl ConnectionTrait, resident: Uuid) -> Result<(), DbErr> {
    Signups::update_many()
        .col_expr(S::NameEnc, Expr::value(Option::<String>::None))
        .col_expr(S::PhoneEnc, Expr::value(Option::<String>::None))
        .col_expr(S::PhoneHash, Expr::value(Option::<String>::None))
        .col_expr(S::Community, Expr::value(Option::<String>::None))
        .col_expr(S::Note, Expr::value(Option::<String>::None))
        .col_expr(S::UpdatedAt, Expr::value(Utc::now()))
        .filter(S::ResidentId.eq(resident))
        .exec(db)
        .await?;
    Ok(())
}

/// Meetings by id (for exports and the loop).
pub async fn meetings_by_ids(
    db: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<Vec<deliberations::Model>, DbErr> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Meetings::find().filter(D::Id.is_in(ids)).all(db).await
}

/// Meetings (beyond drafts) whose topic one of these surveys raised.
pub async fn meetings_from_surveys(
    db: &impl ConnectionTrait,
    survey_ids: Vec<Uuid>,
) -> Result<Vec<deliberations::Model>, DbErr> {
    if survey_ids.is_empty() {
        return Ok(Vec::new());
    }
    Meetings::find()
        .filter(D::SourceSurveyId.is_in(survey_ids))
        .filter(D::Status.ne(MeetingStatus::Draft.as_str()))
        .all(db)
        .await
}

/// An org unit's meetings of every status, newest first, for the staff who
/// run them (`unit` `None`: all, for administrators).
pub async fn list_of_unit(
    db: &impl ConnectionTrait,
    unit: Option<&str>,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<deliberations::Model>, DbErr> {
    let mut q = Meetings::find().order_by_desc(D::Id).limit(limit);
    if let Some(unit) = unit {
        q = q.filter(D::OrgUnit.eq(unit));
    }
    if let Some(before) = before {
        q = q.filter(D::Id.lt(before));
    }
    q.all(db).await
}

/// A page of a meeting's sign-ups in creation order (UUID v7 ids), after `after`.
pub async fn signups_page(
    db: &impl ConnectionTrait,
    meeting: Uuid,
    status: Option<SignupStatus>,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<deliberation_signups::Model>, DbErr> {
    let mut q = Signups::find()
        .filter(S::DeliberationId.eq(meeting))
        .order_by_asc(S::Id)
        .limit(limit);
    if let Some(s) = status {
        q = q.filter(S::Status.eq(s.as_str()));
    }
    if let Some(after) = after {
        q = q.filter(S::Id.gt(after));
    }
    q.all(db).await
}

// ---- outcomes -------------------------------------------------------------------------

use crate::entities::{
    outcome_follows::{self, Column as F, Entity as Follows},
    outcome_progress::{self, Column as P, Entity as Progress},
    outcomes::{self, Column as O, Entity as Outcomes},
};

pub async fn insert_outcome(
    db: &impl ConnectionTrait,
    m: outcomes::ActiveModel,
) -> Result<outcomes::Model, DbErr> {
    m.insert(db).await
}

pub async fn update_outcome(
    db: &impl ConnectionTrait,
    m: outcomes::ActiveModel,
) -> Result<outcomes::Model, DbErr> {
    m.update(db).await
}

pub async fn find_outcome(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<outcomes::Model>, DbErr> {
    Outcomes::find_by_id(id).one(db).await
}

pub async fn children_of(
    db: &impl ConnectionTrait,
    parent: Uuid,
) -> Result<Vec<outcomes::Model>, DbErr> {
    Outcomes::find()
        .filter(O::ParentId.eq(parent))
        .order_by_asc(O::Id)
        .all(db)
        .await
}

pub async fn outcomes_of_meetings(
    db: &impl ConnectionTrait,
    meetings: Vec<Uuid>,
) -> Result<Vec<outcomes::Model>, DbErr> {
    if meetings.is_empty() {
        return Ok(Vec::new());
    }
    Outcomes::find()
        .filter(O::DeliberationId.is_in(meetings))
        .order_by_asc(O::Id)
        .all(db)
        .await
}

pub struct FeedFilter<'a> {
    pub org_unit: Option<&'a str>,
    pub status: Option<&'a str>,
    pub overdue_on: Option<chrono::NaiveDate>,
    /// Strictly after this (last_progress_at, id) in the feed's order.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: u64,
}

/// The public feed: latest activity first.
pub async fn feed(
    db: &impl ConnectionTrait,
    f: FeedFilter<'_>,
) -> Result<Vec<outcomes::Model>, DbErr> {
    let mut q = Outcomes::find()
        .order_by_desc(O::LastProgressAt)
        .order_by_desc(O::Id)
        .limit(f.limit);
    if let Some(unit) = f.org_unit {
        q = q.filter(
            O::DeliberationId.in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(D::Id)
                    .from(Meetings)
                    .and_where(Expr::col(D::OrgUnit).eq(unit))
                    .to_owned(),
            ),
        );
    }
    if let Some(s) = f.status {
        q = q.filter(O::Status.eq(s));
    }
    if let Some(today) = f.overdue_on {
        q = q
            .filter(O::DueDate.lt(today))
            .filter(O::Status.is_not_in(["done", "dropped"]));
    }
    if let Some((at, id)) = f.after {
        q = q.filter(
            O::LastProgressAt
                .lt(at)
                .or(O::LastProgressAt.eq(at).and(O::Id.lt(id))),
        );
    }
    q.all(db).await
}

pub async fn insert_progress(
    db: &impl ConnectionTrait,
    m: outcome_progress::ActiveModel,
) -> Result<outcome_progress::Model, DbErr> {
    m.insert(db).await
}

pub async fn timeline(
    db: &impl ConnectionTrait,
    outcome: Uuid,
) -> Result<Vec<outcome_progress::Model>, DbErr> {
    Progress::find()
        .filter(P::OutcomeId.eq(outcome))
        .order_by_asc(P::Id)
        .all(db)
        .await
}

pub async fn latest_progress(
    db: &impl ConnectionTrait,
    outcome: Uuid,
) -> Result<Option<outcome_progress::Model>, DbErr> {
    Progress::find()
        .filter(P::OutcomeId.eq(outcome))
        .order_by_desc(P::Id)
        .one(db)
        .await
}

pub async fn find_progress(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<outcome_progress::Model>, DbErr> {
    Progress::find_by_id(id).one(db).await
}

/// Adds a follower; following twice is one follow.
pub async fn follow(
    db: &impl ConnectionTrait,
    outcome: Uuid,
    resident: Uuid,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Follows::insert(outcome_follows::ActiveModel {
        outcome_id: sea_orm::ActiveValue::Set(outcome),
        resident_id: sea_orm::ActiveValue::Set(resident),
        created_at: sea_orm::ActiveValue::Set(now),
    })
    .on_conflict_do_nothing_on([F::OutcomeId, F::ResidentId])
    .exec(db)
    .await?;
    Ok(())
}

pub async fn unfollow(
    db: &impl ConnectionTrait,
    outcome: Uuid,
    resident: Uuid,
) -> Result<(), DbErr> {
    Follows::delete_many()
        .filter(F::OutcomeId.eq(outcome))
        .filter(F::ResidentId.eq(resident))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn followers(db: &impl ConnectionTrait, outcome: Uuid) -> Result<Vec<Uuid>, DbErr> {
    Ok(Follows::find()
        .filter(F::OutcomeId.eq(outcome))
        .order_by_asc(F::ResidentId)
        .all(db)
        .await?
        .into_iter()
        .map(|f| f.resident_id)
        .collect())
}

pub async fn is_following(
    db: &impl ConnectionTrait,
    outcome: Uuid,
    resident: Uuid,
) -> Result<bool, DbErr> {
    Ok(Follows::find_by_id((outcome, resident))
        .one(db)
        .await?
        .is_some())
}

/// Erases a resident's follows (account deletion).
pub async fn unfollow_all(db: &impl ConnectionTrait, resident: Uuid) -> Result<(), DbErr> {
    Follows::delete_many()
        .filter(F::ResidentId.eq(resident))
        .exec(db)
        .await?;
    Ok(())
}

/// Published meetings starting between `now` and `until` not yet reminded of.
pub async fn due_for_reminder(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<deliberations::Model>, DbErr> {
    Meetings::find()
        .filter(D::Status.eq(MeetingStatus::Published.as_str()))
        .filter(D::RemindedAt.is_null())
        .filter(D::StartsAt.gt(now))
        .filter(D::StartsAt.lte(until))
        .order_by_asc(D::StartsAt)
        .all(db)
        .await
}

/// Claims a meeting's reminder: true for the one caller that set it.
pub async fn claim_reminder(
    db: &impl ConnectionTrait,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let res = Meetings::update_many()
        .col_expr(D::RemindedAt, Expr::value(Some(now)))
        .filter(D::Id.eq(id))
        .filter(D::RemindedAt.is_null())
        .filter(D::Status.eq(MeetingStatus::Published.as_str()))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}
