//! Open days (主题开放日): departments and sub-districts open their offices; residents book a
//! time slot and show a code at the door. Seats are taken in the database, never overbooked.

pub mod domain;
mod dto;
mod export;
pub mod guard;
mod repo;
mod routes;
pub mod service;

pub use dto::{OpenDayStats, OpenDayView, ReservationView, VisitorView};
pub use repo::{warm_booking, warm_reads};
pub use routes::{ApiDoc, configure, configure_me};
