//! Rules of invited experience officers: what a valid campaign, application, activity,
//! feedback and reply are, when applying is allowed, how long a term runs, when feedback is
//! overdue, and the report's shares. Pure: no actix, no sea-orm.

use chrono::{DateTime, Duration, Months, Utc};

/// Field path and Chinese message of each fault.
pub type Faults = Vec<(String, &'static str)>;

/// Where a campaign stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignStatus {
    Draft,
    Published,
    Closed,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Draft, Self::Published, Self::Closed]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Where an application stands. `Pending` and `Approved` are active: one per resident per
/// campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationStatus {
    Pending,
    Approved,
    Rejected,
    Withdrawn,
}

impl ApplicationStatus {
    pub const ALL: [Self; 4] = [
        Self::Pending,
        Self::Approved,
        Self::Rejected,
        Self::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How staff answer a piece of feedback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyStatus {
    Accepted,
    InProgress,
    Resolved,
    NotAdopted,
}

impl ReplyStatus {
    pub const ALL: [Self; 4] = [
        Self::Accepted,
        Self::InProgress,
        Self::Resolved,
        Self::NotAdopted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::InProgress => "in_progress",
            Self::Resolved => "resolved",
            Self::NotAdopted => "not_adopted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// After these the matter is settled: no further replies.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Resolved | Self::NotAdopted)
    }

    /// The finding was taken up (whatever its progress).
    pub fn is_adopted(self) -> bool {
        !matches!(self, Self::NotAdopted)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Accepted => "已采纳",
            Self::InProgress => "办理中",
            Self::Resolved => "已解决",
            Self::NotAdopted => "暂不采纳",
        }
    }
}

fn text(value: &str, min: usize, max: usize) -> Option<String> {
    let v = value.trim();
    let n = v.chars().count();
    (n >= min && n <= max).then(|| v.to_owned())
}

pub const MAX_QUOTA: i64 = 10_000;
pub const MAX_TERM_MONTHS: i64 = 60;
pub const MAX_CAPACITY: i64 = 10_000;
pub const MAX_FINDINGS: usize = 20;
/// Feedback unanswered this long is overdue.
pub const ANSWER_WITHIN_DAYS: i64 = 15;

/// A campaign as staff describe it, checked.
#[derive(Debug, Clone)]
pub struct CampaignSpec {
    title: String,
    description: String,
    quota: i32,
    requirements: String,
    apply_opens_at: DateTime<Utc>,
    apply_closes_at: DateTime<Utc>,
    term_months: i32,
}

/// The unchecked input of [`CampaignSpec::parse`].
pub struct CampaignInput {
    pub title: String,
    pub description: String,
    pub quota: i64,
    pub requirements: String,
    pub apply_opens_at: DateTime<Utc>,
    pub apply_closes_at: DateTime<Utc>,
    pub term_months: i64,
}

impl CampaignSpec {
    /// Every fault at once.
    pub fn parse(input: CampaignInput) -> Result<Self, Faults> {
        let mut errors: Faults = Vec::new();
        let title = text(&input.title, 1, 100);
        if title.is_none() {
            errors.push(("title".into(), "标题应为 1 到 100 个字"));
        }
        let description = text(&input.description, 0, 5000);
        if description.is_none() {
            errors.push(("description".into(), "简介最多 5000 个字"));
        }
        let requirements = text(&input.requirements, 0, 2000);
        if requirements.is_none() {
            errors.push(("requirements".into(), "报名条件最多 2000 个字"));
        }
        if !(1..=MAX_QUOTA).contains(&input.quota) {
            errors.push(("quota".into(), "招募名额应在 1 到 10000 之间"));
        }
        if !(1..=MAX_TERM_MONTHS).contains(&input.term_months) {
            errors.push(("term_months".into(), "任期应在 1 到 60 个月之间"));
        }
        if input.apply_closes_at <= input.apply_opens_at {
            errors.push(("apply_closes_at".into(), "报名截止时间应晚于开始时间"));
        }
        match (title, description, requirements) {
            (Some(title), Some(description), Some(requirements)) if errors.is_empty() => Ok(Self {
                title,
                description,
                requirements,
                quota: i32::try_from(input.quota).unwrap_or(1),
                apply_opens_at: input.apply_opens_at,
                apply_closes_at: input.apply_closes_at,
                term_months: i32::try_from(input.term_months).unwrap_or(1),
            }),
            _ => Err(errors),
        }
    }

