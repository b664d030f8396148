//! Answer items: each answer broken into rows (`survey_answer_items`) so the database can
//! aggregate results.
//!
//! A submission's items are most of what it costs PostgreSQL: ~20 rows of three index entries
//! each, against the three rows that record the answer itself. In a
//! burst that is work residents wait for and nobody reads yet, so on PostgreSQL the group
//! commit (`writer`) stores the response with `items_pending` and its items are written
//! here, off the request path: by the `survey_answer_items` job a pass at a time, and for
//! one survey whenever staff ask for its results (`catch_up`), so results always count every
//! stored response. Submissions written alone (SQLite, capped surveys) write their items with
//! the response.
//!
//! A pass locks the responses it expands, so no two passes write the same response's items:
//! the job skips locked responses, while `catch_up` waits for them, so it returns only when
//! all of the survey's responses stored before it began have their items.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use sea_orm::{
    ActiveValue::Set,
    DbBackend,
    sqlx::{self, Row},
};
use serde::Serialize;
use uuid::Uuid;

use super::{
    domain::{Answer, AnswerSet, Page, validate_answers},
    hot,
};
use crate::{
    batch::{column, query_error},
    entities::survey_answer_items,
    error::ApiResult,
    state::AppState,
};

/// Responses one pass expands at most: its items (~20 each) travel in one statement, so a
/// pass holds a few hundred kilobytes, not megabytes.
pub const PASS: usize = 100;

/// One answer item (a row of `survey_answer_items`).
#[derive(Debug, Serialize)]
pub struct NewItem {
    pub response_id: Uuid,
    pub survey_id: Uuid,
    pub question_id: String,
    pub row_id: Option<String>,
    pub option_id: Option<String>,
    pub num: Option<f64>,
    pub text: Option<String>,
}

impl From<NewItem> for survey_answer_items::ActiveModel {
    fn from(i: NewItem) -> Self {
        Self {
            id: sea_orm::ActiveValue::NotSet,
            response_id: Set(i.response_id),
            survey_id: Set(i.survey_id),
            question_id: Set(i.question_id),
            row_id: Set(i.row_id),
            option_id: Set(i.option_id),
            num: Set(i.num),
            text: Set(i.text),
        }
    }
}

/// One response's answers broken into rows for aggregation by SQL.
pub fn items_of(survey_id: Uuid, response_id: Uuid, answers: &AnswerSet) -> Vec<NewItem> {
    let item =
        |q: &str, row: Option<&str>, option: Option<&str>, num: Option<f64>, text: Option<&str>| {
            NewItem {
                response_id,
                survey_id,
                question_id: q.to_owned(),
                row_id: row.map(str::to_owned),
                option_id: option.map(str::to_owned),
                num,
                text: text.map(str::to_owned),
            }
        };
    let mut out = Vec::new();
    for (q, a) in answers.iter() {
        match a {
            Answer::Choice { option, other_text } => {
                out.push(item(q, None, Some(option), None, other_text.as_deref()));
            }
            Answer::Multi {
                options,
                other_text,
            } => {
                for (i, o) in options.iter().enumerate() {
                    // The other-text travels with the last chosen option that is "other";
                    // validation allows other-text only when such an option was chosen.
                    let text = if i + 1 == options.len() {
                        other_text.as_deref()
                    } else {
                        None
                    };
                    out.push(item(q, None, Some(o), None, text));
                }
            }
            Answer::Text(t) => out.push(item(q, None, None, None, Some(t))),
            Answer::Number(n) => out.push(item(q, None, None, Some(*n), None)),
            Answer::Matrix(rows) => {
                for (row, opts) in rows {
                    for o in opts {
                        out.push(item(q, Some(row), Some(o), None, None));
                    }
                }
            }
            Answer::Ranking(order) => {
                for (i, o) in order.iter().enumerate() {
                    out.push(item(q, None, Some(o), Some((i + 1) as f64), None));
                }
            }
            Answer::Date(d) => out.push(item(q, None, None, None, Some(&d.to_string()))),
            Answer::Region {
                sub_district,
                community,
            } => {
                out.push(item(
                    q,
                    None,
                    Some(sub_district),
                    None,
                    community.as_deref(),
                ));
            }
        }
    }
    out
}

/// Writes the items of every response of `survey` stored so far, so that results computed
/// next count them all. Waits for a pass already expanding some of them.
pub async fn catch_up(state: &AppState, survey: Uuid) -> ApiResult<()> {
    // A pass that met responses another one had just finished returns short although more
    // may wait behind them: only an empty pass says there are none.
    while pass(state, Some(survey)).await? > 0 {}
    Ok(())
}

/// How many passes the job makes in a tick. While residents are answering it leaves
/// PostgreSQL to them: at five passes a tick it wrote 10,000 item rows a second beside a
/// burst of submissions, and the submissions ran 8% faster without it (one instance, a 2-core
/// VM, four alternating pairs of rounds). Nobody reads the items during a burst: staff asking
/// for a survey's results have its items written first (`catch_up`).
#[derive(Default)]
pub struct Pace {
    /// Responses PostgreSQL counted inserted at the last look, and when that count last grew.
    seen: Mutex<(i64, Option<Instant>)>,
}

