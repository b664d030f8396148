//! One SVG chart per question of the results, drawn by plotters on the server so the console,
//! printed reports and the mini-program show the same picture without a chart library of
//! their own. Horizontal bars throughout: Chinese option labels are long and read best on the
//! left of their bar.

use plotters::{
    prelude::{IntoDrawingArea, Rectangle, SVGBackend, Text},
    style::{Color, IntoFont, RGBColor, TextStyle},
};

use super::results::QuestionResult;

const WIDTH: u32 = 640;
const ROW: i32 = 30;
const TOP: i32 = 36;
const LABEL_W: i32 = 220;
const BAR_MAX: i32 = 300;

// Dark enough on white for WCAG AA (contrast above 4.5:1) for the labels drawn next to them.
const INK: RGBColor = RGBColor(0x1a, 0x1a, 0x1a);
const MUTED: RGBColor = RGBColor(0x4a, 0x4a, 0x4a);
const BAR: RGBColor = RGBColor(0x1f, 0x5f, 0xa8);
const RED: RGBColor = RGBColor(0xb0, 0x2a, 0x2a);
const GREY: RGBColor = RGBColor(0x6b, 0x6b, 0x6b);
const GREEN: RGBColor = RGBColor(0x1e, 0x7a, 0x3c);

/// One bar: its label, its count, and the share shown beside the count (0..1) when known.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub count: i64,
    pub share: Option<f64>,
    colour: RGBColor,
}

impl Bar {
    fn new(label: impl Into<String>, count: i64, share: Option<f64>) -> Self {
        Self {
            label: label.into(),
            count,
            share,
            colour: BAR,
        }
    }
}

/// What a question's chart shows: a headline (NPS, mean) and the bars.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartData {
    pub headline: String,
    pub bars: Vec<Bar>,
}

