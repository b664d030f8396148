//! Building and running the service. `Application::build` binds the listener first, so tests
//! can ask for port 0 and read the port back.

use std::{net::TcpListener, path::Path, sync::Arc, time::Duration};

use actix_web::{App, HttpServer, dev::Server, middleware::from_fn, web};
use anyhow::Context;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use futures_util::future::BoxFuture;
use rand::RngCore;
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbBackend, DbErr};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::{
    accounts, audit, auth,
    auth::tokens::TokenKeys,
    cache::Cache,
    config::{Secret, Settings},
    console, db, deliberation, extract, health, idempotency,
    jobs::Scheduler,
    notifications, officers, open_days, openapi, org_units,
    personal_data::{self, DataKey},
    rate_limit::RateLimits,
    state::AppState,
    surveys::{self, writer::SubmissionWriter},
    telemetry,
    wechat::WechatClient,
};

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    scheduler: Scheduler,
}

/// The statements of a release minute's bookings and refusals on the main pool.
fn warm_main(txn: &DatabaseTransaction) -> BoxFuture<'_, Result<(), DbErr>> {
    Box::pin(open_days::warm_reads(txn))
}

/// ... and on the unflushed pool: the booking, and the batched claims and answers of the
/// keys of other routes' requests.
fn warm_unflushed(txn: &DatabaseTransaction) -> BoxFuture<'_, Result<(), DbErr>> {
    Box::pin(async move {
        idempotency::warm(txn).await?;
        open_days::warm_booking(txn).await
    })
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        settings.check_production()?;
        let db = db::connect(&settings)
            .await
            .context("cannot connect to the database")?;
        db::migrate(&db)
            .await
            .context("database migration failed")?;
        Self::build_with_db(settings, db).await
    }

    /// For callers that already hold a migrated database.
    pub async fn build_with_db(settings: Settings, db: DatabaseConnection) -> anyhow::Result<Self> {
        settings.check_production()?;
        let cache = if settings.redis_url.trim().is_empty() {
            Cache::in_process(&settings.cache_prefix)
        } else {
            Cache::redis(&settings.redis_url, &settings.cache_prefix)
                .context("invalid CANYU_REDIS_URL")?
        };
        let revocations = db.clone();
        if let Err(e) = cache
            .set_mark_source(move || {
                let db = revocations.clone();
                Box::pin(async move { crate::auth::service::revocation_marks(&db).await })
            })
            .await
        {
            // Until it can be read, revocations are checked against the database per request
            // (Redis) or known only from this process on (in-process cache).
            tracing::warn!(error = %e, "revoked tokens not loaded at start");
        }
        let rate_limits = RateLimits::new(&settings, &cache);
        let secret = match &settings.jwt_secret {
            Some(s) => s.clone(),
            None => load_or_create_secret(&settings.data_dir, "jwt_secret", generate_jwt_secret)?,
        };
        let data_key = match &settings.data_key {
            Some(k) => k.clone(),
            None => {
                load_or_create_secret(&settings.data_dir, "data_key", DataKey::generate_base64)?
            }
        };
        let data_key = DataKey::from_base64(data_key.expose()).context("invalid CANYU_DATA_KEY")?;
        let tokens = TokenKeys::new(secret.expose().as_bytes(), settings.access_token_ttl_secs);
        let wechat = WechatClient::new(&settings).context("cannot build the HTTP client")?;
        if let Some(spec) = &settings.bootstrap_admin {
            accounts::service::ensure_bootstrap_admin(&db, spec.expose()).await?;
        }

        let listener = TcpListener::bind((settings.host.as_str(), settings.port))
            .with_context(|| format!("cannot listen on {}:{}", settings.host, settings.port))?;
        // std listens with a backlog of 128; in a burst, connections beyond
        // `max_connections` wait here (kernel memory) instead of having their SYNs dropped.
        socket2::SockRef::from(&listener)
            .listen(i32::try_from(settings.listen_backlog).unwrap_or(i32::MAX))
            .context("cannot set the listen backlog")?;
        let port = listener.local_addr()?.port();
        tracing::info!(
            port,
            database = %db.get_database_backend().as_str(),
            cache = cache.kind(),
            rate_limits = rate_limits.kind(),
            trust_proxy = settings.trust_proxy,
            dev_login = settings.dev_login_enabled(),
            "canyu ready"
        );
        let unflushed = db::connect_unflushed(&settings, &db)
            .await
            .context("cannot connect to the database")?;
        // The connections the pools keep open (`db::warm`). A failure here only leaves them
        // cold: the requests that meet it are answered as any other then.
        let kept = settings
            .database_min_connections
            .min(settings.database_max_connections);
        let warmed = tokio::try_join!(
            db::warm(&db, kept, warm_main),
            db::warm(
                &unflushed,
                kept.min(db::unflushed_pool_size(&settings)),
                warm_unflushed
            ),
        );
        if let Err(e) = warmed {
            tracing::warn!(error = %e, "database connections not warmed at start");
        }
        // Group commits on PostgreSQL. The submissions have one writer: the next batch
        // gathers in its queue while a statement runs. A second writer started on whatever
        // had arrived meanwhile (15 submissions a statement on average at 64 connections),
        // each batch paying a statement's and a flushed commit's fixed cost. Alternating the
        // two on a 2-core VM: 50-60% of pgbench insert-only against 47-49%, and a tenth less
        // of the service's CPU per submission (bench/results/2026-11-28.md).
        let postgres = db.get_database_backend() == DbBackend::Postgres;
        let submissions = postgres.then(|| SubmissionWriter::spawn(db.clone(), 1));
        let idempotency =
            postgres.then(|| idempotency::service::Batches::spawn(unflushed.clone(), 2));
        let state = AppState {
            db,
            unflushed,
            submissions,
            answer_items: Arc::default(),
            idempotency,
            runtime: tokio::runtime::Handle::current(),
            cache,
            rate_limits,
            wechat: Arc::new(wechat),
            tokens: Arc::new(tokens),
            data_key,
            hot_surveys: Arc::default(),
            open_day_guard: Arc::new(open_days::guard::StormGuard::new(
                usize::try_from(db::unflushed_pool_size(&settings)).unwrap_or(1),
            )),
            settings: Arc::new(settings),
        };
        notifications::check_templates(&state.settings);
        let server = run(listener, state.clone())?;
        let scheduler = Scheduler::start(&state);
        Ok(Self {
            port,
            server,
            state,
            scheduler,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGINT/SIGTERM, then lets in-flight requests and job ticks finish.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        let grace = Duration::from_secs(self.state.settings.shutdown_timeout_secs);
        self.scheduler.stop(grace).await;
        served
    }
}

fn generate_jwt_secret() -> String {
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Keeps a development secret (JWT secret, data key) in the data directory across restarts,
/// without ever putting one in the code. Production configures them instead.
fn load_or_create_secret(
    dir: &Path,
    name: &str,
    generate: fn() -> String,
) -> anyhow::Result<Secret> {
    let path = dir.join(name);
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim().to_owned();
        if s.len() >= 32 {
            return Ok(Secret::new(s));
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let secret = generate();
    write_private(&path, &secret).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a {name} for development");
    Ok(Secret::new(secret))
}

#[cfg(unix)]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(content.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}

/// Every route of the service, for the server and for tests alike.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // actix tries routes in this order, matching a regex for every route with a `{param}`
    // on the way: the residents' hottest reads (questionnaires) come first.
    health::configure(cfg);
    surveys::configure(cfg);
    auth::configure(cfg);
    notifications::configure(cfg);
    open_days::configure_me(cfg);
    deliberation::configure_me(cfg);
    officers::configure_me(cfg);
    accounts::configure(cfg);
    org_units::configure(cfg);
    audit::configure(cfg);
    personal_data::configure(cfg);
    open_days::configure(cfg);
    deliberation::configure(cfg);
    officers::configure(cfg);
    console::configure(cfg);
}

fn run(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let settings = state.settings.clone();
    let limit = settings.body_limit_bytes;
    let data = web::Data::new(state);
    // The upkeep keeps histogram memory bounded between scrapes.
    tokio::spawn(async {
        let mut tick = tokio::time::interval(Duration::from_secs(10));
        loop {
            tick.tick().await;
            telemetry::prometheus().run_upkeep();
        }
    });
    idempotency::spawn_purge(data.unflushed.clone());
    let mut server = HttpServer::new(move || {
        // The last `wrap` runs first: request context (ids, problem bodies) around
        // everything, idempotency inside it so its own answers carry the request id, and the
        // open-day storm guard before idempotency so its refusals claim no key.
        App::new()
            .wrap(from_fn(idempotency::idempotency))
            .wrap(from_fn(open_days::guard::storm_guard))
            .wrap(from_fn(telemetry::request_context))
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(limit))
            .app_data(extract::json_config(limit))
            .app_data(extract::path_config())
            .app_data(extract::query_config())
            .configure(routes)
            .service(web::redirect("/docs", "/docs/"))
            .route("/openapi.json", web::get().to(openapi::serve))
            .service(SwaggerUi::new("/docs/{_:.*}").config(Config::new(["/openapi.json"])))
    })
    .shutdown_timeout(settings.shutdown_timeout_secs)
    .listen(listener)?;
    if settings.workers > 0 {
        server = server.workers(settings.workers);
    }
    if settings.max_connections > 0 {
        // actix counts per worker; the setting is per instance.
        let workers = if settings.workers > 0 {
            settings.workers
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        };
        server = server.max_connections(settings.max_connections.div_ceil(workers).max(1));
    }
    Ok(server.run())
}
