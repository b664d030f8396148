use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

pub use crate::accounts::UserView;

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct WechatLoginRequest {
    /// The code from the mini-program's `wx.login()`.
    #[validate(length(min = 1, max = 128, message = "缺少登录码"))]
    pub code: String,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct DevLoginRequest {
    /// Any openid: dev login exists for local use and tests only.
    #[validate(length(min = 1, max = 64, message = "openid 应为 1 到 64 位"))]
    pub openid: String,
}

#[derive(Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct StaffLoginRequest {
    #[validate(length(min = 1, max = 64, message = "请输入用户名"))]
    pub username: String,
    #[validate(length(min = 1, max = 128, message = "请输入密码"))]
    pub password: String,
}

impl std::fmt::Debug for StaffLoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffLoginRequest")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[validate(length(min = 1, max = 128, message = "缺少刷新令牌"))]
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema, Validate, Default)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// Also ends this refresh token's session family.
    #[validate(length(min = 1, max = 128, message = "刷新令牌格式不正确"))]
    pub refresh_token: Option<String>,
}

/// Every login and refresh answers this.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// HS256 JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Opaque; single use: each refresh answers a new one.
    pub refresh_token: String,
    /// Seconds until `access_token` expires.
    pub expires_in: i64,
    pub token_type: String,
    pub user: UserView,
}
