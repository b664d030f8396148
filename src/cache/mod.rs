//! One cache interface with two stores: Redis in production (shared by every instance) and an
//! in-process store for the embedded default. Every key carries the configured prefix so
//! tests and tenants never collide.
//!
//! The cache is an accelerator, never the source of truth: when Redis fails, reads behave as
//! misses and writes are dropped, the failure is logged and counted, and callers fall back to
//! the database.

mod memory;
mod near;
mod redis_store;

use std::{
    sync::{
        Arc, LazyLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use futures_util::future::BoxFuture;
use metrics::Counter;
use serde::{Serialize, de::DeserializeOwned};

pub use memory::MemoryStore;
pub use near::NEAR_TTL;
pub use redis_store::RedisStore;

#[derive(Debug, thiserror::Error)]
#[error("cache unavailable: {0}")]
pub struct CacheError(String);

#[derive(Clone)]
enum Store {
    Memory(MemoryStore),
    Redis(RedisStore),
}

#[derive(Clone)]
pub struct Cache {
    store: Store,
    prefix: Arc<str>,
    /// While Redis is failing, calls skip it until this instant (unix millis) instead of
    /// each paying a connection timeout: a short circuit breaker.
    skip_until_ms: Arc<AtomicU64>,
    /// The generation of announced entries, and marks (Redis store only).
    near: Arc<near::Near>,
}

/// How long the cache is bypassed after a failure before Redis is tried again.
const BYPASS_AFTER_FAILURE: Duration = Duration::from_secs(2);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}

/// Counts a lookup of a cached entry wherever the copy was kept (Redis, or a caller's
/// own parsed copy), so the hit rate still describes every lookup. The handles are resolved
/// once, after the recorder is installed: a lookup is counted on nearly every request.
pub fn count_lookup(hit: bool) {
    static HITS: LazyLock<Counter> = LazyLock::new(|| {
        crate::telemetry::prometheus();
        metrics::counter!("cache_hits_total")
    });
    static MISSES: LazyLock<Counter> = LazyLock::new(|| {
        crate::telemetry::prometheus();
        metrics::counter!("cache_misses_total")
    });
    if hit { &HITS } else { &MISSES }.increment(1);
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    match serde_json::from_slice(bytes) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(error = %e, "cache entry could not be decoded; treating as a miss");
            None
        }
    }
}

impl Cache {
    pub fn in_process(prefix: &str) -> Self {
        Self {
            store: Store::Memory(MemoryStore::new()),
            prefix: prefix.into(),
            skip_until_ms: Arc::default(),
            near: Arc::new(near::Near::new()),
        }
    }

    /// Connects lazily; when called inside a Tokio runtime, also starts listening on the
    /// bus that keeps near copies honest (see `near`).
    pub fn redis(url: &str, prefix: &str) -> Result<Self, CacheError> {
        let store = RedisStore::connect_lazy(url)?;
        let cache = Self {
            store: Store::Redis(store.clone()),
            prefix: prefix.into(),
            skip_until_ms: Arc::default(),
            near: Arc::new(near::Near::new()),
        };
        near::spawn_listener(
            Arc::downgrade(&cache.near),
            store,
            cache.bus_channel(),
            cache.marks_key(),
        );
        Ok(cache)
    }

    fn bus_channel(&self) -> String {
        self.key("cache:bus")
    }

    fn marks_key(&self) -> String {
        self.key("cache:marks")
    }

