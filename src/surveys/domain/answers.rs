//! Replaying a questionnaire over a submission: in order, with visibility decided by the
//! answers already accepted, every value checked against its question's rules.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use serde::{Serialize, Serializer, ser::SerializeMap};
use serde_json::{Map, Value};

use super::{
    Problem,
    definition::{ChoiceOption, Page, Question, QuestionKind, TextFormat},
    formats,
};

/// One accepted answer, in canonical form.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// single, dropdown
    Choice {
        option: String,
        other_text: Option<String>,
    },
    Multi {
        options: Vec<String>,
        other_text: Option<String>,
    },
    Text(String),
    /// number, scale
    Number(f64),
    /// row id -> chosen option ids
    Matrix(BTreeMap<String, Vec<String>>),
    /// option ids, best first
    Ranking(Vec<String>),
    Date(NaiveDate),
    Region {
        sub_district: String,
        community: Option<String>,
    },
}

impl Answer {
    /// Option ids chosen (single and multi), for conditions.
    pub fn selected(&self) -> Vec<&str> {
        match self {
            Self::Choice { option, .. } => vec![option.as_str()],
            Self::Multi { options, .. } => options.iter().map(String::as_str).collect(),
            _ => vec![],
        }
    }
}

/// The stored form. Written straight out rather than through `serde_json::Value`: every
/// submission is stored, and building the tree first cost nearly as much as replaying the
/// answers.
/// Objects keep their keys sorted, as `Value`'s did, so stored answers read as before.
impl Serialize for Answer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Choice { option, other_text } => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("option", option)?;
                if let Some(t) = other_text {
                    m.serialize_entry("other_text", t)?;
                }
                m.end()
            }
            Self::Multi {
                options,
                other_text,
            } => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("options", options)?;
                if let Some(t) = other_text {
                    m.serialize_entry("other_text", t)?;
                }
                m.end()
            }
            Self::Text(t) => s.serialize_str(t),
            // Validation admits finite numbers only; JSON has no other kind.
            Self::Number(n) if n.is_finite() => s.serialize_f64(*n),
            Self::Number(_) => s.serialize_unit(),
            Self::Matrix(rows) => rows.serialize(s),
            Self::Ranking(order) => order.serialize(s),
            Self::Date(d) => s.collect_str(d),
            Self::Region {
                sub_district,
                community,
            } => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("community", community)?;
                m.serialize_entry("sub_district", sub_district)?;
                m.end()
            }
        }
    }
}

/// The accepted answers of one submission, by question id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnswerSet(HashMap<String, Answer>);

impl AnswerSet {
    pub fn get(&self, question: &str) -> Option<&Answer> {
        self.0.get(question)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Answer)> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The stored form: a JSON object by question id.
    pub fn to_stored(&self) -> serde_json::Result<String> {
        serde_json::to_string(self)
    }
}

impl Serialize for AnswerSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut sorted: Vec<_> = self.0.iter().collect();
        sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
        s.collect_map(sorted)
    }
}

const SHORT_TEXT_MAX: usize = 500;
const LONG_TEXT_MAX: usize = 5000;
const OTHER_TEXT_MAX: usize = 200;
const COMMUNITY_MAX: usize = 40;

