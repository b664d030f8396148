//! Notices to residents: a transactional outbox that is also the in-app inbox, delivered as
//! WeChat one-time subscribe messages when the resident granted one.
//!
//! A feature calls [`enqueue`] inside the transaction of the change that causes the notice.
//! The `outbox` job ([`deliver_due`]) later spends a grant and sends it; without a grant, a
//! template or WeChat, the notice stays in the inbox only.

mod domain;
mod dto;
mod repo;
mod routes;
mod sender;
pub mod service;

pub use domain::{DeliveryState, Notice, NoticeKind, welcome};
pub use dto::NotificationView;
pub use routes::{ApiDoc, configure};
pub use sender::{DeliveryReport, deliver_due};
pub use service::enqueue;

/// Says at start which notice kinds go to WeChat, and warns about templates configured for
/// kinds that do not exist (a typo would otherwise silently keep notices inbox-only).
pub fn check_templates(settings: &crate::config::Settings) {
    for (kind, template) in &settings.wechat_templates {
        if NoticeKind::parse(kind).is_none() {
            tracing::warn!(kind = %kind, "a wechat template is configured for an unknown notice kind");
        } else if !template.trim().is_empty() {
            tracing::info!(kind = %kind, "notices of this kind go out as wechat subscribe messages");
        }
    }
}
