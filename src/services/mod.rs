//! Use-cases: the only code entry points call. Each takes the [`AppState`]
//! (or the parts it needs) and parsed input, and returns views or a
//! [`ServiceError`](crate::error::ServiceError).
//!
//! [`AppState`]: crate::state::AppState

pub mod accounts;
pub mod admin;
pub mod admission;
pub mod api_keys;
pub mod audit;
pub mod authz;
pub mod banners;
pub mod catalogue;
pub mod checkout;
pub mod door;
pub mod events;
pub mod format;
pub mod google;
pub mod holds;
pub mod limits;
pub mod listings;
pub mod mail;
pub mod markdown;
pub mod organizers;
pub mod payments;
pub mod profile;
pub mod seats;
pub mod seed;
pub mod tickets;
pub mod tokens;
