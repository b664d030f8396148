//! The questionnaire definition and the checks a definition must pass to be published.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Problem, condition::Condition};

/// The pages and questions of one version of a survey.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub pages: Vec<Page>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Page {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub visible_if: Option<Condition>,
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
pub struct Question {
    /// Stable across versions and never reused for another question.
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub visible_if: Option<Condition>,
    #[serde(flatten)]
    pub kind: QuestionKind,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    /// Stable across versions.
    pub id: String,
    pub label: String,
    /// "None of the above": chosen alone or not at all.
    #[serde(default, skip_serializing_if = "is_false")]
    pub exclusive: bool,
    /// "Other": comes with free text.
    #[serde(default, skip_serializing_if = "is_false")]
    pub other: bool,
    /// The free text of an `other` option must be given.
    #[serde(default, skip_serializing_if = "is_false")]
    pub other_required: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TextFormat {
    /// A mainland China mobile number.
    Mobile,
    /// An 18-digit resident ID number, check digit verified.
    IdCard,
    Email,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QuestionKind {
    Single {
        options: Vec<ChoiceOption>,
    },
    Multi {
        options: Vec<ChoiceOption>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_select: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_select: Option<u32>,
    },
    Dropdown {
        options: Vec<ChoiceOption>,
    },
    Text {
        /// A long (multi-line) answer rather than a short one.
        #[serde(default)]
        long: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_len: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_len: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<TextFormat>,
        /// A regular expression the whole answer must match.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pattern: Option<String>,
    },
    Number {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<f64>,
        #[serde(default)]
        integer: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<f64>,
    },
    Scale {
        /// NPS is the preset `min: 0, max: 10`.
        #[serde(default)]
        min: i64,
        #[serde(default = "default_scale_max")]
        max: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_label: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_label: Option<String>,
        /// Net Promoter Score: 0..10, scored as promoters minus detractors.
        #[serde(default)]
        nps: bool,
    },
    Matrix {
        rows: Vec<Row>,
        options: Vec<ChoiceOption>,
        /// Several options per row instead of one.
        #[serde(default)]
        multiple: bool,
    },
    Ranking {
        options: Vec<ChoiceOption>,
        /// Rank only the first `top_k`; all options when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        top_k: Option<u32>,
    },
    Date {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<chrono::NaiveDate>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<chrono::NaiveDate>,
    },
    /// Sub-district, then community.
    Region {},
    /// Text shown between questions; not answerable.
    Note {},
}

fn default_scale_max() -> i64 {
    5
}

impl QuestionKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Single { .. } => "single",
            Self::Multi { .. } => "multi",
            Self::Dropdown { .. } => "dropdown",
            Self::Text { .. } => "text",
            Self::Number { .. } => "number",
            Self::Scale { .. } => "scale",
            Self::Matrix { .. } => "matrix",
            Self::Ranking { .. } => "ranking",
            Self::Date { .. } => "date",
            Self::Region {} => "region",
            Self::Note {} => "note",
        }
    }

    /// The options of a choice-like question (single, multi, dropdown, ranking, matrix).
    pub fn options(&self) -> &[ChoiceOption] {
        match self {
            Self::Single { options }
            | Self::Multi { options, .. }
            | Self::Dropdown { options }
            | Self::Matrix { options, .. }
            | Self::Ranking { options, .. } => options,
            _ => &[],
        }
    }

    pub fn is_choice(&self) -> bool {
        matches!(
            self,
            Self::Single { .. } | Self::Multi { .. } | Self::Dropdown { .. }
        )
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Self::Number { .. } | Self::Scale { .. })
    }
}

impl Question {
    pub fn option(&self, id: &str) -> Option<&ChoiceOption> {
        self.kind.options().iter().find(|o| o.id == id)
    }
}

impl Definition {
    /// Questions in the order a resident meets them, with their page.
    pub fn questions(&self) -> impl Iterator<Item = (&Page, &Question)> {
        self.pages
            .iter()
            .flat_map(|p| p.questions.iter().map(move |q| (p, q)))
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.questions().map(|(_, q)| q).find(|q| q.id == id)
    }
}

fn valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

