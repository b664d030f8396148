//! Input at the edge: a JSON extractor that names the field at fault and runs the DTO's
//! `validator` rules, and the configs that turn actix's own path/query errors into problems.

use std::{borrow::Cow, future::Future, pin::Pin};

use actix_web::{
    FromRequest, HttpMessage, HttpRequest,
    dev::{Payload, ServiceRequest},
    error::{JsonPayloadError, PathError, PayloadError, QueryPayloadError},
    http::{StatusCode, header},
    web,
};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::error::{ApiError, FieldError};

/// `web::Json` with problem+json errors: malformed JSON is 400 `invalid_json`; a wrong type,
/// an unknown enum value or a missing field is 422 naming the field; then the DTO's own rules.
pub struct ApiJson<T>(pub T);

impl<T> ApiJson<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| {
            let v = v.trim().to_ascii_lowercase();
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        })
        .unwrap_or(false)
}

impl<T: DeserializeOwned + Validate + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "请以 JSON 格式提交（Content-Type: application/json）",
                ));
            }
            let bytes = body.await.map_err(|e| match e.as_error::<PayloadError>() {
                Some(PayloadError::Overflow) => payload_too_large(),
                _ => ApiError::bad_request("invalid_body", "请求内容无法读取，请重试"),
            })?;
            let value = parse_json::<T>(&bytes)?;
            value.validate().map_err(validation_error)?;
            Ok(ApiJson(value))
        })
    }
}

/// 413 `payload_too_large`, for everything that reads a body.
pub fn payload_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "提交的内容过大",
    )
}

/// Buffers a body for middleware that must read it before the handler does (which then reads
/// it again from `set_payload`): within the configured limit, 413 beyond it as the extractors
/// would.
pub async fn buffer_body(req: &mut ServiceRequest, limit: usize) -> Result<web::Bytes, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(payload_too_large());
    }
    let mut payload = req.take_payload();
    let mut buf = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| ApiError::bad_request("invalid_body", "请求内容无法读取，请重试"))?;
        if buf.len() + chunk.len() > limit {
            return Err(payload_too_large());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Deserialises `bytes`, naming the field at fault on failure.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Tracking the path costs every body a wrapper around each value it reads; only a body
    // that fails needs it, to name its field, and reading that one twice costs nothing much.
    serde_json::from_slice(bytes).or_else(|_| parse_json_tracked(bytes))
}

fn parse_json_tracked<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() || inner.is_io() {
            return ApiError::bad_request("invalid_json", "请求内容不是有效的 JSON");
        }
        let (field, message) = describe_data_error(&path, &inner.to_string());
        ApiError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            field,
            message,
        )
    })?;
    de.end()
        .map_err(|_| ApiError::bad_request("invalid_json", "请求内容不是有效的 JSON"))?;
    Ok(value)
}

/// Turns serde's English message into a field path and a Chinese message.
fn describe_data_error(path: &str, msg: &str) -> (String, String) {
    let base = if path == "." { "" } else { path };
    let backticked = msg.split('`').nth(1).unwrap_or_default();
    let join = |name: &str| {
        if base.is_empty() {
            name.to_owned()
        } else {
            format!("{base}.{name}")
        }
    };
    if msg.starts_with("missing field") {
        (join(backticked), "缺少必填字段".to_owned())
    } else if msg.starts_with("unknown field") {
        // serde_path_to_error's path already ends at the unknown field.
        let field = if base.is_empty() {
            backticked.to_owned()
        } else {
            base.to_owned()
        };
        (field, "不支持的字段".to_owned())
    } else if msg.starts_with("unknown variant") {
        (base.to_owned(), "取值不在允许的范围内".to_owned())
    } else if msg.starts_with("invalid type") {
        (base.to_owned(), "字段类型不正确".to_owned())
    } else if msg.starts_with("invalid length") {
        (base.to_owned(), "长度不正确".to_owned())
    } else {
        (base.to_owned(), "取值不正确".to_owned())
    }
}

/// Flattens validator's nested errors into `field.path: message` pairs.
pub fn validation_error(errors: ValidationErrors) -> ApiError {
    let mut out = Vec::new();
    flatten(&errors, "", &mut out);
    ApiError::validation(out)
}

fn flatten(errors: &ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                for e in list {
                    let message = e
                        .message
                        .clone()
                        .unwrap_or(Cow::Borrowed("取值不正确"))
                        .into_owned();
                    out.push(FieldError {
                        field: path.clone(),
                        message,
                    });
                }
            }
            ValidationErrorsKind::Struct(inner) => flatten(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    flatten(inner, &format!("{path}[{i}]"), out);
                }
            }
        }
    }
}

/// actix's own extractor errors, in the same shape.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, req| {
        let field = req
            .match_info()
            .iter()
            .next()
            .map(|(k, _)| k.to_owned())
            .unwrap_or_else(|| "id".to_owned());
        let _: &PathError = &err;
        ApiError::field(
            StatusCode::BAD_REQUEST,
            "invalid_path_parameter",
            field,
            "地址中的编号格式不正确",
        )
        .into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| {
        let msg = match &err {
            QueryPayloadError::Deserialize(e) => e.to_string(),
            _ => String::new(),
        };
        let (field, message) = describe_data_error("", &msg);
        let field = if field.is_empty() {
            "query".to_owned()
        } else {
            field
        };
        ApiError::field(StatusCode::BAD_REQUEST, "invalid_query", field, message).into()
    })
}

/// For `web::Json` used anywhere by mistake: the same answers as [`ApiJson`].
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _| match err {
            JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
                payload_too_large().into()
            }
            JsonPayloadError::ContentType => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "请以 JSON 格式提交（Content-Type: application/json）",
            )
            .into(),
            _ => ApiError::bad_request("invalid_json", "请求内容不是有效的 JSON").into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Slot {
        capacity: u32,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        slots: Vec<Slot>,
    }

    #[test]
    fn a_wrong_type_deep_inside_names_its_path() {
        let err =
            parse_json::<Body>(br#"{"slots":[{"capacity":1},{"capacity":"x"}]}"#).unwrap_err();
        assert_eq!(err.code(), "invalid_field");
        assert_eq!(err.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let s = format!("{err:?}");
        assert!(s.contains("slots[1].capacity"), "{s}");
    }

    #[test]
    fn a_missing_field_is_named() {
        let err = parse_json::<Body>(br#"{"slots":[{}]}"#).unwrap_err();
        let s = format!("{err:?}");
        assert!(s.contains("slots[0].capacity"), "{s}");
    }

    #[test]
    fn trailing_garbage_is_malformed_json() {
        let err = parse_json::<Body>(br#"{"slots":[]} x"#).unwrap_err();
        assert_eq!(err.code(), "invalid_json");
    }
}
