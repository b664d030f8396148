//! Group commit for answer submissions on PostgreSQL (`crate::batch`).
//!
//! A survey pushed to a whole sub-district brings thousands of submissions a minute, each a
//! participation and a response (its ~20 answer items follow off the request path,
//! `surveys::items`). Written one transaction each (BEGIN, several round trips, a flushed
//! commit), PostgreSQL spends its time around the rows rather than on them. Here the submissions that arrive while a batch is being written go together as one
//! statement with one flushed commit, and each is answered after that commit: stored, or
//! already answered by that resident, or her account gone (nothing written in either). The
//! statement reads each resident's row itself (her sub-district, whether she still has an
//! account): one lookup per batch instead of one round trip per submission. It also records
//! each stored submission's Idempotency-Key, answered with its receipt, so the key costs no
//! statement of its own (no claim before, no answer after); a submission whose key is already
//! held writes nothing.
//!
//! A capped survey counts each submission on its row, in the submission's own transaction
//! (`service::write_alone`); SQLite has one writer and keeps that transaction too.

use std::collections::HashMap;

use actix_web::http::{StatusCode, header::ContentType};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    DatabaseConnection, DbErr,
    sqlx::{self, Row},
};
use uuid::Uuid;

use crate::{
    batch::{BatchWrite, Batcher, column, query_error},
    deliberation::domain::MeetingStatus,
    idempotency,
};

/// One submission, ready to be written.
#[derive(Debug)]
pub struct NewSubmission {
    pub survey_id: Uuid,
    pub resident_id: Uuid,
    /// She asked to be told what comes of the survey.
    pub keep_informed: bool,
    pub on_day: NaiveDate,
    /// When she answered (`submitted_at` is rounded to the hour on anonymous surveys).
    pub answered_at: DateTime<Utc>,
    /// The response's id.
    pub id: Uuid,
    pub version: i32,
    /// `None` for anonymous surveys.
    pub respondent_id: Option<Uuid>,
    pub answers: String,
    pub submitted_at: DateTime<Utc>,
    /// The request's Idempotency-Key, recorded with the submission (`idempotency::Deferred`).
    pub key: Option<KeyRecord>,
}

/// An Idempotency-Key as the submission's write records it: answered with the receipt.
#[derive(Debug)]
pub struct KeyRecord {
    pub key_id: Uuid,
    pub key: String,
    pub fingerprint: String,
    /// The 201's body.
    pub receipt: String,
}

/// What became of a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Written {
    /// Stored and on disk.
    Stored,
    /// The resident had already answered this survey: nothing was written.
    AlreadyAnswered,
    /// The resident deleted her account since her token was issued: nothing was written.
    #[default]
    AccountGone,
    /// The survey was deleted since it was read: nothing was written.
    SurveyGone,
    /// Her Idempotency-Key was already held (a retry, or the key used before): nothing was
    /// written, and the key answers for itself.
    KeyHeld,
}

/// The submissions' group commit. Cloning shares it.
#[derive(Clone)]
pub struct SubmissionWriter(Batcher<Submissions>);

impl SubmissionWriter {
    /// Starts `writers` writers on `db` (each holds at most one connection at a time).
    pub fn spawn(db: DatabaseConnection, writers: usize) -> Self {
        Self(Batcher::spawn(db, writers))
    }

    /// Writes one submission with whichever others are waiting, and returns once it is on
    /// disk (or known not to be written).
    pub async fn write(&self, submission: NewSubmission) -> Result<Written, DbErr> {
        self.0.write(submission).await
    }
}

pub struct Submissions;

impl BatchWrite for Submissions {
    type Item = NewSubmission;
    /// A resident's second submission to a survey (another device, another key) goes in the
    /// next statement, where it meets the first's participation.
    type Key = (Uuid, Uuid);
    type Outcome = Written;

    fn key(s: &NewSubmission) -> (Uuid, Uuid) {
        (s.survey_id, s.resident_id)
    }

