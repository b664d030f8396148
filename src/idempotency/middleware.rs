//! The actix glue: reads the key and the body, asks the service whether to run, replay or
//! refuse, and records the answer.

use actix_web::{
    Error, HttpMessage, HttpResponse,
    body::{BodySize, BoxBody, MessageBody, to_bytes},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::{
        Method, StatusCode,
        header::{self, HeaderMap, HeaderName},
    },
    middleware::Next,
    web,
};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::{
    AnswerKept, Deferred, KeyHeld,
    domain::{IdempotencyKey, fingerprint, is_replayable},
    service::{self, Batches, Claim, ReleaseOnDrop, StoredAnswer},
};
use crate::{auth::bearer_subject, error::ApiError, extract::buffer_body, state::AppState};

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// Larger answers are passed through without being kept (the key is released): creating
/// POSTs answer with one resource, far below this.
const MAX_STORED_BODY: u64 = 1024 * 1024;

/// `Idempotency-Key` on POST: the first answer of a signed-in caller's request is kept for
/// 24 hours and replayed for retries with the same key and the same request.
pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if req.method() != Method::POST || !req.headers().contains_key(&IDEMPOTENCY_KEY) {
        return Ok(next.call(req).await?.map_into_boxed_body());
    }
    let key = match parse_key(req.headers()) {
        Ok(key) => key,
        Err(e) => return Ok(req.error_response(e)),
    };
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let caller = state
        .as_ref()
        .and_then(|s| bearer_subject(req.request(), &s.tokens));
    // Without a valid token there is no one to keep the answer for; the handler decides
    // (and answers 401 where a token is needed).
    let (Some(state), Some(user)) = (state, caller) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };

    let body = match buffer_body(&mut req, state.settings.body_limit_bytes).await {
        Ok(body) => body,
        Err(e) => return Ok(req.error_response(e)),
    };
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path().to_owned(), |p| p.as_str().to_owned());
    let print = fingerprint(req.method().as_str(), &path, &body);
    // The handler reads the body again from here.
    req.set_payload(Payload::from(body));

    let batches = state.idempotency.as_ref();
    if batches.is_some() && records_its_own_key(req.path()) {
        req.extensions_mut().insert(Deferred {
            id: Uuid::now_v7(),
            user,
            key: key.as_str().to_owned(),
            fingerprint: print.clone(),
        });
        let res = next.call(req).await?.map_into_boxed_body();
        return settle(res, &state.unflushed, batches, user, &key, &print).await;
    }
    let claim = match service::claim(&state.unflushed, batches, user, &key, &print).await {
        Ok(claim) => claim,
        Err(e) => return Ok(req.error_response(ApiError::from(e))),
    };
    match claim {
        Claim::Run(id) => run(req, next, &state.unflushed, batches, id).await,
        held => Ok(req.into_response(answer_for_held(held))),
    }
}

/// Routes whose handler records the key with its own write ([`Deferred`]): an answer
/// submission, `/api/v1/surveys/{id}/responses`, and a booking,
/// `/api/v1/open-days/{id}/reservations`.
fn records_its_own_key(path: &str) -> bool {
    let under = |prefix: &str, suffix: &str| {
        path.strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
            .is_some_and(|id| Uuid::parse_str(id).is_ok())
    };
    under("/api/v1/surveys/", "/responses") || under("/api/v1/open-days/", "/reservations")
}

/// The answer for a key some request already holds: its first answer again, or a refusal.
fn answer_for_held(claim: Claim) -> HttpResponse {
    match claim {
        Claim::Replay(answer) => {
            metrics::counter!("idempotency_replays_total").increment(1);
            replay(answer)
        }
        Claim::Reused => {
            metrics::counter!("idempotency_refusals_total", "reason" => "reused").increment(1);
            HttpResponse::from_error(ApiError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "Idempotency-Key",
                "该 Idempotency-Key 已用于另一个请求，请为新请求生成新的值",
            ))
        }
        // `Run` only when the holder let go of the key between two looks: it is still
        // settling, and a retry a moment later finds it free.
        Claim::InProgress | Claim::Run(_) => {
            metrics::counter!("idempotency_refusals_total", "reason" => "in_progress").increment(1);
            HttpResponse::from_error(
                ApiError::conflict("request_in_progress", "相同的请求正在处理中，请稍后再试")
                    .with_retry_after(1),
            )
        }
    }
}

