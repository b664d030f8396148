//! This process's near copies of shared (Redis) entries, kept honest over Redis pub/sub.
//!
//! Two kinds of entries are read on nearly every request and change rarely: pointers such as
//! a survey's current version, and marks such as a revoked token's id. Asking Redis for them
//! costs a round trip per request; keeping them here costs a message per change. Every change
//! goes through Redis first and is then announced on one channel; each instance's listener
//! moves the generation of announced entries (pointers) or records the mark (marks).
//!
//! Copies are used only while this instance's subscription is live. Until it is (start-up)
//! and whenever it breaks (Redis restarted, network), callers read Redis directly for
//! pointers and ask the marks' source of truth (the database) for marks; on every
//! (re)subscription the generation moves and the marks are reloaded from Redis and from that
//! source, so nothing announced during a gap, nor anything Redis forgot, is missed.
//!
//! Pointer copies are kept by their readers, parsed (`surveys::hot`), each with the
//! generation it was read at: a read racing an announcement keeps a copy that is stale at
//! once, and any copy lapses after `NEAR_TTL` at most.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use futures_util::{StreamExt, future::BoxFuture};

use super::{RedisStore, now_ms};

/// The longest a pointer copy is used without being re-read, announcement or not.
pub const NEAR_TTL: Duration = Duration::from_secs(1);

const INVALIDATE: &str = "i";
const MARK: &str = "m";

/// Where marks live besides Redis (the database), keys already prefixed: loaded on every
/// (re)subscription, so a mark Redis forgot (restarted empty) or never received (made during
/// an outage) is not lost.
pub type MarkSource =
    Arc<dyn Fn() -> BoxFuture<'static, Result<Vec<(String, u64)>, String>> + Send + Sync>;

pub struct Near {
    live: AtomicBool,
    source: RwLock<Option<MarkSource>>,
    generation: AtomicU64,
    /// Marked keys (full, prefixed) and when each mark lapses (unix millis).
    /// Hashed with foldhash: asked on every authenticated request, and the keys are the
    /// service's own (token ids), not chosen by callers.
    marks: RwLock<HashMap<String, u64, foldhash::fast::RandomState>>,
}

impl Near {
    pub fn new() -> Self {
        Self {
            live: AtomicBool::new(false),
            source: RwLock::new(None),
            generation: AtomicU64::new(0),
            marks: RwLock::new(HashMap::default()),
        }
    }

    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether this instance holds the mark, live bus or not.
    pub fn is_marked_here(&self, key: &str) -> bool {
        self.marks
            .read()
            .is_ok_and(|marks| marks.get(key).is_some_and(|until| *until > now_ms()))
    }

    /// Retires this instance's copies after changing an entry itself.
    pub fn forget(&self) {
        self.drop_copies();
    }

    /// Records a mark at once (this instance made it, or heard of it).
    pub fn mark(&self, key: String, until_ms: u64) {
        if let Ok(mut marks) = self.marks.write() {
            // Without a bus (in-process store) nothing else prunes the lapsed marks.
            if marks.len() % 1024 == 1023 {
                let now = now_ms();
                marks.retain(|_, until| *until > now);
            }
            marks.insert(key, until_ms);
        }
    }

    pub fn set_source(&self, source: MarkSource) {
        if let Ok(mut slot) = self.source.write() {
            *slot = Some(source);
        }
    }

    fn source(&self) -> Option<MarkSource> {
        self.source.read().ok().and_then(|s| s.clone())
    }

    fn drop_copies(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn replace_marks(&self, fresh: Vec<(String, u64)>) {
        let now = now_ms();
        if let Ok(mut marks) = self.marks.write() {
            marks.retain(|_, until| *until > now);
            marks.extend(fresh);
        }
    }

    fn prune_marks(&self) {
        let now = now_ms();
        if let Ok(mut marks) = self.marks.write() {
            marks.retain(|_, until| *until > now);
        }
    }

    async fn set_live(&self, live: bool) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.live.store(live, Ordering::Release);
    }

    async fn apply(&self, payload: &[u8]) {
        let Ok(text) = std::str::from_utf8(payload) else {
            return;
        };
        match text.split_once('\t') {
            Some((INVALIDATE, _)) => self.drop_copies(),
            Some((MARK, rest)) => {
                if let Some((until, key)) = rest.split_once('\t')
                    && let Ok(until) = until.parse::<u64>()
                {
                    self.mark(key.to_owned(), until);
                }
            }
            _ => tracing::debug!("unknown cache bus message ignored"),
        }
    }
}

impl Default for Near {
    fn default() -> Self {
        Self::new()
    }
}

pub fn invalidation(key: &str) -> String {
    format!("{INVALIDATE}\t{key}")
}

pub fn mark_message(key: &str, until_ms: u64) -> String {
    format!("{MARK}\t{until_ms}\t{key}")
}

/// Listens on the bus for as long as the cache lives, resubscribing after a failure.
pub fn spawn_listener(near: Weak<Near>, redis: RedisStore, channel: String, marks_key: String) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let mut backoff = Duration::from_millis(100);
        let mut warned = false;
        loop {
            let result = listen(&near, &redis, &channel, &marks_key).await;
            let Some(n) = near.upgrade() else { return };
            if n.is_live() {
                n.set_live(false).await;
                backoff = Duration::from_millis(100);
                warned = false;
            }
            drop(n);
            match result {
                Ok(Gone) => return,
                Err(e) if !warned => {
                    tracing::warn!(error = %e, "cache bus unavailable; near copies off until it returns");
                    warned = true;
                }
                Err(_) => {}
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(1));
        }
    });
}

/// The cache was dropped: stop listening.
struct Gone;

async fn listen(
    near: &Weak<Near>,
    redis: &RedisStore,
    channel: &str,
    marks_key: &str,
) -> Result<Gone, super::CacheError> {
    let mut pubsub = redis.pubsub().await?;
    pubsub.subscribe(channel).await?;
    // Subscribed first, then the snapshot: a mark made in between arrives by both ways.
    let mut marks = redis.marks(marks_key, now_ms()).await?;
    let Some(n) = near.upgrade() else {
        return Ok(Gone);
    };
    // Redis may have been restarted empty: not live until the source of truth is read too.
    if let Some(source) = n.source() {
        marks.extend(source().await.map_err(super::CacheError)?);
    }
    n.replace_marks(marks);
    n.set_live(true).await;
    tracing::info!("cache bus subscribed; near copies on");
    drop(n);
    let mut messages = std::pin::pin!(pubsub.on_message());
    let mut prune = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            msg = messages.next() => {
                let Some(msg) = msg else {
                    return Err(super::CacheError("cache bus connection closed".into()));
                };
                let Some(n) = near.upgrade() else { return Ok(Gone) };
                n.apply(msg.get_payload_bytes()).await;
            }
            _ = prune.tick() => {
                let Some(n) = near.upgrade() else { return Ok(Gone) };
                n.prune_marks();
            }
        }
    }
}
