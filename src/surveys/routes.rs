use actix_web::{
    HttpRequest, HttpResponse,
    http::header::{self, HeaderName, HeaderValue},
    web,
};
use utoipa::OpenApi;
use uuid::Uuid;

use super::{
    domain::{ChoiceOption, Page as SurveyPage, Question, QuestionKind, Row, TextFormat},
    dto::{
        ExportFormat, ExportQuery, MyResponse, PublishedSurvey, ResponseView, ResultsQuery,
        StaffSurveyView, SubmitRequest, SubmittedResponse, SurveyBody, SurveyForCaller,
        SurveyListQuery, SurveyStatus, SurveySummary,
    },
    hot::Source,
    results::{
        DayCount, GroupResult, Nps, NumberStats, OptionCount, QuestionResult, RankResult, Results,
        RowResult, ValueCount,
    },
    service,
};
use crate::{
    auth::{CurrentResident, CurrentStaff, Identity, Role},
    error::{ApiResult, Problem},
    extract::ApiJson,
    idempotency,
    pagination::{ListQuery, Page, PageRequest},
    state::AppState,
};

#[derive(OpenApi)]
#[openapi(
    paths(list_surveys, create_survey, get_survey, update_survey, delete_survey, publish_survey,
          close_survey, submit_response, my_responses, survey_results, list_responses,
          export_responses, results_chart),
    components(schemas(SurveyBody, PublishedSurvey, StaffSurveyView, SurveyForCaller, SurveySummary, SurveyStatus,
        SubmitRequest, SubmittedResponse, MyResponse, Page<SurveySummary>, SurveyPage, Question,
        QuestionKind, ChoiceOption, Row, TextFormat, ResponseView, Page<ResponseView>, ExportFormat,
        Results, QuestionResult, OptionCount, NumberStats, ValueCount, Nps, RowResult, RankResult,
        DayCount, GroupResult))
)]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1/surveys")
            .service(web::resource("").get(list_surveys).post(create_survey))
            .service(
                web::resource("/{id}")
                    .get(get_survey)
                    .put(update_survey)
                    .delete(delete_survey),
            )
            .service(web::resource("/{id}/publish").post(publish_survey))
            .service(web::resource("/{id}/close").post(close_survey))
            .service(
                web::resource("/{id}/responses")
                    .post(submit_response)
                    .get(list_responses),
            )
            .service(web::resource("/{id}/results").get(survey_results))
            .service(web::resource("/{id}/results/charts/{question_id}.svg").get(results_chart))
            .service(web::resource("/{id}/export").get(export_responses)),
    )
    .service(web::resource("/api/v1/me/responses").get(my_responses));
}

fn page_of(q: &SurveyListQuery) -> ApiResult<PageRequest> {
    PageRequest::try_from(&ListQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    })
}

/// Residents: open surveys for their sub-district, newest first. Staff: `?scope=mine` lists
/// their org unit's surveys (all for administrators).
#[utoipa::path(get, path = "/api/v1/surveys", tag = "surveys", security(("bearer" = [])),
    params(SurveyListQuery),
    responses((status = 200, body = Page<SurveySummary>),
              (status = 401, body = Problem, content_type = "application/problem+json")))]
async fn list_surveys(
    who: Identity,
    state: web::Data<AppState>,
    query: web::Query<SurveyListQuery>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let page = page_of(&query)?;
    if query.scope.as_deref().is_some_and(|s| s != "mine") {
        return Err(crate::error::ApiError::field(
            actix_web::http::StatusCode::BAD_REQUEST,
            "invalid_query",
            "scope",
            "scope 只能是 mine",
        ));
    }
    if who.role == Role::Resident {
        return Ok(HttpResponse::Ok().json(service::list_for_resident(&state, &who, page).await?));
    }
    let staff = CurrentStaff::of(&req).await?;
    Ok(HttpResponse::Ok().json(service::list_for_staff(&state, &staff, page).await?))
}