    /// One statement for all of `submissions` of residents who still have an account: the
    /// participations that are new, and the responses of those only, their answer items left
    /// to `items` (off the request path). Answers, for each live resident's pair, whether it
    /// was stored; the pairs of residents gone are left out.
    ///
    /// The batch goes as one typed array per column, in PostgreSQL's binary format, straight
    /// through sqlx: a JSON document of the batch cost the service its escaping and PostgreSQL
    /// its parse (each answer set is itself JSON, escaped inside it), and sea-orm's array
    /// values cannot hold the columns' NULLs.
    async fn write(
        db: &DatabaseConnection,
        submissions: &[NewSubmission],
    ) -> Result<HashMap<(Uuid, Uuid), Written>, DbErr> {
        let b = submissions;
        let rows = sqlx::query(INSERT)
            .bind(column(b, |s| s.survey_id))
            .bind(column(b, |s| s.resident_id))
            .bind(column(b, |s| s.keep_informed))
            .bind(column(b, |s| s.on_day))
            .bind(column(b, |s| s.answered_at))
            .bind(column(b, |s| s.id))
            .bind(column(b, |s| s.version))
            .bind(column(b, |s| s.respondent_id))
            .bind(column(b, |s| s.answers.as_str()))
            .bind(column(b, |s| s.submitted_at))
            .bind(column(b, |s| s.key.as_ref().map(|k| k.key_id)))
            .bind(column(b, |s| s.key.as_ref().map(|k| k.key.as_str())))
            .bind(column(b, |s| {
                s.key.as_ref().map(|k| k.fingerprint.as_str())
            }))
            .bind(column(b, |s| s.key.as_ref().map(|k| k.receipt.as_bytes())))
            .bind(MeetingStatus::Draft.as_str())
            .bind(idempotency::ANSWERED)
            .bind(i32::from(StatusCode::CREATED.as_u16()))
            .bind(ContentType::json().0.as_ref())
            .fetch_all(db.get_postgres_connection_pool())
            .await
            .map_err(query_error)?;
        rows.iter()
            .map(|r| {
                let pair = (r.try_get("survey_id")?, r.try_get("resident_id")?);
                let written = match (
                    r.try_get("stored")?,
                    r.try_get("survey_live")?,
                    r.try_get("key_free")?,
                ) {
                    (true, _, _) => Written::Stored,
                    (false, false, _) => Written::SurveyGone,
                    (false, true, false) => Written::KeyHeld,
                    (false, true, true) => Written::AlreadyAnswered,
                };
                Ok((pair, written))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(query_error)
    }
}

const INSERT: &str = r#"
WITH input AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::boolean[], $4::date[],
        $5::timestamptz[], $6::uuid[], $7::integer[], $8::uuid[], $9::text[],
        $10::timestamptz[], $11::uuid[], $12::text[], $13::text[], $14::bytea[])
        AS t(survey_id, resident_id, keep_informed, on_day, answered_at, id, version,
        respondent_id, answers, submitted_at, key_id, key, fingerprint, receipt)
), survey AS (
    -- The surveys answered, held until the commit against their deletion: no foreign key
    -- checks a participation's or a response's survey on PostgreSQL (migration
    -- `submissions_unchecked`), so the lock each key took once per row is taken here once.
    -- A survey gone already has no row to hold, and nothing is written for it.
    SELECT id FROM surveys WHERE id = ANY($1::uuid[]) FOR KEY SHARE
), live AS (
    -- The sub-district the answers are counted under is the resident's as written. Each
    -- resident by her key (`OFFSET 0` keeps the subquery apart): joined with the arrays,
    -- whose length the prepared statement's generic plan cannot know, it could scan every
    -- resident for each batch.
    SELECT i.*, r.home_subdistrict AS sub_district
    FROM input i CROSS JOIN LATERAL (
        SELECT home_subdistrict FROM residents WHERE id = i.resident_id AND deleted_at IS NULL
        OFFSET 0
    ) r
), free AS (
    -- Those whose Idempotency-Key no request holds: a held key (a retry, or a key used
    -- before) writes nothing here, and answers for itself (`idempotency::Deferred`). Looked
    -- up one by one (`OFFSET 0`), for the reason given above.
    SELECT l.* FROM live l JOIN survey s ON s.id = l.survey_id
    WHERE l.key IS NULL OR NOT EXISTS (
        SELECT 1 FROM idempotency_keys k WHERE k.user_id = l.resident_id AND k.key = l.key
        OFFSET 0
    )
), part AS (
    INSERT INTO survey_participations (survey_id, resident_id, keep_informed, on_day)
    SELECT survey_id, resident_id, keep_informed, on_day FROM free
    ON CONFLICT DO NOTHING
    RETURNING survey_id, resident_id
), resp AS (
    INSERT INTO survey_responses (id, survey_id, version, respondent_id, sub_district, answers,
        submitted_at, items_pending)
    SELECT i.id, i.survey_id, i.version, i.respondent_id, i.sub_district, i.answers,
        i.submitted_at, true
    FROM live i JOIN part p ON p.survey_id = i.survey_id AND p.resident_id = i.resident_id
), follows AS (
    -- Outcomes already recorded by the meetings the survey raised: whoever asks to be kept
    -- informed follows them from now on (as `outcomes::follow_from_survey`).
    INSERT INTO outcome_follows (outcome_id, resident_id, created_at)
    SELECT o.id, i.resident_id, i.answered_at
    FROM live i
    JOIN part p ON p.survey_id = i.survey_id AND p.resident_id = i.resident_id
    JOIN deliberations d ON d.source_survey_id = i.survey_id AND d.status <> $15
    JOIN outcomes o ON o.deliberation_id = d.id
    WHERE i.keep_informed
    ON CONFLICT (outcome_id, resident_id) DO NOTHING
), kept AS (
    -- Each stored submission's key, answered with its receipt. A key taken by another
    -- request of the same resident in the same instant (not yet committed when `free` looked)
    -- stays that request's: this submission is stored all the same, its key unrecorded.
    INSERT INTO idempotency_keys (id, user_id, key, fingerprint, state, response_status,
        response_content_type, response_body, created_at)
    SELECT i.key_id, i.resident_id, i.key, i.fingerprint, $16, $17, $18, i.receipt,
        i.answered_at
    FROM live i JOIN part p ON p.survey_id = i.survey_id AND p.resident_id = i.resident_id
    WHERE i.key IS NOT NULL
    ON CONFLICT DO NOTHING
)
SELECT l.survey_id, l.resident_id, p.resident_id IS NOT NULL AS stored,
    f.resident_id IS NOT NULL AS key_free,
    EXISTS (SELECT 1 FROM survey s WHERE s.id = l.survey_id) AS survey_live
FROM live l
LEFT JOIN free f ON f.survey_id = l.survey_id AND f.resident_id = l.resident_id
LEFT JOIN part p ON p.survey_id = l.survey_id AND p.resident_id = l.resident_id"#;
