//! Server functions: thin `#[server]` wrappers (context → service → view).
//! They live under their own URL prefix, [`PREFIX`], so they never overlap
//! the REST API under `/api/v1`.

pub mod accounts;
pub mod catalogue;
pub mod orders;
pub mod organizer;
pub mod tickets;
pub mod views;

/// URL prefix of every server function.
pub const PREFIX: &str = "/_fn";
