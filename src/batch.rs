//! Group commit: many requests' writes of one kind go to PostgreSQL as one statement.
//!
//! In a burst (a survey pushed to a whole sub-district) PostgreSQL spends its time on the
//! work around each statement (a round trip, a snapshot, a commit) and the service on the
//! round trips themselves, not on the rows. A [`Batcher`] queues the writes that arrive while
//! its writers are busy and sends them together, one statement and one commit for all of
//! them; each caller waits for that commit and learns what became of its own row. A
//! statement PostgreSQL refuses is retried item by item, so one bad item cannot fail the
//! others. Under light load a batch is one item and costs what a single statement costs.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    hash::Hash,
    marker::PhantomData,
    sync::Arc,
};

use sea_orm::{DatabaseConnection, DbErr, RuntimeErr};
use serde::Serialize;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::error::is_unreachable;

/// Items written in one statement at most.
const MAX_BATCH: usize = 128;
/// Items waiting for a writer at most; further callers wait to be queued (backpressure).
const QUEUE: usize = 4096;

/// One kind of write that can be batched.
pub trait BatchWrite: Send + Sync + 'static {
    type Item: Send + Sync + 'static;
    /// What tells items apart. Two items with the same key never share a statement: the
    /// second waits for the next one, where it meets the first's row.
    type Key: Eq + Hash + Send + 'static;
    /// What became of one item; an item the statement did not answer for gets the default.
    type Outcome: Copy + Default + Send + 'static;

    fn key(item: &Self::Item) -> Self::Key;

    /// Writes `items` in one statement and answers what became of them, by key.
    fn write(
        db: &DatabaseConnection,
        items: &[Self::Item],
    ) -> impl Future<Output = Result<HashMap<Self::Key, Self::Outcome>, DbErr>> + Send;
}

struct Job<W: BatchWrite> {
    item: W::Item,
    reply: oneshot::Sender<Result<W::Outcome, DbErr>>,
}

/// The queue in front of the writers. Cloning shares it; the writers stop when the last
/// clone is dropped.
pub struct Batcher<W: BatchWrite> {
    queue: mpsc::Sender<Job<W>>,
    kind: PhantomData<W>,
}

impl<W: BatchWrite> Clone for Batcher<W> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
            kind: PhantomData,
        }
    }
}

impl<W: BatchWrite> Batcher<W> {
    /// Starts `writers` writers on `db` (each holds at most one connection at a time).
    pub fn spawn(db: DatabaseConnection, writers: usize) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..writers.max(1) {
            tokio::spawn(run::<W>(db.clone(), rx.clone()));
        }
        Self {
            queue,
            kind: PhantomData,
        }
    }

    /// Writes `item` with whichever others are waiting, and answers what became of it once
    /// the statement is committed (see [`BatchWrite::write`]).
    pub async fn write(&self, item: W::Item) -> Result<W::Outcome, DbErr> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { item, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> DbErr {
    DbErr::Custom("the batch writer has stopped".to_owned())
}

async fn run<W: BatchWrite>(db: DatabaseConnection, rx: Arc<Mutex<mpsc::Receiver<Job<W>>>>) {
    loop {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        // Waits for the first item, then takes whatever else is queued: under load the batch
        // is what arrived while the other writers were busy; alone, it is one.
        if rx.lock().await.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        write_batch::<W>(&db, batch).await;
    }
}

async fn write_batch<W: BatchWrite>(db: &DatabaseConnection, mut pending: Vec<Job<W>>) {
    while !pending.is_empty() {
        let mut seen = HashSet::new();
        let (now, later): (Vec<Job<W>>, Vec<Job<W>>) = pending
            .into_iter()
            .partition(|j| seen.insert(W::key(&j.item)));
        pending = later;
        let items: Vec<W::Item>;
        let replies: Vec<oneshot::Sender<Result<W::Outcome, DbErr>>>;
        (items, replies) = now.into_iter().map(|j| (j.item, j.reply)).unzip();
        match W::write(db, &items).await {
            Ok(outcomes) => {
                for (item, reply) in items.iter().zip(replies) {
                    let _ = reply.send(Ok(outcome_of::<W>(&outcomes, item)));
                }
            }
            Err(e) if items.len() == 1 => {
                if let Some(reply) = replies.into_iter().next() {
                    let _ = reply.send(Err(e));
                }
            }
            Err(e) if is_unreachable(&e) => {
                let message = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(DbErr::Conn(RuntimeErr::Internal(message.clone()))));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, items = items.len(), "batch refused; writing each item alone");
                for (item, reply) in items.iter().zip(replies) {
                    let result = W::write(db, std::slice::from_ref(item))
                        .await
                        .map(|outcomes| outcome_of::<W>(&outcomes, item));
                    let _ = reply.send(result);
                }
            }
        }
    }
}

fn outcome_of<W: BatchWrite>(outcomes: &HashMap<W::Key, W::Outcome>, item: &W::Item) -> W::Outcome {
    outcomes.get(&W::key(item)).copied().unwrap_or_default()
}

/// A driver error as sea-orm reports one, for statements sent through sqlx itself, so that an
/// unreachable database is told apart as for every other statement.
pub fn query_error(e: sea_orm::sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))
}

/// One column of a batch, as an array for `unnest`: batches travel as one typed array per
/// column, in PostgreSQL's binary format.
pub fn column<'a, I, T>(batch: &'a [I], f: impl Fn(&'a I) -> T) -> Vec<T> {
    batch.iter().map(f).collect()
}

/// A batch's rows as the JSON text PostgreSQL's `json_to_recordset` reads.
pub fn to_json<T: Serialize>(rows: &T) -> Result<String, DbErr> {
    serde_json::to_string(rows).map_err(|e| DbErr::Json(e.to_string()))
}
