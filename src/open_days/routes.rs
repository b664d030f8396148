use actix_web::{
    HttpMessage, HttpRequest, HttpResponse,
    http::{StatusCode, header},
    web,
};
use utoipa::OpenApi;
use uuid::Uuid;

use super::{
    dto::{
        CheckInRequest, CheckInView, CreateOpenDayRequest, OpenDayFields, OpenDayListQuery,
        OpenDayStats, OpenDayView, ReservationView, ReserveRequest, RevealVisitorRequest,
        RevealedVisitorValue, SlotRequest, SlotStats, SlotTimes, SlotView, VisitorField,
        VisitorView,
    },
    service,
};
use crate::{
    auth::{CurrentResident, CurrentStaff},
    error::{ApiError, ApiResult, Problem},
    extract::ApiJson,
    idempotency,
    pagination::{ListQuery, Page, PageRequest},
    state::AppState,
};

#[derive(OpenApi)]
#[openapi(
    paths(
        create_open_day, list_open_days, get_open_day, update_open_day, publish_open_day,
        cancel_open_day, reserve, cancel_reservation, my_reservations, check_in, visitors,
        export_visitors,
        reveal_visitor, open_day_stats
    ),
    components(schemas(
        CreateOpenDayRequest, OpenDayFields, SlotRequest, OpenDayView, SlotView, ReserveRequest,
        ReservationView, SlotTimes, CheckInRequest, CheckInView, VisitorView, VisitorField,
        RevealVisitorRequest, RevealedVisitorValue, OpenDayStats, SlotStats,
        Page<OpenDayView>, Page<ReservationView>, Page<VisitorView>
    ))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/open-days")
            .service(web::resource("").get(list_open_days).post(create_open_day))
            .service(
                web::resource("/{id}")
                    .get(get_open_day)
                    .put(update_open_day),
            )
            .service(web::resource("/{id}/publish").post(publish_open_day))
            .service(web::resource("/{id}/cancel").post(cancel_open_day))
            .service(web::resource("/{id}/reservations").post(reserve))
            .service(
                web::resource("/{id}/reservations/{reservation_id}/reveal").post(reveal_visitor),
            )
            .service(web::resource("/{id}/check-ins").post(check_in))
            .service(web::resource("/{id}/stats").get(open_day_stats))
            .service(web::resource("/{id}/slots/{slot_id}/visitors").get(visitors))
            .service(web::resource("/{id}/slots/{slot_id}/visitors.xlsx").get(export_visitors)),
    )
    .service(web::resource("/api/v1/reservations/{id}").delete(cancel_reservation));
}

/// Routes under `/api/v1/me`: registered before the accounts scope, which would take them.
pub fn configure_me(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/me/reservations").get(my_reservations));
}

/// Creates an open day as a draft (staff of its org unit, or an administrator).
#[utoipa::path(post, path = "/api/v1/open-days", tag = "open-days",
    request_body = CreateOpenDayRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = OpenDayView),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`, `staff_only`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed`, `org_unit_unknown`, `slot_unknown`"),
    ))]
async fn create_open_day(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    body: ApiJson<CreateOpenDayRequest>,
) -> ApiResult<HttpResponse> {
    let view = service::create(&state, &staff, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Upcoming published open days with their slots. Public. Staff: `?scope=mine` lists their
/// org unit's open days of every status (all for administrators).
#[utoipa::path(get, path = "/api/v1/open-days", tag = "open-days",
    params(OpenDayListQuery),
    security((), ("bearer" = [])),
    responses((status = 200, body = Page<OpenDayView>),
              (status = 400, body = Problem, content_type = "application/problem+json", description = "`invalid_query`"),
              (status = 401, body = Problem, content_type = "application/problem+json", description = "`scope=mine` without a staff login"),
              (status = 403, body = Problem, content_type = "application/problem+json", description = "`staff_only`")))]
