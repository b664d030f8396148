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
    document_common_errors(&mut doc);
    doc
}

/// The answers every operation can give besides its own: what actix and the shared
/// extractors send before a handler runs (bad input, missing or refused token, oversized
/// or non-JSON body) and an unreachable database. Added here once, so that an operation's
/// own annotation lists only what is particular to it and none is left undocumented.
fn document_common_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

    let problem = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    crate::error::PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build(),
        )
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let operational = matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics");
        let has_path_params = path.contains('{');
        let operations = [
            (&mut item.get, false),
            (&mut item.put, true),
            (&mut item.post, true),
            (&mut item.delete, false),
            (&mut item.patch, true),
        ];
        for (op, may_have_body) in operations {
            let Some(op) = op.as_mut() else { continue };
            let signed_in = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let has_body = may_have_body && (op.request_body.is_some() || signed_in);
            let mut add = |code: &str, description: &str| {
                op.responses
                    .responses
                    .entry(code.to_owned())
                    .or_insert_with(|| problem(description));
            };
            if has_params || has_path_params || has_body {
                add(
                    "400",
                    "`invalid_query`, `invalid_path_parameter`, `invalid_json`, `invalid_idempotency_key`",
                );
            }
            if signed_in {
                add(
                    "401",
                    "`token_missing`, `token_invalid`, `token_expired`, `token_revoked`",
                );
                add(
                    "403",
                    "`resident_only`, `staff_only`, `admin_only`, `org_unit_forbidden`",
                );
            }
            if has_path_params {
                add("404", "not found");
            }
            if has_body {
                add("413", "`payload_too_large`");
                add("415", "`unsupported_media_type`");
                add(
                    "422",
                    "`invalid_field`, `validation_failed`, `idempotency_key_reused`",
                );
            }
            if !operational {
                add("503", "`database_unavailable`: retry later");
            }
        }
    }
}

/// The document as `/openapi.json` serves it: compact JSON, rendered once per process. Each
/// worker keeping a document of its own (as `SwaggerUi::url` does, one clone per App) held
/// some 7 MB apiece, most of an idle instance's heap.
pub async fn serve() -> actix_web::HttpResponse {
    static JSON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let json = JSON.get_or_init(|| {
        document()
            .to_json()
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    });
    actix_web::HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(json.as_str())
}

/// The document as committed: pretty JSON with a trailing newline.
pub fn to_pretty_json() -> String {
    let mut s = document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
