//! Timed work inside the service: each job has a name and an interval, and the scheduler runs
//! one tokio task per job from server start to server stop.
//!
//! Several instances may run the same jobs. A tick first takes the job's lease in the
//! database, so a tick runs on one instance at a time; the others skip theirs. Jobs must
//! still be safe to run twice in a row (claim their work items, as the outbox does), since a
//! tick that outlives its lease can overlap the next one.
//!
//! Written by hand rather than with a scheduling crate: what is needed is a few intervals
//! plus the database lease, and the lease is the part no such crate provides for both
//! SQLite and PostgreSQL.

pub mod lease;

use std::{panic::AssertUnwindSafe, time::Duration};

use anyhow::Context;
use chrono::Utc;
use futures_util::{FutureExt, future::BoxFuture};
use tokio::{
    sync::watch,
    task::JoinHandle,
    time::{Instant, MissedTickBehavior},
};
use uuid::Uuid;

use crate::{config::Settings, notifications, open_days, state::AppState};

type JobFn = for<'a> fn(&'a AppState) -> BoxFuture<'a, anyhow::Result<()>>;

#[derive(Clone, Copy)]
pub struct Job {
    pub name: &'static str,
    pub interval: Duration,
    /// How long a tick holds the lease at most. A tick that dies keeps the job from running
    /// elsewhere this long; a tick that runs longer may meet the next one.
    pub lease: Duration,
    run: JobFn,
}

/// Every job of the service. Features add theirs here.
pub fn registry(settings: &Settings) -> Vec<Job> {
    let open_days = Duration::from_secs(settings.open_day_jobs_interval_secs.max(1));
    vec![
        Job {
            name: "outbox",
            interval: settings.outbox_interval(),
            lease: Duration::from_secs(5 * 60),
            run: outbox,
        },
        Job {
            name: "open_day_no_shows",
            interval: open_days,
            lease: Duration::from_secs(5 * 60),
            run: open_day_no_shows,
        },
        Job {
            name: "open_day_reminders",
            interval: open_days,
            lease: Duration::from_secs(5 * 60),
            run: open_day_reminders,
        },
        Job {
            name: "survey_answer_items",
            interval: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            run: survey_answer_items,
        },
        Job {
            name: "deliberation_reminders",
            interval: Duration::from_secs(5 * 60),
            lease: Duration::from_secs(5 * 60),
            run: deliberation_reminders,
        },
    ]
}

fn open_day_no_shows(state: &AppState) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        let (no_shows, lapsed) = open_days::service::settle_no_shows(state).await?;
        if no_shows + lapsed > 0 {
            tracing::info!(no_shows, lapsed, "open-day slots settled");
        }
        Ok(())
    })
}

fn open_day_reminders(state: &AppState) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        let sent = open_days::service::send_reminders(state).await?;
        if sent > 0 {
            tracing::info!(sent, "open-day reminders written");
        }
        Ok(())
    })
}

fn deliberation_reminders(state: &AppState) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        let told = crate::deliberation::service::send_reminders(state).await?;
        if told > 0 {
            tracing::info!(told, "deliberation reminders queued");
        }
        Ok(())
    })
}

/// Up to five passes a tick (500 responses a second), one while responses are arriving
/// (`items::Pace`): a burst's items are written at a steady pace behind it, not all at once
/// while it lasts (results catch up for themselves).
fn survey_answer_items(state: &AppState) -> BoxFuture<'_, anyhow::Result<()>> {
    use crate::surveys::items::{PASS, expand_some};
    Box::pin(async move {
        let mut expanded = 0;
        for _ in 0..state.answer_items.passes(state).await {
            let n = expand_some(state)
                .await
                .map_err(|e| anyhow::anyhow!("survey answer items: {e}"))?;
            expanded += n;
            if n < PASS {
                break;
            }
        }
        if expanded > 0 {
            tracing::debug!(expanded, "survey answer items written");
        }
        Ok(())
    })
}

fn outbox(state: &AppState) -> BoxFuture<'_, anyhow::Result<()>> {
    Box::pin(async move {
        let report = notifications::deliver_due(state).await?;
        if report.total() > 0 {
            tracing::info!(
                sent = report.sent,
                inbox_only = report.inbox_only,
                retrying = report.retrying,
                dead = report.dead,
                lost = report.lost,
                "outbox delivered"
            );
        }
        Ok(())
    })
}

/// What became of one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tick {
    Ran,
    /// Another tick (here or on another instance) holds the lease.
    Skipped,
}

/// Runs one tick of the job `name` now, as the scheduler would: under the job's lease.
pub async fn run_once(state: &AppState, name: &str) -> anyhow::Result<Tick> {
    let job = registry(&state.settings)
        .into_iter()
        .find(|j| j.name == name)
        .with_context(|| format!("no job named {name}"))?;
    tick(state, &job).await
}

#[tracing::instrument(skip_all, fields(job = job.name))]
async fn tick(state: &AppState, job: &Job) -> anyhow::Result<Tick> {
    let holder = Uuid::now_v7().to_string();
    let now = Utc::now();
    let until = now + job.lease;
    if !lease::try_acquire(&state.db, job.name, &holder, now, until).await? {
        tracing::debug!("lease held elsewhere, tick skipped");
        return Ok(Tick::Skipped);
    }
    let outcome = AssertUnwindSafe((job.run)(state)).catch_unwind().await;
    // Given back even after a failure: the next tick should not wait for the lease to run out.
    let released = lease::release(&state.db, job.name, &holder, Utc::now()).await;
    match outcome {
        Ok(result) => result?,
        Err(_) => anyhow::bail!("job {} panicked", job.name),
    }
    released?;
    Ok(Tick::Ran)
}

/// The running jobs of one instance.
pub struct Scheduler {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Scheduler {
    /// Spawns one task per job (none when `jobs_enabled` is off). The first tick comes one
    /// interval after start, when the service is surely serving.
    pub fn start(state: &AppState) -> Self {
        let (stop, _) = watch::channel(false);
        let mut tasks = Vec::new();
        if state.settings.jobs_enabled {
            for job in registry(&state.settings) {
                tracing::info!(
                    job = job.name,
                    interval_ms = job.interval.as_millis() as u64,
                    "job scheduled"
                );
                tasks.push(tokio::spawn(every(state.clone(), job, stop.subscribe())));
            }
        }
        Self { stop, tasks }
    }

    /// Stops ticking; a tick under way finishes first, within `grace`.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        let all = futures_util::future::join_all(self.tasks);
        match tokio::time::timeout(grace, all).await {
            Ok(_) => tracing::info!("jobs stopped"),
            Err(_) => tracing::warn!("jobs still running at shutdown were abandoned"),
        }
    }
}

/// Ticks `job` until told to stop. A failed tick is logged; the next one comes as usual.
async fn every(state: AppState, job: Job, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval_at(Instant::now() + job.interval, job.interval);
    // After a long tick, wait a whole interval again rather than catching up in a burst.
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            // A dropped scheduler stops its jobs too.
            _ = stop.changed() => break,
            _ = ticker.tick() => {}
        }
        if let Err(e) = tick(&state, &job).await {
            tracing::error!(job = job.name, error = format!("{e:#}"), "job tick failed");
        }
    }
}
