//! Seat tickets in Redis, one hash per open day: `f:<slot>` free seats, `h:<resident>`
//! residents holding a reservation or a ticket. Seeded from the database on first use and
//! again after `TTL`, dropped whenever seats are freed or the event changes.

use std::{sync::LazyLock, time::Duration};

use uuid::Uuid;

use crate::cache::Cache;

const TTL: Duration = Duration::from_secs(10);

/// KEYS[1]: the event's hash. ARGV: slot, resident, party.
/// 1 ticket taken, 0 no seats, 2 the database answers (a holder, or a party larger than
/// the event allows), 3 not seeded.
const TAKE: &str = r"
if redis.call('HEXISTS', KEYS[1], 'h:' .. ARGV[2]) == 1 then return 2 end
local free = redis.call('HGET', KEYS[1], 'f:' .. ARGV[1])
if not free then return 3 end
local party = tonumber(ARGV[3])
if party > tonumber(redis.call('HGET', KEYS[1], 'm') or 0) then return 2 end
if tonumber(free) < party then return 0 end
redis.call('HINCRBY', KEYS[1], 'f:' .. ARGV[1], -party)
redis.call('HSET', KEYS[1], 'h:' .. ARGV[2], 1)
return 1
";

/// KEYS[1]: the event's hash. ARGV: ttl ms, slot, free seats, largest party, then every
/// holder. A slot already seeded (by another instance) is left as it is.
const SEED: &str = r"
if redis.call('HEXISTS', KEYS[1], 'f:' .. ARGV[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'f:' .. ARGV[2], ARGV[3], 'm', ARGV[4])
for i = 5, #ARGV do redis.call('HSET', KEYS[1], 'h:' .. ARGV[i], 1) end
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1
";

/// KEYS[1]: the event's hash. ARGV: slot, resident, party. Only a ticket still held is
/// given back: after a reseed the database's count already has the seat.
const GIVE_BACK: &str = r"
if redis.call('HDEL', KEYS[1], 'h:' .. ARGV[2]) == 1 and redis.call('HEXISTS', KEYS[1], 'f:' .. ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'f:' .. ARGV[1], tonumber(ARGV[3]))
end
return 0
";

static TAKE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(TAKE));
static SEED_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(SEED));
static GIVE_BACK_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(GIVE_BACK));

fn key(open_day: Uuid) -> String {
    format!("opendays:tickets:{open_day}")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    Ticket,
    NoSeats,
    Holder,
    NotSeeded,
}

/// `None` when Redis cannot answer (in-process cache, outage): no tickets then.
pub async fn take(
    cache: &Cache,
    open_day: Uuid,
    slot: Uuid,
    resident: Uuid,
    party: i32,
) -> Option<Take> {
    let args = [slot.to_string(), resident.to_string(), party.to_string()];
    match cache
        .run_script(&TAKE_SCRIPT, &key(open_day), &args)
        .await
        .ok()??
    {
        1 => Some(Take::Ticket),
        0 => Some(Take::NoSeats),
        2 => Some(Take::Holder),
        _ => Some(Take::NotSeeded),
    }
}

pub struct Seed<'a> {
    pub slot: Uuid,
    pub free: i32,
    pub max_party: i32,
    pub holders: &'a [Uuid],
}

pub async fn seed(cache: &Cache, open_day: Uuid, seed: Seed<'_>) {
    let Seed {
        slot,
        free,
        max_party,
        holders,
    } = seed;
    let ttl_ms = u64::try_from(TTL.as_millis()).unwrap_or(u64::MAX);
    let mut args = vec![
        ttl_ms.to_string(),
        slot.to_string(),
        free.max(0).to_string(),
        max_party.to_string(),
    ];
    args.extend(holders.iter().map(Uuid::to_string));
    // A failure leaves the slot unseeded: attempts then go to the database as without Redis.
    let _ = cache.run_script(&SEED_SCRIPT, &key(open_day), &args).await;
}

pub async fn give_back(cache: &Cache, open_day: Uuid, slot: Uuid, resident: Uuid, party: i32) {
    let args = [slot.to_string(), resident.to_string(), party.to_string()];
    if let Err(e) = cache
        .run_script(&GIVE_BACK_SCRIPT, &key(open_day), &args)
        .await
    {
        // Redis forgets the hash within `TTL` and reseeds it from the database.
        tracing::warn!(error = %e, "seat ticket not given back");
    }
}

pub async fn drop_all(cache: &Cache, open_day: Uuid) {
    cache.delete(&key(open_day)).await;
}
