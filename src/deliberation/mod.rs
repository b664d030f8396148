//! Grassroots deliberation (基层议事): meetings residents sign up for, with race-free seats,
//! reserved seats and a waitlist; check-in codes; and the account hooks (deletion, export).

pub mod domain;
pub mod dto;
mod repo;
mod routes;
pub mod service;

pub use routes::{ApiDoc, configure};
