//! sea-orm entities: the tables as the code sees them. No logic here.

pub mod audit_log;
pub mod consents;
pub mod deliberation_signups;
pub mod deliberations;
pub mod idempotency_keys;
pub mod job_leases;
pub mod notifications;
pub mod org_units;
pub mod outcome_follows;
pub mod outcome_progress;
pub mod outcomes;
pub mod refresh_tokens;
pub mod residents;
pub mod staff;
pub mod subscription_grants;