    pub fn title(&self) -> &str {
        &self.title
    }
    pub fn description(&self) -> &str {
        &self.description
    }
    pub fn quota(&self) -> i32 {
        self.quota
    }
    pub fn requirements(&self) -> &str {
        &self.requirements
    }
    pub fn apply_opens_at(&self) -> DateTime<Utc> {
        self.apply_opens_at
    }
    pub fn apply_closes_at(&self) -> DateTime<Utc> {
        self.apply_closes_at
    }
    pub fn term_months(&self) -> i32 {
        self.term_months
    }
}

/// Applications are taken while the campaign is published and `now` is within
/// [`opens`, `closes`).
pub fn accepting_applications(
    status: CampaignStatus,
    now: DateTime<Utc>,
    opens: DateTime<Utc>,
    closes: DateTime<Utc>,
) -> bool {
    status == CampaignStatus::Published && now >= opens && now < closes
}

/// An application as a resident gives it, checked.
#[derive(Debug, Clone)]
pub struct Applicant {
    pub real_name: String,
    pub phone: String,
    pub age_group: String,
    pub occupation: Option<String>,
    pub community: Option<String>,
    pub motivation: Option<String>,
}

pub struct ApplicantInput<'a> {
    pub real_name: &'a str,
    pub phone: &'a str,
    pub age_group: &'a str,
    pub occupation: Option<&'a str>,
    pub community: Option<&'a str>,
    pub motivation: Option<&'a str>,
}

fn optional(
    value: Option<&str>,
    max: usize,
    field: &str,
    message: &'static str,
    errors: &mut Faults,
) -> Option<String> {
    let v = value.map(str::trim).filter(|v| !v.is_empty())?;
    if v.chars().count() > max {
        errors.push((field.to_owned(), message));
        return None;
    }
    Some(v.to_owned())
}

impl Applicant {
    pub fn parse(input: ApplicantInput<'_>) -> Result<Self, Faults> {
        let mut errors: Faults = Vec::new();
        let real_name = text(input.real_name, 1, 30);
        if real_name.is_none() {
            errors.push(("real_name".into(), "请填写 1 到 30 个字的真实姓名"));
        }
        let phone = crate::deliberation::domain::parse_mobile(input.phone);
        if phone.is_none() {
            errors.push(("phone".into(), "请填写正确的 11 位手机号"));
        }
        let age_group = text(input.age_group, 1, 16);
        if age_group.is_none() {
            errors.push(("age_group".into(), "请选择年龄段"));
        }
        let occupation = optional(
            input.occupation,
            100,
            "occupation",
            "职业最多 100 个字",
            &mut errors,
        );
        let community = optional(
            input.community,
            100,
            "community",
            "社区最多 100 个字",
            &mut errors,
        );
        let motivation = optional(
            input.motivation,
            1000,
            "motivation",
            "报名理由最多 1000 个字",
            &mut errors,
        );
        match (real_name, phone, age_group) {
            (Some(real_name), Some(phone), Some(age_group)) if errors.is_empty() => Ok(Self {
                real_name,
                phone,
                age_group,
                occupation,
                community,
                motivation,
            }),
            _ => Err(errors),
        }
    }
}

/// The end of a term of `months` starting at `start` (the same day of the month, or the
/// month's last day when it has no such day).
pub fn term_end(start: DateTime<Utc>, months: i32) -> DateTime<Utc> {
    let months = u32::try_from(months.max(0)).unwrap_or(0);
    start
        .checked_add_months(Months::new(months))
        .unwrap_or(start)
}

/// Where an officer stands at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfficerStanding {
    Serving,
    /// Staff ended the term early.
    Ended,
    /// The term ran out.
    Expired,
}

impl OfficerStanding {
    pub fn of(
        ended_at: Option<DateTime<Utc>>,
        term_ends_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        if ended_at.is_some() {
            Self::Ended
        } else if now >= term_ends_at {
            Self::Expired
        } else {
            Self::Serving
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Serving => "serving",
            Self::Ended => "ended",
            Self::Expired => "expired",
        }
    }
}

/// An experience activity as staff describe it, checked.
#[derive(Debug, Clone)]
pub struct ActivitySpec {
    pub title: String,
    pub service_to_experience: String,
    pub location: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i32,
}

pub struct ActivityInput<'a> {
    pub title: &'a str,
    pub service_to_experience: &'a str,
    pub location: &'a str,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i64,
}