/// Creates a draft survey.
#[utoipa::path(post, path = "/api/v1/surveys", tag = "surveys", security(("bearer" = [])),
    request_body = SurveyBody,
    responses((status = 201, body = StaffSurveyView),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn create_survey(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    body: ApiJson<SurveyBody>,
) -> ApiResult<HttpResponse> {
    let view = service::create(&state, &staff, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(view))
}

/// Staff: the survey with its draft. Residents: the current published version (cached; sends
/// an `ETag` and answers `304` to a matching `If-None-Match`).
#[utoipa::path(get, path = "/api/v1/surveys/{id}", tag = "surveys", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = SurveyForCaller, description = "residents get the published version, staff their working view"),
              (status = 304, description = "not modified"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
async fn get_survey(
    who: Identity,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    if who.role != Role::Resident {
        // Boxed, as the residents' loading is: the staff view's future stays out of theirs.
        let view = Box::pin(async {
            let staff = CurrentStaff::of(&req).await?;
            service::get_for_staff(&state, &staff, id).await
        })
        .await?;
        return Ok(HttpResponse::Ok().json(SurveyForCaller::Staff(view)));
    }
    let (view, source) = service::resident_view(&state, id).await?;
    // Either tag names this version: whichever representation the phone kept is current.
    let kept = req.headers().get(header::IF_NONE_MATCH).is_some_and(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .map(|t| {
                let t = t.trim_ascii();
                t.strip_prefix(b"W/").unwrap_or(t)
            })
            .any(|t| t == b"*" || t == view.etag.as_bytes() || t == view.gzip_etag.as_bytes())
    });
    let gzip = accepts_gzip(req.headers());
    let (body, etag) = if gzip {
        (view.gzip, view.gzip_etag)
    } else {
        (view.body, view.etag)
    };
    // Static header values: parsed and copied once, not per request.
    let vary = (header::VARY, HeaderValue::from_static("accept-encoding"));
    if kept {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header(vary)
            .finish());
    }
    let mut res = HttpResponse::Ok();
    res.content_type(HeaderValue::from_static("application/json"))
        .insert_header((header::ETAG, etag))
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        ))
        .insert_header(vary)
        .insert_header((
            HeaderName::from_static("x-cache"),
            HeaderValue::from_static(if source == Source::Cache {
                "hit"
            } else {
                "miss"
            }),
        ));
    if gzip {
        res.insert_header((header::CONTENT_ENCODING, HeaderValue::from_static("gzip")));
    }
    Ok(res.body(body))
}

/// Whether `Accept-Encoding` takes gzip (RFC 9110, 12.5.3): named (or as `x-gzip`), or else
/// covered by `*`, with a weight above zero. Without the header, the JSON goes as it is.
fn accepts_gzip(headers: &header::HeaderMap) -> bool {
    // On bytes: every questionnaire GET asks, and a coding or a weight is plain ASCII.
    let mut any = false;
    for item in headers
        .get_all(header::ACCEPT_ENCODING)
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
    {
        let mut parts = item.split(|&b| b == b';');
        let coding = parts.next().unwrap_or_default().trim_ascii();
        let weighted = parts.map(<[u8]>::trim_ascii).find_map(|p| {
            p.strip_prefix(b"q=")
                .or_else(|| p.strip_prefix(b"Q="))
                .map(|q| {
                    std::str::from_utf8(q.trim_ascii())
                        .ok()
                        .and_then(|q| q.parse::<f32>().ok())
                        .is_some_and(|q| q > 0.0)
                })
        });
        let takes = weighted.unwrap_or(true);
        if coding.eq_ignore_ascii_case(b"gzip") || coding.eq_ignore_ascii_case(b"x-gzip") {
            return takes;
        }
        if coding == b"*" {
            any = takes;
        }
    }
    any
}

/// Replaces the draft; for a published survey this prepares the next version.
#[utoipa::path(put, path = "/api/v1/surveys/{id}", tag = "surveys", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = SurveyBody,
    responses((status = 200, body = StaffSurveyView),
              (status = 409, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn update_survey(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ApiJson<SurveyBody>,
) -> ApiResult<HttpResponse> {
    let view = service::update(&state, &staff, id.into_inner(), body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Deletes a survey that nobody has answered.
#[utoipa::path(delete, path = "/api/v1/surveys/{id}", tag = "surveys", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 204),
              (status = 409, body = Problem, content_type = "application/problem+json", description = "`survey_has_responses`")))]
async fn delete_survey(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    service::delete(&state, &staff, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Checks the draft and publishes it as the next version.
#[utoipa::path(post, path = "/api/v1/surveys/{id}/publish", tag = "surveys", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = StaffSurveyView),
              (status = 422, body = Problem, content_type = "application/problem+json", description = "`survey_definition_invalid`, naming each question and field")))]
async fn publish_survey(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::publish(&state, &staff, id.into_inner()).await?))
}

/// Closes a survey to further answers.
#[utoipa::path(post, path = "/api/v1/surveys/{id}/close", tag = "surveys", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = StaffSurveyView),
              (status = 409, body = Problem, content_type = "application/problem+json")))]
async fn close_survey(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::close(&state, &staff, id.into_inner()).await?))
}

