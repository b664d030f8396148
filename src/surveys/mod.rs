//! Surveys (问卷): staff build questionnaires, residents answer them on their phones, results
//! are aggregated and exported.

pub mod charts;
pub mod domain;
mod dto;
mod export;
pub mod hot;
pub mod items;
mod repo;
pub mod results;
pub mod routes;
pub mod service;
mod stream;
pub mod writer;

pub use dto::{
    ExportFormat, MyResponse, PublishedSurvey, StaffSurveyView, SurveyBody, SurveyRef,
    SurveyStatus, SurveySummary,
};
pub use routes::{ApiDoc, configure};