/// Passes a tick while responses are arriving, and while none have for `QUIET`.
const BUSY_PASSES: usize = 1;
const QUIET_PASSES: usize = 5;
/// PostgreSQL publishes a backend's counts about once a second, so one tick without growth
/// does not yet mean the burst is over.
const QUIET: Duration = Duration::from_secs(3);

impl Pace {
    /// Asks PostgreSQL's statistics how many responses were ever inserted: every instance's
    /// submissions count there, whichever instance holds the job's lease.
    pub async fn passes(&self, state: &AppState) -> usize {
        if state.db.get_database_backend() != DbBackend::Postgres {
            return QUIET_PASSES;
        }
        let inserted = sqlx::query_scalar::<_, i64>(
            "SELECT COALESCE((SELECT n_tup_ins FROM pg_stat_user_tables \
             WHERE relid = 'survey_responses'::regclass), 0)",
        )
        .fetch_one(state.db.get_postgres_connection_pool())
        .await;
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        // Without the statistics (an error, or counting turned off) the job keeps its pace.
        if let Ok(n) = inserted
            && n > seen.0
        {
            // The first look finds the count since the server started: not a burst.
            if seen.0 > 0 {
                seen.1 = Some(now);
            }
            seen.0 = n;
        }
        passes_after(seen.1, now)
    }
}

fn passes_after(grew_at: Option<Instant>, now: Instant) -> usize {
    match grew_at {
        Some(t) if now.duration_since(t) < QUIET => BUSY_PASSES,
        _ => QUIET_PASSES,
    }
}

/// One pass of the job: up to `PASS` waiting responses of any survey, leaving those another
/// pass holds. Answers how many it expanded.
pub async fn expand_some(state: &AppState) -> ApiResult<usize> {
    pass(state, None).await
}

/// Expands up to `PASS` waiting responses, of `survey` (waiting for locked ones) or of any
/// survey (skipping them), in one transaction.
///
/// The items go as one typed array per column, in PostgreSQL's binary format, straight
/// through sqlx, as the group commit sends its batch (`writer`): a JSON document of a pass
/// cost the service its printing and PostgreSQL its parse (2.5% of the whole machine during a
/// burst of submissions).
async fn pass(state: &AppState, survey: Option<Uuid>) -> ApiResult<usize> {
    // Only the group commit defers items, and it runs on PostgreSQL alone.
    if state.db.get_database_backend() != DbBackend::Postgres {
        return Ok(0);
    }
    let mut txn = state
        .db
        .get_postgres_connection_pool()
        .begin()
        .await
        .map_err(query_error)?;
    // The partial index holds exactly the responses waiting, oldest first. Prepared on a
    // connection while the table was still empty, the statement kept a plan that read every
    // response stored since, each pass.
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(&mut *txn)
        .await
        .map_err(query_error)?;
    let rows = match survey {
        Some(id) => {
            // Built from constants alone.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{SELECT} AND survey_id = $1 ORDER BY id LIMIT {PASS} FOR UPDATE"
            )))
            .bind(id)
            .fetch_all(&mut *txn)
            .await
        }
        None => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{SELECT} ORDER BY id LIMIT {PASS} FOR UPDATE SKIP LOCKED"
            )))
            .fetch_all(&mut *txn)
            .await
        }
    }
    .map_err(query_error)?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut ids = Vec::with_capacity(rows.len());
    let mut items = Vec::new();
    for row in &rows {
        let (id, survey_id, version, answers): (Uuid, Uuid, i32, &str) = (
            row.try_get("id").map_err(query_error)?,
            row.try_get("survey_id").map_err(query_error)?,
            row.try_get("version").map_err(query_error)?,
            row.try_get("answers").map_err(query_error)?,
        );
        // Versions are kept as long as their responses: a failure here is the database's or
        // the cache's, and the pass is tried again.
        let (published, _) = hot::version(state, survey_id, version).await?;
        ids.push(id);
        match replay(&published.pages, answers) {
            Some(set) => items.extend(items_of(survey_id, id, &set)),
            // Stored answers are canonical and were accepted by this very version: this is
            // a damaged row. Counted and named rather than retried at every results read;
            // its answers stay readable in the responses list and the export.
            None => {
                metrics::counter!("survey_items_unreadable_total").increment(1);
                tracing::error!(response = %id, survey = %survey_id, version,
                    "stored answers cannot be replayed; the response is left out of results");
            }
        }
    }
    let i = &items;
    sqlx::query(WRITE)
        .bind(column(i, |it| it.response_id))
        .bind(column(i, |it| it.survey_id))
        .bind(column(i, |it| it.question_id.as_str()))
        .bind(column(i, |it| it.row_id.as_deref()))
        .bind(column(i, |it| it.option_id.as_deref()))
        .bind(column(i, |it| it.num))
        .bind(column(i, |it| it.text.as_deref()))
        .bind(&ids)
        .execute(&mut *txn)
        .await
        .map_err(query_error)?;
    txn.commit().await.map_err(query_error)?;
    Ok(rows.len())
}

