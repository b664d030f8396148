//! In-process buckets for the embedded default: `governor`'s keyed GCRA limiters.

use std::{
    num::NonZeroU32,
    sync::atomic::{AtomicU64, Ordering},
};

use governor::{
    DefaultKeyedRateLimiter, Quota, RateLimiter,
    clock::{Clock, DefaultClock},
};

use super::{Decision, Limit};

/// Forget full buckets every this many checks, so keys seen once do not stay forever.
const SWEEP_EVERY: u64 = 4096;

pub struct LocalLimits {
    login: Option<DefaultKeyedRateLimiter<String>>,
    submission: Option<DefaultKeyedRateLimiter<String>>,
    checks: AtomicU64,
    clock: DefaultClock,
}

impl LocalLimits {
    pub fn new(login: Option<NonZeroU32>, submission: Option<NonZeroU32>) -> Self {
        let keyed = |rate: NonZeroU32| RateLimiter::keyed(Quota::per_minute(rate));
        Self {
            login: login.map(keyed),
            submission: submission.map(keyed),
            checks: AtomicU64::new(0),
            clock: DefaultClock::default(),
        }
    }

    pub fn check(&self, limit: Limit, key: &str) -> Decision {
        let limiter = match limit {
            Limit::Login => &self.login,
            Limit::Submission => &self.submission,
        };
        let Some(limiter) = limiter else {
            return Decision::Allowed;
        };
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
        }
        match limiter.check_key(&key.to_owned()) {
            Ok(()) => Decision::Allowed,
            Err(not_until) => Decision::Limited(not_until.wait_time_from(self.clock.now())),
        }
    }
}
