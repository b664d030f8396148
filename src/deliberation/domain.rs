//! The rules of deliberation meetings, sign-ups and outcomes. Pure: no actix, no sea-orm.

use chrono::{DateTime, Utc};

/// Where a meeting stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingStatus {
    Draft,
    Published,
    Cancelled,
}

impl MeetingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Draft, Self::Published, Self::Cancelled]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Where a sign-up stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupStatus {
    Confirmed,
    Waitlisted,
    Cancelled,
}

impl SignupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Waitlisted => "waitlisted",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Confirmed, Self::Waitlisted, Self::Cancelled]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A meeting's plan as staff write it, checked as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub signup_opens_at: DateTime<Utc>,
    pub signup_closes_at: DateTime<Utc>,
}

/// A rule a plan breaks: the field at fault and a message for people.
pub type PlanError = (&'static str, &'static str);

impl Schedule {
    /// Sign-up opens before it closes, closes no later than the start; the meeting ends
    /// after it starts.
    pub fn check(&self) -> Result<(), PlanError> {
        if self.ends_at <= self.starts_at {
            return Err(("ends_at", "结束时间应晚于开始时间"));
        }
        if self.signup_closes_at <= self.signup_opens_at {
            return Err(("signup_closes_at", "报名截止时间应晚于报名开始时间"));
        }
        if self.signup_closes_at > self.starts_at {
            return Err(("signup_closes_at", "报名截止时间不能晚于议事会开始时间"));
        }
        Ok(())
    }
}

/// Seats: `capacity` in all, `reserved` of them kept for invited representatives, so
/// residents can take `capacity - reserved`.
pub fn public_seats(capacity: i32, reserved: i32) -> Result<i32, PlanError> {
    if !(1..=10_000).contains(&capacity) {
        return Err(("capacity", "席位数应在 1 到 10000 之间"));
    }
    if reserved < 0 || reserved >= capacity {
        return Err(("reserved_seats", "预留席位应不少于 0 且少于总席位数"));
    }
    Ok(capacity - reserved)
}

/// Eligibility: the whole district (no codes) or the listed sub-districts, stored as
/// `,code,code,` so a sub-district filter is one portable `LIKE`.
pub fn encode_eligibility(codes: &[String]) -> String {
    if codes.is_empty() {
        return String::new();
    }
    let mut sorted: Vec<&str> = codes.iter().map(|c| c.trim()).collect();
    sorted.sort_unstable();
    sorted.dedup();
    format!(",{},", sorted.join(","))
}

pub fn decode_eligibility(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether a resident living in `home` (if they said) may sign up.
pub fn is_eligible(stored: &str, home: Option<&str>) -> bool {
    let codes = decode_eligibility(stored);
    codes.is_empty() || home.is_some_and(|h| codes.iter().any(|c| c == h))
}

/// Why a sign-up cannot be taken or given up now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowError {
    NotYetOpen,
    Closed,
}

pub fn signup_window(
    now: DateTime<Utc>,
    opens: DateTime<Utc>,
    closes: DateTime<Utc>,
) -> Result<(), WindowError> {
    if now < opens {
        Err(WindowError::NotYetOpen)
    } else if now >= closes {
        Err(WindowError::Closed)
    } else {
        Ok(())
    }
}

/// Where a new sign-up lands, given the seats residents have taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seat {
    Confirmed,
    Waitlisted,
    Full,
}

pub fn seat_for(taken: i32, public: i32, waitlist_enabled: bool) -> Seat {
    if taken < public {
        Seat::Confirmed
    } else if waitlist_enabled {
        Seat::Waitlisted
    } else {
        Seat::Full
    }
}

pub use crate::check_in_codes::{new_code as new_check_in_code, normalise_code};

/// The kind of a sign-up's QR payload: `CY1.<meeting id>.<code>.<signature>`.
pub const QR_KIND: &str = "CY1";

/// A phone number residents give for a meeting: 11 digits starting with 1.
pub fn parse_mobile(input: &str) -> Option<String> {
    let p: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    let p = p.strip_prefix("+86").unwrap_or(&p).to_owned();
    (p.len() == 11 && p.starts_with('1') && p.bytes().all(|b| b.is_ascii_digit())).then_some(p)
}

/// How an outcome stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeStatus {
    NotStarted,
    InProgress,
    Done,
    Delayed,
    Dropped,
}

impl OutcomeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::InProgress => "in_progress",
            Self::Done => "done",
            Self::Delayed => "delayed",
            Self::Dropped => "dropped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::NotStarted,
            Self::InProgress,
            Self::Done,
            Self::Delayed,
            Self::Dropped,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }

    /// Whether the outcome still has work ahead (only those can be overdue).
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Done | Self::Dropped)
    }
}

