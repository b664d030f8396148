use std::{future::Future, pin::Pin};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use futures_util::future::{Either, Ready, ready};
use uuid::Uuid;

use super::{
    Role, repo,
    tokens::{self, Claims, TokenKeys},
};
use crate::{error::ApiError, state::AppState};

/// Any signed-in caller whose access token is valid and not revoked.
#[derive(Debug, Clone)]
pub struct Identity {
    pub id: Uuid,
    pub role: Role,
    pub org_unit: Option<String>,
    pub jti: Uuid,
    pub expires_at: i64,
}

/// A resident (mini-program user).
#[derive(Debug, Clone)]
pub struct CurrentResident(pub Identity);

/// A staff member or district administrator whose account is still enabled.
#[derive(Debug, Clone)]
pub struct CurrentStaff {
    pub id: Uuid,
    pub username: String,
    pub role: Role,
    pub org_unit: String,
    pub is_admin: bool,
}

/// A district administrator.
#[derive(Debug, Clone)]
pub struct RequireAdmin(pub CurrentStaff);

impl CurrentStaff {
    /// Staff act inside their own org unit; administrators act anywhere.
    pub fn may_act_in(&self, org_unit: &str) -> bool {
        self.is_admin || self.org_unit == org_unit
    }

    pub fn ensure_org_unit(&self, org_unit: &str) -> Result<(), ApiError> {
        if self.may_act_in(org_unit) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "org_unit_forbidden",
                "只能处理本单位的事项",
            ))
        }
    }
}

pub(crate) fn revoked_key(jti: Uuid) -> String {
    // Built by hand rather than `format!`: every authenticated request asks for one.
    const PREFIX: &str = "auth:revoked:";
    let mut key = String::with_capacity(PREFIX.len() + uuid::fmt::Hyphenated::LENGTH);
    key.push_str(PREFIX);
    key.push_str(jti.hyphenated().encode_lower(&mut Uuid::encode_buffer()));
    key
}

fn state(req: &HttpRequest) -> Result<&web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("AppState missing")))
}

fn bearer(req: &HttpRequest) -> Result<&str, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("token_missing", "请先登录"))?;
    // Not `to_str`, which checks byte by byte: a token is ASCII, and anything else in it
    // fails its verification all the same.
    let value = std::str::from_utf8(value.as_bytes()).map_err(|_| tokens::invalid())?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(tokens::invalid()),
    }
}

/// The `sub` of a valid bearer token, or `None`. For middleware that needs to know the caller
/// without refusing anyone: revocation and roles are left to the handler's own extractor.
pub fn bearer_subject(req: &HttpRequest, tokens: &TokenKeys) -> Option<Uuid> {
    let token = bearer(req).ok()?;
    tokens.verify(token).ok().map(|claims| claims.sub)
}

/// The resident behind a valid bearer token this instance knows is not revoked, or `None`
/// (no token, staff, revoked, or revocation unknown just now). For middleware that may
/// answer a resident early; everyone else goes on to the handler's own extractor.
pub fn resident_of_bearer(req: &HttpRequest, state: &AppState) -> Option<Uuid> {
    let claims = state.tokens.verify(bearer(req).ok()?).ok()?;
    let not_revoked = state.cache.marked(&revoked_key(claims.jti)) == Some(false);
    (claims.role == Role::Resident && not_revoked).then_some(claims.sub)
}

async fn identify(state: &AppState, token: &str) -> Result<Identity, ApiError> {
    let claims = state.tokens.verify(token)?;
    match state.cache.marked(&revoked_key(claims.jti)) {
        Some(revoked) => identity_of(claims, revoked),
        None => identity_checked_in_db(state, claims).await,
    }
}

/// The cache cannot tell (Redis down, or not yet subscribed): the database is asked rather
/// than let a revoked token through.
async fn identity_checked_in_db(state: &AppState, claims: Claims) -> Result<Identity, ApiError> {
    let revoked = super::repo::is_revoked(&state.db, claims.jti).await?;
    identity_of(claims, revoked)
}

