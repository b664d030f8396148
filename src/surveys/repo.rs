use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Expr, ExprTrait},
};
use uuid::Uuid;

use crate::entities::{
    survey_answer_items::{self, Entity as Items},
    survey_participations::{self, Entity as Participations},
    survey_responses::{self, Entity as Responses},
    survey_versions::{self, Entity as Versions},
    surveys::{self, Entity as Surveys},
};

pub async fn insert(
    db: &impl ConnectionTrait,
    model: surveys::ActiveModel,
) -> Result<surveys::Model, DbErr> {
    Surveys::insert(model).exec_with_returning(db).await
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<surveys::Model>, DbErr> {
    Surveys::find_by_id(id).one(db).await
}

pub async fn update(
    db: &impl ConnectionTrait,
    model: surveys::ActiveModel,
) -> Result<surveys::Model, DbErr> {
    Surveys::update(model).exec(db).await
}

/// The survey and all that hangs on it. On PostgreSQL no foreign key ties its participations,
/// responses and answer items to it (migrations `answer_items_unchecked`,
/// `submissions_unchecked`), so they go by name, after the survey's row: deleting the row
/// waits for any submission still holding it, whose rows the deletes below then see.
pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> Result<u64, DbErr> {
    let deleted = Surveys::delete_by_id(id).exec(db).await?.rows_affected;
    Items::delete_many()
        .filter(survey_answer_items::Column::SurveyId.eq(id))
        .exec(db)
        .await?;
    Responses::delete_many()
        .filter(survey_responses::Column::SurveyId.eq(id))
        .exec(db)
        .await?;
    Participations::delete_many()
        .filter(survey_participations::Column::SurveyId.eq(id))
        .exec(db)
        .await?;
    Ok(deleted)
}

/// Staff lists: newest first, optionally of one org unit.
pub async fn list_for_staff(
    db: &impl ConnectionTrait,
    org_unit_id: Option<Uuid>,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<surveys::Model>, DbErr> {
    let mut q = Surveys::find()
        .order_by_desc(surveys::Column::Id)
        .limit(limit);
    if let Some(unit) = org_unit_id {
        q = q.filter(surveys::Column::OrgUnitId.eq(unit));
    }
    if let Some(before) = before {
        q = q.filter(surveys::Column::Id.lt(before));
    }
    q.all(db).await
}

/// Published surveys open at `now`, newest first. Audience is filtered by the caller (a JSON
/// list is not portably queryable across SQLite and PostgreSQL).
pub async fn list_open(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    before: Option<Uuid>,
    limit: u64,
) -> Result<Vec<surveys::Model>, DbErr> {
    let mut q = Surveys::find()
        .filter(surveys::Column::Status.eq("published"))
        .filter(
            surveys::Column::OpensAt
                .is_null()
                .or(surveys::Column::OpensAt.lte(now)),
        )
        .filter(
            surveys::Column::ClosesAt
                .is_null()
                .or(surveys::Column::ClosesAt.gt(now)),
        )
        .order_by_desc(surveys::Column::Id)
        .limit(limit);
    if let Some(before) = before {
        q = q.filter(surveys::Column::Id.lt(before));
    }
    q.all(db).await
}

pub async fn insert_version(
    db: &impl ConnectionTrait,
    survey_id: Uuid,
    version: i32,
    body: String,
    by: Uuid,
) -> Result<(), DbErr> {
    let row = survey_versions::ActiveModel {
        id: Set(Uuid::now_v7()),
        survey_id: Set(survey_id),
        version: Set(version),
        body: Set(body),
        published_at: Set(Utc::now()),
        published_by: Set(by),
    };
    Versions::insert(row).exec_without_returning(db).await?;
    Ok(())
}

pub async fn find_version(
    db: &impl ConnectionTrait,
    survey_id: Uuid,
    version: i32,
) -> Result<Option<survey_versions::Model>, DbErr> {
    Versions::find()
        .filter(survey_versions::Column::SurveyId.eq(survey_id))
        .filter(survey_versions::Column::Version.eq(version))
        .one(db)
        .await
}

pub async fn versions(
    db: &impl ConnectionTrait,
    survey_id: Uuid,
) -> Result<Vec<survey_versions::Model>, DbErr> {
    Versions::find()
        .filter(survey_versions::Column::SurveyId.eq(survey_id))
        .order_by_asc(survey_versions::Column::Version)
        .all(db)
        .await
}

/// Records that a resident took part; `false` when they already had.
pub async fn insert_participation(
    db: &impl ConnectionTrait,
    survey_id: Uuid,
    resident_id: Uuid,
    keep_informed: bool,
    on_day: NaiveDate,
) -> Result<(), DbErr> {
    let row = survey_participations::ActiveModel {
        survey_id: Set(survey_id),
        resident_id: Set(resident_id),
        keep_informed: Set(keep_informed),
        on_day: Set(on_day),
    };
    Participations::insert(row)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

pub async fn participations_of(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
) -> Result<Vec<survey_participations::Model>, DbErr> {
    Participations::find()
        .filter(survey_participations::Column::ResidentId.eq(resident_id))
        .all(db)
        .await
}

/// Residents who answered `survey_id` and asked to be kept informed of what comes of it.
pub async fn informed_respondents(
    db: &impl ConnectionTrait,
    survey_id: Uuid,
) -> Result<Vec<Uuid>, DbErr> {
    Ok(Participations::find()
        .filter(survey_participations::Column::SurveyId.eq(survey_id))
        // The flag itself, not `= $2`: PostgreSQL's partial index of these residents
        // (`WHERE keep_informed`) answers a prepared statement only when its condition can be
        // read off the statement.
        .filter(Expr::col(survey_participations::Column::KeepInformed))
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.resident_id)
        .collect())
}

pub async fn answered(
    db: &impl ConnectionTrait,
    resident_id: Uuid,
    survey_ids: &[Uuid],
) -> Result<Vec<Uuid>, DbErr> {
    Ok(Participations::find()
        .filter(survey_participations::Column::ResidentId.eq(resident_id))
        .filter(survey_participations::Column::SurveyId.is_in(survey_ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|p| p.survey_id)
        .collect())
}

/// Responses stored for a survey, counted through `uq_survey_responses_respondent` (its
/// leading column is the survey). The source of truth for staff views and the "has answers"
/// rules: `surveys.response_count` is kept only for capped surveys.
pub async fn count_responses(db: &impl ConnectionTrait, survey_id: Uuid) -> Result<i32, DbErr> {
    let n = Responses::find()
        .filter(survey_responses::Column::SurveyId.eq(survey_id))
        .count(db)
        .await?;
    Ok(i32::try_from(n).unwrap_or(i32::MAX))
}

/// [`count_responses`] for a page of surveys, in one grouped query.
pub async fn count_responses_of(
    db: &impl ConnectionTrait,
    survey_ids: &[Uuid],
) -> Result<HashMap<Uuid, i32>, DbErr> {
    if survey_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, i64)> = Responses::find()
        .select_only()
        .column(survey_responses::Column::SurveyId)
        .column_as(survey_responses::Column::Id.count(), "n")
        .filter(survey_responses::Column::SurveyId.is_in(survey_ids.to_vec()))
        .group_by(survey_responses::Column::SurveyId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, n)| (id, i32::try_from(n).unwrap_or(i32::MAX)))
        .collect())
}

