//! Request and response shapes of open days, exactly as the spec shows them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SlotRequest {
    /// On update: the slot to change; absent for a new slot.
    pub id: Option<Uuid>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Seats (1..=100000); on update never below the seats already taken.
    pub capacity: i64,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct CreateOpenDayRequest {
    /// Code of the org unit holding the open day (staff: their own).
    #[validate(length(min = 2, max = 32, message = "单位代码应为 2 到 32 位"))]
    pub org_unit: String,
    #[serde(flatten)]
    #[validate(nested)]
    pub event: OpenDayFields,
}

/// Everything staff describe about an open day; `PUT` takes these as a whole.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct OpenDayFields {
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub location: String,
    pub booking_opens_at: DateTime<Utc>,
    pub booking_closes_at: DateTime<Utc>,
    /// Reservations may be cancelled until this many minutes before their slot starts.
    pub cancel_cutoff_minutes: i64,
    /// Largest party one reservation may bring (1..=10).
    pub max_party_size: i64,
    /// Who may come (shown to residents).
    #[serde(default)]
    pub eligibility: String,
    #[validate(nested)]
    pub slots: Vec<SlotRequest>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct SlotView {
    pub id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i32,
    /// Seats still free; may lag a booking by a second or two.
    pub seats_left: i32,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct OpenDayView {
    pub id: Uuid,
    pub org_unit: String,
    pub title: String,
    pub description: String,
    pub location: String,
    pub booking_opens_at: DateTime<Utc>,
    pub booking_closes_at: DateTime<Utc>,
    pub cancel_cutoff_minutes: i32,
    pub max_party_size: i32,
    pub eligibility: String,
    /// `draft`, `published` or `cancelled`.
    pub status: String,
    pub slots: Vec<SlotView>,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ReserveRequest {
    pub slot_id: Uuid,
    /// How many people come (1..=the event's `max_party_size`).
    pub party_size: i64,
    pub visitor_name: String,
    /// Mainland mobile number (11 digits).
    pub phone: String,
    /// The resident accepted the privacy notice; must be `true`.
    pub consent: bool,
    /// When the slot is full, join its waitlist instead of being refused.
    #[serde(default)]
    pub waitlist: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct SlotTimes {
    pub id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// A reservation as its resident sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct ReservationView {
    pub id: Uuid,
    pub open_day_id: Uuid,
    pub open_day_title: String,
    pub location: String,
    /// `confirmed`, `waitlisted`, `cancelled`, `checked_in` or `no_show`.
    pub status: String,
    pub slot: SlotTimes,
    pub party_size: i32,
    /// The resident's own data, in full (erased with the account).
    pub visitor_name: Option<String>,
    pub phone: Option<String>,
    /// 8 characters without 0/O/1/I, shown at the door.
    pub verification_code: String,
    /// Signed payload for the QR code shown at the door.
    pub qr_payload: String,
    /// Cancelling is possible until then.
    pub cancel_deadline: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub checked_in_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CheckInRequest {
    /// The 8-character verification code, or the scanned QR payload.
    #[validate(length(min = 1, max = 200, message = "请输入核验码或扫描二维码"))]
    pub code: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CheckInView {
    pub reservation_id: Uuid,
    pub slot: SlotTimes,
    pub party_size: i32,
    /// Masked (`张*`).
    pub visitor_name: String,
    pub checked_in_at: DateTime<Utc>,
}

/// A visitor on a slot's list, as staff see them: masked.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VisitorView {
    pub reservation_id: Uuid,
    pub status: String,
    pub party_size: i32,
    /// Masked; reveal with `POST /api/v1/open-days/{id}/reservations/{reservation_id}/reveal`.
    pub visitor_name: Option<String>,
    pub phone: Option<String>,
    pub verification_code: String,
    pub created_at: DateTime<Utc>,
    pub checked_in_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum VisitorField {
    VisitorName,
    Phone,
}

#[derive(Debug, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RevealVisitorRequest {
    pub field: VisitorField,
    /// Why the full value is needed; kept in the audit log.
    #[validate(length(
        min = 4,
        max = 200,
        message = "请填写查看完整信息的理由（4 到 200 个字）"
    ))]
    pub reason: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevealedVisitorValue {
    pub field: VisitorField,
    pub value: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SlotStats {
    pub slot_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i32,
    /// Seats held by confirmed, checked-in and no-show reservations.
    pub taken: i32,
    pub checked_in: i32,
    pub no_show: i32,
    pub waitlisted: i32,
    /// `taken / capacity`.
    pub utilisation: f64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OpenDayStats {
    pub open_day_id: Uuid,
    pub slots: Vec<SlotStats>,
    /// People not checked in among those whose slot is settled (checked in + no-show);
    /// `null` before any slot is settled.
    pub no_show_rate: Option<f64>,
}

/// `GET /api/v1/open-days`: upcoming published open days, or with `scope=mine` (staff) every
/// open day of the staff member's org unit, drafts and cancelled ones included.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OpenDayListQuery {
    /// `mine` (staff): the org unit's open days of every status, newest first (all org units
    /// for administrators).
    pub scope: Option<String>,
    /// How many items to return (1..=100, default 20).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}