async fn list_open_days(
    state: web::Data<AppState>,
    query: web::Query<OpenDayListQuery>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let q = query.into_inner();
    let page = PageRequest::try_from(&ListQuery {
        limit: q.limit,
        cursor: q.cursor,
    })?;
    match q.scope.as_deref() {
        None => Ok(HttpResponse::Ok().json(service::list(&state.db, page).await?)),
        Some("mine") => {
            let staff = CurrentStaff::of(&req).await?;
            Ok(HttpResponse::Ok().json(service::list_for_staff(&state.db, &staff, page).await?))
        }
        Some(_) => Err(ApiError::field(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "scope",
            "scope 只能是 mine",
        )),
    }
}

/// One published open day with each slot's `seats_left` (at most a second or two old). Public;
/// staff of its org unit (and administrators) also see drafts.
#[utoipa::path(get, path = "/api/v1/open-days/{id}", tag = "open-days",
    params(("id" = Uuid, Path)),
    security((), ("bearer" = [])),
    responses(
        (status = 200, body = OpenDayView),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`open_day_not_found`"),
    ))]
async fn get_open_day(
    staff: Option<CurrentStaff>,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let view = service::detail(&state, id.into_inner(), staff.as_ref()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Replaces an open day's description and slots. A slot named by `id` changes; its capacity
/// never drops below the seats taken (409 `capacity_below_taken`, with `taken`).
#[utoipa::path(put, path = "/api/v1/open-days/{id}", tag = "open-days",
    params(("id" = Uuid, Path)),
    request_body = OpenDayFields,
    security(("bearer" = [])),
    responses(
        (status = 200, body = OpenDayView),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`open_day_not_found`"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`capacity_below_taken`, `slot_has_reservations`, `open_day_cancelled`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`validation_failed`, `slot_unknown`"),
    ))]
async fn update_open_day(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ApiJson<OpenDayFields>,
) -> ApiResult<HttpResponse> {
    let view = service::update(&state, &staff, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Publishes a draft: residents see it and may book once booking opens.
#[utoipa::path(post, path = "/api/v1/open-days/{id}/publish", tag = "open-days",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OpenDayView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`open_day_cancelled`"),
    ))]
async fn publish_open_day(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::publish(&state, &staff, id.into_inner()).await?))
}

/// Calls an open day off: every active reservation is cancelled and its resident notified.
#[utoipa::path(post, path = "/api/v1/open-days/{id}/cancel", tag = "open-days",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OpenDayView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`open_day_cancelled`"),
    ))]
async fn cancel_open_day(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::cancel_event(&state, &staff, id.into_inner()).await?))
}

/// Books seats in a slot. Send an `Idempotency-Key`: a retry answers the same reservation.
/// With `waitlist: true` a full slot puts the party on its waitlist (`status: waitlisted`).
/// `booking_suspended` carries `lifts_at` (RFC 3339), `booking_not_open` `booking_opens_at`.
#[utoipa::path(post, path = "/api/v1/open-days/{id}/reservations", tag = "open-days",
    params(("id" = Uuid, Path)),
    request_body = ReserveRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, body = ReservationView),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`booking_suspended` (with `lifts_at`), `resident_only`"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`open_day_not_found`"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`slot_full`, `booking_not_open`, `booking_closed`, `slot_ended`, `already_reserved`, `open_day_cancelled`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`party_too_large`, `consent_required`, `slot_unknown`, `validation_failed`"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "`rate_limited`"),
    ))]
async fn reserve(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ApiJson<ReserveRequest>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let key = idempotency::deferred(&req);
    let turn = req.extensions_mut().remove::<super::guard::Turn>();
    // On the pools' runtime: in a release minute the HTTP workers are busy reading and
    // parking thousands of attempts, and each round trip of a winner would wait behind them
    // for its turn. The booking also completes when its client goes away meanwhile, its key
    // recorded with the answer for the retry.
    let state = state.into_inner();
    let runtime = state.runtime.clone();
    let (open_day, body) = (id.into_inner(), body.into_inner());
    let booking = crate::telemetry::in_this_request(async move {
        service::reserve(&state, who.id, open_day, body, key.as_ref(), turn).await
    });
    let reserved = runtime
        .spawn(booking)
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("booking task: {e}")))??;
    Ok(match reserved {
        service::Reserved::Created { body, key_recorded } => {
            idempotency::created(body, key_recorded)
        }
        // The idempotency middleware answers for the key in its place.
        service::Reserved::KeyHeld => idempotency::key_held(),
    })
}

