//! Who is calling: WeChat login for residents, password login for staff, token rotation,
//! and the extractors that carry identity into handlers.

mod dto;
mod extractors;
pub mod password;
mod repo;
mod routes;
pub mod service;
pub mod tokens;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use dto::{TokenResponse, UserView};
pub use extractors::{
    CurrentResident, CurrentStaff, Identity, RequireAdmin, bearer_subject, identity_from_token,
    resident_of_bearer, staff_of_identity,
};
pub use routes::{ApiDoc, configure};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Resident,
    Staff,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::Staff => "staff",
            Role::Admin => "admin",
        }
    }
}