const MAX_QUESTIONS: usize = 200;
const MAX_OPTIONS: usize = 100;

/// Everything a definition must satisfy to be published. `earlier_types` holds the type of
/// every question id used by earlier versions: an id keeps its type forever, or results across
/// versions would mix unlike answers.
pub fn check_definition(def: &Definition, earlier_types: &HashMap<String, String>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut page_ids = HashSet::new();
    // Questions already met, in order: conditions may only look back at these.
    let mut seen: HashMap<&str, &Question> = HashMap::new();
    let mut answerable = 0usize;

    if def.pages.is_empty() {
        problems.push(Problem::new("pages", "问卷至少需要一页"));
    }
    for (pi, page) in def.pages.iter().enumerate() {
        if !valid_id(&page.id) {
            problems.push(Problem::new(
                format!("pages[{pi}].id"),
                "页面编号应为 1 到 32 位字母、数字、下划线或连字符",
            ));
        } else if !page_ids.insert(page.id.as_str()) {
            problems.push(Problem::new(
                format!("pages[{pi}].id"),
                format!("页面编号 {} 重复", page.id),
            ));
        }
        if let Some(cond) = &page.visible_if {
            for p in cond.check(&seen) {
                problems.push(Problem::new(format!("{}.visible_if", page.id), p));
            }
        }
        // A page's questions may refer to earlier questions on the same page.
        for q in &page.questions {
            check_question(q, &seen, earlier_types, &mut problems);
            if !matches!(q.kind, QuestionKind::Note {}) {
                answerable += 1;
            }
            if valid_id(&q.id) {
                if seen.contains_key(q.id.as_str()) {
                    problems.push(Problem::new(
                        q.id.clone(),
                        format!("题目编号 {} 重复", q.id),
                    ));
                }
                seen.insert(q.id.as_str(), q);
            }
        }
    }
    if answerable == 0 {
        problems.push(Problem::new("pages", "问卷至少需要一道题"));
    }
    if seen.len() > MAX_QUESTIONS {
        problems.push(Problem::new(
            "pages",
            format!("题目不能超过 {MAX_QUESTIONS} 道"),
        ));
    }
    problems
}