/// Cancels one's own reservation before the cutoff; its seats are free at once and the
/// slot's waitlist moves up.
#[utoipa::path(delete, path = "/api/v1/reservations/{id}", tag = "open-days",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`reservation_not_found`"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`cancel_cutoff_passed`, `already_cancelled`, `reservation_closed`"),
    ))]
async fn cancel_reservation(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    service::cancel_reservation(&state, who.id, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in resident's reservations, newest first.
#[utoipa::path(get, path = "/api/v1/me/reservations", tag = "open-days",
    params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = Page<ReservationView>)))]
async fn my_reservations(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageRequest::try_from(&query.into_inner())?;
    Ok(HttpResponse::Ok().json(service::mine(&state, who.id, page).await?))
}

/// Checks a visitor in by verification code or scanned QR payload.
#[utoipa::path(post, path = "/api/v1/open-days/{id}/check-ins", tag = "open-days",
    params(("id" = Uuid, Path)),
    request_body = CheckInRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = CheckInView),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "`org_unit_forbidden`"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`reservation_not_found` (unknown code), `open_day_not_found`"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`wrong_event`, `reservation_cancelled`, `already_checked_in`, `reservation_not_confirmed`, `outside_slot_window`"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`qr_invalid`"),
    ))]
async fn check_in(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ApiJson<CheckInRequest>,
) -> ApiResult<HttpResponse> {
    let view = service::check_in(&state, &staff, id.into_inner(), &body.into_inner().code).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Visitors of one slot, masked.
#[utoipa::path(get, path = "/api/v1/open-days/{id}/slots/{slot_id}/visitors", tag = "open-days",
    params(("id" = Uuid, Path), ("slot_id" = Uuid, Path), ListQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<VisitorView>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`open_day_not_found`, `slot_not_found`"),
    ))]
async fn visitors(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let (id, slot_id) = path.into_inner();
    let page = PageRequest::try_from(&query.into_inner())?;
    Ok(HttpResponse::Ok().json(service::visitors(&state, &staff, id, slot_id, page).await?))
}

/// The visitors of one slot as an XLSX workbook (masked), for the door or the archive.
#[utoipa::path(get, path = "/api/v1/open-days/{id}/slots/{slot_id}/visitors.xlsx", tag = "open-days",
    params(("id" = Uuid, Path), ("slot_id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`open_day_not_found`, `slot_not_found`"),
    ))]
async fn export_visitors(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (id, slot_id) = path.into_inner();
    let (name, bytes) = service::export_visitors(&state, &staff, id, slot_id).await?;
    Ok(HttpResponse::Ok()
        .content_type(XLSX)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .body(bytes))
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Shows a visitor's name or phone in full; written to the audit log with the reason.
#[utoipa::path(post, path = "/api/v1/open-days/{id}/reservations/{reservation_id}/reveal", tag = "open-days",
    params(("id" = Uuid, Path), ("reservation_id" = Uuid, Path)),
    request_body = RevealVisitorRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = RevealedVisitorValue),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`reservation_not_found`, `personal_data_absent`"),
    ))]
async fn reveal_visitor(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    body: ApiJson<RevealVisitorRequest>,
) -> ApiResult<HttpResponse> {
    let (id, rid) = path.into_inner();
    let v = service::reveal(&state, &staff, id, rid, &body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Slot utilisation and the no-show rate of an open day.
#[utoipa::path(get, path = "/api/v1/open-days/{id}/stats", tag = "open-days",
    params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = OpenDayStats),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn open_day_stats(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::stats(&state, &staff, id.into_inner()).await?))
}
