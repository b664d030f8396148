//! Residents' own profiles (`/api/v1/me`) and the staff accounts that administrators manage.

pub mod domain;
mod dto;
pub mod repo;
mod routes;
pub mod service;

pub use dto::{CreateStaffRequest, StaffView, UserView};
pub use routes::{ApiDoc, configure};

/// The request the CLI and the bootstrap build for [`service::create_staff`].
pub fn dto_create_staff(
    username: String,
    password: String,
    role: domain::StaffRole,
    org_unit: String,
) -> dto::CreateStaffRequest {
    dto::CreateStaffRequest {
        username,
        password,
        role,
        org_unit,
    }
}
