//! `visible_if`: a JSON condition tree, evaluated by the server on every submission.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    answers::{Answer, AnswerSet},
    definition::{Question, QuestionKind},
};

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
    SelectedAny,
    SelectedAll,
    Answered,
    Empty,
    Contains,
}

/// `{"all":[...]}`, `{"any":[...]}`, `{"not":...}` or a leaf `{"q","op","v"}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Condition {
    All {
        all: Vec<Condition>,
    },
    Any {
        any: Vec<Condition>,
    },
    Not {
        not: Box<Condition>,
    },
    Leaf {
        q: String,
        op: Op,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        v: Option<Value>,
    },
}

const MAX_DEPTH: usize = 8;
/// Conditions (groups and leaves) in one tree. Every submission evaluates every tree, so a
/// tree as wide as the body limit allows (thousands of leaves) would cost each answer.
const MAX_NODES: usize = 64;

impl Condition {
    /// Checks the condition against the questions met before it. Answers the problems found.
    pub fn check(&self, earlier: &HashMap<&str, &Question>) -> Vec<String> {
        if self.nodes() > MAX_NODES {
            return vec![format!("条件不能超过 {MAX_NODES} 项")];
        }
        let mut out = Vec::new();
        self.check_at(earlier, 0, &mut out);
        out
    }

    /// How many conditions the tree holds, groups included.
    fn nodes(&self) -> usize {
        1 + match self {
            Self::All { all: list } | Self::Any { any: list } => list.iter().map(Self::nodes).sum(),
            Self::Not { not } => not.nodes(),
            Self::Leaf { .. } => 0,
        }
    }

    fn check_at(&self, earlier: &HashMap<&str, &Question>, depth: usize, out: &mut Vec<String>) {
        if depth > MAX_DEPTH {
            out.push(format!("条件嵌套不能超过 {MAX_DEPTH} 层"));
            return;
        }
        match self {
            Self::All { all: list } | Self::Any { any: list } => {
                if list.is_empty() {
                    out.push("条件组不能为空".into());
                }
                for c in list {
                    c.check_at(earlier, depth + 1, out);
                }
            }
            Self::Not { not } => not.check_at(earlier, depth + 1, out),
            Self::Leaf { q, op, v } => check_leaf(q, *op, v.as_ref(), earlier, out),
        }
    }

    /// Whether the condition holds for these answers. Answers to hidden questions have been
    /// removed before, so a hidden question counts as unanswered.
    pub fn holds(&self, answers: &AnswerSet) -> bool {
        match self {
            Self::All { all } => all.iter().all(|c| c.holds(answers)),
            Self::Any { any } => any.iter().any(|c| c.holds(answers)),
            Self::Not { not } => !not.holds(answers),
            Self::Leaf { q, op, v } => leaf_holds(answers.get(q), *op, v.as_ref()),
        }
    }
}

