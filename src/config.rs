//! Settings: defaults in code, then an optional `canyu.toml`, then `CANYU_*` environment
//! variables. Secrets are wrapped in [`Secret`] so that `Debug` (and so every log line)
//! shows `***` instead of the value.

use std::{collections::BTreeMap, fmt, path::PathBuf, time::Duration};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    #[default]
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// A value that must never be printed.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub env: Environment,
    pub host: String,
    pub port: u16,
    /// Where the embedded default keeps its SQLite file and generated JWT secret.
    pub data_dir: PathBuf,
    /// Empty means the embedded SQLite database at `<data_dir>/canyu.db`.
    pub database_url: String,
    pub database_max_connections: u32,
    /// Connections each PostgreSQL pool keeps open while idle, so a release minute after a
    /// quiet night does not begin by opening (and preparing statements on) connections.
    pub database_min_connections: u32,
    /// How long a request waits for a PostgreSQL connection (a busy pool, or a database that
    /// is away) before it is answered 503 `database_unavailable`.
    pub database_acquire_timeout_ms: u64,
    /// Empty means the in-process cache.
    pub redis_url: String,
    pub cache_prefix: String,
    pub jwt_secret: Option<Secret>,
    /// AES-256 key (base64 of 32 bytes) sealing residents' personal data at rest.
    pub data_key: Option<Secret>,
    /// The privacy notice version residents accept when a form collects personal data.
    pub privacy_notice_version: String,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_days: u64,
    /// `None` means: on in development, off in production.
    pub dev_login: Option<bool>,
    pub wechat_appid: String,
    pub wechat_secret: Option<Secret>,
    pub wechat_base_url: String,
    pub wechat_timeout_ms: u64,
    pub body_limit_bytes: usize,
    /// Login attempts per minute from one client address (`0`: no limit).
    pub rate_limit_login_per_min: u32,
    /// Submissions per minute by one resident (`0`: no limit).
    pub rate_limit_submit_per_min: u32,
    /// A reverse proxy in front of canyu appends the client's address to `X-Forwarded-For`.
    /// Off by default: without such a proxy the header is whatever the client wrote.
    pub trust_proxy: bool,
    /// `username:password` of a district administrator created on start when absent.
    pub bootstrap_admin: Option<Secret>,
    pub log_format: LogFormat,
    pub shutdown_timeout_secs: u64,
    pub workers: usize,
    /// Connections this instance serves at once (`0`: actix's default of 25,000 per worker).
    /// More wait in the listen backlog, costing kernel memory rather than ours.
    pub max_connections: usize,
    /// Pending connections the kernel queues for us (capped by `net.core.somaxconn`).
    pub listen_backlog: u32,
    /// Runs the background jobs on this instance (tests turn them off and tick by hand).
    pub jobs_enabled: bool,
    /// How often the outbox sender looks for notices to deliver.
    pub outbox_interval_ms: u64,
    /// Delivery tries before a notice is dead-lettered.
    pub outbox_max_attempts: u32,
    /// First retry delay; it doubles with every failed try.
    pub outbox_retry_base_secs: u64,
    /// Subscribe-message template id per notice kind (`welcome = "..."`), from
    /// `[wechat_templates]` in the file or `CANYU_WECHAT_TEMPLATE_<KIND>`.
    pub wechat_templates: BTreeMap<String, String>,
    /// Open days: check-ins are taken from this many minutes before a slot starts.
    pub open_day_check_in_grace_minutes: u32,
    /// Open days: this many no-shows within the window suspend booking (`0`: never).
    pub open_day_no_show_limit: u32,
    pub open_day_no_show_window_days: u32,
    pub open_day_suspension_days: u32,
    /// Open days: how long `seats_left` may be served from the cache.
    pub open_day_seats_cache_ms: u64,
    /// Open days: how often the no-show and reminder jobs run.
    pub open_day_jobs_interval_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            env: Environment::Development,
            host: "127.0.0.1".into(),
            port: 8080,
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            database_max_connections: 10,
            database_min_connections: 10,
            database_acquire_timeout_ms: 5_000,
            redis_url: String::new(),
            cache_prefix: "canyu:".into(),
            jwt_secret: None,
            data_key: None,
            privacy_notice_version: "2026-11-01".into(),
            access_token_ttl_secs: 2 * 60 * 60,
            refresh_token_ttl_days: 30,
            dev_login: None,
            wechat_appid: String::new(),
            wechat_secret: None,
            wechat_base_url: "https://api.weixin.qq.com".into(),
            wechat_timeout_ms: 5_000,
            body_limit_bytes: 256 * 1024,
            rate_limit_login_per_min: 10,
            rate_limit_submit_per_min: 30,
            trust_proxy: false,
            bootstrap_admin: None,
            log_format: LogFormat::Text,
            shutdown_timeout_secs: 30,
            workers: 0,
            max_connections: 512,
            listen_backlog: 4096,
            jobs_enabled: true,
            outbox_interval_ms: 5_000,
            outbox_max_attempts: 5,
            outbox_retry_base_secs: 30,
            wechat_templates: BTreeMap::new(),
            open_day_check_in_grace_minutes: 30,
            open_day_no_show_limit: 3,
            open_day_no_show_window_days: 180,
            open_day_suspension_days: 30,
            open_day_seats_cache_ms: 1_000,
            open_day_jobs_interval_secs: 60,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration could not be read: {0}")]
    Load(#[from] Box<figment::Error>),
    #[error("refusing to start in production: {0}")]
    Unsafe(String),
}

