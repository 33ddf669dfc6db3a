//! Instants as UTC unix milliseconds. The wall clock itself is injected on the
//! server (`crate::clock`); the domain only compares and adds.

use serde::{Deserialize, Serialize};

/// A UTC instant in milliseconds since the unix epoch.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// Wraps unix milliseconds.
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }
    /// Unix milliseconds.
    pub const fn as_millis(self) -> i64 {
        self.0
    }
    /// This instant plus some minutes (saturating).
    pub const fn plus_minutes(self, minutes: i64) -> Self {
        Self(self.0.saturating_add(minutes.saturating_mul(60_000)))
    }
    /// This instant plus some milliseconds (saturating).
    pub const fn plus_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }
}
