//! What every handler can reach: the database, the cache, the rate limits, the WeChat client,
//! the token keys and the settings. No globals: tests build as many of these as they like.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    auth::tokens::TokenKeys, cache::Cache, config::Settings, personal_data::DataKey,
    rate_limit::RateLimits, wechat::WechatClient,
};

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// Commits that do not wait for the WAL flush (`db::connect_unflushed`).
    pub unflushed: DatabaseConnection,
    pub cache: Cache,
    pub rate_limits: RateLimits,
    pub wechat: Arc<WechatClient>,
    pub tokens: Arc<TokenKeys>,
    pub data_key: DataKey,
    pub hot_surveys: Arc<crate::surveys::hot::HotSurveys>,
    pub open_day_guard: Arc<crate::open_days::guard::StormGuard>,
    /// Group commit for answer submissions, on PostgreSQL (`surveys::writer`).
    pub submissions: Option<crate::surveys::writer::SubmissionWriter>,
    /// The answer-items job's pace (`surveys::items::Pace`).
    pub answer_items: Arc<crate::surveys::items::Pace>,
    /// Group commit for idempotency claims and answers, on PostgreSQL (on `unflushed`).
    pub idempotency: Option<crate::idempotency::service::Batches>,
    /// The runtime the pools were opened on, not the HTTP workers': a booking's round trips
    /// run there (`open_days::routes::reserve`).
    pub runtime: tokio::runtime::Handle,
    pub settings: Arc<Settings>,
}
