//! sea-orm entities: the tables as the code sees them. No logic here.

pub mod audit_log;
pub mod consents;
pub mod deliberation_signups;
pub mod deliberations;
pub mod idempotency_keys;
pub mod job_leases;
pub mod notifications;
pub mod open_day_slots;
pub mod open_days;
pub mod org_units;
pub mod outcome_follows;
pub mod outcome_progress;
pub mod outcomes;
pub mod refresh_tokens;
pub mod reservations;
pub mod residents;
pub mod staff;
pub mod subscription_grants;
pub mod survey_answer_items;
pub mod survey_participations;
pub mod survey_responses;
pub mod survey_versions;
pub mod surveys;
