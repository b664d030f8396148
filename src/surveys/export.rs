//! Exports: one row per response, one column per question (a multi-choice question as one
//! column per option), labels as they were in the version answered, and codes beside them.
//! Rows are read page by page and written out as they come, so memory does not grow with the
//! number of responses.

use std::collections::HashMap;

use serde_json::Value;

use super::{
    domain::{Question, QuestionKind},
    dto::PublishedSurvey,
    results::Catalogue,
};
use crate::entities::survey_responses;

/// One column of the export.
#[derive(Debug, Clone)]
pub struct Column {
    pub header: String,
    pick: Pick,
}

#[derive(Debug, Clone)]
enum Pick {
    Label(String),
    Code(String),
    OtherText(String),
    Chosen(String, String),
    Value(String),
    MatrixRow(String, String),
    Rank(String, String),
    RegionCommunity(String),
}

/// The labels each version gave its options and rows.
pub struct Labels(HashMap<(i32, String, String), String>);

impl Labels {
    pub fn new(versions: &[PublishedSurvey]) -> Self {
        let mut map = HashMap::new();
        for v in versions {
            for page in &v.pages {
                for q in &page.questions {
                    for o in q.kind.options() {
                        map.insert((v.version, q.id.clone(), o.id.clone()), o.label.clone());
                    }
                    if let QuestionKind::Matrix { rows, .. } = &q.kind {
                        for r in rows {
                            map.insert(
                                (v.version, q.id.clone(), format!("row:{}", r.id)),
                                r.label.clone(),
                            );
                        }
                    }
                }
            }
        }
        Self(map)
    }

    fn get(&self, version: i32, q: &str, id: &str) -> String {
        self.0
            .get(&(version, q.to_owned(), id.to_owned()))
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }
}

pub const FIXED: [&str; 4] = ["response_id", "version", "submitted_at", "sub_district"];

pub fn columns(catalogue: &Catalogue) -> Vec<Column> {
    let mut out = Vec::new();
    let head = |q: &Question, suffix: &str| format!("{}{} {}", q.id, suffix, q.title);
    for q in catalogue.questions() {
        let id = q.id.clone();
        match &q.kind {
            QuestionKind::Single { options } | QuestionKind::Dropdown { options } => {
                out.push(Column {
                    header: head(q, ""),
                    pick: Pick::Label(id.clone()),
                });
                out.push(Column {
                    header: format!("{id}_code"),
                    pick: Pick::Code(id.clone()),
                });
                if options.iter().any(|o| o.other) {
                    out.push(Column {
                        header: format!("{id}_other"),
                        pick: Pick::OtherText(id.clone()),
                    });
                }
            }
            QuestionKind::Multi { options, .. } => {
                for o in options {
                    out.push(Column {
                        header: format!("{id}[{}] {}", o.id, o.label),
                        pick: Pick::Chosen(id.clone(), o.id.clone()),
                    });
                }
                if options.iter().any(|o| o.other) {
                    out.push(Column {
                        header: format!("{id}_other"),
                        pick: Pick::OtherText(id.clone()),
                    });
                }
            }
            QuestionKind::Matrix { rows, .. } => {
                for r in rows {
                    out.push(Column {
                        header: format!("{id}[{}] {}", r.id, r.label),
                        pick: Pick::MatrixRow(id.clone(), r.id.clone()),
                    });
                }
            }
            QuestionKind::Ranking { options, .. } => {
                for o in options {
                    out.push(Column {
                        header: format!("{id}[{}] {}（名次）", o.id, o.label),
                        pick: Pick::Rank(id.clone(), o.id.clone()),
                    });
                }
            }
            QuestionKind::Region {} => {
                out.push(Column {
                    header: head(q, ""),
                    pick: Pick::Code(id.clone()),
                });
                out.push(Column {
                    header: format!("{id}_community"),
                    pick: Pick::RegionCommunity(id.clone()),
                });
            }
            QuestionKind::Note {} => {}
            _ => out.push(Column {
                header: head(q, ""),
                pick: Pick::Value(id.clone()),
            }),
        }
    }
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The cells of one response, fixed columns first.
pub fn row(
    r: &survey_responses::Model,
    columns: &[Column],
    labels: &Labels,
    unit_names: &HashMap<String, String>,
) -> Vec<String> {
    let answers: Value = serde_json::from_str(&r.answers).unwrap_or(Value::Null);
    let mut out = vec![
        r.id.to_string(),
        r.version.to_string(),
        r.submitted_at.to_rfc3339(),
        r.sub_district.clone().unwrap_or_default(),
    ];
    for c in columns {
        let cell = match &c.pick {
            Pick::Label(q) => answers[q]["option"]
                .as_str()
                .map(|o| labels.get(r.version, q, o))
                .unwrap_or_default(),
            Pick::Code(q) => match (
                answers[q]["sub_district"].as_str(),
                answers[q]["option"].as_str(),
            ) {
                (Some(code), _) => match unit_names.get(code) {
                    Some(name) => format!("{name}（{code}）"),
                    None => code.to_owned(),
                },
                (None, Some(option)) => option.to_owned(),
                (None, None) => String::new(),
            },
            Pick::OtherText(q) => answers[q]["other_text"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            Pick::Chosen(q, o) => {
                let chosen = answers[q]["options"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(o)));
                if answers[q].is_null() {
                    String::new()
                } else if chosen {
                    "1".into()
                } else {
                    "0".into()
                }
            }
            Pick::Value(q) => scalar(&answers[q]),
            Pick::MatrixRow(q, row) => answers[q][row]
                .as_array()
                .map(|opts| {
                    opts.iter()
                        .filter_map(|o| o.as_str())
                        .map(|o| labels.get(r.version, q, o))
                        .collect::<Vec<_>>()
                        .join("；")
                })
                .unwrap_or_default(),
            Pick::Rank(q, o) => answers[q]
                .as_array()
                .and_then(|order| order.iter().position(|x| x.as_str() == Some(o)))
                .map(|p| (p + 1).to_string())
                .unwrap_or_default(),
            Pick::RegionCommunity(q) => answers[q]["community"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        };
        out.push(cell);
    }
    out
}
