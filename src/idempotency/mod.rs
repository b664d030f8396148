//! `Idempotency-Key` for creating POSTs, so a phone on a bad network can retry safely.
//!
//! A signed-in caller's POST that carries a key is claimed in the database under the unique
//! (user, key) pair before it runs. A retry with the same key and the same request (method,
//! path, body) gets the first answer again with `Idempotent-Replayed: true`; a retry while
//! the first still runs is 409 `request_in_progress`; the same key with another request is
//! 422 `idempotency_key_reused`. Answers that are not final (5xx, 401, 408, 429) are not kept,
//! so a retry runs again. Keys live 24 hours.
//!
//! The claim lives in the database, not in Redis, so the guarantee holds across instances
//! and through a Redis outage, on SQLite and PostgreSQL alike. It is written through the
//! pool whose commits do not wait (`db::connect_unflushed`), without waiting for the WAL flush. Safe for
//! the claim: the request's own transaction commits after it and its flush carries the
//! claim along; a claim lost with a database crash before that leaves nothing done to
//! protect. For the answer it widens a window that already exists (the service stopping
//! between the request's commit and this write) from that moment to a database crash within
//! the WAL writer's delay (0.2 s): the claim then stays in progress until it counts as
//! abandoned, and the retry runs again against the committed state (a 409 such as
//! `already_answered`, never a second write). What it buys: each is one statement, and a
//! submission waits for one flush, not three. On PostgreSQL the claims, and the answers, of
//! requests arriving together share that statement (`service::Batches`, `crate::batch`).
//! An answer submission and a booking on PostgreSQL are not claimed first: their own write
//! records the key with their answer, or finds the key held and does nothing ([`Deferred`]);
//! either way the outcome for the key is the one a claim first would have given, except for
//! two different requests racing on one key in the same instant, which both run
//! (`surveys::writer`; for bookings, the resident's one reservation per open day still holds).

pub mod domain;
mod middleware;
mod repo;
pub mod service;

use std::time::Duration;

use actix_web::{HttpMessage, HttpResponse, body::MessageBody, http::header::ContentType};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

pub use middleware::{IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, idempotency};
/// The state of an answered key, for statements that record it themselves.
pub use repo::DONE as ANSWERED;
pub use repo::{is_key_held, warm};

/// In a request's extensions when its key is not claimed before it runs: a handler whose
/// own write can record the key with its result does so (an answer submission on
/// PostgreSQL, `surveys::writer`; a booking, `open_days::service::reserve`), which spares
/// the claim's statement, and the answer's, on the busiest writes.
/// The handler then answers with one of the markers below, or with a refusal that changed
/// nothing; the middleware settles the key after it (`middleware::settle`).
#[derive(Debug, Clone)]
pub struct Deferred {
    /// Id for the key's row, should the handler write one.
    pub id: Uuid,
    pub user: Uuid,
    pub key: String,
    pub fingerprint: String,
}

/// In a response's extensions when the handler's write recorded the key with this answer.
#[derive(Debug, Clone, Copy)]
pub struct AnswerKept;

/// In a response's extensions when the handler found the key already held and did nothing:
/// the middleware answers for the key instead (a replay, or a refusal).
#[derive(Debug, Clone, Copy)]
pub struct KeyHeld;

/// The key a handler is to record with its own write, if any.
pub fn deferred(req: &actix_web::HttpRequest) -> Option<Deferred> {
    req.extensions().get::<Deferred>().cloned()
}

/// A handler's `201 Created` with `body` (JSON), marked [`AnswerKept`] when its own write
/// recorded the request's key with it.
pub fn created(body: impl MessageBody + 'static, key_recorded: bool) -> HttpResponse {
    let mut res = HttpResponse::Created()
        .content_type(ContentType::json())
        .body(body);
    if key_recorded {
        res.extensions_mut().insert(AnswerKept);
    }
    res
}

/// A handler's answer when its own write found the request's key held ([`KeyHeld`]): the
/// middleware answers for the key in its place.
pub fn key_held() -> HttpResponse {
    let mut res = HttpResponse::from_error(
        crate::error::ApiError::conflict("request_in_progress", "相同的请求正在处理中，请稍后再试")
            .with_retry_after(1),
    );
    res.extensions_mut().insert(KeyHeld);
    res
}

/// Deletes expired keys every hour (any instance may do it; the deletes do not conflict).
pub fn spawn_purge(db: DatabaseConnection) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60 * 60));
        loop {
            tick.tick().await;
            match service::purge_expired(&db).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "expired idempotency keys purged"),
                Err(e) => tracing::warn!(error = %e, "idempotency key purge failed"),
            }
        }
    });
}