impl ActivitySpec {
    pub fn parse(input: ActivityInput<'_>) -> Result<Self, Faults> {
        let mut errors: Faults = Vec::new();
        let title = text(input.title, 1, 100);
        if title.is_none() {
            errors.push(("title".into(), "标题应为 1 到 100 个字"));
        }
        let service = text(input.service_to_experience, 1, 200);
        if service.is_none() {
            errors.push((
                "service_to_experience".into(),
                "体验的服务应为 1 到 200 个字",
            ));
        }
        let location = text(input.location, 1, 200);
        if location.is_none() {
            errors.push(("location".into(), "地点应为 1 到 200 个字"));
        }
        if input.ends_at <= input.starts_at {
            errors.push(("ends_at".into(), "结束时间应晚于开始时间"));
        }
        if !(1..=MAX_CAPACITY).contains(&input.capacity) {
            errors.push(("capacity".into(), "名额应在 1 到 10000 之间"));
        }
        match (title, service, location) {
            (Some(title), Some(service_to_experience), Some(location)) if errors.is_empty() => {
                Ok(Self {
                    title,
                    service_to_experience,
                    location,
                    starts_at: input.starts_at,
                    ends_at: input.ends_at,
                    capacity: i32::try_from(input.capacity).unwrap_or(1),
                })
            }
            _ => Err(errors),
        }
    }
}

/// An officer's feedback, checked.
#[derive(Debug, Clone)]
pub struct Feedback {
    pub rating: i32,
    pub findings: Vec<String>,
    pub suggestions: String,
}

impl Feedback {
    pub fn parse(rating: i64, findings: &[String], suggestions: &str) -> Result<Self, Faults> {
        let mut errors: Faults = Vec::new();
        if !(1..=5).contains(&rating) {
            errors.push(("rating".into(), "评分应为 1 到 5 分"));
        }
        if findings.len() > MAX_FINDINGS {
            errors.push(("findings".into(), "发现的问题最多 20 条"));
        }
        let mut kept = Vec::with_capacity(findings.len());
        for (i, f) in findings.iter().enumerate() {
            match text(f, 1, 500) {
                Some(f) => kept.push(f),
                None => errors.push((format!("findings[{i}]"), "每条问题应为 1 到 500 个字")),
            }
        }
        let suggestions = text(suggestions, 0, 2000);
        if suggestions.is_none() {
            errors.push(("suggestions".into(), "建议最多 2000 个字"));
        }
        if kept.is_empty()
            && suggestions.as_deref().is_some_and(str::is_empty)
            && !findings.iter().any(|f| f.trim().is_empty())
        {
            errors.push(("findings".into(), "请至少写下一条发现的问题或一条建议"));
        }
        match suggestions {
            Some(suggestions) if errors.is_empty() => Ok(Self {
                rating: i32::try_from(rating).unwrap_or(1),
                findings: kept,
                suggestions,
            }),
            _ => Err(errors),
        }
    }
}

/// Staff's answer to a piece of feedback, checked.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: ReplyStatus,
    pub response: String,
    pub reason: Option<String>,
}

impl Reply {
    pub fn parse(
        status: ReplyStatus,
        response: &str,
        reason: Option<&str>,
    ) -> Result<Self, Faults> {
        let mut errors: Faults = Vec::new();
        let response = text(response, 1, 2000);
        if response.is_none() {
            errors.push(("response".into(), "请填写 1 到 2000 个字的答复"));
        }
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        let reason = match (status, reason) {
            (ReplyStatus::NotAdopted, None) => {
                errors.push(("reason".into(), "暂不采纳时请说明理由"));
                None
            }
            (_, Some(r)) if r.chars().count() > 500 => {
                errors.push(("reason".into(), "理由最多 500 个字"));
                None
            }
            (_, r) => r.map(str::to_owned),
        };
        match response {
            Some(response) if errors.is_empty() => Ok(Self {
                status,
                response,
                reason,
            }),
            _ => Err(errors),
        }
    }
}

/// Unanswered feedback older than [`ANSWER_WITHIN_DAYS`] is overdue.
pub fn is_overdue(created_at: DateTime<Utc>, answered: bool, now: DateTime<Utc>) -> bool {
    !answered && created_at < overdue_before(now)
}

/// Feedback created before this and still unanswered is overdue.
pub fn overdue_before(now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::days(ANSWER_WITHIN_DAYS)
}