impl Settings {
    /// Defaults, then `canyu.toml` (or the file named by `CANYU_CONFIG`), then `CANYU_*`.
    pub fn load() -> Result<Self, ConfigError> {
        let file = std::env::var("CANYU_CONFIG").unwrap_or_else(|_| "canyu.toml".into());
        Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("CANYU_").ignore(&["config"]))
            // `CANYU_WECHAT_TEMPLATE_DELIBERATION_UPDATE` -> `wechat_templates.deliberation_update`
            .merge(
                Env::prefixed("CANYU_WECHAT_TEMPLATE_")
                    .map(|kind| format!("wechat_templates.{kind}").into()),
            )
            .extract::<Settings>()
            .map(Settings::normalised)
            .map_err(|e| ConfigError::Load(Box::new(e)))
    }

    /// An empty secret in the environment (`CANYU_JWT_SECRET=`) means "not set".
    fn normalised(mut self) -> Self {
        for secret in [
            &mut self.jwt_secret,
            &mut self.data_key,
            &mut self.wechat_secret,
            &mut self.bootstrap_admin,
        ] {
            if secret
                .as_ref()
                .is_some_and(|s| s.expose().trim().is_empty())
            {
                *secret = None;
            }
        }
        self
    }

    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }

    pub fn dev_login_enabled(&self) -> bool {
        self.dev_login.unwrap_or(!self.is_production())
    }

    pub fn wechat_timeout(&self) -> Duration {
        Duration::from_millis(self.wechat_timeout_ms)
    }

    /// Never zero: a zero period would make the scheduler spin.
    pub fn outbox_interval(&self) -> Duration {
        Duration::from_millis(self.outbox_interval_ms.max(10))
    }

    /// The subscribe-message template configured for a notice kind, if any.
    pub fn wechat_template(&self, kind: &str) -> Option<&str> {
        self.wechat_templates
            .get(kind)
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
    }

    pub fn uses_embedded_database(&self) -> bool {
        self.database_url.trim().is_empty()
    }

    pub fn effective_database_url(&self) -> String {
        if self.uses_embedded_database() {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("canyu.db").display()
            )
        } else {
            self.database_url.clone()
        }
    }

    /// The checks that keep an unsafe configuration from ever serving residents.
    pub fn check_production(&self) -> Result<(), ConfigError> {
        if !self.is_production() {
            return Ok(());
        }
        let mut problems = Vec::new();
        match &self.jwt_secret {
            None => problems.push("CANYU_JWT_SECRET is not set".to_owned()),
            Some(s) if s.expose().len() < 32 => {
                problems.push("CANYU_JWT_SECRET is shorter than 32 bytes".to_owned())
            }
            Some(_) => {}
        }
        match &self.data_key {
            None => problems.push("CANYU_DATA_KEY is not set".to_owned()),
            Some(k) if crate::personal_data::DataKey::from_base64(k.expose()).is_err() => {
                problems.push("CANYU_DATA_KEY must be 32 bytes, base64-encoded".to_owned())
            }
            Some(_) => {}
        }
        if self.dev_login_enabled() {
            problems.push("CANYU_DEV_LOGIN must be off".to_owned());
        }
        if self.wechat_appid.trim().is_empty() {
            problems.push("CANYU_WECHAT_APPID is not set".to_owned());
        }
        if self
            .wechat_secret
            .as_ref()
            .is_none_or(|s| s.expose().is_empty())
        {
            problems.push("CANYU_WECHAT_SECRET is not set".to_owned());
        }
        if self.uses_embedded_database() || !self.database_url.starts_with("postgres") {
            problems.push("CANYU_DATABASE_URL must be a postgres:// URL".to_owned());
        }
        if self.redis_url.trim().is_empty() {
            problems.push("CANYU_REDIS_URL is not set".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Unsafe(problems.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn production() -> Settings {
        Settings {
            env: Environment::Production,
            jwt_secret: Some(Secret::new("x".repeat(32))),
            data_key: Some(Secret::new(crate::personal_data::DataKey::generate_base64())),
            wechat_appid: "wx123".into(),
            wechat_secret: Some(Secret::new("s")),
            database_url: "postgres://db/canyu".into(),
            redis_url: "redis://cache".into(),
            ..Settings::default()
        }
    }

    #[test]
    fn a_complete_production_configuration_is_accepted() {
        assert!(production().check_production().is_ok());
    }

    #[test]
    fn a_short_secret_is_refused() {
        let s = Settings {
            jwt_secret: Some(Secret::new("short")),
            ..production()
        };
        let err = s.check_production().unwrap_err().to_string();
        assert!(err.contains("shorter than 32"), "{err}");
    }

    #[test]
    fn dev_login_is_off_by_default_in_production_only() {
        assert!(!production().dev_login_enabled());
        assert!(Settings::default().dev_login_enabled());
    }

    #[test]
    fn secrets_do_not_print() {
        let s = production();
        let printed = format!("{s:?}");
        assert!(!printed.contains(&"x".repeat(32)));
    }
}
