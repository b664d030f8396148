use std::time::Duration;

use redis::{
    AsyncCommands, Client, SetExpiry, SetOptions,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use super::CacheError;

impl From<redis::RedisError> for CacheError {
    fn from(e: redis::RedisError) -> Self {
        CacheError(e.to_string())
    }
}

/// Redis through a connection manager that reconnects by itself. Short timeouts: a slow or
/// absent Redis must cost a request milliseconds, not seconds, before it falls back.
#[derive(Clone)]
pub struct RedisStore {
    client: Client,
    conn: ConnectionManager,
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl RedisStore {
    pub fn connect_lazy(url: &str) -> Result<Self, CacheError> {
        let client = Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        Ok(Self {
            conn: client.get_connection_manager_lazy(config)?,
            client,
        })
    }

    pub async fn ping(&self) -> Result<(), CacheError> {
        let mut c = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut c).await?;
        Ok(())
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError> {
        let mut c = self.conn.clone();
        Ok(c.get(key).await?)
    }

    pub async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> Result<(), CacheError> {
        let mut c = self.conn.clone();
        let _: () = c.pset_ex(key, value, millis(ttl)).await?;
        Ok(())
    }

    pub async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let mut c = self.conn.clone();
        let _: () = c.del(key).await?;
        Ok(())
    }

    pub async fn run_script(
        &self,
        script: &redis::Script,
        key: &str,
        args: &[u64],
    ) -> Result<i64, CacheError> {
        let mut c = self.conn.clone();
        let mut call = script.key(key);
        for arg in args {
            call.arg(*arg);
        }
        Ok(call.invoke_async(&mut c).await?)
    }

    /// A dedicated subscriber connection (pub/sub cannot share the multiplexed one).
    pub async fn pubsub(&self) -> Result<redis::aio::PubSub, CacheError> {
        let connect = self.client.get_async_pubsub();
        match tokio::time::timeout(Duration::from_millis(500), connect).await {
            Ok(conn) => Ok(conn?),
            Err(_) => Err(CacheError("pub/sub connection timed out".into())),
        }
    }

    /// Stores `value` and announces `message` on `channel`, in one transaction.
    pub async fn set_and_publish(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
        channel: &str,
        message: &str,
    ) -> Result<(), CacheError> {
        let mut c = self.conn.clone();
        let _: () = redis::pipe()
            .atomic()
            .pset_ex(key, value, millis(ttl))
            .ignore()
            .publish(channel, message)
            .ignore()
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    /// Adds `member` to the sorted set of marks until `until_ms`, drops lapsed marks, and
    /// announces the mark, in one transaction.
    pub async fn mark(
        &self,
        set: &str,
        member: &str,
        until_ms: u64,
        channel: &str,
        message: &str,
    ) -> Result<(), CacheError> {
        let mut c = self.conn.clone();
        let _: () = redis::pipe()
            .atomic()
            .zadd(set, member, until_ms)
            .ignore()
            .zrembyscore(set, "-inf", super::now_ms())
            .ignore()
            .publish(channel, message)
            .ignore()
            .query_async(&mut c)
            .await?;
        Ok(())
    }

    /// Every mark that lapses after `now_ms`, with when it lapses.
    pub async fn marks(&self, set: &str, now_ms: u64) -> Result<Vec<(String, u64)>, CacheError> {
        let mut c = self.conn.clone();
        let found: Vec<(String, f64)> = c
            .zrangebyscore_withscores(set, format!("({now_ms}"), "+inf")
            .await?;
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(found
            .into_iter()
            .map(|(member, until)| (member, until as u64))
            .collect())
    }

    pub async fn set_if_absent(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<bool, CacheError> {
        let mut c = self.conn.clone();
        let opts = SetOptions::default()
            .conditional_set(redis::ExistenceCheck::NX)
            .with_expiration(SetExpiry::PX(millis(ttl)));
        let stored: Option<String> = c.set_options(key, value, opts).await?;
        Ok(stored.is_some())
    }
}
