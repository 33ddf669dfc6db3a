//! Adapters to the outside world: mail, files, payments (Stripe and the
//! simulated gateway), Stripe's webhook signatures, ticket documents (PDF,
//! QR, .ics) and the sealing of per-event signing keys.

pub mod files;
pub mod keys;
pub mod mail;
pub mod payments;
pub mod render;
pub mod stripe;
pub mod webhook_signature;
