//! canyu (参与): the backend of Xicheng district's resident participation mini-program.

pub mod accounts;
pub mod auth;
pub mod cache;
pub mod config;
pub mod db;
pub mod entities;
pub mod error;
pub mod extract;
pub mod health;
pub mod jobs;
pub mod notifications;
pub mod openapi;
pub mod org_units;
pub mod pagination;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod wechat;
