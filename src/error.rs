//! The one error type of the API, rendered as `application/problem+json` (RFC 9457) with a
//! stable snake_case `code`, a Chinese `detail` for the person, the `request_id`, and for input
//! errors the fields at fault. 5xx bodies say nothing internal; the cause goes to the log.

use std::borrow::Cow;

use actix_web::{
    HttpResponse, ResponseError,
    http::{StatusCode, header},
};
use sea_orm::{DbErr, RuntimeErr, SqlErr, SqlxError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::telemetry::current_request_id;

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The field at fault, as a path into the request (`slots[0].capacity`), or a query or
    /// path parameter name.
    pub field: String,
    /// What is wrong with it, in Chinese.
    pub message: String,
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable, machine-readable: clients switch on it, never on `detail`.
    pub code: String,
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Extension members particular to one `code` (RFC 9457 §3.2), e.g. `current_version`.
    #[serde(flatten, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schema(value_type = Object)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: Cow<'static, str>,
    detail: String,
    errors: Vec<FieldError>,
    retry_after_secs: Option<u64>,
    /// Boxed: most errors have none, and `ApiError` stays small.
    extensions: Option<Box<serde_json::Map<String, serde_json::Value>>>,
    cause: Option<anyhow::Error>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code: Cow::Borrowed(code),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after_secs: None,
            extensions: None,
            cause: None,
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }
    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
    }
    pub fn forbidden(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, detail)
    }
    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }
    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }
    pub fn unavailable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail)
    }

    /// Input that parsed but breaks a rule: 422 `validation_failed` naming each field.
    pub fn validation(mut errors: Vec<FieldError>) -> Self {
        errors.sort_by(|a, b| a.field.cmp(&b.field));
        Self {
            errors,
            ..Self::unprocessable("validation_failed", "提交的内容有误，请按提示修改后重试")
        }
    }

    /// One field at fault, with its own code.
    pub fn field(
        status: StatusCode,
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        let message = message.into();
        Self {
            errors: vec![FieldError {
                field: field.into(),
                message: message.clone(),
            }],
            ..Self::new(status, code, message)
        }
    }

    /// Something went wrong on our side. The cause is logged, never shown. A database that
    /// cannot be reached is told apart: it is 503 `database_unavailable`, which a client may
    /// retry, wherever in a use case the failure surfaced.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        let cause = cause.into();
        if cause
            .chain()
            .any(|c| c.downcast_ref::<DbErr>().is_some_and(is_unreachable))
        {
            return Self {
                cause: Some(cause),
                ..Self::unavailable("database_unavailable", "服务暂时不可用，请稍后再试")
            };
        }
        Self {
            cause: Some(cause),
            ..Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "服务器开小差了，请稍后再试",
            )
        }
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// Adds an extension member to the problem body.
    pub fn with_extension(mut self, key: &str, value: serde_json::Value) -> Self {
        self.extensions
            .get_or_insert_with(Box::default)
            .insert(key.to_owned(), value);
        self
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message for people (zh-CN); opaque for 5xx like the problem body.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    pub fn field_errors(&self) -> &[FieldError] {
        &self.errors
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.code)?;
        if let Some(cause) = &self.cause {
            write!(f, ": {cause:#}")?;
        }
        Ok(())
    }
}

impl From<DbErr> for ApiError {
    fn from(e: DbErr) -> Self {
        Self::internal(e)
    }
}

/// True when the database could not be reached at all (no connection within the acquire
/// timeout, a refused or dropped connection, a server shutting down or gone), as opposed to
/// a statement it refused.
pub fn is_unreachable(e: &DbErr) -> bool {
    match e {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                SqlxError::Io(_)
                | SqlxError::Tls(_)
                | SqlxError::Protocol(_)
                | SqlxError::PoolTimedOut
                | SqlxError::PoolClosed
                | SqlxError::WorkerCrashed => true,
                // 08: connection exception; 57P01-03: shutting down / cannot connect now;
                // 3D000: the database does not exist (dropped under us).
                SqlxError::Database(d) => d
                    .code()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "3D000"),
                _ => false,
            }
        }
        _ => false,
    }
}

/// True when the database refused a row because a unique constraint already holds it.
pub fn is_unique_violation(e: &DbErr) -> bool {
    matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// A short Chinese title per status, for `title`.
pub fn title_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "请求有误",
        401 => "需要登录",
        403 => "没有权限",
        404 => "未找到",
        405 => "不支持的请求方法",
        409 => "与当前状态冲突",
        413 => "提交的内容过大",
        415 => "不支持的内容类型",
        422 => "提交的内容有误",
        423 => "账号已锁定",
        429 => "请求过于频繁",
        503 => "服务暂时不可用",
        s if s >= 500 => "服务器错误",
        _ => "请求失败",
    }
}

/// The problem body for statuses that actix produces by itself (unknown route, wrong method,
/// oversized body) or that escaped without one.
pub fn generic_for(status: StatusCode) -> ApiError {
    let (code, detail) = match status.as_u16() {
        400 => ("bad_request", "请求有误"),
        401 => ("unauthorized", "请先登录"),
        403 => ("forbidden", "没有权限执行此操作"),
        404 => ("not_found", "请求的资源不存在"),
        405 => ("method_not_allowed", "该地址不支持此请求方法"),
        408 => ("request_timeout", "请求超时，请重试"),
        413 => ("payload_too_large", "提交的内容过大"),
        415 => ("unsupported_media_type", "请以 JSON 格式提交"),
        429 => ("too_many_requests", "请求过于频繁，请稍后再试"),
        503 => ("service_unavailable", "服务暂时不可用，请稍后再试"),
        s if s >= 500 => ("internal_error", "服务器开小差了，请稍后再试"),
        _ => ("request_failed", "请求失败"),
    };
    ApiError::new(status, code, detail)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let request_id = current_request_id();
        if self.status.is_server_error() {
            match &self.cause {
                Some(cause) => tracing::error!(code = %self.code, error = ?cause, "request failed"),
                None => tracing::error!(code = %self.code, "request failed"),
            }
        }
        let problem = Problem {
            type_: format!("urn:canyu:problem:{}", self.code),
            title: title_for(self.status).to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_string(),
            request_id,
            errors: self.errors.clone(),
            extensions: self.extensions.as_deref().cloned().unwrap_or_default(),
        };
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            let error = if !self.code.starts_with("token_") || self.code == "token_missing" {
                "Bearer realm=\"canyu\"".to_owned()
            } else {
                format!(
                    "Bearer realm=\"canyu\", error=\"invalid_token\", error_description=\"{}\"",
                    self.code
                )
            };
            res.insert_header((header::WWW_AUTHENTICATE, error));
        }
        if let Some(secs) = self.retry_after_secs {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        match serde_json::to_vec(&problem) {
            Ok(body) => res.body(body),
            Err(_) => res.finish(),
        }
    }
}
