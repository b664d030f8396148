//! Job leases: a row per job saying which tick runs it and until when. Taking one is a single
//! conditional statement, so of several instances ticking at once exactly one wins, on
//! SQLite and PostgreSQL alike. Instances compare their own clocks, which NTP keeps far
//! closer together than any lease is long.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    TryInsertResult, sea_query::Expr,
};

use crate::entities::job_leases::{self, Column, Entity as JobLeases};

/// Takes the lease of `name` for `holder` until `until`, when nobody holds it now.
pub async fn try_acquire(
    db: &impl ConnectionTrait,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, DbErr> {
    // First run of a job anywhere: the row does not exist yet. Of two first runs, one
    // inserts; the other conflicts and then finds the lease taken below.
    let fresh = job_leases::ActiveModel {
        name: Set(name.to_owned()),
        holder: Set(holder.to_owned()),
        lease_until: Set(until),
    };
    if let TryInsertResult::Inserted(1) = JobLeases::insert(fresh)
        .on_conflict_do_nothing()
        .exec_without_returning(db)
        .await?
    {
        return Ok(true);
    }
    let res = JobLeases::update_many()
        .col_expr(Column::Holder, Expr::value(holder))
        .col_expr(Column::LeaseUntil, Expr::value(until))
        .filter(Column::Name.eq(name))
        .filter(Column::LeaseUntil.lt(now))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Gives the lease back at once, if `holder` still has it (a tick that outlived its lease
/// must not end a later tick's).
pub async fn release(
    db: &impl ConnectionTrait,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    JobLeases::update_many()
        .col_expr(Column::LeaseUntil, Expr::value(now))
        .filter(Column::Name.eq(name))
        .filter(Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(())
}
