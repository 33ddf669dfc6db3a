//! Adapters to the outside world: mail, files, payments (Stripe and the
//! simulated gateway) and Stripe's webhook signatures.

pub mod files;
pub mod mail;
pub mod payments;
pub mod stripe;
pub mod webhook_signature;
