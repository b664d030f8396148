//! The questionnaire, as rules that hold whatever the client sends: a definition is checked
//! once when published, and every submission is replayed against it in order. Pure: no actix,
//! no database.

pub mod answers;
pub mod condition;
pub mod definition;
pub mod formats;

pub use answers::{Answer, AnswerSet, validate_answers};
pub use condition::{Condition, Op};
pub use definition::{
    ChoiceOption, Definition, Page, Question, QuestionKind, Row, TextFormat, check_definition,
};

/// A problem with a definition or a submission, named by field (`q3`, `q3.max_select`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests;