/// Replays a definition's `pages` over `raw`. All problems come back at once, each named by
/// question id. `is_sub_district` says whether a code names one of the district's
/// sub-districts. Takes the pages by reference so a submission need not copy its version's.
pub fn validate_answers(
    pages: &[Page],
    raw: &Map<String, Value>,
    is_sub_district: &dyn Fn(&str) -> bool,
) -> Result<AnswerSet, Vec<Problem>> {
    let mut problems = Vec::new();
    let questions = || pages.iter().flat_map(|p| &p.questions);
    // Ids are unique within a version, so when every question's id found is every key given,
    // none is unknown: the common case asks only the map. Otherwise each key is looked up
    // once, so a body of thousands of made-up keys costs no more than reading them.
    if questions().filter(|q| raw.contains_key(&q.id)).count() != raw.len() {
        let known: HashSet<&str> = questions().map(|q| q.id.as_str()).collect();
        for id in raw.keys() {
            if !known.contains(id.as_str()) {
                problems.push(Problem::new(id.clone(), "问卷中没有这道题"));
            }
        }
    }
    let mut accepted = AnswerSet(HashMap::with_capacity(raw.len()));
    for page in pages {
        let page_visible = page.visible_if.as_ref().is_none_or(|c| c.holds(&accepted));
        for q in &page.questions {
            let given = raw.get(&q.id).filter(|v| !is_blank(v));
            let visible = page_visible && q.visible_if.as_ref().is_none_or(|c| c.holds(&accepted));
            if !visible || matches!(q.kind, QuestionKind::Note {}) {
                if given.is_some() {
                    let message = if visible {
                        "说明文字不需要作答"
                    } else {
                        "根据前面的回答，此题无需作答"
                    };
                    problems.push(Problem::new(q.id.clone(), message));
                }
                continue;
            }
            match given {
                Some(value) => match parse(q, value, is_sub_district) {
                    Ok(answer) => {
                        accepted.0.insert(q.id.clone(), answer);
                    }
                    Err((sub, message)) => {
                        let field = match sub {
                            Some(s) => format!("{}.{s}", q.id),
                            None => q.id.clone(),
                        };
                        problems.push(Problem::new(field, message));
                    }
                },
                None if q.required => problems.push(Problem::new(q.id.clone(), "此题为必答题")),
                None => {}
            }
        }
    }
    if problems.is_empty() {
        Ok(accepted)
    } else {
        Err(problems)
    }
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

type ParseResult = Result<Answer, (Option<String>, String)>;

fn fail(message: impl Into<String>) -> ParseResult {
    Err((None, message.into()))
}

fn parse(q: &Question, v: &Value, is_sub_district: &dyn Fn(&str) -> bool) -> ParseResult {
    match &q.kind {
        QuestionKind::Single { options } | QuestionKind::Dropdown { options } => {
            let (option, other_text) = match v {
                Value::String(s) => (s.clone(), None),
                Value::Object(o) => match o.get("option").and_then(Value::as_str) {
                    Some(s) => (s.to_owned(), o.get("other_text").cloned()),
                    None => return fail("请选择一个选项"),
                },
                _ => return fail("请选择一个选项"),
            };
            let Some(opt) = options.iter().find(|o| o.id == option) else {
                return fail(format!("选项 {option} 不存在"));
            };
            let other_text = other_text_of(opt, other_text.as_ref())?;
            Ok(Answer::Choice { option, other_text })
        }
        QuestionKind::Multi {
            options,
            min_select,
            max_select,
        } => {
            let (ids, other) = match v {
                Value::Array(a) => (a.clone(), None),
                Value::Object(o) => match o.get("options").and_then(Value::as_array) {
                    Some(a) => (a.clone(), o.get("other_text").cloned()),
                    None => return fail("请选择选项"),
                },
                _ => return fail("请选择选项"),
            };
            let mut chosen: Vec<String> = Vec::new();
            for id in &ids {
                let Some(id) = id.as_str() else {
                    return fail("选项编号应为字符串");
                };
                if options.iter().all(|o| o.id != id) {
                    return fail(format!("选项 {id} 不存在"));
                }
                if chosen.iter().any(|c| c == id) {
                    return fail(format!("选项 {id} 重复"));
                }
                chosen.push(id.to_owned());
            }
            let n = u32::try_from(chosen.len()).unwrap_or(u32::MAX);
            if let Some(ex) = options
                .iter()
                .find(|o| o.exclusive && chosen.contains(&o.id))
                && chosen.len() > 1
            {
                return fail(format!("「{}」不能与其他选项同时选择", ex.label));
            }
            let exclusive_alone =
                chosen.len() == 1 && options.iter().any(|o| o.exclusive && o.id == chosen[0]);
            if let Some(min) = min_select
                && n < *min
                && !exclusive_alone
            {
                return fail(format!("至少选择 {min} 项"));
            }
            if let Some(max) = max_select
                && n > *max
            {
                return fail(format!("最多选择 {max} 项"));
            }
            let other_opt = options.iter().find(|o| o.other && chosen.contains(&o.id));
            let other_text = match other_opt {
                Some(opt) => other_text_of(opt, other.as_ref())?,
                None if other.as_ref().is_some_and(|t| !is_blank(t)) => {
                    return Err((
                        Some("other_text".into()),
                        "未选择「其他」时不需要填写".into(),
                    ));
                }
                None => None,
            };
            Ok(Answer::Multi {
                options: chosen,
                other_text,
            })
        }
        QuestionKind::Text {
            long,
            min_len,
            max_len,
            format,
            pattern,
        } => {
            let Some(text) = v.as_str() else {
                return fail("请填写文字");
            };
            let text = text.trim();
            let n = text.chars().count();
            let cap = if *long { LONG_TEXT_MAX } else { SHORT_TEXT_MAX };
            let max = max_len.map_or(cap, |m| usize::try_from(m).unwrap_or(cap).min(cap));
            if let Some(min) = min_len
                && n < usize::try_from(*min).unwrap_or(0)
            {
                return fail(format!("至少填写 {min} 个字"));
            }
            if n > max {
                return fail(format!("最多填写 {max} 个字"));
            }
            if text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
            {
                return fail("包含不允许的字符");
            }
            match format {
                Some(TextFormat::Mobile) if !formats::is_mainland_mobile(text) => {
                    return fail("请填写 11 位手机号码");
                }
                Some(TextFormat::IdCard) if !formats::is_id_card(text) => {
                    return fail("身份证号码不正确");
                }
                Some(TextFormat::Email) if !formats::is_email(text) => {
                    return fail("电子邮箱格式不正确");
                }
                _ => {}
            }
            if let Some(p) = pattern {
                let anchored = format!("^(?:{p})$");
                let ok = regex_lite::Regex::new(&anchored)
                    .map(|re| re.is_match(text))
                    .unwrap_or(false);
                if !ok {
                    return fail("填写的格式不符合要求");
                }
            }
            Ok(Answer::Text(text.to_owned()))
        }
        QuestionKind::Number {
            min,
            max,
            integer,
            step,
        } => {
            let Some(n) = v.as_f64().filter(|n| n.is_finite()) else {
                return fail("请填写数字");
            };
            if *integer && n.fract() != 0.0 {
                return fail("请填写整数");
            }
            if let Some(min) = min
                && n < *min
            {
                return fail(format!("不能小于 {min}"));
            }
            if let Some(max) = max
                && n > *max
            {
                return fail(format!("不能大于 {max}"));
            }
            if let Some(step) = step {
                let base = min.unwrap_or(0.0);
                let k = (n - base) / step;
                if (k - k.round()).abs() > 1e-9 {
                    return fail(format!("应按 {step} 递增"));
                }
            }
            Ok(Answer::Number(n))
        }
        QuestionKind::Scale { min, max, .. } => {
            let Some(n) = v
                .as_i64()
                .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            else {
                return fail("请选择分值");
            };
            if n < *min || n > *max {
                return fail(format!("分值应在 {min} 到 {max} 之间"));
            }
            Ok(Answer::Number(n as f64))
        }
        QuestionKind::Matrix {
            rows,
            options,
            multiple,
        } => {
            let Some(obj) = v.as_object() else {
                return fail("请逐行作答");
            };
            let mut out = BTreeMap::new();
            for key in obj.keys() {
                if rows.iter().all(|r| &r.id != key) {
                    return Err((Some(key.clone()), "没有这一行".into()));
                }
            }
            for row in rows {
                let cell = obj.get(&row.id).filter(|v| !is_blank(v));
                let Some(cell) = cell else {
                    if q.required {
                        return Err((Some(row.id.clone()), "请为这一行作答".into()));
                    }
                    continue;
                };
                let ids: Vec<&str> = match (cell, multiple) {
                    (Value::String(s), false) => vec![s.as_str()],
                    // The stored form keeps every row as a list (`Answer::Matrix`): read back
                    // for results (`surveys::items`), a one-choice row is a list of one.
                    (Value::Array(a), false) if a.len() == 1 && a[0].is_string() => {
                        a.iter().filter_map(Value::as_str).collect()
                    }
                    (Value::Array(a), true) => match a.iter().map(Value::as_str).collect() {
                        Some(ids) => ids,
                        None => return Err((Some(row.id.clone()), "选项编号应为字符串".into())),
                    },
                    _ => {
                        let expected = if *multiple {
                            "一组选项"
                        } else {
                            "一个选项"
                        };
                        return Err((Some(row.id.clone()), format!("每行应选择{expected}")));
                    }
                };
                let mut chosen: Vec<String> = Vec::new();
                for id in ids {
                    if options.iter().all(|o| o.id != id) {
                        return Err((Some(row.id.clone()), format!("选项 {id} 不存在")));
                    }
                    if !chosen.iter().any(|c| c == id) {
                        chosen.push(id.to_owned());
                    }
                }
                out.insert(row.id.clone(), chosen);
            }
            if out.is_empty() {
                return fail("请至少为一行作答");
            }
            Ok(Answer::Matrix(out))
        }
        QuestionKind::Ranking { options, top_k } => {
            let Some(list) = v.as_array() else {
                return fail("请按顺序排列选项");
            };
            let want = top_k.map_or(options.len(), |k| {
                usize::try_from(k).unwrap_or(options.len())
            });
            let mut order: Vec<String> = Vec::new();
            for id in list {
                let Some(id) = id.as_str() else {
                    return fail("选项编号应为字符串");
                };
                if options.iter().all(|o| o.id != id) {
                    return fail(format!("选项 {id} 不存在"));
                }
                if order.iter().any(|c| c == id) {
                    return fail(format!("选项 {id} 重复"));
                }
                order.push(id.to_owned());
            }
            if order.len() != want {
                return fail(format!("请排列 {want} 项"));
            }
            Ok(Answer::Ranking(order))
        }
        QuestionKind::Date { min, max } => {
            let Some(d) = v.as_str().and_then(|s| s.parse::<NaiveDate>().ok()) else {
                return fail("日期格式应为 YYYY-MM-DD");
            };
            if min.is_some_and(|m| d < m) || max.is_some_and(|m| d > m) {
                return fail("日期不在允许的范围内");
            }
            Ok(Answer::Date(d))
        }
        QuestionKind::Region {} => {
            let Some(obj) = v.as_object() else {
                return fail("请选择街道");
            };
            let Some(sub) = obj.get("sub_district").and_then(Value::as_str) else {
                return Err((Some("sub_district".into()), "请选择街道".into()));
            };
            if !is_sub_district(sub) {
                return Err((Some("sub_district".into()), "请选择西城区的一个街道".into()));
            }
            let community = match obj.get("community") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::String(s)) if s.trim().chars().count() <= COMMUNITY_MAX => {
                    Some(s.trim().to_owned())
                }
                _ => {
                    return Err((
                        Some("community".into()),
                        format!("社区名称最多 {COMMUNITY_MAX} 个字"),
                    ));
                }
            };
            Ok(Answer::Region {
                sub_district: sub.to_owned(),
                community,
            })
        }
        QuestionKind::Note {} => fail("说明文字不需要作答"),
    }
}

/// The free text of an "other" option: required when the option says so, refused elsewhere.
fn other_text_of(
    opt: &ChoiceOption,
    given: Option<&Value>,
) -> Result<Option<String>, (Option<String>, String)> {
    let text = match given {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim().to_owned()),
        Some(_) => return Err((Some("other_text".into()), "请填写文字".into())),
    };
    if !opt.other {
        return match text {
            Some(_) => Err((Some("other_text".into()), "此选项不需要填写文字".into())),
            None => Ok(None),
        };
    }
    match text {
        None if opt.other_required => Err((
            Some("other_text".into()),
            "选择「其他」时请填写具体内容".into(),
        )),
        Some(t) if t.chars().count() > OTHER_TEXT_MAX => Err((
            Some("other_text".into()),
            format!("最多填写 {OTHER_TEXT_MAX} 个字"),
        )),
        other => Ok(other),
    }
}