fn check_question(
    q: &Question,
    seen: &HashMap<&str, &Question>,
    earlier_types: &HashMap<String, String>,
    problems: &mut Vec<Problem>,
) {
    let id = q.id.as_str();
    let mut push = |field: &str, message: String| {
        let field = if field.is_empty() {
            id.to_owned()
        } else {
            format!("{id}.{field}")
        };
        problems.push(Problem::new(field, message));
    };
    if !valid_id(id) {
        problems.push(Problem::new(
            format!("questions.{id}"),
            "题目编号应为 1 到 32 位字母、数字、下划线或连字符",
        ));
        return;
    }
    let title_len = q.title.trim().chars().count();
    if title_len == 0 || title_len > 500 {
        push("title", "题目标题应为 1 到 500 个字".into());
    }
    if let Some(t) = earlier_types.get(id)
        && t != q.kind.type_name()
    {
        push(
            "type",
            format!("题目编号 {id} 在之前的版本中是「{t}」题，不能改作其他题型；请换一个新编号"),
        );
    }
    if let Some(cond) = &q.visible_if {
        for p in cond.check(seen) {
            push("visible_if", p);
        }
    }
    match &q.kind {
        QuestionKind::Single { options } | QuestionKind::Dropdown { options } => {
            check_options(options, 2, &mut push);
            if options.iter().any(|o| o.exclusive) {
                push("options", "单选题不需要「互斥」选项".into());
            }
        }
        QuestionKind::Multi {
            options,
            min_select,
            max_select,
        } => {
            check_options(options, 2, &mut push);
            let n = u32::try_from(options.len()).unwrap_or(u32::MAX);
            if let Some(min) = min_select
                && *min > n
            {
                push("min_select", "最少选择数不能超过选项数".into());
            }
            if let Some(max) = max_select {
                if *max == 0 || *max > n {
                    push("max_select", "最多选择数应在 1 到选项数之间".into());
                }
                if min_select.is_some_and(|min| min > *max) {
                    push("max_select", "最多选择数不能小于最少选择数".into());
                }
            }
        }
        QuestionKind::Text {
            min_len,
            max_len,
            pattern,
            format,
            ..
        } => {
            if let (Some(min), Some(max)) = (min_len, max_len)
                && min > max
            {
                push("max_len", "最大长度不能小于最小长度".into());
            }
            if max_len.is_some_and(|m| m == 0 || m > 5000) {
                push("max_len", "最大长度应在 1 到 5000 之间".into());
            }
            if let Some(p) = pattern {
                if format.is_some() {
                    push("pattern", "格式与正则表达式只能选一个".into());
                }
                if p.len() > 200 || regex_lite::Regex::new(p).is_err() {
                    push("pattern", "正则表达式无效".into());
                }
            }
        }
        QuestionKind::Number { min, max, step, .. } => {
            if let (Some(min), Some(max)) = (min, max)
                && min > max
            {
                push("max", "最大值不能小于最小值".into());
            }
            if step.is_some_and(|s| s <= 0.0 || !s.is_finite()) {
                push("step", "步长应为正数".into());
            }
            if min.is_some_and(|v| !v.is_finite()) || max.is_some_and(|v| !v.is_finite()) {
                push("min", "取值范围应为有限数".into());
            }
        }
        QuestionKind::Scale { min, max, nps, .. } => {
            if *nps && (*min != 0 || *max != 10) {
                push("nps", "NPS 量表固定为 0 到 10 分".into());
            }
            if min >= max || max - min > 100 {
                push("max", "量表的最大值应大于最小值，且跨度不超过 100".into());
            }
        }
        QuestionKind::Matrix { rows, options, .. } => {
            check_options(options, 2, &mut push);
            if rows.is_empty() {
                push("rows", "矩阵题至少需要一行".into());
            }
            let mut ids = HashSet::new();
            for r in rows {
                if !valid_id(&r.id) {
                    push("rows", format!("行编号 {} 无效", r.id));
                } else if !ids.insert(r.id.as_str()) {
                    push("rows", format!("行编号 {} 重复", r.id));
                }
                if r.label.trim().is_empty() {
                    push("rows", format!("行 {} 缺少名称", r.id));
                }
            }
        }
        QuestionKind::Ranking { options, top_k } => {
            check_options(options, 2, &mut push);
            if options.iter().any(|o| o.exclusive || o.other) {
                push("options", "排序题的选项不能设为互斥或「其他」".into());
            }
            if let Some(k) = top_k
                && (*k == 0 || usize::try_from(*k).unwrap_or(usize::MAX) > options.len())
            {
                push("top_k", "排序前几项应在 1 到选项数之间".into());
            }
        }
        QuestionKind::Date { min, max } => {
            if let (Some(min), Some(max)) = (min, max)
                && min > max
            {
                push("max", "最晚日期不能早于最早日期".into());
            }
        }
        QuestionKind::Region {} => {}
        QuestionKind::Note {} => {
            if q.required {
                push("required", "说明文字不能设为必答".into());
            }
        }
    }
}

fn check_options(options: &[ChoiceOption], min: usize, push: &mut impl FnMut(&str, String)) {
    if options.len() < min {
        push("options", format!("至少需要 {min} 个选项"));
    }
    if options.len() > MAX_OPTIONS {
        push("options", format!("选项不能超过 {MAX_OPTIONS} 个"));
    }
    let mut ids = HashSet::new();
    for o in options {
        if !valid_id(&o.id) {
            push("options", format!("选项编号 {} 无效", o.id));
        } else if !ids.insert(o.id.as_str()) {
            push("options", format!("选项编号 {} 重复", o.id));
        }
        let n = o.label.trim().chars().count();
        if n == 0 || n > 200 {
            push("options", format!("选项 {} 的名称应为 1 到 200 个字", o.id));
        }
        if o.other_required && !o.other {
            push(
                "options",
                format!("选项 {} 不是「其他」选项，不能要求填写文字", o.id),
            );
        }
        if o.exclusive && o.other {
            push("options", format!("选项 {} 不能同时是互斥和「其他」", o.id));
        }
    }
}
