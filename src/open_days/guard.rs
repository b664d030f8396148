//! The release minute: an open day's slots are published at 9:00 and thousands of residents
//! press 预约 at once, while a slot holds a hundred. Every attempt that reaches the booking
//! reads the event, the slot and the resident's history, tries for a seat, and settles its
//! Idempotency-Key; the few hundred that win are worth that, the thousands refused are not.
//!
//! So, per instance and in memory only: attempts on one open day go to the database a few at a
//! time (as many as the pool the bookings are written through has connections: more only
//! queue there, and took the seats later in the bench), and once one of
//! them has found a slot full, the others waiting are refused at once with the same
//! `slot_full` the booking would give, before their key or any query. The seats themselves are
//! still taken only by the booking's conditional UPDATE: this knowledge can only refuse, never
//! admit.
//!
//! What is known lapses after a second and is dropped here as soon as this instance frees a
//! seat or changes the event, so a seat freed through another instance is bookable here
//! again within a second. Residents who hold a reservation on the event are never refused
//! here: their retry must replay their first answer (or say `already_reserved`), not claim
//! the slot is full.
//!
//! The slot and its open day as an attempt read them are kept too (`slot_as_read`): the next
//! attempt on the slot books with them at once, without reading either, and the booking's
//! statement checks every value of them it relies on (`repo::book_at_once`), so a copy gone
//! stale makes that attempt read afresh, never book on what changed.
//!
//! Seat tickets in Redis, refusing every loser as it arrives, were tried and measured worse
//! at the tail (bench/results/2026-11-27.md): thousands of refusals queued on Redis ahead of
//! the winners' own round trips, so the last bookings, and the p99, came later. Parked
//! attempts cost nothing while the winners book.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use actix_web::{
    Error, HttpMessage,
    body::{BoxBody, MessageBody},
    dev::{Payload, ServiceRequest, ServiceResponse},
    http::Method,
    middleware::Next,
    web,
};
use moka::future::Cache as Moka;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use super::{domain::Visitor, dto::ReserveRequest};
use crate::{
    auth::resident_of_bearer,
    entities::{open_day_slots, open_days},
    extract::buffer_body,
    state::AppState,
    telemetry::RouteLabel,
};

/// How long a full slot is taken as full without asking the database again.
const KNOWN_FOR: Duration = Duration::from_secs(1);

/// Events with more residents holding reservations are not remembered (their attempts go
/// to the database as before): the set would cost more memory than the storm saves.
const MAX_HOLDERS: usize = 50_000;

/// What a booking attempt found in the database: `slot` had at most `free` seats; `holders`
/// were read after that.
pub struct Found {
    pub slot: Uuid,
    pub free: i32,
    pub max_party: i32,
    pub holders: HashSet<Uuid>,
}

/// An attempt's turn at the database, given by `storm_guard` to the handler (in the
/// request's extensions). The booking gives it back once its seat is taken, before it waits
/// for the flush: the next attempt's statement then runs while this one's commit reaches the
/// disk. Dropped with the request otherwise.
pub struct Turn {
    _permit: OwnedSemaphorePermit,
}

/// A slot and its open day, as one read found them.
pub type SlotAsRead = (open_day_slots::Model, open_days::Model);

pub struct StormGuard {
    concurrency: usize,
    events: Moka<Uuid, Arc<EventGate>>,
    slots: Moka<Uuid, Arc<SlotAsRead>>,
}

struct EventGate {
    to_database: Arc<Semaphore>,
    known: Mutex<Option<Known>>,
    /// Wakes every parked attempt when a slot is found full: handing the refusal down the
    /// semaphore's queue one permit at a time would wake them one after another, each
    /// behind the worker's whole run queue.
    found_full: Notify,
}

/// What one attempt found, as of `at`.
struct Known {
    at: Instant,
    /// Free seats of each slot found short of seats.
    free: HashMap<Uuid, i32>,
    /// Larger parties are refused for their size by the handler, not here.
    max_party: i32,
    /// Residents holding an active reservation on the event.
    holders: HashSet<Uuid>,
}

