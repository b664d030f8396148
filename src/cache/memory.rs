use std::time::{Duration, Instant};

use moka::{Expiry, future::Cache as Moka};

#[derive(Clone)]
struct Entry {
    value: Vec<u8>,
    ttl: Duration,
}

/// Each entry lives for its own TTL.
struct PerEntryTtl;

impl Expiry<String, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _: &String, entry: &Entry, _: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }

    fn expire_after_update(
        &self,
        _: &String,
        entry: &Entry,
        _: Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(entry.ttl)
    }
}

/// The embedded default's cache: bounded, in this process only.
#[derive(Clone)]
pub struct MemoryStore {
    inner: Moka<String, Entry>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self {
            inner: Moka::builder()
                .max_capacity(64 * 1024 * 1024)
                .weigher(|k: &String, e: &Entry| {
                    u32::try_from(k.len() + e.value.len()).unwrap_or(u32::MAX)
                })
                .expire_after(PerEntryTtl)
                .build(),
        }
    }

    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.inner.get(key).await.map(|e| e.value)
    }

    pub async fn set(&self, key: String, value: Vec<u8>, ttl: Duration) {
        self.inner.insert(key, Entry { value, ttl }).await;
    }

    pub async fn delete(&self, key: &str) {
        self.inner.invalidate(key).await;
    }

    pub async fn set_if_absent(&self, key: String, value: Vec<u8>, ttl: Duration) -> bool {
        self.inner
            .entry(key)
            .or_insert(Entry { value, ttl })
            .await
            .is_fresh()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}
