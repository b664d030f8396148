//! The console's experience-officer pages: campaigns, the review queue, the roster,
//! activities, feedback with the reply form, and a campaign's figures. Every change goes
//! through `crate::officers::service`, which keeps the rules (scoping, quota, reasons).

use actix_web::{HttpResponse, http::StatusCode, http::header, web};
use maud::{Markup, html};
use uuid::Uuid;

use super::{
    routes::{beijing, first_page, parsed, see_other},
    session::{ConsoleResult, ConsoleStaff},
    views::{FormValues, layout, when},
};
use crate::{
    auth::CurrentStaff,
    error::{ApiError, FieldError},
    officers::{
        domain::{CampaignStatus, ReplyStatus},
        dto::{
            ActivityView, ApplicationView, CampaignReport, CampaignView, FeedbackView, OfficerView,
        },
        service,
    },
    state::AppState,
};

fn errors_box(error: Option<&ApiError>) -> Markup {
    html! {
        @if let Some(e) = error {
            div.alert role="alert" #form-errors {
                (e.detail())
                @if !e.field_errors().is_empty() {
                    ul { @for f in e.field_errors() { li { code { (f.field) } "：" (f.message) } } }
                }
            }
        }
    }
}

fn html_status(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}

fn campaign_status(s: &str) -> &'static str {
    match s {
        "draft" => "草稿",
        "published" => "招募中",
        "closed" => "已结束",
        _ => "其他",
    }
}

fn application_status(s: &str) -> &'static str {
    match s {
        "pending" => "待审核",
        "approved" => "已通过",
        "rejected" => "未通过",
        "withdrawn" => "已撤回",
        _ => "其他",
    }
}

fn standing(s: &str) -> &'static str {
    match s {
        "serving" => "在任",
        "ended" => "已提前结束",
        "expired" => "任期届满",
        _ => "其他",
    }
}

fn reply_label(s: &str) -> &'static str {
    ReplyStatus::parse(s).map_or("其他", ReplyStatus::label)
}

fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "—".to_owned(), |s| format!("{:.0}%", s * 100.0))
}

// ---------------------------------------------------------------- home page

/// The home page's officer sections: campaigns with applications waiting for review, and
/// feedback nobody has answered yet (overdue first), for the staff member's unit.
pub(super) async fn home_sections(state: &AppState, staff: &CurrentStaff) -> ConsoleResult<Markup> {
    let campaigns = service::list(state, Some(staff), first_page()).await?.items;
    let mut pending = Vec::new();
    for c in campaigns.into_iter().filter(|c| c.status != "closed") {
        let report = service::report(state, staff, c.id).await?;
        if report.applications.pending > 0 {
            pending.push((c, report.applications.pending));
        }
    }
    let mut awaiting: Vec<FeedbackView> =
        service::staff_feedback(state, staff, false, None, first_page())
            .await?
            .items
            .into_iter()
            .filter(|f| f.reply_status.is_none())
            .collect();
    awaiting.sort_by_key(|f| (!f.overdue, f.created_at));
    Ok(html! {
        section.card aria-labelledby="h-pending-applications" {
            h2 #h-pending-applications { "待审核的体验员报名" }
            @if pending.is_empty() { p.muted { "没有待审核的报名。" } }
            ul.plain #home-pending-applications {
                @for (c, n) in &pending {
                    li {
                        a href=(format!("/console/officers/{}#h-review", c.id)) { (c.title) }
                        span.badge { (n) " 份待审核" }
                    }
                }
            }
        }
        section.card aria-labelledby="h-awaiting-feedback" {
            h2 #h-awaiting-feedback { "待答复的体验反馈" }
            @if awaiting.is_empty() { p.muted { "没有待答复的反馈。" } }
            ul.plain #home-awaiting-feedback {
                @for f in &awaiting {
                    li {
                        a href=(format!("/console/officers/{}#h-feedback", f.campaign_id)) { (f.activity_title) }
                        span.muted { " 提交于 " (when(f.created_at)) }
                        @if f.overdue { span.badge.overdue { "逾期未答复" } }
                    }
                }
            }
        }
    })
}

// ---------------------------------------------------------------- campaigns list

