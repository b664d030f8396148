//! canyu (参与): the backend of Xicheng district's resident participation mini-program.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod cache;
pub mod config;
pub mod content_check;
pub mod db;
pub mod deliberation;
pub mod entities;
pub mod error;
pub mod extract;
pub mod health;
pub mod idempotency;
pub mod jobs;
pub mod notifications;
pub mod open_days;
pub mod openapi;
pub mod org_units;
pub mod pagination;
pub mod personal_data;
pub mod rate_limit;
pub mod startup;
pub mod state;
pub mod surveys;
pub mod telemetry;
pub mod wechat;
