//! WeChat's server API: `jscode2session` for login, a server access token (`stable_token`),
//! `getuserphonenumber`, `msg_sec_check` (v2) for residents' free text, and one-time subscribe
//! messages (`subscribe/send`). The base URL comes from configuration so tests point it at a
//! local stub that answers in WeChat's exact formats.
//!
//! `session_key` is never deserialised, so it cannot be returned or logged by accident.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::config::{Secret, Settings};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WechatError {
    #[error("wechat rejected the code ({0})")]
    CodeInvalid(i64),
    #[error("wechat rate limit reached")]
    RateLimited,
    #[error("wechat says the user is blocked")]
    UserBlocked,
    #[error("wechat unavailable: {0}")]
    Unavailable(String),
    #[error("wechat is not configured")]
    NotConfigured,
    /// 43101: the user has no (more) subscription to this template.
    #[error("the user has not subscribed to this template")]
    NotSubscribed,
    #[error("wechat answered errcode {errcode}: {errmsg}")]
    Other { errcode: i64, errmsg: String },
}

impl WechatError {
    /// Worth trying again later: WeChat busy or out of reach, a rate limit, or a server token
    /// still refused after one refresh.
    pub fn is_transient(&self) -> bool {
        matches!(self, WechatError::Unavailable(_) | WechatError::RateLimited)
            || is_stale_token(self)
    }
}

/// Who the mini-program user is, as WeChat says.
#[derive(Debug, Clone)]
pub struct WechatSession {
    pub openid: String,
    pub unionid: Option<String>,
}

#[derive(Deserialize)]
struct Code2SessionAnswer {
    openid: Option<String>,
    unionid: Option<String>,
    errcode: Option<i64>,
    errmsg: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<u64>,
    errcode: Option<i64>,
    errmsg: Option<String>,
}

#[derive(Deserialize)]
struct PhoneAnswer {
    errcode: Option<i64>,
    errmsg: Option<String>,
    phone_info: Option<PhoneInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneInfo {
    phone_number: Option<String>,
    pure_phone_number: Option<String>,
    country_code: Option<String>,
}

#[derive(Deserialize)]
struct SecCheckAnswer {
    errcode: Option<i64>,
    errmsg: Option<String>,
    result: Option<SecCheckResult>,
    trace_id: Option<String>,
}

#[derive(Deserialize)]
struct SecCheckResult {
    suggest: Option<String>,
    label: Option<i64>,
}

/// WeChat's advice on a piece of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suggest {
    Pass,
    Review,
    Risky,
}

/// The answer of `msg_sec_check`: the advice, WeChat's label (100 normal, 10001 ads,
/// 20001 politics, 20002 porn, 20003 abuse, 20006 crime, 20008 fraud, 20012 vulgar,
/// 20013 copyright, 21000 other) and the trace id to quote to WeChat.
#[derive(Debug, Clone)]
pub struct SecCheck {
    pub suggest: Suggest,
    pub label: i64,
    pub trace_id: Option<String>,
}

#[derive(Deserialize)]
struct PlainAnswer {
    errcode: Option<i64>,
    errmsg: Option<String>,
}

/// One subscribe message, as `subscribe/send` takes it.
#[derive(Debug, Clone, Serialize)]
pub struct SubscribeMessage<'a> {
    pub touser: &'a str,
    pub template_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<&'a str>,
    /// `{"thing1": {"value": "..."}, ...}`
    pub data: serde_json::Value,
    pub lang: &'static str,
}

struct CachedToken {
    value: String,
    refresh_at: Instant,
}

pub struct WechatClient {
    http: reqwest::Client,
    base_url: String,
    appid: String,
    secret: Option<Secret>,
    token: Mutex<Option<CachedToken>>,
}

/// WeChat answers with an `errcode` that is absent or 0 on success.
fn check(errcode: Option<i64>, errmsg: Option<String>) -> Result<(), WechatError> {
    match errcode {
        None | Some(0) => Ok(()),
        Some(40029) | Some(40163) => Err(WechatError::CodeInvalid(errcode.unwrap_or_default())),
        Some(45011) => Err(WechatError::RateLimited),
        Some(40226) => Err(WechatError::UserBlocked),
        Some(43101) => Err(WechatError::NotSubscribed),
        Some(-1) => Err(WechatError::Unavailable("system busy (-1)".into())),
        Some(errcode) => Err(WechatError::Other {
            errcode,
            errmsg: errmsg.unwrap_or_default(),
        }),
    }
}

fn transport(e: reqwest::Error) -> WechatError {
    WechatError::Unavailable(if e.is_timeout() {
        "timeout".into()
    } else {
        e.without_url().to_string()
    })
}

