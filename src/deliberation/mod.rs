//! Grassroots deliberation (基层议事): meetings residents sign up for, with race-free seats,
//! reserved seats and a waitlist; check-in codes; outcomes with a public, append-only progress
//! timeline and followers; the resident's own loop; and the account hooks (deletion, export).

pub mod domain;
pub mod dto;
pub mod outcomes;
mod repo;
mod routes;
pub mod service;

pub use routes::{ApiDoc, configure, configure_me};