fn campaigns_page(
    staff: &CurrentStaff,
    csrf: &str,
    campaigns: &[CampaignView],
    v: &FormValues,
    error: Option<&ApiError>,
) -> Markup {
    let val = |k: &str| v.get(k).cloned().unwrap_or_default();
    let input = |id: &str, label: &str, kind: &str| {
        html! {
            div {
                label for=(format!("c-{id}")) { (label) }
                input id=(format!("c-{id}")) name=(id) type=(kind) value=(val(id)) required;
            }
        }
    };
    layout(
        "特邀体验员招募",
        Some((staff, csrf)),
        html! {
            table.data #campaigns {
                caption.sr { "本单位的体验员招募" }
                thead { tr { th scope="col" { "招募" } th scope="col" { "单位" } th scope="col" { "状态" }
                    th scope="col" { "名额" } th scope="col" { "已通过" } th scope="col" { "报名时间" } } }
                tbody {
                    @for c in campaigns {
                        tr {
                            td { a href=(format!("/console/officers/{}", c.id)) { (c.title) } }
                            td { (c.org_unit) }
                            td { (campaign_status(&c.status)) }
                            td { (c.quota) }
                            td { (c.approved) }
                            td { (when(c.apply_opens_at)) " 至 " (when(c.apply_closes_at)) }
                        }
                    }
                }
            }
            @if campaigns.is_empty() { p.muted { "还没有体验员招募。" } }
            section.card aria-labelledby="h-new-campaign" {
                h2 #h-new-campaign { "新建招募（保存为草稿）" }
                (errors_box(error))
                form #campaign-form method="post" action="/console/officers" {
                    input type="hidden" name="csrf" value=(csrf);
                    (input("title", "招募名称", "text"))
                    label for="c-description" { "介绍" }
                    textarea #c-description name="description" { (val("description")) }
                    label for="c-requirements" { "报名条件（居民可见）" }
                    textarea #c-requirements name="requirements" { (val("requirements")) }
                    p.muted { "时间均为北京时间。" }
                    div.row2 {
                        (input("apply_opens_at", "报名开始", "datetime-local"))
                        (input("apply_closes_at", "报名截止", "datetime-local"))
                        (input("quota", "招募名额", "number"))
                        (input("term_months", "任期（月）", "number"))
                    }
                    button.primary type="submit" { "保存草稿" }
                }
            }
        },
    )
}

async fn render_campaigns(
    state: &AppState,
    who: &ConsoleStaff,
    v: &FormValues,
    error: Option<ApiError>,
) -> ConsoleResult<HttpResponse> {
    let list = service::list(state, Some(&who.staff), first_page()).await?;
    let status = error.as_ref().map_or(StatusCode::OK, ApiError::status);
    Ok(html_status(
        status,
        campaigns_page(&who.staff, &who.csrf, &list.items, v, error.as_ref()),
    ))
}