    /// `"redis"` or `"memory"`, for logs and readiness.
    pub fn kind(&self) -> &'static str {
        match self.store {
            Store::Memory(_) => "memory",
            Store::Redis(_) => "redis",
        }
    }

    fn key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.prefix.len() + key.len());
        full.push_str(&self.prefix);
        full.push_str(key);
        full
    }

    /// Always asks Redis (readiness wants the truth), and closes the breaker on success.
    pub async fn ping(&self) -> Result<(), CacheError> {
        match &self.store {
            Store::Memory(_) => Ok(()),
            Store::Redis(r) => {
                let res = r.ping().await;
                match &res {
                    Ok(()) => self.skip_until_ms.store(0, Ordering::Relaxed),
                    Err(_) => self.trip(),
                }
                res
            }
        }
    }

    /// The Redis store, unless the breaker is open.
    fn live_redis(&self) -> Result<Option<&RedisStore>, CacheError> {
        match &self.store {
            Store::Memory(_) => Ok(None),
            Store::Redis(r) => {
                if now_ms() < self.skip_until_ms.load(Ordering::Relaxed) {
                    Err(CacheError("bypassed after a recent failure".into()))
                } else {
                    Ok(Some(r))
                }
            }
        }
    }

    fn trip(&self) {
        let until = now_ms() + u64::try_from(BYPASS_AFTER_FAILURE.as_millis()).unwrap_or(2000);
        self.skip_until_ms.store(until, Ordering::Relaxed);
    }

    /// A miss when the key is absent or the store is unreachable.
    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.read(&self.key(key)).await.ok().flatten()
    }

    /// `Err` when the store could not answer (counted and logged), so callers can tell a
    /// miss they may remember from one they may not.
    async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let found = match (&self.store, self.live_redis()) {
            (Store::Memory(m), _) => Ok(m.get(key).await),
            (_, Ok(Some(r))) => r.get(key).await,
            (_, Ok(None)) => Ok(None),
            (_, Err(e)) => Err(e),
        };
        match &found {
            Ok(Some(_)) => metrics::counter!("cache_hits_total").increment(1),
            Ok(None) => metrics::counter!("cache_misses_total").increment(1),
            Err(e) => {
                self.degraded("get", e);
                metrics::counter!("cache_misses_total").increment(1);
            }
        }
        found
    }

    /// While the bus is live (Redis), the generation of announced entries: it moves with
    /// every change announced or made here and whenever the bus drops. A caller may keep its
    /// own parsed copy of an announced entry read (`get`) while it was `g`, for as long as it
    /// is still `g` and for `NEAR_TTL` at most; `None` means keep nothing.
    pub fn near_generation(&self) -> Option<u64> {
        match self.store {
            Store::Redis(_) if self.near.is_live() => Some(self.near.generation()),
            _ => None,
        }
    }

    /// Stores an entry others keep near copies of (`near_generation`) and tells every
    /// instance to drop them.
    pub async fn set_announced(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        let key = self.key(key);
        let done = match (&self.store, self.live_redis()) {
            (Store::Memory(m), _) => {
                m.set(key, value, ttl).await;
                Ok(())
            }
            (_, Ok(Some(r))) => {
                let res = r
                    .set_and_publish(
                        &key,
                        &value,
                        ttl,
                        &self.bus_channel(),
                        &near::invalidation(&key),
                    )
                    .await;
                // This instance does not wait for its own announcement.
                self.near.forget();
                res
            }
            (_, Ok(None)) => Ok(()),
            (_, Err(e)) => Err(e),
        };
        if let Err(e) = done {
            self.degraded("set", &e);
        }
    }

    pub async fn set_json_announced<T: Serialize>(&self, key: &str, value: &T, ttl: Duration) {
        match serde_json::to_vec(value) {
            Ok(bytes) => self.set_announced(key, bytes, ttl).await,
            Err(e) => tracing::warn!(error = %e, "value could not be encoded for the cache"),
        }
    }

    /// Marks `key` for `ttl` on every instance (a revoked token, say). On Redis the mark is
    /// kept in one sorted set and announced; each instance answers `marked` from memory
    /// while its bus is live. The caller records the mark in its source of truth first.
    pub async fn mark(&self, key: &str, ttl: Duration) {
        let key = self.key(key);
        let until = now_ms().saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
        self.near.mark(key.clone(), until);
        let done = match self.live_redis() {
            Ok(Some(r)) => {
                r.mark(
                    &self.marks_key(),
                    &key,
                    until,
                    &self.bus_channel(),
                    &near::mark_message(&key, until),
                )
                .await
            }
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = done {
            self.degraded("mark", &e);
        }
    }

    /// Whether `key` is marked, when this instance knows for sure: always with the
    /// in-process store (one process, seeded by `set_mark_source`), on Redis while the bus
    /// is live (its marks are reloaded from Redis and the source on every subscription).
    /// `None` (Redis unreachable, bus down, or start-up) sends the caller to the source of
    /// truth: unknown never reads as unmarked.
    pub fn marked(&self, key: &str) -> Option<bool> {
        // One lookup: whether this instance holds the mark is all it knows either way; on
        // Redis an unmarked key is known unmarked only while the bus is live.
        let here = self.near.is_marked_here(&self.key(key));
        let known = match self.store {
            Store::Memory(_) => Some(here),
            Store::Redis(_) if here => Some(true),
            Store::Redis(_) => self.near.is_live().then_some(false),
        };
        if let Some(marked) = known {
            count_lookup(marked);
        }
        known
    }

    /// Where marks are kept for good (the database): loaded now, and on Redis again on every
    /// (re)subscription of the bus. `load` returns unprefixed keys and when each mark lapses
    /// (unix millis).
    pub async fn set_mark_source<F>(&self, load: F) -> Result<(), CacheError>
    where
        F: Fn() -> BoxFuture<'static, Result<Vec<(String, u64)>, String>> + Send + Sync + 'static,
    {
        let prefix = self.prefix.clone();
        let load = Arc::new(load);
        let source: near::MarkSource = Arc::new(move || {
            let load = load.clone();
            let prefix = prefix.clone();
            Box::pin(async move {
                Ok(load()
                    .await?
                    .into_iter()
                    .map(|(key, until)| (format!("{prefix}{key}"), until))
                    .collect())
            })
        });
        self.near.set_source(source.clone());
        for (key, until) in source().await.map_err(CacheError)? {
            self.near.mark(key, until);
        }
        Ok(())
    }

    pub async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        let key = self.key(key);
        let done = match (&self.store, self.live_redis()) {
            (Store::Memory(m), _) => {
                m.set(key, value, ttl).await;
                Ok(())
            }
            (_, Ok(Some(r))) => r.set(&key, &value, ttl).await,
            (_, Ok(None)) => Ok(()),
            (_, Err(e)) => Err(e),
        };
        if let Err(e) = done {
            self.degraded("set", &e);
        }
    }

    pub async fn delete(&self, key: &str) {
        let key = self.key(key);
        let done = match (&self.store, self.live_redis()) {
            (Store::Memory(m), _) => {
                m.delete(&key).await;
                Ok(())
            }
            (_, Ok(Some(r))) => r.delete(&key).await,
            (_, Ok(None)) => Ok(()),
            (_, Err(e)) => Err(e),
        };
        if let Err(e) = done {
            self.degraded("delete", &e);
        }
    }

    /// Atomically stores `value` unless the key exists; `Ok(true)` when this call stored it.
    /// Callers that rely on the answer (leases, one-time markers) see the failure.
    pub async fn set_if_absent(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let key = self.key(key);
        match (&self.store, self.live_redis()) {
            (Store::Memory(m), _) => Ok(m.set_if_absent(key, value, ttl).await),
            (_, Ok(Some(r))) => r.set_if_absent(&key, &value, ttl).await.inspect_err(|e| {
                self.degraded("set_if_absent", e);
            }),
            (_, Ok(None)) => Ok(true),
            (_, Err(e)) => {
                self.degraded("set_if_absent", &e);
                Err(e)
            }
        }
    }

    /// Runs a Lua script on Redis against one key (prefixed like every other key), for
    /// counters that must be atomic across instances. `Ok(None)` on the in-process store,
    /// which has no scripts: callers keep their own in-process state for that case.
    pub async fn run_script(
        &self,
        script: &redis::Script,
        key: &str,
        args: &[u64],
    ) -> Result<Option<i64>, CacheError> {
        let key = self.key(key);
        match (&self.store, self.live_redis()) {
            (Store::Memory(_), _) | (_, Ok(None)) => Ok(None),
            (_, Ok(Some(r))) => r
                .run_script(script, &key, args)
                .await
                .map(Some)
                .inspect_err(|e| {
                    self.degraded("script", e);
                }),
            (_, Err(e)) => {
                self.degraded("script", &e);
                Err(e)
            }
        }
    }

    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let bytes = self.get(key).await?;
        decode(&bytes)
    }

    pub async fn set_json<T: Serialize>(&self, key: &str, value: &T, ttl: Duration) {
        match serde_json::to_vec(value) {
            Ok(bytes) => self.set(key, bytes, ttl).await,
            Err(e) => tracing::warn!(error = %e, "value could not be encoded for the cache"),
        }
    }

    fn degraded(&self, op: &'static str, e: &CacheError) {
        metrics::counter!("cache_errors_total", "op" => op).increment(1);
        // One warning per outage window, not one per request.
        if now_ms() >= self.skip_until_ms.load(Ordering::Relaxed) {
            tracing::warn!(
                op,
                error = %e,
                "redis unavailable; reads fall back to the database, shared rate limits let requests through"
            );
            self.trip();
        }
    }
}