fn number(v: f64) -> String {
    if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The bars of a question's results; `None` for questions without a chart (text, date,
/// region: read them through the responses list).
pub fn chart_data(q: &QuestionResult) -> Option<ChartData> {
    let answered = format!("{} 人作答", q.answered);
    if let Some(nps) = &q.nps {
        let total = (nps.promoters + nps.passives + nps.detractors).max(1) as f64;
        let share = |n: i64| Some(n as f64 / total);
        return Some(ChartData {
            headline: format!("NPS {} · {answered}", number(nps.score)),
            bars: vec![
                Bar {
                    colour: RED,
                    ..Bar::new("贬损者（0-6）", nps.detractors, share(nps.detractors))
                },
                Bar {
                    colour: GREY,
                    ..Bar::new("中立者（7-8）", nps.passives, share(nps.passives))
                },
                Bar {
                    colour: GREEN,
                    ..Bar::new("推荐者（9-10）", nps.promoters, share(nps.promoters))
                },
            ],
        });
    }
    if let Some(options) = &q.options {
        return Some(ChartData {
            headline: answered,
            bars: options
                .iter()
                .map(|o| Bar::new(o.label.clone(), o.count, Some(o.share)))
                .collect(),
        });
    }
    if let Some(stats) = &q.stats {
        let total = stats
            .distribution
            .iter()
            .map(|d| d.count)
            .sum::<i64>()
            .max(1) as f64;
        return Some(ChartData {
            headline: format!(
                "平均 {} · 中位数 {} · {answered}",
                number(stats.mean),
                number(stats.median)
            ),
            bars: stats
                .distribution
                .iter()
                .map(|d| Bar::new(number(d.value), d.count, Some(d.count as f64 / total)))
                .collect(),
        });
    }
    if let Some(rows) = &q.rows {
        return Some(ChartData {
            headline: answered,
            bars: rows
                .iter()
                .flat_map(|r| {
                    r.options.iter().map(move |o| {
                        Bar::new(format!("{}：{}", r.label, o.label), o.count, Some(o.share))
                    })
                })
                .collect(),
        });
    }
    if let Some(ranking) = &q.ranking {
        return Some(ChartData {
            headline: format!("{answered} · 括号内为平均名次"),
            bars: ranking
                .iter()
                .map(|r| {
                    Bar::new(
                        format!("{}（{:.1}）", r.label, r.mean_position),
                        r.count,
                        None,
                    )
                })
                .collect(),
        });
    }
    None
}

fn shorten(label: &str, max_chars: usize) -> String {
    if label.chars().count() <= max_chars {
        label.to_owned()
    } else {
        let mut s: String = label.chars().take(max_chars - 1).collect();
        s.push('…');
        s
    }
}

/// The chart as an SVG document; `None` when the question has no chart. plotters writes no
/// `aria` attributes: the console puts the chart in a labelled figure with the numbers as a
/// table beside it, so a screen reader gets them as text.
pub fn question_svg(q: &QuestionResult) -> Option<Result<String, String>> {
    chart_data(q).map(|data| render(&data))
}

fn render(data: &ChartData) -> Result<String, String> {
    let n = i32::try_from(data.bars.len()).unwrap_or(i32::MAX / ROW - 2);
    let height = u32::try_from(TOP + ROW * n.max(1) + 12).unwrap_or(120);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        let err = |e: plotters::drawing::DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&plotters::style::WHITE).map_err(err)?;
        let font = |size: i32, colour: RGBColor| -> TextStyle<'static> {
            ("sans-serif", size).into_font().color(&colour)
        };
        root.draw(&Text::new(data.headline.clone(), (8, 10), font(15, INK)))
            .map_err(err)?;
        let max = data.bars.iter().map(|b| b.count).max().unwrap_or(0).max(1);
        for (i, bar) in data.bars.iter().enumerate() {
            let y = TOP + ROW * i32::try_from(i).unwrap_or(0);
            root.draw(&Text::new(
                shorten(&bar.label, 14),
                (8, y + 6),
                font(14, INK),
            ))
            .map_err(err)?;
            let len = i32::try_from(i64::from(BAR_MAX) * bar.count / max).unwrap_or(BAR_MAX);
            if len > 0 {
                root.draw(&Rectangle::new(
                    [(LABEL_W, y + 2), (LABEL_W + len, y + ROW - 6)],
                    bar.colour.filled(),
                ))
                .map_err(err)?;
            }
            let value = match bar.share {
                Some(s) => format!("{} ({:.0}%)", bar.count, s * 100.0),
                None => bar.count.to_string(),
            };
            root.draw(&Text::new(
                value,
                (LABEL_W + len + 8, y + 6),
                font(14, MUTED),
            ))
            .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::surveys::results::{Nps, OptionCount};

    fn question(options: Option<Vec<OptionCount>>, nps: Option<Nps>) -> QuestionResult {
        serde_json::from_value::<QuestionResult>(serde_json::json!({
            "question_id": "q", "type": "single", "title": "t", "answered": 5
        }))
        .map(|mut q| {
            q.options = options;
            q.nps = nps;
            q
        })
        .expect("question result")
    }

    #[test]
    fn option_bars_carry_counts_and_shares_and_escape_labels() {
        let q = question(
            Some(vec![
                OptionCount {
                    option_id: "a".into(),
                    label: "满意 <很>".into(),
                    count: 3,
                    share: 0.6,
                },
                OptionCount {
                    option_id: "b".into(),
                    label: "不满意".into(),
                    count: 2,
                    share: 0.4,
                },
            ]),
            None,
        );
        let svg = question_svg(&q).expect("chart").expect("drawn");
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("3 (60%)") && svg.contains("2 (40%)"), "{svg}");
        assert!(svg.contains("满意 &lt;很&gt;"), "{svg}");
        assert_eq!(
            svg.matches("<rect").count(),
            3,
            "background and two bars: {svg}"
        );
    }

    #[test]
    fn nps_shows_score_and_three_groups() {
        let q = question(
            None,
            Some(Nps {
                score: 20.0,
                promoters: 2,
                passives: 2,
                detractors: 1,
            }),
        );
        let data = chart_data(&q).expect("chart");
        assert_eq!(data.headline, "NPS 20 · 5 人作答");
        let counts: Vec<i64> = data.bars.iter().map(|b| b.count).collect();
        assert_eq!(counts, vec![1, 2, 2]);
    }

    #[test]
    fn text_questions_have_no_chart() {
        assert!(question_svg(&question(None, None)).is_none());
    }
}
