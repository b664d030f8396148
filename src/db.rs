//! Connecting to the database and bringing its schema up to date.

use std::time::Duration;

use futures_util::future::{BoxFuture, try_join_all};
use migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, TransactionTrait,
};

use crate::config::Settings;

pub async fn connect(settings: &Settings) -> Result<DatabaseConnection, DbErr> {
    if settings.uses_embedded_database() {
        std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
            DbErr::Custom(format!(
                "cannot create {}: {e}",
                settings.data_dir.display()
            ))
        })?;
    }
    let url = settings.effective_database_url();
    let mut opts = ConnectOptions::new(url.clone());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5));
    if url.starts_with("sqlite") {
        // One connection: SQLite has one writer, and a single connection turns would-be
        // "database is locked" errors into an orderly queue. The queue is the design, so a
        // burst (hundreds signing up for one meeting at once) waits longer before giving up.
        opts.max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            // A file cannot hang up: no ping round trip through the worker before each use.
            .test_before_acquire(false);
    } else {
        postgres_pool(&mut opts, settings, settings.database_max_connections);
    }
    Database::connect(opts).await
}

/// Sizes a PostgreSQL pool of `size` connections, kept warm up to the configured minimum.
fn postgres_pool(opts: &mut ConnectOptions, settings: &Settings, size: u32) {
    // While PostgreSQL is away (restarting) the pool keeps retrying refused connections
    // until this deadline: it bounds how long a request waits before its 503.
    opts.max_connections(size)
        .min_connections(settings.database_min_connections.min(size))
        .acquire_timeout(Duration::from_millis(
            settings.database_acquire_timeout_ms.max(100),
        ))
        // sqlx pings a connection on every checkout by default: a second round trip for each
        // statement, through the same busy run queues. A connection in use within the last
        // second is handed out as it is; if PostgreSQL went away meanwhile, its statement
        // fails as unreachable (503 `database_unavailable`, as any statement in the gap) and
        // the broken connection is dropped.
        .test_before_acquire_if_idle_for(Duration::from_secs(1))
        // Connections are kept, not retired after 30 minutes or closed after 10 idle ones:
        // their replacements would meet a release at 9:00 after a quiet night with nothing
        // prepared (see `warm`). A connection PostgreSQL drops is replaced all the same.
        .idle_timeout(None)
        .max_lifetime(None);
}

/// Half the main pool: the statements of the unflushed pool are single and short (claims and
/// answers, batched; a booking), while the main pool also carries transactions and reads.
pub fn unflushed_pool_size(settings: &Settings) -> u32 {
    settings.database_max_connections.div_ceil(2).max(1)
}

/// A second pool, on PostgreSQL, whose sessions commit without waiting for the WAL flush, so
/// such a write is one autocommit statement instead of BEGIN, SET LOCAL, the write and
/// COMMIT. Two uses: bookkeeping whose loss in a database crash is harmless (idempotency
/// claims and stored answers, batched, see that module), and a booking's one statement,
/// whose caller then waits with `wait_durable` (on the main pool: a commit here never waits)
/// before answering. Elsewhere (SQLite: one writer) it is the main pool.
pub async fn connect_unflushed(
    settings: &Settings,
    main: &DatabaseConnection,
) -> Result<DatabaseConnection, DbErr> {
    if main.get_database_backend() != DbBackend::Postgres {
        return Ok(main.clone());
    }
    let mut opts = ConnectOptions::new(settings.effective_database_url());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        // Every statement here reaches its rows by key (claims and answers by id or by
        // (user, key), a booking by its slot), and a generic plan cached while a table was
        // small went on scanning it whole as it grew (26 M rows of `idempotency_keys` read in
        // a 10 s bench run). Without sequential scans the cached plans keep to the indexes,
        // so statements are planned once per connection, not once per execution (which was
        // ~5% of the machine's CPU under submissions; see bench/results). Generic from the
        // first execution rather than after five custom plans: in a release minute every
        // connection of every instance books its first seats at once, and planning each of
        // them took CPU the storm needed (its p99 about 20 ms lower, bench/results).
        .map_sqlx_postgres_opts(|o| {
            o.options([
                ("synchronous_commit", "off"),
                ("enable_seqscan", "off"),
                ("plan_cache_mode", "force_generic_plan"),
            ])
        });
    postgres_pool(&mut opts, settings, unflushed_pool_size(settings));
    Database::connect(opts).await
}

/// The statements a connection is warmed with (see [`warm`]).
pub type Warmup = for<'a> fn(&'a DatabaseTransaction) -> BoxFuture<'a, Result<(), DbErr>>;

/// Runs `warmup` once on each of the pool's `size` connections (PostgreSQL only), each time
/// in a transaction that is rolled back. A PostgreSQL session parses each statement the first
/// time it meets it and loads the catalog entries of the tables and indexes it names; sqlx
/// then keeps the statement prepared on that connection. In a release minute every
/// connection of every instance meets the booking's statements at once, and a storm on
/// instances just started took its seats about twice as slowly as the next one
/// (bench/results/2026-12-06-epyc.md; warmed, see 2026-12-06-epyc-2.md). Holding `size` transactions at once takes every
/// connection of the pool, so none is warmed twice and none is missed.
pub async fn warm(db: &DatabaseConnection, size: u32, warmup: Warmup) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let txns = try_join_all((0..size).map(|_| db.begin())).await?;
    try_join_all(txns.iter().map(warmup)).await?;
    try_join_all(txns.into_iter().map(DatabaseTransaction::rollback)).await?;
    Ok(())
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// Lets the transaction commit without waiting for its WAL flush on PostgreSQL (a no-op on
/// SQLite: one writer, nothing to share). PostgreSQL keeps a transaction's row locks until
/// its commit record is on disk, so transactions that all update one row (a slot's seat
/// count in a release minute) would queue for one disk flush each. The caller then waits with
/// `wait_durable` before answering: the locks go at once, the waits share flushes, and
/// nothing is answered before it is on disk.
pub async fn commit_without_flush(txn: &DatabaseTransaction) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared("SET LOCAL synchronous_commit TO OFF")
            .await?;
    }
    Ok(())
}

/// Returns once everything committed so far is on disk: the WAL is flushed in order, so a
/// transaction committed now, with a flush wait, flushes every commit before its own. The
/// message writes a WAL record (so the transaction has something to flush) and nothing else.
pub async fn wait_durable(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared("SELECT pg_logical_emit_message(true, 'canyu', '')")
            .await?;
    }
    Ok(())
}
