//! Invited experience officers (特邀体验员): residents apply to campaigns, staff review them
//! within the quota, officers serve a term, try out services in activities and report what
//! they find; staff must answer each finding (发现问题—解决问题—跟踪反馈).

pub mod domain;
pub mod dto;
mod repo;
mod routes;
pub mod service;

pub use dto::{FeedbackView, MyApplicationView};
pub use routes::{ApiDoc, configure, configure_me};