fn check_leaf(
    q: &str,
    op: Op,
    v: Option<&Value>,
    earlier: &HashMap<&str, &Question>,
    out: &mut Vec<String>,
) {
    let Some(question) = earlier.get(q) else {
        out.push(format!("条件引用的题目 {q} 不存在或不在此题之前"));
        return;
    };
    let kind = &question.kind;
    if matches!(kind, QuestionKind::Note {}) {
        out.push(format!("条件不能引用说明文字 {q}"));
        return;
    }
    let needs_value = !matches!(op, Op::Answered | Op::Empty);
    if needs_value && v.is_none() {
        out.push(format!("条件 {q} 缺少比较值 v"));
        return;
    }
    let fits = match op {
        Op::Answered | Op::Empty => true,
        Op::Eq | Op::Ne => match kind {
            k if k.is_choice() => v.and_then(Value::as_str).is_some(),
            QuestionKind::Number { .. } | QuestionKind::Scale { .. } => {
                v.and_then(Value::as_f64).is_some()
            }
            QuestionKind::Text { .. } | QuestionKind::Date { .. } => {
                v.and_then(Value::as_str).is_some()
            }
            _ => false,
        },
        Op::Gt | Op::Gte | Op::Lt | Op::Lte => match kind {
            QuestionKind::Number { .. } | QuestionKind::Scale { .. } => {
                v.and_then(Value::as_f64).is_some()
            }
            QuestionKind::Date { .. } => v
                .and_then(Value::as_str)
                .is_some_and(|s| s.parse::<chrono::NaiveDate>().is_ok()),
            _ => false,
        },
        Op::SelectedAny | Op::SelectedAll => {
            kind.is_choice() && v.and_then(Value::as_array).is_some_and(|a| !a.is_empty())
        }
        Op::Contains => match kind {
            QuestionKind::Text { .. } => v.and_then(Value::as_str).is_some(),
            QuestionKind::Multi { .. } => v.and_then(Value::as_str).is_some(),
            _ => false,
        },
    };
    if !fits {
        out.push(format!(
            "条件 {q} 的运算 {} 不适用于{}题或比较值类型不符",
            serde_json::to_string(&op)
                .unwrap_or_default()
                .trim_matches('"'),
            kind.type_name()
        ));
        return;
    }
    // Option ids named by the condition must exist on that question.
    if kind.is_choice() {
        let named: Vec<&str> = match v {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if matches!(v, Some(Value::Array(a)) if a.iter().any(|x| !x.is_string())) {
            out.push(format!("条件 {q} 的选项编号应为字符串"));
        }
        for id in named {
            if question.option(id).is_none() {
                out.push(format!("条件引用了题目 {q} 中不存在的选项 {id}"));
            }
        }
    }
}

fn leaf_holds(answer: Option<&Answer>, op: Op, v: Option<&Value>) -> bool {
    match op {
        Op::Answered => return answer.is_some(),
        Op::Empty => return answer.is_none(),
        _ => {}
    }
    let Some(answer) = answer else {
        // Comparisons against a missing answer are false, except "not equal".
        return op == Op::Ne;
    };
    let Some(v) = v else { return false };
    match op {
        Op::Eq => answer_eq(answer, v),
        Op::Ne => !answer_eq(answer, v),
        Op::Gt | Op::Gte | Op::Lt | Op::Lte => match compare(answer, v) {
            Some(ord) => match op {
                Op::Gt => ord.is_gt(),
                Op::Gte => ord.is_ge(),
                Op::Lt => ord.is_lt(),
                _ => ord.is_le(),
            },
            None => false,
        },
        Op::SelectedAny | Op::SelectedAll => {
            let wanted: Vec<&str> = v
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let chosen = answer.selected();
            if op == Op::SelectedAny {
                wanted.iter().any(|w| chosen.contains(w))
            } else {
                wanted.iter().all(|w| chosen.contains(w))
            }
        }
        Op::Contains => match (answer, v.as_str()) {
            (Answer::Text(t), Some(s)) => t.contains(s),
            (Answer::Multi { .. }, Some(s)) => answer.selected().contains(&s),
            _ => false,
        },
        Op::Answered | Op::Empty => false,
    }
}

fn answer_eq(answer: &Answer, v: &Value) -> bool {
    match answer {
        Answer::Choice { option, .. } => v.as_str() == Some(option.as_str()),
        Answer::Number(n) => v.as_f64().is_some_and(|x| (x - n).abs() < 1e-9),
        Answer::Text(t) => v.as_str() == Some(t.as_str()),
        Answer::Date(d) => v.as_str().and_then(|s| s.parse().ok()) == Some(*d),
        _ => false,
    }
}

fn compare(answer: &Answer, v: &Value) -> Option<std::cmp::Ordering> {
    match answer {
        Answer::Number(n) => n.partial_cmp(&v.as_f64()?),
        Answer::Date(d) => Some(d.cmp(&v.as_str()?.parse::<chrono::NaiveDate>().ok()?)),
        _ => None,
    }
}

#[cfg(test)]
mod bounds {
    use serde_json::json;

    use super::*;

    fn leaf() -> serde_json::Value {
        json!({ "q": "q1", "op": "answered" })
    }

    fn problems(c: serde_json::Value) -> Vec<String> {
        let c: Condition = serde_json::from_value(c).expect("parses");
        // No earlier questions: every leaf also reports its unknown question.
        c.check(&HashMap::new())
    }

    #[test]
    fn a_tree_deeper_than_the_bound_is_refused() {
        let mut c = leaf();
        for _ in 0..=MAX_DEPTH {
            c = json!({ "not": c });
        }
        assert!(problems(c).iter().any(|p| p.contains("嵌套")));
    }

    #[test]
    fn a_tree_wider_than_the_bound_is_refused_once_without_visiting_each_leaf() {
        let c = json!({ "any": vec![leaf(); MAX_NODES] });
        assert_eq!(problems(c), [format!("条件不能超过 {MAX_NODES} 项")]);
        let c = json!({ "any": vec![leaf(); MAX_NODES - 1] });
        assert!(!problems(c).iter().any(|p| p.contains("不能超过")));
    }
}
