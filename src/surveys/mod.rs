//! Surveys (问卷): staff build questionnaires, residents answer them on their phones, results
//! are aggregated and exported.

pub mod domain;
mod dto;
pub mod hot;
mod repo;
mod routes;
mod service;

pub use dto::{PublishedSurvey, SurveyStatus};
pub use routes::{ApiDoc, configure};
