use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths(privacy_notice), components(schemas(PrivacyNotice)))]
pub struct ApiDoc;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/privacy-notice").get(privacy_notice));
}

#[derive(Serialize, ToSchema)]
pub struct PrivacyNotice {
    /// The version a resident accepts when a form says `"consent": true`.
    pub version: String,
    pub summary: String,
}

/// The current privacy notice version, shown by the mini-program beside every form that
/// collects personal data.
#[utoipa::path(get, path = "/api/v1/privacy-notice", tag = "me",
    responses((status = 200, body = PrivacyNotice)))]
async fn privacy_notice(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(PrivacyNotice {
        version: state.settings.privacy_notice_version.clone(),
        summary: "西城区政府仅为办理您提交的事项收集必要的个人信息，加密保存，工作人员默认只能看到脱敏信息；\
                  您可以随时导出或删除您的个人信息。"
            .into(),
    })
}