fn identity_of(claims: Claims, revoked: bool) -> Result<Identity, ApiError> {
    if revoked {
        return Err(ApiError::unauthorized(
            "token_revoked",
            "已退出登录，请重新登录",
        ));
    }
    Ok(Identity {
        id: claims.sub,
        role: claims.role,
        org_unit: claims.org_unit,
        jti: claims.jti,
        expires_at: claims.exp,
    })
}

type Fut<T> = Pin<Box<dyn Future<Output = Result<T, ApiError>>>>;

impl FromRequest for Identity {
    type Error = ApiError;
    type Future = Either<Ready<Result<Self, ApiError>>, Fut<Self>>;

    /// Answered at once, without a future of its own, whenever this instance knows whether
    /// the token was revoked (nearly always): every resident request passes here, and the
    /// token is then neither copied nor boxed.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verified = state(req).and_then(|state| {
            let claims = state.tokens.verify(bearer(req)?)?;
            Ok((state, claims))
        });
        let (state, claims) = match verified {
            Ok(found) => found,
            Err(e) => return Either::Left(ready(Err(e))),
        };
        match state.cache.marked(&revoked_key(claims.jti)) {
            Some(revoked) => Either::Left(ready(identity_of(claims, revoked))),
            None => {
                let state = state.clone();
                Either::Right(Box::pin(async move {
                    identity_checked_in_db(&state, claims).await
                }))
            }
        }
    }
}

impl FromRequest for CurrentResident {
    type Error = ApiError;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let identity = Identity::from_request(req, payload);
        Box::pin(async move {
            let identity = identity.await?;
            if identity.role != Role::Resident {
                return Err(ApiError::forbidden("resident_only", "此功能仅供居民使用"));
            }
            Ok(CurrentResident(identity))
        })
    }
}

impl CurrentStaff {
    /// For a handler that serves residents and staff alike and needs the staff member only
    /// on one branch (e.g. `?scope=mine`): the same checks and refusals as the extractor.
    pub async fn of(req: &HttpRequest) -> Result<Self, ApiError> {
        Self::from_request(req, &mut Payload::None).await
    }
}

/// The caller behind an access token held somewhere other than the `Authorization` header
/// (the staff console keeps it in a cookie): the same checks as the extractors.
pub async fn identity_from_token(state: &AppState, token: &str) -> Result<Identity, ApiError> {
    identify(state, token).await
}

/// The staff member behind an identity: refused for residents and disabled accounts.
pub async fn staff_of_identity(
    state: &AppState,
    identity: Identity,
) -> Result<CurrentStaff, ApiError> {
    if identity.role == Role::Resident {
        return Err(ApiError::forbidden("staff_only", "此功能仅供工作人员使用"));
    }
    // A disabled account loses access at once, not when its token expires.
    let staff = repo::find_staff(&state.db, identity.id)
        .await?
        .filter(|s| !s.disabled)
        .ok_or_else(|| ApiError::unauthorized("token_revoked", "账号已停用，请联系管理员"))?;
    let org_unit = identity.org_unit.unwrap_or_default();
    let is_admin = staff.role == Role::Admin.as_str();
    Ok(CurrentStaff {
        id: staff.id,
        username: staff.username,
        role: if is_admin { Role::Admin } else { Role::Staff },
        org_unit,
        is_admin,
    })
}

impl FromRequest for CurrentStaff {
    type Error = ApiError;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let identity = Identity::from_request(req, payload);
        let state = state(req).cloned();
        Box::pin(async move {
            let identity = identity.await?;
            staff_of_identity(&*state?, identity).await
        })
    }
}

impl FromRequest for RequireAdmin {
    type Error = ApiError;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let staff = CurrentStaff::from_request(req, payload);
        Box::pin(async move {
            let staff = staff.await?;
            if !staff.is_admin {
                return Err(ApiError::forbidden(
                    "admin_only",
                    "此功能仅限区级管理员使用",
                ));
            }
            Ok(RequireAdmin(staff))
        })
    }
}