pub async fn campaigns(
    who: ConsoleStaff,
    state: web::Data<AppState>,
) -> ConsoleResult<HttpResponse> {
    let defaults: FormValues = [("term_months", "12")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    render_campaigns(&state, &who, &defaults, None).await
}

fn number(v: &FormValues, k: &'static str, errors: &mut Vec<FieldError>) -> Option<i64> {
    let got = v
        .get(k)
        .map(|s| s.trim())
        .unwrap_or_default()
        .parse::<i64>();
    got.map_err(|_| {
        errors.push(FieldError {
            field: k.into(),
            message: "请填写整数".into(),
        })
    })
    .ok()
}

fn time(
    v: &FormValues,
    k: &'static str,
    errors: &mut Vec<FieldError>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    beijing(k, v.get(k).map(String::as_str).unwrap_or_default())
        .map_err(|e| errors.push(e))
        .ok()
}

fn text(v: &FormValues, k: &str) -> String {
    v.get(k).map(|s| s.trim().to_owned()).unwrap_or_default()
}

/// Creates a draft campaign of the staff member's unit; a refusal comes back as the form.
pub async fn create_campaign(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    form: web::Form<FormValues>,
) -> ConsoleResult<HttpResponse> {
    let mut v = form.into_inner();
    let csrf = v.remove("csrf");
    who.check_csrf(csrf.as_deref())?;
    let created = async {
        let mut errors = Vec::new();
        let opens = time(&v, "apply_opens_at", &mut errors);
        let closes = time(&v, "apply_closes_at", &mut errors);
        let quota = number(&v, "quota", &mut errors);
        let term = number(&v, "term_months", &mut errors);
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        let req = parsed(serde_json::json!({
            "title": text(&v, "title"),
            "description": text(&v, "description"),
            "requirements": text(&v, "requirements"),
            "org_unit": who.staff.org_unit,
            "quota": quota,
            "term_months": term,
            "apply_opens_at": opens,
            "apply_closes_at": closes,
        }))?;
        service::create(&state, &who.staff, req).await
    }
    .await;
    match created {
        Ok(c) => Ok(see_other(&format!("/console/officers/{}", c.id))),
        Err(e) if e.status().is_client_error() => render_campaigns(&state, &who, &v, Some(e)).await,
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------- one campaign

struct CampaignPage {
    campaign: CampaignView,
    report: CampaignReport,
    pending: Vec<ApplicationView>,
    decided: Vec<ApplicationView>,
    roster: Vec<OfficerView>,
    activities: Vec<ActivityView>,
    feedback: Vec<FeedbackView>,
}

async fn load(state: &AppState, staff: &CurrentStaff, id: Uuid) -> ConsoleResult<CampaignPage> {
    // The report goes first: it refuses another unit's campaign (drafts or not).
    let report = service::report(state, staff, id).await?;
    let campaign = service::detail(state, id, Some(staff)).await?;
    let all = service::applications(state, staff, id, None, first_page()).await?;
    let (pending, decided) = all.items.into_iter().partition(|a| a.status == "pending");
    let roster = service::roster(state, staff, id, first_page()).await?.items;
    let activities = service::activities(state, id, Some(staff), first_page())
        .await?
        .items;
    let feedback = service::staff_feedback(state, staff, false, Some(id), first_page())
        .await?
        .items;
    Ok(CampaignPage {
        campaign,
        report,
        pending,
        decided,
        roster,
        activities,
        feedback,
    })
}

/// The campaign page; `error` (a refused action) is shown at the top with its status.
async fn render_campaign(
    state: &AppState,
    who: &ConsoleStaff,
    id: Uuid,
    error: Option<ApiError>,
) -> ConsoleResult<HttpResponse> {
    let p = load(state, &who.staff, id).await?;
    let status = error.as_ref().map_or(StatusCode::OK, ApiError::status);
    Ok(html_status(
        status,
        campaign_page(&who.staff, &who.csrf, &p, error.as_ref()),
    ))
}

pub async fn campaign(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ConsoleResult<HttpResponse> {
    render_campaign(&state, &who, id.into_inner(), None).await
}

/// Runs an action of the campaign page: back to the page on success, the page with the
/// refusal in Chinese on a client error.
async fn act<T>(
    state: &AppState,
    who: &ConsoleStaff,
    campaign: Uuid,
    anchor: &str,
    result: Result<T, ApiError>,
) -> ConsoleResult<HttpResponse> {
    match result {
        Ok(_) => Ok(see_other(&format!("/console/officers/{campaign}#{anchor}"))),
        Err(e) if e.status().is_client_error() && e.code() != "org_unit_forbidden" => {
            render_campaign(state, who, campaign, Some(e)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn set_status(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: Uuid,
    form: web::Form<FormValues>,
    to: CampaignStatus,
) -> ConsoleResult<HttpResponse> {
    who.check_csrf(form.get("csrf").map(String::as_str))?;
    let result = service::set_status(&state, &who.staff, id, to).await;
    act(&state, &who, id, "top", result).await
}

pub async fn publish(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    form: web::Form<FormValues>,
) -> ConsoleResult<HttpResponse> {
    set_status(who, state, id.into_inner(), form, CampaignStatus::Published).await
}

pub async fn close(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    form: web::Form<FormValues>,
) -> ConsoleResult<HttpResponse> {
    set_status(who, state, id.into_inner(), form, CampaignStatus::Closed).await
}

pub async fn approve(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    form: web::Form<FormValues>,
) -> ConsoleResult<HttpResponse> {
    who.check_csrf(form.get("csrf").map(String::as_str))?;
    let (campaign, application) = path.into_inner();
    let result = service::approve(&state, &who.staff, application).await;
    act(&state, &who, campaign, "h-review", result).await
}

pub async fn reject(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    form: web::Form<FormValues>,
) -> ConsoleResult<HttpResponse> {
    who.check_csrf(form.get("csrf").map(String::as_str))?;
    let (campaign, application) = path.into_inner();
    let reason = form.get("reason").map(String::as_str).unwrap_or_default();
    let result = service::reject(&state, &who.staff, application, reason).await;
    act(&state, &who, campaign, "h-review", result).await
}

pub async fn end_officer(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    form: web::Form<FormValues>,
) -> ConsoleResult<HttpResponse> {
    who.check_csrf(form.get("csrf").map(String::as_str))?;
    let (campaign, officer) = path.into_inner();
    let reason = form.get("reason").map(String::as_str).unwrap_or_default();
    let result = service::end_officer(&state, &who.staff, officer, reason).await;
    act(&state, &who, campaign, "h-roster", result).await
}

pub async fn create_activity(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    form: web::Form<FormValues>,
) -> ConsoleResult<HttpResponse> {
    let v = form.into_inner();
    who.check_csrf(v.get("csrf").map(String::as_str))?;
    let id = id.into_inner();
    let result = async {
        let mut errors = Vec::new();
        let starts = time(&v, "starts_at", &mut errors);
        let ends = time(&v, "ends_at", &mut errors);
        let capacity = number(&v, "capacity", &mut errors);
        if !errors.is_empty() {
            return Err(ApiError::validation(errors));
        }
        let req = parsed(serde_json::json!({
            "campaign_id": id,
            "title": text(&v, "title"),
            "service_to_experience": text(&v, "service_to_experience"),
            "location": text(&v, "location"),
            "starts_at": starts,
            "ends_at": ends,
            "capacity": capacity,
        }))?;
        service::create_activity(&state, &who.staff, req).await
    }
    .await;
    act(&state, &who, id, "h-activities", result).await
}

pub async fn reply(
    who: ConsoleStaff,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
    form: web::Form<FormValues>,
) -> ConsoleResult<HttpResponse> {
    let v = form.into_inner();
    who.check_csrf(v.get("csrf").map(String::as_str))?;
    let (campaign, feedback) = path.into_inner();
    let result = async {
        let reason = text(&v, "reason");
        let req = parsed(serde_json::json!({
            "status": text(&v, "status"),
            "response": text(&v, "response"),
            "reason": (!reason.is_empty()).then_some(reason),
        }))?;
        service::reply(&state, &who.staff, feedback, req).await
    }
    .await;
    act(&state, &who, campaign, "h-feedback", result).await
}

fn campaign_page(
    staff: &CurrentStaff,
    csrf: &str,
    p: &CampaignPage,
    error: Option<&ApiError>,
) -> Markup {
    let c = &p.campaign;
    let r = &p.report;
    let base = format!("/console/officers/{}", c.id);
    layout(
        &format!("体验员招募：{}", c.title),
        Some((staff, csrf)),
        html! {
                    (errors_box(error))
                    div.card.status-bar #top {
                        span #campaign-status { "状态：" (campaign_status(&c.status)) }
                        span { " · 单位：" (c.org_unit) }
                        span { " · 名额 " (c.quota) "，已通过 " (c.approved) "，剩余 " (c.places_left) }
                        span { " · 报名 " (when(c.apply_opens_at)) " 至 " (when(c.apply_closes_at)) }
                        span { " · 任期 " (c.term_months) " 个月" }
                        @if c.status == "draft" {
                            form.inline method="post" action=(format!("{base}/publish")) {
                                input type="hidden" name="csrf" value=(csrf);
                                button.primary type="submit" { "发布招募" }
                            }
                        }
                        @if c.status != "closed" {
                            form.inline method="post" action=(format!("{base}/close"))
                                onsubmit="return confirm('确定结束本次招募吗？结束后不能再发布。')" {
                                input type="hidden" name="csrf" value=(csrf);
                                button type="submit" { "结束招募" }
                            }
                        }
                    }
                    @if !c.requirements.is_empty() { p { "报名条件：" (c.requirements) } }
                    section.card aria-labelledby="h-report" {
                        h2 #h-report { "招募统计" }
                        dl.figures #campaign-report {
                            dt { "报名总数" } dd #r-total { (r.applications.total) }
                            dt { "待审核" } dd #r-pending { (r.applications.pending) }
                            dt { "已通过" } dd #r-approved { (r.applications.approved) }
                            dt { "未通过" } dd #r-rejected { (r.applications.rejected) }
                            dt { "已撤回" } dd { (r.applications.withdrawn) }
                            dt { "在任体验员" } dd #r-serving { (r.officers_serving) }
                            dt { "已开展活动" } dd { (r.activities_held) }
                            dt { "反馈" } dd #r-feedback { (r.feedback_count) }
                            dt { "答复率" } dd { (percent(r.share_answered)) }
                            dt { "采纳率" } dd { (percent(r.share_adopted)) }
                        }
                    }
                    section.card aria-labelledby="h-review" {
                        h2 #h-review { "待审核的报名（" (p.pending.len()) "）" }
                        p.muted { "姓名与电话已脱敏；不通过时须填写理由，报名者会收到通知。" }
                        @if p.pending.is_empty() { p.muted { "没有待审核的报名。" } }
                        @if !p.pending.is_empty() {
        table.data #review-queue {
                            thead { tr { th scope="col" { "姓名" } th scope="col" { "电话" } th scope="col" { "年龄段" }
                                th scope="col" { "职业 / 社区" } th scope="col" { "报名理由" } th scope="col" { "报名时间" } th scope="col" { "审核" } } }
                            tbody {
                                @for a in &p.pending {
                                    tr data-application=(a.id) {
                                        td.name { (a.real_name.as_deref().unwrap_or("—")) }
                                        td { (a.phone.as_deref().unwrap_or("—")) }
                                        td { (a.age_group.as_deref().unwrap_or("—")) }
                                        td { (a.occupation.as_deref().unwrap_or("—")) " / " (a.community.as_deref().unwrap_or("—")) }
                                        td { (a.motivation.as_deref().unwrap_or("")) }
                                        td { (when(a.created_at)) }
                                        td {
                                            form.inline method="post" action=(format!("{base}/applications/{}/approve", a.id)) {
                                                input type="hidden" name="csrf" value=(csrf);
                                                button.primary type="submit" aria-label=(format!("通过 {} 的报名", a.real_name.as_deref().unwrap_or(""))) { "通过" }
                                            }
                                            form.inline method="post" action=(format!("{base}/applications/{}/reject", a.id)) {
                                                input type="hidden" name="csrf" value=(csrf);
                                                label.sr for=(format!("reason-{}", a.id)) { "不通过的理由" }
                                                input id=(format!("reason-{}", a.id)) name="reason" type="text" required maxlength="500" placeholder="不通过的理由";
                                                button type="submit" { "不通过" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
        }
                        @if !p.decided.is_empty() {
                            details {
                                summary { "已处理的报名（" (p.decided.len()) "）" }
                                table.data #decided {
                                    thead { tr { th scope="col" { "姓名" } th scope="col" { "结果" } th scope="col" { "理由" } th scope="col" { "处理时间" } } }
                                    tbody {
                                        @for a in &p.decided {
                                            tr {
                                                td { (a.real_name.as_deref().unwrap_or("—")) }
                                                td { (application_status(&a.status)) }
                                                td { (a.reason.as_deref().unwrap_or("")) }
                                                td { @if let Some(t) = a.reviewed_at { (when(t)) } }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    section.card aria-labelledby="h-roster" {
                        h2 #h-roster { "体验员名单" }
                        @if p.roster.is_empty() { p.muted { "还没有体验员。" } }
                        @if !p.roster.is_empty() {
        table.data #roster {
                            thead { tr { th scope="col" { "姓名" } th scope="col" { "电话" } th scope="col" { "社区" }
                                th scope="col" { "任期" } th scope="col" { "状态" } th scope="col" { "操作" } } }
                            tbody {
                                @for o in &p.roster {
                                    tr {
                                        td { (o.real_name.as_deref().unwrap_or("—")) }
                                        td { (o.phone.as_deref().unwrap_or("—")) }
                                        td { (o.community.as_deref().unwrap_or("—")) }
                                        td { (when(o.term_starts_at)) " 至 " (when(o.term_ends_at)) }
                                        td { (standing(&o.standing))
                                            @if let Some(r) = &o.end_reason { span.muted { "（" (r) "）" } } }
                                        td {
                                            @if o.standing == "serving" {
                                                form.inline method="post" action=(format!("{base}/roster/{}/end", o.id))
                                                    onsubmit="return confirm('确定提前结束这位体验员的任期吗？')" {
                                                    input type="hidden" name="csrf" value=(csrf);
                                                    label.sr for=(format!("end-{}", o.id)) { "提前结束的理由" }
                                                    input id=(format!("end-{}", o.id)) name="reason" type="text" required maxlength="500" placeholder="提前结束的理由";
                                                    button type="submit" { "提前结束任期" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
        }
                    }
                    section.card aria-labelledby="h-activities" {
                        h2 #h-activities { "体验活动" }
                        @if p.activities.is_empty() { p.muted { "还没有体验活动。" } }
                        @if !p.activities.is_empty() {
        table.data #activities {
                            thead { tr { th scope="col" { "活动" } th scope="col" { "体验的服务" } th scope="col" { "地点" }
                                th scope="col" { "时间" } th scope="col" { "名额 / 剩余" } } }
                            tbody {
                                @for a in &p.activities {
                                    tr {
                                        td { (a.title) } td { (a.service_to_experience) } td { (a.location) }
                                        td { (when(a.starts_at)) " 至 " (when(a.ends_at)) }
                                        td { (a.capacity) " / " (a.places_left) }
                                    }
                                }
                            }
                        }
        }
                        form #activity-form method="post" action=(format!("{base}/activities")) {
                            input type="hidden" name="csrf" value=(csrf);
                            div.row2 {
                                div { label for="a-title" { "活动名称" } input #a-title name="title" type="text" required; }
                                div { label for="a-service" { "体验的政务服务或流程" } input #a-service name="service_to_experience" type="text" required; }
                                div { label for="a-location" { "地点" } input #a-location name="location" type="text" required; }
                                div { label for="a-capacity" { "名额" } input #a-capacity name="capacity" type="number" min="1" required; }
                                div { label for="a-starts" { "开始时间（北京时间）" } input #a-starts name="starts_at" type="datetime-local" required; }
                                div { label for="a-ends" { "结束时间（北京时间）" } input #a-ends name="ends_at" type="datetime-local" required; }
                            }
                            button.primary type="submit" { "创建活动" }
                        }
                    }
                    section.card aria-labelledby="h-feedback" {
                        h2 #h-feedback { "体验反馈" }
                        p.muted { "反馈须在 15 天内答复；“暂不采纳”须写明理由。" }
                        @if p.feedback.is_empty() { p.muted { "还没有反馈。" } }
                        @for f in &p.feedback {
                            article.card.feedback data-feedback=(f.id) {
                                h3 { (f.activity_title) " · " (f.rating) " 星"
                                    @if f.overdue { " " span.badge.overdue { "逾期未答复" } }
                                    @if let Some(s) = &f.reply_status { " " span.badge { (reply_label(s)) } }
                                }
                                p.muted { "提交于 " (when(f.created_at)) }
                                @if !f.findings.is_empty() { ul { @for x in &f.findings { li { (x) } } } }
                                @if !f.suggestions.is_empty() { p { "建议：" (f.suggestions) } }
                                @if !f.replies.is_empty() {
                                    ol.replies {
                                        @for r in &f.replies {
                                            li { strong { (reply_label(&r.status)) } " · " (when(r.created_at)) "：" (r.response)
                                                @if let Some(x) = &r.reason { "（理由：" (x) "）" } }
                                        }
                                    }
                                }
                                @if !f.reply_status.as_deref().and_then(ReplyStatus::parse).is_some_and(ReplyStatus::is_final) {
                                    form.reply-form method="post" action=(format!("{base}/feedback/{}/reply", f.id)) {
                                        input type="hidden" name="csrf" value=(csrf);
                                        div.row3 {
                                            div {
                                                label for=(format!("rs-{}", f.id)) { "答复状态" }
                                                select id=(format!("rs-{}", f.id)) name="status" {
                                                    @for s in ReplyStatus::ALL { option value=(s.as_str()) { (s.label()) } }
                                                }
                                            }
                                            div {
                                                label for=(format!("rr-{}", f.id)) { "不采纳的理由（选“暂不采纳”时必填）" }
                                                input id=(format!("rr-{}", f.id)) name="reason" type="text" maxlength="500";
                                            }
                                        }
                                        label for=(format!("rp-{}", f.id)) { "答复内容（体验员可见）" }
                                        textarea id=(format!("rp-{}", f.id)) name="response" required maxlength="2000" {}
                                        button.primary type="submit" { "提交答复" }
                                    }
                                }
                            }
                        }
                    }
                },
    )
}