/// A progress entry's status and percent must agree: `done` is 100, `not_started` is 0.
pub fn check_progress(status: OutcomeStatus, percent: i32) -> Result<(), PlanError> {
    if !(0..=100).contains(&percent) {
        return Err(("percent", "进度应在 0 到 100 之间"));
    }
    match status {
        OutcomeStatus::Done if percent != 100 => Err(("percent", "已完成的事项进度应为 100")),
        OutcomeStatus::NotStarted if percent != 0 => Err(("percent", "未开始的事项进度应为 0")),
        _ => Ok(()),
    }
}

/// A parent's percent: the weighted mean of its children's (rounded to the nearest whole
/// percent); 0 without children or weights. Dropped children do not count.
pub fn rolled_up_percent(children: &[(i32, i32, OutcomeStatus)]) -> i32 {
    let (sum, weights) = children
        .iter()
        .filter(|(_, _, s)| *s != OutcomeStatus::Dropped)
        .fold((0i64, 0i64), |(sum, w), (weight, percent, _)| {
            (
                sum + i64::from(*weight) * i64::from(*percent),
                w + i64::from(*weight),
            )
        });
    if weights == 0 {
        return 0;
    }
    i32::try_from((sum * 2 + weights) / (weights * 2)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn schedules_must_be_in_order() {
        let now = Utc::now();
        let ok = Schedule {
            signup_opens_at: now,
            signup_closes_at: now + Duration::days(1),
            starts_at: now + Duration::days(2),
            ends_at: now + Duration::days(2) + Duration::hours(2),
        };
        assert!(ok.check().is_ok());
        let late_close = Schedule {
            signup_closes_at: now + Duration::days(3),
            ..ok.clone()
        };
        assert_eq!(late_close.check().unwrap_err().0, "signup_closes_at");
        let ends_first = Schedule {
            ends_at: ok.starts_at,
            ..ok
        };
        assert_eq!(ends_first.check().unwrap_err().0, "ends_at");
    }

    #[test]
    fn reserved_seats_leave_at_least_one() {
        assert_eq!(public_seats(30, 5), Ok(25));
        assert!(public_seats(30, 30).is_err());
        assert!(public_seats(0, 0).is_err());
        assert!(public_seats(10, -1).is_err());
    }

    #[test]
    fn eligibility_round_trips_and_decides() {
        let stored = encode_eligibility(&["yuetan".into(), "desheng".into(), "yuetan".into()]);
        assert_eq!(stored, ",desheng,yuetan,");
        assert_eq!(decode_eligibility(&stored), vec!["desheng", "yuetan"]);
        assert!(is_eligible(&stored, Some("yuetan")));
        assert!(!is_eligible(&stored, Some("niujie")));
        assert!(!is_eligible(&stored, None));
        assert!(is_eligible("", None));
    }

    #[test]
    fn seats_then_waitlist_then_full() {
        assert_eq!(seat_for(0, 1, false), Seat::Confirmed);
        assert_eq!(seat_for(1, 1, true), Seat::Waitlisted);
        assert_eq!(seat_for(1, 1, false), Seat::Full);
    }

    #[test]
    fn codes_avoid_look_alikes() {
        for _ in 0..200 {
            let code = new_check_in_code();
            assert_eq!(code.len(), 8);
            assert!(!code.contains(['0', 'O', '1', 'I']), "{code}");
            assert_eq!(normalise_code(&code.to_lowercase()), Some(code));
        }
        assert_eq!(normalise_code("ABCD0FGH"), None);
        assert_eq!(normalise_code("ABC"), None);
    }

    #[test]
    fn mobiles_are_normalised() {
        assert_eq!(parse_mobile("138 1234 5678"), Some("13812345678".into()));
        assert_eq!(parse_mobile("+8613812345678"), Some("13812345678".into()));
        assert_eq!(parse_mobile("12345"), None);
    }

    #[test]
    fn progress_status_and_percent_agree() {
        assert!(check_progress(OutcomeStatus::Done, 100).is_ok());
        assert!(check_progress(OutcomeStatus::Done, 90).is_err());
        assert!(check_progress(OutcomeStatus::NotStarted, 10).is_err());
        assert!(check_progress(OutcomeStatus::InProgress, 101).is_err());
    }

    #[test]
    fn parents_take_the_weighted_mean() {
        use OutcomeStatus::*;
        assert_eq!(rolled_up_percent(&[(3, 100, Done), (1, 0, NotStarted)]), 75);
        assert_eq!(
            rolled_up_percent(&[(1, 50, InProgress), (2, 0, Dropped)]),
            50
        );
        assert_eq!(
            rolled_up_percent(&[(1, 33, InProgress), (2, 34, InProgress)]),
            34
        );
        assert_eq!(rolled_up_percent(&[]), 0);
    }
}
