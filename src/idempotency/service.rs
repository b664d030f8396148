use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::Utc;
use sea_orm::{DatabaseConnection, DbErr};
use uuid::Uuid;

use super::{
    domain::{ABANDONED_AFTER, IdempotencyKey, KEY_TTL},
    repo::{self, Answers, Claims, NewAnswer, NewClaim},
};
use crate::{batch::Batcher, error::is_unique_violation};

/// Claims and answers in group commits (`crate::batch`), on PostgreSQL. Without them
/// (SQLite: one writer) each is a statement of its own.
#[derive(Clone)]
pub struct Batches {
    claims: Batcher<Claims>,
    answers: Batcher<Answers>,
}

impl Batches {
    pub fn spawn(db: DatabaseConnection, writers: usize) -> Self {
        Self {
            claims: Batcher::spawn(db.clone(), writers),
            answers: Batcher::spawn(db, writers),
        }
    }
}

/// The first answer, as it will be replayed.
#[derive(Debug)]
pub struct StoredAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// What a request carrying a key may do.
#[derive(Debug)]
pub enum Claim {
    /// Run it; its answer is recorded under this claim id.
    Run(Uuid),
    /// The same request was answered before: send that answer again.
    Replay(StoredAnswer),
    /// The same request is running right now.
    InProgress,
    /// The key was used for a different request.
    Reused,
}

fn chrono_duration(d: std::time::Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Decides what a request with this key may do. Concurrent requests each try to insert the
/// claim; the unique (user, key) constraint lets exactly one through, and the others read
/// what it holds. An expired or abandoned claim is deleted by id and the insert retried,
/// so a takeover is decided by the same constraint.
#[tracing::instrument(skip_all)]
pub async fn claim(
    db: &DatabaseConnection,
    batches: Option<&Batches>,
    user_id: Uuid,
    key: &IdempotencyKey,
    fingerprint: &str,
) -> Result<Claim, DbErr> {
    for _ in 0..3 {
        let id = Uuid::now_v7();
        let claimed = match batches {
            Some(b) => {
                let claim = NewClaim {
                    id,
                    user_id,
                    key: key.as_str().to_owned(),
                    fingerprint: fingerprint.to_owned(),
                    created_at: Utc::now(),
                };
                let guard = ReleaseOnDrop::new(db, id);
                let claimed = b.claims.write(claim).await;
                guard.disarm();
                claimed?
            }
            None => match repo::insert_claim(db, id, user_id, key.as_str(), fingerprint).await {
                Ok(()) => true,
                Err(e) if is_unique_violation(&e) => false,
                Err(e) => return Err(e),
            },
        };
        if claimed {
            return Ok(Claim::Run(id));
        }
        // Gone already: the holder failed and released it; try again.
        let Some(held) = repo::find(db, user_id, key.as_str()).await? else {
            continue;
        };
        let age = Utc::now() - held.created_at;
        if age > chrono_duration(KEY_TTL) {
            repo::delete(db, held.id).await?;
            continue;
        }
        if held.fingerprint != fingerprint {
            return Ok(Claim::Reused);
        }
        if held.state == repo::IN_PROGRESS {
            if age > chrono_duration(ABANDONED_AFTER) {
                tracing::warn!(claim = %held.id, "idempotency claim abandoned; taking it over");
                repo::delete(db, held.id).await?;
                continue;
            }
            return Ok(Claim::InProgress);
        }
        match held.response_status.and_then(|s| u16::try_from(s).ok()) {
            Some(status) => {
                return Ok(Claim::Replay(StoredAnswer {
                    status,
                    content_type: held.response_content_type,
                    body: held.response_body.unwrap_or_default(),
                }));
            }
            // A finished claim without an answer cannot be replayed: let the request run.
            None => repo::delete(db, held.id).await?,
        }
    }
    // Three lost races in a row: someone else keeps winning, so it is in progress.
    Ok(Claim::InProgress)
}

/// Records `key` as answered with `answer`, in the transaction `txn` that does its
/// request's work, unless the key is held; whether it was recorded. The unique (user, key)
/// pair decides, as for a claim: a concurrent holder's insert is waited for.
pub async fn record_answered(
    txn: &impl sea_orm::ConnectionTrait,
    key: &super::Deferred,
    answer: StoredAnswer,
) -> Result<bool, DbErr> {
    repo::insert_answered(txn, key, answer).await
}

/// Records the answer of a claim. A claim that was taken over meanwhile is left alone.
pub async fn complete(
    db: &DatabaseConnection,
    batches: Option<&Batches>,
    claim: Uuid,
    answer: StoredAnswer,
) -> Result<(), DbErr> {
    let status = i32::from(answer.status);
    let stored = match batches {
        Some(b) => {
            let answer = NewAnswer {
                id: claim,
                status,
                content_type: answer.content_type,
                body: STANDARD.encode(&answer.body),
            };
            b.answers.write(answer).await?
        }
        None => repo::complete(db, claim, status, answer.content_type, answer.body).await?,
    };
    if !stored {
        tracing::warn!(%claim, "idempotency claim was taken over before its answer was stored");
    }
    Ok(())
}

/// Releases a claim whose answer is not final, so that a retry runs again. A claim already
/// answered is kept: a handler may have stored its answer with its own write (an answer
/// submission's receipt) just before its client went away, and the retry must replay it.
pub async fn release(db: &DatabaseConnection, claim: Uuid) -> Result<(), DbErr> {
    repo::delete_in_progress(db, claim).await
}

/// Deletes keys past their lifetime.
pub async fn purge_expired(db: &DatabaseConnection) -> Result<u64, DbErr> {
    repo::purge_older_than(db, Utc::now() - chrono_duration(KEY_TTL)).await
}

/// Releases the claim if the request is dropped mid-way (the client went away and actix
/// dropped the handler), so a retry is not refused as "in progress" until the claim
/// counts as abandoned. Also armed while a claim waits in its batch: it may still be written
/// after its caller has gone.
pub struct ReleaseOnDrop {
    db: Option<DatabaseConnection>,
    claim: Uuid,
}

impl ReleaseOnDrop {
    pub fn new(db: &DatabaseConnection, claim: Uuid) -> Self {
        Self {
            db: Some(db.clone()),
            claim,
        }
    }

    pub async fn release(mut self) {
        if let Some(db) = self.db.take()
            && let Err(e) = release(&db, self.claim).await
        {
            tracing::warn!(error = %e, "idempotency claim could not be released");
        }
    }

    pub fn disarm(mut self) {
        self.db = None;
    }
}

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        let Some(db) = self.db.take() else { return };
        let claim = self.claim;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = release(&db, claim).await {
                    tracing::warn!(error = %e, "idempotency claim could not be released");
                }
            });
        }
    }
}