/// `part / whole`, or `None` when there is no whole.
pub fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chrono::TimeZone;

    use super::*;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    fn campaign(quota: i64, term: i64) -> CampaignInput {
        CampaignInput {
            title: " 政务服务体验员 ".into(),
            description: String::new(),
            quota,
            requirements: "西城区居民".into(),
            apply_opens_at: at(2026, 12, 1),
            apply_closes_at: at(2026, 12, 15),
            term_months: term,
        }
    }

    #[test]
    fn a_campaign_is_checked_field_by_field() {
        let ok = CampaignSpec::parse(campaign(10, 12)).unwrap();
        assert_eq!(ok.title(), "政务服务体验员");
        let bad = CampaignSpec::parse(CampaignInput {
            apply_closes_at: at(2026, 11, 1),
            ..campaign(0, 61)
        })
        .unwrap_err();
        let fields: Vec<_> = bad.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["quota", "term_months", "apply_closes_at"]);
    }

    #[test]
    fn applications_are_taken_only_inside_the_window_of_a_published_campaign() {
        let (o, c) = (at(2026, 12, 1), at(2026, 12, 15));
        let p = CampaignStatus::Published;
        assert!(accepting_applications(p, o, o, c));
        assert!(!accepting_applications(p, c, o, c));
        assert!(!accepting_applications(p, o - Duration::seconds(1), o, c));
        assert!(!accepting_applications(
            CampaignStatus::Closed,
            at(2026, 12, 2),
            o,
            c
        ));
        assert!(!accepting_applications(
            CampaignStatus::Draft,
            at(2026, 12, 2),
            o,
            c
        ));
    }

    #[test]
    fn an_applicant_needs_a_name_a_mobile_and_an_age_group() {
        let ok = Applicant::parse(ApplicantInput {
            real_name: " 李四 ",
            phone: "139-0000-1111",
            age_group: "30-39",
            occupation: Some(" "),
            community: Some("月坛社区"),
            motivation: None,
        })
        .unwrap();
        assert_eq!(ok.real_name, "李四");
        assert_eq!(ok.phone, "13900001111");
        assert_eq!(ok.occupation, None);
        let bad = Applicant::parse(ApplicantInput {
            real_name: "",
            phone: "12345",
            age_group: "",
            occupation: None,
            community: None,
            motivation: Some(&"长".repeat(1001)),
        })
        .unwrap_err();
        let mut fields: Vec<_> = bad.iter().map(|(f, _)| f.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(fields, ["age_group", "motivation", "phone", "real_name"]);
    }

    #[test]
    fn terms_run_whole_months_and_end_by_themselves() {
        assert_eq!(term_end(at(2026, 1, 31), 1), at(2026, 2, 28));
        assert_eq!(term_end(at(2026, 11, 27), 12), at(2027, 11, 27));
        let end = at(2027, 1, 1);
        assert_eq!(
            OfficerStanding::of(None, end, at(2026, 12, 31)),
            OfficerStanding::Serving
        );
        assert_eq!(
            OfficerStanding::of(None, end, end),
            OfficerStanding::Expired
        );
        assert_eq!(
            OfficerStanding::of(Some(at(2026, 6, 1)), end, at(2026, 7, 1)),
            OfficerStanding::Ended
        );
    }

    #[test]
    fn feedback_takes_a_rating_and_something_to_say() {
        let ok = Feedback::parse(4, &[" 取号机故障 ".into()], "").unwrap();
        assert_eq!(ok.findings, ["取号机故障"]);
        assert!(Feedback::parse(5, &[], "增加引导员").is_ok());
        let empty = Feedback::parse(3, &[], " ").unwrap_err();
        assert_eq!(empty[0].0, "findings");
        let bad = Feedback::parse(6, &["".into()], "").unwrap_err();
        let fields: Vec<_> = bad.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["rating", "findings[0]"]);
    }

    #[test]
    fn not_adopted_needs_a_reason_and_settles_the_matter() {
        assert!(Reply::parse(ReplyStatus::Accepted, "已转交窗口", None).is_ok());
        let bad = Reply::parse(ReplyStatus::NotAdopted, "感谢建议", Some("  ")).unwrap_err();
        assert_eq!(bad[0].0, "reason");
        assert!(Reply::parse(ReplyStatus::NotAdopted, "感谢建议", Some("超出职权")).is_ok());
        assert!(ReplyStatus::NotAdopted.is_final() && ReplyStatus::Resolved.is_final());
        assert!(!ReplyStatus::InProgress.is_final());
        assert!(ReplyStatus::InProgress.is_adopted() && !ReplyStatus::NotAdopted.is_adopted());
    }

    #[test]
    fn feedback_unanswered_for_fifteen_days_is_overdue() {
        let now = at(2026, 12, 31);
        assert!(is_overdue(now - Duration::days(16), false, now));
        assert!(!is_overdue(now - Duration::days(16), true, now));
        assert!(!is_overdue(now - Duration::days(14), false, now));
    }

    #[test]
    fn shares_have_no_value_without_a_whole() {
        assert_eq!(share(1, 4), Some(0.25));
        assert_eq!(share(0, 0), None);
    }
}
