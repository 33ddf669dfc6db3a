//! Adapters to the outside world: mail (and later payments and rendering).

pub mod files;
pub mod keys;
pub mod mail;
pub mod payments;
pub mod render;
pub mod webhook_signature;
