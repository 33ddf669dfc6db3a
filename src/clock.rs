//! The injected clock. All "now" in admit comes from here; SQL never calls
//! `now()`. Tests move time instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};

use crate::domain::Timestamp;

/// A source of the current instant.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The system clock, plus an offset that only tests (and the test-only
/// endpoint behind the `test-hooks` feature) ever change.
#[derive(Debug, Default)]
pub struct SystemClock {
    offset_ms: AtomicI64,
}

impl SystemClock {
    /// A clock reading the real time.
    pub fn new() -> Self {
        Self::default()
    }
    /// Moves this clock forward (or back) by `ms`.
    pub fn advance_millis(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let real = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Timestamp::from_millis(real + self.offset_ms.load(Ordering::SeqCst))
    }
}