/// Token errors that mean "fetch a new access token and try again".
fn is_stale_token(e: &WechatError) -> bool {
    matches!(e, WechatError::Other { errcode, .. } if matches!(errcode, 40001 | 40014 | 42001))
}

impl WechatClient {
    pub fn new(settings: &Settings) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(settings.wechat_timeout())
            .connect_timeout(settings.wechat_timeout())
            .build()?;
        Ok(Self {
            http,
            base_url: settings.wechat_base_url.trim_end_matches('/').to_owned(),
            appid: settings.wechat_appid.clone(),
            secret: settings.wechat_secret.clone(),
            token: Mutex::new(None),
        })
    }

    /// False on the embedded default, where no appid/secret is set: nothing can be sent.
    pub fn is_configured(&self) -> bool {
        self.credentials().is_ok()
    }

    fn credentials(&self) -> Result<(&str, &str), WechatError> {
        match &self.secret {
            Some(s) if !self.appid.is_empty() && !s.expose().is_empty() => {
                Ok((&self.appid, s.expose()))
            }
            _ => Err(WechatError::NotConfigured),
        }
    }

    /// Parses a body as JSON whatever its content type (WeChat often says `text/plain`).
    async fn read<T: for<'de> Deserialize<'de>>(res: reqwest::Response) -> Result<T, WechatError> {
        let status = res.status();
        let bytes = res.bytes().await.map_err(transport)?;
        serde_json::from_slice(&bytes).map_err(|_| {
            WechatError::Unavailable(format!("unreadable answer (HTTP {})", status.as_u16()))
        })
    }

    pub async fn code_to_session(&self, code: &str) -> Result<WechatSession, WechatError> {
        let (appid, secret) = self.credentials()?;
        let res = self
            .http
            .get(format!("{}/sns/jscode2session", self.base_url))
            .query(&[
                ("appid", appid),
                ("secret", secret),
                ("js_code", code),
                ("grant_type", "authorization_code"),
            ])
            .send()
            .await
            .map_err(transport)?;
        let answer: Code2SessionAnswer = Self::read(res).await?;
        check(answer.errcode, answer.errmsg)?;
        match answer.openid {
            Some(openid) if !openid.is_empty() => Ok(WechatSession {
                openid,
                unionid: answer.unionid.filter(|u| !u.is_empty()),
            }),
            _ => Err(WechatError::Unavailable("answer without openid".into())),
        }
    }

    /// The server access token, fetched once even when many requests need it at the same
    /// moment (the lock is held across the fetch), and reused until shortly before expiry.
    pub async fn access_token(&self) -> Result<String, WechatError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(t.value.clone());
        }
        let (appid, secret) = self.credentials()?;
        let res = self
            .http
            .post(format!("{}/cgi-bin/stable_token", self.base_url))
            .json(&serde_json::json!({
                "grant_type": "client_credential",
                "appid": appid,
                "secret": secret,
                "force_refresh": false,
            }))
            .send()
            .await
            .map_err(transport)?;
        let answer: TokenAnswer = Self::read(res).await?;
        check(answer.errcode, answer.errmsg)?;
        let value = answer
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| WechatError::Unavailable("answer without access_token".into()))?;
        let lifetime = answer.expires_in.unwrap_or(7200);
        // Refresh five minutes early (or at half-life for short-lived tokens).
        let margin = 300.min(lifetime / 2);
        *cached = Some(CachedToken {
            value: value.clone(),
            refresh_at: Instant::now() + Duration::from_secs(lifetime - margin),
        });
        metrics::counter!("wechat_access_token_fetches_total").increment(1);
        Ok(value)
    }

    async fn forget_token(&self, stale: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.value == stale) {
            *cached = None;
        }
    }

    /// Calls WeChat with the server access token; when WeChat says the token is stale (it
    /// was refreshed elsewhere, or expired early), fetches a new one and tries once more.
    async fn with_token<T, F, Fut>(&self, call: F) -> Result<T, WechatError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, WechatError>>,
    {
        let mut retried = false;
        loop {
            let token = self.access_token().await?;
            match call(token.clone()).await {
                Err(e) if is_stale_token(&e) && !retried => {
                    retried = true;
                    self.forget_token(&token).await;
                }
                other => return other,
            }
        }
    }

    /// The resident's phone number from a `getPhoneNumber` button code.
    pub async fn phone_number(&self, code: &str) -> Result<String, WechatError> {
        self.with_token(|token| async move { self.phone_number_with(&token, code).await })
            .await
    }

    /// `msg_sec_check` v2: WeChat's advice on text a user wrote. `scene` is WeChat's: 1
    /// profile, 2 comment, 3 forum, 4 social log. The user must have opened the mini-program
    /// within the last two hours, or WeChat answers an error.
    pub async fn msg_sec_check(
        &self,
        openid: &str,
        scene: u8,
        content: &str,
    ) -> Result<SecCheck, WechatError> {
        self.with_token(|token| async move {
            self.msg_sec_check_with(&token, openid, scene, content)
                .await
        })
        .await
    }

    async fn msg_sec_check_with(
        &self,
        token: &str,
        openid: &str,
        scene: u8,
        content: &str,
    ) -> Result<SecCheck, WechatError> {
        let res = self
            .http
            .post(format!("{}/wxa/msg_sec_check", self.base_url))
            .query(&[("access_token", token)])
            .json(&serde_json::json!({
                "content": content,
                "version": 2,
                "scene": scene,
                "openid": openid,
            }))
            .send()
            .await
            .map_err(transport)?;
        if !res.status().is_success() {
            return Err(WechatError::Unavailable(format!(
                "HTTP {}",
                res.status().as_u16()
            )));
        }
        let answer: SecCheckAnswer = Self::read(res).await?;
        check(answer.errcode, answer.errmsg)?;
        let result = answer
            .result
            .ok_or_else(|| WechatError::Unavailable("answer without result".into()))?;
        let suggest = match result.suggest.as_deref() {
            Some("pass") => Suggest::Pass,
            Some("review") => Suggest::Review,
            Some("risky") => Suggest::Risky,
            other => {
                return Err(WechatError::Unavailable(format!(
                    "unknown suggest {other:?}"
                )));
            }
        };
        Ok(SecCheck {
            suggest,
            label: result.label.unwrap_or_default(),
            trace_id: answer.trace_id,
        })
    }

    /// Sends a one-time subscribe message. A stale server token is refreshed and the message
    /// tried once more: WeChat refused the first call, so it cannot arrive twice.
    pub async fn send_subscribe_message(
        &self,
        message: &SubscribeMessage<'_>,
    ) -> Result<(), WechatError> {
        self.with_token(
            |token| async move { self.send_subscribe_message_with(&token, message).await },
        )
        .await
    }

    async fn send_subscribe_message_with(
        &self,
        token: &str,
        message: &SubscribeMessage<'_>,
    ) -> Result<(), WechatError> {
        let res = self
            .http
            .post(format!("{}/cgi-bin/message/subscribe/send", self.base_url))
            .query(&[("access_token", token)])
            .json(message)
            .send()
            .await
            .map_err(transport)?;
        if res.status().is_server_error() {
            return Err(WechatError::Unavailable(format!(
                "HTTP {}",
                res.status().as_u16()
            )));
        }
        let answer: PlainAnswer = Self::read(res).await?;
        check(answer.errcode, answer.errmsg)
    }

    async fn phone_number_with(&self, token: &str, code: &str) -> Result<String, WechatError> {
        let res = self
            .http
            .post(format!("{}/wxa/business/getuserphonenumber", self.base_url))
            .query(&[("access_token", token)])
            .json(&serde_json::json!({ "code": code }))
            .send()
            .await
            .map_err(transport)?;
        let answer: PhoneAnswer = Self::read(res).await?;
        check(answer.errcode, answer.errmsg)?;
        let info = answer
            .phone_info
            .ok_or_else(|| WechatError::Unavailable("answer without phone_info".into()))?;
        let mainland = info.country_code.as_deref().is_none_or(|c| c == "86");
        let number = if mainland {
            info.pure_phone_number.or(info.phone_number)
        } else {
            info.phone_number
        };
        number
            .filter(|n| !n.is_empty())
            .ok_or_else(|| WechatError::Unavailable("answer without a number".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_may_come_without_errcode() {
        assert_eq!(check(None, None), Ok(()));
        assert_eq!(check(Some(0), Some("ok".into())), Ok(()));
    }

    #[test]
    fn wechat_error_codes_are_told_apart() {
        assert_eq!(
            check(Some(40029), None),
            Err(WechatError::CodeInvalid(40029))
        );
        assert_eq!(check(Some(45011), None), Err(WechatError::RateLimited));
        assert_eq!(check(Some(40226), None), Err(WechatError::UserBlocked));
        assert!(matches!(
            check(Some(-1), None),
            Err(WechatError::Unavailable(_))
        ));
        assert!(is_stale_token(&check(Some(42001), None).unwrap_err()));
        assert_eq!(check(Some(43101), None), Err(WechatError::NotSubscribed));
    }

    #[test]
    fn only_busy_unreachable_and_token_trouble_are_worth_a_retry() {
        assert!(WechatError::Unavailable("timeout".into()).is_transient());
        assert!(WechatError::RateLimited.is_transient());
        assert!(check(Some(40001), None).unwrap_err().is_transient());
        assert!(!WechatError::NotSubscribed.is_transient());
        assert!(!check(Some(40037), None).unwrap_err().is_transient());
    }
}
