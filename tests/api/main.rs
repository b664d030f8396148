#![allow(clippy::unwrap_used, clippy::expect_used)]

//! Black-box tests: each spawns canyu on a random port with a fresh database (SQLite by
//! default; PostgreSQL + Redis when TEST_DATABASE_URL / TEST_REDIS_URL are set) and drives
//! it over HTTP, with WeChat played by a local stub that answers in WeChat's own formats.

mod audit;
mod auth_staff;
mod auth_tokens;
mod auth_wechat;
mod browser;
mod cache;
mod closed_loop;
mod console_browser;
mod console_http;
mod console_manage;
mod console_officers;
mod content_check;
mod deliberation;
mod deliberation_concurrency;
mod deliberation_outcomes;
mod errors;
mod faults;
mod health;
mod helpers;
mod idempotency;
mod jobs;
mod me;
mod near_cache;
mod notifications;
mod officers_activities;
mod officers_applications;
mod officers_support;
mod open_days_booking;
mod open_days_door;
mod open_days_events;
mod open_days_support;
mod openapi;
mod org_units;
mod owasp;
mod personal_data;
mod process;
mod rate_limit;
mod survey_results;
mod surveys;
mod two_instances;