/// Locks the survey's row against the submissions in flight, so a count taken next in the
/// same transaction includes every one of them: on PostgreSQL `FOR UPDATE` conflicts with the
/// group commit's `FOR KEY SHARE` of the row (`writer`), and a capped survey's submission
/// counts itself on the row after this count (`take_response_slot`). SQLite serialises
/// writers anyway.
pub async fn lock_for_recount(db: &impl ConnectionTrait, survey_id: Uuid) -> Result<(), DbErr> {
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        Surveys::find_by_id(survey_id)
            .lock_exclusive()
            .one(db)
            .await?;
    }
    Ok(())
}

/// Takes one place under the response cap; `false` when the survey is full. Only capped
/// surveys call this: the row's lock is held until the commit's WAL flush, which would
/// serialise every submission to an uncapped survey for nothing.
pub async fn take_response_slot(db: &impl ConnectionTrait, survey_id: Uuid) -> Result<bool, DbErr> {
    let res = Surveys::update_many()
        .col_expr(
            surveys::Column::ResponseCount,
            Expr::col(surveys::Column::ResponseCount).add(1),
        )
        .filter(surveys::Column::Id.eq(survey_id))
        .filter(surveys::Column::MaxResponses.is_null().or(
            Expr::col(surveys::Column::ResponseCount).lt(Expr::col(surveys::Column::MaxResponses)),
        ))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn insert_response(
    db: &impl ConnectionTrait,
    row: survey_responses::ActiveModel,
) -> Result<(), DbErr> {
    Responses::insert(row).exec_without_returning(db).await?;
    Ok(())
}

pub async fn insert_items(
    db: &impl ConnectionTrait,
    items: Vec<survey_answer_items::ActiveModel>,
) -> Result<(), DbErr> {
    if items.is_empty() {
        return Ok(());
    }
    Items::insert_many(items).exec_without_returning(db).await?;
    Ok(())
}

pub async fn response_of(
    db: &impl ConnectionTrait,
    survey_id: Uuid,
    resident_id: Uuid,
) -> Result<Option<survey_responses::Model>, DbErr> {
    Responses::find()
        .filter(survey_responses::Column::SurveyId.eq(survey_id))
        .filter(survey_responses::Column::RespondentId.eq(resident_id))
        .one(db)
        .await
}

pub async fn find_many(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<surveys::Model>, DbErr> {
    Surveys::find()
        .filter(surveys::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await
}

/// A page of responses in id order, for reading and exporting.
pub async fn responses_page(
    db: &impl ConnectionTrait,
    survey_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<survey_responses::Model>, DbErr> {
    let mut q = Responses::find()
        .filter(survey_responses::Column::SurveyId.eq(survey_id))
        .order_by_asc(survey_responses::Column::Id)
        .limit(limit);
    if let Some(after) = after {
        q = q.filter(survey_responses::Column::Id.gt(after));
    }
    q.all(db).await
}

/// Account deletion: answers stay, anonymised; the record of taking part goes.
pub async fn anonymise_resident(db: &impl ConnectionTrait, resident_id: Uuid) -> Result<(), DbErr> {
    Responses::update_many()
        .col_expr(
            survey_responses::Column::RespondentId,
            Expr::value(Option::<Uuid>::None),
        )
        .filter(survey_responses::Column::RespondentId.eq(resident_id))
        .exec(db)
        .await?;
    Participations::delete_many()
        .filter(survey_participations::Column::ResidentId.eq(resident_id))
        .exec(db)
        .await?;
    Ok(())
}
