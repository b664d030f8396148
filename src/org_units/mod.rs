//! Org units: the district, its 15 sub-districts (seeded), and departments added by admins.
//! Request bodies name an org unit by its `code`.

pub mod domain;
mod dto;
pub mod repo;
mod routes;
pub mod service;

pub use domain::{OrgUnitCode, OrgUnitKind};
pub use dto::OrgUnitView;
pub use routes::{ApiDoc, configure};