/// A resident answers. The server replays the questionnaire: all problems come back at once
/// (422, `errors[].field` = question id). Send an `Idempotency-Key` so retries are safe.
#[utoipa::path(post, path = "/api/v1/surveys/{id}/responses", tag = "surveys", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = SubmitRequest,
    responses((status = 201, body = SubmittedResponse),
              (status = 403, body = Problem, content_type = "application/problem+json", description = "`not_in_audience`"),
              (status = 409, body = Problem, content_type = "application/problem+json", description = "`survey_closed`, `already_answered`, `survey_full`, `survey_version_changed` (with `current_version`)"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
async fn submit_response(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: ApiJson<SubmitRequest>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let key = idempotency::deferred(&req);
    let done = service::submit(&state, &who, id.into_inner(), body.into_inner(), key).await?;
    Ok(match done {
        service::Submitted::Stored {
            receipt,
            key_recorded,
        } => idempotency::created(receipt, key_recorded),
        // The idempotency middleware answers for the key in its place.
        service::Submitted::KeyHeld => idempotency::key_held(),
    })
}

/// The surveys the resident answered, with their answers unless anonymous.
#[utoipa::path(get, path = "/api/v1/me/responses", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = Vec<MyResponse>)))]
async fn my_responses(
    CurrentResident(who): CurrentResident,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(service::my_responses(&state, who.id).await?))
}

/// Results across all versions: per option counts and shares, number and scale statistics,
/// NPS, matrix rows, ranking positions; `?group_by=` for the cross-tab. Live (a few seconds).
#[utoipa::path(get, path = "/api/v1/surveys/{id}/results", tag = "surveys", security(("bearer" = [])),
    params(("id" = Uuid, Path), ResultsQuery),
    responses((status = 200, body = Results),
              (status = 400, body = Problem, content_type = "application/problem+json"),
              (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn survey_results(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<ResultsQuery>,
) -> ApiResult<HttpResponse> {
    let results =
        service::results(&state, &staff, id.into_inner(), query.group_by.as_deref()).await?;
    Ok(HttpResponse::Ok().json(results))
}

/// The responses, a page at a time (for reading text answers).
#[utoipa::path(get, path = "/api/v1/surveys/{id}/responses", tag = "surveys", security(("bearer" = [])),
    params(("id" = Uuid, Path), ListQuery),
    responses((status = 200, body = Page<ResponseView>),
              (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn list_responses(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let page = PageRequest::try_from(&*query)?;
    Ok(HttpResponse::Ok().json(service::responses(&state, &staff, id.into_inner(), page).await?))
}

/// Every response as CSV (UTF-8 with BOM) or XLSX, streamed: one row per response, one
/// column per question (multi-choice: one per option), labels and codes.
#[utoipa::path(get, path = "/api/v1/surveys/{id}/export", tag = "surveys", security(("bearer" = [])),
    params(("id" = Uuid, Path), ExportQuery),
    responses((status = 200, description = "CSV or XLSX, as `format` asks", content(
                  (String = "text/csv"),
                  (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
              (status = 403, body = Problem, content_type = "application/problem+json")))]
async fn export_responses(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    export_http(&state, &staff, id.into_inner(), query.format).await
}

/// The export as an HTTP answer, shared by the API and the staff console.
pub async fn export_http(
    state: &AppState,
    staff: &CurrentStaff,
    id: Uuid,
    format: ExportFormat,
) -> ApiResult<HttpResponse> {
    let plan = service::export_plan(state, staff, id).await?;
    let filename = format!("survey-{}", plan.survey_id);
    match format {
        ExportFormat::Csv => Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}.csv\""),
            ))
            .streaming(super::stream::csv(state.db.clone(), plan))),
        ExportFormat::Xlsx => {
            let body = super::stream::xlsx(state.db.clone(), plan).await?;
            Ok(HttpResponse::Ok()
                .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
                .insert_header((
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}.xlsx\""),
                ))
                .streaming(body))
        }
    }
}

/// One question's results as an SVG chart (bars per option, distribution of numbers and
/// scales, NPS groups, matrix rows, ranking), for reports and the mini-program.
#[utoipa::path(get, path = "/api/v1/surveys/{id}/results/charts/{question_id}.svg", tag = "surveys",
    security(("bearer" = [])),
    params(("id" = Uuid, Path), ("question_id" = String, Path)),
    responses((status = 200, content_type = "image/svg+xml", body = String),
              (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json", description = "`question_not_found`, or `chart_unavailable` for text, date and region questions")))]
async fn results_chart(
    staff: CurrentStaff,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, String)>,
) -> ApiResult<HttpResponse> {
    let (id, question_id) = path.into_inner();
    let svg = service::chart(&state, &staff, id, &question_id).await?;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .insert_header((header::CACHE_CONTROL, "private, max-age=5"))
        .body(svg))
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn takes(value: &str) -> bool {
        let req = TestRequest::default()
            .insert_header((header::ACCEPT_ENCODING, value))
            .to_http_request();
        accepts_gzip(req.headers())
    }

    #[test]
    fn gzip_is_sent_to_whoever_asks_for_it_with_a_weight_above_zero() {
        assert!(takes("gzip"));
        assert!(takes("gzip, deflate, br"));
        assert!(takes("br;q=1.0, GZIP;q=0.5"));
        assert!(takes("x-gzip"));
        assert!(takes("*"));
        assert!(!takes("identity"));
        assert!(!takes("gzip;q=0"));
        assert!(!takes("gzip;q=0.000, *"));
        assert!(!takes("*;q=0"));
        assert!(!takes("gzip;q=lots"));
        assert!(!accepts_gzip(
            TestRequest::default().to_http_request().headers()
        ));
    }
}
