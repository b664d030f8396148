//! The console's session: the staff access token from the ordinary password login, kept in an
//! HttpOnly, SameSite=Strict cookie scoped to `/console`, so the same revocation, expiry and
//! disabled-account checks apply as for API callers. Forms that change data carry a CSRF token:
//! an HMAC (the data key's lookup hash) of the token's `jti`, so it needs no storage, differs
//! per session and dies with it.

use std::{future::Future, pin::Pin};

use actix_web::{
    FromRequest, HttpRequest, HttpResponse, ResponseError,
    dev::Payload,
    http::{StatusCode, header},
    web,
};

use super::views;
use crate::{
    auth::{CurrentStaff, Identity, identity_from_token, staff_of_identity},
    error::ApiError,
    state::AppState,
};

pub const COOKIE: &str = "canyu_console";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in staff member of the console, with the CSRF token of their session.
pub struct ConsoleStaff {
    pub staff: CurrentStaff,
    pub identity: Identity,
    pub csrf: String,
}

/// An error on a console page: a missing or ended session sends the browser to the login page;
/// anything else is a page in Chinese with the same status and message as the API's answer.
#[derive(Debug)]
pub struct ConsoleError(pub ApiError);

impl From<ApiError> for ConsoleError {
    fn from(e: ApiError) -> Self {
        Self(e)
    }
}

impl From<sea_orm::DbErr> for ConsoleError {
    fn from(e: sea_orm::DbErr) -> Self {
        Self(ApiError::from(e))
    }
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.code())
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        self.0.status()
    }

    fn error_response(&self) -> HttpResponse {
        if self.0.status() == StatusCode::UNAUTHORIZED {
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, "/console/login"))
                .insert_header((header::SET_COOKIE, clear_cookie()))
                .finish();
        }
        if self.0.status().is_server_error() {
            // The API's error path logs the cause; render it through there for the log line.
            let _ = self.0.error_response();
        }
        HttpResponse::build(self.0.status())
            .content_type("text/html; charset=utf-8")
            .body(views::error_page(&self.0).into_string())
    }
}

pub type ConsoleResult<T> = Result<T, ConsoleError>;

/// The value of one cookie of the request. Parsed by hand: actix's `cookies` feature would
/// pull in the `cookie` and `time` crates for this one read.
pub fn cookie_value(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

pub fn session_cookie(token: &str, max_age_secs: i64, secure: bool) -> String {
    format!(
        "{COOKIE}={token}; Path=/console; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict")
}

pub fn csrf_token(state: &AppState, identity: &Identity) -> String {
    state
        .data_key
        .lookup_hash(&format!("console-csrf:{}", identity.jti))
}

/// Compares in time independent of where the strings differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl ConsoleStaff {
    /// Refuses a request whose CSRF token is missing or not this session's.
    pub fn check_csrf(&self, given: Option<&str>) -> Result<(), ConsoleError> {
        match given {
            Some(t) if same(t.trim(), &self.csrf) => Ok(()),
            _ => Err(ConsoleError(ApiError::forbidden(
                "csrf_token_invalid",
                "页面已过期或请求来源不明，请刷新页面后重试",
            ))),
        }
    }

    /// The CSRF token sent by the console's scripts in a header.
    pub fn check_csrf_header(&self, req: &HttpRequest) -> Result<(), ConsoleError> {
        self.check_csrf(req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()))
    }
}

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("AppState missing")))
}

impl FromRequest for ConsoleStaff {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = app_state(req);
        let token = cookie_value(req, COOKIE);
        Box::pin(async move {
            let state = state?;
            let token = token.ok_or_else(|| ApiError::unauthorized("token_missing", "请先登录"))?;
            let identity = identity_from_token(&state, &token).await?;
            let staff = staff_of_identity(&state, identity.clone())
                .await
                .map_err(|e| {
                    // A resident's token has no business here: back to the login page.
                    if e.status() == StatusCode::FORBIDDEN {
                        ApiError::unauthorized("staff_only", "请使用工作人员账号登录")
                    } else {
                        e
                    }
                })?;
            let csrf = csrf_token(&state, &identity);
            Ok(ConsoleStaff {
                staff,
                identity,
                csrf,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_compare_needs_equal_strings() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
        assert!(!same("", "a"));
    }
}
