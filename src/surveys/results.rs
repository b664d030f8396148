//! Results, aggregated by the database over the answer items: per option counts and shares
//! (a multi-choice answer counts once for each option chosen), number and scale statistics,
//! NPS, matrix rows, ranking positions, text counts, and the cross-tab by sub-district or by
//! the options of a single-choice question. Across versions by stable question and option ids.

use std::collections::{BTreeMap, HashMap};

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement, Value as DbValue};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    domain::{Question, QuestionKind},
    dto::PublishedSurvey,
};

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct Results {
    pub survey_id: Uuid,
    pub current_version: Option<i32>,
    pub response_count: i64,
    /// Responses per day.
    pub completion: Vec<DayCount>,
    pub questions: Vec<QuestionResult>,
    /// `sub_district` or a single-choice question id, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_by: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupResult>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct DayCount {
    pub date: String,
    pub count: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct GroupResult {
    /// A sub-district code, or an option id of the grouping question.
    pub key: String,
    pub label: String,
    pub response_count: i64,
    pub questions: Vec<QuestionResult>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct OptionCount {
    pub option_id: String,
    pub label: String,
    pub count: i64,
    /// `count` over the responses that answered the question (0..1).
    pub share: f64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct NumberStats {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub median: f64,
    pub distribution: Vec<ValueCount>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct ValueCount {
    pub value: f64,
    pub count: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct Nps {
    /// % promoters (9-10) minus % detractors (0-6), -100..100.
    pub score: f64,
    pub promoters: i64,
    pub passives: i64,
    pub detractors: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct RowResult {
    pub row_id: String,
    pub label: String,
    pub options: Vec<OptionCount>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct RankResult {
    pub option_id: String,
    pub label: String,
    /// How many ranked it.
    pub count: i64,
    /// 1 is best.
    pub mean_position: f64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct QuestionResult {
    pub question_id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    /// Responses that answered this question.
    pub answered: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<OptionCount>>,
    /// How many wrote a text with an "other" option.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_texts: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats: Option<NumberStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nps: Option<Nps>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<RowResult>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ranking: Option<Vec<RankResult>>,
    /// Text answers given (read them through the responses list).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text_count: Option<i64>,
}

/// `?` placeholders in the SQLite form, turned into `$n` for PostgreSQL.
fn stmt(backend: DbBackend, sql: &str, values: Vec<DbValue>) -> Statement {
    let sql = if backend == DbBackend::Postgres {
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for c in sql.chars() {
            if c == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(c);
            }
        }
        out
    } else {
        sql.to_owned()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// One aggregated cell: (group, question, row, option, num) -> count, texts.
#[derive(Debug, Default, Clone)]
struct Cell {
    count: i64,
    texts: i64,
}

type Key = (String, String, Option<String>, Option<String>, Option<i64>);

/// Everything in one pass over the items: counts per (group, question, row, option, number).
/// Numbers are grouped by value (scales and typical numeric answers have few distinct values).
async fn cells(
    db: &impl ConnectionTrait,
    survey_id: Uuid,
    group: &Grouping,
) -> Result<HashMap<Key, Cell>, DbErr> {
    let backend = db.get_database_backend();
    let (group_sql, join_sql, mut values) = grouping_sql(group);
    values.push(survey_id.into());
    // Numbers are scaled to thousandths so they group exactly as integers on both databases.
    let sql = format!(
        "SELECT {group_sql} AS grp, i.question_id AS q, i.row_id AS row_id, i.option_id AS opt, \
         CAST(ROUND(i.num * 1000) AS BIGINT) AS num, COUNT(*) AS n, COUNT(i.text) AS texts \
         FROM survey_answer_items i{join_sql} WHERE i.survey_id = ? \
         GROUP BY {}i.question_id, i.row_id, i.option_id, CAST(ROUND(i.num * 1000) AS BIGINT)",
        group_term(group, group_sql)
    );
    let rows = db.query_all_raw(stmt(backend, &sql, values)).await?;
    let mut out = HashMap::new();
    for row in rows {
        let key: Key = (
            row.try_get::<Option<String>>("", "grp")?
                .unwrap_or_default(),
            row.try_get("", "q")?,
            row.try_get("", "row_id")?,
            row.try_get("", "opt")?,
            row.try_get("", "num")?,
        );
        out.insert(
            key,
            Cell {
                count: row.try_get("", "n")?,
                texts: row.try_get("", "texts")?,
            },
        );
    }
    Ok(out)
}

/// Responses per (group, question) that answered it, and per group overall.
async fn answered(
    db: &impl ConnectionTrait,
    survey_id: Uuid,
    group: &Grouping,
) -> Result<(HashMap<(String, String), i64>, BTreeMap<String, i64>), DbErr> {
    let backend = db.get_database_backend();
    let (group_sql, join_sql, mut values) = grouping_sql(group);
    values.push(survey_id.into());
    let sql = format!(
        "SELECT {group_sql} AS grp, i.question_id AS q, COUNT(DISTINCT i.response_id) AS n \
         FROM survey_answer_items i{join_sql} WHERE i.survey_id = ? GROUP BY {}i.question_id",
        group_term(group, group_sql)
    );
    let mut per_question = HashMap::new();
    for row in db
        .query_all_raw(stmt(backend, &sql, values.clone()))
        .await?
    {
        per_question.insert(
            (
                row.try_get::<Option<String>>("", "grp")?
                    .unwrap_or_default(),
                row.try_get("", "q")?,
            ),
            row.try_get::<i64>("", "n")?,
        );
    }
    let mut per_group = BTreeMap::new();
    if *group == Grouping::None {
        return Ok((per_question, per_group));
    }
    let sql = format!(
        "SELECT {group_sql} AS grp, COUNT(DISTINCT i.response_id) AS n \
         FROM survey_answer_items i{join_sql} WHERE i.survey_id = ? GROUP BY {group_sql}"
    );
    for row in db.query_all_raw(stmt(backend, &sql, values)).await? {
        per_group.insert(
            row.try_get::<Option<String>>("", "grp")?
                .unwrap_or_default(),
            row.try_get::<i64>("", "n")?,
        );
    }
    Ok((per_question, per_group))
}

async fn completion(
    db: &impl ConnectionTrait,
    survey_id: Uuid,
) -> Result<(i64, Vec<DayCount>), DbErr> {
    let backend = db.get_database_backend();
    let day = if backend == DbBackend::Postgres {
        "TO_CHAR(submitted_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')"
    } else {
        "SUBSTR(DATETIME(submitted_at, '+8 hours'), 1, 10)"
    };
    let sql = format!(
        "SELECT {day} AS d, COUNT(*) AS n FROM survey_responses WHERE survey_id = ? GROUP BY {day} ORDER BY d"
    );
    let mut total = 0;
    let mut out = Vec::new();
    for row in db
        .query_all_raw(stmt(backend, &sql, vec![survey_id.into()]))
        .await?
    {
        let count: i64 = row.try_get("", "n")?;
        total += count;
        out.push(DayCount {
            date: row.try_get::<Option<String>>("", "d")?.unwrap_or_default(),
            count,
        });
    }
    Ok((total, out))
}

/// The grouping key's expression, the join it needs and that join's parameters.
fn grouping_sql(group: &Grouping) -> (&'static str, &'static str, Vec<DbValue>) {
    match group {
        Grouping::None => ("''", "", vec![]),
        Grouping::SubDistrict => (
            "COALESCE(r.sub_district, '')",
            " JOIN survey_responses r ON r.id = i.response_id",
            vec![],
        ),
        Grouping::Question(q) => (
            "g.option_id",
            " JOIN survey_answer_items g ON g.response_id = i.response_id AND g.question_id = ?",
            vec![q.clone().into()],
        ),
    }
}

/// The grouping expression as the head of a GROUP BY list (PostgreSQL refuses a constant).
fn group_term(group: &Grouping, sql: &str) -> String {
    if *group == Grouping::None {
        String::new()
    } else {
        format!("{sql}, ")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grouping {
    None,
    SubDistrict,
    Question(String),
}

/// Every question of every version, latest definition (and labels) first.
pub struct Catalogue {
    questions: Vec<Question>,
}

impl Catalogue {
    /// Questions in the order of the latest version, followed by those only earlier versions
    /// had; option and row labels as the latest version that has them says.
    pub fn new(versions: &[PublishedSurvey]) -> Self {
        let mut questions: Vec<Question> = Vec::new();
        for v in versions.iter().rev() {
            for page in &v.pages {
                for q in &page.questions {
                    if matches!(q.kind, QuestionKind::Note {}) {
                        continue;
                    }
                    match questions.iter_mut().find(|e| e.id == q.id) {
                        None => questions.push(q.clone()),
                        Some(existing) => merge_options(existing, q),
                    }
                }
            }
        }
        Self { questions }
    }

    pub fn get(&self, id: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.id == id)
    }

    pub fn questions(&self) -> &[Question] {
        &self.questions
    }
}

/// Options an earlier version had and the latest dropped still count in results.
fn merge_options(latest: &mut Question, earlier: &Question) {
    let add = |into: &mut Vec<super::domain::ChoiceOption>,
               from: &[super::domain::ChoiceOption]| {
        for o in from {
            if into.iter().all(|e| e.id != o.id) {
                into.push(o.clone());
            }
        }
    };
    match (&mut latest.kind, &earlier.kind) {
        (QuestionKind::Single { options }, k)
        | (QuestionKind::Dropdown { options }, k)
        | (QuestionKind::Multi { options, .. }, k)
        | (QuestionKind::Ranking { options, .. }, k)
        | (QuestionKind::Matrix { options, .. }, k) => add(options, k.options()),
        _ => {}
    }
}

fn share(count: i64, of: i64) -> f64 {
    if of == 0 {
        0.0
    } else {
        ((count as f64 / of as f64) * 10_000.0).round() / 10_000.0
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn question_result(
    q: &Question,
    group: &str,
    cells: &HashMap<Key, Cell>,
    answered: i64,
    region_labels: &HashMap<String, String>,
) -> QuestionResult {
    let mine: Vec<(&Key, &Cell)> = cells
        .iter()
        .filter(|((g, qid, ..), _)| g == group && qid == &q.id)
        .collect();
    let count_of = |row: Option<&str>, opt: &str| -> (i64, i64) {
        mine.iter()
            .filter(|((_, _, r, o, _), _)| r.as_deref() == row && o.as_deref() == Some(opt))
            .fold((0, 0), |(n, t), (_, c)| (n + c.count, t + c.texts))
    };
    let mut out = QuestionResult {
        question_id: q.id.clone(),
        type_: q.kind.type_name().to_owned(),
        title: q.title.clone(),
        answered,
        options: None,
        other_texts: None,
        stats: None,
        nps: None,
        rows: None,
        ranking: None,
        text_count: None,
    };
    match &q.kind {
        QuestionKind::Single { options }
        | QuestionKind::Dropdown { options }
        | QuestionKind::Multi { options, .. } => {
            let mut texts = 0;
            out.options = Some(
                options
                    .iter()
                    .map(|o| {
                        let (count, t) = count_of(None, &o.id);
                        texts += t;
                        OptionCount {
                            option_id: o.id.clone(),
                            label: o.label.clone(),
                            count,
                            share: share(count, answered),
                        }
                    })
                    .collect(),
            );
            out.other_texts = Some(texts);
        }
        QuestionKind::Matrix { rows, options, .. } => {
            out.rows = Some(
                rows.iter()
                    .map(|r| {
                        let row_answered: i64 =
                            options.iter().map(|o| count_of(Some(&r.id), &o.id).0).sum();
                        RowResult {
                            row_id: r.id.clone(),
                            label: r.label.clone(),
                            options: options
                                .iter()
                                .map(|o| {
                                    let count = count_of(Some(&r.id), &o.id).0;
                                    OptionCount {
                                        option_id: o.id.clone(),
                                        label: o.label.clone(),
                                        count,
                                        share: share(count, row_answered),
                                    }
                                })
                                .collect(),
                        }
                    })
                    .collect(),
            );
        }
        QuestionKind::Ranking { options, .. } => {
            out.ranking = Some(
                options
                    .iter()
                    .map(|o| {
                        let (n, sum) = mine
                            .iter()
                            .filter(|((_, _, _, opt, _), _)| opt.as_deref() == Some(o.id.as_str()))
                            .fold((0i64, 0f64), |(n, s), ((.., num), c)| {
                                (
                                    n + c.count,
                                    s + num.unwrap_or(0) as f64 / 1000.0 * c.count as f64,
                                )
                            });
                        RankResult {
                            option_id: o.id.clone(),
                            label: o.label.clone(),
                            count: n,
                            mean_position: if n == 0 { 0.0 } else { round2(sum / n as f64) },
                        }
                    })
                    .collect(),
            );
        }
        QuestionKind::Number { .. } | QuestionKind::Scale { .. } => {
            let mut dist: Vec<ValueCount> = mine
                .iter()
                .filter_map(|((.., num), c)| {
                    num.map(|n| ValueCount {
                        value: n as f64 / 1000.0,
                        count: c.count,
                    })
                })
                .collect();
            dist.sort_by(|a, b| a.value.total_cmp(&b.value));
            let total: i64 = dist.iter().map(|d| d.count).sum();
            if total > 0 {
                let sum: f64 = dist.iter().map(|d| d.value * d.count as f64).sum();
                out.stats = Some(NumberStats {
                    min: dist.first().map(|d| d.value).unwrap_or_default(),
                    max: dist.last().map(|d| d.value).unwrap_or_default(),
                    mean: round2(sum / total as f64),
                    median: median(&dist, total),
                    distribution: dist.clone(),
                });
            }
            if let QuestionKind::Scale { nps: true, .. } = q.kind {
                let band = |lo: f64, hi: f64| {
                    dist.iter()
                        .filter(|d| d.value >= lo && d.value <= hi)
                        .map(|d| d.count)
                        .sum::<i64>()
                };
                let (promoters, passives, detractors) =
                    (band(9.0, 10.0), band(7.0, 8.0), band(0.0, 6.0));
                out.nps = Some(Nps {
                    score: if total == 0 {
                        0.0
                    } else {
                        round2((promoters - detractors) as f64 * 100.0 / total as f64)
                    },
                    promoters,
                    passives,
                    detractors,
                });
            }
        }
        QuestionKind::Region {} => {
            let mut by_code: BTreeMap<String, i64> = BTreeMap::new();
            for ((.., opt, _), c) in &mine {
                if let Some(code) = opt {
                    *by_code.entry(code.clone()).or_default() += c.count;
                }
            }
            out.options = Some(
                by_code
                    .into_iter()
                    .map(|(code, count)| OptionCount {
                        label: region_labels
                            .get(&code)
                            .cloned()
                            .unwrap_or_else(|| code.clone()),
                        option_id: code,
                        count,
                        share: share(count, answered),
                    })
                    .collect(),
            );
        }
        QuestionKind::Text { .. } | QuestionKind::Date { .. } => {
            out.text_count = Some(mine.iter().map(|(_, c)| c.texts).sum());
        }
        QuestionKind::Note {} => {}
    }
    out
}

fn median(dist: &[ValueCount], total: i64) -> f64 {
    let value_at = |k: i64| {
        let mut seen = 0;
        for d in dist {
            seen += d.count;
            if seen > k {
                return d.value;
            }
        }
        dist.last().map(|d| d.value).unwrap_or_default()
    };
    if total % 2 == 1 {
        value_at(total / 2)
    } else {
        round2((value_at(total / 2 - 1) + value_at(total / 2)) / 2.0)
    }
}

pub async fn compute(
    db: &impl ConnectionTrait,
    survey_id: Uuid,
    current_version: Option<i32>,
    catalogue: &Catalogue,
    group: Grouping,
    unit_labels: &HashMap<String, String>,
) -> Result<Results, DbErr> {
    let (response_count, completion) = completion(db, survey_id).await?;
    let overall_cells = cells(db, survey_id, &Grouping::None).await?;
    let (overall_answered, _) = answered(db, survey_id, &Grouping::None).await?;
    let questions = catalogue
        .questions()
        .iter()
        .map(|q| {
            let n = overall_answered
                .get(&(String::new(), q.id.clone()))
                .copied()
                .unwrap_or(0);
            question_result(q, "", &overall_cells, n, unit_labels)
        })
        .collect();
    let mut groups = Vec::new();
    let group_name = match &group {
        Grouping::None => None,
        Grouping::SubDistrict => Some("sub_district".to_owned()),
        Grouping::Question(q) => Some(q.clone()),
    };
    if group != Grouping::None {
        let group_cells = cells(db, survey_id, &group).await?;
        let (per_question, per_group) = answered(db, survey_id, &group).await?;
        for (key, count) in per_group {
            let label = match &group {
                Grouping::SubDistrict => unit_labels.get(&key).cloned().unwrap_or_else(|| {
                    if key.is_empty() {
                        "未填写".into()
                    } else {
                        key.clone()
                    }
                }),
                Grouping::Question(q) => catalogue
                    .get(q)
                    .and_then(|q| q.option(&key))
                    .map(|o| o.label.clone())
                    .unwrap_or_else(|| key.clone()),
                Grouping::None => key.clone(),
            };
            groups.push(GroupResult {
                questions: catalogue
                    .questions()
                    .iter()
                    .map(|q| {
                        let n = per_question
                            .get(&(key.clone(), q.id.clone()))
                            .copied()
                            .unwrap_or(0);
                        question_result(q, &key, &group_cells, n, unit_labels)
                    })
                    .collect(),
                key,
                label,
                response_count: count,
            });
        }
    }
    Ok(Results {
        survey_id,
        current_version,
        response_count,
        completion,
        questions,
        group_by: group_name,
        groups,
    })
}
