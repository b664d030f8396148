//! The OpenAPI 3.1 document, assembled from each module's own `ApiDoc`. Committed at
//! `openapi/openapi.json`; a test fails when the code and the file drift apart.

use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use crate::error::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "canyu 参与",
        description = "西城区居民参与平台（问卷、基层议事、特邀体验员、开放日）的后端接口。\n\n\
            Errors are `application/problem+json` with a stable `code`.\n\n\
            Any POST by a signed-in caller may carry `Idempotency-Key` (1 to 64 visible ASCII \
            characters, e.g. a UUID): a retry with the same key and the same request gets the \
            first answer again with `Idempotent-Replayed: true` and does nothing twice; while \
            the first still runs the answer is 409 `request_in_progress`; the same key with \
            another request is 422 `idempotency_key_reused`; an invalid key is 400 \
            `invalid_idempotency_key`. Keys live 24 hours.",
        version = "1.0.0"
    ),
    components(schemas(Problem, FieldError)),
    modifiers(&BearerAuth)
)]
struct Root;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .bearer_format("JWT")
                        .build(),
                ),
            );
        }
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = Root::openapi();
    doc.merge(crate::health::ApiDoc::openapi());
    doc.merge(crate::auth::ApiDoc::openapi());
    doc.merge(crate::accounts::ApiDoc::openapi());
    doc.merge(crate::org_units::ApiDoc::openapi());
    doc.merge(crate::audit::ApiDoc::openapi());
    doc.merge(crate::personal_data::ApiDoc::openapi());
    doc.merge(crate::notifications::ApiDoc::openapi());
    doc.merge(crate::surveys::ApiDoc::openapi());
    doc.merge(crate::open_days::ApiDoc::openapi());
    doc.merge(crate::deliberation::ApiDoc::openapi());
    doc.merge(crate::officers::ApiDoc::openapi());
    doc
}

/// The document as committed: pretty JSON with a trailing newline.
pub fn to_pretty_json() -> String {
    let mut s = document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
