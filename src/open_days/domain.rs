//! Rules of open days: what a valid event is, when booking, cancelling and checking in are
//! allowed, verification codes and signed QR payloads, and the no-show suspension. Pure: no
//! actix, no sea-orm.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// Where an open day stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    Draft,
    Published,
    Cancelled,
}

impl EventStatus {
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
            .find(|k| k.as_str() == s)
    }
}

/// Where a reservation stands. `Confirmed` and `Waitlisted` are active: one per resident
/// per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationStatus {
    Confirmed,
    Waitlisted,
    Cancelled,
    CheckedIn,
    NoShow,
}

impl ReservationStatus {
    pub const ALL: [Self; 5] = [
        Self::Confirmed,
        Self::Waitlisted,
        Self::Cancelled,
        Self::CheckedIn,
        Self::NoShow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Waitlisted => "waitlisted",
            Self::Cancelled => "cancelled",
            Self::CheckedIn => "checked_in",
            Self::NoShow => "no_show",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A slot as staff describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotSpec {
    pub id: Option<Uuid>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i32,
}

/// An open day as staff describe it, checked. Fields are private: an invalid event cannot
/// exist past [`EventSpec::parse`].
#[derive(Debug, Clone)]
pub struct EventSpec {
    title: String,
    description: String,
    location: String,
    booking_opens_at: DateTime<Utc>,
    booking_closes_at: DateTime<Utc>,
    cancel_cutoff_minutes: i32,
    max_party_size: i32,
    eligibility: String,
    slots: Vec<SlotSpec>,
}

/// The unchecked input of [`EventSpec::parse`].
pub struct EventInput {
    pub title: String,
    pub description: String,
    pub location: String,
    pub booking_opens_at: DateTime<Utc>,
    pub booking_closes_at: DateTime<Utc>,
    pub cancel_cutoff_minutes: i64,
    pub max_party_size: i64,
    pub eligibility: String,
    pub slots: Vec<SlotSpecInput>,
}

pub struct SlotSpecInput {
    pub id: Option<Uuid>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i64,
}

pub const MAX_SLOTS: usize = 100;
pub const MAX_CAPACITY: i64 = 100_000;
pub const MAX_PARTY: i64 = 10;

fn text(value: &str, max: usize, min: usize) -> Option<String> {
    let v = value.trim();
    let n = v.chars().count();
    (n >= min && n <= max).then(|| v.to_owned())
}

impl EventSpec {
    /// Every fault at once, as (field path, Chinese message).
    pub fn parse(input: EventInput) -> Result<Self, Vec<(String, &'static str)>> {
        let mut errors: Vec<(String, &'static str)> = Vec::new();
        let title = text(&input.title, 100, 1);
        if title.is_none() {
            errors.push(("title".into(), "标题应为 1 到 100 个字"));
        }
        let description = text(&input.description, 5000, 0);
        if description.is_none() {
            errors.push(("description".into(), "简介最多 5000 个字"));
        }
        let location = text(&input.location, 200, 1);
        if location.is_none() {
            errors.push(("location".into(), "地点应为 1 到 200 个字"));
        }
        let eligibility = text(&input.eligibility, 500, 0);
        if eligibility.is_none() {
            errors.push(("eligibility".into(), "参与条件最多 500 个字"));
        }
        if input.booking_closes_at <= input.booking_opens_at {
            errors.push(("booking_closes_at".into(), "预约截止时间应晚于开放时间"));
        }
        if !(0..=7 * 24 * 60).contains(&input.cancel_cutoff_minutes) {
            errors.push((
                "cancel_cutoff_minutes".into(),
                "取消截止应在 0 到 10080 分钟之间",
            ));
        }
        if !(1..=MAX_PARTY).contains(&input.max_party_size) {
            errors.push(("max_party_size".into(), "每单人数上限应在 1 到 10 之间"));
        }
        if input.slots.is_empty() || input.slots.len() > MAX_SLOTS {
            errors.push(("slots".into(), "应有 1 到 100 个时段"));
        }
        let mut slots = Vec::with_capacity(input.slots.len());
        for (i, s) in input.slots.iter().enumerate() {
            if s.ends_at <= s.starts_at {
                errors.push((format!("slots[{i}].ends_at"), "时段结束时间应晚于开始时间"));
            }
            if !(1..=MAX_CAPACITY).contains(&s.capacity) {
                errors.push((format!("slots[{i}].capacity"), "名额应在 1 到 100000 之间"));
            }
            if let Some(id) = s.id
                && input.slots[..i].iter().any(|o| o.id == Some(id))
            {
                errors.push((format!("slots[{i}].id"), "时段重复"));
            }
            slots.push(SlotSpec {
                id: s.id,
                starts_at: s.starts_at,
                ends_at: s.ends_at,
                capacity: i32::try_from(s.capacity).unwrap_or(i32::MAX),
            });
        }
        match (title, description, location, eligibility) {
            (Some(title), Some(description), Some(location), Some(eligibility))
                if errors.is_empty() =>
            {
                Ok(Self {
                    title,
                    description,
                    location,
                    booking_opens_at: input.booking_opens_at,
                    booking_closes_at: input.booking_closes_at,
                    cancel_cutoff_minutes: i32::try_from(input.cancel_cutoff_minutes)
                        .unwrap_or_default(),
                    max_party_size: i32::try_from(input.max_party_size).unwrap_or(1),
                    eligibility,
                    slots,
                })
            }
            _ => Err(errors),
        }
    }

    pub fn title(&self) -> &str {
        &self.title
    }
    pub fn description(&self) -> &str {
        &self.description
    }
    pub fn location(&self) -> &str {
        &self.location
    }
    pub fn booking_opens_at(&self) -> DateTime<Utc> {
        self.booking_opens_at
    }
    pub fn booking_closes_at(&self) -> DateTime<Utc> {
        self.booking_closes_at
    }
    pub fn cancel_cutoff_minutes(&self) -> i32 {
        self.cancel_cutoff_minutes
    }
    pub fn max_party_size(&self) -> i32 {
        self.max_party_size
    }
    pub fn eligibility(&self) -> &str {
        &self.eligibility
    }
    pub fn slots(&self) -> &[SlotSpec] {
        &self.slots
    }
}

/// A visitor's name and phone as a resident gives them, checked.
#[derive(Debug, Clone)]
pub struct Visitor {
    name: String,
    phone: String,
}

impl Visitor {
    pub fn parse(name: &str, phone: &str) -> Result<Self, Vec<(String, &'static str)>> {
        let mut errors = Vec::new();
        let name = text(name, 30, 1);
        if name.is_none() {
            errors.push(("visitor_name".into(), "请填写 1 到 30 个字的姓名"));
        }
        let phone = phone.trim().to_owned();
        let ok_phone = phone.len() == 11
            && phone.starts_with('1')
            && phone.chars().all(|c| c.is_ascii_digit());
        if !ok_phone {
            errors.push(("phone".into(), "请填写 11 位手机号"));
        }
        match name {
            Some(name) if errors.is_empty() => Ok(Self { name, phone }),
            _ => Err(errors),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn phone(&self) -> &str {
        &self.phone
    }
}

/// Whether booking is open at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingPhase {
    NotOpen,
    Open,
    Closed,
}

pub fn booking_phase(
    now: DateTime<Utc>,
    opens: DateTime<Utc>,
    closes: DateTime<Utc>,
) -> BookingPhase {
    if now < opens {
        BookingPhase::NotOpen
    } else if now >= closes {
        BookingPhase::Closed
    } else {
        BookingPhase::Open
    }
}

/// The last moment a reservation of a slot starting at `slot_starts_at` may be cancelled.
pub fn cancel_deadline(slot_starts_at: DateTime<Utc>, cutoff_minutes: i32) -> DateTime<Utc> {
    slot_starts_at - Duration::minutes(i64::from(cutoff_minutes))
}

/// Check-ins are taken from `grace` before the slot starts until it ends.
pub fn within_check_in_window(
    now: DateTime<Utc>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    grace: Duration,
) -> bool {
    now >= starts_at - grace && now <= ends_at
}

pub use crate::check_in_codes::{new_code as new_verification_code, normalise_code};

/// The kind of an open-day QR payload: `CYOD1.<reservation id>.<signature>`.
pub const QR_KIND: &str = "CYOD1";

/// The no-show policy: `limit` no-shows within `window` suspend booking for `suspension`
/// from the latest of them.
#[derive(Debug, Clone, Copy)]
pub struct NoShowPolicy {
    pub limit: usize,
    pub window: Duration,
    pub suspension: Duration,
}

impl NoShowPolicy {
    /// How far back no-shows can matter at `now`.
    pub fn lookback(&self) -> Duration {
        self.window + self.suspension
    }

    /// When booking lifts for a resident with these no-shows, if suspended at `now`.
    pub fn suspended_until(
        &self,
        no_shows: &[DateTime<Utc>],
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        if self.limit == 0 {
            return None;
        }
        let mut times = no_shows.to_vec();
        times.sort();
        let mut until = None;
        for (i, t) in times.iter().enumerate() {
            let in_window = times[..=i]
                .iter()
                .filter(|o| **o > *t - self.window)
                .count();
            if in_window >= self.limit {
                let lifts = *t + self.suspension;
                if lifts > now && until.is_none_or(|u| lifts > u) {
                    until = Some(lifts);
                }
            }
        }
        until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default() + Duration::hours(h)
    }

    fn input() -> EventInput {
        EventInput {
            title: " 区政务服务中心开放日 ".into(),
            description: String::new(),
            location: "西城区政务服务中心".into(),
            booking_opens_at: at(0),
            booking_closes_at: at(24),
            cancel_cutoff_minutes: 120,
            max_party_size: 3,
            eligibility: String::new(),
            slots: vec![SlotSpecInput {
                id: None,
                starts_at: at(48),
                ends_at: at(49),
                capacity: 20,
            }],
        }
    }

    #[test]
    fn a_valid_event_parses_trimmed() {
        let e = EventSpec::parse(input()).unwrap();
        assert_eq!(e.title(), "区政务服务中心开放日");
        assert_eq!(e.slots().len(), 1);
    }

    #[test]
    fn every_fault_is_named() {
        let mut i = input();
        i.title = " ".into();
        i.booking_closes_at = at(0);
        i.max_party_size = 0;
        i.slots[0].ends_at = at(47);
        i.slots[0].capacity = 0;
        let errs = EventSpec::parse(i).unwrap_err();
        let fields: Vec<_> = errs.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "title",
                "booking_closes_at",
                "max_party_size",
                "slots[0].ends_at",
                "slots[0].capacity"
            ]
        );
    }

    #[test]
    fn no_slots_is_refused() {
        let mut i = input();
        i.slots.clear();
        assert!(EventSpec::parse(i).is_err());
    }

    #[test]
    fn visitors_need_a_name_and_a_mobile_number() {
        assert!(Visitor::parse("张三", "13812345678").is_ok());
        let errs = Visitor::parse("", "0101234567").unwrap_err();
        assert_eq!(errs.len(), 2);
    }

    #[test]
    fn booking_opens_at_the_minute_and_closes_at_the_minute() {
        assert_eq!(
            booking_phase(at(0) - Duration::seconds(1), at(0), at(1)),
            BookingPhase::NotOpen
        );
        assert_eq!(booking_phase(at(0), at(0), at(1)), BookingPhase::Open);
        assert_eq!(booking_phase(at(1), at(0), at(1)), BookingPhase::Closed);
    }

    #[test]
    fn cancel_deadline_and_check_in_window() {
        assert_eq!(cancel_deadline(at(10), 60), at(9));
        let grace = Duration::minutes(30);
        assert!(within_check_in_window(
            at(10) - Duration::minutes(30),
            at(10),
            at(11),
            grace
        ));
        assert!(!within_check_in_window(
            at(10) - Duration::minutes(31),
            at(10),
            at(11),
            grace
        ));
        assert!(within_check_in_window(at(11), at(10), at(11), grace));
        assert!(!within_check_in_window(
            at(11) + Duration::seconds(1),
            at(10),
            at(11),
            grace
        ));
    }

    #[test]
    fn codes_use_the_unambiguous_alphabet() {
        for _ in 0..200 {
            let c = new_verification_code();
            assert_eq!(c.len(), 8);
            assert!(!c.contains(['0', 'O', '1', 'I']), "{c}");
            assert_eq!(normalise_code(&c.to_lowercase()), Some(c));
        }
        assert_eq!(normalise_code("ABCD-EFGH"), Some("ABCDEFGH".into()));
        assert_eq!(normalise_code("ABCDEFG0"), None);
        assert_eq!(normalise_code("ABC"), None);
    }

    #[test]
    fn three_no_shows_in_the_window_suspend_for_thirty_days() {
        let policy = NoShowPolicy {
            limit: 3,
            window: Duration::days(180),
            suspension: Duration::days(30),
        };
        let d = |n: i64| at(0) + Duration::days(n);
        // Two: no suspension.
        assert_eq!(policy.suspended_until(&[d(0), d(10)], d(11)), None);
        // Three within 180 days: 30 days from the third.
        assert_eq!(
            policy.suspended_until(&[d(0), d(10), d(20)], d(21)),
            Some(d(50))
        );
        // Lifted after.
        assert_eq!(policy.suspended_until(&[d(0), d(10), d(20)], d(50)), None);
        // Spread beyond the window: nothing.
        assert_eq!(
            policy.suspended_until(&[d(0), d(100), d(200)], d(201)),
            None
        );
    }
}
