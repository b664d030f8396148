//! One cache interface with two stores: Redis in production (shared by every instance) and an
//! in-process store for the embedded default. Every key carries the configured prefix so
//! tests and tenants never collide.
//!
//! The cache is an accelerator, never the source of truth: when Redis fails, reads behave as
//! misses and writes are dropped, the failure is logged and counted, and callers fall back to
//! the database.

mod memory;
mod redis_store;

use std::{sync::Arc, time::Duration};

use serde::{Serialize, de::DeserializeOwned};

pub use memory::MemoryStore;
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
}

impl Cache {
    pub fn in_process(prefix: &str) -> Self {
        Self {
            store: Store::Memory(MemoryStore::new()),
            prefix: prefix.into(),
        }
    }

    pub fn redis(url: &str, prefix: &str) -> Result<Self, CacheError> {
        Ok(Self {
            store: Store::Redis(RedisStore::connect_lazy(url)?),
            prefix: prefix.into(),
        })
    }

    /// `"redis"` or `"memory"`, for logs and readiness.
    pub fn kind(&self) -> &'static str {
        match self.store {
            Store::Memory(_) => "memory",
            Store::Redis(_) => "redis",
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub async fn ping(&self) -> Result<(), CacheError> {
        match &self.store {
            Store::Memory(_) => Ok(()),
            Store::Redis(r) => r.ping().await,
        }
    }

    /// A miss when the key is absent or the store is unreachable.
    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let key = self.key(key);
        let found = match &self.store {
            Store::Memory(m) => Ok(m.get(&key).await),
            Store::Redis(r) => r.get(&key).await,
        };
        match found {
            Ok(Some(v)) => {
                metrics::counter!("cache_hits_total").increment(1);
                Some(v)
            }
            Ok(None) => {
                metrics::counter!("cache_misses_total").increment(1);
                None
            }
            Err(e) => {
                Self::degraded("get", &e);
                metrics::counter!("cache_misses_total").increment(1);
                None
            }
        }
    }

    pub async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        let key = self.key(key);
        let done = match &self.store {
            Store::Memory(m) => {
                m.set(key, value, ttl).await;
                Ok(())
            }
            Store::Redis(r) => r.set(&key, &value, ttl).await,
        };
        if let Err(e) = done {
            Self::degraded("set", &e);
        }
    }

    pub async fn delete(&self, key: &str) {
        let key = self.key(key);
        let done = match &self.store {
            Store::Memory(m) => {
                m.delete(&key).await;
                Ok(())
            }
            Store::Redis(r) => r.delete(&key).await,
        };
        if let Err(e) = done {
            Self::degraded("delete", &e);
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
        match &self.store {
            Store::Memory(m) => Ok(m.set_if_absent(key, value, ttl).await),
            Store::Redis(r) => r.set_if_absent(&key, &value, ttl).await.inspect_err(|e| {
                Self::degraded("set_if_absent", e);
            }),
        }
    }

    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let bytes = self.get(key).await?;
        match serde_json::from_slice(&bytes) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(error = %e, "cache entry could not be decoded; treating as a miss");
                None
            }
        }
    }

    pub async fn set_json<T: Serialize>(&self, key: &str, value: &T, ttl: Duration) {
        match serde_json::to_vec(value) {
            Ok(bytes) => self.set(key, bytes, ttl).await,
            Err(e) => tracing::warn!(error = %e, "value could not be encoded for the cache"),
        }
    }

    fn degraded(op: &'static str, e: &CacheError) {
        metrics::counter!("cache_errors_total", "op" => op).increment(1);
        tracing::warn!(op, error = %e, "cache unavailable; answering from the database");
    }
}