/// Reads stored answers back through the version that accepted them. They are in the form
/// the validation itself produced, so the replay accepts them as they are; the sub-districts
/// named were checked when the answer was given and stay as they were even if the list of
/// sub-districts has changed since.
fn replay(pages: &[Page], stored: &str) -> Option<AnswerSet> {
    let serde_json::Value::Object(raw) = serde_json::from_str(stored).ok()? else {
        return None;
    };
    validate_answers(pages, &raw, &|_| true).ok()
}

const SELECT: &str =
    "SELECT id, survey_id, version, answers FROM survey_responses WHERE items_pending";

const WRITE: &str = r#"
WITH items AS (
    INSERT INTO survey_answer_items (response_id, survey_id, question_id, row_id, option_id,
        num, text)
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],
        $6::float8[], $7::text[])
)
UPDATE survey_responses SET items_pending = false WHERE id = ANY($8::uuid[])"#;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn definition() -> crate::surveys::domain::Definition {
        serde_json::from_value(json!({ "pages": [ { "id": "p1", "questions": [
            { "id": "pick", "type": "single", "title": "单选",
              "options": [ {"id": "a", "label": "甲"}, {"id": "o", "label": "其他", "other": true} ] },
            { "id": "many", "type": "multi", "title": "多选",
              "options": [ {"id": "x", "label": "X"}, {"id": "y", "label": "Y"}, {"id": "o", "label": "其他", "other": true} ] },
            { "id": "says", "type": "text", "title": "文字" },
            { "id": "score", "type": "scale", "title": "打分", "min": 0, "max": 10 },
            { "id": "grid", "type": "matrix", "title": "矩阵",
              "rows": [ {"id": "r1", "label": "一"}, {"id": "r2", "label": "二"} ],
              "options": [ {"id": "good", "label": "好"}, {"id": "bad", "label": "差"} ] },
            { "id": "order", "type": "ranking", "title": "排序",
              "options": [ {"id": "m", "label": "M"}, {"id": "n", "label": "N"} ] },
            { "id": "when", "type": "date", "title": "日期" },
            { "id": "where", "type": "region", "title": "所在" },
            { "id": "later", "type": "text", "title": "条件题",
              "visible_if": { "q": "pick", "op": "eq", "v": "o" } }
        ]}]}))
        .expect("definition")
    }

    fn items(set: &AnswerSet) -> Vec<String> {
        let id = Uuid::nil();
        let mut out: Vec<String> = items_of(id, id, set)
            .into_iter()
            .map(|i| format!("{i:?}"))
            .collect();
        out.sort();
        out
    }

    /// What a deferred pass writes is what the submission would have written: the stored
    /// form replays to the same answers, for every kind of question and a conditional one.
    #[test]
    fn stored_answers_replay_to_the_items_the_submission_had() {
        let def = definition();
        let given = json!({
            "pick": { "option": "o", "other_text": "  自己填的 " },
            "many": ["y", "o"],
            "says": "  路灯太暗 ",
            "score": 7,
            "grid": { "r1": "good", "r2": ["bad"] },
            "order": ["n", "m"],
            "when": "2026-10-08",
            "where": { "sub_district": "shichahai", "community": "前海东沿社区" },
            "later": "条件成立时才答"
        });
        let serde_json::Value::Object(raw) = given else {
            unreachable!()
        };
        let accepted = validate_answers(&def.pages, &raw, &|c| c == "shichahai").expect("valid");
        let stored = accepted.to_stored().expect("stored");
        // The district's list has changed since: the stored answer still replays.
        let replayed = replay(&def.pages, &stored).expect("replays");
        assert_eq!(replayed, accepted);
        assert_eq!(items(&replayed), items(&accepted));
        assert!(items(&accepted).len() >= 11);
    }

    #[test]
    fn a_damaged_row_is_told_apart() {
        let def = definition();
        assert!(replay(&def.pages, "not json").is_none());
        assert!(replay(&def.pages, "[1, 2]").is_none());
        assert!(replay(&def.pages, r#"{"pick": {"option": "gone"}}"#).is_none());
    }

    #[test]
    fn the_job_slows_while_responses_arrive_and_resumes_once_they_stop() {
        let now = Instant::now();
        assert_eq!(passes_after(None, now), QUIET_PASSES);
        assert_eq!(passes_after(Some(now), now), BUSY_PASSES);
        let later = now + QUIET - Duration::from_millis(1);
        assert_eq!(passes_after(Some(now), later), BUSY_PASSES);
        assert_eq!(passes_after(Some(now), now + QUIET), QUIET_PASSES);
    }
}