/// Settles the key of a request that ran without a claim ([`Deferred`]). Its handler
/// either recorded the key with its write, or changed nothing: then the key is claimed now,
/// and the outcome is what a claim first would have given, since running first changed
/// nothing. A free key keeps the handler's answer (when final); a held one answers for
/// itself, and the handler's answer is dropped.
async fn settle(
    res: ServiceResponse<BoxBody>,
    db: &DatabaseConnection,
    batches: Option<&Batches>,
    user: Uuid,
    key: &IdempotencyKey,
    print: &str,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if res.response().extensions().contains::<AnswerKept>() {
        return Ok(res);
    }
    let found_held = res.response().extensions().contains::<KeyHeld>();
    let claim = match service::claim(db, batches, user, key, print).await {
        Ok(claim) => claim,
        // Nothing was done: the handler's refusal stands, unkept, as any answer not kept.
        Err(_) if !found_held => return Ok(res),
        Err(e) => {
            let (http_req, _) = res.into_parts();
            let answer = HttpResponse::from_error(ApiError::from(e));
            return Ok(ServiceResponse::new(http_req, answer));
        }
    };
    match claim {
        Claim::Run(id) if !found_held => {
            keep(res, ReleaseOnDrop::new(db, id), db, batches, id).await
        }
        held => {
            if let Claim::Run(id) = held {
                ReleaseOnDrop::new(db, id).release().await;
            }
            let (http_req, _) = res.into_parts();
            Ok(ServiceResponse::new(http_req, answer_for_held(held)))
        }
    }
}

fn parse_key(headers: &HeaderMap) -> Result<IdempotencyKey, ApiError> {
    let mut values = headers.get_all(&IDEMPOTENCY_KEY);
    let parsed = match (values.next(), values.next()) {
        (Some(value), None) => IdempotencyKey::parse(value.as_bytes()),
        _ => Err("只能提供一个 Idempotency-Key"),
    };
    parsed.map_err(|message| {
        ApiError::field(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            "Idempotency-Key",
            message,
        )
    })
}

/// Runs the request under its claim and keeps the answer when it is final.
async fn run<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
    db: &DatabaseConnection,
    batches: Option<&Batches>,
    claim: Uuid,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let guard = ReleaseOnDrop::new(db, claim);
    let res = match next.call(req).await {
        Ok(res) => res,
        Err(e) => {
            guard.release().await;
            return Err(e);
        }
    };
    keep(res.map_into_boxed_body(), guard, db, batches, claim).await
}

/// Keeps `res` as the answer of `claim` when it is final; otherwise releases the claim.
async fn keep(
    res: ServiceResponse<BoxBody>,
    guard: ReleaseOnDrop,
    db: &DatabaseConnection,
    batches: Option<&Batches>,
    claim: Uuid,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let status = res.status();
    let (http_req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let storable = match body.size() {
        BodySize::None => true,
        BodySize::Sized(n) => n <= MAX_STORED_BODY,
        BodySize::Stream => false,
    };
    if !is_replayable(status.as_u16()) || !storable {
        guard.release().await;
        let res = head.set_body(body).map_into_boxed_body();
        return Ok(ServiceResponse::new(http_req, res));
    }
    let bytes = match to_bytes(body).await {
        Ok(bytes) => bytes,
        Err(e) => {
            guard.release().await;
            return Err(ApiError::internal(anyhow::anyhow!("response body: {e}")).into());
        }
    };
    let answer = StoredAnswer {
        status: status.as_u16(),
        content_type: head
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: bytes.to_vec(),
    };
    // The work is done either way; when the answer cannot be kept the claim stays in
    // progress, so retries are refused until it counts as abandoned rather than run twice
    // at once.
    if let Err(e) = service::complete(db, batches, claim, answer).await {
        tracing::error!(error = %e, "idempotent answer could not be stored");
    }
    guard.disarm();
    let res = head.set_body(bytes).map_into_boxed_body();
    Ok(ServiceResponse::new(http_req, res))
}

fn replay(answer: StoredAnswer) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = HttpResponse::build(status);
    res.insert_header((IDEMPOTENT_REPLAYED, "true"));
    if let Some(content_type) = answer.content_type {
        res.insert_header((header::CONTENT_TYPE, content_type));
    }
    res.body(answer.body)
}