impl StormGuard {
    /// `concurrency`: attempts per open day let through to the database at once.
    pub fn new(concurrency: usize) -> Self {
        Self {
            concurrency: concurrency.max(1),
            events: Moka::builder()
                .max_capacity(10_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
            // Each holds its open day's description: a thousand slots booked in the last
            // ten minutes on one instance is more than a district runs.
            slots: Moka::builder()
                .max_capacity(1_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
        }
    }

    /// The slot and its open day as an attempt on this instance last read them. They may
    /// have changed since: only a statement that checks them may act on them.
    pub async fn slot_as_read(&self, slot: Uuid) -> Option<Arc<SlotAsRead>> {
        self.slots.get(&slot).await
    }

    pub async fn keep_as_read(&self, slot: open_day_slots::Model, open_day: open_days::Model) {
        self.slots.insert(slot.id, Arc::new((slot, open_day))).await;
    }

    async fn gate(&self, open_day: Uuid) -> Arc<EventGate> {
        let permits = self.concurrency;
        self.events
            .get_with(open_day, async move {
                Arc::new(EventGate {
                    to_database: Arc::new(Semaphore::new(permits)),
                    known: Mutex::new(None),
                    found_full: Notify::new(),
                })
            })
            .await
    }

    /// Whether a fresh record of `open_day` is held (so the caller need not load one).
    pub async fn knows(&self, open_day: Uuid, slot: Uuid) -> bool {
        let Some(gate) = self.events.get(&open_day).await else {
            return false;
        };
        let known = gate.known.lock().unwrap_or_else(|p| p.into_inner());
        known
            .as_ref()
            .is_some_and(|k| k.at.elapsed() < KNOWN_FOR && k.free.contains_key(&slot))
    }

    /// Records that `slot` had at most `free` seats, with the residents then holding a
    /// reservation on the event (read after the slot was found short).
    pub async fn record(&self, open_day: Uuid, found: Found) {
        self.gate(open_day).await.record(found);
    }

    /// Seats were freed or the event changed through this instance.
    pub async fn forget(&self, open_day: Uuid) {
        if let Some(gate) = self.events.get(&open_day).await {
            *gate.known.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}

impl EventGate {
    fn record(&self, found: Found) {
        let Found {
            slot,
            free,
            max_party,
            holders,
        } = found;
        if holders.len() > MAX_HOLDERS {
            return;
        }
        {
            let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
            match known.as_mut() {
                Some(k) if k.at.elapsed() < KNOWN_FOR => {
                    k.free.insert(slot, free);
                    k.holders.extend(holders);
                }
                _ => {
                    *known = Some(Known {
                        at: Instant::now(),
                        free: HashMap::from([(slot, free)]),
                        max_party,
                        holders,
                    });
                }
            }
        }
        self.found_full.notify_waiters();
    }

    fn known_full(&self, slot: Uuid, party: i32, resident: Uuid) -> bool {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.as_ref().is_some_and(|k| {
            k.at.elapsed() < KNOWN_FOR
                && party <= k.max_party
                && k.free.get(&slot).is_some_and(|&free| party > free)
                && !k.holders.contains(&resident)
        })
    }
}

/// `/api/v1/open-days/{id}/reservations` → the open day's id.
fn reservation_target(path: &str) -> Option<Uuid> {
    let id = path
        .strip_prefix("/api/v1/open-days/")?
        .strip_suffix("/reservations")?;
    Uuid::parse_str(id).ok()
}

/// A booking attempt this guard may refuse: a signed-in resident's well-formed request for
/// a seat, not for the waitlist. Anything else (a bad token, a malformed body) is left to the
/// handler, which answers it as it always does.
struct Attempt {
    open_day: Uuid,
    slot: Uuid,
    party: i32,
    resident: Uuid,
}

fn attempt_of(open_day: Uuid, resident: Uuid, body: &[u8]) -> Option<Attempt> {
    let req: ReserveRequest = serde_json::from_slice(body).ok()?;
    let well_formed = !req.waitlist
        && req.consent
        && req.party_size >= 1
        && Visitor::parse(&req.visitor_name, &req.phone).is_ok();
    well_formed.then(|| Attempt {
        open_day,
        slot: req.slot_id,
        party: i32::try_from(req.party_size).unwrap_or(i32::MAX),
        resident,
    })
}

fn refused(req: ServiceRequest) -> ServiceResponse<BoxBody> {
    metrics::counter!("open_day_storm_refusals_total").increment(1);
    req.extensions_mut()
        .insert(RouteLabel("/api/v1/open-days/{id}/reservations"));
    req.error_response(super::service::slot_full())
}

/// Outside the idempotency middleware, so a refusal here claims no key.
pub async fn storm_guard(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let target = (req.method() == Method::POST)
        .then(|| reservation_target(req.path()))
        .flatten();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (Some(open_day), Some(state)) = (target, state) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Some(resident) = resident_of_bearer(req.request(), &state) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let body = match buffer_body(&mut req, state.settings.body_limit_bytes).await {
        Ok(body) => body,
        Err(e) => return Ok(req.error_response(e)),
    };
    let attempt = attempt_of(open_day, resident, &body);
    req.set_payload(Payload::from(body));
    let Some(attempt) = attempt else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let gate = state.open_day_guard.gate(attempt.open_day).await;
    let permit = loop {
        // Registered before the check, so news recorded between the two is not missed.
        let news = gate.found_full.notified();
        tokio::pin!(news);
        news.as_mut().enable();
        // Found full by an attempt that went before while this one waited.
        if gate.known_full(attempt.slot, attempt.party, attempt.resident) {
            return Ok(refused(req));
        }
        tokio::select! {
            permit = gate.to_database.clone().acquire_owned() => match permit {
                Ok(permit) => break permit,
                Err(_) => return Ok(next.call(req).await?.map_into_boxed_body()),
            },
            () = &mut news => {}
        }
    };
    // The permit may have come with news not yet looked at.
    if gate.known_full(attempt.slot, attempt.party, attempt.resident) {
        return Ok(refused(req));
    }
    req.extensions_mut().insert(Turn { _permit: permit });
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_reservation_route_is_guarded() {
        let id = Uuid::now_v7();
        assert_eq!(
            reservation_target(&format!("/api/v1/open-days/{id}/reservations")),
            Some(id)
        );
        assert_eq!(reservation_target(&format!("/api/v1/open-days/{id}")), None);
        assert_eq!(
            reservation_target("/api/v1/open-days/not-a-uuid/reservations"),
            None
        );
        assert_eq!(
            reservation_target(&format!("/api/v1/open-days/{id}/reservations/x")),
            None
        );
    }

    #[tokio::test]
    async fn refuses_only_what_a_fresh_record_says_is_full_and_never_a_holder() {
        let guard = StormGuard::new(4);
        let (event, slot, other_slot) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let (holder, newcomer) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(!guard.gate(event).await.known_full(slot, 1, newcomer));
        let found = Found {
            slot,
            free: 1,
            max_party: 4,
            holders: HashSet::from([holder]),
        };
        guard.record(event, found).await;
        assert!(
            !guard.gate(event).await.known_full(slot, 1, newcomer),
            "one seat left"
        );
        assert!(guard.gate(event).await.known_full(slot, 2, newcomer));
        assert!(!guard.gate(event).await.known_full(slot, 2, holder));
        assert!(!guard.gate(event).await.known_full(other_slot, 2, newcomer));
        assert!(
            !guard.gate(event).await.known_full(slot, 5, newcomer),
            "too large a party"
        );
        guard.forget(event).await;
        assert!(!guard.gate(event).await.known_full(slot, 2, newcomer));
    }
}
