//! The staff console at `/console`: server-rendered pages in Chinese for the people who build
//! questionnaires, read results and run meetings at a desk. Served by the same binary, with its
//! scripts and stylesheet embedded, so it works on an intranet with no internet access.

mod officers;
mod routes;
mod session;
mod views;

use actix_web::{HttpResponse, http::header, web};

const CSS: &str = include_str!("assets/console.css");
const EDITOR_JS: &str = include_str!("assets/editor.js");
const DESK_JS: &str = include_str!("assets/desk.js");

fn asset(body: &'static str, content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header(("x-content-type-options", "nosniff"))
        .body(body)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/console")
            .service(web::resource("").get(routes::home))
            .service(web::resource("/").get(routes::home))
            .service(
                web::resource("/assets/console.css")
                    .get(|| async { asset(CSS, "text/css; charset=utf-8") }),
            )
            .service(
                web::resource("/assets/editor.js")
                    .get(|| async { asset(EDITOR_JS, "text/javascript; charset=utf-8") }),
            )
            .service(
                web::resource("/assets/desk.js")
                    .get(|| async { asset(DESK_JS, "text/javascript; charset=utf-8") }),
            )
            .service(
                web::resource("/login")
                    .get(routes::login_form)
                    .post(routes::login),
            )
            .service(web::resource("/logout").post(routes::logout))
            .service(
                web::resource("/surveys")
                    .get(routes::surveys_list)
                    .post(routes::create_survey),
            )
            .service(web::resource("/surveys/new").get(routes::new_survey))
            .service(web::resource("/surveys/{id}").get(routes::edit_survey))
            .service(web::resource("/surveys/{id}/draft").post(routes::save_draft))
            .service(web::resource("/surveys/{id}/publish").post(routes::publish_survey))
            .service(web::resource("/surveys/{id}/close").post(routes::close_survey))
            .service(web::resource("/surveys/{id}/results").get(routes::survey_results))
            .service(web::resource("/surveys/{id}/export").get(routes::export))
            .service(web::resource("/deliberations").get(routes::meetings))
            .service(
                web::resource("/deliberations/new")
                    .get(routes::new_meeting)
                    .post(routes::create_meeting),
            )
            .service(web::resource("/open-days").get(routes::open_days))
            .service(
                web::resource("/open-days/new")
                    .get(routes::new_open_day)
                    .post(routes::create_open_day),
            )
            .service(
                web::resource("/open-days/{id}/desk")
                    .get(routes::open_day_desk)
                    .post(routes::open_day_check_in),
            )
            .service(
                web::resource("/officers")
                    .get(officers::campaigns)
                    .post(officers::create_campaign),
            )
            .service(web::resource("/officers/{id}").get(officers::campaign))
            .service(web::resource("/officers/{id}/publish").post(officers::publish))
            .service(web::resource("/officers/{id}/close").post(officers::close))
            .service(web::resource("/officers/{id}/activities").post(officers::create_activity))
            .service(
                web::resource("/officers/{id}/applications/{application}/approve")
                    .post(officers::approve),
            )
            .service(
                web::resource("/officers/{id}/applications/{application}/reject")
                    .post(officers::reject),
            )
            .service(
                web::resource("/officers/{id}/roster/{officer}/end").post(officers::end_officer),
            )
            .service(
                web::resource("/officers/{id}/feedback/{feedback}/reply").post(officers::reply),
            )
            .service(
                web::resource("/open-days/{id}/edit")
                    .get(routes::edit_open_day)
                    .post(routes::update_open_day),
            )
            .service(web::resource("/open-days/{id}/cancel").post(routes::cancel_open_day))
            .service(web::resource("/deliberations/{id}/cancel").post(routes::cancel_meeting))
            .service(
                web::resource("/deliberations/{id}/edit")
                    .get(routes::edit_meeting)
                    .post(routes::update_meeting),
            )
            .service(web::resource("/admin").get(routes::admin))
            .service(web::resource("/admin/staff").post(routes::create_staff))
            .service(web::resource("/admin/staff/{id}/disabled").post(routes::set_staff_disabled))
            .service(web::resource("/deliberations/{id}/outcomes").post(routes::create_outcome))
            .service(web::resource("/outcomes").get(routes::outcomes))
            .service(web::resource("/outcomes/{id}").get(routes::outcome))
            .service(web::resource("/outcomes/{id}/progress").post(routes::add_progress))
            .service(
                web::resource("/deliberations/{id}/desk")
                    .get(routes::desk)
                    .post(routes::desk_check_in),
            ),
    );
}
