//! The console's pages, rendered on the server with maud (escaped by default). Interactive
//! parts (the survey editor and its preview, the camera at the check-in desk) are small ES
//! modules under `assets/` that enhance these pages.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::{
    accounts::StaffView,
    audit::AuditEntryView,
    auth::CurrentStaff,
    deliberation::dto::{MeetingView, OutcomeDetail, OutcomeView, StaffSignupView},
    error::ApiError,
    open_days::{OpenDayStats, OpenDayView, VisitorView},
    org_units::OrgUnitView,
    surveys::{
        StaffSurveyView, SurveyStatus, SurveySummary,
        charts::chart_data,
        results::{QuestionResult, Results},
    },
};

fn status_label(s: SurveyStatus) -> &'static str {
    match s {
        SurveyStatus::Draft => "草稿",
        SurveyStatus::Published => "收集中",
        SurveyStatus::Closed => "已结束",
    }
}

pub(super) fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    // Staff read Beijing time.
    (t + chrono::Duration::hours(8))
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The page frame. `staff` is absent on the login page.
pub(super) fn layout(title: &str, staff: Option<(&CurrentStaff, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · 参与 工作台" }
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body {
                a.skip href="#main" { "跳到正文" }
                header.top {
                    span.brand { "参与 · 工作台" }
                    @if let Some((staff, csrf)) = staff {
                        nav aria-label="主导航" {
                            a href="/console" { "首页" }
                            a href="/console/surveys" { "问卷" }
                            a href="/console/deliberations" { "议事签到" }
                            a href="/console/outcomes" { "议事成果" }
                            a href="/console/open-days" { "开放日" }
                            a href="/console/officers" { "特邀体验员" }
                            @if staff.is_admin { a href="/console/admin" { "系统管理" } }
                        }
                        span.who {
                            (staff.username) "（"
                            @if staff.is_admin { "区级管理员" } @else { (staff.org_unit) }
                            "）"
                        }
                        form.inline method="post" action="/console/logout" {
                            input type="hidden" name="csrf" value=(csrf);
                            button.link type="submit" { "退出" }
                        }
                    }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

pub fn login_page(error: Option<&str>, username: &str) -> Markup {
    layout(
        "工作人员登录",
        None,
        html! {
            form.card.narrow method="post" action="/console/login" {
                @if let Some(e) = error {
                    p.alert role="alert" #login-error { (e) }
                }
                label for="username" { "用户名" }
                input #username name="username" type="text" autocomplete="username" required
                    value=(username) autofocus;
                label for="password" { "密码" }
                input #password name="password" type="password" autocomplete="current-password" required;
                button.primary type="submit" { "登录" }
            }
        },
    )
}

pub fn error_page(e: &ApiError) -> Markup {
    layout(
        "无法完成操作",
        None,
        html! {
            div.card {
                p.alert role="alert" #error-detail { (e.detail()) }
                @if !e.field_errors().is_empty() {
                    ul.errors {
                        @for f in e.field_errors() { li { code { (f.field) } "：" (f.message) } }
                    }
                }
                p.muted { "错误代码：" code #error-code { (e.code()) } }
                p { a href="javascript:history.back()" { "返回上一页" } " · " a href="/console" { "回到首页" } }
            }
        },
    )
}

pub fn home(
    staff: &CurrentStaff,
    csrf: &str,
    open: &[SurveySummary],
    meetings: &[MeetingView],
    overdue: &[OutcomeView],
    open_days: &[OpenDayView],
    officers: Markup,
) -> Markup {
    layout(
        "首页",
        Some((staff, csrf)),
        html! {
            div.grid {
                section.card aria-labelledby="h-open" {
                    h2 #h-open { "收集中的问卷" }
                    @if open.is_empty() { p.muted { "暂无收集中的问卷。" } }
                    ul.plain {
                        @for s in open {
                            li {
                                a href=(format!("/console/surveys/{}/results", s.id)) { (s.title) }
                                span.badge { (s.response_count.unwrap_or(0)) " 份答卷" }
                            }
                        }
                    }
                    p { a.button href="/console/surveys/new" { "新建问卷" } }
                }
                section.card aria-labelledby="h-overdue" {
                    h2 #h-overdue { "逾期未完成的议事成果" }
                    @if overdue.is_empty() { p.muted { "没有逾期的成果。" } }
                    ul.plain {
                        @for o in overdue {
                            li {
                                a href=(format!("/console/outcomes/{}", o.id)) { (o.title) }
                                span.muted { " 时限 " (o.due_date) }
                                span.badge { (o.percent) "%" }
                            }
                        }
                    }
                }
                section.card aria-labelledby="h-meet" {
                    h2 #h-meet { "即将召开的议事会" }
                    @if meetings.is_empty() { p.muted { "暂无即将召开的议事会。" } }
                    ul.plain {
                        @for m in meetings {
                            li {
                                a href=(format!("/console/deliberations/{}/desk", m.id)) { (m.title) }
                                span.muted { " " (when(m.starts_at)) }
                                span.badge { "剩余 " (m.seats_left) " / 共 " (m.capacity) }
                            }
                        }
                    }
                }
                section.card aria-labelledby="h-open-days" {
                    h2 #h-open-days { "即将举办的开放日" }
                    @if open_days.is_empty() { p.muted { "暂无即将举办的开放日。" } }
                    ul.plain #home-open-days {
                        @for d in open_days {
                            @let capacity = d.slots.iter().map(|s| i64::from(s.capacity)).sum::<i64>();
                            @let left = d.slots.iter().map(|s| i64::from(s.seats_left)).sum::<i64>();
                            li {
                                a href=(format!("/console/open-days/{}/desk", d.id)) { (d.title) }
                                @if let Some(first) = d.slots.iter().map(|s| s.starts_at).min() {
                                    span.muted { " " (when(first)) }
                                }
                                span.badge { "已约 " (capacity - left) " / 共 " (capacity) " 个名额" }
                            }
                        }
                    }
                }
                (officers)
            }
        },
    )
}

pub fn surveys_list(staff: &CurrentStaff, csrf: &str, surveys: &[SurveySummary]) -> Markup {
    layout(
        "问卷",
        Some((staff, csrf)),
        html! {
            p { a.button.primary href="/console/surveys/new" { "新建问卷" } }
            table.data {
                caption.sr { "本单位的问卷" }
                thead { tr { th scope="col" { "标题" } th scope="col" { "单位" } th scope="col" { "状态" }
                    th scope="col" { "版本" } th scope="col" { "答卷" } th scope="col" { "操作" } } }
                tbody {
                    @for s in surveys {
                        tr {
                            td { a href=(format!("/console/surveys/{}", s.id)) { (s.title) } }
                            td { (s.org_unit) }
                            td { (status_label(s.status)) }
                            td { @if let Some(v) = s.current_version { "第 " (v) " 版" } @else { "—" } }
                            td { (s.response_count.unwrap_or(0)) }
                            td { a href=(format!("/console/surveys/{}/results", s.id)) { "查看结果" } }
                        }
                    }
                }
            }
            @if surveys.is_empty() { p.muted { "还没有问卷。" } }
        },
    )
}

fn json_for_script(v: &impl serde::Serialize) -> String {
    // Inside <script>, "</" would end the element early.
    serde_json::to_string(v)
        .unwrap_or_else(|_| "null".into())
        .replace("</", "<\\/")
}

pub fn editor(
    staff: &CurrentStaff,
    csrf: &str,
    survey: Option<&StaffSurveyView>,
    default_org_unit: &str,
) -> Markup {
    let title = match survey {
        Some(s) => format!("编辑问卷：{}", s.draft.title),
        None => "新建问卷".to_owned(),
    };
    let draft = survey.map(|s| json_for_script(&s.draft));
    let id = survey.map(|s| s.id.to_string()).unwrap_or_default();
    layout(
        &title,
        Some((staff, csrf)),
        html! {
            @if let Some(s) = survey {
                div.card.status-bar {
                    span #survey-status { "状态：" (status_label(s.status)) }
                    @if let Some(v) = s.current_version { span { " · 已发布第 " (v) " 版" } }
                    span { " · " (s.response_count) " 份答卷" }
                    @if s.has_unpublished_changes && s.current_version.is_some() {
                        span.badge { "有未发布的修改（发布后成为新版本）" }
                    }
                    div.actions {
                        @if s.status != SurveyStatus::Closed {
                            form.inline method="post" action=(format!("/console/surveys/{}/publish", s.id)) {
                                input type="hidden" name="csrf" value=(csrf);
                                button.primary #publish type="submit" {
                                    @if s.current_version.is_some() { "发布新版本" } @else { "发布" }
                                }
                            }
                        }
                        @if s.status == SurveyStatus::Published {
                            form.inline method="post" action=(format!("/console/surveys/{}/close", s.id)) {
                                input type="hidden" name="csrf" value=(csrf);
                                button #close type="submit" { "结束收集" }
                            }
                        }
                        a.button href=(format!("/console/surveys/{}/results", s.id)) { "查看结果" }
                    }
                }
            }
            div.editor-layout {
                div #editor data-survey-id=(id) data-csrf=(csrf) data-org-unit=(default_org_unit) {
                    noscript { p.alert { "问卷编辑器需要启用 JavaScript。" } }
                }
                aside.preview-wrap aria-labelledby="h-preview" {
                    h2 #h-preview { "手机预览" }
                    p.muted { "按居民看到的样子显示；作答会即时套用显示条件。" }
                    div.phone #preview role="region" aria-label="手机预览" {}
                }
            }
            script type="application/json" #survey-data {
                (PreEscaped(draft.unwrap_or_else(|| "null".into())))
            }
            script type="module" src="/console/assets/editor.js" {}
        },
    )
}

fn numbers_table(q: &QuestionResult) -> Markup {
    let Some(data) = chart_data(q) else {
        return html! {};
    };
    html! {
        table.data.compact {
            caption.sr { (q.title) "：数据" }
            thead { tr { th scope="col" { "项" } th scope="col" { "人数" } th scope="col" { "占比" } } }
            tbody {
                @for b in &data.bars {
                    tr {
                        td { (b.label) }
                        td.count { (b.count) }
                        td { @if let Some(s) = b.share { (format!("{:.0}%", s * 100.0)) } @else { "—" } }
                    }
                }
            }
        }
    }
}

pub struct Chart {
    pub question_id: String,
    pub svg: Option<String>,
}

pub fn results(
    staff: &CurrentStaff,
    csrf: &str,
    survey: &StaffSurveyView,
    results: &Results,
    charts: &[Chart],
    group_by: Option<&str>,
) -> Markup {
    let groupable: Vec<&QuestionResult> = results
        .questions
        .iter()
        .filter(|q| q.type_ == "single" || q.type_ == "dropdown")
        .collect();
    layout(
        &format!("问卷结果：{}", survey.draft.title),
        Some((staff, csrf)),
        html! {
            div.card.status-bar {
                span { "状态：" (status_label(survey.status)) }
                span { " · 共 " strong #response-count { (results.response_count) } " 份答卷" }
                div.actions {
                    a.button href=(format!("/console/surveys/{}/export?format=csv", survey.id)) { "导出 CSV" }
                    a.button href=(format!("/console/surveys/{}/export?format=xlsx", survey.id)) { "导出 Excel" }
                    a.button href=(format!("/console/surveys/{}", survey.id)) { "编辑问卷" }
                }
            }
            @for (q, chart) in results.questions.iter().zip(charts) {
                section.card.question-result data-question=(q.question_id) aria-labelledby=(format!("h-{}", q.question_id)) {
                    h2 id=(format!("h-{}", q.question_id)) { (q.title) }
                    p.muted { (q.answered) " 人作答"
                        @if let Some(t) = q.text_count { " · " (t) " 条文字回答" }
                        @if let Some(o) = q.other_texts { " · " (o) " 条「其他」说明" } }
                    @if let Some(svg) = &chart.svg {
                        figure.chart role="img" aria-label=(format!("{}的图表", q.title)) {
                            (PreEscaped(svg))
                        }
                        details { summary { "查看数据表" } (numbers_table(q)) }
                        p.muted { "图表地址：" code { (format!("/api/v1/surveys/{}/results/charts/{}.svg", survey.id, chart.question_id)) } }
                    }
                }
            }
            section.card aria-labelledby="h-cross" {
                h2 #h-cross { "交叉分析" }
                form.inline method="get" {
                    label for="group_by" { "分组依据" }
                    select #group_by name="group_by" {
                        option value="" { "不分组" }
                        option value="sub_district" selected[group_by == Some("sub_district")] { "街道" }
                        @for q in &groupable {
                            option value=(q.question_id) selected[group_by == Some(q.question_id.as_str())] { (q.title) }
                        }
                    }
                    button type="submit" { "分析" }
                }
                @if !results.groups.is_empty() {
                    @for q in results.questions.iter().filter(|q| q.options.is_some()) {
                        table.data.crosstab {
                            caption { (q.title) }
                            thead { tr {
                                th scope="col" { "选项" }
                                @for g in &results.groups { th scope="col" { (g.label) "（" (g.response_count) "）" } }
                            } }
                            tbody {
                                @for o in q.options.iter().flatten() {
                                    tr {
                                        th scope="row" { (o.label) }
                                        @for g in &results.groups {
                                            td { (g.questions.iter().find(|x| x.question_id == q.question_id)
                                                .and_then(|x| x.options.as_ref())
                                                .and_then(|os| os.iter().find(|x| x.option_id == o.option_id))
                                                .map(|x| x.count).unwrap_or(0)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                } @else if group_by.is_some_and(|g| !g.is_empty()) {
                    p.muted { "暂无可分组的答卷。" }
                }
            }
        },
    )
}

pub fn meetings(staff: &CurrentStaff, csrf: &str, meetings: &[MeetingView]) -> Markup {
    layout(
        "议事签到",
        Some((staff, csrf)),
        html! {
            p { a.button.primary href="/console/deliberations/new" { "新建议事会" } }
            table.data {
                caption.sr { "即将召开的议事会" }
                thead { tr { th scope="col" { "议事会" } th scope="col" { "时间" } th scope="col" { "地点" } th scope="col" { "操作" } } }
                tbody {
                    @for m in meetings {
                        tr {
                            td { (m.title) }
                            td { (when(m.starts_at)) }
                            td { (m.location) }
                            td { a href=(format!("/console/deliberations/{}/desk", m.id)) { "签到台" } }
                        }
                    }
                }
            }
            @if meetings.is_empty() { p.muted { "暂无即将召开的议事会。" } }
        },
    )
}

/// What the desk says after a code was entered.
pub enum DeskOutcome {
    CheckedIn { name: String },
    Refused { detail: String, code: String },
}

/// The check-in desk, for a meeting or an open day: `post_to` takes the code; `below` is the
/// list of who is expected (masked) or the slots' figures.
pub fn desk(
    staff: &CurrentStaff,
    csrf: &str,
    post_to: &str,
    title: &str,
    outcome: Option<&DeskOutcome>,
    below: Markup,
) -> Markup {
    layout(
        &format!("签到台：{title}"),
        Some((staff, csrf)),
        html! {
            div #desk-result aria-live="polite" {
                @match outcome {
                    Some(DeskOutcome::CheckedIn { name }) => p.ok role="status" { "签到成功：" (name) },
                    Some(DeskOutcome::Refused { detail, code }) => p.alert role="alert" data-code=(code) { "未能签到：" (detail) },
                    None => {},
                }
            }
            form.card.narrow #desk-form method="post" action=(post_to) {
                input type="hidden" name="csrf" value=(csrf);
                label for="code" { "签到码或二维码内容" }
                input #code name="code" type="text" autocomplete="off" required autofocus
                    aria-describedby="code-hint";
                p.muted #code-hint { "输入居民出示的 8 位签到码，或扫描二维码。" }
                button.primary type="submit" { "签到" }
                button #scan type="button" hidden { "用摄像头扫码" }
                video #camera hidden muted playsinline aria-label="摄像头画面" {}
            }
            (below)
            script type="module" src="/console/assets/desk.js" {}
        },
    )
}

fn signup_status(s: &str) -> &'static str {
    match s {
        "confirmed" => "已确认",
        "waitlisted" => "候补",
        "cancelled" => "已取消",
        "checked_in" => "已签到",
        _ => "其他",
    }
}

/// Who signed up for a meeting, masked as the API shows staff.
pub fn signups(list: &[StaffSignupView]) -> Markup {
    html! {
        section.card aria-labelledby="h-signups" {
            h2 #h-signups { "报名与候补名单" }
            p.muted { "姓名和电话已脱敏；查看完整信息请在接口中申请并留痕。" }
            table.data #signups {
                thead { tr { th scope="col" { "姓名" } th scope="col" { "电话" } th scope="col" { "社区" }
                    th scope="col" { "状态" } th scope="col" { "签到时间" } } }
                tbody {
                    @for s in list {
                        tr {
                            td { (s.name) } td { (s.phone) } td { (s.community.as_deref().unwrap_or("—")) }
                            td { @if s.checked_in_at.is_some() { "已签到" } @else { (signup_status(&s.status)) } }
                            td { @if let Some(t) = s.checked_in_at { (when(t)) } @else { "—" } }
                        }
                    }
                }
            }
            @if list.is_empty() { p.muted { "还没有人报名。" } }
        }
    }
}

/// Seats taken, check-ins and no-shows per slot of an open day.
pub fn open_day_stats(stats: &OpenDayStats) -> Markup {
    html! {
        section.card aria-labelledby="h-stats" {
            h2 #h-stats { "各场次预约与到场" }
            table.data #slot-stats {
                thead { tr { th scope="col" { "场次" } th scope="col" { "名额" } th scope="col" { "已约" }
                    th scope="col" { "已签到" } th scope="col" { "未到场" } th scope="col" { "候补" } th scope="col" { "使用率" } } }
                tbody {
                    @for s in &stats.slots {
                        tr {
                            td { (when(s.starts_at)) } td { (s.capacity) } td { (s.taken) } td.checked-in { (s.checked_in) }
                            td { (s.no_show) } td { (s.waitlisted) } td { (format!("{:.0}%", s.utilisation * 100.0)) }
                        }
                    }
                }
            }
            p { "爽约率："
                @if let Some(r) = stats.no_show_rate { (format!("{:.0}%", r * 100.0)) } @else { "场次结束后统计" } }
        }
    }
}

pub fn open_days(staff: &CurrentStaff, csrf: &str, days: &[OpenDayView]) -> Markup {
    layout(
        "开放日签到",
        Some((staff, csrf)),
        html! {
            p { a.button.primary href="/console/open-days/new" { "新建开放日" } }
            table.data {
                caption.sr { "即将举办的开放日" }
                thead { tr { th scope="col" { "开放日" } th scope="col" { "地点" } th scope="col" { "场次" } th scope="col" { "剩余名额" } th scope="col" { "操作" } } }
                tbody {
                    @for d in days {
                        tr {
                            td { (d.title) }
                            td { (d.location) }
                            td { (d.slots.len()) }
                            td { (d.slots.iter().map(|s| i64::from(s.seats_left)).sum::<i64>()) }
                            td { a href=(format!("/console/open-days/{}/desk", d.id)) { "签到台与统计" } }
                        }
                    }
                }
            }
            @if days.is_empty() { p.muted { "暂无即将举办的开放日。" } }
        },
    )
}

pub fn admin(
    staff: &CurrentStaff,
    csrf: &str,
    accounts: &[StaffView],
    units: &[OrgUnitView],
    audit: &[AuditEntryView],
    filter: &super::routes::AuditFilter,
    error: Option<&ApiError>,
) -> Markup {
    layout(
        "系统管理",
        Some((staff, csrf)),
        html! {
            section.card aria-labelledby="h-staff" {
                h2 #h-staff { "工作人员账号" }
                table.data #staff-accounts {
                    thead { tr { th scope="col" { "用户名" } th scope="col" { "角色" } th scope="col" { "单位" } th scope="col" { "状态" } th scope="col" { "创建时间" } th scope="col" { "操作" } } }
                    tbody {
                        @for a in accounts {
                            tr {
                                td { (a.username) }
                                td { @if serde_json::to_value(a.role).ok().and_then(|v| v.as_str().map(|r| r == "admin")).unwrap_or(false) { "区级管理员" } @else { "工作人员" } }
                                td { (a.org_unit) }
                                td { @if a.disabled { "已停用" } @else if a.locked_until.is_some() { "暂时锁定" } @else { "正常" } }
                                td { (when(a.created_at)) }
                                td {
                                    @if a.username != staff.username {
                                        form.inline method="post" action=(format!("/console/admin/staff/{}/disabled", a.id))
                                            onsubmit=(if a.disabled { "" } else { "return confirm('确定停用该账号吗？停用后其登录会话立即失效。')" }) {
                                            input type="hidden" name="csrf" value=(csrf);
                                            input type="hidden" name="disabled" value=(if a.disabled { "false" } else { "true" });
                                            button type="submit" data-staff=(a.username) { @if a.disabled { "启用" } @else { "停用" } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.card aria-labelledby="h-new-staff" {
                h2 #h-new-staff { "新建工作人员账号" }
                @if let Some(e) = error {
                    div.alert role="alert" #form-errors {
                        (e.detail())
                        ul { @for f in e.field_errors() { li { code { (f.field) } "：" (f.message) } } }
                    }
                }
                form #staff-form method="post" action="/console/admin/staff" {
                    input type="hidden" name="csrf" value=(csrf);
                    div.row2 {
                        div { label for="n-username" { "用户名" } input #n-username name="username" type="text" required autocomplete="off"; }
                        div { label for="n-password" { "初始密码（至少 10 位）" } input #n-password name="password" type="password" required autocomplete="new-password"; }
                        div {
                            label for="n-role" { "角色" }
                            select #n-role name="role" { option value="staff" { "工作人员" } option value="admin" { "区级管理员" } }
                        }
                        div {
                            label for="n-unit" { "单位" }
                            select #n-unit name="org_unit" { @for u in units { option value=(u.code) { (u.name) "（" (u.code) "）" } } }
                        }
                    }
                    button.primary type="submit" { "创建账号" }
                }
            }
            section.card aria-labelledby="h-units" {
                h2 #h-units { "单位" }
                table.data {
                    thead { tr { th scope="col" { "代码" } th scope="col" { "名称" } } }
                    tbody { @for u in units { tr { td { code { (u.code) } } td { (u.name) } } } }
                }
            }
            section.card aria-labelledby="h-audit" {
                h2 #h-audit { "操作日志（最近 100 条）" }
                form #audit-filter method="get" action="/console/admin" {
                    div.row2 {
                        div {
                            label for="f-actor" { "操作人" }
                            select #f-actor name="actor" {
                                option value="" { "全部" }
                                @for a in accounts {
                                    option value=(a.id) selected[filter.actor.as_deref() == Some(a.id.to_string().as_str())] { (a.username) }
                                }
                            }
                        }
                        div { label for="f-target" { "对象编号" } input #f-target name="target" type="text" value=(filter.target.as_deref().unwrap_or("")); }
                        div { label for="f-from" { "起始日期" } input #f-from name="from" type="date" value=(filter.from.as_deref().unwrap_or("")); }
                        div { label for="f-to" { "截止日期（含当天）" } input #f-to name="to" type="date" value=(filter.to.as_deref().unwrap_or("")); }
                    }
                    button type="submit" { "筛选" } " " a href="/console/admin" { "清除筛选" }
                }
                table.data #audit-log {
                    thead { tr { th scope="col" { "时间" } th scope="col" { "操作人" } th scope="col" { "单位" } th scope="col" { "操作" } th scope="col" { "对象" } } }
                    tbody {
                        @for e in audit {
                            tr {
                                td { (when(e.at)) } td { (e.actor_name) } td { (e.actor_org_unit) }
                                td { code { (e.action) } } td { (e.target_type) " " code { (e.target_id) } }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The values of the meeting form as typed (kept when the form comes back with errors).
#[derive(Debug, Default, serde::Deserialize)]
pub struct MeetingFormValues {
    pub csrf: Option<String>,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub background: String,
    #[serde(default)]
    pub agenda: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub starts_at: String,
    #[serde(default)]
    pub ends_at: String,
    #[serde(default)]
    pub signup_opens_at: String,
    #[serde(default)]
    pub signup_closes_at: String,
    #[serde(default)]
    pub capacity: String,
    #[serde(default)]
    pub reserved_seats: String,
    pub waitlist_enabled: Option<String>,
    #[serde(default)]
    pub eligibility: String,
}

pub fn meeting_form(
    staff: &CurrentStaff,
    csrf: &str,
    v: &MeetingFormValues,
    error: Option<&ApiError>,
    target: &FormTarget,
) -> Markup {
    let (heading, action, submit) = match target {
        FormTarget::New => (
            "新建议事会",
            "/console/deliberations/new".to_owned(),
            "创建并发布",
        ),
        FormTarget::Edit(id) => (
            "修改议事会",
            format!("/console/deliberations/{id}/edit"),
            "保存修改",
        ),
    };
    let text = |id: &str, label: &str, value: &str, kind: &str| {
        html! {
            div {
                label for=(id) { (label) }
                input id=(id) name=(id) type=(kind) value=(value) required;
            }
        }
    };
    layout(
        heading,
        Some((staff, csrf)),
        html! {
            @if let Some(e) = error {
                div.alert role="alert" #form-errors {
                    (e.detail())
                    ul { @for f in e.field_errors() { li { code { (f.field) } "：" (f.message) } } }
                }
            }
            form.card #meeting-form method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                (text("title", "议题", &v.title, "text"))
                label for="background" { "背景介绍" }
                textarea #background name="background" { (v.background) }
                label for="agenda" { "议程" }
                textarea #agenda name="agenda" { (v.agenda) }
                (text("location", "地点", &v.location, "text"))
                p.muted { "时间均为北京时间。" }
                div.row2 {
                    (text("starts_at", "开始时间", &v.starts_at, "datetime-local"))
                    (text("ends_at", "结束时间", &v.ends_at, "datetime-local"))
                    (text("signup_opens_at", "报名开始", &v.signup_opens_at, "datetime-local"))
                    (text("signup_closes_at", "报名截止", &v.signup_closes_at, "datetime-local"))
                }
                div.row2 {
                    (text("capacity", "总名额", &v.capacity, "number"))
                    div {
                        label for="reserved_seats" { "预留名额（邀请代表）" }
                        input #reserved_seats name="reserved_seats" type="number" min="0" value=(v.reserved_seats);
                    }
                }
                label.check for="waitlist_enabled" {
                    input #waitlist_enabled name="waitlist_enabled" type="checkbox" value="on" checked[v.waitlist_enabled.is_some()];
                    "名额满后允许候补"
                }
                label for="eligibility" { "可报名的街道（街道代码，用逗号分隔；留空为全区）" }
                input #eligibility name="eligibility" type="text" value=(v.eligibility);
                p { button.primary type="submit" { (submit) } }
            }
        },
    )
}

fn outcome_status(s: &str) -> &'static str {
    match s {
        "not_started" => "未开始",
        "in_progress" => "推进中",
        "done" => "已完成",
        "delayed" => "已延期",
        "dropped" => "已终止",
        _ => "其他",
    }
}

pub fn outcomes(staff: &CurrentStaff, csrf: &str, list: &[OutcomeView]) -> Markup {
    layout(
        "议事成果",
        Some((staff, csrf)),
        html! {
            table.data #outcomes {
                caption.sr { "本单位议事会形成的成果" }
                thead { tr { th scope="col" { "成果" } th scope="col" { "责任单位" } th scope="col" { "完成时限" }
                    th scope="col" { "状态" } th scope="col" { "进度" } } }
                tbody {
                    @for o in list {
                        tr {
                            td { a href=(format!("/console/outcomes/{}", o.id)) { (o.title) } }
                            td { (o.responsible_unit) }
                            td { (o.due_date) @if o.overdue { " " span.badge { "已逾期" } } }
                            td { (outcome_status(&o.status)) }
                            td { (o.percent) "%" }
                        }
                    }
                }
            }
            @if list.is_empty() { p.muted { "还没有成果。成果在议事会的签到台页面登记。" } }
        },
    )
}

/// The form that records an outcome of a meeting (on the meeting's desk page).
pub fn outcome_form(meeting_id: uuid::Uuid, csrf: &str) -> Markup {
    html! {
        section.card aria-labelledby="h-new-outcome" {
            h2 #h-new-outcome { "登记议事成果" }
            form #outcome-form method="post" action=(format!("/console/deliberations/{meeting_id}/outcomes")) {
                input type="hidden" name="csrf" value=(csrf);
                label for="o-title" { "成果" }
                input #o-title name="title" type="text" required;
                label for="o-description" { "说明" }
                textarea #o-description name="description" {}
                div.row2 {
                    div { label for="o-unit" { "责任单位" } input #o-unit name="responsible_unit" type="text" required; }
                    div { label for="o-due" { "完成时限" } input #o-due name="due_date" type="date" required; }
                }
                button.primary type="submit" { "登记" }
            }
        }
    }
}

pub fn outcome_detail(
    staff: &CurrentStaff,
    csrf: &str,
    d: &OutcomeDetail,
    error: Option<&ApiError>,
) -> Markup {
    let o = &d.outcome;
    layout(
        &format!("议事成果：{}", o.title),
        Some((staff, csrf)),
        html! {
            div.card.status-bar {
                span { "议事会：" (d.meeting.title) }
                span { " · 责任单位：" (o.responsible_unit) }
                span { " · 完成时限：" (o.due_date) }
                span #outcome-status { " · " (outcome_status(&o.status)) " " (o.percent) "%" }
                @if o.overdue { span.badge { "已逾期" } }
                span.muted { " · " (d.followers) " 位居民关注" }
            }
            @if !o.description.is_empty() { p { (o.description) } }
            section.card aria-labelledby="h-timeline" {
                h2 #h-timeline { "进展时间线" }
                @if d.timeline.is_empty() { p.muted { "还没有进展记录。" } }
                ol #timeline {
                    @for p in &d.timeline {
                        li {
                            strong { (p.happened_on) } " · " (outcome_status(&p.status)) " · " (p.percent) "%"
                            @if p.corrects.is_some() { " " span.badge { "更正" } }
                            div { (p.note) }
                        }
                    }
                }
            }
            section.card aria-labelledby="h-progress" {
                h2 #h-progress { "记录进展" }
                @if let Some(e) = error {
                    div.alert role="alert" #form-errors {
                        (e.detail())
                        ul { @for f in e.field_errors() { li { code { (f.field) } "：" (f.message) } } }
                    }
                }
                form #progress-form method="post" action=(format!("/console/outcomes/{}/progress", o.id)) {
                    input type="hidden" name="csrf" value=(csrf);
                    div.row3 {
                        div {
                            label for="p-status" { "状态" }
                            select #p-status name="status" {
                                @for (v, t) in [("in_progress", "推进中"), ("done", "已完成"), ("delayed", "已延期"), ("not_started", "未开始"), ("dropped", "已终止")] {
                                    option value=(v) selected[o.status == v] { (t) }
                                }
                            }
                        }
                        div { label for="p-percent" { "完成百分比" } input #p-percent name="percent" type="number" min="0" max="100" required value=(o.percent); }
                        div { label for="p-date" { "日期" } input #p-date name="happened_on" type="date" required; }
                    }
                    label for="p-note" { "进展说明（居民可见）" }
                    textarea #p-note name="note" required {}
                    button.primary type="submit" { "发布进展" }
                }
            }
        },
    )
}

/// The open-day form as typed: the event and up to three slots (empty rows are left out).
pub type FormValues = std::collections::BTreeMap<String, String>;

pub const OPEN_DAY_SLOTS: usize = 3;

/// Where the open-day form posts: a new open day, or changes to an existing one.
pub enum FormTarget {
    New,
    Edit(uuid::Uuid),
}

/// Slot rows the form shows: those typed (or stored) and, when editing, one empty row for a
/// new slot.
pub fn slot_rows(v: &FormValues, target: &FormTarget) -> usize {
    let typed = (0..MAX_SLOT_ROWS)
        .take_while(|i| v.contains_key(&format!("slot{i}_starts")))
        .count();
    match target {
        FormTarget::New => typed.max(OPEN_DAY_SLOTS),
        FormTarget::Edit(_) => typed + 1,
    }
    .min(MAX_SLOT_ROWS)
}

pub const MAX_SLOT_ROWS: usize = 20;

pub fn open_day_form(
    staff: &CurrentStaff,
    csrf: &str,
    v: &FormValues,
    error: Option<&ApiError>,
    target: &FormTarget,
) -> Markup {
    let (heading, action, submit) = match target {
        FormTarget::New => (
            "新建开放日",
            "/console/open-days/new".to_owned(),
            "创建并发布",
        ),
        FormTarget::Edit(id) => (
            "修改开放日",
            format!("/console/open-days/{id}/edit"),
            "保存修改",
        ),
    };
    let rows = slot_rows(v, target);
    let val = |k: &str| v.get(k).cloned().unwrap_or_default();
    let input = |id: &str, label: &str, kind: &str, required: bool| {
        html! {
            div {
                label for=(id) { (label) }
                input id=(id) name=(id) type=(kind) value=(val(id)) required[required];
            }
        }
    };
    layout(
        heading,
        Some((staff, csrf)),
        html! {
            @if let Some(e) = error {
                div.alert role="alert" #form-errors {
                    (e.detail())
                    ul { @for f in e.field_errors() { li { code { (f.field) } "：" (f.message) } } }
                }
            }
            form.card #open-day-form method="post" action=(action) {
                input type="hidden" name="csrf" value=(csrf);
                (input("title", "名称", "text", true))
                label for="description" { "介绍" }
                textarea #description name="description" { (val("description")) }
                (input("location", "地点", "text", true))
                (input("eligibility", "参加对象（居民可见）", "text", false))
                p.muted { "时间均为北京时间。" }
                div.row2 {
                    (input("booking_opens_at", "预约开始", "datetime-local", true))
                    (input("booking_closes_at", "预约截止", "datetime-local", true))
                    (input("cancel_cutoff_minutes", "开始前多少分钟停止取消", "number", true))
                    (input("max_party_size", "每份预约最多人数（1 到 10）", "number", true))
                }
                fieldset {
                    legend { "场次（不用的行留空；清空已有场次即删除，已有预约的场次不能删除）" }
                    @for i in 0..rows {
                        @if let Some(id) = v.get(&format!("slot{i}_id")) {
                            input type="hidden" name=(format!("slot{i}_id")) value=(id);
                        }
                        div.row3 {
                            (input(&format!("slot{i}_starts"), &format!("第 {} 场开始", i + 1), "datetime-local", i == 0))
                            (input(&format!("slot{i}_ends"), &format!("第 {} 场结束", i + 1), "datetime-local", i == 0))
                            (input(&format!("slot{i}_capacity"), &format!("第 {} 场名额", i + 1), "number", i == 0))
                        }
                    }
                }
                button.primary type="submit" { (submit) }
            }
        },
    )
}

fn booking_status(s: &str) -> &'static str {
    match s {
        "confirmed" => "已预约",
        "waitlisted" => "候补",
        "checked_in" => "已签到",
        "cancelled" => "已取消",
        "no_show" => "爽约",
        _ => "其他",
    }
}

/// The open day's own tools on its desk page: edit, call off, and each slot's visitors
/// (masked).
pub fn open_day_manage(d: &OpenDayView, visitors: &[Vec<VisitorView>], csrf: &str) -> Markup {
    html! {
        section.card aria-labelledby="h-manage" {
            h2 #h-manage { "管理开放日" }
            p {
                a.button href=(format!("/console/open-days/{}/edit", d.id)) { "修改开放日与场次" }
                " "
                @if d.status != "cancelled" {
                    form.inline #cancel-open-day method="post" action=(format!("/console/open-days/{}/cancel", d.id))
                        onsubmit="return confirm('确定取消这个开放日吗？所有预约将被取消并通知居民。')" {
                        input type="hidden" name="csrf" value=(csrf);
                        button type="submit" { "取消开放日" }
                    }
                } @else {
                    span.badge { "已取消" }
                }
            }
        }
        section.card aria-labelledby="h-visitors" {
            h2 #h-visitors { "各场次预约名单（已脱敏）" }
            @for (slot, list) in d.slots.iter().zip(visitors) {
                h3 { (when(slot.starts_at)) " 至 " (when(slot.ends_at))
                    span.badge { "已约 " (slot.capacity - slot.seats_left) " / 共 " (slot.capacity) } }
                @if list.is_empty() { p.muted { "暂无预约。" } } @else {
                    table.data.visitors data-slot=(slot.id) {
                        thead { tr { th scope="col" { "姓名" } th scope="col" { "电话" } th scope="col" { "人数" }
                            th scope="col" { "状态" } th scope="col" { "预约时间" } th scope="col" { "签到时间" } } }
                        tbody {
                            @for r in list {
                                tr {
                                    td { (r.visitor_name.as_deref().unwrap_or("—")) }
                                    td { (r.phone.as_deref().unwrap_or("—")) }
                                    td { (r.party_size) }
                                    td { (booking_status(&r.status)) }
                                    td { (when(r.created_at)) }
                                    td { @if let Some(t) = r.checked_in_at { (when(t)) } @else { "—" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Calls a meeting off, after the browser asks for confirmation.
pub fn meeting_cancel(meeting_id: uuid::Uuid, csrf: &str) -> Markup {
    html! {
        section.card aria-labelledby="h-cancel-meeting" {
            h2 #h-cancel-meeting { "管理议事会" }
            p { a.button href=(format!("/console/deliberations/{meeting_id}/edit")) { "修改议事会" } }
            p.muted { "取消后，所有报名者会收到通知。" }
            form #cancel-meeting method="post" action=(format!("/console/deliberations/{meeting_id}/cancel"))
                onsubmit="return confirm('确定取消这场议事会吗？所有报名者会收到通知。')" {
                input type="hidden" name="csrf" value=(csrf);
                button type="submit" { "取消议事会" }
            }
        }
    }
}
