//! Buckets in Redis, shared by every instance: one Lua script reads and advances the bucket
//! atomically (GCRA: one stored "theoretical arrival time" per key).

use std::{num::NonZeroU32, sync::LazyLock, time::Duration};

use super::{Decision, Limit};
use crate::cache::{Cache, CacheError};

/// KEYS[1]: the bucket. ARGV[1]: milliseconds per token. ARGV[2]: burst.
/// Answers 0 when allowed, else the milliseconds until the next request is allowed.
/// Redis's own clock (`TIME`) is the one clock all instances share.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if allow_at > now then
  return allow_at - now
end
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now)
return 0
";

static SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(GCRA));

pub async fn check(
    cache: &Cache,
    limit: Limit,
    key: &str,
    per_minute: NonZeroU32,
) -> Result<Decision, CacheError> {
    let interval_ms = (60_000 / u64::from(per_minute.get())).max(1);
    let burst = u64::from(per_minute.get());
    let bucket = format!("ratelimit:{}:{key}", limit.as_str());
    let wait_ms = cache
        .run_script(&SCRIPT, &bucket, &[interval_ms, burst])
        .await?
        .unwrap_or(0);
    Ok(match u64::try_from(wait_ms) {
        Ok(ms) if ms > 0 => Decision::Limited(Duration::from_millis(ms)),
        _ => Decision::Allowed,
    })
}
