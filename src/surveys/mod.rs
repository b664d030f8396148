//! Surveys (问卷): staff build questionnaires, residents answer them on their phones, results
//! are aggregated and exported.

pub mod domain;
mod dto;
mod export;
pub mod hot;
mod repo;
pub mod results;
mod routes;
pub mod service;
mod stream;

pub use dto::{MyResponse, PublishedSurvey, SurveyRef, SurveyStatus};
pub use routes::{ApiDoc, configure};
