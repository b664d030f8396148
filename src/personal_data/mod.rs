//! Personal data under PIPL: what residents give us (names, phone numbers, ID numbers) is
//! encrypted at rest with AES-256-GCM; lookups use a keyed hash stored beside the ciphertext;
//! staff see masked values, and revealing one in full is a separate, audited act.

pub mod consent;
mod crypto;
pub mod mask;
mod routes;

pub use crypto::{DataKey, DataKeyError};
pub use routes::{ApiDoc, configure};
