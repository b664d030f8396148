//! Token-bucket limits (GCRA): login attempts per client address, submissions per resident.
//!
//! With Redis the buckets live there, updated by one atomic Lua script, so every instance
//! counts against the same bucket; the script reads Redis's clock, so instances with skewed
//! clocks still agree. Without Redis each process keeps its own buckets (`governor`). Both
//! allow a burst of N and then one request every 60/N seconds.
//!
//! A limiter must never take the service down with it: when Redis fails, requests are let
//! through, and the failure is logged and counted.

mod client_ip;
mod local;
mod shared;

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use actix_web::http::StatusCode;

pub use client_ip::{ClientIp, LoginRateLimit};

use crate::{
    cache::Cache,
    config::Settings,
    error::{ApiError, ApiResult},
    state::AppState,
};

/// What is being limited; each has its own buckets and its own rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// Login and token refresh, per client address.
    Login,
    /// Free text and other submissions, per resident.
    Submission,
}

impl Limit {
    pub fn as_str(self) -> &'static str {
        match self {
            Limit::Login => "login",
            Limit::Submission => "submission",
        }
    }

    fn per_minute(self, settings: &Settings) -> Option<NonZeroU32> {
        NonZeroU32::new(match self {
            Limit::Login => settings.rate_limit_login_per_min,
            Limit::Submission => settings.rate_limit_submit_per_min,
        })
    }

    fn detail(self, secs: u64) -> String {
        match self {
            Limit::Login => format!("登录尝试过于频繁，请 {secs} 秒后再试"),
            Limit::Submission => format!("提交过于频繁，请 {secs} 秒后再试"),
        }
    }
}

/// The answer of a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Over the limit; the next request is allowed after this long.
    Limited(Duration),
}

#[derive(Clone)]
enum Store {
    Local(Arc<local::LocalLimits>),
    Shared(Cache),
}

/// Every limit of the service, behind one interface whatever holds the buckets.
#[derive(Clone)]
pub struct RateLimits {
    store: Store,
    login: Option<NonZeroU32>,
    submission: Option<NonZeroU32>,
}

impl RateLimits {
    /// Shared through Redis when the cache is Redis, in this process otherwise.
    pub fn new(settings: &Settings, cache: &Cache) -> Self {
        let login = Limit::Login.per_minute(settings);
        let submission = Limit::Submission.per_minute(settings);
        let store = if cache.kind() == "redis" {
            Store::Shared(cache.clone())
        } else {
            Store::Local(Arc::new(local::LocalLimits::new(login, submission)))
        };
        Self {
            store,
            login,
            submission,
        }
    }

    /// `"redis"` or `"memory"`, for logs.
    pub fn kind(&self) -> &'static str {
        match self.store {
            Store::Local(_) => "memory",
            Store::Shared(_) => "redis",
        }
    }

    fn rate(&self, limit: Limit) -> Option<NonZeroU32> {
        match limit {
            Limit::Login => self.login,
            Limit::Submission => self.submission,
        }
    }

    /// Takes one token from `key`'s bucket of `limit`.
    pub async fn check(&self, limit: Limit, key: &str) -> Decision {
        let Some(per_minute) = self.rate(limit) else {
            return Decision::Allowed;
        };
        match &self.store {
            Store::Local(local) => local.check(limit, key),
            Store::Shared(cache) => match shared::check(cache, limit, key, per_minute).await {
                Ok(decision) => decision,
                Err(e) => {
                    // The cache has logged the outage (once per window); count every
                    // request let through unchecked.
                    tracing::debug!(limit = limit.as_str(), error = %e, "rate limit unchecked");
                    metrics::counter!("rate_limit_unchecked_total", "limit" => limit.as_str())
                        .increment(1);
                    Decision::Allowed
                }
            },
        }
    }
}

/// For feature code: 429 `rate_limited` with `Retry-After` when `key` is over `limit`.
pub async fn check(state: &AppState, limit: Limit, key: &str) -> ApiResult<()> {
    match state.rate_limits.check(limit, key).await {
        Decision::Allowed => Ok(()),
        Decision::Limited(wait) => {
            metrics::counter!("rate_limited_total", "limit" => limit.as_str()).increment(1);
            let secs = retry_after_secs(wait);
            Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                limit.detail(secs),
            )
            .with_retry_after(secs))
        }
    }
}

/// Whole seconds, rounded up so a client that waits that long is let in; at least 1.
fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(6000)), 6);
        assert_eq!(retry_after_secs(Duration::from_millis(6001)), 7);
    }

    #[test]
    fn defaults_are_ten_logins_and_thirty_submissions_a_minute() {
        let s = Settings::default();
        assert_eq!(Limit::Login.per_minute(&s).map(NonZeroU32::get), Some(10));
        assert_eq!(
            Limit::Submission.per_minute(&s).map(NonZeroU32::get),
            Some(30)
        );
    }

    #[tokio::test]
    async fn a_zero_rate_means_no_limit() {
        let settings = Settings {
            rate_limit_login_per_min: 0,
            ..Settings::default()
        };
        let limits = RateLimits::new(&settings, &Cache::in_process("t:"));
        for _ in 0..100 {
            assert_eq!(limits.check(Limit::Login, "k").await, Decision::Allowed);
        }
    }

    #[tokio::test]
    async fn in_process_buckets_allow_a_burst_then_refuse_per_key() {
        let settings = Settings {
            rate_limit_submit_per_min: 3,
            ..Settings::default()
        };
        let limits = RateLimits::new(&settings, &Cache::in_process("t:"));
        for _ in 0..3 {
            assert_eq!(
                limits.check(Limit::Submission, "a").await,
                Decision::Allowed
            );
        }
        match limits.check(Limit::Submission, "a").await {
            Decision::Limited(wait) => assert!(wait <= Duration::from_secs(20), "{wait:?}"),
            Decision::Allowed => panic!("the fourth in a minute was allowed"),
        }
        assert_eq!(
            limits.check(Limit::Submission, "b").await,
            Decision::Allowed
        );
        // Another limit, another bucket.
        assert_eq!(limits.check(Limit::Login, "a").await, Decision::Allowed);
    }
}
