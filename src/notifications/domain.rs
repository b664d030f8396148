//! What a notice is and the rules of its delivery. Pure: no actix, no sea-orm.

use std::{collections::BTreeMap, time::Duration};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Why a resident is told something. Each kind may have its own subscribe-message template
/// (`CANYU_WECHAT_TEMPLATE_<KIND>`); features add their kinds here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// First login.
    Welcome,
    /// A deliberation (议事) the resident takes part in moved on.
    DeliberationUpdate,
    /// An open-day (开放日) booking was confirmed.
    BookingConfirmed,
    /// An application (e.g. to become an experience officer) was decided.
    ApplicationResult,
    /// An open-day booking is tomorrow.
    BookingReminder,
    /// An open-day booking was cancelled (the open day was called off).
    BookingCancelled,
    /// Staff answered an experience officer's feedback.
    FeedbackReply,
    /// Staff ended an experience officer's term early.
    OfficerTermEnded,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 8] = [
        NoticeKind::Welcome,
        NoticeKind::DeliberationUpdate,
        NoticeKind::BookingConfirmed,
        NoticeKind::ApplicationResult,
        NoticeKind::BookingReminder,
        NoticeKind::BookingCancelled,
        NoticeKind::FeedbackReply,
        NoticeKind::OfficerTermEnded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Welcome => "welcome",
            NoticeKind::DeliberationUpdate => "deliberation_update",
            NoticeKind::BookingConfirmed => "booking_confirmed",
            NoticeKind::ApplicationResult => "application_result",
            NoticeKind::BookingReminder => "booking_reminder",
            NoticeKind::BookingCancelled => "booking_cancelled",
            NoticeKind::FeedbackReply => "feedback_reply",
            NoticeKind::OfficerTermEnded => "officer_term_ended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A notice as a feature writes it: the inbox shows `title` and `body`; WeChat shows the
/// template keyword values in `data` (keys as the configured template names them, such as
/// `thing1` or `time2`), and both open `page`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub title: String,
    pub body: String,
    pub page: Option<String>,
    pub data: BTreeMap<String, String>,
}

/// Where a notice's WeChat delivery stands. The inbox shows notices in every state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Due at `next_attempt_at`.
    Pending,
    /// Claimed by a sender run until `claimed_until`.
    Sending,
    /// WeChat accepted it.
    Sent,
    /// Not for WeChat: no grant, no template, WeChat not configured, or the user refused.
    InboxOnly,
    /// Given up; shown to administrators.
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sending => "sending",
            DeliveryState::Sent => "sent",
            DeliveryState::InboxOnly => "inbox_only",
            DeliveryState::Dead => "dead",
        }
    }
}

/// The welcome every resident finds in their inbox after the first login.
pub fn welcome() -> Notice {
    let title = "欢迎来到西城区居民参与平台";
    Notice {
        kind: NoticeKind::Welcome,
        title: title.to_owned(),
        body: "在这里可以填写问卷、参与基层议事、报名特邀体验员和开放日。您的每一条意见，我们都认真倾听、及时回复。"
            .to_owned(),
        page: Some("pages/index/index".to_owned()),
        data: BTreeMap::from([
            ("thing1".to_owned(), title.to_owned()),
            ("thing2".to_owned(), "问卷、议事、体验员和开放日".to_owned()),
        ]),
    }
}

/// How long to wait after the `attempt`-th failed try (1-based): `base`, then doubling,
/// never more than a day. No jitter: the senders are few and rows come due one by one.
pub fn retry_delay(base: Duration, attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(20);
    base.saturating_mul(1 << doublings)
        .min(Duration::from_secs(24 * 60 * 60))
}

/// WeChat refuses a whole message (47003) when one keyword value is too long; `thing` values
/// take at most 20 characters, so longer ones are cut with an ellipsis rather than lost.
pub fn keyword_value(key: &str, value: &str) -> String {
    const THING_MAX: usize = 20;
    if key.starts_with("thing") && value.chars().count() > THING_MAX {
        let mut cut: String = value.chars().take(THING_MAX - 1).collect();
        cut.push('…');
        cut
    } else {
        value.to_owned()
    }
}

/// The `data` object of a subscribe message: `{"thing1": {"value": "..."}}`.
pub fn template_data(data: &BTreeMap<String, String>) -> serde_json::Value {
    serde_json::Value::Object(
        data.iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    serde_json::json!({ "value": keyword_value(k, v) }),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_as_written() {
        for kind in NoticeKind::ALL {
            assert_eq!(NoticeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(NoticeKind::parse("spam"), None);
    }

    #[test]
    fn retries_wait_twice_as_long_each_time_up_to_a_day() {
        let base = Duration::from_secs(30);
        assert_eq!(retry_delay(base, 1), Duration::from_secs(30));
        assert_eq!(retry_delay(base, 2), Duration::from_secs(60));
        assert_eq!(retry_delay(base, 4), Duration::from_secs(240));
        assert_eq!(retry_delay(base, 40), Duration::from_secs(86_400));
    }

    #[test]
    fn long_thing_values_are_cut_to_what_wechat_accepts() {
        let long = "关于什刹海周边停车难问题的议事会议已经进入第二轮讨论";
        let cut = keyword_value("thing3", long);
        assert_eq!(cut.chars().count(), 20);
        assert!(cut.ends_with('…'));
        assert_eq!(keyword_value("thing3", "短标题"), "短标题");
        // Other keyword types keep their value: their limits differ and time values must stay whole.
        assert_eq!(keyword_value("time2", long), long);
    }

    #[test]
    fn template_data_wraps_each_value() {
        let data = BTreeMap::from([("thing1".to_owned(), "开放日".to_owned())]);
        assert_eq!(
            template_data(&data),
            serde_json::json!({ "thing1": { "value": "开放日" } })
        );
    }

    #[test]
    fn the_welcome_fits_a_wechat_template() {
        let w = welcome();
        for (k, v) in &w.data {
            assert_eq!(&keyword_value(k, v), v, "{k} would be cut");
        }
    }
}
