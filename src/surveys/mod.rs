//! Surveys (问卷): staff build questionnaires, residents answer them on their phones, results
//! are aggregated and exported.

pub mod domain;
